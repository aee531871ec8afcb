//! The ACD's owner task: the one place that holds the [`Acd`] value. It feeds it the
//! requests of calls and of the HTTP API, the registrar's events and the time, and
//! carries out its decisions: a notice to the call concerned, an agent's registered
//! contacts looked up for an offer, a queue record logged. One task, so every routing
//! decision is atomic; the rules themselves are all in `crate::acd`.
//!
//! A plain SIP phone logs its agent in by registering: the first contact an agent
//! registers (since the server started, or since their last contact went) logs them in,
//! available, to the configured queues named among their skills. Logging out over HTTP
//! keeps them out until they log in again or their phone registers anew.

use crate::acd::envelope::ContextEnvelope;
use crate::acd::{
    Acd, AcdConfig, AcdEvent, AcdHandle, AcdRequest, AgentContact, AgentId, AgentView,
    CallbackOrder, CallbackTarget, Decision, Ignored, OfferReach, QueueNotice, QueueRecord,
    QueuedCallId,
};
use crate::data::{Store, agents, queue_events};
use crate::sip::registrar::{RegistrationEvent, Registrations};
use chrono::Utc;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, OnceLock};
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

/// What the owner task needs besides its configuration.
pub struct AcdService {
    config: AcdConfig,
    acd: Acd,
    /// Each queued call's way back.
    calls: HashMap<QueuedCallId, mpsc::UnboundedSender<QueueNotice>>,
    /// Every agent the ACD has heard of (its store has no listing).
    agents: BTreeSet<AgentId>,
    /// Agents with at least one registered contact.
    reachable: BTreeSet<String>,
    /// Agents who logged out over HTTP while their phone stayed registered.
    logged_out_by_hand: BTreeSet<String>,
    registrations: Option<Registrations>,
    store: Option<Store>,
    /// Queue records on their way to the database.
    records: Option<mpsc::UnboundedSender<QueueRecord>>,
    /// Callers waiting off the line: where to call them back, and their context.
    callbacks: HashMap<QueuedCallId, Callback>,
    /// Where callback calls are placed (the server's callback task).
    orders: mpsc::UnboundedSender<CallbackOrder>,
    /// Where updates for desktops and wallboards go.
    desk: AcdHandle,
    /// When each agent entered their present state.
    since: HashMap<AgentId, chrono::DateTime<Utc>>,
}

/// A caller who asked to be called back.
struct Callback {
    target: CallbackTarget,
    envelope: Box<ContextEnvelope>,
    ticket: Arc<OnceLock<i64>>,
}

impl AcdService {
    /// Starts the owner task; it ends with `stop`. Callback calls to place come out of
    /// the receiver.
    pub fn start(
        config: &AcdConfig,
        registrations: Option<Registrations>,
        store: Option<Store>,
        stop: CancellationToken,
    ) -> (AcdHandle, mpsc::UnboundedReceiver<CallbackOrder>) {
        let (handle, requests) = AcdHandle::channel();
        let (orders, placed) = mpsc::unbounded_channel();
        let events = registrations.as_ref().map(Registrations::subscribe);
        let service = AcdService {
            config: config.clone(),
            acd: Acd::new(config),
            calls: HashMap::new(),
            agents: BTreeSet::new(),
            reachable: BTreeSet::new(),
            logged_out_by_hand: BTreeSet::new(),
            records: store.clone().map(start_writer),
            callbacks: HashMap::new(),
            orders,
            registrations,
            store,
            desk: handle.clone(),
            since: HashMap::new(),
        };
        tokio::spawn(service.run(requests, events, stop));
        (handle, placed)
    }

    async fn run(
        mut self,
        mut requests: mpsc::UnboundedReceiver<AcdRequest>,
        mut registrations: Option<broadcast::Receiver<RegistrationEvent>>,
        stop: CancellationToken,
    ) {
        loop {
            let deadline = self.acd.next_deadline().map(|at| {
                let wait = (at - Utc::now()).to_std().unwrap_or_default();
                tokio::time::Instant::now() + wait
            });
            tokio::select! {
                biased;
                _ = stop.cancelled() => return,
                request = requests.recv() => match request {
                    Some(request) => self.on_request(request).await,
                    None => return,
                },
                event = next_registration(&mut registrations) => match event {
                    Some(event) => self.on_registration(event).await,
                    None => registrations = None,
                },
                _ = sleep_until(deadline), if deadline.is_some() => self.feed(AcdEvent::Tick),
            }
        }
    }

