//! Writing: one [`WriteBatch`] is one redb write transaction.

use crate::blocks::BlockLayout;
use crate::catalog::{CollectionRecord, KIND_VECTORS, NewCollection};
use crate::codec;
use crate::error::{StorageError, StorageResult};
use crate::format::NEXT_COLLECTION_ID_KEY;
use crate::index_store::{self, IvfPqHeader, Posting};
use crate::seal;
use crate::tables::{CATALOG, CollectionTables, META};
use redb::ReadableTable;
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

/// A pending transaction. Dropping it without [`WriteBatch::commit`] discards every change.
pub struct WriteBatch {
    /// `None` once committed or aborted.
    txn: Option<redb::WriteTransaction>,
}

/// One record to store.
#[derive(Clone, Copy, Debug)]
pub struct PutRecord<'a> {
    pub id: &'a str,
    /// Encoded vector (see `codec`).
    pub vector: &'a [u8],
    /// Payload JSON text; `None` removes any payload the record had.
    pub payload: Option<&'a [u8]>,
    /// Source text the vector was computed from; `None` removes any text the record had.
    pub text: Option<&'a [u8]>,
}

/// Where a put landed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PutOutcome {
    pub row: u64,
    /// The id existed and its record was replaced (same row id).
    pub replaced: bool,
}

impl WriteBatch {
    pub(crate) fn new(txn: redb::WriteTransaction) -> Self {
        WriteBatch { txn: Some(txn) }
    }

    pub fn collection(&self, name: &str) -> StorageResult<Option<CollectionRecord>> {
        crate::guard::guarded(|| crate::catalog::lookup(&self.txn()?.open_table(CATALOG)?, name))
    }

