//! The SIP stack, bound and running: rsipstack's transport, transaction and dialog layers
//! behind one value. This and `guard.rs` are the only files that open SIP sockets.

use super::contact::ContactTransport;
use super::guard::{GuardStats, GuardedUdpSocket};
use super::log_limit::LogLimit;
use super::stream_guard::StreamGuard;
use super::stream_limit::{Full, StreamLimit};
use crate::config::{SipConfig, Transport};
use rsipstack::EndpointBuilder;
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::transaction::endpoint::{EndpointInnerRef, EndpointOption};
use rsipstack::transaction::{Endpoint, TransactionReceiver};
use rsipstack::transport::tcp::TcpConnection;
use rsipstack::transport::udp::UdpConnection;
use rsipstack::transport::{SipAddr, SipConnection, TransportLayer};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

/// Errors while bringing the SIP stack up.
#[derive(Debug, thiserror::Error)]
pub enum SipError {
    #[error("cannot bind SIP {transport} on {addr}: {source}")]
    Bind {
        transport: &'static str,
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("SIP stack: {0}")]
    Stack(#[from] rsipstack::Error),
}

/// A running SIP endpoint.
pub struct SipStack {
    pub endpoint: EndpointInnerRef,
    pub dialogs: Arc<DialogLayer>,
    pub guard_stats: Arc<GuardStats>,
    /// Where UDP listens (the port is the real one when the config asked for port 0).
    pub udp_addr: Option<SocketAddr>,
    pub tcp_addr: Option<SocketAddr>,
    /// Our Contact URI, built once at start.
    contact: rsipstack::sip::Uri,
    incoming: Option<TransactionReceiver>,
    _endpoint: Endpoint,
    cancel: CancellationToken,
}

impl SipStack {
    /// Binds every configured transport and starts the endpoint's tasks.
    pub async fn start(config: &SipConfig, cancel: CancellationToken) -> Result<Self, SipError> {
        let transport_layer = TransportLayer::new(cancel.child_token());
        let guard_stats = Arc::new(GuardStats::default());
        let mut port = config.listen.port();
        let mut udp_addr = None;
        let mut tcp_listener = None;

        if config.transports.contains(&Transport::Udp) {
            let addr = SocketAddr::new(config.listen.ip(), port);
            let socket =
                tokio::net::UdpSocket::bind(addr)
                    .await
                    .map_err(|source| SipError::Bind {
                        transport: "UDP",
                        addr,
                        source,
                    })?;
            let local = socket.local_addr().map_err(|source| SipError::Bind {
                transport: "UDP",
                addr,
                source,
            })?;
            port = local.port();
            let guarded =
                GuardedUdpSocket::new(socket, config.user_agent.clone(), guard_stats.clone());
            let external = config.public_address.map(|ip| SocketAddr::new(ip, port));
            let conn =
                UdpConnection::from_socket(Arc::new(guarded), external, Some(cancel.child_token()))
                    .await?;
            transport_layer.add_transport(conn.into());
            udp_addr = Some(local);
        }
        if config.transports.contains(&Transport::Tcp) {
            let addr = SocketAddr::new(config.listen.ip(), port);
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|source| SipError::Bind {
                    transport: "TCP",
                    addr,
                    source,
                })?;
            tcp_listener = Some(listener);
        }
        let tcp_addr = tcp_listener.as_ref().and_then(|l| l.local_addr().ok());

