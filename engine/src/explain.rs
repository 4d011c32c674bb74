//! Why a task runs: its key is compared with the one it had at the last run of the same pipeline (the
//! status index, `<cache>/.index/<pipeline>.json`), and the differing components are named.

use std::collections::{BTreeMap, HashSet};

use serde_json::Value;

use crate::cache::{write_atomic, Cache};
use crate::exec::needed_tasks;
use crate::plan::{Plan, Source};

/// What `pipe status` says of one task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskState {
    /// `cached`, `run` or `not-needed`.
    pub state: &'static str,
    /// Why, for tasks that run.
    pub reason: String,
}

type Index = BTreeMap<String, Value>;

fn load_index(cache: &Cache, name: &str) -> Index {
    std::fs::read(cache.index_path(name))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Records the components of every task of `plan` whose entry is now in the cache, so the next
/// `pipe status` can say what changed. Unchanged indexes are not rewritten, and a run that computed
/// nothing (`computed_any` false) leaves an existing index unread: reading it would cost more than the
/// rest of a no-op run.
pub fn save_index(cache: &Cache, plan: &Plan, computed_any: bool) {
    if !computed_any && cache.index_path(&plan.pipeline.name).is_file() {
        return;
    }
    let mut index = load_index(cache, &plan.pipeline.name);
    let mut changed = false;
    for (i, t) in plan.tasks.iter().enumerate() {
        if cache.contains(&t.key) {
            let components = plan.components(i);
            if index.get(&t.id) != Some(&components) {
                index.insert(t.id.clone(), components);
                changed = true;
            }
        }
    }
    if changed {
        if let Ok(bytes) = serde_json::to_vec(&index) {
            let _ = write_atomic(&cache.index_path(&plan.pipeline.name), &bytes);
        }
    }
}

/// The state of every task, and for tasks that will run, the reason.
pub fn explain(plan: &Plan, cache: &Cache, force: &HashSet<String>) -> Vec<TaskState> {
    let run = needed_tasks(plan, cache, force);
    // The index is only read to say why a task runs.
    let index = if run.iter().any(|&r| r) {
        load_index(cache, &plan.pipeline.name)
    } else {
        Index::new()
    };
    let keys: Vec<&str> = plan.tasks.iter().map(|t| t.key.as_str()).collect();
    let cached = cache.contains_each(&keys);
    plan.tasks
        .iter()
        .enumerate()
        .map(|(i, t)| {
            if !run[i] {
                let state = if cached[i] { "cached" } else { "not-needed" };
                let reason = if state == "not-needed" {
                    "every task that reads it is cached".to_string()
                } else {
                    String::new()
                };
                return TaskState { state, reason };
            }
            let reason = if force.contains(&*t.stage) {
                format!("forced (--force {})", t.stage)
            } else {
                match index.get(&t.id) {
                    None => "new: never computed under this task id".to_string(),
                    Some(prev) => describe_change(plan, i, prev),
                }
            };
            TaskState {
                state: "run",
                reason,
            }
        })
        .collect()
}

fn describe_change(plan: &Plan, i: usize, prev: &Value) -> String {
    let t = &plan.tasks[i];
    let now = &plan.components(i);
    let mut reasons = Vec::new();
    for field in ["format", "kind", "version", "seed", "cmd", "outputs"] {
        if now.get(field) != prev.get(field) {
            reasons.push(format!(
                "{field} {} -> {}",
                show(prev.get(field)),
                show(now.get(field))
            ));
        }
    }
    let empty = serde_json::Map::new();
    let p_now = now["params"].as_object().unwrap_or(&empty);
    let p_prev = prev["params"].as_object().unwrap_or(&empty);
    let names: std::collections::BTreeSet<&String> = p_now.keys().chain(p_prev.keys()).collect();
    for name in names {
        if p_now.get(name) != p_prev.get(name) {
            reasons.push(format!(
                "param {name}: {} -> {}",
                show(p_prev.get(name)),
                show(p_now.get(name))
            ));
        }
    }
    for (port, sources) in &t.inputs {
        let d_now = &now["inputs"][port];
        let d_prev = &prev["inputs"][port];
        if d_now == d_prev {
            continue;
        }
        let prev_list: Vec<&str> = d_prev
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let now_list: Vec<&str> = d_now
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if prev_list.len() != now_list.len() {
            reasons.push(format!(
                "input {port}: {} -> {} paths",
                prev_list.len(),
                now_list.len()
            ));
            continue;
        }
        let changed: Vec<String> = sources
            .iter()
            .enumerate()
            .filter(|(k, _)| prev_list.get(*k) != now_list.get(*k))
            .map(|(_, source)| match source {
                Source::Task { task, .. } => format!("upstream {}", plan.tasks[*task].id),
                Source::File(path) => format!("file {}", path.display()),
            })
            .collect();
        reasons.push(match changed.as_slice() {
            [one] => format!("input {port}: {one} changed"),
            [first, ..] => format!("input {port}: {} changed ({first}, ...)", changed.len()),
            [] => format!("input {port} changed"),
        });
    }
    if reasons.is_empty() {
        "its entry is missing from the cache (removed, or never finished)".to_string()
    } else {
        reasons.join("; ")
    }
}

fn show(v: Option<&Value>) -> String {
    match v {
        None => "(none)".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}
