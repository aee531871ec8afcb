//! Removes the linear white space rsipstack cannot read around the `;` and `=` of From
//! and To parameters (`;   tag    = 1918181833n`, RFC 4475 §3.1.1.1), so that a valid
//! request keeps its dialog tags instead of being dropped (no From tag) or taken for a
//! new call (no To tag). RFC 3261 §7.3.1 makes that white space insignificant, so the
//! tidied request means the same; responses echo the tidied From and To.
//!
//! Pure: bytes in, bytes out. Requests whose From and To are already tidy (all normal
//! traffic) are left alone (`None`).

/// A copy of `packet` with its From and To values unfolded and tidied, or `None` when
/// there is nothing to change (or the head is not text).
pub fn tidy_from_to(packet: &[u8]) -> Option<Vec<u8>> {
    let head_end = packet.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&packet[..head_end]).ok()?;
    let mut lines = head.split("\r\n");
    let start = lines.next()?;
    // Logical header lines: a header with its folded continuations.
    let mut logical: Vec<String> = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            let last = logical.last_mut()?;
            last.push_str("\r\n");
            last.push_str(line);
        } else {
            logical.push(line.to_owned());
        }
    }
    let mut out = String::with_capacity(head.len());
    out.push_str(start);
    let mut changed = false;
    for line in &logical {
        out.push_str("\r\n");
        let tidied = line.split_once(':').and_then(|(name, value)| {
            let name = name.trim();
            let is_dialog_header = ["from", "f", "to", "t"]
                .iter()
                .any(|n| name.eq_ignore_ascii_case(n));
            if !is_dialog_header {
                return None;
            }
            let tidy = tidy_params(&unfold(value));
            (tidy != value.trim()).then(|| format!("{name}: {tidy}"))
        });
        match tidied {
            Some(tidied) => {
                out.push_str(&tidied);
                changed = true;
            }
            None => out.push_str(line),
        }
    }
    if !changed {
        return None;
    }
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&packet[head_end..]);
    Some(bytes)
}

/// Folded lines joined with one space (RFC 3261 §7.3.1), trimmed.
fn unfold(value: &str) -> String {
    value
        .split("\r\n")
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Drops white space next to `;` and `=` outside quoted strings and angle brackets.
fn tidy_params(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    let mut out = String::with_capacity(value.len());
    let mut in_quotes = false;
    let mut escaped = false;
    let mut in_angle = false;
    for (i, &c) in chars.iter().enumerate() {
        if in_quotes {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_quotes = false,
                _ => {}
            }
            out.push(c);
            continue;
        }
        match c {
            '"' => in_quotes = true,
            '<' => in_angle = true,
            '>' => in_angle = false,
            c if c.is_whitespace() && !in_angle => {
                let prev = out.chars().last();
                let next = chars[i + 1..].iter().find(|c| !c.is_whitespace());
                if matches!(prev, Some(';' | '=')) || matches!(next, Some(';' | '=')) {
                    continue;
                }
            }
            _ => {}
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tidy_requests_are_left_alone() {
        let raw = b"INVITE sip:a@x SIP/2.0\r\nFrom: \"A ; = B\" <sip:a@x;lr>;tag=1\r\nTo: <sip:b@x>\r\n\r\nbody";
        assert_eq!(tidy_from_to(raw), None);
    }

    #[test]
    fn spaces_around_tag_parameters_are_removed_and_folds_joined() {
        let raw = b"INVITE sip:a@x SIP/2.0\r\nTO :\r\n sip:v@x ;   tag    = 19n\r\nfrom   : \"J \\\"\" <sip:j@x>\r\n  ;\r\n  tag = 98\r\nVia: SIP/2.0/UDP h ; branch = z9hG4bK1\r\n\r\nv=0";
        let tidied = String::from_utf8(tidy_from_to(raw).expect("changed")).unwrap();
        assert_eq!(
            tidied,
            "INVITE sip:a@x SIP/2.0\r\nTO: sip:v@x;tag=19n\r\nfrom: \"J \\\"\" <sip:j@x>;tag=98\r\nVia: SIP/2.0/UDP h ; branch = z9hG4bK1\r\n\r\nv=0"
        );
    }

    #[test]
    fn quoted_display_names_and_uris_keep_their_spaces() {
        let raw = b"OPTIONS sip:a@x SIP/2.0\r\nf: \"a ; b = c\" <sip:a@x; lr> ; tag=1\r\n\r\n";
        let tidied = String::from_utf8(tidy_from_to(raw).expect("changed")).unwrap();
        assert!(
            tidied.contains("f: \"a ; b = c\" <sip:a@x; lr>;tag=1\r\n"),
            "{tidied}"
        );
    }

    #[test]
    fn the_wsinv_torture_message_gets_readable_tags() {
        let path = format!(
            "{}/sip-testbench/rfc4475/wsinv.dat",
            env!("CARGO_MANIFEST_DIR")
        );
        let raw = std::fs::read(path).expect("wsinv.dat");
        let tidied = tidy_from_to(&raw).expect("changed");
        let text = String::from_utf8_lossy(&tidied);
        assert!(text.contains("TO: sip:vivekg@chair-dnrc.example.com;tag=1918181833n\r\n"));
        assert!(text.contains("<sip:jdrosen@example.com>;tag=98asjd8\r\n"));
        // the body is untouched
        assert!(tidied.ends_with(b"a=rtpmap:31 LPC\r\n"));
    }
}
