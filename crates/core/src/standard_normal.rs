//! [`StandardNormal`]: the parameter-free `N(0, I)` base distribution.

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use rand::{Rng, RngExt};

use crate::distribution::Distribution;
use crate::error::{NflowError, Result};

/// `½ ln(2π)`.
pub const HALF_LN_2PI: f64 = 0.918_938_533_204_672_7;

/// Draws an `[n, d]` matrix of independent standard-normal values from `rng` and uploads it to
/// `device` (in the device's float type). The same generator state gives the same matrix.
pub fn standard_normal_tensor<R: Rng + ?Sized>(
    n: usize,
    d: usize,
    rng: &mut R,
    device: &Device,
) -> Tensor<2> {
    let values: Vec<f64> = (0..n * d)
        .map(|_| rng.sample(rand_distr::StandardNormal))
        .collect();
    Tensor::from_data(TensorData::new(values, [n, d]), device)
}

/// The standard normal distribution `N(0, I_D)`:
///
/// ```text
/// log p(x) = −½ ‖x‖² − (D/2) ln(2π)
/// ```
///
/// It has no parameters; it keeps a constant `[D]` tensor only to know its device, so it moves with
/// the module (`to_device`) like everything else.
///
/// # Example
///
/// ```
/// use burn::tensor::Tensor;
/// use nflow_core::{Distribution, StandardNormal, default_device};
/// use rand::SeedableRng;
///
/// let device = default_device();
/// let base = StandardNormal::new(2, &device).unwrap();
/// let lp = base.log_prob(Tensor::<2>::zeros([1, 2], &device), None).unwrap();
/// assert!((lp.into_scalar::<f64>() + (2.0 * std::f64::consts::PI).ln()).abs() < 1e-6);
///
/// let mut rng = rand::rngs::StdRng::seed_from_u64(7);
/// let x = base.sample(5, None, &mut rng).unwrap();
/// assert_eq!(x.dims(), [5, 2]);
/// ```
#[derive(Module, Debug)]
pub struct StandardNormal {
    anchor: Tensor<1>,
}

impl StandardNormal {
    /// `N(0, I_features)` on `device`.
    ///
    /// # Errors
    /// [`NflowError::InvalidConfig`] when `features == 0`.
    pub fn new(features: usize, device: &Device) -> Result<Self> {
        if features == 0 {
            return Err(NflowError::invalid_config(
                "StandardNormal needs at least one feature",
            ));
        }
        Ok(Self {
            anchor: Tensor::zeros([features], device),
        })
    }
}

impl Distribution for StandardNormal {
    fn features(&self) -> usize {
        self.anchor.dims()[0]
    }

    fn log_prob_unchecked(&self, x: Tensor<2>, _context: Option<&Tensor<2>>) -> Tensor<1> {
        let d = self.features() as f64;
        x.square()
            .sum_dim(1)
            .squeeze_dim::<1>(1)
            .mul_scalar(-0.5)
            .sub_scalar(d * HALF_LN_2PI)
    }

    fn sample_unchecked<R: Rng + ?Sized>(
        &self,
        n: usize,
        _context: Option<&Tensor<2>>,
        rng: &mut R,
    ) -> Tensor<2> {
        standard_normal_tensor(n, self.features(), rng, &self.anchor.device())
    }
}
