//! Writing and counting records, and building indexes.

use crate::handles::{self, Kind, quiver_collection};
use crate::status::{Failure, guard};
use engine::{Filter, IvfPqParams, PayloadIndexKind, Record, TextRecord};
use serde_json::Value;
use std::ffi::{c_char, c_int};

/// Kinds of payload index (`quiver_create_payload_index`).
#[repr(C)]
pub enum quiver_payload_kind {
    QUIVER_PAYLOAD_KEYWORD = 0,
    QUIVER_PAYLOAD_INTEGER = 1,
    QUIVER_PAYLOAD_FLOAT = 2,
    QUIVER_PAYLOAD_BOOL = 3,
}

/// IVF-PQ build parameters; all-zero means the defaults derived from the collection.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct quiver_index_params {
    /// Inverted lists; 0: 4 x sqrt(n).
    pub nlist: usize,
    /// PQ sub-quantizers (must divide the dimension); 0: the default.
    pub m: usize,
    /// Training seed; 0: the default (1234).
    pub seed: u64,
    /// Bits per PQ code: 8, or 4 (fast scan); 0: the default (8).
    pub bits: u32,
}

/// Collection handle behind `coll`.
///
/// # Safety
/// `coll` NULL or a pointer from this library.
pub(crate) unsafe fn collection<'a>(
    coll: *const quiver_collection,
) -> Result<&'a engine::Collection, Failure> {
    // SAFETY: forwarded.
    unsafe { handles::handle(coll, Kind::Collection) }.map(|c| &c.coll)
}

/// Parses the optional payload of record `i` (a JSON object text, or NULL for none).
///
/// # Safety
/// `payloads` NULL or `count` pointers, each NULL or a NUL-terminated string.
pub(crate) unsafe fn payloads(
    payloads: *const *const c_char,
    count: usize,
) -> Result<Vec<Option<Value>>, Failure> {
    if payloads.is_null() {
        return Ok(vec![None; count]);
    }
    // SAFETY: `count` readable pointers.
    let ptrs = unsafe { handles::array(payloads, count, "payloads") }?;
    ptrs.iter()
        .enumerate()
        .map(|(i, &p)| {
            // SAFETY: NULL or a string.
            let Some(json) = (unsafe { handles::optional_text(p, &format!("payload {i}")) })?
            else {
                return Ok(None);
            };
            serde_json::from_str(json)
                .map(Some)
                .map_err(|e| Failure::invalid(format!("payload {i} is not valid JSON: {e}")))
        })
        .collect()
}

/// `count` ids.
///
/// # Safety
/// `ids` NULL or `count` pointers, each NULL or a NUL-terminated string.
pub(crate) unsafe fn ids<'a>(
    ids: *const *const c_char,
    count: usize,
) -> Result<Vec<&'a str>, Failure> {
    // SAFETY: forwarded.
    let ptrs = unsafe { handles::array(ids, count, "ids") }?;
    ptrs.iter()
        .enumerate()
        // SAFETY: forwarded.
        .map(|(i, &p)| unsafe { handles::text(p, &format!("id {i}")) })
        .collect()
}

/// Inserts or replaces `count` records in one transaction: `ids[i]` (UTF-8), the vector
/// `vectors[i*dim .. (i+1)*dim]`, and `payloads[i]` (a JSON object text, or NULL; `payloads`
/// itself may be NULL). Durable when this returns QUIVER_OK; on any error nothing is written.
/// `count` 0 does nothing. The library copies everything it needs before returning.
///
/// # Safety
/// `ids`: `count` string pointers; `vectors`: `count * dim` floats; `payloads`: NULL or
/// `count` pointers (each NULL or a string).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn quiver_upsert(
    coll: *const quiver_collection,
    ids: *const *const c_char,
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
        let ids = unsafe { self::ids(ids, count) }?;
        let total = count
            .checked_mul(dim)
            .ok_or_else(|| Failure::invalid("count x dim overflows"))?;
        if count > 0 && dim == 0 {
            return Err(Failure::invalid("dim is 0"));
        }
        // SAFETY: per the contract.
        let vectors = unsafe { handles::array(vectors, total, "vectors") }?;
        // SAFETY: per the contract.
        let payloads = unsafe { self::payloads(payloads, count) }?;
        let records: Vec<Record> = ids
            .iter()
            .zip(payloads)
            .enumerate()
            .map(|(i, (id, payload))| {
                Record::new(*id, vectors[i * dim..(i + 1) * dim].to_vec()).with_payload(payload)
            })
            .collect();
        coll.upsert(&records)?;
        Ok(())
    })
}

/// Like `quiver_upsert` for a collection with a model: `texts[i]` (UTF-8) is embedded and
/// stored with its vector. QUIVER_MODEL if the collection has no model.
///
/// # Safety
/// `ids`, `texts`: `count` string pointers; `payloads` as in `quiver_upsert`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn quiver_upsert_texts(
    coll: *const quiver_collection,
    ids: *const *const c_char,
    texts: *const *const c_char,
    count: usize,
    payloads: *const *const c_char,
) -> c_int {
    guard(|| {
        // SAFETY: per the contract.
        let coll = unsafe { collection(coll) }?;
        let count = handles::batch(count)?;
        // SAFETY: per the contract.
        let (ids, texts, payloads) = unsafe {
            (
                self::ids(ids, count)?,
                self::ids(texts, count)?,
                self::payloads(payloads, count)?,
            )
        };
        let records: Vec<TextRecord> = ids
            .iter()
            .zip(texts)
            .zip(payloads)
            .map(|((id, text), payload)| TextRecord::new(*id, text).with_payload(payload))
            .collect();
        coll.upsert(&records)?;
        Ok(())
    })
}

