//! The ACD's rules, one scripted scene each, with a fake clock.

use super::*;
use chrono::{DateTime, TimeDelta, Utc};
use std::collections::BTreeMap;
use std::time::Duration;

/// A scene: an ACD, a clock, and everything it decided.
pub(super) struct Scene {
    pub acd: Acd,
    pub now: DateTime<Utc>,
}

pub(super) fn start() -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH + TimeDelta::days(20_000) + TimeDelta::hours(9)
}

/// One queue `q` with the given changes to the defaults.
pub(super) fn one_queue(change: impl FnOnce(&mut QueueConfig)) -> AcdConfig {
    let mut queue = QueueConfig {
        announce: false,
        ..QueueConfig::default()
    };
    change(&mut queue);
    AcdConfig {
        handle_time_initial_secs: 120,
        queues: BTreeMap::from([("q".to_string(), queue)]),
    }
}

fn call(id: &str) -> QueuedCallId {
    QueuedCallId(id.into())
}

fn agent(id: &str) -> AgentId {
    AgentId(id.into())
}

impl Scene {
    pub fn new(config: &AcdConfig) -> Self {
        Self {
            acd: Acd::new(config),
            now: start(),
        }
    }

    pub fn at(&mut self, event: AcdEvent) -> Vec<Decision> {
        self.acd.handle(event, self.now)
    }

    /// Lets `secs` pass and returns what the deadlines decided.
    pub fn wait(&mut self, secs: i64) -> Vec<Decision> {
        self.now += TimeDelta::seconds(secs);
        self.at(AcdEvent::Tick)
    }

    fn login_with(&mut self, id: &str, queues: &[&str], skills: &[(&str, u8)]) -> Vec<Decision> {
        self.at(AcdEvent::AgentLoggedIn {
            agent: agent(id),
            queues: queues.iter().map(|q| q.to_string()).collect(),
            skills: skills.iter().map(|(s, p)| (s.to_string(), *p)).collect(),
            registered: true,
        })
    }

    fn login(&mut self, id: &str) -> Vec<Decision> {
        self.login_with(id, &["q"], &[])
    }

    fn arrive_in(
        &mut self,
        id: &str,
        queue: &str,
        priority: i32,
        skills: &[&str],
    ) -> Vec<Decision> {
        self.at(AcdEvent::Enqueue(Arrival {
            call: call(id),
            queue: queue.into(),
            priority: CallerPriority(priority),
            skills: skills.iter().map(|s| s.to_string()).collect(),
            callback: true,
            max_wait: None,
        }))
    }

    fn arrive(&mut self, id: &str) -> Vec<Decision> {
        self.arrive_in(id, "q", 1, &[])
    }

    fn answer(&mut self, c: &str, a: &str) -> Vec<Decision> {
        self.at(AcdEvent::OfferAnswered {
            call: call(c),
            agent: agent(a),
        })
    }

    fn fail(&mut self, c: &str, a: &str, cause: LegFailure) -> Vec<Decision> {
        self.at(AcdEvent::OfferFailed {
            call: call(c),
            agent: agent(a),
            cause,
        })
    }

    fn end(&mut self, c: &str) -> Vec<Decision> {
        self.at(AcdEvent::CallEnded { call: call(c) })
    }

    fn state(&self, a: &str) -> AgentState {
        self.acd
            .agent(&agent(a))
            .map_or(AgentState::LoggedOut, |a| a.state.clone())
    }

    fn figures(&self) -> QueueFigures {
        self.acd
            .queue_figures("q", self.now)
            .expect("queue q exists")
    }
}

/// The (call, agent) pairs offered, in order.
fn offers(decisions: &[Decision]) -> Vec<(String, String)> {
    decisions
        .iter()
        .filter_map(|d| match d {
            Decision::Offer { call, agent, .. } => Some((call.0.clone(), agent.0.clone())),
            _ => None,
        })
        .collect()
}

fn offered(decisions: &[Decision], c: &str, a: &str) -> bool {
    offers(decisions).contains(&(c.to_string(), a.to_string()))
}

fn cancelled(decisions: &[Decision], c: &str, a: &str) -> bool {
    decisions
        .iter()
        .any(|d| matches!(d, Decision::CancelOffer { call, agent } if call.0 == c && agent.0 == a))
}

fn records(decisions: &[Decision]) -> Vec<&RecordKind> {
    decisions
        .iter()
        .filter_map(|d| match d {
            Decision::Record(r) => Some(&r.kind),
            _ => None,
        })
        .collect()
}

