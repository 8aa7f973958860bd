//! Model directories saved before format v1 and before the one-layer design still load, and
//! score their test set exactly as the code that saved them did (fixtures made at commit aeff002,
//! see `fixtures/legacy/expected.json`).

use nflow::prelude::*;

#[test]
fn older_maf_and_iaf_directories_load_and_reproduce_their_test_nll() {
    let expected: nflow::serde_json::Value =
        nflow::serde_json::from_str(include_str!("fixtures/legacy/expected.json")).unwrap();
    let device = default_device();
    let test_set = &expected["test_set"];
    let test = ToyDataset::Moons
        .sample(
            test_set["rows"].as_u64().unwrap() as usize,
            test_set["seed"].as_u64().unwrap(),
        )
        .unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/legacy");
    for (kind, orientation) in [("maf", Orientation::Maf), ("iaf", Orientation::Iaf)] {
        let flow = AutoregressiveFlow::load(dir.join(kind), &device).unwrap();
        assert_eq!(flow.orientation(), orientation);
        assert_eq!(
            flow.config().transformer.get::<AffineTransformer>(),
            Some(&AffineTransformer::new(3.0))
        );
        // Exactly as saved through burn's references (the sequential solve, the dense pass), the
        // computation of the code that saved it; the default host kernels (the IAF's incremental
        // density, the MAF's block-triangular pass) agree to f32 rounding.
        let saved = expected["test_nll"][kind].as_f64().unwrap();
        let reference = flow
            .clone()
            .with_inversion(Inversion::Sequential)
            .with_one_pass(OnePass::Dense);
        let nll = nflow::train::mean_nll(&reference, &test, &device).unwrap();
        assert_eq!(nll, saved, "{kind}: test NLL {nll}, saved {saved}");
        let fast = nflow::train::mean_nll(&flow, &test, &device).unwrap();
        assert!(
            (fast - saved).abs() < 1e-5,
            "{kind}: host kernels {fast}, saved {saved}"
        );
    }
}
