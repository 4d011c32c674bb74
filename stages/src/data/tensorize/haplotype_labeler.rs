//! Labels from a truth VCF by haplotypes (DeepVariant's haplotype labeler, its default for training).
//!
//! A candidate's label does not need a truth record written like it: nearby candidates and truth
//! variants are grouped ([`group`]), and within a group the candidates get the genotypes whose two
//! haplotype sequences over the group's reference span equal those the truth genotypes make. A truth
//! deletion shifted within a repeat, or a truth MNP the candidates split into SNPs, so still labels
//! its candidates.
//!
//! As DeepVariant does it (`haplotype_labeler.py`):
//! - Truth records are those overlapping the partition, unfiltered, overlapping the confident regions
//!   and not hom-ref; a missing genotype allele (`.`) counts as reference. Not DeepVariant's there:
//!   it drops a `./1` record (the alleles sum to 0 with `.` as -1) and fails on an allele index past
//!   the record's alts, which counts as reference here.
//! - Candidates and truth records, merged by start (candidates first on a tie), are split greedily
//!   into groups: a variant joins the current group when some group member ends at most
//!   [`MAX_SEPARATION`] bp before it (`start - end + 1 <= 30`), the group has fewer than
//!   [`MAX_GROUP_SIZE`] variants of its type (candidate or truth) and the product of every member's
//!   genotype count stays under [`MAX_GT_OPTIONS_PRODUCT`]. Variants sharing an end always go
//!   together, and so does one whose end is not past the previous one's.
//! - A candidate takes any of its genotypes; a truth record its own genotype or one that misses some
//!   of its alts (`1/2` also `0/1`, `0/2`, `0/0`). For every assignment and phasing, each haplotype is
//!   the reference from one base before the group's first variant to 20 bp past its last end, with
//!   each variant's allele put in (an allele overlapping an earlier one's alt is impossible).
//! - Among the candidate assignments whose haplotype pair some truth assignment also makes, the one
//!   with the fewest false negatives (truth alt alleles left out), then false positives (candidates
//!   assigned 0/0) wins; on a tie the first found, candidates enumerated in DeepVariant's order (for
//!   one alt: 0/1, 1/1, 0/0) and for each haplotype pair the last truth assignment that makes it.
//! - A group without truth labels its candidates 0/0 (the all-reference assignment always matches).
//!
//! Not DeepVariant's: a group whose candidate (or truth) assignments number more than
//! [`MAX_ASSIGNMENTS`] (only reachable through variants forced together by their ends), or whose
//! span `reference` does not cover, is labelled positionally ([`labeler::candidate_genotype`])
//! instead of enumerated.

use std::collections::HashMap;

use anyhow::Result;

use super::candidates::Candidate;
use super::labeler::{self, Regions, Truth, TruthVariant};
use super::pileup::reference::{Reference, ReferenceSlice};

/// Most candidates (and, separately, truth records) in a group.
pub const MAX_GROUP_SIZE: usize = 8;
/// Most bases between a variant and the closest earlier one of its group.
pub const MAX_SEPARATION: i64 = 30;
/// A group stops growing when the product of its members' genotype counts would reach this.
pub const MAX_GT_OPTIONS_PRODUCT: f64 = 100_000.0;
/// Reference bases after a group's last end that its haplotypes include.
pub const REFERENCE_BUFFER: i64 = 20;
/// A group with more candidate (or truth) genotype assignments than this is labelled positionally.
pub const MAX_ASSIGNMENTS: f64 = MAX_GT_OPTIONS_PRODUCT;

/// A diploid genotype: two allele indices into `[ref] + alts`.
type Genotype = [usize; 2];

/// A candidate or truth record as the labeler sees it.
struct Variant<'a> {
    start: i64,
    end: i64,
    /// `[ref] + alts`.
    alleles: Vec<&'a str>,
    /// A truth record (else a candidate).
    is_truth: bool,
    /// Index into the candidate or truth slice.
    index: usize,
}

impl Variant<'_> {
    /// The number of unphased genotypes of the variant's alleles.
    fn genotype_count(&self) -> f64 {
        let n = self.alleles.len() as f64;
        n * (n + 1.0) / 2.0
    }
}

