//! Library information, errors, databases and collections (open, create, list, drop).

use crate::handles::{self, Kind, quiver_collection, quiver_db};
use crate::status::{self, Failure, guard, quiver_status};
use engine::{CollectionConfig, Database, Durability, ElementType, Metric};
use std::ffi::{CString, c_char, c_int};
use std::time::Duration;

/// Options for `quiver_open`. All-zero (`quiver_options o = {0};`) means: open an existing
/// file for reading and writing, shared with other processes, durable writes, default cache,
/// no verification, a 5 s busy timeout.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct quiver_options {
    /// Non-zero: create the file if it does not exist.
    pub create: u32,
    /// 0: every write is on disk when the call returns (fsync); 1: relaxed (faster bulk
    /// loads; a crash may lose the most recent writes, never corrupt the file).
    pub durability: u32,
    /// Page cache in bytes; 0: the default (256 MiB).
    pub cache_bytes: u64,
    /// Non-zero: verify every page checksum while opening (reads the whole file).
    pub verify: u32,
    /// How the handle shares the file with other processes (`quiver_access`):
    /// 0 `QUIVER_ACCESS_SHARED`, 1 `QUIVER_ACCESS_READ_ONLY`, 2 `QUIVER_ACCESS_EXCLUSIVE`.
    pub access: u32,
    /// How long an open or a write waits for a file another process holds, in
    /// milliseconds, before `QUIVER_LOCKED`: 0 the default (5000), negative: do not wait.
    pub busy_timeout_ms: i32,
}

/// How a database handle shares its file (`quiver_options.access`).
#[repr(C)]
pub enum quiver_access {
    /// Read and write; other processes may open the file too, to read or to write (one write
    /// transaction at a time). With relaxed durability the handle is exclusive instead (a
    /// commit not yet on disk cannot be shown to another process).
    QUIVER_ACCESS_SHARED = 0,
    /// Read only, beside any number of readers and writers; writes give QUIVER_READ_ONLY.
    QUIVER_ACCESS_READ_ONLY = 1,
    /// Read and write with the file to this handle; others wait, then get QUIVER_LOCKED.
    QUIVER_ACCESS_EXCLUSIVE = 2,
}

/// Vector comparison of a collection.
#[repr(C)]
pub enum quiver_metric {
    QUIVER_METRIC_COSINE = 0,
    QUIVER_METRIC_DOT = 1,
    QUIVER_METRIC_L2 = 2,
}

/// Stored element type of a collection's vectors.
#[repr(C)]
pub enum quiver_dtype {
    QUIVER_DTYPE_F32 = 0,
    QUIVER_DTYPE_F16 = 1,
    QUIVER_DTYPE_BF16 = 2,
}

/// The list of collection names `quiver_list_collections` returns. Immutable: any number of
/// threads may read one at once; free it once, with `quiver_names_free`.
pub struct quiver_names {
    names: Vec<CString>,
}

impl quiver_names {
    pub(crate) fn new(names: Vec<CString>) -> Self {
        quiver_names { names }
    }
}

/// The library version, e.g. "0.1.0". Static: never free it.
#[unsafe(no_mangle)]
pub extern "C" fn quiver_version() -> *const c_char {
    static VERSION: &std::ffi::CStr = match std::ffi::CStr::from_bytes_with_nul(
        concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes(),
    ) {
        Ok(v) => v,
        Err(_) => c"unknown",
    };
    VERSION.as_ptr()
}

/// A static English text for a status code (unknown codes included). Never free it.
#[unsafe(no_mangle)]
pub extern "C" fn quiver_errstr(status: c_int) -> *const c_char {
    status::describe(status).as_ptr()
}

/// The message of the calling thread's most recent Quiver call: the error's details after a
/// failure, "" after a success. Thread-local: each thread sees its own calls only. The text
/// stays valid until this thread's next Quiver call; copy it to keep it. Never free it.
#[unsafe(no_mangle)]
pub extern "C" fn quiver_errmsg() -> *const c_char {
    status::last_message()
}

