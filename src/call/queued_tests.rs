//! Whole calls through a queued transfer, with made-up time and no sockets: a small
//! dialplan hands the caller to the `cards` queue, the test plays the ACD (its notices) and
//! the agent's leg (its events), and checks every command the call machine gives.
//!
//! The dialplan is wrapped in a [`Spy`] that notes which behaviour hooks the machine
//! calls, so that "this never reached the dialplan" can be asserted.

use super::tests::{caller_sdp, settings, setup};
use super::*;
use crate::acd::{
    AcdEvent, AgentContact, AgentId, Arrival, CallerPriority, LegFailure, NotQueuedReason,
    QueueNotice, QueuedCallId, WaitEstimate,
};
use crate::dialplan::{LookupResult, Priority, Runtime};
use chrono::Utc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const QUEUED: &str = r#"name: queued
timezone: UTC
queues: [cards]
flows:
  main:
    steps:
      cards:
        transfer:
          queue: cards
          priority: high
          skills: [cards]
          max_wait: 120
          callback: true
          on_timeout: too_long
          on_failure: busy
      too_long:
        hangup: { play: [prompt: sorry-too-long], reason: waited too long }
      busy:
        hangup: { play: [prompt: busy], reason: no agent available }
"#;

/// The behaviour hooks the machine called, in order.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<&'static str>>>);

impl Seen {
    fn note(&self, hook: &'static str) {
        self.0.lock().expect("not poisoned").push(hook);
    }

    /// What was noted since the last call.
    fn take(&self) -> Vec<&'static str> {
        std::mem::take(&mut *self.0.lock().expect("not poisoned"))
    }
}

/// A dialplan call that notes every hook it is given.
struct Spy {
    inner: DialplanCall,
    seen: Seen,
}

impl Behaviour for Spy {
    fn start(&mut self, parties: &Parties, at: Moment) -> Vec<Cue> {
        self.seen.note("start");
        self.inner.start(parties, at)
    }

    fn on_key(&mut self, key: char, at: Moment) -> Vec<Cue> {
        self.seen.note("key");
        self.inner.on_key(key, at)
    }

    fn on_speech_activity(&mut self, at: Moment) {
        self.seen.note("speech_activity");
        self.inner.on_speech_activity(at)
    }

    fn on_barge_in(&mut self) -> Vec<Cue> {
        self.seen.note("barge_in");
        self.inner.on_barge_in()
    }

    fn on_speech(&mut self, transcript: &str, confidence: f32, at: Moment) -> Vec<Cue> {
        self.seen.note("speech");
        self.inner.on_speech(transcript, confidence, at)
    }

    fn would_accept(&self, transcript: &str, at: Moment) -> bool {
        self.inner.would_accept(transcript, at)
    }

    fn on_playback_finished(&mut self, at: Moment) -> Vec<Cue> {
        self.seen.note("playback_finished");
        self.inner.on_playback_finished(at)
    }

    fn on_lookup_result(&mut self, result: LookupResult, at: Moment) -> Vec<Cue> {
        self.seen.note("lookup_result");
        self.inner.on_lookup_result(result, at)
    }

    fn on_transfer_failed(&mut self, reason: &str, at: Moment) -> Vec<Cue> {
        self.seen.note("transfer_failed");
        self.inner.on_transfer_failed(reason, at)
    }

    fn on_transfer_answered(&mut self, agent: &str, at: Moment) -> Vec<Cue> {
        self.seen.note("transfer_answered");
        self.inner.on_transfer_answered(agent, at)
    }

    fn on_transfer_timed_out(&mut self, at: Moment) -> Vec<Cue> {
        self.seen.note("transfer_timed_out");
        self.inner.on_transfer_timed_out(at)
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.inner.next_deadline()
    }

    fn on_timer(&mut self, at: Moment) -> Vec<Cue> {
        self.seen.note("timer");
        self.inner.on_timer(at)
    }

    fn on_hangup(&mut self, at: Moment) {
        self.seen.note("hangup");
        self.inner.on_hangup(at)
    }
}

fn queued_dialplan() -> Arc<crate::dialplan::Dialplan> {
    let (plan, report) =
        crate::dialplan::loader::load_source("queued.yaml", QUEUED.as_bytes(), None)
            .unwrap_or_else(|r| panic!("{}", r.render()));
    assert!(report.diagnostics.is_empty(), "{}", report.render());
    Arc::new(plan)
}

