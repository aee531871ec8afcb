//! `hotline serve`: starts the SIP stack and the HTTP API, dispatches every incoming
//! request, and shuts down gracefully (503 to new calls, BYE to active ones).

mod acd;
mod agent_api;
mod dispatch;
mod http;
pub mod registrar;
pub mod registry;
mod reload;

pub use registry::CallRegistry;

use crate::call::{CallEnv, CallSettings};
use crate::config::Config;
use crate::dialplan::DialplanStore;
use crate::media::port_allocator::PortAllocator;
use crate::media::session::SessionConfig;
use crate::prompts::PromptCatalog;
use crate::sip::{SipError, SipStack};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// Errors that stop the server from starting.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Sip(Box<SipError>),
    #[error("cannot bind HTTP on {addr}: {source}")]
    HttpBind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Prompts(#[from] crate::prompts::PromptError),
    #[error("prompts missing from {}: {ids} (render them with prompts/render.sh)", dir.display())]
    MissingPrompts {
        dir: std::path::PathBuf,
        ids: String,
    },
    #[error("data sources: {0}")]
    Data(String),
    #[error("speech recognition: {0}")]
    Asr(String),
    #[error("text-to-speech: {0}")]
    Tts(#[from] crate::tts::TtsError),
    #[error("dialplan refused:\n{0}")]
    Dialplan(String),
    #[error("RTP ports: {0}")]
    Ports(#[from] crate::media::port_allocator::PortError),
    #[error(transparent)]
    Metrics(#[from] crate::metrics::MetricsError),
}

impl From<SipError> for ServerError {
    fn from(err: SipError) -> Self {
        ServerError::Sip(Box::new(err))
    }
}

/// What the server's own tasks share: configuration, the SIP stack, the registry of
/// active calls, and the environment every call gets.
pub struct Shared {
    pub config: Config,
    pub sip: SipStack,
    pub calls: CallRegistry,
    /// What calls use (prompts, ports, data, recogniser, dialplan, settings).
    pub env: Arc<CallEnv>,
    /// Cancelled when the server starts draining: calls hang up, new INVITEs get 503.
    pub draining: CancellationToken,
    /// The registrar for agents' phones (`None`: `[registrar] enabled = false`, or the
    /// agents' database could not be opened; REGISTER then gets 405).
    pub registrar: Option<Arc<registrar::RegistrarService>>,
    /// The agent desktop and wallboard. Its count of wrong agent passwords per login (the
    /// registrar's per-agent limit, `[registrar] max_failures_per_user` in
    /// `failure_window_secs`) is the HTTP API's too.
    pub desk: Arc<crate::web::Desk>,
}

/// The call settings and media session settings the configuration gives.
fn call_settings(config: &Config, speech: bool) -> (CallSettings, SessionConfig) {
    let calls = &config.calls;
    let settings = CallSettings {
        answer_delay: Duration::from_millis(calls.answer_delay_ms),
        max_duration: Duration::from_secs(calls.max_duration_secs),
        speech,
        early_recognition: Some(Duration::from_millis(config.asr.early_recognition_ms))
            .filter(|d| !d.is_zero()),
        ..CallSettings::default()
    };
    let session = SessionConfig {
        latching: config.rtp.latching,
        jitter_depth: config.rtp.jitter_buffer_packets.clamp(1, 8),
        rtp_timeout: Some(Duration::from_secs(calls.media_timeout_secs)),
        ..SessionConfig::default()
    };
    (settings, session)
}

/// Media engine shards: one per runtime worker thread (the runtime's default count), so
/// every core paces its share of the legs.
fn media_shards() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// The tickets of the embedded database (`None`, logged, when it cannot be opened).
fn open_tickets(config: &Config) -> Option<crate::data::Tickets> {
    let path = config.data.dir.join(&config.data.database);
    let busy = Duration::from_millis(config.data.busy_timeout_ms);
    match crate::data::Store::open(&path, busy) {
        Ok(store) => Some(crate::data::Tickets::new(store)),
        Err(err) => {
            warn!(error = %err, "tickets off: the database cannot be opened");
            None
        }
    }
}

/// The CDR writer on the embedded database (`None`: `[cdr] enabled = false`). It opens
/// the database itself, and keeps trying when it cannot: calls are answered either way.
fn start_cdr(config: &Config) -> Option<crate::cdr::CdrWriter> {
    if !config.cdr.enabled {
        return None;
    }
    let path = config.data.dir.join(&config.data.database);
    let busy = Duration::from_millis(config.data.busy_timeout_ms);
    let settings = crate::cdr::WriterSettings {
        retention: config.cdr.retention(),
        ..crate::cdr::WriterSettings::default()
    };
    Some(crate::cdr::CdrWriter::start(
        move || crate::data::Store::open(&path, busy),
        settings,
    ))
}

/// Loads and checks the configured dialplan (nothing in demo mode).
fn open_dialplan(config: &Config) -> Result<Option<Arc<DialplanStore>>, ServerError> {
    if config.dialplan.demo {
        return Ok(None);
    }
    // Loads and reloads are refused when a transfer names a queue this server lacks.
    let options = crate::dialplan::checker::CheckOptions {
        known_queues: Some(config.acd.queue_names().map(str::to_string).collect()),
    };
    match DialplanStore::open_with(&config.dialplan.path, options) {
        Ok((store, warnings)) => {
            let tts = config.tts.enabled();
            for warning in warnings.diagnostics.iter() {
                if tts && warning.code == crate::dialplan::checker::FREE_TEXT {
                    continue;
                }
                warn!(dialplan = %config.dialplan.path.display(), "{}", warning.message);
            }
            info!(dialplan = %config.dialplan.path.display(), "dialplan loaded");
            Ok(Some(Arc::new(store)))
        }
        Err(err) => Err(ServerError::Dialplan(err.report().render())),
    }
}

/// Finds (or fetches) the model and starts the recognition workers.
async fn start_asr(config: crate::config::AsrConfig) -> Result<Arc<crate::asr::Pool>, ServerError> {
    let started = std::time::Instant::now();
    let pool = tokio::task::spawn_blocking(move || -> Result<crate::asr::Pool, String> {
        let path = crate::asr::ensure_model(&config.model_dir, &config.model, config.fetch)
            .map_err(|e| e.to_string())?;
        let model = crate::asr::whisper::WhisperModel::load(&path).map_err(|e| e.to_string())?;
        let workers = if config.workers == 0 {
            crate::asr::pool::default_workers()
        } else {
            config.workers
        };
        let options = crate::asr::WhisperOptions {
            audio_ctx_floor: config.audio_ctx_floor,
            ..crate::asr::WhisperOptions::default()
        };
        let max_threads = if config.max_threads == 0 {
            crate::asr::pool::default_workers()
        } else {
            config.max_threads
        };
        crate::asr::Pool::with_threads(
            || model.recognizer(options.clone()),
            workers,
            config.queue,
            max_threads,
        )
        .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| ServerError::Asr(e.to_string()))?
    .map_err(ServerError::Asr)?;
    info!(
        ms = started.elapsed().as_millis() as u64,
        "speech recognition ready"
    );
    Ok(Arc::new(pool))
}

/// A started server.
pub struct Server {
    pub shared: Arc<Shared>,
    pub http_addr: Option<SocketAddr>,
    stop: CancellationToken,
    dispatcher: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Loads prompts, binds every socket and starts serving.
    pub async fn start(config: Config) -> Result<Self, ServerError> {
        let prompts = PromptCatalog::load(&config.prompts.dir, &config.prompts.language)?;
        let missing: Vec<&str> = crate::call::required_prompts()
            .filter(|id| prompts.get(id).is_none())
            .collect();
        if !missing.is_empty() {
            return Err(ServerError::MissingPrompts {
                dir: config.prompts.dir.join(&config.prompts.language),
                ids: missing.join(", "),
            });
        }
        let dialplans = open_dialplan(&config)?;
        let data = match &dialplans {
            Some(_) => Some(Arc::new(
                crate::data::DataSources::open(&config.data, &config.data.dir)
                    .map_err(|e| ServerError::Data(e.to_string()))?,
            )),
            None => None,
        };
        let asr = match (&dialplans, config.asr.enabled) {
            (Some(_), true) => Some(start_asr(config.asr.clone()).await?),
            _ => None,
        };
        let tts = match (&dialplans, config.tts.enabled()) {
            (Some(_), true) => Some(Arc::new(crate::tts::Tts::new(&config.tts)?)),
            _ => None,
        };
        let rtp = &config.rtp;
        let ports = PortAllocator::new(rtp.address, rtp.port_min, rtp.port_max)?;
        let stop = CancellationToken::new();
        let registrar = if config.registrar.enabled {
            match registrar::RegistrarService::start(&config, stop.child_token()) {
                Ok(service) => Some(service),
                Err(err) => {
                    warn!(error = %err, "registrar off: the agents' database cannot be opened");
                    None
                }
            }
        } else {
            None
        };
        let agents_store = registrar.as_ref().map(|r| r.store());
        let (acd, callback_orders) = match dialplans.as_ref().map(|_| {
            acd::AcdService::start(
                &config.acd,
                registrar.as_ref().map(|r| r.registrations()),
                agents_store.clone(),
                stop.child_token(),
            )
        }) {
            Some((handle, orders)) => (Some(handle), Some(orders)),
            None => (None, None),
        };
        let tickets = match &dialplans {
            Some(_) => open_tickets(&config),
            None => None,
        };
        let mut sip = SipStack::start(&config.sip, stop.child_token()).await?;
        let incoming = sip.take_incoming();
        let draining = CancellationToken::new();
        let (settings, session) = call_settings(&config, asr.is_some());
        let env = Arc::new(CallEnv {
            dialogs: sip.dialogs.clone(),
            contact: sip.contact_uri(),
            ports,
            media: crate::media::engine::MediaEngine::spawn(media_shards()),
            rtp_public_address: config.rtp.public_address,
            session,
            prompts,
            data,
            asr,
            tts,
            dialplans,
            demo_hangup_after: Duration::from_secs(config.demo.hangup_after_secs),
            settings,
            draining: draining.clone(),
            acd,
            contexts: Arc::default(),
            http_base: std::sync::OnceLock::new(),
            tickets,
            cdr: start_cdr(&config),
            metrics: Arc::new(crate::metrics::Metrics::new()?),
        });
        if let Some(orders) = callback_orders {
            tokio::spawn(crate::call::place_callbacks(env.clone(), orders));
        }
        // Logins tracked at most, so guesses at made-up logins cannot grow it without bound.
        let api_failures = crate::sip::registrar::limiter::FailureLimiter::new(
            config.registrar.max_failures_per_user,
            Duration::from_secs(u64::from(config.registrar.failure_window_secs)),
            10_000,
        );
        let desk = Arc::new(crate::web::Desk::new(
            config.desk.clone(),
            env.acd.clone(),
            env.contexts.clone(),
            registrar.as_ref().map(|r| r.store()),
            env.tickets.clone(),
            api_failures,
        ));
        let shared = Arc::new(Shared {
            config,
            sip,
            calls: CallRegistry::default(),
            env,
            draining,
            desk,
            registrar,
        });
        let http_addr = if shared.config.http.enabled {
            let addr = http::start(shared.clone(), stop.child_token()).await?;
            let base =
                (shared.config.http.public_url.clone()).unwrap_or_else(|| format!("http://{addr}"));
            let _ = shared.env.http_base.set(base);
            Some(addr)
        } else {
            None
        };
        if let Some(store) = &shared.env.dialplans {
            reload::watch(
                store.clone(),
                shared.config.dialplan.watch_interval_ms,
                stop.child_token(),
            );
        }
        let dispatcher = match incoming {
            Some(incoming) => tokio::spawn(dispatch::run(shared.clone(), incoming)),
            None => tokio::spawn(async {}),
        };
        Ok(Self {
            shared,
            http_addr,
            stop,
            dispatcher,
        })
    }

    /// One line that tests and operators can read the real addresses from.
    pub fn ready_line(&self) -> String {
        let fmt = |a: Option<SocketAddr>| a.map(|a| a.to_string()).unwrap_or_else(|| "-".into());
        format!(
            "hotline ready sip_udp={} sip_tcp={} http={}",
            fmt(self.shared.sip.udp_addr),
            fmt(self.shared.sip.tcp_addr),
            fmt(self.http_addr)
        )
    }

    /// Graceful shutdown: refuse new calls, hang up active ones, wait for them (bounded),
    /// then stop the stack.
    pub async fn shutdown(self) {
        let grace = Duration::from_secs(self.shared.config.calls.shutdown_grace_secs);
        let active = self.shared.calls.len();
        info!(
            active_calls = active,
            grace_secs = grace.as_secs(),
            "draining"
        );
        self.shared.draining.cancel();
        let deadline = tokio::time::Instant::now() + grace;
        while !self.shared.calls.is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let left = self.shared.calls.len();
        if left > 0 {
            warn!(
                calls = left,
                "calls still active at the end of the grace period"
            );
        }
        // In-flight BYE transactions need a moment to be answered before the stack stops.
        tokio::time::sleep(Duration::from_millis(100)).await;
        if let Some(cdr) = self.shared.env.cdr.clone() {
            let written = tokio::task::spawn_blocking(move || cdr.flush(Duration::from_secs(2)))
                .await
                .unwrap_or(false);
            if !written {
                warn!("call records still unwritten at shutdown: they are lost");
            }
        }
        self.stop.cancel();
        self.shared.sip.shutdown();
        self.dispatcher.abort();
        info!("stopped");
    }
}