#[test]
fn rona_moves_the_caller_to_a_second_agent_keeping_their_place() {
    let mut s = Scene::new(&one_queue(|q| q.ring_timeout_secs = 15));
    s.login("ann");
    s.login("bob");
    s.login("cat");
    s.at(AcdEvent::AgentAway {
        agent: agent("bob"),
        reason: "coffee".into(),
    });
    let first = s.arrive("c1");
    assert!(
        offered(&first, "c1", "ann"),
        "ann has been idle longest: {first:?}"
    );
    s.arrive("busy");
    s.answer("busy", "cat");
    s.wait(5);
    s.arrive("c2");
    s.wait(5);
    s.arrive("c3");
    // Ann never answers.
    let timeout = s.wait(5);
    assert!(cancelled(&timeout, "c1", "ann"), "{timeout:?}");
    assert!(records(&timeout).iter().any(|r| matches!(
        r,
        RecordKind::Requeued {
            cause: Some(LegFailure::NoAnswer),
            ..
        }
    )));
    assert!(!offered(&timeout, "c1", "ann"), "ann is passed over for c1");
    assert_eq!(
        s.acd.estimate(&call("c1"), s.now).map(|e| e.position),
        Some(1),
        "c1 is back at the head, ahead of c2 and c3"
    );
    // A second agent comes: c1 goes to them, ahead of everyone who came later.
    let back = s.at(AcdEvent::AgentReady {
        agent: agent("bob"),
    });
    assert!(offered(&back, "c1", "bob"), "{back:?}");
}

#[test]
fn a_declined_offer_does_not_keep_ringing_the_only_agent() {
    let mut s = Scene::new(&one_queue(|q| {
        q.rona_misses = 3;
        q.reoffer_delay_secs = 30;
    }));
    s.login("ann");
    s.arrive("c1");
    let declined = s.fail("c1", "ann", LegFailure::Declined);
    assert!(
        offers(&declined).is_empty(),
        "not straight back to ann: {declined:?}"
    );
    assert_eq!(s.state("ann"), AgentState::Available);
    // Another caller is not held up by c1's refusal.
    let other = s.arrive("c2");
    assert!(offered(&other, "c2", "ann"), "{other:?}");
    s.fail("c2", "ann", LegFailure::Busy);
    // Once the delay is over the only agent may be offered c1 again: nobody is stuck.
    let later = s.wait(30);
    assert!(offered(&later, "c1", "ann"), "{later:?}");
}

#[test]
fn a_vip_caller_is_served_before_an_earlier_standard_caller() {
    let mut s = Scene::new(&one_queue(|_| {}));
    s.login("ann");
    s.arrive("busy");
    s.answer("busy", "ann");
    s.arrive_in("standard", "q", 1, &[]);
    s.wait(30);
    s.arrive_in("vip", "q", 2, &[]);
    assert_eq!(
        s.acd.estimate(&call("vip"), s.now).map(|e| e.position),
        Some(1)
    );
    assert_eq!(
        s.acd.estimate(&call("standard"), s.now).map(|e| e.position),
        Some(2)
    );
    s.end("busy");
    let next = s.at(AcdEvent::AgentReady {
        agent: agent("ann"),
    });
    assert_eq!(offers(&next), [("vip".to_string(), "ann".to_string())]);
}

#[test]
fn within_a_priority_callers_are_served_in_arrival_order() {
    let mut s = Scene::new(&one_queue(|q| q.wrap_up_secs = 0));
    s.login("ann");
    for c in ["c1", "c2", "c3", "c4"] {
        s.arrive(c);
        s.wait(1);
    }
    let mut served = Vec::new();
    let mut current = "c1".to_string();
    for _ in 0..4 {
        served.push(current.clone());
        s.answer(&current, "ann");
        let next = s.end(&current);
        match offers(&next).first() {
            Some((c, _)) => current = c.clone(),
            None => break,
        }
    }
    assert_eq!(served, ["c1", "c2", "c3", "c4"]);
}

fn two_queues_with_overflow() -> AcdConfig {
    let mut config = one_queue(|_| {});
    let cards = QueueConfig {
        announce: false,
        overflow: Some(Overflow {
            after_secs: 60,
            to: "q".into(),
        }),
        ..QueueConfig::default()
    };
    config.queues.insert("cards".into(), cards);
    config
}

