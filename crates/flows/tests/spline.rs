//! The rational-quadratic spline transformer on its own, in f64: round trips to 1e-8 inside and
//! outside `[−B, B]`, at the knots and at the tails' boundaries; log-derivatives against central
//! differences; monotonicity; finite gradients at the knots; the identity at zero parameters;
//! typed errors for bad settings. (Its layers and flows run through the registry harness in
//! `tests/registry.rs`.)

mod common;

use burn::tensor::{Device, Tensor, TensorData};
use common::{device, values};
use nflow_core::{FlowConfigError, NflowError};
use nflow_flows::{ElementwiseTransformer, MafConfig, SplineTransformer};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

const N: usize = 7;

/// Raw parameters, `3K − 1` tensors `[n, N]`: random (scale 2) when `widths_random`, else the
/// width parameters are zero so the x-knots sit at `−B + 2Bk/K` exactly.
fn params(
    spline: &SplineTransformer,
    n: usize,
    seed: u64,
    widths_random: bool,
    device: &Device,
) -> Vec<Tensor<2>> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..spline.params_per_dim())
        .map(|p| {
            let v: Vec<f64> = (0..n * N)
                .map(|_| {
                    if p < spline.bins && !widths_random {
                        0.0
                    } else {
                        rng.random_range(-2.0..2.0)
                    }
                })
                .collect();
            Tensor::from_data(TensorData::new(v, [n, N]), device)
        })
        .collect()
}

fn column(v: Vec<f64>, device: &Device) -> Tensor<2> {
    let n = v.len();
    // Every column gets the same points; columns differ in their parameters.
    let data: Vec<f64> = v.iter().flat_map(|x| std::iter::repeat_n(*x, N)).collect();
    Tensor::from_data(TensorData::new(data, [n, N]), device)
}

