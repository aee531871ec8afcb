//! The tokio shell of a call leg's media: the leg's sockets and state ([`LegState`]),
//! driven by a task of its own (`MediaSocket::start`) or by a shared
//! [`super::engine::MediaEngine`]; either way the owner holds a [`MediaSession`].
//!
//! `MediaSocket::bind` takes a port pair before the SDP is written (its address goes into
//! the offer or answer); `MediaSocket::start` spawns the task with what the negotiation
//! gave and returns a `MediaSession` handle plus a receiver of [`MediaEvent`](super::events::MediaEvent)s. The task
//! drives the sans-IO [`AudioSender`] every 20 ms and feeds datagrams to the
//! [`AudioReceiver`]; the handle sends it commands. Role-neutral: the server and the
//! caller bot use it alike. Events reach the owner as [`MediaEvents`]: control events
//! on a channel that never drops, audio on a bounded one.
//!
//! Choices: the task wakes once per 20 ms tick (and for commands): it reads every datagram
//! that arrived since the last tick from non-blocking sockets, then sends the frame due.
//! This halves wake-ups compared with waking per received packet, at the cost of up to
//! 20 ms extra receive latency (irrelevant for VAD and DTMF, which work in frames anyway).
//! Idle legs keep sending silence by default (NAT bindings and latching peers keep
//! flowing); RTCP goes to port+1 (or `a=rtcp`), RTCP arriving multiplexed on the RTP port
//! is read too; a full audio channel drops frames (counted) rather than stalling media.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use std::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::events::{AudioFrame, ControlEvent, MediaEvents, PlaybackId};
use super::inbound::{AudioReceiver, ReceiveConfig, ReceiveStats, Received, Rejected};
use super::lateness::LatenessHistogram;
use super::outbound::{AudioSender, IdlePolicy, SendConfig, SendDtmfError, SendStats};
use super::peer::PeerAddress;
use super::port_allocator::{PortAllocator, PortError};
use super::relay::{RelaySink, RelaySource};
use super::rtcp::{SenderReportInfo, build_sender_report, ntp_timestamp, parse_rtcp};
use super::rtp_packet::looks_like_rtcp;
use super::sdp::NegotiatedMedia;
use super::udp_batch::{self, ReceiveBatch};

/// Audio frames buffered for the owner before new ones are dropped (about 10 s of audio).
const AUDIO_CAPACITY: usize = 512;
/// Datagrams read per socket per tick; a flood beyond this waits (or the kernel drops it).
const MAX_DATAGRAMS_PER_TICK: usize = 64;
/// The RTCP socket is read every this many ticks (RTCP comes every few seconds): one
/// system call saved per tick.
const RTCP_READ_EVERY_TICKS: u32 = 25;

/// How a session behaves.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Symmetric RTP: send to the source of the first valid packet (for callers behind NAT).
    pub latching: bool,
    /// What to send when nothing is playing.
    pub idle: IdlePolicy,
    /// Jitter buffer depth in packets.
    pub jitter_depth: usize,
    /// Longest wait for a missing packet.
    pub jitter_max_delay: Duration,
    /// Report [`MediaEvent::RtpTimeout`](super::events::MediaEvent::RtpTimeout) after this long without RTP while receiving.
    pub rtp_timeout: Option<Duration>,
    /// Interval between RTCP sender reports.
    pub rtcp_interval: Duration,
    /// Our RTCP canonical name.
    pub cname: String,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            latching: true,
            idle: IdlePolicy::Silence,
            jitter_depth: 3,
            jitter_max_delay: Duration::from_millis(60),
            rtp_timeout: Some(Duration::from_secs(30)),
            rtcp_interval: Duration::from_secs(5),
            cname: "hotline".into(),
        }
    }
}

/// Why a session could not start.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// No port pair could be bound.
    #[error(transparent)]
    Ports(#[from] PortError),
    /// A socket operation failed.
    #[error("media socket: {0}")]
    Io(#[from] std::io::Error),
}

/// Counters of a running session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MediaStats {
    /// What was sent.
    pub sent: SendStats,
    /// What was received (and dropped, by reason).
    pub received: ReceiveStats,
    /// RTCP packets received (valid).
    pub rtcp_received: u64,
    /// RTCP datagrams that did not parse.
    pub rtcp_malformed: u64,
    /// Datagrams from a source other than the latched one.
    pub foreign_source: u64,
    /// Audio frames dropped because the owner did not keep up (control events are never
    /// dropped).
    pub events_dropped: u64,
    /// Send errors from the socket (including a full send buffer: the packet is dropped).
    pub send_errors: u64,
    /// Receive errors from the socket.
    pub receive_errors: u64,
    /// The address we send to now.
    pub destination: Option<SocketAddr>,
    /// How late each 20 ms tick ran after its deadline.
    pub send_lateness: LatenessHistogram,
}

