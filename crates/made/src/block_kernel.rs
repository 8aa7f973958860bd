//! The host kernel of the incremental inversion: `out[rows, n] += input[rows, ..p] · W[p, n]` for
//! one degree block (`n` small, a handful of units), without packing the input.
//!
//! A general GEMM (matrixmultiply) packs its left operand on every call; with `n ≈ 8` units per
//! block that packing cost more than the multiply (44 % against 32 % of a 63×512 sampling run
//! under `perf`), and a kernel vectorised across a block's units leaves most lanes idle (an
//! output block has `k = 2` units). Here each output is a dot product vectorised along its
//! inputs, read in place, against the block's weights packed once per plan, transposed. `pulp`'s safe SIMD types and runtime
//! dispatch compile the kernel for the best instruction set the CPU has (AVX-512, AVX2 + FMA,
//! SSE4/SSE2, or scalar), so binaries stay portable.

use std::any::TypeId;

use bytemuck::{cast_slice, cast_slice_mut};

use crate::host_float::HostFloat;

/// A row-major matrix slice: element `(r, c)` at `data[offset + r·stride + c]`.
#[derive(Debug)]
pub(crate) struct Strided<'a, T> {
    pub data: &'a [T],
    pub stride: usize,
    pub offset: usize,
}

/// A writable row-major matrix slice.
#[derive(Debug)]
pub(crate) struct StridedMut<'a, T> {
    pub data: &'a mut [T],
    pub stride: usize,
    pub offset: usize,
}

/// Rows per register tile.
const ROWS: usize = 4;
/// Output units per register tile.
const UNITS: usize = 4;

/// `out[r, j] += Σ_{i<p} input[r, i] · weight[j·p + i]` for `r < rows`, `j < n`, with `weight`
/// the block's weights transposed, `[n, p]`, contiguous (one row of `p` input weights per unit).
pub(crate) fn accumulate_block<T: HostFloat>(
    rows: usize,
    p: usize,
    n: usize,
    input: &Strided<'_, T>,
    weight: &[T],
    out: &mut StridedMut<'_, T>,
) {
    if p == 0 || n == 0 {
        return;
    }
    let arch = pulp::Arch::new();
    if TypeId::of::<T>() == TypeId::of::<f32>() {
        arch.dispatch(BlockF32 {
            shape: (rows, p, n),
            input: (cast_slice(input.data), input.stride, input.offset),
            weight: cast_slice(weight),
            out: (cast_slice_mut(out.data), out.stride, out.offset),
        });
    } else {
        arch.dispatch(BlockF64 {
            shape: (rows, p, n),
            input: (cast_slice(input.data), input.stride, input.offset),
            weight: cast_slice(weight),
            out: (cast_slice_mut(out.data), out.stride, out.offset),
        });
    }
}

/// The kernel for one float type: a `pulp` operation whose `with_simd` is compiled once per
/// instruction set. Each output is a dot product over the `p` inputs, vectorised along the
/// inputs (a block has only a handful of units, too few to fill a vector across units). Tiles of
/// [`ROWS`] rows by [`UNITS`] units keep `ROWS × UNITS` vector accumulators in registers: per
/// vector of inputs, `ROWS + UNITS` loads feed `ROWS × UNITS` multiply-adds; the tail of fewer
/// than a vector's lanes goes through a masked partial load. Each accumulator is summed across
/// its lanes once at the end.
macro_rules! block_kernel {
    ($name:ident, $t:ty, $vec:ident, $as_simd:ident, $splat:ident, $fma:ident, $load:ident, $sum:ident) => {
        struct $name<'a> {
            shape: (usize, usize, usize),
            input: (&'a [$t], usize, usize),
            weight: &'a [$t],
            out: (&'a mut [$t], usize, usize),
        }

        impl $name<'_> {
            /// Rows `r0..r0 + R` by units `u0..u0 + U`.
            #[inline(always)]
            fn tile<S: pulp::Simd, const R: usize, const U: usize>(
                &mut self,
                simd: S,
                r0: usize,
                u0: usize,
            ) {
                let (_, p, _) = self.shape;
                let (input, in_stride, in_offset) = self.input;
                let x: [(&[S::$vec], &[$t]); R] = std::array::from_fn(|rr| {
                    S::$as_simd(&input[in_offset + (r0 + rr) * in_stride..][..p])
                });
                let w: [(&[S::$vec], &[$t]); U] =
                    std::array::from_fn(|uu| S::$as_simd(&self.weight[(u0 + uu) * p..][..p]));
                let mut acc = [[simd.$splat(0.0); U]; R];
                for c in 0..x[0].0.len() {
                    for rr in 0..R {
                        let xv = x[rr].0[c];
                        for uu in 0..U {
                            acc[rr][uu] = simd.$fma(xv, w[uu].0[c], acc[rr][uu]);
                        }
                    }
                }
                if !x[0].1.is_empty() {
                    let wt: [S::$vec; U] = std::array::from_fn(|uu| simd.$load(w[uu].1));
                    for rr in 0..R {
                        let xv = simd.$load(x[rr].1);
                        for uu in 0..U {
                            acc[rr][uu] = simd.$fma(xv, wt[uu], acc[rr][uu]);
                        }
                    }
                }
                let (out, out_stride, out_offset) = &mut self.out;
                for (rr, acc) in acc.iter().enumerate() {
                    let start = *out_offset + (r0 + rr) * *out_stride + u0;
                    for (o, &a) in out[start..start + U].iter_mut().zip(acc) {
                        *o += simd.$sum(a);
                    }
                }
            }
        }

        impl pulp::WithSimd for $name<'_> {
            type Output = ();

            #[inline(always)]
            fn with_simd<S: pulp::Simd>(mut self, simd: S) {
                let (rows, _, n) = self.shape;
                let mut r0 = 0;
                while r0 + ROWS <= rows {
                    let mut u0 = 0;
                    while u0 + UNITS <= n {
                        self.tile::<S, ROWS, UNITS>(simd, r0, u0);
                        u0 += UNITS;
                    }
                    for u in u0..n {
                        self.tile::<S, ROWS, 1>(simd, r0, u);
                    }
                    r0 += ROWS;
                }
                for r in r0..rows {
                    let mut u0 = 0;
                    while u0 + UNITS <= n {
                        self.tile::<S, 1, UNITS>(simd, r, u0);
                        u0 += UNITS;
                    }
                    for u in u0..n {
                        self.tile::<S, 1, 1>(simd, r, u);
                    }
                }
            }
        }
    };
}

block_kernel!(
    BlockF32,
    f32,
    f32s,
    as_simd_f32s,
    splat_f32s,
    mul_add_e_f32s,
    partial_load_f32s,
    reduce_sum_f32s
);
block_kernel!(
    BlockF64,
    f64,
    f64s,
    as_simd_f64s,
    splat_f64s,
    mul_add_e_f64s,
    partial_load_f64s,
    reduce_sum_f64s
);
