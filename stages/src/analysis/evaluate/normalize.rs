//! Variant normalization against the reference: each called allele becomes a minimal [`Edit`]
//! (shared bases trimmed) and a biallelic multi-base substitution (MNP) is split into its SNPs, as
//! hap.py's preprocessing does. Multi-allelic records are split into their called alleles but stay
//! one [`Unit`], so a 1/2 genotype keeps one allele on each haplotype.
//!
//! Indels are left-aligned to place a unit: its span reaches from its left-aligned start to its
//! written end, so equivalent indels written anywhere in a repeat fall into one cluster. Matching then
//! replays the edits as written (shifting edits one by one could move an indel onto a neighbouring
//! call of the same record set and make equivalent haplotypes unbuildable).

use anyhow::{bail, Result};

use super::variants::Call;

/// One change of one haplotype: the reference bases `[start, end)` (0-based) replaced by `seq`.
///
/// Edits are minimal (no base shared with the reference at either end): an insertion has
/// `start == end`, a deletion an empty `seq`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Edit {
    /// First reference base replaced (the insertion point for an insertion).
    pub start: i64,
    /// One past the last reference base replaced.
    pub end: i64,
    /// The bases written instead.
    pub seq: Vec<u8>,
}

impl Edit {
    /// The minimal edit turning `ref_bases` at 0-based `pos` into `alt` (common suffix trimmed first,
    /// then the common prefix); `None` when the two are equal.
    pub fn new(pos: i64, ref_bases: &[u8], alt: &[u8]) -> Option<Edit> {
        let (mut r, mut a) = (ref_bases, alt);
        while let (Some(x), Some(y)) = (r.last(), a.last()) {
            if x != y {
                break;
            }
            r = &r[..r.len() - 1];
            a = &a[..a.len() - 1];
        }
        let mut start = pos;
        while let (Some(x), Some(y)) = (r.first(), a.first()) {
            if x != y {
                break;
            }
            r = &r[1..];
            a = &a[1..];
            start += 1;
        }
        if r.is_empty() && a.is_empty() {
            return None;
        }
        Some(Edit {
            start,
            end: start + r.len() as i64,
            seq: a.to_vec(),
        })
    }

    /// Whether this is an insertion (no reference base replaced).
    pub fn is_insertion(&self) -> bool {
        self.start == self.end
    }

    /// Whether this is a deletion (nothing written).
    pub fn is_deletion(&self) -> bool {
        self.seq.is_empty()
    }

    /// Whether this is a single-base substitution.
    pub fn is_snp(&self) -> bool {
        self.end - self.start == 1 && self.seq.len() == 1
    }

    /// Shifted as far left as the reference `contig` allows, for an insertion or a deletion (others
    /// are returned as they are).
    pub fn left_aligned(mut self, contig: &[u8]) -> Edit {
        if self.is_insertion() {
            while self.start > 0 && self.seq.last() == Some(&contig[self.start as usize - 1]) {
                self.seq.pop();
                self.seq.insert(0, contig[self.start as usize - 1]);
                self.start -= 1;
                self.end -= 1;
            }
        } else if self.is_deletion() {
            while self.start > 0 && contig[self.start as usize - 1] == contig[self.end as usize - 1]
            {
                self.start -= 1;
                self.end -= 1;
            }
        }
        self
    }

    /// The SNPs of a multi-base substitution (same length on both sides), or `None` for any other
    /// edit.
    fn snps(&self, contig: &[u8]) -> Option<Vec<Edit>> {
        let len = (self.end - self.start) as usize;
        if len < 2 || self.seq.len() != len {
            return None;
        }
        let snps = (0..len)
            .filter(|&i| contig[self.start as usize + i] != self.seq[i])
            .map(|i| {
                let start = self.start + i as i64;
                Edit {
                    start,
                    end: start + 1,
                    seq: vec![self.seq[i]],
                }
            })
            .collect();
        Some(snps)
    }

