//! Channel definitions and their exact pixel values (DeepVariant `channels/*.cc`).

use anyhow::{bail, Result};

/// One image channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// Base identity: A 250, G 180, T 100, C 30, other 0.
    ReadBase,
    /// `scale(Q, 40)`.
    BaseQuality,
    /// `scale(MAPQ, 60)`.
    MappingQuality,
    /// Forward 70, reverse 240.
    Strand,
    /// 254 when the read supports an alt of the example, else 152.
    ReadSupportsVariant,
    /// 50 when the base equals the reference, else 254.
    BaseDiffersFromRef,
    /// `(int)(254 * min(|TLEN|, 1000) / 1000)`.
    InsertSize,
    /// `scale(HP, 2)`; 0 without an `HP` tag.
    Haplotype,
}

/// The 7 channels of DeepVariant's WGS model from v1.4 on, in image order.
pub const WGS_CHANNELS: [Channel; 7] = [
    Channel::ReadBase,
    Channel::BaseQuality,
    Channel::MappingQuality,
    Channel::Strand,
    Channel::ReadSupportsVariant,
    Channel::BaseDiffersFromRef,
    Channel::InsertSize,
];

const ALL: [Channel; 8] = [
    Channel::ReadBase,
    Channel::BaseQuality,
    Channel::MappingQuality,
    Channel::Strand,
    Channel::ReadSupportsVariant,
    Channel::BaseDiffersFromRef,
    Channel::InsertSize,
    Channel::Haplotype,
];

/// `(int)(254.0f * min(v, cap) / cap)`: 0..=254, never 255.
pub fn scale(value: f32, cap: f32) -> u8 {
    (254.0f32 * value.min(cap) / cap) as u8
}

/// The read_base value of a base (either case).
pub fn base_value(base: u8) -> u8 {
    match base.to_ascii_uppercase() {
        b'A' => 250,
        b'G' => 180,
        b'T' => 100,
        b'C' => 30,
        _ => 0,
    }
}

/// What one drawn read pixel knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadPixel {
    /// Read base (upper case) or `*` for an indel anchor.
    pub base: u8,
    /// Phred base quality.
    pub quality: u8,
    /// Reference base in this column (upper case).
    pub ref_base: u8,
    /// Read mapping quality.
    pub mapq: u8,
    /// Reverse strand.
    pub reverse: bool,
    /// Whether the read supports an alt allele of this example.
    pub supports_variant: bool,
    /// Template length.
    pub tlen: i32,
    /// `HP` tag.
    pub hp: Option<i64>,
}

impl Channel {
    /// The name used in params and in the examples file's metadata.
    pub fn name(self) -> &'static str {
        match self {
            Channel::ReadBase => "read_base",
            Channel::BaseQuality => "base_quality",
            Channel::MappingQuality => "mapping_quality",
            Channel::Strand => "strand",
            Channel::ReadSupportsVariant => "read_supports_variant",
            Channel::BaseDiffersFromRef => "base_differs_from_ref",
            Channel::InsertSize => "insert_size",
            Channel::Haplotype => "haplotype",
        }
    }

    /// The channel called `name`; the error lists the known names.
    pub fn parse(name: &str) -> Result<Self> {
        match ALL.iter().find(|c| c.name() == name) {
            Some(c) => Ok(*c),
            None => bail!(
                "unknown channel '{name}'; known channels: {}",
                ALL.map(Channel::name).join(", ")
            ),
        }
    }

    /// Value of a read pixel.
    pub fn read_value(self, p: &ReadPixel) -> u8 {
        match self {
            Channel::ReadBase => base_value(p.base),
            Channel::BaseQuality => scale(f32::from(p.quality), 40.0),
            Channel::MappingQuality => scale(f32::from(p.mapq), 60.0),
            Channel::Strand => {
                if p.reverse {
                    240
                } else {
                    70
                }
            }
            Channel::ReadSupportsVariant => {
                if p.supports_variant {
                    254
                } else {
                    152
                }
            }
            Channel::BaseDiffersFromRef => {
                if p.base != b'*' && p.base == p.ref_base {
                    50
                } else {
                    254
                }
            }
            Channel::InsertSize => {
                let t = p.tlen.unsigned_abs().min(1000) as f32;
                (254.0f32 * t / 1000.0) as u8
            }
            Channel::Haplotype => match p.hp {
                Some(hp) if hp > 0 => scale(hp as f32, 2.0),
                _ => 0,
            },
        }
    }

    /// Value of the reference band in a column whose reference base is `ref_base`.
    pub fn reference_value(self, ref_base: u8) -> u8 {
        match self {
            Channel::ReadBase => base_value(ref_base),
            Channel::BaseQuality => scale(60.0, 40.0),
            Channel::MappingQuality => scale(60.0, 60.0),
            Channel::Strand => 70,
            Channel::ReadSupportsVariant => 152,
            Channel::BaseDiffersFromRef => 50,
            Channel::InsertSize => 254,
            Channel::Haplotype => 0,
        }
    }
}
