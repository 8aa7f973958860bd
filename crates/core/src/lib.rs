//! # nflow-core
//!
//! The foundation of nflow, a normalizing-flow library on [burn](https://burn.dev):
//!
//! - [`Bijector`]: invertible maps with log-determinants, in the convention
//!   `forward` = base → data (sampling), `inverse` = data → base (density);
//! - [`Chain`] (many layers of one type), [`Then`] (two layers of any types) and [`Inverse`] to
//!   compose them, as burn modules;
//! - [`Distribution`], the Gaussian bases [`StandardNormal`] and [`DiagNormal`], and [`Flow`]
//!   (a base pushed through a bijector);
//! - one error type ([`NflowError`], with the typed configuration errors [`MadeError`] and
//!   [`FlowConfigError`]) and input validation at public entry points;
//! - [`persist`]: atomic saves, eager loads, and model directories for any [`ModelConfig`];
//! - the backend choice ([`default_device`], [`device_from_name`]);
//! - [`named_params`]: read, and replace, parameters by their module path (importing weights
//!   trained elsewhere);
//! - [`jacobian`]: numerical Jacobians for tests and checkers, and (feature `testing`) the bijector
//!   test harness in `testing`.
//!
//! ```
//! use burn::tensor::Tensor;
//! use nflow_core::{Chain, DiagNormal, Distribution, ElementwiseAffine, Flow, default_device};
//! use rand::SeedableRng;
//!
//! let device = default_device();
//! let layers = vec![
//!     ElementwiseAffine::from_values(&[0.0, 1.0], &[0.5, 0.0], &device).unwrap(),
//!     ElementwiseAffine::from_values(&[1.0, 0.0], &[0.0, -0.5], &device).unwrap(),
//! ];
//! let flow = Flow::new(Chain::new(layers).unwrap(), DiagNormal::standard(2, &device).unwrap()).unwrap();
//! let mut rng = rand::rngs::StdRng::seed_from_u64(42);
//! let x = flow.sample(8, None, &mut rng).unwrap();
//! let log_density = flow.log_prob(x, None).unwrap();
//! assert_eq!(log_density.dims(), [8]);
//! ```

#![warn(missing_docs)]

mod affine;
mod bijector;
mod chain;
mod config_errors;
mod device;
mod diag_normal;
mod distribution;
mod error;
mod flow;
mod gaussian_base;
mod gaussian_mixture;
mod inverse;
pub mod jacobian;
pub mod mixture_math;
pub mod named_params;
pub mod persist;
mod seed;
mod standard_normal;
mod standardize;
#[cfg(feature = "testing")]
pub mod testing;
mod then;
pub mod validate;
mod workers;

pub use affine::{ElementwiseAffine, ElementwiseAffineConfig};
pub use bijector::Bijector;
pub use chain::Chain;
pub use config_errors::{FlowConfigError, MadeError, TrainerConfigError};
pub use device::{available_device_names, cpu_model, default_device, device_from_name};
pub use diag_normal::DiagNormal;
pub use distribution::Distribution;
pub use error::{BoxedError, NflowError, Result};
pub use flow::Flow;
pub use gaussian_base::{GaussianBase, GaussianBaseKind};
pub use gaussian_mixture::GaussianMixture;
pub use inverse::Inverse;
pub use persist::{
    FORMAT_VERSION, ModelConfig, load_model, load_module, save_model, save_model_with_files,
    save_module,
};
pub use seed::derive_seed;
pub use standard_normal::{StandardNormal, standard_normal_tensor};
pub use standardize::{Standardize, Standardizer};
pub use then::Then;
pub use workers::on_workers;

/// Re-export of the burn version nflow is built on, so users name the same types.
pub use burn;
