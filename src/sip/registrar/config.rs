//! `[registrar]` in hotline.toml: the digest realm, registration expiry bounds, nonce
//! lifetime and the failure limits that stop password guessing.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RegistrarConfig {
    /// Answer REGISTER from agents' phones (off: 405 as for any unsupported method).
    pub enabled: bool,
    /// The digest realm. Stored HA1s are only valid for it: changing it means
    /// `hotline agents passwd` for every agent.
    pub realm: String,
    /// Shortest registration accepted; shorter asks get 423 with Min-Expires.
    pub min_expires_secs: u32,
    /// Longest registration granted; longer asks are shortened to this.
    pub max_expires_secs: u32,
    /// Granted when the phone names no expiry.
    pub default_expires_secs: u32,
    /// How long a nonce may be used; after that a correct answer gets `stale=true`.
    pub nonce_lifetime_secs: u32,
    /// Contacts (phones) one agent may have registered at once.
    pub max_contacts: usize,
    /// Failed attempts from one source address within the window before it is refused
    /// unheard (403) until the window ends.
    pub max_failures_per_source: u32,
    /// Failed attempts for one agent within the window before that agent's REGISTERs are
    /// refused unheard (from any source) until the window ends.
    pub max_failures_per_user: u32,
    pub failure_window_secs: u32,
    /// Digest algorithms challenged with, in this order (`"SHA-256"`, `"MD5"`). Phones
    /// that answer the first challenge whatever it is (SIPp, some older desk phones) need
    /// the one they support first.
    pub algorithms: Vec<String>,
}

impl Default for RegistrarConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            realm: "hotline".to_string(),
            min_expires_secs: 60,
            max_expires_secs: 7200,
            default_expires_secs: 3600,
            nonce_lifetime_secs: 300,
            max_contacts: 5,
            max_failures_per_source: 10,
            max_failures_per_user: 20,
            failure_window_secs: 300,
            algorithms: vec!["SHA-256".into(), "MD5".into()],
        }
    }
}

impl RegistrarConfig {
    /// The first thing wrong with the values, as (key, message).
    /// The configured algorithms, in challenge order (unknown names left out: `problem`
    /// reports them).
    pub fn offered_algorithms(&self) -> Vec<crate::sip::digest::DigestAlgorithm> {
        self.algorithms
            .iter()
            .filter_map(|name| crate::sip::digest::DigestAlgorithm::from_token(Some(name)))
            .collect()
    }

    pub fn problem(&self) -> Option<(&'static str, String)> {
        let known = self.offered_algorithms();
        if known.is_empty() || known.len() != self.algorithms.len() {
            return Some((
                "algorithms",
                "lists \"SHA-256\" and/or \"MD5\" (at least one)".into(),
            ));
        }
        if self.realm.is_empty()
            || self
                .realm
                .chars()
                .any(|c| c == '"' || c == '\\' || c.is_control())
        {
            return Some((
                "realm",
                "must be non-empty, without quotes, backslashes or control characters".into(),
            ));
        }
        if self.min_expires_secs == 0 {
            return Some(("min_expires_secs", "must be at least 1 second".into()));
        }
        if self.max_expires_secs < self.min_expires_secs {
            return Some((
                "max_expires_secs",
                format!(
                    "is below min_expires_secs ({}): no registration could be granted",
                    self.min_expires_secs
                ),
            ));
        }
        if !(self.min_expires_secs..=self.max_expires_secs).contains(&self.default_expires_secs) {
            return Some((
                "default_expires_secs",
                format!(
                    "must lie between min_expires_secs ({}) and max_expires_secs ({})",
                    self.min_expires_secs, self.max_expires_secs
                ),
            ));
        }
        if self.nonce_lifetime_secs < 5 {
            return Some(("nonce_lifetime_secs", "must be at least 5 seconds".into()));
        }
        if self.max_contacts == 0 {
            return Some(("max_contacts", "must be at least 1".into()));
        }
        if self.max_failures_per_source == 0 || self.max_failures_per_user == 0 {
            let key = if self.max_failures_per_source == 0 {
                "max_failures_per_source"
            } else {
                "max_failures_per_user"
            };
            return Some((key, "must be at least 1".into()));
        }
        if self.failure_window_secs == 0 {
            return Some(("failure_window_secs", "must be at least 1 second".into()));
        }
        None
    }
}
