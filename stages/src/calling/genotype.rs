//! From the model's three-class outputs to a diploid genotype call, as DeepVariant's
//! `postprocess_variants` does it.
//!
//! A site with `n` alt alleles has one example per alt subset ([`alt_combinations`]: each alt alone,
//! then each pair), and the model gives each example P(the subset's alleles are absent / on one
//! haplotype / on both). [`merge`] turns these into one probability per diploid genotype over the
//! reference and the alts, in VCF order: a genotype draws on every example whose subset holds all of
//! its alt alleles (class = how many of its two alleles are alts), takes the smallest of those
//! probabilities, and the genotypes are renormalized. Before that, an alt whose example on its own
//! gives it a QUAL below `multi_allelic_qual_filter` is dropped with every genotype and example that
//! involve it, unless all alts would be dropped (then the best one stays). A biallelic site keeps its
//! one example's probabilities. [`call`] picks the most likely genotype and computes GQ, QUAL, PL and
//! the filter (RefCall for 0/0, LowQual under `qual_filter`, else PASS); a RefCall whose GQ is below
//! `min_homref_gq` is written as `./.`.

use anyhow::{bail, Result};

use crate::data::tensorize::candidates::alt_combinations;

/// The smallest probability taken a logarithm of (one minus DeepVariant's `_MAX_CONFIDENCE`): phred
/// scores are capped at 150.
const MIN_PROBABILITY: f64 = 1e-15;

/// One example's output: its alt subset (indices into the site's alts) and its class probabilities.
#[derive(Debug, Clone, PartialEq)]
pub struct SubsetCall {
    /// Alt indices of the example, ascending.
    pub alts: Vec<usize>,
    /// P(hom-ref), P(het), P(hom-alt) for the subset.
    pub p: [f64; 3],
}

/// A site's merged genotype probabilities.
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    /// The alts kept, as indices into the site's alts, ascending.
    pub kept: Vec<usize>,
    /// One probability per genotype over the reference and the kept alts, in VCF order
    /// ([`genotypes`]), summing to 1.
    pub probabilities: Vec<f64>,
}

/// The diploid genotypes over `alleles` alleles in VCF order: `(a, b)` with `a <= b`, by `b` then `a`
/// (0/0, 0/1, 1/1, 0/2, 1/2, 2/2, ...).
pub fn genotypes(alleles: usize) -> Vec<(usize, usize)> {
    (0..alleles)
        .flat_map(|b| (0..=b).map(move |a| (a, b)))
        .collect()
}

/// `-10 log10(1 - p)`, with `1 - p` at least [`MIN_PROBABILITY`].
fn phred_of_true(p: f64) -> f64 {
    -10.0 * (1.0 - p).clamp(MIN_PROBABILITY, 1.0).log10()
}

/// QUAL of a genotype distribution: the phred-scaled probability that the site is not 0/0.
fn qual(probabilities: &[f64]) -> f64 {
    phred_of_true(probabilities[1..].iter().sum::<f64>().min(1.0))
}

/// Merges the outputs of a site with `n_alts` alts (one per subset of [`alt_combinations`], in any
/// order) into genotype probabilities. The error says which subsets are missing or extra.
pub fn merge(
    n_alts: usize,
    outputs: &[SubsetCall],
    multi_allelic_qual_filter: f64,
) -> Result<Merged> {
    let mut have: Vec<Vec<usize>> = outputs.iter().map(|o| o.alts.clone()).collect();
    have.sort();
    let mut want = alt_combinations(n_alts);
    want.sort();
    if have != want {
        bail!(
            "the site has examples for alt subsets {have:?}; {n_alts} alts need exactly {want:?}"
        );
    }
    if n_alts == 1 {
        return Ok(Merged {
            kept: vec![0],
            probabilities: outputs[0].p.to_vec(),
        });
    }
    let kept = kept_alts(n_alts, outputs, multi_allelic_qual_filter);
    // Allele k of the merged site is the reference (0) or alt kept[k - 1].
    let allele = |k: usize| (k > 0).then(|| kept[k - 1]);
    let usable: Vec<&SubsetCall> = outputs
        .iter()
        .filter(|o| o.alts.iter().all(|a| kept.contains(a)))
        .collect();
    let mut probabilities: Vec<f64> = genotypes(kept.len() + 1)
        .into_iter()
        .map(|(a, b)| {
            let alts: Vec<usize> = [allele(a), allele(b)].into_iter().flatten().collect();
            usable
                .iter()
                .filter(|o| alts.iter().all(|x| o.alts.contains(x)))
                .map(|o| o.p[alts.len()])
                .fold(f64::INFINITY, f64::min)
        })
        .collect();
    let total: f64 = probabilities.iter().sum();
    if total > 0.0 && total.is_finite() {
        probabilities.iter_mut().for_each(|p| *p /= total);
    } else {
        let k = probabilities.len() as f64;
        probabilities.iter_mut().for_each(|p| *p = 1.0 / k);
    }
    Ok(Merged {
        kept,
        probabilities,
    })
}

