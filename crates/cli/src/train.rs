//! `nflow train`: fit a flow to a file's rows and save it as a model directory.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use nflow::core::persist::{ModelConfig, save_model_with_files};
use nflow::flows::{
    AffineTransformer, AutoregressiveFlowConfig, Orientation, SplineTransformer, TransformerSpec,
};
use nflow::prelude::*;
use nflow::train::{Dataset, TrainReport, Trainer, TrainerConfig};

use crate::checks::data_warnings;
use crate::columns::{COLUMNS_FILE, Columns};
use crate::error::{CliError, CliResult};
use crate::model_dir::{METRICS_FILE, TRAIN_REPORT_FILE};
use crate::output::check_out_free;
use crate::table::read_table;
use crate::{nflow_ok, one_line};

/// The flow's orientation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FlowKind {
    /// Masked autoregressive flow: density in one pass per layer, sampling in D.
    Maf,
    /// Inverse autoregressive flow: sampling in one pass per layer, density of data in D.
    Iaf,
}

/// The elementwise transformer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TransformerChoice {
    /// Shift and bounded log-scale.
    Affine,
    /// Monotone rational-quadratic spline on [-bound, bound] (a neural spline flow).
    Spline,
}

/// `nflow train` options.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Training rows: CSV (header detected) or .npy.
    #[arg(long, value_name = "FILE")]
    data: PathBuf,
    /// Validation rows, laid out as --data. Without it, --val-fraction of --data is held out.
    #[arg(long, value_name = "FILE")]
    val: Option<PathBuf>,
    /// Fraction of --data held out (seeded by --seed) for validation when --val is absent.
    #[arg(long, default_value_t = 0.1, value_name = "F")]
    val_fraction: f64,
    /// Context columns (0-based positions, comma-separated): the model fits p(x | c).
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "LIST",
        conflicts_with = "context_prefix"
    )]
    context_columns: Option<Vec<usize>>,
    /// Context columns by header-name prefix (e.g. c_).
    #[arg(long, value_name = "PREFIX")]
    context_prefix: Option<String>,
    /// Orientation [default: maf, or the --config's].
    #[arg(long, value_enum)]
    flow: Option<FlowKind>,
    /// Elementwise transformer [default: affine, or the --config's].
    #[arg(long, value_enum)]
    transformer: Option<TransformerChoice>,
    /// Spline bins K (with --transformer spline) [default: 8].
    #[arg(long, value_name = "K")]
    bins: Option<usize>,
    /// The spline acts on [-B, B] of the standardised data, the identity outside (with
    /// --transformer spline) [default: 5].
    #[arg(long, value_name = "B")]
    bound: Option<f64>,
    /// Autoregressive layers [default: 5, or the --config's].
    #[arg(long, value_name = "N")]
    layers: Option<usize>,
    /// Hidden widths of each layer's MADE, comma-separated [default: 64,64, or the --config's].
    #[arg(long, value_delimiter = ',', value_name = "H,H")]
    hidden: Option<Vec<usize>>,
    /// A flow config (JSON, as in a model's flow.json) to start from; the flags above override it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Do not standardise the data inside the model (by default each data column is centred and
    /// scaled by its training mean and standard deviation, and the model reports densities in
    /// the data's own units).
    #[arg(long)]
    no_standardize: bool,
    /// Upper limit on optimiser steps (early stopping may end sooner).
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    steps: usize,
    /// Peak learning rate (Adam, cosine schedule).
    #[arg(long, default_value_t = 1e-3, value_name = "X")]
    lr: f64,
    /// Rows per minibatch.
    #[arg(long, default_value_t = 512, value_name = "N")]
    batch_size: usize,
    /// Evaluate on the validation rows every N steps.
    #[arg(long, default_value_t = 250, value_name = "N")]
    eval_every: usize,
    /// Stop after this many evaluations without improvement.
    #[arg(long, default_value_t = 12, value_name = "N")]
    patience: usize,
    /// Seed of the weights, the validation hold-out and the minibatch order.
    #[arg(long, default_value_t = 0, value_name = "S")]
    seed: u64,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// The model directory to write (flow.json, flow.bpk, columns.json, train_report.json,
    /// metrics.jsonl), atomically.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Replace --out if it exists (only a model directory is ever replaced).
    #[arg(long)]
    force: bool,
}

