//! `pipe verify` and `pipe gc`.

use std::collections::HashSet;

use super::Cache;
use crate::error::{io_error, PipeError};
use crate::key::digest_path;

/// A damaged entry found by [`verify`].
#[derive(Debug, Clone)]
pub struct Damage {
    /// The entry's key.
    pub key: String,
    /// What is wrong.
    pub problem: String,
}

/// Re-digests every output of the given entries (all when `keys` is `None`) against their manifests.
pub fn verify(cache: &Cache, keys: Option<&[String]>) -> Result<(usize, Vec<Damage>), PipeError> {
    let all;
    let keys = match keys {
        Some(k) => k,
        None => {
            all = cache.keys()?;
            &all
        }
    };
    let mut damaged = Vec::new();
    let mut checked = 0;
    for key in keys {
        if !cache.contains(key) {
            continue;
        }
        checked += 1;
        let manifest = match cache.manifest(key) {
            Ok(m) => m,
            Err(e) => {
                damaged.push(Damage {
                    key: key.clone(),
                    problem: e.message,
                });
                continue;
            }
        };
        if manifest.key != *key {
            damaged.push(Damage {
                key: key.clone(),
                problem: format!("manifest names key {}", manifest.key),
            });
            continue;
        }
        for (name, out) in &manifest.outputs {
            let path = cache.output_path(key, &out.path);
            match digest_path(&path) {
                Ok(d) if d == out.digest => {}
                Ok(_) => damaged.push(Damage {
                    key: key.clone(),
                    problem: format!(
                        "output '{name}' ({}) changed since it was published",
                        out.path
                    ),
                }),
                Err(e) => damaged.push(Damage {
                    key: key.clone(),
                    problem: format!("output '{name}': {e}"),
                }),
            }
        }
    }
    Ok((checked, damaged))
}

/// What [`gc`] removed or would remove.
#[derive(Debug, Default)]
pub struct GcReport {
    /// Entries removed (or to remove, on a dry run).
    pub entries: Vec<String>,
    /// Bytes they hold.
    pub bytes: u64,
    /// Leftover temporary and checkpoint directories removed.
    pub leftovers: usize,
}

/// Removes every entry whose key is not in `keep`, and leftovers of interrupted tasks whose lock is
/// free. With `dry_run`, only reports.
pub fn gc(cache: &Cache, keep: &HashSet<String>, dry_run: bool) -> Result<GcReport, PipeError> {
    let mut report = GcReport::default();
    for key in cache.keys()? {
        if keep.contains(&key) {
            continue;
        }
        let dir = cache.entry_dir(&key);
        report.bytes += dir_size(&dir);
        if !dry_run {
            std::fs::remove_dir_all(&dir).map_err(|e| io_error("cannot remove", &dir, e))?;
        }
        report.entries.push(key);
    }
    for sub in [".tmp", ".state"] {
        let dir = cache.root().join(sub);
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            let key = name.split('.').next().unwrap_or(&name).to_string();
            if keep.contains(&key) && sub == ".state" {
                continue;
            }
            // A held lock means a task is computing this key right now.
            let Ok(file) = std::fs::File::options()
                .create(true)
                .truncate(false)
                .write(true)
                .open(cache.lock_path(&key))
            else {
                continue;
            };
            if file.try_lock().is_err() {
                continue;
            }
            report.leftovers += 1;
            if !dry_run {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    Ok(report)
}

fn dir_size(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| {
            let p = e.path();
            if p.is_dir() {
                dir_size(&p)
            } else {
                e.metadata().map(|m| m.len()).unwrap_or(0)
            }
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::{Manifest, OutputRecord};

    fn publish(cache: &Cache, key: &str, content: &str) {
        let tmp = cache.new_tmp(key).unwrap();
        std::fs::write(tmp.join("out/o.txt"), content).unwrap();
        let m = Manifest {
            key: key.into(),
            task: "t".into(),
            stage: "t".into(),
            components: serde_json::Value::Null,
            outputs: [(
                "o".to_string(),
                OutputRecord {
                    path: "o.txt".into(),
                    digest: digest_path(&tmp.join("out/o.txt")).unwrap(),
                    bytes: content.len() as u64,
                },
            )]
            .into(),
            started: 0.0,
            finished: 0.0,
            devices: vec![],
            host: "h".into(),
            environment: Default::default(),
            confinement: None,
        };
        m.write(&tmp.join("manifest.json")).unwrap();
        cache.publish(&tmp, key).unwrap();
    }

    #[test]
    fn verify_finds_changed_outputs() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path()).unwrap();
        publish(&cache, "aa11", "x");
        publish(&cache, "bb22", "y");
        assert!(verify(&cache, None).unwrap().1.is_empty());
        std::fs::write(cache.output_path("bb22", "o.txt"), "tampered").unwrap();
        let (checked, damaged) = verify(&cache, None).unwrap();
        assert_eq!(checked, 2);
        assert_eq!(damaged.len(), 1);
        assert_eq!(damaged[0].key, "bb22");
    }

    #[test]
    fn gc_keeps_only_reachable_keys() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path()).unwrap();
        publish(&cache, "aa11", "x");
        publish(&cache, "bb22", "y");
        let keep: HashSet<String> = ["aa11".to_string()].into();
        let dry = gc(&cache, &keep, true).unwrap();
        assert_eq!(dry.entries, vec!["bb22".to_string()]);
        assert!(cache.contains("bb22"));
        gc(&cache, &keep, false).unwrap();
        assert_eq!(cache.keys().unwrap(), vec!["aa11".to_string()]);
    }
}
