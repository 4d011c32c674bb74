//! Labels from a truth VCF inside confident regions (DeepVariant's positional labeler).
//!
//! A candidate is labelled from the unfiltered truth record that starts at the same position and lies
//! in the confident regions. Each truth alt allele is matched to a candidate alt after both are
//! simplified (shared trailing bases removed); an unmatched truth allele counts as reference. No truth
//! record means 0/0. A missing genotype allele (`.`) counts as reference. The example's label is the
//! number of genotype alleles that are among the example's alt indices (0, 1 or 2).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use noodles::bed;
use noodles::bgzf;
use noodles::core::{Position, Region};
use noodles::csi::BinningIndex;
use noodles::tabix;
use noodles::vcf;
use noodles::vcf::variant::record::samples::series::Value;
use noodles::vcf::variant::record::samples::Sample;
use noodles::vcf::variant::record::{AlternateBases, Filters};

use super::candidates::Candidate;

/// Merged, sorted 0-based half-open intervals per contig.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Regions {
    by_contig: BTreeMap<String, Vec<(i64, i64)>>,
}

impl Regions {
    /// Builds from (contig, start, end) intervals; overlapping or adjacent ones are merged.
    pub fn from_intervals(intervals: impl IntoIterator<Item = (String, i64, i64)>) -> Self {
        let mut by_contig: BTreeMap<String, Vec<(i64, i64)>> = BTreeMap::new();
        for (contig, s, e) in intervals {
            if s < e {
                by_contig.entry(contig).or_default().push((s, e));
            }
        }
        for v in by_contig.values_mut() {
            v.sort_unstable();
            let mut merged: Vec<(i64, i64)> = Vec::with_capacity(v.len());
            for &(s, e) in v.iter() {
                match merged.last_mut() {
                    Some(last) if s <= last.1 => last.1 = last.1.max(e),
                    _ => merged.push((s, e)),
                }
            }
            *v = merged;
        }
        Self { by_contig }
    }

    /// Reads a BED file (first three columns; `track`/`browser`/`#` lines are skipped).
    pub fn read_bed(path: &Path) -> Result<Self> {
        let file =
            File::open(path).with_context(|| format!("cannot open BED {}", path.display()))?;
        let mut reader = bed::io::Reader::<3, _>::new(BufReader::new(file));
        let mut record = bed::Record::default();
        let mut intervals = Vec::new();
        for n in 1.. {
            let read = reader.read_record(&mut record).with_context(|| {
                format!(
                    "BED {}: record {n} is not valid BED (chrom, start, end)",
                    path.display()
                )
            })?;
            if read == 0 {
                break;
            }
            let start = record.feature_start().with_context(|| {
                format!("BED {}: record {n} has an invalid start", path.display())
            })?;
            let end = match record.feature_end() {
                Some(end) => end.with_context(|| {
                    format!("BED {}: record {n} has an invalid end", path.display())
                })?,
                None => bail!("BED {}: record {n} has no end column", path.display()),
            };
            intervals.push((
                record.reference_sequence_name().to_string(),
                usize::from(start) as i64 - 1,
                usize::from(end) as i64,
            ));
        }
        Ok(Self::from_intervals(intervals))
    }

    /// Whether `[start, end)` on `contig` overlaps a region.
    pub fn overlaps(&self, contig: &str, start: i64, end: i64) -> bool {
        let Some(v) = self.by_contig.get(contig) else {
            return false;
        };
        let i = v.partition_point(|&(_, e)| e <= start);
        v.get(i).is_some_and(|&(s, _)| s < end)
    }

    /// All intervals, contig by contig.
    pub fn iter(&self) -> impl Iterator<Item = (&str, i64, i64)> {
        self.by_contig
            .iter()
            .flat_map(|(c, v)| v.iter().map(move |&(s, e)| (c.as_str(), s, e)))
    }

    /// Contigs with intervals, in name order.
    pub fn contigs(&self) -> impl Iterator<Item = &str> {
        self.by_contig.keys().map(String::as_str)
    }

    /// The intervals of `contig`, sorted.
    pub fn intervals(&self, contig: &str) -> &[(i64, i64)] {
        self.by_contig.get(contig).map_or(&[], Vec::as_slice)
    }

    /// Whether there are no intervals.
    pub fn is_empty(&self) -> bool {
        self.by_contig.is_empty()
    }

