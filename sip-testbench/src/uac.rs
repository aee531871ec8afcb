//! The SIP side of the caller bot: an rsipstack endpoint on loopback that places INVITEs
//! and answers whatever in-dialog requests the server sends (BYE above all).

use rsipstack::EndpointBuilder;
use rsipstack::dialog::dialog::{DialogState, DialogStateReceiver};
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::dialog::invitation::{InviteAsyncResult, InviteOption};
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::{Header, Response, StatusCode, Uri};
use rsipstack::transport::udp::UdpConnection;
use rsipstack::transport::{SipAddr, TransportLayer};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Which transport the bot dials over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SipTransport {
    Udp,
    Tcp,
}

/// A running user agent client.
pub struct Uac {
    dialogs: Arc<DialogLayer>,
    local: SocketAddr,
    cancel: CancellationToken,
    /// The Contact its INVITEs carry instead of its own address (a phone elsewhere that
    /// takes calls back: tests of callbacks).
    contact: std::sync::Mutex<Option<String>>,
}

/// An answered (or refused) INVITE.
pub struct Dialled {
    pub dialog: InviteDialog,
    pub response: Option<Response>,
    pub states: DialogStateReceiver,
}

impl Uac {
    /// From now on INVITEs name `uri` as their Contact (where the far end calls back).
    pub fn use_contact(&self, uri: &str) {
        if let Ok(mut contact) = self.contact.lock() {
            *contact = Some(uri.to_string());
        }
    }

    /// Starts an endpoint bound to a free port on `ip`.
    pub async fn start(ip: std::net::IpAddr) -> anyhow::Result<Self> {
        let cancel = CancellationToken::new();
        let (transport, local) = udp_transport(ip, &cancel).await?;
        let endpoint = EndpointBuilder::new()
            .with_user_agent("hotline-sip-testbench")
            .with_transport_layer(transport)
            .with_cancel_token(cancel.child_token())
            .build();
        let inner = endpoint.inner.clone();
        let mut incoming = endpoint.incoming_transactions()?;
        let dialogs = Arc::new(DialogLayer::new(inner.clone()));
        tokio::spawn(async move {
            let _keep = endpoint;
            inner.serve().await.ok();
        });
        let answering = dialogs.clone();
        tokio::spawn(async move {
            while let Some(mut tx) = incoming.recv().await {
                match answering.match_dialog(&tx) {
                    Some(rsipstack::dialog::dialog::Dialog::Invite(mut dialog)) => {
                        tokio::spawn(async move { dialog.handle(&mut tx).await.ok() });
                    }
                    _ => {
                        tx.reply(StatusCode::CallTransactionDoesNotExist).await.ok();
                    }
                }
            }
        });
        Ok(Self {
            dialogs,
            local,
            cancel,
            contact: std::sync::Mutex::new(None),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Sends an INVITE with `offer` to `server` and waits for the final response.
    pub async fn invite(
        &self,
        server: SocketAddr,
        transport: SipTransport,
        offer: Option<Vec<u8>>,
    ) -> anyhow::Result<Dialled> {
        self.invite_to("hotline", server, transport, offer).await
    }

    /// [`Uac::invite`] dialling `user` (the dialplan sees it as `called`).
    pub async fn invite_to(
        &self,
        user: &str,
        server: SocketAddr,
        transport: SipTransport,
        offer: Option<Vec<u8>>,
    ) -> anyhow::Result<Dialled> {
        self.invite_with_headers(user, server, transport, offer, &[])
            .await
    }

    /// [`Uac::invite_to`] with extra request headers, as (name, value).
    pub async fn invite_with_headers(
        &self,
        user: &str,
        server: SocketAddr,
        transport: SipTransport,
        offer: Option<Vec<u8>>,
        headers: &[(String, String)],
    ) -> anyhow::Result<Dialled> {
        let (state_tx, states) = self.dialogs.new_dialog_state_channel();
        let option = self.invite_option(user, server, transport, offer, headers)?;
        let (dialog, response) = self.dialogs.do_invite(option, state_tx).await?;
        Ok(Dialled {
            dialog,
            response,
            states,
        })
    }

    /// Sends an INVITE like [`Uac::invite_with_headers`] and returns at once, so that the
    /// caller can CANCEL it while it rings.
    pub fn invite_pending(
        &self,
        user: &str,
        server: SocketAddr,
        transport: SipTransport,
        offer: Option<Vec<u8>>,
        headers: &[(String, String)],
    ) -> anyhow::Result<Pending> {
        let (state_tx, states) = self.dialogs.new_dialog_state_channel();
        let option = self.invite_option(user, server, transport, offer, headers)?;
        let (dialog, outcome) = self.dialogs.do_invite_async(option, state_tx)?;
        Ok(Pending {
            dialog,
            outcome,
            states,
        })
    }

    fn invite_option(
        &self,
        user: &str,
        server: SocketAddr,
        transport: SipTransport,
        offer: Option<Vec<u8>>,
        headers: &[(String, String)],
    ) -> anyhow::Result<InviteOption> {
        let kind = match transport {
            SipTransport::Udp => rsipstack::sip::transport::Transport::Udp,
            SipTransport::Tcp => rsipstack::sip::transport::Transport::Tcp,
        };
        let suffix = match transport {
            SipTransport::Udp => "",
            SipTransport::Tcp => ";transport=tcp",
        };
        let caller = Uri::try_from(format!("sip:bot@{}", self.local).as_str())?;
        let contact = match self.contact.lock().map(|c| c.clone()) {
            Ok(Some(uri)) => Uri::try_from(uri.as_str())?,
            _ => caller.clone(),
        };
        let callee = Uri::try_from(format!("sip:{user}@{server}{suffix}").as_str())?;
        let extra: Vec<Header> = headers
            .iter()
            .map(|(name, value)| Header::Other(name.clone(), value.clone()))
            .collect();
        Ok(InviteOption {
            caller: caller.clone(),
            callee,
            contact,
            destination: Some(SipAddr {
                r#type: Some(kind),
                addr: server.into(),
            }),
            content_type: offer.as_ref().map(|_| "application/sdp".to_string()),
            offer,
            headers: (!extra.is_empty()).then_some(extra),
            ..Default::default()
        })
    }
}

/// An INVITE under way (see [`Uac::invite_pending`]).
pub struct Pending {
    /// The early dialog: `dialog.cancel()` sends a CANCEL.
    pub dialog: InviteDialog,
    /// Ends with the final response (or the transaction's error).
    pub outcome: JoinHandle<InviteAsyncResult>,
    pub states: DialogStateReceiver,
}

impl Drop for Uac {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// True once the dialog reports it ended (the server hung up, or it failed).
pub fn is_terminated(state: &DialogState) -> bool {
    matches!(state, DialogState::Terminated(_, _))
}

/// A transport layer with one UDP socket on a free port of `ip` (the bots' endpoints),
/// and that socket's address.
pub async fn udp_transport(
    ip: std::net::IpAddr,
    cancel: &CancellationToken,
) -> anyhow::Result<(TransportLayer, SocketAddr)> {
    let transport = TransportLayer::new(cancel.child_token());
    let udp =
        UdpConnection::create_connection(SocketAddr::new(ip, 0), None, Some(cancel.child_token()))
            .await?;
    let local = udp.get_addr().get_socketaddr()?;
    transport.add_transport(udp.into());
    Ok((transport, local))
}
