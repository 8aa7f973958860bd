//! Training through the host: the transformer of a layer's one-pass direction computed on the
//! host with its partial derivatives, as burn operations with a hand-written backward.
//!
//! A spline's tensor form is dozens of small ops per layer (stacks, softmaxes, cumulative sums,
//! gathers, masks), each recorded on the autodiff tape and each with its backward. On the CPU it
//! is cheaper to compute the map and its partial derivatives on the host
//! ([`ScalarTransformer::forward_partials_many`], called on groups of whole rows: each row's
//! parameters and partials are `k` contiguous runs of its `D` coordinates) and register two
//! operations, the mapped values and the summed log-derivatives, whose backward steps apply the
//! chain rule through those partials in one pass over the rows:
//!
//! ```text
//! ∂L/∂θ_{r,p,i} = ∂L/∂out_{r,i} · ∂out_{r,i}/∂θ_{p,i},    ∂L/∂v_{r,i} = ∂L/∂out_{r,i} · ∂out_{r,i}/∂v_{r,i}
//! ```
//!
//! (for the log-derivative, `∂L/∂out` is the row's, shared by its coordinates).

use std::sync::Arc;

use burn::backend::Flex;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::tensor::{DType, Tensor};
use nflow_made::flex_host::{
    FlexAutodiff, flex_contiguous, flex_tensor, flex_tracked, flex_values,
};
use nflow_made::{HostFloat, host_matrix, narrow_into};
use rayon::prelude::*;

use crate::incremental_inversion::ROWS_PER_TASK;
use crate::transformer::{ColumnPartials, ScalarTransformer};

/// Applies the transformer in direction `forward` to `input` (`[n, D]`) given the MADE's output
/// `params` (`[n, k·D]`, parameter-major: column `p·D + i` is parameter `p` of coordinate `i`),
/// on the host, and returns the mapped side and the summed log-derivatives as tensors whose
/// gradients with respect to `params` and `input` are the transformer's partials (see the module
/// docs). `None` when the transformer provides no partials or the float type is neither `f32`
/// nor `f64`.
pub(crate) fn one_pass_partials(
    params: Tensor<2>,
    input: Tensor<2>,
    transformer: &dyn ScalarTransformer,
    forward: bool,
) -> Option<(Tensor<2>, Tensor<1>)> {
    match input.dtype() {
        DType::F32 => partials_as::<f32>(params, input, transformer, forward),
        DType::F64 => partials_as::<f64>(params, input, transformer, forward),
        _ => None,
    }
}

/// The host's results: the mapped values, the summed log-derivatives, and the partials of both
/// with respect to the input (`[n, D]`) and the parameters (`[n, k·D]`).
struct Partials<T> {
    mapped: Vec<T>,
    log_derivative: Vec<T>,
    value_by_input: Vec<T>,
    log_by_input: Vec<T>,
    value_by_params: Vec<T>,
    log_by_params: Vec<T>,
}

/// The rows of [`Partials`] one task writes.
struct PartialsRows<'a, T> {
    mapped: &'a mut [T],
    log_derivative: &'a mut [T],
    value_by_input: &'a mut [T],
    log_by_input: &'a mut [T],
    value_by_params: &'a mut [T],
    log_by_params: &'a mut [T],
}

impl<T: HostFloat> Partials<T> {
    fn zeros(rows: usize, d: usize, k: usize) -> Self {
        Self {
            mapped: vec![T::zero(); rows * d],
            log_derivative: vec![T::zero(); rows],
            value_by_input: vec![T::zero(); rows * d],
            log_by_input: vec![T::zero(); rows * d],
            value_by_params: vec![T::zero(); rows * k * d],
            log_by_params: vec![T::zero(); rows * k * d],
        }
    }

    /// Disjoint blocks of `rows` rows (the last may be shorter), in order.
    fn blocks(&mut self, rows: usize, d: usize, k: usize) -> Vec<PartialsRows<'_, T>> {
        self.mapped
            .chunks_mut(rows * d)
            .zip(self.log_derivative.chunks_mut(rows))
            .zip(self.value_by_input.chunks_mut(rows * d))
            .zip(self.log_by_input.chunks_mut(rows * d))
            .zip(self.value_by_params.chunks_mut(rows * k * d))
            .zip(self.log_by_params.chunks_mut(rows * k * d))
            .map(
                |(
                    ((((mapped, log_derivative), value_by_input), log_by_input), value_by_params),
                    log_by_params,
                )| {
                    PartialsRows {
                        mapped,
                        log_derivative,
                        value_by_input,
                        log_by_input,
                        value_by_params,
                        log_by_params,
                    }
                },
            )
            .collect()
    }
}

