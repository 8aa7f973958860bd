//! Model directory format v1: what is written, crash safety of saves, and a typed error for every
//! way a directory can be wrong (checksum, truncation, garbage, newer version, non-finite
//! parameters), plus an f64-saved model on an f32 device.

use nflow::core::persist::{FORMAT_VERSION, MODEL_CONFIG_FILE, MODEL_WEIGHTS_FILE, sha256_hex};
use nflow::prelude::*;
use nflow::serde_json::{self, Value};

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("nflow-format-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn small(seed: u64, device: &Device) -> AutoregressiveFlow {
    MafConfig::new(2)
        .with_layers(2)
        .with_hidden_sizes(vec![8])
        .with_output_init_scale(1.0)
        .with_seed(seed)
        .init(device)
        .unwrap()
}

fn points(device: &Device) -> Tensor<2> {
    Tensor::from_data(
        nflow::burn::tensor::TensorData::new(vec![0.1f32, -0.4, 1.3, 0.7, -2.0, 0.2], [3, 2]),
        device,
    )
}

fn scores(flow: &AutoregressiveFlow, device: &Device) -> Vec<f32> {
    flow.log_prob(points(device), None)
        .unwrap()
        .to_data()
        .try_to_vec()
        .unwrap()
}

fn siblings(dir: &std::path::Path) -> Vec<String> {
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::read_dir(dir.parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&format!(".{name}.")))
        .collect()
}

