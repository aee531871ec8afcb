//! `hotline check` semantics: each kind of problem is reported with its code at the exact
//! line and column, and good dialplans pass.

use hotline::dialplan::{Diagnostic, load_source};

/// A small valid dialplan; tests replace parts of it.
const BASE: &str = r#"name: t
timezone: Europe/Paris
fallback: agent
queues: [general]
data_sources:
  accounts: { args: [phone], returns: [name] }
schedules:
  office: { weekdays: "09:00-17:00" }
intents:
  help: { examples: [I have a question about my account] }
  agent: { examples: [agent], anywhere: agent }
entities:
  pin: { kind: { digits: { min: 4, max: 4 } }, sensitive: true }
flows:
  main:
    steps:
      open:
        hours: { schedule: office, open: find, closed: bye }
      find:
        lookup: { source: accounts, args: { phone: "{caller_id}" }, into: who, not_found: menu }
      menu:
        gather:
          play: [text: "Hello {who.name}"]
          intents: { help: agent }
          no_input: [text: "Sorry?"]
          no_match: [text: "Pardon?"]
      agent:
        transfer: { queue: general }
      bye:
        hangup: {}
"#;

fn diagnostics(text: &str) -> Vec<Diagnostic> {
    match load_source("t.yaml", text.as_bytes(), None) {
        Ok((_, report)) => report.diagnostics,
        Err(report) => report.diagnostics,
    }
}

fn codes(text: &str) -> Vec<(&'static str, u32, u32)> {
    diagnostics(text)
        .iter()
        .map(|d| (d.code, d.pos.line, d.pos.column))
        .collect()
}

fn replace(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "BASE lacks {from:?}");
    BASE.replacen(from, to, 1)
}

#[test]
fn the_base_dialplan_is_clean() {
    assert_eq!(codes(BASE), vec![]);
}

#[test]
fn unknown_target_is_reported_at_the_reference_with_a_suggestion() {
    let d = diagnostics(&replace("closed: bye", "closed: byee"));
    assert_eq!(
        (d[0].code, d[0].pos.line, d[0].pos.column),
        ("unknown-target", 18, 56)
    );
    assert_eq!(d[0].hint.as_deref(), Some("did you mean `bye`?"));
}

#[test]
fn unknown_intent_entity_queue_source_schedule_are_errors() {
    assert_eq!(
        codes(&replace(
            "intents: { help: agent }",
            "intents: { hlep: agent }"
        )),
        vec![("unknown-intent", 24, 22)]
    );
    let with_entity = replace(
        "intents: { help: agent }",
        "intents: { help: agent }\n          entity: pn",
    );
    assert!(codes(&with_entity).contains(&("unknown-entity", 25, 19)));
    assert_eq!(
        codes(&replace("queue: general }", "queue: generl }")),
        vec![("unknown-queue", 28, 28)]
    );
    assert_eq!(
        codes(&replace("source: accounts,", "source: acounts,"))[0],
        ("unknown-data-source", 20, 27)
    );
    assert_eq!(
        codes(&replace("schedule: office", "schedule: ofice")),
        vec![("unknown-schedule", 18, 28)]
    );
    assert_eq!(
        codes(&replace("phone: \"{caller_id}\"", "fone: \"{caller_id}\"")).first(),
        Some(&("unknown-argument", 20, 45))
    );
}

#[test]
fn gather_without_no_input_no_match_or_exit_is_an_error() {
    let text = replace("          no_input: [text: \"Sorry?\"]\n", "");
    assert_eq!(codes(&text), vec![("gather-without-no-input", 21, 7)]);
    let text = replace("          no_match: [text: \"Pardon?\"]\n", "");
    assert_eq!(codes(&text), vec![("gather-without-no-match", 21, 7)]);
    let text = replace("fallback: agent\n", "");
    assert_eq!(codes(&text), vec![("gather-without-exit", 20, 7)]);
}

