//! The rational-quadratic spline's map with its partial derivatives, over a column of values of
//! one coordinate: what training on the CPU computes for every value of the one-pass direction
//! ([`ScalarTransformer::forward_partials_many`](crate::ScalarTransformer::forward_partials_many)).
//!
//! The partials by hand, in the notation of [`SplineTransformer`]: first with respect to the
//! bin's local quantities (`ξ`, `s`, `h_k`, `δ_k`, `δ_{k+1}`), then through `ξ = (u − x_k)/w_k`
//! and `s = h_k/w_k` to the knots and sizes, through the cumulative sums and softmaxes to the raw
//! widths and heights, and through the softplus to the raw slopes. Outside `[−B, B]`: `y = u`,
//! `ℓ = 0`. The inverse finds the bin among the heights and `ξ` by the quadratic's root, and
//! turns the forward partials at the solution into the inverse's (the implicit function theorem,
//! as [`invert_partials`](crate::invert_partials)), all from one evaluation of the softmaxes.
//!
//! A value needs `2K + 5` exponentials and logarithms (the softmaxes, two softplus slopes, the
//! log-derivative); here each kind runs vectorised over the whole column
//! ([`exp_in_place`], [`ln_into`]) and only the arithmetic between them runs value by value.

use crate::spline_transformer::{SplineTransformer, bin_position};
use crate::transformer::ColumnPartials;
use crate::vector_math::{exp_in_place, ln_into};

/// Raw slopes above this take the softplus's linear branch (`e^θ` past 10¹³).
const SOFTPLUS_LINEAR: f64 = 30.0;

/// The column's bins: per value the bin index, the left and bottom knots, the width and height.
struct Bins {
    index: Vec<usize>,
    x: Vec<f64>,
    y: Vec<f64>,
    w: Vec<f64>,
    h: Vec<f64>,
}

/// The end slopes of each value's bin, `δ_k` and `δ_{k+1}`, and their derivatives with respect
/// to their raw parameters (`σ(θ + c)`; 0 at the spline's ends, where the slope is fixed at 1).
struct EndSlopes {
    slope: [Vec<f64>; 2],
    by_raw: [Vec<f64>; 2],
}

/// The partials of one output (the mapped value or the log-derivative) with respect to the bin's
/// local quantities.
struct Local {
    xi: f64,
    s: f64,
    h: f64,
    y: f64,
    d0: f64,
    d1: f64,
}

