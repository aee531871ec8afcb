//! The telecom engineer's own checks, run in CI through the real binary:
//! `hotline check dialplans` and `hotline test dialplans/tests`.

use std::process::Command;

fn hotline(args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_hotline"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the hotline binary runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
fn example_dialplans_check_clean() {
    let (ok, text) = hotline(&["check", "--deny-warnings", "dialplans"]);
    assert!(ok, "{text}");
    assert!(
        text.contains("acme-bank.yaml: ok (0 errors, 0 warnings)"),
        "{text}"
    );
}

#[test]
fn dialplan_flow_tests_pass() {
    let (ok, text) = hotline(&["test", "dialplans/tests"]);
    assert!(ok, "{text}");
    assert!(text.contains(" passed, 0 failed"), "{text}");
    assert!(!text.contains("0 passed"), "{text}");
}

#[test]
fn a_failing_flow_test_fails_the_command() {
    let dir = tempfile::tempdir().unwrap();
    let plan = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("dialplans/acme-bank.yaml");
    let test = format!(
        "dialplan: {}\nat: \"2026-11-23 10:00\"\ntests:\n  - name: wrong queue\n    turns:\n      - say: representative\n    expect:\n      transfer: {{ to: {{ queue: cards }} }}\n",
        plan.display()
    );
    let file = dir.path().join("t.yaml");
    std::fs::write(&file, test).unwrap();
    let (ok, text) = hotline(&["test", file.to_str().unwrap()]);
    assert!(!ok, "{text}");
    assert!(
        text.contains("FAIL  wrong queue")
            && text.contains("transferred to `general`, expected `cards`"),
        "{text}"
    );
    assert!(text.contains("0 passed, 1 failed"), "{text}");
}

#[test]
fn a_broken_dialplan_fails_check_with_its_location() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.yaml");
    std::fs::write(
        &file,
        "name: x\ntimezone: UTC\nflows:\n  main:\n    steps:\n      a:\n        goto: b\n",
    )
    .unwrap();
    let (ok, text) = hotline(&["check", file.to_str().unwrap()]);
    assert!(!ok, "{text}");
    assert!(text.contains("bad.yaml:7:15"), "{text}");
    assert!(text.contains("error[unknown-target]"), "{text}");
}
