//! Semantic checks of a parsed dialplan: unknown steps, intents, entities, queues, data
//! sources, schedules and prompts; gathers without no-input/no-match handling; steps that
//! fall off the end of a flow; unreachable steps; loops that can trap a caller. On success
//! it builds the runnable [`Dialplan`].

use super::condition::{self, Condition};
use super::diagnostic::{Diagnostic, suggest};
use super::edges::{Target, edges, exit_of};
use super::format::{
    DialplanDoc, EntityKindDecl, InputMode, MAX_WAIT_RANGE, Name, PriorityDecl, SayItem, Step,
    TransferStep,
};
use super::located::{Located, Pos};
use super::plan::{Dialplan, StepRef};
use super::prompt_catalog::PromptCatalog;
use super::schedule::{BusinessHours, parse_timezone};
use super::template::{self, is_var_name};
use crate::nlu::{EntityDef, EntityKind, IntentDef, IntentModel};
use std::collections::{BTreeSet, HashMap, HashSet};

/// Variables the runtime sets on every call.
pub const BUILTIN_VARIABLES: &[&str] = &[
    "caller_id",
    "called",
    "intent",
    "intent_confidence",
    "transcript",
    "attempts",
    "last_outcome",
];

/// The warning code for free text in a play list (the server drops it when `[tts]` is on).
pub const FREE_TEXT: &str = "free-text";

/// The position of `offset` characters into a scalar's text (one more when the scalar is
/// quoted in the source, to skip the quote).
fn inner_pos(source: &str, pos: Pos, offset: usize, len: usize) -> Pos {
    if !pos.is_known() {
        return pos;
    }
    let quoted = source
        .lines()
        .nth(pos.line as usize - 1)
        .and_then(|line| line.chars().nth(pos.column.max(1) as usize - 1))
        .is_some_and(|c| c == '"' || c == '\'');
    let column = pos.column + offset as u32 + u32::from(quoted);
    Pos::new(pos.line, column, len.max(1) as u32)
}

/// What the checker may know beyond the file.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// The queues configured on the server (`[acd.queues.NAME]`): when given, a transfer
    /// to any other queue is an error, even one the dialplan's `queues:` lists.
    pub known_queues: Option<BTreeSet<String>>,
}

struct Checker<'a> {
    doc: &'a DialplanDoc,
    known_queues: Option<&'a BTreeSet<String>>,
    source: &'a str,
    prompts: &'a PromptCatalog,
    out: Vec<Diagnostic>,
    start_flow: String,
    defined_vars: HashSet<String>,
    conditions: HashMap<String, Condition>,
}

/// Checks a parsed dialplan. Returns the diagnostics, and the runnable dialplan when there
/// is no error.
pub fn check(
    doc: DialplanDoc,
    file: &str,
    source: &str,
    prompts: PromptCatalog,
) -> (Vec<Diagnostic>, Option<Dialplan>) {
    check_with(doc, file, source, prompts, &CheckOptions::default())
}

/// [`check`] with what is known beyond the file.
pub fn check_with(
    doc: DialplanDoc,
    file: &str,
    source: &str,
    prompts: PromptCatalog,
    options: &CheckOptions,
) -> (Vec<Diagnostic>, Option<Dialplan>) {
    let mut checker = Checker {
        doc: &doc,
        known_queues: options.known_queues.as_ref(),
        source,
        prompts: &prompts,
        out: Vec::new(),
        start_flow: doc
            .start
            .as_ref()
            .map(|s| s.value.clone())
            .unwrap_or_else(|| "main".into()),
        defined_vars: HashSet::new(),
        conditions: HashMap::new(),
    };
    let timezone = checker.check_header();
    let schedules = checker.check_schedules(timezone);
    checker.check_declarations();
    checker.collect_defined_vars();
    checker.check_flows();
    checker.check_graph();
    let Checker {
        out,
        start_flow,
        conditions,
        ..
    } = checker;
    if out.iter().any(Diagnostic::is_error) {
        return (out, None);
    }
    let plan = build(
        doc, file, prompts, timezone, schedules, start_flow, conditions,
    );
    (out, Some(plan))
}

fn build(
    doc: DialplanDoc,
    file: &str,
    prompts: PromptCatalog,
    timezone: chrono_tz::Tz,
    schedules: HashMap<String, BusinessHours>,
    start_flow: String,
    conditions: HashMap<String, Condition>,
) -> Dialplan {
    let intents = doc
        .intents
        .iter()
        .map(|(name, decl)| IntentDef {
            name: name.value.clone(),
            examples: decl.examples.clone(),
            keywords: decl.keywords.clone(),
            global: decl.anywhere.is_some(),
        })
        .collect();
    let entities = doc
        .entities
        .iter()
        .map(|(name, decl)| {
            let kind = match &decl.kind.value {
                EntityKindDecl::Digits { min, max } => EntityKind::Digits {
                    min_len: *min as usize,
                    max_len: *max as usize,
                },
                EntityKindDecl::CardNumber => EntityKind::CardNumber,
                EntityKindDecl::Money => EntityKind::Money,
                EntityKindDecl::Date => EntityKind::Date,
                EntityKindDecl::YesNo => EntityKind::YesNo,
                EntityKindDecl::Ordinal => EntityKind::Ordinal,
            };
            (
                name.value.clone(),
                EntityDef {
                    name: name.value.clone(),
                    kind,
                    sensitive: decl.sensitive,
                },
            )
        })
        .collect();
    let global_intents = doc
        .intents
        .iter()
        .filter_map(|(name, decl)| {
            decl.anywhere.as_ref().map(|t| {
                (
                    name.value.clone(),
                    StepRef::new(start_flow.clone(), t.value.clone()),
                )
            })
        })
        .collect();
    Dialplan {
        file: file.to_string(),
        version: String::new(),
        language: doc
            .language
            .as_ref()
            .map(|l| l.value.clone())
            .unwrap_or_else(|| "en-US".into()),
        timezone,
        fallback: doc
            .fallback
            .as_ref()
            .map(|f| StepRef::new(start_flow.clone(), f.value.clone())),
        confidence: doc.confidence.unwrap_or(0.5),
        intent_model: IntentModel::new(intents),
        entities,
        schedules,
        conditions,
        global_intents,
        prompts,
        start_flow,
        doc,
    }
}

