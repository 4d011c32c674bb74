//! The scheduler: runs ready tasks in parallel under CPU-slot and GPU limits, longest remaining path
//! first, and stops cleanly on failure or interrupt.

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashSet};
use std::path::PathBuf;

use tokio::sync::mpsc;

use super::local::{run_worker, Workers};
use super::slurm::Slurm;
use super::spec::WorkerSpec;
use super::worker::now;
use super::{Outcome, TaskResult, TaskStatus};
use crate::cache::Cache;
use crate::plan::{Plan, Task};
use crate::reporter::{Reporter, RunEvent};
use crate::spec::SlurmSettings;

/// Where tasks run.
#[derive(Debug, Clone, Default)]
pub enum Executor {
    /// Worker processes on this machine, under `-j` and `--gpus`.
    #[default]
    Local,
    /// One Slurm job per task; Slurm allocates CPUs and GPUs.
    Slurm(SlurmSettings),
}

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// CPU slots (`-j`).
    pub jobs: usize,
    /// GPU ids tasks may be given (`--gpus`).
    pub gpus: Vec<usize>,
    /// Run everything not downstream of a failure (`--keep-going`).
    pub keep_going: bool,
    /// Stages to recompute even when cached (`--force`).
    pub force: HashSet<String>,
    /// Where tasks run (`--executor`).
    pub executor: Executor,
}

/// Which tasks a run computes: forced ones, and uncached ones that a sink or a computed task needs.
pub fn needed_tasks(plan: &Plan, cache: &Cache, force: &HashSet<String>) -> Vec<bool> {
    let n = plan.tasks.len();
    let mut run = vec![false; n];
    for i in (0..n).rev() {
        let t = &plan.tasks[i];
        let dependents = plan.dependents(i);
        let wanted = dependents.is_empty() || dependents.iter().any(|&d| run[d]);
        run[i] = force.contains(&*t.stage) || (wanted && !cache.contains(&t.key));
    }
    run
}

/// What happened while tasks ran: the scheduler's loop turns each into a call of [`Run::handle`].
enum Event {
    /// A running task reported progress.
    Progress(usize, pipe_kind::Progress),
    /// A task's attempt ended; its worker wrote into the private directory.
    Done(usize, Outcome, PathBuf),
    /// Ctrl-C or SIGTERM.
    Interrupt,
}

/// A ready task, ordered longest remaining path first.
type Ready = (Reverse<usize>, usize);

/// CPU slots and GPUs free now.
struct Slots {
    cpus: usize,
    gpus: BTreeSet<usize>,
    /// All the GPUs of the run (`--gpus`).
    total_gpus: usize,
}

/// What [`Slots::grant`] decided for one task.
#[derive(Debug, PartialEq, Eq)]
enum Grant {
    /// Not enough free now; try again when a task ends.
    Wait,
    /// It needs GPUs the run does not have.
    Never,
    /// Run it with these CPU slots and GPUs (taken from the free ones).
    Run(usize, Vec<usize>),
}

impl Slots {
    /// Takes what `task` needs (CPU slots capped at `jobs`), if it is free.
    fn grant(&mut self, task: &Task, jobs: usize) -> Grant {
        let cpus = (task.resources.cpus as usize).min(jobs);
        let want_gpus = task.resources.gpu as usize;
        if want_gpus > 0 && self.total_gpus == 0 && task.requires_gpu {
            return Grant::Never;
        }
        if want_gpus > self.total_gpus && self.total_gpus > 0 {
            return Grant::Never;
        }
        let use_gpus = if self.total_gpus == 0 { 0 } else { want_gpus };
        if self.cpus < cpus || self.gpus.len() < use_gpus {
            return Grant::Wait;
        }
        self.cpus -= cpus;
        let devices: Vec<usize> = self.gpus.iter().copied().take(use_gpus).collect();
        for d in &devices {
            self.gpus.remove(d);
        }
        Grant::Run(cpus, devices)
    }

    /// Gives back what a task held.
    fn release(&mut self, (cpus, devices): (usize, Vec<usize>)) {
        self.cpus += cpus;
        self.gpus.extend(devices);
    }
}

