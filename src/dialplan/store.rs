//! The running dialplan of a server, swapped atomically on reload. A changed file is
//! loaded and checked first: a broken one is refused (its diagnostics returned for the
//! log) and the running version stays. Calls hold an `Arc<Dialplan>` from `current()`,
//! so a call in progress finishes on the version it started with.

use super::checker::CheckOptions;
use super::diagnostic::Report;
use super::loader::load_path_with;
use super::plan::Dialplan;
use arc_swap::ArcSwap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why a reload was refused.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error("{} has {} errors; the running version stays", .0.file, .0.errors().count())]
    Invalid(Report),
}

impl ReloadError {
    pub fn report(&self) -> &Report {
        match self {
            ReloadError::Invalid(report) => report,
        }
    }
}

/// One dialplan file, loaded and swappable.
pub struct DialplanStore {
    path: PathBuf,
    current: ArcSwap<Dialplan>,
    /// What every load is checked against (the server's configured queues).
    options: CheckOptions,
}

impl DialplanStore {
    /// Loads the file; fails with its diagnostics if it has errors.
    pub fn open(path: &Path) -> Result<(Self, Report), ReloadError> {
        Self::open_with(path, CheckOptions::default())
    }

    /// [`open`](Self::open), checking this load and every reload against `options`
    /// (a transfer to a queue the server does not configure is refused).
    pub fn open_with(path: &Path, options: CheckOptions) -> Result<(Self, Report), ReloadError> {
        let (plan, report) = load_path_with(path, &options).map_err(ReloadError::Invalid)?;
        let store = DialplanStore {
            path: path.to_path_buf(),
            current: ArcSwap::from_pointee(plan),
            options,
        };
        Ok((store, report))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The version new calls should use.
    pub fn current(&self) -> Arc<Dialplan> {
        self.current.load_full()
    }

    /// Loads the file again and swaps it in if it is free of errors. Returns the new
    /// version's warnings, or the errors that kept the old version running.
    pub fn reload(&self) -> Result<Report, ReloadError> {
        let (plan, report) =
            load_path_with(&self.path, &self.options).map_err(ReloadError::Invalid)?;
        self.current.store(Arc::new(plan));
        Ok(report)
    }
}
