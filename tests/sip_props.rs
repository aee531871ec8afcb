//! Property tests of the SIP refusal path: random bytes and random mutations of the
//! RFC 4475 torture messages are fed to the guard's judges (`reject`), the stateless
//! response builder, the From/To tidier, admission, and rsipstack's own parser. None may
//! panic, and what they produce must stay within what they promise.

use hotline::sip::message::SipMessage;
use hotline::sip::{admission, reject, tidy};
use proptest::prelude::*;
use std::sync::OnceLock;

/// Every torture message, read once.
fn corpus() -> &'static [Vec<u8>] {
    static CORPUS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sip-testbench/rfc4475");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .expect("torture directory")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "dat"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|p| std::fs::read(p).expect("torture file"))
            .collect()
    })
}

/// Bytes that matter to SIP's grammar, for insertions and replacements.
const SPECIAL: &[&[u8]] = &[
    b";",
    b",",
    b"\"",
    b"<",
    b">",
    b" ",
    b"\t",
    b"\r\n",
    b"\r\n ",
    b":",
    b"\0",
    b"%",
    b"=",
    b"\\",
    b"\r\n\r\n",
    b"\xff",
    b"SIP/2.0",
    b"tag=",
    b"Content-Length: 99999\r\n",
];

#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: usize, byte: u8 },
    Insert { at: usize, what: usize },
    Delete { at: usize, len: usize },
    Truncate { at: usize },
    DuplicateLine { at: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Flip { at, byte }),
        (any::<usize>(), 0..SPECIAL.len()).prop_map(|(at, what)| Mutation::Insert { at, what }),
        (any::<usize>(), 1usize..16).prop_map(|(at, len)| Mutation::Delete { at, len }),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
        any::<usize>().prop_map(|at| Mutation::DuplicateLine { at }),
    ]
}

fn apply(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        if bytes.is_empty() {
            break;
        }
        let n = bytes.len();
        match *m {
            Mutation::Flip { at, byte } => bytes[at % n] = byte,
            Mutation::Insert { at, what } => {
                let at = at % (n + 1);
                bytes.splice(at..at, SPECIAL[what].iter().copied());
            }
            Mutation::Delete { at, len } => {
                let at = at % n;
                bytes.drain(at..(at + len).min(n));
            }
            Mutation::Truncate { at } => bytes.truncate(at % n),
            Mutation::DuplicateLine { at } => {
                let at = at % n;
                let start = bytes[..at]
                    .windows(2)
                    .rposition(|w| w == b"\r\n")
                    .map_or(0, |p| p + 2);
                let end = bytes[at..]
                    .windows(2)
                    .position(|w| w == b"\r\n")
                    .map_or(n, |p| at + p + 2);
                let line = bytes[start..end].to_vec();
                bytes.splice(start..start, line);
            }
        }
    }
    bytes
}

/// Runs every judge on `bytes` and checks what each promises.
fn check_everything(bytes: &[u8]) -> Result<(), TestCaseError> {
    let parsed = SipMessage::try_from(bytes);
    let judged = match &parsed {
        Ok(SipMessage::Request(request)) => {
            if let Some(refusal) = admission::judge_request(request, false) {
                prop_assert!(
                    [406, 415, 416, 420].contains(&refusal.status),
                    "admission status {}",
                    refusal.status
                );
            }
            reject::judge_parsed(bytes)
        }
        Ok(SipMessage::Response(_)) => reject::judge_parsed(bytes),
        Err(_) => reject::judge_unparseable(bytes),
    };
    if let Some(rejection) = judged {
        prop_assert!(
            [400, 483, 501, 505].contains(&rejection.status),
            "status {}",
            rejection.status
        );
        if let Some(response) = reject::response_for(bytes, &rejection, "prop") {
            let text = String::from_utf8(response).expect("responses are UTF-8");
            let status_line = format!("SIP/2.0 {} ", rejection.status);
            prop_assert!(text.starts_with(&status_line), "{text:?}");
            // one message, well framed: a single blank line, at the very end
            prop_assert_eq!(text.find("\r\n\r\n"), Some(text.len() - 4), "{:?}", text);
            for line in text.trim_end().split("\r\n").skip(1) {
                prop_assert!(line.contains(": "), "header line {line:?}");
                prop_assert!(!line.contains(['\r', '\n']), "header line {line:?}");
            }
        }
    }
    if let Some(tidied) = tidy::tidy_from_to(bytes) {
        // tidying is done once and for all, and never touches the body
        prop_assert_eq!(tidy::tidy_from_to(&tidied), None);
        let body = |b: &[u8]| {
            b.windows(4)
                .position(|w| w == b"\r\n\r\n")
                .map(|p| b[p..].to_vec())
        };
        prop_assert_eq!(body(&tidied), body(bytes));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic_any_judge(bytes in proptest::collection::vec(any::<u8>(), 0..1500)) {
        check_everything(&bytes)?;
    }

    #[test]
    fn random_text_lines_never_panic_any_judge(
        method in "[A-Z]{1,9}",
        lines in proptest::collection::vec("[ -~]{0,60}", 0..12),
    ) {
        let raw = format!("{method} sip:a@b SIP/2.0\r\n{}\r\n\r\n", lines.join("\r\n"));
        check_everything(raw.as_bytes())?;
    }

    #[test]
    fn mutated_torture_messages_never_panic_any_judge(
        index in any::<usize>(),
        mutations in proptest::collection::vec(mutation(), 1..6),
    ) {
        let corpus = corpus();
        let original = corpus[index % corpus.len()].clone();
        check_everything(&apply(original, &mutations))?;
    }
}

#[test]
fn the_unmutated_corpus_passes_the_same_checks() {
    for bytes in corpus() {
        check_everything(bytes).expect("torture message");
    }
}
