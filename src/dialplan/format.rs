//! The dialplan file format: the YAML document as plain structs and externally tagged
//! enums (so that a parse error points at the exact bad value), with the positions of
//! every name and reference kept for the semantic checks. Documented in docs/dialplan.md.

use super::located::{Located, OrderedMap};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt;

/// A step reference, a variable name, a prompt id...: a string with its position.
pub type Name = Located<String>;

/// One dialplan file.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DialplanDoc {
    /// Short name of the dialplan (used in logs and CDRs).
    pub name: Name,
    #[serde(default)]
    pub description: Option<String>,
    /// Prompt language: prompts are `prompts/<language>/<id>.wav`. Default `en-US`.
    #[serde(default)]
    pub language: Option<Name>,
    /// IANA timezone of the business, e.g. `America/New_York`.
    pub timezone: Name,
    /// Folder holding `<language>/` prompt folders, relative to this file. Default `../prompts`.
    #[serde(default)]
    pub prompts_dir: Option<Name>,
    /// The flow a call starts in. Default `main`.
    #[serde(default)]
    pub start: Option<Name>,
    /// Step of the start flow taken when nothing else applies: a gather out of attempts
    /// without `exhausted`, a lookup error without `error`, a failed transfer without
    /// `on_failure`.
    #[serde(default)]
    pub fallback: Option<Name>,
    /// Default minimum intent confidence (0.0-1.0) for gathers. Default 0.5.
    #[serde(default)]
    pub confidence: Option<f32>,
    /// Named opening-hours calendars used by `hours` steps.
    #[serde(default)]
    pub schedules: OrderedMap<Schedule>,
    /// Agent queues that `transfer` steps may use.
    #[serde(default)]
    pub queues: Vec<Name>,
    /// Named data sources that `lookup` steps may query.
    #[serde(default)]
    pub data_sources: OrderedMap<DataSourceDecl>,
    /// What callers may want, with example phrases.
    #[serde(default)]
    pub intents: OrderedMap<IntentDecl>,
    /// Values gathers can collect (account numbers, PINs, amounts, dates...).
    #[serde(default)]
    pub entities: OrderedMap<EntityDecl>,
    /// The call flows: `main` (or `start`) and reusable sub-flows.
    pub flows: OrderedMap<Flow>,
}

/// Opening hours in a timezone, with holiday dates on which it is closed all day.
/// Hours are `"HH:MM-HH:MM"`, several ranges separated by commas, or `closed`.
/// Specific days override `weekdays`/`weekend`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// Timezone of this schedule; default the dialplan's.
    #[serde(default)]
    pub timezone: Option<Name>,
    #[serde(default)]
    pub weekdays: Option<Name>,
    #[serde(default)]
    pub weekend: Option<Name>,
    #[serde(default)]
    pub mon: Option<Name>,
    #[serde(default)]
    pub tue: Option<Name>,
    #[serde(default)]
    pub wed: Option<Name>,
    #[serde(default)]
    pub thu: Option<Name>,
    #[serde(default)]
    pub fri: Option<Name>,
    #[serde(default)]
    pub sat: Option<Name>,
    #[serde(default)]
    pub sun: Option<Name>,
    /// Dates (`YYYY-MM-DD`) on which the schedule is closed.
    #[serde(default)]
    pub holidays: Vec<Name>,
}

/// A data source a lookup may query; its arguments and result fields are declared so that
/// `hotline check` can verify lookups.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DataSourceDecl {
    #[serde(default)]
    pub description: Option<String>,
    /// Argument names the source takes.
    #[serde(default)]
    pub args: Vec<Name>,
    /// Fields a found result carries (stored as `<into>.<field>`).
    #[serde(default)]
    pub returns: Vec<Name>,
    /// Result fields that are sensitive (masked in context and output).
    #[serde(default)]
    pub sensitive: Vec<Name>,
}

/// An intent: what a caller wants, taught by example phrases and keywords.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IntentDecl {
    #[serde(default)]
    pub description: Option<String>,
    /// Example phrases a caller might say.
    #[serde(default)]
    pub examples: Vec<String>,
    /// Words that strongly indicate the intent.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Makes the intent global: recognised in every gather, and the call goes to this
    /// step of the start flow (e.g. "agent" at any point).
    #[serde(default)]
    pub anywhere: Option<Name>,
}

/// An entity type a gather can collect.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EntityDecl {
    pub kind: Located<EntityKindDecl>,
    /// Sensitive values (PINs, card numbers, dates of birth) are masked in transfer
    /// context, transcripts and every output.
    #[serde(default)]
    pub sensitive: bool,
}

