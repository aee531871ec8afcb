//! The desktop's WebSocket (`/desk/ws`): the ACD's decisions pushed to the page as they
//! are made. An agent's page gets their own state and offers; a supervisor's gets every
//! agent's state and the queues' figures each second. On (re)connecting a page is sent
//! the present (states, the latest offer), so a dropped connection loses nothing. The
//! page may only ping; anything else it sends gets an error message, and the socket stays.

use super::api::{error, same_origin, session};
use super::{Desk, Session};
use crate::acd::{AgentId, AgentState};
use axum::Router;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

/// Larger messages from a page are refused by the protocol layer.
const MAX_MESSAGE: usize = 4096;
const FIGURES_EVERY: Duration = Duration::from_secs(1);

pub fn routes() -> Router<Arc<Desk>> {
    Router::new().route("/desk/ws", get(upgrade))
}

async fn upgrade(
    State(desk): State<Arc<Desk>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let session = match session(&desk, &headers) {
        Ok(s) => s,
        Err(refused) => return *refused,
    };
    // A cookie rides along on cross-site WebSocket handshakes too: the origin must be ours.
    if !same_origin(&headers) {
        return error(StatusCode::FORBIDDEN, "a foreign Origin");
    }
    if desk.hub.is_none() {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "agent queues are not running",
        );
    }
    ws.max_message_size(MAX_MESSAGE)
        .max_frame_size(MAX_MESSAGE)
        .on_upgrade(move |socket| serve(desk, session, socket))
}

async fn send(socket: &mut WebSocket, message: &Value) -> bool {
    socket
        .send(Message::Text(message.to_string().into()))
        .await
        .is_ok()
}

async fn serve(desk: Arc<Desk>, session: Session, mut socket: WebSocket) {
    let (Some(hub), Some(acd)) = (desk.hub.clone(), desk.acd.clone()) else {
        return;
    };
    let agent = AgentId(session.login.clone());
    let supervisor = session.is_supervisor();
    let mut events = hub.subscribe();
    hub.page_opened(&agent);
    let grace = Duration::from_secs(desk.config.page_gone_secs);
    let hello = json!({
        "type": "hello",
        "login": session.login,
        "display_name": session.display_name,
        "role": session.role.as_str(),
        "dispositions": desk.config.dispositions,
        "away_reasons": desk.config.away_reasons,
    });
    if send(&mut socket, &hello).await && present(&desk, &agent, supervisor, &mut socket).await {
        let mut figures = tokio::time::interval(FIGURES_EVERY);
        loop {
            tokio::select! {
                event = events.recv() => match event {
                    Ok(event) if supervisor || event.agent == agent => {
                        if !send(&mut socket, &event.message).await {
                            break;
                        }
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        // Too slow to keep up: send the present instead of what was missed.
                        if !present(&desk, &agent, supervisor, &mut socket).await {
                            break;
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                _ = figures.tick(), if supervisor => {
                    let Some(queues) = acd.figures().await else { break };
                    let message = json!({
                        "type": "figures",
                        "at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                        "queues": queues,
                    });
                    if !send(&mut socket, &message).await {
                        break;
                    }
                }
                incoming = socket.recv() => match incoming {
                    Some(Ok(Message::Text(text))) => {
                        let reply = answer(text.as_str());
                        if !send(&mut socket, &reply).await {
                            break;
                        }
                    }
                    Some(Ok(Message::Binary(_))) => {
                        let reply = json!({"type": "error", "message": "binary messages are not understood"});
                        if !send(&mut socket, &reply).await {
                            break;
                        }
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => {}
                },
            }
        }
    }
    hub.page_closed(&agent, &acd, grace);
}

/// The answer to a page's message: a pong to a ping, an error to anything else.
fn answer(text: &str) -> Value {
    match serde_json::from_str::<Value>(text) {
        Ok(message) if message.get("type").and_then(Value::as_str) == Some("ping") => {
            json!({"type": "pong"})
        }
        Ok(_) => {
            json!({"type": "error", "message": "the only message a page may send is {\"type\": \"ping\"}"})
        }
        Err(_) => json!({"type": "error", "message": "not JSON"}),
    }
}

/// Sends the present: the agents' states the page may see, and (for an agent still busy
/// with it) their latest offer with its context.
async fn present(desk: &Desk, agent: &AgentId, supervisor: bool, socket: &mut WebSocket) -> bool {
    let (Some(acd), Some(hub)) = (&desk.acd, &desk.hub) else {
        return false;
    };
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let views = acd.agents().await.unwrap_or_default();
    let mut own = None;
    for view in views {
        if view.agent == *agent {
            own = Some(view.state.clone());
        }
        if supervisor || view.agent == *agent {
            let message =
                json!({"type": "agent", "agent": view, "since": view.since, "decided_at": now});
            if !send(socket, &message).await {
                return false;
            }
        }
    }
    let busy = matches!(
        own,
        Some(AgentState::Offered { .. } | AgentState::OnCall { .. } | AgentState::WrapUp { .. })
    );
    if busy && let Some(offer) = hub.last_offer(agent) {
        return send(socket, &offer).await;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_may_ping_and_anything_else_gets_an_error() {
        assert_eq!(answer(r#"{"type":"ping"}"#), json!({"type": "pong"}));
        assert_eq!(answer(r#"{"type":"accept"}"#)["type"], "error");
        assert_eq!(answer("{{{{")["type"], "error");
        assert_eq!(answer("")["type"], "error");
    }
}
