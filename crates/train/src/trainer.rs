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
use burn::optim::{AdamConfig, AdamWConfig, GradientsParams};
use burn::tensor::Device;
use indicatif::{ProgressBar, ProgressStyle};
use nflow_core::{Distribution, NflowError};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::Serialize;

use crate::dataset::Dataset;

/// The optimiser.
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

/// Per-row log-densities of `data` under `model`, in data units (the dataset's standardisation
/// log-Jacobian added), evaluated in chunks of 8192 rows.
pub fn log_densities<M: Distribution>(model: &M, data: &Dataset, device: &Device) -> Vec<f64> {
    let indices: Vec<usize> = (0..data.rows()).collect();
    indices
        .chunks(8192)
        .flat_map(|part| {
            let lp = model.log_prob_unchecked(data.batch(part, device), None);
            lp.to_data().iter::<f64>().collect::<Vec<_>>()
        })
        .map(|v| v + data.log_det_offset())
        .collect()
}

/// Mean negative log-likelihood of `data` under `model` (nats per row, data units).
pub fn mean_nll<M: Distribution>(model: &M, data: &Dataset, device: &Device) -> f64 {
    -mean_and_two_standard_errors(&log_densities(model, data, device)).0
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
    /// [`NflowError::TrainerConfig`] for a zero batch size, step count or evaluation interval,
    /// or a non-positive learning rate.
    pub fn new(config: TrainerConfig) -> Result<Self, NflowError> {
        let bad = |m: &str| Err(NflowError::TrainerConfig(m.to_string()));
        if config.batch_size == 0 || config.max_steps == 0 || config.eval_every == 0 {
            return bad("batch_size, max_steps and eval_every must be at least 1");
        }
        if !(config.learning_rate > 0.0 && config.learning_rate <= 1.0) {
            return bad("learning_rate must be in (0, 1]");
        }
        if !(0.0..=config.learning_rate).contains(&config.min_learning_rate) {
            return bad("min_learning_rate must be in [0, learning_rate]");
        }
        Ok(Self { config })
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
                    .map_err(NflowError::TrainerConfig)
            }
        }
    }

    /// Trains `model` (built on any device; it is moved to `device.autodiff()` for training) on
    /// `train`, early-stopping on `validation`; returns the best-validation model (as its
    /// inference copy, on `device`) and the report.
    ///
    /// # Errors
    /// [`NflowError::ShapeMismatch`] before any step when a dataset's width differs from the
    /// model's; [`NflowError::TrainerConfig`] for a conditional model; [`NflowError::Diverged`]
    /// when the loss becomes non-finite; [`NflowError::Io`] when the metrics log cannot be written.
    pub fn fit<M>(
        &self,
        model: M,
        train: &Dataset,
        validation: &Dataset,
        device: &Device,
    ) -> Result<(M, TrainReport), NflowError>
    where
        M: Module + Distribution,
    {
        let c = &self.config;
        for (name, data) in [("training data", train), ("validation data", validation)] {
            if data.cols() != model.features() {
                return Err(NflowError::shape_mismatch(
                    name,
                    format!("[n, {}] (the model's features)", model.features()),
                    format!("[{}, {}]", data.rows(), data.cols()),
                ));
            }
        }
        if model.context_features() != 0 {
            return Err(NflowError::TrainerConfig(
                "the trainer fits unconditional models; this one expects a context".into(),
            ));
        }
        let batch_size = c.batch_size.min(train.rows());
        let mut metrics = match &c.metrics_path {
            Some(path) => Some((
                std::fs::File::create(path).map_err(|source| NflowError::Io {
                    path: path.clone(),
                    source,
                })?,
                path.clone(),
            )),
            None => None,
        };

        let train_device = device.clone().autodiff();
        let mut model = model.to_device(&train_device).train();
        let clip = c
            .gradient_clip_norm
            .map(|n| GradientClippingConfig::Norm(n as f32));
        let mut optimizer = match c.optimizer {
            OptimizerKind::Adam => AdamConfig::new()
                .with_epsilon(1e-8)
                .with_grad_clipping(clip)
                .init(),
            OptimizerKind::AdamW => AdamWConfig::new()
                .with_epsilon(1e-8)
                .with_weight_decay(c.weight_decay as f32)
                .with_grad_clipping(clip)
                .init(),
        };
        let mut scheduler = self.scheduler()?;
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
            ProgressStyle::with_template("{bar:30} {pos}/{len} steps {elapsed_precise} | {msg}")
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
            let x = train.batch(&order[cursor..cursor + batch_size], &train_device);
            cursor += batch_size;
            let loss = model.log_prob_unchecked(x, None).mean().neg();
            let lr = scheduler.step();
            let loss_value = loss.clone().into_scalar::<f64>();
            if !loss_value.is_finite() {
                bar.abandon();
                return Err(NflowError::Diverged {
                    step,
                    loss: loss_value,
                });
            }
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optimizer.step(lr.clone(), model, grads);
            step += 1;
            window_loss += loss_value;
            window_steps += 1;
            bar.inc(1);

            if step % c.eval_every == 0 || step == c.max_steps {
                let window_seconds = window_start.elapsed().as_secs_f64();
                train_seconds += window_seconds;
                let inference = model.valid();
                let validation_nll = mean_nll(&inference, validation, device);
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
                    train_nll: window_loss / window_steps as f64 - train.log_det_offset(),
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
                    writeln!(file, "{line}").map_err(|source| NflowError::Io {
                        path: path.clone(),
                        source,
                    })?;
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
        let (best_validation_nll, best_step, best_model) = best.expect("at least one evaluation");
        let report = TrainReport {
            steps: step,
            best_step,
            best_validation_nll,
            stopped_early,
            seconds: start.elapsed().as_secs_f64(),
            rows_per_second: (step * batch_size) as f64 / train_seconds.max(1e-9),
            history,
        };
        Ok((best_model.to_device(device), report))
    }
}
