//! The masked linear map on its non-zero blocks only ([`BlockPlan`]), forward and backward, as
//! one burn operation with a hand-written backward on the `flex` CPU backend.
//!
//! burn's dense path computes `x · (W ⊙ M)` as a full matrix product and, in training, the
//! gradients `∂y · (W ⊙ M)ᵀ` and `(xᵀ · ∂y) ⊙ M` as two more, half of every product spent on
//! masked zeros. Here each product runs as a few dense GEMM calls on the staircase of the sorted
//! layout (the `gemm` crate flex itself uses, called with per-block strides), the tasks shared
//! between threads. The weights stay stored in the module's order: each pass gathers them into
//! the sorted layout (masked weights are zero there), and the weight gradient goes back through
//! the same permutation. Activations between hidden layers stay sorted ([`Sorted`]), so only the
//! network's input and output are permuted.
//!
//! The one module of nflow with `unsafe` code: the `gemm` crate takes raw pointers with strides,
//! and the tasks write disjoint blocks of one buffer from several threads.
#![allow(unsafe_code)]

use std::ops::Range;
use std::sync::Arc;

use burn::backend::Flex;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::tensor::{DType, Element, Tensor};
use rayon::prelude::*;

use crate::block_plan::BlockPlan;
use crate::flex_host::{
    FlexAutodiff as Tracked, flex_contiguous as contiguous, flex_tensor, flex_tracked,
    flex_values as host,
};
use crate::host_float::HostFloat;

/// Which sides of a [`block_linear`] carry their units in the plan's sorted order rather than the
/// stored one: a hidden layer's activations stay sorted from one layer to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sorted {
    /// `x` arrives with its columns in sorted order.
    pub input: bool,
    /// `y` leaves with its columns in sorted order.
    pub output: bool,
}

/// A task of [`block_linear`]'s backward step (see there).
enum GradientTask {
    /// Column sums of `∂y` over a range of its columns (the bias gradient).
    Bias(Range<usize>),
    /// `∂x[rows, range] = ∂y[rows, first..] · W[range, first..]ᵀ`.
    Input {
        range: Range<usize>,
        first: usize,
        rows: Range<usize>,
    },
    /// `∂W[range, cols] = x[:, range]ᵀ · ∂y[:, cols]`.
    Weight {
        range: Range<usize>,
        cols: Range<usize>,
    },
}

/// Columns per bias-sum task (at most four tasks).
const TASK_COLUMNS: usize = 128;

/// Multiply-adds below which a product runs on one thread.
const PARALLEL_WORK: usize = 1 << 18;

/// Fewest rows (or columns) in a part of a task cut for threads.
const MIN_PART: usize = 64;

/// `x · (W ⊙ M) + b` through `plan`'s blocks, with autodiff when the weights (or `x`) carry it.
/// `None` when the tensors are not on the `flex` CPU backend in `f32` or `f64`, or use a gradient
/// checkpointing strategy: the caller then takes burn's dense path.
pub(crate) fn block_linear(
    x: &Tensor<2>,
    weight: &Tensor<2>,
    bias: &Tensor<1>,
    plan: &Arc<BlockPlan>,
    sorted: Sorted,
) -> Option<Tensor<2>> {
    match weight.dtype() {
        DType::F32 if x.dtype() == DType::F32 && bias.dtype() == DType::F32 => {
            block_linear_as::<f32>(x, weight, bias, plan, sorted)
        }
        DType::F64 if x.dtype() == DType::F64 && bias.dtype() == DType::F64 => {
            block_linear_as::<f64>(x, weight, bias, plan, sorted)
        }
        _ => None,
    }
}

