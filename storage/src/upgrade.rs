//! Upgrading a format-1 file (values without checksums) to the current format: every table is
//! copied into a *new* file with each value sealed (`seal`). The old file is only read, so an
//! interrupted upgrade leaves it as it was; the new one is committed in one transaction.

use crate::catalog::CollectionRecord;
use crate::codec;
use crate::error::{StorageError, StorageResult};
use crate::format::{self, HEADER_KEY, NEXT_COLLECTION_ID_KEY};
use crate::seal;
use crate::store::{Store, StoreOptions};
use crate::tables::{CATALOG, CollectionTables, META};
use redb::{ReadableDatabase, ReadableTable, TableDefinition, TableError};
use std::path::Path;

/// The format version this module upgrades from.
const FROM_VERSION: u32 = 1;

/// What an upgrade copied.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpgradeReport {
    /// The file already had the current format: nothing was written.
    pub already_current: bool,
    pub collections: u64,
    /// Values sealed and copied, all tables together.
    pub values: u64,
}

/// Writes the format-1 database at `src` as a current-format database at `dst`, which must
/// not exist. A `src` already in the current format is left alone (`already_current`).
pub fn upgrade(src: &Path, dst: &Path, opts: &StoreOptions) -> StorageResult<UpgradeReport> {
    if !src.exists() {
        return Err(StorageError::NotFound {
            path: src.to_path_buf(),
        });
    }
    if dst.exists() {
        return Err(StorageError::Internal {
            detail: format!("{} exists; upgrade writes a new file", dst.display()),
        });
    }
    let old = crate::store::open_raw(src, opts)?;
    crate::guard::guarded(|| {
        let read = old.begin_read()?;
        if check_source_header(&read)? {
            return Ok(UpgradeReport {
                already_current: true,
                ..UpgradeReport::default()
            });
        }
        let new = Store::create(dst, opts)?;
        let mut report = UpgradeReport::default();
        {
            let write = new.begin_write()?;
            let txn = write.raw()?;
            let old_meta = read.open_table(META)?;
            let next = old_meta
                .get(NEXT_COLLECTION_ID_KEY)?
                .ok_or_else(|| StorageError::corrupted("collection id counter is missing"))?;
            let next = codec::read_u64(next.value(), 0)?;
            txn.open_table(META)?.insert(
                NEXT_COLLECTION_ID_KEY,
                format::encode_counter(next).as_slice(),
            )?;
            let mut catalog = txn.open_table(CATALOG)?;
            for entry in read.open_table(CATALOG)?.iter()? {
                let (name, bytes) = entry?;
                let (name, bytes) = (name.value(), bytes.value());
                let record = CollectionRecord::decode(name, bytes)?;
                catalog.insert(name, seal::seal_named(name, bytes).as_slice())?;
                report.collections += 1;
                report.values += 1 + copy_collection(&read, txn, &CollectionTables::of(record.id))?;
            }
            drop(catalog);
            write.commit()?;
        }
        Ok(report)
    })
}

/// Whether the file is already current (`Ok(false)`: format 1, to upgrade).
fn check_source_header(read: &redb::ReadTransaction) -> StorageResult<bool> {
    let meta = read.open_table(META)?;
    let header = meta
        .get(HEADER_KEY)?
        .ok_or_else(|| StorageError::corrupted("no Quiver header"))?;
    let bytes = header.value();
    if bytes.len() != format::HEADER_LEN || bytes[..8] != format::MAGIC {
        return Err(StorageError::corrupted("not a Quiver header"));
    }
    match codec::read_u32(bytes, 8)? {
        FROM_VERSION => Ok(false),
        v if v == format::FORMAT_VERSION => Ok(true),
        v => Err(StorageError::UnsupportedVersion {
            found: v,
            supported: FROM_VERSION,
        }),
    }
}

/// Copies one collection's tables (those that exist), sealing every value; returns how many.
fn copy_collection(
    read: &redb::ReadTransaction,
    txn: &redb::WriteTransaction,
    t: &CollectionTables,
) -> StorageResult<u64> {
    let mut n = 0;
    // Format 1 types of the three tables whose value type changed.
    let ids_v1: TableDefinition<&str, u64> = TableDefinition::new(&t.ids);
    let keys_v1: TableDefinition<u64, &str> = TableDefinition::new(&t.keys);
    let fields_v1: TableDefinition<&[u8], ()> = TableDefinition::new(&t.fields);
    if let Some(old) = opened(read.open_table(ids_v1))? {
        let mut new = txn.open_table(t.ids())?;
        for entry in old.iter()? {
            let (id, row) = entry?;
            new.insert(
                id.value(),
                codec::encode_row_of(id.value(), row.value()).as_slice(),
            )?;
            n += 1;
        }
    }
    if let Some(old) = opened(read.open_table(keys_v1))? {
        let mut new = txn.open_table(t.keys())?;
        for entry in old.iter()? {
            let (row, id) = entry?;
            let sealed = seal::seal_row(row.value(), id.value().as_bytes());
            new.insert(row.value(), sealed.as_slice())?;
            n += 1;
        }
    }
    if let Some(old) = opened(read.open_table(fields_v1))? {
        let mut new = txn.open_table(t.fields())?;
        for entry in old.iter()? {
            let (key, _) = entry?;
            new.insert(key.value(), seal::key_checksum(key.value()))?;
            n += 1;
        }
    }
    // Tables whose types stayed: row (or block) keys, then string keys.
    for def in [
        t.vectors(),
        t.payloads(),
        t.texts(),
        t.postings(),
        t.matrices(),
    ] {
        if let Some(old) = opened(read.open_table(def))? {
            let mut new = txn.open_table(def)?;
            for entry in old.iter()? {
                let (key, value) = entry?;
                new.insert(
                    key.value(),
                    seal::seal_row(key.value(), value.value()).as_slice(),
                )?;
                n += 1;
            }
        }
    }
    for def in [t.index(), t.settings()] {
        if let Some(old) = opened(read.open_table(def))? {
            let mut new = txn.open_table(def)?;
            for entry in old.iter()? {
                let (key, value) = entry?;
                let sealed = seal::seal_named(key.value(), value.value());
                new.insert(key.value(), sealed.as_slice())?;
                n += 1;
            }
        }
    }
    Ok(n)
}

/// A table of the old file, or `None` when that file never had it (optional tables).
fn opened<T>(r: Result<T, TableError>) -> StorageResult<Option<T>> {
    match r {
        Ok(t) => Ok(Some(t)),
        Err(TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