#[test]
fn unknown_step_kind_and_field_are_syntax_errors_at_their_key() {
    assert_eq!(
        codes(&replace("        hangup: {}", "        hang_up: {}")),
        vec![("syntax", 30, 9)]
    );
    let d = diagnostics(&replace(
        "transfer: { queue: general }",
        "transfer: { queue: general, priorty: high }",
    ));
    assert_eq!((d[0].code, d[0].pos.line), ("syntax", 28));
    assert!(d[0].message.contains("priorty"), "{}", d[0].message);
}

#[test]
fn wrong_types_are_syntax_errors_at_the_value() {
    let d = diagnostics(&replace("{ min: 4, max: 4 }", "{ min: four, max: 4 }"));
    assert_eq!(
        (d[0].code, d[0].pos.line, d[0].pos.column),
        ("syntax", 13, 33)
    );
}

#[test]
fn duplicate_ids_are_errors() {
    let d = diagnostics(&replace("      bye:\n", "      agent:\n"));
    assert_eq!(d[0].code, "syntax");
    assert_eq!(d[0].pos.line, 29);
    assert_eq!(
        codes(&replace("queues: [general]", "queues: [general, general]")),
        vec![("duplicate-id", 4, 19)]
    );
}

#[test]
fn unreachable_steps_are_warnings() {
    let text = replace(
        "      bye:\n",
        "      lost:\n        hangup: {}\n      bye:\n",
    );
    let d = diagnostics(&text);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(
        (d[0].code, d[0].is_error(), d[0].pos.line),
        ("unreachable", false, 29)
    );
    // Warnings do not stop the dialplan from loading.
    assert!(load_source("t.yaml", text.as_bytes(), None).is_ok());
}

#[test]
fn a_loop_with_no_way_out_is_a_trap() {
    let text = replace(
        "      bye:\n        hangup: {}\n",
        "      bye:\n        say: { play: [text: \"Hold on\"] }\n      again:\n        goto: bye\n",
    );
    let c = codes(&text);
    assert!(c.contains(&("trap", 29, 7)), "{c:?}");
}

#[test]
fn a_loop_that_never_waits_for_the_caller_is_an_error() {
    let text = replace(
        "      bye:\n        hangup: {}\n",
        "      bye:\n        branch: { cases: [{ when: \"who.name == x\", goto: end }], otherwise: bye }\n      end:\n        hangup: {}\n",
    );
    assert!(
        codes(&text).contains(&("busy-loop", 29, 7)),
        "{:?}",
        codes(&text)
    );
}

#[test]
fn a_loop_through_a_gather_with_exits_is_fine() {
    let text = replace("intents: { help: agent }", "intents: { help: menu }");
    assert_eq!(codes(&text), vec![]);
}

#[test]
fn falling_off_the_end_of_a_flow_is_an_error() {
    let text = replace(
        "      bye:\n        hangup: {}\n",
        "      bye:\n        say: { play: [text: \"Bye\"] }\n",
    );
    assert_eq!(codes(&text), vec![("falls-off-end", 29, 7)]);
}

#[test]
fn bad_conditions_templates_and_schedules_point_inside_the_value() {
    assert_eq!(
        codes(&replace("Hello {who.name}", "Hello {who.name:euros}")),
        vec![("bad-template", 23, 41)]
    );
    assert_eq!(
        codes(&replace("\"09:00-17:00\"", "\"9-5\"")),
        vec![("bad-schedule", 8, 23)]
    );
    assert_eq!(
        codes(&replace(
            "timezone: Europe/Paris",
            "timezone: Europe/Pariss"
        )),
        vec![("bad-timezone", 2, 11)]
    );
}

#[test]
fn unset_variables_are_warnings() {
    let d = diagnostics(&replace("Hello {who.name}", "Hello {who.nam}"));
    assert_eq!(
        (d[0].code, d[0].is_error(), d[0].pos.line, d[0].pos.column),
        ("unset-variable", false, 23, 32)
    );
}

