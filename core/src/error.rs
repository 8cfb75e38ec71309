//! The one error type of the engine.
//!
//! Every fallible operation of kevo returns [`Result<T>`]. The enum is `#[non_exhaustive]` so
//! that new failure kinds can be added without breaking callers that `match` on it (the same
//! choice fjall's `lsm-tree` makes).

use std::path::PathBuf;

/// A kevo result: `Ok(T)` or an [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// What went wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system I/O call failed (ENOSPC, EIO, permission denied, ...).
    ///
    /// `context` names the operation and the file, e.g. `"append to /db/000012.log"`.
    #[error("I/O error: {context}: {source}")]
    Io {
        /// The operation and file that failed.
        context: String,
        /// The underlying OS error.
        #[source]
        source: std::io::Error,
    },

    /// Stored data failed a check: a checksum mismatch, a bad magic number, a length that
    /// points past the end of a block, an unknown record type.
    ///
    /// kevo never returns data that failed such a check.
    #[error("corruption in {file} at offset {offset}: {detail}")]
    Corruption {
        /// The file (path or name) that holds the bad bytes.
        file: String,
        /// Byte offset in that file where the bad data starts (best known position).
        offset: u64,
        /// What check failed.
        detail: String,
    },

    /// The caller passed something kevo cannot accept: an empty key, a key over
    /// [`MAX_KEY_SIZE`](crate::MAX_KEY_SIZE), an option out of range or incompatible with the
    /// options the database was created with.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// The database directory is already open, by this process or another (the `LOCK` file
    /// is held).
    #[error("database at {0} is locked by another open handle or process")]
    Locked(PathBuf),

    /// The handle was closed with [`Db::close`](crate::Db::close), or the engine stopped after
    /// a fatal background error.
    #[error("database is closed")]
    Closed,

    /// The database directory does not exist (and `create_if_missing` is false), or a file
    /// the manifest names is missing.
    #[error("not found: {0}")]
    NotFound(String),

    /// A background job (flush, compaction) failed; the database is read-only until reopened.
    /// The message is the original error's.
    #[error("background error, database is read-only: {0}")]
    Background(String),

    /// A transaction could not commit: since its snapshot, another commit wrote a key it
    /// wrote (or, when serializable, a key or range it read). Nothing of the transaction was
    /// written; retry it from the start. The message names the first conflicting key.
    #[error("transaction conflict: {0}")]
    Conflict(String),

    /// A write (or flush, compaction, checkpoint into the database's own directory) was
    /// asked of a handle opened read-only ([`Options::read_only`](crate::Options)). The
    /// message names the refused operation. Nothing was written.
    #[error("database is open read-only: {0}")]
    ReadOnly(String),
}

impl Error {
    /// An [`Error::Io`] with a context string.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// An [`Error::Corruption`] for `file` at `offset`.
    pub fn corruption(file: impl Into<String>, offset: u64, detail: impl Into<String>) -> Error {
        Error::Corruption {
            file: file.into(),
            offset,
            detail: detail.into(),
        }
    }

    /// An equal error (errors hold `io::Error`, which is not `Clone`): used where one failure
    /// must be reported to several callers, such as every writer of a commit group.
    pub fn duplicate(&self) -> Error {
        match self {
            Error::Io { context, source } => Error::Io {
                context: context.clone(),
                source: match source.raw_os_error() {
                    Some(code) => std::io::Error::from_raw_os_error(code),
                    None => std::io::Error::new(source.kind(), source.to_string()),
                },
            },
            Error::Corruption {
                file,
                offset,
                detail,
            } => Error::Corruption {
                file: file.clone(),
                offset: *offset,
                detail: detail.clone(),
            },
            Error::InvalidArgument(m) => Error::InvalidArgument(m.clone()),
            Error::Locked(p) => Error::Locked(p.clone()),
            Error::Closed => Error::Closed,
            Error::NotFound(m) => Error::NotFound(m.clone()),
            Error::Background(m) => Error::Background(m.clone()),
            Error::Conflict(m) => Error::Conflict(m.clone()),
            Error::ReadOnly(m) => Error::ReadOnly(m.clone()),
        }
    }

    /// True for [`Error::Corruption`].
    pub fn is_corruption(&self) -> bool {
        matches!(self, Error::Corruption { .. })
    }
}
