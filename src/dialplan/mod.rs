//! Dialplans: the file format, loading with line:column errors, validation and the pure runtime.

pub mod actions;
pub mod checker;
pub mod condition;
pub mod diagnostic;
pub mod edges;
pub mod events;
pub mod flow_test;
pub mod format;
pub mod graph;
pub mod loader;
pub mod located;
pub mod plan;
pub mod prompt_catalog;
pub mod runtime;
pub mod schedule;
pub mod schema;
pub mod session;
pub mod store;
pub mod template;
pub mod variables;

pub use actions::{Action, Listen, LookupArg, PlayItem, SkillRequirement, TransferContext};
pub use checker::CheckOptions;
pub use diagnostic::{Diagnostic, Report, Severity};
pub use events::{Event, LookupResult};
pub use format::Priority;
pub use loader::{load_path, load_path_with, load_source, load_source_with};
pub use plan::{Dialplan, StepRef};
pub use runtime::{CallState, Runtime, Understood};
pub use store::{DialplanStore, ReloadError};
pub use variables::MASK;
