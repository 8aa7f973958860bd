//! # nflow-flows
//!
//! Masked autoregressive flows (MAF) and inverse autoregressive flows (IAF) on MADE conditioners,
//! with permutations, batch normalisation and builders.
//!
//! Both layer types apply the same masked affine autoregressive transform; they differ in which
//! side the MADE sits on, and that decides which direction costs one pass and which costs `D`:
//!
//! | layer | `inverse` (data → base, density) | `forward` (base → data, sampling) |
//! |---|---|---|
//! | [`MafLayer`] | 1 MADE pass | `D` sequential passes |
//! | [`IafLayer`] | `D` sequential passes | 1 MADE pass |
//!
//! [`MafConfig`] and [`IafConfig`] build whole flows ([`AutoregressiveFlow`]) that save and load
//! as one JSON config plus one weights file.
//!
//! ```
//! use burn::tensor::Tensor;
//! use nflow_core::Distribution;
//! use nflow_flows::{MafConfig, PermutationKind};
//! use rand::SeedableRng;
//!
//! let device = nflow_core::default_device();
//! let maf = MafConfig::new(4)
//!     .with_layers(3)
//!     .with_hidden_sizes(vec![32, 32])
//!     .with_permutation(PermutationKind::Reverse)
//!     .with_batch_norm(true)
//!     .init(&device)
//!     .unwrap();
//! let x = Tensor::<2>::zeros([10, 4], &device);
//! let log_density = maf.log_prob(x, None).unwrap(); // one MADE pass per layer
//! let mut rng = rand::rngs::StdRng::seed_from_u64(0);
//! let samples = maf.sample(10, None, &mut rng).unwrap(); // 4 MADE passes per layer
//! # let _ = (log_density, samples);
//! ```

#![warn(missing_docs)]

mod affine_autoregressive;
mod batch_norm;
mod config;
mod error;
mod flow;
mod iaf;
mod layer;
mod maf;
mod permutation;

pub use affine_autoregressive::AffineAutoregressive;
pub use batch_norm::BatchNorm;
pub use config::{FlowKind, IafConfig, MafConfig};
pub use error::FlowConfigError;
pub use flow::{AutoregressiveFlow, FLOW_CONFIG_FILE, FLOW_WEIGHTS_FILE, SavedFlowConfig};
pub use iaf::IafLayer;
pub use layer::FlowLayer;
pub use maf::MafLayer;
pub use permutation::{Permutation, PermutationKind};