/// The state of one run: what each task is waiting for, what is ready, what runs and what it holds.
struct Run<'a> {
    plan: &'a Plan,
    cache: &'a Cache,
    options: &'a RunOptions,
    reporter: &'a mut dyn Reporter,
    to_run: Vec<bool>,
    results: Vec<TaskResult>,
    /// Dependencies still to finish, per task that runs.
    waiting: Vec<usize>,
    ready: BTreeSet<Ready>,
    slurm: Option<Slurm>,
    /// CPU slots in all (`-j`), or under Slurm jobs in the queue at once.
    jobs: usize,
    slots: Slots,
    /// The CPU slots and GPUs each running task holds.
    held: Vec<(usize, Vec<usize>)>,
    workers: Workers,
    tx: mpsc::UnboundedSender<Event>,
    running: usize,
    stopping: bool,
    interrupted: bool,
}

impl<'a> Run<'a> {
    /// Decides what runs, reports the plan and the cached tasks, and readies the tasks that wait for
    /// nothing. Workers send their events to the returned receiver.
    fn new(
        plan: &'a Plan,
        cache: &'a Cache,
        options: &'a RunOptions,
        reporter: &'a mut dyn Reporter,
    ) -> (Self, mpsc::UnboundedReceiver<Event>) {
        let n = plan.tasks.len();
        let to_run = needed_tasks(plan, cache, &options.force);
        let results = initial_results(plan, cache, &to_run);
        let waiting: Vec<usize> = (0..n)
            .map(|i| {
                plan.dependencies(i)
                    .into_iter()
                    .filter(|&d| to_run[d])
                    .count()
            })
            .collect();
        let ready = (0..n)
            .filter(|&i| to_run[i] && waiting[i] == 0)
            .map(|i| (Reverse(plan.priority[i]), i))
            .collect();
        let jobs = options.jobs.max(1);
        let gpus: BTreeSet<usize> = options.gpus.iter().copied().collect();
        let slots = Slots {
            cpus: jobs,
            total_gpus: gpus.len(),
            gpus,
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let mut run = Self {
            plan,
            cache,
            options,
            reporter,
            to_run,
            results,
            waiting,
            ready,
            slurm: None,
            jobs,
            slots,
            held: vec![(0, Vec::new()); n],
            workers: Workers::default(),
            tx,
            running: 0,
            stopping: false,
            interrupted: false,
        };
        run.report_planned();
        (run, rx)
    }

    /// Reports the plan, then each cached task as finished.
    fn report_planned(&mut self) {
        let cached = self
            .results
            .iter()
            .filter(|r| r.status == TaskStatus::Cached)
            .count();
        self.reporter.event(RunEvent::Planned {
            plan: self.plan,
            to_run: self.to_run.iter().filter(|r| **r).count(),
            cached,
        });
        for (i, r) in self.results.iter().enumerate() {
            if r.status == TaskStatus::Cached {
                self.reporter.event(RunEvent::Finished {
                    index: i,
                    task: &self.plan.tasks[i],
                    result: r,
                });
            }
        }
    }

    /// Runs tasks as Slurm jobs. Under Slurm a slot is a job in the queue (`--max-jobs`); Slurm itself
    /// allocates CPUs and GPUs.
    fn use_slurm(&mut self, slurm: Slurm) {
        self.jobs = slurm.max_jobs();
        self.slots.cpus = self.jobs;
        self.slurm = Some(slurm);
    }

    /// Whether the run is over: nothing runs, and nothing more will be launched.
    fn is_over(&self) -> bool {
        self.running == 0 && (self.stopping || self.ready.is_empty())
    }

    /// Handles one event.
    fn handle(&mut self, event: Event) {
        match event {
            Event::Progress(i, p) => self.reporter.event(RunEvent::Progress {
                index: i,
                task: &self.plan.tasks[i],
                progress: &p,
            }),
            Event::Done(i, outcome, tmp) => self.task_done(i, outcome, tmp),
            Event::Interrupt => self.interrupt(),
        }
    }

    /// Takes the ready tasks that fit in the free slots, highest priority first, out of the ready
    /// set, with what each was granted (never [`Grant::Wait`]).
    fn pick(&mut self) -> Vec<(usize, Grant)> {
        let mut picked = Vec::new();
        for &(_, i) in &self.ready {
            // Every task needs a CPU slot: with none free, nothing more fits (and the rest of a long
            // ready list is not scanned at every event).
            if self.slots.cpus == 0 {
                break;
            }
            if self.slurm.is_some() {
                self.slots.cpus -= 1;
                picked.push((i, Grant::Run(1, Vec::new())));
                continue;
            }
            match self.slots.grant(&self.plan.tasks[i], self.jobs) {
                Grant::Wait => {}
                grant => picked.push((i, grant)),
            }
        }
        for (i, _) in &picked {
            self.ready.remove(&(Reverse(self.plan.priority[*i]), *i));
        }
        picked
    }

    /// Starts every ready task that fits; fails those that can never run.
    fn launch_ready(&mut self) {
        for (i, grant) in self.pick() {
            match grant {
                Grant::Wait => {}
                Grant::Never => self.unrunnable(i),
                Grant::Run(cpus, devices) => self.start(i, cpus, devices),
            }
        }
    }

    /// Fails task `i`, which needs more GPUs than the run has.
    fn unrunnable(&mut self, i: usize) {
        let t = &self.plan.tasks[i];
        let total_gpus = self.slots.total_gpus;
        let why = if total_gpus == 0 {
            format!(
                "needs {} GPU(s) but none is visible; run it on a machine with a GPU or pass --gpus",
                t.resources.gpu
            )
        } else {
            format!(
                "needs {} GPUs but only {total_gpus} are available (--gpus)",
                t.resources.gpu
            )
        };
        self.results[i].status = TaskStatus::Failed;
        self.results[i].message = why;
        self.finished(i);
        self.stop_unless_keep_going();
    }

    /// Records the start of an attempt of task `i`, which holds `cpus` slots and `devices`.
    fn begin(&mut self, i: usize, cpus: usize, devices: &[usize]) {
        self.held[i] = (cpus, devices.to_vec());
        let r = &mut self.results[i];
        r.attempts += 1;
        r.start = now();
        r.devices = devices.to_vec();
        self.reporter.event(RunEvent::Started {
            index: i,
            task: &self.plan.tasks[i],
            devices,
            attempt: r.attempts,
        });
    }

    /// Starts an attempt of task `i` on its worker or as a Slurm job.
    fn start(&mut self, i: usize, cpus: usize, devices: Vec<usize>) {
        self.begin(i, cpus, &devices);
        let (plan, options, tx) = (self.plan, self.options, &self.tx);
        let started = match &self.slurm {
            Some(s) => launch_slurm(s, plan, i, options, tx),
            None => launch(plan, i, self.cache, devices, options, &self.workers, tx),
        };
        match started {
            Ok(()) => self.running += 1,
            Err(message) => {
                self.slots.release(std::mem::take(&mut self.held[i]));
                let r = &mut self.results[i];
                r.status = TaskStatus::Failed;
                r.message = message;
                r.end = now();
                self.finished(i);
                self.stop_unless_keep_going();
            }
        }
    }

    /// An attempt of task `i` ended with `outcome`; `tmp` is its private directory.
    fn task_done(&mut self, i: usize, outcome: Outcome, tmp: PathBuf) {
        let outcome = with_full_disk_said(outcome, &tmp);
        self.running -= 1;
        self.slots.release(std::mem::take(&mut self.held[i]));
        self.results[i].end = now();
        let key = &self.plan.tasks[i].key;
        match outcome {
            Outcome::Computed | Outcome::AlreadyCached => {
                self.succeeded(i, outcome == Outcome::Computed)
            }
            _ if self.interrupted => self.results[i].status = TaskStatus::Interrupted,
            Outcome::Failed {
                exit_code,
                log_tail,
            } => {
                keep_failed_log(self.cache, key, &tmp);
                if self.failed(i, exit_code, log_tail) {
                    let _ = std::fs::remove_dir_all(&tmp);
                    return;
                }
            }
            Outcome::Killed { signal, log_tail } => {
                keep_failed_log(self.cache, key, &tmp);
                self.results[i].status = TaskStatus::Failed;
                self.results[i].message = format!("worker killed by signal {signal}\n{log_tail}");
                self.stop_unless_keep_going();
            }
        }
        let _ = std::fs::remove_dir_all(&tmp);
        self.finished(i);
    }

    /// Task `i` is in the cache (`computed` by this run, or by another); its dependents that wait for
    /// nothing more become ready.
    fn succeeded(&mut self, i: usize, computed: bool) {
        let t = &self.plan.tasks[i];
        let r = &mut self.results[i];
        r.status = if computed {
            TaskStatus::Ran
        } else {
            TaskStatus::Cached
        };
        r.exit_code = Some(0);
        if self.slurm.is_some() {
            // Slurm chose the devices and the job; the worker recorded them.
            if let Ok(m) = self.cache.manifest(&t.key) {
                r.job_id = m
                    .environment
                    .get("slurm_job_id")
                    .cloned()
                    .unwrap_or_default();
                r.devices = m.devices;
            }
        }
        for d in self.plan.dependents(i) {
            if self.to_run[d] {
                self.waiting[d] -= 1;
                if self.waiting[d] == 0
                    && self.results[d].status == TaskStatus::Skipped
                    && !self.stopping
                {
                    self.ready.insert((Reverse(self.plan.priority[d]), d));
                }
            }
        }
    }

    /// An attempt of task `i` failed. Returns whether it will be tried again (it is ready again).
    fn failed(&mut self, i: usize, exit_code: Option<i32>, log_tail: String) -> bool {
        let t = &self.plan.tasks[i];
        let r = &mut self.results[i];
        r.exit_code = exit_code;
        r.message = log_tail;
        if r.attempts <= t.retries && !self.stopping {
            self.ready.insert((Reverse(self.plan.priority[i]), i));
            self.reporter.event(RunEvent::Retrying {
                index: i,
                task: t,
                result: r,
            });
            return true;
        }
        r.status = TaskStatus::Failed;
        self.stop_unless_keep_going();
        false
    }

    /// Ctrl-C or SIGTERM: stop launching, cancel the Slurm jobs, and stop the workers (SIGTERM, then
    /// SIGKILL after 10 s).
    fn interrupt(&mut self) {
        self.interrupted = true;
        self.stopping = true;
        self.reporter.event(RunEvent::Interrupting);
        if let Some(s) = &self.slurm {
            s.cancel_all();
        }
        self.workers.signal_all(libc::SIGTERM);
        let w = self.workers.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_secs(10)).await;
            w.signal_all(libc::SIGKILL);
        });
    }

    /// A failure stops the launching of new tasks, unless the run keeps going.
    fn stop_unless_keep_going(&mut self) {
        if !self.options.keep_going {
            self.stopping = true;
        }
    }

    /// Reports task `i`'s final state.
    fn finished(&mut self, i: usize) {
        self.reporter.event(RunEvent::Finished {
            index: i,
            task: &self.plan.tasks[i],
            result: &self.results[i],
        });
    }

    /// The results, and whether the run was interrupted (then the tasks not started are too).
    fn finish(mut self) -> (Vec<TaskResult>, bool) {
        if self.interrupted {
            for r in self.results.iter_mut() {
                if r.status == TaskStatus::Skipped {
                    r.status = TaskStatus::Interrupted;
                }
            }
        }
        (self.results, self.interrupted)
    }
}