    async fn on_request(&mut self, request: AcdRequest) {
        match request {
            AcdRequest::Enqueue { arrival, notices } => {
                self.calls.insert(arrival.call.clone(), notices);
                self.feed(AcdEvent::Enqueue(arrival));
            }
            AcdRequest::Event(event) => {
                let ended = match &event {
                    AcdEvent::CallerHungUp { call } | AcdEvent::CallEnded { call } => {
                        Some(call.clone())
                    }
                    _ => None,
                };
                if let AcdEvent::AgentLoggedOut { agent } = &event {
                    self.logged_out_by_hand.insert(agent.0.clone());
                }
                self.feed(event);
                if let Some(call) = ended
                    && self.acd.entry(&call).is_none()
                {
                    self.callbacks.remove(&call);
                    self.calls.remove(&call);
                }
            }
            AcdRequest::Callback {
                call,
                target,
                envelope,
                ticket,
            } => {
                let decisions = self.acd.handle(
                    AcdEvent::CallbackRequested { call: call.clone() },
                    Utc::now(),
                );
                let refused = decisions.iter().any(|d| {
                    matches!(
                        d,
                        Decision::Ignored(
                            Ignored::CallbackNotAllowed { .. }
                                | Ignored::NotNow { .. }
                                | Ignored::UnknownCall { .. }
                        )
                    )
                });
                if refused {
                    self.notify(&call, QueueNotice::CallbackRefused);
                } else {
                    info!(%call, caller = %target.caller, "callback requested");
                    self.callbacks.insert(
                        call.clone(),
                        Callback {
                            target,
                            envelope,
                            ticket,
                        },
                    );
                    self.notify(&call, QueueNotice::CallbackAccepted);
                    // The caller's own call ends now: its channel goes.
                    self.calls.remove(&call);
                }
                for decision in decisions {
                    self.carry_out(decision);
                }
            }
            AcdRequest::LogIn { agent, skills } => {
                self.logged_out_by_hand.remove(&agent.0);
                self.log_in(agent, skills);
            }
            AcdRequest::Decline { call, agent } => {
                let ringing = self
                    .acd
                    .entry(&call)
                    .is_some_and(|e| e.offered_to() == Some(&agent));
                if ringing {
                    info!(%call, %agent, "offer declined on the desktop");
                    // The leg first, so a new offer this decline leads to is not cancelled.
                    self.notify(
                        &call,
                        QueueNotice::CancelOffer {
                            agent: agent.clone(),
                        },
                    );
                    self.feed(AcdEvent::OfferFailed {
                        call,
                        agent,
                        cause: crate::acd::LegFailure::Declined,
                    });
                }
            }
            AcdRequest::Figures(reply) => {
                let _ = reply.send(self.acd.figures(Utc::now()));
            }
            AcdRequest::Agents(reply) => {
                let views = self.agents.iter().filter_map(|id| self.view(id)).collect();
                let _ = reply.send(views);
            }
        }
    }

    /// An agent as desktops show them.
    fn view(&self, id: &AgentId) -> Option<AgentView> {
        let agent = self.acd.agent(id)?;
        Some(AgentView {
            agent: agent.id.clone(),
            state: agent.state.clone(),
            since: self
                .since
                .get(id)
                .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
            queues: agent.queues.clone(),
            registered: agent.registered,
        })
    }

    fn log_in(&mut self, agent: AgentId, skills: Vec<(String, u8)>) {
        let queues: Vec<String> = skills
            .iter()
            .map(|(skill, _)| skill.clone())
            .filter(|skill| self.config.has_queue(skill))
            .collect();
        let registered = self.reachable.contains(&agent.0);
        info!(agent = %agent, queues = %queues.join(","), registered, "agent logged in");
        self.agents.insert(agent.clone());
        self.feed(AcdEvent::AgentLoggedIn {
            agent,
            queues,
            skills: skills.into_iter().collect::<BTreeMap<_, _>>(),
            registered,
        });
    }

