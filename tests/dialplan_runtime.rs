//! The pure runtime, driven event by event: actions out, exits from every waiting state,
//! masking of sensitive values, time conditions by the event time.

use chrono::{DateTime, TimeZone, Utc};
use hotline::dialplan::{
    Action, CallState, Dialplan, Event, LookupResult, PlayItem, Runtime, load_source,
};
use std::collections::BTreeMap;
use std::sync::Arc;

const PLAN: &str = r#"name: unit
timezone: America/Chicago
fallback: agent
queues: [general, vip]
schedules:
  office: { weekdays: "09:00-17:00", holidays: [2026-12-25] }
data_sources:
  accounts: { args: [phone], returns: [name, tier, balance], sensitive: [balance] }
intents:
  balance: { examples: [what is my balance, check my balance] }
  agent: { examples: [agent, representative], anywhere: agent }
entities:
  pin: { kind: { digits: { min: 4, max: 4 } }, sensitive: true }
  amount: { kind: money }
flows:
  main:
    steps:
      open:
        hours: { schedule: office, open: find, closed: closed, holiday: holiday }
      find:
        lookup: { source: accounts, args: { phone: "{caller_id}" }, into: acct, not_found: menu, error: menu }
      hello:
        say: { play: [prompt: hi, text: "Hello {acct.name}, you have {acct.balance:money}."] }
      menu:
        gather:
          play: [prompt: menu]
          intents: { balance: pin }
          keys: { "1": balance }
          max_attempts: 2
          no_input: [prompt: again]
          no_match: [prompt: sorry]
      pin:
        gather:
          play: [prompt: pin]
          entity: pin
          input: dtmf
          no_input: [prompt: again]
          no_match: [prompt: sorry]
          exhausted: bye
      route:
        transfer:
          route:
            - { when: "acct.tier == gold", queue: vip }
            - { queue: general }
          priority: high
          context: [pin, acct.name]
          on_failure: bye
      agent:
        transfer: { queue: general }
      closed:
        hangup: { play: [prompt: closed], reason: closed }
      holiday:
        hangup: { reason: holiday }
      bye:
        hangup: { play: [prompt: bye] }
"#;

fn plan() -> Arc<Dialplan> {
    let (plan, report) = load_source("unit.yaml", PLAN.as_bytes(), None)
        .unwrap_or_else(|r| panic!("{}", r.render()));
    assert!(report.diagnostics.is_empty(), "{}", report.render());
    Arc::new(plan)
}

/// Monday 2026-11-23 at `hour`:00 in Chicago.
fn monday(hour: u32) -> DateTime<Utc> {
    chrono_tz::America::Chicago
        .with_ymd_and_hms(2026, 11, 23, hour, 0, 0)
        .unwrap()
        .with_timezone(&Utc)
}

fn started(at: DateTime<Utc>) -> (Runtime, Vec<Action>) {
    let mut rt = Runtime::new(plan());
    let actions = rt.handle(
        Event::CallStarted {
            caller_id: "+13125550100".into(),
            called: "100".into(),
        },
        at,
    );
    (rt, actions)
}

fn prompts(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .flat_map(|a| match a {
            Action::Play { items, .. } => items.clone(),
            _ => vec![],
        })
        .filter_map(|i| match i {
            PlayItem::Prompt(id) => Some(id),
            _ => None,
        })
        .collect()
}

fn found(fields: &[(&str, &str)]) -> Event {
    Event::LookupResult(LookupResult::Found(
        fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
    ))
}

#[test]
fn call_start_in_hours_asks_a_lookup_with_the_caller_id() {
    let (rt, actions) = started(monday(10));
    assert_eq!(actions.len(), 1);
    let Action::Lookup { source, args } = &actions[0] else {
        panic!("{actions:?}")
    };
    assert_eq!(source, "accounts");
    assert_eq!(
        (args[0].name.as_str(), args[0].value.as_str()),
        ("phone", "+13125550100")
    );
    assert!(matches!(rt.state(), CallState::LookingUp { .. }));
}

#[test]
fn closed_and_holiday_follow_the_event_time_in_the_dialplan_timezone() {
    let (rt, actions) = started(monday(18));
    assert_eq!(prompts(&actions), vec!["closed"]);
    assert_eq!(
        actions.last(),
        Some(&Action::Hangup {
            reason: "closed".into()
        })
    );
    assert!(rt.is_ended());
    let christmas = chrono_tz::America::Chicago
        .with_ymd_and_hms(2026, 12, 25, 10, 0, 0)
        .unwrap()
        .with_timezone(&Utc);
    let (_, actions) = started(christmas);
    assert_eq!(
        actions,
        vec![Action::Hangup {
            reason: "holiday".into()
        }]
    );
}

