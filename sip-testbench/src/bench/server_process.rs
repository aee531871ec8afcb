//! Starts the `hotline` binary under test with a temporary benchmark configuration and
//! stops it again: loopback only, port 0, a wide RTP range, warnings-only logging, and
//! either the built-in keypad demo (the SIP/RTP benchmark: a dialplan would run Whisper on
//! every caller's looped voice) or a speech dialplan (the listening benchmark).

use anyhow::{Context, bail};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long the server may take to print its ready line.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// A running server; dropping it kills the process and removes its temporary directory.
pub struct ServerProcess {
    child: Child,
    dir: PathBuf,
    sip_udp: SocketAddr,
}

/// What the benchmark configuration needs to know.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    pub binary: PathBuf,
    pub prompts: PathBuf,
    /// Calls the server must accept at once.
    pub max_calls: usize,
    /// Hang up calls whose RTP stops for this long (proves media reaches the server).
    pub media_timeout_secs: u64,
    /// What the calls run.
    pub script: Script,
}

/// The call behaviour of the started server.
#[derive(Debug, Clone)]
pub enum Script {
    /// The built-in keypad demo; speech recognition off.
    Demo,
    /// A dialplan with speech recognition; the call log (`hotline::call` at info, JSON) is
    /// kept for [`ServerProcess::log`].
    Dialplan {
        path: PathBuf,
        model_dir: PathBuf,
        model: String,
        workers: usize,
        max_threads: usize,
        early_recognition_ms: u64,
    },
    /// A dialplan that transfers every caller to queue `cards` (see `bench::bridged`),
    /// with the agents in the data directory `data_dir`; speech recognition off.
    Queue {
        dialplan: PathBuf,
        data_dir: PathBuf,
        ring_timeout_secs: u64,
    },
}

impl ServerProcess {
    /// Writes the configuration, starts the server and waits for its ready line.
    pub fn start(settings: &ServerSettings) -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!(
            "hotline-bench-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        Self::start_in(settings, dir.clone()).inspect_err(|_| {
            let _ = std::fs::remove_dir_all(&dir);
        })
    }

    /// Starts the server with its files in `dir` (removed by the caller on failure).
    fn start_in(settings: &ServerSettings, dir: PathBuf) -> anyhow::Result<Self> {
        let prompts = std::fs::canonicalize(&settings.prompts).with_context(|| {
            format!("prompts directory {} not found", settings.prompts.display())
        })?;
        let script = match &settings.script {
            Script::Demo => Script::Demo,
            Script::Dialplan {
                path,
                model_dir,
                model,
                workers,
                max_threads,
                early_recognition_ms,
            } => Script::Dialplan {
                path: std::fs::canonicalize(path)
                    .with_context(|| format!("dialplan {} not found", path.display()))?,
                model_dir: std::fs::canonicalize(model_dir).with_context(|| {
                    format!("model directory {} not found", model_dir.display())
                })?,
                model: model.clone(),
                workers: *workers,
                max_threads: *max_threads,
                early_recognition_ms: *early_recognition_ms,
            },
            Script::Queue {
                dialplan,
                data_dir,
                ring_timeout_secs,
            } => Script::Queue {
                dialplan: std::fs::canonicalize(dialplan)
                    .with_context(|| format!("dialplan {} not found", dialplan.display()))?,
                data_dir: std::fs::canonicalize(data_dir)
                    .with_context(|| format!("data directory {} not found", data_dir.display()))?,
                ring_timeout_secs: *ring_timeout_secs,
            },
        };
        // Absolute, because the child runs in the temporary directory.
        let binary = std::fs::canonicalize(&settings.binary).with_context(|| {
            format!(
                "{} not found (build it with `cargo build --release -p hotline`)",
                settings.binary.display()
            )
        })?;
        let config = dir.join("hotline.toml");
        std::fs::write(&config, config_text(settings, &prompts, &script))?;
        let stderr = std::fs::File::create(dir.join("stderr.log"))?;
        let mut child = Command::new(&binary)
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let stdout = child.stdout.take().context("no stdout pipe")?;
        let (ready_tx, ready_rx) = mpsc::channel();
        std::thread::spawn(move || {
            // Keeps draining stdout after the ready line so the server never blocks on it.
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.starts_with("hotline ready") {
                    let _ = ready_tx.send(line);
                }
            }
        });
        let mut server = ServerProcess {
            child,
            dir,
            sip_udp: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        let line = match ready_rx.recv_timeout(READY_TIMEOUT) {
            Ok(line) => line,
            Err(_) => bail!(
                "the server printed no ready line within {READY_TIMEOUT:?}; its log:\n{}",
                server.log_tail()
            ),
        };
        server.sip_udp = ready_address(&line, "sip_udp")
            .with_context(|| format!("no sip_udp address in {line:?}"))?;
        Ok(server)
    }

    pub fn sip_udp(&self) -> SocketAddr {
        self.sip_udp
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's whole log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("stderr.log")).unwrap_or_default()
    }

    /// The last lines of the server's stderr.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.dir.join("stderr.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn config_text(settings: &ServerSettings, prompts: &Path, script: &Script) -> String {
    let script = match script {
        Script::Demo => {
            "[dialplan]\ndemo = true\n\n[asr]\nenabled = false\n\n[log]\nlevel = \"warn\"\n"
                .to_string()
        }
        Script::Dialplan {
            path,
            model_dir,
            model,
            workers,
            max_threads,
            early_recognition_ms,
        } => format!(
            "[dialplan]\npath = {path:?}\nwatch_interval_ms = 0\n\n[asr]\nmodel = {model:?}\n\
             model_dir = {model_dir:?}\nfetch = false\nworkers = {workers}\nmax_threads = {max_threads}\nqueue = 64\n\
             early_recognition_ms = {early_recognition_ms}\n\n\
             [log]\nlevel = \"warn,hotline::call=info\"\nformat = \"json\"\n",
            path = path.display().to_string(),
            model_dir = model_dir.display().to_string(),
        ),
        Script::Queue {
            dialplan,
            data_dir,
            ring_timeout_secs,
        } => format!(
            "[dialplan]\ndemo = false\npath = {path:?}\nwatch_interval_ms = 0\n\n\
             [asr]\nenabled = false\n\n[data]\ndir = {data:?}\n\n\
             [acd.queues.cards]\nring_timeout_secs = {ring_timeout_secs}\nwrap_up_secs = 0\n\
             announce = false\n\n[log]\nlevel = \"warn\"\n",
            path = dialplan.display().to_string(),
            data = data_dir.display().to_string(),
        ),
    };
    // Media ports stay below the kernel's ephemeral range, where the bot's sockets live.
    format!(
        r#"[sip]
listen = "127.0.0.1:0"
transports = ["udp"]

[rtp]
address = "127.0.0.1"
port_min = 16000
port_max = 32000

[http]
enabled = false

[calls]
max_duration_secs = 7200
max_concurrent = {max}
media_timeout_secs = {timeout}
shutdown_grace_secs = 1

[prompts]
dir = {prompts:?}

[demo]
hangup_after_secs = 7200

{script}"#,
        max = settings.max_calls + 1000,
        timeout = settings.media_timeout_secs,
        prompts = prompts.display().to_string(),
    )
}

