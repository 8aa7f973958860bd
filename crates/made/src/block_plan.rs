//! [`BlockPlan`]: where the non-zero blocks of a MADE weight mask lie once the layer's inputs and
//! outputs are sorted by level, and the tasks that cover them.

use std::ops::Range;

use crate::mask::Mask;

/// Units per task: 64 outputs (or inputs) of a block row keep a task's operands in the caches and
/// give two threads several tasks to share on a 512-unit layer.
const TASK_UNITS: usize = 64;

/// The block-triangular structure of one masked linear map `y = x · (W ⊙ M) + b`.
///
/// Every MADE mask is a *level rule*: input `i` feeds output `j` exactly when
/// `level(i) + s ≤ level(j)`, with `s = 0` into a hidden layer (`deg_out ≥ deg_in`) and `s = 1`
/// into the output layer (`deg_out > deg_in`). Sort the inputs and the outputs by level (stably)
/// and the mask becomes a staircase: the inputs an output sees are a *prefix* of the sorted
/// inputs, the outputs an input feeds a *suffix* of the sorted outputs. About half of the dense
/// product multiplies zeros; the plan covers only the staircase, with a few dense tasks:
///
/// - forward, by output range `J` (disjoint columns of `y`): `y[:, J] += x[:, ..p_J] · W[..p_J, J]`,
///   `p_J` the inputs the last output of `J` sees;
/// - backward, by input range `I` (disjoint columns of `∂x`, rows of `∂W`), `q_I` the first output
///   the first input of `I` feeds: `∂x[:, I] = ∂y[:, q_I..] · W[I, q_I..]ᵀ`,
///   `∂W[I, q_I..] = x[:, I]ᵀ · ∂y[:, q_I..]`.
///
/// Weights inside a task but outside the mask are zero in the sorted copy, and their gradients are
/// dropped when the gradient goes back to the unsorted layout, so the results are those of the
/// dense masked product (to rounding: the sums run over fewer zero terms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockPlan {
    inputs: usize,
    outputs: usize,
    /// `rows[s]`: the input (row of the stored weight) at sorted position `s`; `None` when the
    /// stored order is already sorted.
    rows: Option<Vec<usize>>,
    /// `cols[t]`: the output (column of the stored weight) at sorted position `t`, or `None`.
    cols: Option<Vec<usize>>,
    /// The inverse permutations: `row_positions[rows[s]] = s`, `col_positions[cols[t]] = t`.
    row_positions: Option<Vec<usize>>,
    col_positions: Option<Vec<usize>>,
    /// `first_output[s]`: the first sorted output that sorted input `s` feeds.
    first_output: Vec<usize>,
    /// Forward tasks: a sorted output range and how many sorted inputs it reads.
    forward: Vec<(Range<usize>, usize)>,
    /// Backward tasks: a sorted input range and the first sorted output it feeds.
    backward: Vec<(Range<usize>, usize)>,
}

impl BlockPlan {
    /// The plan of `mask` under the level rule `in_levels[i] + strict ≤ out_levels[j]`, or `None`
    /// when `mask` does not follow that rule (a mask set replaced by raw masks, for instance).
    pub fn new(
        mask: &Mask,
        in_levels: &[usize],
        out_levels: &[usize],
        strict: bool,
    ) -> Option<Self> {
        let (inputs, outputs) = (mask.inputs(), mask.outputs());
        if in_levels.len() != inputs || out_levels.len() != outputs {
            return None;
        }
        let s = usize::from(strict);
        let follows = (0..inputs)
            .all(|i| (0..outputs).all(|j| mask.get(i, j) == (in_levels[i] + s <= out_levels[j])));
        if !follows {
            return None;
        }
        let (rows, sorted_in) = sort_by_level(in_levels);
        let (cols, sorted_out) = sort_by_level(out_levels);
        let first_output: Vec<usize> = sorted_in
            .iter()
            .map(|&l| sorted_out.partition_point(|&o| o < l + s))
            .collect();
        let seen = |t: usize| sorted_in.partition_point(|&l| l + s <= sorted_out[t]);
        let forward = tasks(outputs)
            .map(|range| {
                let reads = seen(range.end - 1);
                (range, reads)
            })
            .collect();
        let backward = tasks(inputs)
            .map(|range| {
                let first = first_output[range.start];
                (range, first)
            })
            .filter(|(_, first)| *first < outputs)
            .collect();
        let identity = |order: &[usize]| order.iter().enumerate().all(|(s, &i)| s == i);
        let with_inverse = |order: Vec<usize>| {
            if identity(&order) {
                return (None, None);
            }
            let mut positions = vec![0; order.len()];
            for (s, &i) in order.iter().enumerate() {
                positions[i] = s;
            }
            (Some(order), Some(positions))
        };
        let (rows, row_positions) = with_inverse(rows);
        let (cols, col_positions) = with_inverse(cols);
        Some(Self {
            inputs,
            outputs,
            rows,
            cols,
            row_positions,
            col_positions,
            first_output,
            forward,
            backward,
        })
    }

