//! Matryoshka funnel search: rank rows on the first `dims` components of their vectors (the
//! prefix, with its own norms under cosine), keep the best candidates, re-rank those exactly on
//! every component. Encoders trained with a Matryoshka loss keep most of their quality in such
//! a prefix, so the first pass reads `dims / dim` of the arena; the re-rank makes every
//! returned distance the exact full one. Nothing is stored twice: the prefix is the stored
//! vector's first components.
//!
//! [`naive_prefix_search`] is the f64 oracle of [`prefix_candidates`].

use super::{MATMUL_MIN_QUERIES, SearchOptions, blocked_scan, merge, rerank, run_split};
use crate::arena::{CHUNK_ROWS, VectorArena};
use crate::cpu::prefetch;
use crate::distance::{self, scalar};
use crate::element::Element;
use crate::metric::Metric;
use crate::rowset::RowSet;
use crate::topk::{Neighbor, TopK};

/// Rows ahead whose prefix the scan asks the memory system for.
const PREFETCH_ROWS: usize = 16;

/// The query's prefix in the arena's element type; unit-normalised for cosine, so a row's
/// prefix distance needs only its dot product with the query and its own prefix norm.
fn prepare_prefix<E: Element>(metric: Metric, query: &[f32], dims: usize) -> Vec<E> {
    let mut q = query[..dims].to_vec();
    if metric == Metric::Cosine {
        let n = q
            .iter()
            .map(|&x| f64::from(x) * f64::from(x))
            .sum::<f64>()
            .sqrt();
        let inv = if n > 0.0 { (1.0 / n) as f32 } else { 0.0 };
        q.iter_mut().for_each(|x| *x *= inv);
    }
    q.iter().map(|&x| E::from_f32(x)).collect()
}

/// The distance of a prepared query prefix and a row's prefix: cosine compares the prefixes'
/// own directions (a prefix of a unit vector is not a unit vector; 1 for a zero prefix), dot
/// and l2 are the plain partial sums.
#[inline(always)]
fn prefix_distance<E: Element>(metric: Metric, q: &[E], x: &[E]) -> f32 {
    match metric {
        Metric::Cosine => {
            let sq = distance::dot(x, x);
            if sq > 0.0 {
                1.0 - distance::dot(q, x) / sq.sqrt()
            } else {
                1.0
            }
        }
        Metric::Dot => -distance::dot(q, x),
        Metric::L2 => distance::l2sq(q, x),
    }
}

/// The `candidates` rows closest to `query` on its first `dims` components, closest first,
/// each with its prefix distance. Only rows in `allowed` when given.
///
/// # Panics
/// If `query.len() != arena.dim()` or `dims` is 0 or above the dimension (the engine
/// validates both first).
pub fn prefix_candidates<E: Element>(
    arena: &VectorArena<E>,
    query: &[f32],
    dims: usize,
    candidates: usize,
    opts: &SearchOptions,
    allowed: Option<&RowSet>,
) -> Vec<Neighbor> {
    let dim = arena.dim();
    assert_eq!(query.len(), dim, "query dimension mismatch");
    assert!(
        (1..=dim).contains(&dims),
        "prefix must be 1..=dim components"
    );
    let metric = arena.metric();
    let q = prepare_prefix::<E>(metric, query, dims);
    // Row-by-row visits cost a random access each; below 1/8 of the rows they still win.
    if let Some(allowed) = allowed
        && allowed.len().saturating_mul(8) < arena.len()
    {
        let mut top = TopK::new(candidates);
        for row in allowed.iter() {
            if let Some(x) = arena.get(row) {
                top.push(Neighbor {
                    distance: prefix_distance(metric, &q, &x[..dims]),
                    row,
                });
            }
        }
        return top.into_sorted_vec();
    }
    let keep = |row: u64| allowed.is_none_or(|a| a.contains(row));
    let workers = opts.workers(arena);
    let parts = run_split(arena, workers, |first, chunks| {
        let mut top = TopK::new(candidates);
        for (i, chunk) in chunks.iter().enumerate() {
            let base = ((first + i) * CHUNK_ROWS) as u64;
            let rows = chunk.data.chunks_exact(dim);
            for (slot, (x, &live)) in rows.zip(&chunk.live).enumerate() {
                // Reading a part of each row defeats the hardware prefetcher: measured here,
                // the first 128 of 256 floats of every row take 2x as long as whole rows;
                // fetching 16 rows ahead recovers a quarter of that (docs/matryoshka.md).
                if let Some(ahead) = chunk.data.get((slot + PREFETCH_ROWS) * dim..) {
                    prefetch(&ahead[..dims.min(ahead.len())]);
                }
                let row = base + slot as u64;
                if live && keep(row) {
                    let d = prefix_distance(metric, &q, &x[..dims]);
                    if d <= top.threshold() {
                        top.push(Neighbor { distance: d, row });
                    }
                }
            }
        }
        top
    });
    merge(candidates, parts)
}

