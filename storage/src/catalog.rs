//! Catalog records: one per collection, keyed by collection name in `quiver.catalog`.
//!
//! Value layout (48 bytes, little-endian):
//!
//! | offset | size | field                                              |
//! |--------|------|----------------------------------------------------|
//! | 0      | 1    | record version (1; 2 for multi-vector collections) |
//! | 1      | 1    | metric code (1 cosine, 2 dot, 3 l2)                |
//! | 2      | 1    | element type code (1 f32, 2 f16, 3 bf16)           |
//! | 3      | 1    | kind: 0 one vector a record, 1 a token matrix      |
//! | 4      | 4    | dimension (u32)                                    |
//! | 8      | 8    | collection id (u64): names its tables              |
//! | 16     | 8    | created at, milliseconds since the Unix epoch (i64)|
//! | 24     | 8    | next row id (u64)                                  |
//! | 32     | 8    | live record count (u64)                            |
//! | 40     | 4    | bytes per stored vector (u32)                      |
//! | 44     | 4    | rows per vector block (u32), see `blocks`          |
//!
//! Version 2 records exist only for multi-vector collections, so that a reader from before
//! they existed refuses them (`UnsupportedVersion`) instead of misreading them.
//!
//! The metric and element codes are stored as numbers; their meaning is the engine's (this
//! crate knows no algorithm) and is fixed by `docs/file-format.md`.

use crate::codec::{read_i64, read_u8, read_u32, read_u64};
use crate::error::{StorageError, StorageResult};

pub const RECORD_VERSION: u8 = 2;
/// Kind code of collections with one vector per record.
pub const KIND_VECTORS: u8 = 0;
/// Kind code of multi-vector collections (a token matrix per record, table `matrices`).
pub const KIND_MULTI: u8 = 1;
const VERSION_OFFSET: usize = 0;
const METRIC_OFFSET: usize = 1;
const ELEMENT_OFFSET: usize = 2;
const KIND_OFFSET: usize = 3;
const DIM_OFFSET: usize = 4;
const ID_OFFSET: usize = 8;
const CREATED_OFFSET: usize = 16;
const NEXT_ROW_OFFSET: usize = 24;
const COUNT_OFFSET: usize = 32;
const VECTOR_BYTES_OFFSET: usize = 40;
const ROWS_PER_BLOCK_OFFSET: usize = 44;
pub const RECORD_LEN: usize = 48;

/// What the engine says when creating a collection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewCollection {
    pub dim: u32,
    pub metric: u8,
    pub element_type: u8,
    pub created_at_ms: i64,
    /// Size of every stored vector (the engine's dimension x element size); of every token
    /// vector in a multi-vector collection.
    pub vector_bytes: u32,
    /// [`KIND_VECTORS`] or [`KIND_MULTI`].
    pub kind: u8,
}

/// A collection as stored in the catalog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CollectionRecord {
    pub name: String,
    pub id: u64,
    pub dim: u32,
    pub metric: u8,
    pub element_type: u8,
    /// [`KIND_VECTORS`] or [`KIND_MULTI`].
    pub kind: u8,
    pub created_at_ms: i64,
    /// The row id the next new record gets; row ids are never reused.
    pub next_row: u64,
    pub count: u64,
    pub vector_bytes: u32,
    pub rows_per_block: u32,
    /// The catalog record's own format version.
    pub version: u8,
}

/// Looks `name` up in the catalog table of any transaction.
pub(crate) fn lookup(
    table: &impl redb::ReadableTable<&'static str, &'static [u8]>,
    name: &str,
) -> StorageResult<Option<CollectionRecord>> {
    let found = table.get(name)?;
    found
        .map(|v| CollectionRecord::decode_sealed(name, v.value()))
        .transpose()
}

impl CollectionRecord {
    pub fn is_multi_vector(&self) -> bool {
        self.kind == KIND_MULTI
    }

    /// How this collection's vectors are grouped into blocks.
    pub fn block_layout(&self) -> StorageResult<crate::blocks::BlockLayout> {
        crate::blocks::BlockLayout::new(self.rows_per_block, self.vector_bytes as usize)
    }

    pub fn encode(&self) -> [u8; RECORD_LEN] {
        let mut out = [0u8; RECORD_LEN];
        out[VERSION_OFFSET] = if self.kind == KIND_VECTORS { 1 } else { 2 };
        out[METRIC_OFFSET] = self.metric;
        out[ELEMENT_OFFSET] = self.element_type;
        out[KIND_OFFSET] = self.kind;
        out[DIM_OFFSET..ID_OFFSET].copy_from_slice(&self.dim.to_le_bytes());
        out[ID_OFFSET..CREATED_OFFSET].copy_from_slice(&self.id.to_le_bytes());
        out[CREATED_OFFSET..NEXT_ROW_OFFSET].copy_from_slice(&self.created_at_ms.to_le_bytes());
        out[NEXT_ROW_OFFSET..COUNT_OFFSET].copy_from_slice(&self.next_row.to_le_bytes());
        out[COUNT_OFFSET..VECTOR_BYTES_OFFSET].copy_from_slice(&self.count.to_le_bytes());
        out[VECTOR_BYTES_OFFSET..ROWS_PER_BLOCK_OFFSET]
            .copy_from_slice(&self.vector_bytes.to_le_bytes());
        out[ROWS_PER_BLOCK_OFFSET..RECORD_LEN].copy_from_slice(&self.rows_per_block.to_le_bytes());
        out
    }

