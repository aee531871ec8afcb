//! Real calls into the real server with the sip-testbench caller bot: the caller hears
//! the welcome prompt sample for sample (after the G.711 round trip), and every RFC 4733
//! key it presses is reported by the server and read back with the digit prompts.

mod support;

use hotline::media::port_allocator::PortAllocator;
use sip_testbench::caller::{CallPlan, EndedBy, find_exact, place_call};
use sip_testbench::uac::{SipTransport, Uac};
use std::time::Duration;
use support::{PATIENCE, TestServer, as_heard};

fn plan(
    server: std::net::SocketAddr,
    transport: SipTransport,
    keys: &str,
    seconds: u64,
) -> CallPlan {
    CallPlan {
        server,
        transport,
        speak: None,
        keys: keys
            .chars()
            .enumerate()
            .map(|(i, k)| (Duration::from_millis(500 + 400 * i as u64), k))
            .collect(),
        hangup_after: Duration::from_secs(seconds),
        record: true,
    }
}

async fn call(
    server: &TestServer,
    transport: SipTransport,
    keys: &str,
    seconds: u64,
) -> sip_testbench::caller::CallReport {
    let ip = std::net::IpAddr::from([127, 0, 0, 1]);
    let uac = Uac::start(ip).await.expect("caller bot");
    let ports = PortAllocator::new(ip, 30000, 39999).expect("ports");
    let addr = match transport {
        SipTransport::Udp => server.sip_udp,
        SipTransport::Tcp => server.sip_tcp,
    };
    place_call(&uac, &ports, &plan(addr, transport, keys, seconds))
        .await
        .expect("call")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caller_hears_the_welcome_prompt_exactly() {
    let server = TestServer::start("");
    let report = call(&server, SipTransport::Udp, "", 6).await;
    assert_eq!(report.status, 200);
    let welcome = as_heard("welcome");
    assert!(
        find_exact(&report.heard, &welcome).is_some(),
        "the recording ({} samples) does not contain the welcome prompt ({} samples)",
        report.heard.len(),
        welcome.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_reported_and_read_back() {
    let server = TestServer::start("");
    let welcome_ms = as_heard("welcome").len() as u64 / 8;
    let report = call(&server, SipTransport::Udp, "42#", welcome_ms / 1000 + 5).await;
    assert_eq!(report.status, 200);
    for key in ["digit=4", "digit=2", "digit=#"] {
        assert!(
            server.wait_for_log(key, PATIENCE),
            "{key} missing:\n{}",
            server.log()
        );
    }
    let four = find_exact(&report.heard, &as_heard("four")).expect("heard 'four'");
    let two = find_exact(&report.heard, &as_heard("two")).expect("heard 'two'");
    let hash = find_exact(&report.heard, &as_heard("hash")).expect("heard 'hash'");
    assert!(
        four < two && two < hash,
        "read back out of order: {four} {two} {hash}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_hangs_up_by_itself_over_tcp() {
    let server = TestServer::start("[demo]\nhangup_after_secs = 2\n");
    let report = call(&server, SipTransport::Tcp, "", 10).await;
    assert_eq!(report.status, 200);
    assert_eq!(report.ended_by, EndedBy::Server);
    assert!(
        server.wait_for_log("reason=DemoFinished", PATIENCE),
        "{}",
        server.log()
    );
}
