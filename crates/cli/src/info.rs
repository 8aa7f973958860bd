//! `nflow info`: describe a saved model.

use std::path::PathBuf;

use clap::Args;
use nflow::core::FORMAT_VERSION;
use nflow::prelude::*;

use crate::error::CliResult;
use crate::model_dir;

/// `nflow info` options.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// The model directory.
    #[arg(long, value_name = "DIR")]
    model: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs `nflow info`.
pub fn run(args: InfoArgs) -> CliResult<()> {
    let device = default_device();
    let model = model_dir::load(&args.model, &device)?;
    let config = &model.config;
    let kind = config.orientation.name().to_uppercase();
    let transformer = serde_json::to_value(&config.transformer).expect("serialises");
    let training = model.report.as_ref().map(|r| {
        serde_json::json!({
            "train_rows": r["data"]["train_rows"],
            "validation_rows": r["data"]["validation_rows"],
            "outcome": r["result"]["outcome"],
            "steps": r["result"]["steps"],
            "best_step": r["result"]["best_step"],
            "best_validation_nll": r["result"]["best_validation_nll"],
            "seconds": r["result"]["seconds"],
            "cpu": r["machine"]["cpu"],
        })
    });
    let info = serde_json::json!({
        "model": args.model.display().to_string(),
        "kind": kind,
        "transformer": transformer,
        "features": model.flow.features(),
        "context_features": model.flow.context_features(),
        "layers": config.layers,
        "hidden_sizes": config.hidden_sizes,
        "parameters": model.flow.num_params(),
        "standardized": config.standardizer.is_some(),
        "format_version": FORMAT_VERSION,
        "data_columns": model.columns.data_names(),
        "context_columns": model.columns.context_names(),
        "training": training,
    });
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&info).expect("serialises")
        );
        return Ok(());
    }
    println!("model            {}", args.model.display());
    println!("kind             {kind}");
    println!("transformer      {transformer}");
    println!(
        "features         {} data ({}){}",
        model.flow.features(),
        model.columns.data_names().join(", "),
        if model.flow.context_features() > 0 {
            format!(
                " | {} context ({})",
                model.flow.context_features(),
                model.columns.context_names().join(", ")
            )
        } else {
            String::new()
        }
    );
    println!(
        "layers           {} (MADE hidden {:?})",
        config.layers, config.hidden_sizes
    );
    println!("parameters       {}", model.flow.num_params());
    println!(
        "standardized     {}",
        if config.standardizer.is_some() {
            "yes (inside the model)"
        } else {
            "no"
        }
    );
    println!("format version   {FORMAT_VERSION}");
    match training {
        Some(t) => println!(
            "training         {} rows ({} validation), {} steps, best validation NLL {:.4} at step \
             {}, {:.1} s on {} ({})",
            t["train_rows"],
            t["validation_rows"],
            t["steps"],
            t["best_validation_nll"].as_f64().unwrap_or(f64::NAN),
            t["best_step"],
            t["seconds"].as_f64().unwrap_or(f64::NAN),
            t["cpu"].as_str().unwrap_or("unknown CPU"),
            t["outcome"].as_str().unwrap_or("?"),
        ),
        None => println!("training         (no train_report.json)"),
    }
    Ok(())
}
