//! The registrar held for the server: the pure [`Registrar`] behind a short-lived lock
//! (no `.await` while holding it), randomness and the clock filled in, and every change
//! broadcast. The ACD shell keeps a clone and asks [`Registrations::contacts`] or
//! listens on [`Registrations::subscribe`].

use super::bindings::{ContactBinding, RegistrationEvent};
use super::config::RegistrarConfig;
use super::core::{AgentSecrets, RegisterDecision, RegisterRequest, Registrar};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;
use tokio::sync::broadcast;

/// Events kept for a listener that falls behind (it then sees `Lagged` and should
/// re-read [`Registrations::registered`]).
const EVENT_BACKLOG: usize = 1024;

/// Cheap to clone; every clone sees the same registrations.
#[derive(Clone)]
pub struct Registrations {
    inner: Arc<Mutex<Registrar>>,
    events: broadcast::Sender<RegistrationEvent>,
}

impl Registrations {
    pub fn new(config: &RegistrarConfig) -> Self {
        let (events, _) = broadcast::channel(EVENT_BACKLOG);
        Self {
            inner: Arc::new(Mutex::new(Registrar::new(config, rand::random()))),
            events,
        }
    }

    /// Is agent `login` registered (at least one live contact)?
    pub fn is_registered(&self, login: &str) -> bool {
        !self.contacts(login).is_empty()
    }

    /// Where agent `login`'s phones are: URI, transport and source address of each.
    pub fn contacts(&self, login: &str) -> Vec<ContactBinding> {
        self.lock().contacts(login, Instant::now())
    }

    /// Every agent with a live contact, sorted.
    pub fn registered(&self) -> Vec<String> {
        self.lock().registered(Instant::now())
    }

    /// Phones coming and going, from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<RegistrationEvent> {
        self.events.subscribe()
    }

    /// The first step of a REGISTER (see [`Registrar::begin`]).
    pub fn begin(&self, request: &RegisterRequest) -> RegisterDecision {
        self.lock().begin(request, Instant::now(), rand::random())
    }

    /// The second step, once the agent's secrets were read; announces binding changes.
    pub fn finish(&self, request: &RegisterRequest, secrets: &AgentSecrets) -> RegisterDecision {
        let decision = self
            .lock()
            .finish(request, secrets, Instant::now(), rand::random());
        if let RegisterDecision::Registered { events, .. } = &decision {
            self.announce(events.iter().cloned());
        }
        decision
    }

    /// Drops expired bindings and announces them; the server calls it every second.
    pub fn expire(&self) {
        let gone = self.lock().expire(Instant::now());
        self.announce(gone);
    }

    fn announce(&self, events: impl IntoIterator<Item = RegistrationEvent>) {
        for event in events {
            // No listener yet is fine: the state is still readable through `contacts`.
            let _ = self.events.send(event);
        }
    }

    fn lock(&self) -> MutexGuard<'_, Registrar> {
        // The registrar's maps stay consistent across a panic in a caller; keep serving.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Transport;
    use crate::sip::registrar::bindings::ContactSet;

    #[test]
    fn a_fresh_handle_knows_no_agent_and_listeners_can_subscribe() {
        let registrations = Registrations::new(&RegistrarConfig::default());
        let mut events = registrations.subscribe();
        assert!(!registrations.is_registered("alice"));
        assert!(registrations.registered().is_empty());
        let request = RegisterRequest {
            login: "alice".into(),
            call_id: "c".into(),
            cseq: 1,
            source: "127.0.0.1:5070".parse().unwrap(),
            transport: Transport::Udp,
            contacts: ContactSet::List(vec![]),
            expires: None,
            authorizations: vec![],
        };
        assert!(matches!(
            registrations.begin(&request),
            RegisterDecision::Challenge { .. }
        ));
        registrations.expire();
        assert!(events.try_recv().is_err(), "nothing happened");
    }
}
