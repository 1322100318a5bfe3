pub use quiver_storage::LockHolder;
use quiver_storage::StorageError;
use std::path::PathBuf;

/// Everything that can go wrong, each with the facts needed to act on it.
///
/// A failed call changes nothing: validation happens before the write transaction, and a
/// transaction that fails is rolled back whole.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("database file not found: {path}")]
    NotFound { path: PathBuf },
    /// The busy timeout ran out while another process held the file; `holder` says who.
    #[error("database {path} is locked: {holder}")]
    Locked { path: PathBuf, holder: LockHolder },
    /// A write through a handle opened with [`crate::Database::open_read_only`].
    #[error("database {path} is open read-only; open it with Database::open to write")]
    ReadOnly { path: PathBuf },
    #[error("{path} is not a Quiver database ({detail})")]
    NotAQuiverDatabase { path: PathBuf, detail: String },
    #[error(
        "database format version {found} is newer than this build supports ({supported}); upgrade Quiver"
    )]
    UnsupportedVersion { found: u32, supported: u32 },
    #[error(
        "database format version {found} is older than this build reads ({supported}); copy it to the current format with `quiver upgrade OLD NEW` (Database::upgrade)"
    )]
    UpgradeRequired { found: u32, supported: u32 },
    #[error("database is corrupted: {detail}")]
    Corrupted { detail: String },
    #[error("I/O error: {source}")]
    Io {
        #[source]
        source: std::io::Error,
    },

    #[error("collection '{name}' does not exist")]
    CollectionNotFound { name: String },
    #[error("collection '{name}' already exists")]
    CollectionExists { name: String },
    #[error("invalid collection name '{name}': {reason}")]
    InvalidCollectionName { name: String, reason: String },

    #[error("{} has {found} dimensions, the collection has {expected}", at(*position))]
    DimensionMismatch {
        expected: usize,
        found: usize,
        /// Index of the offending record in the batch; `None` for a query vector.
        position: Option<usize>,
    },
    #[error("{} has an invalid vector: {problem}", at(*position))]
    InvalidVector {
        position: Option<usize>,
        problem: VectorProblem,
    },
    #[error("record {position} has an invalid id: {reason}")]
    InvalidId { position: usize, reason: String },
    #[error("record {position} has an invalid payload: {reason}")]
    InvalidPayload { position: usize, reason: String },
    #[error("record {position} has a payload of {size} bytes; the limit is {max}")]
    PayloadTooLarge {
        position: usize,
        size: usize,
        max: usize,
    },
    #[error("invalid {name}: {reason}")]
    InvalidParameter { name: &'static str, reason: String },

    #[error("{path}: {reason}")]
    BadInputFile { path: PathBuf, reason: String },

    #[error("{} has an invalid text: {reason}", at(*position))]
    InvalidText {
        /// Index of the offending record in the batch; `None` for a query text.
        position: Option<usize>,
        reason: String,
    },
    #[error("model at {path} cannot be used: {reason}")]
    InvalidModel { path: PathBuf, reason: String },
    #[error(
        "collection '{collection}' is pinned to model {pinned}, but the model offered is {found}"
    )]
    ModelMismatch {
        collection: String,
        pinned: String,
        found: String,
    },
    #[error("collection '{collection}' cannot embed text: {reason}")]
    NoEmbedder { collection: String, reason: String },
    #[error("model inference failed: {detail}")]
    Inference { detail: String },

    #[error("invalid filter{}: {reason}", filter_at(at))]
    InvalidFilter {
        /// Where in the filter, as a path through its JSON form (`$and[1].$not.tag.$in`);
        /// empty for the whole filter.
        at: String,
        reason: String,
    },

    #[error("collection '{name}' {}: {operation} is for {}",
        if *multi_vector { "holds token matrices (multi-vector)" } else { "holds one vector a record" },
        if *multi_vector { "one-vector collections" } else { "multi-vector collections" })]
    WrongCollectionKind {
        name: String,
        /// What the collection is.
        multi_vector: bool,
        operation: &'static str,
    },
    #[error("{} has an invalid token matrix: {reason}", at(*position))]
    InvalidMatrix {
        /// Index of the offending record in the batch; `None` for a query.
        position: Option<usize>,
        reason: String,
    },

    #[error(
        "a value of {size} bytes is too large to store (the file format's limit is about 3 GiB per value)"
    )]
    ValueTooLarge { size: usize },

    #[error("collection '{collection}' has a full-text index already; drop it first")]
    TextIndexExists { collection: String },
    #[error(
        "collection '{collection}' has no full-text index (create one with create_text_index / `quiver text-index`)"
    )]
    NoTextIndex { collection: String },
    #[error("invalid keyword query: {reason}")]
    InvalidKeywords { reason: String },

    /// A training pair given to hard-negative mining that cannot be mined (a positive the
    /// collection does not hold, no positive, a vector query for a keyword teacher).
    #[error("mining pair {pair}: {reason}")]
    InvalidPair { pair: usize, reason: String },

    #[error("internal error: {detail}")]
    Internal { detail: String },
}

