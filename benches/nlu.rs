//! Caller-understanding speed: `understand` on a dialplan with 30 intents (all competing,
//! the worst case), for short, long, misheard and out-of-scope transcripts and for entity
//! steps; and the one-off cost of preparing the model at load.
//!
//! Run: `cargo bench --bench nlu`. Figures go in docs/benchmarks.md.

use chrono::NaiveDate;
use criterion::{Criterion, criterion_group, criterion_main};
use hotline::nlu::{
    DEFAULT_THRESHOLD, EntityDef, EntityKind, Expectation, IntentDef, IntentModel, understand,
};
use std::hint::black_box;

/// 30 intents of a retail bank, 8 examples and a few keywords each.
fn thirty_intents() -> Vec<IntentDef> {
    let specs: [(&str, [&str; 8], &[&str]); 30] = [
        (
            "balance",
            [
                "what's my balance",
                "check my balance",
                "account balance",
                "how much money do I have",
                "how much is in my checking account",
                "what is my available balance",
                "I want to know my balance",
                "how much do I have in savings",
            ],
            &["balance"],
        ),
        (
            "lost_card",
            [
                "I lost my card",
                "my card was stolen",
                "report a lost card",
                "I can't find my debit card",
                "someone stole my wallet",
                "block my card",
                "freeze my card",
                "my credit card is missing",
            ],
            &["lost", "stolen", "freeze"],
        ),
        (
            "dispute",
            [
                "dispute a charge",
                "there's a charge I don't recognize",
                "I was charged twice",
                "report a fraudulent transaction",
                "wrong charge on my statement",
                "I didn't make this purchase",
                "I want my money back for a charge",
                "unauthorized transaction",
            ],
            &["dispute", "fraud"],
        ),
        (
            "transactions",
            [
                "recent transactions",
                "what were my last purchases",
                "show me my recent activity",
                "did my paycheck deposit go through",
                "list my last transactions",
                "when was my last deposit",
                "what did I spend yesterday",
                "transaction history",
            ],
            &["transactions", "history"],
        ),
        (
            "agent",
            [
                "talk to an agent",
                "speak to a representative",
                "I want to talk to a real person",
                "customer service",
                "operator",
                "can I speak to someone",
                "get me a human",
                "transfer me",
            ],
            &["agent", "representative", "operator"],
        ),
        (
            "transfer_funds",
            [
                "transfer money between accounts",
                "move money to savings",
                "send money to checking",
                "make a transfer",
                "transfer funds",
                "move funds from savings",
                "put money into my savings",
                "internal transfer",
            ],
            &["transfer"],
        ),
        (
            "pay_bill",
            [
                "pay a bill",
                "pay my electric bill",
                "make a bill payment",
                "schedule a payment",
                "pay my phone bill",
                "set up bill pay",
                "pay the water bill",
                "bill payment",
            ],
            &["bill"],
        ),
        (
            "loan_payment",
            [
                "make a loan payment",
                "pay my car loan",
                "pay my mortgage",
                "when is my loan payment due",
                "loan balance",
                "pay off my loan",
                "mortgage payment",
                "student loan payment",
            ],
            &["loan", "mortgage"],
        ),
        (
            "open_account",
            [
                "open a new account",
                "open a savings account",
                "I want to open a checking account",
                "new account",
                "sign up for an account",
                "start a new account",
                "open an account for my kid",
                "become a customer",
            ],
            &["open"],
        ),
        (
            "close_account",
            [
                "close my account",
                "cancel my account",
                "I want to close my savings",
                "shut down my account",
                "end my account",
                "terminate my account",
                "close checking",
                "leave the bank",
            ],
            &["close"],
        ),
        (
            "change_address",
            [
                "change my address",
                "update my address",
                "I moved",
                "new mailing address",
                "update my contact details",
                "change my phone number",
                "update my email",
                "new home address",
            ],
            &["address", "moved"],
        ),
        (
            "reset_pin",
            [
                "reset my pin",
                "I forgot my pin",
                "change my pin",
                "new pin number",
                "my pin doesn't work",
                "unlock my pin",
                "set a new pin",
                "pin reset",
            ],
            &["pin"],
        ),
        (
            "online_banking",
            [
                "I can't log in",
                "reset my password",
                "online banking help",
                "locked out of the app",
                "the website won't let me in",
                "forgot my username",
                "mobile app not working",
                "login problem",
            ],
            &["password", "login", "app"],
        ),
        (
            "branch_hours",
            [
                "what time do you open",
                "branch hours",
                "when do you close",
                "are you open on saturday",
                "opening hours",
                "what are your hours",
                "is the branch open today",
                "holiday hours",
            ],
            &["hours"],
        ),
        (
            "branch_location",
            [
                "where is the nearest branch",
                "find a branch",
                "branch near me",
                "where is an atm",
                "find an atm",
                "closest location",
                "address of the branch",
                "atm locations",
            ],
            &["branch", "atm", "nearest"],
        ),
        (
            "interest_rates",
            [
                "what are your interest rates",
                "savings rate",
                "mortgage rates",
                "what's the apr on my card",
                "current rates",
                "cd rates",
                "interest rate on savings",
                "loan rates",
            ],
            &["rate", "rates", "apr"],
        ),
        (
            "credit_limit",
            [
                "increase my credit limit",
                "raise my limit",
                "what's my credit limit",
                "credit line increase",
                "higher limit",
                "limit increase",
                "can I get a bigger limit",
                "my available credit",
            ],
            &["limit"],
        ),
        (
            "travel_notice",
            [
                "I'm traveling abroad",
                "set a travel notice",
                "going overseas",
                "using my card in another country",
                "travel notification",
                "I'll be in europe",
                "vacation notice",
                "tell you I'm traveling",
            ],
            &["travel", "traveling", "abroad"],
        ),
        (
            "order_checks",
            [
                "order checks",
                "I need new checks",
                "reorder checks",
                "buy a checkbook",
                "check book order",
                "more checks",
                "order a checkbook",
                "new checkbook",
            ],
            &["checkbook", "checks"],
        ),
        (
            "stop_payment",
            [
                "stop a payment",
                "stop a check",
                "cancel a check",
                "put a stop on a check",
                "stop payment on a check",
                "cancel a payment",
                "block a payment",
                "stop a direct debit",
            ],
            &["stop"],
        ),
        (
            "wire_transfer",
            [
                "send a wire",
                "wire transfer",
                "international wire",
                "wire money",
                "incoming wire",
                "wire instructions",
                "routing number for a wire",
                "send money overseas",
            ],
            &["wire"],
        ),
        (
            "routing_number",
            [
                "what's your routing number",
                "routing number",
                "aba number",
                "bank routing number",
                "my account and routing number",
                "direct deposit information",
                "swift code",
                "bank code",
            ],
            &["routing", "swift"],
        ),
        (
            "card_activation",
            [
                "activate my card",
                "activate my new card",
                "card activation",
                "turn on my new card",
                "I got a new card in the mail",
                "my new card won't work",
                "set up my new card",
                "enable my card",
            ],
            &["activate", "activation"],
        ),
        (
            "replace_card",
            [
                "replace my card",
                "my card is damaged",
                "my card is broken",
                "new card please",
                "the chip doesn't work",
                "card replacement",
                "my card is expiring",
                "send me another card",
            ],
            &["replace", "damaged"],
        ),
        (
            "overdraft",
            [
                "overdraft fee",
                "why was I charged an overdraft",
                "overdraft protection",
                "I'm overdrawn",
                "negative balance",
                "refund the overdraft fee",
                "turn off overdraft",
                "insufficient funds fee",
            ],
            &["overdraft", "overdrawn"],
        ),
        (
            "fees",
            [
                "why was I charged a fee",
                "monthly fee",
                "maintenance fee",
                "what fees do you charge",
                "waive the fee",
                "service charge",
                "atm fee",
                "account fees",
            ],
            &["fee", "fees"],
        ),
        (
            "statements",
            [
                "send me my statement",
                "paper statements",
                "where is my statement",
                "monthly statement",
                "e statements",
                "copy of my statement",
                "tax documents",
                "year end statement",
            ],
            &["statement", "statements"],
        ),
        (
            "rewards",
            [
                "rewards points",
                "how many points do I have",
                "redeem my points",
                "cash back",
                "rewards balance",
                "use my rewards",
                "points balance",
                "miles balance",
            ],
            &["rewards", "points"],
        ),
        (
            "repeat",
            [
                "repeat that",
                "say that again",
                "what did you say",
                "can you repeat",
                "pardon",
                "come again",
                "I didn't hear you",
                "one more time",
            ],
            &["repeat"],
        ),
        (
            "goodbye",
            [
                "goodbye",
                "that's all",
                "bye",
                "I'm done",
                "no thanks that's it",
                "hang up",
                "nothing else",
                "that's everything",
            ],
            &["goodbye", "bye"],
        ),
    ];
    specs
        .into_iter()
        .map(|(name, examples, keywords)| IntentDef {
            name: name.to_string(),
            examples: examples.iter().map(|s| s.to_string()).collect(),
            keywords: keywords.iter().map(|s| s.to_string()).collect(),
            global: matches!(name, "agent" | "repeat" | "goodbye"),
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let defs = thirty_intents();
    let model = IntentModel::new(defs.clone());
    let all: Vec<String> = defs.iter().map(|d| d.name.clone()).collect();
    let today = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap_or_default();
    let menu = Expectation {
        intents: &all,
        include_global: true,
        entity: None,
        today,
        threshold: DEFAULT_THRESHOLD,
    };

    let mut group = c.benchmark_group("understand_30_intents");
    for (id, text) in [
        ("short", "What's my balance?"),
        ("misheard", "I want to this pute a charge on my ballance"),
        (
            "run_on_40_words",
            "Um, yeah, hi, so I was calling because I looked at my statement this morning and, \
             uh, there's like a charge from some company I've never heard of, forty nine ninety \
             nine, and I definitely didn't make that purchase so I want to dispute it please",
        ),
        ("out_of_scope", "Thank you for watching."),
    ] {
        group.bench_function(id, |b| {
            b.iter(|| understand(&model, black_box(text), &menu))
        });
    }

    let none: Vec<String> = Vec::new();
    let entities = [
        (
            "account_digits",
            EntityKind::Digits {
                min_len: 8,
                max_len: 8,
            },
            "For four seven one, twenty three oh nine.",
        ),
        (
            "money",
            EntityKind::Money,
            "Forty nine dollars and ninety nine cents.",
        ),
        (
            "date",
            EntityKind::Date,
            "Um, I think it was last Tuesday, the seventeenth.",
        ),
        ("card", EntityKind::CardNumber, "4111 1111 1111 1111"),
        ("yes_no", EntityKind::YesNo, "Yeah, that's right."),
    ];
    for (id, kind, text) in entities {
        let def = EntityDef {
            name: id.to_string(),
            kind,
            sensitive: false,
        };
        let step = Expectation {
            intents: &none,
            include_global: true,
            entity: Some(&def),
            today,
            threshold: DEFAULT_THRESHOLD,
        };
        group.bench_function(format!("entity_{id}"), |b| {
            b.iter(|| understand(&model, black_box(text), &step))
        });
    }
    group.finish();

    c.bench_function("intent_model_new_30_intents", |b| {
        b.iter(|| IntentModel::new(black_box(defs.clone())))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
