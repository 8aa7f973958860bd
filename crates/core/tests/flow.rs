//! `Flow` against closed forms, its normalisation, its errors, seeding, gradients and save/load.

mod common;

use burn::tensor::{Tensor, TensorData};
use common::{Sinh, TestLayer, f64_device, points};
use nflow_core::testing::params_without_gradient;
use nflow_core::{
    Chain, DiagNormal, Distribution, ElementwiseAffine, Flow, GaussianBaseKind, NflowError,
    StandardNormal, load_module, save_module,
};
use rand::SeedableRng;
use rand::rngs::StdRng;

fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.to_data().iter::<f64>().collect()
}

/// log N(x; m, s²) summed over features.
fn gaussian_log_density(x: &[f64], mean: &[f64], std: &[f64]) -> f64 {
    x.iter()
        .zip(mean)
        .zip(std)
        .map(|((x, m), s)| {
            let u = (x - m) / s;
            -0.5 * u * u - s.ln() - 0.5 * (2.0 * std::f64::consts::PI).ln()
        })
        .sum()
}

#[test]
fn affine_flow_matches_the_closed_form_gaussian() {
    let device = f64_device();
    // base N(μ, σ²), then x = a z + b  ⇒  x ~ N(a μ + b, (a σ)²).
    let (mu, log_sigma) = ([0.5, -1.0], [0.2f64, -0.3]);
    let (shift, log_a) = ([1.0, 2.0], [0.7f64, -1.1]);
    let base = DiagNormal::from_values(&mu, &log_sigma, &device).unwrap();
    let bij = ElementwiseAffine::from_values(&shift, &log_a, &device).unwrap();
    let flow = Flow::new(bij, base).unwrap();

    let x = points(64, 2, 11, &device).mul_scalar(3.0);
    let got = to_vec(flow.log_prob(x.clone(), None).unwrap());
    let mean: Vec<f64> = (0..2).map(|i| log_a[i].exp() * mu[i] + shift[i]).collect();
    let std: Vec<f64> = (0..2).map(|i| (log_a[i] + log_sigma[i]).exp()).collect();
    let xs = to_vec(x);
    for (row, lp) in got.iter().enumerate() {
        let expected = gaussian_log_density(&xs[2 * row..2 * row + 2], &mean, &std);
        assert!(
            (lp - expected).abs() < 1e-5,
            "row {row}: {lp} vs {expected}"
        );
    }
}

#[test]
fn one_dimensional_density_integrates_to_one() {
    let device = f64_device();
    let layers = vec![
        TestLayer::Affine(ElementwiseAffine::from_values(&[0.3], &[-0.4], &device).unwrap()),
        TestLayer::Sinh(Sinh { features: 1 }),
        TestLayer::Affine(ElementwiseAffine::from_values(&[-1.0], &[0.5], &device).unwrap()),
    ];
    let flow = Flow::new(
        Chain::new(layers).unwrap(),
        StandardNormal::new(1, &device).unwrap(),
    )
    .unwrap();
    // Trapezoid rule on [-40, 40]; the sinh tails are light enough that the rest is negligible.
    let (lo, hi, n) = (-40.0f64, 40.0f64, 200_001usize);
    let h = (hi - lo) / (n - 1) as f64;
    let grid: Vec<f64> = (0..n).map(|i| lo + h * i as f64).collect();
    let x = Tensor::<2>::from_data(TensorData::new(grid, [n, 1]), &device);
    let density: Vec<f64> = to_vec(flow.log_prob(x, None).unwrap())
        .iter()
        .map(|v| v.exp())
        .collect();
    let integral = h * (density.iter().sum::<f64>() - 0.5 * (density[0] + density[n - 1]));
    assert!((integral - 1.0).abs() < 1e-3, "integral {integral}");
}

