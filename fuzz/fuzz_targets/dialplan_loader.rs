//! Fuzzes the dialplan loader (size limit, UTF-8, YAML, checks) and, when the input loads,
//! the graph export and a short call through the runtime: no input may panic.

#![no_main]

use chrono::{TimeZone, Utc};
use hotline::dialplan::graph::{GraphFormat, render};
use hotline::dialplan::{Event, Runtime, load_source};
use libfuzzer_sys::fuzz_target;
use std::sync::Arc;

fuzz_target!(|data: &[u8]| {
    let Ok((plan, report)) = load_source("fuzz.yaml", data, None) else {
        return;
    };
    let _ = report.render();
    let _ = render(&plan, GraphFormat::Mermaid);
    let _ = render(&plan, GraphFormat::Dot);
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap();
    let mut call = Runtime::new(Arc::new(plan));
    call.handle(
        Event::CallStarted {
            caller_id: "1".into(),
            called: "2".into(),
        },
        now,
    );
    for event in [
        Event::Speech {
            transcript: "agent".into(),
            asr_confidence: 0.9,
        },
        Event::Dtmf {
            digits: "1234#".into(),
        },
        Event::Timeout,
        Event::Timeout,
        Event::Timeout,
    ] {
        call.handle(event, now);
    }
});
