//! The agents' and the wallboard's HTTP API over the ACD: queue figures, agents' states,
//! an agent logging in, going ready or away and logging out, and the context envelope
//! of a call offered to them. State-changing requests and contexts need the agent's own
//! password (HTTP Basic, checked by `crate::web::auth` as the desktop's sign-in is); an
//! agent acts only as themselves and reads only the contexts of their offers.

use super::Shared;
use crate::acd::{AcdEvent, AgentId, ContextRefusal};
use crate::data::agents;
use crate::web::auth::{Refusal, check_password};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::Deserialize;
use std::sync::Arc;
use tracing::info;

type Shared_ = State<Arc<Shared>>;

/// `GET /api/queues`: every queue's figures now.
pub async fn queues(State(shared): Shared_) -> Response {
    let Some(acd) = &shared.env.acd else {
        return unavailable();
    };
    match acd.figures().await {
        Some(figures) => Json(figures).into_response(),
        None => unavailable(),
    }
}

/// `GET /api/agents`: every agent the ACD knows, with their state.
pub async fn list(State(shared): Shared_) -> Response {
    let Some(acd) = &shared.env.acd else {
        return unavailable();
    };
    match acd.agents().await {
        Some(agents) => Json(agents).into_response(),
        None => unavailable(),
    }
}

#[derive(Debug, Deserialize)]
pub struct Away {
    reason: String,
}

/// `wrapup`'s body: the ticket of the call just handled, how it ended, and notes.
#[derive(Debug, Deserialize)]
pub struct WrapUp {
    ticket: i64,
    disposition: String,
    #[serde(default)]
    notes: String,
}

/// `POST /api/agents/{login}/{action}` with action `login`, `ready`, `away` (JSON body
/// `{"reason": "..."}`), `wrapup` (JSON `{"ticket": N, "disposition": "...", "notes":
/// "..."}`: closes the ticket of a call offered to this agent and ends the wrap-up) or
/// `logout`.
pub async fn act(
    State(shared): Shared_,
    Path((login, action)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let Some(acd) = shared.env.acd.clone() else {
        return unavailable();
    };
    if let Err(refused) = authenticate(&shared, &headers, Some(&login)).await {
        return refused;
    }
    let agent = AgentId(login.clone());
    match action.as_str() {
        "login" => {
            let Some(store) = shared.registrar.as_ref().map(|r| r.store()) else {
                return unavailable();
            };
            let who = login.clone();
            let found = tokio::task::spawn_blocking(move || agents::find(&store, &who)).await;
            let skills = match found {
                Ok(Ok(Some(record))) => record.skills,
                _ => return status(StatusCode::INTERNAL_SERVER_ERROR, "cannot read the agent"),
            };
            acd.log_in(agent, skills);
        }
        "ready" => acd.report(AcdEvent::AgentReady { agent }),
        "logout" => acd.report(AcdEvent::AgentLoggedOut { agent }),
        "away" => {
            let reason = match serde_json::from_slice::<Away>(&body) {
                Ok(away) if !away.reason.trim().is_empty() && away.reason.len() <= 64 => {
                    away.reason
                }
                _ => {
                    return status(
                        StatusCode::BAD_REQUEST,
                        "away needs a JSON body {\"reason\": \"...\"} (1-64 characters)",
                    );
                }
            };
            acd.report(AcdEvent::AgentAway { agent, reason });
        }
        "wrapup" => {
            let Ok(wrap) = serde_json::from_slice::<WrapUp>(&body) else {
                return status(
                    StatusCode::BAD_REQUEST,
                    "wrapup needs JSON {\"ticket\": N, \"disposition\": \"...\", \"notes\": \"...\"}",
                );
            };
            let saved = crate::web::wrap_up(
                &shared.desk,
                &login,
                wrap.ticket,
                wrap.disposition,
                wrap.notes,
            )
            .await;
            match saved {
                Ok(()) => {}
                Err(crate::web::WrapUpRefusal::NotYours) => {
                    return status(
                        StatusCode::FORBIDDEN,
                        "that ticket is not one of your calls",
                    );
                }
                Err(crate::web::WrapUpRefusal::Unavailable) => return unavailable(),
                Err(crate::web::WrapUpRefusal::Refused(why)) => {
                    return status(StatusCode::CONFLICT, &why);
                }
            }
        }
        _ => {
            return status(
                StatusCode::NOT_FOUND,
                "actions: login, ready, away, wrapup, logout",
            );
        }
    }
    info!(agent = %login, %action, "agent action");
    status(StatusCode::OK, "ok")
}

/// `GET /api/contexts/{token}`: the envelope of a call offered to the authenticated agent.
pub async fn context(
    State(shared): Shared_,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let login = match authenticate(&shared, &headers, None).await {
        Ok(login) => login,
        Err(refused) => return refused,
    };
    let agent = AgentId(login);
    match shared
        .env
        .contexts
        .read(&token, &agent, std::time::Instant::now())
    {
        Ok(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
        Err(ContextRefusal::Unknown) => status(StatusCode::NOT_FOUND, "no such context"),
        Err(ContextRefusal::NotYours) => status(
            StatusCode::FORBIDDEN,
            "this context belongs to another agent's offer",
        ),
    }
}

/// The agent named by HTTP Basic credentials, when their password matches (and, with
/// `must_be`, when they are that agent).
async fn authenticate(
    shared: &Shared,
    headers: &HeaderMap,
    must_be: Option<&str>,
) -> Result<String, Response> {
    let challenge = || {
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Basic realm=\"hotline\"")],
            "the agent's login and password are needed\n",
        )
            .into_response()
    };
    let Some((login, password)) = basic_credentials(headers) else {
        return Err(challenge());
    };
    if must_be.is_some_and(|wanted| wanted != login) {
        return Err(status(
            StatusCode::FORBIDDEN,
            "an agent acts only as themselves",
        ));
    }
    let Some(store) = shared.registrar.as_ref().map(|r| r.store()) else {
        return Err(unavailable());
    };
    match check_password(&store, &shared.desk.failures, &login, &password).await {
        Ok(_) => Ok(login),
        Err(Refusal::Wrong) => Err(challenge()),
        Err(Refusal::Blocked) => Err((
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "60")],
            "too many wrong passwords for this agent: try again later\n",
        )
            .into_response()),
        Err(Refusal::Unavailable) => Err(status(
            StatusCode::INTERNAL_SERVER_ERROR,
            "cannot check the password",
        )),
    }
}

/// `Authorization: Basic base64(login:password)`.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (login, password) = text.split_once(':')?;
    Some((login.to_string(), password.to_string()))
}

fn status(code: StatusCode, message: &str) -> Response {
    (code, format!("{message}\n")).into_response()
}

fn unavailable() -> Response {
    status(
        StatusCode::SERVICE_UNAVAILABLE,
        "agent queues are not running (demo mode, or no agents' database)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_read_and_garbage_is_not() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            "Basic YWxpY2U6czNjcjN0Ojo=".parse().unwrap(),
        );
        assert_eq!(
            basic_credentials(&headers),
            Some(("alice".into(), "s3cr3t::".into()))
        );
        headers.insert(header::AUTHORIZATION, "Basic !!!".parse().unwrap());
        assert_eq!(basic_credentials(&headers), None);
        headers.insert(header::AUTHORIZATION, "Bearer abc".parse().unwrap());
        assert_eq!(basic_credentials(&headers), None);
    }
}
