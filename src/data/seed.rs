//! The demo bank: a few customers with accounts, balances (one overdrawn, one zero),
//! cards, argon2-hashed PINs, caller ids, a VIP and recent transactions, so that
//! `hotline serve` on a fresh machine runs the acme-bank dialplan end to end. Every value
//! is made up; the PINs are listed in docs/data.md for trying the demo.

use super::error::DataError;
use super::pin::hash_pin;
use super::store::Store;
use rusqlite::params;

/// One demo customer.
pub struct DemoCustomer {
    pub name: &'static str,
    /// Caller id, digits only.
    pub phone: Option<&'static str>,
    pub tier: &'static str,
    pub date_of_birth: &'static str,
    pub account: &'static str,
    pub pin: &'static str,
    pub balance_cents: i64,
    pub card: &'static str,
}

/// The demo customers (docs/data.md lists them).
pub const DEMO_CUSTOMERS: &[DemoCustomer] = &[
    DemoCustomer {
        name: "Alice Johnson",
        phone: Some("15551230001"),
        tier: "standard",
        date_of_birth: "1985-04-12",
        account: "12345678",
        pin: "1234",
        balance_cents: 123_456,
        card: "4111111111111111",
    },
    DemoCustomer {
        name: "Bob Smith",
        phone: Some("15551230002"),
        tier: "standard",
        date_of_birth: "1979-11-03",
        account: "23456789",
        pin: "4321",
        balance_cents: -4_217,
        card: "5500005555555559",
    },
    DemoCustomer {
        name: "Carol Diaz",
        phone: Some("15551230003"),
        tier: "vip",
        date_of_birth: "1968-02-29",
        account: "34567890",
        pin: "2468",
        balance_cents: 25_000_000,
        card: "340000000000009",
    },
    DemoCustomer {
        name: "Dan Lee",
        phone: None,
        tier: "standard",
        date_of_birth: "2001-07-21",
        account: "45678901",
        pin: "1111",
        balance_cents: 0,
        card: "6011000000000004",
    },
];

/// One demo transaction: (days ago, cents, description).
type DemoTransaction = (i64, i64, &'static str);

/// Recent transactions per demo account.
const TRANSACTIONS: &[(&str, &[DemoTransaction])] = &[
    (
        "12345678",
        &[
            (1, -4_599, "Grocery Mart"),
            (3, -1_250, "City Parking"),
            (6, 250_000, "Payroll"),
        ],
    ),
    (
        "23456789",
        &[
            (0, -6_000, "ATM withdrawal"),
            (2, -3_217, "Electric Co"),
            (9, 5_000, "Transfer in"),
        ],
    ),
    (
        "34567890",
        &[(1, -120_000, "Airline tickets"), (4, 1_500_000, "Dividend")],
    ),
];

/// Whether the database holds no customers yet.
pub fn is_empty(store: &Store) -> Result<bool, DataError> {
    store.with(|c| c.query_row("SELECT count(*) = 0 FROM customers", [], |r| r.get(0)))
}

/// Inserts the demo customers (in one transaction). Returns how many were added; customers
/// whose account already exists are skipped, so running it twice is harmless.
pub fn seed_demo(store: &Store, today: chrono::NaiveDate) -> Result<usize, DataError> {
    // Hash first: argon2 is deliberately slow and must not run inside the transaction.
    let hashes = DEMO_CUSTOMERS
        .iter()
        .map(|c| hash_pin(c.pin))
        .collect::<Result<Vec<_>, _>>()?;
    store.with(|conn| {
        let tx = conn.transaction()?;
        let mut added = 0;
        for (customer, hash) in DEMO_CUSTOMERS.iter().zip(&hashes) {
            let exists: bool =
                tx.query_row("SELECT count(*) > 0 FROM accounts WHERE number = ?1", [customer.account], |r| r.get(0))?;
            if exists {
                continue;
            }
            tx.execute(
                "INSERT INTO customers (name, phone, tier, date_of_birth) VALUES (?1, ?2, ?3, ?4)",
                params![customer.name, customer.phone, customer.tier, customer.date_of_birth],
            )?;
            let id = tx.last_insert_rowid();
            tx.execute(
                "INSERT INTO accounts (number, customer_id, balance_cents, pin_hash) VALUES (?1, ?2, ?3, ?4)",
                params![customer.account, id, customer.balance_cents, hash],
            )?;
            let last4 = &customer.card[customer.card.len() - 4..];
            tx.execute(
                "INSERT INTO cards (number, account, last4) VALUES (?1, ?2, ?3)",
                params![customer.card, customer.account, last4],
            )?;
            let recent = TRANSACTIONS.iter().find(|(a, _)| *a == customer.account).map(|(_, t)| *t).unwrap_or(&[]);
            for (days_ago, cents, description) in recent {
                let posted = today - chrono::Duration::days(*days_ago);
                tx.execute(
                    "INSERT INTO transactions (account, posted_on, amount_cents, description) VALUES (?1, ?2, ?3, ?4)",
                    params![customer.account, posted.to_string(), cents, description],
                )?;
            }
            added += 1;
        }
        tx.commit()?;
        Ok(added)
    })
}