/// Opens the database file at `path` (UTF-8), creating it when `options->create` is set.
/// `options` may be NULL (all defaults). On success writes a new handle to `*out`; close it
/// with `quiver_close`.
///
/// # Safety
/// `path` must be NULL or a NUL-terminated string; `options` NULL or valid; `out` NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn quiver_open(
    path: *const c_char,
    options: *const quiver_options,
    out: *mut *mut quiver_db,
) -> c_int {
    guard(|| {
        // SAFETY: per the contract above.
        let path = unsafe { handles::text(path, "path") }?;
        handles::out(out, "out")?;
        crate::models::register();
        // SAFETY: NULL or a valid struct.
        let o = unsafe { options.as_ref() }.copied().unwrap_or_default();
        let mut builder = Database::builder()
            .durability(match o.durability {
                0 => Durability::Immediate,
                1 => Durability::Relaxed,
                d => return Err(Failure::invalid(format!("durability {d} is not 0 or 1"))),
            })
            .verify_on_open(o.verify != 0);
        if o.cache_bytes > 0 {
            let bytes = usize::try_from(o.cache_bytes)
                .map_err(|_| Failure::invalid("cache_bytes does not fit in memory"))?;
            builder = builder.cache_size(bytes);
        }
        builder = match o.busy_timeout_ms {
            0 => builder,
            ms => builder.busy_timeout(Duration::from_millis(ms.max(0) as u64)),
        };
        let db = match (o.access, o.create != 0) {
            (0, create) | (2, create) => {
                if o.access == 2 {
                    builder = builder.exclusive(true);
                }
                if create {
                    builder.create(path)
                } else {
                    builder.open(path)
                }
            }
            (1, false) => builder.open_read_only(path),
            (1, true) => {
                return Err(Failure::invalid(
                    "a read-only open cannot create the file (create and access 1)",
                ));
            }
            (a, _) => return Err(Failure::invalid(format!("access {a} is not 0, 1 or 2"))),
        }?;
        let handle = handles::register(quiver_db { db }, Kind::Db);
        // SAFETY: checked non-NULL above.
        unsafe { *out = handle };
        Ok(())
    })
}

/// Closes a database handle. Collections opened from it stay usable (and keep the file open)
/// until they are closed too. NULL: does nothing and returns QUIVER_OK. A handle closed
/// already: QUIVER_MISUSE, nothing else happens.
///
/// # Safety
/// `db` must be NULL or a handle from `quiver_open`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn quiver_close(db: *mut quiver_db) -> c_int {
    guard(|| {
        // SAFETY: NULL or from quiver_open.
        if db.is_null() || unsafe { handles::release(db, Kind::Db) } {
            Ok(())
        } else {
            Err(Failure::new(
                quiver_status::QUIVER_MISUSE,
                "not a live database handle (closed already?)",
            ))
        }
    })
}

/// Lists the collections (in name order) into a new `quiver_names` (free it with
/// `quiver_names_free`).
///
/// # Safety
/// `db` a handle or NULL; `out` writable or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn quiver_list_collections(
    db: *const quiver_db,
    out: *mut *mut quiver_names,
) -> c_int {
    guard(|| {
        // SAFETY: per the contract.
        let db = unsafe { handles::handle(db, Kind::Db) }?;
        handles::out(out, "out")?;
        let names = db
            .db
            .collections()?
            .into_iter()
            .map(|c| CString::new(c.name).map_err(|_| Failure::invalid("name has a NUL")))
            .collect::<Result<Vec<_>, _>>()?;
        // SAFETY: checked above.
        unsafe { *out = handles::register(quiver_names { names }, Kind::Names) };
        Ok(())
    })
}

/// Number of names in the list (0 for NULL).
///
/// # Safety
/// `names` NULL or from `quiver_list_collections`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn quiver_names_count(names: *const quiver_names) -> usize {
    // SAFETY: per the contract.
    unsafe { handles::peek(names, Kind::Names) }.map_or(0, |n| n.names.len())
}

/// The `i`-th name, or NULL when out of range. Owned by the list (valid until it is freed).
///
/// # Safety
/// `names` NULL or from `quiver_list_collections`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn quiver_names_get(names: *const quiver_names, i: usize) -> *const c_char {
    // SAFETY: per the contract.
    unsafe { handles::peek(names, Kind::Names) }
        .and_then(|n| n.names.get(i))
        .map_or(std::ptr::null(), |s| s.as_ptr())
}

/// Frees a name list. NULL and lists freed already are ignored.
///
/// # Safety
/// `names` NULL or from `quiver_list_collections`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn quiver_names_free(names: *mut quiver_names) {
    // SAFETY: per the contract.
    unsafe { handles::release(names, Kind::Names) };
}

