//! The agent desktop's API and WebSocket through the real server, as a page uses them:
//! sign-in with the agent store's password into a cookie session, CSRF on every change,
//! states reaching the page over the WebSocket as the ACD decides them, a supervisor
//! setting another agent's state, and what a hostile page or client meets: forged
//! cookies, foreign origins, garbage on the socket, oversized bodies, password guessing.
//! The full desktop in a real browser, with a call, is tests/desk_browser.rs.

mod support;

use futures::{SinkExt, StreamExt};
use std::io::{Read, Write};
use std::net::SocketAddr;
use support::PATIENCE;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const PASSWORD: &str = "desk-Passw0rd";

/// One answer: status, headers (lower-case names), body.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Answer {
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    let extra: String = headers
        .iter()
        .map(|(n, v)| format!("{n}: {v}\r\n"))
        .collect();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{extra}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Answer {
        status,
        headers,
        body: body.to_string(),
    }
}

/// A signed-in page: its cookie and CSRF token.
struct Page {
    addr: SocketAddr,
    cookie: String,
    csrf: String,
}

impl Page {
    fn sign_in(addr: SocketAddr, login: &str, password: &str) -> Result<Page, Answer> {
        let body = serde_json::json!({"login": login, "password": password}).to_string();
        let answer = request(addr, "POST", "/desk/api/login", &[], &body);
        if answer.status != 200 {
            return Err(answer);
        }
        let set = answer.header("set-cookie").expect("a session cookie");
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Strict"),
            "{set}"
        );
        let cookie = set.split(';').next().unwrap_or_default().to_string();
        let csrf = answer.json()["csrf"].as_str().expect("csrf").to_string();
        Ok(Page { addr, cookie, csrf })
    }

    fn get(&self, path: &str) -> Answer {
        request(self.addr, "GET", path, &[("Cookie", &self.cookie)], "")
    }

    fn post(&self, path: &str, body: &str) -> Answer {
        let headers = [
            ("Cookie", self.cookie.as_str()),
            ("X-CSRF-Token", self.csrf.as_str()),
        ];
        request(self.addr, "POST", path, &headers, body)
    }

    async fn socket(&self) -> Socket {
        let url = format!("ws://{}/desk/ws", self.addr);
        let mut request = url.into_client_request().expect("request");
        request
            .headers_mut()
            .insert("Cookie", self.cookie.parse().expect("cookie"));
        let tcp = tokio::net::TcpStream::connect(self.addr)
            .await
            .expect("tcp");
        let (ws, _) = tokio_tungstenite::client_async(request, tcp)
            .await
            .expect("the WebSocket opens with the session cookie");
        Socket { ws }
    }
}

struct Socket {
    ws: tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
}

