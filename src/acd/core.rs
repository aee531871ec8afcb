//! The ACD itself: events in, decisions out, nothing else.
//!
//! `Acd::handle(event, now)` first acts on every deadline that is due (in time order, each
//! at its own time), then on the event, then on deadlines the event made due; it returns
//! what the shell must do. One task owns the `Acd`, so each call of `handle` is atomic: no
//! agent can be offered two callers, no caller two agents. `next_deadline()` says when to
//! call again with `AcdEvent::Tick` if nothing else happens.
//!
//! The rules, in the order a caller meets them:
//! - **Enqueue.** A caller is refused (`NotQueued`, the transfer's `on_failure`) when the
//!   queue is unknown, closed, or has nobody staffed: no agent of the queue is available,
//!   ringing, talking or wrapping up (away, logged-out and phone-less agents do not count).
//!   Callers already waiting when the last agent leaves stay until they overflow, time out
//!   or hang up.
//! - **Order.** Higher priority first; within a priority, arrival order (strategy.rs).
//! - **Offer.** One agent at a time, for the queue's ring timeout. Not answered in time, or
//!   the agent's leg fails (busy, declined, error, hung up while ringing): a miss. The
//!   caller goes back to their place, the agent is passed over for them for
//!   `reoffer_delay_secs`, and after `rona_misses` misses in a row the agent goes away
//!   ("no answer"). An answer resets the count.
//! - **Overflow** after `overflow.after_secs` in a queue: the caller moves, keeping their
//!   arrival time and priority, unless nobody is staffed in the target (then they stay).
//! - **Maximum wait**, counted from first arrival: the caller is handed back (`TimedOut`,
//!   the dialplan's `on_timeout`). Neither an overflow nor a timeout interrupts a ringing
//!   offer; both apply at once if the offer fails.
//! - **Abandon.** A caller hanging up while waiting or ringing is abandoned; a ringing
//!   agent's leg is cancelled and the agent is free again (no miss).
//! - **Callback.** A waiting caller may leave the line and keep their place. At their turn
//!   an agent is reserved first, then the shell calls the caller back; when the caller
//!   answers, the agent's phone rings. An unanswered callback frees the agent and is tried
//!   again after `retry_delay_secs`, at most `retries` more times, then given up.
//! - **After the call**, the agent wraps up for `wrap_up_secs` (or until they say they are
//!   ready), then is available again. An agent who logs out or goes away while talking
//!   does so when the call ends (without wrap-up); the call is never cut.

use super::agent::{AcdAgent, AgentState, FinishedCall, NO_ANSWER};
use super::clock::{elapsed, later};
use super::config::{AcdConfig, PROFICIENCY_RANGE, RoutingStrategy};
use super::decisions::{Decision, Ignored, NotQueuedReason, OfferReach, QueueRecord, RecordKind};
use super::entry::{Entry, EntryStatus, EntryTimers, PassedOver, Reach};
use super::estimate::{WaitEstimate, estimate};
use super::events::{AcdEvent, Arrival, LegFailure};
use super::figures::{QueueCounters, QueueFigures};
use super::ids::{AgentId, QueuedCallId};
use super::memory::MemoryStore;
use super::store::AcdStore;
use super::strategy;
use super::timers::{Timer, TimerKey};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::time::Duration;

/// The automatic call distributor (see the module comment for its rules).
#[derive(Debug)]
pub struct Acd<S: AcdStore = MemoryStore> {
    store: S,
}

type Out = Vec<Decision>;

impl Acd<MemoryStore> {
    /// An ACD with the configured queues, in memory.
    pub fn new(config: &AcdConfig) -> Self {
        Self::with_store(MemoryStore::new(config))
    }
}

