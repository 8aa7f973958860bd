//! `nflow eval`: the mean log-likelihood per row of a file under a model.

use std::path::PathBuf;

use clap::Args;
use nflow::prelude::*;
use nflow::train::{log_densities, mean_and_two_standard_errors};

use crate::error::CliResult;
use crate::output::{check_out_free, write_table};
use crate::table::read_table;
use crate::{model_dir, nflow_ok};

/// `nflow eval` options.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The model directory (from nflow train).
    #[arg(long, value_name = "DIR")]
    model: PathBuf,
    /// Rows to score, laid out as the training file (context columns included).
    #[arg(long, value_name = "FILE")]
    data: PathBuf,
    /// Also write each row's log-likelihood (a log_prob column; CSV, or .npy by extension).
    #[arg(long, value_name = "FILE")]
    per_row: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Replace --per-row if it exists.
    #[arg(long)]
    force: bool,
}

/// Runs `nflow eval`.
pub fn run(args: EvalArgs) -> CliResult<()> {
    if let Some(path) = &args.per_row {
        check_out_free(path, args.force)?;
    }
    let device = default_device();
    let model = model_dir::load(&args.model, &device)?;
    let table = read_table(&args.data)?;
    model.columns.check(&table, &args.data)?;
    let data = model.columns.dataset(table, &args.data)?;
    let log_p = nflow_ok(
        log_densities(&model.flow, &data, &device),
        &args.data.display().to_string(),
    )?;
    let (mean, two_se) = mean_and_two_standard_errors(&log_p);
    if let Some(path) = &args.per_row {
        let values: Vec<f32> = log_p.iter().map(|&v| v as f32).collect();
        write_table(path, &["log_prob".to_string()], &values)?;
    }
    if args.json {
        let report = serde_json::json!({
            "model": args.model.display().to_string(),
            "data": args.data.display().to_string(),
            "rows": log_p.len(),
            "mean_log_likelihood": mean,
            "two_standard_errors": two_se,
            "mean_nll": -mean,
            "units": "nats per row, in the data's own units",
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("serialises")
        );
    } else {
        println!(
            "mean log-likelihood {mean:.4} ± {two_se:.4} nats per row (± 2 standard errors, {} \
             rows of {})",
            log_p.len(),
            args.data.display()
        );
    }
    Ok(())
}
