//! Datasets: validation naming the bad row, context columns, splitting, fitting a standardizer,
//! and the trainer refusing bad data before any step.

use nflow_core::NflowError;
use nflow_flows::MafConfig;
use nflow_train::{Dataset, Standardizer, Trainer, TrainerConfig};

#[test]
fn a_nan_row_is_named() {
    let mut values = vec![0.5f32; 20];
    values[13] = f32::NAN; // row 6, column 1
    match Dataset::from_flat(values, 2) {
        Err(NflowError::NonFinite { row, column, .. }) => assert_eq!((row, column), (6, 1)),
        other => panic!("expected NonFinite, got {other:?}"),
    }
    let rows = vec![vec![1.0, 2.0], vec![3.0, f64::INFINITY]];
    let err = Dataset::from_rows(&rows).unwrap_err();
    assert!(err.to_string().contains("row 1"), "{err}");
}

#[test]
fn a_row_of_the_wrong_width_is_named() {
    let rows = vec![vec![1.0, 2.0], vec![3.0, 4.0], vec![5.0], vec![6.0, 7.0]];
    let err = Dataset::from_rows(&rows).unwrap_err();
    assert!(matches!(err, NflowError::ShapeMismatch { .. }));
    assert!(err.to_string().contains("row 2"), "{err}");
    assert!(Dataset::from_flat(vec![1.0; 5], 2).is_err());
    assert!(Dataset::from_flat(vec![], 2).is_err());
}

#[test]
fn training_on_bad_data_fails_before_training() {
    let device = nflow_core::default_device();
    let flow = MafConfig::new(2)
        .with_layers(1)
        .with_hidden_sizes(vec![8])
        .init(&device)
        .unwrap();
    let three_columns = Dataset::from_flat(vec![0.0; 30], 3).unwrap();
    let metrics =
        std::env::temp_dir().join(format!("nflow-train-bad-{}.jsonl", std::process::id()));
    let trainer = Trainer::new(
        TrainerConfig::new()
            .with_progress(false)
            .with_metrics_path(Some(metrics.clone())),
    )
    .unwrap();
    match trainer
        .fit(flow, &three_columns, &three_columns, &device)
        .map_err(|failure| failure.error)
    {
        Err(NflowError::ShapeMismatch {
            what,
            expected,
            got,
        }) => {
            assert_eq!(what, "training data");
            assert!(
                expected.contains('2') && got.contains("[10, 3]"),
                "{expected} / {got}"
            );
        }
        other => panic!("expected a shape error, got {other:?}"),
    }
    assert!(!metrics.exists(), "no step, no log: the check comes first");
}

#[test]
fn split_and_standardise() {
    let rows: Vec<Vec<f64>> = (0..100)
        .map(|i| vec![i as f64, 10.0 + 3.0 * i as f64])
        .collect();
    let data = Dataset::from_rows(&rows).unwrap();
    let splits = data.split(0.7, 0.2, 1).unwrap();
    assert_eq!(
        (
            splits.train.rows(),
            splits.validation.rows(),
            splits.test.rows()
        ),
        (70, 20, 10)
    );
    let mut all: Vec<f32> = [&splits.train, &splits.validation, &splits.test]
        .iter()
        .flat_map(|d| (0..d.rows()).map(|i| d.row(i)[0]))
        .collect();
    all.sort_by(f32::total_cmp);
    assert_eq!(
        all,
        (0..100).map(|i| i as f32).collect::<Vec<_>>(),
        "a partition of the rows"
    );
    assert!(data.split(0.9, 0.1, 0).is_err());

    let standardizer = splits.train.fit_standardizer();
    let n = splits.train.rows() as f64;
    for j in 0..2 {
        let mean: f64 = (0..splits.train.rows())
            .map(|i| splits.train.row(i)[j] as f64)
            .sum::<f64>()
            / n;
        assert!((standardizer.mean[j] - mean).abs() < 1e-9);
    }
    // log|det| of x -> (x - m)/s is -Σ log s; the second column is 3× the first.
    let expected = -(standardizer.std[0].ln() + standardizer.std[1].ln());
    assert!((standardizer.log_det() - expected).abs() < 1e-12);
    assert!((standardizer.std[1] / standardizer.std[0] - 3.0).abs() < 1e-9);
}

