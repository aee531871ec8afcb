//! The tokio task around one call machine: it turns the dialog's states, the media
//! session's events, finished work and the clock into `CallEvent`s, and carries out the
//! machine's `Command`s. It decides nothing: every choice is the machine's.
//!
//! Work the call starts (lookups, recognitions) runs in a `JoinSet` owned by this task,
//! so it is cancelled when the call ends; text-to-speech under way is cancelled with the
//! media leg. Answers the shell can give at once (nothing to play, an early recognition
//! declined because the pool is busy) go back to the machine before anything else.

use super::agent_leg::{self, Dial, LegReport, Placed};
use super::command::Command;
use super::env::CallEnv;
use super::event::{AgentLegEvent, CallEvent, DialogEnd, RequestId};
use super::hold::HoldMusic;
use super::machine::{Call, CallSetup};
use super::media_leg::MediaLeg;
use super::{CallError, Parties};
use crate::acd::envelope::ContextEnvelope;
use crate::acd::{AgentId, LegFailure, QueueNotice};
use crate::asr::Pool;
use crate::cdr::{CallRecord, CallStart, Direction};
use crate::data::CallFacts;
use crate::media::events::MediaEvent;
use crate::sip::message::{Header, StatusCode};
use crate::sip::{DialogState, InviteDialog, TerminatedReason, Transaction, TransactionHandle};
use chrono::Utc;
use rsipstack::sip::prelude::HeadersExt;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep_until};
use tracing::{Instrument, debug, info, info_span, warn};

/// Places the callback calls the ACD orders, each on its own task.
pub async fn place_callbacks(
    env: Arc<CallEnv>,
    mut orders: UnboundedReceiver<crate::acd::CallbackOrder>,
) {
    while let Some(order) = orders.recv().await {
        let env = env.clone();
        let span = info_span!("callback", call_id = %order.call);
        tokio::spawn(Shell::call_back(env, order).instrument(span));
    }
}

/// Runs one inbound call to its end.
pub async fn run(env: Arc<CallEnv>, tx: Transaction) -> Result<(), CallError> {
    let invite = &tx.original;
    let call_id = invite
        .call_id_header()
        .map(|h| h.value().to_string())
        .unwrap_or_default();
    let parties = parties(invite);
    let span = info_span!("call", call_id = %call_id);
    async move {
        info!(caller = %parties.from, "incoming call");
        let reason = Shell::answer(&env, tx, call_id, parties).await?;
        info!(reason = ?reason, "call ended");
        Ok(())
    }
    .instrument(span)
    .await
}

/// The I/O one call owns.
struct Shell<'a> {
    env: &'a CallEnv,
    dialog: InviteDialog,
    leg: MediaLeg,
    /// In-dialog requests waiting for the machine's answer.
    requests: HashMap<RequestId, TransactionHandle>,
    next_request: RequestId,
    /// Lookups and recognitions under way; aborted when the call ends.
    work: JoinSet<CallEvent>,
    /// Answers the shell gives at once, fed back before anything else happens.
    immediate: VecDeque<CallEvent>,
    facts: CallFacts,
    released: bool,
    hold: HoldMusic,
    /// The ACD's notices once queued.
    queue: Option<UnboundedReceiver<QueueNotice>>,
    /// The transfer's context, shown to each agent offered the call.
    envelope: Option<ContextEnvelope>,
    /// The transfer's ticket number, once the database has given it.
    ticket: Arc<std::sync::OnceLock<i64>>,
    /// Reports of agent legs (every leg of the call shares the channel).
    legs: (UnboundedSender<LegReport>, UnboundedReceiver<LegReport>),
    agent: Option<AgentSide>,
    /// Where to call this caller back: the Contact of their INVITE.
    contact: Option<String>,
    /// When our 200 went out, for the time to a transfer.
    answered: Option<Instant>,
    /// When the turn under way was handed to the recogniser, until its answer plays.
    turn: Option<Instant>,
}

