//! Channel values and pixel layout on hand-built reads (noodles `RecordBuf`s).

use noodles::core::Position;
use noodles::sam::alignment::record::cigar::op::{Kind, Op};
use noodles::sam::alignment::record::data::field::Tag;
use noodles::sam::alignment::record::{Flags, MappingQuality};
use noodles::sam::alignment::record_buf::data::field::Value;
use noodles::sam::alignment::RecordBuf;

use super::channels::{base_value, scale, Channel, WGS_CHANNELS};
use super::draw::Pileup;
use super::geometry::{Geometry, Image};
use super::read::{AlignedRead, Skip};
use super::reference::ReferenceSlice;
use super::shuffle::read_order;

/// Candidate position used throughout: column 110 of a 221-wide image.
const POS: i64 = 500;
const ALL8: [Channel; 8] = [
    Channel::ReadBase,
    Channel::BaseQuality,
    Channel::MappingQuality,
    Channel::Strand,
    Channel::ReadSupportsVariant,
    Channel::BaseDiffersFromRef,
    Channel::InsertSize,
    Channel::Haplotype,
];

fn reference() -> ReferenceSlice {
    ReferenceSlice {
        start: 0,
        bases: b"ACGTTGCA".iter().copied().cycle().take(2000).collect(),
    }
}

struct Spec<'a> {
    name: &'a str,
    start: i64,
    flags: Flags,
    mapq: u8,
    cigar: &'a [(Kind, usize)],
    seq: Vec<u8>,
    quals: Vec<u8>,
    tlen: i32,
    hp: Option<i32>,
}

impl Default for Spec<'_> {
    fn default() -> Self {
        Self {
            name: "r",
            start: 480,
            flags: Flags::SEGMENTED | Flags::FIRST_SEGMENT,
            mapq: 60,
            cigar: &[(Kind::Match, 50)],
            seq: Vec::new(),
            quals: Vec::new(),
            tlen: 300,
            hp: None,
        }
    }
}

/// Reference bases for a read of `len` aligned bases at `start`.
fn ref_bases(start: i64, len: usize) -> Vec<u8> {
    reference().window(start, start + len as i64)
}

fn build(spec: Spec) -> RecordBuf {
    let read_len: usize = spec
        .cigar
        .iter()
        .filter(|(k, _)| k.consumes_read())
        .map(|(_, n)| n)
        .sum();
    let seq = if spec.seq.is_empty() {
        ref_bases(spec.start, read_len)
    } else {
        spec.seq
    };
    let quals = if spec.quals.is_empty() {
        vec![30; seq.len()]
    } else {
        spec.quals
    };
    let mut b = RecordBuf::builder()
        .set_name(spec.name)
        .set_flags(spec.flags)
        .set_reference_sequence_id(0)
        .set_alignment_start(Position::try_from(spec.start as usize + 1).unwrap())
        .set_mapping_quality(MappingQuality::new(spec.mapq).unwrap())
        .set_cigar(spec.cigar.iter().map(|&(k, n)| Op::new(k, n)).collect())
        .set_sequence(seq.into())
        .set_quality_scores(quals.into())
        .set_template_length(spec.tlen);
    if let Some(hp) = spec.hp {
        b = b.set_data(
            [(Tag::new(b'H', b'P'), Value::from(hp))]
                .into_iter()
                .collect(),
        );
    }
    b.build()
}

/// A header for records that name their contigs by index only.
fn header() -> noodles::sam::Header {
    noodles::sam::Header::default()
}

fn read(spec: Spec) -> AlignedRead {
    AlignedRead::decode(&build(spec), &header(), 5)
        .unwrap()
        .unwrap()
}

fn geometry() -> Geometry {
    Geometry::new(100, 221).unwrap()
}

fn draw(reads: &[AlignedRead], channels: &[Channel], supports: &[bool]) -> Image {
    let g = geometry();
    let window = reference().window(g.window_start(POS), g.window_start(POS) + 221);
    let pileup = Pileup {
        geometry: g,
        channels,
        min_base_quality: 10,
        start: POS,
        end: POS + 1,
        reference: &window,
    };
    let refs: Vec<&AlignedRead> = reads.iter().collect();
    pileup.draw(&refs, &|i| supports[i])
}

fn col(pos: i64) -> usize {
    geometry().column(POS, pos).unwrap()
}

