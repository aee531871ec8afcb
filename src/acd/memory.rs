//! The in-memory `AcdStore`: hash maps of agents and callers plus ordered indexes, so that
//! finding the agent for a caller or the caller for an agent is a walk from the front of a
//! `BTreeSet`, not a scan of everyone (10,000 callers and 1,000 agents stay in microseconds).
//!
//! Per queue: offerable agents ordered three ways (idle since, login order, proficiency),
//! waiting callers in lanes keyed by (priority, skills needed) and ordered by arrival, and
//! agents counted by state. Every `put_*` takes the old record out of the indexes and puts
//! the new one in, so the indexes cannot drift from the records.

use super::agent::{AcdAgent, AgentState};
use super::config::AcdConfig;
use super::entry::{Entry, EntryStatus, Reach};
use super::figures::AgentCounts;
use super::ids::{AgentId, CallerPriority, QueuedCallId};
use super::queue::QueueState;
use super::store::{AcdStore, AgentOrder, LineCounts};
use super::timers::{Timer, TimerKey};
use chrono::{DateTime, Utc};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap};

type LaneKey = (Reverse<CallerPriority>, Vec<String>);
type Lane = BTreeMap<(DateTime<Utc>, u64), QueuedCallId>;

#[derive(Debug, Default)]
struct QueueIndex {
    by_idle: BTreeSet<(DateTime<Utc>, u64)>,
    by_seq: BTreeSet<u64>,
    by_level: BTreeSet<(Reverse<u8>, DateTime<Utc>, u64)>,
    lanes: BTreeMap<LaneKey, Lane>,
    agents: AgentCounts,
    callbacks: usize,
    ringing: usize,
}

/// The one-node store (see the module comment).
#[derive(Debug)]
pub struct MemoryStore {
    queues: BTreeMap<String, QueueState>,
    index: HashMap<String, QueueIndex>,
    agents: HashMap<AgentId, AcdAgent>,
    agent_by_seq: HashMap<u64, AgentId>,
    entries: HashMap<QueuedCallId, Entry>,
    timers: BTreeMap<TimerKey, Timer>,
    seq: u64,
}

impl MemoryStore {
    pub fn new(config: &AcdConfig) -> Self {
        let queues = config
            .queues
            .iter()
            .map(|(name, queue)| {
                let state = QueueState::new(name, queue.clone(), config.handle_time_initial());
                (name.clone(), state)
            })
            .collect::<BTreeMap<_, _>>();
        let index = queues
            .keys()
            .map(|name| (name.clone(), QueueIndex::default()))
            .collect();
        Self {
            queues,
            index,
            agents: HashMap::new(),
            agent_by_seq: HashMap::new(),
            entries: HashMap::new(),
            timers: BTreeMap::new(),
            seq: 0,
        }
    }

    fn count(counts: &mut AgentCounts, agent: &AcdAgent, add: bool) {
        let bucket = match agent.state {
            AgentState::LoggedOut => &mut counts.logged_out,
            AgentState::Available if agent.registered => &mut counts.available,
            AgentState::Available => &mut counts.unregistered,
            AgentState::Offered { .. } => &mut counts.offered,
            AgentState::OnCall { .. } => &mut counts.on_call,
            AgentState::WrapUp { .. } => &mut counts.wrap_up,
            AgentState::Away { .. } => &mut counts.away,
        };
        if add {
            *bucket += 1;
        } else {
            *bucket = bucket.saturating_sub(1);
        }
    }

    fn index_agent(&mut self, agent: &AcdAgent, add: bool) {
        for queue in &agent.queues {
            let (Some(index), Some(state)) = (self.index.get_mut(queue), self.queues.get(queue))
            else {
                continue;
            };
            Self::count(&mut index.agents, agent, add);
            if !agent.offerable() {
                continue;
            }
            let Some(level) = agent.level(&state.config.skills) else {
                continue;
            };
            let idle = (agent.idle_since, agent.seq);
            let by_level = (Reverse(level), agent.idle_since, agent.seq);
            if add {
                index.by_idle.insert(idle);
                index.by_seq.insert(agent.seq);
                index.by_level.insert(by_level);
            } else {
                index.by_idle.remove(&idle);
                index.by_seq.remove(&agent.seq);
                index.by_level.remove(&by_level);
            }
        }
    }

    fn index_entry(&mut self, entry: &Entry, add: bool) {
        let Some(index) = self.index.get_mut(&entry.queue) else {
            return;
        };
        let step = |n: &mut usize| {
            if add {
                *n += 1
            } else {
                *n = n.saturating_sub(1)
            }
        };
        match entry.status {
            EntryStatus::Waiting => {
                if matches!(entry.reach, Reach::CallBack { .. }) {
                    step(&mut index.callbacks);
                }
                let key = (Reverse(entry.priority), entry.skills.clone());
                let place = (entry.arrived, entry.seq);
                if add {
                    index
                        .lanes
                        .entry(key)
                        .or_default()
                        .insert(place, entry.call.clone());
                } else if let Some(lane) = index.lanes.get_mut(&key) {
                    lane.remove(&place);
                    if lane.is_empty() {
                        index.lanes.remove(&key);
                    }
                }
            }
            EntryStatus::Offered { .. } => step(&mut index.ringing),
            EntryStatus::Bridged { .. } => {}
        }
    }
}

