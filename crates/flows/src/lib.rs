//! # nflow-flows
//!
//! Masked autoregressive flows on MADE conditioners: one layer, [`MaskedAutoregressive`], that
//! applies any elementwise [transformer](ElementwiseTransformer) in either [`Orientation`], with
//! permutations, batch normalisation and one config for whole flows.
//!
//! The orientation decides which side the MADE reads, and so which direction costs one pass and
//! which costs `D`:
//!
//! | orientation | `inverse` (data → base, density) | `forward` (base → data, sampling) |
//! |---|---|---|
//! | MAF | 1 MADE pass | `D` sequential steps |
//! | IAF | `D` sequential steps | 1 MADE pass |
//!
//! The `D` steps compute each MADE unit once ([`Inversion::Incremental`], the default on the CPU):
//! about one pass of arithmetic. [`Inversion::Sequential`], the reference, reruns the whole MADE
//! at each step, as other flow libraries do. The one pass itself multiplies only the weight
//! blocks the masks keep ([`OnePass::BlockTriangular`], the default on the CPU, in training too:
//! the backward multiplies only those blocks as well); [`OnePass::Dense`] is burn's dense masked
//! pass, the reference.
//!
//! [`AutoregressiveFlowConfig`] (started by the friendly [`MafConfig::new`] / [`IafConfig::new`])
//! builds whole flows ([`AutoregressiveFlow`]) that save and load as one JSON config plus one
//! weights file. Two transformers are built in: [`AffineTransformer`] (MAF / IAF) and
//! [`SplineTransformer`] (rational-quadratic splines: neural spline flows). A new transformer is
//! one file implementing [`ElementwiseTransformer`] and [`TransformerKind`], plus one
//! [registration](register_transformer).
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

mod affine_transformer;
mod batch_norm;
mod config;
mod flow;
mod host_one_pass;
mod host_partials;
mod incremental_inversion;
mod inversion;
mod layer;
mod maf_mog;
mod masked_autoregressive;
mod one_pass;
mod orientation;
mod permutation;
mod spline_column_partials;
mod spline_transformer;
mod transformer;
mod transformer_registry;
mod transformer_spec;
mod vector_math;

pub use affine_transformer::AffineTransformer;
pub use batch_norm::BatchNorm;
pub use config::{AutoregressiveFlowConfig, IafConfig, MafConfig};
pub use flow::AutoregressiveFlow;
pub use inversion::Inversion;
pub use layer::FlowLayer;
pub use maf_mog::{MafMog, MafMogConfig};
pub use masked_autoregressive::MaskedAutoregressive;
pub use nflow_core::persist::{
    MODEL_CONFIG_FILE as FLOW_CONFIG_FILE, MODEL_WEIGHTS_FILE as FLOW_WEIGHTS_FILE,
};
pub use nflow_core::{FlowConfigError, Standardizer};
pub use one_pass::OnePass;
pub use orientation::Orientation;
pub use permutation::{Permutation, PermutationKind};
pub use spline_transformer::SplineTransformer;
pub use transformer::{
    ColumnPartials, ElementwiseTransformer, ScalarTransformer, TransformerKind, invert_partials,
};
pub use transformer_registry::{register_transformer, registered_transformers};
pub use transformer_spec::TransformerSpec;
