//! The bot's side of many calls' RTP, kept cheap so the server gets most of the machine:
//! a few shared UDP sockets (calls are told one of them in their SDP offer), one paced
//! sender thread for every call's audio, and one receiving thread per socket that times
//! each server packet by its kernel arrival stamp (see [`super::arrival_stamp`]) and
//! measures its interval against the 20 ms ptime.

use super::arrival_stamp;
use super::send_batch::send_batch;
use hdrhistogram::Histogram;
use hotline::media::g711::G711Law;
use hotline::media::rtp_packet::{OutgoingHeader, parse_rtp, write_rtp};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const PTIME: Duration = Duration::from_millis(20);
const SAMPLES_PER_PACKET: usize = 160;
/// The sender spreads calls over this many 1 ms slots, as unsynchronised callers would.
const SLOTS: usize = 20;
/// Receive buffer per socket: bursts of thousands of packets must not be dropped while a
/// receiving thread waits for a core.
const SOCKET_BUFFER: usize = 4 << 20;
/// Intervals are recorded in microseconds up to 10 s.
const HISTOGRAM_MAX_MICROS: u64 = 10_000_000;

/// One call's outgoing stream.
#[derive(Debug, Clone, Copy)]
pub struct Outgoing {
    /// Which of our sockets the call's SDP named.
    pub socket: usize,
    pub destination: SocketAddr,
    pub payload_type: u8,
    pub law: G711Law,
}

/// What the receiving side saw during one measurement window.
#[derive(Debug, Clone)]
pub struct WindowReport {
    /// |arrival interval - expected interval| of every packet after a stream's first, µs.
    pub jitter_micros: Histogram<u64>,
    pub packets_received: u64,
    /// Received packets whose payload is digital silence (every byte the G.711 code of 0):
    /// what a bridge sends when it has nothing relayed for a slot, if the voice has none.
    pub packets_silent: u64,
    /// Sequence numbers skipped (lost or still in flight at the window's end).
    pub packets_lost: u64,
    /// Known streams that sent nothing during the window.
    pub silent_streams: usize,
    pub streams: usize,
    /// Packets we sent, and how late the sender thread woke for its 1 ms slots, µs.
    pub packets_sent: u64,
    pub send_errors: u64,
    pub bot_send_lateness_micros: Histogram<u64>,
}

impl WindowReport {
    pub(super) fn empty() -> Self {
        WindowReport {
            jitter_micros: new_histogram(),
            packets_received: 0,
            packets_silent: 0,
            packets_lost: 0,
            silent_streams: 0,
            streams: 0,
            packets_sent: 0,
            send_errors: 0,
            bot_send_lateness_micros: new_histogram(),
        }
    }
}

/// Running load: sockets, sender and receiver threads.
pub struct RtpLoad {
    addresses: Vec<SocketAddr>,
    stop: Arc<AtomicBool>,
    new_streams: mpsc::Sender<Outgoing>,
    receivers: Vec<Arc<Mutex<ReceiverState>>>,
    sender: Arc<Mutex<SenderState>>,
    threads: Vec<JoinHandle<()>>,
}

