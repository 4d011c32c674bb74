//! Planning: variables, matrix expansion and references turn a pipeline into a task graph with keys.

mod argv;
mod dag;
mod error;
mod reference;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use indexmap::IndexMap;
use petgraph::graph::{DiGraph, NodeIndex};
use pipe_kind::Kind;
use rayon::prelude::*;
use serde_json::Value;

use crate::exec::confine::Confine;
use crate::key::{self, DigestMemo, FORMAT_VERSION};
use crate::spec::{to_json, Pipeline, Resources, StageSpec, Vars};
pub use argv::Argv;
pub use dag::{render as render_dag, DagFormat};
use error::value_in;
pub use error::PlanError;
pub use reference::{Reference, Selector};

/// What a task runs.
#[derive(Clone)]
pub enum Action {
    /// A built-in stage kind.
    Kind(&'static dyn Kind),
    /// An external command (argv with `${inputs.x}` / `${outputs.x}` left for the worker), shared by
    /// the tasks of a stage whose argv is the same.
    Cmd(Argv),
}

impl std::fmt::Debug for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Action::Kind(k) => write!(f, "Kind({})", k.name()),
            Action::Cmd(argv) => write!(f, "Cmd({argv:?})"),
        }
    }
}

/// Where one input path comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Output `output` of task `task` (an index into [`Plan::tasks`]).
    Task {
        /// Upstream task index.
        task: usize,
        /// Upstream output name.
        output: String,
    },
    /// A file or directory outside the cache.
    File(PathBuf),
}

/// One stage instance.
#[derive(Debug, Clone)]
pub struct Task {
    /// `stage` or `stage[axis=value,...]`.
    pub id: String,
    /// The stage it comes from (one string shared by its tasks).
    pub stage: Arc<str>,
    /// The instance's matrix values, in axis order (shared with the instance it was built from).
    pub axes: Arc<[(String, Value)]>,
    /// What it runs.
    pub action: Action,
    /// Resolved parameters (matrix values merged in), as canonical JSON: a small map as a
    /// `serde_json::Value` costs a whole B-tree node, ~600 bytes ([`Task::params`]).
    pub params_json: String,
    /// Input name to its sources.
    pub inputs: IndexMap<String, Vec<Source>>,
    /// Output name to its path relative to the task's output directory (one map shared by the tasks
    /// of a stage whose outputs are the same).
    pub outputs: Arc<IndexMap<String, String>>,
    /// What it needs to run (shared by the tasks of a stage).
    pub resources: Arc<Resources>,
    /// Whether it cannot run without a GPU.
    pub requires_gpu: bool,
    /// Extra attempts after a failure.
    pub retries: u32,
    /// For a confined command: where else it may write, and whether it may use the network (`None`
    /// for a kind, or a command with `confine: false` or run with `--no-confine`).
    pub confine: Option<Arc<Confine>>,
    /// Content key.
    pub key: String,
}

impl Task {
    /// Resolved parameters (matrix values merged in).
    pub fn params(&self) -> Value {
        serde_json::from_str(&self.params_json).unwrap_or(Value::Null)
    }

    /// `kind` name, or `cmd`.
    pub fn kind_name(&self) -> &str {
        match &self.action {
            Action::Kind(k) => k.name(),
            Action::Cmd(_) => "cmd",
        }
    }
}

/// A planned pipeline: tasks in topological order, their graph, and their priorities.
#[derive(Debug)]
pub struct Plan {
    /// The pipeline this came from.
    pub pipeline: Pipeline,
    /// Tasks, in an order where every task comes after its inputs.
    pub tasks: Vec<Task>,
    /// Edges upstream -> downstream, node weight = task index.
    pub graph: DiGraph<usize, ()>,
    /// Length of the longest path from each task to a sink (the scheduler runs longest first).
    pub priority: Vec<usize>,
    /// The digest of every input file as the keys were computed from it, so a task's components
    /// can be written again without keeping them for every task ([`Plan::components_json`]).
    file_digests: HashMap<PathBuf, String>,
}

/// Command-line choices that change the plan.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// `--profile` name.
    pub profile: Option<String>,
    /// `--set name=value` overrides.
    pub sets: Vec<(String, Value)>,
    /// The most tasks a plan may have (`--max-tasks`), checked before any matrix is expanded.
    pub max_tasks: usize,
}

/// The default of `--max-tasks`.
pub const DEFAULT_MAX_TASKS: usize = 1_000_000;

impl Default for PlanOptions {
    fn default() -> Self {
        Self {
            profile: None,
            sets: Vec::new(),
            max_tasks: DEFAULT_MAX_TASKS,
        }
    }
}

impl Plan {
    /// Indices of the tasks that read an output of `task`.
    pub fn dependents(&self, task: usize) -> Vec<usize> {
        self.graph
            .neighbors_directed(NodeIndex::new(task), petgraph::Direction::Outgoing)
            .map(|n| self.graph[n])
            .collect()
    }

    /// Indices of the tasks whose outputs `task` reads.
    pub fn dependencies(&self, task: usize) -> Vec<usize> {
        self.graph
            .neighbors_directed(NodeIndex::new(task), petgraph::Direction::Incoming)
            .map(|n| self.graph[n])
            .collect()
    }

