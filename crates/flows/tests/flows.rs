//! Whole MAF and IAF flows: normalisation before and after training, consistency across
//! directions, typed errors, batch norm behaviour, loading older and bad directories. (The harness,
//! gradients and save / load of every flow kind run over the registry: `tests/registry.rs`.)

mod common;

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Tensor, TensorData};
use common::{device, four_gaussians, normal, values};
use nflow_core::{Bijector, Distribution, GaussianBaseKind, MadeError, NflowError};
use nflow_flows::{
    AffineTransformer, AutoregressiveFlow, AutoregressiveFlowConfig, BatchNorm, FlowConfigError,
    FlowLayer, IafConfig, MafConfig, Orientation, PermutationKind,
};
use rand::SeedableRng;
use rand::rngs::StdRng;

/// ∫ p over [-l, l]² by the midpoint rule on an n × n grid.
fn integrate_2d(flow: &AutoregressiveFlow, l: f64, n: usize, device: &Device) -> f64 {
    let h = 2.0 * l / n as f64;
    let grid: Vec<f64> = (0..n * n)
        .flat_map(|k| {
            let (i, j) = (k / n, k % n);
            [-l + h * (i as f64 + 0.5), -l + h * (j as f64 + 0.5)]
        })
        .collect();
    let x = Tensor::<2>::from_data(TensorData::new(grid, [n * n, 2]), device);
    let log_p = values(flow.log_prob(x, None).unwrap());
    log_p.iter().map(|v| v.exp()).sum::<f64>() * h * h
}

fn maf2_config(init_scale: f64) -> AutoregressiveFlowConfig {
    MafConfig::new(2)
        .with_layers(4)
        .with_hidden_sizes(vec![32, 32])
        .with_output_init_scale(init_scale)
        .with_seed(3)
}

fn maf2(device: &Device, init_scale: f64) -> AutoregressiveFlow {
    maf2_config(init_scale).init(device).unwrap()
}

fn iaf2(device: &Device, init_scale: f64) -> AutoregressiveFlow {
    maf2_config(init_scale)
        .with_orientation(Orientation::Iaf)
        .init(device)
        .unwrap()
}

#[test]
fn maf_and_iaf_are_one_config_in_two_orientations() {
    let maf = MafConfig::new(5)
        .with_layers(3)
        .with_hidden_sizes(vec![7, 9])
        .with_context_features(2)
        .with_batch_norm(true)
        .with_batch_norm_epsilon(1.234_567_890_123_4e-5)
        .with_permutation(PermutationKind::Explicit(vec![4, 2, 0, 1, 3]))
        .with_base(GaussianBaseKind::Diagonal)
        .with_transformer(AffineTransformer::new(2.5).into())
        .with_seed(99);
    let iaf = maf.clone().with_orientation(Orientation::Iaf);
    let mut a = serde_json::to_value(&maf).unwrap();
    let mut b = serde_json::to_value(&iaf).unwrap();
    assert_eq!(a["orientation"], "maf");
    assert_eq!(b["orientation"], "iaf");
    a["orientation"] = serde_json::Value::Null;
    b["orientation"] = serde_json::Value::Null;
    assert_eq!(a, b);
    assert_eq!(
        IafConfig::new(5).orientation,
        MafConfig::new(5).orientation.flipped()
    );
    let built = iaf.init(&device()).unwrap();
    assert_eq!(built.orientation(), Orientation::Iaf);
    // The same MADE weights in both orientations (same seed).
    let maf = maf.init(&device()).unwrap();
    let (FlowLayer::Autoregressive(l1), FlowLayer::Autoregressive(l2)) =
        (&maf.layers()[0], &built.layers()[0])
    else {
        panic!("autoregressive layers first")
    };
    let x = normal(3, 5, 1, &device());
    let c = normal(3, 2, 2, &device());
    assert_eq!(
        values(l1.made().forward(x.clone(), Some(&c))),
        values(l2.made().forward(x, Some(&c)))
    );
}

fn train(mut flow: AutoregressiveFlow, steps: usize, device: &Device) -> AutoregressiveFlow {
    let train_device = device.clone().autodiff();
    flow = flow.to_device(&train_device).train();
    let mut optim = AdamConfig::new().init();
    for step in 0..steps {
        let batch = four_gaussians(256, step as u64, &train_device);
        let loss = flow.log_prob(batch, None).unwrap().mean().neg();
        let grads = GradientsParams::from_grads(loss.backward(), &flow);
        flow = optim.step(3e-3, flow, grads);
    }
    flow.valid()
}

