//! The registrar for agents' SIP phones: REGISTER with digest authentication (SHA-256 and
//! MD5, qop=auth, expiring nonces, replay-checked nonce counts), per-source and per-agent
//! failure limits, and the bindings (several contacts per agent, each with its expiry).
//!
//! Pure cores with time passed in (`core`, `bindings`, `nonces`, `limiter`); [`handle`]
//! holds them for the server and is what the ACD asks "is agent X registered, where".
//! Documented in docs/agents.md; configured by `[registrar]`.

pub mod bindings;
pub mod config;
pub mod core;
pub mod handle;
pub mod limiter;
pub mod nonces;
pub mod request;

pub use bindings::{ContactBinding, RegistrationEvent, UnbindReason};
pub use config::RegistrarConfig;
pub use core::{AgentSecrets, RegisterDecision, RegisterRequest, Registrar};
pub use handle::Registrations;
pub use request::{RegisterParseError, read_register};