    /// The parts of these regions that `other` also covers.
    pub fn intersect(&self, other: &Regions) -> Regions {
        let mut by_contig = BTreeMap::new();
        for (contig, a) in &self.by_contig {
            let b = other.intervals(contig);
            let (mut i, mut j, mut both) = (0, 0, Vec::new());
            while i < a.len() && j < b.len() {
                let (s, e) = (a[i].0.max(b[j].0), a[i].1.min(b[j].1));
                if s < e {
                    both.push((s, e));
                }
                if a[i].1 < b[j].1 {
                    i += 1;
                } else {
                    j += 1;
                }
            }
            if !both.is_empty() {
                by_contig.insert(contig.clone(), both);
            }
        }
        Regions { by_contig }
    }
}

/// One truth record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TruthVariant {
    /// 0-based start.
    pub start: i64,
    /// Reference allele, upper case.
    pub ref_bases: String,
    /// Alt alleles, upper case.
    pub alts: Vec<String>,
    /// Genotype allele indices of the first sample (`None` for `.`).
    pub genotype: Vec<Option<usize>>,
}

/// A bgzipped, tabix-indexed truth VCF.
pub struct Truth {
    path: PathBuf,
    header: Arc<vcf::Header>,
    index: Arc<tabix::Index>,
    reader: vcf::io::Reader<bgzf::io::Reader<File>>,
}

impl Truth {
    /// Opens `path` and its `.tbi`.
    pub fn open(path: &Path) -> Result<Self> {
        let mut tbi = path.as_os_str().to_os_string();
        tbi.push(".tbi");
        if !Path::new(&tbi).exists() {
            bail!(
                "truth VCF {}: index {} not found; bgzip the VCF and run `tabix -p vcf` on it",
                path.display(),
                Path::new(&tbi).display()
            );
        }
        let index = tabix::fs::read(&tbi)
            .with_context(|| format!("truth VCF {}: cannot read its index", path.display()))?;
        let mut reader = Self::open_reader(path)?;
        let header = reader
            .read_header()
            .with_context(|| format!("truth VCF {}: invalid header", path.display()))?;
        Ok(Self {
            path: path.to_path_buf(),
            header: Arc::new(header),
            index: Arc::new(index),
            reader,
        })
    }

    fn open_reader(path: &Path) -> Result<vcf::io::Reader<bgzf::io::Reader<File>>> {
        let file = File::open(path)
            .with_context(|| format!("cannot open truth VCF {}", path.display()))?;
        Ok(vcf::io::Reader::new(bgzf::io::Reader::new(file)))
    }

    /// Another handle on the same file, sharing the parsed header and index.
    pub fn reopen(&self) -> Result<Self> {
        Ok(Self {
            path: self.path.clone(),
            header: self.header.clone(),
            index: self.index.clone(),
            reader: Self::open_reader(&self.path)?,
        })
    }

