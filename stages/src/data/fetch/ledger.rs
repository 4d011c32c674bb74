//! Digests recorded on first download for manifest rows that give none (trust on first use).
//!
//! The ledger is a tab-separated file beside the manifest, `<manifest>.digests.tsv`: a header line
//! `url`, `size`, `digest`, then one line per url. It lives beside the manifest rather than in the
//! task's outputs or state so that it survives `pipe gc`, a deleted cache and a fresh cache directory:
//! a re-download under the same content key (which covers the manifest, not the ledger) is checked
//! against the bytes first published under that key, so the key keeps meaning one content.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::Digest;

/// The header line of a ledger file.
const HEADER: &str = "url\tsize\tdigest";

/// Recorded digests by url.
#[derive(Debug, Default)]
pub struct Ledger {
    /// Where the ledger is read from and written to.
    pub path: PathBuf,
    recorded: BTreeMap<String, (u64, Digest)>,
}

impl Ledger {
    /// The ledger of the manifest at `manifest`: `<manifest>.digests.tsv`.
    pub fn beside(manifest: &Path) -> PathBuf {
        let mut name = manifest.as_os_str().to_owned();
        name.push(".digests.tsv");
        PathBuf::from(name)
    }

    /// Reads the ledger at `path`; a missing file is an empty ledger. Errors name the file and line.
    pub fn read(path: &Path) -> Result<Self> {
        let mut ledger = Self {
            path: path.to_path_buf(),
            recorded: BTreeMap::new(),
        };
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ledger),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        for (i, line) in text.lines().enumerate() {
            if (i == 0 && line == HEADER) || line.trim().is_empty() {
                continue;
            }
            let at = || format!("{}: line {}", path.display(), i + 1);
            let fields: Vec<&str> = line.split('\t').collect();
            let [url, size, digest] = fields[..] else {
                bail!(
                    "{}: expected 3 tab-separated fields (url, size, digest), got {}; fix or \
                     delete the line",
                    at(),
                    fields.len()
                );
            };
            let size: u64 = size
                .parse()
                .with_context(|| format!("{}: '{size}' is not a byte count", at()))?;
            let digest: Digest = digest.parse().with_context(at)?;
            ledger.recorded.insert(url.to_string(), (size, digest));
        }
        Ok(ledger)
    }

    /// The digest recorded for `url`, if any.
    pub fn get(&self, url: &str) -> Option<&Digest> {
        self.recorded.get(url).map(|(_, d)| d)
    }

    /// Records `digest` for `url` (in memory; [`Ledger::write`] saves it).
    pub fn record(&mut self, url: &str, size: u64, digest: Digest) {
        self.recorded.insert(url.to_string(), (size, digest));
    }

    /// Saves the ledger, merged with lines another task wrote meanwhile (theirs kept for urls both
    /// hold), through a temporary file and a rename.
    pub fn write(&self) -> Result<()> {
        let mut merged = Self::read(&self.path)?.recorded;
        for (url, entry) in &self.recorded {
            merged.entry(url.clone()).or_insert_with(|| entry.clone());
        }
        let mut text = format!("{HEADER}\n");
        for (url, (size, digest)) in &merged {
            if url.contains(['\t', '\n']) {
                bail!("url '{url}' holds a tab or newline and cannot be recorded");
            }
            text.push_str(&format!("{url}\t{size}\t{digest}\n"));
        }
        let mut tmp = self.path.as_os_str().to_owned();
        tmp.push(format!(".tmp.{}", std::process::id()));
        let tmp = PathBuf::from(tmp);
        std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
        std::fs::rename(&tmp, &self.path).with_context(|| {
            let _ = std::fs::remove_file(&tmp);
            format!("cannot replace {}", self.path.display())
        })
    }
}