        let contact_host = config.public_address.unwrap_or(config.listen.ip());
        let contact_port = udp_addr.or(tcp_addr).map(|a| a.port()).unwrap_or(5060);
        let host = match contact_host {
            IpAddr::V6(v6) => format!("[{v6}]"),
            IpAddr::V4(v4) => v4.to_string(),
        };
        let contact =
            rsipstack::sip::Uri::try_from(format!("sip:hotline@{host}:{contact_port}").as_str())
                .map_err(|err| SipError::Stack(err.into()))?;
        transport_layer
            .set_stream_idle_timeout(Duration::from_secs(config.connection_idle_secs.max(1)));
        let t1 = Duration::from_millis(config.timer_t1_ms);
        let option = EndpointOption {
            t1,
            t1x64: t1 * 64,
            ..EndpointOption::default()
        };
        let endpoint = EndpointBuilder::new()
            .with_option(option)
            .with_transport_inspector(Box::new(StreamGuard {
                user_agent: config.user_agent.clone(),
                stats: guard_stats.clone(),
                log_limit: Default::default(),
            }))
            .with_inspector(Box::new(ContactTransport::new(&contact)))
            .with_user_agent(&config.user_agent)
            .with_transport_layer(transport_layer)
            .with_cancel_token(cancel.child_token())
            .build();
        let inner = endpoint.inner.clone();
        let incoming = endpoint.incoming_transactions()?;
        let dialogs = Arc::new(DialogLayer::new(inner.clone()));

        let serving = inner.clone();
        tokio::spawn(async move {
            if let Err(err) = serving.serve().await {
                warn!(error = %err, "SIP endpoint stopped");
            }
        });
        if let (Some(listener), Some(local)) = (tcp_listener, tcp_addr) {
            let public = config
                .public_address
                .map(|ip| SocketAddr::new(ip, local.port()));
            let limit = StreamLimit::new(config.max_connections, config.max_connections_per_source);
            tokio::spawn(accept_tcp(
                listener,
                local,
                public,
                limit,
                inner.clone(),
                cancel.clone(),
            ));
        }

        Ok(Self {
            endpoint: inner,
            dialogs,
            guard_stats,
            udp_addr,
            tcp_addr,
            contact,
            incoming: Some(incoming),
            _endpoint: endpoint,
            cancel,
        })
    }

    /// The stream of new server transactions (requests that no transaction absorbed).
    /// It can be taken once.
    pub fn take_incoming(&mut self) -> Option<TransactionReceiver> {
        self.incoming.take()
    }

    /// Our Contact URI for dialogs.
    pub fn contact_uri(&self) -> rsipstack::sip::Uri {
        self.contact.clone()
    }

    /// Stops every transport and timer.
    pub fn shutdown(&self) {
        self.cancel.cancel();
    }
}

/// Accepts SIP over TCP on a listener we bound ourselves (so a busy port is a start-up
/// error rather than a log line) and hands each stream to rsipstack, within the
/// connection limits.
async fn accept_tcp(
    listener: tokio::net::TcpListener,
    local: SocketAddr,
    public: Option<SocketAddr>,
    limit: StreamLimit,
    endpoint: EndpointInnerRef,
    cancel: CancellationToken,
) {
    let refusals = LogLimit::default();
    let local_sip = SipAddr {
        r#type: Some(rsipstack::sip::transport::Transport::Tcp),
        addr: public.unwrap_or(local).into(),
    };
    loop {
        let accepted = tokio::select! {
            _ = cancel.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let (stream, remote) = match accepted {
            Ok(pair) => pair,
            Err(err) => {
                warn!(error = %err, "TCP accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let slot = match limit.admit(remote.ip()) {
            Ok(slot) => slot,
            Err(full) => {
                // Dropping the stream closes it before anything is read.
                if let Some(held_back) = refusals.admit(Instant::now()) {
                    let which = match full {
                        Full::Total => "all sources",
                        Full::Source => "this source",
                    };
                    info!(%remote, limit = which, held_back, "refused a TCP connection: too many open");
                }
                continue;
            }
        };
        // rsipstack cancels a connection's token when its serve loop ends (closed by
        // the peer, idle, or broken): the slot lives until then.
        let token = cancel.child_token();
        match TcpConnection::from_stream(stream, local_sip.clone(), Some(token.clone())) {
            Ok(conn) => {
                debug!(%remote, "SIP over TCP connection");
                endpoint
                    .transport_layer
                    .add_connection(SipConnection::Tcp(conn));
                tokio::spawn(async move {
                    token.cancelled().await;
                    drop(slot);
                });
            }
            Err(err) => warn!(%remote, error = %err, "cannot set up a TCP connection"),
        }
    }
}
