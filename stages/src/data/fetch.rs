//! Stage kind `fetch`: downloads a seeded, optionally stratified subset of the files a manifest lists
//! (with `group_by`, of groups of files: [`subset`]).
//!
//! The manifest is CSV with a header and the columns `url` (`http://`, `https://` or `file://`),
//! `digest` (`blake3:<hex>`, bare 64-digit hex meaning blake3, or `sha256:<hex>`; may be empty), `size`
//! (bytes) and optionally `name` (the local file name; otherwise the last segment of the url) and any other columns,
//! e.g. a label to stratify on. Downloads run concurrently; partial transfers live in the task's state
//! directory and resume with HTTP Range requests when the task runs again or retries. Transient failures
//! (5xx, 408, 429, connection errors, timeouts, a body cut short) are retried with exponential backoff;
//! a 4xx status or a digest or size mismatch fails at once. Every file is verified (size and digest)
//! before any of them is moved into the outputs, so a failed task leaves no partial output.
//!
//! A row with an empty digest is trusted on first use: its BLAKE3 digest is recorded in the ledger
//! beside the manifest ([`ledger`]) when first downloaded and checked on every later download (after
//! `pipe gc`, or by another pipeline naming the same url); a changed file is an error naming it and
//! both digests. `chosen.csv` holds every chosen file's digest (the recorded one where the manifest has none).

pub mod ledger;
mod subset;

pub use subset::{choose, Subset};

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use serde::Deserialize;
use sha2::Digest as _;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use pipe_kind::{InputPort, OutputPort, StageKind, StageParams, TaskContext};

/// Parameters of `fetch`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FetchParams {
    /// Number of rows to download; all when absent.
    pub n: Option<usize>,
    /// Column whose values the subset keeps in proportion.
    pub stratify_by: Option<String>,
    /// Column whose equal values are downloaded together, `n` counting them as one (e.g. the
    /// example of per-channel PNGs).
    pub group_by: Option<String>,
    /// Seed of the subset choice; the pipeline seed when absent.
    pub seed: Option<u64>,
    /// Transfers at once.
    pub concurrency: usize,
    /// Retries of a transient failure per file.
    pub retries: u32,
    /// Seconds to connect, and seconds without data before a transfer counts as timed out.
    pub timeout_s: f64,
    /// Milliseconds before the first retry; doubled for each further one.
    pub backoff_ms: u64,
}

impl Default for FetchParams {
    fn default() -> Self {
        Self {
            n: None,
            stratify_by: None,
            group_by: None,
            seed: None,
            concurrency: 8,
            retries: 3,
            timeout_s: 60.0,
            backoff_ms: 500,
        }
    }
}

impl StageParams for FetchParams {
    fn validate(&self) -> Result<()> {
        if !(1..=256).contains(&self.concurrency) {
            bail!(
                "params.concurrency: must be 1 to 256, got {}",
                self.concurrency
            );
        }
        if self.retries > 20 {
            bail!("params.retries: must be at most 20, got {}", self.retries);
        }
        if !(self.timeout_s > 0.0 && self.timeout_s <= 86_400.0) {
            bail!(
                "params.timeout_s: must be in (0, 86400], got {}",
                self.timeout_s
            );
        }
        if self.backoff_ms > 600_000 {
            bail!(
                "params.backoff_ms: must be at most 600000, got {}",
                self.backoff_ms
            );
        }
        Ok(())
    }
}

/// An expected content digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Digest {
    /// BLAKE3, 32 bytes.
    Blake3([u8; 32]),
    /// SHA-256, 32 bytes.
    Sha256([u8; 32]),
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_hex32(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

impl std::str::FromStr for Digest {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim();
        let (algo, value) = s.split_once(':').unwrap_or(("blake3", s));
        let bytes = parse_hex32(value).ok_or_else(|| {
            anyhow!(
                "digest '{s}': expected 64 hex digits after the optional 'blake3:' or 'sha256:'"
            )
        })?;
        match algo.to_ascii_lowercase().as_str() {
            "blake3" => Ok(Self::Blake3(bytes)),
            "sha256" => Ok(Self::Sha256(bytes)),
            other => bail!("digest '{s}': unknown algorithm '{other}' (use blake3 or sha256)"),
        }
    }
}

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Blake3(b) => write!(f, "blake3:{}", hex(b)),
            Self::Sha256(b) => write!(f, "sha256:{}", hex(b)),
        }
    }
}

