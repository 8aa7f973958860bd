//! [`Trainer`]: maximum-likelihood training of any flow, with early stopping.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use burn::config::Config;
use burn::grad_clipping::GradientClippingConfig;
use burn::lr_scheduler::constant::ConstantLr;
use burn::lr_scheduler::cosine::CosineAnnealingLrSchedulerConfig;
use burn::lr_scheduler::module_lr_scheduler::ModuleLrScheduler;
use burn::module::Module;
use burn::optim::GradientsParams;

use crate::fused_adam::FusedAdam;
use burn::tensor::Device;
use indicatif::{ProgressBar, ProgressStyle};
use nflow_core::{Distribution, NflowError, TrainerConfigError};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::Serialize;

use crate::dataset::Dataset;

/// The optimiser (both run as [`FusedAdam`]: burn's arithmetic, one pass per parameter on the
/// CPU).
#[derive(Config, Debug, PartialEq, Copy)]
pub enum OptimizerKind {
    /// Adam (β = 0.9, 0.999; ε = 1e-8).
    Adam,
    /// AdamW with decoupled weight decay `weight_decay`.
    AdamW,
}

/// The learning-rate schedule over `max_steps`.
#[derive(Config, Debug, PartialEq, Copy)]
pub enum LrSchedule {
    /// The same rate throughout.
    Constant,
    /// Cosine annealing from `learning_rate` to `min_learning_rate` over `max_steps`.
    Cosine,
}

/// Settings of a [`Trainer`].
#[derive(Config, Debug)]
pub struct TrainerConfig {
    /// Optimiser.
    #[config(default = "OptimizerKind::Adam")]
    pub optimizer: OptimizerKind,
    /// Peak learning rate.
    #[config(default = 1e-3)]
    pub learning_rate: f64,
    /// Final learning rate of the cosine schedule.
    #[config(default = 0.0)]
    pub min_learning_rate: f64,
    /// Learning-rate schedule (cosine by default; `docs/toys.md` compares the two on the 2-D
    /// toys). Cosine anneals over `max_steps`, so a small `max_steps` decays the rate early.
    #[config(default = "LrSchedule::Cosine")]
    pub schedule: LrSchedule,
    /// Weight decay (AdamW only).
    #[config(default = 1e-4)]
    pub weight_decay: f64,
    /// Rows per minibatch.
    #[config(default = 512)]
    pub batch_size: usize,
    /// Upper limit on optimiser steps (also the length of the cosine schedule).
    #[config(default = 15000)]
    pub max_steps: usize,
    /// Gradient clipping: each parameter tensor's gradient is scaled down to at most this L2 norm
    /// (`None`: off). The default, 50, is a loose bound meant for rare spikes; `docs/toys.md`
    /// compares it with 5 and with no clipping on the 2-D toys.
    #[config(default = "Some(50.0)")]
    pub gradient_clip_norm: Option<f64>,
    /// Evaluate on the validation set every this many steps.
    #[config(default = 250)]
    pub eval_every: usize,
    /// Stop after this many evaluations without improvement.
    #[config(default = 12)]
    pub patience: usize,
    /// Seed of the minibatch order.
    #[config(default = 0)]
    pub seed: u64,
    /// Show a progress bar (on a terminal).
    #[config(default = true)]
    pub progress: bool,
    /// Write one JSON object per evaluation to this file.
    #[config(default = "None")]
    pub metrics_path: Option<PathBuf>,
}

/// One evaluation, as written to the metrics log.
#[derive(Debug, Clone, Serialize)]
pub struct EvalRecord {
    /// Optimiser steps so far.
    pub step: usize,
    /// Passes over the training set so far (fractional).
    pub epoch: f64,
    /// Mean training NLL (nats per row, data units) since the previous evaluation.
    pub train_nll: f64,
    /// Validation NLL (nats per row, data units).
    pub validation_nll: f64,
    /// Learning rate at this step.
    pub learning_rate: f64,
    /// Training throughput since the previous evaluation (rows per second, excluding the
    /// evaluation itself).
    pub rows_per_second: f64,
    /// Seconds since training started.
    pub elapsed_seconds: f64,
    /// Whether this is the best validation NLL so far.
    pub best: bool,
}