impl RtpLoad {
    /// Binds `sockets` sockets on `ip` and starts the threads; `voice` (8 kHz) is what
    /// every call says, looped.
    pub fn start(ip: IpAddr, sockets: usize, voice: &[i16]) -> anyhow::Result<Self> {
        anyhow::ensure!(
            voice.len() >= SAMPLES_PER_PACKET,
            "the voice file is too short"
        );
        let stop = Arc::new(AtomicBool::new(false));
        let mut bound = Vec::new();
        for _ in 0..sockets.max(1) {
            bound.push(Arc::new(bind(ip)?));
        }
        let addresses = bound
            .iter()
            .map(|s| s.local_addr())
            .collect::<Result<Vec<_>, _>>()?;
        let mut threads = Vec::new();
        let mut receivers = Vec::new();
        for (index, socket) in bound.iter().enumerate() {
            let state = Arc::new(Mutex::new(ReceiverState::new()));
            receivers.push(state.clone());
            let socket = socket.clone();
            let stop = stop.clone();
            threads.push(
                std::thread::Builder::new()
                    .name(format!("rtp-recv-{index}"))
                    .spawn(move || receive_loop(&socket, &state, &stop))?,
            );
        }
        let sender = Arc::new(Mutex::new(SenderState::new()));
        let (new_streams, incoming) = mpsc::channel();
        let voice = EncodedVoice::new(voice);
        {
            let sender = sender.clone();
            let stop = stop.clone();
            threads.push(
                std::thread::Builder::new()
                    .name("rtp-send".into())
                    .spawn(move || send_loop(&bound, &incoming, &voice, &sender, &stop))?,
            );
        }
        Ok(RtpLoad {
            addresses,
            stop,
            new_streams,
            receivers,
            sender,
            threads,
        })
    }

    /// The address of socket `index` (wrapping), for a call's SDP offer.
    pub fn address(&self, index: usize) -> (usize, SocketAddr) {
        let index = index % self.addresses.len();
        (index, self.addresses[index])
    }

    /// A handle that adds calls' streams; each starts sending at its next slot.
    pub fn stream_sender(&self) -> mpsc::Sender<Outgoing> {
        self.new_streams.clone()
    }

    /// Starts a measurement window: counters and histograms from now on.
    pub fn begin_window(&self) {
        for receiver in &self.receivers {
            lock(receiver).begin_window();
        }
        lock(&self.sender).begin_window();
    }

    /// What happened since [`RtpLoad::begin_window`].
    pub fn window(&self) -> WindowReport {
        let mut report = WindowReport::empty();
        for receiver in &self.receivers {
            lock(receiver).add_to(&mut report);
        }
        let sender = lock(&self.sender);
        report.packets_sent = sender.packets;
        report.send_errors = sender.errors;
        let _ = report.bot_send_lateness_micros.add(&sender.lateness_micros);
        report
    }
}

impl Drop for RtpLoad {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HISTOGRAM_MAX_MICROS, 3)
        .unwrap_or_else(|_| unreachable!("constant histogram bounds are valid"))
}

fn bind(ip: IpAddr) -> anyhow::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(
        Domain::for_address(SocketAddr::new(ip, 0)),
        Type::DGRAM,
        Some(Protocol::UDP),
    )?;
    // The kernel caps these at net.core.rmem_max/wmem_max; smaller buffers still work.
    let _ = socket.set_recv_buffer_size(SOCKET_BUFFER);
    let _ = socket.set_send_buffer_size(SOCKET_BUFFER);
    socket.bind(&SocketAddr::new(ip, 0).into())?;
    let socket: UdpSocket = socket.into();
    arrival_stamp::enable(&socket)?;
    // Wakes the receiving thread now and then to notice the stop flag.
    socket.set_read_timeout(Some(Duration::from_millis(100)))?;
    Ok(socket)
}

/// The voice, G.711-encoded once in both laws.
struct EncodedVoice {
    ulaw: Vec<u8>,
    alaw: Vec<u8>,
}

impl EncodedVoice {
    fn new(voice: &[i16]) -> Self {
        // Whole packets only, so every payload is a plain slice.
        let usable = voice.len() - voice.len() % SAMPLES_PER_PACKET;
        let encode = |law: G711Law| {
            let mut out = vec![0u8; usable];
            law.encode_into(&voice[..usable], &mut out);
            out
        };
        EncodedVoice {
            ulaw: encode(G711Law::Ulaw),
            alaw: encode(G711Law::Alaw),
        }
    }

    fn packet(&self, law: G711Law, index: u64) -> &[u8] {
        let audio = match law {
            G711Law::Ulaw => &self.ulaw,
            G711Law::Alaw => &self.alaw,
        };
        let packets = (audio.len() / SAMPLES_PER_PACKET) as u64;
        let start = (index % packets) as usize * SAMPLES_PER_PACKET;
        &audio[start..start + SAMPLES_PER_PACKET]
    }
}