/// The tests' settings, answering at once and allowing an hour of waiting and talking.
fn queue_settings() -> CallSettings {
    CallSettings {
        answer_delay: Duration::ZERO,
        max_duration: Duration::from_secs(3600),
        ..settings()
    }
}

/// A call on `QUEUED`, answered at `t0` and confirmed at once: the dialplan has transferred it.
/// Returns the call, the commands of the ACK, and the spy's notes.
fn queued_call(t0: Instant) -> (Call, Vec<Command>, Seen) {
    let offer = caller_sdp().offer().into_bytes();
    let seen = Seen::default();
    let behaviour = Box::new(Spy {
        inner: DialplanCall::new(Runtime::new(queued_dialplan())),
        seen: seen.clone(),
    });
    let mut call = Call::new(setup(offer, queue_settings()), behaviour, t0, Utc::now());
    call.start(t0);
    let out = call.handle(CallEvent::Acked { answer: None }, t0);
    (call, out, seen)
}

fn call_id() -> QueuedCallId {
    "call-1".into()
}

fn ann() -> AgentId {
    "ann".into()
}

fn bob() -> AgentId {
    "bob".into()
}

fn contacts(agent: &str) -> Vec<AgentContact> {
    vec![AgentContact {
        uri: format!("sip:{agent}@127.0.0.1:5070"),
        source: "127.0.0.1:5070".parse().expect("address"),
        tcp: false,
    }]
}

fn offer(agent: AgentId) -> CallEvent {
    let contacts = contacts(&agent.0);
    CallEvent::Queue(QueueNotice::Offer {
        display_name: agent.0.to_uppercase(),
        agent,
        contacts,
        ring_timeout: Duration::from_secs(15),
    })
}

fn leg(leg: u64, event: AgentLegEvent) -> CallEvent {
    CallEvent::AgentLeg { leg, event }
}

fn dial(leg: u64, agent: &str, waited_secs: u64) -> Command {
    Command::DialAgent {
        leg,
        agent: agent.into(),
        contacts: contacts(agent),
        waited_secs,
    }
}

/// `queued_call`, then ann is offered the caller at `t0 + 10 s`, answers, and the ACD
/// bridges them. Returns the call, the time, and the spy's notes (emptied).
fn bridged_call(t0: Instant) -> (Call, Instant, Seen) {
    let (mut call, _, seen) = queued_call(t0);
    let t = t0 + Duration::from_secs(10);
    assert_eq!(call.handle(offer(ann()), t), [dial(1, "ann", 10)]);
    call.handle(leg(1, AgentLegEvent::Answered), t);
    let out = call.handle(CallEvent::Queue(QueueNotice::Bridge { agent: ann() }), t);
    assert_eq!(out, [Command::HoldMusic(false), Command::Bridge { leg: 1 }]);
    seen.take();
    (call, t, seen)
}

#[test]
fn a_transfer_puts_the_caller_on_hold_and_queues_them_with_the_dialplans_terms() {
    let t0 = Instant::now();
    let (call, out, seen) = queued_call(t0);
    let [
        Command::HoldMusic(true),
        Command::Enqueue { arrival, context },
    ] = out.as_slice()
    else {
        panic!("{out:?}")
    };
    assert_eq!(
        *arrival,
        Arrival {
            call: call_id(),
            queue: "cards".into(),
            priority: CallerPriority(2),
            skills: vec!["cards".into()],
            callback: true,
            max_wait: Some(Duration::from_secs(120)),
        }
    );
    assert_eq!(context.queue, "cards");
    assert_eq!(context.priority, Priority::High);
    assert_eq!(context.caller_id, "5551234");
    assert_eq!(context.dialplan, "queued");
    assert_eq!(seen.take(), ["start"]);
    assert!(!call.is_over());
    // Waiting sets no deadline of its own: only the call's maximum duration.
    assert_eq!(
        call.next_deadline(),
        Some(t0 + queue_settings().max_duration),
        "nothing wakes a waiting caller but the maximum duration"
    );
}