/// The alts whose single-alt example gives a QUAL of at least `min_qual`; when none does, the one
/// with the highest QUAL (the first of equals).
fn kept_alts(n_alts: usize, outputs: &[SubsetCall], min_qual: f64) -> Vec<usize> {
    let mut quals = vec![f64::NEG_INFINITY; n_alts];
    for o in outputs.iter().filter(|o| o.alts.len() == 1) {
        quals[o.alts[0]] = qual(&o.p);
    }
    let kept: Vec<usize> = (0..n_alts).filter(|&a| quals[a] >= min_qual).collect();
    if !kept.is_empty() {
        return kept;
    }
    let best = (0..n_alts).fold(0, |best, a| if quals[a] > quals[best] { a } else { best });
    vec![best]
}

/// The VCF FILTER of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    /// A variant call with QUAL at least the threshold.
    Pass,
    /// The most likely genotype is 0/0.
    RefCall,
    /// A variant call with QUAL below the threshold.
    LowQual,
}

impl Filter {
    /// The FILTER value.
    pub fn name(self) -> &'static str {
        match self {
            Filter::Pass => "PASS",
            Filter::RefCall => "RefCall",
            Filter::LowQual => "LowQual",
        }
    }
}

/// A genotype call of one site.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The genotype's two allele indices (0 the reference), `None` for `./.`.
    pub genotype: Option<(usize, usize)>,
    /// GQ: the phred-scaled confidence in the most likely genotype, rounded.
    pub gq: i32,
    /// QUAL: the phred-scaled probability that the site is not 0/0.
    pub qual: f64,
    /// PL: per genotype (VCF order), `-10 log10(p)` relative to the most likely one, rounded.
    pub pl: Vec<i32>,
    /// FILTER.
    pub filter: Filter,
}

/// Thresholds of [`call`] (DeepVariant's defaults in [`Default`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// Variant calls with QUAL below this are LowQual (`--qual_filter`, 1).
    pub qual_filter: f64,
    /// RefCalls with GQ below this get genotype `./.` (`--cnn_homref_call_min_gq`, 20).
    pub min_homref_gq: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            qual_filter: 1.0,
            min_homref_gq: 20.0,
        }
    }
}

/// The call from genotype `probabilities` in VCF order (at least three: 0/0, 0/1, 1/1).
pub fn call(probabilities: &[f64], t: Thresholds) -> Call {
    let order = genotypes(alleles_of(probabilities.len()));
    let best = (0..probabilities.len()).fold(0, |best, i| {
        if probabilities[i] > probabilities[best] {
            i
        } else {
            best
        }
    });
    let gq = phred_of_true(probabilities[best]).round() as i32;
    let qual = qual(probabilities);
    let log10: Vec<f64> = probabilities
        .iter()
        .map(|&p| p.max(MIN_PROBABILITY).log10())
        .collect();
    let top = log10.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let pl = log10
        .iter()
        .map(|&l| (-10.0 * (l - top)).round() as i32)
        .collect();
    let genotype = order[best];
    let filter = if genotype == (0, 0) {
        Filter::RefCall
    } else if qual < t.qual_filter {
        Filter::LowQual
    } else {
        Filter::Pass
    };
    let uncalled = filter == Filter::RefCall && f64::from(gq) < t.min_homref_gq;
    Call {
        genotype: (!uncalled).then_some(genotype),
        gq,
        qual,
        pl,
        filter,
    }
}

