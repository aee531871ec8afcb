//! Webhook sources in real calls: the caller bot calls a dialplan whose first step looks
//! the caller up through an HTTP webhook on loopback. An endpoint that accepts and never
//! answers, or one that answers garbage, must lead the caller to the dialplan's fallback
//! path ("our systems are busy") within the source's timeouts, and the call must end by
//! itself; an endpoint that answers properly leads to the found path instead. Over
//! https, a server with a self-signed certificate made at test time is trusted through
//! the source's `ca_file`, and without it the TLS failure takes the fallback path.

mod support;

use hotline::media::port_allocator::PortAllocator;
use sip_testbench::caller::{CallPlan, CallReport, EndedBy, find_exact, place_call};
use sip_testbench::uac::{SipTransport, Uac};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use support::{TestServer, middle, repo_root};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// How the loopback endpoint behaves.
#[derive(Clone, Copy)]
enum Endpoint {
    /// Accepts connections and never says a word.
    Silent,
    /// Answers `200 OK` with a body that is not JSON.
    Garbage,
    /// Answers a customer record.
    Record,
}

/// Starts the endpoint on a free loopback port; it lives as long as the test's runtime.
async fn endpoint(kind: Endpoint) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut stream, _)) = listener.accept().await {
            match kind {
                Endpoint::Silent => held.push(stream),
                Endpoint::Garbage | Endpoint::Record => {
                    tokio::spawn(async move {
                        // One read is enough for these small requests; the answer does not
                        // depend on them.
                        let mut buf = vec![0u8; 8192];
                        let _ = stream.read(&mut buf).await;
                        let body = match kind {
                            Endpoint::Record => "{\"tier\": \"gold\"}",
                            _ => "\u{1}\u{2}<html>not json at all",
                        };
                        let answer = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = stream.write_all(answer.as_bytes()).await;
                        let _ = stream.shutdown().await;
                    });
                }
            }
        }
    });
    addr
}

/// The server, and the temporary data directory it keeps its database in. `webhook` is
/// extra TOML for the `crm` source besides its URL.
fn server_with_webhook(url: &str, webhook: &str) -> (TestServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let dialplan = repo_root().join("tests/fixtures/webhook-fallback.yaml");
    let server = TestServer::start(&format!(
        "[dialplan]\ndemo = false\npath = \"{}\"\n[asr]\nenabled = false\n\
         [data]\ndir = \"{}\"\nbuiltin_sources = false\n\
         [data.sources.crm.webhook]\nurl = \"{url}\"\n\
         timeout_ms = 300\nretries = 1\nbackoff_ms = 50\n{webhook}",
        dialplan.display(),
        dir.path().join("data").display(),
    ));
    (server, dir)
}

async fn call(server: &TestServer, seconds: u64) -> CallReport {
    let ip = std::net::IpAddr::from([127, 0, 0, 1]);
    let uac = Uac::start(ip).await.expect("caller bot");
    let ports = PortAllocator::new(ip, 30000, 39999).expect("ports");
    let plan = CallPlan {
        server: server.sip_udp,
        transport: SipTransport::Udp,
        speak: None,
        keys: Vec::new(),
        hangup_after: Duration::from_secs(seconds),
        record: true,
    };
    place_call(&uac, &ports, &plan).await.expect("call")
}

