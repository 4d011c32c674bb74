//! hap.py's counts: each truth and query unit's outcome, its type and subtype, and the tallies per
//! (filter, type, subtype, stratum) with recall, precision, fraction not assessed and F1.

use super::normalize::{Edit, Unit};

/// The two query filters hap.py reports: every call (`ALL`), or only calls whose FILTER is PASS.
pub const FILTERS: [&str; 2] = ["ALL", "PASS"];

/// Variant types: both together, then hap.py's SNP and INDEL (indels and complex changes).
pub const TYPES: [&str; 3] = ["ALL", "SNP", "INDEL"];

/// Subtypes (hap.py's extended table): `*`, transitions and transversions of SNPs, and insertions,
/// deletions and complex changes by length.
pub const SUBTYPES: [&str; 12] = [
    "*", "ti", "tv", "I1_5", "I6_15", "I16_PLUS", "D1_5", "D6_15", "D16_PLUS", "C1_5", "C6_15",
    "C16_PLUS",
];

/// A unit's type (index into [`TYPES`], 1 or 2) and subtype (index into [`SUBTYPES`], never 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Class {
    /// 1: SNP, 2: INDEL.
    pub vtype: u8,
    /// Index into [`SUBTYPES`].
    pub subtype: u8,
}

impl Class {
    /// Whether subtype `s` is reported for type `t` (`*` for all; ti/tv for SNPs; the length bins for
    /// indels).
    pub fn reported(t: usize, s: usize) -> bool {
        match t {
            0 => s == 0,
            1 => s <= 2,
            _ => s == 0 || s >= 3,
        }
    }
}

/// The class of a unit on the reference bases `contig`: SNP when every called allele is a
/// single-base substitution (ti/tv from its first allele), otherwise INDEL with the subtype of its
/// allele of largest length change.
pub fn classify(unit: &Unit, contig: &[u8]) -> Class {
    if unit.alleles.iter().all(Edit::is_snp) {
        let e = &unit.alleles[0];
        let transition = is_transition(contig[e.start as usize], e.seq[0]);
        return Class {
            vtype: 1,
            subtype: if transition { 1 } else { 2 },
        };
    }
    let e = unit
        .alleles
        .iter()
        .filter(|e| !e.is_snp())
        .max_by_key(|e| ((e.end - e.start) - e.seq.len() as i64).abs())
        .unwrap_or(&unit.alleles[0]);
    let (base, len) = if e.is_insertion() {
        (3, e.seq.len() as i64)
    } else if e.is_deletion() {
        (6, e.end - e.start)
    } else {
        (9, (e.end - e.start).max(e.seq.len() as i64))
    };
    let bin = match len {
        ..=5 => 0,
        6..=15 => 1,
        _ => 2,
    };
    Class {
        vtype: 2,
        subtype: base + bin,
    }
}

/// Whether a substitution is between purines (A, G) or between pyrimidines (C, T).
fn is_transition(from: u8, to: u8) -> bool {
    matches!(
        (from, to),
        (b'A', b'G') | (b'G', b'A') | (b'C', b'T') | (b'T', b'C')
    )
}

/// What a query unit was counted as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Matches truth.
    Tp,
    /// Inside the confident regions, matches nothing (genotype or allele mismatch included).
    Fp,
    /// Outside the confident regions: not assessed.
    Unk,
}

/// How one truth unit was counted under one filter.
#[derive(Debug, Clone, PartialEq)]
pub struct TruthOutcome {
    /// Its class.
    pub class: Class,
    /// Indices of the strata it overlaps.
    pub strata: Box<[u16]>,
    /// Whether a query genotype matched it (otherwise FN).
    pub tp: bool,
    /// For a TP, the QUAL above which its matching calls are dropped (see [`super::matching`]).
    pub score: f32,
}

/// How one query unit was counted under one filter.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryOutcome {
    /// Its class.
    pub class: Class,
    /// Indices of the strata it overlaps.
    pub strata: Box<[u16]>,
    /// TP, FP or UNK.
    pub status: Status,
    /// For an FP: whether its allele matched a truth variant with another genotype.
    pub fp_gt: bool,
    /// Its QUAL (NaN when missing).
    pub qual: f32,
}

/// The outcomes of every truth and query unit under one filter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcomes {
    /// Truth units inside the confident regions.
    pub truth: Vec<TruthOutcome>,
    /// Query calls the filter keeps.
    pub query: Vec<QueryOutcome>,
}

/// hap.py's counts of one table row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Truth variants assessed (TP + FN).
    pub truth_total: u64,
    /// Truth variants matched.
    pub truth_tp: u64,
    /// Truth variants not matched.
    pub truth_fn: u64,
    /// Query calls (TP + FP + UNK).
    pub query_total: u64,
    /// Query calls matched.
    pub query_tp: u64,
    /// Query calls inside the confident regions that match nothing.
    pub query_fp: u64,
    /// Query calls outside the confident regions.
    pub query_unk: u64,
    /// FPs whose allele matched with the wrong genotype.
    pub fp_gt: u64,
}

