//! The block-triangular MADE pass (`Made::forward_blocks`) equals burn's dense masked pass
//! (`Made::forward_dense`) in f64: outputs, and with autodiff the gradients of the input, the
//! context and every weight and bias (the weight gradient stays masked), for random MADEs over
//! D = 1, 2, 5, 63, random and reversed orderings, all three degree schemes, context, residual blocks,
//! direct connections and 1-23 parameters per feature; and `Made::forward` takes it on flex.

mod block_common;

use block_common::{check_random_mades, max_rel_diff, normal, outputs_and_gradients, values};
use burn::tensor::FloatDType;
use nflow_made::{Made, MadeConfig};

fn setup() {
    let _ = nflow_core::default_device().configure(FloatDType::F64);
}

#[test]
fn block_pass_equals_the_dense_pass_with_gradients() {
    setup();
    check_random_mades(1e-10, 6);
}

#[test]
fn forward_takes_the_block_path_and_replaced_masks_fall_back() {
    setup();
    let device = nflow_core::default_device();
    let made = MadeConfig::new(4, vec![8, 8]).init(&device).unwrap();
    let x = normal(5, 4, &device);
    let blocks = made.forward_blocks(&x, None).unwrap();
    let forward = made.forward(x.clone(), None);
    assert_eq!(values(blocks), values(forward.clone()));
    let dense = made.forward_dense(x.clone(), None);
    assert!(max_rel_diff(&values(forward), &values(dense)) < 1e-12);

    // Masks replaced by hand no longer follow the degrees: no block plan, dense path.
    let masks: Vec<_> = made.mask_set().layer_masks.clone();
    let raw: Made = made.clone().with_raw_masks(&masks);
    assert!(raw.forward_blocks(&x, None).is_none());
    // Switching back to a mask set restores the plans.
    let again = raw.with_mask_set(0).unwrap();
    assert!(again.forward_blocks(&x, None).is_some());
}

/// Adds a constant to every float parameter: masked weights stop being zero.
struct Shift(f64);

impl burn::module::ModuleMapper for Shift {
    fn map_float<const D: usize>(
        &mut self,
        param: burn::module::Param<burn::tensor::Tensor<D>>,
    ) -> burn::module::Param<burn::tensor::Tensor<D>> {
        let shift = self.0;
        param.map(|t| t.add_scalar(shift))
    }
}

/// With sorted hidden degrees (the default) and one mask set, a new MADE stores its masked
/// weights as zeros, and the block path uses the stored weights in place; once masked weights
/// are not zero (weights imported or shifted by hand) it gathers them instead. Both equal the
/// dense masked pass, outputs and gradients, with and without a context.
#[test]
fn stored_weights_serve_in_place_only_when_masked_weights_are_zero() {
    use burn::module::Module;
    use nflow_made::HiddenDegrees;
    setup();
    let plain = nflow_core::default_device();
    let training = plain.clone().autodiff();
    for (d, context) in [(1, 0), (2, 0), (7, 0), (63, 0), (7, 2)] {
        let made = MadeConfig::new(d, vec![70, 70])
            .with_context_features(context)
            .with_params_per_dim(3)
            .with_seed(d as u64)
            .init(&plain)
            .unwrap();
        assert_eq!(made.config().hidden_degrees, HiddenDegrees::Sorted);
        for layer in made.layers() {
            let (w, m) = (values(layer.weight()), values(layer.mask()));
            assert!(
                w.iter().zip(&m).all(|(w, m)| *m != 0.0 || *w == 0.0),
                "D={d}: masked weights start at zero"
            );
        }
        let shifted = made.clone().map(&mut Shift(0.25));
        let x = normal(9, d, &plain);
        let c = (context > 0).then(|| normal(9, context, &plain));
        let weights = normal(9, 3 * d, &plain);
        for (what, made) in [("zero", made), ("shifted", shifted)] {
            let blocks =
                outputs_and_gradients(&made, &x, c.as_ref(), &weights, &training, |m, x, c| {
                    m.forward_blocks(&x, c).expect("the block path applies")
                });
            let dense =
                outputs_and_gradients(&made, &x, c.as_ref(), &weights, &training, |m, x, c| {
                    m.forward_dense(x, c)
                });
            for ((name, a), (_, b)) in blocks.iter().zip(&dense) {
                let err = max_rel_diff(a, b);
                assert!(
                    err < 1e-10,
                    "D={d} ctx={context} {what}: {name} differs by {err:e}"
                );
            }
        }
    }
}