/// What training did.
#[derive(Debug, Clone, Serialize)]
pub struct TrainReport {
    /// Steps taken.
    pub steps: usize,
    /// The step of the best validation NLL (whose weights were restored).
    pub best_step: usize,
    /// The best validation NLL (nats per row, data units).
    pub best_validation_nll: f64,
    /// Whether early stopping ended training before `max_steps`.
    pub stopped_early: bool,
    /// Wall time in seconds, evaluations included.
    pub seconds: f64,
    /// Mean training throughput in rows per second.
    pub rows_per_second: f64,
    /// Every evaluation.
    pub history: Vec<EvalRecord>,
}

/// Trains any flow (any burn module that is a [`Distribution`]) by maximum likelihood.
///
/// Shuffled minibatches (reshuffled every epoch from `seed`, last partial batch dropped), Adam or
/// AdamW, gradient clipping, a learning-rate schedule, validation every `eval_every` steps, early
/// stopping after `patience` evaluations without improvement, and the best validation weights
/// restored at the end. Every reported NLL includes the datasets' standardisation log-Jacobian,
/// so it is in the data's own units.
///
/// A MAF trains through its one-pass density direction; an IAF trains through its `D`-pass
/// density direction, and its rows/s in the progress bar and metrics show that cost.
#[derive(Debug, Clone)]
pub struct Trainer {
    config: TrainerConfig,
}

/// Per-row log-densities of `data` (with its context, for a conditional model) under `model`,
/// evaluated in chunks of 8192 rows. A model that standardises its input inside (a flow config's
/// `standardizer`) gives them in the data's own units.
///
/// # Errors
/// [`NflowError::ShapeMismatch`] when the data's width differs from the model's, or the
/// dataset's context width from the model's (a conditional model needs a context, an
/// unconditional one takes none).
pub fn log_densities<M: Distribution>(
    model: &M,
    data: &Dataset,
    device: &Device,
) -> Result<Vec<f64>, NflowError> {
    check_fits(model, "data", data)?;
    let indices: Vec<usize> = (0..data.rows()).collect();
    Ok(indices
        .chunks(8192)
        .flat_map(|part| {
            let context = data.context_batch(part, device);
            let lp = model.log_prob_unchecked(data.batch(part, device), context.as_ref());
            lp.to_data().iter::<f64>().collect::<Vec<_>>()
        })
        .collect())
}

/// Mean negative log-likelihood of `data` under `model` (nats per row).
///
/// # Errors
/// As [`log_densities`].
pub fn mean_nll<M: Distribution>(
    model: &M,
    data: &Dataset,
    device: &Device,
) -> Result<f64, NflowError> {
    Ok(-mean_and_two_standard_errors(&log_densities(model, data, device)?).0)
}

/// A shape error unless `data` has the model's width and context width.
fn check_fits<M: Distribution>(model: &M, name: &str, data: &Dataset) -> Result<(), NflowError> {
    if data.cols() != model.features() {
        return Err(NflowError::shape_mismatch(
            name,
            format!("[n, {}] (the model's features)", model.features()),
            format!("[{}, {}]", data.rows(), data.cols()),
        ));
    }
    if data.context_cols() != model.context_features() {
        return Err(NflowError::shape_mismatch(
            format!("{name} context"),
            format!(
                "[n, {}] (the model's context features)",
                model.context_features()
            ),
            format!("[{}, {}]", data.rows(), data.context_cols()),
        ));
    }
    Ok(())
}

/// The mean of `values` and two standard errors of it.
pub fn mean_and_two_standard_errors(values: &[f64]) -> (f64, f64) {
    let n = values.len();
    let mean = values.iter().sum::<f64>() / n as f64;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n.max(2) - 1) as f64;
    (mean, 2.0 * (var / n as f64).sqrt())
}

