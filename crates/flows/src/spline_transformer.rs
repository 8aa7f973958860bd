//! [`SplineTransformer`]: a monotone rational-quadratic spline (Durkan et al. 2019, "Neural Spline
//! Flows") with linear (identity) tails.

use burn::tensor::activation::{softmax, softplus};
use burn::tensor::{Int, Tensor};
use nflow_core::{FlowConfigError, Result};
use serde::{Deserialize, Serialize};

use crate::transformer::{
    ColumnPartials, ElementwiseTransformer, ScalarTransformer, TransformerKind,
};
use crate::vector_math::{exp_in_place, ln_into};

/// A monotone rational-quadratic spline on `[−B, B]` with `K` bins, the identity outside
/// (Durkan et al. 2019), as the transformer of a masked autoregressive layer: a neural spline
/// flow. Per coordinate the conditioner outputs `3K − 1` raw parameters: `K` bin widths, `K` bin
/// heights and the `K − 1` derivatives at the interior knots.
///
/// ```text
/// widths  w = 2B·(m_w + (1 − K·m_w)·softmax(θ_w)),   heights h likewise (m_h),
/// knots   x_k = −B + Σ_{j<k} w_j,  y_k = −B + Σ_{j<k} h_j,
/// slopes  δ_0 = δ_K = 1 (matching the identity tails),  δ_k = m_δ + softplus(θ_δ + c)
///         with c chosen so that θ_δ = 0 gives δ_k = 1.
/// In bin k, with ξ = (u − x_k)/w_k and s = h_k/w_k:
///   y = y_k + h_k·(s ξ² + δ_k ξ(1−ξ)) / (s + (δ_{k+1} + δ_k − 2s) ξ(1−ξ))
///   dy/du = s²·(δ_{k+1} ξ² + 2s ξ(1−ξ) + δ_k (1−ξ)²) / (s + (δ_{k+1} + δ_k − 2s) ξ(1−ξ))²
/// ```
///
/// The inverse is the root in `[0, 1]` of a quadratic in `ξ`, taken in the form
/// `ξ = 2c / (−b − √(b² − 4ac))`, which does not cancel. With all raw parameters zero the bins are
/// equal, every slope is 1, and the map is the identity: layers start near the identity as the
/// affine ones do. Saved as `{"kind": "spline", "bins": K, "bound": B, …}`.
///
/// ```
/// use burn::tensor::Tensor;
/// use nflow_flows::{ElementwiseTransformer, SplineTransformer};
///
/// let device = nflow_core::default_device();
/// let spline = SplineTransformer::default(); // 8 bins on [−5, 5]
/// assert_eq!(spline.params_per_dim(), 23);
/// let zeros = vec![Tensor::<2>::zeros([1, 2], &device); 23];
/// let u = Tensor::<2>::from_floats([[0.3, 7.0]], &device);
/// let (y, log_derivative) = spline.forward(u.clone(), &zeros); // the identity at zero parameters
/// assert!(y.sub(u).abs().max().into_scalar::<f32>() < 1e-5);
/// assert!(log_derivative.abs().max().into_scalar::<f32>() < 1e-5);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SplineTransformer {
    /// Number of bins `K` (at least 1). Default 8.
    pub bins: usize,
    /// The spline acts on `[−bound, bound]`; the identity outside. Default 5.
    pub bound: f64,
    /// Smallest bin width, as a fraction of the interval (`K · m_w < 1`). Default 1e-3.
    pub min_bin_width: f64,
    /// Smallest bin height, as a fraction of the interval (`K · m_h < 1`). Default 1e-3.
    pub min_bin_height: f64,
    /// Smallest slope at a knot (in `(0, 1)`). Default 1e-3.
    pub min_derivative: f64,
}

impl Default for SplineTransformer {
    fn default() -> Self {
        Self {
            bins: 8,
            bound: 5.0,
            min_bin_width: 1e-3,
            min_bin_height: 1e-3,
            min_derivative: 1e-3,
        }
    }
}

