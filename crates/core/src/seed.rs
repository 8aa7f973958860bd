//! Deriving independent seeds from one user seed.

/// A seed for the `index`-th random choice of kind `purpose`, derived from `seed` (a SplitMix64
/// finaliser over the three values). Components that share one user-facing seed (a MADE's
/// orderings, degrees and weights; a flow's layers and permutations) draw from independent streams
/// this way, and a saved config reproduces them all.
pub fn derive_seed(seed: u64, purpose: u64, index: usize) -> u64 {
    let mut z = seed
        .wrapping_add(purpose.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_add((index as u64).wrapping_mul(0xD1B5_4A32_D192_ED03));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
