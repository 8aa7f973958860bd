//! Train a MAF (or, with `--iaf`, an IAF) on a 2-D toy density; print the test NLL beside the
//! exact reference; write `density.png`, `report.json` and the saved model; reload the model and
//! check that it reproduces the test NLL.
//!
//! `cargo run --release -p maf_density -- --dataset moons`

mod font;
mod model;
mod plot;

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use nflow::flows::{AffineTransformer, MafConfig, MafMogConfig, Orientation, SplineTransformer};
use nflow::prelude::Distribution;
use nflow::rand::SeedableRng;
use nflow::train::{
    Dataset, LrSchedule, Reference, ToyDataset, TrainReport, Trainer, TrainerConfig, log_densities,
    mean_and_two_standard_errors,
};
use serde::Serialize;

use crate::model::Model;

#[derive(Parser, Debug)]
#[command(
    about = "Train a MAF (or IAF) on a 2-D toy density: test NLL beside the exact reference, \
             density.png, report.json, the saved model, and a reload check."
)]
struct Args {
    /// Toy density: 8gaussians, moons, checkerboard, pinwheel, rings, 2spirals.
    #[arg(long, default_value = "moons", value_parser = parse_dataset)]
    dataset: ToyDataset,
    /// Train an inverse autoregressive flow instead (its density takes D sequential steps per layer).
    #[arg(long)]
    iaf: bool,
    /// Autoregressive layers.
    #[arg(long, default_value_t = 5)]
    layers: usize,
    /// MADE hidden widths, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "64,64")]
    hidden: Vec<usize>,
    /// Maximum optimiser steps (the zuko baseline protocol uses 5000).
    #[arg(long, default_value_t = 15_000)]
    steps: usize,
    /// Rows per minibatch.
    #[arg(long, default_value_t = 512)]
    batch_size: usize,
    /// Peak learning rate (Adam) [default: 1e-3 affine, 2e-3 spline; docs/toys.md compares the
    /// two rates for the spline].
    #[arg(long)]
    lr: Option<f64>,
    /// Keep the learning rate constant (default: cosine-annealed to zero over --steps; docs/toys.md
    /// compares the two).
    #[arg(long)]
    constant_lr: bool,
    /// Validation every this many steps.
    #[arg(long, default_value_t = 250)]
    eval_every: usize,
    /// Early stopping after this many evaluations without improvement.
    #[arg(long, default_value_t = 12)]
    patience: usize,
    /// Elementwise transformer of every layer: affine (MAF / IAF) or spline (rational-quadratic,
    /// a neural spline flow).
    #[arg(long, default_value = "affine", value_parser = ["affine", "spline"])]
    transformer: String,
    /// MAF MoG: put the layers on a MADE MoG base with this many components per conditional
    /// (0: a standard Gaussian base).
    #[arg(long, default_value_t = 0)]
    mog: usize,
    /// Soft bound on each layer's log-scale (affine).
    #[arg(long, default_value_t = 3.0)]
    log_scale_bound: f64,
    /// Spline bins K (spline).
    #[arg(long, default_value_t = 8)]
    bins: usize,
    /// The spline acts on [−bound, bound], the identity outside (spline).
    #[arg(long, default_value_t = 5.0)]
    bound: f64,
    /// Scale of the MADEs' initial output weights (small: layers start near the identity).
    #[arg(long, default_value_t = 0.01)]
    init_scale: f64,
    /// Clip each parameter tensor's gradient to this norm (0: no clipping).
    #[arg(long, default_value_t = 50.0)]
    grad_clip: f64,
    /// Training points.
    #[arg(long, default_value_t = 50_000)]
    train_size: usize,
    /// Validation points.
    #[arg(long, default_value_t = 10_000)]
    val_size: usize,
    /// Test points.
    #[arg(long, default_value_t = 50_000)]
    test_size: usize,
    /// Seed of the model's initialisation and of the minibatch order.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Standardise each column (mean 0, std 1, fitted on the training split) inside the model: a
    /// frozen layer at its data end, saved with it, so NLLs stay in data units. Off by default:
    /// the toys are already of unit scale, and standardising slowed learning on checkerboard and
    /// 2spirals (docs/toys.md).
    #[arg(long)]
    standardize: bool,
    /// Output directory (a sub-directory per dataset and flow kind is created).
    #[arg(long, default_value = "out/maf_density")]
    out_dir: PathBuf,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// Compute in f64 instead of f32 (slower; for checking precision effects).
    #[arg(long)]
    f64: bool,
}