    /// Whether two edits cannot both be on one haplotype: their reference spans overlap, an insertion
    /// falls strictly inside the other's span, or both insert at the same point.
    pub fn conflicts(&self, other: &Edit) -> bool {
        match (self.is_insertion(), other.is_insertion()) {
            (true, true) => self.start == other.start,
            (true, false) => other.start < self.start && self.start < other.end,
            (false, true) => self.start < other.start && other.start < self.end,
            (false, false) => self.start < other.end && other.start < self.end,
        }
    }
}

/// A normalized call of one sample, matched as a whole: its called alternate alleles and which of them
/// (or the reference, `None`) each of the two haplotypes carries (unphased).
///
/// `start..end` covers the alleles as written and their left-aligned positions.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    /// Index of the [`Call`] it comes from (several units for a split MNP).
    pub call: usize,
    /// The called alternate alleles, each one edit.
    pub alleles: Vec<Edit>,
    /// Allele of each haplotype: an index into `alleles`, or `None` for the reference.
    pub haps: [Option<u8>; 2],
    /// Smallest start of its edits, left-aligned.
    pub start: i64,
    /// Largest end of its edits as written.
    pub end: i64,
}

impl Unit {
    fn new(call: usize, alleles: Vec<Edit>, haps: [Option<u8>; 2], contig: &[u8]) -> Option<Unit> {
        let start = alleles
            .iter()
            .map(|e| e.clone().left_aligned(contig).start)
            .min()?;
        let end = alleles.iter().map(|e| e.end).max()?;
        Some(Unit {
            call,
            alleles,
            haps,
            start,
            end,
        })
    }

    /// The edit each haplotype carries.
    pub fn hap_edits(&self) -> [Option<&Edit>; 2] {
        self.haps.map(|h| h.map(|i| &self.alleles[usize::from(i)]))
    }
}

/// The called alleles of `call` as edits (trimmed, not yet left-aligned) and each haplotype's allele;
/// alleles equal to the reference or symbolic (`*`, `<DEL>`) count as the reference. `None` when
/// nothing but the reference is left.
pub fn edits_of(call: &Call) -> Option<(Vec<Edit>, [Option<u8>; 2])> {
    let mut alleles = Vec::with_capacity(call.alts.len());
    let mut index = vec![None; call.alts.len()];
    for (i, alt) in call.alts.iter().enumerate() {
        if is_symbolic(alt) {
            continue;
        }
        if let Some(edit) = Edit::new(call.start, &call.ref_bases, alt) {
            index[i] = Some(alleles.len() as u8);
            alleles.push(edit);
        }
    }
    let haps = call
        .gt
        .map(|g| g.checked_sub(1).and_then(|i| index[usize::from(i)]));
    (haps.iter().any(Option::is_some)).then_some((alleles, haps))
}

/// Whether an ALT allele is symbolic (`*`, `<...>`, a breakend) rather than bases.
fn is_symbolic(alt: &[u8]) -> bool {
    alt.is_empty() || alt.iter().any(|b| !b.is_ascii_alphabetic())
}