    /// Inputs of the map.
    pub fn inputs(&self) -> usize {
        self.inputs
    }

    /// Outputs of the map.
    pub fn outputs(&self) -> usize {
        self.outputs
    }

    /// The stored input at sorted position `s`.
    pub(crate) fn row(&self, s: usize) -> usize {
        self.rows.as_ref().map_or(s, |rows| rows[s])
    }

    /// `rows[s]`, the stored input at each sorted position, or `None` when they coincide.
    pub(crate) fn row_order(&self) -> Option<&[usize]> {
        self.rows.as_deref()
    }

    /// `cols[t]`, the stored output at each sorted position, or `None` when they coincide.
    pub(crate) fn col_order(&self) -> Option<&[usize]> {
        self.cols.as_deref()
    }

    /// `positions[i]`, the sorted position of stored input `i` (the inverse of
    /// [`row_order`](Self::row_order)), or `None` when they coincide.
    pub(crate) fn row_positions(&self) -> Option<&[usize]> {
        self.row_positions.as_deref()
    }

    /// `positions[c]`, the sorted position of stored output `c`, or `None` when they coincide.
    pub(crate) fn col_positions(&self) -> Option<&[usize]> {
        self.col_positions.as_deref()
    }

    /// The first sorted output that sorted input `s` feeds.
    pub(crate) fn first_output(&self, s: usize) -> usize {
        self.first_output[s]
    }

    /// The forward tasks (see the type docs).
    pub(crate) fn forward_tasks(&self) -> &[(Range<usize>, usize)] {
        &self.forward
    }

    /// The backward tasks (see the type docs).
    pub(crate) fn backward_tasks(&self) -> &[(Range<usize>, usize)] {
        &self.backward
    }

    /// Multiply-adds of one row through the staircase, against `inputs · outputs` dense.
    pub fn staircase_products(&self) -> usize {
        self.forward
            .iter()
            .map(|(range, reads)| range.len() * reads)
            .sum()
    }
}

/// Consecutive ranges of at most [`TASK_UNITS`] covering `0..n`, of nearly equal sizes.
fn tasks(n: usize) -> impl Iterator<Item = Range<usize>> {
    let count = n.div_ceil(TASK_UNITS).max(1);
    (0..count).map(move |c| c * n / count..(c + 1) * n / count)
}

/// The stable sort of `levels`: (`order`, sorted levels) with `order[s]` the index at position `s`.
fn sort_by_level(levels: &[usize]) -> (Vec<usize>, Vec<usize>) {
    let mut order: Vec<usize> = (0..levels.len()).collect();
    order.sort_by_key(|&i| levels[i]);
    let sorted = order.iter().map(|&i| levels[i]).collect();
    (order, sorted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mask::{hidden_mask, output_mask};

    #[test]
    fn a_cyclic_hidden_mask_becomes_a_staircase() {
        let below = [1, 2, 3, 1, 2, 3];
        let here = [3, 1, 2, 3, 1, 2];
        let plan = BlockPlan::new(&hidden_mask(&below, &here), &below, &here, false).unwrap();
        // Sorted inputs: levels 1 1 2 2 3 3; sorted outputs 1 1 2 2 3 3.
        assert_eq!(plan.first_output, vec![0, 0, 2, 2, 4, 4]);
        assert_eq!(plan.forward, vec![(0..6, 6)]);
        assert_eq!(plan.row(2), 1);
        assert_eq!(plan.col_order().unwrap()[0], 1);
        assert_eq!(plan.staircase_products(), 36);
    }

    #[test]
    fn the_output_rule_is_strict_and_inputs_feeding_nothing_get_no_task() {
        let hidden = [1, 1, 2];
        let outputs = [1, 2, 3];
        let mask = output_mask(&hidden, &outputs);
        let plan = BlockPlan::new(&mask, &hidden, &outputs, true).unwrap();
        assert_eq!(plan.first_output, vec![1, 1, 2]);
        // A mask that breaks the rule gets no plan.
        assert!(BlockPlan::new(&mask, &hidden, &outputs, false).is_none());
        let none = BlockPlan::new(&output_mask(&[2, 2], &[1, 2]), &[2, 2], &[1, 2], true).unwrap();
        assert!(none.backward.is_empty());
    }
}
