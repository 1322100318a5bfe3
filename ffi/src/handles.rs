//! Opaque handles and the registry of live ones, plus argument conversion.
//!
//! Every handle given to C is registered here until it is closed or freed. A function given a
//! pointer that is NULL, already closed, or a handle of another type returns `QUIVER_MISUSE`
//! without touching it — so a double close or free is harmless. (A pointer closed and then
//! handed out again by the allocator for a new handle cannot be told apart: use after close
//! stays undefined behaviour, as in sqlite.)

use crate::status::{Failure, quiver_status};
use std::collections::HashMap;
use std::ffi::{CStr, c_char};
use std::sync::{LazyLock, Mutex, MutexGuard};

/// A database: one open file. Thread-safe: any number of threads may use one handle at once.
pub struct quiver_db {
    pub(crate) db: engine::Database,
}

/// A collection of a database. Thread-safe like `quiver_db`; it keeps the database file open
/// until it is closed too.
pub struct quiver_collection {
    pub(crate) coll: engine::Collection,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Db,
    Collection,
    Results,
    Names,
    Reranker,
}

fn registry() -> MutexGuard<'static, HashMap<usize, Kind>> {
    static LIVE: LazyLock<Mutex<HashMap<usize, Kind>>> = LazyLock::new(Default::default);
    // A panic while holding the lock cannot leave the map half-updated (one insert or
    // remove), so a poisoned lock is still good.
    LIVE.lock().unwrap_or_else(|p| p.into_inner())
}

/// The registry's key for a handle. Addresses are stored scrambled so that leak checkers
/// (valgrind) do not count the registry as a reference: a handle the application never frees
/// shows up as leaked.
fn key<T>(ptr: *const T) -> usize {
    (ptr as usize) ^ 0xA5A5_5A5A_A5A5_5A5A_u64 as usize
}

/// Hands a new handle to C.
pub(crate) fn register<T>(value: T, kind: Kind) -> *mut T {
    let ptr = Box::into_raw(Box::new(value));
    registry().insert(key(ptr), kind);
    ptr
}

fn live<T>(ptr: *const T, kind: Kind) -> bool {
    registry().get(&key(ptr)) == Some(&kind)
}

/// The handle behind `ptr`, if it is a live handle of `kind`.
///
/// # Safety
/// `ptr` must be NULL or a pointer this library returned (live or not).
pub(crate) unsafe fn peek<'a, T>(ptr: *const T, kind: Kind) -> Option<&'a T> {
    if ptr.is_null() || !live(ptr, kind) {
        return None;
    }
    // SAFETY: registered pointers come from Box::into_raw and stay valid until removed.
    Some(unsafe { &*ptr })
}

/// [`peek`], or `QUIVER_MISUSE` naming what was wrong.
///
/// # Safety
/// As [`peek`].
pub(crate) unsafe fn handle<'a, T>(ptr: *const T, kind: Kind) -> Result<&'a T, Failure> {
    if ptr.is_null() {
        return Err(Failure::new(
            quiver_status::QUIVER_MISUSE,
            format!("the {kind:?} handle is NULL"),
        ));
    }
    // SAFETY: forwarded.
    unsafe { peek(ptr, kind) }.ok_or_else(|| {
        Failure::new(
            quiver_status::QUIVER_MISUSE,
            format!("not a live {kind:?} handle (closed already, or another type)"),
        )
    })
}

/// Unregisters and drops a handle; `false` if it was NULL or not live.
///
/// # Safety
/// As [`peek`].
pub(crate) unsafe fn release<T>(ptr: *mut T, kind: Kind) -> bool {
    if ptr.is_null() {
        return false;
    }
    let removed = {
        let mut live = registry();
        if live.get(&key(ptr)) == Some(&kind) {
            live.remove(&key(ptr));
            true
        } else {
            false
        }
    };
    if removed {
        // SAFETY: it was registered, so it came from Box::into_raw and is dropped once.
        drop(unsafe { Box::from_raw(ptr) });
    }
    removed
}

/// Most records one batch call accepts (guards against a negative count cast to size_t).
pub(crate) const MAX_BATCH: usize = 1 << 24;

/// A required UTF-8 string argument.
///
/// # Safety
/// `ptr` must be NULL or point to a NUL-terminated string.
pub(crate) unsafe fn text<'a>(ptr: *const c_char, what: &str) -> Result<&'a str, Failure> {
    if ptr.is_null() {
        return Err(Failure::invalid(format!("{what} is NULL")));
    }
    // SAFETY: the caller promises a NUL-terminated string.
    unsafe { CStr::from_ptr(ptr) }
        .to_str()
        .map_err(|e| Failure::invalid(format!("{what} is not valid UTF-8 ({e})")))
}

/// An optional UTF-8 string argument (NULL: `None`).
///
/// # Safety
/// As [`text`].
pub(crate) unsafe fn optional_text<'a>(
    ptr: *const c_char,
    what: &str,
) -> Result<Option<&'a str>, Failure> {
    if ptr.is_null() {
        Ok(None)
    } else {
        // SAFETY: forwarded.
        unsafe { text(ptr, what) }.map(Some)
    }
}

/// `count` elements at `ptr` (which may be NULL when `count` is 0).
///
/// # Safety
/// `ptr` must be NULL or point to `count` readable elements.
pub(crate) unsafe fn array<'a, T>(
    ptr: *const T,
    count: usize,
    what: &str,
) -> Result<&'a [T], Failure> {
    if count == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(Failure::invalid(format!("{what} is NULL")));
    }
    if count > isize::MAX as usize / std::mem::size_of::<T>().max(1) {
        return Err(Failure::invalid(format!(
            "{what}: {count} elements is too many"
        )));
    }
    // SAFETY: the caller promises `count` readable elements.
    Ok(unsafe { std::slice::from_raw_parts(ptr, count) })
}

/// Checks an output pointer.
pub(crate) fn out<T>(ptr: *mut T, what: &str) -> Result<(), Failure> {
    if ptr.is_null() {
        return Err(Failure::invalid(format!("{what} (output) is NULL")));
    }
    Ok(())
}

/// A batch size from C.
pub(crate) fn batch(count: usize) -> Result<usize, Failure> {
    if count > MAX_BATCH {
        return Err(Failure::invalid(format!(
            "count {count} is larger than {MAX_BATCH} (a negative number cast to size_t?)"
        )));
    }
    Ok(count)
}
