//! Haplotype-aware matching of truth and query calls, as vcfeval does it.
//!
//! Truth and query units are grouped into clusters of nearby variants (less than [`CLUSTER_GAP`]
//! bases apart). In a cluster, every way of including or leaving out each unit, and of placing each
//! unphased heterozygous allele on one haplotype or the other, is replayed onto the reference to give
//! the pair of haplotype sequences of each side. The truth subset and the query subset with the same
//! pair of sequences and the most units in all are the matches (genotype matches: TP on both sides).
//! The units left over are then compared once more with each genotype squashed to one haplotype
//! carrying one of its alternate alleles: a query unit that matches then has the right allele with the
//! wrong genotype (FP.gt; its truth partner stays FN).
//!
//! A cluster with more than [`MAX_CHOICES`] combinations on one side is split at its widest gap until
//! every part is small enough.

use std::collections::HashMap;

use super::normalize::{Edit, Unit};

/// Units closer than this (bases between one's end and the next one's start) share a cluster.
pub const CLUSTER_GAP: i64 = 30;

/// Largest number of include/phase combinations enumerated for one side of a cluster.
pub const MAX_CHOICES: usize = 1 << 12;

/// What matching decided for the units of one contig (indices as in the inputs).
#[derive(Debug, Clone, PartialEq)]
pub struct Matches {
    /// Whether each truth unit is a genotype match.
    pub truth_tp: Vec<bool>,
    /// For a matched truth unit, the lowest QUAL of the query units it was matched with (the
    /// threshold above which it stops being found); NaN QUAL counts as infinite.
    pub truth_score: Vec<f32>,
    /// Whether each query unit is a genotype match.
    pub query_tp: Vec<bool>,
    /// Whether each unmatched query unit matches an unmatched truth unit's allele (FP.gt).
    pub query_fp_gt: Vec<bool>,
}

/// Matches `truth` and `query` units (each sorted by start) on the reference bases `contig`;
/// `query_qual` gives each query unit's QUAL.
pub fn compare(contig: &[u8], truth: &[Unit], query: &[Unit], query_qual: &[f32]) -> Matches {
    let mut m = Matches {
        truth_tp: vec![false; truth.len()],
        truth_score: vec![f32::NAN; truth.len()],
        query_tp: vec![false; query.len()],
        query_fp_gt: vec![false; query.len()],
    };
    for cluster in clusters(truth, query) {
        solve(contig, truth, query, query_qual, &cluster, &mut m);
    }
    m
}

/// A unit of one side: `(is_query, index)`.
type Member = (bool, usize);

/// Clusters of truth and query units, each sorted by start.
fn clusters(truth: &[Unit], query: &[Unit]) -> Vec<Vec<Member>> {
    let mut all: Vec<(i64, i64, Member)> = truth
        .iter()
        .enumerate()
        .map(|(i, u)| (u.start, u.end, (false, i)))
        .chain(
            query
                .iter()
                .enumerate()
                .map(|(i, u)| (u.start, u.end, (true, i))),
        )
        .collect();
    all.sort_unstable();
    let mut out: Vec<Vec<Member>> = Vec::new();
    let mut end = i64::MIN;
    for (s, e, member) in all {
        match out.last_mut() {
            Some(c) if s <= end.saturating_add(CLUSTER_GAP) => {
                c.push(member);
                end = end.max(e);
            }
            _ => {
                out.push(vec![member]);
                end = e;
            }
        }
    }
    out
}

