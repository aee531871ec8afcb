//! One call's lifecycle, the imperative shell: owns the SIP dialog and the media leg,
//! answers, feeds the call's behaviour with events and carries out what it asks, and
//! always ends the call (BYE, or the dialog's own teardown) however it goes.

mod demo;
mod media_leg;

pub use demo::{Demo, DemoAction, digit_prompt, required_prompts};
pub use media_leg::{LegError, MediaLeg, session_config};

use crate::media::events::MediaEvent;
use crate::server::Shared;
use crate::server::registry::CallSummary;
use crate::sip::message::{Header, StatusCode};
use crate::sip::{DialogState, InviteDialog, TerminatedReason, Transaction};
use rsipstack::sip::prelude::HeadersExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::{Instant, sleep_until};
use tracing::{Instrument, debug, info, info_span, warn};

/// Errors that end a call early.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("SIP: {0}")]
    Sip(#[from] rsipstack::Error),
    #[error("media: {0}")]
    Media(#[from] LegError),
}

/// Why a call ended, for the log and (later) the CDR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    CallerHungUp,
    Cancelled,
    MaxDuration,
    DemoFinished,
    MediaTimeout,
    Shutdown,
    NoAck,
    Refused,
}

/// Runs one inbound call to its end.
pub async fn run(shared: Arc<Shared>, tx: Transaction) -> Result<(), CallError> {
    let call_id = tx
        .original
        .call_id_header()
        .map(|h| h.value().to_string())
        .unwrap_or_default();
    let caller = tx
        .original
        .from_header()
        .ok()
        .and_then(|f| f.uri().ok())
        .map(|u| u.user().unwrap_or_default().to_string())
        .unwrap_or_default();
    let span = info_span!("call", call_id = %call_id);
    async move {
        let summary = CallSummary {
            call_id: call_id.clone(),
            caller: caller.clone(),
            started: std::time::SystemTime::now(),
        };
        let Some(_guard) = shared
            .calls
            .admit(summary, shared.config.calls.max_concurrent)
        else {
            warn!("at capacity: refusing the call");
            let mut tx = tx;
            let retry = vec![Header::Other("Retry-After".into(), "30".into())];
            tx.reply_with(StatusCode::ServiceUnavailable, retry, None)
                .await
                .ok();
            return Ok(());
        };
        info!(%caller, "incoming call");
        let reason = answer_and_run(&shared, tx).await?;
        info!(?reason, "call ended");
        Ok(())
    }
    .instrument(span)
    .await
}

async fn answer_and_run(shared: &Arc<Shared>, mut tx: Transaction) -> Result<EndReason, CallError> {
    let (state_tx, mut states) = shared.sip.dialogs.new_dialog_state_channel();
    let contact = shared.sip.contact_uri();
    let mut dialog =
        shared
            .sip
            .dialogs
            .get_or_create_server_invite(&tx, state_tx, None, Some(contact))?;
    let offer = tx.original.body.clone();

    // The INVITE server transaction (100 Trying, retransmissions, ACK, CANCEL) runs
    // beside the call; our responses reach it through the dialog.
    let mut invite_dialog = dialog.clone();
    tokio::spawn(async move {
        if let Err(err) = invite_dialog.handle(&mut tx).await {
            debug!(error = %err, "INVITE transaction ended with an error");
        }
    });

    let leg = MediaLeg::open(
        &shared.ports,
        shared.config.rtp.public_address,
        media_leg::session_config(shared),
        (!offer.is_empty()).then_some(offer.as_slice()),
    );
    let (mut leg, local_sdp) = match leg {
        Ok(pair) => pair,
        Err(err) => {
            let status = match err {
                LegError::NotAcceptable(_) => StatusCode::NotAcceptableHere,
                _ => StatusCode::ServerInternalError,
            };
            info!(error = %err, %status, "refusing the call");
            dialog.reject(Some(status), None)?;
            shared.sip.dialogs.remove_dialog(&dialog.id());
            return Ok(EndReason::Refused);
        }
    };

    dialog.ringing(None, None)?;
    let ring = Duration::from_millis(shared.config.calls.answer_delay_ms);
    let ring_end = Instant::now() + ring;
    while Instant::now() < ring_end {
        tokio::select! {
            _ = sleep_until(ring_end) => {}
            state = states.recv() => match state {
                Some(DialogState::Terminated(_, _)) | None => {
                    leg.close().await;
                    shared.sip.dialogs.remove_dialog(&dialog.id());
                    return Ok(EndReason::Cancelled);
                }
                Some(_) => {}
            },
        }
    }
    let sdp_type = Header::ContentType("application/sdp".into());
    dialog.accept(Some(vec![sdp_type]), Some(local_sdp.into_bytes()))?;
    let answered_at = Instant::now();
    let reason = run_answered(shared, &mut dialog, &mut states, &mut leg, answered_at).await;
    leg.close().await;
    let we_hang_up = !matches!(
        reason,
        EndReason::CallerHungUp | EndReason::NoAck | EndReason::Cancelled
    );
    if we_hang_up && let Err(err) = dialog.bye().await {
        debug!(error = %err, "BYE failed");
    }
    shared.sip.dialogs.remove_dialog(&dialog.id());
    Ok(reason)
}

