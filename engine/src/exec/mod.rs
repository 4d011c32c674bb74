//! Execution: the scheduler, the local executor and the worker process.

pub mod confine;
mod devices;
mod local;
mod outputs;
mod scheduler;
pub mod slurm;
mod spec;
pub mod torch_worker;
pub mod worker;

pub use devices::visible_gpus;
pub use local::log_tail;
pub use scheduler::{execute, needed_tasks, Executor, RunOptions};
pub use spec::{WorkerAction, WorkerSpec};

/// How one worker attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Computed and published.
    Computed,
    /// Another run published the key while this one waited for its lock.
    AlreadyCached,
    /// The worker failed.
    Failed {
        /// Its exit code, when it exited.
        exit_code: Option<i32>,
        /// The end of its log.
        log_tail: String,
    },
    /// The worker was killed by a signal.
    Killed {
        /// The signal.
        signal: i32,
        /// The end of its log.
        log_tail: String,
    },
}

impl Outcome {
    fn failed(exit_code: Option<i32>, log_tail: String) -> Self {
        Self::Failed {
            exit_code,
            log_tail,
        }
    }
}

/// What happened to one task in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskStatus {
    /// Its key was in the cache.
    Cached,
    /// It was computed in this run.
    Ran,
    /// It failed (after its retries).
    Failed,
    /// Not run because an upstream task failed or the run stopped first.
    Skipped,
    /// Stopped by an interrupt.
    Interrupted,
    /// Not needed: every task that reads it was cached.
    NotNeeded,
}

impl TaskStatus {
    /// Lower-case name used in records and displays.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cached => "cached",
            Self::Ran => "ran",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
            Self::Interrupted => "interrupted",
            Self::NotNeeded => "not-needed",
        }
    }
}

/// The result of one task in one run.
#[derive(Debug, Clone)]
pub struct TaskResult {
    /// Final status.
    pub status: TaskStatus,
    /// Start of the last attempt, UNIX seconds (0 when it did not run).
    pub start: f64,
    /// End of the last attempt.
    pub end: f64,
    /// Exit code of the last attempt's worker.
    pub exit_code: Option<i32>,
    /// Physical GPUs it held.
    pub devices: Vec<usize>,
    /// The Slurm job that computed it (empty under the local executor).
    pub job_id: String,
    /// Attempts made.
    pub attempts: u32,
    /// Failure message and log tail.
    pub message: String,
}

impl TaskResult {
    fn new(status: TaskStatus) -> Self {
        Self {
            status,
            start: 0.0,
            end: 0.0,
            exit_code: None,
            devices: Vec::new(),
            job_id: String::new(),
            attempts: 0,
            message: String::new(),
        }
    }
}