/// Matches one cluster, splitting it when it is too large to enumerate.
fn solve(
    contig: &[u8],
    truth: &[Unit],
    query: &[Unit],
    query_qual: &[f32],
    cluster: &[Member],
    m: &mut Matches,
) {
    let unit = |&(q, i): &Member| if q { &query[i] } else { &truth[i] };
    let t: Vec<usize> = cluster.iter().filter(|x| !x.0).map(|x| x.1).collect();
    let q: Vec<usize> = cluster.iter().filter(|x| x.0).map(|x| x.1).collect();
    if t.is_empty() || q.is_empty() {
        return;
    }
    if let ([ti], [qi]) = (t.as_slice(), q.as_slice()) {
        if same_genotype(&truth[*ti], &query[*qi]) {
            m.truth_tp[*ti] = true;
            m.truth_score[*ti] = score(query_qual[*qi]);
            m.query_tp[*qi] = true;
            return;
        }
    }
    let too_many = |side: &[usize], units: &[Unit]| {
        choices(side.iter().map(|&i| &units[i]), false) > MAX_CHOICES
    };
    if too_many(&t, truth) || too_many(&q, query) {
        let mut end = i64::MIN;
        let (mut best, mut at) = (i64::MIN, cluster.len() / 2);
        for (k, member) in cluster.iter().enumerate() {
            let u = unit(member);
            if k > 0 && u.start - end > best {
                (best, at) = (u.start - end, k);
            }
            end = end.max(u.end);
        }
        let (left, right) = cluster.split_at(at);
        solve(contig, truth, query, query_qual, left, m);
        solve(contig, truth, query, query_qual, right, m);
        return;
    }
    let tu: Vec<&Unit> = t.iter().map(|&i| &truth[i]).collect();
    let qu: Vec<&Unit> = q.iter().map(|&i| &query[i]).collect();
    let (tm, qm) = best_match(contig, &tu, &qu, false);
    let mut lowest = f32::INFINITY;
    for (k, &i) in q.iter().enumerate() {
        if qm >> k & 1 == 1 {
            m.query_tp[i] = true;
            lowest = lowest.min(score(query_qual[i]));
        }
    }
    for (k, &i) in t.iter().enumerate() {
        if tm >> k & 1 == 1 {
            m.truth_tp[i] = true;
            m.truth_score[i] = lowest;
        }
    }
    let (t_left, tu_left) = unmatched(&t, tm, truth);
    let (q_left, qu_left) = unmatched(&q, qm, query);
    if t_left.is_empty() || q_left.is_empty() {
        return;
    }
    let (_, qm2) = best_match(contig, &tu_left, &qu_left, true);
    for (k, &i) in q_left.iter().enumerate() {
        if qm2 >> k & 1 == 1 {
            m.query_fp_gt[i] = true;
        }
    }
}

/// The indices (and units) of `side` whose bit in `mask` is clear.
fn unmatched<'u>(side: &[usize], mask: u64, units: &'u [Unit]) -> (Vec<usize>, Vec<&'u Unit>) {
    let idx: Vec<usize> = side
        .iter()
        .enumerate()
        .filter(|(k, _)| mask >> k & 1 == 0)
        .map(|(_, &i)| i)
        .collect();
    let us = idx.iter().map(|&i| &units[i]).collect();
    (idx, us)
}

/// A query QUAL as a ROC score: missing QUAL never drops a call.
fn score(qual: f32) -> f32 {
    if qual.is_nan() {
        f32::INFINITY
    } else {
        qual
    }
}

/// Whether two units carry the same pair of haplotype edits (unordered).
fn same_genotype(a: &Unit, b: &Unit) -> bool {
    let mut x = a.hap_edits();
    let mut y = b.hap_edits();
    x.sort();
    y.sort();
    x == y
}

/// The ways of placing a unit's alleles on the haplotypes: each a list of per-haplotype edits.
/// Squashed, each alternate allele on a single haplotype.
fn placements(unit: &Unit, squash: bool) -> Vec<Vec<Option<&Edit>>> {
    let [a, b] = unit.hap_edits();
    if squash {
        let mut alleles: Vec<&Edit> = [a, b].into_iter().flatten().collect();
        alleles.dedup();
        alleles.into_iter().map(|e| vec![Some(e)]).collect()
    } else if a == b {
        vec![vec![a, b]]
    } else {
        vec![vec![a, b], vec![b, a]]
    }
}

/// How many include/placement combinations a side has (saturating at `usize::MAX`).
fn choices<'a>(units: impl Iterator<Item = &'a Unit>, squash: bool) -> usize {
    units.fold(1usize, |n, u| {
        n.saturating_mul(1 + placements(u, squash).len())
    })
}

/// The truth and query subsets (bit masks over the given units) whose haplotypes agree, with the most
/// units in all (then the most truth units, then the lowest masks).
fn best_match(contig: &[u8], truth: &[&Unit], query: &[&Unit], squash: bool) -> (u64, u64) {
    let lo = truth
        .iter()
        .chain(query)
        .map(|u| u.start)
        .min()
        .unwrap_or(0);
    let hi = truth.iter().chain(query).map(|u| u.end).max().unwrap_or(lo);
    let window = Window { contig, lo, hi };
    let ploidy = if squash { 1 } else { 2 };
    let t = enumerate(&window, truth, squash, ploidy);
    let q = enumerate(&window, query, squash, ploidy);
    let mut best = (0u32, 0u32, 0u64, 0u64);
    for (haps, &(tn, tmask)) in &t {
        let Some(&(qn, qmask)) = q.get(haps) else {
            continue;
        };
        let candidate = (tn + qn, tn, tmask, qmask);
        let better = (candidate.0, candidate.1) > (best.0, best.1)
            || ((candidate.0, candidate.1) == (best.0, best.1)
                && (candidate.2, candidate.3) < (best.2, best.3));
        if better {
            best = candidate;
        }
    }
    (best.2, best.3)
}

