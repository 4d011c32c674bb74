//! The `evaluate` stage kind: scores a query VCF against a truth VCF inside confident regions, as
//! hap.py / vcfeval do (GA4GH small-variant benchmarking).
//!
//! Records are read for one sample each ([`variants`]), normalized against the reference
//! ([`normalize`]: trimmed, indels left-aligned, MNPs split, multi-allelic records split into their
//! called alleles) and matched haplotype-aware ([`matching`]), so equivalent representations match.
//! Counting follows hap.py ([`counts`]): truth variants inside the confident regions are TP or FN;
//! query calls inside are TP or FP (FP.gt when the allele matched with the wrong genotype, which also
//! leaves the truth variant FN), calls outside are UNK. GT 0/0 and ./. are not calls. Filter `ALL`
//! compares every call whatever its FILTER, `PASS` only calls with FILTER PASS (or `.`); truth records
//! that are not PASS are left out. Counts are per record (per SNP of a split MNP). With `regions`
//! (hap.py's `--target-regions`, vcfeval's `--bed-regions`) only records overlapping them are
//! compared: the confident regions are cut to them and query calls outside are left out, not UNK, so
//! callers that called different extents are scored on the same ground. The tables are written by
//! [`output`].

pub mod contigs;
pub mod counts;
pub mod matching;
pub mod normalize;
pub mod output;
pub mod variants;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{bail, Result};
use rayon::prelude::*;
use serde::Deserialize;

use crate::data::tensorize::labeler::Regions;
use crate::data::tensorize::parse_region;
use crate::data::tensorize::pileup::reference::Reference;
use counts::{classify, Outcomes, QueryOutcome, Status, Tally, TruthOutcome};
use normalize::{normalize, Unit};
use pipe_kind::{InputPort, OutputPort, StageKind, StageParams, TaskContext};
use variants::{Call, Calls};

/// Parameters of `evaluate`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Query sample (default: the first).
    #[serde(default)]
    pub sample: Option<String>,
    /// Truth sample (default: the first).
    #[serde(default)]
    pub truth_sample: Option<String>,
    /// QUAL thresholds of the precision/recall curve (default: the assessed calls' distinct QUALs,
    /// at most 100 of them).
    #[serde(default)]
    pub qual_thresholds: Option<Vec<f64>>,
    /// Compare only inside these regions (`chr20:10000001-10010000`, 1-based inclusive, or a whole
    /// contig `chr20`; default: everywhere).
    #[serde(default)]
    pub regions: Option<Vec<String>>,
}

impl Params {
    /// The `regions` parameter as regions, when given.
    fn target_regions(&self) -> Result<Option<Regions>> {
        let Some(list) = &self.regions else {
            return Ok(None);
        };
        if list.is_empty() {
            bail!(
                "params.regions: give at least one region, or leave it out to compare everywhere"
            );
        }
        let intervals = list
            .iter()
            .map(|r| parse_region(r))
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(Regions::from_intervals(intervals)))
    }
}

impl StageParams for Params {
    fn validate(&self) -> Result<()> {
        if let Some(t) = &self.qual_thresholds {
            if t.is_empty() {
                bail!("params.qual_thresholds: give at least one threshold, or leave it out for the default grid");
            }
            if let Some(bad) = t.iter().find(|x| !x.is_finite()) {
                bail!("params.qual_thresholds: {bad} is not a finite number");
            }
        }
        self.target_regions().map(|_| ())
    }
}

/// The `evaluate` stage kind.
pub struct Evaluate;

static INPUTS: &[InputPort] = &[
    InputPort {
        name: "truth",
        required: true,
        many: false,
        doc: "truth VCF, bgzipped with .tbi",
    },
    InputPort {
        name: "confident",
        required: true,
        many: false,
        doc: "confident regions BED of the truth set",
    },
    InputPort {
        name: "reference",
        required: true,
        many: false,
        doc: "reference FASTA with .fai (bgzipped with .gzi allowed)",
    },
    InputPort {
        name: "query",
        required: true,
        many: false,
        doc: "query VCF (plain or bgzipped)",
    },
    InputPort {
        name: "strata",
        required: false,
        many: true,
        doc: "stratification BEDs, each named by its file stem (extended table)",
    },
];

