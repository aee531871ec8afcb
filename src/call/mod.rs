//! One call's lifecycle, the imperative shell: owns the SIP dialog and the media leg,
//! answers, feeds the call's behaviour with events and carries out what it asks, and
//! always ends the call (BYE, or the dialog's own teardown) however it goes.

mod demo;
mod dialplan_call;
mod listen;
mod media_leg;

pub use demo::{Demo, DemoAction, digit_prompt, required_prompts};
pub use dialplan_call::{Command, DialplanCall, Sound, sounds};
pub use media_leg::{LegError, MediaLeg, session_config};

use crate::dialplan::{LookupResult, Runtime};
use crate::media::events::MediaEvent;
use crate::server::Shared;
use crate::server::registry::CallSummary;
use crate::sip::message::{Header, StatusCode};
use crate::sip::{DialogState, InviteDialog, TerminatedReason, Transaction};
use chrono::Utc;
use listen::{Heard, SpeechListener, Turn};
use rsipstack::sip::prelude::HeadersExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::{Instant, sleep_until};
use tracing::{Instrument, debug, info, info_span, warn};

/// How long the last prompt gets to play out at the caller before our BYE.
const PLAYOUT_GRACE: Duration = Duration::from_millis(300);

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
    DialplanHangup,
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
    info!(?reason, "call ending");
    if reason == EndReason::DialplanHangup {
        // The goodbye has left our socket but not the caller's jitter buffer: a BYE right
        // now would clip its last words on most phones.
        tokio::time::sleep(PLAYOUT_GRACE).await;
    }
    if we_hang_up && let Err(err) = dialog.bye().await {
        debug!(error = %err, "BYE failed");
    }
    shared.sip.dialogs.remove_dialog(&dialog.id());
    Ok(reason)
}

/// What drives the call: the built-in demo, or a dialplan.
enum Script {
    Demo(Demo),
    Dialplan(Box<DialplanCall>),
}

impl Script {
    fn new(shared: &Shared) -> Self {
        match &shared.dialplans {
            Some(store) => {
                Script::Dialplan(Box::new(DialplanCall::new(Runtime::new(store.current()))))
            }
            None => Script::Demo(Demo::default()),
        }
    }

    fn start(&mut self, caller: &CallParties) -> Vec<Command> {
        match self {
            Script::Demo(demo) => {
                let DemoAction::Play(ids) = demo.on_answered();
                vec![Command::Play(ids)]
            }
            Script::Dialplan(call) => {
                call.start(&caller.from, &caller.to, Instant::now(), Utc::now())
            }
        }
    }

    fn on_key(&mut self, key: char) -> Vec<Command> {
        match self {
            Script::Demo(demo) => {
                // The demo reads keys back anyway; a dialplan's keys may be a PIN.
                info!(digit = %key, "DTMF");
                demo.on_key(key)
                    .map(|DemoAction::Play(ids)| Command::Play(ids))
                    .into_iter()
                    .collect()
            }
            Script::Dialplan(call) => call.on_key(key, Instant::now(), Utc::now()),
        }
    }

    fn on_speech_activity(&mut self) {
        if let Script::Dialplan(call) = self {
            call.on_speech_activity(Instant::now());
        }
    }

    fn on_speech_started(&mut self) -> Vec<Command> {
        match self {
            Script::Demo(_) => Vec::new(),
            Script::Dialplan(call) => call.on_speech_started(),
        }
    }

    fn on_speech(&mut self, text: &str, confidence: f32) -> Vec<Command> {
        match self {
            Script::Demo(_) => Vec::new(),
            Script::Dialplan(call) => {
                let commands = call.on_speech(text, confidence, Instant::now(), Utc::now());
                if !text.is_empty() {
                    let understood = call.runtime().last_understood();
                    info!(
                        intent = %understood.intent.as_deref().unwrap_or("-"),
                        intent_confidence = understood.confidence,
                        entities = %understood.entities.join(","),
                        "understood"
                    );
                }
                commands
            }
        }
    }

