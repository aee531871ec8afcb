//! Agent queues through the real server with agent bots on loopback: a small dialplan
//! that sends every caller straight to the `cards` queue (VIPs, who dial `vip`, ahead),
//! short ring timeouts, no wrap-up. Covers what a caller and an agent live through:
//! RONA moving the caller to the next agent, a declined offer, a phone vanishing while it
//! rings, a VIP served before an earlier standard caller, the place in line announced,
//! a caller giving up while queued (abandoned), nobody staffed, and the maximum wait.

mod support;

use hotline::media::port_allocator::PortAllocator;
use sip_testbench::agent::AgentPhone;
use sip_testbench::agent_call::{AgentAnswer, AgentBehaviour, AgentCall, AgentEnd};
use sip_testbench::caller::{CallPlan, CallReport, Dial, find_exact, place_call_with};
use sip_testbench::uac::{SipTransport, Uac};
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;
use support::{TestServer, frames_found, middle, noise};
use tokio::sync::mpsc::UnboundedReceiver;

const PASSWORD: &str = "agent-Passw0rd";
const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

const DIALPLAN: &str = r#"
name: queue-test
language: en-US
timezone: UTC
queues: [cards]
flows:
  main:
    steps:
      to_cards:
        transfer:
          queue: cards
          priority:
            - { when: "called == vip", level: urgent }
            - { level: normal }
          on_timeout: waited_too_long
          on_failure: nobody_there
          callback: true
          on_callback: called_back_later
      called_back_later:
        hangup: { play: [prompt: goodbye], reason: callback requested }
      waited_too_long:
        hangup: { play: [prompt: goodbye], reason: waited too long }
      nobody_there:
        hangup: { play: [prompt: sorry], reason: no agent }
"#;

/// The server with `agents` in its database and the queue-test dialplan; `acd` goes into
/// `[acd.queues.cards]`.
fn server(dir: &Path, agents: &[&str], acd: &str) -> TestServer {
    server_with(dir, agents, acd, "")
}

/// [`server`] with more configuration after the queue's table.
fn server_with(dir: &Path, agents: &[&str], acd: &str, more: &str) -> TestServer {
    let data = dir.join("data");
    for login in agents {
        support::add_agent(&data, login, PASSWORD, &["cards=3"]);
    }
    let dialplan = dir.join("queue-test.yaml");
    std::fs::write(&dialplan, DIALPLAN).expect("write the dialplan");
    TestServer::start(&format!(
        "[dialplan]\ndemo = false\npath = \"{}\"\n[asr]\nenabled = false\n[data]\ndir = \"{}\"\n\
         [acd.queues.cards]\nring_timeout_secs = 3\nwrap_up_secs = 0\nrona_misses = 1\n{acd}\n{more}",
        dialplan.display(),
        data.display()
    ))
}

/// Whether the last seconds of what the caller heard are `voice` (20 ms frames found).
fn heard_voice(report: &CallReport, voice: &[i16]) -> bool {
    let from = report.heard.len().saturating_sub(8000 * 2);
    frames_found(voice, &report.heard, from, 20) >= 15
}

struct Agent {
    phone: AgentPhone,
    calls: UnboundedReceiver<AgentCall>,
    voice: Arc<[i16]>,
}

async fn agent(server: &TestServer, login: &str, answer: AgentAnswer, seed: u32) -> Agent {
    agent_vanishing(server, login, answer, seed, None).await
}

/// [`agent`] whose phone vanishes `vanish_after` answering.
async fn agent_vanishing(
    server: &TestServer,
    login: &str,
    answer: AgentAnswer,
    seed: u32,
    vanish_after: Option<Duration>,
) -> Agent {
    let phone = AgentPhone::start(LOOPBACK, login)
        .await
        .expect("agent phone");
    let voice = noise(seed, 60);
    let calls = phone.take_calls(AgentBehaviour {
        answer,
        speak: Some(voice.clone()),
        hangup_after: None,
        vanish_after,
    });
    support::register(&phone, server, PASSWORD).await;
    let (status, agents) = wait_for_agent(server, login).await;
    assert_eq!(status, 200, "{agents}");
    Agent {
        phone,
        calls,
        voice,
    }
}

