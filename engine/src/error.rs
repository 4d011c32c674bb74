//! Errors that end a command, each with its exit code.

use std::fmt;

/// What went wrong, which decides the exit code (see `pipe --help`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The pipeline file or the command line is wrong (exit 2).
    Invalid,
    /// The environment is wrong: cache not writable, missing input file, I/O failure (exit 3).
    Environment,
    /// One or more tasks failed (exit 1).
    TaskFailed,
    /// Stopped by Ctrl-C or SIGTERM (exit 130).
    Interrupted,
}

/// An error that ends a `pipe` command: one clear message and an exit code.
#[derive(Debug)]
pub struct PipeError {
    /// What kind of failure this is.
    pub kind: ErrorKind,
    /// The message shown to the user.
    pub message: String,
}

impl PipeError {
    /// A pipeline or usage error.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Invalid,
            message: message.into(),
        }
    }

    /// An environment or I/O error.
    pub fn env(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Environment,
            message: message.into(),
        }
    }

    /// The exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self.kind {
            ErrorKind::TaskFailed => 1,
            ErrorKind::Invalid => 2,
            ErrorKind::Environment => 3,
            ErrorKind::Interrupted => 130,
        }
    }
}

impl fmt::Display for PipeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PipeError {}

/// Wraps an I/O error with the path it concerns; a full disk is said as such
/// ([`crate::disk::no_space_message`]).
pub fn io_error(what: &str, path: &std::path::Path, e: std::io::Error) -> PipeError {
    if crate::disk::is_no_space(&e) {
        return PipeError::env(format!(
            "{} ({what} {}: {e})",
            crate::disk::no_space_message(path),
            path.display()
        ));
    }
    PipeError::env(format!("{what} {}: {e}", path.display()))
}