#[test]
fn context_columns_follow_their_rows_through_splits_and_batches() {
    let device = nflow_core::default_device();
    let rows: Vec<[f64; 2]> = (0..50).map(|i| [i as f64, -(i as f64)]).collect();
    let context: Vec<[f64; 1]> = (0..50).map(|i| [1000.0 + i as f64]).collect();
    let data = Dataset::from_rows(&rows)
        .unwrap()
        .with_context_rows(&context)
        .unwrap();
    let splits = data.split(0.6, 0.2, 4).unwrap();
    for part in [&splits.train, &splits.validation, &splits.test] {
        assert_eq!(part.context_cols(), 1);
        for i in 0..part.rows() {
            assert_eq!(part.context_values()[i], 1000.0 + part.row(i)[0]);
        }
    }
    let batch = splits.train.context_batch(&[2, 0], &device).unwrap();
    let values: Vec<f32> = batch.to_data().iter::<f32>().collect();
    assert_eq!(
        values,
        vec![
            splits.train.context_values()[2],
            splits.train.context_values()[0]
        ]
    );
    assert!(
        Dataset::from_rows(&rows)
            .unwrap()
            .context_batch(&[0], &device)
            .is_none()
    );

    // Wrong counts and non-finite context values are named.
    assert!(matches!(
        Dataset::from_rows(&rows)
            .unwrap()
            .with_context(vec![0.0; 49], 1),
        Err(NflowError::ShapeMismatch { .. })
    ));
    let mut bad = vec![0.0f32; 100];
    bad[51] = f32::NAN;
    match Dataset::from_rows(&rows).unwrap().with_context(bad, 2) {
        Err(NflowError::NonFinite { row, column, .. }) => assert_eq!((row, column), (25, 1)),
        other => panic!("expected NonFinite, got {other:?}"),
    }
}

#[test]
fn a_standardizer_that_does_not_fit_is_a_typed_error() {
    let device = nflow_core::default_device();
    // A deserialised standardizer with mismatched lengths, or a zero scale.
    for (json, what) in [
        (
            r#"{"mean": [0.0], "std": [1.0, 1.0]}"#,
            "1 means and 2 scales",
        ),
        (
            r#"{"mean": [0.0, 0.0], "std": [1.0, 0.0]}"#,
            "scale of column 1",
        ),
    ] {
        let standardizer: Standardizer = serde_json::from_str(json).unwrap();
        match MafConfig::new(2)
            .with_standardizer(Some(standardizer))
            .init(&device)
        {
            Err(NflowError::FlowConfig(nflow_core::FlowConfigError::BadStandardizer(reason))) => {
                assert!(reason.contains(what), "{reason}")
            }
            other => panic!("expected BadStandardizer, got {other:?}"),
        }
    }
    assert!(Standardizer::fit(&[], 2).is_err());
    assert!(Standardizer::fit(&[1.0, f32::NAN], 2).is_err());
}

#[test]
fn standardizers_round_trip_through_json_bit_for_bit() {
    // A saved model's standardiser must reload exactly, or its reloaded likelihoods drift in the
    // last bit (found with an f64 run of examples/maf_density).
    use rand::{RngExt, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let values: Vec<f64> = (0..2000)
        .map(|_| rng.random_range(-1e3..1e3) * rng.random::<f64>())
        .collect();
    let standardizer = Standardizer {
        mean: values[..1000].to_vec(),
        std: values[1000..].iter().map(|v| v.abs() + 1e-9).collect(),
    };
    let json = serde_json::to_string(&standardizer).unwrap();
    let back: Standardizer = serde_json::from_str(&json).unwrap();
    assert_eq!(back, standardizer);
}
