//! The bijector harness over every bijector in nflow-core and small analytic ones, in f64; and
//! proof that it catches deliberately wrong bijectors.

mod common;

use burn::tensor::{Tensor, TensorData};
use common::{
    Broken, ContextShift, FixedPermutation, Mistake, Sinh, TestLayer, f64_device, points,
};
use nflow_core::testing::{Check, HarnessConfig, assert_bijector, check_bijector};
use nflow_core::{Chain, ElementwiseAffine, ElementwiseAffineConfig, Inverse};

fn affine(device: &burn::tensor::Device) -> ElementwiseAffine {
    ElementwiseAffine::from_values(&[0.3, -1.2, 2.0], &[0.7, -0.4, 0.1], device).unwrap()
}

#[test]
fn analytic_bijectors_pass() {
    let device = f64_device();
    let cfg = HarnessConfig::f64();
    let x = points(16, 3, 1, &device);
    assert_bijector(&affine(&device), &x, None, &cfg);
    assert_bijector(
        &ElementwiseAffineConfig::new(3).init(&device).unwrap(),
        &x,
        None,
        &cfg,
    );
    assert_bijector(&FixedPermutation::new(&[2, 0, 1], &device), &x, None, &cfg);
    assert_bijector(&Sinh { features: 3 }, &x, None, &cfg);
}

#[test]
fn chain_and_inverse_pass() {
    let device = f64_device();
    let cfg = HarnessConfig::f64();
    let x = points(16, 3, 2, &device);
    let chain = Chain::new(vec![
        TestLayer::Affine(affine(&device)),
        TestLayer::Sinh(Sinh { features: 3 }),
        TestLayer::Permutation(FixedPermutation::new(&[1, 2, 0], &device)),
        TestLayer::Affine(
            ElementwiseAffine::from_values(&[1.0, 0.0, -1.0], &[-0.3, 0.2, 0.5], &device).unwrap(),
        ),
    ])
    .unwrap();
    assert_bijector(&chain, &x, None, &cfg);
    assert_bijector(&Inverse::new(chain.clone()), &x, None, &cfg);
    assert_bijector(&Inverse::new(Sinh { features: 3 }), &x, None, &cfg);
    assert_bijector(
        &Chain::new(vec![Inverse::new(affine(&device))]).unwrap(),
        &x,
        None,
        &cfg,
    );
}

#[test]
fn chain_applies_layers_in_order_and_inverts_backwards() {
    let device = f64_device();
    // forward: z -> 2z (s = ln 2) -> sinh(2z); the reversed order would give 2 sinh(z).
    let double = ElementwiseAffine::from_values(&[0.0], &[2f64.ln()], &device).unwrap();
    let chain = Chain::new(vec![
        TestLayer::Affine(double),
        TestLayer::Sinh(Sinh { features: 1 }),
    ])
    .unwrap();
    let z = Tensor::<2>::from_data(TensorData::new(vec![0.5f64], [1, 1]), &device);
    let (x, _) = nflow_core::Bijector::forward(&chain, z, None);
    let got = x.to_data().iter::<f64>().next().unwrap();
    assert!((got - 1f64.sinh()).abs() < 1e-12, "got {got}");
}

#[test]
fn context_is_passed_to_every_layer() {
    let device = f64_device();
    let cfg = HarnessConfig::f64();
    let weight = Tensor::<2>::from_data(
        TensorData::new(vec![1.0f64, -2.0, 0.5, 3.0], [2, 2]),
        &device,
    );
    let chain = Chain::new(vec![
        ContextShift::new(weight.clone()),
        ContextShift::new(weight),
    ])
    .unwrap();
    let z = points(8, 2, 3, &device);
    let ctx = points(8, 2, 4, &device);
    assert_bijector(&chain, &z, Some(&ctx), &cfg);
    // Two shifts by W c each.
    let (x, _) = nflow_core::Bijector::forward(&chain, z.clone(), Some(&ctx));
    let expected = z + ctx.matmul(Tensor::<2>::from_data(
        TensorData::new(vec![2.0f64, -4.0, 1.0, 6.0], [2, 2]),
        &device,
    ));
    let diff: f64 = (x - expected)
        .abs()
        .max()
        .to_data()
        .iter::<f64>()
        .next()
        .unwrap();
    assert!(diff < 1e-12);
}

#[test]
fn chain_rejects_empty_and_mismatched_layers() {
    let device = f64_device();
    assert!(Chain::<ElementwiseAffine>::new(vec![]).is_err());
    let err = Chain::new(vec![
        affine(&device),
        ElementwiseAffineConfig::new(2).init(&device).unwrap(),
    ])
    .unwrap_err();
    assert!(err.to_string().contains("layer 1"), "{err}");
}