/// Waits until `/api/agents` lists `login` as available.
async fn wait_for_agent(server: &TestServer, login: &str) -> (u16, String) {
    let mut last = (0, String::new());
    for _ in 0..100 {
        last = server.http("GET", "/api/agents", None, "");
        let listed: serde_json::Value = serde_json::from_str(&last.1).unwrap_or_default();
        let ready = listed.as_array().is_some_and(|agents| {
            agents
                .iter()
                .any(|a| a["agent"] == login && a["state"] == "available")
        });
        if ready {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "agent {login} never became available: {last:?}\n{}",
        server.log()
    );
}

/// Places a call dialling `called` that hangs up after `seconds`.
fn call(server: &TestServer, called: &str, seconds: u64) -> tokio::task::JoinHandle<CallReport> {
    dial(server, called, seconds, Vec::new())
}

/// [`call`] pressing `keys` (RFC 4733) at the given times after the answer.
fn call_with_keys(
    server: &TestServer,
    seconds: u64,
    keys: Vec<(Duration, char)>,
) -> tokio::task::JoinHandle<CallReport> {
    dial(server, "hotline", seconds, keys)
}

fn dial(
    server: &TestServer,
    called: &str,
    seconds: u64,
    keys: Vec<(Duration, char)>,
) -> tokio::task::JoinHandle<CallReport> {
    let target = server.sip_udp;
    let called = called.to_string();
    tokio::spawn(async move {
        let uac = Uac::start(LOOPBACK).await.expect("caller bot");
        let ports = PortAllocator::new(LOOPBACK, 30000, 39999).expect("ports");
        let plan = CallPlan {
            server: target,
            transport: SipTransport::Udp,
            speak: Some(noise(99, 1)),
            keys,
            hangup_after: Duration::from_secs(seconds),
            record: true,
        };
        let dial = Dial {
            called,
            ..Dial::default()
        };
        place_call_with(&uac, &ports, &plan, &dial)
            .await
            .expect("call")
    })
}

async fn next_call(agent: &mut Agent, server: &TestServer) -> AgentCall {
    match tokio::time::timeout(Duration::from_secs(30), agent.calls.recv()).await {
        Ok(Some(call)) => call,
        _ => panic!("the agent's phone got no call:\n{}", server.log()),
    }
}

fn queue_figures(server: &TestServer) -> serde_json::Value {
    let (status, body) = server.http("GET", "/api/queues", None, "");
    assert_eq!(status, 200, "{body}");
    let figures: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    figures
        .as_array()
        .and_then(|queues| queues.iter().find(|q| q["queue"] == "cards").cloned())
        .expect("the cards queue")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_offer_moves_the_caller_to_the_next_agent_and_puts_the_first_away() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = server(dir.path(), &["alice", "bob"], "");
    // Alice registered first: the longest idle, offered first; her phone only rings.
    let mut alice = agent(&server, "alice", AgentAnswer::NeverAnswer, 1).await;
    let mut bob = agent(
        &server,
        "bob",
        AgentAnswer::AnswerAfter(Duration::from_millis(300)),
        2,
    )
    .await;
    let report = call_with_keys(
        &server,
        9,
        vec![
            (Duration::from_secs(7), '5'),
            (Duration::from_millis(7400), '#'),
        ],
    )
    .await
    .expect("caller");
    let rang = next_call(&mut alice, &server).await;
    assert!(!rang.answered);
    assert_eq!(
        rang.ended_by,
        AgentEnd::Cancelled,
        "the ring timeout cancels the offer"
    );
    let took = next_call(&mut bob, &server).await;
    assert!(took.answered, "{took:?}");
    assert_eq!(
        took.header("X-Hotline-Call-Id"),
        Some(report.call_id.as_str())
    );
    assert!(
        heard_voice(&report, &bob.voice),
        "the caller talks to bob\n{}",
        server.log()
    );
    let (_, agents) = server.http("GET", "/api/agents", None, "");
    let agents: serde_json::Value = serde_json::from_str(&agents).expect("JSON");
    let alice_now = agents
        .as_array()
        .and_then(|a| a.iter().find(|a| a["agent"] == "alice").cloned())
        .expect("alice listed");
    assert_eq!(alice_now["state"], "away", "{alice_now}");
    assert_eq!(alice_now["reason"], "no answer", "{alice_now}");
    let cards = queue_figures(&server);
    assert_eq!(cards["answered"], 1, "{cards}");
    assert_eq!(cards["missed_offers"], 1, "{cards}");
    drop(alice.phone);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_offer_a_phone_vanishing_while_it_rings_and_garbage_sdp_leave_the_caller_queued()
{
    let dir = tempfile::tempdir().expect("temp dir");
    let server = server(dir.path(), &["alice", "bob", "dave", "carol"], "");
    let decline = AgentAnswer::DeclineAfter(Duration::from_millis(300));
    let mut alice = agent(&server, "alice", decline, 1).await;
    let vanish = AgentAnswer::VanishAfter(Duration::from_millis(200));
    let mut bob = agent(&server, "bob", vanish, 2).await;
    let answer = AgentAnswer::AnswerAfter(Duration::from_millis(300));
    let mut dave = agent(&server, "dave", AgentAnswer::GarbageSdp, 4).await;
    let mut carol = agent(&server, "carol", answer, 3).await;
    let report = call(&server, "hotline", 10).await.expect("caller");
    let declined = next_call(&mut alice, &server).await;
    assert_eq!(declined.ended_by, AgentEnd::Declined);
    let vanished = next_call(&mut bob, &server).await;
    assert_eq!(vanished.ended_by, AgentEnd::Vanished);
    // A phone that answers with a body that is not SDP gets our BYE at once.
    let garbage = next_call(&mut dave, &server).await;
    assert_eq!(garbage.ended_by, AgentEnd::ServerBye, "{garbage:?}");
    let took = next_call(&mut carol, &server).await;
    assert!(took.answered);
    assert!(
        heard_voice(&report, &carol.voice),
        "the caller talks to carol\n{}",
        server.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vip_is_served_before_an_earlier_caller_and_waiting_callers_hear_their_place() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = server(dir.path(), &["alice"], "announce_every_secs = 5\n");
    let answer = AgentAnswer::AnswerAfter(Duration::from_millis(200));
    let mut alice = agent(&server, "alice", answer, 1).await;
    // Alice takes a first caller for 6 s; meanwhile a standard caller, then a VIP, wait.
    let first = call(&server, "hotline", 6);
    let _ = next_call_started(&server, 1).await;
    let standard = call(&server, "hotline", 16);
    tokio::time::sleep(Duration::from_millis(800)).await;
    let vip = call(&server, "vip", 10);
    let first = first.await.expect("first caller");
    let vip = vip.await.expect("vip caller");
    let standard = standard.await.expect("standard caller");
    let mut order = Vec::new();
    for _ in 0..3 {
        let taken = next_call(&mut alice, &server).await;
        order.push(
            taken
                .header("X-Hotline-Call-Id")
                .unwrap_or_default()
                .to_string(),
        );
    }
    assert_eq!(
        order,
        [
            first.call_id.clone(),
            vip.call_id.clone(),
            standard.call_id.clone()
        ],
        "the VIP goes first\n{}",
        server.log()
    );
    // The standard caller waited behind the VIP and was told so.
    let place = middle("queue-you-are-number");
    assert!(
        find_exact(&standard.heard, &place).is_some(),
        "the waiting caller heard their place in line\n{}",
        server.log()
    );
}

/// Waits until `n` calls have been bridged.
async fn next_call_started(server: &TestServer, n: usize) -> bool {
    for _ in 0..200 {
        if server.log().matches("caller bridged to an agent").count() >= n {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no call bridged:\n{}", server.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_hanging_up_while_queued_is_abandoned_and_the_ringing_leg_is_cancelled() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = server(dir.path(), &["alice"], "");
    let mut alice = agent(&server, "alice", AgentAnswer::NeverAnswer, 1).await;
    // Gone after 2 s, while alice's phone rings (3 s ring timeout).
    let report = call(&server, "hotline", 2).await.expect("caller");
    assert_eq!(report.status, 200);
    let rang = next_call(&mut alice, &server).await;
    assert_eq!(
        rang.ended_by,
        AgentEnd::Cancelled,
        "the caller's hangup cancels the offer"
    );
    let cards = queue_figures(&server);
    assert_eq!(cards["abandoned"], 1, "{cards}");
    assert_eq!(cards["answered"], 0, "{cards}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_staffed_takes_on_failure_and_a_long_wait_takes_on_timeout() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = server(dir.path(), &["alice"], "max_wait_secs = 4\n");
    // Nobody registered: the dialplan's on_failure apologises and hangs up.
    let report = call(&server, "hotline", 10).await.expect("caller");
    assert!(
        find_exact(&report.heard, &middle("sorry")).is_some(),
        "on_failure played\n{}",
        server.log()
    );
    assert_eq!(report.ended_by, sip_testbench::caller::EndedBy::Server);
    // Alice registers but never answers: the caller waits 4 s, then on_timeout.
    let mut alice = agent(&server, "alice", AgentAnswer::NeverAnswer, 1).await;
    let report = call(&server, "hotline", 15).await.expect("caller");
    assert!(
        find_exact(&report.heard, &middle("goodbye")).is_some(),
        "on_timeout played\n{}",
        server.log()
    );
    assert_eq!(report.ended_by, sip_testbench::caller::EndedBy::Server);
    let rang = next_call(&mut alice, &server).await;
    assert_eq!(rang.ended_by, AgentEnd::Cancelled);
    let cards = queue_figures(&server);
    assert_eq!(cards["timed_out"], 1, "{cards}");
}

/// SIPp as the agent's phone: it registers with digest (MD5) from the port it then takes
/// the call on, checks the INVITE's context headers, answers with PCMU and echoes the
/// RTP it gets, so the caller hears their own voice back through the bridge.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_as_the_agent_phone_takes_the_transferred_call() {
    let dir = tempfile::tempdir().expect("temp dir");
    // SIPp answers the first challenge it gets, and knows MD5 only.
    let server = server(
        dir.path(),
        &["alice"],
        "[registrar]\nalgorithms = [\"MD5\"]\n",
    );
    let scenarios = support::repo_root().join("sip-testbench/sipp");
    let port = support::free_udp_port().to_string();
    let media_port = (support::free_udp_port() & !1).to_string();
    let sipp = |scenario: &str, extra: &[&str]| {
        let mut command = Command::new("sipp");
        command
            .arg(server.sip_udp.to_string())
            .args(["-sf", &scenarios.join(scenario).display().to_string()])
            .args(["-m", "1", "-i", "127.0.0.1", "-mi", "127.0.0.1"])
            .args(["-p", &port, "-mp", &media_port])
            .args(["-key", "login", "alice", "-au", "alice", "-ap", PASSWORD])
            .args(["-timeout", "30s", "-timeout_error", "-trace_err"])
            .args(extra)
            .current_dir(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    };
    let registered = sipp("agent_register.xml", &[])
        .output()
        .expect("sipp must be installed (Debian package sip-tester)");
    assert!(
        registered.status.success(),
        "SIPp could not register:\n{}\n{}",
        String::from_utf8_lossy(&registered.stdout),
        server.log()
    );
    wait_for_agent(&server, "alice").await;
    let phone = sipp("agent_uas.xml", &["-rtp_echo"]).spawn().expect("sipp");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let voice = noise(5, 8);
    let target = server.sip_udp;
    let said = voice.clone();
    let report = tokio::spawn(async move {
        let uac = Uac::start(LOOPBACK).await.expect("caller bot");
        let ports = PortAllocator::new(LOOPBACK, 30000, 39999).expect("ports");
        let plan = CallPlan {
            server: target,
            transport: SipTransport::Udp,
            speak: Some(said),
            keys: Vec::new(),
            hangup_after: Duration::from_secs(6),
            record: true,
        };
        place_call_with(&uac, &ports, &plan, &Dial::default())
            .await
            .expect("call")
    })
    .await
    .expect("caller");
    let out = tokio::task::spawn_blocking(move || phone.wait_with_output())
        .await
        .expect("join")
        .expect("sipp ran");
    let errors = std::fs::read_dir(dir.path())
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with("_errors.log"))
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .collect::<String>();
    assert!(
        out.status.success(),
        "SIPp as the agent failed: {errors}\n{}\n{}",
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .rev()
            .take(30)
            .collect::<Vec<_>>()
            .join("\n"),
        server.log()
    );
    assert!(
        heard_voice(&report, &voice),
        "the caller hears the echo through the bridge\n{}",
        server.log()
    );
}

/// An agent whose phone vanishes mid-call (no BYE, its RTP stops) does not take the caller
/// with it: after the media timeout the caller is queued again and the next agent takes
/// them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_whose_agent_vanishes_mid_call_is_queued_again_and_served() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = server_with(
        dir.path(),
        &["alice", "bob"],
        "",
        "[calls]\nmedia_timeout_secs = 2\n",
    );
    let answer = AgentAnswer::AnswerAfter(Duration::from_millis(200));
    let vanish = Some(Duration::from_secs(1));
    let mut alice = agent_vanishing(&server, "alice", answer.clone(), 1, vanish).await;
    let report = call(&server, "hotline", 12);
    next_call_started(&server, 1).await;
    // Bob logs in only now, so alice took the call; a second later her phone dies.
    let mut bob = agent(&server, "bob", answer, 2).await;
    let report = report.await.expect("caller");
    let lost = next_call(&mut alice, &server).await;
    assert_eq!(lost.ended_by, AgentEnd::Vanished);
    let took = next_call(&mut bob, &server).await;
    assert!(took.answered, "{took:?}\n{}", server.log());
    assert_eq!(
        took.header("X-Hotline-Call-Id"),
        Some(report.call_id.as_str())
    );
    assert!(
        heard_voice(&report, &bob.voice),
        "the caller ends up talking to bob\n{}",
        server.log()
    );
    assert!(
        server.log().contains("vanished mid-call"),
        "{}",
        server.log()
    );
}

/// A waiting caller presses * to be called back, hangs up keeping their place, and when
/// the agent is free the server calls their phone (the Contact of their INVITE), rings
/// the reserved agent once they answer, and bridges them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_who_asks_for_a_callback_is_called_back_and_bridged_when_an_agent_is_free() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = server(dir.path(), &["alice"], "");
    let answer = AgentAnswer::AnswerAfter(Duration::from_millis(200));
    let mut alice = agent(&server, "alice", answer, 1).await;
    // The caller's own phone, where the callback rings.
    let home = AgentPhone::start(LOOPBACK, "home")
        .await
        .expect("the caller's phone");
    let mut home_calls = home.take_calls(AgentBehaviour {
        answer: AgentAnswer::AnswerAfter(Duration::from_millis(300)),
        speak: Some(noise(11, 30)),
        hangup_after: Some(Duration::from_secs(4)),
        vanish_after: None,
    });
    // Alice is busy with a first caller for 8 s.
    let first = call(&server, "hotline", 8);
    next_call_started(&server, 1).await;
    let target = server.sip_udp;
    let home_contact = home.contact_uri();
    let asking = tokio::spawn(async move {
        let uac = Uac::start(LOOPBACK).await.expect("caller bot");
        uac.use_contact(&home_contact);
        let ports = PortAllocator::new(LOOPBACK, 30000, 39999).expect("ports");
        let plan = CallPlan {
            server: target,
            transport: SipTransport::Udp,
            speak: None,
            keys: vec![(Duration::from_secs(2), '*')],
            hangup_after: Duration::from_secs(5),
            record: true,
        };
        place_call_with(&uac, &ports, &plan, &Dial::default())
            .await
            .expect("call")
    });
    let asked = asking.await.expect("caller");
    // (The server's BYE goes to the Contact, the caller's phone: the bot hangs up itself.)
    assert!(
        server
            .log()
            .contains("dialplan hangs up reason=callback requested"),
        "the caller is told goodbye and hung up on\n{}",
        server.log()
    );
    assert!(
        find_exact(&asked.heard, &middle("goodbye")).is_some(),
        "the on_callback step played"
    );
    first.await.expect("first caller");
    let _first_taken = next_call(&mut alice, &server).await;
    let called_back = match tokio::time::timeout(Duration::from_secs(30), home_calls.recv()).await {
        Ok(Some(call)) => call,
        _ => panic!(
            "the caller's phone was never called back:\n{}",
            server.log()
        ),
    };
    assert!(called_back.answered, "{called_back:?}");
    assert_eq!(called_back.request_uri, home.contact_uri());
    let second = next_call(&mut alice, &server).await;
    assert!(second.answered);
    assert_eq!(
        second.header("X-Hotline-Call-Id"),
        Some(asked.call_id.as_str())
    );
    let heard = frames_found(&alice.voice, &called_back.heard, 8000, 20);
    assert!(
        heard >= 15,
        "the called-back caller talks to alice ({heard}/20)\n{}",
        server.log()
    );
    let cards = queue_figures(&server);
    assert_eq!(cards["callbacks_requested"], 1, "{cards}");
    assert_eq!(cards["answered"], 2, "{cards}");
}

/// A caller waiting in `cards` overflows to `general` after its wait there and is served
/// by an agent of `general`, while the cards agent is busy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_overflows_to_the_next_queue_after_the_wait_and_is_served_there() {
    let dir = tempfile::tempdir().expect("temp dir");
    support::add_agent(&dir.path().join("data"), "bob", PASSWORD, &["general=3"]);
    let server = server_with(
        dir.path(),
        &["alice"],
        "overflow = { after_secs = 2, to = \"general\" }\n",
        "[acd.queues.general]\nring_timeout_secs = 3\nwrap_up_secs = 0\n",
    );
    let answer = AgentAnswer::AnswerAfter(Duration::from_millis(200));
    let mut alice = agent(&server, "alice", answer.clone(), 1).await;
    let mut bob = agent(&server, "bob", answer, 2).await;
    // Alice (cards) takes a first caller for 10 s; a second caller waits in cards.
    let first = call(&server, "hotline", 10);
    next_call_started(&server, 1).await;
    let second = call(&server, "hotline", 8).await.expect("second caller");
    let took = next_call(&mut bob, &server).await;
    assert!(took.answered);
    assert_eq!(
        took.header("X-Hotline-Call-Id"),
        Some(second.call_id.as_str())
    );
    assert!(
        heard_voice(&second, &bob.voice),
        "the second caller talks to bob\n{}",
        server.log()
    );
    first.await.expect("first caller");
    let _ = next_call(&mut alice, &server).await;
    let cards = queue_figures(&server);
    assert_eq!(cards["overflowed"], 1, "{cards}");
}

/// Guessing an agent's password over HTTP is cut short as over SIP: after the registrar's
/// per-agent failure limit even the right password waits for the window to end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_agent_passwords_over_http_lock_the_login_for_the_window() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = server_with(
        dir.path(),
        &["alice"],
        "",
        "[registrar]\nmax_failures_per_user = 3\n",
    );
    let (status, _) = server.http(
        "POST",
        "/api/agents/alice/ready",
        Some(("alice", PASSWORD)),
        "",
    );
    assert_eq!(status, 200, "the right password works at first");
    for _ in 0..3 {
        let (status, _) = server.http(
            "POST",
            "/api/agents/alice/ready",
            Some(("alice", "guess")),
            "",
        );
        assert_eq!(status, 401);
    }
    let (status, body) = server.http(
        "POST",
        "/api/agents/alice/ready",
        Some(("alice", PASSWORD)),
        "",
    );
    assert_eq!(status, 429, "{body}");
    let (status, _) = server.http("GET", "/api/contexts/00", Some(("alice", PASSWORD)), "");
    assert_eq!(
        status, 429,
        "every authenticated request of that login waits"
    );
    assert!(!server.log().contains("guess"), "no password in the log");
}
