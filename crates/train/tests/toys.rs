//! The toy generators and reference densities: each density integrates to one, and the mean
//! log-density of our samples matches the entropy estimated independently by the Python baseline
//! (`../shared/peer/TOY_QUALITY.md`, `H(p) estimate` column).

use nflow_train::ToyDataset;

fn integrate(toy: ToyDataset, n: usize, margin: f64) -> f64 {
    let (x0, x1, y0, y1) = toy.bounds();
    let (x0, x1, y0, y1) = (x0 - margin, x1 + margin, y0 - margin, y1 + margin);
    let (hx, hy) = ((x1 - x0) / n as f64, (y1 - y0) / n as f64);
    let mut total = 0.0;
    for i in 0..n {
        for j in 0..n {
            let p = [x0 + hx * (i as f64 + 0.5), y0 + hy * (j as f64 + 0.5)];
            total += toy.log_density(p).exp();
        }
    }
    total * hx * hy
}

#[test]
fn reference_densities_integrate_to_one() {
    for (toy, grid, tolerance) in [
        (ToyDataset::EightGaussians, 400, 1e-3),
        (ToyDataset::Moons, 200, 2e-3),
        (ToyDataset::Checkerboard, 400, 1e-9),
        (ToyDataset::Rings, 400, 2e-3),
        (ToyDataset::Pinwheel, 150, 1e-2),
        (ToyDataset::TwoSpirals, 150, 1e-2),
    ] {
        // Checkerboard's grid cells align with its squares: the midpoint rule is exact.
        let margin = if toy == ToyDataset::Checkerboard {
            -0.5
        } else {
            1.0
        };
        let mass = integrate(toy, grid, margin);
        assert!(
            (mass - 1.0).abs() < tolerance,
            "{}: mass {mass}",
            toy.name()
        );
    }
}

#[test]
fn sample_entropy_matches_the_independent_python_estimate() {
    // H(p) estimates (200000 points, ± 2 s.e.) from ../shared/peer/TOY_QUALITY.md.
    let python = [
        (ToyDataset::EightGaussians, 2.832, 0.004),
        (ToyDataset::Moons, 2.394, 0.003),
        (ToyDataset::Checkerboard, 3.466, 0.0),
        (ToyDataset::Pinwheel, 2.319, 0.004),
        (ToyDataset::Rings, 2.621, 0.004),
        (ToyDataset::TwoSpirals, 2.644, 0.003),
    ];
    for (toy, entropy, their_2se) in python {
        let sample = toy.sample(20_000, 7).unwrap();
        let reference = toy.reference(&sample);
        let ours = -reference.mean_log_density;
        let allowed = reference.two_standard_errors + their_2se + 1e-3;
        assert!(
            (ours - entropy).abs() < allowed,
            "{}: ours {ours:.4} ± {:.4}, python {entropy} ± {their_2se}",
            toy.name(),
            reference.two_standard_errors
        );
    }
}

#[test]
fn names_round_trip_and_samples_are_seeded() {
    for toy in ToyDataset::ALL {
        assert_eq!(ToyDataset::from_name(toy.name()), Some(toy));
        assert_eq!(toy.sample(50, 3).unwrap(), toy.sample(50, 3).unwrap());
        assert_ne!(toy.sample(50, 3).unwrap(), toy.sample(50, 4).unwrap());
        assert!(matches!(
            toy.sample(0, 3),
            Err(nflow_core::NflowError::ShapeMismatch { .. })
        ));
    }
    assert_eq!(ToyDataset::from_name("swissroll"), None);
}
