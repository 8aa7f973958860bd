//! [`DegreeSortedMade`]: a host copy of a MADE with every layer's units sorted by degree, evaluated
//! one degree at a time, so that an autoregressive inversion computes each unit once.

use std::ops::Range;

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2, ArrayViewMut2, Axis, Slice};

use crate::activation::Activation;
use crate::block_kernel::accumulate_block;
use crate::host_float::{HostFloat, host_matrix, host_vector};
use crate::made::Made;
use crate::masked_linear::MaskedLinear;

/// A MADE read back to the host with the units of every layer sorted by *level*, for the
/// incremental inversion of a masked autoregressive layer.
///
/// # Levels
///
/// Solving an autoregressive map for its input `y` fixes `y` one feature at a time, in the order
/// of the features' degrees. Call *level* the number of features known when a unit can first be
/// computed: a feature of degree `d` has level `d`, a hidden unit of degree `m` level `m` (it sees
/// features of degree `≤ m` only), and the outputs of the feature of degree `d` level `d − 1`
/// (they see hidden units of degree `< d`). Every unit depends only on units of lower or equal
/// level, so once levels `0..=m` are computed they never change.
///
/// [`DegreeSortedMade::step`] at level `m` computes, in every layer, the block of units of level
/// `m` from the prefix of the layer below with level `≤ m` (a small dense product, the non-zero
/// part of the masked weight), then the outputs of the feature of degree `m + 1`. Over the `D`
/// steps every unit is computed exactly once: the arithmetic of the whole inversion is that of one
/// block-triangular forward pass, about half a dense masked pass, instead of `D` full passes.
///
/// The levels come from the mask set's degrees; a network whose masks were replaced (see
/// [`Made::with_raw_masks`]) gets `None` from [`DegreeSortedMade::new`], and callers use the
/// plain `D`-pass solve.
///
/// # Example
///
/// ```
/// use burn::tensor::Tensor;
/// use nflow_made::{DegreeSortedMade, MadeConfig, Ordering};
///
/// let device = nflow_core::default_device();
/// let made = MadeConfig::new(3, vec![8, 8])
///     .with_ordering(Ordering::Reversed)
///     .init(&device)
///     .unwrap();
/// let sorted = DegreeSortedMade::<f32>::new(&made).unwrap();
/// assert_eq!(sorted.order(), &[2, 1, 0]); // feature solved at each step
///
/// // Feed the features one level at a time: the outputs of each feature equal the full pass's.
/// let x = [0.5f32, -1.0, 2.0];
/// let full = made.forward(Tensor::<2>::from_floats([x], &device), None);
/// let full = full.into_data().to_vec::<f32>().unwrap();
/// let mut workspace = sorted.workspace(1, None);
/// for level in 0..3 {
///     let feature = sorted.order()[level];
///     let params = sorted.step(&mut workspace, level); // [2 parameters, 1 row]
///     for p in 0..2 {
///         assert!((params[[p, 0]] - full[p * 3 + feature]).abs() < 1e-5);
///     }
///     workspace.inputs_mut()[[level, 0]] = x[feature];
/// }
/// ```
#[derive(Debug, Clone)]
pub struct DegreeSortedMade<T: HostFloat> {
    features: usize,
    context_features: usize,
    params_per_dim: usize,
    activation: Activation,
    /// `order[m]`: the feature of degree `m + 1`.
    order: Vec<usize>,
    /// Context weights of the first layer (`[units, C]`), applied once per workspace with the
    /// first stage's bias.
    first_context: Option<Array2<T>>,
    stages: Vec<Stage<T>>,
    /// Widths of the hidden buffers (buffer 0 holds the features).
    buffer_widths: Vec<usize>,
    output: SortedLinear<T>,
    /// Which buffer the output layer reads.
    output_input: usize,
    direct: Option<SortedLinear<T>>,
    direct_context: Option<Array2<T>>,
}

/// Inputs per chunk of [`SortedLinear::accumulate_all`]: 64 inputs of a 64-row task are 16 KiB
/// in `f32`, well inside a first-level data cache.
const INPUT_CHUNK: usize = 64;

/// One masked linear map with its inputs and outputs sorted by level.
#[derive(Debug, Clone)]
struct SortedLinear<T> {
    /// `packed[m]`: the non-zero part of the weights into the block of level `m`: the inputs of
    /// level `≤ m` by the block's outputs, `[prefix[m], blocks[m].len()]`, contiguous.
    packed: Vec<Vec<T>>,
    bias: Vec<T>,
    /// `prefix[m]`: how many inputs have level `≤ m`.
    prefix: Vec<usize>,
    /// `blocks[m]`: the outputs of level `m`.
    blocks: Vec<Range<usize>>,
}

