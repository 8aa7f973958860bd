//! [`MafConfig`] and [`IafConfig`]: builders of whole autoregressive flows.

use burn::config::Config;
use burn::tensor::Device;
use nflow_core::{Chain, GaussianBaseKind, Result, derive_seed};
use nflow_made::{Activation, HiddenDegrees, MadeConfig};

use crate::affine_autoregressive::AffineAutoregressive;
use crate::batch_norm::BatchNorm;
use crate::error::FlowConfigError;
use crate::flow::{AutoregressiveFlow, SavedFlowConfig};
use crate::iaf::IafLayer;
use crate::layer::FlowLayer;
use crate::maf::MafLayer;
use crate::permutation::{Permutation, PermutationKind};

const PURPOSE_MADE: u64 = 11;
const PURPOSE_PERMUTATION: u64 = 12;

/// Which autoregressive layer a flow stacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowKind {
    /// Masked autoregressive flow: density in one pass per layer, sampling in `D`.
    Maf,
    /// Inverse autoregressive flow: sampling in one pass per layer, density of outside data in `D`.
    Iaf,
}

/// The fields both builders share, read out of either config.
pub(crate) struct FlowSpec<'a> {
    pub features: usize,
    pub context_features: usize,
    pub layers: usize,
    pub hidden_sizes: &'a [usize],
    pub activation: Activation,
    pub hidden_degrees: HiddenDegrees,
    pub residual: bool,
    pub permutation: &'a PermutationKind,
    pub batch_norm: bool,
    pub batch_norm_momentum: f64,
    pub batch_norm_epsilon: f64,
    pub base: GaussianBaseKind,
    pub log_scale_bound: f64,
    pub output_init_scale: f64,
    pub seed: u64,
}

/// Builds the chain `layer₀, [perm, bn], layer₁, …, layer_{L−1}` (base → data) and the base.
pub(crate) fn build(
    spec: &FlowSpec,
    kind: FlowKind,
    saved: SavedFlowConfig,
    device: &Device,
) -> Result<AutoregressiveFlow> {
    let d = spec.features;
    if d == 0 {
        return Err(FlowConfigError::ZeroFeatures.into());
    }
    if spec.layers == 0 {
        return Err(FlowConfigError::ZeroLayers.into());
    }
    if !(spec.log_scale_bound > 0.0 && spec.log_scale_bound.is_finite()) {
        return Err(FlowConfigError::BadLogScaleBound(spec.log_scale_bound).into());
    }
    let mut layers = Vec::new();
    for l in 0..spec.layers {
        let made = MadeConfig::new(d, spec.hidden_sizes.to_vec())
            .with_context_features(spec.context_features)
            .with_params_per_dim(2)
            .with_activation(spec.activation)
            .with_hidden_degrees(spec.hidden_degrees)
            .with_residual(spec.residual)
            .with_output_init_scale(spec.output_init_scale)
            .with_seed(derive_seed(spec.seed, PURPOSE_MADE, l))
            .init(device)?;
        let transform = AffineAutoregressive::new(made, spec.log_scale_bound);
        layers.push(match kind {
            FlowKind::Maf => FlowLayer::Maf(MafLayer::new(transform)),
            FlowKind::Iaf => FlowLayer::Iaf(IafLayer::new(transform)),
        });
        if l + 1 < spec.layers {
            let seed = derive_seed(spec.seed, PURPOSE_PERMUTATION, l);
            if let Some(order) = spec.permutation.order(d, seed)? {
                layers.push(FlowLayer::Permutation(Permutation::new(order, device)?));
            }
            if spec.batch_norm {
                layers.push(FlowLayer::BatchNorm(BatchNorm::new(
                    d,
                    spec.batch_norm_momentum,
                    spec.batch_norm_epsilon,
                    device,
                )?));
            }
        }
    }
    let base = spec.base.init(d, device)?;
    AutoregressiveFlow::new(Chain::new(layers)?, base, saved)
}

