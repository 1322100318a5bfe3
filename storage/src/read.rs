//! Reading one commit's state.

use crate::catalog::CollectionRecord;
use crate::codec;
use crate::error::{StorageError, StorageResult};
use crate::index_store::{self, IvfPqHeader, StoredIndex};
use crate::seal;
use crate::tables::{CATALOG, CollectionTables};
use redb::{ReadableTable, ReadableTableMetadata};

/// A read transaction: everything read through it comes from the same commit.
pub struct ReadSnapshot {
    txn: redb::ReadTransaction,
}

fn missing(table: &str) -> StorageError {
    StorageError::corrupted(format!("table {table} is missing"))
}

impl ReadSnapshot {
    pub(crate) fn new(txn: redb::ReadTransaction) -> Self {
        ReadSnapshot { txn }
    }

    pub(crate) fn txn(&self) -> &redb::ReadTransaction {
        &self.txn
    }

    /// Every collection, in name order.
    pub fn collections(&self) -> StorageResult<Vec<CollectionRecord>> {
        crate::guard::guarded(|| {
            let table = self.txn.open_table(CATALOG)?;
            let mut out = Vec::new();
            for entry in table.iter()? {
                let (k, v) = entry?;
                out.push(CollectionRecord::decode_sealed(k.value(), v.value())?);
            }
            Ok(out)
        })
    }

    pub fn collection(&self, name: &str) -> StorageResult<Option<CollectionRecord>> {
        crate::guard::guarded(|| crate::catalog::lookup(&self.txn.open_table(CATALOG)?, name))
    }

    fn open<K: redb::Key + 'static, V: redb::Value + 'static>(
        &self,
        def: redb::TableDefinition<K, V>,
    ) -> StorageResult<redb::ReadOnlyTable<K, V>> {
        match self.txn.open_table(def) {
            Ok(t) => Ok(t),
            Err(redb::TableError::TableDoesNotExist(name)) => Err(missing(&name)),
            Err(e) => Err(e.into()),
        }
    }

    pub fn row_of(&self, coll: &CollectionRecord, id: &str) -> StorageResult<Option<u64>> {
        crate::guard::guarded(|| {
            let t = CollectionTables::of(coll.id);
            self.open(t.ids())?
                .get(id)?
                .map(|v| codec::decode_row_of(id, v.value()))
                .transpose()
        })
    }

    pub fn id_of(&self, coll: &CollectionRecord, row: u64) -> StorageResult<Option<String>> {
        crate::guard::guarded(|| {
            let t = CollectionTables::of(coll.id);
            self.open(t.keys())?
                .get(row)?
                .map(|v| codec::decode_id_of(row, v.value()))
                .transpose()
        })
    }

    /// The stored vector bytes of `row`.
    pub fn vector(&self, coll: &CollectionRecord, row: u64) -> StorageResult<Option<Vec<u8>>> {
        crate::guard::guarded(|| {
            let layout = coll.block_layout()?;
            let t = CollectionTables::of(coll.id);
            let (block, slot) = layout.locate(row);
            let table = self.open(t.vectors())?;
            let Some(v) = table.get(block)? else {
                return Ok(None);
            };
            let bytes = seal::open_row(block, v.value(), "vector block")?;
            layout.check(block, bytes)?;
            Ok(layout.get(bytes, slot).map(<[u8]>::to_vec))
        })
    }

    /// Calls `f(row, vector bytes or None)` for each of `rows` (ascending), reading each
    /// vector block once.
    pub fn for_each_vector_of(
        &self,
        coll: &CollectionRecord,
        rows: &[u64],
        mut f: impl FnMut(u64, Option<&[u8]>) -> StorageResult<()>,
    ) -> StorageResult<()> {
        crate::guard::guarded(|| {
            let layout = coll.block_layout()?;
            let t = CollectionTables::of(coll.id);
            let table = self.open(t.vectors())?;
            let mut held: Option<(u64, Option<redb::AccessGuard<'_, &'static [u8]>>)> = None;
            for &row in rows {
                let (block, slot) = layout.locate(row);
                if held.as_ref().is_none_or(|(b, _)| *b != block) {
                    held = Some((block, table.get(block)?));
                }
                let bytes = match held.as_ref().and_then(|(_, v)| v.as_ref()) {
                    Some(v) => {
                        let bytes = seal::open_row(block, v.value(), "vector block")?;
                        layout.check(block, bytes)?;
                        layout.get(bytes, slot)
                    }
                    None => None,
                };
                f(row, bytes)?;
            }
            Ok(())
        })
    }

