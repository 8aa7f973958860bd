//! [`Table`]: a numeric table read from a CSV or `.npy` file, with its column names.
//!
//! CSV files are streamed record by record into one row-major buffer (the file is never held
//! twice); the header is detected (a first record with no numeric field) and its names kept.
//! `.npy` files (`f4` or `f8`, C order, one or two dimensions) are streamed the same way. Every
//! value must be a finite number that fits in `f32`; the first one that is not is reported with
//! its file, line (CSV) or row (NPY), and column.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use crate::error::{CliError, CliResult};

/// A row-major table of finite `f32` values with named columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Row-major values.
    pub values: Vec<f32>,
    /// Column names: the file's header, or `x0, x1, …` when it has none.
    pub names: Vec<String>,
    /// Whether the names came from the file.
    pub named_header: bool,
}

impl Table {
    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.names.len()
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.values.len() / self.cols()
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.values[i * self.cols()..(i + 1) * self.cols()]
    }

    /// The values of the columns `columns`, row-major, in that order.
    pub fn select(&self, columns: &[usize]) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.rows() * columns.len());
        for i in 0..self.rows() {
            let row = self.row(i);
            out.extend(columns.iter().map(|&j| row[j]));
        }
        out
    }
}

/// The file format, from the extension: `.npy` or (anything else) CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values.
    Csv,
    /// NumPy's `.npy`.
    Npy,
}

impl Format {
    /// The format of `path`, by its extension.
    pub fn of(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("npy") => Self::Npy,
            _ => Self::Csv,
        }
    }
}

/// Default column names `prefix0, prefix1, …`.
pub fn default_names(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|j| format!("{prefix}{j}")).collect()
}

/// Reads the table in `path` (`.npy` by extension, CSV otherwise).
///
/// # Errors
/// [`CliError::BadInput`] naming the file, and the line or row and column where it applies, for
/// a missing or unreadable file, an empty file, a header without rows, a non-numeric cell, a
/// ragged row, a NaN, an infinity or a value beyond `f32`'s range.
pub fn read_table(path: &Path) -> CliResult<Table> {
    match Format::of(path) {
        Format::Csv => read_csv(path),
        Format::Npy => read_npy(path),
    }
}

fn open(path: &Path) -> CliResult<File> {
    let file = File::open(path)
        .map_err(|e| CliError::bad(format!("{}: cannot open: {e}", path.display())))?;
    if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
        return Err(CliError::bad(format!(
            "{}: is a directory, not a data file",
            path.display()
        )));
    }
    Ok(file)
}

/// A parsed cell, or why it is not a usable value.
fn parse_cell(text: &str) -> Result<f32, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("an empty cell".into());
    }
    let v: f64 = t.parse().map_err(|_| format!("{t:?} is not a number"))?;
    if !v.is_finite() {
        return Err(format!(
            "{t:?} is not finite (NaN and infinities are refused)"
        ));
    }
    let f = v as f32;
    if !f.is_finite() {
        return Err(format!("{t} is beyond the range of f32 (±3.4e38)"));
    }
    Ok(f)
}

fn column_label(names: &[String], named: bool, j: usize) -> String {
    if named {
        format!("column {} ({:?})", j + 1, names[j])
    } else {
        format!("column {}", j + 1)
    }
}

