//! [`CliError`]: what went wrong, as one line, and the exit code that goes with it.

use nflow::Error as NflowError;

/// Exit code for bad input: a malformed file, a width that does not fit, an unknown option value,
/// a missing or corrupt model, an output path that exists. Nothing is written.
pub const EXIT_BAD_INPUT: i32 = 2;
/// Exit code for a run that started but could not finish (training diverged, a disk error).
pub const EXIT_FAILED: i32 = 1;

/// An error of the command line, printed as one line on stderr.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The input is wrong; the message names the file, line and column where they apply.
    #[error("{0}")]
    BadInput(String),
    /// nflow refused the input (a model directory that does not load, data that do not fit it).
    #[error("{context}: {source}")]
    Model {
        /// What was being done.
        context: String,
        /// nflow's error.
        #[source]
        source: NflowError,
    },
    /// The run started but did not finish.
    #[error("{0}")]
    Failed(String),
}

impl CliError {
    /// A bad-input error.
    pub fn bad(message: impl Into<String>) -> Self {
        Self::BadInput(message.into())
    }

    /// An nflow error met while doing `context`.
    pub fn model(context: impl Into<String>, source: NflowError) -> Self {
        Self::Model {
            context: context.into(),
            source,
        }
    }

    /// The process exit code.
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::BadInput(_) => EXIT_BAD_INPUT,
            Self::Model { source, .. } => match source {
                NflowError::Diverged { .. } | NflowError::NonFiniteValidation { .. } => EXIT_FAILED,
                _ => EXIT_BAD_INPUT,
            },
            Self::Failed(_) => EXIT_FAILED,
        }
    }
}

/// `Result` with [`CliError`].
pub type CliResult<T> = Result<T, CliError>;