struct StreamOut {
    target: Outgoing,
    ssrc: u32,
    sent: u64,
}

struct SenderState {
    packets: u64,
    errors: u64,
    lateness_micros: Histogram<u64>,
}

impl SenderState {
    fn new() -> Self {
        SenderState {
            packets: 0,
            errors: 0,
            lateness_micros: new_histogram(),
        }
    }

    fn begin_window(&mut self) {
        self.packets = 0;
        self.errors = 0;
        self.lateness_micros.reset();
    }
}

fn send_loop(
    sockets: &[Arc<UdpSocket>],
    incoming: &mpsc::Receiver<Outgoing>,
    voice: &EncodedVoice,
    state: &Mutex<SenderState>,
    stop: &AtomicBool,
) {
    let slot_length = PTIME / SLOTS as u32;
    let start = Instant::now();
    let mut streams: Vec<StreamOut> = Vec::new();
    // One slot's packets, grouped by socket, go out in one system call per socket.
    let mut packets_of: Vec<Vec<u8>> = Vec::new();
    let mut batch: Vec<(usize, usize, SocketAddr)> = Vec::new();
    let mut slot: u64 = 0;
    while !stop.load(Ordering::Relaxed) {
        let deadline = start + slot_length * u32::try_from(slot).unwrap_or(u32::MAX);
        let now = Instant::now();
        if deadline > now {
            std::thread::sleep(deadline - now);
        }
        let late = Instant::now().saturating_duration_since(deadline);
        streams.extend(incoming.try_iter().map(|target| StreamOut {
            target,
            ssrc: rand::random(),
            sent: 0,
        }));
        batch.clear();
        let first = (slot % SLOTS as u64) as usize;
        for stream in streams.iter_mut().skip(first).step_by(SLOTS) {
            let header = OutgoingHeader {
                payload_type: stream.target.payload_type,
                marker: stream.sent == 0,
                sequence: stream.sent as u16,
                timestamp: (stream.sent * SAMPLES_PER_PACKET as u64) as u32,
                ssrc: stream.ssrc,
            };
            let payload = voice.packet(stream.target.law, stream.sent);
            stream.sent += 1;
            let index = batch.len();
            if packets_of.len() <= index {
                packets_of.push(vec![0u8; 12 + SAMPLES_PER_PACKET]);
            }
            let Some(len) = write_rtp(&header, payload, &mut packets_of[index]) else {
                continue;
            };
            batch.push((stream.target.socket, len, stream.target.destination));
        }
        let (mut packets, mut errors) = (0, 0);
        for (index, socket) in sockets.iter().enumerate() {
            let datagrams: Vec<(&[u8], SocketAddr)> = batch
                .iter()
                .enumerate()
                .filter(|(_, (s, _, _))| *s == index)
                .map(|(i, (_, len, destination))| (&packets_of[i][..*len], *destination))
                .collect();
            if datagrams.is_empty() {
                continue;
            }
            let (sent, failed) = send_batch(socket, &datagrams);
            packets += sent;
            errors += failed;
        }
        let mut state = lock(state);
        state.packets += packets;
        state.errors += errors;
        let _ = state.lateness_micros.record(late.as_micros().max(1) as u64);
        drop(state);
        slot += 1;
    }
}

/// Where one server stream stands, keyed by its source address.
struct StreamIn {
    /// Extended (wrap-free) sequence number and arrival of the newest packet.
    highest: u64,
    last_arrival: Duration,
    /// First extended sequence number seen in the current window, and packets since.
    window_first: Option<u64>,
    window_received: u64,
}

struct ReceiverState {
    streams: HashMap<SocketAddr, StreamIn>,
    jitter_micros: Histogram<u64>,
    packets: u64,
    silent_packets: u64,
}

