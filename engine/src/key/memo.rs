//! Content digests of input files, memoized by (path, size, mtime, inode) so unchanged files are never
//! read again: a no-op run costs one `stat` per input file.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{io_error, PipeError};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct Stamp {
    size: u64,
    mtime_ns: i128,
    inode: u64,
    digest: String,
}

/// The digest memo, loaded from and saved to one JSON file in the cache.
#[derive(Debug, Default)]
pub struct DigestMemo {
    file: Option<PathBuf>,
    entries: BTreeMap<PathBuf, Stamp>,
    changed: bool,
}

impl DigestMemo {
    /// Loads the memo at `file` (an unreadable or damaged memo is simply empty: it is only a cache).
    pub fn load(file: &Path) -> Self {
        let entries = std::fs::read(file)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        Self {
            file: Some(file.to_path_buf()),
            entries,
            changed: false,
        }
    }

    /// The blake3 digest of the file or directory at `path`, from the memo when its stamp is unchanged.
    pub fn digest(&mut self, path: &Path) -> Result<String, PipeError> {
        let meta = std::fs::metadata(path).map_err(|e| io_error("cannot read input", path, e))?;
        if meta.is_dir() {
            return digest_path(path);
        }
        let key =
            std::fs::canonicalize(path).map_err(|e| io_error("cannot read input", path, e))?;
        let mtime_ns = i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec());
        if let Some(s) = self.entries.get(&key) {
            if s.size == meta.len() && s.mtime_ns == mtime_ns && s.inode == meta.ino() {
                return Ok(s.digest.clone());
            }
        }
        let digest = digest_path(path)?;
        self.entries.insert(
            key,
            Stamp {
                size: meta.len(),
                mtime_ns,
                inode: meta.ino(),
                digest: digest.clone(),
            },
        );
        self.changed = true;
        Ok(digest)
    }

    /// Writes the memo back if it changed (atomically; failure to save is not an error).
    pub fn save(&self) {
        let (Some(file), true) = (&self.file, self.changed) else {
            return;
        };
        if let Ok(bytes) = serde_json::to_vec(&self.entries) {
            let _ = crate::cache::write_atomic(file, &bytes);
        }
    }
}

/// The blake3 digest of a file's bytes, or of a directory tree (sorted relative paths and their
/// file digests).
pub fn digest_path(path: &Path) -> Result<String, PipeError> {
    let meta = std::fs::metadata(path).map_err(|e| io_error("cannot read", path, e))?;
    if !meta.is_dir() {
        return digest_file(path);
    }
    let mut files = Vec::new();
    collect_files(path, path, &mut files)?;
    files.sort();
    let mut hasher = blake3::Hasher::new();
    for rel in files {
        let d = digest_file(&path.join(&rel))?;
        hasher.update(rel.to_string_lossy().as_bytes());
        hasher.update(b"\0");
        hasher.update(d.as_bytes());
        hasher.update(b"\n");
    }
    Ok(hasher.finalize().to_hex().to_string())
}

fn digest_file(path: &Path) -> Result<String, PipeError> {
    let mut file = std::fs::File::open(path).map_err(|e| io_error("cannot read", path, e))?;
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| io_error("cannot read", path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().to_hex().to_string())
}

fn collect_files(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), PipeError> {
    let entries = std::fs::read_dir(dir).map_err(|e| io_error("cannot list", dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| io_error("cannot list", dir, e))?;
        let path = entry.path();
        if path.is_dir() {
            collect_files(root, &path, out)?;
        } else {
            out.push(path.strip_prefix(root).unwrap_or(&path).to_path_buf());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memo_reuses_digest_until_bytes_change() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("in.txt");
        std::fs::write(&f, "one").unwrap();
        let memo_file = dir.path().join("memo.json");
        let mut memo = DigestMemo::load(&memo_file);
        let d1 = memo.digest(&f).unwrap();
        memo.save();
        let mut memo = DigestMemo::load(&memo_file);
        assert_eq!(memo.digest(&f).unwrap(), d1);
        assert!(!memo.changed, "an unchanged file is answered from the memo");
        std::fs::write(&f, "two").unwrap();
        assert_ne!(memo.digest(&f).unwrap(), d1);
    }

    #[test]
    fn directory_digest_covers_names_and_bytes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("d")).unwrap();
        std::fs::write(dir.path().join("d/a"), "x").unwrap();
        let d1 = digest_path(&dir.path().join("d")).unwrap();
        std::fs::rename(dir.path().join("d/a"), dir.path().join("d/b")).unwrap();
        assert_ne!(digest_path(&dir.path().join("d")).unwrap(), d1);
    }
}
