//! A call's media leg: the SDP offer/answer state and the RTP task that paces our audio
//! out and turns the caller's packets into frames and digits.
//!
//! The pure pieces live in `media` (SdpSession, AudioSender, AudioReceiver, PeerAddress);
//! this file is the thin tokio shell around them for one call.

use crate::config::RtpConfig;
use crate::media::events::{MediaEvent, PlaybackId};
use crate::media::inbound::{AudioReceiver, ReceiveConfig, Received};
use crate::media::outbound::{AudioSender, IdlePolicy, SendConfig};
use crate::media::peer::PeerAddress;
use crate::media::rtcp::{SenderReportInfo, build_sender_report, ntp_timestamp};
use crate::media::sdp::{MediaCapabilities, NegotiatedMedia, SdpError, SdpSession};
use crate::prompts::PromptCatalog;
use crate::server::Shared;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::{debug, warn};

/// How often we send an RTCP sender report.
const RTCP_INTERVAL: Duration = Duration::from_secs(5);
/// Events waiting for the call task; audio beyond this is dropped rather than queued.
const EVENT_QUEUE: usize = 64;
/// Ports tried before giving up on finding a free pair.
const BIND_ATTEMPTS: u32 = 64;

#[derive(Debug, thiserror::Error)]
pub enum LegError {
    #[error("{0}")]
    NotAcceptable(String),
    #[error("{0}")]
    Malformed(String),
    #[error("no free RTP port pair in {min}..={max}")]
    NoPorts { min: u16, max: u16 },
    #[error("the SDP body is not UTF-8")]
    NotText,
}

impl From<SdpError> for LegError {
    fn from(err: SdpError) -> Self {
        match err {
            SdpError::NotAcceptable(why) => LegError::NotAcceptable(why),
            SdpError::Malformed(why) => LegError::Malformed(why),
        }
    }
}

enum Command {
    Play(Arc<[i16]>),
    Stop,
    Update(NegotiatedMedia),
    Listen(bool),
}

/// One call's media.
pub struct MediaLeg {
    sdp: SdpSession,
    commands: mpsc::UnboundedSender<Command>,
    events: mpsc::Receiver<MediaEvent>,
    started: Instant,
    /// Milliseconds after `started` of the last valid packet from the caller, plus one (0: none).
    last_rx_ms: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

/// Rotates through the configured range so consecutive calls do not fight over one port.
static NEXT_PORT: AtomicU32 = AtomicU32::new(0);

async fn bind_pair(config: &RtpConfig) -> Result<(UdpSocket, UdpSocket), LegError> {
    let min = u32::from(config.port_min + config.port_min % 2);
    let max = u32::from(config.port_max);
    let pairs = ((max.saturating_sub(min)) / 2).max(1);
    for _ in 0..BIND_ATTEMPTS.min(pairs) {
        let port = min + (NEXT_PORT.fetch_add(1, Ordering::Relaxed) % pairs) * 2;
        let Ok(port) = u16::try_from(port) else {
            continue;
        };
        let Ok(rtp) = UdpSocket::bind(SocketAddr::new(config.address, port)).await else {
            continue;
        };
        if let Ok(rtcp) = UdpSocket::bind(SocketAddr::new(config.address, port + 1)).await {
            return Ok((rtp, rtcp));
        }
    }
    Err(LegError::NoPorts {
        min: config.port_min,
        max: config.port_max,
    })
}

fn text(body: &[u8]) -> Result<&str, LegError> {
    std::str::from_utf8(body).map_err(|_| LegError::NotText)
}

impl MediaLeg {
    /// Binds the RTP/RTCP pair and answers `offer`, or builds our offer when the INVITE
    /// came without SDP. Returns the leg and the SDP to send in the 200 OK.
    pub async fn open(shared: &Shared, offer: Option<&[u8]>) -> Result<(Self, String), LegError> {
        let rtp_config = &shared.config.rtp;
        // Check the offer before binding anything: a 488 needs no ports.
        let offer = offer.map(text).transpose()?;
        let (rtp, rtcp) = bind_pair(rtp_config).await?;
        let local_port = rtp.local_addr().map(|a| a.port()).unwrap_or_default();
        let advertised: IpAddr = rtp_config.public_address.unwrap_or(rtp_config.address);
        let mut sdp = SdpSession::new(
            SocketAddr::new(advertised, local_port),
            MediaCapabilities::default(),
            rand::random::<u32>().into(),
        );
        let (body, negotiated) = match offer {
            Some(offer) => {
                let (answer, negotiated) = sdp.answer(offer)?;
                (answer, Some(negotiated))
            }
            None => (sdp.offer(), None),
        };
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (event_tx, events) = mpsc::channel(EVENT_QUEUE);
        let last_rx_ms = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let driver = RtpDriver {
            rtp,
            rtcp,
            sender: AudioSender::with_random_ids(send_config(negotiated.as_ref())),
            receiver: AudioReceiver::new(ReceiveConfig {
                dtmf_payload_type: negotiated.as_ref().and_then(|n| n.dtmf_payload_type),
                jitter_depth: rtp_config.jitter_buffer_packets.clamp(1, 8),
                ..ReceiveConfig::default()
            }),
            peer: PeerAddress::new(
                negotiated.as_ref().and_then(|n| n.remote_rtp),
                rtp_config.latching,
            ),
            remote_rtcp: negotiated.as_ref().and_then(|n| n.remote_rtcp),
            events: event_tx,
            listening: false,
            started,
            last_rx_ms: last_rx_ms.clone(),
        };
        if let Some(n) = &negotiated {
            commands.send(Command::Update(n.clone())).ok();
        }
        let task = tokio::spawn(driver.run(command_rx));
        Ok((
            MediaLeg {
                sdp,
                commands,
                events,
                started,
                last_rx_ms,
                task,
            },
            body,
        ))
    }

