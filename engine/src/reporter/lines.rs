//! Plain line-per-event output, for logs and pipes.

use std::io::Write;
use std::time::Instant;

use super::{device_label, Reporter, RunEvent};
use crate::exec::TaskStatus;

/// Writes lines to `W` (stderr in `pipe run`): the plan (with the count of cached tasks), one line
/// for each task that ends (done or failed), a retry's start, and progress at most every few seconds
/// per task. Only when verbose (`pipe run -v`) also each task's start and each cached task, so a
/// no-op run of any size prints a couple of lines.
pub struct LineReporter<W: Write = Box<dyn Write>> {
    out: W,
    verbose: bool,
    total: usize,
    done: usize,
    last_progress: Vec<Option<Instant>>,
}

impl<W: Write> LineReporter<W> {
    /// A reporter writing to `out`, one line for all the cached tasks.
    pub fn new(out: W) -> Self {
        Self {
            out,
            verbose: false,
            total: 0,
            done: 0,
            last_progress: Vec::new(),
        }
    }

    /// Also a line for each cached task.
    pub fn verbose(mut self, verbose: bool) -> Self {
        self.verbose = verbose;
        self
    }
}

impl<W: Write> Reporter for LineReporter<W> {
    fn event(&mut self, event: RunEvent<'_>) {
        let line = match event {
            RunEvent::Planned {
                plan,
                to_run,
                cached,
            } => {
                self.total = to_run;
                self.last_progress = vec![None; plan.tasks.len()];
                let hint = if cached > 0 && !self.verbose {
                    " (-v lists the cached ones)"
                } else {
                    ""
                };
                format!(
                    "{}: {} tasks, {cached} cached, {to_run} to run{hint}",
                    plan.pipeline.name,
                    plan.tasks.len()
                )
            }
            RunEvent::Started { attempt: 1, .. } if !self.verbose => return,
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
                TaskStatus::Cached if !self.verbose => return,
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

#[cfg(test)]
mod tests {
    use std::io::BufWriter;

    use pipe_kind::Progress;

    use super::*;
    use crate::exec::TaskResult;
    use crate::key::DigestMemo;
    use crate::plan::{plan, Plan, PlanOptions};
    use crate::spec::Pipeline;

    fn chain() -> Plan {
        let text = r#"
name: chain
stages:
  a: { cmd: [touch, "${outputs.out}"], outputs: { out: a.txt } }
  b: { cmd: [cp, "${inputs.x}", "${outputs.out}"], inputs: { x: a.out }, outputs: { out: b.txt } }
  c: { cmd: [touch, "${outputs.out}"], outputs: { out: c.txt } }
"#;
        let pipeline = Pipeline::parse(text, std::path::Path::new("/nowhere/p.yaml")).unwrap();
        plan(
            pipeline,
            &PlanOptions::default(),
            &mut DigestMemo::default(),
        )
        .unwrap()
    }

    fn result(status: TaskStatus) -> TaskResult {
        TaskResult {
            status,
            start: 10.0,
            end: 12.5,
            exit_code: None,
            devices: Vec::new(),
            job_id: String::new(),
            attempts: 1,
            message: String::new(),
        }
    }

    /// What a line reporter writes for `events` on the tasks of `plan`, flushed at the end.
    fn output(plan: &Plan, events: &[(&str, &str, TaskResult)]) -> String {
        output_verbose(plan, events, false)
    }

    /// [`output`], verbose or not.
    fn output_verbose(plan: &Plan, events: &[(&str, &str, TaskResult)], verbose: bool) -> String {
        let mut reporter = LineReporter::new(BufWriter::new(Vec::new())).verbose(verbose);
        reporter.event(RunEvent::Planned {
            plan,
            to_run: 2,
            cached: 1,
        });
        for (kind, id, r) in events {
            let index = plan.find(id).unwrap();
            let task = &plan.tasks[index];
            let event = match *kind {
                "start" => RunEvent::Started {
                    index,
                    task,
                    devices: &r.devices,
                    attempt: r.attempts,
                },
                "retry" => RunEvent::Retrying {
                    index,
                    task,
                    result: r,
                },
                "end" => RunEvent::Finished {
                    index,
                    task,
                    result: r,
                },
                other => panic!("no event {other}"),
            };
            reporter.event(event);
        }
        reporter.finish();
        String::from_utf8(reporter.out.into_inner().unwrap()).unwrap()
    }

    #[test]
    fn a_run_that_succeeds() {
        let plan = chain();
        let mut on_gpus = result(TaskStatus::Skipped);
        on_gpus.devices = vec![0, 1];
        let events = [
            ("end", "b", result(TaskStatus::Cached)),
            ("start", "a", result(TaskStatus::Skipped)),
            ("start", "c", on_gpus),
            ("end", "a", result(TaskStatus::Ran)),
            ("end", "c", result(TaskStatus::Ran)),
        ];
        // The cached task is counted in the first line and listed only when verbose.
        assert_eq!(
            output(&plan, &events),
            "chain: 3 tasks, 1 cached, 2 to run (-v lists the cached ones)\n\
             [1/2] done a in 2.5s\n\
             [2/2] done c in 2.5s\n"
        );
        assert_eq!(
            output_verbose(&plan, &events, true),
            "chain: 3 tasks, 1 cached, 2 to run\n\
             cached b\n\
             start a on cpu\n\
             start c on gpu 0,1\n\
             [1/2] done a in 2.5s\n\
             [2/2] done c in 2.5s\n"
        );
    }

    #[test]
    fn a_retried_task_that_fails() {
        let plan = chain();
        let mut first = result(TaskStatus::Skipped);
        first.message = "loading\nout of memory".into();
        let mut second = result(TaskStatus::Skipped);
        second.attempts = 2;
        let mut failed = result(TaskStatus::Failed);
        failed.exit_code = Some(3);
        failed.message = "loading\nout of memory".into();
        let events = [
            ("start", "a", result(TaskStatus::Skipped)),
            ("retry", "a", first),
            ("start", "a", second),
            ("end", "a", failed),
            ("end", "b", result(TaskStatus::Skipped)),
            ("end", "c", result(TaskStatus::Ran)),
        ];
        assert_eq!(
            output(&plan, &events),
            "chain: 3 tasks, 1 cached, 2 to run (-v lists the cached ones)\n\
             retry a after a failure: out of memory\n\
             start a on cpu (attempt 2)\n\
             FAILED a (exit code 3):\n    loading\n    out of memory\n\
             skipped b\n\
             [2/2] done c in 2.5s\n"
        );
    }

    #[test]
    fn progress_is_throttled_and_interrupts_are_announced() {
        let plan = chain();
        let mut out = Vec::new();
        let mut reporter = LineReporter::new(&mut out);
        reporter.event(RunEvent::Planned {
            plan: &plan,
            to_run: 3,
            cached: 0,
        });
        let a = plan.find("a").unwrap();
        for message in ["epoch 1", "epoch 2"] {
            let progress = Progress {
                done: 1,
                total: 2,
                message: message.into(),
            };
            reporter.event(RunEvent::Progress {
                index: a,
                task: &plan.tasks[a],
                progress: &progress,
            });
        }
        reporter.event(RunEvent::Interrupting);
        let mut killed = result(TaskStatus::Interrupted);
        killed.exit_code = Some(143);
        reporter.event(RunEvent::Finished {
            index: a,
            task: &plan.tasks[a],
            result: &killed,
        });
        drop(reporter);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "chain: 3 tasks, 0 cached, 3 to run\n  \
             a epoch 1\n\
             interrupted: stopping running tasks\n\
             interrupted a\n"
        );
    }
}
