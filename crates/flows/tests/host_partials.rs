//! Training through the host partials (`OnePass::BlockTriangular` on an autodiff CPU device):
//! the one-pass direction's values and gradients, with respect to every parameter, the input and
//! the context, equal those of burn's own op graph (`OnePass::Dense`), in f64, for random layers
//! over both transformers and orientations, D = 1, 2, 8, 63, all three degree schemes, context,
//! residual blocks and direct connections; and at a spline's knots and interval ends.

mod common;

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use common::random_layers::{fast_direction, layer, max_rel_diff};
use common::{device, normal, values};
use nflow_core::named_params::named_grads;
use nflow_flows::{MaskedAutoregressive, OnePass, Orientation, SplineTransformer};
use nflow_made::MadeConfig;

/// The gradients of a fixed random functional of the one-pass direction's outputs and ladj:
/// every parameter's, the input's and the context's, by name, and the forward values.
fn gradients(
    layer: &MaskedAutoregressive,
    input: &Tensor<2>,
    context: Option<&Tensor<2>>,
    training: &Device,
) -> Vec<(String, Vec<f64>)> {
    let layer = layer.clone().to_device(training).train();
    let input = input.clone().to_device(training).autodiff().require_grad();
    let context = context.map(|c| c.clone().to_device(training).autodiff().require_grad());
    let (out, ladj) = fast_direction(&layer, input.clone(), context.as_ref());
    let [n, d] = out.dims();
    let weights = normal(n, d, 77, training);
    let loss = (out.clone() * weights).sum() + ladj.clone().mul_scalar(0.7).sum();
    let grads = loss.backward();
    let mut all = vec![
        ("output".to_string(), values(out)),
        ("ladj".to_string(), values(ladj)),
        (
            "input".to_string(),
            values(input.grad(&grads).expect("input gradient")),
        ),
    ];
    if let Some(c) = &context {
        all.push((
            "context".to_string(),
            values(c.grad(&grads).expect("context gradient")),
        ));
    }
    let params = named_grads(&layer, &grads);
    assert!(
        params.keys().any(|name| name.contains("output_layer")),
        "the MADE's parameters have gradients: {:?}",
        params.keys()
    );
    all.extend(params.into_iter().map(|(name, g)| (name, g.values)));
    all
}

fn assert_same(name: &str, host: &[(String, Vec<f64>)], dense: &[(String, Vec<f64>)], tol: f64) {
    assert_eq!(
        host.iter().map(|(n, _)| n).collect::<Vec<_>>(),
        dense.iter().map(|(n, _)| n).collect::<Vec<_>>(),
        "{name}: the same gradients exist"
    );
    for ((what, a), (_, b)) in host.iter().zip(dense) {
        assert!(a.iter().all(|v| v.is_finite()), "{name}: {what} not finite");
        let err = max_rel_diff(a, b);
        assert!(err < tol, "{name}: {what} differs by {err:e}");
    }
}

#[test]
fn host_partials_give_burns_gradients_on_random_layers() {
    let plain = device();
    let training = plain.clone().autodiff();
    let mut seed = 0;
    for d in [1, 2, 8, 63] {
        for depth in 1..=3 {
            for _ in 0..3 {
                seed += 1;
                let l = layer(seed, d, depth, 1.0, &plain);
                let input = normal(37, d, seed + 100, &plain).mul_scalar(2.0);
                let context = l.context.as_ref().map(|c| c.clone().narrow(0, 0, 37));
                let host = gradients(&l.fast, &input, context.as_ref(), &training);
                let dense = gradients(&l.reference, &input, context.as_ref(), &training);
                assert_same(&l.name, &host, &dense, 1e-8);
            }
        }
    }
}

#[test]
fn spline_partials_hold_at_knots_and_interval_ends() {
    // Zero output weights and biases: equal bins, so the knots of 8 bins on [−4, 4] are the
    // integers; the inputs sit on knots, on both ends, just inside and outside them.
    let plain = device();
    let training = plain.clone().autodiff();
    for orientation in [Orientation::Maf, Orientation::Iaf] {
        let made = MadeConfig::new(3, vec![16])
            .with_params_per_dim(23)
            .with_output_init_scale(0.3)
            .with_seed(4)
            .init(&plain)
            .unwrap();
        let layer =
            MaskedAutoregressive::new(made, SplineTransformer::new(8, 4.0).into(), orientation)
                .unwrap();
        let dense = layer.clone().with_one_pass(OnePass::Dense);
        let points = [
            -4.0, -3.0, 0.0, 1.0, 4.0, 3.999999, -4.000001, 4.000001, 2.5, -0.5, 7.0, -9.0,
        ];
        let input = Tensor::<2>::from_data(TensorData::new(points.to_vec(), [4, 3]), &plain);
        let host = gradients(&layer, &input, None, &training);
        let reference = gradients(&dense, &input, None, &training);
        assert_same(&format!("{orientation} spline"), &host, &reference, 1e-8);
    }
}
