//! Whole calls driven through the call machine with made-up time and no sockets: the SIP
//! lifecycle, re-offers, INFO digits, listening that runs on time, and nothing done for a
//! caller who has gone.

use super::*;
use crate::asr::Transcript;
use crate::dialplan::Runtime;
use crate::media::events::{AudioFrame, FRAME_SAMPLES};
use crate::media::sdp::{MediaCapabilities, SdpSession};
use chrono::Utc;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

const FRAME: Duration = Duration::from_millis(20);

/// The caller's side of SDP: a real offer/answer peer.
pub(super) fn caller_sdp() -> SdpSession {
    let addr: SocketAddr = "127.0.0.1:40000".parse().expect("address");
    SdpSession::new(addr, MediaCapabilities::default(), 7)
}

pub(super) fn setup(offer: Vec<u8>, settings: CallSettings) -> CallSetup {
    CallSetup {
        call_id: "call-1".into(),
        parties: Parties {
            from: "5551234".into(),
            to: "hotline".into(),
        },
        offer,
        local_rtp: "127.0.0.1:30000".parse().expect("address"),
        session_id: 1,
        settings,
    }
}

pub(super) fn settings() -> CallSettings {
    CallSettings {
        answer_delay: Duration::from_millis(500),
        max_duration: Duration::from_secs(60),
        playout_grace: Duration::from_millis(300),
        speech: true,
        early_recognition: None,
    }
}

/// A call of the demo, answered and confirmed at `t0 + 500 ms`.
fn demo_call(t0: Instant) -> (Call, Vec<Command>) {
    let offer = caller_sdp().offer().into_bytes();
    let demo = Box::new(Demo::new(Duration::from_secs(30)));
    let mut call = Call::new(setup(offer, settings()), demo, t0, Utc::now());
    let mut out = call.start(t0);
    let answered = t0 + Duration::from_millis(500);
    out.extend(call.handle(CallEvent::Timer, answered));
    out.extend(call.handle(CallEvent::Acked { answer: None }, answered));
    (call, out)
}

fn has(commands: &[Command], want: impl Fn(&Command) -> bool) -> bool {
    commands.iter().any(want)
}

#[test]
fn a_call_rings_then_answers_after_the_answer_delay_and_starts_on_the_ack() {
    let t0 = Instant::now();
    let offer = caller_sdp().offer().into_bytes();
    let demo = Box::new(Demo::new(Duration::from_secs(30)));
    let mut call = Call::new(setup(offer, settings()), demo, t0, Utc::now());
    let first = call.start(t0);
    assert!(
        matches!(first.as_slice(), [Command::StartMedia(_), Command::Ring]),
        "{first:?}"
    );
    assert_eq!(call.next_deadline(), Some(t0 + Duration::from_millis(500)));
    assert!(
        call.handle(CallEvent::Timer, t0 + Duration::from_millis(499))
            .is_empty()
    );
    let answered = call.handle(CallEvent::Timer, t0 + Duration::from_millis(500));
    let [Command::Answer { sdp }] = answered.as_slice() else {
        panic!("{answered:?}")
    };
    assert!(
        caller_sdp().accept_answer(sdp).is_ok(),
        "our 200 carries a usable answer"
    );
    let started = call.handle(
        CallEvent::Acked { answer: None },
        t0 + Duration::from_millis(520),
    );
    assert_eq!(started, [Command::Play(vec!["welcome".into()])]);
}

#[test]
fn a_caller_who_hangs_up_ends_the_call_without_our_bye() {
    let t0 = Instant::now();
    let (mut call, _) = demo_call(t0);
    let out = call.handle(
        CallEvent::DialogEnded(DialogEnd::Bye),
        t0 + Duration::from_secs(2),
    );
    assert_eq!(out, [Command::Release]);
    assert_eq!(call.end_reason(), Some(EndReason::CallerHungUp));
    assert!(call.is_over());
    assert_eq!(call.next_deadline(), None);
}

#[test]
fn a_cancel_while_ringing_never_answers() {
    let t0 = Instant::now();
    let offer = caller_sdp().offer().into_bytes();
    let demo = Box::new(Demo::new(Duration::from_secs(30)));
    let mut call = Call::new(setup(offer, settings()), demo, t0, Utc::now());
    call.start(t0);
    let out = call.handle(
        CallEvent::DialogEnded(DialogEnd::Cancel),
        t0 + Duration::from_millis(100),
    );
    assert_eq!(out, [Command::Release]);
    assert_eq!(call.end_reason(), Some(EndReason::Cancelled));
    assert!(
        call.handle(CallEvent::Timer, t0 + Duration::from_secs(1))
            .is_empty()
    );
}

