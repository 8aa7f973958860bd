//! `cargo run --release -p nflow-bench --bin report`: runs the benchmark matrix, runs the Python
//! peers in the same invocation when their virtualenv exists, and writes `docs/benchmarks.md` and
//! `docs/benchmarks.png`.

#[path = "../../../examples/maf_density/src/font.rs"]
mod font;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use clap::Parser;
use nflow_bench::{CONFIGS, Case, GLIBC_TUNABLES, LAYERS, Op};
use plotters::prelude::*;
use serde::Deserialize;

/// The burn version and the features nflow builds it with (the workspace's `Cargo.toml`).
const BURN: &str = "0.22.1";
const BURN_FEATURES: &str = "std, flex, simd, rayon, autodiff, optim, x86-v4";

/// The Python peers measured in the same invocation.
const PEERS: &str = "zuko,nflows,flowjax";
/// Their names in the results.
const PEER_NAMES: [&str; 3] = ["zuko", "nflows", "flowjax"];

#[derive(Parser, Debug)]
#[command(
    about = "Benchmark MAF / IAF ops across D, run the Python peers, write docs/benchmarks.md and .png"
)]
struct Args {
    /// Seconds of timed calls per measurement (at least 5 calls).
    #[arg(long, default_value_t = 0.8)]
    target_s: f64,
    /// Only these configs, e.g. `63x512,2x256` (default: all five).
    #[arg(long, value_delimiter = ',')]
    configs: Vec<String>,
    /// Only these ops, e.g. `maf_log_prob,nsf_train_step` (default: all).
    #[arg(long, value_delimiter = ',')]
    ops: Vec<String>,
    /// Skip the peers even if their virtualenv exists.
    #[arg(long)]
    no_peers: bool,
    /// Python of the peer virtualenv (created by `bash ../shared/peer/setup.sh`).
    #[arg(long)]
    peer_python: Option<PathBuf>,
    /// The peer benchmark script.
    #[arg(long, default_value = "../shared/peer/bench_flows.py")]
    peer_script: PathBuf,
    /// Where to write benchmarks.md and benchmarks.png.
    #[arg(long, default_value = "docs")]
    out_dir: PathBuf,
}

#[derive(Debug, Clone)]
struct Measurement {
    op: Op,
    d: usize,
    h: usize,
    ms_median: f64,
    ms_min: f64,
    reps: usize,
}

#[derive(Debug, Deserialize)]
struct PeerLine {
    peer: String,
    op: String,
    #[serde(rename = "D")]
    d: Option<usize>,
    hidden: Option<usize>,
    ms_median: f64,
}

fn measure(op: Op, d: usize, h: usize, target_s: f64) -> Measurement {
    let mut case = Case::new(op, d, h);
    // Warm-up: two calls (allocator, thread pool, autodiff graph).
    case.run();
    case.run();
    let mut times = Vec::new();
    let start = Instant::now();
    while times.len() < 5 || start.elapsed().as_secs_f64() < target_s {
        let t = Instant::now();
        std::hint::black_box(case.run());
        times.push(t.elapsed().as_secs_f64() * 1e3);
        if times.len() >= 200 {
            break;
        }
    }
    times.sort_by(f64::total_cmp);
    Measurement {
        op,
        d,
        h,
        ms_median: times[times.len() / 2],
        ms_min: times[0],
        reps: times.len(),
    }
}

fn default_peer_python() -> PathBuf {
    let home = std::env::var("HOME").unwrap_or_default();
    let cache = std::env::var("XDG_CACHE_HOME").unwrap_or_else(|_| format!("{home}/.cache"));
    Path::new(&cache).join("nflow-peer-venv/bin/python")
}