/// The leg to the agent: placed, then answered with its media and dialog.
struct AgentSide {
    placed: Placed,
    media: Option<Box<MediaLeg>>,
}

impl<'a> Shell<'a> {
    async fn answer(
        env: &CallEnv,
        mut tx: Transaction,
        call_id: String,
        parties: Parties,
    ) -> Result<super::EndReason, CallError> {
        let (state_tx, mut states) = env.dialogs.new_dialog_state_channel();
        let dialog = env.dialogs.get_or_create_server_invite(
            &tx,
            state_tx,
            None,
            Some(env.contact.clone()),
        )?;
        let offer = tx.original.body.clone();
        let tx_original = tx.original.clone();
        // The INVITE server transaction (100 Trying, retransmissions, ACK, CANCEL) runs
        // beside the call; our responses reach it through the dialog.
        let mut invite_dialog = dialog.clone();
        tokio::spawn(async move {
            if let Err(err) = invite_dialog.handle(&mut tx).await {
                debug!(error = %err, "INVITE transaction ended with an error");
            }
        });
        let started = Utc::now();
        let refused = |env: &CallEnv| {
            let start = CallStart::new(
                &call_id,
                Direction::Inbound,
                &parties.from,
                &parties.to,
                started,
            );
            let why = super::EndReason::Refused.as_str();
            env.call_ended(CallRecord::unanswered(start, Utc::now(), why));
        };
        let leg = match MediaLeg::bind(&env.ports, &env.media, env.session.clone()) {
            Ok(leg) => leg,
            Err(err) => {
                warn!(error = %err, "no RTP port: refusing the call");
                refused(env);
                dialog.reject(Some(StatusCode::ServiceUnavailable), None)?;
                env.dialogs.remove_dialog(&dialog.id());
                return Ok(super::EndReason::Refused);
            }
        };
        let Some(bound) = leg.local_addr() else {
            refused(env);
            return Ok(super::EndReason::Refused);
        };
        let written =
            std::net::SocketAddr::new(env.rtp_public_address.unwrap_or(bound.ip()), bound.port());
        let setup = CallSetup {
            call_id: call_id.clone(),
            parties: parties.clone(),
            offer,
            local_rtp: written,
            session_id: rand::random::<u32>().into(),
            settings: env.settings.clone(),
        };
        let facts = CallFacts {
            caller_id: parties.from,
            call_id,
        };
        let now = Instant::now();
        let mut call = Call::new(setup, env.behaviour(), now.into_std(), started);
        env.call_started(call.start_record());
        let mut shell = Shell::new(env, dialog, leg, facts);
        shell.contact = contact_of(&tx_original);
        let first = call.start(now.into_std());
        shell.run(&mut call, first, &mut states).await;
        if let Some(record) = call.record() {
            env.call_ended(record);
        }
        Ok(call.end_reason().unwrap_or(super::EndReason::CallerHungUp))
    }

