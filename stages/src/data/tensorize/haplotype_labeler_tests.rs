use super::*;
use crate::data::tensorize::candidates::alt_combinations;
use crate::data::tensorize::labeler::{candidate_genotype, label};

/// 0-based position of the reference's first base.
const START: i64 = 1000;

/// 200 bp of pseudo-random reference starting at [`START`], with `AAAAAA` at 1050..1056.
fn reference() -> ReferenceSlice {
    let mut state = 12345u32;
    let mut bases: Vec<u8> = (0..200)
        .map(|_| {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            b"ACGT"[(state >> 16) as usize % 4]
        })
        .collect();
    bases[49] = b'C';
    bases[50..56].copy_from_slice(b"AAAAAA");
    bases[56] = b'G';
    ReferenceSlice {
        start: START,
        bases,
    }
}

fn base(pos: i64) -> String {
    (reference().base(pos) as char).to_string()
}

fn candidate(start: i64, ref_bases: &str, alts: &[&str]) -> Candidate {
    Candidate {
        start,
        ref_bases: ref_bases.into(),
        alts: alts.iter().map(|a| a.to_string()).collect(),
        support: vec![Vec::new(); alts.len()],
        alt_depths: vec![0; alts.len()],
        depth: 0,
        ref_support: 0,
    }
}

fn truth(start: i64, ref_bases: &str, alts: &[&str], gt: [usize; 2]) -> TruthVariant {
    TruthVariant {
        start,
        ref_bases: ref_bases.into(),
        alts: alts.iter().map(|a| a.to_string()).collect(),
        genotype: gt.iter().map(|&a| Some(a)).collect(),
    }
}

/// A SNP at `pos` to the first base that is not the reference's.
fn snp(pos: i64) -> (String, String) {
    let r = base(pos);
    let alt = ["A", "C", "G", "T"].into_iter().find(|b| *b != r).unwrap();
    (r, alt.to_string())
}

fn labels(genotype: &[usize], alts: usize) -> Vec<i8> {
    alt_combinations(alts)
        .iter()
        .map(|a| label(genotype, a))
        .collect()
}

#[test]
fn a_deletion_written_elsewhere_in_a_homopolymer_gets_the_truths_label() {
    let reference = reference();
    // The candidate deletes the run's first A (anchored on the C before it), the truth its last.
    let c = candidate(1049, "CA", &["C"]);
    let t = truth(1054, "AA", &["A"], [0, 1]);
    let g = haplotype_genotypes(
        std::slice::from_ref(&c),
        std::slice::from_ref(&t),
        &reference,
    );
    assert_eq!(labels(&g[0], 1), [1]);
    // The positional labeler finds no truth record at the candidate's position.
    let at = [t.clone()].into_iter().find(|t| t.start == c.start);
    assert_eq!(labels(&candidate_genotype(&c, at.as_ref()), 1), [0]);
    // Homozygous, and with the truth written at the run's start instead.
    let t = truth(1049, "CA", &["C"], [1, 1]);
    let c = candidate(1053, "AA", &["A"]);
    let g = haplotype_genotypes(&[c], &[t], &reference);
    assert_eq!(labels(&g[0], 1), [2]);
}

#[test]
fn a_candidate_without_truth_is_hom_ref() {
    let reference = reference();
    let (r, a) = snp(1100);
    let c = candidate(1100, &r, &[&a]);
    assert_eq!(
        haplotype_genotypes(std::slice::from_ref(&c), &[], &reference),
        [[0, 0]]
    );
    // A truth SNP elsewhere in the group does not make it a variant.
    let (r2, a2) = snp(1105);
    let t = truth(1105, &r2, &[&a2], [0, 1]);
    assert_eq!(haplotype_genotypes(&[c], &[t], &reference), [[0, 0]]);
}

