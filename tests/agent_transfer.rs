//! Transfers to agents through the real server, end to end on loopback: the example bank
//! dialplan as shipped, an agent added with `hotline agents add` whose phone (the agent
//! bot) registers with digest and is thereby logged in to the queues of their skills,
//! and the caller bot keying its way to the cards team. The agent's phone receives the
//! INVITE with the call's context in its headers, fetches the full envelope over HTTP,
//! and caller and agent hear each other sample for sample through the bridge.

mod support;

use sip_testbench::agent::AgentPhone;
use sip_testbench::agent_call::{AgentAnswer, AgentBehaviour, AgentCall, AgentEnd};
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::Duration;
use support::{TestServer, frames_found, noise, repo_root};
use tokio::sync::mpsc::UnboundedReceiver;

const PASSWORD: &str = "agent-Passw0rd";
const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// Lost card (2), account 12345678, PIN 1234: the demo data's Alice.
const LOST_CARD_KEYS: &str = "2 12345678 1234";

/// The bank dialplan as shipped, with agents in its database.
fn bank_server(dir: &Path, agents: &[(&str, &[&str])]) -> TestServer {
    let data = dir.join("data");
    for (login, skills) in agents {
        support::add_agent(&data, login, PASSWORD, skills);
    }
    let path = repo_root().join("dialplans/acme-bank.yaml");
    TestServer::start(&format!(
        "[dialplan]\ndemo = false\npath = \"{}\"\n[asr]\nenabled = false\n[data]\ndir = \"{}\"\n",
        path.display(),
        data.display()
    ))
}

async fn registered_phone(server: &TestServer, login: &str) -> AgentPhone {
    let phone = AgentPhone::start(LOOPBACK, login)
        .await
        .expect("agent phone");
    support::register(&phone, server, PASSWORD).await;
    phone
}

