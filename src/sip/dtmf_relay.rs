//! Keypad digits carried in SIP INFO bodies, for phones and trunks that send DTMF in
//! signalling instead of RFC 4733 events: `application/dtmf-relay` (`Signal=5` and
//! `Duration=160` lines, the Cisco-born format most phones speak) and `application/dtmf`
//! (the digit alone). Hostile bodies give `None`, never a panic.

/// The digit an INFO body carries, if it is a DTMF body.
pub fn digit(content_type: Option<&str>, body: &[u8]) -> Option<char> {
    let media_type = content_type?.split(';').next()?.trim().to_ascii_lowercase();
    let text = std::str::from_utf8(body).ok()?;
    match media_type.as_str() {
        "application/dtmf-relay" => text.lines().find_map(|line| {
            let (name, value) = line.split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("signal")
                .then(|| signal(value.trim()))
                .flatten()
        }),
        "application/dtmf" => signal(text.trim()),
        _ => None,
    }
}

/// `0-9 * # A-D`, and the event codes 10 and 11 some phones send for `*` and `#`.
fn signal(value: &str) -> Option<char> {
    match value {
        "10" => return Some('*'),
        "11" => return Some('#'),
        _ => {}
    }
    let mut chars = value.chars();
    let c = chars.next()?.to_ascii_uppercase();
    (chars.next().is_none() && matches!(c, '0'..='9' | '*' | '#' | 'A'..='D')).then_some(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_dtmf_relay_body_gives_its_signal() {
        let body = b"Signal=5\r\nDuration=160\r\n";
        assert_eq!(digit(Some("application/dtmf-relay"), body), Some('5'));
        let spaced = b"Signal= #\nDuration= 250\n";
        assert_eq!(
            digit(Some("Application/DTMF-Relay; charset=x"), spaced),
            Some('#')
        );
        assert_eq!(
            digit(Some("application/dtmf-relay"), b"Signal=10\r\n"),
            Some('*')
        );
        assert_eq!(
            digit(
                Some("application/dtmf-relay"),
                b"Duration=100\r\nsignal=b\r\n"
            ),
            Some('B')
        );
    }

    #[test]
    fn a_plain_dtmf_body_is_the_digit() {
        assert_eq!(digit(Some("application/dtmf"), b"7\r\n"), Some('7'));
    }

    #[test]
    fn other_bodies_and_bad_signals_are_no_digit() {
        assert_eq!(digit(None, b"Signal=5"), None);
        assert_eq!(digit(Some("application/sdp"), b"Signal=5"), None);
        assert_eq!(digit(Some("application/dtmf-relay"), b"Signal=55"), None);
        assert_eq!(digit(Some("application/dtmf-relay"), b"Signal=E"), None);
        assert_eq!(digit(Some("application/dtmf-relay"), b""), None);
        assert_eq!(digit(Some("application/dtmf-relay"), &[0xff, 0xfe]), None);
    }

    proptest! {
        #[test]
        fn no_body_makes_it_panic(ct in ".{0,40}", body in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = digit(Some(&ct), &body);
            let _ = digit(Some("application/dtmf-relay"), &body);
        }
    }
}
