//! A call's media leg: the SDP offer/answer state plus the running media session.
//!
//! The RTP work itself is `media::session`; this file decides when it starts (at once
//! when the INVITE carried an offer, at the ACK when we had to offer) and turns re-offers
//! into session updates.

use crate::media::events::MediaEvent;
use crate::media::port_allocator::PortAllocator;
use crate::media::sdp::{MediaCapabilities, NegotiatedMedia, SdpError, SdpSession};
use crate::media::session::{MediaSession, MediaSocket, SessionConfig, SessionError};
use crate::prompts::PromptCatalog;
use crate::server::Shared;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::mpsc;
use tracing::warn;

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

/// One call's media.
pub struct MediaLeg {
    sdp: SdpSession,
    state: State,
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
        let mut joined: Vec<i16> = Vec::new();
        for id in ids {
            match catalog.samples(id) {
                Some(samples) => joined.extend_from_slice(&samples),
                None => warn!(prompt = %id, "no such prompt"),
            }
        }
        if joined.is_empty() {
            return false;
        }
        session.play(joined.into());
        true
    }

    /// Cuts the current playback and everything queued (barge-in).
    pub fn stop_playback(&self) {
        if let State::Running(session, _) = &self.state {
            session.stop_playback();
        }
    }

    /// The next media event; pending forever while media has not started.
    pub async fn next_event(&mut self) -> Option<MediaEvent> {
        match &mut self.state {
            State::Running(_, events) => events.recv().await,
            _ => std::future::pending().await,
        }
    }

    /// Stops the media task and releases the ports.
    pub async fn close(&mut self) {
        if let State::Running(session, _) = std::mem::replace(&mut self.state, State::Closed) {
            session.close().await;
        }
    }
}