    /// The task with this id.
    pub fn find(&self, id: &str) -> Option<usize> {
        self.tasks.iter().position(|t| t.id == id)
    }

    /// What task `task`'s key was computed from, as the canonical JSON the key hashes (kind, version
    /// or argv, params, seed, input digests, format). Written again on demand (to explain why a task
    /// re-runs, and into its manifest) rather than kept: at 100,000 tasks it would cost 25 MB.
    pub fn components_json(&self, task: usize) -> String {
        let mut digest = |path: &Path| -> Result<String, PlanError> {
            Ok(self
                .file_digests
                .get(path)
                .cloned()
                .expect("every input file was digested when the plan was made"))
        };
        components(&self.tasks, task, self.pipeline.seed, &mut digest)
            .expect("the digests are known, so writing the components cannot fail")
    }

    /// [`Plan::components_json`] as a JSON value.
    pub fn components(&self, task: usize) -> Value {
        serde_json::from_str(&self.components_json(task)).unwrap_or(Value::Null)
    }

    /// Lets every command write anywhere (`pipe run --no-confine`).
    pub fn unconfine(&mut self) {
        for t in &mut self.tasks {
            t.confine = None;
        }
    }
}

/// A stage instance before its inputs are resolved.
struct Instance {
    /// The stage it comes from.
    stage: Arc<str>,
    /// Its matrix values, in axis order.
    axes: Arc<[(String, Value)]>,
}

impl Instance {
    /// The pipeline's variables `base` with this instance's axis values set (made when its task is
    /// built and dropped after, rather than kept for every instance).
    fn vars(&self, base: &Vars) -> Vars {
        let mut v = base.clone();
        for (axis, value) in self.axes.iter() {
            v.set(axis, value.clone());
        }
        v
    }
}

/// What references resolve against: the instances by stage, the stages switched off, and an index
/// from (stage, axis) to each axis value's instances, built on first use so a `stage[axis=v]`
/// selector costs a hash look-up instead of a scan of the stage's instances.
struct Lookup<'a> {
    /// Every instance, stage by stage in file order, each stage's in matrix order.
    instances: Vec<Instance>,
    /// Each switched-on stage's instances (indices into `instances`).
    by_stage: HashMap<&'a str, Vec<usize>>,
    /// The stages their `when` switches off.
    disabled: Vec<&'a str>,
    /// (stage, axis) to the instances of each of the axis's values, filled on first use.
    axis_index: Mutex<HashMap<(String, String), Arc<InstancesByValue>>>,
}

/// An axis's values and, for each, the instances that have it, in matrix order.
type InstancesByValue = HashMap<String, Vec<usize>>;

impl Lookup<'_> {
    /// The instances of `stage` (which has `candidates`) whose `axis` has the value `value`.
    fn with_axis(&self, stage: &str, candidates: &[usize], axis: &str, value: &str) -> Vec<usize> {
        let index = self
            .axis_index
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry((stage.to_string(), axis.to_string()))
            .or_insert_with(|| {
                let mut by_value = InstancesByValue::new();
                for &i in candidates {
                    if let Some((_, v)) = self.instances[i].axes.iter().find(|(a, _)| a == axis) {
                        by_value.entry(axis_value(v)).or_default().push(i);
                    }
                }
                Arc::new(by_value)
            })
            .clone();
        index.get(value).cloned().unwrap_or_default()
    }
}

/// Plans `pipeline`: resolves variables, expands matrices, resolves references, orders the tasks and
/// computes their keys (digesting external files through `memo`). Every error is a
/// [`PlanError::InFile`] naming the pipeline file.
pub fn plan(
    pipeline: Pipeline,
    options: &PlanOptions,
    memo: &mut DigestMemo,
) -> Result<Plan, PlanError> {
    let file = pipeline.path.clone();
    plan_steps(pipeline, options, memo).map_err(|e| e.in_file(file))
}

/// [`plan`], step by step, with errors not yet placed in the file.
fn plan_steps(
    pipeline: Pipeline,
    options: &PlanOptions,
    memo: &mut DigestMemo,
) -> Result<Plan, PlanError> {
    let vars = resolve_vars(&pipeline, options)?;
    let tasks = {
        let lookup = expand_stages(&pipeline, &vars, options.max_tasks)?;
        build_tasks(&pipeline, &lookup, &vars)?
    };
    check_upstream_outputs(&tasks)?;
    let (mut tasks, graph) = order_tasks(tasks)?;
    let file_digests = compute_keys(&mut tasks, pipeline.seed, memo)?;
    let priority = priorities(&graph, tasks.len());
    Ok(Plan {
        pipeline,
        tasks,
        graph,
        priority,
        file_digests,
    })
}

