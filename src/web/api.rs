//! The desktop's JSON API. Every request but sign-in needs a live session (the cookie);
//! every change also needs the session's CSRF token in `X-CSRF-Token` and, when the
//! browser names one, an `Origin` on this host. An agent acts only as themselves and on
//! their own calls; a supervisor may also set another agent's state and read the history.

use super::auth::{Refusal, check_password};
use super::cookies;
use super::{Desk, Session};
use crate::acd::{AcdEvent, AgentId, AgentState, ContextRefusal, QueuedCallId};
use crate::data::agents;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::info;

type DeskState = State<Arc<Desk>>;

/// Request bodies are small JSON documents; anything bigger is refused before it is read.
const MAX_BODY: usize = 16 * 1024;

pub fn routes() -> Router<Arc<Desk>> {
    Router::new()
        .route("/desk/api/login", post(login))
        .route("/desk/api/me", get(me))
        .route("/desk/api/logout", post(logout))
        .route("/desk/api/state", post(own_state))
        .route("/desk/api/agents/{login}/state", post(forced_state))
        .route("/desk/api/decline", post(decline))
        .route("/desk/api/wrapup", post(wrapup))
        .route("/desk/api/contexts/{token}", get(context))
        .route("/desk/api/history", get(history))
        .layer(DefaultBodyLimit::max(MAX_BODY))
}

/// A JSON error answer.
pub fn error(code: StatusCode, message: &str) -> Response {
    let mut response = (code, axum::Json(json!({ "error": message }))).into_response();
    super::assets::secure_headers(response.headers_mut());
    response
}

fn ok(body: serde_json::Value) -> Response {
    let mut response = axum::Json(body).into_response();
    super::assets::secure_headers(response.headers_mut());
    response
}

/// A refusal already shaped as the answer; boxed, as a `Response` is large.
pub type Refused = Box<Response>;

fn parse<T: serde::de::DeserializeOwned>(body: &[u8], shape: &str) -> Result<T, Refused> {
    serde_json::from_slice(body).map_err(|_| {
        Box::new(error(
            StatusCode::BAD_REQUEST,
            &format!("expected JSON {shape}"),
        ))
    })
}

/// The request's live session.
pub fn session(desk: &Desk, headers: &HeaderMap) -> Result<Session, Refused> {
    cookies::session_token(headers)
        .and_then(|token| desk.sessions.get(&token, Instant::now()))
        .ok_or_else(|| Box::new(error(StatusCode::UNAUTHORIZED, "not signed in")))
}

/// Whether the browser's `Origin` (when it sent one) is this host.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, rest)| rest);
    matches!((origin_host, host), (Some(a), Some(b)) if a.eq_ignore_ascii_case(b))
}

/// The session of a request that changes something: CSRF token and origin checked.
fn changing(desk: &Desk, headers: &HeaderMap) -> Result<Session, Refused> {
    let session = session(desk, headers)?;
    let offered = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !session.csrf_matches(offered) || !same_origin(headers) {
        return Err(Box::new(error(
            StatusCode::FORBIDDEN,
            "missing or wrong X-CSRF-Token (or a foreign Origin)",
        )));
    }
    Ok(session)
}

fn whoami(session: &Session) -> serde_json::Value {
    json!({
        "login": session.login,
        "display_name": session.display_name,
        "role": session.role.as_str(),
        "csrf": session.csrf,
    })
}

#[derive(Deserialize)]
struct Credentials {
    login: String,
    password: String,
}

async fn login(State(desk): DeskState, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let creds: Credentials = match parse(&body, "{\"login\": \"...\", \"password\": \"...\"}") {
        Ok(c) => c,
        Err(refused) => return *refused,
    };
    if !same_origin(&headers) {
        return error(StatusCode::FORBIDDEN, "sign in from this server's own page");
    }
    let Some(store) = &desk.agents else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "no agents' database: the desktop is not available",
        );
    };
    if agents::check_login(&creds.login).is_err() {
        return error(StatusCode::UNAUTHORIZED, "wrong login or password");
    }
    let record = match check_password(store, &desk.failures, &creds.login, &creds.password).await {
        Ok(record) => record,
        Err(Refusal::Wrong) => return error(StatusCode::UNAUTHORIZED, "wrong login or password"),
        Err(Refusal::Blocked) => {
            let mut refused = error(
                StatusCode::TOO_MANY_REQUESTS,
                "too many wrong passwords for this login: try again later",
            );
            refused
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
            return refused;
        }
        Err(Refusal::Unavailable) => {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "cannot check the password now",
            );
        }
    };
    let ttl = Duration::from_secs(desk.config.session_hours.max(1) * 3600);
    let (token, session) = desk.sessions.open(
        &record.login,
        &record.display_name,
        record.role,
        ttl,
        Instant::now(),
    );
    info!(agent = %session.login, role = session.role.as_str(), "desktop sign-in");
    let mut response = ok(whoami(&session));
    if let Ok(cookie) = HeaderValue::from_str(&cookies::set_session(&token, ttl.as_secs(), false)) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

