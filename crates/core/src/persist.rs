//! Saving and loading module weights safely: atomic writes, eager reads, typed errors.
//!
//! burn's `save_file` writes in place and `load_file` maps the file lazily (tensors read it on first
//! use, and panic if it has gone). These helpers write to a temporary file in the same directory
//! and rename it into place, so a crash never leaves a partly written model; and they read the
//! whole file into memory before applying it, so a loaded module never depends on the file again.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;

use crate::error::{NflowError, Result};

/// Writes `bytes` to `path` atomically: a sibling temporary file, then a rename.
///
/// # Errors
/// [`NflowError::Io`] when the directory is missing or not writable.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |source| NflowError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| io(std::io::Error::other("path has no file name")))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp: PathBuf = path.with_file_name(tmp_name);
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(e)
    })
}

/// Saves the parameters of `module` to a burnpack file at `path`, atomically.
///
/// # Errors
/// [`NflowError::Io`] when writing fails, [`NflowError::Load`] when burn cannot serialise the
/// record.
pub fn save_module<M: Module>(module: &M, path: &Path) -> Result<()> {
    let bytes = module
        .clone()
        .into_record()
        .into_bytes()
        .map_err(|e| NflowError::Load {
            path: path.to_path_buf(),
            reason: format!("cannot serialise the weights: {e}"),
        })?;
    write_atomically(path, &bytes)
}

/// Loads parameters saved by [`save_module`] into `module` (which fixes the architecture),
/// reading the whole file first.
///
/// # Errors
/// [`NflowError::Io`] when the file cannot be read, [`NflowError::Load`] when it is not a burnpack
/// file or does not fit the module (missing parameters, wrong shapes).
pub fn load_module<M: Module>(module: M, path: &Path) -> Result<M> {
    let bytes = std::fs::read(path).map_err(|source| NflowError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let load_error = |reason: String| NflowError::Load {
        path: path.to_path_buf(),
        reason,
    };
    if bytes.is_empty() {
        return Err(load_error("the weights file is empty".into()));
    }
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes))
        .map_err(|e| load_error(format!("not a valid weights file: {e}")))?;
    module
        .try_load_record(record)
        .map_err(|e| load_error(format!("the weights do not fit this model: {e}")))
}

/// Saves a model directory: `config` as pretty JSON in `dir/config_file` and the parameters of
/// `module` in `dir/weights_file` (the directory is created if missing; each file is written
/// atomically). The shape every nflow model uses: one JSON config plus one weights file.
///
/// # Errors
/// [`NflowError::Io`] when the directory or files cannot be written.
pub fn save_model_dir<M: Module, C: serde::Serialize>(
    dir: &Path,
    config_file: &str,
    config: &C,
    weights_file: &str,
    module: &M,
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|source| NflowError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let json = serde_json::to_string_pretty(config).map_err(|e| NflowError::Load {
        path: dir.join(config_file),
        reason: format!("cannot serialise the config: {e}"),
    })?;
    save_module(module, &dir.join(weights_file))?;
    write_atomically(&dir.join(config_file), json.as_bytes())
}

/// Reads a JSON config (as written by [`save_model_dir`]); `what` names it in errors.
///
/// # Errors
/// [`NflowError::Io`] when the file cannot be read, [`NflowError::Load`] when it is not a valid
/// config.
pub fn read_json_config<C: serde::de::DeserializeOwned>(path: &Path, what: &str) -> Result<C> {
    let text = std::fs::read_to_string(path).map_err(|source| NflowError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| NflowError::Load {
        path: path.to_path_buf(),
        reason: format!("malformed {what}: {e}"),
    })
}
