//! SIPp (Debian `sip-tester`) drives the real server through the scenarios kept in
//! sip-testbench/sipp/: calls with RTP and RFC 2833 digits, CANCEL, re-INVITE hold and
//! resume, OPTIONS, INVITE retransmission, a missing ACK, and malformed requests.

mod support;

use std::process::Command;
use support::{PATIENCE, TestServer, free_udp_port, repo_root};

/// Runs one scenario against `server` over `transport` ("u1" or "t1"); panics with SIPp's
/// own error output when the scenario fails.
fn sipp(
    server: std::net::SocketAddr,
    scenario: &str,
    transport: &str,
    timeout_secs: u32,
) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = repo_root().join("sip-testbench/sipp").join(scenario);
    let media_port = free_udp_port() & !1;
    let output = Command::new("sipp")
        .arg(server.to_string())
        .args(["-sf", &path.display().to_string()])
        .args(["-m", "1", "-l", "1"])
        .args(["-i", "127.0.0.1", "-mi", "127.0.0.1"])
        .args(["-p", &free_udp_port().to_string()])
        .args(["-mp", &media_port.to_string()])
        .args(["-t", transport])
        .args(["-s", "hotline"])
        .args(["-timeout", &format!("{timeout_secs}s"), "-timeout_error"])
        .args([
            "-trace_err",
            "-error_file",
            &dir.path().join("err.log").display().to_string(),
        ])
        .current_dir(dir.path())
        .output()
        .expect("sipp must be installed (Debian package sip-tester)");
    let errors = std::fs::read_to_string(dir.path().join("err.log")).unwrap_or_default();
    assert!(
        output.status.success(),
        "SIPp scenario {scenario} failed ({:?}):\n{errors}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .rev()
            .take(30)
            .collect::<Vec<_>>()
            .join("\n")
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The Retrans column of SIPp's final screen for the last line that starts with `row`
/// (such as `200 <----------`).
fn retransmissions(screen: &str, row: &str) -> u64 {
    screen
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with(row))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[test]
fn call_with_rtp_and_rfc2833_digits_over_udp() {
    let server = TestServer::start("");
    sipp(server.sip_udp, "call_rtp_dtmf.xml", "u1", 30);
    for digit in ["digit=1", "digit=2", "digit=3"] {
        assert!(
            server.wait_for_log(digit, PATIENCE),
            "server did not report {digit}:\n{}",
            server.log()
        );
    }
}

#[test]
fn call_over_tcp() {
    let server = TestServer::start("");
    sipp(server.sip_tcp, "call_rtp_dtmf.xml", "t1", 30);
    assert!(server.wait_for_log("digit=3", PATIENCE), "{}", server.log());
}

#[test]
fn cancel_before_answer_gets_200_and_487() {
    let server = TestServer::start("[calls]\nanswer_delay_ms = 3000\n");
    sipp(server.sip_udp, "cancel.xml", "u1", 20);
    assert!(
        server.wait_for_log("Cancelled", PATIENCE),
        "{}",
        server.log()
    );
}

#[test]
fn reinvite_hold_resume_and_new_address() {
    let server = TestServer::start("");
    sipp(server.sip_udp, "reinvite_hold.xml", "u1", 20);
}

#[test]
fn options_lists_capabilities() {
    let server = TestServer::start("");
    sipp(server.sip_udp, "options.xml", "u1", 10);
}

#[test]
fn retransmitted_invite_makes_one_call() {
    let server = TestServer::start("[calls]\nanswer_delay_ms = 1000\n");
    let screen = sipp(server.sip_udp, "invite_retransmission.xml", "u1", 20);
    assert!(
        retransmissions(&screen, "180 <----------") >= 1,
        "the retransmitted INVITE should get the last provisional response again:\n{screen}"
    );
    assert_eq!(server.health()["total_calls"], 1, "{}", server.log());
}

#[test]
fn missing_ack_retransmits_200_then_sends_bye() {
    // T1 = 100 ms: 200 OK is resent at 100, 200, 400 ms ... and the call ends at 64*T1.
    let server = TestServer::start("[sip]\ntimer_t1_ms = 100\n");
    let screen = sipp(server.sip_udp, "no_ack.xml", "u1", 20);
    let copies = retransmissions(&screen, "200 <----------");
    assert!(
        copies >= 4,
        "expected the 200 OK resent at least 4 times, SIPp saw {copies}:\n{screen}"
    );
    assert!(server.wait_for_log("NoAck", PATIENCE), "{}", server.log());
}

#[test]
fn malformed_requests_are_answered_and_the_server_goes_on() {
    let server = TestServer::start("");
    sipp(server.sip_udp, "malformed.xml", "u1", 10);
    assert!(server.health()["sip_rejected"].as_u64().unwrap_or(0) >= 3);
}

#[test]
fn max_duration_ends_the_call_with_bye() {
    let server = TestServer::start("[calls]\nmax_duration_secs = 1\n");
    sipp(server.sip_udp, "wait_for_bye.xml", "u1", 10);
    assert!(
        server.wait_for_log("reason=MaxDuration", PATIENCE),
        "{}",
        server.log()
    );
}

#[test]
fn sdp_without_usable_media_gets_488() {
    let server = TestServer::start("");
    sipp(server.sip_udp, "no_common_codec.xml", "u1", 10);
    assert_eq!(server.health()["active_calls"], 0);
}

#[test]
fn invite_without_sdp_gets_our_offer_and_takes_the_answer_from_the_ack() {
    let server = TestServer::start("");
    sipp(server.sip_udp, "late_offer.xml", "u1", 20);
    for digit in ["digit=1", "digit=2", "digit=3"] {
        assert!(
            server.wait_for_log(digit, PATIENCE),
            "{digit} missing:\n{}",
            server.log()
        );
    }
}
