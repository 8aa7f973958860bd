//! [`exp_in_place`]: `e^x` over a slice, vectorised at the widest SIMD width the CPU has.
//!
//! libm's `exp` is a function call per value (about 5 ns here), and the affine transformer's host
//! path needs two per value: on a 63×256 MAF density they were a third of the time. This is the
//! textbook method written so that the compiler vectorises it: `x = k·ln 2 + r` with `k` rounded
//! by the 1.5·2⁵² shift (no float-to-integer conversion), `e^r` by a degree-13 Taylor polynomial
//! on `|r| ≤ ln 2 / 2` (truncation below 10⁻¹⁷), and `2^k` assembled in the exponent bits. `pulp`
//! compiles the loop for AVX-512, AVX2 + FMA or SSE at run time, so binaries stay portable.

use std::f64::consts::LOG2_E;

/// Arguments are clamped to this range: `2^k` stays a normal number. Below it `e^x` is under
/// 3·10⁻³⁰⁸ (returned as `e^−708`), above it over 8·10³⁰⁷ (returned as `e^709`).
const LOWEST: f64 = -708.0;
const HIGHEST: f64 = 709.0;

/// `1.5·2⁵²`: adding it rounds a float of magnitude below 2⁵¹ to an integer, which then sits in
/// the low bits of the sum.
const ROUNDING_SHIFT: f64 = 6_755_399_441_055_744.0;

/// `ln 2` split so that `k·LN_2_HIGH` is exact for `|k| < 2¹¹` (the high part has 32 zero low
/// bits) and `LN_2_HIGH + LN_2_LOW` is `ln 2` to about 10⁻²⁶.
const LN_2_HIGH: f64 = 6.931_471_803_691_238_164_90e-1;
const LN_2_LOW: f64 = 1.908_214_929_270_587_700_02e-10;

/// Replaces every `x` in `values` by `e^x` (relative error about 2·10⁻¹⁶ against libm), with the
/// argument clamped to `[−708, 709]`; NaN stays NaN.
pub fn exp_in_place(values: &mut [f64]) {
    pulp::Arch::new().dispatch(
        #[inline(always)]
        || {
            for v in values.iter_mut() {
                *v = exp_clamped(*v);
            }
        },
    );
}

#[inline(always)]
fn exp_clamped(x: f64) -> f64 {
    let x = x.clamp(LOWEST, HIGHEST);
    let shifted = x * LOG2_E + ROUNDING_SHIFT;
    let k = shifted - ROUNDING_SHIFT;
    let r = (x - k * LN_2_HIGH) - k * LN_2_LOW;
    // e^r = Σ r^n / n!, n ≤ 13, by Horner.
    let mut p: f64 = 1.0 / 6_227_020_800.0;
    for factorial in [
        479_001_600.0,
        39_916_800.0,
        3_628_800.0,
        362_880.0,
        40_320.0,
        5_040.0,
        720.0,
        120.0,
        24.0,
        6.0,
        2.0,
        1.0,
        1.0,
    ] {
        p = p.mul_add(r, 1.0 / factorial);
    }
    // The low bits of `shifted` hold k (two's complement); 2^k = (k + 1023) << 52.
    let k_bits = shifted.to_bits().wrapping_sub(ROUNDING_SHIFT.to_bits());
    let scale = f64::from_bits(k_bits.wrapping_add(1023) << 52);
    p * scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_libm_across_the_range() {
        let mut x: Vec<f64> = (0..20_001).map(|i| -700.0 + 0.07 * f64::from(i)).collect();
        let half_ln_2 = 0.5 * std::f64::consts::LN_2;
        x.extend([0.0, -0.0, 1e-300, -1e-300, half_ln_2, -half_ln_2, 1.0, -1.0]);
        let mut y = x.clone();
        exp_in_place(&mut y);
        for (&x, &y) in x.iter().zip(&y) {
            let exact = x.exp();
            assert!(
                ((y - exact) / exact).abs() < 4e-16,
                "exp({x}) = {y}, libm {exact}"
            );
        }
    }

    #[test]
    fn clamps_the_extremes_and_keeps_nan() {
        let mut y = vec![-1e4, 1e4, f64::NEG_INFINITY, f64::INFINITY, f64::NAN];
        exp_in_place(&mut y);
        let close = |a: f64, b: f64| ((a - b) / b).abs() < 4e-16;
        assert!(
            close(y[0], LOWEST.exp()) && close(y[2], LOWEST.exp()),
            "{y:?}"
        );
        assert!(
            close(y[1], HIGHEST.exp()) && close(y[3], HIGHEST.exp()),
            "{y:?}"
        );
        assert!(y[4].is_nan());
    }
}
