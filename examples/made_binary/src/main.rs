//! The original MADE (Germain et al. 2015) on the paper's binary datasets (`dna`, `mushrooms`,
//! `nips`): a Bernoulli MADE trained with early stopping on the validation set, with one mask or
//! with mask sampling (a mask set drawn per minibatch from `K`), and its test NLL for one mask and
//! for the exact `K`-mask ensemble, with ± 2 standard errors.
//!
//! ```text
//! cargo run --release -p made_binary -- --dataset dna                     # one mask
//! cargo run --release -p made_binary -- --dataset dna --masks 1000 --order-agnostic \
//!     --batch-size 100 --lr 1e-3 --weight-decay 0 --max-epochs 3000     # mask sampling
//! ```
//!
//! Early stopping watches the validation NLL of the ensemble of the first `--val-masks` sets.
//! Writes `report.json`, `validation.png` (validation NLL against epochs) and `model/` to
//! `out/made_binary/<dataset>-k<K>/`.

#[path = "../../maf_density/src/font.rs"]
mod font;

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Parser, ValueEnum};
use nflow::prelude::*;
use nflow::train::{EvalRecord, LrSchedule, mean_and_two_standard_errors};
use plotters::prelude::*;
use serde::Serialize;

/// The MADE paper's binary datasets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
enum BinaryDataset {
    /// DNA splice junctions, D = 180.
    Dna,
    /// Mushrooms, D = 112.
    Mushrooms,
    /// NIPS-0-12 word presence, D = 500.
    Nips,
}

impl BinaryDataset {
    fn name(self) -> &'static str {
        match self {
            Self::Dna => "dna",
            Self::Mushrooms => "mushrooms",
            Self::Nips => "nips",
        }
    }

    /// The MADE paper's test NLL (nats): one mask, mask sampling (its Table 2).
    fn paper(self) -> (f64, f64) {
        match self {
            Self::Dna => (83.63, 79.66),
            Self::Mushrooms => (9.68, 9.69),
            Self::Nips => (280.25, 277.28),
        }
    }
}

/// Train a Bernoulli MADE on one of the MADE paper's binary datasets.
#[derive(Debug, Parser)]
#[command(about, long_about = None)]
struct Args {
    /// Dataset.
    #[arg(long, value_enum)]
    dataset: BinaryDataset,
    /// Folder with `<dataset>_{train,valid,test}.csv` (0/1, no header).
    #[arg(long, default_value = "../shared/data/made")]
    data_dir: PathBuf,
    /// Hidden widths, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "500")]
    hidden: Vec<usize>,
    /// Mask sets K: 1 trains one MADE; K > 1 draws a set per minibatch (connectivity-agnostic
    /// training: fresh random hidden degrees per set) and reports the K-mask ensemble.
    #[arg(long, default_value_t = 1)]
    masks: usize,
    /// Mask sets whose ensemble is validated (for early stopping) [default: min(K, 16)].
    #[arg(long)]
    val_masks: Option<usize>,
    /// With --masks > 1, also a fresh random input ordering per mask set.
    #[arg(long)]
    order_agnostic: bool,
    /// No direct input → output connection (the original code's best settings use one).
    #[arg(long)]
    no_direct: bool,
    /// Learning rate (constant; Adam, or AdamW with --weight-decay).
    #[arg(long, default_value_t = 3e-4)]
    lr: f64,
    /// Rows per minibatch.
    #[arg(long, default_value_t = 20)]
    batch_size: usize,
    /// Upper limit on epochs.
    #[arg(long, default_value_t = 500)]
    max_epochs: usize,
    /// Stop after this many epochs without a better validation NLL.
    #[arg(long, default_value_t = 30)]
    patience: usize,
    /// AdamW's decoupled weight decay (0: plain Adam). The defaults (batch 20, rate 3e-4, decay
    /// 0.5) had the best validation NLL of a small grid on dna with one mask (docs/made_binary.md).
    #[arg(long, default_value_t = 0.5)]
    weight_decay: f64,
    /// Seed of the weights, masks and minibatches.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output folder [default: out/made_binary/<dataset>-k<masks>].
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Reads a 0/1 CSV without header.
fn read_binary(path: &Path) -> Result<Dataset, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "{}: {e} (see ../shared/data/made/README.md)",
            path.display()
        )
    })?;
    let mut rows: Vec<Vec<f64>> = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let row = line
            .split(',')
            .enumerate()
            .map(|(j, v)| match v.trim() {
                "0" => Ok(0.0),
                "1" => Ok(1.0),
                other => Err(format!(
                    "{}: line {}, column {}: {other:?} is not 0 or 1",
                    path.display(),
                    i + 1,
                    j + 1
                )),
            })
            .collect::<Result<Vec<f64>, String>>()?;
        rows.push(row);
    }
    Ok(Dataset::from_rows(&rows)?)
}