impl Digest {
    /// The digest of the same algorithm over the file at `path`.
    async fn of_file(&self, path: &Path) -> std::io::Result<Self> {
        let mut file = tokio::fs::File::open(path).await?;
        let mut buf = vec![0u8; 1 << 16];
        let mut b3 = blake3::Hasher::new();
        let mut s2 = sha2::Sha256::new();
        loop {
            let n = file.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            match self {
                Self::Blake3(_) => {
                    b3.update(&buf[..n]);
                }
                Self::Sha256(_) => s2.update(&buf[..n]),
            }
        }
        Ok(match self {
            Self::Blake3(_) => Self::Blake3(*b3.finalize().as_bytes()),
            Self::Sha256(_) => Self::Sha256(s2.finalize().into()),
        })
    }
}

/// One manifest row.
#[derive(Debug, Clone)]
pub struct Entry {
    /// 1-based line in the manifest (header is line 1).
    pub line: usize,
    /// Source.
    pub url: String,
    /// Expected digest; `None` when the manifest gives none (see [`ledger`]).
    pub digest: Option<Digest>,
    /// Expected size in bytes.
    pub size: u64,
    /// Local file name (safe).
    pub name: String,
    /// Every field of the row, as read.
    pub fields: Vec<String>,
}

/// A parsed manifest.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// Column names.
    pub header: Vec<String>,
    /// Rows in file order.
    pub entries: Vec<Entry>,
}

/// A file name made of `[A-Za-z0-9._-]` only (others become `_`), never empty, `.` or `..`.
pub fn safe_name(raw: &str) -> Option<String> {
    let s: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let s = s.trim_start_matches('.').to_string();
    (!s.is_empty()).then_some(s)
}

impl Manifest {
    /// Reads and checks the manifest at `path`; errors name the line and column.
    pub fn read(path: &Path) -> Result<Self> {
        let mut reader = csv::Reader::from_path(path)
            .with_context(|| format!("cannot read manifest {}", path.display()))?;
        let header: Vec<String> = reader
            .headers()
            .with_context(|| format!("{}: cannot read the header line", path.display()))?
            .iter()
            .map(str::to_string)
            .collect();
        let col = |name: &str| header.iter().position(|h| h == name);
        let need = |name: &str| {
            col(name).ok_or_else(|| {
                anyhow!(
                    "{}: column '{name}' is missing (the manifest needs url, digest, size; name is \
                     optional)",
                    path.display()
                )
            })
        };
        let (url_c, digest_c, size_c, name_c) =
            (need("url")?, need("digest")?, need("size")?, col("name"));
        let mut entries = Vec::new();
        let mut names: HashMap<String, usize> = HashMap::new();
        for (i, record) in reader.records().enumerate() {
            let line = i + 2;
            let record = record.with_context(|| format!("{}: line {line}", path.display()))?;
            let field = |c: usize| record.get(c).unwrap_or("").trim().to_string();
            let at = |what: &str| format!("{}: line {line}, column '{what}'", path.display());
            let url = field(url_c);
            if !(url.starts_with("http://")
                || url.starts_with("https://")
                || url.starts_with("file://"))
            {
                bail!("{}: '{url}' is not an http(s):// or file:// url", at("url"));
            }
            let digest = match field(digest_c) {
                d if d.is_empty() => None,
                d => Some(d.parse::<Digest>().with_context(|| at("digest"))?),
            };
            let size: u64 = field(size_c).parse().with_context(|| {
                format!("{}: '{}' is not a byte count", at("size"), field(size_c))
            })?;
            let raw = match name_c.map(field).filter(|n| !n.is_empty()) {
                Some(n) => n,
                None => url
                    .split(['?', '#'])
                    .next()
                    .unwrap_or("")
                    .rsplit('/')
                    .next()
                    .unwrap_or("")
                    .to_string(),
            };
            let name = safe_name(&raw).ok_or_else(|| {
                anyhow!(
                    "{}: no file name can be made from '{raw}'; add a 'name' column",
                    at("url")
                )
            })?;
            if let Some(first) = names.insert(name.clone(), line) {
                bail!(
                    "{}: lines {first} and {line} both download to '{name}'; give them distinct \
                     'name' values",
                    path.display()
                );
            }
            entries.push(Entry {
                line,
                url,
                digest,
                size,
                name,
                fields: record.iter().map(str::to_string).collect(),
            });
        }
        Ok(Self { header, entries })
    }
}

