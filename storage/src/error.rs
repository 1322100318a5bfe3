use std::path::PathBuf;

/// Errors from the storage layer. Each has one meaning; "too new" is not "corrupt".
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    #[error("database file not found: {path}")]
    NotFound { path: PathBuf },
    #[error("database {path} is locked: {holder}")]
    Locked { path: PathBuf, holder: LockHolder },
    #[error("database {path} is open read-only")]
    ReadOnly { path: PathBuf },
    #[error("{path} is not a Quiver database ({detail})")]
    NotAQuiverDatabase { path: PathBuf, detail: String },
    #[error(
        "database format version {found} is newer than this build supports ({supported}); upgrade Quiver"
    )]
    UnsupportedVersion { found: u32, supported: u32 },
    #[error(
        "database format version {found} is older than this build reads ({supported}); it must be upgraded"
    )]
    UpgradeRequired { found: u32, supported: u32 },
    #[error("database is corrupted: {detail}")]
    Corrupted { detail: String },
    #[error("value too large to store ({size} bytes)")]
    ValueTooLarge { size: usize },
    #[error("I/O error: {source}")]
    Io {
        #[from]
        source: std::io::Error,
    },
    #[error("storage engine error: {detail}")]
    Internal { detail: String },
}

/// Who kept a database from being opened or written within the busy timeout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LockHolder {
    /// Another process opened the file exclusively (an exclusive open, `compact`, or a Quiver
    /// build from before files were shared).
    Exclusive,
    /// Another process keeps the file open for writing, and this open needs the file to itself.
    Writer,
    /// Other processes have the file open for reading only, and this open needs the file to
    /// itself.
    Readers,
    /// Another process's write transaction was still open when the busy timeout ran out.
    Writing,
}

impl std::fmt::Display for LockHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LockHolder::Exclusive => "another process has it open exclusively",
            LockHolder::Writer => {
                "another process has it open for writing, and this open needs it exclusively"
            }
            LockHolder::Readers => {
                "other processes have it open for reading, and this open needs it exclusively"
            }
            LockHolder::Writing => "another process is writing to it (busy timeout reached)",
        })
    }
}

pub type StorageResult<T> = Result<T, StorageError>;

impl StorageError {
    pub(crate) fn corrupted(detail: impl Into<String>) -> Self {
        StorageError::Corrupted {
            detail: detail.into(),
        }
    }
}

impl From<redb::StorageError> for StorageError {
    fn from(e: redb::StorageError) -> Self {
        match e {
            redb::StorageError::Corrupted(detail) => StorageError::Corrupted { detail },
            redb::StorageError::ValueTooLarge(size) => StorageError::ValueTooLarge { size },
            redb::StorageError::Io(source) => StorageError::Io { source },
            other => StorageError::Internal {
                detail: other.to_string(),
            },
        }
    }
}

impl From<redb::TableError> for StorageError {
    fn from(e: redb::TableError) -> Self {
        match e {
            redb::TableError::Storage(s) => s.into(),
            // A table of ours with another key/value type than we define: not written by us.
            redb::TableError::TableTypeMismatch { .. }
            | redb::TableError::TableIsMultimap(_)
            | redb::TableError::TableIsNotMultimap(_)
            | redb::TableError::TypeDefinitionChanged { .. } => {
                StorageError::corrupted(e.to_string())
            }
            other => StorageError::Internal {
                detail: other.to_string(),
            },
        }
    }
}

impl From<redb::TransactionError> for StorageError {
    fn from(e: redb::TransactionError) -> Self {
        match e {
            redb::TransactionError::Storage(s) => s.into(),
            other => StorageError::Internal {
                detail: other.to_string(),
            },
        }
    }
}

impl From<redb::CommitError> for StorageError {
    fn from(e: redb::CommitError) -> Self {
        match e {
            redb::CommitError::Storage(s) => s.into(),
            other => StorageError::Internal {
                detail: other.to_string(),
            },
        }
    }
}

impl From<redb::CompactionError> for StorageError {
    fn from(e: redb::CompactionError) -> Self {
        match e {
            redb::CompactionError::Storage(s) => s.into(),
            other => StorageError::Internal {
                detail: other.to_string(),
            },
        }
    }
}
