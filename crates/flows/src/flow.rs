//! [`AutoregressiveFlow`]: a built MAF or IAF, with its config, saved and loaded as one.

use std::path::Path;

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use nflow_core::persist::{read_json_config, save_model_dir};
use nflow_core::{Chain, Distribution, Flow, GaussianBase, Result, load_module};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::config::{FlowKind, IafConfig, MafConfig};
use crate::layer::FlowLayer;

/// File name of a saved flow's configuration inside its directory.
pub const FLOW_CONFIG_FILE: &str = "flow.json";
/// File name of a saved flow's weights (and batch-norm running averages) inside its directory.
pub const FLOW_WEIGHTS_FILE: &str = "flow.bpk";

/// The config a flow was built from, as saved: `{"kind": "maf" | "iaf", "config": {…}}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", content = "config", rename_all = "lowercase")]
pub enum SavedFlowConfig {
    /// Built by [`MafConfig`].
    Maf(MafConfig),
    /// Built by [`IafConfig`].
    Iaf(IafConfig),
}

impl SavedFlowConfig {
    fn init(&self, device: &Device) -> Result<AutoregressiveFlow> {
        match self {
            SavedFlowConfig::Maf(c) => c.init(device),
            SavedFlowConfig::Iaf(c) => c.init(device),
        }
    }
}

/// A masked (MAF) or inverse (IAF) autoregressive flow built by [`MafConfig`] or [`IafConfig`]:
/// a [`Flow`] of a [`Chain`] of [`FlowLayer`]s on a [`GaussianBase`], plus the config it came
/// from.
///
/// It is a [`Distribution`]: `log_prob` runs every layer's `inverse`, `sample` every layer's
/// `forward`, and `sample_and_log_prob` only the forwards. Which of those is one MADE pass per
/// layer and which is `D` passes depends on [`AutoregressiveFlow::kind`]:
///
/// | | `log_prob` | `sample` | `sample_and_log_prob` |
/// |---|---|---|---|
/// | MAF | 1 pass / layer | `D` passes / layer | `D` passes / layer |
/// | IAF | `D` passes / layer | 1 pass / layer | 1 pass / layer |
///
/// [`AutoregressiveFlow::save`] writes `flow.json` and `flow.bpk`; [`AutoregressiveFlow::load`]
/// rebuilds the flow (orderings, permutations) from the config and loads the weights, so the
/// loaded flow computes exactly the same densities and, from the same seed, the same samples.
#[derive(Module, Debug)]
pub struct AutoregressiveFlow {
    flow: Flow<Chain<FlowLayer>, GaussianBase>,
    #[module(skip)]
    config: SavedFlowConfig,
}

impl AutoregressiveFlow {
    pub(crate) fn new(
        chain: Chain<FlowLayer>,
        base: GaussianBase,
        config: SavedFlowConfig,
    ) -> Result<Self> {
        Ok(Self {
            flow: Flow::new(chain, base)?,
            config,
        })
    }

    /// MAF or IAF.
    pub fn kind(&self) -> FlowKind {
        match self.config {
            SavedFlowConfig::Maf(_) => FlowKind::Maf,
            SavedFlowConfig::Iaf(_) => FlowKind::Iaf,
        }
    }

    /// The config this flow was built from.
    pub fn config(&self) -> &SavedFlowConfig {
        &self.config
    }

    /// The underlying flow (bijector and base).
    pub fn flow(&self) -> &Flow<Chain<FlowLayer>, GaussianBase> {
        &self.flow
    }

    /// The layers, base side first.
    pub fn layers(&self) -> &[FlowLayer] {
        self.flow.transform().layers()
    }

    /// Saves `flow.json` (the config) and `flow.bpk` (weights and running averages) in `dir`,
    /// creating it if needed. Each file is written atomically: an interrupted save leaves no
    /// partly written file.
    ///
    /// # Errors
    /// [`NflowError::Io`](nflow_core::NflowError::Io) when the directory or files cannot be written.
    pub fn save(&self, dir: &Path) -> Result<()> {
        save_model_dir(dir, FLOW_CONFIG_FILE, &self.config, FLOW_WEIGHTS_FILE, self)
    }

    /// Loads a flow saved by [`AutoregressiveFlow::save`] onto `device`.
    ///
    /// # Errors
    /// [`NflowError::Io`](nflow_core::NflowError::Io) for missing files, [`NflowError::Load`](nflow_core::NflowError::Load) for a malformed config or
    /// weights that do not fit it, [`NflowError::InvalidConfig`](nflow_core::NflowError::InvalidConfig) for a config that parses but
    /// cannot build a flow.
    pub fn load(dir: &Path, device: &Device) -> Result<Self> {
        let config: SavedFlowConfig = read_json_config(&dir.join(FLOW_CONFIG_FILE), "flow config")?;
        load_module(config.init(device)?, &dir.join(FLOW_WEIGHTS_FILE))
    }
}

impl Distribution for AutoregressiveFlow {
    fn features(&self) -> usize {
        self.flow.features()
    }

    fn context_features(&self) -> usize {
        self.flow.context_features()
    }

    fn log_prob_unchecked(&self, x: Tensor<2>, context: Option<&Tensor<2>>) -> Tensor<1> {
        self.flow.log_prob_unchecked(x, context)
    }

    fn sample_unchecked<R: Rng + ?Sized>(
        &self,
        n: usize,
        context: Option<&Tensor<2>>,
        rng: &mut R,
    ) -> Tensor<2> {
        self.flow.sample_unchecked(n, context, rng)
    }

    fn sample_and_log_prob_unchecked<R: Rng + ?Sized>(
        &self,
        n: usize,
        context: Option<&Tensor<2>>,
        rng: &mut R,
    ) -> (Tensor<2>, Tensor<1>) {
        self.flow.sample_and_log_prob_unchecked(n, context, rng)
    }
}
