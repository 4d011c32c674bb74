//! The pipeline file: YAML to a typed model, with `file:line:col` errors and "did you mean" hints.

mod duplicates;
mod executor;
mod vars;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::Deserialize;
use serde_yaml::Value;

use crate::error::PipeError;
pub use executor::{ExecutorKind, SlurmSettings};
pub use vars::{parse_set, Vars};

/// A parsed pipeline file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pipeline {
    /// Pipeline name: names its results folder and its status index.
    pub name: String,
    /// Seed handed to every task (part of every key).
    #[serde(default)]
    pub seed: u64,
    /// Variables, substituted as `${name}` (nested maps as `${a.b}`).
    #[serde(default)]
    pub vars: serde_yaml::Mapping,
    /// Named sets of overrides chosen with `--profile`.
    #[serde(default)]
    pub profiles: IndexMap<String, Profile>,
    /// The stages, in file order.
    pub stages: IndexMap<String, StageSpec>,
    /// Outputs published under `results/<name>/` after a run: `label: stage.output` references.
    #[serde(default)]
    pub results: IndexMap<String, String>,
    /// Where tasks run (`--executor` overrides).
    #[serde(default)]
    pub executor: Option<ExecutorKind>,
    /// Slurm executor settings.
    #[serde(default)]
    pub slurm: SlurmSettings,
    /// The file this was read from (set after parsing).
    #[serde(skip)]
    pub path: PathBuf,
}

/// A named set of overrides.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Variables that replace the pipeline's.
    #[serde(default)]
    pub vars: serde_yaml::Mapping,
    /// Where tasks run, replacing the pipeline's.
    #[serde(default)]
    pub executor: Option<ExecutorKind>,
    /// Slurm settings, overriding the pipeline's field by field.
    #[serde(default)]
    pub slurm: SlurmSettings,
}

/// One stage: a built-in `kind` or an external `cmd`, possibly expanded over a `matrix`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageSpec {
    /// Built-in stage kind.
    pub kind: Option<String>,
    /// External command: argv, run without a shell.
    pub cmd: Option<Vec<Value>>,
    /// Parameters (matrix values are merged in, unless `axis_params` is false).
    #[serde(default)]
    pub params: serde_yaml::Mapping,
    /// Input name to a reference (`stage.output`, `stage[*].output`, `stage[a=x].output`), a list of
    /// references, or `{file: path}` / `{files: [paths]}`.
    #[serde(default)]
    pub inputs: IndexMap<String, Value>,
    /// For `cmd` stages: output name to a path relative to the task's output directory.
    #[serde(default)]
    pub outputs: IndexMap<String, Value>,
    /// Axis name to values (a list, `"${var}"`, or `"range(n)"`).
    #[serde(default)]
    pub matrix: IndexMap<String, Value>,
    /// Whether the matrix's axis values join the params (default: true); false when the axes only
    /// pick the inputs (`inputs: { model: "train[arch=${arch}].model" }`) of a kind without such params.
    #[serde(default)]
    pub axis_params: Option<bool>,
    /// What each task needs.
    #[serde(default)]
    pub resources: Resources,
    /// How many times a failed task is tried again.
    #[serde(default)]
    pub retries: u32,
    /// Whether the stage is part of the plan: a boolean, or `"a == b"` / `"a != b"` after variable
    /// substitution (e.g. `when: "${source} == tfrecord"`). Default: always.
    #[serde(default)]
    pub when: Option<Value>,
    /// For `cmd` stages: whether the command runs confined, writing only in its own folders and
    /// `writable` (default: true; see the README).
    #[serde(default)]
    pub confine: Option<bool>,
    /// For `cmd` stages: folders the confined command may also write in (relative to the pipeline
    /// file's folder), e.g. a tool's own cache.
    #[serde(default)]
    pub writable: Vec<String>,
    /// For `cmd` stages: `false` refuses TCP connections and listening sockets (default: true).
    #[serde(default)]
    pub network: Option<bool>,
}

/// Resources one task of a stage needs.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    /// CPU slots (of `-j`).
    #[serde(default = "one")]
    pub cpus: u32,
    /// GPUs of its own.
    #[serde(default)]
    pub gpu: u32,
    /// Memory, for cluster executors (e.g. `16G`).
    #[serde(default)]
    pub mem: Option<String>,
    /// Time limit, for cluster executors (e.g. `4:00:00`).
    #[serde(default)]
    pub time: Option<String>,
}

fn one() -> u32 {
    1
}

impl Default for Resources {
    fn default() -> Self {
        Self {
            cpus: 1,
            gpu: 0,
            mem: None,
            time: None,
        }
    }
}

