//! # nflow
//!
//! Normalizing flows in Rust, on [burn](https://burn.dev), built on MADE: densities,
//! log-likelihoods and samples from masked autoregressive flows in both orientations (MAF: density
//! in one pass per layer; IAF: sampling in one pass per layer), any elementwise transformer,
//! training, and exact save / load. This is the crate to depend on: it re-exports everything a
//! user needs, [`burn`] and [`rand`] included, and has one error type, [`Error`].
//!
//! ```
//! use nflow::prelude::*;
//!
//! # fn main() -> nflow::Result<()> {
//! let device = default_device();
//! let splits = ToyDataset::Moons.sample(2_000, 0)?.split(0.8, 0.1, 0)?;
//! let maf = MafConfig::new(2).with_layers(2).with_hidden_sizes(vec![16, 16]).init(&device)?;
//! let trainer = Trainer::new(TrainerConfig::new().with_max_steps(20).with_progress(false))?;
//! let (maf, _report) = trainer.fit(maf, &splits.train, &splits.validation, &device)?;
//!
//! let log_density = maf.log_prob(Tensor::<2>::zeros([4, 2], &device), None)?; // 1 pass / layer
//! let samples = maf.sample(100, None, &mut StdRng::seed_from_u64(1))?; // D steps / layer
//! let dir = std::env::temp_dir().join(format!("nflow-facade-doc-{}", std::process::id()));
//! maf.save(&dir)?;
//! let same = AutoregressiveFlow::load(&dir, &device)?; // exact round trip
//! # std::fs::remove_dir_all(&dir).ok();
//! # let _ = (log_density, samples, same);
//! # Ok(())
//! # }
//! ```
//!
//! # Layout
//!
//! | module | what |
//! |---|---|
//! | [`core`] | `Bijector`, `Chain`, `Then`, `Inverse`, distributions, `Flow`, persistence, device choice, the bijector test harness (`core::testing`, with this crate's feature `testing`) |
//! | [`made`] | degrees, masks, `Made` |
//! | [`flows`] | transformers, `MaskedAutoregressive`, permutations, batch norm, `AutoregressiveFlowConfig` |
//! | [`train`] | `Dataset`, `Trainer`, the 2-D toy densities |
//! | [`prelude`] | the names most programs use |
//!
//! # Your own layers beside nflow's
//!
//! A layer of your own is a burn module that implements [`Bijector`](core::Bijector). burn's
//! `#[derive(Module)]` names `burn::…` paths, so bring nflow's burn into scope where you derive
//! (`use nflow::burn;`) or depend on burn 0.22 yourself. Compose it with built-in layers by
//! [`Then`](core::Then) (two layers of any types) and save the stack by implementing
//! [`ModelConfig`](core::persist::ModelConfig) for its config: `crates/nflow/tests/custom_stack.rs`
//! does both, end to end.

#![warn(missing_docs)]

pub use nflow_core as core;
pub use nflow_flows as flows;
pub use nflow_made as made;
pub use nflow_train as train;

/// The burn version nflow is built on (derive `Module` with `use nflow::burn;`).
pub use nflow_core::burn;
/// The rand version nflow's sampling takes generators from.
pub use rand;
/// serde, for configs of your own (a [`ModelConfig`](core::persist::ModelConfig) derives
/// `Serialize` and `Deserialize`).
pub use serde;
/// serde_json, in which configs and model directories are written.
pub use serde_json;

/// The one error type of nflow: every fallible call in every nflow crate returns it. Typed
/// configuration errors ([`MadeError`](core::MadeError), [`FlowConfigError`](core::FlowConfigError))
/// are variants of their own, matched without downcasting.
pub use nflow_core::NflowError as Error;

/// `Result` with nflow's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The names most programs use: `use nflow::prelude::*;`.
pub mod prelude {
    pub use crate::{Error, Result};
    pub use burn::module::Module;
    pub use burn::tensor::{Device, Tensor};
    pub use nflow_core::burn;
    pub use nflow_core::persist::{ModelConfig, load_model, save_model};
    pub use nflow_core::{
        Bijector, Chain, DiagNormal, Distribution, Flow, FlowConfigError, GaussianBase,
        GaussianBaseKind, GaussianMixture, Inverse, MadeError, StandardNormal, Then,
        default_device, device_from_name,
    };
    pub use nflow_flows::{
        AffineTransformer, AutoregressiveFlow, AutoregressiveFlowConfig, ElementwiseTransformer,
        FlowLayer, IafConfig, Inversion, MafConfig, MafMog, MafMogConfig, MaskedAutoregressive,
        OnePass, Orientation, PermutationKind, SplineTransformer, TransformerKind, TransformerSpec,
        register_transformer, registered_transformers,
    };
    pub use nflow_made::{
        Activation, BernoulliMade, BernoulliMadeConfig, HiddenDegrees, MadeConfig, MadeMog,
        MadeMogConfig,
    };
    pub use nflow_train::{Dataset, ToyDataset, TrainPhase, Trainer, TrainerConfig};
    pub use rand::SeedableRng;
    pub use rand::rngs::StdRng;
}
