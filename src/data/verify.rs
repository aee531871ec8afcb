//! Caller verification by account number and PIN, with lockouts per account and per
//! caller id kept in the database (so a restart does not reset them).
//!
//! The slow argon2 check runs without holding the database, so a check is two short
//! transactions around it: [`begin`] reads the lockouts and counts the attempt as a
//! failure in the same transaction, and [`finish`] settles it. Counting before the hash
//! is checked is what keeps parallel calls from getting more guesses than the limit: an
//! attempt that would go over it is refused without a check. A success clears the
//! counts, but never a lockout that other attempts set while it was being checked.
//! [`check`] runs the three steps. Time comes in as `now` (Unix seconds).

use super::config::VerifyConfig;
use super::error::DataError;
use super::store::Store;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

/// The outcome of a PIN check, as the dialplan sees it through `verify_pin`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyOutcome {
    /// `method` is `pin`, or `caller_id+pin` when the call comes from the account's phone.
    Verified { method: &'static str },
    /// Wrong PIN, or no such account.
    Rejected,
    /// The account or the caller id is locked out until `until` (Unix seconds), or
    /// enough attempts on it are being checked right now to reach the limit.
    Locked { until: i64 },
}

/// What the database knows before the PIN is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The stored hash; `None` for an unknown account.
    pub pin_hash: Option<String>,
    /// The account holder's phone (digits), for the verification method.
    pub phone: Option<String>,
}

/// What [`begin`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// Check the PIN against these, then call [`finish`].
    Check(Credentials),
    /// Refused without a check; nothing was counted.
    Refused(VerifyOutcome),
}

/// Runs a whole check: `matches` gets the credentials (outside any transaction) and
/// says whether the PIN matched.
pub fn check(
    store: &Store,
    rules: &VerifyConfig,
    account: &str,
    caller: &str,
    now: i64,
    matches: impl FnOnce(&Credentials) -> bool,
) -> Result<VerifyOutcome, DataError> {
    let creds = match store.with(|c| begin(c, rules, account, caller, now))? {
        Attempt::Refused(outcome) => return Ok(outcome),
        Attempt::Check(creds) => creds,
    };
    let matched = matches(&creds);
    store.with(|c| {
        finish(
            c,
            rules,
            account,
            caller,
            matched,
            creds.phone.as_deref(),
            now,
        )
    })
}

/// The lockout keys of an attempt with their limits.
fn keys<'a>(
    rules: &VerifyConfig,
    account: &'a str,
    caller: &'a str,
) -> Vec<(&'static str, &'a str, i64)> {
    let mut keys = vec![(
        "account",
        account,
        i64::from(rules.max_failures_per_account.max(1)),
    )];
    if !caller.is_empty() {
        keys.push((
            "caller",
            caller,
            i64::from(rules.max_failures_per_caller.max(1)),
        ));
    }
    keys
}

fn lockout_end(rules: &VerifyConfig, now: i64) -> i64 {
    now + i64::try_from(rules.lockout_minutes.saturating_mul(60)).unwrap_or(i64::MAX / 2)
}

/// The end of an active lockout on the account or the caller id.
fn active_lockout(
    tx: &Transaction<'_>,
    account: &str,
    caller: &str,
    now: i64,
) -> rusqlite::Result<Option<i64>> {
    tx.query_row(
        "SELECT max(locked_until) FROM lockouts
         WHERE ((kind = 'account' AND key = ?1) OR (kind = 'caller' AND key = ?2 AND ?2 != '')) AND locked_until > ?3",
        params![account, caller, now],
        |r| r.get(0),
    )
}

/// Reads the account and any lockout, and counts the attempt as a failure, in one
/// transaction.
pub fn begin(
    conn: &mut Connection,
    rules: &VerifyConfig,
    account: &str,
    caller: &str,
    now: i64,
) -> rusqlite::Result<Attempt> {
    // IMMEDIATE takes the write lock at once, so no other connection can read the same
    // counts between our read and our write.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if let Some(until) = active_lockout(&tx, account, caller, now)? {
        return Ok(Attempt::Refused(VerifyOutcome::Locked { until }));
    }
    for (kind, key, max) in keys(rules, account, caller) {
        let attempts: i64 = tx.query_row(
            "INSERT INTO lockouts (kind, key, failures) VALUES (?1, ?2, 1)
             ON CONFLICT (kind, key) DO UPDATE SET failures = failures + 1
             RETURNING failures",
            params![kind, key],
            |r| r.get(0),
        )?;
        if attempts > max {
            // The failures so far and the attempts being checked already use up every
            // guess; the transaction rolls back, so this one is not counted.
            return Ok(Attempt::Refused(VerifyOutcome::Locked {
                until: lockout_end(rules, now),
            }));
        }
    }
    let row: Option<(String, Option<String>)> = tx
        .query_row(
            "SELECT a.pin_hash, c.phone FROM accounts a JOIN customers c ON c.id = a.customer_id WHERE a.number = ?1",
            [account],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    tx.commit()?;
    let (pin_hash, phone) = row.map_or((None, None), |(h, p)| (Some(h), p));
    Ok(Attempt::Check(Credentials { pin_hash, phone }))
}

