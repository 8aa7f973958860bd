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
use burn::optim::GradientsParams;
use burn::optim::ModuleOptimizer;
use burn::tensor::{Device, Tensor};
use nflow_core::Distribution;
use nflow_flows::{
    AutoregressiveFlow, AutoregressiveFlowConfig, Inversion, MafConfig, Orientation,
    PermutationKind, SplineTransformer,
};
use nflow_train::FusedAdam;
use rand::SeedableRng;
use rand::rngs::StdRng;

/// The allocator setting the peer driver uses for every peer (see ../shared/peer/README.md):
/// glibc's default mmap threshold made large-batch calls 1.6-2.3× slower.
pub const GLIBC_TUNABLES: &str =
    "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824";

/// Re-runs this process with [`GLIBC_TUNABLES`] set, unless it is set already, and exits with
/// the child's status; returns only in the process that has it.
///
/// # Errors
/// When the process cannot re-run itself.
pub fn under_peer_allocator() -> std::io::Result<()> {
    if std::env::var("GLIBC_TUNABLES").is_err() {
        let status = std::process::Command::new(std::env::current_exe()?)
            .args(std::env::args().skip(1))
            .env("GLIBC_TUNABLES", GLIBC_TUNABLES)
            .status()?;
        std::process::exit(status.code().unwrap_or(1));
    }
    Ok(())
}

