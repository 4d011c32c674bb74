//! Systematic sequencing errors: sites where reads of one strand repeatedly show the same wrong base at
//! low base quality, as Illumina's motif- and strand-specific errors do. In real data they, not
//! independent errors, are what make a caller's false candidates (the hom-ref examples): an independent
//! error almost never repeats often enough at one position to pass the candidate thresholds.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::genome::Genome;
use super::variants::{Variant, INSERTED};

/// No site closer than this to a truth variant, so the two never mix in one pileup column.
const VARIANT_MARGIN: usize = 10;
/// Fraction of the affected strand's reads that show the error, drawn uniformly per site.
const STRAND_RATE: std::ops::Range<f64> = 0.15..0.6;
/// Base qualities of the erroneous bases (Phred), drawn uniformly: low, as the sequencer reports them.
const ERROR_QUALITY: std::ops::RangeInclusive<u8> = 8..=22;

/// One systematic error site.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ErrorSite {
    /// 0-based reference position.
    pub pos: u32,
    /// The wrong base reads show.
    pub base: u8,
    /// Whether reads on the reverse strand (rather than the forward one) show it.
    pub reverse: bool,
    /// Probability that a read of that strand shows it.
    pub rate: f64,
}

/// The error sites of every contig, sorted by position.
#[derive(Debug, Clone, Default)]
pub struct ErrorSites {
    by_contig: Vec<Vec<ErrorSite>>,
}

impl ErrorSites {
    /// Draws about `rate` sites per base, away from the truth variants (sorted by contig and position).
    pub fn generate(genome: &Genome, truth: &[Variant], rate: f64, rng: &mut ChaCha8Rng) -> Self {
        let by_contig = genome
            .contigs
            .iter()
            .enumerate()
            .map(|(c, contig)| {
                let len = contig.seq.len();
                let count = (rate * len as f64).round() as usize;
                let variants: Vec<&Variant> = truth.iter().filter(|v| v.contig == c).collect();
                let near_variant = |pos: usize| {
                    // Sorted by position and at most MAX_INDEL long: look at the neighbours only.
                    let at = variants.partition_point(|v| v.pos + VARIANT_MARGIN < pos);
                    variants[at.saturating_sub(2)..].iter().take(4).any(|v| {
                        pos + VARIANT_MARGIN >= v.pos
                            && pos <= v.pos + v.ref_allele.len() + VARIANT_MARGIN
                    })
                };
                let mut sites: Vec<ErrorSite> = Vec::with_capacity(count);
                for _ in 0..count {
                    let pos = rng.random_range(0..len);
                    let reference = contig.seq[pos];
                    let others: Vec<u8> = b"ACGT"
                        .iter()
                        .copied()
                        .filter(|&b| b != reference)
                        .collect();
                    let site = ErrorSite {
                        pos: pos as u32,
                        base: others[rng.random_range(0..others.len())],
                        reverse: rng.random_bool(0.5),
                        rate: rng.random_range(STRAND_RATE),
                    };
                    if !near_variant(pos) && !sites.iter().any(|s| s.pos == site.pos) {
                        sites.push(site);
                    }
                }
                sites.sort_by_key(|s| s.pos);
                sites
            })
            .collect();
        Self { by_contig }
    }

    /// Number of sites over all contigs.
    pub fn len(&self) -> usize {
        self.by_contig.iter().map(Vec::len).sum()
    }

    /// Whether there are no sites.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Puts the errors of the sites a read covers into it: `ref_pos` is the reference position of every
    /// read base ([`INSERTED`] for inserted bases, which are left alone).
    pub fn apply(
        &self,
        contig: usize,
        ref_pos: &[u32],
        reverse: bool,
        seq: &mut [u8],
        qual: &mut [u8],
        rng: &mut ChaCha8Rng,
    ) {
        let Some(sites) = self.by_contig.get(contig) else {
            return;
        };
        let aligned = || ref_pos.iter().copied().filter(|&p| p != INSERTED);
        let (Some(first), Some(last)) = (aligned().min(), aligned().max()) else {
            return;
        };
        let from = sites.partition_point(|s| s.pos < first);
        for site in sites[from..].iter().take_while(|s| s.pos <= last) {
            if site.reverse != reverse {
                continue;
            }
            let Some(i) = ref_pos.iter().position(|&p| p == site.pos) else {
                continue;
            };
            if rng.random_bool(site.rate) {
                seq[i] = site.base;
                qual[i] = rng.random_range(ERROR_QUALITY);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn sites(list: Vec<ErrorSite>) -> ErrorSites {
        ErrorSites {
            by_contig: vec![list],
        }
    }

    #[test]
    fn errors_only_the_affected_strand_at_the_site() {
        let s = sites(vec![ErrorSite {
            pos: 12,
            base: b'T',
            reverse: false,
            rate: 1.0,
        }]);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let ref_pos: Vec<u32> = (10..20).collect();
        let (mut seq, mut qual) = (vec![b'A'; 10], vec![30u8; 10]);
        s.apply(0, &ref_pos, true, &mut seq, &mut qual, &mut rng);
        assert_eq!(seq, vec![b'A'; 10], "reverse reads are untouched");
        s.apply(0, &ref_pos, false, &mut seq, &mut qual, &mut rng);
        assert_eq!(seq[2], b'T');
        assert!(ERROR_QUALITY.contains(&qual[2]));
        assert_eq!(seq.iter().filter(|&&b| b == b'T').count(), 1);
    }

    #[test]
    fn inserted_bases_and_other_contigs_are_left_alone() {
        let s = sites(vec![ErrorSite {
            pos: 12,
            base: b'T',
            reverse: false,
            rate: 1.0,
        }]);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let ref_pos = [10, 11, INSERTED, INSERTED, 13];
        let (mut seq, mut qual) = (vec![b'A'; 5], vec![30u8; 5]);
        s.apply(0, &ref_pos, false, &mut seq, &mut qual, &mut rng);
        assert_eq!(seq, vec![b'A'; 5]);
        s.apply(1, &[12], false, &mut seq[..1], &mut qual[..1], &mut rng);
        assert_eq!(seq[0], b'A');
    }

    #[test]
    fn the_strand_rate_is_respected() {
        let s = sites(vec![ErrorSite {
            pos: 0,
            base: b'G',
            reverse: true,
            rate: 0.3,
        }]);
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let hits = (0..10_000)
            .filter(|_| {
                let (mut seq, mut qual) = ([b'A'], [30u8]);
                s.apply(0, &[0], true, &mut seq, &mut qual, &mut rng);
                seq[0] == b'G'
            })
            .count();
        assert!((2_700..3_300).contains(&hits), "{hits}");
    }
}
