//! Degrees and masks as pure functions: no tensors.

use nflow_made::{
    HiddenDegrees, MadeConfig, MadeError, Mask, MaskSet, Ordering, hidden_degrees, hidden_mask,
    output_mask,
};

fn made_error(config: &MadeConfig) -> MadeError {
    let err = config.mask_sets().expect_err("config should be rejected");
    match err {
        nflow_core::NflowError::Made(e) => e,
        other => panic!("expected a MadeError, got {other:?}"),
    }
}

#[test]
fn orderings_give_permutation_degrees() {
    assert_eq!(Ordering::Natural.degrees(4, 0).unwrap(), vec![1, 2, 3, 4]);
    assert_eq!(Ordering::Reversed.degrees(4, 0).unwrap(), vec![4, 3, 2, 1]);
    assert_eq!(
        Ordering::Explicit(vec![1, 3, 0, 2]).degrees(4, 0).unwrap(),
        vec![3, 1, 4, 2]
    );
    let random = Ordering::Random.degrees(20, 5).unwrap();
    let mut sorted = random.clone();
    sorted.sort();
    assert_eq!(sorted, (1..=20).collect::<Vec<_>>());
    assert_eq!(random, Ordering::Random.degrees(20, 5).unwrap(), "seeded");
    assert_ne!(random, Ordering::Random.degrees(20, 6).unwrap());
}

#[test]
fn explicit_orderings_that_are_not_permutations_are_rejected() {
    for bad in [vec![0, 1], vec![0, 1, 1], vec![0, 1, 3], vec![0, 1, 2, 3]] {
        assert_eq!(
            Ordering::Explicit(bad.clone()).degrees(3, 0),
            Err(MadeError::NotAPermutation {
                ordering: bad,
                features: 3
            })
        );
    }
    assert_eq!(
        Ordering::Natural.degrees(0, 0),
        Err(MadeError::ZeroFeatures)
    );
}

#[test]
fn hidden_degree_schemes() {
    assert_eq!(
        hidden_degrees(HiddenDegrees::Sequential, &[7], 4, 1, 0),
        vec![vec![1, 2, 3, 1, 2, 3, 1]]
    );
    // D = 1: hidden units can only see context.
    assert_eq!(
        hidden_degrees(HiddenDegrees::Random, &[3, 2], 1, 0, 0),
        vec![vec![0, 0, 0], vec![0, 0]]
    );
    let random = hidden_degrees(HiddenDegrees::Random, &[50, 50, 50], 10, 1, 3);
    let mut low = 1;
    for layer in &random {
        assert!(layer.iter().all(|&m| (low..=9).contains(&m)), "{layer:?}");
        low = *layer.iter().min().unwrap();
    }
    assert_eq!(
        random,
        hidden_degrees(HiddenDegrees::Random, &[50, 50, 50], 10, 1, 3)
    );
}

#[test]
fn mask_rules() {
    let hidden = hidden_mask(&[1, 2, 3], &[1, 2]);
    let expected_hidden = [[true, true], [false, true], [false, false]];
    let out = output_mask(&[1, 2], &[1, 2, 3]);
    let expected_out = [[false, true, true], [false, false, true]];
    for (j, row) in expected_hidden.iter().enumerate() {
        for (u, &want) in row.iter().enumerate() {
            assert_eq!(hidden.get(j, u), want, "hidden ({j},{u})");
        }
    }
    for (j, row) in expected_out.iter().enumerate() {
        for (u, &want) in row.iter().enumerate() {
            assert_eq!(out.get(j, u), want, "output ({j},{u})");
        }
    }
    let mut m = Mask::empty(2, 70);
    m.set(1, 69, true);
    assert!(m.get(1, 69) && !m.get(0, 69) && m.count() == 1);
}

/// The connectivity implied by degrees alone: input `j` reaches output `u` when there is a chain of
/// hidden units with non-decreasing degrees from `deg(j)` that ends below `deg(u)`. Greedy: take
/// the smallest admissible degree in every layer.
fn expected_connectivity(set: &MaskSet) -> Mask {
    Mask::from_fn(set.input_degrees.len(), set.output_degrees.len(), |j, u| {
        let mut current = set.input_degrees[j];
        for layer in &set.hidden_degrees {
            match layer.iter().filter(|&&m| m >= current).min() {
                Some(&m) => current = m,
                None => return false,
            }
        }
        current < set.output_degrees[u]
    })
}

