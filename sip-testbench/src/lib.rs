//! Hotline's test bench: a caller bot (a small SIP user agent client of our own that dials,
//! plays a WAV file, records what it hears, sends RFC 4733 digits and hangs up), used by
//! the integration tests and by the `sip-testbench` benchmark command; and the agent
//! bot's phone, which registers with the server as an agent (digest, MD5 or SHA-256)
//! and takes the calls the server transfers to it.

pub mod agent;
pub mod agent_call;
pub mod caller;
pub mod uac;
