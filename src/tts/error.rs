//! Why a text could not be spoken. Messages name the program and the cache file, never
//! the text (a text may carry a customer's name).

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum TtsError {
    /// The cache folder could not be created or written.
    #[error("text-to-speech cache {path}: {source}")]
    Cache {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Nothing to say once control characters and spaces are taken out.
    #[error("the text is empty")]
    Empty,
    /// Longer than `max_chars`.
    #[error("the text has {chars} characters; at most {max} are sent to text-to-speech")]
    TooLong { chars: usize, max: usize },
    /// The program could not be started.
    #[error("cannot run {program}: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    /// The program ran longer than `timeout_ms` and was killed.
    #[error("{program} did not finish within {ms} ms (killed)")]
    Timeout { program: String, ms: u64 },
    /// The program failed.
    #[error("{program} exited with {status}: {stderr}")]
    Failed {
        program: String,
        status: String,
        stderr: String,
    },
    /// The program's output is not a usable WAV file.
    #[error("{program} wrote no usable WAV: {reason}")]
    BadOutput { program: String, reason: String },
    /// A blocking task was lost.
    #[error("text-to-speech task failed: {0}")]
    Task(String),
}
