//! A raw-text SIP peer for the robustness tests: it sends datagrams byte for byte (the
//! point is to send what a real stack would refuse to build), reads what comes back,
//! answers the server's own requests (a BYE when a call ends), and acknowledges and hangs
//! up the calls it starts, so that no test leaves a call or a transaction behind.

#![allow(dead_code)]

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

/// One SIP message as text: start line, unfolded headers, body.
#[derive(Debug, Clone)]
pub struct Message {
    pub start: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Compact header forms (RFC 3261 §7.3.3) used by the torture messages.
const COMPACT: &[(&str, &str)] = &[
    ("call-id", "i"),
    ("from", "f"),
    ("to", "t"),
    ("via", "v"),
    ("contact", "m"),
    ("content-length", "l"),
    ("content-type", "c"),
];

impl Message {
    /// Parses the head up to the first blank line (or the end: baddn.dat has no blank
    /// line); folded lines are joined.
    pub fn parse(bytes: &[u8]) -> Option<Message> {
        let (end, body_start) = match bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            Some(end) => (end, end + 4),
            None => (bytes.len(), bytes.len()),
        };
        let head = String::from_utf8_lossy(&bytes[..end]);
        let mut lines = head.split("\r\n");
        let start = lines.next()?.to_owned();
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in lines {
            if line.starts_with([' ', '\t']) {
                if let Some((_, value)) = headers.last_mut() {
                    value.push(' ');
                    value.push_str(line.trim());
                }
            } else if let Some((name, value)) = line.split_once(':') {
                headers.push((name.trim().to_owned(), value.trim().to_owned()));
            }
        }
        Some(Message {
            start,
            headers,
            body: bytes[body_start..].to_vec(),
        })
    }

    /// The status code of a response.
    pub fn status(&self) -> Option<u16> {
        let rest = self.start.strip_prefix("SIP/2.0 ")?;
        rest.split(' ').next()?.parse().ok()
    }

    pub fn is_request(&self) -> bool {
        !self.start.starts_with("SIP/")
    }

    pub fn method(&self) -> &str {
        self.start.split(' ').next().unwrap_or_default()
    }

    pub fn request_uri(&self) -> &str {
        self.start.split(' ').nth(1).unwrap_or_default()
    }

    /// Every value of a header, by long or compact name, case-insensitively.
    pub fn all<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a str> + use<'a> {
        let name = name.to_ascii_lowercase();
        let short = COMPACT
            .iter()
            .find(|(long, _)| *long == name)
            .map(|(_, short)| *short);
        self.headers
            .iter()
            .filter(move |(n, _)| {
                n.eq_ignore_ascii_case(&name) || short.is_some_and(|s| n.eq_ignore_ascii_case(s))
            })
            .map(|(_, v)| v.as_str())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.all(name).next()
    }

    /// The CSeq as (number without leading zeros, method), whitespace-insensitive.
    pub fn cseq(&self) -> Option<(String, String)> {
        let value = self.header("cseq")?;
        let mut parts = value.split_whitespace();
        let number = parts.next()?.trim_start_matches('0').to_owned();
        Some((number, parts.next()?.to_owned()))
    }

    /// The URI inside the first Contact's angle brackets (or the bare value).
    pub fn contact_uri(&self) -> Option<String> {
        let contact = self.header("contact")?;
        let uri = match (contact.find('<'), contact.find('>')) {
            (Some(open), Some(close)) if open < close => &contact[open + 1..close],
            _ => contact.split(';').next().unwrap_or(contact),
        };
        Some(uri.trim().to_owned())
    }
}

/// What ties a response to the request it answers: Call-ID (when the request had one)
/// and CSeq.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub call_id: Option<String>,
    pub cseq: Option<(String, String)>,
}

impl Key {
    pub fn of(request: &Message) -> Key {
        Key {
            call_id: request.header("call-id").map(str::to_owned),
            cseq: request.cseq(),
        }
    }

    pub fn matches(&self, response: &Message) -> bool {
        let call_id_ok = match &self.call_id {
            Some(id) => response.header("call-id") == Some(id.as_str()),
            None => true,
        };
        call_id_ok && (self.cseq.is_none() || response.cseq() == self.cseq)
    }
}

/// A loopback UDP peer of the server under test.
pub struct Peer {
    socket: UdpSocket,
    pub server: SocketAddr,
    /// Every response received, in order, whatever it answered.
    pub seen: Vec<Message>,
    next_branch: u32,
}

impl Peer {
    pub fn new(server: SocketAddr) -> Peer {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind a loopback UDP socket");
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .expect("read timeout");
        Peer {
            socket,
            server,
            seen: Vec::new(),
            next_branch: 0,
        }
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.socket.local_addr().expect("local address")
    }

    pub fn send(&self, bytes: &[u8]) {
        self.socket
            .send_to(bytes, self.server)
            .expect("send a datagram");
    }

    fn branch(&mut self) -> String {
        self.next_branch += 1;
        format!(
            "z9hG4bK-peer-{}-{}",
            self.local_addr().port(),
            self.next_branch
        )
    }

    /// Reads one datagram (bounded by the socket's read timeout); requests from the
    /// server are answered 200 at once and not returned.
    fn receive(&mut self) -> Option<Message> {
        let mut buf = vec![0u8; 65_535];
        let (len, _) = self.socket.recv_from(&mut buf).ok()?;
        let message = Message::parse(&buf[..len])?;
        if message.is_request() {
            if message.method() != "ACK" {
                let ok = response_to(&message, 200, "OK");
                self.send(ok.as_bytes());
            }
            return None;
        }
        self.seen.push(message.clone());
        Some(message)
    }

