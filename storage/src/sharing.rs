//! Sharing one file between processes: the access modes, waiting out a busy file (the busy
//! timeout), and naming who holds it when the wait runs out.
//!
//! Shared and read-only handles open redb in its `MultiWriter` concurrency mode: any number
//! of processes read and write, one write transaction at a time, each read transaction seeing
//! the last commit of any process. Exclusive handles use `ExclusiveWriter`, which locks the
//! whole file. Custom backends have no file locks and are always exclusive.

use crate::error::{LockHolder, StorageError, StorageResult};
use std::path::Path;
use std::time::{Duration, Instant};

/// How a handle shares its file with other processes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Access {
    /// Reads and writes; other processes may open the file too, to read or to write (one write
    /// transaction at a time across all of them). The default.
    #[default]
    Shared,
    /// Reads only, beside any number of readers and shared writers.
    ReadOnly,
    /// Reads and writes with the file to itself: other processes cannot open it while this
    /// handle is open. Commits are cheaper (one sync instead of two, no allocator state) and
    /// `Durability::Relaxed` is allowed.
    Exclusive,
}

impl Access {
    pub(crate) fn concurrency_mode(self) -> redb::ConcurrencyMode {
        match self {
            Access::Exclusive => redb::ConcurrencyMode::ExclusiveWriter,
            Access::Shared | Access::ReadOnly => redb::ConcurrencyMode::MultiWriter,
        }
    }
}

/// Calls `attempt` until it gives `Some`, sleeping between tries (1 ms, doubling to 50 ms)
/// for at most `timeout` in all; `None` when the time ran out.
pub(crate) fn wait_for<T>(
    timeout: Duration,
    mut attempt: impl FnMut() -> StorageResult<Option<T>>,
) -> StorageResult<Option<T>> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(v) = attempt()? {
            return Ok(Some(v));
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(None);
        }
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// Who keeps an open with `access` out, found by probing once the busy timeout ran out. A
/// shared or read-only open is refused only by an exclusive handle. An exclusive open is
/// refused by any handle; a read-only probe in exclusive mode tells readers from writers
/// (redb refuses it while any process has the file open for writing).
pub(crate) fn holder(path: &Path, access: Access) -> LockHolder {
    if access != Access::Exclusive {
        return LockHolder::Exclusive;
    }
    let mut b = redb::Database::builder();
    b.set_cache_size(0);
    b.set_concurrency_mode(redb::ConcurrencyMode::ExclusiveWriter);
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| b.open_read_only(path))) {
        Ok(Ok(_probe)) => LockHolder::Readers,
        _ => LockHolder::Writer,
    }
}

pub(crate) fn locked(path: &Path, holder: LockHolder) -> StorageError {
    StorageError::Locked {
        path: path.to_path_buf(),
        holder,
    }
}
