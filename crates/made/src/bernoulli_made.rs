//! [`BernoulliMade`]: MADE as a density model for binary vectors (Germain et al. 2015).

use std::path::Path;

use burn::config::Config;
use burn::module::Module;
use burn::tensor::activation::softplus;
use burn::tensor::{Device, Tensor, TensorData};
use nflow_core::mixture_math::log_sum_exp;
use nflow_core::persist::{ModelConfig, load_model, save_model};
use nflow_core::{Distribution, Result};
use rand::{Rng, RngExt};

use crate::config::MadeConfig;
use crate::made::Made;

/// Settings of a [`BernoulliMade`]: a MADE with one output (a logit) per feature.
#[derive(Config, Debug)]
pub struct BernoulliMadeConfig {
    /// The MADE; its `params_per_dim` must be 1.
    pub made: MadeConfig,
}

impl BernoulliMadeConfig {
    /// Builds the model on `device`.
    ///
    /// # Errors
    /// [`NflowError::Made`](nflow_core::NflowError::Made) for MADE settings that cannot work;
    /// [`NflowError::InvalidConfig`](nflow_core::NflowError::InvalidConfig) for a
    /// `params_per_dim` other than 1.
    pub fn init(&self, device: &Device) -> Result<BernoulliMade> {
        if self.made.params_per_dim != 1 {
            return Err(nflow_core::NflowError::invalid_config(format!(
                "a Bernoulli MADE has one logit per feature: params_per_dim must be 1, got {}",
                self.made.params_per_dim
            )));
        }
        Ok(BernoulliMade {
            made: self.made.init(device)?,
            ensemble: 1,
        })
    }
}

impl ModelConfig for BernoulliMadeConfig {
    type Model = BernoulliMade;

    fn init(&self, device: &Device) -> Result<BernoulliMade> {
        BernoulliMadeConfig::init(self, device)
    }
}

/// MADE as a density model for binary vectors: one pass gives the logit `ℓ_i` of
/// `p(x_i = 1 | x_<i)` for every feature (in the MADE's ordering), so
///
/// ```text
/// log p(x) = Σ_i [ x_i ℓ_i − softplus(ℓ_i) ]
/// ```
///
/// is exact and costs one pass. Sampling is ancestral: `D` passes, each fixing the next feature.
///
/// **Mask sets.** Built with several mask sets (`num_mask_sets > 1`, order- and/or
/// connectivity-agnostic), the same weights define one model per set.
/// [`with_mask_set`](Self::with_mask_set) switches between them; training on a random set per
/// minibatch (the MADE paper's mask sampling, e.g. with `Trainer::fit_with`) trains all of them at
/// once, and [`log_prob_ensemble`](Self::log_prob_ensemble) evaluates their exact mixture
/// `log (1/K) Σ_k p_k(x)`.
///
/// ```
/// use burn::tensor::Tensor;
/// use nflow_core::Distribution;
/// use nflow_made::{BernoulliMadeConfig, MadeConfig};
/// use rand::SeedableRng;
///
/// let device = nflow_core::default_device();
/// let made = MadeConfig::new(6, vec![32]).with_params_per_dim(1).with_num_mask_sets(4)
///     .with_order_agnostic(true);
/// let model = BernoulliMadeConfig::new(made).init(&device).unwrap();
/// let x = Tensor::<2>::from_floats([[1.0, 0.0, 1.0, 1.0, 0.0, 0.0]], &device);
/// let one_mask = model.log_prob(x.clone(), None).unwrap(); // one pass
/// let ensemble = model.log_prob_ensemble(x, None);         // one pass per mask set
/// assert!(one_mask.into_scalar::<f32>() < 0.0 && ensemble.into_scalar::<f32>() < 0.0);
/// let samples = model.sample(10, None, &mut rand::rngs::StdRng::seed_from_u64(0)).unwrap();
/// assert_eq!(samples.dims(), [10, 6]); // 0/1 values, D passes
/// ```
#[derive(Module, Debug)]
pub struct BernoulliMade {
    made: Made,
    /// Mask sets the density averages over (1: the set in use only).
    #[module(skip)]
    ensemble: usize,
}

impl BernoulliMade {
    /// The MADE.
    pub fn made(&self) -> &Made {
        &self.made
    }

    /// The logits `ℓ`, `[batch, D]`, of `p(x_i = 1 | x_<i)` under the mask set in use.
    pub fn logits(&self, x: Tensor<2>, context: Option<&Tensor<2>>) -> Tensor<2> {
        self.made.forward(x, context)
    }

    /// Number of mask sets.
    pub fn num_mask_sets(&self) -> usize {
        self.made.mask_sets().len()
    }

    /// The mask set in use.
    pub fn mask_set(&self) -> usize {
        self.made.config().mask_set
    }

    /// The same weights under mask set `index`.
    ///
    /// # Errors
    /// [`MadeError::NoSuchMaskSet`](nflow_core::MadeError::NoSuchMaskSet) for an index out of
    /// range.
    pub fn with_mask_set(self, index: usize) -> Result<Self> {
        if index == self.mask_set() {
            return Ok(self);
        }
        Ok(Self {
            made: self.made.with_mask_set(index)?,
            ensemble: self.ensemble,
        })
    }