impl SplineTransformer {
    /// A spline with `bins` bins on `[−bound, bound]` and the default minimum sizes.
    pub fn new(bins: usize, bound: f64) -> Self {
        Self {
            bins,
            bound,
            ..Self::default()
        }
    }
}

/// The bin of every element: left knot, width, bottom knot, height, slopes at both ends.
struct Bin {
    x: Tensor<2>,
    w: Tensor<2>,
    y: Tensor<2>,
    h: Tensor<2>,
    d0: Tensor<2>,
    d1: Tensor<2>,
}

impl SplineTransformer {
    /// `[batch, D, K]` widths or heights from `K` raw tensors: `2B·(m + (1 − K m)·softmax)`.
    fn sizes(&self, raw: &[Tensor<2>], min: f64) -> Tensor<3> {
        let k = self.bins as f64;
        softmax(Tensor::stack::<3>(raw.to_vec(), 2), 2)
            .mul_scalar(1.0 - k * min)
            .add_scalar(min)
            .mul_scalar(2.0 * self.bound)
    }

    /// The shift `c` added to raw slopes so that a raw 0 gives slope 1:
    /// `softplus(0 + c) = 1 − m`, so `c = ln(e^{1−m} − 1)`.
    fn slope_shift(&self) -> f64 {
        ((1.0 - self.min_derivative).exp() - 1.0).ln()
    }

    /// `[batch, D, K + 1]` slopes at the knots: 1 at both ends.
    fn slopes(&self, raw: &[Tensor<2>], like: &Tensor<2>) -> Tensor<3> {
        let [b, d] = like.dims();
        let one = Tensor::<3>::ones([b, d, 1], &like.device());
        if self.bins == 1 {
            return Tensor::cat(vec![one.clone(), one], 2);
        }
        let shift = self.slope_shift();
        let inner = softplus(Tensor::stack::<3>(raw.to_vec(), 2).add_scalar(shift), 1.0)
            .add_scalar(self.min_derivative);
        Tensor::cat(vec![one.clone(), inner, one], 2)
    }

    /// The bin holding each element of `v` (clamped into the interval), among knots `lefts`
    /// (`[batch, D, K]` left edges) and `sizes`.
    fn locate(&self, v: &Tensor<2>, sizes: &Tensor<3>) -> (Tensor<3, Int>, Tensor<3>) {
        let k = self.bins;
        let [b, d] = v.dims();
        let rights = sizes.clone().cumsum(2).sub_scalar(self.bound);
        let lefts = rights.clone() - sizes.clone();
        let index = if k == 1 {
            Tensor::<3, Int>::zeros([b, d, 1], &v.device())
        } else {
            let v3 = v.clone().unsqueeze_dim::<3>(2).expand([b, d, k - 1]);
            v3.greater_equal(rights.narrow(2, 0, k - 1))
                .float()
                .sum_dim(2)
                .int()
                .clamp(0, k as i64 - 1)
        };
        (index, lefts)
    }

    /// Everything about the bin of each element of the known side `v`.
    fn bin(&self, v: &Tensor<2>, params: &[Tensor<2>], inverse: bool) -> Bin {
        let k = self.bins;
        let widths = self.sizes(&params[..k], self.min_bin_width);
        let heights = self.sizes(&params[k..2 * k], self.min_bin_height);
        let slopes = self.slopes(&params[2 * k..3 * k - 1], v);
        let (index, x_lefts, y_lefts) = if inverse {
            let (index, y_lefts) = self.locate(v, &heights);
            let x_lefts = widths.clone().cumsum(2).sub_scalar(self.bound) - widths.clone();
            (index, x_lefts, y_lefts)
        } else {
            let (index, x_lefts) = self.locate(v, &widths);
            let y_lefts = heights.clone().cumsum(2).sub_scalar(self.bound) - heights.clone();
            (index, x_lefts, y_lefts)
        };
        let pick = |t: Tensor<3>, i: Tensor<3, Int>| t.gather(2, i).squeeze_dim::<2>(2);
        Bin {
            x: pick(x_lefts, index.clone()),
            w: pick(widths, index.clone()),
            y: pick(y_lefts, index.clone()),
            h: pick(heights, index.clone()),
            d0: pick(slopes.clone(), index.clone()),
            d1: pick(slopes, index.add_scalar(1)),
        }
    }

