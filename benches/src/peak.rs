//! The machine's floating-point peak on one core, measured: independent fused multiply-adds
//! on registers only (no memory), at the widest vector width the CPU has. Kernels are quoted
//! as a share of this, the ceiling no f32 code on this core can pass.
#![allow(unsafe_code)]

use std::time::Instant;

/// Best of five runs of 12 independent FMA chains (enough to cover the FMA latency on two
/// ports), in GFLOP/s (2 flops per lane per FMA).
pub fn fma_peak_gflops() -> f64 {
    let iters = 20_000_000;
    let mut best = 0.0f64;
    for _ in 0..5 {
        let t = Instant::now();
        let (flops, sink) = chains(iters);
        std::hint::black_box(sink);
        best = best.max(flops / t.elapsed().as_secs_f64() / 1e9);
    }
    best
}

fn chains(iters: usize) -> (f64, f32) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has the feature.
            return (iters as f64 * 12.0 * 32.0, unsafe { avx512(iters) });
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU has the features.
            return (iters as f64 * 12.0 * 16.0, unsafe { avx2(iters) });
        }
    }
    let mut acc = [0.0f32; 12];
    for _ in 0..iters {
        for a in &mut acc {
            *a = a.mul_add(0.999, 0.001);
        }
    }
    (iters as f64 * 12.0 * 2.0, acc.iter().sum())
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn avx512(iters: usize) -> f32 {
    use std::arch::x86_64::*;
    let mut acc = [_mm512_setzero_ps(); 12];
    let (a, b) = (_mm512_set1_ps(0.999), _mm512_set1_ps(0.001));
    for _ in 0..iters {
        for x in &mut acc {
            *x = _mm512_fmadd_ps(*x, a, b);
        }
    }
    acc.iter().map(|&x| _mm512_reduce_add_ps(x)).sum()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn avx2(iters: usize) -> f32 {
    use std::arch::x86_64::*;
    let mut acc = [_mm256_setzero_ps(); 12];
    let (a, b) = (_mm256_set1_ps(0.999), _mm256_set1_ps(0.001));
    for _ in 0..iters {
        for x in &mut acc {
            *x = _mm256_fmadd_ps(*x, a, b);
        }
    }
    let mut lanes = [0.0f32; 8];
    let sum = acc
        .iter()
        .fold(_mm256_setzero_ps(), |s, &x| _mm256_add_ps(s, x));
    // SAFETY: `lanes` holds 8 floats.
    unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), sum) };
    lanes.iter().sum()
}
