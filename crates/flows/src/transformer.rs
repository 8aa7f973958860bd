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

    /// [`forward_one`](Self::forward_one) over many values of one coordinate: `u[r]` with raw
    /// parameters `params[p][r]`, into `y[r]` and `log_derivative[r]` (all slices of one length).
    /// The default calls `forward_one` value by value; a transformer may vectorise it (the
    /// affine one does), as long as the values agree to rounding.
    fn forward_many(
        &self,
        u: &[f64],
        params: &[&[f64]],
        y: &mut [f64],
        log_derivative: &mut [f64],
    ) {
        one_by_one(u, params, y, log_derivative, |v, p| self.forward_one(v, p));
    }

    /// [`inverse_one`](Self::inverse_one) over many values of one coordinate, as
    /// [`forward_many`](Self::forward_many).
    fn inverse_many(
        &self,
        y: &[f64],
        params: &[&[f64]],
        u: &mut [f64],
        log_derivative: &mut [f64],
    ) {
        one_by_one(y, params, u, log_derivative, |v, p| self.inverse_one(v, p));
    }

    /// The forward map with its first partial derivatives, when the transformer provides them
    /// (the default provides none: `None`).
    ///
    /// Returns `(y, ℓ)` with `ℓ = log|∂y/∂u|`, as [`forward_one`](Self::forward_one), and fills
    /// `d_value` and `d_log` (each `1 + k` long) with the partial derivatives of `y` and of `ℓ`:
    /// index 0 with respect to `u`, index `1 + p` with respect to raw parameter `θ_p`.
    ///
    /// With them, training on the CPU runs the transformer of the one-pass direction on the host,
    /// in both directions (the inverse's derivatives follow from these by the implicit function
    /// theorem), and joins burn's autodiff graph with a handful of tensor ops instead of the
    /// transformer's own op graph; see [`OnePass`](crate::OnePass).
    fn forward_partials_one(
        &self,
        u: f64,
        params: &[f64],
        d_value: &mut [f64],
        d_log: &mut [f64],
    ) -> Option<(f64, f64)> {
        let _ = (u, params, d_value, d_log);
        None
    }

    /// The inverse map with its first partial derivatives: `(u, log|∂u/∂y|)` as
    /// [`inverse_one`](Self::inverse_one), and in `d_value`, `d_log` the partials of `u` and of
    /// `log|∂u/∂y|` with respect to `y` (index 0) and each `θ_p` (index `1 + p`).
    ///
    /// The default solves with `inverse_one` and derives the partials from the forward ones at
    /// the solution ([`invert_partials`]); override it to share work between the two.
    fn inverse_partials_one(
        &self,
        y: f64,
        params: &[f64],
        d_value: &mut [f64],
        d_log: &mut [f64],
    ) -> Option<(f64, f64)> {
        let (u, _) = self.inverse_one(y, params);
        let (_, log_derivative) = self.forward_partials_one(u, params, d_value, d_log)?;
        invert_partials(d_value, d_log);
        Some((u, -log_derivative))
    }

    /// [`forward_partials_one`](Self::forward_partials_one) over many values of one coordinate:
    /// `u[r]` with raw parameters `params[p][r]`, into `out` (see [`ColumnPartials`]). `None`
    /// when the transformer provides no partials. The default calls `forward_partials_one` value
    /// by value; a transformer may vectorise it (the spline does), as long as the values agree
    /// to rounding.
    fn forward_partials_many(
        &self,
        u: &[f64],
        params: &[&[f64]],
        out: &mut ColumnPartials,
    ) -> Option<()> {
        partials_one_by_one(u, params, out, |v, p, dv, dl| {
            self.forward_partials_one(v, p, dv, dl)
        })
    }

    /// [`inverse_partials_one`](Self::inverse_partials_one) over many values of one coordinate,
    /// as [`forward_partials_many`](Self::forward_partials_many).
    fn inverse_partials_many(
        &self,
        y: &[f64],
        params: &[&[f64]],
        out: &mut ColumnPartials,
    ) -> Option<()> {
        partials_one_by_one(y, params, out, |v, p, dv, dl| {
            self.inverse_partials_one(v, p, dv, dl)
        })
    }
}

