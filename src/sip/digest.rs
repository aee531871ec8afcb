//! SIP digest authentication (RFC 3261 §22.4 with RFC 7616's hashing and RFC 8760's
//! SHA-256 for SIP): parsing an `Authorization` header that may be hostile, computing HA1
//! and the expected response, comparing in constant time, and writing challenges.
//!
//! Pure functions only; which nonces are valid and how often a peer may fail live in the
//! registrar.

use md5::Digest as _;
use sha2::Digest as _;
use subtle::ConstantTimeEq;

/// The digest algorithms this server offers and accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigestAlgorithm {
    Md5,
    Sha256,
}

impl DigestAlgorithm {
    /// Challenges list SHA-256 first: RFC 7616 §3.7 asks for the preferred one first.
    pub const OFFERED: [DigestAlgorithm; 2] = [DigestAlgorithm::Sha256, DigestAlgorithm::Md5];

    /// The `algorithm=` token.
    pub fn token(self) -> &'static str {
        match self {
            DigestAlgorithm::Md5 => "MD5",
            DigestAlgorithm::Sha256 => "SHA-256",
        }
    }

    /// Reads an `algorithm=` token (case-insensitive); absent means MD5 (RFC 3261).
    pub fn from_token(token: Option<&str>) -> Option<Self> {
        match token {
            None => Some(DigestAlgorithm::Md5),
            Some(t) if t.eq_ignore_ascii_case("MD5") => Some(DigestAlgorithm::Md5),
            Some(t) if t.eq_ignore_ascii_case("SHA-256") => Some(DigestAlgorithm::Sha256),
            Some(_) => None,
        }
    }

    /// Lower-case hex of the hash of `data`.
    pub fn hex(self, data: &[u8]) -> String {
        match self {
            DigestAlgorithm::Md5 => to_hex(&md5::Md5::digest(data)),
            DigestAlgorithm::Sha256 => to_hex(&sha2::Sha256::digest(data)),
        }
    }
}

fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    out
}

/// HA1 = H(username:realm:password): what a registrar stores instead of the password.
pub fn ha1(algorithm: DigestAlgorithm, username: &str, realm: &str, password: &str) -> String {
    algorithm.hex(format!("{username}:{realm}:{password}").as_bytes())
}

/// What a registrar keeps of an agent's SIP password: HA1 in both algorithms, and the
/// realm they were made for (they are worthless for any other).
#[derive(Clone, PartialEq, Eq)]
pub struct DigestSecrets {
    pub realm: String,
    pub ha1_md5: String,
    pub ha1_sha256: String,
}

impl DigestSecrets {
    pub fn derive(login: &str, realm: &str, password: &str) -> Self {
        Self {
            realm: realm.to_string(),
            ha1_md5: ha1(DigestAlgorithm::Md5, login, realm, password),
            ha1_sha256: ha1(DigestAlgorithm::Sha256, login, realm, password),
        }
    }

    pub fn ha1(&self, algorithm: DigestAlgorithm) -> &str {
        match algorithm {
            DigestAlgorithm::Md5 => &self.ha1_md5,
            DigestAlgorithm::Sha256 => &self.ha1_sha256,
        }
    }
}

/// Never prints the hashes: they are password-equivalent for their realm.
impl std::fmt::Debug for DigestSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DigestSecrets(realm {:?}, HA1s hidden)", self.realm)
    }
}

/// The parts of the response computation that come from the request.
#[derive(Debug, Clone, Copy)]
pub struct ResponseInput<'a> {
    pub method: &'a str,
    /// The `uri=` parameter exactly as the client wrote it.
    pub uri: &'a str,
    pub nonce: &'a str,
    /// `nc`, `cnonce` and `qop` when the client used qop (always, for this server).
    pub qop: Option<QopInput<'a>>,
}

#[derive(Debug, Clone, Copy)]
pub struct QopInput<'a> {
    /// The eight hex digits as sent (they enter the hash as text).
    pub nc: &'a str,
    pub cnonce: &'a str,
    pub qop: &'a str,
}

/// The `response=` value a client knowing `ha1` would send (RFC 7616 §3.4.1, qop=auth;
/// RFC 2069's form without qop).
pub fn expected_response(algorithm: DigestAlgorithm, ha1: &str, input: &ResponseInput) -> String {
    let ha2 = algorithm.hex(format!("{}:{}", input.method, input.uri).as_bytes());
    let text = match &input.qop {
        Some(q) => format!(
            "{ha1}:{}:{}:{}:{}:{ha2}",
            input.nonce, q.nc, q.cnonce, q.qop
        ),
        None => format!("{ha1}:{}:{ha2}", input.nonce),
    };
    algorithm.hex(text.as_bytes())
}

