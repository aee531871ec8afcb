//! Starts the real `hotline` binary on loopback with free ports and a temporary
//! configuration, reads the addresses it bound from its ready line, and keeps its log.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct TestServer {
    child: Option<Child>,
    pub sip_udp: SocketAddr,
    pub sip_tcp: SocketAddr,
    pub http: Option<SocketAddr>,
    log: Arc<Mutex<String>>,
    _dir: tempfile::TempDir,
}

/// The upper bound of every wait for a condition (a log line, a state, an exit): generous,
/// since the wait returns as soon as the condition holds and only a broken server uses it
/// up, while a short window is lost to a machine busy with the rest of the suite.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// How long a server may take from spawn to its ready line. Generous: a loaded machine
/// (every test binary of the workspace at once) makes whisper.cpp's model load slow, and a
/// bound that decides pass or fail must not be lost to that. The model fetch is not in it.
pub const READY_WITHIN: Duration = Duration::from_secs(120);

/// The repository root (prompts/, dialplans/ live there).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The one model directory of every test in the workspace: the server's own default
/// location, `models/` at the repository root (gitignored), so a model fetched by a test
/// run, by `cargo run` or by `hotline models fetch` serves them all.
pub fn model_dir() -> PathBuf {
    repo_root().join("models")
}

/// Points a server that will recognise speech at the shared model directory, with its model
/// in place before the server starts (so the ready bound measures the server, not a
/// download). Fetched once per test run: parallel test binaries wait on the fetch lock of
/// the first (`hotline::asr::fetch_lock`). Servers without recognition (the demo, `[asr] enabled = false`) need nothing.
fn share_the_model(config: &mut toml::Table) {
    let demo = config
        .get("dialplan")
        .and_then(|d| d.get("demo"))
        .and_then(toml::Value::as_bool)
        .unwrap_or(false);
    let asr = config
        .entry("asr")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    let Some(asr) = asr.as_table_mut() else {
        return;
    };
    let enabled = asr
        .get("enabled")
        .and_then(toml::Value::as_bool)
        .unwrap_or(true);
    if demo || !enabled {
        return;
    }
    let dir = asr
        .entry("model_dir")
        .or_insert_with(|| toml::Value::String(model_dir().display().to_string()))
        .as_str()
        .map(PathBuf::from)
        .unwrap_or_else(model_dir);
    let name = asr
        .get("model")
        .and_then(toml::Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| hotline::config::AsrConfig::default().model);
    hotline::asr::ensure_model(&dir, &name, true)
        .unwrap_or_else(|e| panic!("the speech model {name} in {}: {e}", dir.display()));
}