    /// The payload JSON text of `row` (decompressed), if it has one.
    pub fn payload(&self, coll: &CollectionRecord, row: u64) -> StorageResult<Option<Vec<u8>>> {
        crate::guard::guarded(|| {
            let t = CollectionTables::of(coll.id);
            let table = self.open(t.payloads())?;
            let found = table.get(row)?;
            found.map(|v| decode_payload(row, v.value())).transpose()
        })
    }

    /// The source text of `row` (decompressed), if it was inserted as text.
    pub fn text(&self, coll: &CollectionRecord, row: u64) -> StorageResult<Option<String>> {
        crate::guard::guarded(|| self.row_reader(coll)?.text(row))
    }

    /// A collection setting (see `CollectionTables::settings`).
    pub fn setting(&self, coll: &CollectionRecord, key: &str) -> StorageResult<Option<Vec<u8>>> {
        crate::guard::guarded(|| {
            let t = CollectionTables::of(coll.id);
            match self.txn.open_table(t.settings()) {
                Ok(table) => table
                    .get(key)?
                    .map(|v| Ok(seal::open_named(key, v.value(), "setting")?.to_vec()))
                    .transpose(),
                Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
                Err(e) => Err(e.into()),
            }
        })
    }

    /// Calls `f` with the row of every payload-index entry whose key lies in `range` (from
    /// `fields::range` and friends), in key order. A file without index entries has none.
    pub fn for_each_field_row(
        &self,
        coll: &CollectionRecord,
        range: &(std::ops::Bound<Vec<u8>>, std::ops::Bound<Vec<u8>>),
        mut f: impl FnMut(u64),
    ) -> StorageResult<()> {
        crate::guard::guarded(|| {
            let t = CollectionTables::of(coll.id);
            let table = match self.txn.open_table(t.fields()) {
                Ok(table) => table,
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
                Err(e) => return Err(e.into()),
            };
            if !range_is_ordered(range) {
                return Ok(());
            }
            for entry in table.range::<&[u8]>(crate::fields::borrow(range))? {
                let (key, sum) = entry?;
                let key = checked_field_key(key.value(), sum.value())?;
                let row = crate::fields::entry_row(key).ok_or_else(|| {
                    StorageError::corrupted("payload-index key shorter than 8 bytes")
                })?;
                f(row);
            }
            Ok(())
        })
    }

    /// The payload-index keys in `range`, in order (for consistency checks).
    pub fn field_keys(
        &self,
        coll: &CollectionRecord,
        range: &(std::ops::Bound<Vec<u8>>, std::ops::Bound<Vec<u8>>),
    ) -> StorageResult<Vec<Vec<u8>>> {
        crate::guard::guarded(|| {
            let t = CollectionTables::of(coll.id);
            let table = match self.txn.open_table(t.fields()) {
                Ok(table) => table,
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
                Err(e) => return Err(e.into()),
            };
            let mut out = Vec::new();
            if range_is_ordered(range) {
                for entry in table.range::<&[u8]>(crate::fields::borrow(range))? {
                    let (key, sum) = entry?;
                    out.push(checked_field_key(key.value(), sum.value())?.to_vec());
                }
            }
            Ok(out)
        })
    }

