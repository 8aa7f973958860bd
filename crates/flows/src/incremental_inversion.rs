//! The incremental inversion of a masked autoregressive layer on the host: each MADE unit
//! computed once, batch rows split across threads (see [`Inversion`](crate::Inversion)).

use burn::tensor::{DType, Tensor, TensorData};
use ndarray::{Array2, ArrayView2, Axis, Slice};
use nflow_made::{DegreeSortedMade, HostFloat, Made, host_matrix};
use rayon::prelude::*;

use crate::transformer::ElementwiseTransformer;

/// Rows each thread task solves together (the incremental solve and the block-triangular pass):
/// a multiple of every SIMD width (the kernel vectorises along rows) and exactly one register
/// tile of 4 row vectors at AVX-512's 16 lanes. Measured at 63×512 and 63×256 (`report`, MAF
/// density and IAF sampling, Intel Xeon): 64 rows beat 32, 96, 128 and 256 (e.g. 63×256 density
/// 9.9 ms against 11.0 at 96, 11.3 at 128, 15.1 at 256 and 14.0 at 32): a task's hidden buffers
/// stay small enough for the prefix each block reads to be served from the nearer caches.
pub(crate) const ROWS_PER_TASK: usize = 64;

/// Solves the layer's slow direction for `target`, as [`MaskedAutoregressive::solve`]
/// (crate::MaskedAutoregressive::solve) does, but computing each MADE unit once. `forward`
/// says which transformer direction maps the known side to the solved one. Returns the solved
/// side and the summed log-derivatives, or `None` when the MADE's masks do not follow its
/// degrees or the float type is neither `f32` nor `f64`.
pub(crate) fn solve_incremental(
    made: &Made,
    target: &Tensor<2>,
    context: Option<&Tensor<2>>,
    transformer: &dyn ElementwiseTransformer,
    forward: bool,
) -> Option<(Tensor<2>, Tensor<1>)> {
    match target.dtype() {
        DType::F32 => solve_as::<f32>(made, target, context, transformer, forward),
        DType::F64 => solve_as::<f64>(made, target, context, transformer, forward),
        _ => None,
    }
}

fn solve_as<T: HostFloat>(
    made: &Made,
    target: &Tensor<2>,
    context: Option<&Tensor<2>>,
    transformer: &dyn ElementwiseTransformer,
    forward: bool,
) -> Option<(Tensor<2>, Tensor<1>)> {
    let plan = made.degree_sorted::<T>()?;
    let device = target.device();
    let [n, d] = target.dims();
    let target_host = host_matrix::<T>(target.clone());
    let context_host: Option<Array2<T>> = context
        .filter(|_| plan.context_features() > 0)
        .map(|c| host_matrix::<T>(c.clone()));
    let mut solved = vec![T::zero(); n * d];
    let mut ladj = vec![0.0f64; n];
    match transformer.scalar() {
        Some(scalar) => {
            let k = plan.params_per_dim();
            solved
                .par_chunks_mut(ROWS_PER_TASK * d)
                .zip(ladj.par_chunks_mut(ROWS_PER_TASK))
                .enumerate()
                .for_each(|(task, (out, ladj))| {
                    let (start, rows) = (task * ROWS_PER_TASK, ladj.len());
                    let target = rows_of(&target_host, start, rows);
                    let context = context_host.as_ref().map(|c| rows_of(c, start, rows));
                    let mut theta = vec![vec![0.0f64; rows]; k];
                    // The transformer's column methods on the coordinate each step solves.
                    let column = |params: ArrayView2<'_, T>,
                                  targets: &[f64],
                                  values: &mut [f64],
                                  log_derivatives: &mut [f64]| {
                        for (theta, row) in theta.iter_mut().zip(params.rows()) {
                            theta.iter_mut().zip(row).for_each(|(a, b)| *a = b.to_f64());
                        }
                        let columns: Vec<&[f64]> = theta.iter().map(Vec::as_slice).collect();
                        if forward {
                            scalar.forward_many(targets, &columns, values, log_derivatives);
                        } else {
                            scalar.inverse_many(targets, &columns, values, log_derivatives);
                        }
                    };
                    solve_rows(&plan, target, context, out, ladj, column);
                });
        }
        None => {
            // The transformer's tensor methods on one column per step, all rows at once.
            let column = |params: ArrayView2<'_, T>,
                          targets: &[f64],
                          values: &mut [f64],
                          log_derivatives: &mut [f64]| {
                let rows = targets.len();
                let tensor = |values: Vec<T>| {
                    Tensor::<2>::from_data(TensorData::new(values, [rows, 1]), &device)
                };
                let params: Vec<Tensor<2>> = params
                    .rows()
                    .into_iter()
                    .map(|c| tensor(c.to_vec()))
                    .collect();
                let known = tensor(targets.iter().map(|&t| T::from_f64(t)).collect());
                let (v, l) = if forward {
                    transformer.forward(known, &params)
                } else {
                    transformer.inverse(known, &params)
                };
                for (out, t) in [(values, v), (log_derivatives, l)] {
                    let host = host_matrix::<T>(t);
                    out.iter_mut()
                        .zip(host.iter())
                        .for_each(|(a, b)| *a = b.to_f64());
                }
            };
            solve_rows(
                &plan,
                target_host.view(),
                context_host.as_ref().map(|c| c.view()),
                &mut solved,
                &mut ladj,
                column,
            );
        }
    }
    let ladj: Vec<T> = ladj.into_iter().map(T::from_f64).collect();
    Some((
        Tensor::from_data(TensorData::new(solved, [n, d]), &device),
        Tensor::from_data(TensorData::new(ladj, [n]), &device),
    ))
}

/// Rows `start..start + len` of `a`, borrowed.
pub(crate) fn rows_of<T>(a: &Array2<T>, start: usize, len: usize) -> ArrayView2<'_, T> {
    a.slice_axis(Axis(0), Slice::from(start..start + len))
}

/// Solves a block of rows: `D` steps of [`DegreeSortedMade::step`], each followed by the
/// transformer on the one column it parameterises (`column(params [k, rows], known values,
/// solved values out, log-derivatives out)`). Writes the solved side into `out` (`[rows, D]`,
/// row-major, the features' own order) and adds the log-derivatives to `ladj`.
fn solve_rows<T: HostFloat>(
    plan: &DegreeSortedMade<T>,
    target: ArrayView2<'_, T>,
    context: Option<ArrayView2<'_, T>>,
    out: &mut [T],
    ladj: &mut [f64],
    mut column: impl FnMut(ArrayView2<'_, T>, &[f64], &mut [f64], &mut [f64]),
) {
    let (rows, d) = target.dim();
    let mut workspace = plan.workspace(rows, context);
    let mut known = vec![0.0f64; rows];
    let mut values = vec![0.0f64; rows];
    let mut log_derivatives = vec![0.0f64; rows];
    for (m, &feature) in plan.order().iter().enumerate() {
        known
            .iter_mut()
            .zip(target.column(feature))
            .for_each(|(a, b)| *a = b.to_f64());
        let params = plan.step(&mut workspace, m);
        column(params, &known, &mut values, &mut log_derivatives);
        let mut inputs = workspace.inputs_mut();
        for r in 0..rows {
            let v = T::from_f64(values[r]);
            inputs[[m, r]] = v;
            out[r * d + feature] = v;
            ladj[r] += log_derivatives[r];
        }
    }
}
