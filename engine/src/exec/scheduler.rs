//! The scheduler: runs ready tasks in parallel under CPU-slot and GPU limits, longest remaining path
//! first, and stops cleanly on failure or interrupt.

use std::collections::{BTreeSet, HashSet};
use std::path::PathBuf;

use tokio::sync::mpsc;

use super::local::{run_worker, Workers};
use super::slurm::Slurm;
use super::spec::WorkerSpec;
use super::worker::now;
use super::{Outcome, TaskResult, TaskStatus};
use crate::cache::Cache;
use crate::plan::Plan;
use crate::report::{Reporter, RunEvent};
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
        run[i] = force.contains(&t.stage) || (wanted && !cache.contains(&t.key));
    }
    run
}

enum Message {
    Progress(usize, pipe_kind::Progress),
    Done(usize, Outcome, PathBuf),
}

struct Slots {
    cpus: usize,
    gpus: BTreeSet<usize>,
}

/// Runs `plan` against `cache`; returns one result per task.
pub async fn execute(
    plan: &Plan,
    cache: &Cache,
    options: &RunOptions,
    reporter: &mut dyn Reporter,
) -> (Vec<TaskResult>, bool) {
    let n = plan.tasks.len();
    let to_run = needed_tasks(plan, cache, &options.force);
    let mut results: Vec<TaskResult> = (0..n)
        .map(|i| {
            TaskResult::new(if to_run[i] {
                TaskStatus::Skipped
            } else if cache.contains(&plan.tasks[i].key) {
                TaskStatus::Cached
            } else {
                TaskStatus::NotNeeded
            })
        })
        .collect();
    let cached = results
        .iter()
        .filter(|r| r.status == TaskStatus::Cached)
        .count();
    reporter.event(RunEvent::Planned {
        plan,
        to_run: to_run.iter().filter(|r| **r).count(),
        cached,
    });
    for (i, r) in results.iter().enumerate() {
        if r.status == TaskStatus::Cached {
            reporter.event(RunEvent::Finished {
                index: i,
                task: &plan.tasks[i],
                result: r,
            });
        }
    }

    // Dependencies still to finish, per task that runs.
    let mut waiting: Vec<usize> = (0..n)
        .map(|i| {
            plan.dependencies(i)
                .into_iter()
                .filter(|&d| to_run[d])
                .count()
        })
        .collect();
    let mut ready: BTreeSet<(std::cmp::Reverse<usize>, usize)> = (0..n)
        .filter(|&i| to_run[i] && waiting[i] == 0)
        .map(|i| (std::cmp::Reverse(plan.priority[i]), i))
        .collect();
    let slurm = match &options.executor {
        Executor::Local => None,
        Executor::Slurm(settings) => {
            Some(Slurm::start(settings.clone(), &plan.pipeline.name, cache).await)
        }
    };
    // Under Slurm a slot is a job in the queue (`--max-jobs`); Slurm itself allocates CPUs and GPUs.
    let jobs = match &slurm {
        Some(s) => s.max_jobs(),
        None => options.jobs.max(1),
    };
    let mut slots = Slots {
        cpus: jobs,
        gpus: options.gpus.iter().copied().collect(),
    };
    let total_gpus = slots.gpus.len();
    let workers = Workers::default();
    let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
    let mut running = 0usize;
    let mut stopping = false;
    let mut interrupted = false;
    let mut held: Vec<(usize, Vec<usize>)> = vec![(0, Vec::new()); n];
    let mut signals = Signals::new();

    loop {
        if !stopping {
            let mut launched = Vec::new();
            for &(prio, i) in ready.iter() {
                let t = &plan.tasks[i];
                if slurm.is_some() {
                    if slots.cpus == 0 {
                        break;
                    }
                    slots.cpus -= 1;
                    launched.push((prio, i, Some((1, Vec::new()))));
                    continue;
                }
                let cpus = (t.resources.cpus as usize).min(jobs);
                let want_gpus = t.resources.gpu as usize;
                if want_gpus > 0 && total_gpus == 0 && t.requires_gpu {
                    launched.push((prio, i, None));
                    continue;
                }
                if want_gpus > total_gpus && total_gpus > 0 {
                    launched.push((prio, i, None));
                    continue;
                }
                let use_gpus = if total_gpus == 0 { 0 } else { want_gpus };
                if slots.cpus < cpus || slots.gpus.len() < use_gpus {
                    continue;
                }
                slots.cpus -= cpus;
                let devices: Vec<usize> = slots.gpus.iter().copied().take(use_gpus).collect();
                for d in &devices {
                    slots.gpus.remove(d);
                }
                launched.push((prio, i, Some((cpus, devices))));
            }
            for (prio, i, grant) in launched {
                ready.remove(&(prio, i));
                let t = &plan.tasks[i];
                let Some((cpus, devices)) = grant else {
                    let why = if total_gpus == 0 {
                        format!("needs {} GPU(s) but none is visible; run it on a machine with a GPU or pass --gpus", t.resources.gpu)
                    } else {
                        format!(
                            "needs {} GPUs but only {total_gpus} are available (--gpus)",
                            t.resources.gpu
                        )
                    };
                    results[i].status = TaskStatus::Failed;
                    results[i].message = why;
                    reporter.event(RunEvent::Finished {
                        index: i,
                        task: t,
                        result: &results[i],
                    });
                    if !options.keep_going {
                        stopping = true;
                    }
                    continue;
                };
                held[i] = (cpus, devices.clone());
                results[i].attempts += 1;
                results[i].start = now();
                results[i].devices = devices.clone();
                reporter.event(RunEvent::Started {
                    index: i,
                    task: t,
                    devices: &devices,
                    attempt: results[i].attempts,
                });
                let started = match &slurm {
                    Some(s) => launch_slurm(s, plan, i, options, &tx),
                    None => launch(plan, i, cache, devices, options, &workers, &tx),
                };
                match started {
                    Ok(()) => running += 1,
                    Err(message) => {
                        let (c, d) = std::mem::take(&mut held[i]);
                        slots.cpus += c;
                        slots.gpus.extend(d);
                        results[i].status = TaskStatus::Failed;
                        results[i].message = message;
                        results[i].end = now();
                        reporter.event(RunEvent::Finished {
                            index: i,
                            task: t,
                            result: &results[i],
                        });
                        if !options.keep_going {
                            stopping = true;
                        }
                    }
                }
            }
        }
        if running == 0 && (stopping || ready.is_empty()) {
            break;
        }
        tokio::select! {
            message = rx.recv() => {
                let Some(message) = message else { break };
                match message {
                    Message::Progress(i, p) => reporter.event(RunEvent::Progress { index: i, task: &plan.tasks[i], progress: &p }),
                    Message::Done(i, outcome, tmp) => {
                        running -= 1;
                        let (c, d) = std::mem::take(&mut held[i]);
                        slots.cpus += c;
                        slots.gpus.extend(d);
                        let t = &plan.tasks[i];
                        let r = &mut results[i];
                        r.end = now();
                        match outcome {
                            Outcome::Computed | Outcome::AlreadyCached => {
                                r.status = if outcome == Outcome::Computed { TaskStatus::Ran } else { TaskStatus::Cached };
                                r.exit_code = Some(0);
                                if slurm.is_some() {
                                    // Slurm chose the devices and the job; the worker recorded them.
                                    if let Ok(m) = cache.manifest(&t.key) {
                                        r.job_id = m.environment.get("slurm_job_id").cloned().unwrap_or_default();
                                        r.devices = m.devices;
                                    }
                                }
                                for d in plan.dependents(i) {
                                    if to_run[d] {
                                        waiting[d] -= 1;
                                        if waiting[d] == 0 && results[d].status == TaskStatus::Skipped && !stopping {
                                            ready.insert((std::cmp::Reverse(plan.priority[d]), d));
                                        }
                                    }
                                }
                            }
                            _ if interrupted => {
                                r.status = TaskStatus::Interrupted;
                            }
                            Outcome::Failed { exit_code, log_tail } => {
                                keep_failed_log(cache, &t.key, &tmp);
                                r.exit_code = exit_code;
                                r.message = log_tail;
                                if r.attempts <= t.retries && !stopping {
                                    ready.insert((std::cmp::Reverse(plan.priority[i]), i));
                                    reporter.event(RunEvent::Retrying { index: i, task: t, result: &results[i] });
                                    let _ = std::fs::remove_dir_all(&tmp);
                                    continue;
                                }
                                r.status = TaskStatus::Failed;
                                if !options.keep_going {
                                    stopping = true;
                                }
                            }
                            Outcome::Killed { signal, log_tail } => {
                                keep_failed_log(cache, &t.key, &tmp);
                                r.status = TaskStatus::Failed;
                                r.message = format!("worker killed by signal {signal}\n{log_tail}");
                                if !options.keep_going {
                                    stopping = true;
                                }
                            }
                        }
                        let _ = std::fs::remove_dir_all(&tmp);
                        reporter.event(RunEvent::Finished { index: i, task: t, result: &results[i] });
                    }
                }
            }
            _ = signals.recv(), if !interrupted => {
                interrupted = true;
                stopping = true;
                reporter.event(RunEvent::Interrupting);
                if let Some(s) = &slurm {
                    s.cancel_all();
                }
                workers.signal_all(libc::SIGTERM);
                let w = workers.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(std::time::Duration::from_secs(10)).await;
                    w.signal_all(libc::SIGKILL);
                });
            }
        }
    }
    if interrupted {
        for r in results.iter_mut() {
            if r.status == TaskStatus::Skipped {
                r.status = TaskStatus::Interrupted;
            }
        }
    }
    (results, interrupted)
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
    tx: &mpsc::UnboundedSender<Message>,
) -> Result<(), String> {
    let t = &plan.tasks[i];
    let exe = super::torch_worker::worker_binary(t)?;
    let force = options.force.contains(&t.stage);
    let spec = WorkerSpec::for_task(plan, i, cache, devices.clone(), force);
    let tmp = cache.new_tmp(&t.key).map_err(|e| e.message)?;
    let spec_path = spec.write(&tmp).map_err(|e| e.message)?;
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
            let _ = forward.send(Message::Progress(i, p));
        }
    });
    let done = tx.clone();
    let workers = workers.clone();
    let log = tmp.join("log.txt");
    tokio::spawn(async move {
        let outcome = run_worker(exe, spec_path, log, env, workers, ptx).await;
        let _ = done.send(Message::Done(i, outcome, tmp));
    });
    Ok(())
}

/// Submits task `i` to Slurm; its outcome is forwarded when the poller sees the job end.
fn launch_slurm(
    slurm: &Slurm,
    plan: &Plan,
    i: usize,
    options: &RunOptions,
    tx: &mpsc::UnboundedSender<Message>,
) -> Result<(), String> {
    let force = options.force.contains(&plan.tasks[i].stage);
    let (tmp, outcome) = slurm.launch(plan, i, force)?;
    let done = tx.clone();
    tokio::spawn(async move {
        let outcome = outcome
            .await
            .unwrap_or_else(|_| Outcome::failed(None, "stopped following the Slurm job".into()));
        let _ = done.send(Message::Done(i, outcome, tmp));
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
