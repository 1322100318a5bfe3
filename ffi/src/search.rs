//! Searching and reading records; result lists and their accessors.

use crate::handles::{self, Kind, quiver_collection};
use crate::records::{collection, filter};
use crate::status::{Failure, guard};
use engine::{Hit, SearchOptions};
use std::ffi::{CString, c_char, c_int};

/// Search options. Get the defaults from `quiver_search_params_default()` and change fields.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct quiver_search_params {
    /// Results wanted (1..100000). Default 10.
    pub k: usize,
    /// IVF lists to probe (collections with an index); 0: the default (nlist / 16, >= 8; 4-bit
    /// indexes nlist / 4, >= 16).
    pub nprobe: usize,
    /// Candidates re-ranked exactly, as a multiple of k; 0: the default (4; 10 with `dims`).
    pub refine: usize,
    /// Non-zero: scan every vector even when the collection has an index.
    pub exact: u32,
    /// Non-zero: results carry payloads (and texts). Default 1.
    pub include_payloads: u32,
    /// Non-zero: results carry the stored vectors. Default 0.
    pub include_vectors: u32,
    /// NULL, or a filter as JSON text (docs/filters.md): only matching records. Read during
    /// the call only.
    pub filter: *const c_char,
    /// NULL, or a cross-encoder re-rank stage (read during the call only).
    pub rerank: *const crate::rerank::quiver_rerank_params,
    /// Matryoshka funnel: find candidates on the first `dims` components only, re-rank them
    /// on all (docs/matryoshka.md; multi-vector: the prefix for candidate generation).
    /// 0: every component. Above the dimension: QUIVER_INVALID_ARGUMENT.
    pub dims: usize,
}

/// The default search options: k 10, default nprobe/refine, payloads, no vectors, no filter.
#[unsafe(no_mangle)]
pub extern "C" fn quiver_search_params_default() -> quiver_search_params {
    quiver_search_params {
        k: 10,
        nprobe: 0,
        refine: 0,
        exact: 0,
        include_payloads: 1,
        include_vectors: 0,
        filter: std::ptr::null(),
        rerank: std::ptr::null(),
        dims: 0,
    }
}

struct Row {
    id: CString,
    score: f32,
    payload: Option<CString>,
    text: Option<CString>,
    vector: Option<Vec<f32>>,
    /// Hybrid hits: (rank from 1 or 0, score or NaN) in the dense and the keyword branch.
    branches: Option<[(usize, f32); 2]>,
}

/// A list of results (search hits, or the record of `quiver_get`), closest first. Immutable:
/// any number of threads may read one at once; free it once, with `quiver_results_free`.
pub struct quiver_results {
    rows: Vec<Row>,
}

fn c_string(s: String, what: &str) -> Result<CString, Failure> {
    CString::new(s).map_err(|_| Failure::invalid(format!("{what} holds a NUL character")))
}

pub(crate) fn rows(hits: Vec<Hit>) -> Result<quiver_results, Failure> {
    let rows = hits
        .into_iter()
        .map(|h| {
            Ok(Row {
                payload: h
                    .payload
                    .map(|p| c_string(p.to_string(), "payload"))
                    .transpose()?,
                text: h.text.map(|t| c_string(t, "text")).transpose()?,
                id: c_string(h.id, "id")?,
                score: h.score,
                branches: h.explain.map(|e| {
                    let mut out = [(0, f32::NAN); 2];
                    for (slot, b) in out.iter_mut().zip(&e.branches) {
                        *slot = (b.rank.unwrap_or(0), b.score.unwrap_or(f32::NAN));
                    }
                    out
                }),
                vector: h.vector,
            })
        })
        .collect::<Result<Vec<_>, Failure>>()?;
    Ok(quiver_results { rows })
}

