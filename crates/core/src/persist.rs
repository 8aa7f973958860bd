//! Saving and loading models safely: model directories (format v1, [`save_model`] /
//! [`load_model`] for any [`ModelConfig`]), atomic writes, eager reads, checksums, typed errors.
//!
//! burn's `save_file` writes in place and `load_file` maps the file lazily (tensors read it on first
//! use, and panic if it has gone). These helpers write to a temporary sibling and rename it into
//! place, so a crash never leaves a partly written model; and they read the whole file into memory
//! before applying it, so a loaded module never depends on the file again.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, Device};

use crate::error::{NflowError, Result};

/// Writes `bytes` to `path` atomically: a sibling temporary file, then a rename.
///
/// # Errors
/// [`NflowError::Io`] when the directory is missing or not writable.
pub fn write_atomically(path: impl AsRef<Path>, bytes: &[u8]) -> Result<()> {
    let path = path.as_ref();
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
pub fn save_module<M: Module>(module: &M, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    write_atomically(path, &weights_bytes(module, path)?)
}

/// The burnpack bytes of `module`'s record; `path` names the file in errors.
fn weights_bytes<M: Module>(module: &M, path: &Path) -> Result<Bytes> {
    module
        .clone()
        .into_record()
        .into_bytes()
        .map_err(|e| NflowError::Load {
            path: path.to_path_buf(),
            reason: format!("cannot serialise the weights: {e}"),
        })
}

/// Loads parameters saved by [`save_module`] into `module` (which fixes the architecture),
/// reading the whole file first.
///
/// # Errors
/// [`NflowError::Io`] when the file cannot be read, [`NflowError::Load`] when it is not a burnpack
/// file or does not fit the module (missing parameters, wrong shapes).
pub fn load_module<M: Module>(module: M, path: impl AsRef<Path>) -> Result<M> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| NflowError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    load_module_bytes(module, bytes, path)
}

fn load_module_bytes<M: Module>(module: M, bytes: Vec<u8>, path: &Path) -> Result<M> {
    let load_error = |reason: String| NflowError::Load {
        path: path.to_path_buf(),
        reason,
    };
    if bytes.is_empty() {
        return Err(load_error("the weights file is empty".into()));
    }
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes))
        .map_err(|e| load_error(format!("not a valid weights file: {e}")))?
        .cast_to_module_dtype();
    module
        .try_load_record(record)
        .map_err(|e| load_error(format!("the weights do not fit this model: {e}")))
}

/// Reads a JSON config (as written by [`save_model_dir`]); `what` names it in errors.
///
/// # Errors
/// [`NflowError::Io`] when the file cannot be read, [`NflowError::Load`] when it is not a valid
/// config.
pub fn read_json_config<C: serde::de::DeserializeOwned>(
    path: impl AsRef<Path>,
    what: &str,
) -> Result<C> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|source| NflowError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| NflowError::Load {
        path: path.to_path_buf(),
        reason: format!("malformed {what}: {e}"),
    })
}

/// File name of a saved model's configuration inside its directory.
pub const MODEL_CONFIG_FILE: &str = "flow.json";
/// File name of a saved model's weights (and running averages) inside its directory.
pub const MODEL_WEIGHTS_FILE: &str = "flow.bpk";
/// The model directory format this build writes, and the newest it reads.
pub const FORMAT_VERSION: u64 = 1;