#[test]
fn an_offer_with_no_common_codec_is_refused_with_488() {
    let t0 = Instant::now();
    let offer = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n".to_vec();
    let demo = Box::new(Demo::new(Duration::from_secs(30)));
    let mut call = Call::new(setup(offer, settings()), demo, t0, Utc::now());
    assert_eq!(
        call.start(t0),
        [Command::Refuse { status: 488 }, Command::Release]
    );
    assert_eq!(call.end_reason(), Some(EndReason::Refused));
}

#[test]
fn a_late_offer_starts_media_with_the_answer_in_the_ack() {
    let t0 = Instant::now();
    let demo = Box::new(Demo::new(Duration::from_secs(30)));
    let mut call = Call::new(setup(Vec::new(), settings()), demo, t0, Utc::now());
    assert_eq!(
        call.start(t0),
        [Command::Ring],
        "no media before the answer"
    );
    let answered = call.handle(CallEvent::Timer, t0 + Duration::from_millis(500));
    let [Command::Answer { sdp: our_offer }] = answered.as_slice() else {
        panic!("{answered:?}")
    };
    let (answer, _) = caller_sdp()
        .answer(our_offer)
        .expect("our offer is answerable");
    let out = call.handle(
        CallEvent::Acked {
            answer: Some(answer.into_bytes()),
        },
        t0 + Duration::from_millis(520),
    );
    assert!(
        matches!(out.first(), Some(Command::StartMedia(_))),
        "{out:?}"
    );
    assert!(has(&out, |c| matches!(c, Command::Play(_))), "{out:?}");
}

#[test]
fn a_late_offer_whose_ack_has_no_answer_is_hung_up() {
    let t0 = Instant::now();
    let demo = Box::new(Demo::new(Duration::from_secs(30)));
    let mut call = Call::new(setup(Vec::new(), settings()), demo, t0, Utc::now());
    call.start(t0);
    call.handle(CallEvent::Timer, t0 + Duration::from_millis(500));
    let out = call.handle(
        CallEvent::Acked { answer: None },
        t0 + Duration::from_millis(520),
    );
    assert_eq!(out, [Command::Bye, Command::Release]);
    assert_eq!(call.end_reason(), Some(EndReason::Refused));
}

#[test]
fn the_answer_in_the_ack_of_an_offerless_reinvite_is_applied() {
    let t0 = Instant::now();
    let (mut call, _) = demo_call(t0);
    let t = t0 + Duration::from_secs(3);
    let out = call.handle(
        CallEvent::ReOffer {
            request: 9,
            offer: Vec::new(),
        },
        t,
    );
    let [
        Command::Respond {
            request: 9,
            status: 200,
            sdp: Some(our_offer),
        },
    ] = out.as_slice()
    else {
        panic!("{out:?}")
    };
    // The caller answers with a new address (the answer's media moves there).
    let moved: SocketAddr = "127.0.0.1:41000".parse().expect("address");
    let mut caller = SdpSession::new(moved, MediaCapabilities::default(), 7);
    let (answer, _) = caller.answer(our_offer).expect("answerable");
    let out = call.handle(
        CallEvent::Acked {
            answer: Some(answer.into_bytes()),
        },
        t + Duration::from_millis(10),
    );
    let [Command::UpdateMedia(media)] = out.as_slice() else {
        panic!("{out:?}")
    };
    assert_eq!(media.remote_rtp, Some(moved));
    // A later confirmation (after an INFO) carries nothing new.
    assert!(
        call.handle(
            CallEvent::Acked { answer: None },
            t + Duration::from_millis(20)
        )
        .is_empty()
    );
}

#[test]
fn a_reinvite_with_an_unusable_offer_gets_488_and_the_call_goes_on() {
    let t0 = Instant::now();
    let (mut call, _) = demo_call(t0);
    let out = call.handle(
        CallEvent::ReOffer {
            request: 3,
            offer: b"v=0\r\ngarbage".to_vec(),
        },
        t0 + Duration::from_secs(1),
    );
    assert!(
        matches!(
            out.as_slice(),
            [Command::Respond {
                request: 3,
                status: 488,
                sdp: None
            }]
        ),
        "{out:?}"
    );
    assert!(!call.is_over());
}

