//! Call detail records from the real server: a finished call's record (and `hotline cdr`
//! showing and exporting it), a call cut by `kill -9` closed as "server stopped" on the
//! next start while the finished one stays as it was, and a database that cannot be
//! opened, which neither stops calls from being answered nor loses their records.

mod support;

use hotline::cdr::db::{self, CdrRow};
use hotline::media::port_allocator::PortAllocator;
use sip_testbench::caller::{CallPlan, CallReport, place_call};
use sip_testbench::uac::{SipTransport, Uac};
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::{Duration, Instant};
use support::{PATIENCE, TestServer};

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn demo_server(data: &Path) -> TestServer {
    TestServer::start(&format!("[data]\ndir = \"{}\"\n", data.display()))
}

async fn call(server: &TestServer, seconds: u64) -> CallReport {
    let uac = Uac::start(LOOPBACK).await.expect("caller bot");
    let ports = PortAllocator::new(LOOPBACK, 30000, 39999).expect("ports");
    let plan = CallPlan {
        server: server.sip_udp,
        transport: SipTransport::Udp,
        speak: None,
        keys: Vec::new(),
        hangup_after: Duration::from_secs(seconds),
        record: false,
    };
    place_call(&uac, &ports, &plan).await.expect("call")
}

/// The records in `data`'s database that `done` accepts, waiting for them up to PATIENCE.
fn records(data: &Path, done: impl Fn(&[CdrRow]) -> bool) -> Vec<CdrRow> {
    let end = Instant::now() + PATIENCE;
    let mut rows = Vec::new();
    while Instant::now() < end {
        if let Ok(store) =
            hotline::data::Store::open(&data.join("hotline.db"), Duration::from_secs(5))
            && let Ok(found) = store.with(|c| db::list(c, &db::Filter::default(), true))
        {
            rows = found;
            if done(&rows) {
                return rows;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the records never got there: {rows:#?}")
}

fn hotline_cdr(data: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hotline"))
        .arg("cdr")
        .args(args)
        .arg("--dir")
        .arg(data)
        .output()
        .expect("hotline cdr");
    assert!(out.status.success(), "hotline cdr {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_call_has_its_record_and_hotline_cdr_shows_and_exports_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let server = demo_server(&data);
    let report = call(&server, 3).await;
    assert_eq!(report.status, 200);
    let rows = records(&data, |rows| rows.iter().any(|r| r.ended_at.is_some()));
    let [row] = rows.as_slice() else {
        panic!("{rows:#?}")
    };
    assert_eq!(row.call_id, report.call_id);
    assert_eq!(row.direction, "inbound");
    assert_eq!(row.end_reason.as_deref(), Some("caller hung up"));
    assert!(row.answered_at.is_some(), "{row:?}");
    let duration = row.duration_ms.unwrap_or(0);
    assert!((2_500..20_000).contains(&duration), "{row:?}");
    assert_eq!(row.dialplan, None, "the demo runs no dialplan");
    assert_eq!(row.legs.len(), 1);
    assert_eq!(row.legs[0].kind, "caller");

    let shown = hotline_cdr(&data, &["show", &report.call_id]);
    assert!(shown.contains("caller hung up"), "{shown}");
    let listed = hotline_cdr(&data, &["list", "--since", "1h"]);
    assert!(
        listed.contains(&report.call_id[..20.min(report.call_id.len())]),
        "{listed}"
    );
    let none = hotline_cdr(&data, &["list", "--since", "2999-01-01"]);
    assert!(none.contains("(no calls)"), "{none}");
    let json = hotline_cdr(&data, &["export", "--format", "json"]);
    let value: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(value[0]["call_id"], report.call_id.as_str());
    assert_eq!(value[0]["legs"][0]["kind"], "caller");
    let csv = hotline_cdr(&data, &["export", "--format", "csv", "--legs"]);
    assert_eq!(csv.lines().count(), 2, "a header and the one leg: {csv}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_cut_by_kill_9_is_closed_as_server_stopped_on_the_next_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let server = demo_server(&data);
    let finished = call(&server, 2).await;
    records(&data, |rows| rows.iter().any(|r| r.ended_at.is_some()));
    let cut = {
        let addr = server.sip_udp;
        tokio::spawn(async move {
            let uac = Uac::start(LOOPBACK).await.expect("caller bot");
            let ports = PortAllocator::new(LOOPBACK, 30000, 39999).expect("ports");
            let plan = CallPlan {
                server: addr,
                transport: SipTransport::Udp,
                speak: None,
                keys: Vec::new(),
                hangup_after: Duration::from_secs(30),
                record: false,
            };
            place_call(&uac, &ports, &plan).await
        })
    };
    let open = records(&data, |rows| {
        rows.len() == 2 && rows.iter().any(|r| r.ended_at.is_none())
    });
    let cut_id = open
        .iter()
        .find(|r| r.ended_at.is_none())
        .map(|r| r.call_id.clone())
        .expect("the call in progress");
    support::signal(&server, "KILL");
    drop(server);
    cut.abort();

    let _again = demo_server(&data);
    let rows = records(&data, |rows| rows.iter().all(|r| r.ended_at.is_some()));
    let cut_row = rows
        .iter()
        .find(|r| r.call_id == cut_id)
        .expect("the cut call");
    assert_eq!(cut_row.end_reason.as_deref(), Some("server stopped"));
    assert_eq!(
        cut_row.legs[0].end_reason.as_deref(),
        Some("server stopped")
    );
    assert!(cut_row.ended_at.as_deref() >= Some(cut_row.started_at.as_str()));
    let kept = rows
        .iter()
        .find(|r| r.call_id == finished.call_id)
        .expect("the finished call");
    assert_eq!(kept.end_reason.as_deref(), Some("caller hung up"));
    assert_eq!(rows.len(), 2, "no call is missing or doubled: {rows:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_cannot_be_opened_does_not_stop_calls_and_their_records_follow() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A file where the data folder should be: nothing can be created under it.
    let blocker = dir.path().join("blocker");
    std::fs::write(&blocker, b"not a folder").expect("write");
    let data = blocker.join("data");
    let server = demo_server(&data);
    let report = call(&server, 2).await;
    assert_eq!(report.status, 200, "the call is answered all the same");
    assert!(
        server.wait_for_log("call records cannot be written", PATIENCE),
        "{}",
        server.log()
    );
    std::fs::remove_file(&blocker).expect("remove the blocker");
    let rows = records(&data, |rows| rows.iter().any(|r| r.ended_at.is_some()));
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0].call_id, report.call_id);
    assert_eq!(rows[0].end_reason.as_deref(), Some("caller hung up"));
    assert!(
        server.wait_for_log("call records are being written again", PATIENCE),
        "{}",
        server.log()
    );
}