/// Step 1: expands every stage its `when` leaves on into its matrix's instances, each with the
/// variables its axis values set, and notes the stages switched off.
fn expand_stages<'a>(
    pipeline: &'a Pipeline,
    vars: &Vars,
    max_tasks: usize,
) -> Result<Lookup<'a>, PlanError> {
    let mut instances: Vec<Instance> = Vec::new();
    let mut by_stage: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut disabled = Vec::new();
    for (name, spec) in &pipeline.stages {
        if !enabled(spec, vars).map_err(|e| e.in_field("when").in_stage(name))? {
            disabled.push(name.as_str());
            continue;
        }
        let axes = expand_matrix(spec, vars, instances.len(), max_tasks)
            .map_err(|e| e.in_field("matrix").in_stage(name))?;
        let stage: Arc<str> = name.as_str().into();
        for assignment in axes {
            by_stage
                .entry(name.as_str())
                .or_default()
                .push(instances.len());
            instances.push(Instance {
                stage: stage.clone(),
                axes: assignment.into(),
            });
        }
    }
    Ok(Lookup {
        instances,
        by_stage,
        disabled,
        axis_index: Mutex::default(),
    })
}

/// Step 2: builds each instance's task (params, action, outputs, inputs), in instance order, so
/// task indices equal instance indices.
fn build_tasks(pipeline: &Pipeline, lookup: &Lookup, vars: &Vars) -> Result<Vec<Task>, PlanError> {
    let build = |inst: &Instance| {
        let spec = &pipeline.stages[&*inst.stage];
        build_task(pipeline, spec, inst, &inst.vars(vars), lookup)
            .map_err(|e| e.in_stage(&*inst.stage))
    };
    // Each instance's task depends on nothing but the lookup: large plans build them on every core.
    // Which error a parallel build meets first is chance, so after one the instances are built again
    // in order and the first error in the file is the one reported.
    let sequential = || {
        lookup
            .instances
            .iter()
            .map(build)
            .collect::<Result<Vec<Task>, _>>()
    };
    let mut tasks = if lookup.instances.len() >= PARALLEL_FROM {
        // Built in place (a collected `Result` would gather pieces and copy them: twice the memory).
        let mut built: Vec<Option<Task>> = Vec::new();
        lookup
            .instances
            .par_iter()
            .map(|inst| build(inst).ok())
            .collect_into_vec(&mut built);
        if built.iter().any(Option::is_none) {
            sequential()?
        } else {
            // `Option<Task>` has `Task`'s size, so this reuses the vector (`flatten` would copy it).
            built
                .into_iter()
                .map(|t| t.expect("every instance was built"))
                .collect()
        }
    } else {
        sequential()?
    };
    // Most instances of a stage run the same argv (the axis values reach it through `${params.x}` at
    // run time), write the same outputs and need the same resources: share one copy of each.
    for i in 1..tasks.len() {
        let (before, rest) = tasks.split_at_mut(i);
        let (prev, task) = (&before[i - 1], &mut rest[0]);
        if prev.stage != task.stage {
            continue;
        }
        if let (Action::Cmd(shared), Action::Cmd(argv)) = (&prev.action, &mut task.action) {
            if shared == argv {
                *argv = shared.clone();
            }
        }
        if prev.outputs == task.outputs {
            task.outputs = prev.outputs.clone();
        }
        if prev.resources == task.resources {
            task.resources = prev.resources.clone();
        }
        if prev.confine == task.confine {
            task.confine = prev.confine.clone();
        }
    }
    Ok(tasks)
}

/// Plans of at least this many instances build their tasks in parallel (below it, starting the
/// threads costs more than they save).
const PARALLEL_FROM: usize = 1024;

/// Step 3: puts the tasks in a stable topological order and returns them with their graph, whose
/// node weights are the new indices; an error describes a cycle.
fn order_tasks(tasks: Vec<Task>) -> Result<(Vec<Task>, DiGraph<usize, ()>), PlanError> {
    let graph = task_graph(&tasks);
    let order = stable_topological_order(&graph).ok_or_else(|| describe_cycle(&graph, &tasks))?;
    Ok(reorder(tasks, &order))
}

/// Step 4: computes each task's key from its components, in topological order so every upstream
/// key is known first; returns the digest of every input file the keys were computed from.
fn compute_keys(
    tasks: &mut [Task],
    seed: u64,
    memo: &mut DigestMemo,
) -> Result<HashMap<PathBuf, String>, PlanError> {
    let mut file_digests: HashMap<PathBuf, String> = HashMap::new();
    for i in 0..tasks.len() {
        let stage = &tasks[i].stage;
        let mut digest = |path: &Path| -> Result<String, PlanError> {
            if let Some(d) = file_digests.get(path) {
                return Ok(d.clone());
            }
            let d = memo
                .digest(path)
                .map_err(|e| PlanError::Digest(e).in_stage(&**stage))?;
            file_digests.insert(path.to_path_buf(), d.clone());
            Ok(d)
        };
        let components = components(tasks, i, seed, &mut digest)?;
        tasks[i].key = key::key_of_canonical(&components);
    }
    Ok(file_digests)
}

