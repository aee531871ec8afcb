//! The agent bot taking calls, without the Hotline server: the testbench's own caller
//! (`Uac`) dials the agent phone's address directly. Loopback only, free ports, bounded
//! waits.

use hotline::media::g711::G711Law;
use hotline::media::port_allocator::PortAllocator;
use hotline::media::sdp::{AudioCodec, MediaCapabilities, SdpSession};
use hotline::media::session::MediaSocket;
use rsipstack::dialog::dialog::DialogState;
use sip_testbench::agent::AgentPhone;
use sip_testbench::agent_call::{AgentAnswer, AgentBehaviour, AgentCall, AgentEnd, GARBAGE_SDP};
use sip_testbench::caller::{CallPlan, Dial, EndedBy, find_exact, place_call_with};
use sip_testbench::uac::{Dialled, SipTransport, Uac};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::{Instant, timeout};

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const WAIT: Duration = Duration::from_secs(10);

/// A tone that survives G.711 µ-law unchanged: every sample is a µ-law value.
fn tone(hz: f64, seconds: f64) -> Arc<[i16]> {
    let n = (8000.0 * seconds) as usize;
    (0..n)
        .map(|i| {
            let t = i as f64 / 8000.0;
            // A little vibrato, so that no two frames are alike.
            let s = (t * hz * std::f64::consts::TAU + (t * 3.0).sin()).sin() * 9000.0;
            G711Law::Ulaw.decode(G711Law::Ulaw.encode(s as i16))
        })
        .collect()
}

fn caller_ports() -> PortAllocator {
    PortAllocator::new(LOOPBACK, 50000, 59999).expect("port range")
}

fn x_test() -> Vec<(String, String)> {
    vec![("X-Test".to_string(), "1".to_string())]
}

async fn next_call(calls: &mut UnboundedReceiver<AgentCall>) -> AgentCall {
    timeout(WAIT, calls.recv())
        .await
        .expect("the agent reports the call in time")
        .expect("the report channel is open")
}

/// An offer for an RTP socket that stays bound (but unread) while the socket is kept.
fn offer(
    ports: &PortAllocator,
    capabilities: MediaCapabilities,
) -> (SdpSession, Vec<u8>, MediaSocket) {
    let socket = MediaSocket::bind(ports).expect("an RTP port");
    let mut sdp = SdpSession::new(socket.local_addr(), capabilities, 7);
    let body = sdp.offer().into_bytes();
    (sdp, body, socket)
}

async fn dial(uac: &Uac, phone: &AgentPhone, offer: Vec<u8>) -> Dialled {
    timeout(
        WAIT,
        uac.invite_with_headers(
            "alice",
            phone.local_addr(),
            SipTransport::Udp,
            Some(offer),
            &x_test(),
        ),
    )
    .await
    .expect("a final response in time")
    .expect("the INVITE goes out")
}

fn status(dialled: &Dialled) -> u16 {
    dialled
        .response
        .as_ref()
        .map(|r| u16::from(r.status_code.clone()))
        .unwrap_or(0)
}

#[tokio::test]
async fn answer_after_a_delay_exchanges_audio_and_digits_both_ways() {
    let phone = AgentPhone::start(LOOPBACK, "alice").await.expect("phone");
    let uac = Uac::start(LOOPBACK).await.expect("uac");
    let ports = caller_ports();
    let agent_voice = tone(440.0, 1.0);
    let caller_voice = tone(700.0, 1.0);
    let mut calls = phone.take_calls(AgentBehaviour {
        answer: AgentAnswer::AnswerAfter(Duration::from_millis(300)),
        speak: Some(agent_voice.clone()),
        hangup_after: None,
        vanish_after: None,
    });
    let plan = CallPlan {
        server: phone.local_addr(),
        transport: SipTransport::Udp,
        speak: Some(caller_voice.clone()),
        keys: vec![
            (Duration::from_millis(1300), '5'),
            (Duration::from_millis(1700), '#'),
        ],
        hangup_after: Duration::from_millis(2500),
        record: true,
    };
    let dial = Dial {
        called: "alice".into(),
        headers: x_test(),
        ..Dial::default()
    };
    let report = timeout(WAIT, place_call_with(&uac, &ports, &plan, &dial))
        .await
        .expect("the call ends in time")
        .expect("the call runs");
    assert_eq!(report.status, 200);
    assert!(
        report.setup >= Duration::from_millis(300),
        "answered after {:?}",
        report.setup
    );
    assert_eq!(report.ended_by, EndedBy::Caller);
    assert!(
        find_exact(&report.heard, &agent_voice).is_some(),
        "the caller hears the agent's voice sample for sample"
    );

    let call = next_call(&mut calls).await;
    assert!(call.answered);
    assert_eq!(call.ended_by, AgentEnd::ServerBye);
    assert!(
        call.request_uri.starts_with("sip:alice@"),
        "{}",
        call.request_uri
    );
    assert_eq!(call.header("X-Test"), Some("1"));
    assert!(call.header("Via").is_some() && call.header("CSeq").is_some());
    assert!(
        find_exact(&call.heard, &caller_voice).is_some(),
        "the agent hears the caller's voice sample for sample ({} samples heard)",
        call.heard.len()
    );
    assert_eq!(call.digits, "5#");
}