#[test]
fn log_prob_rejects_wrong_width_nan_and_infinity() {
    let device = f64_device();
    let flow = Flow::new(
        ElementwiseAffine::from_values(&[0.0, 0.0], &[0.0, 0.0], &device).unwrap(),
        StandardNormal::new(2, &device).unwrap(),
    )
    .unwrap();
    match flow.log_prob(Tensor::zeros([4, 3], &device), None) {
        Err(NflowError::ShapeMismatch { expected, got, .. }) => {
            assert_eq!(expected, "[batch >= 1, 2]");
            assert_eq!(got, "[4, 3]");
        }
        other => panic!("expected ShapeMismatch, got {other:?}"),
    }
    let with_nan = Tensor::<2>::from_data(
        TensorData::new(vec![0.0f64, 1.0, 2.0, f64::NAN, 4.0, 5.0], [3, 2]),
        &device,
    );
    match flow.log_prob(with_nan, None) {
        Err(NflowError::NonFinite {
            row, column, value, ..
        }) => {
            assert_eq!((row, column), (1, 1));
            assert!(value.is_nan());
        }
        other => panic!("expected NonFinite, got {other:?}"),
    }
    let with_inf = Tensor::<2>::from_data(
        TensorData::new(vec![f64::NEG_INFINITY, 0.0], [1, 2]),
        &device,
    );
    assert!(matches!(
        flow.log_prob(with_inf, None),
        Err(NflowError::NonFinite {
            row: 0,
            column: 0,
            ..
        })
    ));
    assert!(matches!(
        flow.log_prob(Tensor::zeros([0, 2], &device), None),
        Err(NflowError::ShapeMismatch { .. })
    ));
    // An unconditional flow given a context.
    assert!(matches!(
        flow.log_prob(
            Tensor::zeros([4, 2], &device),
            Some(&Tensor::zeros([4, 1], &device))
        ),
        Err(NflowError::ShapeMismatch { .. })
    ));
    let mut rng = StdRng::seed_from_u64(0);
    assert!(matches!(
        flow.sample(0, None, &mut rng),
        Err(NflowError::ShapeMismatch { .. })
    ));
}

#[test]
fn constructors_reject_inconsistent_configs() {
    let device = f64_device();
    assert!(matches!(
        StandardNormal::new(0, &device),
        Err(NflowError::InvalidConfig(_))
    ));
    assert!(matches!(
        DiagNormal::from_values(&[0.0], &[0.0, 1.0], &device),
        Err(NflowError::InvalidConfig(_))
    ));
    assert!(matches!(
        ElementwiseAffine::from_values(&[f64::NAN], &[0.0], &device),
        Err(NflowError::InvalidConfig(_))
    ));
    let err = Flow::new(
        ElementwiseAffine::from_values(&[0.0, 0.0], &[0.0, 0.0], &device).unwrap(),
        StandardNormal::new(3, &device).unwrap(),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("2 features") && err.to_string().contains("3"),
        "{err}"
    );
}

#[test]
fn sampling_is_reproducible_from_a_seed_and_consistent_with_log_prob() {
    let device = f64_device();
    let flow = Flow::new(
        Chain::new(vec![
            TestLayer::Sinh(Sinh { features: 2 }),
            TestLayer::Affine(
                ElementwiseAffine::from_values(&[1.0, -1.0], &[0.3, -0.2], &device).unwrap(),
            ),
        ])
        .unwrap(),
        GaussianBaseKind::Diagonal.init(2, &device).unwrap(),
    )
    .unwrap();
    let a = to_vec(
        flow.sample(32, None, &mut StdRng::seed_from_u64(5))
            .unwrap(),
    );
    let b = to_vec(
        flow.sample(32, None, &mut StdRng::seed_from_u64(5))
            .unwrap(),
    );
    let c = to_vec(
        flow.sample(32, None, &mut StdRng::seed_from_u64(6))
            .unwrap(),
    );
    assert_eq!(a, b);
    assert_ne!(a, c);

    let (x, lp) = flow
        .sample_and_log_prob(32, None, &mut StdRng::seed_from_u64(5))
        .unwrap();
    assert_eq!(
        to_vec(x.clone()),
        a,
        "sample_and_log_prob draws the same samples as sample"
    );
    let direct = to_vec(flow.log_prob(x, None).unwrap());
    for (l, d) in to_vec(lp).iter().zip(&direct) {
        assert!((l - d).abs() < 1e-9, "{l} vs {d}");
    }
}

#[test]
fn every_parameter_gets_a_gradient() {
    let device = f64_device().autodiff();
    let flow = Flow::new(
        Chain::new(vec![
            ElementwiseAffine::from_values(&[0.1, 0.2], &[0.3, -0.1], &device).unwrap(),
            ElementwiseAffine::from_values(&[-0.5, 0.0], &[0.0, 0.4], &device).unwrap(),
        ])
        .unwrap(),
        DiagNormal::standard(2, &device).unwrap(),
    )
    .unwrap();
    let x = points(32, 2, 12, &device);
    let loss = flow.log_prob(x, None).unwrap().mean().neg();
    let grads = loss.backward();
    let missing = params_without_gradient(&flow, &grads);
    assert!(missing.is_empty(), "no gradient for {missing:?}");
}

#[test]
fn a_parameter_without_gradient_is_named() {
    let device = f64_device().autodiff();
    let layer = ElementwiseAffine::from_values(&[0.1, 0.2], &[0.3, -0.1], &device).unwrap();
    // x = z·e^{log_scale} + shift at z = 0: the log-scale gets an all-zero gradient.
    let z = Tensor::<2>::zeros([4, 2], &device);
    let grads = nflow_core::Bijector::forward_value(&layer, z, None)
        .sum()
        .backward();
    assert_eq!(params_without_gradient(&layer, &grads), ["log_scale"]);
}

