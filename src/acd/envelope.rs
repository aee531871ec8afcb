//! The context envelope: the one JSON document an agent receives with a transferred call
//! (fetched through the INVITE's `Call-Info` link, pushed to the desktop at ring time,
//! stored with the call's ticket), so that the caller never repeats themselves.
//!
//! It is built from the dialplan's [`TransferContext`], which the runtime has already
//! masked (sensitive variables and the caller's turns at sensitive steps), plus the slots
//! only the shell can fill: the call id, the time waited and the ticket id. Building it
//! scrubs once more: a caller may volunteer a card number where nothing expects one
//! ("my card 4539 ... was stolen" at the menu), so every digit run that reads as a card
//! number is cut to its last four digits.

use crate::dialplan::{Priority, SkillRequirement, TransferContext};
use crate::nlu::luhn_valid;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// The envelope format's version, bumped when a field changes meaning.
pub const ENVELOPE_VERSION: u32 = 1;

/// Shown instead of a value that must not leave the server.
const MASK: &str = "****";

/// What an agent receives with a call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContextEnvelope {
    pub version: u32,
    /// The call's Hotline id (the ticket and CDRs use the same).
    pub call_id: String,
    /// The dialplan the caller walked.
    pub dialplan: String,
    pub caller: CallerInfo,
    /// The caller proved who they are (the dialplan's `verified` variable).
    pub verified: bool,
    /// How, e.g. `caller_id+pin` (the dialplan's `verified_by`).
    pub verified_by: Option<String>,
    /// What the caller wants, as understood.
    pub intent: Option<IntentInfo>,
    /// Values the caller gave (sensitive ones masked: `****`, cards `****1486`).
    pub entities: BTreeMap<String, String>,
    /// Variables the transfer step attached (masked likewise).
    pub fields: BTreeMap<String, String>,
    /// The IVR steps walked, `flow.step`.
    pub path: Vec<String>,
    /// The caller's turns: speech as transcribed, keys as `#123`; masked at sensitive steps.
    pub transcript: Vec<String>,
    pub queue: String,
    pub priority: Priority,
    /// Skills asked for beyond the queue's own.
    pub skills: Vec<SkillRequirement>,
    /// When the dialplan handed the call over (RFC 3339, UTC).
    pub transferred_at: String,
    /// Seconds the caller waited for an agent; filled by the shell when an agent answers.
    pub waited_secs: Option<u64>,
    /// The ticket opened for this transfer (`data::tickets`).
    pub ticket_id: Option<i64>,
}

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallerInfo {
    /// The caller id as presented.
    pub number: String,
    /// The name the dialplan found (its `caller_name` variable), if any.
    pub name: Option<String>,
}

/// The caller's intent and how sure understanding was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntentInfo {
    pub name: String,
    /// 0.0-1.0; 1.0 for a keypad choice.
    pub confidence: Option<f32>,
}

impl ContextEnvelope {
    /// The envelope of the transfer `context` of call `call_id`, handed over at `at`.
    pub fn from_transfer(call_id: &str, context: &TransferContext, at: DateTime<Utc>) -> Self {
        let scrub_map = |map: &BTreeMap<String, String>| -> BTreeMap<String, String> {
            map.iter().map(|(k, v)| (k.clone(), scrub(v))).collect()
        };
        ContextEnvelope {
            version: ENVELOPE_VERSION,
            call_id: call_id.to_string(),
            dialplan: context.dialplan.clone(),
            caller: CallerInfo {
                number: context.caller_id.clone(),
                name: context.caller_name.as_deref().map(scrub),
            },
            verified: context.verified,
            verified_by: context.verified_by.clone(),
            intent: context.intent.as_ref().map(|name| IntentInfo {
                name: name.clone(),
                confidence: context.intent_confidence,
            }),
            entities: scrub_map(&context.entities),
            fields: scrub_map(&context.fields),
            path: context.path.clone(),
            transcript: context.transcript.iter().map(|t| scrub(t)).collect(),
            queue: context.queue.clone(),
            priority: context.priority,
            skills: context.skills.clone(),
            transferred_at: at.to_rfc3339_opts(SecondsFormat::Millis, true),
            waited_secs: None,
            ticket_id: None,
        }
    }

    /// Fills the time the caller waited for an agent.
    pub fn with_wait(mut self, waited: Duration) -> Self {
        self.waited_secs = Some(waited.as_secs());
        self
    }

