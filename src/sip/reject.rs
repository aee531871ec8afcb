//! Stateless rejection of requests the SIP stack cannot or must not process: unparseable
//! datagrams (400), unknown methods (501), missing mandatory headers (400) and
//! `Max-Forwards: 0` (483).
//!
//! Works on the raw text on purpose: a message that failed the real parser must still be
//! answered when its Via, From, To, Call-ID and CSeq can be found (RFC 3261 §8.2.6 copies
//! them into the response). Anything that is not recognisably a request gets nothing.

/// Why a request is refused before it reaches the transaction layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub status: u16,
    pub reason: &'static str,
    /// Shown in a `Warning`-free way: as the reason phrase's explanation in logs.
    pub detail: String,
}

/// Methods this server knows (the parser knows exactly these).
const KNOWN_METHODS: &[&str] = &[
    "ACK",
    "BYE",
    "CANCEL",
    "INFO",
    "INVITE",
    "MESSAGE",
    "NOTIFY",
    "OPTIONS",
    "PRACK",
    "PUBLISH",
    "REFER",
    "REGISTER",
    "SUBSCRIBE",
    "UPDATE",
];

/// Methods answered by this server (the `Allow` header).
pub const ALLOWED_METHODS: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE";

/// Headers whose absence makes a request unanswerable in a dialog (RFC 3261 §8.1.1).
const MANDATORY: &[(&str, &str)] = &[
    ("via", "v"),
    ("from", "f"),
    ("to", "t"),
    ("call-id", "i"),
    ("cseq", ""),
];

/// The parts of a raw message needed to judge and answer it.
struct RawRequest<'a> {
    method: &'a str,
    version: &'a str,
    headers: Vec<(&'a str, &'a str)>,
}

fn split_head(raw: &str) -> Option<RawRequest<'_>> {
    let head = raw.split("\r\n\r\n").next().unwrap_or(raw);
    let mut lines = head.split('\n').map(|l| l.trim_end_matches('\r'));
    let request_line = lines.next()?.trim();
    let mut parts = request_line.split_whitespace();
    let method = parts.next()?;
    let _uri = parts.next()?;
    let version = parts.next()?;
    if parts.next().is_some()
        || !method
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b))
    {
        return None;
    }
    let mut headers: Vec<(&str, &str)> = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            // Folded continuation: belongs to the previous header; not needed for answering.
            continue;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim(), value.trim()));
        }
    }
    Some(RawRequest {
        method,
        version,
        headers,
    })
}

impl RawRequest<'_> {
    fn values<'s>(&'s self, long: &'s str, short: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.headers
            .iter()
            .filter(move |(n, _)| {
                n.eq_ignore_ascii_case(long) || (!short.is_empty() && n.eq_ignore_ascii_case(short))
            })
            .map(|(_, v)| *v)
    }

    fn has(&self, long: &str, short: &str) -> bool {
        self.values(long, short).next().is_some()
    }
}

/// Judges a datagram the SIP parser could not read. Returns `None` when it is not a
/// request at all (a response, a keep-alive, binary junk): those are dropped.
pub fn judge_unparseable(raw: &[u8]) -> Option<Rejection> {
    let text = std::str::from_utf8(raw).ok()?;
    let req = split_head(text)?;
    if req.method.starts_with("SIP/") {
        return None;
    }
    if !req.version.eq_ignore_ascii_case("SIP/2.0") {
        return Some(version_not_supported(req.version));
    }
    if !KNOWN_METHODS.iter().any(|m| *m == req.method) {
        return Some(Rejection {
            status: 501,
            reason: "Not Implemented",
            detail: format!("method {}", req.method),
        });
    }
    Some(Rejection {
        status: 400,
        reason: "Bad Request",
        detail: "malformed message".into(),
    })
}

fn version_not_supported(version: &str) -> Rejection {
    Rejection {
        status: 505,
        reason: "Version Not Supported",
        detail: format!("protocol version {version}"),
    }
}

/// Judges a request that parsed: missing mandatory headers, a CSeq whose method differs
/// from the request line, or `Max-Forwards: 0`. `None` means it may go on.
pub fn judge_parsed(raw: &[u8]) -> Option<Rejection> {
    let text = std::str::from_utf8(raw).ok()?;
    let req = split_head(text)?;
    if req.method.starts_with("SIP/") {
        return None;
    }
    if !req.version.eq_ignore_ascii_case("SIP/2.0") {
        return Some(version_not_supported(req.version));
    }
    if req.method == "ACK" {
        return None;
    }
    for (long, short) in MANDATORY {
        if !req.has(long, short) {
            return Some(Rejection {
                status: 400,
                reason: "Bad Request",
                detail: format!("missing {long} header"),
            });
        }
    }
    let cseq = req.values("cseq", "").next().unwrap_or_default();
    let mut cseq_parts = cseq.split_whitespace();
    let seq_ok = cseq_parts.next().is_some_and(|n| n.parse::<u32>().is_ok());
    if !seq_ok || cseq_parts.next() != Some(req.method) {
        return Some(Rejection {
            status: 400,
            reason: "Bad Request",
            detail: format!("CSeq {cseq:?} does not match method {}", req.method),
        });
    }
    if req.values("max-forwards", "").any(|v| v.trim() == "0") {
        return Some(Rejection {
            status: 483,
            reason: "Too Many Hops",
            detail: "Max-Forwards is 0".into(),
        });
    }
    None
}

