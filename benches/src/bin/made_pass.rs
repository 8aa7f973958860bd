//! `cargo run --release -p nflow-bench --bin made_pass`: one MADE pass at the benchmark's largest
//! size, burn's dense masked matmuls against the block-triangular host pass, on 1 and 2 threads,
//! beside torch's dense masked MADE measured in the same run.
//!
//! The MADE is `D → H → H → 2D` with ReLU (D = 63, H = 512 by default), batch 1024, f32. Rows:
//!
//! - *dense forward*: `Made::forward_dense` on burn's flex device (`x (W ⊙ M) + b` per layer);
//! - *dense forward + backward*: the same on flex with autodiff, then `backward` of the sum;
//! - *block-triangular layers*: `Made::forward` (each masked product on the staircase of its
//!   degree-sorted layout, [`nflow_made::BlockPlan`]), without and with autodiff + `backward`;
//! - *block-triangular forward*: [`nflow_made::DegreeSortedMade`] built from the MADE (reading the
//!   weights back, sorting and packing them: included, as every call pays it) and
//!   `forward_all` over tasks of 64 rows, as the fast direction of a layer runs it;
//! - *block plan only*: building the `DegreeSortedMade`;
//! - torch: the same dense masked MADE (`torch.nn.functional.linear` with `W ⊙ M`), forward and
//!   forward + backward, when the peer virtualenv exists.
//!
//! Thread counts come from rayon pools (which burn's flex backend and the host kernels both use)
//! and `torch.set_num_threads`. Like `report`, it re-runs itself under the peers' allocator
//! setting (`GLIBC_TUNABLES`). Prints one markdown table of median ms per call.

use std::path::PathBuf;

use burn::tensor::{Device, Distribution, Tensor};
use clap::Parser;
use nflow_made::{DegreeSortedMade, MadeConfig, host_matrix};
use rayon::prelude::*;

#[derive(Parser, Debug)]
#[command(
    about = "One MADE pass: dense masked (burn, torch) against block-triangular, 1 and 2 threads"
)]
struct Args {
    /// Features D.
    #[arg(long, default_value_t = 63)]
    features: usize,
    /// Hidden units H (two hidden layers).
    #[arg(long, default_value_t = 512)]
    hidden: usize,
    /// Rows per pass.
    #[arg(long, default_value_t = 1024)]
    batch: usize,
    /// Seconds of timed calls per figure (at least 5 calls).
    #[arg(long, default_value_t = 1.0)]
    target_s: f64,
    /// Python of the peer virtualenv (skip torch when it does not exist).
    #[arg(long)]
    peer_python: Option<PathBuf>,
}

/// Rows per host task, as the layers' fast direction uses.
const ROWS_PER_TASK: usize = 64;

/// torch's dense masked MADE: prints `threads forward_ms forward_backward_ms` lines.
const TORCH_SCRIPT: &str = r#"
import sys, time, torch
d, h, n, target = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
deg_in = torch.arange(1, d + 1)
deg_h = torch.arange(h) % max(d - 1, 1) + 1
m1 = (deg_h[:, None] >= deg_in[None, :]).float()
m2 = (deg_h[:, None] >= deg_h[None, :]).float()
deg_out = torch.cat([deg_in, deg_in])
m3 = (deg_out[:, None] > deg_h[None, :]).float()
ws = [torch.randn(h, d) / d ** 0.5, torch.randn(h, h) / h ** 0.5, torch.randn(2 * d, h) / h ** 0.5]
bs = [torch.zeros(h), torch.zeros(h), torch.zeros(2 * d)]
ms = [m1, m2, m3]
for w in ws: w.requires_grad_(True)
x = torch.randn(n, d)
def forward():
    a = torch.relu(torch.nn.functional.linear(x, ws[0] * ms[0], bs[0]))
    a = torch.relu(torch.nn.functional.linear(a, ws[1] * ms[1], bs[1]))
    return torch.nn.functional.linear(a, ws[2] * ms[2], bs[2])
