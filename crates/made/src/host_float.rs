//! [`HostFloat`]: the element types of the host-side (plain Rust, outside burn) MADE kernels.

use burn::tensor::{Element, Tensor};
use ndarray::{Array1, Array2, LinalgScalar};

/// A float the host kernels compute in: `f32` (what flows run in by default) or `f64` (a device
/// configured for `f64`, as the precise tests do).
pub trait HostFloat:
    LinalgScalar + Element + bytemuck::Pod + PartialOrd + Send + Sync + std::fmt::Debug
{
    /// `v` rounded to this type.
    fn from_f64(v: f64) -> Self;
    /// This value as `f64` (exact).
    fn to_f64(self) -> f64;
}

impl HostFloat for f32 {
    fn from_f64(v: f64) -> Self {
        v as f32
    }

    fn to_f64(self) -> f64 {
        f64::from(self)
    }
}

impl HostFloat for f64 {
    fn from_f64(v: f64) -> Self {
        v
    }

    fn to_f64(self) -> f64 {
        self
    }
}

/// `out[i] = values[i]` as `f64`, compiled for the CPU's widest vectors (host kernels hand their
/// values to the transformers in `f64`).
pub fn widen_into<T: HostFloat>(values: &[T], out: &mut [f64]) {
    pulp::Arch::new().dispatch(
        #[inline(always)]
        || {
            for (o, &v) in out.iter_mut().zip(values) {
                *o = v.to_f64();
            }
        },
    );
}

/// `out[i] = values[i]` rounded to `T`, compiled for the CPU's widest vectors.
pub fn narrow_into<T: HostFloat>(values: &[f64], out: &mut [T]) {
    pulp::Arch::new().dispatch(
        #[inline(always)]
        || {
            for (o, &v) in out.iter_mut().zip(values) {
                *o = T::from_f64(v);
            }
        },
    );
}

/// A `[rows, cols]` tensor read back into a host matrix of `T` (converting the element type).
pub fn host_matrix<T: HostFloat>(tensor: Tensor<2>) -> Array2<T> {
    let [rows, cols] = tensor.dims();
    let values = tensor
        .into_data()
        .convert::<T>()
        .try_into_vec::<T>()
        .expect("converted to T");
    Array2::from_shape_vec((rows, cols), values)
        .expect("a [rows, cols] tensor has rows·cols values")
}

/// A `[n]` tensor read back into a host vector of `T`.
pub fn host_vector<T: HostFloat>(tensor: Tensor<1>) -> Array1<T> {
    Array1::from(
        tensor
            .into_data()
            .convert::<T>()
            .try_into_vec::<T>()
            .expect("converted to T"),
    )
}
