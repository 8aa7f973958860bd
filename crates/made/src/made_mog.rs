//! [`MadeMog`]: an autoregressive density whose every conditional is a Gaussian mixture from one
//! MADE pass (MADE MoG, Papamakarios et al. 2017).

use std::path::Path;

use burn::config::Config;
use burn::module::Module;
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Tensor, TensorData};
use nflow_core::mixture_math::{HALF_LN_2PI, log_sum_exp, pick_component};
use nflow_core::persist::{ModelConfig, load_model, save_model};
use nflow_core::{Distribution, NflowError, Result};
use rand::{Rng, RngExt};
use rand_distr::StandardNormal;

use crate::config::MadeConfig;
use crate::made::Made;

/// Settings of a [`MadeMog`].
#[derive(Config, Debug)]
pub struct MadeMogConfig {
    /// The MADE; `init` sets its `params_per_dim` to `3 · components`.
    pub made: MadeConfig,
    /// Mixture components `K` per conditional.
    #[config(default = 10)]
    pub components: usize,
    /// Soft bound `c` on each component's log-scale: `s = c · tanh(r / c)`.
    #[config(default = 7.0)]
    pub log_scale_bound: f64,
}

impl MadeMogConfig {
    /// Builds the model on `device`.
    ///
    /// # Errors
    /// [`NflowError::InvalidConfig`] for zero components or a log-scale bound that is not
    /// positive and finite; [`NflowError::Made`] for MADE settings that cannot work.
    pub fn init(&self, device: &Device) -> Result<MadeMog> {
        if self.components == 0 {
            return Err(NflowError::invalid_config(
                "a MADE MoG needs at least one mixture component",
            ));
        }
        if !(self.log_scale_bound > 0.0 && self.log_scale_bound.is_finite()) {
            return Err(NflowError::invalid_config(format!(
                "the log-scale bound must be positive and finite, got {}",
                self.log_scale_bound
            )));
        }
        let made = self
            .made
            .clone()
            .with_params_per_dim(3 * self.components)
            .init(device)?;
        Ok(MadeMog {
            made,
            components: self.components,
            log_scale_bound: self.log_scale_bound,
        })
    }
}

impl ModelConfig for MadeMogConfig {
    type Model = MadeMog;

    fn init(&self, device: &Device) -> Result<MadeMog> {
        MadeMogConfig::init(self, device)
    }
}

/// MADE MoG: `p(x) = Π_i Σ_k π_ik N(x_i; μ_ik, σ_ik²)`, where the mixture weights, means and
/// scales of every conditional come from one MADE pass over `x_<i` (and the context):
///
/// ```text
/// log p(x) = Σ_i logsumexp_k [ log π_ik − ½((x_i − μ_ik)/σ_ik)² − log σ_ik − ½ log 2π ]
/// ```
///
/// The MADE's `3K` outputs per feature are, parameter-major, `K` logits (softmax: `π`), `K`
/// means and `K` raw log-scales (`log σ = c · tanh(r / c)`). Sampling is ancestral (`D` passes).
///
/// ```
/// use burn::tensor::Tensor;
/// use nflow_core::Distribution;
/// use nflow_made::{MadeConfig, MadeMogConfig};
/// use rand::SeedableRng;
///
/// let device = nflow_core::default_device();
/// let model = MadeMogConfig::new(MadeConfig::new(3, vec![16])).with_components(4)
///     .init(&device).unwrap();
/// let lp = model.log_prob(Tensor::<2>::zeros([5, 3], &device), None).unwrap(); // one pass
/// assert_eq!(lp.dims(), [5]);
/// let x = model.sample(7, None, &mut rand::rngs::StdRng::seed_from_u64(0)).unwrap(); // D passes
/// assert_eq!(x.dims(), [7, 3]);
/// ```
#[derive(Module, Debug)]
pub struct MadeMog {
    made: Made,
    #[module(skip)]
    components: usize,
    #[module(skip)]
    log_scale_bound: f64,
}

