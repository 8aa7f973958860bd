//! Typed configuration errors of the flows crate.

use nflow_core::NflowError;

/// A flow configuration that cannot build a valid flow.
///
/// Converts into [`NflowError::InvalidConfig`] (boxed; downcast to recover it).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FlowConfigError {
    /// `features == 0`.
    #[error("a flow needs at least one feature, got 0")]
    ZeroFeatures,
    /// `layers == 0`.
    #[error("a flow needs at least one autoregressive layer, got 0")]
    ZeroLayers,
    /// An explicit permutation that is not a permutation of `0..features`.
    #[error("{order:?} is not a permutation of 0..{features}")]
    NotAPermutation {
        /// The order given.
        order: Vec<usize>,
        /// The number of features.
        features: usize,
    },
    /// The soft bound on log-scales must be positive and finite.
    #[error("log_scale_bound must be positive and finite, got {0}")]
    BadLogScaleBound(f64),
    /// Batch-norm momentum outside `[0, 1]` or a non-positive epsilon.
    #[error(
        "batch norm needs momentum in [0, 1] and epsilon > 0, got momentum {momentum} and epsilon {epsilon}"
    )]
    BadBatchNorm {
        /// The momentum given.
        momentum: f64,
        /// The epsilon given.
        epsilon: f64,
    },
}

impl From<FlowConfigError> for NflowError {
    fn from(e: FlowConfigError) -> Self {
        NflowError::InvalidConfig(Box::new(e))
    }
}
