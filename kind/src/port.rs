//! The ports a stage kind declares: what a pipeline binds as its inputs and what it produces.

/// One input a stage kind accepts, referenced in a pipeline as `inputs: { <name>: stage.output }`.
#[derive(Debug, Clone, Copy)]
pub struct InputPort {
    /// Name used in the pipeline file.
    pub name: &'static str,
    /// Whether a pipeline must bind it.
    pub required: bool,
    /// Whether it takes a fan-in list (`train[*].metrics`) rather than exactly one path.
    pub many: bool,
    /// One line for `pipe kinds` and error messages.
    pub doc: &'static str,
}

/// One output a stage kind produces: a file or directory inside the task's output directory.
#[derive(Debug, Clone, Copy)]
pub struct OutputPort {
    /// Name used in references (`examples.examples`).
    pub name: &'static str,
    /// Path relative to the task's output directory.
    pub path: &'static str,
    /// One line for `pipe kinds`.
    pub doc: &'static str,
}