fn parse_dataset(name: &str) -> Result<ToyDataset, String> {
    ToyDataset::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = ToyDataset::ALL.iter().map(|t| t.name()).collect();
        format!(
            "unknown dataset {name:?}; choose one of {}",
            names.join(", ")
        )
    })
}

#[derive(Serialize)]
struct Report {
    dataset: &'static str,
    flow: String,
    flow_config: serde_json::Value,
    trainer_config: TrainerConfig,
    standardized: bool,
    train_size: usize,
    validation_size: usize,
    test_size: usize,
    test_nll: f64,
    test_nll_two_se: f64,
    reference_nll: f64,
    reference_two_se: f64,
    reference_kind: nflow::train::ReferenceKind,
    gap: f64,
    gap_two_se: f64,
    training: TrainReport,
    total_seconds: f64,
    reloaded_test_nll: f64,
    reload_reproduces_test_nll: bool,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let start = Instant::now();
    let mut device = nflow::core::default_device();
    if args.f64 {
        device.configure(nflow::burn::tensor::FloatDType::F64)?;
    }
    let toy = args.dataset;
    let kind = format!(
        "{}{}{}",
        if args.iaf { "iaf" } else { "maf" },
        if args.transformer == "spline" {
            "-spline"
        } else {
            ""
        },
        if args.mog > 0 {
            format!("-mog{}", args.mog)
        } else {
            String::new()
        }
    );
    let out = args.out_dir.join(format!("{}-{kind}", toy.name()));
    std::fs::create_dir_all(&out)?;

    // Data: fixed seeds per dataset and split.
    let index = ToyDataset::ALL
        .iter()
        .position(|t| *t == toy)
        .expect("listed") as u64;
    let seed = |split: u64| 1000 * (index + 1) + split;
    let train = toy.sample(args.train_size, seed(0))?;
    let validation = toy.sample(args.val_size, seed(1))?;
    let test = toy.sample(args.test_size, seed(2))?;

    // Model and training.
    let layers = MafConfig::new(2)
        .with_orientation(if args.iaf {
            Orientation::Iaf
        } else {
            Orientation::Maf
        })
        .with_transformer(if args.transformer == "spline" {
            SplineTransformer::new(args.bins, args.bound).into()
        } else {
            AffineTransformer::new(args.log_scale_bound).into()
        })
        .with_layers(args.layers)
        .with_hidden_sizes(args.hidden.clone())
        .with_output_init_scale(args.init_scale)
        .with_standardizer(args.standardize.then(|| train.fit_standardizer()))
        .with_seed(args.seed);
    let flow = if args.mog > 0 {
        Model::Mog(
            MafMogConfig::new(layers)
                .with_components(args.mog)
                .init(&device)?,
        )
    } else {
        Model::Flow(layers.init(&device)?)
    };
    let trainer_config = TrainerConfig::new()
        .with_learning_rate(args.lr.unwrap_or(if args.transformer == "spline" {
            2e-3
        } else {
            1e-3
        }))
        .with_schedule(if args.constant_lr {
            LrSchedule::Constant
        } else {
            LrSchedule::Cosine
        })
        .with_batch_size(args.batch_size)
        .with_max_steps(args.steps)
        .with_eval_every(args.eval_every)
        .with_patience(args.patience)
        .with_gradient_clip_norm((args.grad_clip > 0.0).then_some(args.grad_clip))
        .with_seed(args.seed)
        .with_progress(!args.quiet)
        .with_metrics_path(Some(out.join("metrics.jsonl")));
    println!(
        "training a {} ({} layers, hidden {:?}) on {} ({} train / {} validation / {} test points)",
        kind.to_uppercase(),
        args.layers,
        args.hidden,
        toy.name(),
        args.train_size,
        args.val_size,
        args.test_size
    );
    let trainer = Trainer::new(trainer_config.clone())?;
    let (flow, training) = trainer.fit(flow, &train, &validation, &device)?;

