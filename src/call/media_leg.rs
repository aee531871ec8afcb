//! A call's media leg: the SDP offer/answer state plus the running media session.
//!
//! The RTP work itself is `media::session`; this file decides when it starts (at once
//! when the INVITE carried an offer, at the ACK when we had to offer), turns re-offers
//! into session updates, and keeps what the call says in order: a play that waits for
//! text-to-speech holds back the plays queued after it until its audio is ready.

use super::dialplan_call::Sound;
use crate::media::events::{MediaEvent, PlaybackId};
use crate::media::port_allocator::PortAllocator;
use crate::media::sdp::{MediaCapabilities, NegotiatedMedia, SdpError, SdpSession};
use crate::media::session::{MediaSession, MediaSocket, SessionConfig, SessionError};
use crate::prompts::PromptCatalog;
use crate::server::Shared;
use crate::tts::Tts;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::warn;

/// The id of the `PlaybackFinished` a play that ended up with nothing to play reports.
const NOTHING_PLAYED: PlaybackId = PlaybackId::MAX;

#[derive(Debug, thiserror::Error)]
pub enum LegError {
    #[error("{0}")]
    NotAcceptable(String),
    #[error("{0}")]
    Malformed(String),
    #[error("the SDP body is not UTF-8")]
    NotText,
    #[error(transparent)]
    Session(#[from] SessionError),
}

impl From<SdpError> for LegError {
    fn from(err: SdpError) -> Self {
        match err {
            SdpError::NotAcceptable(why) => LegError::NotAcceptable(why),
            SdpError::Malformed(why) => LegError::Malformed(why),
        }
    }
}

/// The session, or the bound socket waiting for the answer to our offer.
enum State {
    Waiting(MediaSocket, SessionConfig),
    Running(MediaSession, mpsc::Receiver<MediaEvent>),
    Closed,
}

/// One play waiting in line.
enum Queued {
    /// Samples ready to go (the parts of one play, joined when it starts).
    Ready(Vec<Arc<[i16]>>),
    /// Text-to-speech still running for this play.
    Synthesising(JoinHandle<Vec<Arc<[i16]>>>),
}

/// Plays held back behind one that waits for text-to-speech.
#[derive(Default)]
struct Waiting {
    plays: VecDeque<Queued>,
    /// Plays that left the line without sound (cut, or nothing synthesised): each still
    /// owes the call one `PlaybackFinished`.
    owed_finishes: usize,
}

/// One call's media.
pub struct MediaLeg {
    sdp: SdpSession,
    state: State,
    waiting: Mutex<Waiting>,
}

fn text(body: &[u8]) -> Result<&str, LegError> {
    std::str::from_utf8(body).map_err(|_| LegError::NotText)
}

/// The media session settings a call gets from the configuration.
pub fn session_config(shared: &Shared) -> SessionConfig {
    SessionConfig {
        latching: shared.config.rtp.latching,
        jitter_depth: shared.config.rtp.jitter_buffer_packets.clamp(1, 8),
        rtp_timeout: Some(Duration::from_secs(shared.config.calls.media_timeout_secs)),
        ..SessionConfig::default()
    }
}

impl MediaLeg {
    /// Binds a port pair and answers `offer` (starting media at once), or builds our offer
    /// when the INVITE came without SDP. Returns the leg and the SDP for the 200 OK.
    pub fn open(
        ports: &PortAllocator,
        advertised: Option<std::net::IpAddr>,
        config: SessionConfig,
        offer: Option<&[u8]>,
    ) -> Result<(Self, String), LegError> {
        let offer = offer.map(text).transpose()?;
        let socket = MediaSocket::bind(ports)?;
        let local = socket.local_addr();
        let written = SocketAddr::new(advertised.unwrap_or(local.ip()), local.port());
        let mut sdp = SdpSession::new(
            written,
            MediaCapabilities::default(),
            rand::random::<u32>().into(),
        );
        match offer {
            Some(offer) => {
                let (answer, negotiated) = sdp.answer(offer)?;
                let (session, events) = socket.start(&negotiated, config)?;
                Ok((
                    MediaLeg {
                        sdp,
                        state: State::Running(session, events),
                        waiting: Mutex::default(),
                    },
                    answer,
                ))
            }
            None => {
                let ours = sdp.offer();
                Ok((
                    MediaLeg {
                        sdp,
                        state: State::Waiting(socket, config),
                        waiting: Mutex::default(),
                    },
                    ours,
                ))
            }
        }
    }

