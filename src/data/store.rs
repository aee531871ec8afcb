//! The embedded SQLite database: opened (and created) in the data directory, migrated to
//! the current schema, and shared by every call. SQLite calls block, so async callers go
//! through [`Store::run`], which moves the work to tokio's blocking threads.

use super::error::DataError;
use super::migrations::MIGRATIONS;
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// A migrated database, cheap to clone.
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({})", self.path.display())
    }
}

impl Store {
    /// Opens `path` (creating its folder and the file), applies pending migrations.
    pub fn open(path: &Path, busy_timeout: Duration) -> Result<Store, DataError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| DataError::Dir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let sqlite = |source| DataError::Sqlite {
            path: path.to_path_buf(),
            source,
        };
        let mut conn = Connection::open(path).map_err(sqlite)?;
        conn.busy_timeout(busy_timeout).map_err(sqlite)?;
        // Reading the schema first turns a corrupt or foreign file into a clear error here.
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        })
        .map_err(sqlite)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(sqlite)?;
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(sqlite)?;
        migrate(&mut conn, path)?;
        Ok(Store {
            conn: Arc::new(Mutex::new(conn)),
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `work` on the connection, blocking the current thread.
    pub fn with<T>(
        &self,
        work: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T, DataError> {
        let mut conn = self.lock();
        work(&mut conn).map_err(|source| DataError::Sqlite {
            path: self.path.clone(),
            source,
        })
    }

    /// Runs `work` on a blocking thread, for async callers.
    pub async fn run<T, F>(&self, work: F) -> Result<T, DataError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.with(work))
            .await
            .map_err(|e| DataError::Task(e.to_string()))?
    }

    /// The schema version (`PRAGMA user_version`).
    pub fn schema_version(&self) -> Result<i64, DataError> {
        self.with(|c| c.query_row("PRAGMA user_version", [], |r| r.get(0)))
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite itself consistent (transactions roll
        // back on drop), so a poisoned lock is still usable.
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn migrate(conn: &mut Connection, path: &Path) -> Result<(), DataError> {
    let sqlite = |source| DataError::Sqlite {
        path: path.to_path_buf(),
        source,
    };
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(sqlite)?;
    let known = MIGRATIONS.len() as i64;
    if version > known {
        return Err(DataError::TooNew {
            path: path.to_path_buf(),
            found: version,
            known,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction().map_err(sqlite)?;
        tx.execute_batch(sql).map_err(sqlite)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)
            .map_err(sqlite)?;
        tx.commit().map_err(sqlite)?;
        tracing::info!(database = %path.display(), version = i + 1, "database migrated");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_folder_and_migrates_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/hotline.db");
        let store = Store::open(&path, Duration::from_millis(100)).unwrap();
        assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len() as i64);
        store
            .with(|c| c.execute("INSERT INTO customers (name) VALUES ('x')", []))
            .unwrap();
        drop(store);
        let again = Store::open(&path, Duration::from_millis(100)).unwrap();
        let n: i64 = again
            .with(|c| c.query_row("SELECT count(*) FROM customers", [], |r| r.get(0)))
            .unwrap();
        assert_eq!(n, 1, "reopening keeps the data");
    }

    #[test]
    fn corrupt_and_newer_files_are_refused_with_their_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.db");
        std::fs::write(&path, vec![0x42u8; 4096]).unwrap();
        let err = Store::open(&path, Duration::from_millis(100))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("bad.db") && err.contains("not a database"),
            "{err}"
        );

        let newer = dir.path().join("newer.db");
        let conn = Connection::open(&newer).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        assert!(matches!(
            Store::open(&newer, Duration::from_millis(100)),
            Err(DataError::TooNew { found: 99, .. })
        ));
    }
}
