//! Application-level admission of a new, well-formed INVITE or OPTIONS (RFC 3261 §8.2.2,
//! §8.2.3): the Request-URI scheme (416; `sips` only over TLS), required extensions (420 with Unsupported),
//! the body's type and encoding (415 with Accept / Accept-Encoding) and, for an INVITE,
//! whether the caller accepts the SDP our answer must carry (406).
//!
//! Pure: it reads a request's method, Request-URI text, headers and body length, and says
//! whether to refuse it. The dispatcher sends the refusal through the transaction layer.

use rsipstack::sip::Request;

/// A refusal of a request that parsed and framed correctly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    /// Headers the response must carry (name, value).
    pub headers: Vec<(&'static str, String)>,
    /// What was refused, for the log line.
    pub detail: String,
}

/// What admission reads of a request.
#[derive(Debug, Clone, Copy)]
pub struct RequestView<'a> {
    pub method: &'a str,
    pub request_uri: &'a str,
    pub headers: &'a [(&'a str, &'a str)],
    pub body_len: usize,
    /// Whether the request arrived over TLS.
    pub over_tls: bool,
}

/// The only body type this server reads: the session description of a call.
const SDP: &str = "application/sdp";
/// Request-URI schemes this server answers (RFC 3261 §8.2.2.1; `tel` per RFC 3966).
const SCHEMES: &[&str] = &["sip", "sips", "tel"];
/// Option tags this server implements (RFC 3261 §8.2.2.3). None yet: reliable
/// provisionals (100rel) and session timers (timer) are not implemented.
const SUPPORTED_OPTIONS: &[&str] = &[];

/// Judges a parsed request from rsipstack that arrived over TLS or not; `None` admits it.
pub fn judge_request(request: &Request, over_tls: bool) -> Option<Refusal> {
    let method = request.method.to_string();
    let uri = request.uri.to_string();
    let owned: Vec<(String, String)> = request
        .headers
        .iter()
        .map(|h| (h.name().to_owned(), h.value().to_owned()))
        .collect();
    let headers: Vec<(&str, &str)> = owned
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    judge(&RequestView {
        method: &method,
        request_uri: &uri,
        headers: &headers,
        body_len: request.body.len(),
        over_tls,
    })
}

/// Judges a new INVITE or OPTIONS; other methods are admitted untouched (their answer
/// is decided elsewhere: 405, 481, or the dialog's).
pub fn judge(request: &RequestView<'_>) -> Option<Refusal> {
    let is_invite = request.method == "INVITE";
    if !is_invite && request.method != "OPTIONS" {
        return None;
    }
    if let Some(refusal) = scheme_rule(request.request_uri, request.over_tls) {
        return Some(refusal);
    }
    if let Some(refusal) = require_rule(request) {
        return Some(refusal);
    }
    if let Some(refusal) = body_rule(request) {
        return Some(refusal);
    }
    if is_invite {
        return accept_rule(request);
    }
    None
}

fn values<'a>(
    request: &'a RequestView<'a>,
    long: &'a str,
    short: &'a str,
) -> impl Iterator<Item = &'a str> + 'a {
    request
        .headers
        .iter()
        .filter(move |(n, _)| {
            n.eq_ignore_ascii_case(long) || (!short.is_empty() && n.eq_ignore_ascii_case(short))
        })
        .map(|(_, v)| *v)
}

/// The comma-separated items of every value of a header, trimmed, empty ones skipped.
fn items<'a>(
    request: &'a RequestView<'a>,
    long: &'a str,
    short: &'a str,
) -> impl Iterator<Item = &'a str> + 'a {
    values(request, long, short)
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|item| !item.is_empty())
}

/// A media type without its parameters, e.g. `application/sdp` of
/// `Application/SDP; charset=x`.
fn media_type(item: &str) -> &str {
    item.split(';').next().unwrap_or_default().trim()
}

/// RFC 3261 §8.2.2.1 and RFC 4475 §3.3.2-3: a scheme we never serve is 416. A `sips`
/// URI asks for TLS on every hop (RFC 3261 §19.1, RFC 5630 §3.1): it is served only on a
/// request that came over TLS, and refused like an unknown scheme otherwise.
fn scheme_rule(request_uri: &str, over_tls: bool) -> Option<Refusal> {
    let scheme = request_uri
        .split_once(':')
        .map(|(scheme, _)| scheme)
        .unwrap_or_default();
    if scheme.eq_ignore_ascii_case("sips") && !over_tls {
        return Some(Refusal {
            status: 416,
            headers: vec![],
            detail: "a sips Request-URI on a request that did not come over TLS".into(),
        });
    }
    if SCHEMES.iter().any(|s| s.eq_ignore_ascii_case(scheme)) {
        return None;
    }
    Some(Refusal {
        status: 416,
        headers: vec![],
        detail: format!("Request-URI scheme {scheme:?}"),
    })
}

