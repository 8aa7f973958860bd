//! [`Made`]: the masked autoencoder for distribution estimation, as a conditioner.

use std::path::Path;
use std::sync::Arc;

use burn::module::Module;
use burn::tensor::module::linear;
use burn::tensor::{Device, Tensor};
use nflow_core::Result;
use nflow_core::persist::{ModelConfig, load_model, save_model};
use nflow_core::validate::{check_context, check_matrix};

use crate::block_linear::{Sorted, block_linear};
use crate::block_plan::BlockPlan;
use crate::config::MadeConfig;
use crate::degree_sorted::DegreeSortedMade;
use crate::host_float::HostFloat;
use crate::mask::Mask;
use crate::mask_set::{MaskSet, PURPOSE_WEIGHTS, derive_seed};
use crate::masked_linear::MaskedLinear;
use crate::packed_cache::{PackedCache, flex_sources};
use nflow_core::MadeError;

/// File name of a saved MADE's configuration (with format version and weights checksum) inside
/// its model directory.
pub const CONFIG_FILE: &str = nflow_core::persist::MODEL_CONFIG_FILE;
/// File name of a saved MADE's weights inside its model directory.
pub const WEIGHTS_FILE: &str = nflow_core::persist::MODEL_WEIGHTS_FILE;

/// A MADE network: one feed-forward pass gives all `D` autoregressive conditionals.
///
/// Masks on the weights make the outputs of feature `i` depend only on features of smaller degree
/// (earlier in the ordering) and on the context, so the Jacobian of the outputs with respect to
/// `x`, read in the ordering, is strictly lower triangular.
///
/// # Output layout
///
/// `forward` returns `[batch, k·D]`, **parameter-major**: column `p·D + i` is parameter `p` of
/// feature `i` (for an affine flow, `p = 0` the shift, `p = 1` the log-scale).
/// [`Made::split_params`] cuts it into `k` tensors of `[batch, D]`.
///
/// # Mask sets
///
/// A `Made` may hold several mask sets (order- and/or connectivity-agnostic training, as in the
/// MADE paper). [`Made::with_mask_set`] switches the masks of every layer; the weights are shared.
/// The set in use is part of what [`Made::save`] writes.
///
/// # Shapes
/// - `x`: `[batch, D]`, context `[batch, C]` → output `[batch, k·D]`
#[derive(Module, Debug)]
pub struct Made {
    input_layer: MaskedLinear,
    hidden_layers: Vec<MaskedLinear>,
    output_layer: MaskedLinear,
    direct: Option<MaskedLinear>,
    #[module(skip)]
    config: MadeConfig,
    #[module(skip)]
    mask_sets: Vec<MaskSet>,
    /// Whether every layer's mask is the one the active mask set's degrees define (false after
    /// [`Made::with_raw_masks`]).
    #[module(skip)]
    masks_follow_degrees: bool,
    /// The block-triangular plans of every layer under the active mask set (`None` after
    /// [`Made::with_raw_masks`]).
    #[module(skip)]
    blocks: Option<MadeBlocks>,
    /// The degree-sorted packing of the weights, reused while they are unchanged.
    #[module(skip)]
    packed: PackedCache,
}

/// The [`BlockPlan`] of every layer: main path first to last, then the direct layer.
#[derive(Debug, Clone)]
struct MadeBlocks {
    layers: Vec<Arc<BlockPlan>>,
    direct: Option<Arc<BlockPlan>>,
}

impl MadeBlocks {
    /// The plans of `set`'s masks, or `None` if some mask does not follow the set's degrees.
    fn new(set: &MaskSet, residual: bool) -> Option<Self> {
        let hidden = &set.hidden_degrees;
        let n = set.layer_masks.len();
        let last = hidden.last()?;
        let levels = |i: usize| -> (&[usize], &[usize], bool) {
            if i == 0 {
                (&set.input_degrees, &hidden[0], false)
            } else if i == n - 1 {
                (last, &set.output_degrees, true)
            } else if residual {
                (&hidden[0], &hidden[0], false)
            } else {
                (&hidden[i - 1], &hidden[i], false)
            }
        };
        let layers = set
            .layer_masks
            .iter()
            .enumerate()
            .map(|(i, mask)| {
                let (below, here, strict) = levels(i);
                BlockPlan::new(mask, below, here, strict).map(Arc::new)
            })
            .collect::<Option<Vec<_>>>()?;
        let direct = match &set.direct_mask {
            Some(mask) => Some(Arc::new(BlockPlan::new(
                mask,
                &set.input_degrees,
                &set.output_degrees,
                true,
            )?)),
            None => None,
        };
        Some(Self { layers, direct })
    }
}

