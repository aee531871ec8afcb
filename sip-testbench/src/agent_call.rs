//! The agent bot taking calls: the requests that reach an [`AgentPhone`](crate::agent::AgentPhone)
//! and what the phone does with an INVITE (the one the server sends when it transfers a
//! caller to the agent), as the test configured it: answer after a delay and talk, decline,
//! be busy, ring until cancelled, vanish, or answer with a body that is not SDP. Each
//! finished call is reported as an [`AgentCall`].
//!
//! The SIP side is rsipstack's server INVITE dialog (as in the server's call shell); the
//! media side is the server's own media session, as in the caller bot.

use hotline::media::events::{FRAME_SAMPLES, MediaEvent, MediaEvents};
use hotline::media::port_allocator::PortAllocator;
use hotline::media::sdp::{MediaCapabilities, NegotiatedMedia, SdpSession};
use hotline::media::session::{MediaSession, MediaSocket, SessionConfig};
use rsipstack::dialog::dialog::{Dialog, DialogState, DialogStateReceiver, TerminatedReason};
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::prelude::HeadersExt;
use rsipstack::sip::{Header, Method, SipMessage, StatusCode, Uri};
use rsipstack::transaction::TransactionReceiver;
use rsipstack::transaction::endpoint::TransportEventInspector;
use rsipstack::transaction::transaction::Transaction;
use rsipstack::transport::TransportEvent;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;

/// The body of [`AgentAnswer::GarbageSdp`]'s 200 OK.
pub const GARBAGE_SDP: &str = "this is not a session description\r\n";
/// How long the phone plays out its jitter buffer after the other side's BYE.
const DRAIN: Duration = Duration::from_millis(150);

/// How the phone answers an INVITE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentAnswer {
    /// 180 Ringing, then after the delay 200 OK with an SDP answer (PCMU or PCMA, whichever
    /// the offer prefers; telephone-event if offered). An offer without usable audio gets 488.
    AnswerAfter(Duration),
    /// 180, then 603 Decline after the delay.
    DeclineAfter(Duration),
    /// 486 Busy Here at once.
    Busy,
    /// 180 and nothing more: the server will CANCEL (200 to the CANCEL, 487 to the INVITE).
    NeverAnswer,
    /// 180, then after the delay the phone "vanishes": it stops answering anything about
    /// this call (no final response, CANCEL and retransmissions unanswered).
    VanishAfter(Duration),
    /// 180, then at once a 200 OK whose body (`application/sdp`) is not SDP.
    GarbageSdp,
    /// 180, then after the delay 200 OK with an SDP answer naming someone else's RTP
    /// socket (a benchmark's shared one): the phone runs no media session of its own and
    /// hands the negotiated media on instead.
    AnswerElsewhere(MediaElsewhere),
    /// 180, then 200 OK with an SDP answer once the test says so through the signal, as a
    /// person picks up when they have read the screen (the browser tests).
    AnswerWhenTold(AnswerSignal),
}

/// The go-ahead for [`AgentAnswer::AnswerWhenTold`]: one `answer()` picks up one call, even
/// a call that rings after it was given.
#[derive(Debug, Clone, Default)]
pub struct AnswerSignal(Arc<tokio::sync::Notify>);

impl AnswerSignal {
    pub fn answer(&self) {
        self.0.notify_one();
    }
}