/// One node per task (weight = its index) and one edge from each task it reads to it.
fn task_graph(tasks: &[Task]) -> DiGraph<usize, ()> {
    let mut graph = DiGraph::<usize, ()>::with_capacity(tasks.len(), tasks.len());
    for i in 0..tasks.len() {
        graph.add_node(i);
    }
    for (i, t) in tasks.iter().enumerate() {
        for up in upstream_tasks(t) {
            graph.add_edge(NodeIndex::new(up), NodeIndex::new(i), ());
        }
    }
    graph
}

/// The pipeline's variables, with the `--profile`'s overlaid and then each `--set`.
fn resolve_vars(pipeline: &Pipeline, options: &PlanOptions) -> Result<Vars, PlanError> {
    let base =
        to_json(&serde_yaml::Value::Mapping(pipeline.vars.clone())).map_err(value_in("vars"))?;
    let mut vars = Vars::new(base);
    if let Some(name) = &options.profile {
        let profile = pipeline
            .profiles
            .get(name)
            .ok_or_else(|| PlanError::UnknownProfile {
                name: name.clone(),
                known: pipeline.profiles.keys().cloned().collect(),
            })?;
        let overlay = to_json(&serde_yaml::Value::Mapping(profile.vars.clone()))
            .map_err(value_in(format!("profiles.{name}.vars")))?;
        vars.overlay(&overlay);
    }
    for (name, value) in &options.sets {
        vars.set(name, value.clone());
    }
    Ok(vars)
}

/// One matrix axis's values, a `range(...)` kept as its bounds until the plan's size is checked.
enum AxisValues {
    /// Values listed (or one value).
    List(Vec<Value>),
    /// `range(a, b)`: the whole numbers from `a` up to `b`, excluded.
    Range(i64, i64),
}

impl AxisValues {
    /// How many values.
    fn len(&self) -> u128 {
        match self {
            Self::List(v) => v.len() as u128,
            Self::Range(a, b) => (*b as i128 - *a as i128).max(0) as u128,
        }
    }

    /// The values, made one at a time.
    fn values(&self) -> Box<dyn Iterator<Item = Value> + '_> {
        match self {
            Self::List(v) => Box::new(v.iter().cloned()),
            Self::Range(a, b) => Box::new((*a..*b).map(Value::from)),
        }
    }
}

/// The product of the stage's matrix axes, each resolved with `vars`; one empty assignment without a
/// matrix. Its size is checked first: with the `before` instances of earlier stages it may not pass
/// `max_tasks`.
fn expand_matrix(
    spec: &StageSpec,
    vars: &Vars,
    before: usize,
    max_tasks: usize,
) -> Result<Vec<Vec<(String, Value)>>, PlanError> {
    let mut axes: Vec<(&String, AxisValues)> = Vec::with_capacity(spec.matrix.len());
    for (axis, raw) in &spec.matrix {
        let value = to_json(raw).map_err(value_in(axis))?;
        let value = vars.substitute(&value).map_err(value_in(axis))?;
        let values = match value {
            Value::Array(items) => AxisValues::List(items),
            Value::String(s) if s.trim_start().starts_with("range(") => {
                let (a, b) = parse_range(&s).map_err(|e| e.in_field(axis))?;
                AxisValues::Range(a, b)
            }
            other => AxisValues::List(vec![other]),
        };
        if values.len() == 0 {
            return Err(PlanError::EmptyAxis { axis: axis.clone() });
        }
        if let AxisValues::List(items) = &values {
            if items
                .iter()
                .any(|v| v.is_object() || v.is_array() || v.is_null())
            {
                return Err(PlanError::AxisValueType { axis: axis.clone() });
            }
        }
        axes.push((axis, values));
    }
    let count = axes
        .iter()
        .fold(1u128, |n, (_, v)| n.saturating_mul(v.len()));
    if count.saturating_add(before as u128) > max_tasks as u128 {
        return Err(PlanError::TooManyTasks {
            count,
            before,
            axes: if axes.is_empty() {
                "no axes".to_string()
            } else {
                axes.iter()
                    .map(|(a, v)| format!("{a}: {}", v.len()))
                    .collect::<Vec<_>>()
                    .join(" x ")
            },
            limit: max_tasks,
        });
    }
    let mut product: Vec<Vec<(String, Value)>> = vec![Vec::new()];
    for (axis, values) in &axes {
        product = product
            .into_iter()
            .flat_map(|prefix| {
                values.values().map(move |v| {
                    let mut a = prefix.clone();
                    a.push(((*axis).clone(), v));
                    a
                })
            })
            .collect();
    }
    Ok(product)
}

/// Evaluates a stage's `when`: a boolean, or `a == b` / `a != b` after substitution.
fn enabled(spec: &StageSpec, vars: &Vars) -> Result<bool, PlanError> {
    let Some(raw) = &spec.when else {
        return Ok(true);
    };
    let value = to_json(raw).map_err(PlanError::Value)?;
    let value = vars.substitute(&value).map_err(PlanError::Value)?;
    match value {
        Value::Bool(b) => Ok(b),
        Value::String(s) => {
            if let Some((a, b)) = s.split_once("!=") {
                Ok(a.trim() != b.trim())
            } else if let Some((a, b)) = s.split_once("==") {
                Ok(a.trim() == b.trim())
            } else {
                match s.trim() {
                    "true" => Ok(true),
                    "false" => Ok(false),
                    other => Err(PlanError::WhenNotCondition {
                        text: other.to_string(),
                    }),
                }
            }
        }
        value => Err(PlanError::WhenNotBoolean { value }),
    }
}