#[test]
fn a_dtmf_relay_info_is_answered_and_becomes_a_digit() {
    let t0 = Instant::now();
    let (mut call, _) = demo_call(t0);
    let out = call.handle(
        CallEvent::Info {
            request: 4,
            content_type: Some("application/dtmf-relay".into()),
            body: b"Signal=5\r\nDuration=160\r\n".to_vec(),
        },
        t0 + Duration::from_secs(1),
    );
    assert_eq!(
        out,
        [
            Command::Respond {
                request: 4,
                status: 200,
                sdp: None
            },
            Command::Play(vec!["five".into()]),
        ]
    );
}

#[test]
fn the_maximum_duration_hangs_up_on_time() {
    let t0 = Instant::now();
    let (mut call, _) = demo_call(t0);
    let answered = t0 + Duration::from_millis(500);
    // The demo's own 30 s comes first; play that out, then the call lingers in its grace.
    assert_eq!(
        call.next_deadline(),
        Some(answered + Duration::from_secs(30))
    );
    let mut s = settings();
    s.max_duration = Duration::from_secs(5);
    let offer = caller_sdp().offer().into_bytes();
    let demo = Box::new(Demo::new(Duration::from_secs(30)));
    let mut short = Call::new(setup(offer, s), demo, t0, Utc::now());
    short.start(t0);
    short.handle(CallEvent::Timer, answered);
    short.handle(CallEvent::Acked { answer: None }, answered);
    assert_eq!(
        short.next_deadline(),
        Some(answered + Duration::from_secs(5))
    );
    let out = short.handle(CallEvent::Timer, answered + Duration::from_secs(5));
    assert_eq!(out, [Command::Bye, Command::Release]);
    assert_eq!(short.end_reason(), Some(EndReason::MaxDuration));
    let _ = call.handle(CallEvent::Timer, answered + Duration::from_secs(30));
}

#[test]
fn a_behaviour_hangup_waits_for_the_last_prompt_to_play_out() {
    let t0 = Instant::now();
    let (mut call, _) = demo_call(t0);
    let due = t0 + Duration::from_millis(500) + Duration::from_secs(30);
    assert!(call.handle(CallEvent::Timer, due).is_empty(), "no BYE yet");
    assert_eq!(call.next_deadline(), Some(due + Duration::from_millis(300)));
    let out = call.handle(CallEvent::Timer, due + Duration::from_millis(300));
    assert_eq!(out, [Command::Bye, Command::Release]);
    assert_eq!(call.end_reason(), Some(EndReason::DemoFinished));
}

#[test]
fn draining_refuses_a_ringing_call_and_hangs_up_an_answered_one() {
    let t0 = Instant::now();
    let offer = caller_sdp().offer().into_bytes();
    let demo = Box::new(Demo::new(Duration::from_secs(30)));
    let mut ringing = Call::new(setup(offer, settings()), demo, t0, Utc::now());
    ringing.start(t0);
    assert_eq!(
        ringing.handle(CallEvent::Draining, t0),
        [Command::Refuse { status: 503 }, Command::Release]
    );
    let (mut answered, _) = demo_call(t0);
    assert_eq!(
        answered.handle(CallEvent::Draining, t0 + Duration::from_secs(1)),
        [Command::Bye, Command::Release]
    );
    assert_eq!(answered.end_reason(), Some(EndReason::Shutdown));
}

// --- A dialplan call that listens -------------------------------------------------------

fn speech_dialplan() -> Arc<crate::dialplan::Dialplan> {
    let text = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/speech.yaml"),
    )
    .expect("fixture");
    let (plan, _) = crate::dialplan::loader::load_source("speech.yaml", &text, None)
        .unwrap_or_else(|r| panic!("{}", r.render()));
    Arc::new(plan)
}

