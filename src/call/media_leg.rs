//! A call's media leg in the shell: the bound socket, then the running media session.
//!
//! The RTP work itself is `media::session`; the call machine decides what is negotiated
//! and when media starts. This file holds the socket until then, and keeps what the call
//! says in order: a play that waits for text-to-speech holds back the plays queued after
//! it until its audio is ready. Synthesis still running when the call ends is cancelled.

use super::behaviour::Sound;
use crate::media::engine::MediaEngine;
use crate::media::events::{MediaEvent, MediaEvents, PlaybackId};
use crate::media::port_allocator::PortAllocator;
use crate::media::sdp::NegotiatedMedia;
use crate::media::session::{MediaSession, MediaSocket, SessionConfig, SessionError};
use crate::prompts::PromptCatalog;
use crate::tts::Tts;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::task::JoinHandle;
use tracing::warn;

/// The id of the `PlaybackFinished` a play that ended up with nothing to play reports.
const NOTHING_PLAYED: PlaybackId = PlaybackId::MAX;

/// The bound socket waiting for the negotiation, then the running session.
enum State {
    Waiting(MediaSocket, Arc<MediaEngine>),
    Running(MediaSession, MediaEvents),
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
    state: State,
    config: SessionConfig,
    /// Whether the call wants caller audio (kept across the start of the session).
    audio: bool,
    waiting: Mutex<Waiting>,
}

impl MediaLeg {
    /// Binds a port pair; the session starts on `engine` when the negotiation is known.
    pub fn bind(
        ports: &PortAllocator,
        engine: &Arc<MediaEngine>,
        config: SessionConfig,
    ) -> Result<Self, SessionError> {
        Ok(MediaLeg {
            state: State::Waiting(MediaSocket::bind(ports)?, engine.clone()),
            config,
            audio: false,
            waiting: Mutex::default(),
        })
    }

    /// Our RTP address (`None` once closed).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        match &self.state {
            State::Waiting(socket, _) => Some(socket.local_addr()),
            State::Running(session, _) => Some(session.local_addr()),
            State::Closed => None,
        }
    }

    /// Starts RTP with `negotiated`, or applies it to the running session.
    pub fn apply(&mut self, negotiated: &NegotiatedMedia) -> Result<(), SessionError> {
        match std::mem::replace(&mut self.state, State::Closed) {
            State::Waiting(socket, engine) => {
                let (session, mut events) =
                    engine.start(socket, negotiated, self.config.clone())?;
                events.set_audio(self.audio);
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

    /// Whether caller audio frames should come from [`next_event`](Self::next_event).
    pub fn set_audio(&mut self, wanted: bool) {
        self.audio = wanted;
        if let State::Running(_, events) = &mut self.state {
            events.set_audio(wanted);
        }
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

    /// Plays one buffer now, after what the session has queued, and returns its playback
    /// id (hold music and queue announcements, which the shell tracks itself).
    pub fn play_tracked(&self, samples: Arc<[i16]>) -> Option<PlaybackId> {
        match &self.state {
            State::Running(session, _) => Some(session.play(samples)),
            _ => None,
        }
    }

    /// The running media session (for bridging it to another leg).
    pub fn session(&self) -> Option<&MediaSession> {
        match &self.state {
            State::Running(session, _) => Some(session),
            _ => None,
        }
    }

    /// Sends a key as RFC 4733 (a key passed through a bridge); false when the peer did
    /// not negotiate telephone-event.
    pub fn send_digit(&self, key: char) -> bool {
        self.session()
            .is_some_and(|session| session.send_dtmf(key, 160).is_ok())
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

    /// Stops the media task, cancels synthesis under way and releases the ports.
    pub async fn close(&mut self) {
        for queued in self.waiting().plays.drain(..) {
            if let Queued::Synthesising(synthesis) = queued {
                synthesis.abort();
            }
        }
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