impl SplineTransformer {
    /// The map in direction `inverse` of every value of `v` (raw parameters `params[p][r]`) with
    /// its partials, into `out` (see [`ColumnPartials`]).
    pub(crate) fn partials_column(
        &self,
        v: &[f64],
        params: &[&[f64]],
        inverse: bool,
        out: &mut ColumnPartials,
    ) {
        let (n, k) = (v.len(), self.bins);
        out.resize(n, 3 * k - 1);
        let sigma_w = softmax_columns(&params[..k], n);
        let sigma_h = softmax_columns(&params[k..2 * k], n);
        let scale = 2.0 * self.bound;
        let c_w = scale * (1.0 - k as f64 * self.min_bin_width);
        let c_h = scale * (1.0 - k as f64 * self.min_bin_height);
        let bins = self.find_bins(v, &sigma_w, &sigma_h, inverse);
        let ends = self.end_slopes(&bins.index, &params[2 * k..]);

        // The argument of the log-derivative's one logarithm (1 outside: log 0).
        let mut log_arg = vec![1.0; n];
        // Per value, for the mapped value (0) and the log-derivative (1), the coefficients of the
        // chain rule to the raw parameters (zero outside, where only `∂y/∂u = 1` is left).
        let mut chain = [Chain::zeros(n), Chain::zeros(n)];
        chain[0].by_known.fill(1.0);
        let (mut below_w, mut below_h) = (vec![0.0; n], vec![0.0; n]);
        let inside: Vec<bool> = v
            .iter()
            .map(|x| (-self.bound..=self.bound).contains(x))
            .collect();
        for r in 0..n {
            if !inside[r] {
                out.mapped[r] = v[r];
                continue;
            }
            let index = bins.index[r];
            let (w, h) = (bins.w[r], bins.h[r]);
            let (d0, d1) = (ends.slope[0][r], ends.slope[1][r]);
            let s = h / w;
            let xi = if inverse {
                bin_position(v[r] - bins.y[r], h, s, d0, d1)
            } else {
                (v[r] - bins.x[r]) / w
            };
            let a = xi * (1.0 - xi);
            let spread = d0 + d1 - 2.0 * s;
            let numerator = h * (s * xi * xi + d0 * a);
            let denominator = s + spread * a;
            let q = d1 * xi * xi + 2.0 * s * a + d0 * (1.0 - xi) * (1.0 - xi);
            let ratio = numerator / denominator;
            log_arg[r] = s * s * q / (denominator * denominator);
            out.mapped[r] = if inverse {
                xi * w + bins.x[r]
            } else {
                bins.y[r] + ratio
            };

            // Local partials of `y − y_k` and of `ℓ`, holding the others fixed.
            let denominator_xi = spread * (1.0 - 2.0 * xi);
            let value = Local {
                xi: (h * (2.0 * s * xi + d0 * (1.0 - 2.0 * xi)) - ratio * denominator_xi)
                    / denominator,
                s: (h * xi * xi - ratio * (1.0 - 2.0 * a)) / denominator,
                h: (s * xi * xi + d0 * a) / denominator,
                y: 1.0,
                d0: (h - ratio) * a / denominator,
                d1: -ratio * a / denominator,
            };
            let log = Local {
                xi: 2.0 * (d1 * xi + s * (1.0 - 2.0 * xi) - d0 * (1.0 - xi)) / q
                    - 2.0 * denominator_xi / denominator,
                s: 2.0 / s + 2.0 * a / q - 2.0 * (1.0 - 2.0 * a) / denominator,
                h: 0.0,
                y: 0.0,
                d0: (1.0 - xi) * (1.0 - xi) / q - 2.0 * a / denominator,
                d1: xi * xi / q - 2.0 * a / denominator,
            };
            for (c, f) in chain.iter_mut().zip([value, log]) {
                c.by_known[r] = f.xi / w;
                // Widths: `x_k` (every width below the bin) and `w_k` (through `ξ` and `s`).
                c.below_width[r] = -f.xi / w;
                c.width[r] = -(f.xi * xi + f.s * s) / w;
                // Heights: `y_k` (every height below the bin) and `h_k` (directly and via `s`).
                c.below_height[r] = f.y;
                c.height[r] = f.h + f.s / w;
                c.left_slope[r] = f.d0 * ends.by_raw[0][r];
                c.right_slope[r] = f.d1 * ends.by_raw[1][r];
            }
            below_w[r] = (0..index).map(|i| sigma_w[i * n + r]).sum();
            below_h[r] = (0..index).map(|i| sigma_h[i * n + r]).sum();
        }
        let widths = Softmax {
            sigma: &sigma_w,
            below: &below_w,
            scale: c_w,
        };
        let heights = Softmax {
            sigma: &sigma_h,
            below: &below_h,
            scale: c_h,
        };
        for (c, d) in chain.iter().zip([&mut out.d_value, &mut out.d_log]) {
            fill_partials(c, (&widths, &heights), &bins.index, &inside, k, d);
        }
        if inverse {
            invert_column_partials(out);
        }
        ln_into(&log_arg, &mut out.log_derivative);
        if inverse {
            out.log_derivative.iter_mut().for_each(|l| *l = -*l);
        }
    }

    /// The bin of every value: searching the widths (forward) or the heights (inverse), with the
    /// sizes `2B·m + c·σ` summed in the same order as the value-by-value search.
    fn find_bins(&self, v: &[f64], sigma_w: &[f64], sigma_h: &[f64], inverse: bool) -> Bins {
        let (n, k) = (v.len(), self.bins);
        let scale = 2.0 * self.bound;
        let (base_w, base_h) = (scale * self.min_bin_width, scale * self.min_bin_height);
        let c_w = scale * (1.0 - k as f64 * self.min_bin_width);
        let c_h = scale * (1.0 - k as f64 * self.min_bin_height);
        let mut bins = Bins {
            index: vec![k - 1; n],
            x: vec![-self.bound; n],
            y: vec![-self.bound; n],
            w: vec![0.0; n],
            h: vec![0.0; n],
        };
        let mut found = vec![false; n];
        for i in 0..k {
            let (widths, heights) = (&sigma_w[i * n..][..n], &sigma_h[i * n..][..n]);
            for r in 0..n {
                if found[r] {
                    continue;
                }
                let w = base_w + c_w * widths[r];
                let h = base_h + c_h * heights[r];
                let edge = if inverse {
                    bins.y[r] + h
                } else {
                    bins.x[r] + w
                };
                if i == k - 1 || v[r] < edge {
                    (bins.index[r], bins.w[r], bins.h[r], found[r]) = (i, w, h, true);
                } else {
                    bins.x[r] += w;
                    bins.y[r] += h;
                }
            }
        }
        bins
    }

