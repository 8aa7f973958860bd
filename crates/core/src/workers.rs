//! [`on_workers`]: run a block of CPU work on the thread pool that does its parallel parts.

use std::sync::atomic::{AtomicBool, Ordering};

/// Runs `work` on a worker thread of rayon's global pool and returns its result, with the
/// pool's other workers waiting for work by spinning until it ends.
///
/// burn's `flex` CPU backend and nflow's own kernels (the MADE's block products, the host
/// transformers, [`FusedAdam`](https://docs.rs/nflow-train)) split their large operations across
/// that pool. Called from a thread outside it (a program's main thread), each such operation is
/// handed to the pool and the caller sleeps until it is done; and between two operations an idle
/// worker soon goes to sleep, to be woken by the next. On a virtual machine each wake-up is a
/// trip through the hypervisor, and a training step has a few hundred of them. Inside `work`
/// every operation starts on a worker, and the other workers keep looking for work (running
/// whatever the operations hand out) instead of sleeping, as OpenMP runtimes' idle threads do
/// for a while by default; they return to rayon's usual sleep when `work` ends. Call it around
/// a whole unit of work (a training step: loss, backward, optimiser step), not around single
/// operations. From a thread already in the pool it simply calls `work`.
///
/// On a 2-core Intel Xeon the benchmark's training step (256 rows, 5 affine layers) took about a
/// fifth less time run this way (`docs/performance.md`, session 10).
/// [`Trainer`](https://docs.rs/nflow-train) runs each of its steps through it.
///
/// ```
/// let sum: u64 = nflow_core::on_workers(|| (1..=10u64).sum());
/// assert_eq!(sum, 55);
/// ```
pub fn on_workers<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    if rayon::current_thread_index().is_some() {
        return work();
    }
    let done = AtomicBool::new(false);
    rayon::scope(|scope| {
        // Set when `work` ends, even by a panic, so the waiting workers always stop.
        let _done = SetOnDrop(&done);
        let here = rayon::current_thread_index();
        for _ in 1..rayon::current_num_threads() {
            let done = &done;
            scope.spawn(move |_| {
                // The worker running `work` may pick this up while it waits inside an operation:
                // it must not wait here for its own work to end.
                if rayon::current_thread_index() == here {
                    return;
                }
                while !done.load(Ordering::Acquire) {
                    if rayon::yield_now() != Some(rayon::Yield::Executed) {
                        std::hint::spin_loop();
                    }
                }
            });
        }
        work()
    })
}

/// Sets the flag when dropped.
struct SetOnDrop<'a>(&'a AtomicBool);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}