async fn me(State(desk): DeskState, headers: HeaderMap) -> Response {
    match session(&desk, &headers) {
        Ok(session) => ok(whoami(&session)),
        Err(refused) => *refused,
    }
}

async fn logout(State(desk): DeskState, headers: HeaderMap) -> Response {
    if let Err(refused) = changing(&desk, &headers) {
        return *refused;
    }
    if let Some(token) = cookies::session_token(&headers) {
        desk.sessions.close(&token);
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Ok(cookie) = HeaderValue::from_str(&cookies::clear_session()) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

#[derive(Deserialize)]
struct StateChange {
    state: String,
    #[serde(default)]
    reason: Option<String>,
}

const STATE_SHAPE: &str =
    "{\"state\": \"available\" | \"away\" | \"logged_out\", \"reason\": \"...\"}";

async fn own_state(
    State(desk): DeskState,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let session = match changing(&desk, &headers) {
        Ok(s) => s,
        Err(refused) => return *refused,
    };
    match parse::<StateChange>(&body, STATE_SHAPE) {
        Ok(change) => set_state(&desk, &session.login, change).await,
        Err(refused) => *refused,
    }
}

async fn forced_state(
    State(desk): DeskState,
    Path(login): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let session = match changing(&desk, &headers) {
        Ok(s) => s,
        Err(refused) => return *refused,
    };
    if !session.is_supervisor() && session.login != login {
        return error(
            StatusCode::FORBIDDEN,
            "only a supervisor sets another agent's state",
        );
    }
    match parse::<StateChange>(&body, STATE_SHAPE) {
        Ok(change) => {
            info!(supervisor = %session.login, agent = %login, state = %change.state, "state set by a supervisor");
            set_state(&desk, &login, change).await
        }
        Err(refused) => *refused,
    }
}

/// Asks the ACD to put `login` in the state asked for; the page hears the outcome over
/// its WebSocket, as the ACD decides it.
async fn set_state(desk: &Desk, login: &str, change: StateChange) -> Response {
    let Some(acd) = &desk.acd else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "agent queues are not running",
        );
    };
    let agent = AgentId(login.to_string());
    match change.state.as_str() {
        "available" => {
            let known = acd
                .agents()
                .await
                .unwrap_or_default()
                .into_iter()
                .find(|v| v.agent == agent);
            let logged_out = known
                .as_ref()
                .is_none_or(|v| v.state == AgentState::LoggedOut);
            if logged_out {
                let Some(store) = desk.agents.clone() else {
                    return error(StatusCode::SERVICE_UNAVAILABLE, "no agents' database");
                };
                let who = login.to_string();
                let found = tokio::task::spawn_blocking(move || agents::find(&store, &who)).await;
                match found {
                    Ok(Ok(Some(record))) if record.enabled => acd.log_in(agent, record.skills),
                    Ok(Ok(_)) => return error(StatusCode::NOT_FOUND, "no such agent"),
                    _ => return error(StatusCode::INTERNAL_SERVER_ERROR, "cannot read the agent"),
                }
            } else {
                acd.report(AcdEvent::AgentReady { agent });
            }
        }
        "away" => {
            let reason = change.reason.unwrap_or_default();
            let reason = reason.trim();
            if reason.is_empty() || reason.len() > 64 {
                return error(
                    StatusCode::BAD_REQUEST,
                    "away needs a reason (1-64 characters)",
                );
            }
            acd.report(AcdEvent::AgentAway {
                agent,
                reason: reason.to_string(),
            });
        }
        "logged_out" => acd.report(AcdEvent::AgentLoggedOut { agent }),
        _ => return error(StatusCode::BAD_REQUEST, &format!("expected {STATE_SHAPE}")),
    }
    ok(json!({ "ok": true }))
}

#[derive(Deserialize)]
struct Decline {
    call: String,
}

async fn decline(State(desk): DeskState, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let session = match changing(&desk, &headers) {
        Ok(s) => s,
        Err(refused) => return *refused,
    };
    let Some(acd) = &desk.acd else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "agent queues are not running",
        );
    };
    match parse::<Decline>(&body, "{\"call\": \"...\"}") {
        Ok(d) => {
            // The ACD declines only an offer of this call that rings this agent now.
            acd.decline(QueuedCallId(d.call), AgentId(session.login));
            ok(json!({ "ok": true }))
        }
        Err(refused) => *refused,
    }
}

