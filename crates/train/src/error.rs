//! Errors of the training crate.

use nflow_core::NflowError;

/// What can stop training.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// Bad data, shapes, configs or files (see [`NflowError`]).
    #[error(transparent)]
    Nflow(#[from] NflowError),
    /// The loss became NaN or infinite.
    #[error("training diverged at step {step}: loss {loss}")]
    Diverged {
        /// The step at which it happened.
        step: usize,
        /// The loss value.
        loss: f64,
    },
    /// A trainer setting that cannot work.
    #[error("invalid trainer configuration: {0}")]
    InvalidConfig(String),
    /// Writing the metrics log failed.
    #[error("cannot write metrics log {path}: {source}")]
    Metrics {
        /// The log file.
        path: std::path::PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}
