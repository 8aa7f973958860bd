//! `Made` on an f64 device: the autoregressive checker across the configuration space, detection
//! of a broken mask, no dead connections, mask-set switching, and exact save/load.

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use nflow_core::jacobian::numerical_jacobian;
use nflow_core::{NflowError, standard_normal_tensor};
use nflow_made::{
    Activation, Diagonal, HiddenDegrees, Made, MadeConfig, Ordering, autoregressive_violations,
    check_made,
};
use rand::SeedableRng;
use rand::rngs::StdRng;

fn device() -> Device {
    let device = nflow_core::default_device();
    nflow_core::testing::configure_f64(&device);
    device
}

fn normal(n: usize, d: usize, seed: u64, device: &Device) -> Tensor<2> {
    standard_normal_tensor(n, d, &mut StdRng::seed_from_u64(seed), device)
}

fn values(t: Tensor<2>) -> Vec<f64> {
    t.to_data().iter::<f64>().collect()
}

fn ordering_for(kind: usize, d: usize) -> Ordering {
    match kind {
        0 => Ordering::Natural,
        1 => Ordering::Reversed,
        2 => Ordering::Random,
        // An explicit order: odd features first, then even ones.
        _ => Ordering::Explicit(
            (0..d)
                .filter(|i| i % 2 == 1)
                .chain((0..d).filter(|i| i % 2 == 0))
                .collect(),
        ),
    }
}

/// Every ordering kind × all three degree schemes × D ∈ {1, 2, 5, 63}; the other options (depth 1-3,
/// context, residual, direct connection, k ∈ {1, 2, 3}, activation) rotate so each value is met
/// many times across the loop.
#[test]
fn checker_passes_across_the_configuration_space() {
    let device = device();
    let mut case = 0usize;
    let activations = [
        Activation::Relu,
        Activation::Tanh,
        Activation::Gelu,
        Activation::Elu,
    ];
    for d in [1usize, 2, 5, 63] {
        for ordering_kind in 0..4 {
            for scheme in [
                HiddenDegrees::Sequential,
                HiddenDegrees::Sorted,
                HiddenDegrees::Random,
            ] {
                case += 1;
                let depth = 1 + case % 3;
                let context = if case.is_multiple_of(2) { 0 } else { 3 };
                let residual = case % 4 == 1;
                let direct = case % 5 < 2;
                let k = 1 + case % 3;
                // Random degrees need width to make a cut-off output unlikely (the paper's scheme
                // raises the lowest degree layer by layer); sequential and sorted need only D.
                let width = if scheme == HiddenDegrees::Random {
                    6 * d + 8
                } else {
                    d + 8
                };
                let config = MadeConfig::new(d, vec![width; depth])
                    .with_context_features(context)
                    .with_params_per_dim(k)
                    .with_ordering(ordering_for(ordering_kind, d))
                    .with_hidden_degrees(scheme)
                    .with_activation(activations[case % 4])
                    .with_residual(residual)
                    .with_direct_connection(direct)
                    .with_seed(case as u64);
                let made = config
                    .init(&device)
                    .unwrap_or_else(|e| panic!("{config}: {e}"));
                let x = normal(3, d, case as u64, &device);
                let ctx = (context > 0).then(|| normal(3, context, 100 + case as u64, &device));
                let out = made.forward(x.clone(), ctx.as_ref());
                assert_eq!(out.dims(), [3, k * d]);
                let violations = check_made(&made, &x, ctx.as_ref());
                assert!(
                    violations.is_empty(),
                    "{config}\n{:?}",
                    &violations[..violations.len().min(5)]
                );
            }
        }
    }
    assert_eq!(case, 48);
}

/// Adds a constant to every float parameter.
struct Shift(f64);

impl burn::module::ModuleMapper for Shift {
    fn map_float<const D: usize>(
        &mut self,
        param: burn::module::Param<Tensor<D>>,
    ) -> burn::module::Param<Tensor<D>> {
        let shift = self.0;
        param.map(|t| t.add_scalar(shift))
    }
}

