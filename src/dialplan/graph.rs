//! The flow as a diagram: Mermaid or Graphviz dot. Steps are nodes (shaped by kind),
//! edges carry intents, outcomes and conditions. Global intents and the fallback are drawn
//! once, from their own nodes, rather than from every step that can take them.

use super::edges::{Target, edges, kind_name};
use super::format::Step;
use super::plan::Dialplan;
use std::fmt::Write as _;

/// Diagram formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphFormat {
    Mermaid,
    Dot,
}

struct Node {
    id: String,
    label: String,
    shape: Shape,
}

#[derive(Clone, Copy)]
enum Shape {
    Step,
    Question,
    End,
    Special,
}

struct GraphEdge {
    from: String,
    to: String,
    label: String,
    dashed: bool,
}

fn node_id(flow: &str, step: &str) -> String {
    let clean = |s: &str| {
        s.chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect::<String>()
    };
    format!("{}__{}", clean(flow), clean(step))
}

fn short_label(step: &Step) -> String {
    match step {
        Step::Gather(g) => match &g.entity {
            Some(e) => format!("gather <{}>", e.value),
            None => "gather".into(),
        },
        Step::Lookup(l) => format!("lookup {}", l.source.value),
        Step::Transfer(t) => {
            let queues: Vec<&str> = t
                .queue
                .iter()
                .chain(t.route.iter().map(|r| &r.queue))
                .map(|q| q.as_str())
                .collect();
            // Every level the rules can give, in rule order: `(urgent/high)`.
            let levels: Vec<&str> = t
                .priority_rules()
                .into_iter()
                .map(|(_, level)| level.as_str())
                .collect();
            format!("transfer {} ({})", queues.join("/"), levels.join("/"))
        }
        Step::Hours(h) => format!("hours {}", h.schedule.value),
        Step::Call(c) => format!("call {}", c.flow.value),
        Step::Return(o) => format!("return {}", o.value),
        other => kind_name(other).to_string(),
    }
}

/// Collects nodes per flow and edges.
fn collect(plan: &Dialplan) -> (Vec<(String, Vec<Node>)>, Vec<GraphEdge>) {
    let doc = &plan.doc;
    let mut flows = Vec::new();
    let mut all_edges = Vec::new();
    for (flow, f) in doc.flows.iter() {
        let mut nodes = Vec::new();
        for (index, (name, step)) in f.steps.iter().enumerate() {
            let id = node_id(flow, name);
            let shape = match step {
                Step::Gather(_) | Step::Branch(_) | Step::Hours(_) => Shape::Question,
                Step::Hangup(_) | Step::Transfer(_) | Step::Return(_) => Shape::End,
                _ => Shape::Step,
            };
            nodes.push(Node {
                id: id.clone(),
                label: format!("{}\n{}", name.value, short_label(step)),
                shape,
            });
            for edge in edges(doc, step) {
                if edge.implicit {
                    continue;
                }
                let to = match edge.target {
                    Target::Step { name, global, .. } => node_id(
                        if global {
                            &plan.start_flow
                        } else {
                            &flow.value
                        },
                        &name,
                    ),
                    Target::Following => match f.steps.entries.get(index + 1) {
                        Some((next, _)) => node_id(flow, next),
                        None => continue,
                    },
                };
                all_edges.push(GraphEdge {
                    from: id.clone(),
                    to,
                    label: edge.label,
                    dashed: false,
                });
            }
            if let Step::Call(c) = step
                && let Some(first) = plan.first_step(&c.flow)
            {
                all_edges.push(GraphEdge {
                    from: id.clone(),
                    to: node_id(&first.flow, &first.step),
                    label: "call".into(),
                    dashed: true,
                });
            }
        }
        flows.push((flow.value.clone(), nodes));
    }
    let mut specials = Vec::new();
    for (intent, target) in &plan.global_intents {
        let id = format!("anywhere__{}", node_id("", intent));
        specials.push(Node {
            id: id.clone(),
            label: format!("anywhere\nsays {intent}"),
            shape: Shape::Special,
        });
        all_edges.push(GraphEdge {
            from: id,
            to: node_id(&target.flow, &target.step),
            label: intent.clone(),
            dashed: true,
        });
    }
    if let Some(fallback) = &plan.fallback {
        specials.push(Node {
            id: "fallback__".into(),
            label: "fallback\n(exhausted, errors)".into(),
            shape: Shape::Special,
        });
        all_edges.push(GraphEdge {
            from: "fallback__".into(),
            to: node_id(&fallback.flow, &fallback.step),
            label: String::new(),
            dashed: true,
        });
    }
    if !specials.is_empty() {
        flows.push((String::new(), specials));
    }
    (flows, all_edges)
}

