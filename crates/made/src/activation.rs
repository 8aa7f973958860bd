//! Hidden-layer nonlinearities.

use burn::config::Config;
use burn::tensor::{Tensor, activation};

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
}