impl ReceiverState {
    fn new() -> Self {
        ReceiverState {
            streams: HashMap::new(),
            jitter_micros: new_histogram(),
            packets: 0,
            silent_packets: 0,
        }
    }

    fn begin_window(&mut self) {
        self.jitter_micros.reset();
        self.packets = 0;
        self.silent_packets = 0;
        for stream in self.streams.values_mut() {
            stream.window_first = None;
            stream.window_received = 0;
        }
    }

    /// One packet from `source`; `now` is its arrival (any fixed origin).
    fn on_packet(&mut self, source: SocketAddr, sequence: u16, now: Duration) {
        self.packets += 1;
        let Some(stream) = self.streams.get_mut(&source) else {
            self.streams.insert(
                source,
                StreamIn {
                    highest: u64::from(sequence) + (1 << 16),
                    last_arrival: now,
                    window_first: Some(u64::from(sequence) + (1 << 16)),
                    window_received: 1,
                },
            );
            return;
        };
        let extended = extend_sequence(stream.highest, sequence);
        stream.window_received += 1;
        stream.window_first.get_or_insert(extended);
        if extended <= stream.highest {
            return; // Reordered or duplicated: no interval to measure.
        }
        let expected = PTIME * u32::try_from(extended - stream.highest).unwrap_or(u32::MAX);
        let interval = now.saturating_sub(stream.last_arrival);
        let deviation = interval.abs_diff(expected);
        let _ = self
            .jitter_micros
            .record((deviation.as_micros() as u64).clamp(1, HISTOGRAM_MAX_MICROS));
        stream.highest = extended;
        stream.last_arrival = now;
    }

    fn add_to(&self, report: &mut WindowReport) {
        let _ = report.jitter_micros.add(&self.jitter_micros);
        report.packets_received += self.packets;
        report.packets_silent += self.silent_packets;
        report.streams += self.streams.len();
        for stream in self.streams.values() {
            match stream.window_first {
                Some(first) => {
                    let expected = stream.highest + 1 - first;
                    report.packets_lost += expected.saturating_sub(stream.window_received);
                }
                None => report.silent_streams += 1,
            }
        }
    }
}

/// Whether a G.711 payload is all zero samples (µ-law 0xFF, A-law 0xD5).
fn is_silence(payload: &[u8]) -> bool {
    !payload.is_empty()
        && (payload.iter().all(|&b| b == 0xFF) || payload.iter().all(|&b| b == 0xD5))
}

/// The extended sequence number closest to `highest` whose low 16 bits are `sequence`.
fn extend_sequence(highest: u64, sequence: u16) -> u64 {
    let delta = i64::from(sequence.wrapping_sub(highest as u16) as i16);
    highest.saturating_add_signed(delta)
}