async fn run_answered(
    shared: &Arc<Shared>,
    dialog: &mut InviteDialog,
    states: &mut tokio::sync::mpsc::UnboundedReceiver<DialogState>,
    leg: &mut MediaLeg,
    answered_at: Instant,
) -> EndReason {
    let calls = &shared.config.calls;
    let max_end = answered_at + Duration::from_secs(calls.max_duration_secs);
    let demo_end = answered_at + Duration::from_secs(shared.config.demo.hangup_after_secs);
    let mut demo = Demo::default();
    let mut confirmed = false;

    loop {
        tokio::select! {
            _ = sleep_until(max_end) => return EndReason::MaxDuration,
            _ = sleep_until(demo_end) => return EndReason::DemoFinished,
            _ = shared.draining.cancelled() => return EndReason::Shutdown,
            state = states.recv() => match state {
                None => return EndReason::CallerHungUp,
                Some(DialogState::Confirmed(_, _)) if !confirmed => {
                    confirmed = true;
                    let late_answer = dialog.last_remote_ack().map(|ack| ack.body).filter(|b| !b.is_empty());
                    if let Some(answer) = late_answer && let Err(err) = leg.apply_answer(&answer) {
                        warn!(error = %err, "unusable SDP answer in ACK");
                        return EndReason::Refused;
                    }
                    let DemoAction::Play(prompts) = demo.on_answered();
                    leg.play_prompts(&shared.prompts, &prompts);
                }
                Some(DialogState::Updated(_, request, handle)) => {
                    let (status, body) = match leg.renegotiate(&request.body) {
                        Ok(sdp) => (StatusCode::OK, Some(sdp.into_bytes())),
                        Err(err) => {
                            info!(error = %err, "refusing a re-offer");
                            (StatusCode::NotAcceptableHere, None)
                        }
                    };
                    let headers = body.as_ref().map(|_| vec![Header::ContentType("application/sdp".into())]);
                    if let Err(err) = handle.respond(status, headers, body).await {
                        debug!(error = %err, "could not answer a re-INVITE");
                    }
                }
                Some(DialogState::Options(_, _, handle)) | Some(DialogState::Info(_, _, handle)) => {
                    handle.respond(StatusCode::OK, None, None).await.ok();
                }
                Some(DialogState::Terminated(_, reason)) => {
                    return match reason {
                        TerminatedReason::Timeout => EndReason::NoAck,
                        TerminatedReason::UacCancel => EndReason::Cancelled,
                        _ => EndReason::CallerHungUp,
                    };
                }
                Some(other) => debug!(state = %other, "dialog state"),
            },
            event = leg.next_event() => match event {
                Some(MediaEvent::Dtmf(key)) => {
                    info!(digit = %key, "DTMF");
                    if let Some(DemoAction::Play(prompts)) = demo.on_key(key) {
                        leg.play_prompts(&shared.prompts, &prompts);
                    }
                }
                Some(MediaEvent::RtpTimeout) => return EndReason::MediaTimeout,
                Some(_) => {}
                None => return EndReason::MediaTimeout,
            },
        }
    }
}
