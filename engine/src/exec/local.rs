//! The local executor: one worker process per task attempt, in its own process group.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use pipe_kind::Progress;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc::UnboundedSender;

use super::worker::ALREADY_CACHED;
use super::Outcome;

/// Process groups of running workers, so an interrupt can stop them all.
#[derive(Clone, Default)]
pub struct Workers {
    groups: Arc<Mutex<HashSet<i32>>>,
}

impl Workers {
    /// Sends `signal` to every running worker's process group.
    pub fn signal_all(&self, signal: i32) {
        if let Ok(groups) = self.groups.lock() {
            for pid in groups.iter() {
                // SAFETY: killpg only sends a signal to a process group we started.
                unsafe {
                    libc::killpg(*pid, signal);
                }
            }
        }
    }

    fn add(&self, pid: i32) {
        if let Ok(mut g) = self.groups.lock() {
            g.insert(pid);
        }
    }

    fn remove(&self, pid: i32) {
        if let Ok(mut g) = self.groups.lock() {
            g.remove(&pid);
        }
    }
}

/// Runs `<exe> __worker <spec>` and forwards its progress lines; the worker's stderr goes to `log`.
pub async fn run_worker(
    exe: PathBuf,
    spec_path: PathBuf,
    log: PathBuf,
    env: Vec<(String, String)>,
    workers: Workers,
    progress: UnboundedSender<Progress>,
) -> Outcome {
    let log_file = match std::fs::File::create(&log) {
        Ok(f) => f,
        Err(e) => return Outcome::failed(None, format!("cannot create {}: {e}", log.display())),
    };
    let mut cmd = tokio::process::Command::new(exe);
    cmd.arg("__worker")
        .arg(&spec_path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log_file))
        .process_group(0)
        .envs(env);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return Outcome::failed(None, format!("cannot start a worker: {e}")),
    };
    let pid = child.id().map(|p| p as i32);
    if let Some(pid) = pid {
        workers.add(pid);
    }
    let mut already_cached = false;
    if let Some(stdout) = child.stdout.take() {
        let mut lines = BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if line == ALREADY_CACHED {
                already_cached = true;
            } else if let Ok(p) = serde_json::from_str::<Progress>(&line) {
                let _ = progress.send(p);
            }
        }
    }
    let status = child.wait().await;
    if let Some(pid) = pid {
        workers.remove(pid);
    }
    match status {
        Ok(s) if s.success() => {
            if already_cached {
                Outcome::AlreadyCached
            } else {
                Outcome::Computed
            }
        }
        Ok(s) => {
            use std::os::unix::process::ExitStatusExt;
            let tail = log_tail(&log, 20);
            match (s.code(), s.signal()) {
                (Some(code), _) => Outcome::failed(Some(code), tail),
                (None, Some(sig)) => Outcome::Killed {
                    signal: sig,
                    log_tail: tail,
                },
                (None, None) => Outcome::failed(None, tail),
            }
        }
        Err(e) => Outcome::failed(None, format!("lost the worker: {e}")),
    }
}

/// The last `n` lines of a log file.
pub fn log_tail(path: &std::path::Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
