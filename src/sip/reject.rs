//! Stateless rejection of requests the SIP stack cannot or must not process: unparseable
//! datagrams and malformed requests (400), unknown methods (501), unknown protocol
//! versions (505) and `Max-Forwards: 0` (483).
//!
//! Works on the raw text on purpose: a message that failed the real parser must still be
//! answered when its Via, From, To, Call-ID and CSeq can be found (RFC 3261 §8.2.6 copies
//! them into the response), and some malformations (RFC 4475 §3.1.2, §3.3.8, §3.3.9) are
//! accepted by rsipstack's lenient parser and can only be seen in the raw bytes. Anything
//! that is not recognisably a request gets nothing.

/// Why a request is refused before it reaches the transaction layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub status: u16,
    pub reason: &'static str,
    /// What was wrong, for the log line (never sent to the peer).
    pub detail: String,
}

impl Rejection {
    fn bad_request(detail: impl Into<String>) -> Self {
        Self {
            status: 400,
            reason: "Bad Request",
            detail: detail.into(),
        }
    }
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
pub const ALLOWED_METHODS: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, REGISTER";
/// [`ALLOWED_METHODS`] of a server whose registrar is off.
pub const ALLOWED_WITHOUT_REGISTRAR: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE";

/// Headers whose absence makes a request unanswerable in a dialog (RFC 3261 §8.1.1),
/// as (long name, compact name).
const MANDATORY: &[(&str, &str)] = &[
    ("via", "v"),
    ("from", "f"),
    ("to", "t"),
    ("call-id", "i"),
    ("cseq", ""),
];

/// Headers that may appear at most once (RFC 3261 §7.3.1: only list-valued headers
/// may repeat); RFC 4475 §3.3.8 wants a 400 when they do.
const SINGLE_VALUED: &[(&str, &str)] = &[
    ("call-id", "i"),
    ("to", "t"),
    ("from", "f"),
    ("cseq", ""),
    ("max-forwards", ""),
    ("content-type", "c"),
];

/// Address headers whose quoting, angle brackets and parameters are checked.
const ADDRESS_HEADERS: &[(&str, &str)] =
    &[("to", "t"), ("from", "f"), ("contact", "m"), ("via", "v")];

/// The head of a raw request, unfolded: what is needed to judge and answer it. Read once
/// per message by [`read_request`]; every judgement and the response work on it.
pub struct RawRequest {
    method: String,
    uri: String,
    version: String,
    /// `METHOD SP Request-URI SP SIP-Version` with single spaces and nothing else
    /// (RFC 3261 §7.1); RFC 4475 §3.1.2.8-10 allow refusing anything looser.
    strict_request_line: bool,
    headers: Vec<(String, String)>,
    /// A non-empty header line without a colon.
    stray_line: bool,
    /// Octets after the blank line that ends the head.
    body_len: usize,
    /// The To tag a stateless response adds (see [`stateless_tag`]).
    tag: String,
}

/// Where the head ends and the body begins.
fn split_message(raw: &[u8]) -> (&[u8], usize) {
    let find = |needle: &[u8]| raw.windows(needle.len()).position(|w| w == needle);
    match find(b"\r\n\r\n") {
        Some(at) => (&raw[..at], raw.len() - at - 4),
        None => match find(b"\n\n") {
            Some(at) => (&raw[..at], raw.len() - at - 2),
            None => (raw, 0),
        },
    }
}

fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b)
}

/// Reads the head of a request; `None` when `raw` is not recognisably a request (a
/// response, a keep-alive, binary junk).
pub fn read_request(raw: &[u8]) -> Option<RawRequest> {
    split_head(raw).filter(|req| !req.is_response())
}

