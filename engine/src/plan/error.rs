//! Why a pipeline cannot be planned: what is wrong, and where (file, stage, field).

use std::path::PathBuf;

use serde_json::Value;
use thiserror::Error;

use crate::error::{ErrorKind, PipeError};
use crate::spec::nearest;

/// An error from planning a pipeline.
///
/// The `In*` variants say where the error is and wrap the one that says what it is, so
/// `InFile { InStage { InField { EmptyAxis } } }` reads
/// `p.yaml: stage 'train': matrix: axis 'fold' is empty; give it at least one value`.
/// [`plan`](super::plan) returns every error inside an [`PlanError::InFile`].
#[derive(Debug, Error)]
pub enum PlanError {
    /// An error in the pipeline file `file`.
    #[error("{}: {error}", .file.display())]
    InFile {
        /// The pipeline file.
        file: PathBuf,
        /// What is wrong in it.
        error: Box<PlanError>,
    },

    /// An error in stage `stage`.
    #[error("stage '{stage}': {error}")]
    InStage {
        /// The stage's name.
        stage: String,
        /// What is wrong in it.
        error: Box<PlanError>,
    },

    /// An error in one field: `vars`, `profiles.<name>.vars`, `when`, `matrix`, a matrix axis,
    /// `params`, `cmd`, `outputs.<name>` or `inputs.<name>`.
    #[error("{field}: {error}")]
    InField {
        /// The field, as the pipeline file spells it.
        field: String,
        /// What is wrong in it.
        error: Box<PlanError>,
    },

    /// A value that cannot be read, or whose variables cannot be substituted (the message comes
    /// from [`crate::spec`]).
    #[error("{0}")]
    Value(String),

    /// `--profile` names a profile the file does not have.
    #[error(
        "no profile '{name}'{}; profiles: {}",
        did_you_mean(.name, .known),
        list_or_none(.known)
    )]
    UnknownProfile {
        /// The profile asked for.
        name: String,
        /// The file's profiles.
        known: Vec<String>,
    },

    /// A `when` string that is neither a boolean nor a comparison.
    #[error("'{text}' is neither true/false nor a comparison 'a == b' / 'a != b'")]
    WhenNotCondition {
        /// The `when` text after substitution, trimmed.
        text: String,
    },

    /// A `when` that is neither a boolean nor a string.
    #[error("{value} is not a boolean")]
    WhenNotBoolean {
        /// The `when` value after substitution.
        value: Value,
    },

    /// A matrix axis without values.
    #[error("axis '{axis}' is empty; give it at least one value")]
    EmptyAxis {
        /// The axis.
        axis: String,
    },

    /// A matrix axis with a list, map or null among its values.
    #[error("axis '{axis}': values must be strings, numbers or booleans")]
    AxisValueType {
        /// The axis.
        axis: String,
    },

    /// A `range(...)` that is neither `range(n)` nor `range(a, b)`.
    #[error("'{text}': expected range(n) or range(a, b)")]
    BadRange {
        /// The range text.
        text: String,
    },

    /// A matrix whose tasks, with those of the stages before it, would pass `--max-tasks`.
    #[error(
        "the matrix ({axes}) would make {count} tasks{}, over the limit of {limit}; \
         shrink it, or raise the limit with --max-tasks N (or PIPE_MAX_TASKS=N) if this is meant",
        if *.before > 0 { format!(", {} with the {before} of the stages before it", .count + *.before as u128) } else { String::new() }
    )]
    TooManyTasks {
        /// Its tasks: the product of its axes' sizes.
        count: u128,
        /// The tasks of the stages before it.
        before: usize,
        /// Each axis with its size, `a: 10 x b: 3`.
        axes: String,
        /// The limit.
        limit: usize,
    },

    /// A `range(...)` with something other than whole numbers.
    #[error("'{text}': range takes whole numbers")]
    RangeNotWhole {
        /// The range text.
        text: String,
    },

    /// `kind:` names no built-in stage kind.
    #[error(
        "unknown stage kind '{name}'{}; built-in kinds: {}, or use 'cmd' for a command",
        did_you_mean(.name, .known),
        .known.join(", ")
    )]
    UnknownKind {
        /// The kind asked for.
        name: String,
        /// The built-in kinds.
        known: Vec<&'static str>,
    },

    /// A stage kind rejects the stage's parameters.
    #[error("(kind {kind}) {error:#}")]
    KindParams {
        /// The kind.
        kind: String,
        /// Why it rejects them.
        error: anyhow::Error,
    },

    /// A `cmd` argument that is a map or null after substitution.
    #[error("argument {value} is not a string")]
    CmdArgument {
        /// The argument after substitution.
        value: Value,
    },
    /// A `cmd` argument that holds a NUL byte, which no command can be given.
    #[error("argument {argument:?} holds a NUL byte, which a command's arguments cannot hold")]
    CmdArgumentNul {
        /// The argument after substitution.
        argument: String,
    },

    /// An output path that is not a string after substitution.
    #[error("expected a relative path")]
    OutputNotString,

    /// An output path that is absolute or climbs out of the task's output directory.
    #[error("'{path}' must be a relative path inside the task's output directory")]
    OutputOutside {
        /// The path after substitution.
        path: String,
    },

    /// An input that the stage's kind does not have.
    #[error(
        "kind '{kind}' has no input '{input}'{}; its inputs: {}",
        did_you_mean(.input, .known),
        .known.join(", ")
    )]
    UnknownInput {
        /// The kind.
        kind: &'static str,
        /// The input given.
        input: String,
        /// The kind's inputs.
        known: Vec<&'static str>,
    },

    /// An input of a kind that takes one path, given none or several.
    #[error(
        "input '{input}' of kind '{kind}' takes exactly one path, but the reference gives {given}"
    )]
    InputTakesOne {
        /// The kind.
        kind: &'static str,
        /// The input.
        input: String,
        /// How many paths it was given.
        given: usize,
    },

    /// A required input of the stage's kind that the stage does not give.
    #[error("kind '{kind}' needs input '{input}' ({doc})")]
    MissingInput {
        /// The kind.
        kind: &'static str,
        /// The input.
        input: &'static str,
        /// What the input is.
        doc: &'static str,
    },

    /// `{files: [...]}` with something other than a path in the list.
    #[error("files: expected a list of paths")]
    FilesNotPaths,

    /// A map input that is neither `{file: path}` nor `{files: [paths]}`.
    #[error("expected {{file: path}} or {{files: [paths]}}")]
    NotFileForm,

    /// An input file that does not exist.
    #[error(
        "input file {} does not exist (paths are relative to the pipeline file's folder)",
        .path.display()
    )]
    MissingFile {
        /// The path, joined to the pipeline file's folder.
        path: PathBuf,
    },

    /// An input that is neither a reference, a list nor a file map.
    #[error("{value} is not a reference or a file")]
    NotReference {
        /// The input after substitution.
        value: Value,
    },

    /// A reference that does not parse (the message comes from [`super::Reference::parse`]).
    #[error("{0}")]
    BadReference(String),

    /// A reference to a stage that its `when` switches off.
    #[error("'{reference}': stage '{stage}' is switched off by its 'when'")]
    DisabledStage {
        /// The reference.
        reference: String,
        /// The stage.
        stage: String,
    },

    /// A reference to a stage the pipeline does not have.
    #[error("'{reference}': no stage '{stage}'{}", did_you_mean(.stage, .known))]
    UnknownStage {
        /// The reference.
        reference: String,
        /// The stage.
        stage: String,
        /// The stages that are switched on.
        known: Vec<String>,
    },

    /// A bare `stage.output` reference to a stage with several instances.
    #[error(
        "'{reference}': stage '{stage}' has {instances} instances; use {stage}[*].{output} for all of them or {stage}[axis=value].{output} for some"
    )]
    AmbiguousReference {
        /// The reference.
        reference: String,
        /// The stage.
        stage: String,
        /// The output.
        output: String,
        /// How many instances the stage has.
        instances: usize,
    },

    /// A selector naming an axis the stage's matrix does not have.
    #[error(
        "'{reference}': stage '{stage}' has no matrix axis '{axis}' (axes: {})",
        list_or_none(.axes)
    )]
    UnknownAxis {
        /// The reference.
        reference: String,
        /// The stage.
        stage: String,
        /// The axis.
        axis: String,
        /// The stage's axes.
        axes: Vec<String>,
    },

    /// A selector that no instance of the stage matches.
    #[error("'{reference}': no instance of stage '{stage}' matches")]
    NoMatchingInstance {
        /// The reference.
        reference: String,
        /// The stage.
        stage: String,
    },

    /// A reference to an output the upstream stage does not have.
    #[error(
        "stage '{stage}' has no output '{output}'{}; its outputs: {}",
        did_you_mean(.output, .known),
        list_or_none(.known)
    )]
    UnknownOutput {
        /// The upstream stage.
        stage: String,
        /// The output.
        output: String,
        /// The upstream stage's outputs.
        known: Vec<String>,
    },

    /// Stages that read each other's outputs in a cycle.
    #[error("the stages form a cycle{}", cycle_path(.path))]
    Cycle {
        /// Task ids around one cycle, the first repeated at the end; empty when none was found.
        path: Vec<String>,
    },

    /// An external input that cannot be read to digest it (an environment error, exit 3).
    #[error(transparent)]
    Digest(PipeError),
}