    /// Would the dialplan take `text` as the answer to the gather it is in?
    fn would_accept(&self, text: &str) -> bool {
        match self {
            Script::Demo(_) => false,
            Script::Dialplan(call) => call.runtime().would_accept(text, Utc::now()),
        }
    }

    fn on_playback_finished(&mut self) -> Vec<Command> {
        match self {
            Script::Demo(_) => Vec::new(),
            Script::Dialplan(call) => call.on_playback_finished(Instant::now(), Utc::now()),
        }
    }

    fn on_timer(&mut self) -> Vec<Command> {
        match self {
            Script::Demo(_) => Vec::new(),
            Script::Dialplan(call) => call.on_timer(Instant::now(), Utc::now()),
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        match self {
            Script::Demo(_) => None,
            Script::Dialplan(call) => call.next_deadline(),
        }
    }

    fn on_lookup_result(&mut self, result: LookupResult) -> Vec<Command> {
        match self {
            Script::Demo(_) => Vec::new(),
            Script::Dialplan(call) => call.on_lookup_result(result, Instant::now(), Utc::now()),
        }
    }

    fn on_transfer_failed(&mut self, reason: &str) -> Vec<Command> {
        match self {
            Script::Demo(_) => Vec::new(),
            Script::Dialplan(call) => call.on_transfer_failed(reason, Instant::now(), Utc::now()),
        }
    }

    fn on_hangup(&mut self) {
        if let Script::Dialplan(call) = self {
            call.on_hangup(Instant::now(), Utc::now());
        }
    }
}

/// Who called whom (user parts of From and To).
struct CallParties {
    from: String,
    to: String,
}

/// What the shell feeds back into the script after carrying out its commands.
enum Feedback {
    PlaybackFinished,
    /// The recogniser's answer for recognition `id`.
    Recognised {
        id: u64,
        result: Result<crate::asr::Transcript, String>,
    },
    /// Nothing usable was heard (the recogniser was saturated).
    NothingHeard,
    Transfer(String),
    Lookup(LookupResult),
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
    let mut script = Script::new(shared);
    let is_demo = matches!(script, Script::Demo(_));
    let parties = parties(&dialog.initial_request());
    let mut confirmed = false;
    let (feedback_tx, mut feedback) = tokio::sync::mpsc::unbounded_channel::<Feedback>();
    let mut listener: Option<SpeechListener> = None;
    let facts = crate::data::CallFacts {
        caller_id: parties.from.clone(),
        call_id: dialog.id().call_id.clone(),
    };

