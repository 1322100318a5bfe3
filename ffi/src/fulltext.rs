//! Full-text search: declaring the BM25 index, keyword and hybrid searches, and what a text
//! analyses to.

use crate::db::quiver_names;
use crate::handles::{self, Kind, quiver_collection};
use crate::records::collection;
use crate::search::{give, quiver_results, quiver_search_params, request, rows};
use crate::status::{Failure, guard, quiver_status};
use engine::{Dense, Fusion, Hybrid, Query, Stemming, StopWords, TextIndexParams};
use std::ffi::{CString, c_char, c_int};

/// How a full-text index analyses and scores. Get the defaults from
/// `quiver_text_index_params_default()`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct quiver_text_index_params {
    /// Non-zero: Snowball English stemming (default 1).
    pub stem_english: u32,
    /// Non-zero: Lucene's 33 English stop words are dropped (default 1).
    pub stop_words_english: u32,
    /// BM25 k1 (default 1.2).
    pub k1: f64,
    /// BM25 b, 0..1 (default 0.75).
    pub b: f64,
}

/// The default full-text settings: English stemming and stop words, k1 1.2, b 0.75.
#[unsafe(no_mangle)]
pub extern "C" fn quiver_text_index_params_default() -> quiver_text_index_params {
    quiver_text_index_params {
        stem_english: 1,
        stop_words_english: 1,
        k1: 1.2,
        b: 0.75,
    }
}

/// Declares the collection's full-text (BM25) index and indexes what it holds: over the
/// `n_fields` string payload fields `fields` (dotted paths), or, with `n_fields` 0, over the
/// records' stored text. `params` may be NULL (defaults). QUIVER_EXISTS if it has one.
///
/// # Safety
/// `fields`: `n_fields` NUL-terminated strings; `params` NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn quiver_create_text_index(
    coll: *const quiver_collection,
    fields: *const *const c_char,
    n_fields: usize,
    params: *const quiver_text_index_params,
) -> c_int {
    guard(|| {
        // SAFETY: per the contract.
        let coll = unsafe { collection(coll) }?;
        // SAFETY: per the contract.
        let pointers = unsafe { handles::array(fields, n_fields, "fields") }?;
        let names = pointers
            .iter()
            // SAFETY: each a string per the contract.
            .map(|&p| unsafe { handles::text(p, "field") }.map(str::to_owned))
            .collect::<Result<Vec<_>, _>>()?;
        // SAFETY: NULL or valid.
        let p = unsafe { params.as_ref() }
            .copied()
            .unwrap_or_else(|| quiver_text_index_params_default());
        let base = if names.is_empty() {
            TextIndexParams::text()
        } else {
            TextIndexParams::fields(names)
        };
        let params = base
            .stemming(if p.stem_english != 0 {
                Stemming::English
            } else {
                Stemming::None
            })
            .stop_words(if p.stop_words_english != 0 {
                StopWords::English
            } else {
                StopWords::None
            })
            .k1(p.k1)
            .b(p.b);
        coll.create_text_index(&params)?;
        Ok(())
    })
}

/// Removes the collection's full-text index; QUIVER_NOT_FOUND if it has none.
///
/// # Safety
/// `coll` a handle or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn quiver_drop_text_index(coll: *const quiver_collection) -> c_int {
    guard(|| {
        // SAFETY: per the contract.
        let coll = unsafe { collection(coll) }?;
        if coll.drop_text_index()? {
            Ok(())
        } else {
            Err(Failure::new(
                quiver_status::QUIVER_NOT_FOUND,
                "the collection has no full-text index",
            ))
        }
    })
}

/// The `params->k` records best matching `keywords` by BM25 (words OR-ed, `+word`
/// required, `-word` excluded; docs/full-text.md), as a new result list in `*out`.
///
/// # Safety
/// `keywords` a NUL-terminated string or NULL; `params` NULL or valid; `out` writable or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn quiver_search_keywords(
    coll: *const quiver_collection,
    keywords: *const c_char,
    params: *const quiver_search_params,
    out: *mut *mut quiver_results,
) -> c_int {
    guard(|| {
        // SAFETY: per the contract.
        let (coll, keywords) = unsafe { (collection(coll)?, handles::text(keywords, "keywords")?) };
        handles::out(out, "out")?;
        let mut parsed = None;
        // SAFETY: per the contract.
        let options = unsafe { request(params, &mut parsed) }?;
        give(
            rows(coll.search(Query::Keywords(keywords), &options)?)?,
            out,
        );
        Ok(())
    })
}