impl Made {
    pub(crate) fn new(config: MadeConfig, device: &Device) -> Result<Self> {
        let mask_sets = config.mask_sets()?;
        let set = &mask_sets[config.mask_set];
        let seed = |layer: usize| derive_seed(config.seed, PURPOSE_WEIGHTS, layer);
        let n = set.layer_masks.len();
        let block_scale = |i: usize| {
            // The second linear of each residual block starts near zero, so blocks start close
            // to the identity.
            if config.residual && i.is_multiple_of(2) {
                1e-3
            } else {
                1.0
            }
        };
        // With one mask set, masked weights are never used: they start at zero (see
        // `MaskedLinear::with_masked_weights_zeroed`). With several, each set uses others'.
        let layer = |mask: &Mask, seed: u64, scale: f64| {
            let layer = MaskedLinear::new(mask, seed, scale, device);
            if mask_sets.len() == 1 {
                layer.with_masked_weights_zeroed()
            } else {
                layer
            }
        };
        let input_layer = layer(&set.layer_masks[0], seed(0), 1.0);
        let hidden_layers = (1..n - 1)
            .map(|i| layer(&set.layer_masks[i], seed(i), block_scale(i)))
            .collect();
        let output_layer = layer(
            &set.layer_masks[n - 1],
            seed(n - 1),
            config.output_init_scale,
        );
        let direct = set
            .direct_mask
            .as_ref()
            .map(|mask| layer(mask, seed(n), config.output_init_scale));
        let blocks = MadeBlocks::new(set, config.residual);
        Ok(Self {
            input_layer,
            hidden_layers,
            output_layer,
            direct,
            config,
            mask_sets,
            masks_follow_degrees: true,
            blocks,
            packed: PackedCache::default(),
        })
    }

    /// The outputs for a batch, `[batch, k·D]` (see the layout above). Assumes validated input;
    /// [`Made::try_forward`] checks it.
    ///
    /// On the `flex` CPU backend (with or without autodiff) every masked product runs on its
    /// non-zero blocks only ([`Made::forward_blocks`]); elsewhere, or for masks that do not follow
    /// the degrees, as burn's dense masked products ([`Made::forward_dense`]).
    pub fn forward(&self, x: Tensor<2>, context: Option<&Tensor<2>>) -> Tensor<2> {
        match self.forward_blocks(&x, context) {
            Some(out) => out,
            None => self.forward_dense(x, context),
        }
    }

    /// [`Made::forward`] through burn's dense masked products `x · (W ⊙ M) + b`: the reference
    /// the block path is tested against, and the path on every device other than `flex`.
    pub fn forward_dense(&self, x: Tensor<2>, context: Option<&Tensor<2>>) -> Tensor<2> {
        let (h, input) = self.hidden(x, context);
        let out = self.output_layer.forward(h);
        match &self.direct {
            Some(direct) => out + direct.forward(input),
            None => out,
        }
    }

    /// The `k` parameters for a batch, each `[batch, D]`: the same values as
    /// `split_params(forward(x))`, but each parameter comes from its own slice of the output
    /// layer, so every tensor is contiguous. Elementwise work on them then takes burn's fast
    /// contiguous paths instead of iterating strided column blocks of one `[batch, k·D]` output.
    pub fn forward_params(&self, x: Tensor<2>, context: Option<&Tensor<2>>) -> Vec<Tensor<2>> {
        let (h, input) = self.hidden(x, context);
        let d = self.config.features;
        // `W ⊙ M` once per layer, then a column slice of it per parameter.
        let weights = |layer: &MaskedLinear| (layer.masked_weight(), layer.bias());
        let output = weights(&self.output_layer);
        let direct = self.direct.as_ref().map(weights);
        let slice_of = |(w, b): &(Tensor<2>, Tensor<1>), x: &Tensor<2>, p: usize| {
            linear(
                x.clone(),
                w.clone().narrow(1, p * d, d),
                Some(b.clone().narrow(0, p * d, d)),
            )
        };
        (0..self.config.params_per_dim)
            .map(|p| {
                let out = slice_of(&output, &h, p);
                match &direct {
                    Some(direct) => out + slice_of(direct, &input, p),
                    None => out,
                }
            })
            .collect()
    }