    /// Calls a caller back (their own Contact only), and once they answer runs the call
    /// as a queued one: the reserved agent rings, the ACD bridges. A callback that is
    /// not answered is reported as failed (the ACD retries or gives up).
    async fn call_back(env: Arc<CallEnv>, order: crate::acd::CallbackOrder) {
        let env = &*env;
        let started = Utc::now();
        let failed = |env: &CallEnv| {
            let start = CallStart::new(
                &order.call.0,
                Direction::Callback,
                &order.target.caller,
                "hotline",
                started,
            );
            env.call_ended(CallRecord::unanswered(start, Utc::now(), "not answered"));
            if let Some(acd) = &env.acd {
                acd.report(crate::acd::AcdEvent::CallbackFailed {
                    call: order.call.clone(),
                });
            }
        };
        let mut leg = match MediaLeg::bind(&env.ports, &env.media, env.session.clone()) {
            Ok(leg) => leg,
            Err(err) => {
                warn!(error = %err, "no RTP port for a callback");
                return failed(env);
            }
        };
        let Some(bound) = leg.local_addr() else {
            return failed(env);
        };
        let written =
            std::net::SocketAddr::new(env.rtp_public_address.unwrap_or(bound.ip()), bound.port());
        let setup = CallSetup {
            call_id: order.call.0.clone(),
            parties: Parties {
                from: "hotline".into(),
                to: order.target.caller.clone(),
            },
            offer: Vec::new(),
            local_rtp: written,
            session_id: rand::random::<u32>().into(),
            settings: env.settings.clone(),
        };
        let arrival = crate::acd::Arrival {
            call: order.call.clone(),
            queue: order.queue.clone(),
            priority: order.priority,
            skills: Vec::new(),
            callback: false,
            max_wait: None,
        };
        let now = Instant::now();
        let mut call = Call::callback(
            setup,
            arrival,
            order.offer.clone(),
            Box::new(super::queued::CalledBack),
            now.into_std(),
            started,
        );
        let Ok(callee) = crate::sip::message::Uri::try_from(order.target.uri.as_str()) else {
            warn!(uri = %order.target.uri, "the caller's Contact is not a SIP URI: no callback");
            leg.close().await;
            return failed(env);
        };
        let Ok(caller) = agent_leg::from_uri(&env.contact, "hotline") else {
            leg.close().await;
            return failed(env);
        };
        let option = rsipstack::dialog::invitation::InviteOption {
            caller,
            callee,
            contact: env.contact.clone(),
            content_type: Some("application/sdp".into()),
            offer: Some(call.offer().as_bytes().to_vec()),
            ..Default::default()
        };
        let (state_tx, mut states) = env.dialogs.new_dialog_state_channel();
        let Ok((dialog, outcome)) = env.dialogs.do_invite_async(option, state_tx) else {
            leg.close().await;
            return failed(env);
        };
        info!(attempt = order.attempt, to = %order.target.uri, "calling the caller back");
        let answered = match tokio::time::timeout(order.ring_timeout, outcome).await {
            Ok(Ok(Ok((_, Some(response)))))
                if response.status_code.kind()
                    == crate::sip::message::StatusCodeKind::Successful =>
            {
                Some(response.body)
            }
            Ok(Ok(Ok((_, response)))) => {
                let status = response.map(|r| u16::from(r.status_code));
                info!(?status, "the callback was not answered");
                None
            }
            Ok(Ok(Err(err))) => {
                info!(error = %err, "the callback failed");
                None
            }
            Ok(Err(err)) => {
                info!(error = %err, "the callback task failed");
                None
            }
            Err(_) => {
                info!("the callback rang out");
                let _ = dialog.hangup().await;
                None
            }
        };
        let Some(answer) = answered else {
            env.dialogs.remove_dialog(&dialog.id());
            leg.close().await;
            return failed(env);
        };
        let facts = CallFacts {
            caller_id: order.target.caller.clone(),
            call_id: order.call.0.clone(),
        };
        let mut shell = Shell::new(env, dialog, leg, facts);
        shell.queue = Some(order.notices);
        shell.envelope = Some(*order.envelope);
        shell.ticket = order.ticket;
        env.call_started(call.start_record());
        let first = call.handle(CallEvent::Answered { answer }, Instant::now().into_std());
        shell.run(&mut call, first, &mut states).await;
        if let Some(record) = call.record() {
            env.call_ended(record);
        }
        info!(reason = ?call.end_reason(), "callback ended");
    }

    fn new(env: &'a CallEnv, dialog: InviteDialog, leg: MediaLeg, facts: CallFacts) -> Self {
        Shell {
            env,
            dialog,
            leg,
            requests: HashMap::new(),
            next_request: 1,
            work: JoinSet::new(),
            immediate: VecDeque::new(),
            facts,
            released: false,
            hold: HoldMusic::default(),
            queue: None,
            envelope: None,
            ticket: Arc::default(),
            legs: mpsc::unbounded_channel(),
            agent: None,
            contact: None,
            answered: None,
            turn: None,
        }
    }