impl AcdStore for MemoryStore {
    fn queue(&self, name: &str) -> Option<&QueueState> {
        self.queues.get(name)
    }

    fn queue_mut(&mut self, name: &str) -> Option<&mut QueueState> {
        self.queues.get_mut(name)
    }

    fn queue_names(&self) -> Vec<String> {
        self.queues.keys().cloned().collect()
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    fn agent(&self, id: &AgentId) -> Option<&AcdAgent> {
        self.agents.get(id)
    }

    fn put_agent(&mut self, agent: AcdAgent) {
        if let Some(old) = self.agents.remove(&agent.id) {
            self.index_agent(&old, false);
        }
        self.index_agent(&agent, true);
        self.agent_by_seq.insert(agent.seq, agent.id.clone());
        self.agents.insert(agent.id.clone(), agent);
    }

    fn entry(&self, call: &QueuedCallId) -> Option<&Entry> {
        self.entries.get(call)
    }

    fn put_entry(&mut self, entry: Entry) {
        if let Some(old) = self.entries.remove(&entry.call) {
            self.index_entry(&old, false);
        }
        self.index_entry(&entry, true);
        self.entries.insert(entry.call.clone(), entry);
    }

    fn remove_entry(&mut self, call: &QueuedCallId) -> Option<Entry> {
        let old = self.entries.remove(call)?;
        self.index_entry(&old, false);
        Some(old)
    }

    fn available<'a>(
        &'a self,
        queue: &str,
        order: AgentOrder,
    ) -> Box<dyn Iterator<Item = &'a AcdAgent> + 'a> {
        let Some(index) = self.index.get(queue) else {
            return Box::new(std::iter::empty());
        };
        let agent = |seq: u64| {
            self.agent_by_seq
                .get(&seq)
                .and_then(|id| self.agents.get(id))
        };
        match order {
            AgentOrder::LongestIdle => {
                Box::new(index.by_idle.iter().filter_map(move |(_, seq)| agent(*seq)))
            }
            AgentOrder::BestLevel => Box::new(
                index
                    .by_level
                    .iter()
                    .filter_map(move |(_, _, seq)| agent(*seq)),
            ),
            AgentOrder::RoundRobinAfter(last) => {
                let last = last.unwrap_or(0);
                let after = index.by_seq.range(last.saturating_add(1)..);
                let before = index.by_seq.range(..=last);
                Box::new(after.chain(before).filter_map(move |seq| agent(*seq)))
            }
        }
    }

    fn lanes<'a>(
        &'a self,
        queue: &str,
    ) -> Box<dyn Iterator<Item = Box<dyn Iterator<Item = &'a Entry> + 'a>> + 'a> {
        let Some(index) = self.index.get(queue) else {
            return Box::new(std::iter::empty());
        };
        Box::new(index.lanes.values().map(move |lane| {
            Box::new(lane.values().filter_map(move |call| self.entries.get(call)))
                as Box<dyn Iterator<Item = &'a Entry> + 'a>
        }))
    }

    fn ahead_of(&self, entry: &Entry) -> usize {
        let Some(index) = self.index.get(&entry.queue) else {
            return 0;
        };
        let mine = Reverse(entry.priority);
        let mut ahead = 0;
        for ((priority, _), lane) in &index.lanes {
            if *priority < mine {
                ahead += lane.len();
            } else if *priority == mine {
                ahead += lane.range(..(entry.arrived, entry.seq)).count();
            } else {
                break;
            }
        }
        ahead
    }

    fn agent_counts(&self, queue: &str) -> AgentCounts {
        self.index
            .get(queue)
            .map(|index| index.agents)
            .unwrap_or_default()
    }

    fn line_counts(&self, queue: &str) -> LineCounts {
        let Some(index) = self.index.get(queue) else {
            return LineCounts::default();
        };
        LineCounts {
            waiting: index.lanes.values().map(BTreeMap::len).sum(),
            waiting_for_callback: index.callbacks,
            ringing: index.ringing,
            oldest: index
                .lanes
                .values()
                .filter_map(|lane| lane.keys().next().map(|(arrived, _)| *arrived))
                .min(),
        }
    }

    fn set_timer(&mut self, at: DateTime<Utc>, timer: Timer) -> TimerKey {
        let key = TimerKey {
            at,
            seq: self.next_seq(),
        };
        self.timers.insert(key, timer);
        key
    }

    fn cancel_timer(&mut self, key: TimerKey) {
        self.timers.remove(&key);
    }

    fn pop_due(&mut self, now: DateTime<Utc>) -> Option<(TimerKey, Timer)> {
        let first = self.timers.first_key_value().map(|(key, _)| *key)?;
        if first.at > now {
            return None;
        }
        self.timers.remove_entry(&first)
    }

    fn next_deadline(&self) -> Option<DateTime<Utc>> {
        self.timers.first_key_value().map(|(key, _)| key.at)
    }
}