impl PlanError {
    /// This error inside stage `stage`.
    pub fn in_stage(self, stage: impl Into<String>) -> Self {
        Self::InStage {
            stage: stage.into(),
            error: Box::new(self),
        }
    }

    /// This error inside field `field`.
    pub fn in_field(self, field: impl Into<String>) -> Self {
        Self::InField {
            field: field.into(),
            error: Box::new(self),
        }
    }

    /// This error inside pipeline file `file`.
    pub fn in_file(self, file: impl Into<PathBuf>) -> Self {
        Self::InFile {
            file: file.into(),
            error: Box::new(self),
        }
    }

    /// The kind of failure, which decides the exit code: environment for an unreadable input,
    /// invalid for everything else.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::InFile { error, .. }
            | Self::InStage { error, .. }
            | Self::InField { error, .. } => error.kind(),
            Self::Digest(e) => e.kind,
            _ => ErrorKind::Invalid,
        }
    }
}

/// A message from [`crate::spec`] (reading or substituting a value) as an error in `field`.
pub(super) fn value_in(field: impl Into<String>) -> impl FnOnce(String) -> PlanError {
    move |message| PlanError::Value(message).in_field(field)
}

impl From<PlanError> for PipeError {
    fn from(e: PlanError) -> Self {
        PipeError {
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}

/// ` (did you mean 'x'?)` when one of `known` is close to `word`, else nothing.
fn did_you_mean<S: AsRef<str>>(word: &str, known: &[S]) -> String {
    nearest(word, known.iter().map(AsRef::as_ref))
        .map(|n| format!(" (did you mean '{n}'?)"))
        .unwrap_or_default()
}

/// `names` joined with `, `, or `none`.
fn list_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

/// `: a -> b -> a`, or nothing when no cycle was found.
fn cycle_path(path: &[String]) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!(": {}", path.join(" -> "))
    }
}
