//! The bijector test harness (design.md §4), for nflow's own tests and for anyone writing a
//! bijector. Enabled by the `testing` cargo feature.
//!
//! [`check_bijector`] runs every check on one bijector at a batch of points and returns a
//! [`HarnessReport`] listing what failed; [`assert_bijector`] panics with that report. The
//! checks:
//!
//! 1. round trips: `inverse(forward(z)) ≈ z` and `forward(inverse(x)) ≈ x`;
//! 2. each direction's ladj ≈ `log|det J|` of a finite-difference Jacobian;
//! 3. `ladj_inverse(forward(z)) ≈ −ladj_forward(z)`;
//! 4. the value-only helpers agree with the paired calls.
//!
//! Autoregressive structure (check 5) is [`crate::jacobian::structure_violations`], which the
//! MADE crate wraps in its own checker. Run the harness on an `f64` device (see
//! [`configure_f64`]) for tight tolerances.

use std::fmt;

use burn::tensor::{Device, FloatDType, Tensor};

use crate::bijector::Bijector;
use crate::jacobian::{Matrix, log_abs_det, numerical_jacobian};

/// Makes the float type of every tensor on `device`'s backend `f64`. Must run before any tensor
/// touches the device; a second call in the same process (already configured) is ignored.
pub fn configure_f64(device: &Device) {
    let mut device = device.clone();
    let _ = device.configure(FloatDType::F64);
}

/// Tolerances for [`check_bijector`].
#[derive(Debug, Clone, Copy)]
pub struct HarnessConfig {
    /// Allowed error, relative to `1 + |expected|`, for round trips, ladj comparisons and helpers.
    pub tolerance: f64,
    /// Finite-difference step for the numerical Jacobian.
    pub step: f64,
}

impl HarnessConfig {
    /// Tolerances suited to `f64` devices: `1e-6` with step `1e-5`.
    pub fn f64() -> Self {
        Self {
            tolerance: 1e-6,
            step: 1e-5,
        }
    }

    /// Looser tolerances for `f32` devices: `2e-3` with step `1e-2`.
    pub fn f32() -> Self {
        Self {
            tolerance: 2e-3,
            step: 1e-2,
        }
    }
}

/// Which check failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// `inverse(forward(z)) ≠ z`.
    RoundTripFromBase,
    /// `forward(inverse(x)) ≠ x`.
    RoundTripFromData,
    /// `forward`'s ladj disagrees with the numerical Jacobian.
    ForwardLadj,
    /// `inverse`'s ladj disagrees with the numerical Jacobian.
    InverseLadj,
    /// `inverse`'s ladj is not the negative of `forward`'s at corresponding points.
    LadjNotNegated,
    /// `forward_value` disagrees with `forward`.
    ForwardValueHelper,
    /// `inverse_value` disagrees with `inverse`.
    InverseValueHelper,
    /// An output had the wrong shape.
    Shape,
}

/// One failed check: where, and by how much.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// The check.
    pub check: Check,
    /// Batch row of the worst discrepancy.
    pub row: usize,
    /// What was expected there.
    pub expected: f64,
    /// What the bijector gave.
    pub got: f64,
}

/// The outcome of [`check_bijector`]: every failed check (empty when all passed).
#[derive(Debug, Clone, Default)]
pub struct HarnessReport {
    /// Failed checks, at most one per [`Check`] (its worst row).
    pub failures: Vec<Failure>,
}

impl HarnessReport {
    /// True when every check passed.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }

    /// True when `check` is among the failures.
    pub fn failed(&self, check: Check) -> bool {
        self.failures.iter().any(|f| f.check == check)
    }
}

impl fmt::Display for HarnessReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.passed() {
            return write!(f, "all bijector checks passed");
        }
        for failure in &self.failures {
            writeln!(
                f,
                "{:?} failed at row {}: expected {}, got {}",
                failure.check, failure.row, failure.expected, failure.got
            )?;
        }
        Ok(())
    }
}

/// Compares `got` with `expected` entry by entry (flattened, `width` entries per row) and records
/// the worst discrepancy beyond tolerance.
fn compare(
    report: &mut HarnessReport,
    check: Check,
    expected: &[f64],
    got: &[f64],
    width: usize,
    tolerance: f64,
) {
    if expected.len() != got.len() {
        report.failures.push(Failure {
            check: Check::Shape,
            row: 0,
            expected: expected.len() as f64,
            got: got.len() as f64,
        });
        return;
    }
    let worst = expected
        .iter()
        .zip(got)
        .enumerate()
        .map(|(i, (e, g))| (i, *e, *g, (e - g).abs() / (1.0 + e.abs())))
        .filter(|(_, _, _, err)| err.is_nan() || *err > tolerance)
        .max_by(|a, b| a.3.total_cmp(&b.3));
    if let Some((index, e, g, _)) = worst {
        report.failures.push(Failure {
            check,
            row: index / width.max(1),
            expected: e,
            got: g,
        });
    }
}

fn values<const D: usize>(t: &Tensor<D>) -> Vec<f64> {
    t.to_data().iter::<f64>().collect()
}

