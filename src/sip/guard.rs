//! The UDP socket under the SIP stack, guarded: datagrams the stack would silently drop
//! (unparseable, unknown method, no From tag it can read) or must not process (malformed,
//! missing mandatory headers, `Max-Forwards: 0`) are answered statelessly here and never
//! reach the transactions; From/To parameters the stack would misread are tidied first.

use super::log_limit::LogLimit;
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
use std::time::Instant;
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
    log_limit: LogLimit,
}

impl GuardedUdpSocket {
    pub fn new(socket: UdpSocket, user_agent: String, stats: Arc<GuardStats>) -> Self {
        Self {
            socket,
            user_agent,
            stats,
            log_limit: LogLimit::default(),
        }
    }
}

/// What the guard does with one datagram.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    Pass,
    Drop,
    /// Refused; `response` is `None` when it cannot be answered (no Via, or an ACK).
    Refuse {
        rejection: Rejection,
        response: Option<Vec<u8>>,
    },
}

impl Verdict {
    fn refuse(head: &reject::RawRequest, rejection: Rejection, user_agent: &str) -> Self {
        let response = head.response(&rejection, user_agent);
        Verdict::Refuse {
            rejection,
            response,
        }
    }
}

/// Judges one datagram. Its head is read once and the SIP parser runs at most once, and
/// only on what the cheap raw rules let through.
pub(super) fn judge(packet: &[u8], from: SocketAddr, user_agent: &str) -> Verdict {
    if packet.iter().all(|b| b.is_ascii_whitespace()) {
        return Verdict::Pass; // keep-alives are the stack's business
    }
    let Some(head) = reject::read_request(packet) else {
        // Not a request: a response the parser reads goes on, anything else is junk.
        return match SipMessage::try_from(packet) {
            Ok(SipMessage::Response(_)) => Verdict::Pass,
            _ => Verdict::Drop,
        };
    };
    if let Some(rejection) = head.judge() {
        return Verdict::refuse(&head, rejection, user_agent);
    }
    match SipMessage::try_from(packet) {
        Ok(SipMessage::Request(request)) => match unkeyable(request, from, Transport::Udp) {
            Some(rejection) => Verdict::refuse(&head, rejection, user_agent),
            None => Verdict::Pass,
        },
        Ok(SipMessage::Response(_)) => Verdict::Drop,
        Err(_) => Verdict::refuse(&head, reject::malformed(), user_agent),
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
            match judge(packet, from, &self.user_agent) {
                Verdict::Pass => return Ok((len, from)),
                Verdict::Drop => {
                    self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                    debug!(%from, len, "dropped a datagram that is not a SIP request");
                }
                Verdict::Refuse {
                    rejection,
                    response: None,
                } => {
                    // No Via to answer by: as good as junk, and a flood of it must not
                    // flood the log either.
                    self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                    debug!(%from, len, detail = %rejection.detail, "dropped an unanswerable request");
                }
                Verdict::Refuse {
                    rejection,
                    response: Some(response),
                } => {
                    self.stats.rejected.fetch_add(1, Ordering::Relaxed);
                    if let Some(held_back) = self.log_limit.admit(Instant::now()) {
                        info!(%from, status = rejection.status, detail = %rejection.detail, held_back, "refused a SIP request");
                    } else {
                        debug!(%from, status = rejection.status, detail = %rejection.detail, "refused a SIP request");
                    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn torture(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/sip-testbench/rfc4475/{name}.dat",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn from() -> SocketAddr {
        "127.0.0.1:5070".parse().expect("address")
    }

    fn verdict(packet: &[u8]) -> Verdict {
        judge(packet, from(), "test")
    }

    fn status(packet: &[u8]) -> Option<u16> {
        match verdict(packet) {
            Verdict::Refuse { rejection, .. } => Some(rejection.status),
            _ => None,
        }
    }

    #[test]
    fn a_request_rsipstack_cannot_key_is_refused_rather_than_dropped() {
        assert_eq!(
            status(&torture("inv2543")),
            Some(400),
            "RFC 2543 INVITE without a From tag"
        );
    }

    #[test]
    fn well_formed_requests_and_responses_go_through() {
        for name in [
            "esc01",
            "lwsdisp",
            "semiuri",
            "transports",
            "badbranch",
            "unksm2",
        ] {
            assert_eq!(verdict(&torture(name)), Verdict::Pass, "{name}");
        }
        assert_eq!(verdict(&torture("unreason")), Verdict::Pass);
        assert_eq!(verdict(b"\r\n\r\n"), Verdict::Pass, "keep-alive");
    }

    #[test]
    fn junk_is_dropped_and_bad_requests_are_refused() {
        assert_eq!(verdict(b"\x16\x03\x01junk"), Verdict::Drop);
        assert_eq!(verdict(b"SIP/2.0 200 OK\r\nnot a response"), Verdict::Drop);
        assert_eq!(status(&torture("badinv01")), Some(400));
        match verdict(&torture("badinv01")) {
            Verdict::Refuse {
                response: Some(response),
                ..
            } => assert!(response.starts_with(b"SIP/2.0 400 Bad Request\r\n")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_tidied_wsinv_keeps_its_tags_and_passes() {
        let tidied = tidy::tidy_from_to(&torture("wsinv")).expect("tidied");
        assert_eq!(verdict(&tidied), Verdict::Pass);
        // untidied, rsipstack could not read its From tag: the guard would refuse it
        assert_eq!(status(&torture("wsinv")), Some(400));
    }

    #[test]
    fn an_unknown_method_is_refused_without_the_sip_parser() {
        let raw = b"FOO sip:a@x SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\nFrom: <sip:b@x>;tag=1\r\nTo: <sip:a@x>\r\nCall-ID: c\r\nCSeq: 1 FOO\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(status(raw), Some(501));
    }
}
