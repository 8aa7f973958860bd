//! Small analytic bijectors for the harness tests, and the deliberately wrong ones it must catch.
#![allow(dead_code)]

use burn::module::Module;
use burn::tensor::{Device, Int, Tensor, TensorData};
use nflow_core::{Bijector, ElementwiseAffine, standard_normal_tensor};
use rand::SeedableRng;

/// The f64 flex device (configured once per test process).
pub fn f64_device() -> Device {
    let device = nflow_core::default_device();
    nflow_core::testing::configure_f64(&device);
    device
}

/// `n × d` standard-normal points from a fixed seed.
pub fn points(n: usize, d: usize, seed: u64, device: &Device) -> Tensor<2> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    standard_normal_tensor(n, d, &mut rng, device)
}

/// A fixed permutation of the features: `x_i = z_{perm[i]}`, ladj 0.
#[derive(Module, Debug)]
pub struct FixedPermutation {
    forward_index: Tensor<1, Int>,
    inverse_index: Tensor<1, Int>,
}

impl FixedPermutation {
    pub fn new(perm: &[usize], device: &Device) -> Self {
        let mut inverse = vec![0i64; perm.len()];
        for (i, &p) in perm.iter().enumerate() {
            inverse[p] = i as i64;
        }
        let fwd: Vec<i64> = perm.iter().map(|&p| p as i64).collect();
        Self {
            forward_index: Tensor::from_data(TensorData::new(fwd, [perm.len()]), device),
            inverse_index: Tensor::from_data(TensorData::new(inverse, [perm.len()]), device),
        }
    }
}

impl Bijector for FixedPermutation {
    fn features(&self) -> usize {
        self.forward_index.dims()[0]
    }
    fn forward(&self, z: Tensor<2>, _: Option<&Tensor<2>>) -> (Tensor<2>, Tensor<1>) {
        let batch = z.dims()[0];
        let device = z.device();
        (
            z.select(1, self.forward_index.clone()),
            Tensor::zeros([batch], &device),
        )
    }
    fn inverse(&self, x: Tensor<2>, _: Option<&Tensor<2>>) -> (Tensor<2>, Tensor<1>) {
        let batch = x.dims()[0];
        let device = x.device();
        (
            x.select(1, self.inverse_index.clone()),
            Tensor::zeros([batch], &device),
        )
    }
}

/// The scalar nonlinearity `x = sinh(z)`, elementwise: ladj = Σ log cosh z.
#[derive(Module, Debug)]
pub struct Sinh {
    pub features: usize,
}

impl Bijector for Sinh {
    fn features(&self) -> usize {
        self.features
    }
    fn forward(&self, z: Tensor<2>, _: Option<&Tensor<2>>) -> (Tensor<2>, Tensor<1>) {
        let ladj = z.clone().cosh().log().sum_dim(1).squeeze_dim::<1>(1);
        (z.sinh(), ladj)
    }
    fn inverse(&self, x: Tensor<2>, _: Option<&Tensor<2>>) -> (Tensor<2>, Tensor<1>) {
        // d asinh(x)/dx = 1/sqrt(1 + x²)
        let ladj = x
            .clone()
            .square()
            .add_scalar(1.0)
            .log()
            .sum_dim(1)
            .squeeze_dim::<1>(1)
            .mul_scalar(-0.5);
        (x.asinh(), ladj)
    }
}

/// A context-conditioned shift: `x = z + W c` — exercises context plumbing.
#[derive(Module, Debug)]
pub struct ContextShift {
    weight: Tensor<2>,
}

impl ContextShift {
    pub fn new(weight: Tensor<2>) -> Self {
        Self { weight }
    }
}

