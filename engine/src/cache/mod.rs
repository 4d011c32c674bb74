//! The content-addressed store.
//!
//! Layout under the cache root:
//! - `<2 hex>/<key>/`: one complete entry: `out/` (the outputs), `manifest.json`, `log.txt`, `task.json`.
//! - `.tmp/<key>.<pid>.<n>/`: a task being computed; it becomes an entry by one `rename`.
//! - `.state/<key>/`: checkpoints a task keeps across interrupted attempts.
//! - `.locks/<key>`: per-key lock files, held while a worker computes the key.
//! - `.logs/<key>.log`: the log of the last failed attempt.
//! - `.records/`, `.index/`, `.memo/`: run records, status index, file-digest memo.

mod maintenance;
mod manifest;

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

pub use maintenance::{gc, verify, Damage, GcReport};
pub use manifest::{ConfinementRecord, Manifest, OutputRecord};

use crate::error::{io_error, PipeError};

/// A cache rooted at a directory.
#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl Cache {
    /// Opens (creating if needed) the cache at `root` and checks that it is writable.
    pub fn open(root: &Path) -> Result<Self, PipeError> {
        let unwritable = |e: std::io::Error| {
            PipeError::env(format!(
                "cache directory {} is not writable ({e}); choose another with --cache DIR or fix its permissions",
                root.display()
            ))
        };
        for sub in [
            ".tmp", ".state", ".locks", ".logs", ".records", ".index", ".memo",
        ] {
            std::fs::create_dir_all(root.join(sub)).map_err(unwritable)?;
        }
        let probe = root
            .join(".tmp")
            .join(format!("probe.{}", std::process::id()));
        File::create(&probe).map_err(unwritable)?;
        let _ = std::fs::remove_file(&probe);
        let root = std::fs::canonicalize(root).map_err(unwritable)?;
        Ok(Self { root })
    }

    /// Opens an existing cache without creating anything (read-only commands).
    pub fn existing(root: &Path) -> Result<Self, PipeError> {
        let root = std::fs::canonicalize(root)
            .map_err(|e| PipeError::env(format!("no cache at {} ({e})", root.display())))?;
        Ok(Self { root })
    }

    /// The cache root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory of the complete entry for `key` (whether or not it exists).
    pub fn entry_dir(&self, key: &str) -> PathBuf {
        self.root.join(&key[..2.min(key.len())]).join(key)
    }

    /// Where output `rel` of the entry `key` lives.
    pub fn output_path(&self, key: &str, rel: &str) -> PathBuf {
        self.entry_dir(key).join("out").join(rel)
    }

    /// Whether a complete entry exists for `key`.
    pub fn contains(&self, key: &str) -> bool {
        self.entry_dir(key).join("manifest.json").is_file()
    }

    /// [`Self::contains`] of each key, in order; a long list is checked on every core (each check
    /// is one `stat`, and a no-op run of a large plan is mostly these).
    pub fn contains_each(&self, keys: &[&str]) -> Vec<bool> {
        use rayon::prelude::*;
        if keys.len() >= 1024 {
            keys.par_iter().map(|k| self.contains(k)).collect()
        } else {
            keys.iter().map(|k| self.contains(k)).collect()
        }
    }

    /// The manifest of entry `key`.
    pub fn manifest(&self, key: &str) -> Result<Manifest, PipeError> {
        Manifest::read(&self.entry_dir(key).join("manifest.json"))
    }

    /// A fresh private directory for computing `key`.
    pub fn new_tmp(&self, key: &str) -> Result<PathBuf, PipeError> {
        let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = self
            .root
            .join(".tmp")
            .join(format!("{key}.{}.{n}", std::process::id()));
        std::fs::create_dir_all(dir.join("out")).map_err(|e| io_error("cannot create", &dir, e))?;
        Ok(dir)
    }

    /// The directory that keeps `key`'s checkpoints across interrupted attempts.
    pub fn state_dir(&self, key: &str) -> PathBuf {
        self.root.join(".state").join(key)
    }

    /// The lock file of `key`.
    pub fn lock_path(&self, key: &str) -> PathBuf {
        self.root.join(".locks").join(key)
    }

    /// Where the log of `key`'s last failed attempt is kept.
    pub fn failed_log(&self, key: &str) -> PathBuf {
        self.root.join(".logs").join(format!("{key}.log"))
    }

    /// Directory of run records.
    pub fn records_dir(&self) -> PathBuf {
        self.root.join(".records")
    }

    /// The status index of pipeline `name`.
    pub fn index_path(&self, name: &str) -> PathBuf {
        self.root.join(".index").join(format!("{name}.json"))
    }

    /// The file-digest memo.
    pub fn memo_path(&self) -> PathBuf {
        self.root.join(".memo").join("digests.json")
    }

    /// Makes the computed directory `tmp` the entry for `key`: syncs every file, then renames. Returns
    /// `false` (and removes `tmp`) when another process published the key first.
    pub fn publish(&self, tmp: &Path, key: &str) -> Result<bool, PipeError> {
        sync_tree(tmp).map_err(|e| io_error("cannot sync", tmp, e))?;
        let dest = self.entry_dir(key);
        let parent = dest.parent().expect("entry has a parent");
        std::fs::create_dir_all(parent).map_err(|e| io_error("cannot create", parent, e))?;
        if self.contains(key) {
            let _ = std::fs::remove_dir_all(tmp);
            return Ok(false);
        }
        if dest.exists() {
            // A directory without a manifest is not an entry (it cannot come from publish); clear it.
            std::fs::remove_dir_all(&dest).map_err(|e| io_error("cannot remove", &dest, e))?;
        }
        std::fs::rename(tmp, &dest).map_err(|e| io_error("cannot publish", &dest, e))?;
        if let Ok(d) = File::open(parent) {
            let _ = d.sync_all();
        }
        Ok(true)
    }

    /// Like [`Cache::publish`], but replaces an existing entry (`--force`). The old entry is moved aside
    /// first: a crash in between leaves the key without an entry (recomputed by the next run), never
    /// with a partial one.
    pub fn replace(&self, tmp: &Path, key: &str) -> Result<(), PipeError> {
        let dest = self.entry_dir(key);
        if dest.exists() {
            let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
            let trash = self
                .root
                .join(".tmp")
                .join(format!("{key}.replaced.{}.{n}", std::process::id()));
            std::fs::rename(&dest, &trash).map_err(|e| io_error("cannot move aside", &dest, e))?;
            self.publish(tmp, key)?;
            let _ = std::fs::remove_dir_all(&trash);
            Ok(())
        } else {
            self.publish(tmp, key).map(|_| ())
        }
    }

    /// Every key with a complete entry.
    pub fn keys(&self) -> Result<Vec<String>, PipeError> {
        let mut keys = Vec::new();
        let entries =
            std::fs::read_dir(&self.root).map_err(|e| io_error("cannot list", &self.root, e))?;
        for shard in entries.flatten() {
            let name = shard.file_name().to_string_lossy().to_string();
            if name.len() != 2 || !shard.path().is_dir() {
                continue;
            }
            for entry in std::fs::read_dir(shard.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                let key = entry.file_name().to_string_lossy().to_string();
                if self.contains(&key) {
                    keys.push(key);
                }
            }
        }
        keys.sort();
        Ok(keys)
    }
}

