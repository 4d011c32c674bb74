//! DeepVariant's `tf.Example` records: the protobuf messages (as far as pipe needs them) and their
//! conversion to and from pipe's [`Example`].
//!
//! Field numbers follow TensorFlow's `feature.proto` and Nucleus' `variants.proto`; unknown fields are
//! skipped when decoding. Feature keys and values follow DeepVariant's `make_examples` (see
//! `docs/deepvariant-pileup.md` section 3).

use std::collections::BTreeMap;

use anyhow::{anyhow, bail, Context, Result};
use prost::Message;

use crate::data::examples::{Example as PipeExample, ImageShape};

/// `tensorflow.Example`.
#[derive(Clone, PartialEq, Message)]
pub struct Example {
    /// The named features.
    #[prost(message, optional, tag = "1")]
    pub features: Option<Features>,
}

/// `tensorflow.Features`: a map from key to feature (a B-tree so that encoding is deterministic).
#[derive(Clone, PartialEq, Message)]
pub struct Features {
    /// Features by key.
    #[prost(btree_map = "string, message", tag = "1")]
    pub feature: BTreeMap<String, Feature>,
}

/// `tensorflow.Feature`: one list of bytes, floats or int64s.
#[derive(Clone, PartialEq, Message)]
pub struct Feature {
    /// The list.
    #[prost(oneof = "feature::Kind", tags = "1, 2, 3")]
    pub kind: Option<feature::Kind>,
}

/// The value kinds of a [`Feature`].
pub mod feature {
    /// Which list a feature holds.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Kind {
        /// `bytes_list`.
        #[prost(message, tag = "1")]
        BytesList(super::BytesList),
        /// `float_list`.
        #[prost(message, tag = "2")]
        FloatList(super::FloatList),
        /// `int64_list`.
        #[prost(message, tag = "3")]
        Int64List(super::Int64List),
    }
}

/// `tensorflow.BytesList`.
#[derive(Clone, PartialEq, Message)]
pub struct BytesList {
    /// Values.
    #[prost(bytes = "vec", repeated, tag = "1")]
    pub value: Vec<Vec<u8>>,
}

/// `tensorflow.FloatList` (packed).
#[derive(Clone, PartialEq, Message)]
pub struct FloatList {
    /// Values.
    #[prost(float, repeated, tag = "1")]
    pub value: Vec<f32>,
}

/// `tensorflow.Int64List` (packed).
#[derive(Clone, PartialEq, Message)]
pub struct Int64List {
    /// Values.
    #[prost(int64, repeated, tag = "1")]
    pub value: Vec<i64>,
}

/// `nucleus.genomics.v1.Variant`, the fields pipe uses.
#[derive(Clone, PartialEq, Message)]
pub struct Variant {
    /// Reference allele.
    #[prost(string, tag = "6")]
    pub reference_bases: String,
    /// Alternate alleles.
    #[prost(string, repeated, tag = "7")]
    pub alternate_bases: Vec<String>,
    /// Per-sample calls.
    #[prost(message, repeated, tag = "11")]
    pub calls: Vec<VariantCall>,
    /// End, 0-based exclusive.
    #[prost(int64, tag = "13")]
    pub end: i64,
    /// Contig.
    #[prost(string, tag = "14")]
    pub reference_name: String,
    /// Start, 0-based.
    #[prost(int64, tag = "16")]
    pub start: i64,
}

/// `nucleus.genomics.v1.VariantCall`, the fields pipe uses.
#[derive(Clone, PartialEq, Message)]
pub struct VariantCall {
    /// Genotype (allele indices).
    #[prost(int32, repeated, tag = "7")]
    pub genotype: Vec<i32>,
    /// Sample name.
    #[prost(string, tag = "9")]
    pub call_set_name: String,
}

/// `CallVariantsOutput.AltAlleleIndices`: which alternate alleles an example stands for.
#[derive(Clone, PartialEq, Message)]
pub struct AltAlleleIndices {
    /// 0-based indices into `Variant.alternate_bases`.
    #[prost(int32, repeated, tag = "1")]
    pub indices: Vec<i32>,
}

