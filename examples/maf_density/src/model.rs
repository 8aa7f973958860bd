//! The example's model: an autoregressive flow on a Gaussian base, or on a MADE MoG base (MAF MoG).

use std::path::Path;

use nflow::burn;
use nflow::burn::module::Module;
use nflow::burn::tensor::{Device, Tensor};
use nflow::flows::{AutoregressiveFlow, MafMog};
use nflow::prelude::Distribution;
use nflow::rand::Rng;

/// A flow on a Gaussian base, or a MAF MoG. One value per run, so the size difference of the
/// variants costs nothing (and burn's `Module` derive does not take a `Box`).
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Model {
    /// Autoregressive layers on a Gaussian base.
    Flow(AutoregressiveFlow),
    /// Autoregressive layers on a MADE MoG base.
    Mog(MafMog),
}

impl Model {
    /// The config, as JSON (for the report).
    pub fn config_json(&self) -> serde_json::Value {
        match self {
            Model::Flow(f) => serde_json::to_value(f.config()),
            Model::Mog(m) => serde_json::to_value(m.config()),
        }
        .expect("configs serialise")
    }

    /// Saves the model directory.
    pub fn save(&self, dir: &Path) -> nflow::Result<()> {
        match self {
            Model::Flow(f) => f.save(dir),
            Model::Mog(m) => m.save(dir),
        }
    }

    /// Loads a model directory of the same kind as `self`.
    pub fn load_like(&self, dir: &Path, device: &Device) -> nflow::Result<Model> {
        Ok(match self {
            Model::Flow(_) => Model::Flow(AutoregressiveFlow::load(dir, device)?),
            Model::Mog(_) => Model::Mog(MafMog::load(dir, device)?),
        })
    }
}

impl Distribution for Model {
    fn features(&self) -> usize {
        match self {
            Model::Flow(f) => f.features(),
            Model::Mog(m) => m.features(),
        }
    }

    fn context_features(&self) -> usize {
        match self {
            Model::Flow(f) => f.context_features(),
            Model::Mog(m) => m.context_features(),
        }
    }

    fn log_prob_unchecked(&self, x: Tensor<2>, context: Option<&Tensor<2>>) -> Tensor<1> {
        match self {
            Model::Flow(f) => f.log_prob_unchecked(x, context),
            Model::Mog(m) => m.log_prob_unchecked(x, context),
        }
    }

    fn sample_unchecked<R: Rng + ?Sized>(
        &self,
        n: usize,
        context: Option<&Tensor<2>>,
        rng: &mut R,
    ) -> Tensor<2> {
        match self {
            Model::Flow(f) => f.sample_unchecked(n, context, rng),
            Model::Mog(m) => m.sample_unchecked(n, context, rng),
        }
    }
}
