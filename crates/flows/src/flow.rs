//! [`AutoregressiveFlow`]: a built MAF or IAF, with its config, saved and loaded as one.

use std::path::Path;

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use nflow_core::persist::{load_model, save_model};
use nflow_core::{Chain, Distribution, Flow, GaussianBase, Result};
use rand::Rng;

use crate::config::AutoregressiveFlowConfig;
use crate::inversion::Inversion;
use crate::layer::FlowLayer;
use crate::masked_autoregressive::MaskedAutoregressive;
use crate::one_pass::OnePass;
use crate::orientation::Orientation;

/// A masked autoregressive flow built by an [`AutoregressiveFlowConfig`] (MAF or IAF orientation,
/// any transformer): a [`Flow`] of a [`Chain`] of [`FlowLayer`]s on a [`GaussianBase`], plus the
/// config it came from.
///
/// It is a [`Distribution`]: `log_prob` runs every layer's `inverse`, `sample` every layer's
/// `forward`, and `sample_and_log_prob` only the forwards. Which of those is one MADE pass per
/// layer and which is `D` sequential steps depends on the [`Orientation`] (each unit computed once
/// over the steps by default: see [`Inversion`]):
///
/// | | `log_prob` | `sample` | `sample_and_log_prob` |
/// |---|---|---|---|
/// | MAF | 1 pass / layer | `D` steps / layer | `D` steps / layer |
/// | IAF | `D` steps / layer | 1 pass / layer | 1 pass / layer |
///
/// [`AutoregressiveFlow::save`] writes `flow.json` and `flow.bpk`; [`AutoregressiveFlow::load`]
/// rebuilds the flow (orderings, permutations, transformer) from the config and loads the weights,
/// so the loaded flow computes exactly the same densities and, from the same seed, the same
/// samples.
///
/// # Conditional flows
///
/// With `context_features = C > 0` the flow is a density `p(x | c)`: every call takes one context
/// row per data row (per sample, for sampling), and the trainer fits it on a dataset's context
/// columns.
///
/// ```
/// use burn::tensor::Tensor;
/// use nflow_core::Distribution;
/// use nflow_flows::MafConfig;
/// use rand::SeedableRng;
///
/// let device = nflow_core::default_device();
/// let flow = MafConfig::new(2)
///     .with_context_features(1)
///     .with_layers(2)
///     .with_hidden_sizes(vec![16])
///     .init(&device)
///     .unwrap();
/// let context = Tensor::<2>::full([100, 1], 0.5, &device); // c = 0.5 for all 100 samples
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let x = flow.sample(100, Some(&context), &mut rng).unwrap();
/// let log_density = flow.log_prob(x, Some(&context)).unwrap(); // log p(x | c = 0.5)
/// assert_eq!(log_density.dims(), [100]);
/// // A conditional flow without its context is a typed error, not a panic.
/// assert!(flow.sample(100, None, &mut rng).is_err());
/// ```
#[derive(Module, Debug)]
pub struct AutoregressiveFlow {
    flow: Flow<Chain<FlowLayer>, GaussianBase>,
    #[module(skip)]
    config: AutoregressiveFlowConfig,
}

impl AutoregressiveFlow {
    pub(crate) fn new(
        chain: Chain<FlowLayer>,
        base: GaussianBase,
        config: AutoregressiveFlowConfig,
    ) -> Result<Self> {
        Ok(Self {
            flow: Flow::new(chain, base)?,
            config,
        })
    }

    /// The same flow with every masked autoregressive layer solving its slow direction (MAF
    /// sampling, IAF density) by `inversion`; [`Inversion::Incremental`] is the default.
    ///
    /// ```
    /// use nflow_core::Distribution;
    /// use nflow_flows::{Inversion, MafConfig};
    /// use rand::SeedableRng;
    ///
    /// let device = nflow_core::default_device();
    /// let fast = MafConfig::new(4).with_hidden_sizes(vec![16]).init(&device).unwrap();
    /// let reference = fast.clone().with_inversion(Inversion::Sequential);
    /// let draw = |flow: &nflow_flows::AutoregressiveFlow| {
    ///     let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    ///     flow.sample(5, None, &mut rng).unwrap().into_data().to_vec::<f32>().unwrap()
    /// };
    /// for (a, b) in draw(&fast).iter().zip(draw(&reference)) {
    ///     assert!((a - b).abs() < 1e-5);
    /// }
    /// ```
    pub fn with_inversion(self, inversion: Inversion) -> Self {
        self.map_autoregressive(|a| a.with_inversion(inversion))
    }