impl Trainer {
    /// A trainer with `config`.
    ///
    /// # Errors
    /// [`NflowError::TrainerConfig`] naming the first setting that cannot work (see
    /// [`TrainerConfigError`]).
    pub fn new(config: TrainerConfig) -> Result<Self, NflowError> {
        use TrainerConfigError as E;
        let c = &config;
        let error = if c.batch_size == 0 {
            Some(E::ZeroBatchSize)
        } else if c.max_steps == 0 {
            Some(E::ZeroMaxSteps)
        } else if c.eval_every == 0 {
            Some(E::ZeroEvalEvery)
        } else if c.patience == 0 {
            Some(E::ZeroPatience)
        } else if !(c.learning_rate > 0.0 && c.learning_rate <= 1.0) {
            Some(E::LearningRate(c.learning_rate))
        } else if !(0.0..=c.learning_rate).contains(&c.min_learning_rate) {
            Some(E::MinLearningRate {
                min: c.min_learning_rate,
                learning_rate: c.learning_rate,
            })
        } else if let Some(norm) = c
            .gradient_clip_norm
            .filter(|n| !(*n > 0.0 && n.is_finite()))
        {
            Some(E::GradientClipNorm(norm))
        } else if !(c.weight_decay >= 0.0 && c.weight_decay.is_finite()) {
            Some(E::WeightDecay(c.weight_decay))
        } else {
            None
        };
        match error {
            Some(e) => Err(e.into()),
            None => Ok(Self { config }),
        }
    }

    /// The settings.
    pub fn config(&self) -> &TrainerConfig {
        &self.config
    }

    fn scheduler(&self) -> Result<ModuleLrScheduler, NflowError> {
        let c = &self.config;
        match c.schedule {
            LrSchedule::Constant => Ok(ModuleLrScheduler::new(ConstantLr::from(c.learning_rate))),
            LrSchedule::Cosine => {
                CosineAnnealingLrSchedulerConfig::new(c.learning_rate, c.max_steps)
                    .with_min_lr(c.min_learning_rate)
                    .init()
                    .map_err(|e| TrainerConfigError::Schedule(e).into())
            }
        }
    }

    /// Trains `model` (built on any device; it is moved to `device.autodiff()` for training) on
    /// `train`, early-stopping on `validation`; returns the best-validation model (as its
    /// inference copy, on `device`) and the report.
    ///
    /// A conditional model (`context_features() > 0`) trains on the datasets' context columns:
    /// it fits `p(x | c)`.
    ///
    /// # Errors
    /// A [`TrainFailure`] holding [`NflowError::ShapeMismatch`] before any step when a dataset's
    /// width or context width differs from the model's; [`NflowError::Diverged`] when the training
    /// loss becomes non-finite and [`NflowError::NonFiniteValidation`] when the validation NLL
    /// does, each with the best model so far; [`NflowError::Io`] when the metrics log cannot be
    /// written.
    pub fn fit<M>(
        &self,
        model: M,
        train: &Dataset,
        validation: &Dataset,
        device: &Device,
    ) -> Result<(M, TrainReport), TrainFailure<M>>
    where
        M: Module + Distribution,
    {
        self.fit_with(model, train, validation, device, |model, _| model)
    }