#[test]
fn overflow_keeps_the_original_arrival_time() {
    let mut s = Scene::new(&two_queues_with_overflow());
    s.login_with("carla", &["cards"], &[]);
    s.login("ann");
    s.arrive_in("busy-cards", "cards", 1, &[]);
    s.answer("busy-cards", "carla");
    s.arrive("busy-q");
    s.answer("busy-q", "ann");
    s.arrive_in("lost-card", "cards", 1, &[]);
    s.wait(30);
    s.arrive("general"); // arrives in q 30 s after lost-card arrived in cards
    let moved = s.wait(30);
    assert!(
        records(&moved).contains(&&RecordKind::Overflowed { to: "q".into() }),
        "{moved:?}"
    );
    let entry = s.acd.entry(&call("lost-card")).expect("still queued");
    assert_eq!((entry.queue.as_str(), entry.arrived), ("q", start()));
    assert_eq!(
        s.acd
            .estimate(&call("lost-card"), s.now)
            .map(|e| e.position),
        Some(1),
        "ahead of the caller who came later"
    );
    s.end("busy-q");
    let next = s.at(AcdEvent::AgentReady {
        agent: agent("ann"),
    });
    assert!(offered(&next, "lost-card", "ann"), "{next:?}");
    assert_eq!(
        s.acd.queue_figures("cards", s.now).map(|f| f.overflowed),
        Some(1)
    );
}

#[test]
fn overflow_waits_while_the_target_has_nobody_staffed() {
    let mut s = Scene::new(&two_queues_with_overflow());
    s.login_with("carla", &["cards"], &[]);
    s.arrive_in("busy", "cards", 1, &[]);
    s.answer("busy", "carla");
    s.arrive_in("c1", "cards", 1, &[]);
    s.wait(60);
    assert_eq!(
        s.acd.entry(&call("c1")).map(|e| e.queue.as_str()),
        Some("cards")
    );
}

fn skills_queue() -> AcdConfig {
    one_queue(|q| {
        q.strategy = RoutingStrategy::Skills;
        q.skills = vec!["cards".into()];
        q.min_proficiency = 4;
        q.widen = vec![WidenStep {
            after_secs: 30,
            min_proficiency: 2,
        }];
    })
}

#[test]
fn the_best_proficiency_wins() {
    let mut s = Scene::new(&skills_queue());
    s.login_with("expert", &["q"], &[("cards", 5)]);
    s.wait(10);
    s.login_with("good", &["q"], &[("cards", 4)]);
    let first = s.arrive("c1");
    assert!(offered(&first, "c1", "expert"), "{first:?}");
    s.login_with("top", &["q"], &[("cards", 5)]);
    let second = s.arrive("c2");
    assert!(
        offered(&second, "c2", "top"),
        "5 beats 4 even though 'good' idled longer"
    );
}

#[test]
fn the_skill_range_widens_while_the_caller_keeps_their_place() {
    let mut s = Scene::new(&skills_queue());
    s.login_with("novice", &["q"], &[("cards", 2)]);
    let first = s.arrive("c1");
    assert!(
        offers(&first).is_empty(),
        "proficiency 2 is below the starting 4"
    );
    s.wait(10);
    s.arrive("c2");
    let widened = s.wait(20);
    assert!(
        offered(&widened, "c1", "novice"),
        "after 30 s, c1 (first in line) takes 2: {widened:?}"
    );
    s.answer("c1", "novice");
    assert_eq!(
        s.acd.estimate(&call("c2"), s.now).map(|e| e.position),
        Some(1)
    );
}

#[test]
fn an_agent_without_a_caller_skill_is_not_offered_that_caller_but_serves_the_next() {
    let mut s = Scene::new(&one_queue(|_| {}));
    s.login_with("ann", &["q"], &[]);
    s.arrive_in("hola", "q", 1, &["spanish"]);
    let next = s.arrive("hello");
    assert!(
        offered(&next, "hello", "ann"),
        "the spanish caller does not block: {next:?}"
    );
    s.login_with("ana", &["q"], &[("spanish", 3)]);
    assert_eq!(
        s.acd
            .entry(&call("hola"))
            .and_then(|e| e.offered_to().cloned()),
        Some(agent("ana"))
    );
}

