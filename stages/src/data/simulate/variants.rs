//! Diploid truth variants (SNPs and 1-N bp insertions and deletions), left-aligned and normalized as in a
//! VCF, and the two haplotypes they make of each contig.

use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::genome::Genome;

/// Reference position of a haplotype base that is inserted (not on the reference).
pub const INSERTED: u32 = u32::MAX;

/// Bases between the regions that two variants may shift over, so that no two interact.
const MIN_GAP: usize = 10;

/// What kind of variant a [`Variant`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum VariantKind {
    /// Single-nucleotide polymorphism.
    Snp,
    /// Insertion.
    Insertion,
    /// Deletion.
    Deletion,
}

/// One truth variant in VCF form: indels carry the preceding reference base as anchor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    /// Contig index.
    pub contig: usize,
    /// 0-based position of the first reference base (VCF POS - 1).
    pub pos: usize,
    /// Reference allele.
    pub ref_allele: Vec<u8>,
    /// Alternate allele.
    pub alt: Vec<u8>,
    /// Whether haplotype 0 and haplotype 1 carry the alternate allele.
    pub on: [bool; 2],
}

impl Variant {
    /// SNP, insertion or deletion.
    pub fn kind(&self) -> VariantKind {
        use std::cmp::Ordering::*;
        match self.alt.len().cmp(&self.ref_allele.len()) {
            Equal => VariantKind::Snp,
            Greater => VariantKind::Insertion,
            Less => VariantKind::Deletion,
        }
    }

    /// Whether one haplotype only carries it.
    pub fn is_het(&self) -> bool {
        self.on[0] != self.on[1]
    }

    /// The phased genotype, e.g. `0|1`.
    pub fn genotype(&self) -> &'static str {
        match self.on {
            [true, true] => "1|1",
            [true, false] => "1|0",
            [false, true] => "0|1",
            [false, false] => "0|0",
        }
    }
}

/// How [`generate`] draws variants.
#[derive(Debug, Clone)]
pub struct VariantSpec {
    /// Expected variants per base of confident sequence.
    pub rate: f64,
    /// Fraction of heterozygous variants (the rest are homozygous alternate).
    pub het_fraction: f64,
    /// Fraction of insertions and deletions (half each).
    pub indel_fraction: f64,
    /// Longest indel.
    pub max_indel: usize,
}

/// Draws variants inside the confident regions of `genome`, sorted by contig and position; the share of
/// heterozygous ones is `het_fraction` (rounded). Each is left-aligned; variants whose shiftable span comes within [`MIN_GAP`] of another's are dropped, so every
/// variant has one normalized representation.
pub fn generate(genome: &Genome, spec: &VariantSpec, rng: &mut ChaCha8Rng) -> Vec<Variant> {
    let mut out = Vec::new();
    for (c, contig) in genome.contigs.iter().enumerate() {
        let seq = &contig.seq;
        let mut last_end = 0;
        for region in genome.confident(c) {
            let mut pos = region.start;
            loop {
                // Geometric gaps give a Poisson process of the requested rate.
                let u: f64 = rng.random();
                pos += 1 + ((1.0 - u).ln() / (1.0 - spec.rate).ln()) as usize;
                if pos >= region.end {
                    break;
                }
                let candidate = draw(seq, pos, spec, rng);
                let (left, right) = span(seq, &candidate);
                let fits = left > region.start
                    && right < region.end
                    && left >= last_end + MIN_GAP
                    && left >= 1;
                if !fits {
                    continue;
                }
                out.push(candidate.into_variant(seq, c, [true, true]));
                last_end = right;
            }
        }
    }
    // Exactly round(het_fraction * n) heterozygous variants, chosen at random, each on a random haplotype.
    let het = (spec.het_fraction * out.len() as f64).round() as usize;
    let mut order: Vec<usize> = (0..out.len()).collect();
    order.shuffle(rng);
    for &i in &order[..het] {
        let first = rng.random_bool(0.5);
        out[i].on = [first, !first];
    }
    out
}

/// A variant before normalization: `del` reference bases at `pos` replaced by `ins`.
#[derive(Debug, Clone)]
struct Edit {
    pos: usize,
    del: usize,
    ins: Vec<u8>,
}

const BASES: [u8; 4] = *b"ACGT";

fn transition(b: u8) -> u8 {
    match b {
        b'A' => b'G',
        b'G' => b'A',
        b'C' => b'T',
        _ => b'C',
    }
}

