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

#[test]
fn simulate_script_shows_the_call_and_masks_the_pin() {
    let (ok, text) = hotline(&[
        "simulate",
        "dialplans/acme-bank.yaml",
        "--script",
        "dialplans/scripts/acme-dispute.yaml",
    ]);
    assert!(ok, "{text}");
    assert!(
        text.contains("hotline:  Thank you for calling Acme Bank. [acme-welcome]"),
        "{text}"
    );
    assert!(
        text.contains("(transfer to `disputes`, priority normal)"),
        "{text}"
    );
    assert!(
        text.contains("(expect: ok)") && !text.contains("expect FAILED"),
        "{text}"
    );
    assert!(text.contains("\"disputed_amount\": \"49.99\""), "{text}");
    assert!(text.contains("pin = ****"), "{text}");
    assert!(
        !text.contains("9999") && !text.contains("1234#"),
        "a PIN leaked: {text}"
    );
}

#[test]
fn simulate_interactive_reads_the_keyboard_and_asks_unmocked_lookups() {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_hotline"))
        .args([
            "simulate",
            "dialplans/acme-bank.yaml",
            "--at",
            "2026-11-23 10:00",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the hotline binary runs");
    let input = "#2\nfound account=55554444 name=Ann\n#9876\nfound\n";
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write");
    let output = child
        .wait_with_output()
        .expect("simulate ends at end of input");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}");
    assert!(
        text.contains("lookup accounts_by_phone(phone=anonymous)"),
        "{text}"
    );
    assert!(
        text.contains("(lookup verify_pin(account=55554444, pin=****) -> found {})"),
        "{text}"
    );
    assert!(
        text.contains("(transfer to `cards`, priority high)"),
        "{text}"
    );
    assert!(!text.contains("9876"), "a PIN leaked: {text}");
}

#[test]
fn graph_and_schema_commands_print_their_documents() {
    let (ok, text) = hotline(&["graph", "dialplans/acme-bank.yaml", "--format", "dot"]);
    assert!(ok && text.starts_with("digraph \"acme-bank\""), "{text}");
    let (ok, text) = hotline(&["schema"]);
    assert!(ok, "{text}");
    let schema: serde_json::Value = serde_json::from_str(&text).expect("the schema is JSON");
    assert_eq!(schema["title"], "Hotline dialplan");
}

#[test]
fn check_with_the_server_config_refuses_a_transfer_to_an_unconfigured_queue() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hotline.toml");
    std::fs::write(
        &config,
        "[acd.queues.general]\n[acd.queues.cards]\nmax_wait_secs = 600\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let (ok, text) = hotline(&["check", "--config", config, "dialplans/acme-bank.yaml"]);
    assert!(!ok, "{text}");
    let line = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("dialplans/acme-bank.yaml"),
    )
    .unwrap()
    .lines()
    .position(|l| l.trim() == "queue: disputes")
    .expect("the disputes transfer")
        + 1;
    assert!(
        text.contains("error[unknown-queue]: queue `disputes` is not configured on the server"),
        "{text}"
    );
    assert!(
        text.contains(&format!("dialplans/acme-bank.yaml:{line}:18")),
        "{text}"
    );
    assert!(text.contains("(1 error, 0 warnings)"), "{text}");

    std::fs::write(
        dir.path().join("hotline.toml"),
        "[acd.queues.general]\n[acd.queues.cards]\n[acd.queues.disputes]\n",
    )
    .unwrap();
    let (ok, text) = hotline(&["check", "--config", config, "dialplans/acme-bank.yaml"]);
    assert!(ok, "{text}");

    std::fs::write(dir.path().join("hotline.toml"), "[acd\n").unwrap();
    let (ok, text) = hotline(&["check", "--config", config, "dialplans/acme-bank.yaml"]);
    assert!(
        !ok && text.contains("hotline.toml:1:5:"),
        "a broken config is refused at file:line:column: {text}"
    );
}