impl TestServer {
    /// Starts the server with `extra` TOML appended to a loopback/free-port base config.
    pub fn start(extra: &str) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let base = format!(
            "[sip]\nlisten = \"127.0.0.1:0\"\n[http]\nlisten = \"127.0.0.1:0\"\n[prompts]\ndir = \"{}\"\n[log]\nlevel = \"info,rsipstack=warn\"\n[dialplan]\ndemo = true\n",
            repo_root().join("prompts").display(),
        );
        let mut config: toml::Table = base.parse().expect("base config");
        let extra: toml::Table = extra.parse().expect("extra config is TOML");
        for (section, values) in extra {
            match (config.get_mut(&section), values) {
                (Some(toml::Value::Table(into)), toml::Value::Table(from)) => into.extend(from),
                (_, values) => {
                    config.insert(section, values);
                }
            }
        }
        let model_wait = Instant::now();
        share_the_model(&mut config);
        let model_wait = model_wait.elapsed();
        let config = toml::to_string(&config).expect("serialise config");
        let path = dir.path().join("hotline.toml");
        std::fs::write(&path, config).expect("write config");
        let mut child = Command::new(env!("CARGO_BIN_EXE_hotline"))
            .arg("serve")
            .arg("--config")
            .arg(&path)
            .current_dir(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start hotline");
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().expect("stderr");
        let log_writer = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if std::env::var_os("HOTLINE_TEST_LOG").is_some() {
                    eprintln!("[server] {line}");
                }
                if let Ok(mut log) = log_writer.lock() {
                    log.push_str(&line);
                    log.push('\n');
                }
            }
        });
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.starts_with("hotline ready") {
                    tx.send(line).ok();
                }
            }
        });
        let spawned = Instant::now();
        let ready = match rx.recv_timeout(READY_WITHIN) {
            Ok(line) => line,
            Err(_) => {
                child.kill().ok();
                let log = log.lock().map(|l| l.clone()).unwrap_or_default();
                panic!("server did not become ready within {READY_WITHIN:?}; its log:\n{log}");
            }
        };
        // Shown with a failing test's output: a slow start points at the machine, not the test.
        eprintln!(
            "test server ready {} ms after start (the model took {} ms before it)",
            spawned.elapsed().as_millis(),
            model_wait.as_millis()
        );
        let field = |name: &str| -> Option<SocketAddr> {
            ready
                .split_whitespace()
                .find_map(|kv| kv.strip_prefix(name))
                .and_then(|v| v.parse().ok())
        };
        TestServer {
            child: Some(child),
            sip_udp: field("sip_udp=").expect("udp address"),
            sip_tcp: field("sip_tcp=").expect("tcp address"),
            http: field("http="),
            log,
            _dir: dir,
        }
    }

    pub fn log(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Waits until the log contains `needle`, up to `timeout` (normally [`PATIENCE`]).
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if self.log().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// One HTTP request to the server's API: (status, body). `auth` is HTTP Basic.
    #[allow(dead_code)]
    pub fn http(
        &self,
        method: &str,
        path: &str,
        auth: Option<(&str, &str)>,
        body: &str,
    ) -> (u16, String) {
        use base64::Engine as _;
        use std::io::{Read, Write};
        let addr = self.http.expect("http enabled");
        let mut stream = std::net::TcpStream::connect(addr).expect("connect http");
        let authorization = auth
            .map(|(user, password)| {
                let encoded =
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
                format!("Authorization: Basic {encoded}\r\n")
            })
            .unwrap_or_default();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{authorization}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .expect("send");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read");
        let status = response
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
        (status, body.to_string())
    }

    /// GET /health as JSON.
    pub fn health(&self) -> serde_json::Value {
        let addr = self.http.expect("http enabled");
        let mut stream = std::net::TcpStream::connect(addr).expect("connect http");
        use std::io::{Read, Write};
        write!(
            stream,
            "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .expect("send");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read");
        let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
        serde_json::from_str(body).unwrap_or_else(|e| panic!("bad health body {body:?}: {e}"))
    }

    /// Sends SIGTERM and waits (bounded) for a clean exit; returns the exit status.
    pub fn terminate(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let child = self.child.as_mut()?;
        unsafe_kill(child.id(), "TERM");
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

/// Sends a signal to the server without waiting for it to exit.
pub fn signal(server: &TestServer, name: &str) {
    if let Some(child) = server.child.as_ref() {
        unsafe_kill(child.id(), name);
    }
}

fn unsafe_kill(pid: u32, signal: &str) {
    Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .ok();
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().ok();
            child.wait().ok();
        }
    }
}

/// A free UDP port on 127.0.0.1 (released before return: a small race, fine for tests).
pub fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A prompt as the caller hears it: through the codec calls negotiate first (PCMU).
pub fn as_heard(id: &str) -> Vec<i16> {
    sip_testbench::caller::prompt_as_heard(&repo_root().join("prompts"), "en-US", id)
        .unwrap_or_else(|e| panic!("{e:#}"))
}

/// The middle half of a prompt as heard: what survives trimming and crossfades untouched.
pub fn middle(id: &str) -> Vec<i16> {
    let samples = as_heard(id);
    samples[samples.len() / 4..samples.len() * 3 / 4].to_vec()
}

/// Adds agent `login` with `password` and `skills` (`cards=4`) to the data folder `data`,
/// through `hotline agents add` as an operator would.
#[allow(dead_code)]
pub fn add_agent(data: &std::path::Path, login: &str, password: &str, skills: &[&str]) {
    add_agent_as(data, login, password, skills, "agent");
}

