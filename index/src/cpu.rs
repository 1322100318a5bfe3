//! What the CPU can do, detected once; every kernel's run-time dispatch asks here (simsimd,
//! which dispatches on its own, aside). Tests run a kernel on each instruction set the
//! machine has with [`each_isa`], so the portable twin is exercised on AVX-512 machines too.

use std::cell::Cell;
use std::sync::OnceLock;

/// The instruction-set levels the kernels are built for, lowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Isa {
    /// The baseline of the target (SSE2 on x86-64): the portable loops.
    Portable,
    /// AVX2 with FMA.
    Avx2,
    /// AVX-512F.
    Avx512,
}

/// The best level this CPU has, detected on first use.
pub fn detected() -> Isa {
    static DETECTED: OnceLock<Isa> = OnceLock::new();
    *DETECTED.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                return Isa::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return Isa::Avx2;
            }
        }
        Isa::Portable
    })
}

thread_local! {
    /// The highest level kernels on this thread may use ([`each_isa`] lowers it).
    static CEILING: Cell<Isa> = const { Cell::new(Isa::Avx512) };
}

/// The level dispatch uses on this thread: what the CPU has, capped by [`each_isa`].
pub fn isa() -> Isa {
    detected().min(CEILING.with(Cell::get))
}

/// Whether AVX-512F kernels may run (the CPU has it and the thread is not capped lower).
pub fn avx512() -> bool {
    isa() >= Isa::Avx512
}

/// Whether AVX2 + FMA kernels may run.
pub fn avx2_fma() -> bool {
    isa() >= Isa::Avx2
}

/// Runs `f` once per level up to what the CPU has, with dispatch on this thread capped at
/// that level (work a kernel hands to other threads dispatches there by the CPU alone, unless
/// the kernel decided the level on the calling thread). For tests and benchmarks.
pub fn each_isa(mut f: impl FnMut(Isa)) {
    for level in [Isa::Portable, Isa::Avx2, Isa::Avx512] {
        if level <= detected() {
            let before = CEILING.with(|c| c.replace(level));
            f(level);
            CEILING.with(|c| c.set(before));
        }
    }
}

/// Calls the kernel `path::to::kernel::<D>(args)` compiled for the dimension `D = $dim` (1 to
/// 16) and returns its result from the enclosing function; other dimensions fall through.
/// The caller must have checked that the CPU has the kernel's features.
#[cfg(target_arch = "x86_64")]
macro_rules! return_for_dim {
    ($dim:expr, $($kernel:ident)::+, $args:tt) => {
        $crate::cpu::return_for_dim!(
            @ $dim, [$($kernel)::+], $args, 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16
        )
    };
    (@ $dim:expr, [$($kernel:ident)::+], $args:tt, $d:literal $($rest:literal)*) => {
        if $dim == $d {
            // SAFETY: the caller checked that the CPU has the kernel's features.
            #[allow(unsafe_code)]
            return unsafe { $($kernel)::+::<$d> $args };
        }
        $crate::cpu::return_for_dim!(@ $dim, [$($kernel)::+], $args, $($rest)*)
    };
    (@ $dim:expr, [$($kernel:ident)::+], $args:tt,) => {};
}
#[cfg(target_arch = "x86_64")]
pub(crate) use return_for_dim;

/// Asks the memory system for the cache lines of `data` (at most 32 KiB of it): a hint for
/// scans whose access pattern the hardware prefetcher does not follow.
#[inline(always)]
pub(crate) fn prefetch<T>(data: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        let bytes = std::mem::size_of_val(data).min(32 << 10);
        let start = data.as_ptr().cast::<i8>();
        for offset in (0..bytes).step_by(64) {
            // SAFETY: SSE is part of x86_64; `offset < bytes` keeps the address inside `data`,
            // and a prefetch is a hint with no effect on memory.
            #[allow(unsafe_code)]
            unsafe {
                _mm_prefetch::<_MM_HINT_T0>(start.add(offset))
            };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = data;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kmeans::KMeansParams;
    use crate::multi::maxsim::{Scratch, maxsim, maxsim_naive};
    use crate::pq::ProductQuantizer;
    use crate::rng::SplitMix64;

    #[test]
    fn capping_lowers_the_level_and_restores_it() {
        let mut seen = Vec::new();
        each_isa(|level| {
            assert_eq!(isa(), level);
            seen.push(level);
        });
        assert_eq!(seen.first(), Some(&Isa::Portable));
        assert_eq!(seen.last(), Some(&detected()));
        assert_eq!(isa(), detected());
    }

    fn random(n: usize, seed: u64) -> Vec<f32> {
        let mut rng = SplitMix64::new(seed);
        (0..n)
            .map(|_| (rng.next_u64() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0)
            .collect()
    }

    #[test]
    fn kernels_agree_on_every_level_the_machine_has() {
        let (dim, n) = (8, 600);
        let data = random(n * dim, 7);
        let mut codes_by_level = Vec::new();
        let (query, doc) = (random(5 * 48, 1), random(37 * 48, 2));
        each_isa(|level| {
            // One thread: the whole training dispatches on this (capped) thread.
            let params = KMeansParams {
                iterations: 5,
                threads: 1,
                ..KMeansParams::default()
            };
            let pq = ProductQuantizer::train(&data, dim, 4, &params).expect("trains");
            let mut codes = vec![0u8; 4 * n];
            for (v, code) in data.chunks_exact(dim).zip(codes.chunks_exact_mut(4)) {
                pq.encode(v, code);
            }
            codes_by_level.push((level, codes));
            let s = maxsim(&query, &doc, 48, &mut Scratch::default());
            let naive = maxsim_naive(&query, &doc, 48);
            assert!((s as f64 - naive).abs() < 1e-4, "{level:?}: {s} vs {naive}");
        });
        for (level, codes) in &codes_by_level[1..] {
            assert!(
                codes == &codes_by_level[0].1,
                "{level:?} encodes differently"
            );
        }
    }
}
