//! [`Inverse`]: a bijector with its two directions swapped.

use burn::module::Module;
use burn::tensor::Tensor;

use crate::bijector::Bijector;

/// Wraps a bijector and swaps its directions: `Inverse(f).forward == f.inverse` and vice versa,
/// log-determinants included.
///
/// Swapping also swaps which direction is cheap: a layer whose `inverse` takes one pass gives an
/// `Inverse` whose `forward` takes one pass.
///
/// # Example
///
/// ```
/// use burn::tensor::Tensor;
/// use nflow_core::{Bijector, ElementwiseAffine, Inverse, default_device};
///
/// let device = default_device();
/// let f = ElementwiseAffine::from_values(&[1.0], &[0.0], &device).unwrap();
/// let g = Inverse::new(f);
/// let (z, _) = g.forward(Tensor::<2>::from_floats([[3.0]], &device), None);
/// assert_eq!(z.into_scalar::<f64>(), 2.0);
/// ```
#[derive(Module, Debug)]
pub struct Inverse<B: Module> {
    inner: B,
}

impl<B: Module + Bijector> Inverse<B> {
    /// Swaps the directions of `inner`.
    pub fn new(inner: B) -> Self {
        Self { inner }
    }

    /// The wrapped bijector.
    pub fn inner(&self) -> &B {
        &self.inner
    }

    /// Unwraps the bijector.
    pub fn into_inner(self) -> B {
        self.inner
    }
}

impl<B: Module + Bijector> Bijector for Inverse<B> {
    fn features(&self) -> usize {
        self.inner.features()
    }

    fn context_features(&self) -> usize {
        self.inner.context_features()
    }

    fn forward(&self, z: Tensor<2>, context: Option<&Tensor<2>>) -> (Tensor<2>, Tensor<1>) {
        self.inner.inverse(z, context)
    }

    fn inverse(&self, x: Tensor<2>, context: Option<&Tensor<2>>) -> (Tensor<2>, Tensor<1>) {
        self.inner.forward(x, context)
    }

    fn forward_value(&self, z: Tensor<2>, context: Option<&Tensor<2>>) -> Tensor<2> {
        self.inner.inverse_value(z, context)
    }

    fn inverse_value(&self, x: Tensor<2>, context: Option<&Tensor<2>>) -> Tensor<2> {
        self.inner.forward_value(x, context)
    }
}
