//! Self-service data: the sources a dialplan `lookup` step asks (SQLite embedded by
//! default, HTTP webhooks), caller verification (argon2 PINs, lockouts), and the demo bank.
//! Documented in docs/data.md; configured by `[data]` (docs/configuration.md).
//!
//! The call shell uses [`DataSources`]:
//! `DataSources::open(&DataConfig, data_dir) -> Result<DataSources, DataError>` once at
//! start, then `lookup(&self, source, &[LookupArg], &CallFacts).await -> LookupResult`
//! per lookup action. `verify_pin` answers `Found {status: verified, method}`,
//! `Found {status: locked}` when locked out, or `NotFound` for a wrong PIN.
//!
//! Tickets (tickets.rs) live in the same database: `Tickets::new(store)`, then
//! `open(&envelope, now) -> id` per transfer and `close(id, &Closing, now)` at wrap-up.

pub mod agents;
pub mod breaker;
pub mod builtin;
pub mod config;
pub mod error;
pub mod migrations;
pub mod pin;
pub mod query;
pub mod queue_events;
pub mod seed;
pub mod sources;
pub mod store;
pub mod tickets;
pub mod tls;
pub mod verify;
pub mod webhook;

pub use config::{DataConfig, SourceConfig};
pub use error::DataError;
pub use sources::{CallFacts, DataSources};
pub use store::Store;
pub use tickets::{Closing, Ticket, TicketError, Tickets};
