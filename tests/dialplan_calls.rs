//! A dialplan running in real calls: keypad menus, entries read back digit by digit,
//! barge-in on keys, and the dialplan hanging up after its goodbye.

mod support;

use hotline::media::port_allocator::PortAllocator;
use sip_testbench::caller::{CallPlan, CallReport, EndedBy, find_exact, place_call};
use sip_testbench::uac::{SipTransport, Uac};
use std::time::Duration;
use support::{PATIENCE, TestServer, as_heard, middle, repo_root};

fn keypad_server() -> TestServer {
    let path = repo_root().join("tests/fixtures/keypad.yaml");
    TestServer::start(&format!(
        "[dialplan]\ndemo = false\npath = \"{}\"\n",
        path.display()
    ))
}

async fn call(server: &TestServer, keys: &[(u64, char)], seconds: u64) -> CallReport {
    let ip = std::net::IpAddr::from([127, 0, 0, 1]);
    let uac = Uac::start(ip).await.expect("caller bot");
    let ports = PortAllocator::new(ip, 30000, 39999).expect("ports");
    let plan = CallPlan {
        server: server.sip_udp,
        transport: SipTransport::Udp,
        speak: None,
        keys: keys
            .iter()
            .map(|(ms, k)| (Duration::from_millis(*ms), *k))
            .collect(),
        hangup_after: Duration::from_secs(seconds),
        record: true,
    };
    place_call(&uac, &ports, &plan).await.expect("call")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyed_code_is_read_back_and_the_dialplan_hangs_up() {
    let server = keypad_server();
    // "1" barges into the welcome; 4 2 7 # interrupt the next prompt.
    let keys = [
        (800, '1'),
        (1600, '4'),
        (1900, '2'),
        (2200, '7'),
        (2500, '#'),
    ];
    let report = call(&server, &keys, 20).await;
    assert_eq!(report.status, 200);
    assert_eq!(
        report.ended_by,
        EndedBy::Server,
        "the dialplan should hang up:\n{}",
        server.log()
    );
    let welcome = as_heard("welcome");
    assert!(
        find_exact(&report.heard, &welcome).is_none(),
        "the welcome prompt should have been cut by the key press"
    );
    // The readback is one crossfaded sequence: each word's middle is heard as recorded.
    let at =
        |id: &str| find_exact(&report.heard, &middle(id)).unwrap_or_else(|| panic!("heard {id}"));
    let (four, two, seven) = (at("four"), at("two"), at("seven"));
    assert!(
        four < two && two < seven,
        "read back in order: {four} {two} {seven}"
    );
    let goodbye = find_exact(&report.heard, &as_heard("goodbye")).expect("goodbye");
    assert!(seven < goodbye);
    assert!(
        server.wait_for_log("dialplan hangs up", PATIENCE),
        "{}",
        server.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silence_reprompts_then_ends_politely() {
    let server = keypad_server();
    let report = call(&server, &[], 40).await;
    assert_eq!(report.ended_by, EndedBy::Server, "{}", server.log());
    let sorry = as_heard("sorry");
    let first = find_exact(&report.heard, &sorry).expect("a no-input reprompt");
    assert!(find_exact(&report.heard[first + sorry.len()..], &as_heard("goodbye")).is_some());
}

#[test]
fn a_broken_dialplan_is_refused_at_start_with_its_position() {
    let dir = tempfile::tempdir().expect("temp dir");
    let broken = dir.path().join("broken.yaml");
    std::fs::write(
        &broken,
        "name: x\nlanguage: en-US\ntimezone: UTC\nflows:\n  main:\n    steps:\n      a:\n        goto: nowhere\n",
    )
    .expect("write");
    let config = dir.path().join("hotline.toml");
    std::fs::write(
        &config,
        format!(
            "[sip]\nlisten = \"127.0.0.1:0\"\n[http]\nenabled = false\n[dialplan]\npath = \"{}\"\n",
            broken.display()
        ),
    )
    .expect("write");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hotline"))
        .args(["serve", "--config"])
        .arg(&config)
        .current_dir(repo_root())
        .output()
        .expect("run hotline");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("broken.yaml:8:") && stderr.contains("nowhere"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_dialplan_is_reloaded_and_a_broken_change_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let original =
        std::fs::read_to_string(repo_root().join("tests/fixtures/keypad.yaml")).expect("fixture");
    let prompts = format!("prompts_dir: {}", repo_root().join("prompts").display());
    let original = original.replace("prompts_dir: ../../prompts", &prompts);
    let path = dir.path().join("live.yaml");
    std::fs::write(&path, &original).expect("write");
    let server = TestServer::start(&format!(
        "[dialplan]\ndemo = false\npath = \"{}\"\nwatch_interval_ms = 100\n",
        path.display()
    ));

    std::fs::write(
        &path,
        original
            .replace("goto: nowhere", "")
            .replace("exhausted: goodbye", "exhausted: nowhere"),
    )
    .expect("write broken");
    assert!(
        server.wait_for_log("dialplan change refused", PATIENCE),
        "{}",
        server.log()
    );
    let report = call(&server, &[], 9).await;
    let welcome = as_heard("welcome");
    assert!(
        find_exact(&report.heard, &welcome).is_some(),
        "the running version must stay"
    );

    std::fs::write(
        &path,
        original.replace("play: [prompt: welcome]", "play: [prompt: please-hold]"),
    )
    .expect("write changed");
    assert!(
        server.wait_for_log("dialplan reloaded", PATIENCE),
        "{}",
        server.log()
    );
    let report = call(&server, &[], 8).await;
    assert!(
        find_exact(&report.heard, &as_heard("please-hold")).is_some(),
        "new calls use the new version"
    );
}