impl Counts {
    /// TRUTH.TP / (TRUTH.TP + TRUTH.FN); NaN when there is no truth variant.
    pub fn recall(&self) -> f64 {
        ratio(self.truth_tp, self.truth_tp + self.truth_fn)
    }

    /// QUERY.TP / (QUERY.TP + QUERY.FP); NaN when no call was assessed.
    pub fn precision(&self) -> f64 {
        ratio(self.query_tp, self.query_tp + self.query_fp)
    }

    /// QUERY.UNK / QUERY.TOTAL.
    pub fn frac_na(&self) -> f64 {
        ratio(self.query_unk, self.query_total)
    }

    /// Harmonic mean of precision and recall.
    pub fn f1(&self) -> f64 {
        f1(self.precision(), self.recall())
    }

    fn add_truth(&mut self, o: &TruthOutcome) {
        self.truth_total += 1;
        if o.tp {
            self.truth_tp += 1;
        } else {
            self.truth_fn += 1;
        }
    }

    fn add_query(&mut self, o: &QueryOutcome) {
        self.query_total += 1;
        match o.status {
            Status::Tp => self.query_tp += 1,
            Status::Fp => {
                self.query_fp += 1;
                self.fp_gt += u64::from(o.fp_gt);
            }
            Status::Unk => self.query_unk += 1,
        }
    }
}

/// `num / den`, NaN for `0 / 0`.
fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 {
        f64::NAN
    } else {
        num as f64 / den as f64
    }
}

/// F1 from precision and recall (NaN when either is, 0 when both are 0).
pub fn f1(precision: f64, recall: f64) -> f64 {
    if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    }
}

/// Counts for every (filter, type, subtype, subset): subset 0 is everything (`*`), subset `k` the
/// stratum `k - 1`.
#[derive(Debug, Clone, PartialEq)]
pub struct Tally {
    subsets: usize,
    cells: Vec<Counts>,
}

impl Tally {
    /// Tallies the outcomes of each filter (in [`FILTERS`] order) with `strata` strata.
    pub fn new(per_filter: &[Outcomes; 2], strata: usize) -> Self {
        let subsets = strata + 1;
        let mut t = Self {
            subsets,
            cells: vec![Counts::default(); FILTERS.len() * TYPES.len() * SUBTYPES.len() * subsets],
        };
        for (f, outcomes) in per_filter.iter().enumerate() {
            for o in &outcomes.truth {
                t.each_cell(f, o.class, &o.strata, |c| c.add_truth(o));
            }
            for o in &outcomes.query {
                t.each_cell(f, o.class, &o.strata, |c| c.add_query(o));
            }
        }
        t
    }

    /// Applies `add` to every cell a unit of `class` in `strata` counts in.
    fn each_cell(
        &mut self,
        f: usize,
        class: Class,
        strata: &[u16],
        mut add: impl FnMut(&mut Counts),
    ) {
        for t in [0, usize::from(class.vtype)] {
            for s in [0, usize::from(class.subtype)] {
                if !Class::reported(t, s) {
                    continue;
                }
                for subset in std::iter::once(0).chain(strata.iter().map(|&k| usize::from(k) + 1)) {
                    let i = self.index(f, t, s, subset);
                    add(&mut self.cells[i]);
                }
            }
        }
    }

    fn index(&self, f: usize, t: usize, s: usize, subset: usize) -> usize {
        ((f * TYPES.len() + t) * SUBTYPES.len() + s) * self.subsets + subset
    }

    /// The counts of one cell (indices into [`FILTERS`], [`TYPES`], [`SUBTYPES`]; subset 0 is `*`).
    pub fn get(&self, f: usize, t: usize, s: usize, subset: usize) -> Counts {
        self.cells[self.index(f, t, s, subset)]
    }

    /// Number of subsets (`*` and the strata).
    pub fn subsets(&self) -> usize {
        self.subsets
    }
}

/// One point of a precision/recall curve: the counts of the calls with QUAL at least `threshold`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CurvePoint {
    /// QUAL threshold.
    pub threshold: f64,
    /// The counts at this threshold (UNK not counted).
    pub counts: Counts,
}

/// The precision/recall curve of one filter and type over `thresholds` (ascending).
pub fn curve(outcomes: &Outcomes, vtype: usize, thresholds: &[f64]) -> Vec<CurvePoint> {
    let of_type = |c: Class| vtype == 0 || usize::from(c.vtype) == vtype;
    let score = |q: f32| {
        if q.is_nan() {
            f64::INFINITY
        } else {
            f64::from(q)
        }
    };
    let sorted = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v
    };
    let truth: Vec<&TruthOutcome> = outcomes.truth.iter().filter(|o| of_type(o.class)).collect();
    let truth_tp = sorted(
        truth
            .iter()
            .filter(|o| o.tp)
            .map(|o| score(o.score))
            .collect(),
    );
    let calls = |status: Status| {
        sorted(
            outcomes
                .query
                .iter()
                .filter(|o| of_type(o.class) && o.status == status)
                .map(|o| score(o.qual))
                .collect(),
        )
    };
    let (query_tp, query_fp) = (calls(Status::Tp), calls(Status::Fp));
    let at_least = |v: &[f64], t: f64| (v.len() - v.partition_point(|&x| x < t)) as u64;
    thresholds
        .iter()
        .map(|&t| {
            let tp = at_least(&truth_tp, t);
            let (qtp, qfp) = (at_least(&query_tp, t), at_least(&query_fp, t));
            CurvePoint {
                threshold: t,
                counts: Counts {
                    truth_total: truth.len() as u64,
                    truth_tp: tp,
                    truth_fn: truth.len() as u64 - tp,
                    query_total: qtp + qfp,
                    query_tp: qtp,
                    query_fp: qfp,
                    query_unk: 0,
                    fp_gt: 0,
                },
            }
        })
        .collect()
}

