//! Time arithmetic for the ACD: the shell passes wall-clock `now` in (UTC, so several nodes
//! sharing queue state agree on arrival times); these helpers never panic on extreme values.

use chrono::{DateTime, TimeDelta, Utc};
use std::time::Duration;

/// The moment `by` after `at`, saturating at the end of chrono's range.
pub fn later(at: DateTime<Utc>, by: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(by)
        .ok()
        .and_then(|delta| at.checked_add_signed(delta))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// How long from `since` to `now`; zero when `now` is earlier (a clock step back).
pub fn elapsed(since: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
    (now - since).to_std().unwrap_or(Duration::ZERO)
}

/// Serialises a moment as RFC 3339 text (`2026-12-03T08:15:54Z`) for JSON and CDRs.
pub fn as_rfc3339<S: serde::Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

/// Serialises a duration as seconds (with fractions) for JSON and CDRs.
pub fn as_secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// Serialises an optional duration as seconds, or null.
pub fn as_opt_secs<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_some(&d.as_secs_f64()),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_going_backwards_counts_as_no_time() {
        let now = DateTime::<Utc>::UNIX_EPOCH + TimeDelta::seconds(100);
        assert_eq!(elapsed(now, now - TimeDelta::seconds(5)), Duration::ZERO);
        assert_eq!(
            elapsed(now - TimeDelta::seconds(5), now),
            Duration::from_secs(5)
        );
    }

    #[test]
    fn a_huge_delay_saturates_instead_of_panicking() {
        let now = DateTime::<Utc>::UNIX_EPOCH;
        assert_eq!(later(now, Duration::MAX), DateTime::<Utc>::MAX_UTC);
        assert_eq!(
            later(now, Duration::from_secs(2)),
            now + TimeDelta::seconds(2)
        );
    }
}
