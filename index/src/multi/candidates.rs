//! [`TokenIndex`]: PLAID-style candidate generation for MaxSim search.
//!
//! Training clusters token vectors into `centroids` (k-means). Each document is then coded by
//! the *set* of centroids its tokens fall into, and every centroid keeps an inverted list of
//! the documents that use it. A search:
//! 1. scores every query token against every centroid (one matrix product, nq x nc);
//! 2. probes each query token's `nprobe` best centroids and gathers their documents;
//! 3. scores each gathered document by centroid interaction, `sum_i max_{c in codes(d)}
//!    <q_i, c>` (the document's tokens replaced by their centroids, as PLAID does);
//! 4. re-ranks the best `candidates` of them with exact MaxSim.
//!
//! With `nprobe` = all centroids and `candidates` >= all documents this is exact MaxSim.
//! Documents keep only the set of their centroids (not one code per token): the centroid
//! interaction takes a maximum, so repeats add nothing, and the set is what the lists need.

use super::exact::rerank;
use super::{TokenStore, workers};
use crate::kmeans::{self, KMeansParams};
use crate::{Neighbor, RowSet, TopK, matmul};
use std::sync::Arc;

/// Training settings.
///
/// ## Defaults
/// - `centroids`: `None` = [`TokenIndex::default_centroids`] of the token count.
/// - `max_tokens_per_centroid`: 64 — token clouds are redundant (the same word pieces
///   recur); 64 per centroid trains as well as 256 in our measurements at a quarter of the
///   time.
/// - `iterations`: 10; `seed`: 1234; `threads`: 0 = one per core.
///
/// Build with `TokenIndexParams::default()` and the setters (`.centroids(256).seed(7)`).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TokenIndexParams {
    pub centroids: Option<usize>,
    pub max_tokens_per_centroid: usize,
    pub iterations: usize,
    pub seed: u64,
    pub threads: usize,
}

impl Default for TokenIndexParams {
    fn default() -> Self {
        TokenIndexParams {
            centroids: None,
            max_tokens_per_centroid: 64,
            iterations: 10,
            seed: 1234,
            threads: 0,
        }
    }
}

impl TokenIndexParams {
    /// Token centroids (`None`: derived from the token count).
    pub fn centroids(mut self, centroids: impl Into<Option<usize>>) -> Self {
        self.centroids = centroids.into();
        self
    }

    pub fn max_tokens_per_centroid(mut self, n: usize) -> Self {
        self.max_tokens_per_centroid = n;
        self
    }

    pub fn iterations(mut self, iterations: usize) -> Self {
        self.iterations = iterations;
        self
    }

    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Threads for training and encoding (0: one per core).
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }
}

/// Per-search settings. See the engine's documentation for the measured defaults.
#[derive(Clone, Debug)]
pub struct TokenSearch {
    /// Centroids probed per query token.
    pub nprobe: usize,
    /// Documents re-ranked with exact MaxSim (at least `k`).
    pub candidates: usize,
    /// Use only the first `dims` columns for steps 1-3 (Matryoshka encoders); `None` = all.
    pub dims: Option<usize>,
}

/// Token centroids, each document's centroid set, and the inverted lists.
#[derive(Clone, Debug)]
pub struct TokenIndex {
    dim: usize,
    centroids: Vec<f32>,
    codes: Vec<Option<Arc<[u32]>>>,
    /// Per centroid, the rows that use it, ascending. Shared between clones; a write copies
    /// only the lists it touches.
    lists: Vec<Arc<Vec<u64>>>,
    docs: usize,
    /// The seed the centroids were trained with (kept for reporting).
    seed: u64,
}

impl TokenIndex {
    /// The centroid count used when none is given: the power of two at or below
    /// 2 * sqrt(tokens), within 16..=65536 (PLAID takes 16 * sqrt; we probe more lists
    /// per token instead, which costs less to train and measured as accurate).
    pub fn default_centroids(tokens: usize) -> usize {
        let target = (2.0 * (tokens as f64).sqrt()).max(16.0);
        let pow = 1usize << (target.log2().floor() as u32);
        pow.clamp(16, 65536).min(tokens.max(1))
    }