    /// `log dy/du` at position `ξ` of a bin.
    fn log_derivative(bin: &Bin, xi: Tensor<2>) -> Tensor<2> {
        let s = bin.h.clone() / bin.w.clone();
        let one_minus = xi.clone().neg().add_scalar(1.0);
        let xi1 = xi.clone() * one_minus.clone();
        let numerator = bin.d1.clone() * xi.clone() * xi
            + s.clone() * xi1.clone().mul_scalar(2.0)
            + bin.d0.clone() * one_minus.clone() * one_minus;
        let denominator =
            s.clone() + (bin.d1.clone() + bin.d0.clone() - s.clone().mul_scalar(2.0)) * xi1;
        s.log().mul_scalar(2.0) + numerator.log() - denominator.log().mul_scalar(2.0)
    }

    /// Whether each element lies in `[−B, B]`, and the elements clamped into it.
    fn inside(&self, v: &Tensor<2>) -> (Tensor<2, burn::tensor::Bool>, Tensor<2>) {
        let b = self.bound;
        let mask = v
            .clone()
            .greater_equal_elem(-b)
            .bool_and(v.clone().lower_equal_elem(b));
        (mask, v.clone().clamp(-b, b))
    }
}

impl ElementwiseTransformer for SplineTransformer {
    fn params_per_dim(&self) -> usize {
        3 * self.bins - 1
    }

    fn forward(&self, u: Tensor<2>, params: &[Tensor<2>]) -> (Tensor<2>, Tensor<2>) {
        let (inside, v) = self.inside(&u);
        let bin = self.bin(&v, params, false);
        let xi = (v - bin.x.clone()) / bin.w.clone();
        let s = bin.h.clone() / bin.w.clone();
        let xi1 = xi.clone() * xi.clone().neg().add_scalar(1.0);
        let numerator =
            bin.h.clone() * (s.clone() * xi.clone() * xi.clone() + bin.d0.clone() * xi1.clone());
        let denominator = s.clone() + (bin.d1.clone() + bin.d0.clone() - s.mul_scalar(2.0)) * xi1;
        let y = bin.y.clone() + numerator / denominator;
        let log_derivative = Self::log_derivative(&bin, xi);
        (
            u.clone().mask_where(inside.clone(), y),
            u.zeros_like().mask_where(inside, log_derivative),
        )
    }

    fn inverse(&self, y: Tensor<2>, params: &[Tensor<2>]) -> (Tensor<2>, Tensor<2>) {
        let (inside, v) = self.inside(&y);
        let bin = self.bin(&v, params, true);
        let s = bin.h.clone() / bin.w.clone();
        let dy = v - bin.y.clone();
        let sum = bin.d1.clone() + bin.d0.clone() - s.clone().mul_scalar(2.0);
        let a = bin.h.clone() * (s.clone() - bin.d0.clone()) + dy.clone() * sum.clone();
        let b = bin.h.clone() * bin.d0.clone() - dy.clone() * sum;
        let c = s.neg() * dy;
        let discriminant = (b.clone() * b.clone() - a * c.clone().mul_scalar(4.0)).clamp_min(0.0);
        let xi = c.mul_scalar(2.0) / (b.neg() - discriminant.sqrt());
        let u = xi.clone() * bin.w.clone() + bin.x.clone();
        let log_derivative = Self::log_derivative(&bin, xi).neg();
        (
            y.clone().mask_where(inside.clone(), u),
            y.zeros_like().mask_where(inside, log_derivative),
        )
    }

