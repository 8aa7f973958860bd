//! [`GaussianMixture`]: a learnable mixture of diagonal Gaussians, a base for any flow.

use burn::module::{Module, Param};
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::{Rng, RngExt, SeedableRng};

use crate::distribution::Distribution;
use crate::error::{NflowError, Result};
use crate::mixture_math::{HALF_LN_2PI, log_sum_exp, pick_component};

/// `p(x) = Σ_k π_k N(x; μ_k, diag σ_k²)` with `K` components and learnable logits (`π =
/// softmax`), means and log-scales:
///
/// ```text
/// log p(x) = logsumexp_k [ log π_k − Σ_j ( ½((x_j − μ_kj)/σ_kj)² + log σ_kj + ½ log 2π ) ]
/// ```
///
/// It starts with equal weights, unit scales and means drawn from `N(0, I)` (from a seed), so the
/// components can move apart. Sampling is exact: a component per row, then its Gaussian.
///
/// ```
/// use nflow_core::{Distribution, GaussianMixture};
/// use rand::SeedableRng;
///
/// let device = nflow_core::default_device();
/// let mog = GaussianMixture::new(2, 5, 0, &device).unwrap();
/// let x = mog.sample(100, None, &mut rand::rngs::StdRng::seed_from_u64(1)).unwrap();
/// let lp = mog.log_prob(x, None).unwrap();
/// assert_eq!(lp.dims(), [100]);
/// ```
#[derive(Module, Debug)]
pub struct GaussianMixture {
    logits: Param<Tensor<1>>,
    means: Param<Tensor<2>>,
    log_scales: Param<Tensor<2>>,
}

impl GaussianMixture {
    /// `components` Gaussians on `features` dimensions, means drawn from `seed`.
    ///
    /// # Errors
    /// [`NflowError::InvalidConfig`] when `features` or `components` is 0.
    pub fn new(features: usize, components: usize, seed: u64, device: &Device) -> Result<Self> {
        let mut rng = StdRng::seed_from_u64(seed);
        let means: Vec<f64> = (0..features * components)
            .map(|_| rng.sample(rand_distr::StandardNormal))
            .collect();
        Self::from_values(
            &vec![0.0; components],
            &means,
            &vec![0.0; features * components],
            device,
        )
    }

    /// A mixture with the given logits `[K]`, means and log-scales (`[K, D]`, row-major).
    ///
    /// # Errors
    /// [`NflowError::InvalidConfig`] for no components or features, lengths that do not agree,
    /// or a non-finite value.
    pub fn from_values(
        logits: &[f64],
        means: &[f64],
        log_scales: &[f64],
        device: &Device,
    ) -> Result<Self> {
        let k = logits.len();
        if k == 0
            || means.is_empty()
            || !means.len().is_multiple_of(k)
            || log_scales.len() != means.len()
        {
            return Err(NflowError::invalid_config(format!(
                "a Gaussian mixture needs K >= 1 logits and K·D means and log-scales; got {k}, \
                 {} and {}",
                means.len(),
                log_scales.len()
            )));
        }
        if logits
            .iter()
            .chain(means)
            .chain(log_scales)
            .any(|v| !v.is_finite())
        {
            return Err(NflowError::invalid_config(
                "a Gaussian mixture's parameters must be finite",
            ));
        }
        let d = means.len() / k;
        let matrix =
            |v: &[f64]| Tensor::<2>::from_data(TensorData::new(v.to_vec(), [k, d]), device);
        Ok(Self {
            logits: Param::from_tensor(Tensor::from_data(
                TensorData::new(logits.to_vec(), [k]),
                device,
            )),
            means: Param::from_tensor(matrix(means)),
            log_scales: Param::from_tensor(matrix(log_scales)),
        })
    }

    /// Number of components `K`.
    pub fn components(&self) -> usize {
        self.logits.dims()[0]
    }

    /// Log mixture weights `log π`, `[K]`.
    pub fn log_weights(&self) -> Tensor<1> {
        log_softmax(self.logits.val(), 0)
    }

    /// Means `[K, D]`.
    pub fn means(&self) -> Tensor<2> {
        self.means.val()
    }

    /// Log-scales `[K, D]`.
    pub fn log_scales(&self) -> Tensor<2> {
        self.log_scales.val()
    }
}

impl Distribution for GaussianMixture {
    fn features(&self) -> usize {
        self.means.dims()[1]
    }

    fn log_prob_unchecked(&self, x: Tensor<2>, _context: Option<&Tensor<2>>) -> Tensor<1> {
        let [batch, d] = x.dims();
        let k = self.components();
        let log_scales = self.log_scales.val().unsqueeze::<3>(); // [1, K, D]
        let z = (x.reshape([batch, 1, d]) - self.means.val().unsqueeze::<3>())
            * log_scales.clone().neg().exp();
        let per_component = (z.square() * -0.5 - log_scales)
            .sum_dim(2)
            .reshape([batch, k])
            - d as f64 * HALF_LN_2PI
            + self.log_weights().unsqueeze::<2>();
        log_sum_exp(per_component, 1).reshape([batch])
    }

    fn sample_unchecked<R: Rng + ?Sized>(
        &self,
        n: usize,
        _context: Option<&Tensor<2>>,
        rng: &mut R,
    ) -> Tensor<2> {
        let d = self.features();
        let host = |t: Tensor<2>| t.to_data().iter::<f64>().collect::<Vec<f64>>();
        let weights: Vec<f64> = self
            .log_weights()
            .to_data()
            .iter::<f64>()
            .map(f64::exp)
            .collect();
        let (means, log_scales) = (host(self.means.val()), host(self.log_scales.val()));
        let mut values = Vec::with_capacity(n * d);
        for _ in 0..n {
            let c = pick_component(rng.random(), weights.iter().copied());
            for j in 0..d {
                let eps: f64 = rng.sample(rand_distr::StandardNormal);
                values.push(means[c * d + j] + log_scales[c * d + j].exp() * eps);
            }
        }
        Tensor::from_data(TensorData::new(values, [n, d]), &self.means.device())
    }
}
