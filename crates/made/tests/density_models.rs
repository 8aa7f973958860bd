//! MADE as a density model: the Bernoulli MADE (probabilities over all 2^D binary vectors sum to 1
//! for every mask set and for the ensemble; sampling frequencies match the probabilities by a
//! chi-square test; save / load is exact) and MADE MoG (integrates to 1 in 1 and 2 dimensions, is
//! autoregressive, saves and loads exactly). In f64.

use burn::tensor::{Device, Tensor, TensorData};
use nflow_core::Distribution;
use nflow_made::{
    BernoulliMade, BernoulliMadeConfig, Diagonal, MadeConfig, MadeMog, MadeMogConfig,
    autoregressive_violations,
};
use rand::SeedableRng;
use rand::rngs::StdRng;

fn f64_device() -> Device {
    let device = nflow_core::default_device();
    nflow_core::testing::configure_f64(&device);
    device
}

fn values(t: Tensor<1>) -> Vec<f64> {
    t.to_data().iter::<f64>().collect()
}

/// Every binary vector of length `d`, `[2^d, d]`.
fn all_binary(d: usize, device: &Device) -> Tensor<2> {
    let n = 1usize << d;
    let v: Vec<f64> = (0..n)
        .flat_map(|i| (0..d).map(move |j| ((i >> j) & 1) as f64))
        .collect();
    Tensor::from_data(TensorData::new(v, [n, d]), device)
}

fn bernoulli(d: usize, context: usize, sets: usize, device: &Device) -> BernoulliMade {
    let made = MadeConfig::new(d, vec![64, 64])
        .with_params_per_dim(1)
        .with_context_features(context)
        .with_num_mask_sets(sets)
        .with_order_agnostic(sets > 1)
        .with_connectivity_agnostic(sets > 1)
        .with_seed(3);
    BernoulliMadeConfig::new(made).init(device).unwrap()
}

#[test]
fn bernoulli_made_sums_to_one_for_every_mask_set_and_the_ensemble() {
    let device = f64_device();
    let d = 8;
    let x = all_binary(d, &device);
    for context in [0, 2] {
        let model = bernoulli(d, context, 4, &device);
        // One fixed context row for every vector: the probabilities given it must sum to 1.
        let c = (context > 0).then(|| {
            let row = [0.7, -1.2];
            let v: Vec<f64> = (0..1 << d).flat_map(|_| row).collect();
            Tensor::<2>::from_data(TensorData::new(v, [1 << d, context]), &device)
        });
        let mut per_set = Vec::new();
        for set in 0..4 {
            let m = model.clone().with_mask_set(set).unwrap();
            assert_eq!(m.mask_set(), set);
            let lp = values(m.log_prob(x.clone(), c.as_ref()).unwrap());
            let total: f64 = lp.iter().map(|v| v.exp()).sum();
            assert!((total - 1.0).abs() < 1e-10, "set {set}: Σ p = {total}");
            per_set.push(lp);
        }
        // The sets differ (they are different models with shared weights).
        assert!(
            per_set[0]
                .iter()
                .zip(&per_set[1])
                .any(|(a, b)| (a - b).abs() > 1e-3)
        );
        let ensemble = values(model.log_prob_ensemble(x.clone(), c.as_ref()));
        let total: f64 = ensemble.iter().map(|v| v.exp()).sum();
        assert!((total - 1.0).abs() < 1e-10, "ensemble: Σ p = {total}");
        // As a distribution: the ensemble model's log_prob is the ensemble.
        let as_model = model.clone().with_ensemble(4).unwrap();
        assert_eq!(
            values(as_model.log_prob(x.clone(), c.as_ref()).unwrap()),
            ensemble
        );
        assert!(model.clone().with_ensemble(5).is_err());
        // The ensemble is the mean of the sets' probabilities, row by row.
        for (row, lp) in ensemble.iter().enumerate() {
            let mean = per_set.iter().map(|s| s[row].exp()).sum::<f64>() / 4.0;
            assert!((lp.exp() - mean).abs() < 1e-12);
        }
    }
}

