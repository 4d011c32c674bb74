//! Drawing reads into a pileup image (DeepVariant `CalculateBaseLevelData` and `BuildPileupForOneSample`).

use noodles::sam::alignment::record::cigar::op::Kind;

use super::channels::{Channel, ReadPixel};
use super::geometry::{Geometry, Image, READ_OVERLAP_BUFFER_BP, REFERENCE_BAND_ROWS};
use super::read::AlignedRead;
use super::shuffle::read_order;

/// The base drawn at an indel's anchor column.
pub const INDEL_ANCHOR_BASE: u8 = b'*';

/// One drawn pixel of a read: its base (or `*`) and base quality.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BasePixel {
    /// Read base, upper case, or [`INDEL_ANCHOR_BASE`].
    pub base: u8,
    /// Phred quality.
    pub quality: u8,
}

/// The pixels `read` draws in the `width` columns starting at reference position `window_start`.
///
/// M/=/X draw each base; I and D draw one `*` at the anchor column (the reference base before them),
/// overwriting the anchor's base, with the quality of the first inserted base (I) or of the preceding
/// read base (D); deleted columns stay empty; S, N, H and P draw nothing. An I at contig position 0
/// and a D as the first operation are skipped.
pub fn base_pixels(read: &AlignedRead, window_start: i64, width: usize) -> Vec<Option<BasePixel>> {
    let mut row = vec![None; width];
    let mut put = |pos: i64, px: BasePixel| {
        let col = pos - window_start;
        if (0..width as i64).contains(&col) {
            row[col as usize] = Some(px);
        }
    };
    let (mut ref_pos, mut read_i) = (read.start, 0usize);
    for (op_index, op) in read.cigar.iter().enumerate() {
        match op.kind {
            Kind::Match | Kind::SequenceMatch | Kind::SequenceMismatch => {
                for k in 0..op.len {
                    let i = read_i + k;
                    put(
                        ref_pos + k as i64,
                        BasePixel {
                            base: read.bases[i],
                            quality: read.quals[i],
                        },
                    );
                }
                ref_pos += op.len as i64;
                read_i += op.len;
            }
            Kind::Insertion => {
                if ref_pos > 0 {
                    put(
                        ref_pos - 1,
                        BasePixel {
                            base: INDEL_ANCHOR_BASE,
                            quality: read.quals[read_i],
                        },
                    );
                }
                read_i += op.len;
            }
            Kind::Deletion => {
                if op_index > 0 && read_i > 0 {
                    put(
                        ref_pos - 1,
                        BasePixel {
                            base: INDEL_ANCHOR_BASE,
                            quality: read.quals[read_i - 1],
                        },
                    );
                }
                ref_pos += op.len as i64;
            }
            Kind::Skip => ref_pos += op.len as i64,
            Kind::SoftClip => read_i += op.len,
            Kind::HardClip | Kind::Pad => {}
        }
    }
    row
}

/// What one pileup needs besides the reads.
#[derive(Debug, Clone, Copy)]
pub struct Pileup<'a> {
    /// Image geometry.
    pub geometry: Geometry,
    /// Channels in image order.
    pub channels: &'a [Channel],
    /// Reads whose pixel at the candidate has a lower base quality get no row.
    pub min_base_quality: u8,
    /// 0-based start of the candidate (its first reference base sits in the middle column).
    pub start: i64,
    /// 0-based end (exclusive) of the candidate's reference allele.
    pub end: i64,
    /// The `width` reference bases of the window, upper case, `N` past the contig ends.
    pub reference: &'a [u8],
}

impl Pileup<'_> {
    /// Draws the image: the reference band, then up to `height - 5` of `reads` that overlap
    /// `[start - 5, end + 5)`. When more reads overlap than there are rows they are considered in
    /// DeepVariant's shuffled order. Kept rows are sorted by alignment start with a stable sort, so
    /// reads starting at the same position keep their order in `reads`; that is what DeepVariant 1.5's
    /// golden examples show (45 of its 49 training images are byte-identical this way, 11 with
    /// libstdc++'s unstable `std::sort`).
    /// `supports(i)` tells whether `reads[i]` supports an alt allele of this example.
    pub fn draw(&self, reads: &[&AlignedRead], supports: &dyn Fn(usize) -> bool) -> Image {
        let g = self.geometry;
        let mut image = Image::zeros(g, self.channels.len());
        for col in 0..g.width {
            let ref_base = self.reference[col];
            for row in 0..REFERENCE_BAND_ROWS {
                let px = image.pixel_mut(row, col);
                for (value, channel) in px.iter_mut().zip(self.channels) {
                    *value = channel.reference_value(ref_base);
                }
            }
        }
        let window_start = g.window_start(self.start);
        let overlapping: Vec<usize> = (0..reads.len())
            .filter(|&i| {
                reads[i].overlaps(
                    self.start - READ_OVERLAP_BUFFER_BP,
                    self.end + READ_OVERLAP_BUFFER_BP,
                )
            })
            .collect();
        let center = g.half() as usize;
        let mut kept = Vec::with_capacity(g.max_reads());
        for k in read_order(overlapping.len(), g.max_reads()) {
            if kept.len() == g.max_reads() {
                break;
            }
            let i = overlapping[k];
            let pixels = base_pixels(reads[i], window_start, g.width);
            if pixels[center].is_some_and(|p| p.quality < self.min_base_quality) {
                continue;
            }
            kept.push((i, pixels));
        }
        kept.sort_by_key(|(i, _)| reads[*i].start);
        for (row, (i, pixels)) in kept.iter().enumerate() {
            let read = reads[*i];
            let support = supports(*i);
            for (col, px) in pixels.iter().enumerate() {
                let Some(px) = px else { continue };
                let input = ReadPixel {
                    base: px.base,
                    quality: px.quality,
                    ref_base: self.reference[col],
                    mapq: read.mapq,
                    reverse: read.reverse,
                    supports_variant: support,
                    tlen: read.tlen,
                    hp: read.hp,
                };
                let out = image.pixel_mut(REFERENCE_BAND_ROWS + row, col);
                for (value, channel) in out.iter_mut().zip(self.channels) {
                    *value = channel.read_value(&input);
                }
            }
        }
        image
    }
}