#[tokio::test]
async fn the_agent_hangs_up_after_the_configured_time() {
    let phone = AgentPhone::start(LOOPBACK, "alice").await.expect("phone");
    let uac = Uac::start(LOOPBACK).await.expect("uac");
    let ports = caller_ports();
    let mut calls = phone.take_calls(AgentBehaviour {
        answer: AgentAnswer::AnswerAfter(Duration::ZERO),
        speak: None,
        hangup_after: Some(Duration::from_millis(600)),
        vanish_after: None,
    });
    let plan = CallPlan {
        server: phone.local_addr(),
        transport: SipTransport::Udp,
        speak: None,
        keys: Vec::new(),
        hangup_after: Duration::from_secs(8),
        record: false,
    };
    let dial = Dial {
        called: "alice".into(),
        ..Dial::default()
    };
    let started = Instant::now();
    let report = timeout(WAIT, place_call_with(&uac, &ports, &plan, &dial))
        .await
        .expect("the call ends in time")
        .expect("the call runs");
    assert_eq!(report.status, 200);
    assert_eq!(report.ended_by, EndedBy::Server);
    assert!(started.elapsed() < Duration::from_secs(4));
    let call = next_call(&mut calls).await;
    assert!(call.answered);
    assert_eq!(call.ended_by, AgentEnd::AgentBye);
}

#[tokio::test]
async fn answers_in_the_codec_the_offer_prefers_and_keeps_taking_calls() {
    let phone = AgentPhone::start(LOOPBACK, "alice").await.expect("phone");
    let uac = Uac::start(LOOPBACK).await.expect("uac");
    let ports = caller_ports();
    let mut calls = phone.take_calls(AgentBehaviour::new(AgentAnswer::AnswerAfter(
        Duration::ZERO,
    )));

    // PCMA first, with telephone-event.
    let (mut sdp, body, _rtp) = offer(
        &ports,
        MediaCapabilities {
            codecs: vec![AudioCodec::Pcma, AudioCodec::Pcmu],
            telephone_event: true,
        },
    );
    let dialled = dial(&uac, &phone, body).await;
    assert_eq!(status(&dialled), 200);
    let answer = dialled.response.as_ref().map(|r| r.body.clone()).unwrap();
    let negotiated = sdp
        .accept_answer(std::str::from_utf8(&answer).unwrap())
        .expect("a valid SDP answer");
    assert_eq!(negotiated.codec, AudioCodec::Pcma);
    assert!(negotiated.dtmf_payload_type.is_some());
    dialled.dialog.bye().await.expect("BYE");
    assert_eq!(next_call(&mut calls).await.ended_by, AgentEnd::ServerBye);

    // A second offer to the same phone: PCMU only, no telephone-event.
    let (mut sdp, body, _rtp) = offer(
        &ports,
        MediaCapabilities {
            codecs: vec![AudioCodec::Pcmu],
            telephone_event: false,
        },
    );
    let dialled = dial(&uac, &phone, body).await;
    assert_eq!(status(&dialled), 200);
    let answer = dialled.response.as_ref().map(|r| r.body.clone()).unwrap();
    let answer = String::from_utf8(answer).unwrap();
    assert!(!answer.contains("telephone-event"), "{answer}");
    let negotiated = sdp.accept_answer(&answer).expect("a valid SDP answer");
    assert_eq!(negotiated.codec, AudioCodec::Pcmu);
    dialled.dialog.bye().await.expect("BYE");
    assert_eq!(next_call(&mut calls).await.ended_by, AgentEnd::ServerBye);

    // A new behaviour for the third.
    phone.set_behaviour(AgentBehaviour::new(AgentAnswer::Busy));
    let (_sdp, body, _rtp) = offer(&ports, MediaCapabilities::default());
    let dialled = dial(&uac, &phone, body).await;
    assert_eq!(status(&dialled), 486);
    assert_eq!(next_call(&mut calls).await.ended_by, AgentEnd::Busy);
}

