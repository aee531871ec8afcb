//! The `[data]` section of hotline.toml: where the embedded database lives, whether the
//! bank demo is seeded, verification lockout rules, and the named data sources that
//! dialplan `lookup` steps call (SQL queries, PIN verification, HTTP webhooks).
//! Every key is documented in docs/configuration.md (`## [data]`) and docs/data.md.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The `[data]` section.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct DataConfig {
    /// Folder of the embedded database, created on first start. Relative paths are relative
    /// to the working directory.
    pub dir: PathBuf,
    /// File name of the SQLite database inside `dir`.
    pub database: String,
    /// Seed the demo bank customers when the database has no customers yet.
    pub demo_seed: bool,
    /// Provide the acme-bank sources (`accounts_by_phone`, `accounts_by_number`,
    /// `verify_pin`, `balance`) unless `sources` declares the same names.
    pub builtin_sources: bool,
    /// How long a query waits for a locked database, in milliseconds.
    pub busy_timeout_ms: u64,
    pub verify: VerifyConfig,
    /// Named sources, by the name dialplans use in `lookup: { source: NAME }`.
    pub sources: BTreeMap<String, SourceConfig>,
}

impl Default for DataConfig {
    fn default() -> Self {
        DataConfig {
            dir: PathBuf::from("data"),
            database: "hotline.db".into(),
            demo_seed: true,
            builtin_sources: true,
            busy_timeout_ms: 2000,
            verify: VerifyConfig::default(),
            sources: BTreeMap::new(),
        }
    }
}

impl DataConfig {
    /// The SQLite file: `dir/database`.
    pub fn database_path(&self) -> PathBuf {
        self.dir.join(&self.database)
    }
}

/// Caller verification: lockout after repeated wrong PINs.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct VerifyConfig {
    /// Wrong PINs for one account before it is locked.
    pub max_failures_per_account: u32,
    /// Wrong PINs (or unknown accounts) from one caller id before it is locked.
    pub max_failures_per_caller: u32,
    /// How long a lockout lasts, in minutes.
    pub lockout_minutes: u64,
}

impl Default for VerifyConfig {
    fn default() -> Self {
        VerifyConfig {
            max_failures_per_account: 3,
            max_failures_per_caller: 5,
            lockout_minutes: 30,
        }
    }
}

/// One named source; exactly one key says its kind.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum SourceConfig {
    /// A read-only SQL query on the embedded database.
    Sql(SqlSource),
    /// Account number + PIN check against the argon2 hashes, with lockout.
    VerifyPin(VerifyPinSource),
    /// An HTTP endpoint that receives the arguments as JSON.
    Webhook(WebhookSource),
}

/// `sql = { query = "SELECT ... WHERE number = :account" }`: named parameters (`:name`) are
/// bound from the lookup arguments of the same name, never pasted into the text. The
/// first row is the result (columns become fields); no row is `not_found`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SqlSource {
    pub query: String,
    /// Arguments reduced to their digits before binding (caller ids like `sip:+1555...`).
    #[serde(default)]
    pub digits_only: Vec<String>,
}

/// `verify_pin = {}`: Found with `status = verified` (and `method`), `status = locked`
/// when the account or caller id is locked out, `not_found` for a wrong PIN.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct VerifyPinSource {
    /// Name of the argument holding the account number.
    pub account_arg: String,
    /// Name of the argument holding the PIN.
    pub pin_arg: String,
}

impl Default for VerifyPinSource {
    fn default() -> Self {
        VerifyPinSource {
            account_arg: "account".into(),
            pin_arg: "pin".into(),
        }
    }
}

/// What a webhook lookup answers when the endpoint (and its backup) cannot be reached, or
/// while its circuit breaker is open.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Fallback {
    /// The lookup's `error` step ("our systems are busy", or a transfer).
    #[default]
    Error,
    /// The lookup's `not_found` step.
    NotFound,
    /// The `found` step with `fallback_fields`.
    Found,
}

/// `webhook = { url = "https://crm.example.com/lookup", ... }`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WebhookSource {
    /// `http://` or `https://` URL that receives a POST.
    pub url: String,
    /// Tried when every attempt at `url` failed.
    #[serde(default)]
    pub backup_url: Option<String>,
    /// PEM file of the CA (or self-signed certificate) that https servers of this source
    /// may chain to, besides the public roots. Relative to the working directory.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Per-attempt timeout, milliseconds. Default 2000.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Retries after the first attempt, per URL (0-3). Default 2.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// Wait before the first retry, doubled for each further one. Default 100 ms.
    #[serde(default = "default_backoff_ms")]
    pub backoff_ms: u64,
    /// Failed lookups in a row that open the circuit breaker. Default 5.
    #[serde(default = "default_breaker_failures")]
    pub breaker_failures: u32,
    /// How long the breaker stays open before one trial request, seconds. Default 30.
    #[serde(default = "default_breaker_cooldown_secs")]
    pub breaker_cooldown_secs: u64,
    /// Largest answer accepted, bytes. Default 65536.
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: usize,
    /// The outcome when the source is unavailable. Default `error`.
    #[serde(default)]
    pub fallback: Fallback,
    /// Fields of a `found` fallback.
    #[serde(default)]
    pub fallback_fields: BTreeMap<String, String>,
    /// Result field name → JSON pointer into the answer (`/account/balance`). Without a
    /// map, the answer's top-level scalar members become fields.
    #[serde(default)]
    pub map: BTreeMap<String, String>,
    /// Send sensitive arguments (PINs) unmasked. Off by default: the endpoint gets `****`.
    #[serde(default)]
    pub send_sensitive: bool,
}

fn default_timeout_ms() -> u64 {
    2000
}
fn default_retries() -> u32 {
    2
}
fn default_backoff_ms() -> u64 {
    100
}
fn default_breaker_failures() -> u32 {
    5
}
fn default_breaker_cooldown_secs() -> u64 {
    30
}
fn default_max_body_bytes() -> usize {
    65536
}

/// Highest `retries` accepted.
pub const MAX_RETRIES: u32 = 3;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_source_kind_with_defaults() {
        let text = r#"
            dir = "/var/lib/hotline"
            [verify]
            max_failures_per_account = 4
            [sources.balance.sql]
            query = "SELECT 1 AS one WHERE :account = :account"
            [sources.check.verify_pin]
            [sources.crm.webhook]
            url = "http://127.0.0.1:9/x"
            fallback = "not_found"
        "#;
        let config: DataConfig = toml::from_str(text).unwrap();
        assert_eq!(
            config.database_path(),
            PathBuf::from("/var/lib/hotline/hotline.db")
        );
        assert_eq!(config.verify.max_failures_per_account, 4);
        assert_eq!(config.verify.max_failures_per_caller, 5);
        assert!(matches!(config.sources["balance"], SourceConfig::Sql(_)));
        assert_eq!(
            config.sources["check"],
            SourceConfig::VerifyPin(VerifyPinSource::default())
        );
        let SourceConfig::Webhook(hook) = &config.sources["crm"] else {
            panic!("not a webhook")
        };
        assert_eq!(
            (hook.retries, hook.timeout_ms, hook.fallback),
            (2, 2000, Fallback::NotFound)
        );
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<DataConfig>("databse = \"x\"").is_err());
        assert!(toml::from_str::<DataConfig>("[sources.x.ftp]\nurl = \"x\"").is_err());
    }
}