    /// [`Trainer::fit`] with a hook that `prepare`s the model before every training step
    /// ([`TrainPhase::Step`], on the training copy) and before every validation
    /// ([`TrainPhase::Evaluate`], on the inference copy that may become the best model).
    ///
    /// Order- and connectivity-agnostic MADE training (the MADE paper's mask sampling) is this hook:
    /// switch to a random mask set before each step, and to a fixed set (or an ensemble) for
    /// validation.
    ///
    /// # Errors
    /// As [`Trainer::fit`].
    pub fn fit_with<M>(
        &self,
        model: M,
        train: &Dataset,
        validation: &Dataset,
        device: &Device,
        mut prepare: impl FnMut(M, TrainPhase) -> M,
    ) -> Result<(M, TrainReport), TrainFailure<M>>
    where
        M: Module + Distribution,
    {
        let c = &self.config;
        let fail = |error: NflowError| TrainFailure { error, best: None };
        for (name, data) in [("training data", train), ("validation data", validation)] {
            check_fits(&model, name, data).map_err(fail)?;
        }
        let batch_size = c.batch_size.min(train.rows());
        let mut metrics = match &c.metrics_path {
            Some(path) => Some((
                std::fs::File::create(path)
                    .map_err(|source| NflowError::Io {
                        path: path.clone(),
                        source,
                    })
                    .map_err(fail)?,
                path.clone(),
            )),
            None => None,
        };

        let train_device = device.clone().autodiff();
        let mut model = model.to_device(&train_device).train();
        let clip = c
            .gradient_clip_norm
            .map(|n| GradientClippingConfig::Norm(n as f32));
        let clip = clip.map(|config| config.init());
        let mut optimizer = match c.optimizer {
            OptimizerKind::Adam => FusedAdam::new().init(clip),
            OptimizerKind::AdamW => FusedAdam::new()
                .with_weight_decay(c.weight_decay as f32)
                .init(clip),
        };
        let mut scheduler = self.scheduler().map_err(fail)?;
        let mut rng = StdRng::seed_from_u64(c.seed);
        let mut order: Vec<usize> = (0..train.rows()).collect();
        order.shuffle(&mut rng);
        let mut cursor = 0;

        let bar = if c.progress {
            ProgressBar::new(c.max_steps as u64)
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:30} {pos}/{len} steps {elapsed_precise} (ETA {eta}) | {msg}",
            )
            .expect("valid template"),
        );

        let start = Instant::now();
        let mut history = Vec::new();
        let mut best: Option<(f64, usize, M)> = None;
        let mut since_best = 0;
        let (mut window_loss, mut window_steps) = (0.0, 0usize);
        let mut window_start = Instant::now();
        let mut train_seconds = 0.0;
        let mut step = 0;
        let mut stopped_early = false;
        while step < c.max_steps {
            if cursor + batch_size > order.len() {
                order.shuffle(&mut rng);
                cursor = 0;
            }
            let rows = &order[cursor..cursor + batch_size];
            let x = train.batch(rows, &train_device);
            let context = train.context_batch(rows, &train_device);
            cursor += batch_size;
            model = prepare(model, TrainPhase::Step(step));
            let lr = scheduler.step();
            // The step on the pool's workers (`on_workers`): its parallel operations start there.
            let (updated, loss_value) = nflow_core::on_workers(|| {
                let loss = model.log_prob_unchecked(x, context.as_ref()).mean().neg();
                let loss_value = loss.clone().into_scalar::<f64>();
                if !loss_value.is_finite() {
                    return (None, loss_value);
                }
                let grads = GradientsParams::from_grads(loss.backward(), &model);
                (Some(optimizer.step(lr.clone(), model, grads)), loss_value)
            });
            let Some(updated) = updated else {
                bar.abandon();
                let progress = Progress::stopped(step, batch_size, start, train_seconds);
                return Err(TrainFailure {
                    // 1-based: the number of the step whose loss was not finite.
                    error: NflowError::Diverged {
                        step: step + 1,
                        loss: loss_value,
                    },
                    best: progress.finish(best, history, device).map(Box::new),
                });
            };
            model = updated;
            step += 1;
            window_loss += loss_value;
            window_steps += 1;
            bar.inc(1);

            if step % c.eval_every == 0 || step == c.max_steps {
                let window_seconds = window_start.elapsed().as_secs_f64();
                train_seconds += window_seconds;
                let inference = prepare(model.valid(), TrainPhase::Evaluate);
                let validation_nll = mean_nll(&inference, validation, device).map_err(fail)?;
                if !validation_nll.is_finite() {
                    bar.abandon();
                    let progress = Progress::stopped(step, batch_size, start, train_seconds);
                    return Err(TrainFailure {
                        error: NflowError::NonFiniteValidation {
                            step,
                            nll: validation_nll,
                        },
                        best: progress.finish(best, history, device).map(Box::new),
                    });
                }
                let improved = best.as_ref().is_none_or(|(b, _, _)| validation_nll < *b);
                if improved {
                    best = Some((validation_nll, step, inference));
                    since_best = 0;
                } else {
                    since_best += 1;
                }
                let record = EvalRecord {
                    step,
                    epoch: (step * batch_size) as f64 / train.rows() as f64,
                    train_nll: window_loss / window_steps as f64,
                    validation_nll,
                    learning_rate: lr.base(),
                    rows_per_second: (window_steps * batch_size) as f64 / window_seconds,
                    elapsed_seconds: start.elapsed().as_secs_f64(),
                    best: improved,
                };
                bar.set_message(format!(
                    "epoch {:.1} | train NLL {:.4} | val NLL {:.4} | {:.0} rows/s",
                    record.epoch, record.train_nll, record.validation_nll, record.rows_per_second
                ));
                if let Some((file, path)) = metrics.as_mut() {
                    let line = serde_json::to_string(&record).expect("records serialise");
                    writeln!(file, "{line}")
                        .map_err(|source| NflowError::Io {
                            path: path.clone(),
                            source,
                        })
                        .map_err(fail)?;
                }
                history.push(record);
                (window_loss, window_steps) = (0.0, 0);
                if since_best >= c.patience {
                    stopped_early = step < c.max_steps;
                    break;
                }
                window_start = Instant::now();
            }
        }
        bar.finish();
        let progress = Progress {
            steps: step,
            batch_size,
            start,
            train_seconds,
            stopped_early,
        };
        Ok(progress
            .finish(best, history, device)
            .expect("at least one evaluation"))
    }
}

