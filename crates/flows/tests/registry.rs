//! The design.md §4 harness over the one registry of every bijector (`common/registry.rs`): every
//! layer kind, every registered transformer in both orientations, with and without context.

mod common;

use common::device;
use common::registry::{
    check_gradients, check_harness, check_kinds, check_save_load, check_structure, registry,
};
use nflow_flows::registered_transformers;

#[test]
fn the_registry_lists_every_layer_kind() {
    let device = device();
    let cases = registry(&device);
    let kinds = check_kinds(&cases, &registered_transformers(), true);
    eprintln!("{} cases over the layer kinds {kinds:?}", cases.len());
    assert!(kinds.contains("autoregressive/maf/affine"));
    assert!(kinds.contains("autoregressive/iaf/affine"));
}

#[test]
fn every_bijector_passes_the_harness() {
    check_harness(&registry(&device()));
}

#[test]
fn autoregressive_jacobians_are_triangular_in_the_layer_ordering() {
    check_structure(&registry(&device()));
}

#[test]
fn every_parameter_of_every_flow_receives_a_gradient() {
    let device = device();
    check_gradients(&registry(&device), &device);
}

#[test]
fn save_and_load_reproduce_every_flow_exactly() {
    let device = device();
    check_save_load(&registry(&device), &device);
}