/// A request from C parameters (the filter parsed into `parsed`).
///
/// # Safety
/// `params` NULL or valid (its `filter` NULL or a string, its `rerank` NULL or valid).
pub(crate) unsafe fn request<'a>(
    params: *const quiver_search_params,
    parsed: &'a mut Option<engine::Filter>,
) -> Result<SearchOptions<'a>, Failure> {
    // SAFETY: NULL or valid.
    let p = unsafe { params.as_ref() }
        .copied()
        .unwrap_or_else(|| quiver_search_params_default());
    if !p.filter.is_null() {
        // SAFETY: a string per the contract.
        *parsed = Some(unsafe { filter(p.filter) }?);
    }
    let mut options = SearchOptions::new(p.k)
        .exact(p.exact != 0)
        .include_payload(p.include_payloads != 0)
        .include_vector(p.include_vectors != 0);
    options.nprobe = (p.nprobe != 0).then_some(p.nprobe);
    options.refine = (p.refine != 0).then_some(p.refine);
    options.dims = (p.dims != 0).then_some(p.dims);
    options.filter = parsed.as_ref();
    // SAFETY: NULL or valid per the contract.
    if let Some(r) = unsafe { p.rerank.as_ref() } {
        // SAFETY: its pointers NULL or valid per the contract.
        options.rerank = Some(unsafe { crate::rerank::stage(r) }?);
    }
    Ok(options)
}

pub(crate) fn give(results: quiver_results, out: *mut *mut quiver_results) {
    let handle = handles::register(results, Kind::Results);
    // SAFETY: callers checked `out`.
    unsafe { *out = handle };
}

/// The `params->k` records closest to `query` (`dim` floats; must equal the collection's
/// dimension), as a new result list in `*out` (free with `quiver_results_free`). `params`
/// may be NULL (defaults).
///
/// # Safety
/// `query`: `dim` floats; `params` NULL or valid; `out` writable or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn quiver_search(
    coll: *const quiver_collection,
    query: *const f32,
    dim: usize,
    params: *const quiver_search_params,
    out: *mut *mut quiver_results,
) -> c_int {
    guard(|| {
        // SAFETY: per the contract.
        let coll = unsafe { collection(coll) }?;
        handles::out(out, "out")?;
        if dim == 0 {
            return Err(Failure::invalid("dim is 0"));
        }
        // SAFETY: per the contract.
        let query = unsafe { handles::array(query, dim, "query") }?;
        let mut parsed = None;
        // SAFETY: per the contract.
        let options = unsafe { request(params, &mut parsed) }?;
        give(rows(coll.search(query, &options)?)?, out);
        Ok(())
    })
}

/// Like `quiver_search` with a query text (UTF-8), embedded by the collection's model
/// (QUIVER_MODEL if it has none).
///
/// # Safety
/// `text` a NUL-terminated string or NULL; others as `quiver_search`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn quiver_search_text(
    coll: *const quiver_collection,
    text: *const c_char,
    params: *const quiver_search_params,
    out: *mut *mut quiver_results,
) -> c_int {
    guard(|| {
        // SAFETY: per the contract.
        let (coll, text) = unsafe { (collection(coll)?, handles::text(text, "text")?) };
        handles::out(out, "out")?;
        let mut parsed = None;
        // SAFETY: per the contract.
        let options = unsafe { request(params, &mut parsed) }?;
        give(rows(coll.search(text, &options)?)?, out);
        Ok(())
    })
}

/// The record with id `id` as a one-row result list (score 0, payload, text and vector);
/// QUIVER_NOT_FOUND (and `*out` untouched) if there is none.
///
/// # Safety
/// `id` a NUL-terminated string or NULL; `out` writable or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn quiver_get(
    coll: *const quiver_collection,
    id: *const c_char,
    out: *mut *mut quiver_results,
) -> c_int {
    guard(|| {
        // SAFETY: per the contract.
        let (coll, id) = unsafe { (collection(coll)?, handles::text(id, "id")?) };
        handles::out(out, "out")?;
        let Some(r) = coll.get(id)? else {
            return Err(Failure::new(
                crate::status::quiver_status::QUIVER_NOT_FOUND,
                format!("no record '{id}'"),
            ));
        };
        let mut hit = Hit::new(r.id, 0.0);
        hit.payload = r.payload;
        hit.text = r.text;
        hit.vector = Some(r.vector);
        give(rows(vec![hit])?, out);
        Ok(())
    })
}

/// The row `i` of `results`, if both are valid.
///
/// # Safety
/// `results` NULL or from this library.
unsafe fn row<'a>(results: *const quiver_results, i: usize) -> Option<&'a Row> {
    // SAFETY: forwarded.
    unsafe { handles::peek(results, Kind::Results) }.and_then(|r| r.rows.get(i))
}