#[test]
fn found_lookup_plays_typed_readback_with_sensitive_values_flagged() {
    let (mut rt, _) = started(monday(10));
    let actions = rt.handle(
        found(&[("name", "Ann"), ("tier", "gold"), ("balance", "12.50")]),
        monday(10),
    );
    let Action::Play { items, .. } = &actions[0] else {
        panic!("{actions:?}")
    };
    assert_eq!(items[0], PlayItem::Prompt("hi".into()));
    assert_eq!(items[1], PlayItem::Text("Hello Ann, you have ".into()));
    let PlayItem::Readback {
        read_as,
        value,
        sensitive,
        ..
    } = &items[2]
    else {
        panic!("{items:?}")
    };
    assert_eq!(
        (read_as.as_str(), value.as_str(), *sensitive),
        ("money", "12.50", true)
    );
    // The debug form (what logs would show) never holds the sensitive value.
    assert!(!format!("{actions:?}").contains("12.50"));
    assert!(
        matches!(&actions[2], Action::Listen(l) if l.intents == vec!["balance".to_string()] && l.attempt == 0)
    );
}

#[test]
fn lookup_error_and_not_found_both_lead_on() {
    for result in [
        LookupResult::NotFound,
        LookupResult::Error("timeout".into()),
    ] {
        let (mut rt, _) = started(monday(10));
        let actions = rt.handle(Event::LookupResult(result), monday(10));
        assert_eq!(prompts(&actions), vec!["menu"]);
        assert!(matches!(rt.state(), CallState::Listening { .. }));
    }
}

fn at_menu() -> Runtime {
    let (mut rt, _) = started(monday(10));
    rt.handle(
        found(&[("name", "Ann"), ("tier", "gold"), ("balance", "1")]),
        monday(10),
    );
    rt
}

#[test]
fn no_input_then_no_match_exhaust_to_the_fallback() {
    let mut rt = at_menu();
    let actions = rt.handle(Event::Timeout, monday(10));
    assert_eq!(prompts(&actions), vec!["again"]);
    assert!(matches!(&actions[1], Action::Listen(l) if l.attempt == 1));
    // The second failure reaches max_attempts: no exhausted step, so the fallback.
    let actions = rt.handle(
        Event::Speech {
            transcript: "the weather".into(),
            asr_confidence: 0.9,
        },
        monday(10),
    );
    let Action::Transfer { queue, .. } = actions.last().unwrap() else {
        panic!("{actions:?}")
    };
    assert_eq!(queue, "general");
    assert_eq!(
        rt.variables().value("attempts").map(|v| v.to_string()),
        Some("2".into())
    );
}

#[test]
fn speech_intent_and_keypad_menu_both_lead_to_the_intent_step() {
    let mut rt = at_menu();
    let actions = rt.handle(
        Event::Speech {
            transcript: "check my balance please".into(),
            asr_confidence: 0.9,
        },
        monday(10),
    );
    assert_eq!(prompts(&actions), vec!["pin"]);
    assert_eq!(
        rt.variables().value("intent").map(|v| v.to_string()),
        Some("balance".into())
    );
    let mut rt = at_menu();
    assert_eq!(
        prompts(&rt.handle(
            Event::Dtmf {
                digits: "1#".into()
            },
            monday(10)
        )),
        vec!["pin"]
    );
}

#[test]
fn global_intent_works_from_any_gather() {
    let mut rt = at_menu();
    rt.handle(Event::Dtmf { digits: "1".into() }, monday(10));
    // In the keypad-only PIN gather speech is ignored...
    assert!(
        rt.handle(
            Event::Speech {
                transcript: "representative".into(),
                asr_confidence: 0.9
            },
            monday(10)
        )
        .is_empty()
    );
    // ...but at the menu the global intent transfers.
    let mut rt = at_menu();
    let actions = rt.handle(
        Event::Speech {
            transcript: "representative".into(),
            asr_confidence: 0.9,
        },
        monday(10),
    );
    assert!(matches!(actions.last(), Some(Action::Transfer { queue, .. }) if queue == "general"));
}

