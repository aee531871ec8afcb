//! The registrar at run time: answers each REGISTER transaction from the pure registrar
//! (`crate::sip::registrar`), reading an agent's digest secrets on a blocking thread only
//! when a request got past every cheap check, with a cap on lookups in flight so a flood
//! of REGISTERs cannot take the threads calls need. Expired bindings are swept every
//! second. Log lines name the agent, the source and the reason: never a password, an
//! HA1 or a response hash.

use crate::config::{Config, Transport};
use crate::data::{DataError, Store, agents};
use crate::sip::Transaction;
use crate::sip::message::{Header, StatusCode};
use crate::sip::registrar::{
    AgentSecrets, RegisterDecision, RegisterRequest, RegistrationEvent, Registrations,
    read_register,
};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

/// Secret lookups in flight at most; beyond, REGISTERs get 503 and retry.
const MAX_LOOKUPS: usize = 16;

/// The running registrar: what `Shared` holds.
pub struct RegistrarService {
    registrations: Registrations,
    store: Store,
    lookups: Arc<Semaphore>,
    realm: String,
}

impl RegistrarService {
    /// Opens the agents' database (`[data] dir` / `database`) and starts the expiry sweep.
    pub fn start(config: &Config, stop: CancellationToken) -> Result<Arc<Self>, DataError> {
        let path = config.data.dir.join(&config.data.database);
        let store = Store::open(&path, Duration::from_millis(config.data.busy_timeout_ms))?;
        let service = Arc::new(Self {
            registrations: Registrations::new(&config.registrar),
            store,
            lookups: Arc::new(Semaphore::new(MAX_LOOKUPS)),
            realm: config.registrar.realm.clone(),
        });
        let sweeping = service.registrations.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tick.tick() => sweeping.expire(),
                }
            }
        });
        let mut events = service.registrations.subscribe();
        tokio::spawn(async move {
            while let Ok(event) = events.recv().await {
                log_event(&event);
            }
        });
        Ok(service)
    }

    /// The agents' database (their passwords and skills).
    pub fn store(&self) -> Store {
        self.store.clone()
    }

    /// The narrow handle the ACD uses: who is registered, where, and what changes.
    pub fn registrations(&self) -> Registrations {
        self.registrations.clone()
    }

    /// Answers one REGISTER. Cheap answers are sent before returning; a request that
    /// needs the database continues on its own task.
    pub async fn handle(self: &Arc<Self>, mut tx: Transaction) {
        let transport = match tx.connection.as_ref().map(|c| c.transport()) {
            Some(crate::sip::message::transport::Transport::Udp) | None => Transport::Udp,
            Some(_) => Transport::Tcp,
        };
        let owned: Vec<(String, String)> = tx
            .original
            .headers
            .iter()
            .map(|h| (h.name().to_owned(), h.value().to_owned()))
            .collect();
        let pairs: Vec<(&str, &str)> = owned
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let request = match read_register(&pairs, transport) {
            Ok(request) => request,
            Err(err) => {
                info!(error = %err, "refused a REGISTER");
                return reply(&mut tx, StatusCode::BadRequest, vec![]).await;
            }
        };
        match self.registrations.begin(&request) {
            RegisterDecision::LookUp { login } => {
                let Ok(permit) = self.lookups.clone().try_acquire_owned() else {
                    warn!(agent = %login, source = %request.source, "registrar busy: REGISTER refused with 503");
                    let retry = vec![Header::Other("Retry-After".into(), "5".into())];
                    return reply(&mut tx, StatusCode::ServiceUnavailable, retry).await;
                };
                let service = self.clone();
                tokio::spawn(async move {
                    let secrets = service.secrets(&login).await;
                    drop(permit);
                    let decision = match secrets {
                        Some(secrets) => service.registrations.finish(&request, &secrets),
                        None => RegisterDecision::Refuse {
                            status: 500,
                            why: "the agents' database could not be read",
                        },
                    };
                    service.answer(&mut tx, &request, decision).await;
                });
            }
            decision => self.answer(&mut tx, &request, decision).await,
        }
    }

    /// The agent's secrets; `None` when the database failed (logged).
    async fn secrets(&self, login: &str) -> Option<AgentSecrets> {
        let store = self.store.clone();
        let login_owned = login.to_string();
        let found =
            tokio::task::spawn_blocking(move || agents::sip_secrets(&store, &login_owned)).await;
        match found {
            Ok(Ok(Some(secrets))) => Some(AgentSecrets::Enabled(secrets)),
            Ok(Ok(None)) => Some(AgentSecrets::Refused),
            Ok(Err(err)) => {
                warn!(agent = %login, error = %err, "cannot read an agent's SIP credentials");
                None
            }
            Err(err) => {
                warn!(agent = %login, error = %err, "credential lookup task failed");
                None
            }
        }
    }

    async fn answer(
        &self,
        tx: &mut Transaction,
        request: &RegisterRequest,
        decision: RegisterDecision,
    ) {
        match decision {
            RegisterDecision::Challenge { challenges, stale } => {
                debug!(agent = %request.login, source = %request.source, stale, "REGISTER challenged");
                let headers = challenges
                    .into_iter()
                    .map(|c| Header::Other("WWW-Authenticate".into(), c))
                    .collect();
                reply(tx, StatusCode::Unauthorized, headers).await;
            }
            RegisterDecision::Refuse { status, why } => {
                if why.contains("another realm") {
                    warn!(agent = %request.login, realm = %self.realm, "{why}");
                }
                if why.starts_with("too many failures") {
                    // Already blocked: one line when the block began is enough in a flood.
                    debug!(agent = %request.login, source = %request.source, reason = why, "REGISTER refused unheard");
                } else {
                    warn!(agent = %request.login, source = %request.source, status, reason = why, "REGISTER refused");
                }
                reply(tx, StatusCode::from(status), vec![]).await;
            }
            RegisterDecision::IntervalTooBrief { min } => {
                info!(agent = %request.login, source = %request.source, min_expires = min, "REGISTER expiry too brief");
                let headers = vec![Header::Other("Min-Expires".into(), min.to_string())];
                reply(tx, StatusCode::IntervalTooBrief, headers).await;
            }
            RegisterDecision::Registered { contacts, .. } => {
                debug!(agent = %request.login, source = %request.source, contacts = contacts.len(), "REGISTER accepted");
                let headers = contacts
                    .into_iter()
                    .map(|(uri, left)| {
                        Header::Other("Contact".into(), format!("<{uri}>;expires={left}"))
                    })
                    .collect();
                reply(tx, StatusCode::OK, headers).await;
            }
            RegisterDecision::LookUp { .. } => {
                reply(tx, StatusCode::ServerInternalError, vec![]).await;
            }
        }
    }
}

fn log_event(event: &RegistrationEvent) {
    match event {
        RegistrationEvent::Registered {
            login,
            contact,
            contacts,
        } => info!(
            agent = %login,
            contact = %contact.uri,
            source = %contact.source,
            contacts,
            "agent phone registered"
        ),
        RegistrationEvent::Unregistered {
            login,
            uri,
            reason,
            contacts,
        } => info!(
            agent = %login,
            contact = %uri,
            reason = ?reason,
            contacts,
            "agent phone unregistered"
        ),
    }
}

async fn reply(tx: &mut Transaction, status: StatusCode, headers: Vec<Header>) {
    if let Err(err) = tx.reply_with(status, headers, None).await {
        debug!(error = %err, "could not answer a REGISTER");
    }
}