/// How a hybrid search fuses its branches.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum quiver_fusion {
    /// Reciprocal rank fusion, Σ weight / (rrf_k + rank).
    QUIVER_FUSION_RRF = 0,
    /// Distribution-based score fusion (mean ± 3σ per branch).
    QUIVER_FUSION_DBSF = 1,
    /// Min-max relative score fusion.
    QUIVER_FUSION_RELATIVE = 2,
}

/// Hybrid settings. Get the defaults from `quiver_hybrid_params_default()`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct quiver_hybrid_params {
    /// A `quiver_fusion` (default RRF).
    pub fusion: u32,
    /// RRF's constant (default 60).
    pub rrf_k: f64,
    /// Weights of the dense and the keyword branch (default 1 and 1).
    pub dense_weight: f64,
    pub keyword_weight: f64,
    /// Candidates taken from each branch; 0: max(k, 100).
    pub dense_depth: usize,
    pub keyword_depth: usize,
}

/// The default hybrid settings: RRF with k 60, weights 1 and 1, default depths.
#[unsafe(no_mangle)]
pub extern "C" fn quiver_hybrid_params_default() -> quiver_hybrid_params {
    quiver_hybrid_params {
        fusion: 0,
        rrf_k: 60.0,
        dense_weight: 1.0,
        keyword_weight: 1.0,
        dense_depth: 0,
        keyword_depth: 0,
    }
}

/// A hybrid search: the dense branch is `vector` (`dim` floats) when it is not NULL, else
/// `text` (embedded by the collection's model); the keyword branch is `keywords`. Both
/// branches apply `params->filter` before their cut; the fused list goes to `*out`, each
/// hit with its branch ranks and scores (`quiver_results_branch_rank` / `_score`).
///
/// # Safety
/// `vector` NULL or `dim` floats; `text`, `keywords` NULL or NUL-terminated strings;
/// `hybrid`, `params` NULL or valid; `out` writable or NULL.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn quiver_search_hybrid(
    coll: *const quiver_collection,
    vector: *const f32,
    dim: usize,
    text: *const c_char,
    keywords: *const c_char,
    hybrid: *const quiver_hybrid_params,
    params: *const quiver_search_params,
    out: *mut *mut quiver_results,
) -> c_int {
    guard(|| {
        // SAFETY: per the contract.
        let (coll, keywords) = unsafe { (collection(coll)?, handles::text(keywords, "keywords")?) };
        handles::out(out, "out")?;
        let dense = if vector.is_null() {
            // SAFETY: per the contract.
            Dense::Text(unsafe { handles::text(text, "text (with a NULL vector)") }?)
        } else {
            if dim == 0 {
                return Err(Failure::invalid("dim is 0"));
            }
            // SAFETY: per the contract.
            Dense::Vector(unsafe { handles::array(vector, dim, "vector") }?)
        };
        // SAFETY: NULL or valid.
        let h = unsafe { hybrid.as_ref() }
            .copied()
            .unwrap_or_else(|| quiver_hybrid_params_default());
        let fusion = match h.fusion {
            0 => Fusion::Rrf { k: h.rrf_k },
            1 => Fusion::Dbsf,
            2 => Fusion::Relative,
            f => return Err(Failure::invalid(format!("fusion {f} is not 0, 1 or 2"))),
        };
        let mut query = Hybrid::new(dense, keywords)
            .fusion(fusion)
            .weights(h.dense_weight, h.keyword_weight);
        query.dense_depth = (h.dense_depth != 0).then_some(h.dense_depth);
        query.keyword_depth = (h.keyword_depth != 0).then_some(h.keyword_depth);
        let mut parsed = None;
        // SAFETY: per the contract.
        let options = unsafe { request(params, &mut parsed) }?;
        give(rows(coll.search(query, &options)?)?, out);
        Ok(())
    })
}

/// The terms `text` becomes under the collection's full-text analyzer, in order, as a new
/// `quiver_names` list (free with `quiver_names_free`); QUIVER_INVALID_ARGUMENT without a
/// full-text index.
///
/// # Safety
/// `text` NULL or a NUL-terminated string; `out` writable or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn quiver_analyze(
    coll: *const quiver_collection,
    text: *const c_char,
    out: *mut *mut quiver_names,
) -> c_int {
    guard(|| {
        // SAFETY: per the contract.
        let (coll, text) = unsafe { (collection(coll)?, handles::text(text, "text")?) };
        handles::out(out, "out")?;
        let names = coll
            .analyze(text)?
            .into_iter()
            .map(|t| CString::new(t).map_err(|_| Failure::invalid("a term holds a NUL")))
            .collect::<Result<Vec<_>, _>>()?;
        // SAFETY: checked above.
        unsafe { *out = handles::register(quiver_names::new(names), Kind::Names) };
        Ok(())
    })
}