/// RFC 3261 §8.2.2.3 and RFC 4475 §3.3.5: every Require tag we do not implement is
/// listed in Unsupported. Proxy-Require is a proxy's business and is ignored.
fn require_rule(request: &RequestView<'_>) -> Option<Refusal> {
    let unsupported: Vec<&str> = items(request, "require", "")
        .filter(|tag| {
            !SUPPORTED_OPTIONS
                .iter()
                .any(|s| s.eq_ignore_ascii_case(tag))
        })
        .collect();
    if unsupported.is_empty() {
        return None;
    }
    Some(Refusal {
        status: 420,
        headers: vec![("Unsupported", unsupported.join(", "))],
        detail: format!("Require {}", unsupported.join(", ")),
    })
}

/// RFC 3261 §8.2.3 and RFC 4475 §3.3.6: a body we cannot read is 415, saying what we
/// read. An empty body is not judged by its Content-Type.
fn body_rule(request: &RequestView<'_>) -> Option<Refusal> {
    if request.body_len == 0 {
        return None;
    }
    let content_type = values(request, "content-type", "c").next().unwrap_or("");
    if !media_type(content_type).eq_ignore_ascii_case(SDP) {
        return Some(Refusal {
            status: 415,
            headers: vec![("Accept", SDP.to_owned())],
            detail: format!("body of type {:?}", media_type(content_type)),
        });
    }
    if let Some(encoding) = items(request, "content-encoding", "e")
        .find(|coding| !coding.eq_ignore_ascii_case("identity"))
    {
        return Some(Refusal {
            status: 415,
            headers: vec![("Accept-Encoding", "identity".to_owned())],
            detail: format!("body encoded as {encoding:?}"),
        });
    }
    None
}

