//! HTTP webhook sources: the lookup's arguments and the call's ids are POSTed as JSON, the
//! JSON answer becomes the result's fields. Each attempt has a timeout; failed attempts
//! are retried with doubling backoff, then the backup URL is tried the same way; a circuit
//! breaker skips a source that keeps failing; and when nothing answers, the source's
//! declared fallback outcome is returned so the dialplan can say "our systems are busy"
//! or transfer. Sensitive arguments are sent as `****` unless the source opts in.
//! `https://` URLs use rustls (see [`super::tls`]): a certificate that does not verify is
//! a failure like any other, logged with its TLS reason, and the fallback answers.
//!
//! Answers: 404, JSON `null` or an object with `"found": false` is not found; another
//! object is found; anything else (other statuses, garbage, bodies over the size limit)
//! is a failure.

use super::breaker::Breaker;
use super::config::{Fallback, MAX_RETRIES, WebhookSource};
use super::error::DataError;
use super::sources::CallFacts;
use crate::dialplan::{LookupArg, LookupResult};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::{Request, StatusCode, Uri, header};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One webhook source.
pub struct Webhook {
    name: String,
    config: WebhookSource,
    /// The URL, then the backup URL.
    urls: Vec<Uri>,
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    breaker: Mutex<Breaker>,
}

/// How one attempt failed.
enum Failure {
    /// Worth trying the same URL again (timeout, refused connection, 5xx, 429).
    Transient(String),
    /// The endpoint answered, wrongly: go to the backup URL.
    Wrong(String),
}

