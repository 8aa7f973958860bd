//! [`AutoregressiveFlowConfig`]: one description of every masked autoregressive flow, with the
//! friendly constructors [`MafConfig`] and [`IafConfig`].

use burn::config::Config;
use burn::tensor::Device;
use nflow_core::persist::ModelConfig;
use nflow_core::{
    Chain, FlowConfigError, GaussianBaseKind, NflowError, Result, Standardizer, derive_seed,
};
use nflow_made::{Activation, HiddenDegrees, MadeConfig};

use crate::affine_transformer::AffineTransformer;
use crate::batch_norm::BatchNorm;
use crate::flow::AutoregressiveFlow;
use crate::layer::FlowLayer;
use crate::masked_autoregressive::MaskedAutoregressive;
use crate::orientation::Orientation;
use crate::permutation::{Permutation, PermutationKind};
use crate::transformer::TransformerKind;
use crate::transformer_spec::TransformerSpec;

const PURPOSE_MADE: u64 = 11;
const PURPOSE_PERMUTATION: u64 = 12;
const PURPOSE_BASE: u64 = 13;

/// Everything that describes a masked autoregressive flow: its orientation (MAF or IAF), its
/// elementwise transformer, each layer's MADE, what goes between layers, and the base.
///
/// `init` builds `layer₀, [permutation, batch norm], layer₁, …, layer_{L−1}, [standardize]`
/// (base → data) on a Gaussian base; every MADE is seeded by `derive_seed(seed, …, layer)`, so one seed fixes the
/// whole flow. The config is saved with the weights and rebuilds the flow exactly.
///
/// [`MafConfig::new`] and [`IafConfig::new`] start one in each orientation; flip an existing
/// config with [`with_orientation`](Self::with_orientation) to compare the two like for like.
///
/// # Example
///
/// ```
/// use burn::tensor::Tensor;
/// use nflow_core::Distribution;
/// use nflow_flows::{AffineTransformer, MafConfig, Orientation};
/// use rand::SeedableRng;
///
/// let device = nflow_core::default_device();
/// let config = MafConfig::new(2)
///     .with_layers(3)
///     .with_hidden_sizes(vec![16, 16])
///     .with_transformer(AffineTransformer::new(2.0).into());
/// let maf = config.init(&device).unwrap();
/// let lp = maf.log_prob(Tensor::<2>::zeros([4, 2], &device), None).unwrap(); // 1 pass / layer
/// assert_eq!(lp.dims(), [4]);
///
/// let iaf = config.with_orientation(Orientation::Iaf).init(&device).unwrap();
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let (x, lp) = iaf.sample_and_log_prob(8, None, &mut rng).unwrap(); // 1 pass / layer
/// assert_eq!((x.dims(), lp.dims()), ([8, 2], [8]));
/// ```
#[derive(Config, Debug)]
pub struct AutoregressiveFlowConfig {
    /// Number of features `D`.
    pub features: usize,
    /// MAF (density in one pass per layer) or IAF (sampling in one pass per layer).
    #[config(default = "Orientation::Maf")]
    pub orientation: Orientation,
    /// The elementwise transformer every autoregressive layer applies.
    #[config(default = "TransformerSpec::new(AffineTransformer::default())")]
    pub transformer: TransformerSpec,
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
    #[config(default = "HiddenDegrees::Sorted")]
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
    /// Standardisation of the data, fitted on training data (e.g. `Standardizer::fit`): a frozen
    /// layer at the data end, so `log_prob` takes data in its own units (the log-Jacobian
    /// included) and samples come out in them. `None`: the flow sees the data as they are.
    #[config(default = "None")]
    pub standardizer: Option<Standardizer>,
    /// Scale of the MADEs' initial output weights; small values start each layer near the
    /// identity.
    #[config(default = 0.01)]
    pub output_init_scale: f64,
    /// Seed for every random choice: MADE weights, random permutations.
    #[config(default = 0)]
    pub seed: u64,
}