    fn scalar(&self) -> Option<&dyn ScalarTransformer> {
        Some(self)
    }

    fn validate(&self) -> Result<()> {
        let bad = |reason: String| -> Result<()> {
            Err(FlowConfigError::BadTransformer {
                kind: Self::KIND.into(),
                reason,
            }
            .into())
        };
        let k = self.bins as f64;
        if self.bins == 0 {
            return bad("bins must be at least 1".into());
        }
        if !(self.bound > 0.0 && self.bound.is_finite()) {
            return bad(format!(
                "bound must be positive and finite, got {}",
                self.bound
            ));
        }
        for (name, m) in [
            ("min_bin_width", self.min_bin_width),
            ("min_bin_height", self.min_bin_height),
        ] {
            if !(m > 0.0 && k * m < 1.0) {
                return bad(format!(
                    "{name} must be positive with bins·{name} < 1, got {m} for {} bins",
                    self.bins
                ));
            }
        }
        if !(self.min_derivative > 0.0 && self.min_derivative < 1.0) {
            return bad(format!(
                "min_derivative must be in (0, 1), got {}",
                self.min_derivative
            ));
        }
        Ok(())
    }
}

/// One coordinate's bin, on the host: left knot and width, bottom knot and height, slopes.
struct ScalarBin {
    x: f64,
    w: f64,
    y: f64,
    h: f64,
    d0: f64,
    d1: f64,
}

impl ScalarBin {
    /// `log dy/du` at position `ξ` of the bin (as [`SplineTransformer::log_derivative`]).
    fn log_derivative(&self, xi: f64) -> f64 {
        let s = self.h / self.w;
        let xi1 = xi * (1.0 - xi);
        let numerator = self.d1 * xi * xi + 2.0 * s * xi1 + self.d0 * (1.0 - xi) * (1.0 - xi);
        let denominator = s + (self.d1 + self.d0 - 2.0 * s) * xi1;
        // 2 ln s + ln numerator − 2 ln denominator, with one logarithm.
        (s * s * numerator / (denominator * denominator)).ln()
    }
}

impl SplineTransformer {
    /// Bin `k` of the sizes from raw `raw` (`2B·(m + (1 − K m)·softmax)`): the bin holding `v`
    /// when `at` is `None` (the same search as the tensor path), bin `at` otherwise; returns its
    /// index, left edge and size.
    fn scalar_bin_edge(
        &self,
        raw: &[f64],
        min: f64,
        v: f64,
        at: Option<usize>,
    ) -> (usize, f64, f64) {
        let k = self.bins;
        let max = raw.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        // Each exponential once: on the stack for up to 64 bins.
        let mut stack = [0.0f64; 64];
        let mut heap = Vec::new();
        let exps: &mut [f64] = if k <= stack.len() {
            &mut stack[..k]
        } else {
            heap.resize(k, 0.0);
            &mut heap
        };
        let mut sum = 0.0;
        for (e, r) in exps.iter_mut().zip(raw) {
            *e = (r - max).exp();
            sum += *e;
        }
        let scale = 2.0 * self.bound;
        let free = (1.0 - k as f64 * min) / sum;
        let mut left = -self.bound;
        for (i, e) in exps.iter().enumerate() {
            let size = scale * (min + free * e);
            let here = match at {
                Some(index) => i == index,
                None => i == k - 1 || v < left + size,
            };
            if here {
                return (i, left, size);
            }
            left += size;
        }
        unreachable!("the last bin always matches")
    }

    /// `e^c = e^{1−m} − 1` for the shift `c` of [`slope_shift`](Self::slope_shift): the slope
    /// is `m + ln(1 + e^c·e^θ)`, one exponential and one logarithm per knot.
    pub(crate) fn slope_scale(&self) -> f64 {
        (1.0 - self.min_derivative).exp() - 1.0
    }