/// The number of alleles whose diploid genotypes number `genotypes` (1 + 2 + ... + alleles).
fn alleles_of(genotypes: usize) -> usize {
    let mut alleles = 0;
    while alleles * (alleles + 1) / 2 < genotypes {
        alleles += 1;
    }
    alleles
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12)
    }

    #[test]
    fn genotype_order_is_vcfs() {
        assert_eq!(genotypes(2), [(0, 0), (0, 1), (1, 1)]);
        assert_eq!(
            genotypes(3),
            [(0, 0), (0, 1), (1, 1), (0, 2), (1, 2), (2, 2)]
        );
        assert_eq!(alleles_of(6), 3);
    }

    #[test]
    fn a_biallelic_site_keeps_its_examples_probabilities() {
        let out = [SubsetCall {
            alts: vec![0],
            p: [0.01, 0.98, 0.01],
        }];
        let merged = merge(1, &out, 1.0).unwrap();
        assert_eq!(merged.kept, [0]);
        assert_eq!(merged.probabilities, [0.01, 0.98, 0.01]);
        let c = call(&merged.probabilities, Thresholds::default());
        assert_eq!(c.genotype, Some((0, 1)));
        assert_eq!(c.filter, Filter::Pass);
        // GQ: -10 log10(0.02) = 17.0; QUAL: -10 log10(0.01) = 20; PL relative to the het.
        assert_eq!(c.gq, 17);
        assert!((c.qual - 20.0).abs() < 1e-9);
        assert_eq!(c.pl, [20, 0, 20]);
    }

    #[test]
    fn two_alts_give_one_call_over_both_with_the_smallest_probability_of_each_genotype() {
        // Alt 0 alone looks het, alt 1 alone looks het, the pair looks hom-alt: 1/2.
        let out = [
            SubsetCall {
                alts: vec![0, 1],
                p: [0.01, 0.09, 0.9],
            },
            SubsetCall {
                alts: vec![0],
                p: [0.1, 0.8, 0.1],
            },
            SubsetCall {
                alts: vec![1],
                p: [0.2, 0.7, 0.1],
            },
        ];
        let merged = merge(2, &out, 1.0).unwrap();
        assert_eq!(merged.kept, [0, 1]);
        // 0/0: min(0.01, 0.1, 0.2); 0/1: min(0.09, 0.8); 1/1: min(0.9, 0.1); 0/2: min(0.09, 0.7);
        // 1/2: the pair's 0.9 alone; 2/2: min(0.9, 0.1).
        let raw = [0.01, 0.09, 0.1, 0.09, 0.9, 0.1];
        let total: f64 = raw.iter().sum();
        let want: Vec<f64> = raw.iter().map(|p| p / total).collect();
        assert!(close(&merged.probabilities, &want), "{merged:?}");
        let c = call(&merged.probabilities, Thresholds::default());
        assert_eq!(c.genotype, Some((1, 2)));
        assert_eq!(c.filter, Filter::Pass);
        assert_eq!(c.pl.len(), 6);
        assert_eq!(c.pl[4], 0);
    }

    #[test]
    fn an_alt_with_a_low_qual_alone_is_dropped_with_its_genotypes() {
        // Alt 1 alone: P(0/0) 0.9, QUAL 0.46 < 1: dropped; the site becomes biallelic over alt 0.
        let out = [
            SubsetCall {
                alts: vec![0],
                p: [0.05, 0.15, 0.8],
            },
            SubsetCall {
                alts: vec![1],
                p: [0.9, 0.05, 0.05],
            },
            SubsetCall {
                alts: vec![0, 1],
                p: [0.05, 0.15, 0.8],
            },
        ];
        let merged = merge(2, &out, 1.0).unwrap();
        assert_eq!(merged.kept, [0]);
        assert!(close(&merged.probabilities, &[0.05, 0.15, 0.8]));
        assert_eq!(
            call(&merged.probabilities, Thresholds::default()).genotype,
            Some((1, 1))
        );
        // When every alt is below the threshold the best one stays.
        let merged = merge(2, &out, 100.0).unwrap();
        assert_eq!(merged.kept, [0]);
    }

    #[test]
    fn refcalls_and_low_quals_are_filtered_as_deepvariant_does() {
        let t = Thresholds::default();
        let confident_ref = call(&[0.999, 0.0009, 0.0001], t);
        assert_eq!(confident_ref.filter, Filter::RefCall);
        assert_eq!(confident_ref.genotype, Some((0, 0)));
        assert_eq!(confident_ref.gq, 30);
        // A RefCall with GQ under 20 is written as ./.
        let unsure_ref = call(&[0.6, 0.3, 0.1], t);
        assert_eq!(
            (unsure_ref.filter, unsure_ref.genotype),
            (Filter::RefCall, None)
        );
        // A het call whose QUAL (-10 log10 0.45 = 3.5) is under a threshold of 5 is LowQual.
        let low = call(
            &[0.45, 0.5, 0.05],
            Thresholds {
                qual_filter: 5.0,
                ..t
            },
        );
        assert_eq!((low.filter, low.genotype), (Filter::LowQual, Some((0, 1))));
        // Probabilities of 0 and 1 stay finite: capped at 150.
        let sure = call(&[0.0, 0.0, 1.0], t);
        assert_eq!(sure.pl, [150, 150, 0]);
        assert!((sure.qual - 150.0).abs() < 1e-6);
    }

    #[test]
    fn missing_or_extra_subsets_are_an_error() {
        let one = |alts: Vec<usize>| SubsetCall {
            alts,
            p: [0.3, 0.4, 0.3],
        };
        let err = merge(2, &[one(vec![0]), one(vec![1])], 1.0).unwrap_err();
        assert!(
            err.to_string().contains("need exactly [[0], [0, 1], [1]]"),
            "{err}"
        );
        assert!(merge(1, &[one(vec![0]), one(vec![0])], 1.0).is_err());
    }
}
