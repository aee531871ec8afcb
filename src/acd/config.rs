//! The ACD's part of `hotline.toml`: `[acd]` and one `[acd.queues.NAME]` table per queue.
//!
//! Every key is optional. Without any `[acd.queues.*]` table the server has the queues the
//! example bank dialplan (`dialplans/acme-bank.yaml`) names: `general`, `cards` (overflowing
//! to `general` after 60 s) and `disputes`. Writing one queue table replaces that set: the
//! file then lists every queue. Each key is documented in docs/configuration.md.

use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Lowest and highest proficiency an agent can have in a skill.
pub const PROFICIENCY_RANGE: std::ops::RangeInclusive<u8> = 1..=5;

/// `[acd]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AcdConfig {
    /// Handle time (talk + wrap-up) a queue's wait estimates assume before it has handled
    /// a call of its own.
    pub handle_time_initial_secs: u64,
    /// The queues by name (`[acd.queues.NAME]`).
    pub queues: BTreeMap<String, QueueConfig>,
}

/// How a queue chooses among the agents free to take a caller.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RoutingStrategy {
    /// The agent who has been waiting longest since their last call (fairest workload).
    #[default]
    LongestIdle,
    /// The next agent after the one offered last, in the order they logged in.
    RoundRobin,
    /// The agent with the best proficiency in the caller's skills; ties go to the longest
    /// idle. The lowest acceptable proficiency can widen while the caller waits (`widen`).
    Skills,
}

/// `[acd.queues.NAME]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct QueueConfig {
    pub strategy: RoutingStrategy,
    /// Skills every agent offered this queue's callers must have (the transfer may add more).
    pub skills: Vec<String>,
    /// `skills` strategy: the lowest proficiency (1-5) accepted when a caller arrives.
    pub min_proficiency: u8,
    /// `skills` strategy: later, lower minimums; the caller keeps their place meanwhile.
    pub widen: Vec<WidenStep>,
    /// How long an agent's phone rings before the offer counts as missed.
    pub ring_timeout_secs: u64,
    /// After-call work once a call ends; 0 sends the agent straight back to available.
    pub wrap_up_secs: u64,
    /// Callers on the line are handed back to the dialplan (`on_timeout`) after waiting
    /// this long; absent means no limit.
    pub max_wait_secs: Option<u64>,
    /// Answered within this many seconds counts toward the service level.
    pub service_level_secs: u64,
    /// Move waiting callers to another queue after a while, keeping their arrival time.
    pub overflow: Option<Overflow>,
    /// Tell waiting callers their position and expected wait.
    pub announce: bool,
    /// How often, in seconds, once the caller has been told the first time.
    pub announce_every_secs: u64,
    /// Missed or failed offers in a row after which an agent is put away ("no answer").
    pub rona_misses: u32,
    /// An agent who missed or refused a caller is not offered that caller again for this
    /// long (so a refusal does not ring the same phone again at once).
    pub reoffer_delay_secs: u64,
    pub callback: CallbackConfig,
}

/// `overflow = { after_secs = 60, to = "general" }`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Overflow {
    /// Seconds of waiting in this queue before the move.
    pub after_secs: u64,
    /// The queue the caller moves to.
    pub to: String,
}

/// One widening step: after `after_secs` of waiting, agents of `min_proficiency` or better
/// are accepted.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct WidenStep {
    pub after_secs: u64,
    pub min_proficiency: u8,
}

/// `[acd.queues.NAME.callback]`: a caller may hang up and keep their place.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct CallbackConfig {
    /// Whether this queue offers callbacks (the transfer must ask for them too).
    pub allowed: bool,
    /// Further attempts after a callback the caller did not answer.
    pub retries: u32,
    /// Seconds between attempts.
    pub retry_delay_secs: u64,
    /// How long the caller's phone rings on a callback before the attempt fails.
    pub ring_timeout_secs: u64,
}

/// What is wrong with an `[acd]` section, and where: `table` is the TOML table holding
/// `key` (`acd.queues.cards`), so the error can point at the right line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcdConfigProblem {
    pub table: String,
    pub key: &'static str,
    pub message: String,
}

