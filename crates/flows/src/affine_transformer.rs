//! [`AffineTransformer`]: `y = u·e^{α} + μ` with a softly bounded log-scale.

use burn::tensor::Tensor;
use nflow_core::{FlowConfigError, Result};
use serde::{Deserialize, Serialize};

use crate::transformer::{
    ColumnPartials, ElementwiseTransformer, ScalarTransformer, TransformerKind,
};
use crate::vector_math::exp_in_place;

/// The affine transformer of MAF and IAF (Papamakarios et al. 2017; Kingma et al. 2016): two raw
/// parameters per coordinate, a shift `μ` and a raw log-scale `r`,
///
/// ```text
/// α = c·tanh(r / c)                      (soft bound: |α| < c, c = log_scale_bound)
/// forward:  y = u·e^{α} + μ,             log|∂y/∂u| = α
/// inverse:  u = (y − μ)·e^{−α},          log|∂u/∂y| = −α
/// ```
///
/// The bound keeps every layer's scale within `e^{±c}`, so training cannot overflow; at `μ = r = 0`
/// the map is the identity. Saved as `{"kind": "affine", "log_scale_bound": c}`.
///
/// ```
/// use burn::tensor::Tensor;
/// use nflow_flows::{AffineTransformer, ElementwiseTransformer};
///
/// let device = nflow_core::default_device();
/// let affine = AffineTransformer::new(3.0);
/// let u = Tensor::<2>::from_floats([[1.0, -2.0]], &device);
/// let zero = Tensor::<2>::zeros([1, 2], &device);
/// let (y, log_derivative) = affine.forward(u.clone(), &[zero.clone().add_scalar(0.5), zero.clone()]);
/// assert_eq!(y.to_data().to_vec::<f32>().unwrap(), vec![1.5, -1.5]);
/// assert_eq!(log_derivative.to_data().to_vec::<f32>().unwrap(), vec![0.0, 0.0]);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AffineTransformer {
    /// The soft bound `c` on log-scales (positive, finite). Default 3.
    pub log_scale_bound: f64,
}

impl AffineTransformer {
    /// An affine transformer whose log-scales stay within `±log_scale_bound`.
    pub fn new(log_scale_bound: f64) -> Self {
        Self { log_scale_bound }
    }

    /// `α = c·tanh(raw / c)` for one value (the host path; [`soft_bound`] is the tensor one).
    fn log_scale_of(&self, raw: f64) -> f64 {
        // c·tanh(raw / c) as 2c·σ(2·raw / c) − c, as the tensor path: one exponential, where
        // libm's tanh costs two calls.
        let c = self.log_scale_bound;
        2.0 * c / (1.0 + (-2.0 * raw / c).exp()) - c
    }

    /// `(α, α'(r))` for raw log-scale `r`: `α = 2c·σ − c` and `α' = 4σ(1 − σ)` with
    /// `σ = σ(2r/c)`, for the partial derivatives of both directions.
    fn log_scale_and_slope(&self, raw: f64) -> (f64, f64) {
        let c = self.log_scale_bound;
        let sigma = 1.0 / (1.0 + (-2.0 * raw / c).exp());
        (2.0 * c * sigma - c, 4.0 * sigma * (1.0 - sigma))
    }

    /// [`log_scale_of`](Self::log_scale_of) over a column of raw parameters, into `out`.
    fn log_scales_into(&self, raw: &[f64], out: &mut [f64]) {
        let c = self.log_scale_bound;
        for (o, &r) in out.iter_mut().zip(raw) {
            *o = -2.0 * r / c;
        }
        exp_in_place(out);
        for o in out.iter_mut() {
            *o = 2.0 * c / (1.0 + *o) - c;
        }
    }

    /// `σ(2r/c)` over a column of raw log-scales, into `out`: the bound is `α = 2c·σ − c`, its
    /// slope `α'(r) = 4σ(1 − σ)`.
    fn sigmoids_into(&self, raw: &[f64], out: &mut [f64]) {
        let c = self.log_scale_bound;
        for (o, &r) in out.iter_mut().zip(raw) {
            *o = -2.0 * r / c;
        }
        exp_in_place(out);
        for o in out.iter_mut() {
            *o = 1.0 / (1.0 + *o);
        }
    }

