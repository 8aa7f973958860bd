//! Float parameters addressed by their dotted module path (e.g.
//! `flow.transform.layers.0.Autoregressive.made.input_layer.weight`): read them all, read their
//! gradients, or replace some of them.
//!
//! This is how weights trained elsewhere come into an nflow model (and how nflow's own tests check
//! a model against another implementation from identical weights): export the other model's
//! tensors under nflow's paths and layouts, then [`set_named_params`]. A path joins, with dots,
//! what burn's module visitor reports: struct field names, `Vec`, array and tuple indices, and
//! enum variant names (an `Option` adds nothing). [`named_params`] lists them.
//!
//! ```
//! use nflow_core::named_params::{named_params, set_named_params};
//! use nflow_core::{ElementwiseAffine, default_device};
//!
//! let device = default_device();
//! let layer = ElementwiseAffine::from_values(&[0.0, 0.0], &[0.0, 0.0], &device).unwrap();
//! let mut params = named_params(&layer);
//! let shift = params.get_mut("shift").unwrap();
//! shift.values = vec![1.0, -1.0];
//! let layer = set_named_params(&layer, &params).unwrap();
//! assert_eq!(named_params(&layer)["shift"].values, vec![1.0, -1.0]);
//! ```

use std::collections::BTreeMap;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{DType, Gradients, Tensor, TensorData};

use crate::error::{NflowError, Result};

/// One tensor's shape and values (row-major, as f64 whatever the backend's float type).
#[derive(Debug, Clone, PartialEq)]
pub struct NamedTensor {
    /// The shape, in burn's layout (a linear layer's weight is `[inputs, outputs]`).
    pub shape: Vec<usize>,
    /// The values, row-major.
    pub values: Vec<f64>,
}

impl NamedTensor {
    fn of<const D: usize>(tensor: Tensor<D>) -> Self {
        NamedTensor {
            shape: tensor.dims().to_vec(),
            values: tensor.to_data().iter::<f64>().collect(),
        }
    }
}

/// Tracks the dotted path while burn walks a module.
#[derive(Default)]
struct PathStack(Vec<String>);

impl PathStack {
    fn enter(&mut self, name: &str) {
        self.0.push(name.to_string());
    }
    fn exit(&mut self) {
        self.0.pop();
    }
    fn path(&self) -> String {
        self.0.join(".")
    }
}

/// Every float parameter of `module` (trainable or not: running statistics are included), by
/// path.
pub fn named_params<M: Module>(module: &M) -> BTreeMap<String, NamedTensor> {
    collect(module, Want::Values).tensors
}

/// The gradient of every trainable float parameter of `module` in `grads` (from
/// `loss.backward()` on an autodiff device), by path. Parameters without a gradient are absent.
pub fn named_grads<M: Module>(module: &M, grads: &Gradients) -> BTreeMap<String, NamedTensor> {
    collect(module, Want::Grads(grads)).tensors
}

/// Shape, element type and trainable flag of a float parameter.
pub(crate) struct ParamLayout {
    pub(crate) shape: Vec<usize>,
    pub(crate) dtype: DType,
    /// Whether it requires a gradient (running statistics and frozen parameters do not); read by
    /// the test harness only.
    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    pub(crate) trainable: bool,
}

/// The layout of every float parameter, by path (no values are copied).
pub(crate) fn param_layouts<M: Module>(module: &M) -> BTreeMap<String, ParamLayout> {
    collect(module, Want::Layouts).layouts
}

/// What [`collect`] reads from each float parameter.
enum Want<'a> {
    Values,
    Grads(&'a Gradients),
    Layouts,
}

struct Collector<'a> {
    path: PathStack,
    want: Want<'a>,
    tensors: BTreeMap<String, NamedTensor>,
    layouts: BTreeMap<String, ParamLayout>,
}