impl Default for AcdConfig {
    fn default() -> Self {
        let cards = QueueConfig {
            overflow: Some(Overflow {
                after_secs: 60,
                to: "general".into(),
            }),
            ..QueueConfig::default()
        };
        Self {
            handle_time_initial_secs: 180,
            queues: BTreeMap::from([
                ("general".to_string(), QueueConfig::default()),
                ("cards".to_string(), cards),
                ("disputes".to_string(), QueueConfig::default()),
            ]),
        }
    }
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            strategy: RoutingStrategy::LongestIdle,
            skills: Vec::new(),
            min_proficiency: 1,
            widen: Vec::new(),
            ring_timeout_secs: 20,
            wrap_up_secs: 30,
            max_wait_secs: None,
            service_level_secs: 20,
            overflow: None,
            announce: true,
            announce_every_secs: 30,
            rona_misses: 2,
            reoffer_delay_secs: 30,
            callback: CallbackConfig::default(),
        }
    }
}

impl Default for CallbackConfig {
    fn default() -> Self {
        Self {
            allowed: true,
            retries: 2,
            retry_delay_secs: 60,
            ring_timeout_secs: 30,
        }
    }
}

impl AcdConfig {
    /// The configured queue names, in alphabetical order.
    pub fn queue_names(&self) -> impl Iterator<Item = &str> {
        self.queues.keys().map(String::as_str)
    }

    pub fn has_queue(&self, name: &str) -> bool {
        self.queues.contains_key(name)
    }

    pub fn handle_time_initial(&self) -> Duration {
        Duration::from_secs(self.handle_time_initial_secs)
    }

    /// The first problem found, or `None` when the section is usable.
    pub fn problem(&self) -> Option<AcdConfigProblem> {
        if self.handle_time_initial_secs == 0 {
            return Some(AcdConfigProblem {
                table: "acd".into(),
                key: "handle_time_initial_secs",
                message: "must be at least 1 second".into(),
            });
        }
        for (name, queue) in &self.queues {
            let table = format!("acd.queues.{name}");
            let problem = |key, message: String| AcdConfigProblem {
                table: table.clone(),
                key,
                message: format!("queue {name}: {message}"),
            };
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Some(problem(
                    "queues",
                    "a queue name uses letters, digits, '_' and '-' only".into(),
                ));
            }
            if let Some((key, message)) = queue.problem() {
                let table = match key {
                    "after_secs" | "to" => format!("{table}.overflow"),
                    "allowed" | "retries" | "retry_delay_secs" | "ring_timeout_secs"
                        if message.starts_with("callback") =>
                    {
                        format!("{table}.callback")
                    }
                    _ => table.clone(),
                };
                return Some(AcdConfigProblem {
                    table,
                    key,
                    message: format!("queue {name}: {message}"),
                });
            }
            if let Some(overflow) = &queue.overflow
                && !self.queues.contains_key(&overflow.to)
            {
                return Some(AcdConfigProblem {
                    table: format!("{table}.overflow"),
                    key: "to",
                    message: format!(
                        "queue {name}: overflow to unknown queue {:?} (known: {})",
                        overflow.to,
                        self.queue_names().collect::<Vec<_>>().join(", ")
                    ),
                });
            }
        }
        self.overflow_cycle()
    }

    /// Overflow chains must end: `a → b → a` would bounce callers for ever.
    fn overflow_cycle(&self) -> Option<AcdConfigProblem> {
        for start in self.queues.keys() {
            let mut seen = BTreeSet::from([start.as_str()]);
            let mut at = start.as_str();
            while let Some(next) = self
                .queues
                .get(at)
                .and_then(|q| q.overflow.as_ref())
                .map(|o| o.to.as_str())
            {
                if !seen.insert(next) {
                    return Some(AcdConfigProblem {
                        table: format!("acd.queues.{at}.overflow"),
                        key: "to",
                        message: format!(
                            "queue {at}: overflow to {next} closes a loop ({})",
                            seen.iter().copied().collect::<Vec<_>>().join(", ")
                        ),
                    });
                }
                at = next;
            }
        }
        None
    }
}

