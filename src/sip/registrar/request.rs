//! Reading a REGISTER's header texts into a [`RegisterRequest`]: the agent's login from the
//! To URI, the contacts (`*`, or URIs with their `expires`), the Expires header and the
//! source address from the top Via (`received`/`rport`, which the transport layer wrote).
//! Total on hostile input: a bad header is an error naming it, never a panic.

use super::bindings::{ContactSet, RequestedContact};
use super::core::RegisterRequest;
use crate::config::Transport;
use std::net::{IpAddr, SocketAddr};

/// A REGISTER this server cannot read (answered 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegisterParseError {
    #[error("the {0} header is missing or unreadable")]
    Header(&'static str),
    #[error("the To URI names no user")]
    NoUser,
    #[error("Contact: * mixed with other contacts")]
    MixedWildcard,
}

/// Builds the request from `(name, value)` header pairs.
pub fn read_register(
    headers: &[(&str, &str)],
    transport: Transport,
) -> Result<RegisterRequest, RegisterParseError> {
    let find = |long: &str, compact: &str| {
        headers
            .iter()
            .find(|(n, _)| {
                n.eq_ignore_ascii_case(long)
                    || (!compact.is_empty() && n.eq_ignore_ascii_case(compact))
            })
            .map(|(_, v)| *v)
    };
    let all = |long: &'static str, compact: &'static str| {
        headers
            .iter()
            .filter(move |(n, _)| {
                n.eq_ignore_ascii_case(long)
                    || (!compact.is_empty() && n.eq_ignore_ascii_case(compact))
            })
            .map(|(_, v)| *v)
    };
    let to = find("to", "t").ok_or(RegisterParseError::Header("To"))?;
    let login = uri_user(to).ok_or(RegisterParseError::NoUser)?;
    let call_id = find("call-id", "i")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .ok_or(RegisterParseError::Header("Call-ID"))?;
    let cseq = find("cseq", "")
        .and_then(|c| c.split_whitespace().next())
        .and_then(|n| n.parse::<u32>().ok())
        .ok_or(RegisterParseError::Header("CSeq"))?;
    let via = find("via", "v").ok_or(RegisterParseError::Header("Via"))?;
    let source = via_source(via).ok_or(RegisterParseError::Header("Via"))?;
    let expires = match find("expires", "") {
        None => None,
        Some(v) => Some(
            v.trim()
                .parse::<u32>()
                .map_err(|_| RegisterParseError::Header("Expires"))?,
        ),
    };
    let mut wildcard = false;
    let mut contacts = Vec::new();
    for value in all("contact", "m") {
        for item in split_list(value) {
            let item = item.trim();
            if item == "*" {
                wildcard = true;
                continue;
            }
            contacts.push(read_contact(item).ok_or(RegisterParseError::Header("Contact"))?);
        }
    }
    let contacts = match (wildcard, contacts.is_empty()) {
        (true, true) => ContactSet::All,
        (true, false) => return Err(RegisterParseError::MixedWildcard),
        (false, _) => ContactSet::List(contacts),
    };
    Ok(RegisterRequest {
        login,
        call_id: call_id.to_string(),
        cseq,
        source,
        transport,
        contacts,
        expires,
        authorizations: all("authorization", "").map(str::to_string).collect(),
    })
}

/// Splits a header value at commas outside quotes and angle brackets.
fn split_list(value: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut quoted, mut angle, mut start) = (false, false, 0);
    let mut escaped = false;
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' if !quoted && !angle => {
                parts.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&value[start..]);
    parts.into_iter().filter(|p| !p.trim().is_empty()).collect()
}

