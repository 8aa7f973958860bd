//! [`FusedAdam`]: Adam and AdamW as one pass over each parameter on the CPU.

use burn::grad_clipping::GradientClipping;
use burn::optim::{
    AdamConfig, AdamState, AdaptiveMomentumState, LearningRate, ModuleOptimizer, Optimizer,
};
use burn::tensor::{DType, Device, Element, Tensor, TensorData};
use rayon::prelude::*;

/// Elements per parallel task of the host update (64 KiB of each `f32` operand: a 63×512 MADE's
/// smaller weights split across threads too).
const CHUNK: usize = 1 << 14;

/// Adam (Kingma & Ba 2015), with AdamW's decoupled weight decay when `weight_decay > 0`
/// (Loshchilov & Hutter 2019), computing the same update as burn's `Adam` and `AdamW`:
///
/// ```text
/// m ← β₁ m + (1 − β₁) g,    v ← β₂ v + (1 − β₂) g²,
/// θ ← θ (1 − η λ) − η · m √(1 − β₂ᵗ) / (1 − β₁ᵗ) / (√v + ε √(1 − β₂ᵗ))
/// ```
///
/// burn's optimisers build this from about a dozen tensor ops per parameter, each a pass over
/// memory with its own allocation; on the `flex` CPU device this one reads the parameter, its
/// gradient and both moments once and writes them once, split across threads. On other devices
/// it runs burn's `Adam` (plus the decay). The state is burn's [`AdamState`], so it moves between
/// devices as burn's does.
///
/// A training loop of your own runs faster on the CPU with each whole step (loss, backward,
/// optimiser) inside [`nflow_core::on_workers`], as [`Trainer`](crate::Trainer) runs its steps.
///
/// ```
/// use burn::module::Module;
/// use burn::optim::GradientsParams;
/// use burn::tensor::Tensor;
/// use nflow_core::Distribution;
/// use nflow_flows::MafConfig;
/// use nflow_train::FusedAdam;
///
/// let device = nflow_core::default_device().autodiff();
/// let mut flow = MafConfig::new(2).with_hidden_sizes(vec![8]).init(&device)?;
/// let mut optimizer = FusedAdam::new().init(None);
/// let x = Tensor::<2>::from_floats([[0.5, -1.0], [1.5, 0.2]], &device);
/// let loss = flow.log_prob(x, None)?.mean().neg();
/// let grads = GradientsParams::from_grads(loss.backward(), &flow);
/// flow = optimizer.step(1e-3, flow, grads);
/// assert!(flow.num_params() > 0);
/// # Ok::<(), nflow_core::NflowError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FusedAdam {
    /// Decay of the first moment, `β₁`. Default 0.9.
    pub beta_1: f32,
    /// Decay of the second moment, `β₂`. Default 0.999.
    pub beta_2: f32,
    /// `ε` in the denominator. Default 1e-8.
    pub epsilon: f32,
    /// Decoupled weight decay `λ` (AdamW); 0 for Adam. Default 0.
    pub weight_decay: f32,
}

impl Default for FusedAdam {
    fn default() -> Self {
        Self::new()
    }
}

impl FusedAdam {
    /// Adam with `β = (0.9, 0.999)`, `ε = 1e-8` and no weight decay.
    pub fn new() -> Self {
        Self {
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-8,
            weight_decay: 0.0,
        }
    }

    /// The same with decoupled weight decay `weight_decay` (AdamW).
    pub fn with_weight_decay(mut self, weight_decay: f32) -> Self {
        self.weight_decay = weight_decay;
        self
    }

    /// The optimiser for a whole module, clipping gradients first when `clipping` is given.
    pub fn init(self, clipping: Option<GradientClipping>) -> ModuleOptimizer {
        let optimizer = ModuleOptimizer::from(self);
        match clipping {
            Some(clipping) => optimizer.with_grad_clipping(clipping),
            None => optimizer,
        }
    }

    /// burn's Adam with these settings and no decay: the update off the CPU.
    fn burn_adam(&self) -> burn::optim::Adam {
        AdamConfig::new()
            .with_beta_1(self.beta_1)
            .with_beta_2(self.beta_2)
            .with_epsilon(self.epsilon)
            .build()
    }

