//! Shared helpers for the flows tests (f64 device, seeded points, a toy density).
#![allow(dead_code)]

use burn::tensor::{Device, Tensor, TensorData};
use nflow_core::standard_normal_tensor;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

pub fn device() -> Device {
    let device = nflow_core::default_device();
    nflow_core::testing::configure_f64(&device);
    device
}

pub fn normal(n: usize, d: usize, seed: u64, device: &Device) -> Tensor<2> {
    standard_normal_tensor(n, d, &mut StdRng::seed_from_u64(seed), device)
}

pub fn values<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.to_data().iter::<f64>().collect()
}

/// A mixture of four Gaussians at (±1.5, ±1.5) with standard deviation 0.4.
pub fn four_gaussians(n: usize, seed: u64, device: &Device) -> Tensor<2> {
    let mut rng = StdRng::seed_from_u64(seed);
    let data: Vec<f64> = (0..n)
        .flat_map(|_| {
            let k: u32 = rng.random_range(0..4);
            let (cx, cy) = (
                if k & 1 == 0 { 1.5 } else { -1.5 },
                if k & 2 == 0 { 1.5 } else { -1.5 },
            );
            let ex: f64 = rng.sample(rand_distr::StandardNormal);
            let ey: f64 = rng.sample(rand_distr::StandardNormal);
            [cx + 0.4 * ex, cy + 0.4 * ey]
        })
        .collect();
    Tensor::from_data(TensorData::new(data, [n, 2]), device)
}

pub mod random_layers;
pub mod registry;
