//! The Gaussian-mixture base: integrates to 1 in 1 and 2 dimensions, matches a hand-computed
//! mixture density, and samples with its weights and moments. In f64.

use burn::tensor::{Device, Tensor, TensorData};
use nflow_core::{Distribution, GaussianBaseKind, GaussianMixture};
use rand::SeedableRng;
use rand::rngs::StdRng;

fn f64_device() -> Device {
    let device = nflow_core::default_device();
    nflow_core::testing::configure_f64(&device);
    device
}

fn log_probs(model: &GaussianMixture, points: Vec<f64>, d: usize, device: &Device) -> Vec<f64> {
    let n = points.len() / d;
    let x = Tensor::<2>::from_data(TensorData::new(points, [n, d]), device);
    model
        .log_prob(x, None)
        .unwrap()
        .to_data()
        .iter::<f64>()
        .collect()
}

#[test]
fn mixture_density_is_the_weighted_sum_of_its_gaussians() {
    let device = f64_device();
    // Two components in 2-D with weights softmax([0, ln 3]) = (1/4, 3/4).
    let mog = GaussianMixture::from_values(
        &[0.0, 3f64.ln()],
        &[-1.0, 0.5, 2.0, -0.5],
        &[0.0, 0.2f64.ln(), 0.5f64.ln(), 0.0],
        &device,
    )
    .unwrap();
    let normal = |x: f64, m: f64, s: f64| {
        (-(x - m).powi(2) / (2.0 * s * s)).exp() / (s * (2.0 * std::f64::consts::PI).sqrt())
    };
    let x = [0.3, -0.2];
    let expected = 0.25 * normal(x[0], -1.0, 1.0) * normal(x[1], 0.5, 0.2)
        + 0.75 * normal(x[0], 2.0, 0.5) * normal(x[1], -0.5, 1.0);
    let got = log_probs(&mog, x.to_vec(), 2, &device)[0];
    assert!(
        (got - expected.ln()).abs() < 1e-12,
        "{got} vs {}",
        expected.ln()
    );
    assert!(GaussianMixture::from_values(&[], &[], &[], &device).is_err());
    assert!(GaussianMixture::from_values(&[0.0], &[1.0], &[f64::NAN], &device).is_err());
}

#[test]
fn mixture_integrates_to_one_in_one_and_two_dimensions() {
    let device = f64_device();
    for d in [1usize, 2] {
        let mog = GaussianMixture::new(d, 4, 7, &device).unwrap();
        let (l, n) = (9.0, if d == 1 { 4000 } else { 400 });
        let h = 2.0 * l / n as f64;
        let axis: Vec<f64> = (0..n).map(|i| -l + (i as f64 + 0.5) * h).collect();
        let points: Vec<f64> = if d == 1 {
            axis.clone()
        } else {
            axis.iter()
                .flat_map(|&a| axis.iter().flat_map(move |&b| [a, b]))
                .collect()
        };
        let total: f64 = log_probs(&mog, points, d, &device)
            .iter()
            .map(|v| v.exp())
            .sum::<f64>()
            * h.powi(d as i32);
        assert!((total - 1.0).abs() < 1e-6, "D = {d}: ∫p = {total}");
    }
}

#[test]
fn mixture_samples_pick_components_by_weight() {
    let device = f64_device();
    // Far-apart components on a line: the sign of a sample tells its component.
    let mog = GaussianMixture::from_values(&[0.0, 4f64.ln()], &[-10.0, 10.0], &[0.0, 0.0], &device)
        .unwrap();
    let n = 20_000;
    let x: Vec<f64> = mog
        .sample(n, None, &mut StdRng::seed_from_u64(1))
        .unwrap()
        .to_data()
        .iter::<f64>()
        .collect();
    let right = x.iter().filter(|&&v| v > 0.0).count() as f64 / n as f64;
    // p = 0.8; 4 standard errors.
    assert!(
        (right - 0.8).abs() < 4.0 * (0.8f64 * 0.2 / n as f64).sqrt(),
        "{right}"
    );
    let base = GaussianBaseKind::Mixture { components: 3 }
        .init_seeded(2, 5, &device)
        .unwrap();
    assert_eq!(base.kind(), GaussianBaseKind::Mixture { components: 3 });
    assert!(
        GaussianBaseKind::Mixture { components: 0 }
            .init(2, &device)
            .is_err()
    );
}