fn split_head(raw: &[u8]) -> Option<RawRequest> {
    let (head, body_len) = split_message(raw);
    // A head that is not UTF-8 is still answerable: the parts a response copies are
    // ASCII in any message worth answering.
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let request_line = lines.next()?;
    let mut parts = request_line.split_whitespace();
    let method = parts.next()?;
    if method.starts_with("SIP/") || !method.bytes().all(is_token_char) {
        return None; // a response, or not SIP at all
    }
    let rest: Vec<&str> = parts.collect();
    let (uri, version) = match rest.as_slice() {
        [] => return None,
        [only] if only.starts_with("SIP/") => ("", *only),
        [only] => (*only, ""),
        [uri @ .., version] => (uri.first().copied().unwrap_or_default(), *version),
    };
    let strict_request_line =
        rest.len() == 2 && request_line == format!("{method} {uri} {version}");
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut stray_line = false;
    for line in lines {
        if line.starts_with([' ', '\t']) {
            // A folded continuation (RFC 3261 §7.3.1): it joins the previous value.
            if let Some((_, value)) = headers.last_mut() {
                if !value.is_empty() {
                    value.push(' ');
                }
                value.push_str(line.trim());
            }
            continue;
        }
        match line.split_once(':') {
            Some((name, value)) => headers.push((name.trim().to_owned(), value.trim().to_owned())),
            None if line.trim().is_empty() => {}
            None => stray_line = true,
        }
    }
    Some(RawRequest {
        method: method.to_owned(),
        uri: uri.to_owned(),
        version: version.to_owned(),
        strict_request_line,
        headers,
        stray_line,
        body_len,
        tag: stateless_tag(raw),
    })
}

impl RawRequest {
    fn values<'s>(&'s self, long: &'s str, short: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.headers
            .iter()
            .filter(move |(n, _)| {
                n.eq_ignore_ascii_case(long) || (!short.is_empty() && n.eq_ignore_ascii_case(short))
            })
            .map(|(_, v)| v.as_str())
    }

    fn has(&self, long: &str, short: &str) -> bool {
        self.values(long, short).next().is_some()
    }

    fn is_response(&self) -> bool {
        self.method.starts_with("SIP/")
    }
}

/// Judges a datagram the SIP parser could not read. Returns `None` when it is not a
/// request at all (a response, a keep-alive, binary junk): those are dropped.
pub fn judge_unparseable(raw: &[u8]) -> Option<Rejection> {
    split_head(raw)?.judge_unparseable()
}

/// Judges a request that parsed (see [`RawRequest::judge_parsed`]); `None` means it may go
/// on.
pub fn judge_parsed(raw: &[u8]) -> Option<Rejection> {
    split_head(raw)?.judge_parsed()
}

/// What a request the raw rules let through is refused with when the SIP parser still
/// cannot read it.
pub fn malformed() -> Rejection {
    Rejection::bad_request("malformed message")
}

impl RawRequest {
    /// Judges a request before the SIP parser has seen it: an unknown method (which the
    /// parser cannot read) is 501, everything else as [`RawRequest::judge_parsed`]. `None`
    /// means the parser may try it; if it fails, the answer is [`malformed`].
    pub fn judge(&self) -> Option<Rejection> {
        if self.is_response() {
            return None;
        }
        if !KNOWN_METHODS.contains(&self.method.as_str()) {
            return self.judge_unparseable();
        }
        self.judge_parsed()
    }

    /// Judges a request the SIP parser could not read.
    pub fn judge_unparseable(&self) -> Option<Rejection> {
        if let Some(rejection) = version_rule(self) {
            return Some(rejection);
        }
        if !KNOWN_METHODS.contains(&self.method.as_str()) {
            // RFC 4475 §3.1.2.18: an unknown method is 501 even when the rest is broken.
            return Some(Rejection {
                status: 501,
                reason: "Not Implemented",
                detail: format!("method {}", self.method),
            });
        }
        Some(structure_rule(self).unwrap_or_else(malformed))
    }
    /// Judges a request that parsed: what rsipstack's lenient parser let through
    /// (a loose request line, a bad Request-URI, bad or duplicated framing and
    /// single-value headers, unbalanced quotes, empty parameters), missing mandatory
    /// headers, a CSeq whose method differs from the request line, and
    /// `Max-Forwards: 0`. `None` means it may go on.
    pub fn judge_parsed(&self) -> Option<Rejection> {
        let req = self;
        if req.is_response() {
            return None;
        }
        if let Some(rejection) = version_rule(req) {
            return Some(rejection);
        }
        if req.method == "ACK" {
            return None; // never answered (RFC 3261 §17.2.3); the stack absorbs it
        }
        if let Some(rejection) = structure_rule(req) {
            return Some(rejection);
        }
        for (long, short) in MANDATORY {
            if !req.has(long, short) {
                return Some(Rejection::bad_request(format!("missing {long} header")));
            }
        }
        let cseq = req.values("cseq", "").next().unwrap_or_default();
        let mut cseq_parts = cseq.split_whitespace();
        let seq_ok = cseq_parts.next().is_some_and(|n| n.parse::<u32>().is_ok());
        if !seq_ok || cseq_parts.next() != Some(req.method.as_str()) || cseq_parts.next().is_some()
        {
            return Some(Rejection::bad_request(format!(
                "CSeq {cseq:?} does not match method {}",
                req.method
            )));
        }
        // RFC 4475 §3.3.11 lets an endpoint serve such a request; the project decided to
        // refuse it as a proxy would (sip-testbench/sipp/malformed.xml holds that choice).
        if req
            .values("max-forwards", "")
            .any(|v| v.parse::<u32>() == Ok(0))
        {
            return Some(Rejection {
                status: 483,
                reason: "Too Many Hops",
                detail: "Max-Forwards is 0".into(),
            });
        }
        None
    }
}

