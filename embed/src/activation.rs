//! Row kernels of the transformer: masked softmax and the GELU activations, with `exp` and
//! `erf` as polynomials the compiler vectorises (libm's are scalar calls, and were 15% of
//! inference). Each kernel is one portable body compiled three times (AVX-512, AVX2,
//! baseline) and picked at run time; the tests hold them to f64 references.

/// e^x for x in about [-87, 88] (clamped there: below, e^x is under f32's normal range),
/// relative error ~2e-7. Cody-Waite range reduction x = n ln 2 + r, a degree-6 polynomial
/// for e^r (Cephes' `expf` coefficients), then 2^n through the exponent bits.
#[inline(always)]
pub(super) fn exp(x: f32) -> f32 {
    // Adding 1.5 * 2^23 rounds to an integer in the float unit (no `round` call).
    const ROUNDER: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let t = x * std::f32::consts::LOG2_E + ROUNDER;
    let n = t - ROUNDER;
    // n as an integer, read from t's mantissa (a float-to-int cast would not vectorise: Rust
    // saturates it lane by lane).
    let n_int = (t.to_bits() as i32).wrapping_sub(ROUNDER.to_bits() as i32);
    let r = x - n * 0.693_359_4 - n * -2.121_944_4e-4;
    let mut p = 1.987_569_1e-4;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let y = p * r * r + r + 1.0;
    y * f32::from_bits(((n_int + 127) as u32) << 23)
}

/// erf(x), absolute error below 1e-6: a rational approximation x·P(x²)/Q(x²) on [-4, 4]
/// (outside, erf is ±1 in f32), with the odd/even minimax coefficients Eigen and XLA use.
#[inline(always)]
pub(super) fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = -2.726_142_3e-10;
    p = p * x2 + 2.770_681_4e-8;
    p = p * x2 + -2.101_024e-6;
    p = p * x2 + -5.692_506_4e-5;
    p = p * x2 + -7.349_906_3e-4;
    p = p * x2 + -2.9546e-3;
    p = p * x2 + -1.609_603_3e-2;
    let mut q = -1.456_607_2e-5;
    q = q * x2 + -2.133_740_6e-4;
    q = q * x2 + -1.682_827e-3;
    q = q * x2 + -7.373_329e-3;
    q = q * x2 + -1.426_474e-2;
    x * p / q
}

macro_rules! dispatched {
    ($(#[$doc:meta])* pub(super) fn $name:ident($($arg:ident: $ty:ty),*) => $body:ident) => {
        $(#[$doc])*
        pub(super) fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f")]
                fn avx512($($arg: $ty),*) {
                    $body($($arg),*)
                }
                #[target_feature(enable = "avx2")]
                fn avx2($($arg: $ty),*) {
                    $body($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU supports AVX-512F (checked just above).
                    return unsafe { avx512($($arg),*) };
                }
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU supports AVX2 (checked just above).
                    return unsafe { avx2($($arg),*) };
                }
            }
            $body($($arg),*)
        }
    };
}

dispatched! {
    /// GELU with the exact (erf) form, in place: x/2 · (1 + erf(x/√2)).
    pub(super) fn gelu_erf(x: &mut [f32]) => gelu_erf_body
}

dispatched! {
    /// GELU's tanh approximation, in place: x/2 · (1 + tanh(√(2/π) (x + 0.044715 x³))).
    pub(super) fn gelu_tanh(x: &mut [f32]) => gelu_tanh_body
}

dispatched! {
    /// Softmax of every row of `scores` (rows of `keys.len()`) after multiplying by `scale`,
    /// over the keys whose mask is non-zero (the others get 0). A row with no key to attend
    /// to is a plain softmax over all keys.
    pub(super) fn softmax_rows(scores: &mut [f32], keys: &[u32], scale: f32) => softmax_rows_body
}

#[inline(always)]
fn gelu_erf_body(x: &mut [f32]) {
    for v in x {
        *v = (0.5 * *v) * (1.0 + erf(*v * std::f32::consts::FRAC_1_SQRT_2));
    }
}

#[inline(always)]
fn gelu_tanh_body(x: &mut [f32]) {
    const K: f32 = 0.797_884_6; // √(2/π)
    for v in x {
        let y = K * (*v + 0.044_715 * *v * *v * *v);
        let tanh = 1.0 - 2.0 / (exp(2.0 * y) + 1.0);
        *v = (0.5 * *v) * (1.0 + tanh);
    }
}