/// The kinds of entity caller understanding can extract.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum EntityKindDecl {
    /// A digit string of `min`..=`max` digits.
    Digits { min: u32, max: u32 },
    /// A Luhn-checked payment card number.
    CardNumber,
    /// An amount of money.
    Money,
    /// A calendar date ("yesterday", "March 3rd").
    Date,
    /// Yes or no.
    YesNo,
    /// An ordinal choice ("the second one").
    Ordinal,
}

/// A flow: named steps run in file order unless a step says where to go.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Flow {
    #[serde(default)]
    pub description: Option<String>,
    pub steps: OrderedMap<Step>,
}

/// One step. Exactly one key says what kind of step it is.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// Play prompts and text to the caller.
    Say(SayStep),
    /// Ask and listen: speech and/or keys, for intents and/or one entity.
    Gather(GatherStep),
    /// Choose the next step on conditions over variables.
    Branch(BranchStep),
    /// Set variables.
    Set(SetStep),
    /// Ask a data source.
    Lookup(LookupStep),
    /// Hand the call to an agent queue with context.
    Transfer(TransferStep),
    /// End the call.
    Hangup(HangupStep),
    /// Jump to another step of this flow.
    Goto(Name),
    /// Open / closed / holiday by a schedule, at the time of the call.
    Hours(HoursStep),
    /// Run a sub-flow and continue by the outcome it returns.
    Call(CallStep),
    /// Leave a sub-flow with a named outcome.
    Return(Name),
}

/// One thing to play.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum SayItem {
    /// A recorded prompt id (`prompts/<language>/<id>.wav`).
    Prompt(Name),
    /// Text with variables: `{name}`, or typed readback `{balance:money}`,
    /// `{account:digits}`, `{date:date}`, `{n:number}`.
    Text(Name),
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SayStep {
    pub play: Vec<SayItem>,
    /// May the caller interrupt? Default false.
    #[serde(default)]
    pub barge_in: Option<bool>,
    /// Next step; default the following step.
    #[serde(default)]
    pub next: Option<Name>,
}