/// Test NLL per row: mean and two standard errors.
fn nll(log_p: &[f64]) -> (f64, f64) {
    let (mean, two_se) = mean_and_two_standard_errors(log_p);
    (-mean, two_se)
}

#[derive(Serialize)]
struct Report {
    dataset: BinaryDataset,
    features: usize,
    rows: [usize; 3],
    hidden: Vec<usize>,
    direct_connection: bool,
    masks: usize,
    validation_masks: usize,
    order_agnostic: bool,
    connectivity_agnostic: bool,
    learning_rate: f64,
    batch_size: usize,
    weight_decay: f64,
    seed: u64,
    epochs: f64,
    best_epoch: f64,
    best_validation_nll: f64,
    test_nll_one_mask: f64,
    test_nll_one_mask_two_se: f64,
    test_nll_ensemble: f64,
    test_nll_ensemble_two_se: f64,
    paper_one_mask: f64,
    paper_mask_sampling: f64,
    seconds: f64,
    cpu: String,
    history: Vec<EvalRecord>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let name = args.dataset.name();
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("out/made_binary/{name}-k{}", args.masks)));
    std::fs::create_dir_all(&out)?;
    let part = |p: &str| read_binary(&args.data_dir.join(format!("{name}_{p}.csv")));
    let (train, valid, test) = (part("train")?, part("valid")?, part("test")?);
    let d = train.cols();
    println!(
        "{name}: D = {d}, {} / {} / {} rows; MADE {:?}, {} mask set(s)",
        train.rows(),
        valid.rows(),
        test.rows(),
        args.hidden,
        args.masks
    );

    let device = default_device();
    let sampling = args.masks > 1;
    let made = MadeConfig::new(d, args.hidden.clone())
        .with_params_per_dim(1)
        .with_num_mask_sets(args.masks)
        .with_connectivity_agnostic(sampling)
        .with_direct_connection(!args.no_direct)
        .with_order_agnostic(sampling && args.order_agnostic)
        .with_seed(args.seed);
    let model = BernoulliMadeConfig::new(made).init(&device)?;
    let steps_per_epoch = train.rows().div_ceil(args.batch_size).max(1);
    let optimizer = if args.weight_decay > 0.0 {
        nflow::train::OptimizerKind::AdamW
    } else {
        nflow::train::OptimizerKind::Adam
    };
    let trainer = Trainer::new(
        TrainerConfig::new()
            .with_optimizer(optimizer)
            .with_weight_decay(args.weight_decay)
            .with_learning_rate(args.lr)
            .with_schedule(LrSchedule::Constant)
            .with_batch_size(args.batch_size)
            .with_max_steps(args.max_epochs * steps_per_epoch)
            .with_eval_every(steps_per_epoch)
            .with_patience(args.patience)
            .with_seed(args.seed),
    )?;
    // Mask sampling: a random mask set before every step; validation on the ensemble of the first
    // `val_masks` sets.
    let val_masks = args
        .val_masks
        .unwrap_or(args.masks.min(16))
        .clamp(1, args.masks);
    let mut rng = StdRng::seed_from_u64(args.seed ^ 0x6d61_736b);
    let start = Instant::now();
    let (model, report) = trainer.fit_with(model, &train, &valid, &device, |m, phase| {
        let (set, ensemble) = match phase {
            TrainPhase::Step(_) if sampling => (
                nflow::rand::RngExt::random_range(&mut rng, 0..args.masks),
                1,
            ),
            TrainPhase::Step(_) => (0, 1),
            TrainPhase::Evaluate => (0, val_masks),
        };
        m.with_mask_set(set)
            .and_then(|m| m.with_ensemble(ensemble))
            .expect("sets in range")
    })?;
    let model = model.with_ensemble(1)?;
    let seconds = start.elapsed().as_secs_f64();

    let x = test.to_tensor(&device);
    let one: Vec<f64> = model
        .log_prob(x.clone(), None)?
        .to_data()
        .iter::<f64>()
        .collect();
    let ensemble: Vec<f64> = model
        .log_prob_ensemble(x, None)
        .to_data()
        .iter::<f64>()
        .collect();
    let ((one_nll, one_se), (ens_nll, ens_se)) = (nll(&one), nll(&ensemble));
    let (paper_one, paper_sampling) = args.dataset.paper();
    let epoch_of = |step: usize| step as f64 / steps_per_epoch as f64;
    println!(
        "test NLL: one mask {one_nll:.2} ± {one_se:.2}; {}-mask ensemble {ens_nll:.2} ± {ens_se:.2} \
         (paper: {paper_one} one mask, {paper_sampling} mask sampling); best epoch {:.0}, {seconds:.1} s",
        args.masks,
        epoch_of(report.best_step)
    );
    plot_validation(
        &out.join("validation.png"),
        name,
        (args.masks, val_masks),
        &report.history,
    )?;
    model.save(out.join("model"))?;
    let json = Report {
        dataset: args.dataset,
        features: d,
        rows: [train.rows(), valid.rows(), test.rows()],
        hidden: args.hidden.clone(),
        direct_connection: !args.no_direct,
        masks: args.masks,
        validation_masks: val_masks,
        order_agnostic: sampling && args.order_agnostic,
        connectivity_agnostic: sampling,
        learning_rate: args.lr,
        batch_size: args.batch_size,
        weight_decay: args.weight_decay,
        seed: args.seed,
        epochs: epoch_of(report.steps),
        best_epoch: epoch_of(report.best_step),
        best_validation_nll: report.best_validation_nll,
        test_nll_one_mask: one_nll,
        test_nll_one_mask_two_se: one_se,
        test_nll_ensemble: ens_nll,
        test_nll_ensemble_two_se: ens_se,
        paper_one_mask: paper_one,
        paper_mask_sampling: paper_sampling,
        seconds,
        cpu: nflow::core::cpu_model(),
        history: report.history,
    };
    std::fs::write(
        out.join("report.json"),
        serde_json::to_string_pretty(&json)?,
    )?;
    println!("wrote {}", out.display());
    Ok(())
}