/// The genotype of each of a partition's candidates (sorted by start, inside `[start, end)` on
/// `contig`) from the truth records overlapping the partition and the confident regions (all of them
/// without `confident`), as DeepVariant takes them: a record overlapping two partitions labels the
/// candidates of both; a candidate whose truth is written starting in the next partition is labelled
/// without it.
pub fn partition_genotypes(
    truth: &mut Truth,
    reference: &mut Reference,
    confident: Option<&Regions>,
    (contig, start, end): (&str, i64, i64),
    candidates: &[Candidate],
) -> Result<Vec<Vec<usize>>> {
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    let mut truths: Vec<TruthVariant> = truth
        .query_overlapping(contig, start, end)?
        .into_iter()
        .filter(|t| {
            let t_end = t.start + t.ref_bases.len() as i64;
            confident.is_none_or(|r| r.overlaps(contig, t.start, t_end))
        })
        .collect();
    truths.sort_by_key(|t| t.start);
    let starts = candidates.iter().map(|c| c.start);
    let ends = candidates.iter().map(Candidate::end);
    let lo = starts
        .chain(truths.iter().map(|t| t.start))
        .min()
        .unwrap_or(start)
        - 1;
    let hi = ends
        .chain(truths.iter().map(|t| t.start + t.ref_bases.len() as i64))
        .max()
        .unwrap_or(end)
        + REFERENCE_BUFFER;
    let contig_len = reference.length(contig).unwrap_or(hi);
    let slice = reference.slice(contig, lo.max(0), hi.min(contig_len))?;
    Ok(haplotype_genotypes(candidates, &truths, &slice))
}

/// The genotype of each candidate (indices into `[ref] + alts`, like
/// [`labeler::candidate_genotype`]) that makes the haplotypes of `truth`; `candidates` and `truth`
/// sorted by start, on one contig. `reference` must cover one base before the first variant to
/// [`REFERENCE_BUFFER`] bp past the last end, except where the contig ends (its last base is the
/// slice's).
pub fn haplotype_genotypes(
    candidates: &[Candidate],
    truth: &[TruthVariant],
    reference: &ReferenceSlice,
) -> Vec<Vec<usize>> {
    let mut variants: Vec<Variant> = Vec::with_capacity(candidates.len() + truth.len());
    for (index, c) in candidates.iter().enumerate() {
        let mut alleles = vec![c.ref_bases.as_str()];
        alleles.extend(c.alts.iter().map(String::as_str));
        variants.push(Variant {
            start: c.start,
            end: c.end(),
            alleles,
            is_truth: false,
            index,
        });
    }
    for (index, t) in truth.iter().enumerate() {
        if t.ref_bases.is_empty() || truth_genotype(t) == [0, 0] {
            continue;
        }
        let mut alleles = vec![t.ref_bases.as_str()];
        alleles.extend(t.alts.iter().map(String::as_str));
        variants.push(Variant {
            start: t.start,
            end: t.start + t.ref_bases.len() as i64,
            alleles,
            is_truth: true,
            index,
        });
    }
    // A stable sort: candidates (pushed first) before truth records at the same start.
    variants.sort_by_key(|v| v.start);

    let mut genotypes = vec![vec![0, 0]; candidates.len()];
    for members in group(&variants) {
        let (cands, truths): (Vec<&Variant>, Vec<&Variant>) = members
            .iter()
            .map(|&i| &variants[i])
            .partition(|v| !v.is_truth);
        if cands.is_empty() || truths.is_empty() {
            continue;
        }
        let candidate_assignments: f64 = cands.iter().map(|v| v.genotype_count()).product();
        let truth_assignments: f64 = truths.iter().map(|v| v.genotype_count()).product();
        let best = if candidate_assignments.max(truth_assignments) > MAX_ASSIGNMENTS {
            None
        } else {
            best_match(&cands, &truths, truth, reference)
        };
        for (k, v) in cands.iter().enumerate() {
            genotypes[v.index] = match &best {
                Some(best) => best[k].to_vec(),
                None => {
                    let at = truth.iter().find(|t| t.start == v.start);
                    labeler::candidate_genotype(&candidates[v.index], at)
                }
            };
        }
    }
    genotypes
}

/// The truth record's genotype with `.`, and an allele past its alts, as reference (haploid calls
/// padded with reference).
fn truth_genotype(t: &TruthVariant) -> Genotype {
    let allele = |i: usize| {
        t.genotype
            .get(i)
            .copied()
            .flatten()
            .filter(|&a| a <= t.alts.len())
            .unwrap_or(0)
    };
    [allele(0), allele(1)]
}