#[test]
fn an_offer_rings_the_agent_the_answer_is_reported_the_bridge_joins_and_the_callers_bye_ends_both()
{
    let t0 = Instant::now();
    let (mut call, _, seen) = queued_call(t0);
    let t = t0 + Duration::from_secs(42);
    assert_eq!(call.handle(offer(ann()), t), [dial(1, "ann", 42)]);
    // The ACD's bridge for a leg that has not answered yet changes nothing.
    assert!(
        call.handle(CallEvent::Queue(QueueNotice::Bridge { agent: ann() }), t)
            .is_empty()
    );
    let t = t + Duration::from_secs(3);
    assert_eq!(
        call.handle(leg(1, AgentLegEvent::Answered), t),
        [Command::ReportAcd(AcdEvent::OfferAnswered {
            call: call_id(),
            agent: ann(),
        })]
    );
    assert_eq!(
        call.handle(CallEvent::Queue(QueueNotice::Bridge { agent: ann() }), t),
        [Command::HoldMusic(false), Command::Bridge { leg: 1 }]
    );
    assert_eq!(seen.take(), ["start", "transfer_answered"]);
    let t = t + Duration::from_secs(60);
    assert_eq!(
        call.handle(CallEvent::DialogEnded(DialogEnd::Bye), t),
        [
            Command::HangUpAgent { leg: 1 },
            Command::ReportAcd(AcdEvent::CallEnded { call: call_id() }),
            Command::Release,
        ]
    );
    assert_eq!(call.end_reason(), Some(EndReason::CallerHungUp));
    assert!(call.is_over());
    // The agent leg's own end, after ours, finds nothing to do.
    assert!(call.handle(leg(1, AgentLegEvent::Ended), t).is_empty());
}

#[test]
fn the_agent_hanging_up_a_bridged_call_hangs_up_the_caller() {
    let t0 = Instant::now();
    let (mut call, t, _) = bridged_call(t0);
    let t = t + Duration::from_secs(90);
    assert_eq!(
        call.handle(leg(1, AgentLegEvent::Ended), t),
        [
            Command::Bye,
            Command::ReportAcd(AcdEvent::CallEnded { call: call_id() }),
            Command::Release,
        ],
        "no HangUpAgent: the agent's leg is gone already"
    );
    assert_eq!(call.end_reason(), Some(EndReason::AgentHungUp));
    assert!(call.is_over());
    // The caller's BYE crossing ours changes nothing.
    assert!(
        call.handle(CallEvent::DialogEnded(DialogEnd::Bye), t)
            .is_empty()
    );
}

#[test]
fn a_declined_leg_is_reported_the_next_offer_opens_a_new_leg_and_the_old_legs_news_is_ignored() {
    let t0 = Instant::now();
    let (mut call, _, _) = queued_call(t0);
    let t = t0 + Duration::from_secs(5);
    assert_eq!(call.handle(offer(ann()), t), [dial(1, "ann", 5)]);
    assert_eq!(
        call.handle(leg(1, AgentLegEvent::Failed(LegFailure::Declined)), t),
        [Command::ReportAcd(AcdEvent::OfferFailed {
            call: call_id(),
            agent: ann(),
            cause: LegFailure::Declined,
        })]
    );
    let t = t + Duration::from_secs(2);
    assert_eq!(
        call.handle(offer(bob()), t),
        [dial(2, "bob", 7)],
        "no HangUpAgent: leg 1 is gone"
    );
    // Leg 1's late news (a stray 200 after its 603) is not mistaken for leg 2's.
    assert!(call.handle(leg(1, AgentLegEvent::Answered), t).is_empty());
    assert!(call.handle(leg(1, AgentLegEvent::Ended), t).is_empty());
    assert!(
        call.handle(leg(1, AgentLegEvent::Failed(LegFailure::Error)), t)
            .is_empty()
    );
    // Leg 2 is still the one that counts.
    assert_eq!(
        call.handle(leg(2, AgentLegEvent::Answered), t),
        [Command::ReportAcd(AcdEvent::OfferAnswered {
            call: call_id(),
            agent: bob(),
        })]
    );
}

