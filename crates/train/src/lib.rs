//! # nflow-train
//!
//! Training for nflow's flows: an in-memory [`Dataset`] (with optional context columns, for
//! conditional densities) with splitting, the [`Standardizer`] fitted on it (and carried inside
//! the model), a [`Trainer`] with Adam/AdamW,
//! gradient clipping, learning-rate schedules, early stopping and best-weight restoration, a
//! progress bar and a JSON-lines metrics log, and the 2-D toy densities of FFJORD with reference
//! log-densities ([`ToyDataset`]).
//!
//! ```
//! use nflow_flows::MafConfig;
//! use nflow_train::{ToyDataset, Trainer, TrainerConfig};
//!
//! let device = nflow_core::default_device();
//! let data = ToyDataset::Moons.sample(2000, 0).unwrap();
//! let splits = data.split(0.8, 0.1, 0).unwrap();
//! let flow = MafConfig::new(2).with_layers(2).with_hidden_sizes(vec![16, 16]).init(&device).unwrap();
//! let trainer = Trainer::new(TrainerConfig::new().with_max_steps(20).with_eval_every(10).with_progress(false)).unwrap();
//! let (flow, report) = trainer.fit(flow, &splits.train, &splits.validation, &device).unwrap();
//! assert_eq!(report.steps, 20);
//! let test_nll = nflow_train::mean_nll(&flow, &splits.test, &device).unwrap();
//! assert!(test_nll.is_finite());
//! ```

#![warn(missing_docs)]

mod dataset;
mod fused_adam;
mod toy;
mod trainer;

pub use dataset::{Dataset, Splits};
pub use fused_adam::FusedAdam;
pub use nflow_core::Standardizer;
pub use nflow_core::TrainerConfigError;
pub use toy::{Reference, ReferenceKind, ToyDataset};
pub use trainer::{
    EvalRecord, LrSchedule, OptimizerKind, TrainFailure, TrainPhase, TrainReport, Trainer,
    TrainerConfig, log_densities, mean_and_two_standard_errors, mean_nll,
};