static OUTPUTS: &[OutputPort] = &[
    OutputPort {
        name: "summary",
        path: "summary.csv",
        doc: "hap.py's summary: SNP, INDEL, ALL x filter ALL, PASS",
    },
    OutputPort {
        name: "summary_parquet",
        path: "summary.parquet",
        doc: "the summary as Parquet",
    },
    OutputPort {
        name: "extended",
        path: "extended.parquet",
        doc: "counts per type, subtype (indel length bins, ti/tv), stratum and filter",
    },
    OutputPort {
        name: "pr_curve",
        path: "pr_curve.parquet",
        doc: "precision, recall and F1 per type, filter and QUAL threshold",
    },
];

impl StageKind for Evaluate {
    type Params = Params;

    fn name(&self) -> &'static str {
        "evaluate"
    }
    fn version(&self) -> u32 {
        1
    }
    fn about(&self) -> &'static str {
        "haplotype-aware comparison of a query VCF with a truth VCF (hap.py / vcfeval counts)"
    }
    fn inputs(&self) -> &'static [InputPort] {
        INPUTS
    }
    fn outputs(&self) -> &'static [OutputPort] {
        OUTPUTS
    }
    fn compute(&self, params: Params, ctx: &TaskContext) -> Result<()> {
        let inputs = Inputs {
            truth: ctx.input("truth")?.to_path_buf(),
            confident: ctx.input("confident")?.to_path_buf(),
            reference: ctx.input("reference")?.to_path_buf(),
            query: ctx.input("query")?.to_path_buf(),
            strata: ctx.inputs_of("strata").to_vec(),
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(ctx.threads.max(1))
            .build()?;
        let report = |done: usize, total: usize, contig: &str| {
            ctx.progress
                .update(done as u64, total as u64, format!("compared {contig}"));
        };
        let evaluation = pool.install(|| evaluate(&inputs, &params, &report))?;
        let summary = output::summary(&evaluation.tally);
        summary.write_csv(ctx.output("summary")?)?;
        summary.write_parquet(ctx.output("summary_parquet")?)?;
        output::extended(&evaluation.tally, &evaluation.strata)
            .write_parquet(ctx.output("extended")?)?;
        output::pr_curve(&evaluation.outcomes, &evaluation.thresholds)
            .write_parquet(ctx.output("pr_curve")?)?;
        Ok(())
    }
}

/// The files `evaluate` reads.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// Truth VCF (bgzipped, `.tbi`).
    pub truth: PathBuf,
    /// Confident regions BED.
    pub confident: PathBuf,
    /// Reference FASTA (`.fai`, `.gzi` when bgzipped).
    pub reference: PathBuf,
    /// Query VCF.
    pub query: PathBuf,
    /// Stratification BEDs.
    pub strata: Vec<PathBuf>,
}

/// The result of a comparison.
#[derive(Debug)]
pub struct Evaluation {
    /// The outcomes under filter ALL and PASS.
    pub outcomes: [Outcomes; 2],
    /// Their counts.
    pub tally: Tally,
    /// Stratum names, in input order.
    pub strata: Vec<String>,
    /// The precision/recall curve's QUAL thresholds.
    pub thresholds: Vec<f64>,
}

/// A stratification BED with its name.
struct Stratum {
    name: String,
    regions: Regions,
}

