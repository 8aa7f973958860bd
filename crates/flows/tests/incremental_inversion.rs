//! The incremental inversion (each MADE unit once) against the sequential `D`-pass reference, in
//! f64 (to 1e-10): random layers over every shape the issue names (D = 1, 2, 8, 63; one to three
//! hidden layers; all three degree schemes; natural, reversed and random orderings; context; residual
//! blocks; direct connections; several activations; both transformers and orientations), plus
//! round trips, whole flows, `sample_and_log_prob`, and the fallbacks.

mod common;

use burn::tensor::Tensor;
use common::random_layers::{check_against_reference, max_rel_diff};
use common::{device, normal, values};
use nflow_core::{Bijector, Distribution};
use nflow_flows::{AffineTransformer, Inversion, MafConfig, MaskedAutoregressive, Orientation};
use nflow_made::MadeConfig;
use rand::SeedableRng;
use rand::rngs::StdRng;

#[test]
fn incremental_equals_the_sequential_reference_on_random_layers() {
    check_against_reference(&device(), 1e-10, 1.0, true);
}

#[test]
fn whole_flows_sample_and_score_alike_under_both_inversions() {
    let device = device();
    for (orientation, context) in [(Orientation::Maf, 0), (Orientation::Iaf, 2)] {
        let fast = MafConfig::new(6)
            .with_orientation(orientation)
            .with_context_features(context)
            .with_layers(3)
            .with_hidden_sizes(vec![24, 24])
            .with_batch_norm(true)
            .with_output_init_scale(1.0)
            .init(&device)
            .unwrap();
        let reference = fast.clone().with_inversion(Inversion::Sequential);
        let c = (context > 0).then(|| normal(9, context, 5, &device));
        let draw = |flow: &nflow_flows::AutoregressiveFlow| {
            let mut rng = StdRng::seed_from_u64(11);
            let (x, lp) = flow.sample_and_log_prob(9, c.as_ref(), &mut rng).unwrap();
            (values(x), values(lp))
        };
        let ((xf, lf), (xr, lr)) = (draw(&fast), draw(&reference));
        assert!(max_rel_diff(&xf, &xr) < 1e-10, "{orientation}: samples");
        assert!(
            max_rel_diff(&lf, &lr) < 1e-10,
            "{orientation}: log-densities"
        );
        // The log-density from the same inversion equals a separate log_prob of the samples.
        let x = Tensor::<2>::from_data(burn::tensor::TensorData::new(xf, [9, 6]), &device);
        let scored = values(fast.log_prob(x.clone(), c.as_ref()).unwrap());
        assert!(
            max_rel_diff(&scored, &lf) < 1e-9,
            "{orientation}: sample_and_log_prob"
        );
        let scored_ref = values(reference.log_prob(x, c.as_ref()).unwrap());
        assert!(
            max_rel_diff(&scored, &scored_ref) < 1e-10,
            "{orientation}: log_prob"
        );
    }
}

#[test]
fn raw_masks_that_break_the_degrees_fall_back_to_the_sequential_solve() {
    let device = device();
    // A full mask everywhere: no longer autoregressive, so no incremental plan exists.
    let made = MadeConfig::new(3, vec![8]).init(&device).unwrap();
    let full = [
        nflow_made::Mask::from_fn(3, 8, |_, _| true),
        nflow_made::Mask::from_fn(8, 6, |_, _| true),
    ];
    let made = made.with_raw_masks(&full);
    assert!(nflow_made::DegreeSortedMade::<f64>::new(&made).is_none());
    let fast =
        MaskedAutoregressive::new(made, AffineTransformer::default().into(), Orientation::Maf)
            .unwrap();
    let reference = fast.clone().with_inversion(Inversion::Sequential);
    let z = normal(4, 3, 1, &device);
    let (a, _) = fast.forward(z.clone(), None);
    let (b, _) = reference.forward(z, None);
    assert_eq!(values(a), values(b));
}

#[test]
fn the_autodiff_device_keeps_gradients_through_the_slow_direction() {
    // With weights on an autodiff device the layer uses the differentiable sequential solve, so
    // an IAF's density of outside data trains: every parameter gets a gradient, whether the data
    // arrive on the autodiff device or on the plain one.
    let plain = device();
    let training = plain.clone().autodiff();
    let flow = MafConfig::new(3)
        .with_orientation(Orientation::Iaf)
        .with_layers(2)
        .with_hidden_sizes(vec![8])
        .init(&training)
        .unwrap();
    for x in [normal(5, 3, 2, &training), normal(5, 3, 2, &plain)] {
        let loss = flow.log_prob(x, None).unwrap().mean().neg();
        let missing = nflow_core::testing::params_without_gradient(&flow, &loss.backward());
        assert!(missing.is_empty(), "no gradient for {missing:?}");
    }
}