    /// The model whose density is the exact mixture of the first `sets` mask sets (1: the set in
    /// use only). Its `log_prob` is then [`log_prob_ensemble`](Self::log_prob_ensemble) over them
    /// and `sample` draws each row from a uniformly chosen set, so the trainer can validate (and
    /// early-stop) on an ensemble while training steps use one set at a time.
    ///
    /// # Errors
    /// [`MadeError::NoSuchMaskSet`](nflow_core::MadeError::NoSuchMaskSet) when `sets` is 0 or
    /// more than the model has.
    pub fn with_ensemble(mut self, sets: usize) -> Result<Self> {
        let count = self.num_mask_sets();
        if sets == 0 || sets > count {
            return Err(nflow_core::MadeError::NoSuchMaskSet {
                index: sets.saturating_sub(1),
                count,
            }
            .into());
        }
        self.ensemble = sets;
        Ok(self)
    }

    /// Mask sets the density averages over (1: the set in use only).
    pub fn ensemble(&self) -> usize {
        self.ensemble
    }

    /// The exact ensemble over every mask set: `log (1/K) Σ_k p_k(x)` per row (log-mean-exp of
    /// the `K` log-likelihoods). One pass per mask set; assumes validated input.
    pub fn log_prob_ensemble(&self, x: Tensor<2>, context: Option<&Tensor<2>>) -> Tensor<1> {
        self.log_prob_over_sets(self.num_mask_sets(), x, context)
    }

    /// `log (1/k) Σ_{i<k} p_i(x)` over the first `k` mask sets.
    fn log_prob_over_sets(&self, k: usize, x: Tensor<2>, context: Option<&Tensor<2>>) -> Tensor<1> {
        let per_set: Vec<Tensor<1>> = (0..k)
            .map(|i| {
                let model = self.clone().with_mask_set(i).expect("index in range");
                model.log_prob_one_set(x.clone(), context)
            })
            .collect();
        let stacked = Tensor::stack::<2>(per_set, 0); // [K, batch]
        (log_sum_exp(stacked, 0) - (k as f64).ln()).squeeze_dim::<1>(0)
    }

    /// `Σ_i [x_i ℓ_i − softplus(ℓ_i)]` under the mask set in use.
    fn log_prob_one_set(&self, x: Tensor<2>, context: Option<&Tensor<2>>) -> Tensor<1> {
        let logits = self.logits(x.clone(), context);
        (x * logits.clone() - softplus(logits, 1.0))
            .sum_dim(1)
            .squeeze_dim::<1>(1)
    }

    /// Saves the model (with the mask set in use) as the model directory `dir`, format v1.
    ///
    /// # Errors
    /// [`NflowError::Io`](nflow_core::NflowError::Io) when it cannot be written.
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<()> {
        let config = BernoulliMadeConfig::new(self.made.config().clone());
        save_model(dir, &config, self)
    }

    /// Loads a model saved by [`BernoulliMade::save`].
    ///
    /// # Errors
    /// As [`load_model`].
    pub fn load(dir: impl AsRef<Path>, device: &Device) -> Result<Self> {
        Ok(load_model::<BernoulliMadeConfig>(dir, device)?.1)
    }
}

impl Distribution for BernoulliMade {
    fn features(&self) -> usize {
        self.made.features()
    }

    fn context_features(&self) -> usize {
        self.made.context_features()
    }

    /// `Σ_i [x_i ℓ_i − softplus(ℓ_i)]`: exact for `x ∈ {0, 1}^D` (other values are scored by the
    /// same formula, which is not a density over them).
    fn log_prob_unchecked(&self, x: Tensor<2>, context: Option<&Tensor<2>>) -> Tensor<1> {
        if self.ensemble > 1 {
            self.log_prob_over_sets(self.ensemble, x, context)
        } else {
            self.log_prob_one_set(x, context)
        }
    }

    /// Ancestral sampling: `D` passes; pass `k` fixes the feature of degree `k` from its exact
    /// conditional. Uniform noise is drawn once from `rng`, so a seeded generator reproduces the
    /// samples. With an [ensemble](Self::with_ensemble), each row first draws its mask set.
    fn sample_unchecked<R: Rng + ?Sized>(
        &self,
        n: usize,
        context: Option<&Tensor<2>>,
        rng: &mut R,
    ) -> Tensor<2> {
        let d = self.features();
        let device = self.made.layers()[0].bias().device();
        let uniform: Vec<f32> = (0..n * d).map(|_| rng.random::<f32>()).collect();
        let uniform = Tensor::<2>::from_data(TensorData::new(uniform, [n, d]), &device);
        let ancestral = |model: &Self, uniform: Tensor<2>, context: Option<&Tensor<2>>| {
            let mut x = uniform.zeros_like();
            for _ in 0..d {
                let p = burn::tensor::activation::sigmoid(model.logits(x, context));
                x = uniform.clone().lower(p).float();
            }
            x
        };
        if self.ensemble <= 1 {
            return ancestral(self, uniform, context);
        }
        // Every row draws a set; rows are sampled set by set and put back in order.
        let sets: Vec<usize> = (0..n).map(|_| rng.random_range(0..self.ensemble)).collect();
        let mut x = Tensor::<2>::zeros([n, d], &device);
        for set in 0..self.ensemble {
            let rows: Vec<i64> = (0..n)
                .filter(|&i| sets[i] == set)
                .map(|i| i as i64)
                .collect();
            if rows.is_empty() {
                continue;
            }
            let index = Tensor::<1, burn::tensor::Int>::from_data(
                TensorData::new(rows.clone(), [rows.len()]),
                &device,
            );
            let model = self.clone().with_mask_set(set).expect("set in range");
            let part_context = context.map(|c| c.clone().select(0, index.clone()));
            let part = ancestral(
                &model,
                uniform.clone().select(0, index.clone()),
                part_context.as_ref(),
            );
            x = x.select_assign(0, index, part, burn::tensor::IndexingUpdateOp::Add);
        }
        x
    }
}
