//! [`ToyDataset`]: FFJORD's 2-D toy densities, and their reference log-densities.
//!
//! Each generator draws the i.i.d. form of the distribution specified in the docstrings of
//! `../shared/peer/toy_quality.py` (same distributions as the zuko baseline; moons and rings draw
//! their angles i.i.d. instead of on a stratified grid, as those notes allow).

use std::f64::consts::PI;

use rand::rngs::StdRng;
use rand::{Rng, RngExt, SeedableRng};
use rand_distr::StandardNormal;
use serde::Serialize;

use crate::dataset::Dataset;
use crate::trainer::mean_and_two_standard_errors;

/// A 2-D toy density.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ToyDataset {
    /// Eight Gaussians on a circle of radius ≈ 2.83.
    EightGaussians,
    /// Two interleaved half circles with Gaussian noise.
    Moons,
    /// Uniform on the black squares of a 4 × 4 board of 2 × 2 squares.
    Checkerboard,
    /// Five curved arms.
    Pinwheel,
    /// Four noisy concentric rings.
    Rings,
    /// Two interleaved spirals.
    TwoSpirals,
}

/// How a reference log-density is obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ReferenceKind {
    /// Closed form.
    Exact,
    /// Closed form up to a special-function approximation (relative error < 1e-6).
    ExactUpToSpecialFunction,
    /// A 1-D integral of the generative process, by composite Simpson quadrature.
    Quadrature,
    /// Change of variables summed over all preimages found by bracketing and bisection.
    RootFinding,
}

/// The mean reference log-density over a set of points.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Reference {
    /// Mean of `log p(x)` over the points (nats).
    pub mean_log_density: f64,
    /// Two standard errors of that mean over the points.
    pub two_standard_errors: f64,
    /// How `log p` was computed.
    pub kind: ReferenceKind,
}

const SQRT_HALF: f64 = std::f64::consts::FRAC_1_SQRT_2;
const GAUSS8_CENTERS: [(f64, f64); 8] = [
    (1.0, 0.0),
    (-1.0, 0.0),
    (0.0, 1.0),
    (0.0, -1.0),
    (SQRT_HALF, SQRT_HALF),
    (SQRT_HALF, -SQRT_HALF),
    (-SQRT_HALF, SQRT_HALF),
    (-SQRT_HALF, -SQRT_HALF),
];
const RING_RADII: [f64; 4] = [3.0, 2.25, 1.5, 0.75];
const RING_STD: f64 = 0.08;
const LN_2PI: f64 = 1.837_877_066_409_345_5;

fn normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    rng.sample(StandardNormal)
}

impl ToyDataset {
    /// Every toy, in the order of the zuko baseline.
    pub const ALL: [ToyDataset; 6] = [
        ToyDataset::EightGaussians,
        ToyDataset::Moons,
        ToyDataset::Checkerboard,
        ToyDataset::Pinwheel,
        ToyDataset::Rings,
        ToyDataset::TwoSpirals,
    ];

