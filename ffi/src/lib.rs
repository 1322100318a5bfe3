//! # libquiver: Quiver's C API
//!
//! A C ABI over the `quiver` engine in the style of sqlite3.h: opaque typed handles
//! (`quiver_db`, `quiver_collection`, `quiver_results`, `quiver_names`), every fallible
//! function returning an `int` status from [`quiver_status`] with fixed numbers, outputs
//! written only on success, and `quiver_errmsg()` for the details of the calling thread's
//! last call. The header `ffi/include/quiver.h` is generated from this crate by cbindgen.
//!
//! Conventions (docs/c-api.md has the full text, an example and the tables):
//! - **Ownership**: strings and arrays passed in are read during the call only (copied when
//!   kept). Handles returned through `out` pointers belong to the caller and are released with
//!   their own function (`quiver_close`, `quiver_collection_close`, `quiver_results_free`,
//!   `quiver_names_free`), each safe on NULL and harmless on a handle released already.
//!   Pointers returned by accessors belong to their list and live until it is freed; static
//!   strings (`quiver_version`, `quiver_errstr`) are never freed.
//! - **Threads**: `quiver_db` and `quiver_collection` handles may be used from any number of
//!   threads at once; a `quiver_results`/`quiver_names` list may be read concurrently and is
//!   freed once. Error messages are per thread.
//! - **Panics** never cross the boundary: they become `QUIVER_INTERNAL`.
//! - **Linking**: `-lquiver_ffi` (libquiver_ffi.so or .a; the static library also needs
//!   `-lpthread -ldl -lm`); `ffi/quiver.pc.in` is a pkg-config template.

#![deny(clippy::unwrap_used, clippy::expect_used)]
#![allow(non_camel_case_types)]

mod db;
mod fulltext;
mod handles;
mod mining;
mod models;
mod multi;
mod records;
mod rerank;
mod search;
mod status;
#[cfg(test)]
mod tests;

pub use db::*;
pub use fulltext::*;
pub use handles::{quiver_collection, quiver_db};
pub use multi::*;
pub use records::*;
pub use search::*;
pub use status::quiver_status;
