//! Call detail records: one row per call and one per leg, in the embedded database,
//! written by one writer thread (`writer`) even when a call ends badly, with what a crash
//! left open closed as "server stopped" at the next start. The call machine fills the
//! record (`record`); `db` holds the tables' queries; `export` turns rows into CSV and
//! JSON for `hotline cdr`.

pub mod config;
pub mod db;
pub mod export;
pub mod record;
pub mod writer;

pub use config::CdrConfig;
pub use record::{CallRecord, CallStart, Direction, LegKind, LegRecord};
pub use writer::{CdrStats, CdrWriter, WriterSettings};
