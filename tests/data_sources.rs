//! The data sources as the call shell uses them: a fresh data folder gets a migrated,
//! demo-seeded database and the acme-bank sources; lookups answer found / not found /
//! error; PIN verification locks out per account and per caller id, also for calls that
//! guess at the same time; SQL-looking input,
//! unknown sources, and corrupt or locked database files give clear outcomes.

use hotline::data::config::{SourceConfig, SqlSource, VerifyConfig};
use hotline::data::{CallFacts, DataConfig, DataSources};
use hotline::dialplan::{LookupArg, LookupResult};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

fn arg(name: &str, value: &str) -> LookupArg {
    LookupArg {
        name: name.into(),
        value: value.into(),
        sensitive: name == "pin",
    }
}

fn call(caller: &str) -> CallFacts {
    CallFacts {
        caller_id: caller.into(),
        call_id: "test-call".into(),
    }
}

fn found(result: &LookupResult) -> &BTreeMap<String, String> {
    match result {
        LookupResult::Found(fields) => fields,
        other => panic!("expected found, got {other:?}"),
    }
}

fn demo(dir: &std::path::Path) -> DataSources {
    DataSources::open(&DataConfig::default(), dir).expect("open")
}

#[tokio::test]
async fn a_fresh_folder_runs_the_bank_demo() {
    let dir = tempfile::tempdir().unwrap();
    let data = demo(&dir.path().join("data"));
    assert!(dir.path().join("data/hotline.db").exists());
    let names: Vec<&str> = data.names().collect();
    assert_eq!(
        names,
        [
            "accounts_by_number",
            "accounts_by_phone",
            "balance",
            "verify_pin"
        ]
    );

    let by_phone = data
        .lookup(
            "accounts_by_phone",
            &[arg("phone", "sip:+1-555-123-0001@pbx")],
            &call("x"),
        )
        .await;
    assert_eq!(found(&by_phone)["account"], "12345678");
    assert_eq!(found(&by_phone)["name"], "Alice Johnson");
    let by_number = data
        .lookup(
            "accounts_by_number",
            &[arg("account", "34567890")],
            &call("x"),
        )
        .await;
    assert_eq!(found(&by_number)["tier"], "vip");

    for (account, balance) in [
        ("12345678", "1234.56"),
        ("23456789", "-42.17"),
        ("45678901", "0.00"),
        ("34567890", "250000.00"),
    ] {
        let result = data
            .lookup("balance", &[arg("account", account)], &call("x"))
            .await;
        assert_eq!(found(&result)["available"], balance, "{account}");
    }
    assert_eq!(
        data.lookup(
            "accounts_by_number",
            &[arg("account", "11111111")],
            &call("x")
        )
        .await,
        LookupResult::NotFound
    );
    assert_eq!(
        data.lookup(
            "accounts_by_phone",
            &[arg("phone", "anonymous")],
            &call("x")
        )
        .await,
        LookupResult::NotFound
    );

    // Opening again does not seed twice.
    drop(data);
    let again = demo(&dir.path().join("data"));
    let store = again.store().expect("store");
    let customers: i64 = store
        .with(|c| c.query_row("SELECT count(*) FROM customers", [], |r| r.get(0)))
        .unwrap();
    assert_eq!(customers, 4);
}