/// Fields a stage may have, for "did you mean" hints.
const STAGE_FIELDS: &[&str] = &[
    "kind",
    "cmd",
    "params",
    "inputs",
    "outputs",
    "matrix",
    "resources",
    "retries",
    "when",
    "confine",
    "writable",
    "network",
];
const TOP_FIELDS: &[&str] = &[
    "name", "seed", "vars", "profiles", "stages", "results", "executor", "slurm",
];

impl Pipeline {
    /// Reads and parses `path`.
    pub fn load(path: &Path) -> Result<Self, PipeError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            PipeError::invalid(format!(
                "{}: cannot read the pipeline file: {e}",
                path.display()
            ))
        })?;
        Self::parse(&text, path)
    }

    /// Parses pipeline text; `path` names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, PipeError> {
        if let Some(d) = duplicates::find_duplicate(text) {
            let within = if d.path.is_empty() {
                String::new()
            } else {
                format!(" in {}", d.path)
            };
            return Err(PipeError::invalid(format!(
                "{}:{}:{}: key '{}'{within} is repeated (first at line {}, again at line {}); keep one",
                path.display(),
                d.second.0,
                d.second.1,
                d.key,
                d.first.0,
                d.second.0
            )));
        }
        let mut pipeline: Pipeline =
            serde_yaml::from_str(text).map_err(|e| yaml_error(path, &e))?;
        pipeline.path = path.to_path_buf();
        pipeline.validate()?;
        Ok(pipeline)
    }

    /// The directory relative file paths and commands are resolved against.
    pub fn dir(&self) -> PathBuf {
        match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }

    fn validate(&self) -> Result<(), PipeError> {
        let file = self.path.display();
        if self.name.trim().is_empty()
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(PipeError::invalid(format!(
                "{file}: name '{}' must be non-empty letters, digits, '-', '_' or '.'",
                self.name
            )));
        }
        if self.stages.is_empty() {
            return Err(PipeError::invalid(format!("{file}: no stages")));
        }
        for (name, stage) in &self.stages {
            if !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(PipeError::invalid(format!(
                    "{file}: stage name '{name}' may contain only letters, digits, '_' and '-'"
                )));
            }
            match (&stage.kind, &stage.cmd) {
                (Some(_), Some(_)) => {
                    return Err(PipeError::invalid(format!(
                        "{file}: stage '{name}' has both 'kind' and 'cmd'; keep one"
                    )))
                }
                (None, None) => {
                    return Err(PipeError::invalid(format!(
                        "{file}: stage '{name}' needs 'kind' (a built-in stage) or 'cmd' (a command)"
                    )))
                }
                (None, Some(argv)) if argv.is_empty() => {
                    return Err(PipeError::invalid(format!(
                        "{file}: stage '{name}': 'cmd' is empty; give the program and its arguments"
                    )))
                }
                (Some(_), None) if !stage.outputs.is_empty() => {
                    return Err(PipeError::invalid(format!(
                        "{file}: stage '{name}': 'outputs' is only for 'cmd' stages; a kind declares its own"
                    )))
                }
                _ => {}
            }
            if stage.kind.is_some()
                && (stage.confine.is_some()
                    || !stage.writable.is_empty()
                    || stage.network.is_some())
            {
                return Err(PipeError::invalid(format!(
                    "{file}: stage '{name}': 'confine', 'writable' and 'network' are for 'cmd' stages; a kind runs pipe's own code"
                )));
            }
            if stage.confine == Some(false) && stage.network == Some(false) {
                return Err(PipeError::invalid(format!(
                    "{file}: stage '{name}': 'network: false' is enforced by confinement; it cannot go with 'confine: false'"
                )));
            }
            if stage.resources.cpus == 0 {
                return Err(PipeError::invalid(format!(
                    "{file}: stage '{name}': resources.cpus must be at least 1"
                )));
            }
        }
        Ok(())
    }
}

/// Formats a YAML error as `file:line:col: message`, with a "did you mean" hint for unknown fields.
fn yaml_error(path: &Path, e: &serde_yaml::Error) -> PipeError {
    let location = e
        .location()
        .map(|l| format!(":{}:{}", l.line(), l.column()))
        .unwrap_or_default();
    let mut message = e.to_string();
    // serde_yaml appends " at line L column C"; the prefix already says where.
    if let Some(cut) = message.find(" at line ") {
        message.truncate(cut);
    }
    if let Some(hint) = unknown_field_hint(&message) {
        message.push_str(&hint);
    }
    PipeError::invalid(format!("{}{location}: {message}", path.display()))
}

/// For "unknown field `x`, expected one of ...", suggests the nearest valid name.
fn unknown_field_hint(message: &str) -> Option<String> {
    let rest = message.split("unknown field `").nth(1)?;
    let field = rest.split('`').next()?;
    let candidates: Vec<&str> = if message.contains("`cmd`") || message.contains("`matrix`") {
        STAGE_FIELDS.to_vec()
    } else if message.contains("`stages`") {
        TOP_FIELDS.to_vec()
    } else {
        message
            .split("expected ")
            .nth(1)?
            .split('`')
            .skip(1)
            .step_by(2)
            .collect()
    };
    nearest(field, candidates.iter().copied()).map(|n| format!(" (did you mean `{n}`?)"))
}

