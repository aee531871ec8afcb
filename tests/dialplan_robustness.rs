//! Properties over many generated inputs: the loader never panics on damaged dialplans,
//! and every waiting state has an exit (a silent caller always ends up transferred or
//! hung up, whatever the lookups answer).

use chrono::{TimeZone, Utc};
use hotline::dialplan::{
    CallState, Dialplan, Event, LookupResult, Runtime, load_path, load_source,
};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, LazyLock};

fn acme_text() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("dialplans/acme-bank.yaml"))
        .unwrap()
}

static ACME: LazyLock<Arc<Dialplan>> = LazyLock::new(|| {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("dialplans/acme-bank.yaml");
    Arc::new(
        load_path(&path)
            .unwrap_or_else(|r| panic!("{}", r.render()))
            .0,
    )
});

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn damaged_dialplans_give_diagnostics_not_panics(
        cut in 0usize..12_000,
        edits in proptest::collection::vec((0usize..12_000, any::<u8>()), 0..8),
    ) {
        let mut bytes = acme_text().into_bytes();
        for (at, byte) in edits {
            let at = at % bytes.len();
            bytes[at] = byte;
        }
        bytes.truncate(cut.min(bytes.len()));
        match load_source("damaged.yaml", &bytes, None) {
            Ok((_, report)) => prop_assert!(!report.has_errors()),
            Err(report) => {
                prop_assert!(report.has_errors());
                let _ = report.render();
            }
        }
    }

    #[test]
    fn a_silent_caller_always_reaches_a_transfer_or_a_hangup(
        hour in 0u32..24,
        day in 22u32..29,
        answers in proptest::collection::vec(0u8..3, 1..20),
    ) {
        let plan = Arc::clone(&ACME);
        let now = chrono_tz::America::New_York.with_ymd_and_hms(2026, 11, day, hour, 0, 0).unwrap().with_timezone(&Utc);
        let mut call = Runtime::new(plan);
        call.handle(Event::CallStarted { caller_id: "+15550000".into(), called: "1".into() }, now);
        let mut answers = answers.into_iter().cycle();
        let mut events = 0;
        loop {
            let event = match call.state() {
                CallState::Listening { .. } => Event::Timeout,
                CallState::LookingUp { .. } => Event::LookupResult(match answers.next() {
                    Some(0) => LookupResult::Found(BTreeMap::from([("account".to_string(), "12345678".to_string())])),
                    Some(1) => LookupResult::NotFound,
                    _ => LookupResult::Error("down".into()),
                }),
                CallState::Transferred { .. } | CallState::Ended { .. } => break,
                CallState::Idle => panic!("the call did not start"),
            };
            call.handle(event, now);
            events += 1;
            prop_assert!(events < 200, "stuck: {:?}", call.path().last());
        }
    }
}