#[tokio::test]
async fn pin_verification_reports_method_and_locks_out() {
    let dir = tempfile::tempdir().unwrap();
    let now = Arc::new(AtomicI64::new(1_000_000));
    let clock = Arc::clone(&now);
    let data = demo(dir.path()).with_clock(move || clock.load(Ordering::SeqCst));
    let pin = |account: &str, pin: &str| vec![arg("account", account), arg("pin", pin)];

    let ok = data
        .lookup(
            "verify_pin",
            &pin("12345678", "1234"),
            &call("+15551230001"),
        )
        .await;
    assert_eq!(found(&ok)["status"], "verified");
    assert_eq!(found(&ok)["method"], "caller_id+pin");
    let ok = data
        .lookup(
            "verify_pin",
            &pin("12345678", "1234"),
            &call("+15559990000"),
        )
        .await;
    assert_eq!(found(&ok)["method"], "pin");

    // Three wrong PINs (default) lock the account, whoever calls.
    assert_eq!(
        data.lookup("verify_pin", &pin("12345678", "0000"), &call("1"))
            .await,
        LookupResult::NotFound
    );
    assert_eq!(
        data.lookup("verify_pin", &pin("12345678", "0001"), &call("2"))
            .await,
        LookupResult::NotFound
    );
    let locked = data
        .lookup("verify_pin", &pin("12345678", "0002"), &call("3"))
        .await;
    assert_eq!(found(&locked)["status"], "locked");
    let still = data
        .lookup(
            "verify_pin",
            &pin("12345678", "1234"),
            &call("+15551230001"),
        )
        .await;
    assert_eq!(
        found(&still)["status"],
        "locked",
        "the right PIN does not unlock early"
    );
    now.fetch_add(30 * 60, Ordering::SeqCst);
    let later = data
        .lookup(
            "verify_pin",
            &pin("12345678", "1234"),
            &call("+15551230001"),
        )
        .await;
    assert_eq!(found(&later)["status"], "verified");

    // Five failures from one caller id across accounts (unknown ones included) lock the caller.
    for account in ["23456789", "99999999", "88888888", "34567890"] {
        assert_eq!(
            data.lookup("verify_pin", &pin(account, "9999"), &call("+15550001111"))
                .await,
            LookupResult::NotFound
        );
    }
    let caller_locked = data
        .lookup(
            "verify_pin",
            &pin("45678901", "9999"),
            &call("+15550001111"),
        )
        .await;
    assert_eq!(found(&caller_locked)["status"], "locked");
    let same_caller = data
        .lookup(
            "verify_pin",
            &pin("45678901", "1111"),
            &call("+15550001111"),
        )
        .await;
    assert_eq!(found(&same_caller)["status"], "locked");
    let other_caller = data
        .lookup(
            "verify_pin",
            &pin("45678901", "1111"),
            &call("+15550002222"),
        )
        .await;
    assert_eq!(found(&other_caller)["status"], "verified");

    // Lockouts are kept in the database: a restart does not reset them.
    drop(data);
    let reopened = demo(dir.path()).with_clock(move || now.load(Ordering::SeqCst));
    let after_restart = reopened
        .lookup(
            "verify_pin",
            &pin("45678901", "1111"),
            &call("+15550001111"),
        )
        .await;
    assert_eq!(found(&after_restart)["status"], "locked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_calls_get_no_more_guesses_than_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let data = Arc::new(demo(dir.path()));
    // Twelve calls from twelve phones guess the same account's PIN at once; three
    // failures (the default) lock it.
    let guesses: Vec<_> = (0..12)
        .map(|i| {
            let data = data.clone();
            tokio::spawn(async move {
                let args = vec![
                    arg("account", "12345678"),
                    arg("pin", &format!("{:04}", 5000 + i)),
                ];
                data.lookup("verify_pin", &args, &call(&format!("+1555777{i:04}")))
                    .await
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for guess in guesses {
        outcomes.push(guess.await.expect("lookup task"));
    }
    let rejected = outcomes
        .iter()
        .filter(|o| **o == LookupResult::NotFound)
        .count();
    assert!(
        rejected <= 2,
        "at most two wrong guesses are told 'wrong' before the third locks: {outcomes:?}"
    );
    assert!(
        outcomes
            .iter()
            .all(|o| *o == LookupResult::NotFound || found(o)["status"] == "locked"),
        "{outcomes:?}"
    );
    let right = data
        .lookup(
            "verify_pin",
            &[arg("account", "12345678"), arg("pin", "1234")],
            &call("+15551230001"),
        )
        .await;
    assert_eq!(found(&right)["status"], "locked", "the account ends locked");
}

#[tokio::test]
async fn bad_input_gives_clear_outcomes() {
    let dir = tempfile::tempdir().unwrap();
    let data = demo(dir.path());
    for evil in [
        "12345678' OR '1'='1",
        "1; DROP TABLE accounts; --",
        "' UNION SELECT pin_hash FROM accounts --",
    ] {
        let result = data
            .lookup("accounts_by_number", &[arg("account", evil)], &call("x"))
            .await;
        assert_eq!(result, LookupResult::NotFound, "{evil}");
        let result = data
            .lookup(
                "verify_pin",
                &[arg("account", evil), arg("pin", "' OR 1=1 --")],
                &call("x"),
            )
            .await;
        assert_eq!(result, LookupResult::NotFound, "{evil}");
    }
    let balance = data
        .lookup("balance", &[arg("account", "12345678")], &call("x"))
        .await;
    assert_eq!(
        found(&balance)["available"],
        "1234.56",
        "the tables survived"
    );

    let LookupResult::Error(reason) = data.lookup("no_such_source", &[], &call("x")).await else {
        panic!()
    };
    assert!(reason.contains("no_such_source"), "{reason}");
    let LookupResult::Error(reason) = data.lookup("balance", &[], &call("x")).await else {
        panic!()
    };
    assert!(reason.contains("account"), "{reason}");
    let LookupResult::Error(reason) = data
        .lookup("verify_pin", &[arg("account", "12345678")], &call("x"))
        .await
    else {
        panic!()
    };
    assert!(reason.contains("pin"), "{reason}");
}

#[tokio::test]
async fn a_corrupt_database_makes_lookups_answer_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hotline.db"), vec![0x5au8; 8192]).unwrap();
    let data = demo(dir.path());
    assert!(data.store().is_none());
    for source in ["balance", "verify_pin", "accounts_by_phone"] {
        let LookupResult::Error(reason) = data
            .lookup(
                source,
                &[arg("account", "12345678"), arg("pin", "1234")],
                &call("x"),
            )
            .await
        else {
            panic!("{source}")
        };
        assert!(reason.contains("database"), "{source}: {reason}");
    }
}

#[tokio::test]
async fn a_locked_database_answers_error_after_the_busy_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let config = DataConfig {
        busy_timeout_ms: 50,
        ..DataConfig::default()
    };
    let data = DataSources::open(&config, dir.path()).unwrap();
    // Another process holds the write lock (the database is in WAL mode: reads go on).
    let holder = rusqlite::Connection::open(dir.path().join("hotline.db")).unwrap();
    holder
        .execute_batch(
            "BEGIN IMMEDIATE; INSERT INTO lockouts (kind, key) VALUES ('caller', 'other');",
        )
        .unwrap();
    let balance = data
        .lookup("balance", &[arg("account", "12345678")], &call("x"))
        .await;
    assert_eq!(
        found(&balance)["available"],
        "1234.56",
        "readers are not blocked"
    );
    let pin = [arg("account", "12345678"), arg("pin", "1234")];
    let result = data.lookup("verify_pin", &pin, &call("+15551230001")).await;
    let LookupResult::Error(reason) = result else {
        panic!("{result:?}")
    };
    assert!(
        reason.contains("locked") || reason.contains("busy"),
        "{reason}"
    );
    holder.execute_batch("ROLLBACK;").unwrap();
    let result = data.lookup("verify_pin", &pin, &call("+15551230001")).await;
    assert_eq!(
        found(&result)["status"],
        "verified",
        "works again once released"
    );
}

#[tokio::test]
async fn configured_sources_replace_builtins_and_bad_ones_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = DataConfig {
        verify: VerifyConfig::default(),
        ..DataConfig::default()
    };
    config.sources.insert(
        "balance".into(),
        SourceConfig::Sql(SqlSource {
            query: "SELECT 'custom' AS available WHERE :account != ''".into(),
            digits_only: vec![],
        }),
    );
    let data = DataSources::open(&config, dir.path()).unwrap();
    let result = data
        .lookup("balance", &[arg("account", "1")], &call("x"))
        .await;
    assert_eq!(found(&result)["available"], "custom");

    config.sources.insert(
        "wipe".into(),
        SourceConfig::Sql(SqlSource {
            query: "DELETE FROM accounts WHERE number = :account".into(),
            digits_only: vec![],
        }),
    );
    let err = DataSources::open(&config, dir.path())
        .err()
        .expect("refused")
        .to_string();
    assert!(err.contains("wipe") && err.contains("only read"), "{err}");
}

#[test]
fn data_sources_can_be_shared_by_call_tasks() {
    fn shared<T: Send + Sync + 'static>() {}
    fn spawnable<F: std::future::Future + Send>(_: F) {}
    shared::<DataSources>();
    let dir = tempfile::tempdir().unwrap();
    let data = demo(dir.path());
    let facts = call("x");
    spawnable(data.lookup("balance", &[], &facts));
}
