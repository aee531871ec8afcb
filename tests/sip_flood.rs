//! A flood of junk datagrams (random bytes, mangled torture messages, requests with no
//! Via) at the real server, then a real caller: the call must still be answered, every
//! call the junk happened to start must end on its own, and nothing may panic.

mod sip_wire;
mod support;

use sip_wire::{Message, Peer};
use std::net::UdpSocket;
use std::time::Duration;
use support::TestServer;

/// How many junk datagrams are sent.
const JUNK: usize = 3000;

/// A small deterministic generator, so a failure can be replayed.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn torture_corpus() -> Vec<Vec<u8>> {
    let dir = support::repo_root().join("sip-testbench/rfc4475");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("torture directory")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "dat"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| std::fs::read(p).expect("file"))
        .collect()
}

fn junk(rng: &mut XorShift, corpus: &[Vec<u8>]) -> Vec<u8> {
    const SPECIAL: &[&[u8]] = &[
        b";", b",", b"\"", b"<", b">", b" ", b"\r\n", b":", b"\0", b"\xff",
    ];
    match rng.below(4) {
        0 => (0..1 + rng.below(1400)).map(|_| rng.next() as u8).collect(),
        1 => format!(
            "INVITE sip:x@y SIP/2.0\r\nCall-ID: flood-{}\r\nCSeq: 1 INVITE\r\n\r\n",
            rng.next()
        )
        .into_bytes(),
        _ => {
            let mut bytes = corpus[rng.below(corpus.len())].clone();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(bytes.len());
                match rng.below(3) {
                    0 => bytes[at] = rng.next() as u8,
                    1 => {
                        let what = SPECIAL[rng.below(SPECIAL.len())];
                        bytes.splice(at..at, what.iter().copied());
                    }
                    _ => bytes.truncate(at.max(1)),
                }
            }
            bytes
        }
    }
}

#[test]
fn a_flood_of_junk_leaves_the_server_answering_calls() {
    // T1 = 100 ms: a call some mangled INVITE started, never acknowledged by the junk
    // socket, ends at 64*T1 instead of half a minute later.
    let server = TestServer::start("[sip]\ntimer_t1_ms = 100\n");
    let junk_socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let corpus = torture_corpus();
    let mut rng = XorShift(0x5eed_1234_abcd_0001);
    for _ in 0..JUNK {
        // a full socket buffer on either side is part of a flood: ignore send errors
        junk_socket
            .send_to(&junk(&mut rng, &corpus), server.sip_udp)
            .ok();
    }

    let mut peer = Peer::new(server.sip_udp);
    let options = peer.options();
    let answers = peer.exchange_retransmitting(options.as_bytes(), Duration::from_secs(20));
    assert_eq!(
        answers.last().and_then(Message::status),
        Some(200),
        "OPTIONS after the flood\n{}",
        server.log()
    );
    let invite = peer.invite();
    let answers = peer.exchange_retransmitting(invite.as_bytes(), Duration::from_secs(20));
    let ok = answers.last().expect("an answer to the INVITE");
    assert_eq!(ok.status(), Some(200), "{}", server.log());
    assert!(String::from_utf8_lossy(&ok.body).contains("m=audio"));
    let invite = Message::parse(invite.as_bytes()).expect("our INVITE");
    assert_eq!(peer.finish_invite(&invite, ok), Some(200));

    let health = server.health();
    eprintln!("after {JUNK} junk datagrams and one call: {health}");
    assert!(
        health["sip_rejected"].as_u64().unwrap_or(0) > 0,
        "the guard refused nothing? {health}"
    );
    // every call the junk started ends by itself (no ACK ever comes)
    let mut active = health["active_calls"].as_u64();
    for _ in 0..300 {
        if active == Some(0) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
        active = server.health()["active_calls"].as_u64();
    }
    assert_eq!(
        active,
        Some(0),
        "calls stuck after the flood:\n{}",
        server.log()
    );
    assert!(!server.log().contains("panicked"), "{}", server.log());
}
