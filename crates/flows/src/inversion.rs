//! [`Inversion`]: how a masked autoregressive layer computes its slow direction.

use serde::{Deserialize, Serialize};

/// How a masked autoregressive layer computes the direction that needs its own output as the
/// MADE's input: sampling for a MAF, the density of outside data for an IAF.
///
/// Both strategies solve the same triangular system exactly and agree to rounding; they differ
/// in cost:
///
/// | strategy | MADE work for one inversion | where it runs |
/// |---|---|---|
/// | [`Incremental`](Inversion::Incremental) | every hidden unit once: about **half** a dense MADE pass, in `D` small steps | host kernels on CPU (burn's `flex` device) without autodiff, batch rows split across threads |
/// | [`Sequential`](Inversion::Sequential) | `D` full MADE passes | burn's tensor ops, on any device, differentiable |
///
/// The incremental solve sorts every layer's units by degree ([`nflow_made::DegreeSortedMade`]).
/// Once the features of degree `≤ m` are known, the units of degree `m` in every layer are final:
/// step `m` computes just that block from the already final units below it, then the
/// transformer's parameters of the feature of degree `m + 1`, then that feature. On a device
/// with autodiff (training) or another backend, and for a MADE whose masks were replaced so that
/// they no longer follow its degrees, it falls back to the sequential solve, which is always
/// available as the reference.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Inversion {
    /// Each hidden unit computed once over the whole inversion (the default).
    #[default]
    Incremental,
    /// `D` full MADE passes, each fixing one more feature: the reference.
    Sequential,
}

impl Inversion {
    /// Lower-case name: `"incremental"` or `"sequential"`.
    pub fn name(self) -> &'static str {
        match self {
            Inversion::Incremental => "incremental",
            Inversion::Sequential => "sequential",
        }
    }
}

impl std::fmt::Display for Inversion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