impl PartialEq for AnswerSignal {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for AnswerSignal {}

/// Where [`AgentAnswer::AnswerElsewhere`] points the media, and where it reports it.
#[derive(Debug, Clone)]
pub struct MediaElsewhere {
    pub after: Duration,
    /// The RTP address the SDP answer names.
    pub rtp: std::net::SocketAddr,
    /// Each answered call's Call-ID and negotiated media (where to send, which codec).
    pub answered: UnboundedSender<(String, NegotiatedMedia)>,
}

impl PartialEq for MediaElsewhere {
    fn eq(&self, other: &Self) -> bool {
        self.after == other.after
            && self.rtp == other.rtp
            && self.answered.same_channel(&other.answered)
    }
}

impl Eq for MediaElsewhere {}

/// What the phone does with each INVITE.
#[derive(Debug, Clone)]
pub struct AgentBehaviour {
    pub answer: AgentAnswer,
    /// 8 kHz mono samples the agent says once it answered (20 ms RTP frames in the
    /// negotiated codec, paced in real time), then silence frames until the call ends.
    pub speak: Option<Arc<[i16]>>,
    /// Hang up (BYE) this long after answering; `None` waits for the other side's BYE.
    pub hangup_after: Option<Duration>,
    /// This long after answering the phone vanishes mid-call: its RTP stops and nothing
    /// about the call is answered any more (no BYE), as when a phone loses power.
    pub vanish_after: Option<Duration>,
}

impl AgentBehaviour {
    /// `answer`, saying nothing, never hanging up first.
    pub fn new(answer: AgentAnswer) -> Self {
        Self {
            answer,
            speak: None,
            hangup_after: None,
            vanish_after: None,
        }
    }
}

/// How a call to the phone ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentEnd {
    /// The other side (the server) sent BYE.
    ServerBye,
    /// The agent hung up (`hangup_after`).
    AgentBye,
    /// CANCEL before the answer.
    Cancelled,
    /// The phone sent 603.
    Declined,
    /// The phone sent 486.
    Busy,
    /// The phone sent 488: the offer had no audio it can use (the reason).
    NotAcceptable(String),
    /// The 200 OK was never acknowledged.
    NoAck,
    /// The phone vanished (`VanishAfter`).
    Vanished,
    /// Anything else (what happened).
    Failed(String),
}

/// One finished call.
#[derive(Debug, Clone)]
pub struct AgentCall {
    pub request_uri: String,
    pub call_id: String,
    /// Every header of the INVITE as received (name, value), in order.
    pub headers: Vec<(String, String)>,
    /// The INVITE's body (the SDP offer).
    pub offer: Vec<u8>,
    /// The phone sent a 200 OK.
    pub answered: bool,
    /// What the agent heard, 8 kHz mono (only when answered with media).
    pub heard: Vec<i16>,
    /// RFC 4733 digits received, in order.
    pub digits: String,
    pub ended_by: AgentEnd,
}

impl AgentCall {
    /// The value of the first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Where calls are reported, and how they are taken.
struct Taking {
    behaviour: AgentBehaviour,
    reports: UnboundedSender<AgentCall>,
}

/// Call-IDs of calls the phone vanished from: everything about them is dropped on arrival.
#[derive(Clone, Default)]
pub(crate) struct Vanished(Arc<Mutex<HashSet<String>>>);

impl Vanished {
    fn insert(&self, call_id: String) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(call_id);
    }

    fn contains(&self, call_id: &str) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(call_id)
    }

    /// The endpoint's filter of incoming messages.
    pub(crate) fn filter(&self) -> Box<dyn TransportEventInspector> {
        Box::new(VanishFilter(self.clone()))
    }
}

struct VanishFilter(Vanished);

#[async_trait::async_trait]
impl TransportEventInspector for VanishFilter {
    async fn handle(&self, event: TransportEvent) -> Option<TransportEvent> {
        if let TransportEvent::Incoming(message, _, _) = &event {
            let call_id = match message {
                SipMessage::Request(r) => r.call_id_header().ok().map(|h| h.value().to_string()),
                SipMessage::Response(r) => r.call_id_header().ok().map(|h| h.value().to_string()),
            };
            if call_id.is_some_and(|id| self.0.contains(&id)) {
                return None;
            }
        }
        Some(event)
    }
}

/// The phone's answering side, shared by its request loop and its calls.
pub(crate) struct CallDesk {
    dialogs: Arc<DialogLayer>,
    contact: Option<Uri>,
    ports: PortAllocator,
    taking: Mutex<Option<Taking>>,
    vanished: Vanished,
    cancel: CancellationToken,
}

impl CallDesk {
    pub(crate) fn new(
        dialogs: Arc<DialogLayer>,
        contact: &str,
        ports: PortAllocator,
        vanished: Vanished,
        cancel: CancellationToken,
    ) -> Self {
        Self {
            dialogs,
            contact: Uri::try_from(contact).ok(),
            ports,
            taking: Mutex::new(None),
            vanished,
            cancel,
        }
    }

    /// Takes calls with `behaviour` from now on, reporting them on the returned channel
    /// (a channel returned earlier gets nothing more).
    pub(crate) fn take_calls(&self, behaviour: AgentBehaviour) -> UnboundedReceiver<AgentCall> {
        let (reports, calls) = unbounded_channel();
        *self.taking.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(Taking { behaviour, reports });
        calls
    }

    /// Replaces the behaviour for INVITEs to come (no effect before `take_calls`).
    pub(crate) fn set_behaviour(&self, behaviour: AgentBehaviour) {
        if let Some(taking) = self
            .taking
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_mut()
        {
            taking.behaviour = behaviour;
        }
    }

