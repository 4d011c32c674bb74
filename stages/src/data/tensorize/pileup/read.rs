//! Aligned reads as the pileup code sees them: decoded once from any noodles alignment record.

use std::io;

use anyhow::{bail, Context, Result};
use noodles::sam;
use noodles::sam::alignment::record::cigar::op::Kind;
use noodles::sam::alignment::record::data::field::Tag;
use noodles::sam::alignment::Record;

/// The `HP` (haplotype) tag.
const HP: Tag = Tag::new(b'H', b'P');

/// One CIGAR operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CigarOp {
    /// Operation kind (M, I, D, N, S, H, P, =, X).
    pub kind: Kind,
    /// Length in bases.
    pub len: usize,
}

/// A mapped read decoded from a BAM or SAM record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlignedRead {
    /// Fragment (template) name.
    pub name: Vec<u8>,
    /// 0 for the first read of a pair (or an unpaired read), 1 for the second.
    pub read_number: u8,
    /// 0-based position of the first aligned reference base.
    pub start: i64,
    /// 0-based position one past the last aligned reference base.
    pub end: i64,
    /// Whether the read is aligned to the reverse strand.
    pub reverse: bool,
    /// Mapping quality (255 when the record has none).
    pub mapq: u8,
    /// Observed template length (TLEN).
    pub tlen: i32,
    /// Value of the `HP` tag, if present and an integer.
    pub hp: Option<i64>,
    /// CIGAR operations.
    pub cigar: Vec<CigarOp>,
    /// Read bases, upper case.
    pub bases: Vec<u8>,
    /// Phred base qualities, one per base.
    pub quals: Vec<u8>,
}

/// Why a record is not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// Unmapped, secondary, supplementary, duplicate or QC-failed.
    Flags,
    /// Mapping quality below the minimum.
    MappingQuality,
    /// One read of a pair not marked properly paired whose mate is on another contig.
    ImproperlyPlaced,
}

impl AlignedRead {
    /// Decodes `record` (its contigs named by `header`), or says why it is skipped: unmapped,
    /// secondary, supplementary, duplicate and QC-failed records, records with MAPQ below
    /// `min_mapping_quality`, and improperly placed ones (paired, not marked properly paired, the mate
    /// on another contig) are skipped as DeepVariant's default read requirements do. Malformed records
    /// are errors naming the read.
    pub fn decode<R: Record + ?Sized>(
        record: &R,
        header: &sam::Header,
        min_mapping_quality: u8,
    ) -> Result<std::result::Result<Self, Skip>> {
        let name = record.name().map(|n| n.to_vec()).unwrap_or_default();
        let ctx = || format!("read '{}'", String::from_utf8_lossy(&name));
        let flags = record.flags().with_context(ctx)?;
        if flags.is_unmapped()
            || flags.is_secondary()
            || flags.is_supplementary()
            || flags.is_duplicate()
            || flags.is_qc_fail()
        {
            return Ok(Err(Skip::Flags));
        }
        let mapq = match record.mapping_quality().transpose().with_context(ctx)? {
            Some(q) => u8::from(q),
            None => 255,
        };
        if mapq < min_mapping_quality {
            return Ok(Err(Skip::MappingQuality));
        }
        if flags.is_segmented() && !flags.is_properly_segmented() {
            let contig = record.reference_sequence_id(header).transpose();
            let mate = record.mate_reference_sequence_id(header).transpose();
            if let (Some(contig), Some(mate)) = (contig.with_context(ctx)?, mate.with_context(ctx)?)
            {
                if contig != mate {
                    return Ok(Err(Skip::ImproperlyPlaced));
                }
            }
        }
        let Some(start) = record.alignment_start().transpose().with_context(ctx)? else {
            return Ok(Err(Skip::Flags));
        };
        let start = usize::from(start) as i64 - 1;
        let cigar = record
            .cigar()
            .iter()
            .map(|op| {
                op.map(|op| CigarOp {
                    kind: op.kind(),
                    len: op.len(),
                })
            })
            .collect::<io::Result<Vec<_>>>()
            .with_context(ctx)?;
        let span: usize = cigar
            .iter()
            .filter(|op| op.kind.consumes_reference())
            .map(|op| op.len)
            .sum();
        let read_len: usize = cigar
            .iter()
            .filter(|op| op.kind.consumes_read())
            .map(|op| op.len)
            .sum();
        let bases: Vec<u8> = record
            .sequence()
            .iter()
            .map(|b| b.to_ascii_uppercase())
            .collect();
        let quals = record
            .quality_scores()
            .iter()
            .collect::<io::Result<Vec<u8>>>()
            .with_context(ctx)?;
        if bases.len() != read_len {
            bail!(
                "{}: CIGAR covers {read_len} read bases but the sequence has {}; the record is malformed",
                ctx(),
                bases.len()
            );
        }
        if quals.len() != bases.len() {
            bail!(
                "{}: {} base qualities for {} bases; pileup images need base qualities",
                ctx(),
                quals.len(),
                bases.len()
            );
        }
        let hp = match record.data().get(&HP) {
            Some(value) => value.with_context(ctx)?.as_int(),
            None => None,
        };
        Ok(Ok(Self {
            read_number: u8::from(flags.is_segmented() && flags.is_last_segment()),
            start,
            end: start + span as i64,
            reverse: flags.is_reverse_complemented(),
            mapq,
            tlen: record.template_length().with_context(ctx)?,
            hp,
            cigar,
            bases,
            quals,
            name,
        }))
    }

    /// Whether the read's aligned span overlaps the 0-based half-open interval `[start, end)`.
    pub fn overlaps(&self, start: i64, end: i64) -> bool {
        self.start < end && start < self.end
    }
}

/// Per read, whether another of `reads` has its name and mate number: the same read recorded twice,
/// whose alleles DeepVariant's allele counter keeps once (it keys them by read).
pub fn recorded_twice<R: std::borrow::Borrow<AlignedRead>>(reads: &[R]) -> Vec<bool> {
    let mut records: std::collections::HashMap<(&[u8], u8), usize> =
        std::collections::HashMap::new();
    for r in reads {
        let r = r.borrow();
        *records
            .entry((r.name.as_slice(), r.read_number))
            .or_default() += 1;
    }
    reads
        .iter()
        .map(|r| {
            let r = r.borrow();
            records[&(r.name.as_slice(), r.read_number)] > 1
        })
        .collect()
}
