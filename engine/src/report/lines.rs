//! Plain line-per-event output, for logs and pipes.

use std::io::Write;
use std::time::Instant;

use super::{device_label, Reporter, RunEvent};
use crate::exec::TaskStatus;

/// Writes one line per event; progress is shown at most every few seconds per task.
pub struct LineReporter {
    out: Box<dyn Write>,
    total: usize,
    done: usize,
    last_progress: Vec<Option<Instant>>,
}

impl LineReporter {
    /// A reporter writing to `out`.
    pub fn new(out: Box<dyn Write>) -> Self {
        Self {
            out,
            total: 0,
            done: 0,
            last_progress: Vec::new(),
        }
    }
}

impl Reporter for LineReporter {
    fn event(&mut self, event: RunEvent<'_>) {
        let line = match event {
            RunEvent::Planned {
                plan,
                to_run,
                cached,
            } => {
                self.total = to_run;
                self.last_progress = vec![None; plan.tasks.len()];
                format!(
                    "{}: {} tasks, {cached} cached, {to_run} to run",
                    plan.pipeline.name,
                    plan.tasks.len()
                )
            }
            RunEvent::Started {
                task,
                devices,
                attempt,
                ..
            } => {
                let retry = if attempt > 1 {
                    format!(" (attempt {attempt})")
                } else {
                    String::new()
                };
                format!("start {} on {}{retry}", task.id, device_label(devices))
            }
            RunEvent::Progress {
                index,
                task,
                progress,
            } => {
                let now = Instant::now();
                let slot = self.last_progress.get_mut(index);
                match slot {
                    Some(Some(t)) if now.duration_since(*t).as_secs() < 5 => return,
                    Some(s) => *s = Some(now),
                    None => {}
                }
                format!("  {} {}", task.id, progress.message)
            }
            RunEvent::Retrying { task, result, .. } => format!(
                "retry {} after a failure: {}",
                task.id,
                result.message.lines().last().unwrap_or("")
            ),
            RunEvent::Finished { task, result, .. } => match result.status {
                TaskStatus::Cached => format!("cached {}", task.id),
                TaskStatus::Ran => {
                    self.done += 1;
                    format!(
                        "[{}/{}] done {} in {:.1}s",
                        self.done,
                        self.total,
                        task.id,
                        result.end - result.start
                    )
                }
                TaskStatus::Failed => {
                    self.done += 1;
                    let code = result
                        .exit_code
                        .map(|c| format!(" (exit code {c})"))
                        .unwrap_or_default();
                    format!("FAILED {}{code}:\n{}", task.id, indent(&result.message))
                }
                other => format!("{} {}", other.as_str(), task.id),
            },
            RunEvent::Interrupting => "interrupted: stopping running tasks".to_string(),
        };
        let _ = writeln!(self.out, "{line}");
    }

    fn finish(&mut self) {
        let _ = self.out.flush();
    }
}

/// Indents every line by four spaces.
pub fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