/// Equality that takes the same time wherever the first difference is. Hex digests are
/// compared case-insensitively (RFC 7616 writes them lower case; some clients do not).
pub fn responses_match(expected: &str, received: &str) -> bool {
    let received = received.to_ascii_lowercase();
    bool::from(expected.as_bytes().ct_eq(received.as_bytes()))
}

/// One `WWW-Authenticate` value.
pub fn challenge(
    algorithm: DigestAlgorithm,
    realm: &str,
    nonce: &str,
    opaque: &str,
    stale: bool,
) -> String {
    let mut value = format!(
        "Digest realm=\"{realm}\", nonce=\"{nonce}\", opaque=\"{opaque}\", algorithm={}, qop=\"auth\"",
        algorithm.token()
    );
    if stale {
        value.push_str(", stale=true");
    }
    value
}

/// A parsed `Authorization: Digest ...` header. Values are unescaped; unknown parameters
/// are ignored (RFC 7616 §3.4: "MUST ignore unrecognised directives").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DigestAuthorization {
    pub username: String,
    pub realm: String,
    pub nonce: String,
    pub uri: String,
    pub response: String,
    pub algorithm: Option<String>,
    pub cnonce: Option<String>,
    /// As sent: eight hex digits.
    pub nc: Option<String>,
    pub qop: Option<String>,
    pub opaque: Option<String>,
}

impl DigestAuthorization {
    /// `nc` as a number when it is the eight hex digits RFC 7616 asks for.
    pub fn nonce_count(&self) -> Option<u32> {
        let nc = self.nc.as_deref()?;
        if nc.len() != 8 || !nc.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u32::from_str_radix(nc, 16).ok()
    }
}

/// Why an `Authorization` header could not be read. Never carries the header's text:
/// it holds a response hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestParseError {
    #[error("not a Digest authorization")]
    NotDigest,
    #[error("the header is too long")]
    TooLong,
    #[error("malformed parameter list")]
    Malformed,
    #[error("parameter `{0}` appears twice")]
    Duplicate(&'static str),
    #[error("parameter `{0}` is missing")]
    Missing(&'static str),
}

/// Longest header accepted: far above any real client, small enough to bound the work.
const MAX_LEN: usize = 4096;
/// Most parameters accepted in one header.
const MAX_PARAMS: usize = 32;

/// Parses an `Authorization` header value. Total on every input: hostile text gets an
/// error, never a panic.
pub fn parse_authorization(value: &str) -> Result<DigestAuthorization, DigestParseError> {
    if value.len() > MAX_LEN {
        return Err(DigestParseError::TooLong);
    }
    let value = value.trim_start();
    let scheme_end = value
        .find(|c: char| c.is_ascii_whitespace())
        .ok_or(DigestParseError::NotDigest)?;
    let (scheme, rest) = value.split_at(scheme_end);
    if !scheme.eq_ignore_ascii_case("digest") {
        return Err(DigestParseError::NotDigest);
    }
    let mut auth = DigestAuthorization::default();
    let mut seen: Vec<&'static str> = Vec::new();
    for (name, value) in params(rest)? {
        let field: (&'static str, &mut String) = match name.to_ascii_lowercase().as_str() {
            "username" => ("username", &mut auth.username),
            "realm" => ("realm", &mut auth.realm),
            "nonce" => ("nonce", &mut auth.nonce),
            "uri" => ("uri", &mut auth.uri),
            "response" => ("response", &mut auth.response),
            "algorithm" => ("algorithm", auth.algorithm.get_or_insert_default()),
            "cnonce" => ("cnonce", auth.cnonce.get_or_insert_default()),
            "nc" => ("nc", auth.nc.get_or_insert_default()),
            "qop" => ("qop", auth.qop.get_or_insert_default()),
            "opaque" => ("opaque", auth.opaque.get_or_insert_default()),
            _ => continue,
        };
        if seen.contains(&field.0) {
            return Err(DigestParseError::Duplicate(field.0));
        }
        seen.push(field.0);
        *field.1 = value;
    }
    for required in ["username", "realm", "nonce", "uri", "response"] {
        if !seen.contains(&required) {
            return Err(DigestParseError::Missing(required));
        }
    }
    Ok(auth)
}

/// Splits `name=value, name="quoted \" value", ...` (RFC 7235 auth-param list).
fn params(text: &str) -> Result<Vec<(String, String)>, DigestParseError> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars
            .peek()
            .is_some_and(|c| c.is_ascii_whitespace() || *c == ',')
        {
            chars.next();
        }
        if chars.peek().is_none() {
            return Ok(out);
        }
        if out.len() == MAX_PARAMS {
            return Err(DigestParseError::Malformed);
        }
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if is_token_char(c) {
                name.push(c);
                chars.next();
            } else {
                break;
            }
        }
        if name.is_empty() {
            return Err(DigestParseError::Malformed);
        }
        skip_spaces(&mut chars);
        if chars.next() != Some('=') {
            return Err(DigestParseError::Malformed);
        }
        skip_spaces(&mut chars);
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some('\\') => match chars.next() {
                        Some(c) => value.push(c),
                        None => return Err(DigestParseError::Malformed),
                    },
                    Some(c) => value.push(c),
                    None => return Err(DigestParseError::Malformed),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if is_token_char(c) {
                    value.push(c);
                    chars.next();
                } else {
                    break;
                }
            }
            if value.is_empty() {
                return Err(DigestParseError::Malformed);
            }
        }
        skip_spaces(&mut chars);
        match chars.peek() {
            None | Some(',') => {}
            Some(_) => return Err(DigestParseError::Malformed),
        }
        out.push((name, value));
    }
}

