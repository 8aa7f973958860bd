//! Numerical Jacobians by central finite differences, and what can be read off them.
//!
//! These are the measuring instruments of nflow's tests and checkers: log-determinants are
//! compared against [`log_abs_det`] of a [`numerical_jacobian`], and autoregressive structure is
//! checked with [`structure_violations`]. Work in `f64` (see `docs/design.md`) for tight tolerances.

use burn::tensor::{Tensor, TensorData};

/// A dense row-major matrix of `f64`, `rows × cols`.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// Entries, row-major.
    pub data: Vec<f64>,
}

impl Matrix {
    /// Entry `(i, j)`.
    pub fn get(&self, i: usize, j: usize) -> f64 {
        self.data[i * self.cols + j]
    }
}

/// Reads a `[rows, cols]` tensor into a [`Matrix`].
pub fn to_matrix(x: &Tensor<2>) -> Matrix {
    let [rows, cols] = x.dims();
    Matrix {
        rows,
        cols,
        data: x.to_data().iter::<f64>().collect(),
    }
}

/// The Jacobian of a row-wise map `f: [batch, D] → [batch, M]` at every row of `x`, by central
/// differences with step `step`: entry `(i, j)` of the `b`-th matrix is `∂f(x)_{b,i} / ∂x_{b,j}`.
///
/// `f` must treat rows independently (every bijector does, batch norm in evaluation mode
/// included). It is evaluated `2·D` times on the whole batch.
pub fn numerical_jacobian(
    f: impl Fn(Tensor<2>) -> Tensor<2>,
    x: &Tensor<2>,
    step: f64,
) -> Vec<Matrix> {
    let device = x.device();
    let base = to_matrix(x);
    let (batch, d) = (base.rows, base.cols);
    let mut columns: Vec<Matrix> = Vec::with_capacity(d);
    for j in 0..d {
        let shifted = |sign: f64| {
            let mut data = base.data.clone();
            for b in 0..batch {
                data[b * d + j] += sign * step;
            }
            to_matrix(&f(Tensor::from_data(
                TensorData::new(data, [batch, d]),
                &device,
            )))
        };
        let (plus, minus) = (shifted(1.0), shifted(-1.0));
        let derivative = plus
            .data
            .iter()
            .zip(&minus.data)
            .map(|(p, m)| (p - m) / (2.0 * step))
            .collect();
        columns.push(Matrix {
            rows: plus.rows,
            cols: plus.cols,
            data: derivative,
        });
    }
    let m = columns.first().map_or(0, |c| c.cols);
    (0..batch)
        .map(|b| Matrix {
            rows: m,
            cols: d,
            data: (0..m)
                .flat_map(|i| columns.iter().map(move |col| col.get(b, i)))
                .collect(),
        })
        .collect()
}

/// `log |det A|` of a square matrix, by LU decomposition with partial pivoting; `-inf` when `A` is
/// singular.
///
/// # Panics
/// When `a` is not square.
pub fn log_abs_det(a: &Matrix) -> f64 {
    assert_eq!(a.rows, a.cols, "log_abs_det needs a square matrix");
    let n = a.rows;
    let mut lu = a.data.clone();
    let mut total = 0.0;
    for k in 0..n {
        let pivot_row = (k..n)
            .max_by(|&r, &s| lu[r * n + k].abs().total_cmp(&lu[s * n + k].abs()))
            .expect("non-empty range");
        let pivot = lu[pivot_row * n + k];
        if pivot == 0.0 {
            return f64::NEG_INFINITY;
        }
        if pivot_row != k {
            for c in 0..n {
                lu.swap(k * n + c, pivot_row * n + c);
            }
        }
        total += pivot.abs().ln();
        for r in k + 1..n {
            let factor = lu[r * n + k] / pivot;
            for c in k..n {
                lu[r * n + c] -= factor * lu[k * n + c];
            }
        }
    }
    total
}

/// One Jacobian entry that should be zero but is not.
#[derive(Debug, Clone, PartialEq)]
pub struct StructureViolation {
    /// Batch row at which the Jacobian was taken.
    pub row: usize,
    /// Output index `i`.
    pub output: usize,
    /// Input index `j`.
    pub input: usize,
    /// The value of `∂f_i/∂x_j` found there.
    pub value: f64,
}

/// Every entry `(i, j)` of the Jacobians where `allowed(i, j)` is false but
/// `|J_ij| > tolerance`.
pub fn structure_violations(
    jacobians: &[Matrix],
    allowed: impl Fn(usize, usize) -> bool,
    tolerance: f64,
) -> Vec<StructureViolation> {
    let mut found = Vec::new();
    for (row, jac) in jacobians.iter().enumerate() {
        for output in 0..jac.rows {
            for input in 0..jac.cols {
                let value = jac.get(output, input);
                if !allowed(output, input) && value.abs() > tolerance {
                    found.push(StructureViolation {
                        row,
                        output,
                        input,
                        value,
                    });
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_abs_det_matches_closed_forms() {
        let diag = Matrix {
            rows: 2,
            cols: 2,
            data: vec![2.0, 0.0, 0.0, -3.0],
        };
        assert!((log_abs_det(&diag) - 6f64.ln()).abs() < 1e-12);
        // Needs a pivot: [[0, 1], [2, 5]] has det −2.
        let swap = Matrix {
            rows: 2,
            cols: 2,
            data: vec![0.0, 1.0, 2.0, 5.0],
        };
        assert!((log_abs_det(&swap) - 2f64.ln()).abs() < 1e-12);
        let singular = Matrix {
            rows: 2,
            cols: 2,
            data: vec![1.0, 2.0, 2.0, 4.0],
        };
        assert_eq!(log_abs_det(&singular), f64::NEG_INFINITY);
    }
}
