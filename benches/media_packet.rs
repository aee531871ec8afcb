//! Per-packet cost of the pure media path, without sockets: encode and packetise one 20 ms
//! frame, and parse + jitter-buffer + decode one received packet.
//!
//! Run: `cargo bench --bench media_packet`

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use hotline::media::g711::G711Law;
use hotline::media::inbound::{AudioReceiver, ReceiveConfig};
use hotline::media::outbound::{AudioSender, FRAME_DURATION, IdlePolicy, SendConfig};
use hotline::media::rtp_packet::{OutgoingHeader, write_rtp};

fn send_frame(c: &mut Criterion) {
    let config = SendConfig {
        law: G711Law::Ulaw,
        payload_type: 0,
        dtmf_payload_type: Some(101),
        idle: IdlePolicy::Silence,
    };
    let tone: Arc<[i16]> = (0..8000 * 600)
        .map(|i| ((i % 16) as i16 - 8) * 1000)
        .collect();
    let mut sender = AudioSender::new(config, 1, 0, 0);
    sender.play(tone);
    let mut now = Instant::now();
    let mut out = [0u8; 256];
    c.bench_function("AudioSender::poll_transmit (one 20 ms PCMU frame)", |b| {
        b.iter(|| {
            now += FRAME_DURATION;
            black_box(sender.poll_transmit(now, &mut out))
        })
    });
}

fn receive_packet(c: &mut Criterion) {
    let mut receiver = AudioReceiver::new(ReceiveConfig::default());
    let payload = [G711Law::Ulaw.encode(1234); 160];
    let mut packet = [0u8; 172];
    let mut sequence = 0u16;
    let mut now = Instant::now();
    c.bench_function(
        "AudioReceiver handle_datagram + poll (one PCMU packet)",
        |b| {
            b.iter(|| {
                sequence = sequence.wrapping_add(1);
                now += Duration::from_millis(20);
                let header = OutgoingHeader {
                    payload_type: 0,
                    marker: false,
                    sequence,
                    timestamp: u32::from(sequence) * 160,
                    ssrc: 9,
                };
                let len = write_rtp(&header, &payload, &mut packet).unwrap_or(0);
                let _ = receiver.handle_datagram(&packet[..len], now);
                while let Some(frame) = receiver.poll(now) {
                    black_box(frame);
                }
            })
        },
    );
}

criterion_group!(benches, send_frame, receive_packet);
criterion_main!(benches);