/// How a stage starts the block it writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Start {
    /// The block already holds the bias (and the context's contribution): the first layer.
    Preset,
    /// The block is set to the bias.
    Bias,
    /// The bias is added to what the block holds (the second linear of a residual block).
    AddBias,
}

/// One linear map of the main path: reads buffer `input`, writes buffer `target`, then applies
/// the activation in place or into buffer `activated`.
#[derive(Debug, Clone)]
struct Stage<T> {
    linear: SortedLinear<T>,
    input: usize,
    target: usize,
    start: Start,
    activated: Option<usize>,
}

/// The state of one incremental evaluation over a block of rows: the features solved so far and
/// every layer's units computed so far.
#[derive(Debug, Clone)]
pub struct DegreeSortedWorkspace<T> {
    /// Buffer 0: the features in level order; then the hidden buffers. Every buffer is
    /// unit-major, `[units, rows]`: the kernel vectorises along the rows.
    buffers: Vec<Array2<T>>,
    /// The output bias plus the context's direct contribution, `[k·D, rows]` in level order.
    output_base: Array2<T>,
    params: Array2<T>,
}

impl<T: HostFloat> DegreeSortedWorkspace<T> {
    /// The features in level order, unit-major `[D, rows]`: row `m` holds the feature of degree
    /// `m + 1` ([`DegreeSortedMade::order`]`[m]`) for every batch row. Write row `m` after
    /// [`DegreeSortedMade::step`] at level `m`.
    pub fn inputs_mut(&mut self) -> ArrayViewMut2<'_, T> {
        self.buffers[0].view_mut()
    }
}

/// The permutation sorting `keys` (stable), and the sorted keys.
fn sort_by_level(keys: &[usize]) -> (Vec<usize>, Vec<usize>) {
    let mut perm: Vec<usize> = (0..keys.len()).collect();
    perm.sort_by_key(|&i| keys[i]);
    let sorted = perm.iter().map(|&i| keys[i]).collect();
    (perm, sorted)
}

impl<T: HostFloat> SortedLinear<T> {
    /// Packs the blocks of `weight` (`[inputs, outputs]`, burn's layout) with inputs sorted by
    /// `in_perm` (which may name a subset of the inputs, e.g. the features before a context) and
    /// outputs by `out_perm`: for each output level `m`, the weights from the inputs of level
    /// `≤ m`, which the mask keeps (the caller checks that the masks follow the degrees), so the
    /// mask itself is never read.
    fn new(
        weight: &Array2<T>,
        bias: &[T],
        (in_perm, in_levels): (&[usize], &[usize]),
        (out_perm, out_levels): (&[usize], &[usize]),
        features: usize,
    ) -> Self {
        let prefix: Vec<usize> = (0..features)
            .map(|m| in_levels.partition_point(|&l| l <= m))
            .collect();
        let blocks: Vec<Range<usize>> = (0..features)
            .map(|m| {
                out_levels.partition_point(|&l| l < m)..out_levels.partition_point(|&l| l <= m)
            })
            .collect();
        let weight = weight.as_slice().expect("host weights are standard-layout");
        let outputs = bias.len();
        let packed = (0..features)
            .map(|m| {
                // Input-major: the block's weights from one input are contiguous.
                let units = &out_perm[blocks[m].clone()];
                let mut block = Vec::with_capacity(prefix[m] * units.len());
                for &i in &in_perm[..prefix[m]] {
                    let row = &weight[i * outputs..][..outputs];
                    block.extend(units.iter().map(|&j| row[j]));
                }
                block
            })
            .collect();
        Self {
            packed,
            bias: out_perm.iter().map(|&j| bias[j]).collect(),
            prefix,
            blocks,
        }
    }

    /// Every block at once: `target[blocks[m], :] += packed[m] · input[..prefix[m], :]` for all
    /// `m`, in chunks of [`INPUT_CHUNK`] inputs: each chunk of the input buffer is read by every
    /// block whose prefix reaches it while it sits in the nearest cache, instead of each block
    /// streaming its whole prefix from the next one.
    fn accumulate_all(&self, input: &Array2<T>, target: &mut Array2<T>) {
        let rows = input.ncols();
        let input = input.as_slice().expect("buffers are standard-layout");
        let target = target.as_slice_mut().expect("buffers are standard-layout");
        let longest = self.prefix.last().copied().unwrap_or(0);
        for start in (0..longest).step_by(INPUT_CHUNK) {
            let end = (start + INPUT_CHUNK).min(longest);
            for ((&prefix, block), packed) in self.prefix.iter().zip(&self.blocks).zip(&self.packed)
            {
                if prefix <= start || block.is_empty() {
                    continue;
                }
                let n = block.len();
                accumulate_block(
                    rows,
                    (prefix.min(end) - start, n),
                    &input[start * rows..],
                    &packed[start * n..],
                    target,
                    block.start,
                );
            }
        }
    }