/// The address after `key=` in `hotline ready sip_udp=... sip_tcp=... http=...`.
fn ready_address(line: &str, key: &str) -> Option<SocketAddr> {
    line.split_whitespace()
        .find_map(|word| word.strip_prefix(key)?.strip_prefix('='))
        .and_then(|value| value.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_line_gives_the_udp_address() {
        let line = "hotline ready sip_udp=127.0.0.1:35067 sip_tcp=- http=127.0.0.1:40925";
        assert_eq!(
            ready_address(line, "sip_udp"),
            Some("127.0.0.1:35067".parse().unwrap())
        );
        assert_eq!(
            ready_address(line, "sip_tcp"),
            None,
            "'-' means not listening"
        );
    }

    #[test]
    fn config_parses_as_hotline_configuration() {
        let settings = ServerSettings {
            binary: PathBuf::from("hotline"),
            prompts: PathBuf::from("prompts"),
            max_calls: 3000,
            media_timeout_secs: 5,
            script: Script::Demo,
        };
        let text = config_text(
            &settings,
            Path::new("/srv/hotline prompts"),
            &settings.script,
        );
        let config = hotline::config::Config::parse(&text, Path::new("bench.toml"))
            .expect("the benchmark configuration must be valid");
        assert_eq!(config.calls.max_concurrent, 4000);
        assert_eq!(config.calls.media_timeout_secs, 5);
        assert_eq!(config.prompts.dir, PathBuf::from("/srv/hotline prompts"));
        assert!(!config.http.enabled);
        assert!(
            config.dialplan.demo,
            "no speech recognition in a SIP/RTP benchmark"
        );
    }

    #[test]
    fn queue_config_parses_with_the_cards_queue_and_no_wrap_up() {
        let settings = ServerSettings {
            binary: PathBuf::from("hotline"),
            prompts: PathBuf::from("prompts"),
            max_calls: 1000,
            media_timeout_secs: 5,
            script: Script::Queue {
                dialplan: PathBuf::from("/tmp/bridge.yaml"),
                data_dir: PathBuf::from("/tmp/bridge data"),
                ring_timeout_secs: 10,
            },
        };
        let text = config_text(&settings, Path::new("/srv/prompts"), &settings.script);
        let config = hotline::config::Config::parse(&text, Path::new("bench.toml"))
            .expect("the bridge benchmark configuration must be valid");
        assert!(!config.dialplan.demo);
        let cards = &config.acd.queues["cards"];
        assert_eq!((cards.ring_timeout_secs, cards.wrap_up_secs), (10, 0));
        assert!(!cards.announce);
    }
}
