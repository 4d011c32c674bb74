//! Reference sequence access: an indexed (optionally bgzipped) FASTA, read slice by slice.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use noodles::core::{Position, Region};
use noodles::fasta;

/// A stretch of reference, upper case, read as `N` outside the contig.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceSlice {
    /// 0-based position of `bases[0]`.
    pub start: i64,
    /// Upper-case bases.
    pub bases: Vec<u8>,
}

impl ReferenceSlice {
    /// The base at 0-based `pos`, `N` when outside the slice.
    pub fn base(&self, pos: i64) -> u8 {
        let i = pos - self.start;
        if i < 0 {
            return b'N';
        }
        self.bases.get(i as usize).copied().unwrap_or(b'N')
    }

    /// Bases of `[start, end)`, `N` where outside the slice.
    pub fn window(&self, start: i64, end: i64) -> Vec<u8> {
        (start..end).map(|p| self.base(p)).collect()
    }
}

/// An indexed FASTA (`.fai`, plus `.gzi` when bgzipped).
pub struct Reference {
    path: PathBuf,
    reader: fasta::io::IndexedReader<fasta::io::BufReader<File>>,
    lengths: HashMap<String, i64>,
}

impl Reference {
    /// Opens `path` and its index; the error says which index file is missing and how to make it.
    pub fn open(path: &Path) -> Result<Self> {
        let fai = append_ext(path, "fai");
        if !fai.exists() {
            bail!(
                "reference {}: index {} not found; create it with `samtools faidx {}`",
                path.display(),
                fai.display(),
                path.display()
            );
        }
        let gz = matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("gz" | "bgz")
        );
        if gz && !append_ext(path, "gzi").exists() {
            bail!(
                "reference {}: bgzip index {} not found; compress with `bgzip -i` and index with `samtools faidx`",
                path.display(),
                append_ext(path, "gzi").display()
            );
        }
        let reader = fasta::io::indexed_reader::Builder::default()
            .build_from_path(path)
            .with_context(|| format!("cannot open reference {}", path.display()))?;
        let lengths = reader
            .index()
            .as_ref()
            .iter()
            .map(|r| (r.name().to_string(), r.length() as i64))
            .collect();
        Ok(Self {
            path: path.to_path_buf(),
            reader,
            lengths,
        })
    }

    /// Length of `contig`, if the reference has it.
    pub fn length(&self, contig: &str) -> Option<i64> {
        self.lengths.get(contig).copied()
    }

    /// The file this reference was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bases of `contig` in `[start, end)` (0-based), upper case; positions outside the contig are `N`.
    pub fn slice(&mut self, contig: &str, start: i64, end: i64) -> Result<ReferenceSlice> {
        let Some(len) = self.length(contig) else {
            bail!(
                "reference {} has no contig '{contig}'; use the reference the reads were aligned to",
                self.path.display()
            );
        };
        let (lo, hi) = (start.max(0), end.min(len));
        let mut bases = Vec::with_capacity((end - start).max(0) as usize);
        bases.extend(std::iter::repeat_n(b'N', (lo - start).max(0) as usize));
        if lo < hi {
            let region = Region::new(
                contig,
                Position::try_from(lo as usize + 1)?..=Position::try_from(hi as usize)?,
            );
            let record = self.reader.query(&region).with_context(|| {
                format!(
                    "reference {}: cannot read {contig}:{}-{hi}",
                    self.path.display(),
                    lo + 1
                )
            })?;
            bases.extend(
                record
                    .sequence()
                    .as_ref()
                    .iter()
                    .map(u8::to_ascii_uppercase),
            );
        }
        bases.resize((end - start).max(0) as usize, b'N');
        Ok(ReferenceSlice { start, bases })
    }
}

fn append_ext(path: &Path, ext: &str) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(".");
    s.push(ext);
    PathBuf::from(s)
}
