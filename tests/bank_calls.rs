//! The example bank dialplan in real calls, end to end: the caller bot keys the menu
//! choice, an account number and a PIN as RFC 4733 digits; the embedded SQLite demo data
//! verifies the PIN and finds the balance; the caller hears it read back from recorded
//! prompts. acme-bank.yaml runs exactly as shipped: self-service answers at every hour
//! (only agent transfers follow the phone-banking schedule), so the test does not depend
//! on the hour it runs at.

mod support;

use hotline::media::port_allocator::PortAllocator;
use sip_testbench::caller::{CallPlan, CallReport, find_exact, place_call};
use sip_testbench::uac::{SipTransport, Uac};
use std::time::Duration;
use support::{TestServer, middle, repo_root};

fn bank_server(dir: &std::path::Path) -> TestServer {
    let path = repo_root().join("dialplans/acme-bank.yaml");
    TestServer::start(&format!(
        "[dialplan]\ndemo = false\npath = \"{}\"\n[asr]\nenabled = false\n[data]\ndir = \"{}\"\n",
        path.display(),
        dir.join("data").display()
    ))
}

async fn call(server: &TestServer, keys: &str, start_ms: u64, seconds: u64) -> CallReport {
    let ip = std::net::IpAddr::from([127, 0, 0, 1]);
    let uac = Uac::start(ip).await.expect("caller bot");
    let ports = PortAllocator::new(ip, 30000, 39999).expect("ports");
    let mut at = start_ms;
    let mut plan_keys = Vec::new();
    for key in keys.chars() {
        if key == ' ' {
            at += 2500; // a pause between entries, for the next question to start
            continue;
        }
        plan_keys.push((Duration::from_millis(at), key));
        at += 300;
    }
    let plan = CallPlan {
        server: server.sip_udp,
        transport: SipTransport::Udp,
        speak: None,
        keys: plan_keys,
        hangup_after: Duration::from_secs(seconds),
        record: true,
    };
    place_call(&uac, &ports, &plan).await.expect("call")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verified_caller_hears_the_balance_read_back() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = bank_server(dir.path());
    // Menu 1 (balance), account 12345678, PIN 1234: Alice, $1,234.56.
    let report = call(&server, "1 12345678 1234", 1500, 30).await;
    assert_eq!(report.status, 200);
    let found = |id: &str| find_exact(&report.heard, &middle(id));
    let balance_is =
        found("acme-balance-is").unwrap_or_else(|| panic!("no balance prompt:\n{}", server.log()));
    let words: Vec<usize> = ["one", "thousand", "two", "hundred", "dollars", "cents"]
        .iter()
        .map(|id| {
            let word = middle(id);
            find_exact(&report.heard[balance_is..], &word)
                .unwrap_or_else(|| panic!("'{id}' not heard after the balance prompt"))
        })
        .collect();
    assert!(
        words.windows(2).all(|w| w[0] < w[1]),
        "read back out of order: {words:?}"
    );
    let log = server.log();
    assert!(
        !log.contains("1234\"") && !log.contains("pin=1234"),
        "the PIN reached the log:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_wrong_pins_end_in_the_lockout_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = bank_server(dir.path());
    let report = call(&server, "1 12345678 9999 9998 9997", 1500, 40).await;
    assert_eq!(report.status, 200);
    let locked = find_exact(&report.heard, &middle("acme-locked-out"));
    let failed = find_exact(&report.heard, &middle("acme-verify-failed"));
    assert!(
        locked.is_some() || failed.is_some(),
        "neither lockout nor failure heard:\n{}",
        server.log()
    );
    assert!(
        find_exact(&report.heard, &middle("acme-balance-is")).is_none(),
        "no balance without the PIN"
    );
}