    /// Carries out the machine's first commands, then drives it to its end and releases.
    async fn run(
        &mut self,
        call: &mut Call,
        first: Vec<Command>,
        states: &mut UnboundedReceiver<DialogState>,
    ) {
        self.carry_out(first).await;
        self.drive(call, states).await;
        if !self.released {
            self.release().await;
        }
    }

    /// Moves events into the machine and commands out of it until the call is over.
    async fn drive(&mut self, call: &mut Call, states: &mut UnboundedReceiver<DialogState>) {
        let draining = self.env.draining.clone();
        let mut told_draining = false;
        while !call.is_over() {
            if let Some(event) = self.immediate.pop_front() {
                let commands = call.handle(event, Instant::now().into_std());
                self.carry_out(commands).await;
                continue;
            }
            let deadline = call.next_deadline().map(Instant::from_std);
            let event = tokio::select! {
                biased;
                _ = draining.cancelled(), if !told_draining => {
                    told_draining = true;
                    CallEvent::Draining
                }
                state = states.recv() => match state {
                    Some(state) => match self.dialog_event(state) {
                        Some(event) => event,
                        None => continue,
                    },
                    None => CallEvent::DialogEnded(DialogEnd::Bye),
                },
                Some(done) = self.work.join_next(), if !self.work.is_empty() => match done {
                    Ok(event) => event,
                    Err(err) => {
                        warn!(error = %err, "a call task failed");
                        continue;
                    }
                },
                event = self.leg.next_event() => match event {
                    Some(MediaEvent::Audio(frame)) => CallEvent::Frame(frame),
                    Some(MediaEvent::Dtmf(key)) => CallEvent::Digit(key),
                    Some(MediaEvent::PlaybackFinished { id, completed }) => {
                        if self.hold.finished(id, completed, &self.leg, &self.env.prompts) {
                            continue;
                        }
                        CallEvent::PlaybackFinished
                    }
                    Some(MediaEvent::RtpTimeout) | None => CallEvent::MediaTimeout,
                },
                Some(notice) = next_notice(&mut self.queue) => CallEvent::Queue(notice),
                Some(report) = self.legs.1.recv() => match self.leg_report(report) {
                    Some(event) => event,
                    None => continue,
                },
                event = next_agent_media(&mut self.agent) => match event {
                    Some((leg, MediaEvent::Dtmf(key))) => CallEvent::AgentLeg { leg, event: AgentLegEvent::Digit(key) },
                    Some((leg, MediaEvent::RtpTimeout)) => {
                        warn!("no RTP from the agent's phone");
                        CallEvent::AgentLeg { leg, event: AgentLegEvent::Lost }
                    }
                    _ => continue,
                },
                _ = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => CallEvent::Timer,
            };
            let commands = call.handle(event, Instant::now().into_std());
            self.carry_out(commands).await;
        }
    }

    /// The machine's view of a dialog state; `None` for states it need not know.
    fn dialog_event(&mut self, state: DialogState) -> Option<CallEvent> {
        match state {
            DialogState::Confirmed(_, _) => {
                let answer = self.dialog.last_remote_ack().map(|ack| ack.body);
                Some(CallEvent::Acked { answer })
            }
            DialogState::Updated(_, request, handle) => {
                let id = self.hold(handle);
                Some(CallEvent::ReOffer {
                    request: id,
                    offer: request.body,
                })
            }
            DialogState::Info(_, request, handle) => {
                let content_type = request.header_value("Content-Type");
                let id = self.hold(handle);
                Some(CallEvent::Info {
                    request: id,
                    content_type,
                    body: request.body,
                })
            }
            DialogState::Options(_, _, handle) => {
                let id = self.hold(handle);
                Some(CallEvent::Options { request: id })
            }
            DialogState::Terminated(_, reason) => Some(CallEvent::DialogEnded(match reason {
                TerminatedReason::Timeout => DialogEnd::NoAck,
                TerminatedReason::UacCancel => DialogEnd::Cancel,
                _ => DialogEnd::Bye,
            })),
            other => {
                debug!(state = %other, "dialog state");
                None
            }
        }
    }

