//! One fuzz target for everything that reads raw SIP before the transaction layer:
//! rsipstack's parser, the guard's judges (`reject`), the stateless response builder,
//! the From/To tidier and admission. The server's own source files are compiled in
//! (not the whole `hotline` crate, whose Whisper dependency has no place in a fuzzer).
//! Panics are crashes; so are broken promises, checked with `assert!`.

#![no_main]

#[path = "../../../src/sip/admission.rs"]
mod admission;
#[path = "../../../src/sip/reject.rs"]
mod reject;
#[path = "../../../src/sip/tidy.rs"]
mod tidy;

use libfuzzer_sys::fuzz_target;
use rsipstack::sip::SipMessage;

fuzz_target!(|data: &[u8]| {
    let judged = match SipMessage::try_from(data) {
        Ok(SipMessage::Request(request)) => {
            if let Some(refusal) = admission::judge_request(&request, false) {
                assert!([406, 415, 416, 420].contains(&refusal.status));
            }
            reject::judge_parsed(data)
        }
        Ok(SipMessage::Response(_)) => reject::judge_parsed(data),
        Err(_) => reject::judge_unparseable(data),
    };
    if let Some(rejection) = judged {
        assert!([400, 483, 501, 505].contains(&rejection.status));
        if let Some(response) = reject::response_for(data, &rejection, "fuzz") {
            let text = String::from_utf8(response).expect("responses are UTF-8");
            assert!(text.starts_with(&format!("SIP/2.0 {} ", rejection.status)));
            assert_eq!(text.find("\r\n\r\n"), Some(text.len() - 4), "one message");
        }
    }
    if let Some(tidied) = tidy::tidy_from_to(data) {
        assert_eq!(tidy::tidy_from_to(&tidied), None, "tidying is idempotent");
    }
});