impl QueueConfig {
    /// A problem with this queue alone (the key and why), or `None`.
    pub fn problem(&self) -> Option<(&'static str, String)> {
        let at_least_one =
            |key, value: u64| (value == 0).then(|| (key, "must be at least 1 second".to_string()));
        if let Some(p) = at_least_one("ring_timeout_secs", self.ring_timeout_secs)
            .or_else(|| at_least_one("service_level_secs", self.service_level_secs))
            .or_else(|| at_least_one("announce_every_secs", self.announce_every_secs))
            .or_else(|| at_least_one("reoffer_delay_secs", self.reoffer_delay_secs))
            .or_else(|| at_least_one("max_wait_secs", self.max_wait_secs.unwrap_or(1)))
            .or_else(|| {
                at_least_one(
                    "after_secs",
                    self.overflow.as_ref().map_or(1, |o| o.after_secs),
                )
            })
        {
            return Some(p);
        }
        if self.rona_misses == 0 {
            return Some(("rona_misses", "must be at least 1".into()));
        }
        if self.callback.retry_delay_secs == 0 {
            return Some((
                "retry_delay_secs",
                "callback: must be at least 1 second".into(),
            ));
        }
        if self.callback.ring_timeout_secs == 0 {
            return Some((
                "ring_timeout_secs",
                "callback: must be at least 1 second".into(),
            ));
        }
        if let (Some(overflow), Some(max_wait)) = (&self.overflow, self.max_wait_secs)
            && overflow.after_secs >= max_wait
        {
            return Some((
                "after_secs",
                format!(
                    "overflow after {} s never happens: max_wait_secs is {max_wait} s",
                    overflow.after_secs
                ),
            ));
        }
        if self.skills.iter().any(|s| s.trim().is_empty()) {
            return Some(("skills", "a skill name cannot be empty".into()));
        }
        let bad_proficiency = |p: u8| !PROFICIENCY_RANGE.contains(&p);
        if bad_proficiency(self.min_proficiency) {
            return Some((
                "min_proficiency",
                format!("proficiency {} is outside 1-5", self.min_proficiency),
            ));
        }
        if self.strategy != RoutingStrategy::Skills
            && (self.min_proficiency != 1 || !self.widen.is_empty())
        {
            let key = if self.widen.is_empty() {
                "min_proficiency"
            } else {
                "widen"
            };
            return Some((key, "proficiencies need strategy = \"skills\"".into()));
        }
        let mut previous = (0, self.min_proficiency);
        for step in &self.widen {
            if bad_proficiency(step.min_proficiency) {
                return Some((
                    "widen",
                    format!("proficiency {} is outside 1-5", step.min_proficiency),
                ));
            }
            if step.after_secs <= previous.0 {
                return Some((
                    "widen",
                    "each step's after_secs must be above the previous one's (and above 0)".into(),
                ));
            }
            if step.min_proficiency >= previous.1 {
                return Some((
                    "widen",
                    format!(
                        "a step must lower the minimum proficiency (from {} to {} does not widen)",
                        previous.1, step.min_proficiency
                    ),
                ));
            }
            previous = (step.after_secs, step.min_proficiency);
        }
        None
    }

    pub fn ring_timeout(&self) -> Duration {
        Duration::from_secs(self.ring_timeout_secs)
    }

    pub fn service_level(&self) -> Duration {
        Duration::from_secs(self.service_level_secs)
    }

    /// The lowest proficiency accepted after waiting `waited`.
    pub fn min_proficiency_after(&self, waited: Duration) -> u8 {
        self.widen
            .iter()
            .take_while(|step| Duration::from_secs(step.after_secs) <= waited)
            .last()
            .map_or(self.min_proficiency, |step| step.min_proficiency)
    }

