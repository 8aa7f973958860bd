//! The degree-sorted packing a MADE keeps between evaluations (`Made::degree_sorted`): reused
//! while the weights are unchanged, never served for weights it was not built from.

mod common;

use std::sync::Arc;

use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::Tensor;
use common::random_layers::max_rel_diff;
use common::{device, normal, values};
use nflow_core::Bijector;
use nflow_flows::{AffineTransformer, Inversion, MaskedAutoregressive, OnePass, Orientation};
use nflow_made::MadeConfig;

/// Adds a constant to every float parameter (a stand-in for a training step).
struct Shift(f64);

impl ModuleMapper for Shift {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let shift = self.0;
        param.map(|t| t.add_scalar(shift))
    }
}

#[test]
fn a_second_evaluation_reuses_the_packing() {
    let made = MadeConfig::new(6, vec![32, 32])
        .with_seed(3)
        .init(&device())
        .unwrap();
    let first = made.degree_sorted::<f32>().unwrap();
    assert!(Arc::ptr_eq(&first, &made.degree_sorted::<f32>().unwrap()));
    // A clone holds the same weights and shares the packing.
    assert!(Arc::ptr_eq(
        &first,
        &made.clone().degree_sorted::<f32>().unwrap()
    ));
    // Changed weights, another mask set: packed again.
    let shifted = made.clone().map(&mut Shift(0.1));
    assert!(!Arc::ptr_eq(
        &first,
        &shifted.degree_sorted::<f32>().unwrap()
    ));
    let other_set = MadeConfig::new(6, vec![32, 32])
        .with_num_mask_sets(2)
        .with_order_agnostic(true)
        .init(&device())
        .unwrap();
    let set_0 = other_set.degree_sorted::<f32>().unwrap();
    let switched = other_set.with_mask_set(1).unwrap();
    let set_1 = switched.degree_sorted::<f32>().unwrap();
    assert!(!Arc::ptr_eq(&set_0, &set_1));
    assert_ne!(set_0.order(), set_1.order());
}

/// Two layers that differ only in their weights, evaluated in turn (the second made from the
/// first after its packing was cached): both directions of each equal the dense, sequential
/// reference of the same weights, every time.
#[test]
fn changed_weights_never_get_a_stale_packing() {
    let device = device();
    let made = MadeConfig::new(6, vec![32, 32])
        .with_seed(5)
        .init(&device)
        .unwrap();
    let layer =
        MaskedAutoregressive::new(made, AffineTransformer::default().into(), Orientation::Maf)
            .unwrap();
    let x = normal(40, 6, 1, &device);
    let both = |l: &MaskedAutoregressive| {
        let (z, ladj) = l.inverse(x.clone(), None);
        let (back, _) = l.forward(z.clone(), None);
        [values(z), values(ladj), values(back)].concat()
    };
    let reference = |l: &MaskedAutoregressive| {
        both(
            &l.clone()
                .with_one_pass(OnePass::Dense)
                .with_inversion(Inversion::Sequential),
        )
    };
    let before = both(&layer);
    let shifted = layer.clone().map(&mut Shift(0.05));
    for _ in 0..2 {
        assert!(max_rel_diff(&both(&shifted), &reference(&shifted)) < 1e-5);
        assert!(max_rel_diff(&both(&layer), &reference(&layer)) < 1e-5);
    }
    assert_eq!(both(&layer), before);
    assert!(
        max_rel_diff(&both(&shifted), &before) > 1e-2,
        "the shift shows"
    );
}
