//! Automatic call distribution. On this branch only the context envelope; the queues,
//! agents and routing core arrive from the ACD branch (which owns this file).

pub mod envelope;