/// What kind of failure an [`Error`] is: the coarse classes that callers branch on, each
/// mapped to exactly one C status code (`QUIVER_*`) and, later, one Python exception.
/// Every variant of [`Error`] has one (checked by the compiler: [`Error::kind`] has no
/// catch-all arm). Kinds are added only with a new major version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// No such database file or collection.
    NotFound,
    /// A collection with that name exists already.
    AlreadyExists,
    /// Bad input: an id, vector, payload, name, filter, text, parameter or file; nothing was
    /// changed.
    InvalidArgument,
    /// A vector's (or token's) dimension differs from the collection's.
    DimensionMismatch,
    /// The file is damaged; it is not trusted.
    Corrupted,
    /// The file is not a Quiver database.
    NotADatabase,
    /// The file's format version is newer than this build, or older and must be upgraded.
    Version,
    /// Another process held the database past the busy timeout.
    Locked,
    /// A write through a read-only handle.
    ReadOnly,
    /// An operating-system I/O error.
    Io,
    /// The embedding model cannot be used (files, identity, inference, no model).
    Model,
    /// A bug in Quiver.
    Internal,
}

impl Error {
    /// This error's kind.
    pub fn kind(&self) -> ErrorKind {
        use ErrorKind as K;
        match self {
            Error::NotFound { .. } | Error::CollectionNotFound { .. } => K::NotFound,
            Error::CollectionExists { .. } | Error::TextIndexExists { .. } => K::AlreadyExists,
            Error::InvalidCollectionName { .. }
            | Error::InvalidVector { .. }
            | Error::InvalidId { .. }
            | Error::InvalidPayload { .. }
            | Error::PayloadTooLarge { .. }
            | Error::InvalidParameter { .. }
            | Error::BadInputFile { .. }
            | Error::InvalidText { .. }
            | Error::InvalidFilter { .. }
            | Error::WrongCollectionKind { .. }
            | Error::InvalidMatrix { .. }
            | Error::ValueTooLarge { .. }
            | Error::NoTextIndex { .. }
            | Error::InvalidKeywords { .. }
            | Error::InvalidPair { .. } => K::InvalidArgument,
            Error::DimensionMismatch { .. } => K::DimensionMismatch,
            Error::Corrupted { .. } => K::Corrupted,
            Error::NotAQuiverDatabase { .. } => K::NotADatabase,
            Error::UnsupportedVersion { .. } | Error::UpgradeRequired { .. } => K::Version,
            Error::Locked { .. } => K::Locked,
            Error::ReadOnly { .. } => K::ReadOnly,
            Error::Io { .. } => K::Io,
            Error::InvalidModel { .. }
            | Error::ModelMismatch { .. }
            | Error::NoEmbedder { .. }
            | Error::Inference { .. } => K::Model,
            Error::Internal { .. } => K::Internal,
        }
    }
}

/// Why a vector was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum VectorProblem {
    #[error("component {index} is {value} (NaN and infinities are not allowed)")]
    NotFinite { index: usize, value: f32 },
    #[error("component {index} ({value}) is out of range for {element_type}")]
    OutOfRange {
        index: usize,
        value: f32,
        element_type: &'static str,
    },
    #[error("it is a zero vector, which has no direction under cosine")]
    ZeroNorm,
}

fn at(position: Option<usize>) -> String {
    match position {
        Some(p) => format!("record {p}"),
        None => "the query".to_owned(),
    }
}

fn filter_at(at: &str) -> String {
    if at.is_empty() {
        String::new()
    } else {
        format!(" at {at}")
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<StorageError> for Error {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::NotFound { path } => Error::NotFound { path },
            StorageError::Locked { path, holder } => Error::Locked { path, holder },
            StorageError::ReadOnly { path } => Error::ReadOnly { path },
            StorageError::NotAQuiverDatabase { path, detail } => {
                Error::NotAQuiverDatabase { path, detail }
            }
            StorageError::UnsupportedVersion { found, supported } => {
                Error::UnsupportedVersion { found, supported }
            }
            StorageError::UpgradeRequired { found, supported } => {
                Error::UpgradeRequired { found, supported }
            }
            StorageError::Corrupted { detail } => Error::Corrupted { detail },
            StorageError::Io { source } => Error::Io { source },
            StorageError::ValueTooLarge { size } => Error::ValueTooLarge { size },
            other => Error::Internal {
                detail: other.to_string(),
            },
        }
    }
}

impl Error {
    pub(crate) fn corrupted(detail: impl Into<String>) -> Self {
        Error::Corrupted {
            detail: detail.into(),
        }
    }
}