#[test]
fn wrap_up_ends_by_itself_or_early_when_the_agent_says_so() {
    let mut s = Scene::new(&one_queue(|q| q.wrap_up_secs = 30));
    s.login("ann");
    s.arrive("c1");
    s.answer("c1", "ann");
    s.wait(60);
    s.end("c1");
    assert!(matches!(s.state("ann"), AgentState::WrapUp { .. }));
    s.arrive("c2");
    let done = s.wait(30);
    assert!(
        offered(&done, "c2", "ann"),
        "wrap-up over, the waiting caller is offered: {done:?}"
    );
    s.answer("c2", "ann");
    s.end("c2");
    s.arrive("c3");
    s.wait(5);
    let early = s.at(AcdEvent::AgentReady {
        agent: agent("ann"),
    });
    assert!(offered(&early, "c3", "ann"), "{early:?}");
    assert_eq!(s.acd.next_deadline().map(|d| d > s.now), Some(true));
    let figures = s.figures();
    assert_eq!(figures.average_handle_time_secs, Some((90.0 + 5.0) / 2.0));
}

#[test]
fn max_wait_hands_the_caller_back_to_the_dialplan() {
    let mut s = Scene::new(&one_queue(|q| q.max_wait_secs = Some(120)));
    s.login("ann");
    s.arrive("busy");
    s.answer("busy", "ann");
    s.arrive("c1");
    assert!(s.wait(119).is_empty());
    let out = s.wait(1);
    assert!(
        out.iter().any(
            |d| matches!(d, Decision::TimedOut { call, queue } if call.0 == "c1" && queue == "q")
        ),
        "{out:?}"
    );
    assert!(s.acd.entry(&call("c1")).is_none());
    assert_eq!(s.figures().timed_out, 1);
}

#[test]
fn a_transfer_max_wait_replaces_the_queue_one_and_a_ringing_offer_is_not_cut() {
    let mut s = Scene::new(&one_queue(|q| {
        q.max_wait_secs = Some(600);
        q.ring_timeout_secs = 20;
    }));
    s.login("ann");
    s.arrive("busy");
    s.answer("busy", "ann");
    s.at(AcdEvent::Enqueue(Arrival {
        call: call("c1"),
        queue: "q".into(),
        priority: CallerPriority(1),
        skills: vec![],
        callback: false,
        max_wait: Some(Duration::from_secs(30)),
    }));
    s.wait(20);
    s.end("busy");
    let offer = s.at(AcdEvent::AgentReady {
        agent: agent("ann"),
    });
    assert!(offered(&offer, "c1", "ann"));
    let during = s.wait(15); // past 30 s of waiting, but ann's phone is ringing
    assert!(
        !during
            .iter()
            .any(|d| matches!(d, Decision::TimedOut { .. })),
        "{during:?}"
    );
    let missed = s.wait(5);
    assert!(
        missed
            .iter()
            .any(|d| matches!(d, Decision::TimedOut { .. })),
        "applies once the offer fails"
    );
}

#[test]
fn abandon_while_ringing_cancels_the_agent_leg() {
    let mut s = Scene::new(&one_queue(|_| {}));
    s.login("ann");
    s.arrive("c1");
    s.arrive("c2");
    let gone = s.at(AcdEvent::CallerHungUp { call: call("c1") });
    assert!(cancelled(&gone, "c1", "ann"), "{gone:?}");
    assert!(
        offered(&gone, "c2", "ann"),
        "ann is free again and takes c2: {gone:?}"
    );
    assert_eq!(s.figures().abandoned, 1);
    assert_eq!(
        s.acd.agent(&agent("ann")).map(|a| a.misses),
        Some(0),
        "not ann's fault"
    );
    // ann's answer to the withdrawn offer races the hang-up: her leg is hung up.
    let late = s.answer("c1", "ann");
    assert!(
        late.iter()
            .any(|d| matches!(d, Decision::HangUpAgentLeg { .. }))
    );
    assert!(matches!(s.state("ann"), AgentState::Offered { call } if call.0 == "c2"));
}

#[test]
fn a_caller_hanging_up_while_waiting_is_counted_abandoned_once() {
    let mut s = Scene::new(&one_queue(|_| {}));
    s.login("ann");
    s.arrive("busy");
    s.answer("busy", "ann");
    s.arrive("c1");
    s.at(AcdEvent::CallerHungUp { call: call("c1") });
    let again = s.at(AcdEvent::CallerHungUp { call: call("c1") });
    assert!(matches!(
        again.as_slice(),
        [Decision::Ignored(Ignored::UnknownCall { .. })]
    ));
    let f = s.figures();
    assert_eq!((f.offered, f.abandoned, f.waiting), (2, 1, 0));
}

