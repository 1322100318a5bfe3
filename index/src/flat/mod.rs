//! Exact (flat) search: every live row is compared with the query.
//!
//! Single queries scan rows with the simsimd kernels; batches of queries turn each block of rows
//! into a matrix product (`matmul`). Large arenas are split into contiguous chunk ranges
//! scanned by scoped threads, each with its own top-k, merged at the end. [`naive_search`] is
//! the f64 oracle both paths are tested against. [`search_prefix`] is the Matryoshka funnel
//! (a pass on a prefix of the components, an exact re-rank on all of them).

use crate::arena::{CHUNK_ROWS, Chunk, VectorArena};
use crate::distance;
use crate::element::Element;
use crate::matmul;
use crate::metric::Metric;
use crate::rowset::RowSet;
use crate::topk::{Neighbor, TopK};
use std::sync::OnceLock;

mod prefix;
pub use prefix::{
    naive_prefix_search, prefix_candidates, prefix_candidates_batch, rank_prefix, search_prefix,
    search_prefix_batch,
};

/// Tuning knobs for a flat scan. The defaults suit interactive use.
#[derive(Clone, Debug)]
pub struct SearchOptions {
    /// Worker threads for one search; 0 means one per available core.
    pub threads: usize,
    /// Arenas with fewer stored components (rows x dim) than this are scanned on the calling
    /// thread: below ~1M components thread start-up costs more than it saves. Default 1 << 20.
    pub parallel_threshold: usize,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions {
            threads: 0,
            parallel_threshold: 1 << 20,
        }
    }
}

/// Batches with fewer queries than this are answered one query at a time (a matrix product
/// with a handful of rows is no faster than the per-pair kernels).
pub const MATMUL_MIN_QUERIES: usize = 8;
/// Queries per matrix-product block (bounds scratch memory at 1024 x 1024 f32 = 4 MiB per worker).
const QUERY_BLOCK: usize = 1024;

