//! [`on_workers`]: run a block of CPU work on the thread pool that does its parallel parts.

/// Runs `work` on a worker thread of rayon's global pool and returns its result.
///
/// burn's `flex` CPU backend and nflow's own kernels (the MADE's block products, the host
/// transformers, [`FusedAdam`](https://docs.rs/nflow-train)) split their large operations across
/// that pool. Called from a thread outside it (a program's main thread), each such operation is
/// handed to the pool and the caller sleeps until it is done: one wake-up and one sleep per
/// operation, a few hundred per training step. Inside `work` the operations start on a worker,
/// which runs its share at once while the other workers take the rest. Call it around a whole
/// unit of work (a training step: loss, backward, optimiser step), not around single operations.
/// From a thread already in the pool it simply calls `work`.
///
/// On a 2-core Intel Xeon the benchmark's training step (256 rows, 5 affine layers, D × H =
/// 63 × 256) took about 10 % less time run this way (`docs/performance.md`, session 10).
/// [`Trainer`](https://docs.rs/nflow-train) runs each of its steps through it.
///
/// ```
/// let sum: u64 = nflow_core::on_workers(|| (1..=10u64).sum());
/// assert_eq!(sum, 55);
/// ```
pub fn on_workers<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    rayon::scope(|_| work())
}