    /// The slope at knot `i` (1 at both ends) and its derivative with respect to its raw
    /// parameter, `σ(θ + c)` (0 at the ends); `scale` is [`slope_scale`](Self::slope_scale).
    fn scalar_slope(&self, raw: &[f64], i: usize, scale: f64) -> (f64, f64) {
        if i == 0 || i == self.bins {
            return (1.0, 0.0);
        }
        let theta = raw[i - 1];
        if theta > 30.0 {
            // `e^{θ+c}` beyond 10¹²: softplus is `θ + c` and σ is 1 to rounding.
            return (self.min_derivative + theta + scale.ln(), 1.0);
        }
        // `ln(1 + q)` with `ln`, not `ln_1p`: three times faster here, and the absolute error
        // for tiny `q` (≤ 1e-16) is far below the minimum slope added to it.
        let q = scale * theta.exp();
        (self.min_derivative + (1.0 + q).ln(), q / (1.0 + q))
    }

    /// The bin of the known side `v`, searching the widths (forward) or heights (inverse).
    fn scalar_bin(&self, v: f64, params: &[f64], inverse: bool) -> ScalarBin {
        let k = self.bins;
        let (widths, heights) = (&params[..k], &params[k..2 * k]);
        let slopes = &params[2 * k..];
        let (index, x, w, y, h) = if inverse {
            let (index, y, h) = self.scalar_bin_edge(heights, self.min_bin_height, v, None);
            let (_, x, w) = self.scalar_bin_edge(widths, self.min_bin_width, v, Some(index));
            (index, x, w, y, h)
        } else {
            let (index, x, w) = self.scalar_bin_edge(widths, self.min_bin_width, v, None);
            let (_, y, h) = self.scalar_bin_edge(heights, self.min_bin_height, v, Some(index));
            (index, x, w, y, h)
        };
        let scale = self.slope_scale();
        ScalarBin {
            x,
            w,
            y,
            h,
            d0: self.scalar_slope(slopes, index, scale).0,
            d1: self.scalar_slope(slopes, index + 1, scale).0,
        }
    }
}

/// A column of bins (see [`SplineTransformer::column_bins`]): per row, the bin index
/// (`usize::MAX` outside `[−B, B]`), its left and bottom knots, width, height and end slopes.
struct ColumnBins {
    index: Vec<usize>,
    x: Vec<f64>,
    w: Vec<f64>,
    y: Vec<f64>,
    h: Vec<f64>,
    d0: Vec<f64>,
    d1: Vec<f64>,
}

impl SplineTransformer {
    /// The softmax exponentials of `K` raw columns, `[K][n]` flattened, and their row sums: one
    /// vectorised exponential over all of them.
    pub(crate) fn column_exps(raw: &[&[f64]], n: usize) -> (Vec<f64>, Vec<f64>) {
        let mut max = vec![f64::NEG_INFINITY; n];
        for column in raw {
            for (m, &v) in max.iter_mut().zip(*column) {
                *m = m.max(v);
            }
        }
        let mut exps = vec![0.0; raw.len() * n];
        for (out, column) in exps.chunks_mut(n.max(1)).zip(raw) {
            for ((e, &v), &m) in out.iter_mut().zip(*column).zip(&max) {
                *e = v - m;
            }
        }
        exp_in_place(&mut exps);
        let mut sums = vec![0.0; n];
        for column in exps.chunks(n.max(1)) {
            for (s, &e) in sums.iter_mut().zip(column) {
                *s += e;
            }
        }
        (exps, sums)
    }

