//! Train a conditional MAF `p(x | c)` on the moons rotated by an angle that the context sets,
//! `θ = c · 90°` with `c ~ U(−1, 1)`; draw the learned density at `c = −1` and `c = +1`; save,
//! reload and re-score the test set exactly.
//!
//! `cargo run --release -p conditional_density`

// The density / data / samples panels of the main example, shared rather than copied.
#[path = "../../maf_density/src/font.rs"]
mod font;
#[path = "../../maf_density/src/plot.rs"]
mod plot;

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use nflow::prelude::*;
use nflow::train::{log_densities, mean_and_two_standard_errors};

#[derive(Parser, Debug)]
#[command(
    about = "Train a conditional MAF p(x | c) on moons rotated by c·90°, draw its density at \
             c = −1 and c = +1, save, reload and re-score exactly."
)]
struct Args {
    /// Maximum optimiser steps.
    #[arg(long, default_value_t = 6000)]
    steps: usize,
    /// Autoregressive layers.
    #[arg(long, default_value_t = 5)]
    layers: usize,
    /// MADE hidden widths, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "64,64")]
    hidden: Vec<usize>,
    /// Training points (validation and test: a fifth each).
    #[arg(long, default_value_t = 50_000)]
    train_size: usize,
    /// Seed of the data, the model and the minibatch order.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output directory.
    #[arg(long, default_value = "out/conditional_density")]
    out_dir: PathBuf,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

/// `n` moons points, each rotated by its own context `c ~ U(−1, 1)` (angle `c · π / 2`).
fn rotated_moons(n: usize, seed: u64) -> nflow::Result<Dataset> {
    let moons = ToyDataset::Moons.sample(n, seed)?;
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
    let mut rows = Vec::with_capacity(n);
    let mut contexts = Vec::with_capacity(n);
    for i in 0..n {
        let c: f64 = nflow::rand::RngExt::random_range(&mut rng, -1.0..1.0);
        let [x, y] = [moons.row(i)[0] as f64, moons.row(i)[1] as f64];
        let (sin, cos) = (c * std::f64::consts::FRAC_PI_2).sin_cos();
        rows.push([cos * x - sin * y, sin * x + cos * y]);
        contexts.push([c]);
    }
    Dataset::from_rows(&rows)?.with_context_rows(&contexts)
}

#[derive(serde::Serialize)]
struct Report {
    flow_config: AutoregressiveFlowConfig,
    test_nll: f64,
    test_nll_two_se: f64,
    steps: usize,
    best_step: usize,
    training_seconds: f64,
    reloaded_test_nll: f64,
    reload_reproduces_test_nll: bool,
    mean_log_density_at_context: Vec<(f64, f64, f64)>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let start = Instant::now();
    let device = default_device();
    std::fs::create_dir_all(&args.out_dir)?;
    let train = rotated_moons(args.train_size, args.seed)?;
    let validation = rotated_moons(args.train_size / 5, args.seed + 1)?;
    let test = rotated_moons(args.train_size / 5, args.seed + 2)?;

    let flow = MafConfig::new(2)
        .with_context_features(1)
        .with_layers(args.layers)
        .with_hidden_sizes(args.hidden.clone())
        .with_seed(args.seed)
        .init(&device)?;
    let trainer = Trainer::new(
        TrainerConfig::new()
            .with_max_steps(args.steps)
            .with_seed(args.seed)
            .with_progress(!args.quiet)
            .with_metrics_path(Some(args.out_dir.join("metrics.jsonl"))),
    )?;
    let (flow, training) = trainer.fit(flow, &train, &validation, &device)?;
    let (mean_lp, two_se) = mean_and_two_standard_errors(&log_densities(&flow, &test, &device)?);
    println!(
        "conditional MAF: test NLL {:.4} ± {two_se:.4} nats after {} steps (best {}), {:.1} s",
        -mean_lp, training.steps, training.best_step, training.seconds
    );

    // The density at two contexts, drawn beside the data near that context and samples given it.
    let (lo, hi, grid) = (-3.5, 3.5, 200);
    let lattice: Vec<[f64; 2]> = (0..grid * grid)
        .map(|k| {
            let (i, j) = (k / grid, k % grid);
            let at = |t: usize| lo + (hi - lo) * (t as f64 + 0.5) / grid as f64;
            [at(i), at(j)]
        })
        .collect();
    let mut at_context = Vec::new();
    for c in [-1.0, 1.0] {
        let points = Dataset::from_rows(&lattice)?.with_context_rows(&vec![[c]; lattice.len()])?;
        let density: Vec<f64> = log_densities(&flow, &points, &device)?
            .iter()
            .map(|v| v.exp())
            .collect();
        let mass = density.iter().sum::<f64>() * ((hi - lo) / grid as f64).powi(2);
        let context = Tensor::<2>::full([5000, 1], c, &device);
        let samples: Vec<[f64; 2]> = flow
            .sample(5000, Some(&context), &mut StdRng::seed_from_u64(args.seed))?
            .to_data()
            .iter::<f64>()
            .collect::<Vec<_>>()
            .chunks(2)
            .map(|p| [p[0], p[1]])
            .collect();
        let near: Vec<[f64; 2]> = (0..train.rows())
            .filter(|&i| (train.context_values()[i] as f64 - c).abs() < 0.05)
            .map(|i| [train.row(i)[0] as f64, train.row(i)[1] as f64])
            .collect();
        let near_lp = {
            let data = Dataset::from_rows(&near)?.with_context_rows(&vec![[c]; near.len()])?;
            mean_and_two_standard_errors(&log_densities(&flow, &data, &device)?).0
        };
        println!(
            "c = {c:+}: density mass on the grid {mass:.4}; mean log-density of the {} training \
             points with |c_i − c| < 0.05: {near_lp:.3}",
            near.len()
        );
        at_context.push((c, mass, near_lp));
        let name = if c < 0.0 {
            "density_c-1.png"
        } else {
            "density_c+1.png"
        };
        plot::draw(
            &args.out_dir.join(name),
            &plot::Panels {
                bounds: (lo, hi, lo, hi),
                density: &density,
                grid,
                data: &near,
                samples: &samples,
                title: &format!("conditional MAF, c = {c:+}"),
            },
        )?;
    }

    // Save, reload, re-score.
    let model_dir = args.out_dir.join("model");
    flow.save(&model_dir)?;
    let reloaded = AutoregressiveFlow::load(&model_dir, &device)?;
    let reloaded_nll = -mean_and_two_standard_errors(&log_densities(&reloaded, &test, &device)?).0;
    let reproduces = reloaded_nll == -mean_lp;
    println!(
        "saved to {}; reloaded test NLL {reloaded_nll:.6}: {}",
        model_dir.display(),
        if reproduces {
            "reproduced exactly"
        } else {
            "MISMATCH"
        }
    );
    let report = Report {
        flow_config: flow.config().clone(),
        test_nll: -mean_lp,
        test_nll_two_se: two_se,
        steps: training.steps,
        best_step: training.best_step,
        training_seconds: training.seconds,
        reloaded_test_nll: reloaded_nll,
        reload_reproduces_test_nll: reproduces,
        mean_log_density_at_context: at_context,
    };
    std::fs::write(
        args.out_dir.join("report.json"),
        serde_json::to_string_pretty(&report)?,
    )?;
    println!(
        "wrote {}/{{density_c-1.png, density_c+1.png, report.json, metrics.jsonl, model/}} ({:.0} s in all)",
        args.out_dir.display(),
        start.elapsed().as_secs_f64()
    );
    if !reproduces {
        return Err("the reloaded model does not reproduce the test NLL".into());
    }
    Ok(())
}
