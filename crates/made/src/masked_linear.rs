//! [`MaskedLinear`]: a linear layer whose weight is multiplied by a fixed binary mask.

use burn::module::{Module, Param};
use burn::tensor::module::linear;
use burn::tensor::{Device, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::mask::Mask;

/// `y = x (W ⊙ M) + b` with a constant binary mask `M`.
///
/// The mask is a plain tensor field: it moves with the module between devices, is not a parameter
/// (no gradient, not counted, not saved: it is rebuilt from the MADE's config), and masked-out
/// weights receive zero gradient because they enter the output only through `W ⊙ M`.
///
/// Weights and biases start uniform in `±scale/√fan_in` (PyTorch's `nn.Linear` default at
/// `scale = 1`), drawn from a seeded generator so initialisation is reproducible.
///
/// # Shapes
/// - weight, mask: `[inputs, outputs]` (burn's layout, not PyTorch's)
/// - bias: `[outputs]`
/// - input `[batch, inputs]` → output `[batch, outputs]`
#[derive(Module, Debug)]
pub struct MaskedLinear {
    weight: Param<Tensor<2>>,
    bias: Param<Tensor<1>>,
    mask: Tensor<2>,
}

impl MaskedLinear {
    /// A layer shaped like `mask`, initialised from `seed`.
    pub fn new(mask: &Mask, seed: u64, scale: f64, device: &Device) -> Self {
        let (inputs, outputs) = (mask.inputs(), mask.outputs());
        let bound = scale / (inputs.max(1) as f64).sqrt();
        let mut rng = StdRng::seed_from_u64(seed);
        let mut draw = |n: usize| -> Vec<f64> {
            (0..n)
                .map(|_| {
                    if bound > 0.0 {
                        rng.random_range(-bound..bound)
                    } else {
                        0.0
                    }
                })
                .collect()
        };
        let weight = Tensor::from_data(
            TensorData::new(draw(inputs * outputs), [inputs, outputs]),
            device,
        );
        let bias = Tensor::from_data(TensorData::new(draw(outputs), [outputs]), device);
        Self {
            weight: Param::from_tensor(weight),
            bias: Param::from_tensor(bias),
            mask: mask_tensor(mask, device),
        }
    }

    /// The same layer with its masked weights set to zero. They take no part in `W ⊙ M` and get
    /// zero gradients, so training keeps them zero; a MADE with one mask set starts this way,
    /// which lets the CPU block products use its stored weights in place.
    pub fn with_masked_weights_zeroed(mut self) -> Self {
        // A fresh leaf (detached): on an autodiff device the product would otherwise stay in the
        // first backward's graph.
        self.weight = Param::from_tensor((self.weight.val() * self.mask.clone()).detach());
        self
    }

    /// `x (W ⊙ M) + b`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        linear(x, self.masked_weight(), Some(self.bias.val()))
    }

    /// `W ⊙ M`, `[inputs, outputs]`.
    pub fn masked_weight(&self) -> Tensor<2> {
        self.weight.val() * self.mask.clone()
    }

    /// The raw weight `W`, `[inputs, outputs]`.
    pub fn weight(&self) -> Tensor<2> {
        self.weight.val()
    }

    /// The bias, `[outputs]`.
    pub fn bias(&self) -> Tensor<1> {
        self.bias.val()
    }

    /// The mask as a `0/1` tensor, `[inputs, outputs]`.
    pub fn mask(&self) -> Tensor<2> {
        self.mask.clone()
    }

    /// Replaces the mask (same shape), keeping the weights.
    ///
    /// # Panics
    /// When the mask's shape differs from the weight's.
    pub fn with_mask(mut self, mask: &Mask) -> Self {
        assert_eq!(
            [mask.inputs(), mask.outputs()],
            self.mask.dims(),
            "a replacement mask must have the layer's shape"
        );
        self.mask = mask_tensor(mask, &self.mask.device());
        self
    }
}

fn mask_tensor(mask: &Mask, device: &Device) -> Tensor<2> {
    Tensor::from_data(
        TensorData::new(mask.to_f32(), [mask.inputs(), mask.outputs()]),
        device,
    )
}
