//! The `pipe` command line.

mod commands;
mod executor_args;
mod results;

use std::path::PathBuf;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use pipe_kind::{CommandError, DomainCommand, Registry};

use crate::error::PipeError;
use crate::plan::DagFormat;
pub use executor_args::ExecutorArgs;

const EXIT_CODES: &str = "\
Exit codes:
  0    success
  1    a task failed (or `pipe verify` found damaged entries)
  2    the pipeline file or the command line is invalid
  3    environment error: cache not writable, input file unreadable, I/O failure
  130  interrupted (Ctrl-C or SIGTERM); nothing partial was published, re-run to resume";

/// Runs declarative, content-hashed ML study pipelines.
#[derive(Debug, Parser)]
#[command(
    name = "pipe",
    version,
    about = "Declarative, content-hashed ML study pipelines",
    after_help = EXIT_CODES
)]
pub struct Cli {
    /// Cache directory (outputs, manifests, run records).
    #[arg(long, global = true, env = "PIPE_CACHE", default_value = "cache")]
    pub cache: PathBuf,
    #[command(subcommand)]
    command: Command,
}

/// Which pipeline, and the overrides that change its plan.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The pipeline file.
    pub file: PathBuf,
    /// Override a variable: `--set folds=3`, `--set lr.regnety_032=5e-4` (value read as YAML).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub sets: Vec<String>,
    /// Apply a profile of the pipeline file.
    #[arg(long)]
    pub profile: Option<String>,
    /// The most tasks the plan may have; a larger matrix or plan is refused before it is expanded.
    #[arg(long, env = "PIPE_MAX_TASKS", value_name = "N", default_value_t = crate::plan::DEFAULT_MAX_TASKS)]
    pub max_tasks: usize,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a pipeline: compute every task whose key is not cached.
    Run {
        #[command(flatten)]
        plan: PlanArgs,
        /// CPU slots (default: the number of CPUs).
        #[arg(short = 'j', long)]
        jobs: Option<usize>,
        /// GPU ids tasks may use, e.g. `0,1` (default: all visible; `none` for none).
        #[arg(long)]
        gpus: Option<String>,
        /// After a failure, run everything not downstream of it.
        #[arg(long)]
        keep_going: bool,
        /// Recompute the tasks of this stage even when cached (repeatable).
        #[arg(long, value_name = "STAGE")]
        force: Vec<String>,
        /// Let commands write anywhere (as `confine: false` on every stage).
        #[arg(long)]
        no_confine: bool,
        /// Without a terminal, also a line for each cached task.
        #[arg(short, long)]
        verbose: bool,
        #[command(flatten)]
        executor: Box<ExecutorArgs>,
    },
    /// List every task as cached or to run, and why, without running anything.
    Status {
        #[command(flatten)]
        plan: PlanArgs,
        /// As `pipe run --force`.
        #[arg(long, value_name = "STAGE")]
        force: Vec<String>,
    },
    /// Print the task graph.
    Dag {
        #[command(flatten)]
        plan: PlanArgs,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: DagFormat,
    },
    /// Show one task: params, key, inputs, outputs, provenance and log.
    Show {
        #[command(flatten)]
        plan: PlanArgs,
        /// Task id, e.g. `train[arch=inception_v3,fold=0]`, or a stage name with one task.
        task: String,
    },
    /// List recent runs from the run records.
    Runs {
        /// How many runs.
        #[arg(short = 'n', long, default_value_t = 10)]
        last: usize,
        /// Show the tasks of this run.
        #[arg(long)]
        run: Option<String>,
    },
    /// Remove cache entries that the given pipelines no longer reach.
    Gc {
        /// Pipeline files whose current tasks are kept.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Only say what would be removed.
        #[arg(long)]
        dry_run: bool,
    },
    /// Re-digest cached outputs and report entries that changed since they were published.
    Verify {
        /// Limit to the tasks of these pipelines (default: every entry).
        files: Vec<PathBuf>,
        /// Remove damaged entries so the next run recomputes them.
        #[arg(long)]
        remove: bool,
    },
    /// List the built-in stage kinds with their inputs and outputs.
    Kinds,
    /// Compute one task (used by executors).
    #[command(name = "__worker", hide = true)]
    Worker {
        /// The task's `task.json`.
        spec: PathBuf,
    },
}

/// Installs `registry` (the stage kinds and domain commands of this binary), parses the command line,
/// runs the command and returns the process exit code.
pub fn main(registry: Registry) -> i32 {
    crate::kinds::install(registry);
    let commands = crate::kinds::registry().commands();
    let matches = Cli::command()
        .subcommands(commands.iter().map(|c| c.command()))
        .get_matches();
    let domain = matches
        .subcommand()
        .and_then(|(name, args)| Some((crate::kinds::registry().command(name)?, args)));
    let result = match domain {
        Some((command, args)) => run_domain_command(command, args),
        None => match Cli::from_arg_matches(&matches) {
            Ok(cli) => run(cli),
            Err(e) => e.exit(),
        },
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            report_error(&e);
            e.exit_code()
        }
    }
}

/// Runs a domain command, in `pipe-torch` when it needs libtorch and this process is not it.
fn run_domain_command(
    command: &dyn DomainCommand,
    args: &clap::ArgMatches,
) -> Result<i32, PipeError> {
    if command.needs_torch() && pipe_kind::torch_hook::installed().is_none() {
        return crate::exec::torch_worker::exec_self_in_torch_worker();
    }
    command.run(args).map_err(|e| match e {
        CommandError::Invalid(m) => PipeError::invalid(m),
        CommandError::Environment(m) => PipeError::env(m),
    })
}

/// Runs one of the engine's own commands.
fn run(cli: Cli) -> Result<i32, PipeError> {
    match cli.command {
        Command::Worker { spec } => Ok(crate::exec::worker::main(&spec)),
        Command::Run {
            plan,
            jobs,
            gpus,
            keep_going,
            force,
            no_confine,
            verbose,
            executor,
        } => commands::run(
            &cli.cache,
            &plan,
            commands::RunArgs {
                jobs,
                gpus: gpus.as_deref(),
                keep_going,
                force,
                no_confine,
                verbose,
            },
            &executor,
        ),
        Command::Status { plan, force } => commands::status(&cli.cache, &plan, force),
        Command::Dag { plan, format } => commands::dag(&cli.cache, &plan, format),
        Command::Show { plan, task } => commands::show(&cli.cache, &plan, &task),
        Command::Runs { last, run } => commands::runs(&cli.cache, last, run.as_deref()),
        Command::Gc { files, dry_run } => commands::gc(&cli.cache, &files, dry_run),
        Command::Verify { files, remove } => commands::verify(&cli.cache, &files, remove),
        Command::Kinds => commands::kinds(),
    }
}

fn report_error(e: &PipeError) {
    eprintln!("error: {e}");
}
