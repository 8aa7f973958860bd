//! # nflow-made
//!
//! MADE (Germain et al., 2015), the masked autoencoder for distribution estimation, as the
//! conditioner of nflow's autoregressive flows.
//!
//! Each input feature gets a *degree* (its position in an ordering), each hidden unit a degree in
//! `1..=D−1` (from 0 with a context), and binary masks keep only connections with `deg_out ≥ deg_in` into hidden layers
//! and `deg_out > deg_in` into the outputs. Then the outputs for feature `i` depend only on
//! features before `i`, so one forward pass yields all `D` autoregressive conditionals.
//!
//! - pure functions: [`Ordering::degrees`], [`hidden_degrees`], [`hidden_mask`], [`output_mask`],
//!   [`Mask`] (with the boolean product [`Mask::then`]), [`MaskSet`];
//! - modules: [`MaskedLinear`], [`Made`] built from [`MadeConfig`];
//! - the host engine of the fast inversion: [`DegreeSortedMade`] (units sorted by degree, computed
//!   one degree at a time);
//! - the autoregressive checker: [`autoregressive_violations`], [`check_made`].

#![warn(missing_docs)]

mod activation;
mod bernoulli_made;
mod block_kernel;
mod block_linear;
mod block_plan;
mod checker;
mod config;
mod degree_sorted;
pub mod flex_host;
mod hidden_degrees;
mod host_float;
mod made;
mod made_mog;
mod mask;
mod mask_set;
mod masked_linear;
mod ordering;
mod packed_cache;

pub use activation::Activation;
pub use bernoulli_made::{BernoulliMade, BernoulliMadeConfig};
pub use block_plan::BlockPlan;
pub use checker::{Diagonal, autoregressive_violations, check_made};
pub use config::MadeConfig;
pub use degree_sorted::{DegreeSortedMade, DegreeSortedWorkspace};
pub use hidden_degrees::{HiddenDegrees, hidden_degrees, lowest_hidden_degree};
pub use host_float::{HostFloat, host_matrix, host_vector, narrow_into, widen_into};
pub use made::{CONFIG_FILE, Made, WEIGHTS_FILE};
pub use made_mog::{MadeMog, MadeMogConfig};
pub use mask::{Mask, hidden_mask, output_degrees, output_mask};
pub use mask_set::MaskSet;
pub use masked_linear::MaskedLinear;
pub use nflow_core::MadeError;
pub use nflow_core::jacobian::StructureViolation;
pub use ordering::{Ordering, order_from_degrees};
