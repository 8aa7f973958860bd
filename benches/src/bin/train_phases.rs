//! `cargo run --release -p nflow-bench --bin train_phases`: where a training step's time goes.
//!
//! The benchmark's training step (`report`'s `maf_train_step` / `nsf_train_step`: 256 rows,
//! mean NLL, backward, Adam at lr 1e-3) split into its three phases, each timed on its own:
//! *forward* (log-density and the loss, read back), *backward* (`loss.backward()` and the
//! gradients gathered per parameter) and *optimiser* (one `FusedAdam` step, or burn's `Adam`
//! with `--burn-adam`). Prints the median ms of each over `--steps` steps after five warm-up
//! steps. Like `report`, it re-runs itself under the peers' allocator setting.

use std::time::Instant;

use burn::optim::{AdamConfig, GradientsParams};
use clap::Parser;
use nflow_core::{Distribution, on_workers};
use nflow_train::FusedAdam;
use rand::SeedableRng;

#[derive(Parser, Debug)]
#[command(about = "One training step split into forward, backward and optimiser")]
struct Args {
    /// Features D.
    #[arg(long, default_value_t = 63)]
    features: usize,
    /// Hidden units H (two hidden layers).
    #[arg(long, default_value_t = 256)]
    hidden: usize,
    /// The spline flow (`nsf_train_step`) instead of the affine MAF.
    #[arg(long)]
    spline: bool,
    /// burn's `Adam` instead of `FusedAdam`.
    #[arg(long)]
    burn_adam: bool,
    /// Timed steps.
    #[arg(long, default_value_t = 30)]
    steps: usize,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> std::io::Result<()> {
    nflow_bench::under_peer_allocator()?;
    let args = Args::parse();
    let (d, h) = (args.features, args.hidden);
    let device = nflow_core::default_device().autodiff();
    let mut flow = if args.spline {
        nflow_bench::nsf(d, h, &device)
    } else {
        nflow_bench::maf(d, h, &device)
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let x = nflow_core::standard_normal_tensor(256, d, &mut rng, &device);
    let mut optimizer = if args.burn_adam {
        AdamConfig::new().with_epsilon(1e-8).init()
    } else {
        FusedAdam::new().init(None)
    };
    let (mut forward, mut backward, mut step) = (vec![], vec![], vec![]);
    for i in 0..args.steps + 5 {
        // Each phase on the pool's workers, as `Trainer` runs a whole step (`on_workers`).
        let t0 = Instant::now();
        let loss = on_workers(|| {
            let loss = flow.log_prob_unchecked(x.clone(), None).mean().neg();
            std::hint::black_box(loss.clone().into_scalar::<f64>());
            loss
        });
        let t1 = Instant::now();
        let grads = on_workers(|| GradientsParams::from_grads(loss.backward(), &flow));
        let t2 = Instant::now();
        flow = on_workers(|| {
            let flow = optimizer.step(1e-3, flow, grads);
            // Wait for the update: read one parameter value back.
            std::hint::black_box(
                flow.log_prob_unchecked(x.clone().narrow(0, 0, 1), None)
                    .into_scalar::<f64>(),
            );
            flow
        });
        let t3 = Instant::now();
        if i >= 5 {
            forward.push((t1 - t0).as_secs_f64() * 1e3);
            backward.push((t2 - t1).as_secs_f64() * 1e3);
            step.push((t3 - t2).as_secs_f64() * 1e3);
        }
    }
    println!(
        "{} D={d} H={h} ({}): forward {:.2} ms, backward {:.2} ms, optimiser {:.2} ms",
        if args.spline { "nsf" } else { "maf" },
        if args.burn_adam {
            "burn Adam"
        } else {
            "FusedAdam"
        },
        median(forward),
        median(backward),
        median(step)
    );
    Ok(())
}