impl<S: AcdStore> Acd<S> {
    pub fn with_store(store: S) -> Self {
        Self { store }
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn agent(&self, id: &AgentId) -> Option<&AcdAgent> {
        self.store.agent(id)
    }

    pub fn entry(&self, call: &QueuedCallId) -> Option<&Entry> {
        self.store.entry(call)
    }

    /// When `handle(AcdEvent::Tick, ..)` should be called next, if nothing else happens.
    pub fn next_deadline(&self) -> Option<DateTime<Utc>> {
        self.store.next_deadline()
    }

    /// Handles one event at `now` and returns the decisions, in order.
    pub fn handle(&mut self, event: AcdEvent, now: DateTime<Utc>) -> Vec<Decision> {
        let mut out = Vec::new();
        self.fire_due(now, &mut out);
        match event {
            AcdEvent::Tick => {}
            AcdEvent::Enqueue(arrival) => self.enqueue(arrival, now, &mut out),
            AcdEvent::CallerHungUp { call } | AcdEvent::CallEnded { call } => {
                self.hung_up(&call, now, &mut out)
            }
            AcdEvent::CallbackRequested { call } => self.callback_requested(&call, now, &mut out),
            AcdEvent::CallbackConnected { call } => self.callback_connected(&call, now, &mut out),
            AcdEvent::CallbackFailed { call } => self.callback_failed_event(&call, now, &mut out),
            AcdEvent::OfferAnswered { call, agent } => self.answered(&call, &agent, now, &mut out),
            AcdEvent::OfferFailed { call, agent, cause } => {
                self.offer_failed(&call, &agent, cause, now, &mut out)
            }
            AcdEvent::AgentLoggedIn {
                agent,
                queues,
                skills,
                registered,
            } => self.logged_in(agent, queues, skills, registered, now, &mut out),
            AcdEvent::AgentLoggedOut { agent } => self.logged_out(&agent, now, &mut out),
            AcdEvent::AgentRegistered { agent } => self.registered(&agent, true, now, &mut out),
            AcdEvent::AgentUnregistered { agent } => self.registered(&agent, false, now, &mut out),
            AcdEvent::AgentReady { agent } => self.ready(&agent, now, &mut out),
            AcdEvent::AgentAway { agent, reason } => self.away(&agent, reason, now, &mut out),
            AcdEvent::QueueOpened { queue } => self.set_open(&queue, true, &mut out),
            AcdEvent::QueueClosed { queue } => self.set_open(&queue, false, &mut out),
        }
        self.fire_due(now, &mut out);
        out
    }

    /// Position and expected wait of a waiting caller, computed now from the queue as it is.
    pub fn estimate(&self, call: &QueuedCallId, now: DateTime<Utc>) -> Option<WaitEstimate> {
        let _ = now; // the estimate depends on the queue's state, not on the clock itself
        let entry = self.store.entry(call).filter(|e| e.is_waiting())?;
        let queue = self.store.queue(&entry.queue)?;
        let agents = self.store.agent_counts(&entry.queue);
        Some(estimate(
            self.store.ahead_of(entry),
            queue.handle_time.get(),
            agents.working(),
            agents.available,
        ))
    }

    /// Every queue's figures at `now`, by queue name.
    pub fn figures(&self, now: DateTime<Utc>) -> Vec<QueueFigures> {
        self.store
            .queue_names()
            .iter()
            .filter_map(|name| self.queue_figures(name, now))
            .collect()
    }

    pub fn queue_figures(&self, queue: &str, now: DateTime<Utc>) -> Option<QueueFigures> {
        let state = self.store.queue(queue)?;
        let c = &state.counters;
        let line = self.store.line_counts(queue);
        Some(QueueFigures {
            queue: queue.to_string(),
            open: state.open,
            offered: c.offered,
            answered: c.answered,
            abandoned: c.abandoned,
            timed_out: c.timed_out,
            overflowed: c.overflowed,
            not_queued: c.not_queued,
            answered_within_threshold: c.answered_within_threshold,
            service_level_threshold_secs: state.config.service_level_secs,
            service_level: c.service_level(),
            average_speed_of_answer_secs: c.average_speed_of_answer(),
            average_handle_time_secs: c.average_handle_time(),
            estimate_handle_time_secs: state.handle_time.get().as_secs_f64(),
            agent_offers: c.agent_offers,
            missed_offers: c.missed_offers,
            callbacks_requested: c.callbacks_requested,
            callbacks_failed: c.callbacks_failed,
            waiting: line.waiting,
            waiting_for_callback: line.waiting_for_callback,
            ringing: line.ringing,
            longest_wait_secs: line
                .oldest
                .map_or(0.0, |oldest| elapsed(oldest, now).as_secs_f64()),
            agents: self.store.agent_counts(queue),
        })
    }

    // ---- deadlines ----

    fn fire_due(&mut self, now: DateTime<Utc>, out: &mut Out) {
        // Bounded: each deadline fires once, and what a firing arms lies in the future
        // except for zero delays, which the configuration refuses.
        for _ in 0..1_000_000 {
            let Some((key, timer)) = self.store.pop_due(now) else {
                return;
            };
            let at = key.at;
            match timer {
                Timer::Offer(call) => self.offer_timed_out(&call, key, at, out),
                Timer::Overflow(call) => {
                    if let Some(entry) = self.take_timer(&call, key, |t| &mut t.overflow)
                        && entry.is_waiting()
                    {
                        self.overflow(entry, at, out);
                    }
                }
                Timer::MaxWait(call) => {
                    if let Some(entry) = self.take_timer(&call, key, |t| &mut t.max_wait)
                        && entry.is_waiting()
                        && entry.reach == Reach::OnTheLine
                    {
                        self.time_out(entry, at, out);
                    }
                }
                Timer::Announce(call) => {
                    if let Some(entry) = self.take_timer(&call, key, |t| &mut t.announce) {
                        self.announce(entry, at, out);
                    }
                }
                Timer::Rematch(call) => {
                    if let Some(mut entry) = self.take_timer(&call, key, |t| &mut t.rematch)
                        && entry.is_waiting()
                    {
                        self.arm_rematch(&mut entry, at);
                        self.store.put_entry(entry);
                        self.match_entry(&call, at, out);
                    }
                }
                Timer::WrapUp(agent) => {
                    if let Some(mut agent) = self.store.agent(&agent).cloned()
                        && agent.wrap_up_timer == Some(key)
                    {
                        agent.wrap_up_timer = None;
                        self.end_wrap_up(&mut agent, at);
                        agent.state = AgentState::Available;
                        agent.idle_since = at;
                        let id = agent.id.clone();
                        self.put_agent(agent, out);
                        self.match_agent(&id, at, out);
                    }
                }
            }
        }
    }

    /// The entry whose timer `key` just fired, with that timer forgotten (it is gone
    /// from the store already); `None` when the entry has moved on.
    fn take_timer(
        &mut self,
        call: &QueuedCallId,
        key: TimerKey,
        slot: fn(&mut EntryTimers) -> &mut Option<TimerKey>,
    ) -> Option<Entry> {
        let mut entry = self.store.entry(call).cloned()?;
        let held = slot(&mut entry.timers);
        if *held != Some(key) {
            return None;
        }
        *held = None;
        self.store.put_entry(entry.clone());
        Some(entry)
    }

    fn offer_timed_out(
        &mut self,
        call: &QueuedCallId,
        key: TimerKey,
        at: DateTime<Utc>,
        out: &mut Out,
    ) {
        let Some(entry) = self.take_timer(call, key, |t| &mut t.offer) else {
            return;
        };
        let EntryStatus::Offered {
            agent, connected, ..
        } = entry.status.clone()
        else {
            return;
        };
        out.push(Decision::CancelOffer {
            call: call.clone(),
            agent: agent.clone(),
        });
        if connected {
            self.missed(entry, &agent, LegFailure::NoAnswer, at, out);
        } else {
            self.callback_failed(entry, &agent, at, out);
        }
    }

    fn set_timer(&mut self, at: DateTime<Utc>, timer: Timer) -> TimerKey {
        self.store.set_timer(at, timer)
    }

    fn cancel(&mut self, key: &mut Option<TimerKey>) {
        if let Some(key) = key.take() {
            self.store.cancel_timer(key);
        }
    }

    fn cancel_all(&mut self, entry: &mut Entry) {
        for key in entry.timers.all() {
            self.store.cancel_timer(key);
        }
        entry.timers = EntryTimers::default();
    }

    /// Re-arms the entry's rematch deadline: the next moment it may take agents it cannot
    /// take now (a widening step, a passed-over agent's delay ending, a callback retry).
    fn arm_rematch(&mut self, entry: &mut Entry, now: DateTime<Utc>) {
        self.cancel(&mut entry.timers.rematch);
        if !entry.is_waiting() {
            return;
        }
        let widen = self
            .store
            .queue(&entry.queue)
            .filter(|q| q.config.strategy == RoutingStrategy::Skills)
            .and_then(|q| q.config.next_widening_after(entry.waited(now)))
            .map(|after| later(entry.arrived, after));
        entry.passed_over.retain(|p| p.until > now);
        let passed = entry.passed_over.iter().map(|p| p.until).min();
        let retry = entry.not_before.filter(|t| *t > now);
        if let Some(at) = [widen, passed, retry].into_iter().flatten().min() {
            entry.timers.rematch = Some(self.set_timer(at, Timer::Rematch(entry.call.clone())));
        }
    }

    // ---- helpers ----

    fn record(&self, out: &mut Out, at: DateTime<Utc>, entry: &Entry, kind: RecordKind) {
        out.push(Decision::Record(QueueRecord {
            at,
            queue: entry.queue.clone(),
            call: entry.call.clone(),
            kind,
        }));
    }

    fn counters(&mut self, queue: &str) -> Option<&mut QueueCounters> {
        self.store.queue_mut(queue).map(|q| &mut q.counters)
    }

    /// Stores the agent, telling the shell when their state changed.
    fn put_agent(&mut self, agent: AcdAgent, out: &mut Out) {
        let changed = self
            .store
            .agent(&agent.id)
            .is_none_or(|old| old.state != agent.state);
        if changed {
            out.push(Decision::AgentChanged {
                agent: agent.id.clone(),
                state: agent.state.clone(),
            });
        }
        self.store.put_agent(agent);
    }

    fn not_now(&self, call: Option<&QueuedCallId>, agent: Option<&AgentId>, out: &mut Out) {
        let state = match (
            call.and_then(|c| self.store.entry(c)),
            agent.and_then(|a| self.store.agent(a)),
        ) {
            (_, Some(agent)) if call.is_none() => agent.state.name(),
            (Some(entry), _) => match entry.status {
                EntryStatus::Waiting => "waiting",
                EntryStatus::Offered { .. } => "offered",
                EntryStatus::Bridged { .. } => "bridged",
            },
            (None, _) => "gone",
        };
        out.push(Decision::Ignored(Ignored::NotNow {
            call: call.cloned(),
            agent: agent.cloned(),
            state,
        }));
    }

    /// Whether anyone works `queue` (see "Enqueue" in the module comment).
    fn staffed(&self, queue: &str) -> bool {
        self.store.agent_counts(queue).working() > 0
    }

    fn deadline(&self, entry: &Entry) -> Option<DateTime<Utc>> {
        if entry.reach != Reach::OnTheLine {
            return None;
        }
        let limit = entry.max_wait.or_else(|| {
            self.store
                .queue(&entry.queue)
                .and_then(|q| q.config.max_wait_secs)
                .map(Duration::from_secs)
        })?;
        Some(later(entry.arrived, limit))
    }

    /// Arms the overflow and maximum-wait deadlines of a caller entering its queue.
    fn arm_queue_timers(&mut self, entry: &mut Entry) {
        self.cancel(&mut entry.timers.overflow);
        self.cancel(&mut entry.timers.max_wait);
        if let Some(overflow) = self
            .store
            .queue(&entry.queue)
            .and_then(|q| q.config.overflow.clone())
        {
            let at = later(entry.entered, Duration::from_secs(overflow.after_secs));
            entry.timers.overflow = Some(self.set_timer(at, Timer::Overflow(entry.call.clone())));
        }
        entry.deadline = self.deadline(entry);
        if let Some(at) = entry.deadline {
            entry.timers.max_wait = Some(self.set_timer(at, Timer::MaxWait(entry.call.clone())));
        }
    }

    // ---- callers ----

    fn enqueue(&mut self, arrival: Arrival, now: DateTime<Utc>, out: &mut Out) {
        if self.store.entry(&arrival.call).is_some() {
            out.push(Decision::Ignored(Ignored::AlreadyQueued {
                call: arrival.call,
            }));
            return;
        }
        let refuse = |reason, out: &mut Out| {
            out.push(Decision::NotQueued {
                call: arrival.call.clone(),
                queue: arrival.queue.clone(),
                reason,
            })
        };
        let Some(queue) = self.store.queue(&arrival.queue) else {
            refuse(NotQueuedReason::UnknownQueue, out);
            return;
        };
        let reason = if !queue.open {
            Some(NotQueuedReason::Closed)
        } else if !self.staffed(&arrival.queue) {
            Some(NotQueuedReason::NobodyStaffed)
        } else {
            None
        };
        let mut skills = queue.config.skills.clone();
        let announce = queue.config.announce;
        skills.extend(arrival.skills.iter().cloned());
        skills.sort();
        skills.dedup();
        let mut entry = Entry {
            call: arrival.call.clone(),
            queue: arrival.queue.clone(),
            priority: arrival.priority,
            asked_skills: arrival.skills.clone(),
            skills,
            arrived: now,
            entered: now,
            seq: self.store.next_seq(),
            status: EntryStatus::Waiting,
            reach: Reach::OnTheLine,
            callback_wanted: arrival.callback,
            max_wait: arrival.max_wait,
            deadline: None,
            passed_over: Vec::new(),
            not_before: None,
            timers: EntryTimers::default(),
        };
        if let Some(reason) = reason {
            if let Some(c) = self.counters(&arrival.queue) {
                c.not_queued += 1;
            }
            self.record(out, now, &entry, RecordKind::NotQueued { reason });
            refuse(reason, out);
            return;
        }
        if let Some(c) = self.counters(&arrival.queue) {
            c.offered += 1;
        }
        self.record(
            out,
            now,
            &entry,
            RecordKind::Enqueued {
                priority: entry.priority,
            },
        );
        self.arm_queue_timers(&mut entry);
        self.arm_rematch(&mut entry, now);
        let call = entry.call.clone();
        self.store.put_entry(entry);
        self.match_entry(&call, now, out);
        if announce && let Some(entry) = self.store.entry(&call).cloned() {
            self.announce(entry, now, out);
        }
    }

    /// Tells a waiting caller where they stand and arms the next announcement.
    fn announce(&mut self, mut entry: Entry, now: DateTime<Utc>, out: &mut Out) {
        let Some(every) = self
            .store
            .queue(&entry.queue)
            .filter(|q| q.config.announce)
            .map(|q| Duration::from_secs(q.config.announce_every_secs))
        else {
            return;
        };
        if matches!(entry.status, EntryStatus::Bridged { .. }) {
            return;
        }
        if entry.is_waiting()
            && entry.reach == Reach::OnTheLine
            && let Some(estimate) = self.estimate(&entry.call, now)
        {
            out.push(Decision::Announce {
                call: entry.call.clone(),
                estimate,
            });
        }
        self.cancel(&mut entry.timers.announce);
        entry.timers.announce =
            Some(self.set_timer(later(now, every), Timer::Announce(entry.call.clone())));
        self.store.put_entry(entry);
    }

    /// Offers a waiting caller to the best free agent, if there is one.
    fn match_entry(&mut self, call: &QueuedCallId, now: DateTime<Utc>, out: &mut Out) {
        let agent = {
            let Some(entry) = self.store.entry(call).filter(|e| e.ready(now)) else {
                return;
            };
            let Some(queue) = self.store.queue(&entry.queue) else {
                return;
            };
            strategy::agent_for(&self.store, queue, entry, now)
        };
        if let Some(agent) = agent {
            self.offer(call, &agent, now, out);
        }
    }

    /// Offers the best waiting caller to a free agent, if there is one.
    fn match_agent(&mut self, agent: &AgentId, now: DateTime<Utc>, out: &mut Out) {
        let call = {
            let Some(agent) = self.store.agent(agent).filter(|a| a.offerable()) else {
                return;
            };
            strategy::caller_for(&self.store, agent, now)
        };
        if let Some(call) = call {
            self.offer(&call, agent, now, out);
        }
    }

    fn offer(
        &mut self,
        call: &QueuedCallId,
        agent_id: &AgentId,
        now: DateTime<Utc>,
        out: &mut Out,
    ) {
        let (Some(mut entry), Some(mut agent)) = (
            self.store.entry(call).cloned(),
            self.store.agent(agent_id).cloned(),
        ) else {
            return;
        };
        let Some(queue) = self.store.queue_mut(&entry.queue) else {
            return;
        };
        queue.round_robin_last = Some(agent.seq);
        queue.counters.agent_offers += 1;
        let ring_timeout = queue.config.ring_timeout();
        let callback_timeout = Duration::from_secs(queue.config.callback.ring_timeout_secs);
        let (reach, timeout) = match entry.reach {
            Reach::OnTheLine => (OfferReach::OnTheLine, ring_timeout),
            Reach::CallBack { failures } => (
                OfferReach::CallBack {
                    attempt: failures + 1,
                },
                callback_timeout,
            ),
        };
        entry.status = EntryStatus::Offered {
            agent: agent_id.clone(),
            since: now,
            connected: entry.reach == Reach::OnTheLine,
        };
        self.cancel(&mut entry.timers.rematch);
        self.cancel(&mut entry.timers.offer);
        entry.timers.offer = Some(self.set_timer(later(now, timeout), Timer::Offer(call.clone())));
        agent.state = AgentState::Offered { call: call.clone() };
        self.put_agent(agent, out);
        out.push(Decision::Offer {
            call: call.clone(),
            agent: agent_id.clone(),
            queue: entry.queue.clone(),
            reach,
            ring_timeout,
        });
        self.record(
            out,
            now,
            &entry,
            RecordKind::Offered {
                agent: agent_id.clone(),
                callback: entry.reach != Reach::OnTheLine,
            },
        );
        self.store.put_entry(entry);
    }

    /// An offer failed: count the miss against the agent, put the caller back in their
    /// place, then find each of them someone else.
    fn missed(
        &mut self,
        entry: Entry,
        agent_id: &AgentId,
        cause: LegFailure,
        now: DateTime<Utc>,
        out: &mut Out,
    ) {
        let (misses_allowed, reoffer_delay) = self
            .store
            .queue(&entry.queue)
            .map(|q| {
                (
                    q.config.rona_misses,
                    Duration::from_secs(q.config.reoffer_delay_secs),
                )
            })
            .unwrap_or((1, Duration::ZERO));
        if let Some(c) = self.counters(&entry.queue) {
            c.missed_offers += 1;
        }
        if let Some(mut agent) = self.store.agent(agent_id).cloned()
            && agent.state
                == (AgentState::Offered {
                    call: entry.call.clone(),
                })
        {
            agent.misses += 1;
            agent.state = if agent.misses >= misses_allowed {
                AgentState::Away {
                    reason: NO_ANSWER.into(),
                }
            } else {
                AgentState::Available
            };
            // Behind the other free agents: they did not just miss a call.
            agent.idle_since = now;
            self.put_agent(agent, out);
        }
        let mut entry = entry;
        entry.passed_over.push(PassedOver {
            agent: agent_id.clone(),
            until: later(now, reoffer_delay),
        });
        self.record(
            out,
            now,
            &entry,
            RecordKind::Requeued {
                agent: agent_id.clone(),
                cause: Some(cause),
            },
        );
        self.requeue(entry, now, out);
        self.match_agent(agent_id, now, out);
    }

    /// Puts an offered caller back in their place (or applies a due overflow or timeout).
    fn requeue(&mut self, mut entry: Entry, now: DateTime<Utc>, out: &mut Out) {
        entry.status = EntryStatus::Waiting;
        self.cancel(&mut entry.timers.offer);
        if entry.deadline.is_some_and(|d| d <= now) {
            self.time_out(entry, now, out);
            return;
        }
        let overflow_due = self
            .store
            .queue(&entry.queue)
            .and_then(|q| q.config.overflow.as_ref())
            .is_some_and(|o| later(entry.entered, Duration::from_secs(o.after_secs)) <= now);
        if overflow_due && entry.timers.overflow.is_none() {
            self.overflow(entry, now, out);
            return;
        }
        self.stay(entry, now, out);
    }

    /// Withdraws an offer for the agent's own reasons (logged out, went away): the caller
    /// goes back to their place; no miss is counted.
    fn withdraw(
        &mut self,
        call: &QueuedCallId,
        agent: &AgentId,
        now: DateTime<Utc>,
        out: &mut Out,
    ) {
        let Some(entry) = self.store.entry(call).cloned() else {
            return;
        };
        if entry.offered_to() != Some(agent) {
            return;
        }
        out.push(Decision::CancelOffer {
            call: call.clone(),
            agent: agent.clone(),
        });
        self.record(
            out,
            now,
            &entry,
            RecordKind::Requeued {
                agent: agent.clone(),
                cause: None,
            },
        );
        self.requeue(entry, now, out);
    }

    /// Puts a waiting caller (back) in line where they are and looks for an agent.
    fn stay(&mut self, mut entry: Entry, now: DateTime<Utc>, out: &mut Out) {
        self.arm_rematch(&mut entry, now);
        let call = entry.call.clone();
        self.store.put_entry(entry);
        self.match_entry(&call, now, out);
    }

    fn overflow(&mut self, mut entry: Entry, now: DateTime<Utc>, out: &mut Out) {
        let to = self
            .store
            .queue(&entry.queue)
            .and_then(|q| q.config.overflow.as_ref())
            .map(|o| o.to.clone());
        let target = to.and_then(|to| {
            let skills = self.store.queue(&to)?.config.skills.clone();
            self.staffed(&to).then_some((to, skills))
        });
        let Some((to, target_skills)) = target else {
            // Nobody to overflow to: staying where they are keeps their chances.
            self.stay(entry, now, out);
            return;
        };
        if let Some(c) = self.counters(&entry.queue) {
            c.overflowed += 1;
        }
        self.record(out, now, &entry, RecordKind::Overflowed { to: to.clone() });
        // Out of the old queue's lanes before the entry changes queue.
        let call = entry.call.clone();
        self.store.remove_entry(&call);
        entry.queue = to.clone();
        entry.entered = now;
        entry.skills = target_skills;
        entry.skills.extend(entry.asked_skills.iter().cloned());
        entry.skills.sort();
        entry.skills.dedup();
        if let Some(c) = self.counters(&to) {
            c.offered += 1;
        }
        self.record(
            out,
            now,
            &entry,
            RecordKind::Enqueued {
                priority: entry.priority,
            },
        );
        self.arm_queue_timers(&mut entry);
        if entry.deadline.is_some_and(|d| d <= now) {
            self.time_out(entry, now, out);
            return;
        }
        self.stay(entry, now, out);
    }

    fn time_out(&mut self, mut entry: Entry, now: DateTime<Utc>, out: &mut Out) {
        self.cancel_all(&mut entry);
        self.store.remove_entry(&entry.call);
        if let Some(c) = self.counters(&entry.queue) {
            c.timed_out += 1;
        }
        let waited = entry.waited(now);
        self.record(out, now, &entry, RecordKind::TimedOut { waited });
        out.push(Decision::TimedOut {
            call: entry.call,
            queue: entry.queue,
        });
    }

    /// The caller hung up, or a bridged call ended.
    fn hung_up(&mut self, call: &QueuedCallId, now: DateTime<Utc>, out: &mut Out) {
        let Some(mut entry) = self.store.entry(call).cloned() else {
            out.push(Decision::Ignored(Ignored::UnknownCall {
                call: call.clone(),
            }));
            return;
        };
        self.cancel_all(&mut entry);
        self.store.remove_entry(call);
        match entry.status.clone() {
            EntryStatus::Waiting => {
                self.abandoned(&entry, None, now, out);
            }
            EntryStatus::Offered { agent, .. } => {
                out.push(Decision::CancelOffer {
                    call: call.clone(),
                    agent: agent.clone(),
                });
                self.abandoned(&entry, Some(agent.clone()), now, out);
                if let Some(mut a) = self.store.agent(&agent).cloned()
                    && a.state == (AgentState::Offered { call: call.clone() })
                {
                    // Not the agent's fault: free again, keeping their turn.
                    a.state = AgentState::Available;
                    self.put_agent(a, out);
                    self.match_agent(&agent, now, out);
                }
            }
            EntryStatus::Bridged { agent, answered } => {
                let talk = elapsed(answered, now);
                self.record(
                    out,
                    now,
                    &entry,
                    RecordKind::Completed {
                        agent: agent.clone(),
                        talk,
                    },
                );
                self.call_ended(&entry.queue, &agent, call, talk, now, out);
            }
        }
    }

    fn abandoned(
        &mut self,
        entry: &Entry,
        agent: Option<AgentId>,
        now: DateTime<Utc>,
        out: &mut Out,
    ) {
        if let Some(c) = self.counters(&entry.queue) {
            c.abandoned += 1;
        }
        let waited = entry.waited(now);
        self.record(out, now, entry, RecordKind::Abandoned { waited, agent });
    }

    /// A bridged call ended: the agent wraps up (or, logged out meanwhile, the talk time is
    /// the whole handle time).
    fn call_ended(
        &mut self,
        queue: &str,
        agent_id: &AgentId,
        call: &QueuedCallId,
        talk: Duration,
        now: DateTime<Utc>,
        out: &mut Out,
    ) {
        let finished = FinishedCall {
            queue: queue.to_string(),
            talk,
            ended: now,
        };
        let wrap_up = self.store.queue(queue).map_or(0, |q| q.config.wrap_up_secs);
        let Some(mut agent) = self
            .store
            .agent(agent_id)
            .cloned()
            .filter(|a| a.state == AgentState::OnCall { call: call.clone() })
        else {
            self.count_handled(&finished, now);
            return;
        };
        agent.wrapping = Some(finished);
        if let Some(next) = agent.after_call.take() {
            self.end_wrap_up(&mut agent, now);
            agent.state = next;
            self.put_agent(agent, out);
        } else if wrap_up == 0 {
            self.end_wrap_up(&mut agent, now);
            agent.state = AgentState::Available;
            agent.idle_since = now;
            self.put_agent(agent, out);
            self.match_agent(agent_id, now, out);
        } else {
            let until = later(now, Duration::from_secs(wrap_up));
            agent.state = AgentState::WrapUp { until };
            agent.wrap_up_timer = Some(self.set_timer(until, Timer::WrapUp(agent_id.clone())));
            self.put_agent(agent, out);
        }
    }

    /// Ends a wrap-up (timer, "ready", away, logout) and counts the call's handle time.
    fn end_wrap_up(&mut self, agent: &mut AcdAgent, now: DateTime<Utc>) {
        self.cancel(&mut agent.wrap_up_timer);
        if let Some(finished) = agent.wrapping.take() {
            self.count_handled(&finished, now);
        }
    }

    fn count_handled(&mut self, finished: &FinishedCall, now: DateTime<Utc>) {
        let handle = finished.talk + elapsed(finished.ended, now);
        if let Some(queue) = self.store.queue_mut(&finished.queue) {
            queue.counters.handled += 1;
            queue.counters.handle_time += handle;
            queue.handle_time.add(handle);
        }
    }

    fn answered(
        &mut self,
        call: &QueuedCallId,
        agent_id: &AgentId,
        now: DateTime<Utc>,
        out: &mut Out,
    ) {
        let entry = self.store.entry(call).cloned();
        let Some(mut entry) = entry.filter(|e| {
            matches!(&e.status, EntryStatus::Offered { agent, connected: true, .. } if agent == agent_id)
        }) else {
            out.push(Decision::HangUpAgentLeg {
                call: call.clone(),
                agent: agent_id.clone(),
            });
            self.not_now(Some(call), Some(agent_id), out);
            return;
        };
        self.cancel_all(&mut entry);
        entry.status = EntryStatus::Bridged {
            agent: agent_id.clone(),
            answered: now,
        };
        let waited = entry.waited(now);
        if let Some(queue) = self.store.queue_mut(&entry.queue) {
            let within = waited <= queue.config.service_level();
            let c = &mut queue.counters;
            c.answered += 1;
            c.answered_wait += waited;
            c.answered_within_threshold += u64::from(within);
        }
        if let Some(mut agent) = self.store.agent(agent_id).cloned() {
            agent.state = AgentState::OnCall { call: call.clone() };
            agent.misses = 0;
            self.put_agent(agent, out);
        }
        out.push(Decision::Bridge {
            call: call.clone(),
            agent: agent_id.clone(),
        });
        self.record(
            out,
            now,
            &entry,
            RecordKind::Answered {
                agent: agent_id.clone(),
                waited,
            },
        );
        self.store.put_entry(entry);
    }

    fn offer_failed(
        &mut self,
        call: &QueuedCallId,
        agent: &AgentId,
        cause: LegFailure,
        now: DateTime<Utc>,
        out: &mut Out,
    ) {
        let Some(entry) = self
            .store
            .entry(call)
            .cloned()
            .filter(|e| e.offered_to() == Some(agent))
        else {
            self.not_now(Some(call), Some(agent), out);
            return;
        };
        if matches!(
            entry.status,
            EntryStatus::Offered {
                connected: false,
                ..
            }
        ) {
            // A callback still reaching the caller: stop it, the caller keeps their place.
            out.push(Decision::CancelOffer {
                call: call.clone(),
                agent: agent.clone(),
            });
        }
        self.missed(entry, agent, cause, now, out);
    }

    fn callback_requested(&mut self, call: &QueuedCallId, now: DateTime<Utc>, out: &mut Out) {
        let Some(mut entry) = self.store.entry(call).cloned() else {
            out.push(Decision::Ignored(Ignored::UnknownCall {
                call: call.clone(),
            }));
            return;
        };
        if !entry.is_waiting() || entry.reach != Reach::OnTheLine {
            self.not_now(Some(call), None, out);
            return;
        }
        let allowed = self
            .store
            .queue(&entry.queue)
            .is_some_and(|q| q.config.callback.allowed);
        if !(allowed && entry.callback_wanted) {
            out.push(Decision::Ignored(Ignored::CallbackNotAllowed {
                call: call.clone(),
            }));
            return;
        }
        entry.reach = Reach::CallBack { failures: 0 };
        entry.deadline = None;
        self.cancel(&mut entry.timers.max_wait);
        if let Some(c) = self.counters(&entry.queue) {
            c.callbacks_requested += 1;
        }
        self.record(out, now, &entry, RecordKind::CallbackRequested);
        self.store.put_entry(entry);
    }

    fn callback_connected(&mut self, call: &QueuedCallId, now: DateTime<Utc>, out: &mut Out) {
        let Some(mut entry) = self.store.entry(call).cloned().filter(|e| {
            matches!(
                e.status,
                EntryStatus::Offered {
                    connected: false,
                    ..
                }
            )
        }) else {
            self.not_now(Some(call), None, out);
            return;
        };
        let ring_timeout = self
            .store
            .queue(&entry.queue)
            .map_or(Duration::from_secs(20), |q| q.config.ring_timeout());
        if let EntryStatus::Offered { connected, .. } = &mut entry.status {
            *connected = true;
        }
        entry.reach = Reach::OnTheLine;
        self.cancel(&mut entry.timers.offer);
        entry.timers.offer =
            Some(self.set_timer(later(now, ring_timeout), Timer::Offer(call.clone())));
        self.store.put_entry(entry);
    }

    fn callback_failed_event(&mut self, call: &QueuedCallId, now: DateTime<Utc>, out: &mut Out) {
        let Some(mut entry) = self.store.entry(call).cloned().filter(|e| {
            matches!(
                e.status,
                EntryStatus::Offered {
                    connected: false,
                    ..
                }
            )
        }) else {
            self.not_now(Some(call), None, out);
            return;
        };
        let Some(agent) = entry.offered_to().cloned() else {
            return;
        };
        self.cancel(&mut entry.timers.offer);
        self.callback_failed(entry, &agent, now, out);
    }

    /// A callback attempt did not reach the caller: free the reserved agent (no miss: not
    /// their fault) and retry later, or give up after the last attempt.
    fn callback_failed(
        &mut self,
        mut entry: Entry,
        agent_id: &AgentId,
        now: DateTime<Utc>,
        out: &mut Out,
    ) {
        if let Some(mut agent) = self.store.agent(agent_id).cloned()
            && agent.state
                == (AgentState::Offered {
                    call: entry.call.clone(),
                })
        {
            agent.state = AgentState::Available;
            self.put_agent(agent, out);
        }
        let failures = match entry.reach {
            Reach::CallBack { failures } => failures + 1,
            Reach::OnTheLine => 1,
        };
        let (retries, delay) = self
            .store
            .queue(&entry.queue)
            .map(|q| {
                (
                    q.config.callback.retries,
                    q.config.callback.retry_delay_secs,
                )
            })
            .unwrap_or((0, 1));
        self.record(
            out,
            now,
            &entry,
            RecordKind::CallbackFailed { attempt: failures },
        );
        if failures > retries {
            self.cancel_all(&mut entry);
            self.store.remove_entry(&entry.call);
            if let Some(c) = self.counters(&entry.queue) {
                c.callbacks_failed += 1;
            }
            self.record(out, now, &entry, RecordKind::CallbackGaveUp);
            out.push(Decision::CallbackGaveUp { call: entry.call });
        } else {
            entry.reach = Reach::CallBack { failures };
            entry.status = EntryStatus::Waiting;
            entry.not_before = Some(later(now, Duration::from_secs(delay)));
            self.arm_rematch(&mut entry, now);
            self.store.put_entry(entry);
        }
        self.match_agent(agent_id, now, out);
    }

    // ---- agents ----

    fn logged_in(
        &mut self,
        id: AgentId,
        queues: Vec<String>,
        skills: BTreeMap<String, u8>,
        registered: bool,
        now: DateTime<Utc>,
        out: &mut Out,
    ) {
        if let Some((skill, _)) = skills.iter().find(|(_, p)| !PROFICIENCY_RANGE.contains(p)) {
            out.push(Decision::Ignored(Ignored::BadProficiency {
                agent: id,
                skill: skill.clone(),
            }));
            return;
        }
        let mut known = Vec::new();
        for queue in queues {
            if self.store.queue(&queue).is_none() {
                out.push(Decision::Ignored(Ignored::UnknownQueue { queue }));
            } else if !known.contains(&queue) {
                known.push(queue);
            }
        }
        let mut agent = match self.store.agent(&id).cloned() {
            Some(agent) => agent,
            None => {
                let seq = self.store.next_seq();
                AcdAgent::new(id.clone(), seq, now)
            }
        };
        agent.queues = known;
        agent.skills = skills;
        agent.registered = registered;
        agent.after_call = None;
        if agent.state == AgentState::LoggedOut {
            agent.state = AgentState::Available;
            agent.idle_since = now;
            agent.misses = 0;
        }
        self.put_agent(agent, out);
        self.match_agent(&id, now, out);
    }

    fn known_agent(&self, id: &AgentId, out: &mut Out) -> Option<AcdAgent> {
        let agent = self.store.agent(id).cloned();
        if agent.is_none() {
            out.push(Decision::Ignored(Ignored::UnknownAgent {
                agent: id.clone(),
            }));
        }
        agent
    }

    /// Moves an agent out of service (`LoggedOut` or `Away`), withdrawing a pending offer.
    fn leave(&mut self, id: &AgentId, state: AgentState, now: DateTime<Utc>, out: &mut Out) {
        let Some(mut agent) = self.known_agent(id, out) else {
            return;
        };
        let offered = match &agent.state {
            AgentState::OnCall { .. } => {
                agent.after_call = Some(state);
                self.store.put_agent(agent);
                return;
            }
            AgentState::LoggedOut => {
                if state != AgentState::LoggedOut {
                    self.not_now(None, Some(id), out);
                }
                return;
            }
            AgentState::Offered { call } => Some(call.clone()),
            AgentState::WrapUp { .. } => {
                self.end_wrap_up(&mut agent, now);
                None
            }
            AgentState::Available | AgentState::Away { .. } => None,
        };
        agent.state = state;
        self.put_agent(agent, out);
        if let Some(call) = offered {
            self.withdraw(&call, id, now, out);
        }
    }

    fn logged_out(&mut self, id: &AgentId, now: DateTime<Utc>, out: &mut Out) {
        self.leave(id, AgentState::LoggedOut, now, out);
    }

    fn away(&mut self, id: &AgentId, reason: String, now: DateTime<Utc>, out: &mut Out) {
        self.leave(id, AgentState::Away { reason }, now, out);
    }

    fn registered(&mut self, id: &AgentId, registered: bool, now: DateTime<Utc>, out: &mut Out) {
        let Some(mut agent) = self.known_agent(id, out) else {
            return;
        };
        agent.registered = registered;
        self.put_agent(agent, out);
        self.match_agent(id, now, out);
    }

    fn ready(&mut self, id: &AgentId, now: DateTime<Utc>, out: &mut Out) {
        let Some(mut agent) = self.known_agent(id, out) else {
            return;
        };
        match agent.state {
            AgentState::Available => {}
            AgentState::Away { .. } => {
                agent.misses = 0;
                agent.state = AgentState::Available;
                agent.idle_since = now;
            }
            AgentState::WrapUp { .. } => {
                self.end_wrap_up(&mut agent, now);
                agent.state = AgentState::Available;
                agent.idle_since = now;
            }
            AgentState::OnCall { .. } if agent.after_call.is_some() => {
                // Changed their mind about leaving after the call.
                agent.after_call = None;
            }
            AgentState::LoggedOut | AgentState::Offered { .. } | AgentState::OnCall { .. } => {
                self.not_now(None, Some(id), out);
                return;
            }
        }
        self.put_agent(agent, out);
        self.match_agent(id, now, out);
    }

    fn set_open(&mut self, queue: &str, open: bool, out: &mut Out) {
        match self.store.queue_mut(queue) {
            Some(state) => state.open = open,
            None => out.push(Decision::Ignored(Ignored::UnknownQueue {
                queue: queue.to_string(),
            })),
        }
    }
}
