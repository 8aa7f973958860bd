//! The incremental inversion against the sequential reference in f32, the precision flows run in
//! by default: the same random layers as `incremental_inversion.rs` (initial output weights at
//! 0.3 of full scale, see `check_against_reference`), to 1e-5 (relative where a value exceeds 1).

mod common;

use common::random_layers::check_against_reference;

#[test]
fn incremental_equals_the_sequential_reference_in_f32() {
    check_against_reference(&nflow_core::default_device(), 1e-5, 0.3, false);
}