/// The default QUAL thresholds: the distinct QUALs of the assessed calls (TP or FP), or 100 of them
/// evenly spread over their ranks when there are more; `[0]` when no call has a QUAL.
pub fn default_thresholds(outcomes: &Outcomes) -> Vec<f64> {
    let mut quals: Vec<f64> = outcomes
        .query
        .iter()
        .filter(|o| o.status != Status::Unk && o.qual.is_finite())
        .map(|o| f64::from(o.qual))
        .collect();
    quals.sort_by(f64::total_cmp);
    quals.dedup();
    match quals.len() {
        0 => vec![0.0],
        n if n <= 100 => quals,
        n => (0..100).map(|i| quals[i * (n - 1) / 99]).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(start: i64, end: i64, seq: &[u8]) -> Unit {
        Unit {
            call: 0,
            alleles: vec![Edit {
                start,
                end,
                seq: seq.to_vec(),
            }],
            haps: [None, Some(0)],
            start,
            end,
        }
    }

    #[test]
    fn units_are_classified_as_hap_py_does() {
        let contig = b"ACGTACGTACGTACGTACGTACGT";
        let name = |c: Class| (TYPES[c.vtype as usize], SUBTYPES[c.subtype as usize]);
        assert_eq!(name(classify(&unit(0, 1, b"G"), contig)), ("SNP", "ti"));
        assert_eq!(name(classify(&unit(0, 1, b"C"), contig)), ("SNP", "tv"));
        assert_eq!(
            name(classify(&unit(3, 3, b"AAAAAA"), contig)),
            ("INDEL", "I6_15")
        );
        assert_eq!(
            name(classify(&unit(3, 23, b""), contig)),
            ("INDEL", "D16_PLUS")
        );
        assert_eq!(name(classify(&unit(3, 5, b"T"), contig)), ("INDEL", "C1_5"));
    }

    fn outcome(tp: bool) -> TruthOutcome {
        TruthOutcome {
            class: Class {
                vtype: 1,
                subtype: 1,
            },
            strata: Box::new([0]),
            tp,
            score: 20.0,
        }
    }

    fn call(status: Status, qual: f32) -> QueryOutcome {
        QueryOutcome {
            class: Class {
                vtype: 2,
                subtype: 3,
            },
            strata: Box::new([]),
            status,
            fp_gt: status == Status::Fp,
            qual,
        }
    }

    #[test]
    fn tallies_give_hap_py_metrics_per_type_and_stratum() {
        let o = Outcomes {
            truth: vec![outcome(true), outcome(true), outcome(false)],
            query: vec![
                call(Status::Tp, 5.0),
                call(Status::Fp, 1.0),
                call(Status::Unk, 9.0),
            ],
        };
        let t = Tally::new(&[o.clone(), o], 1);
        let all = t.get(0, 0, 0, 0);
        assert_eq!((all.truth_total, all.truth_tp, all.truth_fn), (3, 2, 1));
        assert_eq!(
            (all.query_total, all.query_tp, all.query_fp, all.query_unk),
            (3, 1, 1, 1)
        );
        assert_eq!(all.fp_gt, 1);
        assert!((all.recall() - 2.0 / 3.0).abs() < 1e-12);
        assert!((all.precision() - 0.5).abs() < 1e-12);
        assert!((all.frac_na() - 1.0 / 3.0).abs() < 1e-12);
        assert!((all.f1() - 4.0 / 7.0).abs() < 1e-12);
        let snp_stratum = t.get(1, 1, 1, 1);
        assert_eq!((snp_stratum.truth_total, snp_stratum.query_total), (3, 0));
        assert!(snp_stratum.precision().is_nan());
        assert_eq!(t.get(0, 2, 3, 0).query_total, 3);
        assert_eq!(t.get(0, 2, 3, 1).query_total, 0);
    }

    #[test]
    fn the_curve_drops_calls_below_each_threshold() {
        let o = Outcomes {
            truth: vec![outcome(true), outcome(false)],
            query: vec![call(Status::Fp, 1.0), call(Status::Fp, f32::NAN)],
        };
        let points = curve(&o, 0, &[0.0, 10.0, 30.0]);
        let got: Vec<(u64, u64)> = points
            .iter()
            .map(|p| (p.counts.truth_tp, p.counts.query_fp))
            .collect();
        assert_eq!(got, [(1, 2), (1, 1), (0, 1)]);
        assert_eq!(default_thresholds(&o), [1.0]);
    }
}