impl<'a> Checker<'a> {
    fn error(
        &mut self,
        code: &'static str,
        pos: Pos,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        self.out
            .push(Diagnostic::error(code, pos, message).with_hint(hint));
    }

    fn warning(
        &mut self,
        code: &'static str,
        pos: Pos,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        self.out
            .push(Diagnostic::warning(code, pos, message).with_hint(hint));
    }

    fn check_header(&mut self) -> chrono_tz::Tz {
        let doc = self.doc;
        if doc.name.trim().is_empty() {
            self.error(
                "empty-name",
                doc.name.pos,
                "the dialplan name is empty",
                "give the dialplan a short name, e.g. `acme-bank`",
            );
        }
        let timezone = match parse_timezone(&doc.timezone) {
            Ok(tz) => tz,
            Err(message) => {
                self.error(
                    "bad-timezone",
                    doc.timezone.pos,
                    message,
                    "use an IANA name like `America/New_York` or `Europe/Paris`",
                );
                chrono_tz::UTC
            }
        };
        if let Some(c) = doc.confidence
            && !(0.0..=1.0).contains(&c)
        {
            self.error(
                "bad-confidence",
                Pos::UNKNOWN,
                format!("confidence {c} is outside 0.0-1.0"),
                "use a value like 0.5",
            );
        }
        match doc.flows.get_entry(&self.start_flow) {
            None => {
                let pos = doc.start.as_ref().map(|s| s.pos).unwrap_or(Pos::UNKNOWN);
                let hint = suggest(
                    &self.start_flow,
                    "flows",
                    doc.flows.keys().map(|k| k.as_str()),
                );
                self.error(
                    "unknown-flow",
                    pos,
                    format!("the start flow `{}` does not exist", self.start_flow),
                    hint,
                );
            }
            Some((name, flow)) if flow.steps.is_empty() => {
                self.error(
                    "empty-flow",
                    name.pos,
                    format!("the start flow `{}` has no steps", name.value),
                    "add steps under `steps:`",
                );
            }
            Some(_) => {}
        }
        if let Some(fallback) = &doc.fallback {
            self.check_global_target(fallback, "fallback");
        }
        timezone
    }

    fn check_global_target(&mut self, target: &Name, what: &str) {
        let start = self.start_flow.clone();
        if let Some(flow) = self.doc.flows.get(&start)
            && !flow.steps.contains_key(target)
        {
            let hint = suggest(target, "steps", flow.steps.keys().map(|k| k.as_str()));
            self.error(
                "unknown-target",
                target.pos,
                format!(
                    "{what} step `{}` does not exist in the start flow `{start}`",
                    target.value
                ),
                hint,
            );
        }
    }

    fn check_schedules(&mut self, timezone: chrono_tz::Tz) -> HashMap<String, BusinessHours> {
        let mut schedules = HashMap::new();
        for (name, decl) in self.doc.schedules.iter() {
            match BusinessHours::from_decl(decl, timezone) {
                Ok(hours) => {
                    schedules.insert(name.value.clone(), hours);
                }
                Err(errors) => {
                    for e in errors {
                        self.error("bad-schedule", e.pos, e.message, e.hint);
                    }
                }
            }
        }
        schedules
    }

    fn check_declarations(&mut self) {
        let doc = self.doc;
        let mut seen = HashSet::new();
        for queue in &doc.queues {
            if !seen.insert(queue.value.clone()) {
                self.error(
                    "duplicate-id",
                    queue.pos,
                    format!("queue `{}` is declared twice", queue.value),
                    "remove one of them",
                );
            }
        }
        for (name, intent) in doc.intents.iter() {
            if !is_var_name(name) {
                self.error(
                    "bad-name",
                    name.pos,
                    format!("`{}` is not a valid intent name", name.value),
                    "use letters, digits and `_`",
                );
            }
            if intent.examples.is_empty() && intent.keywords.is_empty() {
                self.error(
                    "intent-without-examples",
                    name.pos,
                    format!("intent `{}` has no examples and no keywords", name.value),
                    "add a few `examples:` phrases a caller would say",
                );
            }
            if let Some(target) = &intent.anywhere {
                self.check_global_target(target, "anywhere");
            }
        }
        let defs: Vec<IntentDef> = doc
            .intents
            .iter()
            .map(|(name, decl)| IntentDef {
                name: name.value.clone(),
                examples: decl.examples.clone(),
                keywords: decl.keywords.clone(),
                global: decl.anywhere.is_some(),
            })
            .collect();
        if let Err(crate::nlu::IntentDefError::Unmatchable(name)) = IntentModel::try_new(defs) {
            let pos = doc
                .intents
                .get_entry(&name)
                .map(|(k, _)| k.pos)
                .unwrap_or(Pos::UNKNOWN);
            if !self
                .out
                .iter()
                .any(|d| d.code == "intent-without-examples" && d.pos == pos)
            {
                self.error(
                    "intent-without-examples",
                    pos,
                    format!("intent `{name}` can never match: its examples have no words caller understanding uses"),
                    "write examples as whole phrases a caller would say",
                );
            }
        }
        for (name, entity) in doc.entities.iter() {
            if doc.intents.contains_key(name) {
                self.error(
                    "duplicate-id",
                    name.pos,
                    format!("`{}` is both an intent and an entity", name.value),
                    "rename one of them: a gather's variables and intents share names",
                );
            }
            if let EntityKindDecl::Digits { min, max } = entity.kind.value
                && (min == 0 || min > max)
            {
                self.error(
                    "bad-entity",
                    entity.kind.pos,
                    format!("digits range {min}..{max} is empty"),
                    "use 1 <= min <= max",
                );
            }
        }
        for (name, source) in doc.data_sources.iter() {
            for field in &source.sensitive {
                if !source.returns.contains(field) {
                    self.error(
                        "unknown-field",
                        field.pos,
                        format!(
                            "data source `{}` does not return `{}`",
                            name.value, field.value
                        ),
                        "list sensitive fields among `returns`",
                    );
                }
            }
        }
    }