    fn current(&self) -> Option<(AgentBehaviour, UnboundedSender<AgentCall>)> {
        self.taking
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|t| (t.behaviour.clone(), t.reports.clone()))
    }
}

/// Answers every request that reaches the phone: new INVITEs become calls (480 until a
/// test takes calls), in-dialog requests go to their dialog, OPTIONS gets 200.
pub(crate) async fn serve(desk: Arc<CallDesk>, mut incoming: TransactionReceiver) {
    while let Some(mut tx) = incoming.recv().await {
        let method = tx.original.method;
        let in_dialog = tx
            .original
            .to_header()
            .ok()
            .and_then(|to| to.tag().ok().flatten())
            .is_some();
        if in_dialog {
            match desk.dialogs.match_dialog(&tx) {
                Some(Dialog::Invite(mut dialog)) => {
                    tokio::spawn(async move { dialog.handle(&mut tx).await.ok() });
                }
                _ if method == Method::Ack => {}
                _ => {
                    tx.reply(StatusCode::CallTransactionDoesNotExist).await.ok();
                }
            }
            continue;
        }
        match method {
            Method::Invite => match desk.current() {
                Some((behaviour, reports)) => {
                    tokio::spawn(take(desk.clone(), tx, behaviour, reports));
                }
                None => {
                    tx.reply(StatusCode::TemporarilyUnavailable).await.ok();
                }
            },
            Method::Options => {
                let allow = Header::Other(
                    "Allow".into(),
                    "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO".into(),
                );
                tx.reply_with(StatusCode::OK, vec![allow], None).await.ok();
            }
            Method::Ack => {}
            Method::Bye | Method::Cancel | Method::Info | Method::Update | Method::PRack => {
                tx.reply(StatusCode::CallTransactionDoesNotExist).await.ok();
            }
            _ => {
                tx.reply(StatusCode::MethodNotAllowed).await.ok();
            }
        }
    }
}

/// One INVITE, from its arrival to its report.
async fn take(
    desk: Arc<CallDesk>,
    mut tx: Transaction,
    behaviour: AgentBehaviour,
    reports: UnboundedSender<AgentCall>,
) {
    let invite = &tx.original;
    let mut report = AgentCall {
        request_uri: invite.uri.to_string(),
        call_id: invite
            .call_id_header()
            .map(|h| h.value().to_string())
            .unwrap_or_default(),
        headers: invite
            .headers
            .iter()
            .map(|h| (h.name().to_string(), h.value().to_string()))
            .collect(),
        offer: invite.body.clone(),
        answered: false,
        heard: Vec::new(),
        digits: String::new(),
        ended_by: AgentEnd::Failed("not handled".into()),
    };
    let (state_tx, states) = desk.dialogs.new_dialog_state_channel();
    let dialog =
        match desk
            .dialogs
            .get_or_create_server_invite(&tx, state_tx, None, desk.contact.clone())
        {
            Ok(dialog) => dialog,
            Err(err) => {
                tx.reply(StatusCode::ServerInternalError).await.ok();
                report.ended_by = AgentEnd::Failed(format!("no dialog: {err}"));
                reports.send(report).ok();
                return;
            }
        };
    // The INVITE server transaction (100 Trying, ACK, CANCEL → 487) runs beside the call;
    // our responses reach it through the dialog.
    let mut handler = dialog.clone();
    let handling = tokio::spawn(async move { handler.handle(&mut tx).await.ok() });
    let mut call = AgentLeg {
        desk: desk.clone(),
        dialog,
        states,
        handling,
        report,
    };
    call.report.ended_by = call.run(&behaviour).await;
    desk.dialogs.remove_dialog(&call.dialog.id());
    reports.send(call.report).ok();
}

/// The phone's side of one call.
struct AgentLeg {
    desk: Arc<CallDesk>,
    dialog: InviteDialog,
    states: DialogStateReceiver,
    handling: JoinHandle<Option<()>>,
    report: AgentCall,
}

