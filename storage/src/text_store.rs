//! Reading and writing a collection's full-text index: postings blocks (`text_postings`,
//! layout in [`crate::text_postings`]) and row lengths (`text_lengths`), in the same
//! transactions as the records.

use crate::catalog::CollectionRecord;
use crate::error::{StorageError, StorageResult};
use crate::read::ReadSnapshot;
use crate::seal;
use crate::tables::CollectionTables;
use crate::text_postings::{self, Posting};
use crate::write::WriteBatch;
use redb::{ReadableTable, ReadableTableMetadata};
use std::collections::BTreeMap;
use std::ops::Bound;

fn open_block(key: &[u8], sealed: &[u8], out: &mut Vec<Posting>) -> StorageResult<()> {
    let (_, first) = text_postings::split_key(key)?;
    let body = seal::open(key, sealed, &|| "full-text block".to_owned())?;
    text_postings::decode_block(first, body, out)
}

fn decode_len(row: u64, sealed: &[u8]) -> StorageResult<u32> {
    let body = seal::open_row(row, sealed, "full-text row length")?;
    let bytes: [u8; 4] = body
        .try_into()
        .map_err(|_| StorageError::corrupted(format!("full-text length of row {row}")))?;
    Ok(u32::from_le_bytes(bytes))
}

/// The key range of every block of `term`.
fn term_range(term: &str) -> (Vec<u8>, Vec<u8>) {
    (
        text_postings::block_key(term, 0),
        text_postings::block_key(term, u64::MAX),
    )
}

impl WriteBatch {
    /// Changes one term's posting list: removes `removes`' rows, then adds (or replaces)
    /// `adds` (rows ascending, distinct). Only the blocks the rows fall in are rewritten.
    pub fn update_text_postings(
        &mut self,
        coll: &CollectionRecord,
        term: &str,
        removes: &[u64],
        adds: &[Posting],
    ) -> StorageResult<()> {
        self.update_text_postings_many(coll, &[(term, removes, adds)])
    }

    /// [`WriteBatch::update_text_postings`] for many terms, with the table opened once.
    pub fn update_text_postings_many(
        &mut self,
        coll: &CollectionRecord,
        changes: &[(&str, &[u64], &[Posting])],
    ) -> StorageResult<()> {
        crate::guard::guarded(|| {
            let t = CollectionTables::of(coll.id);
            let mut table = self.txn()?.open_table(t.text_postings())?;
            for &(term, removes, adds) in changes {
                update_term(&mut table, term, removes, adds)?;
            }
            Ok(())
        })
    }

    /// Sets rows' lengths; returns each row's previous length.
    pub fn put_text_lengths(
        &mut self,
        coll: &CollectionRecord,
        lengths: &[(u64, u32)],
    ) -> StorageResult<Vec<Option<u32>>> {
        crate::guard::guarded(|| {
            let t = CollectionTables::of(coll.id);
            let mut table = self.txn()?.open_table(t.text_lengths())?;
            let mut out = Vec::with_capacity(lengths.len());
            for &(row, len) in lengths {
                let prev = table.insert(row, seal::seal_row(row, &len.to_le_bytes()).as_slice())?;
                out.push(prev.map(|v| decode_len(row, v.value())).transpose()?);
            }
            Ok(out)
        })
    }

    /// Removes rows' lengths; returns each row's previous length.
    pub fn remove_text_lengths(
        &mut self,
        coll: &CollectionRecord,
        rows: &[u64],
    ) -> StorageResult<Vec<Option<u32>>> {
        crate::guard::guarded(|| {
            let t = CollectionTables::of(coll.id);
            let mut table = self.txn()?.open_table(t.text_lengths())?;
            let mut out = Vec::with_capacity(rows.len());
            for &row in rows {
                let prev = table.remove(row)?;
                out.push(prev.map(|v| decode_len(row, v.value())).transpose()?);
            }
            Ok(out)
        })
    }

    /// Removes the whole full-text index (postings and lengths).
    pub fn clear_text_index(&mut self, coll: &CollectionRecord) -> StorageResult<()> {
        crate::guard::guarded(|| {
            let t = CollectionTables::of(coll.id);
            self.txn()?.delete_table(t.text_postings())?;
            self.txn()?.delete_table(t.text_lengths())?;
            Ok(())
        })
    }

    /// Removes one of a collection's settings; returns whether it was there.
    pub fn remove_setting(&mut self, coll: &CollectionRecord, key: &str) -> StorageResult<bool> {
        crate::guard::guarded(|| {
            let t = CollectionTables::of(coll.id);
            Ok(self.txn()?.open_table(t.settings())?.remove(key)?.is_some())
        })
    }
}

