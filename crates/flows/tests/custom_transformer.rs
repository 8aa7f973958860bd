//! A transformer defined outside the crate, `y = a·sinh(u) + b`, registered here and nowhere
//! else: it runs through the whole registry harness (both orientations, with and without context,
//! single layers and whole flows), the structure check, gradients and save / load, with no change
//! under `src/`.

mod common;

use burn::tensor::Tensor;
use burn::tensor::activation::softplus;
use common::registry::{
    check_gradients, check_harness, check_kinds, check_save_load, check_structure, registry_of,
};
use common::{device, normal, values};
use nflow_core::{Distribution, FlowConfigError, NflowError};
use nflow_flows::{
    AutoregressiveFlow, ElementwiseTransformer, IafConfig, MafConfig, TransformerKind,
    TransformerSpec, register_transformer, registered_transformers,
};
use serde::{Deserialize, Serialize};

/// `y = a·sinh(u) + b` with `a = softplus(r) + min_scale`: two raw parameters `(b, r)` per
/// coordinate; `log|∂y/∂u| = log a + log cosh u`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct SinhAffine {
    min_scale: f64,
}

impl Default for SinhAffine {
    fn default() -> Self {
        Self { min_scale: 1e-2 }
    }
}

impl SinhAffine {
    fn scale_and_shift(&self, params: &[Tensor<2>]) -> (Tensor<2>, Tensor<2>) {
        (
            softplus(params[1].clone(), 1.0).add_scalar(self.min_scale),
            params[0].clone(),
        )
    }
}

impl ElementwiseTransformer for SinhAffine {
    fn params_per_dim(&self) -> usize {
        2
    }

    fn forward(&self, u: Tensor<2>, params: &[Tensor<2>]) -> (Tensor<2>, Tensor<2>) {
        let (a, b) = self.scale_and_shift(params);
        let log_derivative = a.clone().log() + u.clone().cosh().log();
        (a * u.sinh() + b, log_derivative)
    }

    fn inverse(&self, y: Tensor<2>, params: &[Tensor<2>]) -> (Tensor<2>, Tensor<2>) {
        let (a, b) = self.scale_and_shift(params);
        let u = ((y - b) / a.clone()).asinh();
        let log_derivative = (a.log() + u.clone().cosh().log()).neg();
        (u, log_derivative)
    }

    fn validate(&self) -> nflow_core::Result<()> {
        if self.min_scale > 0.0 {
            Ok(())
        } else {
            Err(NflowError::invalid_config("min_scale must be positive"))
        }
    }
}

impl TransformerKind for SinhAffine {
    const KIND: &'static str = "sinh_affine";
}

/// The one registration line.
fn register() {
    register_transformer::<SinhAffine>().unwrap();
}

fn sinh_only() -> Vec<TransformerSpec> {
    let specs: Vec<TransformerSpec> = registered_transformers()
        .into_iter()
        .filter(|s| s.kind() == SinhAffine::KIND)
        .collect();
    assert_eq!(specs.len(), 1, "sinh_affine is registered");
    specs
}

#[test]
fn a_registered_transformer_joins_the_registry() {
    register();
    let kinds: Vec<&str> = registered_transformers().iter().map(|s| s.kind()).collect();
    assert_eq!(kinds, vec!["affine", "sinh_affine", "spline"]);
    let device = device();
    let cases = registry_of(&sinh_only(), false, &device);
    let kinds = check_kinds(&cases, &sinh_only(), false);
    assert!(kinds.contains("autoregressive/maf/sinh_affine"));
    assert!(kinds.contains("autoregressive/iaf/sinh_affine"));
}

#[test]
fn the_custom_transformer_passes_the_harness_and_structure_checks() {
    register();
    let device = device();
    let cases = registry_of(&sinh_only(), false, &device);
    check_harness(&cases);
    check_structure(&cases);
}

#[test]
fn the_custom_transformer_trains_saves_and_loads() {
    register();
    let device = device();
    let cases = registry_of(&sinh_only(), false, &device);
    check_gradients(&cases, &device);
    check_save_load(&cases, &device);
}