#[test]
fn a_new_offer_while_a_leg_rings_hangs_that_leg_up_first() {
    let t0 = Instant::now();
    let (mut call, _, _) = queued_call(t0);
    assert_eq!(call.handle(offer(ann()), t0), [dial(1, "ann", 0)]);
    assert_eq!(
        call.handle(offer(bob()), t0),
        [Command::HangUpAgent { leg: 1 }, dial(2, "bob", 0)]
    );
}

#[test]
fn a_cancelled_offer_hangs_up_the_ringing_leg() {
    let t0 = Instant::now();
    let (mut call, _, _) = queued_call(t0);
    let t = t0 + Duration::from_secs(1);
    assert_eq!(call.handle(offer(ann()), t), [dial(1, "ann", 1)]);
    // A cancel for someone else's offer is not ours.
    assert!(
        call.handle(
            CallEvent::Queue(QueueNotice::CancelOffer { agent: bob() }),
            t
        )
        .is_empty()
    );
    let t = t + Duration::from_secs(15);
    assert_eq!(
        call.handle(
            CallEvent::Queue(QueueNotice::CancelOffer { agent: ann() }),
            t
        ),
        [Command::HangUpAgent { leg: 1 }]
    );
    // The CANCEL's 487 coming back is not reported: the ACD withdrew the offer itself.
    assert!(
        call.handle(leg(1, AgentLegEvent::Failed(LegFailure::HungUp)), t)
            .is_empty()
    );
    // The caller still waits: their hangup is an abandon, with no agent leg to end.
    assert_eq!(
        call.handle(CallEvent::DialogEnded(DialogEnd::Bye), t),
        [
            Command::ReportAcd(AcdEvent::CallerHungUp { call: call_id() }),
            Command::Release,
        ]
    );
}

#[test]
fn an_answered_leg_the_acd_no_longer_wants_is_hung_up() {
    let t0 = Instant::now();
    let (mut call, _, _) = queued_call(t0);
    call.handle(offer(ann()), t0);
    call.handle(leg(1, AgentLegEvent::Answered), t0);
    assert_eq!(
        call.handle(
            CallEvent::Queue(QueueNotice::HangUpAgentLeg { agent: ann() }),
            t0
        ),
        [Command::HangUpAgent { leg: 1 }]
    );
    assert!(
        call.handle(CallEvent::Queue(QueueNotice::Bridge { agent: ann() }), t0)
            .is_empty(),
        "no bridge to a leg that was hung up"
    );
}

#[test]
fn the_queues_timeout_takes_the_dialplans_on_timeout_and_is_not_reported_back() {
    let t0 = Instant::now();
    let (mut call, _, seen) = queued_call(t0);
    seen.take();
    let t = t0 + Duration::from_secs(120);
    assert_eq!(
        call.handle(CallEvent::Queue(QueueNotice::TimedOut), t),
        [
            Command::HoldMusic(false),
            Command::Play(vec!["sorry-too-long".into()])
        ]
    );
    assert_eq!(seen.take(), ["transfer_timed_out"]);
    // No longer queued: the prompt's end reaches the dialplan, which hangs up after the
    // playout grace.
    let played = t + Duration::from_secs(3);
    assert!(call.handle(CallEvent::PlaybackFinished, played).is_empty());
    assert_eq!(seen.take(), ["playback_finished"]);
    let bye_at = played + queue_settings().playout_grace;
    assert_eq!(call.next_deadline(), Some(bye_at));
    assert!(
        call.handle(CallEvent::Timer, bye_at - Duration::from_millis(1))
            .is_empty()
    );
    assert_eq!(
        call.handle(CallEvent::Timer, bye_at),
        [Command::Bye, Command::Release],
        "the ACD timed the caller out itself: no CallerHungUp"
    );
    assert_eq!(call.end_reason(), Some(EndReason::DialplanHangup));
}

#[test]
fn a_timeout_while_an_agent_rings_hangs_that_leg_up() {
    let t0 = Instant::now();
    let (mut call, _, _) = queued_call(t0);
    call.handle(offer(ann()), t0);
    let t = t0 + Duration::from_secs(120);
    assert_eq!(
        call.handle(CallEvent::Queue(QueueNotice::TimedOut), t),
        [
            Command::HangUpAgent { leg: 1 },
            Command::HoldMusic(false),
            Command::Play(vec!["sorry-too-long".into()])
        ]
    );
    // A caller who hangs up during the goodbye is not reported either.
    assert_eq!(
        call.handle(CallEvent::DialogEnded(DialogEnd::Bye), t),
        [Command::Release]
    );
}