/// One term's change (see [`WriteBatch::update_text_postings`]) in an open table.
fn update_term(
    table: &mut redb::Table<'_, &'static [u8], &'static [u8]>,
    term: &str,
    removes: &[u64],
    adds: &[Posting],
) -> StorageResult<()> {
    let mut changed: Vec<u64> = removes
        .iter()
        .copied()
        .chain(adds.iter().map(|p| p.row))
        .collect();
    changed.sort_unstable();
    changed.dedup();
    let (Some(&lo), Some(&hi)) = (changed.first(), changed.last()) else {
        return Ok(());
    };
    let (start, end) = term_range(term);
    // The block holding `lo` is the last one starting at or before it (or the first).
    let lo_key = text_postings::block_key(term, lo);
    let from = match table
        .range::<&[u8]>(start.as_slice()..=lo_key.as_slice())?
        .next_back()
    {
        Some(entry) => entry?.0.value().to_vec(),
        None => start.clone(),
    };
    let hi_key = text_postings::block_key(term, hi);
    let mut blocks: Vec<(u64, Vec<u8>, Vec<u8>)> = Vec::new();
    for entry in table.range::<&[u8]>(from.as_slice()..=hi_key.as_slice())? {
        let (k, v) = entry?;
        let (_, first) = text_postings::split_key(k.value())?;
        blocks.push((first, k.value().to_vec(), v.value().to_vec()));
    }
    // Also the block after the range when `hi` lies before every block's start.
    if blocks.is_empty()
        && let Some(entry) = table
            .range::<&[u8]>(start.as_slice()..=end.as_slice())?
            .next()
    {
        let (k, v) = entry?;
        let (_, first) = text_postings::split_key(k.value())?;
        blocks.push((first, k.value().to_vec(), v.value().to_vec()));
    }
    let mut removes = removes.to_vec();
    removes.sort_unstable();
    if blocks.is_empty() {
        return write_blocks(table, term, adds.iter().map(|p| (p.row, *p)).collect());
    }
    // Rewrite each block a changed row falls in ([first_i, first_{i+1}), the first block
    // from row 0) on its own: the blocks it becomes hold only rows of its range, so they stay
    // in order with the untouched blocks around them.
    for i in 0..blocks.len() {
        let lower = if i == 0 { 0 } else { blocks[i].0 };
        let upper = blocks.get(i + 1).map_or(u64::MAX, |b| b.0 - 1);
        let within = |rows: &[u64]| {
            rows.partition_point(|&r| r < lower)..rows.partition_point(|&r| r <= upper)
        };
        if within(&changed).is_empty() {
            continue;
        }
        let mut out = Vec::new();
        open_block(&blocks[i].1, &blocks[i].2, &mut out)?;
        let mut merged: BTreeMap<u64, Posting> = out.into_iter().map(|p| (p.row, p)).collect();
        table.remove(blocks[i].1.as_slice())?;
        for r in &removes[within(&removes)] {
            merged.remove(r);
        }
        let added =
            adds.partition_point(|p| p.row < lower)..adds.partition_point(|p| p.row <= upper);
        for p in &adds[added] {
            merged.insert(p.row, *p);
        }
        write_blocks(table, term, merged)?;
    }
    Ok(())
}

/// Stores `postings` (one range of rows of `term`) as blocks.
fn write_blocks(
    table: &mut redb::Table<'_, &'static [u8], &'static [u8]>,
    term: &str,
    postings: BTreeMap<u64, Posting>,
) -> StorageResult<()> {
    let merged: Vec<Posting> = postings.into_values().collect();
    for block in text_postings::chunk(&merged) {
        let key = text_postings::block_key(term, block[0].row);
        let body = text_postings::encode_block(block)?;
        table.insert(key.as_slice(), seal::seal(&key, &body).as_slice())?;
    }
    Ok(())
}

impl ReadSnapshot {
    /// The posting list of `term`, rows ascending (empty when the term is not indexed).
    pub fn text_postings(
        &self,
        coll: &CollectionRecord,
        term: &str,
    ) -> StorageResult<Vec<Posting>> {
        crate::guard::guarded(|| {
            let t = CollectionTables::of(coll.id);
            let table = match self.txn().open_table(t.text_postings()) {
                Ok(table) => table,
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
                Err(e) => return Err(e.into()),
            };
            let (start, end) = term_range(term);
            let mut out = Vec::new();
            for entry in table.range::<&[u8]>((
                Bound::Included(start.as_slice()),
                Bound::Included(end.as_slice()),
            ))? {
                let (k, v) = entry?;
                open_block(k.value(), v.value(), &mut out)?;
            }
            Ok(out)
        })
    }

