//! `FusedAdam` takes the same steps as burn's `Adam` and `AdamW`: ten steps of a small flow's
//! training, every parameter compared, in f64 (to 1e-12; `fused_adam_f32.rs` runs f32), with and without
//! weight decay and gradient clipping; its state moves between devices.

mod adam_common;

use adam_common::{assert_close, train};
use burn::grad_clipping::GradientClippingConfig;
use burn::optim::{AdamConfig, AdamWConfig};
use burn::tensor::Tensor;
use nflow_train::FusedAdam;

fn clip() -> Option<GradientClippingConfig> {
    Some(GradientClippingConfig::Norm(0.5))
}

#[test]
fn fused_adam_takes_burns_steps_in_f64() {
    let device = nflow_core::default_device();
    nflow_core::testing::configure_f64(&device);
    for spline in [false, true] {
        let ours = train(&device, spline, FusedAdam::new().init(None));
        let burns = train(&device, spline, AdamConfig::new().with_epsilon(1e-8).init());
        assert_close(&ours, &burns, 1e-12, "Adam");
        let start = train(&device, spline, FusedAdam::new().init(None));
        let decayed = train(
            &device,
            spline,
            FusedAdam::new()
                .with_weight_decay(0.3)
                .init(clip().map(|c| c.init())),
        );
        let burns = train(
            &device,
            spline,
            AdamWConfig::new()
                .with_epsilon(1e-8)
                .with_weight_decay(0.3)
                .with_grad_clipping(clip())
                .init(),
        );
        assert_close(&decayed, &burns, 1e-12, "AdamW");
        // The decay did something: the two runs differ.
        assert!(
            decayed.iter().zip(&start).any(|((_, a), (_, b))| a != b),
            "weight decay changes the parameters"
        );
    }
}

#[test]
fn fused_adam_state_moves_between_devices() {
    use burn::optim::Optimizer;
    let device = nflow_core::default_device();
    nflow_core::testing::configure_f64(&device);
    let p = Tensor::<1>::from_floats([1.0, -2.0, 0.5], &device);
    let g = Tensor::<1>::from_floats([0.1, 0.2, -0.3], &device);
    let (p, state) = FusedAdam::new().step(0.1, p, g.clone(), None);
    let state = <FusedAdam as Optimizer>::to_device(state.unwrap(), &device);
    assert_eq!(state.momentum.time, 1);
    let (q, state) = FusedAdam::new().step(0.1, p.clone(), g, Some(state));
    assert_eq!(state.unwrap().momentum.time, 2);
    // Two steps along the same gradient sign move each parameter by about 2·lr.
    let moved: Vec<f64> = (p - q).to_data().iter::<f64>().collect();
    assert!(
        moved.iter().all(|m| m.abs() > 0.05 && m.abs() < 0.15),
        "{moved:?}"
    );
}