    /// The four record tables of a collection, opened for writing.
    fn record_tables(&self, coll: &CollectionRecord) -> StorageResult<RecordTables<'_>> {
        let t = CollectionTables::of(coll.id);
        Ok(RecordTables {
            ids: self.txn()?.open_table(t.ids())?,
            keys: self.txn()?.open_table(t.keys())?,
            vectors: self.txn()?.open_table(t.vectors())?,
            payloads: self.txn()?.open_table(t.payloads())?,
            texts: self.txn()?.open_table(t.texts())?,
        })
    }

    /// The token-matrix table of a multi-vector collection, opened for writing.
    fn matrices_table(&self, coll: &CollectionRecord) -> StorageResult<Option<VectorTable<'_>>> {
        if !coll.is_multi_vector() {
            return Ok(None);
        }
        Ok(Some(
            self.txn()?
                .open_table(CollectionTables::of(coll.id).matrices())?,
        ))
    }

    /// Adds a collection (the caller has checked that the name is free and valid).
    pub fn create_collection(
        &mut self,
        name: &str,
        new: &NewCollection,
    ) -> StorageResult<CollectionRecord> {
        crate::guard::guarded(|| {
            let id = {
                let mut meta = self.txn()?.open_table(META)?;
                let next = match meta.get(NEXT_COLLECTION_ID_KEY)? {
                    Some(v) => crate::format::decode_counter(v.value())?,
                    None => {
                        return Err(StorageError::corrupted("collection id counter is missing"));
                    }
                };
                meta.insert(
                    NEXT_COLLECTION_ID_KEY,
                    crate::format::encode_counter(next + 1).as_slice(),
                )?;
                next
            };
            let record = CollectionRecord {
                name: name.to_owned(),
                id,
                dim: new.dim,
                metric: new.metric,
                element_type: new.element_type,
                kind: new.kind,
                created_at_ms: new.created_at_ms,
                next_row: 0,
                count: 0,
                vector_bytes: new.vector_bytes,
                rows_per_block: crate::blocks::rows_per_block(new.vector_bytes as usize),
                version: if new.kind == KIND_VECTORS { 1 } else { 2 },
            };
            let t = CollectionTables::of(id);
            self.txn()?.open_table(t.ids())?;
            self.txn()?.open_table(t.keys())?;
            self.txn()?.open_table(t.vectors())?;
            self.txn()?.open_table(t.payloads())?;
            self.txn()?.open_table(t.texts())?;
            self.txn()?.open_table(t.settings())?;
            if record.is_multi_vector() {
                self.txn()?.open_table(t.matrices())?;
            }
            self.save_collection(&record)?;
            Ok(record)
        })
    }

    /// Removes a collection and all its tables.
    pub fn drop_collection(&mut self, coll: &CollectionRecord) -> StorageResult<()> {
        crate::guard::guarded(|| {
            let t = CollectionTables::of(coll.id);
            self.txn()?.delete_table(t.ids())?;
            self.txn()?.delete_table(t.keys())?;
            self.txn()?.delete_table(t.vectors())?;
            self.txn()?.delete_table(t.payloads())?;
            self.txn()?.delete_table(t.index())?;
            self.txn()?.delete_table(t.postings())?;
            self.txn()?.delete_table(t.texts())?;
            self.txn()?.delete_table(t.settings())?;
            self.txn()?.delete_table(t.fields())?;
            self.txn()?.delete_table(t.matrices())?;
            self.txn()?.delete_table(t.text_postings())?;
            self.txn()?.delete_table(t.text_lengths())?;
            self.txn()?.delete_table(t.changes())?;
            self.txn()?
                .open_table(CATALOG)?
                .remove(coll.name.as_str())?;
            Ok(())
        })
    }

    /// Sets one of a collection's settings (see `CollectionTables::settings`).
    pub fn put_setting(
        &mut self,
        coll: &CollectionRecord,
        key: &str,
        value: &[u8],
    ) -> StorageResult<()> {
        crate::guard::guarded(|| {
            let t = CollectionTables::of(coll.id);
            self.txn()?
                .open_table(t.settings())?
                .insert(key, seal::seal_named(key, value).as_slice())?;
            Ok(())
        })
    }

    /// Adds payload-index entries (keys from `fields::entry_key`).
    pub fn put_field_entries(
        &mut self,
        coll: &CollectionRecord,
        keys: &[Vec<u8>],
    ) -> StorageResult<()> {
        crate::guard::guarded(|| {
            let t = CollectionTables::of(coll.id);
            let mut table = self.txn()?.open_table(t.fields())?;
            for key in keys {
                table.insert(key.as_slice(), seal::key_checksum(key))?;
            }
            Ok(())
        })
    }

    /// Removes payload-index entries; absent keys are ignored.
    pub fn remove_field_entries(
        &mut self,
        coll: &CollectionRecord,
        keys: &[Vec<u8>],
    ) -> StorageResult<()> {
        crate::guard::guarded(|| {
            let t = CollectionTables::of(coll.id);
            let mut table = self.txn()?.open_table(t.fields())?;
            for key in keys {
                table.remove(key.as_slice())?;
            }
            Ok(())
        })
    }

    /// Removes every entry of one indexed field; returns how many there were.
    pub fn clear_field(&mut self, coll: &CollectionRecord, field: &str) -> StorageResult<u64> {
        crate::guard::guarded(|| {
            let t = CollectionTables::of(coll.id);
            let mut table = self.txn()?.open_table(t.fields())?;
            let range = crate::fields::field_range(field);
            let removed =
                table.extract_from_if::<&[u8], _>(crate::fields::borrow(&range), |_, _| true)?;
            let mut n = 0;
            for entry in removed {
                entry?;
                n += 1;
            }
            Ok(n)
        })
    }

    /// Writes the catalog record (row counter and count) back.
    pub fn save_collection(&mut self, coll: &CollectionRecord) -> StorageResult<()> {
        crate::guard::guarded(|| {
            self.txn()?.open_table(CATALOG)?.insert(
                coll.name.as_str(),
                seal::seal_named(&coll.name, &coll.encode()).as_slice(),
            )?;
            Ok(())
        })
    }

    /// Inserts or replaces records, in order (a later record with the same id wins). Updates
    /// `coll`'s counters in memory; call [`WriteBatch::save_collection`] before committing.
    pub fn put_many(
        &mut self,
        coll: &mut CollectionRecord,
        records: &[PutRecord<'_>],
    ) -> StorageResult<Vec<PutOutcome>> {
        crate::guard::guarded(|| {
            let layout = coll.block_layout()?;
            let RecordTables {
                mut ids,
                mut keys,
                mut vectors,
                mut payloads,
                mut texts,
            } = self.record_tables(coll)?;
            let mut blocks = DirtyBlocks::default();
            let mut matrices = self.matrices_table(coll)?;
            let mut out = Vec::with_capacity(records.len());
            for r in records {
                let fits = match matrices {
                    Some(_) => codec::matrix_token_count(r.vector, layout.vector_bytes).is_some(),
                    None => r.vector.len() == layout.vector_bytes,
                };
                if !fits {
                    return Err(StorageError::Internal {
                        detail: format!(
                            "vector of {} bytes for a collection of {}-byte vectors",
                            r.vector.len(),
                            layout.vector_bytes
                        ),
                    });
                }
                let existing = match ids.get(r.id)? {
                    Some(v) => Some(codec::decode_row_of(r.id, v.value())?),
                    None => None,
                };
                let outcome = match existing {
                    Some(row) => PutOutcome {
                        row,
                        replaced: true,
                    },
                    None => {
                        let row = coll.next_row;
                        coll.next_row += 1;
                        coll.count += 1;
                        ids.insert(r.id, codec::encode_row_of(r.id, row).as_slice())?;
                        keys.insert(row, seal::seal_row(row, r.id.as_bytes()).as_slice())?;
                        PutOutcome {
                            row,
                            replaced: false,
                        }
                    }
                };
                match &mut matrices {
                    Some(table) => {
                        table.insert(
                            outcome.row,
                            seal::seal_row(outcome.row, r.vector).as_slice(),
                        )?;
                    }
                    None => {
                        let (block, slot) = layout.locate(outcome.row);
                        layout.set(blocks.get(&vectors, &layout, block)?, slot, r.vector);
                    }
                }
                match r.payload {
                    Some(json) => {
                        let sealed = seal::seal_row(outcome.row, &codec::encode_payload(json));
                        payloads.insert(outcome.row, sealed.as_slice())?;
                    }
                    None => {
                        payloads.remove(outcome.row)?;
                    }
                }
                match r.text {
                    Some(text) => {
                        let sealed = seal::seal_row(outcome.row, &codec::encode_text(text));
                        texts.insert(outcome.row, sealed.as_slice())?;
                    }
                    None => {
                        texts.remove(outcome.row)?;
                    }
                }
                out.push(outcome);
            }
            blocks.write(&mut vectors, &layout)?;
            Ok(out)
        })
    }

    /// Deletes records by id; returns the row each removed id had (`None` for unknown ids).
    pub fn delete_many(
        &mut self,
        coll: &mut CollectionRecord,
        ids_to_delete: &[&str],
    ) -> StorageResult<Vec<Option<u64>>> {
        crate::guard::guarded(|| {
            let layout = coll.block_layout()?;
            let RecordTables {
                mut ids,
                mut keys,
                mut vectors,
                mut payloads,
                mut texts,
            } = self.record_tables(coll)?;
            let mut blocks = DirtyBlocks::default();
            let mut matrices = self.matrices_table(coll)?;
            let mut out = Vec::with_capacity(ids_to_delete.len());
            for id in ids_to_delete {
                let row = match ids.remove(*id)? {
                    Some(v) => Some(codec::decode_row_of(id, v.value())?),
                    None => None,
                };
                if let Some(row) = row {
                    keys.remove(row)?;
                    let had = match &mut matrices {
                        Some(table) => table.remove(row)?.is_some(),
                        None => {
                            let (block, slot) = layout.locate(row);
                            layout.clear(blocks.get(&vectors, &layout, block)?, slot)
                        }
                    };
                    if !had {
                        return Err(StorageError::corrupted(format!("row {row} has no vector")));
                    }
                    payloads.remove(row)?;
                    texts.remove(row)?;
                    coll.count = coll.count.saturating_sub(1);
                }
                out.push(row);
            }
            blocks.write(&mut vectors, &layout)?;
            Ok(out)
        })
    }

    /// Replaces the collection's approximate index (if any) with a new one, postings included.
    pub fn replace_index(
        &mut self,
        coll: &CollectionRecord,
        header: &IvfPqHeader,
        centroids: &[u8],
        codebooks: &[u8],
        postings: &[Posting],
    ) -> StorageResult<()> {
        crate::guard::guarded(|| {
            self.drop_index(coll)?;
            let t = CollectionTables::of(coll.id);
            let mut meta = self.txn()?.open_table(t.index())?;
            for (key, value) in [
                (index_store::HEADER_KEY, &header.encode()[..]),
                (index_store::CENTROIDS_KEY, centroids),
                (index_store::CODEBOOKS_KEY, codebooks),
            ] {
                meta.insert(key, seal::seal_named(key, value).as_slice())?;
            }
            let mut table = self.txn()?.open_table(t.postings())?;
            for p in postings {
                let encoded = index_store::encode_posting(p.cell, &p.code);
                table.insert(p.row, seal::seal_row(p.row, &encoded).as_slice())?;
            }
            Ok(())
        })
    }

    /// Removes the approximate index; returns whether there was one.
    pub fn drop_index(&mut self, coll: &CollectionRecord) -> StorageResult<bool> {
        crate::guard::guarded(|| {
            let t = CollectionTables::of(coll.id);
            let had = self.txn()?.delete_table(t.index())?;
            self.txn()?.delete_table(t.postings())?;
            Ok(had)
        })
    }

    /// Writes postings (replacing a row's previous one); returns each row's previous cell.
    pub fn put_postings(
        &mut self,
        coll: &CollectionRecord,
        postings: &[Posting],
    ) -> StorageResult<Vec<Option<u32>>> {
        crate::guard::guarded(|| {
            let t = CollectionTables::of(coll.id);
            let mut table = self.txn()?.open_table(t.postings())?;
            let mut out = Vec::with_capacity(postings.len());
            for p in postings {
                let encoded = index_store::encode_posting(p.cell, &p.code);
                let prev = table.insert(p.row, seal::seal_row(p.row, &encoded).as_slice())?;
                out.push(match prev {
                    Some(v) => Some(posting_cell(p.row, v.value())?),
                    None => None,
                });
            }
            Ok(out)
        })
    }

    /// Removes rows' postings; returns each row's previous cell.
    pub fn delete_postings(
        &mut self,
        coll: &CollectionRecord,
        rows: &[u64],
    ) -> StorageResult<Vec<Option<u32>>> {
        crate::guard::guarded(|| {
            let t = CollectionTables::of(coll.id);
            let mut table = self.txn()?.open_table(t.postings())?;
            let mut out = Vec::with_capacity(rows.len());
            for &row in rows {
                let prev = table.remove(row)?;
                out.push(match prev {
                    Some(v) => Some(posting_cell(row, v.value())?),
                    None => None,
                });
            }
            Ok(out)
        })
    }

    /// Replaces a multi-vector collection's token index: its header and centroids (in the
    /// `index` table) and every row's centroid set (in `postings`). Drops any index it had.
    pub fn replace_token_index(
        &mut self,
        coll: &CollectionRecord,
        header: &[u8],
        centroids: &[u8],
        codes: &[(u64, Vec<u8>)],
    ) -> StorageResult<()> {
        crate::guard::guarded(|| {
            self.drop_index(coll)?;
            let t = CollectionTables::of(coll.id);
            let mut meta = self.txn()?.open_table(t.index())?;
            for (key, value) in [
                (index_store::TOKENS_HEADER_KEY, header),
                (index_store::TOKENS_CENTROIDS_KEY, centroids),
            ] {
                meta.insert(key, seal::seal_named(key, value).as_slice())?;
            }
            drop(meta);
            self.put_token_codes(coll, codes)
        })
    }

    /// Writes rows' centroid sets (replacing what they had).
    pub fn put_token_codes(
        &mut self,
        coll: &CollectionRecord,
        codes: &[(u64, Vec<u8>)],
    ) -> StorageResult<()> {
        crate::guard::guarded(|| {
            let t = CollectionTables::of(coll.id);
            let mut table = self.txn()?.open_table(t.postings())?;
            for (row, bytes) in codes {
                table.insert(*row, seal::seal_row(*row, bytes).as_slice())?;
            }
            Ok(())
        })
    }

    /// Removes rows' centroid sets.
    pub fn delete_token_codes(
        &mut self,
        coll: &CollectionRecord,
        rows: &[u64],
    ) -> StorageResult<()> {
        crate::guard::guarded(|| {
            let t = CollectionTables::of(coll.id);
            let mut table = self.txn()?.open_table(t.postings())?;
            for row in rows {
                table.remove(*row)?;
            }
            Ok(())
        })
    }

    /// Makes every change durable (per the store's durability) or none of them.
    pub fn commit(mut self) -> StorageResult<()> {
        let txn = self.txn.take();
        crate::guard::guarded(|| {
            txn.ok_or_else(finished)?.commit()?;
            Ok(())
        })
    }

    /// The redb transaction itself (for `upgrade`, which writes tables wholesale).
    pub(crate) fn raw(&self) -> StorageResult<&redb::WriteTransaction> {
        self.txn()
    }

    pub(crate) fn raw_mut(&mut self) -> StorageResult<&mut redb::WriteTransaction> {
        self.txn.as_mut().ok_or_else(finished)
    }

    pub(crate) fn txn(&self) -> StorageResult<&redb::WriteTransaction> {
        self.txn.as_ref().ok_or_else(finished)
    }
}

