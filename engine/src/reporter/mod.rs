//! Reporting of a run, kept apart from the engine: the scheduler emits [`RunEvent`]s and a
//! [`Reporter`] shows them (a live view on a terminal, plain lines otherwise).

mod lines;
mod live;

pub use lines::LineReporter;
pub use live::LiveReporter;

use pipe_kind::Progress;

use crate::exec::TaskResult;
use crate::plan::{Plan, Task};

/// Something that happened in a run.
pub enum RunEvent<'a> {
    /// The run starts: how many tasks run and how many were cached.
    Planned {
        /// The plan.
        plan: &'a Plan,
        /// Tasks to compute.
        to_run: usize,
        /// Tasks found in the cache.
        cached: usize,
    },
    /// A task attempt started.
    Started {
        /// Task index.
        index: usize,
        /// The task.
        task: &'a Task,
        /// Physical GPUs it holds.
        devices: &'a [usize],
        /// 1 for the first attempt.
        attempt: u32,
    },
    /// A running task reported progress.
    Progress {
        /// Task index.
        index: usize,
        /// The task.
        task: &'a Task,
        /// The update.
        progress: &'a Progress,
    },
    /// An attempt failed and the task will be tried again.
    Retrying {
        /// Task index.
        index: usize,
        /// The task.
        task: &'a Task,
        /// The failed attempt.
        result: &'a TaskResult,
    },
    /// A task reached its final state (also sent for cached tasks at the start).
    Finished {
        /// Task index.
        index: usize,
        /// The task.
        task: &'a Task,
        /// Its result.
        result: &'a TaskResult,
    },
    /// Ctrl-C or SIGTERM: running tasks are being stopped.
    Interrupting,
}

/// Shows a run's events.
pub trait Reporter {
    /// Handles one event.
    fn event(&mut self, event: RunEvent<'_>);
    /// The run ended; clear any live display.
    fn finish(&mut self);
}

/// A reporter for the current stderr: live when it is a terminal, plain lines otherwise (`verbose`:
/// a line for each cached task too).
pub fn for_stderr(verbose: bool) -> Box<dyn Reporter> {
    use std::io::IsTerminal;
    if std::io::stderr().is_terminal() {
        Box::new(LiveReporter::new())
    } else {
        Box::new(LineReporter::new(Box::new(std::io::stderr())).verbose(verbose))
    }
}

/// `gpu 0,1` or `cpu`.
pub fn device_label(devices: &[usize]) -> String {
    if devices.is_empty() {
        "cpu".to_string()
    } else {
        let ids: Vec<String> = devices.iter().map(|d| d.to_string()).collect();
        format!("gpu {}", ids.join(","))
    }
}