/// The `k` rows closest to `query` by the funnel: the best `candidates` on the first `dims`
/// components (see [`prefix_candidates`]), re-ranked by the exact full distance (as
/// [`super::search`] computes it). With `candidates` at least the number of rows this is
/// exactly [`super::search`].
///
/// ```
/// use quiver_index::{Metric, VectorArena, flat};
///
/// let mut arena = VectorArena::<f32>::new(4, Metric::L2);
/// arena.set(0, &[1.0, 0.0, 0.0, 0.0]);
/// arena.set(1, &[1.0, 0.0, 9.0, 9.0]); // the same first two components, far in full
/// arena.set(2, &[3.0, 3.0, 0.0, 0.0]);
/// let opts = flat::SearchOptions::default();
/// // Two candidates on the first two components (rows 0 and 1), re-ranked on all four.
/// let hits = flat::search_prefix(&arena, &[1.0, 0.0, 0.0, 0.0], 1, 2, 2, &opts, None);
/// assert_eq!((hits[0].row, hits[0].distance), (0, 0.0));
/// let two = flat::search_prefix(&arena, &[1.0, 0.0, 0.0, 0.0], 2, 2, 2, &opts, None);
/// assert_eq!(two[1].row, 1); // row 2 is closer in full, but was not a prefix candidate
/// ```
pub fn search_prefix<E: Element>(
    arena: &VectorArena<E>,
    query: &[f32],
    k: usize,
    dims: usize,
    candidates: usize,
    opts: &SearchOptions,
    allowed: Option<&RowSet>,
) -> Vec<Neighbor> {
    let pre = prefix_candidates(arena, query, dims, candidates.max(k), opts, allowed);
    rerank(arena, query, pre.iter().map(|n| n.row), k)
}

/// [`prefix_candidates`] for many queries (row-major, n x dim), unfiltered: each chunk's
/// prefixes against blocks of queries as one matrix product read in place (as
/// [`super::search_batch`] does for whole rows), then a top list per query.
pub fn prefix_candidates_batch<E: Element>(
    arena: &VectorArena<E>,
    queries: &[f32],
    dims: usize,
    candidates: usize,
    opts: &SearchOptions,
) -> Vec<Vec<Neighbor>> {
    let dim = arena.dim();
    assert_eq!(queries.len() % dim, 0, "queries must be n x dim");
    assert!(
        (1..=dim).contains(&dims),
        "prefix must be 1..=dim components"
    );
    let nq = queries.len() / dim;
    if nq < MATMUL_MIN_QUERIES {
        return queries
            .chunks_exact(dim)
            .map(|q| prefix_candidates(arena, q, dims, candidates, opts, None))
            .collect();
    }
    let metric = arena.metric();
    let mut prepared = Vec::with_capacity(nq * dims);
    let mut q_sq = Vec::with_capacity(nq);
    for q in queries.chunks_exact(dim) {
        let p = prepare_prefix::<f32>(metric, q, dims);
        q_sq.push(p.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>() as f32);
        prepared.extend(p);
    }
    blocked_scan(
        arena,
        &prepared,
        dims,
        &q_sq,
        candidates,
        opts,
        |_, x, terms| {
            terms.extend(x.chunks_exact(dim).map(|row| {
                let sq = row[..dims].iter().map(|v| v * v).sum::<f32>();
                match metric {
                    // 1 / prefix norm, as the whole-row batch uses 1 / norm; a zero prefix gets
                    // distance 1.
                    Metric::Cosine if sq > 0.0 => 1.0 / sq.sqrt(),
                    Metric::Cosine | Metric::Dot => 0.0,
                    Metric::L2 => sq,
                }
            }));
        },
    )
}

/// [`search_prefix`] for many queries (row-major, n x dim), unfiltered: the batched prefix
/// pass, then each query's candidates re-ranked exactly.
pub fn search_prefix_batch<E: Element>(
    arena: &VectorArena<E>,
    queries: &[f32],
    k: usize,
    dims: usize,
    candidates: usize,
    opts: &SearchOptions,
) -> Vec<Vec<Neighbor>> {
    let pre = prefix_candidates_batch(arena, queries, dims, candidates.max(k), opts);
    queries
        .chunks_exact(arena.dim())
        .zip(pre)
        .map(|(q, pre)| rerank(arena, q, pre.iter().map(|n| n.row), k))
        .collect()
}

/// The prefix distance of each given row (missing rows are skipped), the best `candidates`
/// first: the funnel's first pass over rows another structure chose (an IVF index's probed
/// cells).
pub fn rank_prefix<E: Element>(
    arena: &VectorArena<E>,
    query: &[f32],
    dims: usize,
    rows: impl IntoIterator<Item = u64>,
    candidates: usize,
) -> Vec<Neighbor> {
    assert_eq!(query.len(), arena.dim(), "query dimension mismatch");
    assert!(
        (1..=arena.dim()).contains(&dims),
        "prefix must be 1..=dim components"
    );
    let q = prepare_prefix::<E>(arena.metric(), query, dims);
    let mut top = TopK::new(candidates);
    for row in rows {
        if let Some(x) = arena.get(row) {
            let d = prefix_distance(arena.metric(), &q, &x[..dims]);
            if d <= top.threshold() {
                top.push(Neighbor { distance: d, row });
            }
        }
    }
    top.into_sorted_vec()
}

/// Every live row with its prefix distance in f64 (from the stored values and the f32 query),
/// sorted closest first, ties by row id: the oracle for [`prefix_candidates`] and
/// [`rank_prefix`].
pub fn naive_prefix_search<E: Element>(
    arena: &VectorArena<E>,
    query: &[f32],
    dims: usize,
) -> Vec<(u64, f64)> {
    let q: Vec<E> = query[..dims].iter().map(|&x| E::from_f32(x)).collect();
    let mut all: Vec<(u64, f64)> = arena
        .rows()
        .filter_map(|row| {
            let x = &arena.get(row)?[..dims];
            Some((row, scalar::distance(arena.metric(), &q, x)))
        })
        .collect();
    all.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    all
}