    /// [`Made::forward`] with every masked product computed on its non-zero blocks only: the
    /// units of every layer sorted by degree make each mask a staircase ([`BlockPlan`]), about
    /// half the multiply-adds of the dense product, forward and (with autodiff) backward, where
    /// the weight gradient stays masked. Hidden activations travel between layers in sorted order;
    /// only the network's input and output are permuted.
    ///
    /// `None` when the masks were replaced ([`Made::with_raw_masks`]) or the tensors are not on
    /// the `flex` backend in `f32`/`f64` (without gradient checkpointing).
    pub fn forward_blocks(&self, x: &Tensor<2>, context: Option<&Tensor<2>>) -> Option<Tensor<2>> {
        let blocks = self.blocks.as_ref()?;
        let flex = Device::flex();
        if x.device().without_autodiff() != flex
            || self.input_layer.bias().device().without_autodiff() != flex
        {
            return None;
        }
        let act = self.config.activation;
        let input = match context {
            Some(c) if self.config.context_features > 0 => {
                Tensor::cat(vec![x.clone(), c.clone()], 1)
            }
            _ => x.clone(),
        };
        let apply = |layer: &MaskedLinear, plan: &Arc<BlockPlan>, x: &Tensor<2>, input, output| {
            block_linear(
                x,
                &layer.weight(),
                &layer.bias(),
                plan,
                Sorted { input, output },
            )
        };
        let plans = &blocks.layers;
        let mut h = apply(&self.input_layer, &plans[0], &input, false, true)?;
        if self.config.residual {
            for (b, block) in self.hidden_layers.chunks(2).enumerate() {
                let t = apply(
                    &block[0],
                    &plans[1 + 2 * b],
                    &act.apply(h.clone()),
                    true,
                    true,
                )?;
                h = h + apply(&block[1], &plans[2 + 2 * b], &act.apply(t), true, true)?;
            }
            h = act.apply(h);
        } else {
            h = act.apply(h);
            for (l, layer) in self.hidden_layers.iter().enumerate() {
                h = act.apply(apply(layer, &plans[1 + l], &h, true, true)?);
            }
        }
        let out = apply(&self.output_layer, &plans[plans.len() - 1], &h, true, false)?;
        match (&self.direct, &blocks.direct) {
            (Some(direct), Some(plan)) => Some(out + apply(direct, plan, &input, false, false)?),
            (None, _) => Some(out),
            (Some(_), None) => None,
        }
    }

    /// The last hidden activations, and the network input (features, then context).
    fn hidden(&self, x: Tensor<2>, context: Option<&Tensor<2>>) -> (Tensor<2>, Tensor<2>) {
        let act = self.config.activation;
        let input = match context {
            Some(c) if self.config.context_features > 0 => Tensor::cat(vec![x, c.clone()], 1),
            _ => x,
        };
        let mut h = self.input_layer.forward(input.clone());
        if self.config.residual {
            for block in self.hidden_layers.chunks(2) {
                let t = block[0].forward(act.apply(h.clone()));
                h = h + block[1].forward(act.apply(t));
            }
            h = act.apply(h);
        } else {
            h = act.apply(h);
            for layer in &self.hidden_layers {
                h = act.apply(layer.forward(h));
            }
        }
        (h, input)
    }

    /// [`Made::forward`] after checking that `x` is `[batch, D]` and finite and the context fits.
    ///
    /// # Errors
    /// [`NflowError::ShapeMismatch`](nflow_core::NflowError::ShapeMismatch) or [`NflowError::NonFinite`](nflow_core::NflowError::NonFinite).
    pub fn try_forward(&self, x: Tensor<2>, context: Option<&Tensor<2>>) -> Result<Tensor<2>> {
        check_matrix(&x, "MADE input", self.config.features)?;
        check_context(context, self.config.context_features, x.dims()[0])?;
        Ok(self.forward(x, context))
    }

    /// Cuts a `[batch, k·D]` output into its `k` parameters, each `[batch, D]`.
    pub fn split_params(&self, output: Tensor<2>) -> Vec<Tensor<2>> {
        output.chunk(self.config.params_per_dim, 1)
    }

    /// The configuration (with `mask_set` set to the set in use).
    pub fn config(&self) -> &MadeConfig {
        &self.config
    }

    /// Number of features `D`.
    pub fn features(&self) -> usize {
        self.config.features
    }

    /// Number of context features `C`.
    pub fn context_features(&self) -> usize {
        self.config.context_features
    }

    /// The mask set in use.
    pub fn mask_set(&self) -> &MaskSet {
        &self.mask_sets[self.config.mask_set]
    }

    /// Every mask set this network can switch to.
    pub fn mask_sets(&self) -> &[MaskSet] {
        &self.mask_sets
    }

    /// The degree of every feature under the mask set in use (its 1-based generation position).
    pub fn feature_degrees(&self) -> Vec<usize> {
        self.mask_set().feature_degrees().to_vec()
    }

    /// The layers of the main path, input layer first, output layer last (for reading degrees,
    /// masks and weights out of the module).
    pub fn layers(&self) -> Vec<&MaskedLinear> {
        std::iter::once(&self.input_layer)
            .chain(&self.hidden_layers)
            .chain(std::iter::once(&self.output_layer))
            .collect()
    }

    /// The direct input → output layer, when configured.
    pub fn direct_layer(&self) -> Option<&MaskedLinear> {
        self.direct.as_ref()
    }