/// `"Name" <sip:u@h;uri-param>;expires=60` or `sip:u@h;expires=60`.
fn read_contact(item: &str) -> Option<RequestedContact> {
    let (uri, params) = match item.find('<') {
        Some(open) => {
            let close = open + item[open..].find('>')?;
            (&item[open + 1..close], &item[close + 1..])
        }
        // Without angle brackets every `;` starts a header parameter (RFC 3261 §20.10),
        // and a `?` (URI headers) or `,` is not allowed (RFC 4475 §3.1.2.13).
        None if item.contains('?') => return None,
        None => match item.find(';') {
            Some(semi) => (&item[..semi], &item[semi..]),
            None => (item, ""),
        },
    };
    let uri = uri.trim();
    let has_scheme = |scheme: &str| {
        uri.get(..scheme.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(scheme))
            && uri.len() > scheme.len()
    };
    if !(has_scheme("sip:") || has_scheme("sips:")) {
        return None;
    }
    let mut expires = None;
    for param in params.split(';') {
        if let Some((name, value)) = param.split_once('=')
            && name.trim().eq_ignore_ascii_case("expires")
        {
            expires = Some(value.trim().trim_matches('"').parse::<u32>().ok()?);
        }
    }
    Some(RequestedContact {
        uri: uri.to_string(),
        expires,
    })
}

/// The user part of the URI in a To/From value.
fn uri_user(value: &str) -> Option<String> {
    let uri = match value.find('<') {
        Some(open) => {
            let rest = &value[open + 1..];
            &rest[..rest.find('>')?]
        }
        None => value.split(';').next().unwrap_or(value),
    };
    let uri = uri.trim();
    let rest = uri
        .strip_prefix("sip:")
        .or_else(|| uri.strip_prefix("sips:"))
        .or_else(|| uri.strip_prefix("SIP:"))?;
    let (user, _) = rest.split_once('@')?;
    let user = user.split(':').next().unwrap_or(user);
    (!user.is_empty()).then(|| user.to_string())
}

/// The address the request came from, per the top Via after the transport layer added
/// `received` and `rport` (RFC 3261 §18.2.1, RFC 3581).
fn via_source(via: &str) -> Option<SocketAddr> {
    let top = split_list(via).into_iter().next()?.trim();
    let mut parts = top.split(';');
    let sent_by = parts.next()?.split_whitespace().nth(1)?;
    let (mut host, mut port) = (None, None);
    for param in parts {
        match param.split_once('=') {
            Some((name, value)) if name.trim().eq_ignore_ascii_case("received") => {
                let value = value.trim().trim_start_matches('[').trim_end_matches(']');
                host = Some(value.parse::<IpAddr>().ok()?);
            }
            Some((name, value)) if name.trim().eq_ignore_ascii_case("rport") => {
                port = Some(value.trim().parse::<u16>().ok()?);
            }
            _ => {}
        }
    }
    // A sent-by that names a host (not an address) always gets `received` written.
    let written = split_host_port(sent_by);
    Some(SocketAddr::new(
        host.or(written.map(|(h, _)| h))?,
        port.or_else(|| sent_by_port(sent_by)).unwrap_or(5060),
    ))
}

/// The port of a sent-by, whatever its host.
fn sent_by_port(sent_by: &str) -> Option<u16> {
    let port = match sent_by.strip_prefix('[') {
        Some(rest) => rest.split_once(']')?.1.strip_prefix(':')?,
        None => sent_by.split_once(':')?.1,
    };
    port.parse().ok()
}