/// Each task's status before the run: skipped until it runs, cached, or not needed.
fn initial_results(plan: &Plan, cache: &Cache, to_run: &[bool]) -> Vec<TaskResult> {
    let keys: Vec<&str> = plan.tasks.iter().map(|t| t.key.as_str()).collect();
    let cached = cache.contains_each(&keys);
    (0..plan.tasks.len())
        .map(|i| {
            TaskResult::new(if to_run[i] {
                TaskStatus::Skipped
            } else if cached[i] {
                TaskStatus::Cached
            } else {
                TaskStatus::NotNeeded
            })
        })
        .collect()
}

/// Runs `plan` against `cache`; returns one result per task, and whether the run was interrupted.
pub async fn execute(
    plan: &Plan,
    cache: &Cache,
    options: &RunOptions,
    reporter: &mut dyn Reporter,
) -> (Vec<TaskResult>, bool) {
    let (mut run, mut rx) = Run::new(plan, cache, options, reporter);
    if let Executor::Slurm(settings) = &options.executor {
        run.use_slurm(Slurm::start(settings.clone(), &plan.pipeline.name, cache).await);
    }
    let mut signals = Signals::new();
    loop {
        if !run.stopping {
            run.launch_ready();
        }
        if run.is_over() {
            break;
        }
        let event = tokio::select! {
            event = rx.recv() => event,
            _ = signals.recv(), if !run.interrupted => Some(Event::Interrupt),
        };
        let Some(event) = event else { break };
        run.handle(event);
    }
    run.finish()
}