#[test]
fn het_and_hom_alt_truth_snps_label_1_and_2() {
    let reference = reference();
    let (r1, a1) = snp(1100);
    let (r2, a2) = snp(1110);
    let (r3, a3) = snp(1180);
    let cands = [
        candidate(1100, &r1, &[&a1]),
        candidate(1110, &r2, &[&a2]),
        candidate(1180, &r3, &[&a3]),
    ];
    let truths = [
        truth(1100, &r1, &[&a1], [0, 1]),
        truth(1110, &r2, &[&a2], [1, 1]),
        truth(1180, &r3, &[&a3], [1, 0]),
    ];
    let g = haplotype_genotypes(&cands, &truths, &reference);
    let got: Vec<Vec<i8>> = g.iter().map(|g| labels(g, 1)).collect();
    assert_eq!(got, [[1], [2], [1]]);
}

#[test]
fn snps_that_make_one_truth_mnp_are_both_labelled() {
    let reference = reference();
    let (r1, a1) = snp(1120);
    let (r2, a2) = snp(1121);
    let mnp = truth(1120, &(r1.clone() + &r2), &[&(a1.clone() + &a2)], [0, 1]);
    let cands = [candidate(1120, &r1, &[&a1]), candidate(1121, &r2, &[&a2])];
    let g = haplotype_genotypes(&cands, std::slice::from_ref(&mnp), &reference);
    assert_eq!(labels(&g[0], 1), [1]);
    assert_eq!(labels(&g[1], 1), [1]);
    // A complex truth allele (a SNP, a base kept, 3 deleted) split into a SNP and a deletion.
    let (r, a) = snp(1130);
    let ref_bases: String = (1130..1135).map(base).collect();
    let complex = truth(1130, &ref_bases, &[&(a.clone() + &base(1131))], [1, 1]);
    let deleted: String = (1131..1135).map(base).collect();
    let cands = [
        candidate(1130, &r, &[&a]),
        candidate(1131, &deleted, &[&base(1131)]),
    ];
    let g = haplotype_genotypes(&cands, &[complex], &reference);
    assert_eq!(labels(&g[0], 1), [2]);
    assert_eq!(labels(&g[1], 1), [2]);
}

#[test]
fn a_multi_allelic_candidate_gets_both_truth_alts() {
    let reference = reference();
    let r = base(1140);
    let alts: Vec<&str> = ["A", "C", "G", "T"]
        .into_iter()
        .filter(|b| *b != r)
        .collect();
    let c = candidate(1140, &r, &[alts[0], alts[1]]);
    let t = truth(1140, &r, &[alts[1], alts[0]], [1, 2]);
    let g = haplotype_genotypes(std::slice::from_ref(&c), &[t], &reference);
    assert_eq!(labels(&g[0], 2), [1, 1, 2]);
    // Only the second alt is in the truth: the candidate is 0/2.
    let t = truth(1140, &r, &[alts[1]], [0, 1]);
    let g = haplotype_genotypes(&[c], &[t], &reference);
    assert_eq!(labels(&g[0], 2), [0, 1, 1]);
}

#[test]
fn a_truth_allele_no_candidate_makes_leaves_the_candidates_hom_ref() {
    let reference = reference();
    let (r, a) = snp(1150);
    let other = ["A", "C", "G", "T"]
        .into_iter()
        .find(|b| *b != r && *b != a)
        .unwrap();
    let c = candidate(1150, &r, &[&a]);
    let t = truth(1150, &r, &[other], [1, 1]);
    assert_eq!(haplotype_genotypes(&[c], &[t], &reference), [[0, 0]]);
}

#[test]
fn malformed_truth_genotypes_count_as_reference() {
    let reference = reference();
    let (r, a) = snp(1160);
    let c = candidate(1160, &r, &[&a]);
    // Allele 2 of a record with one alt, and a missing allele: 0/1.
    let mut t = truth(1160, &r, &[&a], [2, 1]);
    assert_eq!(
        haplotype_genotypes(std::slice::from_ref(&c), &[t.clone()], &reference),
        [[0, 1]]
    );
    t.genotype = vec![None, Some(1)];
    assert_eq!(
        haplotype_genotypes(std::slice::from_ref(&c), &[t.clone()], &reference),
        [[0, 1]]
    );
    // A haploid call.
    t.genotype = vec![Some(1)];
    assert_eq!(
        haplotype_genotypes(std::slice::from_ref(&c), &[t], &reference),
        [[0, 1]]
    );
}