/// Deletes records by id in one transaction (unknown ids are ignored); writes how many were
/// deleted to `*deleted` unless it is NULL.
///
/// # Safety
/// `ids`: `count` string pointers; `deleted` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn quiver_delete(
    coll: *const quiver_collection,
    ids: *const *const c_char,
    count: usize,
    deleted: *mut usize,
) -> c_int {
    guard(|| {
        // SAFETY: per the contract.
        let coll = unsafe { collection(coll) }?;
        let count = handles::batch(count)?;
        // SAFETY: per the contract.
        let ids = unsafe { self::ids(ids, count) }?;
        let n = coll.delete(&ids)?;
        if !deleted.is_null() {
            // SAFETY: non-NULL and writable per the contract.
            unsafe { *deleted = n };
        }
        Ok(())
    })
}

/// Parses a filter argument (JSON text, see docs/filters.md).
///
/// # Safety
/// `filter` NULL or a NUL-terminated string.
pub(crate) unsafe fn filter(filter: *const c_char) -> Result<Filter, Failure> {
    // SAFETY: forwarded.
    let text = unsafe { handles::text(filter, "filter") }?;
    Ok(Filter::parse(text)?)
}

/// Deletes every record whose payload matches `filter` (JSON text) in one transaction;
/// writes the number to `*deleted` unless NULL.
///
/// # Safety
/// `filter` a NUL-terminated string or NULL; `deleted` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn quiver_delete_where(
    coll: *const quiver_collection,
    filter: *const c_char,
    deleted: *mut usize,
) -> c_int {
    guard(|| {
        // SAFETY: per the contract.
        let (coll, filter) = unsafe { (collection(coll)?, self::filter(filter)?) };
        let n = coll.delete_where(&filter)?;
        if !deleted.is_null() {
            // SAFETY: non-NULL and writable per the contract.
            unsafe { *deleted = n };
        }
        Ok(())
    })
}

/// Writes the number of records to `*count`; with a non-NULL `filter` (JSON text), only
/// those whose payload matches.
///
/// # Safety
/// `filter` NULL or a string; `count` writable or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn quiver_count(
    coll: *const quiver_collection,
    filter: *const c_char,
    count: *mut u64,
) -> c_int {
    guard(|| {
        // SAFETY: per the contract.
        let coll = unsafe { collection(coll) }?;
        handles::out(count, "count")?;
        let n = if filter.is_null() {
            coll.count()?
        } else {
            // SAFETY: per the contract.
            coll.count_where(&unsafe { self::filter(filter) }?)?
        };
        // SAFETY: checked non-NULL.
        unsafe { *count = n };
        Ok(())
    })
}

/// Builds (or rebuilds) the collection's IVF-PQ index from its vectors, swapping it in
/// atomically. `params` may be NULL (defaults). Can take seconds to minutes on large
/// collections; searches meanwhile use the previous state.
///
/// # Safety
/// `params` NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn quiver_create_index(
    coll: *const quiver_collection,
    params: *const quiver_index_params,
) -> c_int {
    guard(|| {
        // SAFETY: per the contract.
        let coll = unsafe { collection(coll) }?;
        // SAFETY: NULL or valid.
        let p = unsafe { params.as_ref() }.copied().unwrap_or_default();
        let nonzero = |v: usize| (v != 0).then_some(v);
        coll.create_index(
            IvfPqParams::default()
                .nlist(nonzero(p.nlist))
                .m(nonzero(p.m))
                .bits((p.bits != 0).then_some(p.bits))
                .seed((p.seed != 0).then_some(p.seed)),
        )?;
        Ok(())
    })
}

/// Removes the IVF-PQ index (searches become exact). QUIVER_OK whether or not there was one.
///
/// # Safety
/// `coll` NULL or a collection handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn quiver_drop_index(coll: *const quiver_collection) -> c_int {
    guard(|| {
        // SAFETY: per the contract.
        unsafe { collection(coll) }?.drop_index()?;
        Ok(())
    })
}

/// Declares a typed payload index on `field` (a dotted path) and fills it; `kind` is a
/// `quiver_payload_kind`. From then on the field must hold values of that kind (see
/// docs/filters.md).
///
/// # Safety
/// `field` NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn quiver_create_payload_index(
    coll: *const quiver_collection,
    field: *const c_char,
    kind: u32,
) -> c_int {
    guard(|| {
        // SAFETY: per the contract.
        let (coll, field) = unsafe { (collection(coll)?, handles::text(field, "field")?) };
        let kind = match kind {
            0 => PayloadIndexKind::Keyword,
            1 => PayloadIndexKind::Integer,
            2 => PayloadIndexKind::Float,
            3 => PayloadIndexKind::Bool,
            k => {
                return Err(Failure::invalid(format!(
                    "payload index kind {k} is not 0-3"
                )));
            }
        };
        coll.create_payload_index(field, kind)?;
        Ok(())
    })
}

/// Removes the payload index on `field`; QUIVER_NOT_FOUND if there is none.
///
/// # Safety
/// `field` NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn quiver_drop_payload_index(
    coll: *const quiver_collection,
    field: *const c_char,
) -> c_int {
    guard(|| {
        // SAFETY: per the contract.
        let (coll, field) = unsafe { (collection(coll)?, handles::text(field, "field")?) };
        if coll.drop_payload_index(field)? {
            Ok(())
        } else {
            Err(Failure::new(
                crate::status::quiver_status::QUIVER_NOT_FOUND,
                format!("no payload index on '{field}'"),
            ))
        }
    })
}