#[test]
fn a_callback_reserves_an_agent_first_then_calls_the_caller_back() {
    let mut s = Scene::new(&one_queue(|_| {}));
    s.login("ann");
    s.arrive("busy");
    s.answer("busy", "ann");
    s.arrive("c1");
    s.arrive("c2");
    let asked = s.at(AcdEvent::CallbackRequested { call: call("c1") });
    assert_eq!(records(&asked), [&RecordKind::CallbackRequested]);
    assert_eq!(
        s.acd.estimate(&call("c2"), s.now).map(|e| e.position),
        Some(2),
        "c1 kept its place"
    );
    s.end("busy");
    let turn = s.at(AcdEvent::AgentReady {
        agent: agent("ann"),
    });
    let reach = turn.iter().find_map(|d| match d {
        Decision::Offer {
            call, agent, reach, ..
        } if call.0 == "c1" && agent.0 == "ann" => Some(*reach),
        _ => None,
    });
    assert_eq!(reach, Some(OfferReach::CallBack { attempt: 1 }), "{turn:?}");
    assert!(
        matches!(s.state("ann"), AgentState::Offered { .. }),
        "ann is reserved"
    );
    // The agent cannot be bridged before the caller is on the line.
    assert!(
        s.answer("c1", "ann")
            .iter()
            .any(|d| matches!(d, Decision::HangUpAgentLeg { .. }))
    );
    s.at(AcdEvent::CallbackConnected { call: call("c1") });
    let bridged = s.answer("c1", "ann");
    assert!(
        bridged.iter().any(|d| matches!(d, Decision::Bridge { .. })),
        "{bridged:?}"
    );
}

#[test]
fn a_failed_callback_frees_the_agent_and_is_retried_then_given_up() {
    let mut s = Scene::new(&one_queue(|q| {
        q.callback.retries = 1;
        q.callback.retry_delay_secs = 60;
        q.callback.ring_timeout_secs = 25;
    }));
    s.login("ann");
    s.arrive("busy");
    s.answer("busy", "ann");
    s.arrive("c1");
    s.at(AcdEvent::CallbackRequested { call: call("c1") });
    s.arrive("c2");
    s.end("busy");
    s.at(AcdEvent::AgentReady {
        agent: agent("ann"),
    });
    // The caller does not pick up: ann is free for c2 at once; c1 keeps its place.
    let failed = s.at(AcdEvent::CallbackFailed { call: call("c1") });
    assert!(offered(&failed, "c2", "ann"), "{failed:?}");
    s.answer("c2", "ann");
    s.end("c2");
    s.at(AcdEvent::AgentReady {
        agent: agent("ann"),
    });
    let retry = s.wait(60);
    assert!(
        retry.iter().any(|d| matches!(
            d,
            Decision::Offer {
                reach: OfferReach::CallBack { attempt: 2 },
                ..
            }
        )),
        "{retry:?}"
    );
    // The second attempt rings out on the ACD's own timer: given up.
    let last = s.wait(25);
    assert!(
        last.iter()
            .any(|d| matches!(d, Decision::CallbackGaveUp { .. })),
        "{last:?}"
    );
    assert_eq!(s.state("ann"), AgentState::Available);
    assert_eq!(s.figures().callbacks_failed, 1);
    assert!(s.acd.entry(&call("c1")).is_none());
}

#[test]
fn a_callback_is_refused_where_the_queue_does_not_allow_it() {
    let mut s = Scene::new(&one_queue(|q| q.callback.allowed = false));
    s.login("ann");
    s.arrive("busy");
    s.answer("busy", "ann");
    s.arrive("c1");
    let asked = s.at(AcdEvent::CallbackRequested { call: call("c1") });
    assert!(matches!(
        asked.as_slice(),
        [Decision::Ignored(Ignored::CallbackNotAllowed { .. })]
    ));
}

#[test]
fn an_agent_away_or_logged_out_is_never_offered() {
    let mut s = Scene::new(&one_queue(|_| {}));
    s.login("ann");
    s.login("bob");
    s.at(AcdEvent::AgentAway {
        agent: agent("ann"),
        reason: "lunch".into(),
    });
    s.at(AcdEvent::AgentLoggedOut {
        agent: agent("bob"),
    });
    s.login("cat");
    s.arrive("c1");
    let out = s.arrive("c2");
    assert!(
        offers(&out).is_empty(),
        "cat is busy with c1; ann and bob are out: {out:?}"
    );
    assert_eq!(
        s.acd
            .entry(&call("c1"))
            .and_then(|e| e.offered_to().cloned()),
        Some(agent("cat"))
    );
    let back = s.at(AcdEvent::AgentReady {
        agent: agent("ann"),
    });
    assert!(offered(&back, "c2", "ann"));
}