#[test]
fn a_queue_nobody_staffs_takes_the_dialplans_on_failure() {
    let t0 = Instant::now();
    let (mut call, _, seen) = queued_call(t0);
    seen.take();
    let out = call.handle(
        CallEvent::Queue(QueueNotice::NotQueued {
            reason: NotQueuedReason::NobodyStaffed,
        }),
        t0,
    );
    assert_eq!(
        out,
        [
            Command::HoldMusic(false),
            Command::Play(vec!["busy".into()])
        ]
    );
    assert_eq!(seen.take(), ["transfer_failed"]);
    let played = t0 + Duration::from_secs(2);
    assert!(call.handle(CallEvent::PlaybackFinished, played).is_empty());
    assert_eq!(
        call.handle(CallEvent::Timer, played + queue_settings().playout_grace),
        [Command::Bye, Command::Release],
        "the ACD never queued the caller: nothing to report"
    );
    assert_eq!(call.end_reason(), Some(EndReason::DialplanHangup));
    // Later notices for the call find nothing.
    assert!(
        call.handle(offer(ann()), played + Duration::from_secs(1))
            .is_empty()
    );
}

#[test]
fn an_enqueue_the_shell_could_not_carry_out_takes_the_dialplans_on_failure() {
    let t0 = Instant::now();
    let (mut call, _, seen) = queued_call(t0);
    seen.take();
    assert_eq!(
        call.handle(
            CallEvent::TransferFailed {
                reason: "the ACD has stopped".into()
            },
            t0
        ),
        [
            Command::HoldMusic(false),
            Command::Play(vec!["busy".into()])
        ]
    );
    assert_eq!(seen.take(), ["transfer_failed"]);
    // Not queued any more: the ACD hears nothing of this call's end.
    assert_eq!(
        call.handle(CallEvent::DialogEnded(DialogEnd::Bye), t0),
        [Command::Release]
    );
}

#[test]
fn a_caller_who_hangs_up_while_waiting_is_an_abandon() {
    let t0 = Instant::now();
    let (mut call, _, seen) = queued_call(t0);
    seen.take();
    assert_eq!(
        call.handle(
            CallEvent::DialogEnded(DialogEnd::Bye),
            t0 + Duration::from_secs(30)
        ),
        [
            Command::ReportAcd(AcdEvent::CallerHungUp { call: call_id() }),
            Command::Release,
        ],
        "no agent leg: no HangUpAgent"
    );
    assert_eq!(call.end_reason(), Some(EndReason::CallerHungUp));
    assert_eq!(seen.take(), ["hangup"]);
}

#[test]
fn a_caller_who_hangs_up_while_an_agent_rings_cancels_that_leg() {
    let t0 = Instant::now();
    let (mut call, _, _) = queued_call(t0);
    call.handle(offer(ann()), t0);
    assert_eq!(
        call.handle(CallEvent::DialogEnded(DialogEnd::Bye), t0),
        [
            Command::HangUpAgent { leg: 1 },
            Command::ReportAcd(AcdEvent::CallerHungUp { call: call_id() }),
            Command::Release,
        ]
    );
}

#[test]
fn the_maximum_duration_ends_a_waiting_call_and_tells_the_acd() {
    let t0 = Instant::now();
    let (mut call, _, _) = queued_call(t0);
    call.handle(offer(ann()), t0);
    let end = t0 + queue_settings().max_duration;
    assert_eq!(call.next_deadline(), Some(end));
    assert_eq!(
        call.handle(CallEvent::Timer, end),
        [
            Command::Bye,
            Command::HangUpAgent { leg: 1 },
            Command::ReportAcd(AcdEvent::CallerHungUp { call: call_id() }),
            Command::Release,
        ]
    );
    assert_eq!(call.end_reason(), Some(EndReason::MaxDuration));
}