    /// The slopes at both ends of every value's bin, `m + ln(1 + e^c·e^θ)` (1 at the spline's
    /// ends; `m + θ + c` past [`SOFTPLUS_LINEAR`]), exponentials and logarithms over the column.
    fn end_slopes(&self, index: &[usize], raw_slopes: &[&[f64]]) -> EndSlopes {
        let (n, k) = (index.len(), self.bins);
        let shift = self.slope_scale();
        let mut ends = EndSlopes {
            slope: [vec![1.0; n], vec![1.0; n]],
            by_raw: [vec![0.0; n], vec![0.0; n]],
        };
        for offset in 0..2 {
            // Knot `index + offset`: its raw parameter, 0 where the knot is an end.
            let knot_raw = |r: usize| {
                let knot = index[r] + offset;
                (knot > 0 && knot < k).then(|| raw_slopes[knot - 1][r])
            };
            let theta: Vec<f64> = (0..n).map(|r| knot_raw(r).unwrap_or(0.0)).collect();
            // `if`, not `min`: a NaN parameter must stay NaN.
            let mut q: Vec<f64> = theta
                .iter()
                .map(|&t| {
                    if t > SOFTPLUS_LINEAR {
                        SOFTPLUS_LINEAR
                    } else {
                        t
                    }
                })
                .collect();
            exp_in_place(&mut q);
            q.iter_mut().for_each(|q| *q *= shift);
            let one_plus: Vec<f64> = q.iter().map(|q| 1.0 + q).collect();
            let mut softplus = vec![0.0; n];
            ln_into(&one_plus, &mut softplus);
            for r in 0..n {
                if knot_raw(r).is_none() {
                    continue;
                }
                (ends.slope[offset][r], ends.by_raw[offset][r]) = if theta[r] > SOFTPLUS_LINEAR {
                    (self.min_derivative + theta[r] + shift.ln(), 1.0)
                } else {
                    (self.min_derivative + softplus[r], q[r] / one_plus[r])
                };
            }
        }
        ends
    }

    /// [`partials_column`](Self::partials_column) on one value, into `d_value`, `d_log` (each
    /// `3K` long): what [`forward_partials_one`](crate::ScalarTransformer::forward_partials_one)
    /// and its inverse return.
    pub(crate) fn partials_one(
        &self,
        v: f64,
        params: &[f64],
        inverse: bool,
        d_value: &mut [f64],
        d_log: &mut [f64],
    ) -> (f64, f64) {
        let columns: Vec<&[f64]> = params.chunks(1).collect();
        let mut out = ColumnPartials::default();
        self.partials_column(&[v], &columns, inverse, &mut out);
        d_value.copy_from_slice(&out.d_value);
        d_log.copy_from_slice(&out.d_log);
        (out.mapped[0], out.log_derivative[0])
    }
}

/// The softmax over `K` raw columns of `n` values, `[K][n]` flattened: `σ[i·n + r]`.
fn softmax_columns(raw: &[&[f64]], n: usize) -> Vec<f64> {
    let (mut sigma, sums) = SplineTransformer::column_exps(raw, n);
    for column in sigma.chunks_mut(n.max(1)) {
        for (e, &sum) in column.iter_mut().zip(&sums) {
            *e /= sum;
        }
    }
    sigma
}

/// Per value, the chain rule's coefficients from one output (the mapped value or the
/// log-derivative) to the bin's quantities: `∂/∂v`, the left knot `x_k` (every width below the
/// bin), the width `w_k`, the bottom knot `y_k`, the height `h_k`, and the two end slopes'
/// raw parameters.
struct Chain {
    by_known: Vec<f64>,
    below_width: Vec<f64>,
    width: Vec<f64>,
    below_height: Vec<f64>,
    height: Vec<f64>,
    left_slope: Vec<f64>,
    right_slope: Vec<f64>,
}