/// A serialisable description of a model that builds it: what [`save_model`] writes beside the
/// weights and what [`load_model`] rebuilds the architecture from before loading them.
///
/// Every nflow model directory is one `flow.json` (format version, weights checksum, config) plus
/// one `flow.bpk` (the weights); see [`save_model`]. Implement this for the config of your own
/// stack (a user bijector composed with built-in layers, say) and it saves and loads the same way
/// as nflow's own flows.
///
/// # Example
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// use nflow_core::persist::{ModelConfig, load_model, save_model};
/// use nflow_core::{Distribution, ElementwiseAffine, Flow, StandardNormal, default_device};
///
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct ScaledNormal { features: usize }
///
/// impl ModelConfig for ScaledNormal {
///     type Model = Flow<ElementwiseAffine, StandardNormal>;
///     fn init(&self, device: &Device) -> nflow_core::Result<Self::Model> {
///         let affine = nflow_core::ElementwiseAffineConfig::new(self.features).init(device)?;
///         Flow::new(affine, StandardNormal::new(self.features, device)?)
///     }
/// }
///
/// let device = default_device();
/// let config = ScaledNormal { features: 2 };
/// let model = config.init(&device).unwrap();
/// let dir = std::env::temp_dir().join(format!("nflow-doc-model-{}", std::process::id()));
/// save_model(&dir, &config, &model).unwrap();
/// let (_, loaded) = load_model::<ScaledNormal>(&dir, &device).unwrap();
/// let x = Tensor::<2>::ones([3, 2], &device);
/// assert_eq!(
///     model.log_prob(x.clone(), None).unwrap().to_data(),
///     loaded.log_prob(x, None).unwrap().to_data()
/// );
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub trait ModelConfig: serde::Serialize + serde::de::DeserializeOwned {
    /// The model the config builds.
    type Model: Module;

    /// Builds the model (fresh weights; [`load_model`] then loads the saved ones).
    ///
    /// # Errors
    /// Whatever the config's validation reports.
    fn init(&self, device: &Device) -> Result<Self::Model>;

    /// Reads the config from the saved JSON (the `config` field of `flow.json`). The default
    /// parses it directly; override it to accept older layouts or to report typed errors.
    ///
    /// # Errors
    /// [`NflowError::Load`] saying why the JSON is not a valid config (its path is filled in by
    /// [`load_model`]), or a typed error of the config's own.
    fn from_saved_json(value: serde_json::Value) -> Result<Self> {
        serde_json::from_value(value).map_err(|e| NflowError::Load {
            path: PathBuf::new(),
            reason: format!("malformed model config: {e}"),
        })
    }

    /// For directories saved before format v1 only: the current module path of a weight saved
    /// under `name` by an older layout of the model (`None`: the name is unchanged).
    fn legacy_weight_name(name: &str) -> Option<String> {
        let _ = name;
        None
    }
}

/// The SHA-256 of `bytes`, as lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Saves `model` and the `config` that builds it as the model directory `dir` (format v1):
///
/// - `flow.json`: `{"format_version": 1, "weights_sha256": "<hex>", "config": {…}}`;
/// - `flow.bpk`: the weights (burnpack), whose SHA-256 `flow.json` records.
///
/// The whole directory is written to a hidden temporary sibling (`.<name>.tmp-<pid>-<n>`), synced,
/// and renamed into place; an existing model at `dir` is first renamed aside and removed only once
/// the new one is in place. So a crash never leaves new weights beside an old config, and a
/// re-save replaces the old model only when the new one is complete. Temporary siblings left by a
/// crash are ignored by [`load_model`] and removed by the next save to the same place once they are
/// an hour old.
///
/// # Errors
/// [`NflowError::Io`] when the parent directory is missing or not writable, or when `dir` exists
/// and holds anything besides a model's two files (it is never replaced then).
pub fn save_model<C: ModelConfig>(
    dir: impl AsRef<Path>,
    config: &C,
    model: &C::Model,
) -> Result<()> {
    save_model_with_files(dir, config, model, &[])
}

/// [`save_model`], with `extra` files (name, bytes) written into the same directory in the same
/// atomic step: a training report beside the model, say. [`load_model`] ignores them.
///
/// # Errors
/// As [`save_model`]; [`NflowError::Io`] also when an extra file takes a model file's name.
pub fn save_model_with_files<C: ModelConfig>(
    dir: impl AsRef<Path>,
    config: &C,
    model: &C::Model,
    extra: &[(&str, &[u8])],
) -> Result<()> {
    let dir = dir.as_ref();
    if let Some((name, _)) = extra
        .iter()
        .find(|(name, _)| [MODEL_CONFIG_FILE, MODEL_WEIGHTS_FILE].contains(name))
    {
        return Err(NflowError::Io {
            path: dir.join(name),
            source: std::io::Error::other("an extra file cannot replace a model file"),
        });
    }
    let weights = weights_bytes(model, &dir.join(MODEL_WEIGHTS_FILE))?;
    let file = serde_json::json!({
        "format_version": FORMAT_VERSION,
        "weights_sha256": sha256_hex(&weights),
        "config": serde_json::to_value(config).map_err(|e| NflowError::Load {
            path: dir.join(MODEL_CONFIG_FILE),
            reason: format!("cannot serialise the config: {e}"),
        })?,
    });
    let json = serde_json::to_string_pretty(&file).expect("JSON values serialise");
    let mut files: Vec<(&str, &[u8])> = vec![
        (MODEL_WEIGHTS_FILE, &weights),
        (MODEL_CONFIG_FILE, json.as_bytes()),
    ];
    files.extend_from_slice(extra);
    write_dir_atomically(dir, &files)
}