def median(f):
    f(); f()
    t, start = [], time.perf_counter()
    while len(t) < 5 or (time.perf_counter() - start < target and len(t) < 500):
        s = time.perf_counter(); f(); t.append((time.perf_counter() - s) * 1e3)
    t.sort(); return t[len(t) // 2]
def fwd():
    with torch.no_grad(): forward()
def fwd_bwd():
    for w in ws: w.grad = None
    forward().sum().backward()
for threads in (1, 2):
    torch.set_num_threads(threads)
    print(threads, median(fwd), median(fwd_bwd))
"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    nflow_bench::under_peer_allocator()?;
    let (d, h, n) = (args.features, args.hidden, args.batch);
    let device = Device::flex();
    let config = MadeConfig::new(d, vec![h, h]).with_params_per_dim(2);
    let made = config.init(&device)?;
    let autodiff = device.clone().autodiff();
    let made_ad = config.init(&autodiff)?;
    let x: Tensor<2> = Tensor::random([n, d], Distribution::Normal(0.0, 1.0), &device);
    let x_ad = Tensor::<2>::from_data(x.to_data(), &autodiff);
    let x_host = host_matrix::<f32>(x.clone());

    let block_forward = || {
        let plan = DegreeSortedMade::<f32>::new(&made).expect("masks follow the degrees");
        let chunks: Vec<usize> = (0..n).step_by(ROWS_PER_TASK).collect();
        chunks.par_iter().for_each(|&start| {
            let rows = ROWS_PER_TASK.min(n - start);
            let mut workspace = plan.workspace(rows, None);
            let mut inputs = workspace.inputs_mut();
            for (m, &feature) in plan.order().iter().enumerate() {
                for r in 0..rows {
                    inputs[[m, r]] = x_host[[start + r, feature]];
                }
            }
            std::hint::black_box(plan.forward_all(&mut workspace));
        });
    };

    println!(
        "One MADE pass {d} → {h} → {h} → {} (ReLU), batch {n}, f32, on {}; median ms per call:\n",
        2 * d,
        nflow_core::cpu_model()
    );
    println!("| pass | 1 thread | 2 threads | 1 → 2 threads |");
    println!("|---|---|---|---|");
    let mut rows: Vec<(String, [f64; 2])> = Vec::new();
    let mut measure = |name: &str, f: &(dyn Fn() + Sync)| {
        let figures = [1, 2].map(|threads| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("a rayon pool");
            pool.install(|| nflow_bench::median_ms(args.target_s, f))
        });
        rows.push((name.to_string(), figures));
    };
    measure("burn, dense forward", &|| {
        let _ = made.forward_dense(x.clone(), None).into_data();
    });
    measure("burn, dense forward + backward", &|| {
        let grads = made_ad.forward_dense(x_ad.clone(), None).sum().backward();
        std::hint::black_box(grads);
    });
    measure(
        "nflow, block-triangular layers forward (`Made::forward`)",
        &|| {
            let _ = made.forward(x.clone(), None).into_data();
        },
    );
    measure(
        "nflow, block-triangular layers forward + backward (`Made::forward`)",
        &|| {
            let grads = made_ad.forward(x_ad.clone(), None).sum().backward();
            std::hint::black_box(grads);
        },
    );
    measure(
        "nflow, block-triangular forward (plan included)",
        &block_forward,
    );
    measure("nflow, block plan only (read back, sort, pack)", &|| {
        std::hint::black_box(DegreeSortedMade::<f32>::new(&made));
    });
    let python = args.peer_python.clone().or_else(|| {
        let home = std::env::var_os("HOME")?;
        let p = PathBuf::from(home).join(".cache/nflow-peer-venv/bin/python");
        p.exists().then_some(p)
    });
    if let Some(python) = python {
        let out = std::process::Command::new(python)
            .args(["-c", TORCH_SCRIPT])
            .args([d, h, n].map(|v| v.to_string()))
            .arg(args.target_s.to_string())
            .output()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let lines: Vec<Vec<f64>> = text
            .lines()
            .map(|l| {
                l.split_whitespace()
                    .filter_map(|v| v.parse().ok())
                    .collect()
            })
            .filter(|v: &Vec<f64>| v.len() == 3)
            .collect();
        if lines.len() == 2 {
            rows.push(("torch, dense forward".into(), [lines[0][1], lines[1][1]]));
            rows.push((
                "torch, dense forward + backward".into(),
                [lines[0][2], lines[1][2]],
            ));
        } else {
            eprintln!("torch run failed: {}", String::from_utf8_lossy(&out.stderr));
        }
    }
    for (name, [one, two]) in rows {
        println!("| {name} | {one:.3} | {two:.3} | {:.2}× |", one / two);
    }
    Ok(())
}
