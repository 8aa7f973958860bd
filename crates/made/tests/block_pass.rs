//! The block-triangular MADE pass (`Made::forward_blocks`) equals burn's dense masked pass
//! (`Made::forward_dense`) in f64: outputs, and with autodiff the gradients of the input, the
//! context and every weight and bias (the weight gradient stays masked), for random MADEs over
//! D = 1, 2, 5, 63, random and reversed orderings, both degree schemes, context, residual blocks,
//! direct connections and 1-23 parameters per feature; and `Made::forward` takes it on flex.

mod block_common;

use block_common::{check_random_mades, max_rel_diff, normal, values};
use burn::tensor::FloatDType;
use nflow_made::{Made, MadeConfig};

fn setup() {
    let _ = nflow_core::default_device().configure(FloatDType::F64);
}

#[test]
fn block_pass_equals_the_dense_pass_with_gradients() {
    setup();
    check_random_mades(1e-10, 6);
}

#[test]
fn forward_takes_the_block_path_and_replaced_masks_fall_back() {
    setup();
    let device = nflow_core::default_device();
    let made = MadeConfig::new(4, vec![8, 8]).init(&device).unwrap();
    let x = normal(5, 4, &device);
    let blocks = made.forward_blocks(&x, None).unwrap();
    let forward = made.forward(x.clone(), None);
    assert_eq!(values(blocks), values(forward.clone()));
    let dense = made.forward_dense(x.clone(), None);
    assert!(max_rel_diff(&values(forward), &values(dense)) < 1e-12);

    // Masks replaced by hand no longer follow the degrees: no block plan, dense path.
    let masks: Vec<_> = made.mask_set().layer_masks.clone();
    let raw: Made = made.clone().with_raw_masks(&masks);
    assert!(raw.forward_blocks(&x, None).is_none());
    // Switching back to a mask set restores the plans.
    let again = raw.with_mask_set(0).unwrap();
    assert!(again.forward_blocks(&x, None).is_some());
}