/// Indel length: 1 to `max` with weight 1/len^1.5 (most indels are short).
fn indel_len(max: usize, rng: &mut ChaCha8Rng) -> usize {
    let weights: Vec<f64> = (1..=max).map(|l| (l as f64).powf(-1.5)).collect();
    let mut x = rng.random::<f64>() * weights.iter().sum::<f64>();
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i + 1;
        }
        x -= w;
    }
    max
}

fn draw(seq: &[u8], pos: usize, spec: &VariantSpec, rng: &mut ChaCha8Rng) -> Edit {
    if !rng.random_bool(spec.indel_fraction) {
        // Transitions twice as often as transversions.
        let r = seq[pos];
        let alt = if rng.random_bool(2.0 / 3.0) {
            transition(r)
        } else {
            let others: Vec<u8> = BASES
                .iter()
                .copied()
                .filter(|&b| b != r && b != transition(r))
                .collect();
            others[rng.random_range(0..others.len())]
        };
        return Edit {
            pos,
            del: 1,
            ins: vec![alt],
        };
    }
    let len = indel_len(spec.max_indel.max(1), rng);
    if rng.random_bool(0.5) {
        Edit {
            pos,
            del: len.min(seq.len() - pos - 1),
            ins: Vec::new(),
        }
    } else {
        // Half the insertions duplicate the following bases (tandem expansions), half are random.
        let ins = if rng.random_bool(0.5) && pos + len < seq.len() {
            seq[pos..pos + len].to_vec()
        } else {
            (0..len).map(|_| BASES[rng.random_range(0..4)]).collect()
        };
        Edit { pos, del: 0, ins }
    }
}

/// Shifts an indel as far left as the sequence allows (SNPs stay).
fn left_align(seq: &[u8], e: &Edit) -> Edit {
    let mut e = e.clone();
    if e.del > 0 && e.ins.is_empty() {
        while e.pos > 1 && seq[e.pos - 1] == seq[e.pos + e.del - 1] {
            e.pos -= 1;
        }
    } else if e.del == 0 {
        while e.pos > 1 && seq[e.pos - 1] == e.ins[e.ins.len() - 1] {
            e.ins.rotate_right(1);
            e.pos -= 1;
        }
    }
    e
}

/// The reference span `[left, right)` an edit may shift over, anchor base included.
fn span(seq: &[u8], e: &Edit) -> (usize, usize) {
    let left = left_align(seq, e);
    let mut right = e.clone();
    if right.del > 0 && right.ins.is_empty() {
        while right.pos + right.del < seq.len() && seq[right.pos] == seq[right.pos + right.del] {
            right.pos += 1;
        }
    } else if right.del == 0 {
        while right.pos < seq.len() && seq[right.pos] == right.ins[0] {
            right.ins.rotate_left(1);
            right.pos += 1;
        }
    }
    (left.pos.saturating_sub(1), right.pos + right.del + 1)
}

impl Edit {
    fn into_variant(self, seq: &[u8], contig: usize, on: [bool; 2]) -> Variant {
        let e = left_align(seq, &self);
        if e.del == 1 && e.ins.len() == 1 {
            return Variant {
                contig,
                pos: e.pos,
                ref_allele: vec![seq[e.pos]],
                alt: e.ins,
                on,
            };
        }
        let anchor = e.pos - 1;
        let mut alt = vec![seq[anchor]];
        alt.extend(&e.ins);
        Variant {
            contig,
            pos: anchor,
            ref_allele: seq[anchor..e.pos + e.del].to_vec(),
            alt,
            on,
        }
    }
}

/// One haplotype of a contig: its bases and, for each, the 0-based reference position it aligns to
/// ([`INSERTED`] for inserted bases).
#[derive(Debug, Clone)]
pub struct Haplotype {
    /// Bases.
    pub seq: Vec<u8>,
    /// Reference position of every base.
    pub ref_pos: Vec<u32>,
}