/// Number of results (0 for NULL).
///
/// # Safety
/// `results` NULL or from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn quiver_results_count(results: *const quiver_results) -> usize {
    // SAFETY: per the contract.
    unsafe { handles::peek(results, Kind::Results) }.map_or(0, |r| r.rows.len())
}

/// Id of result `i` (UTF-8), or NULL when out of range. Owned by the list.
///
/// # Safety
/// `results` NULL or from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn quiver_results_id(
    results: *const quiver_results,
    i: usize,
) -> *const c_char {
    // SAFETY: per the contract.
    unsafe { row(results, i) }.map_or(std::ptr::null(), |r| r.id.as_ptr())
}

/// Score of result `i`: cosine similarity, inner product or squared L2 distance by the
/// collection's metric; NaN when out of range.
///
/// # Safety
/// `results` NULL or from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn quiver_results_score(results: *const quiver_results, i: usize) -> f32 {
    // SAFETY: per the contract.
    unsafe { row(results, i) }.map_or(f32::NAN, |r| r.score)
}

/// Payload of result `i` as compact JSON text; NULL when it has none, payloads were not
/// requested, or `i` is out of range. Owned by the list.
///
/// # Safety
/// `results` NULL or from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn quiver_results_payload(
    results: *const quiver_results,
    i: usize,
) -> *const c_char {
    // SAFETY: per the contract.
    unsafe { row(results, i) }
        .and_then(|r| r.payload.as_ref())
        .map_or(std::ptr::null(), |p| p.as_ptr())
}

/// Source text of result `i` (records inserted as text); NULL otherwise. Owned by the list.
///
/// # Safety
/// `results` NULL or from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn quiver_results_text(
    results: *const quiver_results,
    i: usize,
) -> *const c_char {
    // SAFETY: per the contract.
    unsafe { row(results, i) }
        .and_then(|r| r.text.as_ref())
        .map_or(std::ptr::null(), |t| t.as_ptr())
}

/// Stored vector of result `i` (as stored, widened to float), with its length in `*dim`
/// (unless `dim` is NULL); NULL when vectors were not requested or `i` is out of range.
/// Owned by the list.
///
/// # Safety
/// `results` NULL or from this library; `dim` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn quiver_results_vector(
    results: *const quiver_results,
    i: usize,
    dim: *mut usize,
) -> *const f32 {
    // SAFETY: per the contract.
    match unsafe { row(results, i) }.and_then(|r| r.vector.as_ref()) {
        Some(v) => {
            if !dim.is_null() {
                // SAFETY: non-NULL and writable per the contract.
                unsafe { *dim = v.len() };
            }
            v.as_ptr()
        }
        None => std::ptr::null(),
    }
}

/// Frees a result list and everything its accessors returned. NULL and lists freed
/// already are ignored.
///
/// # Safety
/// `results` NULL or from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn quiver_results_free(results: *mut quiver_results) {
    // SAFETY: per the contract.
    unsafe { handles::release(results, Kind::Results) };
}

/// A hybrid hit's rank (from 1) in `branch` (0 dense, 1 keywords); 0 when that branch did
/// not return it, the list is not from `quiver_search_hybrid`, or `i` is out of range.
///
/// # Safety
/// `results` NULL or a result list.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn quiver_results_branch_rank(
    results: *const quiver_results,
    i: usize,
    branch: u32,
) -> usize {
    // SAFETY: per the contract.
    unsafe { handles::peek(results, Kind::Results) }
        .and_then(|r| r.rows.get(i))
        .and_then(|row| row.branches)
        .and_then(|b| b.get(branch as usize).copied())
        .map_or(0, |b| b.0)
}

/// A hybrid hit's score in `branch` (0 dense, 1 keywords); NaN where
/// `quiver_results_branch_rank` is 0.
///
/// # Safety
/// `results` NULL or a result list.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn quiver_results_branch_score(
    results: *const quiver_results,
    i: usize,
    branch: u32,
) -> f32 {
    // SAFETY: per the contract.
    unsafe { handles::peek(results, Kind::Results) }
        .and_then(|r| r.rows.get(i))
        .and_then(|row| row.branches)
        .and_then(|b| b.get(branch as usize).copied())
        .map_or(f32::NAN, |b| b.1)
}
