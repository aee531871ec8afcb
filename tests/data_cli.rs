//! `hotline db init`: creates and migrates the database in the folder given, seeds the
//! demo customers once with `--demo`, and reports a corrupt file clearly. `hotline agents`:
//! add, list, passwd (also after a realm change) and remove, with no secret in any output
//! or database file, and bad input refused.

use std::process::Command;

fn hotline(args: &[&str], cwd: &std::path::Path) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hotline"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run hotline");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn db_init_creates_migrates_and_seeds_once() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, text) = hotline(&["db", "init"], dir.path());
    assert!(ok, "{text}");
    assert!(
        text.contains(&format!(
            "schema version {}",
            hotline::data::migrations::MIGRATIONS.len()
        )) && text.contains("0 customers"),
        "{text}"
    );
    assert!(
        dir.path().join("data/hotline.db").exists(),
        "default folder data/"
    );

    let (ok, text) = hotline(&["db", "init", "--demo", "--dir", "bank"], dir.path());
    assert!(ok, "{text}");
    assert!(
        text.contains("4 demo customers added") && text.contains("4 customers"),
        "{text}"
    );
    let (ok, text) = hotline(&["db", "init", "--demo", "--dir", "bank"], dir.path());
    assert!(
        ok && text.contains("0 demo customers added (4 already present)"),
        "{text}"
    );
}

#[test]
fn db_init_reports_a_corrupt_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    std::fs::write(dir.path().join("data/hotline.db"), vec![7u8; 4096]).unwrap();
    let (ok, text) = hotline(&["db", "init"], dir.path());
    assert!(!ok);
    assert!(
        text.contains("hotline.db") && text.contains("not a database"),
        "{text}"
    );
    assert!(!text.contains("panicked"), "{text}");
}

/// Runs `hotline` with `stdin` as its standard input.
fn hotline_with_stdin(args: &[&str], cwd: &std::path::Path, stdin: &str) -> (bool, String) {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_hotline"))
        .args(args)
        .current_dir(cwd)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run hotline");
    if let Some(mut input) = child.stdin.take() {
        input.write_all(stdin.as_bytes()).expect("write stdin");
    }
    let out = child.wait_with_output().expect("wait for hotline");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn agents_are_added_listed_repassworded_and_removed_without_secrets_in_output_or_file() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let (ok, text) = hotline_with_stdin(
        &[
            "agents",
            "add",
            "alice",
            "--name",
            "Alice Jones",
            "--skill",
            "cards=5",
            "--skill",
            "general=2",
            "--password-stdin",
        ],
        cwd,
        "first-Secret-1\n",
    );
    assert!(ok && text.contains("agent alice added"), "{text}");
    let (ok, text) = hotline_with_stdin(
        &[
            "agents",
            "add",
            "sam",
            "--name",
            "Sam Lead",
            "--role",
            "supervisor",
            "--password-stdin",
        ],
        cwd,
        "second-Secret-2\n",
    );
    assert!(ok, "{text}");

    let (ok, text) = hotline(&["agents", "list"], cwd);
    assert!(ok, "{text}");
    assert!(
        text.contains("| alice | Alice Jones | agent | yes | cards=5 general=2 | hotline |"),
        "{text}"
    );
    assert!(
        text.contains("| sam | Sam Lead | supervisor | yes | - | hotline |"),
        "{text}"
    );

    // A realm change shows, and passwd moves the agent to the new realm.
    std::fs::write(cwd.join("hotline.toml"), "[registrar]\nrealm = \"acme\"\n").unwrap();
    let (_, text) = hotline(&["agents", "list"], cwd);
    assert!(
        text.contains("hotline (not \"acme\": run passwd)"),
        "{text}"
    );
    let (ok, text) = hotline_with_stdin(
        &["agents", "passwd", "alice", "--password-stdin"],
        cwd,
        "third-Secret-3\n",
    );
    assert!(ok && text.contains("password of alice changed"), "{text}");
    let (_, text) = hotline(&["agents", "list"], cwd);
    assert!(text.contains("cards=5 general=2 | acme |"), "{text}");

    for file in std::fs::read_dir(cwd.join("data")).unwrap() {
        let raw = std::fs::read(file.unwrap().path()).unwrap();
        let raw = String::from_utf8_lossy(&raw);
        for secret in ["first-Secret-1", "second-Secret-2", "third-Secret-3"] {
            assert!(!raw.contains(secret), "{secret} stored in plain text");
        }
    }

    let (ok, text) = hotline(&["agents", "remove", "sam"], cwd);
    assert!(ok && text.contains("agent sam removed"), "{text}");
    let (_, text) = hotline(&["agents", "list"], cwd);
    assert!(!text.contains("sam"), "{text}");
}

#[test]
fn agents_add_refuses_bad_input_clearly_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let add = |extra: &[&str], password: &str| {
        let mut args = vec!["agents", "add", "bob", "--name", "Bob", "--password-stdin"];
        args.extend_from_slice(extra);
        hotline_with_stdin(&args, cwd, password)
    };
    let (ok, text) = add(&["--skill", "cards=9"], "long-enough-pw\n");
    assert!(
        !ok && text.contains("proficiency for `cards` must be 1 to 5"),
        "{text}"
    );
    let (ok, text) = add(&["--skill", "cards"], "long-enough-pw\n");
    assert!(!ok && text.contains("NAME=LEVEL"), "{text}");
    let (ok, text) = add(&[], "short\n");
    assert!(!ok && text.contains("at least 8 characters"), "{text}");
    let (ok, text) = hotline_with_stdin(
        &["agents", "add", "b@d", "--name", "X", "--password-stdin"],
        cwd,
        "long-enough-pw\n",
    );
    assert!(!ok && text.contains("login `b@d` is not usable"), "{text}");
    let (ok, text) = add(&[], "long-enough-pw\n");
    assert!(ok, "{text}");
    let (ok, text) = add(&[], "long-enough-pw\n");
    assert!(!ok && text.contains("already exists"), "{text}");
    let (ok, text) = hotline(&["agents", "remove", "nobody"], cwd);
    assert!(!ok && text.contains("no agent `nobody`"), "{text}");
    // Without a terminal and without --password-stdin there is nobody to ask.
    let (ok, text) = hotline_with_stdin(&["agents", "passwd", "bob"], cwd, "");
    assert!(!ok && text.contains("--password-stdin"), "{text}");
    assert!(!text.contains("panicked"), "{text}");
}
