//! [`ElementwiseAffine`]: a learnable per-feature shift and scale.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor, TensorData};

use crate::bijector::Bijector;
use crate::error::{NflowError, Result};

/// Configuration of an [`ElementwiseAffine`] bijector, initialised to the identity.
#[derive(Config, Debug)]
pub struct ElementwiseAffineConfig {
    /// Number of features `D`.
    pub features: usize,
}

impl ElementwiseAffineConfig {
    /// Builds the identity map (`shift = 0`, `log_scale = 0`) on `device`.
    ///
    /// # Errors
    /// [`NflowError::InvalidConfig`] when `features == 0`.
    pub fn init(&self, device: &Device) -> Result<ElementwiseAffine> {
        let zeros = vec![0.0; self.features];
        ElementwiseAffine::from_values(&zeros, &zeros, device)
    }
}

/// The elementwise affine map `x = z · exp(s) + b` with learnable `b` (shift) and `s`
/// (log-scale), one of each per feature.
///
/// ```text
/// forward:  x_i = z_i e^{s_i} + b_i,        log|det ∂x/∂z| =  Σ_i s_i
/// inverse:  z_i = (x_i − b_i) e^{−s_i},     log|det ∂z/∂x| = −Σ_i s_i
/// ```
///
/// # Shapes
/// - parameters `shift`, `log_scale`: `[D]`
#[derive(Module, Debug)]
pub struct ElementwiseAffine {
    shift: Param<Tensor<1>>,
    log_scale: Param<Tensor<1>>,
}

impl ElementwiseAffine {
    /// Builds the map from explicit shift and log-scale values.
    ///
    /// # Errors
    /// [`NflowError::InvalidConfig`] when the slices are empty, differ in length, or hold
    /// non-finite values.
    pub fn from_values(shift: &[f64], log_scale: &[f64], device: &Device) -> Result<Self> {
        if shift.is_empty() || shift.len() != log_scale.len() {
            return Err(NflowError::invalid_config(format!(
                "ElementwiseAffine needs equally long, non-empty shift and log_scale; \
                 got {} and {} values",
                shift.len(),
                log_scale.len()
            )));
        }
        if shift.iter().chain(log_scale).any(|v| !v.is_finite()) {
            return Err(NflowError::invalid_config(
                "ElementwiseAffine shift and log_scale must be finite",
            ));
        }
        let tensor = |values: &[f64]| {
            Tensor::<1>::from_data(TensorData::new(values.to_vec(), [values.len()]), device)
        };
        Ok(Self {
            shift: Param::from_tensor(tensor(shift)),
            log_scale: Param::from_tensor(tensor(log_scale)),
        })
    }

    /// The shift `b`, shape `[D]`.
    pub fn shift(&self) -> Tensor<1> {
        self.shift.val()
    }

    /// The log-scale `s`, shape `[D]`.
    pub fn log_scale(&self) -> Tensor<1> {
        self.log_scale.val()
    }

    fn ladj(&self, batch: usize) -> Tensor<1> {
        self.log_scale.val().sum().expand([batch])
    }
}

impl Bijector for ElementwiseAffine {
    fn features(&self) -> usize {
        self.shift.dims()[0]
    }

    fn forward(&self, z: Tensor<2>, _context: Option<&Tensor<2>>) -> (Tensor<2>, Tensor<1>) {
        let batch = z.dims()[0];
        (self.forward_value(z, None), self.ladj(batch))
    }

    fn inverse(&self, x: Tensor<2>, _context: Option<&Tensor<2>>) -> (Tensor<2>, Tensor<1>) {
        let batch = x.dims()[0];
        (self.inverse_value(x, None), self.ladj(batch).neg())
    }

    fn forward_value(&self, z: Tensor<2>, _context: Option<&Tensor<2>>) -> Tensor<2> {
        let scale = self.log_scale.val().exp().unsqueeze::<2>();
        z * scale + self.shift.val().unsqueeze::<2>()
    }

    fn inverse_value(&self, x: Tensor<2>, _context: Option<&Tensor<2>>) -> Tensor<2> {
        let inv_scale = self.log_scale.val().neg().exp().unsqueeze::<2>();
        (x - self.shift.val().unsqueeze::<2>()) * inv_scale
    }
}
