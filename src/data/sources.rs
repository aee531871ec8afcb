//! The dispatcher the call shell uses: every named source from `[data]` (plus the
//! built-in bank sources), answering a dialplan `lookup` with found / not found / error.
//! Failures become `LookupResult::Error` and a log line naming the source and the call,
//! never an argument's value.

use super::builtin::builtin_sources;
use super::config::{DataConfig, SourceConfig, VerifyConfig, VerifyPinSource};
use super::error::DataError;
use super::pin::{decoy_check, pin_matches};
use super::query::{QueryAnswer, SqlQuery};
use super::seed;
use super::store::Store;
use super::verify::{self, VerifyOutcome};
use super::webhook::Webhook;
use crate::dialplan::{LookupArg, LookupResult};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What a source may know about the call besides its arguments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallFacts {
    /// The caller's number as received (digits are extracted where needed).
    pub caller_id: String,
    /// The call's id, for log lines and webhook posts.
    pub call_id: String,
}

enum Source {
    Sql(SqlQuery),
    VerifyPin(VerifyPinSource),
    Webhook(Arc<Webhook>),
}

/// Wall-clock seconds, replaceable in tests.
type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// Every configured source, ready to answer lookups. Cheap to share behind an `Arc`.
pub struct DataSources {
    sources: BTreeMap<String, Source>,
    /// The embedded database, or why it could not be opened (SQL and PIN lookups then
    /// answer `error`, so the dialplan takes its error step).
    store: Result<Store, String>,
    verify: VerifyConfig,
    clock: Clock,
}

impl DataSources {
    /// Opens the database under `data_dir` (creating and migrating it; seeding the demo
    /// customers when configured and empty) and prepares every source. A database that
    /// cannot be opened is logged and leaves SQL sources answering `error`; a source that
    /// is wrongly configured is an error.
    pub fn open(config: &DataConfig, data_dir: &Path) -> Result<Self, DataError> {
        let path = data_dir.join(&config.database);
        let store = Store::open(&path, Duration::from_millis(config.busy_timeout_ms)).and_then(|store| {
            if config.demo_seed && seed::is_empty(&store)? {
                let added = seed::seed_demo(&store, chrono::Local::now().date_naive())?;
                tracing::info!(database = %path.display(), customers = added, "demo bank customers seeded");
            }
            Ok(store)
        });
        let store = store.map_err(|e| {
            tracing::error!(error = %e, "the embedded database is unavailable: SQL lookups will answer `error`");
            e.to_string()
        });
        let mut declared: BTreeMap<String, SourceConfig> = if config.builtin_sources {
            builtin_sources().into_iter().collect()
        } else {
            BTreeMap::new()
        };
        declared.extend(config.sources.clone());
        let mut sources = BTreeMap::new();
        for (name, source) in declared {
            let ready = match source {
                SourceConfig::Sql(sql) => match &store {
                    Ok(store) => Source::Sql(SqlQuery::prepare(&name, &sql, store)?),
                    // Cannot be checked without the database; lookups answer `error`.
                    Err(_) => continue,
                },
                SourceConfig::VerifyPin(v) => Source::VerifyPin(v),
                SourceConfig::Webhook(w) => Source::Webhook(Arc::new(Webhook::new(&name, &w)?)),
            };
            sources.insert(name, ready);
        }
        Ok(DataSources {
            sources,
            store,
            verify: config.verify.clone(),
            clock: Arc::new(unix_now),
        })
    }

    /// Uses `clock` (Unix seconds) instead of the system clock for lockouts.
    pub fn with_clock(mut self, clock: impl Fn() -> i64 + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The names of the sources available.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.sources.keys().map(String::as_str)
    }

    /// Each webhook source's circuit breaker, by source name.
    pub fn breakers(&self) -> Vec<(String, super::breaker::BreakerState)> {
        self.sources
            .iter()
            .filter_map(|(name, source)| match source {
                Source::Webhook(hook) => Some((name.clone(), hook.breaker_state())),
                _ => None,
            })
            .collect()
    }

