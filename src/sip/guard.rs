//! The UDP socket under the SIP stack, guarded: datagrams the stack would silently drop
//! (unparseable, unknown method, no From tag it can read) or must not process (malformed,
//! missing mandatory headers, `Max-Forwards: 0`) are answered statelessly here and never
//! reach the transactions; From/To parameters the stack would misread are tidied first.

use super::reject::{self, Rejection};
use super::tidy;
use rsipstack::platform::net::UdpSocket as PlatformUdpSocket;
use rsipstack::sip::transport::Transport;
use rsipstack::sip::{Method, Request, SipMessage};
use rsipstack::transaction::key::{TransactionKey, TransactionRole};
use rsipstack::transport::SipConnection;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::net::UdpSocket;
use tracing::{debug, info};

/// Counts of what the guard refused, for metrics and tests.
#[derive(Debug, Default)]
pub struct GuardStats {
    pub rejected: AtomicU64,
    pub dropped: AtomicU64,
}

pub struct GuardedUdpSocket {
    socket: UdpSocket,
    user_agent: String,
    stats: Arc<GuardStats>,
}

impl GuardedUdpSocket {
    pub fn new(socket: UdpSocket, user_agent: String, stats: Arc<GuardStats>) -> Self {
        Self {
            socket,
            user_agent,
            stats,
        }
    }

    /// What to do with one datagram: `None` lets it through.
    fn judge(packet: &[u8], from: SocketAddr) -> Option<Option<Rejection>> {
        if packet.iter().all(|b| b.is_ascii_whitespace()) {
            return None; // keep-alives are the stack's business
        }
        match SipMessage::try_from(packet) {
            Ok(SipMessage::Request(request)) => reject::judge_parsed(packet)
                .or_else(|| unkeyable(request, from, Transport::Udp))
                .map(Some),
            Ok(SipMessage::Response(_)) => None,
            Err(_) => Some(reject::judge_unparseable(packet)),
        }
    }
}

/// rsipstack drops, without a word, a request whose top Via it cannot type or whose
/// transaction key it cannot build (no From tag it can read: RFC 2543 requests, or
/// `tag = x` written with spaces). Running the same two steps here lets us answer 400
/// instead (see "Known limits" in docs/architecture.md).
pub(super) fn unkeyable(
    request: Request,
    from: SocketAddr,
    transport: Transport,
) -> Option<Rejection> {
    if request.method == Method::Ack {
        return None; // never answered; the stack drops what it cannot match
    }
    let problem = match SipConnection::update_msg_received(request.into(), from, transport) {
        Ok(SipMessage::Request(request)) => {
            TransactionKey::from_request(&request, TransactionRole::Server).err()
        }
        Ok(SipMessage::Response(_)) => None,
        Err(err) => Some(err),
    }?;
    Some(Rejection {
        status: 400,
        reason: "Bad Request",
        detail: format!("the SIP stack cannot match it to a transaction: {problem}"),
    })
}

#[async_trait::async_trait]
impl PlatformUdpSocket for GuardedUdpSocket {
    async fn recv_from(&self, buf: &mut [u8]) -> rsipstack::Result<(usize, SocketAddr)> {
        loop {
            let (mut len, from) = self.socket.recv_from(buf).await?;
            if let Some(tidied) = tidy::tidy_from_to(&buf[..len])
                && tidied.len() <= buf.len()
            {
                debug!(%from, "tidied white space in From/To parameters");
                buf[..tidied.len()].copy_from_slice(&tidied);
                len = tidied.len();
            }
            let packet = &buf[..len];
            match Self::judge(packet, from) {
                None => return Ok((len, from)),
                Some(None) => {
                    self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                    debug!(%from, len, "dropped a datagram that is not a SIP request");
                }
                Some(Some(rejection)) => {
                    let Some(response) = reject::response_for(packet, &rejection, &self.user_agent)
                    else {
                        // No Via to answer by: as good as junk, and a flood of it must
                        // not flood the log either.
                        self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                        debug!(%from, len, detail = %rejection.detail, "dropped an unanswerable request");
                        continue;
                    };
                    self.stats.rejected.fetch_add(1, Ordering::Relaxed);
                    info!(%from, status = rejection.status, detail = %rejection.detail, "refused a SIP request");
                    // The response goes back to the source address: the Via of a
                    // message we refused is not trustworthy enough to route by.
                    if let Err(err) = self.socket.send_to(&response, from).await {
                        debug!(%from, error = %err, "could not send a stateless response");
                    }
                }
            }
        }
    }

    async fn send_to(&self, buf: &[u8], addr: SocketAddr) -> rsipstack::Result<usize> {
        Ok(self.socket.send_to(buf, addr).await?)
    }

    fn local_addr(&self) -> rsipstack::Result<SocketAddr> {
        Ok(self.socket.local_addr()?)
    }
}
