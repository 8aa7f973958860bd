//! The masked affine autoregressive transform shared by [`MafLayer`](crate::MafLayer) and
//! [`IafLayer`](crate::IafLayer).

use burn::module::Module;
use burn::tensor::Tensor;
use nflow_made::Made;

/// A MADE that outputs, for every feature `i`, a shift `μ_i` and a log-scale `α_i` depending on the
/// features before `i` (and the context).
///
/// The raw log-scale is softly bounded, `α = c·tanh(raw / c)` with `c = log_scale_bound`, so no
/// layer can scale by more than `e^{±c}` and training cannot overflow. The MADE's output layer
/// starts near zero, so a fresh layer is close to the identity.
///
/// Two operations, one per orientation:
///
/// - [`AffineAutoregressive::params`]: one MADE pass on a fully known conditioning side;
/// - [`AffineAutoregressive::solve`]: the `D`-pass loop for the side that is only known through
///   the transform. Pass `k` fixes every feature of degree `≤ k` (its parameters depend only on
///   features already exact), so after `D` passes the solution is exact. This is the single place
///   the sequential inversion lives, so a faster strategy can slot in beside it.
#[derive(Module, Debug)]
pub struct AffineAutoregressive {
    made: Made,
    log_scale_bound: f64,
}

impl AffineAutoregressive {
    /// Wraps a MADE with `params_per_dim == 2` (shift, then raw log-scale).
    ///
    /// # Panics
    /// When the MADE does not have exactly two parameters per dimension (the flow builders
    /// always configure it so).
    pub fn new(made: Made, log_scale_bound: f64) -> Self {
        assert_eq!(made.config().params_per_dim, 2, "affine layers need k = 2");
        Self {
            made,
            log_scale_bound,
        }
    }

    /// The conditioner.
    pub fn made(&self) -> &Made {
        &self.made
    }

    /// The soft bound `c` on log-scales.
    pub fn log_scale_bound(&self) -> f64 {
        self.log_scale_bound
    }

    /// One MADE pass: `(μ, α)` of every feature given the conditioning side `y`, each `[batch, D]`.
    pub fn params(&self, y: Tensor<2>, context: Option<&Tensor<2>>) -> (Tensor<2>, Tensor<2>) {
        let mut out = if self.made.features() >= CONTIGUOUS_PARAMS_MIN_FEATURES {
            self.made.forward_params(y, context)
        } else {
            self.made.split_params(self.made.forward(y, context))
        };
        let raw = out.pop().expect("two parameters");
        let shift = out.pop().expect("two parameters");
        (shift, soft_bound(raw, self.log_scale_bound))
    }

    /// Solves `y = update(target, μ(y), α(y))` for `y` by `D` sequential MADE passes; returns `y`
    /// and the log-scales `α(y)` at the solution.
    pub fn solve(
        &self,
        target: Tensor<2>,
        context: Option<&Tensor<2>>,
        update: impl Fn(Tensor<2>, Tensor<2>, Tensor<2>) -> Tensor<2>,
    ) -> (Tensor<2>, Tensor<2>) {
        let mut y = target.zeros_like();
        let mut log_scale = y.clone();
        for _ in 0..self.made.features() {
            let (shift, alpha) = self.params(y, context);
            y = update(target.clone(), shift, alpha.clone());
            log_scale = alpha;
        }
        (y, log_scale)
    }

    /// Number of features `D`.
    pub fn features(&self) -> usize {
        self.made.features()
    }

    /// Number of context features `C`.
    pub fn context_features(&self) -> usize {
        self.made.context_features()
    }
}

/// From this many features on, [`AffineAutoregressive::params`] takes each parameter from its own
/// slice of the MADE's output layer ([`Made::forward_params`]: contiguous tensors, so the bound and
/// the affine map take flex's fast paths); below it, one output matmul and a split, which has fewer
/// ops and so less per-op overhead. Measured on the benchmark matrix (`docs/performance.md`): the
/// split was faster at D = 2 and 8, the slices at D = 21 and 63.
const CONTIGUOUS_PARAMS_MIN_FEATURES: usize = 16;

/// `c·tanh(raw / c)`, computed as `2c·σ(2·raw / c) − c` (the same function). On burn's flex
/// backend `tanh` is the scalar libm `tanhf`, which made the bound about a fifth of a 63×256 MAF
/// density call; flex's sigmoid is one `expf` per element. Its gradient `σ(1 − σ)` stays finite
/// for any `raw`.
pub(crate) fn soft_bound(raw: Tensor<2>, c: f64) -> Tensor<2> {
    burn::tensor::activation::sigmoid(raw.mul_scalar(2.0 / c))
        .mul_scalar(2.0 * c)
        .sub_scalar(c)
}

/// `u·e^{α} + μ` — the expanding half of the affine map.
pub(crate) fn expand(u: Tensor<2>, shift: Tensor<2>, log_scale: Tensor<2>) -> Tensor<2> {
    u * log_scale.exp() + shift
}

/// `(y − μ)·e^{−α}` — the contracting half, the inverse of [`expand`].
pub(crate) fn contract(y: Tensor<2>, shift: Tensor<2>, log_scale: Tensor<2>) -> Tensor<2> {
    (y - shift) * log_scale.neg().exp()
}

/// Σ_i α_i per row.
pub(crate) fn row_sum(log_scale: Tensor<2>) -> Tensor<1> {
    log_scale.sum_dim(1).squeeze_dim::<1>(1)
}