    /// The embedded database, when it opened.
    pub fn store(&self) -> Option<&Store> {
        self.store.as_ref().ok()
    }

    /// Answers one dialplan lookup.
    pub async fn lookup(&self, source: &str, args: &[LookupArg], call: &CallFacts) -> LookupResult {
        let result = match self.sources.get(source) {
            None if self.store.is_err() => Err(format!("database unavailable for `{source}`")),
            None => Err(format!("no data source named `{source}`")),
            Some(Source::Sql(query)) => self.sql(query, args).await,
            Some(Source::VerifyPin(v)) => self.verify_pin(v, args, call).await,
            Some(Source::Webhook(hook)) => Ok(hook.lookup(args, call).await),
        };
        match result {
            Ok(result) => {
                let outcome = match &result {
                    LookupResult::Found(fields) => format!("found ({} fields)", fields.len()),
                    LookupResult::NotFound => "not found".into(),
                    LookupResult::Error(reason) => format!("error: {reason}"),
                };
                tracing::info!(source, call_id = %call.call_id, outcome, "lookup");
                result
            }
            Err(reason) => {
                tracing::warn!(source, call_id = %call.call_id, reason, "lookup failed");
                LookupResult::Error(reason)
            }
        }
    }

    fn db(&self) -> Result<&Store, String> {
        self.store
            .as_ref()
            .map_err(|e| format!("database unavailable: {e}"))
    }

    async fn sql(&self, query: &SqlQuery, args: &[LookupArg]) -> Result<LookupResult, String> {
        let store = self.db()?;
        let (query, args) = (query.clone(), args.to_vec());
        match store
            .run(move |conn| query.run(conn, &args))
            .await
            .map_err(|e| e.to_string())?
        {
            QueryAnswer::Row(fields) => Ok(LookupResult::Found(fields)),
            QueryAnswer::NoRow => Ok(LookupResult::NotFound),
            QueryAnswer::MissingArg(name) => Err(format!("the lookup passes no argument `{name}`")),
        }
    }

    async fn verify_pin(
        &self,
        v: &VerifyPinSource,
        args: &[LookupArg],
        call: &CallFacts,
    ) -> Result<LookupResult, String> {
        let store = self.db()?.clone();
        let find = |name: &str| {
            args.iter()
                .find(|a| a.name == name)
                .map(|a| a.value.clone())
        };
        let account: String = find(&v.account_arg)
            .ok_or_else(|| format!("missing argument `{}`", v.account_arg))?
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        let pin = find(&v.pin_arg).ok_or_else(|| format!("missing argument `{}`", v.pin_arg))?;
        let caller: String = call
            .caller_id
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        let (rules, now) = (self.verify.clone(), (self.clock)());
        let outcome = tokio::task::spawn_blocking(move || -> Result<VerifyOutcome, DataError> {
            // The slow hash check runs between two short transactions (see `verify`).
            verify::check(
                &store,
                &rules,
                &account,
                &caller,
                now,
                |creds| match &creds.pin_hash {
                    Some(hash) => pin_matches(hash, &pin),
                    None => {
                        decoy_check(&pin);
                        false
                    }
                },
            )
        })
        .await
        .map_err(|e| format!("verification task failed: {e}"))?
        .map_err(|e| e.to_string())?;
        Ok(match outcome {
            VerifyOutcome::Verified { method } => {
                LookupResult::Found(fields(&[("status", "verified"), ("method", method)]))
            }
            VerifyOutcome::Rejected => LookupResult::NotFound,
            VerifyOutcome::Locked { .. } => {
                tracing::warn!(call_id = %call.call_id, "verification locked out");
                LookupResult::Found(fields(&[("status", "locked")]))
            }
        })
    }
}

fn fields(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
