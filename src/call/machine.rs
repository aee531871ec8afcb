//! One call as a value: the sans-IO call machine.
//!
//! [`Call`] is fed every happening of the call as a [`CallEvent`] with the time it
//! happened, and answers with [`Command`]s for its shell (send this response, start
//! media, play, recognise this utterance, look this up, hang up) plus the next moment it
//! must be woken ([`Call::next_deadline`]). It owns the SIP lifecycle of the inbound leg
//! (ring, answer after the answer delay, the ACK, re-offers, INFO digits, CANCEL, BYE,
//! the maximum duration, shutdown), the SDP offer/answer, speech listening, and the
//! behaviour (demo or dialplan) that decides what the caller hears.
//!
//! One clock: `now` comes in with every event; the wall time the dialplan's opening hours
//! need is derived from it and the wall time given at creation, so a test drives a whole
//! call with made-up instants and no sockets.

use super::behaviour::{Behaviour, Cue, Moment, Parties};
use super::command::Command;
use super::end::EndReason;
use super::event::{AgentLegEvent, CallEvent, DialogEnd, RequestId};
use super::ledger::{Ledger, failure_reason};
use super::listen::{Heard, SpeechListener, Turn};
use super::queued::{Queued, announcement};
use crate::acd::{AcdEvent, Arrival, CallerPriority, LegFailure, NotQueuedReason, QueueNotice};
use crate::cdr::{CallRecord, CallStart, Direction};
use crate::dialplan::format::InputMode;
use crate::media::sdp::{MediaCapabilities, NegotiatedMedia, SdpError, SdpSession};
use chrono::{DateTime, Utc};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tracing::{info, warn};

/// The key a waiting caller presses to be called back instead (when the transfer and
/// the queue allow it; the announcement says so).
pub const CALLBACK_KEY: char = '*';

/// How a call behaves, from the configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct CallSettings {
    /// Ringing before the answer.
    pub answer_delay: Duration,
    /// The longest a call may last from its answer.
    pub max_duration: Duration,
    /// How long the last prompt gets to play out at the caller before our BYE: a BYE
    /// right after the last packet leaves would clip its last words on most phones.
    pub playout_grace: Duration,
    /// A recogniser is available: gathers that take speech listen.
    pub speech: bool,
    /// Silence after which an utterance is offered for early recognition.
    pub early_recognition: Option<Duration>,
}

impl Default for CallSettings {
    fn default() -> Self {
        CallSettings {
            answer_delay: Duration::ZERO,
            max_duration: Duration::from_secs(3600),
            playout_grace: Duration::from_millis(300),
            speech: false,
            early_recognition: None,
        }
    }
}

/// What the shell knows of an incoming call before the machine takes it.
#[derive(Debug, Clone)]
pub struct CallSetup {
    pub call_id: String,
    pub parties: Parties,
    /// The INVITE's body: the caller's offer (empty: a late offer, ours goes in the 200).
    pub offer: Vec<u8>,
    /// The RTP address written into our SDP.
    pub local_rtp: SocketAddr,
    /// The SDP session id (`o=` line).
    pub session_id: u64,
    pub settings: CallSettings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Not started yet.
    New,
    /// A callback: our INVITE with our offer is out; the answer comes with the 200.
    Dialling,
    /// 180 sent; the answer is due.
    Ringing {
        answer_at: Instant,
    },
    /// 200 sent; waiting for the ACK.
    Answered,
    /// Confirmed: the behaviour runs.
    Active,
    /// We hang up once the last prompt has played out.
    Ending {
        bye_at: Instant,
    },
    Ended,
}

