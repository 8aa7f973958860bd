//! [`MafMog`]: a masked autoregressive flow on a MADE MoG base (MAF MoG, Papamakarios et al.
//! 2017).

use std::path::Path;

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Tensor};
use nflow_core::persist::{ModelConfig, load_model, save_model};
use nflow_core::{Chain, Distribution, Flow, Result, derive_seed};
use nflow_made::{MadeConfig, MadeMog, MadeMogConfig};
use rand::Rng;

use crate::config::AutoregressiveFlowConfig;
use crate::layer::FlowLayer;

const PURPOSE_MOG: u64 = 14;

/// Settings of a [`MafMog`]: the flow's layers (as for any autoregressive flow; its `base` is
/// not used) and the MADE MoG base.
#[derive(Config, Debug)]
pub struct MafMogConfig {
    /// The flow's layers, orientation, transformer, standardisation and seed.
    pub flow: AutoregressiveFlowConfig,
    /// Mixture components per conditional of the base.
    #[config(default = 10)]
    pub components: usize,
    /// Hidden widths of the base's MADE (`None`: the flow's).
    #[config(default = "None")]
    pub base_hidden_sizes: Option<Vec<usize>>,
}

impl MafMogConfig {
    /// Builds the model on `device`.
    ///
    /// # Errors
    /// The errors of [`AutoregressiveFlowConfig::init`] and [`MadeMogConfig::init`].
    pub fn init(&self, device: &Device) -> Result<MafMog> {
        let (chain, _) = self.flow.init(device)?.into_parts();
        let f = &self.flow;
        let hidden = self
            .base_hidden_sizes
            .clone()
            .unwrap_or_else(|| f.hidden_sizes.clone());
        let made = MadeConfig::new(f.features, hidden)
            .with_context_features(f.context_features)
            .with_activation(f.activation)
            .with_seed(derive_seed(f.seed, PURPOSE_MOG, 0));
        let base = MadeMogConfig::new(made)
            .with_components(self.components)
            .init(device)?;
        Ok(MafMog {
            flow: Flow::new(chain, base)?,
            config: self.clone(),
        })
    }
}

impl ModelConfig for MafMogConfig {
    type Model = MafMog;

    fn init(&self, device: &Device) -> Result<MafMog> {
        MafMogConfig::init(self, device)
    }
}

/// MAF MoG: masked autoregressive layers (either orientation, any transformer) on a
/// [`MadeMog`] base, whose every conditional is a Gaussian mixture. With a context, both the
/// layers and the base are conditional.
///
/// ```
/// use burn::tensor::Tensor;
/// use nflow_core::Distribution;
/// use nflow_flows::{MafConfig, MafMogConfig};
///
/// let device = nflow_core::default_device();
/// let flow = MafConfig::new(2).with_layers(2).with_hidden_sizes(vec![16]);
/// let model = MafMogConfig::new(flow).with_components(3).init(&device).unwrap();
/// let lp = model.log_prob(Tensor::<2>::zeros([4, 2], &device), None).unwrap();
/// assert_eq!(lp.dims(), [4]);
/// ```
#[derive(Module, Debug)]
pub struct MafMog {
    flow: Flow<Chain<FlowLayer>, MadeMog>,
    #[module(skip)]
    config: MafMogConfig,
}

impl MafMog {
    /// The config that built it.
    pub fn config(&self) -> &MafMogConfig {
        &self.config
    }

    /// The layers and the base.
    pub fn flow(&self) -> &Flow<Chain<FlowLayer>, MadeMog> {
        &self.flow
    }

    /// Saves the model as the model directory `dir`, format v1.
    ///
    /// # Errors
    /// [`NflowError::Io`](nflow_core::NflowError::Io) when it cannot be written.
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<()> {
        save_model(dir, &self.config, self)
    }

    /// Loads a model saved by [`MafMog::save`].
    ///
    /// # Errors
    /// As [`load_model`].
    pub fn load(dir: impl AsRef<Path>, device: &Device) -> Result<Self> {
        Ok(load_model::<MafMogConfig>(dir, device)?.1)
    }
}

impl Distribution for MafMog {
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