/// The candidate closest to `word` by edit distance, if any is reasonably close.
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 2).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Converts YAML to JSON, normalizing numbers: integral floats become integers, so `1.0` and `1`
/// (or `1e-3` and `0.001`) give the same key.
pub fn to_json(value: &Value) -> Result<serde_json::Value, String> {
    Ok(match value {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into()
            } else if let Some(u) = n.as_u64() {
                u.into()
            } else {
                let f = n.as_f64().ok_or("number out of range")?;
                if !f.is_finite() {
                    return Err(format!("{f} is not a finite number"));
                }
                if f.fract() == 0.0 && f.abs() < 9.0e15 {
                    (f as i64).into()
                } else {
                    serde_json::Number::from_f64(f)
                        .ok_or("number out of range")?
                        .into()
                }
            }
        }
        Value::String(s) => serde_json::Value::String(s.clone()),
        Value::Sequence(items) => items.iter().map(to_json).collect::<Result<_, _>>()?,
        Value::Mapping(map) => {
            let mut out = serde_json::Map::new();
            for (k, v) in map {
                let key = match k {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => return Err("mapping keys must be strings".into()),
                };
                out.insert(key, to_json(v)?);
            }
            serde_json::Value::Object(out)
        }
        Value::Tagged(t) => to_json(&t.value)?,
    })
}

/// A sorted view of a mapping's string keys (used in messages).
pub fn mapping_keys(map: &serde_yaml::Mapping) -> BTreeMap<String, Value> {
    map.iter()
        .filter_map(|(k, v)| k.as_str().map(|k| (k.to_string(), v.clone())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Pipeline, String> {
        Pipeline::parse(text, Path::new("p.yaml")).map_err(|e| e.to_string())
    }

    #[test]
    fn minimal_pipeline_parses() {
        let p = parse("name: x\nstages:\n  a: { cmd: [echo, hi] }\n").unwrap();
        assert_eq!(p.stages.len(), 1);
        assert_eq!(p.stages["a"].resources.cpus, 1);
    }

    #[test]
    fn syntax_error_has_file_line_col() {
        let err = parse("name: x\nstages:\n  a: { cmd: [echo, hi }\n").unwrap_err();
        assert!(err.starts_with("p.yaml:3:"), "{err}");
    }

    #[test]
    fn unknown_stage_field_suggests_nearest() {
        let err = parse("name: x\nstages:\n  a:\n    cmd: [echo]\n    parms: {}\n").unwrap_err();
        assert!(err.starts_with("p.yaml:5:5: "), "{err}");
        assert!(err.contains("did you mean `params`?"), "{err}");
    }

    #[test]
    fn unknown_top_field_suggests_nearest() {
        let err = parse("name: x\nstage:\n  a: { cmd: [echo] }\n").unwrap_err();
        assert!(err.contains("did you mean `stages`?"), "{err}");
    }

    #[test]
    fn repeated_stage_is_an_error_naming_both_lines() {
        let err =
            parse("name: x\nstages:\n  a: { cmd: [echo] }\n  a: { cmd: [true] }\n").unwrap_err();
        assert!(
            err.starts_with("p.yaml:4:3: key 'a' in stages is repeated"),
            "{err}"
        );
        assert!(err.contains("first at line 3, again at line 4"), "{err}");
    }

    #[test]
    fn repeated_param_is_an_error_naming_both_lines() {
        let text =
            "name: x\nstages:\n  a:\n    cmd: [echo]\n    params:\n      lr: 1\n      lr: 2\n";
        let err = parse(text).unwrap_err();
        assert!(
            err.contains("key 'lr' in stages.a.params is repeated"),
            "{err}"
        );
        assert!(err.contains("first at line 6, again at line 7"), "{err}");
    }

    #[test]
    fn kind_and_cmd_are_exclusive() {
        let err = parse("name: x\nstages:\n  a: { kind: split, cmd: [echo] }\n").unwrap_err();
        assert!(err.contains("both 'kind' and 'cmd'"), "{err}");
    }

    #[test]
    fn numbers_are_normalized() {
        let v: Value = serde_yaml::from_str("{a: 1.0, b: 1e-3, c: 0.001, d: 2}").unwrap();
        let j = to_json(&v).unwrap();
        assert_eq!(j["a"], serde_json::json!(1));
        assert_eq!(j["b"], j["c"]);
        assert_eq!(
            serde_json::to_string(&j).unwrap(),
            r#"{"a":1,"b":0.001,"c":0.001,"d":2}"#
        );
    }
}