/// Normalizes `call` (index `index` on contig `name`) against the reference bases of the contig:
/// checks that REF matches the reference, places indels by their left-aligned position and splits a
/// biallelic MNP into SNPs.
/// Returns no unit when the call carries no alternate allele.
pub fn normalize(
    call: &Call,
    index: usize,
    name: &str,
    contig: &[u8],
    what: &str,
) -> Result<Vec<Unit>> {
    let start = call.start as usize;
    let end = start + call.ref_bases.len();
    match contig.get(start..end) {
        Some(bases) if bases == call.ref_bases.as_slice() => {}
        Some(bases) => bail!(
            "{what}: the record at {}:{} has REF {} but the reference has {} there; use the \
             reference the VCF was made against",
            name,
            call.start + 1,
            String::from_utf8_lossy(&call.ref_bases),
            String::from_utf8_lossy(bases)
        ),
        None => bail!(
            "{what}: the record at {}:{} (REF of {} bases) runs past the end of the reference \
             contig ({} bases); use the reference the VCF was made against",
            name,
            call.start + 1,
            call.ref_bases.len(),
            contig.len()
        ),
    }
    let Some((alleles, haps)) = edits_of(call) else {
        return Ok(Vec::new());
    };
    if alleles.len() == 1 {
        if let Some(snps) = alleles[0].snps(contig) {
            let units = snps
                .into_iter()
                .filter_map(|snp| Unit::new(index, vec![snp], haps, contig))
                .collect();
            return Ok(units);
        }
    }
    Ok(Unit::new(index, alleles, haps, contig)
        .into_iter()
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(start: i64, r: &str, alts: &[&str], gt: [u8; 2]) -> Call {
        Call {
            start,
            ref_bases: r.as_bytes().to_vec(),
            alts: alts.iter().map(|a| a.as_bytes().to_vec()).collect(),
            gt,
            qual: f32::NAN,
            pass: true,
        }
    }

    #[test]
    fn edits_are_trimmed_and_indels_left_aligned_in_a_homopolymer() {
        let contig = b"GCAAAAT";
        // Insertion of an A written after the run: shifted to the run's start.
        let e = Edit::new(5, b"A", b"AA").unwrap().left_aligned(contig);
        assert_eq!((e.start, e.end, e.seq.as_slice()), (2, 2, b"A".as_slice()));
        // Deletion of one A written at the end of the run.
        let e = Edit::new(4, b"AA", b"A").unwrap().left_aligned(contig);
        assert_eq!((e.start, e.end, e.seq.len()), (2, 3, 0));
        assert_eq!(Edit::new(3, b"A", b"A"), None);
        // A complex change keeps its span.
        let e = Edit::new(1, b"CAA", b"CT").unwrap();
        assert_eq!((e.start, e.end, e.seq.as_slice()), (2, 4, b"T".as_slice()));
    }

    #[test]
    fn a_biallelic_mnp_is_split_and_a_multi_allelic_record_stays_one_unit() {
        let contig = b"ACGTACGT";
        let units = normalize(&call(1, "CGT", &["TGA"], [0, 1]), 0, "c", contig, "t").unwrap();
        assert_eq!(units.len(), 2);
        assert_eq!((units[0].start, units[1].start), (1, 3));
        assert!(units.iter().all(|u| u.haps == [None, Some(0)]));
        let units = normalize(&call(1, "C", &["A", "CT"], [1, 2]), 0, "c", contig, "t").unwrap();
        assert_eq!(units.len(), 1);
        assert_eq!(units[0].haps, [Some(0), Some(1)]);
        assert!(units[0].alleles[1].is_insertion());
        // An insertion written at the end of a homopolymer keeps its edit, spans to the run's start.
        let units = normalize(&call(5, "A", &["AA"], [0, 1]), 0, "c", b"GCAAAAT", "t").unwrap();
        assert_eq!(units[0].alleles[0].start, 5);
        assert_eq!((units[0].start, units[0].end), (2, 5));
        assert!(
            normalize(&call(1, "C", &["A"], [0, 0]), 0, "c", contig, "t")
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_ref_mismatch_is_an_error_naming_the_record() {
        let err = normalize(
            &call(1, "G", &["A"], [0, 1]),
            0,
            "c",
            b"ACGT",
            "truth VCF t.vcf.gz",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("c:2 has REF G but the reference has C"),
            "{err}"
        );
    }

    #[test]
    fn conflicts_follow_the_reference_spans() {
        let snp = Edit::new(5, b"A", b"C").unwrap();
        let ins = Edit::new(4, b"A", b"AT").unwrap(); // inserts before base 5
        let del = Edit::new(4, b"AAA", b"A").unwrap(); // deletes bases 4 and 5
        assert!(!snp.conflicts(&ins));
        assert!(snp.conflicts(&del));
        assert!(ins.conflicts(&del));
        assert!(ins.conflicts(&ins.clone()));
    }
}