#[test]
fn a_logged_in_agent_whose_phone_is_not_registered_is_not_offered() {
    let mut s = Scene::new(&one_queue(|_| {}));
    s.login("ann");
    s.login("bob");
    s.at(AcdEvent::AgentUnregistered {
        agent: agent("ann"),
    });
    let first = s.arrive("c1");
    assert!(offered(&first, "c1", "bob"), "{first:?}");
    let second = s.arrive("c2");
    assert!(offers(&second).is_empty());
    assert_eq!(s.figures().agents.unregistered, 1);
    let registered = s.at(AcdEvent::AgentRegistered {
        agent: agent("ann"),
    });
    assert!(offered(&registered, "c2", "ann"), "{registered:?}");
}

#[test]
fn a_queue_with_nobody_staffed_refuses_the_caller_for_on_failure() {
    let mut s = Scene::new(&one_queue(|_| {}));
    let out = s.arrive("c1");
    assert!(out.iter().any(|d| matches!(
        d,
        Decision::NotQueued {
            reason: NotQueuedReason::NobodyStaffed,
            ..
        }
    )));
    s.login("ann");
    s.at(AcdEvent::AgentAway {
        agent: agent("ann"),
        reason: "break".into(),
    });
    let out = s.arrive("c2");
    assert!(
        out.iter().any(|d| matches!(
            d,
            Decision::NotQueued {
                reason: NotQueuedReason::NobodyStaffed,
                ..
            }
        )),
        "away is not staffed"
    );
    s.at(AcdEvent::AgentReady {
        agent: agent("ann"),
    });
    s.at(AcdEvent::QueueClosed { queue: "q".into() });
    let out = s.arrive("c3");
    assert!(out.iter().any(|d| matches!(
        d,
        Decision::NotQueued {
            reason: NotQueuedReason::Closed,
            ..
        }
    )));
    let out = s.arrive_in("c4", "nope", 1, &[]);
    assert!(out.iter().any(|d| matches!(
        d,
        Decision::NotQueued {
            reason: NotQueuedReason::UnknownQueue,
            ..
        }
    )));
    assert_eq!(s.figures().not_queued, 3);
    assert_eq!(s.figures().offered, 0);
}

#[test]
fn rona_puts_the_agent_away_after_misses_in_a_row_and_an_answer_resets_the_count() {
    let mut s = Scene::new(&one_queue(|q| {
        q.rona_misses = 2;
        q.ring_timeout_secs = 10;
        q.wrap_up_secs = 0;
    }));
    s.login("ann");
    s.arrive("c1");
    s.wait(10); // miss 1
    s.arrive("c2");
    s.answer("c2", "ann"); // resets
    s.end("c2");
    s.wait(10); // ann idle; c1 is passed over for her for 30 s
    s.arrive("c3");
    s.wait(10); // miss 1 again
    assert_eq!(
        s.state("ann"),
        AgentState::Available,
        "misses must be in a row"
    );
    s.arrive("c4");
    let away = s.wait(10); // miss 2 in a row
    assert!(
        away.iter().any(|d| matches!(d, Decision::AgentChanged { state: AgentState::Away { reason }, .. } if reason == NO_ANSWER)),
        "{away:?}"
    );
    assert_eq!(s.figures().missed_offers, 3);
}

#[test]
fn an_agent_leg_that_fails_in_any_way_counts_a_miss_and_requeues_the_caller() {
    for cause in [
        LegFailure::Busy,
        LegFailure::Declined,
        LegFailure::Error,
        LegFailure::HungUp,
    ] {
        let mut s = Scene::new(&one_queue(|q| q.rona_misses = 1));
        s.login("ann");
        s.login("bob");
        s.arrive("c1");
        let out = s.fail("c1", "ann", cause);
        assert!(offered(&out, "c1", "bob"), "{cause:?}: {out:?}");
        assert_eq!(
            s.state("ann"),
            AgentState::Away {
                reason: NO_ANSWER.into()
            },
            "{cause:?}"
        );
    }
}

