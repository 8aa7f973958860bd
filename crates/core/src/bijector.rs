//! The [`Bijector`] trait: an invertible, differentiable map with tractable log-determinants.

use burn::tensor::Tensor;

/// An invertible map between a base space and a data space, with the log-absolute-determinant of
/// its Jacobian.
///
/// # Direction convention
///
/// `forward` maps **base → data** (`x = f(z)`, used for sampling) and `inverse` maps
/// **data → base** (`z = f⁻¹(x)`, used for density evaluation). By the change of variables,
///
/// ```text
/// log p_X(x) = log p_Z(f⁻¹(x)) + log |det ∂f⁻¹(x)/∂x|
///            = log p_Z(z)       − log |det ∂f(z)/∂z|,    z = f⁻¹(x).
/// ```
///
/// Both directions return the transformed batch **and** the log-absolute-determinant ("ladj") of
/// *that direction's* Jacobian, one value per row. At corresponding points
/// `inverse(x).1 == -forward(z).1`.
///
/// # Shapes
///
/// - input and output: `[batch, D]` with `D = self.features()`
/// - ladj: `[batch]`
/// - context (optional): `[batch, C]` with `C = self.context_features()`; every row of the batch is
///   transformed with its own context row.
///
/// Implementations may assume validated input (right width, finite values, context present exactly
/// when `context_features() > 0`): [`Flow`](crate::Flow) checks at its public entry points.
///
/// # Example
///
/// ```
/// use burn::tensor::Tensor;
/// use nflow_core::{Bijector, ElementwiseAffine, default_device};
///
/// let device = default_device();
/// // x = z * exp(log_scale) + shift, elementwise.
/// let affine = ElementwiseAffine::from_values(&[1.0, -2.0], &[0.0, 2.0f64.ln()], &device).unwrap();
/// let z = Tensor::<2>::from_floats([[0.5, 1.0]], &device);
/// let (x, ladj) = affine.forward(z, None);
/// assert_eq!(x.to_data().to_vec::<f32>().unwrap(), vec![1.5, 0.0]);
/// assert!((ladj.into_scalar::<f64>() - 2.0f64.ln()).abs() < 1e-6);
/// ```
pub trait Bijector {
    /// The number of features `D` the map acts on.
    fn features(&self) -> usize;

    /// The width `C` of the context the map is conditioned on (0 when unconditional).
    fn context_features(&self) -> usize {
        0
    }

    /// Base → data: returns `(x, log|det ∂x/∂z|)`.
    fn forward(&self, z: Tensor<2>, context: Option<&Tensor<2>>) -> (Tensor<2>, Tensor<1>);

    /// Data → base: returns `(z, log|det ∂z/∂x|)`.
    fn inverse(&self, x: Tensor<2>, context: Option<&Tensor<2>>) -> (Tensor<2>, Tensor<1>);

    /// Base → data, the value only. Derived from [`Bijector::forward`]; implementations may
    /// override it when the value alone is cheaper.
    fn forward_value(&self, z: Tensor<2>, context: Option<&Tensor<2>>) -> Tensor<2> {
        self.forward(z, context).0
    }

    /// Data → base, the value only. Derived from [`Bijector::inverse`]; implementations may
    /// override it when the value alone is cheaper.
    fn inverse_value(&self, x: Tensor<2>, context: Option<&Tensor<2>>) -> Tensor<2> {
        self.inverse(x, context).0
    }
}