/// Samples `n` rows and compares their frequencies over all `2^d` vectors with the model's
/// probabilities: the chi-square statistic.
fn chi_square(model: &BernoulliMade, d: usize, n: usize, seed: u64, device: &Device) -> f64 {
    let probs: Vec<f64> = values(model.log_prob(all_binary(d, device), None).unwrap())
        .into_iter()
        .map(f64::exp)
        .collect();
    let samples = model
        .sample(n, None, &mut StdRng::seed_from_u64(seed))
        .unwrap()
        .to_data()
        .iter::<f64>()
        .collect::<Vec<f64>>();
    let mut counts = vec![0usize; 1 << d];
    for row in samples.chunks(d) {
        assert!(row.iter().all(|&v| v == 0.0 || v == 1.0), "binary samples");
        let index: usize = row
            .iter()
            .enumerate()
            .map(|(j, &v)| (v as usize) << j)
            .sum();
        counts[index] += 1;
    }
    counts
        .iter()
        .zip(&probs)
        .map(|(&o, &p)| (o as f64 - n as f64 * p).powi(2) / (n as f64 * p))
        .sum()
}

#[test]
fn bernoulli_made_samples_match_its_probabilities() {
    let device = f64_device();
    // 7 degrees of freedom: P(χ² > 24.32) = 0.001.
    let single = bernoulli(3, 0, 1, &device);
    let chi2 = chi_square(&single, 3, 20_000, 9, &device);
    assert!(chi2 < 24.32, "one mask: chi-square {chi2}");
    // The 3-set ensemble as a distribution: each row from a random set.
    let ensemble = bernoulli(3, 0, 3, &device).with_ensemble(3).unwrap();
    let chi2 = chi_square(&ensemble, 3, 20_000, 10, &device);
    assert!(chi2 < 24.32, "ensemble: chi-square {chi2}");
}

#[test]
fn bernoulli_made_saves_and_loads_exactly_with_its_mask_set() {
    let device = f64_device();
    let model = bernoulli(6, 0, 3, &device).with_mask_set(2).unwrap();
    let dir = std::env::temp_dir().join(format!("nflow-bernoulli-{}", std::process::id()));
    model.save(&dir).unwrap();
    let loaded = BernoulliMade::load(&dir, &device).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(loaded.mask_set(), 2);
    let x = all_binary(6, &device);
    assert_eq!(
        values(model.log_prob(x.clone(), None).unwrap()),
        values(loaded.log_prob(x.clone(), None).unwrap())
    );
    assert_eq!(
        values(model.log_prob_ensemble(x.clone(), None)),
        values(loaded.log_prob_ensemble(x, None))
    );
    // Only one logit per feature.
    let wide = MadeConfig::new(3, vec![8]).with_params_per_dim(2);
    assert!(BernoulliMadeConfig::new(wide).init(&device).is_err());
}

fn mog(d: usize, context: usize, device: &Device) -> MadeMog {
    MadeMogConfig::new(
        MadeConfig::new(d, vec![16, 16])
            .with_context_features(context)
            .with_seed(4),
    )
    .with_components(3)
    .init(device)
    .unwrap()
}

/// Riemann sum of the density on a grid over `[-l, l]^d`, `n` points per axis.
fn integrate(
    model: &MadeMog,
    d: usize,
    l: f64,
    n: usize,
    context: Option<&[f64]>,
    device: &Device,
) -> f64 {
    let h = 2.0 * l / n as f64;
    let axis: Vec<f64> = (0..n).map(|i| -l + (i as f64 + 0.5) * h).collect();
    let points: Vec<f64> = if d == 1 {
        axis.clone()
    } else {
        axis.iter()
            .flat_map(|&a| axis.iter().flat_map(move |&b| [a, b]))
            .collect()
    };
    let rows = points.len() / d;
    let x = Tensor::<2>::from_data(TensorData::new(points, [rows, d]), device);
    let c = context.map(|c| {
        let values: Vec<f64> = (0..rows).flat_map(|_| c.iter().copied()).collect();
        Tensor::<2>::from_data(TensorData::new(values, [rows, c.len()]), device)
    });
    let lp = values(model.log_prob(x, c.as_ref()).unwrap());
    lp.iter().map(|v| v.exp()).sum::<f64>() * h.powi(d as i32)
}

