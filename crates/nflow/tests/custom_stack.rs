//! A user's own layer beside nflow's: derived as a burn module through the facade's re-export,
//! composed with a built-in MAF by `Then`, passed through the bijector harness, trained by the
//! trainer, and saved / loaded exactly as a model directory through `ModelConfig`.

use nflow::burn; // `#[derive(Module)]` names `burn::…`: nflow's re-export is enough.
use nflow::burn::module::Param;
use nflow::core::testing::{
    HarnessConfig, assert_bijector, configure_f64, params_without_gradient,
};
use nflow::prelude::*;
use nflow::serde::{Deserialize, Serialize};

/// The sinh-arcsinh transformation (Jones & Pewsey 2009), elementwise, with learnable skew `ε`
/// and tail weight `δ = e^{t}`: `x = sinh((asinh z + ε) / δ)`. Heavier or lighter tails than the
/// flow beneath it can give.
#[derive(Module, Debug)]
struct SinhArcsinh {
    skew: Param<Tensor<1>>,
    log_tail: Param<Tensor<1>>,
}

impl SinhArcsinh {
    fn new(skew: &[f64], log_tail: &[f64], device: &Device) -> Self {
        let param = |v: &[f64]| {
            Param::from_tensor(Tensor::<1>::from_data(
                burn::tensor::TensorData::new(v.to_vec(), [v.len()]),
                device,
            ))
        };
        Self {
            skew: param(skew),
            log_tail: param(log_tail),
        }
    }

    fn rows(&self, t: &Param<Tensor<1>>) -> Tensor<2> {
        t.val().unsqueeze_dim(0)
    }
}

/// log cosh(w), stable for large |w|.
fn log_cosh(w: Tensor<2>) -> Tensor<2> {
    let a = w.abs();
    a.clone() + a.mul_scalar(-2.0).exp().log1p() - std::f64::consts::LN_2
}

fn row_sum(t: Tensor<2>) -> Tensor<1> {
    t.sum_dim(1).squeeze_dim(1)
}

impl Bijector for SinhArcsinh {
    fn features(&self) -> usize {
        self.skew.dims()[0]
    }

    fn forward(&self, z: Tensor<2>, _context: Option<&Tensor<2>>) -> (Tensor<2>, Tensor<1>) {
        let (eps, t) = (self.rows(&self.skew), self.rows(&self.log_tail));
        let w = (z.clone().asinh() + eps) * t.clone().neg().exp();
        let ladj = log_cosh(w.clone()) - t - (z.clone() * z).log1p().mul_scalar(0.5);
        (w.sinh(), row_sum(ladj))
    }

    fn inverse(&self, x: Tensor<2>, _context: Option<&Tensor<2>>) -> (Tensor<2>, Tensor<1>) {
        let (eps, t) = (self.rows(&self.skew), self.rows(&self.log_tail));
        let v = x.clone().asinh() * t.clone().exp() - eps;
        let ladj = log_cosh(v.clone()) + t - (x.clone() * x).log1p().mul_scalar(0.5);
        (v.sinh(), row_sum(ladj))
    }
}

/// The config of the whole stack: a built-in MAF, then the user's layer at the data end. (serde's
/// derive through nflow's re-export: no serde dependency of one's own.)
#[derive(Debug, Serialize, Deserialize)]
#[serde(crate = "nflow::serde")]
struct StackConfig {
    flow: AutoregressiveFlowConfig,
    skew: Vec<f64>,
    log_tail: Vec<f64>,
}

type Stack = Flow<Then<Chain<FlowLayer>, SinhArcsinh>, GaussianBase>;

impl ModelConfig for StackConfig {
    type Model = Stack;

    fn init(&self, device: &Device) -> nflow::Result<Stack> {
        let (chain, base) = self.flow.init(device)?.into_parts();
        let tails = SinhArcsinh::new(&self.skew, &self.log_tail, device);
        Flow::new(Then::new(chain, tails)?, base)
    }
}

