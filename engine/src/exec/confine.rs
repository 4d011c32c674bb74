//! Confinement of `cmd` tasks with Linux Landlock (the `landlock` crate): the command may read
//! everywhere but write only in its private folder, its temporary folder, its state folder and the
//! folders its stage declares `writable`; with `network: false` it may not bind or connect TCP sockets
//! (Landlock ABI 4 and later).
//!
//! The ruleset is applied to a thread of the worker made for the purpose, which then starts the
//! command: a child inherits its parent thread's Landlock domain, and the worker's other threads
//! stay free to publish the entry afterwards. Landlock needs no privileges; on a kernel without it the
//! command runs unconfined, with a warning in the task log and `confined: false` in the manifest.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use anyhow::{Context, Result};
use landlock::{
    path_beneath_rules, Access, AccessFs, AccessNet, LandlockStatus, Ruleset, RulesetAttr,
    RulesetCreatedAttr, RulesetStatus, ABI,
};
use serde::{Deserialize, Serialize};

use crate::cache::ConfinementRecord;

/// The file-system rights this code asks for (up to ioctl on devices, ABI 5); older kernels enforce
/// what they know (best effort).
const FS_ABI: ABI = ABI::V5;
/// TCP bind and connect rules came with ABI 4.
const NET_ABI: ABI = ABI::V4;

/// How a stage's commands are confined (from the pipeline: `writable`, `network`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confine {
    /// Folders the command may write in besides its own (absolute).
    pub writable: Vec<PathBuf>,
    /// Whether it may use TCP.
    pub network: bool,
}

/// Starts `cmd` confined by `rules`, writing only in `own` (its private, temporary and state folders)
/// and `rules.writable`; returns the child and what was enforced.
pub fn spawn(
    cmd: &mut Command,
    rules: &Confine,
    own: &[&Path],
) -> Result<(Child, ConfinementRecord)> {
    let mut writable: Vec<PathBuf> = own.iter().map(|p| p.to_path_buf()).collect();
    writable.extend(rules.writable.iter().cloned());
    for dir in &rules.writable {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the writable folder {}", dir.display()))?;
    }
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let record = restrict_this_thread(&writable, rules.network)?;
                let child = cmd.spawn()?;
                Ok((child, record))
            })
            .join()
            .map_err(|_| anyhow::anyhow!("the thread starting the confined command panicked"))?
    })
}

/// Restricts the calling thread (and the processes it starts) to writing in `writable` (and to
/// device files, which tools open for output: `/dev/null`, a GPU), plus `/dev/shm` for POSIX shared
/// memory; reading stays allowed everywhere.
fn restrict_this_thread(writable: &[PathBuf], network: bool) -> Result<ConfinementRecord> {
    let mut ruleset = Ruleset::default().handle_access(AccessFs::from_all(FS_ABI))?;
    if !network {
        ruleset = ruleset.handle_access(AccessNet::from_all(NET_ABI))?;
    }
    let devices = AccessFs::ReadFile | AccessFs::WriteFile | AccessFs::IoctlDev;
    let status = ruleset
        .create()?
        .add_rules(path_beneath_rules(["/"], AccessFs::from_read(FS_ABI)))?
        .add_rules(path_beneath_rules(["/dev"], devices))?
        .add_rules(path_beneath_rules(["/dev/shm"], AccessFs::from_all(FS_ABI)))?
        .add_rules(path_beneath_rules(writable, AccessFs::from_all(FS_ABI)))?
        .restrict_self()?;
    let confined = status.ruleset != RulesetStatus::NotEnforced;
    let net_enforced = match status.landlock {
        LandlockStatus::Available { effective_abi, .. } => effective_abi >= NET_ABI,
        _ => false,
    };
    let note = if !confined {
        Some(format!(
            "this kernel does not enforce Landlock ({:?}): the command ran unconfined",
            status.landlock
        ))
    } else if !network && !net_enforced {
        Some(format!(
            "network: false is not enforced: this kernel's Landlock ({:?}) has no TCP rules (ABI 4 and later)",
            status.landlock
        ))
    } else {
        None
    };
    Ok(ConfinementRecord {
        confined,
        writable: writable.to_vec(),
        network_refused: confined && !network && net_enforced,
        note,
    })
}

/// The line the worker adds to a failed confined command's log.
pub fn failure_hint(record: &ConfinementRecord) -> String {
    let dirs: Vec<String> = record
        .writable
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    format!(
        "the command ran confined: it could write only in {} (and device files, /dev/shm){}; a write \
         anywhere else fails with 'Permission denied' (the command's own message above names the path). \
         Declare a folder it must write in with `writable: [folder]` on the stage, or turn confinement \
         off with `confine: false` or `pipe run --no-confine`",
        dirs.join(", "),
        if record.network_refused {
            "; TCP was refused (network: false)"
        } else {
            ""
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_outside_fail_and_inside_succeed() {
        let dir = tempfile::tempdir().unwrap();
        let own = dir.path().join("own");
        let extra = dir.path().join("extra");
        std::fs::create_dir_all(&own).unwrap();
        let script = format!(
            "touch {0}/a && touch {1}/b && touch {2}/c",
            own.display(),
            extra.display(),
            dir.path().display()
        );
        let mut cmd = Command::new("sh");
        cmd.args(["-c", &script])
            .stderr(std::process::Stdio::piped());
        let rules = Confine {
            writable: vec![extra.clone()],
            network: true,
        };
        let (child, record) = spawn(&mut cmd, &rules, &[&own]).unwrap();
        if !record.confined {
            pipe_testkit::skip(&format!("no Landlock here: {:?}", record.note));
            return;
        }
        let out = child.wait_with_output().unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("{}/c", dir.path().display())),
            "{err}"
        );
        assert!(err.contains("Permission denied"), "{err}");
        assert!(own.join("a").exists() && extra.join("b").exists());
        assert!(failure_hint(&record).contains(&extra.display().to_string()));
        // The worker's own thread is not confined.
        std::fs::write(dir.path().join("c"), "").unwrap();
    }
}
