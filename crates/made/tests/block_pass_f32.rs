//! The block-triangular MADE pass in f32 (the `gemm` crate's f32 kernels) equals burn's dense
//! masked pass to f32 rounding, outputs and gradients (see `block_pass.rs` for f64).

mod block_common;

#[test]
fn block_pass_equals_the_dense_pass_in_f32() {
    block_common::check_random_mades(2e-4, 3);
}
