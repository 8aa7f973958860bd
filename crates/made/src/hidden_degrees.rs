//! Degrees of hidden units.

use burn::config::Config;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// How hidden units get their degrees `m ∈ lowest..=D−1`.
///
/// A hidden unit of degree `m` may see inputs of degree `≤ m`; an output of degree `d` may see
/// hidden units of degree `< d`. `lowest` is 1 for an unconditional MADE (as in the MADE paper) and
/// 0 when there is a context (degree 0): units of degree 0 see only the context and carry it to
/// the outputs of the first feature in the ordering, which would otherwise be constant.
#[derive(Config, Debug, PartialEq, Eq, Copy)]
pub enum HiddenDegrees {
    /// Cycled `lowest, …, D−1, lowest, …` in every layer: deterministic, and with every layer at
    /// least `D − lowest` wide, every output can depend on every earlier input.
    Sequential,
    /// `Sequential`'s degrees in ascending order within each layer, so units of one degree sit
    /// side by side. The same network up to the order of hidden units, but stored so that every
    /// mask is block lower-triangular as it stands: the CPU block products then use the weights
    /// in place instead of gathering them into that order on every call. The default for new
    /// models (saved models name their scheme, so older files keep theirs).
    Sorted,
    /// Drawn uniformly, layer by layer, from `[min degree of the layer below, D−1]` (the MADE
    /// paper's scheme; the first layer from `[lowest, D−1]`), from the MADE's seed.
    Random,
}

/// The lowest hidden degree: 0 with a context or for `D = 1`, else 1.
pub fn lowest_hidden_degree(features: usize, context_features: usize) -> usize {
    if context_features > 0 || features <= 1 {
        0
    } else {
        1
    }
}

/// Degrees of every hidden layer. `widths[l]` is the width of layer `l`; `features` is `D`;
/// `lowest` comes from [`lowest_hidden_degree`].
///
/// ```
/// use nflow_made::{HiddenDegrees, hidden_degrees};
/// let degrees = hidden_degrees(HiddenDegrees::Sequential, &[5, 3], 3, 1, 0);
/// assert_eq!(degrees, vec![vec![1, 2, 1, 2, 1], vec![1, 2, 1]]);
/// // With a context, degree-0 units carry it to the first feature's outputs.
/// let degrees = hidden_degrees(HiddenDegrees::Sequential, &[4], 3, 0, 0);
/// assert_eq!(degrees, vec![vec![0, 1, 2, 0]]);
/// // The same degrees, each layer in ascending order.
/// let degrees = hidden_degrees(HiddenDegrees::Sorted, &[5, 3], 3, 1, 0);
/// assert_eq!(degrees, vec![vec![1, 1, 1, 2, 2], vec![1, 1, 2]]);
/// ```
pub fn hidden_degrees(
    scheme: HiddenDegrees,
    widths: &[usize],
    features: usize,
    lowest: usize,
    seed: u64,
) -> Vec<Vec<usize>> {
    let max_degree = features.saturating_sub(1);
    if max_degree <= lowest {
        return widths.iter().map(|&w| vec![max_degree; w]).collect();
    }
    let span = max_degree - lowest + 1;
    match scheme {
        HiddenDegrees::Sequential => widths
            .iter()
            .map(|&w| (0..w).map(|k| k % span + lowest).collect())
            .collect(),
        HiddenDegrees::Sorted => {
            hidden_degrees(HiddenDegrees::Sequential, widths, features, lowest, seed)
                .into_iter()
                .map(|mut layer| {
                    layer.sort_unstable();
                    layer
                })
                .collect()
        }
        HiddenDegrees::Random => {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut low = lowest;
            widths
                .iter()
                .map(|&w| {
                    let layer: Vec<usize> =
                        (0..w).map(|_| rng.random_range(low..=max_degree)).collect();
                    low = layer.iter().copied().min().unwrap_or(low);
                    layer
                })
                .collect()
        }
    }
}
