//! `nflow sample`: draw samples from a model, optionally given context rows.

use std::path::PathBuf;

use clap::Args;
use nflow::burn::tensor::TensorData;
use nflow::prelude::*;

use crate::error::{CliError, CliResult};
use crate::output::{check_out_free, write_table};
use crate::table::read_table;
use crate::{model_dir, nflow_ok};

/// Rows drawn per call into the flow, to bound memory on large requests.
const CHUNK_ROWS: usize = 16_384;

/// `nflow sample` options.
#[derive(Debug, Args)]
pub struct SampleArgs {
    /// The model directory (from nflow train).
    #[arg(long, value_name = "DIR")]
    model: PathBuf,
    /// Samples to draw (per context row, with --context).
    #[arg(short = 'n', long = "num-samples", value_name = "N")]
    n: usize,
    /// Context rows (only the model's context columns) for a conditional model: -n samples are
    /// drawn for each row.
    #[arg(long, value_name = "FILE")]
    context: Option<PathBuf>,
    /// Seed of the draw.
    #[arg(long, default_value_t = 0, value_name = "S")]
    seed: u64,
    /// Add a log_prob column: each sample's log-density.
    #[arg(long)]
    with_log_prob: bool,
    /// Where to write the samples (CSV, or .npy by extension), laid out as the training file.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Replace --out if it exists.
    #[arg(long)]
    force: bool,
}

/// Runs `nflow sample`.
pub fn run(args: SampleArgs) -> CliResult<()> {
    check_out_free(&args.out, args.force)?;
    if args.n == 0 {
        return Err(CliError::bad("-n must be at least 1"));
    }
    let device = default_device();
    let model = model_dir::load(&args.model, &device)?;
    let columns = &model.columns;
    let (d, c) = (model.flow.features(), model.flow.context_features());
    // One context row per sample, row-major (empty for an unconditional model).
    let contexts: Vec<f32> = match (&args.context, c) {
        (None, 0) => Vec::new(),
        (Some(path), 0) => {
            return Err(CliError::bad(format!(
                "--context {}: the model is unconditional (it takes no context)",
                path.display()
            )));
        }
        (None, _) => {
            return Err(CliError::bad(format!(
                "the model is conditional on {c} context columns ({}): give them with --context",
                columns.context_names().join(", ")
            )));
        }
        (Some(path), _) => {
            let table = read_table(path)?;
            columns.check_context(&table, path)?;
            let mut repeated = Vec::with_capacity(table.rows() * args.n * c);
            for i in 0..table.rows() {
                for _ in 0..args.n {
                    repeated.extend_from_slice(table.row(i));
                }
            }
            repeated
        }
    };
    let total = contexts.len().checked_div(c).unwrap_or(args.n);
    let width = columns.names.len() + usize::from(args.with_log_prob);
    let mut rng = StdRng::seed_from_u64(args.seed);
    let mut out = Vec::with_capacity(total * width);
    let data_positions = columns.data();
    for start in (0..total).step_by(CHUNK_ROWS) {
        let rows = CHUNK_ROWS.min(total - start);
        let context = (c > 0).then(|| {
            Tensor::<2>::from_data(
                TensorData::new(contexts[start * c..(start + rows) * c].to_vec(), [rows, c]),
                &device,
            )
        });
        let (x, log_p) = if args.with_log_prob {
            let (x, lp) = nflow_ok(
                model
                    .flow
                    .sample_and_log_prob(rows, context.as_ref(), &mut rng),
                "sampling",
            )?;
            (x, Some(lp))
        } else {
            let x = nflow_ok(
                model.flow.sample(rows, context.as_ref(), &mut rng),
                "sampling",
            )?;
            (x, None)
        };
        let x: Vec<f32> = x.to_data().iter::<f32>().collect();
        let log_p: Option<Vec<f32>> = log_p.map(|lp| lp.to_data().iter::<f32>().collect());
        for i in 0..rows {
            let mut row = vec![0.0f32; columns.names.len()];
            for (k, &j) in data_positions.iter().enumerate() {
                row[j] = x[i * d + k];
            }
            for (k, &j) in columns.context.iter().enumerate() {
                row[j] = contexts[(start + i) * c + k];
            }
            out.extend_from_slice(&row);
            if let Some(lp) = &log_p {
                out.push(lp[i]);
            }
        }
    }
    if out.iter().any(|v| !v.is_finite()) {
        return Err(CliError::Failed(
            "the model produced non-finite samples; nothing was written".into(),
        ));
    }
    let mut names = columns.names.clone();
    if args.with_log_prob {
        names.push("log_prob".into());
    }
    write_table(&args.out, &names, &out)?;
    eprintln!(
        "wrote {total} samples ({} columns) to {}",
        names.len(),
        args.out.display()
    );
    Ok(())
}