#[test]
fn subflow_outcomes_must_be_handled_and_return_needs_a_subflow() {
    let text = format!(
        "{}  verify:\n    steps:\n      ok:\n        return: verified\n      nope:\n        return: failed\n",
        replace(
            "        transfer: { queue: general }",
            "        call: { flow: verify, outcomes: { verified: bye } }"
        )
    );
    let c = codes(&text);
    assert!(c.contains(&("unhandled-outcome", 28, 23)), "{c:?}");
    assert!(c.contains(&("unreachable", 35, 7)), "{c:?}");
    let text = replace("        hangup: {}", "        return: done");
    assert_eq!(codes(&text), vec![("return-outside-subflow", 30, 17)]);
}

#[test]
fn malformed_yaml_is_an_error_not_a_panic() {
    for text in [
        "name: [unclosed",
        "\t- tab",
        ": :",
        "flows: 3",
        "*alias",
        "name: t\nname: u\n",
        "",
        "---\n---\n",
    ] {
        let d = diagnostics(text);
        assert!(d.iter().any(Diagnostic::is_error), "{text:?}: {d:?}");
    }
}

#[test]
fn the_example_dialplan_checks_clean_with_its_prompts() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("dialplans/acme-bank.yaml");
    let (plan, report) =
        hotline::dialplan::load_path(&path).unwrap_or_else(|r| panic!("{}", r.render()));
    assert!(report.diagnostics.is_empty(), "{}", report.render());
    assert!(plan.prompts.is_available());
    assert_eq!(plan.global_intents.len(), 1);
}

#[test]
fn keys_in_a_speech_only_gather_are_a_warning() {
    let text = replace(
        "intents: { help: agent }",
        "intents: { help: agent }\n          input: speech\n          keys: { \"1\": help }",
    );
    assert_eq!(codes(&text), vec![("keys-never-heard", 26, 19)]);
}

/// `BASE` with its transfer step replaced by `transfer: { queue: general, EXTRA }`.
fn transfer_with(extra: &str) -> String {
    replace(
        "transfer: { queue: general }",
        &format!("transfer: {{ queue: general, {extra} }}"),
    )
}

/// The column (1-based) of the first `needle` on line 28, the transfer's line.
fn col(text: &str, needle: &str) -> u32 {
    let line = text.lines().nth(27).expect("line 28");
    line.find(needle).expect("needle on line 28") as u32 + 1
}