/// A bound, not yet started, media port pair.
#[derive(Debug)]
pub struct MediaSocket {
    rtp: UdpSocket,
    rtcp: UdpSocket,
    local: SocketAddr,
}

impl MediaSocket {
    /// Binds the next free pair from `ports`.
    pub fn bind(ports: &PortAllocator) -> Result<Self, SessionError> {
        let pair = ports.bind_pair()?;
        let local = pair.rtp_addr()?;
        Ok(MediaSocket {
            rtp: pair.rtp,
            rtcp: pair.rtcp,
            local,
        })
    }

    /// The RTP address to write into SDP.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Starts the media task (inside a tokio runtime) with the negotiated parameters: one
    /// task for this leg. [`super::engine::MediaEngine`] drives many legs from shared tasks.
    pub fn start(
        self,
        media: &NegotiatedMedia,
        config: SessionConfig,
    ) -> Result<(MediaSession, MediaEvents), SessionError> {
        let (leg, commands, session, events) = self.prepare(media, config)?;
        tokio::spawn(leg.run(commands));
        Ok((session, events))
    }

    /// Builds the leg state, its command channel and the owner's handle and events.
    pub(super) fn prepare(
        self,
        media: &NegotiatedMedia,
        config: SessionConfig,
    ) -> Result<
        (
            LegState,
            mpsc::UnboundedReceiver<Command>,
            MediaSession,
            MediaEvents,
        ),
        SessionError,
    > {
        let (rtp, rtcp) = (self.rtp, self.rtcp);
        rtp.set_nonblocking(true)?;
        rtcp.set_nonblocking(true)?;
        let (control_tx, control_rx) = mpsc::unbounded_channel();
        let (audio_tx, audio_rx) = mpsc::channel(AUDIO_CAPACITY);
        let audio_wanted = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let (commands_tx, commands_rx) = mpsc::unbounded_channel();
        let (ended_tx, ended_rx) = oneshot::channel();
        let sender = AudioSender::with_random_ids(send_config(media, config.idle));
        let receiver = AudioReceiver::new(ReceiveConfig {
            dtmf_payload_type: media.receive_dtmf_payload_type,
            dynamic_audio: dynamic_audio(media),
            jitter_depth: config.jitter_depth,
            jitter_max_delay: config.jitter_max_delay,
        });
        let now = Instant::now();
        let mut leg = LegState {
            rtp,
            rtcp,
            sender,
            receiver,
            peer: PeerAddress::new(media.remote_rtp, config.latching),
            remote_rtcp: media.remote_rtcp,
            receiving: media.direction.receives(),
            control: control_tx,
            audio: audio_tx,
            audio_wanted: audio_wanted.clone(),
            stats: MediaStats::default(),
            relay_sink: None,
            relay_source: None,
            timed_out: false,
            quiet_since: now.into_std(),
            ticks: 0,
            next_rtcp: now + config.rtcp_interval,
            _ended: ended_tx,
            config,
        };
        leg.apply_direction(media);
        let session = MediaSession {
            commands: commands_tx,
            next_playback: AtomicU64::new(1),
            dtmf_negotiated: std::sync::atomic::AtomicBool::new(media.dtmf_payload_type.is_some()),
            local: self.local,
            ended: ended_rx,
        };
        let events = MediaEvents::new(control_rx, audio_rx, audio_wanted);
        Ok((leg, commands_rx, session, events))
    }
}

fn send_config(media: &NegotiatedMedia, idle: IdlePolicy) -> SendConfig {
    SendConfig {
        law: media.codec.law(),
        payload_type: media.payload_type,
        dtmf_payload_type: media.dtmf_payload_type,
        idle,
    }
}

/// The negotiated audio payload type when it is not the codec's static one.
fn dynamic_audio(media: &NegotiatedMedia) -> Option<(u8, super::g711::G711Law)> {
    (media.payload_type != media.codec.static_payload_type())
        .then_some((media.payload_type, media.codec.law()))
}