    /// The baseline's name (`8gaussians`, `moons`, `checkerboard`, `pinwheel`, `rings`,
    /// `2spirals`).
    pub fn name(&self) -> &'static str {
        match self {
            ToyDataset::EightGaussians => "8gaussians",
            ToyDataset::Moons => "moons",
            ToyDataset::Checkerboard => "checkerboard",
            ToyDataset::Pinwheel => "pinwheel",
            ToyDataset::Rings => "rings",
            ToyDataset::TwoSpirals => "2spirals",
        }
    }

    /// The toy with this name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The plotting window `(x_min, x_max, y_min, y_max)` of the baseline.
    pub fn bounds(&self) -> (f64, f64, f64, f64) {
        match self {
            ToyDataset::EightGaussians => (-4.0, 4.0, -4.0, 4.0),
            ToyDataset::Moons => (-3.5, 3.5, -2.5, 3.0),
            ToyDataset::Checkerboard | ToyDataset::Pinwheel => (-4.5, 4.5, -4.5, 4.5),
            ToyDataset::Rings => (-3.6, 3.6, -3.6, 3.6),
            ToyDataset::TwoSpirals => (-4.0, 4.0, -4.0, 4.0),
        }
    }

    /// One point.
    pub fn draw<R: Rng + ?Sized>(&self, rng: &mut R) -> [f64; 2] {
        match self {
            ToyDataset::EightGaussians => {
                let (cx, cy) = GAUSS8_CENTERS[rng.random_range(0..8)];
                [
                    (4.0 * cx + 0.5 * normal(rng)) / 1.414,
                    (4.0 * cy + 0.5 * normal(rng)) / 1.414,
                ]
            }
            ToyDataset::Moons => {
                let t = rng.random_range(0.0..PI);
                let (mx, my) = if rng.random_bool(0.5) {
                    (2.0 * t.cos() - 1.0, 2.0 * t.sin() - 0.2)
                } else {
                    (1.0 - 2.0 * t.cos(), 0.8 - 2.0 * t.sin())
                };
                [mx + 0.2 * normal(rng), my + 0.2 * normal(rng)]
            }
            ToyDataset::Checkerboard => {
                let u1: f64 = rng.random_range(-2.0..2.0);
                let b = if rng.random_bool(0.5) { 2.0 } else { 0.0 };
                let u2 = rng.random_range(0.0..1.0) - b + u1.floor().rem_euclid(2.0);
                [2.0 * u1, 2.0 * u2]
            }
            ToyDataset::Pinwheel => {
                let k = rng.random_range(0..5) as f64;
                let f0 = 1.0 + 0.3 * normal(rng);
                let f1 = 0.1 * normal(rng);
                let a = 2.0 * PI * k / 5.0 + 0.25 * f0.exp();
                [
                    2.0 * (f0 * a.cos() + f1 * a.sin()),
                    2.0 * (-f0 * a.sin() + f1 * a.cos()),
                ]
            }
            ToyDataset::Rings => {
                let r = RING_RADII[rng.random_range(0..4)];
                let theta = rng.random_range(0.0..2.0 * PI);
                [
                    r * theta.cos() + RING_STD * normal(rng),
                    r * theta.sin() + RING_STD * normal(rng),
                ]
            }
            ToyDataset::TwoSpirals => {
                let sign = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
                let s = rng.random_range(0.0..1.0f64).sqrt() * 3.0 * PI;
                let dx = -s.cos() * s + 0.5 * rng.random_range(0.0..1.0);
                let dy = s.sin() * s + 0.5 * rng.random_range(0.0..1.0);
                [
                    sign * dx / 3.0 + 0.1 * normal(rng),
                    sign * dy / 3.0 + 0.1 * normal(rng),
                ]
            }
        }
    }

    /// `n` points drawn with `seed`, as a dataset.
    ///
    /// # Errors
    /// [`NflowError::ShapeMismatch`](nflow_core::NflowError::ShapeMismatch) for `n == 0` (a
    /// dataset has at least one row).
    pub fn sample(&self, n: usize, seed: u64) -> nflow_core::Result<Dataset> {
        if n == 0 {
            return Err(nflow_core::NflowError::shape_mismatch(
                format!("{} sample", self.name()),
                "at least 1 row",
                "0 rows",
            ));
        }
        let mut rng = StdRng::seed_from_u64(seed);
        let values: Vec<f32> = (0..n)
            .flat_map(|_| self.draw(&mut rng))
            .map(|v| v as f32)
            .collect();
        Dataset::from_flat(values, 2)
    }

    /// How [`ToyDataset::log_density`] is computed.
    pub fn reference_kind(&self) -> ReferenceKind {
        match self {
            ToyDataset::EightGaussians | ToyDataset::Checkerboard => ReferenceKind::Exact,
            ToyDataset::Rings => ReferenceKind::ExactUpToSpecialFunction,
            ToyDataset::Moons | ToyDataset::TwoSpirals => ReferenceKind::Quadrature,
            ToyDataset::Pinwheel => ReferenceKind::RootFinding,
        }
    }

    /// The true log-density at `x` (nats), `-inf` off the support.
    pub fn log_density(&self, x: [f64; 2]) -> f64 {
        match self {
            ToyDataset::EightGaussians => log_density_8gaussians(x),
            ToyDataset::Moons => log_density_moons(x),
            ToyDataset::Checkerboard => log_density_checkerboard(x),
            ToyDataset::Pinwheel => log_density_pinwheel(x),
            ToyDataset::Rings => log_density_rings(x),
            ToyDataset::TwoSpirals => log_density_2spirals(x),
        }
    }

    /// The true log-density of every row of `points` (two columns).
    pub fn log_densities(&self, points: &Dataset) -> Vec<f64> {
        (0..points.rows())
            .map(|i| {
                let r = points.row(i);
                self.log_density([r[0] as f64, r[1] as f64])
            })
            .collect()
    }

    /// The mean true log-density over the rows of `points` (two columns) with two standard
    /// errors.
    pub fn reference(&self, points: &Dataset) -> Reference {
        self.reference_from(&self.log_densities(points))
    }

    /// The [`Reference`] summarising log-densities already computed by
    /// [`ToyDataset::log_densities`].
    pub fn reference_from(&self, log_densities: &[f64]) -> Reference {
        let (mean, two_se) = mean_and_two_standard_errors(log_densities);
        Reference {
            mean_log_density: mean,
            two_standard_errors: two_se,
            kind: self.reference_kind(),
        }
    }
}

