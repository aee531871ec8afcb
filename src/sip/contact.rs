//! Our Contact names the transport the message travels on. The call shell has one
//! Contact URI for every dialog; a peer that reaches us over TCP and reads a Contact
//! without `;transport=tcp` sends its in-dialog requests (ACK, BYE, re-INVITE) over UDP
//! instead (RFC 3261 §18.1.1, §19.1.4), which a phone behind NAT or a TCP-only trunk
//! never receives. This inspector adds the parameter to outgoing messages on a stream
//! transport, so the dialog stays on the transport it started on.

use rsipstack::sip::prelude::HeadersExt;
use rsipstack::sip::transport::Transport;
use rsipstack::sip::{Header, SipMessage};
use rsipstack::transaction::endpoint::MessageInspector;
use rsipstack::transport::SipAddr;

pub struct ContactTransport {
    /// Our Contact URI as the stack writes it, without parameters.
    ours: String,
}

impl ContactTransport {
    pub fn new(ours: &rsipstack::sip::Uri) -> Self {
        Self {
            ours: ours.to_string(),
        }
    }
}

/// The `transport` parameter for a message sent over `transport`; `None` for UDP,
/// which is the default and needs none.
fn parameter(transport: Transport) -> Option<&'static str> {
    match transport {
        Transport::Tcp => Some("tcp"),
        Transport::Tls => Some("tls"),
        _ => None,
    }
}

/// The transport a message is about to travel on: a request's destination, or the top
/// Via of a response (the transport the request came in on).
fn transport_of(msg: &SipMessage, dest: Option<&SipAddr>) -> Option<Transport> {
    match msg {
        SipMessage::Request(_) => dest.and_then(|d| d.r#type),
        SipMessage::Response(response) => {
            let via = response.via_header().ok()?.value().to_owned();
            let sent_by = via.trim().strip_prefix("SIP/2.0/")?;
            let name = sent_by.split_whitespace().next()?;
            Transport::try_from(name).ok()
        }
    }
}

/// `value` with `;transport=NAME` added to our URI, or `None` when it is not our Contact
/// or already names a transport.
pub fn with_transport(value: &str, ours: &str, name: &str) -> Option<String> {
    let at = value.find(ours)?;
    let end = at + ours.len();
    let next = value[end..].chars().next();
    // Our URI ends there (not a longer port or host), and has no parameters yet.
    if !matches!(next, None | Some('>') | Some(',') | Some(' ')) || value.contains("transport=") {
        return None;
    }
    if value[..at].contains('<') {
        Some(format!(
            "{};transport={name}{}",
            &value[..end],
            &value[end..]
        ))
    } else {
        // Without angle brackets a parameter would belong to the header, not the URI.
        Some(format!("<{ours};transport={name}>{}", &value[end..]))
    }
}

impl MessageInspector for ContactTransport {
    fn before_send(&self, mut msg: SipMessage, dest: Option<&SipAddr>) -> SipMessage {
        let Some(name) = transport_of(&msg, dest).and_then(parameter) else {
            return msg;
        };
        let headers = match &mut msg {
            SipMessage::Request(request) => &mut request.headers,
            SipMessage::Response(response) => &mut response.headers,
        };
        for header in headers.iter_mut() {
            if let Header::Contact(contact) = header
                && let Some(value) = with_transport(&contact.0, &self.ours, name)
            {
                contact.0 = value;
            }
        }
        msg
    }

    fn after_received(&self, msg: SipMessage, _from: Option<&SipAddr>) -> SipMessage {
        msg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OURS: &str = "sip:hotline@127.0.0.1:5060";

    #[test]
    fn our_contact_gets_the_transport() {
        assert_eq!(
            with_transport("<sip:hotline@127.0.0.1:5060>", OURS, "tcp").as_deref(),
            Some("<sip:hotline@127.0.0.1:5060;transport=tcp>")
        );
        assert_eq!(
            with_transport("sip:hotline@127.0.0.1:5060", OURS, "tls").as_deref(),
            Some("<sip:hotline@127.0.0.1:5060;transport=tls>")
        );
        assert_eq!(
            with_transport(
                "\"IVR\" <sip:hotline@127.0.0.1:5060>;expires=60",
                OURS,
                "tcp"
            )
            .as_deref(),
            Some("\"IVR\" <sip:hotline@127.0.0.1:5060;transport=tcp>;expires=60")
        );
    }

    #[test]
    fn other_contacts_and_named_transports_are_left_alone() {
        assert_eq!(with_transport("<sip:agent@10.0.0.1>", OURS, "tcp"), None);
        assert_eq!(
            with_transport("<sip:hotline@127.0.0.1:5060;transport=udp>", OURS, "tcp"),
            None
        );
        assert_eq!(
            with_transport("<sip:hotline@127.0.0.1:50601>", OURS, "tcp"),
            None,
            "another port that starts with ours"
        );
    }
}