fn receive_loop(socket: &UdpSocket, state: &Mutex<ReceiverState>, stop: &AtomicBool) {
    let mut batch = arrival_stamp::Batch::default();
    while !stop.load(Ordering::Relaxed) {
        if arrival_stamp::recv_batch(socket, &mut batch).is_err() {
            continue; // Timeout (checks the stop flag) or a transient error.
        }
        let mut state = lock(state);
        for (datagram, source, now) in batch.datagrams() {
            let (Some(source), Ok(packet)) = (source, parse_rtp(datagram)) else {
                continue;
            };
            state.on_packet(source, packet.sequence, now);
            if is_silence(packet.payload) {
                state.silent_packets += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer() -> SocketAddr {
        "127.0.0.1:16000".parse().unwrap()
    }

    #[test]
    fn silence_is_told_from_voice_in_both_laws() {
        assert!(is_silence(&[0xFF; 160]));
        assert!(is_silence(&[0xD5; 160]));
        let mut voice = [0xFF; 160];
        voice[80] = 0x7E;
        assert!(!is_silence(&voice));
        assert!(!is_silence(&[]));
    }

    #[test]
    fn sequence_numbers_extend_across_the_wrap() {
        assert_eq!(extend_sequence(65_535 + (1 << 16), 0), 2 << 16);
        assert_eq!(extend_sequence(5 + (1 << 16), 3), 3 + (1 << 16));
    }

    #[test]
    fn on_time_packets_have_no_jitter_and_late_ones_do() {
        let mut state = ReceiverState::new();
        let t0 = Duration::from_secs(1_800_000_000);
        state.on_packet(peer(), 10, t0);
        state.on_packet(peer(), 11, t0 + PTIME);
        state.on_packet(peer(), 12, t0 + PTIME * 2 + Duration::from_millis(3));
        assert_eq!(state.jitter_micros.len(), 2);
        assert!(state.jitter_micros.value_at_quantile(0.5) <= 1);
        let worst = state.jitter_micros.max();
        assert!(
            (2_990..=3_010).contains(&worst),
            "3 ms late, got {worst} µs"
        );
    }

    #[test]
    fn a_lost_packet_counts_as_loss_not_as_jitter() {
        let mut state = ReceiverState::new();
        let t0 = Duration::from_secs(1_800_000_000);
        state.on_packet(peer(), 1, t0);
        state.begin_window();
        state.on_packet(peer(), 2, t0 + PTIME);
        state.on_packet(peer(), 4, t0 + PTIME * 3);
        let mut report = WindowReport::empty();
        state.add_to(&mut report);
        assert_eq!(report.packets_lost, 1);
        assert_eq!(report.packets_received, 2);
        assert!(
            state.jitter_micros.max() <= 1,
            "the gap was on time for 2 packets"
        );
    }

    #[test]
    fn a_stream_quiet_during_the_window_is_reported_silent() {
        let mut state = ReceiverState::new();
        state.on_packet(peer(), 1, Duration::from_secs(1));
        state.begin_window();
        let mut report = WindowReport::empty();
        state.add_to(&mut report);
        assert_eq!((report.streams, report.silent_streams), (1, 1));
    }

    #[test]
    fn voice_packets_loop_over_the_encoded_audio() {
        let voice: Vec<i16> = (0..400).map(|i| (i * 50) as i16).collect();
        let encoded = EncodedVoice::new(&voice);
        assert_eq!(encoded.ulaw.len(), 320, "partial packets are dropped");
        assert_eq!(
            encoded.packet(G711Law::Ulaw, 2),
            encoded.packet(G711Law::Ulaw, 0)
        );
        assert_eq!(
            encoded.packet(G711Law::Alaw, 1)[0],
            G711Law::Alaw.encode(160 * 50)
        );
    }

    #[test]
    fn server_packets_are_timed_end_to_end_over_loopback() {
        let voice = vec![0i16; 1600];
        let load = RtpLoad::start(IpAddr::from([127, 0, 0, 1]), 1, &voice).unwrap();
        let (_, address) = load.address(0);
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        load.stream_sender()
            .send(Outgoing {
                socket: 0,
                destination: server.local_addr().unwrap(),
                payload_type: 0,
                law: G711Law::Ulaw,
            })
            .unwrap();
        server
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut buffer = [0u8; 512];
        let (len, from) = server.recv_from(&mut buffer).unwrap();
        assert_eq!(from, address);
        let packet = parse_rtp(&buffer[..len]).unwrap();
        assert_eq!((packet.payload_type, packet.payload.len()), (0, 160));
        load.begin_window();
        for sequence in 0..3u16 {
            let header = OutgoingHeader {
                payload_type: 0,
                marker: false,
                sequence,
                timestamp: u32::from(sequence) * 160,
                ssrc: 7,
            };
            let len = write_rtp(&header, &[0xff; 160], &mut buffer).unwrap();
            server.send_to(&buffer[..len], address).unwrap();
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while load.window().packets_received < 3 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let report = load.window();
        assert_eq!(report.packets_received, 3);
        assert_eq!((report.streams, report.packets_lost), (1, 0));
        assert_eq!(report.jitter_micros.len(), 2);
    }
}