/// Why one attempt failed, and whether another may succeed.
#[derive(Debug)]
struct Failure {
    transient: bool,
    message: String,
}

impl Failure {
    fn transient(message: impl Into<String>) -> Self {
        Self {
            transient: true,
            message: message.into(),
        }
    }
    fn permanent(message: impl Into<String>) -> Self {
        Self {
            transient: false,
            message: message.into(),
        }
    }
}

fn describe(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}

/// What a downloaded file is checked against.
#[derive(Debug, Clone)]
enum Expected {
    /// The manifest's digest.
    Manifest(Digest),
    /// The digest recorded in the ledger at this path on an earlier download.
    Recorded(Digest, PathBuf),
    /// Nothing yet: the file's BLAKE3 digest will be recorded.
    FirstUse,
}

impl Expected {
    fn digest(&self) -> Option<&Digest> {
        match self {
            Self::Manifest(d) | Self::Recorded(d, _) => Some(d),
            Self::FirstUse => None,
        }
    }
}

/// Shared by every transfer of one task.
struct Downloader {
    client: reqwest::Client,
    partial: PathBuf,
    retries: u32,
    backoff: Duration,
    done_bytes: AtomicU64,
}

impl Downloader {
    /// Downloads `e` into the partial directory, retrying transient failures; returns the verified file
    /// and its digest.
    async fn fetch(&self, e: &Entry, expected: &Expected) -> Result<(PathBuf, Digest)> {
        let part = self.partial.join(format!("{}.part", e.name));
        let mut attempt = 0;
        loop {
            match self.attempt(e, expected, &part).await {
                Ok(digest) => return Ok((part, digest)),
                Err(f) if f.transient && attempt < self.retries => {
                    let wait = self.backoff * 2u32.saturating_pow(attempt);
                    eprintln!(
                        "fetch: {} (manifest line {}): {}; retry {} of {} in {:?}",
                        e.url,
                        e.line,
                        f.message,
                        attempt + 1,
                        self.retries,
                        wait
                    );
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Err(f) => {
                    let tries = if f.transient {
                        format!(" (gave up after {} attempts)", attempt + 1)
                    } else {
                        String::new()
                    };
                    bail!(
                        "fetch {} (manifest line {}): {}{tries}",
                        e.url,
                        e.line,
                        f.message
                    );
                }
            }
        }
    }

    /// One attempt: resume from what `part` holds, then verify size and digest; returns the digest.
    async fn attempt(
        &self,
        e: &Entry,
        expected: &Expected,
        part: &Path,
    ) -> std::result::Result<Digest, Failure> {
        let io = |what: &str, err: std::io::Error| {
            Failure::permanent(format!("{what} {}: {err}", part.display()))
        };
        let mut have = match tokio::fs::metadata(part).await {
            Ok(m) => m.len(),
            Err(_) => 0,
        };
        if have > e.size {
            tokio::fs::remove_file(part)
                .await
                .map_err(|err| io("cannot remove", err))?;
            have = 0;
        }
        if have < e.size {
            if let Some(local) = e.url.strip_prefix("file://") {
                self.copy_local(Path::new(local), part, have, e.size)
                    .await?;
            } else {
                self.download(e, part, have).await?;
            }
        }
        let len = tokio::fs::metadata(part)
            .await
            .map_err(|err| io("cannot stat", err))?
            .len();
        if len != e.size {
            return Err(Failure::transient(format!(
                "transfer ended after {len} of {} bytes",
                e.size
            )));
        }
        let algorithm = expected
            .digest()
            .cloned()
            .unwrap_or(Digest::Blake3([0; 32]));
        let got = algorithm
            .of_file(part)
            .await
            .map_err(|err| io("cannot read", err))?;
        let mismatch = match expected {
            Expected::Manifest(d) if *d != got => {
                format!("digest mismatch: expected {d}, got {got}")
            }
            Expected::Recorded(d, ledger) if *d != got => format!(
                "'{}' changed since its first download: {} recorded {d}, the file now has {got}; \
                 if the new content is intended, delete its line from that file",
                e.name,
                ledger.display()
            ),
            _ => return Ok(got),
        };
        // A corrupt file must not be resumed from.
        let _ = tokio::fs::remove_file(part).await;
        Err(Failure::permanent(mismatch))
    }

    async fn open_part(part: &Path, offset: u64) -> std::result::Result<tokio::fs::File, Failure> {
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(part)
            .await
            .map_err(|err| Failure::permanent(format!("cannot open {}: {err}", part.display())))?;
        file.set_len(offset)
            .await
            .and(
                file.seek(std::io::SeekFrom::Start(offset))
                    .await
                    .map(|_| ()),
            )
            .map_err(|err| Failure::permanent(format!("cannot write {}: {err}", part.display())))?;
        Ok(file)
    }

    async fn copy_local(
        &self,
        src: &Path,
        part: &Path,
        have: u64,
        size: u64,
    ) -> std::result::Result<(), Failure> {
        let mut input = tokio::fs::File::open(src)
            .await
            .map_err(|err| Failure::permanent(format!("cannot open {}: {err}", src.display())))?;
        let len = input
            .metadata()
            .await
            .map_err(|err| Failure::permanent(format!("cannot stat {}: {err}", src.display())))?
            .len();
        if len != size {
            return Err(Failure::permanent(format!(
                "{} has {len} bytes, the manifest says {size}",
                src.display()
            )));
        }
        input
            .seek(std::io::SeekFrom::Start(have))
            .await
            .map_err(|err| Failure::permanent(format!("cannot read {}: {err}", src.display())))?;
        let mut out = Self::open_part(part, have).await?;
        let copied = tokio::io::copy(&mut input.take(size - have), &mut out)
            .await
            .map_err(|err| Failure::permanent(format!("cannot copy {}: {err}", src.display())))?;
        out.flush()
            .await
            .map_err(|err| Failure::permanent(format!("cannot write {}: {err}", part.display())))?;
        self.done_bytes.fetch_add(copied, Ordering::Relaxed);
        Ok(())
    }

    async fn download(
        &self,
        e: &Entry,
        part: &Path,
        have: u64,
    ) -> std::result::Result<(), Failure> {
        let mut request = self.client.get(&e.url);
        if have > 0 {
            request = request.header(reqwest::header::RANGE, format!("bytes={have}-"));
        }
        let mut response = request
            .send()
            .await
            .map_err(|err| Failure::transient(format!("request failed: {}", describe(&err))))?;
        let status = response.status();
        let offset = match status.as_u16() {
            206 => have,
            200 => 0,
            416 => {
                // The partial file no longer matches what the server has: start over next attempt.
                let _ = tokio::fs::remove_file(part).await;
                return Err(Failure::transient(
                    "server rejected the resume range (HTTP 416)",
                ));
            }
            408 | 429 | 500..=599 => return Err(Failure::transient(format!("HTTP {status}"))),
            _ => return Err(Failure::permanent(format!("HTTP {status}"))),
        };
        let mut out = Self::open_part(part, offset).await?;
        let mut written = offset;
        loop {
            let chunk = response.chunk().await.map_err(|err| {
                Failure::transient(format!("transfer interrupted: {}", describe(&err)))
            });
            // Keep what arrived before an interruption so the next attempt resumes after it.
            let chunk = match chunk {
                Ok(Some(c)) => c,
                Ok(None) => break,
                Err(f) => {
                    let _ = out.flush().await;
                    return Err(f);
                }
            };
            written += chunk.len() as u64;
            if written > e.size {
                let _ = tokio::fs::remove_file(part).await;
                return Err(Failure::permanent(format!(
                    "server sent more than the {} bytes the manifest lists",
                    e.size
                )));
            }
            out.write_all(&chunk).await.map_err(|err| {
                Failure::permanent(format!("cannot write {}: {err}", part.display()))
            })?;
            self.done_bytes
                .fetch_add(chunk.len() as u64, Ordering::Relaxed);
        }
        out.flush()
            .await
            .map_err(|err| Failure::permanent(format!("cannot write {}: {err}", part.display())))?;
        Ok(())
    }
}

/// How the files of one `fetch` task were verified.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Verified {
    /// Files checked against the manifest's digest.
    pub by_manifest: usize,
    /// Files checked against a digest recorded on an earlier download.
    pub by_record: usize,
    /// Files whose digest was recorded now (first download of a row without a digest).
    pub recorded: usize,
}

