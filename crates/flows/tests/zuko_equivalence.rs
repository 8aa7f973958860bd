//! nflow's MAF against zuko from identical weights and batches.
//!
//! The fixture `fixtures/zuko_maf_trace.json` (written by `fixtures/zuko_maf_trace.py`) holds a
//! zuko 1.6 MAF on 2 features given nflow's affine parametrisation, with its initial weights, eight
//! batches, each step's loss under `torch.optim.Adam`, the first gradients and the final weights,
//! all in nflow's paths and layouts. Loaded into nflow's `MafConfig` model, the same steps must
//! reproduce all of it to within 1e-5 of max(1, |value|) per tensor: same function, same
//! gradients, and burn's Adam (configured as nflow's `Trainer` configures it) taking the same
//! steps as torch's. With 2 features every MADE hidden unit sees the first feature only, so the
//! masks of the two libraries coincide; for more features their hidden-degree schemes differ.

use std::collections::BTreeMap;

use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use nflow_core::Distribution;
use nflow_core::named_params::{NamedTensor, named_grads, named_params, set_named_params};
use nflow_flows::{AffineTransformer, MafConfig};
use serde_json::Value;

fn tensors(value: &Value) -> BTreeMap<String, NamedTensor> {
    value
        .as_object()
        .expect("an object of tensors")
        .iter()
        .map(|(path, t)| {
            let shape = serde_json::from_value(t["shape"].clone()).expect("shape");
            let values = serde_json::from_value(t["values"].clone()).expect("values");
            (path.clone(), NamedTensor { shape, values })
        })
        .collect()
}

/// Largest |a - b| over the tensors of `expected`, relative to max(1, largest |b|).
fn worst_difference(
    actual: &BTreeMap<String, NamedTensor>,
    expected: &BTreeMap<String, NamedTensor>,
) -> (f64, String) {
    let mut worst = (0.0, String::new());
    for (path, want) in expected {
        let got = actual
            .get(path)
            .unwrap_or_else(|| panic!("nflow has no {path}"));
        assert_eq!(got.shape, want.shape, "{path}");
        let scale = want.values.iter().fold(1.0f64, |m, v| m.max(v.abs()));
        for (a, b) in got.values.iter().zip(&want.values) {
            let d = (a - b).abs() / scale;
            if d > worst.0 {
                worst = (d, path.clone());
            }
        }
    }
    worst
}

#[test]
fn maf_reproduces_zuko_loss_gradients_and_adam_steps() {
    let trace: Value =
        serde_json::from_str(include_str!("fixtures/zuko_maf_trace.json")).expect("fixture parses");
    let hidden = trace["hidden"].as_u64().unwrap() as usize;
    let device = nflow_core::default_device();
    let flow = MafConfig::new(2)
        .with_layers(trace["transforms"].as_u64().unwrap() as usize)
        .with_hidden_sizes(vec![hidden, hidden])
        .with_transformer(AffineTransformer::new(trace["log_scale_bound"].as_f64().unwrap()).into())
        .init(&device)
        .unwrap();
    let initial = tensors(&trace["initial"]);
    let flow = set_named_params(&flow, &initial).unwrap();
    assert_eq!(worst_difference(&named_params(&flow), &initial).0, 0.0);

    let train_device = device.clone().autodiff();
    let mut model = flow.to_device(&train_device).train();
    let mut optimizer = AdamConfig::new().with_epsilon(1e-8).init();
    let lr = trace["learning_rate"].as_f64().unwrap();
    let losses: Vec<f64> = serde_json::from_value(trace["losses"].clone()).unwrap();
    let batches: Vec<Vec<f32>> = serde_json::from_value(trace["batches"].clone()).unwrap();
    for (step, (batch, zuko_loss)) in batches.iter().zip(&losses).enumerate() {
        let x = Tensor::<2>::from_data(
            TensorData::new(batch.clone(), [batch.len() / 2, 2]),
            &train_device,
        );
        let loss = model.log_prob_unchecked(x, None).mean().neg();
        let value = loss.clone().into_scalar::<f64>();
        assert!(
            (value - zuko_loss).abs() < 1e-5 * zuko_loss.abs().max(1.0),
            "step {step}: nflow loss {value}, zuko {zuko_loss}"
        );
        let grads = loss.backward();
        if step == 0 {
            let (diff, path) = worst_difference(
                &named_grads(&model, &grads),
                &tensors(&trace["first_gradients"]),
            );
            assert!(diff < 1e-5, "first gradient of {path} differs by {diff:e}");
        }
        let grads = GradientsParams::from_grads(grads, &model);
        model = optimizer.step(lr, model, grads);
    }
    let (diff, path) = worst_difference(&named_params(&model), &tensors(&trace["final"]));
    assert!(diff < 1e-5, "final {path} differs by {diff:e}");
}
