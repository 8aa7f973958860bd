//! Host access to tensors of burn's `flex` CPU backend for operations with a hand-written
//! backward ([`block_linear`](crate::Made::forward_blocks), the host transformers of nflow-flows):
//! the backend primitives behind a [`Tensor`], their values as slices, and new primitives from
//! host vectors, all without copies where the layout allows.

use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, AutodiffBackend, Flex};
use burn::tensor::{Tensor, TensorData};

use crate::host_float::HostFloat;

/// burn's autodiff over `flex` without gradient checkpointing: the backend behind
/// `Device::flex().autodiff()`.
pub type FlexAutodiff = Autodiff<Flex, NoCheckpointing>;

/// The autodiff primitive of `tensor` on [`FlexAutodiff`]; a tensor on plain `flex` joins the
/// graph as a constant. `None` on any other backend (or checkpointing strategy).
pub fn flex_tracked<const D: usize>(tensor: &Tensor<D>) -> Option<FloatTensor<FlexAutodiff>> {
    match tensor.clone().try_into_primitive::<FlexAutodiff>() {
        Ok(tracked) => Some(tracked),
        Err(_) => {
            let plain = tensor.clone().try_into_primitive::<Flex>().ok()?;
            Some(<FlexAutodiff as AutodiffBackend>::from_inner(plain))
        }
    }
}

/// `tensor` row-major and contiguous: the same buffer when it already is, a copy otherwise.
pub fn flex_contiguous<T: HostFloat>(tensor: &FlexTensor) -> FlexTensor {
    if tensor.as_slice::<T>().is_some() {
        tensor.clone()
    } else {
        tensor.to_contiguous()
    }
}

/// The values of a contiguous `tensor` (see [`flex_contiguous`]); `None` for another float type.
pub fn flex_values<T: HostFloat>(tensor: &FlexTensor) -> Option<&[T]> {
    tensor.as_slice::<T>()
}

/// A `flex` primitive over `values` (row-major, `shape`), without a copy.
pub fn flex_tensor<T: HostFloat, const D: usize>(values: Vec<T>, shape: [usize; D]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}
