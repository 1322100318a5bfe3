//! Exact MaxSim search: every (allowed) document scored, threaded over documents. The oracle
//! the candidate-generation path is measured against, and the search used without an index.

use super::maxsim::{QueryPanel, Scratch, maxsim_batch, maxsim_panel, prefetch_document};
use super::{TokenStore, workers};
use crate::{Neighbor, RowSet, TopK};

/// The `k` documents with the highest MaxSim against `q` (n x dim), best first; `distance` is
/// the negated score. Only rows in `allowed` when given.
pub fn search(
    store: &TokenStore,
    q: &[f32],
    k: usize,
    allowed: Option<&RowSet>,
    threads: usize,
) -> Vec<Neighbor> {
    scan(store, q, k, allowed, threads, None)
}

/// Two-stage exact scan for Matryoshka encoders: score every document on the first `dims`
/// columns, keep the best `candidates`, re-rank those on all columns.
pub fn search_prefix(
    store: &TokenStore,
    q: &[f32],
    k: usize,
    dims: usize,
    candidates: usize,
    allowed: Option<&RowSet>,
    threads: usize,
) -> Vec<Neighbor> {
    let pre = scan(store, q, candidates.max(k), allowed, threads, Some(dims));
    rerank(store, q, pre.iter().map(|n| n.row), k)
}

/// Exact MaxSim of the given rows (missing rows are skipped), best `k` first.
pub fn rerank(
    store: &TokenStore,
    q: &[f32],
    rows: impl IntoIterator<Item = u64>,
    k: usize,
) -> Vec<Neighbor> {
    let mut scratch = Scratch::default();
    let mut top = TopK::new(k);
    let (kept, docs): (Vec<u64>, Vec<&[f32]>) = rows
        .into_iter()
        .filter_map(|row| store.get(row).map(|d| (row, &d[..])))
        .unzip();
    let mut scores = Vec::with_capacity(kept.len());
    maxsim_batch(q, &docs, store.dim(), &mut scratch, &mut scores);
    for (row, score) in kept.into_iter().zip(scores) {
        top.push(Neighbor {
            distance: -score,
            row,
        });
    }
    top.into_sorted_vec()
}

fn scan(
    store: &TokenStore,
    q: &[f32],
    k: usize,
    allowed: Option<&RowSet>,
    threads: usize,
    prefix: Option<usize>,
) -> Vec<Neighbor> {
    let dim = store.dim();
    let slots = store.slots();
    let work = |first: usize, part: &[Option<std::sync::Arc<[f32]>>]| {
        let mut panel = QueryPanel::default();
        panel.fill(q, dim, prefix.unwrap_or(dim));
        let mut top = TopK::new(k);
        for (i, doc) in part.iter().enumerate() {
            let Some(doc) = doc else { continue };
            if let Some(Some(next)) = part.get(i + 1) {
                prefetch_document(next);
            }
            let row = (first + i) as u64;
            if allowed.is_some_and(|a| !a.contains(row)) {
                continue;
            }
            top.push(Neighbor {
                distance: -maxsim_panel(&panel, doc, dim),
                row,
            });
        }
        top
    };
    let n = workers(threads, store.len() / 256);
    let mut top = TopK::new(k);
    if n <= 1 {
        top = work(0, slots);
    } else {
        let per = slots.len().div_ceil(n);
        let parts: Vec<TopK> = std::thread::scope(|s| {
            let handles: Vec<_> = slots
                .chunks(per)
                .enumerate()
                .map(|(i, part)| {
                    let work = &work;
                    s.spawn(move || work(i * per, part))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        });
        for p in parts {
            top.merge(p);
        }
    }
    top.into_sorted_vec()
}