    /// The same flow with every masked autoregressive layer computing its fast direction (MAF
    /// density, IAF sampling) by `one_pass`; [`OnePass::BlockTriangular`] is the default.
    ///
    /// ```
    /// use burn::tensor::Tensor;
    /// use nflow_core::Distribution;
    /// use nflow_flows::{MafConfig, OnePass};
    ///
    /// let device = nflow_core::default_device();
    /// let fast = MafConfig::new(4).with_hidden_sizes(vec![16]).init(&device).unwrap();
    /// let reference = fast.clone().with_one_pass(OnePass::Dense);
    /// let x = Tensor::<2>::random([5, 4], burn::tensor::Distribution::Default, &device);
    /// let density = |flow: &nflow_flows::AutoregressiveFlow| {
    ///     flow.log_prob(x.clone(), None).unwrap().into_data().to_vec::<f32>().unwrap()
    /// };
    /// for (a, b) in density(&fast).iter().zip(density(&reference)) {
    ///     assert!((a - b).abs() < 1e-4);
    /// }
    /// ```
    pub fn with_one_pass(self, one_pass: OnePass) -> Self {
        self.map_autoregressive(|a| a.with_one_pass(one_pass))
    }

    /// The same flow with `f` applied to every masked autoregressive layer.
    fn map_autoregressive(self, f: impl Fn(MaskedAutoregressive) -> MaskedAutoregressive) -> Self {
        let Self { flow, config } = self;
        let (chain, base) = flow.into_parts();
        let layers = chain
            .into_layers()
            .into_iter()
            .map(|layer| match layer {
                FlowLayer::Autoregressive(a) => FlowLayer::Autoregressive(f(a)),
                other => other,
            })
            .collect();
        let chain = Chain::new(layers).expect("the same layers as a valid chain");
        Self {
            flow: Flow::new(chain, base).expect("the same chain and base as a valid flow"),
            config,
        }
    }

    /// MAF or IAF.
    pub fn orientation(&self) -> Orientation {
        self.config.orientation
    }

    /// The config this flow was built from.
    pub fn config(&self) -> &AutoregressiveFlowConfig {
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

    /// The chain of layers and the base, to compose with layers of your own (see
    /// [`Then`](nflow_core::Then)).
    pub fn into_parts(self) -> (Chain<FlowLayer>, GaussianBase) {
        self.flow.into_parts()
    }

    /// Saves `flow.json` (the config) and `flow.bpk` (weights and running averages) in `dir`,
    /// creating it if needed. Each file is written atomically: an interrupted save leaves no
    /// partly written file.
    ///
    /// # Errors
    /// [`NflowError::Io`](nflow_core::NflowError::Io) when the directory or files cannot be written.
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<()> {
        save_model(dir, &self.config, self)
    }

    /// Loads a flow saved by [`AutoregressiveFlow::save`] onto `device`.
    ///
    /// A flow with a transformer of your own needs it
    /// [registered](crate::register_transformer) first.
    ///
    /// # Errors
    /// [`NflowError::Io`](nflow_core::NflowError::Io) for missing files,
    /// [`NflowError::Load`](nflow_core::NflowError::Load) for a malformed config (an unknown
    /// transformer kind included) or weights that do not fit it, and the errors of
    /// [`AutoregressiveFlowConfig::init`] for a config that parses but cannot build a flow.
    pub fn load(dir: impl AsRef<Path>, device: &Device) -> Result<Self> {
        Ok(load_model::<AutoregressiveFlowConfig>(dir, device)?.1)
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