    /// The column partials of either direction: `sign = 1` forward (`y = u·e^α + μ`, known `u`),
    /// `−1` inverse (`u = (y − μ)·e^{−α}`, known `y`). Both are `v = (k − μ_in)·e^{sα} + μ_out`
    /// with log-derivative `sα`; the exponentials run vectorised over the column.
    fn partials_many(
        &self,
        sign: f64,
        known: &[f64],
        params: &[&[f64]],
        out: &mut ColumnPartials,
    ) -> Option<()> {
        let n = known.len();
        out.resize(n, 2);
        let c = self.log_scale_bound;
        let (shift, raw) = (params[0], params[1]);
        let (scale, rest) = out.d_value.split_at_mut(n);
        let (d_shift, d_raw) = rest.split_at_mut(n);
        let (d_log_known_shift, d_log_raw) = out.d_log.split_at_mut(2 * n);
        // σ(2r/c) into ∂ℓ/∂r's slot, then the log-derivative sα and the scale e^{sα}.
        self.sigmoids_into(raw, d_log_raw);
        for (log, &sigma) in out.log_derivative.iter_mut().zip(d_log_raw.iter()) {
            *log = sign * (2.0 * c * sigma - c);
        }
        scale.copy_from_slice(&out.log_derivative);
        exp_in_place(scale);
        d_log_known_shift.fill(0.0);
        let columns = out
            .mapped
            .iter_mut()
            .zip(known)
            .zip(shift)
            .zip(scale.iter())
            .zip(d_shift.iter_mut())
            .zip(d_raw.iter_mut())
            .zip(d_log_raw.iter_mut());
        for ((((((mapped, &k), &mu), &e), d_shift), d_raw), d_log_raw) in columns {
            let slope = sign * 4.0 * *d_log_raw * (1.0 - *d_log_raw);
            if sign > 0.0 {
                // y = u·e^α + μ: ∂y/∂μ = 1, ∂y/∂r = u·e^α·α'.
                *mapped = k * e + mu;
                *d_shift = 1.0;
                *d_raw = k * e * slope;
            } else {
                // u = (y − μ)·e^{−α}: ∂u/∂μ = −e^{−α}, ∂u/∂r = −u·α'.
                *mapped = (k - mu) * e;
                *d_shift = -e;
                *d_raw = *mapped * slope;
            }
            *d_log_raw = slope;
        }
        Some(())
    }

    /// `(μ, α)` from the raw parameters.
    fn shift_and_log_scale(&self, params: &[Tensor<2>]) -> (Tensor<2>, Tensor<2>) {
        (
            params[0].clone(),
            soft_bound(params[1].clone(), self.log_scale_bound),
        )
    }
}

impl Default for AffineTransformer {
    fn default() -> Self {
        Self::new(3.0)
    }
}

impl ElementwiseTransformer for AffineTransformer {
    fn params_per_dim(&self) -> usize {
        2
    }

    fn forward(&self, u: Tensor<2>, params: &[Tensor<2>]) -> (Tensor<2>, Tensor<2>) {
        let (shift, log_scale) = self.shift_and_log_scale(params);
        (u * log_scale.clone().exp() + shift, log_scale)
    }

    fn inverse(&self, y: Tensor<2>, params: &[Tensor<2>]) -> (Tensor<2>, Tensor<2>) {
        let (shift, log_scale) = self.shift_and_log_scale(params);
        let neg = log_scale.neg();
        ((y - shift) * neg.clone().exp(), neg)
    }

    fn scalar(&self) -> Option<&dyn ScalarTransformer> {
        Some(self)
    }

    fn validate(&self) -> Result<()> {
        let c = self.log_scale_bound;
        if c > 0.0 && c.is_finite() {
            Ok(())
        } else {
            Err(FlowConfigError::BadLogScaleBound(c).into())
        }
    }
}

impl ScalarTransformer for AffineTransformer {
    fn forward_one(&self, u: f64, params: &[f64]) -> (f64, f64) {
        let log_scale = self.log_scale_of(params[1]);
        (u * log_scale.exp() + params[0], log_scale)
    }

