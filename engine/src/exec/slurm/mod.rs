//! The Slurm executor: each ready task is one `sbatch` job running the same worker command as the
//! local executor; one batched `sacct`/`squeue` call per poll interval follows all jobs of the run.
//!
//! A job's outcome comes from the cache, not only from Slurm: the task succeeded when its entry was
//! published (rename-wins, so a job that lost a race to another run's job still counts as done).
//! Submitted job ids are kept in a journal in the cache (see [`journal`]), so a run started after
//! `pipe` was killed waits for the jobs still queued instead of submitting them again.

mod journal;
mod query;
mod submit;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;

use super::local::log_tail;
use super::spec::WorkerSpec;
use super::Outcome;
use crate::cache::Cache;
use crate::error::PipeError;
use crate::plan::Plan;
use crate::spec::SlurmSettings;
use journal::{Journal, JournalEntry};
use query::{JobState, Querier};
use submit::{submit, JobRequest};

/// Jobs in the queue at once when neither `--max-jobs` nor `slurm.max_jobs` says.
pub const DEFAULT_MAX_JOBS: usize = 100;
/// Seconds between polls when `slurm.poll_seconds` does not say.
const DEFAULT_POLL_SECONDS: f64 = 5.0;
/// Polls a job may be missing from Slurm's answers before it counts as gone.
const MISSING_POLLS: u32 = 3;
/// Seconds a completed job's entry may take to appear (attribute caching of a shared filesystem).
const PUBLISH_GRACE_SECONDS: f64 = 60.0;
/// Failed polls in a row after which the run gives up on its jobs.
const FAILED_POLLS: u32 = 30;

