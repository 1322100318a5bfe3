//! Product quantization: a vector is cut into `m` sub-vectors, each replaced by the index of
//! its nearest codeword among up to 256 (one byte). Distances to a query are then sums of `m`
//! table look-ups (asymmetric distance computation: the query stays exact).

#[cfg(target_arch = "x86_64")]
mod avx512;
pub mod fastscan;

use crate::kmeans::{self, KMeansParams};

/// Codewords per sub-quantizer (8-bit codes).
pub const KSUB: usize = 256;

#[derive(Clone, Debug, PartialEq)]
pub struct ProductQuantizer {
    dim: usize,
    m: usize,
    dsub: usize,
    /// Codewords actually trained per sub-space (< 256 only with fewer training points).
    ksub: usize,
    /// `m x KSUB x dsub`; untrained codewords (beyond `ksub`) are never produced by `encode`.
    codebooks: Vec<f32>,
    /// The same codewords as `m x dsub x KSUB`: one component of all 256 codewords is
    /// contiguous, so building a lookup table is a few dozen 16-wide vector operations per
    /// sub-space instead of 256 short dot products.
    transposed: Vec<f32>,
}

fn transpose(codebooks: &[f32], m: usize, dsub: usize) -> Vec<f32> {
    let mut t = vec![0f32; codebooks.len()];
    for j in 0..m {
        for c in 0..KSUB {
            for d in 0..dsub {
                t[(j * dsub + d) * KSUB + c] = codebooks[(j * KSUB + c) * dsub + d];
            }
        }
    }
    t
}

impl ProductQuantizer {
    /// Trains on `data` (n x dim). `m` must divide `dim`.
    pub fn train(
        data: &[f32],
        dim: usize,
        m: usize,
        params: &KMeansParams,
    ) -> Result<Self, String> {
        Self::train_codewords(data, dim, m, KSUB, params)
    }

    /// [`ProductQuantizer::train`] with at most `codewords` (1..=256) codewords per
    /// sub-quantizer: 16 makes 4-bit codes, which [`fastscan`] scans.
    pub fn train_codewords(
        data: &[f32],
        dim: usize,
        m: usize,
        codewords: usize,
        params: &KMeansParams,
    ) -> Result<Self, String> {
        if !(1..=KSUB).contains(&codewords) {
            return Err(format!("{codewords} codewords is not between 1 and {KSUB}"));
        }
        if m == 0 || !dim.is_multiple_of(m) {
            return Err(format!(
                "m = {m} must be a positive divisor of the dimension {dim}"
            ));
        }
        let n = data.len() / dim;
        if n == 0 {
            return Err("no training vectors".into());
        }
        let dsub = dim / m;
        let ksub = n.min(codewords);
        let mut codebooks = vec![0f32; m * KSUB * dsub];
        // Sub-quantizers are independent: train them on all cores, each k-means on one.
        let train_one = |j: usize| {
            let sub: Vec<f32> = data
                .chunks_exact(dim)
                .flat_map(|v| v[j * dsub..(j + 1) * dsub].iter().copied())
                .collect();
            let p = KMeansParams {
                seed: params.seed.wrapping_add(j as u64 * 0x9E37),
                threads: 1,
                ..params.clone()
            };
            kmeans::train(&sub, dsub, ksub, &p)
        };
        let threads = std::thread::available_parallelism()
            .map_or(1, |t| t.get())
            .min(m);
        let trained: Vec<Vec<f32>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let train_one = &train_one;
                    s.spawn(move || {
                        (t..m)
                            .step_by(threads)
                            .map(|j| (j, train_one(j)))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            let mut all: Vec<(usize, Vec<f32>)> = handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect();
            all.sort_by_key(|(j, _)| *j);
            all.into_iter().map(|(_, cb)| cb).collect()
        });
        for (j, cb) in trained.iter().enumerate() {
            codebooks[j * KSUB * dsub..j * KSUB * dsub + cb.len()].copy_from_slice(cb);
        }
        Self::from_parts(dim, m, ksub, codebooks)
    }

