//! [`Dataset`]: an in-memory `[n, D]` table of `f32`, with splitting and standardisation.

use burn::tensor::{Device, Tensor, TensorData};
use nflow_core::{NflowError, Result};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

/// An in-memory dataset of `n` rows and `D` columns of `f32`, every value finite.
///
/// `log_det_offset` is the log-Jacobian of the map from the original data to these values, per
/// row: a model's log-density on these values plus the offset is the log-density in the original
/// units (0 for raw data; `−Σ log σ_j` after [`Standardizer::apply`]). Trainers report
/// log-likelihoods with it included.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    values: Vec<f32>,
    cols: usize,
    log_det_offset: f64,
}

impl Dataset {
    /// A dataset from row-major values with `cols` columns.
    ///
    /// # Errors
    /// [`NflowError::ShapeMismatch`] when `cols == 0`, the data are empty or not a whole number of
    /// rows; [`NflowError::NonFinite`] naming the first row and column holding a NaN or infinity.
    pub fn from_flat(values: Vec<f32>, cols: usize) -> Result<Self> {
        if cols == 0 || values.is_empty() || !values.len().is_multiple_of(cols) {
            return Err(NflowError::shape_mismatch(
                "dataset",
                format!("a non-empty multiple of {cols} values (rows of width {cols} >= 1)"),
                format!("{} values", values.len()),
            ));
        }
        if let Some((index, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(NflowError::NonFinite {
                what: "dataset".into(),
                row: index / cols,
                column: index % cols,
                value: value as f64,
            });
        }
        Ok(Self {
            values,
            cols,
            log_det_offset: 0.0,
        })
    }

    /// A dataset from rows, which must all have the same width.
    ///
    /// # Errors
    /// [`NflowError::ShapeMismatch`] naming the first row whose width differs from row 0's;
    /// otherwise as [`Dataset::from_flat`].
    pub fn from_rows<R: AsRef<[f64]>>(rows: &[R]) -> Result<Self> {
        let cols = rows.first().map_or(0, |r| r.as_ref().len());
        let mut values = Vec::with_capacity(rows.len() * cols);
        for (index, row) in rows.iter().enumerate() {
            let row = row.as_ref();
            if row.len() != cols {
                return Err(NflowError::shape_mismatch(
                    format!("dataset row {index}"),
                    format!("{cols} columns (as row 0)"),
                    format!("{} columns", row.len()),
                ));
            }
            values.extend(row.iter().map(|&v| v as f32));
        }
        Self::from_flat(values, cols)
    }

    /// Number of rows `n`.
    pub fn rows(&self) -> usize {
        self.values.len() / self.cols
    }

    /// Number of columns `D`.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Row-major values.
    pub fn values(&self) -> &[f32] {
        &self.values
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.values[i * self.cols..(i + 1) * self.cols]
    }

    /// The per-row log-Jacobian from the original data to these values.
    pub fn log_det_offset(&self) -> f64 {
        self.log_det_offset
    }

    /// The rows at `indices`, in that order, as a `[len, D]` tensor on `device`.
    pub fn batch(&self, indices: &[usize], device: &Device) -> Tensor<2> {
        let mut values = Vec::with_capacity(indices.len() * self.cols);
        for &i in indices {
            values.extend_from_slice(self.row(i));
        }
        Tensor::from_data(TensorData::new(values, [indices.len(), self.cols]), device)
    }

    /// The whole dataset as a `[n, D]` tensor.
    pub fn to_tensor(&self, device: &Device) -> Tensor<2> {
        Tensor::from_data(
            TensorData::new(self.values.clone(), [self.rows(), self.cols]),
            device,
        )
    }

    fn subset(&self, indices: &[usize]) -> Dataset {
        let mut values = Vec::with_capacity(indices.len() * self.cols);
        for &i in indices {
            values.extend_from_slice(self.row(i));
        }
        Dataset {
            values,
            cols: self.cols,
            log_det_offset: self.log_det_offset,
        }
    }

    /// Shuffles the rows with `seed` and splits them into train / validation / test parts of
    /// the given fractions (the test part takes the rest).
    ///
    /// # Errors
    /// [`NflowError::InvalidConfig`] when the fractions are not in `(0, 1)` with a positive
    /// remainder, or a part would be empty.
    pub fn split(&self, train: f64, validation: f64, seed: u64) -> Result<Splits> {
        let n = self.rows();
        let ok = train > 0.0 && validation > 0.0 && train + validation < 1.0;
        let n_train = (n as f64 * train).round() as usize;
        let n_val = (n as f64 * validation).round() as usize;
        if !ok || n_train == 0 || n_val == 0 || n_train + n_val >= n {
            return Err(NflowError::invalid_config(format!(
                "cannot split {n} rows into train {train} / validation {validation} / test rest \
                 with every part non-empty"
            )));
        }
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut StdRng::seed_from_u64(seed));
        Ok(Splits {
            train: self.subset(&order[..n_train]),
            validation: self.subset(&order[n_train..n_train + n_val]),
            test: self.subset(&order[n_train + n_val..]),
        })
    }
}