fn config() -> StackConfig {
    StackConfig {
        flow: MafConfig::new(2)
            .with_layers(2)
            .with_hidden_sizes(vec![16, 16])
            .with_output_init_scale(1.0)
            .with_seed(7),
        skew: vec![0.3, -0.2],
        log_tail: vec![-0.4, 0.25],
    }
}

#[test]
fn a_user_layer_composed_with_a_maf_passes_the_harness() {
    let device = default_device();
    configure_f64(&device);
    let stack = config().init(&device).unwrap();
    let x = Tensor::<2>::from_data(
        burn::tensor::TensorData::new(vec![0.3, -1.2, 2.0, 0.7, -0.4, 0.1], [3, 2]),
        &device,
    );
    assert_bijector(stack.transform(), &x, None, &HarnessConfig::f64());
    assert_bijector(stack.transform().second(), &x, None, &HarnessConfig::f64());
    // The composition is MAF first (base side), then the user's layer (data side).
    let (h, _) = stack.transform().first().forward(x.clone(), None);
    let (direct, _) = stack.transform().second().forward(h, None);
    let (composed, _) = stack.transform().forward(x, None);
    assert_eq!(composed.to_data(), direct.to_data());
}

#[test]
fn the_stack_trains_and_saves_and_loads_exactly() {
    let device = default_device();
    configure_f64(&device);
    let config = config();
    let stack = config.init(&device).unwrap();

    // Every parameter, the user's included, gets a gradient.
    let training = device.clone().autodiff();
    let on_training = stack.clone().to_device(&training).train();
    let x = ToyDataset::Moons
        .sample(64, 1)
        .unwrap()
        .batch(&(0..64).collect::<Vec<_>>(), &training);
    let loss = on_training.log_prob(x, None).unwrap().mean().neg();
    let missing = params_without_gradient(&on_training, &loss.backward());
    assert!(missing.is_empty(), "no gradient for {missing:?}");

    // The trainer fits the stack like any flow.
    let splits = ToyDataset::Moons
        .sample(1500, 0)
        .unwrap()
        .split(0.8, 0.1, 0)
        .unwrap();
    let trainer = Trainer::new(
        TrainerConfig::new()
            .with_max_steps(60)
            .with_eval_every(20)
            .with_batch_size(128)
            .with_progress(false),
    )
    .unwrap();
    let before = nflow::train::mean_nll(&stack, &splits.validation, &device).unwrap();
    let (trained, report) = trainer
        .fit(stack, &splits.train, &splits.validation, &device)
        .unwrap();
    assert!(
        report.best_validation_nll < before,
        "validation NLL {before} -> {}",
        report.best_validation_nll
    );

    // Saved as a model directory, loaded by its config: the same densities and samples.
    let dir = std::env::temp_dir().join(format!("nflow-custom-stack-{}", std::process::id()));
    save_model(&dir, &config, &trained).unwrap();
    let (_, loaded) = load_model::<StackConfig>(&dir, &device).unwrap();
    let test = splits.test.batch(&(0..32).collect::<Vec<_>>(), &device);
    assert_eq!(
        trained.log_prob(test.clone(), None).unwrap().to_data(),
        loaded.log_prob(test, None).unwrap().to_data()
    );
    assert_eq!(
        trained
            .sample(16, None, &mut StdRng::seed_from_u64(4))
            .unwrap()
            .to_data(),
        loaded
            .sample(16, None, &mut StdRng::seed_from_u64(4))
            .unwrap()
            .to_data()
    );
    // The user's parameters were trained and restored (not the initial values).
    let skew: Vec<f64> = loaded
        .transform()
        .second()
        .skew
        .val()
        .to_data()
        .iter::<f64>()
        .collect();
    assert_ne!(skew, config.skew);
    std::fs::remove_dir_all(&dir).unwrap();
}
