//! [`MafLayer`]: masked autoregressive flow layer — fast density, slow sampling.

use burn::module::Module;
use burn::tensor::Tensor;
use nflow_core::Bijector;

use crate::affine_autoregressive::{AffineAutoregressive, contract, expand, row_sum};

/// A masked autoregressive flow (MAF) layer (Papamakarios et al., 2017): the MADE sits on the
/// **data** side.
///
/// ```text
/// inverse (data → base):  z_i = (x_i − μ_i(x_<i)) · e^{−α_i(x_<i)},  log|det| = −Σ_i α_i(x)
/// forward (base → data):  x_i = z_i · e^{α_i(x_<i)} + μ_i(x_<i),     log|det| = +Σ_i α_i(x)
/// ```
///
/// **Which direction is fast.** `inverse` — the density direction — is **one MADE pass**: every
/// `x_<i` is known, so all `μ_i, α_i` come out at once. `forward` — sampling — needs **`D`
/// sequential passes**: `x_i` requires `x_<i` first. Train and score with a MAF; sample from it
/// when `D` passes are affordable, or use an [`IafLayer`](crate::IafLayer) for the opposite
/// trade-off.
#[derive(Module, Debug)]
pub struct MafLayer {
    transform: AffineAutoregressive,
}

impl MafLayer {
    /// A MAF layer on the given transform.
    pub fn new(transform: AffineAutoregressive) -> Self {
        Self { transform }
    }

    /// The masked affine transform (and through it the MADE).
    pub fn transform(&self) -> &AffineAutoregressive {
        &self.transform
    }
}

impl Bijector for MafLayer {
    fn features(&self) -> usize {
        self.transform.features()
    }

    fn context_features(&self) -> usize {
        self.transform.context_features()
    }

    /// `D` MADE passes.
    fn forward(&self, z: Tensor<2>, context: Option<&Tensor<2>>) -> (Tensor<2>, Tensor<1>) {
        let (x, log_scale) = self.transform.solve(z, context, expand);
        (x, row_sum(log_scale))
    }

    /// One MADE pass.
    fn inverse(&self, x: Tensor<2>, context: Option<&Tensor<2>>) -> (Tensor<2>, Tensor<1>) {
        let (shift, log_scale) = self.transform.params(x.clone(), context);
        (
            contract(x, shift, log_scale.clone()),
            row_sum(log_scale).neg(),
        )
    }
}
