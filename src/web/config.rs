//! `[desk]` in hotline.toml: what the agent desktop offers (wrap-up dispositions, away
//! reasons) and how long its sessions last.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct DeskConfig {
    /// Disposition codes an agent picks at wrap-up (saved to the ticket).
    pub dispositions: Vec<String>,
    /// Reasons an agent may give for going away.
    pub away_reasons: Vec<String>,
    /// A signed-in session ends this many hours after sign-in.
    pub session_hours: u64,
    /// An agent whose every desktop page has been gone this long, while available, is put
    /// away ("desktop closed"): nobody is offered calls they cannot see.
    pub page_gone_secs: u64,
}

impl Default for DeskConfig {
    fn default() -> Self {
        Self {
            dispositions: ["resolved", "card_blocked", "callback_promised", "escalated"]
                .map(String::from)
                .to_vec(),
            away_reasons: ["break", "lunch", "training", "meeting"]
                .map(String::from)
                .to_vec(),
            session_hours: 10,
            page_gone_secs: 60,
        }
    }
}