fn max_abs_diff(a: Tensor<2>, b: Tensor<2>) -> f64 {
    values(a)
        .iter()
        .zip(values(b))
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// Points inside, at the knots of the equal-width layout, at ±B and just beside, and in the tails.
fn probe_points(spline: &SplineTransformer) -> Vec<f64> {
    let b = spline.bound;
    let mut v: Vec<f64> = (0..=spline.bins)
        .map(|k| -b + 2.0 * b * k as f64 / spline.bins as f64)
        .collect();
    v.extend([
        -b - 1e-9,
        b + 1e-9,
        -b + 1e-9,
        b - 1e-9,
        -7.5,
        9.0,
        -100.0,
        0.123,
        -2.71,
        4.99,
    ]);
    v
}

#[test]
fn round_trips_inside_outside_at_the_knots_and_at_the_boundaries() {
    let device = device();
    for spline in [
        SplineTransformer::default(),
        SplineTransformer::new(3, 2.0),
        SplineTransformer::new(1, 5.0),
    ] {
        let u = column(probe_points(&spline), &device);
        let n = u.dims()[0];
        for (seed, widths_random) in [(1, true), (2, false), (3, true)] {
            let p = params(&spline, n, seed, widths_random, &device);
            let (y, ld) = spline.forward(u.clone(), &p);
            let (back, ld_inverse) = spline.inverse(y.clone(), &p);
            assert!(
                max_abs_diff(back, u.clone()) < 1e-8,
                "{spline:?}: u → y → u"
            );
            assert!(
                max_abs_diff(ld.clone(), ld_inverse.neg()) < 1e-8,
                "{spline:?}: ladj"
            );
            let (again, _) = spline.forward(spline.inverse(u.clone(), &p).0, &p);
            assert!(
                max_abs_diff(again, u.clone()) < 1e-8,
                "{spline:?}: y → u → y"
            );
            // Outside [−B, B] the map is the identity with log-derivative 0.
            for (i, (&x, (&yv, &l))) in probe_points(&spline)
                .iter()
                .zip(
                    values(y.clone())
                        .iter()
                        .step_by(N)
                        .zip(values(ld.clone()).iter().step_by(N)),
                )
                .enumerate()
            {
                if x.abs() > spline.bound {
                    assert_eq!((yv, l), (x, 0.0), "point {i}");
                }
                // And continuous at the boundary: ±B maps to ±B.
                if x.abs() == spline.bound {
                    assert!((yv - x).abs() < 1e-12, "{x} ↦ {yv}");
                }
            }
        }
    }
}

#[test]
fn log_derivatives_match_central_differences_and_the_map_is_monotone() {
    let device = device();
    let spline = SplineTransformer::default();
    let points: Vec<f64> = (0..400)
        .map(|i| -6.0 + 12.0 * (i as f64 + 0.37) / 400.0)
        .collect();
    let u = column(points.clone(), &device);
    // One parameter set per column, shared by its rows, so each column is one monotone map.
    let p: Vec<Tensor<2>> = params(&spline, 1, 5, true, &device)
        .into_iter()
        .map(|t| t.repeat_dim(0, points.len()))
        .collect();
    let h = 1e-6;
    let (y, ld) = spline.forward(u.clone(), &p);
    let (plus, _) = spline.forward(u.clone().add_scalar(h), &p);
    let (minus, _) = spline.forward(u.clone().sub_scalar(h), &p);
    let numeric = values((plus - minus).div_scalar(2.0 * h));
    for (i, (n, l)) in numeric.iter().zip(values(ld)).enumerate() {
        assert!(
            (n.ln() - l).abs() < 1e-5,
            "element {i}: numeric {} vs {}",
            n.ln(),
            l
        );
    }
    // Strictly increasing along every column.
    let y = values(y);
    for row in 1..points.len() {
        for col in 0..N {
            assert!(
                y[row * N + col] > y[(row - 1) * N + col],
                "row {row}, column {col}"
            );
        }
    }
}

#[test]
fn gradients_are_finite_at_the_knots() {
    let device = device().autodiff();
    let spline = SplineTransformer::default();
    let knots: Vec<f64> = (0..=spline.bins)
        .map(|k| -5.0 + 10.0 * k as f64 / spline.bins as f64)
        .collect();
    let n = knots.len();
    let p: Vec<Tensor<2>> = params(&spline, n, 7, false, &device)
        .into_iter()
        .map(|t| t.require_grad())
        .collect();
    let u = column(knots.clone(), &device).require_grad();
    let (y, ld) = spline.forward(u.clone(), &p);
    let grads = (y.sum() + ld.sum()).backward();
    let mut checked = 0;
    for t in p.iter().chain(std::iter::once(&u)) {
        let g = values(t.grad(&grads).expect("a gradient"));
        assert!(g.iter().all(|v| v.is_finite()), "{g:?}");
        checked += 1;
    }
    assert_eq!(checked, spline.params_per_dim() + 1);
    // The inverse at the y-knots too.
    let (yk, _) = spline.forward(u.clone(), &p);
    let y_knots = yk.detach().require_grad();
    let (back, ld) = spline.inverse(y_knots.clone(), &p);
    let grads = (back.sum() + ld.sum()).backward();
    assert!(
        values(y_knots.grad(&grads).unwrap())
            .iter()
            .all(|v| v.is_finite())
    );
}

#[test]
fn zero_parameters_give_the_identity_and_bad_settings_are_typed_errors() {
    let device = device();
    let spline = SplineTransformer::default();
    let u = column(probe_points(&spline), &device);
    let zeros = vec![u.zeros_like(); spline.params_per_dim()];
    let (y, ld) = spline.forward(u.clone(), &zeros);
    assert!(max_abs_diff(y, u) < 1e-12);
    assert!(values(ld).iter().all(|l| l.abs() < 1e-12));

    for bad in [
        SplineTransformer::new(0, 5.0),
        SplineTransformer::new(8, 0.0),
        SplineTransformer::new(8, f64::INFINITY),
        SplineTransformer {
            min_bin_width: 0.2,
            ..SplineTransformer::default()
        },
        SplineTransformer {
            min_derivative: 1.0,
            ..SplineTransformer::default()
        },
    ] {
        match MafConfig::new(2)
            .with_transformer(bad.clone().into())
            .init(&device)
        {
            Err(NflowError::FlowConfig(FlowConfigError::BadTransformer { kind, .. })) => {
                assert_eq!(kind, "spline")
            }
            other => panic!("{bad:?}: expected BadTransformer, got {other:?}"),
        }
    }
    // Missing settings take their defaults.
    let spec: nflow_flows::TransformerSpec =
        serde_json::from_value(serde_json::json!({"kind": "spline", "bins": 4})).unwrap();
    assert_eq!(
        spec.get::<SplineTransformer>(),
        Some(&SplineTransformer::new(4, 5.0))
    );
}