fn version_rule(req: &RawRequest) -> Option<Rejection> {
    if req.version.is_empty() {
        return Some(Rejection::bad_request("no SIP version in the request line"));
    }
    if !req.version.eq_ignore_ascii_case("SIP/2.0") {
        return Some(Rejection {
            status: 505,
            reason: "Version Not Supported",
            detail: format!("protocol version {}", req.version),
        });
    }
    None
}

/// Malformations of the request line, framing and single-value or address headers.
fn structure_rule(req: &RawRequest) -> Option<Rejection> {
    if !req.strict_request_line {
        return Some(Rejection::bad_request(
            "request line is not METHOD SP Request-URI SP SIP/2.0",
        ));
    }
    if let Some(problem) = request_uri_problem(&req.uri) {
        return Some(Rejection::bad_request(problem));
    }
    if req.stray_line {
        return Some(Rejection::bad_request("a header line without a colon"));
    }
    if let Some(problem) = content_length_problem(req) {
        return Some(Rejection::bad_request(problem));
    }
    for (long, short) in SINGLE_VALUED {
        if req.values(long, short).count() > 1 {
            return Some(Rejection::bad_request(format!(
                "more than one {long} header"
            )));
        }
    }
    for (long, short) in ADDRESS_HEADERS {
        for value in req.values(long, short) {
            if let Some(problem) = address_problem(value) {
                return Some(Rejection::bad_request(format!("{long} header: {problem}")));
            }
        }
    }
    None
}

/// RFC 3261 §25.1: a Request-URI is a bare URI; `<>` (RFC 4475 §3.1.2.7) and, for SIP
/// URIs, escaped headers (§3.1.2.11, "acceptable to reject") are not allowed in it.
fn request_uri_problem(uri: &str) -> Option<&'static str> {
    if uri.is_empty() {
        return Some("empty Request-URI");
    }
    if uri.contains(['<', '>', '"']) {
        return Some("Request-URI in angle brackets or quotes");
    }
    let scheme = uri.split_once(':').map(|(s, _)| s).unwrap_or_default();
    if (scheme.eq_ignore_ascii_case("sip") || scheme.eq_ignore_ascii_case("sips"))
        && uri.contains('?')
    {
        return Some("headers in a SIP Request-URI");
    }
    None
}

/// One Content-Length at most, a non-negative number, and no more than the datagram
/// holds (RFC 3261 §18.3; RFC 4475 §3.1.2.2, §3.1.2.3, §3.3.9).
fn content_length_problem(req: &RawRequest) -> Option<String> {
    let mut values = req.values("content-length", "l");
    let value = values.next()?;
    if values.next().is_some() {
        return Some("more than one Content-Length header".into());
    }
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(format!("Content-Length {value:?} is not a number"));
    }
    match value.parse::<usize>() {
        Ok(declared) if declared <= req.body_len => None,
        _ => Some(format!(
            "Content-Length {value} but only {} octets of body",
            req.body_len
        )),
    }
}