/// A failed attempt whose private folder `tmp` sits on a full filesystem: its log (on the same
/// filesystem) may be cut short, so the failure says first that the disk is full.
fn with_full_disk_said(outcome: Outcome, tmp: &std::path::Path) -> Outcome {
    let said = |tail: &str| {
        if crate::disk::nearly_full(tmp) && !tail.contains("no space left on the filesystem") {
            format!(
                "{}\n{tail}",
                crate::disk::no_space_message(&tmp.join("out"))
            )
        } else {
            tail.to_string()
        }
    };
    match outcome {
        Outcome::Failed {
            exit_code,
            log_tail,
        } => Outcome::Failed {
            exit_code,
            log_tail: said(&log_tail),
        },
        Outcome::Killed { signal, log_tail } => Outcome::Killed {
            signal,
            log_tail: said(&log_tail),
        },
        other => other,
    }
}

fn keep_failed_log(cache: &Cache, key: &str, tmp: &std::path::Path) {
    let _ = std::fs::copy(tmp.join("log.txt"), cache.failed_log(key));
}

/// Writes the task's spec into a fresh private directory and starts its worker.
fn launch(
    plan: &Plan,
    i: usize,
    cache: &Cache,
    devices: Vec<usize>,
    options: &RunOptions,
    workers: &Workers,
    tx: &mpsc::UnboundedSender<Event>,
) -> Result<(), String> {
    let t = &plan.tasks[i];
    let exe = super::torch_worker::worker_binary(t)?;
    let force = options.force.contains(&*t.stage);
    let spec = WorkerSpec::for_task(plan, i, cache, devices.clone(), force);
    let tmp = cache.new_tmp(&t.key).map_err(|e| e.message)?;
    let spec_path = spec.write(&tmp).map_err(|e| {
        let _ = std::fs::remove_dir_all(&tmp);
        e.message
    })?;
    let threads = t.resources.cpus.to_string();
    let visible = devices
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let env = vec![
        ("CUDA_VISIBLE_DEVICES".to_string(), visible),
        ("OMP_NUM_THREADS".to_string(), threads.clone()),
        ("MKL_NUM_THREADS".to_string(), threads),
    ];
    let (ptx, mut prx) = mpsc::unbounded_channel();
    let forward = tx.clone();
    tokio::spawn(async move {
        while let Some(p) = prx.recv().await {
            let _ = forward.send(Event::Progress(i, p));
        }
    });
    let done = tx.clone();
    let workers = workers.clone();
    let log = tmp.join("log.txt");
    tokio::spawn(async move {
        let outcome = run_worker(exe, spec_path, log, env, workers, ptx).await;
        let _ = done.send(Event::Done(i, outcome, tmp));
    });
    Ok(())
}

/// Submits task `i` to Slurm; its outcome is forwarded when the poller sees the job end.
fn launch_slurm(
    slurm: &Slurm,
    plan: &Plan,
    i: usize,
    options: &RunOptions,
    tx: &mpsc::UnboundedSender<Event>,
) -> Result<(), String> {
    let force = options.force.contains(&*plan.tasks[i].stage);
    let (tmp, outcome) = slurm.launch(plan, i, force)?;
    let done = tx.clone();
    tokio::spawn(async move {
        let outcome = outcome
            .await
            .unwrap_or_else(|_| Outcome::failed(None, "stopped following the Slurm job".into()));
        let _ = done.send(Event::Done(i, outcome, tmp));
    });
    Ok(())
}

/// Ctrl-C and SIGTERM.
struct Signals {
    term: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn new() -> Self {
        Self {
            term: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok(),
        }
    }

    async fn recv(&mut self) {
        match &mut self.term {
            Some(term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            None => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
}

#[cfg(test)]
mod tests;