    fn hold(&mut self, handle: TransactionHandle) -> RequestId {
        let id = self.next_request;
        self.next_request += 1;
        self.requests.insert(id, handle);
        id
    }

    async fn carry_out(&mut self, commands: Vec<Command>) {
        for command in commands {
            self.perform(command).await;
        }
    }

    async fn perform(&mut self, command: Command) {
        let env = self.env;
        if let Some(since) = self.turn
            && matches!(
                command,
                Command::Play(_) | Command::Speak(_) | Command::Enqueue { .. } | Command::Bye
            )
        {
            self.turn = None;
            env.metrics
                .turn_response
                .observe(since.elapsed().as_secs_f64());
        }
        match command {
            Command::Ring => {
                if let Err(err) = self.dialog.ringing(None, None) {
                    debug!(error = %err, "could not send 180");
                }
            }
            Command::Answer { sdp } => {
                env.metrics.call_setup(200);
                self.answered = Some(Instant::now());
                let sdp_type = Header::ContentType("application/sdp".into());
                if let Err(err) = self
                    .dialog
                    .accept(Some(vec![sdp_type]), Some(sdp.into_bytes()))
                {
                    warn!(error = %err, "could not answer the call");
                }
            }
            Command::Refuse { status } => {
                info!(status, "refusing the call");
                env.metrics.call_setup(status);
                if let Err(err) = self.dialog.reject(Some(StatusCode::from(status)), None) {
                    debug!(error = %err, "could not refuse the call");
                }
            }
            Command::Respond {
                request,
                status,
                sdp,
            } => {
                let Some(handle) = self.requests.remove(&request) else {
                    return;
                };
                let headers = sdp
                    .as_ref()
                    .map(|_| vec![Header::ContentType("application/sdp".into())]);
                let body = sdp.map(String::into_bytes);
                if let Err(err) = handle
                    .respond(StatusCode::from(status), headers, body)
                    .await
                {
                    debug!(error = %err, "could not answer an in-dialog request");
                }
            }
            Command::StartMedia(media) | Command::UpdateMedia(media) => {
                if let Err(err) = self.leg.apply(&media) {
                    warn!(error = %err, "media could not start");
                    self.immediate.push_back(CallEvent::MediaTimeout);
                }
            }
            Command::Audio(on) => self.leg.set_audio(on),
            Command::Play(ids) => {
                if !self.leg.play_sequence(&env.prompts, &ids) {
                    // Nothing playable: the machine must not wait for audio that never ends.
                    self.immediate.push_back(CallEvent::PlaybackFinished);
                }
            }
            Command::Speak(sounds) => {
                if !self.leg.speak(&env.prompts, env.tts.as_ref(), &sounds) {
                    self.immediate.push_back(CallEvent::PlaybackFinished);
                }
            }
            Command::StopPlayback => self.leg.stop_playback(),
            Command::Recognise {
                id,
                pcm,
                hints,
                early,
            } => self.recognise(id, pcm, hints, early),
            Command::Lookup { id, source, args } => {
                // LookupArg's Debug masks sensitive values.
                let shown: Vec<String> = args.iter().map(|a| format!("{a:?}")).collect();
                info!(%source, args = %shown.join(", "), "lookup");
                let Some(data) = env.data.clone() else {
                    let result =
                        crate::dialplan::LookupResult::Error("no data source is configured".into());
                    self.immediate
                        .push_back(CallEvent::LookupDone { id, result });
                    return;
                };
                let facts = self.facts.clone();
                let metrics = env.metrics.clone();
                self.work.spawn(async move {
                    let result = data.lookup(&source, &args, &facts).await;
                    let outcome = match &result {
                        crate::dialplan::LookupResult::Found(_) => "found",
                        crate::dialplan::LookupResult::NotFound => "not_found",
                        crate::dialplan::LookupResult::Error(_) => "error",
                    };
                    // Only configured names become labels: an unknown name is one label.
                    let known = data.names().any(|name| name == source);
                    metrics.lookup(if known { &source } else { "unknown" }, outcome);
                    CallEvent::LookupDone { id, result }
                });
            }
            Command::Enqueue { arrival, context } => {
                if let Some(answered) = self.answered {
                    env.metrics
                        .answer_to_transfer
                        .observe(answered.elapsed().as_secs_f64());
                }
                self.enqueue(arrival, &context)
            }
            Command::Requeue(arrival) => {
                let (tx, rx) = mpsc::unbounded_channel();
                match &env.acd {
                    Some(acd) if acd.enqueue(arrival, tx) => self.queue = Some(rx),
                    _ => self.immediate.push_back(CallEvent::TransferFailed {
                        reason: "agent queues are not available".into(),
                    }),
                }
            }
            Command::RequestCallback => self.request_callback(),
            Command::ReportAcd(event) => {
                if let Some(acd) = &env.acd {
                    acd.report(event);
                }
            }
            Command::HoldMusic(on) => self.hold.set(on, &self.leg, &env.prompts),
            Command::Announce(ids) => self.hold.announce(&ids, &self.leg, &env.prompts),
            Command::DialAgent {
                leg,
                agent,
                contacts,
                waited_secs,
            } => self.dial_agent(leg, agent, contacts, waited_secs),
            Command::HangUpAgent { leg } => {
                if let Some(caller) = self.leg.session() {
                    crate::media::relay::unbridge(caller);
                }
                if let Some(side) = self.agent.take_if(|side| side.placed.leg == leg) {
                    side.placed.cancel.cancel();
                    if let Some(mut media) = side.media {
                        media.close().await;
                    }
                }
            }
            Command::Bridge { leg } => {
                let agent_media = self
                    .agent
                    .as_ref()
                    .filter(|side| side.placed.leg == leg)
                    .and_then(|side| side.media.as_ref())
                    .and_then(|media| media.session());
                match (self.leg.session(), agent_media) {
                    (Some(caller), Some(agent)) => crate::media::relay::bridge(caller, agent),
                    _ => warn!("bridge without both media sessions"),
                }
            }
            Command::DigitToAgent(key) => {
                if let Some(media) = self.agent.as_ref().and_then(|side| side.media.as_ref()) {
                    media.send_digit(key);
                }
            }
            Command::CallerDigit(key) => {
                self.leg.send_digit(key);
            }
            Command::Bye => {
                if let Err(err) = self.dialog.bye().await {
                    debug!(error = %err, "BYE failed");
                }
            }
            Command::Release => self.release().await,
        }
    }