/// Train / validation / test parts of a dataset.
#[derive(Debug, Clone)]
pub struct Splits {
    /// Rows to fit on.
    pub train: Dataset,
    /// Rows for early stopping.
    pub validation: Dataset,
    /// Rows for the final report.
    pub test: Dataset,
}

/// Per-column standardisation `u = (x − μ) / σ`, fitted on training data.
///
/// Its log-Jacobian `−Σ_j log σ_j` is carried by every standardised [`Dataset`], so log-densities
/// reported on standardised data are in the original units once it is added.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Standardizer {
    /// Column means `μ`.
    pub mean: Vec<f64>,
    /// Column standard deviations `σ` (1 for a constant column).
    pub std: Vec<f64>,
}

impl Standardizer {
    /// Fits means and standard deviations (population) of every column.
    pub fn fit(data: &Dataset) -> Self {
        let (n, d) = (data.rows() as f64, data.cols());
        let mut mean = vec![0.0; d];
        for i in 0..data.rows() {
            for (m, &v) in mean.iter_mut().zip(data.row(i)) {
                *m += v as f64 / n;
            }
        }
        let mut var = vec![0.0; d];
        for i in 0..data.rows() {
            for ((s, &v), m) in var.iter_mut().zip(data.row(i)).zip(&mean) {
                *s += (v as f64 - m).powi(2) / n;
            }
        }
        let std = var
            .into_iter()
            .map(|v: f64| if v > 0.0 { v.sqrt() } else { 1.0 })
            .collect();
        Self { mean, std }
    }

    /// `−Σ_j log σ_j`: the log-Jacobian of `x ↦ u` per row.
    pub fn log_det(&self) -> f64 {
        -self.std.iter().map(|s| s.ln()).sum::<f64>()
    }

    /// Standardises `data` (which must have the fitted width).
    ///
    /// # Errors
    /// [`NflowError::ShapeMismatch`] for a different width.
    pub fn apply(&self, data: &Dataset) -> Result<Dataset> {
        if data.cols() != self.mean.len() {
            return Err(NflowError::shape_mismatch(
                "standardised data",
                format!("{} columns", self.mean.len()),
                format!("{} columns", data.cols()),
            ));
        }
        let d = data.cols();
        let values = data
            .values()
            .iter()
            .enumerate()
            .map(|(k, &v)| ((v as f64 - self.mean[k % d]) / self.std[k % d]) as f32)
            .collect();
        Ok(Dataset {
            values,
            cols: d,
            log_det_offset: data.log_det_offset() + self.log_det(),
        })
    }

    /// Maps standardised values back to the original units, row-major.
    pub fn invert(&self, standardised: &[f64]) -> Vec<f64> {
        let d = self.mean.len();
        standardised
            .iter()
            .enumerate()
            .map(|(k, &u)| u * self.std[k % d] + self.mean[k % d])
            .collect()
    }
}