    /// Takes the caller's answer to our offer (INVITE without SDP: the answer is in the ACK).
    pub fn apply_answer(&mut self, answer: &[u8]) -> Result<(), LegError> {
        let negotiated = self.sdp.accept_answer(text(answer)?)?;
        self.commands.send(Command::Update(negotiated)).ok();
        Ok(())
    }

    /// Answers a re-offer (re-INVITE or UPDATE): hold, resume, a new address or codec.
    pub fn renegotiate(&mut self, offer: &[u8]) -> Result<String, LegError> {
        if offer.is_empty() {
            // An offerless re-INVITE asks for our offer; the answer comes in the ACK.
            return Ok(self.sdp.offer());
        }
        let (answer, negotiated) = self.sdp.answer(text(offer)?)?;
        self.commands.send(Command::Update(negotiated)).ok();
        Ok(answer)
    }

    /// Queues prompts for playback, in order; unknown ids are logged and skipped.
    pub fn play_prompts(&self, catalog: &PromptCatalog, ids: &[String]) {
        for id in ids {
            match catalog.samples(id) {
                Some(samples) => {
                    self.commands.send(Command::Play(samples)).ok();
                }
                None => warn!(prompt = %id, "no such prompt"),
            }
        }
    }

    /// Cuts the current playback and everything queued (barge-in).
    pub fn stop_playback(&self) {
        self.commands.send(Command::Stop).ok();
    }

    /// Whether caller audio frames are delivered as events (only while listening).
    pub fn set_listening(&self, on: bool) {
        self.commands.send(Command::Listen(on)).ok();
    }

    /// The next event; `None` when the RTP task has stopped.
    pub async fn next_event(&mut self) -> Option<MediaEvent> {
        self.events.recv().await
    }

    /// When the last valid RTP packet arrived from the caller.
    pub fn last_received(&self) -> Option<Instant> {
        match self.last_rx_ms.load(Ordering::Relaxed) {
            0 => None,
            ms => Some(self.started + Duration::from_millis(ms - 1)),
        }
    }

