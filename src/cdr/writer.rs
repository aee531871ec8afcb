//! The one CDR writer: a thread that owns the database connection for call records, so
//! every record goes through one place, in order, and no call ever waits on SQLite.
//!
//! Calls hand it their start and their end and go on. When the database cannot be
//! opened or written (a full disk, a read-only folder, a locked or broken file) the
//! records wait in memory, the writer says so loudly and tries again every few seconds,
//! and the figures in [`CdrStats`] count what is waiting; nothing is lost unless the
//! backlog outgrows its bound. The first thing it does with a database is close the calls
//! a previous run left open (a crash, `kill -9`) as "server stopped".

use super::db;
use super::record::{CallRecord, CallStart};
use crate::data::{DataError, Store};
use chrono::Utc;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};
use tracing::{error, info, warn};

/// How the writer behaves.
#[derive(Debug, Clone)]
pub struct WriterSettings {
    /// Records older than this are deleted (`None`: kept for ever).
    pub retention: Option<Duration>,
    /// How often the writer notes that it is alive (a crash's calls end at the last note).
    pub heartbeat: Duration,
    /// How long it waits before trying a database that failed again.
    pub retry: Duration,
    /// The most records kept in memory while the database is away.
    pub max_pending: usize,
}

impl Default for WriterSettings {
    fn default() -> Self {
        WriterSettings {
            retention: None,
            heartbeat: Duration::from_secs(10),
            retry: Duration::from_secs(2),
            max_pending: 100_000,
        }
    }
}

/// What the writer has done, for metrics and the log.
#[derive(Debug, Default)]
pub struct CdrStats {
    /// Call records (starts and ends) written.
    pub written: AtomicU64,
    /// Records waiting for the database right now.
    pub waiting: AtomicU64,
    /// Records dropped because the backlog was full: lost for good.
    pub dropped: AtomicU64,
    /// Calls a previous run left open, closed as "server stopped".
    pub recovered: AtomicU64,
    /// Failed attempts to open or write the database.
    pub failures: AtomicU64,
}

enum Op {
    Start(CallStart),
    Finish(Box<CallRecord>),
    Flush(mpsc::Sender<()>),
}

/// The handle calls use; cheap to clone. The thread ends once every handle is gone,
/// after a last attempt at writing what waits.
#[derive(Clone)]
pub struct CdrWriter {
    tx: mpsc::Sender<Op>,
    stats: Arc<CdrStats>,
}

impl std::fmt::Debug for CdrWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CdrWriter")
    }
}

impl CdrWriter {
    /// Starts the writer thread; `open` gives it the database (called again after a
    /// failure until it succeeds).
    pub fn start<F>(open: F, settings: WriterSettings) -> CdrWriter
    where
        F: FnMut() -> Result<Store, DataError> + Send + 'static,
    {
        let (tx, rx) = mpsc::channel();
        let stats = Arc::new(CdrStats::default());
        let worker = Worker {
            open: Box::new(open),
            settings,
            stats: stats.clone(),
            store: None,
            pending: VecDeque::new(),
            rows: HashMap::new(),
            flushes: Vec::new(),
            next_try: Instant::now(),
            next_beat: Instant::now(),
            next_purge: Instant::now(),
            complained: false,
        };
        let spawned = std::thread::Builder::new()
            .name("cdr-writer".into())
            .spawn(move || worker.run(rx));
        if let Err(err) = spawned {
            error!(error = %err, "the CDR writer cannot start: no call records will be kept");
        }
        CdrWriter { tx, stats }
    }

    /// A call started.
    pub fn call_started(&self, start: CallStart) {
        self.send(Op::Start(start));
    }

    /// A call ended.
    pub fn call_ended(&self, record: CallRecord) {
        self.send(Op::Finish(Box::new(record)));
    }

    /// Waits until everything handed over before is written, at most `timeout`; false
    /// when records still wait (the database is away).
    pub fn flush(&self, timeout: Duration) -> bool {
        let (done, wait) = mpsc::channel();
        self.send(Op::Flush(done));
        wait.recv_timeout(timeout).is_ok()
    }

    pub fn stats(&self) -> &Arc<CdrStats> {
        &self.stats
    }

