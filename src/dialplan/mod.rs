//! Dialplans: the file format, loading with line:column errors, validation and the pure runtime.

pub mod condition;
pub mod diagnostic;
pub mod format;
pub mod located;
pub mod prompt_catalog;
pub mod schedule;
pub mod template;
pub mod variables;
pub mod checker;
pub mod edges;
pub mod loader;
pub mod plan;

pub use diagnostic::{Diagnostic, Report, Severity};
pub use loader::{load_path, load_source};
pub use plan::{Dialplan, StepRef};