    /// Trains centroids on `tokens` (n x dim). The result has no documents yet.
    pub fn train(tokens: &[f32], dim: usize, params: &TokenIndexParams) -> TokenIndex {
        let n = tokens.len() / dim;
        let k = params
            .centroids
            .unwrap_or_else(|| Self::default_centroids(n));
        let centroids = kmeans::train(
            tokens,
            dim,
            k,
            &KMeansParams {
                iterations: params.iterations,
                max_points_per_centroid: params.max_tokens_per_centroid,
                seed: params.seed,
                threads: params.threads,
            },
        );
        Self::with_centroids(dim, centroids, params.seed)
    }

    /// An index over the given centroids (row-major, nc x dim, trained with `seed`), with no
    /// documents.
    pub fn with_centroids(dim: usize, centroids: Vec<f32>, seed: u64) -> TokenIndex {
        let nc = centroids.len() / dim;
        TokenIndex {
            dim,
            centroids,
            codes: Vec::new(),
            lists: (0..nc).map(|_| Arc::new(Vec::new())).collect(),
            docs: 0,
            seed,
        }
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn centroid_count(&self) -> usize {
        self.lists.len()
    }

    pub fn centroids(&self) -> &[f32] {
        &self.centroids
    }

    /// Documents indexed.
    pub fn len(&self) -> usize {
        self.docs
    }

    pub fn is_empty(&self) -> bool {
        self.docs == 0
    }

    /// Bytes of centroids, codes and lists.
    pub fn memory_bytes(&self) -> usize {
        let codes: usize = self.codes.iter().flatten().map(|c| c.len() * 4).sum();
        let lists: usize = self.lists.iter().map(|l| l.len() * 8).sum();
        self.centroids.len() * 4 + codes + lists + self.codes.len() * 16
    }

    /// The sorted set of centroids nearest to the tokens of one document (n x dim).
    pub fn encode(&self, tokens: &[f32], threads: usize) -> Vec<u32> {
        let mut set: Vec<u32> = kmeans::assign(tokens, self.dim, &self.centroids, threads)
            .into_iter()
            .map(|(c, _)| c)
            .collect();
        set.sort_unstable();
        set.dedup();
        set
    }

    /// Encodes many documents, split over `threads` scoped threads (0 = one per core).
    /// Each document is encoded exactly as [`TokenIndex::encode`] with one thread does, so a
    /// document's set never depends on the batch it came in (`check` relies on this).
    pub fn encode_many(&self, docs: &[&[f32]], threads: usize) -> Vec<Vec<u32>> {
        let n = workers(threads, docs.len() / 16);
        if n <= 1 {
            return docs.iter().map(|d| self.encode(d, 1)).collect();
        }
        let per = docs.len().div_ceil(n);
        std::thread::scope(|s| {
            let handles: Vec<_> = docs
                .chunks(per)
                .map(|part| {
                    s.spawn(move || part.iter().map(|d| self.encode(d, 1)).collect::<Vec<_>>())
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        })
    }

    pub fn codes(&self, row: u64) -> Option<&[u32]> {
        self.codes.get(row as usize).and_then(|c| c.as_deref())
    }

    /// Adds (or replaces) a document's centroid set. Codes must be < `centroid_count`.
    pub fn insert(&mut self, row: u64, codes: &[u32]) {
        self.remove(row);
        let i = row as usize;
        if i >= self.codes.len() {
            self.codes.resize(i + 1, None);
        }
        for &c in codes {
            let list = Arc::make_mut(&mut self.lists[c as usize]);
            if list.last().is_none_or(|&last| last < row) {
                list.push(row);
            } else if let Err(at) = list.binary_search(&row) {
                list.insert(at, row);
            }
        }
        self.codes[i] = Some(Arc::from(codes));
        self.docs += 1;
    }

    /// Removes a document; returns whether it was indexed.
    pub fn remove(&mut self, row: u64) -> bool {
        let Some(codes) = self.codes.get_mut(row as usize).and_then(Option::take) else {
            return false;
        };
        for &c in codes.iter() {
            let list = Arc::make_mut(&mut self.lists[c as usize]);
            if let Ok(at) = list.binary_search(&row) {
                list.remove(at);
            }
        }
        self.docs -= 1;
        true
    }

    /// The `k` best documents for query `q` (n x dim), best first (`distance` = -MaxSim),
    /// restricted to `allowed` when given. Exact MaxSim re-ranks the survivors, read from
    /// `store`, which must hold the indexed documents.
    pub fn search(
        &self,
        store: &TokenStore,
        q: &[f32],
        k: usize,
        params: &TokenSearch,
        allowed: Option<&RowSet>,
    ) -> Vec<Neighbor> {
        let dim = self.dim;
        let nq = q.len() / dim;
        let nc = self.lists.len();
        if nq == 0 || nc == 0 || k == 0 {
            return Vec::new();
        }
        // 1. Query tokens x centroids, transposed (nc x nq) so a document's interaction
        //    is an element-wise maximum over contiguous rows.
        let dims = params.dims.unwrap_or(dim).clamp(1, dim);
        let prefix = |m: &[f32]| -> Vec<f32> {
            m.chunks_exact(dim)
                .flat_map(|t| &t[..dims])
                .copied()
                .collect()
        };
        let (qd, cd);
        let (qs, cs): (&[f32], &[f32]) = if dims < dim {
            qd = prefix(q);
            cd = prefix(&self.centroids);
            (&qd, &cd)
        } else {
            (q, &self.centroids)
        };
        let mut sims_t = vec![0f32; nc * nq];
        matmul::dot_products(cs, nc, qs, nq, dims, &mut sims_t);
        // 2. Probe.
        let nprobe = params.nprobe.clamp(1, nc);
        let mut gathered: Vec<u64> = Vec::new();
        let mut order: Vec<u32> = (0..nc as u32).collect();
        for i in 0..nq {
            let score = |c: &u32| sims_t[*c as usize * nq + i];
            if nprobe < nc {
                order.select_nth_unstable_by(nprobe - 1, |a, b| score(b).total_cmp(&score(a)));
            }
            for &c in &order[..nprobe] {
                gathered.extend_from_slice(&self.lists[c as usize]);
            }
        }
        gathered.sort_unstable();
        gathered.dedup();
        if let Some(allowed) = allowed {
            gathered.retain(|r| allowed.contains(*r));
        }
        // 3. Centroid interaction.
        let keep = params.candidates.max(k);
        let mut top = TopK::new(keep);
        let mut best = vec![f32::NEG_INFINITY; nq];
        for &row in &gathered {
            let Some(codes) = self.codes(row) else {
                continue;
            };
            best.fill(f32::NEG_INFINITY);
            for &c in codes {
                let s = &sims_t[c as usize * nq..(c as usize + 1) * nq];
                for (b, &x) in best.iter_mut().zip(s) {
                    *b = b.max(x);
                }
            }
            let approx: f32 = best.iter().sum();
            top.push(Neighbor {
                distance: -approx,
                row,
            });
        }
        // 4. Exact re-ranking.
        let survivors: Vec<u64> = top.into_sorted_vec().iter().map(|n| n.row).collect();
        rerank_threaded(store, q, &survivors, k)
    }
}

/// Exact re-ranking split over the cores when there is enough of it.
fn rerank_threaded(store: &TokenStore, q: &[f32], rows: &[u64], k: usize) -> Vec<Neighbor> {
    let n = workers(0, rows.len() / 64);
    if n <= 1 {
        return rerank(store, q, rows.iter().copied(), k);
    }
    let per = rows.len().div_ceil(n);
    let parts: Vec<Vec<Neighbor>> = std::thread::scope(|s| {
        let handles: Vec<_> = rows
            .chunks(per)
            .map(|part| s.spawn(move || rerank(store, q, part.iter().copied(), k)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let mut top = TopK::new(k);
    parts.into_iter().flatten().for_each(|n| top.push(n));
    top.into_sorted_vec()
}

#[cfg(test)]
mod tests {
    use super::super::exact;
    use super::*;
    use crate::rng::SplitMix64;
    use proptest::prelude::*;

    fn random_store(seed: u64, docs: usize, dim: usize) -> TokenStore {
        let mut rng = SplitMix64::new(seed);
        let mut store = TokenStore::new(dim);
        for row in 0..docs as u64 {
            let n = 1 + (rng.next_u64() % 12) as usize;
            let mut t: Vec<f32> = (0..n * dim)
                .map(|_| (rng.next_u64() % 2001) as f32 / 1000.0 - 1.0)
                .collect();
            super::super::normalize_tokens(&mut t, dim);
            // Leave gaps in the row ids, as deletes do.
            store.set(row * 2, Arc::from(t));
        }
        store
    }

    fn build(store: &TokenStore, centroids: usize) -> TokenIndex {
        let all: Vec<f32> = store.iter().flat_map(|(_, d)| d.iter().copied()).collect();
        let mut index = TokenIndex::train(
            &all,
            store.dim(),
            &TokenIndexParams {
                centroids: Some(centroids),
                ..Default::default()
            },
        );
        for (row, doc) in store.iter() {
            let codes = index.encode(doc, 1);
            index.insert(row, &codes);
        }
        index
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Every centroid probed and every document re-ranked: exact MaxSim, in order.
        #[test]
        fn exhaustive_probing_equals_exact(seed in 0u64..1000, docs in 1usize..60, dim in 2usize..20,
                                           nc in 1usize..24, nq in 1usize..6, k in 1usize..12) {
            let store = random_store(seed, docs, dim);
            let index = build(&store, nc);
            let q: Vec<f32> = random_store(seed + 7, 1, dim).iter().next().map(|(_, d)| d.to_vec()).unwrap();
            let q = &q[..q.len().min(nq * dim)];
            let all = TokenSearch { nprobe: usize::MAX, candidates: docs, dims: None };
            let fast = index.search(&store, q, k, &all, None);
            let oracle = exact::search(&store, q, k, None, 1);
            prop_assert_eq!(fast.len(), oracle.len());
            for (a, b) in fast.iter().zip(&oracle) {
                prop_assert!((a.distance - b.distance).abs() <= 1e-5, "{:?} vs {:?}", a, b);
            }
            // And under a filter: the matching subset, exactly.
            let allowed: RowSet = store.iter().map(|(r, _)| r).filter(|r| r % 3 == 0).collect();
            let fast = index.search(&store, q, k, &all, Some(&allowed));
            let oracle = exact::search(&store, q, k, Some(&allowed), 1);
            prop_assert_eq!(fast.iter().map(|n| n.row).filter(|r| !allowed.contains(*r)).count(), 0);
            prop_assert_eq!(fast.len(), oracle.len());
            for (a, b) in fast.iter().zip(&oracle) {
                prop_assert!((a.distance - b.distance).abs() <= 1e-5);
            }
        }
    }

    #[test]
    fn lists_follow_inserts_and_removes() {
        let store = random_store(3, 40, 8);
        let mut index = build(&store, 8);
        let listed: usize = index.lists.iter().map(|l| l.len()).sum();
        let coded: usize = index.codes.iter().flatten().map(|c| c.len()).sum();
        assert_eq!(listed, coded);
        let snapshot = index.clone();
        for (row, _) in store.iter() {
            assert!(index.remove(row));
        }
        assert!(index.is_empty());
        assert!(index.lists.iter().all(|l| l.is_empty()));
        assert_eq!(snapshot.len(), 40, "clones are unaffected");
    }

    #[test]
    fn default_centroids_grow_with_sqrt_of_tokens() {
        assert_eq!(TokenIndex::default_centroids(10), 10);
        assert_eq!(TokenIndex::default_centroids(10_000), 128);
        assert_eq!(TokenIndex::default_centroids(3_000_000), 2048);
    }
}