impl Chain {
    fn zeros(n: usize) -> Self {
        Self {
            by_known: vec![0.0; n],
            below_width: vec![0.0; n],
            width: vec![0.0; n],
            below_height: vec![0.0; n],
            height: vec![0.0; n],
            left_slope: vec![0.0; n],
            right_slope: vec![0.0; n],
        }
    }
}

/// A softmax of the column (`[K][n]`, [`softmax_columns`]), each value's sum of the entries
/// below its bin, and the scale `c` of `size_j = c·σ_j + const`.
struct Softmax<'a> {
    sigma: &'a [f64],
    below: &'a [f64],
    scale: f64,
}

impl Softmax<'_> {
    /// Into `out[i·n + r]` (`K` partials): the gradient with respect to raw softmax input `θ_i`
    /// of value `r` of a function whose gradient with respect to the sizes is `a[r]` below the
    /// bin, `b[r]` at it and 0 above (a bin's edge is the sum of the sizes below it):
    /// `c·σ_i·(g_i − Σ_j g_j σ_j)`. Partial by partial over contiguous values, so the loops
    /// vectorise (inlined into [`fill_partials`]'s dispatch, which compiles them for the CPU's
    /// widest SIMD).
    #[inline(always)]
    fn backward(
        &self,
        index: &[usize],
        inside: &[bool],
        (a, b): (&[f64], &[f64]),
        out: &mut [f64],
    ) {
        let n = index.len();
        let mean: Vec<f64> = (0..n)
            .map(|r| {
                let at = self.sigma[index[r] * n + r];
                a[r] * self.below[r] + b[r] * at
            })
            .collect();
        for (i, (out, sigma)) in out.chunks_mut(n).zip(self.sigma.chunks(n)).enumerate() {
            // Iterators, not indices: no bounds checks, so the loop vectorises.
            let per_value = sigma.iter().zip(index).zip(a.iter().zip(b));
            for (o, (((&s, &at), (&a, &b)), (&m, &inside))) in
                out.iter_mut().zip(per_value.zip(mean.iter().zip(inside)))
            {
                let g = if i < at {
                    a
                } else if i == at {
                    b
                } else {
                    0.0
                };
                *o = if inside {
                    self.scale * s * (g - m)
                } else {
                    0.0
                };
            }
        }
    }
}

/// One output's `3K` partials (`d[j·n + r]`, as [`ColumnPartials`] stores them) from its chain
/// coefficients: the known side, the `K` raw widths, the `K` raw heights, the `K − 1` raw slopes
/// (only the bin's two end slopes are non-zero).
fn fill_partials(
    chain: &Chain,
    (widths, heights): (&Softmax<'_>, &Softmax<'_>),
    index: &[usize],
    inside: &[bool],
    k: usize,
    d: &mut [f64],
) {
    let n = index.len();
    pulp::Arch::new().dispatch(
        #[inline(always)]
        || {
            d[..n].copy_from_slice(&chain.by_known);
            let (raw_widths, rest) = d[n..].split_at_mut(k * n);
            let (raw_heights, raw_slopes) = rest.split_at_mut(k * n);
            let width_grads = (&chain.below_width[..], &chain.width[..]);
            widths.backward(index, inside, width_grads, raw_widths);
            let height_grads = (&chain.below_height[..], &chain.height[..]);
            heights.backward(index, inside, height_grads, raw_heights);
            // Raw slope `j` is knot `j + 1`: the bin's left end when `j + 1 = index`, its right
            // end when `j = index`.
            for (j, out) in raw_slopes.chunks_mut(n).enumerate() {
                let ends = chain.left_slope.iter().zip(&chain.right_slope);
                for (o, (&at, (&left, &right))) in out.iter_mut().zip(index.iter().zip(ends)) {
                    *o = if j == at {
                        right
                    } else if j + 1 == at {
                        left
                    } else {
                        0.0
                    };
                }
            }
        },
    );
}