#[test]
fn keys_while_waiting_are_swallowed_and_while_bridged_go_both_ways() {
    let t0 = Instant::now();
    let (mut call, _, seen) = queued_call(t0);
    seen.take();
    assert!(call.handle(CallEvent::Digit('5'), t0).is_empty());
    assert_eq!(
        call.handle(
            CallEvent::Info {
                request: 8,
                content_type: Some("application/dtmf-relay".into()),
                body: b"Signal=1\r\nDuration=160\r\n".to_vec(),
            },
            t0
        ),
        [Command::Respond {
            request: 8,
            status: 200,
            sdp: None
        }],
        "an INFO key is answered, then swallowed"
    );
    // Ringing, even answered, but not bridged: keys go nowhere.
    call.handle(offer(ann()), t0);
    assert!(call.handle(CallEvent::Digit('2'), t0).is_empty());
    call.handle(leg(1, AgentLegEvent::Answered), t0);
    assert!(call.handle(CallEvent::Digit('3'), t0).is_empty());
    assert!(
        call.handle(leg(1, AgentLegEvent::Digit('9')), t0)
            .is_empty(),
        "the agent's keys reach the caller only once bridged"
    );
    assert!(
        !seen.take().contains(&"key"),
        "no key reached the dialplan while queued"
    );
    call.handle(CallEvent::Queue(QueueNotice::Bridge { agent: ann() }), t0);
    assert_eq!(
        call.handle(CallEvent::Digit('4'), t0),
        [Command::DigitToAgent('4')]
    );
    assert_eq!(
        call.handle(leg(1, AgentLegEvent::Digit('7')), t0),
        [Command::CallerDigit('7')]
    );
    // A key of a stale leg number is not passed on.
    assert!(
        call.handle(leg(9, AgentLegEvent::Digit('8')), t0)
            .is_empty()
    );
    assert_eq!(seen.take(), ["transfer_answered"]);
}

#[test]
fn a_waiting_caller_hears_their_place_and_a_bridged_one_does_not() {
    let t0 = Instant::now();
    let (mut call, _, _) = queued_call(t0);
    let estimate = WaitEstimate {
        position: 2,
        wait: Some(Duration::from_secs(70)),
    };
    assert_eq!(
        call.handle(CallEvent::Queue(QueueNotice::Announce(estimate)), t0),
        [Command::Announce(
            [
                "queue-you-are-number",
                "two",
                "queue-in-line",
                "queue-wait-about",
                "one",
                "minute",
                // The transfer allows a callback: the caller is told how.
                "queue-callback-offer",
            ]
            .map(String::from)
            .to_vec()
        )]
    );
    let (mut bridged, t, _) = bridged_call(t0);
    assert!(
        bridged
            .handle(CallEvent::Queue(QueueNotice::Announce(estimate)), t)
            .is_empty()
    );
}

#[test]
fn the_end_of_hold_music_or_an_announcement_never_reaches_the_dialplan() {
    let t0 = Instant::now();
    let (mut call, _, seen) = queued_call(t0);
    seen.take();
    assert!(call.handle(CallEvent::PlaybackFinished, t0).is_empty());
    call.handle(offer(ann()), t0);
    assert!(call.handle(CallEvent::PlaybackFinished, t0).is_empty());
    call.handle(leg(1, AgentLegEvent::Answered), t0);
    call.handle(CallEvent::Queue(QueueNotice::Bridge { agent: ann() }), t0);
    assert!(call.handle(CallEvent::PlaybackFinished, t0).is_empty());
    assert_eq!(seen.take(), ["transfer_answered"]);
}

#[test]
fn an_agent_who_answers_then_vanishes_before_the_bridge_leaves_the_caller_waiting() {
    let t0 = Instant::now();
    let (mut call, _, _) = queued_call(t0);
    call.handle(offer(ann()), t0);
    call.handle(leg(1, AgentLegEvent::Answered), t0);
    assert_eq!(
        call.handle(leg(1, AgentLegEvent::Ended), t0),
        [Command::ReportAcd(AcdEvent::OfferFailed {
            call: call_id(),
            agent: ann(),
            cause: LegFailure::HungUp,
        })]
    );
    assert!(!call.is_over());
    assert_eq!(
        call.handle(CallEvent::DialogEnded(DialogEnd::Bye), t0),
        [
            Command::ReportAcd(AcdEvent::CallerHungUp { call: call_id() }),
            Command::Release,
        ]
    );
}