/// Validation (and training) NLL against epochs.
fn plot_validation(
    path: &Path,
    name: &str,
    (masks, val_masks): (usize, usize),
    history: &[EvalRecord],
) -> Result<(), Box<dyn std::error::Error>> {
    let with_text = font::load_font();
    let root = BitMapBackend::new(path, (800, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let points = |f: fn(&EvalRecord) -> f64| -> Vec<(f64, f64)> {
        history.iter().map(|r| (r.epoch, f(r))).collect()
    };
    let (val, train) = (points(|r| r.validation_nll), points(|r| r.train_nll));
    let all: Vec<f64> = val.iter().chain(&train).map(|p| p.1).collect();
    let lo = all.iter().copied().fold(f64::INFINITY, f64::min);
    // Early epochs are far above the rest: show from the minimum to a little above the validation
    // curve's tenth point.
    let hi = val
        .get(val.len().min(10).saturating_sub(1))
        .map_or(lo + 1.0, |p| p.1)
        .max(lo + 1.0);
    let x_max = history.last().map_or(1.0, |r| r.epoch);
    let mut builder = ChartBuilder::on(&root);
    builder.margin(15);
    if with_text {
        builder
            .caption(
                format!("MADE on {name}, {masks} mask set(s): NLL (nats) against epochs"),
                ("sans-serif", 20),
            )
            .x_label_area_size(35)
            .y_label_area_size(55);
    }
    let mut chart = builder.build_cartesian_2d(0.0..x_max, lo - 0.02 * (hi - lo)..hi)?;
    if with_text {
        chart
            .configure_mesh()
            .x_desc("epoch")
            .y_desc("NLL")
            .draw()?;
    }
    chart
        .draw_series(LineSeries::new(val, &BLUE))?
        .label(if masks > 1 {
            format!("validation (ensemble of {val_masks} sets)")
        } else {
            "validation".to_string()
        })
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
    chart
        .draw_series(LineSeries::new(train, &RED))?
        .label(if masks > 1 {
            "training (a random set per step)"
        } else {
            "training"
        })
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
    if with_text {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()?;
    }
    root.present()?;
    Ok(())
}
