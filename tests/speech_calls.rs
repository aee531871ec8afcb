//! Listening in real calls: the caller bot speaks a recorded utterance into a gather; the
//! server finds it with voice activity detection, stops its prompt (barge-in), recognises
//! it with the local Whisper model, understands the intent and answers accordingly.

mod support;

use hotline::media::port_allocator::PortAllocator;
use sip_testbench::caller::{CallPlan, CallReport, EndedBy, find_exact, place_call, read_wav};
use sip_testbench::uac::{SipTransport, Uac};
use std::sync::Arc;
use std::time::Duration;
use support::{TestServer, as_heard, repo_root};

fn speech_server() -> TestServer {
    server_for("tests/fixtures/speech.yaml")
}

fn server_for(dialplan: &str) -> TestServer {
    let path = repo_root().join(dialplan);
    TestServer::start(&format!(
        "[dialplan]\ndemo = false\npath = \"{}\"\n[asr]\nworkers = 1\n",
        path.display()
    ))
}

async fn call_speaking(server: &TestServer, utterance: &str, after_ms: u64) -> CallReport {
    let voice =
        read_wav(&repo_root().join("sip-testbench/utterances").join(utterance)).expect("utterance");
    // Silence first, so the caller speaks `after_ms` into the call.
    let mut speak = vec![0i16; (after_ms * 8) as usize];
    speak.extend(voice);
    call_playing(server, speak, Duration::from_secs(20)).await
}