/// DeepVariant's channel ids (`DeepVariantChannelEnum` in `deepvariant.proto`) and pipe's channel names.
const CHANNELS: &[(i64, &str)] = &[
    (1, "read_base"),
    (2, "base_quality"),
    (3, "mapping_quality"),
    (4, "strand"),
    (5, "read_supports_variant"),
    (6, "base_differs_from_ref"),
    (7, "haplotype"),
    (8, "allele_frequency"),
    (9, "diff_channels_alternate_allele_1"),
    (10, "diff_channels_alternate_allele_2"),
    (11, "read_mapping_percent"),
    (12, "avg_base_quality"),
    (13, "identity"),
    (14, "gap_compressed_identity"),
    (15, "gc_content"),
    (16, "is_homopolymer"),
    (17, "homopolymer_weighted"),
    (18, "blank"),
    (19, "insert_size"),
    (20, "base_channels_alternate_allele_1"),
    (21, "base_channels_alternate_allele_2"),
];

/// The channel name of DeepVariant channel id `id`, if it is one.
pub fn channel_name(id: i64) -> Option<&'static str> {
    CHANNELS.iter().find(|(i, _)| *i == id).map(|(_, n)| *n)
}

/// The DeepVariant channel id of channel `name`, if it is one.
pub fn channel_id(name: &str) -> Option<i64> {
    CHANNELS.iter().find(|(_, n)| *n == name).map(|(i, _)| *i)
}

/// One decoded DeepVariant example.
#[derive(Debug, Clone, PartialEq)]
pub struct DvExample {
    /// `image/shape`: height, width, channels.
    pub shape: [usize; 3],
    /// The example in pipe's terms (`sample` empty unless the variant's first call names one).
    pub example: PipeExample,
}

fn feature<'a>(features: &'a Features, key: &str) -> Option<&'a feature::Kind> {
    features.feature.get(key).and_then(|f| f.kind.as_ref())
}

fn single_bytes<'a>(features: &'a Features, key: &str) -> Result<Option<&'a [u8]>> {
    match feature(features, key) {
        None => Ok(None),
        Some(feature::Kind::BytesList(l)) if l.value.len() == 1 => Ok(Some(&l.value[0])),
        Some(feature::Kind::BytesList(l)) => {
            bail!("feature '{key}' has {} values, expected 1", l.value.len())
        }
        Some(_) => bail!("feature '{key}' is not a bytes list"),
    }
}

fn int64s<'a>(features: &'a Features, key: &str) -> Result<Option<&'a [i64]>> {
    match feature(features, key) {
        None => Ok(None),
        Some(feature::Kind::Int64List(l)) => Ok(Some(&l.value)),
        Some(_) => bail!("feature '{key}' is not an int64 list"),
    }
}