    /// Decodes a catalog value as stored: the record sealed under the collection's name.
    pub fn decode_sealed(name: &str, bytes: &[u8]) -> StorageResult<Self> {
        Self::decode(
            name,
            crate::seal::open_named(name, bytes, "catalog record")?,
        )
    }

    pub fn decode(name: &str, bytes: &[u8]) -> StorageResult<Self> {
        let version = read_u8(bytes, VERSION_OFFSET)?;
        if version > RECORD_VERSION {
            return Err(StorageError::UnsupportedVersion {
                found: u32::from(version),
                supported: u32::from(RECORD_VERSION),
            });
        }
        if version == 0 || bytes.len() != RECORD_LEN {
            return Err(StorageError::corrupted(format!(
                "catalog record of '{name}': version {version}, {} bytes",
                bytes.len()
            )));
        }
        CollectionRecord {
            name: name.to_owned(),
            version,
            metric: read_u8(bytes, METRIC_OFFSET)?,
            element_type: read_u8(bytes, ELEMENT_OFFSET)?,
            kind: match (version, read_u8(bytes, KIND_OFFSET)?) {
                (1, KIND_VECTORS) => KIND_VECTORS,
                (2, KIND_MULTI) => KIND_MULTI,
                (v, kind) => {
                    return Err(StorageError::corrupted(format!(
                        "catalog record of '{name}': kind {kind} in a version {v} record"
                    )));
                }
            },
            dim: read_u32(bytes, DIM_OFFSET)?,
            id: read_u64(bytes, ID_OFFSET)?,
            created_at_ms: read_i64(bytes, CREATED_OFFSET)?,
            next_row: read_u64(bytes, NEXT_ROW_OFFSET)?,
            count: read_u64(bytes, COUNT_OFFSET)?,
            vector_bytes: read_u32(bytes, VECTOR_BYTES_OFFSET)?,
            rows_per_block: read_u32(bytes, ROWS_PER_BLOCK_OFFSET)?,
        }
        .checked()
    }

    /// Refuses shapes no writer produces, before anything sizes memory by them (a damaged
    /// count or dimension would otherwise become an allocation of terabytes).
    fn checked(self) -> StorageResult<Self> {
        let bad = |what: String| {
            Err(StorageError::corrupted(format!(
                "catalog record of '{}': {what}",
                self.name
            )))
        };
        if self.dim == 0 || self.dim > MAX_DIM {
            return bad(format!("dimension {}", self.dim));
        }
        if self.vector_bytes == 0 || self.vector_bytes > self.dim.saturating_mul(4) {
            return bad(format!(
                "{} bytes per vector of {} dimensions",
                self.vector_bytes, self.dim
            ));
        }
        if self.rows_per_block == 0
            || u64::from(self.rows_per_block) * u64::from(self.vector_bytes) > MAX_BLOCK_BYTES
        {
            return bad(format!("{} rows per block", self.rows_per_block));
        }
        if self.next_row > MAX_ROWS || self.count > self.next_row {
            return bad(format!(
                "{} records, row counter {}",
                self.count, self.next_row
            ));
        }
        Ok(self)
    }
}

/// Largest dimension any collection can have (the engine's limit).
const MAX_DIM: u32 = 65_536;
/// Row ids stay below 2^40 (the engine's arena limit).
const MAX_ROWS: u64 = 1 << 40;
/// No vector block is larger than this (`blocks::rows_per_block` aims at 64 KiB).
const MAX_BLOCK_BYTES: u64 = 16 << 20;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_bad_records() {
        let r = CollectionRecord {
            name: "x".into(),
            id: 7,
            dim: 384,
            metric: 1,
            element_type: 3,
            kind: KIND_VECTORS,
            created_at_ms: 1_700_000_000_000,
            next_row: 42,
            count: 40,
            vector_bytes: 1536,
            rows_per_block: 10,
            version: 1,
        };
        assert_eq!(CollectionRecord::decode("x", &r.encode()).unwrap(), r);
        let multi = CollectionRecord {
            kind: KIND_MULTI,
            version: 2,
            ..r.clone()
        };
        assert_eq!(
            CollectionRecord::decode("x", &multi.encode()).unwrap(),
            multi
        );
        let mut mixed = multi.encode();
        mixed[0] = 1;
        assert!(CollectionRecord::decode("x", &mixed).is_err());
        assert!(matches!(
            CollectionRecord::decode("x", &r.encode()[..47]),
            Err(StorageError::Corrupted { .. })
        ));
        let mut newer = r.encode();
        newer[0] = 3;
        assert!(matches!(
            CollectionRecord::decode("x", &newer),
            Err(StorageError::UnsupportedVersion { .. })
        ));
        assert!(CollectionRecord::decode("x", &[]).is_err());
    }
}
