//! The one listener between the ACD and the desktops: it joins the ACD's updates with the
//! contexts calls post, so an offer reaches the page with its context card, remembers each
//! agent's latest offer (a page that reconnects mid-call gets its card back), and counts
//! each agent's open pages so that an agent whose pages are all gone for a while is put
//! away instead of being offered calls nobody sees.

use crate::acd::{AcdHandle, AcdUpdate, AgentId, AgentState, ContextBoard, ContextPosted};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::broadcast;
use tracing::{info, warn};

/// The reason an agent whose desktop went away is put away with.
pub const PAGE_GONE: &str = "desktop closed";

/// What a desktop is sent, for whom.
#[derive(Debug, Clone)]
pub struct DeskEvent {
    /// The agent it concerns (an agent's page gets only their own).
    pub agent: AgentId,
    /// The message, as sent.
    pub message: Value,
}

/// An offer the ACD made, waiting for its context.
struct Pending {
    call: String,
    queue: String,
    ring_timeout: Duration,
    decided_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Default)]
struct Book {
    pending: HashMap<AgentId, Pending>,
    /// Each agent's latest offer message.
    offers: HashMap<AgentId, Value>,
    /// Open pages per agent.
    pages: HashMap<AgentId, usize>,
}

/// The hub's shared side. Cheap to clone.
#[derive(Clone)]
pub struct Hub {
    events: broadcast::Sender<DeskEvent>,
    book: Arc<Mutex<Book>>,
}

fn rfc3339(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl Hub {
    /// Starts listening to `acd` and `contexts`.
    pub fn start(acd: AcdHandle, contexts: Arc<ContextBoard>) -> Hub {
        let (events, _) = broadcast::channel(4096);
        let hub = Hub {
            events,
            book: Arc::default(),
        };
        tokio::spawn(hub.clone().run(acd, contexts));
        hub
    }

    pub fn subscribe(&self) -> broadcast::Receiver<DeskEvent> {
        self.events.subscribe()
    }

    /// The latest offer made to `agent`, if any.
    pub fn last_offer(&self, agent: &AgentId) -> Option<Value> {
        self.book().offers.get(agent).cloned()
    }

    fn book(&self) -> std::sync::MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A page of `agent`'s opened.
    pub fn page_opened(&self, agent: &AgentId) {
        *self.book().pages.entry(agent.clone()).or_default() += 1;
    }

    /// A page of `agent`'s closed; their last one starts the grace period.
    pub fn page_closed(&self, agent: &AgentId, acd: &AcdHandle, grace: Duration) {
        let left = {
            let mut book = self.book();
            let count = book.pages.entry(agent.clone()).or_default();
            *count = count.saturating_sub(1);
            *count
        };
        if left > 0 {
            return;
        }
        let (hub, acd, agent) = (self.clone(), acd.clone(), agent.clone());
        tokio::spawn(async move {
            tokio::time::sleep(grace).await;
            if hub.book().pages.get(&agent).copied().unwrap_or(0) > 0 {
                return;
            }
            let view = acd.agents().await.unwrap_or_default();
            let available = view
                .iter()
                .any(|v| v.agent == agent && v.state == AgentState::Available);
            if available {
                info!(%agent, "every desktop page of the agent is gone: away");
                acd.report(crate::acd::AcdEvent::AgentAway {
                    agent,
                    reason: PAGE_GONE.into(),
                });
            }
        });
    }

    async fn run(self, acd: AcdHandle, contexts: Arc<ContextBoard>) {
        let mut updates = acd.subscribe();
        let mut posted = contexts.subscribe();
        loop {
            tokio::select! {
                // The ACD's offer goes out before the call posts its context: read it first.
                biased;
                update = updates.recv() => match update {
                    Ok(update) => self.on_update(update),
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        warn!(missed, "the desktops missed ACD updates");
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                post = posted.recv() => match post {
                    Ok(post) => self.on_posted(&contexts, post),
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        warn!(missed, "the desktops missed offered contexts");
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
            }
        }
    }

    fn on_update(&self, update: AcdUpdate) {
        match update {
            AcdUpdate::Agent { view, decided_at } => {
                let agent = view.agent.clone();
                let message = json!({
                    "type": "agent",
                    "agent": view,
                    "since": view.since,
                    "decided_at": rfc3339(decided_at),
                });
                let _ = self.events.send(DeskEvent { agent, message });
            }
            AcdUpdate::Offered {
                agent,
                call,
                queue,
                ring_timeout,
                decided_at,
            } => {
                self.book().pending.insert(
                    agent,
                    Pending {
                        call: call.0,
                        queue,
                        ring_timeout,
                        decided_at,
                    },
                );
            }
        }
    }

    fn on_posted(&self, contexts: &ContextBoard, post: ContextPosted) {
        let context = contexts
            .read(&post.token, &post.agent, Instant::now())
            .ok()
            .and_then(|text| serde_json::from_str::<Value>(&text).ok())
            .unwrap_or(Value::Null);
        let mut book = self.book();
        let pending = book
            .pending
            .remove(&post.agent)
            .filter(|p| p.call == post.call);
        let (queue, ring_timeout, offered_at) = match pending {
            Some(p) => (p.queue, p.ring_timeout.as_secs(), p.decided_at),
            None => (String::new(), 0, chrono::Utc::now()),
        };
        let message = json!({
            "type": "offer",
            "call": post.call,
            "queue": queue,
            "ring_timeout_secs": ring_timeout,
            "offered_at": rfc3339(offered_at),
            "token": post.token,
            "context": context,
        });
        book.offers.insert(post.agent.clone(), message.clone());
        drop(book);
        let _ = self.events.send(DeskEvent {
            agent: post.agent,
            message,
        });
    }
}