fn read_csv(path: &Path) -> CliResult<Table> {
    let shown = path.display();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(BufReader::with_capacity(1 << 16, open(path)?));
    let mut record = csv::StringRecord::new();
    let mut names: Option<Vec<String>> = None;
    let mut named_header = false;
    let mut values = Vec::new();
    loop {
        let more = reader
            .read_record(&mut record)
            .map_err(|e| CliError::bad(format!("{shown}: {e}")))?;
        if !more {
            break;
        }
        let line = record.position().map_or(0, |p| p.line());
        // Blank lines are skipped by the reader; a record of one empty field is a blank line too.
        if record.len() == 1 && record[0].is_empty() {
            continue;
        }
        let Some(cols) = names.as_ref().map(Vec::len) else {
            // The first record: a header when none of its fields is a number.
            let numeric = record.iter().filter(|f| parse_cell(f).is_ok()).count();
            if numeric == 0 && record.iter().any(|f| f.trim().parse::<f64>().is_err()) {
                names = Some(record.iter().map(|f| f.trim().to_string()).collect());
                named_header = true;
                if let Some(j) = (0..record.len()).find(|&j| record[j].trim().is_empty()) {
                    return Err(CliError::bad(format!(
                        "{shown}: line {line}: the header's column {} has no name",
                        j + 1
                    )));
                }
                continue;
            }
            names = Some(default_names("x", record.len()));
            push_row(
                &record,
                &mut values,
                path,
                line,
                names.as_deref().unwrap(),
                false,
            )?;
            continue;
        };
        if record.len() != cols {
            return Err(CliError::bad(format!(
                "{shown}: line {line}: {} field(s), expected {cols} (as {})",
                record.len(),
                if named_header {
                    "in the header"
                } else {
                    "in the first row"
                }
            )));
        }
        push_row(
            &record,
            &mut values,
            path,
            line,
            names.as_deref().unwrap(),
            named_header,
        )?;
    }
    let Some(names) = names else {
        return Err(CliError::bad(format!("{shown}: the file is empty")));
    };
    if values.is_empty() {
        return Err(CliError::bad(format!(
            "{shown}: the file has a header but no data rows"
        )));
    }
    Ok(Table {
        values,
        names,
        named_header,
    })
}

fn push_row(
    record: &csv::StringRecord,
    values: &mut Vec<f32>,
    path: &Path,
    line: u64,
    names: &[String],
    named: bool,
) -> CliResult<()> {
    for (j, field) in record.iter().enumerate() {
        let v = parse_cell(field).map_err(|why| {
            CliError::bad(format!(
                "{}: line {line}, {}: {why}",
                path.display(),
                column_label(names, named, j)
            ))
        })?;
        values.push(v);
    }
    Ok(())
}

fn read_npy(path: &Path) -> CliResult<Table> {
    let shown = path.display();
    let bad = |why: String| CliError::bad(format!("{shown}: {why}"));
    let npy = npyz::NpyFile::new(BufReader::with_capacity(1 << 16, open(path)?))
        .map_err(|e| bad(format!("not a readable .npy file: {e}")))?;
    if npy.order() != npyz::Order::C {
        return Err(bad(
            "the array is in Fortran order; save it in C order (np.ascontiguousarray)".into(),
        ));
    }
    let shape = npy.shape().to_vec();
    let (rows, cols) = match shape[..] {
        [n] => (n as usize, 1),
        [n, d] => (n as usize, d as usize),
        _ => {
            return Err(bad(format!(
                "expected a 1-D or 2-D array, found shape {shape:?}"
            )));
        }
    };
    if rows == 0 || cols == 0 {
        return Err(bad(format!("the array is empty (shape {shape:?})")));
    }
    let dtype = npy.dtype().descr();
    let mut values = Vec::with_capacity(rows * cols);
    let check = |k: usize, v: f64| -> CliResult<f32> {
        let f = v as f32;
        if v.is_finite() && f.is_finite() {
            Ok(f)
        } else {
            Err(bad(format!(
                "row {}, column {}: {v} is not a finite f32 value",
                k / cols + 1,
                k % cols + 1
            )))
        }
    };
    let read_error = |e: std::io::Error| bad(format!("cannot read the data: {e}"));
    match npy.try_data::<f32>() {
        Ok(data) => {
            for (k, v) in data.enumerate() {
                values.push(check(k, v.map_err(read_error)? as f64)?);
            }
        }
        Err(npy) => match npy.try_data::<f64>() {
            Ok(data) => {
                for (k, v) in data.enumerate() {
                    values.push(check(k, v.map_err(read_error)?)?);
                }
            }
            Err(_) => {
                return Err(bad(format!(
                    "unsupported dtype {dtype}: nflow reads float32 (<f4) and float64 (<f8)"
                )));
            }
        },
    }
    Ok(Table {
        values,
        names: default_names("x", cols),
        named_header: false,
    })
}