/// Runs `nflow train`.
pub fn run(args: TrainArgs) -> CliResult<()> {
    check_out_free(&args.out, args.force)?;
    if (args.bins.is_some() || args.bound.is_some())
        && args.transformer != Some(TransformerChoice::Spline)
    {
        return Err(CliError::bad(
            "--bins and --bound set the spline: add --transformer spline",
        ));
    }
    let device = default_device();
    let table = read_table(&args.data)?;
    let columns = Columns::choose(
        &table,
        &args.data,
        args.context_columns.as_deref(),
        args.context_prefix.as_deref(),
    )?;
    let data_file = args.data.display().to_string();
    let data_columns: Vec<(usize, String)> = columns
        .data()
        .into_iter()
        .zip(columns.data_names())
        .collect();
    let warnings = data_warnings(&data_file, &table.values, table.cols(), &data_columns);
    for w in &warnings {
        eprintln!("warning: {}", one_line(w));
    }
    let all = columns.dataset(table, &args.data)?;
    let (train, validation, validation_source) = match &args.val {
        Some(path) => {
            let val_table = read_table(path)?;
            columns.check(&val_table, path)?;
            let val = columns.dataset(val_table, path)?;
            (all, val, path.display().to_string())
        }
        None => {
            let (train, val) = all
                .holdout(args.val_fraction, args.seed)
                .map_err(|e| CliError::model(format!("{data_file}: --val-fraction"), e))?;
            let source = format!(
                "{} of {data_file} held out (seed {})",
                args.val_fraction, args.seed
            );
            (train, val, source)
        }
    };

    let config = flow_config(&args, &train)?;
    let flow = nflow_ok(config.init(&device), "building the flow")?;
    let parameters = flow.num_params();
    let trainer = nflow_ok(
        Trainer::new(
            TrainerConfig::new()
                .with_max_steps(args.steps)
                .with_learning_rate(args.lr)
                .with_batch_size(args.batch_size)
                .with_eval_every(args.eval_every)
                .with_patience(args.patience)
                .with_seed(args.seed)
                .with_progress(!args.quiet && std::io::stderr().is_terminal()),
        ),
        "trainer settings",
    )?;
    eprintln!(
        "training a {} ({}, {} layers, MADE {:?}, {parameters} parameters) on {} rows x {} \
         columns{}, validating on {} rows",
        config.orientation.name().to_uppercase(),
        config.transformer.kind(),
        config.layers,
        config.hidden_sizes,
        train.rows(),
        train.cols(),
        if train.context_cols() > 0 {
            format!(" given {} context columns", train.context_cols())
        } else {
            String::new()
        },
        validation.rows(),
    );
    let summary = Summary {
        args: &args,
        columns: &columns,
        warnings: &warnings,
        train_rows: train.rows(),
        validation_rows: validation.rows(),
        validation_source,
        parameters,
        trainer: trainer.config(),
    };
    match trainer.fit(flow, &train, &validation, &device) {
        Ok((flow, report)) => {
            save(&args.out, &config, &flow, &summary, &report, None)?;
            println!(
                "best validation NLL {:.4} nats per row at step {} of {}{} ({:.1} s, {:.0} rows/s); \
                 model saved to {}",
                report.best_validation_nll,
                report.best_step,
                report.steps,
                if report.stopped_early {
                    " (early stop)"
                } else {
                    ""
                },
                report.seconds,
                report.rows_per_second,
                args.out.display()
            );
            Ok(())
        }
        Err(failure) => match failure.best {
            Some(best) => {
                let (flow, report) = *best;
                let why = failure.error.to_string();
                save(&args.out, &config, &flow, &summary, &report, Some(&why))?;
                Err(CliError::Failed(format!(
                    "{why}; the best model so far (step {}, validation NLL {:.4}) was saved to {}",
                    report.best_step,
                    report.best_validation_nll,
                    args.out.display()
                )))
            }
            None => Err(CliError::model("training", failure.error)),
        },
    }
}

/// The flow config: `--config` (or the defaults), the flags over it, the data's sizes and the
/// standardiser fitted on the training rows.
fn flow_config(args: &TrainArgs, train: &Dataset) -> CliResult<AutoregressiveFlowConfig> {
    let (d, c) = (train.cols(), train.context_cols());
    let mut config = match &args.config {
        Some(path) => read_config(path, d, c)?,
        None => AutoregressiveFlowConfig::new(d),
    };
    config.features = d;
    config.context_features = c;
    if let Some(flow) = args.flow {
        config.orientation = match flow {
            FlowKind::Maf => Orientation::Maf,
            FlowKind::Iaf => Orientation::Iaf,
        };
    }
    match args.transformer {
        Some(TransformerChoice::Affine) => {
            config.transformer = TransformerSpec::new(AffineTransformer::default());
        }
        Some(TransformerChoice::Spline) => {
            let defaults = SplineTransformer::default();
            config.transformer = TransformerSpec::new(SplineTransformer::new(
                args.bins.unwrap_or(defaults.bins),
                args.bound.unwrap_or(defaults.bound),
            ));
        }
        None => {}
    }
    if let Some(layers) = args.layers {
        config.layers = layers;
    }
    if let Some(hidden) = &args.hidden {
        config.hidden_sizes = hidden.clone();
    }
    config.seed = args.seed;
    config.standardizer = (!args.no_standardize).then(|| train.fit_standardizer());
    Ok(config)
}

