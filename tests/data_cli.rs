//! `hotline db init`: creates and migrates the database in the folder given, seeds the
//! demo customers once with `--demo`, and reports a corrupt file clearly.

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
        text.contains("schema version 1") && text.contains("0 customers"),
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
