//! Webhook sources against a local HTTP server on 127.0.0.1:0: answers mapped to fields,
//! per-attempt timeouts, retries with doubling backoff, the backup URL, the circuit
//! breaker, declared fallbacks, and garbage or huge answers.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use hotline::data::config::{Fallback, SourceConfig, WebhookSource};
use hotline::data::{CallFacts, DataConfig, DataSources};
use hotline::dialplan::{LookupArg, LookupResult};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Default)]
struct Seen {
    /// (route, arrival, body)
    hits: Vec<(String, Instant, String)>,
}

type Shared = Arc<Mutex<Seen>>;

async fn endpoint(State(seen): State<Shared>, Path(route): Path<String>, body: Bytes) -> Response {
    let count = {
        let mut seen = seen.lock().unwrap();
        seen.hits.push((
            route.clone(),
            Instant::now(),
            String::from_utf8_lossy(&body).into_owned(),
        ));
        seen.hits.iter().filter(|(r, _, _)| *r == route).count()
    };
    match route.as_str() {
        "ok" => (
            StatusCode::OK,
            r#"{"segment":"gold","score":12.5,"found":true,"nested":{"x":1}}"#,
        )
            .into_response(),
        "nested" => (StatusCode::OK, r#"{"account":{"balance":"3.50"}}"#).into_response(),
        "missing" => StatusCode::NOT_FOUND.into_response(),
        "notfound-json" => (StatusCode::OK, r#"{"found":false}"#).into_response(),
        "down" => StatusCode::SERVICE_UNAVAILABLE.into_response(),
        "flaky" if count <= 2 => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        "flaky" => (StatusCode::OK, r#"{"segment":"silver"}"#).into_response(),
        "slow" => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            (StatusCode::OK, "{}").into_response()
        }
        "garbage" => (StatusCode::OK, "<html>oops</html>").into_response(),
        "array" => (StatusCode::OK, "[1,2,3]").into_response(),
        "huge" => (
            StatusCode::OK,
            format!(r#"{{"x":"{}"}}"#, "a".repeat(1 << 20)),
        )
            .into_response(),
        "forbidden" => StatusCode::FORBIDDEN.into_response(),
        _ => StatusCode::IM_A_TEAPOT.into_response(),
    }
}

async fn server() -> (SocketAddr, Shared) {
    let seen = Shared::default();
    let app = Router::new()
        .route("/{route}", post(endpoint))
        .with_state(Arc::clone(&seen));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    (addr, seen)
}

fn hook(addr: SocketAddr, route: &str) -> WebhookSource {
    WebhookSource {
        url: format!("http://{addr}/{route}"),
        backup_url: None,
        ca_file: None,
        timeout_ms: 300,
        retries: 2,
        backoff_ms: 20,
        breaker_failures: 100,
        breaker_cooldown_secs: 3600,
        max_body_bytes: 65536,
        fallback: Fallback::Error,
        fallback_fields: BTreeMap::new(),
        map: BTreeMap::new(),
        send_sensitive: false,
    }
}

fn sources(dir: &std::path::Path, hooks: Vec<(&str, WebhookSource)>) -> DataSources {
    let mut config = DataConfig {
        builtin_sources: false,
        demo_seed: false,
        ..DataConfig::default()
    };
    for (name, hook) in hooks {
        config
            .sources
            .insert(name.into(), SourceConfig::Webhook(hook));
    }
    DataSources::open(&config, dir).expect("open")
}

fn args() -> Vec<LookupArg> {
    vec![
        LookupArg {
            name: "account".into(),
            value: "12345678".into(),
            sensitive: false,
        },
        LookupArg {
            name: "pin".into(),
            value: "7395".into(),
            sensitive: true,
        },
    ]
}

fn call() -> CallFacts {
    CallFacts {
        caller_id: "+15551230001".into(),
        call_id: "call-42".into(),
    }
}

fn hits(seen: &Shared, route: &str) -> usize {
    seen.lock()
        .unwrap()
        .hits
        .iter()
        .filter(|(r, _, _)| r == route)
        .count()
}

#[tokio::test]
async fn answers_become_fields_and_the_post_masks_sensitive_args() {
    let (addr, seen) = server().await;
    let dir = tempfile::tempdir().unwrap();
    let mut nested = hook(addr, "nested");
    nested
        .map
        .insert("available".into(), "/account/balance".into());
    let data = sources(
        dir.path(),
        vec![
            ("crm", hook(addr, "ok")),
            ("nested", nested),
            ("missing", hook(addr, "missing")),
            ("nf", hook(addr, "notfound-json")),
        ],
    );
    let LookupResult::Found(fields) = data.lookup("crm", &args(), &call()).await else {
        panic!()
    };
    assert_eq!(
        fields,
        BTreeMap::from([
            ("segment".into(), "gold".into()),
            ("score".into(), "12.5".into())
        ])
    );
    let LookupResult::Found(fields) = data.lookup("nested", &args(), &call()).await else {
        panic!()
    };
    assert_eq!(fields["available"], "3.50");
    assert_eq!(
        data.lookup("missing", &args(), &call()).await,
        LookupResult::NotFound
    );
    assert_eq!(
        data.lookup("nf", &args(), &call()).await,
        LookupResult::NotFound
    );

    let body = seen.lock().unwrap().hits[0].2.clone();
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["source"], "crm");
    assert_eq!(json["call_id"], "call-42");
    assert_eq!(json["caller_id"], "+15551230001");
    assert_eq!(json["args"]["account"], "12345678");
    assert_eq!(json["args"]["pin"], "****");
    assert!(!body.contains("7395"));
}

#[tokio::test]
async fn transient_failures_are_retried_with_doubling_backoff() {
    let (addr, seen) = server().await;
    let dir = tempfile::tempdir().unwrap();
    let data = sources(
        dir.path(),
        vec![("flaky", hook(addr, "flaky")), ("down", hook(addr, "down"))],
    );
    let LookupResult::Found(fields) = data.lookup("flaky", &args(), &call()).await else {
        panic!()
    };
    assert_eq!(fields["segment"], "silver");
    assert_eq!(hits(&seen, "flaky"), 3, "two failures, then the answer");

    let LookupResult::Error(reason) = data.lookup("down", &args(), &call()).await else {
        panic!()
    };
    assert!(
        reason.contains("down") && reason.contains("503"),
        "{reason}"
    );
    let times: Vec<Instant> = seen
        .lock()
        .unwrap()
        .hits
        .iter()
        .filter(|(r, _, _)| r == "down")
        .map(|(_, t, _)| *t)
        .collect();
    assert_eq!(times.len(), 3, "first attempt and two retries");
    // Backoff waits at least 20 ms, then 40 ms (sleeps never end early).
    assert!(times[1] - times[0] >= Duration::from_millis(20));
    assert!(times[2] - times[1] >= Duration::from_millis(40));
}

#[tokio::test]
async fn timeouts_and_refused_connections_fall_back_to_the_backup_url() {
    let (addr, seen) = server().await;
    let dir = tempfile::tempdir().unwrap();
    let mut slow = hook(addr, "slow");
    slow.retries = 1;
    slow.timeout_ms = 100;
    slow.backup_url = Some(format!("http://{addr}/ok"));
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut refused = hook(closed, "x");
    refused.backup_url = Some(format!("http://{addr}/flaky"));
    refused.retries = 3;
    let data = sources(dir.path(), vec![("slow", slow), ("refused", refused)]);

    let LookupResult::Found(fields) = data.lookup("slow", &args(), &call()).await else {
        panic!()
    };
    assert_eq!(fields["segment"], "gold");
    assert_eq!((hits(&seen, "slow"), hits(&seen, "ok")), (2, 1));

    let LookupResult::Found(fields) = data.lookup("refused", &args(), &call()).await else {
        panic!()
    };
    assert_eq!(fields["segment"], "silver", "the backup is retried too");
}

#[tokio::test]
async fn garbage_huge_and_refused_answers_are_not_retried_on_the_same_url() {
    let (addr, seen) = server().await;
    let dir = tempfile::tempdir().unwrap();
    let data = sources(
        dir.path(),
        vec![
            ("garbage", hook(addr, "garbage")),
            ("array", hook(addr, "array")),
            ("huge", hook(addr, "huge")),
            ("forbidden", hook(addr, "forbidden")),
        ],
    );
    for (source, expected) in [
        ("garbage", "not JSON"),
        ("array", "not a JSON object"),
        ("huge", "larger than 65536"),
        ("forbidden", "403"),
    ] {
        let LookupResult::Error(reason) = data.lookup(source, &args(), &call()).await else {
            panic!("{source}")
        };
        assert!(reason.contains(expected), "{source}: {reason}");
        assert!(reason.len() < 200, "the reason quotes no body: {reason}");
        assert_eq!(hits(&seen, source), 1, "{source}");
    }
}

#[tokio::test]
async fn the_circuit_breaker_stops_calling_a_failing_source() {
    let (addr, seen) = server().await;
    let dir = tempfile::tempdir().unwrap();
    let mut down = hook(addr, "down");
    down.retries = 0;
    down.breaker_failures = 2;
    down.fallback = Fallback::NotFound;
    let mut busy = hook(addr, "garbage");
    busy.fallback = Fallback::Found;
    busy.fallback_fields.insert("status".into(), "busy".into());
    let data = sources(dir.path(), vec![("down", down), ("busy", busy)]);
    for _ in 0..2 {
        assert_eq!(
            data.lookup("down", &args(), &call()).await,
            LookupResult::NotFound
        );
    }
    assert_eq!(hits(&seen, "down"), 2);
    for _ in 0..5 {
        assert_eq!(
            data.lookup("down", &args(), &call()).await,
            LookupResult::NotFound,
            "declared fallback"
        );
    }
    assert_eq!(hits(&seen, "down"), 2, "open breaker: no more requests");

    let LookupResult::Found(fields) = data.lookup("busy", &args(), &call()).await else {
        panic!()
    };
    assert_eq!(fields["status"], "busy");
}

#[tokio::test]
async fn misconfigured_webhooks_are_refused_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let addr: SocketAddr = "127.0.0.1:9".parse().unwrap();
    let mut ftp = hook(addr, "x");
    ftp.url = "ftp://example.invalid/x".into();
    let mut many = hook(addr, "x");
    many.retries = 4;
    for (name, bad, expected) in [("ftp", ftp, "https://"), ("many", many, "at most 3")] {
        let mut config = DataConfig {
            builtin_sources: false,
            demo_seed: false,
            ..DataConfig::default()
        };
        config
            .sources
            .insert(name.into(), SourceConfig::Webhook(bad));
        let err = DataSources::open(&config, dir.path())
            .err()
            .expect("refused")
            .to_string();
        assert!(err.contains(name) && err.contains(expected), "{err}");
    }
}