    async fn on_registration(&mut self, event: RegistrationEvent) {
        match event {
            RegistrationEvent::Registered { login, .. } => {
                if !self.reachable.insert(login.clone()) {
                    return;
                }
                let agent = AgentId(login.clone());
                let logged_in = self.acd.agent(&agent).is_some_and(|a| a.logged_in());
                if logged_in || self.logged_out_by_hand.contains(&login) {
                    self.feed(AcdEvent::AgentRegistered { agent });
                    return;
                }
                match self.skills_of(&login).await {
                    Some(skills) => self.log_in(agent, skills),
                    None => self.feed(AcdEvent::AgentRegistered { agent }),
                }
            }
            RegistrationEvent::Unregistered {
                login, contacts: 0, ..
            } => {
                self.reachable.remove(&login);
                self.logged_out_by_hand.remove(&login);
                self.feed(AcdEvent::AgentUnregistered {
                    agent: AgentId(login),
                });
            }
            RegistrationEvent::Unregistered { .. } => {}
        }
    }

    /// The agent's skills from the store (`None`: no store, or no such agent).
    async fn skills_of(&self, login: &str) -> Option<Vec<(String, u8)>> {
        let store = self.store.clone()?;
        let login = login.to_string();
        let found = tokio::task::spawn_blocking(move || agents::find(&store, &login))
            .await
            .ok()?;
        match found {
            Ok(agent) => agent.filter(|a| a.enabled).map(|a| a.skills),
            Err(err) => {
                warn!(error = %err, "cannot read the agent's skills");
                None
            }
        }
    }

    /// Feeds one event at the present time and carries out the decisions.
    fn feed(&mut self, event: AcdEvent) {
        let decisions = self.acd.handle(event, Utc::now());
        for decision in decisions {
            self.carry_out(decision);
        }
    }

    fn carry_out(&mut self, decision: Decision) {
        match decision {
            Decision::Offer {
                call,
                agent,
                queue,
                reach,
                ring_timeout,
            } => {
                let contacts = self.contacts(&agent);
                info!(%call, %agent, %queue, ?reach, contacts = contacts.len(), "offer");
                self.desk.publish(crate::acd::AcdUpdate::Offered {
                    agent: agent.clone(),
                    call: call.clone(),
                    queue: queue.clone(),
                    ring_timeout,
                    decided_at: Utc::now(),
                });
                if let OfferReach::CallBack { attempt } = reach {
                    let offer = QueueNotice::Offer {
                        agent: agent.clone(),
                        display_name: agent.0.clone(),
                        contacts,
                        ring_timeout,
                    };
                    if !self.call_back(&call, &queue, attempt, offer) {
                        self.feed(AcdEvent::CallbackFailed { call });
                    }
                    return;
                }
                let sent = !contacts.is_empty()
                    && self.notify(
                        &call,
                        QueueNotice::Offer {
                            agent: agent.clone(),
                            display_name: agent.0.clone(),
                            contacts,
                            ring_timeout,
                        },
                    );
                if !sent {
                    // Nobody to ring (or a callback, which this server does not place
                    // yet): the offer fails at once and the caller keeps their place.
                    self.feed(AcdEvent::OfferFailed {
                        call,
                        agent,
                        cause: crate::acd::LegFailure::Error,
                    });
                }
            }
            Decision::CancelOffer { call, agent } => {
                self.notify(&call, QueueNotice::CancelOffer { agent });
            }
            Decision::Bridge { call, agent } => {
                info!(%call, %agent, "bridged");
                self.notify(&call, QueueNotice::Bridge { agent });
            }
            Decision::HangUpAgentLeg { call, agent } => {
                self.notify(&call, QueueNotice::HangUpAgentLeg { agent });
            }
            Decision::Announce { call, estimate } => {
                self.notify(&call, QueueNotice::Announce(estimate));
            }
            Decision::TimedOut { call, queue } => {
                info!(%call, %queue, "timed out in the queue");
                self.notify(&call, QueueNotice::TimedOut);
                self.calls.remove(&call);
            }
            Decision::NotQueued {
                call,
                queue,
                reason,
            } => {
                info!(%call, %queue, ?reason, "not queued");
                self.notify(&call, QueueNotice::NotQueued { reason });
                self.calls.remove(&call);
            }
            Decision::CallbackGaveUp { call } => {
                warn!(%call, "the caller could not be called back: given up");
                self.calls.remove(&call);
                self.callbacks.remove(&call);
            }
            Decision::AgentChanged { agent, state } => {
                debug!(%agent, state = state.name(), "agent state");
                let now = Utc::now();
                self.since.insert(agent.clone(), now);
                // The decision's state, not the agent's latest: one batch may hold several.
                if let Some(view) = self.view(&agent).map(|v| AgentView { state, ..v }) {
                    self.desk.publish(crate::acd::AcdUpdate::Agent {
                        view,
                        decided_at: now,
                    });
                }
                self.agents.insert(agent);
            }
            Decision::Record(record) => {
                let line = serde_json::to_string(&record).unwrap_or_default();
                info!(queue = %record.queue, call = %record.call, record = %line, "queue record");
                if let Some(records) = &self.records {
                    let _ = records.send(record);
                }
            }
            Decision::Ignored(why) => debug!(?why, "ACD ignored an event"),
        }
    }

