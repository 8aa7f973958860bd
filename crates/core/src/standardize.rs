//! [`Standardizer`] (per-column mean and scale, fitted on training data) and [`Standardize`], the
//! frozen bijector that carries it inside a model.

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::bijector::Bijector;
use crate::config_errors::FlowConfigError;
use crate::error::Result;

/// Per-column standardisation `u = (x − μ) / σ`, fitted on training data.
///
/// It is a setting of a model, not a preprocessing step beside it: a flow config holding one puts a
/// frozen [`Standardize`] layer at the data end of its chain, so `log_prob` takes data in its own
/// units, includes the log-Jacobian `−Σ_j log σ_j`, and samples come out in data units. It is saved
/// with the config, exactly (floats round-trip).
///
/// ```
/// use nflow_core::Standardizer;
///
/// // Two rows of two columns, row-major.
/// let s = Standardizer::fit(&[1.0, 10.0, 3.0, 30.0], 2).unwrap();
/// assert_eq!(s.mean, vec![2.0, 20.0]);
/// assert_eq!(s.std, vec![1.0, 10.0]);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Standardizer {
    /// Column means `μ`.
    pub mean: Vec<f64>,
    /// Column standard deviations `σ` (1 for a constant column).
    pub std: Vec<f64>,
}

impl Standardizer {
    /// Fits means and (population) standard deviations of every column of row-major `values` with
    /// `cols` columns. A constant column gets `σ = 1`.
    ///
    /// # Errors
    /// [`NflowError::ShapeMismatch`] for no rows or a length that is not a whole number of rows;
    /// [`NflowError::NonFinite`] naming the first non-finite value.
    pub fn fit(values: &[f32], cols: usize) -> Result<Self> {
        crate::validate::check_rows(values, cols, "standardizer data")?;
        let n = (values.len() / cols) as f64;
        let mut mean = vec![0.0; cols];
        for (k, &v) in values.iter().enumerate() {
            mean[k % cols] += v as f64 / n;
        }
        let mut var = vec![0.0; cols];
        for (k, &v) in values.iter().enumerate() {
            var[k % cols] += (v as f64 - mean[k % cols]).powi(2) / n;
        }
        let std = var
            .into_iter()
            .map(|v: f64| if v > 0.0 { v.sqrt() } else { 1.0 })
            .collect();
        Ok(Self { mean, std })
    }

    /// `−Σ_j log σ_j`: the log-Jacobian of `x ↦ u` per row.
    pub fn log_det(&self) -> f64 {
        -self.std.iter().map(|s| s.ln()).sum::<f64>()
    }

    /// Checks that it fits `features` columns: equal lengths, finite means, positive finite scales.
    ///
    /// # Errors
    /// [`FlowConfigError::BadStandardizer`] saying what is wrong.
    pub fn validate(&self, features: usize) -> Result<()> {
        let bad = |reason: String| Err(FlowConfigError::BadStandardizer(reason).into());
        if self.mean.len() != features || self.std.len() != features {
            return bad(format!(
                "{} means and {} scales for {features} features",
                self.mean.len(),
                self.std.len()
            ));
        }
        if let Some((j, m)) = self.mean.iter().enumerate().find(|(_, m)| !m.is_finite()) {
            return bad(format!("mean of column {j} is {m}"));
        }
        if let Some((j, s)) = self
            .std
            .iter()
            .enumerate()
            .find(|(_, s)| !(**s > 0.0 && s.is_finite()))
        {
            return bad(format!(
                "scale of column {j} is {s}; it must be positive and finite"
            ));
        }
        Ok(())
    }

    /// The frozen layer applying it, on `device`.
    ///
    /// # Errors
    /// As [`Standardizer::validate`] (for its own length).
    pub fn layer(&self, device: &Device) -> Result<Standardize> {
        self.validate(self.mean.len())?;
        let d = self.mean.len();
        let row = |v: &[f64]| Tensor::<2>::from_data(TensorData::new(v.to_vec(), [1, d]), device);
        Ok(Standardize {
            mean: row(&self.mean),
            std: row(&self.std),
            log_std_sum: -self.log_det(),
        })
    }
}

/// A frozen elementwise affine bijector, `x = u·σ + μ` (base side `u`, data side `x`): the
/// standardisation of a [`Standardizer`] inside a model. Its mean and scale are constants (not
/// parameters, not trained, not in the weights file): they come from the saved config.
///
/// ```text
/// forward (u → x):  x = u·σ + μ,      log|det| = Σ_j log σ_j
/// inverse (x → u):  u = (x − μ) / σ,  log|det| = −Σ_j log σ_j
/// ```
#[derive(Module, Debug)]
pub struct Standardize {
    mean: Tensor<2>,
    std: Tensor<2>,
    log_std_sum: f64,
}

impl Standardize {
    fn ladj(&self, rows: usize, sign: f64, like: &Tensor<2>) -> Tensor<1> {
        Tensor::<1>::full([rows], sign * self.log_std_sum, &like.device())
    }
}

impl Bijector for Standardize {
    fn features(&self) -> usize {
        self.mean.dims()[1]
    }

    fn forward(&self, u: Tensor<2>, _context: Option<&Tensor<2>>) -> (Tensor<2>, Tensor<1>) {
        let ladj = self.ladj(u.dims()[0], 1.0, &u);
        (u * self.std.clone() + self.mean.clone(), ladj)
    }

    fn inverse(&self, x: Tensor<2>, _context: Option<&Tensor<2>>) -> (Tensor<2>, Tensor<1>) {
        let ladj = self.ladj(x.dims()[0], -1.0, &x);
        ((x - self.mean.clone()) / self.std.clone(), ladj)
    }
}