    // Fixed deadlines are armed once, not rebuilt on every event.
    let max_sleep = sleep_until(max_end);
    let demo_sleep = sleep_until(demo_end);
    tokio::pin!(max_sleep, demo_sleep);
    let end = loop {
        let timer = script.next_deadline().unwrap_or(max_end);
        let commands = tokio::select! {
            _ = &mut max_sleep => break EndReason::MaxDuration,
            _ = &mut demo_sleep, if is_demo => break EndReason::DemoFinished,
            _ = sleep_until(timer), if timer < max_end => script.on_timer(),
            _ = shared.draining.cancelled() => break EndReason::Shutdown,
            Some(back) = feedback.recv() => match back {
                Feedback::PlaybackFinished => script.on_playback_finished(),
                Feedback::Recognised { id, result } => match listener.as_mut() {
                    Some(listening) => {
                        let now = std::time::Instant::now();
                        match listening.recognised(id, result, now, |t| script.would_accept(t)) {
                            Some(turn) => take_turn(&mut script, &turn),
                            None => Vec::new(),
                        }
                    }
                    None => Vec::new(),
                },
                Feedback::NothingHeard => script.on_speech("", 0.0),
                Feedback::Transfer(reason) => script.on_transfer_failed(&reason),
                Feedback::Lookup(result) => script.on_lookup_result(result),
            },
            state = states.recv() => match state {
                None => break EndReason::CallerHungUp,
                Some(DialogState::Confirmed(_, _)) if !confirmed => {
                    confirmed = true;
                    let late_answer = dialog.last_remote_ack().map(|ack| ack.body).filter(|b| !b.is_empty());
                    if let Some(answer) = late_answer && let Err(err) = leg.apply_answer(&answer) {
                        warn!(error = %err, "unusable SDP answer in ACK");
                        break EndReason::Refused;
                    }
                    script.start(&parties)
                }
                Some(DialogState::Updated(_, request, handle)) => {
                    answer_reoffer(leg, &request.body, handle).await;
                    Vec::new()
                }
                Some(DialogState::Options(_, _, handle)) | Some(DialogState::Info(_, _, handle)) => {
                    handle.respond(StatusCode::OK, None, None).await.ok();
                    Vec::new()
                }
                Some(DialogState::Terminated(_, reason)) => {
                    break match reason {
                        TerminatedReason::Timeout => EndReason::NoAck,
                        TerminatedReason::UacCancel => EndReason::Cancelled,
                        _ => EndReason::CallerHungUp,
                    };
                }
                Some(other) => {
                    debug!(state = %other, "dialog state");
                    Vec::new()
                }
            },
            event = leg.next_event() => match event {
                Some(MediaEvent::Dtmf(key)) => script.on_key(key),
                Some(MediaEvent::PlaybackFinished { .. }) => script.on_playback_finished(),
                Some(MediaEvent::RtpTimeout) => break EndReason::MediaTimeout,
                Some(MediaEvent::Audio(frame)) => match listener.as_mut() {
                    Some(listening) => hear(shared, listening, &frame, &mut script, &feedback_tx),
                    None => Vec::new(),
                },
                None => break EndReason::MediaTimeout,
            },
        };
        if let Some(reason) = carry_out(shared, leg, commands, &feedback_tx, &mut listener, &facts)
        {
            break reason;
        }
    };
    if matches!(end, EndReason::CallerHungUp | EndReason::Cancelled) {
        script.on_hangup();
    }
    end
}

/// Does what the script asked; returns why the call ends when it asked to hang up.
fn carry_out(
    shared: &Arc<Shared>,
    leg: &MediaLeg,
    commands: Vec<Command>,
    feedback: &tokio::sync::mpsc::UnboundedSender<Feedback>,
    listener: &mut Option<SpeechListener>,
    facts: &crate::data::CallFacts,
) -> Option<EndReason> {
    for command in commands {
        match command {
            Command::Play(ids) => {
                if !leg.play_sequence(&shared.prompts, &ids) {
                    // Nothing playable: the script must not wait for audio that never ends.
                    feedback.send(Feedback::PlaybackFinished).ok();
                }
            }
            Command::Speak(sounds) => {
                if !leg.speak(&shared.prompts, shared.tts.as_ref(), &sounds) {
                    feedback.send(Feedback::PlaybackFinished).ok();
                }
            }
            Command::StopPlayback => leg.stop_playback(),
            Command::StartListening {
                listen,
                prompt_playing,
            } => {
                let speech = listen.input != crate::dialplan::format::InputMode::Dtmf;
                let early = Some(Duration::from_millis(
                    shared.config.asr.early_recognition_ms,
                ))
                .filter(|d| !d.is_zero());
                *listener = (speech && shared.asr.is_some())
                    .then(|| SpeechListener::new(&listen, prompt_playing, early));
            }
            Command::PromptFinished => {
                if let Some(listening) = listener.as_mut() {
                    listening.prompt_finished();
                }
            }
            Command::StopListening => *listener = None,
            Command::Lookup { source, args } => {
                // LookupArg's Debug masks sensitive values.
                let shown: Vec<String> = args.iter().map(|a| format!("{a:?}")).collect();
                info!(%source, args = %shown.join(", "), "lookup");
                let Some(data) = shared.data.clone() else {
                    let result = LookupResult::Error("no data source is configured".into());
                    feedback.send(Feedback::Lookup(result)).ok();
                    continue;
                };
                let feedback = feedback.clone();
                let facts = facts.clone();
                tokio::spawn(async move {
                    let result = data.lookup(&source, &args, &facts).await;
                    feedback.send(Feedback::Lookup(result)).ok();
                });
            }
            Command::Transfer { queue, context } => {
                let context = serde_json::to_string(&context).unwrap_or_default();
                info!(%queue, %context, "transfer requested");
                feedback
                    .send(Feedback::Transfer(
                        "agent queues are not available yet".into(),
                    ))
                    .ok();
            }
            Command::Hangup { reason } => {
                info!(%reason, "dialplan hangs up");
                return Some(EndReason::DialplanHangup);
            }
        }
    }
    None
}

/// Feeds one caller frame to the speech listener and acts on what it heard.
fn hear(
    shared: &Arc<Shared>,
    listening: &mut SpeechListener,
    frame: &crate::media::events::AudioFrame,
    script: &mut Script,
    feedback: &tokio::sync::mpsc::UnboundedSender<Feedback>,
) -> Vec<Command> {
    let mut commands = Vec::new();
    let now = std::time::Instant::now();
    for heard in listening.push(frame, shared.asr.as_deref(), now) {
        match heard {
            Heard::SpeechStarted => script.on_speech_activity(),
            Heard::BargeIn => commands.extend(script.on_speech_started()),
            Heard::Recognising { id, pending } => {
                let feedback = feedback.clone();
                tokio::spawn(async move {
                    let result = match pending.await {
                        Ok(Ok(transcript)) => Ok(transcript),
                        Ok(Err(err)) => {
                            warn!(error = %err, "recognition failed");
                            Err(err.to_string())
                        }
                        Err(_) => Err("the recogniser went away".to_string()),
                    };
                    feedback.send(Feedback::Recognised { id, result }).ok();
                });
            }
            Heard::Turn(turn) => commands.extend(take_turn(script, &turn)),
            Heard::Saturated => {
                feedback.send(Feedback::NothingHeard).ok();
            }
        }
    }
    commands
}

/// Logs a caller's turn (its words masked at sensitive steps) and hands it to the script.
fn take_turn(script: &mut Script, turn: &Turn) -> Vec<Command> {
    let shown = if turn.sensitive && !turn.text.is_empty() {
        crate::dialplan::MASK
    } else {
        turn.text.as_str()
    };
    info!(
        transcript = %shown,
        words = turn.text.split_whitespace().count(),
        confidence = turn.confidence,
        early = turn.early,
        after_speech_ms = turn.after_speech.as_millis() as u64,
        decode_ms = turn.decode_ms,
        "recognised"
    );
    script.on_speech(&turn.text, turn.confidence)
}

async fn answer_reoffer(
    leg: &mut MediaLeg,
    offer: &[u8],
    handle: rsipstack::dialog::dialog::TransactionHandle,
) {
    let (status, body) = match leg.renegotiate(offer) {
        Ok(sdp) => (StatusCode::OK, Some(sdp.into_bytes())),
        Err(err) => {
            info!(error = %err, "refusing a re-offer");
            (StatusCode::NotAcceptableHere, None)
        }
    };
    let headers = body
        .as_ref()
        .map(|_| vec![Header::ContentType("application/sdp".into())]);
    if let Err(err) = handle.respond(status, headers, body).await {
        debug!(error = %err, "could not answer a re-INVITE");
    }
}

fn parties(invite: &rsipstack::sip::Request) -> CallParties {
    let user = |uri: Option<rsipstack::sip::Uri>| {
        uri.and_then(|u| u.user().map(str::to_string))
            .unwrap_or_default()
    };
    CallParties {
        from: user(invite.from_header().ok().and_then(|f| f.uri().ok())),
        to: user(invite.to_header().ok().and_then(|t| t.uri().ok())),
    }
}