fn mean_nll(flow: &AutoregressiveFlow, device: &Device) -> f64 {
    -values(
        flow.log_prob(four_gaussians(2000, 99, device), None)
            .unwrap(),
    )
    .iter()
    .sum::<f64>()
        / 2000.0
}

#[test]
fn two_dimensional_flows_integrate_to_one_before_and_after_training() {
    let device = device();
    for (name, flow) in [("MAF", maf2(&device, 0.5)), ("IAF", iaf2(&device, 0.5))] {
        let mass = integrate_2d(&flow, 12.0, 400, &device);
        eprintln!("untrained {name}: mass {mass:.5}");
        assert!((mass - 1.0).abs() < 0.01, "untrained {name}: mass {mass}");
    }
    for (name, flow) in [("MAF", maf2(&device, 0.01)), ("IAF", iaf2(&device, 0.01))] {
        let before = mean_nll(&flow, &device);
        let trained = train(flow, 300, &device);
        let after = mean_nll(&trained, &device);
        assert!(
            after < before - 0.5,
            "{name} did not learn: NLL {before} -> {after}"
        );
        let mass = integrate_2d(&trained, 12.0, 400, &device);
        eprintln!("trained {name}: NLL {before:.3} -> {after:.3}, mass {mass:.5}");
        assert!((mass - 1.0).abs() < 0.01, "trained {name}: mass {mass}");
    }
}

#[test]
fn sample_and_log_prob_agree_with_log_prob() {
    let device = device();
    for flow in [
        MafConfig::new(5)
            .with_layers(3)
            .with_hidden_sizes(vec![16, 16])
            .with_output_init_scale(1.0)
            .with_seed(4)
            .init(&device)
            .unwrap(),
        IafConfig::new(5)
            .with_layers(3)
            .with_hidden_sizes(vec![16, 16])
            .with_output_init_scale(1.0)
            .with_seed(4)
            .init(&device)
            .unwrap(),
    ] {
        let (x, lp) = flow
            .sample_and_log_prob(64, None, &mut StdRng::seed_from_u64(8))
            .unwrap();
        let direct = values(flow.log_prob(x.clone(), None).unwrap());
        for (a, b) in values(lp).iter().zip(&direct) {
            assert!((a - b).abs() < 1e-4, "{}: {a} vs {b}", flow.orientation());
        }
        // The same seed draws the same samples through `sample`.
        assert_eq!(
            values(
                flow.sample(64, None, &mut StdRng::seed_from_u64(8))
                    .unwrap()
            ),
            values(x)
        );
    }
}

#[test]
fn conditional_flows_use_their_context() {
    let device = device();
    let flow = MafConfig::new(2)
        .with_layers(2)
        .with_hidden_sizes(vec![16, 16])
        .with_context_features(1)
        .with_output_init_scale(1.0)
        .init(&device)
        .unwrap();
    let x = normal(4, 2, 1, &device);
    let c0 = Tensor::<2>::zeros([4, 1], &device);
    let c1 = Tensor::<2>::ones([4, 1], &device);
    let a = values(flow.log_prob(x.clone(), Some(&c0)).unwrap());
    let b = values(flow.log_prob(x, Some(&c1)).unwrap());
    assert!(
        a.iter().zip(&b).all(|(p, q)| (p - q).abs() > 1e-9),
        "{a:?} {b:?}"
    );
}

fn flow_error(result: Result<AutoregressiveFlow, NflowError>) -> FlowConfigError {
    match result {
        Err(NflowError::FlowConfig(e)) => e,
        other => panic!("expected a FlowConfigError, got {other:?}"),
    }
}