#[test]
fn transfer_priority_levels_and_rules_are_checked_at_their_position() {
    let text = transfer_with("priority: hihg");
    assert_eq!(codes(&text), vec![("bad-priority", 28, col(&text, "hihg"))]);
    let text = transfer_with("priority: 3");
    assert_eq!(codes(&text), vec![("bad-priority", 28, col(&text, "3 }"))]);
    let rules = r#"priority: [{ when: "who.name == vip", level: urgent }, { level: normal }]"#;
    assert_eq!(codes(&transfer_with(rules)), vec![]);
    let text = transfer_with(r#"priority: [{ when: "who.name ==", level: high }, { level: low }]"#);
    assert_eq!(
        codes(&text),
        vec![("bad-condition", 28, col(&text, "\", level"))]
    );
    let text = transfer_with(r#"priority: [{ when: "who.name == x", level: hi }]"#);
    assert_eq!(codes(&text), vec![("syntax", 28, col(&text, "hi }"))]);
    let text =
        transfer_with(r#"priority: [{ level: high }, { when: "who.name == x", level: low }]"#);
    assert_eq!(codes(&text), vec![("shadowed-rule", 28, col(&text, "low"))]);
    let text = transfer_with(r#"priority: [{ when: "who.name == x", level: low }]"#);
    assert_eq!(
        codes(&text),
        vec![("priority-without-default", 28, col(&text, "low"))]
    );
    let text = transfer_with("priority: []");
    assert_eq!(codes(&text), vec![("bad-priority", 28, col(&text, "[]"))]);
}

#[test]
fn transfer_skills_need_names_and_levels_from_one_to_five() {
    assert_eq!(
        codes(&transfer_with("skills: [cards, { spanish: 3 }]")),
        vec![]
    );
    let text = transfer_with("skills: [cards, { spanish: 6 }]");
    assert_eq!(codes(&text), vec![("bad-skill-level", 28, col(&text, "6"))]);
    let text = transfer_with("skills: [{ spanish: 0 }]");
    assert_eq!(codes(&text), vec![("bad-skill-level", 28, col(&text, "0"))]);
    let text = transfer_with("skills: [cards, \"two words\"]");
    assert_eq!(codes(&text), vec![("bad-name", 28, col(&text, "\"two"))]);
    let text = transfer_with("skills: [cards, { cards: 2 }]");
    assert_eq!(
        codes(&text),
        vec![("duplicate-id", 28, col(&text, "cards: 2"))]
    );
    let text = transfer_with("skills: [{ spanish: three }]");
    assert_eq!(codes(&text), vec![("syntax", 28, col(&text, "three"))]);
    let d = diagnostics(&transfer_with("skills: [{ a: 1, b: 2 }]"));
    assert_eq!((d[0].code, d[0].pos.line), ("syntax", 28));
    assert!(
        d[0].message.contains("one skill per list item"),
        "{}",
        d[0].message
    );
}

#[test]
fn transfer_max_wait_is_bounded_and_its_exits_must_be_steps() {
    assert_eq!(
        codes(&transfer_with(
            "max_wait: 120, on_timeout: bye, on_failure: bye"
        )),
        vec![]
    );
    let text = transfer_with("max_wait: 5");
    assert_eq!(codes(&text), vec![("bad-max-wait", 28, col(&text, "5"))]);
    let text = transfer_with("max_wait: 7200");
    assert_eq!(codes(&text), vec![("bad-max-wait", 28, col(&text, "7200"))]);
    let text = transfer_with("max_wait: 60, on_timeout: byee");
    let d = diagnostics(&text);
    assert_eq!(
        (d[0].code, d[0].pos.line, d[0].pos.column),
        ("unknown-target", 28, col(&text, "byee"))
    );
    assert_eq!(d[0].hint.as_deref(), Some("did you mean `bye`?"));
    let text = transfer_with("on_failure: nowhere");
    assert_eq!(
        codes(&text),
        vec![("unknown-target", 28, col(&text, "nowhere"))]
    );
}

#[test]
fn a_callback_step_without_callbacks_offered_is_a_warning() {
    assert_eq!(
        codes(&transfer_with("callback: true, on_callback: bye")),
        vec![]
    );
    let text = transfer_with("on_callback: bye");
    assert_eq!(
        codes(&text),
        vec![("callback-not-offered", 28, col(&text, "bye"))]
    );
    let text = transfer_with("callback: true, on_callback: by");
    assert_eq!(
        codes(&text),
        vec![("unknown-target", 28, col(&text, "by }"))]
    );
}

#[test]
fn with_the_configured_queues_a_queue_missing_from_them_is_an_error_at_the_transfer() {
    use hotline::dialplan::{CheckOptions, load_source_with};
    let check = |queues: &[&str]| {
        let options = CheckOptions {
            known_queues: Some(queues.iter().map(|q| q.to_string()).collect()),
        };
        match load_source_with("t.yaml", BASE.as_bytes(), None, &options) {
            Ok((_, report)) => report.diagnostics,
            Err(report) => report.diagnostics,
        }
    };
    assert!(check(&["general", "cards"]).is_empty());
    let d = check(&["generale", "cards"]);
    assert_eq!(
        (d[0].code, d[0].pos.line, d[0].pos.column),
        ("unknown-queue", 28, 28)
    );
    assert!(d[0].message.contains("not configured"), "{}", d[0].message);
    assert!(
        d[0].hint
            .as_deref()
            .is_some_and(|h| h.contains("`generale`")),
        "{:?}",
        d[0].hint
    );
    // Without the configured queues, the dialplan's own list is what counts.
    assert!(diagnostics(BASE).is_empty());
}
