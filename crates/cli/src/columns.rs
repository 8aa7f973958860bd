//! [`Columns`]: which columns of a file are the data `x` and which the context `c`, kept with a
//! trained model (`columns.json`) so that evaluation and sampling read and write files laid out
//! as the training file was.

use std::path::Path;

use serde::{Deserialize, Serialize};

use nflow::train::Dataset;

use crate::error::{CliError, CliResult};
use crate::nflow_ok;
use crate::table::{Table, default_names};

/// The file name of the column layout inside a model directory.
pub const COLUMNS_FILE: &str = "columns.json";

/// The column layout of the files a model reads and writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Columns {
    /// Every column's name, in file order.
    pub names: Vec<String>,
    /// Whether the training file had a header (files are then written with one, and read files'
    /// headers are checked against it).
    pub named_header: bool,
    /// The positions (0-based, ascending) of the context columns; the others are the data.
    pub context: Vec<usize>,
}

impl Columns {
    /// The layout of `table` with context columns chosen by position or by name prefix.
    ///
    /// # Errors
    /// [`CliError::BadInput`] for a position beyond the table, a repeated position, a prefix on
    /// a file without a header, a prefix no column has, or a choice that leaves no data column.
    pub fn choose(
        table: &Table,
        path: &Path,
        positions: Option<&[usize]>,
        prefix: Option<&str>,
    ) -> CliResult<Self> {
        let cols = table.cols();
        let shown = path.display();
        let mut context: Vec<usize> = match (positions, prefix) {
            (Some(positions), _) => {
                for &j in positions {
                    if j >= cols {
                        return Err(CliError::bad(format!(
                            "--context-columns: column {j} does not exist: {shown} has {cols} \
                             columns (0-based: 0..={})",
                            cols - 1
                        )));
                    }
                }
                positions.to_vec()
            }
            (None, Some(prefix)) => {
                if !table.named_header {
                    return Err(CliError::bad(format!(
                        "--context-prefix {prefix:?}: {shown} has no header to match names \
                         against; use --context-columns"
                    )));
                }
                let chosen: Vec<usize> = (0..cols)
                    .filter(|&j| table.names[j].starts_with(prefix))
                    .collect();
                if chosen.is_empty() {
                    return Err(CliError::bad(format!(
                        "--context-prefix {prefix:?}: no column of {shown} starts with it \
                         (columns: {})",
                        table.names.join(", ")
                    )));
                }
                chosen
            }
            (None, None) => Vec::new(),
        };
        let given = context.len();
        context.sort_unstable();
        context.dedup();
        if context.len() != given {
            return Err(CliError::bad(
                "--context-columns: a column is listed twice".to_string(),
            ));
        }
        if context.len() == cols {
            return Err(CliError::bad(format!(
                "every column of {shown} is a context column: at least one data column is needed"
            )));
        }
        Ok(Self {
            names: table.names.clone(),
            named_header: table.named_header,
            context,
        })
    }

    /// The layout of a model saved without one: `features` data columns `x0, …` followed by
    /// `context` context columns `c0, …`.
    pub fn default_for(features: usize, context: usize) -> Self {
        let mut names = default_names("x", features);
        names.extend(default_names("c", context));
        Self {
            names,
            named_header: false,
            context: (features..features + context).collect(),
        }
    }

    /// The positions of the data columns.
    pub fn data(&self) -> Vec<usize> {
        (0..self.names.len())
            .filter(|j| !self.context.contains(j))
            .collect()
    }

    /// Names of the data columns.
    pub fn data_names(&self) -> Vec<String> {
        self.data().iter().map(|&j| self.names[j].clone()).collect()
    }

    /// Names of the context columns.
    pub fn context_names(&self) -> Vec<String> {
        self.context
            .iter()
            .map(|&j| self.names[j].clone())
            .collect()
    }

    /// The rows of `table` (read from `path`) as a dataset: its data columns, and its context
    /// columns when it has any. A table without context columns moves its values into the
    /// dataset (no second copy).
    ///
    /// # Errors
    /// [`CliError::Model`] when nflow refuses the values.
    pub fn dataset(&self, table: Table, path: &Path) -> CliResult<Dataset> {
        let what = path.display().to_string();
        let data = self.data();
        if self.context.is_empty() && data.len() == table.cols() {
            return nflow_ok(Dataset::from_flat(table.values, data.len()), &what);
        }
        let context = table.select(&self.context);
        let values = table.select(&data);
        drop(table);
        nflow_ok(
            Dataset::from_flat(values, data.len())
                .and_then(|d| d.with_context(context, self.context.len())),
            &what,
        )
    }

    /// Checks that `table` (read from `path`) is laid out like this: the same number of columns
    /// and, when both have headers, the same names in the same order.
    ///
    /// # Errors
    /// [`CliError::BadInput`] naming the difference.
    pub fn check(&self, table: &Table, path: &Path) -> CliResult<()> {
        check_layout(
            &self.names,
            self.named_header,
            table,
            path,
            &self.describe(),
        )
    }

    /// Checks a table that holds only the context columns.
    ///
    /// # Errors
    /// As [`Columns::check`].
    pub fn check_context(&self, table: &Table, path: &Path) -> CliResult<()> {
        let names = self.context_names();
        let what = format!("{} context columns ({})", names.len(), names.join(", "));
        check_layout(&names, self.named_header, table, path, &what)
    }

    fn describe(&self) -> String {
        let (d, c) = (self.data().len(), self.context.len());
        if c == 0 {
            format!("{d} columns")
        } else {
            format!("{} columns ({d} data + {c} context)", d + c)
        }
    }

    /// The layout as JSON (for `columns.json`).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("column layouts serialise")
    }

    /// Reads `columns.json` from a model directory; `None` when the directory has none.
    ///
    /// # Errors
    /// [`CliError::BadInput`] for a malformed file or one that does not fit the model's sizes.
    pub fn read(dir: &Path, features: usize, context: usize) -> CliResult<Option<Self>> {
        let path = dir.join(COLUMNS_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(CliError::bad(format!(
                    "{}: cannot read: {e}",
                    path.display()
                )));
            }
        };
        let columns: Columns = serde_json::from_str(&text)
            .map_err(|e| CliError::bad(format!("{}: malformed: {e}", path.display())))?;
        let fits = columns.context.len() == context
            && columns.names.len() == features + context
            && columns.context.iter().all(|&j| j < columns.names.len())
            && columns.context.windows(2).all(|w| w[0] < w[1]);
        if !fits {
            return Err(CliError::bad(format!(
                "{}: does not fit the model ({features} data and {context} context columns)",
                path.display()
            )));
        }
        Ok(Some(columns))
    }
}

fn check_layout(
    names: &[String],
    named: bool,
    table: &Table,
    path: &Path,
    what: &str,
) -> CliResult<()> {
    let shown = path.display();
    if table.cols() != names.len() {
        return Err(CliError::bad(format!(
            "{shown}: {} columns, but the model reads {what}",
            table.cols()
        )));
    }
    if table.named_header
        && named
        && let Some(j) = (0..names.len()).find(|&j| table.names[j] != names[j])
    {
        return Err(CliError::bad(format!(
            "{shown}: column {} is named {:?}, but the model's column {} is {:?} \
             (expected columns: {})",
            j + 1,
            table.names[j],
            j + 1,
            names[j],
            names.join(", ")
        )));
    }
    Ok(())
}