#[test]
fn made_mog_integrates_to_one_in_one_and_two_dimensions() {
    let device = f64_device();
    let one = integrate(&mog(1, 0, &device), 1, 15.0, 6000, None, &device);
    assert!((one - 1.0).abs() < 1e-6, "1-D: {one}");
    let two = integrate(&mog(2, 0, &device), 2, 12.0, 480, None, &device);
    assert!((two - 1.0).abs() < 1e-3, "2-D: {two}");
    let conditional = integrate(&mog(2, 1, &device), 2, 12.0, 480, Some(&[0.8]), &device);
    assert!(
        (conditional - 1.0).abs() < 1e-3,
        "2-D given c: {conditional}"
    );
}

#[test]
fn made_mog_is_autoregressive_and_saves_exactly() {
    let device = f64_device();
    let model = mog(5, 0, &device);
    let x = Tensor::<2>::from_data(
        TensorData::new(
            (0..15).map(|i| (i as f64 * 0.37).sin()).collect::<Vec<_>>(),
            [3, 5],
        ),
        &device,
    );
    // Each conditional's log-density, log p(x_i | x_<i), may depend on x_i itself and on earlier
    // features only: the Jacobian of the per-feature terms is lower triangular with its diagonal.
    let per_feature = |t: Tensor<2>| {
        let (log_w, means, log_scales) = model.mixture_params(t.clone(), None);
        let [b, d] = t.dims();
        let z = (t.reshape([b, d, 1]) - means) / log_scales.clone().exp();
        let terms = log_w + z.powi_scalar(2) * -0.5 - log_scales;
        terms.exp().sum_dim(2).log().reshape([b, d])
    };
    let degrees = model.made().feature_degrees();
    let violations =
        autoregressive_violations(per_feature, &x, &degrees, Diagonal::Included, 1e-4, 1e-9);
    assert!(violations.is_empty(), "{violations:?}");
    // The parameters of feature i depend on earlier features only.
    assert!(nflow_made::check_made(model.made(), &x, None).is_empty());

    let dir = std::env::temp_dir().join(format!("nflow-made-mog-{}", std::process::id()));
    model.save(&dir).unwrap();
    let loaded = MadeMog::load(&dir, &device).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(loaded.components(), 3);
    assert_eq!(
        values(model.log_prob(x.clone(), None).unwrap()),
        values(loaded.log_prob(x, None).unwrap())
    );
    assert!(
        MadeMogConfig::new(MadeConfig::new(2, vec![4]))
            .with_components(0)
            .init(&device)
            .is_err()
    );
}

#[test]
fn made_mog_samples_follow_its_density() {
    // 1-D: the sample mean and variance match the density's moments (by quadrature).
    let device = f64_device();
    let model = mog(1, 0, &device);
    let n = 4000;
    let h = 30.0 / n as f64;
    let grid: Vec<f64> = (0..n).map(|i| -15.0 + (i as f64 + 0.5) * h).collect();
    let p: Vec<f64> = values(
        model
            .log_prob(
                Tensor::from_data(TensorData::new(grid.clone(), [n, 1]), &device),
                None,
            )
            .unwrap(),
    )
    .into_iter()
    .map(|v| v.exp() * h)
    .collect();
    let mean: f64 = grid.iter().zip(&p).map(|(x, p)| x * p).sum();
    let var: f64 = grid
        .iter()
        .zip(&p)
        .map(|(x, p)| (x - mean).powi(2) * p)
        .sum();
    let draws: Vec<f64> = model
        .sample(40_000, None, &mut StdRng::seed_from_u64(2))
        .unwrap()
        .to_data()
        .iter::<f64>()
        .collect();
    let m = draws.iter().sum::<f64>() / draws.len() as f64;
    let v = draws.iter().map(|x| (x - m).powi(2)).sum::<f64>() / draws.len() as f64;
    let se = (var / draws.len() as f64).sqrt();
    assert!(
        (m - mean).abs() < 4.0 * se,
        "sample mean {m} vs {mean} (se {se})"
    );
    assert!((v / var - 1.0).abs() < 0.05, "sample variance {v} vs {var}");
}