    /// The degree-sorted packing of this network in `T` ([`DegreeSortedMade::new`]), reused
    /// from the last call while the weights are the same `flex` tensors (a trained model
    /// evaluated again and again packs once); rebuilt when they changed, and built afresh every
    /// time on other backends. `None` when the masks do not follow the degrees.
    pub fn degree_sorted<T: HostFloat + 'static>(&self) -> Option<Arc<DegreeSortedMade<T>>> {
        let layers = self.layers().into_iter().chain(self.direct_layer());
        let (weights, biases): (Vec<Tensor<2>>, Vec<Tensor<1>>) =
            layers.map(|layer| (layer.weight(), layer.bias())).unzip();
        match (flex_sources(&weights), flex_sources(&biases)) {
            (Some(mut sources), Some(biases)) => {
                sources.extend(biases);
                self.packed
                    .get_or_build(sources, || DegreeSortedMade::<T>::new(self))
            }
            _ => DegreeSortedMade::<T>::new(self).map(Arc::new),
        }
    }

    /// Switches every layer to mask set `index`, keeping the weights.
    ///
    /// # Errors
    /// [`MadeError::NoSuchMaskSet`] (as [`NflowError::Made`](nflow_core::NflowError::Made)) for an index out of range.
    pub fn with_mask_set(mut self, index: usize) -> Result<Self> {
        let count = self.mask_sets.len();
        let set = self
            .mask_sets
            .get(index)
            .ok_or(MadeError::NoSuchMaskSet { index, count })?
            .clone();
        self = self.with_raw_masks(&set.layer_masks);
        if let (Some(direct), Some(mask)) = (self.direct.take(), set.direct_mask.as_ref()) {
            self.direct = Some(direct.with_mask(mask));
        }
        self.config.mask_set = index;
        self.masks_follow_degrees = true;
        self.blocks = MadeBlocks::new(&set, self.config.residual);
        self.packed = PackedCache::default();
        Ok(self)
    }

    /// Replaces the masks of the main path by `masks` (input layer first), bypassing every
    /// autoregressive guarantee. For tests of checkers and for research; a network changed this
    /// way is no longer a valid MADE.
    ///
    /// # Panics
    /// When the number or shapes of the masks do not match the layers.
    pub fn with_raw_masks(mut self, masks: &[crate::Mask]) -> Self {
        let n = masks.len();
        assert_eq!(n, self.hidden_layers.len() + 2, "one mask per layer");
        self.input_layer = self.input_layer.with_mask(&masks[0]);
        self.hidden_layers = std::mem::take(&mut self.hidden_layers)
            .into_iter()
            .enumerate()
            .map(|(i, layer)| layer.with_mask(&masks[i + 1]))
            .collect();
        self.output_layer = self.output_layer.with_mask(&masks[n - 1]);
        self.masks_follow_degrees = false;
        self.blocks = None;
        self.packed = PackedCache::default();
        self
    }

    /// Whether every layer's mask is the one the active [`mask_set`](Self::mask_set)'s degrees
    /// define: true unless [`with_raw_masks`](Self::with_raw_masks) replaced them. Then a weight
    /// is used exactly where its output's degree allows its input's, which is what
    /// [`DegreeSortedMade`](crate::DegreeSortedMade) relies on.
    pub fn masks_follow_degrees(&self) -> bool {
        self.masks_follow_degrees
    }

    /// Saves the MADE as the model directory `dir` (format v1: `flow.json` with the configuration,
    /// including the mask set in use, and `flow.bpk` with the weights), atomically: see
    /// [`save_model`].
    ///
    /// # Errors
    /// [`NflowError::Io`](nflow_core::NflowError::Io) when the directory or files cannot be written.
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<()> {
        save_model(dir, &self.config, self)
    }

    /// Loads a MADE saved by [`Made::save`] onto `device`: it computes exactly what the saved one
    /// did, with the same ordering, mask set and weights.
    ///
    /// # Errors
    /// As [`load_model`]: [`NflowError::Io`](nflow_core::NflowError::Io) for missing files,
    /// [`NflowError::Load`](nflow_core::NflowError::Load) for a malformed config or weights that do
    /// not fit it, [`NflowError::Checksum`](nflow_core::NflowError::Checksum) for changed weights,
    /// [`NflowError::Made`](nflow_core::NflowError::Made) for a config that is well-formed but
    /// invalid.
    pub fn load(dir: impl AsRef<Path>, device: &Device) -> Result<Self> {
        Ok(load_model::<MadeConfig>(dir, device)?.1)
    }
}

impl ModelConfig for MadeConfig {
    type Model = Made;

    fn init(&self, device: &Device) -> Result<Made> {
        MadeConfig::init(self, device)
    }
}