impl Socket {
    /// The next message for which `wanted` holds (others are skipped).
    async fn until(
        &mut self,
        what: &str,
        wanted: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let found = tokio::time::timeout(PATIENCE, async {
            while let Some(Ok(message)) = self.ws.next().await {
                if let Message::Text(text) = message {
                    let value: serde_json::Value = serde_json::from_str(&text).expect("JSON");
                    if wanted(&value) {
                        return Some(value);
                    }
                }
            }
            None
        })
        .await;
        found
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("no {what} on the socket"))
    }

    async fn agent_state(&mut self, login: &str, state: &str) -> serde_json::Value {
        self.until(&format!("{login} {state}"), |m| {
            m["type"] == "agent" && m["agent"]["agent"] == login && m["agent"]["state"] == state
        })
        .await
    }

    async fn send(&mut self, text: &str) {
        self.ws
            .send(Message::Text(text.into()))
            .await
            .expect("send on the socket");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_signs_in_sets_their_state_and_hears_it_over_the_socket() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = support::desk_server(dir.path(), PASSWORD, "");
    let addr = server.http.expect("http");

    let page = request(addr, "GET", "/desk", &[], "");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("/assets/desk.js"), "{}", page.body);
    let csp = page.header("content-security-policy").expect("a CSP");
    assert!(csp.contains("script-src 'self'"), "{csp}");

    let refused = Page::sign_in(addr, "alice", "wrong")
        .err()
        .expect("refused");
    assert_eq!(refused.status, 401, "{}", refused.body);
    assert!(
        refused.header("set-cookie").is_none(),
        "no session for a wrong password"
    );
    let alice = Page::sign_in(addr, "alice", PASSWORD).unwrap_or_else(|a| panic!("{}", a.body));
    let me = alice.get("/desk/api/me");
    assert_eq!(me.status, 200);
    assert_eq!(me.json()["login"], "alice");
    assert_eq!(me.json()["role"], "agent");

    // A forged cookie is nobody.
    let forged = request(
        addr,
        "GET",
        "/desk/api/me",
        &[("Cookie", "hotline_session=00ff00ff")],
        "",
    );
    assert_eq!(forged.status, 401);

    let mut socket = alice.socket().await;
    let hello = socket.until("hello", |m| m["type"] == "hello").await;
    assert_eq!(hello["login"], "alice");
    assert!(
        hello["dispositions"]
            .as_array()
            .is_some_and(|d| !d.is_empty())
    );

    // A change needs the session's CSRF token, and the page's own origin.
    let body = r#"{"state": "available"}"#;
    let no_csrf = request(
        addr,
        "POST",
        "/desk/api/state",
        &[("Cookie", &alice.cookie)],
        body,
    );
    assert_eq!(no_csrf.status, 403, "{}", no_csrf.body);
    let foreign = request(
        addr,
        "POST",
        "/desk/api/state",
        &[
            ("Cookie", &alice.cookie),
            ("X-CSRF-Token", &alice.csrf),
            ("Origin", "http://evil.example"),
        ],
        body,
    );
    assert_eq!(foreign.status, 403, "{}", foreign.body);
    let bad = alice.post("/desk/api/state", r#"{"state": "dancing"}"#);
    assert_eq!(bad.status, 400, "{}", bad.body);
    let set = alice.post("/desk/api/state", body);
    assert_eq!(set.status, 200, "{}", set.body);
    let available = socket.agent_state("alice", "available").await;
    assert_eq!(available["agent"]["queues"], serde_json::json!(["cards"]));
    assert!(available["decided_at"].is_string() && available["since"].is_string());

    let away = alice.post("/desk/api/state", r#"{"state": "away", "reason": "lunch"}"#);
    assert_eq!(away.status, 200, "{}", away.body);
    let away = socket.agent_state("alice", "away").await;
    assert_eq!(away["agent"]["reason"], "lunch");

    // Garbage on the socket gets an error, and the socket stays.
    socket.send("{not json").await;
    socket.until("an error", |m| m["type"] == "error").await;
    socket.send(r#"{"type": "accept", "call": "x"}"#).await;
    socket.until("an error", |m| m["type"] == "error").await;
    socket.send(r#"{"type": "ping"}"#).await;
    socket.until("pong", |m| m["type"] == "pong").await;

    // An agent reads no other agent's context, sets no other agent's state, sees no history.
    let other = alice.get(&format!("/desk/api/contexts/{:032x}", 7));
    assert_eq!(other.status, 404);
    assert_eq!(alice.post("/desk/api/agents/sue/state", body).status, 403);
    assert_eq!(alice.get("/desk/api/history").status, 403);

    // Oversized bodies are refused before they are read.
    let huge = format!(
        r#"{{"state": "away", "reason": "{}"}}"#,
        "x".repeat(32 * 1024)
    );
    assert_eq!(alice.post("/desk/api/state", &huge).status, 413);

    // Without a session there is no socket.
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("tcp");
    let url = format!("ws://{addr}/desk/ws")
        .into_client_request()
        .expect("request");
    assert!(
        tokio_tungstenite::client_async(url, tcp).await.is_err(),
        "a socket without a session is refused"
    );

    // Signing out ends the session.
    assert_eq!(alice.post("/desk/api/logout", "").status, 204);
    assert_eq!(alice.get("/desk/api/me").status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_sees_every_agent_and_the_figures_and_logs_a_stuck_agent_out() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = support::desk_server(dir.path(), PASSWORD, "");
    let addr = server.http.expect("http");
    let alice = Page::sign_in(addr, "alice", PASSWORD).unwrap_or_else(|a| panic!("{}", a.body));
    let sue = Page::sign_in(addr, "sue", PASSWORD).unwrap_or_else(|a| panic!("{}", a.body));
    assert_eq!(sue.get("/desk/api/me").json()["role"], "supervisor");
    let mut alices = alice.socket().await;
    let mut sues = sue.socket().await;
    assert_eq!(
        alice
            .post("/desk/api/state", r#"{"state": "available"}"#)
            .status,
        200
    );
    alices.agent_state("alice", "available").await;
    sues.agent_state("alice", "available").await;
    let figures = sues.until("figures", |m| m["type"] == "figures").await;
    let queues = figures["queues"].as_array().expect("queues");
    assert!(
        queues
            .iter()
            .any(|q| q["queue"] == "cards" && q["agents"]["unregistered"] == 1),
        "alice is counted in cards (available, no phone): {figures}"
    );
    let history = sue.get("/desk/api/history");
    assert_eq!(history.status, 200, "{}", history.body);
    assert!(history.json()["points"].is_array());

    let forced = sue.post("/desk/api/agents/alice/state", r#"{"state": "logged_out"}"#);
    assert_eq!(forced.status, 200, "{}", forced.body);
    alices.agent_state("alice", "logged_out").await;
    sues.agent_state("alice", "logged_out").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_whose_page_is_gone_is_put_away_and_comes_back_on_reconnecting() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = support::desk_server(dir.path(), PASSWORD, "[desk]\npage_gone_secs = 1\n");
    let addr = server.http.expect("http");
    let alice = Page::sign_in(addr, "alice", PASSWORD).unwrap_or_else(|a| panic!("{}", a.body));
    let mut socket = alice.socket().await;
    assert_eq!(
        alice
            .post("/desk/api/state", r#"{"state": "available"}"#)
            .status,
        200
    );
    socket.agent_state("alice", "available").await;
    drop(socket);
    assert!(
        server.wait_for_log("every desktop page of the agent is gone", PATIENCE),
        "{}",
        server.log()
    );
    // The page comes back: it is told the state the ACD holds now.
    let mut socket = alice.socket().await;
    let away = socket.agent_state("alice", "away").await;
    assert_eq!(away["agent"]["reason"], hotline::web::PAGE_GONE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_guessing_is_locked_out_on_the_desktop_and_the_api_alike() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = support::desk_server(
        dir.path(),
        PASSWORD,
        "[registrar]\nmax_failures_per_user = 3\nfailure_window_secs = 600\n",
    );
    let addr = server.http.expect("http");
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let refused = Page::sign_in(addr, "alice", "guess")
            .err()
            .expect("refused");
        statuses.push(refused.status);
    }
    assert_eq!(
        statuses,
        [401, 401, 401, 429, 429],
        "locked out after 3 wrong passwords"
    );
    let locked = Page::sign_in(addr, "alice", PASSWORD)
        .err()
        .expect("still locked");
    assert_eq!(
        locked.status, 429,
        "even the right password waits out the window"
    );
    assert!(locked.header("retry-after").is_some());
    // The HTTP API shares the count.
    let (status, _) = server.http(
        "POST",
        "/api/agents/alice/ready",
        Some(("alice", PASSWORD)),
        "",
    );
    assert_eq!(status, 429);
    // Another agent is not locked out by it.
    assert!(Page::sign_in(addr, "sue", PASSWORD).is_ok());
}
