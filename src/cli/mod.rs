//! One file per subcommand: argument parsing and friendly reporting at the CLI edge.

pub mod agents;
pub mod cdr;
pub mod check;
pub mod db;
pub mod graph;
pub mod models;
pub mod nlu;
pub mod schema;
pub mod serve;
pub mod simulate;
pub mod test;
pub mod transcribe;
pub mod understand;
