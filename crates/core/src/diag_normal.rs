//! [`DiagNormal`]: a Gaussian with learnable mean and diagonal scale.

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor, TensorData};
use rand::Rng;

use crate::distribution::Distribution;
use crate::error::{NflowError, Result};
use crate::standard_normal::{HALF_LN_2PI, standard_normal_tensor};

/// The Gaussian `N(μ, diag(σ²))` with learnable `μ` (`loc`) and `log σ` (`log_scale`):
///
/// ```text
/// log p(x) = Σ_i [ −½ ((x_i − μ_i)/σ_i)² − log σ_i ] − (D/2) ln(2π)
/// ```
///
/// Samples are reparameterised (`x = μ + σ ε`, `ε ~ N(0, I)`), so gradients flow to `μ` and `σ`.
///
/// # Example
///
/// ```
/// use burn::tensor::Tensor;
/// use nflow_core::{DiagNormal, Distribution, default_device};
///
/// let device = default_device();
/// let base = DiagNormal::from_values(&[1.0], &[0.0], &device).unwrap();
/// let lp = base.log_prob(Tensor::<2>::from_floats([[1.0]], &device), None).unwrap();
/// assert!((lp.into_scalar::<f64>() + 0.918_938_5).abs() < 1e-6);
/// ```
#[derive(Module, Debug)]
pub struct DiagNormal {
    loc: Param<Tensor<1>>,
    log_scale: Param<Tensor<1>>,
}

impl DiagNormal {
    /// The standard normal as a starting point for learning (`μ = 0`, `log σ = 0`).
    ///
    /// # Errors
    /// [`NflowError::InvalidConfig`] when `features == 0`.
    pub fn standard(features: usize, device: &Device) -> Result<Self> {
        let zeros = vec![0.0; features];
        Self::from_values(&zeros, &zeros, device)
    }

    /// `N(loc, diag(exp(log_scale)²))`.
    ///
    /// # Errors
    /// [`NflowError::InvalidConfig`] when the slices are empty, differ in length or are not finite.
    pub fn from_values(loc: &[f64], log_scale: &[f64], device: &Device) -> Result<Self> {
        if loc.is_empty() || loc.len() != log_scale.len() {
            return Err(NflowError::invalid_config(format!(
                "DiagNormal needs equally long, non-empty loc and log_scale; got {} and {} values",
                loc.len(),
                log_scale.len()
            )));
        }
        if loc.iter().chain(log_scale).any(|v| !v.is_finite()) {
            return Err(NflowError::invalid_config(
                "DiagNormal loc and log_scale must be finite",
            ));
        }
        let tensor = |values: &[f64]| {
            Tensor::<1>::from_data(TensorData::new(values.to_vec(), [values.len()]), device)
        };
        Ok(Self {
            loc: Param::from_tensor(tensor(loc)),
            log_scale: Param::from_tensor(tensor(log_scale)),
        })
    }

    /// The mean `μ`, `[D]`.
    pub fn loc(&self) -> Tensor<1> {
        self.loc.val()
    }

    /// The log standard deviations `log σ`, `[D]`.
    pub fn log_scale(&self) -> Tensor<1> {
        self.log_scale.val()
    }
}

impl Distribution for DiagNormal {
    fn features(&self) -> usize {
        self.loc.dims()[0]
    }

    fn log_prob_unchecked(&self, x: Tensor<2>, _context: Option<&Tensor<2>>) -> Tensor<1> {
        let d = self.features() as f64;
        let log_scale = self.log_scale.val();
        let standardised =
            (x - self.loc.val().unsqueeze::<2>()) * log_scale.clone().neg().exp().unsqueeze::<2>();
        standardised
            .square()
            .sum_dim(1)
            .squeeze_dim::<1>(1)
            .mul_scalar(-0.5)
            .sub(log_scale.sum())
            .sub_scalar(d * HALF_LN_2PI)
    }

    fn sample_unchecked<R: Rng + ?Sized>(
        &self,
        n: usize,
        _context: Option<&Tensor<2>>,
        rng: &mut R,
    ) -> Tensor<2> {
        let loc = self.loc.val();
        let eps = standard_normal_tensor(n, self.features(), rng, &loc.device());
        eps * self.log_scale.val().exp().unsqueeze::<2>() + loc.unsqueeze::<2>()
    }
}