#[test]
fn one_unavailable_agent_does_not_halt_the_queue() {
    let mut s = Scene::new(&one_queue(|q| q.strategy = RoutingStrategy::RoundRobin));
    s.login("ann");
    s.login("bob");
    s.login("cat");
    s.at(AcdEvent::AgentUnregistered {
        agent: agent("ann"),
    });
    s.at(AcdEvent::AgentAway {
        agent: agent("bob"),
        reason: "meeting".into(),
    });
    let out = s.arrive("c1");
    assert!(offered(&out, "c1", "cat"), "{out:?}");
}

#[test]
fn round_robin_takes_turns_and_longest_idle_prefers_the_longest_free() {
    let mut s = Scene::new(&one_queue(|q| {
        q.strategy = RoutingStrategy::RoundRobin;
        q.wrap_up_secs = 0;
    }));
    for a in ["ann", "bob", "cat"] {
        s.login(a);
    }
    let mut order = Vec::new();
    for n in 0..4 {
        let c = format!("c{n}");
        let out = s.arrive(&c);
        let (_, a) = offers(&out).pop().expect("an agent is free");
        order.push(a.clone());
        s.answer(&c, &a);
        s.end(&c);
    }
    assert_eq!(order, ["ann", "bob", "cat", "ann"]);

    let mut s = Scene::new(&one_queue(|q| q.wrap_up_secs = 0));
    s.login("ann");
    s.wait(1);
    s.login("bob");
    s.arrive("c1");
    s.answer("c1", "ann");
    s.wait(1);
    s.end("c1"); // ann is free again, but later than bob
    let out = s.arrive("c2");
    assert!(offered(&out, "c2", "bob"), "{out:?}");
}

#[test]
fn the_estimate_is_recomputed_as_the_line_moves_never_frozen() {
    let mut s = Scene::new(&one_queue(|q| q.wrap_up_secs = 0));
    s.login("ann");
    s.login("bob");
    for c in ["b1", "b2", "c1", "c2", "c3"] {
        s.arrive(c);
    }
    s.answer("b1", "ann");
    s.answer("b2", "bob");
    let third = s.acd.estimate(&call("c3"), s.now).expect("waiting");
    assert_eq!(third.position, 3);
    assert_eq!(
        third.wait,
        Some(Duration::from_secs(3 * 120 / 2)),
        "3 × 120 s / 2 agents"
    );
    s.at(AcdEvent::CallerHungUp { call: call("c1") });
    let moved = s.acd.estimate(&call("c3"), s.now).expect("waiting");
    assert_eq!(
        (moved.position, moved.wait),
        (2, Some(Duration::from_secs(120)))
    );
    // Bob logs out: after his call, which ends.
    s.at(AcdEvent::AgentLoggedOut {
        agent: agent("bob"),
    });
    s.end("b2");
    assert_eq!(s.state("bob"), AgentState::LoggedOut);
    let fewer = s.acd.estimate(&call("c3"), s.now).expect("waiting");
    assert_eq!(
        s.figures().estimate_handle_time_secs,
        90.0,
        "bob's 0 s call moved the average"
    );
    assert_eq!(
        fewer.wait,
        Some(Duration::from_secs(2 * 90)),
        "2 callers × 90 s / 1 agent"
    );
}

#[test]
fn announcements_repeat_with_the_current_position() {
    let mut s = Scene::new(&one_queue(|q| {
        q.announce = true;
        q.announce_every_secs = 30;
    }));
    s.login("ann");
    s.arrive("busy");
    s.answer("busy", "ann");
    s.arrive("c1");
    let first = s.arrive("c2");
    let position = |out: &[Decision]| {
        out.iter().find_map(|d| match d {
            Decision::Announce { call, estimate } if call.0 == "c2" => Some(estimate.position),
            _ => None,
        })
    };
    assert_eq!(position(&first), Some(2), "told at once: {first:?}");
    s.wait(10);
    s.at(AcdEvent::CallerHungUp { call: call("c1") });
    let again = s.wait(20);
    assert_eq!(position(&again), Some(1), "{again:?}");
}

#[test]
fn an_agent_logging_out_while_ringing_puts_the_caller_back_without_a_miss() {
    let mut s = Scene::new(&one_queue(|_| {}));
    s.login("ann");
    s.login("bob");
    s.arrive("c1");
    let out = s.at(AcdEvent::AgentLoggedOut {
        agent: agent("ann"),
    });
    assert!(cancelled(&out, "c1", "ann"));
    assert!(offered(&out, "c1", "bob"), "{out:?}");
    assert_eq!(s.figures().missed_offers, 0);
}

