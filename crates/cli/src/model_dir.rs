//! Loading a model directory written by `nflow train` (or by `AutoregressiveFlow::save`): the flow,
//! its column layout and its training report.

use std::path::Path;

use nflow::core::Distribution;
use nflow::core::persist::load_model;
use nflow::flows::{AutoregressiveFlow, AutoregressiveFlowConfig};
use nflow::prelude::Device;

use crate::columns::Columns;
use crate::error::{CliError, CliResult};

/// The file name of the training report inside a model directory.
pub const TRAIN_REPORT_FILE: &str = "train_report.json";
/// The file name of the per-evaluation metrics inside a model directory.
pub const METRICS_FILE: &str = "metrics.jsonl";

/// A loaded model directory.
#[derive(Debug)]
pub struct ModelDir {
    /// The flow's config.
    pub config: AutoregressiveFlowConfig,
    /// The flow.
    pub flow: AutoregressiveFlow,
    /// Its file layout (`columns.json`, or data columns then context columns).
    pub columns: Columns,
    /// `train_report.json`, when the directory has one.
    pub report: Option<serde_json::Value>,
}

/// Loads the model directory `dir` onto `device`.
///
/// # Errors
/// [`CliError::BadInput`] for a missing directory; [`CliError::Model`] for one that does not load
/// (missing files, a checksum that does not match, a malformed config); [`CliError::BadInput`] for
/// a malformed `columns.json` or `train_report.json`.
pub fn load(dir: &Path, device: &Device) -> CliResult<ModelDir> {
    if !dir.is_dir() {
        return Err(CliError::bad(format!(
            "{}: no such model directory",
            dir.display()
        )));
    }
    let (config, flow) = load_model::<AutoregressiveFlowConfig>(dir, device)
        .map_err(|e| CliError::model(format!("{}: cannot load the model", dir.display()), e))?;
    let (d, c) = (flow.features(), flow.context_features());
    let columns = Columns::read(dir, d, c)?.unwrap_or_else(|| Columns::default_for(d, c));
    let report_path = dir.join(TRAIN_REPORT_FILE);
    let report = match std::fs::read_to_string(&report_path) {
        Ok(text) => Some(
            serde_json::from_str(&text)
                .map_err(|e| CliError::bad(format!("{}: malformed: {e}", report_path.display())))?,
        ),
        Err(_) => None,
    };
    Ok(ModelDir {
        config,
        flow,
        columns,
        report,
    })
}
