//! [`exp_in_place`] and [`ln_into`]: `e^x` and `ln x` over slices, vectorised at the widest SIMD
//! width the CPU has, for the transformers' column methods.
//!
//! libm's `exp` is a function call per value (about 5 ns here), and the affine transformer's host
//! path needs two per value: on a 63×256 MAF density they were a third of the time. This is the
//! textbook method written so that the compiler vectorises it: `x = k·ln 2 + r` with `k` rounded
//! by the 1.5·2⁵² shift (no float-to-integer conversion), `e^r` by a degree-13 Taylor polynomial
//! on `|r| ≤ ln 2 / 2` (truncation below 10⁻¹⁷), and `2^k` assembled in the exponent bits. `pulp`
//! compiles the loop for AVX-512, AVX2 + FMA or SSE at run time, so binaries stay portable.

use std::f64::consts::LOG2_E;

/// The range of the polynomial path: `2^k` stays a normal number. Arguments outside it go to
/// libm.
const LOWEST: f64 = -708.0;
const HIGHEST: f64 = 709.0;

/// `1.5·2⁵²`: adding it rounds a float of magnitude below 2⁵¹ to an integer, which then sits in
/// the low bits of the sum.
const ROUNDING_SHIFT: f64 = 6_755_399_441_055_744.0;

/// `ln 2` split so that `k·LN_2_HIGH` is exact for `|k| < 2¹¹` (the high part ends in 21 zero
/// bits) and `LN_2_HIGH + LN_2_LOW` is `ln 2` to about 10⁻²⁶.
const LN_2_HIGH: f64 = 0.693_147_180_369_123_8;
const LN_2_LOW: f64 = 1.908_214_929_270_587_7e-10;

/// Replaces every `x` in `values` by `e^x` (relative error about 2·10⁻¹⁶ against libm).
/// Arguments outside `[−708, 709]` (where `2^k` would leave the normal range) and NaN get libm's
/// answer.
pub fn exp_in_place(values: &mut [f64]) {
    let arch = pulp::Arch::new();
    // Whether any argument is outside (or NaN): a vectorised scan without an early exit; the
    // indices are collected only then (rarely).
    let outside_range = |x: f64| !(LOWEST..=HIGHEST).contains(&x);
    let any_outside = arch.dispatch(
        #[inline(always)]
        || values.iter().fold(false, |any, &x| any | outside_range(x)),
    );
    let outside: Vec<(usize, f64)> = if any_outside {
        values
            .iter()
            .enumerate()
            .filter(|&(_, &x)| outside_range(x))
            .map(|(i, &x)| (i, x))
            .collect()
    } else {
        Vec::new()
    };
    arch.dispatch(
        #[inline(always)]
        || {
            for v in values.iter_mut() {
                *v = exp_clamped(*v);
            }
        },
    );
    for (i, x) in outside {
        values[i] = x.exp();
    }
}

/// `out[i] = ln(x[i])` (relative error about 2·10⁻¹⁶ against libm). Positive normal arguments
/// take the vectorised path; zero, negative, subnormal, infinite and NaN ones get libm's answer.
///
/// `x = m·2^e` with `m ∈ [√½, √2)`, and `ln m = 2 artanh(s) = 2(s + s³/3 + s⁵/5 + …)` for
/// `s = (m − 1)/(m + 1)`, `|s| ≤ 0.172`: eleven odd terms leave a truncation below 10⁻¹⁸.
pub fn ln_into(x: &[f64], out: &mut [f64]) {
    pulp::Arch::new().dispatch(
        #[inline(always)]
        || {
            for (o, &v) in out.iter_mut().zip(x) {
                *o = ln_normal(v);
            }
        },
    );
    for (o, &v) in out.iter_mut().zip(x) {
        if !(v.is_normal() && v > 0.0 && v.is_finite()) {
            *o = v.ln();
        }
    }
}

#[inline(always)]
fn ln_normal(x: f64) -> f64 {
    const MANTISSA: u64 = (1 << 52) - 1;
    const ONE_EXPONENT: u64 = 1023 << 52;
    let bits = x.to_bits();
    let exponent = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let m = f64::from_bits((bits & MANTISSA) | ONE_EXPONENT); // [1, 2)
    let big = m > std::f64::consts::SQRT_2;
    let m = if big { 0.5 * m } else { m };
    let e = (exponent + i64::from(big)) as f64;
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    // 2·Σ_{n=0}^{10} s^{2n+1}/(2n+1), by Horner in s².
    let mut p: f64 = 1.0 / 21.0;
    for odd in [19.0, 17.0, 15.0, 13.0, 11.0, 9.0, 7.0, 5.0, 3.0, 1.0] {
        p = p.mul_add(s2, 1.0 / odd);
    }
    let ln_m = 2.0 * s * p;
    e.mul_add(LN_2_HIGH, e.mul_add(LN_2_LOW, ln_m))
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
    fn ln_agrees_with_libm_and_hands_special_values_to_it() {
        let mut x: Vec<f64> = (1..20_000).map(|i| f64::from(i) * 1e-3).collect();
        x.extend((0..600).map(|i| 10f64.powf(f64::from(i) - 300.0) * 1.37));
        x.extend([
            1.0,
            std::f64::consts::SQRT_2,
            1.0 + 1e-15,
            1.0 - 1e-15,
            f64::MAX,
        ]);
        let mut y = vec![0.0; x.len()];
        ln_into(&x, &mut y);
        for (&x, &y) in x.iter().zip(&y) {
            let exact = x.ln();
            assert!(
                (y - exact).abs() <= 4e-16 * exact.abs().max(1e-300) + 1e-16 * (x - 1.0).abs(),
                "ln({x}) = {y}, libm {exact}"
            );
        }
        let special = [0.0, -1.0, 1e-310, f64::INFINITY, f64::NAN];
        let mut y = vec![0.0; special.len()];
        ln_into(&special, &mut y);
        assert_eq!(y[0], f64::NEG_INFINITY);
        assert!(y[1].is_nan() && y[4].is_nan());
        assert_eq!(y[2], 1e-310f64.ln());
        assert_eq!(y[3], f64::INFINITY);
    }

    #[test]
    fn extremes_and_nan_get_libms_answer() {
        let x = [
            -1e4,
            1e4,
            -720.0,
            709.5,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::NAN,
        ];
        let mut y = x;
        exp_in_place(&mut y);
        for (&x, &y) in x.iter().zip(&y) {
            assert!(y == x.exp() || (y.is_nan() && x.is_nan()), "exp({x}) = {y}");
        }
    }
}
