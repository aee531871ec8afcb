//! Free text spoken by text-to-speech in real calls: the caller bot calls a dialplan that
//! says a recorded welcome, a sentence no recording has, and a recorded goodbye. With a
//! `[tts]` command (flite, behind a wrapper that counts its runs) the caller hears the
//! synthesised sentence between the two recordings, sample for sample as cached after
//! the G.711 round trip, and a second call is served from the cache without running the
//! command again. A command that cannot run leaves the text out and the call goes on.
//! Needs flite (`apt-get install flite`, as CI does).

mod support;

use hotline::media::g711::G711Law;
use hotline::media::port_allocator::PortAllocator;
use sip_testbench::caller::{CallPlan, CallReport, EndedBy, find_exact, place_call};
use sip_testbench::uac::{SipTransport, Uac};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use support::{TestServer, middle, repo_root};

fn server(command: &[String], cache: &Path) -> TestServer {
    let dialplan = repo_root().join("tests/fixtures/tts.yaml");
    let command: Vec<String> = command.iter().map(|a| format!("{a:?}")).collect();
    TestServer::start(&format!(
        "[dialplan]\ndemo = false\npath = \"{}\"\n[asr]\nenabled = false\n\
         [tts]\ncommand = [{}]\ncache_dir = \"{}\"\ntimeout_ms = 20000\n",
        dialplan.display(),
        command.join(", "),
        cache.display(),
    ))
}

/// A wrapper around flite that appends a line to `runs` each time it is started.
fn counting_flite(dir: &Path) -> PathBuf {
    let flite = std::process::Command::new("sh")
        .args(["-c", "command -v flite"])
        .output()
        .expect("sh");
    assert!(
        flite.status.success(),
        "flite is not installed (apt-get install flite): this test needs it"
    );
    let script = dir.join("counting-flite.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho run >> \"{}\"\nexec flite \"$@\"\n",
            dir.join("runs").display()
        ),
    )
    .expect("write wrapper");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    script
}

fn runs(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("runs"))
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

async fn call(server: &TestServer) -> CallReport {
    let ip = std::net::IpAddr::from([127, 0, 0, 1]);
    let uac = Uac::start(ip).await.expect("caller bot");
    let ports = PortAllocator::new(ip, 30000, 39999).expect("ports");
    let plan = CallPlan {
        server: server.sip_udp,
        transport: SipTransport::Udp,
        speak: None,
        keys: Vec::new(),
        hangup_after: Duration::from_secs(40),
        record: true,
    };
    place_call(&uac, &ports, &plan).await.expect("call")
}

/// The one synthesised prompt in the cache, as the caller hears it (PCMU round trip).
fn cached_as_heard(cache: &Path) -> Vec<i16> {
    let wavs: Vec<PathBuf> = std::fs::read_dir(cache)
        .expect("cache folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "wav"))
        .collect();
    assert_eq!(wavs.len(), 1, "one cached text: {wavs:?}");
    let samples = hotline::prompts::catalog::read_prompt_wav(&wavs[0]).expect("8 kHz mono WAV");
    samples
        .iter()
        .map(|s| G711Law::Ulaw.decode(G711Law::Ulaw.encode(*s)))
        .collect()
}

/// Welcome, then the synthesised text, then the goodbye; the dialplan hangs up.
fn assert_heard_in_order(server: &TestServer, report: &CallReport, spoken: &[i16]) {
    assert_eq!(report.status, 200);
    assert_eq!(report.ended_by, EndedBy::Server, "{}", server.log());
    let at = |samples: &[i16], what: &str| {
        find_exact(&report.heard, samples)
            .unwrap_or_else(|| panic!("{what} not heard:\n{}", server.log()))
    };
    let welcome = at(&middle("welcome"), "the welcome");
    let text = at(spoken, "the synthesised text");
    let goodbye = at(&middle("goodbye"), "the goodbye");
    assert!(
        welcome < text && text < goodbye,
        "out of order: {welcome} {text} {goodbye}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn free_text_is_synthesised_once_and_heard_in_place() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cache = dir.path().join("tts-cache");
    let wrapper = counting_flite(dir.path());
    let command = [
        wrapper.display().to_string(),
        // slt speaks at 16 kHz: the call plays it converted to 8 kHz.
        "-voice".into(),
        "slt".into(),
        "-t".into(),
        "{text}".into(),
        "-o".into(),
        "{out}".into(),
    ];
    let server = server(&command, &cache);

    let first = call(&server).await;
    let spoken = cached_as_heard(&cache);
    assert!(
        spoken.len() > 8000,
        "a sentence lasts more than a second: {} samples",
        spoken.len()
    );
    assert_heard_in_order(&server, &first, &spoken);
    assert_eq!(runs(dir.path()), 1, "flite ran once for the first call");

    let second = call(&server).await;
    assert_heard_in_order(&server, &second, &spoken);
    assert_eq!(
        runs(dir.path()),
        1,
        "the second call is served from the cache"
    );
    assert!(
        server
            .log()
            .contains("text-to-speech synthesised and cached")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_that_cannot_run_skips_the_text_and_the_call_goes_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    let command = [
        dir.path().join("no-such-tts").display().to_string(),
        "{text}".into(),
        "{out}".into(),
    ];
    let server = server(&command, &dir.path().join("cache"));
    let report = call(&server).await;
    assert_eq!(report.ended_by, EndedBy::Server, "{}", server.log());
    let welcome = find_exact(&report.heard, &middle("welcome")).expect("welcome");
    let goodbye = find_exact(&report.heard, &middle("goodbye")).expect("goodbye");
    assert!(welcome < goodbye);
    let log = server.log();
    assert!(
        log.contains("text-to-speech failed; the text is skipped") && log.contains("no-such-tts"),
        "the log should say why the text was skipped:\n{log}"
    );
}

#[test]
fn check_warns_about_free_text_but_passes() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hotline"))
        .arg("check")
        .arg(repo_root().join("tests/fixtures/tts.yaml"))
        .output()
        .expect("run hotline check");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.contains("warning[free-text]") && stdout.contains("1 warning"),
        "{stdout}"
    );
}