#[test]
fn bad_configs_and_context_mismatches_are_typed_errors() {
    let device = device();
    assert_eq!(
        flow_error(MafConfig::new(0).init(&device)),
        FlowConfigError::ZeroFeatures
    );
    assert_eq!(
        flow_error(IafConfig::new(3).with_layers(0).init(&device)),
        FlowConfigError::ZeroLayers
    );
    assert_eq!(
        flow_error(
            MafConfig::new(3)
                .with_permutation(PermutationKind::Explicit(vec![0, 0, 1]))
                .init(&device)
        ),
        FlowConfigError::NotAPermutation {
            order: vec![0, 0, 1],
            features: 3
        }
    );
    assert_eq!(
        flow_error(
            MafConfig::new(3)
                .with_transformer(AffineTransformer::new(0.0).into())
                .init(&device)
        ),
        FlowConfigError::BadLogScaleBound(0.0)
    );
    assert!(matches!(
        flow_error(
            MafConfig::new(3)
                .with_batch_norm(true)
                .with_batch_norm_momentum(1.5)
                .init(&device)
        ),
        FlowConfigError::BadBatchNorm { .. }
    ));
    // MADE-level problems come through as MadeError.
    assert!(matches!(
        MafConfig::new(8).with_hidden_sizes(vec![4]).init(&device),
        Err(NflowError::Made(MadeError::HiddenTooNarrow {
            layer: 0,
            width: 4,
            needed: 7
        }))
    ));

    let conditional = MafConfig::new(3)
        .with_context_features(2)
        .init(&device)
        .unwrap();
    let x = normal(5, 3, 0, &device);
    for ctx in [
        None,
        Some(Tensor::<2>::zeros([5, 3], &device)),
        Some(Tensor::<2>::zeros([4, 2], &device)),
    ] {
        assert!(matches!(
            conditional.log_prob(x.clone(), ctx.as_ref()),
            Err(NflowError::ShapeMismatch { .. })
        ));
    }
    let mut rng = StdRng::seed_from_u64(0);
    assert!(matches!(
        conditional.sample(5, None, &mut rng),
        Err(NflowError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        conditional.sample(5, Some(&Tensor::zeros([4, 2], &device)), &mut rng),
        Err(NflowError::ShapeMismatch { .. })
    ));
    assert!(
        conditional
            .sample(5, Some(&Tensor::zeros([5, 2], &device)), &mut rng)
            .is_ok()
    );
}

#[test]
fn batch_norm_uses_batch_statistics_in_training_and_running_averages_in_evaluation() {
    let device = device();
    let training = device.clone().autodiff();
    let bn = BatchNorm::new(2, 0.1, 1e-5, &training).unwrap();
    let data = normal(512, 2, 3, &training).mul_scalar(2.0).add_scalar(3.0);
    let (z, _) = bn.inverse(data.clone(), None);
    let mean = values(z.clone().mean_dim(0));
    let var = values(z.var_bias(0));
    assert!(mean.iter().all(|m| m.abs() < 1e-9), "{mean:?}");
    assert!(var.iter().all(|v| (v - 1.0).abs() < 1e-3), "{var:?}");
    // One step of momentum 0.1 from (0, 1).
    let running = values(bn.running_mean());
    let batch_mean = values(data.mean_dim(0));
    for (r, b) in running.iter().zip(&batch_mean) {
        assert!((r - 0.1 * b).abs() < 1e-9);
    }
    // Evaluation: the running averages, unchanged by use.
    let eval = bn.valid();
    let before = values(eval.running_mean());
    let _ = eval.inverse(normal(64, 2, 4, &device), None);
    assert_eq!(values(eval.running_mean()), before);
}

#[test]
fn loading_bad_directories_gives_typed_errors() {
    let device = device();
    let dir = std::env::temp_dir().join(format!("nflow-flows-bad-{}", std::process::id()));
    assert!(matches!(
        AutoregressiveFlow::load(&dir, &device),
        Err(NflowError::Io { .. })
    ));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join(nflow_flows::FLOW_CONFIG_FILE),
        r#"{"kind": "realnvp", "config": {}}"#,
    )
    .unwrap();
    assert!(matches!(
        AutoregressiveFlow::load(&dir, &device),
        Err(NflowError::Load { .. })
    ));
    std::fs::remove_dir_all(&dir).unwrap();
    MafConfig::new(2).init(&device).unwrap().save(&dir).unwrap();
    std::fs::write(dir.join(nflow_flows::FLOW_WEIGHTS_FILE), b"").unwrap();
    assert!(matches!(
        AutoregressiveFlow::load(&dir, &device),
        Err(NflowError::Checksum { .. })
    ));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn layer_docs_match_the_pass_counts() {
    // MAF inverse and IAF forward are one MADE pass: their outputs for feature i depend on the
    // conditioning side only, so perturbing x_last leaves z_first unchanged in one call; the
    // D-pass directions are exercised by the round trips of the harness. Here: a MAF's inverse
    // equals a single explicit MADE evaluation.
    let device = device();
    let flow = MafConfig::new(4)
        .with_layers(1)
        .with_hidden_sizes(vec![8])
        .with_output_init_scale(1.0)
        .init(&device)
        .unwrap();
    let FlowLayer::Autoregressive(layer) = &flow.layers()[0] else {
        panic!("an autoregressive layer")
    };
    assert_eq!(layer.orientation(), Orientation::Maf);
    let x = normal(3, 4, 1, &device);
    let params = layer.params(x.clone(), None);
    let (shift, raw) = (params[0].clone(), params[1].clone());
    let log_scale = raw.div_scalar(3.0).tanh().mul_scalar(3.0);
    let expected = (x.clone() - shift) * log_scale.neg().exp();
    for (a, b) in values(layer.inverse(x, None).0)
        .iter()
        .zip(values(expected))
    {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }
}

#[test]
fn log_prob_gradients_match_finite_differences() {
    // Backpropagation through every piece (masks, bounded log-scales, permutations, batch norm in
    // evaluation) agrees with central differences of the density.
    let device = device().autodiff();
    for flow in [
        MafConfig::new(3)
            .with_layers(3)
            .with_hidden_sizes(vec![16, 16])
            .with_output_init_scale(1.0)
            .init(&device)
            .unwrap(),
        IafConfig::new(3)
            .with_layers(2)
            .with_hidden_sizes(vec![16, 16])
            .with_output_init_scale(1.0)
            .init(&device)
            .unwrap(),
    ] {
        let xs = vec![0.3f64, -0.7, 1.1, -0.2, 0.5, 0.9];
        let x = Tensor::<2>::from_data(TensorData::new(xs.clone(), [2, 3]), &device).require_grad();
        let total = flow.log_prob_unchecked(x.clone(), None).sum();
        let grad = values(x.grad(&total.backward()).unwrap());
        let f = |v: Vec<f64>| {
            values(
                flow.log_prob_unchecked(
                    Tensor::<2>::from_data(TensorData::new(v, [2, 3]), &device),
                    None,
                )
                .sum(),
            )[0]
        };
        for k in 0..6 {
            let (mut plus, mut minus) = (xs.clone(), xs.clone());
            plus[k] += 1e-6;
            minus[k] -= 1e-6;
            let numeric = (f(plus) - f(minus)) / 2e-6;
            assert!(
                (grad[k] - numeric).abs() < 1e-6 * (1.0 + numeric.abs()),
                "{} entry {k}: {} vs {numeric}",
                flow.orientation(),
                grad[k]
            );
        }
    }
}

#[test]
fn flows_saved_in_the_older_layout_still_load() {
    // Before transformers were configurable, flow.json was {"kind": "maf" | "iaf", "config": {…,
    // "log_scale_bound": c}}. Such a directory loads as the same affine flow.
    let device = device();
    let dir = std::env::temp_dir().join(format!("nflow-flows-legacy-{}", std::process::id()));
    for orientation in [Orientation::Maf, Orientation::Iaf] {
        let flow = MafConfig::new(3)
            .with_orientation(orientation)
            .with_transformer(AffineTransformer::new(2.5).into())
            .with_layers(2)
            .with_hidden_sizes(vec![8])
            .with_output_init_scale(1.0)
            .with_seed(5)
            .init(&device)
            .unwrap();
        flow.save(&dir).unwrap();
        let mut config = serde_json::to_value(flow.config()).unwrap();
        let object = config.as_object_mut().unwrap();
        object.remove("orientation");
        object.remove("transformer");
        object.insert("log_scale_bound".into(), serde_json::json!(2.5));
        let legacy = serde_json::json!({"kind": orientation.name(), "config": config});
        std::fs::write(
            dir.join(nflow_flows::FLOW_CONFIG_FILE),
            serde_json::to_string(&legacy).unwrap(),
        )
        .unwrap();
        let loaded = AutoregressiveFlow::load(&dir, &device).unwrap();
        assert_eq!(loaded.orientation(), orientation);
        assert_eq!(
            loaded.config().transformer.get::<AffineTransformer>(),
            Some(&AffineTransformer::new(2.5))
        );
        let x = normal(5, 3, 9, &device);
        assert_eq!(
            values(flow.log_prob(x.clone(), None).unwrap()),
            values(loaded.log_prob(x, None).unwrap())
        );
    }
    // A transformer kind this process has not registered is a load error that names it.
    let mut config = serde_json::to_value(MafConfig::new(3)).unwrap();
    config["transformer"] = serde_json::json!({"kind": "coupling", "bins": 8});
    std::fs::write(
        dir.join(nflow_flows::FLOW_CONFIG_FILE),
        serde_json::to_string(&config).unwrap(),
    )
    .unwrap();
    match AutoregressiveFlow::load(&dir, &device) {
        Err(NflowError::FlowConfig(FlowConfigError::UnknownTransformer { kind, registered })) => {
            assert_eq!(kind, "coupling");
            assert!(registered.contains(&"affine".to_string()), "{registered:?}");
        }
        other => panic!("expected UnknownTransformer, got {other:?}"),
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
