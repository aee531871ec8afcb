//! The agent bot's phone: an rsipstack endpoint on loopback that REGISTERs with the
//! server as an agent, answering its digest challenge (MD5 or SHA-256, qop=auth) with
//! rsipstack's own digest helper, an implementation independent of the server's. Every
//! request can be bent (wrong password, replayed nonce count, `Contact: *`, odd expiry)
//! so tests can check the registrar's refusals. The phone answers OPTIONS and in-dialog
//! requests; INVITEs get 480 until a test takes calls ([`AgentPhone::take_calls`], the
//! answering side lives in [`crate::agent_call`]).

use crate::agent_call::{AgentBehaviour, AgentCall, CallDesk, Vanished};
use hotline::media::port_allocator::PortAllocator;
use rsipstack::EndpointBuilder;
use rsipstack::dialog::authenticate::compute_digest;
use rsipstack::dialog::dialog_layer::DialogLayer;
pub use rsipstack::sip::headers::auth::Algorithm;
use rsipstack::sip::headers::auth::AuthQop;
use rsipstack::sip::{Method, Request, Response, SipMessage};
use rsipstack::transaction::endpoint::EndpointInnerRef;
use rsipstack::transaction::key::{TransactionKey, TransactionRole};
use rsipstack::transaction::transaction::Transaction;
use rsipstack::transport::SipAddr;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio_util::sync::CancellationToken;

/// The RTP ports the phones' calls use (each call binds the next free pair).
pub const AGENT_RTP_PORTS: (u16, u16) = (40000, 49999);

/// How the Contact header of one REGISTER reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContactChoice {
    /// The bot's own address (`sip:LOGIN@IP:PORT`).
    Own,
    /// `sip:LOGIN@IP:PORT;line=N`: a second phone of the same agent, on the same socket.
    Line(u32),
    /// `Contact: *` (with `Expires: 0`, to unregister everything).
    Wildcard,
    /// No Contact: a query for the bindings.
    Query,
}

/// One REGISTER to send.
#[derive(Debug, Clone)]
pub struct RegisterAttempt {
    pub contact: ContactChoice,
    /// The Expires header.
    pub expires: Option<u32>,
    /// A ready `Authorization` value (see [`AgentPhone::authorization`]).
    pub authorization: Option<String>,
}

/// A digest challenge from a `WWW-Authenticate` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub realm: String,
    pub nonce: String,
    pub opaque: Option<String>,
    pub algorithm: String,
    pub qop: Option<String>,
    pub stale: bool,
}

impl Challenge {
    /// Reads one `WWW-Authenticate: Digest ...` value (enough for tests: quoted or token
    /// values, no escapes).
    pub fn parse(value: &str) -> Option<Challenge> {
        let rest = value.trim().strip_prefix("Digest")?;
        let mut found = std::collections::HashMap::new();
        for part in rest.split(',') {
            let (name, value) = part.split_once('=')?;
            found.insert(
                name.trim().to_ascii_lowercase(),
                value.trim().trim_matches('"').to_string(),
            );
        }
        Some(Challenge {
            realm: found.get("realm")?.clone(),
            nonce: found.get("nonce")?.clone(),
            opaque: found.get("opaque").cloned(),
            algorithm: found
                .get("algorithm")
                .cloned()
                .unwrap_or_else(|| "MD5".into()),
            qop: found.get("qop").cloned(),
            stale: found
                .get("stale")
                .is_some_and(|s| s.eq_ignore_ascii_case("true")),
        })
    }

    /// Every challenge in a 401.
    pub fn all_in(response: &Response) -> Vec<Challenge> {
        response
            .headers
            .iter()
            .filter(|h| h.name().eq_ignore_ascii_case("WWW-Authenticate"))
            .filter_map(|h| Challenge::parse(h.value()))
            .collect()
    }
}

/// A registered phone of one agent.
pub struct AgentPhone {
    endpoint: EndpointInnerRef,
    local: SocketAddr,
    login: String,
    call_id: String,
    cseq: Mutex<u32>,
    desk: Arc<CallDesk>,
    cancel: CancellationToken,
}

