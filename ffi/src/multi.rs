//! Multi-vector collections: records are token matrices, searched by MaxSim
//! (docs/multi-vector.md).

use crate::db::{dtype, give_collection, metric};
use crate::handles::{self, Kind, quiver_collection, quiver_db};
use crate::records::{collection, ids, payloads};
use crate::search::{give, quiver_results, quiver_search_params, request, rows};
use crate::status::{Failure, guard};
use engine::{CollectionConfig, MultiIndexParams, MultiRecord};
use std::ffi::{c_char, c_int};

/// Creates a multi-vector collection: each record is a matrix of `dim`-dimensional token
/// vectors (`metric`: QUIVER_METRIC_COSINE or QUIVER_METRIC_DOT; `dtype` as in
/// `quiver_create_collection`). `out` as in `quiver_create_collection`.
///
/// # Safety
/// As `quiver_create_collection`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn quiver_create_multi_collection(
    db: *const quiver_db,
    name: *const c_char,
    dim: usize,
    metric: u32,
    dtype: u32,
    out: *mut *mut quiver_collection,
) -> c_int {
    guard(|| {
        // SAFETY: per the contract.
        let (db, name) = unsafe { (handles::handle(db, Kind::Db)?, handles::text(name, "name")?) };
        let config = CollectionConfig::multi_vector(dim, self::metric(metric)?)
            .element_type(self::dtype(dtype)?);
        let coll = db.db.create_collection(name, config)?;
        give_collection(coll, out);
        Ok(())
    })
}

/// Creates a multi-vector collection that embeds its own text into token matrices with the
/// model in the folder `model_dir` (dimension from the model, MaxSim over cosine). With
/// `colbert` = 0 the model is a sentence-transformers/BERT folder and its normalised token
/// outputs are the matrices; with `colbert` = 1 it is a ColBERT checkpoint (BERT trunk +
/// linear head), whose head may be given separately as the safetensors file `projection`
/// (NULL: the checkpoint's own). `attend_expansion`: -1 for the checkpoint's setting, 0 or 1
/// to override whether queries attend to their [MASK] expansion (ColBERT only). Then
/// `quiver_upsert_texts` and `quiver_search_text` work on it. `out` as in
/// `quiver_create_collection`.
///
/// # Safety
/// As `quiver_create_collection`; `model_dir` a NUL-terminated string; `projection` one or
/// NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn quiver_create_multi_text_collection(
    db: *const quiver_db,
    name: *const c_char,
    model_dir: *const c_char,
    colbert: c_int,
    projection: *const c_char,
    attend_expansion: c_int,
    out: *mut *mut quiver_collection,
) -> c_int {
    guard(|| {
        // SAFETY: per the contract.
        let (db, name, dir, projection) = unsafe {
            (
                handles::handle(db, Kind::Db)?,
                handles::text(name, "name")?,
                handles::text(model_dir, "model_dir")?,
                handles::optional_text(projection, "projection")?,
            )
        };
        let attend = match attend_expansion {
            -1 => None,
            0 => Some(false),
            1 => Some(true),
            other => {
                return Err(Failure::invalid(format!(
                    "attend_expansion is {other}, expected -1, 0 or 1"
                )));
            }
        };
        let embedder = match colbert {
            0 if projection.is_some() || attend.is_some() => {
                return Err(Failure::invalid(
                    "projection and attend_expansion apply to ColBERT models (colbert = 1)",
                ));
            }
            0 => crate::models::load(dir, None)?,
            1 => crate::models::load(
                dir,
                Some(crate::models::Colbert {
                    projection: projection.map(Into::into),
                    attend_to_expansion: attend,
                }),
            )?,
            other => {
                return Err(Failure::invalid(format!(
                    "colbert is {other}, expected 0 or 1"
                )));
            }
        };
        let config = CollectionConfig::multi_vector_with_embedder(embedder);
        let coll = db.db.create_collection(name, config)?;
        give_collection(coll, out);
        Ok(())
    })
}

