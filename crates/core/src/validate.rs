//! Shape and finiteness checks used at public entry points.

use burn::tensor::Tensor;

use crate::error::{NflowError, Result};

/// Checks that `x` is `[batch, width]` with `batch >= 1` and every entry finite.
///
/// The finiteness scan reads the tensor back to the host once; it names the first bad row and
/// column, so a user can find the offending record in their data.
///
/// # Errors
/// [`NflowError::ShapeMismatch`] for a wrong width or an empty batch, [`NflowError::NonFinite`]
/// for a NaN or infinite entry.
pub fn check_matrix(x: &Tensor<2>, what: &str, width: usize) -> Result<()> {
    check_width(x, what, width)?;
    check_finite(x, what)
}

/// Checks that `x` is `[batch, width]` with `batch >= 1` (no finiteness scan).
///
/// # Errors
/// [`NflowError::ShapeMismatch`] for a wrong width or an empty batch.
pub fn check_width(x: &Tensor<2>, what: &str, width: usize) -> Result<()> {
    let [rows, cols] = x.dims();
    if cols != width || rows == 0 {
        return Err(NflowError::shape_mismatch(
            what,
            format!("[batch >= 1, {width}]"),
            format!("[{rows}, {cols}]"),
        ));
    }
    Ok(())
}

/// Checks that every entry of `x` is finite, naming the first offending row and column.
///
/// # Errors
/// [`NflowError::NonFinite`].
pub fn check_finite(x: &Tensor<2>, what: &str) -> Result<()> {
    let [_, cols] = x.dims();
    let data = x.to_data();
    match data.iter::<f64>().enumerate().find(|(_, v)| !v.is_finite()) {
        None => Ok(()),
        Some((index, value)) => Err(NflowError::NonFinite {
            what: what.to_string(),
            row: index / cols.max(1),
            column: index % cols.max(1),
            value,
        }),
    }
}

/// Checks an optional context tensor against the expected context width and batch size.
///
/// A model without context (`context_features == 0`) accepts `None` only; a conditional model
/// requires `Some` with `[batch, context_features]`.
///
/// # Errors
/// [`NflowError::ShapeMismatch`] when the context is missing, unexpected, or the wrong shape;
/// [`NflowError::NonFinite`] for a non-finite entry.
pub fn check_context(
    context: Option<&Tensor<2>>,
    context_features: usize,
    batch: usize,
) -> Result<()> {
    match (context, context_features) {
        (None, 0) => Ok(()),
        (None, c) => Err(NflowError::shape_mismatch(
            "context",
            format!("[{batch}, {c}]"),
            "no context",
        )),
        (Some(ctx), 0) => Err(NflowError::shape_mismatch(
            "context",
            "no context (the model is unconditional)",
            format!("{:?}", ctx.dims()),
        )),
        (Some(ctx), c) => {
            let [rows, cols] = ctx.dims();
            if rows != batch || cols != c {
                return Err(NflowError::shape_mismatch(
                    "context",
                    format!("[{batch}, {c}]"),
                    format!("[{rows}, {cols}]"),
                ));
            }
            check_finite(ctx, "context")
        }
    }
}

/// Checks host values meant as a table: a non-empty whole number of rows of `cols >= 1` values,
/// every one finite.
///
/// # Errors
/// [`NflowError::ShapeMismatch`] for no values, `cols == 0` or a partial row;
/// [`NflowError::NonFinite`] naming the first row and column holding a NaN or infinity.
pub fn check_rows(values: &[f32], cols: usize, what: &str) -> Result<()> {
    if cols == 0 || values.is_empty() || !values.len().is_multiple_of(cols) {
        return Err(NflowError::shape_mismatch(
            what,
            format!("a non-empty multiple of {cols} values (rows of width {cols} >= 1)"),
            format!("{} values", values.len()),
        ));
    }
    if let Some((index, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(NflowError::NonFinite {
            what: what.into(),
            row: index / cols,
            column: index % cols,
            value: value as f64,
        });
    }
    Ok(())
}

/// Flattens rows of equal width into row-major `f32` values; returns them and the width.
///
/// # Errors
/// [`NflowError::ShapeMismatch`] naming the first row whose width differs from row 0's.
pub fn flatten_rows<R: AsRef<[f64]>>(rows: &[R], what: &str) -> Result<(Vec<f32>, usize)> {
    let cols = rows.first().map_or(0, |r| r.as_ref().len());
    let mut values = Vec::with_capacity(rows.len() * cols);
    for (index, row) in rows.iter().enumerate() {
        let row = row.as_ref();
        if row.len() != cols {
            return Err(NflowError::shape_mismatch(
                format!("{what} row {index}"),
                format!("{cols} columns (as row 0)"),
                format!("{} columns", row.len()),
            ));
        }
        values.extend(row.iter().map(|&v| v as f32));
    }
    Ok((values, cols))
}
