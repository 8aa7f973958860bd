//! Typed errors shared by every nflow crate.

use std::path::PathBuf;

use crate::config_errors::{FlowConfigError, MadeError, TrainerConfigError};

/// Boxed error carried by [`NflowError::InvalidConfig`]: configuration errors of code outside nflow
/// (a user's own bijector or transformer) and plain messages. nflow's own typed configuration
/// errors have variants of their own ([`NflowError::Made`], [`NflowError::FlowConfig`],
/// [`NflowError::TrainerConfig`]).
pub type BoxedError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong at nflow's public entry points: the one error type of every nflow
/// crate (the facade re-exports it as `nflow::Error`).
///
/// Constructors validate configurations, and public entry points such as
/// [`Flow`](crate::Flow)'s [`log_prob`](crate::Distribution::log_prob) validate shapes and finiteness before any tensor work,
/// so a bad input is reported here instead of panicking deep inside burn. Configuration errors of
/// nflow's crates are typed variants, matched without downcasting:
///
/// ```
/// use nflow_core::{MadeError, NflowError};
///
/// fn explain(e: &NflowError) -> String {
///     match e {
///         NflowError::Made(MadeError::HiddenTooNarrow { layer, needed, .. }) => {
///             format!("widen hidden layer {layer} to {needed} units")
///         }
///         NflowError::Diverged { step, .. } => format!("lower the learning rate (diverged at {step})"),
///         other => other.to_string(),
///     }
/// }
/// let e = NflowError::Made(MadeError::HiddenTooNarrow { layer: 0, width: 2, needed: 7 });
/// assert_eq!(explain(&e), "widen hidden layer 0 to 7 units");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NflowError {
    /// Training stopped because the validation NLL became NaN or infinite.
    #[error(
        "validation NLL is {nll} at step {step}: the model gives some validation rows no density"
    )]
    NonFiniteValidation {
        /// The evaluation's step count (steps completed before it).
        step: usize,
        /// The validation NLL.
        nll: f64,
    },
    /// A tensor had the wrong shape.
    #[error("shape mismatch for {what}: expected {expected}, got {got}")]
    ShapeMismatch {
        /// What was being checked (e.g. `"log_prob input"`).
        what: String,
        /// The expected shape, e.g. `[batch, 3]`.
        expected: String,
        /// The shape that came.
        got: String,
    },
    /// A tensor held a NaN or an infinity.
    #[error("non-finite value {value} in {what} at row {row}, column {column}")]
    NonFinite {
        /// What was being checked.
        what: String,
        /// Row (0-based) of the first non-finite entry.
        row: usize,
        /// Column (0-based) of the first non-finite entry.
        column: usize,
        /// The offending value (NaN or ±inf).
        value: f64,
    },
    /// A MADE configuration that cannot build a valid network.
    #[error("invalid MADE configuration: {0}")]
    Made(#[from] MadeError),
    /// A flow configuration that cannot build a valid flow.
    #[error("invalid flow configuration: {0}")]
    FlowConfig(#[from] FlowConfigError),
    /// A trainer setting that cannot work.
    #[error("invalid trainer configuration: {0}")]
    TrainerConfig(#[from] TrainerConfigError),
    /// Any other configuration that cannot describe a valid model (bases, chains, a user's own
    /// bijector or transformer).
    #[error("invalid configuration: {0}")]
    InvalidConfig(#[source] BoxedError),
    /// Training stopped because the loss became NaN or infinite.
    #[error("training diverged at step {step}: loss {loss}")]
    Diverged {
        /// The step whose loss was not finite (1-based: 1 is the first step).
        step: usize,
        /// The loss value.
        loss: f64,
    },
    /// A device name that this build cannot provide.
    #[error("unknown device {name:?}: this build provides {available}")]
    UnknownDevice {
        /// The name that was asked for.
        name: String,
        /// The device names this build accepts.
        available: String,
    },
    /// Reading or writing a file failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A parameter path that names no float parameter of the module (see
    /// [`named_params`](crate::named_params::named_params) for the paths it has).
    #[error("unknown parameter {path:?}: the module has no float parameter at that path")]
    UnknownParameter {
        /// The path that was asked for.
        path: String,
    },
    /// A saved model directory written by a newer version of nflow.
    #[error(
        "cannot load model from {path}: it is in model format version {found}, and this build \
         reads versions up to {supported} (upgrade nflow to load it)"
    )]
    FormatVersion {
        /// The model's `flow.json`.
        path: PathBuf,
        /// The version the file declares.
        found: u64,
        /// The newest version this build reads.
        supported: u64,
    },
    /// A weights file that is not the one its config was saved with (truncated, appended to,
    /// corrupted or replaced).
    #[error(
        "cannot load model weights {path}: their SHA-256 is {found}, but the model's flow.json \
         records {expected} (the file was truncated, changed or replaced)"
    )]
    Checksum {
        /// The weights file.
        path: PathBuf,
        /// The checksum recorded in the config.
        expected: String,
        /// The checksum of the file as read.
        found: String,
    },
    /// A saved model (config or weights) could not be read back.
    #[error("cannot load model from {path}: {reason}")]
    Load {
        /// The file or directory.
        path: PathBuf,
        /// Why it failed.
        reason: String,
    },
}

impl NflowError {
    /// An [`NflowError::InvalidConfig`] carrying a plain message.
    pub fn invalid_config(message: impl Into<String>) -> Self {
        NflowError::InvalidConfig(message.into().into())
    }

    /// An [`NflowError::ShapeMismatch`] built from anything printable.
    pub fn shape_mismatch(
        what: impl Into<String>,
        expected: impl std::fmt::Display,
        got: impl std::fmt::Display,
    ) -> Self {
        NflowError::ShapeMismatch {
            what: what.into(),
            expected: expected.to_string(),
            got: got.to_string(),
        }
    }
}

/// `Result` with [`NflowError`].
pub type Result<T, E = NflowError> = std::result::Result<T, E>;
