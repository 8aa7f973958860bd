//! The fast direction of a masked autoregressive layer on the host: the block-triangular MADE
//! pass and the transformer in one task per block of rows (see [`OnePass`](crate::OnePass)).

use burn::tensor::{DType, Tensor, TensorData};
use ndarray::Array2;
use nflow_made::{HostFloat, Made, host_matrix};
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
            let context = context_host.as_ref().map(|c| rows_of(c, start, rows));
            let mut workspace = plan.workspace(rows, context);
            let mut inputs = workspace.inputs_mut();
            for (m, &feature) in plan.order().iter().enumerate() {
                inputs.row_mut(m).assign(&x.column(feature));
            }
            let params = plan.forward_all(&mut workspace);
            let mut sums = vec![0.0f64; rows];
            // One coordinate at a time over the task's rows: the transformer's batch methods.
            let mut theta = vec![vec![0.0f64; rows]; k];
            let (mut known, mut value, mut log_derivative) =
                (vec![0.0f64; rows], vec![0.0f64; rows], vec![0.0f64; rows]);
            for (m, &feature) in plan.order().iter().enumerate() {
                for (p, theta) in theta.iter_mut().enumerate() {
                    for (t, &v) in theta.iter_mut().zip(params.row(m * k + p)) {
                        *t = v.to_f64();
                    }
                }
                for (r, v) in known.iter_mut().enumerate() {
                    *v = x[[r, feature]].to_f64();
                }
                let columns: Vec<&[f64]> = theta.iter().map(Vec::as_slice).collect();
                if forward {
                    transformer.forward_many(&known, &columns, &mut value, &mut log_derivative);
                } else {
                    transformer.inverse_many(&known, &columns, &mut value, &mut log_derivative);
                }
                for (r, (&v, &l)) in value.iter().zip(&log_derivative).enumerate() {
                    out[r * d + feature] = T::from_f64(v);
                    sums[r] += l;
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
