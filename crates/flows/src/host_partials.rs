//! Training through the host: the transformer of a layer's one-pass direction computed on the
//! host with its partial derivatives, joined to burn's autodiff graph by a first-order surrogate.
//!
//! A spline's tensor form is dozens of small ops per layer (stacks, softmaxes, cumulative sums,
//! gathers, masks), each recorded on the autodiff tape and each with its backward. On the CPU it
//! is cheaper to compute the map and its partial derivatives per value on the host
//! ([`ScalarTransformer::forward_partials_one`]) and hand burn a tensor whose *value* is the map
//! and whose *gradient* is those partials:
//!
//! ```text
//! out = stop(out) + Σ_p (θ_p − stop(θ_p))·∂out/∂θ_p + (v − stop(v))·∂out/∂v
//! ```
//!
//! The differences are exactly zero, so the value is the host's, and backpropagation through
//! the sum gives exactly the partials: a few ops on the tape instead of the transformer's graph.

use burn::tensor::{DType, Tensor, TensorData};
use nflow_made::{HostFloat, host_matrix};
use rayon::prelude::*;

use crate::incremental_inversion::ROWS_PER_TASK;
use crate::transformer::ScalarTransformer;

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
            let (mut theta, mut d_value, mut d_log) =
                (vec![0.0; k], vec![0.0; k + 1], vec![0.0; k + 1]);
            for (r, sum_out) in out.log_derivative.iter_mut().enumerate() {
                let params_row = &params_host[(start + r) * k * d..][..k * d];
                let input_row = &input_host[(start + r) * d..][..d];
                let mut sum = 0.0;
                for (i, known) in input_row.iter().enumerate() {
                    for (p, t) in theta.iter_mut().enumerate() {
                        *t = params_row[p * d + i].to_f64();
                    }
                    let known = known.to_f64();
                    let (value, log_derivative) = if forward {
                        transformer.forward_partials_one(known, &theta, &mut d_value, &mut d_log)
                    } else {
                        transformer.inverse_partials_one(known, &theta, &mut d_value, &mut d_log)
                    }
                    .expect("the probe found partials");
                    out.mapped[r * d + i] = T::from_f64(value);
                    out.value_by_input[r * d + i] = T::from_f64(d_value[0]);
                    out.log_by_input[r * d + i] = T::from_f64(d_log[0]);
                    for p in 0..k {
                        let at = r * k * d + p * d + i;
                        out.value_by_params[at] = T::from_f64(d_value[1 + p]);
                        out.log_by_params[at] = T::from_f64(d_log[1 + p]);
                    }
                    sum += log_derivative;
                }
                *sum_out = T::from_f64(sum);
            }
        });
    let device = params.device();
    let matrix = |values: Vec<T>, cols: usize| -> Tensor<2> {
        Tensor::from_data(TensorData::new(values, [n, cols]), &device)
    };
    let params_delta = params.clone() - params.detach();
    let mut mapped = matrix(host.mapped, d)
        + (params_delta.clone() * matrix(host.value_by_params, k * d))
            .reshape([n, k, d])
            .sum_dim(1)
            .reshape([n, d]);
    let mut log_derivative =
        Tensor::<1>::from_data(TensorData::new(host.log_derivative, [n]), &device)
            + (params_delta * matrix(host.log_by_params, k * d))
                .sum_dim(1)
                .reshape([n]);
    if input.is_tracked() {
        let input_delta = input.clone() - input.detach();
        mapped = mapped + input_delta.clone() * matrix(host.value_by_input, d);
        log_derivative = log_derivative
            + (input_delta * matrix(host.log_by_input, d))
                .sum_dim(1)
                .reshape([n]);
    }
    Some((mapped, log_derivative))
}