/// One call, from INVITE to its end.
pub struct Call {
    call_id: String,
    parties: Parties,
    settings: CallSettings,
    sdp: SdpSession,
    /// The INVITE had no offer: our offer went in the 200 and the answer comes in the ACK.
    late_offer: bool,
    /// The SDP for the 200 OK.
    answer_sdp: String,
    /// What we answer (or offer) did not work out: the INVITE is refused at start.
    refusal: Option<u16>,
    /// Media negotiated from the INVITE's offer, started when the call starts.
    pending_media: Option<Box<NegotiatedMedia>>,
    behaviour: Box<dyn Behaviour>,
    phase: Phase,
    /// The one clock: `now` at creation and the wall time then.
    anchor: (Instant, DateTime<Utc>),
    max_end: Option<Instant>,
    listener: Option<SpeechListener>,
    audio_on: bool,
    /// The lookup whose answer the behaviour waits for.
    lookup: Option<u64>,
    next_lookup: u64,
    /// We answered an offerless re-INVITE with our offer: its ACK carries the answer.
    reoffer_pending: bool,
    /// Handed to an agent queue (waiting, ringing an agent, or bridged).
    queued: Option<Queued>,
    /// A callback's reserved agent, rung once the caller answers.
    pending_offer: Option<QueueNotice>,
    end: Option<EndReason>,
    /// What the call's detail record will say.
    ledger: Ledger,
    direction: Direction,
    /// When `Command::Release` was given.
    ended_at: Option<Instant>,
    /// The latest time the machine was given.
    clock: Instant,
}

impl Call {
    /// A call at `now` (`wall` is the wall time at that instant), driven by `behaviour`.
    pub fn new(
        setup: CallSetup,
        behaviour: Box<dyn Behaviour>,
        now: Instant,
        wall: DateTime<Utc>,
    ) -> Self {
        let mut sdp = SdpSession::new(
            setup.local_rtp,
            MediaCapabilities::default(),
            setup.session_id,
        );
        let late_offer = setup.offer.is_empty();
        Call {
            call_id: setup.call_id,
            parties: setup.parties,
            settings: setup.settings,
            late_offer,
            answer_sdp: if late_offer {
                sdp.offer()
            } else {
                String::new()
            },
            sdp,
            refusal: None,
            pending_media: None,
            behaviour,
            phase: Phase::New,
            anchor: (now, wall),
            max_end: None,
            listener: None,
            audio_on: false,
            lookup: None,
            next_lookup: 1,
            reoffer_pending: false,
            queued: None,
            pending_offer: None,
            end: None,
            ledger: Ledger::default(),
            direction: Direction::Inbound,
            ended_at: None,
            clock: now,
        }
        .with_offer(&setup.offer)
    }

    /// A callback call to a caller who kept their place in `arrival`'s queue: we dial
    /// out with [`Call::offer`]; once the 200's answer comes
    /// ([`CallEvent::Answered`]) the ACD hears that the caller is back and `offer` (the
    /// agent the ACD reserved) is rung, then it goes on as any queued call.
    pub fn callback(
        setup: CallSetup,
        arrival: Arrival,
        offer: QueueNotice,
        behaviour: Box<dyn Behaviour>,
        now: Instant,
        wall: DateTime<Utc>,
    ) -> Self {
        let mut call = Call::new(setup, behaviour, now, wall);
        call.phase = Phase::Dialling;
        call.direction = Direction::Callback;
        call.ledger.queued(&arrival.queue, now);
        call.queued = Some(Queued::new(arrival, now));
        call.pending_offer = Some(offer);
        call
    }

    /// The SDP offer of a callback's INVITE.
    pub fn offer(&self) -> &str {
        &self.answer_sdp
    }

    /// The callback's INVITE was answered with `answer` at `now`.
    fn on_called_back(&mut self, answer: &[u8], now: Instant, out: &mut Vec<Command>) {
        let Some(call) = self.queued.as_ref().map(|q| q.call.clone()) else {
            return;
        };
        match accept_answer(&mut self.sdp, answer) {
            Ok(media) => out.push(Command::StartMedia(Box::new(media))),
            Err(err) => {
                warn!(error = %err, "unusable SDP from the called-back caller");
                out.push(Command::ReportAcd(AcdEvent::CallbackFailed { call }));
                self.queued = None;
                self.end_now(EndReason::Refused, out);
                return;
            }
        }
        info!("the caller answered their callback");
        self.phase = Phase::Active;
        self.ledger.answered(now);
        self.max_end = Some(now + self.settings.max_duration);
        out.push(Command::ReportAcd(AcdEvent::CallbackConnected { call }));
        out.push(Command::HoldMusic(true));
        if let Some(offer) = self.pending_offer.take() {
            self.on_queue_notice(offer, now, out);
        }
    }