#[test]
fn harness_catches_a_wrong_forward_ladj() {
    let device = f64_device();
    let report = check_bijector(
        &Broken {
            features: 2,
            mistake: Mistake::ForwardLadjOffset,
        },
        &points(8, 2, 5, &device),
        None,
        &HarnessConfig::f64(),
    );
    assert!(report.failed(Check::ForwardLadj), "{report}");
    assert!(report.failed(Check::LadjNotNegated), "{report}");
    assert!(!report.failed(Check::InverseLadj), "{report}");
    assert!(!report.failed(Check::RoundTripFromBase), "{report}");
}

#[test]
fn harness_catches_a_wrong_inverse_ladj() {
    let device = f64_device();
    let report = check_bijector(
        &Broken {
            features: 2,
            mistake: Mistake::InverseLadjSign,
        },
        &points(8, 2, 6, &device),
        None,
        &HarnessConfig::f64(),
    );
    assert!(report.failed(Check::InverseLadj), "{report}");
    assert!(report.failed(Check::LadjNotNegated), "{report}");
    assert!(!report.failed(Check::ForwardLadj), "{report}");
}

#[test]
fn harness_catches_a_non_inverse() {
    let device = f64_device();
    let report = check_bijector(
        &Broken {
            features: 3,
            mistake: Mistake::NotInverse,
        },
        &points(8, 3, 7, &device),
        None,
        &HarnessConfig::f64(),
    );
    assert!(report.failed(Check::RoundTripFromBase), "{report}");
    assert!(report.failed(Check::RoundTripFromData), "{report}");
}

#[test]
fn harness_catches_a_value_helper_that_disagrees() {
    let device = f64_device();
    let report = check_bijector(
        &Broken {
            features: 2,
            mistake: Mistake::BadValueHelper,
        },
        &points(8, 2, 8, &device),
        None,
        &HarnessConfig::f64(),
    );
    assert!(report.failed(Check::ForwardValueHelper), "{report}");
    assert!(!report.failed(Check::ForwardLadj), "{report}");
}

#[test]
fn correct_reference_passes_where_broken_ones_fail() {
    // The same map without a mistake: guards against a harness that fails everything.
    let device = f64_device();
    let right =
        ElementwiseAffine::from_values(&[1.0, 1.0], &[2f64.ln(), 2f64.ln()], &device).unwrap();
    let report = check_bijector(
        &right,
        &points(8, 2, 9, &device),
        None,
        &HarnessConfig::f64(),
    );
    assert!(report.passed(), "{report}");
}

#[test]
fn then_composes_two_types_in_order_and_passes_the_harness() {
    use nflow_core::{Bijector, NflowError, Then};
    let device = f64_device();
    let cfg = HarnessConfig::f64();
    let weight = Tensor::<2>::from_data(
        TensorData::new(vec![1.0f64, -2.0, 0.5, 3.0], [2, 2]),
        &device,
    );
    let a = ElementwiseAffine::from_values(&[0.3, -1.2], &[0.7, -0.4], &device).unwrap();
    // A conditional second half: the context reaches it through `Then`.
    let then = Then::new(a.clone(), ContextShift::new(weight.clone())).unwrap();
    assert_eq!(then.context_features(), 2);
    let z = points(8, 2, 5, &device);
    let ctx = points(8, 2, 6, &device);
    assert_bijector(&then, &z, Some(&ctx), &cfg);
    // forward = second ∘ first; inverse undoes the second first.
    let (h, _) = a.forward(z.clone(), None);
    let (direct, _) = ContextShift::new(weight.clone()).forward(h, Some(&ctx));
    let (composed, _) = then.forward(z.clone(), Some(&ctx));
    assert_eq!(composed.to_data(), direct.to_data());
    let swapped = Then::new(ContextShift::new(weight), a.clone()).unwrap();
    let (other, _) = swapped.forward(z, Some(&ctx));
    assert_ne!(other.to_data(), composed.to_data(), "order matters");

    // Mismatched widths are typed errors.
    let three = affine(&device);
    assert!(matches!(
        Then::new(a, three),
        Err(NflowError::InvalidConfig(_))
    ));
    let c2 = ContextShift::new(Tensor::<2>::zeros([2, 2], &device));
    let c3 = ContextShift::new(Tensor::<2>::zeros([3, 2], &device));
    assert!(matches!(
        Then::new(c2, c3),
        Err(NflowError::InvalidConfig(_))
    ));
}