fn mermaid_text(text: &str) -> String {
    text.replace('"', "#quot;")
        .replace('<', "#lt;")
        .replace('>', "#gt;")
        .replace('\n', "<br/>")
}

fn dot_text(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Renders the dialplan as a diagram.
pub fn render(plan: &Dialplan, format: GraphFormat) -> String {
    let (flows, edges) = collect(plan);
    let mut out = String::new();
    match format {
        GraphFormat::Mermaid => {
            out.push_str("flowchart TD\n");
            for (flow, nodes) in &flows {
                let indent = if flow.is_empty() { "  " } else { "    " };
                if !flow.is_empty() {
                    let _ = writeln!(
                        out,
                        "  subgraph {}[\"flow {}\"]",
                        node_id("flow", flow),
                        mermaid_text(flow)
                    );
                }
                for node in nodes {
                    let label = mermaid_text(&node.label);
                    let _ = match node.shape {
                        Shape::Step => writeln!(out, "{indent}{}[\"{label}\"]", node.id),
                        Shape::Question => writeln!(out, "{indent}{}{{\"{label}\"}}", node.id),
                        Shape::End => writeln!(out, "{indent}{}([\"{label}\"])", node.id),
                        Shape::Special => writeln!(out, "{indent}{}>\"{label}\"]", node.id),
                    };
                }
                if !flow.is_empty() {
                    out.push_str("  end\n");
                }
            }
            for e in &edges {
                let arrow = if e.dashed { "-.->" } else { "-->" };
                if e.label.is_empty() {
                    let _ = writeln!(out, "  {} {arrow} {}", e.from, e.to);
                } else {
                    let _ = writeln!(
                        out,
                        "  {} {arrow}|\"{}\"| {}",
                        e.from,
                        mermaid_text(&e.label),
                        e.to
                    );
                }
            }
        }
        GraphFormat::Dot => {
            let _ = writeln!(out, "digraph \"{}\" {{", dot_text(plan.name()));
            out.push_str("  rankdir=TB;\n  node [fontname=\"Helvetica\", fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=9];\n");
            for (flow, nodes) in &flows {
                if !flow.is_empty() {
                    let _ = writeln!(
                        out,
                        "  subgraph \"cluster_{}\" {{\n    label=\"flow {}\";",
                        dot_text(flow),
                        dot_text(flow)
                    );
                }
                for node in nodes {
                    let shape = match node.shape {
                        Shape::Step => "box",
                        Shape::Question => "diamond",
                        Shape::End => "box, style=\"rounded,bold\"",
                        Shape::Special => "note",
                    };
                    let _ = writeln!(
                        out,
                        "    {} [label=\"{}\", shape={shape}];",
                        node.id,
                        dot_text(&node.label)
                    );
                }
                if !flow.is_empty() {
                    out.push_str("  }\n");
                }
            }
            for e in &edges {
                let style = if e.dashed { ", style=dashed" } else { "" };
                let _ = writeln!(
                    out,
                    "  {} -> {} [label=\"{}\"{style}];",
                    e.from,
                    e.to,
                    dot_text(&e.label)
                );
            }
            out.push_str("}\n");
        }
    }
    out
}