/// RFC 3261 §21.4.7 and RFC 4475 §3.3.15: an INVITE whose Accept leaves out SDP cannot
/// be answered with the SDP every 2xx to it carries: 406. No Accept means SDP is fine
/// (RFC 3261 §20.1); an empty Accept accepts no body at all.
fn accept_rule(request: &RequestView<'_>) -> Option<Refusal> {
    values(request, "accept", "").next()?;
    let accepted: Vec<&str> = items(request, "accept", "").map(media_type).collect();
    let takes_sdp = accepted.iter().any(|range| {
        range.eq_ignore_ascii_case(SDP)
            || range.eq_ignore_ascii_case("application/*")
            || *range == "*/*"
    });
    if takes_sdp {
        return None;
    }
    Some(Refusal {
        status: 406,
        headers: vec![],
        detail: format!("Accept {:?} leaves out {SDP}", accepted.join(", ")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsipstack::sip::SipMessage;

    fn view<'a>(
        method: &'a str,
        uri: &'a str,
        headers: &'a [(&'a str, &'a str)],
        body_len: usize,
    ) -> RequestView<'a> {
        RequestView {
            method,
            request_uri: uri,
            headers,
            body_len,
            over_tls: false,
        }
    }

    const SDP_BODY: &[(&str, &str)] = &[("Content-Type", "application/sdp")];

    #[test]
    fn plain_invite_and_options_are_admitted() {
        assert_eq!(judge(&view("INVITE", "sip:ivr@x", SDP_BODY, 100)), None);
        assert_eq!(judge(&view("INVITE", "tel:+15551234", &[], 0)), None);
        assert_eq!(judge(&view("INVITE", "SIP:ivr@x", SDP_BODY, 100)), None);
    }

    #[test]
    fn sips_is_served_only_over_tls() {
        let plain = judge(&view("OPTIONS", "sips:ivr@x", &[], 0));
        assert_eq!(plain.map(|r| r.status), Some(416));
        let invite = judge(&view("INVITE", "SIPS:ivr@x", SDP_BODY, 100));
        assert_eq!(invite.map(|r| r.status), Some(416));
        let over_tls = RequestView {
            over_tls: true,
            ..view("OPTIONS", "sips:ivr@x", &[], 0)
        };
        assert_eq!(judge(&over_tls), None);
    }

    #[test]
    fn other_methods_are_not_judged_here() {
        let require = [("Require", "foo")];
        assert_eq!(judge(&view("BYE", "nobody:x", &require, 0)), None);
        assert_eq!(judge(&view("REGISTER", "nobody:x", &require, 0)), None);
    }

    #[test]
    fn unknown_request_uri_scheme_is_416() {
        for uri in [
            "nobodyKnowsThisScheme:totallyopaquecontent",
            "soap.beep://192.0.2.103:3002",
            "http://x",
            "user@host",
        ] {
            let refusal = judge(&view("OPTIONS", uri, &[], 0)).expect(uri);
            assert_eq!(refusal.status, 416, "{uri}");
        }
    }

    #[test]
    fn unknown_require_is_420_listing_every_tag_and_ignoring_proxy_require() {
        let headers = [
            ("Require", "nothingSupportsThis, nothingSupportsThisEither"),
            ("Proxy-Require", "noProxiesSupportThis"),
        ];
        let refusal = judge(&view("OPTIONS", "sip:a@x", &headers, 0)).expect("refused");
        assert_eq!(refusal.status, 420);
        assert_eq!(
            refusal.headers,
            vec![(
                "Unsupported",
                "nothingSupportsThis, nothingSupportsThisEither".to_owned()
            )]
        );
        let only_proxy = [("Proxy-Require", "noProxiesSupportThis")];
        assert_eq!(judge(&view("OPTIONS", "sip:a@x", &only_proxy, 0)), None);
    }

    #[test]
    fn a_body_that_is_not_sdp_is_415_with_accept() {
        let headers = [("Content-Type", "application/unknownformat")];
        let refusal = judge(&view("INVITE", "sip:a@x", &headers, 40)).expect("refused");
        assert_eq!(refusal.status, 415);
        assert_eq!(refusal.headers, vec![("Accept", SDP.to_owned())]);
        // compact form, parameters and case do not matter
        let headers = [("c", "Application/SDP; charset=utf-8")];
        assert_eq!(judge(&view("INVITE", "sip:a@x", &headers, 40)), None);
        // an empty body is not judged by its type; a body with no type is
        let headers = [("Content-Type", "text/plain")];
        assert_eq!(judge(&view("INVITE", "sip:a@x", &headers, 0)), None);
        assert_eq!(
            judge(&view("INVITE", "sip:a@x", &[], 10)).map(|r| r.status),
            Some(415)
        );
    }

    #[test]
    fn an_encoded_body_is_415_with_accept_encoding() {
        let headers = [("Content-Type", SDP), ("Content-Encoding", "gzip")];
        let refusal = judge(&view("INVITE", "sip:a@x", &headers, 40)).expect("refused");
        assert_eq!(refusal.status, 415);
        assert_eq!(refusal.headers[0].0, "Accept-Encoding");
    }

    #[test]
    fn invite_accepting_no_sdp_is_406_but_options_is_not() {
        let headers = [("Accept", "text/nobodyKnowsThis"), ("Content-Type", SDP)];
        let refusal = judge(&view("INVITE", "sip:a@x", &headers, 150)).expect("refused");
        assert_eq!(refusal.status, 406);
        assert_eq!(judge(&view("OPTIONS", "sip:a@x", &headers[..1], 0)), None);
        for accept in [
            "application/sdp",
            "text/html, application/SDP;q=0.5",
            "*/*",
            "application/*",
        ] {
            let headers = [("Accept", accept)];
            assert_eq!(
                judge(&view("INVITE", "sip:a@x", &headers, 0)),
                None,
                "{accept}"
            );
        }
        let empty = [("Accept", "")];
        assert_eq!(
            judge(&view("INVITE", "sip:a@x", &empty, 0)).map(|r| r.status),
            Some(406)
        );
    }

    #[test]
    fn scheme_is_judged_before_require_and_body() {
        let headers = [("Require", "x"), ("Content-Type", "text/plain")];
        let refusal = judge(&view("INVITE", "foo:bar", &headers, 3)).expect("refused");
        assert_eq!(refusal.status, 416);
        let refusal = judge(&view("INVITE", "sip:bar", &headers, 3)).expect("refused");
        assert_eq!(refusal.status, 420);
    }

    #[test]
    fn torture_messages_get_their_rfc4475_status_through_the_parsed_request() {
        for (name, status) in [
            ("unkscm", Some(416)),
            ("novelsc", Some(416)),
            ("bext01", Some(420)),
            ("invut", Some(415)),
            ("sdp01", Some(406)),
            ("esc01", None),
            ("longreq", None),
            ("semiuri", None),
            ("transports", None),
            ("lwsdisp", None),
        ] {
            let path = format!(
                "{}/sip-testbench/rfc4475/{name}.dat",
                env!("CARGO_MANIFEST_DIR")
            );
            let raw = std::fs::read(&path).expect("torture file");
            let Ok(SipMessage::Request(request)) = SipMessage::try_from(raw.as_slice()) else {
                panic!("{name} does not parse");
            };
            assert_eq!(
                judge_request(&request, false).map(|r| r.status),
                status,
                "{name}"
            );
        }
    }
}