#[test]
fn save_then_load_reproduces_log_prob_and_samples_exactly() {
    let device = f64_device();
    let make = |shift: f64| {
        Flow::new(
            Chain::new(vec![
                ElementwiseAffine::from_values(&[shift, 0.2], &[0.3, -0.1], &device).unwrap(),
                ElementwiseAffine::from_values(&[-0.5, shift], &[0.0, 0.4], &device).unwrap(),
            ])
            .unwrap(),
            DiagNormal::from_values(&[shift, 1.0], &[0.1, 0.2], &device).unwrap(),
        )
        .unwrap()
    };
    let saved = make(0.7);
    let dir = std::env::temp_dir().join(format!("nflow-core-save-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("flow.bpk");
    save_module(&saved, &path).unwrap();
    let loaded = load_module(make(-3.0), &path).unwrap();
    // Loading reads the file eagerly: the loaded flow no longer needs it.
    std::fs::remove_dir_all(&dir).unwrap();

    let x = points(16, 2, 13, &device);
    assert_eq!(
        to_vec(saved.log_prob(x.clone(), None).unwrap()),
        to_vec(loaded.log_prob(x, None).unwrap())
    );
    assert_eq!(
        to_vec(
            saved
                .sample(16, None, &mut StdRng::seed_from_u64(1))
                .unwrap()
        ),
        to_vec(
            loaded
                .sample(16, None, &mut StdRng::seed_from_u64(1))
                .unwrap()
        )
    );
}

#[test]
fn loading_bad_weight_files_gives_typed_errors() {
    let device = f64_device();
    let flow = |d: usize| {
        Flow::new(
            ElementwiseAffine::from_values(&vec![0.0; d], &vec![0.0; d], &device).unwrap(),
            DiagNormal::standard(d, &device).unwrap(),
        )
        .unwrap()
    };
    let dir = std::env::temp_dir().join(format!("nflow-core-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let missing = dir.join("missing.bpk");
    assert!(matches!(
        load_module(flow(2), &missing),
        Err(NflowError::Io { .. })
    ));
    let empty = dir.join("empty.bpk");
    std::fs::write(&empty, b"").unwrap();
    assert!(matches!(
        load_module(flow(2), &empty),
        Err(NflowError::Load { .. })
    ));
    let garbage = dir.join("garbage.bpk");
    std::fs::write(&garbage, b"this is not a burnpack file at all").unwrap();
    assert!(matches!(
        load_module(flow(2), &garbage),
        Err(NflowError::Load { .. })
    ));
    let three = dir.join("three.bpk");
    save_module(&flow(3), &three).unwrap();
    let err = load_module(flow(2), &three).unwrap_err();
    assert!(matches!(err, NflowError::Load { .. }), "{err}");
    // The atomic writer leaves no temporary files behind.
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.contains(".tmp-")), "{names:?}");
    std::fs::remove_dir_all(&dir).ok();
}

/// `x = 2z`, whose inverse must never run.
#[derive(burn::module::Module, Debug)]
struct ForwardOnly {
    features: usize,
}

impl nflow_core::Bijector for ForwardOnly {
    fn features(&self) -> usize {
        self.features
    }
    fn forward(&self, z: Tensor<2>, _: Option<&Tensor<2>>) -> (Tensor<2>, Tensor<1>) {
        let n = z.dims()[0];
        let device = z.device();
        (z.mul_scalar(2.0), Tensor::full([n], 2f64.ln(), &device))
    }
    fn inverse(&self, _: Tensor<2>, _: Option<&Tensor<2>>) -> (Tensor<2>, Tensor<1>) {
        panic!("sample_and_log_prob ran the inverse")
    }
}

#[test]
fn sample_and_log_prob_never_runs_the_inverse() {
    let device = f64_device();
    let flow = Flow::new(
        ForwardOnly { features: 1 },
        StandardNormal::new(1, &device).unwrap(),
    )
    .unwrap();
    let (x, lp) = flow
        .sample_and_log_prob(8, None, &mut StdRng::seed_from_u64(3))
        .unwrap();
    // x = 2z ~ N(0, 4): the closed form.
    for (xi, lp) in to_vec(x).iter().zip(&to_vec(lp)) {
        let closed = gaussian_log_density(&[*xi], &[0.0], &[2.0]);
        assert!((closed - lp).abs() < 1e-12, "{closed} vs {lp}");
    }
}