    pub fn close(&self) {
        self.task.abort();
    }
}

impl Drop for MediaLeg {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn send_config(negotiated: Option<&NegotiatedMedia>) -> SendConfig {
    let codec = negotiated
        .map(|n| n.codec)
        .unwrap_or(crate::media::sdp::AudioCodec::Pcmu);
    SendConfig {
        law: codec.law(),
        payload_type: negotiated
            .map(|n| n.payload_type)
            .unwrap_or(codec.static_payload_type()),
        dtmf_payload_type: negotiated.and_then(|n| n.dtmf_payload_type),
        idle: IdlePolicy::Silence,
    }
}

/// The RTP task's state.
struct RtpDriver {
    rtp: UdpSocket,
    rtcp: UdpSocket,
    sender: AudioSender,
    receiver: AudioReceiver,
    peer: PeerAddress,
    remote_rtcp: Option<SocketAddr>,
    events: mpsc::Sender<MediaEvent>,
    listening: bool,
    started: Instant,
    last_rx_ms: Arc<AtomicU64>,
}

impl RtpDriver {
    async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        let mut packet = [0u8; 1500];
        let mut rtcp_packet = [0u8; 1500];
        let mut out = [0u8; 1500];
        let mut rtcp_timer = tokio::time::interval(RTCP_INTERVAL);
        rtcp_timer.tick().await;
        loop {
            let deadline = self
                .sender
                .next_deadline()
                .map(Instant::from_std)
                .unwrap_or_else(|| Instant::now() + Duration::from_millis(20));
            tokio::select! {
                received = self.rtp.recv_from(&mut packet) => {
                    if let Ok((len, from)) = received {
                        self.on_datagram(&packet[..len], from).await;
                    }
                }
                received = self.rtcp.recv_from(&mut rtcp_packet) => {
                    if let Ok((len, from)) = received {
                        let summary = crate::media::rtcp::parse_rtcp(&rtcp_packet[..len]);
                        debug!(%from, ?summary, "RTCP");
                    }
                }
                command = commands.recv() => match command {
                    None => return,
                    Some(command) => self.on_command(command),
                },
                _ = tokio::time::sleep_until(deadline) => {
                    self.transmit(&mut out).await;
                }
                _ = rtcp_timer.tick() => self.send_report().await,
            }
        }
    }

    async fn on_datagram(&mut self, datagram: &[u8], from: SocketAddr) {
        if !self.peer.accepts(from) {
            return;
        }
        let now = std::time::Instant::now();
        if self.receiver.handle_datagram(datagram, now).is_ok() {
            self.peer.on_valid_packet(from);
            let ms = self.started.elapsed().as_millis() as u64 + 1;
            self.last_rx_ms.store(ms, Ordering::Relaxed);
        }
        self.drain_received(now).await;
    }

    async fn drain_received(&mut self, now: std::time::Instant) {
        while let Some(received) = self.receiver.poll(now) {
            match received {
                Received::Dtmf(digit) => {
                    // Digits are never dropped: wait for room.
                    self.events.send(MediaEvent::Dtmf(digit)).await.ok();
                }
                Received::Audio(frame) if self.listening => {
                    self.events.try_send(MediaEvent::Audio(frame)).ok();
                }
                Received::Audio(_) => {}
            }
        }
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Play(samples) => {
                let _id: PlaybackId = self.sender.play(samples);
            }
            Command::Stop => self.sender.stop_playback(),
            Command::Listen(on) => self.listening = on,
            Command::Update(negotiated) => {
                self.sender.set_config(send_config(Some(&negotiated)));
                self.sender
                    .set_paused(!negotiated.direction.sends() || negotiated.remote_rtp.is_none());
                self.receiver
                    .set_dtmf_payload_type(negotiated.dtmf_payload_type);
                self.peer.update_signalled(negotiated.remote_rtp);
                self.remote_rtcp = negotiated.remote_rtcp;
            }
        }
    }

    async fn transmit(&mut self, out: &mut [u8]) {
        let now = std::time::Instant::now();
        while let Some(len) = self.sender.poll_transmit(now, out) {
            if let Some(dest) = self.peer.destination() {
                if let Err(err) = self.rtp.send_to(&out[..len], dest).await {
                    debug!(%dest, error = %err, "RTP send failed");
                }
            }
        }
        while let Some((id, completed)) = self.sender.poll_finished() {
            self.events
                .try_send(MediaEvent::PlaybackFinished { id, completed })
                .ok();
        }
        // Packets held back by the jitter buffer leave on the send tick too.
        self.drain_received(now).await;
    }

    async fn send_report(&mut self) {
        let Some(dest) = self.remote_rtcp else { return };
        let stats = self.sender.stats();
        if stats.packets == 0 {
            return;
        }
        let info = SenderReportInfo {
            ssrc: self.sender.ssrc(),
            ntp_time: ntp_timestamp(std::time::SystemTime::now()),
            rtp_time: self.sender.rtp_timestamp_at(std::time::Instant::now()),
            packet_count: stats.packets,
            octet_count: stats.octets,
            cname: "hotline".to_string(),
        };
        if let Some(report) = build_sender_report(&info) {
            self.rtcp.send_to(&report, dest).await.ok();
        }
    }
}