#[test]
fn a_bridged_caller_whose_agent_vanishes_is_queued_again_one_level_up() {
    let t0 = Instant::now();
    let (mut call, t, _) = bridged_call(t0);
    let out = call.handle(leg(1, AgentLegEvent::Lost), t + Duration::from_secs(30));
    let Some(Command::Requeue(arrival)) = out.last().cloned() else {
        panic!("the caller is queued again: {out:?}");
    };
    assert_eq!(
        &out[..out.len() - 1],
        [
            Command::HangUpAgent { leg: 1 },
            Command::ReportAcd(AcdEvent::CallEnded { call: call_id() }),
            Command::HoldMusic(true),
        ]
    );
    assert_eq!(arrival.call, call_id());
    assert_eq!(arrival.queue, "cards");
    assert!(!call.is_over(), "the caller stays on the line");
    // The next agent is offered and bridged as before, on a new leg.
    let t = t + Duration::from_secs(31);
    assert_eq!(
        call.handle(offer(bob()), t),
        [dial(2, "bob", 41)],
        "waited since the first arrival"
    );
    // The first leg's late news changes nothing.
    assert!(call.handle(leg(1, AgentLegEvent::Ended), t).is_empty());
}

#[test]
fn star_while_waiting_asks_for_a_callback_and_its_acceptance_ends_the_call_without_an_abandon() {
    let t0 = Instant::now();
    let (mut call, _, seen) = queued_call(t0);
    let t = t0 + Duration::from_secs(5);
    assert_eq!(
        call.handle(CallEvent::Digit('*'), t),
        [Command::RequestCallback]
    );
    seen.take();
    let out = call.handle(CallEvent::Queue(QueueNotice::CallbackAccepted), t);
    assert_eq!(out.first(), Some(&Command::HoldMusic(false)), "{out:?}");
    // The dialplan's on_callback path says goodbye; the hangup tells the ACD nothing
    // (the caller keeps their place off the line).
    let end = t + Duration::from_secs(10);
    let mut rest = call.handle(CallEvent::PlaybackFinished, end);
    rest.extend(call.handle(CallEvent::Timer, end + Duration::from_secs(1)));
    rest.extend(call.handle(
        CallEvent::DialogEnded(DialogEnd::Bye),
        end + Duration::from_secs(2),
    ));
    assert!(
        !rest
            .iter()
            .chain(out.iter())
            .any(|c| matches!(c, Command::ReportAcd(_))),
        "no abandon reported: {out:?} {rest:?}"
    );
    assert!(call.is_over());
}

#[test]
fn star_while_an_agent_rings_asks_for_nothing() {
    let t0 = Instant::now();
    let (mut call, _, _) = queued_call(t0);
    let t = t0 + Duration::from_secs(5);
    call.handle(offer(ann()), t);
    assert!(call.handle(CallEvent::Digit('*'), t).is_empty());
}

/// A callback call: dialled with the machine's own offer; the answer starts media, the ACD
/// hears the caller is back, and the reserved agent rings; an unusable answer is a failed
/// callback.
#[test]
fn a_callback_rings_the_reserved_agent_once_the_caller_answers() {
    let t0 = Instant::now();
    let arrival = Arrival {
        call: call_id(),
        queue: "cards".into(),
        priority: CallerPriority(2),
        skills: Vec::new(),
        callback: false,
        max_wait: None,
    };
    let callback = |t0| {
        Call::callback(
            setup(Vec::new(), queue_settings()),
            arrival.clone(),
            match offer(ann()) {
                CallEvent::Queue(notice) => notice,
                _ => unreachable!("offer() is a queue notice"),
            },
            Box::new(super::queued::CalledBack),
            t0,
            Utc::now(),
        )
    };
    let mut call = callback(t0);
    assert!(
        call.offer().contains("m=audio"),
        "our INVITE carries our offer"
    );
    let mut caller = caller_sdp();
    let (answer, _) = caller
        .answer(call.offer())
        .expect("the caller answers our offer");
    let t = t0 + Duration::from_secs(3);
    let out = call.handle(
        CallEvent::Answered {
            answer: answer.into_bytes(),
        },
        t,
    );
    assert!(
        matches!(out.first(), Some(Command::StartMedia(_))),
        "{out:?}"
    );
    assert_eq!(
        &out[1..],
        [
            Command::ReportAcd(AcdEvent::CallbackConnected { call: call_id() }),
            Command::HoldMusic(true),
            dial(1, "ann", 3),
        ]
    );
    // The caller hanging up now is an abandon of the callback, as for any waiting caller.
    let out = call.handle(CallEvent::DialogEnded(DialogEnd::Bye), t);
    assert!(out.contains(&Command::HangUpAgent { leg: 1 }), "{out:?}");
    assert!(out.contains(&Command::ReportAcd(AcdEvent::CallerHungUp {
        call: call_id()
    })));

    let mut garbled = callback(t0);
    let out = garbled.handle(
        CallEvent::Answered {
            answer: b"not sdp".to_vec(),
        },
        t,
    );
    assert_eq!(
        out.first(),
        Some(&Command::ReportAcd(AcdEvent::CallbackFailed {
            call: call_id()
        }))
    );
    assert!(garbled.is_over());
}