impl ModuleVisitor for Collector<'_> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.enter(name);
    }
    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.exit();
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let value = param.val();
        let path = self.path.path();
        match self.want {
            Want::Values => {
                self.tensors.insert(path, NamedTensor::of(value));
            }
            Want::Grads(grads) => {
                if let Some(grad) = value.grad(grads) {
                    self.tensors.insert(path, NamedTensor::of(grad));
                }
            }
            Want::Layouts => {
                let layout = ParamLayout {
                    shape: value.dims().to_vec(),
                    dtype: value.dtype(),
                    trainable: value.is_require_grad(),
                };
                self.layouts.insert(path, layout);
            }
        }
    }
}

fn collect<'a, M: Module>(module: &M, want: Want<'a>) -> Collector<'a> {
    let mut collector = Collector {
        path: PathStack::default(),
        want,
        tensors: BTreeMap::new(),
        layouts: BTreeMap::new(),
    };
    module.visit(&mut collector);
    collector
}

/// A copy of `module` with the parameters named in `values` replaced (the others are kept). Each
/// value is stored in its parameter's element type and keeps the parameter's identity and
/// trainable flag, so an optimiser sees the same parameter. Parameters that a reparametrisation
/// wraps are replaced in their stored (base) form.
///
/// # Errors
/// Nothing is replaced when any value is rejected:
/// [`NflowError::UnknownParameter`] when a path names no float parameter of `module`;
/// [`NflowError::ShapeMismatch`] when a value's shape or length differs from its parameter's;
/// [`NflowError::NonFinite`] when a value is a NaN or an infinity, or overflows the parameter's
/// element type (`row` is the flat index divided by the last dimension, `column` the remainder);
/// [`NflowError::InvalidConfig`] when the parameter's element type is not a plain float type.
pub fn set_named_params<M: Module>(
    module: &M,
    values: &BTreeMap<String, NamedTensor>,
) -> Result<M> {
    let layouts = param_layouts(module);
    let mut converted = BTreeMap::new();
    for (path, value) in values {
        let Some(ParamLayout { shape, dtype, .. }) = layouts.get(path) else {
            return Err(NflowError::UnknownParameter { path: path.clone() });
        };
        let count: usize = value.shape.iter().product();
        if value.shape != *shape || value.values.len() != count {
            return Err(NflowError::shape_mismatch(
                format!("parameter {path:?}"),
                format!("{shape:?}"),
                format!("shape {:?} with {} values", value.shape, value.values.len()),
            ));
        }
        if !matches!(dtype, DType::F64 | DType::F32 | DType::F16 | DType::BF16) {
            return Err(NflowError::invalid_config(format!(
                "parameter {path:?} is stored as {dtype:?}; only plain float parameters can be set"
            )));
        }
        let data = TensorData::new(value.values.clone(), value.shape.clone()).convert_dtype(*dtype);
        let stored = data.iter::<f64>().enumerate().find(|(_, v)| !v.is_finite());
        if let Some((index, stored)) = stored {
            let cols = shape.last().copied().unwrap_or(1).max(1);
            return Err(NflowError::NonFinite {
                what: format!("parameter {path:?} (as {dtype:?})"),
                row: index / cols,
                column: index % cols,
                value: if value.values[index].is_finite() {
                    stored
                } else {
                    value.values[index]
                },
            });
        }
        converted.insert(path.clone(), data);
    }

    struct Setter {
        path: PathStack,
        values: BTreeMap<String, TensorData>,
    }
    impl ModuleMapper for Setter {
        fn enter_module(&mut self, name: &str, _container_type: &str) {
            self.path.enter(name);
        }
        fn exit_module(&mut self, _name: &str, _container_type: &str) {
            self.path.exit();
        }
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let Some(data) = self.values.remove(&self.path.path()) else {
                return param;
            };
            let (id, old, mapper) = param.consume();
            let mut new = Tensor::<D>::from_data(data, (&old.device(), old.dtype()));
            if old.is_require_grad() {
                new = new.require_grad();
            }
            Param::from_mapped_value(id, new, mapper)
        }
    }
    Ok(module.clone().map(&mut Setter {
        path: PathStack::default(),
        values: converted,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Bijector, ElementwiseAffine, default_device};

    fn layer() -> ElementwiseAffine {
        ElementwiseAffine::from_values(&[0.5, -0.5], &[0.1, 0.2], &default_device()).unwrap()
    }

    fn one(path: &str, shape: Vec<usize>, values: Vec<f64>) -> BTreeMap<String, NamedTensor> {
        BTreeMap::from([(path.to_string(), NamedTensor { shape, values })])
    }

    #[test]
    fn lists_every_parameter_by_path() {
        let params = named_params(&layer());
        assert_eq!(params.keys().collect::<Vec<_>>(), ["log_scale", "shift"]);
        assert_eq!(params["shift"].shape, [2]);
        assert!((params["log_scale"].values[1] - 0.2).abs() < 1e-7);
    }

    #[test]
    fn replaced_values_change_the_function_and_others_stay() {
        let device = default_device();
        let layer = set_named_params(&layer(), &one("shift", vec![2], vec![3.0, 4.0])).unwrap();
        let params = named_params(&layer);
        assert_eq!(params["shift"].values, [3.0, 4.0]);
        assert!((params["log_scale"].values[0] - 0.1).abs() < 1e-7);
        let x = Tensor::<2>::zeros([1, 2], &device);
        let y = layer.forward_value(x, None);
        assert_eq!(y.to_data().iter::<f64>().collect::<Vec<_>>(), [3.0, 4.0]);
    }

    #[test]
    fn replacement_keeps_parameter_identity_and_gradients() {
        let device = default_device().autodiff();
        let before = layer().to_device(&device).train();
        let after = set_named_params(&before, &one("shift", vec![2], vec![1.0, 1.0])).unwrap();
        assert_eq!(
            burn::module::list_param_ids(&after),
            burn::module::list_param_ids(&before)
        );
        let x = Tensor::<2>::ones([3, 2], &device);
        let (y, _) = after.forward(x, None);
        let grads = y.sum().backward();
        let g = named_grads(&after, &grads);
        assert_eq!(g["shift"].values, [3.0, 3.0]);
    }

    #[derive(Module, Debug)]
    struct Holder {
        p: Param<Tensor<1>>,
    }

    #[test]
    fn values_keep_the_parameter_element_type() {
        // An f64 parameter on a device whose default float type is f32.
        let device = default_device();
        let data = TensorData::new(vec![0.0f64, 0.0], [2]);
        let holder = Holder {
            p: Param::from_tensor(Tensor::from_data(data, (&device, DType::F64))),
        };
        let fine = 1.0 + 1e-12; // not representable in f32
        let holder = set_named_params(&holder, &one("p", vec![2], vec![fine, 2.0])).unwrap();
        assert_eq!(holder.p.val().dtype(), DType::F64);
        assert_eq!(named_params(&holder)["p"].values, [fine, 2.0]);
    }

    #[test]
    fn bad_values_are_typed_errors_and_leave_the_module_as_it_was() {
        let original = layer();
        let unknown = set_named_params(&original, &one("scale", vec![2], vec![1.0, 1.0]));
        assert!(
            matches!(unknown, Err(NflowError::UnknownParameter { ref path }) if path == "scale")
        );
        let shape = set_named_params(&original, &one("shift", vec![3], vec![1.0; 3]));
        assert!(
            matches!(shape, Err(NflowError::ShapeMismatch { ref expected, .. }) if expected == "[2]")
        );
        let length = set_named_params(&original, &one("shift", vec![2], vec![1.0; 3]));
        assert!(matches!(length, Err(NflowError::ShapeMismatch { .. })));
        let nan = set_named_params(&original, &one("shift", vec![2], vec![0.0, f64::NAN]));
        assert!(matches!(nan, Err(NflowError::NonFinite { column: 1, .. })));
        // Finite in f64, infinite in the f32 parameter.
        let overflow = set_named_params(&original, &one("shift", vec![2], vec![1e39, 0.0]));
        assert!(
            matches!(overflow, Err(NflowError::NonFinite { column: 0, value, .. }) if value.is_infinite())
        );
        assert_eq!(named_params(&original)["shift"].values, [0.5, -0.5]);
    }
}
