//! [`IafLayer`]: inverse autoregressive flow layer — fast sampling, slow density.

use burn::module::Module;
use burn::tensor::Tensor;
use nflow_core::Bijector;

use crate::affine_autoregressive::{AffineAutoregressive, contract, expand, row_sum};

/// An inverse autoregressive flow (IAF) layer (Kingma et al., 2016): the MADE sits on the **base**
/// side.
///
/// ```text
/// forward (base → data):  x_i = z_i · e^{α_i(z_<i)} + μ_i(z_<i),     log|det| = +Σ_i α_i(z)
/// inverse (data → base):  z_i = (x_i − μ_i(z_<i)) · e^{−α_i(z_<i)},  log|det| = −Σ_i α_i(z)
/// ```
///
/// **Which direction is fast.** `forward` — sampling — is **one MADE pass**: every `z_<i` is
/// drawn, so all `μ_i, α_i` come out at once, and the log-determinant comes with it (a
/// [`Flow`](nflow_core::Flow)'s `sample_and_log_prob` never inverts). `inverse` — the density of
/// outside data — needs **`D` sequential passes**: `z_i` requires `z_<i` first. It is the mirror
/// image of a [`MafLayer`](crate::MafLayer).
#[derive(Module, Debug)]
pub struct IafLayer {
    transform: AffineAutoregressive,
}

impl IafLayer {
    /// An IAF layer on the given transform.
    pub fn new(transform: AffineAutoregressive) -> Self {
        Self { transform }
    }

    /// The masked affine transform (and through it the MADE).
    pub fn transform(&self) -> &AffineAutoregressive {
        &self.transform
    }
}

impl Bijector for IafLayer {
    fn features(&self) -> usize {
        self.transform.features()
    }

    fn context_features(&self) -> usize {
        self.transform.context_features()
    }

    /// One MADE pass.
    fn forward(&self, z: Tensor<2>, context: Option<&Tensor<2>>) -> (Tensor<2>, Tensor<1>) {
        let (shift, log_scale) = self.transform.params(z.clone(), context);
        (expand(z, shift, log_scale.clone()), row_sum(log_scale))
    }

    /// `D` MADE passes.
    fn inverse(&self, x: Tensor<2>, context: Option<&Tensor<2>>) -> (Tensor<2>, Tensor<1>) {
        let (z, log_scale) = self.transform.solve(x, context, contract);
        (z, row_sum(log_scale).neg())
    }
}