/// The IVF cell of a stored (sealed) posting.
fn posting_cell(row: u64, sealed: &[u8]) -> StorageResult<u32> {
    Ok(index_store::decode_posting(seal::open_row(row, sealed, "posting")?)?.0)
}

fn finished() -> StorageError {
    StorageError::Internal {
        detail: "the write transaction was used after it ended".into(),
    }
}

/// An uncommitted batch is rolled back, guarded: after redb panicked on a damaged page its
/// locks are poisoned, and its own rollback would panic again — outside any guard, that
/// would abort the process.
impl Drop for WriteBatch {
    fn drop(&mut self) {
        if let Some(txn) = self.txn.take() {
            let _ = crate::guard::guarded(|| {
                txn.abort()?;
                Ok(())
            });
        }
    }
}

struct RecordTables<'txn> {
    ids: redb::Table<'txn, &'static str, &'static [u8]>,
    keys: redb::Table<'txn, u64, &'static [u8]>,
    vectors: VectorTable<'txn>,
    payloads: redb::Table<'txn, u64, &'static [u8]>,
    texts: redb::Table<'txn, u64, &'static [u8]>,
}

/// Vector blocks read and changed during one call, written back once at the end.
#[derive(Default)]
struct DirtyBlocks {
    blocks: BTreeMap<u64, Vec<u8>>,
}

type VectorTable<'txn> = redb::Table<'txn, u64, &'static [u8]>;

impl DirtyBlocks {
    fn get(
        &mut self,
        table: &VectorTable<'_>,
        layout: &BlockLayout,
        block: u64,
    ) -> StorageResult<&mut Vec<u8>> {
        match self.blocks.entry(block) {
            Entry::Occupied(e) => Ok(e.into_mut()),
            Entry::Vacant(e) => {
                let bytes = match table.get(block)? {
                    Some(v) => {
                        let bytes = seal::open_row(block, v.value(), "vector block")?.to_vec();
                        layout.check(block, &bytes)?;
                        bytes
                    }
                    None => layout.empty(),
                };
                Ok(e.insert(bytes))
            }
        }
    }

    fn write(self, table: &mut VectorTable<'_>, layout: &BlockLayout) -> StorageResult<()> {
        for (block, bytes) in self.blocks {
            if layout.is_empty(&bytes) {
                table.remove(block)?;
            } else {
                table.insert(block, seal::seal_row(block, &bytes).as_slice())?;
            }
        }
        Ok(())
    }
}
