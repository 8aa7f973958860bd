//! One registry of every bijector nflow-flows builds, for the tests (FlowJAX-style): every layer
//! kind, every registered transformer in both orientations, with and without context, single
//! layers and whole flows. Every check in `tests/registry.rs` (and the custom-transformer test)
//! runs over this one list, so a new kind cannot skip the harness.

use std::collections::BTreeSet;

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use nflow_core::testing::{
    HarnessConfig, assert_bijector, forward_jacobian, inverse_jacobian, params_without_gradient,
};
use nflow_core::{Bijector, Chain, Distribution, Standardizer};
use nflow_flows::{
    AutoregressiveFlow, AutoregressiveFlowConfig, BatchNorm, FlowLayer, MaskedAutoregressive,
    Orientation, Permutation, PermutationKind, TransformerSpec, registered_transformers,
};
use nflow_made::{HiddenDegrees, MadeConfig, Ordering};
use rand::SeedableRng;
use rand::rngs::StdRng;

use super::{normal, values};

/// One bijector under test.
pub struct Case {
    /// What it is (kind, orientation, transformer, shape, context).
    pub name: String,
    /// The bijector: a single layer is a chain of one.
    pub chain: Chain<FlowLayer>,
    /// Test points `[batch, D]`.
    pub x: Tensor<2>,
    /// Context rows when the bijector is conditional.
    pub context: Option<Tensor<2>>,
    /// For a single autoregressive layer: the degree of each feature in its ordering.
    pub degrees: Option<Vec<usize>>,
    /// For a whole flow: the config that builds it (gradients, save / load).
    pub config: Option<AutoregressiveFlowConfig>,
}

/// The kind of a layer. The match is exhaustive: a new `FlowLayer` variant does not compile
/// until it is named here, and `expected_kinds` must then list it.
pub fn layer_kind(layer: &FlowLayer) -> String {
    match layer {
        FlowLayer::Autoregressive(l) => format!(
            "autoregressive/{}/{}",
            l.orientation().name(),
            l.transformer().kind()
        ),
        FlowLayer::Permutation(_) => "permutation".into(),
        FlowLayer::BatchNorm(_) => "batch_norm".into(),
        FlowLayer::Standardize(_) => "standardize".into(),
    }
}

/// Every layer kind the registry must hold, given the transformers registered in this process.
pub fn expected_kinds(transformers: &[TransformerSpec]) -> BTreeSet<String> {
    let mut kinds: BTreeSet<String> = ["permutation", "batch_norm", "standardize"]
        .into_iter()
        .map(String::from)
        .collect();
    for spec in transformers {
        for orientation in [Orientation::Maf, Orientation::Iaf] {
            kinds.insert(format!(
                "autoregressive/{}/{}",
                orientation.name(),
                spec.kind()
            ));
        }
    }
    kinds
}

/// The registry over every registered transformer.
pub fn registry(device: &Device) -> Vec<Case> {
    registry_of(&registered_transformers(), true, device)
}