fn log_sum_exp(values: impl Iterator<Item = f64>) -> f64 {
    let values: Vec<f64> = values.collect();
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if max == f64::NEG_INFINITY {
        return max;
    }
    max + values.iter().map(|v| (v - max).exp()).sum::<f64>().ln()
}

fn log_density_8gaussians([x, y]: [f64; 2]) -> f64 {
    let s = 0.5 / 1.414;
    log_sum_exp(GAUSS8_CENTERS.iter().map(|&(cx, cy)| {
        let (dx, dy) = (x - 4.0 * cx / 1.414, y - 4.0 * cy / 1.414);
        -0.5 * (dx * dx + dy * dy) / (s * s) - LN_2PI - 2.0 * s.ln()
    })) - 8f64.ln()
}

fn log_density_checkerboard([x, y]: [f64; 2]) -> f64 {
    let inside = x.abs() <= 4.0
        && y.abs() <= 4.0
        && ((x / 2.0).floor() + (y / 2.0).floor()).rem_euclid(2.0) == 0.0;
    if inside {
        -(32f64.ln())
    } else {
        f64::NEG_INFINITY
    }
}

/// `ln(e^{−z} I₀(z))` for `z ≥ 0` (Abramowitz & Stegun 9.8.1-9.8.2, relative error < 2e-7).
fn log_i0e(z: f64) -> f64 {
    if z <= 3.75 {
        let t = (z / 3.75).powi(2);
        let i0 = 1.0
            + t * (3.515_622_9
                + t * (3.089_942_4
                    + t * (1.206_749_2 + t * (0.265_973_2 + t * (0.036_076_8 + t * 0.004_581_3)))));
        i0.ln() - z
    } else {
        let t = 3.75 / z;
        let poly = 0.398_942_28
            + t * (0.013_285_92
                + t * (0.002_253_19
                    + t * (-0.001_575_65
                        + t * (0.009_162_81
                            + t * (-0.020_577_06
                                + t * (0.026_355_37 + t * (-0.016_476_33 + t * 0.003_923_77)))))));
        poly.ln() - 0.5 * z.ln()
    }
}

fn log_density_rings([x, y]: [f64; 2]) -> f64 {
    let rho = (x * x + y * y).sqrt();
    let s2 = RING_STD * RING_STD;
    log_sum_exp(
        RING_RADII
            .iter()
            .map(|&r| -0.5 * (rho - r).powi(2) / s2 + log_i0e(rho * r / s2) - (2.0 * PI * s2).ln()),
    ) - 4f64.ln()
}

/// Composite Simpson weights and nodes on `[a, b]` with `intervals` (even) intervals.
fn simpson(a: f64, b: f64, intervals: usize) -> impl Iterator<Item = (f64, f64)> {
    let h = (b - a) / intervals as f64;
    (0..=intervals).map(move |i| {
        let w = if i == 0 || i == intervals {
            1.0
        } else if i % 2 == 1 {
            4.0
        } else {
            2.0
        };
        (a + h * i as f64, w * h / 3.0)
    })
}

