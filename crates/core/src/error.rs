//! Typed errors shared by every nflow crate.

use std::path::PathBuf;

/// Boxed error carried by [`NflowError::InvalidConfig`], so downstream crates can attach their own
/// typed configuration errors (and users can downcast to them).
pub type BoxedError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong at nflow's public entry points.
///
/// Constructors validate configurations, and public entry points such as
/// [`Flow`](crate::Flow)'s [`log_prob`](crate::Distribution::log_prob) validate shapes and finiteness before any tensor work,
/// so a bad input is reported here instead of panicking deep inside burn.
#[derive(Debug, thiserror::Error)]
pub enum NflowError {
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
    /// A configuration that cannot describe a valid model.
    #[error("invalid configuration: {0}")]
    InvalidConfig(#[source] BoxedError),
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
