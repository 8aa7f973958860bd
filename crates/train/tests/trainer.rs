//! The trainer: it learns, restores the best validation weights, logs every evaluation, and is
//! reproducible from its seeds.

use nflow_flows::{IafConfig, MafConfig};
#[allow(unused_imports)]
use nflow_train::TrainFailure;
use nflow_train::{LrSchedule, OptimizerKind, ToyDataset, Trainer, TrainerConfig, mean_nll};

fn small_maf(device: &burn::tensor::Device) -> nflow_flows::AutoregressiveFlow {
    MafConfig::new(2)
        .with_layers(3)
        .with_hidden_sizes(vec![24, 24])
        .with_seed(1)
        .init(device)
        .unwrap()
}

#[test]
fn training_lowers_the_nll_restores_the_best_weights_and_logs_metrics() {
    let device = nflow_core::default_device();
    let splits = ToyDataset::EightGaussians
        .sample(6000, 0)
        .unwrap()
        .split(0.7, 0.15, 0)
        .unwrap();
    let metrics =
        std::env::temp_dir().join(format!("nflow-train-metrics-{}.jsonl", std::process::id()));
    let trainer = Trainer::new(
        TrainerConfig::new()
            .with_max_steps(300)
            .with_eval_every(50)
            .with_batch_size(256)
            .with_learning_rate(3e-3)
            .with_schedule(LrSchedule::Cosine)
            .with_progress(false)
            .with_metrics_path(Some(metrics.clone())),
    )
    .unwrap();
    let before = mean_nll(&small_maf(&device), &splits.validation, &device).unwrap();
    let (flow, report) = trainer
        .fit(
            small_maf(&device),
            &splits.train,
            &splits.validation,
            &device,
        )
        .unwrap();
    assert_eq!(report.steps, 300);
    assert_eq!(report.history.len(), 6);
    assert!(
        report.best_validation_nll < before - 1.0,
        "{before} -> {}",
        report.best_validation_nll
    );

    // The returned weights are the best evaluation's.
    let best = report
        .history
        .iter()
        .min_by(|a, b| a.validation_nll.total_cmp(&b.validation_nll))
        .unwrap();
    assert_eq!(best.step, report.best_step);
    let again = mean_nll(&flow, &splits.validation, &device).unwrap();
    assert!(
        (again - report.best_validation_nll).abs() < 1e-9,
        "{again} vs {}",
        report.best_validation_nll
    );

    // One JSON object per evaluation, with the fields the docs promise.
    let log = std::fs::read_to_string(&metrics).unwrap();
    std::fs::remove_file(&metrics).ok();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 6);
    for key in [
        "step",
        "epoch",
        "train_nll",
        "validation_nll",
        "learning_rate",
        "rows_per_second",
        "elapsed_seconds",
        "best",
    ] {
        assert!(lines[0].get(key).is_some(), "missing {key}");
    }
    // The cosine schedule decays the learning rate.
    assert!(report.history[5].learning_rate < report.history[0].learning_rate);
}

