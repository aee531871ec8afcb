//! `GET /metrics` of the real server after a real call: Prometheus's own `promtool check
//! metrics` (Debian package prometheus) accepts the text, the call is counted where it
//! should be, and no label carries the caller's number.

mod support;

use hotline::media::port_allocator::PortAllocator;
use sip_testbench::caller::{CallPlan, place_call};
use sip_testbench::uac::{SipTransport, Uac};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;
use support::{TestServer, metric, promtool};

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_figures_pass_promtool_and_count_an_answered_call() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(&format!(
        "[data]\ndir = \"{}\"\n",
        dir.path().join("data").display()
    ));
    let (status, before) = server.http("GET", "/metrics", None, "");
    assert_eq!(status, 200);
    assert_eq!(metric(&before, "hotline_up"), Some(1.0), "{before}");
    assert_eq!(
        metric(&before, "hotline_active_calls"),
        Some(0.0),
        "{before}"
    );

    let uac = Uac::start(LOOPBACK).await.expect("caller bot");
    let ports = PortAllocator::new(LOOPBACK, 30000, 39999).expect("ports");
    let plan = CallPlan {
        server: server.sip_udp,
        transport: SipTransport::Udp,
        speak: None,
        keys: Vec::new(),
        hangup_after: Duration::from_secs(2),
        record: false,
    };
    let report = place_call(&uac, &ports, &plan).await.expect("call");
    assert_eq!(report.status, 200);
    // The call's end is counted as its task finishes, just after the BYE's answer.
    let mut text = String::new();
    for _ in 0..100 {
        text = server.http("GET", "/metrics", None, "").1;
        if metric(&text, "hotline_calls_self_service_total") == Some(1.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        metric(&text, "hotline_call_setups_total{code=\"200\"}"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        metric(
            &text,
            "hotline_calls_ended_total{reason=\"caller hung up\"}"
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(metric(&text, "hotline_calls_self_service_total"), Some(1.0));
    assert_eq!(metric(&text, "hotline_calls_transferred_total"), Some(0.0));
    assert_eq!(metric(&text, "hotline_active_calls"), Some(0.0));
    assert!(
        metric(&text, "hotline_cdr_records_written_total").is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert!(
        !text.contains("bot@"),
        "a caller's address in a label: {text}"
    );
    let (ok, said) = promtool(&text);
    assert!(ok, "promtool refused the figures: {said}\n{text}");
    // promtool is no rubber stamp: a counter without its suffix is refused.
    let (ok, _) = promtool("# HELP calls Calls.\n# TYPE calls counter\ncalls 1\n");
    assert!(!ok, "promtool accepts anything");
}

/// The Grafana dashboard in docs/ asks only for figures the server exposes.
#[test]
fn the_dashboard_reads_only_figures_the_server_has() {
    let metrics = hotline::metrics::Metrics::new().expect("metrics");
    let families: Vec<&str> = metrics.family_names().iter().map(String::as_str).collect();
    assert!(families.len() >= 20, "{families:?}");
    let path = support::repo_root().join("docs/grafana-dashboard.json");
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("the dashboard"))
            .expect("the dashboard is JSON");
    let panels = dashboard["panels"].as_array().expect("panels");
    assert!(panels.len() >= 10, "{} panels", panels.len());
    let mut asked = 0;
    for target in panels
        .iter()
        .flat_map(|p| p["targets"].as_array().cloned().unwrap_or_default())
    {
        let expr = target["expr"].as_str().expect("an expression");
        for name in expr
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| w.starts_with("hotline_"))
        {
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| name.strip_suffix(suffix))
                .unwrap_or(name);
            assert!(
                families.contains(&family),
                "the dashboard asks for {name}, which /metrics lacks"
            );
            asked += 1;
        }
    }
    assert!(asked >= 20, "{asked} figures asked for");
}