fn available_threads() -> usize {
    static THREADS: OnceLock<usize> = OnceLock::new();
    *THREADS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

impl SearchOptions {
    fn workers<E>(&self, arena: &VectorArena<E>) -> usize
    where
        E: Element,
    {
        let work = arena.len().saturating_mul(arena.dim());
        if work < self.parallel_threshold {
            return 1;
        }
        let t = if self.threads == 0 {
            available_threads()
        } else {
            self.threads
        };
        t.clamp(1, arena.chunks().len().max(1))
    }
}

/// Splits the chunks into `workers` contiguous ranges and runs `scan` on each, in parallel
/// when `workers > 1`.
fn run_split<E, R, F>(arena: &VectorArena<E>, workers: usize, scan: F) -> Vec<R>
where
    E: Element,
    R: Send,
    F: Fn(usize, &[std::sync::Arc<Chunk<E>>]) -> R + Sync,
{
    let chunks = arena.chunks();
    if workers <= 1 {
        return vec![scan(0, chunks)];
    }
    let per = chunks.len().div_ceil(workers);
    crossbeam::scope(|s| {
        let handles: Vec<_> = chunks
            .chunks(per)
            .enumerate()
            .map(|(i, part)| {
                let scan = &scan;
                s.spawn(move |_| scan(i * per, part))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| match h.join() {
                Ok(r) => r,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// The query in the arena's element type, normalised for cosine.
fn prepare_query<E: Element>(metric: Metric, query: &[f32]) -> Vec<E> {
    match metric {
        Metric::Cosine => {
            let n = query
                .iter()
                .map(|&x| f64::from(x) * f64::from(x))
                .sum::<f64>()
                .sqrt();
            let inv = if n > 0.0 { (1.0 / n) as f32 } else { 0.0 };
            query.iter().map(|&x| E::from_f32(x * inv)).collect()
        }
        Metric::Dot | Metric::L2 => query.iter().map(|&x| E::from_f32(x)).collect(),
    }
}

/// Exact distance between a prepared query and a stored row with norm `norm`: the one formula
/// both the scan and [`rerank`] use, so their results agree to the bit.
#[inline(always)]
fn exact_distance<E: Element>(metric: Metric, q: &[E], x: &[E], norm: f32) -> f32 {
    match metric {
        Metric::Cosine if norm > 0.0 => 1.0 - distance::dot(q, x) / norm,
        Metric::Cosine => 1.0,
        Metric::Dot => -distance::dot(q, x),
        Metric::L2 => distance::l2sq(q, x),
    }
}

#[inline]
fn scan_chunk<E: Element>(
    metric: Metric,
    dim: usize,
    base_row: u64,
    chunk: &Chunk<E>,
    q: &[E],
    top: &mut TopK,
    keep: impl Fn(u64) -> bool,
) {
    let rows = chunk.data.chunks_exact(dim);
    for (slot, (x, (&live, &norm))) in rows.zip(chunk.live.iter().zip(&chunk.norms)).enumerate() {
        if live && keep(base_row + slot as u64) {
            let d = exact_distance(metric, q, x, norm);
            if d <= top.threshold() {
                top.push(Neighbor {
                    distance: d,
                    row: base_row + slot as u64,
                });
            }
        }
    }
}

/// The `k` closest of the given rows by exact distance, computed exactly as [`search`] does
/// (rows not in the arena are skipped). Used to re-rank approximate candidates.
pub fn rerank<E: Element>(
    arena: &VectorArena<E>,
    query: &[f32],
    rows: impl IntoIterator<Item = u64>,
    k: usize,
) -> Vec<Neighbor> {
    assert_eq!(query.len(), arena.dim(), "query dimension mismatch");
    let q = prepare_query::<E>(arena.metric(), query);
    let mut top = TopK::new(k);
    // Candidates are scattered over the arena: ask for all their vectors first, so the
    // memory reads overlap instead of each distance waiting for its own.
    let found: Vec<(u64, &[E], f32)> = rows
        .into_iter()
        .filter_map(|row| arena.get_with_norm(row).map(|(x, norm)| (row, x, norm)))
        .collect();
    for (_, x, _) in &found {
        crate::cpu::prefetch(x);
    }
    for (row, x, norm) in found {
        top.push(Neighbor {
            distance: exact_distance(arena.metric(), &q, x, norm),
            row,
        });
    }
    top.into_sorted_vec()
}

/// The `k` rows closest to `query` (closest first; ties by smaller row id).
///
/// # Panics
/// If `query.len() != arena.dim()`; the engine validates queries first.
pub fn search<E: Element>(
    arena: &VectorArena<E>,
    query: &[f32],
    k: usize,
    opts: &SearchOptions,
) -> Vec<Neighbor> {
    scan(arena, query, k, opts, |_| true)
}

/// [`search`] restricted to the rows of `allowed` (a filter's matching set): the same
/// distances, so the result is exactly the unrestricted ranking with other rows removed.
/// Sparse sets are visited row by row; dense ones by the parallel scan with a membership test.
///
/// # Panics
/// If `query.len() != arena.dim()`.
pub fn search_filtered<E: Element>(
    arena: &VectorArena<E>,
    query: &[f32],
    k: usize,
    opts: &SearchOptions,
    allowed: &RowSet,
) -> Vec<Neighbor> {
    // Row-by-row visits cost a random access each; below 1/8 of the rows they still win.
    if allowed.len().saturating_mul(8) < arena.len() {
        return rerank(arena, query, allowed.iter(), k);
    }
    scan(arena, query, k, opts, |row| allowed.contains(row))
}

fn scan<E: Element>(
    arena: &VectorArena<E>,
    query: &[f32],
    k: usize,
    opts: &SearchOptions,
    keep: impl Fn(u64) -> bool + Sync,
) -> Vec<Neighbor> {
    assert_eq!(query.len(), arena.dim(), "query dimension mismatch");
    let q = prepare_query::<E>(arena.metric(), query);
    let (metric, dim) = (arena.metric(), arena.dim());
    let workers = opts.workers(arena);
    let parts = run_split(arena, workers, |first, chunks| {
        let mut top = TopK::new(k);
        for (i, chunk) in chunks.iter().enumerate() {
            let base = ((first + i) * CHUNK_ROWS) as u64;
            scan_chunk(metric, dim, base, chunk, &q, &mut top, &keep);
        }
        top
    });
    merge(k, parts)
}

fn merge(k: usize, parts: Vec<TopK>) -> Vec<Neighbor> {
    let mut all = TopK::new(k);
    for p in parts {
        all.merge(p);
    }
    all.into_sorted_vec()
}

/// The `k` closest rows for each of many queries, `queries` being row-major (n x dim).
///
/// # Panics
/// If `queries.len()` is not a multiple of `arena.dim()`.
pub fn search_batch<E: Element>(
    arena: &VectorArena<E>,
    queries: &[f32],
    k: usize,
    opts: &SearchOptions,
) -> Vec<Vec<Neighbor>> {
    let dim = arena.dim();
    assert_eq!(queries.len() % dim, 0, "queries must be n x dim");
    let nq = queries.len() / dim;
    if nq < MATMUL_MIN_QUERIES {
        return queries
            .chunks_exact(dim)
            .map(|q| search(arena, q, k, opts))
            .collect();
    }
    let metric = arena.metric();
    // Queries stay in f32 for the matrix product; cosine ones are normalised first.
    let mut prepared = queries.to_vec();
    let mut q_sq = Vec::with_capacity(nq);
    for q in prepared.chunks_exact_mut(dim) {
        let sq = q.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>();
        if metric == Metric::Cosine && sq > 0.0 {
            let inv = (1.0 / sq.sqrt()) as f32;
            q.iter_mut().for_each(|x| *x *= inv);
        }
        q_sq.push(sq as f32);
    }
    blocked_scan(arena, &prepared, dim, &q_sq, k, opts, |chunk, _x, terms| {
        terms.extend(chunk.norms.iter().map(|&n| match metric {
            // 1 / norm, so the inner loop multiplies; a zero row gets distance 1.
            Metric::Cosine if n > 0.0 => 1.0 / n,
            Metric::Cosine | Metric::Dot => 0.0,
            Metric::L2 => n * n,
        }));
    })
}

/// The batched scan both batch searches share: each chunk's rows (widened to f32) against
/// blocks of the `prepared` queries (`depth` floats each: the whole row, or a prefix) as one
/// matrix product, then a top list per query. `row_terms` fills, per chunk, each row's term
/// for [`offer_row`] (1 / norm for cosine, the squared norm for l2) from the chunk and its
/// f32 rows.
fn blocked_scan<E: Element>(
    arena: &VectorArena<E>,
    prepared: &[f32],
    depth: usize,
    q_sq: &[f32],
    k: usize,
    opts: &SearchOptions,
    row_terms: impl Fn(&Chunk<E>, &[f32], &mut Vec<f32>) + Sync,
) -> Vec<Vec<Neighbor>> {
    let (metric, dim) = (arena.metric(), arena.dim());
    let nq = q_sq.len();
    let workers = opts.workers(arena);
    let parts = run_split(arena, workers, |first, chunks| {
        let mut tops: Vec<TopK> = (0..nq).map(|_| TopK::new(k)).collect();
        let mut widened = Vec::new();
        let mut terms = Vec::with_capacity(CHUNK_ROWS);
        let mut dots = vec![0.0f32; QUERY_BLOCK.min(nq) * CHUNK_ROWS];
        for (i, chunk) in chunks.iter().enumerate() {
            let slots = chunk.slots();
            if slots == 0 || !chunk.live.iter().any(|&l| l) {
                continue;
            }
            let base = ((first + i) * CHUNK_ROWS) as u64;
            let x: &[f32] = match as_f32(&chunk.data) {
                Some(x) => x,
                None => {
                    crate::element::widen_into(&chunk.data, &mut widened);
                    &widened
                }
            };
            terms.clear();
            row_terms(chunk, x, &mut terms);
            for q0 in (0..nq).step_by(QUERY_BLOCK) {
                let qn = QUERY_BLOCK.min(nq - q0);
                let out = &mut dots[..qn * slots];
                let block = &prepared[q0 * depth..(q0 + qn) * depth];
                matmul::dot_products_prefix(block, qn, x, slots, dim, depth, out);
                for (qi, row_dots) in out.chunks_exact(slots).enumerate() {
                    offer_row(
                        metric,
                        base,
                        row_dots,
                        &terms,
                        q_sq[q0 + qi],
                        &chunk.live,
                        &mut tops[q0 + qi],
                    );
                }
            }
        }
        tops
    });
    let mut merged: Vec<TopK> = (0..nq).map(|_| TopK::new(k)).collect();
    for part in parts {
        for (m, t) in merged.iter_mut().zip(part) {
            m.merge(t);
        }
    }
    merged.into_iter().map(TopK::into_sorted_vec).collect()
}

/// Offers one query's dot products with a chunk's rows to its top-k. `row_terms` holds, per
/// row, 1/norm (cosine) or the squared norm (l2). The threshold is kept in a local so the
/// common case (not better than the k-th) is one multiply-add and one compare.
#[inline]
fn offer_row(
    metric: Metric,
    base: u64,
    dots: &[f32],
    row_terms: &[f32],
    q_sq: f32,
    live: &[bool],
    top: &mut TopK,
) {
    let mut threshold = top.threshold();
    let mut offer = |slot: usize, d: f32, threshold: &mut f32| {
        if d <= *threshold && live[slot] {
            top.push(Neighbor {
                distance: d,
                row: base + slot as u64,
            });
            *threshold = top.threshold();
        }
    };
    match metric {
        Metric::Cosine => {
            for (slot, (&dot, &inv)) in dots.iter().zip(row_terms).enumerate() {
                offer(slot, 1.0 - dot * inv, &mut threshold);
            }
        }
        Metric::Dot => {
            for (slot, &dot) in dots.iter().enumerate() {
                offer(slot, -dot, &mut threshold);
            }
        }
        Metric::L2 => {
            for (slot, (&dot, &sq)) in dots.iter().zip(row_terms).enumerate() {
                offer(slot, (q_sq + sq - 2.0 * dot).max(0.0), &mut threshold);
            }
        }
    }
}

/// Views `&[E]` as `&[f32]` when `E` is `f32` (no copy needed for the matrix product).
#[allow(clippy::ptr_arg)] // `Vec<E>` (sized, 'static) is what can be downcast; a slice cannot.
fn as_f32<E: Element>(data: &Vec<E>) -> Option<&[f32]> {
    (data as &dyn std::any::Any)
        .downcast_ref::<Vec<f32>>()
        .map(|v| v.as_slice())
}

/// Every live row with its exact distance (f64, from the stored values and the f32 query),
/// sorted closest first, ties by row id. The oracle for [`search`] and [`search_batch`].
pub fn naive_search<E: Element>(arena: &VectorArena<E>, query: &[f32]) -> Vec<(u64, f64)> {
    let q: Vec<f64> = query.iter().map(|&x| f64::from(x)).collect();
    let mut all: Vec<(u64, f64)> = arena
        .rows()
        .filter_map(|row| {
            let x: Vec<f64> = arena
                .get(row)?
                .iter()
                .map(|v| f64::from(v.to_f32()))
                .collect();
            let dot: f64 = q.iter().zip(&x).map(|(a, b)| a * b).sum();
            let d = match arena.metric() {
                Metric::Dot => -dot,
                Metric::L2 => q.iter().zip(&x).map(|(a, b)| (a - b) * (a - b)).sum(),
                Metric::Cosine => {
                    let nq = q.iter().map(|a| a * a).sum::<f64>().sqrt();
                    let nx = x.iter().map(|a| a * a).sum::<f64>().sqrt();
                    if nq == 0.0 || nx == 0.0 {
                        1.0
                    } else {
                        1.0 - dot / (nq * nx)
                    }
                }
            };
            Some((row, d))
        })
        .collect();
    all.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    all
}

#[cfg(test)]
mod tests;
