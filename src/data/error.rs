//! Errors of the data layer. Messages name files, sources and SQLite's reason, never an
//! argument value (a lookup argument may be a PIN).

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The data directory could not be created.
    #[error("cannot create the data directory {path}: {source}")]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The database could not be opened, migrated or queried.
    #[error("database {path}: {source}")]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
    /// A configured source is unusable (bad SQL, bad URL...).
    #[error("data source `{source_name}`: {message}")]
    Source {
        source_name: String,
        message: String,
    },
    /// The database is newer than this program.
    #[error("database {path} has schema version {found}; this hotline knows up to {known}")]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    /// A blocking task panicked or was cancelled.
    #[error("database task failed: {0}")]
    Task(String),
    /// PIN hashing failed.
    #[error("PIN hashing failed: {0}")]
    Hash(String),
}
