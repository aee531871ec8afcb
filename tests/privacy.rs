//! Privacy: a PIN, a full card number and a date of birth are planted in a call that runs
//! through the real runtime, the embedded database (PIN verification) and a webhook
//! source, and ends in a transfer. Every log line (captured at TRACE), every action and
//! event as the shell would log them, the call's variables as shown, the transfer context
//! JSON, the context envelope the agent receives (and its SIP headers), the ticket stored
//! with it, and every body the webhook received are searched: none may hold the planted
//! values unmasked.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use chrono::{TimeZone, Utc};
use hotline::acd::envelope::ContextEnvelope;
use hotline::data::config::{SourceConfig, WebhookSource};
use hotline::data::pin::hash_pin;
use hotline::data::{CallFacts, DataConfig, DataSources};
use hotline::dialplan::{Action, Event, Runtime, load_source};
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

const PIN: &str = "7395";
const CARD: &str = "4539578763621486";
const DOB: &str = "1971-06-18";
/// Other spellings of the same secrets that must not appear either.
const FORMS: &[&str] = &[
    PIN,
    CARD,
    "4539 5787 6362 1486",
    "4539-5787-6362-1486",
    DOB,
    "19710618",
    "06/18/1971",
    "1971-6-18",
];

const PLAN: &str = r#"
name: privacy
timezone: America/New_York
queues: [general]
fallback: agent
data_sources:
  verify_pin: { args: [account, pin], returns: [status, method] }
  crm: { args: [account, card, dob, pin], returns: [segment] }
entities:
  account: { kind: { digits: { min: 8, max: 8 } } }
  pin: { kind: { digits: { min: 4, max: 4 } }, sensitive: true }
  card: { kind: card_number, sensitive: true }
  dob: { kind: date, sensitive: true }
flows:
  main:
    steps:
      ask_account:
        gather: { play: [prompt: ask-account], entity: account, input: dtmf, max_digits: 8, no_input: [prompt: again], no_match: [prompt: again] }
      ask_pin:
        gather: { play: [prompt: ask-pin], entity: pin, input: dtmf, max_digits: 4, no_input: [prompt: again], no_match: [prompt: again] }
      check_pin:
        lookup:
          source: verify_pin
          args: { account: "{account}", pin: "{pin}" }
          into: pin_check
          not_found: agent
          error: agent
      ask_card:
        gather: { play: [prompt: ask-card], entity: card, input: dtmf, max_digits: 19, no_input: [prompt: again], no_match: [prompt: again] }
      ask_dob:
        gather: { play: [prompt: ask-dob], entity: dob, input: speech, no_input: [prompt: again], no_match: [prompt: again] }
      crm:
        lookup:
          source: crm
          args: { account: "{account}", card: "{card}", dob: "{dob}", pin: "{pin}" }
          into: crm
          not_found: agent
          error: agent
      agent:
        transfer:
          queue: general
          context: [account, pin, card, dob, pin_check.status, pin_check.method, crm.segment]