#[test]
fn its_saved_config_names_it_and_bad_settings_are_typed_errors() {
    register();
    let device = device();
    let config = IafConfig::new(3)
        .with_transformer(SinhAffine { min_scale: 0.5 }.into())
        .with_layers(2)
        .with_hidden_sizes(vec![8]);
    let json = serde_json::to_value(&config).unwrap();
    assert_eq!(
        json["transformer"],
        serde_json::json!({"kind": "sinh_affine", "min_scale": 0.5})
    );
    let back: nflow_flows::AutoregressiveFlowConfig = serde_json::from_value(json).unwrap();
    assert_eq!(back.transformer, config.transformer);
    assert_eq!(
        back.transformer.get::<SinhAffine>(),
        Some(&SinhAffine { min_scale: 0.5 })
    );

    // Validation runs at build time, and its error comes through unchanged.
    assert!(matches!(
        MafConfig::new(3)
            .with_transformer(SinhAffine { min_scale: 0.0 }.into())
            .init(&device),
        Err(NflowError::InvalidConfig(_))
    ));
    // Unknown settings fields, and unknown kinds, are rejected when reading a config.
    let err = serde_json::from_value::<TransformerSpec>(
        serde_json::json!({"kind": "sinh_affine", "min_scale": "big"}),
    )
    .unwrap_err();
    assert!(err.to_string().contains("sinh_affine"), "{err}");
    let err =
        serde_json::from_value::<TransformerSpec>(serde_json::json!({"kind": "nope"})).unwrap_err();
    assert!(
        err.to_string().contains("affine") && err.to_string().contains("sinh_affine"),
        "the message lists the registered kinds: {err}"
    );

    // Unknown settings fields are refused (for built-in and registered transformers alike), a
    // second type under a taken name is refused, and a MADE of the wrong width is refused.
    for json in [
        serde_json::json!({"kind": "sinh_affine", "min_scale": 0.5, "min_scael": 1.0}),
        serde_json::json!({"kind": "affine", "log_scale_bound": 3.0, "typo": 1}),
    ] {
        match TransformerSpec::from_json(json) {
            Err(NflowError::FlowConfig(FlowConfigError::BadTransformer { reason, .. })) => {
                assert!(reason.contains("unknown"), "{reason}")
            }
            other => panic!("expected BadTransformer, got {other:?}"),
        }
    }
    #[derive(Debug, Clone, Default, Serialize, Deserialize)]
    struct Impostor {
        min_scale: f64,
    }
    impl ElementwiseTransformer for Impostor {
        fn params_per_dim(&self) -> usize {
            1
        }
        fn forward(&self, u: Tensor<2>, _: &[Tensor<2>]) -> (Tensor<2>, Tensor<2>) {
            let zero = u.zeros_like();
            (u, zero)
        }
        fn inverse(&self, y: Tensor<2>, _: &[Tensor<2>]) -> (Tensor<2>, Tensor<2>) {
            let zero = y.zeros_like();
            (y, zero)
        }
    }
    impl TransformerKind for Impostor {
        const KIND: &'static str = "sinh_affine";
    }
    assert!(matches!(
        register_transformer::<Impostor>(),
        Err(NflowError::FlowConfig(
            FlowConfigError::DuplicateTransformerKind { .. }
        ))
    ));
    let made = nflow_made::MadeConfig::new(3, vec![8])
        .with_params_per_dim(3)
        .init(&device)
        .unwrap();
    assert!(matches!(
        nflow_flows::MaskedAutoregressive::new(
            made,
            SinhAffine::default().into(),
            nflow_flows::Orientation::Maf
        ),
        Err(NflowError::FlowConfig(FlowConfigError::ConditionerWidth {
            expected: 2,
            got: 3,
            ..
        }))
    ));

    // A sinh flow learns: a few Adam steps lower the NLL of a wide Gaussian.
    let flow = MafConfig::new(2)
        .with_transformer(SinhAffine::default().into())
        .with_layers(2)
        .with_hidden_sizes(vec![16, 16])
        .init(&device)
        .unwrap();
    let data = normal(256, 2, 5, &device).mul_scalar(3.0);
    let before = -values(flow.log_prob(data.clone(), None).unwrap().mean())[0];
    let trained = train(flow, &data, 150);
    let after = -values(trained.log_prob(data, None).unwrap().mean())[0];
    assert!(after < before - 0.2, "NLL {before} -> {after}");
}

fn train(flow: AutoregressiveFlow, data: &Tensor<2>, steps: usize) -> AutoregressiveFlow {
    use burn::module::Module;
    use burn::optim::{AdamConfig, GradientsParams};
    let training = data.device().autodiff();
    let mut flow = flow.to_device(&training).train();
    let data = data.clone().to_device(&training);
    let mut optim = AdamConfig::new().init();
    for _ in 0..steps {
        let loss = flow.log_prob(data.clone(), None).unwrap().mean().neg();
        let grads = GradientsParams::from_grads(loss.backward(), &flow);
        flow = optim.step(1e-2, flow, grads);
    }
    flow.valid()
}
