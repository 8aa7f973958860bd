//! Typed configuration errors of the MADE crate.

use nflow_core::NflowError;

/// A MADE configuration that cannot build a valid autoregressive network.
///
/// Converts into [`NflowError::InvalidConfig`] (boxed, so callers can downcast back to it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MadeError {
    /// `features == 0`.
    #[error("MADE needs at least one feature, got 0")]
    ZeroFeatures,
    /// `params_per_dim == 0`.
    #[error("MADE needs at least one output parameter per dimension, got 0")]
    ZeroParamsPerDim,
    /// No hidden layers, or a hidden layer of width 0.
    #[error("MADE needs at least one hidden layer and no zero-width layer, got hidden sizes {0:?}")]
    BadHiddenSizes(Vec<usize>),
    /// An explicit ordering that is not a permutation of `0..features`.
    #[error("explicit ordering {ordering:?} is not a permutation of 0..{features}")]
    NotAPermutation {
        /// The ordering given.
        ordering: Vec<usize>,
        /// The number of features.
        features: usize,
    },
    /// With sequential degrees, a hidden layer narrower than the number of hidden degrees
    /// (`features − 1`, or `features` with a context) cannot carry every degree, so some outputs
    /// lose inputs they should see.
    #[error(
        "hidden layer {layer} has width {width}, but the sequential degree scheme needs at least \
         {needed} units (one per hidden degree) so that no output is cut off from earlier inputs"
    )]
    HiddenTooNarrow {
        /// Index of the hidden layer.
        layer: usize,
        /// Its width.
        width: usize,
        /// The minimum width.
        needed: usize,
    },
    /// An output (with at least one earlier input to depend on) is connected to no input at all.
    #[error(
        "mask set {mask_set}: output for feature {feature} is cut off from every input \
         (hidden layers too narrow for the sampled degrees)"
    )]
    OutputCutOff {
        /// The mask set.
        mask_set: usize,
        /// The feature (input index) whose outputs are cut off.
        feature: usize,
    },
    /// Residual blocks need every hidden layer to have the same width.
    #[error("residual blocks need equal hidden widths, got {0:?}")]
    UnequalResidualWidths(Vec<usize>),
    /// Several mask sets were asked for, but nothing would differ between them.
    #[error(
        "{0} mask sets were requested, but neither order-agnostic nor connectivity-agnostic \
         resampling is on, so they would all be identical"
    )]
    IdenticalMaskSets(usize),
    /// `num_mask_sets == 0`.
    #[error("MADE needs at least one mask set, got 0")]
    ZeroMaskSets,
    /// A mask set index out of range.
    #[error("mask set {index} does not exist: this MADE has {count} mask sets")]
    NoSuchMaskSet {
        /// The index asked for.
        index: usize,
        /// How many sets there are.
        count: usize,
    },
}

impl From<MadeError> for NflowError {
    fn from(e: MadeError) -> Self {
        NflowError::InvalidConfig(Box::new(e))
    }
}
