//! `cargo bench -p nflow-bench`: every op of the peer matrix under divan.
//!
//! Compare with the peers under the same allocator setting they use (see `docs/performance.md`:
//! glibc's default mmap threshold makes large-batch calls 1.6-2.3× slower):
//! `GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824 cargo bench -p nflow-bench`

use nflow_bench::{CONFIGS, Case, Op};

fn main() {
    divan::main();
}

fn bench(bencher: divan::Bencher, op: Op, config: usize) {
    let (d, h) = CONFIGS[config];
    let mut case = Case::new(op, d, h);
    case.run();
    bencher.bench_local(|| divan::black_box(case.run()));
}

/// `CONFIGS` index: 0 = 2×256, 1 = 8×256, 2 = 21×256, 3 = 63×256, 4 = 63×512.
#[divan::bench(args = [0, 1, 2, 3, 4], sample_count = 10)]
fn maf_log_prob(bencher: divan::Bencher, config: usize) {
    bench(bencher, Op::MafLogProb, config);
}

#[divan::bench(args = [0, 1, 2, 3, 4], sample_count = 10)]
fn maf_sample(bencher: divan::Bencher, config: usize) {
    bench(bencher, Op::MafSample, config);
}

#[divan::bench(args = [0, 1, 2, 3, 4], sample_count = 10)]
fn iaf_sample(bencher: divan::Bencher, config: usize) {
    bench(bencher, Op::IafSample, config);
}

#[divan::bench(args = [0, 1, 2, 3, 4], sample_count = 10)]
fn iaf_log_prob(bencher: divan::Bencher, config: usize) {
    bench(bencher, Op::IafLogProb, config);
}

#[divan::bench(args = [0, 1, 2, 3, 4], sample_count = 10)]
fn maf_train_step(bencher: divan::Bencher, config: usize) {
    bench(bencher, Op::MafTrainStep, config);
}