/// `range(n)` or `range(a, b)`: its bounds.
fn parse_range(text: &str) -> Result<(i64, i64), PlanError> {
    let bad_range = || PlanError::BadRange {
        text: text.to_string(),
    };
    let inner = text
        .trim()
        .strip_prefix("range(")
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(bad_range)?;
    let nums = inner
        .split(',')
        .map(|s| s.trim().parse::<i64>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| PlanError::RangeNotWhole {
            text: text.to_string(),
        })?;
    match nums.as_slice() {
        [n] => Ok((0, *n)),
        [a, b] => Ok((*a, *b)),
        _ => Err(bad_range()),
    }
}

/// Formats an axis value for task ids and selectors.
pub fn axis_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Builds an instance's task: params, action and outputs, inputs (the key comes later).
fn build_task(
    pipeline: &Pipeline,
    spec: &StageSpec,
    inst: &Instance,
    vars: &Vars,
    lookup: &Lookup,
) -> Result<Task, PlanError> {
    let params = task_params(spec, inst, vars)?;
    let TaskAction {
        action,
        outputs,
        requires_gpu,
    } = task_action(spec, vars, &params)?;
    let inputs = task_inputs(pipeline, spec, vars, lookup)?;
    if let Action::Kind(kind) = &action {
        check_ports(*kind, &inputs)?;
    }
    let confine = match &action {
        Action::Cmd(_) if spec.confine != Some(false) => Some(Arc::new(Confine {
            writable: spec
                .writable
                .iter()
                .map(|w| pipeline.dir().join(w))
                .collect(),
            network: spec.network != Some(false),
        })),
        _ => None,
    };
    Ok(Task {
        id: task_id(inst),
        stage: inst.stage.clone(),
        axes: inst.axes.clone(),
        action,
        params_json: key::canonical_json(&params),
        inputs,
        outputs: Arc::new(outputs),
        resources: Arc::new(spec.resources.clone()),
        requires_gpu,
        retries: spec.retries,
        confine,
        key: String::new(),
    })
}

/// `stage`, or `stage[axis=value,...]` for a matrix instance.
fn task_id(inst: &Instance) -> String {
    if inst.axes.is_empty() {
        return inst.stage.to_string();
    }
    let parts: Vec<String> = inst
        .axes
        .iter()
        .map(|(a, v)| format!("{a}={}", axis_value(v)))
        .collect();
    format!("{}[{}]", inst.stage, parts.join(","))
}

/// The stage's params with the instance's variables substituted and its axis values merged in
/// (a param of the same name wins) unless the stage sets `axis_params: false`.
fn task_params(spec: &StageSpec, inst: &Instance, vars: &Vars) -> Result<Value, PlanError> {
    let raw_params =
        to_json(&serde_yaml::Value::Mapping(spec.params.clone())).map_err(value_in("params"))?;
    let mut params = vars.substitute(&raw_params).map_err(value_in("params"))?;
    if spec.axis_params == Some(false) {
        return Ok(params);
    }
    if let Value::Object(map) = &mut params {
        for (axis, value) in inst.axes.iter() {
            map.entry(axis.clone()).or_insert_with(|| value.clone());
        }
    }
    Ok(params)
}

/// What a task runs, the outputs it writes, and whether it needs a GPU.
struct TaskAction {
    /// The kind or command.
    action: Action,
    /// Output name to its path relative to the task's output directory.
    outputs: IndexMap<String, String>,
    /// Whether it cannot run without a GPU.
    requires_gpu: bool,
}

/// The stage's built-in kind (which checks `params` and names the outputs) or its command.
fn task_action(spec: &StageSpec, vars: &Vars, params: &Value) -> Result<TaskAction, PlanError> {
    match (&spec.kind, &spec.cmd) {
        (Some(kind_name), _) => {
            let kind = find_kind(kind_name)?;
            kind.check(params).map_err(|error| PlanError::KindParams {
                kind: kind_name.clone(),
                error,
            })?;
            let outputs = kind
                .outputs()
                .iter()
                .map(|p| (p.name.to_string(), p.path.to_string()))
                .collect();
            Ok(TaskAction {
                action: Action::Kind(kind),
                outputs,
                requires_gpu: kind.requires_gpu(params),
            })
        }
        (None, Some(argv)) => Ok(TaskAction {
            action: Action::Cmd(cmd_args(argv, vars)?),
            outputs: cmd_outputs(spec, vars)?,
            requires_gpu: false,
        }),
        (None, None) => unreachable!("validated when the pipeline was read"),
    }
}

/// The built-in stage kind called `name`: the one place planning looks kinds up.
fn find_kind(name: &str) -> Result<&'static dyn Kind, PlanError> {
    crate::kinds::registry()
        .find(name)
        .ok_or_else(|| PlanError::UnknownKind {
            name: name.to_string(),
            known: crate::kinds::registry()
                .kinds()
                .iter()
                .map(|k| k.name())
                .collect(),
        })
}