/// What a handle asks of its leg.
pub(super) enum Command {
    Play(PlaybackId, Arc<[i16]>),
    StopPlayback,
    SendDtmf(char, u32),
    Update(Box<NegotiatedMedia>),
    Stats(oneshot::Sender<MediaStats>),
    Relay(Option<RelaySink>, Option<RelaySource>),
}

/// The handle to a running media session. Dropping it ends the task.
#[derive(Debug)]
pub struct MediaSession {
    commands: mpsc::UnboundedSender<Command>,
    next_playback: AtomicU64,
    dtmf_negotiated: std::sync::atomic::AtomicBool,
    local: SocketAddr,
    ended: oneshot::Receiver<()>,
}

impl MediaSession {
    /// Our RTP address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Queues samples (8 kHz mono) after anything already playing; a
    /// [`MediaEvent::PlaybackFinished`](super::events::MediaEvent::PlaybackFinished) with this id follows when they are sent or stopped.
    pub fn play(&self, samples: Arc<[i16]>) -> PlaybackId {
        let id = self.next_playback.fetch_add(1, Ordering::Relaxed);
        let _ = self.commands.send(Command::Play(id, samples));
        id
    }

    /// Stops all playback (barge-in); the next 20 ms frame is already silent.
    pub fn stop_playback(&self) {
        let _ = self.commands.send(Command::StopPlayback);
    }

    /// Sends an RFC 4733 digit (caller bot, or DTMF towards an agent leg).
    pub fn send_dtmf(&self, digit: char, duration_ms: u32) -> Result<(), SendDtmfError> {
        if !self.dtmf_negotiated.load(Ordering::Relaxed) {
            return Err(SendDtmfError::NotNegotiated);
        }
        if super::dtmf::digit_to_event(digit).is_none() {
            return Err(SendDtmfError::NotADigit(digit));
        }
        let _ = self.commands.send(Command::SendDtmf(digit, duration_ms));
        Ok(())
    }

    /// Applies a new negotiation (re-INVITE): remote address, hold/resume, codec.
    pub fn update(&self, media: &NegotiatedMedia) {
        self.dtmf_negotiated
            .store(media.dtmf_payload_type.is_some(), Ordering::Relaxed);
        let _ = self.commands.send(Command::Update(Box::new(media.clone())));
    }

    /// Bridges this leg (see [`super::relay::bridge`]): frames heard go to `sink` as well
    /// as to the owner, and frames from `source` are sent when nothing is playing.
    pub fn relay(&self, sink: Option<RelaySink>, source: Option<RelaySource>) {
        let _ = self.commands.send(Command::Relay(sink, source));
    }

    /// A snapshot of the counters; `None` when the task has ended.
    pub async fn stats(&self) -> Option<MediaStats> {
        let (tx, rx) = oneshot::channel();
        self.commands.send(Command::Stats(tx)).ok()?;
        rx.await.ok()
    }

    /// Ends the task and releases the ports.
    pub async fn close(self) {
        let MediaSession {
            commands, ended, ..
        } = self;
        drop(commands);
        // Resolves when the leg state (and with it the sockets) is dropped.
        let _ = ended.await;
    }
}

/// Scratch space a driver lends its legs' steps: one per task, whatever its leg count.
#[derive(Debug)]
pub(super) struct StepBuffers {
    out: [u8; 256],
    received: ReceiveBatch,
}

impl Default for StepBuffers {
    fn default() -> Self {
        StepBuffers {
            out: [0; 256],
            received: ReceiveBatch::default(),
        }
    }
}

/// One leg's state, driven by its own task ([`LegState::run`]) or by an engine shard.
pub(super) struct LegState {
    rtp: UdpSocket,
    rtcp: UdpSocket,
    sender: AudioSender,
    receiver: AudioReceiver,
    peer: PeerAddress,
    remote_rtcp: Option<SocketAddr>,
    receiving: bool,
    /// Digits, playback ends, timeouts: never dropped.
    control: mpsc::UnboundedSender<ControlEvent>,
    /// Caller audio: dropped (counted) when the owner falls behind.
    audio: mpsc::Sender<AudioFrame>,
    /// The owner listens: off, decoded frames are not queued at all.
    audio_wanted: Arc<std::sync::atomic::AtomicBool>,
    stats: MediaStats,
    /// Bridged: frames heard also go to the other leg, and its frames come from here.
    relay_sink: Option<RelaySink>,
    relay_source: Option<RelaySource>,
    timed_out: bool,
    quiet_since: std::time::Instant,
    ticks: u32,
    next_rtcp: Instant,
    /// Dropped with the leg: tells `MediaSession::close` the sockets are released.
    _ended: oneshot::Sender<()>,
    config: SessionConfig,
}

