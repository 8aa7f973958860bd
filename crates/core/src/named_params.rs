//! Float parameters addressed by their dotted module path (e.g.
//! `flow.transform.layers.0.Maf.transform.made.input_layer.weight`): read them all, read their
//! gradients, or replace some of them.
//!
//! This is how weights trained elsewhere come into an nflow model (and how nflow's own tests check
//! a model against another implementation from identical weights): export the other model's
//! tensors under nflow's paths and layouts, then [`set_named_params`]. Paths are those burn's
//! module visitor reports: struct field names, `Vec` indices and enum variant names, joined by
//! dots. [`named_params`] lists them.
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
//! let layer = set_named_params(layer, &params).unwrap();
//! assert_eq!(named_params(&layer)["shift"].values, vec![1.0, -1.0]);
//! ```

use std::collections::BTreeMap;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{Gradients, Tensor, TensorData};

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
    named_tensors(module, None)
}

/// The gradient of every trainable float parameter of `module` in `grads` (from
/// `loss.backward()` on an autodiff device), by path. Parameters without a gradient are absent.
pub fn named_grads<M: Module>(module: &M, grads: &Gradients) -> BTreeMap<String, NamedTensor> {
    named_tensors(module, Some(grads))
}

fn named_tensors<M: Module>(
    module: &M,
    grads: Option<&Gradients>,
) -> BTreeMap<String, NamedTensor> {
    struct Collector<'a> {
        path: PathStack,
        grads: Option<&'a Gradients>,
        out: BTreeMap<String, NamedTensor>,
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
            let tensor = match self.grads {
                None => Some(value),
                Some(grads) => value.grad(grads),
            };
            if let Some(tensor) = tensor {
                self.out.insert(self.path.path(), NamedTensor::of(tensor));
            }
        }
    }
    let mut collector = Collector {
        path: PathStack::default(),
        grads,
        out: BTreeMap::new(),
    };
    module.visit(&mut collector);
    collector.out
}

/// `module` with the parameters named in `values` replaced (the others are kept). Each value
/// keeps its parameter's identity and its trainable flag, so an optimiser sees the same
/// parameter.
///
/// # Errors
/// Before anything is replaced: [`NflowError::ShapeMismatch`] when a path names no float
/// parameter of `module`, or when a value's shape or length differs from its parameter's;
/// [`NflowError::NonFinite`] when a value holds a NaN or an infinity.
pub fn set_named_params<M: Module>(module: M, values: &BTreeMap<String, NamedTensor>) -> Result<M> {
    let current = named_params(&module);
    for (path, value) in values {
        let Some(existing) = current.get(path) else {
            return Err(NflowError::shape_mismatch(
                format!("parameter {path:?}"),
                "a float parameter of the module (see named_params)",
                "no such path",
            ));
        };
        let count: usize = value.shape.iter().product();
        if value.shape != existing.shape || value.values.len() != count {
            return Err(NflowError::shape_mismatch(
                format!("parameter {path:?}"),
                format!("{:?}", existing.shape),
                format!("shape {:?} with {} values", value.shape, value.values.len()),
            ));
        }
        if let Some((index, v)) = value
            .values
            .iter()
            .enumerate()
            .find(|(_, v)| !v.is_finite())
        {
            let cols = value.shape.last().copied().unwrap_or(1).max(1);
            return Err(NflowError::NonFinite {
                what: format!("parameter {path:?}"),
                row: index / cols,
                column: index % cols,
                value: *v,
            });
        }
    }

    struct Setter<'a> {
        path: PathStack,
        values: &'a BTreeMap<String, NamedTensor>,
    }
    impl ModuleMapper for Setter<'_> {
        fn enter_module(&mut self, name: &str, _container_type: &str) {
            self.path.enter(name);
        }
        fn exit_module(&mut self, _name: &str, _container_type: &str) {
            self.path.exit();
        }
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let Some(value) = self.values.get(&self.path.path()) else {
                return param;
            };
            let (id, old, mapper) = param.consume();
            let shape: [usize; D] = old.dims();
            let data = TensorData::new(value.values.clone(), shape).convert_dtype(old.dtype());
            let mut new = Tensor::<D>::from_data(data, &old.device());
            if old.is_require_grad() {
                new = new.require_grad();
            }
            Param::from_mapped_value(id, new, mapper)
        }
    }
    Ok(module.map(&mut Setter {
        path: PathStack::default(),
        values,
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
        let layer = set_named_params(layer(), &one("shift", vec![2], vec![3.0, 4.0])).unwrap();
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
        let layer = layer().to_device(&device).train();
        let layer = set_named_params(layer, &one("shift", vec![2], vec![1.0, 1.0])).unwrap();
        let x = Tensor::<2>::ones([3, 2], &device);
        let (y, _) = layer.forward(x, None);
        let grads = y.sum().backward();
        let g = named_grads(&layer, &grads);
        assert_eq!(g["shift"].values, [3.0, 3.0]);
    }

    #[test]
    fn bad_values_are_typed_errors_and_change_nothing() {
        let unknown = set_named_params(layer(), &one("scale", vec![2], vec![1.0, 1.0]));
        assert!(
            matches!(unknown, Err(NflowError::ShapeMismatch { ref what, .. }) if what.contains("scale"))
        );
        let shape = set_named_params(layer(), &one("shift", vec![3], vec![1.0; 3]));
        assert!(
            matches!(shape, Err(NflowError::ShapeMismatch { ref expected, .. }) if expected == "[2]")
        );
        let length = set_named_params(layer(), &one("shift", vec![2], vec![1.0; 3]));
        assert!(matches!(length, Err(NflowError::ShapeMismatch { .. })));
        let nan = set_named_params(layer(), &one("shift", vec![2], vec![0.0, f64::NAN]));
        assert!(matches!(nan, Err(NflowError::NonFinite { column: 1, .. })));
    }
}