#[test]
fn pin_is_collected_masked_in_context_and_routed_by_condition() {
    let mut rt = at_menu();
    rt.handle(Event::Dtmf { digits: "1".into() }, monday(10));
    // Wrong length is a no-match, not a PIN.
    let actions = rt.handle(
        Event::Dtmf {
            digits: "12".into(),
        },
        monday(10),
    );
    assert_eq!(prompts(&actions), vec!["sorry"]);
    let actions = rt.handle(
        Event::Dtmf {
            digits: "4321#".into(),
        },
        monday(10),
    );
    let Action::Transfer {
        queue,
        priority,
        context,
        ..
    } = actions.last().unwrap()
    else {
        panic!("{actions:?}")
    };
    assert_eq!((queue.as_str(), priority.as_str()), ("vip", "high"));
    assert_eq!(context.fields.get("pin").map(String::as_str), Some("****"));
    assert_eq!(
        context.fields.get("acct.name").map(String::as_str),
        Some("Ann")
    );
    assert!(
        context.transcript.iter().all(|t| !t.contains("4321")),
        "{:?}",
        context.transcript
    );
    assert!(!format!("{:?}", rt.variables().masked()).contains("4321"));
    assert_eq!(
        rt.variables().value("pin").map(|v| v.to_string()),
        Some("4321".into())
    );
}

#[test]
fn a_failed_transfer_goes_to_on_failure_and_hang_up_ends_everything() {
    let mut rt = at_menu();
    rt.handle(Event::Dtmf { digits: "1".into() }, monday(10));
    rt.handle(
        Event::Dtmf {
            digits: "4321".into(),
        },
        monday(10),
    );
    let actions = rt.handle(
        Event::TransferFailed {
            reason: "no agents".into(),
        },
        monday(10),
    );
    assert_eq!(prompts(&actions), vec!["bye"]);
    assert!(rt.is_ended());
    assert!(
        rt.handle(Event::Dtmf { digits: "1".into() }, monday(10))
            .is_empty()
    );
}

#[test]
fn a_failed_fallback_transfer_hangs_up_instead_of_retrying_forever() {
    let mut rt = at_menu();
    let actions = rt.handle(
        Event::Speech {
            transcript: "agent".into(),
            asr_confidence: 0.9,
        },
        monday(10),
    );
    assert!(matches!(actions.last(), Some(Action::Transfer { .. })));
    let actions = rt.handle(
        Event::TransferFailed {
            reason: "busy".into(),
        },
        monday(10),
    );
    assert_eq!(
        actions,
        vec![Action::Hangup {
            reason: "transfer failed".into()
        }]
    );
}

#[test]
fn caller_hangup_and_events_out_of_place_are_harmless() {
    let mut rt = at_menu();
    assert!(rt.handle(found(&[]), monday(10)).is_empty());
    assert!(rt.handle(Event::PlaybackFinished, monday(10)).is_empty());
    assert!(rt.handle(Event::HungUp, monday(10)).is_empty());
    assert!(rt.is_ended());
    assert!(rt.handle(Event::Timeout, monday(10)).is_empty());
}

#[test]
fn would_accept_judges_a_transcript_without_changing_the_call() {
    let rt = at_menu();
    let before = rt.state().clone();
    assert!(rt.would_accept("what is my balance", monday(10)));
    assert!(
        rt.would_accept("representative please", monday(10)),
        "a global intent leads somewhere from any gather"
    );
    assert!(!rt.would_accept("the weather is nice", monday(10)));
    assert!(!rt.would_accept("   ", monday(10)));
    assert_eq!(rt.state(), &before);
    assert!(rt.path().iter().all(|s| !s.contains("pin")));

    // At a keypad-only gather, speech is never an answer.
    let mut rt = at_menu();
    rt.handle(
        Event::Speech {
            transcript: "check my balance".into(),
            asr_confidence: 0.9,
        },
        monday(10),
    );
    assert!(!rt.would_accept("one two three four", monday(10)));
    assert_eq!(
        rt.last_understood().intent.as_deref(),
        Some("balance"),
        "the last turn's understanding is kept for the log"
    );
}