#[tokio::test]
async fn decline_after_a_delay_gives_603() {
    let phone = AgentPhone::start(LOOPBACK, "alice").await.expect("phone");
    let uac = Uac::start(LOOPBACK).await.expect("uac");
    let ports = caller_ports();
    let mut calls = phone.take_calls(AgentBehaviour::new(AgentAnswer::DeclineAfter(
        Duration::from_millis(400),
    )));
    let (_sdp, body, _rtp) = offer(&ports, MediaCapabilities::default());
    let started = Instant::now();
    let dialled = dial(&uac, &phone, body).await;
    assert_eq!(status(&dialled), 603);
    assert!(started.elapsed() >= Duration::from_millis(400));
    let call = next_call(&mut calls).await;
    assert!(!call.answered);
    assert_eq!(call.ended_by, AgentEnd::Declined);
    assert_eq!(call.header("X-Test"), Some("1"));
}

#[tokio::test]
async fn busy_gives_486_at_once() {
    let phone = AgentPhone::start(LOOPBACK, "alice").await.expect("phone");
    let uac = Uac::start(LOOPBACK).await.expect("uac");
    let ports = caller_ports();
    let mut calls = phone.take_calls(AgentBehaviour::new(AgentAnswer::Busy));
    let (_sdp, body, _rtp) = offer(&ports, MediaCapabilities::default());
    let started = Instant::now();
    let dialled = dial(&uac, &phone, body).await;
    assert_eq!(status(&dialled), 486);
    assert!(started.elapsed() < Duration::from_secs(1));
    let call = next_call(&mut calls).await;
    assert!(!call.answered);
    assert_eq!(call.ended_by, AgentEnd::Busy);
}

/// Waits until the caller's dialog is ringing (180 received).
async fn until_ringing(states: &mut rsipstack::dialog::dialog::DialogStateReceiver) {
    timeout(WAIT, async {
        while let Some(state) = states.recv().await {
            if matches!(state, DialogState::Early(_, _)) {
                return;
            }
        }
        panic!("the dialog ended before ringing");
    })
    .await
    .expect("180 in time");
}

#[tokio::test]
async fn never_answer_then_cancel_gives_487() {
    let phone = AgentPhone::start(LOOPBACK, "alice").await.expect("phone");
    let uac = Uac::start(LOOPBACK).await.expect("uac");
    let ports = caller_ports();
    let mut calls = phone.take_calls(AgentBehaviour::new(AgentAnswer::NeverAnswer));
    let (_sdp, body, _rtp) = offer(&ports, MediaCapabilities::default());
    let mut pending = uac
        .invite_pending(
            "alice",
            phone.local_addr(),
            SipTransport::Udp,
            Some(body),
            &x_test(),
        )
        .expect("the INVITE goes out");
    until_ringing(&mut pending.states).await;
    timeout(WAIT, pending.dialog.cancel())
        .await
        .expect("the CANCEL is answered in time")
        .expect("200 to the CANCEL");
    let (_, response) = timeout(WAIT, pending.outcome)
        .await
        .expect("a final response in time")
        .expect("the INVITE task")
        .expect("the INVITE transaction");
    let response = response.expect("a final response");
    assert_eq!(u16::from(response.status_code), 487);
    let call = next_call(&mut calls).await;
    assert!(!call.answered);
    assert_eq!(call.ended_by, AgentEnd::Cancelled);
}