    fn collect_defined_vars(&mut self) {
        let mut vars: HashSet<String> = BUILTIN_VARIABLES.iter().map(|s| s.to_string()).collect();
        for (_, flow) in self.doc.flows.iter() {
            for (_, step) in flow.steps.iter() {
                match step {
                    Step::Set(s) => {
                        vars.extend(s.values.keys().map(|k| k.value.clone()));
                        vars.extend(s.increment.iter().map(|k| k.value.clone()));
                    }
                    Step::Gather(g) => {
                        if let Some(var) = g.into.as_ref().or(g.entity.as_ref()) {
                            vars.insert(var.value.clone());
                        }
                    }
                    Step::Lookup(l) => {
                        if let Some(source) = self.doc.data_sources.get(&l.source) {
                            vars.extend(
                                source
                                    .returns
                                    .iter()
                                    .map(|f| format!("{}.{}", l.into.value, f.value)),
                            );
                        }
                    }
                    _ => {}
                }
            }
        }
        self.defined_vars = vars;
    }

    fn check_var_use(&mut self, name: &str, pos: Pos) {
        if !self.defined_vars.contains(name) {
            let hint = suggest(
                name,
                "variables",
                self.defined_vars
                    .iter()
                    .map(String::as_str)
                    .collect::<BTreeSet<_>>(),
            );
            self.warning(
                "unset-variable",
                pos,
                format!("variable `{name}` is never set"),
                hint,
            );
        }
    }

    fn check_template(&mut self, text: &Name) {
        match template::parse(text) {
            Ok(pieces) => {
                for piece in pieces {
                    if let template::Piece::Var {
                        name,
                        offset,
                        read_as,
                    } = piece
                    {
                        let pos = inner_pos(self.source, text.pos, offset, name.chars().count());
                        self.check_var_use(&name, pos);
                        if let Some(read_as) = read_as {
                            self.check_readback_prompts(read_as, pos);
                        }
                    }
                }
            }
            Err(e) => {
                let pos = inner_pos(self.source, text.pos, e.offset, 1);
                let hint = e.hint.clone().unwrap_or_default();
                self.error("bad-template", pos, e.message, hint);
            }
        }
    }

    /// A typed readback (`{balance:money}`) is spoken from recorded words: all must exist.
    fn check_readback_prompts(&mut self, read_as: template::ReadAs, pos: Pos) {
        if !self.prompts.is_available() || read_as == template::ReadAs::Text {
            return;
        }
        let missing = self.prompts.missing_readback_prompts(read_as);
        if !missing.is_empty() {
            let dir = self
                .prompts
                .dir
                .as_ref()
                .map(|d| d.display().to_string())
                .unwrap_or_default();
            self.error(
                "missing-readback-prompt",
                pos,
                format!("reading back `{read_as}` needs prompts missing from {dir}: {}", missing.join(", ")),
                "the words are listed in prompts/en-US/core.txt and readback.txt; render them with prompts/render.sh",
            );
        }
    }

    fn check_condition(&mut self, text: &Name) {
        match condition::parse(text) {
            Ok(c) => {
                for var in c.variables() {
                    self.check_var_use(var, text.pos);
                }
                self.conditions.insert(text.value.clone(), c);
            }
            Err(e) => {
                let pos = inner_pos(self.source, text.pos, e.offset, 1);
                self.error(
                    "bad-condition",
                    pos,
                    e.message,
                    "conditions look like `verified`, `not verified`, `amount > 500`, `intent == lost_card`, joined with and/or",
                );
            }
        }
    }

    fn check_play(&mut self, items: &[SayItem]) {
        for item in items {
            match item {
                SayItem::Prompt(id) => self.check_prompt(id),
                SayItem::Text(text) => {
                    self.check_template(text);
                    self.check_free_text(text);
                }
            }
        }
    }