/// The registry over `transformers`; `fixed_layers` adds the permutation and batch-norm cases.
pub fn registry_of(
    transformers: &[TransformerSpec],
    fixed_layers: bool,
    device: &Device,
) -> Vec<Case> {
    let mut cases = Vec::new();
    let mut seed = 0u64;
    for spec in transformers {
        let k = spec.transformer().params_per_dim();
        for orientation in [Orientation::Maf, Orientation::Iaf] {
            for context in [0usize, 2] {
                // Single layers: several shapes, orderings, degree schemes, residual blocks.
                for (d, ordering, scheme, residual) in [
                    (1, Ordering::Natural, HiddenDegrees::Sequential, false),
                    (2, Ordering::Reversed, HiddenDegrees::Random, false),
                    (5, Ordering::Random, HiddenDegrees::Sequential, true),
                    (6, Ordering::Natural, HiddenDegrees::Sorted, false),
                    (
                        8,
                        Ordering::Explicit(vec![3, 7, 0, 5, 1, 6, 2, 4]),
                        HiddenDegrees::Random,
                        false,
                    ),
                ] {
                    seed += 1;
                    let width = if scheme == HiddenDegrees::Random {
                        4 * d + 8
                    } else {
                        d + 6
                    };
                    let made = MadeConfig::new(d, vec![width, width])
                        .with_context_features(context)
                        .with_params_per_dim(k)
                        .with_ordering(ordering.clone())
                        .with_hidden_degrees(scheme)
                        .with_residual(residual)
                        .with_seed(seed)
                        .init(device)
                        .unwrap();
                    let degrees = made.feature_degrees();
                    let layer = MaskedAutoregressive::new(made, spec.clone(), orientation).unwrap();
                    cases.push(Case {
                        name: format!(
                            "layer {} {} D={d} {ordering:?} {scheme:?} residual={residual} context={context}",
                            spec.kind(),
                            orientation.name()
                        ),
                        chain: Chain::new(vec![FlowLayer::Autoregressive(layer)]).unwrap(),
                        x: normal(6, d, seed, device),
                        context: (context > 0).then(|| normal(6, context, 1000 + seed, device)),
                        degrees: Some(degrees),
                        config: None,
                    });
                }
                // Whole flows: permutations and batch norm between layers, a learnable base.
                for (d, layers, batch_norm, permutation, standardize) in [
                    (1, 1, false, PermutationKind::Reverse, false),
                    (2, 3, false, PermutationKind::Reverse, true),
                    (5, 2, true, PermutationKind::Random, false),
                    (8, 2, true, PermutationKind::Reverse, false),
                    (21, 2, false, PermutationKind::Random, false),
                ] {
                    seed += 1;
                    let standardizer = standardize.then(|| Standardizer {
                        mean: (0..d).map(|j| 0.5 * j as f64 - 1.0).collect(),
                        std: (0..d).map(|j| 0.5 + 0.25 * j as f64).collect(),
                    });
                    let config = AutoregressiveFlowConfig::new(d)
                        .with_orientation(orientation)
                        .with_transformer(spec.clone())
                        .with_layers(layers)
                        .with_hidden_sizes(vec![d + 10, d + 10])
                        .with_context_features(context)
                        .with_batch_norm(batch_norm)
                        .with_permutation(permutation)
                        .with_base(nflow_core::GaussianBaseKind::Diagonal)
                        .with_standardizer(standardizer)
                        .with_output_init_scale(1.0)
                        .with_seed(seed);
                    let flow = trained_batch_norm(config.init(device).unwrap(), device);
                    cases.push(Case {
                        name: format!(
                            "flow {} {} D={d} layers={layers} batch_norm={batch_norm} standardize={standardize} context={context}",
                            spec.kind(),
                            orientation.name()
                        ),
                        chain: flow.into_parts().0,
                        x: normal(4, d, seed, device),
                        context: (context > 0).then(|| normal(4, context, 1000 + seed, device)),
                        degrees: None,
                        config: Some(config),
                    });
                }
            }
        }
    }
    if fixed_layers {
        let x = normal(8, 5, 1, device);
        cases.push(Case {
            name: "permutation".into(),
            chain: Chain::new(vec![FlowLayer::Permutation(
                Permutation::new(vec![3, 1, 4, 0, 2], device).unwrap(),
            )])
            .unwrap(),
            x: x.clone(),
            context: None,
            degrees: None,
            config: None,
        });
        // Batch norm with non-trivial running averages, in evaluation mode.
        let training = device.clone().autodiff();
        let bn = BatchNorm::new(5, 0.5, 1e-5, &training).unwrap();
        for seed in 0..6 {
            let data = normal(64, 5, seed, &training)
                .mul_scalar(2.0)
                .add_scalar(1.0);
            let _ = bn.inverse(data, None);
        }
        cases.push(Case {
            name: "standardize".into(),
            chain: Chain::new(vec![FlowLayer::Standardize(
                Standardizer {
                    mean: vec![1.0, -2.0, 0.5, 3.0, 0.0],
                    std: vec![2.0, 0.5, 1.0, 4.0, 0.25],
                }
                .layer(device)
                .unwrap(),
            )])
            .unwrap(),
            x: x.clone(),
            context: None,
            degrees: None,
            config: None,
        });
        cases.push(Case {
            name: "batch_norm".into(),
            chain: Chain::new(vec![FlowLayer::BatchNorm(bn.valid())]).unwrap(),
            x,
            context: None,
            degrees: None,
            config: None,
        });
    }
    cases
}

/// Runs a training-mode pass so batch norms hold non-trivial running averages, then returns the
/// evaluation copy.
fn trained_batch_norm(flow: AutoregressiveFlow, device: &Device) -> AutoregressiveFlow {
    if !flow.config().batch_norm {
        return flow;
    }
    let training = device.clone().autodiff();
    let flow = flow.to_device(&training).train();
    let c = flow.config().context_features;
    let d = flow.config().features;
    let ctx = (c > 0).then(|| normal(64, c, 77, &training));
    let _ = flow.log_prob(normal(64, d, 76, &training).add_scalar(1.5), ctx.as_ref());
    flow.valid().to_device(device)
}

