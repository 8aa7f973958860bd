//! [`Orientation`]: which side of a masked autoregressive layer its conditioner reads.

use serde::{Deserialize, Serialize};

/// Which side of the layer the MADE conditioner reads, and so which direction costs one pass.
///
/// The same layer, the same transformer `τ`, in two orientations (`θ_i` are the transformer's
/// parameters for coordinate `i`, computed by the MADE from the coordinates before `i`):
///
/// | | map | `inverse` (data → base, density) | `forward` (base → data, sampling) |
/// |---|---|---|---|
/// | [`Maf`](Orientation::Maf) | `x_i = τ(z_i; θ_i(x_<i))` | **1** MADE pass | `D` sequential steps |
/// | [`Iaf`](Orientation::Iaf) | `x_i = τ(z_i; θ_i(z_<i))` | `D` sequential steps | **1** MADE pass |
///
/// The one-pass direction is the one whose *input* is the side the MADE reads: every `θ_i` comes
/// out of one evaluation. The other direction must solve for its output coordinate by coordinate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Orientation {
    /// Masked autoregressive flow (Papamakarios et al. 2017): the conditioner reads the **data**
    /// side. Density in one pass, sampling in `D`.
    #[serde(alias = "Maf", alias = "MAF")]
    Maf,
    /// Inverse autoregressive flow (Kingma et al. 2016): the conditioner reads the **base** side.
    /// Sampling (with its log-density) in one pass, the density of outside data in `D`.
    #[serde(alias = "Iaf", alias = "IAF")]
    Iaf,
}

impl Orientation {
    /// The other orientation.
    pub fn flipped(self) -> Self {
        match self {
            Orientation::Maf => Orientation::Iaf,
            Orientation::Iaf => Orientation::Maf,
        }
    }

    /// Whether `forward` (base → data) is the one-pass direction.
    pub fn forward_is_one_pass(self) -> bool {
        self == Orientation::Iaf
    }

    /// Lower-case name: `"maf"` or `"iaf"`.
    pub fn name(self) -> &'static str {
        match self {
            Orientation::Maf => "maf",
            Orientation::Iaf => "iaf",
        }
    }
}

impl std::fmt::Display for Orientation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