impl MadeMog {
    /// The MADE.
    pub fn made(&self) -> &Made {
        &self.made
    }

    /// Mixture components `K` per conditional.
    pub fn components(&self) -> usize {
        self.components
    }

    /// The config that rebuilds this model.
    pub fn config(&self) -> MadeMogConfig {
        MadeMogConfig::new(self.made.config().clone())
            .with_components(self.components)
            .with_log_scale_bound(self.log_scale_bound)
    }

    /// Log mixture weights, means and log-scales of every conditional, each `[batch, D, K]`.
    pub fn mixture_params(
        &self,
        x: Tensor<2>,
        context: Option<&Tensor<2>>,
    ) -> (Tensor<3>, Tensor<3>, Tensor<3>) {
        let k = self.components;
        let mut params = self.made.forward_params(x, context);
        let raw_scale = Tensor::stack::<3>(params.split_off(2 * k), 2);
        let means = Tensor::stack::<3>(params.split_off(k), 2);
        let logits = Tensor::stack::<3>(params, 2);
        let c = self.log_scale_bound;
        let log_scales = (raw_scale / c).tanh() * c;
        (log_softmax(logits, 2), means, log_scales)
    }

    /// Saves the model as the model directory `dir`, format v1.
    ///
    /// # Errors
    /// [`NflowError::Io`] when it cannot be written.
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<()> {
        save_model(dir, &self.config(), self)
    }

    /// Loads a model saved by [`MadeMog::save`].
    ///
    /// # Errors
    /// As [`load_model`].
    pub fn load(dir: impl AsRef<Path>, device: &Device) -> Result<Self> {
        Ok(load_model::<MadeMogConfig>(dir, device)?.1)
    }
}

impl Distribution for MadeMog {
    fn features(&self) -> usize {
        self.made.features()
    }

    fn context_features(&self) -> usize {
        self.made.context_features()
    }

    fn log_prob_unchecked(&self, x: Tensor<2>, context: Option<&Tensor<2>>) -> Tensor<1> {
        let (log_w, means, log_scales) = self.mixture_params(x.clone(), context);
        let [batch, d] = x.dims();
        let x = x.reshape([batch, d, 1]);
        let z = (x - means) / log_scales.clone().exp();
        let log_normal = z.powi_scalar(2) * -0.5 - log_scales - HALF_LN_2PI;
        let terms = log_w + log_normal; // [batch, D, K]
        log_sum_exp(terms, 2).sum_dim(1).reshape([batch])
    }

    /// Ancestral sampling: `D` passes. The noise (a uniform for the component, a standard normal
    /// for the value, per coordinate) is drawn once from `rng`; pass `k` fixes the feature of
    /// degree `k`.
    fn sample_unchecked<R: Rng + ?Sized>(
        &self,
        n: usize,
        context: Option<&Tensor<2>>,
        rng: &mut R,
    ) -> Tensor<2> {
        let (d, k) = (self.features(), self.components);
        let device = self.made.layers()[0].bias().device();
        let uniform: Vec<f32> = (0..n * d).map(|_| rng.random::<f32>()).collect();
        let normal: Vec<f32> = (0..n * d).map(|_| rng.sample(StandardNormal)).collect();
        let mut x = Tensor::<2>::zeros([n, d], &device);
        for _ in 0..d {
            let (log_w, means, log_scales) = self.mixture_params(x, context);
            let host = |t: Tensor<3>| t.to_data().iter::<f32>().collect::<Vec<f32>>();
            let (log_w, means, log_scales) = (host(log_w), host(means), host(log_scales));
            let values: Vec<f32> = (0..n * d)
                .map(|cell| {
                    let base = cell * k;
                    let weights = log_w[base..base + k].iter().map(|w| f64::from(w.exp()));
                    let chosen = pick_component(f64::from(uniform[cell]), weights);
                    means[base + chosen] + log_scales[base + chosen].exp() * normal[cell]
                })
                .collect();
            x = Tensor::from_data(TensorData::new(values, [n, d]), &device);
        }
        x
    }
}