async fn call_playing(server: &TestServer, speak: Vec<i16>, hangup_after: Duration) -> CallReport {
    let ip = std::net::IpAddr::from([127, 0, 0, 1]);
    let uac = Uac::start(ip).await.expect("caller bot");
    let ports = PortAllocator::new(ip, 30000, 39999).expect("ports");
    let plan = CallPlan {
        server: server.sip_udp,
        transport: SipTransport::Udp,
        speak: Some(Arc::from(speak)),
        keys: Vec::new(),
        hangup_after,
        record: true,
    };
    place_call(&uac, &ports, &plan).await.expect("call")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spoken_balance_request_barges_in_and_is_understood() {
    let server = speech_server();
    let report = call_speaking(&server, "balance-slt.wav", 1000).await;
    assert_eq!(report.status, 200);
    assert_eq!(report.ended_by, EndedBy::Server, "{}", server.log());
    // The transcript and what it was understood as are in the log.
    let log = server.log();
    let recognised = log
        .lines()
        .find(|l| l.contains("recognised"))
        .unwrap_or_else(|| panic!("no recognised line:\n{log}"));
    assert!(
        recognised.to_lowercase().contains("balance"),
        "{recognised}"
    );
    assert!(
        log.lines()
            .any(|l| l.contains("understood") && l.contains("intent=check_balance")),
        "{log}"
    );
    assert!(
        find_exact(&report.heard, &as_heard("welcome")).is_none(),
        "speech should cut the welcome prompt"
    );
    let one = find_exact(&report.heard, &as_heard("one")).expect("the balance branch answered");
    let goodbye = find_exact(&report.heard, &as_heard("goodbye")).expect("goodbye");
    assert!(one < goodbye);
    assert!(
        find_exact(&report.heard, &as_heard("two")).is_none(),
        "not the lost-card branch"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spoken_lost_card_takes_the_other_branch() {
    let server = speech_server();
    // Spoken after the welcome prompt has finished.
    let report = call_speaking(&server, "lost-card-rms.wav", 5500).await;
    assert_eq!(report.ended_by, EndedBy::Server, "{}", server.log());
    assert!(
        find_exact(&report.heard, &as_heard("welcome")).is_some(),
        "no barge-in: the prompt plays whole"
    );
    assert!(
        find_exact(&report.heard, &as_heard("two")).is_some(),
        "the lost-card branch answered:\n{}",
        server.log()
    );
    assert!(
        server
            .log()
            .lines()
            .any(|l| l.contains("understood") && l.contains("intent=report_lost_card")),
        "{}",
        server.log()
    );
}

/// A PIN said aloud is recognised and collected, and neither the transcript nor the
/// digits reach the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spoken_pin_is_collected_and_never_logged() {
    let server = server_for("tests/fixtures/speech-pin.yaml");
    let report = call_speaking(&server, "digits-slt.wav", 5500).await;
    assert_eq!(report.ended_by, EndedBy::Server, "{}", server.log());
    let log = server.log();
    assert!(
        find_exact(&report.heard, &as_heard("one")).is_some(),
        "the PIN was collected:\n{log}"
    );
    assert!(
        log.lines()
            .any(|l| l.contains("recognised") && l.contains("transcript=****")),
        "{log}"
    );
    assert!(
        log.lines()
            .any(|l| l.contains("understood") && l.contains("entities=pin")),
        "{log}"
    );
    let lower = log.to_lowercase();
    for secret in ["4471", "four four seven one", "4 4 7 1", "four, four"] {
        assert!(!lower.contains(secret), "{secret:?} leaked:\n{log}");
    }
}

/// Early recognition: with a gather that waits 5 s of silence before it calls the
/// utterance finished, the answer still comes from the transcript started after a short
/// pause, because the dialplan accepts it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accepted_early_transcript_ends_the_turn_before_the_end_silence() {
    let fixture = std::fs::read_to_string(repo_root().join("tests/fixtures/speech.yaml"))
        .expect("fixture")
        .replace(
            "          max_attempts: 2\n",
            "          max_attempts: 2\n          end_silence_ms: 5000\n",
        )
        .replace(
            "prompts_dir: ../../prompts",
            &format!("prompts_dir: {:?}", repo_root().join("prompts")),
        );
    assert!(fixture.contains("end_silence_ms: 5000"));
    let dir = std::env::temp_dir().join(format!("hotline-early-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("speech-long-silence.yaml");
    std::fs::write(&path, fixture).expect("write fixture");
    let server = TestServer::start(&format!(
        "[dialplan]\ndemo = false\npath = \"{}\"\n[asr]\nworkers = 1\n",
        path.display()
    ));
    let report = call_speaking(&server, "balance-slt.wav", 5500).await;
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(report.ended_by, EndedBy::Server, "{}", server.log());
    assert!(
        find_exact(&report.heard, &as_heard("one")).is_some(),
        "the balance branch answered:\n{}",
        server.log()
    );
    assert!(
        server
            .log()
            .lines()
            .any(|l| l.contains("recognised") && l.contains("early=true")),
        "{}",
        server.log()
    );
}

/// A caller line that carries only hold music and hiss: no words are recognised, the
/// gather runs out of tries on no-input, says goodbye and the call ends by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn music_and_noise_are_no_input_and_the_call_ends() {
    let server = speech_server();
    let dir = repo_root().join("sip-testbench/utterances");
    let music = read_wav(&dir.join("hold-music.wav")).expect("music");
    let noise = read_wav(&dir.join("line-noise.wav")).expect("noise");
    let mut line = Vec::new();
    while line.len() < 40 * 8000 {
        line.extend_from_slice(&music);
        line.extend_from_slice(&noise);
    }
    // Two 5 s no-inputs, the prompts and any recognition of what the end-pointer let
    // through fit well inside 40 s even on a loaded machine.
    let report = call_playing(&server, line, Duration::from_secs(40)).await;
    let log = server.log();
    assert_eq!(report.ended_by, EndedBy::Server, "{log}");
    // The reprompt may be cut short: music that gets past the end-pointer barges in like
    // a caller would. The goodbye plays after listening has stopped.
    assert!(
        find_exact(&report.heard, &as_heard("goodbye")).is_some(),
        "{log}"
    );
    for answer in ["one", "two"] {
        assert!(
            find_exact(&report.heard, &as_heard(answer)).is_none(),
            "{answer}: {log}"
        );
    }
    assert!(!log.contains("understood"), "nothing was understood: {log}");
}
