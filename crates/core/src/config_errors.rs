//! The typed configuration errors of nflow's crates.
//!
//! They live here, as plain data (numbers, lists and names, no MADE or flow types), so that the
//! one error type [`NflowError`](crate::NflowError) can hold each as a typed variant: users match
//! on them without downcasting. `nflow-made` and `nflow-flows` re-export their own.

/// A MADE configuration that cannot build a valid autoregressive network.
///
/// Held by [`NflowError::Made`](crate::NflowError::Made); re-exported by `nflow-made`.
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

/// A flow configuration that cannot build a valid flow.
///
/// Held by [`NflowError::FlowConfig`](crate::NflowError::FlowConfig); re-exported by `nflow-flows`.
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
    /// A transformer kind that no registration provides (see `nflow_flows::register_transformer`).
    #[error(
        "unknown transformer kind {kind:?}: registered kinds are {registered:?} (register custom \
         transformers with nflow_flows::register_transformer before building or loading)"
    )]
    UnknownTransformer {
        /// The kind asked for.
        kind: String,
        /// The kinds registered in this process.
        registered: Vec<String>,
    },
    /// Transformer settings that do not parse or do not validate.
    #[error("bad settings for transformer {kind:?}: {reason}")]
    BadTransformer {
        /// The transformer kind.
        kind: String,
        /// What is wrong.
        reason: String,
    },
    /// A conditioner whose output width does not match the transformer it feeds.
    #[error(
        "transformer {kind:?} needs {expected} parameters per dimension, but the MADE outputs {got}"
    )]
    ConditionerWidth {
        /// The transformer kind.
        kind: String,
        /// Parameters per dimension the transformer needs.
        expected: usize,
        /// Parameters per dimension the MADE outputs.
        got: usize,
    },
    /// A transformer that asks for no parameters per dimension.
    #[error("transformer {kind:?} asks for 0 parameters per dimension; it needs at least one")]
    ZeroTransformerParams {
        /// The transformer kind.
        kind: String,
    },
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