impl AgentLeg {
    async fn run(&mut self, behaviour: &AgentBehaviour) -> AgentEnd {
        match &behaviour.answer {
            AgentAnswer::Busy => self.refuse(StatusCode::BusyHere, AgentEnd::Busy),
            AgentAnswer::DeclineAfter(delay) => {
                self.ring();
                if let Some(end) = self.wait(*delay).await {
                    return end;
                }
                self.refuse(StatusCode::Decline, AgentEnd::Declined)
            }
            AgentAnswer::NeverAnswer => {
                self.ring();
                loop {
                    if let Some(end) = self.wait(Duration::from_secs(3600)).await {
                        return end;
                    }
                }
            }
            AgentAnswer::VanishAfter(delay) => {
                self.ring();
                if let Some(end) = self.wait(*delay).await {
                    return end;
                }
                self.vanish()
            }
            AgentAnswer::GarbageSdp => {
                self.ring();
                if let Err(err) = self.accept(GARBAGE_SDP.as_bytes().to_vec()) {
                    return err;
                }
                self.converse(None, behaviour.hangup_after, behaviour.vanish_after)
                    .await
            }
            AgentAnswer::AnswerElsewhere(elsewhere) => {
                self.ring();
                if let Some(end) = self.wait(elsewhere.after).await {
                    return end;
                }
                let mut sdp = SdpSession::new(
                    elsewhere.rtp,
                    MediaCapabilities::default(),
                    rand::random::<u32>().into(),
                );
                let offer = String::from_utf8_lossy(&self.report.offer).into_owned();
                let (answer, negotiated) = match sdp.answer(&offer) {
                    Ok(answered) => answered,
                    Err(err) => {
                        self.dialog
                            .reject(Some(StatusCode::NotAcceptableHere), None)
                            .ok();
                        return AgentEnd::NotAcceptable(err.to_string());
                    }
                };
                if let Err(err) = self.accept(answer.into_bytes()) {
                    return err;
                }
                elsewhere
                    .answered
                    .send((self.report.call_id.clone(), negotiated))
                    .ok();
                self.converse(None, behaviour.hangup_after, behaviour.vanish_after)
                    .await
            }
            AgentAnswer::AnswerWhenTold(signal) => {
                self.ring();
                let told = signal.0.clone();
                tokio::select! {
                    _ = told.notified() => {}
                    end = self.wait(Duration::from_secs(3600)) => {
                        if let Some(end) = end {
                            return end;
                        }
                    }
                }
                self.answer_and_talk(behaviour).await
            }
            AgentAnswer::AnswerAfter(delay) => {
                self.ring();
                if let Some(end) = self.wait(*delay).await {
                    return end;
                }
                self.answer_and_talk(behaviour).await
            }
        }
    }

    /// 200 OK with an SDP answer, then the conversation.
    async fn answer_and_talk(&mut self, behaviour: &AgentBehaviour) -> AgentEnd {
        let media = match self.negotiate() {
            Ok(media) => media,
            Err(end) => return end,
        };
        let (answer, session, events) = media;
        if let Err(err) = self.accept(answer.into_bytes()) {
            return err;
        }
        if let Some(voice) = &behaviour.speak {
            session.play(voice.clone());
        }
        self.converse(
            Some((session, events)),
            behaviour.hangup_after,
            behaviour.vanish_after,
        )
        .await
    }

    fn ring(&self) {
        self.dialog.ringing(None, None).ok();
    }

    fn refuse(&self, status: StatusCode, end: AgentEnd) -> AgentEnd {
        match self.dialog.reject(Some(status), None) {
            Ok(()) => end,
            Err(err) => AgentEnd::Failed(format!("could not refuse: {err}")),
        }
    }

    fn accept(&mut self, body: Vec<u8>) -> Result<(), AgentEnd> {
        let sdp = Header::ContentType("application/sdp".into());
        self.dialog
            .accept(Some(vec![sdp]), Some(body))
            .map_err(|err| AgentEnd::Failed(format!("could not answer: {err}")))?;
        self.report.answered = true;
        Ok(())
    }

    /// Answers the offer and starts the media session (sending to the offer's address).
    fn negotiate(&self) -> Result<(String, MediaSession, MediaEvents), AgentEnd> {
        let socket = MediaSocket::bind(&self.desk.ports).map_err(|err| {
            self.dialog
                .reject(Some(StatusCode::ServiceUnavailable), None)
                .ok();
            AgentEnd::Failed(format!("no RTP port: {err}"))
        })?;
        let mut sdp = SdpSession::new(
            socket.local_addr(),
            MediaCapabilities::default(),
            rand::random::<u32>().into(),
        );
        let offer = String::from_utf8_lossy(&self.report.offer).into_owned();
        let (answer, negotiated) = sdp.answer(&offer).map_err(|err| {
            self.dialog
                .reject(Some(StatusCode::NotAcceptableHere), None)
                .ok();
            AgentEnd::NotAcceptable(err.to_string())
        })?;
        let config = SessionConfig {
            latching: false,
            rtp_timeout: None,
            ..SessionConfig::default()
        };
        let (session, events) = socket.start(&negotiated, config).map_err(|err| {
            self.dialog
                .reject(Some(StatusCode::ServerInternalError), None)
                .ok();
            AgentEnd::Failed(format!("media did not start: {err}"))
        })?;
        Ok((answer, session, events))
    }

