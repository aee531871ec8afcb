//! The shell's leg towards an agent's phone: the outbound INVITE (with the call's context
//! in its headers), the SDP offer and answer, the media session once answered, and the
//! end of the leg. It runs as its own task and reports what happens on a channel the call
//! shell reads; the call machine decides when to place, bridge and end it.

use super::event::AgentLegEvent;
use super::media_leg::MediaLeg;
use crate::acd::{AgentContact, LegFailure};
use crate::media::engine::MediaEngine;
use crate::media::port_allocator::PortAllocator;
use crate::media::sdp::{MediaCapabilities, SdpSession};
use crate::media::session::SessionConfig;
use crate::sip::message::{Header, StatusCodeKind, Uri};
use crate::sip::{DialogLayer, DialogState, InviteDialog};
use rsipstack::dialog::invitation::InviteOption;
use rsipstack::transport::SipAddr;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

/// What a leg task tells the call shell.
pub(super) enum LegReport {
    /// The agent answered: the leg's running media and its dialog.
    Answered {
        leg: u64,
        media: Box<MediaLeg>,
        dialog: InviteDialog,
    },
    Event {
        leg: u64,
        event: AgentLegEvent,
    },
}

/// Everything one agent leg needs to be placed.
pub(super) struct Dial {
    pub leg: u64,
    pub agent: String,
    pub contact: AgentContact,
    /// The caller's number, shown to the agent's phone in From.
    pub caller: String,
    /// Our own Contact URI (its host and port are where the agent's phone answers to).
    pub our_contact: Uri,
    pub rtp_public_address: Option<IpAddr>,
    pub headers: Vec<(String, String)>,
}

/// The running leg as the shell holds it: cancelling the token withdraws the INVITE
/// (CANCEL while it rings, BYE if the answer crosses it).
pub(super) struct Placed {
    pub leg: u64,
    pub cancel: CancellationToken,
}

/// Starts placing `dial`; reports arrive on `reports`.
pub(super) fn place(
    dial: Dial,
    dialogs: Arc<DialogLayer>,
    ports: &PortAllocator,
    engine: &Arc<MediaEngine>,
    session: SessionConfig,
    reports: mpsc::UnboundedSender<LegReport>,
) -> Placed {
    let cancel = CancellationToken::new();
    let placed = Placed {
        leg: dial.leg,
        cancel: cancel.clone(),
    };
    let leg = dial.leg;
    let media = match MediaLeg::bind(ports, engine, session) {
        Ok(media) => media,
        Err(err) => {
            warn!(error = %err, "no RTP port for the agent's leg");
            let _ = reports.send(LegReport::Event {
                leg,
                event: AgentLegEvent::Failed(LegFailure::Error),
            });
            return placed;
        }
    };
    tokio::spawn(async move {
        let event = match run(dial, dialogs, media, &reports, cancel).await {
            Ok(event) => event,
            Err(why) => {
                info!(why = %why, "the agent's leg failed");
                Some(AgentLegEvent::Failed(LegFailure::Error))
            }
        };
        if let Some(event) = event {
            let _ = reports.send(LegReport::Event { leg, event });
        }
    });
    placed
}

