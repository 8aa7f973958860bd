//! The autoregressive checker: does a function's Jacobian respect an ordering?

use burn::tensor::Tensor;
use nflow_core::jacobian::{StructureViolation, numerical_jacobian, structure_violations};

use crate::made::Made;

/// Whether an output may depend on the input of its own feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Diagonal {
    /// Strict: output `i` may depend only on features *before* `i` (a MADE's outputs).
    Excluded,
    /// Output `i` may also depend on `x_i` (a MAF layer's `z = f⁻¹(x)`).
    Included,
}

/// Every Jacobian entry of `f` that breaks the autoregressive property for `feature_degrees`.
///
/// `f` maps `[batch, D]` to `[batch, k·D]`; output column `u` belongs to feature `u mod D`
/// (nflow's parameter-major layout; `k = 1` for a transform). The entry `∂f_u/∂x_j` must vanish
/// unless `deg(j) < deg(u mod D)` (or `≤` with [`Diagonal::Included`]). The Jacobian is taken by
/// central differences with step `step` at every row of `x`; entries with `|J| > tolerance` where
/// the structure forbids them are reported. Masked-out dependencies are exactly zero, so a tiny
/// tolerance works.
pub fn autoregressive_violations(
    f: impl Fn(Tensor<2>) -> Tensor<2>,
    x: &Tensor<2>,
    feature_degrees: &[usize],
    diagonal: Diagonal,
    step: f64,
    tolerance: f64,
) -> Vec<StructureViolation> {
    let d = feature_degrees.len();
    let jacobians = numerical_jacobian(f, x, step);
    structure_violations(
        &jacobians,
        |u, j| {
            let (out, inp) = (feature_degrees[u % d], feature_degrees[j]);
            match diagonal {
                Diagonal::Excluded => inp < out,
                Diagonal::Included => inp <= out,
            }
        },
        tolerance,
    )
}

/// [`autoregressive_violations`] for a [`Made`] under its active mask set, with an optional fixed
/// context. An empty result means the network is autoregressive at these points.
///
/// ```
/// use nflow_made::{MadeConfig, Ordering, check_made};
/// let device = nflow_core::default_device();
/// let made = MadeConfig::new(4, vec![8]).with_ordering(Ordering::Random).init(&device).unwrap();
/// let x = burn::tensor::Tensor::<2>::ones([3, 4], &device);
/// assert!(check_made(&made, &x, None).is_empty());
/// ```
pub fn check_made(
    made: &Made,
    x: &Tensor<2>,
    context: Option<&Tensor<2>>,
) -> Vec<StructureViolation> {
    autoregressive_violations(
        |t| made.forward(t, context),
        x,
        &made.feature_degrees(),
        Diagonal::Excluded,
        1e-3,
        1e-12,
    )
}
