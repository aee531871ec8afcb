//! Graceful shutdown of the real server: SIGTERM sends BYE to active calls, refuses new
//! INVITEs with 503 + Retry-After while draining, and the process exits by itself.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::{PATIENCE, TestServer, free_udp_port, repo_root};

fn start_sipp(server: std::net::SocketAddr, scenario: &str) -> (Child, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let child = Command::new("sipp")
        .arg(server.to_string())
        .args([
            "-sf",
            &repo_root()
                .join("sip-testbench/sipp")
                .join(scenario)
                .display()
                .to_string(),
        ])
        .args([
            "-m",
            "1",
            "-i",
            "127.0.0.1",
            "-mi",
            "127.0.0.1",
            "-s",
            "hotline",
        ])
        .args([
            "-p",
            &free_udp_port().to_string(),
            "-mp",
            &(free_udp_port() & !1).to_string(),
        ])
        .args(["-timeout", "20s", "-timeout_error"])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sipp must be installed (Debian package sip-tester)");
    (child, dir)
}

fn wait_exit(child: &mut Child, timeout: Duration) -> Option<std::process::ExitStatus> {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().ok();
    None
}

fn wait_active_calls(server: &TestServer, n: u64) {
    let end = Instant::now() + PATIENCE;
    while Instant::now() < end {
        if server.health()["active_calls"].as_u64() == Some(n) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("expected {n} active calls:\n{}", server.log());
}

#[test]
fn sigterm_hangs_up_active_calls_and_exits() {
    let mut server = TestServer::start("[calls]\nshutdown_grace_secs = 5\n");
    let (mut caller, _dir) = start_sipp(server.sip_udp, "wait_for_bye.xml");
    wait_active_calls(&server, 1);
    let status = server
        .terminate(PATIENCE)
        .expect("server exits once its call is hung up");
    assert!(status.success(), "exit status {status:?}");
    let sipp = wait_exit(&mut caller, PATIENCE).expect("SIPp finished");
    assert!(sipp.success(), "the caller did not receive BYE");
    assert!(server.log().contains("reason=Shutdown"), "{}", server.log());
}

#[test]
fn new_calls_get_503_while_draining() {
    let mut server = TestServer::start("[calls]\nshutdown_grace_secs = 3\n");
    // This caller never answers our BYE, so the call lingers through the grace period.
    let (mut lingering, _d1) = start_sipp(server.sip_udp, "wait_for_bye_unanswered.xml");
    wait_active_calls(&server, 1);
    let udp = server.sip_udp;
    support::signal(&server, "TERM");
    assert!(server.wait_for_log("draining", PATIENCE));
    let (mut late, _d2) = start_sipp(udp, "expect_503.xml");
    let late_status = wait_exit(&mut late, PATIENCE).expect("SIPp finished");
    assert!(
        late_status.success(),
        "a new INVITE while draining must get 503 with Retry-After"
    );
    let status = server
        .terminate(Duration::from_secs(10))
        .expect("server exits after its grace period");
    assert!(status.success());
    wait_exit(&mut lingering, Duration::from_secs(5));
}
