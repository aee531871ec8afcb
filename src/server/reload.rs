//! Hot reload of the dialplan: the file is polled for changes (and SIGHUP forces a check);
//! a changed file is loaded and checked, then swapped in atomically, or refused with its
//! errors logged while the running version stays. Calls in progress keep the version they
//! started with (they hold their own `Arc<Dialplan>`).

use crate::dialplan::DialplanStore;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

fn modified(store: &DialplanStore) -> Option<SystemTime> {
    std::fs::metadata(store.path())
        .and_then(|m| m.modified())
        .ok()
}

/// Starts the watcher task.
pub fn watch(store: Arc<DialplanStore>, interval_ms: u64, stop: CancellationToken) {
    tokio::spawn(async move {
        let mut hangup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        {
            Ok(signal) => Some(signal),
            Err(err) => {
                warn!(error = %err, "SIGHUP reloads are unavailable");
                None
            }
        };
        let mut seen = modified(&store);
        let polling = interval_ms > 0;
        let mut tick = tokio::time::interval(Duration::from_millis(interval_ms.max(100)));
        loop {
            let forced = tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick(), if polling => false,
                Some(()) = async { match hangup.as_mut() { Some(h) => h.recv().await, None => None } } => true,
            };
            let now = modified(&store);
            if !forced && now == seen {
                continue;
            }
            seen = now;
            reload(&store);
        }
    });
}

fn reload(store: &DialplanStore) {
    let path = store.path().display().to_string();
    match store.reload() {
        Ok(report) => {
            for warning in &report.diagnostics {
                warn!(dialplan = %path, "{}", warning.message);
            }
            info!(dialplan = %path, "dialplan reloaded");
        }
        Err(err) => {
            error!(dialplan = %path, "dialplan change refused; the running version stays:\n{}", err.report().render());
        }
    }
}