    /// Takes the caller's answer to our offer (INVITE without SDP: it comes in the ACK).
    pub fn apply_answer(&mut self, answer: &[u8]) -> Result<(), LegError> {
        let negotiated = self.sdp.accept_answer(text(answer)?)?;
        self.apply(&negotiated)
    }

    fn apply(&mut self, negotiated: &NegotiatedMedia) -> Result<(), LegError> {
        match std::mem::replace(&mut self.state, State::Closed) {
            State::Waiting(socket, config) => {
                let (session, events) = socket.start(negotiated, config)?;
                self.state = State::Running(session, events);
            }
            State::Running(session, events) => {
                session.update(negotiated);
                self.state = State::Running(session, events);
            }
            State::Closed => {}
        }
        Ok(())
    }

    /// Whether media is flowing (false while we wait for the answer to our offer).
    pub fn is_running(&self) -> bool {
        matches!(self.state, State::Running(..))
    }

    /// Answers a re-offer (re-INVITE or UPDATE): hold, resume, a new address or codec.
    pub fn renegotiate(&mut self, offer: &[u8]) -> Result<String, LegError> {
        if offer.is_empty() {
            // An offerless re-INVITE asks for our offer; the answer comes in its ACK.
            return Ok(self.sdp.offer());
        }
        let (answer, negotiated) = self.sdp.answer(text(offer)?)?;
        self.apply(&negotiated)?;
        Ok(answer)
    }

    /// Plays prompts back to back as one buffer, so the sequence has no gaps between
    /// recordings. Returns false when nothing could be played (unknown ids are logged).
    pub fn play_sequence(&self, catalog: &PromptCatalog, ids: &[String]) -> bool {
        let State::Running(session, _) = &self.state else {
            return false;
        };
        let parts: Vec<Arc<[i16]>> = ids.iter().filter_map(|id| recording(catalog, id)).collect();
        if parts.is_empty() {
            return false;
        }
        let mut waiting = self.waiting();
        if waiting.plays.is_empty() {
            start(session, parts);
        } else {
            waiting.plays.push_back(Queued::Ready(parts));
        }
        true
    }

    /// Plays recordings and free text in order, as one buffer. Text is synthesised by
    /// `tts` off the call's task (the call goes on meanwhile) and the play starts when it
    /// is ready; without `tts`, or when synthesis fails, the text is skipped with a log
    /// line. Returns false when nothing could be played; otherwise one
    /// `PlaybackFinished` follows from [`next_event`](Self::next_event), as for any play.
    pub fn speak(&self, catalog: &PromptCatalog, tts: Option<&Arc<Tts>>, sounds: &[Sound]) -> bool {
        let State::Running(session, _) = &self.state else {
            return false;
        };
        let mut parts: Vec<Part> = Vec::with_capacity(sounds.len());
        for sound in sounds {
            match (sound, tts) {
                (Sound::Prompt(id), _) => {
                    parts.extend(recording(catalog, id).map(Part::Ready));
                }
                (Sound::Text(text), Some(_)) => parts.push(Part::Text(text.clone())),
                (Sound::Text(text), None) => warn!(
                    chars = text.chars().count(),
                    "free text has no recording and no [tts] command is configured; skipped"
                ),
            }
        }
        let tts = match tts {
            Some(tts) if parts.iter().any(|p| matches!(p, Part::Text(_))) => tts.clone(),
            _ => {
                let ready: Vec<Arc<[i16]>> = parts
                    .into_iter()
                    .filter_map(|p| match p {
                        Part::Ready(samples) => Some(samples),
                        Part::Text(_) => None,
                    })
                    .collect();
                if ready.is_empty() {
                    return false;
                }
                let mut waiting = self.waiting();
                if waiting.plays.is_empty() {
                    start(session, ready);
                } else {
                    waiting.plays.push_back(Queued::Ready(ready));
                }
                return true;
            }
        };
        let synthesis = tokio::spawn(async move {
            let mut ready = Vec::with_capacity(parts.len());
            for part in parts {
                match part {
                    Part::Ready(samples) => ready.push(samples),
                    Part::Text(text) => match tts.speak(&text).await {
                        Ok(samples) => ready.push(samples),
                        Err(err) => warn!(
                            program = tts.program(),
                            error = %err,
                            "text-to-speech failed; the text is skipped"
                        ),
                    },
                }
            }
            ready
        });
        self.waiting()
            .plays
            .push_back(Queued::Synthesising(synthesis));
        true
    }