#[test]
fn would_accept_waits_for_answers_that_may_go_on() {
    let source = r#"name: early
timezone: UTC
entities:
  amount: { kind: money }
  pin: { kind: { digits: { min: 4, max: 4 } } }
  account: { kind: { digits: { min: 6, max: 10 } } }
flows:
  main:
    steps:
      ask_amount:
        gather: { play: [prompt: a], entity: amount, no_input: [prompt: a], no_match: [prompt: a], exhausted: bye }
      ask_pin:
        gather: { play: [prompt: p], entity: pin, no_input: [prompt: p], no_match: [prompt: p], exhausted: bye }
      ask_account:
        gather: { play: [prompt: c], entity: account, no_input: [prompt: c], no_match: [prompt: c], exhausted: bye }
      bye:
        hangup: {}
"#;
    let (plan, _) = load_source("early.yaml", source.as_bytes(), None)
        .unwrap_or_else(|r| panic!("{}", r.render()));
    let mut rt = Runtime::new(Arc::new(plan));
    let speak = |rt: &mut Runtime, text: &str| {
        rt.handle(
            Event::Speech {
                transcript: text.into(),
                asr_confidence: 0.9,
            },
            monday(10),
        )
    };
    rt.handle(
        Event::CallStarted {
            caller_id: "1".into(),
            called: "2".into(),
        },
        monday(10),
    );
    // "two hundred" may go on "and fifty dollars": not complete yet.
    assert!(!rt.would_accept("two hundred dollars", monday(10)));
    speak(&mut rt, "two hundred dollars");
    // Exactly four digits cannot go on.
    assert!(rt.would_accept("one two three four", monday(10)));
    speak(&mut rt, "one two three four");
    // An account number of six to ten digits may still be being read out.
    assert!(!rt.would_accept("one two three four five six seven", monday(10)));
}

/// A dialplan whose transfers end in every way a wait can end.
const TRANSFERS: &str = r#"name: transfers
timezone: UTC
fallback: general
queues: [cards, general]
data_sources:
  who: { args: [phone], returns: [tier] }
intents:
  card: { examples: [I lost my card] }
  other: { examples: [something else entirely] }
flows:
  main:
    steps:
      find:
        lookup: { source: who, args: { phone: "{caller_id}" }, into: customer, not_found: menu, error: menu }
      menu:
        gather:
          intents: { card: cards, other: plain }
          no_input: [prompt: again]
          no_match: [prompt: again]
      cards:
        transfer:
          queue: cards
          priority: [{ when: "customer.tier == vip", level: urgent }, { level: high }]
          skills: [cards, { spanish: 3 }]
          max_wait: 300
          on_timeout: too_long
          callback: true
          on_callback: call_you_back
          on_failure: busy
      plain:
        transfer: { queue: general, on_failure: busy }
      general:
        transfer: { queue: general }
      too_long:
        hangup: { play: [prompt: sorry-too-long], reason: waited too long }
      call_you_back:
        hangup: { play: [prompt: we-will-call], reason: callback requested }
      busy:
        hangup: { play: [prompt: busy], reason: no agent available }
"#;

/// A call on `TRANSFERS` from a caller of `tier`, having said `said`.
fn transferred(tier: Option<&str>, said: &str) -> (Runtime, Vec<Action>) {
    let (plan, report) = load_source("transfers.yaml", TRANSFERS.as_bytes(), None)
        .unwrap_or_else(|r| panic!("{}", r.render()));
    assert!(report.diagnostics.is_empty(), "{}", report.render());
    let mut rt = Runtime::new(Arc::new(plan));
    rt.handle(
        Event::CallStarted {
            caller_id: "+15551230003".into(),
            called: "100".into(),
        },
        monday(10),
    );
    let answer = match tier {
        Some(tier) => found(&[("tier", tier)]),
        None => Event::LookupResult(LookupResult::NotFound),
    };
    rt.handle(answer, monday(10));
    let actions = rt.handle(
        Event::Speech {
            transcript: said.into(),
            asr_confidence: 0.9,
        },
        monday(10),
    );
    assert!(
        matches!(rt.state(), CallState::Transferred { .. }),
        "{actions:?}"
    );
    (rt, actions)
}

#[test]
fn the_transfer_action_carries_the_computed_priority_skills_wait_and_callback() {
    use hotline::dialplan::{Priority, SkillRequirement};
    let (_, actions) = transferred(Some("vip"), "I lost my card");
    let Some(Action::Transfer {
        queue,
        priority,
        skills,
        max_wait_secs,
        callback,
        context,
    }) = actions.last()
    else {
        panic!("{actions:?}")
    };
    assert_eq!(queue, "cards");
    assert_eq!(*priority, Priority::Urgent);
    assert_eq!(
        skills,
        &vec![
            SkillRequirement {
                skill: "cards".into(),
                min_level: 1
            },
            SkillRequirement {
                skill: "spanish".into(),
                min_level: 3
            }
        ]
    );
    assert_eq!((*max_wait_secs, *callback), (Some(300), true));
    assert_eq!(
        (context.queue.as_str(), context.priority),
        ("cards", Priority::Urgent)
    );
    assert_eq!(context.intent.as_deref(), Some("card"));

    let (_, actions) = transferred(Some("standard"), "I lost my card");
    assert!(
        matches!(
            actions.last(),
            Some(Action::Transfer {
                priority: Priority::High,
                ..
            })
        ),
        "{actions:?}"
    );
    let (_, actions) = transferred(None, "something else entirely");
    assert!(
        matches!(
            actions.last(),
            Some(Action::Transfer {
                priority: Priority::Normal,
                max_wait_secs: None,
                callback: false,
                ..
            })
        ),
        "{actions:?}"
    );
    assert!(Priority::Urgent > Priority::High && Priority::High > Priority::Normal);
    assert!(Priority::Normal > Priority::Low);
}