/// Applies the variants of `contig` carried by haplotype `hap` (0 or 1) to `reference`. `variants` must be
/// sorted and non-overlapping, as [`generate`] returns them.
pub fn haplotype(reference: &[u8], variants: &[Variant], contig: usize, hap: usize) -> Haplotype {
    let mut seq = Vec::with_capacity(reference.len() + 64);
    let mut ref_pos = Vec::with_capacity(reference.len() + 64);
    let mut cursor = 0;
    let copy = |seq: &mut Vec<u8>, ref_pos: &mut Vec<u32>, range: std::ops::Range<usize>| {
        seq.extend_from_slice(&reference[range.clone()]);
        ref_pos.extend(range.map(|p| p as u32));
    };
    for v in variants.iter().filter(|v| v.contig == contig && v.on[hap]) {
        copy(&mut seq, &mut ref_pos, cursor..v.pos);
        let shared = v.ref_allele.len().min(v.alt.len());
        // Matched bases (the anchor of an indel, or the SNP's alternate base).
        for i in 0..shared {
            seq.push(v.alt[i]);
            ref_pos.push((v.pos + i) as u32);
        }
        for &b in &v.alt[shared..] {
            seq.push(b);
            ref_pos.push(INSERTED);
        }
        cursor = v.pos + v.ref_allele.len();
    }
    copy(&mut seq, &mut ref_pos, cursor..reference.len());
    Haplotype { seq, ref_pos }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::simulate::genome::GenomeSpec;
    use rand::SeedableRng;

    #[test]
    fn left_align_moves_indels_to_the_start_of_a_repeat() {
        let seq = b"GGCACACACATT";
        // Deleting the last "CA" of the repeat is the same as deleting the first one.
        let e = left_align(
            seq,
            &Edit {
                pos: 8,
                del: 2,
                ins: vec![],
            },
        );
        assert_eq!(e.pos, 2);
        let v = Edit {
            pos: 8,
            del: 2,
            ins: vec![],
        }
        .into_variant(seq, 0, [true, true]);
        assert_eq!(
            (v.pos, v.ref_allele.as_slice(), v.alt.as_slice()),
            (1, &b"GCA"[..], &b"G"[..])
        );
        let v = Edit {
            pos: 10,
            del: 0,
            ins: b"CA".to_vec(),
        }
        .into_variant(seq, 0, [true, false]);
        assert_eq!(
            (v.pos, v.ref_allele.as_slice(), v.alt.as_slice()),
            (1, &b"G"[..], &b"GCA"[..])
        );
        assert_eq!(
            span(
                seq,
                &Edit {
                    pos: 4,
                    del: 2,
                    ins: vec![]
                }
            ),
            (1, 11)
        );
    }

    #[test]
    fn variants_are_spaced_and_haplotypes_carry_them() {
        let genome = Genome::generate(
            &GenomeSpec {
                genome_bp: 100_000,
                contigs: 1,
                contig_prefix: "chr".into(),
            },
            &mut ChaCha8Rng::seed_from_u64(1),
        );
        let spec = VariantSpec {
            rate: 0.002,
            het_fraction: 0.6,
            indel_fraction: 0.3,
            max_indel: 20,
        };
        let vs = generate(&genome, &spec, &mut ChaCha8Rng::seed_from_u64(2));
        assert!(vs.len() > 120 && vs.len() < 220, "{}", vs.len());
        let seq = &genome.contigs[0].seq;
        for v in &vs {
            assert_eq!(
                &seq[v.pos..v.pos + v.ref_allele.len()],
                v.ref_allele.as_slice()
            );
            if v.kind() != VariantKind::Snp {
                // Normalized: a shared anchor base, then no shift to the left possible.
                assert_eq!(v.ref_allele[0], v.alt[0]);
                let (long, short) = if v.ref_allele.len() > v.alt.len() {
                    (&v.ref_allele, &v.alt)
                } else {
                    (&v.alt, &v.ref_allele)
                };
                assert_eq!(short.len(), 1);
                assert_ne!(seq[v.pos], long[long.len() - 1], "{v:?} can shift left");
            }
        }
        let het = vs.iter().filter(|v| v.is_het()).count();
        assert_eq!(het, (0.6 * vs.len() as f64).round() as usize);
        assert!(
            vs.iter().any(|v| v.on == [true, false]) && vs.iter().any(|v| v.on == [false, true])
        );
        for hap in 0..2 {
            let h = haplotype(seq, &vs, 0, hap);
            let delta: i64 = vs
                .iter()
                .filter(|v| v.on[hap])
                .map(|v| v.alt.len() as i64 - v.ref_allele.len() as i64)
                .sum();
            assert_eq!(h.seq.len() as i64, seq.len() as i64 + delta);
            for (b, &r) in h.seq.iter().zip(&h.ref_pos) {
                if r != INSERTED && !vs.iter().any(|v| v.pos == r as usize && v.on[hap]) {
                    assert_eq!(*b, seq[r as usize]);
                }
            }
        }
    }
}
