//! Job states for many jobs in one call: `sacct` when accounting is on, else `squeue`.
//!
//! `PIPE_SLURM_QUERY=sacct|squeue` forces one of the two (the tests use it to cover both on one
//! cluster; `squeue` also spares a slow accounting database).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

/// One job's state as Slurm reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobState {
    /// Slurm's state name, e.g. `PENDING`, `COMPLETED`, `TIMEOUT` (without "by <uid>").
    pub state: String,
    /// Slurm's state as it printed it, e.g. `CANCELLED by 0`.
    pub detail: String,
    /// Slurm's reason, e.g. `NonZeroExitCode`, `TimeLimit`, `Resources`.
    pub reason: String,
    /// The batch script's exit code, when it exited.
    pub exit_code: Option<i32>,
    /// The signal that ended it, if any.
    pub signal: Option<i32>,
}

/// States after which a job never runs again.
const FINISHED: &[&str] = &[
    "COMPLETED",
    "FAILED",
    "CANCELLED",
    "TIMEOUT",
    "NODE_FAIL",
    "OUT_OF_MEMORY",
    "PREEMPTED",
    "BOOT_FAIL",
    "DEADLINE",
    "REVOKED",
];

impl JobState {
    /// Whether the job has ended.
    pub fn is_finished(&self) -> bool {
        FINISHED.contains(&self.state.as_str())
    }

    /// One line for messages: `FAILED (reason NonZeroExitCode, exit code 3)`.
    pub fn describe(&self) -> String {
        let state = if self.detail.is_empty() {
            &self.state
        } else {
            &self.detail
        };
        let mut parts = Vec::new();
        if !self.reason.is_empty() && self.reason != "None" {
            parts.push(format!("reason {}", self.reason));
        }
        if let Some(c) = self.exit_code {
            parts.push(format!("exit code {c}"));
        }
        if let Some(s) = self.signal.filter(|s| *s != 0) {
            parts.push(format!("signal {s}"));
        }
        if parts.is_empty() {
            state.clone()
        } else {
            format!("{state} ({})", parts.join(", "))
        }
    }
}

/// Parses `sacct -n -P -X -o JobID,State,ExitCode,Reason` lines (`123|CANCELLED by 0|0:15|None`).
pub fn parse_sacct(text: &str) -> HashMap<u64, JobState> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.trim().split('|').collect();
            if f.len() < 4 {
                return None;
            }
            let id = f[0].parse().ok()?;
            let (code, signal) = f[2].split_once(':').unwrap_or((f[2], "0"));
            Some((
                id,
                JobState {
                    state: f[1].split_whitespace().next().unwrap_or("").to_string(),
                    detail: f[1].trim().to_string(),
                    reason: f[3].to_string(),
                    exit_code: code.parse().ok(),
                    signal: signal.parse().ok(),
                },
            ))
        })
        .collect()
}

/// Parses `squeue -h -t all -O JobID:|,State:|,Reason:|,exit_code:|` lines (`6|FAILED|NonZeroExitCode|768|`),
/// whose exit code is a raw wait status.
pub fn parse_squeue(text: &str) -> HashMap<u64, JobState> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.trim().split('|').map(str::trim).collect();
            if f.len() < 4 {
                return None;
            }
            let id = f[0].parse().ok()?;
            let status: Option<i32> = f[3].parse().ok();
            let (exit_code, signal) = match status {
                Some(s) if s & 0x7f != 0 => (None, Some(s & 0x7f)),
                Some(s) => (Some(s >> 8), None),
                None => (None, None),
            };
            Some((
                id,
                JobState {
                    state: f[1].to_string(),
                    detail: f[1].to_string(),
                    reason: f[2].to_string(),
                    exit_code,
                    signal,
                },
            ))
        })
        .collect()
}

/// Asks Slurm about many jobs at once, remembering when accounting is off.
#[derive(Debug)]
pub struct Querier {
    mode: Mode,
    accounting: AtomicBool,
}

