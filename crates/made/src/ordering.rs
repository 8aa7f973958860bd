//! Input orderings: which feature an autoregressive model generates first, second, ….

use burn::config::Config;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use nflow_core::MadeError;

/// The order in which the `D` features are generated.
///
/// Feature `i` receives the *degree* `deg(i) ∈ 1..=D`, its position in the order; MADE's output for
/// feature `i` may depend only on features of smaller degree.
#[derive(Config, Debug, PartialEq, Eq)]
pub enum Ordering {
    /// `0, 1, …, D−1`.
    Natural,
    /// `D−1, …, 1, 0`.
    Reversed,
    /// A uniformly random permutation drawn from the MADE's seed.
    Random,
    /// An explicit generation order: `order[0]` is generated first, `order[1]` second, ….
    Explicit(Vec<usize>),
}

impl Ordering {
    /// The degree of every feature: `degrees[i]` is the 1-based position of feature `i` in the
    /// order. `seed` is used by [`Ordering::Random`] only.
    ///
    /// ```
    /// use nflow_made::Ordering;
    /// assert_eq!(Ordering::Natural.degrees(3, 0).unwrap(), vec![1, 2, 3]);
    /// assert_eq!(Ordering::Reversed.degrees(3, 0).unwrap(), vec![3, 2, 1]);
    /// // Generate feature 2 first, then 0, then 1.
    /// assert_eq!(Ordering::Explicit(vec![2, 0, 1]).degrees(3, 0).unwrap(), vec![2, 3, 1]);
    /// assert!(Ordering::Explicit(vec![0, 0, 1]).degrees(3, 0).is_err());
    /// ```
    ///
    /// # Errors
    /// [`MadeError::ZeroFeatures`] for `features == 0`; [`MadeError::NotAPermutation`] for an
    /// explicit order that is not a permutation of `0..features`.
    pub fn degrees(&self, features: usize, seed: u64) -> Result<Vec<usize>, MadeError> {
        if features == 0 {
            return Err(MadeError::ZeroFeatures);
        }
        let order: Vec<usize> = match self {
            Ordering::Natural => (0..features).collect(),
            Ordering::Reversed => (0..features).rev().collect(),
            Ordering::Random => {
                let mut order: Vec<usize> = (0..features).collect();
                order.shuffle(&mut StdRng::seed_from_u64(seed));
                order
            }
            Ordering::Explicit(order) => {
                let mut seen = vec![false; features];
                let valid = order.len() == features
                    && order
                        .iter()
                        .all(|&i| i < features && !std::mem::replace(&mut seen[i], true));
                if !valid {
                    return Err(MadeError::NotAPermutation {
                        ordering: order.clone(),
                        features,
                    });
                }
                order.clone()
            }
        };
        let mut degrees = vec![0; features];
        for (position, &feature) in order.iter().enumerate() {
            degrees[feature] = position + 1;
        }
        Ok(degrees)
    }
}

/// The generation order implied by degrees: features sorted by degree.
pub fn order_from_degrees(degrees: &[usize]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..degrees.len()).collect();
    order.sort_by_key(|&i| degrees[i]);
    order
}
