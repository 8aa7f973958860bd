//! The host kernel of the incremental inversion: one degree block of a layer,
//! `out[u, r] += Σ_{i<p} W[u, i] · input[i, r]` for the block's few units `u` and every row `r`.
//!
//! Buffers are unit-major (`[units, rows]`: one contiguous run of rows per unit), so the kernel
//! vectorises along the batch rows, which every block has plenty of, whatever its number of units
//! (a hidden block has ~8, an affine output block 2) or inputs: each weight is broadcast once
//! against a vector of rows, with no padding and no horizontal sums. Tiles of 4 units × 4 row
//! vectors keep 16 vector accumulators in registers: per input, 4 row-vector loads and 4
//! broadcasts feed 16 multiply-adds.
//!
//! Earlier designs, measured at 63×512 with `perf` (`docs/performance.md`): matrixmultiply spent
//! more time packing its operands than multiplying (a block is too thin for a general GEMM), and
//! kernels vectorised across a block's units or along its inputs wasted lanes or spent their time
//! in horizontal sums. `pulp`'s safe SIMD types and runtime dispatch compile this kernel for the
//! best instruction set the CPU has (AVX-512, AVX2 + FMA, SSE, scalar): binaries stay portable.

use std::any::TypeId;

use bytemuck::{cast_slice, cast_slice_mut};

use crate::host_float::HostFloat;

/// Units per register tile.
const UNITS: usize = 4;
/// Row vectors per register tile.
const ROW_VECTORS: usize = 4;

/// `out[(offset + u)·rows + r] += Σ_{i<p} weight[i·n + u] · input[i·rows + r]` for `u < n`,
/// `r < rows`: `input` is a unit-major `[≥ p, rows]` buffer, `weight` the block's `[p, n]`
/// weights (input-major: the block's `n` weights from input `i` are contiguous), `out` a
/// unit-major `[·, rows]` buffer whose units `offset..offset + n` are the block.
pub(crate) fn accumulate_block<T: HostFloat>(
    rows: usize,
    (p, n): (usize, usize),
    input: &[T],
    weight: &[T],
    out: &mut [T],
    offset: usize,
) {
    if p == 0 || n == 0 || rows == 0 {
        return;
    }
    let arch = pulp::Arch::new();
    if TypeId::of::<T>() == TypeId::of::<f32>() {
        arch.dispatch(BlockF32 {
            shape: (rows, p, n),
            input: cast_slice(input),
            weight: cast_slice(weight),
            out: &mut cast_slice_mut(out)[offset * rows..(offset + n) * rows],
        });
    } else {
        arch.dispatch(BlockF64 {
            shape: (rows, p, n),
            input: cast_slice(input),
            weight: cast_slice(weight),
            out: &mut cast_slice_mut(out)[offset * rows..(offset + n) * rows],
        });
    }
}

/// The kernel for one float type: a `pulp` operation whose `with_simd` is compiled once per
/// instruction set (see the module docs).
macro_rules! block_kernel {
    ($name:ident, $t:ty, $vec:ident, $as_simd:ident, $as_mut_simd:ident, $splat:ident, $fma:ident) => {
        struct $name<'a> {
            shape: (usize, usize, usize),
            input: &'a [$t],
            weight: &'a [$t],
            out: &'a mut [$t],
        }

        impl $name<'_> {
            /// Units `u0..u0 + U` by row vectors `v0..v0 + V`.
            #[inline(always)]
            fn tile<S: pulp::Simd, const U: usize, const V: usize>(
                &mut self,
                simd: S,
                u0: usize,
                v0: usize,
            ) {
                let (rows, p, n) = self.shape;
                let unit = |out: &[$t], u: usize| -> [S::$vec; V] {
                    let (vectors, _) = S::$as_simd(&out[u * rows..(u + 1) * rows]);
                    std::array::from_fn(|vv| vectors[v0 + vv])
                };
                let mut acc: [[S::$vec; V]; U] = std::array::from_fn(|uu| unit(self.out, u0 + uu));
                for i in 0..p {
                    let (vectors, _) = S::$as_simd(&self.input[i * rows..(i + 1) * rows]);
                    let x: [S::$vec; V] = std::array::from_fn(|vv| vectors[v0 + vv]);
                    let weights = &self.weight[i * n + u0..][..U];
                    for uu in 0..U {
                        let w = simd.$splat(weights[uu]);
                        for vv in 0..V {
                            acc[uu][vv] = simd.$fma(w, x[vv], acc[uu][vv]);
                        }
                    }
                }
                for (uu, acc) in acc.iter().enumerate() {
                    let u = u0 + uu;
                    let (vectors, _) = S::$as_mut_simd(&mut self.out[u * rows..(u + 1) * rows]);
                    vectors[v0..v0 + V].copy_from_slice(acc);
                }
            }

            /// The rows past the last whole vector, one value at a time.
            #[inline(always)]
            fn tail(&mut self, first_row: usize) {
                let (rows, p, n) = self.shape;
                for u in 0..n {
                    for r in first_row..rows {
                        let mut sum = self.out[u * rows + r];
                        for i in 0..p {
                            sum += self.weight[i * n + u] * self.input[i * rows + r];
                        }
                        self.out[u * rows + r] = sum;
                    }
                }
            }
        }

        impl pulp::WithSimd for $name<'_> {
            type Output = ();

            #[inline(always)]
            fn with_simd<S: pulp::Simd>(mut self, simd: S) {
                let (rows, _, n) = self.shape;
                let (vectors, rest) = S::$as_simd(&self.input[..rows]);
                let (count, first_tail_row) = (vectors.len(), rows - rest.len());
                let mut u0 = 0;
                while u0 < n {
                    let units = (n - u0).min(UNITS);
                    let mut v0 = 0;
                    while v0 < count {
                        let v = (count - v0).min(ROW_VECTORS);
                        // Tiles as wide as the units left (an affine output block has 2),
                        // so each row vector loaded feeds every unit of the block.
                        match (units, v) {
                            (UNITS, ROW_VECTORS) => {
                                self.tile::<S, UNITS, ROW_VECTORS>(simd, u0, v0)
                            }
                            (UNITS, _) => self.tile::<S, UNITS, 1>(simd, u0, v0),
                            (3, ROW_VECTORS) => self.tile::<S, 3, ROW_VECTORS>(simd, u0, v0),
                            (3, _) => self.tile::<S, 3, 1>(simd, u0, v0),
                            (2, ROW_VECTORS) => self.tile::<S, 2, ROW_VECTORS>(simd, u0, v0),
                            (2, _) => self.tile::<S, 2, 1>(simd, u0, v0),
                            (_, ROW_VECTORS) => self.tile::<S, 1, ROW_VECTORS>(simd, u0, v0),
                            _ => self.tile::<S, 1, 1>(simd, u0, v0),
                        }
                        v0 += if v == ROW_VECTORS { ROW_VECTORS } else { 1 };
                    }
                    u0 += units;
                }
                if first_tail_row < rows {
                    self.tail(first_tail_row);
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
    as_mut_simd_f32s,
    splat_f32s,
    mul_add_e_f32s
);
block_kernel!(
    BlockF64,
    f64,
    f64s,
    as_simd_f64s,
    as_mut_simd_f64s,
    splat_f64s,
    mul_add_e_f64s
);
