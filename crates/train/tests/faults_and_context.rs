//! Training faults keep the best model and name the step; conditional flows train on context
//! columns, and their density follows the context.

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use burn::module::Module;
use burn::tensor::Tensor;
use nflow_core::{Distribution, NflowError};
use nflow_flows::{AutoregressiveFlow, MafConfig};
use nflow_train::{Dataset, ToyDataset, Trainer, TrainerConfig, mean_nll};
use rand::{Rng, RngExt, SeedableRng};

/// A flow whose log-density turns NaN on the calls in `nan_calls` (counted across clones, so the
/// trainer's inference copies count too).
#[derive(Module, Debug)]
struct Flaky {
    flow: AutoregressiveFlow,
    #[module(skip)]
    calls: Arc<AtomicUsize>,
    #[module(skip)]
    nan_calls: Range<usize>,
}

impl Distribution for Flaky {
    fn features(&self) -> usize {
        self.flow.features()
    }

    fn log_prob_unchecked(&self, x: Tensor<2>, context: Option<&Tensor<2>>) -> Tensor<1> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        let lp = self.flow.log_prob_unchecked(x, context);
        if self.nan_calls.contains(&call) {
            lp.mul_scalar(f64::NAN)
        } else {
            lp
        }
    }

    fn sample_unchecked<R: Rng + ?Sized>(
        &self,
        n: usize,
        context: Option<&Tensor<2>>,
        rng: &mut R,
    ) -> Tensor<2> {
        self.flow.sample_unchecked(n, context, rng)
    }
}

fn flaky(nan_calls: Range<usize>) -> Flaky {
    let device = nflow_core::default_device();
    Flaky {
        flow: MafConfig::new(2)
            .with_layers(2)
            .with_hidden_sizes(vec![16, 16])
            .init(&device)
            .unwrap(),
        calls: Arc::new(AtomicUsize::new(0)),
        nan_calls,
    }
}

fn moons() -> nflow_train::Splits {
    ToyDataset::Moons
        .sample(1000, 0)
        .unwrap()
        .split(0.8, 0.1, 0)
        .unwrap()
}

fn trainer() -> Trainer {
    // Steps 1-5 are calls 0-4, the evaluation at step 5 is call 5, steps 6-10 calls 6-10, the
    // evaluation at step 10 call 11, step 11 call 12, step 12 call 13, … (steps are 1-based)
    Trainer::new(
        TrainerConfig::new()
            .with_max_steps(40)
            .with_eval_every(5)
            .with_batch_size(64)
            .with_progress(false),
    )
    .unwrap()
}

#[test]
fn a_diverging_loss_names_the_step_and_keeps_the_best_model() {
    let device = nflow_core::default_device();
    let splits = moons();
    let failure = trainer()
        .fit(
            flaky(13..usize::MAX),
            &splits.train,
            &splits.validation,
            &device,
        )
        .unwrap_err();
    assert!(
        matches!(failure.error, NflowError::Diverged { step: 12, loss } if loss.is_nan()),
        "{:?}",
        failure.error
    );
    let (best, report) = *failure.best.expect("two evaluations succeeded");
    assert_eq!(report.history.len(), 2);
    assert!([5, 10].contains(&report.best_step));
    assert!(report.best_validation_nll.is_finite());
    // The kept model is usable: the underlying flow scores the validation set as reported.
    let nll = mean_nll(&best.flow, &splits.validation, &device).unwrap();
    assert_eq!(nll, report.best_validation_nll);
    // And `?` turns the failure into nflow's one error type.
    let as_error: NflowError = trainer()
        .fit(
            flaky(0..usize::MAX),
            &splits.train,
            &splits.validation,
            &device,
        )
        .unwrap_err()
        .into();
    assert!(matches!(as_error, NflowError::Diverged { step: 1, .. }));
}

