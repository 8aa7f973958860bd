//! Random masked autoregressive layers over every shape the incremental inversion must handle,
//! and the check of the incremental solve against the sequential reference (used by the f64 and
//! f32 test files).
#![allow(dead_code)]

use burn::tensor::{Device, Tensor};
use nflow_core::Bijector;
use nflow_flows::{
    AffineTransformer, Inversion, MaskedAutoregressive, OnePass, Orientation, SplineTransformer,
    TransformerSpec,
};
use nflow_made::{Activation, HiddenDegrees, MadeConfig, Ordering};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::{normal, values};

/// Rows per test batch: two thread tasks of 64 rows (whole vector tiles of the kernel at every
/// SIMD width) and a task of 5 (rows past the last whole vector).
const ROWS: usize = 133;

/// One random layer: its description (for failure messages), the layer with the host kernels
/// (incremental inversion, block-triangular pass) and with burn's references (sequential, dense).
pub struct Layer {
    pub name: String,
    pub fast: MaskedAutoregressive,
    pub reference: MaskedAutoregressive,
    pub context: Option<Tensor<2>>,
}

pub fn layer(seed: u64, d: usize, depth: usize, output_scale: f64, device: &Device) -> Layer {
    let mut rng = StdRng::seed_from_u64(seed);
    let width = (d + 8).max(12);
    let residual = rng.random_bool(0.3);
    let context_features = if rng.random_bool(0.4) { 3 } else { 0 };
    // Random half the time; otherwise sequential or sorted by the seed's parity (no extra draw,
    // so the random networks stay the ones these seeds always gave: wide enough).
    let degrees = if rng.random_bool(0.5) {
        if seed.is_multiple_of(2) {
            HiddenDegrees::Sequential
        } else {
            HiddenDegrees::Sorted
        }
    } else {
        HiddenDegrees::Random
    };
    let ordering = match rng.random_range(0..3) {
        0 => Ordering::Natural,
        1 => Ordering::Reversed,
        _ => Ordering::Random,
    };
    let activation = [
        Activation::Relu,
        Activation::Tanh,
        Activation::Gelu,
        Activation::Elu,
    ][rng.random_range(0..4)];
    let direct = rng.random_bool(0.3);
    let spline = rng.random_bool(0.4);
    let orientation = if rng.random_bool(0.5) {
        Orientation::Maf
    } else {
        Orientation::Iaf
    };
    let transformer: TransformerSpec = if spline {
        SplineTransformer::new(4, 3.0).into()
    } else {
        AffineTransformer::default().into()
    };
    let k = transformer.transformer().params_per_dim();
    let made = MadeConfig::new(d, vec![width; depth])
        .with_params_per_dim(k)
        .with_context_features(context_features)
        .with_hidden_degrees(degrees)
        .with_ordering(ordering.clone())
        .with_activation(activation)
        .with_residual(residual)
        .with_direct_connection(direct)
        .with_seed(seed)
        .with_output_init_scale(output_scale)
        .init(device)
        .unwrap();
    let name = format!(
        "seed {seed}: D={d} hidden={width}x{depth} {orientation} {} ctx={context_features} \
         {degrees:?} {ordering:?} {activation:?} residual={residual} direct={direct}",
        transformer.kind()
    );
    let fast = MaskedAutoregressive::new(made, transformer, orientation).unwrap();
    let reference = fast
        .clone()
        .with_inversion(Inversion::Sequential)
        .with_one_pass(OnePass::Dense);
    let context = (context_features > 0).then(|| normal(ROWS, context_features, seed + 1, device));
    Layer {
        name,
        fast,
        reference,
        context,
    }
}

/// The slow direction of `layer` (MAF forward, IAF inverse) on `input`.
pub fn slow(
    layer: &MaskedAutoregressive,
    input: Tensor<2>,
    context: Option<&Tensor<2>>,
) -> (Tensor<2>, Tensor<1>) {
    match layer.orientation() {
        Orientation::Maf => layer.forward(input, context),
        Orientation::Iaf => layer.inverse(input, context),
    }
}