fn split_host_port(sent_by: &str) -> Option<(IpAddr, u16)> {
    if let Some(rest) = sent_by.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None => 5060,
        };
        return Some((host.parse().ok()?, port));
    }
    match sent_by.split_once(':') {
        Some((host, port)) => Some((host.parse().ok()?, port.parse().ok()?)),
        None => Some((sent_by.parse().ok()?, 5060)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn headers(contact: &str) -> Vec<(&'static str, String)> {
        vec![
            (
                "Via",
                "SIP/2.0/UDP 10.0.0.5:5070;branch=z9hG4bK1;received=127.0.0.1;rport=40000".into(),
            ),
            ("To", "\"Alice\" <sip:alice@hotline.example>".into()),
            ("From", "<sip:alice@hotline.example>;tag=1".into()),
            ("Call-ID", "abc@host".into()),
            ("CSeq", "7 REGISTER".into()),
            ("Contact", contact.into()),
            ("Expires", "300".into()),
            ("Authorization", "Digest username=\"alice\"".into()),
        ]
    }

    fn read(headers: &[(&'static str, String)]) -> Result<RegisterRequest, RegisterParseError> {
        let pairs: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        read_register(&pairs, Transport::Udp)
    }

    #[test]
    fn a_register_is_read_with_login_source_contacts_and_expiry() {
        let request = read(&headers(
            "\"Desk, phone\" <sip:alice@10.0.0.5:5070;transport=udp>;expires=120, sip:alice@10.0.0.6;q=0.5",
        ))
        .unwrap();
        assert_eq!(request.login, "alice");
        assert_eq!(request.cseq, 7);
        assert_eq!(request.source.to_string(), "127.0.0.1:40000");
        assert_eq!(request.expires, Some(300));
        assert_eq!(request.authorizations.len(), 1);
        assert_eq!(
            request.contacts,
            ContactSet::List(vec![
                RequestedContact {
                    uri: "sip:alice@10.0.0.5:5070;transport=udp".into(),
                    expires: Some(120)
                },
                RequestedContact {
                    uri: "sip:alice@10.0.0.6".into(),
                    expires: None
                },
            ])
        );
    }

    #[test]
    fn a_wildcard_contact_is_read_and_may_not_be_mixed() {
        assert_eq!(read(&headers("*")).unwrap().contacts, ContactSet::All);
        assert_eq!(
            read(&headers("*, <sip:a@h>")).unwrap_err(),
            RegisterParseError::MixedWildcard
        );
    }

    #[test]
    fn the_source_falls_back_to_the_via_sent_by_without_received() {
        assert_eq!(
            via_source("SIP/2.0/TCP 127.0.0.1:5071;branch=x")
                .unwrap()
                .to_string(),
            "127.0.0.1:5071"
        );
        assert_eq!(
            via_source("SIP/2.0/UDP [::1];branch=x")
                .unwrap()
                .to_string(),
            "[::1]:5060"
        );
        assert_eq!(via_source("SIP/2.0/UDP host.example;branch=x"), None);
        assert_eq!(
            via_source("SIP/2.0/UDP host.example:5080;branch=x;received=127.0.0.2")
                .unwrap()
                .to_string(),
            "127.0.0.2:5080"
        );
        assert_eq!(
            via_source("SIP/2.0/UDP host.example;received=127.0.0.2;rport=4000")
                .unwrap()
                .to_string(),
            "127.0.0.2:4000"
        );
    }

    #[test]
    fn unreadable_headers_are_named() {
        let mut h = headers("<sip:a@h>");
        h[6].1 = "soon".into();
        assert_eq!(read(&h).unwrap_err(), RegisterParseError::Header("Expires"));
        let h = headers("sip:user@example.com?Route=%3Csip:sip.example.com%3E");
        assert_eq!(read(&h).unwrap_err(), RegisterParseError::Header("Contact"));
        let mut h = headers("<http://a@h>");
        assert_eq!(read(&h).unwrap_err(), RegisterParseError::Header("Contact"));
        h[5].1 = "<sip:a@h>".into();
        h[1].1 = "<sip:hotline.example>".into();
        assert_eq!(read(&h).unwrap_err(), RegisterParseError::NoUser);
    }

    proptest! {
        #[test]
        fn reading_never_panics_on_random_header_values(
            to in ".{0,80}", via in ".{0,80}", contact in ".{0,120}", expires in ".{0,12}", cseq in ".{0,12}"
        ) {
            let h = [("To", to.as_str()), ("Via", via.as_str()), ("Contact", contact.as_str()),
                     ("Expires", expires.as_str()), ("CSeq", cseq.as_str()), ("Call-ID", "x")];
            let _ = read_register(&h, Transport::Udp);
        }
    }
}