fn block_linear_as<T: HostFloat>(
    x: &Tensor<2>,
    weight: &Tensor<2>,
    bias: &Tensor<1>,
    plan: &Arc<BlockPlan>,
    sorted: Sorted,
) -> Option<Tensor<2>> {
    let [batch, inputs] = x.dims();
    // An empty batch takes burn's path: the block products would offset pointers into empty
    // buffers.
    if batch == 0 || inputs != plan.inputs() || weight.dims() != [plan.inputs(), plan.outputs()] {
        return None;
    }
    if let (Ok(w), Ok(b)) = (
        weight.clone().try_into_primitive::<Tracked>(),
        bias.clone().try_into_primitive::<Tracked>(),
    ) {
        // An input without autodiff (data fed to trainable weights) joins as a constant.
        let x = flex_tracked(x)?;
        let forward = {
            let (xs, ws, bs) = (
                contiguous::<T>(x.primitive()),
                contiguous::<T>(w.primitive()),
                contiguous::<T>(b.primitive()),
            );
            forward_host::<T>(plan, sorted, batch, host(&xs)?, host(&ws)?, host(&bs)?)
        };
        let output = flex_tensor(forward.y, [batch, plan.outputs()]);
        let x_sorted = match forward.x_sorted {
            Some(gathered) => flex_tensor(gathered, [batch, plan.inputs()]),
            None => contiguous::<T>(x.primitive()),
        };
        let w_sorted = match forward.w_sorted {
            Some(gathered) => SortedWeight::Gathered(Arc::new(gathered)),
            None => SortedWeight::Stored(contiguous::<T>(w.primitive())),
        };
        let state = BlockState {
            plan: plan.clone(),
            sorted,
            batch,
            x_sorted,
            w_sorted,
        };
        let result = match BlockBackward::<T>::default()
            .prepare::<NoCheckpointing>([x.node(), w.node(), b.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish(state, output),
            OpsKind::UnTracked(prep) => prep.finish(output),
        };
        return Some(Tensor::from_primitive::<Tracked>(result));
    }
    let (x, w, b) = (
        x.clone().try_into_primitive::<Flex>().ok()?,
        weight.clone().try_into_primitive::<Flex>().ok()?,
        bias.clone().try_into_primitive::<Flex>().ok()?,
    );
    let (x, w, b) = (
        contiguous::<T>(&x),
        contiguous::<T>(&w),
        contiguous::<T>(&b),
    );
    let forward = forward_host::<T>(plan, sorted, batch, host(&x)?, host(&w)?, host(&b)?);
    Some(Tensor::from_primitive::<Flex>(flex_tensor(
        forward.y,
        [batch, plan.outputs()],
    )))
}

/// What the forward pass leaves for the backward: `x` with sorted columns when it had to be
/// gathered (`None`: `x` itself is sorted), the sorted masked weights when they had to be
/// gathered (`None`: the stored weight is already sorted and zero where masked).
struct ForwardHost<T> {
    y: Vec<T>,
    x_sorted: Option<Vec<T>>,
    w_sorted: Option<Vec<T>>,
}

fn forward_host<T: HostFloat>(
    plan: &BlockPlan,
    sorted: Sorted,
    batch: usize,
    x: &[T],
    weight: &[T],
    bias: &[T],
) -> ForwardHost<T> {
    let (n_in, n_out) = (plan.inputs(), plan.outputs());
    let x_gathered = match plan.row_order() {
        Some(rows) if !sorted.input => Some(permute_columns(x, n_in, rows)),
        _ => None,
    };
    let x_sorted: &[T] = x_gathered.as_deref().unwrap_or(x);
    let w_gathered = (!stored_is_sorted(plan, weight)).then(|| sorted_weight(plan, weight));
    let w_sorted: &[T] = w_gathered.as_deref().unwrap_or(weight);
    let bias_sorted: Vec<T> = match plan.col_order() {
        Some(cols) => cols.iter().map(|&c| bias[c]).collect(),
        None => bias.to_vec(),
    };
    let mut y: Vec<T> = Vec::with_capacity(batch * n_out);
    for _ in 0..batch {
        y.extend_from_slice(&bias_sorted);
    }
    let work = batch * plan.staircase_products();
    let out = SharedMut(y.as_mut_ptr());
    let tasks = split_rows(plan.forward_tasks(), batch, work);
    run_tasks(&tasks, work, |((range, reads), rows)| {
        if *reads == 0 {
            return;
        }
        // y[rows, range] += x[rows, ..reads] · W[..reads, range]
        // SAFETY: the tasks' blocks of `y` are disjoint; the operands are `batch × n_in` and
        // `n_in × n_out` row-major buffers.
        unsafe {
            gemm_accumulate::<T>(
                (rows.len(), range.len(), *reads),
                (
                    out.get().add(rows.start * n_out + range.start),
                    1,
                    n_out as isize,
                ),
                (x_sorted.as_ptr().add(rows.start * n_in), 1, n_in as isize),
                (w_sorted.as_ptr().add(range.start), 1, n_out as isize),
            )
        }
    });
    let y = match plan.col_order() {
        Some(_) if !sorted.output => {
            permute_columns(&y, n_out, plan.col_positions().expect("with the order"))
        }
        _ => y,
    };
    ForwardHost {
        y,
        x_sorted: x_gathered,
        w_sorted: w_gathered,
    }
}

/// Whether the stored weight can serve as the sorted one as it is: the plan keeps the stored
/// order on both sides (hidden units stored by degree, [`HiddenDegrees::Sorted`]) and every masked
/// weight is zero (as a new MADE with one mask set starts them,
/// [`MaskedLinear::with_masked_weights_zeroed`], and training keeps them: their gradient is
/// zero). The check reads only the masked part of each row, `[0, first_output)`.
///
/// [`HiddenDegrees::Sorted`]: crate::HiddenDegrees::Sorted
/// [`MaskedLinear::with_masked_weights_zeroed`]: crate::MaskedLinear::with_masked_weights_zeroed
fn stored_is_sorted<T: HostFloat>(plan: &BlockPlan, weight: &[T]) -> bool {
    if plan.row_order().is_some() || plan.col_order().is_some() {
        return false;
    }
    let n_out = plan.outputs().max(1);
    pulp::Arch::new().dispatch(
        #[inline(always)]
        || {
            // Without an early exit, so each row's test compiles to wide vector compares.
            weight.chunks(n_out).enumerate().all(|(s, row)| {
                !row[..plan.first_output(s)]
                    .iter()
                    .fold(false, |nonzero, &w| nonzero | (w != T::zero()))
            })
        },
    )
}

/// The stored weight `[inputs, outputs]` gathered into the sorted layout, zero where masked.
fn sorted_weight<T: HostFloat>(plan: &BlockPlan, weight: &[T]) -> Vec<T> {
    let (n_in, n_out) = (plan.inputs(), plan.outputs());
    let mut sorted = vec![T::zero(); n_in * n_out];
    sorted
        .par_chunks_mut(n_out)
        .with_min_len(16)
        .enumerate()
        .for_each(|(s, row)| {
            let stored = &weight[plan.row(s) * n_out..][..n_out];
            let first = plan.first_output(s);
            match plan.col_order() {
                None => row[first..].copy_from_slice(&stored[first..]),
                Some(cols) => gather(&mut row[first..], stored, &cols[first..]),
            }
        });
    sorted
}

/// `[rows, n]` with column `j` of the result taken from column `source[j]` of `values`
/// (`source`: a permutation of `0..n`, from a [`BlockPlan`]).
fn permute_columns<T: HostFloat>(values: &[T], n: usize, source: &[usize]) -> Vec<T> {
    let mut out = vec![T::zero(); values.len()];
    for (out, row) in out.chunks_mut(n.max(1)).zip(values.chunks(n.max(1))) {
        gather(out, row, source);
    }
    out
}

/// `out[j] = values[index[j]]` for every `j`, compiled for the CPU's widest SIMD (AVX-512 and
/// AVX2 have gather instructions). `index` must hold entries of a [`BlockPlan`] permutation of
/// `0..values.len()`.
fn gather<T: HostFloat>(out: &mut [T], values: &[T], index: &[usize]) {
    assert!(out.len() <= index.len(), "an index per output");
    let bound = values.len();
    assert!(
        index.len() <= bound,
        "indices of a permutation of the row's entries"
    );
    pulp::Arch::new().dispatch(
        #[inline(always)]
        || {
            for (o, &i) in out.iter_mut().zip(index) {
                debug_assert!(i < bound);
                // SAFETY: a plan's orders and positions are permutations of `0..n` (built by
                // sorting `0..n`, and inverting that), and every caller passes the `n` entries
                // of a row as `values`, so `i < values.len()`.
                *o = unsafe { *values.get_unchecked(i) };
            }
        },
    );
}

/// Into how many parts each of `tasks` tasks is cut along a dimension of `len`: enough for about
/// four tasks per thread, each part at least [`MIN_PART`] long; one when the work runs on one
/// thread anyway.
fn parts(tasks: usize, len: usize, work: usize) -> usize {
    if work < PARALLEL_WORK {
        return 1;
    }
    let wanted = (4 * rayon::current_num_threads()).div_ceil(tasks.max(1));
    wanted.min(len / MIN_PART).max(1)
}

/// `0..len` in `parts` consecutive ranges of nearly equal length.
fn pieces(len: usize, parts: usize) -> impl Iterator<Item = Range<usize>> {
    (0..parts).map(move |p| p * len / parts..(p + 1) * len / parts)
}

/// Every task paired with each of its row blocks (see [`parts`]).
fn split_rows<Task: Clone>(tasks: &[Task], batch: usize, work: usize) -> Vec<(Task, Range<usize>)> {
    let parts = parts(tasks.len(), batch, work);
    tasks
        .iter()
        .flat_map(|task| pieces(batch, parts).map(move |rows| (task.clone(), rows)))
        .collect()
}

/// Runs `task` over `tasks`, across threads when the work is large enough to pay for it.
fn run_tasks<Task: Sync>(tasks: &[Task], work: usize, task: impl Fn(&Task) + Sync + Send) {
    if work >= PARALLEL_WORK && tasks.len() > 1 {
        tasks.par_iter().for_each(task);
    } else {
        tasks.iter().for_each(task);
    }
}

/// A raw pointer the tasks share; each task writes a disjoint part of the buffer.
#[derive(Clone, Copy)]
struct SharedMut<T>(*mut T);

impl<T> SharedMut<T> {
    fn get(self) -> *mut T {
        self.0
    }
}

// SAFETY: the tasks that share it write disjoint elements (see each use).
unsafe impl<T: Send> Send for SharedMut<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for SharedMut<T> {}

/// `dst += lhs · rhs` for an `m × k` by `k × n` product, every operand given as
/// `(pointer, column stride, row stride)`, on one thread (the tasks are the parallel split).
///
/// # Safety
/// Every pointer must address an `m × n`, `m × k`, `k × n` matrix with those strides.
unsafe fn gemm_accumulate<T: HostFloat>(
    (m, n, k): (usize, usize, usize),
    dst: (*mut T, isize, isize),
    lhs: (*const T, isize, isize),
    rhs: (*const T, isize, isize),
) {
    if m == 0 || n == 0 || k == 0 {
        return;
    }
    // SAFETY: forwarded from the caller; `T` is `f32` or `f64`, both `gemm` scalars (`gemm`
    // dispatches on the type itself).
    unsafe {
        gemm::gemm::<T>(
            m,
            n,
            k,
            dst.0,
            dst.1,
            dst.2,
            true,
            lhs.0,
            lhs.1,
            lhs.2,
            rhs.0,
            rhs.1,
            rhs.2,
            T::one(),
            T::one(),
            false,
            false,
            false,
            gemm::Parallelism::None,
        )
    }
}

/// The sorted masked weight the backward step multiplies by: gathered by the forward, or the
/// stored weight itself when it already is (see [`stored_is_sorted`]).
#[derive(Debug, Clone)]
enum SortedWeight<T> {
    Gathered(Arc<Vec<T>>),
    Stored(FlexTensor),
}

impl<T: HostFloat> SortedWeight<T> {
    fn values(&self) -> &[T] {
        match self {
            Self::Gathered(values) => values,
            Self::Stored(tensor) => host(tensor).expect("a contiguous weight of the layer's type"),
        }
    }
}

/// What the backward step keeps from the forward.
#[derive(Debug, Clone)]
struct BlockState<T> {
    plan: Arc<BlockPlan>,
    sorted: Sorted,
    batch: usize,
    x_sorted: FlexTensor,
    w_sorted: SortedWeight<T>,
}

/// The backward step of [`block_linear`] for float type `T`.
#[derive(Debug)]
struct BlockBackward<T>(std::marker::PhantomData<T>);

impl<T> Default for BlockBackward<T> {
    fn default() -> Self {
        Self(std::marker::PhantomData)
    }
}

impl<T: HostFloat + Element + 'static> Backward<Flex, 3> for BlockBackward<T> {
    type State = BlockState<T>;

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_w, node_b] = ops.parents;
        let grad = contiguous::<T>(&grads.consume::<Flex>(&ops.node));
        let state = ops.state;
        let plan = &*state.plan;
        let (n_in, n_out, batch) = (plan.inputs(), plan.outputs(), state.batch);
        let dy = host::<T>(&grad).expect("a contiguous gradient of the layer's float type");
        let dy_sorted = match plan.col_order() {
            Some(cols) if !state.sorted.output => Some(permute_columns(dy, n_out, cols)),
            _ => None,
        };
        let dys: &[T] = dy_sorted.as_deref().unwrap_or(dy);

        // The three gradients' tasks share one parallel region: bias column sums, `∂x` blocks
        // by input range and row block, `∂W` blocks by input range and column block.
        let work = batch * plan.staircase_products();
        let w = state.w_sorted.values();
        let x = host::<T>(&state.x_sorted).expect("a contiguous input of the layer's float type");
        let mut sums = node_b.as_ref().map(|_| vec![T::zero(); n_out]);
        let mut dx = node_x.as_ref().map(|_| vec![T::zero(); batch * n_in]);
        let mut dw_sorted = node_w.as_ref().map(|_| vec![T::zero(); n_in * n_out]);
        let pointer = |buffer: &mut Option<Vec<T>>| {
            SharedMut(
                buffer
                    .as_mut()
                    .map_or(std::ptr::null_mut(), |b| b.as_mut_ptr()),
            )
        };
        let (sums_out, dx_out, dw_out) = (
            pointer(&mut sums),
            pointer(&mut dx),
            pointer(&mut dw_sorted),
        );
        let mut tasks: Vec<GradientTask> = Vec::new();
        if sums.is_some() {
            let parts = (n_out / TASK_COLUMNS).clamp(1, 4);
            tasks.extend(pieces(n_out, parts).map(GradientTask::Bias));
        }
        if dx.is_some() {
            tasks.extend(
                split_rows(plan.backward_tasks(), batch, work)
                    .into_iter()
                    .map(|((range, first), rows)| GradientTask::Input { range, first, rows }),
            );
        }
        if dw_sorted.is_some() {
            // Each input range's suffix of outputs cut into column blocks.
            let parts = parts(plan.backward_tasks().len(), n_out / 2, work);
            tasks.extend(plan.backward_tasks().iter().flat_map(|(range, first)| {
                pieces(n_out - first, parts).map(move |cols| GradientTask::Weight {
                    range: range.clone(),
                    cols: first + cols.start..first + cols.end,
                })
            }));
        }
        run_tasks(&tasks, work, |task| match task {
            GradientTask::Bias(cols) => {
                // Column sums of ∂y in its own layout.
                let mut local = vec![T::zero(); cols.len()];
                for row in dy.chunks(n_out.max(1)) {
                    for (sum, &g) in local.iter_mut().zip(&row[cols.clone()]) {
                        *sum = *sum + g;
                    }
                }
                // SAFETY: the bias tasks' column ranges are disjoint parts of `0..n_out`.
                unsafe {
                    std::ptr::copy_nonoverlapping(
                        local.as_ptr(),
                        sums_out.get().add(cols.start),
                        cols.len(),
                    )
                }
            }
            // dx[rows, range] = dy[rows, first..] · W[range, first..]ᵀ
            // SAFETY: the tasks' blocks of `dx` are disjoint; the operands are row-major
            // `batch × n_out` and `n_in × n_out` buffers.
            GradientTask::Input { range, first, rows } => unsafe {
                gemm_accumulate::<T>(
                    (rows.len(), range.len(), n_out - first),
                    (
                        dx_out.get().add(rows.start * n_in + range.start),
                        1,
                        n_in as isize,
                    ),
                    (
                        dys.as_ptr().add(rows.start * n_out + first),
                        1,
                        n_out as isize,
                    ),
                    (
                        w.as_ptr().add(range.start * n_out + first),
                        n_out as isize,
                        1,
                    ),
                )
            },
            // dW[range, cols] = x[:, range]ᵀ · dy[:, cols]
            // SAFETY: the tasks' blocks of `dW` are disjoint; `x` is `batch × n_in`, `dy` is
            // `batch × n_out`, row-major.
            GradientTask::Weight { range, cols } => unsafe {
                gemm_accumulate::<T>(
                    (range.len(), cols.len(), batch),
                    (
                        dw_out.get().add(range.start * n_out + cols.start),
                        1,
                        n_out as isize,
                    ),
                    (x.as_ptr().add(range.start), n_in as isize, 1),
                    (dys.as_ptr().add(cols.start), 1, n_out as isize),
                )
            },
        });

        if let (Some(node), Some(sums)) = (node_b, sums) {
            // Into the stored order.
            let db = match plan.col_order() {
                Some(_) if state.sorted.output => {
                    permute_columns(&sums, n_out, plan.col_positions().expect("with the order"))
                }
                _ => sums,
            };
            grads.register::<Flex>(node.id, flex_tensor(db, [n_out]));
        }
        if let (Some(node), Some(dx)) = (node_x, dx) {
            let dx = match plan.row_order() {
                Some(_) if !state.sorted.input => {
                    permute_columns(&dx, n_in, plan.row_positions().expect("with the order"))
                }
                _ => dx,
            };
            grads.register::<Flex>(node.id, flex_tensor(dx, [batch, n_in]));
        }
        if let (Some(node), Some(mut dw_sorted)) = (node_w, dw_sorted) {
            // In the stored order already: zero the masked weights' gradients inside the tasks'
            // blocks (the band between a block's first output and each row's own).
            if plan.row_order().is_none() && plan.col_order().is_none() {
                for (range, first) in plan.backward_tasks() {
                    for s in range.clone() {
                        dw_sorted[s * n_out..][*first..plan.first_output(s)].fill(T::zero());
                    }
                }
                grads.register::<Flex>(node.id, flex_tensor(dw_sorted, [n_in, n_out]));
                return;
            }
            // Back to the stored layout, row by row: stored row `i` is sorted row
            // `row_positions[i]`; in it, stored column `c` is sorted column `col_positions[c]`,
            // kept from the row's first fed output on (the mask) and zero before.
            let mut dw = vec![T::zero(); n_in * n_out];
            dw.par_chunks_mut(n_out.max(1))
                .with_min_len(16)
                .enumerate()
                .for_each(|(i, row)| {
                    let s = plan.row_positions().map_or(i, |positions| positions[i]);
                    let first = plan.first_output(s);
                    let source = &dw_sorted[s * n_out..(s + 1) * n_out];
                    match plan.col_positions() {
                        None => row[first..].copy_from_slice(&source[first..]),
                        Some(positions) => {
                            gather(row, source, positions);
                            for (value, &t) in row.iter_mut().zip(positions) {
                                if t < first {
                                    *value = T::zero();
                                }
                            }
                        }
                    }
                });
            grads.register::<Flex>(node.id, flex_tensor(dw, [n_in, n_out]));
        }
    }
}
