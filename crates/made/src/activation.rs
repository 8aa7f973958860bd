//! Hidden-layer nonlinearities.

use burn::config::Config;
use burn::tensor::{Tensor, activation};

use crate::host_float::HostFloat;

/// The nonlinearity between MADE's hidden layers.
#[derive(Config, Debug, PartialEq, Eq, Copy)]
pub enum Activation {
    /// `max(0, x)`.
    Relu,
    /// `tanh(x)`.
    Tanh,
    /// `x · Φ(x)`.
    Gelu,
    /// `x · σ(x)`.
    Silu,
    /// `x` for `x > 0`, `e^x − 1` otherwise.
    Elu,
}

impl Activation {
    /// Applies the nonlinearity elementwise.
    pub fn apply<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        match self {
            Activation::Relu => activation::relu(x),
            Activation::Tanh => activation::tanh(x),
            Activation::Gelu => activation::gelu(x),
            Activation::Silu => activation::silu(x),
            Activation::Elu => activation::elu(x, 1.0),
        }
    }

    /// The same nonlinearity on one host value (for the host kernels of the fast inversion).
    pub fn apply_host<T: HostFloat>(&self, x: T) -> T {
        let zero = T::zero();
        match self {
            Activation::Relu => {
                if x > zero {
                    x
                } else {
                    zero
                }
            }
            _ => T::from_f64(self.apply_f64(x.to_f64())),
        }
    }

    fn apply_f64(&self, x: f64) -> f64 {
        match self {
            Activation::Relu => x.max(0.0),
            Activation::Tanh => x.tanh(),
            Activation::Gelu => 0.5 * x * (1.0 + libm::erf(x / std::f64::consts::SQRT_2)),
            Activation::Silu => x / (1.0 + (-x).exp()),
            Activation::Elu => {
                if x > 0.0 {
                    x
                } else {
                    x.exp_m1()
                }
            }
        }
    }
}