/// The forward partials turned into the inverse map's, in place (the implicit function
/// theorem, as [`invert_partials`](crate::invert_partials)), partial by partial over the column.
fn invert_column_partials(out: &mut ColumnPartials) {
    let n = out.n;
    let (du_dy, dl_du): (Vec<f64>, Vec<f64>) =
        (0..n).map(|r| (1.0 / out.d_value[r], out.d_log[r])).unzip();
    pulp::Arch::new().dispatch(
        #[inline(always)]
        || {
            let (value_known, value_raw) = out.d_value.split_at_mut(n);
            let (log_known, log_raw) = out.d_log.split_at_mut(n);
            for (values, logs) in value_raw.chunks_mut(n).zip(log_raw.chunks_mut(n)) {
                let known = du_dy.iter().zip(&dl_du);
                for ((v, l), (&du_dy, &dl_du)) in values.iter_mut().zip(logs.iter_mut()).zip(known)
                {
                    let du_dp = -*v * du_dy;
                    *v = du_dp;
                    *l = -(*l + dl_du * du_dp);
                }
            }
            let known = du_dy.iter().zip(&dl_du);
            for ((v, l), (&du_dy, &dl_du)) in value_known.iter_mut().zip(log_known).zip(known) {
                *v = du_dy;
                *l = -dl_du * du_dy;
            }
        },
    );
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};

    use super::*;
    use crate::transformer::ScalarTransformer;

    /// The column partials against central differences of the value-by-value map (`forward_one`
    /// / `inverse_one`), in both directions, inside the bound, next to its ends and outside, for
    /// two spline shapes. Tolerance 1e-4 relative: with steps of 1e-6 the differences themselves
    /// are off by up to 1.3e-5 where the log-derivative is steep (a partial of −3161 here).
    #[test]
    fn column_partials_match_central_differences_of_the_map() {
        let mut rng = StdRng::seed_from_u64(11);
        for spline in [SplineTransformer::default(), SplineTransformer::new(3, 2.0)] {
            let (k, bound) = (spline.bins, spline.bound);
            let n = 200;
            let params: Vec<Vec<f64>> = (0..3 * k - 1)
                .map(|_| (0..n).map(|_| rng.random_range(-2.0..2.0)).collect())
                .collect();
            let columns: Vec<&[f64]> = params.iter().map(Vec::as_slice).collect();
            let mut known: Vec<f64> = (0..n)
                .map(|_| rng.random_range(-1.2 * bound..1.2 * bound))
                .collect();
            known[..2].copy_from_slice(&[-bound + 1e-3, bound - 1e-3]);
            for inverse in [false, true] {
                let map = |v: f64, theta: &[f64]| {
                    if inverse {
                        spline.inverse_one(v, theta)
                    } else {
                        spline.forward_one(v, theta)
                    }
                };
                let mut out = ColumnPartials::default();
                if inverse {
                    spline.inverse_partials_many(&known, &columns, &mut out);
                } else {
                    spline.forward_partials_many(&known, &columns, &mut out);
                }
                for r in 0..n {
                    let mut theta: Vec<f64> = params.iter().map(|p| p[r]).collect();
                    let (value, log) = map(known[r], &theta);
                    let close = |a: f64, b: f64, tol: f64| (a - b).abs() <= tol * (1.0 + b.abs());
                    assert!(close(out.mapped[r], value, 1e-12), "row {r}");
                    assert!(close(out.log_derivative[r], log, 1e-12), "row {r}");
                    let eps = 1e-6;
                    let (plus, minus) = (map(known[r] + eps, &theta), map(known[r] - eps, &theta));
                    let numeric = [
                        (plus.0 - minus.0) / (2.0 * eps),
                        (plus.1 - minus.1) / (2.0 * eps),
                    ];
                    let at = |d: &[f64], j: usize| d[j * n + r];
                    assert!(close(at(&out.d_value, 0), numeric[0], 1e-4), "row {r} ∂/∂v");
                    assert!(close(at(&out.d_log, 0), numeric[1], 1e-4), "row {r} ∂ℓ/∂v");
                    for p in 0..3 * k - 1 {
                        let saved = theta[p];
                        theta[p] = saved + eps;
                        let plus = map(known[r], &theta);
                        theta[p] = saved - eps;
                        let minus = map(known[r], &theta);
                        theta[p] = saved;
                        let numeric_value = (plus.0 - minus.0) / (2.0 * eps);
                        let numeric_log = (plus.1 - minus.1) / (2.0 * eps);
                        assert!(
                            close(at(&out.d_value, 1 + p), numeric_value, 1e-4),
                            "row {r} parameter {p}: {} against {numeric_value}",
                            at(&out.d_value, 1 + p)
                        );
                        assert!(
                            close(at(&out.d_log, 1 + p), numeric_log, 1e-4),
                            "row {r} parameter {p} (log): {} against {numeric_log}",
                            at(&out.d_log, 1 + p)
                        );
                    }
                }
            }
        }
    }
}
