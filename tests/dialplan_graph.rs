//! Graph export: steps as nodes, intents and outcomes on the edges, in both formats.

use hotline::dialplan::graph::{GraphFormat, render};
use hotline::dialplan::load_path;
use std::path::Path;

fn acme() -> hotline::dialplan::Dialplan {
    load_path(&Path::new(env!("CARGO_MANIFEST_DIR")).join("dialplans/acme-bank.yaml"))
        .unwrap_or_else(|r| panic!("{}", r.render()))
        .0
}

#[test]
fn mermaid_has_steps_intent_edges_subflow_calls_and_global_intents() {
    let text = render(&acme(), GraphFormat::Mermaid);
    assert!(text.starts_with("flowchart TD\n"));
    assert!(
        text.contains("main__main_menu{\"main_menu<br/>gather\"}"),
        "{text}"
    );
    assert!(
        text.contains("main__main_menu -->|\"lost_card\"| main__lost_card"),
        "{text}"
    );
    assert!(
        text.contains("main__lost_card -.->|\"call\"| identify_and_verify__already_verified"),
        "{text}"
    );
    assert!(text.contains("-.->|\"agent\"| main__to_agent"), "{text}");
    assert!(text.contains("identify_and_verify__pin_failures_check -->|\"pin_failures #gt;= 3\"| identify_and_verify__failed"), "{text}");
    // Fall-through edges are drawn without a label.
    assert!(
        text.contains("main__greeting --> main__main_menu"),
        "{text}"
    );
}

#[test]
fn dot_is_a_digraph_with_clusters_and_labelled_edges() {
    let text = render(&acme(), GraphFormat::Dot);
    assert!(text.starts_with("digraph \"acme-bank\" {"));
    assert!(text.contains("subgraph \"cluster_identify_and_verify\""));
    assert!(
        text.contains("main__opening_hours -> main__after_hours [label=\"closed\"];"),
        "{text}"
    );
    assert!(
        text.contains(
            "main__dispute_transfer [label=\"dispute_transfer\\ntransfer disputes (normal)\""
        ),
        "{text}"
    );
    assert!(text.trim_end().ends_with('}'));
}