/// The reference stretch a cluster's haplotypes are built over.
struct Window<'a> {
    contig: &'a [u8],
    lo: i64,
    hi: i64,
}

impl Window<'_> {
    /// The haplotype with `edits` applied (sorted, not conflicting).
    fn apply(&self, edits: &mut [&Edit]) -> Vec<u8> {
        edits.sort_by_key(|e| (e.start, e.end));
        let mut out = Vec::with_capacity((self.hi - self.lo) as usize + 8);
        let mut at = self.lo;
        for e in edits.iter() {
            out.extend_from_slice(&self.contig[at as usize..e.start as usize]);
            out.extend_from_slice(&e.seq);
            at = e.end;
        }
        out.extend_from_slice(&self.contig[at as usize..self.hi as usize]);
        out
    }
}

/// Every haplotype set one side can make, each with the largest subset making it: sorted
/// haplotype sequences to (units included, mask of them).
fn enumerate(
    window: &Window,
    units: &[&Unit],
    squash: bool,
    ploidy: usize,
) -> HashMap<Vec<Vec<u8>>, (u32, u64)> {
    let options: Vec<Vec<Vec<Option<&Edit>>>> =
        units.iter().map(|u| placements(u, squash)).collect();
    let mut out = HashMap::new();
    let mut haps: Vec<Vec<&Edit>> = vec![Vec::new(); ploidy];
    walk(window, &options, 0, 0, 0, &mut haps, &mut out);
    out
}