/// Decodes one serialized DeepVariant `tf.Example` (one TFRecord record).
///
/// The example's `alt` is the alt set it stands for (`alt_allele_indices/encoded`, all alternate
/// alleles when absent), comma-joined; its `id` is `chrom:pos1:ref>alt` with `pos1` the 1-based
/// position, as in VCF.
pub fn decode(record: &[u8]) -> Result<DvExample> {
    let example = Example::decode(record).context("not a tf.Example protobuf")?;
    let features = example
        .features
        .ok_or_else(|| anyhow!("the tf.Example has no features"))?;
    let missing = |key: &str| anyhow!("feature '{key}' is missing; is this a DeepVariant example?");

    if let Some(format) = single_bytes(&features, "image/format")? {
        if format != b"raw" {
            bail!(
                "image/format is '{}'; only raw images are supported (DeepVariant 0.8 and later)",
                String::from_utf8_lossy(format)
            );
        }
    }
    let shape = int64s(&features, "image/shape")?.ok_or_else(|| missing("image/shape"))?;
    let shape: [usize; 3] = match shape {
        [h, w, c] if *h > 0 && *w > 0 && *c > 0 => [*h as usize, *w as usize, *c as usize],
        other => bail!("image/shape is {other:?}, expected [height, width, channels] > 0"),
    };
    let image =
        single_bytes(&features, "image/encoded")?.ok_or_else(|| missing("image/encoded"))?;
    let want = shape[0]
        .checked_mul(shape[1])
        .and_then(|hw| hw.checked_mul(shape[2]));
    if want != Some(image.len()) {
        bail!(
            "image/encoded has {} bytes, image/shape {:?} needs {}",
            image.len(),
            shape,
            want.map_or_else(|| "more than fit in memory".to_string(), |n| n.to_string())
        );
    }
    let variant =
        single_bytes(&features, "variant/encoded")?.ok_or_else(|| missing("variant/encoded"))?;
    let variant = Variant::decode(variant).context("variant/encoded is not a Nucleus Variant")?;
    let alts = match single_bytes(&features, "alt_allele_indices/encoded")? {
        None => variant.alternate_bases.clone(),
        Some(bytes) => AltAlleleIndices::decode(bytes)
            .context("alt_allele_indices/encoded is not an AltAlleleIndices protobuf")?
            .indices
            .iter()
            .map(|&i| {
                usize::try_from(i)
                    .ok()
                    .and_then(|i| variant.alternate_bases.get(i).cloned())
                    .ok_or_else(|| {
                        anyhow!(
                            "alt allele index {i} is out of range: the variant has {} alternate alleles",
                            variant.alternate_bases.len()
                        )
                    })
            })
            .collect::<Result<Vec<_>>>()?,
    };
    let label = match int64s(&features, "label")? {
        None | Some([]) => None,
        Some([l @ 0..=2]) => Some(*l as i8),
        Some(other) => bail!("label is {other:?}, expected one of 0, 1, 2"),
    };
    let alt = alts.join(",");
    let example = PipeExample {
        id: format!(
            "{}:{}:{}>{}",
            variant.reference_name,
            variant.start.saturating_add(1),
            variant.reference_bases,
            alt
        ),
        sample: variant
            .calls
            .first()
            .map(|c| c.call_set_name.clone())
            .unwrap_or_default(),
        chrom: variant.reference_name,
        pos: variant.start,
        ref_allele: variant.reference_bases,
        alt,
        label,
        image: image.to_vec(),
        site: None,
    };
    Ok(DvExample { shape, example })
}

fn bytes_feature(value: Vec<u8>) -> Feature {
    Feature {
        kind: Some(feature::Kind::BytesList(BytesList { value: vec![value] })),
    }
}

fn int64_feature(value: Vec<i64>) -> Feature {
    Feature {
        kind: Some(feature::Kind::Int64List(Int64List { value })),
    }
}

