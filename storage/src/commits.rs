//! Commit counters: how a process notices that another one committed to the file it shares.
//!
//! redb does not expose the id of the commit a read transaction sees, so Quiver keeps its own
//! counters in `quiver.meta`: `commit` (u64, bumped by every Quiver write transaction) and
//! `changed.<collection id as 16 hex digits>` (the `commit` value of the last write that
//! changed that collection). A reader whose state is of commit `c` reloads only the
//! collections changed after `c`. Both are sealed under their key like every meta entry;
//! files written before the counters existed read as commit 0.
//!
//! Each collection also keeps a change log, table `c{id}.changes`: commit counter → the rows
//! that commit put or deleted (or "everything", for an index build), for the last
//! [`KEEP_COMMITS`] commits. A reader whose state is at most that many commits old reads
//! just those rows again instead of reloading the collection.
//!
//! Change-log value (sealed under its u64 key): byte 0 is `0` (rows follow) or `1`
//! (everything changed; nothing follows); then runs of consecutive rows, each 12 bytes:
//! first row (u64 LE), run length (u32 LE, ≥ 1), runs ascending and not touching.

use crate::catalog::CollectionRecord;
use crate::error::{StorageError, StorageResult};
use crate::read::ReadSnapshot;
use crate::tables::{CollectionTables, META};
use crate::write::WriteBatch;
use redb::ReadableTable;

pub const COMMIT_KEY: &str = "commit";

/// How many commits back a collection's change log reaches.
pub const KEEP_COMMITS: u64 = 1000;

/// What one write transaction changed in a collection.
#[derive(Clone, Copy, Debug)]
pub enum Touched<'a> {
    /// These rows were put or deleted (any order, repeats allowed).
    Rows(&'a [u64]),
    /// Anything may have changed (an index built or dropped).
    All,
}

const RUN: usize = 12;

fn encode_touched(touched: Touched<'_>) -> Vec<u8> {
    let Touched::Rows(rows) = touched else {
        return vec![1];
    };
    let mut sorted = rows.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out = vec![0u8];
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut len = 1u32;
        while i + (len as usize) < sorted.len()
            && sorted[i + len as usize] == start + u64::from(len)
            && len < u32::MAX
        {
            len += 1;
        }
        out.extend_from_slice(&start.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        i += len as usize;
    }
    out
}

/// The rows of a change-log body (`None`: everything changed).
fn decode_touched(commit: u64, body: &[u8], out: &mut Vec<u64>) -> StorageResult<bool> {
    let bad = || StorageError::corrupted(format!("change log entry of commit {commit}"));
    match body.first() {
        Some(1) if body.len() == 1 => Ok(false),
        Some(0) if (body.len() - 1).is_multiple_of(RUN) => {
            for run in body[1..].chunks_exact(RUN) {
                let start = crate::codec::read_u64(run, 0)?;
                let len = crate::codec::read_u32(run, 8)?;
                if len == 0 || start.checked_add(u64::from(len)).is_none() {
                    return Err(bad());
                }
                out.extend(start..start + u64::from(len));
            }
            Ok(true)
        }
        _ => Err(bad()),
    }
}

/// The meta key of a collection's last-changed counter.
pub fn changed_key(collection_id: u64) -> String {
    format!("changed.{collection_id:016x}")
}

fn encode(key: &str, value: u64) -> Vec<u8> {
    crate::seal::seal_named(key, &value.to_le_bytes())
}

fn decode(key: &str, bytes: &[u8]) -> StorageResult<u64> {
    let body = crate::seal::open_named(key, bytes, "meta entry")?;
    if body.len() != 8 {
        return Err(StorageError::corrupted(format!(
            "meta counter '{key}' of {} bytes",
            body.len()
        )));
    }
    crate::codec::read_u64(body, 0)
}

fn get(table: &impl ReadableTable<&'static str, &'static [u8]>, key: &str) -> StorageResult<u64> {
    match table.get(key)? {
        Some(v) => decode(key, v.value()),
        None => Ok(0),
    }
}

impl ReadSnapshot {
    /// The commit counter of this snapshot's commit (0 for files from before counters).
    pub fn commit(&self) -> StorageResult<u64> {
        crate::guard::guarded(|| match self.txn().open_table(META) {
            Ok(meta) => get(&meta, COMMIT_KEY),
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(0),
            Err(e) => Err(e.into()),
        })
    }

    /// The commit that last changed the collection with id `collection_id` (0: none since
    /// counters exist).
    pub fn changed_at(&self, collection_id: u64) -> StorageResult<u64> {
        crate::guard::guarded(|| {
            let meta = self.txn().open_table(META)?;
            get(&meta, &changed_key(collection_id))
        })
    }

    /// Checks that every commit counter decodes and none is past `commit` (for `check`).
    pub fn check_commit_counters(&self) -> StorageResult<()> {
        let commit = self.commit()?;
        crate::guard::guarded(|| {
            let meta = self.txn().open_table(META)?;
            for entry in meta.range("changed."..)? {
                let (k, v) = entry?;
                let key = k.value();
                if !key.starts_with("changed.") {
                    break;
                }
                let at = decode(key, v.value())?;
                if at > commit {
                    return Err(StorageError::corrupted(format!(
                        "meta counter '{key}' is {at}, past the commit counter {commit}"
                    )));
                }
            }
            Ok(())
        })
    }
}