    /// Hands a callback call to the server: `false` when there is nobody to call.
    fn call_back(
        &mut self,
        call: &QueuedCallId,
        queue: &str,
        attempt: u32,
        offer: QueueNotice,
    ) -> bool {
        let Some(callback) = self.callbacks.get(call) else {
            return false;
        };
        if matches!(&offer, QueueNotice::Offer { contacts, .. } if contacts.is_empty()) {
            return false;
        }
        let ring_timeout = self
            .config
            .queues
            .get(queue)
            .map_or(std::time::Duration::from_secs(30), |q| {
                std::time::Duration::from_secs(q.callback.ring_timeout_secs)
            });
        let priority = self.acd.entry(call).map(|e| e.priority).unwrap_or_default();
        let (tx, notices) = mpsc::unbounded_channel();
        let order = CallbackOrder {
            call: call.clone(),
            queue: queue.to_string(),
            priority,
            attempt,
            target: callback.target.clone(),
            ring_timeout,
            offer,
            envelope: callback.envelope.clone(),
            ticket: callback.ticket.clone(),
            notices,
        };
        info!(%call, attempt, to = %order.target.uri, "calling the caller back");
        if self.orders.send(order).is_err() {
            return false;
        }
        self.calls.insert(call.clone(), tx);
        true
    }

    /// Sends a notice to a queued call; `false` when the call is gone.
    fn notify(&mut self, call: &QueuedCallId, notice: QueueNotice) -> bool {
        let delivered = self
            .calls
            .get(call)
            .is_some_and(|tx| tx.send(notice).is_ok());
        if !delivered {
            self.calls.remove(call);
        }
        delivered
    }

    fn contacts(&self, agent: &AgentId) -> Vec<AgentContact> {
        let Some(registrations) = &self.registrations else {
            return Vec::new();
        };
        registrations
            .contacts(&agent.0)
            .into_iter()
            .map(|binding| AgentContact {
                uri: binding.uri.clone(),
                source: binding.source,
                tcp: binding.transport == crate::config::Transport::Tcp,
            })
            .collect()
    }
}

/// The one writer of queue records: batches what has arrived into one transaction, on
/// a blocking thread, so the ACD's task never waits for the disk.
fn start_writer(store: Store) -> mpsc::UnboundedSender<QueueRecord> {
    let (tx, mut rx) = mpsc::unbounded_channel::<QueueRecord>();
    tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let mut batch = vec![first];
            while batch.len() < 512
                && let Ok(more) = rx.try_recv()
            {
                batch.push(more);
            }
            let store = store.clone();
            let written =
                tokio::task::spawn_blocking(move || queue_events::insert(&store, &batch)).await;
            match written {
                Ok(Ok(())) => {}
                Ok(Err(err)) => warn!(error = %err, "queue records not written"),
                Err(err) => warn!(error = %err, "the queue record writer failed"),
            }
        }
    });
    tx
}

async fn next_registration(
    events: &mut Option<broadcast::Receiver<RegistrationEvent>>,
) -> Option<RegistrationEvent> {
    let Some(rx) = events.as_mut() else {
        return std::future::pending().await;
    };
    loop {
        match rx.recv().await {
            Ok(event) => return Some(event),
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                warn!(missed, "the ACD missed registration events");
            }
            Err(broadcast::error::RecvError::Closed) => return None,
        }
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
