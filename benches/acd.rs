//! ACD decision time under load: 1,000 agents and 10,000 waiting callers in one queue, for
//! each routing strategy. Every row times single `Acd::handle` calls (or one `estimate`),
//! in steady state: a call ends and the freed agent takes the next caller, the agent
//! answers, a new caller arrives (so the line stays at 10,000), and a waiting caller's
//! position and expected wait are computed for an announcement.
//!
//! Run: `cargo bench --bench acd` (release). Figures go in docs/benchmarks.md.

use chrono::{DateTime, TimeDelta, Utc};
use hotline::acd::{
    Acd, AcdConfig, AcdEvent, AgentId, Arrival, CallerPriority, Decision, QueueConfig,
    QueuedCallId, RoutingStrategy, WidenStep,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

const AGENTS: usize = 1_000;
const WAITING: usize = 10_000;
const ROUNDS: usize = 20_000;
const EXTRA_SKILLS: [&str; 3] = ["spanish", "billing", "business"];

fn config(strategy: RoutingStrategy) -> AcdConfig {
    let mut queue = QueueConfig {
        strategy,
        wrap_up_secs: 0,
        announce: false,
        ..QueueConfig::default()
    };
    if strategy == RoutingStrategy::Skills {
        queue.skills = vec!["support".into()];
        queue.min_proficiency = 4;
        queue.widen = vec![
            WidenStep {
                after_secs: 10,
                min_proficiency: 2,
            },
            WidenStep {
                after_secs: 30,
                min_proficiency: 1,
            },
        ];
    }
    AcdConfig {
        handle_time_initial_secs: 180,
        queues: BTreeMap::from([("bench".to_string(), queue)]),
    }
}

struct Load {
    acd: Acd,
    rng: StdRng,
    now: DateTime<Utc>,
    next_call: usize,
    strategy: RoutingStrategy,
    /// Calls currently bridged, by agent.
    talking: Vec<(QueuedCallId, AgentId)>,
    /// Offers out, waiting for an answer.
    ringing: Vec<(QueuedCallId, AgentId)>,
    waiting: Vec<QueuedCallId>,
}

impl Load {
    fn new(strategy: RoutingStrategy) -> Self {
        let mut load = Load {
            acd: Acd::new(&config(strategy)),
            rng: StdRng::seed_from_u64(11),
            now: DateTime::<Utc>::UNIX_EPOCH + TimeDelta::days(20_000),
            next_call: 0,
            strategy,
            talking: Vec::new(),
            ringing: Vec::new(),
            waiting: Vec::new(),
        };
        for n in 0..AGENTS {
            let mut skills = BTreeMap::new();
            if strategy == RoutingStrategy::Skills {
                skills.insert("support".to_string(), load.rng.random_range(1..=5u8));
                for extra in EXTRA_SKILLS {
                    if load.rng.random_bool(0.5) {
                        skills.insert(extra.to_string(), load.rng.random_range(1..=5u8));
                    }
                }
            }
            let event = AcdEvent::AgentLoggedIn {
                agent: AgentId(format!("agent-{n}")),
                queues: vec!["bench".into()],
                skills,
                registered: true,
            };
            let decisions = load.acd.handle(event, load.now);
            load.absorb(decisions);
        }
        // Fill the line; answer every offer so the agents are all talking.
        while load.waiting.len() < WAITING {
            load.arrive();
            load.answer_all();
        }
        load
    }

    fn tick(&mut self) {
        self.now += TimeDelta::milliseconds(2);
    }

    fn absorb(&mut self, decisions: Vec<Decision>) {
        for decision in decisions {
            if let Decision::Offer { call, agent, .. } = decision {
                self.waiting.retain(|c| c != &call);
                self.ringing.push((call, agent));
            }
        }
    }

    fn arrival(&mut self) -> AcdEvent {
        self.next_call += 1;
        let call = QueuedCallId(format!("call-{}", self.next_call));
        self.waiting.push(call.clone());
        let priority = CallerPriority(if self.rng.random_bool(0.2) { 2 } else { 1 });
        let skills = if self.strategy == RoutingStrategy::Skills && self.rng.random_bool(0.3) {
            vec![EXTRA_SKILLS[self.rng.random_range(0..EXTRA_SKILLS.len())].to_string()]
        } else {
            Vec::new()
        };
        AcdEvent::Enqueue(Arrival {
            call,
            queue: "bench".into(),
            priority,
            skills,
            callback: false,
            max_wait: None,
        })
    }

    fn arrive(&mut self) -> Duration {
        let event = self.arrival();
        self.timed(event)
    }

    fn timed(&mut self, event: AcdEvent) -> Duration {
        self.tick();
        let start = Instant::now();
        let decisions = black_box(self.acd.handle(event, self.now));
        let took = start.elapsed();
        self.absorb(decisions);
        took
    }

    fn answer_all(&mut self) -> Vec<Duration> {
        let mut times = Vec::new();
        while let Some((call, agent)) = self.ringing.pop() {
            let event = AcdEvent::OfferAnswered {
                call: call.clone(),
                agent: agent.clone(),
            };
            times.push(self.timed(event));
            self.talking.push((call, agent));
        }
        times
    }

    fn end_a_call(&mut self) -> Option<Duration> {
        if self.talking.is_empty() {
            return None;
        }
        let at = self.rng.random_range(0..self.talking.len());
        let (call, _) = self.talking.swap_remove(at);
        Some(self.timed(AcdEvent::CallEnded { call }))
    }

    fn estimate_one(&mut self) -> Option<Duration> {
        if self.waiting.is_empty() {
            return None;
        }
        let call = self.waiting[self.rng.random_range(0..self.waiting.len())].clone();
        let start = Instant::now();
        black_box(self.acd.estimate(&call, self.now));
        Some(start.elapsed())
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let at = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[at.min(sorted.len() - 1)].as_secs_f64() * 1e6
}

fn row(strategy: &str, what: &str, mut times: Vec<Duration>) {
    times.sort();
    println!(
        "| {strategy:<12} | {what:<34} | {:>6} | {:>8.1} | {:>8.1} | {:>8.1} |",
        times.len(),
        percentile(&times, 0.50),
        percentile(&times, 0.99),
        percentile(&times, 1.0),
    );
}

fn main() {
    println!("{AGENTS} agents, {WAITING} waiting callers, {ROUNDS} rounds per strategy");
    println!();
    println!(
        "| strategy     | decision                           |      n |  p50 µs |  p99 µs |  max µs |"
    );
    println!(
        "|--------------|------------------------------------|--------|----------|----------|----------|"
    );
    for (name, strategy) in [
        ("longest_idle", RoutingStrategy::LongestIdle),
        ("round_robin", RoutingStrategy::RoundRobin),
        ("skills", RoutingStrategy::Skills),
    ] {
        let mut load = Load::new(strategy);
        let (mut ended, mut answered, mut arrived, mut estimated, mut all) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            if let Some(t) = load.end_a_call() {
                ended.push(t);
            }
            answered.extend(load.answer_all());
            while load.waiting.len() < WAITING {
                let t = load.arrive();
                arrived.push(t);
                answered.extend(load.answer_all());
            }
            if let Some(t) = load.estimate_one() {
                estimated.push(t);
            }
        }
        all.extend(ended.iter().chain(&answered).chain(&arrived).copied());
        row(name, "call ends → agent takes next caller", ended);
        row(name, "agent answers → bridge", answered);
        row(name, "caller arrives → queued", arrived);
        row(name, "every decision above", all);
        row(name, "estimate (position + wait)", estimated);
    }
}