    fn inverse_one(&self, y: f64, params: &[f64]) -> (f64, f64) {
        let log_scale = self.log_scale_of(params[1]);
        ((y - params[0]) * (-log_scale).exp(), -log_scale)
    }

    /// `y = u·e^α + μ` over a column, with both exponentials vectorised ([`exp_in_place`]).
    fn forward_many(
        &self,
        u: &[f64],
        params: &[&[f64]],
        y: &mut [f64],
        log_derivative: &mut [f64],
    ) {
        self.log_scales_into(params[1], log_derivative);
        y.copy_from_slice(log_derivative);
        exp_in_place(y);
        for ((y, &u), &shift) in y.iter_mut().zip(u).zip(params[0]) {
            *y = u * *y + shift;
        }
    }

    /// `u = (y − μ)·e^{−α}` over a column, with both exponentials vectorised.
    fn inverse_many(
        &self,
        y: &[f64],
        params: &[&[f64]],
        u: &mut [f64],
        log_derivative: &mut [f64],
    ) {
        self.log_scales_into(params[1], log_derivative);
        for (u, &log_scale) in u.iter_mut().zip(log_derivative.iter()) {
            *u = -log_scale;
        }
        exp_in_place(u);
        for (((u, &y), &shift), log) in u.iter_mut().zip(y).zip(params[0]).zip(log_derivative) {
            *u *= y - shift;
            *log = -*log;
        }
    }

    /// `∂y/∂u = e^α`, `∂y/∂μ = 1`, `∂y/∂r = u·e^α·α'(r)`; `ℓ = α` depends on `r` alone, with
    /// `α'(r) = 4σ(1 − σ)` for `σ = σ(2r/c)`.
    fn forward_partials_one(
        &self,
        u: f64,
        params: &[f64],
        d_value: &mut [f64],
        d_log: &mut [f64],
    ) -> Option<(f64, f64)> {
        let (log_scale, slope) = self.log_scale_and_slope(params[1]);
        let scale = log_scale.exp();
        d_value[..3].copy_from_slice(&[scale, 1.0, u * scale * slope]);
        d_log[..3].copy_from_slice(&[0.0, 0.0, slope]);
        Some((u * scale + params[0], log_scale))
    }

    /// `u = (y − μ)·e^{−α}`: `∂u/∂y = e^{−α}`, `∂u/∂μ = −e^{−α}`, `∂u/∂r = −u·α'(r)`; the
    /// log-derivative `−α` has `∂/∂r = −α'(r)`. Two exponentials per value, where the default
    /// (inverse, then the forward partials, then the implicit-function theorem) takes four.
    fn inverse_partials_one(
        &self,
        y: f64,
        params: &[f64],
        d_value: &mut [f64],
        d_log: &mut [f64],
    ) -> Option<(f64, f64)> {
        let (log_scale, slope) = self.log_scale_and_slope(params[1]);
        let inverse_scale = (-log_scale).exp();
        let u = (y - params[0]) * inverse_scale;
        d_value[..3].copy_from_slice(&[inverse_scale, -inverse_scale, -u * slope]);
        d_log[..3].copy_from_slice(&[0.0, 0.0, -slope]);
        Some((u, -log_scale))
    }

    /// [`forward_partials_one`](Self::forward_partials_one) over a column, the exponentials
    /// vectorised.
    fn forward_partials_many(
        &self,
        u: &[f64],
        params: &[&[f64]],
        out: &mut ColumnPartials,
    ) -> Option<()> {
        self.partials_many(1.0, u, params, out)
    }

    /// [`inverse_partials_one`](Self::inverse_partials_one) over a column, the exponentials
    /// vectorised.
    fn inverse_partials_many(
        &self,
        y: &[f64],
        params: &[&[f64]],
        out: &mut ColumnPartials,
    ) -> Option<()> {
        self.partials_many(-1.0, y, params, out)
    }
}

impl TransformerKind for AffineTransformer {
    const KIND: &'static str = "affine";
}

