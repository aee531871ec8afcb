//! Caller verification by account number and PIN, with lockouts per account and per
//! caller id kept in the database (so a restart does not reset them). The steps are split
//! so that the slow argon2 check runs without holding the database: [`credentials`]
//! reads, [`super::pin::pin_matches`] checks, [`record`] writes. Time comes in as `now`
//! (Unix seconds).

use super::config::VerifyConfig;
use rusqlite::{Connection, OptionalExtension, params};

/// The outcome of a PIN check, as the dialplan sees it through `verify_pin`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyOutcome {
    /// `method` is `pin`, or `caller_id+pin` when the call comes from the account's phone.
    Verified { method: &'static str },
    /// Wrong PIN, or no such account.
    Rejected,
    /// The account or the caller id is locked out until `until` (Unix seconds).
    Locked { until: i64 },
}

/// What the database knows before the PIN is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The stored hash; `None` for an unknown account.
    pub pin_hash: Option<String>,
    /// The account holder's phone (digits), for the verification method.
    pub phone: Option<String>,
    /// An active lockout on the account or the caller id.
    pub locked_until: Option<i64>,
}

/// Reads the account's hash and phone and any active lockout.
pub fn credentials(
    conn: &Connection,
    account: &str,
    caller: &str,
    now: i64,
) -> rusqlite::Result<Credentials> {
    let row: Option<(String, Option<String>)> = conn
        .query_row(
            "SELECT a.pin_hash, c.phone FROM accounts a JOIN customers c ON c.id = a.customer_id WHERE a.number = ?1",
            [account],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let locked_until: Option<i64> = conn.query_row(
        "SELECT max(locked_until) FROM lockouts
         WHERE ((kind = 'account' AND key = ?1) OR (kind = 'caller' AND key = ?2 AND ?2 != '')) AND locked_until > ?3",
        params![account, caller, now],
        |r| r.get(0),
    )?;
    let (pin_hash, phone) = row.map_or((None, None), |(h, p)| (Some(h), p));
    Ok(Credentials {
        pin_hash,
        phone,
        locked_until,
    })
}

/// Records the result of a check and says what the caller is told.
pub fn record(
    conn: &mut Connection,
    rules: &VerifyConfig,
    account: &str,
    caller: &str,
    matched: bool,
    phone: Option<&str>,
    now: i64,
) -> rusqlite::Result<VerifyOutcome> {
    let tx = conn.transaction()?;
    if matched {
        tx.execute(
            "DELETE FROM lockouts WHERE (kind = 'account' AND key = ?1) OR (kind = 'caller' AND key = ?2)",
            params![account, caller],
        )?;
        tx.commit()?;
        let from_own_phone = phone.is_some_and(|p| !caller.is_empty() && same_number(p, caller));
        return Ok(VerifyOutcome::Verified {
            method: if from_own_phone {
                "caller_id+pin"
            } else {
                "pin"
            },
        });
    }
    let until =
        now + i64::try_from(rules.lockout_minutes.saturating_mul(60)).unwrap_or(i64::MAX / 2);
    let mut locked = None;
    let mut keys = vec![("account", account, rules.max_failures_per_account)];
    if !caller.is_empty() {
        keys.push(("caller", caller, rules.max_failures_per_caller));
    }
    for (kind, key, max) in keys {
        let failures: i64 = tx.query_row(
            "INSERT INTO lockouts (kind, key, failures) VALUES (?1, ?2, 1)
             ON CONFLICT (kind, key) DO UPDATE SET failures = failures + 1
             RETURNING failures",
            params![kind, key],
            |r| r.get(0),
        )?;
        if failures >= i64::from(max.max(1)) {
            tx.execute(
                "UPDATE lockouts SET failures = 0, locked_until = ?3 WHERE kind = ?1 AND key = ?2",
                params![kind, key, until],
            )?;
            locked = Some(until);
        }
    }
    tx.commit()?;
    Ok(
        locked.map_or(VerifyOutcome::Rejected, |until| VerifyOutcome::Locked {
            until,
        }),
    )
}

/// Whether two phone numbers are the same line: equal on their last ten digits.
pub fn same_number(a: &str, b: &str) -> bool {
    let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
    let (a, b) = (digits(a), digits(b));
    let tail = |s: &str| s[s.len().saturating_sub(10)..].to_string();
    a.len() >= 7 && b.len() >= 7 && tail(&a) == tail(&b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::pin::{hash_pin, pin_matches};
    use crate::data::store::Store;
    use std::time::Duration;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db"), Duration::from_millis(100)).unwrap();
        let hash = hash_pin("1234").unwrap();
        store
            .with(|c| {
                c.execute("INSERT INTO customers (id, name, phone) VALUES (1, 'Ann', '15551230001')", [])?;
                c.execute("INSERT INTO accounts (number, customer_id, pin_hash) VALUES ('11112222', 1, ?1)", [hash])
            })
            .unwrap();
        (dir, store)
    }

    fn check(
        store: &Store,
        rules: &VerifyConfig,
        account: &str,
        pin: &str,
        caller: &str,
        now: i64,
    ) -> VerifyOutcome {
        let creds = store
            .with(|c| credentials(c, account, caller, now))
            .unwrap();
        if let Some(until) = creds.locked_until {
            return VerifyOutcome::Locked { until };
        }
        let matched = creds
            .pin_hash
            .as_deref()
            .is_some_and(|h| pin_matches(h, pin));
        store
            .with(|c| {
                record(
                    c,
                    rules,
                    account,
                    caller,
                    matched,
                    creds.phone.as_deref(),
                    now,
                )
            })
            .unwrap()
    }

    #[test]
    fn method_says_whether_the_caller_id_matched() {
        let (_dir, store) = store();
        let rules = VerifyConfig::default();
        assert_eq!(
            check(&store, &rules, "11112222", "1234", "+1 555 123 0001", 0),
            VerifyOutcome::Verified {
                method: "caller_id+pin"
            }
        );
        assert_eq!(
            check(&store, &rules, "11112222", "1234", "15559999999", 0),
            VerifyOutcome::Verified { method: "pin" }
        );
        assert_eq!(
            check(&store, &rules, "11112222", "1234", "", 0),
            VerifyOutcome::Verified { method: "pin" }
        );
    }

    #[test]
    fn account_locks_after_max_failures_then_unlocks_after_the_lockout() {
        let (_dir, store) = store();
        let rules = VerifyConfig {
            max_failures_per_account: 3,
            max_failures_per_caller: 100,
            lockout_minutes: 10,
        };
        assert_eq!(
            check(&store, &rules, "11112222", "0000", "a1", 0),
            VerifyOutcome::Rejected
        );
        assert_eq!(
            check(&store, &rules, "11112222", "0000", "a2", 1),
            VerifyOutcome::Rejected
        );
        assert_eq!(
            check(&store, &rules, "11112222", "0000", "a3", 2),
            VerifyOutcome::Locked { until: 602 }
        );
        // Locked: even the right PIN, from another phone, is not checked.
        assert_eq!(
            check(&store, &rules, "11112222", "1234", "a4", 300),
            VerifyOutcome::Locked { until: 602 }
        );
        assert_eq!(
            check(&store, &rules, "11112222", "1234", "a4", 602),
            VerifyOutcome::Verified { method: "pin" }
        );
    }

    #[test]
    fn caller_id_locks_across_accounts_and_success_resets_counts() {
        let (_dir, store) = store();
        let rules = VerifyConfig {
            max_failures_per_account: 100,
            max_failures_per_caller: 2,
            lockout_minutes: 1,
        };
        assert_eq!(
            check(&store, &rules, "11112222", "0000", "15550000000", 0),
            VerifyOutcome::Rejected
        );
        assert_eq!(
            check(&store, &rules, "11112222", "1234", "15550000000", 0),
            VerifyOutcome::Verified { method: "pin" }
        );
        assert_eq!(
            check(&store, &rules, "99999999", "0000", "15550000000", 0),
            VerifyOutcome::Rejected
        );
        assert_eq!(
            check(&store, &rules, "88888888", "0000", "15550000000", 0),
            VerifyOutcome::Locked { until: 60 }
        );
        assert_eq!(
            check(&store, &rules, "11112222", "1234", "15550000000", 59),
            VerifyOutcome::Locked { until: 60 }
        );
        assert_eq!(
            check(&store, &rules, "11112222", "1234", "15557777777", 59),
            VerifyOutcome::Verified { method: "pin" }
        );
    }

    #[test]
    fn numbers_match_on_their_last_ten_digits() {
        assert!(same_number("15551230001", "sip:+1-555-123-0001@x"));
        assert!(same_number("5551230001", "+15551230001"));
        assert!(!same_number("15551230001", "15551230002"));
        assert!(!same_number("", ""));
    }
}
