//! Server configuration (`hotline.toml`): every key optional with a sensible default;
//! unknown keys and bad values are refused with file:line:column.
//!
//! Every key is documented in docs/configuration.md; keep the two in step.

mod error;

pub use error::ConfigError;

use serde::Deserialize;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The whole configuration file.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub sip: SipConfig,
    pub rtp: RtpConfig,
    pub http: HttpConfig,
    pub calls: CallsConfig,
    pub prompts: PromptsConfig,
    pub demo: DemoConfig,
    pub dialplan: DialplanConfig,
    pub asr: AsrConfig,
    pub log: LogConfig,
    /// Data sources, verification and the embedded database (`[data]`).
    pub data: crate::data::DataConfig,
    /// Text-to-speech for free text (`[tts]`), off unless a command is given.
    pub tts: crate::tts::TtsConfig,
    /// The registrar for agents' phones (`[registrar]`).
    pub registrar: crate::sip::registrar::RegistrarConfig,
    /// Agent queues: routing, waits, overflow, callbacks (`[acd]`, `[acd.queues.NAME]`).
    pub acd: crate::acd::AcdConfig,
    /// Call detail records (`[cdr]`).
    pub cdr: crate::cdr::CdrConfig,
    /// The agent desktop: dispositions, away reasons, sessions (`[desk]`).
    pub desk: crate::web::DeskConfig,
}

/// Which SIP transports to listen on.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Udp,
    Tcp,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SipConfig {
    /// Address and port the SIP transports bind to.
    pub listen: SocketAddr,
    pub transports: Vec<Transport>,
    /// Address written in Contact headers when it differs from `listen` (NAT, 0.0.0.0).
    pub public_address: Option<IpAddr>,
    pub user_agent: String,
    /// RFC 3261 timer T1 (round-trip estimate) in milliseconds; retransmission and
    /// transaction timeouts scale with it (64×T1 = 32 s by default).
    pub timer_t1_ms: u64,
    /// Stream (TCP) connections kept open at once; more are closed on accept.
    pub max_connections: usize,
    /// Stream connections kept open at once from one source address.
    pub max_connections_per_source: usize,
    /// A stream connection on which nothing arrives (not even a CRLF keep-alive) for
    /// this many seconds is closed.
    pub connection_idle_secs: u64,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RtpConfig {
    /// Local address for media sockets, also written in SDP unless `public_address` is set.
    pub address: IpAddr,
    pub public_address: Option<IpAddr>,
    /// First port of the media range (inclusive; RTP uses even ports).
    pub port_min: u16,
    /// Last port of the media range (inclusive).
    pub port_max: u16,
    /// Symmetric RTP: send to the source of the first packet received (callers behind NAT).
    pub latching: bool,
    /// Depth of the reordering buffer, in 20 ms packets.
    pub jitter_buffer_packets: usize,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Address of the HTTP API (health check); `enabled = false` turns it off.
    pub listen: SocketAddr,
    pub enabled: bool,
    /// How agents' phones and desktops reach the API (`http://hotline.example:8080`),
    /// written into the `Call-Info` of agent legs; absent: `http://` and the bound address.
    pub public_url: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct CallsConfig {
    /// Hard limit on a call's duration, in seconds; the server sends BYE when it is reached.
    pub max_duration_secs: u64,
    /// New calls beyond this many active ones get 503.
    pub max_concurrent: usize,
    /// On SIGINT/SIGTERM: how long active calls get before the server stops.
    pub shutdown_grace_secs: u64,
    /// How long a call may stay without RTP from the caller before it is hung up.
    pub media_timeout_secs: u64,
    /// How long to ring (180) before answering, in milliseconds.
    pub answer_delay_ms: u64,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct PromptsConfig {
    pub dir: PathBuf,
    pub language: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct DemoConfig {
    /// The built-in demo hangs up after this many seconds.
    pub hangup_after_secs: u64,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct DialplanConfig {
    /// The dialplan every call runs.
    pub path: PathBuf,
    /// Run the built-in keypad demo instead of a dialplan.
    pub demo: bool,
    /// Check the file this often and reload it when it changed (0 turns watching off;
    /// SIGHUP reloads at any time).
    pub watch_interval_ms: u64,
}

impl Default for DialplanConfig {
    fn default() -> Self {
        Self {
            path: PathBuf::from("dialplans/acme-bank.yaml"),
            demo: false,
            watch_interval_ms: 1000,
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AsrConfig {
    /// Recognise speech in gathers (off: keypad only).
    pub enabled: bool,
    /// Model name (`hotline models list`): `tiny.en` or `tiny.en-q8_0`.
    pub model: String,
    /// Where model files live.
    pub model_dir: PathBuf,
    /// Fetch the model on first use when it is missing.
    pub fetch: bool,
    /// Recognition workers (each decodes one utterance at a time); 0 means one per core.
    pub workers: usize,
    /// Utterances that may wait for a worker before callers are told to use the keypad.
    pub queue: usize,
    /// Threads one utterance may use when nothing else is being recognised (0: every core).
    /// 1 unless the machine runs nothing else: whisper.cpp's threads spin at barriers, and
    /// a core taken by another process stalls them all.
    pub max_threads: usize,
    /// Smallest Whisper encoder context in 20 ms frames (0: sized to each utterance).
    pub audio_ctx_floor: usize,
    /// Silence after speech at which recognition starts early, in milliseconds; a transcript
    /// the dialplan accepts ends the turn before the gather's end-of-speech silence.
    pub early_recognition_ms: u64,
}

impl Default for AsrConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            model: "tiny.en-q8_0".to_string(),
            model_dir: PathBuf::from("models"),
            fetch: true,
            workers: 0,
            queue: 8,
            max_threads: 1,
            audio_ctx_floor: 0,
            early_recognition_ms: 250,
        }
    }
}

/// Log output.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// A tracing filter such as `info` or `hotline=debug,rsipstack=warn`.
    pub level: String,
    pub format: LogFormat,
}

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

impl Default for SipConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::new(LOOPBACK, 5060),
            transports: vec![Transport::Udp, Transport::Tcp],
            public_address: None,
            user_agent: format!("Hotline/{}", env!("CARGO_PKG_VERSION")),
            timer_t1_ms: 500,
            max_connections: 4096,
            max_connections_per_source: 64,
            connection_idle_secs: 300,
        }
    }
}

impl Default for RtpConfig {
    fn default() -> Self {
        Self {
            address: LOOPBACK,
            public_address: None,
            port_min: 10000,
            port_max: 20000,
            latching: true,
            jitter_buffer_packets: 3,
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::new(LOOPBACK, 8080),
            enabled: true,
            public_url: None,
        }
    }
}

impl Default for CallsConfig {
    fn default() -> Self {
        Self {
            max_duration_secs: 3600,
            max_concurrent: 10_000,
            shutdown_grace_secs: 5,
            media_timeout_secs: 60,
            answer_delay_ms: 0,
        }
    }
}

impl Default for PromptsConfig {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("prompts"),
            language: "en-US".to_string(),
        }
    }
}

