//! Dialplans: the file format, loading with line:column errors, validation and the pure runtime.

pub mod condition;
pub mod diagnostic;
pub mod flow_test;
pub mod format;
pub mod graph;
pub mod located;
pub mod prompt_catalog;
pub mod schedule;
pub mod schema;
pub mod session;
pub mod store;
pub mod template;
pub mod variables;
pub mod actions;
pub mod checker;
pub mod edges;
pub mod events;
pub mod loader;
pub mod plan;
pub mod runtime;

pub use diagnostic::{Diagnostic, Report, Severity};
pub use loader::{load_path, load_source};
pub use plan::{Dialplan, StepRef};
pub use actions::{Action, Listen, LookupArg, PlayItem, TransferContext};
pub use events::{Event, LookupResult};
pub use runtime::{CallState, Runtime};
pub use store::{DialplanStore, ReloadError};
