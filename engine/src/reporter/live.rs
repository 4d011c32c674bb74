//! The live terminal view: a header with done / running / queued and ETA, one line per running task
//! with its device, elapsed time and latest progress.

use std::collections::HashMap;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::lines::indent;
use super::{device_label, Reporter, RunEvent};
use crate::exec::TaskStatus;

/// Live view on stderr.
pub struct LiveReporter {
    multi: MultiProgress,
    header: ProgressBar,
    bars: HashMap<usize, ProgressBar>,
    total: u64,
    finished: u64,
}

impl LiveReporter {
    /// A live view drawing to stderr.
    pub fn new() -> Self {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(8));
        let header = multi.add(ProgressBar::new(0));
        header.set_style(
            ProgressStyle::with_template(
                "{prefix:.bold} [{bar:30.cyan/blue}] {pos}/{len} done  {msg}  elapsed {elapsed}  ETA {eta}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        header.enable_steady_tick(Duration::from_millis(250));
        Self {
            multi,
            header,
            bars: HashMap::new(),
            total: 0,
            finished: 0,
        }
    }

    fn update_header(&self) {
        let running = self.bars.len() as u64;
        let queued = self.total.saturating_sub(self.finished + running);
        self.header
            .set_message(format!("{running} running, {queued} queued"));
    }
}

impl Default for LiveReporter {
    fn default() -> Self {
        Self::new()
    }
}

impl Reporter for LiveReporter {
    fn event(&mut self, event: RunEvent<'_>) {
        match event {
            RunEvent::Planned {
                plan,
                to_run,
                cached,
            } => {
                self.total = to_run as u64;
                self.header.set_prefix(plan.pipeline.name.clone());
                self.header.set_length(self.total);
                let _ = self.multi.println(format!(
                    "{}: {} tasks, {cached} cached, {to_run} to run",
                    plan.pipeline.name,
                    plan.tasks.len()
                ));
            }
            RunEvent::Started {
                index,
                task,
                devices,
                ..
            } => {
                let bar = self.multi.add(ProgressBar::new(0));
                bar.set_style(
                    ProgressStyle::with_template("  {prefix:.green} {elapsed:>4} {wide_msg}")
                        .expect("valid template"),
                );
                bar.set_prefix(format!("{} [{}]", task.id, device_label(devices)));
                bar.enable_steady_tick(Duration::from_millis(500));
                self.bars.insert(index, bar);
            }
            RunEvent::Progress {
                index, progress, ..
            } => {
                if let Some(bar) = self.bars.get(&index) {
                    let pct = (progress.done * 100)
                        .checked_div(progress.total)
                        .map(|p| format!("{p:>3}% "))
                        .unwrap_or_default();
                    bar.set_message(format!("{pct}{}", progress.message));
                }
            }
            RunEvent::Retrying { index, task, .. } => {
                if let Some(bar) = self.bars.remove(&index) {
                    bar.finish_and_clear();
                }
                let _ = self.multi.println(format!("retry {}", task.id));
            }
            RunEvent::Finished {
                index,
                task,
                result,
            } => {
                if let Some(bar) = self.bars.remove(&index) {
                    bar.finish_and_clear();
                }
                match result.status {
                    TaskStatus::Cached => return,
                    TaskStatus::Failed => {
                        let _ = self.multi.println(format!(
                            "FAILED {}:\n{}",
                            task.id,
                            indent(&result.message)
                        ));
                    }
                    TaskStatus::Ran => {
                        let _ = self.multi.println(format!(
                            "done {} in {:.1}s",
                            task.id,
                            result.end - result.start
                        ));
                    }
                    _ => {}
                }
                self.finished += 1;
                self.header.set_position(self.finished);
            }
            RunEvent::Interrupting => {
                let _ = self.multi.println("interrupted: stopping running tasks");
            }
        }
        self.update_header();
    }

    fn finish(&mut self) {
        for (_, bar) in self.bars.drain() {
            bar.finish_and_clear();
        }
        self.header.finish_and_clear();
        let _ = self.multi.clear();
    }
}
