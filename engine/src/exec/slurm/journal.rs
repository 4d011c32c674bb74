//! The journal of submitted jobs: `<cache>/.slurm/<key>.json`, one file per key, so a run started
//! after `pipe` was killed waits for a job still queued instead of submitting the task again.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cache::{write_atomic, Cache};

/// One submitted job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// The task's key.
    pub key: String,
    /// The task id.
    pub task: String,
    /// Slurm's job id.
    pub job_id: u64,
    /// The job's private directory (`task.json`, `job.sh`, `log.txt`).
    pub tmp: PathBuf,
}

/// The journal folder of a cache.
#[derive(Debug, Clone)]
pub struct Journal {
    dir: PathBuf,
}

impl Journal {
    /// The journal of `cache` (created on first write).
    pub fn new(cache: &Cache) -> Self {
        Self {
            dir: cache.root().join(".slurm"),
        }
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.json"))
    }

    /// Records a submitted job (atomically, replacing an older record of the key).
    pub fn record(&self, entry: &JournalEntry) -> Result<(), String> {
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| format!("cannot create {}: {e}", self.dir.display()))?;
        let path = self.path(&entry.key);
        let bytes = serde_json::to_vec_pretty(entry).map_err(|e| e.to_string())?;
        write_atomic(&path, &bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
    }

    /// Forgets `key`'s job, if it is still `job_id` (another run may have recorded a newer one).
    pub fn forget(&self, key: &str, job_id: u64) {
        if read(&self.path(key)).is_some_and(|e| e.job_id == job_id) {
            let _ = std::fs::remove_file(self.path(key));
        }
    }

    /// Every recorded job (unreadable records are skipped).
    pub fn entries(&self) -> Vec<JournalEntry> {
        let mut entries: Vec<JournalEntry> = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .filter_map(|e| read(&e.path()))
            .collect();
        entries.sort_by_key(|e| e.job_id);
        entries
    }
}

fn read(path: &Path) -> Option<JournalEntry> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_list_and_forget() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path()).unwrap();
        let j = Journal::new(&cache);
        let e = JournalEntry {
            key: "k1".into(),
            task: "t".into(),
            job_id: 7,
            tmp: "/x".into(),
        };
        j.record(&e).unwrap();
        assert_eq!(j.entries(), vec![e.clone()]);
        j.forget("k1", 8);
        assert_eq!(j.entries().len(), 1, "a newer job is not forgotten");
        j.forget("k1", 7);
        assert!(j.entries().is_empty());
    }
}