impl Verified {
    /// Files downloaded in all.
    pub fn total(&self) -> usize {
        self.by_manifest + self.by_record + self.recorded
    }
}

/// Downloads the chosen rows into `state_dir`, then moves them into `files` and writes `manifest_out`.
pub fn fetch(params: &FetchParams, ctx: &TaskContext) -> Result<Verified> {
    params.validate()?;
    let manifest_path = ctx.input("manifest")?;
    let manifest = Manifest::read(manifest_path)?;
    let seed = params.seed.unwrap_or(ctx.seed);
    let subset = Subset {
        n: params.n,
        stratify_by: params.stratify_by.as_deref(),
        group_by: params.group_by.as_deref(),
    };
    let chosen = choose(&manifest, subset, seed)?;
    let mut ledger = ledger::Ledger::read(&ledger::Ledger::beside(manifest_path))?;
    let expected: Vec<Expected> = chosen
        .iter()
        .map(|&i| {
            let e = &manifest.entries[i];
            match (&e.digest, ledger.get(&e.url)) {
                (Some(d), _) => Expected::Manifest(d.clone()),
                (None, Some(d)) => Expected::Recorded(d.clone(), ledger.path.clone()),
                (None, None) => Expected::FirstUse,
            }
        })
        .collect();
    let partial = ctx.state_dir.join("partial");
    std::fs::create_dir_all(&partial)
        .with_context(|| format!("cannot create {}", partial.display()))?;
    let timeout = Duration::from_secs_f64(params.timeout_s);
    let client = reqwest::Client::builder()
        .connect_timeout(timeout)
        .read_timeout(timeout)
        .build()
        .context("cannot set up the HTTP client")?;
    let downloader = Arc::new(Downloader {
        client,
        partial,
        retries: params.retries,
        backoff: Duration::from_millis(params.backoff_ms),
        done_bytes: AtomicU64::new(0),
    });
    let total_bytes: u64 = chosen.iter().map(|&i| manifest.entries[i].size).sum();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(ctx.threads.clamp(1, 4))
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let results: Vec<Result<(PathBuf, Digest)>> = runtime.block_on(async {
        let gate = Arc::new(tokio::sync::Semaphore::new(params.concurrency));
        let mut tasks = tokio::task::JoinSet::new();
        for (slot, &i) in chosen.iter().enumerate() {
            let (d, gate, entry, expected) = (
                downloader.clone(),
                gate.clone(),
                manifest.entries[i].clone(),
                expected[slot].clone(),
            );
            tasks.spawn(async move {
                let _permit = gate.acquire_owned().await;
                (slot, d.fetch(&entry, &expected).await)
            });
        }
        let mut results: Vec<Option<Result<(PathBuf, Digest)>>> =
            (0..chosen.len()).map(|_| None).collect();
        let mut finished = 0;
        while let Some(joined) = tasks.join_next().await {
            let (slot, result) =
                joined.unwrap_or_else(|e| (usize::MAX, Err(anyhow!("download task failed: {e}"))));
            finished += 1;
            ctx.progress.update(
                downloader.done_bytes.load(Ordering::Relaxed),
                total_bytes,
                format!("{finished}/{} files", chosen.len()),
            );
            if let Some(r) = results.get_mut(slot) {
                *r = Some(result);
            } else {
                return vec![result];
            }
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(anyhow!("download never finished"))))
            .collect()
    });
    let errors: Vec<String> = results
        .iter()
        .filter_map(|r| r.as_ref().err().map(|e| format!("{e:#}")))
        .collect();
    if !errors.is_empty() {
        bail!(
            "{} of {} downloads failed:\n  {}",
            errors.len(),
            chosen.len(),
            errors.join("\n  ")
        );
    }

    let results: Vec<(PathBuf, Digest)> = results.into_iter().collect::<Result<_>>()?;
    let mut verified = Verified::default();
    for ((&i, (_, digest)), expected) in chosen.iter().zip(&results).zip(&expected) {
        let e = &manifest.entries[i];
        match expected {
            Expected::Manifest(_) => verified.by_manifest += 1,
            Expected::Recorded(..) => {
                verified.by_record += 1;
                eprintln!(
                    "fetch: {}: matches the digest recorded on first download, {digest}",
                    e.name
                );
            }
            Expected::FirstUse => {
                verified.recorded += 1;
                ledger.record(&e.url, e.size, digest.clone());
                eprintln!(
                    "fetch: {}: no digest in the manifest; recorded {digest} in {}",
                    e.name,
                    ledger.path.display()
                );
            }
        }
    }
    if verified.recorded > 0 {
        if let Err(err) = ledger.write() {
            eprintln!(
                "fetch: warning: {err:#}; {} file(s) without a manifest digest will not be checked \
                 against this download's digest next time",
                verified.recorded
            );
        }
    }

    let files = ctx.output("files")?;
    std::fs::create_dir_all(files).with_context(|| format!("cannot create {}", files.display()))?;
    let files_name = files
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "files".into());
    let out = ctx.output("manifest")?;
    let mut writer =
        csv::Writer::from_path(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut header = manifest.header.clone();
    header.push("path".into());
    writer.write_record(&header)?;
    let digest_c = manifest.header.iter().position(|h| h == "digest");
    for (&i, (src, digest)) in chosen.iter().zip(results) {
        let e = &manifest.entries[i];
        let dst = files.join(&e.name);
        if std::fs::rename(&src, &dst).is_err() {
            std::fs::copy(&src, &dst)
                .with_context(|| format!("cannot move {} to {}", src.display(), dst.display()))?;
        }
        let mut row = e.fields.clone();
        row.resize(manifest.header.len(), String::new());
        if let Some(c) = digest_c.filter(|_| e.digest.is_none()) {
            row[c] = digest.to_string();
        }
        row.push(format!("{files_name}/{}", e.name));
        writer.write_record(&row)?;
    }
    writer
        .flush()
        .with_context(|| format!("cannot write {}", out.display()))?;
    Ok(verified)
}