    /// Hands an utterance to the pool; a busy pool declines early ones, a full pool
    /// answers at once that nothing was heard.
    fn recognise(
        &mut self,
        id: u64,
        pcm: Vec<i16>,
        hints: crate::asr::RecognitionHints,
        early: bool,
    ) {
        let Some(pool) = self.env.asr.as_ref() else {
            self.immediate.push_back(CallEvent::Recognised {
                id,
                result: Err("no recogniser".into()),
            });
            return;
        };
        if early && !has_idle_worker(pool) {
            self.immediate.push_back(CallEvent::Recognised {
                id,
                result: Err("busy: early recognition declined".into()),
            });
            return;
        }
        match pool.submit(pcm, hints) {
            Ok(pending) => {
                let submitted = Instant::now();
                self.turn.get_or_insert(submitted);
                let metrics = self.env.metrics.clone();
                self.work.spawn(async move {
                    let answer = pending.await;
                    metrics
                        .recognition
                        .observe(submitted.elapsed().as_secs_f64());
                    let result = match answer {
                        Ok(Ok(transcript)) => Ok(transcript),
                        Ok(Err(err)) => {
                            warn!(error = %err, "recognition failed");
                            Err(err.to_string())
                        }
                        Err(_) => Err("the recogniser went away".to_string()),
                    };
                    CallEvent::Recognised { id, result }
                });
            }
            Err(full) => {
                if !early {
                    warn!(%full, "speech recognition saturated: utterance dropped");
                }
                self.immediate.push_back(CallEvent::Recognised {
                    id,
                    result: Err(full.to_string()),
                });
            }
        }
    }