/// DeepVariant's greedy grouping of `variants` (sorted by start): indices into it, group by group.
fn group(variants: &[Variant]) -> Vec<Vec<usize>> {
    let joins = |group: &[usize], v: &Variant, product: f64| {
        if group.is_empty() {
            return true;
        }
        if product >= MAX_GT_OPTIONS_PRODUCT {
            return false;
        }
        let same_type = group
            .iter()
            .filter(|&&g| variants[g].is_truth == v.is_truth)
            .count();
        same_type < MAX_GROUP_SIZE
            && group
                .iter()
                .any(|&g| v.start - variants[g].end < MAX_SEPARATION)
    };
    let mut groups = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    let mut product = 1.0;
    let mut previous_end = 0;
    let mut i = 0;
    while i < variants.len() {
        // Consecutive variants with the same end move together.
        let mut j = i + 1;
        while j < variants.len() && variants[j].end == variants[i].end {
            j += 1;
        }
        let block: Vec<usize> = (i..j).collect();
        let block_product: f64 = block
            .iter()
            .map(|&k| variants[k].genotype_count())
            .product();
        let grown = product * block_product;
        let forced = variants[i].end - previous_end <= 0;
        if forced || block.iter().all(|&k| joins(&current, &variants[k], grown)) {
            current.extend(block);
            product = grown;
        } else {
            groups.push(std::mem::replace(&mut current, block));
            product = block_product;
        }
        previous_end = variants[i].end;
        i = j;
    }
    if !current.is_empty() {
        groups.push(current);
    }
    groups
}

/// Two haplotypes, the smaller first (an unordered pair).
type HaplotypePair = (Vec<u8>, Vec<u8>);

/// The group's reference span: one base before its first start to [`REFERENCE_BUFFER`] past its
/// last end, inside `reference`.
struct Span<'a> {
    start: i64,
    end: i64,
    reference: &'a ReferenceSlice,
}

impl Span<'_> {
    fn bases(&self, start: i64, end: i64) -> &[u8] {
        let at = |p: i64| (p - self.reference.start) as usize;
        &self.reference.bases[at(start)..at(end)]
    }

    /// The haplotype the variants make with `alleles` (one per variant), or `None` when an alt
    /// allele starts inside an earlier variant's allele.
    fn haplotype(&self, variants: &[&Variant], alleles: &[usize]) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity((self.end - self.start) as usize);
        let mut pos = self.start;
        for (v, &a) in variants.iter().zip(alleles) {
            if v.start < pos {
                if a != 0 {
                    return None;
                }
                continue;
            }
            out.extend_from_slice(self.bases(pos, v.start));
            if a == 0 {
                // Only the first reference base: a later variant may start inside this one.
                out.push(v.alleles[0].as_bytes()[0]);
                pos = v.start + 1;
            } else {
                out.extend_from_slice(v.alleles[a].as_bytes());
                pos = v.end;
            }
        }
        if pos < self.end {
            out.extend_from_slice(self.bases(pos, self.end));
        }
        Some(out)
    }

    /// Every haplotype pair the genotypes (one per variant) make, over all phasings.
    fn pairs(&self, variants: &[&Variant], genotypes: &[Genotype]) -> Vec<HaplotypePair> {
        let hets: Vec<usize> = (0..genotypes.len())
            .filter(|&k| genotypes[k][0] != genotypes[k][1])
            .collect();
        // The first heterozygous variant's phase is fixed: swapping every phase gives the same pair.
        let phasings = 1usize << hets.len().saturating_sub(1);
        let mut out = Vec::with_capacity(phasings);
        let mut first: Vec<usize> = genotypes.iter().map(|g| g[0]).collect();
        let mut second: Vec<usize> = genotypes.iter().map(|g| g[1]).collect();
        for mask in 0..phasings {
            for (bit, &k) in hets.iter().skip(1).enumerate() {
                let swap = mask >> bit & 1 == 1;
                let [a, b] = genotypes[k];
                (first[k], second[k]) = if swap { (b, a) } else { (a, b) };
            }
            let (Some(h1), Some(h2)) = (
                self.haplotype(variants, &first),
                self.haplotype(variants, &second),
            ) else {
                continue;
            };
            out.push(if h1 <= h2 { (h1, h2) } else { (h2, h1) });
        }
        out
    }
}

