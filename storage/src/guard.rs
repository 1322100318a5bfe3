//! redb documents that reading a damaged file without verification may panic. Every read
//! and write of this crate runs its redb calls through [`guarded`], which turns such a panic
//! into `Corrupted`: a damaged page is reported, never a crash of the application. (A
//! panicking closure of the caller is reported the same way, with its message.)

use crate::error::{StorageError, StorageResult};
use std::panic::{AssertUnwindSafe, catch_unwind};

pub(crate) fn guarded<T>(f: impl FnOnce() -> StorageResult<T>) -> StorageResult<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        Err(StorageError::corrupted(format!(
            "the storage engine failed reading a damaged page ({what})"
        )))
    })
}
