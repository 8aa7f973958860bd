//! The fast direction of a masked autoregressive layer on the host: the block-triangular MADE
//! pass and the transformer in one task per block of rows (see [`OnePass`](crate::OnePass)).

use burn::tensor::{DType, Tensor, TensorData};
use ndarray::Array2;
use nflow_made::{HostFloat, Made, host_matrix, narrow_into, widen_into};
use rayon::prelude::*;

use crate::incremental_inversion::{ROWS_PER_TASK, rows_of};
use crate::transformer::ScalarTransformer;

/// Maps `input` (the side the MADE reads) through the layer in one block-triangular pass:
/// `forward` says which transformer direction. Returns the mapped side and the summed
/// log-derivatives, or `None` when the MADE's masks do not follow its degrees or the float type
/// is neither `f32` nor `f64`.
pub(crate) fn one_pass_host(
    made: &Made,
    input: &Tensor<2>,
    context: Option<&Tensor<2>>,
    transformer: &dyn ScalarTransformer,
    forward: bool,
) -> Option<(Tensor<2>, Tensor<1>)> {
    match input.dtype() {
        DType::F32 => one_pass_as::<f32>(made, input, context, transformer, forward),
        DType::F64 => one_pass_as::<f64>(made, input, context, transformer, forward),
        _ => None,
    }
}

fn one_pass_as<T: HostFloat>(
    made: &Made,
    input: &Tensor<2>,
    context: Option<&Tensor<2>>,
    transformer: &dyn ScalarTransformer,
    forward: bool,
) -> Option<(Tensor<2>, Tensor<1>)> {
    let plan = made.degree_sorted::<T>()?;
    let device = input.device();
    let [n, d] = input.dims();
    let k = plan.params_per_dim();
    let input_host = host_matrix::<T>(input.clone());
    let context_host: Option<Array2<T>> = context
        .filter(|_| plan.context_features() > 0)
        .map(|c| host_matrix::<T>(c.clone()));
    let mut mapped = vec![T::zero(); n * d];
    let mut ladj = vec![T::zero(); n];
    mapped
        .par_chunks_mut(ROWS_PER_TASK * d)
        .zip(ladj.par_chunks_mut(ROWS_PER_TASK))
        .enumerate()
        .for_each(|(task, (out, ladj))| {
            let (start, rows) = (task * ROWS_PER_TASK, ladj.len());
            let x = rows_of(&input_host, start, rows);
            let x = x.as_slice().expect("rows of a standard-layout matrix");
            let context = context_host.as_ref().map(|c| rows_of(c, start, rows));
            let mut workspace = plan.workspace(rows, context);
            // The task's values feature by feature: into the MADE's inputs (transposed, in its
            // order), and from there, contiguously, as `f64` for the transformer:
            // `known[f·rows + r]`.
            let mut known = vec![0.0f64; d * rows];
            {
                let mut inputs = workspace.inputs_mut();
                for (m, &feature) in plan.order().iter().enumerate() {
                    let mut unit = inputs.row_mut(m);
                    let unit = unit.as_slice_mut().expect("a workspace row is contiguous");
                    transpose_column(x, d, feature, unit);
                    widen_into(unit, &mut known[feature * rows..][..rows]);
                }
            }
            let params = plan.forward_all(&mut workspace);
            let mut sums = vec![0.0f64; rows];
            // One coordinate at a time over the task's rows: the transformer's batch methods.
            let mut theta = vec![vec![0.0f64; rows]; k];
            let mut value = vec![0.0f64; rows];
            let mut log_derivative = vec![0.0f64; rows];
            let mut mapped_by_feature = vec![T::zero(); d * rows];
            for (m, &feature) in plan.order().iter().enumerate() {
                for (p, theta) in theta.iter_mut().enumerate() {
                    let row = params.row(m * k + p);
                    match row.as_slice() {
                        Some(row) => widen_into(row, theta),
                        None => theta
                            .iter_mut()
                            .zip(row)
                            .for_each(|(t, &v)| *t = v.to_f64()),
                    }
                }
                let known = &known[feature * rows..][..rows];
                let columns: Vec<&[f64]> = theta.iter().map(Vec::as_slice).collect();
                if forward {
                    transformer.forward_many(known, &columns, &mut value, &mut log_derivative);
                } else {
                    transformer.inverse_many(known, &columns, &mut value, &mut log_derivative);
                }
                narrow_into(&value, &mut mapped_by_feature[feature * rows..][..rows]);
                for (sum, &l) in sums.iter_mut().zip(&log_derivative) {
                    *sum += l;
                }
            }
            for (r, row) in out.chunks_exact_mut(d).enumerate() {
                for (f, v) in row.iter_mut().enumerate() {
                    *v = mapped_by_feature[f * rows + r];
                }
            }
            ladj.iter_mut()
                .zip(&sums)
                .for_each(|(a, &s)| *a = T::from_f64(s));
        });
    Some((
        Tensor::from_data(TensorData::new(mapped, [n, d]), &device),
        Tensor::from_data(TensorData::new(ladj, [n]), &device),
    ))
}

/// Column `column` of the row-major `[out.len(), width]` matrix `values`, into `out`.
fn transpose_column<T: HostFloat>(values: &[T], width: usize, column: usize, out: &mut [T]) {
    for (o, row) in out.iter_mut().zip(values.chunks_exact(width)) {
        *o = row[column];
    }
}
