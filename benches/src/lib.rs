//! # nflow-bench
//!
//! The benchmark matrix shared by the divan benches (`cargo bench -p nflow-bench`) and the report
//! command (`cargo run --release -p nflow-bench --bin report`): the architectures of
//! `../shared/peer/bench_flows.py`, so figures compare directly with zuko, nflows and FlowJAX.
//!
//! Every flow: `D` features, 5 masked autoregressive layers, reverse permutations between them,
//! MADE `D → H → H → kD` with ReLU, standard-normal base, `f32`, burn's flex backend. The `maf_*`
//! and `iaf_*` ops use the affine transformer (`k = 2`); the `nsf_*` ops the rational-quadratic
//! spline with 8 bins on [−5, 5] (`k = 23`), as the peers' NSF.

#![warn(missing_docs)]

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Tensor};
use nflow_core::Distribution;
use nflow_flows::{
    AutoregressiveFlow, AutoregressiveFlowConfig, MafConfig, Orientation, PermutationKind,
    SplineTransformer,
};
use rand::SeedableRng;
use rand::rngs::StdRng;

/// Autoregressive layers in every benchmark flow.
pub const LAYERS: usize = 5;
/// Rows per evaluation batch (log_prob, sample).
pub const BATCH_EVAL: usize = 1024;
/// Rows per training batch.
pub const BATCH_TRAIN: usize = 256;
/// The `(D, H)` matrix: toy, GAS, HEPMASS and BSDS300 sizes; BSDS300 also with 512 units.
pub const CONFIGS: [(usize, usize); 5] = [(2, 256), (8, 256), (21, 256), (63, 256), (63, 512)];

/// One benchmarked operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// MAF density of 1024 rows: one MADE pass per layer.
    MafLogProb,
    /// 1024 MAF samples: `D` MADE passes per layer.
    MafSample,
    /// 1024 IAF samples: one MADE pass per layer.
    IafSample,
    /// IAF density of 1024 rows of outside data: `D` MADE passes per layer.
    IafLogProb,
    /// One MAF training step on 256 rows: log_prob, mean NLL, backward, Adam (lr 1e-3).
    MafTrainStep,
    /// Spline MAF (8 bins on [−5, 5]) density of 1024 rows: one MADE pass per layer.
    NsfLogProb,
    /// 1024 spline MAF samples: `D` MADE passes per layer.
    NsfSample,
    /// One spline MAF training step on 256 rows.
    NsfTrainStep,
}

impl Op {
    /// Every op, in the peers' order.
    pub const ALL: [Op; 8] = [
        Op::MafLogProb,
        Op::MafSample,
        Op::IafSample,
        Op::IafLogProb,
        Op::MafTrainStep,
        Op::NsfLogProb,
        Op::NsfSample,
        Op::NsfTrainStep,
    ];

    /// The peers' name for the op.
    pub fn name(&self) -> &'static str {
        match self {
            Op::MafLogProb => "maf_log_prob",
            Op::MafSample => "maf_sample",
            Op::IafSample => "iaf_sample",
            Op::IafLogProb => "iaf_log_prob",
            Op::MafTrainStep => "maf_train_step",
            Op::NsfLogProb => "nsf_log_prob",
            Op::NsfSample => "nsf_sample",
            Op::NsfTrainStep => "nsf_train_step",
        }
    }

    /// MADE passes per layer.
    pub fn passes_per_layer(&self, d: usize) -> usize {
        match self {
            Op::MafLogProb
            | Op::IafSample
            | Op::MafTrainStep
            | Op::NsfLogProb
            | Op::NsfTrainStep => 1,
            Op::MafSample | Op::IafLogProb | Op::NsfSample => d,
        }
    }

    /// Rows processed per call.
    pub fn rows(&self) -> usize {
        match self {
            Op::MafTrainStep | Op::NsfTrainStep => BATCH_TRAIN,
            _ => BATCH_EVAL,
        }
    }
}

fn maf_config(d: usize, h: usize) -> AutoregressiveFlowConfig {
    MafConfig::new(d)
        .with_layers(LAYERS)
        .with_hidden_sizes(vec![h, h])
        .with_permutation(PermutationKind::Reverse)
        .with_output_init_scale(1.0)
}

fn maf(d: usize, h: usize, device: &Device) -> AutoregressiveFlow {
    maf_config(d, h)
        .init(device)
        .expect("benchmark configs are valid")
}

fn nsf(d: usize, h: usize, device: &Device) -> AutoregressiveFlow {
    maf_config(d, h)
        .with_transformer(SplineTransformer::default().into())
        .init(device)
        .expect("benchmark configs are valid")
}

fn iaf(d: usize, h: usize, device: &Device) -> AutoregressiveFlow {
    maf_config(d, h)
        .with_orientation(Orientation::Iaf)
        .init(device)
        .expect("benchmark configs are valid")
}

/// A prepared benchmark: the flow, its input, and for training the optimiser.
pub struct Case {
    op: Op,
    flow: AutoregressiveFlow,
    x: Tensor<2>,
    optimizer: Option<ModuleOptimizer>,
    rng: StdRng,
}

impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Case({:?})", self.op)
    }
}

impl Case {
    /// Builds the flow and data of `op` at `(d, h)`; training cases live on the autodiff device.
    pub fn new(op: Op, d: usize, h: usize) -> Self {
        let device = nflow_core::default_device();
        let mut rng = StdRng::seed_from_u64(0);
        let x = nflow_core::standard_normal_tensor(op.rows(), d, &mut rng, &device);
        match op {
            Op::MafTrainStep | Op::NsfTrainStep => {
                let device = device.autodiff();
                Self {
                    op,
                    flow: if op == Op::NsfTrainStep {
                        nsf(d, h, &device)
                    } else {
                        maf(d, h, &device)
                    },
                    x: x.to_device(&device),
                    optimizer: Some(AdamConfig::new().with_epsilon(1e-8).init()),
                    rng,
                }
            }
            Op::MafLogProb | Op::MafSample => Self {
                op,
                flow: maf(d, h, &device),
                x,
                optimizer: None,
                rng,
            },
            Op::IafSample | Op::IafLogProb => Self {
                op,
                flow: iaf(d, h, &device),
                x,
                optimizer: None,
                rng,
            },
            Op::NsfLogProb | Op::NsfSample => Self {
                op,
                flow: nsf(d, h, &device),
                x,
                optimizer: None,
                rng,
            },
        }
    }

    /// Runs the op once and waits for the result (reads one value back).
    pub fn run(&mut self) -> f64 {
        match self.op {
            Op::MafLogProb | Op::IafLogProb | Op::NsfLogProb => self
                .flow
                .log_prob_unchecked(self.x.clone(), None)
                .sum()
                .into_scalar::<f64>(),
            Op::MafSample | Op::IafSample | Op::NsfSample => self
                .flow
                .sample_unchecked(BATCH_EVAL, None, &mut self.rng)
                .sum()
                .into_scalar::<f64>(),
            Op::MafTrainStep | Op::NsfTrainStep => {
                let loss = self
                    .flow
                    .log_prob_unchecked(self.x.clone(), None)
                    .mean()
                    .neg();
                let value = loss.clone().into_scalar::<f64>();
                let grads = GradientsParams::from_grads(loss.backward(), &self.flow);
                let optimizer = self.optimizer.as_mut().expect("training case");
                self.flow = optimizer.step(1e-3, self.flow.clone(), grads);
                value
            }
        }
    }
}

/// The parameter count of the MAF at `(d, h)` (for reports).
pub fn num_params(d: usize, h: usize) -> usize {
    maf(d, h, &nflow_core::default_device()).num_params()
}
