//! Binary masks from degrees, as pure functions (no tensors).
//!
//! A mask is laid out like burn's linear weights, `[inputs, outputs]`: entry `(j, u)` is true when
//! output unit `u` may see input unit `j`.

/// A boolean `[inputs, outputs]` matrix, stored as one bitset per input row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mask {
    inputs: usize,
    outputs: usize,
    words_per_row: usize,
    bits: Vec<u64>,
}

impl Mask {
    /// An all-false mask.
    pub fn empty(inputs: usize, outputs: usize) -> Self {
        let words_per_row = outputs.div_ceil(64);
        Self {
            inputs,
            outputs,
            words_per_row,
            bits: vec![0; inputs * words_per_row],
        }
    }

    /// A mask from a rule on `(input, output)` unit indices.
    pub fn from_fn(inputs: usize, outputs: usize, allowed: impl Fn(usize, usize) -> bool) -> Self {
        let mut mask = Self::empty(inputs, outputs);
        for j in 0..inputs {
            for u in 0..outputs {
                if allowed(j, u) {
                    mask.set(j, u, true);
                }
            }
        }
        mask
    }

    /// Number of input units (rows).
    pub fn inputs(&self) -> usize {
        self.inputs
    }

    /// Number of output units (columns).
    pub fn outputs(&self) -> usize {
        self.outputs
    }

    fn row(&self, j: usize) -> &[u64] {
        &self.bits[j * self.words_per_row..(j + 1) * self.words_per_row]
    }

    /// Whether output `u` may see input `j`.
    pub fn get(&self, j: usize, u: usize) -> bool {
        self.row(j)[u / 64] >> (u % 64) & 1 == 1
    }

    /// Sets entry `(j, u)` (for building masks by hand, e.g. a deliberately broken one in tests).
    pub fn set(&mut self, j: usize, u: usize, allowed: bool) {
        let word = &mut self.bits[j * self.words_per_row + u / 64];
        if allowed {
            *word |= 1 << (u % 64);
        } else {
            *word &= !(1 << (u % 64));
        }
    }

    /// The entries as `0.0` / `1.0`, row-major, for upload as a tensor.
    pub fn to_f32(&self) -> Vec<f32> {
        (0..self.inputs)
            .flat_map(|j| (0..self.outputs).map(move |u| (j, u)))
            .map(|(j, u)| if self.get(j, u) { 1.0 } else { 0.0 })
            .collect()
    }

    /// Number of allowed connections.
    pub fn count(&self) -> usize {
        self.bits.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Boolean matrix product: `(self · next)(j, v)` is true when some unit `u` has
    /// `self(j, u) && next(u, v)`, i.e. a path from input `j` to output `v` through both layers.
    ///
    /// # Panics
    /// When the inner dimensions differ.
    pub fn then(&self, next: &Mask) -> Mask {
        assert_eq!(self.outputs, next.inputs, "mask shapes do not chain");
        let mut out = Mask::empty(self.inputs, next.outputs);
        for j in 0..self.inputs {
            let start = j * out.words_per_row;
            for u in (0..self.outputs).filter(|&u| self.get(j, u)) {
                for (w, n) in out.bits[start..start + out.words_per_row]
                    .iter_mut()
                    .zip(next.row(u))
                {
                    *w |= n;
                }
            }
        }
        out
    }

    /// Elementwise OR (paths through either of two parallel routes).
    ///
    /// # Panics
    /// When the shapes differ.
    pub fn or(&self, other: &Mask) -> Mask {
        assert_eq!((self.inputs, self.outputs), (other.inputs, other.outputs));
        let mut out = self.clone();
        for (w, o) in out.bits.iter_mut().zip(&other.bits) {
            *w |= o;
        }
        out
    }

    /// The identity connectivity on `n` units (a residual skip connection).
    pub fn identity(n: usize) -> Mask {
        Mask::from_fn(n, n, |j, u| j == u)
    }
}

/// The mask into a hidden layer: unit of degree `m_out` sees inputs of degree `m_in ≤ m_out`.
///
/// ```
/// use nflow_made::hidden_mask;
/// let m = hidden_mask(&[1, 2], &[1, 2, 1]);
/// assert!(m.get(0, 0) && !m.get(1, 0) && m.get(1, 1));
/// ```
pub fn hidden_mask(input_degrees: &[usize], output_degrees: &[usize]) -> Mask {
    Mask::from_fn(input_degrees.len(), output_degrees.len(), |j, u| {
        output_degrees[u] >= input_degrees[j]
    })
}

/// The mask into the output layer: output of degree `d_out` sees units of degree `< d_out`
/// (strictly, so no output sees its own feature).
///
/// ```
/// use nflow_made::output_mask;
/// let m = output_mask(&[1, 2], &[1, 2]);
/// assert!(!m.get(0, 0) && m.get(0, 1) && !m.get(1, 1));
/// ```
pub fn output_mask(input_degrees: &[usize], output_degrees: &[usize]) -> Mask {
    Mask::from_fn(input_degrees.len(), output_degrees.len(), |j, u| {
        output_degrees[u] > input_degrees[j]
    })
}

/// The degrees of the `k·D` output units in nflow's parameter-major layout: unit `p·D + i` is
/// parameter `p` of feature `i` and has feature `i`'s degree.
pub fn output_degrees(feature_degrees: &[usize], params_per_dim: usize) -> Vec<usize> {
    (0..params_per_dim)
        .flat_map(|_| feature_degrees.iter().copied())
        .collect()
}
