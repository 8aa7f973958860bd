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
use nflow_bench::{CONFIGS, Case, LAYERS, Op};
use plotters::prelude::*;
use serde::Deserialize;

/// The allocator setting the peer driver uses for every peer (see ../shared/peer/README.md).
const GLIBC_TUNABLES: &str =
    "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824";

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
    /// Only these ops, e.g. `maf_log_prob,nsf_train_step` (default: all eight).
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
    eprintln!(
        "running the peers (zuko, nflows) with {} ...",
        script.display()
    );
    let status = Command::new(python)
        .arg(script)
        .args([
            "--peers",
            "zuko,nflows",
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

fn plot(
    path: &Path,
    results: &[Measurement],
    peers: &HashMap<(String, String, usize, usize), f64>,
) -> Result<(), Box<dyn std::error::Error>> {
    let with_text = font::load_font();
    let root = BitMapBackend::new(path, (900, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    let h256: Vec<&Measurement> = results.iter().filter(|m| m.h == 256).collect();
    let max = results.iter().map(|m| m.ms_median).fold(1.0, f64::max) * 2.0;
    let min = results
        .iter()
        .map(|m| m.ms_median)
        .fold(f64::INFINITY, f64::min)
        / 2.0;
    let mut builder = ChartBuilder::on(&root);
    builder.margin(15);
    if with_text {
        builder
            .caption(
                "nflow on flex, 2 threads: ms per call (H = 256; zuko dashed)",
                ("sans-serif", 20),
            )
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
    let colours = [
        RGBColor(31, 119, 180),
        RGBColor(214, 39, 40),
        RGBColor(44, 160, 44),
        RGBColor(148, 103, 189),
    ];
    for (op, colour) in Op::ALL[..4].iter().zip(colours) {
        let points: Vec<(f64, f64)> = h256
            .iter()
            .filter(|m| m.op == *op)
            .map(|m| (m.d as f64, m.ms_median))
            .collect();
        let series = chart.draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))?;
        if with_text {
            series.label(op.name()).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
        }
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 4, colour.filled())))?;
        let zuko: Vec<(f64, f64)> = [2usize, 8, 21, 63]
            .iter()
            .filter_map(|&d| {
                peers
                    .get(&("zuko".into(), op.name().into(), d, 256))
                    .map(|&ms| (d as f64, ms))
            })
            .collect();
        for pair in zuko.windows(2) {
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
    if with_text {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperLeft)
            .draw()?;
    }
    root.present()?;
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    // Measure under the allocator setting the peers use, by re-running ourselves with it.
    if std::env::var("GLIBC_TUNABLES").is_err() {
        let status = Command::new(std::env::current_exe()?)
            .args(std::env::args().skip(1))
            .env("GLIBC_TUNABLES", GLIBC_TUNABLES)
            .status()?;
        std::process::exit(status.code().unwrap_or(1));
    }
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
    let started = Instant::now();
    let mut results = Vec::new();
    for &(d, h) in &configs {
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
    }
    let nflow_seconds = started.elapsed().as_secs_f64();

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
    } else {
        let op_names: Vec<&str> = Op::ALL
            .iter()
            .filter_map(|op| op.peer_name())
            .filter(|name| args.ops.is_empty() || args.ops.iter().any(|o| o == name))
            .collect();
        match run_peers(&python, &args.peer_script, &configs, &op_names) {
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

    // The table.
    let mut md = String::new();
    md.push_str("# Benchmarks: MAF vs IAF, and nflow against its peers\n\n");
    md.push_str(&format!(
        "Written by `cargo run --release -p nflow-bench --bin report` on {} ({} threads, burn flex backend, f32; \
         `GLIBC_TUNABLES={GLIBC_TUNABLES}` as for the peers). Every flow: {LAYERS} masked \
         autoregressive layers (affine for `maf_*` / `iaf_*`; for `nsf_*` a rational-quadratic spline, 8 bins \
         on [−5, 5], identity tails), reverse permutations, MADE D → H → H → kD with ReLU (k = 2 or 23), \
         standard-normal base (the architecture of `../shared/peer/bench_flows.py`). Each figure is the median of ≥ 5 calls after \
         two warm-up calls. Evaluation batches have 1024 rows, the training step 256 (log_prob, mean NLL, \
         backward, Adam).\n\n",
        nflow_core::cpu_model(),
        threads
    ));
    if !peer_note.is_empty() {
        md.push_str(&format!("{peer_note}\n\n"));
    } else {
        md.push_str(
            "Peers measured in the same invocation (`bench_flows.py --peers zuko,nflows`). Ratios are \
             **peer time / nflow time**: above 1, nflow is faster.\n\n",
        );
    }
    md.push_str("| op | D | H | passes / layer | nflow ms | rows/s | zuko ms | nflows ms | nflow/zuko | nflow/nflows |\n");
    md.push_str("|---|---|---|---|---|---|---|---|---|---|\n");
    for m in &results {
        let zuko = peers.get(&("zuko".into(), m.op.name().into(), m.d, m.h));
        let nflows = peers.get(&("nflows".into(), m.op.name().into(), m.d, m.h));
        let cell = |v: Option<&f64>| v.map_or("–".to_string(), |v| format!("{v:.3}"));
        let ratio =
            |v: Option<&f64>| v.map_or("–".to_string(), |v| format!("{:.2}", v / m.ms_median));
        md.push_str(&format!(
            "| {} | {} | {} | {} | {:.3} | {:.0} | {} | {} | {} | {} |\n",
            m.op.name(),
            m.d,
            m.h,
            m.op.passes_per_layer(),
            m.ms_median,
            m.op.rows() as f64 / (m.ms_median / 1e3),
            cell(zuko),
            cell(nflows),
            ratio(zuko),
            ratio(nflows)
        ));
    }
    md.push_str("\n## The trade-off\n\n| D | H | MAF sample / MAF log_prob | IAF log_prob / IAF sample |\n|---|---|---|---|\n");
    for &(d, h) in &configs {
        let get = |op: Op| {
            results
                .iter()
                .find(|m| m.op == op && m.d == d && m.h == h)
                .map(|m| m.ms_median)
        };
        if let (Some(ml), Some(ms), Some(is), Some(il)) = (
            get(Op::MafLogProb),
            get(Op::MafSample),
            get(Op::IafSample),
            get(Op::IafLogProb),
        ) {
            md.push_str(&format!(
                "| {d} | {h} | {:.1} | {:.1} |\n",
                ms / ml,
                il / is
            ));
        }
    }
    md.push_str("\nWhere the time goes, and what to fix: `docs/performance.md`.\n");
    md.push_str(&format!(
        "\nnflow's matrix took {nflow_seconds:.0} s. Plot: `benchmarks.png` (ms per call against D, log-log, H = 256).\n"
    ));
    std::fs::create_dir_all(&args.out_dir)?;
    std::fs::write(args.out_dir.join("benchmarks.md"), &md)?;
    plot(&args.out_dir.join("benchmarks.png"), &results, &peers)?;
    println!("{md}");
    Ok(())
}