/// Compares the query with the truth, contig by contig in parallel (in the current rayon pool);
/// `report(done, total, contig)` is called as contigs finish.
pub fn evaluate(
    inputs: &Inputs,
    params: &Params,
    report: &(dyn Fn(usize, usize, &str) + Sync),
) -> Result<Evaluation> {
    let reference = Reference::open(&inputs.reference)?;
    let (truth, query) = rayon::join(
        || variants::read_truth(&inputs.truth, params.truth_sample.as_deref()),
        || variants::read_query(&inputs.query, params.sample.as_deref()),
    );
    let (truth, query) = (truth?, query?);
    let confident = Regions::read_bed(&inputs.confident)?;
    let strata = read_strata(&inputs.strata)?;
    let target = params.target_regions()?;
    check_contigs(inputs, &reference, &truth, &query, &confident, &strata)?;
    if let Some(target) = &target {
        contigs::check(
            "params.regions",
            target.contigs(),
            &format!("reference {}", inputs.reference.display()),
            &|c: &str| reference.length(c).is_some(),
        )?;
    }
    let confident = match &target {
        Some(target) => confident.intersect(target),
        None => confident,
    };

    let mut names: Vec<&str> = truth.contig_names().collect();
    names.extend(query.contig_names().filter(|c| truth.of(c).is_empty()));
    let reference = Mutex::new(reference);
    let done = std::sync::atomic::AtomicUsize::new(0);
    let per_contig: Vec<[Outcomes; 2]> = names
        .par_iter()
        .map(|&contig| {
            let (t, q) = (truth.of(contig), query.of(contig));
            let bases = {
                let mut r = reference.lock().expect("reference lock");
                contig_bases(&mut r, contig, t.iter().chain(q).map(Call::span))?
            };
            let out = Contig {
                name: contig,
                bases: &bases,
                confident: &confident,
                target: target.as_ref(),
                strata: &strata,
                truth_what: &format!("truth VCF {}", inputs.truth.display()),
                query_what: &format!("query VCF {}", inputs.query.display()),
            }
            .evaluate(t, q)?;
            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            report(n, names.len(), contig);
            Ok(out)
        })
        .collect::<Result<_>>()?;
    let mut outcomes: [Outcomes; 2] = Default::default();
    for contig in per_contig {
        for (all, one) in outcomes.iter_mut().zip(contig) {
            all.truth.extend(one.truth);
            all.query.extend(one.query);
        }
    }
    let thresholds = match &params.qual_thresholds {
        Some(t) => {
            let mut t = t.clone();
            t.sort_by(f64::total_cmp);
            t.dedup();
            t
        }
        None => counts::default_thresholds(&outcomes[0]),
    };
    let tally = Tally::new(&outcomes, strata.len());
    Ok(Evaluation {
        outcomes,
        tally,
        strata: strata.into_iter().map(|s| s.name).collect(),
        thresholds,
    })
}

/// Reference bases read on each side of a contig's records, for left-alignment.
const MARGIN: i64 = 10_000;

/// The bases of `contig`, indexed by 0-based position: read from the reference where the records of
/// `spans` lie (with [`MARGIN`] on each side), `N` elsewhere.
fn contig_bases(
    reference: &mut Reference,
    contig: &str,
    spans: impl Iterator<Item = (i64, i64)>,
) -> Result<Vec<u8>> {
    let len = reference.length(contig).unwrap_or(0);
    let (lo, hi) = spans.fold((i64::MAX, i64::MIN), |(lo, hi), (s, e)| {
        (lo.min(s), hi.max(e))
    });
    if lo > hi {
        return Ok(Vec::new());
    }
    let (lo, hi) = ((lo - MARGIN).max(0), (hi + MARGIN).min(len));
    let mut bases = vec![b'N'; lo as usize];
    bases.extend(reference.slice(contig, lo, hi)?.bases);
    Ok(bases)
}

/// Reads the stratification BEDs, each named by its file name without `.bed` (or `.bed.gz`).
fn read_strata(paths: &[PathBuf]) -> Result<Vec<Stratum>> {
    if paths.len() > usize::from(u16::MAX) {
        bail!(
            "input 'strata': {} BEDs given, at most {} are supported",
            paths.len(),
            u16::MAX
        );
    }
    let mut out: Vec<Stratum> = Vec::with_capacity(paths.len());
    for path in paths {
        let file = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let name = file
            .strip_suffix(".gz")
            .unwrap_or(file)
            .strip_suffix(".bed")
            .unwrap_or(file)
            .to_string();
        if let Some(other) = out.iter().find(|s| s.name == name) {
            bail!(
                "input 'strata': two BEDs are named '{}' ({} and another); strata are named by \
                 their file stem, so give each a distinct file name",
                other.name,
                path.display()
            );
        }
        out.push(Stratum {
            name,
            regions: Regions::read_bed(path)?,
        });
    }
    Ok(out)
}

/// Every contig the inputs use must be in the reference (see [`contigs::check`]).
fn check_contigs(
    inputs: &Inputs,
    reference: &Reference,
    truth: &Calls,
    query: &Calls,
    confident: &Regions,
    strata: &[Stratum],
) -> Result<()> {
    let ref_what = format!("reference {}", inputs.reference.display());
    let known = |c: &str| reference.length(c).is_some();
    let what = |kind: &str, p: &Path| format!("{kind} {}", p.display());
    contigs::check(
        &what("truth VCF", &inputs.truth),
        truth.contig_names(),
        &ref_what,
        &known,
    )?;
    contigs::check(
        &what("query VCF", &inputs.query),
        query.contig_names(),
        &ref_what,
        &known,
    )?;
    contigs::check(
        &what("confident BED", &inputs.confident),
        confident.contigs(),
        &ref_what,
        &known,
    )?;
    for (s, path) in strata.iter().zip(&inputs.strata) {
        contigs::check(
            &what("strata BED", path),
            s.regions.contigs(),
            &ref_what,
            &known,
        )?;
    }
    Ok(())
}