    /// The bins of a column of known values `v` (searching the widths forward, the heights
    /// inverse, as [`scalar_bin`](Self::scalar_bin)), with the transcendental functions
    /// vectorised over the column.
    fn column_bins(&self, v: &[f64], params: &[&[f64]], inverse: bool) -> ColumnBins {
        let (n, k) = (v.len(), self.bins);
        let (width_exps, width_sums) = Self::column_exps(&params[..k], n);
        let (height_exps, height_sums) = Self::column_exps(&params[k..2 * k], n);
        let scale = 2.0 * self.bound;
        let mut bins = ColumnBins {
            index: vec![usize::MAX; n],
            x: vec![0.0; n],
            w: vec![1.0; n],
            y: vec![0.0; n],
            h: vec![1.0; n],
            d0: vec![1.0; n],
            d1: vec![1.0; n],
        };
        let (mut theta0, mut theta1) = (vec![0.0; n], vec![0.0; n]);
        for r in 0..n {
            if !(-self.bound..=self.bound).contains(&v[r]) {
                continue;
            }
            let size = |exps: &[f64], sum: f64, min: f64, i: usize| {
                scale * (min + (1.0 - k as f64 * min) / sum * exps[i * n + r])
            };
            let (searched, other) = if inverse {
                (
                    (&height_exps, height_sums[r], self.min_bin_height),
                    (&width_exps, width_sums[r], self.min_bin_width),
                )
            } else {
                (
                    (&width_exps, width_sums[r], self.min_bin_width),
                    (&height_exps, height_sums[r], self.min_bin_height),
                )
            };
            let (mut index, mut left, mut here) = (0, -self.bound, 0.0);
            for i in 0..k {
                here = size(searched.0, searched.1, searched.2, i);
                if i == k - 1 || v[r] < left + here {
                    index = i;
                    break;
                }
                left += here;
            }
            let mut other_left = -self.bound;
            for i in 0..index {
                other_left += size(other.0, other.1, other.2, i);
            }
            let other_here = size(other.0, other.1, other.2, index);
            let ((x, w), (y, h)) = if inverse {
                ((other_left, other_here), (left, here))
            } else {
                ((left, here), (other_left, other_here))
            };
            (bins.x[r], bins.w[r], bins.y[r], bins.h[r]) = (x, w, y, h);
            bins.index[r] = index;
            let slopes = &params[2 * k..];
            theta0[r] = if index > 0 { slopes[index - 1][r] } else { 0.0 };
            theta1[r] = if index + 1 < k { slopes[index][r] } else { 0.0 };
        }
        // Slopes `m + ln(1 + e^c·e^θ)` (1 at the ends; `m + θ + c` past θ = 30, as the scalar
        // form), with the exponentials and logarithms over the column.
        let shift = self.slope_scale();
        // Knot `index + offset` of each row: 0 for the bin's left slope, 1 for its right one.
        for (offset, theta, slope) in [(0, &theta0, &mut bins.d0), (1, &theta1, &mut bins.d1)] {
            // `if`, not `min`: a NaN parameter must stay NaN, as in the scalar form.
            let mut q: Vec<f64> = theta
                .iter()
                .map(|&t| if t > 30.0 { 30.0 } else { t })
                .collect();
            exp_in_place(&mut q);
            q.iter_mut().for_each(|q| *q = 1.0 + shift * *q);
            let mut softplus = vec![0.0; n];
            ln_into(&q, &mut softplus);
            for r in 0..n {
                let knot = bins.index[r].wrapping_add(offset);
                if bins.index[r] == usize::MAX || knot == 0 || knot == k {
                    continue;
                }
                slope[r] = if theta[r] > 30.0 {
                    self.min_derivative + theta[r] + shift.ln()
                } else {
                    self.min_derivative + softplus[r]
                };
            }
        }
        bins
    }

