//! Matryoshka funnel search: rank rows on the first `dims` components of their vectors (the
//! prefix, with its own norms under cosine), keep the best candidates, re-rank those exactly on
//! every component. Encoders trained with a Matryoshka loss keep most of their quality in such
//! a prefix, so the first pass reads `dims / dim` of the arena; the re-rank makes every
//! returned distance the exact full one. Nothing is stored twice: the prefix is the stored
//! vector's first components.
//!
//! [`naive_prefix_search`] is the f64 oracle of [`prefix_candidates`].

use super::{SearchOptions, merge, rerank, run_split};
use crate::arena::{CHUNK_ROWS, VectorArena};
use crate::distance::{self, scalar};
use crate::element::Element;
use crate::metric::Metric;
use crate::rowset::RowSet;
use crate::topk::{Neighbor, TopK};

/// The distance of two prefixes under `metric`: cosine compares the prefixes' own directions
/// (a prefix of a unit vector is not a unit vector), dot and l2 are the plain partial sums.
#[inline(always)]
fn prefix_distance<E: Element>(metric: Metric, q: &[E], x: &[E]) -> f32 {
    distance::distance(metric, q, x)
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
    let q: Vec<E> = query[..dims].iter().map(|&x| E::from_f32(x)).collect();
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
    // The share of the arena a pass reads is dims/dim: scale the threading threshold with it.
    let work_opts = SearchOptions {
        parallel_threshold: opts.parallel_threshold.saturating_mul(dim) / dims,
        ..opts.clone()
    };
    let workers = work_opts.workers(arena);
    let parts = run_split(arena, workers, |first, chunks| {
        let mut top = TopK::new(candidates);
        for (i, chunk) in chunks.iter().enumerate() {
            let base = ((first + i) * CHUNK_ROWS) as u64;
            for (slot, (x, &live)) in chunk.data.chunks_exact(dim).zip(&chunk.live).enumerate() {
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
    let q: Vec<E> = query[..dims].iter().map(|&x| E::from_f32(x)).collect();
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
