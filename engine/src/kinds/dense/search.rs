//! Dense search: flat (exact) or IVF-PQ with exact re-ranking, filtered or not, one query
//! or a batch.

use super::{ann, funnel};
use crate::collection::SearchOptions;
use crate::error::Result;
use crate::validate;
use quiver_index::flat::{self, SearchOptions as FlatOptions};
use quiver_index::ivf::{IvfPq, Probe};
use quiver_index::{AnyArena, Neighbor, RowSet, with_arena};

/// The best `options.k` rows for each query of `queries` (`dim` floats each, validated).
pub(super) fn run(
    arena: &AnyArena,
    index: Option<&IvfPq>,
    queries: &[f32],
    dim: usize,
    options: &SearchOptions<'_>,
    allowed: Option<&RowSet>,
) -> Result<Vec<Vec<Neighbor>>> {
    let k = options.k;
    if let Some(dims) = options.dims.filter(|&d| d < dim && !options.exact) {
        return funnel::run(arena, index, queries, dim, dims, options, allowed);
    }
    if queries.len() == dim {
        // One query: all cores on its scan.
        let opts = FlatOptions::default();
        return Ok(vec![match (index, allowed) {
            (Some(ivf), None) => approximate(ivf, arena, queries, options),
            (Some(ivf), Some(allowed)) => {
                approximate_filtered(ivf, arena, queries, options, allowed)?
            }
            (None, None) => with_arena!(arena, a => flat::search(a, queries, k, &opts)),
            (None, Some(allowed)) => exact_filtered(arena, queries, k, allowed, &opts),
        }]);
    }
    Ok(match (index, allowed) {
        (index, Some(allowed)) => {
            let single = FlatOptions {
                threads: 1,
                ..FlatOptions::default()
            };
            per_query_parallel(queries, dim, |q| match index {
                Some(ivf) => approximate_filtered(ivf, arena, q, options, allowed),
                None => Ok(exact_filtered(arena, q, k, allowed, &single)),
            })?
        }
        (Some(ivf), None) => {
            per_query_parallel(queries, dim, |q| Ok(approximate(ivf, arena, q, options)))?
        }
        // Many queries: each chunk of the arena against blocks of queries as matrix products.
        (None, None) => {
            let opts = FlatOptions::default();
            with_arena!(arena, a => flat::search_batch(a, queries, k, &opts))
        }
    })
}

/// Answers each query with `search`, the batch split over the cores (one query per task).
pub(super) fn per_query_parallel(
    queries: &[f32],
    dim: usize,
    search: impl Fn(&[f32]) -> Result<Vec<Neighbor>> + Sync,
) -> Result<Vec<Vec<Neighbor>>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per = (queries.len() / dim).div_ceil(threads).max(1) * dim;
    let parts: Vec<Result<Vec<Vec<Neighbor>>>> = std::thread::scope(|s| {
        let handles: Vec<_> = queries
            .chunks(per)
            .map(|part| {
                let search = &search;
                s.spawn(move || part.chunks_exact(dim).map(search).collect())
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let mut all = Vec::with_capacity(queries.len() / dim);
    for part in parts {
        all.extend(part?);
    }
    Ok(all)
}

/// IVF-PQ candidates re-ranked exactly against the stored vectors.
fn approximate(
    ivf: &IvfPq,
    arena: &AnyArena,
    query: &[f32],
    options: &SearchOptions<'_>,
) -> Vec<Neighbor> {
    let probe = options
        .nprobe
        .map_or_else(|| ann::default_probe(ivf), Probe::Nearest);
    // Given values were checked by `SearchOptions::validate`; defaults are valid.
    let refine = options.refine.unwrap_or(ann::DEFAULT_REFINE);
    let candidates = ivf.search(query, probe, options.k.saturating_mul(refine));
    let rows = candidates.iter().map(|c| c.row);
    with_arena!(arena, a => flat::rerank(a, query, rows, options.k))
}

/// Exact search over the allowed rows.
fn exact_filtered(
    arena: &AnyArena,
    query: &[f32],
    k: usize,
    allowed: &RowSet,
    opts: &FlatOptions,
) -> Vec<Neighbor> {
    with_arena!(arena, a => flat::search_filtered(a, query, k, opts, allowed))
}

/// IVF-PQ search restricted to `allowed`. A filter keeping a share `s` of the rows leaves
/// about `s` of each probed list, so `nprobe` grows as `1/s` to gather as many matching
/// candidates as an unfiltered search (recall at 50% selectivity stays at the unfiltered
/// level: docs/benchmarks.md). When an exact scan of the matching rows costs less than those
/// probes (see [`exact_is_cheaper`]), it answers instead; and if the probes still find fewer
/// than k matches, the exact scan answers too. Either way every hit matches, and k hits come
/// back whenever k rows match.
fn approximate_filtered(
    ivf: &IvfPq,
    arena: &AnyArena,
    query: &[f32],
    options: &SearchOptions<'_>,
    allowed: &RowSet,
) -> Result<Vec<Neighbor>> {
    let k = options.k;
    let nprobe = options.nprobe.unwrap_or_else(|| ann::default_nprobe(ivf));
    let refine = options.refine.unwrap_or(ann::DEFAULT_REFINE);
    validate::search_parameter("nprobe", nprobe)?;
    validate::search_parameter("refine", refine)?;
    let single = FlatOptions {
        threads: 1,
        ..FlatOptions::default()
    };
    let share = allowed.len() as f64 / arena.len().max(1) as f64;
    let probes = ((nprobe as f64 / share).ceil() as usize).clamp(1, ivf.nlist());
    if exact_is_cheaper(ivf, arena.len(), allowed.len(), probes) {
        return Ok(exact_filtered(arena, query, k, allowed, &single));
    }
    let candidates = ivf.search_filtered(query, probes, k.saturating_mul(refine), allowed);
    let rows = candidates.iter().map(|c| c.row);
    let found = with_arena!(arena, a => flat::rerank(a, query, rows, k));
    if found.len() < k.min(allowed.len()) {
        return Ok(exact_filtered(arena, query, k, allowed, &single));
    }
    Ok(found)
}

/// Cost model, in multiply-adds (or table reads): an exact scan computes one `dim`-long
/// distance per matching row, at about twice the cost per component of a sequential scan
/// (rows are visited out of order); a filtered IVF probe ranks the `nlist` centroids, builds
/// one `dim x 256` table per query, tests each code's row against the filter and reads `m`
/// table entries for each matching one.
fn exact_is_cheaper(ivf: &IvfPq, rows: usize, matching: usize, probes: usize) -> bool {
    let nlist = ivf.nlist().max(1) as f64;
    let dim = ivf.centroids().len() as f64 / nlist;
    let m = ivf.quantizer().m() as f64;
    let share = matching as f64 / rows.max(1) as f64;
    let exact = 2.0 * matching as f64 * dim;
    let scanned = probes as f64 * rows as f64 / nlist;
    let probed = nlist * dim + dim * 256.0 + scanned * (1.0 + share * m);
    exact <= probed
}