    /// Fills the ticket opened for this transfer.
    pub fn with_ticket(mut self, ticket_id: i64) -> Self {
        self.ticket_id = Some(ticket_id);
        self
    }

    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The few plain fields carried on the INVITE to the agent, as `(header, value)`.
    /// Values are reduced to visible ASCII so that nothing can break the SIP message.
    pub fn sip_headers(&self) -> Vec<(&'static str, String)> {
        let intent = self.intent.as_ref().map_or("none", |i| i.name.as_str());
        let mut headers = vec![
            ("X-Hotline-Call-Id", header_value(&self.call_id)),
            ("X-Hotline-Intent", header_value(intent)),
            ("X-Hotline-Verified", self.verified.to_string()),
            ("X-Hotline-Queue", header_value(&self.queue)),
            ("X-Hotline-Priority", self.priority.as_str().to_string()),
        ];
        if let Some(waited) = self.waited_secs {
            headers.push(("X-Hotline-Wait", waited.to_string()));
        }
        headers
    }
}

fn header_value(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_ascii_graphic() { c } else { '_' })
        .take(128)
        .collect()
}

/// `text` with every run of digits that could be a card number cut down: 13-19 digits
/// (single spaces or dashes between them allowed) passing the Luhn check keep their last
/// four (`****1486`); a run of more than 19 digits is masked whole.
pub fn scrub(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // The run: digits, with one separator allowed between two digits.
        let start = i;
        let mut end = i;
        let mut digits = String::new();
        while end < chars.len() {
            if chars[end].is_ascii_digit() {
                digits.push(chars[end]);
                end += 1;
            } else if matches!(chars[end], ' ' | '-')
                && chars.get(end + 1).is_some_and(char::is_ascii_digit)
            {
                end += 1;
            } else {
                break;
            }
        }
        let run: String = chars[start..end].iter().collect();
        match digits.len() {
            13..=19 if luhn_valid(&digits) => {
                out.push_str(MASK);
                out.push_str(&digits[digits.len() - 4..]);
            }
            20.. => out.push_str(MASK),
            _ => out.push_str(&run),
        }
        i = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialplan::{Action, Event, Runtime, load_source};
    use chrono::TimeZone;
    use std::sync::Arc;

    const PIN: &str = "7395";
    const CARD: &str = "4539578763621486";
    const DOB: &str = "1971-06-18";
    /// The planted secrets in the spellings that must not appear.
    const FORMS: &[&str] = &[
        PIN,
        CARD,
        "4539 5787 6362 1486",
        "4539-5787-6362-1486",
        DOB,
        "19710618",
        "06/18/1971",
        "1971-6-18",
        "June eighteenth",
    ];

    const PLAN: &str = r#"
name: envelope
timezone: America/New_York
queues: [cards]
fallback: agent
intents:
  lost_card: { examples: [I lost my card, my card was stolen] }
entities:
  pin: { kind: { digits: { min: 4, max: 4 } }, sensitive: true }
  card: { kind: card_number, sensitive: true }
  dob: { kind: date, sensitive: true }
flows:
  main:
    steps:
      menu:
        gather: { play: [prompt: menu], intents: { lost_card: ask_pin }, no_input: [prompt: again], no_match: [prompt: again] }
      ask_pin:
        gather: { play: [prompt: ask-pin], entity: pin, input: dtmf, max_digits: 4, no_input: [prompt: again], no_match: [prompt: again] }
      ask_card:
        gather: { play: [prompt: ask-card], entity: card, input: dtmf, max_digits: 19, no_input: [prompt: again], no_match: [prompt: again] }
      ask_dob:
        gather: { play: [prompt: ask-dob], entity: dob, input: speech, no_input: [prompt: again], no_match: [prompt: again] }
      verified:
        set: { values: { verified: "true", verified_by: pin+dob, caller_name: Pat Doe } }
      agent:
        transfer:
          queue: cards
          priority: [{ when: verified, level: urgent }, { level: high }]
          skills: [cards, { spanish: 2 }]
          context: [pin, card, dob, verified]
"#;

    fn transferred_context() -> TransferContext {
        let (plan, report) = load_source("envelope.yaml", PLAN.as_bytes(), None)
            .unwrap_or_else(|r| panic!("{}", r.render()));
        assert_eq!(report.errors().count(), 0, "{}", report.render());
        let mut runtime = Runtime::new(Arc::new(plan));
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap();
        let events = [
            Event::CallStarted {
                caller_id: "+15557770000".into(),
                called: "100".into(),
            },
            // Volunteered where nothing sensitive is expected.
            Event::Speech {
                transcript: "my card 4539 5787 6362 1486 was stolen".into(),
                asr_confidence: 0.9,
            },
            Event::Dtmf { digits: PIN.into() },
            Event::Dtmf {
                digits: format!("{CARD}#"),
            },
            Event::Speech {
                transcript: "June eighteenth nineteen seventy one".into(),
                asr_confidence: 0.9,
            },
        ];
        let mut context = None;
        for event in events {
            for action in runtime.handle(event, now) {
                if let Action::Transfer { context: c, .. } = action {
                    context = Some(c);
                }
            }
        }
        context.expect("the call reached the transfer")
    }

    #[test]
    fn planted_pin_card_and_date_of_birth_never_appear_in_the_envelope() {
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 1).unwrap();
        let envelope = ContextEnvelope::from_transfer("call-1", &transferred_context(), at)
            .with_wait(Duration::from_secs(42))
            .with_ticket(7);
        let json = envelope.to_json().unwrap();
        for secret in FORMS {
            assert!(
                !json.contains(secret),
                "the envelope holds {secret}: {json}"
            );
        }
        let headers = format!("{:?}", envelope.sip_headers());
        for secret in FORMS {
            assert!(
                !headers.contains(secret),
                "a header holds {secret}: {headers}"
            );
        }
        // The call really collected them, and the agent sees them masked.
        assert_eq!(envelope.entities["pin"], "****", "{json}");
        assert_eq!(envelope.entities["card"], "****1486", "{json}");
        assert_eq!(envelope.entities["dob"], "****", "{json}");
        assert_eq!(envelope.fields["card"], "****1486", "{json}");
        assert_eq!(
            envelope.transcript,
            vec!["my card ****1486 was stolen", "#****", "#****", "****"]
        );
    }

    #[test]
    fn the_envelope_carries_who_what_where_and_the_shell_slots() {
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 1).unwrap();
        let envelope = ContextEnvelope::from_transfer("call-1", &transferred_context(), at)
            .with_wait(Duration::from_millis(42_900))
            .with_ticket(7);
        assert_eq!(envelope.caller.number, "+15557770000");
        assert_eq!(envelope.caller.name.as_deref(), Some("Pat Doe"));
        assert!(envelope.verified);
        assert_eq!(envelope.verified_by.as_deref(), Some("pin+dob"));
        let intent = envelope.intent.as_ref().expect("an intent");
        assert_eq!(intent.name, "lost_card");
        assert!(intent.confidence.is_some_and(|c| c > 0.0 && c <= 1.0));
        assert_eq!(envelope.queue, "cards");
        assert_eq!(envelope.priority, Priority::Urgent);
        assert_eq!(
            envelope.skills,
            vec![
                SkillRequirement {
                    skill: "cards".into(),
                    min_level: 1
                },
                SkillRequirement {
                    skill: "spanish".into(),
                    min_level: 2
                }
            ]
        );
        assert_eq!(envelope.path.first().map(String::as_str), Some("main.menu"));
        assert_eq!(envelope.path.last().map(String::as_str), Some("main.agent"));
        assert_eq!(envelope.transferred_at, "2026-11-23T15:00:01.000Z");
        assert_eq!(
            (envelope.waited_secs, envelope.ticket_id),
            (Some(42), Some(7))
        );
        let json = envelope.to_json().unwrap();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["priority"], "urgent");
        assert_eq!(value["caller"]["name"], "Pat Doe");
        assert_eq!(ContextEnvelope::from_json(&json).unwrap(), envelope);
        assert!(
            envelope
                .sip_headers()
                .contains(&("X-Hotline-Wait", "42".into()))
        );
        assert!(
            envelope
                .sip_headers()
                .contains(&("X-Hotline-Intent", "lost_card".into()))
        );
    }

    #[test]
    fn scrubbing_cuts_card_numbers_and_keeps_other_numbers() {
        assert_eq!(scrub("card 4111111111111111 lost"), "card ****1111 lost");
        assert_eq!(scrub("4111-1111-1111-1111"), "****1111");
        assert_eq!(scrub("4111 1111 1111 1111."), "****1111.");
        // Not Luhn-valid, or too short to be a card: left alone.
        assert_eq!(scrub("4111111111111112"), "4111111111111112");
        assert_eq!(
            scrub("account 12345678, $1,234.56"),
            "account 12345678, $1,234.56"
        );
        assert_eq!(scrub("call +15551230003"), "call +15551230003");
        assert_eq!(scrub("123456789012345678901234"), "****");
        assert_eq!(scrub("nothing here"), "nothing here");
    }

    #[test]
    fn header_values_cannot_break_the_sip_message() {
        let mut envelope =
            ContextEnvelope::from_transfer("c\r\nVia: evil", &transferred_context(), Utc::now());
        envelope.queue = "cards\r\n".into();
        for (_, value) in envelope.sip_headers() {
            assert!(value.chars().all(|c| c.is_ascii_graphic()), "{value:?}");
        }
    }
}