/// Every element of the product of `options`, the first slowest varying.
fn assignments(options: &[Vec<Genotype>]) -> Vec<Vec<Genotype>> {
    let mut out = vec![Vec::with_capacity(options.len())];
    for opts in options {
        out = out
            .into_iter()
            .flat_map(|prefix| {
                opts.iter().map(move |&g| {
                    let mut next = prefix.clone();
                    next.push(g);
                    next
                })
            })
            .collect();
    }
    out
}

/// A candidate's genotypes in the order DeepVariant enumerates them: every non-reference genotype
/// (`0/1, 1/1, 0/2, 1/2, 2/2, ...`), then `0/0`.
fn candidate_options(v: &Variant) -> Vec<Genotype> {
    let n = v.alleles.len();
    let mut out: Vec<Genotype> = (1..n).flat_map(|j| (0..=j).map(move |i| [i, j])).collect();
    out.push([0, 0]);
    out
}

/// A truth record's genotype and those missing some of its alts, sorted.
fn truth_options(gt: Genotype) -> Vec<Genotype> {
    let mut out = vec![[0, 0], gt];
    out.extend(gt.iter().filter(|&&a| a > 0).map(|&a| [0, a]));
    out.sort_unstable();
    out.dedup();
    out
}

/// The best candidate genotypes (one per candidate) of a group, or `None` when no assignment makes
/// the truth's haplotypes (not reachable: all-reference always does).
fn best_match(
    cands: &[&Variant],
    truths: &[&Variant],
    truth: &[TruthVariant],
    reference: &ReferenceSlice,
) -> Option<Vec<Genotype>> {
    let first = cands.iter().chain(truths).map(|v| v.start).min()?;
    let last = cands.iter().chain(truths).map(|v| v.end).max()?;
    let slice_end = reference.start + reference.bases.len() as i64;
    let span = Span {
        start: (first - 1).max(reference.start),
        end: (last + REFERENCE_BUFFER).min(slice_end),
        reference,
    };
    if span.start > first || span.end < last {
        return None;
    }
    let originals: Vec<Genotype> = truths
        .iter()
        .map(|v| truth_genotype(&truth[v.index]))
        .collect();
    // Haplotype pair -> the false negatives of the last truth assignment that makes it.
    let mut truth_pairs: HashMap<HaplotypePair, usize> = HashMap::new();
    let options: Vec<Vec<Genotype>> = originals.iter().map(|&g| truth_options(g)).collect();
    for assigned in assignments(&options) {
        let false_negatives = originals
            .iter()
            .zip(&assigned)
            .map(|(o, a)| zeros(a).saturating_sub(zeros(o)))
            .sum();
        for pair in span.pairs(truths, &assigned) {
            truth_pairs.insert(pair, false_negatives);
        }
    }
    // Matched pairs in the order first found, each with the candidate assignments that make it.
    let mut slots: HashMap<HaplotypePair, usize> = HashMap::new();
    let mut matched: Vec<(usize, Vec<usize>)> = Vec::new();
    let options: Vec<Vec<Genotype>> = cands.iter().map(|v| candidate_options(v)).collect();
    let candidate_assignments = assignments(&options);
    for (k, assigned) in candidate_assignments.iter().enumerate() {
        for pair in span.pairs(cands, assigned) {
            let Some(&false_negatives) = truth_pairs.get(&pair) else {
                continue;
            };
            let slot = *slots.entry(pair).or_insert_with(|| {
                matched.push((false_negatives, Vec::new()));
                matched.len() - 1
            });
            matched[slot].1.push(k);
        }
    }
    let false_positives = |k: usize| {
        candidate_assignments[k]
            .iter()
            .filter(|g| **g == [0, 0])
            .count()
    };
    matched
        .iter()
        .flat_map(|(fnegs, ks)| ks.iter().map(move |&k| ((*fnegs, false_positives(k)), k)))
        .min_by_key(|&(score, _)| score)
        .map(|(_, k)| candidate_assignments[k].clone())
}

/// How many alleles of `g` are reference.
fn zeros(g: &Genotype) -> usize {
    g.iter().filter(|&&a| a == 0).count()
}

#[cfg(test)]
#[path = "haplotype_labeler_tests.rs"]
mod tests;
