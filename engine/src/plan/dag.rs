//! `pipe dag`: the task graph as text, Graphviz dot or Mermaid.

use std::fmt::Write;

use super::Plan;

/// Output format of `pipe dag`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DagFormat {
    /// One line per task with what it reads.
    Text,
    /// Graphviz dot.
    Dot,
    /// Mermaid flowchart.
    Mermaid,
}

/// Renders the plan's graph.
pub fn render(plan: &Plan, format: DagFormat) -> String {
    let mut out = String::new();
    match format {
        DagFormat::Text => {
            for (i, t) in plan.tasks.iter().enumerate() {
                let deps: Vec<&str> = plan
                    .dependencies(i)
                    .into_iter()
                    .map(|d| plan.tasks[d].id.as_str())
                    .collect();
                let _ = write!(out, "{} ({})", t.id, t.kind_name());
                if !deps.is_empty() {
                    let _ = write!(out, " <- {}", deps.join(", "));
                }
                out.push('\n');
            }
        }
        DagFormat::Dot => {
            let _ = writeln!(out, "digraph \"{}\" {{", plan.pipeline.name);
            let _ = writeln!(out, "  rankdir=LR;");
            for (i, t) in plan.tasks.iter().enumerate() {
                let _ = writeln!(out, "  t{i} [label={:?}, shape=box];", t.id);
            }
            for e in plan.graph.edge_indices() {
                if let Some((a, b)) = plan.graph.edge_endpoints(e) {
                    let _ = writeln!(out, "  t{} -> t{};", plan.graph[a], plan.graph[b]);
                }
            }
            out.push_str("}\n");
        }
        DagFormat::Mermaid => {
            out.push_str("flowchart LR\n");
            for (i, t) in plan.tasks.iter().enumerate() {
                let _ = writeln!(out, "  t{i}[\"{}\"]", t.id.replace('"', "'"));
            }
            for e in plan.graph.edge_indices() {
                if let Some((a, b)) = plan.graph.edge_endpoints(e) {
                    let _ = writeln!(out, "  t{} --> t{}", plan.graph[a], plan.graph[b]);
                }
            }
        }
    }
    out
}
