//! A first look at nflow-core: fit a flow to 2-D Gaussian data by maximum likelihood.
//!
//! The flow is a standard normal pushed through an elementwise affine map `x = z·e^s + b`, so the
//! best fit is known in closed form (`b` = data mean, `e^s` = data standard deviation). The example
//! trains it with Adam on burn's autodiff device, then reports the learned parameters beside the
//! truth, the test negative log-likelihood beside the exact entropy, and moments of seeded samples.
//!
//! Run: `cargo run --release -p nflow-core --example fit_gaussian`

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Tensor, TensorData};
use nflow_core::{Distribution, ElementwiseAffineConfig, Flow, StandardNormal, default_device};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

const MEAN: [f64; 2] = [2.0, -1.0];
const STD: [f64; 2] = [0.5, 3.0];

fn gaussian_data(n: usize, rng: &mut StdRng) -> Vec<f64> {
    (0..n)
        .flat_map(|_| {
            let z: [f64; 2] = [
                rng.sample(rand_distr::StandardNormal),
                rng.sample(rand_distr::StandardNormal),
            ];
            [MEAN[0] + STD[0] * z[0], MEAN[1] + STD[1] * z[1]]
        })
        .collect()
}

fn main() -> Result<(), nflow_core::NflowError> {
    let device = default_device().autodiff();
    let mut rng = StdRng::seed_from_u64(0);
    let train = Tensor::<2>::from_data(
        TensorData::new(gaussian_data(4096, &mut rng), [4096, 2]),
        &device,
    );
    let test = Tensor::<2>::from_data(
        TensorData::new(gaussian_data(4096, &mut rng), [4096, 2]),
        &device,
    );

    let mut flow = Flow::new(
        ElementwiseAffineConfig::new(2).init(&device)?,
        StandardNormal::new(2, &device)?,
    )?;
    let mut optimizer = AdamConfig::new().init();
    let start = std::time::Instant::now();
    for step in 0..=300 {
        let loss = flow.log_prob(train.clone(), None)?.mean().neg();
        if step % 100 == 0 {
            println!(
                "step {step:>3}: train NLL {:.4} nats",
                loss.clone().into_scalar::<f64>()
            );
        }
        let grads = GradientsParams::from_grads(loss.backward(), &flow);
        flow = optimizer.step(0.05, flow, grads);
    }
    println!("trained 300 steps in {:.2?}", start.elapsed());

    let flow = flow.valid();
    let shift: Vec<f64> = flow.transform().shift().to_data().iter::<f64>().collect();
    let scale: Vec<f64> = flow
        .transform()
        .log_scale()
        .exp()
        .to_data()
        .iter::<f64>()
        .collect();
    println!("\n            learned          truth");
    for i in 0..2 {
        println!("mean[{i}]  {:>9.4}  {:>13.4}", shift[i], MEAN[i]);
        println!("std[{i}]   {:>9.4}  {:>13.4}", scale[i], STD[i]);
    }

    let test_nll = flow
        .log_prob(test.valid(), None)?
        .mean()
        .neg()
        .into_scalar::<f64>();
    let entropy: f64 = STD
        .iter()
        .map(|s| 0.5 * (2.0 * std::f64::consts::PI * std::f64::consts::E * s * s).ln())
        .sum();
    println!(
        "\ntest NLL {test_nll:.4} nats; exact entropy of the data distribution {entropy:.4} nats"
    );

    let samples = flow.sample(100_000, None, &mut StdRng::seed_from_u64(1))?;
    let mean: Vec<f64> = samples
        .clone()
        .mean_dim(0)
        .to_data()
        .iter::<f64>()
        .collect();
    let var: Vec<f64> = samples.var(0).to_data().iter::<f64>().collect();
    println!(
        "100k seeded samples: mean [{:.3}, {:.3}], std [{:.3}, {:.3}]",
        mean[0],
        mean[1],
        var[0].sqrt(),
        var[1].sqrt()
    );
    Ok(())
}