/// Quotes and angle brackets balance, and no list element or parameter is empty
/// (RFC 4475 §3.1.2.1 `;;,;,,`, §3.1.2.6 an unterminated display name).
fn address_problem(value: &str) -> Option<&'static str> {
    let mut in_quotes = false;
    let mut escaped = false;
    let mut angle = 0i32;
    let mut element_empty = true;
    let mut param_empty = false;
    let mut in_params = false;
    for c in value.chars() {
        if in_quotes {
            element_empty = false;
            param_empty = false;
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_quotes = false,
                _ => {}
            }
            continue;
        }
        if angle > 0 {
            match c {
                '<' => return Some("'<' inside a URI"),
                '>' => angle -= 1,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_quotes = true,
            '<' => angle += 1,
            '>' => return Some("'>' without '<'"),
            ';' => {
                if element_empty || (in_params && param_empty) {
                    return Some("an empty parameter");
                }
                in_params = true;
                param_empty = true;
                continue;
            }
            ',' => {
                if element_empty || (in_params && param_empty) {
                    return Some("an empty list element");
                }
                element_empty = true;
                in_params = false;
                param_empty = false;
                continue;
            }
            c if c.is_whitespace() => continue,
            _ => {}
        }
        element_empty = false;
        param_empty = false;
    }
    if in_quotes {
        return Some("an unterminated quoted string");
    }
    if angle > 0 {
        return Some("'<' without '>'");
    }
    if element_empty || (in_params && param_empty) {
        return Some("an empty parameter or list element at the end");
    }
    None
}

/// Builds the stateless response to `raw`, or `None` when it cannot be routed back
/// (no Via) or must not be answered (ACK).
pub fn response_for(raw: &[u8], rejection: &Rejection, user_agent: &str) -> Option<Vec<u8>> {
    split_head(raw)?.response(rejection, user_agent)
}

impl RawRequest {
    /// The stateless response to this request, or `None` when it cannot be routed back
    /// (no Via) or must not be answered (ACK).
    pub fn response(&self, rejection: &Rejection, user_agent: &str) -> Option<Vec<u8>> {
        let req = self;
        if req.is_response() || req.method == "ACK" {
            return None;
        }
        let vias: Vec<&str> = req.values("via", "v").collect();
        if vias.is_empty() {
            return None;
        }
        let mut out = format!("SIP/2.0 {} {}\r\n", rejection.status, rejection.reason);
        for via in vias {
            push_header(&mut out, "Via", via);
        }
        for (long, short, name) in [
            ("from", "f", "From"),
            ("to", "t", "To"),
            ("call-id", "i", "Call-ID"),
            ("cseq", "", "CSeq"),
        ] {
            // With duplicates (the request was refused for them) the first one is echoed.
            if let Some(value) = req.values(long, short).next() {
                if name == "To" && !value.contains("tag=") {
                    push_header(&mut out, name, &format!("{value};tag={}", req.tag));
                } else {
                    push_header(&mut out, name, value);
                }
            }
        }
        if rejection.status == 501 || rejection.status == 405 {
            push_header(&mut out, "Allow", ALLOWED_METHODS);
        }
        push_header(&mut out, "Server", user_agent);
        out.push_str("Content-Length: 0\r\n\r\n");
        Some(out.into_bytes())
    }
}

/// Appends one header line; CR and LF in a copied value (possible only through a
/// malformed request) are replaced so the response stays one well-framed message.
fn push_header(out: &mut String, name: &str, value: &str) {
    out.push_str(name);
    out.push_str(": ");
    out.extend(
        value
            .chars()
            .map(|c| if c == '\r' || c == '\n' { ' ' } else { c }),
    );
    out.push_str("\r\n");
}