#[test]
fn checker_detects_a_broken_mask() {
    let device = device();
    let made = MadeConfig::new(4, vec![6, 6])
        .with_params_per_dim(1)
        .with_seed(3)
        .init(&device)
        .unwrap();
    let x = normal(4, 4, 1, &device);
    assert!(check_made(&made, &x, None).is_empty());

    // Let output 0 (feature 0, degree 1: must see nothing) see hidden unit 0.
    let mut masks = made.mask_set().layer_masks.clone();
    let last = masks.len() - 1;
    masks[last].set(0, 0, true);
    // A new MADE's masked weights are zero: give the opened connection a weight.
    let broken = made.clone().with_raw_masks(&masks).map(&mut Shift(0.1));
    let violations = check_made(&broken, &x, None);
    assert!(
        !violations.is_empty(),
        "the checker missed a forbidden connection"
    );
    assert!(violations.iter().all(|v| v.output == 0), "{violations:?}");
    // Hidden unit 0 of the last layer has degree 1, so it carries feature 0 into output 0.
    assert!(violations.iter().any(|v| v.input == 0), "{violations:?}");

    // The same mistake in a hidden layer: unit 0 (degree 1) of layer 1 sees input 3 (degree 4).
    let mut masks = made.mask_set().layer_masks.clone();
    masks[0].set(3, 0, true);
    let broken = made.with_raw_masks(&masks).map(&mut Shift(0.1));
    let violations = check_made(&broken, &x, None);
    assert!(
        violations.iter().any(|v| v.input == 3 && v.output < 3),
        "{violations:?}"
    );
}

#[test]
fn checker_works_on_any_function_and_with_the_diagonal() {
    let device = device();
    // f(x) = cumulative sum: output i depends on inputs 0..=i — autoregressive with the diagonal.
    let x = normal(2, 4, 5, &device);
    let cumsum = |t: Tensor<2>| t.cumsum(1);
    let degrees = [1, 2, 3, 4];
    assert!(
        autoregressive_violations(cumsum, &x, &degrees, Diagonal::Included, 1e-4, 1e-9).is_empty()
    );
    let strict = autoregressive_violations(cumsum, &x, &degrees, Diagonal::Excluded, 1e-4, 1e-9);
    assert_eq!(
        strict.len(),
        2 * 4,
        "one diagonal entry per feature and row: {strict:?}"
    );
    // In reversed order, the cumulative sum breaks the structure everywhere below the diagonal.
    let reversed = [4, 3, 2, 1];
    let found = autoregressive_violations(cumsum, &x, &reversed, Diagonal::Included, 1e-4, 1e-9);
    assert_eq!(found.len(), 2 * 6);
}

#[test]
fn sequential_degrees_leave_no_dead_connections() {
    let device = device();
    for (d, context) in [(5usize, 0usize), (5, 2), (9, 0)] {
        let made = MadeConfig::new(d, vec![d + 3, d + 3])
            .with_context_features(context)
            .with_activation(Activation::Tanh)
            .with_ordering(Ordering::Random)
            .with_seed(21)
            .init(&device)
            .unwrap();
        let x = normal(6, d, 8, &device);
        let ctx = (context > 0).then(|| normal(6, context, 9, &device));
        let jac = numerical_jacobian(|t| made.forward(t, ctx.as_ref()), &x, 1e-4);
        let degrees = made.feature_degrees();
        for u in 0..2 * d {
            for j in 0..d {
                if degrees[j] < degrees[u % d] {
                    let strongest = jac.iter().map(|m| m.get(u, j).abs()).fold(0.0, f64::max);
                    assert!(
                        strongest > 1e-8,
                        "D={d}: output {u} does not depend on input {j}"
                    );
                }
            }
        }
        if context > 0 {
            // Every output, the first feature's included, sees the context.
            let with_ctx = |c: Tensor<2>| made.forward(x.clone(), Some(&c));
            let jac_c = numerical_jacobian(with_ctx, ctx.as_ref().unwrap(), 1e-4);
            for u in 0..2 * d {
                let strongest = (0..context)
                    .flat_map(|c| jac_c.iter().map(move |m| m.get(u, c).abs()))
                    .fold(0.0, f64::max);
                assert!(strongest > 1e-8, "output {u} ignores the context");
            }
        }
    }
}

