//! Property tests: random sequences of callers, agents, answers, failures and time, checked
//! after every event against what must always hold.

use super::tests::Scene;
use super::*;
use chrono::TimeDelta;
use proptest::prelude::*;
use std::collections::{BTreeMap, HashMap};

const CALLS: u8 = 8;
const AGENTS: u8 = 4;
const QUEUES: [&str; 3] = ["q", "o", "r"];

#[derive(Debug, Clone)]
enum Op {
    Arrive {
        call: u8,
        queue: u8,
        priority: u8,
        skill: bool,
        callback: bool,
    },
    HangUp(u8),
    CallbackRequest(u8),
    CallbackConnect(u8),
    CallbackFail(u8),
    /// The agent answers whatever is ringing them (if anything).
    AnswerRinging(u8),
    /// The agent's ringing leg fails.
    FailRinging(u8, u8),
    /// An answer from a random agent for a random call (mostly stale).
    AnswerAny(u8, u8),
    Login {
        agent: u8,
        queues: u8,
        proficiency: u8,
        extra: bool,
    },
    Logout(u8),
    Register(u8),
    Unregister(u8),
    Ready(u8),
    Away(u8),
    Wait(u8),
}

fn op() -> impl proptest::strategy::Strategy<Value = Op> {
    prop_oneof![
        4 => (0..CALLS, 0..3u8, 0..3u8, any::<bool>(), any::<bool>()).prop_map(
            |(call, queue, priority, skill, callback)| Op::Arrive { call, queue, priority, skill, callback }
        ),
        1 => (0..CALLS).prop_map(Op::HangUp),
        1 => (0..CALLS).prop_map(Op::CallbackRequest),
        1 => (0..CALLS).prop_map(Op::CallbackConnect),
        1 => (0..CALLS).prop_map(Op::CallbackFail),
        3 => (0..AGENTS).prop_map(Op::AnswerRinging),
        1 => (0..AGENTS, 0..5u8).prop_map(|(a, c)| Op::FailRinging(a, c)),
        1 => (0..CALLS, 0..AGENTS).prop_map(|(c, a)| Op::AnswerAny(c, a)),
        2 => (0..AGENTS, 1..8u8, 1..=5u8, any::<bool>()).prop_map(
            |(agent, queues, proficiency, extra)| Op::Login { agent, queues, proficiency, extra }
        ),
        1 => (0..AGENTS).prop_map(Op::Logout),
        1 => (0..AGENTS).prop_map(Op::Register),
        1 => (0..AGENTS).prop_map(Op::Unregister),
        2 => (0..AGENTS).prop_map(Op::Ready),
        1 => (0..AGENTS).prop_map(Op::Away),
        4 => (0..60u8).prop_map(Op::Wait),
    ]
}

/// Three queues using every feature: skills with widening, overflow, round robin, maximum
/// waits, callbacks, announcements, wrap-up.
fn busy_config() -> AcdConfig {
    let q = QueueConfig {
        strategy: RoutingStrategy::Skills,
        skills: vec!["s".into()],
        min_proficiency: 3,
        widen: vec![WidenStep {
            after_secs: 20,
            min_proficiency: 1,
        }],
        ring_timeout_secs: 10,
        wrap_up_secs: 5,
        max_wait_secs: Some(120),
        announce_every_secs: 15,
        rona_misses: 2,
        reoffer_delay_secs: 15,
        callback: CallbackConfig {
            allowed: true,
            retries: 1,
            retry_delay_secs: 20,
            ring_timeout_secs: 10,
        },
        ..QueueConfig::default()
    };
    let o = QueueConfig {
        overflow: Some(Overflow {
            after_secs: 30,
            to: "q".into(),
        }),
        max_wait_secs: Some(200),
        ring_timeout_secs: 8,
        wrap_up_secs: 0,
        ..QueueConfig::default()
    };
    let r = QueueConfig {
        strategy: RoutingStrategy::RoundRobin,
        ring_timeout_secs: 12,
        ..QueueConfig::default()
    };
    AcdConfig {
        handle_time_initial_secs: 60,
        queues: BTreeMap::from([("q".into(), q), ("o".into(), o), ("r".into(), r)]),
    }
}

fn call_id(n: u8) -> QueuedCallId {
    QueuedCallId(format!("c{n}"))
}

fn agent_id(n: u8) -> AgentId {
    AgentId(format!("a{n}"))
}