impl AutoregressiveFlowConfig {
    /// Builds the flow on `device`.
    ///
    /// # Errors
    /// [`NflowError::FlowConfig`] for zero features or layers, a bad permutation, bad batch-norm
    /// constants, a bad initial scale or bad settings of a built-in transformer (a transformer of
    /// your own reports whatever its `validate` returns); [`NflowError::Made`] for MADE settings
    /// that cannot work.
    pub fn init(&self, device: &Device) -> Result<AutoregressiveFlow> {
        let d = self.features;
        if d == 0 {
            return Err(FlowConfigError::ZeroFeatures.into());
        }
        if self.layers == 0 {
            return Err(FlowConfigError::ZeroLayers.into());
        }
        // Checked before any MADE is built, so a bad transformer is reported as itself.
        self.transformer.validate()?;
        let transformer = self.transformer.transformer();
        if !(self.output_init_scale >= 0.0 && self.output_init_scale.is_finite()) {
            return Err(FlowConfigError::BadInitScale(self.output_init_scale).into());
        }
        let mut layers = Vec::new();
        for l in 0..self.layers {
            let made = MadeConfig::new(d, self.hidden_sizes.clone())
                .with_context_features(self.context_features)
                .with_params_per_dim(transformer.params_per_dim())
                .with_activation(self.activation)
                .with_hidden_degrees(self.hidden_degrees)
                .with_residual(self.residual)
                .with_output_init_scale(self.output_init_scale)
                .with_seed(derive_seed(self.seed, PURPOSE_MADE, l))
                .init(device)?;
            layers.push(FlowLayer::Autoregressive(MaskedAutoregressive::new(
                made,
                self.transformer.clone(),
                self.orientation,
            )?));
            if l + 1 < self.layers {
                let seed = derive_seed(self.seed, PURPOSE_PERMUTATION, l);
                if let Some(order) = self.permutation.order(d, seed)? {
                    layers.push(FlowLayer::Permutation(Permutation::new(order, device)?));
                }
                if self.batch_norm {
                    layers.push(FlowLayer::BatchNorm(BatchNorm::new(
                        d,
                        self.batch_norm_momentum,
                        self.batch_norm_epsilon,
                        device,
                    )?));
                }
            }
        }
        if let Some(standardizer) = &self.standardizer {
            standardizer.validate(d)?;
            layers.push(FlowLayer::Standardize(standardizer.layer(device)?));
        }
        let base = self
            .base
            .init_seeded(d, derive_seed(self.seed, PURPOSE_BASE, 0), device)?;
        AutoregressiveFlow::new(Chain::new(layers)?, base, self.clone())
    }
}

impl ModelConfig for AutoregressiveFlowConfig {
    type Model = AutoregressiveFlow;

    fn init(&self, device: &Device) -> Result<AutoregressiveFlow> {
        AutoregressiveFlowConfig::init(self, device)
    }

    /// Reads the config, and also the layout saved before transformers were configurable:
    /// `{"kind": "maf" | "iaf", "config": {…, "log_scale_bound": c}}` (affine, bound `c`). The
    /// transformer is read first, so an unregistered kind is the typed
    /// [`FlowConfigError::UnknownTransformer`].
    fn from_saved_json(value: serde_json::Value) -> Result<Self> {
        let load = |reason: String| NflowError::Load {
            path: Default::default(),
            reason,
        };
        let value = match value {
            serde_json::Value::Object(mut top) if top.contains_key("kind") => {
                let orientation = match top.remove("kind") {
                    Some(serde_json::Value::String(k)) if k == "maf" || k == "iaf" => k,
                    Some(other) => {
                        return Err(load(format!(
                            "unknown flow kind {other} (expected \"maf\" or \"iaf\")"
                        )));
                    }
                    None => unreachable!("checked above"),
                };
                let Some(serde_json::Value::Object(mut config)) = top.remove("config") else {
                    return Err(load(
                        "a saved flow of the older layout needs a \"config\" object".into(),
                    ));
                };
                let bound = config
                    .remove("log_scale_bound")
                    .unwrap_or_else(|| serde_json::json!(3.0));
                config.insert("orientation".into(), orientation.into());
                config.insert(
                    "transformer".into(),
                    serde_json::json!({"kind": AffineTransformer::KIND, "log_scale_bound": bound}),
                );
                serde_json::Value::Object(config)
            }
            other => other,
        };
        if let Some(transformer) = value.get("transformer") {
            TransformerSpec::from_json(transformer.clone())?;
        }
        serde_json::from_value(value).map_err(|e| load(format!("malformed flow config: {e}")))
    }

    /// Weights saved before the one-layer design lived under `….Maf.transform.made.…` or
    /// `….Iaf.transform.made.…`; they are now under `….Autoregressive.made.…`.
    fn legacy_weight_name(name: &str) -> Option<String> {
        [".Maf.transform.made.", ".Iaf.transform.made."]
            .iter()
            .find(|old| name.contains(*old))
            .map(|old| name.replacen(old, ".Autoregressive.made.", 1))
    }
}

/// The friendly name of an [`AutoregressiveFlowConfig`] in the MAF orientation: the MADE reads the
/// data side, so the density (`log_prob`) takes one MADE pass per layer and sampling takes `D`.
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
#[derive(Debug, Clone, Copy)]
pub struct MafConfig;

impl MafConfig {
    /// A MAF config on `features` features with every other setting at its default.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(features: usize) -> AutoregressiveFlowConfig {
        AutoregressiveFlowConfig::new(features).with_orientation(Orientation::Maf)
    }
}

/// The friendly name of an [`AutoregressiveFlowConfig`] in the IAF orientation: the MADE reads the
/// base side, so sampling and `sample_and_log_prob` take one MADE pass per layer and the density
/// of outside data takes `D`.
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
#[derive(Debug, Clone, Copy)]
pub struct IafConfig;

impl IafConfig {
    /// An IAF config on `features` features with every other setting at its default.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(features: usize) -> AutoregressiveFlowConfig {
        AutoregressiveFlowConfig::new(features).with_orientation(Orientation::Iaf)
    }
}