/// Asserts that the registry holds exactly the expected layer kinds; returns them.
pub fn check_kinds(
    cases: &[Case],
    transformers: &[TransformerSpec],
    fixed_layers: bool,
) -> BTreeSet<String> {
    let found: BTreeSet<String> = cases
        .iter()
        .flat_map(|c| c.chain.layers().iter().map(layer_kind))
        .collect();
    let mut expected = expected_kinds(transformers);
    if !fixed_layers {
        expected.remove("permutation");
        expected.remove("batch_norm");
        expected.remove("standardize");
        // Whole flows still bring them in.
        expected.extend(
            found
                .iter()
                .filter(|k| !k.starts_with("autoregressive/"))
                .cloned(),
        );
    }
    assert_eq!(found, expected, "registry kinds");
    for orientation in ["maf", "iaf"] {
        for conditional in [false, true] {
            assert!(
                cases
                    .iter()
                    .any(|c| c.name.contains(&format!(" {orientation} "))
                        && c.context.is_some() == conditional),
                "no {orientation} case with context = {conditional}"
            );
        }
    }
    found
}

/// Round trips, numerical log-determinants, ladj consistency, value helpers: every case.
pub fn check_harness(cases: &[Case]) {
    let cfg = HarnessConfig::f64();
    for case in cases {
        eprintln!("harness: {}", case.name);
        assert_bijector(&case.chain, &case.x, case.context.as_ref(), &cfg);
    }
}

/// Single autoregressive layers: both directions' Jacobians are triangular in the layer's
/// ordering (zero where a later feature would feed an earlier one), and not merely diagonal.
pub fn check_structure(cases: &[Case]) {
    for case in cases {
        let Some(degrees) = &case.degrees else {
            continue;
        };
        let d = degrees.len();
        let allowed = |out: usize, inp: usize| degrees[inp] <= degrees[out];
        for jacobians in [
            forward_jacobian(&case.chain, &case.x, case.context.as_ref(), 1e-5),
            inverse_jacobian(&case.chain, &case.x, case.context.as_ref(), 1e-5),
        ] {
            let violations = nflow_core::jacobian::structure_violations(&jacobians, allowed, 1e-9);
            assert!(violations.is_empty(), "{}: {violations:?}", case.name);
            if d > 1 {
                let live = jacobians.iter().any(|m| {
                    (0..d).any(|i| {
                        (0..d).any(|j| degrees[j] < degrees[i] && m.get(i, j).abs() > 1e-6)
                    })
                });
                assert!(live, "{}: no off-diagonal dependence at all", case.name);
            }
        }
    }
}

/// Whole flows: every parameter receives a non-zero gradient of the log-likelihood.
pub fn check_gradients(cases: &[Case], device: &Device) {
    let training = device.clone().autodiff();
    for case in cases {
        let Some(config) = &case.config else { continue };
        let flow = config.init(&training).unwrap();
        let x = case.x.clone().to_device(&training);
        let ctx = case.context.clone().map(|c| c.to_device(&training));
        let loss = flow.log_prob(x, ctx.as_ref()).unwrap().mean().neg();
        let mut missing = params_without_gradient(&flow, &loss.backward());
        if config.features == 1 && config.context_features == 0 {
            // One feature and no context: the first MADE layer has no allowed connection at all
            // (the output may see no input), so its weight is masked out entirely, by design.
            missing.retain(|path| !path.ends_with("made.input_layer.weight"));
        }
        assert!(
            missing.is_empty(),
            "{}: no gradient for {missing:?}",
            case.name
        );
    }
}

/// Whole flows: save → load reproduces densities and seeded samples exactly, and the config.
pub fn check_save_load(cases: &[Case], device: &Device) {
    for (i, case) in cases.iter().enumerate() {
        let Some(config) = &case.config else { continue };
        let dir = std::env::temp_dir().join(format!(
            "nflow-registry-{}-{i}-{}",
            std::process::id(),
            config.transformer.kind()
        ));
        let flow = trained_batch_norm(config.init(device).unwrap(), device);
        flow.save(&dir).unwrap();
        let loaded = AutoregressiveFlow::load(&dir, device).unwrap();
        assert_eq!(
            serde_json::to_value(loaded.config()).unwrap(),
            serde_json::to_value(flow.config()).unwrap(),
            "{}",
            case.name
        );
        let n = case.x.dims()[0];
        assert_eq!(
            values(
                flow.log_prob(case.x.clone(), case.context.as_ref())
                    .unwrap()
            ),
            values(
                loaded
                    .log_prob(case.x.clone(), case.context.as_ref())
                    .unwrap()
            ),
            "{}",
            case.name
        );
        assert_eq!(
            values(
                flow.sample(n, case.context.as_ref(), &mut StdRng::seed_from_u64(3))
                    .unwrap()
            ),
            values(
                loaded
                    .sample(n, case.context.as_ref(), &mut StdRng::seed_from_u64(3))
                    .unwrap()
            ),
            "{}",
            case.name
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