    /// The host update of one parameter, in its own float type.
    fn step_host<T: AdamFloat, const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<AdamState<D>>,
    ) -> (Tensor<D>, AdamState<D>) {
        let device = tensor.device();
        let shape = tensor.shape();
        let values = |t: Tensor<D>| -> Vec<T> {
            t.into_data()
                .convert::<T>()
                .try_into_vec::<T>()
                .expect("converted to the parameter's type")
        };
        let (time, moments) = match state {
            Some(state) => {
                let m = state.momentum;
                (m.time + 1, Some((values(m.moment_1), values(m.moment_2))))
            }
            None => (1, None),
        };
        let mut param = values(tensor);
        let grad = values(grad);
        let (mut m1, mut m2) =
            moments.unwrap_or_else(|| (vec![T::zero(); grad.len()], vec![T::zero(); grad.len()]));
        // The scalars as burn computes them (in f32), then in the parameter's type.
        let t = time as i32;
        let bias_correction2_sqrt = (1.0 - self.beta_2.powi(t)).sqrt();
        let scalars = Scalars::<T> {
            b1: T::of(self.beta_1),
            b2: T::of(self.beta_2),
            f1: T::of(1.0 - self.beta_1),
            f2: T::of(1.0 - self.beta_2),
            combined: T::of(bias_correction2_sqrt / (1.0 - self.beta_1.powi(t))),
            eps: T::of(self.epsilon * bias_correction2_sqrt),
            correction_1: T::of(1.0 - self.beta_1.powi(t)),
            correction_2: T::of(1.0 - self.beta_2.powi(t)),
            epsilon: T::of(self.epsilon),
            decoupled: self.weight_decay > 0.0,
            lr: T::of_f64(lr),
            keep: T::of_f64(1.0 - lr * f64::from(self.weight_decay)),
        };
        param
            .par_chunks_mut(CHUNK)
            .zip(m1.par_chunks_mut(CHUNK))
            .zip(m2.par_chunks_mut(CHUNK))
            .zip(grad.par_chunks(CHUNK))
            .for_each(|(((p, m1), m2), g)| scalars.update(p, m1, m2, g));
        let tensor = |v: Vec<T>| Tensor::<D>::from_data(TensorData::new(v, shape.clone()), &device);
        let state = AdamState::new(AdaptiveMomentumState::new(time, tensor(m1), tensor(m2)));
        (tensor(param), state)
    }
}

impl Optimizer for FusedAdam {
    type State<const D: usize> = AdamState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let on_host = tensor.device().without_autodiff() == Device::flex();
        let (tensor, state) = match tensor.dtype() {
            DType::F32 if on_host => self.step_host::<f32, D>(lr, tensor, grad, state),
            DType::F64 if on_host => self.step_host::<f64, D>(lr, tensor, grad, state),
            _ => {
                let decayed = tensor.clone().mul_scalar(lr * f64::from(self.weight_decay));
                let (updated, state) = self.burn_adam().step(lr, tensor, grad, state);
                let updated = if self.weight_decay > 0.0 {
                    updated - decayed
                } else {
                    updated
                };
                (updated, state.expect("Adam keeps a state"))
            }
        };
        (tensor, Some(state))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        AdamState::new(state.momentum.to_device(device))
    }
}

/// The float types the host update runs in, with the arithmetic it needs (in the type itself,
/// so the loop compiles to that type's vector instructions).
trait AdamFloat:
    Element
    + Copy
    + Send
    + Sync
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<Output = Self>
    + std::ops::Div<Output = Self>
{
    fn zero() -> Self;
    fn of(v: f32) -> Self;
    fn of_f64(v: f64) -> Self;
    fn sqrt(self) -> Self;
}

impl AdamFloat for f32 {
    fn zero() -> Self {
        0.0
    }
    fn of(v: f32) -> Self {
        v
    }
    fn of_f64(v: f64) -> Self {
        v as f32
    }
    fn sqrt(self) -> Self {
        f32::sqrt(self)
    }
}

impl AdamFloat for f64 {
    fn zero() -> Self {
        0.0
    }
    fn of(v: f32) -> Self {
        f64::from(v)
    }
    fn of_f64(v: f64) -> Self {
        v
    }
    fn sqrt(self) -> Self {
        f64::sqrt(self)
    }
}

/// One step's constants: the moments' decays and weights, the bias corrections in the two forms
/// burn's `Adam` and `AdamW` use, the learning rate and the decay's keep factor `1 − ηλ`.
struct Scalars<T> {
    b1: T,
    b2: T,
    f1: T,
    f2: T,
    /// Adam: `√(1 − β₂ᵗ) / (1 − β₁ᵗ)` and `ε √(1 − β₂ᵗ)`.
    combined: T,
    eps: T,
    /// AdamW: `1 − β₁ᵗ`, `1 − β₂ᵗ` and `ε`.
    correction_1: T,
    correction_2: T,
    epsilon: T,
    /// Whether this is AdamW (weight decay): its arithmetic, so results match burn's to rounding.
    decoupled: bool,
    lr: T,
    keep: T,
}

impl<T: AdamFloat> Scalars<T> {
    /// Updates one chunk of a parameter and its moments in place, compiled for the CPU's widest
    /// vector instructions (the square roots and divisions vectorise).
    fn update(&self, p: &mut [T], m1: &mut [T], m2: &mut [T], g: &[T]) {
        pulp::Arch::new().dispatch(
            #[inline(always)]
            || self.update_here(p, m1, m2, g),
        );
    }

    #[inline(always)]
    fn update_here(&self, p: &mut [T], m1: &mut [T], m2: &mut [T], g: &[T]) {
        let moments = p.iter_mut().zip(m1).zip(m2).zip(g);
        if self.decoupled {
            // AdamW: θ (1 − ηλ) − η · (m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε).
            for (((p, m1), m2), &g) in moments {
                let m = self.b1 * *m1 + self.f1 * g;
                let v = self.b2 * *m2 + self.f2 * (g * g);
                let delta =
                    (m / self.correction_1) / ((v / self.correction_2).sqrt() + self.epsilon);
                *p = *p * self.keep - delta * self.lr;
                *m1 = m;
                *m2 = v;
            }
        } else {
            for (((p, m1), m2), &g) in moments {
                let m = self.b1 * *m1 + self.f1 * g;
                let v = self.b2 * *m2 + self.f2 * (g * g);
                *p = *p - m * self.combined / (v.sqrt() + self.eps) * self.lr;
                *m1 = m;
                *m2 = v;
            }
        }
    }
}