#[test]
fn an_answered_transfer_ends_the_dialplan_without_a_hangup() {
    let (mut rt, _) = transferred(None, "I lost my card");
    let actions = rt.handle(
        Event::TransferAnswered {
            agent: "alice".into(),
        },
        monday(10),
    );
    assert_eq!(actions, vec![]);
    assert_eq!(
        rt.state(),
        &CallState::Ended {
            reason: "answered by an agent".into()
        }
    );
    // The bridge owns the call now: nothing the dialplan would do follows.
    assert!(rt.handle(Event::TransferTimedOut, monday(10)).is_empty());
    assert!(rt.handle(Event::CallbackAccepted, monday(10)).is_empty());
}

#[test]
fn a_timeout_goes_to_on_timeout_and_without_it_to_on_failure() {
    let (mut rt, _) = transferred(None, "I lost my card");
    let actions = rt.handle(Event::TransferTimedOut, monday(10));
    assert_eq!(prompts(&actions), vec!["sorry-too-long"]);
    assert_eq!(
        actions.last(),
        Some(&Action::Hangup {
            reason: "waited too long".into()
        })
    );
    assert_eq!(
        rt.variables().value("last_outcome").map(|v| v.to_string()),
        Some("transfer timed out".into())
    );
    let (mut rt, _) = transferred(None, "something else entirely");
    let actions = rt.handle(Event::TransferTimedOut, monday(10));
    assert_eq!(prompts(&actions), vec!["busy"]);
}

#[test]
fn a_failure_names_its_reason_and_goes_to_on_failure() {
    let (mut rt, _) = transferred(None, "I lost my card");
    let actions = rt.handle(
        Event::TransferFailed {
            reason: hotline::dialplan::events::NO_AGENTS.into(),
        },
        monday(10),
    );
    assert_eq!(prompts(&actions), vec!["busy"]);
    assert_eq!(
        rt.variables().value("last_outcome").map(|v| v.to_string()),
        Some("transfer failed: no agents staffed".into())
    );
}

#[test]
fn a_callback_goes_to_on_callback_and_is_ignored_where_none_is_offered() {
    let (mut rt, _) = transferred(None, "I lost my card");
    let actions = rt.handle(Event::CallbackAccepted, monday(10));
    assert_eq!(prompts(&actions), vec!["we-will-call"]);
    assert_eq!(
        rt.state(),
        &CallState::Ended {
            reason: "callback requested".into()
        }
    );
    let (mut rt, _) = transferred(None, "something else entirely");
    assert!(rt.handle(Event::CallbackAccepted, monday(10)).is_empty());
    assert!(
        matches!(rt.state(), CallState::Transferred { .. }),
        "a transfer without `callback: true` keeps waiting"
    );
}

#[test]
fn a_timed_out_fallback_transfer_hangs_up_instead_of_retrying_forever() {
    let (plan, _) = load_source("transfers.yaml", TRANSFERS.as_bytes(), None)
        .unwrap_or_else(|r| panic!("{}", r.render()));
    let mut rt = Runtime::new(Arc::new(plan));
    rt.handle(
        Event::CallStarted {
            caller_id: "+15551230003".into(),
            called: "100".into(),
        },
        monday(10),
    );
    // The menu out of attempts takes the fallback, which is itself a transfer.
    rt.handle(Event::LookupResult(LookupResult::NotFound), monday(10));
    for _ in 0..3 {
        rt.handle(Event::Timeout, monday(10));
    }
    assert!(
        matches!(rt.state(), CallState::Transferred { queue, .. } if queue == "general"),
        "{:?}",
        rt.state()
    );
    let actions = rt.handle(Event::TransferTimedOut, monday(10));
    assert_eq!(
        actions,
        vec![Action::Hangup {
            reason: "transfer timed out".into()
        }]
    );
}