#[test]
fn scale_and_base_values_follow_the_spec() {
    assert_eq!(scale(60.0, 40.0), 254);
    assert_eq!(scale(30.0, 40.0), 190);
    assert_eq!(scale(30.0, 60.0), 127);
    assert_eq!(scale(1.0, 2.0), 127);
    assert_eq!(
        [b'A', b'G', b'T', b'C', b'N', b'*', b'a'].map(base_value),
        [250, 180, 100, 30, 0, 0, 250]
    );
    assert_eq!(Channel::parse("insert_size").unwrap(), Channel::InsertSize);
    let err = Channel::parse("colour").unwrap_err().to_string();
    assert!(
        err.contains("unknown channel 'colour'") && err.contains("haplotype"),
        "{err}"
    );
}

#[test]
fn layout_puts_the_candidate_at_column_110_and_leaves_empty_rows_zero() {
    let image = draw(&[read(Spec::default())], &WGS_CHANNELS, &[false]);
    assert_eq!(image.data.len(), 100 * 221 * 7);
    assert_eq!(col(POS), 110);
    let ref_base = reference().base(POS);
    for row in 0..5 {
        for c in 0..221 {
            let base = reference().base(POS - 110 + c as i64);
            assert_eq!(
                image.pixel(row, c),
                &[base_value(base), 254, 254, 70, 152, 50, 254],
                "reference row {row} column {c}"
            );
        }
    }
    assert_eq!(image.pixel(0, 110)[0], base_value(ref_base));
    assert!(image.pixel(5, 110).iter().all(|&v| v > 0));
    assert!(
        image.data[6 * 221 * 7..].iter().all(|&v| v == 0),
        "rows 6.. are empty"
    );
    // HWC order: byte (row * W + col) * C + ch.
    assert_eq!(image.data[(5 * 221 + 110) * 7 + 3], 70);
}

#[test]
fn forward_read_pixels_have_every_channel_value() {
    let r = read(Spec {
        hp: Some(1),
        ..Spec::default()
    });
    let image = draw(&[r], &ALL8, &[false]);
    let base = reference().base(POS);
    assert_eq!(
        image.pixel(5, col(POS)),
        &[base_value(base), 190, 254, 70, 152, 50, 76, 127]
    );
    // Drawn from 480 to 529 only.
    assert!(image.pixel(5, col(479)).iter().all(|&v| v == 0));
    assert!(image.pixel(5, col(480)).iter().all(|&v| v > 0));
    assert!(image.pixel(5, col(529)).iter().all(|&v| v > 0));
    assert!(image.pixel(5, col(530)).iter().all(|&v| v == 0));
}

#[test]
fn reverse_supporting_mismatching_read_pixels() {
    let mut seq = ref_bases(480, 50);
    seq[20] = if seq[20] == b'A' { b'C' } else { b'A' };
    let mut quals = vec![50; 50];
    quals[21] = 20;
    let r = read(Spec {
        flags: Flags::SEGMENTED | Flags::LAST_SEGMENT | Flags::REVERSE_COMPLEMENTED,
        mapq: 30,
        seq: seq.clone(),
        quals,
        tlen: -1500,
        hp: Some(2),
        ..Spec::default()
    });
    assert_eq!(r.read_number, 1);
    let image = draw(&[r], &ALL8, &[true]);
    assert_eq!(
        image.pixel(5, col(POS)),
        &[base_value(seq[20]), 254, 127, 240, 254, 254, 254, 254]
    );
    assert_eq!(image.pixel(5, col(POS + 1))[1], scale(20.0, 40.0));
    assert_eq!(image.pixel(5, col(POS + 1))[5], 50);
}

