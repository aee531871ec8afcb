//! The refusals over TCP: torture messages whose framing is sound are sent on one TCP
//! connection, each gets the answer it gets over UDP (the stream guard and admission),
//! and the connection still serves an OPTIONS afterwards. wsinv.dat, which rsipstack's
//! stream codec cannot frame (docs/architecture.md, "Known limits"), costs its own
//! connection and nothing more. The connection limits and the idle timeout close what
//! they must, and a dialog set up over TCP is told to stay on TCP (our Contact).

mod sip_wire;
mod support;

use sip_wire::{Key, Message};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};
use support::{PATIENCE, TestServer};

/// Reads SIP messages off a stream until one answers `key` with a final status.
fn final_answer(stream: &mut TcpStream, pending: &mut Vec<u8>, key: &Key) -> Option<Message> {
    let end = Instant::now() + PATIENCE;
    while Instant::now() < end {
        while let Some(head_end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = Message::parse(&pending[..head_end + 4])?;
            let body_len: usize = head
                .header("content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let total = head_end + 4 + body_len;
            if pending.len() < total {
                break;
            }
            let message = Message::parse(&pending[..total])?;
            pending.drain(..total);
            if !message.is_request()
                && key.matches(&message)
                && message.status().is_some_and(|s| s >= 200)
            {
                return Some(message);
            }
        }
        let mut buf = [0u8; 8192];
        match stream.read(&mut buf) {
            Ok(0) => return None,
            Ok(n) => pending.extend_from_slice(&buf[..n]),
            Err(_) => {} // read timeout: look again until the deadline
        }
    }
    None
}

fn options_request(stream: &TcpStream, server: SocketAddr, n: u32) -> (String, Key) {
    let here = stream.local_addr().expect("local address");
    let options = format!(
        "OPTIONS sip:ivr@{server} SIP/2.0\r\nVia: SIP/2.0/TCP {here};branch=z9hG4bK-tcp-{n}\r\nFrom: <sip:peer@{here}>;tag=t{n}\r\nTo: <sip:ivr@{server}>\r\nCall-ID: tcp-options-{n}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    );
    let key = Key::of(&Message::parse(options.as_bytes()).expect("ours parses"));
    (options, key)
}

fn connect(server: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(server).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    stream
}

#[test]
fn torture_messages_over_one_tcp_connection_get_their_answers() {
    let server = TestServer::start("");
    let mut stream = connect(server.sip_tcp);
    let mut pending = Vec::new();
    let mut failures = Vec::new();
    for (file, expected) in [
        ("bext01.dat", 420),
        ("unkscm.dat", 416),
        ("invut.dat", 415),
        ("sdp01.dat", 406),
        ("mismatch01.dat", 400),
        ("zeromf.dat", 483),
        // REGISTER goes to the registrar, which refuses a To URI without a user.
        ("unksm2.dat", 400),
    ] {
        let path = support::repo_root()
            .join("sip-testbench/rfc4475")
            .join(file);
        let bytes = std::fs::read(&path).expect("torture file");
        let request = Message::parse(&bytes).expect("a head");
        stream.write_all(&bytes).expect("send");
        let answer = final_answer(&mut stream, &mut pending, &Key::of(&request));
        let status = answer.as_ref().and_then(Message::status);
        if status != Some(expected) {
            failures.push(format!("{file}: expected {expected}, got {status:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n{}",
        failures.join("\n"),
        server.log()
    );

    let (options, key) = options_request(&stream, server.sip_tcp, 1);
    stream.write_all(options.as_bytes()).expect("send OPTIONS");
    let answer = final_answer(&mut stream, &mut pending, &key);
    assert_eq!(
        answer.and_then(|m| m.status()),
        Some(200),
        "{}",
        server.log()
    );
}

#[test]
fn a_connection_the_codec_cannot_frame_costs_only_itself() {
    let server = TestServer::start("");
    let path = support::repo_root().join("sip-testbench/rfc4475/wsinv.dat");
    let mut broken = connect(server.sip_tcp);
    broken
        .write_all(&std::fs::read(path).expect("wsinv.dat"))
        .expect("send");
    let mut stream = connect(server.sip_tcp);
    let (options, key) = options_request(&stream, server.sip_tcp, 2);
    stream.write_all(options.as_bytes()).expect("send OPTIONS");
    let answer = final_answer(&mut stream, &mut Vec::new(), &key);
    assert_eq!(
        answer.and_then(|m| m.status()),
        Some(200),
        "{}",
        server.log()
    );
}

/// Whether the server closed `stream` within `PATIENCE` (reads see the end or a reset).
fn closed_by_server(stream: &mut TcpStream) -> bool {
    let end = Instant::now() + PATIENCE;
    let mut buf = [0u8; 4096];
    while Instant::now() < end {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(err)
                if matches!(
                    err.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return true,
        }
    }
    false
}

fn options_answered(stream: &mut TcpStream, server: SocketAddr, n: u32) -> Option<u16> {
    let (options, key) = options_request(stream, server, n);
    stream.write_all(options.as_bytes()).ok()?;
    final_answer(stream, &mut Vec::new(), &key).and_then(|m| m.status())
}

#[test]
fn connections_beyond_the_per_source_limit_are_closed_and_a_freed_place_is_reused() {
    let server = TestServer::start("[sip]\nmax_connections_per_source = 3\n");
    let mut open: Vec<TcpStream> = (0..3).map(|_| connect(server.sip_tcp)).collect();
    for (n, stream) in open.iter_mut().enumerate() {
        assert_eq!(
            options_answered(stream, server.sip_tcp, 10 + n as u32),
            Some(200),
            "connection {n} within the limit\n{}",
            server.log()
        );
    }
    let mut extra = connect(server.sip_tcp);
    assert!(
        closed_by_server(&mut extra),
        "a fourth connection from the same address is closed\n{}",
        server.log()
    );
    // The ones within the limit still work.
    assert_eq!(
        options_answered(&mut open[0], server.sip_tcp, 20),
        Some(200)
    );

    drop(open.pop());
    // The server frees the place when it sees the close: try until it has.
    let end = Instant::now() + PATIENCE;
    let mut served = false;
    let mut n = 30;
    while !served && Instant::now() < end {
        let mut again = connect(server.sip_tcp);
        served = options_answered(&mut again, server.sip_tcp, n) == Some(200);
        n += 1;
        if !served {
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    assert!(
        served,
        "a closed connection frees its place\n{}",
        server.log()
    );
}

#[test]
fn a_silent_connection_is_closed_after_the_idle_timeout() {
    let server = TestServer::start("[sip]\nconnection_idle_secs = 1\n");
    let mut silent = connect(server.sip_tcp);
    assert!(
        closed_by_server(&mut silent),
        "an idle connection is closed\n{}",
        server.log()
    );
}

#[test]
fn our_contact_on_a_tcp_dialog_says_transport_tcp() {
    let server = TestServer::start("");
    let mut stream = connect(server.sip_tcp);
    let here = stream.local_addr().expect("local address");
    let sdp = "v=0\r\no=peer 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
    let server_addr = server.sip_tcp;
    let invite = format!(
        "INVITE sip:ivr@{server_addr} SIP/2.0\r\nVia: SIP/2.0/TCP {here};branch=z9hG4bK-tcp-inv\r\nFrom: <sip:peer@{here}>;tag=tcpinv\r\nTo: <sip:ivr@{server_addr}>\r\nCall-ID: tcp-invite-1\r\nCSeq: 1 INVITE\r\nContact: <sip:peer@{here};transport=tcp>\r\nMax-Forwards: 70\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    );
    let key = Key::of(&Message::parse(invite.as_bytes()).expect("ours parses"));
    stream.write_all(invite.as_bytes()).expect("send INVITE");
    let answer = final_answer(&mut stream, &mut Vec::new(), &key).expect("a final answer");
    assert_eq!(answer.status(), Some(200), "{}", server.log());
    let contact = answer.header("contact").unwrap_or_default().to_owned();
    assert!(
        contact.contains(";transport=tcp"),
        "Contact {contact:?} keeps the dialog on TCP"
    );
}