/// Runs checks 1-4 of the harness on `bijector` at the rows of `points` (used both as base points
/// `z` and as data points `x`), with an optional context.
pub fn check_bijector<B: Bijector>(
    bijector: &B,
    points: &Tensor<2>,
    context: Option<&Tensor<2>>,
    config: &HarnessConfig,
) -> HarnessReport {
    let mut report = HarnessReport::default();
    let tol = config.tolerance;
    let [batch, d] = points.dims();
    let z = points.clone();

    // 1. round trips.
    let (x_of_z, ladj_fwd) = bijector.forward(z.clone(), context);
    if x_of_z.dims() != [batch, d] || ladj_fwd.dims() != [batch] {
        report.failures.push(Failure {
            check: Check::Shape,
            row: 0,
            expected: (batch * d) as f64,
            got: x_of_z.dims().iter().product::<usize>() as f64,
        });
        return report;
    }
    let (z_back, ladj_inv_at_x) = bijector.inverse(x_of_z.clone(), context);
    compare(
        &mut report,
        Check::RoundTripFromBase,
        &values(&z),
        &values(&z_back),
        d,
        tol,
    );
    let (z_of_x, ladj_inv) = bijector.inverse(points.clone(), context);
    let x_back = bijector.forward_value(z_of_x.clone(), context);
    compare(
        &mut report,
        Check::RoundTripFromData,
        &values(points),
        &values(&x_back),
        d,
        tol,
    );

    // 2. log-determinants against the numerical Jacobian.
    let numeric = |f: &dyn Fn(Tensor<2>) -> Tensor<2>, at: &Tensor<2>| -> Vec<f64> {
        numerical_jacobian(f, at, config.step)
            .iter()
            .map(log_abs_det)
            .collect()
    };
    let fwd_numeric = numeric(&|t| bijector.forward(t, context).0, &z);
    compare(
        &mut report,
        Check::ForwardLadj,
        &fwd_numeric,
        &values(&ladj_fwd),
        1,
        tol * 10.0,
    );
    let inv_numeric = numeric(&|t| bijector.inverse(t, context).0, points);
    compare(
        &mut report,
        Check::InverseLadj,
        &inv_numeric,
        &values(&ladj_inv),
        1,
        tol * 10.0,
    );

    // 3. inverse ladj at x = f(z) is minus the forward ladj at z.
    let negated: Vec<f64> = values(&ladj_fwd).iter().map(|v| -v).collect();
    compare(
        &mut report,
        Check::LadjNotNegated,
        &negated,
        &values(&ladj_inv_at_x),
        1,
        tol,
    );

    // 4. value-only helpers.
    let fwd_value = bijector.forward_value(z.clone(), context);
    compare(
        &mut report,
        Check::ForwardValueHelper,
        &values(&x_of_z),
        &values(&fwd_value),
        d,
        tol,
    );
    let inv_value = bijector.inverse_value(points.clone(), context);
    compare(
        &mut report,
        Check::InverseValueHelper,
        &values(&z_of_x),
        &values(&inv_value),
        d,
        tol,
    );

    report
}

/// Runs [`check_bijector`] and panics with the report when any check fails.
///
/// # Panics
/// When a check fails; the message lists every failure.
pub fn assert_bijector<B: Bijector>(
    bijector: &B,
    points: &Tensor<2>,
    context: Option<&Tensor<2>>,
    config: &HarnessConfig,
) {
    let report = check_bijector(bijector, points, context, config);
    assert!(report.passed(), "bijector harness failed:\n{report}");
}

/// The numerical Jacobian of `bijector.forward` at each row of `z` (a convenience over
/// [`numerical_jacobian`] for structure checks).
pub fn forward_jacobian<B: Bijector>(
    bijector: &B,
    z: &Tensor<2>,
    context: Option<&Tensor<2>>,
    step: f64,
) -> Vec<Matrix> {
    numerical_jacobian(|t| bijector.forward(t, context).0, z, step)
}

/// The numerical Jacobian of `bijector.inverse` at each row of `x`.
pub fn inverse_jacobian<B: Bijector>(
    bijector: &B,
    x: &Tensor<2>,
    context: Option<&Tensor<2>>,
    step: f64,
) -> Vec<Matrix> {
    numerical_jacobian(|t| bijector.inverse(t, context).0, x, step)
}

/// The paths (e.g. `transform.layers.0.shift`) of the trainable float parameters of `module` that
/// received no gradient, or an all-zero one, in `grads`. Empty when every parameter is trained.
/// Tensors that do not require gradients (running statistics, frozen parameters) are skipped, so
/// call it on a module that lives on an autodiff device.
pub fn params_without_gradient<M: burn::module::Module>(
    module: &M,
    grads: &burn::tensor::Gradients,
) -> Vec<String> {
    let grads = crate::named_params::named_grads(module, grads);
    crate::named_params::param_layouts(module)
        .into_iter()
        // Not trainable: running statistics, frozen parameters.
        .filter(|(_, layout)| layout.trainable)
        .filter(|(path, _)| {
            !grads
                .get(path)
                .is_some_and(|g| g.values.iter().any(|&v| v != 0.0))
        })
        .map(|(path, _)| path)
        .collect()
}
