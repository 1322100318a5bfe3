//! Status codes, the thread's last error message, and the guard every C function runs in.

use engine::{Error, ErrorKind};
use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char, c_int};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Every function returning `int` returns one of these. The numbers are part of the ABI and
/// never change; new codes may be added.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum quiver_status {
    /// Success.
    QUIVER_OK = 0,
    /// No such database file, collection or record.
    QUIVER_NOT_FOUND = 1,
    /// A collection with that name exists already.
    QUIVER_EXISTS = 2,
    /// An argument is invalid: a NULL pointer, a bad id, payload, name, filter, text or
    /// parameter, a count too large, invalid UTF-8. Nothing was changed.
    QUIVER_INVALID_ARGUMENT = 3,
    /// A vector's dimension differs from the collection's.
    QUIVER_DIMENSION_MISMATCH = 4,
    /// The file is damaged (checksums, structure); it is not trusted.
    QUIVER_CORRUPTED = 5,
    /// The file is not a Quiver database.
    QUIVER_NOT_A_DATABASE = 6,
    /// The file's format version is newer than this library, or older and must be upgraded.
    QUIVER_VERSION = 7,
    /// Another process held the database past the busy timeout (the message says who: an
    /// exclusive handle, a writer, readers, or a write transaction).
    QUIVER_LOCKED = 8,
    /// An operating-system I/O error.
    QUIVER_IO = 9,
    /// The embedding model cannot be used (missing or invalid files, a different model than
    /// the one pinned, inference failure, a collection without a model).
    QUIVER_MODEL = 10,
    /// A bug in Quiver (including a caught panic). Please report it.
    QUIVER_INTERNAL = 11,
    /// A NULL, closed or wrong-type handle.
    QUIVER_MISUSE = 12,
    /// A write through a database opened read-only (`QUIVER_ACCESS_READ_ONLY`).
    QUIVER_READ_ONLY = 13,
}

use quiver_status::*;

/// The status an engine error maps to: one code per error kind, stable (a new kind does not
/// compile until it has its code here).
pub(crate) fn status_of(e: &Error) -> quiver_status {
    match e.kind() {
        ErrorKind::NotFound => QUIVER_NOT_FOUND,
        ErrorKind::AlreadyExists => QUIVER_EXISTS,
        ErrorKind::InvalidArgument => QUIVER_INVALID_ARGUMENT,
        ErrorKind::DimensionMismatch => QUIVER_DIMENSION_MISMATCH,
        ErrorKind::Corrupted => QUIVER_CORRUPTED,
        ErrorKind::NotADatabase => QUIVER_NOT_A_DATABASE,
        ErrorKind::Version => QUIVER_VERSION,
        ErrorKind::Locked => QUIVER_LOCKED,
        ErrorKind::ReadOnly => QUIVER_READ_ONLY,
        ErrorKind::Io => QUIVER_IO,
        ErrorKind::Model => QUIVER_MODEL,
        ErrorKind::Internal => QUIVER_INTERNAL,
    }
}

/// A failed call: its status and message.
pub(crate) struct Failure {
    pub status: quiver_status,
    pub message: String,
}

impl Failure {
    pub fn new(status: quiver_status, message: impl Into<String>) -> Failure {
        Failure {
            status,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Failure {
        Failure::new(QUIVER_INVALID_ARGUMENT, message)
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure::new(status_of(&e), e.to_string())
    }
}

pub(crate) type Outcome = Result<(), Failure>;

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_message(message: &str) {
    // Interior NULs cannot be represented in a C string: shown as U+FFFD.
    let text = CString::new(message.replace('\0', "\u{FFFD}")).unwrap_or_default();
    LAST_ERROR.with(|slot| *slot.borrow_mut() = text);
}

/// Runs one C function's body: records its message for `quiver_errmsg`, turns a panic into
/// `QUIVER_INTERNAL`, and returns the status as an `int`.
pub(crate) fn guard(body: impl FnOnce() -> Outcome) -> c_int {
    let outcome = catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        Err(Failure::new(
            QUIVER_INTERNAL,
            format!("internal error: panic: {what}"),
        ))
    });
    match outcome {
        Ok(()) => {
            set_message("");
            QUIVER_OK as c_int
        }
        Err(f) => {
            set_message(&f.message);
            f.status as c_int
        }
    }
}

/// The calling thread's last error message (see `quiver_errmsg`).
pub(crate) fn last_message() -> *const c_char {
    LAST_ERROR.with(|slot| slot.borrow().as_ptr())
}

/// Static text of a status code.
pub(crate) fn describe(code: c_int) -> &'static CStr {
    match code {
        0 => c"ok",
        1 => c"not found",
        2 => c"already exists",
        3 => c"invalid argument",
        4 => c"dimension mismatch",
        5 => c"database is corrupted",
        6 => c"not a Quiver database",
        7 => c"unsupported database format version",
        8 => c"database is locked by another process",
        9 => c"I/O error",
        10 => c"embedding model error",
        11 => c"internal error",
        12 => c"library misuse (NULL, closed or wrong handle)",
        13 => c"database is open read-only",
        _ => c"unknown status code",
    }
}
