//! [`BatchNorm`] as a bijector, as in the MAF paper.

use burn::module::{Flag, Module, Param, RunningState};
use burn::tensor::{Device, Tensor};
use nflow_core::{Bijector, Result};

use nflow_core::FlowConfigError;

/// Batch normalisation as an invertible layer (Papamakarios et al., 2017, §3.4), acting in the
/// density direction (data → base):
///
/// ```text
/// inverse:  z = (x − m) / √(v + ε) · e^{γ} + β,     log|det ∂z/∂x| = Σ_i ( γ_i − ½ log(v_i + ε) )
/// forward:  x = (z − β) · e^{−γ} · √(v + ε) + m,     log|det ∂x/∂z| = −Σ_i ( γ_i − ½ log(v_i + ε) )
/// ```
///
/// with learnable log-scale `γ` and shift `β`.
///
/// - **Training** (an autodiff device and the layer's training flag on, as for burn's own batch
///   norm): `inverse` uses the batch mean and (biased) variance `m, v`, and updates running averages
///   `m̄ ← (1−ρ) m̄ + ρ m`, `v̄ ← (1−ρ) v̄ + ρ v`. The map then depends on the whole batch, so it is
///   not a per-row bijection; `forward` (sampling) always uses the running averages.
/// - **Evaluation** (`module.valid()`, or any non-autodiff device): both directions use the
///   running averages; the layer is an exact elementwise affine bijection.
///
/// The running averages are saved with the module.
#[derive(Module, Debug)]
pub struct BatchNorm {
    log_gamma: Param<Tensor<1>>,
    beta: Param<Tensor<1>>,
    running_mean: RunningState<Tensor<1>>,
    running_var: RunningState<Tensor<1>>,
    training: Param<Flag>,
    momentum: f64,
    epsilon: f64,
}

impl BatchNorm {
    /// A batch-norm layer over `features` features, starting as `z = x / √(1 + ε)` in evaluation.
    ///
    /// # Errors
    /// [`FlowConfigError::ZeroFeatures`] or [`FlowConfigError::BadBatchNorm`] (as
    /// `NflowError::FlowConfig`).
    pub fn new(features: usize, momentum: f64, epsilon: f64, device: &Device) -> Result<Self> {
        if features == 0 {
            return Err(FlowConfigError::ZeroFeatures.into());
        }
        if !((0.0..=1.0).contains(&momentum) && epsilon > 0.0 && epsilon.is_finite()) {
            return Err(FlowConfigError::BadBatchNorm { momentum, epsilon }.into());
        }
        Ok(Self {
            log_gamma: Param::from_tensor(Tensor::zeros([features], device)),
            beta: Param::from_tensor(Tensor::zeros([features], device)),
            running_mean: RunningState::new(Tensor::zeros([features], device)),
            running_var: RunningState::new(Tensor::ones([features], device)),
            training: Param::from_bool(true),
            momentum,
            epsilon,
        })
    }

    /// The running mean `m̄`, `[D]`.
    pub fn running_mean(&self) -> Tensor<1> {
        self.running_mean.value_sync()
    }

    /// The running variance `v̄`, `[D]`.
    pub fn running_var(&self) -> Tensor<1> {
        self.running_var.value_sync()
    }

    fn is_training(&self, x: &Tensor<2>) -> bool {
        x.device().is_autodiff() && self.training.is_enabled()
    }

    /// Mean and variance to normalise `x` with: batch statistics in training (updating the
    /// running averages), running averages otherwise.
    fn statistics(&self, x: &Tensor<2>) -> (Tensor<1>, Tensor<1>) {
        if !self.is_training(x) {
            return (
                self.running_mean.value_sync(),
                self.running_var.value_sync(),
            );
        }
        let (var, mean) = x.clone().var_mean_bias(0);
        let (mean, var) = (mean.squeeze_dim::<1>(0), var.squeeze_dim::<1>(0));
        let rho = self.momentum;
        let updated_mean = self
            .running_mean
            .value_sync()
            .mul_scalar(1.0 - rho)
            .add(mean.clone().detach().mul_scalar(rho));
        let updated_var = self
            .running_var
            .value_sync()
            .mul_scalar(1.0 - rho)
            .add(var.clone().detach().mul_scalar(rho));
        self.running_mean.update(updated_mean.detach());
        self.running_var.update(updated_var.detach());
        (mean, var)
    }

    /// `γ − ½ log(v + ε)` per feature: the log-scale of the inverse map.
    fn inverse_log_scale(&self, var: Tensor<1>) -> Tensor<1> {
        self.log_gamma.val() - var.add_scalar(self.epsilon).log().mul_scalar(0.5)
    }
}

impl Bijector for BatchNorm {
    fn features(&self) -> usize {
        self.beta.dims()[0]
    }

    fn forward(&self, z: Tensor<2>, _context: Option<&Tensor<2>>) -> (Tensor<2>, Tensor<1>) {
        let batch = z.dims()[0];
        let (mean, var) = (
            self.running_mean.value_sync(),
            self.running_var.value_sync(),
        );
        let log_scale = self.inverse_log_scale(var);
        let x = (z - self.beta.val().unsqueeze::<2>())
            * log_scale.clone().neg().exp().unsqueeze::<2>()
            + mean.unsqueeze::<2>();
        (x, log_scale.sum().neg().expand([batch]))
    }

    fn inverse(&self, x: Tensor<2>, _context: Option<&Tensor<2>>) -> (Tensor<2>, Tensor<1>) {
        let batch = x.dims()[0];
        let (mean, var) = self.statistics(&x);
        let log_scale = self.inverse_log_scale(var);
        let z = (x - mean.unsqueeze::<2>()) * log_scale.clone().exp().unsqueeze::<2>()
            + self.beta.val().unsqueeze::<2>();
        (z, log_scale.sum().expand([batch]))
    }
}
