//! Commands that belong to a kind's domain (`pipe inspect`, `pipe models`), registered beside the kinds
//! so the engine's command line offers them without knowing what they do.

/// A subcommand of `pipe` that a domain provides.
pub trait DomainCommand: Send + Sync {
    /// The subcommand with its name, help and arguments.
    fn command(&self) -> clap::Command;
    /// Whether it needs libtorch, so runs in the `pipe-torch` worker (`pipe` hands it over).
    fn needs_torch(&self) -> bool {
        false
    }
    /// Runs it with the parsed arguments; returns the process exit code.
    fn run(&self, args: &clap::ArgMatches) -> Result<i32, CommandError>;
    /// The subcommand's name.
    fn name(&self) -> String {
        self.command().get_name().to_string()
    }
}

/// Why a domain command failed, which decides the exit code as for the engine's own commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandError {
    /// The command line or an input's content is wrong (exit 2).
    Invalid(String),
    /// The environment is wrong: a file missing or unreadable, I/O failure (exit 3).
    Environment(String),
}

impl std::fmt::Display for CommandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Invalid(m) | Self::Environment(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for CommandError {}
