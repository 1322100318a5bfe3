use quiver_index::{Metric, VectorArena, flat};
use std::time::Instant;
fn main() {
    let n: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(10_000); let (dim, nq) = (384usize, 1000usize);
    let mut a = VectorArena::<f32>::new(dim, Metric::Cosine);
    let mut s = 1u64;
    let mut r = || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((s >> 33) as f32 / (1u64 << 31) as f32) - 0.5
    };
    for i in 0..n {
        let v: Vec<f32> = (0..dim).map(|_| r()).collect();
        a.set(i as u64, &v);
    }
    let q: Vec<f32> = (0..nq * dim).map(|_| r()).collect();
    for threads in [1, 2] {
        let opts = flat::SearchOptions {
            threads,
            parallel_threshold: 0,
        };
        for _ in 0..3 {
            let t = Instant::now();
            let res = flat::search_batch(&a, &q, 10, &opts);
            let e = t.elapsed().as_secs_f64();
            println!(
                "threads {threads}: {:.1} ms, {:.0} QPS, {:.1} GFLOP/s ({})",
                e * 1e3,
                nq as f64 / e,
                2.0 * (n * dim * nq) as f64 / e / 1e9,
                res.len()
            );
        }
    }
}