fn event(s: &Scene, op: &Op) -> AcdEvent {
    let ringing = |a: u8| match s.acd.agent(&agent_id(a)).map(|a| a.state.clone()) {
        Some(AgentState::Offered { call }) => Some(call),
        _ => None,
    };
    match op.clone() {
        Op::Arrive {
            call,
            queue,
            priority,
            skill,
            callback,
        } => AcdEvent::Enqueue(Arrival {
            call: call_id(call),
            queue: QUEUES[queue as usize].into(),
            priority: CallerPriority(priority as i32),
            skills: if skill { vec!["x".into()] } else { vec![] },
            callback,
            max_wait: None,
        }),
        Op::HangUp(c) => AcdEvent::CallerHungUp { call: call_id(c) },
        Op::CallbackRequest(c) => AcdEvent::CallbackRequested { call: call_id(c) },
        Op::CallbackConnect(c) => AcdEvent::CallbackConnected { call: call_id(c) },
        Op::CallbackFail(c) => AcdEvent::CallbackFailed { call: call_id(c) },
        Op::AnswerRinging(a) => match ringing(a) {
            Some(call) => AcdEvent::OfferAnswered {
                call,
                agent: agent_id(a),
            },
            None => AcdEvent::Tick,
        },
        Op::FailRinging(a, cause) => match ringing(a) {
            Some(call) => AcdEvent::OfferFailed {
                call,
                agent: agent_id(a),
                cause: [
                    LegFailure::NoAnswer,
                    LegFailure::Busy,
                    LegFailure::Declined,
                    LegFailure::Error,
                    LegFailure::HungUp,
                ][cause as usize % 5],
            },
            None => AcdEvent::Tick,
        },
        Op::AnswerAny(c, a) => AcdEvent::OfferAnswered {
            call: call_id(c),
            agent: agent_id(a),
        },
        Op::Login {
            agent,
            queues,
            proficiency,
            extra,
        } => {
            let mut skills = BTreeMap::from([("s".to_string(), proficiency)]);
            if extra {
                skills.insert("x".into(), 6 - proficiency);
            }
            AcdEvent::AgentLoggedIn {
                agent: agent_id(agent),
                queues: (0..3)
                    .filter(|i| queues & (1 << i) != 0)
                    .map(|i| QUEUES[i].to_string())
                    .collect(),
                skills,
                registered: true,
            }
        }
        Op::Logout(a) => AcdEvent::AgentLoggedOut { agent: agent_id(a) },
        Op::Register(a) => AcdEvent::AgentRegistered { agent: agent_id(a) },
        Op::Unregister(a) => AcdEvent::AgentUnregistered { agent: agent_id(a) },
        Op::Ready(a) => AcdEvent::AgentReady { agent: agent_id(a) },
        Op::Away(a) => AcdEvent::AgentAway {
            agent: agent_id(a),
            reason: "break".into(),
        },
        Op::Wait(_) => AcdEvent::Tick,
    }
}

/// What the records say about one caller's stay.
#[derive(Debug, Default)]
struct Stay {
    answered: bool,
    ringing: bool,
}

/// Follows the records and checks each stay's story.
#[derive(Default)]
struct Story {
    live: HashMap<QueuedCallId, Stay>,
}

impl Story {
    fn follow(&mut self, decisions: &[Decision]) -> Result<(), String> {
        for decision in decisions {
            let Decision::Record(record) = decision else {
                continue;
            };
            let call = &record.call;
            if let Some(stay) = self.live.get(call)
                && stay.ringing
                && !matches!(
                    record.kind,
                    RecordKind::Answered { .. }
                        | RecordKind::Requeued { .. }
                        | RecordKind::Abandoned { .. }
                        | RecordKind::CallbackFailed { .. }
                )
            {
                return Err(format!("{call}: an offer ended in {:?}", record.kind));
            }
            match &record.kind {
                RecordKind::Enqueued { .. } => {
                    self.live.entry(call.clone()).or_default();
                }
                RecordKind::NotQueued { .. } => {
                    if self.live.contains_key(call) {
                        return Err(format!("{call}: refused while queued"));
                    }
                }
                RecordKind::Offered { .. } => {
                    let stay = self
                        .live
                        .get_mut(call)
                        .ok_or(format!("{call}: offered unqueued"))?;
                    if stay.ringing || stay.answered {
                        return Err(format!("{call}: offered twice"));
                    }
                    stay.ringing = true;
                }
                RecordKind::Answered { .. } => {
                    let stay = self
                        .live
                        .get_mut(call)
                        .ok_or(format!("{call}: answered unqueued"))?;
                    if stay.answered {
                        return Err(format!("{call}: served twice"));
                    }
                    stay.answered = true;
                    stay.ringing = false;
                }
                RecordKind::Requeued { .. } | RecordKind::CallbackFailed { .. } => {
                    if let Some(stay) = self.live.get_mut(call) {
                        stay.ringing = false;
                    }
                }
                RecordKind::Abandoned { .. }
                | RecordKind::TimedOut { .. }
                | RecordKind::CallbackGaveUp
                | RecordKind::Completed { .. } => {
                    if self.live.remove(call).is_none() {
                        return Err(format!("{call}: ended twice ({:?})", record.kind));
                    }
                }
                RecordKind::Overflowed { .. } | RecordKind::CallbackRequested => {}
            }
        }
        Ok(())
    }
}