/// When [`Trainer::fit_with`]'s hook is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrainPhase {
    /// Before training step `n` (0-based), on the training copy of the model.
    Step(usize),
    /// Before a validation, on the inference copy of the model.
    Evaluate,
}

/// Where training stood, to build its report.
struct Progress {
    steps: usize,
    batch_size: usize,
    start: Instant,
    train_seconds: f64,
    stopped_early: bool,
}

impl Progress {
    /// Training stopped by a fault after `steps` steps.
    fn stopped(steps: usize, batch_size: usize, start: Instant, train_seconds: f64) -> Self {
        Self {
            steps,
            batch_size,
            start,
            train_seconds,
            stopped_early: true,
        }
    }

    /// The best model (on `device`) and the report, if any evaluation succeeded.
    fn finish<M: Module>(
        self,
        best: Option<(f64, usize, M)>,
        history: Vec<EvalRecord>,
        device: &Device,
    ) -> Option<(M, TrainReport)> {
        let (best_validation_nll, best_step, best_model) = best?;
        let report = TrainReport {
            steps: self.steps,
            best_step,
            best_validation_nll,
            stopped_early: self.stopped_early,
            seconds: self.start.elapsed().as_secs_f64(),
            rows_per_second: (self.steps * self.batch_size) as f64 / self.train_seconds.max(1e-9),
            history,
        };
        Some((best_model.to_device(device), report))
    }
}

/// Training that did not finish: the error, and the best model and report so far when at least
/// one evaluation succeeded (a long run is not lost to a late divergence).
///
/// Converts into [`NflowError`] (dropping the model), so `?` works in functions returning
/// nflow's one error type:
///
/// ```
/// use nflow_flows::MafConfig;
/// use nflow_train::{ToyDataset, Trainer, TrainerConfig};
///
/// fn fit() -> nflow_core::Result<f64> {
///     let device = nflow_core::default_device();
///     let splits = ToyDataset::Moons.sample(500, 0)?.split(0.8, 0.1, 0)?;
///     let flow = MafConfig::new(2).with_layers(1).with_hidden_sizes(vec![8]).init(&device)?;
///     let trainer = Trainer::new(TrainerConfig::new().with_max_steps(5).with_progress(false))?;
///     let (_flow, report) = trainer.fit(flow, &splits.train, &splits.validation, &device)?;
///     Ok(report.best_validation_nll)
/// }
/// assert!(fit().unwrap().is_finite());
/// ```
#[derive(Debug)]
pub struct TrainFailure<M> {
    /// What stopped training: a bad dataset, [`NflowError::Diverged`],
    /// [`NflowError::NonFiniteValidation`], an unwritable metrics log.
    pub error: NflowError,
    /// The best-validation model (inference copy, on the caller's device) and the report up to
    /// the failure, when an evaluation succeeded before it.
    pub best: Option<Box<(M, TrainReport)>>,
}

impl<M> std::fmt::Display for TrainFailure<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.best.as_deref() {
            Some((_, report)) => write!(
                f,
                "{} (the best model so far, from step {} with validation NLL {}, is kept)",
                self.error, report.best_step, report.best_validation_nll
            ),
            None => write!(f, "{}", self.error),
        }
    }
}

impl<M: std::fmt::Debug> std::error::Error for TrainFailure<M> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl<M> From<TrainFailure<M>> for NflowError {
    fn from(failure: TrainFailure<M>) -> Self {
        failure.error
    }
}