impl ReadSnapshot {
    /// The rows of `coll` that the commits after `base` up to this snapshot's (`commit`)
    /// changed, ascending and distinct; `None` when the log cannot say (an entry says
    /// everything changed, or `base` is older than the log reaches).
    pub fn changed_rows(
        &self,
        coll: &CollectionRecord,
        base: u64,
        commit: u64,
    ) -> StorageResult<Option<Vec<u64>>> {
        if base.saturating_add(KEEP_COMMITS) < commit {
            return Ok(None);
        }
        crate::guard::guarded(|| {
            let t = CollectionTables::of(coll.id);
            let table = match self.txn().open_table(t.changes()) {
                Ok(table) => table,
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
                Err(e) => return Err(e.into()),
            };
            let mut rows = Vec::new();
            for entry in table.range(base + 1..=commit)? {
                let (k, v) = entry?;
                let body = crate::seal::open_row(k.value(), v.value(), "change log entry")?;
                if !decode_touched(k.value(), body, &mut rows)? {
                    return Ok(None);
                }
            }
            rows.sort_unstable();
            rows.dedup();
            Ok(Some(rows))
        })
    }

    /// Checks that every change-log entry of `coll` decodes and is of a commit not past this
    /// snapshot's (for `check`).
    pub fn check_change_log(&self, coll: &CollectionRecord) -> StorageResult<()> {
        let commit = self.commit()?;
        crate::guard::guarded(|| {
            let t = CollectionTables::of(coll.id);
            let table = match self.txn().open_table(t.changes()) {
                Ok(table) => table,
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
                Err(e) => return Err(e.into()),
            };
            let mut rows = Vec::new();
            for entry in table.iter()? {
                let (k, v) = entry?;
                if k.value() > commit {
                    return Err(StorageError::corrupted(format!(
                        "collection '{}': change log entry of commit {} past the commit \
                         counter {commit}",
                        coll.name,
                        k.value()
                    )));
                }
                let body = crate::seal::open_row(k.value(), v.value(), "change log entry")?;
                rows.clear();
                decode_touched(k.value(), body, &mut rows)?;
            }
            Ok(())
        })
    }
}

impl WriteBatch {
    /// The commit counter of the state this transaction started from.
    pub fn base_commit(&self) -> StorageResult<u64> {
        crate::guard::guarded(|| get(&self.txn()?.open_table(META)?, COMMIT_KEY))
    }

    /// Bumps the commit counter, marks the collections `changed` (by id) as changed by this
    /// commit and logs what changed in each (dropping log entries older than
    /// [`KEEP_COMMITS`]); forgets the counters of `dropped` ones. Returns the new counter.
    pub fn record_commit(
        &mut self,
        changed: &[(u64, Touched<'_>)],
        dropped: &[u64],
    ) -> StorageResult<u64> {
        crate::guard::guarded(|| {
            let next = {
                let mut meta = self.txn()?.open_table(META)?;
                let next = get(&meta, COMMIT_KEY)? + 1;
                meta.insert(COMMIT_KEY, encode(COMMIT_KEY, next).as_slice())?;
                for &(id, _) in changed {
                    let key = changed_key(id);
                    meta.insert(key.as_str(), encode(&key, next).as_slice())?;
                }
                for &id in dropped {
                    meta.remove(changed_key(id).as_str())?;
                }
                next
            };
            for &(id, touched) in changed {
                let t = CollectionTables::of(id);
                let mut log = self.txn()?.open_table(t.changes())?;
                let body = encode_touched(touched);
                log.insert(next, crate::seal::seal_row(next, &body).as_slice())?;
                let cutoff = next.saturating_sub(KEEP_COMMITS);
                loop {
                    let oldest = log.first()?.map(|(k, _)| k.value());
                    match oldest {
                        Some(k) if k <= cutoff => {
                            log.pop_first()?;
                        }
                        _ => break,
                    }
                }
            }
            Ok(next)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any row set survives encoding as runs: ascending and distinct.
        #[test]
        fn touched_rows_round_trip(rows in prop::collection::vec(0u64..300, 0..200)) {
            let body = encode_touched(Touched::Rows(&rows));
            let mut out = Vec::new();
            prop_assert!(decode_touched(1, &body, &mut out).unwrap());
            let mut want = rows.clone();
            want.sort_unstable();
            want.dedup();
            prop_assert_eq!(out, want);
        }
    }

    #[test]
    fn everything_and_damage() {
        let mut out = Vec::new();
        assert!(!decode_touched(1, &encode_touched(Touched::All), &mut out).unwrap());
        assert_eq!(
            encode_touched(Touched::Rows(&[5, 6, 7, 9])).len(),
            1 + 2 * RUN
        );
        for bad in [&[][..], &[2], &[0, 1, 2], &[1, 0]] {
            assert!(decode_touched(1, bad, &mut out).is_err());
        }
        let mut zero_run = vec![0u8];
        zero_run.extend_from_slice(&3u64.to_le_bytes());
        zero_run.extend_from_slice(&0u32.to_le_bytes());
        assert!(decode_touched(1, &zero_run, &mut out).is_err());
    }
}
