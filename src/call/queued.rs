//! A call handed to an agent queue: the B2BUA half of the call machine. While the caller
//! waits they hear music on hold and, when the ACD says so, their place in line; the ACD
//! offers them to an agent, the machine places a second leg to that agent's phone, and
//! once the ACD confirms the answer the two legs are bridged. Whatever ends the caller's
//! leg ends the agent's, and the other way round.
//!
//! Only one agent leg exists at a time (the ACD offers a caller to one agent at a time).
//! Legs are numbered so that the late news of a withdrawn leg is recognised and ignored.

use super::behaviour::Cue;
use crate::acd::{AcdEvent, AgentId, Arrival, CallerPriority, QueuedCallId, WaitEstimate};
use crate::prompts::readback;
use std::time::{Duration, Instant};

/// The leg towards the agent being offered the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct AgentLeg {
    pub id: u64,
    pub agent: AgentId,
    pub answered: bool,
}

/// Where a queued call stands.
#[derive(Debug)]
pub(super) struct Queued {
    pub call: QueuedCallId,
    /// How the call was queued (queued again with it if its agent vanishes).
    pub arrival: Arrival,
    pub since: Instant,
    pub leg: Option<AgentLeg>,
    /// The agent the caller is talking to.
    pub bridged: Option<AgentId>,
    next_leg: u64,
}

impl Queued {
    pub fn new(arrival: Arrival, since: Instant) -> Self {
        Queued {
            call: arrival.call.clone(),
            arrival,
            since,
            leg: None,
            bridged: None,
            next_leg: 1,
        }
    }

    /// Opens a new agent leg and returns its number.
    pub fn open_leg(&mut self, agent: AgentId) -> u64 {
        let id = self.next_leg;
        self.next_leg += 1;
        self.leg = Some(AgentLeg {
            id,
            agent,
            answered: false,
        });
        id
    }

    /// The current leg, if `id` is its number.
    pub fn current(&self, id: u64) -> Option<&AgentLeg> {
        self.leg.as_ref().filter(|leg| leg.id == id)
    }

    /// The current leg, if it is towards `agent`.
    pub fn leg_of(&self, agent: &AgentId) -> Option<&AgentLeg> {
        self.leg.as_ref().filter(|leg| &leg.agent == agent)
    }

    /// The arrival for queueing again after the agent vanished mid-call: one level up, so
    /// the caller is next rather than last.
    pub fn requeue(&mut self) -> Arrival {
        self.bridged = None;
        self.leg = None;
        self.arrival.priority = CallerPriority(self.arrival.priority.0.saturating_add(1));
        self.arrival.clone()
    }

    pub fn waited(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.since)
    }

    /// What the ACD must hear when the caller's leg ends.
    pub fn caller_gone(&self) -> AcdEvent {
        let call = self.call.clone();
        if self.bridged.is_some() {
            AcdEvent::CallEnded { call }
        } else {
            AcdEvent::CallerHungUp { call }
        }
    }
}

/// The prompts that tell a caller their place: "you are number three in line; the
/// expected wait is about two minutes" (or "less than a minute"; nothing about the wait
/// when nobody works the queue).
pub(super) fn announcement(estimate: &WaitEstimate) -> Vec<String> {
    let mut ids = vec!["queue-you-are-number".to_string()];
    ids.extend(number(estimate.position as u64));
    ids.push("queue-in-line".into());
    if let Some(wait) = estimate.wait {
        let minutes = (wait.as_secs() + 30) / 60;
        if minutes == 0 {
            ids.push("queue-less-than-a-minute".into());
        } else {
            ids.push("queue-wait-about".into());
            ids.extend(number(minutes));
            ids.push(if minutes == 1 { "minute" } else { "minutes" }.into());
        }
    }
    ids
}

fn number(n: u64) -> Vec<String> {
    readback::number(n)
        .unwrap_or_default()
        .into_iter()
        .map(str::to_string)
        .collect()
}

/// What drives a callback call: nothing but the queue. There is no dialplan left to run
/// (the caller finished it before hanging up); if the queue cannot serve them after all,
/// they hear goodbye.
pub(super) struct CalledBack;

impl super::behaviour::Behaviour for CalledBack {
    fn start(&mut self, _: &super::behaviour::Parties, _: super::behaviour::Moment) -> Vec<Cue> {
        Vec::new()
    }

    fn on_transfer_failed(&mut self, reason: &str, _: super::behaviour::Moment) -> Vec<Cue> {
        tracing::info!(%reason, "a callback the queue cannot serve ends");
        vec![
            Cue::Play(vec!["goodbye".into()]),
            Cue::Hangup {
                why: super::end::EndReason::DialplanHangup,
            },
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_announcement_says_the_place_and_the_rounded_wait() {
        let ids = announcement(&WaitEstimate {
            position: 3,
            wait: Some(Duration::from_secs(100)),
        });
        assert_eq!(
            ids,
            [
                "queue-you-are-number",
                "three",
                "queue-in-line",
                "queue-wait-about",
                "two",
                "minutes"
            ]
        );
        let soon = announcement(&WaitEstimate {
            position: 1,
            wait: Some(Duration::from_secs(20)),
        });
        assert_eq!(
            soon.last().map(String::as_str),
            Some("queue-less-than-a-minute")
        );
        let unknown = announcement(&WaitEstimate {
            position: 2,
            wait: None,
        });
        assert_eq!(unknown.last().map(String::as_str), Some("queue-in-line"));
    }
}