pub(crate) fn metric(value: u32) -> Result<Metric, Failure> {
    Ok(match value {
        0 => Metric::Cosine,
        1 => Metric::Dot,
        2 => Metric::L2,
        m => return Err(Failure::invalid(format!("metric {m} is not 0, 1 or 2"))),
    })
}

pub(crate) fn dtype(value: u32) -> Result<ElementType, Failure> {
    Ok(match value {
        0 => ElementType::F32,
        1 => ElementType::F16,
        2 => ElementType::Bf16,
        t => return Err(Failure::invalid(format!("dtype {t} is not 0, 1 or 2"))),
    })
}

/// Creates a collection of `dim`-dimensional vectors (`metric`: a `quiver_metric`, `dtype`:
/// a `quiver_dtype`) and writes its handle to `*out` (NULL: create only). Close handles with
/// `quiver_collection_close`.
///
/// # Safety
/// `db` a handle or NULL; `name` a NUL-terminated string or NULL; `out` writable or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn quiver_create_collection(
    db: *const quiver_db,
    name: *const c_char,
    dim: usize,
    metric: u32,
    dtype: u32,
    out: *mut *mut quiver_collection,
) -> c_int {
    guard(|| {
        // SAFETY: per the contract.
        let (db, name) = unsafe { (handles::handle(db, Kind::Db)?, handles::text(name, "name")?) };
        let config =
            CollectionConfig::new(dim, self::metric(metric)?).element_type(self::dtype(dtype)?);
        let coll = db.db.create_collection(name, config)?;
        give_collection(coll, out);
        Ok(())
    })
}

/// Creates a collection that embeds its own text with the sentence-transformers model in the
/// folder `model_dir` (its dimension comes from the model; cosine). `out` as in
/// `quiver_create_collection`.
///
/// # Safety
/// As `quiver_create_collection`; `model_dir` a NUL-terminated string or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn quiver_create_text_collection(
    db: *const quiver_db,
    name: *const c_char,
    model_dir: *const c_char,
    out: *mut *mut quiver_collection,
) -> c_int {
    guard(|| {
        // SAFETY: per the contract.
        let (db, name, dir) = unsafe {
            (
                handles::handle(db, Kind::Db)?,
                handles::text(name, "name")?,
                handles::text(model_dir, "model_dir")?,
            )
        };
        let model = crate::models::load(dir, None)?;
        let coll = db
            .db
            .create_collection(name, CollectionConfig::with_embedder(model))?;
        give_collection(coll, out);
        Ok(())
    })
}

pub(crate) fn give_collection(coll: engine::Collection, out: *mut *mut quiver_collection) {
    if !out.is_null() {
        let handle = handles::register(quiver_collection { coll }, Kind::Collection);
        // SAFETY: checked non-NULL.
        unsafe { *out = handle };
    }
}

/// Opens an existing collection; QUIVER_NOT_FOUND if there is none of that name.
///
/// # Safety
/// As `quiver_create_collection`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn quiver_open_collection(
    db: *const quiver_db,
    name: *const c_char,
    out: *mut *mut quiver_collection,
) -> c_int {
    guard(|| {
        // SAFETY: per the contract.
        let (db, name) = unsafe { (handles::handle(db, Kind::Db)?, handles::text(name, "name")?) };
        handles::out(out, "out")?;
        let coll = db.db.collection(name)?;
        give_collection(coll, out);
        Ok(())
    })
}

/// Closes a collection handle (the collection stays in the database). NULL: QUIVER_OK; a
/// handle closed already: QUIVER_MISUSE.
///
/// # Safety
/// `coll` NULL or a collection handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn quiver_collection_close(coll: *mut quiver_collection) -> c_int {
    guard(|| {
        // SAFETY: per the contract.
        if coll.is_null() || unsafe { handles::release(coll, Kind::Collection) } {
            Ok(())
        } else {
            Err(Failure::new(
                quiver_status::QUIVER_MISUSE,
                "not a live collection handle (closed already?)",
            ))
        }
    })
}

/// Deletes a collection and all its records (one transaction). Open handles to it then
/// return QUIVER_NOT_FOUND.
///
/// # Safety
/// `db` a handle or NULL; `name` a NUL-terminated string or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn quiver_drop_collection(
    db: *const quiver_db,
    name: *const c_char,
) -> c_int {
    guard(|| {
        // SAFETY: per the contract.
        let (db, name) = unsafe { (handles::handle(db, Kind::Db)?, handles::text(name, "name")?) };
        db.db.drop_collection(name)?;
        Ok(())
    })
}