/// A To tag that is the same for retransmissions of the same request (§8.2.6.2 asks
/// for a tag; stable tags keep retransmitted answers identical).
fn stateless_tag(raw: &[u8]) -> String {
    let mut hash: u64 = 0xcbf29ce484222325;
    for b in raw.iter().take(512) {
        hash = (hash ^ u64::from(*b)).wrapping_mul(0x100000001b3);
    }
    format!("{:x}", hash & 0xffff_ffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTIONS_NO_CALLID: &str = "OPTIONS sip:a@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\nFrom: <sip:b@x>;tag=1\r\nTo: <sip:a@x>\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";

    fn options() -> String {
        OPTIONS_NO_CALLID.replace("CSeq:", "Call-ID: c1\r\nCSeq:")
    }

    fn status_of(raw: &str) -> Option<u16> {
        judge_parsed(raw.as_bytes()).map(|r| r.status)
    }

    fn torture(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/sip-testbench/rfc4475/{name}.dat",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

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
        let raw = options().replace("Max-Forwards: 70", "Max-Forwards: 0");
        assert_eq!(status_of(&raw), Some(483));
        let raw = options().replace("Max-Forwards: 70", "Max-Forwards: 00");
        assert_eq!(status_of(&raw), Some(483));
    }

    #[test]
    fn cseq_method_mismatch_is_400() {
        let raw = options().replace("CSeq: 1 OPTIONS", "CSeq: 1 INVITE");
        assert_eq!(status_of(&raw), Some(400));
    }

    #[test]
    fn well_formed_request_passes() {
        assert_eq!(judge_parsed(options().as_bytes()), None);
    }

    #[test]
    fn folded_headers_are_unfolded_before_judging() {
        let raw = options().replace("CSeq: 1 OPTIONS", "CSeq: 1\r\n  OPTIONS");
        assert_eq!(status_of(&raw), None);
    }

    #[test]
    fn unknown_method_is_501_with_allow() {
        let raw = options().replacen("OPTIONS sip", "NEWMETHOD sip", 1);
        let rej = judge_unparseable(raw.as_bytes()).expect("rejected");
        assert_eq!(rej.status, 501);
        let resp = String::from_utf8(response_for(raw.as_bytes(), &rej, "t").unwrap()).unwrap();
        assert!(resp.contains("Allow: INVITE"));
    }

    #[test]
    fn unknown_version_is_505_parsed_or_not() {
        let raw = options().replacen("SIP/2.0\r\n", "SIP/7.0\r\n", 1);
        assert_eq!(status_of(&raw), Some(505));
        assert_eq!(
            judge_unparseable(raw.as_bytes()).map(|r| r.status),
            Some(505)
        );
    }

    #[test]
    fn junk_and_responses_are_not_answered() {
        assert_eq!(judge_unparseable(b"\x00\x01\x02garbage"), None);
        assert_eq!(judge_unparseable(b"SIP/2.0 200 OK\r\n\r\n"), None);
        assert_eq!(judge_parsed(b"SIP/2.0 200 OK\r\n\r\n"), None);
        let no_via = "INVITE sip:a@x SIP/2.0\r\nCall-ID: x\r\n\r\n";
        let rej = judge_unparseable(no_via.as_bytes()).expect("a request");
        assert_eq!(response_for(no_via.as_bytes(), &rej, "t"), None);
    }

    #[test]
    fn loose_request_lines_are_400() {
        for line in [
            "OPTIONS  sip:a@x SIP/2.0",
            "OPTIONS sip:a@x SIP/2.0  ",
            "OPTIONS sip:a@x; lr SIP/2.0",
            " OPTIONS sip:a@x SIP/2.0",
        ] {
            let raw = options().replacen("OPTIONS sip:a@127.0.0.1 SIP/2.0", line, 1);
            assert_eq!(status_of(&raw), Some(400), "{line:?}");
        }
    }

    #[test]
    fn request_uri_in_brackets_or_with_headers_is_400() {
        for uri in ["<sip:a@x>", "sip:a@x?Route=%3Csip:b%3E"] {
            let raw = options().replacen("sip:a@127.0.0.1", uri, 1);
            assert_eq!(status_of(&raw), Some(400), "{uri}");
        }
        // a tel URI may carry '?' in no meaningful way, but it is not ours to refuse here
        let raw = options().replacen("sip:a@127.0.0.1", "tel:+15551234", 1);
        assert_eq!(status_of(&raw), None);
    }

    #[test]
    fn content_length_must_be_single_numeric_and_fit_the_datagram() {
        let with_body = |cl: &str| {
            options().replace("Content-Length: 0\r\n\r\n", &format!("{cl}\r\n\r\nhello"))
        };
        assert_eq!(status_of(&with_body("Content-Length: 5")), None);
        assert_eq!(status_of(&with_body("Content-Length: 3")), None);
        assert_eq!(status_of(&with_body("Content-Length: 9999")), Some(400));
        assert_eq!(status_of(&with_body("Content-Length: -5")), Some(400));
        assert_eq!(
            status_of(&with_body("l: 5\r\nContent-Length: 5")),
            Some(400)
        );
        assert_eq!(status_of(&with_body("Content-Length: five")), Some(400));
    }

    #[test]
    fn repeated_single_value_headers_are_400() {
        for extra in [
            "Call-ID: c2",
            "i: c2",
            "t: <sip:z@x>",
            "CSeq: 2 OPTIONS",
            "Max-Forwards: 5",
        ] {
            let raw = options().replace("Content-Length", &format!("{extra}\r\nContent-Length"));
            let rej = judge_parsed(raw.as_bytes()).expect(extra);
            assert_eq!(rej.status, 400, "{extra}");
        }
    }

    #[test]
    fn address_headers_must_balance_and_have_no_empty_parameters() {
        for (header, ok) in [
            ("To: \"Mr. J. User <sip:j@x>", false),
            ("To: \"A \\\"quoted\\\" name\" <sip:j@x>", true),
            ("To: <sip:j@x", false),
            ("To: sip:j@x>", false),
            ("Contact: \"Joe\" <sip:joe@x;lr>;;;;", false),
            ("Contact: <sip:a@x>, <sip:b@x>;q=0.5", true),
            ("Contact: <sip:a@x>,,<sip:b@x>", false),
            ("Contact: <sip:a@x>;", false),
        ] {
            let raw = if header.starts_with("To:") {
                options().replace("To: <sip:a@x>", header)
            } else {
                options().replace("Content-Length", &format!("{header}\r\nContent-Length"))
            };
            assert_eq!(status_of(&raw).is_none(), ok, "{header}");
        }
        let raw = options().replace(";branch=z9hG4bK1", ";;,;,,");
        assert_eq!(status_of(&raw), Some(400));
    }

    #[test]
    fn a_header_line_without_a_colon_is_400() {
        let raw = options().replace("Content-Length", "Foobar roobar\r\nContent-Length");
        assert_eq!(status_of(&raw), Some(400));
    }

    #[test]
    fn copied_values_cannot_break_the_response_framing() {
        let raw = options().replace("Call-ID: c1", "Call-ID: c1\rInjected: yes");
        let rej = Rejection::bad_request("test");
        let resp = String::from_utf8(response_for(raw.as_bytes(), &rej, "t").unwrap()).unwrap();
        assert!(!resp.contains("\rInjected"));
    }

    #[test]
    fn stateless_tag_is_stable_for_retransmissions() {
        let rej = judge_parsed(OPTIONS_NO_CALLID.as_bytes()).unwrap();
        let a = response_for(OPTIONS_NO_CALLID.as_bytes(), &rej, "t");
        let b = response_for(OPTIONS_NO_CALLID.as_bytes(), &rej, "t");
        assert_eq!(a, b);
    }

    #[test]
    fn torture_messages_rfc4475_invalid_ones_are_refused() {
        for (name, status) in [
            ("badinv01", 400),
            ("clerr", 400),
            ("ncl", 400),
            ("scalar02", 400),
            ("quotbal", 400),
            ("ltgtruri", 400),
            ("lwsruri", 400),
            ("lwsstart", 400),
            ("trws", 400),
            ("escruri", 400),
            ("badvers", 505),
            ("mismatch01", 400),
            ("insuf", 400),
            ("multi01", 400),
            ("mcl01", 400),
            ("zeromf", 483),
        ] {
            let raw = torture(name);
            let judged = judge_parsed(&raw).or_else(|| judge_unparseable(&raw));
            assert_eq!(judged.map(|r| r.status), Some(status), "{name}");
        }
    }

    #[test]
    fn torture_messages_rfc4475_valid_ones_pass() {
        for name in [
            "wsinv",
            "esc01",
            "escnull",
            "lwsdisp",
            "longreq",
            "dblreq",
            "semiuri",
            "transports",
            "mpart01",
            "badbranch",
            "unkscm",
            "novelsc",
            "unksm2",
            "bext01",
            "invut",
            "regaut01",
            "cparam01",
            "cparam02",
            "regescrt",
            "sdp01",
            "inv2543",
        ] {
            assert_eq!(judge_parsed(&torture(name)), None, "{name}");
        }
    }

    #[test]
    fn torture_responses_are_never_answered() {
        for name in ["unreason", "noreason", "scalarlg", "bcast", "bigcode"] {
            let raw = torture(name);
            assert_eq!(judge_parsed(&raw), None, "{name}");
            assert_eq!(judge_unparseable(&raw), None, "{name}");
        }
    }
}
