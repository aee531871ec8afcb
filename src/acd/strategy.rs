//! Routing strategies: which agent takes a caller, and which caller an agent takes.
//!
//! Rules common to all strategies:
//! - An agent is offered only a caller whose skills they all have (the queue's `skills`
//!   plus the transfer's); an agent's level for a caller is their weakest such skill.
//! - An agent who missed or refused a caller is passed over for that caller for the
//!   queue's `reoffer_delay_secs`, so a refusal never rings the same phone straight again.
//! - A free agent takes the caller first in line among those they can serve, over all
//!   their queues: highest priority, then earliest arrival. A caller they cannot serve
//!   (skills, passed over, a callback waiting to retry) does not block the ones behind.
//!
//! Per strategy, choosing among free agents for a caller:
//! - `longest_idle`: the agent free the longest.
//! - `round_robin`: the next agent after the one this queue offered last, in login order.
//! - `skills`: the best level wins, ties to the longest idle; agents below the caller's
//!   current minimum proficiency (the queue's `min_proficiency`, lowered step by step by
//!   `widen` as the caller waits) are not offered. The caller keeps their place throughout.

use super::agent::AcdAgent;
use super::config::RoutingStrategy;
use super::entry::Entry;
use super::ids::{AgentId, QueuedCallId};
use super::queue::QueueState;
use super::store::{AcdStore, AgentOrder};
use chrono::{DateTime, Utc};

/// The lowest level an agent needs for `entry` at `now` (1 except under `skills`).
pub fn minimum_level(queue: &QueueState, entry: &Entry, now: DateTime<Utc>) -> u8 {
    match queue.config.strategy {
        RoutingStrategy::Skills => queue.config.min_proficiency_after(entry.waited(now)),
        RoutingStrategy::LongestIdle | RoutingStrategy::RoundRobin => 1,
    }
}

/// The agent's level for `entry` if they may be offered it now.
fn fit(agent: &AcdAgent, entry: &Entry, minimum: u8, now: DateTime<Utc>) -> Option<u8> {
    agent
        .level(&entry.skills)
        .filter(|level| *level >= minimum && !entry.passes_over(&agent.id, now))
}

/// The free agent to offer `entry` to, if any.
pub fn agent_for<S: AcdStore + ?Sized>(
    store: &S,
    queue: &QueueState,
    entry: &Entry,
    now: DateTime<Utc>,
) -> Option<AgentId> {
    let minimum = minimum_level(queue, entry, now);
    let fits = |agent: &&AcdAgent| fit(agent, entry, minimum, now).is_some();
    match queue.config.strategy {
        RoutingStrategy::LongestIdle => store
            .available(&queue.name, AgentOrder::LongestIdle)
            .find(fits)
            .map(|a| a.id.clone()),
        RoutingStrategy::RoundRobin => store
            .available(
                &queue.name,
                AgentOrder::RoundRobinAfter(queue.round_robin_last),
            )
            .find(fits)
            .map(|a| a.id.clone()),
        RoutingStrategy::Skills => {
            // Agents come best level in the queue's own skills first; a caller's extra
            // skills can only lower an agent's level, so once the queue level falls below
            // the best found, nobody further can beat it.
            let mut best: Option<(u8, &AcdAgent)> = None;
            for agent in store.available(&queue.name, AgentOrder::BestLevel) {
                let queue_level = agent.level(&queue.config.skills).unwrap_or(0);
                if queue_level < minimum || best.is_some_and(|(level, _)| queue_level < level) {
                    break;
                }
                let Some(level) = fit(agent, entry, minimum, now) else {
                    continue;
                };
                let better = match best {
                    None => true,
                    Some((best_level, best_agent)) => {
                        level > best_level
                            || (level == best_level && agent.idle_since < best_agent.idle_since)
                    }
                };
                if better {
                    best = Some((level, agent));
                }
            }
            best.map(|(_, agent)| agent.id.clone())
        }
    }
}

/// The waiting caller a free `agent` should be offered, if any.
pub fn caller_for<S: AcdStore + ?Sized>(
    store: &S,
    agent: &AcdAgent,
    now: DateTime<Utc>,
) -> Option<QueuedCallId> {
    let mut best: Option<&Entry> = None;
    for queue_name in &agent.queues {
        let Some(queue) = store.queue(queue_name) else {
            continue;
        };
        'lanes: for lane in store.lanes(queue_name) {
            for entry in lane {
                if best.is_some_and(|b| b.priority > entry.priority) {
                    // Lanes come by priority: nothing further in this queue can win.
                    break 'lanes;
                }
                if agent.level(&entry.skills).is_none() {
                    // Everyone in a lane needs the same skills.
                    continue 'lanes;
                }
                if !entry.ready(now) || entry.passes_over(&agent.id, now) {
                    continue;
                }
                // The first caller the agent may take is the most widened of the lane:
                // if the agent is not good enough for them, nobody later in it is.
                if fit(agent, entry, minimum_level(queue, entry, now), now).is_some()
                    && best.is_none_or(|b| entry.place() < b.place())
                {
                    best = Some(entry);
                }
                continue 'lanes;
            }
        }
    }
    best.map(|entry| entry.call.clone())
}