/// How job states are asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `sacct`, falling back to `squeue` for good when accounting is disabled.
    Auto,
    /// `sacct` only (plus `squeue` for jobs not yet in the database).
    Sacct,
    /// `squeue` only.
    Squeue,
}

/// The environment variable that forces a query command.
pub const QUERY_ENV: &str = "PIPE_SLURM_QUERY";

impl Default for Querier {
    fn default() -> Self {
        let mode = match std::env::var(QUERY_ENV).as_deref() {
            Ok("sacct") => Mode::Sacct,
            Ok("squeue") => Mode::Squeue,
            _ => Mode::Auto,
        };
        Self {
            mode,
            accounting: AtomicBool::new(mode != Mode::Squeue),
        }
    }
}

impl Querier {
    /// The states Slurm knows of `ids` (a job it has forgotten is absent).
    pub async fn states(&self, ids: &[u64]) -> Result<HashMap<u64, JobState>, String> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let list = ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
        if self.accounting.load(Ordering::Relaxed) {
            match output(
                "sacct",
                &[
                    "-n",
                    "-P",
                    "-X",
                    "-j",
                    &list,
                    "-o",
                    "JobID,State,ExitCode,Reason",
                ],
            )
            .await
            {
                Ok(text) => {
                    let states = parse_sacct(&text);
                    if !states.is_empty() || text.trim().is_empty() {
                        return Ok(self.merge_recent(states, &list).await);
                    }
                }
                Err(e) if self.mode == Mode::Sacct => return Err(e),
                Err(e)
                    if e.contains("accounting storage is disabled") || e.contains("not found") =>
                {
                    self.accounting.store(false, Ordering::Relaxed);
                }
                Err(_) => {}
            }
        }
        squeue(&list).await
    }

    /// Jobs submitted moments ago may not be in the accounting database yet: ask `squeue` for those.
    async fn merge_recent(
        &self,
        mut states: HashMap<u64, JobState>,
        list: &str,
    ) -> HashMap<u64, JobState> {
        let missing = list
            .split(',')
            .filter_map(|id| id.parse::<u64>().ok())
            .any(|id| !states.contains_key(&id));
        if missing {
            if let Ok(recent) = squeue(list).await {
                for (id, s) in recent {
                    states.entry(id).or_insert(s);
                }
            }
        }
        states
    }
}

async fn squeue(list: &str) -> Result<HashMap<u64, JobState>, String> {
    match output(
        "squeue",
        &[
            "-h",
            "-t",
            "all",
            "-j",
            list,
            "-O",
            "JobID:|,State:|,Reason:|,exit_code:|",
        ],
    )
    .await
    {
        Ok(text) => Ok(parse_squeue(&text)),
        // Every job of the list is gone from the controller.
        Err(e) if e.contains("Invalid job id") => Ok(HashMap::new()),
        Err(e) => Err(e),
    }
}

/// Runs a Slurm client; its stdout, or a message with its stderr.
async fn output(program: &str, args: &[&str]) -> Result<String, String> {
    let out = tokio::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .map_err(|e| format!("cannot run '{program}': {e} (not found on PATH?)"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "'{program}' failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sacct_lines_parse() {
        let s = parse_sacct("12|CANCELLED by 0|0:15|None\n13|FAILED|3:0|NonZeroExitCode\nbad\n");
        assert_eq!(s[&12].state, "CANCELLED");
        assert_eq!(s[&12].signal, Some(15));
        assert_eq!(s[&12].describe(), "CANCELLED by 0 (exit code 0, signal 15)");
        assert_eq!(s[&13].exit_code, Some(3));
        assert!(s[&13].is_finished());
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn squeue_wait_status_is_decoded() {
        let s = parse_squeue(
            "6|FAILED|NonZeroExitCode|768|\n8|CANCELLED|None|15|\n7|RUNNING|None|0|\n",
        );
        assert_eq!(s[&6].exit_code, Some(3));
        assert_eq!(s[&8].signal, Some(15));
        assert!(!s[&7].is_finished());
        assert_eq!(
            s[&6].describe(),
            "FAILED (reason NonZeroExitCode, exit code 3)"
        );
    }
}