    /// Calls `f` with every (row, payload JSON text) of the collection, in row order.
    pub fn for_each_payload(
        &self,
        coll: &CollectionRecord,
        mut f: impl FnMut(u64, &[u8]) -> StorageResult<()>,
    ) -> StorageResult<()> {
        crate::guard::guarded(|| {
            let t = CollectionTables::of(coll.id);
            for entry in self.open(t.payloads())?.iter()? {
                let (row, bytes) = entry?;
                f(row.value(), &decode_payload(row.value(), bytes.value())?)?;
            }
            Ok(())
        })
    }

    /// Opens the id, payload and text tables once, for looking up many rows (search results).
    pub fn row_reader(&self, coll: &CollectionRecord) -> StorageResult<RowReader> {
        crate::guard::guarded(|| {
            let t = CollectionTables::of(coll.id);
            // Files written before texts existed lack the table: no row has a text there.
            let texts = match self.txn.open_table(t.texts()) {
                Ok(table) => Some(table),
                Err(redb::TableError::TableDoesNotExist(_)) => None,
                Err(e) => return Err(e.into()),
            };
            Ok(RowReader {
                keys: self.open(t.keys())?,
                payloads: self.open(t.payloads())?,
                texts,
            })
        })
    }

    /// The collection's approximate index, if it has one.
    pub fn index(&self, coll: &CollectionRecord) -> StorageResult<Option<StoredIndex>> {
        crate::guard::guarded(|| {
            let t = CollectionTables::of(coll.id);
            let table = match self.txn.open_table(t.index()) {
                Ok(t) => t,
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
                Err(e) => return Err(e.into()),
            };
            let get = |key: &str| -> StorageResult<Vec<u8>> {
                let found = table.get(key)?.ok_or_else(|| {
                    StorageError::corrupted(format!("index entry {key} is missing"))
                })?;
                Ok(seal::open_named(key, found.value(), "index entry")?.to_vec())
            };
            if table.get(index_store::HEADER_KEY)?.is_none() {
                return Ok(None);
            }
            Ok(Some(StoredIndex {
                header: IvfPqHeader::decode(&get(index_store::HEADER_KEY)?)?,
                centroids: get(index_store::CENTROIDS_KEY)?,
                codebooks: get(index_store::CODEBOOKS_KEY)?,
            }))
        })
    }

    /// A multi-vector collection's token index: (header, centroids), if it has one.
    pub fn token_index(
        &self,
        coll: &CollectionRecord,
    ) -> StorageResult<Option<(Vec<u8>, Vec<u8>)>> {
        crate::guard::guarded(|| {
            let t = CollectionTables::of(coll.id);
            let table = match self.txn.open_table(t.index()) {
                Ok(t) => t,
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
                Err(e) => return Err(e.into()),
            };
            let Some(header) = table.get(index_store::TOKENS_HEADER_KEY)? else {
                return Ok(None);
            };
            let centroids = table
                .get(index_store::TOKENS_CENTROIDS_KEY)?
                .ok_or_else(|| StorageError::corrupted("token index centroids are missing"))?;
            let open = |key, v: &[u8]| -> StorageResult<Vec<u8>> {
                Ok(seal::open_named(key, v, "index entry")?.to_vec())
            };
            Ok(Some((
                open(index_store::TOKENS_HEADER_KEY, header.value())?,
                open(index_store::TOKENS_CENTROIDS_KEY, centroids.value())?,
            )))
        })
    }

    /// Calls `f(row, bytes)` for every row's raw posting value, in row order (the token
    /// index's centroid sets in multi-vector collections).
    pub fn for_each_raw_posting(
        &self,
        coll: &CollectionRecord,
        mut f: impl FnMut(u64, &[u8]) -> StorageResult<()>,
    ) -> StorageResult<()> {
        crate::guard::guarded(|| {
            let t = CollectionTables::of(coll.id);
            let table = match self.txn.open_table(t.postings()) {
                Ok(t) => t,
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
                Err(e) => return Err(e.into()),
            };
            for entry in table.iter()? {
                let (k, v) = entry?;
                f(k.value(), seal::open_row(k.value(), v.value(), "posting")?)?;
            }
            Ok(())
        })
    }