    /// The column form of [`forward_one`](ScalarTransformer::forward_one) /
    /// [`inverse_one`](ScalarTransformer::inverse_one).
    fn map_column(
        &self,
        v: &[f64],
        params: &[&[f64]],
        out: &mut [f64],
        log_derivative: &mut [f64],
        inverse: bool,
    ) {
        let bins = self.column_bins(v, params, inverse);
        // The argument of the log-derivative's one logarithm, per row (1 outside: log 0).
        let mut log_arg = vec![1.0; v.len()];
        for r in 0..v.len() {
            if bins.index[r] == usize::MAX {
                out[r] = v[r];
                continue;
            }
            let (w, h, d0, d1) = (bins.w[r], bins.h[r], bins.d0[r], bins.d1[r]);
            let s = h / w;
            let xi = if inverse {
                bin_position(v[r] - bins.y[r], h, s, d0, d1)
            } else {
                (v[r] - bins.x[r]) / w
            };
            let xi1 = xi * (1.0 - xi);
            let denominator = s + (d1 + d0 - 2.0 * s) * xi1;
            out[r] = if inverse {
                xi * w + bins.x[r]
            } else {
                bins.y[r] + h * (s * xi * xi + d0 * xi1) / denominator
            };
            let numerator = d1 * xi * xi + 2.0 * s * xi1 + d0 * (1.0 - xi) * (1.0 - xi);
            log_arg[r] = s * s * numerator / (denominator * denominator);
        }
        ln_into(&log_arg, log_derivative);
        if inverse {
            log_derivative.iter_mut().for_each(|l| *l = -*l);
        }
    }
}

impl ScalarTransformer for SplineTransformer {
    fn forward_many(
        &self,
        u: &[f64],
        params: &[&[f64]],
        y: &mut [f64],
        log_derivative: &mut [f64],
    ) {
        self.map_column(u, params, y, log_derivative, false);
    }

    fn inverse_many(
        &self,
        y: &[f64],
        params: &[&[f64]],
        u: &mut [f64],
        log_derivative: &mut [f64],
    ) {
        self.map_column(y, params, u, log_derivative, true);
    }

    fn forward_one(&self, u: f64, params: &[f64]) -> (f64, f64) {
        if !(-self.bound..=self.bound).contains(&u) {
            return (u, 0.0);
        }
        let bin = self.scalar_bin(u, params, false);
        let xi = (u - bin.x) / bin.w;
        let s = bin.h / bin.w;
        let xi1 = xi * (1.0 - xi);
        let numerator = bin.h * (s * xi * xi + bin.d0 * xi1);
        let denominator = s + (bin.d1 + bin.d0 - 2.0 * s) * xi1;
        (bin.y + numerator / denominator, bin.log_derivative(xi))
    }

    fn forward_partials_one(
        &self,
        u: f64,
        params: &[f64],
        d_value: &mut [f64],
        d_log: &mut [f64],
    ) -> Option<(f64, f64)> {
        Some(self.partials_one(u, params, false, d_value, d_log))
    }

    fn inverse_partials_one(
        &self,
        y: f64,
        params: &[f64],
        d_value: &mut [f64],
        d_log: &mut [f64],
    ) -> Option<(f64, f64)> {
        Some(self.partials_one(y, params, true, d_value, d_log))
    }

    fn forward_partials_many(
        &self,
        u: &[f64],
        params: &[&[f64]],
        out: &mut ColumnPartials,
    ) -> Option<()> {
        self.partials_column(u, params, false, out);
        Some(())
    }

    fn inverse_partials_many(
        &self,
        y: &[f64],
        params: &[&[f64]],
        out: &mut ColumnPartials,
    ) -> Option<()> {
        self.partials_column(y, params, true, out);
        Some(())
    }

    fn inverse_one(&self, y: f64, params: &[f64]) -> (f64, f64) {
        if !(-self.bound..=self.bound).contains(&y) {
            return (y, 0.0);
        }
        let bin = self.scalar_bin(y, params, true);
        let xi = bin_position(y - bin.y, bin.h, bin.h / bin.w, bin.d0, bin.d1);
        (xi * bin.w + bin.x, -bin.log_derivative(xi))
    }
}