#[test]
fn insertion_draws_one_star_at_the_anchor_with_the_first_inserted_quality() {
    let mut seq = ref_bases(495, 10);
    seq.extend_from_slice(b"GGG");
    seq.extend(ref_bases(505, 10));
    let mut quals = vec![30; 23];
    quals[10] = 12;
    quals[9] = 35;
    let r = read(Spec {
        start: 495,
        cigar: &[(Kind::Match, 10), (Kind::Insertion, 3), (Kind::Match, 10)],
        seq,
        quals,
        ..Spec::default()
    });
    assert_eq!(r.end, 515);
    let image = draw(&[r], &WGS_CHANNELS, &[true]);
    // Anchor 504: '*' (read_base 0, differs 254) with the quality of the first inserted base.
    assert_eq!(
        image.pixel(5, col(504)),
        &[0, scale(12.0, 40.0), 254, 70, 254, 254, 76]
    );
    // The next column continues with the read base after the insertion.
    assert_eq!(
        image.pixel(5, col(505))[0],
        base_value(reference().base(505))
    );
    assert_eq!(image.pixel(5, col(505))[5], 50);
    assert!(image.pixel(5, col(515)).iter().all(|&v| v == 0));
}

#[test]
fn deletion_draws_a_star_at_the_anchor_and_leaves_deleted_columns_empty() {
    let mut seq = ref_bases(495, 10);
    seq.extend(ref_bases(509, 10));
    let mut quals = vec![30; 20];
    quals[9] = 22;
    let r = read(Spec {
        start: 495,
        cigar: &[(Kind::Match, 10), (Kind::Deletion, 4), (Kind::Match, 10)],
        seq,
        quals,
        ..Spec::default()
    });
    let image = draw(&[r], &WGS_CHANNELS, &[false]);
    assert_eq!(
        image.pixel(5, col(504)),
        &[0, scale(22.0, 40.0), 254, 70, 152, 254, 76]
    );
    for pos in 505..509 {
        assert!(
            image.pixel(5, col(pos)).iter().all(|&v| v == 0),
            "deleted {pos}"
        );
    }
    assert_eq!(
        image.pixel(5, col(509))[0],
        base_value(reference().base(509))
    );
}

#[test]
fn soft_clips_draw_nothing() {
    let mut seq = b"TTTTT".to_vec();
    seq.extend(ref_bases(500, 20));
    let r = read(Spec {
        start: 500,
        cigar: &[(Kind::SoftClip, 5), (Kind::Match, 20)],
        seq,
        ..Spec::default()
    });
    let image = draw(&[r], &ALL8, &[false]);
    for pos in 490..500 {
        assert!(
            image.pixel(5, col(pos)).iter().all(|&v| v == 0),
            "clipped {pos}"
        );
    }
    assert_eq!(
        image.pixel(5, col(500))[0],
        base_value(reference().base(500))
    );
    assert_eq!(image.pixel(5, col(500))[5], 50);
    assert_eq!(image.pixel(5, col(500))[7], 0, "no HP tag: haplotype 0");
    assert_eq!(
        image.pixel(0, col(500))[7],
        0,
        "haplotype reference rows are 0"
    );
}

#[test]
fn low_base_quality_at_the_candidate_drops_the_read() {
    let mut low_at_candidate = vec![30; 50];
    low_at_candidate[20] = 9;
    let mut low_elsewhere = vec![30; 50];
    low_elsewhere[5] = 2;
    let reads = [
        read(Spec {
            name: "a",
            quals: low_at_candidate,
            ..Spec::default()
        }),
        read(Spec {
            name: "b",
            quals: low_elsewhere,
            ..Spec::default()
        }),
    ];
    let image = draw(&reads, &WGS_CHANNELS, &[false, false]);
    assert_eq!(
        image.pixel(5, col(485))[1],
        scale(2.0, 40.0),
        "read b is row 5"
    );
    assert!(
        image.data[6 * 221 * 7..].iter().all(|&v| v == 0),
        "read a has no row"
    );
}

#[test]
fn filtered_records_are_skipped() {
    let dup = build(Spec {
        flags: Flags::DUPLICATE,
        ..Spec::default()
    });
    assert_eq!(
        AlignedRead::decode(&dup, &header(), 5).unwrap(),
        Err(Skip::Flags)
    );
    let low = build(Spec {
        mapq: 4,
        ..Spec::default()
    });
    assert_eq!(
        AlignedRead::decode(&low, &header(), 5).unwrap(),
        Err(Skip::MappingQuality)
    );
    for flags in [
        Flags::SECONDARY,
        Flags::SUPPLEMENTARY,
        Flags::QC_FAIL,
        Flags::UNMAPPED,
    ] {
        let r = build(Spec {
            flags,
            ..Spec::default()
        });
        assert_eq!(
            AlignedRead::decode(&r, &header(), 5).unwrap(),
            Err(Skip::Flags)
        );
    }
}