fn run_peers(
    python: &Path,
    script: &Path,
    configs: &[(usize, usize)],
    ops: &[&str],
) -> Result<Vec<PeerLine>, String> {
    let out = std::env::temp_dir().join(format!("nflow-peer-{}.jsonl", std::process::id()));
    let config_arg: Vec<String> = configs.iter().map(|(d, h)| format!("{d}x{h}")).collect();
    eprintln!("running the peers ({PEERS}) with {} ...", script.display());
    let status = Command::new(python)
        .arg(script)
        .args([
            "--peers",
            PEERS,
            "--no-gemm",
            "--configs",
            &config_arg.join(","),
            "--ops",
            &ops.join(","),
        ])
        .arg("--out")
        .arg(&out)
        .status()
        .map_err(|e| format!("cannot start {}: {e}", python.display()))?;
    if !status.success() {
        return Err(format!("the peer benchmark exited with {status}"));
    }
    let text = std::fs::read_to_string(&out).map_err(|e| format!("no peer results: {e}"))?;
    let _ = std::fs::remove_file(&out);
    Ok(text
        .lines()
        .filter_map(|l| serde_json::from_str::<PeerLine>(l).ok())
        .filter(|p| p.d.is_some() && p.hidden.is_some())
        .collect())
}

/// A log-log chart of ms per call against D.
type LogChart<'a, 'b> =
    ChartContext<'a, BitMapBackend<'b>, Cartesian2d<LogCoord<f64>, LogCoord<f64>>>;

/// The log-log chart both plots draw on: D from 1.5 to 80, ms from `min` to `max`; the caption
/// and axis labels only when a font loaded (`with_text`).
fn log_log_chart<'a, 'b>(
    root: &'a DrawingArea<BitMapBackend<'b>, plotters::coord::Shift>,
    caption: &str,
    (min, max): (f64, f64),
    with_text: bool,
) -> Result<LogChart<'a, 'b>, Box<dyn std::error::Error>> {
    let mut builder = ChartBuilder::on(root);
    builder.margin(15);
    if with_text {
        builder
            .caption(caption, ("sans-serif", 20))
            .x_label_area_size(40)
            .y_label_area_size(60);
    }
    let mut chart =
        builder.build_cartesian_2d((1.5f64..80f64).log_scale(), (min..max).log_scale())?;
    if with_text {
        chart
            .configure_mesh()
            .x_desc("D (features)")
            .y_desc("ms per call")
            .draw()?;
    }
    Ok(chart)
}

/// One named series: a line with a marker at each point, and its legend entry.
fn draw_line(
    chart: &mut LogChart<'_, '_>,
    name: &str,
    points: &[(f64, f64)],
    colour: RGBColor,
    with_text: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let series = chart.draw_series(LineSeries::new(points.to_vec(), colour.stroke_width(2)))?;
    if with_text {
        series.label(name).legend(move |(x, y)| {
            PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
        });
    }
    chart.draw_series(points.iter().map(|&p| Circle::new(p, 4, colour.filled())))?;
    Ok(())
}

/// Draws the legend (when a font loaded) and writes the file.
fn finish<'a, 'b: 'a>(
    mut chart: LogChart<'a, 'b>,
    with_text: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    if with_text {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperLeft)
            .draw()?;
    }
    chart.plotting_area().present()?;
    Ok(())
}

/// zuko's times for peer op `op` at H = 256, as (D, ms) points.
fn zuko_at_256(peers: &HashMap<(String, String, usize, usize), f64>, op: &str) -> Vec<(f64, f64)> {
    [2usize, 8, 21, 63]
        .iter()
        .filter_map(|&d| {
            peers
                .get(&("zuko".into(), op.into(), d, 256))
                .map(|&ms| (d as f64, ms))
        })
        .collect()
}

