//! One fetch per model directory at a time, across processes. Servers started together on a
//! fresh directory (test servers, a supervisor restarting several instances) would each
//! download and convert the same model; instead the first takes an exclusive lock on a file
//! beside the models and fetches, and the others wait on that lock and then use the file it
//! installed. The lock only saves work: installs are atomic renames, so a file under its
//! final name is always whole, with or without it.

use std::fs::{self, File, TryLockError};
use std::path::{Path, PathBuf};

use super::catalog::ModelError;

/// The lock file's name in the model directory (hidden: `hotline models list` ignores it).
pub const LOCK_FILE: &str = ".fetch.lock";

/// Who put the model file in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Installed {
    /// This caller ran the fetch.
    Fetched(PathBuf),
    /// Another process (or thread) installed it while this one waited for the lock.
    ByAnother(PathBuf),
}

/// Runs `fetch` with the directory's fetch lock held, unless `path` exists once the lock is
/// taken. A directory that cannot be locked (a filesystem without locks) is fetched into
/// without one, as before the lock existed.
pub fn fetch_unless_present(
    dir: &Path,
    path: &Path,
    fetch: impl FnOnce() -> Result<PathBuf, ModelError>,
) -> Result<Installed, ModelError> {
    fs::create_dir_all(dir).map_err(ModelError::io(format!("creating {}", dir.display())))?;
    let lock_path = dir.join(LOCK_FILE);
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(ModelError::io(format!("opening {}", lock_path.display())))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            tracing::info!(dir = %dir.display(), "another process is fetching the model: waiting for it");
            if let Err(e) = lock.lock() {
                tracing::warn!(lock = %lock_path.display(), "cannot wait for the fetch lock ({e}): fetching without it");
            }
        }
        Err(TryLockError::Error(e)) => {
            tracing::warn!(lock = %lock_path.display(), "cannot take the fetch lock ({e}): fetching without it");
        }
    }
    if path.exists() {
        return Ok(Installed::ByAnother(path.to_path_buf()));
    }
    // The lock is released when `lock` is dropped, after the fetch has renamed its file.
    let fetched = fetch()?;
    drop(lock);
    Ok(Installed::Fetched(fetched))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Barrier};
    use std::time::Duration;

    #[test]
    fn of_several_callers_on_a_missing_model_only_one_fetches() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.bin");
        let fetches = Arc::new(AtomicUsize::new(0));
        let start = Arc::new(Barrier::new(4));
        let callers: Vec<_> = (0..4)
            .map(|_| {
                let (dir, path, fetches, start) = (
                    dir.path().to_path_buf(),
                    path.clone(),
                    fetches.clone(),
                    start.clone(),
                );
                std::thread::spawn(move || {
                    start.wait();
                    fetch_unless_present(&dir, &path, || {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        // Long enough for the others to reach the lock while this one holds it.
                        std::thread::sleep(Duration::from_millis(200));
                        let partial = dir.join("model.bin.partial");
                        fs::write(&partial, b"weights").unwrap();
                        fs::rename(&partial, &path).unwrap();
                        Ok(path.clone())
                    })
                })
            })
            .collect();
        let results: Vec<Installed> = callers
            .into_iter()
            .map(|c| c.join().unwrap().unwrap())
            .collect();
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        let fetched = results
            .iter()
            .filter(|r| matches!(r, Installed::Fetched(_)))
            .count();
        assert_eq!(fetched, 1, "{results:?}");
        assert!(results.iter().all(|r| match r {
            Installed::Fetched(p) | Installed::ByAnother(p) => p == &path,
        }));
        assert_eq!(fs::read(&path).unwrap(), b"weights");
    }

    #[test]
    fn a_failed_fetch_releases_the_lock_for_the_next_caller() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.bin");
        let failed = fetch_unless_present(dir.path(), &path, || {
            Err(ModelError::Pip("no network".into()))
        });
        assert!(matches!(failed, Err(ModelError::Pip(_))), "{failed:?}");
        let lock = File::options()
            .write(true)
            .open(dir.path().join(LOCK_FILE))
            .unwrap();
        assert!(lock.try_lock().is_ok(), "the lock is still held");
        drop(lock);
        assert!(!path.exists());
    }

    #[test]
    fn a_model_already_there_is_not_fetched_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.bin");
        fs::write(&path, b"weights").unwrap();
        let got = fetch_unless_present(dir.path(), &path, || panic!("fetched again")).unwrap();
        assert_eq!(got, Installed::ByAnother(path));
    }
}