    /// Literal words have no recording: only a `[tts]` command (hotline.toml, which the
    /// checker does not read) can say them. Checked with the prompts, like recordings.
    fn check_free_text(&mut self, text: &Name) {
        if !self.prompts.is_available() {
            return;
        }
        let Ok(pieces) = template::parse(text) else {
            return;
        };
        let words = pieces.iter().any(|piece| {
            matches!(piece, template::Piece::Literal(l) if l.chars().any(char::is_alphanumeric))
        });
        if words {
            self.warning(
                FREE_TEXT,
                text.pos,
                "free text is spoken only by text-to-speech; without a [tts] command in hotline.toml it is skipped",
                "record it as a prompt (`prompt: ID`), or configure [tts] (docs/configuration.md)",
            );
        }
    }

    fn check_prompt(&mut self, id: &Name) {
        if !self.prompts.is_available() {
            return;
        }
        if !self.prompts.knows(id) {
            let dir = self
                .prompts
                .dir
                .as_ref()
                .map(|d| d.display().to_string())
                .unwrap_or_default();
            let hint = match super::diagnostic::closest(id, self.prompts.ids()) {
                Some(c) => format!("did you mean `{c}`? (prompts are listed in {dir}/*.txt)"),
                None => format!(
                    "add `{}<TAB>text` to a list in {dir}/ and render it to {}.wav",
                    id.value, id.value
                ),
            };
            self.error(
                "unknown-prompt",
                id.pos,
                format!("prompt `{}` does not exist", id.value),
                hint,
            );
        } else if !self.prompts.has_recording(id) {
            self.warning(
                "prompt-not-recorded",
                id.pos,
                format!("prompt `{}` has text but no {}.wav", id.value, id.value),
                "render it with prompts/render.sh",
            );
        }
    }

    fn check_target(&mut self, flow: &str, target: &Name) {
        let Some(f) = self.doc.flows.get(flow) else {
            return;
        };
        if !f.steps.contains_key(target) {
            let hint = suggest(target, "steps", f.steps.keys().map(|k| k.as_str()));
            self.error(
                "unknown-target",
                target.pos,
                format!("step `{}` does not exist in flow `{flow}`", target.value),
                hint,
            );
        }
    }

    fn check_flows(&mut self) {
        let doc = self.doc;
        for (flow_name, flow) in doc.flows.iter() {
            if flow.steps.is_empty() {
                self.error(
                    "empty-flow",
                    flow_name.pos,
                    format!("flow `{}` has no steps", flow_name.value),
                    "add steps under `steps:`",
                );
            }
            let count = flow.steps.len();
            for (index, (step_name, step)) in flow.steps.iter().enumerate() {
                let is_last = index + 1 == count;
                self.check_step(flow_name, step_name, step);
                for edge in edges(doc, step) {
                    match edge.target {
                        Target::Step {
                            name,
                            pos,
                            global: false,
                        } => {
                            self.check_target(flow_name, &Name::new(name, pos));
                        }
                        Target::Following if is_last => {
                            let what = if edge.label.is_empty() {
                                String::new()
                            } else {
                                format!(" ({})", edge.label)
                            };
                            self.error(
                                "falls-off-end",
                                step_name.pos,
                                format!("step `{}` is the last of flow `{}` and has no `next`{what}", step_name.value, flow_name.value),
                                "say where the call goes next (`next: step`), or end with hangup/transfer/goto",
                            );
                        }
                        _ => {}
                    }
                }
            }
        }
    }

    fn check_step(&mut self, flow_name: &Name, step_name: &Name, step: &Step) {
        let doc = self.doc;
        match step {
            Step::Say(s) => {
                if s.play.is_empty() {
                    self.error(
                        "empty-say",
                        step_name.pos,
                        format!("say step `{}` plays nothing", step_name.value),
                        "add `play: [prompt: id]`",
                    );
                }
                self.check_play(&s.play);
            }
            Step::Gather(g) => self.check_gather(step_name, g),
            Step::Branch(b) => {
                for case in &b.cases {
                    self.check_condition(&case.when);
                }
            }
            Step::Set(s) => {
                if s.values.is_empty() && s.increment.is_empty() {
                    self.error(
                        "empty-set",
                        step_name.pos,
                        format!("set step `{}` sets nothing", step_name.value),
                        "add `values:` or `increment:`",
                    );
                }
                for name in &s.increment {
                    if !is_var_name(name) {
                        self.error(
                            "bad-name",
                            name.pos,
                            format!("`{}` is not a variable name", name.value),
                            "use letters, digits and `_`",
                        );
                    }
                }
                for (name, value) in s.values.iter() {
                    if !is_var_name(name) {
                        self.error(
                            "bad-name",
                            name.pos,
                            format!("`{}` is not a variable name", name.value),
                            "use letters, digits and `_`",
                        );
                    }
                    if BUILTIN_VARIABLES.contains(&name.as_str()) {
                        self.warning(
                            "builtin-variable",
                            name.pos,
                            format!("`{}` is set by the runtime", name.value),
                            "choose another name",
                        );
                    }
                    self.check_template(value);
                }
            }
            Step::Lookup(l) => {
                match doc.data_sources.get(&l.source) {
                    None => {
                        let hint = suggest(
                            &l.source,
                            "data sources",
                            doc.data_sources.keys().map(|k| k.as_str()),
                        );
                        self.error(
                            "unknown-data-source",
                            l.source.pos,
                            format!("data source `{}` is not declared", l.source.value),
                            hint,
                        );
                    }
                    Some(source) => {
                        for (arg, _) in l.args.iter() {
                            if !source.args.contains(arg) {
                                let hint = suggest(
                                    arg,
                                    "arguments",
                                    source.args.iter().map(|a| a.as_str()),
                                );
                                self.error(
                                    "unknown-argument",
                                    arg.pos,
                                    format!(
                                        "data source `{}` takes no argument `{}`",
                                        l.source.value, arg.value
                                    ),
                                    hint,
                                );
                            }
                        }
                        for declared in &source.args {
                            if !l.args.contains_key(declared) {
                                self.warning(
                                    "missing-argument",
                                    l.source.pos,
                                    format!(
                                        "lookup does not pass `{}` to `{}`",
                                        declared.value, l.source.value
                                    ),
                                    "add it under `args:`",
                                );
                            }
                        }
                    }
                }
                for (_, value) in l.args.iter() {
                    self.check_template(value);
                }
                if !is_var_name(&l.into) {
                    self.error(
                        "bad-name",
                        l.into.pos,
                        format!("`{}` is not a variable name", l.into.value),
                        "use letters, digits and `_`",
                    );
                }
            }
            Step::Transfer(t) => self.check_transfer(t),
            Step::Hangup(h) => self.check_play(&h.play),
            Step::Goto(_) | Step::Return(_) => {
                if let Step::Return(outcome) = step
                    && flow_name.value == self.start_flow
                {
                    self.error(
                        "return-outside-subflow",
                        outcome.pos,
                        "`return` in the start flow has nowhere to return to",
                        "end the call with hangup or transfer, or move these steps into a sub-flow",
                    );
                }
            }
            Step::Hours(h) => {
                if !doc.schedules.contains_key(&h.schedule) {
                    let hint = suggest(
                        &h.schedule,
                        "schedules",
                        doc.schedules.keys().map(|k| k.as_str()),
                    );
                    self.error(
                        "unknown-schedule",
                        h.schedule.pos,
                        format!("schedule `{}` is not declared", h.schedule.value),
                        hint,
                    );
                }
            }
            Step::Call(c) => self.check_call(flow_name, c),
        }
    }

