//! `Trainer::fit_with` calls its hook before every step (on the training copy) and before every
//! validation (on the inference copy), and mask sampling through it trains a Bernoulli MADE.

use nflow_core::Distribution;
use nflow_flows::MafConfig;
use nflow_made::{BernoulliMadeConfig, MadeConfig};
use nflow_train::{Dataset, ToyDataset, TrainPhase, Trainer, TrainerConfig};

#[test]
fn the_hook_sees_every_step_and_every_validation() {
    let device = nflow_core::default_device();
    let splits = ToyDataset::Moons
        .sample(400, 0)
        .unwrap()
        .split(0.5, 0.25, 0)
        .unwrap();
    let flow = MafConfig::new(2)
        .with_layers(1)
        .with_hidden_sizes(vec![8])
        .init(&device)
        .unwrap();
    let trainer = Trainer::new(
        TrainerConfig::new()
            .with_max_steps(10)
            .with_eval_every(4)
            .with_batch_size(50)
            .with_progress(false),
    )
    .unwrap();
    let mut phases = Vec::new();
    let (_, report) = trainer
        .fit_with(
            flow,
            &splits.train,
            &splits.validation,
            &device,
            |m, phase| {
                phases.push(phase);
                m
            },
        )
        .unwrap();
    let steps: Vec<usize> = phases
        .iter()
        .filter_map(|p| match p {
            TrainPhase::Step(s) => Some(*s),
            TrainPhase::Evaluate => None,
        })
        .collect();
    assert_eq!(steps, (0..10).collect::<Vec<_>>());
    let evaluations = phases
        .iter()
        .filter(|p| **p == TrainPhase::Evaluate)
        .count();
    assert_eq!(evaluations, report.history.len());
    assert_eq!(evaluations, 3, "after steps 4, 8 and 10");
    // The first validation comes after the fourth step (steps are numbered from 0).
    assert_eq!(phases[3], TrainPhase::Step(3));
    assert_eq!(phases[4], TrainPhase::Evaluate);
    assert_eq!(phases[5], TrainPhase::Step(4));
}

#[test]
fn mask_sampling_trains_every_mask_set() {
    // Two dependent bits: (0, 1), (1, 1) and (1, 0) with frequencies 0.1, 0.1 and 0.8. Every mask
    // set (either ordering) can represent the joint exactly and should learn it.
    let device = nflow_core::default_device();
    let rows: Vec<[f64; 2]> = (0..200)
        .map(|i| [f64::from(i % 10 != 0), f64::from(i % 5 == 0)])
        .collect();
    let data = Dataset::from_rows(&rows).unwrap();
    let made = MadeConfig::new(2, vec![16])
        .with_params_per_dim(1)
        .with_num_mask_sets(4)
        .with_order_agnostic(true);
    let model = BernoulliMadeConfig::new(made).init(&device).unwrap();
    let trainer = Trainer::new(
        TrainerConfig::new()
            .with_max_steps(1200)
            .with_eval_every(300)
            .with_batch_size(50)
            .with_learning_rate(1e-2)
            .with_progress(false),
    )
    .unwrap();
    let mut used = [0usize; 4];
    let (model, _) = trainer
        .fit_with(model, &data, &data, &device, |m, phase| {
            let set = match phase {
                TrainPhase::Step(s) => s % 4,
                TrainPhase::Evaluate => 0,
            };
            used[set] += 1;
            m.with_mask_set(set).unwrap()
        })
        .unwrap();
    assert!(used.iter().all(|&n| n >= 300));
    // Entropy of the empirical joint, in nats.
    let entropy = -[0.1f64, 0.1, 0.8].iter().map(|p| p * p.ln()).sum::<f64>();
    let x = data.to_tensor(&device);
    for set in 0..4 {
        let m = model.clone().with_mask_set(set).unwrap();
        let lp: f64 = m
            .log_prob(x.clone(), None)
            .unwrap()
            .mean()
            .into_scalar::<f64>();
        assert!(
            (-lp - entropy).abs() < 0.05,
            "set {set}: NLL {} vs entropy {entropy}",
            -lp
        );
    }
}