#[test]
fn unknown_ids_and_bad_values_are_ignored_not_panicking() {
    let mut s = Scene::new(&one_queue(|_| {}));
    let out = s.at(AcdEvent::AgentReady {
        agent: agent("ghost"),
    });
    assert!(matches!(
        out.as_slice(),
        [Decision::Ignored(Ignored::UnknownAgent { .. })]
    ));
    let out = s.fail("nope", "ghost", LegFailure::Busy);
    assert!(matches!(
        out.as_slice(),
        [Decision::Ignored(Ignored::NotNow { .. })]
    ));
    let out = s.end("nope");
    assert!(matches!(
        out.as_slice(),
        [Decision::Ignored(Ignored::UnknownCall { .. })]
    ));
    let out = s.login_with("ann", &["q"], &[("cards", 9)]);
    assert!(matches!(
        out.as_slice(),
        [Decision::Ignored(Ignored::BadProficiency { .. })]
    ));
    let out = s.login_with("ann", &["q", "elsewhere"], &[]);
    assert!(
        out.iter()
            .any(|d| matches!(d, Decision::Ignored(Ignored::UnknownQueue { .. })))
    );
    assert_eq!(
        s.state("ann"),
        AgentState::Available,
        "logged in to the queues that exist"
    );
    s.arrive("c1");
    let twice = s.arrive("c1");
    assert!(matches!(
        twice.as_slice(),
        [Decision::Ignored(Ignored::AlreadyQueued { .. })]
    ));
}

#[test]
fn figures_on_a_scripted_day_give_service_level_asa_and_aht() {
    // Threshold 20 s, wrap-up 10 s. Four callers answered after 0, 10, 30 and 50 s of
    // waiting (two within 20 s), talk times 60, 120, 60, 120 s; one abandons after 40 s.
    let mut s = Scene::new(&one_queue(|q| {
        q.wrap_up_secs = 10;
        q.service_level_secs = 20;
        q.ring_timeout_secs = 600;
    }));
    s.login("ann");
    s.arrive("a"); // offered at once
    s.answer("a", "ann"); // waited 0
    s.arrive("b");
    s.wait(10);
    s.arrive("gone"); // 10
    s.end("a"); // 10: talk 10, wrap-up to 20
    s.wait(10); // 20: wrap-up over, b offered
    s.wait(10); // 30: b answers after 30 s of waiting
    s.answer("b", "ann");
    s.wait(20); // 50: gone hangs up after 40 s waiting
    s.at(AcdEvent::CallerHungUp { call: call("gone") });
    s.arrive("c"); // 50
    s.wait(60);
    s.end("b"); // 110: talk 80
    s.wait(10); // 120: c offered after 70 s
    s.answer("c", "ann"); // waited 70
    s.wait(30);
    s.end("c"); // 150: talk 30
    s.at(AcdEvent::AgentReady {
        agent: agent("ann"),
    }); // wrap-up cut to 0
    let f = s.figures();
    assert_eq!((f.offered, f.answered, f.abandoned), (4, 3, 1));
    assert_eq!(
        f.answered_within_threshold, 1,
        "only a (0 s); b waited 30 s, c 70 s"
    );
    assert_eq!(f.service_level, Some(1.0 / 3.0));
    assert_eq!(
        f.average_speed_of_answer_secs,
        Some((0.0 + 30.0 + 70.0) / 3.0)
    );
    // Handle times: a 10 + 10, b 80 + 10, c 30 + 0.
    assert_eq!(f.average_handle_time_secs, Some((20.0 + 90.0 + 30.0) / 3.0));
    assert_eq!(f.longest_wait_secs, 0.0);
    assert_eq!(f.agents.available, 1);
    let json = serde_json::to_value(&f).expect("figures serialise");
    assert_eq!(json["answered"], 3);
    assert_eq!(json["agents"]["available"], 1);
}

#[test]
fn every_queue_event_is_recorded_for_the_cdrs() {
    let mut s = Scene::new(&one_queue(|q| q.ring_timeout_secs = 5));
    s.login("ann");
    s.login("bob");
    let mut all = s.arrive("c1");
    all.extend(s.wait(5));
    all.extend(s.answer("c1", "bob"));
    all.extend(s.end("c1"));
    let kinds: Vec<_> = records(&all)
        .into_iter()
        .map(|k| serde_json::to_value(k).expect("serialise")["event"].clone())
        .collect();
    assert_eq!(
        kinds,
        [
            "enqueued",
            "offered",
            "requeued",
            "offered",
            "answered",
            "completed"
        ]
    );
}
