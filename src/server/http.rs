//! The HTTP API: a health endpoint that load balancers and tests can poll, the figures
//! for Prometheus (`/metrics`), the agents' API (agent_api.rs), and the agent desktop and
//! wallboard (`crate::web`).

use super::{ServerError, Shared};
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

pub async fn start(
    shared: Arc<Shared>,
    stop: CancellationToken,
) -> Result<SocketAddr, ServerError> {
    let addr = shared.config.http.listen;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::HttpBind { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| ServerError::HttpBind { addr, source })?;
    let app = Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/api/queues", get(super::agent_api::queues))
        .route("/api/agents", get(super::agent_api::list))
        .route("/api/agents/{login}/{action}", post(super::agent_api::act))
        .route("/api/contexts/{token}", get(super::agent_api::context))
        .with_state(shared.clone())
        .merge(crate::web::router(shared.desk.clone()));
    tokio::spawn(async move {
        let served = axum::serve(listener, app).with_graceful_shutdown(stop.cancelled_owned());
        if let Err(err) = served.await {
            tracing::warn!(error = %err, "HTTP server stopped");
        }
    });
    Ok(local)
}

/// The figures in Prometheus text format.
async fn metrics(State(shared): State<Arc<Shared>>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let env = &shared.env;
    let queues = match &env.acd {
        Some(acd) => acd.figures().await.unwrap_or_default(),
        None => Vec::new(),
    };
    let snapshot = crate::metrics::Snapshot {
        active_calls: shared.calls.len(),
        pool: env.asr.as_ref().map(|pool| pool.stats()),
        breakers: env.data.as_ref().map(|d| d.breakers()).unwrap_or_default(),
        queues,
        cdr: env.cdr.as_ref().map(|cdr| &**cdr.stats()),
    };
    match env.metrics.render(&snapshot) {
        Ok(text) => (
            [(
                axum::http::header::CONTENT_TYPE,
                crate::metrics::Metrics::content_type(),
            )],
            text,
        )
            .into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "metrics could not be rendered");
            axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

async fn health(State(shared): State<Arc<Shared>>) -> Json<serde_json::Value> {
    let status = if shared.draining.is_cancelled() {
        "draining"
    } else {
        "ok"
    };
    Json(serde_json::json!({
        "status": status,
        "active_calls": shared.calls.len(),
        "total_calls": shared.calls.total(),
        "sip_rejected": shared.sip.guard_stats.rejected.load(std::sync::atomic::Ordering::Relaxed),
    }))
}