"#;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn crm_endpoint(State(posts): State<Arc<Mutex<Vec<String>>>>, body: Bytes) -> &'static str {
    posts
        .lock()
        .unwrap()
        .push(String::from_utf8_lossy(&body).into_owned());
    r#"{"segment":"gold"}"#
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planted_secrets_never_leave_unmasked() {
    let logs = Buffer::default();
    let writer = logs.clone();
    tracing::subscriber::set_global_default(
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .without_time()
            .with_writer(move || writer.clone())
            .finish(),
    )
    .expect("the only subscriber of this test binary");

    // The webhook endpoint records every body it receives.
    let posts = Arc::new(Mutex::new(Vec::new()));
    let app = Router::new()
        .route("/crm", post(crm_endpoint))
        .with_state(Arc::clone(&posts));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });

    // The embedded database with the demo bank plus our customer, and the webhook.
    let dir = tempfile::tempdir().unwrap();
    let mut config = DataConfig::default();
    let crm = format!("url = \"http://{addr}/crm\"");
    config.sources.insert(
        "crm".into(),
        SourceConfig::Webhook(toml::from_str::<WebhookSource>(&crm).unwrap()),
    );
    let data = DataSources::open(&config, dir.path()).unwrap();
    let hash = hash_pin(PIN).unwrap();
    data.store()
        .unwrap()
        .with(|c| {
            c.execute("INSERT INTO customers (id, name, phone, date_of_birth) VALUES (99, 'Pat Doe', '15557770000', ?1)", [DOB])?;
            c.execute("INSERT INTO accounts (number, customer_id, balance_cents, pin_hash) VALUES ('55556666', 99, 100, ?1)", [&hash])?;
            c.execute("INSERT INTO cards (number, account, last4) VALUES (?1, '55556666', '1486')", [CARD])
        })
        .unwrap();

    // The call: account, PIN, card number by keypad, date of birth by voice, then transfer.
    let (plan, report) = load_source("privacy.yaml", PLAN.as_bytes(), None)
        .unwrap_or_else(|r| panic!("{}", r.render()));
    assert_eq!(report.errors().count(), 0, "{}", report.render());
    let mut runtime = Runtime::new(Arc::new(plan));
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap();
    let facts = CallFacts {
        caller_id: "+15557770000".into(),
        call_id: "privacy-call".into(),
    };
    let mut inputs = vec![
        Event::Dtmf {
            digits: "55556666".into(),
        },
        Event::Dtmf { digits: PIN.into() },
        Event::Dtmf {
            digits: format!("{CARD}#"),
        },
        Event::Speech {
            transcript: "June eighteenth nineteen seventy one".into(),
            asr_confidence: 0.9,
        },
    ]
    .into_iter();
    let mut transfer_json = None;
    let mut transfer_context = None;
    let mut event = Event::CallStarted {
        caller_id: facts.caller_id.clone(),
        called: "100".into(),
    };
    for _ in 0..50 {
        // The shell logs every event and action at debug, as the call task does.
        tracing::debug!(?event, "event");
        let actions = runtime.handle(event, now);
        let mut next = None;
        for action in actions {
            tracing::debug!(?action, "action");
            match action {
                Action::Lookup { source, args } => {
                    let result = data.lookup(&source, &args, &facts).await;
                    next = Some(Event::LookupResult(result));
                }
                Action::Listen(_) => next = inputs.next(),
                Action::Transfer { context, .. } => {
                    transfer_json = Some(serde_json::to_string(&context).unwrap());
                    transfer_context = Some(context);
                }
                Action::Play { .. } | Action::Hangup { .. } => {}
            }
        }
        match next {
            Some(e) => event = e,
            None => break,
        }
    }
    let transfer_json = transfer_json.expect("the call reached the transfer");
    let transfer_context = transfer_context.expect("the call reached the transfer");
    let context: serde_json::Value = serde_json::from_str(&transfer_json).unwrap();
    // The flow really went through verification and the webhook with the planted values.
    assert_eq!(
        context["fields"]["pin_check.status"], "verified",
        "{transfer_json}"
    );
    assert_eq!(context["fields"]["crm.segment"], "gold", "{transfer_json}");
    assert_eq!(context["fields"]["card"], "****1486", "{transfer_json}");
    assert_eq!(context["fields"]["pin"], "****");
    assert_eq!(context["fields"]["dob"], "****");
    assert_eq!(posts.lock().unwrap().len(), 1, "the webhook was called");

    let mut outputs: BTreeMap<&str, String> = BTreeMap::new();
    outputs.insert(
        "logs",
        String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned(),
    );
    // The envelope the agent fetches, as stored with the ticket, and its SIP headers.
    let envelope =
        ContextEnvelope::from_transfer(&facts.call_id, &transfer_context, now).with_ticket(1);
    let envelope_json = envelope.to_json().unwrap();
    assert_eq!(envelope.fields["card"], "****1486", "{envelope_json}");
    let dir_db = tempfile::tempdir().unwrap();
    let tickets = hotline::data::Tickets::new(
        hotline::data::Store::open(
            &dir_db.path().join("tickets.db"),
            std::time::Duration::from_secs(1),
        )
        .unwrap(),
    );
    let id = tickets.open(&envelope, now).unwrap();
    let stored = tickets.get(id).unwrap().expect("the ticket is stored");
    assert_eq!(stored.envelope.fields["pin"], "****");
    outputs.insert("envelope", envelope_json);
    outputs.insert("envelope headers", format!("{:?}", envelope.sip_headers()));
    outputs.insert("ticket", format!("{stored:?}"));
    outputs.insert("transfer context", transfer_json);
    outputs.insert("webhook posts", posts.lock().unwrap().join("\n"));
    outputs.insert("variables", format!("{:?}", runtime.variables().masked()));
    outputs.insert("transcript", runtime.transcript().join("\n"));
    outputs.insert("path", runtime.path().join("\n"));
    assert!(
        outputs["logs"].contains("lookup"),
        "the logs were captured: {}",
        outputs["logs"]
    );
    for (name, text) in &outputs {
        for secret in FORMS {
            assert!(!text.contains(secret), "{name} contains {secret}:\n{text}");
        }
    }
}