/// Checks, before a run, that Slurm's clients are installed and the partition exists.
pub fn preflight(settings: &SlurmSettings) -> Result<(), PipeError> {
    let out = std::process::Command::new("sinfo")
        .args(["-h", "-o", "%P"])
        .output()
        .map_err(|e| {
            PipeError::env(if e.kind() == std::io::ErrorKind::NotFound {
                "--executor slurm: the Slurm clients (sbatch, sinfo, squeue) are not on PATH; run pipe on a login node of the cluster, load its Slurm module, or use --executor local".to_string()
            } else {
                format!("--executor slurm: cannot run sinfo: {e}")
            })
        })?;
    if !out.status.success() {
        return Err(PipeError::env(format!(
            "--executor slurm: sinfo failed, is the cluster reachable? {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().trim_end_matches('*').to_string())
        .filter(|l| !l.is_empty())
        .collect();
    // Slurm itself judges the partition, account and QOS: a job that only asks for them is tested
    // (`sbatch --test-only`, nothing is queued) and Slurm's refusal is shown as it wrote it.
    let mut test: Vec<String> = Vec::new();
    for (flag, value) in [
        ("--partition=", &settings.partition),
        ("--account=", &settings.account),
        ("--qos=", &settings.qos),
    ] {
        if let Some(v) = value {
            test.push(format!("{flag}{v}"));
        }
    }
    if test.is_empty() {
        return Ok(());
    }
    let refusal = match std::process::Command::new("sbatch")
        .arg("--test-only")
        .args(&test)
        .args(["--output=/dev/null", "--wrap=true"])
        .stdin(std::process::Stdio::null())
        .output()
    {
        Ok(o) if o.status.success() => return Ok(()),
        Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_string(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(PipeError::env(
                "--executor slurm: 'sbatch' is not on PATH (sinfo is); run pipe where the Slurm clients are installed, or use --executor local",
            ))
        }
        Err(e) => format!("cannot run sbatch: {e}"),
    };
    let head = match &settings.partition {
        Some(p) if !names.contains(p) => format!(
            "slurm partition '{p}' does not exist (partitions: {}); set it with --slurm-partition or slurm.partition",
            names.join(", ")
        ),
        _ => format!(
            "Slurm refuses jobs with {}; check --slurm-partition, --slurm-account, --slurm-qos (or slurm: in the pipeline)",
            test.join(" ")
        ),
    };
    Err(PipeError::invalid(format!("{head}\nSlurm says: {refusal}")))
}

/// A job this run follows.
struct Watch {
    key: String,
    force: bool,
    tmp: PathBuf,
    done: oneshot::Sender<Outcome>,
    missing: u32,
    completed_at: Option<std::time::Instant>,
}

type Watches = Arc<Mutex<HashMap<u64, Watch>>>;

/// The Slurm executor of one run.
pub struct Slurm {
    settings: SlurmSettings,
    pipeline: String,
    cache: Cache,
    journal: Journal,
    watches: Watches,
    /// Jobs of earlier runs still queued or running, by key.
    adoptable: Mutex<HashMap<String, JournalEntry>>,
    poller: tokio::task::JoinHandle<()>,
}

impl Slurm {
    /// Starts following jobs: reads the journal, asks Slurm (once) which of its jobs are still
    /// alive, and starts the poller.
    pub async fn start(settings: SlurmSettings, pipeline: &str, cache: &Cache) -> Self {
        let journal = Journal::new(cache);
        let querier = Arc::new(Querier::default());
        let entries = journal.entries();
        let ids: Vec<u64> = entries.iter().map(|e| e.job_id).collect();
        let alive = querier.states(&ids).await.unwrap_or_default();
        let mut adoptable = HashMap::new();
        for e in entries {
            match alive.get(&e.job_id) {
                Some(s) if !s.is_finished() => {
                    adoptable.insert(e.key.clone(), e);
                }
                _ => journal.forget(&e.key, e.job_id),
            }
        }
        let watches: Watches = Arc::default();
        let interval = Duration::from_secs_f64(
            settings
                .poll_seconds
                .unwrap_or(DEFAULT_POLL_SECONDS)
                .max(0.1),
        );
        let poller = tokio::spawn(poll(
            watches.clone(),
            querier,
            cache.clone(),
            journal.clone(),
            interval,
        ));
        Self {
            settings,
            pipeline: pipeline.to_string(),
            cache: cache.clone(),
            journal,
            watches,
            adoptable: Mutex::new(adoptable),
            poller,
        }
    }

    /// Jobs of this run allowed in the queue at once.
    pub fn max_jobs(&self) -> usize {
        self.settings.max_jobs.unwrap_or(DEFAULT_MAX_JOBS).max(1)
    }

    /// Submits task `i` (or adopts its job from an earlier run); returns its private directory and
    /// where its outcome will arrive.
    pub fn launch(
        &self,
        plan: &Plan,
        i: usize,
        force: bool,
    ) -> Result<(PathBuf, oneshot::Receiver<Outcome>), String> {
        let t = &plan.tasks[i];
        let adopted = self
            .adoptable
            .lock()
            .ok()
            .and_then(|mut a| a.remove(&t.key));
        let (job_id, tmp) = match adopted {
            Some(e) => (e.job_id, e.tmp),
            None => {
                let spec = WorkerSpec::for_task(plan, i, &self.cache, Vec::new(), force);
                let tmp = self.cache.new_tmp(&t.key).map_err(|e| e.message)?;
                let spec_path = spec.write(&tmp).map_err(|e| {
                    let _ = std::fs::remove_dir_all(&tmp);
                    e.message
                })?;
                let exe = crate::exec::torch_worker::worker_binary(t)?;
                let request = JobRequest {
                    pipeline: &self.pipeline,
                    task: &t.id,
                    resources: &t.resources,
                    tmp: &tmp,
                    spec_path: &spec_path,
                    exe: &exe,
                };
                let job_id = submit(&self.settings, &request)?;
                self.journal.record(&JournalEntry {
                    key: t.key.clone(),
                    task: t.id.clone(),
                    job_id,
                    tmp: tmp.clone(),
                })?;
                (job_id, tmp)
            }
        };
        let (done, receiver) = oneshot::channel();
        if let Ok(mut w) = self.watches.lock() {
            w.insert(
                job_id,
                Watch {
                    key: t.key.clone(),
                    force,
                    tmp: tmp.clone(),
                    done,
                    missing: 0,
                    completed_at: None,
                },
            );
        }
        Ok((tmp, receiver))
    }

    /// Cancels every job of this run (`scancel`, one call); the poller then reports them.
    pub fn cancel_all(&self) {
        let ids: Vec<String> = match self.watches.lock() {
            Ok(w) => w.keys().map(u64::to_string).collect(),
            Err(_) => return,
        };
        if !ids.is_empty() {
            let _ = std::process::Command::new("scancel")
                .args(&ids)
                .stdin(std::process::Stdio::null())
                .status();
        }
    }
}

impl Drop for Slurm {
    fn drop(&mut self) {
        self.poller.abort();
    }
}

/// Every `interval`, asks Slurm about all followed jobs in one call and reports the ended ones.
async fn poll(
    watches: Watches,
    querier: Arc<Querier>,
    cache: Cache,
    journal: Journal,
    interval: Duration,
) {
    let mut failures = 0u32;
    loop {
        tokio::time::sleep(interval).await;
        let ids: Vec<u64> = match watches.lock() {
            Ok(w) => w.keys().copied().collect(),
            Err(_) => return,
        };
        if ids.is_empty() {
            continue;
        }
        let states = match querier.states(&ids).await {
            Ok(s) => {
                failures = 0;
                s
            }
            Err(e) => {
                failures += 1;
                if failures >= FAILED_POLLS {
                    let message = format!("lost track of the Slurm jobs: {e}");
                    let Ok(mut w) = watches.lock() else { return };
                    for (id, watch) in w.drain() {
                        journal.forget(&watch.key, id);
                        let _ = watch.done.send(Outcome::failed(None, message.clone()));
                    }
                }
                continue;
            }
        };
        let Ok(mut w) = watches.lock() else { return };
        for id in ids {
            let Some(watch) = w.get_mut(&id) else {
                continue;
            };
            let state = states.get(&id);
            let decided = match state {
                Some(s) if !s.is_finished() => {
                    watch.missing = 0;
                    None
                }
                None if watch.missing + 1 < MISSING_POLLS => {
                    watch.missing += 1;
                    None
                }
                _ => decide(&cache, id, watch, state),
            };
            if let Some(outcome) = decided {
                if let Some(watch) = w.remove(&id) {
                    journal.forget(&watch.key, id);
                    let _ = watch.done.send(outcome);
                }
            }
        }
    }
}

/// The outcome of an ended (or vanished) job, or `None` to look again at the next poll.
fn decide(cache: &Cache, id: u64, watch: &mut Watch, state: Option<&JobState>) -> Option<Outcome> {
    let completed = state.is_none_or(|s| s.state == "COMPLETED");
    if cache.contains(&watch.key) {
        let ours = cache
            .manifest(&watch.key)
            .ok()
            .and_then(|m| m.environment.get("slurm_job_id").cloned())
            == Some(id.to_string());
        if ours {
            return Some(Outcome::Computed);
        }
        if !watch.force || completed {
            return Some(Outcome::AlreadyCached);
        }
    }
    if state.is_some() && completed {
        // The entry may take a while to show on a shared filesystem.
        let since = *watch
            .completed_at
            .get_or_insert_with(std::time::Instant::now);
        if since.elapsed().as_secs_f64() < PUBLISH_GRACE_SECONDS {
            return None;
        }
    }
    let log = watch.tmp.join("log.txt");
    let tail = log_tail(&log, 20);
    let mut head = match state {
        Some(s) if s.state == "COMPLETED" => format!(
            "Slurm job {id} completed but its cache entry did not appear within {PUBLISH_GRACE_SECONDS}s; is the cache on a filesystem the compute nodes share?"
        ),
        Some(s) if s.state == "CANCELLED" => format!(
            "Slurm job {id} was cancelled outside pipe (scancel, an administrator or Slurm itself): {}",
            s.describe()
        ),
        Some(s) if s.state == "TIMEOUT" => format!(
            "Slurm job {id} ran past its time limit: {}; raise the stage's resources.time (or --slurm-time)",
            s.describe()
        ),
        Some(s) if s.state == "NODE_FAIL" => format!(
            "Slurm job {id} was lost with its node: {}",
            s.describe()
        ),
        Some(s) => format!("Slurm job {id} {}", s.describe()),
        None => format!("Slurm job {id} left the queue without publishing its outputs"),
    };
    if !log.exists() && state.is_none_or(|s| s.state != "CANCELLED") {
        // slurmd creates the log before the job starts: without it the node never saw the directory.
        head.push_str(&format!(
            "\nthe job wrote no log at {}: the compute node cannot see the cache directory; put the cache (--cache or PIPE_CACHE) on a filesystem shared with the compute nodes",
            log.display()
        ));
    }
    Some(Outcome::failed(
        state.and_then(|s| s.exit_code),
        if tail.is_empty() {
            head
        } else {
            format!("{head}\n{tail}")
        },
    ))
}