#[test]
fn a_non_finite_validation_nll_is_an_error_not_a_best() {
    let device = nflow_core::default_device();
    let splits = moons();
    let failure = trainer()
        .fit(flaky(11..12), &splits.train, &splits.validation, &device)
        .unwrap_err();
    assert!(
        matches!(failure.error, NflowError::NonFiniteValidation { step: 10, nll } if nll.is_nan()),
        "{:?}",
        failure.error
    );
    assert!(failure.to_string().contains("step 10"), "{failure}");
    let (_, report) = *failure.best.expect("the evaluation at step 5 succeeded");
    assert_eq!(report.best_step, 5);
}

/// `x | c ~ N((2c, −2c), 0.3² I)` with `c` uniform on {−1, 1}.
fn conditional_data(n: usize, seed: u64) -> Dataset {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut x = Vec::new();
    let mut c = Vec::new();
    for _ in 0..n {
        let ci: f64 = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
        let e1: f64 = rng.sample(rand_distr::StandardNormal);
        let e2: f64 = rng.sample(rand_distr::StandardNormal);
        x.push([2.0 * ci + 0.3 * e1, -2.0 * ci + 0.3 * e2]);
        c.push([ci]);
    }
    Dataset::from_rows(&x)
        .unwrap()
        .with_context_rows(&c)
        .unwrap()
}

#[test]
fn a_conditional_flow_trains_on_context_columns_and_follows_the_context() {
    let device = nflow_core::default_device();
    let splits = conditional_data(4000, 1).split(0.8, 0.1, 1).unwrap();
    let flow = MafConfig::new(2)
        .with_context_features(1)
        .with_layers(3)
        .with_hidden_sizes(vec![32, 32])
        .init(&device)
        .unwrap();
    let trainer = Trainer::new(
        TrainerConfig::new()
            .with_max_steps(600)
            .with_eval_every(100)
            .with_batch_size(256)
            .with_learning_rate(3e-3)
            .with_progress(false),
    )
    .unwrap();
    let (flow, report) = trainer
        .fit(flow, &splits.train, &splits.validation, &device)
        .unwrap();
    // The exact conditional NLL is 2 ln(0.3 √(2π)) + 1 ≈ 0.43 nats; an unconditional fit of the
    // two-cluster mixture could do no better than ln 2 more.
    let test_nll = mean_nll(&flow, &splits.test, &device).unwrap();
    assert!(
        test_nll < 0.43 + 0.5,
        "test NLL {test_nll} (report {report:?})"
    );

    // The density follows the context: (2, −2) is likely under c = 1, not under c = −1.
    let x = Tensor::<2>::from_floats([[2.0, -2.0]], &device);
    let under = |c: f32| {
        flow.log_prob(x.clone(), Some(&Tensor::from_floats([[c]], &device)))
            .unwrap()
            .into_scalar::<f64>()
    };
    assert!(
        under(1.0) > under(-1.0) + 10.0,
        "{} vs {}",
        under(1.0),
        under(-1.0)
    );

    // Samples given a context land where that context puts them.
    let context = Tensor::<2>::ones([500, 1], &device).neg();
    let samples = flow
        .sample(
            500,
            Some(&context),
            &mut rand::rngs::StdRng::seed_from_u64(3),
        )
        .unwrap();
    let mean: Vec<f64> = samples.mean_dim(0).to_data().iter::<f64>().collect();
    assert!(
        (mean[0] + 2.0).abs() < 0.2 && (mean[1] - 2.0).abs() < 0.2,
        "{mean:?}"
    );

    // Saved, reloaded and re-scored exactly.
    let dir = std::env::temp_dir().join(format!("nflow-conditional-{}", std::process::id()));
    flow.save(&dir).unwrap();
    let loaded = AutoregressiveFlow::load(&dir, &device).unwrap();
    assert_eq!(mean_nll(&loaded, &splits.test, &device).unwrap(), test_nll);
    std::fs::remove_dir_all(&dir).unwrap();
}