/// A command's argv after substitution; a list value becomes one argument per item.
fn cmd_args(argv: &[serde_yaml::Value], vars: &Vars) -> Result<Argv, PlanError> {
    let mut args = Vec::with_capacity(argv.len());
    for a in argv {
        let v = to_json(a).map_err(value_in("cmd"))?;
        let v = vars.substitute(&v).map_err(value_in("cmd"))?;
        match v {
            Value::String(s) => args.push(s),
            Value::Number(n) => args.push(n.to_string()),
            Value::Bool(b) => args.push(b.to_string()),
            Value::Array(items) => args.extend(items.iter().map(axis_value)),
            value => return Err(PlanError::CmdArgument { value }.in_field("cmd")),
        }
    }
    Argv::new(&args).map_err(|argument| PlanError::CmdArgumentNul { argument }.in_field("cmd"))
}

/// A command stage's outputs: each a path after substitution, relative and inside the task's
/// output directory.
fn cmd_outputs(spec: &StageSpec, vars: &Vars) -> Result<IndexMap<String, String>, PlanError> {
    let mut outputs = IndexMap::new();
    for (name, path) in &spec.outputs {
        let field = || format!("outputs.{name}");
        let v = to_json(path).map_err(value_in(field()))?;
        let Value::String(p) = vars.substitute(&v).map_err(value_in(field()))? else {
            return Err(PlanError::OutputNotString.in_field(field()));
        };
        let rel = std::path::Path::new(&p);
        if rel.is_absolute()
            || rel
                .components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            return Err(PlanError::OutputOutside { path: p }.in_field(field()));
        }
        outputs.insert(name.clone(), p);
    }
    Ok(outputs)
}

/// The stage's inputs, each resolved to its sources after substitution.
fn task_inputs(
    pipeline: &Pipeline,
    spec: &StageSpec,
    vars: &Vars,
    lookup: &Lookup,
) -> Result<IndexMap<String, Vec<Source>>, PlanError> {
    let mut inputs = IndexMap::new();
    for (port, raw) in &spec.inputs {
        let field = || format!("inputs.{port}");
        let value = to_json(raw).map_err(value_in(field()))?;
        let value = vars.substitute(&value).map_err(value_in(field()))?;
        let sources = resolve_input(pipeline, &value, lookup).map_err(|e| e.in_field(field()))?;
        inputs.insert(port.clone(), sources);
    }
    Ok(inputs)
}

/// Checks a kind's inputs: each one given is one of its ports, takes as many paths as the port
/// does, and each required port is given.
fn check_ports(kind: &dyn Kind, inputs: &IndexMap<String, Vec<Source>>) -> Result<(), PlanError> {
    let ports = kind.inputs();
    for (name, sources) in inputs {
        let Some(port) = ports.iter().find(|p| p.name == name) else {
            return Err(PlanError::UnknownInput {
                kind: kind.name(),
                input: name.clone(),
                known: ports.iter().map(|p| p.name).collect(),
            });
        };
        if !port.many && sources.len() != 1 {
            return Err(PlanError::InputTakesOne {
                kind: kind.name(),
                input: name.clone(),
                given: sources.len(),
            });
        }
    }
    for port in ports.iter().filter(|p| p.required) {
        if !inputs.contains_key(port.name) {
            return Err(PlanError::MissingInput {
                kind: kind.name(),
                input: port.name,
                doc: port.doc,
            });
        }
    }
    Ok(())
}

/// An input's sources: a reference's upstream outputs, a list's items' sources in order, or
/// `{file: path}` / `{files: [paths]}` relative to the pipeline file's folder, which must exist.
fn resolve_input(
    pipeline: &Pipeline,
    value: &Value,
    lookup: &Lookup,
) -> Result<Vec<Source>, PlanError> {
    match value {
        Value::String(text) => resolve_reference(text, lookup),
        Value::Array(items) => {
            let mut all = Vec::new();
            for item in items {
                all.extend(resolve_input(pipeline, item, lookup)?);
            }
            Ok(all)
        }
        Value::Object(map) => {
            let files: Vec<String> = match (map.get("file"), map.get("files"), map.len()) {
                (Some(Value::String(f)), None, 1) => vec![f.clone()],
                (None, Some(Value::Array(fs)), 1) => fs
                    .iter()
                    .map(|f| {
                        f.as_str()
                            .map(str::to_string)
                            .ok_or(PlanError::FilesNotPaths)
                    })
                    .collect::<Result<_, _>>()?,
                _ => return Err(PlanError::NotFileForm),
            };
            let mut sources = Vec::new();
            for f in files {
                let path = pipeline.dir().join(&f);
                if !path.exists() {
                    return Err(PlanError::MissingFile { path });
                }
                sources.push(Source::File(path));
            }
            Ok(sources)
        }
        value => Err(PlanError::NotReference {
            value: value.clone(),
        }),
    }
}

