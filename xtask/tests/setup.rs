//! `cargo xtask setup` as a newcomer's machine meets it, with stand-ins for dpkg-query,
//! apt-get and sudo first on PATH: they answer as a machine missing some packages would and
//! record what they were asked, so nothing is installed for real.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A directory of its own for one test, removed at the end.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("xtask-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn script(dir: &Path, name: &str, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Stand-ins for a Debian machine where every package but `absent` is installed; apt-get
/// appends its arguments to `apt.log`.
fn debian_without(dir: &Path, absent: &[&str]) {
    let mut answer = String::new();
    for name in [
        "cmake",
        "make",
        "g++",
        "clang",
        "libclang-dev",
        "pkg-config",
        "python3-pip",
        "sip-tester",
        "flite",
        "sox",
        "prometheus",
        "chromium",
        "fonts-dejavu-core",
        "nodejs",
        "npm",
    ] {
        if !absent.contains(&name) {
            answer.push_str(&format!("printf '%s\\tii \\n' '{name}'\n"));
        }
    }
    script(dir, "dpkg-query", &answer);
    script(
        dir,
        "apt-get",
        &format!("echo \"$@\" >> '{}'", dir.join("apt.log").display()),
    );
    script(dir, "sudo", "exec \"$@\"");
}

fn setup(path: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("setup")
        .env("PATH", path)
        .env_remove("HOTLINE_SKIP_SETUP")
        .output()
        .unwrap()
}

fn with_system_path(dir: &Path) -> String {
    format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

#[test]
fn missing_packages_are_installed_with_apt_get_after_saying_why() {
    let scratch = Scratch::new("missing");
    debian_without(&scratch.0, &["clang", "sox"]);
    let out = setup(&with_system_path(&scratch.0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let log = std::fs::read_to_string(scratch.0.join("apt.log")).unwrap();
    assert_eq!(
        log, "update\ninstall -y --no-install-recommends clang sox\n",
        "{stderr}"
    );
    assert!(
        stderr.contains("clang") && stderr.contains("bindgen"),
        "{stderr}"
    );
    assert!(
        stderr.contains("sox") && stderr.contains("render"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("cmake"),
        "only the missing ones are named: {stderr}"
    );
}

#[test]
fn a_machine_with_everything_installed_runs_no_apt_get() {
    let scratch = Scratch::new("complete");
    debian_without(&scratch.0, &[]);
    let out = setup(&with_system_path(&scratch.0));
    assert!(out.status.success(), "{out:?}");
    assert!(!scratch.0.join("apt.log").exists());
}

#[test]
fn without_apt_get_it_names_the_packages_and_stops() {
    let scratch = Scratch::new("no-apt");
    // Only the stand-in dpkg-query, no apt-get: not a machine the set-up can install on.
    debian_without(&scratch.0, &["cmake"]);
    std::fs::remove_file(scratch.0.join("apt-get")).unwrap();
    let out = setup(&scratch.0.display().to_string());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("no apt-get"), "{stderr}");
    for name in ["cmake", "libclang-dev", "sip-tester", "flite", "sox"] {
        assert!(stderr.contains(name), "{name}: {stderr}");
    }
    assert!(stderr.contains("HOTLINE_SKIP_SETUP=1"), "{stderr}");
}