    /// Answers the INVITE's offer now, so that `start` knows whether to ring or refuse.
    fn with_offer(mut self, offer: &[u8]) -> Self {
        if !self.late_offer {
            match std::str::from_utf8(offer)
                .map_err(|_| SdpError::Malformed("the SDP body is not UTF-8".into()))
                .and_then(|offer| self.sdp.answer(offer))
            {
                Ok((answer, negotiated)) => {
                    self.answer_sdp = answer;
                    self.pending_media = Some(Box::new(negotiated));
                }
                Err(err) => {
                    let status = match err {
                        SdpError::NotAcceptable(_) => 488,
                        SdpError::Malformed(_) => 400,
                    };
                    info!(error = %err, status, "refusing the call");
                    self.refusal = Some(status);
                }
            }
        }
        self
    }

    /// The call's Call-ID.
    pub fn call_id(&self) -> &str {
        &self.call_id
    }

    /// The call's detail record as it starts (caller, dialled number, the time).
    pub fn start_record(&self) -> CallStart {
        let (caller, dialled) = match self.direction {
            Direction::Inbound => (&self.parties.from, &self.parties.to),
            Direction::Callback => (&self.parties.to, &self.parties.from),
        };
        CallStart::new(
            &self.call_id,
            self.direction,
            caller,
            dialled,
            self.anchor.1,
        )
    }

    /// The call's detail record, once it is over.
    pub fn record(&self) -> Option<CallRecord> {
        let end = self.ended_at?;
        let why = self.end.unwrap_or(EndReason::CallerHungUp);
        Some(self.ledger.record(
            self.start_record(),
            end,
            why,
            self.behaviour.summary(),
            |at| self.moment(at).wall,
        ))
    }

    /// Why the call ended; `None` while it goes on.
    pub fn end_reason(&self) -> Option<EndReason> {
        self.end
    }

    /// True once `Command::Release` has been given: nothing more will come.
    pub fn is_over(&self) -> bool {
        self.phase == Phase::Ended
    }

    /// The first commands: ring (starting media when the INVITE had an offer), or refuse.
    pub fn start(&mut self, now: Instant) -> Vec<Command> {
        let mut out = Vec::new();
        if self.phase != Phase::New {
            return out;
        }
        self.clock = self.clock.max(now);
        if let Some(status) = self.refusal {
            out.push(Command::Refuse { status });
            self.finish(EndReason::Refused, &mut out);
            return out;
        }
        if let Some(media) = self.pending_media.take() {
            out.push(Command::StartMedia(media));
        }
        out.push(Command::Ring);
        self.phase = Phase::Ringing {
            answer_at: now + self.settings.answer_delay,
        };
        self.fire_timers(now, &mut out);
        out
    }

