//! [`GaussianBase`]: the base distributions a flow builder can pick from a config.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Tensor};
use rand::Rng;

use crate::diag_normal::DiagNormal;
use crate::distribution::Distribution;
use crate::error::Result;
use crate::gaussian_mixture::GaussianMixture;
use crate::standard_normal::StandardNormal;

/// Which Gaussian base a flow uses (serialisable, for flow configs).
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum GaussianBaseKind {
    /// `N(0, I)`, no parameters.
    Standard,
    /// `N(μ, diag σ²)` with learnable `μ` and `log σ`, starting at `N(0, I)`.
    Diagonal,
    /// A learnable mixture of `components` diagonal Gaussians ([`GaussianMixture`]; saved as
    /// `{"Mixture": {"components": K}}`).
    Mixture {
        /// Number of components `K`.
        components: usize,
    },
}

impl GaussianBaseKind {
    /// Builds the base for `features` dimensions on `device`.
    ///
    /// # Errors
    /// [`NflowError::InvalidConfig`](crate::NflowError::InvalidConfig) when `features == 0`.
    pub fn init(&self, features: usize, device: &Device) -> Result<GaussianBase> {
        self.init_seeded(features, 0, device)
    }

    /// Builds the base for `features` dimensions on `device`, drawing any random initial values
    /// (a mixture's means) from `seed`.
    ///
    /// # Errors
    /// [`NflowError::InvalidConfig`](crate::NflowError::InvalidConfig) when `features == 0` or a
    /// mixture has no components.
    pub fn init_seeded(&self, features: usize, seed: u64, device: &Device) -> Result<GaussianBase> {
        Ok(match self {
            GaussianBaseKind::Standard => {
                GaussianBase::Standard(StandardNormal::new(features, device)?)
            }
            GaussianBaseKind::Diagonal => {
                GaussianBase::Diagonal(DiagNormal::standard(features, device)?)
            }
            GaussianBaseKind::Mixture { components } => {
                GaussianBase::Mixture(GaussianMixture::new(features, *components, seed, device)?)
            }
        })
    }
}

/// A Gaussian base distribution chosen at run time: [`StandardNormal`], [`DiagNormal`] or
/// [`GaussianMixture`].
#[derive(Module, Debug)]
pub enum GaussianBase {
    /// `N(0, I)`.
    Standard(StandardNormal),
    /// `N(μ, diag σ²)`, learnable.
    Diagonal(DiagNormal),
    /// A learnable mixture of diagonal Gaussians.
    Mixture(GaussianMixture),
}

impl GaussianBase {
    /// The kind of this base, as stored in configs.
    pub fn kind(&self) -> GaussianBaseKind {
        match self {
            GaussianBase::Standard(_) => GaussianBaseKind::Standard,
            GaussianBase::Diagonal(_) => GaussianBaseKind::Diagonal,
            GaussianBase::Mixture(m) => GaussianBaseKind::Mixture {
                components: m.components(),
            },
        }
    }
}

impl Distribution for GaussianBase {
    fn features(&self) -> usize {
        match self {
            GaussianBase::Standard(d) => d.features(),
            GaussianBase::Diagonal(d) => d.features(),
            GaussianBase::Mixture(d) => d.features(),
        }
    }

    fn log_prob_unchecked(&self, x: Tensor<2>, context: Option<&Tensor<2>>) -> Tensor<1> {
        match self {
            GaussianBase::Standard(d) => d.log_prob_unchecked(x, context),
            GaussianBase::Diagonal(d) => d.log_prob_unchecked(x, context),
            GaussianBase::Mixture(d) => d.log_prob_unchecked(x, context),
        }
    }

    fn sample_unchecked<R: Rng + ?Sized>(
        &self,
        n: usize,
        context: Option<&Tensor<2>>,
        rng: &mut R,
    ) -> Tensor<2> {
        match self {
            GaussianBase::Standard(d) => d.sample_unchecked(n, context, rng),
            GaussianBase::Diagonal(d) => d.sample_unchecked(n, context, rng),
            GaussianBase::Mixture(d) => d.sample_unchecked(n, context, rng),
        }
    }
}