    /// Queues the caller with the ACD, opening the ticket and keeping the envelope.
    fn enqueue(
        &mut self,
        arrival: crate::acd::Arrival,
        context: &crate::dialplan::TransferContext,
    ) {
        let now = Utc::now();
        let envelope = ContextEnvelope::from_transfer(&self.facts.call_id, context, now);
        if let Some(tickets) = self.env.tickets.clone() {
            // On a blocking thread: the call's task never waits for the disk, and a ticket
            // lost to an error must not lose the caller (offers then carry no ticket).
            let (opened, for_ticket) = (self.ticket.clone(), envelope.clone());
            tokio::task::spawn_blocking(move || match tickets.open(&for_ticket, now) {
                Ok(id) => {
                    let _ = opened.set(id);
                }
                Err(err) => warn!(error = %err, "could not open the transfer's ticket"),
            });
        }
        info!(
            queue = %arrival.queue,
            context = %envelope.to_json().unwrap_or_default(),
            "transfer"
        );
        self.envelope = Some(envelope);
        let Some(acd) = &self.env.acd else {
            self.immediate.push_back(CallEvent::TransferFailed {
                reason: "agent queues are not available".into(),
            });
            return;
        };
        let (tx, rx) = mpsc::unbounded_channel();
        if acd.enqueue(arrival, tx) {
            self.queue = Some(rx);
        } else {
            self.immediate.push_back(CallEvent::TransferFailed {
                reason: "agent queues are not available".into(),
            });
        }
    }

    /// Asks the ACD to call this caller back at the Contact of their INVITE.
    fn request_callback(&mut self) {
        let (Some(acd), Some(uri), Some(envelope)) =
            (&self.env.acd, self.contact.clone(), self.envelope.clone())
        else {
            warn!("a callback cannot be asked for: no ACD, no Contact or no transfer");
            return;
        };
        let target = crate::acd::CallbackTarget {
            uri,
            caller: self.facts.caller_id.clone(),
        };
        acd.request_callback(
            self.facts.call_id.as_str().into(),
            target,
            Box::new(envelope),
            self.ticket.clone(),
        );
    }

    /// Places leg `leg` to `agent`, with the context in its headers.
    fn dial_agent(
        &mut self,
        leg: u64,
        agent: String,
        contacts: Vec<crate::acd::AgentContact>,
        waited_secs: u64,
    ) {
        let env = self.env;
        let Some(contact) = contacts.into_iter().next() else {
            self.immediate.push_back(CallEvent::AgentLeg {
                leg,
                event: AgentLegEvent::Failed(LegFailure::Error),
            });
            return;
        };
        let mut headers = Vec::new();
        if let Some(envelope) = &self.envelope {
            let envelope = envelope
                .clone()
                .with_wait(std::time::Duration::from_secs(waited_secs));
            headers.extend(
                envelope
                    .sip_headers()
                    .into_iter()
                    .map(|(name, value)| (name.to_string(), value)),
            );
            let token = env.contexts.post(
                &AgentId(agent.clone()),
                envelope,
                self.ticket.clone(),
                std::time::Instant::now(),
            );
            headers.push(("User-to-User".into(), format!("{token};encoding=hex")));
            if let Some(base) = env.http_base.get() {
                headers.push((
                    "Call-Info".into(),
                    format!("<{base}/api/contexts/{token}>;purpose=info"),
                ));
            }
        }
        let dial = Dial {
            leg,
            agent,
            contact,
            caller: self.facts.caller_id.clone(),
            our_contact: env.contact.clone(),
            rtp_public_address: env.rtp_public_address,
            headers,
        };
        let placed = agent_leg::place(
            dial,
            env.dialogs.clone(),
            &env.ports,
            &env.media,
            env.session.clone(),
            self.legs.0.clone(),
        );
        if let Some(old) = self.agent.replace(AgentSide {
            placed,
            media: None,
        }) {
            old.placed.cancel.cancel();
        }
    }