#[test]
fn groups_split_past_30_bp_and_at_8_variants_of_a_type() {
    let v = |start: i64, end: i64, is_truth: bool| Variant {
        start,
        end,
        alleles: vec!["A", "C"],
        is_truth,
        index: 0,
    };
    // 30 bp from the end of one (exclusive) to the start of the next still joins; 31 does not.
    let variants = [v(100, 101, false), v(130, 131, true), v(161, 162, false)];
    assert_eq!(group(&variants), [vec![0, 1], vec![2]]);
    // Nine candidates 1 bp apart: the ninth starts a new group, truth records still join.
    let mut variants: Vec<Variant> = (0..9).map(|i| v(100 + i, 101 + i, false)).collect();
    variants.push(v(109, 110, true));
    assert_eq!(group(&variants), [(0..8).collect::<Vec<_>>(), vec![8, 9]]);
    // Variants sharing an end stay together whatever the limits.
    let variants: Vec<Variant> = (0..10).map(|i| v(100 - i, 101, false)).rev().collect();
    assert_eq!(group(&variants), [(0..10).collect::<Vec<_>>()]);
}

#[test]
fn groups_stop_before_100000_genotype_combinations() {
    // DeepVariant's exome case: genotype counts 10, 6, 6, 3, 15, 15, 6, 6; the second and third
    // share an end. 10 * 36 * 3 * 15 = 16,200, times 15 would pass 100,000.
    let alleles: [&[&str]; 8] = [
        &["A", "C", "G", "T"],
        &["GA", "G", "TA"],
        &["A", "C", "T"],
        &["T", "G"],
        &["G", "C", "GC", "GT", "T"],
        &["G", "A", "C", "GT", "T"],
        &["A", "C", "T"],
        &["G", "C", "T"],
    ];
    let starts = [921, 925, 926, 927, 930, 931, 934, 937];
    let variants: Vec<Variant> = starts
        .iter()
        .zip(alleles)
        .map(|(&start, alleles)| Variant {
            start,
            end: start + alleles[0].len() as i64,
            alleles: alleles.to_vec(),
            is_truth: false,
            index: 0,
        })
        .collect();
    let sizes: Vec<usize> = group(&variants).iter().map(Vec::len).collect();
    assert_eq!(sizes, [5, 3]);
}

