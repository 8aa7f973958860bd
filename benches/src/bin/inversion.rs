//! `cargo run --release -p nflow-bench --bin inversion`: what the slow direction of a MAF costs
//! at small and large batches, incremental against sequential, beside the one-pass density.
//!
//! Prints one markdown table (ms per call, median of ≥ 5 calls after two warm-up calls) for the
//! benchmark MAF (5 layers, MADE D → H → H → 2D) at each configuration and batch size. Run it
//! with `RAYON_NUM_THREADS=1` and without to compare one thread against all. Like `report`, it
//! re-runs itself under the peers' allocator setting (`GLIBC_TUNABLES`).

use clap::Parser;
use nflow_core::Distribution;
use nflow_flows::Inversion;
use rand::SeedableRng;
use rand::rngs::StdRng;

#[derive(Parser, Debug)]
#[command(about = "MAF sampling cost at small and large batches: incremental vs sequential")]
struct Args {
    /// Configurations `DxH`.
    #[arg(long, value_delimiter = ',', default_value = "8x256,63x256,63x512")]
    configs: Vec<String>,
    /// Batch sizes.
    #[arg(long, value_delimiter = ',', default_value = "1,16,1024")]
    batches: Vec<usize>,
    /// Seconds of timed calls per figure (at least 5 calls).
    #[arg(long, default_value_t = 0.5)]
    target_s: f64,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    // The allocator setting the peers and `report` use.
    nflow_bench::under_peer_allocator()?;
    let device = nflow_core::default_device();
    let threads = std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| {
        std::thread::available_parallelism().map_or("?".into(), |n| n.to_string())
    });
    println!(
        "MAF sampling on {} ({threads} threads), ms per call:\n",
        nflow_core::cpu_model()
    );
    println!(
        "| D | H | batch | log_prob | sample, incremental | sample, sequential | incremental / log_prob | sequential / incremental |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for config in &args.configs {
        let (d, h) = config.split_once('x').ok_or("configs look like 63x512")?;
        let (d, h): (usize, usize) = (d.parse()?, h.parse()?);
        let fast = nflow_bench::maf(d, h, &device);
        let reference = fast.clone().with_inversion(Inversion::Sequential);
        for &batch in &args.batches {
            let mut rng = StdRng::seed_from_u64(0);
            let x = nflow_core::standard_normal_tensor(batch, d, &mut rng, &device);
            let log_prob = nflow_bench::median_ms(args.target_s, || {
                fast.log_prob_unchecked(x.clone(), None)
                    .sum()
                    .into_scalar::<f64>()
            });
            let mut sample = |flow: &nflow_flows::AutoregressiveFlow| {
                nflow_bench::median_ms(args.target_s, || {
                    flow.sample_unchecked(batch, None, &mut rng)
                        .sum()
                        .into_scalar::<f64>()
                })
            };
            let (incremental, sequential) = (sample(&fast), sample(&reference));
            println!(
                "| {d} | {h} | {batch} | {log_prob:.3} | {incremental:.3} | {sequential:.3} | {:.1} | {:.1} |",
                incremental / log_prob,
                sequential / incremental
            );
        }
    }
    Ok(())
}
