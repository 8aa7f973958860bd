//! [`Permutation`]: reorders features between autoregressive layers.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Int, Tensor, TensorData};
use nflow_core::{Bijector, Result};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use nflow_core::FlowConfigError;

/// Which permutation sits between consecutive autoregressive layers.
#[derive(Config, Debug, PartialEq, Eq)]
pub enum PermutationKind {
    /// No permutation.
    Identity,
    /// Reverse the features (the MAF paper's choice).
    Reverse,
    /// A random permutation per layer, drawn from the flow's seed.
    Random,
    /// The same explicit permutation after every layer: `forward` output `i` is input `order[i]`.
    Explicit(Vec<usize>),
}

impl PermutationKind {
    /// The order for the permutation after layer `layer` (`None` for [`PermutationKind::Identity`]).
    ///
    /// # Errors
    /// [`FlowConfigError::NotAPermutation`] for an invalid explicit order.
    pub fn order(&self, features: usize, seed: u64) -> Result<Option<Vec<usize>>, FlowConfigError> {
        Ok(match self {
            PermutationKind::Identity => None,
            PermutationKind::Reverse => Some((0..features).rev().collect()),
            PermutationKind::Random => {
                let mut order: Vec<usize> = (0..features).collect();
                order.shuffle(&mut StdRng::seed_from_u64(seed));
                Some(order)
            }
            PermutationKind::Explicit(order) => {
                validate_permutation(order, features)?;
                Some(order.clone())
            }
        })
    }
}

fn validate_permutation(order: &[usize], features: usize) -> Result<(), FlowConfigError> {
    let mut seen = vec![false; features];
    let ok = order.len() == features
        && order
            .iter()
            .all(|&i| i < features && !std::mem::replace(&mut seen[i], true));
    if ok {
        Ok(())
    } else {
        Err(FlowConfigError::NotAPermutation {
            order: order.to_vec(),
            features,
        })
    }
}

/// A fixed permutation of the features: `forward(z)_i = z_{order[i]}`, log-determinant 0.
///
/// The indices are constant tensors (they move with the module, are not trained and not saved);
/// a saved flow rebuilds them from its config.
///
/// # Example
///
/// ```
/// use burn::tensor::Tensor;
/// use nflow_core::Bijector;
/// use nflow_flows::Permutation;
///
/// let device = nflow_core::default_device();
/// let p = Permutation::new(vec![2, 0, 1], &device).unwrap();
/// let (x, ladj) = p.forward(Tensor::<2>::from_floats([[10.0, 20.0, 30.0]], &device), None);
/// assert_eq!(x.to_data().to_vec::<f32>().unwrap(), vec![30.0, 10.0, 20.0]);
/// assert_eq!(ladj.into_scalar::<f32>(), 0.0);
/// ```
#[derive(Module, Debug)]
pub struct Permutation {
    forward_index: Tensor<1, Int>,
    inverse_index: Tensor<1, Int>,
    #[module(skip)]
    order: Vec<usize>,
}

impl Permutation {
    /// The permutation with `forward(z)_i = z_{order[i]}`.
    ///
    /// # Errors
    /// [`FlowConfigError::NotAPermutation`] (as `NflowError::FlowConfig`) when `order` is not a
    /// permutation of `0..order.len()`, or is empty.
    pub fn new(order: Vec<usize>, device: &Device) -> Result<Self> {
        if order.is_empty() {
            return Err(FlowConfigError::ZeroFeatures.into());
        }
        validate_permutation(&order, order.len())?;
        let mut inverse = vec![0i64; order.len()];
        for (i, &o) in order.iter().enumerate() {
            inverse[o] = i as i64;
        }
        let forward: Vec<i64> = order.iter().map(|&o| o as i64).collect();
        let n = order.len();
        Ok(Self {
            forward_index: Tensor::from_data(TensorData::new(forward, [n]), device),
            inverse_index: Tensor::from_data(TensorData::new(inverse, [n]), device),
            order,
        })
    }

    /// The order: `forward(z)_i = z_{order[i]}`.
    pub fn order(&self) -> &[usize] {
        &self.order
    }
}

impl Bijector for Permutation {
    fn features(&self) -> usize {
        self.order.len()
    }

    fn forward(&self, z: Tensor<2>, _context: Option<&Tensor<2>>) -> (Tensor<2>, Tensor<1>) {
        let batch = z.dims()[0];
        let zeros = Tensor::zeros([batch], &z.device());
        (z.select(1, self.forward_index.clone()), zeros)
    }

    fn inverse(&self, x: Tensor<2>, _context: Option<&Tensor<2>>) -> (Tensor<2>, Tensor<1>) {
        let batch = x.dims()[0];
        let zeros = Tensor::zeros([batch], &x.device());
        (x.select(1, self.inverse_index.clone()), zeros)
    }

    fn forward_value(&self, z: Tensor<2>, _context: Option<&Tensor<2>>) -> Tensor<2> {
        z.select(1, self.forward_index.clone())
    }

    fn inverse_value(&self, x: Tensor<2>, _context: Option<&Tensor<2>>) -> Tensor<2> {
        x.select(1, self.inverse_index.clone())
    }
}