/// Settles an attempt [`begin`] counted and says what the caller is told.
pub fn finish(
    conn: &mut Connection,
    rules: &VerifyConfig,
    account: &str,
    caller: &str,
    matched: bool,
    phone: Option<&str>,
    now: i64,
) -> rusqlite::Result<VerifyOutcome> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if let Some(until) = active_lockout(&tx, account, caller, now)? {
        // Set by other attempts while this one was checked: it stands, even for the
        // right PIN.
        return Ok(VerifyOutcome::Locked { until });
    }
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
    // The failure was counted by `begin`; attempts still being checked count too, so
    // the lockout comes no later than the limit allows.
    let until = lockout_end(rules, now);
    let mut locked = None;
    for (kind, key, max) in keys(rules, account, caller) {
        let failures: i64 = tx
            .query_row(
                "SELECT failures FROM lockouts WHERE kind = ?1 AND key = ?2",
                params![kind, key],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(0);
        if failures >= max {
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
        super::check(store, rules, account, caller, now, |creds| {
            creds
                .pin_hash
                .as_deref()
                .is_some_and(|h| pin_matches(h, pin))
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

    fn rules(max_per_account: u32) -> VerifyConfig {
        VerifyConfig {
            max_failures_per_account: max_per_account,
            max_failures_per_caller: 100,
            lockout_minutes: 10,
        }
    }

    fn begin_at(store: &Store, rules: &VerifyConfig, caller: &str) -> Attempt {
        store
            .with(|c| begin(c, rules, "11112222", caller, 5))
            .unwrap()
    }

    fn finish_at(
        store: &Store,
        rules: &VerifyConfig,
        caller: &str,
        matched: bool,
    ) -> VerifyOutcome {
        store
            .with(|c| finish(c, rules, "11112222", caller, matched, None, 5))
            .unwrap()
    }

    #[test]
    fn attempts_in_flight_use_up_the_guesses_before_any_is_checked() {
        let (_dir, store) = store();
        let rules = rules(3);
        let begun: Vec<Attempt> = (0..5)
            .map(|i| begin_at(&store, &rules, &format!("1555000000{i}")))
            .collect();
        let checked = begun
            .iter()
            .filter(|a| matches!(a, Attempt::Check(_)))
            .count();
        assert_eq!(checked, 3, "only as many checks as the limit: {begun:?}");
        assert_eq!(
            begun[3],
            Attempt::Refused(VerifyOutcome::Locked { until: 605 })
        );
        for i in 0..3 {
            assert_eq!(
                finish_at(&store, &rules, &format!("1555000000{i}"), false),
                VerifyOutcome::Locked { until: 605 }
            );
        }
        // The refused attempts were not counted: the lockout ends when it said.
        assert_eq!(
            check(&store, &rules, "11112222", "1234", "15550000009", 605),
            VerifyOutcome::Verified { method: "pin" }
        );
    }

    #[test]
    fn a_success_does_not_clear_a_lockout_set_while_it_was_checked() {
        let (_dir, store) = store();
        let rules = rules(3);
        let right = begin_at(&store, &rules, "15550000001");
        assert!(matches!(right, Attempt::Check(_)));
        for caller in ["15550000002", "15550000003"] {
            assert!(matches!(
                begin_at(&store, &rules, caller),
                Attempt::Check(_)
            ));
        }
        assert_eq!(
            finish_at(&store, &rules, "15550000002", false),
            VerifyOutcome::Locked { until: 605 }
        );
        assert_eq!(
            finish_at(&store, &rules, "15550000001", true),
            VerifyOutcome::Locked { until: 605 },
            "the right PIN, checked while the lockout was set"
        );
        assert_eq!(
            check(&store, &rules, "11112222", "1234", "15550000001", 600),
            VerifyOutcome::Locked { until: 605 },
            "the lockout is still there"
        );
    }

    #[test]
    fn parallel_threads_never_check_more_guesses_than_the_limit() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::{Arc, Barrier};
        let (_dir, store) = store();
        let rules = rules(3);
        let threads = 8;
        let checked = Arc::new(AtomicUsize::new(0));
        let barrier = Arc::new(Barrier::new(threads));
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let (store, rules) = (store.clone(), rules.clone());
                let (checked, barrier) = (checked.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    super::check(
                        &store,
                        &rules,
                        "11112222",
                        &format!("1555000001{i}"),
                        5,
                        |_| {
                            checked.fetch_add(1, Ordering::SeqCst);
                            // A slow hash keeps the other threads' attempts in flight.
                            std::thread::sleep(Duration::from_millis(50));
                            false
                        },
                    )
                    .unwrap()
                })
            })
            .collect();
        let outcomes: Vec<VerifyOutcome> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert!(
            checked.load(Ordering::SeqCst) <= 3,
            "{} guesses checked with a limit of 3",
            checked.load(Ordering::SeqCst)
        );
        assert!(
            outcomes
                .iter()
                .all(|o| *o != VerifyOutcome::Verified { method: "pin" })
        );
        assert_eq!(
            check(&store, &rules, "11112222", "1234", "15550000099", 6),
            VerifyOutcome::Locked { until: 605 },
            "the account ends locked: {outcomes:?}"
        );
    }
}