/// Which inputs a gather listens for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum InputMode {
    Speech,
    Dtmf,
    #[default]
    Both,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GatherStep {
    /// The question.
    #[serde(default)]
    pub play: Vec<SayItem>,
    /// `speech`, `dtmf` or `both` (default).
    #[serde(default)]
    pub input: InputMode,
    /// Expected intents and the step each leads to.
    #[serde(default)]
    pub intents: OrderedMap<Name>,
    /// Keypad menu: a key (quote it: `"1"`) and the intent it stands for.
    #[serde(default)]
    pub keys: OrderedMap<Name>,
    /// The one entity this gather collects.
    #[serde(default)]
    pub entity: Option<Name>,
    /// Variable that receives the entity; default the entity's name.
    #[serde(default)]
    pub into: Option<Name>,
    /// Step after the entity was collected; default the following step.
    #[serde(default)]
    pub next: Option<Name>,
    /// Seconds of silence before a no-input. Default 5.
    #[serde(default)]
    pub timeout_secs: Option<u32>,
    /// Milliseconds of silence that end the caller's utterance. Default 800; shorter for
    /// yes/no questions, longer for account numbers read out in groups.
    #[serde(default)]
    pub end_silence_ms: Option<u32>,
    /// Tries before `exhausted`. Default 3.
    #[serde(default)]
    pub max_attempts: Option<u32>,
    /// Played after silence, before listening again.
    #[serde(default)]
    pub no_input: Option<Vec<SayItem>>,
    /// Played when the answer was not understood, before listening again.
    #[serde(default)]
    pub no_match: Option<Vec<SayItem>>,
    /// Step after `max_attempts` failures; default the dialplan's `fallback`.
    #[serde(default)]
    pub exhausted: Option<Name>,
    /// May the caller answer while the question plays? Default true.
    #[serde(default)]
    pub barge_in: Option<bool>,
    /// Fewest keypad digits accepted.
    #[serde(default)]
    pub min_digits: Option<u32>,
    /// Most keypad digits (input ends at this many).
    #[serde(default)]
    pub max_digits: Option<u32>,
    /// Key that ends keypad input. Default `#`.
    #[serde(default)]
    pub terminator: Option<Name>,
    /// Minimum intent confidence for this gather (0.0-1.0).
    #[serde(default)]
    pub confidence: Option<f32>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BranchStep {
    /// Tried in order; the first true condition wins.
    #[serde(default)]
    pub cases: Vec<BranchCase>,
    /// Step when no case is true.
    pub otherwise: Name,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BranchCase {
    /// A condition: `var`, `not var`, `var == value`, `var != value`, `var < 10`,
    /// `>`, `<=`, `>=`, joined with `and` / `or`. Values: numbers, `true`/`false`,
    /// words, or 'quoted text'.
    pub when: Name,
    pub goto: Name,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetStep {
    /// Variable names and values (text with `{variables}`; `true`/`false` and numbers are typed).
    #[serde(default)]
    pub values: OrderedMap<Name>,
    /// Counters to add one to (an unset counter becomes 1).
    #[serde(default)]
    pub increment: Vec<Name>,
    #[serde(default)]
    pub next: Option<Name>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupStep {
    /// A data source declared in `data_sources`.
    pub source: Name,
    /// Arguments: text with `{variables}`.
    #[serde(default)]
    pub args: OrderedMap<Name>,
    /// Result fields are stored as `<into>.<field>`.
    pub into: Name,
    /// Step when found; default the following step.
    #[serde(default)]
    pub found: Option<Name>,
    pub not_found: Name,
    /// Step when the source failed; default the dialplan's `fallback`.
    #[serde(default)]
    pub error: Option<Name>,
}

/// How urgent a transfer is. Ordered (`Low < Normal < High < Urgent`): a queue serves
/// waiting callers by priority first, then by arrival.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    #[default]
    Normal,
    High,
    Urgent,
}

impl Priority {
    /// Every level, lowest first.
    pub const ALL: [Priority; 4] = [
        Priority::Low,
        Priority::Normal,
        Priority::High,
        Priority::Urgent,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }

    /// 0 (low) to 3 (urgent): a sort key for queues that keep numbers.
    pub fn rank(self) -> u8 {
        self as u8
    }

    /// The level named `text` (`low`, `normal`, `high`, `urgent`).
    pub fn from_name(text: &str) -> Option<Priority> {
        Priority::ALL.into_iter().find(|p| p.as_str() == text)
    }
}

/// A transfer's priority: a fixed level (`priority: high`), or rules tried in order, the
/// first whose `when` holds giving the level (`priority: [{ when: "customer.tier == vip",
/// level: urgent }, { level: normal }]`). No rule holding means `normal`.
#[derive(Debug, Clone, PartialEq)]
pub enum PriorityDecl {
    /// A level's name, as written: the checker reports an unknown one at its position.
    Level(String),
    Rules(Vec<PriorityRule>),
}

/// One priority rule.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PriorityRule {
    /// A condition (as in `branch`); omit for the last, catch-all rule.
    #[serde(default)]
    pub when: Option<Name>,
    /// `low`, `normal`, `high` or `urgent`.
    pub level: Located<Priority>,
}

impl<'de> Deserialize<'de> for PriorityDecl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PriorityVisitor;

        impl<'de> Visitor<'de> for PriorityVisitor {
            type Value = PriorityDecl;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a level (low, normal, high, urgent) or a list of `{ when, level }` rules",
                )
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<PriorityDecl, E> {
                Ok(PriorityDecl::Level(text.to_string()))
            }

            // Kept as text so that the checker points at the value, not at the key.
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<PriorityDecl, E> {
                Ok(PriorityDecl::Level(v.to_string()))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<PriorityDecl, E> {
                Ok(PriorityDecl::Level(v.to_string()))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<PriorityDecl, E> {
                Ok(PriorityDecl::Level(v.to_string()))
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<PriorityDecl, E> {
                Ok(PriorityDecl::Level(v.to_string()))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PriorityDecl, A::Error> {
                let mut rules = Vec::new();
                while let Some(rule) = seq.next_element::<PriorityRule>()? {
                    rules.push(rule);
                }
                Ok(PriorityDecl::Rules(rules))
            }
        }

        deserializer.deserialize_any(PriorityVisitor)
    }
}

impl JsonSchema for PriorityDecl {
    fn schema_name() -> Cow<'static, str> {
        "PriorityDecl".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "`low`, `normal` (default), `high`, `urgent`; or rules tried in order, the first whose `when` holds giving the level.",
            "anyOf": [
                generator.subschema_for::<Priority>(),
                { "type": "array", "items": generator.subschema_for::<PriorityRule>() }
            ]
        })
    }
}

/// A skill the agent must have, with the lowest proficiency accepted (1-5; none: any).
/// Written as a name (`cards`) or a one-entry mapping (`spanish: 3`).
#[derive(Debug, Clone, PartialEq)]
pub struct SkillNeed {
    /// Placed when written as a mapping; a bare name takes the position of its list item.
    pub name: Name,
    pub min_level: Option<Located<i64>>,
}

impl<'de> Deserialize<'de> for SkillNeed {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SkillVisitor;

