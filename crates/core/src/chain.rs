//! [`Chain`]: the composition of bijectors.

use burn::module::Module;
use burn::tensor::Tensor;

use crate::bijector::Bijector;
use crate::error::{NflowError, Result};

/// The composition of a sequence of bijectors, itself a bijector.
///
/// `forward` applies the layers first to last, `inverse` last to first; the log-determinants of
/// the layers add up:
///
/// ```text
/// x = f_K ∘ … ∘ f_1 (z),    log|det ∂x/∂z| = Σ_k log|det ∂f_k/∂h_{k−1}|.
/// ```
///
/// `Chain` is a burn [`Module`] over any module layer type `L`, so a chain trains and saves as one
/// module. To mix layer kinds (as the flow builders in `nflow-flows` do), use an enum of layer
/// kinds that derives `Module` and implements [`Bijector`] by delegation.
///
/// Every layer receives the same context; layers without context (`context_features() == 0`, e.g.
/// permutations) ignore it. The chain's context width is that of its conditional layers, which
/// must agree.
///
/// # Example
///
/// ```
/// use burn::tensor::Tensor;
/// use nflow_core::{Bijector, Chain, ElementwiseAffine, default_device};
///
/// let device = default_device();
/// let a = ElementwiseAffine::from_values(&[1.0], &[0.5], &device).unwrap();
/// let b = ElementwiseAffine::from_values(&[-1.0], &[0.25], &device).unwrap();
/// let chain = Chain::new(vec![a, b]).unwrap();
/// let (x, ladj) = chain.forward(Tensor::<2>::from_floats([[2.0]], &device), None);
/// let (z, back) = chain.inverse(x, None);
/// assert!((z.into_scalar::<f64>() - 2.0).abs() < 1e-5);
/// assert!((ladj.into_scalar::<f64>() - 0.75).abs() < 1e-6);
/// assert!((back.into_scalar::<f64>() + 0.75).abs() < 1e-6);
/// ```
#[derive(Module, Debug)]
pub struct Chain<L: Module> {
    layers: Vec<L>,
}

impl<L: Module + Bijector> Chain<L> {
    /// Composes `layers` (applied first to last by `forward`).
    ///
    /// # Errors
    /// [`NflowError::InvalidConfig`] for an empty list, for layers that disagree on the number of
    /// features, or for conditional layers that disagree on the context width.
    pub fn new(layers: Vec<L>) -> Result<Self> {
        let first = layers
            .first()
            .ok_or_else(|| NflowError::invalid_config("a Chain needs at least one layer"))?;
        let d = first.features();
        let c = layers
            .iter()
            .map(Bijector::context_features)
            .max()
            .unwrap_or(0);
        for (index, layer) in layers.iter().enumerate() {
            if layer.features() != d {
                return Err(NflowError::invalid_config(format!(
                    "Chain layer {index} acts on {} features, but layer 0 acts on {d}",
                    layer.features()
                )));
            }
            if !matches!(layer.context_features(), 0) && layer.context_features() != c {
                return Err(NflowError::invalid_config(format!(
                    "Chain layer {index} takes {} context features, but another layer takes {c}",
                    layer.context_features()
                )));
            }
        }
        Ok(Self { layers })
    }

    /// The layers, first (closest to the base) to last (closest to the data).
    pub fn layers(&self) -> &[L] {
        &self.layers
    }

    /// Consumes the chain and returns its layers.
    pub fn into_layers(self) -> Vec<L> {
        self.layers
    }
}

impl<L: Module + Bijector> Bijector for Chain<L> {
    fn features(&self) -> usize {
        self.layers[0].features()
    }

    fn context_features(&self) -> usize {
        self.layers
            .iter()
            .map(Bijector::context_features)
            .max()
            .unwrap_or(0)
    }

    fn forward(&self, z: Tensor<2>, context: Option<&Tensor<2>>) -> (Tensor<2>, Tensor<1>) {
        let (mut h, mut total) = self.layers[0].forward(z, context);
        for layer in &self.layers[1..] {
            let (next, ladj) = layer.forward(h, context);
            h = next;
            total = total + ladj;
        }
        (h, total)
    }

    fn inverse(&self, x: Tensor<2>, context: Option<&Tensor<2>>) -> (Tensor<2>, Tensor<1>) {
        let mut rev = self.layers.iter().rev();
        let (mut h, mut total) = rev.next().expect("non-empty chain").inverse(x, context);
        for layer in rev {
            let (next, ladj) = layer.inverse(h, context);
            h = next;
            total = total + ladj;
        }
        (h, total)
    }

    fn forward_value(&self, z: Tensor<2>, context: Option<&Tensor<2>>) -> Tensor<2> {
        self.layers
            .iter()
            .fold(z, |h, layer| layer.forward_value(h, context))
    }

    fn inverse_value(&self, x: Tensor<2>, context: Option<&Tensor<2>>) -> Tensor<2> {
        self.layers
            .iter()
            .rev()
            .fold(x, |h, layer| layer.inverse_value(h, context))
    }
}
