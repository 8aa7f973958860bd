//! `FusedAdam` takes the same steps as burn's `Adam` in f32 (its own process: the float type is
//! chosen once per process), to 1e-4 relative after ten steps.

mod adam_common;

use adam_common::{assert_close, train};
use burn::optim::AdamConfig;
use burn::tensor::{DType, Tensor};
use nflow_train::FusedAdam;

#[test]
fn fused_adam_takes_burns_steps_in_f32() {
    let device = nflow_core::default_device();
    assert_eq!(Tensor::<1>::zeros([1], &device).dtype(), DType::F32);
    for spline in [false, true] {
        let ours = train(&device, spline, FusedAdam::new().init(None));
        let burns = train(&device, spline, AdamConfig::new().with_epsilon(1e-8).init());
        assert_close(&ours, &burns, 1e-4, "Adam f32");
    }
}