impl Webhook {
    pub fn new(name: &str, config: &WebhookSource) -> Result<Self, DataError> {
        let bad = |message: String| DataError::Source {
            source_name: name.to_string(),
            message,
        };
        let parse = |url: &str| -> Result<Uri, DataError> {
            let uri: Uri = url.parse().map_err(|e| bad(format!("bad URL: {e}")))?;
            match uri.scheme_str() {
                Some("http" | "https") if uri.host().is_some() => Ok(uri),
                _ => Err(bad(
                    "the URL must be http://host[:port]/path or https://host[:port]/path".into(),
                )),
            }
        };
        let mut urls = vec![parse(&config.url)?];
        if let Some(backup) = &config.backup_url {
            urls.push(parse(backup)?);
        }
        if config.retries > MAX_RETRIES {
            return Err(bad(format!(
                "retries is {}; at most {MAX_RETRIES}",
                config.retries
            )));
        }
        if config.fallback != Fallback::Found && !config.fallback_fields.is_empty() {
            return Err(bad("fallback_fields needs fallback = \"found\"".into()));
        }
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(Duration::from_millis(config.timeout_ms)));
        connector.enforce_http(false);
        let tls = super::tls::client_config(config.ca_file.as_deref()).map_err(bad)?;
        let connector = HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(connector);
        let client = Client::builder(TokioExecutor::new()).build(connector);
        let breaker = Breaker::new(
            config.breaker_failures,
            Duration::from_secs(config.breaker_cooldown_secs),
        );
        Ok(Webhook {
            name: name.to_string(),
            config: config.clone(),
            urls,
            client,
            breaker: Mutex::new(breaker),
        })
    }

    /// Asks the endpoint; never fails: an unavailable source answers its fallback.
    pub async fn lookup(&self, args: &[LookupArg], call: &CallFacts) -> LookupResult {
        if !self.breaker().allow(Instant::now()) {
            tracing::warn!(source = %self.name, call_id = %call.call_id, "circuit breaker open: answering the fallback");
            return self.fallback("circuit breaker open");
        }
        let body = Bytes::from(self.body(args, call).to_string());
        let mut last = String::new();
        for uri in &self.urls {
            for attempt in 0..=self.config.retries {
                if attempt > 0 {
                    let backoff = self.config.backoff_ms.saturating_mul(1 << (attempt - 1));
                    tokio::time::sleep(Duration::from_millis(backoff)).await;
                }
                let host = uri.authority().map(|a| a.as_str()).unwrap_or("?");
                match self.attempt(uri, body.clone()).await {
                    Ok(result) => {
                        self.breaker().record(true, Instant::now());
                        return result;
                    }
                    Err(Failure::Transient(reason)) => {
                        tracing::warn!(source = %self.name, call_id = %call.call_id, host, attempt, reason, "webhook attempt failed");
                        last = reason;
                    }
                    Err(Failure::Wrong(reason)) => {
                        tracing::warn!(source = %self.name, call_id = %call.call_id, host, attempt, reason, "webhook answered wrongly");
                        last = reason;
                        break;
                    }
                }
            }
        }
        self.breaker().record(false, Instant::now());
        self.fallback(&last)
    }

    /// The JSON posted: source, call id, caller id and the arguments (masked if sensitive).
    pub fn body(&self, args: &[LookupArg], call: &CallFacts) -> Value {
        let args: Map<String, Value> = args
            .iter()
            .map(|a| {
                let value = if a.sensitive && !self.config.send_sensitive {
                    crate::dialplan::variables::MASK
                } else {
                    &a.value
                };
                (a.name.clone(), Value::String(value.to_string()))
            })
            .collect();
        json!({ "source": self.name, "call_id": call.call_id, "caller_id": call.caller_id, "args": args })
    }

    async fn attempt(&self, uri: &Uri, body: Bytes) -> Result<LookupResult, Failure> {
        let limit = Duration::from_millis(self.config.timeout_ms);
        match tokio::time::timeout(limit, self.exchange(uri, body)).await {
            Ok(result) => result,
            Err(_) => Err(Failure::Transient(format!(
                "no answer within {} ms",
                self.config.timeout_ms
            ))),
        }
    }

    async fn exchange(&self, uri: &Uri, body: Bytes) -> Result<LookupResult, Failure> {
        let request = Request::post(uri.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .header(
                header::USER_AGENT,
                concat!("hotline/", env!("CARGO_PKG_VERSION")),
            )
            .body(Full::new(body))
            .map_err(|e| Failure::Wrong(format!("cannot build the request: {e}")))?;
        let response = self.client.request(request).await.map_err(|e| {
            match super::tls::tls_failure(&e) {
                // Trying again will not make a certificate valid: on to the backup URL.
                Some(tls) => Failure::Wrong(format!("TLS: {tls}")),
                None => Failure::Transient(format!("request failed: {}", super::tls::chain(&e))),
            }
        })?;
        let status = response.status();
        if status == StatusCode::NOT_FOUND {
            return Ok(LookupResult::NotFound);
        }
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            return Err(Failure::Transient(format!("HTTP {status}")));
        }
        if !status.is_success() {
            return Err(Failure::Wrong(format!("HTTP {status}")));
        }
        let max = self.config.max_body_bytes;
        let bytes = Limited::new(response.into_body(), max)
            .collect()
            .await
            .map_err(|e| {
                if e.is::<http_body_util::LengthLimitError>() {
                    Failure::Wrong(format!("answer larger than {max} bytes"))
                } else {
                    Failure::Transient(format!("answer cut short: {e}"))
                }
            })?
            .to_bytes();
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|e| Failure::Wrong(format!("answer is not JSON ({e})")))?;
        answer_fields(&value, &self.config.map).map_err(Failure::Wrong)
    }

    fn fallback(&self, reason: &str) -> LookupResult {
        match self.config.fallback {
            Fallback::Error => {
                LookupResult::Error(format!("`{}` unavailable: {reason}", self.name))
            }
            Fallback::NotFound => LookupResult::NotFound,
            Fallback::Found => LookupResult::Found(self.config.fallback_fields.clone()),
        }
    }

    /// Where the circuit breaker stands now.
    pub fn breaker_state(&self) -> super::breaker::BreakerState {
        self.breaker().state(Instant::now())
    }

    fn breaker(&self) -> std::sync::MutexGuard<'_, Breaker> {
        self.breaker
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The lookup result a JSON answer stands for.
pub fn answer_fields(
    value: &Value,
    map: &BTreeMap<String, String>,
) -> Result<LookupResult, String> {
    let Value::Object(object) = value else {
        return match value {
            Value::Null => Ok(LookupResult::NotFound),
            _ => Err("answer is not a JSON object".into()),
        };
    };
    if object.get("found") == Some(&Value::Bool(false)) {
        return Ok(LookupResult::NotFound);
    }
    let fields = if map.is_empty() {
        object
            .iter()
            .filter(|(k, _)| *k != "found")
            .filter_map(|(k, v)| scalar(v).map(|v| (k.clone(), v)))
            .collect()
    } else {
        map.iter()
            .filter_map(|(field, pointer)| {
                value
                    .pointer(pointer)
                    .and_then(scalar)
                    .map(|v| (field.clone(), v))
            })
            .collect()
    };
    Ok(LookupResult::Found(fields))
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_map_to_results() {
        let none = BTreeMap::new();
        let found = answer_fields(
            &json!({"balance": 12.5, "name": "Ann", "nested": {"x": 1}, "found": true}),
            &none,
        )
        .unwrap();
        let LookupResult::Found(fields) = found else {
            panic!()
        };
        assert_eq!(fields.len(), 2);
        assert_eq!(fields["balance"], "12.5");
        assert_eq!(
            answer_fields(&json!({"found": false}), &none).unwrap(),
            LookupResult::NotFound
        );
        assert_eq!(
            answer_fields(&Value::Null, &none).unwrap(),
            LookupResult::NotFound
        );
        assert!(answer_fields(&json!([1, 2]), &none).is_err());
        let map = BTreeMap::from([("available".to_string(), "/account/balance".to_string())]);
        let LookupResult::Found(fields) =
            answer_fields(&json!({"account": {"balance": "3.00"}}), &map).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            fields,
            BTreeMap::from([("available".to_string(), "3.00".to_string())])
        );
    }
}