    /// `target[unit..unit + n, :] += packed[m] · input[..prefix[m], :]`: the block of level `m`
    /// (`n` units) from the inputs of level `≤ m`, written into units `unit..` of `target`
    /// (both buffers unit-major, `[units, rows]`).
    fn accumulate(&self, input: &Array2<T>, target: &mut Array2<T>, unit: usize, m: usize) {
        accumulate_block(
            input.ncols(),
            (self.prefix[m], self.blocks[m].len()),
            input.as_slice().expect("buffers are standard-layout"),
            &self.packed[m],
            target.as_slice_mut().expect("buffers are standard-layout"),
            unit,
        );
    }
}

/// A permutation and its sorted levels, borrowed.
fn slices((perm, levels): &(Vec<usize>, Vec<usize>)) -> (&[usize], &[usize]) {
    (perm, levels)
}

/// The weights from the `c` context inputs (after the `d` features) of a weight
/// `[inputs, outputs]`, for the outputs in the order `out_perm`: `[outputs, C]`, or `None`
/// without a context.
fn context_weights<T: HostFloat>(
    weight: &Array2<T>,
    out_perm: &[usize],
    d: usize,
    c: usize,
) -> Option<Array2<T>> {
    (c > 0)
        .then(|| Array2::from_shape_fn((out_perm.len(), c), |(j, i)| weight[[d + i, out_perm[j]]]))
}