impl AgentPhone {
    /// Starts an endpoint on a free UDP port of `ip` for agent `login`.
    pub async fn start(ip: std::net::IpAddr, login: &str) -> anyhow::Result<Self> {
        let cancel = CancellationToken::new();
        let (transport, local) = crate::uac::udp_transport(ip, &cancel).await?;
        let vanished = Vanished::default();
        let endpoint = EndpointBuilder::new()
            .with_user_agent("hotline-agent-bot")
            .with_transport_layer(transport)
            .with_transport_inspector(vanished.filter())
            .with_cancel_token(cancel.child_token())
            .build();
        let inner = endpoint.inner.clone();
        let incoming = endpoint.incoming_transactions()?;
        let dialogs = Arc::new(DialogLayer::new(inner.clone()));
        let contact = format!("sip:{login}@{local}");
        let ports = PortAllocator::new(ip, AGENT_RTP_PORTS.0, AGENT_RTP_PORTS.1)?;
        let desk = Arc::new(CallDesk::new(
            dialogs,
            &contact,
            ports,
            vanished,
            cancel.child_token(),
        ));
        let serving = inner.clone();
        tokio::spawn(async move {
            let _keep = endpoint;
            serving.serve().await.ok();
        });
        tokio::spawn(crate::agent_call::serve(desk.clone(), incoming));
        Ok(Self {
            endpoint: inner,
            local,
            login: login.to_string(),
            call_id: format!("agent-{}-{}", login, rand::random::<u64>()),
            cseq: Mutex::new(0),
            desk,
            cancel,
        })
    }

    /// From now on incoming INVITEs are handled with `behaviour` (see
    /// [`AgentPhone::set_behaviour`]); each finished call is sent on the returned channel.
    /// Calling it again starts a new channel (the old one gets nothing more).
    pub fn take_calls(&self, behaviour: AgentBehaviour) -> UnboundedReceiver<AgentCall> {
        self.desk.take_calls(behaviour)
    }

