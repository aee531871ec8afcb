//! Hot reload semantics: a good change is swapped in, a broken one is refused with its
//! errors and the running version stays, and a call keeps the version it started on.

use chrono::{TimeZone, Utc};
use hotline::dialplan::{Action, DialplanStore, Event, PlayItem, Runtime};
use std::sync::Arc;

fn plan_text(greeting: &str) -> String {
    format!(
        "name: reload\ntimezone: UTC\nflows:\n  main:\n    steps:\n      hi:\n        say: {{ play: [text: \"{greeting}\"] }}\n      wait:\n        gather:\n          intents: {{ order: bye }}\n          no_input: [text: again]\n          no_match: [text: again]\n          exhausted: bye\n      bye:\n        hangup: {{ play: [text: \"bye from {greeting}\"] }}\nintents:\n  order: {{ examples: [order a pizza] }}\n"
    )
}

fn texts(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .flat_map(|a| match a {
            Action::Play { items, .. } => items.clone(),
            _ => vec![],
        })
        .filter_map(|i| match i {
            PlayItem::Text(t) => Some(t),
            _ => None,
        })
        .collect()
}

#[test]
fn good_reload_swaps_broken_reload_is_refused_and_calls_keep_their_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.yaml");
    std::fs::write(&path, plan_text("version one")).unwrap();
    let (store, report) = DialplanStore::open(&path).unwrap();
    assert!(!report.has_errors());
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap();

    // A call starts on version one.
    let mut call = Runtime::new(store.current());
    let actions = call.handle(
        Event::CallStarted {
            caller_id: "1".into(),
            called: "2".into(),
        },
        now,
    );
    assert_eq!(texts(&actions), vec!["version one"]);

    // A good change is swapped in for new calls.
    std::fs::write(&path, plan_text("version two")).unwrap();
    assert!(store.reload().is_ok());
    let mut new_call = Runtime::new(store.current());
    let actions = new_call.handle(
        Event::CallStarted {
            caller_id: "1".into(),
            called: "2".into(),
        },
        now,
    );
    assert_eq!(texts(&actions), vec!["version two"]);

    // The call in progress finishes on version one.
    let actions = call.handle(Event::Timeout, now);
    assert_eq!(texts(&actions), vec!["again"]);
    let actions = call.handle(
        Event::Speech {
            transcript: "order a pizza".into(),
            asr_confidence: 1.0,
        },
        now,
    );
    assert_eq!(texts(&actions), vec!["bye from version one"]);

    // A broken change is refused with its errors; version two keeps running.
    let before = store.current();
    std::fs::write(
        &path,
        plan_text("version three").replace("exhausted: bye", "exhausted: nowhere"),
    )
    .unwrap();
    let err = store.reload().unwrap_err();
    assert!(
        err.report().errors().any(|d| d.code == "unknown-target"),
        "{}",
        err.report().render()
    );
    assert!(err.to_string().contains("the running version stays"));
    assert!(Arc::ptr_eq(&before, &store.current()));
    assert_eq!(store.current().doc.flows.len(), 1);

    // Not even a file that vanished or is not YAML replaces it.
    std::fs::write(&path, [0xff, 0xfe, 0x00]).unwrap();
    assert!(store.reload().is_err());
    std::fs::remove_file(&path).unwrap();
    assert!(store.reload().is_err());
    let mut later = Runtime::new(store.current());
    let actions = later.handle(
        Event::CallStarted {
            caller_id: "1".into(),
            called: "2".into(),
        },
        now,
    );
    assert_eq!(texts(&actions), vec!["version two"]);
}

#[test]
fn a_store_checked_against_the_configured_queues_refuses_a_reload_to_an_unknown_queue() {
    use hotline::dialplan::CheckOptions;
    let plan = |queue: &str| {
        format!(
            "name: q\ntimezone: UTC\nqueues: [general, cards]\nflows:\n  main:\n    steps:\n      agent:\n        transfer: {{ queue: {queue} }}\n"
        )
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.yaml");
    let options = CheckOptions {
        known_queues: Some(["general".to_string()].into()),
    };
    std::fs::write(&path, plan("cards")).unwrap();
    let refused = DialplanStore::open_with(&path, options.clone())
        .err()
        .expect("refused");
    assert!(
        refused
            .report()
            .render()
            .contains("`cards` is not configured"),
        "{}",
        refused.report().render()
    );
    std::fs::write(&path, plan("general")).unwrap();
    let (store, _) = DialplanStore::open_with(&path, options).unwrap();
    std::fs::write(&path, plan("cards")).unwrap();
    assert!(
        store.reload().is_err(),
        "the reload is checked the same way"
    );
    // Without the configured queues, the dialplan's own list decides.
    assert!(DialplanStore::open(&path).is_ok());
}