#[derive(Deserialize)]
struct WrapUpBody {
    ticket: i64,
    disposition: String,
    #[serde(default)]
    notes: String,
}

async fn wrapup(State(desk): DeskState, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let session = match changing(&desk, &headers) {
        Ok(s) => s,
        Err(refused) => return *refused,
    };
    let wrap: WrapUpBody = match parse(
        &body,
        "{\"ticket\": N, \"disposition\": \"...\", \"notes\": \"...\"}",
    ) {
        Ok(w) => w,
        Err(refused) => return *refused,
    };
    if !desk.config.dispositions.contains(&wrap.disposition) {
        return error(
            StatusCode::BAD_REQUEST,
            "that disposition is not one of the configured ones",
        );
    }
    match wrap_up(
        &desk,
        &session.login,
        wrap.ticket,
        wrap.disposition,
        wrap.notes,
    )
    .await
    {
        Ok(()) => ok(json!({ "ok": true })),
        Err(refusal) => refusal.into_response(),
    }
}

/// Why a wrap-up was not saved.
#[derive(Debug)]
pub enum WrapUpRefusal {
    NotYours,
    Unavailable,
    /// The ticket cannot be closed (already closed, a field too long ...).
    Refused(String),
}

impl IntoResponse for WrapUpRefusal {
    fn into_response(self) -> Response {
        match self {
            WrapUpRefusal::NotYours => error(
                StatusCode::FORBIDDEN,
                "that ticket is not one of your calls",
            ),
            WrapUpRefusal::Unavailable => {
                error(StatusCode::SERVICE_UNAVAILABLE, "tickets are not available")
            }
            WrapUpRefusal::Refused(why) => error(StatusCode::CONFLICT, &why),
        }
    }
}

/// Closes the ticket of a call offered to `login` with their disposition and notes, and
/// ends their wrap-up.
pub async fn wrap_up(
    desk: &Desk,
    login: &str,
    ticket: i64,
    disposition: String,
    notes: String,
) -> Result<(), WrapUpRefusal> {
    let agent = AgentId(login.to_string());
    if !desk.contexts.offered(&agent, ticket) {
        return Err(WrapUpRefusal::NotYours);
    }
    let (Some(tickets), Some(acd)) = (desk.tickets.clone(), desk.acd.clone()) else {
        return Err(WrapUpRefusal::Unavailable);
    };
    let closing = crate::data::Closing {
        agent: login.to_string(),
        disposition,
        notes,
    };
    let closed =
        tokio::task::spawn_blocking(move || tickets.close(ticket, &closing, chrono::Utc::now()))
            .await;
    match closed {
        Ok(Ok(_)) => {
            info!(agent = %login, ticket, "wrap-up saved");
            acd.report(AcdEvent::AgentReady { agent });
            Ok(())
        }
        Ok(Err(err)) => Err(WrapUpRefusal::Refused(err.to_string())),
        Err(_) => Err(WrapUpRefusal::Unavailable),
    }
}

async fn context(
    State(desk): DeskState,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let session = match session(&desk, &headers) {
        Ok(s) => s,
        Err(refused) => return *refused,
    };
    let read = desk
        .contexts
        .read(&token, &AgentId(session.login), Instant::now());
    match read {
        Ok(json) => {
            let mut response = ([(header::CONTENT_TYPE, "application/json")], json).into_response();
            super::assets::secure_headers(response.headers_mut());
            response
        }
        Err(ContextRefusal::Unknown) => error(StatusCode::NOT_FOUND, "no such context"),
        Err(ContextRefusal::NotYours) => error(
            StatusCode::FORBIDDEN,
            "this context belongs to another agent's offer",
        ),
    }
}

async fn history(State(desk): DeskState, headers: HeaderMap) -> Response {
    match session(&desk, &headers) {
        Ok(s) if s.is_supervisor() => ok(json!({ "points": desk.history.points() })),
        Ok(_) => error(StatusCode::FORBIDDEN, "supervisors only"),
        Err(refused) => *refused,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_foreign_origin_is_not_this_host() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "127.0.0.1:8080".parse().unwrap());
        assert!(
            same_origin(&headers),
            "no Origin: not a cross-site browser request"
        );
        headers.insert(header::ORIGIN, "http://127.0.0.1:8080".parse().unwrap());
        assert!(same_origin(&headers));
        headers.insert(header::ORIGIN, "http://evil.example".parse().unwrap());
        assert!(!same_origin(&headers));
        headers.insert(header::ORIGIN, "null".parse().unwrap());
        assert!(!same_origin(&headers));
    }
}