impl Bijector for ContextShift {
    fn features(&self) -> usize {
        self.weight.dims()[1]
    }
    fn context_features(&self) -> usize {
        self.weight.dims()[0]
    }
    fn forward(&self, z: Tensor<2>, c: Option<&Tensor<2>>) -> (Tensor<2>, Tensor<1>) {
        let batch = z.dims()[0];
        let device = z.device();
        let shift = c.expect("context").clone().matmul(self.weight.clone());
        (z + shift, Tensor::zeros([batch], &device))
    }
    fn inverse(&self, x: Tensor<2>, c: Option<&Tensor<2>>) -> (Tensor<2>, Tensor<1>) {
        let batch = x.dims()[0];
        let device = x.device();
        let shift = c.expect("context").clone().matmul(self.weight.clone());
        (x - shift, Tensor::zeros([batch], &device))
    }
}

/// Mixed layer kinds in one chain, as the flow builders do. (burn tensors are large handles;
/// boxing them would need a `Module` impl for `Box`, which burn does not provide.)
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum TestLayer {
    Affine(ElementwiseAffine),
    Permutation(FixedPermutation),
    Sinh(Sinh),
}

impl Bijector for TestLayer {
    fn features(&self) -> usize {
        match self {
            TestLayer::Affine(b) => b.features(),
            TestLayer::Permutation(b) => b.features(),
            TestLayer::Sinh(b) => b.features(),
        }
    }
    fn forward(&self, z: Tensor<2>, c: Option<&Tensor<2>>) -> (Tensor<2>, Tensor<1>) {
        match self {
            TestLayer::Affine(b) => b.forward(z, c),
            TestLayer::Permutation(b) => b.forward(z, c),
            TestLayer::Sinh(b) => b.forward(z, c),
        }
    }
    fn inverse(&self, x: Tensor<2>, c: Option<&Tensor<2>>) -> (Tensor<2>, Tensor<1>) {
        match self {
            TestLayer::Affine(b) => b.inverse(x, c),
            TestLayer::Permutation(b) => b.inverse(x, c),
            TestLayer::Sinh(b) => b.inverse(x, c),
        }
    }
}

/// What kind of mistake a [`Broken`] bijector makes.
#[derive(Debug, Clone, Copy)]
pub enum Mistake {
    /// Forward ladj off by a constant (inverse ladj is right).
    ForwardLadjOffset,
    /// Inverse ladj has the wrong sign.
    InverseLadjSign,
    /// Inverse is not the inverse (wrong shift).
    NotInverse,
    /// `forward_value` disagrees with `forward`.
    BadValueHelper,
}

/// `x = 2z + 1` elementwise, with one deliberate mistake.
#[derive(Debug)]
pub struct Broken {
    pub features: usize,
    pub mistake: Mistake,
}

impl Bijector for Broken {
    fn features(&self) -> usize {
        self.features
    }
    fn forward(&self, z: Tensor<2>, _: Option<&Tensor<2>>) -> (Tensor<2>, Tensor<1>) {
        let batch = z.dims()[0];
        let device = z.device();
        let mut ladj = self.features as f64 * 2f64.ln();
        if let Mistake::ForwardLadjOffset = self.mistake {
            ladj += 0.1;
        }
        (
            z.mul_scalar(2.0).add_scalar(1.0),
            Tensor::full([batch], ladj, &device),
        )
    }
    fn inverse(&self, x: Tensor<2>, _: Option<&Tensor<2>>) -> (Tensor<2>, Tensor<1>) {
        let batch = x.dims()[0];
        let device = x.device();
        let mut ladj = -(self.features as f64) * 2f64.ln();
        if let Mistake::InverseLadjSign = self.mistake {
            ladj = -ladj;
        }
        let shift = if let Mistake::NotInverse = self.mistake {
            1.5
        } else {
            1.0
        };
        (
            x.sub_scalar(shift).div_scalar(2.0),
            Tensor::full([batch], ladj, &device),
        )
    }
    fn forward_value(&self, z: Tensor<2>, c: Option<&Tensor<2>>) -> Tensor<2> {
        let x = self.forward(z, c).0;
        if let Mistake::BadValueHelper = self.mistake {
            x.add_scalar(0.01)
        } else {
            x
        }
    }
}
