//! Token matrices between the caller, the stored bytes and memory; the stored token index.

use crate::error::{Error, Result};
use crate::kinds::dense::vectors;
use crate::schema::Schema;
use crate::validate;
use quiver_index::multi::{TokenIndex, TokenStore, normalize_tokens};
use quiver_index::{ElementType, Metric};
use quiver_storage::{CollectionRecord, ReadSnapshot, StorageError};
use std::sync::Arc;

/// Checks a matrix (every row `dim` long, finite, representable; 1..=`max` rows) and returns
/// it flattened, as given.
pub(crate) fn validate_matrix(
    position: Option<usize>,
    rows: &[Vec<f32>],
    schema: &Schema,
    max: usize,
) -> Result<Vec<f32>> {
    if rows.is_empty() {
        return Err(Error::InvalidMatrix {
            position,
            reason: "it has no token vectors".into(),
        });
    }
    if rows.len() > max {
        return Err(Error::InvalidMatrix {
            position,
            reason: format!("it has {} token vectors; the limit is {max}", rows.len()),
        });
    }
    let mut flat = Vec::with_capacity(rows.len() * schema.dim);
    for (token, row) in rows.iter().enumerate() {
        // Zero tokens are allowed under cosine (they score 0): padding rows are common.
        let one = Schema {
            metric: Metric::Dot,
            ..*schema
        };
        validate::vector(position, row, &one).map_err(|e| match e {
            Error::InvalidVector { problem, .. } => Error::InvalidMatrix {
                position,
                reason: format!("token {token}: {problem}"),
            },
            other => other,
        })?;
        flat.extend_from_slice(row);
    }
    Ok(flat)
}

/// Stored bytes of a validated flat matrix.
pub(crate) fn encode(schema: &Schema, flat: &[f32]) -> Vec<u8> {
    flat.chunks_exact(schema.dim)
        .flat_map(|t| vectors::encode(schema.element, t))
        .collect()
}

/// A stored matrix widened to f32 (flat, n x dim).
pub(crate) fn decode(schema: &Schema, bytes: &[u8]) -> Result<Vec<f32>> {
    let width = schema.dim * schema.element.size_bytes();
    if bytes.is_empty() || !bytes.len().is_multiple_of(width) {
        return Err(Error::corrupted(format!(
            "a token matrix of {} bytes ({}-byte tokens)",
            bytes.len(),
            width
        )));
    }
    let mut out = Vec::with_capacity(bytes.len() / schema.element.size_bytes());
    for t in bytes.chunks_exact(width) {
        out.extend(vectors::decode(schema, t)?);
    }
    Ok(out)
}

/// The matrix as scored: rounded to the stored precision, normalised under cosine.
pub(crate) fn prepare(schema: &Schema, flat: &[f32]) -> Vec<f32> {
    let mut out: Vec<f32> = match schema.element {
        ElementType::F32 => flat.to_vec(),
        _ => decode(schema, &encode(schema, flat)).unwrap_or_else(|_| flat.to_vec()),
    };
    if schema.metric == Metric::Cosine {
        normalize_tokens(&mut out, schema.dim);
    }
    out
}

/// A stored matrix as the token store holds it (tokens normalised under cosine).
pub(crate) fn for_scoring(schema: &Schema, bytes: &[u8]) -> Result<Arc<[f32]>> {
    let mut m = decode(schema, bytes)?;
    if schema.metric == Metric::Cosine {
        normalize_tokens(&mut m, schema.dim);
    }
    Ok(Arc::from(m))
}

/// A row's stored centroid set, if it is one of an index of `centroids` centroids.
pub(crate) fn decode_codes(bytes: &[u8], centroids: usize) -> Option<Vec<u32>> {
    if !bytes.len().is_multiple_of(4) || bytes.is_empty() {
        return None;
    }
    let codes: Vec<u32> = bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    (codes.iter().all(|&c| (c as usize) < centroids) && codes.is_sorted()).then_some(codes)
}

/// Reads every stored matrix into a token store.
pub(crate) fn load_tokens(
    schema: &Schema,
    record: &CollectionRecord,
    read: &ReadSnapshot,
) -> Result<TokenStore> {
    let mut store = TokenStore::new(schema.dim);
    let mut failed = None;
    read.for_each_matrix(record, |row, bytes| {
        if row >= record.next_row {
            return Err(StorageError::Corrupted {
                detail: format!(
                    "row id {row} beyond the collection's counter {}",
                    record.next_row
                ),
            });
        }
        match for_scoring(schema, bytes) {
            Ok(m) => store.set(row, m),
            Err(e) => failed = Some(e),
        }
        Ok(())
    })?;
    match failed {
        Some(e) => Err(e),
        None => Ok(store),
    }
}

/// Token index header (24 bytes): version 1, 3 reserved, centroids (u32), dim (u32),
/// 4 reserved, seed (u64).
pub(crate) fn encode_header(centroids: usize, dim: usize, seed: u64) -> Vec<u8> {
    let mut out = vec![0u8; 24];
    out[0] = 1;
    out[4..8].copy_from_slice(&(centroids as u32).to_le_bytes());
    out[8..12].copy_from_slice(&(dim as u32).to_le_bytes());
    out[16..24].copy_from_slice(&seed.to_le_bytes());
    out
}

/// A row's centroid set as stored: ascending u32 values.
pub(crate) fn encode_codes(codes: &[u32]) -> Vec<u8> {
    codes.iter().flat_map(|c| c.to_le_bytes()).collect()
}

/// Reads the token index (centroids and every row's centroid set), if there is one.
pub(crate) fn load_token_index(
    schema: &Schema,
    record: &CollectionRecord,
    read: &ReadSnapshot,
) -> Result<Option<TokenIndex>> {
    let Some((header, centroids)) = read.token_index(record)? else {
        return Ok(None);
    };
    let bad = |what: String| Error::corrupted(format!("token index of '{}': {what}", record.name));
    if header.len() != 24 || header[0] != 1 {
        return Err(bad(format!(
            "header of {} bytes, version {:?}",
            header.len(),
            header.first()
        )));
    }
    let u32_at =
        |o: usize| u32::from_le_bytes([header[o], header[o + 1], header[o + 2], header[o + 3]]);
    let (nc, dim) = (u32_at(4) as usize, u32_at(8) as usize);
    if dim != schema.dim || nc == 0 || centroids.len() != nc * dim * 4 {
        return Err(bad(format!(
            "{nc} centroids of {dim} dimensions in {} bytes",
            centroids.len()
        )));
    }
    let seed = u64::from_le_bytes([
        header[16], header[17], header[18], header[19], header[20], header[21], header[22],
        header[23],
    ]);
    let centroids = quiver_storage::codec::decode_f32(&centroids, nc * dim)?;
    let mut index = TokenIndex::with_centroids(dim, centroids, seed);
    let mut failed = None;
    read.for_each_raw_posting(record, |row, bytes| {
        if !bytes.len().is_multiple_of(4) || bytes.is_empty() {
            failed = Some(bad(format!(
                "row {row} has a centroid set of {} bytes",
                bytes.len()
            )));
            return Ok(());
        }
        let Some(codes) = decode_codes(bytes, nc) else {
            failed = Some(bad(format!("row {row} has an invalid centroid set")));
            return Ok(());
        };
        index.insert(row, &codes);
        Ok(())
    })?;
    match failed {
        Some(e) => Err(e),
        None => Ok(Some(index)),
    }
}
