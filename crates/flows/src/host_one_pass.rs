//! The fast direction of a masked autoregressive layer on the host: the block-triangular MADE
//! pass and the transformer in one task per block of rows (see [`OnePass`](crate::OnePass)).

use burn::tensor::{DType, Tensor, TensorData};
use ndarray::Array2;
use nflow_made::{DegreeSortedMade, HostFloat, Made, host_matrix};
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
    let plan = DegreeSortedMade::<T>::new(made)?;
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
            let mut p = vec![0.0f64; k];
            for (m, &feature) in plan.order().iter().enumerate() {
                let block =
                    params.slice_axis(ndarray::Axis(0), ndarray::Slice::from(m * k..(m + 1) * k));
                for (r, sum) in sums.iter_mut().enumerate() {
                    p.iter_mut()
                        .zip(block.column(r))
                        .for_each(|(a, b)| *a = b.to_f64());
                    let known = x[[r, feature]].to_f64();
                    let (value, log_derivative) = if forward {
                        transformer.forward_one(known, &p)
                    } else {
                        transformer.inverse_one(known, &p)
                    };
                    out[r * d + feature] = T::from_f64(value);
                    *sum += log_derivative;
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