/// A labelling case: the reference (bases from `start`), candidates and truth records as
/// `(start, [ref, alts...])` (truth with its genotype), and the candidates' expected genotypes.
struct Case<'a> {
    reference: (&'a str, i64),
    candidates: &'a [(i64, &'a [&'a str])],
    truth: &'a [(i64, &'a [&'a str], [usize; 2])],
    expected: &'a [[usize; 2]],
}

impl Case<'_> {
    fn check(&self, name: &str) {
        let reference = ReferenceSlice {
            start: self.reference.1,
            bases: self.reference.0.as_bytes().to_vec(),
        };
        let cands: Vec<Candidate> = self
            .candidates
            .iter()
            .map(|(s, a)| candidate(*s, a[0], &a[1..]))
            .collect();
        let truths: Vec<TruthVariant> = self
            .truth
            .iter()
            .map(|(s, a, gt)| truth(*s, a[0], &a[1..], *gt))
            .collect();
        let got = haplotype_genotypes(&cands, &truths, &reference);
        let want: Vec<Vec<usize>> = self.expected.iter().map(|g| g.to_vec()).collect();
        assert_eq!(got, want, "{name}");
    }
}

/// Cases of DeepVariant's own tests (`haplotype_labeler_test.py`), most from real call sets.
#[test]
fn deepvariants_labelling_cases_get_its_genotypes() {
    let cases = [
        (
            "a truth SNP written as an insertion and a deletion",
            Case {
                reference: ("AACTGAAAAAAAAAAAAAAAAAAAAAAAAA", 0),
                candidates: &[(1, &["A", "AG"]), (2, &["CT", "T"])],
                truth: &[(2, &["C", "G"], [0, 1])],
                expected: &[[0, 1], [0, 1]],
            },
        ),
        (
            "a deletion and an insertion making three truth records",
            Case {
                reference: ("xATAGTTATC", 3528530),
                candidates: &[(3528531, &["ATAG", "A"]), (3528537, &["A", "ATT"])],
                truth: &[
                    (3528533, &["A", "T"], [1, 1]),
                    (3528534, &["G", "A"], [1, 1]),
                    (3528536, &["TA", "T"], [1, 1]),
                ],
                expected: &[[1, 1], [1, 1]],
            },
        ),
        (
            "a deletion and a SNP making a complex truth allele",
            Case {
                reference: ("xTCCCCCA", 4030066),
                candidates: &[(4030067, &["TC", "T"]), (4030072, &["C", "G"])],
                truth: &[(4030071, &["CC", "G"], [1, 1])],
                expected: &[[1, 1], [1, 1]],
            },
        ),
        (
            "four candidates making five truth records",
            Case {
                reference: ("xACATGGATGGA", 4568150),
                candidates: &[
                    (4568151, &["AC", "A"]),
                    (4568154, &["TG", "T"]),
                    (4568156, &["G", "T"]),
                    (4568157, &["A", "ATACCCTTT"]),
                ],
                truth: &[
                    (4568152, &["C", "A"], [1, 1]),
                    (4568153, &["A", "T"], [1, 1]),
                    (4568155, &["G", "A"], [1, 1]),
                    (4568156, &["G", "T"], [1, 1]),
                    (4568157, &["A", "ACCCTTT"], [1, 1]),
                ],
                expected: &[[1, 1], [1, 1], [1, 1], [1, 1]],
            },
        ),
        (
            "phased heterozygous truth on one haplotype",
            Case {
                reference: ("xCGTGAATGAAA", 1689632),
                candidates: &[
                    (1689633, &["C", "CT"]),
                    (1689635, &["TG", "T"]),
                    (1689638, &["ATG", "A"]),
                    (1689641, &["A", "ACAG"]),
                ],
                truth: &[
                    (1689633, &["C", "CT"], [1, 0]),
                    (1689636, &["G", "A"], [1, 0]),
                    (1689639, &["T", "C"], [1, 0]),
                    (1689640, &["G", "A"], [1, 0]),
                    (1689641, &["A", "G"], [1, 0]),
                ],
                expected: &[[0, 1], [0, 1], [0, 1], [0, 1]],
            },
        ),
        (
            "overlapping candidate deletions",
            Case {
                reference: ("xAATT", 2525695),
                candidates: &[(2525696, &["AAT", "A"]), (2525697, &["AT", "T"])],
                truth: &[(2525696, &["AAT", "A"], [0, 1])],
                expected: &[[0, 1], [0, 0]],
            },
        ),
        (
            "the multi-allelic candidate's second alt makes the truth SNP",
            Case {
                reference: ("CGCCCCATACCTTTT", 279767),
                candidates: &[(279768, &["G", "C"]), (279773, &["ATA", "C", "CTA"])],
                truth: &[(279773, &["A", "C"], [0, 1])],
                expected: &[[0, 0], [0, 2]],
            },
        ),
        (
            "fewest false positives over the exact representation",
            Case {
                reference: ("AGACACACACACACAAAAAAAAATCAT", 214012389),
                candidates: &[
                    (214012390, &["G", "GAC"]),
                    (214012402, &["CAA", "C"]),
                    (214012404, &["A", "C"]),
                ],
                truth: &[(214012404, &["A", "C"], [1, 1])],
                expected: &[[0, 1], [0, 1], [0, 1]],
            },
        ),
        (
            "multi-allelic truth records across five candidates",
            Case {
                reference: ("TGTTTTTTTTTAAAAAAATTATTTCTTCTTT", 167012239),
                candidates: &[
                    (167012240, &["GT", "G"]),
                    (167012246, &["TTTT", "A"]),
                    (167012247, &["T", "A"]),
                    (167012248, &["T", "A"]),
                    (167012249, &["T", "A"]),
                ],
                truth: &[
                    (167012240, &["GTTT", "G", "GTT"], [1, 2]),
                    (167012249, &["T", "A", "TAA"], [1, 2]),
                ],
                expected: &[[1, 1], [0, 0], [0, 0], [0, 1], [1, 1]],
            },
        ),
        (
            "false positives count in the score",
            Case {
                reference: ("GGGTGTGTGTGTGTGTGTGTGTGTGTGCGTGTGTGTGTTTGTGTTG", 9508942),
                candidates: &[(9508943, &["GGT", "G"]), (9508967, &["T", "C", "TGC"])],
                truth: &[
                    (9508943, &["GGT", "G"], [0, 1]),
                    (9508967, &["T", "C", "TGC"], [1, 2]),
                ],
                expected: &[[0, 1], [1, 2]],
            },
        ),
        (
            "thirteen candidates around one truth SNP (too slow for DeepVariant's test suite)",
            Case {
                reference: (
                    "GCTGGAGGCGTGGGGACACCGGAACATAGGCCCCGCCCCGCCCCGACGC",
                    32274451,
                ),
                candidates: &[
                    (32274452, &["C", "G"]),
                    (32274453, &["T", "G"]),
                    (32274456, &["A", "G"]),
                    (32274459, &["C", "G"]),
                    (32274461, &["T", "G"]),
                    (32274465, &["GACA", "G"]),
                    (32274467, &["CA", "C"]),
                    (32274470, &["C", "G"]),
                    (32274473, &["A", "G"]),
                    (32274474, &["AC", "A"]),
                    (32274475, &["C", "A"]),
                    (32274477, &["T", "A"]),
                    (32274480, &["G", "C"]),
                ],
                truth: &[(32274470, &["C", "G"], [1, 1])],
                expected: &[
                    [0, 0],
                    [0, 0],
                    [0, 0],
                    [0, 0],
                    [0, 0],
                    [0, 0],
                    [0, 0],
                    [1, 1],
                    [0, 0],
                    [0, 0],
                    [0, 0],
                    [0, 0],
                    [0, 0],
                ],
            },
        ),
        (
            "variants at both ends of a contig",
            Case {
                reference: ("ACGT", 0),
                candidates: &[(0, &["A", "G"]), (3, &["T", "C", "TCCC"])],
                truth: &[(0, &["A", "G"], [1, 1]), (3, &["T", "C"], [0, 1])],
                expected: &[[1, 1], [0, 1]],
            },
        ),
    ];
    for (name, case) in &cases {
        case.check(name);
    }
}

#[test]
fn a_truth_with_other_alts_labels_the_candidates_alt_by_its_copies() {
    // Candidate A>C against truth alts G and C, and against an unrelated insertion candidate.
    for (gt, want) in [
        ([0, 2], [0, 1]),
        ([1, 2], [0, 1]),
        ([1, 1], [0, 0]),
        ([2, 2], [1, 1]),
    ] {
        Case {
            reference: ("xAy", 41),
            candidates: &[(42, &["A", "C"])],
            truth: &[(42, &["A", "G", "C"], gt)],
            expected: &[want],
        }
        .check(&format!("truth {gt:?}"));
    }
    for (gt, want) in [
        ([0, 1], [0, 2]),
        ([1, 1], [2, 2]),
        ([1, 2], [1, 2]),
        ([2, 2], [1, 1]),
    ] {
        Case {
            reference: ("xAy", 41),
            candidates: &[(42, &["A", "G", "C"])],
            truth: &[(42, &["A", "C", "G"], gt)],
            expected: &[want],
        }
        .check(&format!("multi-allelic truth {gt:?}"));
    }
}