    /// When, counted in waiting time, the acceptable range next widens after `waited`.
    pub fn next_widening_after(&self, waited: Duration) -> Option<Duration> {
        self.widen
            .iter()
            .map(|step| Duration::from_secs(step.after_secs))
            .find(|after| *after > waited)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> AcdConfig {
        toml::from_str(text).expect("valid [acd] text")
    }

    #[test]
    fn the_defaults_give_the_bank_dialplan_its_queues() {
        let config = AcdConfig::default();
        assert_eq!(
            config.queue_names().collect::<Vec<_>>(),
            ["cards", "disputes", "general"]
        );
        let cards = &config.queues["cards"];
        assert_eq!(
            cards.overflow,
            Some(Overflow {
                after_secs: 60,
                to: "general".into()
            })
        );
        assert_eq!(
            cards.service_level_secs, 20,
            "the industry's 20 s by default"
        );
        assert_eq!(config.problem(), None);
    }

    #[test]
    fn a_queue_table_replaces_the_default_set() {
        let config = parse("[queues.sales]\nstrategy = \"round_robin\"\n");
        assert_eq!(config.queue_names().collect::<Vec<_>>(), ["sales"]);
        assert_eq!(config.queues["sales"].strategy, RoutingStrategy::RoundRobin);
        assert_eq!(config.problem(), None);
    }

    #[test]
    fn overflow_to_an_unknown_queue_is_refused() {
        let config = parse("[queues.a]\noverflow = { after_secs = 10, to = \"b\" }\n");
        let problem = config.problem().expect("refused");
        assert_eq!(
            (problem.table.as_str(), problem.key),
            ("acd.queues.a.overflow", "to")
        );
        assert!(
            problem.message.contains("unknown queue \"b\""),
            "{}",
            problem.message
        );
    }

    #[test]
    fn an_overflow_loop_is_refused() {
        let config = parse(
            "[queues.a]\noverflow = { after_secs = 10, to = \"b\" }\n\
             [queues.b]\noverflow = { after_secs = 10, to = \"a\" }\n",
        );
        assert!(config.problem().expect("refused").message.contains("loop"));
    }

    #[test]
    fn zero_timers_are_refused() {
        for key in [
            "ring_timeout_secs",
            "service_level_secs",
            "announce_every_secs",
            "max_wait_secs",
            "reoffer_delay_secs",
        ] {
            let config = parse(&format!("[queues.a]\n{key} = 0\n"));
            assert_eq!(config.problem().map(|p| p.key), Some(key), "{key}");
        }
        let config = parse("[queues.a]\noverflow = { after_secs = 0, to = \"a\" }\n");
        assert_eq!(config.problem().map(|p| p.key), Some("after_secs"));
        let config = parse("[queues.a.callback]\nretry_delay_secs = 0\n");
        let problem = config.problem().expect("refused");
        assert_eq!(problem.table, "acd.queues.a.callback");
        assert!(
            parse("[queues.a]\nwrap_up_secs = 0\n").problem().is_none(),
            "no wrap-up is fine"
        );
    }

    #[test]
    fn proficiency_outside_one_to_five_is_refused() {
        let config = parse("[queues.a]\nstrategy = \"skills\"\nmin_proficiency = 6\n");
        assert_eq!(config.problem().map(|p| p.key), Some("min_proficiency"));
        let config = parse(
            "[queues.a]\nstrategy = \"skills\"\nmin_proficiency = 5\n\
             widen = [{ after_secs = 10, min_proficiency = 0 }]\n",
        );
        assert!(
            config
                .problem()
                .expect("refused")
                .message
                .contains("outside 1-5")
        );
    }

    #[test]
    fn widening_steps_must_come_later_and_lower() {
        let config = parse(
            "[queues.a]\nstrategy = \"skills\"\nmin_proficiency = 5\n\
             widen = [{ after_secs = 20, min_proficiency = 3 }, { after_secs = 10, min_proficiency = 1 }]\n",
        );
        assert_eq!(config.problem().map(|p| p.key), Some("widen"));
        let config = parse("[queues.a]\nwiden = [{ after_secs = 20, min_proficiency = 3 }]\n");
        assert!(
            config
                .problem()
                .expect("refused")
                .message
                .contains("strategy")
        );
    }

    #[test]
    fn the_minimum_proficiency_widens_with_the_wait() {
        let config = parse(
            "[queues.a]\nstrategy = \"skills\"\nmin_proficiency = 5\n\
             widen = [{ after_secs = 20, min_proficiency = 3 }, { after_secs = 40, min_proficiency = 1 }]\n",
        );
        let queue = &config.queues["a"];
        let secs = Duration::from_secs;
        assert_eq!(queue.min_proficiency_after(secs(0)), 5);
        assert_eq!(queue.min_proficiency_after(secs(20)), 3);
        assert_eq!(queue.min_proficiency_after(secs(39)), 3);
        assert_eq!(queue.min_proficiency_after(secs(41)), 1);
        assert_eq!(queue.next_widening_after(secs(0)), Some(secs(20)));
        assert_eq!(queue.next_widening_after(secs(20)), Some(secs(40)));
        assert_eq!(queue.next_widening_after(secs(40)), None);
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<AcdConfig>("[queues.a]\nring_timout_secs = 3\n").is_err());
        assert!(toml::from_str::<AcdConfig>("[queues.a]\nstrategy = \"random\"\n").is_err());
    }
}