    // Test NLL beside the reference, and the paired gap (≈ KL(p‖q)).
    let model_lp = log_densities(&flow, &test, &device)?;
    let reference_lp = toy.log_densities(&test);
    let reference: Reference = toy.reference_from(&reference_lp);
    let (mean_lp, lp_2se) = mean_and_two_standard_errors(&model_lp);
    let gaps: Vec<f64> = reference_lp
        .iter()
        .zip(&model_lp)
        .map(|(p, q)| p - q)
        .collect();
    let (gap, gap_2se) = mean_and_two_standard_errors(&gaps);
    let test_nll = -mean_lp;
    println!(
        "test NLL {test_nll:.4} ± {lp_2se:.4} nats | reference {:.4} ± {:.4} ({:?}) | gap {gap:.4} ± {gap_2se:.4}",
        -reference.mean_log_density, reference.two_standard_errors, reference.kind
    );
    println!(
        "{} steps (best {}), {:.1} s training, {:.0} rows/s{}",
        training.steps,
        training.best_step,
        training.seconds,
        training.rows_per_second,
        if training.stopped_early {
            ", stopped early"
        } else {
            ""
        }
    );

    // Plot: density on a grid (data units), training data, model samples.
    let grid = 200;
    let (x0, x1, y0, y1) = toy.bounds();
    let lattice: Vec<[f64; 2]> = (0..grid * grid)
        .map(|c| {
            let (i, j) = (c / grid, c % grid);
            [
                x0 + (x1 - x0) * (i as f64 + 0.5) / grid as f64,
                y0 + (y1 - y0) * (j as f64 + 0.5) / grid as f64,
            ]
        })
        .collect();
    let density: Vec<f64> = log_densities(&flow, &Dataset::from_rows(&lattice)?, &device)?
        .iter()
        .map(|v| v.exp())
        .collect();
    let mut rng = nflow::rand::rngs::StdRng::seed_from_u64(args.seed);
    let samples: Vec<[f64; 2]> = flow
        .sample(5000, None, &mut rng)?
        .to_data()
        .iter::<f64>()
        .collect::<Vec<_>>()
        .chunks(2)
        .map(|c| [c[0], c[1]])
        .collect();
    let data_points: Vec<[f64; 2]> = (0..5000.min(train.rows()))
        .map(|i| [train.row(i)[0] as f64, train.row(i)[1] as f64])
        .collect();
    let title = format!("{} on {}", kind.to_uppercase(), toy.name());
    plot::draw(
        &out.join("density.png"),
        &plot::Panels {
            bounds: toy.bounds(),
            density: &density,
            grid,
            data: &data_points,
            samples: &samples,
            title: &title,
        },
    )?;

    // Save, reload, and check the reloaded model reproduces the test NLL.
    // The model carries its standardisation (when --standardize), so the directory is the model.
    let model_dir = out.join("model");
    flow.save(&model_dir)?;
    let reloaded = flow.load_like(&model_dir, &device)?;
    let reloaded_nll = -mean_and_two_standard_errors(&log_densities(&reloaded, &test, &device)?).0;
    let reproduces = reloaded_nll == test_nll;
    println!(
        "saved to {}; reloaded model test NLL {reloaded_nll:.6}: {}",
        model_dir.display(),
        if reproduces {
            "reproduced exactly".to_string()
        } else {
            format!("MISMATCH by {:e}", reloaded_nll - test_nll)
        }
    );

    let report = Report {
        dataset: toy.name(),
        flow: kind,
        flow_config: flow.config_json(),
        trainer_config,
        standardized: args.standardize,
        train_size: args.train_size,
        validation_size: args.val_size,
        test_size: args.test_size,
        test_nll,
        test_nll_two_se: lp_2se,
        reference_nll: -reference.mean_log_density,
        reference_two_se: reference.two_standard_errors,
        reference_kind: reference.kind,
        gap,
        gap_two_se: gap_2se,
        training,
        total_seconds: start.elapsed().as_secs_f64(),
        reloaded_test_nll: reloaded_nll,
        reload_reproduces_test_nll: reproduces,
    };
    nflow::core::persist::write_atomically(
        out.join("report.json"),
        serde_json::to_string_pretty(&report)?.as_bytes(),
    )?;
    println!(
        "wrote {}/density.png, report.json, metrics.jsonl ({:.1} s in all)",
        out.display(),
        report.total_seconds
    );
    if !reproduces {
        return Err("the reloaded model does not reproduce the test NLL".into());
    }
    Ok(())
}