    /// Waits up to `timeout` for the final response matching `key`; returns every
    /// response that matched (provisional ones included), the final one last.
    pub fn await_final(&mut self, key: &Key, timeout: Duration) -> Vec<Message> {
        let end = Instant::now() + timeout;
        let mut matched = Vec::new();
        while Instant::now() < end {
            let Some(message) = self.receive() else {
                continue;
            };
            if key.matches(&message) {
                let is_final = message.status().is_some_and(|s| s >= 200);
                matched.push(message);
                if is_final {
                    break;
                }
            }
        }
        matched
    }

    /// Sends `request` and resends it every 500 ms until its final response arrives,
    /// as a real client does over UDP (RFC 3261 Timer A/E), up to `timeout`.
    pub fn exchange_retransmitting(&mut self, request: &[u8], timeout: Duration) -> Vec<Message> {
        let key = Key::of(&Message::parse(request).expect("a request with a head"));
        let end = Instant::now() + timeout;
        let mut matched = Vec::new();
        while Instant::now() < end {
            self.send(request);
            matched.extend(self.await_final(&key, Duration::from_millis(500)));
            if matched.iter().any(|m| m.status().is_some_and(|s| s >= 200)) {
                break;
            }
        }
        matched
    }

    /// Keeps reading (and answering the server's requests) for `duration`.
    pub fn drain(&mut self, duration: Duration) {
        let end = Instant::now() + duration;
        while Instant::now() < end {
            self.receive();
        }
    }

    /// Sends `request` as is and waits for its final response.
    pub fn exchange(&mut self, request: &[u8], timeout: Duration) -> Vec<Message> {
        let parsed = Message::parse(request).expect("a request with a head");
        self.send(request);
        self.await_final(&Key::of(&parsed), timeout)
    }

    /// Ends what a final response to an INVITE left open: the hop-by-hop ACK for a
    /// refusal (same branch as the INVITE), or ACK then BYE for an answered call.
    /// Returns the BYE's final status when there was a call.
    pub fn finish_invite(&mut self, invite: &Message, response: &Message) -> Option<u16> {
        let status = response.status()?;
        let (number, _) = invite.cseq()?;
        let number: u64 = number.parse().unwrap_or(0);
        let to = response.header("to")?.to_owned();
        let from = invite.header("from")?.to_owned();
        let call_id = invite.header("call-id")?.to_owned();
        if status >= 300 {
            let via = invite.header("via")?.to_owned();
            let ack = format!(
                "ACK {} SIP/2.0\r\nVia: {via}\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: {call_id}\r\nCSeq: {number} ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
                invite.request_uri()
            );
            self.send(ack.as_bytes());
            return None;
        }
        let target = response
            .contact_uri()
            .unwrap_or_else(|| invite.request_uri().to_owned());
        let here = self.local_addr();
        let ack_branch = self.branch();
        let ack = format!(
            "ACK {target} SIP/2.0\r\nVia: SIP/2.0/UDP {here};branch={ack_branch}\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: {call_id}\r\nCSeq: {number} ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        );
        self.send(ack.as_bytes());
        let bye_branch = self.branch();
        let bye = format!(
            "BYE {target} SIP/2.0\r\nVia: SIP/2.0/UDP {here};branch={bye_branch}\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: {call_id}\r\nCSeq: {} BYE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
            number + 1
        );
        let answers = self.exchange(bye.as_bytes(), Duration::from_secs(5));
        answers.last().and_then(Message::status)
    }

    /// A well-formed OPTIONS from this peer.
    pub fn options(&mut self) -> String {
        let here = self.local_addr();
        let branch = self.branch();
        format!(
            "OPTIONS sip:ivr@{server} SIP/2.0\r\nVia: SIP/2.0/UDP {here};branch={branch}\r\nFrom: <sip:peer@{here}>;tag=o{branch}\r\nTo: <sip:ivr@{server}>\r\nCall-ID: options-{branch}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
            server = self.server
        )
    }

    /// A well-formed INVITE from this peer offering PCMU on a port nobody listens to.
    pub fn invite(&mut self) -> String {
        let here = self.local_addr();
        let branch = self.branch();
        let sdp = format!(
            "v=0\r\no=peer 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n",
            here.port() + 2
        );
        format!(
            "INVITE sip:ivr@{server} SIP/2.0\r\nVia: SIP/2.0/UDP {here};branch={branch}\r\nFrom: <sip:peer@{here}>;tag=i{branch}\r\nTo: <sip:ivr@{server}>\r\nCall-ID: invite-{branch}\r\nCSeq: 1 INVITE\r\nContact: <sip:peer@{here}>\r\nMax-Forwards: 70\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
            sdp.len(),
            server = self.server
        )
    }
}

/// A response to `request` copying what RFC 3261 §8.2.6.2 says to copy.
pub fn response_to(request: &Message, status: u16, reason: &str) -> String {
    let mut out = format!("SIP/2.0 {status} {reason}\r\n");
    for name in ["via", "from", "to", "call-id", "cseq"] {
        for value in request.all(name) {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    out.push_str("Content-Length: 0\r\n\r\n");
    out
}
