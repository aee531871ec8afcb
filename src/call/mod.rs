//! One call: the call machine (`machine`, pure: events and the time in, commands out),
//! what drives it once answered (`behaviour`: the demo or a dialplan), listening for
//! speech (`listen`), and the thin tokio shell that moves events and commands (`shell`)
//! with the call's media leg (`media_leg`). The server builds a [`CallEnv`] and hands
//! each new INVITE to [`run`].

mod agent_leg;
mod behaviour;
mod command;
mod demo;
mod dialplan_call;
mod end;
mod env;
mod event;
mod hold;
mod ledger;
mod listen;
mod machine;
mod media_leg;
mod queued;
mod shell;

pub use behaviour::{Behaviour, Cue, Moment, Parties, Sound, Summary};
pub use command::Command;
pub use demo::{Demo, digit_prompt, required_prompts};
pub use dialplan_call::{DialplanCall, sounds};
pub use end::EndReason;
pub use env::CallEnv;
pub use event::{AgentLegEvent, CallEvent, DialogEnd, RequestId};
pub use hold::HOLD_MUSIC;
pub use machine::{Call, CallSettings, CallSetup};
pub use media_leg::MediaLeg;
pub use shell::{place_callbacks, run};

/// Errors that end a call early.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("SIP: {0}")]
    Sip(#[from] rsipstack::Error),
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod queued_tests;