#[test]
fn product_of_layer_masks_is_the_expected_connectivity() {
    let orderings = [
        Ordering::Natural,
        Ordering::Reversed,
        Ordering::Random,
        Ordering::Explicit(vec![3, 0, 5, 1, 4, 2]),
    ];
    for ordering in orderings {
        for scheme in [
            HiddenDegrees::Sequential,
            HiddenDegrees::Sorted,
            HiddenDegrees::Random,
        ] {
            for hidden in [vec![16], vec![24, 16], vec![20, 16, 24]] {
                for context in [0, 2] {
                    let config = MadeConfig::new(6, hidden.clone())
                        .with_ordering(ordering.clone())
                        .with_hidden_degrees(scheme)
                        .with_context_features(context)
                        .with_params_per_dim(2)
                        .with_seed(11);
                    let set = &config.mask_sets().unwrap()[0];
                    let product = set.layer_masks[1..]
                        .iter()
                        .fold(set.layer_masks[0].clone(), |acc, m| acc.then(m));
                    assert_eq!(product, set.connectivity(false));
                    assert_eq!(product, expected_connectivity(set), "{config}");
                    // Never more than MADE allows.
                    let allowed = set.allowed_connectivity();
                    assert_eq!(product.or(&allowed), allowed, "forbidden path in {config}");
                    if scheme != HiddenDegrees::Random {
                        // Wide enough sequential (or sorted) layers: no dead connections at all.
                        assert_eq!(product, allowed, "dead connection in {config}");
                    }
                }
            }
        }
    }
}

#[test]
fn residual_and_direct_paths_keep_the_structure() {
    for (residual, direct) in [(true, false), (false, true), (true, true)] {
        let config = MadeConfig::new(5, vec![8, 8])
            .with_residual(residual)
            .with_direct_connection(direct)
            .with_context_features(1)
            .with_ordering(Ordering::Random)
            .with_seed(2);
        let set = &config.mask_sets().unwrap()[0];
        let allowed = set.allowed_connectivity();
        assert_eq!(
            set.connectivity(residual),
            allowed,
            "residual {residual} direct {direct}"
        );
    }
}

#[test]
fn too_narrow_sequential_layers_are_rejected() {
    let config = MadeConfig::new(6, vec![10, 4]);
    assert_eq!(
        made_error(&config),
        MadeError::HiddenTooNarrow {
            layer: 1,
            width: 4,
            needed: 5
        }
    );
}

#[test]
fn random_degrees_that_cut_an_output_off_are_rejected() {
    // One hidden unit of random degree m in 1..=9: features of degree 2..=m see nothing.
    let mut cut_off = 0;
    for seed in 0..30 {
        let config = MadeConfig::new(10, vec![1])
            .with_hidden_degrees(HiddenDegrees::Random)
            .with_seed(seed);
        match config.mask_sets() {
            Ok(sets) => {
                assert_eq!(sets[0].hidden_degrees[0], vec![1]);
            }
            Err(_) => {
                assert!(matches!(
                    made_error(&config),
                    MadeError::OutputCutOff { mask_set: 0, .. }
                ));
                cut_off += 1;
            }
        }
    }
    assert!(cut_off > 20, "only {cut_off} of 30 seeds cut an output off");
}

#[test]
fn inconsistent_configs_are_rejected() {
    assert_eq!(
        made_error(&MadeConfig::new(0, vec![4])),
        MadeError::ZeroFeatures
    );
    assert_eq!(
        made_error(&MadeConfig::new(3, vec![4]).with_params_per_dim(0)),
        MadeError::ZeroParamsPerDim
    );
    assert_eq!(
        made_error(&MadeConfig::new(3, vec![])),
        MadeError::BadHiddenSizes(vec![])
    );
    assert_eq!(
        made_error(&MadeConfig::new(3, vec![4, 0])),
        MadeError::BadHiddenSizes(vec![4, 0])
    );
    assert_eq!(
        made_error(&MadeConfig::new(3, vec![4, 6]).with_residual(true)),
        MadeError::UnequalResidualWidths(vec![4, 6])
    );
    assert_eq!(
        made_error(&MadeConfig::new(3, vec![4]).with_num_mask_sets(3)),
        MadeError::IdenticalMaskSets(3)
    );
    assert_eq!(
        made_error(
            &MadeConfig::new(3, vec![4])
                .with_num_mask_sets(2)
                .with_order_agnostic(true)
                .with_mask_set(2)
        ),
        MadeError::NoSuchMaskSet { index: 2, count: 2 }
    );
}

#[test]
fn agnostic_mask_sets_differ_and_are_reproducible() {
    let config = MadeConfig::new(8, vec![16, 16])
        .with_num_mask_sets(4)
        .with_order_agnostic(true)
        .with_connectivity_agnostic(true)
        .with_seed(9);
    let sets = config.mask_sets().unwrap();
    assert_eq!(sets.len(), 4);
    assert_eq!(sets[0].input_degrees, (1..=8).collect::<Vec<_>>());
    for i in 1..4 {
        assert_ne!(
            sets[i].input_degrees, sets[0].input_degrees,
            "set {i} ordering"
        );
        assert_ne!(
            sets[i].hidden_degrees, sets[0].hidden_degrees,
            "set {i} degrees"
        );
    }
    assert_eq!(sets, config.mask_sets().unwrap());
}
