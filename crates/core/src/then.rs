//! [`Then`]: the composition of two bijectors of different types.

use burn::module::Module;
use burn::tensor::Tensor;

use crate::bijector::Bijector;
use crate::error::{NflowError, Result};

/// `first`, then `second`, in the forward (base → data) direction: `x = second(first(z))`. The
/// inverse runs `second`'s inverse first; the log-determinants add up.
///
/// [`Chain`](crate::Chain) composes many layers of *one* type; `Then` composes two layers of any
/// two types, so a bijector of your own goes before or after nflow's built-in layers without an
/// enum of layer kinds. Nest it for longer stacks (`Then<Then<A, B>, C>`). Both sides receive the
/// same context; an unconditional side ignores it.
///
/// `Then` is a burn [`Module`]: the pair trains, moves between devices and saves as one module
/// (with [`persist::save_model`](crate::persist::save_model) for a whole model directory).
///
/// # Example
///
/// ```
/// use burn::tensor::Tensor;
/// use nflow_core::{Bijector, ElementwiseAffine, Inverse, Then, default_device};
///
/// let device = default_device();
/// let a = ElementwiseAffine::from_values(&[1.0], &[0.0], &device).unwrap(); // z + 1
/// let b = Inverse::new(ElementwiseAffine::from_values(&[0.0], &[2.0f64.ln()], &device).unwrap()); // / 2
/// let both = Then::new(a, b).unwrap();
/// let (x, ladj) = both.forward(Tensor::<2>::from_floats([[3.0]], &device), None);
/// assert_eq!(x.into_scalar::<f64>(), 2.0);
/// assert!((ladj.into_scalar::<f64>() + 2.0f64.ln()).abs() < 1e-6);
/// ```
#[derive(Module, Debug)]
pub struct Then<A: Module, B: Module> {
    first: A,
    second: B,
}

impl<A: Module + Bijector, B: Module + Bijector> Then<A, B> {
    /// `first` (nearer the base), then `second` (nearer the data).
    ///
    /// # Errors
    /// [`NflowError::InvalidConfig`] when the two act on different numbers of features, or are
    /// both conditional on contexts of different widths.
    pub fn new(first: A, second: B) -> Result<Self> {
        if first.features() != second.features() {
            return Err(NflowError::invalid_config(format!(
                "Then: the first bijector acts on {} features, the second on {}",
                first.features(),
                second.features()
            )));
        }
        let (c1, c2) = (first.context_features(), second.context_features());
        if c1 != 0 && c2 != 0 && c1 != c2 {
            return Err(NflowError::invalid_config(format!(
                "Then: the first bijector takes {c1} context features, the second {c2}"
            )));
        }
        Ok(Self { first, second })
    }

    /// The bijector nearer the base.
    pub fn first(&self) -> &A {
        &self.first
    }

    /// The bijector nearer the data.
    pub fn second(&self) -> &B {
        &self.second
    }

    /// Both bijectors, base side first.
    pub fn into_parts(self) -> (A, B) {
        (self.first, self.second)
    }
}

impl<A: Module + Bijector, B: Module + Bijector> Bijector for Then<A, B> {
    fn features(&self) -> usize {
        self.first.features()
    }

    fn context_features(&self) -> usize {
        self.first
            .context_features()
            .max(self.second.context_features())
    }

    fn forward(&self, z: Tensor<2>, context: Option<&Tensor<2>>) -> (Tensor<2>, Tensor<1>) {
        let (h, a) = self.first.forward(z, context);
        let (x, b) = self.second.forward(h, context);
        (x, a + b)
    }

    fn inverse(&self, x: Tensor<2>, context: Option<&Tensor<2>>) -> (Tensor<2>, Tensor<1>) {
        let (h, b) = self.second.inverse(x, context);
        let (z, a) = self.first.inverse(h, context);
        (z, a + b)
    }

    fn forward_value(&self, z: Tensor<2>, context: Option<&Tensor<2>>) -> Tensor<2> {
        self.second
            .forward_value(self.first.forward_value(z, context), context)
    }

    fn inverse_value(&self, x: Tensor<2>, context: Option<&Tensor<2>>) -> Tensor<2> {
        self.first
            .inverse_value(self.second.inverse_value(x, context), context)
    }
}