    /// Rebuilds a quantizer from stored parts.
    pub fn from_parts(
        dim: usize,
        m: usize,
        ksub: usize,
        codebooks: Vec<f32>,
    ) -> Result<Self, String> {
        if m == 0
            || !dim.is_multiple_of(m)
            || ksub == 0
            || ksub > KSUB
            || codebooks.len() != m * KSUB * (dim / m)
        {
            return Err(format!(
                "invalid quantizer: dim {dim}, m {m}, ksub {ksub}, {} codebook values",
                codebooks.len()
            ));
        }
        let dsub = dim / m;
        Ok(ProductQuantizer {
            dim,
            m,
            dsub,
            ksub,
            transposed: transpose(&codebooks, m, dsub),
            codebooks,
        })
    }

    pub fn m(&self) -> usize {
        self.m
    }

    pub fn ksub(&self) -> usize {
        self.ksub
    }

    pub fn codebooks(&self) -> &[f32] {
        &self.codebooks
    }

    pub(crate) fn codeword(&self, j: usize, c: usize) -> &[f32] {
        let at = (j * KSUB + c) * self.dsub;
        &self.codebooks[at..at + self.dsub]
    }

    /// Writes the `m`-byte code of `v`: per sub-space the nearest trained codeword (by the
    /// exact squared distance; ties to the lower index).
    pub fn encode(&self, v: &[f32], code: &mut [u8]) {
        #[cfg(target_arch = "x86_64")]
        {
            if crate::cpu::avx512() {
                // Encoding every row was 14% of an index build with the portable loop (SSE2,
                // scalar minimum); the AVX-512 kernel gives the same codes.
                crate::cpu::return_for_dim!(
                    self.dsub,
                    avx512::encode,
                    (v, &self.transposed, self.ksub, &mut code[..self.m])
                );
            }
        }
        self.encode_portable(v, code)
    }

    /// The body of [`Self::encode`], and the reference its AVX-512 kernel is tested against.
    fn encode_portable(&self, v: &[f32], code: &mut [u8]) {
        debug_assert_eq!(v.len(), self.dim);
        let mut table = [0f32; KSUB];
        for (j, out) in code.iter_mut().enumerate().take(self.m) {
            // All 256 distances at once over the transposed codebook (vectorised), then the
            // first minimum among the trained codewords.
            table.fill(0.0);
            for d in 0..self.dsub {
                let x = v[j * self.dsub + d];
                let at = (j * self.dsub + d) * KSUB;
                for (acc, &w) in table.iter_mut().zip(&self.transposed[at..at + KSUB]) {
                    let diff = x - w;
                    *acc += diff * diff;
                }
            }
            let trained = &table[..self.ksub];
            let min = trained.iter().fold(f32::INFINITY, |m, &d| m.min(d));
            *out = trained.iter().position(|&d| d == min).unwrap_or(0) as u8;
        }
    }

    pub fn decode(&self, code: &[u8]) -> Vec<f32> {
        (0..self.m)
            .flat_map(|j| self.codeword(j, code[j] as usize).iter().copied())
            .collect()
    }

    /// `table[j * 256 + c] = ||q_j - codeword(j, c)||^2`.
    pub fn l2_table(&self, q: &[f32], table: &mut [f32]) {
        self.fill_table(q, table, |acc, x, w| {
            let d = x - w;
            acc + d * d
        });
    }

    /// `table[j * 256 + c] = <q_j, codeword(j, c)>`.
    pub fn dot_table(&self, q: &[f32], table: &mut [f32]) {
        self.fill_table(q, table, |acc, x, w| acc + x * w);
    }

    /// `table[j * 16 + c] = <q_j, codeword(j, c)>` for the first 16 codewords (a 4-bit
    /// quantizer's table, `m * 16` entries).
    pub fn dot_table16(&self, q: &[f32], table: &mut [f32]) {
        const N: usize = fastscan::KSUB4;
        let (codewords, _) = self.transposed.as_chunks::<KSUB>();
        for (j, row) in table.chunks_exact_mut(N).enumerate().take(self.m) {
            row.fill(0.0);
            for d in 0..self.dsub {
                let x = q[j * self.dsub + d];
                for (acc, &w) in row.iter_mut().zip(&codewords[j * self.dsub + d][..N]) {
                    *acc += x * w;
                }
            }
        }
    }

