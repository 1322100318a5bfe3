//! Opening and creating database files.

use crate::error::{LockHolder, StorageError, StorageResult};
use crate::format::{self, HeaderCheck};
use crate::read::ReadSnapshot;
use crate::sharing::{self, Access};
use crate::tables::{CATALOG, META};
use crate::write::WriteBatch;
use redb::ReadableDatabase;
use std::io::Read;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::Duration;

fn closed() -> StorageError {
    StorageError::Internal {
        detail: "the store is closed".into(),
    }
}

impl Store {
    fn db(&self) -> StorageResult<&Handle> {
        self.db.as_ref().ok_or_else(closed)
    }
}

/// Closing a database whose file was damaged under it can panic inside redb (its close
/// commits the allocator state): the panic is contained here, since a drop has no way to
/// report it and must not take the application down.
impl Drop for Store {
    fn drop(&mut self) {
        if let Some(db) = self.db.take() {
            let _ = catch_unwind(AssertUnwindSafe(move || drop(db)));
        }
    }
}

/// When a commit reaches the disk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// `commit` returns after the data is on disk (fsync): a crash or power loss right after
    /// cannot lose it. The default.
    #[default]
    Immediate,
    /// `commit` returns before the data is synced. A crash may lose the latest commits (never
    /// part of one, and never older durable ones); the next `Immediate` commit or a clean close
    /// makes them durable. For bulk loads.
    Relaxed,
}

/// How to open a database file.
///
/// ## Defaults
/// - `cache_size`: 256 MiB — redb's page cache, used by payload and id look-ups; vectors are
///   scanned from the engine's own in-memory arena, so a larger cache buys little.
/// - `durability`: [`Durability::Immediate`]. `Relaxed` needs [`Access::Exclusive`] (a
///   commit not yet on disk cannot be shown to another process).
/// - `verify_on_open`: `false` — when `true`, every page checksum is verified while opening
///   (reads the whole file: slow for large files, but a damaged file is refused up front).
/// - `access`: [`Access::Shared`] — other processes may open the file beside this handle.
/// - `busy_timeout`: 5 s — how long an open or a write transaction waits for a file another
///   process holds before it gives `Locked`.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    pub cache_size: usize,
    pub durability: Durability,
    pub verify_on_open: bool,
    pub access: Access,
    pub busy_timeout: Duration,
}

/// The busy timeout of [`StoreOptions::default`].
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            cache_size: 256 << 20,
            durability: Durability::Immediate,
            verify_on_open: false,
            access: Access::Shared,
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
        }
    }
}

/// redb's handle: read-only opens have their own type.
enum Handle {
    ReadWrite(redb::Database),
    ReadOnly(redb::ReadOnlyDatabase),
}

/// An open database file.
pub struct Store {
    /// Always `Some` until dropped (see `Drop`).
    db: Option<Handle>,
    path: PathBuf,
    durability: Durability,
    access: Access,
    busy_timeout: Duration,
}

const REDB_MAGIC: [u8; 4] = *b"redb";

impl Store {
    /// Opens an existing database; fails with `NotFound` if there is no file at `path`.
    /// With [`Access::ReadOnly`] nothing is ever written to the file.
    pub fn open(path: impl AsRef<Path>, opts: &StoreOptions) -> StorageResult<Store> {
        let path = path.as_ref().to_path_buf();
        if !path.exists() {
            return Err(StorageError::NotFound { path });
        }
        Self::reject_foreign_file(&path)?;
        let db = open_handle(&path, opts, false)?;
        let store = Store::new(db, path, opts, opts.access);
        crate::guard::guarded(|| store.check_header(false))?;
        Ok(store)
    }

    /// Opens the database at `path`, creating an empty one if the file does not exist (or is
    /// empty).
    pub fn create(path: impl AsRef<Path>, opts: &StoreOptions) -> StorageResult<Store> {
        let path = path.as_ref().to_path_buf();
        if opts.access == Access::ReadOnly {
            return Self::open(path, opts);
        }
        if path.exists() {
            Self::reject_foreign_file(&path)?;
        }
        let db = open_handle(&path, opts, true)?;
        let store = Store::new(db, path, opts, opts.access);
        crate::guard::guarded(|| store.check_header(true))?;
        Ok(store)
    }

    /// Opens the database held by a custom storage backend, or creates one in it when it is
    /// empty: in-memory databases, or the fault-injecting backends of the reliability tests.
    /// `name` stands for the path in error messages. A backend has no file locks to share,
    /// so the handle is exclusive whatever `opts.access` says.
    pub fn with_backend(
        backend: impl crate::Backend,
        name: &str,
        opts: &StoreOptions,
    ) -> StorageResult<Store> {
        let path = PathBuf::from(name);
        let db = guarded(&path, || {
            builder(opts, Access::Exclusive).create_with_backend(crate::backend::Adapter(backend))
        })?;
        let store = Store::new(Handle::ReadWrite(db), path, opts, Access::Exclusive);
        crate::guard::guarded(|| store.check_header(true))?;
        Ok(store)
    }