    /// Contig names the index knows (those with records).
    pub fn contigs(&self) -> Vec<String> {
        self.index
            .header()
            .map(|h| {
                h.reference_sequence_names()
                    .iter()
                    .map(|n| n.to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Unfiltered records starting in `[start, end)` on `contig`, in file order.
    pub fn query(&mut self, contig: &str, start: i64, end: i64) -> Result<Vec<TruthVariant>> {
        self.records(contig, start, end, |pos, _| (start..end).contains(&pos))
    }

    /// Unfiltered records overlapping `[start, end)` on `contig` (their reference allele reaches
    /// into it), in file order.
    pub fn query_overlapping(
        &mut self,
        contig: &str,
        start: i64,
        end: i64,
    ) -> Result<Vec<TruthVariant>> {
        self.records(contig, start, end, |pos, ref_end| {
            pos < end && ref_end > start
        })
    }

    /// Unfiltered records the index finds for `[start, end)` for which `keep(start, end)` holds (of
    /// the record's reference allele, 0-based).
    fn records(
        &mut self,
        contig: &str,
        start: i64,
        end: i64,
        keep: impl Fn(i64, i64) -> bool,
    ) -> Result<Vec<TruthVariant>> {
        if !self.contigs().iter().any(|c| c == contig) || start >= end {
            return Ok(Vec::new());
        }
        let region = Region::new(
            contig,
            Position::try_from(start.max(0) as usize + 1)?..=Position::try_from(end as usize)?,
        );
        let path = self.path.display().to_string();
        let mut out = Vec::new();
        let query = self
            .reader
            .query(&self.header, self.index.as_ref(), &region)
            .with_context(|| format!("truth VCF {path}: cannot query {region}"))?;
        for record in query.records() {
            let record =
                record.with_context(|| format!("truth VCF {path}: bad record in {region}"))?;
            let at = || {
                format!(
                    "truth VCF {path}: record at {contig}:{:?}",
                    record.variant_start()
                )
            };
            let Some(pos) = record.variant_start().transpose().with_context(at)? else {
                continue;
            };
            let pos = usize::from(pos) as i64 - 1;
            if !keep(pos, pos + record.reference_bases().len() as i64) {
                continue;
            }
            let filters = record.filters();
            if !filters.is_empty() && !filters.is_pass(&self.header).with_context(at)? {
                continue;
            }
            let alts = record
                .alternate_bases()
                .iter()
                .map(|a| a.map(str::to_ascii_uppercase))
                .collect::<std::io::Result<Vec<_>>>()
                .with_context(at)?;
            let mut genotype = Vec::new();
            if let Some(sample) = record.samples().iter().next() {
                if let Some(value) = sample.get(&self.header, "GT") {
                    if let Some(Value::Genotype(gt)) = value.with_context(at)? {
                        for allele in gt.iter() {
                            genotype.push(allele.with_context(at)?.0);
                        }
                    }
                }
            }
            out.push(TruthVariant {
                start: pos,
                ref_bases: record.reference_bases().to_ascii_uppercase(),
                alts,
                genotype,
            });
        }
        Ok(out)
    }
}

/// `(ref, alt)` with shared trailing bases removed (keeping at least one base in each).
fn simplify<'a>(ref_bases: &'a str, alt: &'a str) -> (&'a str, &'a str) {
    let (mut r, mut a) = (ref_bases.as_bytes(), alt.as_bytes());
    while r.len() > 1 && a.len() > 1 && r[r.len() - 1] == a[a.len() - 1] {
        r = &r[..r.len() - 1];
        a = &a[..a.len() - 1];
    }
    (&ref_bases[..r.len()], &alt[..a.len()])
}

/// The candidate's genotype (indices into `[ref] + candidate.alts`) implied by `truth`, which must
/// start at the candidate's position; `[0, 0]` without truth.
pub fn candidate_genotype(candidate: &Candidate, truth: Option<&TruthVariant>) -> Vec<usize> {
    let Some(truth) = truth else {
        return vec![0, 0];
    };
    truth
        .genotype
        .iter()
        .map(|g| match g {
            Some(g) if *g > 0 => {
                let Some(truth_alt) = truth.alts.get(g - 1) else {
                    return 0;
                };
                let want = simplify(&truth.ref_bases, truth_alt);
                candidate
                    .alts
                    .iter()
                    .position(|alt| simplify(&candidate.ref_bases, alt) == want)
                    .map_or(0, |j| j + 1)
            }
            _ => 0,
        })
        .collect()
}

/// The label of the example with `alt_indices` (0-based into the candidate's alts): how many genotype
/// alleles are among them.
pub fn label(genotype: &[usize], alt_indices: &[usize]) -> i8 {
    genotype
        .iter()
        .filter(|&&g| g > 0 && alt_indices.contains(&(g - 1)))
        .count()
        .min(2) as i8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(ref_bases: &str, alts: &[&str]) -> Candidate {
        Candidate {
            start: 10,
            ref_bases: ref_bases.into(),
            alts: alts.iter().map(|a| a.to_string()).collect(),
            support: vec![Vec::new(); alts.len()],
            alt_depths: vec![0; alts.len()],
            depth: 0,
            ref_support: 0,
        }
    }

    fn truth(ref_bases: &str, alts: &[&str], gt: &[Option<usize>]) -> TruthVariant {
        TruthVariant {
            start: 10,
            ref_bases: ref_bases.into(),
            alts: alts.iter().map(|a| a.to_string()).collect(),
            genotype: gt.to_vec(),
        }
    }

    #[test]
    fn intersection_keeps_what_both_cover() {
        let r = |v: &[(&str, i64, i64)]| {
            Regions::from_intervals(v.iter().map(|&(c, s, e)| (c.to_string(), s, e)))
        };
        let a = r(&[("c1", 0, 10), ("c1", 20, 30), ("c2", 0, 5)]);
        let b = r(&[("c1", 5, 25), ("c1", 28, 40), ("c3", 0, 5)]);
        let both = a.intersect(&b);
        assert_eq!(both, r(&[("c1", 5, 10), ("c1", 20, 25), ("c1", 28, 30)]));
        assert_eq!(both, b.intersect(&a));
        assert!(a.intersect(&Regions::default()).is_empty());
    }

    #[test]
    fn het_alt_truth_labels_the_three_examples_1_1_2() {
        let c = candidate("A", &["C", "T"]);
        let g = candidate_genotype(&c, Some(&truth("A", &["T", "C"], &[Some(1), Some(2)])));
        assert_eq!(g, [2, 1]);
        let labels: Vec<i8> = crate::data::tensorize::candidates::alt_combinations(2)
            .iter()
            .map(|alts| label(&g, alts))
            .collect();
        assert_eq!(labels, [1, 1, 2]);
    }

    #[test]
    fn alleles_match_after_simplification_and_unmatched_ones_are_reference() {
        // Candidate merged with a deletion: ref ACG, SNP written as TCG.
        let c = candidate("ACG", &["A", "TCG"]);
        let g = candidate_genotype(&c, Some(&truth("A", &["T"], &[Some(1), Some(1)])));
        assert_eq!(g, [2, 2]);
        assert_eq!(label(&g, &[0]), 0);
        assert_eq!(label(&g, &[1]), 2);
        let g = candidate_genotype(&c, Some(&truth("A", &["G"], &[Some(0), Some(1)])));
        assert_eq!(g, [0, 0]);
        assert_eq!(candidate_genotype(&c, None), [0, 0]);
        let g = candidate_genotype(&c, Some(&truth("A", &["T"], &[None, Some(1)])));
        assert_eq!(label(&g, &[1]), 1);
    }

    #[test]
    fn overlapping_queries_find_records_starting_before_the_interval() {
        use std::io::Write as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("truth.vcf.gz");
        let mut w = bgzf::io::Writer::new(File::create(&path).unwrap());
        write!(
            w,
            "##fileformat=VCFv4.3\n##contig=<ID=c>\n##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n\
             #CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS\n\
             c\t10\t.\tAAAAA\tA\t.\tPASS\t.\tGT\t0/1\n\
             c\t20\t.\tA\tC\t.\tPASS\t.\tGT\t1/1\n"
        )
        .unwrap();
        w.finish().unwrap();
        let vcf::Index::Tabix(index) = vcf::fs::index(&path).unwrap() else {
            panic!("noodles built a CSI index for a small VCF");
        };
        tabix::fs::write(dir.path().join("truth.vcf.gz.tbi"), &index).unwrap();
        let mut truth = Truth::open(&path).unwrap();
        // The deletion covers 0-based 9..14: it overlaps 12..15 but does not start there.
        assert!(truth.query("c", 12, 15).unwrap().is_empty());
        let starts = |v: Vec<TruthVariant>| v.iter().map(|t| t.start).collect::<Vec<_>>();
        assert_eq!(starts(truth.query_overlapping("c", 12, 15).unwrap()), [9]);
        assert!(truth.query_overlapping("c", 14, 19).unwrap().is_empty());
        assert_eq!(
            starts(truth.query_overlapping("c", 13, 20).unwrap()),
            [9, 19]
        );
    }

    #[test]
    fn regions_merge_and_answer_overlaps() {
        let r = Regions::from_intervals([
            ("chr1".to_string(), 10, 20),
            ("chr1".to_string(), 15, 30),
            ("chr1".to_string(), 40, 50),
            ("chr2".to_string(), 0, 5),
        ]);
        assert_eq!(
            r.iter().collect::<Vec<_>>(),
            [("chr1", 10, 30), ("chr1", 40, 50), ("chr2", 0, 5)]
        );
        assert!(r.overlaps("chr1", 29, 31));
        assert!(!r.overlaps("chr1", 30, 40));
        assert!(r.overlaps("chr1", 35, 41));
        assert!(!r.overlaps("chr3", 0, 100));
    }
}