impl Default for DemoConfig {
    fn default() -> Self {
        Self {
            hangup_after_secs: 60,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info,rsipstack=warn".to_string(),
            format: LogFormat::Text,
        }
    }
}

impl Config {
    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses and validates configuration text; `path` only names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let config: Config =
            toml::from_str(text).map_err(|err| ConfigError::syntax(path, text, &err))?;
        config.validate(path, text)?;
        Ok(config)
    }

    fn validate(&self, path: &Path, text: &str) -> Result<(), ConfigError> {
        let bad = |key: &str, message: String| ConfigError::value(path, text, key, message);
        if self.rtp.port_min > self.rtp.port_max {
            return Err(bad(
                "port_min",
                format!(
                    "rtp.port_min ({}) is above rtp.port_max ({})",
                    self.rtp.port_min, self.rtp.port_max
                ),
            ));
        }
        if self.rtp.port_max - self.rtp.port_min < 1 {
            return Err(bad(
                "port_max",
                "the RTP range needs at least two ports".into(),
            ));
        }
        if self.sip.transports.is_empty() {
            return Err(bad(
                "transports",
                "at least one SIP transport is needed".into(),
            ));
        }
        if !(10..=10_000).contains(&self.sip.timer_t1_ms) {
            return Err(bad(
                "timer_t1_ms",
                "must be between 10 and 10000 milliseconds".into(),
            ));
        }
        if self.calls.max_duration_secs == 0 {
            return Err(bad("max_duration_secs", "must be at least 1 second".into()));
        }
        if self.rtp.jitter_buffer_packets > 50 {
            return Err(bad(
                "jitter_buffer_packets",
                "at most 50 packets (one second) of reordering buffer".into(),
            ));
        }
        if let Some(url) = &self.http.public_url
            && (!(url.starts_with("http://") || url.starts_with("https://"))
                || url.ends_with('/')
                || url
                    .chars()
                    .any(|c| c.is_whitespace() || c == '>' || c == '<'))
        {
            return Err(bad(
                "public_url",
                "[http] public_url is http:// or https://, a host and maybe a port, no trailing /"
                    .into(),
            ));
        }
        if let Some((key, message)) = self.tts.problem() {
            return Err(bad(key, format!("[tts] {message}")));
        }
        if let Some((key, message)) = self.registrar.problem() {
            return Err(bad(key, format!("[registrar] {key} {message}")));
        }
        if let Some(problem) = self.acd.problem() {
            return Err(ConfigError::value_in_table(
                path,
                text,
                &problem.table,
                problem.key,
                format!("[{}] {} {}", problem.table, problem.key, problem.message),
            ));
        }
        Ok(())
    }

    pub fn max_call_duration(&self) -> Duration {
        Duration::from_secs(self.calls.max_duration_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("hotline.toml"))
    }

    #[test]
    fn empty_file_gives_the_defaults() {
        let config = parse("").expect("empty config is valid");
        assert_eq!(config, Config::default());
        assert_eq!(config.sip.listen.to_string(), "127.0.0.1:5060");
        assert_eq!(config.http.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.sip.transports, vec![Transport::Udp, Transport::Tcp]);
    }

    #[test]
    fn unknown_key_is_refused_with_its_position() {
        let err = parse("[sip]\nlisten = \"127.0.0.1:5070\"\nlistn = 3\n").unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("hotline.toml:3:1:"), "{text}");
        assert!(text.contains("listn"), "{text}");
    }

    #[test]
    fn wrong_type_points_at_the_value() {
        let err = parse("[rtp]\nport_min = \"ten\"\n").unwrap_err();
        assert!(err.to_string().starts_with("hotline.toml:2:12:"), "{err}");
    }

    #[test]
    fn inverted_port_range_is_refused_at_the_key() {
        let err = parse("[rtp]\nport_min = 3000\nport_max = 2000\n").unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("hotline.toml:2:1:"), "{text}");
        assert!(text.contains("above"), "{text}");
    }

    #[test]
    fn a_tts_command_without_its_placeholders_is_refused_at_the_key() {
        assert!(!parse("").unwrap().tts.enabled(), "off by default");
        let err = parse("[tts]\ncommand = [\"flite\", \"-t\", \"{text}\"]\n").unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("hotline.toml:2:1:"), "{text}");
        assert!(text.contains("{out}"), "{text}");
        let ok = parse("[tts]\ncommand = [\"flite\", \"-t\", \"{text}\", \"-o\", \"{out}\"]\n");
        assert!(ok.unwrap().tts.enabled());
    }

    #[test]
    fn registrar_expiry_bounds_that_cannot_hold_are_refused_at_the_key() {
        let err =
            parse("[registrar]\nmin_expires_secs = 600\nmax_expires_secs = 60\n").unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("hotline.toml:3:1:"), "{text}");
        assert!(text.contains("max_expires_secs"), "{text}");
        let err = parse("[registrar]\nrealm = \"a\\\"b\"\n").unwrap_err();
        assert!(err.to_string().starts_with("hotline.toml:2:1:"), "{err}");
        let ok = parse("[registrar]\nrealm = \"acme\"\nmax_contacts = 2\n").unwrap();
        assert_eq!(ok.registrar.realm, "acme");
        assert_eq!(ok.registrar.max_contacts, 2);
    }

    #[test]
    fn acd_problems_point_into_their_queue_table() {
        let text = "[acd.queues.general]\nring_timeout_secs = 20\n\n[acd.queues.cards]\nwrap_up_secs = 5\nring_timeout_secs = 0\n";
        let err = parse(text).unwrap_err().to_string();
        assert!(err.starts_with("hotline.toml:6:1:"), "{err}");
        assert!(
            err.contains("acd.queues.cards") && err.contains("ring_timeout_secs"),
            "{err}"
        );
        let text = "[acd.queues.general]\n[acd.queues.cards]\noverflow = { after_secs = 60, to = \"nowhere\" }\n";
        let err = parse(text).unwrap_err().to_string();
        assert!(err.starts_with("hotline.toml:3:1:"), "{err}");
        assert!(err.contains("nowhere"), "{err}");
        let ok = parse("[acd.queues.general]\nstrategy = \"round_robin\"\n").unwrap();
        assert_eq!(ok.acd.queue_names().collect::<Vec<_>>(), ["general"]);
        assert_eq!(
            Config::default().acd.queue_names().count(),
            3,
            "the bank's queues"
        );
    }

    #[test]
    fn bad_address_is_refused() {
        let err = parse("[http]\nlisten = \"localhost\"\n").unwrap_err();
        assert!(err.to_string().starts_with("hotline.toml:2:10:"), "{err}");
    }

    #[test]
    fn values_are_read() {
        let config = parse(
            "[sip]\ntransports = [\"udp\"]\ntimer_t1_ms = 100\n[calls]\nmax_duration_secs = 30\n",
        )
        .unwrap();
        assert_eq!(config.sip.transports, vec![Transport::Udp]);
        assert_eq!(config.sip.timer_t1_ms, 100);
        assert_eq!(config.max_call_duration(), Duration::from_secs(30));
    }
}