macro_rules! flow_config {
    ($(#[$doc:meta])* $name:ident, $kind:expr, $variant:ident, $other:ident, $to_other:ident) => {
        $(#[$doc])*
        #[derive(Config, Debug)]
        pub struct $name {
            /// Number of features `D`.
            pub features: usize,
            /// Number of context features `C` (0: unconditional).
            #[config(default = 0)]
            pub context_features: usize,
            /// Number of autoregressive layers.
            #[config(default = 5)]
            pub layers: usize,
            /// Hidden widths of each layer's MADE.
            #[config(default = "vec![64, 64]")]
            pub hidden_sizes: Vec<usize>,
            /// MADE nonlinearity.
            #[config(default = "Activation::Relu")]
            pub activation: Activation,
            /// MADE hidden degree scheme.
            #[config(default = "HiddenDegrees::Sequential")]
            pub hidden_degrees: HiddenDegrees,
            /// MADEs with residual blocks.
            #[config(default = false)]
            pub residual: bool,
            /// Permutation between consecutive layers.
            #[config(default = "PermutationKind::Reverse")]
            pub permutation: PermutationKind,
            /// Batch normalisation between consecutive layers.
            #[config(default = false)]
            pub batch_norm: bool,
            /// Batch-norm running-average momentum `ρ`.
            #[config(default = 0.1)]
            pub batch_norm_momentum: f64,
            /// Batch-norm `ε`.
            #[config(default = 1e-5)]
            pub batch_norm_epsilon: f64,
            /// Base distribution.
            #[config(default = "GaussianBaseKind::Standard")]
            pub base: GaussianBaseKind,
            /// Soft bound `c` on each layer's log-scales (`α = c·tanh(raw/c)`).
            #[config(default = 3.0)]
            pub log_scale_bound: f64,
            /// Scale of the MADEs' initial output weights; small values start each layer near the
            /// identity.
            #[config(default = 0.01)]
            pub output_init_scale: f64,
            /// Seed for every random choice: MADE weights, random permutations.
            #[config(default = 0)]
            pub seed: u64,
        }

        impl $name {
            /// Builds the flow on `device`.
            ///
            /// # Errors
            /// [`NflowError::InvalidConfig`](nflow_core::NflowError::InvalidConfig) for zero
            /// features or layers, a bad permutation, MADE settings that cannot work (see
            /// [`MadeError`](nflow_made::MadeError)), or bad batch-norm constants.
            pub fn init(&self, device: &Device) -> Result<AutoregressiveFlow> {
                let spec = FlowSpec {
                    features: self.features,
                    context_features: self.context_features,
                    layers: self.layers,
                    hidden_sizes: &self.hidden_sizes,
                    activation: self.activation,
                    hidden_degrees: self.hidden_degrees,
                    residual: self.residual,
                    permutation: &self.permutation,
                    batch_norm: self.batch_norm,
                    batch_norm_momentum: self.batch_norm_momentum,
                    batch_norm_epsilon: self.batch_norm_epsilon,
                    base: self.base,
                    log_scale_bound: self.log_scale_bound,
                    output_init_scale: self.output_init_scale,
                    seed: self.seed,
                };
                build(&spec, $kind, SavedFlowConfig::$variant(self.clone()), device)
            }

            /// The same settings for the other orientation (MAF ↔ IAF): same MADEs, permutations,
            /// base and seed, so the two can be compared like for like.
            pub fn $to_other(&self) -> $other {
                // The two configs have identical fields by construction (one macro).
                let value = serde_json::to_value(self).expect("configs serialise");
                serde_json::from_value(value).expect("MafConfig and IafConfig share their fields")
            }
        }
    };
}

flow_config!(
    /// Builder of a masked autoregressive flow: `layers` [`MafLayer`]s with permutations (and
    /// optionally batch norm) between them, on a Gaussian base. Density (`log_prob`) takes one
    /// MADE pass per layer; sampling takes `D` per layer.
    ///
    /// # Example
    ///
    /// ```
    /// use burn::tensor::Tensor;
    /// use nflow_core::Distribution;
    /// use nflow_flows::MafConfig;
    /// use rand::SeedableRng;
    ///
    /// let device = nflow_core::default_device();
    /// let flow = MafConfig::new(2).with_layers(3).with_hidden_sizes(vec![16, 16]).init(&device).unwrap();
    /// let lp = flow.log_prob(Tensor::<2>::zeros([4, 2], &device), None).unwrap();
    /// assert_eq!(lp.dims(), [4]);
    /// let x = flow.sample(8, None, &mut rand::rngs::StdRng::seed_from_u64(0)).unwrap();
    /// assert_eq!(x.dims(), [8, 2]);
    /// ```
    MafConfig,
    FlowKind::Maf,
    Maf,
    IafConfig,
    to_iaf
);

flow_config!(
    /// Builder of an inverse autoregressive flow: `layers` [`IafLayer`]s with permutations (and
    /// optionally batch norm) between them, on a Gaussian base. Sampling and
    /// `sample_and_log_prob` take one MADE pass per layer; the density of outside data takes `D`
    /// per layer.
    ///
    /// # Example
    ///
    /// ```
    /// use nflow_core::Distribution;
    /// use nflow_flows::IafConfig;
    /// use rand::SeedableRng;
    ///
    /// let device = nflow_core::default_device();
    /// let flow = IafConfig::new(3).with_layers(2).with_hidden_sizes(vec![16]).init(&device).unwrap();
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    /// let (x, log_prob) = flow.sample_and_log_prob(8, None, &mut rng).unwrap();
    /// assert_eq!((x.dims(), log_prob.dims()), ([8, 3], [8]));
    /// ```
    IafConfig,
    FlowKind::Iaf,
    Iaf,
    MafConfig,
    to_maf
);