/// Values per call of the column partials (whole rows, at least one): enough to amortise a
/// call's set-up, few enough to stay in the nearer caches.
const COLUMN_VALUES: usize = 256;

fn partials_as<T: HostFloat>(
    params: Tensor<2>,
    input: Tensor<2>,
    transformer: &dyn ScalarTransformer,
    forward: bool,
) -> Option<(Tensor<2>, Tensor<1>)> {
    let [n, d] = input.dims();
    let k = params.dims()[1] / d.max(1);
    // Probe: a transformer without partials says so on its first value.
    let (mut probe_value, mut probe_log) = (vec![0.0; k + 1], vec![0.0; k + 1]);
    transformer.forward_partials_one(0.0, &vec![0.0; k], &mut probe_value, &mut probe_log)?;
    let input_host = host_matrix::<T>(input.clone());
    let params_host = host_matrix::<T>(params.clone());
    let standard = "host matrices are standard-layout";
    let (input_host, params_host) = (
        input_host.as_slice().expect(standard),
        params_host.as_slice().expect(standard),
    );
    let mut host = Partials::<T>::zeros(n, d, k);
    host.blocks(ROWS_PER_TASK, d, k)
        .into_par_iter()
        .enumerate()
        .for_each(|(task, out)| {
            let start = task * ROWS_PER_TASK;
            let rows = out.log_derivative.len();
            // Whole rows at a time, about `COLUMN_VALUES` values per call.
            let group = (COLUMN_VALUES / d.max(1)).clamp(1, rows.max(1));
            let mut column = ColumnPartials::default();
            let (mut known, mut theta) = (Vec::new(), Vec::new());
            for first in (0..rows).step_by(group) {
                let (g, row0) = ((rows - first).min(group), start + first);
                let n = g * d;
                // The group's values as one column: `known[r·D + i]`, and per parameter `p` the
                // slice `theta[p·n..][..n]` gathered from each row's parameter-major block.
                known.clear();
                known.extend(
                    input_host[row0 * d..(row0 + g) * d]
                        .iter()
                        .map(|x| x.to_f64()),
                );
                theta.clear();
                theta.resize(k * n, 0.0);
                for r in 0..g {
                    let row = &params_host[(row0 + r) * k * d..][..k * d];
                    for p in 0..k {
                        let target = &mut theta[p * n + r * d..][..d];
                        for (t, x) in target.iter_mut().zip(&row[p * d..(p + 1) * d]) {
                            *t = x.to_f64();
                        }
                    }
                }
                let columns: Vec<&[f64]> = theta.chunks(n.max(1)).collect();
                if forward {
                    transformer.forward_partials_many(&known, &columns, &mut column)
                } else {
                    transformer.inverse_partials_many(&known, &columns, &mut column)
                }
                .expect("the probe found partials");
                let to_t = |targets: &mut [T], source: &[f64]| narrow_into(source, targets);
                let values = first * d..(first + g) * d;
                to_t(&mut out.mapped[values.clone()], &column.mapped);
                to_t(
                    &mut out.value_by_input[values.clone()],
                    &column.d_value[..n],
                );
                to_t(&mut out.log_by_input[values], &column.d_log[..n]);
                for r in 0..g {
                    let row = (first + r) * k * d;
                    for p in 0..k {
                        let from = (1 + p) * n + r * d..(1 + p) * n + (r + 1) * d;
                        let to = row + p * d..row + (p + 1) * d;
                        to_t(
                            &mut out.value_by_params[to.clone()],
                            &column.d_value[from.clone()],
                        );
                        to_t(&mut out.log_by_params[to], &column.d_log[from]);
                    }
                    let logs = &column.log_derivative[r * d..(r + 1) * d];
                    out.log_derivative[first + r] = T::from_f64(logs.iter().sum());
                }
            }
        });
    let (tracked_params, tracked_input) = (flex_tracked(&params)?, flex_tracked(&input)?);
    let partials = Arc::new(HostPartials {
        shape: (n, d, k),
        value_by_input: host.value_by_input,
        log_by_input: host.log_by_input,
        value_by_params: host.value_by_params,
        log_by_params: host.log_by_params,
    });
    // One operation with both results side by side, `[n, D + 1]` (the mapped values, then the
    // summed log-derivative): its backward meets both upstream gradients at once and writes the
    // parameters' gradient in one pass, instead of two gradients that burn would then add.
    let mut joined = Vec::with_capacity(n * (d + 1));
    for (mapped, &log) in host.mapped.chunks(d.max(1)).zip(&host.log_derivative) {
        joined.extend_from_slice(&mapped[..d]);
        joined.push(log);
    }
    let output = flex_tensor(joined, [n, d + 1]);
    let joined = match PartialsBackward::<T>::default()
        .prepare::<NoCheckpointing>([tracked_params.node(), tracked_input.node()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish(partials, output),
        OpsKind::UnTracked(prep) => prep.finish(output),
    };
    let joined = Tensor::<2>::from_primitive::<FlexAutodiff>(joined);
    let mapped = joined.clone().slice([0..n, 0..d]);
    let log_derivative = joined.slice([0..n, d..d + 1]).reshape([n]);
    Some((mapped, log_derivative))
}

/// The partial derivatives the backward steps read: `[n, D]` by the input, `[n, k·D]` by the
/// parameters (parameter-major columns, as the MADE's output).
#[derive(Debug)]
struct HostPartials<T> {
    shape: (usize, usize, usize),
    value_by_input: Vec<T>,
    log_by_input: Vec<T>,
    value_by_params: Vec<T>,
    log_by_params: Vec<T>,
}

/// The backward step of the host transformer: the chain rule through the stored partials, one
/// pass over the rows, for the parameters (the MADE's output) and the input.
#[derive(Debug)]
struct PartialsBackward<T>(std::marker::PhantomData<T>);

impl<T> Default for PartialsBackward<T> {
    fn default() -> Self {
        Self(std::marker::PhantomData)
    }
}

impl<T: HostFloat + 'static> Backward<Flex, 2> for PartialsBackward<T> {
    type State = Arc<HostPartials<T>>;

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_params, node_input] = ops.parents;
        let grad = flex_contiguous::<T>(&grads.consume::<Flex>(&ops.node));
        let grad = flex_values::<T>(&grad).expect("a gradient of the layer's float type");
        let partials = &*ops.state;
        let (n, d, k) = partials.shape;
        // Row `r` of the upstream gradient: `∂L/∂y_{r,i}` for the `D` mapped values, then
        // `∂L/∂ℓ_r` for the row's summed log-derivative (shared by all its coordinates).
        let upstream = |r: usize| grad[r * (d + 1)..(r + 1) * (d + 1)].split_at(d);
        if let Some(node) = node_params {
            let mut out = vec![T::zero(); n * k * d];
            let by_params = partials
                .value_by_params
                .par_chunks((k * d).max(1))
                .zip(partials.log_by_params.par_chunks((k * d).max(1)));
            out.par_chunks_mut((k * d).max(1))
                .zip(by_params)
                .enumerate()
                .for_each(|(r, (out, (values, logs)))| {
                    let (by_value, by_log) = upstream(r);
                    let by_log = by_log[0];
                    let per_param = values.chunks(d.max(1)).zip(logs.chunks(d.max(1)));
                    for (out, (values, logs)) in out.chunks_mut(d.max(1)).zip(per_param) {
                        for (((o, &g), &v), &l) in
                            out.iter_mut().zip(by_value).zip(values).zip(logs)
                        {
                            *o = g * v + by_log * l;
                        }
                    }
                });
            grads.register::<Flex>(node.id, flex_tensor(out, [n, k * d]));
        }
        if let Some(node) = node_input {
            let out: Vec<T> = (0..n * d)
                .map(|at| {
                    let (by_value, by_log) = upstream(at / d.max(1));
                    by_value[at % d.max(1)] * partials.value_by_input[at]
                        + by_log[0] * partials.log_by_input[at]
                })
                .collect();
            grads.register::<Flex>(node.id, flex_tensor(out, [n, d]));
        }
    }
}