    /// Keeps an answered leg's media; the machine hears what it needs to.
    fn leg_report(&mut self, report: LegReport) -> Option<CallEvent> {
        match report {
            LegReport::Answered { leg, media, dialog } => {
                match self.agent.as_mut().filter(|side| side.placed.leg == leg) {
                    Some(side) => side.media = Some(media),
                    None => {
                        // Withdrawn meanwhile: the leg task sees the cancel and hangs up.
                        drop(dialog);
                        let mut media = media;
                        tokio::spawn(async move { media.close().await });
                        return None;
                    }
                }
                Some(CallEvent::AgentLeg {
                    leg,
                    event: AgentLegEvent::Answered,
                })
            }
            LegReport::Event { leg, event } => Some(CallEvent::AgentLeg { leg, event }),
        }
    }

    /// Ends everything the call holds: its work, its media, its dialog.
    async fn release(&mut self) {
        self.released = true;
        if let Some(side) = self.agent.take() {
            side.placed.cancel.cancel();
            if let Some(mut media) = side.media {
                media.close().await;
            }
        }
        self.queue = None;
        self.work.abort_all();
        self.immediate.clear();
        self.requests.clear();
        self.leg.close().await;
        self.env.dialogs.remove_dialog(&self.dialog.id());
    }
}

/// Early decodes are a bet: placed only with a worker idle, so that a busy pool spends its
/// cores on utterances that are surely finished.
fn has_idle_worker(pool: &Pool) -> bool {
    let stats = pool.stats();
    stats.pending < stats.workers
}

fn parties(invite: &rsipstack::sip::Request) -> Parties {
    let user = |uri: Option<rsipstack::sip::Uri>| {
        uri.and_then(|u| u.user().map(str::to_string))
            .unwrap_or_default()
    };
    Parties {
        from: user(invite.from_header().ok().and_then(|f| f.uri().ok())),
        to: user(invite.to_header().ok().and_then(|t| t.uri().ok())),
    }
}

async fn next_notice(queue: &mut Option<UnboundedReceiver<QueueNotice>>) -> Option<QueueNotice> {
    match queue.as_mut() {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// The next event of the agent leg's media (digits, a silent phone); pending without one.
async fn next_agent_media(agent: &mut Option<AgentSide>) -> Option<(u64, MediaEvent)> {
    let Some(side) = agent.as_mut() else {
        return std::future::pending().await;
    };
    let leg = side.placed.leg;
    let Some(media) = side.media.as_mut() else {
        return std::future::pending().await;
    };
    media.next_event().await.map(|event| (leg, event))
}

/// The Contact URI of an INVITE (without angle brackets), where a callback goes.
fn contact_of(invite: &rsipstack::sip::Request) -> Option<String> {
    let value = invite.header_value("Contact")?;
    let value = value.trim();
    let uri = match (value.find('<'), value.find('>')) {
        (Some(start), Some(end)) if start < end => &value[start + 1..end],
        _ => value.split(';').next().unwrap_or(value),
    };
    (uri.starts_with("sip:") || uri.starts_with("sips:")).then(|| uri.to_string())
}