    /// When the machine must be woken with [`CallEvent::Timer`] if nothing else happens.
    pub fn next_deadline(&self) -> Option<Instant> {
        let phase = match self.phase {
            Phase::Ringing { answer_at } => Some(answer_at),
            Phase::Ending { bye_at } => Some(bye_at),
            Phase::New | Phase::Ended => return None,
            Phase::Dialling | Phase::Answered | Phase::Active => None,
        };
        let active = self.phase == Phase::Active;
        [
            phase,
            self.max_end,
            self.listener
                .as_ref()
                .filter(|_| active)
                .and_then(SpeechListener::next_deadline),
            active.then(|| self.behaviour.next_deadline()).flatten(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Feeds one happening at `now`; returns what the shell must do, in order.
    pub fn handle(&mut self, event: CallEvent, now: Instant) -> Vec<Command> {
        let mut out = Vec::new();
        if matches!(self.phase, Phase::New | Phase::Ended) {
            return out;
        }
        self.clock = self.clock.max(now);
        self.fire_timers(now, &mut out);
        if self.phase == Phase::Ended {
            return out;
        }
        match event {
            CallEvent::Timer => {}
            CallEvent::Acked { answer } => self.on_ack(answer, now, &mut out),
            CallEvent::Answered { answer } => {
                if self.phase == Phase::Dialling {
                    self.on_called_back(&answer, now, &mut out);
                }
            }
            CallEvent::DialogEnded(how) => {
                let why = match how {
                    DialogEnd::Bye => EndReason::CallerHungUp,
                    DialogEnd::Cancel => EndReason::Cancelled,
                    DialogEnd::NoAck => EndReason::NoAck,
                };
                if self.phase == Phase::Active && why != EndReason::NoAck {
                    let at = self.moment(now);
                    self.behaviour.on_hangup(at);
                }
                self.finish(why, &mut out);
            }
            CallEvent::ReOffer { request, offer } => self.on_reoffer(request, &offer, &mut out),
            CallEvent::Info {
                request,
                content_type,
                body,
            } => {
                out.push(Command::Respond {
                    request,
                    status: 200,
                    sdp: None,
                });
                if let Some(key) = crate::sip::dtmf_relay::digit(content_type.as_deref(), &body) {
                    self.on_key(key, now, &mut out);
                }
            }
            CallEvent::Options { request } => out.push(Command::Respond {
                request,
                status: 200,
                sdp: None,
            }),
            CallEvent::Frame(frame) => {
                if self.phase == Phase::Active
                    && let Some(listener) = self.listener.as_mut()
                {
                    let heard = listener.push(&frame, now);
                    self.on_heard(heard, now, &mut out);
                }
            }
            CallEvent::Digit(key) => self.on_key(key, now, &mut out),
            CallEvent::PlaybackFinished => {
                // While queued what plays is the shell's hold music and announcements.
                if self.phase == Phase::Active && self.queued.is_none() {
                    let cues = self.behaviour.on_playback_finished(self.moment(now));
                    self.apply(cues, now, &mut out);
                }
            }
            CallEvent::MediaTimeout => self.end_now(EndReason::MediaTimeout, &mut out),
            CallEvent::Recognised { id, result } => self.on_recognised(id, result, now, &mut out),
            CallEvent::LookupDone { id, result } => {
                if self.phase == Phase::Active && self.lookup == Some(id) {
                    self.lookup = None;
                    let cues = self.behaviour.on_lookup_result(result, self.moment(now));
                    self.apply(cues, now, &mut out);
                }
            }
            CallEvent::Queue(notice) => self.on_queue_notice(notice, now, &mut out),
            CallEvent::AgentLeg { leg, event } => self.on_agent_leg(leg, event, now, &mut out),
            CallEvent::TransferFailed { reason } => {
                if self.queued.take().is_some() {
                    out.push(Command::HoldMusic(false));
                }
                if self.phase == Phase::Active {
                    let cues = self.behaviour.on_transfer_failed(&reason, self.moment(now));
                    self.apply(cues, now, &mut out);
                }
            }
            CallEvent::Draining => match self.phase {
                Phase::Ringing { .. } => {
                    out.push(Command::Refuse { status: 503 });
                    self.finish(EndReason::Shutdown, &mut out);
                }
                _ => self.end_now(EndReason::Shutdown, &mut out),
            },
        }
        out
    }

    /// The call's wall time at `now`, on its one clock.
    fn moment(&self, now: Instant) -> Moment {
        let (t0, wall0) = self.anchor;
        let since = chrono::Duration::from_std(now.saturating_duration_since(t0))
            .unwrap_or(chrono::Duration::zero());
        Moment {
            now,
            wall: wall0 + since,
        }
    }

    fn fire_timers(&mut self, now: Instant, out: &mut Vec<Command>) {
        match self.phase {
            Phase::Ringing { answer_at } if answer_at <= now => {
                out.push(Command::Answer {
                    sdp: self.answer_sdp.clone(),
                });
                self.phase = Phase::Answered;
                self.ledger.answered(now);
                self.max_end = Some(now + self.settings.max_duration);
            }
            Phase::Ending { bye_at } if bye_at <= now => {
                out.push(Command::Bye);
                self.release(out);
                return;
            }
            _ => {}
        }
        if self.max_end.is_some_and(|end| end <= now)
            && matches!(
                self.phase,
                Phase::Answered | Phase::Active | Phase::Ending { .. }
            )
        {
            self.end_now(EndReason::MaxDuration, out);
            return;
        }
        if self.phase != Phase::Active {
            return;
        }
        if let Some(listener) = self.listener.as_mut()
            && listener.next_deadline().is_some_and(|d| d <= now)
        {
            let heard = listener.advance(now);
            self.on_heard(heard, now, out);
        }
        if self.phase == Phase::Active && self.behaviour.next_deadline().is_some_and(|d| d <= now) {
            let cues = self.behaviour.on_timer(self.moment(now));
            self.apply(cues, now, out);
        }
    }

    fn on_ack(&mut self, answer: Option<Vec<u8>>, now: Instant, out: &mut Vec<Command>) {
        let answer = answer.filter(|body| !body.is_empty());
        match self.phase {
            Phase::Answered => {
                if self.late_offer {
                    let negotiated = answer
                        .ok_or_else(|| SdpError::Malformed("the ACK carried no SDP answer".into()))
                        .and_then(|body| accept_answer(&mut self.sdp, &body));
                    match negotiated {
                        Ok(media) => out.push(Command::StartMedia(Box::new(media))),
                        Err(err) => {
                            warn!(error = %err, "unusable SDP answer in ACK");
                            self.end_now(EndReason::Refused, out);
                            return;
                        }
                    }
                }
                self.phase = Phase::Active;
                let cues = self.behaviour.start(&self.parties, self.moment(now));
                self.apply(cues, now, out);
            }
            Phase::Active if self.reoffer_pending => {
                // The ACK for a re-INVITE we answered with our offer: apply the answer.
                // Other confirmations (after INFO or UPDATE) carry nothing new.
                self.reoffer_pending = false;
                match answer.map(|body| accept_answer(&mut self.sdp, &body)) {
                    Some(Ok(media)) => out.push(Command::UpdateMedia(Box::new(media))),
                    Some(Err(err)) => {
                        warn!(error = %err, "unusable SDP answer to our re-offer; media unchanged")
                    }
                    None => warn!("the ACK to our re-offer carried no answer; media unchanged"),
                }
            }
            _ => {}
        }
    }

    fn on_reoffer(&mut self, request: RequestId, offer: &[u8], out: &mut Vec<Command>) {
        if offer.is_empty() {
            // An offerless re-INVITE asks for our offer; the answer comes in its ACK.
            self.reoffer_pending = true;
            out.push(Command::Respond {
                request,
                status: 200,
                sdp: Some(self.sdp.offer()),
            });
            return;
        }
        let answered = std::str::from_utf8(offer)
            .map_err(|_| SdpError::Malformed("the SDP body is not UTF-8".into()))
            .and_then(|offer| self.sdp.answer(offer));
        match answered {
            Ok((answer, negotiated)) => {
                out.push(Command::UpdateMedia(Box::new(negotiated)));
                out.push(Command::Respond {
                    request,
                    status: 200,
                    sdp: Some(answer),
                });
            }
            Err(err) => {
                info!(error = %err, "refusing a re-offer");
                out.push(Command::Respond {
                    request,
                    status: 488,
                    sdp: None,
                });
            }
        }
    }

    fn on_key(&mut self, key: char, now: Instant, out: &mut Vec<Command>) {
        if let Some(queued) = &self.queued {
            if queued.bridged.is_some() {
                out.push(Command::DigitToAgent(key));
            } else if key == CALLBACK_KEY && queued.arrival.callback && queued.leg.is_none() {
                info!("the caller asks to be called back");
                out.push(Command::RequestCallback);
            }
            return;
        }
        if self.phase == Phase::Active {
            let cues = self.behaviour.on_key(key, self.moment(now));
            self.apply(cues, now, out);
        }
    }

    fn on_recognised(
        &mut self,
        id: u64,
        result: Result<crate::asr::Transcript, String>,
        now: Instant,
        out: &mut Vec<Command>,
    ) {
        if self.phase != Phase::Active {
            return;
        }
        let at = self.moment(now);
        let Some(listener) = self.listener.as_mut() else {
            return;
        };
        let behaviour = &self.behaviour;
        if let Some(turn) = listener.recognised(id, result, now, |t| behaviour.would_accept(t, at))
        {
            self.take_turn(&turn, now, out);
        }
    }

    fn on_heard(&mut self, heard: Vec<Heard>, now: Instant, out: &mut Vec<Command>) {
        for heard in heard {
            if self.phase != Phase::Active {
                return;
            }
            match heard {
                Heard::SpeechStarted => {
                    let at = self.moment(now);
                    self.behaviour.on_speech_activity(at);
                }
                Heard::BargeIn => {
                    let cues = self.behaviour.on_barge_in();
                    self.apply(cues, now, out);
                }
                Heard::Recognise {
                    id,
                    pcm,
                    hints,
                    early,
                } => out.push(Command::Recognise {
                    id,
                    pcm,
                    hints,
                    early,
                }),
                Heard::Turn(turn) => self.take_turn(&turn, now, out),
            }
        }
    }

    /// Logs a caller's turn (its words masked at sensitive steps) and hands it on.
    fn take_turn(&mut self, turn: &Turn, now: Instant, out: &mut Vec<Command>) {
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
        let cues = self
            .behaviour
            .on_speech(&turn.text, turn.confidence, self.moment(now));
        self.apply(cues, now, out);
    }

    /// Carries out the behaviour's cues: most become commands, listening stays here.
    fn apply(&mut self, cues: Vec<Cue>, now: Instant, out: &mut Vec<Command>) {
        for cue in cues {
            if self.phase != Phase::Active {
                return;
            }
            match cue {
                Cue::Play(ids) => out.push(Command::Play(ids)),
                Cue::Speak(sounds) => out.push(Command::Speak(sounds)),
                Cue::StopPlayback => out.push(Command::StopPlayback),
                Cue::Lookup { source, args } => {
                    let id = self.next_lookup;
                    self.next_lookup += 1;
                    self.lookup = Some(id);
                    out.push(Command::Lookup { id, source, args });
                }
                Cue::Transfer {
                    queue,
                    context,
                    max_wait,
                    callback,
                } => {
                    self.stop_listening(out);
                    let arrival = Arrival {
                        call: self.call_id.as_str().into(),
                        queue: queue.clone(),
                        priority: CallerPriority(i32::from(context.priority.rank())),
                        skills: context.skills.iter().map(|s| s.skill.clone()).collect(),
                        callback,
                        max_wait,
                    };
                    info!(%queue, priority = context.priority.as_str(), "queued for an agent");
                    self.ledger.queued(&queue, now);
                    self.queued = Some(Queued::new(arrival.clone(), now));
                    out.push(Command::HoldMusic(true));
                    out.push(Command::Enqueue { arrival, context });
                }
                Cue::StartListening {
                    listen,
                    prompt_playing,
                } => {
                    let speech = listen.input != InputMode::Dtmf && self.settings.speech;
                    self.listener = speech.then(|| {
                        SpeechListener::new(
                            &listen,
                            prompt_playing,
                            self.settings.early_recognition,
                            now,
                        )
                    });
                    self.set_audio(speech, out);
                }
                Cue::PromptFinished => {
                    if let Some(listener) = self.listener.as_mut() {
                        listener.prompt_finished();
                    }
                }
                Cue::StopListening => {
                    self.listener = None;
                    self.set_audio(false, out);
                }
                Cue::Hangup { why } => {
                    self.stop_listening(out);
                    self.end = Some(why);
                    self.phase = Phase::Ending {
                        bye_at: now + self.settings.playout_grace,
                    };
                    info!(reason = ?why, "call ending");
                }
            }
        }
    }

    /// What the ACD decided for this call.
    fn on_queue_notice(&mut self, notice: QueueNotice, now: Instant, out: &mut Vec<Command>) {
        let Some(queued) = self.queued.as_mut() else {
            return;
        };
        if queued.bridged.is_some() {
            // Talking to an agent: nothing the queue says changes that (the ACD sends
            // nothing for a bridged call; a late notice is ignored).
            info!(notice = ?notice, "queue notice for a bridged call ignored");
            return;
        }
        match notice {
            QueueNotice::NotQueued { reason } => {
                self.queued = None;
                out.push(Command::HoldMusic(false));
                let reason = match reason {
                    NotQueuedReason::NobodyStaffed => crate::dialplan::events::NO_AGENTS,
                    NotQueuedReason::Closed => crate::dialplan::events::QUEUE_CLOSED,
                    NotQueuedReason::UnknownQueue => "unknown queue",
                };
                let cues = self.behaviour.on_transfer_failed(reason, self.moment(now));
                self.apply(cues, now, out);
            }
            QueueNotice::Offer {
                agent, contacts, ..
            } => {
                if let Some(old) = queued.leg.take() {
                    self.ledger.leg_ended(old.id, now, "withdrawn");
                    out.push(Command::HangUpAgent { leg: old.id });
                }
                let waited_secs = queued.waited(now).as_secs();
                let leg = queued.open_leg(agent.clone());
                self.ledger.ringing(leg, &agent.0, now);
                info!(%agent, leg, "ringing an agent");
                out.push(Command::DialAgent {
                    leg,
                    agent: agent.0,
                    contacts,
                    waited_secs,
                });
            }
            QueueNotice::CancelOffer { agent } | QueueNotice::HangUpAgentLeg { agent } => {
                if queued.leg_of(&agent).is_some()
                    && let Some(leg) = queued.leg.take()
                {
                    self.ledger.leg_ended(leg.id, now, "withdrawn");
                    out.push(Command::HangUpAgent { leg: leg.id });
                }
            }
            QueueNotice::Bridge { agent } => {
                let Some(leg) = queued.leg_of(&agent).filter(|l| l.answered).map(|l| l.id) else {
                    // The leg is gone already: the ACD hears of it from its failure.
                    return;
                };
                queued.bridged = Some(agent.clone());
                self.ledger.bridged(&agent.0, now);
                info!(%agent, waited_ms = queued.waited(now).as_millis() as u64, "caller bridged to an agent");
                out.push(Command::HoldMusic(false));
                out.push(Command::Bridge { leg });
                let cues = self
                    .behaviour
                    .on_transfer_answered(&agent.0, self.moment(now));
                // The dialplan is done once an agent has the caller: nothing it says now
                // may reach the bridged caller.
                drop(cues);
            }
            QueueNotice::Announce(estimate) => {
                if queued.bridged.is_none() {
                    let mut ids = announcement(&estimate);
                    if queued.arrival.callback {
                        ids.push("queue-callback-offer".into());
                    }
                    out.push(Command::Announce(ids));
                }
            }
            QueueNotice::CallbackAccepted => {
                // The caller keeps their place off the line: their hangup is no abandon.
                self.queued = None;
                out.push(Command::HoldMusic(false));
                let cues = self.behaviour.on_callback_accepted(self.moment(now));
                self.apply(cues, now, out);
            }
            QueueNotice::CallbackRefused => {
                info!("no callback for this queue: the caller waits on")
            }
            QueueNotice::TimedOut => {
                if let Some(leg) = queued.leg.take() {
                    self.ledger.leg_ended(leg.id, now, "withdrawn");
                    out.push(Command::HangUpAgent { leg: leg.id });
                }
                self.queued = None;
                out.push(Command::HoldMusic(false));
                let cues = self.behaviour.on_transfer_timed_out(self.moment(now));
                self.apply(cues, now, out);
            }
        }
    }

    /// What became of the leg towards the agent.
    fn on_agent_leg(
        &mut self,
        leg: u64,
        event: AgentLegEvent,
        now: Instant,
        out: &mut Vec<Command>,
    ) {
        let Some(queued) = self.queued.as_mut() else {
            return;
        };
        let Some(current) = queued.current(leg).cloned() else {
            return;
        };
        let call = queued.call.clone();
        let agent = current.agent.clone();
        match event {
            AgentLegEvent::Answered => {
                if let Some(leg) = queued.leg.as_mut() {
                    leg.answered = true;
                }
                self.ledger.leg_answered(leg, now);
                out.push(Command::ReportAcd(AcdEvent::OfferAnswered { call, agent }));
            }
            AgentLegEvent::Failed(cause) => {
                queued.leg = None;
                self.ledger.leg_ended(leg, now, failure_reason(cause));
                info!(%agent, ?cause, "the agent's leg failed");
                out.push(Command::ReportAcd(AcdEvent::OfferFailed {
                    call,
                    agent,
                    cause,
                }));
            }
            AgentLegEvent::Lost if queued.bridged.is_some() => {
                warn!(%agent, "the agent's phone vanished mid-call: the caller is queued again");
                self.ledger.leg_ended(leg, now, "agent's phone lost");
                out.push(Command::HangUpAgent { leg });
                out.push(Command::ReportAcd(AcdEvent::CallEnded { call }));
                let arrival = queued.requeue();
                out.push(Command::HoldMusic(true));
                out.push(Command::Requeue(arrival));
            }
            AgentLegEvent::Lost => {
                queued.leg = None;
                self.ledger.leg_ended(leg, now, "agent's phone lost");
                out.push(Command::HangUpAgent { leg });
                out.push(Command::ReportAcd(AcdEvent::OfferFailed {
                    call,
                    agent,
                    cause: LegFailure::Error,
                }));
            }
            AgentLegEvent::Ended if queued.bridged.is_some() => {
                info!(%agent, "the agent hung up");
                self.ledger.leg_ended(leg, now, "agent hung up");
                // The ACD hears `CallEnded` from `release`.
                queued.leg = None;
                self.end_now(EndReason::AgentHungUp, out);
            }
            AgentLegEvent::Ended => {
                // Answered, then gone before the bridge: the caller keeps their place.
                queued.leg = None;
                self.ledger
                    .leg_ended(leg, now, "agent hung up before the bridge");
                out.push(Command::ReportAcd(AcdEvent::OfferFailed {
                    call,
                    agent,
                    cause: LegFailure::HungUp,
                }));
            }
            AgentLegEvent::Digit(key) => {
                if queued.bridged.is_some() {
                    out.push(Command::CallerDigit(key));
                }
            }
        }
    }

    fn set_audio(&mut self, on: bool, out: &mut Vec<Command>) {
        if self.audio_on != on {
            self.audio_on = on;
            out.push(Command::Audio(on));
        }
    }

    fn stop_listening(&mut self, out: &mut Vec<Command>) {
        self.listener = None;
        self.set_audio(false, out);
    }

    /// We end the call at once: BYE, then release.
    fn end_now(&mut self, why: EndReason, out: &mut Vec<Command>) {
        if self.phase == Phase::Ended {
            return;
        }
        if self.end.is_none() {
            self.end = Some(why);
        }
        info!(reason = ?why, "call ending");
        out.push(Command::Bye);
        self.release(out);
    }

    /// The far end (or a refusal) ended the call: nothing to send, release.
    fn finish(&mut self, why: EndReason, out: &mut Vec<Command>) {
        if self.end.is_none() {
            self.end = Some(why);
        }
        self.release(out);
    }

    fn release(&mut self, out: &mut Vec<Command>) {
        self.stop_listening(out);
        if let Some(queued) = self.queued.take() {
            if let Some(leg) = &queued.leg {
                out.push(Command::HangUpAgent { leg: leg.id });
            }
            out.push(Command::ReportAcd(queued.caller_gone()));
        }
        self.lookup = None;
        self.phase = Phase::Ended;
        self.ended_at = Some(self.clock);
        out.push(Command::Release);
    }
}

fn accept_answer(sdp: &mut SdpSession, body: &[u8]) -> Result<NegotiatedMedia, SdpError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| SdpError::Malformed("the SDP body is not UTF-8".into()))?;
    sdp.accept_answer(text)
}