/// The outputs a reference `text` names, one source per chosen instance of its stage.
fn resolve_reference(text: &str, lookup: &Lookup) -> Result<Vec<Source>, PlanError> {
    let Lookup {
        by_stage, disabled, ..
    } = lookup;
    let r = Reference::parse(text).map_err(PlanError::BadReference)?;
    if disabled.contains(&r.stage.as_str()) {
        return Err(PlanError::DisabledStage {
            reference: text.to_string(),
            stage: r.stage,
        });
    }
    let Some(candidates) = by_stage.get(r.stage.as_str()) else {
        return Err(PlanError::UnknownStage {
            reference: text.to_string(),
            stage: r.stage,
            known: by_stage.keys().map(|s| s.to_string()).collect(),
        });
    };
    let chosen: Vec<usize> = match &r.selector {
        None => {
            if candidates.len() > 1 {
                return Err(PlanError::AmbiguousReference {
                    reference: text.to_string(),
                    stage: r.stage,
                    output: r.output,
                    instances: candidates.len(),
                });
            }
            candidates.clone()
        }
        Some(Selector::All) => candidates.clone(),
        Some(Selector::Where(pairs)) => select_where(text, &r.stage, pairs, candidates, lookup)?,
    };
    // Instance indices equal task indices until the topological reorder, which remaps them.
    Ok(chosen
        .into_iter()
        .map(|task| Source::Task {
            task,
            output: r.output.clone(),
        })
        .collect())
}

/// The instances of `stage` (which has `candidates`) whose axes have the values of `pairs`, in
/// matrix order; `reference` is the reference's text, for the errors.
fn select_where(
    reference: &str,
    stage: &str,
    pairs: &[(String, String)],
    candidates: &[usize],
    lookup: &Lookup,
) -> Result<Vec<usize>, PlanError> {
    let instances = &lookup.instances;
    for (axis, _) in pairs {
        if !instances[candidates[0]].axes.iter().any(|(a, _)| a == axis) {
            return Err(PlanError::UnknownAxis {
                reference: reference.to_string(),
                stage: stage.to_string(),
                axis: axis.clone(),
                axes: instances[candidates[0]]
                    .axes
                    .iter()
                    .map(|(a, _)| a.clone())
                    .collect(),
            });
        }
    }
    let (first_axis, first_value) = &pairs[0];
    let chosen: Vec<usize> = lookup
        .with_axis(stage, candidates, first_axis, first_value)
        .into_iter()
        .filter(|&i| {
            pairs[1..].iter().all(|(axis, want)| {
                instances[i]
                    .axes
                    .iter()
                    .any(|(a, v)| a == axis && axis_value(v) == *want)
            })
        })
        .collect();
    if chosen.is_empty() {
        return Err(PlanError::NoMatchingInstance {
            reference: reference.to_string(),
            stage: stage.to_string(),
        });
    }
    Ok(chosen)
}

/// Checks that every output a task reads is one its upstream task writes.
fn check_upstream_outputs(tasks: &[Task]) -> Result<(), PlanError> {
    for t in tasks {
        for (port, sources) in &t.inputs {
            for s in sources {
                if let Source::Task { task, output } = s {
                    let up = &tasks[*task];
                    if !up.outputs.contains_key(output) {
                        let error = PlanError::UnknownOutput {
                            stage: up.stage.to_string(),
                            output: output.clone(),
                            known: up.outputs.keys().cloned().collect(),
                        };
                        return Err(error.in_field(format!("inputs.{port}")).in_stage(&*t.stage));
                    }
                }
            }
        }
    }
    Ok(())
}

/// Kahn's algorithm taking the lowest ready index first, so tasks keep the file's and the matrix's
/// order wherever the graph allows; `None` when there is a cycle.
fn stable_topological_order(graph: &DiGraph<usize, ()>) -> Option<Vec<usize>> {
    let n = graph.node_count();
    let mut indegree: Vec<usize> = (0..n)
        .map(|i| {
            graph
                .neighbors_directed(NodeIndex::new(i), petgraph::Direction::Incoming)
                .count()
        })
        .collect();
    let mut ready: std::collections::BTreeSet<usize> =
        (0..n).filter(|&i| indegree[i] == 0).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(i) = ready.pop_first() {
        order.push(i);
        for next in graph.neighbors(NodeIndex::new(i)) {
            let j = next.index();
            indegree[j] -= 1;
            if indegree[j] == 0 {
                ready.insert(j);
            }
        }
    }
    (order.len() == n).then_some(order)
}

/// Describes one cycle of the graph as `a -> b -> a` in stage names.
fn describe_cycle(graph: &DiGraph<usize, ()>, tasks: &[Task]) -> PlanError {
    for scc in petgraph::algo::tarjan_scc(graph) {
        let is_cycle = scc.len() > 1 || graph.contains_edge(scc[0], scc[0]);
        if !is_cycle {
            continue;
        }
        // Walk inside the component from its first node until we come back.
        let members: std::collections::HashSet<NodeIndex> = scc.iter().copied().collect();
        let start = *scc.iter().min().expect("a component has a node");
        let mut path = vec![start];
        let mut seen = std::collections::HashSet::from([start]);
        let mut current = start;
        loop {
            let next = graph
                .neighbors(current)
                .find(|n| members.contains(n) && (*n == start || !seen.contains(n)));
            match next {
                Some(n) if n == start => break,
                Some(n) => {
                    seen.insert(n);
                    path.push(n);
                    current = n;
                }
                None => break,
            }
        }
        path.push(start);
        let path = path.iter().map(|n| tasks[graph[*n]].id.clone()).collect();
        return PlanError::Cycle { path };
    }
    PlanError::Cycle { path: Vec::new() }
}