/// The results of [`ScalarTransformer::forward_partials_many`] /
/// [`ScalarTransformer::inverse_partials_many`] for `n` values of one coordinate with `k` raw
/// parameters each: the mapped values, the log-derivatives, and the partials of both, stored by
/// partial: `d_value[j·n + r]` is the partial of value `r` with respect to the known side (`j = 0`)
/// or raw parameter `j − 1`, as [`ScalarTransformer::forward_partials_one`] orders them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ColumnPartials {
    /// Values per column `n`.
    pub n: usize,
    /// The mapped side, `n` values.
    pub mapped: Vec<f64>,
    /// The log-derivatives of the direction, `n` values.
    pub log_derivative: Vec<f64>,
    /// The partials of the mapped side, `(1 + k)·n` values.
    pub d_value: Vec<f64>,
    /// The partials of the log-derivative, `(1 + k)·n` values.
    pub d_log: Vec<f64>,
}

impl ColumnPartials {
    /// Sized for `n` values with `k` raw parameters each (reusing the buffers).
    pub fn resize(&mut self, n: usize, k: usize) {
        self.n = n;
        self.mapped.resize(n, 0.0);
        self.log_derivative.resize(n, 0.0);
        self.d_value.resize((1 + k) * n, 0.0);
        self.d_log.resize((1 + k) * n, 0.0);
    }
}

/// The default of the column partials: `partials` value by value.
fn partials_one_by_one(
    known: &[f64],
    params: &[&[f64]],
    out: &mut ColumnPartials,
    partials: impl Fn(f64, &[f64], &mut [f64], &mut [f64]) -> Option<(f64, f64)>,
) -> Option<()> {
    let (n, k) = (known.len(), params.len());
    out.resize(n, k);
    let mut theta = vec![0.0; k];
    let (mut d_value, mut d_log) = (vec![0.0; 1 + k], vec![0.0; 1 + k]);
    for (r, &v) in known.iter().enumerate() {
        for (t, p) in theta.iter_mut().zip(params) {
            *t = p[r];
        }
        (out.mapped[r], out.log_derivative[r]) = partials(v, &theta, &mut d_value, &mut d_log)?;
        for (j, (&dv, &dl)) in d_value.iter().zip(&d_log).enumerate() {
            out.d_value[j * n + r] = dv;
            out.d_log[j * n + r] = dl;
        }
    }
    Some(())
}

/// The default of [`ScalarTransformer::forward_many`] / [`ScalarTransformer::inverse_many`]: `map`
/// value by value.
fn one_by_one(
    known: &[f64],
    params: &[&[f64]],
    mapped: &mut [f64],
    log_derivative: &mut [f64],
    map: impl Fn(f64, &[f64]) -> (f64, f64),
) {
    let mut theta = vec![0.0; params.len()];
    for (r, ((&v, out), log)) in known.iter().zip(mapped).zip(log_derivative).enumerate() {
        for (t, p) in theta.iter_mut().zip(params) {
            *t = p[r];
        }
        (*out, *log) = map(v, &theta);
    }
}

/// Turns the forward map's partials at `u` (as [`ScalarTransformer::forward_partials_one`]
/// fills them) into the inverse map's at `y = τ(u)`, in place, by the implicit function theorem:
///
/// ```text
/// ∂u/∂y = 1/τ_u,   ∂u/∂θ = −τ_θ/τ_u,
/// for ℓ⁻¹(y, θ) = −ℓ(u(y, θ), θ):   ∂ℓ⁻¹/∂y = −ℓ_u·∂u/∂y,   ∂ℓ⁻¹/∂θ = −(ℓ_θ + ℓ_u·∂u/∂θ).
/// ```
pub fn invert_partials(d_value: &mut [f64], d_log: &mut [f64]) {
    let du_dy = 1.0 / d_value[0];
    let dl_du = d_log[0];
    d_value[0] = du_dy;
    d_log[0] = -dl_du * du_dy;
    for (v, l) in d_value[1..].iter_mut().zip(&mut d_log[1..]) {
        let du_dp = -*v * du_dy;
        *v = du_dp;
        *l = -(*l + dl_du * du_dp);
    }
}
