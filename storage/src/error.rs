use std::path::PathBuf;

/// Errors from the storage layer. Each has one meaning; "too new" is not "corrupt".
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    #[error("database file not found: {path}")]
    NotFound { path: PathBuf },
    #[error("database {path} is locked: another process has it open for writing")]
    Locked { path: PathBuf },
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
