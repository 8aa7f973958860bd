//! [`MadeConfig`]: everything that defines a MADE's architecture and masks.

use burn::config::Config;
use burn::tensor::Device;
use nflow_core::Result;

use crate::activation::Activation;
use crate::hidden_degrees::HiddenDegrees;
use crate::made::Made;
use crate::mask_set::MaskSet;
use crate::ordering::Ordering;
use nflow_core::MadeError;

/// Configuration of a [`Made`] network (serialisable to JSON with burn's `Config`).
///
/// The network maps `[x, context]` (`D + C` inputs) through masked hidden layers to `k·D` outputs,
/// `k` = `params_per_dim`, such that the outputs of feature `i` depend only on the features
/// generated before `i` (and on the context). See [`Made`] for the output layout.
///
/// # Example
///
/// ```
/// use burn::tensor::Tensor;
/// use nflow_made::{Activation, HiddenDegrees, MadeConfig, Ordering};
///
/// let device = nflow_core::default_device();
/// let made = MadeConfig::new(3, vec![16, 16])
///     .with_params_per_dim(2)
///     .with_ordering(Ordering::Reversed)
///     .with_hidden_degrees(HiddenDegrees::Sequential)
///     .with_activation(Activation::Relu)
///     .with_seed(7)
///     .init(&device)
///     .unwrap();
/// let out = made.forward(Tensor::<2>::zeros([4, 3], &device), None);
/// assert_eq!(out.dims(), [4, 6]); // k·D outputs, parameter-major
///
/// // The last feature in a reversed ordering is generated first: its outputs see no input.
/// assert_eq!(made.feature_degrees(), vec![3, 2, 1]);
///
/// // Impossible settings are typed errors, not panics.
/// assert!(MadeConfig::new(5, vec![2]).init(&device).is_err()); // too narrow for 4 degrees
/// ```
#[derive(Config, Debug)]
pub struct MadeConfig {
    /// Number of features `D`.
    pub features: usize,
    /// Widths of the hidden layers (with `residual`, the number of residual blocks and their
    /// common width).
    pub hidden_sizes: Vec<usize>,
    /// Number of context features `C` (degree 0: every unit may see them).
    #[config(default = 0)]
    pub context_features: usize,
    /// Output parameters per feature `k` (2 for an affine flow layer: shift and log-scale).
    #[config(default = 2)]
    pub params_per_dim: usize,
    /// Nonlinearity between layers.
    #[config(default = "Activation::Relu")]
    pub activation: Activation,
    /// The input ordering of mask set 0.
    #[config(default = "Ordering::Natural")]
    pub ordering: Ordering,
    /// The hidden degree scheme of mask set 0.
    #[config(default = "HiddenDegrees::Sorted")]
    pub hidden_degrees: HiddenDegrees,
    /// Seed for random orderings, random degrees, extra mask sets and weight initialisation.
    #[config(default = 0)]
    pub seed: u64,
    /// Residual blocks (`h ← h + W₂ act(W₁ act(h))`, masked, on shared hidden degrees).
    #[config(default = false)]
    pub residual: bool,
    /// A direct masked connection from the inputs to the outputs, added to the network's output.
    #[config(default = false)]
    pub direct_connection: bool,
    /// Number of mask sets for order-/connectivity-agnostic training (1 = plain MADE).
    #[config(default = 1)]
    pub num_mask_sets: usize,
    /// Mask sets after the first use fresh random input orderings.
    #[config(default = false)]
    pub order_agnostic: bool,
    /// Mask sets after the first use fresh random hidden degrees.
    #[config(default = false)]
    pub connectivity_agnostic: bool,
    /// The mask set in use after `init` (saved models record the set that was active).
    #[config(default = 0)]
    pub mask_set: usize,
    /// Scale applied to the initial weights and biases of the output layer (and of the direct
    /// connection); a small value starts every output near zero.
    #[config(default = 1.0)]
    pub output_init_scale: f64,
}

impl MadeConfig {
    /// Checks the configuration and builds every mask set (pure, no tensors).
    ///
    /// # Errors
    /// The [`MadeError`] describing the first problem found, as
    /// [`NflowError::Made`](nflow_core::NflowError::Made).
    pub fn mask_sets(&self) -> Result<Vec<MaskSet>> {
        if self.features == 0 {
            return Err(MadeError::ZeroFeatures.into());
        }
        if self.params_per_dim == 0 {
            return Err(MadeError::ZeroParamsPerDim.into());
        }
        if self.hidden_sizes.is_empty() || self.hidden_sizes.contains(&0) {
            return Err(MadeError::BadHiddenSizes(self.hidden_sizes.clone()).into());
        }
        if self.residual && self.hidden_sizes.iter().any(|&w| w != self.hidden_sizes[0]) {
            return Err(MadeError::UnequalResidualWidths(self.hidden_sizes.clone()).into());
        }
        if self.num_mask_sets == 0 {
            return Err(MadeError::ZeroMaskSets.into());
        }
        if self.num_mask_sets > 1 && !self.order_agnostic && !self.connectivity_agnostic {
            return Err(MadeError::IdenticalMaskSets(self.num_mask_sets).into());
        }
        if self.mask_set >= self.num_mask_sets {
            return Err(MadeError::NoSuchMaskSet {
                index: self.mask_set,
                count: self.num_mask_sets,
            }
            .into());
        }
        (0..self.num_mask_sets)
            .map(|index| MaskSet::build(self, index).map_err(Into::into))
            .collect()
    }

    /// Builds the network on `device`, with weights drawn from `seed`.
    ///
    /// # Errors
    /// As [`MadeConfig::mask_sets`].
    pub fn init(&self, device: &Device) -> Result<Made> {
        Made::new(self.clone(), device)
    }
}