/// Everything that must hold between events.
fn check(s: &Scene, story: &Story) -> Result<(), String> {
    let acd = &s.acd;
    // Nobody lost: the ACD holds exactly the callers whose stay has not ended.
    for n in 0..CALLS {
        let call = call_id(n);
        if acd.entry(&call).is_some() != story.live.contains_key(&call) {
            return Err(format!(
                "{call}: in the ACD {} but live {}",
                acd.entry(&call).is_some(),
                story.live.contains_key(&call)
            ));
        }
    }
    // Agents and callers agree on who rings and who talks: one call per agent, one agent
    // per call.
    for a in 0..AGENTS {
        let id = agent_id(a);
        let Some(agent) = acd.agent(&id) else {
            continue;
        };
        let consistent = match &agent.state {
            AgentState::Offered { call } => {
                acd.entry(call).and_then(|e| e.offered_to()) == Some(&id)
            }
            AgentState::OnCall { call } => matches!(
                acd.entry(call).map(|e| &e.status),
                Some(EntryStatus::Bridged { agent, .. }) if agent == &id
            ),
            _ => true,
        };
        if !consistent {
            return Err(format!(
                "{id} is {:?}, which its caller does not show",
                agent.state
            ));
        }
    }
    for n in 0..CALLS {
        let call = call_id(n);
        let Some(entry) = acd.entry(&call) else {
            continue;
        };
        match &entry.status {
            EntryStatus::Offered { agent, .. } => {
                let state = acd.agent(agent).map(|a| a.state.clone());
                if state != Some(AgentState::Offered { call: call.clone() }) {
                    return Err(format!("{call} is offered to {agent}, who is {state:?}"));
                }
            }
            EntryStatus::Bridged { agent, .. } => {
                let state = acd.agent(agent).map(|a| a.state.clone());
                if !matches!(state, Some(AgentState::OnCall { call: ref c }) if c == &call) {
                    return Err(format!("{call} is bridged to {agent}, who is {state:?}"));
                }
            }
            EntryStatus::Waiting => {}
        }
    }
    // No agent sits free while a caller they may take waits (one unavailable agent, a
    // caller they refused, or a frozen widening never halts the line).
    for a in 0..AGENTS {
        let Some(agent) = acd.agent(&agent_id(a)).filter(|a| a.offerable()) else {
            continue;
        };
        for n in 0..CALLS {
            let Some(entry) = acd.entry(&call_id(n)) else {
                continue;
            };
            let Some(queue) = acd.store().queue(&entry.queue) else {
                continue;
            };
            let minimum = match queue.config.strategy {
                RoutingStrategy::Skills => queue.config.min_proficiency_after(entry.waited(s.now)),
                _ => 1,
            };
            let may = agent.serves(&entry.queue)
                && entry.ready(s.now)
                && !entry.passes_over(&agent.id, s.now)
                && agent.level(&entry.skills).is_some_and(|l| l >= minimum);
            if may {
                return Err(format!(
                    "{} is free while {} waits for them",
                    agent.id, entry.call
                ));
            }
        }
    }
    // Figures count each caller once.
    for name in QUEUES {
        let f = acd.queue_figures(name, s.now).ok_or("figures")?;
        let ended = f.answered + f.abandoned + f.timed_out + f.overflowed + f.callbacks_failed;
        let here = (f.waiting + f.ringing) as u64;
        if f.offered != ended + here {
            return Err(format!(
                "{name}: offered {} != ended {ended} + in line {here}: {f:?}",
                f.offered
            ));
        }
        let a = f.agents;
        let members = (0..AGENTS)
            .filter_map(|n| acd.agent(&agent_id(n)))
            .filter(|agent| agent.serves(name))
            .count();
        let counted = a.logged_out
            + a.available
            + a.unregistered
            + a.offered
            + a.on_call
            + a.wrap_up
            + a.away;
        if counted != members {
            return Err(format!(
                "{name}: {counted} agents by state, {members} members"
            ));
        }
    }
    Ok(())
}