/// Median ms of `f` over ≥ 5 calls (and about `target_s` seconds, at most 200 calls) after two
/// warm-up calls; each result goes through `black_box`.
pub fn median_ms<R>(target_s: f64, mut f: impl FnMut() -> R) -> f64 {
    f();
    f();
    let mut times = Vec::new();
    let start = std::time::Instant::now();
    while times.len() < 5 || (start.elapsed().as_secs_f64() < target_s && times.len() < 200) {
        let t = std::time::Instant::now();
        std::hint::black_box(f());
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

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
    /// 1024 MAF samples: `D` small steps per layer computing each MADE unit once (the
    /// incremental inversion, nflow's default).
    MafSample,
    /// 1024 MAF samples by the sequential reference: `D` full MADE passes per layer.
    MafSampleSequential,
    /// 1024 IAF samples: one MADE pass per layer.
    IafSample,
    /// IAF density of 1024 rows of outside data, incrementally (each MADE unit once).
    IafLogProb,
    /// IAF density of 1024 rows by the sequential reference: `D` full MADE passes per layer.
    IafLogProbSequential,
    /// One MAF training step on 256 rows: log_prob, mean NLL, backward, Adam (lr 1e-3).
    MafTrainStep,
    /// Spline MAF (8 bins on [−5, 5]) density of 1024 rows: one MADE pass per layer.
    NsfLogProb,
    /// 1024 spline MAF samples, incrementally.
    NsfSample,
    /// 1024 spline MAF samples by the sequential reference.
    NsfSampleSequential,
    /// One spline MAF training step on 256 rows.
    NsfTrainStep,
}

impl Op {
    /// Every op, in the peers' order.
    pub const ALL: [Op; 11] = [
        Op::MafLogProb,
        Op::MafSample,
        Op::MafSampleSequential,
        Op::IafSample,
        Op::IafLogProb,
        Op::IafLogProbSequential,
        Op::MafTrainStep,
        Op::NsfLogProb,
        Op::NsfSample,
        Op::NsfSampleSequential,
        Op::NsfTrainStep,
    ];

    /// The peers' name for the op.
    pub fn name(&self) -> &'static str {
        match self {
            Op::MafLogProb => "maf_log_prob",
            Op::MafSample => "maf_sample",
            Op::MafSampleSequential => "maf_sample_seq",
            Op::IafSample => "iaf_sample",
            Op::IafLogProb => "iaf_log_prob",
            Op::IafLogProbSequential => "iaf_log_prob_seq",
            Op::MafTrainStep => "maf_train_step",
            Op::NsfLogProb => "nsf_log_prob",
            Op::NsfSample => "nsf_sample",
            Op::NsfSampleSequential => "nsf_sample_seq",
            Op::NsfTrainStep => "nsf_train_step",
        }
    }

    /// The op the peers measure under this name, when they have it (the sequential variants are
    /// nflow's reference paths; every peer's own inversion is sequential).
    pub fn peer_name(&self) -> Option<&'static str> {
        match self {
            Op::MafSampleSequential | Op::IafLogProbSequential | Op::NsfSampleSequential => None,
            _ => Some(self.name()),
        }
    }

    /// How the op's MADE work is laid out per layer: `"1 pass"`, `"D passes"` (the sequential
    /// reference) or `"D steps"` (the incremental inversion, each unit once).
    pub fn passes_per_layer(&self) -> &'static str {
        match self {
            Op::MafLogProb
            | Op::IafSample
            | Op::MafTrainStep
            | Op::NsfLogProb
            | Op::NsfTrainStep => "1 pass",
            Op::MafSample | Op::IafLogProb | Op::NsfSample => "D steps",
            Op::MafSampleSequential | Op::IafLogProbSequential | Op::NsfSampleSequential => {
                "D passes"
            }
        }
    }

    /// The inversion the op's flow uses.
    pub fn inversion(&self) -> Inversion {
        match self {
            Op::MafSampleSequential | Op::IafLogProbSequential | Op::NsfSampleSequential => {
                Inversion::Sequential
            }
            _ => Inversion::Incremental,
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

/// The benchmark MAF at `(d, h)` (affine, the peers' architecture).
pub fn maf(d: usize, h: usize, device: &Device) -> AutoregressiveFlow {
    maf_config(d, h)
        .init(device)
        .expect("benchmark configs are valid")
}

/// The benchmark neural spline flow at `(d, h)` (8 bins on [−5, 5], the peers' NSF).
pub fn nsf(d: usize, h: usize, device: &Device) -> AutoregressiveFlow {
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
                    optimizer: Some(FusedAdam::new().init(None)),
                    rng,
                }
            }
            Op::MafLogProb | Op::MafSample | Op::MafSampleSequential => Self {
                op,
                flow: maf(d, h, &device).with_inversion(op.inversion()),
                x,
                optimizer: None,
                rng,
            },
            Op::IafSample | Op::IafLogProb | Op::IafLogProbSequential => Self {
                op,
                flow: iaf(d, h, &device).with_inversion(op.inversion()),
                x,
                optimizer: None,
                rng,
            },
            Op::NsfLogProb | Op::NsfSample | Op::NsfSampleSequential => Self {
                op,
                flow: nsf(d, h, &device).with_inversion(op.inversion()),
                x,
                optimizer: None,
                rng,
            },
        }
    }

    /// Runs the op once and waits for the result (reads one value back).
    pub fn run(&mut self) -> f64 {
        match self.op {
            Op::MafLogProb | Op::IafLogProb | Op::IafLogProbSequential | Op::NsfLogProb => self
                .flow
                .log_prob_unchecked(self.x.clone(), None)
                .sum()
                .into_scalar::<f64>(),
            Op::MafSample
            | Op::MafSampleSequential
            | Op::IafSample
            | Op::NsfSample
            | Op::NsfSampleSequential => self
                .flow
                .sample_unchecked(BATCH_EVAL, None, &mut self.rng)
                .sum()
                .into_scalar::<f64>(),
            // As `Trainer` runs a step: on the thread pool's workers (`on_workers`).
            Op::MafTrainStep | Op::NsfTrainStep => nflow_core::on_workers(|| {
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
            }),
        }
    }
}

/// The parameter count of the MAF at `(d, h)` (for reports).
pub fn num_params(d: usize, h: usize) -> usize {
    maf(d, h, &nflow_core::default_device()).num_params()
}