/// The speech fixture's call, answered at `t0`; returns it with the commands so far.
fn speech_call(t0: Instant) -> (Call, Vec<Command>) {
    let offer = caller_sdp().offer().into_bytes();
    let mut s = settings();
    s.answer_delay = Duration::ZERO;
    let behaviour = Box::new(DialplanCall::new(Runtime::new(speech_dialplan())));
    let mut call = Call::new(setup(offer, s), behaviour, t0, Utc::now());
    let mut out = call.start(t0);
    out.extend(call.handle(CallEvent::Acked { answer: None }, t0));
    (call, out)
}

fn fixture(name: &str) -> Vec<i16> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("sip-testbench/utterances")
        .join(name);
    hound::WavReader::open(&path)
        .and_then(|reader| reader.into_samples::<i16>().collect())
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn frames(pcm: &[i16]) -> Vec<AudioFrame> {
    pcm.chunks(FRAME_SAMPLES)
        .map(|chunk| {
            let mut samples = [0i16; FRAME_SAMPLES];
            samples[..chunk.len()].copy_from_slice(chunk);
            AudioFrame { samples }
        })
        .collect()
}

/// Wakes the machine at each deadline (and every 20 ms as media would) until `until`,
/// collecting the commands.
fn run_clock(call: &mut Call, from: Instant, until: Instant) -> Vec<(Instant, Command)> {
    let mut out = Vec::new();
    let mut t = from;
    while t < until && !call.is_over() {
        t += FRAME;
        if call.next_deadline().is_some_and(|d| d <= t) {
            out.extend(call.handle(CallEvent::Timer, t).into_iter().map(|c| (t, c)));
        }
    }
    out
}

#[test]
fn a_caller_who_goes_silent_mid_gather_reaches_no_input_on_time() {
    let t0 = Instant::now();
    let (mut call, first) = speech_call(t0);
    // The welcome prompt plays, the gather listens with barge-in.
    assert!(
        has(&first, |c| *c == Command::Play(vec!["welcome".into()])),
        "{first:?}"
    );
    assert!(has(&first, |c| *c == Command::Audio(true)), "{first:?}");
    let prompt_end = t0 + Duration::from_secs(1);
    call.handle(CallEvent::PlaybackFinished, prompt_end);
    // The caller speaks, then their phone sends nothing at all (mute, silence suppression,
    // a NAT that dropped the stream): no frame ever comes again.
    let speech = fixture("balance-slt.wav");
    let mut t = prompt_end;
    let mut asked = None;
    for frame in frames(&speech[..1600 * 8]) {
        t += FRAME;
        for command in call.handle(CallEvent::Frame(frame), t) {
            if let Command::Recognise { id, .. } = command {
                asked = Some(id);
            }
        }
    }
    assert!(asked.is_none(), "still speaking when the stream stopped");
    let stopped = t;
    let later = run_clock(&mut call, stopped, stopped + Duration::from_secs(3));
    let (asked_at, id) = later
        .iter()
        .find_map(|(at, c)| match c {
            Command::Recognise {
                id, early: false, ..
            } => Some((*at, *id)),
            _ => None,
        })
        .expect("the missing frames ended the utterance");
    assert!(
        asked_at <= stopped + Duration::from_millis(1100),
        "recognised {:?} after the stream stopped",
        asked_at - stopped
    );
    // The recogniser hears no words in it (a cough): the gather's no-input resumes.
    let empty = Transcript {
        text: String::new(),
        confidence: 0.0,
        audio_ms: 1600,
        decode_ms: 5,
    };
    call.handle(
        CallEvent::Recognised {
            id,
            result: Ok(empty),
        },
        asked_at,
    );
    // The fixture's gather has the dialplan's default 5 s no-input, paused while speaking.
    let rest = run_clock(&mut call, asked_at, asked_at + Duration::from_secs(10));
    let (sorry_at, _) = rest
        .iter()
        .find(|(_, c)| *c == Command::Play(vec!["sorry".into()]))
        .expect("the no-input prompt plays");
    let waited = *sorry_at - prompt_end;
    assert!(
        waited <= Duration::from_secs(8),
        "no-input came {waited:?} after the prompt, not at the end of the call"
    );
}