/// Holds the exclusive lock on one key for as long as it lives.
pub struct KeyLock {
    _file: File,
}

impl Cache {
    /// Takes the lock of `key`, waiting while another process holds it. `on_wait` is called once if
    /// the lock was busy.
    pub fn lock(&self, key: &str, on_wait: impl FnOnce()) -> Result<KeyLock, PipeError> {
        let path = self.lock_path(key);
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| io_error("cannot open lock", &path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                on_wait();
                file.lock().map_err(|e| io_error("cannot lock", &path, e))?;
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io_error("cannot lock", &path, e)),
        }
        Ok(KeyLock { _file: file })
    }
}

/// Writes `bytes` to `path` through a temporary file and a rename, so readers never see half a file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = path.with_extension(format!("tmp.{}.{n}", std::process::id()));
    {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

fn sync_tree(dir: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            sync_tree(&path)?;
        } else if entry.file_type()?.is_file() {
            File::open(&path)?.sync_all()?;
        }
    }
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_is_atomic_and_first_wins() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path()).unwrap();
        let key = "ab".repeat(32);
        let t1 = cache.new_tmp(&key).unwrap();
        std::fs::write(t1.join("manifest.json"), "{}").unwrap();
        assert!(!cache.contains(&key));
        assert!(cache.publish(&t1, &key).unwrap());
        assert!(cache.contains(&key));
        let t2 = cache.new_tmp(&key).unwrap();
        assert!(!cache.publish(&t2, &key).unwrap());
        assert!(!t2.exists(), "the loser's directory is removed");
        assert_eq!(cache.keys().unwrap(), vec![key]);
    }

    #[test]
    fn unwritable_cache_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, "").unwrap();
        let err = Cache::open(&file.join("cache")).unwrap_err();
        assert!(err.message.contains("is not writable"), "{err}");
        assert_eq!(err.exit_code(), 3);
    }

    #[test]
    fn lock_waits_for_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path()).unwrap();
        let held = cache.lock("k1", || {}).unwrap();
        let c2 = cache.clone();
        let waited = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let w = waited.clone();
        let h = std::thread::spawn(move || {
            let _l = c2.lock("k1", || w.store(true, Ordering::SeqCst)).unwrap();
        });
        std::thread::sleep(std::time::Duration::from_millis(100));
        drop(held);
        h.join().unwrap();
        assert!(waited.load(Ordering::SeqCst));
    }
}