#[test]
fn flow_json_holds_the_version_the_checksum_and_the_config() {
    let device = default_device();
    let dir = temp_dir("layout");
    let flow = small(1, &device);
    flow.save(&dir).unwrap();
    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(MODEL_CONFIG_FILE)).unwrap())
            .unwrap();
    assert_eq!(file["format_version"], FORMAT_VERSION);
    assert_eq!(
        file["weights_sha256"],
        sha256_hex(&std::fs::read(dir.join(MODEL_WEIGHTS_FILE)).unwrap())
    );
    assert_eq!(file["config"], serde_json::to_value(flow.config()).unwrap());
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(siblings(&dir).is_empty(), "no temporary siblings left");
    let loaded = AutoregressiveFlow::load(&dir, &device).unwrap();
    assert_eq!(scores(&loaded, &device), scores(&flow, &device));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_crashed_or_refused_save_leaves_the_old_model_unchanged() {
    let device = default_device();
    let dir = temp_dir("crash");
    let old = small(1, &device);
    old.save(&dir).unwrap();
    let old_scores = scores(&old, &device);

    // A save that crashed after writing the new weights to its temporary sibling, before the
    // swap: the model in place is still the old one, whole.
    let new = small(2, &device);
    let crashed = dir.with_file_name(format!(
        ".{}.tmp-999999-0",
        dir.file_name().unwrap().to_string_lossy()
    ));
    new.save(&crashed).unwrap();
    std::fs::remove_file(crashed.join(MODEL_CONFIG_FILE)).unwrap();
    assert_eq!(
        scores(&AutoregressiveFlow::load(&dir, &device).unwrap(), &device),
        old_scores
    );

    // A save refused before it starts (the directory holds something that is not a model) changes
    // nothing either.
    std::fs::write(dir.join("notes.txt"), "mine").unwrap();
    match new.save(&dir) {
        Err(Error::Io { source, .. }) => {
            assert!(source.to_string().contains("notes.txt"), "{source}")
        }
        other => panic!("expected an I/O refusal, got {other:?}"),
    }
    assert_eq!(
        std::fs::read_to_string(dir.join("notes.txt")).unwrap(),
        "mine"
    );
    std::fs::remove_file(dir.join("notes.txt")).unwrap();
    assert_eq!(
        scores(&AutoregressiveFlow::load(&dir, &device).unwrap(), &device),
        old_scores
    );

    // A complete re-save replaces config and weights together; the crashed sibling is ignored
    // (and removed once stale).
    new.save(&dir).unwrap();
    let reloaded = AutoregressiveFlow::load(&dir, &device).unwrap();
    assert_eq!(scores(&reloaded, &device), scores(&new, &device));
    assert_ne!(scores(&reloaded, &device), old_scores);
    assert_eq!(reloaded.config().seed, 2);
    std::fs::remove_dir_all(&crashed).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn changed_weights_are_checksum_errors() {
    let device = default_device();
    let dir = temp_dir("checksum");
    small(1, &device).save(&dir).unwrap();
    let weights = dir.join(MODEL_WEIGHTS_FILE);
    let original = std::fs::read(&weights).unwrap();
    let mut flipped = original.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x01;
    let mut garbage_tail = original.clone();
    garbage_tail.extend_from_slice(b"garbage");
    for (what, bytes) in [
        ("a flipped bit", flipped),
        (
            "a truncated file",
            original[..original.len() - 100].to_vec(),
        ),
        ("a garbage tail", garbage_tail),
        ("an empty file", Vec::new()),
    ] {
        std::fs::write(&weights, &bytes).unwrap();
        match AutoregressiveFlow::load(&dir, &device) {
            Err(Error::Checksum {
                expected, found, ..
            }) => {
                assert_eq!(expected, sha256_hex(&original), "{what}");
                assert_eq!(found, sha256_hex(&bytes), "{what}");
            }
            other => panic!("{what}: expected a checksum error, got {other:?}"),
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_newer_format_version_names_both_versions() {
    let device = default_device();
    let dir = temp_dir("version");
    small(1, &device).save(&dir).unwrap();
    let path = dir.join(MODEL_CONFIG_FILE);
    let mut file: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    file["format_version"] = 2.into();
    std::fs::write(&path, file.to_string()).unwrap();
    let err = AutoregressiveFlow::load(&dir, &device).unwrap_err();
    assert!(
        matches!(
            err,
            Error::FormatVersion {
                found: 2,
                supported: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("version 2") && err.to_string().contains("up to 1"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn non_finite_parameters_are_refused_on_load() {
    // A batch norm that saw a NaN row in training mode holds NaN running averages: the model
    // saves (the file is what it is), but loading names the parameter.
    let device = default_device();
    let training = device.clone().autodiff();
    let flow = MafConfig::new(2)
        .with_layers(2)
        .with_hidden_sizes(vec![8])
        .with_batch_norm(true)
        .init(&training)
        .unwrap();
    let x = Tensor::<2>::from_data(
        nflow::burn::tensor::TensorData::new(vec![0.5f32, f32::NAN, 1.0, 2.0], [2, 2]),
        &training,
    );
    let _ = flow.log_prob_unchecked(x, None);
    let dir = temp_dir("nonfinite");
    flow.valid().save(&dir).unwrap();
    match AutoregressiveFlow::load(&dir, &device) {
        Err(Error::NonFinite { what, value, .. }) => {
            assert!(what.contains("running_mean"), "{what}");
            assert!(value.is_nan());
        }
        other => panic!("expected NonFinite, got {other:?}"),
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_model_saved_in_f64_loads_on_an_f32_device() {
    let device = default_device();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/f64");
    let flow = AutoregressiveFlow::load(&dir, &device).unwrap();
    let test = ToyDataset::Moons.sample(1000, 2002).unwrap();
    let nll = nflow::train::mean_nll(&flow, &test, &device).unwrap();
    // The f64 run scored 3.877178351905252 (fixtures/f64/README.md); in f32 the same weights
    // agree to f32 rounding.
    assert!((nll - 3.877178351905252).abs() < 1e-5, "{nll}");
    let lp = flow.log_prob(points(&device), None).unwrap();
    assert_eq!(lp.dtype(), nflow::burn::tensor::DType::F32);
}

#[test]
fn unusable_flow_settings_are_typed_errors() {
    let device = default_device();
    for scale in [f64::INFINITY, f64::NAN, -1.0] {
        match MafConfig::new(2)
            .with_output_init_scale(scale)
            .init(&device)
        {
            Err(Error::FlowConfig(FlowConfigError::BadInitScale(s))) => {
                assert!(s.is_nan() || s == scale)
            }
            other => panic!("output_init_scale {scale}: got {other:?}"),
        }
    }
    // A NaN bound cannot build (and would not survive a JSON round trip).
    assert!(matches!(
        MafConfig::new(2)
            .with_transformer(AffineTransformer::new(f64::NAN).into())
            .init(&device),
        Err(Error::FlowConfig(FlowConfigError::BadLogScaleBound(_)))
    ));
    // Scoring a dataset of the wrong width, or without the context a conditional model needs.
    let flow = small(1, &device);
    let three = Dataset::from_flat(vec![0.0; 9], 3).unwrap();
    assert!(matches!(
        nflow::train::log_densities(&flow, &three, &device),
        Err(Error::ShapeMismatch { .. })
    ));
    let conditional = MafConfig::new(2)
        .with_context_features(1)
        .init(&device)
        .unwrap();
    let no_context = Dataset::from_flat(vec![0.0; 4], 2).unwrap();
    assert!(matches!(
        nflow::train::mean_nll(&conditional, &no_context, &device),
        Err(Error::ShapeMismatch { .. })
    ));
}
