//! Commit counters: how a process notices that another one committed to the file it shares.
//!
//! redb does not expose the id of the commit a read transaction sees, so Quiver keeps its own
//! counters in `quiver.meta`: `commit` (u64, bumped by every Quiver write transaction) and
//! `changed.<collection id as 16 hex digits>` (the `commit` value of the last write that
//! changed that collection). A reader whose state is of commit `c` reloads only the
//! collections changed after `c`. Both are sealed under their key like every meta entry;
//! files written before the counters existed read as commit 0.

use crate::error::{StorageError, StorageResult};
use crate::read::ReadSnapshot;
use crate::tables::META;
use crate::write::WriteBatch;
use redb::ReadableTable;

pub const COMMIT_KEY: &str = "commit";

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

impl WriteBatch {
    /// The commit counter of the state this transaction started from.
    pub fn base_commit(&self) -> StorageResult<u64> {
        crate::guard::guarded(|| get(&self.txn()?.open_table(META)?, COMMIT_KEY))
    }

    /// Bumps the commit counter and marks the collections `changed` as changed by this
    /// commit; forgets the counters of `dropped` ones. Returns the new counter.
    pub fn record_commit(&mut self, changed: &[u64], dropped: &[u64]) -> StorageResult<u64> {
        crate::guard::guarded(|| {
            let mut meta = self.txn()?.open_table(META)?;
            let next = get(&meta, COMMIT_KEY)? + 1;
            meta.insert(COMMIT_KEY, encode(COMMIT_KEY, next).as_slice())?;
            for &id in changed {
                let key = changed_key(id);
                meta.insert(key.as_str(), encode(&key, next).as_slice())?;
            }
            for &id in dropped {
                meta.remove(changed_key(id).as_str())?;
            }
            Ok(next)
        })
    }
}
