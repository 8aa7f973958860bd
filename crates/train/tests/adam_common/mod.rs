//! Helpers shared by the `FusedAdam` tests: a small flow trained for ten steps by a given
//! optimiser, and the comparison of the parameters it ends with.
#![allow(dead_code)]

use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::Device;
use nflow_core::Distribution;
use nflow_core::named_params::named_params;
use nflow_flows::{AutoregressiveFlow, MafConfig, SplineTransformer};
use rand::SeedableRng;
use rand::rngs::StdRng;

pub fn flow(device: &Device, spline: bool) -> AutoregressiveFlow {
    let config = MafConfig::new(3)
        .with_layers(2)
        .with_hidden_sizes(vec![16])
        .with_output_init_scale(1.0);
    let config = if spline {
        config.with_transformer(SplineTransformer::new(4, 3.0).into())
    } else {
        config
    };
    config.init(device).unwrap()
}

/// Ten training steps of `optimizer` from the same start on the same batches; the parameters.
pub fn train(
    device: &Device,
    spline: bool,
    mut optimizer: ModuleOptimizer,
) -> Vec<(String, Vec<f64>)> {
    let training = device.clone().autodiff();
    let mut model = flow(device, spline).to_device(&training).train();
    let mut rng = StdRng::seed_from_u64(3);
    for step in 0..10 {
        let x = nflow_core::standard_normal_tensor(32, 3, &mut rng, &training);
        let loss = model
            .log_prob(x.mul_scalar(1.5), None)
            .unwrap()
            .mean()
            .neg();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optimizer.step(1e-2 * (1.0 + step as f64 * 0.1), model, grads);
    }
    named_params(&model)
        .into_iter()
        .map(|(name, t)| (name, t.values))
        .collect()
}

pub fn assert_close(a: &[(String, Vec<f64>)], b: &[(String, Vec<f64>)], tol: f64, what: &str) {
    assert_eq!(a.len(), b.len());
    let mut moved = false;
    for ((name, x), (_, y)) in a.iter().zip(b) {
        for (u, v) in x.iter().zip(y) {
            let err = (u - v).abs() / v.abs().max(1e-2);
            assert!(err < tol, "{what}: {name} differs: {u} against {v}");
        }
        moved |= x.iter().any(|v| v.is_finite());
    }
    assert!(moved, "{what}: parameters exist");
}