/// The fast direction (the one-pass map back).
pub fn fast_direction(
    layer: &MaskedAutoregressive,
    input: Tensor<2>,
    context: Option<&Tensor<2>>,
) -> (Tensor<2>, Tensor<1>) {
    match layer.orientation() {
        Orientation::Maf => layer.inverse(input, context),
        Orientation::Iaf => layer.forward(input, context),
    }
}

/// The largest difference, relative to the value where it exceeds 1: a layer solved over 63
/// steps can reach values of 10³ and beyond, and both solves round at that scale.
pub fn max_rel_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / y.abs().max(1.0))
        .fold(0.0, f64::max)
}

/// For D = 1, 2, 8, 63 and one to three hidden layers, three random layers each: the incremental
/// slow direction equals the sequential one and the block-triangular one-pass direction the
/// dense one (outputs and ladj, to `tol` relative), and the one-pass direction maps the output
/// back (round trip, opposite ladj).
///
/// `output_scale` scales the MADE's initial output weights: at 1 the conditioners' outputs are
/// of order one and a 63-step solve can reach values of 10⁴, where both solves, in f32, lose
/// digits to the conditioning (one IAF here: 8e-5 apart), so f32 runs use smaller scales.
///
/// `splines_round_trip: false` skips the round trip of spline layers (f32): a random spline can
/// be steep enough (slopes down to 1e-3) that a round trip in f32 loses digits whatever solves
/// it; the sequential reference's own f32 round trip was 6.6e-5 on one such layer here. In f64
/// every layer round-trips to 1e-10.
pub fn check_against_reference(
    device: &Device,
    tol: f64,
    output_scale: f64,
    splines_round_trip: bool,
) {
    let mut seed = 0;
    for d in [1, 2, 8, 63] {
        for depth in 1..=3 {
            for _ in 0..3 {
                seed += 1;
                let l = layer(seed, d, depth, output_scale, device);
                // Scaled normals: splines see points inside and outside their interval.
                let input = normal(ROWS, d, seed + 100, device).mul_scalar(2.0);
                let ctx = l.context.as_ref();
                let (fast_out, fast_ladj) = slow(&l.fast, input.clone(), ctx);
                let (ref_out, ref_ladj) = slow(&l.reference, input.clone(), ctx);
                let (a, b) = (values(fast_out.clone()), values(ref_out));
                assert!(a.iter().all(|v| v.is_finite()), "{}", l.name);
                let out_err = max_rel_diff(&a, &b);
                let ladj_err = max_rel_diff(&values(fast_ladj.clone()), &values(ref_ladj));
                assert!(out_err < tol, "{}: outputs differ by {out_err:e}", l.name);
                assert!(ladj_err < tol, "{}: ladj differ by {ladj_err:e}", l.name);
                // The one-pass direction: block-triangular host pass against burn's dense one.
                let (block_out, block_ladj) = fast_direction(&l.fast, input.clone(), ctx);
                let (dense_out, dense_ladj) = fast_direction(&l.reference, input.clone(), ctx);
                let one_err = max_rel_diff(&values(block_out), &values(dense_out));
                let one_ladj_err = max_rel_diff(&values(block_ladj), &values(dense_ladj));
                assert!(one_err < tol, "{}: one pass differs by {one_err:e}", l.name);
                assert!(
                    one_ladj_err < tol,
                    "{}: one-pass ladj differ by {one_ladj_err:e}",
                    l.name
                );
                let (back, back_ladj) = fast_direction(&l.fast, fast_out, ctx);
                if splines_round_trip || l.fast.transformer().kind() != "spline" {
                    let trip = max_rel_diff(&values(back), &values(input));
                    assert!(trip < tol, "{}: round trip off by {trip:e}", l.name);
                    let sum = max_rel_diff(&values(back_ladj.neg()), &values(fast_ladj));
                    assert!(sum < tol, "{}: ladj not opposite ({sum:e})", l.name);
                }
            }
        }
    }
}