    fn new(db: Handle, path: PathBuf, opts: &StoreOptions, access: Access) -> Store {
        Store {
            db: Some(db),
            path,
            durability: opts.durability,
            access,
            busy_timeout: opts.busy_timeout,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How this handle shares its file.
    pub fn access(&self) -> Access {
        self.access
    }

    /// Compacts the file at `path`, which no other handle may have open: it is opened
    /// exclusively, waiting up to `opts.busy_timeout` for other handles to close, then gives
    /// `Locked`. Live pages move to the front and the free tail is cut off. Returns the file
    /// size before and after. Safe against crashes like any commit.
    pub fn compact(path: impl AsRef<Path>, opts: &StoreOptions) -> StorageResult<(u64, u64)> {
        let before = std::fs::metadata(path.as_ref())
            .map_err(|_| StorageError::NotFound {
                path: path.as_ref().to_path_buf(),
            })?
            .len();
        let exclusive = StoreOptions {
            access: Access::Exclusive,
            ..opts.clone()
        };
        let mut store = Store::open(path.as_ref(), &exclusive)?;
        // Each pass moves what it can; a few passes reach the fixed point.
        for _ in 0..8 {
            let Some(Handle::ReadWrite(db)) = store.db.as_mut() else {
                return Err(closed());
            };
            if !db.compact()? {
                break;
            }
        }
        drop(store);
        let after = std::fs::metadata(path.as_ref())?.len();
        Ok((before, after))
    }

    /// A consistent view of the latest commit (of any process sharing the file).
    pub fn begin_read(&self) -> StorageResult<ReadSnapshot> {
        // Guarded like every redb call: after a panic on a damaged page redb's locks are
        // poisoned, and the next transaction would panic on them.
        crate::guard::guarded(|| {
            let txn = match self.db()? {
                Handle::ReadWrite(db) => db.begin_read()?,
                Handle::ReadOnly(db) => db.begin_read()?,
            };
            Ok(ReadSnapshot::new(txn))
        })
    }

    /// Starts the one write transaction. Waits while another is open in this process; on a
    /// shared file, waits up to the busy timeout while another process is in one, then gives
    /// `Locked`. A read-only handle gives `ReadOnly`.
    pub fn begin_write(&self) -> StorageResult<WriteBatch> {
        let db = match self.db()? {
            Handle::ReadWrite(db) => db,
            Handle::ReadOnly(_) => {
                return Err(StorageError::ReadOnly {
                    path: self.path.clone(),
                });
            }
        };
        let mut txn = if self.access == Access::Shared {
            sharing::wait_for(self.busy_timeout, || {
                crate::guard::guarded(|| match db.try_begin_write() {
                    Ok(txn) => Ok(Some(txn)),
                    Err(redb::TransactionError::WouldBlock) => Ok(None),
                    Err(e) => Err(e.into()),
                })
            })?
            .ok_or_else(|| sharing::locked(&self.path, LockHolder::Writing))?
        } else {
            crate::guard::guarded(|| Ok(db.begin_write()?))?
        };
        let durability = match self.durability {
            Durability::Immediate => redb::Durability::Immediate,
            Durability::Relaxed => redb::Durability::None,
        };
        txn.set_durability(durability)
            .map_err(|e| StorageError::Internal {
                detail: e.to_string(),
            })?;
        Ok(WriteBatch::new(txn))
    }

    /// A file that exists, is not empty and does not start with redb's magic was not written
    /// by us: say so rather than "corrupted".
    fn reject_foreign_file(path: &Path) -> StorageResult<()> {
        let mut head = [0u8; 4];
        let mut file = std::fs::File::open(path)?;
        let mut read = 0;
        while read < head.len() {
            match file.read(&mut head[read..])? {
                0 => break,
                n => read += n,
            }
        }
        if read == 0 || head == REDB_MAGIC {
            Ok(())
        } else {
            Err(StorageError::NotAQuiverDatabase {
                path: path.to_path_buf(),
                detail: "unknown file signature".into(),
            })
        }
    }

    /// Checks magic and version; a brand-new file gets its header (when `init`).
    fn check_header(&self, init: bool) -> StorageResult<()> {
        let snapshot = self.begin_read()?;
        let txn = snapshot.txn();
        let header = match txn.open_table(META) {
            Ok(meta) => meta.get(format::HEADER_KEY)?.map(|v| v.value().to_vec()),
            Err(redb::TableError::TableDoesNotExist(_)) => None,
            Err(e) => return Err(e.into()),
        };
        match header {
            Some(bytes) => match format::check_header(&bytes)? {
                HeaderCheck::Ok => Ok(()),
                HeaderCheck::BadMagic => Err(self.foreign("meta table without Quiver's magic")),
            },
            None => {
                let empty = txn.list_tables()?.next().is_none();
                drop(snapshot);
                if init && empty {
                    self.write_header()
                } else {
                    Err(self.foreign("a redb file without Quiver's header"))
                }
            }
        }
    }

    fn write_header(&self) -> StorageResult<()> {
        let mut batch = self.begin_write()?;
        batch
            .raw_mut()?
            .set_durability(redb::Durability::Immediate)
            .map_err(|e| StorageError::Internal {
                detail: e.to_string(),
            })?;
        {
            let txn = batch.raw()?;
            let mut meta = txn.open_table(META)?;
            meta.insert(format::HEADER_KEY, &format::encode_header()[..])?;
            meta.insert(
                format::NEXT_COLLECTION_ID_KEY,
                format::encode_counter(1).as_slice(),
            )?;
            txn.open_table(CATALOG)?;
        }
        batch.commit()
    }

    fn foreign(&self, detail: &str) -> StorageError {
        StorageError::NotAQuiverDatabase {
            path: self.path.clone(),
            detail: detail.into(),
        }
    }
}

/// Opens the redb file at `path` read-only without checking Quiver's header (for `upgrade`,
/// which only reads files this build otherwise refuses), waiting out the busy timeout.
pub(crate) fn open_raw(path: &Path, opts: &StoreOptions) -> StorageResult<redb::ReadOnlyDatabase> {
    Store::reject_foreign_file(path)?;
    let b = builder(opts, Access::ReadOnly);
    sharing::wait_for(opts.busy_timeout, || {
        match guarded(path, || b.open_read_only(path)) {
            Ok(db) => Ok(Some(db)),
            Err(StorageError::Locked { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    })?
    .ok_or_else(|| sharing::locked(path, sharing::holder(path, Access::ReadOnly)))
}

fn builder(opts: &StoreOptions, access: Access) -> redb::Builder {
    let mut b = redb::Database::builder();
    b.set_cache_size(opts.cache_size);
    b.set_check_integrity_on_open(opts.verify_on_open);
    b.set_concurrency_mode(access.concurrency_mode());
    b
}

/// Opens (or creates) redb's handle for `opts.access`, waiting up to the busy timeout while
/// another process keeps it out, then naming the holder in `Locked`.
fn open_handle(path: &Path, opts: &StoreOptions, create: bool) -> StorageResult<Handle> {
    if opts.durability == Durability::Relaxed && opts.access != Access::Exclusive {
        return Err(StorageError::Internal {
            detail: "relaxed durability needs exclusive access: a commit not yet on disk \
                     cannot be shown to another process"
                .into(),
        });
    }
    let b = builder(opts, opts.access);
    let open = || match opts.access {
        Access::ReadOnly => {
            let db = guarded(path, || b.open_read_only(path))?;
            Ok(Handle::ReadOnly(db))
        }
        _ if create => Ok(Handle::ReadWrite(guarded(path, || b.create(path))?)),
        _ => Ok(Handle::ReadWrite(guarded(path, || b.open(path))?)),
    };
    let opened = sharing::wait_for(opts.busy_timeout, || match open() {
        Ok(db) => Ok(Some(db)),
        Err(StorageError::Locked { .. }) => Ok(None),
        Err(e) => Err(e),
    })?;
    opened.ok_or_else(|| sharing::locked(path, sharing::holder(path, opts.access)))
}

/// Runs a redb open, mapping its errors and turning a panic on a damaged file into
/// `Corrupted` (redb documents that opening an altered file without verification may panic).
fn guarded<D>(
    path: &Path,
    open: impl FnOnce() -> Result<D, redb::DatabaseError>,
) -> StorageResult<D> {
    match catch_unwind(AssertUnwindSafe(open)) {
        Ok(Ok(db)) => Ok(db),
        Ok(Err(e)) => Err(map_open_error(path, e)),
        Err(_) => Err(StorageError::corrupted(
            "the storage engine failed while reading the file header",
        )),
    }
}

fn map_open_error(path: &Path, e: redb::DatabaseError) -> StorageError {
    match e {
        redb::DatabaseError::DatabaseAlreadyOpen => sharing::locked(path, LockHolder::Exclusive),
        redb::DatabaseError::UpgradeRequired(v) => StorageError::UpgradeRequired {
            found: u32::from(v),
            supported: format::FORMAT_VERSION,
        },
        redb::DatabaseError::Storage(s) => s.into(),
        other => StorageError::Internal {
            detail: other.to_string(),
        },
    }
}
