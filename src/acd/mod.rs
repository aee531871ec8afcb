//! Automatic call distribution: queues, agents, routing, overflow, wait estimates and
//! queue figures, as pure decisions.
//!
//! [`Acd`] is a value: the shell feeds it [`AcdEvent`]s with the time they happened and
//! carries out the [`Decision`]s it returns (ring an agent, cancel a leg, bridge, hand a
//! caller back to the dialplan); it never touches a socket, a clock or a thread. Its state
//! lives behind the [`AcdStore`] seam (store.rs) so that a shared store can replace the
//! in-memory one without touching the rules (core.rs, strategy.rs). Configuration is
//! `[acd]` in hotline.toml (config.rs).

mod agent;
mod clock;
mod config;
mod contexts;
mod core;
mod decisions;
mod entry;
pub mod envelope;
mod estimate;
mod events;
mod figures;
mod handle;
mod ids;
mod memory;
mod queue;
mod store;
mod strategy;
mod timers;

#[cfg(test)]
mod tests;

#[cfg(test)]
mod proptests;

pub use agent::{AcdAgent, AgentState, FinishedCall, NO_ANSWER};
pub use config::{
    AcdConfig, AcdConfigProblem, CallbackConfig, Overflow, PROFICIENCY_RANGE, QueueConfig,
    RoutingStrategy, WidenStep,
};
pub use contexts::{CONTEXT_TTL, ContextBoard, ContextPosted, ContextRefusal};
pub use core::Acd;
pub use decisions::{Decision, Ignored, NotQueuedReason, OfferReach, QueueRecord, RecordKind};
pub use entry::{Entry, EntryStatus, Place, Reach};
pub use estimate::{HandleTimeAverage, WaitEstimate, estimate};
pub use events::{AcdEvent, Arrival, LegFailure};
pub use figures::{AgentCounts, QueueCounters, QueueFigures};
pub use handle::{
    AcdHandle, AcdRequest, AcdUpdate, AgentContact, AgentView, CallbackOrder, CallbackTarget,
    QueueNotice,
};
pub use ids::{AgentId, CallerPriority, QueuedCallId};
pub use memory::MemoryStore;
pub use queue::QueueState;
pub use store::{AcdStore, AgentOrder, LineCounts};
pub use timers::{Timer, TimerKey};
