//! [`FlowLayer`]: the layer kinds a built flow chains together.

use burn::module::Module;
use burn::tensor::Tensor;
use nflow_core::{Bijector, Standardize};

use crate::batch_norm::BatchNorm;
use crate::masked_autoregressive::MaskedAutoregressive;
use crate::permutation::Permutation;

/// One layer of a built autoregressive flow. An enum of layer kinds keeps a chain a plain burn
/// module with static dispatch (see `docs/design.md`).
///
/// Transformers and orientations are settings of [`MaskedAutoregressive`], not variants here: a
/// new transformer never touches this enum.
// burn tensor handles are large and burn has no `Module` impl for `Box`, so variants stay inline.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum FlowLayer {
    /// A masked autoregressive layer (MAF or IAF orientation, any transformer).
    Autoregressive(MaskedAutoregressive),
    /// A fixed permutation.
    Permutation(Permutation),
    /// Batch normalisation.
    BatchNorm(BatchNorm),
    /// The frozen standardisation at the data end (from the config's `standardizer`).
    Standardize(Standardize),
}

macro_rules! delegate {
    ($self:ident, $layer:ident => $call:expr) => {
        match $self {
            FlowLayer::Autoregressive($layer) => $call,
            FlowLayer::Permutation($layer) => $call,
            FlowLayer::BatchNorm($layer) => $call,
            FlowLayer::Standardize($layer) => $call,
        }
    };
}

impl Bijector for FlowLayer {
    fn features(&self) -> usize {
        delegate!(self, layer => layer.features())
    }

    fn context_features(&self) -> usize {
        delegate!(self, layer => layer.context_features())
    }

    fn forward(&self, z: Tensor<2>, context: Option<&Tensor<2>>) -> (Tensor<2>, Tensor<1>) {
        delegate!(self, layer => layer.forward(z, context))
    }

    fn inverse(&self, x: Tensor<2>, context: Option<&Tensor<2>>) -> (Tensor<2>, Tensor<1>) {
        delegate!(self, layer => layer.inverse(x, context))
    }

    fn forward_value(&self, z: Tensor<2>, context: Option<&Tensor<2>>) -> Tensor<2> {
        delegate!(self, layer => layer.forward_value(z, context))
    }

    fn inverse_value(&self, x: Tensor<2>, context: Option<&Tensor<2>>) -> Tensor<2> {
        delegate!(self, layer => layer.inverse_value(x, context))
    }
}