#[test]
fn training_is_reproducible_and_nll_is_in_data_units() {
    let device = nflow_core::default_device();
    let raw = ToyDataset::Moons
        .sample(3000, 1)
        .unwrap()
        .split(0.8, 0.1, 1)
        .unwrap();
    let config = TrainerConfig::new()
        .with_max_steps(40)
        .with_eval_every(20)
        .with_batch_size(128)
        .with_optimizer(OptimizerKind::AdamW)
        .with_progress(false);
    let trainer = Trainer::new(config).unwrap();
    let (_, a) = trainer
        .fit(small_maf(&device), &raw.train, &raw.validation, &device)
        .unwrap();
    let (_, b) = trainer
        .fit(small_maf(&device), &raw.train, &raw.validation, &device)
        .unwrap();
    assert_eq!(a.best_validation_nll, b.best_validation_nll);

    // A flow carrying a standardizer scores data in their own units: on data scaled by 10 and a
    // standardizer of scale 10, the NLL is the unscaled flow's plus 2 ln 10, exactly as the
    // change of variables says.
    let scaled = nflow_train::Dataset::from_flat(
        raw.validation.values().iter().map(|v| v * 10.0).collect(),
        2,
    )
    .unwrap();
    let plain = small_maf(&device);
    let inside = MafConfig::new(2)
        .with_layers(3)
        .with_hidden_sizes(vec![24, 24])
        .with_seed(1)
        .with_standardizer(Some(nflow_train::Standardizer {
            mean: vec![0.0, 0.0],
            std: vec![10.0, 10.0],
        }))
        .init(&device)
        .unwrap();
    let nll_scaled = mean_nll(&inside, &scaled, &device).unwrap();
    let nll_plain = mean_nll(&plain, &raw.validation, &device).unwrap();
    assert!(
        (nll_scaled - (nll_plain + 2.0 * 10f64.ln())).abs() < 1e-4,
        "{nll_scaled} vs {nll_plain} + 2 ln 10"
    );
    // A fitted standardizer on the scaled data: its scales are the columns' spreads.
    let fitted = scaled.fit_standardizer();
    let unscaled = raw.validation.fit_standardizer();
    for j in 0..2 {
        assert!((fitted.std[j] / unscaled.std[j] - 10.0).abs() < 1e-4);
    }
}

#[test]
fn an_iaf_trains_through_its_slow_direction() {
    let device = nflow_core::default_device();
    let splits = ToyDataset::Rings
        .sample(3000, 2)
        .unwrap()
        .split(0.8, 0.1, 2)
        .unwrap();
    let iaf = IafConfig::new(2)
        .with_layers(2)
        .with_hidden_sizes(vec![16, 16])
        .init(&device)
        .unwrap();
    let before = mean_nll(&iaf, &splits.validation, &device).unwrap();
    let trainer = Trainer::new(
        TrainerConfig::new()
            .with_max_steps(60)
            .with_eval_every(30)
            .with_batch_size(128)
            .with_learning_rate(5e-3)
            .with_progress(false),
    )
    .unwrap();
    let (_, report) = trainer
        .fit(iaf, &splits.train, &splits.validation, &device)
        .unwrap();
    assert!(
        report.best_validation_nll < before,
        "{before} -> {}",
        report.best_validation_nll
    );
    assert!(report.rows_per_second > 0.0);
}

#[test]
fn bad_trainer_settings_are_rejected() {
    use nflow_train::TrainerConfigError as E;
    for (bad, expected) in [
        (TrainerConfig::new().with_batch_size(0), E::ZeroBatchSize),
        (TrainerConfig::new().with_max_steps(0), E::ZeroMaxSteps),
        (TrainerConfig::new().with_eval_every(0), E::ZeroEvalEvery),
        (TrainerConfig::new().with_patience(0), E::ZeroPatience),
        (
            TrainerConfig::new().with_learning_rate(0.0),
            E::LearningRate(0.0),
        ),
        (
            TrainerConfig::new().with_min_learning_rate(1.0),
            E::MinLearningRate {
                min: 1.0,
                learning_rate: 1e-3,
            },
        ),
        (
            TrainerConfig::new().with_gradient_clip_norm(Some(0.0)),
            E::GradientClipNorm(0.0),
        ),
        (
            TrainerConfig::new().with_gradient_clip_norm(Some(f64::NAN)),
            E::GradientClipNorm(f64::NAN),
        ),
        (
            TrainerConfig::new().with_weight_decay(-1.0),
            E::WeightDecay(-1.0),
        ),
    ] {
        match Trainer::new(bad) {
            Err(nflow_core::NflowError::TrainerConfig(e)) => {
                // NaN != NaN: compare the messages.
                assert_eq!(e.to_string(), expected.to_string())
            }
            other => panic!("expected {expected:?}, got {other:?}"),
        }
    }
}
