//! The agent desktop and the supervisor wallboard, served by the `hotline` binary itself:
//! the pages and their scripts are embedded (assets.rs), agents sign in with the agent
//! store's passwords into sessions that expire (sessions.rs, auth.rs), the page acts over a
//! small JSON API (api.rs) and hears the ACD's decisions over a WebSocket (socket.rs), fed
//! by one hub that joins them with the calls' contexts (hub.rs); the wallboard's chart
//! reads the day's figures sampled each minute (history.rs).
//!
//! The server owns this module and hands it a [`Desk`]: what the pages need, and nothing
//! of the server itself.

mod api;
mod assets;
pub mod auth;
mod config;
mod cookies;
mod history;
mod hub;
mod sessions;
mod socket;

pub use api::{WrapUpRefusal, wrap_up};
pub use config::DeskConfig;
pub use history::History;
pub use hub::PAGE_GONE;
pub use sessions::{Session, Sessions};

use crate::acd::{AcdHandle, ContextBoard};
use crate::data::{Store, Tickets};
use crate::sip::registrar::limiter::FailureLimiter;
use axum::Router;
use std::sync::{Arc, Mutex};

/// What the desktop and the wallboard need, built by the server.
pub struct Desk {
    pub config: DeskConfig,
    /// The ACD's owner task (`None`: demo mode, or no agents' database).
    pub acd: Option<AcdHandle>,
    pub contexts: Arc<ContextBoard>,
    /// The agents' database (logins, passwords, roles).
    pub agents: Option<Store>,
    pub tickets: Option<Tickets>,
    /// Wrong passwords per login, shared with the HTTP API and its limit.
    pub failures: Arc<Mutex<FailureLimiter<String>>>,
    pub sessions: Sessions,
    pub history: History,
    hub: Option<hub::Hub>,
}

impl Desk {
    /// The desktop's side of the server; with an ACD, its hub and the history's sampling
    /// start (on the running tokio runtime).
    pub fn new(
        config: DeskConfig,
        acd: Option<AcdHandle>,
        contexts: Arc<ContextBoard>,
        agents: Option<Store>,
        tickets: Option<Tickets>,
        failures: FailureLimiter<String>,
    ) -> Desk {
        let history = History::default();
        let hub = acd.as_ref().map(|acd| {
            history::start_sampling(history.clone(), acd.clone());
            hub::Hub::start(acd.clone(), contexts.clone())
        });
        Desk {
            config,
            acd,
            contexts,
            agents,
            tickets,
            failures: Arc::new(Mutex::new(failures)),
            sessions: Sessions::default(),
            history,
            hub,
        }
    }
}

/// The desktop's and the wallboard's routes, to merge into the server's router.
pub fn router(desk: Arc<Desk>) -> Router {
    api::routes()
        .merge(socket::routes())
        .with_state(desk)
        .merge(assets::routes())
}
