//! Cross-encoder re-rankers: load one, score texts with it, attach it to searches
//! (`quiver_search_params.rerank`), pin it as a collection's default.

use crate::handles::{self, Kind};
use crate::records::collection;
use crate::status::{Failure, guard};
use engine::CrossEncoder;
use std::ffi::{c_char, c_int};
use std::sync::Arc;

/// A loaded cross-encoder. Thread-safe: any number of threads may score with one handle and
/// searches may share it; free it once with `quiver_reranker_free` (searches and
/// collections that use it keep their own reference).
pub struct quiver_reranker {
    pub(crate) model: Arc<dyn CrossEncoder>,
}

/// A re-rank stage for `quiver_search_params.rerank`: the best `top` candidates are scored
/// by the cross-encoder with `query` and re-ordered; hits' scores become its scores.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct quiver_rerank_params {
    /// The model; NULL: the collection's pinned default re-ranker.
    pub model: *const quiver_reranker,
    /// Candidates re-ranked; 0: the default (100). At least k are.
    pub top: usize,
    /// The text the model reads; NULL: the query's text (text, keyword and hybrid
    /// searches). Vector searches need it.
    pub query: *const c_char,
    /// The payload field holding each record's text; NULL: the stored text, else the
    /// full-text index's fields.
    pub text_field: *const c_char,
}

/// The stage as engine options; strings are borrowed for the call.
///
/// # Safety
/// `p` valid; its pointers NULL or valid.
pub(crate) unsafe fn stage<'a>(p: &quiver_rerank_params) -> Result<engine::Rerank<'a>, Failure> {
    let mut r = if p.model.is_null() {
        engine::Rerank::pinned()
    } else {
        // SAFETY: per the contract.
        let m = unsafe { handles::handle(p.model, Kind::Reranker) }?;
        engine::Rerank::with(m.model.clone())
    };
    r.top = (p.top != 0).then_some(p.top);
    if !p.query.is_null() {
        // SAFETY: per the contract.
        r.query = Some(unsafe { handles::text(p.query, "rerank query") }?);
    }
    if !p.text_field.is_null() {
        // SAFETY: per the contract.
        r.text_field = Some(unsafe { handles::text(p.text_field, "rerank text_field") }?);
    }
    Ok(r)
}

/// Loads the cross-encoder folder `dir` (HuggingFace BertForSequenceClassification /
/// sentence-transformers CrossEncoder layout) into `*out`.
///
/// # Safety
/// `dir` a NUL-terminated string or NULL; `out` writable or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn quiver_reranker_load(
    dir: *const c_char,
    out: *mut *mut quiver_reranker,
) -> c_int {
    guard(|| {
        // SAFETY: per the contract.
        let dir = unsafe { handles::text(dir, "dir") }?;
        handles::out(out, "out")?;
        let model = crate::models::load_reranker(dir)?;
        // SAFETY: checked above.
        unsafe { *out = handles::register(quiver_reranker { model }, Kind::Reranker) };
        Ok(())
    })
}

/// Scores `n` texts against `query` into `scores` (`n` floats, input order; higher is
/// better).
///
/// # Safety
/// `query` a string; `texts` `n` strings; `scores` `n` writable floats.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn quiver_reranker_score(
    reranker: *const quiver_reranker,
    query: *const c_char,
    texts: *const *const c_char,
    n: usize,
    scores: *mut f32,
) -> c_int {
    guard(|| {
        // SAFETY: per the contract.
        let r = unsafe { handles::handle(reranker, Kind::Reranker) }?;
        // SAFETY: per the contract.
        let query = unsafe { handles::text(query, "query") }?;
        if n == 0 {
            return Ok(());
        }
        // SAFETY: per the contract.
        let ptrs = unsafe { handles::array(texts, n, "texts") }?;
        let texts = ptrs
            .iter()
            // SAFETY: each a string per the contract.
            .map(|&p| unsafe { handles::text(p, "text") })
            .collect::<Result<Vec<&str>, Failure>>()?;
        handles::out(scores, "scores")?;
        let got = r.model.score(query, &texts)?;
        // SAFETY: `scores` holds n floats per the contract.
        let out = unsafe { std::slice::from_raw_parts_mut(scores, n) };
        out.copy_from_slice(&got);
        Ok(())
    })
}

/// Frees a re-ranker handle. NULL and handles freed already are ignored.
///
/// # Safety
/// `reranker` NULL or from `quiver_reranker_load`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn quiver_reranker_free(reranker: *mut quiver_reranker) {
    // SAFETY: per the contract.
    unsafe { handles::release(reranker, Kind::Reranker) };
}

/// Pins `reranker` as the collection's default re-ranker (stored in the file; reopened
/// databases load it again from its folder). NULL unpins.
///
/// # Safety
/// `coll` and `reranker` NULL or live handles.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn quiver_collection_pin_reranker(
    coll: *const crate::handles::quiver_collection,
    reranker: *const quiver_reranker,
) -> c_int {
    guard(|| {
        // SAFETY: per the contract.
        let coll = unsafe { collection(coll) }?;
        if reranker.is_null() {
            coll.unpin_reranker()?;
            return Ok(());
        }
        // SAFETY: per the contract.
        let r = unsafe { handles::handle(reranker, Kind::Reranker) }?;
        coll.pin_reranker(r.model.clone())?;
        Ok(())
    })
}