#[test]
fn a_pair_split_across_contigs_is_skipped_unless_marked_properly_paired() {
    // Paired reads (not marked properly paired) with the mate on contig 1, on contig 0, or unmapped.
    let with_mate = |flags: Flags, mate: Option<usize>| {
        let mut r = build(Spec {
            flags: flags | Flags::SEGMENTED | Flags::FIRST_SEGMENT,
            ..Spec::default()
        });
        *r.mate_reference_sequence_id_mut() = mate;
        AlignedRead::decode(&r, &header(), 5).unwrap().err()
    };
    assert_eq!(
        with_mate(Flags::empty(), Some(1)),
        Some(Skip::ImproperlyPlaced)
    );
    assert_eq!(with_mate(Flags::empty(), Some(0)), None);
    assert_eq!(with_mate(Flags::MATE_UNMAPPED, None), None);
    assert_eq!(with_mate(Flags::PROPERLY_SEGMENTED, Some(1)), None);
}

#[test]
fn more_than_95_reads_are_downsampled_in_deepvariants_order_and_sorted_by_start() {
    let n = 120;
    let names: Vec<String> = (0..n).map(|i| format!("r{i:03}")).collect();
    let reads: Vec<AlignedRead> = (0..n)
        .map(|i| {
            let mut quals = vec![30; 100];
            if i == 7 {
                quals[(POS - (420 + i as i64 / 2)) as usize] = 3;
            }
            read(Spec {
                name: &names[i],
                start: 420 + i as i64 / 2,
                cigar: &[(Kind::Match, 100)],
                quals,
                ..Spec::default()
            })
        })
        .collect();
    let image = draw(&reads, &WGS_CHANNELS, &vec![false; n]);
    // Expected: shuffled order, read 7 rejected for its base quality at the candidate, first 95 kept.
    let mut want: Vec<i64> = read_order(n, 95)
        .into_iter()
        .filter(|&i| i != 7)
        .take(95)
        .map(|i| 420 + i as i64 / 2)
        .collect();
    want.sort_unstable();
    let got: Vec<i64> = (5..100)
        .map(|row| {
            let first = (0..221)
                .find(|&c| image.pixel(row, c)[0] != 0)
                .expect("every row holds a read");
            POS - 110 + first as i64
        })
        .collect();
    assert_eq!(got, want);
}

#[test]
fn reads_starting_together_keep_their_input_order() {
    // 30 reads (more than an insertion sort's 16) at three starts, told apart by base quality.
    let reads: Vec<AlignedRead> = (0..30)
        .map(|i| {
            read(Spec {
                start: 470 + (i % 3) as i64,
                quals: vec![11 + i as u8; 50],
                ..Spec::default()
            })
        })
        .collect();
    let rows = |reads: &[AlignedRead]| -> Vec<(i64, u8)> {
        let image = draw(reads, &[Channel::BaseQuality], &[false; 30]);
        (5..35)
            .map(|row| {
                let first = (0..221).find(|&c| image.pixel(row, c)[0] != 0).unwrap();
                (POS - 110 + first as i64, image.pixel(row, first)[0])
            })
            .collect()
    };
    let quality = |q: u8| scale(f32::from(q), 40.0);
    let mut want: Vec<(i64, u8)> = (0..30)
        .map(|i| (470 + (i % 3) as i64, quality(11 + i as u8)))
        .collect();
    want.sort_by_key(|&(start, _)| start);
    assert_eq!(rows(&reads), want);
    // Reversed input: the reads of each start come in reverse too.
    let reversed: Vec<AlignedRead> = reads.into_iter().rev().collect();
    let mut want: Vec<(i64, u8)> = want.into_iter().rev().collect();
    want.sort_by_key(|&(start, _)| start);
    assert_eq!(rows(&reversed), want);
}

#[test]
fn a_cigar_that_does_not_match_the_sequence_is_an_error_naming_the_read() {
    let bad = build(Spec {
        name: "r10",
        cigar: &[(Kind::Match, 40)],
        seq: ref_bases(480, 50),
        ..Spec::default()
    });
    let error = AlignedRead::decode(&bad, &header(), 5)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("read 'r10'")
            && error.contains("CIGAR covers 40 read bases but the sequence has 50"),
        "{error}"
    );
}