/// Places the leg and follows it to its end; the event it returns is the last report.
async fn run(
    dial: Dial,
    dialogs: Arc<DialogLayer>,
    mut media: MediaLeg,
    reports: &mpsc::UnboundedSender<LegReport>,
    cancel: CancellationToken,
) -> Result<Option<AgentLegEvent>, String> {
    let bound = media.local_addr().ok_or("the media socket closed")?;
    let written = SocketAddr::new(dial.rtp_public_address.unwrap_or(bound.ip()), bound.port());
    let mut sdp = SdpSession::new(
        written,
        MediaCapabilities::default(),
        rand::random::<u32>().into(),
    );
    let offer = sdp.offer();
    let caller = from_uri(&dial.our_contact, &dial.caller)?;
    let callee = Uri::try_from(dial.contact.uri.as_str())
        .map_err(|e| format!("the agent's contact {:?}: {e}", dial.contact.uri))?;
    let transport = if dial.contact.tcp {
        rsipstack::sip::transport::Transport::Tcp
    } else {
        rsipstack::sip::transport::Transport::Udp
    };
    let headers = dial
        .headers
        .iter()
        .map(|(name, value)| Header::Other(name.clone(), value.clone()))
        .collect();
    let option = InviteOption {
        caller,
        callee,
        contact: dial.our_contact.clone(),
        destination: Some(SipAddr {
            r#type: Some(transport),
            addr: dial.contact.source.into(),
        }),
        content_type: Some("application/sdp".into()),
        offer: Some(offer.into_bytes()),
        headers: Some(headers),
        ..Default::default()
    };
    let (state_tx, mut states) = dialogs.new_dialog_state_channel();
    let (dialog, outcome) = dialogs
        .do_invite_async(option, state_tx)
        .map_err(|e| format!("INVITE: {e}"))?;
    info!(agent = %dial.agent, contact = %dial.contact.uri, "INVITE to the agent");
    let outcome = tokio::select! {
        outcome = outcome => outcome,
        _ = cancel.cancelled() => {
            // Withdrawn: CANCEL (or BYE for an answer that crossed it).
            if let Err(err) = dialog.hangup().await {
                debug!(error = %err, "could not withdraw the agent's INVITE");
            }
            dialogs.remove_dialog(&dialog.id());
            media.close().await;
            return Ok(None);
        }
    };
    let response = match outcome {
        Ok(Ok((_, Some(response)))) => response,
        Ok(Ok((_, None))) => return Err("no final response".into()),
        Ok(Err(err)) => return Err(format!("INVITE: {err}")),
        Err(err) => return Err(format!("INVITE task: {err}")),
    };
    if response.status_code.kind() != StatusCodeKind::Successful {
        let status = u16::from(response.status_code.clone());
        media.close().await;
        return Ok(Some(AgentLegEvent::Failed(failure(status))));
    }
    let negotiated = std::str::from_utf8(&response.body)
        .map_err(|_| "the answer is not UTF-8".to_string())
        .and_then(|answer| sdp.accept_answer(answer).map_err(|e| e.to_string()));
    let negotiated = match negotiated {
        Ok(negotiated) => negotiated,
        Err(err) => {
            warn!(error = %err, agent = %dial.agent, "unusable SDP from the agent's phone");
            let _ = dialog.bye().await;
            dialogs.remove_dialog(&dialog.id());
            media.close().await;
            return Ok(Some(AgentLegEvent::Failed(LegFailure::Error)));
        }
    };
    media
        .apply(&negotiated)
        .map_err(|e| format!("agent media: {e}"))?;
    media.set_audio(false);
    let _ = reports.send(LegReport::Answered {
        leg: dial.leg,
        media: Box::new(media),
        dialog: dialog.clone(),
    });
    // Follow the dialog to its end: the agent's BYE, or ours.
    loop {
        tokio::select! {
            state = states.recv() => match state {
                Some(DialogState::Terminated(_, reason)) => {
                    debug!(?reason, "the agent's dialog ended");
                    break;
                }
                Some(_) => {}
                None => break,
            },
            _ = cancel.cancelled() => {
                if let Err(err) = dialog.bye().await {
                    debug!(error = %err, "BYE to the agent failed");
                }
                break;
            }
        }
    }
    dialogs.remove_dialog(&dialog.id());
    Ok(Some(AgentLegEvent::Ended))
}

/// How a final non-2xx answer counts for the ACD.
fn failure(status: u16) -> LegFailure {
    match status {
        486 | 600 => LegFailure::Busy,
        603 => LegFailure::Declined,
        408 | 480 => LegFailure::NoAnswer,
        487 => LegFailure::HungUp,
        _ => LegFailure::Error,
    }
}

/// The From URI of an INVITE we send: `user` (a caller number; anything odd becomes
/// `anonymous`) at the host and port of our own Contact.
pub(super) fn from_uri(our_contact: &Uri, user: &str) -> Result<Uri, String> {
    let host = our_contact.host_with_port.to_string();
    Uri::try_from(format!("sip:{}@{host}", sip_user(user)).as_str())
        .map_err(|e| format!("our From URI: {e}"))
}

/// A caller number as a SIP user part (anything odd becomes `anonymous`).
fn sip_user(number: &str) -> &str {
    let ok = !number.is_empty()
        && number
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.' | '_'));
    if ok { number } else { "anonymous" }
}