/// Inserts or replaces `count` multi-vector records in one transaction: record i has id
/// `ids[i]`, `token_counts[i]` token vectors of `dim` floats, taken in order from `vectors`
/// (all records' tokens back to back: sum(token_counts) x dim floats), and payload
/// `payloads[i]` (as in `quiver_upsert`). Durable on QUIVER_OK; nothing written on error.
///
/// # Safety
/// `ids`: `count` strings; `token_counts`: `count` values; `vectors`: sum(token_counts) x
/// `dim` floats; `payloads`: NULL or `count` pointers (each NULL or a string).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn quiver_upsert_multi(
    coll: *const quiver_collection,
    ids: *const *const c_char,
    token_counts: *const usize,
    vectors: *const f32,
    count: usize,
    dim: usize,
    payloads: *const *const c_char,
) -> c_int {
    guard(|| {
        // SAFETY: per the contract.
        let coll = unsafe { collection(coll) }?;
        let count = handles::batch(count)?;
        // SAFETY: per the contract.
        let (ids, counts, payloads) = unsafe {
            (
                self::ids(ids, count)?,
                handles::array(token_counts, count, "token_counts")?,
                self::payloads(payloads, count)?,
            )
        };
        if count > 0 && dim == 0 {
            return Err(Failure::invalid("dim is 0"));
        }
        let tokens = counts
            .iter()
            .try_fold(0usize, |a, &n| a.checked_add(n))
            .ok_or_else(|| Failure::invalid("token counts overflow"))?;
        let total = tokens
            .checked_mul(dim)
            .ok_or_else(|| Failure::invalid("tokens x dim overflows"))?;
        // SAFETY: per the contract.
        let vectors = unsafe { handles::array(vectors, total, "vectors") }?;
        let mut at = 0;
        let records: Vec<MultiRecord> = ids
            .iter()
            .zip(counts)
            .zip(payloads)
            .map(|((id, &n), payload)| {
                let rows = vectors[at..at + n * dim]
                    .chunks_exact(dim)
                    .map(<[f32]>::to_vec)
                    .collect();
                at += n * dim;
                MultiRecord::new(*id, rows).with_payload(payload)
            })
            .collect();
        coll.upsert(&records)?;
        Ok(())
    })
}

/// The `params->k` records with the highest MaxSim against the query matrix (`tokens` x
/// `dim` floats), as a new result list in `*out` (scores are MaxSim). From `params` (NULL:
/// defaults) it uses `k`, `nprobe` (centroids probed per query token), `exact`,
/// `include_payloads` and `filter`; `candidates` is the number of records re-ranked exactly
/// (0: the default, max(64 x k, 1024, records / 24)).
///
/// # Safety
/// `query`: `tokens * dim` floats; `params` NULL or valid; `out` writable or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn quiver_search_multi(
    coll: *const quiver_collection,
    query: *const f32,
    tokens: usize,
    dim: usize,
    params: *const quiver_search_params,
    candidates: usize,
    out: *mut *mut quiver_results,
) -> c_int {
    guard(|| {
        // SAFETY: per the contract.
        let coll = unsafe { collection(coll) }?;
        handles::out(out, "out")?;
        if dim == 0 {
            return Err(Failure::invalid("dim is 0"));
        }
        let total = tokens
            .checked_mul(dim)
            .ok_or_else(|| Failure::invalid("tokens x dim overflows"))?;
        // SAFETY: per the contract.
        let flat = unsafe { handles::array(query, total, "query") }?;
        let matrix: Vec<Vec<f32>> = flat.chunks_exact(dim).map(<[f32]>::to_vec).collect();
        let mut parsed = None;
        // SAFETY: per the contract.
        let mut options = unsafe { request(params, &mut parsed) }?;
        options.candidates = (candidates != 0).then_some(candidates);
        give(rows(coll.search(&matrix, &options)?)?, out);
        Ok(())
    })
}

/// Builds (or rebuilds) a multi-vector collection's token index: `centroids` token
/// centroids (0: the default, 2 x sqrt(tokens) rounded down to a power of two) trained with
/// `seed` (0: 1234). Drop it with `quiver_drop_index`.
///
/// # Safety
/// `coll` NULL or a collection handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn quiver_create_multi_index(
    coll: *const quiver_collection,
    centroids: usize,
    seed: u64,
) -> c_int {
    guard(|| {
        // SAFETY: per the contract.
        let coll = unsafe { collection(coll) }?;
        let mut params =
            MultiIndexParams::default().centroids((centroids != 0).then_some(centroids));
        if seed != 0 {
            params.seed = seed;
        }
        coll.create_index(params)?;
        Ok(())
    })
}