/// `c·tanh(raw / c)`, computed as `2c·σ(2·raw / c) − c` (the same function). On burn's flex
/// backend `tanh` is the scalar libm `tanhf`, which made the bound about a fifth of a 63×256 MAF
/// density call; flex's sigmoid is one `expf` per element. Its gradient `σ(1 − σ)` stays finite
/// for any `raw`.
fn soft_bound(raw: Tensor<2>, c: f64) -> Tensor<2> {
    burn::tensor::activation::sigmoid(raw.mul_scalar(2.0 / c))
        .mul_scalar(2.0 * c)
        .sub_scalar(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vectorised column methods agree with the value-by-value ones, including raw log-scales
    /// far past the bound (where the sigmoid's exponential saturates).
    #[test]
    fn column_methods_agree_with_the_scalar_ones() {
        let affine = AffineTransformer::default();
        let n = 301;
        let known: Vec<f64> = (0..n).map(|i| (i as f64 - 150.0) * 0.07).collect();
        let shift: Vec<f64> = (0..n).map(|i| ((i * 7) % 13) as f64 - 6.0).collect();
        let raw: Vec<f64> = (0..n).map(|i| (i as f64 - 150.0) * 0.4).collect();
        let params = [shift.as_slice(), raw.as_slice()];
        for forward in [true, false] {
            let (mut value, mut log) = (vec![0.0; n], vec![0.0; n]);
            if forward {
                affine.forward_many(&known, &params, &mut value, &mut log);
            } else {
                affine.inverse_many(&known, &params, &mut value, &mut log);
            }
            for r in 0..n {
                let one = [shift[r], raw[r]];
                let (v, l) = if forward {
                    affine.forward_one(known[r], &one)
                } else {
                    affine.inverse_one(known[r], &one)
                };
                assert!(
                    (value[r] - v).abs() <= 1e-14 * (1.0 + v.abs()),
                    "{r}: {} vs {v}",
                    value[r]
                );
                assert!(
                    (log[r] - l).abs() <= 1e-14 * (1.0 + l.abs()),
                    "{r}: {} vs {l}",
                    log[r]
                );
            }
        }
    }

    /// The vectorised column partials agree with the value-by-value ones (whose formulas
    /// `host_partials` tests against burn's gradients), both directions, past the bound too.
    #[test]
    fn column_partials_agree_with_the_scalar_ones() {
        let affine = AffineTransformer::new(2.5);
        let n = 203;
        let known: Vec<f64> = (0..n).map(|i| (i as f64 - 100.0) * 0.09).collect();
        let shift: Vec<f64> = (0..n).map(|i| ((i * 5) % 11) as f64 - 5.0).collect();
        let raw: Vec<f64> = (0..n).map(|i| (i as f64 - 100.0) * 0.3).collect();
        let params = [shift.as_slice(), raw.as_slice()];
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-13 * (1.0 + b.abs());
        for forward in [true, false] {
            let mut column = ColumnPartials::default();
            if forward {
                affine.forward_partials_many(&known, &params, &mut column)
            } else {
                affine.inverse_partials_many(&known, &params, &mut column)
            }
            .unwrap();
            let (mut d_value, mut d_log) = ([0.0; 3], [0.0; 3]);
            for r in 0..n {
                let one = [shift[r], raw[r]];
                let (v, l) = if forward {
                    affine.forward_partials_one(known[r], &one, &mut d_value, &mut d_log)
                } else {
                    affine.inverse_partials_one(known[r], &one, &mut d_value, &mut d_log)
                }
                .unwrap();
                assert!(close(column.mapped[r], v), "{forward} {r}: value");
                assert!(close(column.log_derivative[r], l), "{forward} {r}: log");
                for j in 0..3 {
                    assert!(
                        close(column.d_value[j * n + r], d_value[j]),
                        "{forward} {r}: ∂value/∂{j}: {} vs {}",
                        column.d_value[j * n + r],
                        d_value[j]
                    );
                    assert!(
                        close(column.d_log[j * n + r], d_log[j]),
                        "{forward} {r}: ∂log/∂{j}"
                    );
                }
            }
        }
    }
}