/// ms per call against D (H = 256) for the four MAF / IAF ops, zuko's dashed beside them.
fn plot(
    path: &Path,
    results: &[Measurement],
    peers: &HashMap<(String, String, usize, usize), f64>,
) -> Result<(), Box<dyn std::error::Error>> {
    let with_text = font::load_font();
    let root = BitMapBackend::new(path, (900, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    let max = results.iter().map(|m| m.ms_median).fold(1.0, f64::max) * 2.0;
    let min = results
        .iter()
        .map(|m| m.ms_median)
        .fold(f64::INFINITY, f64::min)
        / 2.0;
    let mut chart = log_log_chart(
        &root,
        "nflow on flex, 2 threads: ms per call (H = 256; zuko dashed)",
        (min, max),
        with_text,
    )?;
    let colours = [
        RGBColor(31, 119, 180),
        RGBColor(214, 39, 40),
        RGBColor(44, 160, 44),
        RGBColor(148, 103, 189),
    ];
    let ops = [Op::MafLogProb, Op::MafSample, Op::IafSample, Op::IafLogProb];
    for (op, colour) in ops.iter().zip(colours) {
        let points: Vec<(f64, f64)> = results
            .iter()
            .filter(|m| m.h == 256 && m.op == *op)
            .map(|m| (m.d as f64, m.ms_median))
            .collect();
        draw_line(&mut chart, op.name(), &points, colour, with_text)?;
        for pair in zuko_at_256(peers, op.name()).windows(2) {
            // Dashes: draw every other tenth of the segment.
            for k in (0..10).step_by(2) {
                let f = |t: f64| {
                    (
                        pair[0].0 * (pair[1].0 / pair[0].0).powf(t),
                        pair[0].1 * (pair[1].1 / pair[0].1).powf(t),
                    )
                };
                chart.draw_series(LineSeries::new(
                    vec![f(k as f64 / 10.0), f((k + 1) as f64 / 10.0)],
                    colour.stroke_width(1),
                ))?;
            }
        }
    }
    finish(chart, with_text)
}

/// MAF sampling time against D at H = 256: the incremental inversion, the sequential reference,
/// and zuko (whose inversion is sequential), log-log.
fn plot_sampling(
    path: &Path,
    results: &[Measurement],
    peers: &HashMap<(String, String, usize, usize), f64>,
) -> Result<(), Box<dyn std::error::Error>> {
    let with_text = font::load_font();
    let root = BitMapBackend::new(path, (900, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    let series_of = |op: Op| -> Vec<(f64, f64)> {
        results
            .iter()
            .filter(|m| m.op == op && m.h == 256)
            .map(|m| (m.d as f64, m.ms_median))
            .collect()
    };
    let lines = [
        (
            "nflow, incremental",
            series_of(Op::MafSample),
            RGBColor(31, 119, 180),
        ),
        (
            "nflow, sequential",
            series_of(Op::MafSampleSequential),
            RGBColor(214, 39, 40),
        ),
        (
            "zuko (sequential)",
            zuko_at_256(peers, "maf_sample"),
            RGBColor(120, 120, 120),
        ),
        (
            "nflow MAF log_prob",
            series_of(Op::MafLogProb),
            RGBColor(44, 160, 44),
        ),
    ];
    let all: Vec<f64> = lines
        .iter()
        .flat_map(|(_, p, _)| p.iter().map(|q| q.1))
        .collect();
    if all.is_empty() {
        return Ok(());
    }
    let max = all.iter().copied().fold(1.0, f64::max) * 2.0;
    let min = all.iter().copied().fold(f64::INFINITY, f64::min) / 2.0;
    let mut chart = log_log_chart(
        &root,
        "MAF sampling, 1024 rows, H = 256: ms per call against D",
        (min, max),
        with_text,
    )?;
    for (name, points, colour) in &lines {
        draw_line(&mut chart, name, points, *colour, with_text)?;
    }
    finish(chart, with_text)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    // Measure under the allocator setting the peers use, by re-running ourselves with it.
    nflow_bench::under_peer_allocator()?;
    let configs: Vec<(usize, usize)> = if args.configs.is_empty() {
        CONFIGS.to_vec()
    } else {
        args.configs
            .iter()
            .map(|c| {
                let (d, h) = c.split_once('x').ok_or("configs look like 63x512")?;
                Ok((d.parse()?, h.parse()?))
            })
            .collect::<Result<_, Box<dyn std::error::Error>>>()?
    };
    let threads = std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| {
        std::thread::available_parallelism()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| "?".into())
    });
    let python = args.peer_python.clone().unwrap_or_else(default_peer_python);
    let mut peer_note = String::new();
    let mut peers: HashMap<(String, String, usize, usize), f64> = HashMap::new();
    if args.no_peers {
        peer_note = "Peers skipped (`--no-peers`).".into();
    } else if !python.exists() {
        peer_note = format!(
            "No peer virtualenv at `{}`: create it with `bash ../shared/peer/setup.sh` (about 2.5 GB, \
             1-2 minutes), then rerun this command to get nflow/zuko and nflow/nflows ratios.",
            python.display()
        );
        eprintln!("{peer_note}");
    }
    let peer_ops: Vec<&str> = Op::ALL
        .iter()
        .filter_map(|op| op.peer_name())
        .filter(|name| args.ops.is_empty() || args.ops.iter().any(|o| o == name))
        .collect();

    // Config by config: nflow's cells, then the peers' cells of the same config, so that the two
    // sides of a ratio are measured minutes apart rather than the whole matrix apart.
    let started = Instant::now();
    let mut nflow_seconds = 0.0;
    let mut results = Vec::new();
    for &(d, h) in &configs {
        let nflow_started = Instant::now();
        for op in Op::ALL {
            if !args.ops.is_empty() && !args.ops.iter().any(|o| o == op.name()) {
                continue;
            }
            let m = measure(op, d, h, args.target_s);
            eprintln!(
                "{:>15} D={d:>2} H={h}: {:>9.3} ms (min {:.3}, {} calls)",
                op.name(),
                m.ms_median,
                m.ms_min,
                m.reps
            );
            results.push(m);
        }
        nflow_seconds += nflow_started.elapsed().as_secs_f64();
        if !peer_note.is_empty() || peer_ops.is_empty() {
            continue;
        }
        match run_peers(&python, &args.peer_script, &[(d, h)], &peer_ops) {
            Ok(lines) => {
                for p in lines {
                    peers.insert(
                        (p.peer, p.op, p.d.unwrap_or(0), p.hidden.unwrap_or(0)),
                        p.ms_median,
                    );
                }
            }
            Err(e) => {
                peer_note = format!("The peer run failed: {e}");
                eprintln!("{peer_note}");
            }
        }
    }
    let total_minutes = started.elapsed().as_secs_f64() / 60.0;

    // The table.
    let peer = |name: &str, op: Op, d: usize, h: usize| -> Option<f64> {
        op.peer_name()
            .and_then(|o| peers.get(&(name.to_string(), o.to_string(), d, h)).copied())
    };
    let mut md = String::new();
    md.push_str("# Benchmarks: MAF vs IAF, and nflow against its peers\n\n");
    md.push_str(&format!(
        "Written by `cargo run --release -p nflow-bench --bin report` on **{}** ({} logical CPUs; \
         nflow on {} threads, burn {BURN} with the `flex` backend and features {BURN_FEATURES}, \
         f32; `GLIBC_TUNABLES={GLIBC_TUNABLES}` as for the peers). Every flow: {LAYERS} masked \
         autoregressive layers (affine for `maf_*` / `iaf_*`; for `nsf_*` a rational-quadratic spline, 8 bins \
         on [−5, 5], identity tails), reverse permutations, MADE D → H → H → kD with ReLU (k = 2 or 23), \
         standard-normal base (the architecture of `../shared/peer/bench_flows.py`). Each figure is the median of ≥ 5 calls after \
         two warm-up calls. Evaluation batches have 1024 rows, the training step 256 (log_prob, mean NLL, \
         backward, Adam).\n\n",
        nflow_core::cpu_model(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        threads
    ));
    if !peer_note.is_empty() {
        md.push_str(&format!("{peer_note}\n\n"));
    } else {
        md.push_str(&format!(
            "Peers measured in the same invocation (`bench_flows.py --peers {PEERS}`). The last column is \
             **best peer time / nflow time**: above 1, nflow is faster than every peer. The run goes \
             config by config: nflow's cells of a config, then the peers' cells of the same config \
             ({total_minutes:.0} minutes in all), so the two sides of a ratio are minutes apart; on a \
             machine whose speed drifts (a shared virtual machine) a ratio still moves between runs, \
             so compare runs (`docs/performance.md` keeps several) before trusting one near 1.\n\n"
        ));
    }
    md.push_str(
        "MADE work per layer: *1 pass*; *D steps* (the incremental inversion, nflow's default: \
         each hidden unit computed once over D small steps); *D passes* (the sequential reference, \
         `Inversion::Sequential`, and every peer's inversion).\n\n",
    );
    md.push_str("| op | D | H | MADE work / layer | nflow ms | rows/s | zuko ms | nflows ms | FlowJAX ms | best peer / nflow |\n");
    md.push_str("|---|---|---|---|---|---|---|---|---|---|\n");
    let cell = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v:.3}"));
    for m in &results {
        let times: Vec<Option<f64>> = PEER_NAMES.iter().map(|p| peer(p, m.op, m.d, m.h)).collect();
        let best = times.iter().flatten().copied().reduce(f64::min);
        md.push_str(&format!(
            "| {} | {} | {} | {} | {:.3} | {:.0} | {} | {} | {} | {} |\n",
            m.op.name(),
            m.d,
            m.h,
            m.op.passes_per_layer(),
            m.ms_median,
            m.op.rows() as f64 / (m.ms_median / 1e3),
            cell(times[0]),
            cell(times[1]),
            cell(times[2]),
            best.map_or("–".to_string(), |b| format!("{:.2}", b / m.ms_median)),
        ));
    }
    let get = |op: Op, d: usize, h: usize| {
        results
            .iter()
            .find(|m| m.op == op && m.d == d && m.h == h)
            .map(|m| m.ms_median)
    };
    md.push_str(
        "\n## The trade-off, and the fast inversion\n\n\
         A MAF scores data in one MADE pass per layer and must invert itself to sample; an IAF is the \
         mirror image. Every peer inverts by D full MADE passes (*sequential*), so its slow direction \
         costs about D times its fast one. nflow's default *incremental* inversion computes each hidden \
         unit once, in D small steps: the slow direction costs about one pass. Times in ms, 1024 rows; \
         ratios are slow direction / fast direction.\n\n\
         | D | H | MAF log_prob | MAF sample, incremental | MAF sample, sequential | zuko MAF sample | ratio incremental | ratio sequential | zuko's ratio | IAF sample | IAF log_prob, incremental | IAF log_prob, sequential | ratio incremental | ratio sequential |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => format!("{:.1}", a / b),
        _ => "–".into(),
    };
    for &(d, h) in &configs {
        let (ml, ms, mq) = (
            get(Op::MafLogProb, d, h),
            get(Op::MafSample, d, h),
            get(Op::MafSampleSequential, d, h),
        );
        let (is, il, iq) = (
            get(Op::IafSample, d, h),
            get(Op::IafLogProb, d, h),
            get(Op::IafLogProbSequential, d, h),
        );
        let (zs, zl) = (
            peer("zuko", Op::MafSample, d, h),
            peer("zuko", Op::MafLogProb, d, h),
        );
        if ml.is_none() && is.is_none() {
            continue;
        }
        md.push_str(&format!(
            "| {d} | {h} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            cell(ml),
            cell(ms),
            cell(mq),
            cell(zs),
            ratio(ms, ml),
            ratio(mq, ml),
            ratio(zs, zl),
            cell(is),
            cell(il),
            cell(iq),
            ratio(il, is),
            ratio(iq, is),
        ));
    }
    md.push_str(
        "\nPlot: `sampling.png` (MAF sampling time against D, H = 256: incremental, sequential, zuko).\n",
    );
    md.push_str("\nWhere the time goes, and what to fix: `docs/performance.md`.\n");
    md.push_str(&format!(
        "\nnflow's matrix took {nflow_seconds:.0} s. Plot: `benchmarks.png` (ms per call against D, log-log, H = 256).\n"
    ));
    std::fs::create_dir_all(&args.out_dir)?;
    std::fs::write(args.out_dir.join("benchmarks.md"), &md)?;
    plot(&args.out_dir.join("benchmarks.png"), &results, &peers)?;
    plot_sampling(&args.out_dir.join("sampling.png"), &results, &peers)?;
    println!("{md}");
    Ok(())
}