    /// For each sub-space and component, folds one query component into all 256 entries
    /// (a contiguous, vectorisable loop over the transposed codebook).
    #[inline]
    fn fill_table(&self, q: &[f32], table: &mut [f32], f: impl Fn(f32, f32, f32) -> f32) {
        let (rows, _) = table.as_chunks_mut::<KSUB>();
        let (codewords, _) = self.transposed.as_chunks::<KSUB>();
        for (j, row) in rows.iter_mut().enumerate().take(self.m) {
            row.fill(0.0);
            for d in 0..self.dsub {
                let x = q[j * self.dsub + d];
                for (acc, &w) in row.iter_mut().zip(&codewords[j * self.dsub + d]) {
                    *acc = f(*acc, x, w);
                }
            }
        }
    }
}

/// Sum of the table entries a code selects (`table` is m x 256).
#[inline]
pub fn table_distance(table: &[f32], code: &[u8]) -> f32 {
    let (rows, _) = table.as_chunks::<KSUB>();
    // Indexing a [f32; 256] with a u8 needs no bounds check.
    rows.iter().zip(code).map(|(t, &c)| t[c as usize]).sum()
}

/// `table_distance` of every code in `codes` (n codes of `m` bytes, back to back), calling
/// `f(i, distance)` in order. Four codes at a time, so four independent sums are in flight
/// instead of one chain of dependent additions.
#[inline]
pub fn scan_codes(table: &[f32], codes: &[u8], m: usize, mut f: impl FnMut(usize, f32)) {
    let (rows, _) = table.as_chunks::<KSUB>();
    let rows = &rows[..m];
    let mut quads = codes.chunks_exact(4 * m);
    let mut i = 0;
    for quad in &mut quads {
        let (a, rest) = quad.split_at(m);
        let (b, rest) = rest.split_at(m);
        let (c, d) = rest.split_at(m);
        let mut acc = [0f32; 4];
        for (j, t) in rows.iter().enumerate() {
            acc[0] += t[a[j] as usize];
            acc[1] += t[b[j] as usize];
            acc[2] += t[c[j] as usize];
            acc[3] += t[d[j] as usize];
        }
        for (o, v) in acc.into_iter().enumerate() {
            f(i + o, v);
        }
        i += 4;
    }
    for code in quads.remainder().chunks_exact(m) {
        f(i, table_distance(table, code));
        i += 1;
    }
}

