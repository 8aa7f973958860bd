//! The arithmetic every mixture density shares: a stable log-sum-exp over one tensor dimension,
//! picking a component from its weights, and the Gaussian normalising constant.

use burn::tensor::Tensor;

pub use crate::standard_normal::HALF_LN_2PI;

/// `log Σ exp(t)` along `dim` (kept, with size 1), computed as `m + log Σ exp(t − m)` with `m`
/// the (gradient-free) maximum along `dim`, so large terms do not overflow.
///
/// ```
/// use burn::tensor::Tensor;
/// let device = nflow_core::default_device();
/// let t = Tensor::<2>::from_floats([[0.0, 1000.0], [2f32.ln(), 2f32.ln()]], &device);
/// let lse = nflow_core::mixture_math::log_sum_exp(t, 1);
/// let v: Vec<f32> = lse.to_data().iter::<f32>().collect();
/// assert!((v[0] - 1000.0).abs() < 1e-3 && (v[1] - 4f32.ln()).abs() < 1e-6);
/// ```
pub fn log_sum_exp<const D: usize>(t: Tensor<D>, dim: usize) -> Tensor<D> {
    let max = t.clone().max_dim(dim).detach();
    (t - max.clone()).exp().sum_dim(dim).log() + max
}

/// The component whose cumulative weight first exceeds `u ∈ [0, 1)`: inverse-CDF sampling of a
/// categorical distribution. When rounding leaves `u` past the total, the last component.
///
/// ```
/// assert_eq!(nflow_core::mixture_math::pick_component(0.35, [0.25, 0.5, 0.25]), 1);
/// assert_eq!(nflow_core::mixture_math::pick_component(0.999, [0.5, 0.49]), 1);
/// ```
pub fn pick_component(u: f64, weights: impl IntoIterator<Item = f64>) -> usize {
    let mut remaining = u;
    let mut last = 0;
    for (j, w) in weights.into_iter().enumerate() {
        remaining -= w;
        if remaining < 0.0 {
            return j;
        }
        last = j;
    }
    last
}