/// [`add_agent`] with a role (`agent` or `supervisor`).
#[allow(dead_code)]
pub fn add_agent_as(
    data: &std::path::Path,
    login: &str,
    password: &str,
    skills: &[&str],
    role: &str,
) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut command = Command::new(env!("CARGO_BIN_EXE_hotline"));
    command.args(["agents", "add", login, "--name", login, "--role", role]);
    for skill in skills {
        command.args(["--skill", skill]);
    }
    let mut child = command
        .args(["--password-stdin", "--dir"])
        .arg(data)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run hotline agents add");
    if let Some(mut stdin) = child.stdin.take() {
        writeln!(stdin, "{password}").expect("write the password");
    }
    let out = child.wait_with_output().expect("wait for hotline");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Sound no two 20 ms frames of which are alike, every sample a µ-law value (so G.711
/// carries it unchanged): pseudo-random and quiet.
#[allow(dead_code)]
pub fn noise(seed: u32, seconds: usize) -> std::sync::Arc<[i16]> {
    use hotline::media::g711::G711Law;
    let mut state = seed;
    (0..8000 * seconds)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            G711Law::Ulaw.decode(G711Law::Ulaw.encode(((state >> 16) as i16) / 8))
        })
        .collect()
}

/// How many of `frames` 20 ms slices of `heard` (from sample `from`) appear in `said`.
#[allow(dead_code)]
pub fn frames_found(said: &[i16], heard: &[i16], from: usize, frames: usize) -> usize {
    (0..frames)
        .filter(|i| {
            let start = from + i * 160;
            heard
                .get(start..start + 160)
                .is_some_and(|slice| sip_testbench::caller::find_exact(said, slice).is_some())
        })
        .count()
}

/// Registers `phone` with `server` (SHA-256 digest, 600 s) and checks the 200.
#[allow(dead_code)]
pub async fn register(
    phone: &sip_testbench::agent::AgentPhone,
    server: &TestServer,
    password: &str,
) {
    let (_, ok) = phone
        .register(
            server.sip_udp,
            password,
            "SHA-256",
            sip_testbench::agent::ContactChoice::Own,
            Some(600),
        )
        .await
        .expect("register");
    assert_eq!(ok.status_code.code(), 200, "{ok}");
}

/// The bank dialplan as shipped, with alice (cards=4) and sue (supervisor) sharing
/// `password` in its database, and `extra` configuration after it.
pub fn desk_server(dir: &std::path::Path, password: &str, extra: &str) -> TestServer {
    let data = dir.join("data");
    add_agent(&data, "alice", password, &["cards=4"]);
    add_agent_as(&data, "sue", password, &[], "supervisor");
    let path = repo_root().join("dialplans/acme-bank.yaml");
    TestServer::start(&format!(
        "[dialplan]\ndemo = false\npath = \"{}\"\n[asr]\nenabled = false\n[data]\ndir = \"{}\"\n{extra}",
        path.display(),
        data.display()
    ))
}

/// A call from the caller bot over UDP to `sip` that says `speak` and keys `keys` (a space is a
/// 2.5 s pause, keys 300 ms apart, from 1.5 s on), hanging up after `seconds`, recorded.
pub async fn keyed_call(
    sip: SocketAddr,
    keys: &str,
    speak: Arc<[i16]>,
    seconds: u64,
) -> sip_testbench::caller::CallReport {
    use sip_testbench::caller::{CallPlan, place_call};
    use sip_testbench::uac::{SipTransport, Uac};
    let loopback = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    let uac = Uac::start(loopback).await.expect("caller bot");
    let ports =
        hotline::media::port_allocator::PortAllocator::new(loopback, 30000, 39999).expect("ports");
    let mut at = 1500;
    let mut plan_keys = Vec::new();
    for key in keys.chars() {
        if key == ' ' {
            at += 2500;
            continue;
        }
        plan_keys.push((Duration::from_millis(at), key));
        at += 300;
    }
    let plan = CallPlan {
        server: sip,
        transport: SipTransport::Udp,
        speak: Some(speak),
        keys: plan_keys,
        hangup_after: Duration::from_secs(seconds),
        record: true,
    };
    place_call(&uac, &ports, &plan).await.expect("call")
}

/// `promtool check metrics` on `text`: its verdict and what it said.
#[allow(dead_code)]
pub fn promtool(text: &str) -> (bool, String) {
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool must be installed (Debian package prometheus)");
    use std::io::Write as _;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write to promtool");
    let out = child.wait_with_output().expect("promtool");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), said)
}

/// The value of one series (`name{labels}` exactly as written) in Prometheus text.
#[allow(dead_code)]
pub fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}