/// One contig's reference and regions.
struct Contig<'a> {
    name: &'a str,
    bases: &'a [u8],
    confident: &'a Regions,
    /// When given, records that do not overlap these are left out.
    target: Option<&'a Regions>,
    strata: &'a [Stratum],
    truth_what: &'a str,
    query_what: &'a str,
}

/// A normalized unit with what counting needs of its record.
struct Item {
    unit: Unit,
    inside: bool,
    pass: bool,
    qual: f32,
    strata: Box<[u16]>,
}

impl Contig<'_> {
    /// The outcomes of this contig's truth and query records under filter ALL and PASS.
    fn evaluate(&self, truth: &[Call], query: &[Call]) -> Result<[Outcomes; 2]> {
        let truth: Vec<Item> = self
            .items(truth, self.truth_what, |c| c.pass)?
            .into_iter()
            .filter(|i| i.inside)
            .collect();
        let query = self.items(query, self.query_what, |_| true)?;
        let all = self.compare(&truth, query.iter().collect());
        let pass = if query.iter().all(|q| q.pass) {
            all.clone()
        } else {
            self.compare(&truth, query.iter().filter(|q| q.pass).collect())
        };
        Ok([all, pass])
    }

    /// The normalized units of the variant calls among `calls` that `keep` accepts, sorted by start.
    fn items(&self, calls: &[Call], what: &str, keep: impl Fn(&Call) -> bool) -> Result<Vec<Item>> {
        let mut items = Vec::new();
        for (i, call) in calls.iter().enumerate() {
            if !call.is_variant() || !keep(call) {
                continue;
            }
            let (s, e) = call.span();
            if self.target.is_some_and(|t| !t.overlaps(self.name, s, e)) {
                continue;
            }
            let inside = self.confident.overlaps(self.name, s, e);
            let strata: Box<[u16]> = (0..self.strata.len())
                .filter(|&k| self.strata[k].regions.overlaps(self.name, s, e))
                .map(|k| k as u16)
                .collect();
            for unit in normalize(call, i, self.name, self.bases, what)? {
                items.push(Item {
                    unit,
                    inside,
                    pass: call.pass,
                    qual: call.qual,
                    strata: strata.clone(),
                });
            }
        }
        items.sort_by_key(|i| i.unit.start);
        Ok(items)
    }

    /// Matches the truth items with the query items inside the confident regions and counts both.
    fn compare(&self, truth: &[Item], query: Vec<&Item>) -> Outcomes {
        let inside: Vec<&Item> = query.iter().copied().filter(|q| q.inside).collect();
        let truth_units: Vec<Unit> = truth.iter().map(|t| t.unit.clone()).collect();
        let query_units: Vec<Unit> = inside.iter().map(|q| q.unit.clone()).collect();
        let quals: Vec<f32> = inside.iter().map(|q| q.qual).collect();
        let m = matching::compare(self.bases, &truth_units, &query_units, &quals);
        let truth = truth
            .iter()
            .enumerate()
            .map(|(i, t)| TruthOutcome {
                class: classify(&t.unit, self.bases),
                strata: t.strata.clone(),
                tp: m.truth_tp[i],
                score: m.truth_score[i],
            })
            .collect();
        let mut k = 0;
        let query = query
            .iter()
            .map(|q| {
                let (status, fp_gt) = if q.inside {
                    k += 1;
                    if m.query_tp[k - 1] {
                        (Status::Tp, false)
                    } else {
                        (Status::Fp, m.query_fp_gt[k - 1])
                    }
                } else {
                    (Status::Unk, false)
                };
                QueryOutcome {
                    class: classify(&q.unit, self.bases),
                    strata: q.strata.clone(),
                    status,
                    fp_gt,
                    qual: q.qual,
                }
            })
            .collect();
        Outcomes { truth, query }
    }
}
