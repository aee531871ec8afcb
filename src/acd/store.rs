//! The seam between the ACD's rules and its state.
//!
//! `Acd` (core.rs) decides; an `AcdStore` remembers. The rules reach agents, callers,
//! queues and deadlines only through this trait, so running several Hotline nodes on one
//! shared queue state (PostgreSQL, claiming work with `FOR UPDATE SKIP LOCKED`) means a new
//! implementation of this trait, not new rules. `MemoryStore` (memory.rs) is the one-node
//! implementation; its indexes keep every decision to a few ordered-set lookups.
//!
//! Contract: `put_*` replaces the stored record and brings every index in step with it;
//! the iterators yield only what the rules may offer right now, in service order.

use super::agent::AcdAgent;
use super::entry::Entry;
use super::figures::AgentCounts;
use super::ids::{AgentId, QueuedCallId};
use super::queue::QueueState;
use super::timers::{Timer, TimerKey};
use chrono::{DateTime, Utc};

/// The order in which `available` yields a queue's offerable agents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentOrder {
    /// Longest idle first.
    LongestIdle,
    /// By login order, starting after the agent with this `seq` and wrapping around.
    RoundRobinAfter(Option<u64>),
    /// Best proficiency in the queue's own skills first, then longest idle.
    BestLevel,
}

/// Callers of a queue that are not talking yet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LineCounts {
    /// In line (on the line or off it for a callback).
    pub waiting: usize,
    pub waiting_for_callback: usize,
    /// With an agent reserved or ringing.
    pub ringing: usize,
    /// The earliest arrival among those in line.
    pub oldest: Option<DateTime<Utc>>,
}

pub trait AcdStore {
    fn queue(&self, name: &str) -> Option<&QueueState>;
    fn queue_mut(&mut self, name: &str) -> Option<&mut QueueState>;
    fn queue_names(&self) -> Vec<String>;

    /// A fresh number, unique and increasing (agents' and callers' `seq`).
    fn next_seq(&mut self) -> u64;

    fn agent(&self, id: &AgentId) -> Option<&AcdAgent>;
    fn put_agent(&mut self, agent: AcdAgent);

    fn entry(&self, call: &QueuedCallId) -> Option<&Entry>;
    fn put_entry(&mut self, entry: Entry);
    fn remove_entry(&mut self, call: &QueuedCallId) -> Option<Entry>;

    /// The queue's offerable agents (available, registered, with the queue's skills).
    fn available<'a>(
        &'a self,
        queue: &str,
        order: AgentOrder,
    ) -> Box<dyn Iterator<Item = &'a AcdAgent> + 'a>;
    /// The queue's waiting callers as lanes: one lane per (priority, skills needed), lanes
    /// by priority, highest first; each lane in arrival order.
    fn lanes<'a>(
        &'a self,
        queue: &str,
    ) -> Box<dyn Iterator<Item = Box<dyn Iterator<Item = &'a Entry> + 'a>> + 'a>;
    /// How many waiting callers of the entry's queue are served before it.
    fn ahead_of(&self, entry: &Entry) -> usize;
    fn agent_counts(&self, queue: &str) -> AgentCounts;
    fn line_counts(&self, queue: &str) -> LineCounts;

    fn set_timer(&mut self, at: DateTime<Utc>, timer: Timer) -> TimerKey;
    fn cancel_timer(&mut self, key: TimerKey);
    /// Removes and returns the earliest deadline at or before `now`.
    fn pop_due(&mut self, now: DateTime<Utc>) -> Option<(TimerKey, Timer)>;
    fn next_deadline(&self) -> Option<DateTime<Utc>>;
}
