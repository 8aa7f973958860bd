//! `nflow`: train, evaluate and sample normalizing flows on your own data, from the shell.
//!
//! ```text
//! nflow train  --data train.csv --out model            # standardised MAF, 10% held out
//! nflow eval   --model model --data test.csv           # mean log-likelihood ± 2 s.e.
//! nflow sample --model model -n 1000 --out samples.csv
//! nflow info   --model model
//! ```
//!
//! Exit codes: 0 success; 2 bad input (one line on stderr naming the file, line and column, and
//! nothing written); 1 a run that started and failed (training diverged, a disk error).

mod checks;
mod columns;
mod error;
mod eval;
mod info;
mod model_dir;
mod output;
mod sample;
mod table;
mod train;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::error::{CliError, EXIT_BAD_INPUT};

/// Normalizing flows (masked autoregressive: MAF, IAF; affine or spline) on your own data.
///
/// Files are CSV (a header of names is detected and kept) or NumPy .npy (by extension).
/// Exit codes: 0 success, 2 bad input (nothing written), 1 a run that failed.
#[derive(Debug, Parser)]
#[command(name = "nflow", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Fit a flow to the rows of a file (standardised inside the model) and save it.
    Train(train::TrainArgs),
    /// Mean log-likelihood per row of a file under a model (± 2 standard errors).
    Eval(eval::EvalArgs),
    /// Draw samples from a model (conditionally, given context rows).
    Sample(sample::SampleArgs),
    /// Describe a saved model: kind, transformer, sizes, parameters, training summary.
    Info(info::InfoArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let result = match cli.command {
        Command::Train(args) => train::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Sample(args) => sample::run(args),
        Command::Info(args) => info::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", one_line(&e.to_string()));
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

/// clap's message for a bad command line, on one line (help and version print as usual).
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            return ExitCode::from(EXIT_BAD_INPUT as u8);
        }
        _ => {}
    }
    let text = e.render().to_string();
    let line = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("For more information") && *l != "Usage:")
        .filter(|l| !l.starts_with("Usage: "))
        .map(|l| l.trim_start_matches("error: ").to_string())
        .collect::<Vec<_>>()
        .join("; ");
    eprintln!("error: {line} (see nflow --help)");
    ExitCode::from(EXIT_BAD_INPUT as u8)
}

/// A message on one line.
fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Fails with a bad-input error unless `result` is `Ok` (an nflow error while doing `what`).
fn nflow_ok<T>(result: nflow::Result<T>, what: &str) -> Result<T, CliError> {
    result.map_err(|e| CliError::model(what, e))
}
