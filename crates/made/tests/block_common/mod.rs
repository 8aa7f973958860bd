//! Random MADEs and the comparison of the block-triangular pass with burn's dense masked pass,
//! for the f64 and f32 test files.
#![allow(dead_code)]

use burn::module::Module;
use burn::tensor::{Device, Distribution, Tensor, TensorData};
use nflow_core::named_params::named_grads;
use nflow_made::{Activation, HiddenDegrees, Made, MadeConfig, Ordering};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// Rows per batch: two 64-row register tiles of `gemm` and a ragged rest.
pub const ROWS: usize = 133;

/// A random MADE (description for failure messages) over the shapes the block path must handle.
pub fn random_made(seed: u64, d: usize, width: usize, device: &Device) -> (String, Made) {
    let mut rng = StdRng::seed_from_u64(seed);
    let depth = rng.random_range(1..=3);
    let residual = rng.random_bool(0.3);
    let context = if rng.random_bool(0.4) { 3 } else { 0 };
    let degrees = match rng.random_range(0..3) {
        0 => HiddenDegrees::Sequential,
        1 => HiddenDegrees::Sorted,
        _ => HiddenDegrees::Random,
    };
    let ordering = match rng.random_range(0..3) {
        0 => Ordering::Natural,
        1 => Ordering::Reversed,
        _ => Ordering::Random,
    };
    let activation = [Activation::Relu, Activation::Tanh, Activation::Elu][rng.random_range(0..3)];
    let direct = rng.random_bool(0.3);
    let k = [1, 2, 3, 23][rng.random_range(0..4)];
    let config = MadeConfig::new(d, vec![width; depth])
        .with_params_per_dim(k)
        .with_context_features(context)
        .with_hidden_degrees(degrees)
        .with_ordering(ordering.clone())
        .with_activation(activation)
        .with_residual(residual)
        .with_direct_connection(direct)
        .with_seed(seed);
    // Random degrees can cut an output off in a narrow network: widen until they do not.
    let made = (0..)
        .find_map(|extra| {
            let mut config = config.clone();
            config.hidden_sizes = vec![width + 4 * extra; depth];
            config.init(device).ok()
        })
        .expect("a wide enough network");
    let name = format!(
        "seed {seed}: D={d} hidden={width}x{depth} k={k} ctx={context} {degrees:?} {ordering:?} \
         {activation:?} residual={residual} direct={direct}"
    );
    (name, made)
}

/// A `[rows, cols]` standard normal tensor.
pub fn normal(rows: usize, cols: usize, device: &Device) -> Tensor<2> {
    Tensor::random([rows, cols], Distribution::Normal(0.0, 1.0), device)
}

pub fn values<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.into_data().convert::<f64>().try_to_vec::<f64>().unwrap()
}

/// Outputs and every gradient (input, context, each parameter) of a fixed random functional of
/// the MADE's output, by name, through `forward`.
pub fn outputs_and_gradients(
    made: &Made,
    x: &Tensor<2>,
    context: Option<&Tensor<2>>,
    weights: &Tensor<2>,
    training: &Device,
    forward: impl Fn(&Made, Tensor<2>, Option<&Tensor<2>>) -> Tensor<2>,
) -> Vec<(String, Vec<f64>)> {
    let made = made.clone().to_device(training).train();
    let x = x.clone().to_device(training).autodiff().require_grad();
    let context = context.map(|c| c.clone().to_device(training).autodiff().require_grad());
    let out = forward(&made, x.clone(), context.as_ref());
    let loss = (out.clone() * weights.clone().to_device(training)).sum();
    let grads = loss.backward();
    let mut all = vec![
        ("output".to_string(), values(out)),
        (
            "input".to_string(),
            values(x.grad(&grads).expect("input gradient")),
        ),
    ];
    if let Some(c) = &context {
        all.push((
            "context".to_string(),
            values(c.grad(&grads).expect("context gradient")),
        ));
    }
    all.extend(
        named_grads(&made, &grads)
            .into_iter()
            .map(|(n, g)| (n, g.values)),
    );
    all
}

/// Largest |a − b| / (1 + |b|).
pub fn max_rel_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / (1.0 + y.abs()))
        .fold(0.0, f64::max)
}

/// Checks the block path against the dense path on random MADEs, with and without autodiff.
pub fn check_random_mades(tol: f64, seeds_per_shape: u64) {
    let plain = nflow_core::default_device();
    let training = plain.clone().autodiff();
    let mut seed = 0;
    for (d, width) in [(1, 8), (2, 9), (5, 16), (63, 130)] {
        for _ in 0..seeds_per_shape {
            seed += 1;
            let (name, made) = random_made(seed, d, width, &plain);
            let c = made.context_features();
            let x = normal(ROWS, d, &plain);
            let context = (c > 0).then(|| normal(ROWS, c, &plain));
            let out_cols = made.config().params_per_dim * d;
            let weights = normal(ROWS, out_cols, &plain);

            // Without autodiff.
            let blocks = made
                .forward_blocks(&x, context.as_ref())
                .unwrap_or_else(|| panic!("{name}: the block path applies on flex"));
            let dense = made.forward_dense(x.clone(), context.as_ref());
            let err = max_rel_diff(&values(blocks), &values(dense));
            assert!(err < tol, "{name}: outputs differ by {err:e}");

            // With autodiff: outputs and every gradient.
            let block = outputs_and_gradients(
                &made,
                &x,
                context.as_ref(),
                &weights,
                &training,
                |m, x, c| {
                    m.forward_blocks(&x, c)
                        .expect("the block path applies with autodiff")
                },
            );
            let dense = outputs_and_gradients(
                &made,
                &x,
                context.as_ref(),
                &weights,
                &training,
                |m, x, c| m.forward_dense(x, c),
            );
            assert_eq!(
                block.iter().map(|(n, _)| n).collect::<Vec<_>>(),
                dense.iter().map(|(n, _)| n).collect::<Vec<_>>(),
                "{name}: the same gradients exist"
            );
            assert!(
                block.iter().any(|(n, _)| n.contains("output_layer")),
                "{name}: parameter gradients"
            );
            for ((what, a), (_, b)) in block.iter().zip(&dense) {
                let err = max_rel_diff(a, b);
                assert!(err < tol, "{name}: {what} differs by {err:e}");
            }
        }
    }
}

/// A tensor from `values`, `[rows, cols]`.
pub fn matrix(values: Vec<f64>, rows: usize, cols: usize, device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(values, [rows, cols]), device)
}