#[test]
fn mask_sets_switch_and_each_is_autoregressive() {
    let device = device();
    let made = MadeConfig::new(6, vec![16, 16])
        .with_num_mask_sets(3)
        .with_order_agnostic(true)
        .with_connectivity_agnostic(true)
        .with_seed(4)
        .init(&device)
        .unwrap();
    let x = normal(4, 6, 2, &device);
    let out0 = values(made.forward(x.clone(), None));
    let mut orderings = vec![made.feature_degrees()];
    for index in 1..3 {
        let switched = made.clone().with_mask_set(index).unwrap();
        assert_eq!(switched.config().mask_set, index);
        assert!(check_made(&switched, &x, None).is_empty(), "set {index}");
        assert_ne!(values(switched.forward(x.clone(), None)), out0);
        orderings.push(switched.feature_degrees());
        // Switching back restores the original function exactly.
        let back = switched.with_mask_set(0).unwrap();
        assert_eq!(values(back.forward(x.clone(), None)), out0);
    }
    assert_ne!(orderings[1], orderings[0]);
    assert_ne!(orderings[2], orderings[1]);
    assert!(matches!(
        made.with_mask_set(3),
        Err(NflowError::Made(nflow_made::MadeError::NoSuchMaskSet {
            index: 3,
            count: 3
        }))
    ));
}

#[test]
fn save_and_load_reproduce_outputs_exactly() {
    let device = device();
    let made = MadeConfig::new(5, vec![12, 12])
        .with_context_features(2)
        .with_ordering(Ordering::Random)
        .with_hidden_degrees(HiddenDegrees::Random)
        .with_num_mask_sets(3)
        .with_order_agnostic(true)
        .with_direct_connection(true)
        .with_seed(77)
        .init(&device)
        .unwrap()
        .with_mask_set(2)
        .unwrap();
    let dir = std::env::temp_dir().join(format!("nflow-made-save-{}", std::process::id()));
    made.save(&dir).unwrap();
    let loaded = Made::load(&dir, &device).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();

    assert_eq!(loaded.config().mask_set, 2);
    assert_eq!(loaded.feature_degrees(), made.feature_degrees());
    assert_eq!(loaded.mask_sets(), made.mask_sets());
    let x = normal(8, 5, 3, &device);
    let c = normal(8, 2, 4, &device);
    assert_eq!(
        values(made.forward(x.clone(), Some(&c))),
        values(loaded.forward(x, Some(&c)))
    );
}

