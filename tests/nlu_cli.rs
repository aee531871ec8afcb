//! `hotline understand` and `hotline nlu eval` as an engineer runs them: the output says
//! what was understood and why, and sensitive values never appear unmasked.

use std::process::{Command, Output};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/sip-testbench/nlu/corpus.yaml");

fn hotline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hotline"))
        .args(args)
        .output()
        .expect("the hotline binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn understand_shows_intent_runner_up_and_candidates() {
    let out = hotline(&[
        "understand",
        "--corpus-intents",
        CORPUS,
        "--step",
        "main_menu",
        "Um, somebody stole my card",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = stdout(&out);
    assert!(text.contains("intent:      lost_card"), "{text}");
    assert!(text.contains("runner-up:"), "{text}");
    assert!(text.contains("candidates:  lost_card"), "{text}");
}

#[test]
fn understand_json_masks_sensitive_entities_and_transcript() {
    let out = hotline(&[
        "understand",
        "--corpus-intents",
        CORPUS,
        "--step",
        "pin",
        "--json",
        "for four seven seven",
    ]);
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(json["entities"][0]["name"], "pin");
    assert_eq!(json["entities"][0]["value"], "****");
    assert_eq!(json["entities"][0]["sensitive"], true);
    let raw = stdout(&out);
    assert!(!raw.contains("4477") && !raw.contains("seven"), "{raw}");
}

#[test]
fn understand_explains_a_no_match() {
    let out = hotline(&[
        "understand",
        "--corpus-intents",
        CORPUS,
        "--intents",
        "balance,dispute",
        "--entity",
        "digits:8",
        "--today",
        "2026-11-20",
        "four seven one",
    ]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.contains("intent:      none"), "{text}");
    assert!(text.contains("heard 3 digits, expected 8"), "{text}");
}

#[test]
fn understand_reads_keypad_input() {
    let out = hotline(&[
        "understand",
        "--corpus-intents",
        CORPUS,
        "--step",
        "amount",
        "--dtmf",
        "49*99#",
    ]);
    assert!(out.status.success());
    assert!(stdout(&out).contains("amount = 49.99"), "{}", stdout(&out));
}

#[test]
fn understand_names_unknown_steps_and_intents() {
    let out = hotline(&[
        "understand",
        "--corpus-intents",
        CORPUS,
        "--step",
        "nope",
        "hi",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no step `nope`") && err.contains("main_menu"),
        "{err}"
    );

    let out = hotline(&[
        "understand",
        "--corpus-intents",
        CORPUS,
        "--intents",
        "balanse",
        "hi",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("intent `balanse` is not declared"));
}

#[test]
fn eval_prints_the_tables_and_honours_minimums() {
    let out = hotline(&["nlu", "eval", CORPUS]);
    assert!(out.status.success());
    let text = stdout(&out);
    for heading in [
        "intent accuracy",
        "entity exact match",
        "per intent",
        "confusion",
        "per entity",
        "failures:",
    ] {
        assert!(text.contains(heading), "missing {heading}:\n{text}");
    }
    assert!(
        !text.contains("4532015112830366"),
        "card numbers are masked in failures"
    );

    let out = hotline(&["nlu", "eval", CORPUS, "--min-intent", "1.01"]);
    assert!(!out.status.success(), "an impossible minimum must fail");
}

#[test]
fn eval_reports_a_broken_corpus_with_its_location() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bad.yaml");
    std::fs::write(&path, "today: 2026-11-20\nintents:\n  - {name: a, examples: [x]}\nsteps: {}\ncases:\n  - {step: s, text: \"x\", intent: a, bogus: 1}\n")
        .expect("write");
    let out = hotline(&["nlu", "eval", path.to_str().expect("utf-8 path")]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.yaml") && err.contains("bogus"), "{err}");
}

#[test]
fn eval_failures_never_show_sensitive_digits() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("pins.yaml");
    std::fs::write(
        &path,
        "today: 2026-11-20\n\
         intents:\n  - {name: a, examples: [x]}\n\
         entities:\n  - {name: pin, kind: digits, min_len: 4, max_len: 4, sensitive: true}\n\
         steps:\n  pin: {entity: pin}\n\
         cases:\n  - {step: pin, value: \"9731\", text: \"It's 8642.\"}\n",
    )
    .expect("write");
    let out = hotline(&["nlu", "eval", path.to_str().expect("utf-8 path")]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.contains("failures: 1 development"), "{text}");
    assert!(!text.contains("8642") && !text.contains("9731"), "{text}");
}
