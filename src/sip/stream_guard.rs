//! The guard for stream transports (TCP): the same judgement as `guard.rs` gives UDP
//! datagrams (including the requests rsipstack could not key to a transaction), applied
//! to parsed requests before the transaction layer sees them.
//! (A TCP message that does not parse at all is rsipstack's stream codec's business.)

use super::guard::{GuardStats, unkeyable};
use super::log_limit::LogLimit;
use super::reject;
use rsipstack::sip::SipMessage;
use rsipstack::sip::transport::Transport;
use rsipstack::transaction::endpoint::TransportEventInspector;
use rsipstack::transport::TransportEvent;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;
use tracing::{debug, info};

pub struct StreamGuard {
    pub user_agent: String,
    pub stats: Arc<GuardStats>,
    pub log_limit: LogLimit,
}

#[async_trait::async_trait]
impl TransportEventInspector for StreamGuard {
    async fn handle(&self, event: TransportEvent) -> Option<TransportEvent> {
        let TransportEvent::Incoming(SipMessage::Request(request), connection, from) = &event
        else {
            return Some(event);
        };
        if !connection.is_reliable() {
            return Some(event); // datagrams were judged by the UDP guard already
        }
        let raw = request.to_string();
        let Some(head) = reject::read_request(raw.as_bytes()) else {
            return Some(event);
        };
        let transport = connection.get_addr().r#type.unwrap_or(Transport::Tcp);
        let verdict = head.judge().or_else(|| {
            from.get_socketaddr()
                .ok()
                .and_then(|addr| unkeyable(request.clone(), addr, transport))
        });
        let Some(rejection) = verdict else {
            return Some(event);
        };
        self.stats.rejected.fetch_add(1, Ordering::Relaxed);
        if let Some(held_back) = self.log_limit.admit(Instant::now()) {
            info!(%from, status = rejection.status, detail = %rejection.detail, held_back, "refused a SIP request");
        } else {
            debug!(%from, status = rejection.status, detail = %rejection.detail, "refused a SIP request");
        }
        let response = head
            .response(&rejection, &self.user_agent)
            .and_then(|bytes| SipMessage::try_from(bytes.as_slice()).ok());
        if let Some(response) = response
            && let Err(err) = connection.send(response, None).await
        {
            debug!(error = %err, "could not send a stateless response");
        }
        None
    }
}