/// The position `ξ ∈ [0, 1]` in a bin (height `h`, slope ratio `s = h/w`, end slopes `δ_0`,
/// `δ_1`) at which the spline has risen `dy` above the bin's bottom knot: the root of the
/// quadratic in the stable form `ξ = 2c / (−b − √(b² − 4ac))`.
pub(crate) fn bin_position(dy: f64, h: f64, s: f64, d0: f64, d1: f64) -> f64 {
    let sum = d1 + d0 - 2.0 * s;
    let a = h * (s - d0) + dy * sum;
    let b = h * d0 - dy * sum;
    let c = -s * dy;
    let discriminant = (b * b - 4.0 * a * c).max(0.0);
    2.0 * c / (-b - discriminant.sqrt())
}

impl TransformerKind for SplineTransformer {
    const KIND: &'static str = "spline";
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};

    use super::*;

    /// A NaN raw slope gives NaN in the column methods, as in the scalar ones.
    #[test]
    fn a_nan_slope_stays_nan_in_the_column_methods() {
        let spline = SplineTransformer::default();
        let k = spline.bins;
        let mut params = vec![vec![0.0]; 3 * k - 1];
        for slope in &mut params[2 * k..] {
            slope[0] = f64::NAN;
        }
        let columns: Vec<&[f64]> = params.iter().map(Vec::as_slice).collect();
        let (mut value, mut log) = (vec![0.0], vec![0.0]);
        spline.forward_many(&[0.3], &columns, &mut value, &mut log);
        let theta: Vec<f64> = params.iter().map(|p| p[0]).collect();
        assert!(spline.forward_one(0.3, &theta).0.is_nan());
        assert!(value[0].is_nan() && log[0].is_nan(), "{value:?} {log:?}");
    }

    /// The column methods (vectorised exponentials and logarithms) agree with the value-by-value
    /// ones inside the bound, at its ends, outside it, and for raw slopes past the softplus
    /// cut-off.
    #[test]
    fn column_methods_agree_with_the_scalar_ones() {
        let mut rng = StdRng::seed_from_u64(7);
        for spline in [SplineTransformer::default(), SplineTransformer::new(3, 2.0)] {
            let (k, bound) = (spline.bins, spline.bound);
            let n = 500;
            let params: Vec<Vec<f64>> = (0..3 * k - 1)
                .map(|p| {
                    (0..n)
                        .map(|r| {
                            if p >= 2 * k && r % 50 == 0 {
                                40.0 // past the cut-off
                            } else {
                                rng.random_range(-3.0..3.0)
                            }
                        })
                        .collect()
                })
                .collect();
            let columns: Vec<&[f64]> = params.iter().map(Vec::as_slice).collect();
            let mut known: Vec<f64> = (0..n)
                .map(|_| rng.random_range(-1.2 * bound..1.2 * bound))
                .collect();
            known[..4].copy_from_slice(&[-bound, bound, -bound - 1e-12, bound + 1e-12]);
            for inverse in [false, true] {
                let (mut value, mut log) = (vec![0.0; n], vec![0.0; n]);
                if inverse {
                    spline.inverse_many(&known, &columns, &mut value, &mut log);
                } else {
                    spline.forward_many(&known, &columns, &mut value, &mut log);
                }
                for r in 0..n {
                    let theta: Vec<f64> = params.iter().map(|p| p[r]).collect();
                    let (v, l) = if inverse {
                        spline.inverse_one(known[r], &theta)
                    } else {
                        spline.forward_one(known[r], &theta)
                    };
                    let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * (1.0 + b.abs());
                    assert!(
                        close(value[r], v) && close(log[r], l),
                        "row {r} ({}): ({}, {}) against ({v}, {l})",
                        known[r],
                        value[r],
                        log[r]
                    );
                }
            }
        }
    }
}