    /// Cuts the current playback and everything queued (barge-in).
    pub fn stop_playback(&self) {
        if let State::Running(session, _) = &self.state {
            let mut waiting = self.waiting();
            // A synthesis still running finishes anyway (and fills the cache); its play is
            // dropped.
            waiting.owed_finishes += waiting.plays.len();
            waiting.plays.clear();
            session.stop_playback();
        }
    }

    /// The next media event; pending forever while media has not started. Plays held back
    /// for text-to-speech start here, in order, as their audio becomes ready.
    pub async fn next_event(&mut self) -> Option<MediaEvent> {
        loop {
            let State::Running(session, events) = &mut self.state else {
                return std::future::pending().await;
            };
            let waiting = self.waiting.get_mut().unwrap_or_else(|p| p.into_inner());
            while let Some(Queued::Ready(_)) = waiting.plays.front() {
                if let Some(Queued::Ready(parts)) = waiting.plays.pop_front()
                    && !start(session, parts)
                {
                    waiting.owed_finishes += 1;
                }
            }
            if waiting.owed_finishes > 0 {
                waiting.owed_finishes -= 1;
                return Some(MediaEvent::PlaybackFinished {
                    id: NOTHING_PLAYED,
                    completed: false,
                });
            }
            let Some(Queued::Synthesising(synthesis)) = waiting.plays.front_mut() else {
                return events.recv().await;
            };
            tokio::select! {
                event = events.recv() => return event,
                done = synthesis => {
                    // A panicked synthesis plays nothing (and still reports its end).
                    waiting.plays[0] = Queued::Ready(done.unwrap_or_default());
                }
            }
        }
    }

    fn waiting(&self) -> std::sync::MutexGuard<'_, Waiting> {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stops the media task and releases the ports.
    pub async fn close(&mut self) {
        if let State::Running(session, _) = std::mem::replace(&mut self.state, State::Closed) {
            session.close().await;
        }
    }
}

/// One part of a play while its text is synthesised.
enum Part {
    Ready(Arc<[i16]>),
    Text(String),
}

fn recording(catalog: &PromptCatalog, id: &str) -> Option<Arc<[i16]>> {
    let samples = catalog.samples(id);
    if samples.is_none() {
        warn!(prompt = %id, "no such prompt");
    }
    samples
}

/// Starts one play; false when it has no samples.
fn start(session: &MediaSession, mut parts: Vec<Arc<[i16]>>) -> bool {
    match parts.len() {
        0 => return false,
        // A single recording plays exactly as recorded.
        1 => session.play(parts.swap_remove(0)),
        // A sequence is trimmed and crossfaded so it sounds like one sentence.
        _ => session.play(crate::prompts::gapless::join(&parts).into()),
    };
    true
}
