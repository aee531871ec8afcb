//! Signed-in desktop sessions: a random token in the cookie names a session held here,
//! with the agent, their role, the CSRF token their page must echo on every change, and
//! the moment it expires. Held in memory: a restart signs everyone out, which a page
//! meets as a login form (the ACD's states are not touched by it).

use crate::data::agents::AgentRole;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

/// Sessions kept at most (the closest to expiring go first).
const MAX_SESSIONS: usize = 10_000;

/// One signed-in page's session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub login: String,
    pub display_name: String,
    pub role: AgentRole,
    /// What the page sends back in `X-CSRF-Token`.
    pub csrf: String,
    pub expires: Instant,
}

impl Session {
    /// Whether `offered` is this session's CSRF token (compared in constant time).
    pub fn csrf_matches(&self, offered: &str) -> bool {
        self.csrf.as_bytes().ct_eq(offered.as_bytes()).into()
    }

    pub fn is_supervisor(&self) -> bool {
        self.role == AgentRole::Supervisor
    }
}

/// The sessions, by token. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Sessions {
    inner: Arc<Mutex<HashMap<String, Session>>>,
}

fn random_token() -> String {
    format!(
        "{:032x}{:032x}",
        rand::random::<u128>(),
        rand::random::<u128>()
    )
}

impl Sessions {
    /// Opens a session for `login` lasting `ttl` from `now`; returns its token.
    pub fn open(
        &self,
        login: &str,
        display_name: &str,
        role: AgentRole,
        ttl: Duration,
        now: Instant,
    ) -> (String, Session) {
        let token = random_token();
        let session = Session {
            login: login.to_string(),
            display_name: display_name.to_string(),
            role,
            csrf: random_token(),
            expires: now + ttl,
        };
        let mut map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, s| s.expires > now);
        while map.len() >= MAX_SESSIONS {
            let oldest = map
                .iter()
                .min_by_key(|(_, s)| s.expires)
                .map(|(t, _)| t.clone());
            match oldest {
                Some(t) => map.remove(&t),
                None => break,
            };
        }
        map.insert(token.clone(), session.clone());
        (token, session)
    }

    /// The live session under `token` at `now`.
    pub fn get(&self, token: &str, now: Instant) -> Option<Session> {
        let map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        map.get(token).filter(|s| s.expires > now).cloned()
    }

    /// Ends the session under `token`.
    pub fn close(&self, token: &str) {
        let mut map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(token);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_lives_until_it_expires_or_is_closed() {
        let sessions = Sessions::default();
        let t0 = Instant::now();
        let ttl = Duration::from_secs(60);
        let (token, session) = sessions.open("alice", "Alice", AgentRole::Agent, ttl, t0);
        assert_eq!(token.len(), 64);
        assert_ne!(token, session.csrf, "the CSRF token is not the cookie");
        assert_eq!(sessions.get(&token, t0).as_ref(), Some(&session));
        assert_eq!(sessions.get(&token, t0 + ttl), None, "expired");
        assert_eq!(sessions.get("forged", t0), None);
        sessions.close(&token);
        assert_eq!(sessions.get(&token, t0), None, "closed");
    }

    #[test]
    fn the_csrf_token_must_match_exactly() {
        let sessions = Sessions::default();
        let (_, session) = sessions.open(
            "sue",
            "Sue",
            AgentRole::Supervisor,
            Duration::from_secs(5),
            Instant::now(),
        );
        assert!(session.csrf_matches(&session.csrf.clone()));
        assert!(!session.csrf_matches(""));
        assert!(!session.csrf_matches(&session.csrf[1..]));
        assert!(session.is_supervisor());
    }
}