/// [`scan_codes`] over the codes at positions `selected` only (rows a filter keeps), calling
/// `f(position, distance)`; four at a time like `scan_codes`.
#[inline]
pub fn scan_selected(
    table: &[f32],
    codes: &[u8],
    m: usize,
    selected: &[usize],
    mut f: impl FnMut(usize, f32),
) {
    let (rows, _) = table.as_chunks::<KSUB>();
    let rows = &rows[..m];
    let code = |i: usize| &codes[i * m..(i + 1) * m];
    let mut quads = selected.chunks_exact(4);
    for quad in &mut quads {
        let (a, b, c, d) = (code(quad[0]), code(quad[1]), code(quad[2]), code(quad[3]));
        let mut acc = [0f32; 4];
        for (j, t) in rows.iter().enumerate() {
            acc[0] += t[a[j] as usize];
            acc[1] += t[b[j] as usize];
            acc[2] += t[c[j] as usize];
            acc[3] += t[d[j] as usize];
        }
        for (&i, v) in quad.iter().zip(acc) {
            f(i, v);
        }
    }
    for &i in quads.remainder() {
        f(i, table_distance(table, code(i)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;
    use proptest::prelude::*;

    fn data(n: usize, dim: usize, seed: u64) -> Vec<f32> {
        let mut r = SplitMix64::new(seed);
        (0..n * dim)
            .map(|_| (r.next_u64() >> 40) as f32 / (1u64 << 24) as f32 * 4.0 - 2.0)
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(25))]
        #[test]
        fn table_distances_equal_distances_to_decoded(
            m in 1usize..6, dsub in 1usize..5, n in 1usize..400, seed in 0u64..50
        ) {
            let dim = m * dsub;
            let train = data(n, dim, seed);
            let p = KMeansParams { iterations: 5, ..KMeansParams::default() };
            let pq = ProductQuantizer::train(&train, dim, m, &p).unwrap();
            let q = data(1, dim, seed + 7);
            let (mut l2t, mut dott) = (vec![0f32; m * KSUB], vec![0f32; m * KSUB]);
            pq.l2_table(&q, &mut l2t);
            pq.dot_table(&q, &mut dott);
            let mut code = vec![0u8; m];
            for v in train.chunks_exact(dim).take(50) {
                pq.encode(v, &mut code);
                prop_assert!(code.iter().all(|&c| (c as usize) < pq.ksub()));
                let x = pq.decode(&code);
                let l2: f64 = q.iter().zip(&x).map(|(a, b)| f64::from(a - b).powi(2)).sum();
                let dot: f64 = q.iter().zip(&x).map(|(a, b)| f64::from(*a) * f64::from(*b)).sum();
                prop_assert!((f64::from(table_distance(&l2t, &code)) - l2).abs() <= 1e-4 * (1.0 + l2));
                prop_assert!((f64::from(table_distance(&dott, &code)) - dot).abs() <= 1e-4 * (1.0 + dot.abs()));
                // The four-at-a-time scan gives the same sums as one at a time.
                let codes: Vec<u8> = code.iter().cycle().take(m * 7).copied().collect();
                let mut seen = 0;
                scan_codes(&l2t, &codes, m, |i, d| {
                    seen += 1;
                    assert_eq!(i, seen - 1);
                    assert!((d - table_distance(&l2t, &codes[i * m..(i + 1) * m])).abs() <= 1e-5 * (1.0 + d.abs()));
                });
                prop_assert_eq!(seen, 7);
                // The CPU-specific build of `encode` gives the portable build's code.
                let mut portable = vec![0u8; m];
                pq.encode_portable(v, &mut portable);
                prop_assert_eq!(&code, &portable);
                // The code is the nearest codeword in every sub-space.
                for j in 0..m {
                    let sub = &v[j * dsub..(j + 1) * dsub];
                    let chosen: f32 = sub.iter().zip(pq.codeword(j, code[j] as usize)).map(|(a, b)| (a - b) * (a - b)).sum();
                    for c in 0..pq.ksub() {
                        let d: f32 = sub.iter().zip(pq.codeword(j, c)).map(|(a, b)| (a - b) * (a - b)).sum();
                        prop_assert!(chosen <= d);
                    }
                }
            }
        }
    }

    proptest! {
        /// The CPU-specific encoder picks the portable encoder's codeword, exact ties (repeated
        /// codewords, in the same vector lane and across lanes) and partly trained codebooks
        /// included.
        #[test]
        fn encode_variants_agree_on_ties(
            m in 1usize..5, dsub in 1usize..9, ksub in 1usize..=256, repeat in 1usize..40, seed in 0u64..50
        ) {
            let dim = m * dsub;
            let mut codebooks = data(m * KSUB, dsub, seed);
            for j in 0..m {
                for c in repeat..KSUB {
                    let (dst, src) = ((j * KSUB + c) * dsub, (j * KSUB + c % repeat) * dsub);
                    codebooks.copy_within(src..src + dsub, dst);
                }
            }
            let pq = ProductQuantizer::from_parts(dim, m, ksub, codebooks).unwrap();
            let (mut fast, mut portable) = (vec![0u8; m], vec![0u8; m]);
            for v in data(30, dim, seed + 1).chunks_exact(dim) {
                pq.encode(v, &mut fast);
                pq.encode_portable(v, &mut portable);
                prop_assert_eq!(&fast, &portable);
            }
        }
    }

    #[test]
    fn quantization_error_shrinks_with_more_subquantizers() {
        let dim = 16;
        let train = data(3000, dim, 1);
        let err = |m: usize| {
            let pq = ProductQuantizer::train(&train, dim, m, &KMeansParams::default()).unwrap();
            let mut code = vec![0u8; m];
            train
                .chunks_exact(dim)
                .map(|v| {
                    pq.encode(v, &mut code);
                    let x = pq.decode(&code);
                    v.iter()
                        .zip(&x)
                        .map(|(a, b)| f64::from(a - b).powi(2))
                        .sum::<f64>()
                })
                .sum::<f64>()
        };
        assert!(err(8) < err(2) * 0.8);
        assert!(ProductQuantizer::train(&train, dim, 3, &KMeansParams::default()).is_err());
        let pq = ProductQuantizer::train(&train, dim, 4, &KMeansParams::default()).unwrap();
        let back =
            ProductQuantizer::from_parts(dim, 4, pq.ksub(), pq.codebooks().to_vec()).unwrap();
        assert_eq!(back, pq);
    }
}
