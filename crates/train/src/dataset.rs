//! [`Dataset`]: an in-memory `[n, D]` table of `f32` with optional `[n, C]` context columns, with
//! splitting.

use burn::tensor::{Device, Tensor, TensorData};
use nflow_core::validate::{check_rows, flatten_rows};
use nflow_core::{NflowError, Result, Standardizer};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

/// An in-memory dataset of `n` rows and `D` columns of `f32`, every value finite, optionally with
/// `C` context columns per row (the `c` of a conditional density `p(x | c)`).
///
/// ```
/// use nflow_train::Dataset;
///
/// let data = Dataset::from_rows(&[[0.0, 1.0], [2.0, 3.0]]).unwrap()
///     .with_context_rows(&[[0.5], [-0.5]])
///     .unwrap();
/// assert_eq!((data.rows(), data.cols(), data.context_cols()), (2, 2, 1));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    values: Vec<f32>,
    cols: usize,
    context: Vec<f32>,
    context_cols: usize,
}

impl Dataset {
    /// A dataset from row-major values with `cols` columns.
    ///
    /// # Errors
    /// [`NflowError::ShapeMismatch`] when `cols == 0`, the data are empty or not a whole number of
    /// rows; [`NflowError::NonFinite`] naming the first row and column holding a NaN or infinity.
    pub fn from_flat(values: Vec<f32>, cols: usize) -> Result<Self> {
        check_rows(&values, cols, "dataset")?;
        Ok(Self {
            values,
            cols,
            context: Vec::new(),
            context_cols: 0,
        })
    }

    /// The same rows with `context_cols` context columns, row-major (one context row per data
    /// row).
    ///
    /// # Errors
    /// [`NflowError::ShapeMismatch`] when `context_cols == 0` or the values are not one row of
    /// `context_cols` per data row; [`NflowError::NonFinite`] naming the first bad value.
    pub fn with_context(mut self, context: Vec<f32>, context_cols: usize) -> Result<Self> {
        if context_cols == 0 || context.len() != self.rows() * context_cols {
            return Err(NflowError::shape_mismatch(
                "dataset context",
                format!("[{}, C >= 1] (one context row per data row)", self.rows()),
                format!("{} values in rows of {context_cols}", context.len()),
            ));
        }
        check_rows(&context, context_cols, "dataset context")?;
        self.context = context;
        self.context_cols = context_cols;
        Ok(self)
    }

    /// A dataset from rows, which must all have the same width.
    ///
    /// # Errors
    /// [`NflowError::ShapeMismatch`] naming the first row whose width differs from row 0's;
    /// otherwise as [`Dataset::from_flat`].
    pub fn from_rows<R: AsRef<[f64]>>(rows: &[R]) -> Result<Self> {
        let (values, cols) = flatten_rows(rows, "dataset")?;
        Self::from_flat(values, cols)
    }

    /// [`Dataset::with_context`] from rows, which must all have the same width.
    ///
    /// # Errors
    /// As [`Dataset::with_context`]; a row of another width is a shape mismatch naming it.
    pub fn with_context_rows<R: AsRef<[f64]>>(self, rows: &[R]) -> Result<Self> {
        let (values, cols) = flatten_rows(rows, "dataset context")?;
        self.with_context(values, cols)
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

    /// Number of context columns `C` (0: no context).
    pub fn context_cols(&self) -> usize {
        self.context_cols
    }

    /// Row-major context values (empty without a context).
    pub fn context_values(&self) -> &[f32] {
        &self.context
    }

    /// Per-column means and standard deviations of the data columns, to put inside a flow
    /// (`AutoregressiveFlowConfig::with_standardizer`).
    pub fn fit_standardizer(&self) -> Standardizer {
        Standardizer::fit(&self.values, self.cols).expect("a dataset is non-empty and finite")
    }

    /// The context rows at `indices` as a `[len, C]` tensor (`None` without a context).
    pub fn context_batch(&self, indices: &[usize], device: &Device) -> Option<Tensor<2>> {
        if self.context_cols == 0 {
            return None;
        }
        let c = self.context_cols;
        let mut values = Vec::with_capacity(indices.len() * c);
        for &i in indices {
            values.extend_from_slice(&self.context[i * c..(i + 1) * c]);
        }
        Some(Tensor::from_data(
            TensorData::new(values, [indices.len(), c]),
            device,
        ))
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
        let c = self.context_cols;
        let mut context = Vec::with_capacity(indices.len() * c);
        for &i in indices {
            values.extend_from_slice(self.row(i));
            context.extend_from_slice(&self.context[i * c..(i + 1) * c]);
        }
        Dataset {
            values,
            cols: self.cols,
            context,
            context_cols: c,
        }
    }

    /// The row indices `0..n` in an order shuffled by `seed` (the one shuffle behind
    /// [`split`](Self::split) and [`holdout`](Self::holdout)).
    fn shuffled_rows(&self, seed: u64) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.rows()).collect();
        order.shuffle(&mut StdRng::seed_from_u64(seed));
        order
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
        let order = self.shuffled_rows(seed);
        Ok(Splits {
            train: self.subset(&order[..n_train]),
            validation: self.subset(&order[n_train..n_train + n_val]),
            test: self.subset(&order[n_train + n_val..]),
        })
    }

    /// Shuffles the rows with `seed` and holds out `fraction` of them (rounded, at least one):
    /// `(rest, held_out)`, e.g. training rows and validation rows.
    ///
    /// # Errors
    /// [`NflowError::InvalidConfig`] when `fraction` is not in `(0, 1)` or either part would be
    /// empty.
    pub fn holdout(&self, fraction: f64, seed: u64) -> Result<(Dataset, Dataset)> {
        let n = self.rows();
        let held = ((n as f64 * fraction).round() as usize).max(1);
        if !(fraction > 0.0 && fraction < 1.0) || held >= n {
            return Err(NflowError::invalid_config(format!(
                "cannot hold out a fraction {fraction} of {n} rows with both parts non-empty"
            )));
        }
        let order = self.shuffled_rows(seed);
        Ok((self.subset(&order[held..]), self.subset(&order[..held])))
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