/// Reads a flow config: a bare config, or a model's `flow.json` (`{"format_version", "config"}`).
/// Its `features` and `context_features`, when present, must match the data.
fn read_config(path: &Path, d: usize, c: usize) -> CliResult<AutoregressiveFlowConfig> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::bad(format!("--config {shown}: cannot read: {e}")))?;
    let mut value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| CliError::bad(format!("--config {shown}: not valid JSON: {e}")))?;
    if let Some(inner) = value
        .get("config")
        .filter(|_| value.get("format_version").is_some())
    {
        value = inner.clone();
    }
    let serde_json::Value::Object(map) = &mut value else {
        return Err(CliError::bad(format!(
            "--config {shown}: expected a JSON object"
        )));
    };
    for (key, want) in [("features", d), ("context_features", c)] {
        match map.get(key).map(serde_json::Value::as_u64) {
            None => {
                map.insert(key.into(), want.into());
            }
            Some(Some(found)) if found as usize == want => {}
            Some(found) => {
                return Err(CliError::bad(format!(
                    "--config {shown}: {key} is {}, but the data have {want}",
                    found.map_or("not a whole number".to_string(), |f| f.to_string())
                )));
            }
        }
    }
    // Settings the file leaves out take their defaults.
    let serde_json::Value::Object(mut merged) =
        serde_json::to_value(AutoregressiveFlowConfig::new(d)).expect("configs serialise")
    else {
        unreachable!("a config serialises as an object")
    };
    merged.extend(map.clone());
    AutoregressiveFlowConfig::from_saved_json(serde_json::Value::Object(merged)).map_err(
        |e| match e {
            nflow::Error::Load { reason, .. } => {
                CliError::bad(format!("--config {shown}: {reason}"))
            }
            other => CliError::model(format!("--config {shown}"), other),
        },
    )
}

/// What the training report records besides the trainer's own report.
struct Summary<'a> {
    args: &'a TrainArgs,
    columns: &'a Columns,
    warnings: &'a [String],
    train_rows: usize,
    validation_rows: usize,
    validation_source: String,
    parameters: usize,
    trainer: &'a TrainerConfig,
}

/// Writes the model directory: the model (format v1), its column layout, the training report and
/// the metrics, in one atomic step.
fn save(
    out: &Path,
    config: &AutoregressiveFlowConfig,
    flow: &nflow::flows::AutoregressiveFlow,
    summary: &Summary,
    report: &TrainReport,
    failure: Option<&str>,
) -> CliResult<()> {
    let args = summary.args;
    let train_report = serde_json::json!({
        "nflow_version": env!("CARGO_PKG_VERSION"),
        "command": std::env::args().collect::<Vec<_>>(),
        "data": {
            "train": args.data.display().to_string(),
            "train_rows": summary.train_rows,
            "validation": summary.validation_source,
            "validation_rows": summary.validation_rows,
            "data_columns": summary.columns.data_names(),
            "context_columns": summary.columns.context_names(),
            "standardized": config.standardizer.is_some(),
        },
        "warnings": summary.warnings,
        "flow": {
            "orientation": config.orientation.name().to_uppercase(),
            "transformer": config.transformer,
            "layers": config.layers,
            "hidden_sizes": config.hidden_sizes,
            "parameters": summary.parameters,
        },
        "trainer": summary.trainer,
        "result": {
            "outcome": failure.unwrap_or("finished"),
            "steps": report.steps,
            "best_step": report.best_step,
            "best_validation_nll": report.best_validation_nll,
            "stopped_early": report.stopped_early,
            "seconds": report.seconds,
            "rows_per_second": report.rows_per_second,
        },
        "machine": machine(),
    });
    let report_json = serde_json::to_string_pretty(&train_report).expect("reports serialise");
    let metrics: String = report
        .history
        .iter()
        .map(|r| serde_json::to_string(r).expect("records serialise") + "\n")
        .collect();
    let columns = summary.columns.to_json();
    save_model_with_files(
        out,
        config,
        flow,
        &[
            (COLUMNS_FILE, columns.as_bytes()),
            (TRAIN_REPORT_FILE, report_json.as_bytes()),
            (METRICS_FILE, metrics.as_bytes()),
        ],
    )
    .map_err(|e| CliError::Failed(format!("cannot save the model: {e}")))
}

/// The CPU model and thread count, for the report.
fn machine() -> serde_json::Value {
    let cpu = nflow::core::cpu_model();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    serde_json::json!({ "cpu": cpu, "threads": threads })
}