/// The `fetch` stage kind.
pub struct Fetch;

static INPUTS: &[InputPort] = &[InputPort {
    name: "manifest",
    required: true,
    many: false,
    doc: "CSV: url, digest (blake3:<hex>, sha256:<hex> or empty), size, optional name and label columns",
}];

static OUTPUTS: &[OutputPort] = &[
    OutputPort {
        name: "files",
        path: "files",
        doc: "directory of the downloaded, verified files",
    },
    OutputPort {
        name: "manifest",
        path: "chosen.csv",
        doc: "the chosen manifest rows, digests filled in, plus 'path' (relative to this file's directory)",
    },
];

impl StageKind for Fetch {
    type Params = FetchParams;

    fn name(&self) -> &'static str {
        "fetch"
    }
    fn version(&self) -> u32 {
        1
    }
    fn about(&self) -> &'static str {
        "download a seeded, stratified subset of a manifest's files, resumable and verified"
    }
    fn inputs(&self) -> &'static [InputPort] {
        INPUTS
    }
    fn outputs(&self) -> &'static [OutputPort] {
        OUTPUTS
    }
    fn needs_network(&self) -> bool {
        true
    }
    fn compute(&self, params: FetchParams, ctx: &TaskContext) -> Result<()> {
        let v = fetch(&params, ctx)?;
        eprintln!(
            "fetch: {} files downloaded and verified: {} by the manifest's digest, {} by the digest \
             recorded on first download, {} recorded now",
            v.total(),
            v.by_manifest,
            v.by_record,
            v.recorded
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests;