fn log_density_moons([x, y]: [f64; 2]) -> f64 {
    // p = ½ Σ_arc (1/π) ∫_0^π N(x; m(t), 0.2² I) dt; 1200 intervals: 0.0026 rad against a
    // noise-scale of 0.1 rad.
    let s2 = 0.04;
    let mut total = 0.0;
    for (t, w) in simpson(0.0, PI, 1200) {
        let (c, s) = (t.cos(), t.sin());
        for (mx, my) in [
            (2.0 * c - 1.0, 2.0 * s - 0.2),
            (1.0 - 2.0 * c, 0.8 - 2.0 * s),
        ] {
            let d2 = (x - mx).powi(2) + (y - my).powi(2);
            total += w * (-0.5 * d2 / s2).exp() / (2.0 * PI * s2);
        }
    }
    (0.5 * total / PI).ln()
}

/// Standard normal CDF.
fn phi(z: f64) -> f64 {
    0.5 * libm::erfc(-z * SQRT_HALF)
}

fn log_density_2spirals(x: [f64; 2]) -> f64 {
    // p = ½ [p1(x) + p1(−x)],  p1(x) = ∫_0^{3π} (2s/(3π)²) q(x0 − g0(s)) q(x1 − g1(s)) ds,
    // g(s) = (−s cos s, s sin s)/3, q = density of U[0, 1/6) + N(0, 0.1²).
    let smax = 3.0 * PI;
    let width = 0.5 / 3.0;
    let q = |w: f64| (phi(w / 0.1) - phi((w - width) / 0.1)).max(0.0) / width;
    let mut total = 0.0;
    for sign in [1.0, -1.0] {
        let (px, py) = (sign * x[0], sign * x[1]);
        for (s, w) in simpson(0.0, smax, 12_000) {
            let (gx, gy) = (-s * s.cos() / 3.0, s * s.sin() / 3.0);
            // Nodes whose jitter box is more than 1.0 away contribute < e^{-40}.
            if (px - gx - width / 2.0).powi(2) + (py - gy - width / 2.0).powi(2) > 1.0 {
                continue;
            }
            total += w * 2.0 * s / (smax * smax) * q(px - gx) * q(py - gy);
        }
    }
    (0.5 * total).ln()
}

fn log_density_pinwheel([x, y]: [f64; 2]) -> f64 {
    // y = 2 R(−a) f, a = r_k + 0.25 e^{f0}: preimages have |f| = ρ = |y|/2 and angle φ + a, so
    // f0 solves g(f0) = f0 − ρ cos(φ + a(f0)) = 0; |det ∂y/∂f| = 4 |1 + 0.25 e^{f0} f1|.
    let rho = (x * x + y * y).sqrt() / 2.0;
    let phi_angle = y.atan2(x);
    let (sr, st) = (0.3, 0.1);
    let lo = (-rho).max(1.0 - 10.0 * sr);
    let hi = rho.min(1.0 + 10.0 * sr);
    if hi <= lo {
        return f64::NEG_INFINITY;
    }
    let grid = 768;
    let mut density = 0.0;
    for k in 0..5 {
        let base = phi_angle + 2.0 * PI * k as f64 / 5.0;
        let g = |u: f64| u - rho * (base + 0.25 * u.exp()).cos();
        let mut prev_u = lo;
        let mut prev_g = g(lo);
        for i in 1..grid {
            let u = lo + (hi - lo) * i as f64 / (grid - 1) as f64;
            let gu = g(u);
            if prev_g.is_sign_negative() != gu.is_sign_negative() {
                let (mut a, mut b, mut ga) = (prev_u, u, prev_g);
                for _ in 0..50 {
                    let mid = 0.5 * (a + b);
                    let gm = g(mid);
                    if gm.is_sign_negative() == ga.is_sign_negative() {
                        (a, ga) = (mid, gm);
                    } else {
                        b = mid;
                    }
                }
                let f0 = 0.5 * (a + b);
                let f1 = rho * (base + 0.25 * f0.exp()).sin();
                let jac = 4.0 * (1.0 + 0.25 * f0.exp() * f1).abs();
                density += (-0.5 * ((f0 - 1.0) / sr).powi(2) - 0.5 * (f1 / st).powi(2)).exp()
                    / (2.0 * PI * sr * st)
                    / jac;
            }
            (prev_u, prev_g) = (u, gu);
        }
    }
    (density / 5.0).ln()
}
