//! Writing tables (CSV or `.npy`, by extension) atomically: a hidden temporary sibling, streamed,
//! synced and renamed into place, so a failed run never leaves a partly written file.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use crate::error::{CliError, CliResult};
use crate::table::Format;

/// Refuses an output path that exists, unless `force`; called before any work is done.
///
/// # Errors
/// [`CliError::BadInput`] naming the path.
pub fn check_out_free(path: &Path, force: bool) -> CliResult<()> {
    if path.exists() && !force {
        return Err(CliError::bad(format!(
            "{}: already exists; pass --force to replace it",
            path.display()
        )));
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
        && !parent.is_dir()
    {
        return Err(CliError::bad(format!(
            "{}: the directory {} does not exist",
            path.display(),
            parent.display()
        )));
    }
    Ok(())
}

/// Writes `values` (row-major, `names.len()` columns) to `path`: CSV with a header line of
/// `names`, or a `[rows, cols]` float32 `.npy`.
///
/// # Errors
/// [`CliError::Failed`] when the file cannot be written (nothing is left behind).
pub fn write_table(path: &Path, names: &[String], values: &[f32]) -> CliResult<()> {
    let cols = names.len();
    write_atomically(path, |file| match Format::of(path) {
        Format::Csv => {
            let mut writer = csv::Writer::from_writer(file);
            writer.write_record(names)?;
            let mut field = Vec::with_capacity(cols);
            for row in values.chunks(cols) {
                field.clear();
                field.extend(row.iter().map(|v| v.to_string()));
                writer.write_record(&field)?;
            }
            writer.flush()?;
            let file = writer
                .into_inner()
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            Ok(finish(file)?)
        }
        Format::Npy => {
            use npyz::WriterBuilder;
            let rows = (values.len() / cols) as u64;
            let mut writer = npyz::WriteOptions::<f32>::new()
                .default_dtype()
                .shape(&[rows, cols as u64])
                .writer(file)
                .begin_nd()?;
            writer.extend(values.iter().copied())?;
            writer.finish()?;
            Ok(())
        }
    })
}

fn finish(file: BufWriter<File>) -> std::io::Result<()> {
    let file = file.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()
}

fn write_atomically(
    path: &Path,
    write: impl FnOnce(BufWriter<File>) -> Result<(), Box<dyn std::error::Error>>,
) -> CliResult<()> {
    let name = path
        .file_name()
        .ok_or_else(|| CliError::bad(format!("{}: not a file path", path.display())))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp: PathBuf = path.with_file_name(tmp_name);
    let failed = |e: &dyn std::fmt::Display| {
        CliError::Failed(format!("{}: cannot write: {e}", path.display()))
    };
    let result = File::create(&tmp)
        .map_err(|e| failed(&e))
        .and_then(|file| write(BufWriter::new(file)).map_err(|e| failed(&e)))
        .and_then(|()| std::fs::rename(&tmp, path).map_err(|e| failed(&e)));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