#[test]
fn loading_broken_directories_gives_typed_errors() {
    let device = device();
    let dir = std::env::temp_dir().join(format!("nflow-made-bad-{}", std::process::id()));
    assert!(matches!(
        Made::load(&dir, &device),
        Err(NflowError::Io { .. })
    ));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(nflow_made::CONFIG_FILE), "{ not json").unwrap();
    assert!(matches!(
        Made::load(&dir, &device),
        Err(NflowError::Load { .. })
    ));
    let bad_config = serde_json::to_string(&MadeConfig::new(3, vec![1])).unwrap();
    std::fs::write(dir.join(nflow_made::CONFIG_FILE), bad_config).unwrap();
    assert!(matches!(
        Made::load(&dir, &device),
        Err(NflowError::Made(
            nflow_made::MadeError::HiddenTooNarrow { .. }
        ))
    ));
    let good = MadeConfig::new(3, vec![4]).init(&device).unwrap();
    good.save(&dir).unwrap();
    // Weights of another architecture under the same config.
    MadeConfig::new(3, vec![8])
        .init(&device)
        .unwrap()
        .save(dir.join("other"))
        .unwrap();
    std::fs::copy(
        dir.join("other").join(nflow_made::WEIGHTS_FILE),
        dir.join(nflow_made::WEIGHTS_FILE),
    )
    .unwrap();
    // The recorded checksum catches the swap...
    assert!(matches!(
        Made::load(&dir, &device),
        Err(NflowError::Checksum { .. })
    ));
    // ...and with a checksum that matches, the shapes still do not fit the config.
    let other_weights = std::fs::read(dir.join(nflow_made::WEIGHTS_FILE)).unwrap();
    let mut file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(nflow_made::CONFIG_FILE)).unwrap())
            .unwrap();
    file["weights_sha256"] = nflow_core::persist::sha256_hex(&other_weights).into();
    std::fs::write(dir.join(nflow_made::CONFIG_FILE), file.to_string()).unwrap();
    assert!(matches!(
        Made::load(&dir, &device),
        Err(NflowError::Load { .. })
    ));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn initialisation_is_seeded_and_masks_are_not_parameters() {
    let device = device();
    let config = MadeConfig::new(4, vec![8, 8]).with_seed(5);
    let a = config.init(&device).unwrap();
    let b = config.init(&device).unwrap();
    let c = config.clone().with_seed(6).init(&device).unwrap();
    let x = normal(3, 4, 1, &device);
    assert_eq!(
        values(a.forward(x.clone(), None)),
        values(b.forward(x.clone(), None))
    );
    assert_ne!(
        values(a.forward(x.clone(), None)),
        values(c.forward(x, None))
    );
    // Parameters: weights and biases of 3 layers; masks are constants.
    let expected = (4 * 8 + 8) + (8 * 8 + 8) + (8 * 8 + 8);
    assert_eq!(a.num_params(), expected);
}

#[test]
fn try_forward_validates_its_input() {
    let device = device();
    let made = MadeConfig::new(3, vec![4])
        .with_context_features(1)
        .init(&device)
        .unwrap();
    let x = Tensor::<2>::zeros([2, 3], &device);
    assert!(
        made.try_forward(x.clone(), Some(&Tensor::zeros([2, 1], &device)))
            .is_ok()
    );
    assert!(matches!(
        made.try_forward(x.clone(), None),
        Err(NflowError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        made.try_forward(
            Tensor::zeros([2, 4], &device),
            Some(&Tensor::zeros([2, 1], &device))
        ),
        Err(NflowError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        made.try_forward(
            x.add_scalar(f64::NAN),
            Some(&Tensor::zeros([2, 1], &device))
        ),
        Err(NflowError::NonFinite {
            row: 0,
            column: 0,
            ..
        })
    ));
}

#[test]
fn forward_params_equals_the_split_full_output() {
    let device = device();
    for (k, residual, direct, context) in [
        (2, false, false, 0),
        (3, true, true, 2),
        (1, false, true, 1),
    ] {
        let made = MadeConfig::new(4, vec![10, 10])
            .with_params_per_dim(k)
            .with_residual(residual)
            .with_direct_connection(direct)
            .with_context_features(context)
            .with_output_init_scale(1.0)
            .with_seed(5)
            .init(&device)
            .unwrap();
        let x = normal(6, 4, 1, &device);
        let c = (context > 0).then(|| normal(6, context, 2, &device));
        let whole = made.split_params(made.forward(x.clone(), c.as_ref()));
        let parts = made.forward_params(x, c.as_ref());
        assert_eq!(parts.len(), k);
        for (a, b) in parts.into_iter().zip(whole) {
            assert_eq!(a.dims(), [6, 4]);
            for (u, v) in values(a).iter().zip(values(b)) {
                assert!((u - v).abs() < 1e-12, "k {k}: {u} vs {v}");
            }
        }
    }
}