        impl<'de> Visitor<'de> for SkillVisitor {
            type Value = SkillNeed;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a skill name, or `name: level` with a level from 1 to 5")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<SkillNeed, E> {
                Ok(SkillNeed {
                    name: Name::unplaced(text.to_string()),
                    min_level: None,
                })
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SkillNeed, A::Error> {
                let Some((name, level)) = map.next_entry::<Name, Located<i64>>()? else {
                    return Err(de::Error::custom(
                        "a skill needs a name: `cards` or `cards: 3`",
                    ));
                };
                if map.next_key::<Name>()?.is_some() {
                    return Err(de::Error::custom(
                        "one skill per list item: `- cards: 3`, then `- spanish: 2`",
                    ));
                }
                Ok(SkillNeed {
                    name,
                    min_level: Some(level),
                })
            }
        }

        deserializer.deserialize_any(SkillVisitor)
    }
}

impl JsonSchema for SkillNeed {
    fn schema_name() -> Cow<'static, str> {
        "SkillNeed".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A skill name (`cards`), or a name and the lowest proficiency accepted, 1-5 (`spanish: 3`).",
            "anyOf": [
                { "type": "string" },
                {
                    "type": "object",
                    "minProperties": 1,
                    "maxProperties": 1,
                    "additionalProperties": { "type": "integer", "minimum": 1, "maximum": 5 }
                }
            ]
        })
    }
}

/// The bounds of `max_wait`, in seconds: under 10 s no agent could be offered the call;
/// over an hour a caller is better served by a callback.
pub const MAX_WAIT_RANGE: std::ops::RangeInclusive<u32> = 10..=3600;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferStep {
    /// A queue declared in `queues` (or use `route`).
    #[serde(default)]
    pub queue: Option<Name>,
    /// Routing rules: the first true condition picks the queue.
    #[serde(default)]
    pub route: Vec<RouteRule>,
    /// `low`, `normal` (default), `high`, `urgent`; or rules such as
    /// `[{ when: "customer.tier == vip", level: urgent }, { level: normal }]`.
    #[serde(default)]
    pub priority: Option<Located<PriorityDecl>>,
    /// Skills the agent needs besides the queue's own: `cards`, or `spanish: 3` for a
    /// proficiency of at least 3 (1-5).
    #[serde(default)]
    pub skills: Vec<Located<SkillNeed>>,
    /// Longest wait for an agent, in seconds (10-3600); then the call goes to `on_timeout`.
    /// Default: the queue's own limit.
    #[serde(default)]
    pub max_wait: Option<Located<u32>>,
    /// Step after waiting too long; default `on_failure`.
    #[serde(default)]
    pub on_timeout: Option<Name>,
    /// May the caller ask to be called back while waiting, keeping their place? Default false.
    #[serde(default)]
    pub callback: bool,
    /// Step after the caller accepted a callback (a goodbye); default: hang up.
    #[serde(default)]
    pub on_callback: Option<Name>,
    /// Variables attached to the call for the agent (sensitive ones masked).
    #[serde(default)]
    pub context: Vec<Name>,
    /// Played before transferring.
    #[serde(default)]
    pub play: Vec<SayItem>,
    /// Step when the transfer fails (nobody staffed, queue closed, agents not answering);
    /// default the dialplan's `fallback`.
    #[serde(default)]
    pub on_failure: Option<Name>,
}

impl TransferStep {
    /// The priority rules, a fixed level being one rule that always holds.
    pub fn priority_rules(&self) -> Vec<(Option<&Name>, Priority)> {
        match self.priority.as_ref().map(|p| &p.value) {
            None => vec![(None, Priority::Normal)],
            Some(PriorityDecl::Level(level)) => {
                vec![(None, Priority::from_name(level).unwrap_or_default())]
            }
            Some(PriorityDecl::Rules(rules)) => rules
                .iter()
                .map(|r| (r.when.as_ref(), r.level.value))
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteRule {
    /// A condition (as in `branch`); omit for the last, catch-all rule.
    #[serde(default)]
    pub when: Option<Name>,
    pub queue: Name,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HangupStep {
    /// Played before hanging up.
    #[serde(default)]
    pub play: Vec<SayItem>,
    /// Why the call ends (recorded in the CDR). Default `completed`.
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HoursStep {
    /// A schedule declared in `schedules`.
    pub schedule: Name,
    pub open: Name,
    pub closed: Name,
    /// Step on holidays; default `closed`.
    #[serde(default)]
    pub holiday: Option<Name>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CallStep {
    /// The sub-flow to run.
    pub flow: Name,
    /// Each outcome the sub-flow may `return`, and the step it leads to.
    pub outcomes: OrderedMap<Name>,
}