/// Depth-first over the units' choices (left out, or one placement that conflicts with nothing
/// already on its haplotypes); records each complete choice's haplotypes.
fn walk<'a>(
    window: &Window,
    options: &[Vec<Vec<Option<&'a Edit>>>],
    k: usize,
    count: u32,
    mask: u64,
    haps: &mut Vec<Vec<&'a Edit>>,
    out: &mut HashMap<Vec<Vec<u8>>, (u32, u64)>,
) {
    if k == options.len() {
        let mut seqs: Vec<Vec<u8>> = haps.iter().map(|h| window.apply(&mut h.clone())).collect();
        seqs.sort_unstable();
        let entry = out.entry(seqs).or_insert((count, mask));
        if count > entry.0 || (count == entry.0 && mask < entry.1) {
            *entry = (count, mask);
        }
        return;
    }
    walk(window, options, k + 1, count, mask, haps, out);
    for placement in &options[k] {
        let fits = placement
            .iter()
            .zip(haps.iter())
            .all(|(edit, hap)| edit.is_none_or(|e| hap.iter().all(|x| !x.conflicts(e))));
        if !fits {
            continue;
        }
        for (edit, hap) in placement.iter().zip(haps.iter_mut()) {
            if let Some(e) = edit {
                hap.push(e);
            }
        }
        walk(window, options, k + 1, count + 1, mask | 1 << k, haps, out);
        for (edit, hap) in placement.iter().zip(haps.iter_mut()) {
            if edit.is_some() {
                hap.pop();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::evaluate::normalize::normalize;
    use crate::analysis::evaluate::variants::Call;

    /// Units of records `(pos 1-based, ref, alts, gt)` on `contig`.
    fn units(contig: &[u8], records: &[(i64, &str, &[&str], [u8; 2])]) -> Vec<Unit> {
        let mut out: Vec<Unit> = records
            .iter()
            .enumerate()
            .flat_map(|(i, (pos, r, alts, gt))| {
                let call = Call {
                    start: pos - 1,
                    ref_bases: r.as_bytes().to_vec(),
                    alts: alts.iter().map(|a| a.as_bytes().to_vec()).collect(),
                    gt: *gt,
                    qual: 10.0,
                    pass: true,
                };
                normalize(&call, i, "c", contig, "test").unwrap()
            })
            .collect();
        out.sort_by_key(|u| u.start);
        out
    }

    fn run(contig: &[u8], truth: &[Unit], query: &[Unit]) -> Matches {
        compare(contig, truth, query, &vec![10.0; query.len()])
    }

    const REF: &[u8] = b"ACGTTGCAAAAAAGTCCGATCGATTGCAGGCTAGCTAGGCATCGA";

    #[test]
    fn a_complex_change_in_one_record_matches_two_records() {
        // CGT -> AGA at 2..4 written as one record vs two SNPs; and a deletion + SNP written as one
        // complex record.
        let t = units(
            REF,
            &[(2, "CGT", &["AGA"], [1, 1]), (14, "GTCC", &["GA"], [0, 1])],
        );
        let q = units(
            REF,
            &[
                (2, "C", &["A"], [1, 1]),
                (4, "T", &["A"], [1, 1]),
                (14, "GTC", &["G"], [0, 1]),
                (17, "C", &["A"], [0, 1]),
            ],
        );
        let m = run(REF, &t, &q);
        assert!(m.truth_tp.iter().all(|&x| x), "{m:?}");
        assert!(m.query_tp.iter().all(|&x| x), "{m:?}");
    }

    #[test]
    fn a_het_called_hom_alt_is_an_allele_match_only() {
        let t = units(REF, &[(20, "T", &["A"], [0, 1])]);
        let q = units(REF, &[(20, "T", &["A"], [1, 1])]);
        let m = run(REF, &t, &q);
        assert_eq!(
            (m.truth_tp[0], m.query_tp[0], m.query_fp_gt[0]),
            (false, false, true)
        );
        let q = units(REF, &[(20, "T", &["G"], [1, 1])]);
        let m = run(REF, &t, &q);
        assert_eq!(
            (m.truth_tp[0], m.query_tp[0], m.query_fp_gt[0]),
            (false, false, false)
        );
    }

    #[test]
    fn a_het_alt_site_matches_two_het_records_and_not_one() {
        let t = units(REF, &[(20, "T", &["A", "C"], [1, 2])]);
        let q = units(REF, &[(20, "T", &["C"], [0, 1]), (20, "T", &["A"], [0, 1])]);
        let m = run(REF, &t, &q);
        assert_eq!((m.truth_tp, m.query_tp), (vec![true], vec![true, true]));
        let q = units(REF, &[(20, "T", &["C"], [0, 1])]);
        let m = run(REF, &t, &q);
        assert_eq!(
            (m.truth_tp[0], m.query_tp[0], m.query_fp_gt[0]),
            (false, false, true)
        );
    }

    #[test]
    fn shifted_indels_in_a_repeat_match_without_left_alignment() {
        // One AT of an AT repeat deleted, written at the repeat's start and at its end (edits made
        // by hand, not left-aligned): the haplotypes are the same.
        let contig = b"GCATATATGC";
        let right = Unit {
            call: 0,
            alleles: vec![Edit {
                start: 6,
                end: 8,
                seq: vec![],
            }],
            haps: [None, Some(0)],
            start: 6,
            end: 8,
        };
        let left = Unit {
            alleles: vec![Edit {
                start: 2,
                end: 4,
                seq: vec![],
            }],
            start: 2,
            end: 4,
            ..right.clone()
        };
        let m = run(contig, &[left], &[right]);
        assert_eq!((m.truth_tp[0], m.query_tp[0]), (true, true));
    }

    #[test]
    fn conflicting_calls_on_one_haplotype_cannot_both_match() {
        // Truth: hom-alt SNP. Query: the same SNP plus an overlapping hom-alt deletion.
        let t = units(REF, &[(20, "T", &["A"], [1, 1])]);
        let q = units(
            REF,
            &[(19, "ATC", &["A"], [1, 1]), (20, "T", &["A"], [1, 1])],
        );
        let m = run(REF, &t, &q);
        assert_eq!(m.truth_tp, [true]);
        assert_eq!(m.query_tp.iter().filter(|&&x| x).count(), 1);
    }

    #[test]
    fn a_cluster_too_large_to_enumerate_is_split_and_still_matches() {
        let contig: Vec<u8> = b"ACGT".iter().cycle().take(400).copied().collect();
        let records: Vec<(i64, String, [u8; 2])> = (0..20)
            .map(|i| {
                (
                    1 + i * 12,
                    (contig[(i * 12) as usize] as char).to_string(),
                    [0, 1],
                )
            })
            .collect();
        let recs: Vec<(i64, &str, &[&str], [u8; 2])> = records
            .iter()
            .map(|(p, r, gt)| {
                (
                    *p,
                    r.as_str(),
                    if r == "A" { &["C"][..] } else { &["A"][..] },
                    *gt,
                )
            })
            .collect();
        let t = units(&contig, &recs);
        assert!(choices(t.iter(), false) > MAX_CHOICES);
        let m = run(&contig, &t, &t.clone());
        assert!(m.truth_tp.iter().all(|&x| x));
    }
}
