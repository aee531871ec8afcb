//! Checking an agent's password, for the desktop's sign-in and the HTTP API alike: the
//! agent store's argon2id hash on a blocking thread, and wrong passwords counted per login
//! so that after the registrar's per-agent limit further tries are refused outright until
//! the window ends (no brute forcing a password through either door).

use crate::data::Store;
use crate::data::agents::{self, AgentRecord};
use crate::sip::registrar::limiter::FailureLimiter;
use std::sync::Mutex;
use std::time::Instant;
use tracing::info;

/// Why a password check did not let the agent in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Wrong login or password.
    Wrong,
    /// Too many wrong passwords for this login lately.
    Blocked,
    /// The agents' database could not be read.
    Unavailable,
}

/// The enabled agent `login` when `password` is theirs.
pub async fn check_password(
    store: &Store,
    failures: &Mutex<FailureLimiter<String>>,
    login: &str,
    password: &str,
) -> Result<AgentRecord, Refusal> {
    let now = Instant::now();
    let blocked = failures
        .lock()
        .map(|limits| limits.is_blocked(&login.to_string(), now))
        .unwrap_or(true);
    if blocked {
        return Err(Refusal::Blocked);
    }
    let (store, who, password) = (store.clone(), login.to_string(), password.to_string());
    let checked = tokio::task::spawn_blocking(move || {
        if agents::password_matches(&store, &who, &password)? {
            agents::find(&store, &who)
        } else {
            Ok(None)
        }
    })
    .await;
    match checked {
        Ok(Ok(Some(record))) if record.enabled => Ok(record),
        Ok(Ok(_)) => {
            info!(agent = %login, "wrong agent password");
            if let Ok(mut limits) = failures.lock() {
                limits.sweep(now);
                if limits.fail(&login.to_string(), now) {
                    info!(agent = %login, "agent's HTTP logins blocked for the failure window");
                }
            }
            Err(Refusal::Wrong)
        }
        _ => Err(Refusal::Unavailable),
    }
}