fn skip_spaces(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while chars.peek().is_some_and(|c| c.is_ascii_whitespace()) {
        chars.next();
    }
}

/// RFC 3261 `token` characters.
fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-.!%*_+`'~".contains(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_rfc_2617_example_gives_its_published_md5_response() {
        // RFC 2617 §3.5 (HTTP, qop=auth, password "Circle Of Life").
        let ha1 = ha1(
            DigestAlgorithm::Md5,
            "Mufasa",
            "testrealm@host.com",
            "Circle Of Life",
        );
        let response = expected_response(
            DigestAlgorithm::Md5,
            &ha1,
            &ResponseInput {
                method: "GET",
                uri: "/dir/index.html",
                nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
                qop: Some(QopInput {
                    nc: "00000001",
                    cnonce: "0a4f113b",
                    qop: "auth",
                }),
            },
        );
        assert_eq!(response, "6629fae49393a05397450978507c4ef1");
    }

    #[test]
    fn the_rfc_7616_example_gives_its_published_md5_and_sha256_responses() {
        // RFC 7616 §3.9.1 (password "Circle of Life", lower-case "of").
        let input = ResponseInput {
            method: "GET",
            uri: "/dir/index.html",
            nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
            qop: Some(QopInput {
                nc: "00000001",
                cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
                qop: "auth",
            }),
        };
        let realm = "http-auth@example.org";
        let md5 = ha1(DigestAlgorithm::Md5, "Mufasa", realm, "Circle of Life");
        assert_eq!(
            expected_response(DigestAlgorithm::Md5, &md5, &input),
            "8ca523f5e9506fed4657c9700eebdbec"
        );
        let sha = ha1(DigestAlgorithm::Sha256, "Mufasa", realm, "Circle of Life");
        assert_eq!(
            expected_response(DigestAlgorithm::Sha256, &sha, &input),
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
    }

    #[test]
    fn a_sip_register_response_matches_an_independent_implementation() {
        // rsipstack's client-side helper is a separate implementation of the same RFCs.
        use rsipstack::dialog::authenticate::compute_digest;
        use rsipstack::sip::headers::auth::{Algorithm, AuthQop};
        for (ours, theirs) in [
            (DigestAlgorithm::Md5, Algorithm::Md5),
            (DigestAlgorithm::Sha256, Algorithm::Sha256),
        ] {
            let reference = compute_digest(
                "alice",
                "s3cret",
                "hotline",
                "abc123",
                &rsipstack::sip::Method::Register,
                "sip:127.0.0.1:5060",
                theirs,
                Some(&AuthQop::Auth {
                    cnonce: "xyz".into(),
                    nc: 1,
                }),
            );
            let ha1 = ha1(ours, "alice", "hotline", "s3cret");
            let mine = expected_response(
                ours,
                &ha1,
                &ResponseInput {
                    method: "REGISTER",
                    uri: "sip:127.0.0.1:5060",
                    nonce: "abc123",
                    qop: Some(QopInput {
                        nc: "00000001",
                        cnonce: "xyz",
                        qop: "auth",
                    }),
                },
            );
            assert_eq!(mine, reference, "{ours:?}");
        }
    }

    #[test]
    fn responses_compare_equal_only_when_identical_ignoring_hex_case() {
        assert!(responses_match("6629fae4", "6629FAE4"));
        assert!(!responses_match("6629fae4", "6629fae5"));
        assert!(!responses_match("6629fae4", "6629fae"));
        assert!(!responses_match("6629fae4", ""));
    }

    #[test]
    fn a_typical_authorization_header_is_read_with_quotes_and_escapes_undone() {
        let auth = parse_authorization(
            "Digest username=\"ag\\\"ent\", realm=\"hotline\",nonce=\"n1\", uri=\"sip:h;transport=tcp\", \
             response=\"ABCDEF\", algorithm=SHA-256, cnonce=\"c\", nc=0000000a, qop=auth, opaque=\"o\", extra=1",
        )
        .unwrap();
        assert_eq!(auth.username, "ag\"ent");
        assert_eq!(auth.uri, "sip:h;transport=tcp");
        assert_eq!(auth.algorithm.as_deref(), Some("SHA-256"));
        assert_eq!(auth.nonce_count(), Some(10));
        assert_eq!(auth.qop.as_deref(), Some("auth"));
        assert_eq!(auth.opaque.as_deref(), Some("o"));
    }

    #[test]
    fn broken_authorization_headers_are_refused_with_a_reason() {
        let cases = [
            (
                "Basic YWxhZGRpbjpvcGVuc2VzYW1l",
                DigestParseError::NotDigest,
            ),
            ("Digest", DigestParseError::NotDigest),
            (
                "Digest username=\"a\", username=\"b\", realm=r, nonce=n, uri=u, response=x",
                DigestParseError::Duplicate("username"),
            ),
            (
                "Digest username=\"a\", realm=r, nonce=n, uri=u",
                DigestParseError::Missing("response"),
            ),
            (
                "Digest username=\"unterminated",
                DigestParseError::Malformed,
            ),
            ("Digest username", DigestParseError::Malformed),
            ("Digest =x", DigestParseError::Malformed),
            ("Digest a=b c=d", DigestParseError::Malformed),
        ];
        for (text, error) in cases {
            assert_eq!(parse_authorization(text), Err(error), "{text}");
        }
        assert_eq!(
            parse_authorization(&format!("Digest a=\"{}\"", "x".repeat(5000))),
            Err(DigestParseError::TooLong)
        );
        let many: String = (0..40).map(|i| format!("p{i}=1,")).collect();
        assert_eq!(
            parse_authorization(&format!("Digest {many}")),
            Err(DigestParseError::Malformed)
        );
    }

    #[test]
    fn a_nonce_count_that_is_not_eight_hex_digits_is_not_a_count() {
        let with = |nc: &str| DigestAuthorization {
            nc: Some(nc.into()),
            ..Default::default()
        };
        assert_eq!(with("00000001").nonce_count(), Some(1));
        assert_eq!(with("ffffffff").nonce_count(), Some(u32::MAX));
        assert_eq!(with("1").nonce_count(), None);
        assert_eq!(with("+0000001").nonce_count(), None);
        assert_eq!(with("0000000g").nonce_count(), None);
    }

    #[test]
    fn challenges_carry_realm_nonce_opaque_algorithm_qop_and_stale() {
        let c = challenge(DigestAlgorithm::Sha256, "hotline", "n", "o", true);
        assert_eq!(
            c,
            "Digest realm=\"hotline\", nonce=\"n\", opaque=\"o\", algorithm=SHA-256, qop=\"auth\", stale=true"
        );
        assert!(!challenge(DigestAlgorithm::Md5, "r", "n", "o", false).contains("stale"));
    }

    proptest! {
        #[test]
        fn parsing_never_panics_on_random_text(text in ".{0,300}") {
            let _ = parse_authorization(&text);
            let _ = parse_authorization(&format!("Digest {text}"));
        }

        #[test]
        fn parsing_never_panics_on_near_valid_headers(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just("username".to_string()), Just("=".to_string()), Just("\"".to_string()),
                    Just("\\".to_string()), Just(",".to_string()), Just(" ".to_string()),
                    Just("nc".to_string()), Just("é".to_string()), "[a-z0-9]{1,4}",
                ],
                0..40,
            )
        ) {
            let _ = parse_authorization(&format!("Digest {}", parts.concat()));
        }

        #[test]
        fn written_values_are_read_back(user in "[ -~]{1,20}", nonce in "[A-Za-z0-9+/=]{1,40}") {
            let escaped = user.replace('\\', "\\\\").replace('"', "\\\"");
            let header = format!(
                "Digest username=\"{escaped}\", realm=\"r\", nonce=\"{nonce}\", uri=\"sip:x\", response=\"0\""
            );
            let auth = parse_authorization(&header).unwrap();
            prop_assert_eq!(auth.username, user);
            prop_assert_eq!(auth.nonce, nonce);
        }
    }
}