    fn send(&self, op: Op) {
        if self.tx.send(op).is_err() {
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// A record waiting to be written.
enum Pending {
    Start(CallStart),
    Finish(Box<CallRecord>),
}

struct Worker {
    open: Box<dyn FnMut() -> Result<Store, DataError> + Send>,
    settings: WriterSettings,
    stats: Arc<CdrStats>,
    store: Option<Store>,
    pending: VecDeque<Pending>,
    /// The row of each call whose start is written and whose end is not.
    rows: HashMap<String, i64>,
    flushes: Vec<mpsc::Sender<()>>,
    /// When the database may be tried again after a failure.
    next_try: Instant,
    next_beat: Instant,
    next_purge: Instant,
    /// A failure has been reported and not yet followed by a success.
    complained: bool,
}

impl Worker {
    fn run(mut self, rx: mpsc::Receiver<Op>) {
        let mut closing = false;
        while !closing {
            let now = Instant::now();
            let wake = if self.pending.is_empty() {
                self.next_beat
            } else {
                self.next_try.min(self.next_beat)
            };
            match rx.recv_timeout(wake.saturating_duration_since(now)) {
                Ok(op) => self.accept(op),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => closing = true,
            }
            while let Ok(op) = rx.try_recv() {
                self.accept(op);
            }
            self.work(Instant::now(), closing);
        }
    }

    fn accept(&mut self, op: Op) {
        match op {
            Op::Start(start) => self.pending.push_back(Pending::Start(start)),
            Op::Finish(record) => self.pending.push_back(Pending::Finish(record)),
            Op::Flush(done) => self.flushes.push(done),
        }
        while self.pending.len() > self.settings.max_pending {
            // A start is the cheaper loss: the call's end writes the whole call.
            match self
                .pending
                .iter()
                .position(|p| matches!(p, Pending::Start(_)))
            {
                Some(i) => {
                    self.pending.remove(i);
                }
                None => {
                    self.pending.pop_front();
                    self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }

    fn work(&mut self, now: Instant, closing: bool) {
        let ready = closing || now >= self.next_try;
        if self.store.is_none() && ready {
            self.open_store(now);
        }
        if let Some(store) = self.store.clone()
            && (ready || self.pending.is_empty())
        {
            let beat = now >= self.next_beat || closing;
            if !self.pending.is_empty() || beat {
                match self.write(&store) {
                    Ok(()) => {
                        if self.complained {
                            info!("call records are being written again");
                            self.complained = false;
                        }
                        self.next_beat = now + self.settings.heartbeat;
                    }
                    Err(err) => self.failed(now, &err),
                }
            }
            if now >= self.next_purge {
                self.purge(&store);
                self.next_purge = now + Duration::from_secs(3600);
            }
        }
        self.stats
            .waiting
            .store(self.pending.len() as u64, Ordering::Relaxed);
        if self.pending.is_empty() {
            for done in self.flushes.drain(..) {
                let _ = done.send(());
            }
        }
    }

    fn open_store(&mut self, now: Instant) {
        let store = match (self.open)() {
            Ok(store) => store,
            Err(err) => return self.failed(now, &err),
        };
        match store.with(|c| db::recover(c, Utc::now())) {
            Ok(closed) => {
                if closed > 0 {
                    warn!(
                        calls = closed,
                        "calls left open by a server that stopped were closed as \"server stopped\""
                    );
                    self.stats
                        .recovered
                        .fetch_add(closed as u64, Ordering::Relaxed);
                }
                self.store = Some(store);
            }
            Err(err) => self.failed(now, &err),
        }
    }

    /// Writes every waiting record and the heartbeat in one transaction.
    fn write(&mut self, store: &Store) -> Result<(), DataError> {
        let pending = &self.pending;
        let rows = &self.rows;
        let (started, finished) = store.with(|conn| {
            let tx = conn.transaction()?;
            let mut started: Vec<(String, i64)> = Vec::new();
            let mut finished: Vec<String> = Vec::new();
            for record in pending {
                match record {
                    Pending::Start(start) => {
                        let row = db::insert_start(&tx, start)?;
                        started.push((start.call_id.clone(), row));
                    }
                    Pending::Finish(record) => {
                        let id = &record.start.call_id;
                        let row = started
                            .iter()
                            .rev()
                            .find(|(call, _)| call == id)
                            .map(|(_, row)| *row)
                            .or_else(|| rows.get(id).copied());
                        db::finish(&tx, row, record)?;
                        finished.push(id.clone());
                    }
                }
            }
            db::heartbeat(&tx, Utc::now())?;
            tx.commit()?;
            Ok((started, finished))
        })?;
        self.stats
            .written
            .fetch_add(self.pending.len() as u64, Ordering::Relaxed);
        self.pending.clear();
        self.rows.extend(started);
        for call in finished {
            self.rows.remove(&call);
        }
        Ok(())
    }

    fn purge(&mut self, store: &Store) {
        let Some(retention) = self.settings.retention else {
            return;
        };
        let Ok(age) = chrono::Duration::from_std(retention) else {
            return;
        };
        match store.with(|c| db::purge(c, Utc::now() - age)) {
            Ok(0) => {}
            Ok(n) => info!(calls = n, "call records past their retention deleted"),
            Err(err) => warn!(error = %err, "call records past their retention not deleted"),
        }
    }

    fn failed(&mut self, now: Instant, err: &DataError) {
        self.stats.failures.fetch_add(1, Ordering::Relaxed);
        self.next_try = now + self.settings.retry;
        if !self.complained {
            error!(
                error = %err,
                waiting = self.pending.len(),
                "call records cannot be written: they wait in memory and are retried"
            );
            self.complained = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cdr::record::Direction;
    use std::sync::Mutex;

    fn start(call: &str) -> CallStart {
        CallStart::new(call, Direction::Inbound, "1", "2", Utc::now())
    }

    fn end(start: CallStart) -> CallRecord {
        let at = start.started_at;
        CallRecord::unanswered(start, at, "caller hung up")
    }

    fn quick() -> WriterSettings {
        WriterSettings {
            retry: Duration::from_millis(20),
            ..WriterSettings::default()
        }
    }

    #[test]
    fn records_wait_while_the_database_is_away_and_are_written_once_it_opens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.db");
        let available = Arc::new(Mutex::new(false));
        let open = {
            let (path, available) = (path.clone(), available.clone());
            move || {
                if *available.lock().unwrap() {
                    Store::open(&path, Duration::from_secs(1))
                } else {
                    Err(DataError::Task("the disk is away".into()))
                }
            }
        };
        let writer = CdrWriter::start(open, quick());
        writer.call_started(start("a"));
        writer.call_ended(end(start("a")));
        assert!(
            !writer.flush(Duration::from_millis(200)),
            "nothing written yet"
        );
        assert_eq!(writer.stats().waiting.load(Ordering::Relaxed), 2);
        assert!(writer.stats().failures.load(Ordering::Relaxed) >= 1);
        *available.lock().unwrap() = true;
        assert!(writer.flush(Duration::from_secs(5)));
        assert_eq!(writer.stats().waiting.load(Ordering::Relaxed), 0);
        let store = Store::open(&path, Duration::from_secs(1)).unwrap();
        let rows = store.with(|c| db::show(c, "a")).unwrap();
        assert_eq!(rows.len(), 1, "one row for the call, not two");
        assert_eq!(rows[0].end_reason.as_deref(), Some("caller hung up"));
    }

    #[test]
    fn an_overfull_backlog_drops_starts_first_and_counts_only_real_losses() {
        let open = || Err(DataError::Task("away".into()));
        let writer = CdrWriter::start(
            open,
            WriterSettings {
                max_pending: 2,
                ..quick()
            },
        );
        writer.call_started(start("a"));
        writer.call_ended(end(start("a")));
        writer.call_ended(end(start("b")));
        assert!(!writer.flush(Duration::from_millis(100)));
        assert_eq!(writer.stats().waiting.load(Ordering::Relaxed), 2);
        assert_eq!(
            writer.stats().dropped.load(Ordering::Relaxed),
            0,
            "a start dropped loses nothing: the end writes the whole call"
        );
        writer.call_ended(end(start("c")));
        assert!(!writer.flush(Duration::from_millis(100)));
        assert_eq!(writer.stats().dropped.load(Ordering::Relaxed), 1);
    }
}
