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
    /// With sequential or sorted degrees, a hidden layer narrower than the number of hidden degrees
    /// (`features − 1`, or `features` with a context) cannot carry every degree, so some outputs
    /// lose inputs they should see.
    #[error(
        "hidden layer {layer} has width {width}, but the sequential and sorted degree schemes need at \
         least {needed} units (one per hidden degree) so that no output is cut off from earlier inputs"
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
    /// Two transformer types registered under one name.
    #[error(
        "transformer kind {kind:?} is registered by {existing}; cannot register {new} under it"
    )]
    DuplicateTransformerKind {
        /// The name.
        kind: String,
        /// The type registered first.
        existing: String,
        /// The type that asked for the name.
        new: String,
    },
    /// A standardizer that does not fit the flow (lengths) or cannot be inverted (scales).
    #[error("bad standardizer: {0}")]
    BadStandardizer(String),
    /// A MADE output-layer initial scale that is negative or not finite.
    #[error("output_init_scale must be finite and non-negative, got {0}")]
    BadInitScale(f64),
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

/// A trainer setting that cannot work.
///
/// Held by [`NflowError::TrainerConfig`](crate::NflowError::TrainerConfig); re-exported by
/// `nflow-train`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TrainerConfigError {
    /// `batch_size == 0`.
    #[error("batch_size must be at least 1, got 0")]
    ZeroBatchSize,
    /// `max_steps == 0`.
    #[error("max_steps must be at least 1, got 0")]
    ZeroMaxSteps,
    /// `eval_every == 0`.
    #[error("eval_every must be at least 1, got 0")]
    ZeroEvalEvery,
    /// `patience == 0` (training would stop at the first evaluation that does not improve, which
    /// is almost surely not what was meant).
    #[error("patience must be at least 1, got 0")]
    ZeroPatience,
    /// A learning rate outside `(0, 1]`.
    #[error("learning_rate must be in (0, 1], got {0}")]
    LearningRate(f64),
    /// A final learning rate outside `[0, learning_rate]`.
    #[error("min_learning_rate must be in [0, learning_rate = {learning_rate}], got {min}")]
    MinLearningRate {
        /// The final rate given.
        min: f64,
        /// The peak rate.
        learning_rate: f64,
    },
    /// A gradient-clipping norm that is not positive and finite.
    #[error("gradient_clip_norm must be positive and finite (or None), got {0}")]
    GradientClipNorm(f64),
    /// A weight decay that is negative or not finite.
    #[error("weight_decay must be finite and non-negative, got {0}")]
    WeightDecay(f64),
    /// burn refused the learning-rate schedule.
    #[error("learning-rate schedule: {0}")]
    Schedule(String),
}