/// Writes `files` as the whole content of directory `dir`, atomically: see [`save_model`].
///
/// # Errors
/// [`NflowError::Io`] as for [`save_model`] (the names in `files` are the only entries an
/// existing `dir` may hold).
pub fn write_dir_atomically(dir: impl AsRef<Path>, files: &[(&str, &[u8])]) -> Result<()> {
    let dir = dir.as_ref();
    let io = |path: &Path, source: std::io::Error| NflowError::Io {
        path: path.to_path_buf(),
        source,
    };
    let name = dir
        .file_name()
        .ok_or_else(|| io(dir, std::io::Error::other("a model directory needs a name")))?
        .to_string_lossy()
        .into_owned();
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if dir.exists() {
        let entries = std::fs::read_dir(dir).map_err(|e| io(dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| io(dir, e))?;
            let entry_name = entry.file_name().to_string_lossy().into_owned();
            if !files.iter().any(|(f, _)| *f == entry_name) {
                return Err(io(
                    dir,
                    std::io::Error::other(format!(
                        "refusing to replace this directory: it holds {entry_name:?}, which is \
                         not part of a saved model"
                    )),
                ));
            }
        }
    }
    remove_stale_siblings(&parent, &name);
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let unique = format!(
        "{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let tmp = parent.join(format!(".{name}.tmp-{unique}"));
    let result = (|| {
        std::fs::create_dir(&tmp).map_err(|e| io(&tmp, e))?;
        for (file, bytes) in files {
            let path = tmp.join(file);
            let mut f = std::fs::File::create(&path).map_err(|e| io(&path, e))?;
            std::io::Write::write_all(&mut f, bytes).map_err(|e| io(&path, e))?;
            f.sync_all().map_err(|e| io(&path, e))?;
        }
        if dir.exists() {
            let old = parent.join(format!(".{name}.old-{unique}"));
            std::fs::rename(dir, &old).map_err(|e| io(dir, e))?;
            if let Err(e) = std::fs::rename(&tmp, dir) {
                let _ = std::fs::rename(&old, dir);
                return Err(io(dir, e));
            }
            let _ = std::fs::remove_dir_all(&old);
        } else {
            std::fs::rename(&tmp, dir).map_err(|e| io(dir, e))?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result
}

/// [`NflowError::NonFinite`] naming the first parameter (running averages included) that holds a
/// NaN or an infinity.
fn check_finite_params<M: Module>(module: &M, path: &Path) -> Result<()> {
    for (name, tensor) in crate::named_params::named_params(module) {
        if let Some((index, &value)) = tensor
            .values
            .iter()
            .enumerate()
            .find(|(_, v)| !v.is_finite())
        {
            let cols = tensor.shape.last().copied().unwrap_or(1).max(1);
            return Err(NflowError::NonFinite {
                what: format!("saved parameter {name:?} in {}", path.display()),
                row: index / cols,
                column: index % cols,
                value,
            });
        }
    }
    Ok(())
}

/// Rewrites a burnpack file with every tensor renamed by `rename` (kept when it answers `None`).
fn rename_legacy_weights(
    bytes: Vec<u8>,
    rename: fn(&str) -> Option<String>,
    path: &Path,
) -> Result<Vec<u8>> {
    let load_error = |reason: String| NflowError::Load {
        path: path.to_path_buf(),
        reason,
    };
    if bytes.is_empty() {
        return Err(load_error("the weights file is empty".into()));
    }
    let reader = burn_pack::Reader::from_bytes(Bytes::from_bytes_vec(bytes))
        .map_err(|e| load_error(format!("not a valid weights file: {e}")))?;
    let metadata = reader.metadata().clone();
    let tensors = reader
        .into_tensors()
        .map_err(|e| load_error(format!("not a valid weights file: {e}")))?;
    let mut renamed = Vec::with_capacity(tensors.len());
    for tensor in tensors {
        let (name, dtype, shape, param_id, data) = tensor
            .into_parts()
            .map_err(|e| load_error(format!("not a valid weights file: {e}")))?;
        let name = rename(&name).unwrap_or(name);
        renamed.push(burn_pack::Tensor::new(name, dtype, shape, param_id, data));
    }
    let mut writer = burn_pack::Writer::new(renamed);
    for (key, value) in &metadata {
        writer = writer.with_metadata(key, value);
    }
    let bytes = writer
        .into_bytes()
        .map_err(|e| load_error(format!("cannot rewrite the older weights layout: {e}")))?;
    Ok(bytes.to_vec())
}

/// Removes `.<name>.tmp-*` and `.<name>.old-*` siblings more than an hour old (left by a crash).
fn remove_stale_siblings(parent: &Path, name: &str) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    let prefixes = [format!(".{name}.tmp-"), format!(".{name}.old-")];
    for entry in entries.flatten() {
        let entry_name = entry.file_name().to_string_lossy().into_owned();
        if !prefixes.iter().any(|p| entry_name.starts_with(p.as_str())) {
            continue;
        }
        let old_enough = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age.as_secs() > 3600);
        if old_enough {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Loads a model saved by [`save_model`]: checks the format version and the weights' checksum,
/// builds the architecture from the config with [`ModelConfig::init`] on `device`, loads the
/// weights, and checks that every loaded parameter is finite. Parameters saved in another float
/// type (a model saved in f64, loaded on an f32 device) are converted to the device's.
///
/// Directories saved before format v1 (a bare config in `flow.json`, no checksum) still load.
///
/// # Errors
/// [`NflowError::Io`] for missing files; [`NflowError::FormatVersion`] for a newer format;
/// [`NflowError::Checksum`] when the weights file is not the one the config was saved with
/// (truncated, appended to, replaced); [`NflowError::Load`] for a malformed config or weights
/// that do not fit it; [`NflowError::NonFinite`] naming the first parameter holding a NaN or an
/// infinity (or a value too large for the device's float type); the config's own errors for one
/// that parses but cannot build a model.
pub fn load_model<C: ModelConfig>(dir: impl AsRef<Path>, device: &Device) -> Result<(C, C::Model)> {
    let dir = dir.as_ref();
    let config_path = dir.join(MODEL_CONFIG_FILE);
    let weights_path = dir.join(MODEL_WEIGHTS_FILE);
    let malformed = |reason: String| NflowError::Load {
        path: config_path.clone(),
        reason,
    };
    let value: serde_json::Value = read_json_config(&config_path, "model config")?;
    let (config_value, checksum) = match value {
        serde_json::Value::Object(mut top) if top.contains_key("format_version") => {
            let version = top
                .get("format_version")
                .and_then(serde_json::Value::as_u64)
                .ok_or_else(|| malformed("format_version must be a whole number".into()))?;
            if version > FORMAT_VERSION {
                return Err(NflowError::FormatVersion {
                    path: config_path.clone(),
                    found: version,
                    supported: FORMAT_VERSION,
                });
            }
            let checksum = match top.remove("weights_sha256") {
                Some(serde_json::Value::String(s)) => s,
                _ => {
                    return Err(malformed(
                        "weights_sha256 is missing or not a string".into(),
                    ));
                }
            };
            let config = top
                .remove("config")
                .ok_or_else(|| malformed("the \"config\" field is missing".into()))?;
            (config, Some(checksum))
        }
        legacy => (legacy, None),
    };
    let config = C::from_saved_json(config_value).map_err(|e| match e {
        NflowError::Load { path, reason } if path.as_os_str().is_empty() => malformed(reason),
        other => other,
    })?;
    let fresh = config.init(device)?;
    let mut bytes = std::fs::read(&weights_path).map_err(|source| NflowError::Io {
        path: weights_path.clone(),
        source,
    })?;
    match checksum {
        Some(expected) => {
            let found = sha256_hex(&bytes);
            if found != expected {
                return Err(NflowError::Checksum {
                    path: weights_path,
                    expected,
                    found,
                });
            }
        }
        None => bytes = rename_legacy_weights(bytes, C::legacy_weight_name, &weights_path)?,
    }
    let model = load_module_bytes(fresh, bytes, &weights_path)?;
    check_finite_params(&model, &weights_path)?;
    Ok((config, model))
}