    /// Waits `delay` before the answer; `Some` when the call ended meanwhile.
    async fn wait(&mut self, delay: Duration) -> Option<AgentEnd> {
        let until = Instant::now() + delay;
        loop {
            tokio::select! {
                _ = sleep_until(until) => return None,
                _ = self.desk.cancel.cancelled() => {
                    self.dialog.reject(Some(StatusCode::TemporarilyUnavailable), None).ok();
                    return Some(AgentEnd::Failed("the phone stopped".into()));
                }
                state = self.states.recv() => match state {
                    Some(DialogState::Terminated(_, reason)) => return Some(ended(&reason)),
                    Some(_) => {}
                    None => return Some(AgentEnd::Failed("the dialog went away".into())),
                },
            }
        }
    }

    /// Stops answering anything about this call.
    fn vanish(&mut self) -> AgentEnd {
        self.desk.vanished.insert(self.report.call_id.clone());
        self.handling.abort();
        AgentEnd::Vanished
    }

    /// The answered call, until someone hangs up.
    async fn converse(
        &mut self,
        media: Option<(MediaSession, MediaEvents)>,
        hangup_after: Option<Duration>,
        vanish_after: Option<Duration>,
    ) -> AgentEnd {
        let (session, mut events) = match media {
            Some((session, events)) => (Some(session), Some(events)),
            None => (None, None),
        };
        let hangup_at = hangup_after.map(|after| Instant::now() + after);
        let vanish_at = vanish_after.map(|after| Instant::now() + after);
        let end = loop {
            tokio::select! {
                _ = sleep_until(vanish_at.unwrap_or_else(Instant::now)), if vanish_at.is_some() => {
                    break self.vanish();
                }
                _ = sleep_until(hangup_at.unwrap_or_else(Instant::now)), if hangup_at.is_some() => {
                    break match self.dialog.bye().await {
                        Ok(()) => AgentEnd::AgentBye,
                        Err(err) => AgentEnd::Failed(format!("BYE failed: {err}")),
                    };
                }
                _ = self.desk.cancel.cancelled() => {
                    self.dialog.bye().await.ok();
                    break AgentEnd::Failed("the phone stopped".into());
                }
                state = self.states.recv() => match state {
                    Some(DialogState::Terminated(_, reason)) => break ended(&reason),
                    Some(_) => {}
                    None => break AgentEnd::Failed("the dialog went away".into()),
                },
                event = next_event(&mut events) => match event {
                    Some(event) => self.hear(event),
                    None => events = None,
                },
            }
        };
        if end == AgentEnd::ServerBye
            && let Some(events) = events.as_mut()
        {
            // Like a phone, play out what is still in the jitter buffer after the BYE.
            let drain_until = Instant::now() + DRAIN;
            while let Ok(Some(event)) = tokio::time::timeout_at(drain_until, events.recv()).await {
                self.hear(event);
            }
        }
        if let Some(session) = session {
            session.close().await;
        }
        end
    }

    fn hear(&mut self, event: MediaEvent) {
        match event {
            MediaEvent::Audio(frame) => self
                .report
                .heard
                .extend_from_slice(&frame.samples[..FRAME_SAMPLES]),
            MediaEvent::Dtmf(digit) => self.report.digits.push(digit),
            _ => {}
        }
    }
}

/// The next media event; pending for ever without media.
async fn next_event(events: &mut Option<MediaEvents>) -> Option<MediaEvent> {
    match events {
        Some(events) => events.recv().await,
        None => std::future::pending().await,
    }
}

fn ended(reason: &TerminatedReason) -> AgentEnd {
    match reason {
        TerminatedReason::UacCancel => AgentEnd::Cancelled,
        TerminatedReason::UacBye => AgentEnd::ServerBye,
        TerminatedReason::UasBye => AgentEnd::AgentBye,
        TerminatedReason::Timeout => AgentEnd::NoAck,
        other => AgentEnd::Failed(format!("dialog ended: {other:?}")),
    }
}