/// An out-of-dialog OPTIONS on a plain socket; the status line of the answer.
async fn options(phone: SocketAddr) -> Option<String> {
    let socket = tokio::net::UdpSocket::bind((LOOPBACK, 0)).await.ok()?;
    let local = socket.local_addr().ok()?;
    let text = format!(
        "OPTIONS sip:alice@{phone} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK{:016x}\r\n\
         Max-Forwards: 70\r\nFrom: <sip:probe@{local}>;tag=1\r\nTo: <sip:alice@{phone}>\r\n\
         Call-ID: probe-{:016x}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
        rand::random::<u64>(),
        rand::random::<u64>(),
    );
    socket.send_to(text.as_bytes(), phone).await.ok()?;
    let mut buf = vec![0u8; 4096];
    let (n, _) = timeout(Duration::from_secs(3), socket.recv_from(&mut buf))
        .await
        .ok()?
        .ok()?;
    let reply = String::from_utf8_lossy(&buf[..n]).into_owned();
    reply.lines().next().map(str::to_string)
}

#[tokio::test]
async fn vanishing_leaves_the_call_unanswered() {
    let phone = AgentPhone::start(LOOPBACK, "alice").await.expect("phone");
    let uac = Uac::start(LOOPBACK).await.expect("uac");
    let ports = caller_ports();
    let mut calls = phone.take_calls(AgentBehaviour::new(AgentAnswer::VanishAfter(
        Duration::from_millis(200),
    )));
    let (_sdp, body, _rtp) = offer(&ports, MediaCapabilities::default());
    let mut pending = uac
        .invite_pending(
            "alice",
            phone.local_addr(),
            SipTransport::Udp,
            Some(body),
            &[],
        )
        .expect("the INVITE goes out");
    until_ringing(&mut pending.states).await;
    let call = next_call(&mut calls).await;
    assert_eq!(call.ended_by, AgentEnd::Vanished);
    assert!(
        timeout(Duration::from_secs(2), pending.dialog.cancel())
            .await
            .is_err(),
        "a vanished phone does not answer the CANCEL"
    );
    assert!(
        !pending.outcome.is_finished(),
        "nor does the INVITE get a final response"
    );
    pending.outcome.abort();
    // The phone itself still answers what is not about that call.
    assert_eq!(
        options(phone.local_addr()).await.as_deref(),
        Some("SIP/2.0 200 OK")
    );
}

#[tokio::test]
async fn garbage_sdp_is_a_200_that_is_not_sdp() {
    let phone = AgentPhone::start(LOOPBACK, "alice").await.expect("phone");
    let uac = Uac::start(LOOPBACK).await.expect("uac");
    let ports = caller_ports();
    let mut calls = phone.take_calls(AgentBehaviour::new(AgentAnswer::GarbageSdp));
    let (mut sdp, body, _rtp) = offer(&ports, MediaCapabilities::default());
    let dialled = dial(&uac, &phone, body).await;
    assert_eq!(status(&dialled), 200);
    let answer = dialled.response.as_ref().map(|r| r.body.clone()).unwrap();
    assert_eq!(answer, GARBAGE_SDP.as_bytes());
    assert!(sdp.accept_answer(GARBAGE_SDP).is_err());
    dialled.dialog.bye().await.expect("BYE");
    let call = next_call(&mut calls).await;
    assert!(call.answered);
    assert!(call.heard.is_empty());
    assert_eq!(call.ended_by, AgentEnd::ServerBye);
}

#[tokio::test]
async fn options_gets_200_and_invites_get_480_until_calls_are_taken() {
    let phone = AgentPhone::start(LOOPBACK, "alice").await.expect("phone");
    let uac = Uac::start(LOOPBACK).await.expect("uac");
    let ports = caller_ports();
    assert_eq!(
        options(phone.local_addr()).await.as_deref(),
        Some("SIP/2.0 200 OK")
    );
    let (_sdp, body, _rtp) = offer(&ports, MediaCapabilities::default());
    let dialled = dial(&uac, &phone, body).await;
    assert_eq!(status(&dialled), 480);
}
