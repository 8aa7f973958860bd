//! Saving and loading module weights safely: atomic writes, eager reads, typed errors.
//!
//! burn's `save_file` writes in place and `load_file` maps the file lazily (tensors read it on first
//! use, and panic if it has gone). These helpers write to a temporary file in the same directory
//! and rename it into place, so a crash never leaves a partly written model; and they read the
//! whole file into memory before applying it, so a loaded module never depends on the file again.

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
pub fn load_module<M: Module>(module: M, path: impl AsRef<Path>) -> Result<M> {
    let path = path.as_ref();
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
    dir: impl AsRef<Path>,
    config_file: &str,
    config: &C,
    weights_file: &str,
    module: &M,
) -> Result<()> {
    let dir = dir.as_ref();
    std::fs::create_dir_all(dir).map_err(|source| NflowError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let json = serde_json::to_string_pretty(config).map_err(|e| NflowError::Load {
        path: dir.join(config_file),
        reason: format!("cannot serialise the config: {e}"),
    })?;
    save_module(module, dir.join(weights_file))?;
    write_atomically(dir.join(config_file), json.as_bytes())
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

/// A serialisable description of a model that builds it: what [`save_model`] writes beside the
/// weights and what [`load_model`] rebuilds the architecture from before loading them.
///
/// Every nflow model directory is one `flow.json` (the config) plus one `flow.bpk` (the weights).
/// Implement this for the config of your own stack (a user bijector composed with built-in layers,
/// say) and it saves and loads the same way as nflow's own flows.
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

    /// Reads the config from the saved JSON. The default parses it directly; override it to
    /// accept older layouts.
    ///
    /// # Errors
    /// A message saying why the JSON is not a valid config.
    fn from_saved_json(value: serde_json::Value) -> std::result::Result<Self, String> {
        serde_json::from_value(value).map_err(|e| e.to_string())
    }
}

/// Saves `model` and the `config` that builds it in `dir`: `flow.json` and `flow.bpk`, each written
/// atomically (the directory is created if missing).
///
/// # Errors
/// [`NflowError::Io`] when the directory or files cannot be written.
pub fn save_model<C: ModelConfig>(
    dir: impl AsRef<Path>,
    config: &C,
    model: &C::Model,
) -> Result<()> {
    save_model_dir(dir, MODEL_CONFIG_FILE, config, MODEL_WEIGHTS_FILE, model)
}

/// Loads a model saved by [`save_model`]: reads the config, builds the architecture with
/// [`ModelConfig::init`] on `device` and loads the weights into it.
///
/// # Errors
/// [`NflowError::Io`] for missing files, [`NflowError::Load`] for a malformed config or weights
/// that do not fit it, and the config's own errors for one that parses but cannot build a model.
pub fn load_model<C: ModelConfig>(dir: impl AsRef<Path>, device: &Device) -> Result<(C, C::Model)> {
    let path = dir.as_ref().join(MODEL_CONFIG_FILE);
    let value: serde_json::Value = read_json_config(&path, "model config")?;
    let config = C::from_saved_json(value).map_err(|reason| NflowError::Load {
        path: path.clone(),
        reason: format!("malformed model config: {reason}"),
    })?;
    let model = load_module(config.init(device)?, dir.as_ref().join(MODEL_WEIGHTS_FILE))?;
    Ok((config, model))
}