/// Units (rows) `range` of a unit-major buffer `a`.
fn units<T>(mut a: ArrayView2<'_, T>, range: Range<usize>) -> ArrayView2<'_, T> {
    a.slice_axis_inplace(Axis(0), Slice::from(range));
    a
}

/// Units (rows) `range` of a unit-major buffer `a`, writable.
fn units_mut<T>(mut a: ArrayViewMut2<'_, T>, range: Range<usize>) -> ArrayViewMut2<'_, T> {
    a.slice_axis_inplace(Axis(0), Slice::from(range));
    a
}

/// A layer's raw weight (`[inputs, outputs]`, as burn holds it, so reading it back is one copy)
/// and its bias, on the host. The raw weight: the packed blocks take only weights the mask keeps.
fn host_layer<T: HostFloat>(layer: &MaskedLinear) -> (Array2<T>, Vec<T>) {
    (
        host_matrix(layer.weight()),
        host_vector(layer.bias()).to_vec(),
    )
}

impl<T: HostFloat> DegreeSortedMade<T> {
    /// Reads `made`'s weights back to the host, sorts every layer by level and packs the non-zero
    /// blocks.
    ///
    /// Returns `None` when the masks may not follow the mask set's degrees (they were replaced by
    /// [`Made::with_raw_masks`]): the incremental evaluation relies on them.
    pub fn new(made: &Made) -> Option<Self> {
        if !made.masks_follow_degrees() {
            return None;
        }
        let config = made.config();
        let d = made.features();
        let c = made.context_features();
        let k = config.params_per_dim;
        let set = made.mask_set();
        let feature_levels = made.feature_degrees();
        let (order, sorted_feature_levels) = sort_by_level(&feature_levels);
        let features = (order.as_slice(), sorted_feature_levels.as_slice());
        // The outputs of the feature of degree `d` have level `d − 1`.
        let output_levels: Vec<usize> = (0..k * d).map(|u| feature_levels[u % d] - 1).collect();
        let output = sort_by_level(&output_levels);
        let hidden: Vec<(Vec<usize>, Vec<usize>)> = set
            .hidden_degrees
            .iter()
            .map(|degrees| sort_by_level(degrees))
            .collect();
        let layers = made.layers();

        // The first layer: features through the sorted linear (its permutation names feature
        // inputs only), context once per workspace.
        let (first_weight, first_bias) = host_layer::<T>(layers[0]);
        let first_hidden = slices(&hidden[0]);
        let first = SortedLinear::new(&first_weight, &first_bias, features, first_hidden, d);
        let first_context = context_weights(&first_weight, first_hidden.0, d, c);

        let mut stages = Vec::new();
        let mut buffer_widths = vec![d];
        let output_input = if config.residual {
            // Buffer 1: the residual stream; then act(stream) after each block; then each block's
            // inner activations.
            let width = first_hidden.0.len();
            let sorted = first_hidden;
            let blocks = (layers.len() - 2) / 2;
            buffer_widths.extend(std::iter::repeat_n(width, 1 + (blocks + 1) + blocks));
            let stream = 1;
            let after = |b: usize| 2 + b;
            let inner = |b: usize| 3 + blocks + b;
            stages.push(Stage {
                linear: first,
                input: 0,
                target: stream,
                start: Start::Preset,
                activated: Some(after(0)),
            });
            for b in 0..blocks {
                for (i, (input, target, start, activated)) in [
                    (after(b), inner(b), Start::Bias, None),
                    (inner(b), stream, Start::AddBias, Some(after(b + 1))),
                ]
                .into_iter()
                .enumerate()
                {
                    let (w, bias) = host_layer::<T>(layers[1 + 2 * b + i]);
                    stages.push(Stage {
                        linear: SortedLinear::new(&w, &bias, sorted, sorted, d),
                        input,
                        target,
                        start,
                        activated,
                    });
                }
            }
            after(blocks)
        } else {
            buffer_widths.push(first_hidden.0.len());
            stages.push(Stage {
                linear: first,
                input: 0,
                target: 1,
                start: Start::Preset,
                activated: None,
            });
            for l in 1..hidden.len() {
                let (w, bias) = host_layer::<T>(layers[l]);
                let (below, here) = (slices(&hidden[l - 1]), slices(&hidden[l]));
                buffer_widths.push(here.0.len());
                stages.push(Stage {
                    linear: SortedLinear::new(&w, &bias, below, here, d),
                    input: l,
                    target: l + 1,
                    start: Start::Bias,
                    activated: None,
                });
            }
            hidden.len()
        };
        let last = slices(hidden.last().expect("a MADE has hidden layers"));
        let (w, bias) = host_layer::<T>(layers[layers.len() - 1]);
        let outputs = slices(&output);
        let output_layer = SortedLinear::new(&w, &bias, last, outputs, d);

        let (direct, direct_context) = match made.direct_layer() {
            Some(layer) => {
                let (w, bias) = host_layer::<T>(layer);
                let linear = SortedLinear::new(&w, &bias, features, outputs, d);
                (Some(linear), context_weights(&w, outputs.0, d, c))
            }
            None => (None, None),
        };
        Some(Self {
            features: d,
            context_features: c,
            params_per_dim: k,
            activation: config.activation,
            order,
            first_context,
            stages,
            buffer_widths,
            output: output_layer,
            output_input,
            direct,
            direct_context,
        })
    }

    /// Number of features `D`.
    pub fn features(&self) -> usize {
        self.features
    }

    /// Number of context features `C`.
    pub fn context_features(&self) -> usize {
        self.context_features
    }

    /// Parameters per feature `k`.
    pub fn params_per_dim(&self) -> usize {
        self.params_per_dim
    }

    /// `order()[m]`: the feature of degree `m + 1`, whose parameters [`step`](Self::step) at
    /// level `m` returns.
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// A fresh workspace for `rows` rows with their context (`[rows, C]`, `None` without one):
    /// the context's contributions and every bias are applied here, once.
    ///
    /// # Panics
    /// When the context's shape does not match `[rows, C]`.
    pub fn workspace(
        &self,
        rows: usize,
        context: Option<ArrayView2<'_, T>>,
    ) -> DegreeSortedWorkspace<T> {
        let mut buffers: Vec<Array2<T>> = self
            .buffer_widths
            .iter()
            .map(|&w| Array2::zeros((w, rows)))
            .collect();
        let first = &mut buffers[self.stages[0].target];
        for (mut unit, &b) in first
            .rows_mut()
            .into_iter()
            .zip(&self.stages[0].linear.bias)
        {
            unit.fill(b);
        }
        let mut output_base = Array2::zeros((self.params_per_dim * self.features, rows));
        for (u, mut unit) in output_base.rows_mut().into_iter().enumerate() {
            let direct = self.direct.as_ref().map_or(T::zero(), |d| d.bias[u]);
            unit.fill(self.output.bias[u] + direct);
        }
        if let Some(context) = context.filter(|_| self.context_features > 0) {
            assert_eq!(
                context.dim(),
                (rows, self.context_features),
                "context shape"
            );
            if let Some(w) = &self.first_context {
                general_mat_mul(T::one(), w, &context.t(), T::one(), first);
            }
            if let Some(w) = &self.direct_context {
                general_mat_mul(T::one(), w, &context.t(), T::one(), &mut output_base);
            }
        }
        DegreeSortedWorkspace {
            buffers,
            output_base,
            params: Array2::zeros((self.params_per_dim, rows)),
        }
    }

    /// Computes every unit of level `m` and returns the `k` parameters of feature
    /// [`order()`](Self::order)`[m]`, `[k, rows]`. Requires features `0..m` of the workspace's
    /// [`inputs_mut`](DegreeSortedWorkspace::inputs_mut) to hold the solved values.
    ///
    /// # Panics
    /// When `m ≥ D`.
    pub fn step<'w>(
        &self,
        workspace: &'w mut DegreeSortedWorkspace<T>,
        m: usize,
    ) -> ArrayView2<'w, T> {
        self.hidden_level(&mut workspace.buffers, m);
        let k = self.params_per_dim;
        let wanted = m * k..(m + 1) * k;
        let (buffers, params) = (&workspace.buffers, &mut workspace.params);
        params.assign(&units(workspace.output_base.view(), wanted));
        self.output
            .accumulate(&buffers[self.output_input], params, 0, m);
        if let Some(direct) = &self.direct {
            direct.accumulate(&buffers[0], params, 0, m);
        }
        params.view()
    }

    /// The whole pass at once, for inputs that are all known: every level of every layer, then
    /// all outputs, `[k·D, rows]` in level order (units `m·k..(m + 1)·k` are the `k` parameters of
    /// feature [`order()`](Self::order)`[m]`). Requires every row of the workspace's
    /// [`inputs_mut`](DegreeSortedWorkspace::inputs_mut) to hold its feature; the workspace is
    /// spent afterwards (its outputs hold this pass's values).
    ///
    /// The arithmetic is that of the block-triangular product: each block from the prefix of
    /// the layer below that its mask keeps, about half of a dense masked pass.
    pub fn forward_all<'w>(
        &self,
        workspace: &'w mut DegreeSortedWorkspace<T>,
    ) -> ArrayView2<'w, T> {
        // Layer by layer (each complete before the next reads it), every level at once.
        let buffers = &mut workspace.buffers;
        for stage in &self.stages {
            let mut target = std::mem::take(&mut buffers[stage.target]);
            stage.start_units(&mut target, 0..stage.linear.bias.len());
            stage
                .linear
                .accumulate_all(&buffers[stage.input], &mut target);
            buffers[stage.target] = target;
            stage.activate(buffers, 0..stage.linear.bias.len(), self.activation);
        }
        let (buffers, outputs) = (&workspace.buffers, &mut workspace.output_base);
        self.output
            .accumulate_all(&buffers[self.output_input], outputs);
        if let Some(direct) = &self.direct {
            direct.accumulate_all(&buffers[0], outputs);
        }
        outputs.view()
    }

    /// Computes the units of level `m` in every hidden layer, from the levels `≤ m` below.
    fn hidden_level(&self, buffers: &mut [Array2<T>], m: usize) {
        let act = self.activation;
        for stage in &self.stages {
            let block = stage.linear.blocks[m].clone();
            if block.is_empty() {
                continue;
            }
            let mut target = std::mem::take(&mut buffers[stage.target]);
            stage.start_units(&mut target, block.clone());
            stage
                .linear
                .accumulate(&buffers[stage.input], &mut target, block.start, m);
            buffers[stage.target] = target;
            stage.activate(buffers, block, act);
        }
    }
}

impl<T: HostFloat> Stage<T> {
    /// Starts units `block` of `target` as [`Start`] says, before their sums.
    fn start_units(&self, target: &mut Array2<T>, block: Range<usize>) {
        let bias = &self.linear.bias[block.clone()];
        for (mut unit, &b) in units_mut(target.view_mut(), block)
            .rows_mut()
            .into_iter()
            .zip(bias)
        {
            match self.start {
                Start::Preset => {}
                Start::Bias => unit.fill(b),
                Start::AddBias => unit.mapv_inplace(|v| v + b),
            }
        }
    }

    /// Applies the activation to units `block` of the target, in place or into the buffer
    /// `activated` names.
    fn activate(&self, buffers: &mut [Array2<T>], block: Range<usize>, act: Activation) {
        match self.activated {
            None => units_mut(buffers[self.target].view_mut(), block)
                .mapv_inplace(|v| act.apply_host(v)),
            Some(index) => {
                let target = std::mem::take(&mut buffers[self.target]);
                let pre = units(target.view(), block.clone());
                units_mut(buffers[index].view_mut(), block)
                    .zip_mut_with(&pre, |a, &v| *a = act.apply_host(v));
                buffers[self.target] = target;
            }
        }
    }
}