/// Puts tasks in topological `order` and rebuilds the graph with the new indices.
fn reorder(tasks: Vec<Task>, order: &[usize]) -> (Vec<Task>, DiGraph<usize, ()>) {
    let mut new_index = vec![0; tasks.len()];
    for (new, &old) in order.iter().enumerate() {
        new_index[old] = new;
    }
    let mut out = tasks;
    permute_in_place(&mut out, order);
    for t in &mut out {
        for sources in t.inputs.values_mut() {
            for s in sources.iter_mut() {
                if let Source::Task { task, .. } = s {
                    *task = new_index[*task];
                }
            }
        }
    }
    let graph = task_graph(&out);
    (out, graph)
}

/// Puts `items[order[k]]` at position `k` for every `k` (`order` a permutation), by swaps along each
/// cycle of the permutation: no second vector, which at 100,000 tasks would be 20 MB at the plan's
/// peak.
fn permute_in_place<T>(items: &mut [T], order: &[usize]) {
    let mut placed = vec![false; items.len()];
    for start in 0..items.len() {
        let mut at = start;
        while !placed[at] {
            placed[at] = true;
            let from = order[at];
            if from == start {
                break;
            }
            items.swap(at, from);
            at = from;
        }
    }
}

/// The distinct tasks `task` reads from, ascending: one graph edge each however many outputs or
/// ports connect them (petgraph's `update_edge` would find duplicates by a scan of the upstream
/// task's edges, quadratic for a wide fan-out).
fn upstream_tasks(task: &Task) -> BTreeSet<usize> {
    task.inputs
        .values()
        .flatten()
        .filter_map(|s| match s {
            Source::Task { task, .. } => Some(*task),
            Source::File(_) => None,
        })
        .collect()
}

/// What task `i`'s key is computed from, in canonical JSON (keys sorted, compact): kind, version or
/// argv and outputs, params, seed, input digests (upstream keys and file digests), format. Written
/// directly rather than through a `serde_json::Value`: the params are canonical JSON already.
fn components(
    tasks: &[Task],
    i: usize,
    seed: u64,
    digest: &mut dyn FnMut(&Path) -> Result<String, PlanError>,
) -> Result<String, PlanError> {
    let t = &tasks[i];
    let mut inputs = BTreeMap::new();
    for (port, sources) in &t.inputs {
        let mut digests = Vec::with_capacity(sources.len());
        for s in sources {
            digests.push(match s {
                Source::Task { task, output } => format!("task:{}:{output}", tasks[*task].key),
                Source::File(path) => format!("file:{}", digest(path)?),
            });
        }
        inputs.insert(port.as_str(), digests);
    }
    let mut out = Vec::with_capacity(128 + t.params_json.len());
    out.push(b'{');
    if let Action::Cmd(argv) = &t.action {
        out.extend_from_slice(b"\"cmd\":");
        key::write_compact(&argv.iter().collect::<Vec<_>>(), &mut out);
        out.push(b',');
    }
    out.extend_from_slice(b"\"format\":");
    key::write_compact(&FORMAT_VERSION, &mut out);
    out.extend_from_slice(b",\"inputs\":");
    key::write_compact(&inputs, &mut out);
    out.extend_from_slice(b",\"kind\":");
    key::write_compact(t.kind_name(), &mut out);
    if let Action::Cmd(_) = &t.action {
        let outputs: BTreeMap<&str, &str> = t
            .outputs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        out.extend_from_slice(b",\"outputs\":");
        key::write_compact(&outputs, &mut out);
    }
    out.extend_from_slice(b",\"params\":");
    out.extend_from_slice(t.params_json.as_bytes());
    out.extend_from_slice(b",\"seed\":");
    key::write_compact(&seed, &mut out);
    if let Action::Kind(k) = &t.action {
        out.extend_from_slice(b",\"version\":");
        key::write_compact(&k.version(), &mut out);
    }
    out.push(b'}');
    Ok(String::from_utf8(out).expect("serde_json writes UTF-8"))
}

/// Each task's priority: the number of tasks on the longest path from it to a sink, itself
/// included (the tasks are in topological order).
fn priorities(graph: &DiGraph<usize, ()>, n: usize) -> Vec<usize> {
    let mut prio = vec![1usize; n];
    for i in (0..n).rev() {
        let best = graph
            .neighbors(NodeIndex::new(i))
            .map(|c| prio[graph[c]])
            .max()
            .unwrap_or(0);
        prio[i] = best + 1;
    }
    prio
}

#[cfg(test)]
mod tests;