#[test]
fn a_caller_who_never_sends_audio_reaches_no_input_on_time() {
    let t0 = Instant::now();
    let (mut call, _) = speech_call(t0);
    let prompt_end = t0 + Duration::from_secs(1);
    call.handle(CallEvent::PlaybackFinished, prompt_end);
    let out = run_clock(&mut call, prompt_end, prompt_end + Duration::from_secs(10));
    let (sorry_at, _) = out
        .iter()
        .find(|(_, c)| *c == Command::Play(vec!["sorry".into()]))
        .expect("the no-input prompt plays");
    let waited = *sorry_at - prompt_end;
    assert!(
        waited >= Duration::from_secs(5) && waited <= Duration::from_millis(5100),
        "{waited:?}"
    );
    assert!(
        !out.iter()
            .any(|(_, c)| matches!(c, Command::Recognise { .. })),
        "silence is never sent to the recogniser"
    );
}

#[test]
fn speech_during_the_prompt_barges_in_and_its_transcript_takes_the_branch() {
    let t0 = Instant::now();
    let (mut call, _) = speech_call(t0);
    let speech = fixture("balance-slt.wav");
    let mut t = t0;
    let mut out = Vec::new();
    for frame in frames(&speech).into_iter().chain(frames(&[0; 8000])) {
        t += FRAME;
        out.extend(call.handle(CallEvent::Frame(frame), t));
    }
    assert!(
        has(&out, |c| *c == Command::StopPlayback),
        "barge-in cut the prompt"
    );
    let id = out
        .iter()
        .find_map(|c| match c {
            Command::Recognise { id, .. } => Some(*id),
            _ => None,
        })
        .expect("recognised");
    call.handle(CallEvent::PlaybackFinished, t);
    let heard = Transcript {
        text: "what is my balance".into(),
        confidence: 0.9,
        audio_ms: 1500,
        decode_ms: 100,
    };
    let out = call.handle(
        CallEvent::Recognised {
            id,
            result: Ok(heard),
        },
        t,
    );
    assert!(
        has(&out, |c| *c == Command::Audio(false)),
        "listening stopped: {out:?}"
    );
    assert!(
        has(&out, |c| *c == Command::Play(vec!["one".into()])),
        "{out:?}"
    );
}

#[test]
fn nothing_is_done_for_a_caller_who_has_hung_up() {
    let t0 = Instant::now();
    let (mut call, _) = speech_call(t0);
    let speech = fixture("balance-slt.wav");
    let mut t = t0;
    let mut id = None;
    for frame in frames(&speech).into_iter().chain(frames(&[0; 8000])) {
        t += FRAME;
        for command in call.handle(CallEvent::Frame(frame), t) {
            if let Command::Recognise { id: asked, .. } = command {
                id = Some(asked);
            }
        }
    }
    let id = id.expect("an utterance went to the recogniser");
    let out = call.handle(CallEvent::DialogEnded(DialogEnd::Bye), t);
    assert_eq!(out, [Command::Audio(false), Command::Release]);
    let heard = Transcript {
        text: "what is my balance".into(),
        confidence: 0.9,
        audio_ms: 1500,
        decode_ms: 100,
    };
    assert!(
        call.handle(
            CallEvent::Recognised {
                id,
                result: Ok(heard)
            },
            t
        )
        .is_empty()
    );
    assert!(
        call.handle(
            CallEvent::LookupDone {
                id: 1,
                result: crate::dialplan::LookupResult::NotFound
            },
            t
        )
        .is_empty()
    );
    assert!(
        call.handle(CallEvent::Frame(frames(&speech)[0]), t)
            .is_empty()
    );
    assert_eq!(call.next_deadline(), None);
}

#[test]
fn the_record_of_a_call_cancelled_while_ringing_was_never_answered() {
    let t0 = Instant::now();
    let wall0 = Utc::now();
    let offer = caller_sdp().offer().into_bytes();
    let demo = Box::new(Demo::new(Duration::from_secs(30)));
    let mut call = Call::new(setup(offer, settings()), demo, t0, wall0);
    call.start(t0);
    call.handle(
        CallEvent::DialogEnded(DialogEnd::Cancel),
        t0 + Duration::from_millis(100),
    );
    let record = call.record().expect("over");
    assert_eq!(record.answered_at, None);
    assert_eq!(record.end_reason, "cancelled");
    assert_eq!(record.ended_at, wall0 + chrono::Duration::milliseconds(100));
    assert_eq!(
        (record.start.caller.as_str(), record.start.dialled.as_str()),
        ("5551234", "hotline")
    );
    assert_eq!(record.dialplan, None, "the demo has no dialplan");
    assert_eq!(record.legs.len(), 1);
}
