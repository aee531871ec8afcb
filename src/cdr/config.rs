//! The `[cdr]` section: whether call detail records are kept and for how long. They live
//! in the embedded database (`[data] dir` and `database`).

use serde::Deserialize;
use std::time::Duration;

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct CdrConfig {
    /// Keep a record of every call.
    pub enabled: bool,
    /// Records of calls that started longer ago than this many days are deleted (checked
    /// at start and hourly); 0 keeps them for ever.
    pub retention_days: u32,
}

impl Default for CdrConfig {
    fn default() -> Self {
        CdrConfig {
            enabled: true,
            retention_days: 365,
        }
    }
}

impl CdrConfig {
    pub fn retention(&self) -> Option<Duration> {
        (self.retention_days > 0)
            .then(|| Duration::from_secs(u64::from(self.retention_days) * 86_400))
    }
}