    /// Calls `f` with every (term, posting) of the index, by term then row (for checks).
    pub fn for_each_text_posting(
        &self,
        coll: &CollectionRecord,
        mut f: impl FnMut(&str, Posting) -> StorageResult<()>,
    ) -> StorageResult<()> {
        crate::guard::guarded(|| {
            let t = CollectionTables::of(coll.id);
            let table = match self.txn().open_table(t.text_postings()) {
                Ok(table) => table,
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
                Err(e) => return Err(e.into()),
            };
            let mut block = Vec::new();
            for entry in table.iter()? {
                let (k, v) = entry?;
                block.clear();
                open_block(k.value(), v.value(), &mut block)?;
                let (term, _) = text_postings::split_key(k.value())?;
                for p in &block {
                    f(term, *p)?;
                }
            }
            Ok(())
        })
    }

    /// Calls `f` with every (row, length) of the index, in row order.
    pub fn for_each_text_length(
        &self,
        coll: &CollectionRecord,
        mut f: impl FnMut(u64, u32) -> StorageResult<()>,
    ) -> StorageResult<()> {
        crate::guard::guarded(|| {
            let t = CollectionTables::of(coll.id);
            let table = match self.txn().open_table(t.text_lengths()) {
                Ok(table) => table,
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
                Err(e) => return Err(e.into()),
            };
            for entry in table.iter()? {
                let (k, v) = entry?;
                f(k.value(), decode_len(k.value(), v.value())?)?;
            }
            Ok(())
        })
    }

    /// The length of each of `rows` in the index (`None`: not indexed).
    pub fn text_lengths(
        &self,
        coll: &CollectionRecord,
        rows: &[u64],
    ) -> StorageResult<Vec<Option<u32>>> {
        crate::guard::guarded(|| {
            let t = CollectionTables::of(coll.id);
            let table = match self.txn().open_table(t.text_lengths()) {
                Ok(table) => table,
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(vec![None; rows.len()]),
                Err(e) => return Err(e.into()),
            };
            rows.iter()
                .map(|&row| {
                    table
                        .get(row)?
                        .map(|v| decode_len(row, v.value()))
                        .transpose()
                })
                .collect()
        })
    }

    /// Blocks and bytes of the postings table (for `info`).
    pub fn text_index_size(&self, coll: &CollectionRecord) -> StorageResult<(u64, u64)> {
        crate::guard::guarded(|| {
            let t = CollectionTables::of(coll.id);
            match self.txn().open_table(t.text_postings()) {
                Ok(table) => {
                    let stats = table.stats()?;
                    Ok((table.len()?, stats.stored_bytes()))
                }
                Err(redb::TableError::TableDoesNotExist(_)) => Ok((0, 0)),
                Err(e) => Err(e.into()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::text_postings::Posting;
    use crate::{NewCollection, Store, StoreOptions};
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn p(row: u64, tf: u32) -> Posting {
        Posting {
            row,
            tf,
            len: tf + 3,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Any sequence of incremental updates leaves the list a map would hold.
        #[test]
        fn updates_equal_a_map(steps in prop::collection::vec((prop::collection::vec(0u64..2000, 0..40), prop::collection::vec((0u64..2000, 1u32..9), 0..300)), 1..8)) {
            let dir = tempfile::tempdir().unwrap();
            let store = Store::create(dir.path().join("t.qvr"), &StoreOptions::default()).unwrap();
            let mut batch = store.begin_write().unwrap();
            let coll = batch.create_collection("c", &NewCollection { dim: 2, metric: 1, element_type: 1, created_at_ms: 0, vector_bytes: 8, kind: 0 }).unwrap();
            batch.commit().unwrap();
            let mut model: BTreeMap<u64, Posting> = BTreeMap::new();
            for (removes, adds) in steps {
                let adds: BTreeMap<u64, u32> = adds.into_iter().collect();
                let adds: Vec<Posting> = adds.into_iter().map(|(r, tf)| p(r, tf)).collect();
                let mut batch = store.begin_write().unwrap();
                batch.update_text_postings(&coll, "term", &removes, &adds).unwrap();
                batch.update_text_postings(&coll, "other", &[], &[p(5, 1)]).unwrap();
                batch.commit().unwrap();
                for r in &removes { model.remove(r); }
                for a in &adds { model.insert(a.row, *a); }
                let read = store.begin_read().unwrap();
                let got = read.text_postings(&coll, "term").unwrap();
                prop_assert_eq!(got, model.values().copied().collect::<Vec<_>>());
                prop_assert_eq!(read.text_postings(&coll, "other").unwrap(), vec![p(5, 1)]);
                prop_assert!(read.text_postings(&coll, "ter").unwrap().is_empty());
            }
        }
    }
}