impl LegState {
    async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        let mut buffers = StepBuffers::default();
        let tick = tokio::time::sleep_until(Instant::now());
        tokio::pin!(tick);
        loop {
            tokio::select! {
                biased;
                command = commands.recv() => match command {
                    Some(command) => self.handle_command(command),
                    None => break,
                },
                () = &mut tick => {
                    let now = Instant::now();
                    self.step(now, tick.deadline(), &mut buffers);
                    let next = self.next_deadline();
                    tick.as_mut().reset(next.unwrap_or(now + super::outbound::FRAME_DURATION));
                }
            }
        }
    }

    /// When the next frame is due.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        self.sender.next_deadline().map(Instant::from_std)
    }

    /// One 20 ms step at `now`: read what arrived, send the frames due by `slot` (the
    /// time this step was scheduled for), report. Pacing by the scheduled time rather than
    /// the wake-up keeps a driver that wakes a little early or late from sending two
    /// frames one step and none the next; how late it woke goes to the histogram.
    pub(super) fn step(&mut self, now: Instant, slot: Instant, buffers: &mut StepBuffers) {
        self.stats
            .send_lateness
            .record(now.saturating_duration_since(slot));
        self.ticks = self.ticks.wrapping_add(1);
        let read_rtcp = self.ticks.is_multiple_of(RTCP_READ_EVERY_TICKS);
        self.receive_pending(now, read_rtcp, &mut buffers.received);
        self.on_tick(now, slot, &mut buffers.out);
        if now >= self.next_rtcp {
            self.send_sender_report(now);
            self.next_rtcp = now + self.config.rtcp_interval;
        }
    }

    /// Reads what arrived since the last tick, a batch per system call. The sockets are
    /// non-blocking and not registered with the reactor: one wake-up per 20 ms serves
    /// sending and receiving.
    fn receive_pending(&mut self, now: Instant, read_rtcp: bool, batch: &mut ReceiveBatch) {
        for _ in 0..MAX_DATAGRAMS_PER_TICK / udp_batch::BATCH {
            match udp_batch::receive(&self.rtp, batch) {
                Ok(0) => break,
                Ok(count) => {
                    for index in 0..count {
                        if let Some((datagram, Some(source))) = batch.get(index) {
                            self.handle_rtp(datagram, source, now);
                        }
                    }
                    if count < udp_batch::BATCH {
                        break;
                    }
                }
                Err(_) => {
                    self.stats.receive_errors += 1;
                    break;
                }
            }
        }
        if !read_rtcp {
            return;
        }
        for _ in 0..MAX_DATAGRAMS_PER_TICK / udp_batch::BATCH {
            match udp_batch::receive(&self.rtcp, batch) {
                Ok(0) => break,
                Ok(count) => {
                    for index in 0..count {
                        if let Some((datagram, _)) = batch.get(index) {
                            self.handle_rtcp(datagram);
                        }
                    }
                    if count < udp_batch::BATCH {
                        break;
                    }
                }
                Err(_) => {
                    self.stats.receive_errors += 1;
                    break;
                }
            }
        }
    }

    pub(super) fn handle_command(&mut self, command: Command) {
        match command {
            Command::Play(id, samples) => self.sender.enqueue(id, samples),
            Command::StopPlayback => {
                self.sender.stop_playback();
                self.forward_finished();
            }
            Command::SendDtmf(digit, ms) => {
                // Validated by the handle; a re-INVITE racing it can still refuse.
                let _ = self.sender.send_dtmf(digit, ms);
            }
            Command::Update(media) => {
                self.peer.update_signalled(media.remote_rtp);
                self.remote_rtcp = media.remote_rtcp;
                self.sender
                    .set_config(send_config(&media, self.config.idle));
                self.receiver
                    .set_dtmf_payload_type(media.receive_dtmf_payload_type);
                self.receiver.set_dynamic_audio(dynamic_audio(&media));
                self.receiving = media.direction.receives();
                self.quiet_since = std::time::Instant::now();
                self.timed_out = false;
                self.apply_direction(&media);
            }
            Command::Relay(sink, source) => {
                self.relay_sink = sink;
                self.relay_source = source;
                self.sender.clear_relayed();
            }
            Command::Stats(reply) => {
                let mut stats = self.stats;
                stats.sent = self.sender.stats();
                stats.received = self.receiver.stats();
                stats.destination = self.peer.destination();
                let _ = reply.send(stats);
            }
        }
    }

    /// Pauses sending when the peer does not receive (hold) or there is nowhere to send.
    fn apply_direction(&mut self, media: &NegotiatedMedia) {
        let can_send =
            media.direction.sends() && (media.remote_rtp.is_some() || self.config.latching);
        self.sender.set_paused(!can_send);
    }

    fn handle_rtp(&mut self, datagram: &[u8], source: SocketAddr, now: Instant) {
        if looks_like_rtcp(datagram) {
            self.handle_rtcp(datagram);
            return;
        }
        if !self.peer.accepts(source) {
            self.stats.foreign_source += 1;
            return;
        }
        match self.receiver.handle_datagram(datagram, now.into_std()) {
            Ok(()) | Err(Rejected::ComfortNoise) | Err(Rejected::Jitter(_)) => {
                self.peer.on_valid_packet(source);
                self.timed_out = false;
            }
            Err(Rejected::Junk) | Err(Rejected::UnknownPayloadType(_)) => return,
        }
        self.drain_received(now);
    }

    fn handle_rtcp(&mut self, datagram: &[u8]) {
        match parse_rtcp(datagram) {
            Some(_) => self.stats.rtcp_received += 1,
            None => self.stats.rtcp_malformed += 1,
        }
    }

    fn drain_received(&mut self, now: Instant) {
        while let Some(received) = self.receiver.poll(now.into_std()) {
            match received {
                Received::Audio(frame) => self.emit_audio(frame),
                Received::Dtmf(digit) => self.emit(ControlEvent::Dtmf(digit)),
            }
        }
    }

    fn emit(&mut self, event: ControlEvent) {
        // The owner has gone only when the call is over: nothing left to tell.
        let _ = self.control.send(event);
    }

    fn emit_audio(&mut self, frame: AudioFrame) {
        if let Some(sink) = &self.relay_sink
            && sink.try_send(frame).is_err()
        {
            self.stats.events_dropped += 1;
        }
        if !self.audio_wanted.load(Ordering::Relaxed) {
            return;
        }
        if self.audio.try_send(frame).is_err() {
            self.stats.events_dropped += 1;
        }
    }

    fn forward_finished(&mut self) {
        while let Some((id, completed)) = self.sender.poll_finished() {
            self.emit(ControlEvent::PlaybackFinished { id, completed });
        }
    }

    fn on_tick(&mut self, now: Instant, slot: Instant, out: &mut [u8]) {
        let std_now = now.into_std();
        if let Some(source) = self.relay_source.as_mut() {
            while let Ok(frame) = source.try_recv() {
                self.sender.push_relayed(frame.samples);
            }
        }
        while let Some(len) = self.sender.poll_transmit(slot.into_std(), out) {
            if let Some(destination) = self.peer.destination()
                && self.rtp.send_to(&out[..len], destination).is_err()
            {
                self.stats.send_errors += 1;
            }
        }
        self.forward_finished();
        self.drain_received(now);
        self.check_timeout(std_now);
    }

    fn check_timeout(&mut self, now: std::time::Instant) {
        let Some(timeout) = self.config.rtp_timeout else {
            return;
        };
        if !self.receiving || self.timed_out {
            return;
        }
        // Silence counts from the last packet, the start, or the last re-negotiation.
        let last = self
            .receiver
            .last_packet_at()
            .map_or(self.quiet_since, |t| t.max(self.quiet_since));
        if now.saturating_duration_since(last) >= timeout {
            self.timed_out = true;
            self.emit(ControlEvent::RtpTimeout);
        }
    }

    fn send_sender_report(&mut self, now: Instant) {
        let sent = self.sender.stats();
        let Some(destination) = self.remote_rtcp else {
            return;
        };
        if sent.packets == 0 || self.sender.is_paused() {
            return;
        }
        let info = SenderReportInfo {
            ssrc: self.sender.ssrc(),
            ntp_time: ntp_timestamp(SystemTime::now()),
            rtp_time: self.sender.rtp_timestamp_at(now.into_std()),
            packet_count: sent.packets,
            octet_count: sent.octets,
            cname: self.config.cname.clone(),
        };
        if let Some(report) = build_sender_report(&info)
            && self.rtcp.send_to(&report, destination).is_err()
        {
            self.stats.send_errors += 1;
        }
    }
}