/// The caller hears "systems busy" then the goodbye, and the dialplan hangs up.
fn assert_fallback_path(server: &TestServer, report: &CallReport) {
    assert_eq!(report.status, 200);
    assert_eq!(
        report.ended_by,
        EndedBy::Server,
        "the call should end by itself, not wait for the caller:\n{}",
        server.log()
    );
    let heard = |id: &str| find_exact(&report.heard, &middle(id));
    let busy = heard("acme-balance-unavailable")
        .unwrap_or_else(|| panic!("the fallback prompt was not heard:\n{}", server.log()));
    let goodbye = heard("acme-agents-busy").expect("the fallback goodbye");
    assert!(busy < goodbye, "fallback prompts out of order");
    assert!(
        heard("acme-welcome").is_none() && heard("acme-account-not-found").is_none(),
        "a failed lookup must not take the found or not-found path"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_that_never_answers_leads_to_the_fallback_path() {
    let addr = endpoint(Endpoint::Silent).await;
    let (server, _data) = server_with_webhook(&format!("http://{addr}/lookup"), "");
    let report = call(&server, 30).await;
    assert_fallback_path(&server, &report);
    let log = server.log();
    assert!(
        log.contains("no answer within 300 ms") && log.contains("`crm` unavailable"),
        "the log should say why the fallback was taken:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_that_answers_garbage_leads_to_the_fallback_path() {
    let addr = endpoint(Endpoint::Garbage).await;
    let (server, _data) = server_with_webhook(&format!("http://{addr}/lookup"), "");
    let report = call(&server, 30).await;
    assert_fallback_path(&server, &report);
    let log = server.log();
    assert!(
        log.contains("answer is not JSON") && log.contains("`crm` unavailable"),
        "the log should say why the fallback was taken:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_that_answers_leads_to_the_found_path() {
    let addr = endpoint(Endpoint::Record).await;
    let (server, _data) = server_with_webhook(&format!("http://{addr}/lookup"), "");
    let report = call(&server, 30).await;
    assert_eq!(report.ended_by, EndedBy::Server, "{}", server.log());
    assert!(
        find_exact(&report.heard, &middle("acme-welcome")).is_some(),
        "the found path's prompt was not heard:\n{}",
        server.log()
    );
    assert!(find_exact(&report.heard, &middle("acme-balance-unavailable")).is_none());
}

/// An https endpoint on loopback answering a customer record, with a self-signed
/// certificate for 127.0.0.1 made now; returns its address and the certificate (PEM).
async fn tls_endpoint() -> (SocketAddr, String) {
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()])
        .expect("self-signed certificate");
    let cert = made.cert.der().clone();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(rustls::pki_types::PrivatePkcs8KeyDer::from(
        made.signing_key.serialize_der(),
    ));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .expect("server certificate");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A client that does not trust the certificate ends the handshake here.
                let Ok(mut tls) = acceptor.accept(stream).await else {
                    return;
                };
                let Ok(Some(_)) =
                    tokio::time::timeout(Duration::from_secs(5), read_request(&mut tls)).await
                else {
                    return;
                };
                let body = "{\"tier\": \"gold\"}";
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(answer.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (addr, made.cert.pem())
}

/// Reads one HTTP/1.1 request with a content-length body (at most 64 KiB).
async fn read_request<S: AsyncReadExt + Unpin>(stream: &mut S) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while buf.len() < 65536 {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf);
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + length {
                return Some(buf);
            }
        }
    }
    None
}

fn write_ca_file(dir: &Path, pem: &str) -> String {
    let path = dir.join("private-ca.pem");
    std::fs::write(&path, pem).expect("write ca_file");
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_webhook_trusted_through_ca_file_answers() {
    let (addr, pem) = tls_endpoint().await;
    let certs = tempfile::tempdir().expect("temp dir");
    let ca_file = write_ca_file(certs.path(), &pem);
    let (server, _data) = server_with_webhook(
        &format!("https://{addr}/lookup"),
        &format!("ca_file = \"{ca_file}\"\n"),
    );
    let report = call(&server, 30).await;
    assert_eq!(report.ended_by, EndedBy::Server, "{}", server.log());
    assert!(
        find_exact(&report.heard, &middle("acme-welcome")).is_some(),
        "the found path's prompt was not heard:\n{}",
        server.log()
    );
    assert!(
        server.log().contains("found (1 fields)"),
        "{}",
        server.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_webhook_with_an_untrusted_certificate_leads_to_the_fallback_path() {
    let (addr, _pem) = tls_endpoint().await;
    let (server, _data) = server_with_webhook(&format!("https://{addr}/lookup"), "");
    let report = call(&server, 30).await;
    assert_fallback_path(&server, &report);
    let log = server.log();
    assert!(
        log.contains("TLS: invalid peer certificate") && log.contains("`crm` unavailable"),
        "the log should name the TLS failure:\n{log}"
    );
}