    /// The stored token matrix of `row` (multi-vector collections).
    pub fn matrix(&self, coll: &CollectionRecord, row: u64) -> StorageResult<Option<Vec<u8>>> {
        crate::guard::guarded(|| {
            let t = CollectionTables::of(coll.id);
            let found = match self.open(t.matrices())?.get(row)? {
                Some(v) => Some(seal::open_row(row, v.value(), "token matrix")?.to_vec()),
                None => None,
            };
            if let Some(bytes) = &found
                && codec::matrix_token_count(bytes, coll.vector_bytes as usize).is_none()
            {
                return Err(StorageError::corrupted(format!(
                    "row {row} has a token matrix of {} bytes",
                    bytes.len()
                )));
            }
            Ok(found)
        })
    }

    /// Calls `f(row, matrix_bytes)` for every stored token matrix, in row order.
    pub fn for_each_matrix(
        &self,
        coll: &CollectionRecord,
        mut f: impl FnMut(u64, &[u8]) -> StorageResult<()>,
    ) -> StorageResult<()> {
        crate::guard::guarded(|| {
            let t = CollectionTables::of(coll.id);
            for entry in self.open(t.matrices())?.iter()? {
                let (k, v) = entry?;
                let bytes = seal::open_row(k.value(), v.value(), "token matrix")?;
                if codec::matrix_token_count(bytes, coll.vector_bytes as usize).is_none() {
                    return Err(StorageError::corrupted(format!(
                        "row {} has a token matrix of {} bytes",
                        k.value(),
                        bytes.len()
                    )));
                }
                f(k.value(), bytes)?;
            }
            Ok(())
        })
    }

    /// One row's raw posting value (`None`: the row has none, or there is no index).
    pub fn raw_posting(&self, coll: &CollectionRecord, row: u64) -> StorageResult<Option<Vec<u8>>> {
        crate::guard::guarded(|| {
            let t = CollectionTables::of(coll.id);
            let table = match self.txn.open_table(t.postings()) {
                Ok(t) => t,
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
                Err(e) => return Err(e.into()),
            };
            let Some(v) = table.get(row)? else {
                return Ok(None);
            };
            Ok(Some(seal::open_row(row, v.value(), "posting")?.to_vec()))
        })
    }

    /// The IVF cell and PQ code of one row (`None`: the row has no posting, or there is no
    /// index).
    pub fn posting(
        &self,
        coll: &CollectionRecord,
        row: u64,
    ) -> StorageResult<Option<(u32, Vec<u8>)>> {
        let Some(body) = self.raw_posting(coll, row)? else {
            return Ok(None);
        };
        let (cell, code) = index_store::decode_posting(&body)?;
        Ok(Some((cell, code.to_vec())))
    }

    /// Calls `f(row, cell, code)` for every posting, in row order.
    pub fn for_each_posting(
        &self,
        coll: &CollectionRecord,
        mut f: impl FnMut(u64, u32, &[u8]) -> StorageResult<()>,
    ) -> StorageResult<()> {
        crate::guard::guarded(|| {
            let t = CollectionTables::of(coll.id);
            for entry in self.open(t.postings())?.iter()? {
                let (k, v) = entry?;
                let body = seal::open_row(k.value(), v.value(), "posting")?;
                let (cell, code) = index_store::decode_posting(body)?;
                f(k.value(), cell, code)?;
            }
            Ok(())
        })
    }

    /// Calls `f(row, vector_bytes)` for every stored vector, in row order.
    pub fn for_each_vector(
        &self,
        coll: &CollectionRecord,
        mut f: impl FnMut(u64, &[u8]) -> StorageResult<()>,
    ) -> StorageResult<()> {
        crate::guard::guarded(|| {
            let layout = coll.block_layout()?;
            let t = CollectionTables::of(coll.id);
            for entry in self.open(t.vectors())?.iter()? {
                let (k, v) = entry?;
                let block = k.value();
                let bytes = seal::open_row(block, v.value(), "vector block")?;
                layout.check(block, bytes)?;
                let first = layout.first_row(block);
                for (slot, vector) in layout.slots(bytes) {
                    f(first + slot as u64, vector)?;
                }
            }
            Ok(())
        })
    }

