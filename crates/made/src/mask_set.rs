//! [`MaskSet`]: the degrees and masks of one complete MADE connectivity.

use crate::config::MadeConfig;
use crate::hidden_degrees::{HiddenDegrees, hidden_degrees, lowest_hidden_degree};
use crate::mask::{Mask, hidden_mask, output_degrees, output_mask};
use crate::ordering::Ordering;
use nflow_core::MadeError;

pub(crate) use nflow_core::derive_seed;

pub(crate) const PURPOSE_ORDERING: u64 = 1;
pub(crate) const PURPOSE_HIDDEN: u64 = 2;
pub(crate) const PURPOSE_WEIGHTS: u64 = 3;

/// Degrees of every unit and the masks of every layer, for one connectivity of a MADE.
///
/// Layer masks are `[inputs, outputs]` like burn's linear weights. Without residual blocks the
/// layers are `input → hidden₀ → … → hidden_L → output`; with residual blocks they are
/// `input → hidden`, then two masks per block (both on the shared hidden degrees), then
/// `hidden → output`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaskSet {
    /// Degree of every network input: the `D` features (1..=D) then the `C` context inputs (0).
    pub input_degrees: Vec<usize>,
    /// Degrees of every hidden layer.
    pub hidden_degrees: Vec<Vec<usize>>,
    /// Degrees of the `k·D` outputs (parameter-major: unit `p·D + i` is feature `i`).
    pub output_degrees: Vec<usize>,
    /// The masks of the main path, first layer first.
    pub layer_masks: Vec<Mask>,
    /// The mask of the direct input → output connection, when configured.
    pub direct_mask: Option<Mask>,
}

impl MaskSet {
    /// Builds and validates mask set `index` of `config`.
    ///
    /// Set 0 uses the configured ordering and degree scheme. Later sets use a fresh random ordering
    /// when `order_agnostic`, fresh random hidden degrees when `connectivity_agnostic`, and the
    /// configured ones otherwise.
    ///
    /// # Errors
    /// [`MadeError::NotAPermutation`] for a bad explicit ordering, [`MadeError::HiddenTooNarrow`]
    /// when a sequential-degree layer is narrower than the number of hidden degrees (`D − 1`, or
    /// `D` with a context), [`MadeError::OutputCutOff`] when
    /// some output is connected to no input although earlier features exist.
    pub fn build(config: &MadeConfig, index: usize) -> Result<MaskSet, MadeError> {
        let d = config.features;
        let seed = config.seed;
        let ordering = if index > 0 && config.order_agnostic {
            Ordering::Random
        } else {
            config.ordering.clone()
        };
        let feature_degrees = ordering.degrees(d, derive_seed(seed, PURPOSE_ORDERING, index))?;
        let scheme = if index > 0 && config.connectivity_agnostic {
            HiddenDegrees::Random
        } else {
            config.hidden_degrees
        };
        let lowest = lowest_hidden_degree(d, config.context_features);
        let needed = d.saturating_sub(lowest).max(1);
        if scheme != HiddenDegrees::Random
            && let Some((layer, &width)) = config
                .hidden_sizes
                .iter()
                .enumerate()
                .find(|&(_, &w)| w < needed)
        {
            return Err(MadeError::HiddenTooNarrow {
                layer,
                width,
                needed,
            });
        }
        let widths: &[usize] = if config.residual {
            &config.hidden_sizes[..1]
        } else {
            &config.hidden_sizes
        };
        let mut hidden = hidden_degrees(
            scheme,
            widths,
            d,
            lowest,
            derive_seed(seed, PURPOSE_HIDDEN, index),
        );
        if config.residual {
            hidden = vec![hidden[0].clone(); config.hidden_sizes.len()];
        }

        let mut input_degrees = feature_degrees.clone();
        input_degrees.extend(std::iter::repeat_n(0, config.context_features));
        let out_degrees = output_degrees(&feature_degrees, config.params_per_dim);

        let mut layer_masks = vec![hidden_mask(&input_degrees, &hidden[0])];
        if config.residual {
            for _ in 0..config.hidden_sizes.len() {
                layer_masks.push(hidden_mask(&hidden[0], &hidden[0]));
                layer_masks.push(hidden_mask(&hidden[0], &hidden[0]));
            }
        } else {
            for pair in hidden.windows(2) {
                layer_masks.push(hidden_mask(&pair[0], &pair[1]));
            }
        }
        layer_masks.push(output_mask(
            hidden.last().expect("hidden layers"),
            &out_degrees,
        ));
        let direct_mask = config
            .direct_connection
            .then(|| output_mask(&input_degrees, &out_degrees));

        let set = MaskSet {
            input_degrees,
            hidden_degrees: hidden,
            output_degrees: out_degrees,
            layer_masks,
            direct_mask,
        };
        let connectivity = set.connectivity(config.residual);
        for (feature, &degree) in feature_degrees.iter().enumerate() {
            if degree >= 2 && (0..d).all(|j| !connectivity.get(j, feature)) {
                return Err(MadeError::OutputCutOff {
                    mask_set: index,
                    feature,
                });
            }
        }
        Ok(set)
    }

    /// The degrees of the `D` features (their 1-based generation positions).
    pub fn feature_degrees(&self) -> &[usize] {
        &self.input_degrees[..self.features()]
    }

    /// Number of features `D`.
    pub fn features(&self) -> usize {
        self.input_degrees.iter().filter(|&&m| m > 0).count()
    }

    /// Input → output connectivity through every path of the network (main path, residual skips,
    /// direct connection): `(j, u)` is true when output unit `u` can depend on input `j`.
    pub fn connectivity(&self, residual: bool) -> Mask {
        let mut masks = self.layer_masks.iter();
        let mut reach = masks.next().expect("input layer").clone();
        if residual {
            let blocks = (self.layer_masks.len() - 2) / 2;
            for _ in 0..blocks {
                let first = masks.next().expect("block mask");
                let second = masks.next().expect("block mask");
                let through = reach.then(first).then(second);
                reach = reach.or(&through);
            }
        }
        for mask in masks {
            reach = reach.then(mask);
        }
        match &self.direct_mask {
            Some(direct) => reach.or(direct),
            None => reach,
        }
    }

    /// The input → output connectivity MADE promises: output unit `u` (feature of degree `d_u`) may
    /// depend on input `j` exactly when `degree(j) < d_u` (context inputs have degree 0).
    pub fn allowed_connectivity(&self) -> Mask {
        Mask::from_fn(
            self.input_degrees.len(),
            self.output_degrees.len(),
            |j, u| self.input_degrees[j] < self.output_degrees[u],
        )
    }
}
