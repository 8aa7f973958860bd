//! [`ElementwiseTransformer`]: the monotone map of one coordinate that a masked autoregressive
//! layer applies, given the parameters its MADE computed for that coordinate.

use std::any::Any;
use std::fmt::Debug;

use burn::tensor::Tensor;
use nflow_core::Result;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A strictly monotone map `y = τ(u; θ)` of one coordinate, given its `k` raw parameters
/// `θ = (θ_1, …, θ_k)` from the conditioner, applied elementwise to a whole batch.
///
/// A [`MaskedAutoregressive`](crate::MaskedAutoregressive) layer computes
/// `θ_i = MADE(conditioning side)_i` for every coordinate `i` and applies `τ` coordinate by
/// coordinate. Because `θ_i` depends only on the coordinates before `i` in the ordering, the layer's
/// Jacobian is triangular and its log-determinant is the sum of the elementwise log-derivatives
/// `log |∂τ/∂u|`. The transformer knows nothing of orderings, orientations or MADEs: it is the
/// elementwise map alone, and every transformer runs through the same layer, the same `D`-pass
/// solver and the same saved-config plumbing.
///
/// # Directions
///
/// `forward` maps the base side to the data side (`u ↦ y`), `inverse` the data side back
/// (`y ↦ u`); each returns the log-absolute-derivative *of that direction*, so at corresponding
/// points `inverse(y).1 == −forward(u).1`.
///
/// # Shapes
///
/// - `u`, `y`: `[batch, D]`;
/// - `params`: `params_per_dim()` tensors, each `[batch, D]`: `params[p]` holds raw parameter `p`
///   of every coordinate (unconstrained reals: the transformer maps them to valid values, e.g. a
///   positive scale);
/// - log-derivatives: `[batch, D]`, elementwise.
///
/// # Near the identity at zero
///
/// A fresh layer's MADE outputs are close to zero (`output_init_scale`), so `τ(·; 0)` should be the
/// identity or close to it for layers to start near the identity.
///
/// # Writing one
///
/// Implement this trait and [`TransformerKind`] (its name in saved configs, its settings as a
/// serde struct, its defaults) and call [`register_transformer`](crate::register_transformer) once
/// so that saved configs naming it can be read back. Nothing else in the crate changes: see
/// [`AffineTransformer`](crate::AffineTransformer) for the built-in one, and
/// `crates/flows/tests/custom_transformer.rs` for one defined outside the crate.
pub trait ElementwiseTransformer: Any + Debug + Send + Sync {
    /// The number `k` of raw parameters per coordinate the conditioner must output.
    fn params_per_dim(&self) -> usize;

    /// Base side → data side: `(y, log|∂y/∂u|)`, elementwise.
    fn forward(&self, u: Tensor<2>, params: &[Tensor<2>]) -> (Tensor<2>, Tensor<2>);

    /// Data side → base side: `(u, log|∂u/∂y|)`, elementwise.
    fn inverse(&self, y: Tensor<2>, params: &[Tensor<2>]) -> (Tensor<2>, Tensor<2>);

    /// The same map on one host value at a time, when the transformer provides it: the fast
    /// ([incremental](crate::Inversion::Incremental)) inversion then runs entirely on the host,
    /// split across threads. Without it (the default), the incremental inversion calls
    /// [`forward`](Self::forward) / [`inverse`](Self::inverse) on one column per step instead.
    fn scalar(&self) -> Option<&dyn ScalarTransformer> {
        None
    }

    /// Checks the settings; called when a flow is built.
    ///
    /// # Errors
    /// A typed configuration error naming the bad setting.
    fn validate(&self) -> Result<()> {
        Ok(())
    }
}

/// A transformer that can be named in a saved config: its settings are a serde struct (with
/// named fields: the saved form is `{"kind": KIND, …settings}`), and `Default` gives the settings
/// a config uses when none are given (and the ones the test registry exercises).
pub trait TransformerKind:
    ElementwiseTransformer + Clone + Default + Serialize + DeserializeOwned
{
    /// The name in saved configs, e.g. `"affine"`. Unique among registered transformers.
    const KIND: &'static str;
}

/// An elementwise transformer on one coordinate of one row, in plain `f64`: what the
/// [incremental inversion](crate::Inversion::Incremental) calls for every solved value. It must
/// compute the same map as the [`ElementwiseTransformer`]'s tensor methods (to rounding).
pub trait ScalarTransformer: Send + Sync {
    /// Base side → data side: `(y, log|∂y/∂u|)` given the coordinate's `k` raw parameters.
    fn forward_one(&self, u: f64, params: &[f64]) -> (f64, f64);

    /// Data side → base side: `(u, log|∂u/∂y|)` given the coordinate's `k` raw parameters.
    fn inverse_one(&self, y: f64, params: &[f64]) -> (f64, f64);
}
