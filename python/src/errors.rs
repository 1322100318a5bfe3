//! One Python exception per [`quiver::ErrorKind`], all under `quiver.Error`, each carrying the
//! engine's message. The mapping is the one table of docs/errors.md (C status, Python class).

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use quiver::ErrorKind;

create_exception!(quiver, Error, PyException, "Every error Quiver raises.");
create_exception!(
    quiver,
    NotFound,
    Error,
    "No such database file, collection or record."
);
create_exception!(
    quiver,
    AlreadyExists,
    Error,
    "A collection (or index) with that name exists."
);
create_exception!(
    quiver,
    InvalidArgument,
    Error,
    "Bad input (id, vector, payload, name, filter, text, parameter, file); nothing changed."
);
create_exception!(
    quiver,
    DimensionMismatch,
    Error,
    "A vector's dimension differs from the collection's."
);
create_exception!(
    quiver,
    Corrupted,
    Error,
    "The file is damaged; it is not trusted."
);
create_exception!(
    quiver,
    NotADatabase,
    Error,
    "The file is not a Quiver database."
);
create_exception!(
    quiver,
    VersionError,
    Error,
    "The file's format is newer than this build, or older and must be upgraded."
);
create_exception!(
    quiver,
    Locked,
    Error,
    "Another process held the database past the busy timeout (the message names the holder)."
);
create_exception!(
    quiver,
    ReadOnly,
    Error,
    "A write through a database opened read-only."
);
create_exception!(quiver, IoError, Error, "An operating-system I/O error.");
create_exception!(
    quiver,
    ModelError,
    Error,
    "The embedding or re-ranking model cannot be used."
);
create_exception!(quiver, InternalError, Error, "A bug in Quiver.");

/// The engine's error as the Python exception of its kind.
pub(crate) fn to_py(e: quiver::Error) -> PyErr {
    let message = e.to_string();
    match e.kind() {
        ErrorKind::NotFound => NotFound::new_err(message),
        ErrorKind::AlreadyExists => AlreadyExists::new_err(message),
        ErrorKind::InvalidArgument => InvalidArgument::new_err(message),
        ErrorKind::DimensionMismatch => DimensionMismatch::new_err(message),
        ErrorKind::Corrupted => Corrupted::new_err(message),
        ErrorKind::NotADatabase => NotADatabase::new_err(message),
        ErrorKind::Version => VersionError::new_err(message),
        ErrorKind::Locked => Locked::new_err(message),
        ErrorKind::ReadOnly => ReadOnly::new_err(message),
        ErrorKind::Io => IoError::new_err(message),
        ErrorKind::Model => ModelError::new_err(message),
        ErrorKind::Internal => InternalError::new_err(message),
    }
}

/// Bad input detected in the binding itself (a Python value of the wrong shape or type).
pub(crate) fn invalid(message: impl Into<String>) -> PyErr {
    InvalidArgument::new_err(message.into())
}

/// `Result<T, quiver::Error>` into `PyResult<T>`.
pub(crate) trait IntoPy<T> {
    fn py_err(self) -> PyResult<T>;
}

impl<T> IntoPy<T> for quiver::Result<T> {
    fn py_err(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("Error", py.get_type::<Error>())?;
    m.add("NotFound", py.get_type::<NotFound>())?;
    m.add("AlreadyExists", py.get_type::<AlreadyExists>())?;
    m.add("InvalidArgument", py.get_type::<InvalidArgument>())?;
    m.add("DimensionMismatch", py.get_type::<DimensionMismatch>())?;
    m.add("Corrupted", py.get_type::<Corrupted>())?;
    m.add("NotADatabase", py.get_type::<NotADatabase>())?;
    m.add("VersionError", py.get_type::<VersionError>())?;
    m.add("Locked", py.get_type::<Locked>())?;
    m.add("ReadOnly", py.get_type::<ReadOnly>())?;
    m.add("IoError", py.get_type::<IoError>())?;
    m.add("ModelError", py.get_type::<ModelError>())?;
    m.add("InternalError", py.get_type::<InternalError>())?;
    Ok(())
}