    /// Handles INVITEs still to come with `behaviour` (calls under way keep theirs).
    /// Before [`AgentPhone::take_calls`] it does nothing: INVITEs get 480.
    pub fn set_behaviour(&self, behaviour: AgentBehaviour) {
        self.desk.set_behaviour(behaviour);
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The Contact URI this phone registers by default.
    pub fn contact_uri(&self) -> String {
        format!("sip:{}@{}", self.login, self.local)
    }

    /// The `uri=` of the digest: the REGISTER's Request-URI.
    fn request_uri(server: SocketAddr) -> String {
        format!("sip:{server}")
    }

    /// An `Authorization` value answering `challenge` with `password`, nonce count `nc`.
    pub fn authorization(
        &self,
        server: SocketAddr,
        challenge: &Challenge,
        password: &str,
        nc: u8,
    ) -> String {
        let algorithm = if challenge.algorithm.eq_ignore_ascii_case("SHA-256") {
            Algorithm::Sha256
        } else {
            Algorithm::Md5
        };
        let cnonce = format!("{:016x}", rand::random::<u64>());
        let uri = Self::request_uri(server);
        let response = compute_digest(
            &self.login,
            password,
            &challenge.realm,
            &challenge.nonce,
            &Method::Register,
            &uri,
            algorithm,
            Some(&AuthQop::Auth {
                cnonce: cnonce.clone(),
                nc,
            }),
        );
        let mut value = format!(
            "Digest username=\"{}\", realm=\"{}\", nonce=\"{}\", uri=\"{uri}\", response=\"{response}\", \
             algorithm={}, cnonce=\"{cnonce}\", nc={nc:08x}, qop=auth",
            self.login, challenge.realm, challenge.nonce, challenge.algorithm
        );
        if let Some(opaque) = &challenge.opaque {
            value.push_str(&format!(", opaque=\"{opaque}\""));
        }
        value
    }

    /// Sends one REGISTER and returns the final response (bounded wait).
    pub async fn send(
        &self,
        server: SocketAddr,
        attempt: &RegisterAttempt,
    ) -> anyhow::Result<Response> {
        let cseq = {
            let mut cseq = self.cseq.lock().unwrap_or_else(|p| p.into_inner());
            *cseq += 1;
            *cseq
        };
        let aor = format!("sip:{}@{}", self.login, server);
        let mut text = format!(
            "REGISTER {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK{branch:016x};rport\r\n\
             Max-Forwards: 70\r\nFrom: <{aor}>;tag={tag:08x}\r\nTo: <{aor}>\r\nCall-ID: {call_id}\r\n\
             CSeq: {cseq} REGISTER\r\n",
            uri = Self::request_uri(server),
            local = self.local,
            branch = rand::random::<u64>(),
            tag = rand::random::<u32>(),
            call_id = self.call_id,
        );
        match &attempt.contact {
            ContactChoice::Own => text.push_str(&format!("Contact: <{}>\r\n", self.contact_uri())),
            ContactChoice::Line(n) => {
                text.push_str(&format!("Contact: <{};line={n}>\r\n", self.contact_uri()))
            }
            ContactChoice::Wildcard => text.push_str("Contact: *\r\n"),
            ContactChoice::Query => {}
        }
        if let Some(expires) = attempt.expires {
            text.push_str(&format!("Expires: {expires}\r\n"));
        }
        if let Some(auth) = &attempt.authorization {
            text.push_str(&format!("Authorization: {auth}\r\n"));
        }
        text.push_str("Content-Length: 0\r\n\r\n");
        let request = Request::try_from(text.as_str())?;
        let key = TransactionKey::from_request(&request, TransactionRole::Client)?;
        let mut tx = Transaction::new_client(key, request, self.endpoint.clone(), None);
        tx.destination = Some(SipAddr {
            r#type: Some(rsipstack::sip::transport::Transport::Udp),
            addr: server.into(),
        });
        tx.send().await?;
        let wait = async {
            while let Some(message) = tx.receive().await {
                if let SipMessage::Response(response) = message
                    && response.status_code.kind() != rsipstack::sip::StatusCodeKind::Provisional
                {
                    return Some(response);
                }
            }
            None
        };
        match tokio::time::timeout(Duration::from_secs(10), wait).await {
            Ok(Some(response)) => Ok(response),
            Ok(None) => anyhow::bail!("the REGISTER transaction ended without a final response"),
            Err(_) => anyhow::bail!("no final response to REGISTER within 10 s"),
        }
    }

    /// The full exchange: REGISTER, read the challenge for `algorithm` ("MD5" or
    /// "SHA-256"), answer it with `password`. Returns (the 401, the final response).
    pub async fn register(
        &self,
        server: SocketAddr,
        password: &str,
        algorithm: &str,
        contact: ContactChoice,
        expires: Option<u32>,
    ) -> anyhow::Result<(Response, Response)> {
        let mut attempt = RegisterAttempt {
            contact,
            expires,
            authorization: None,
        };
        let first = self.send(server, &attempt).await?;
        let challenge = Challenge::all_in(&first)
            .into_iter()
            .find(|c| c.algorithm.eq_ignore_ascii_case(algorithm))
            .ok_or_else(|| anyhow::anyhow!("no {algorithm} challenge in {}", first.status_code))?;
        attempt.authorization = Some(self.authorization(server, &challenge, password, 1));
        let second = self.send(server, &attempt).await?;
        Ok((first, second))
    }
}

/// The `expires` of each Contact a 200 OK lists, as (URI, seconds).
pub fn bindings(response: &Response) -> Vec<(String, u32)> {
    response
        .headers
        .iter()
        .filter(|h| h.name().eq_ignore_ascii_case("Contact") || h.name() == "m")
        .flat_map(|h| h.value().split(',').map(str::to_string).collect::<Vec<_>>())
        .filter_map(|value| {
            let value = value.trim();
            let uri = value.strip_prefix('<')?.split('>').next()?.to_string();
            let expires = value
                .split(';')
                .find_map(|p| p.trim().strip_prefix("expires="))
                .and_then(|e| e.parse().ok())?;
            Some((uri, expires))
        })
        .collect()
}

impl Drop for AgentPhone {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}