    fn check_gather(&mut self, step_name: &Name, g: &super::format::GatherStep) {
        let doc = self.doc;
        for (intent, _) in g.intents.iter() {
            if !doc.intents.contains_key(intent) {
                let hint = suggest(intent, "intents", doc.intents.keys().map(|k| k.as_str()));
                self.error(
                    "unknown-intent",
                    intent.pos,
                    format!("intent `{}` is not declared", intent.value),
                    hint,
                );
            }
        }
        for (key, intent) in g.keys.iter() {
            if key.chars().count() != 1
                || !key
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == '*' || c == '#')
            {
                self.error(
                    "bad-key",
                    key.pos,
                    format!("`{}` is not a keypad key", key.value),
                    "keys are one of 0-9, * and # (quote them: \"1\")",
                );
            }
            if !g.intents.contains_key(intent) {
                self.error(
                    "unknown-intent",
                    intent.pos,
                    format!(
                        "key `{}` stands for `{}`, which this gather does not expect",
                        key.value, intent.value
                    ),
                    "list the intent under this gather's `intents:` with the step it leads to",
                );
            }
        }
        if let Some(entity) = &g.entity
            && !doc.entities.contains_key(entity)
        {
            let hint = suggest(entity, "entities", doc.entities.keys().map(|k| k.as_str()));
            self.error(
                "unknown-entity",
                entity.pos,
                format!("entity `{}` is not declared", entity.value),
                hint,
            );
        }
        if let Some(into) = &g.into
            && !is_var_name(into)
        {
            self.error(
                "bad-name",
                into.pos,
                format!("`{}` is not a variable name", into.value),
                "use letters, digits and `_`",
            );
        }
        if g.entity.is_none() && g.next.is_some() {
            self.warning(
                "unused-next",
                step_name.pos,
                "`next` is only used after an entity is collected",
                "add `entity:` or remove `next`",
            );
        }
        if g.input == InputMode::Speech && !g.keys.is_empty() {
            let pos = g.keys.keys().next().map(|k| k.pos).unwrap_or(step_name.pos);
            self.warning(
                "keys-never-heard",
                pos,
                format!(
                    "gather `{}` maps keys but listens to speech only",
                    step_name.value
                ),
                "use `input: both`, or remove `keys:`",
            );
        }
        if let Some(into) = &g.into
            && BUILTIN_VARIABLES.contains(&into.as_str())
        {
            self.warning(
                "builtin-variable",
                into.pos,
                format!("`{}` is set by the runtime", into.value),
                "choose another name",
            );
        }
        if g.intents.is_empty() && g.entity.is_none() {
            self.error(
                "gather-expects-nothing",
                step_name.pos,
                format!(
                    "gather `{}` expects no intent and no entity",
                    step_name.value
                ),
                "add `intents:` (intent: step) or `entity:`",
            );
        }
        if g.input == InputMode::Dtmf && g.keys.is_empty() && g.entity.is_none() {
            self.error(
                "gather-expects-nothing",
                step_name.pos,
                format!(
                    "keypad-only gather `{}` maps no key and collects no entity",
                    step_name.value
                ),
                "add `keys:` (\"1\": intent) or `entity:`",
            );
        }
        if g.no_input.is_none() {
            self.error(
                "gather-without-no-input",
                step_name.pos,
                format!("gather `{}` has no no-input handling", step_name.value),
                "add `no_input: [prompt: ...]`, played when the caller says nothing",
            );
        }
        if g.no_match.is_none() {
            self.error(
                "gather-without-no-match",
                step_name.pos,
                format!("gather `{}` has no no-match handling", step_name.value),
                "add `no_match: [prompt: ...]`, played when the answer is not understood",
            );
        }
        if g.exhausted.is_none() && doc.fallback.is_none() {
            self.error(
                "gather-without-exit",
                step_name.pos,
                format!(
                    "gather `{}` has nowhere to go after its last attempt",
                    step_name.value
                ),
                "add `exhausted: step` (e.g. an agent transfer), or a dialplan-wide `fallback:`",
            );
        }
        self.check_play(&g.play);
        for items in [&g.no_input, &g.no_match].into_iter().flatten() {
            self.check_play(items);
        }
        if g.max_attempts == Some(0) {
            self.error(
                "bad-attempts",
                step_name.pos,
                "max_attempts is 0",
                "use 1 or more",
            );
        }
        if g.timeout_secs == Some(0) {
            self.error(
                "bad-timeout",
                step_name.pos,
                "timeout_secs is 0",
                "use 1 or more seconds",
            );
        }
        if let Some(ms) = g.end_silence_ms
            && !(200..=5000).contains(&ms)
        {
            self.error(
                "bad-end-silence",
                step_name.pos,
                format!("end_silence_ms {ms} is outside 200..=5000"),
                "callers pause 300-700 ms between words; 800 suits most questions",
            );
        }
        if let (Some(min), Some(max)) = (g.min_digits, g.max_digits)
            && min > max
        {
            self.error(
                "bad-digits",
                step_name.pos,
                format!("min_digits {min} is above max_digits {max}"),
                "swap them",
            );
        }
        if let Some(t) = &g.terminator
            && !matches!(t.as_str(), "#" | "*")
        {
            self.error(
                "bad-key",
                t.pos,
                format!("terminator `{}` must be `#` or `*`", t.value),
                "quote it: terminator: \"#\"",
            );
        }
        if let Some(c) = g.confidence
            && !(0.0..=1.0).contains(&c)
        {
            self.error(
                "bad-confidence",
                step_name.pos,
                format!("confidence {c} is outside 0.0-1.0"),
                "use a value like 0.5",
            );
        }
    }

    fn check_transfer(&mut self, t: &TransferStep) {
        let doc = self.doc;
        let mut queues: Vec<&Name> = t.queue.iter().collect();
        queues.extend(t.route.iter().map(|r| &r.queue));
        if queues.is_empty() {
            self.error(
                "transfer-without-queue",
                Pos::UNKNOWN,
                "transfer names no queue",
                "add `queue:` or `route:` rules",
            );
        }
        for queue in queues {
            if !doc.queues.contains(queue) {
                let hint = suggest(queue, "queues", doc.queues.iter().map(|q| q.as_str()));
                self.error(
                    "unknown-queue",
                    queue.pos,
                    format!("queue `{}` is not declared", queue.value),
                    hint,
                );
            } else if let Some(known) = self.known_queues
                && !known.contains(&queue.value)
            {
                let hint = match super::diagnostic::closest(queue, known.iter().map(String::as_str))
                {
                    Some(c) => format!(
                        "did you mean `{c}`? (or add [acd.queues.{}] to the configuration)",
                        queue.value
                    ),
                    None => format!("add [acd.queues.{}] to the configuration", queue.value),
                };
                self.error(
                    "unknown-queue",
                    queue.pos,
                    format!("queue `{}` is not configured on the server", queue.value),
                    hint,
                );
            }
        }
        self.check_priority(t);
        self.check_skills(t);
        if let Some(wait) = &t.max_wait
            && !MAX_WAIT_RANGE.contains(&wait.value)
        {
            self.error(
                "bad-max-wait",
                wait.pos,
                format!(
                    "max_wait {} s is outside {}..={} s",
                    wait.value,
                    MAX_WAIT_RANGE.start(),
                    MAX_WAIT_RANGE.end()
                ),
                "an agent needs time to be offered the call; past an hour, offer a callback (`callback: true`)",
            );
        }
        if let Some(target) = &t.on_callback
            && !t.callback
        {
            self.warning(
                "callback-not-offered",
                target.pos,
                "`on_callback` is never taken: this transfer does not offer callbacks",
                "add `callback: true`, or remove `on_callback`",
            );
        }
        for rule in &t.route {
            if let Some(when) = &rule.when {
                self.check_condition(when);
            }
        }
        if t.queue.is_none()
            && !t.route.is_empty()
            && t.route.last().is_some_and(|r| r.when.is_some())
        {
            let pos = t.route.last().map(|r| r.queue.pos).unwrap_or(Pos::UNKNOWN);
            self.warning(
                "route-without-default",
                pos,
                "no routing rule matches when every condition is false",
                "end `route:` with a rule without `when`, or add `queue:` as the default",
            );
        }
        for var in &t.context {
            self.check_var_use(&var.value.clone(), var.pos);
        }
        self.check_play(&t.play);
    }

    fn check_priority(&mut self, t: &TransferStep) {
        let Some(priority) = &t.priority else {
            return;
        };
        let rules = match &priority.value {
            PriorityDecl::Level(level) => {
                if super::format::Priority::from_name(level).is_none() {
                    let levels = ["low", "normal", "high", "urgent"];
                    let hint = match super::diagnostic::closest(level, levels) {
                        Some(c) => format!("did you mean `{c}`?"),
                        None => "use low, normal, high or urgent, or rules: [{ when: ..., level: ... }, { level: normal }]".into(),
                    };
                    self.error(
                        "bad-priority",
                        priority.pos,
                        format!("`{level}` is not a priority level"),
                        hint,
                    );
                }
                return;
            }
            PriorityDecl::Rules(rules) => rules,
        };
        if rules.is_empty() {
            self.error(
                "bad-priority",
                priority.pos,
                "the priority has no rules",
                "write a level (`priority: high`) or rules ending with one without `when`",
            );
            return;
        }
        let mut catch_all: Option<&Located<super::format::Priority>> = None;
        for rule in rules {
            if let Some(earlier) = catch_all {
                self.warning(
                    "shadowed-rule",
                    rule.level.pos,
                    "this rule is never used: an earlier rule has no `when`",
                    format!(
                        "the rule at line {} always holds; move it last",
                        earlier.pos.line
                    ),
                );
            }
            match &rule.when {
                Some(when) => self.check_condition(when),
                None if catch_all.is_none() => catch_all = Some(&rule.level),
                None => {}
            }
        }
        if catch_all.is_none() {
            let pos = rules.last().map_or(priority.pos, |r| r.level.pos);
            self.warning(
                "priority-without-default",
                pos,
                "when no rule holds the priority is `normal`",
                "end the rules with one without `when`, e.g. `{ level: normal }`",
            );
        }
    }

    fn check_skills(&mut self, t: &TransferStep) {
        let mut seen: HashSet<&str> = HashSet::new();
        for skill in &t.skills {
            let name = &skill.value.name;
            let pos = if name.pos.is_known() {
                name.pos
            } else {
                skill.pos
            };
            let valid = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '-');
            if !valid {
                self.error(
                    "bad-name",
                    pos,
                    format!("`{}` is not a skill name", name.value),
                    "use letters, digits, `_` and `-`",
                );
            }
            if !seen.insert(name.as_str()) {
                self.error(
                    "duplicate-id",
                    pos,
                    format!("skill `{}` is listed twice", name.value),
                    "remove one of them",
                );
            }
            if let Some(level) = &skill.value.min_level
                && !(1..=5).contains(&level.value)
            {
                self.error(
                    "bad-skill-level",
                    level.pos,
                    format!("skill level {} is outside 1-5", level.value),
                    "proficiency goes from 1 (learning) to 5 (expert); the level is the lowest accepted",
                );
            }
        }
    }

    fn check_call(&mut self, flow_name: &Name, c: &super::format::CallStep) {
        let doc = self.doc;
        let Some(callee) = doc.flows.get(&c.flow) else {
            let hint = suggest(&c.flow, "flows", doc.flows.keys().map(|k| k.as_str()));
            self.error(
                "unknown-flow",
                c.flow.pos,
                format!("flow `{}` does not exist", c.flow.value),
                hint,
            );
            return;
        };
        if c.flow.value == self.start_flow {
            self.error(
                "bad-call",
                c.flow.pos,
                "the start flow cannot be called as a sub-flow",
                "move the shared steps into their own flow",
            );
        }
        if c.flow.value == flow_name.value {
            self.error(
                "recursive-call",
                c.flow.pos,
                format!("flow `{}` calls itself", c.flow.value),
                "use `goto` to loop inside a flow",
            );
        }
        let returned: Vec<&Name> = callee
            .steps
            .iter()
            .filter_map(|(_, s)| {
                if let Step::Return(o) = s {
                    Some(o)
                } else {
                    None
                }
            })
            .collect();
        for outcome in &returned {
            if !c.outcomes.contains_key(outcome) {
                self.error(
                    "unhandled-outcome",
                    c.flow.pos,
                    format!(
                        "flow `{}` may return `{}`, which this call does not handle",
                        c.flow.value, outcome.value
                    ),
                    format!("add `{}: step` under `outcomes:`", outcome.value),
                );
            }
        }
        for (outcome, _) in c.outcomes.iter() {
            if !returned.iter().any(|r| r.value == outcome.value) {
                self.warning(
                    "unused-outcome",
                    outcome.pos,
                    format!("flow `{}` never returns `{}`", c.flow.value, outcome.value),
                    "remove it, or add `return: ...` in the sub-flow",
                );
            }
        }
    }

    /// Reachability and loops, over the whole plan: nodes are (flow, step).
    fn check_graph(&mut self) {
        let doc = self.doc;
        let mut nodes: Vec<StepRef> = Vec::new();
        let mut index: HashMap<StepRef, usize> = HashMap::new();
        for (flow, f) in doc.flows.iter() {
            for (step, _) in f.steps.iter() {
                index.insert(
                    StepRef::new(flow.value.clone(), step.value.clone()),
                    nodes.len(),
                );
                nodes.push(StepRef::new(flow.value.clone(), step.value.clone()));
            }
        }
        // Successors: ordinary edges, plus a call's edge into the sub-flow's first step
        // (for reachability only: the sub-flow comes back through `outcomes`).
        let mut succ: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
        let mut calls: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
        for (i, at) in nodes.iter().enumerate() {
            let Some(step) = doc.flows.get(&at.flow).and_then(|f| f.steps.get(&at.step)) else {
                continue;
            };
            // The runtime hangs up rather than retry a failed transfer that is itself
            // the fallback.
            let is_fallback = at.flow == self.start_flow
                && doc.fallback.as_ref().is_some_and(|f| f.value == at.step);
            for edge in edges(doc, step) {
                if edge.implicit && is_fallback && matches!(step, Step::Transfer(_)) {
                    continue;
                }
                let target = match edge.target {
                    Target::Step { name, global, .. } => {
                        let flow = if global {
                            self.start_flow.clone()
                        } else {
                            at.flow.clone()
                        };
                        index.get(&StepRef::new(flow, name)).copied()
                    }
                    Target::Following => index
                        .get(at)
                        .map(|&j| j + 1)
                        .filter(|&j| j < nodes.len() && nodes[j].flow == at.flow),
                };
                if let Some(t) = target {
                    succ[i].push(t);
                }
            }
            if let Step::Call(c) = step
                && let Some((first, _)) =
                    doc.flows.get(&c.flow).and_then(|f| f.steps.entries.first())
                && let Some(&j) =
                    index.get(&StepRef::new(c.flow.value.clone(), first.value.clone()))
            {
                calls[i].push(j);
            }
        }
        // Reachable from the start.
        let mut reached = vec![false; nodes.len()];
        let mut stack: Vec<usize> = nodes
            .iter()
            .position(|n| n.flow == self.start_flow)
            .into_iter()
            .collect();
        while let Some(i) = stack.pop() {
            if std::mem::replace(&mut reached[i], true) {
                continue;
            }
            stack.extend(
                succ[i]
                    .iter()
                    .chain(calls[i].iter())
                    .copied()
                    .filter(|&j| !reached[j]),
            );
        }
        for (flow, f) in doc.flows.iter() {
            let mut any = false;
            let mut flow_unreached = true;
            for (step, _) in f.steps.iter() {
                if let Some(&i) = index.get(&StepRef::new(flow.value.clone(), step.value.clone())) {
                    any = true;
                    flow_unreached &= !reached[i];
                }
            }
            if any && flow_unreached && flow.value != self.start_flow {
                self.warning(
                    "unreachable",
                    flow.pos,
                    format!("flow `{}` is never called", flow.value),
                    "call it with `call: {flow: ...}` or remove it",
                );
                continue;
            }
            for (step, _) in f.steps.iter() {
                if let Some(&i) = index.get(&StepRef::new(flow.value.clone(), step.value.clone()))
                    && !reached[i]
                {
                    self.warning(
                        "unreachable",
                        step.pos,
                        format!("step `{}` can never be reached", step.value),
                        "no step leads here; add a `goto`/`next` to it or remove it",
                    );
                }
            }
        }
        // Loops: strongly connected components of the step graph.
        for component in strongly_connected(&succ) {
            let looping = component.len() > 1 || succ[component[0]].contains(&component[0]);
            if !looping {
                continue;
            }
            let members: HashSet<usize> = component.iter().copied().collect();
            let steps: Vec<&Step> = component
                .iter()
                .filter_map(|&i| {
                    doc.flows
                        .get(&nodes[i].flow)
                        .and_then(|f| f.steps.get(&nodes[i].step))
                })
                .collect();
            let leaves = component
                .iter()
                .any(|&i| succ[i].iter().any(|j| !members.contains(j)))
                || steps
                    .iter()
                    .any(|s| exit_of(s).is_some() || matches!(s, Step::Call(_)));
            let asks_caller = steps.iter().any(|s| matches!(s, Step::Gather(_)));
            let waits_outside = steps
                .iter()
                .any(|s| matches!(s, Step::Lookup(_) | Step::Transfer(_)));
            let mut names: Vec<String> = component.iter().map(|&i| nodes[i].to_string()).collect();
            names.sort();
            let first = component.iter().copied().min().unwrap_or(component[0]);
            let pos = doc
                .flows
                .get(&nodes[first].flow)
                .and_then(|f| f.steps.get_entry(&nodes[first].step))
                .map(|(k, _)| k.pos)
                .unwrap_or(Pos::UNKNOWN);
            if !leaves {
                self.error(
                    "trap",
                    pos,
                    format!("the caller can be trapped forever in the loop {}", names.join(" -> ")),
                    "give the loop a way out: a gather with `exhausted`, a branch to another step, a transfer or a hangup",
                );
            } else if !asks_caller && waits_outside {
                self.warning(
                    "retry-loop",
                    pos,
                    format!("the loop {} retries a lookup or transfer without asking the caller", names.join(" -> ")),
                    "if the service keeps failing the caller waits forever: count tries (`increment`) and branch out",
                );
            } else if !asks_caller {
                self.error(
                    "busy-loop",
                    pos,
                    format!(
                        "the loop {} repeats without waiting for the caller",
                        names.join(" -> ")
                    ),
                    "put a gather in the loop, or break it with a branch that cannot come back",
                );
            }
        }
    }
}

/// Tarjan's strongly connected components (iterative, so deep graphs cannot overflow).
fn strongly_connected(succ: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let n = succ.len();
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut out = Vec::new();
    let mut counter = 0;
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        let mut work: Vec<(usize, usize)> = vec![(root, 0)];
        while let Some(top) = work.len().checked_sub(1) {
            let (v, child) = work[top];
            if child == 0 && index[v] == usize::MAX {
                index[v] = counter;
                low[v] = counter;
                counter += 1;
                stack.push(v);
                on_stack[v] = true;
            }
            if let Some(&w) = succ[v].get(child) {
                work[top].1 += 1;
                if index[w] == usize::MAX {
                    work.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                let mut component = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                out.push(component);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::strongly_connected;

    #[test]
    fn finds_cycles_and_singletons() {
        let succ = vec![vec![1], vec![2], vec![0, 3], vec![], vec![4]];
        let mut comps: Vec<Vec<usize>> = strongly_connected(&succ)
            .into_iter()
            .map(|mut c| {
                c.sort();
                c
            })
            .collect();
        comps.sort();
        assert_eq!(comps, vec![vec![0, 1, 2], vec![3], vec![4]]);
    }
}