fn run(ops: &[Op]) -> Result<(), String> {
    let mut s = Scene::new(&busy_config());
    let mut story = Story::default();
    for op in ops {
        if let Op::Wait(secs) = op {
            s.now += TimeDelta::seconds(i64::from(*secs));
        }
        let event = event(&s, op);
        let decisions = s.at(event);
        story
            .follow(&decisions)
            .map_err(|e| format!("after {op:?}: {e}"))?;
        check(&s, &story).map_err(|e| format!("after {op:?}: {e}"))?;
    }
    // Every caller hangs up and time passes: every stay ends, nobody is stuck.
    for n in 0..CALLS {
        let decisions = s.at(AcdEvent::CallerHungUp { call: call_id(n) });
        story.follow(&decisions)?;
    }
    s.now += TimeDelta::seconds(1000);
    let decisions = s.at(AcdEvent::Tick);
    story.follow(&decisions)?;
    check(&s, &story)?;
    if !story.live.is_empty() {
        return Err(format!(
            "stays never ended: {:?}",
            story.live.keys().collect::<Vec<_>>()
        ));
    }
    for a in 0..AGENTS {
        if let Some(agent) = s.acd.agent(&agent_id(a))
            && matches!(
                agent.state,
                AgentState::Offered { .. } | AgentState::OnCall { .. } | AgentState::WrapUp { .. }
            )
        {
            return Err(format!("{} stuck in {:?}", agent.id, agent.state));
        }
    }
    if s.acd.next_deadline().is_some() {
        return Err(format!(
            "a deadline outlived everyone: {:?}",
            s.acd.next_deadline()
        ));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// No caller is served twice or lost, no agent is offered two calls at once, every
    /// offer ends bridged, re-queued or abandoned, nobody waits while a fitting agent
    /// idles, the figures count each caller once, and nobody is left stuck.
    #[test]
    fn random_days_keep_every_promise(ops in proptest::collection::vec(op(), 1..120)) {
        if let Err(broken) = run(&ops) {
            prop_assert!(false, "{}", broken);
        }
    }

    /// One queue, no skills, agents that always answer: each offer goes to the first
    /// caller in line (highest priority, then earliest arrival).
    #[test]
    fn offers_follow_priority_then_arrival_order(ops in proptest::collection::vec(op(), 1..120)) {
        let config = super::tests::one_queue(|q| q.wrap_up_secs = 0);
        let mut s = Scene::new(&config);
        for op in &ops {
            let event = match op {
                Op::Arrive { call, priority, .. } => AcdEvent::Enqueue(Arrival {
                    call: call_id(*call),
                    queue: "q".into(),
                    priority: CallerPriority(i32::from(*priority)),
                    skills: vec![],
                    callback: false,
                    max_wait: None,
                }),
                Op::HangUp(c) => AcdEvent::CallerHungUp { call: call_id(*c) },
                Op::Login { agent, .. } => AcdEvent::AgentLoggedIn {
                    agent: agent_id(*agent),
                    queues: vec!["q".into()],
                    skills: BTreeMap::new(),
                    registered: true,
                },
                Op::Away(a) => AcdEvent::AgentAway { agent: agent_id(*a), reason: "break".into() },
                Op::Ready(a) => AcdEvent::AgentReady { agent: agent_id(*a) },
                Op::Wait(secs) => {
                    s.now += TimeDelta::seconds(i64::from(*secs));
                    AcdEvent::Tick
                }
                _ => continue,
            };
            let mut pending = s.at(event);
            // The shell answers every offer at once, and calls end at once.
            while let Some(Decision::Offer { call, agent, .. }) = pending
                .iter()
                .find(|d| matches!(d, Decision::Offer { .. }))
                .cloned()
            {
                let offered = s.acd.entry(&call).map(|e| e.place());
                prop_assert!(offered.is_some(), "{} offered but unknown", call);
                let offered = offered.unwrap_or_else(|| unreachable!());
                for n in 0..CALLS {
                    if let Some(other) = s.acd.entry(&call_id(n)).filter(|e| e.is_waiting()) {
                        prop_assert!(
                            offered < other.place(),
                            "{} offered while {} waits ahead", call, other.call
                        );
                    }
                }
                s.at(AcdEvent::OfferAnswered { call: call.clone(), agent });
                pending = s.at(AcdEvent::CallEnded { call });
            }
        }
    }
}