async fn next_call(calls: &mut UnboundedReceiver<AgentCall>, server: &TestServer) -> AgentCall {
    match tokio::time::timeout(Duration::from_secs(20), calls.recv()).await {
        Ok(Some(call)) => call,
        _ => panic!("the agent's phone got no call:\n{}", server.log()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_card_reaches_the_cards_agent_with_its_context_and_both_hear_each_other() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = bank_server(dir.path(), &[("alice", &["cards=4"])]);
    let phone = registered_phone(&server, "alice").await;
    let agent_voice = noise(7, 40);
    let mut calls = phone.take_calls(AgentBehaviour {
        answer: AgentAnswer::AnswerAfter(Duration::from_millis(800)),
        speak: Some(agent_voice.clone()),
        hangup_after: None,
        vanish_after: None,
    });
    assert!(
        server.wait_for_log("agent logged in", Duration::from_secs(10)),
        "registering logs the agent in:\n{}",
        server.log()
    );

    let caller_voice = noise(3, 60);
    let report =
        support::keyed_call(server.sip_udp, LOST_CARD_KEYS, caller_voice.clone(), 32).await;
    assert_eq!(report.status, 200);
    let offered = next_call(&mut calls, &server).await;
    let log = server.log();
    assert!(offered.answered, "{offered:?}\n{log}");
    assert_eq!(
        offered.ended_by,
        AgentEnd::ServerBye,
        "the caller's hangup ends the agent's leg"
    );

    // The context in the INVITE.
    assert_eq!(
        offered.header("X-Hotline-Intent"),
        Some("lost_card"),
        "{:?}",
        offered.headers
    );
    assert_eq!(offered.header("X-Hotline-Verified"), Some("true"));
    assert_eq!(offered.header("X-Hotline-Queue"), Some("cards"));
    assert_eq!(
        offered.header("X-Hotline-Call-Id"),
        Some(report.call_id.as_str())
    );
    assert!(offered.header("X-Hotline-Wait").is_some());
    let uui = offered.header("User-to-User").expect("User-to-User");
    let token = uui.strip_suffix(";encoding=hex").expect("hex encoding");
    assert_eq!(token.len(), 32);
    let call_info = offered.header("Call-Info").expect("Call-Info");
    let path = format!("/api/contexts/{token}>;purpose=info");
    assert!(call_info.ends_with(&path), "{call_info}");

    // The full envelope, for this agent only; never the PIN.
    let url = format!("/api/contexts/{token}");
    let (status, json) = server.http("GET", &url, Some(("alice", PASSWORD)), "");
    assert_eq!(status, 200, "{json}");
    let envelope: serde_json::Value = serde_json::from_str(&json).expect("JSON envelope");
    assert_eq!(envelope["intent"]["name"], "lost_card", "{envelope}");
    assert_eq!(envelope["verified"], true);
    assert_eq!(envelope["queue"], "cards");
    assert!(
        envelope["ticket_id"].is_i64(),
        "a ticket is opened: {envelope}"
    );
    assert_eq!(
        envelope["entities"]["pin"], "****",
        "the PIN is masked: {envelope}"
    );
    assert!(
        !json.contains("\"1234\""),
        "the PIN reached the envelope: {json}"
    );
    let (status, _) = server.http("GET", &url, Some(("alice", "wrong")), "");
    assert_eq!(status, 401);
    let (status, _) = server.http("GET", &url, None, "");
    assert_eq!(status, 401);
    for (name, value) in &offered.headers {
        let ours = name.starts_with("X-Hotline-") && name != "X-Hotline-Call-Id";
        assert!(
            !ours || !value.contains("1234"),
            "the PIN reached header {name}: {value}"
        );
    }
    assert!(
        !log.contains("1234;") && !log.contains("\"1234\""),
        "the PIN reached the log"
    );

    // The wrap-up closes the ticket, for this agent's calls only.
    let ticket = envelope["ticket_id"].as_i64().unwrap_or_default();
    let wrap = format!(
        "{{\"ticket\": {ticket}, \"disposition\": \"card_blocked\", \"notes\": \"blocked, new card sent\"}}"
    );
    let other = format!("{{\"ticket\": {}, \"disposition\": \"x\"}}", ticket + 1);
    let (status, body) = server.http(
        "POST",
        "/api/agents/alice/wrapup",
        Some(("alice", PASSWORD)),
        &other,
    );
    assert_eq!(status, 403, "{body}");
    let (status, body) = server.http(
        "POST",
        "/api/agents/alice/wrapup",
        Some(("alice", PASSWORD)),
        &wrap,
    );
    assert_eq!(status, 200, "{body}");
    let (status, _) = server.http(
        "POST",
        "/api/agents/alice/wrapup",
        Some(("alice", PASSWORD)),
        &wrap,
    );
    assert_eq!(status, 409, "a closed ticket is not closed twice");
    let db = dir.path().join("data/hotline.db");
    let store = hotline::data::Store::open(&db, Duration::from_secs(5)).expect("the database");
    let closed = hotline::data::Tickets::new(store.clone())
        .get(ticket)
        .expect("read")
        .expect("the ticket");
    assert_eq!(
        closed.disposition.as_deref(),
        Some("card_blocked"),
        "{closed:?}"
    );
    assert_eq!(closed.agent.as_deref(), Some("alice"));

    // The bridge, both ways, sample for sample.
    let heard_by_agent = frames_found(&caller_voice, &offered.heard, 8000, 25);
    assert!(
        heard_by_agent >= 20,
        "the agent heard {heard_by_agent}/25 caller frames\n{log}"
    );
    let tail = report.heard.len().saturating_sub(8000 * 3);
    let heard_by_caller = frames_found(&agent_voice, &report.heard, tail, 25);
    assert!(
        heard_by_caller >= 20,
        "the caller heard {heard_by_caller}/25 agent frames\n{log}"
    );

    // The queue counted it.
    let (status, figures) = server.http("GET", "/api/queues", None, "");
    assert_eq!(status, 200);
    let figures: serde_json::Value = serde_json::from_str(&figures).expect("figures");
    let cards = figures
        .as_array()
        .and_then(|queues| queues.iter().find(|q| q["queue"] == "cards"))
        .expect("the cards queue");
    assert_eq!(cards["answered"], 1, "{cards}");

    // The queue's history of the call is in the database.
    let mut events = Vec::new();
    for _ in 0..50 {
        let rows = hotline::data::queue_events::for_call(&store, &report.call_id).expect("rows");
        events = rows
            .iter()
            .map(|r| (r.event.clone(), r.agent.clone()))
            .collect();
        if events.len() >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let alice = Some("alice".to_string());
    assert_eq!(
        events,
        [
            ("enqueued".to_string(), None),
            ("offered".to_string(), alice.clone()),
            ("answered".to_string(), alice.clone()),
            ("completed".to_string(), alice),
        ]
    );

    // The call's detail record: the IVR's part, the queue, the agent, the wrap-up's
    // disposition, a leg each; the PIN nowhere in the export.
    let records = cdr_of(&store, &report.call_id).await;
    let [record] = records.as_slice() else {
        panic!("one record per call: {records:?}")
    };
    assert_eq!(record.end_reason.as_deref(), Some("caller hung up"));
    assert_eq!(record.dialplan.as_deref(), Some("acme-bank"));
    assert_eq!(record.intent.as_deref(), Some("lost_card"), "{record:?}");
    assert_eq!(record.queue.as_deref(), Some("cards"));
    assert_eq!(record.agent.as_deref(), Some("alice"));
    assert_eq!(record.disposition.as_deref(), Some("card_blocked"));
    assert!(
        record.path.as_deref().is_some_and(|p| p.contains(" > ")),
        "{record:?}"
    );
    let (wait, talk) = (record.wait_ms.unwrap_or(0), record.talk_ms.unwrap_or(0));
    assert!(wait > 0 && talk > 0, "{record:?}");
    assert!(talk + wait <= record.duration_ms.unwrap_or(0), "{record:?}");
    let legs: Vec<(&str, &str)> = record
        .legs
        .iter()
        .map(|l| (l.kind.as_str(), l.party.as_str()))
        .collect();
    assert_eq!(legs[1], ("agent", "alice"), "{legs:?}");
    assert_eq!(legs.len(), 2, "{legs:?}");
    assert!(record.legs[1].answered_at.is_some());
    for format in ["json", "csv"] {
        let export = std::process::Command::new(env!("CARGO_BIN_EXE_hotline"))
            .args(["cdr", "export", "--format", format, "--dir"])
            .arg(dir.path().join("data"))
            .output()
            .expect("hotline cdr export");
        assert!(export.status.success(), "{export:?}");
        let text = String::from_utf8_lossy(&export.stdout);
        assert!(text.contains(&report.call_id), "{text}");
        assert!(text.contains("card_blocked"), "{text}");
        // Every text field but the call id (random, and ours) and the stamps.
        let fields: Vec<String> = if format == "json" {
            let value: serde_json::Value = serde_json::from_str(&text).expect("JSON");
            let mut out = Vec::new();
            strings(&value, &mut out);
            out
        } else {
            let mut reader = csv::Reader::from_reader(text.as_bytes());
            reader
                .records()
                .flat_map(|r| {
                    r.expect("CSV")
                        .iter()
                        .map(str::to_string)
                        .collect::<Vec<_>>()
                })
                .collect()
        };
        for field in fields {
            let ours = field == report.call_id || field.ends_with('Z');
            assert!(
                ours || !field.contains("1234"),
                "the PIN reached the CDR export: {field}"
            );
        }
    }

    // The figures: a transferred call, answered in the cards queue, after lookups.
    let (status, text) = server.http("GET", "/metrics", None, "");
    assert_eq!(status, 200);
    let figure = |series: &str| support::metric(&text, series);
    assert_eq!(
        figure("hotline_calls_transferred_total"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        figure("hotline_calls_self_service_total"),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        figure("hotline_queue_answered_total{queue=\"cards\"}"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        figure("hotline_queue_waiting{queue=\"cards\"}"),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        figure("hotline_answer_to_transfer_seconds_count"),
        Some(1.0),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("hotline_lookups_total{outcome=\"found\"")),
        "{text}"
    );
    let (ok, said) = support::promtool(&text);
    assert!(ok, "promtool refused the figures: {said}\n{text}");
}

/// Every string in a JSON value.
fn strings(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        serde_json::Value::Object(map) => map.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

/// The call's detail records, once the writer has closed them.
async fn cdr_of(store: &hotline::data::Store, call_id: &str) -> Vec<hotline::cdr::db::CdrRow> {
    for _ in 0..100 {
        let rows = store
            .with(|c| hotline::cdr::db::show(c, call_id))
            .expect("read the CDRs");
        if rows.iter().all(|r| r.ended_at.is_some()) && !rows.is_empty() {
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no finished record for {call_id}")
}