/// Builds the stateless response to `raw`, or `None` when it cannot be routed back
/// (no Via) or must not be answered (ACK).
pub fn response_for(raw: &[u8], rejection: &Rejection, user_agent: &str) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(raw).ok()?;
    let req = split_head(text)?;
    if req.method == "ACK" {
        return None;
    }
    let vias: Vec<&str> = req.values("via", "v").collect();
    if vias.is_empty() {
        return None;
    }
    let mut out = format!("SIP/2.0 {} {}\r\n", rejection.status, rejection.reason);
    for via in vias {
        out.push_str("Via: ");
        out.push_str(via);
        out.push_str("\r\n");
    }
    for (long, short, name) in [
        ("from", "f", "From"),
        ("to", "t", "To"),
        ("call-id", "i", "Call-ID"),
        ("cseq", "", "CSeq"),
    ] {
        if let Some(value) = req.values(long, short).next() {
            out.push_str(name);
            out.push_str(": ");
            out.push_str(value);
            if name == "To" && !value.contains(";tag=") {
                out.push_str(";tag=");
                out.push_str(&stateless_tag(text));
            }
            out.push_str("\r\n");
        }
    }
    if rejection.status == 501 || rejection.status == 405 {
        out.push_str("Allow: ");
        out.push_str(ALLOWED_METHODS);
        out.push_str("\r\n");
    }
    out.push_str("Server: ");
    out.push_str(user_agent);
    out.push_str("\r\nContent-Length: 0\r\n\r\n");
    Some(out.into_bytes())
}

/// A To tag that is the same for retransmissions of the same request (§8.2.6.2 asks
/// for a tag; stable tags keep retransmitted answers identical).
fn stateless_tag(text: &str) -> String {
    let mut hash: u64 = 0xcbf29ce484222325;
    for b in text.bytes().take(512) {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x100000001b3);
    }
    format!("{:x}", hash & 0xffff_ffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTIONS_NO_CALLID: &str = "OPTIONS sip:a@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\nFrom: <sip:b@x>;tag=1\r\nTo: <sip:a@x>\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";

    #[test]
    fn missing_call_id_is_400_with_headers_copied() {
        let rej = judge_parsed(OPTIONS_NO_CALLID.as_bytes()).expect("rejected");
        assert_eq!(rej.status, 400);
        assert!(rej.detail.contains("call-id"));
        let resp =
            String::from_utf8(response_for(OPTIONS_NO_CALLID.as_bytes(), &rej, "t").unwrap())
                .unwrap();
        assert!(resp.starts_with("SIP/2.0 400 Bad Request\r\n"));
        assert!(resp.contains("Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\n"));
        assert!(resp.contains("To: <sip:a@x>;tag="));
        assert!(resp.contains("CSeq: 1 OPTIONS\r\n"));
    }

    #[test]
    fn max_forwards_zero_is_483() {
        let raw = OPTIONS_NO_CALLID.replace("Max-Forwards: 70", "Call-ID: c1\r\nMax-Forwards: 0");
        let rej = judge_parsed(raw.as_bytes()).expect("rejected");
        assert_eq!(rej.status, 483);
    }

    #[test]
    fn cseq_method_mismatch_is_400() {
        let raw = OPTIONS_NO_CALLID.replace("CSeq: 1 OPTIONS", "Call-ID: c1\r\nCSeq: 1 INVITE");
        assert_eq!(judge_parsed(raw.as_bytes()).map(|r| r.status), Some(400));
    }

    #[test]
    fn well_formed_request_passes() {
        let raw = OPTIONS_NO_CALLID.replace("CSeq:", "Call-ID: c1\r\nCSeq:");
        assert_eq!(judge_parsed(raw.as_bytes()), None);
    }

    #[test]
    fn unknown_method_is_501_with_allow() {
        let raw = OPTIONS_NO_CALLID.replacen("OPTIONS sip", "NEWMETHOD sip", 1);
        let rej = judge_unparseable(raw.as_bytes()).expect("rejected");
        assert_eq!(rej.status, 501);
        let resp = String::from_utf8(response_for(raw.as_bytes(), &rej, "t").unwrap()).unwrap();
        assert!(resp.contains("Allow: INVITE"));
    }

    #[test]
    fn junk_and_responses_are_not_answered() {
        assert_eq!(judge_unparseable(b"\x00\x01\x02garbage"), None);
        assert_eq!(judge_unparseable(b"SIP/2.0 200 OK\r\n\r\n"), None);
        let no_via = "INVITE sip:a@x SIP/2.0\r\nCall-ID: x\r\n\r\n";
        let rej = judge_unparseable(no_via.as_bytes()).expect("a request");
        assert_eq!(response_for(no_via.as_bytes(), &rej, "t"), None);
    }

    #[test]
    fn stateless_tag_is_stable_for_retransmissions() {
        let rej = judge_parsed(OPTIONS_NO_CALLID.as_bytes()).unwrap();
        let a = response_for(OPTIONS_NO_CALLID.as_bytes(), &rej, "t");
        let b = response_for(OPTIONS_NO_CALLID.as_bytes(), &rej, "t");
        assert_eq!(a, b);
    }
}