#[test]
fn the_record_of_a_bridged_call_has_the_queue_the_wait_the_talk_and_every_ring() {
    let t0 = Instant::now();
    let wall0 = Utc::now();
    let offer_sdp = caller_sdp().offer().into_bytes();
    let behaviour = Box::new(DialplanCall::new(Runtime::new(queued_dialplan())));
    let mut call = Call::new(setup(offer_sdp, queue_settings()), behaviour, t0, wall0);
    assert_eq!(call.start_record().started_at, wall0);
    call.start(t0);
    call.handle(CallEvent::Acked { answer: None }, t0);
    assert!(call.record().is_none(), "no record while the call goes on");
    // bob declines at 5 s, ann rings at 8 s, answers at 12 s, talks for a minute.
    let t = |secs| t0 + Duration::from_secs(secs);
    call.handle(offer(bob()), t(2));
    call.handle(leg(1, AgentLegEvent::Failed(LegFailure::Declined)), t(5));
    call.handle(offer(ann()), t(8));
    call.handle(leg(2, AgentLegEvent::Answered), t(12));
    call.handle(
        CallEvent::Queue(QueueNotice::Bridge { agent: ann() }),
        t(12),
    );
    call.handle(CallEvent::DialogEnded(DialogEnd::Bye), t(72));
    let record = call.record().expect("the call is over");
    let wall = |secs| wall0 + chrono::Duration::seconds(secs);
    assert_eq!(record.end_reason, "caller hung up");
    assert_eq!(record.answered_at, Some(wall0));
    assert_eq!(record.ended_at, wall(72));
    assert_eq!(record.dialplan.as_deref(), Some("queued"));
    assert_eq!(record.dialplan_version.as_ref().map(String::len), Some(12));
    assert_eq!(record.path, ["main.cards"]);
    assert_eq!(record.queue.as_deref(), Some("cards"));
    assert_eq!(record.agent.as_deref(), Some("ann"));
    assert_eq!(record.wait, Some(Duration::from_secs(12)));
    assert_eq!(record.talk, Some(Duration::from_secs(60)));
    let legs: Vec<(&str, &str, Option<_>, _, &str)> = record
        .legs
        .iter()
        .map(|l| {
            (
                l.kind.as_str(),
                l.party.as_str(),
                l.answered_at,
                l.ended_at,
                l.end_reason.as_str(),
            )
        })
        .collect();
    assert_eq!(
        legs,
        [
            ("caller", "5551234", Some(wall0), wall(72), "caller hung up"),
            ("agent", "bob", None, wall(5), "declined"),
            ("agent", "ann", Some(wall(12)), wall(72), "caller hung up"),
        ]
    );
}

#[test]
fn the_record_of_a_caller_who_gave_up_waiting_has_the_wait_and_no_agent() {
    let t0 = Instant::now();
    let (mut call, _, _) = queued_call(t0);
    let t = t0 + Duration::from_secs(30);
    call.handle(offer(ann()), t0 + Duration::from_secs(20));
    call.handle(CallEvent::DialogEnded(DialogEnd::Bye), t);
    let record = call.record().expect("over");
    assert_eq!(record.wait, Some(Duration::from_secs(30)));
    assert_eq!((record.agent, record.talk), (None, None));
    assert_eq!(record.legs[1].end_reason, "caller hung up");
    assert_eq!(record.legs[1].answered_at, None);
}