    /// Calls `f(row, id)` for every record, in row order.
    pub fn for_each_key(
        &self,
        coll: &CollectionRecord,
        mut f: impl FnMut(u64, &str) -> StorageResult<()>,
    ) -> StorageResult<()> {
        crate::guard::guarded(|| {
            let t = CollectionTables::of(coll.id);
            for entry in self.open(t.keys())?.iter()? {
                let (k, v) = entry?;
                f(k.value(), &codec::decode_id_of(k.value(), v.value())?)?;
            }
            Ok(())
        })
    }

    /// Entries in the id map and key map, and stored vectors: equal in a consistent database.
    pub fn table_lengths(&self, coll: &CollectionRecord) -> StorageResult<[u64; 3]> {
        crate::guard::guarded(|| {
            let t = CollectionTables::of(coll.id);
            let vectors = if coll.is_multi_vector() {
                self.open(t.matrices())?.len()?
            } else {
                let mut vectors = 0u64;
                self.for_each_vector(coll, |_, _| {
                    vectors += 1;
                    Ok(())
                })?;
                vectors
            };
            Ok([
                self.open(t.ids())?.len()?,
                self.open(t.keys())?.len()?,
                vectors,
            ])
        })
    }
}

/// Id, payload and text look-ups by row id, with the tables opened once.
pub struct RowReader {
    keys: redb::ReadOnlyTable<u64, &'static [u8]>,
    payloads: redb::ReadOnlyTable<u64, &'static [u8]>,
    texts: Option<redb::ReadOnlyTable<u64, &'static [u8]>>,
}

impl RowReader {
    pub fn id(&self, row: u64) -> StorageResult<Option<String>> {
        crate::guard::guarded(|| {
            self.keys
                .get(row)?
                .map(|v| codec::decode_id_of(row, v.value()))
                .transpose()
        })
    }

    /// The payload JSON text of `row` (decompressed), if it has one.
    pub fn payload(&self, row: u64) -> StorageResult<Option<Vec<u8>>> {
        crate::guard::guarded(|| {
            let found = self.payloads.get(row)?;
            found.map(|v| decode_payload(row, v.value())).transpose()
        })
    }

    /// The source text of `row`, if it was inserted as text.
    pub fn text(&self, row: u64) -> StorageResult<Option<String>> {
        crate::guard::guarded(|| {
            let Some(texts) = &self.texts else {
                return Ok(None);
            };
            let Some(found) = texts.get(row)? else {
                return Ok(None);
            };
            let bytes = codec::decode_text(seal::open_row(row, found.value(), "text")?)?;
            String::from_utf8(bytes)
                .map(Some)
                .map_err(|_| StorageError::corrupted(format!("text of row {row} is not UTF-8")))
        })
    }
}

fn decode_payload(row: u64, sealed: &[u8]) -> StorageResult<Vec<u8>> {
    codec::decode_payload(seal::open_row(row, sealed, "payload")?)
}

/// A payload-index key whose stored checksum matches it.
fn checked_field_key(key: &[u8], sum: u32) -> StorageResult<&[u8]> {
    if seal::key_checksum(key) != sum {
        return Err(StorageError::corrupted(
            "payload-index entry: checksum mismatch (damaged data)",
        ));
    }
    Ok(key)
}

/// redb panics on a range whose start lies after its end; such a range is empty.
fn range_is_ordered((lo, hi): &(std::ops::Bound<Vec<u8>>, std::ops::Bound<Vec<u8>>)) -> bool {
    use std::ops::Bound::*;
    match (lo, hi) {
        (Included(a), Included(b)) => a <= b,
        (Included(a) | Excluded(a), Excluded(b)) | (Excluded(a), Included(b)) => a < b,
        _ => true,
    }
}