#[inline(always)]
fn softmax_rows_body(scores: &mut [f32], keys: &[u32], scale: f32) {
    // Sixteen running maxima and sums, over fixed-size chunks: one serial chain (or an index
    // computed per element) would not vectorise.
    const LANES: usize = 16;
    let len = keys.len();
    if len == 0 {
        return;
    }
    let everything = keys.iter().all(|&k| k == 0);
    for row in scores.chunks_exact_mut(len) {
        for (v, &k) in row.iter_mut().zip(keys) {
            *v = if k != 0 || everything {
                *v * scale
            } else {
                f32::NEG_INFINITY
            };
        }
        let mut max = [f32::NEG_INFINITY; LANES];
        let mut chunks = row.chunks_exact(LANES);
        for c in &mut chunks {
            for l in 0..LANES {
                max[l] = if c[l] > max[l] { c[l] } else { max[l] };
            }
        }
        for (l, &v) in chunks.remainder().iter().enumerate() {
            max[l] = if v > max[l] { v } else { max[l] };
        }
        let max = max.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
        let mut sum = [0f32; LANES];
        let mut chunks = row.chunks_exact_mut(LANES);
        for c in &mut chunks {
            for l in 0..LANES {
                let e = if c[l] == f32::NEG_INFINITY {
                    0.0
                } else {
                    exp(c[l] - max)
                };
                c[l] = e;
                sum[l] += e;
            }
        }
        for (l, v) in chunks.into_remainder().iter_mut().enumerate() {
            let e = if *v == f32::NEG_INFINITY {
                0.0
            } else {
                exp(*v - max)
            };
            *v = e;
            sum[l] += e;
        }
        let sum: f32 = sum.iter().sum();
        for v in row.iter_mut() {
            *v /= sum;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// erf in f64 by its Taylor series (|x| <= 4.5: ~70 terms, cancellation costs ~8 of
    /// f64's 16 digits, plenty for a 1e-6 check).
    fn erf_reference(x: f64) -> f64 {
        let (mut term, mut sum, mut n) = (x, x, 0.0);
        while term.abs() > 1e-17 * sum.abs().max(1e-300) || n < 3.0 {
            n += 1.0;
            term *= -x * x / n;
            sum += term / (2.0 * n + 1.0);
            if n > 200.0 {
                break;
            }
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    }

    #[test]
    fn erf_and_exp_match_f64_references() {
        let mut worst_erf = 0f64;
        let mut worst_exp = 0f64;
        for i in -90_000..=90_000 {
            let x = i as f32 * 1e-4; // -9..9 for erf
            let e = f64::from(erf(x))
                - if x.abs() <= 4.5 {
                    erf_reference(f64::from(x))
                } else {
                    f64::from(x.signum())
                };
            worst_erf = worst_erf.max(e.abs());
            let y = i as f32 * 9.6e-4; // about -86..86 for exp
            let want = f64::from(y).exp();
            worst_exp = worst_exp.max((f64::from(exp(y)) - want).abs() / want);
        }
        assert!(worst_erf < 1e-6, "erf error {worst_erf}");
        assert!(worst_exp < 5e-7, "exp relative error {worst_exp}");
        assert_eq!(exp(-1e30), exp(-87.0));
        assert!(exp(-87.0) > 0.0 && exp(-87.0) < 2e-38);
    }

    proptest! {
        /// Softmax over the attended keys equals the f64 formula; masked keys get 0; the
        /// dispatched (SIMD) build agrees with the portable one.
        #[test]
        fn softmax_matches_f64(
            rows in 1usize..4, len in 1usize..70, seed in 0u64..1000, masked in 0usize..4
        ) {
            let mut rng = seed;
            let mut next = || {
                rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((rng >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 40.0
            };
            let scores: Vec<f32> = (0..rows * len).map(|_| next()).collect();
            let keys: Vec<u32> = (0..len).map(|j| u32::from(masked == 0 || j % (masked + 1) != 1)).collect();
            let mut fast = scores.clone();
            softmax_rows(&mut fast, &keys, 0.17);
            let mut portable = scores.clone();
            softmax_rows_body(&mut portable, &keys, 0.17);
            for (r, row) in scores.chunks_exact(len).enumerate() {
                let live: Vec<f64> = row.iter().zip(&keys).filter(|(_, k)| **k != 0).map(|(&s, _)| f64::from(s * 0.17)).collect();
                let max = live.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let total: f64 = live.iter().map(|s| (s - max).exp()).sum();
                for j in 0..len {
                    let want = if keys[j] == 0 { 0.0 } else { (f64::from(row[j] * 0.17) - max).exp() / total };
                    for got in [fast[r * len + j], portable[r * len + j]] {
                        prop_assert!((f64::from(got) - want).abs() < 1e-6, "{} vs {}", got, want);
                    }
                }
            }
        }

        /// Both GELUs against their f64 formulas, dispatched and portable builds.
        #[test]
        fn gelu_matches_f64(xs in proptest::collection::vec(-12f32..12.0, 1..300)) {
            let mut a = xs.clone();
            gelu_erf(&mut a);
            let mut b = xs.clone();
            gelu_erf_body(&mut b);
            let mut c = xs.clone();
            gelu_tanh(&mut c);
            for (i, &x) in xs.iter().enumerate() {
                let x64 = f64::from(x);
                let z = x64 / 2f64.sqrt();
                let exact = 0.5 * x64 * (1.0 + if z.abs() < 4.5 { erf_reference(z) } else { z.signum() });
                let tanh = 0.5 * x64 * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (x64 + 0.044715 * x64.powi(3))).tanh());
                prop_assert!((f64::from(a[i]) - exact).abs() < 1e-5, "{} {} {}", x, a[i], exact);
                prop_assert!((f64::from(b[i]) - exact).abs() < 1e-5);
                prop_assert!((f64::from(c[i]) - tanh).abs() < 1e-5, "{} {} {}", x, c[i], tanh);
            }
        }
    }
}