/// Encodes `example` (an image of `shape`) as DeepVariant's `make_examples` does.
///
/// The variant holds only the example's own alternate alleles, so `alt_allele_indices` are `0..n`;
/// `label` is written when known, `sequencing_type` is left out (unspecified).
pub fn encode(example: &PipeExample, shape: &ImageShape) -> Vec<u8> {
    let alts: Vec<String> = if example.alt.is_empty() {
        Vec::new()
    } else {
        example.alt.split(',').map(str::to_string).collect()
    };
    let end = example.pos.saturating_add(example.ref_allele.len() as i64);
    let variant_type = if alts.is_empty() {
        0
    } else if example.ref_allele.len() == 1 && alts.iter().all(|a| a.len() == 1) {
        1
    } else {
        2
    };
    let indices = AltAlleleIndices {
        indices: (0..alts.len() as i32).collect(),
    };
    let variant = Variant {
        reference_bases: example.ref_allele.clone(),
        alternate_bases: alts,
        calls: if example.sample.is_empty() {
            Vec::new()
        } else {
            vec![VariantCall {
                genotype: Vec::new(),
                call_set_name: example.sample.clone(),
            }]
        },
        end,
        reference_name: example.chrom.clone(),
        start: example.pos,
    };
    let mut feature = BTreeMap::from([
        (
            "image/encoded".to_string(),
            bytes_feature(example.image.clone()),
        ),
        (
            "image/shape".to_string(),
            int64_feature(vec![
                shape.height as i64,
                shape.width as i64,
                shape.channels.len() as i64,
            ]),
        ),
        (
            "variant/encoded".to_string(),
            bytes_feature(variant.encode_to_vec()),
        ),
        (
            "alt_allele_indices/encoded".to_string(),
            bytes_feature(indices.encode_to_vec()),
        ),
        (
            "locus".to_string(),
            bytes_feature(
                format!(
                    "{}:{}-{}",
                    example.chrom,
                    example.pos.saturating_add(1),
                    end
                )
                .into_bytes(),
            ),
        ),
        (
            "variant_type".to_string(),
            int64_feature(vec![variant_type]),
        ),
    ]);
    if let Some(label) = example.label {
        feature.insert("label".to_string(), int64_feature(vec![i64::from(label)]));
    }
    Example {
        features: Some(Features { feature }),
    }
    .encode_to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape() -> ImageShape {
        ImageShape {
            height: 2,
            width: 3,
            channels: vec!["read_base".into(), "strand".into()],
        }
    }

    fn example(alt: &str, label: Option<i8>) -> PipeExample {
        PipeExample {
            id: format!("chr20:101:A>{alt}"),
            sample: "NA12878".into(),
            chrom: "chr20".into(),
            pos: 100,
            ref_allele: "A".into(),
            alt: alt.into(),
            label,
            site: None,
            image: (0..12).collect(),
        }
    }

    #[test]
    fn encode_then_decode_keeps_the_example() {
        for (alt, label) in [("C", Some(1)), ("C,TT", Some(2)), ("G", None)] {
            let e = example(alt, label);
            let back = decode(&encode(&e, &shape())).unwrap();
            assert_eq!(back.shape, [2, 3, 2]);
            assert_eq!(back.example, e);
        }
    }

    #[test]
    fn alt_allele_indices_pick_the_example_alts() {
        let variant = Variant {
            reference_bases: "A".into(),
            alternate_bases: vec!["C".into(), "T".into()],
            calls: vec![],
            end: 11,
            reference_name: "chr1".into(),
            start: 10,
        };
        let with_indices = |indices: Vec<i32>| {
            let mut ex =
                Example::decode(encode(&example("C", Some(0)), &shape()).as_slice()).unwrap();
            let map = &mut ex.features.as_mut().unwrap().feature;
            map.insert(
                "variant/encoded".into(),
                bytes_feature(variant.encode_to_vec()),
            );
            map.insert(
                "alt_allele_indices/encoded".into(),
                bytes_feature(AltAlleleIndices { indices }.encode_to_vec()),
            );
            decode(&ex.encode_to_vec())
        };
        let back = with_indices(vec![1]).unwrap().example;
        assert_eq!(
            (back.id.as_str(), back.alt.as_str(), back.pos),
            ("chr1:11:A>T", "T", 10)
        );
        assert_eq!(back.sample, "");
        let both = with_indices(vec![0, 1]).unwrap().example;
        assert_eq!(both.alt, "C,T");
        let err = with_indices(vec![2]).unwrap_err().to_string();
        assert!(err.contains("alt allele index 2 is out of range"), "{err}");
    }

    #[test]
    fn alt_allele_indices_encoding_matches_the_spec() {
        // docs/deepvariant-pileup.md: indices [0] encode as 0a 01 00 (packed).
        assert_eq!(
            AltAlleleIndices { indices: vec![0] }.encode_to_vec(),
            vec![0x0a, 0x01, 0x00]
        );
    }

    #[test]
    fn bad_examples_say_what_is_wrong() {
        let good = Example::decode(encode(&example("C", Some(1)), &shape()).as_slice()).unwrap();
        let with = |key: &str, f: Option<Feature>| {
            let mut ex = good.clone();
            let map = &mut ex.features.as_mut().unwrap().feature;
            match f {
                Some(f) => map.insert(key.into(), f),
                None => map.remove(key),
            };
            decode(&ex.encode_to_vec()).unwrap_err().to_string()
        };
        assert!(with("image/encoded", None).contains("feature 'image/encoded' is missing"));
        assert!(with("image/shape", Some(int64_feature(vec![2, 3, 3])))
            .contains("image/encoded has 12 bytes, image/shape [2, 3, 3] needs 18"));
        assert!(with("label", Some(int64_feature(vec![3]))).contains("label is [3]"));
        assert!(with("image/format", Some(bytes_feature(b"png".to_vec())))
            .contains("image/format is 'png'"));
        assert!(decode(b"\xff\xff\xff")
            .unwrap_err()
            .to_string()
            .contains("not a tf.Example"));
    }

    #[test]
    fn channel_ids_round_trip() {
        assert_eq!(channel_name(19), Some("insert_size"));
        assert_eq!(channel_id("read_supports_variant"), Some(5));
        assert_eq!(channel_name(0), None);
        for (id, name) in CHANNELS {
            assert_eq!(channel_id(name), Some(*id));
        }
    }
}
