//! Issue 16: our images of DeepVariant 1.5's golden training window against its own examples, byte by
//! byte (`shared/data/deepvariant-golden/golden.training_examples.tfrecord.gz`, made with the options in
//! its `run_info.pbtxt`: 6 channels, realigner on, partition_size 1000, min MAPQ 5, min base quality 10).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::*;
use crate::analysis::evaluate::variants;
use crate::data::examples::ExamplesFile;
use crate::data::sources::{tf_example, tfrecord::RecordReader};

/// Images identical to DeepVariant's; the test fails when fewer are.
const IDENTICAL_AT_LEAST: usize = 49;

/// Where DeepVariant's own calling examples of the window differ from its calls file (DeepVariant
/// 1.1.0's `golden.postprocess_single_site_output.vcf`, one record per candidate with all its alts), as
/// `position ref>alts`: the examples' sites, then the calls file's. DeepVariant's calling examples
/// (`golden.calling_examples.tfrecord.gz` of its test data, 84 records, not in `../shared`) have
/// `C>A,CA` at 10,008,758, where postprocess dropped the `A` (QUAL below 1); `G>A` at 10,009,844 and
/// `A>G` at 10,009,877, where 1.1.0 had kept reads whose realigned indel could move left; and nothing at
/// 10,002,457, where 1.1.0 had kept a deletion next to an insertion uncancelled. Calling mode must give
/// the examples' sites; the test fails on any other difference.
const CALLING_SITES_DIFFERING: [&[&str]; 2] = [
    &["10008758 C>A,CA", "10009844 G>A", "10009877 A>G"],
    &["10002457 AG>A", "10008758 C>CA", "10009844 G>A,AAGAGAGAG"],
];

/// The site whose alt postprocess dropped: the calls file's record there is ours without it.
const CALLING_SITE_PRUNED: i64 = 10_008_758;

/// A site's DP and AD.
type Depths = (i32, &'static [i32]);

/// The calls file's sites where DP and AD are not 1.1.0's: the realigner's two rules change which
/// reads keep their own alignment near 10,002,457 and 10,009,844 and at the CA repeat of 10,008,952.
/// With each, DeepVariant 1.7.0's DP and AD there (its calls of the window,
/// `golden.postprocess_single_site_output_with_small_model.vcf` in its test data) where ours are
/// those; at the other two its counts differ from 1.1.0's too, and from ours by one read.
const DEPTHS_NOT_1_1: [(i64, Option<Depths>); 5] = [
    (10_002_458, Some((53, &[3, 27, 15]))),
    (10_008_952, None),
    (10_009_871, Some((47, &[9, 38]))),
    (10_009_875, Some((52, &[7, 44]))),
    (10_009_879, None),
];

/// The examples' two sites the calls file lacks, with DeepVariant 1.7.0's DP and AD there.
const DEPTHS_OF_SITES_NOT_IN_1_1: [(i64, Depths); 2] =
    [(10_009_844, (41, &[10, 31])), (10_009_877, (38, &[33, 5]))];

/// DeepVariant's calling examples of the window (one per alt subset of each candidate).
const DEEPVARIANT_CALLING_EXAMPLES: usize = 84;

/// A site's alleles and read counts: reference allele, alts, DP and AD.
type SiteCounts = (Vec<u8>, Vec<Vec<u8>>, i32, Vec<i32>);

/// Whether DeepVariant's record `dv` is `ours` with alts taken out: the same reference allele, its alts
/// among ours, the same DP, and AD equal to ours for the reference and the alts it kept. That is what
/// DeepVariant's postprocess_variants leaves of a multi-allelic site when it drops an alt whose own
/// example scores QUAL below `multi_allelic_qual_filter` (1): it keeps DP and re-indexes AD.
fn is_ours_with_alts_dropped(ours: &SiteCounts, dv: &SiteCounts) -> bool {
    let (ref_allele, alts, depth, allele_depths) = ours;
    let kept: Option<Vec<i32>> =
        dv.1.iter()
            .map(|alt| {
                alts.iter()
                    .position(|a| a == alt)
                    .map(|i| allele_depths[i + 1])
            })
            .collect();
    let Some(kept) = kept else {
        return false;
    };
    let mut expected = vec![allele_depths[0]];
    expected.extend(kept);
    dv.0 == *ref_allele && dv.2 == *depth && dv.3 == expected && dv.1.len() < alts.len()
}

/// DP and AD of each record of DeepVariant's calls, keyed like the calling test's sites.
fn depths_of_calls(path: &Path) -> BTreeMap<i64, (i32, Vec<i32>)> {
    use noodles::vcf::variant::record::samples::series::value::Array;
    use noodles::vcf::variant::record::samples::series::Value;
    use noodles::vcf::variant::record::samples::Sample as _;
    let mut reader = noodles::vcf::io::reader::Builder::default()
        .build_from_path(path)
        .unwrap();
    let header = reader.read_header().unwrap();
    let mut out = BTreeMap::new();
    for record in reader.records() {
        let record = record.unwrap();
        let start = usize::from(record.variant_start().unwrap().unwrap()) as i64 - 1;
        let sample = record.samples().get_index(0).unwrap();
        let depth = match sample.get(&header, "DP") {
            Some(Ok(Some(Value::Integer(n)))) => n,
            other => panic!("{path:?} at {start}: DP {other:?}"),
        };
        let allele_depths = match sample.get(&header, "AD") {
            Some(Ok(Some(Value::Array(Array::Integer(values))))) => {
                values.iter().map(|v| v.unwrap().unwrap()).collect()
            }
            other => panic!("{path:?} at {start}: AD {other:?}"),
        };
        out.insert(start, (depth, allele_depths));
    }
    out
}

/// How `ours` differs from `golden` (both HWC with `channels` channels and rows of `width`): the rows
/// that differ and, per channel, the number of differing pixels.
fn differences(
    ours: &[u8],
    golden: &[u8],
    width: usize,
    channels: usize,
) -> (Vec<usize>, Vec<usize>) {
    let mut rows = Vec::new();
    let mut per_channel = vec![0; channels];
    for (r, (a, b)) in ours
        .chunks(width * channels)
        .zip(golden.chunks(width * channels))
        .enumerate()
    {
        if a != b {
            rows.push(r);
        }
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            per_channel[i % channels] += usize::from(x != y);
        }
    }
    (rows, per_channel)
}

/// The real window's inputs, DeepVariant 1.5's options as its run_info.pbtxt gives them (the rest
/// are pipe's defaults) with `labeler`, and the golden examples' path; `None` when ../shared is
/// absent.
fn golden_run(labeler: Labeler) -> Option<(Inputs, Params, PathBuf)> {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data");
    let golden = data.join("deepvariant-golden/golden.training_examples.tfrecord.gz");
    if !golden.exists() {
        pipe_testkit::skip("../shared/data/deepvariant-golden not found");
        return None;
    }
    let dir = data.join("na12878-chr20");
    let inputs = Inputs {
        reads: dir.join("NA12878_S1.chr20.10_10p1mb.bam"),
        reference: dir.join("ucsc.hg19.chr20.unittest.fasta.gz"),
        truth: Some(dir.join("test_nist.b37_chr20_100kbp_at_10mb.vcf.gz")),
        confident: Some(dir.join("test_nist.b37_chr20_100kbp_at_10mb.bed")),
    };
    let channels: Vec<String> = WGS_CHANNELS[..6]
        .iter()
        .map(|c| c.name().to_string())
        .collect();
    let params = Params {
        regions: Some(vec!["chr20:10000000-10010000".into()]),
        channels,
        labeler,
        ..Params::default()
    };
    Some((inputs, params, golden))
}

/// DeepVariant made its golden examples with its haplotype labeler: ours, with `labeler: haplotype`,
/// are the same 49 candidate ids with the same labels.
#[test]
fn haplotype_labels_match_deepvariants_golden_examples() {
    let Some((inputs, params, golden_path)) = golden_run(Labeler::Haplotype) else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("examples.parquet");
    tensorize(&inputs, &params, 2, &path, &ProgressSink::discard()).unwrap();
    let ours: BTreeMap<String, Option<i8>> = ExamplesFile::open(&path)
        .unwrap()
        .read_all()
        .unwrap()
        .into_iter()
        .map(|e| (e.id, e.label))
        .collect();
    let mut golden = BTreeMap::new();
    for record in RecordReader::open(&golden_path).unwrap() {
        let dv = tf_example::decode(&record.unwrap()).unwrap();
        golden.insert(dv.example.id, dv.example.label);
    }
    assert_eq!(golden.len(), 49);
    let labelled =
        |m: &BTreeMap<String, Option<i8>>, l: i8| m.values().filter(|&&v| v == Some(l)).count();
    println!(
        "haplotype labeler: {} examples; labels 0/1/2: ours {}/{}/{}, DeepVariant's {}/{}/{}",
        ours.len(),
        labelled(&ours, 0),
        labelled(&ours, 1),
        labelled(&ours, 2),
        labelled(&golden, 0),
        labelled(&golden, 1),
        labelled(&golden, 2)
    );
    assert_eq!(ours, golden);
}

/// Compares example by example (candidate id, label, image bytes) and prints, for each image that
/// differs, the rows that differ and the differing pixels per channel. With `GOLDEN_DUMP=<dir>` it
/// writes both images of each differing example there (`<id>.ours`, `<id>.golden`, raw HWC bytes).
#[test]
fn images_match_deepvariants_golden_examples() {
    let Some((inputs, params, golden_path)) = golden_run(Labeler::default()) else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("examples.parquet");
    tensorize(&inputs, &params, 2, &path, &ProgressSink::discard()).unwrap();
    let ours: BTreeMap<String, Example> = ExamplesFile::open(&path)
        .unwrap()
        .read_all()
        .unwrap()
        .into_iter()
        .map(|e| (e.id.clone(), e))
        .collect();

    let mut golden = Vec::new();
    for record in RecordReader::open(&golden_path).unwrap() {
        let dv = tf_example::decode(&record.unwrap()).unwrap();
        assert_eq!(dv.shape, [100, 221, 6]);
        golden.push(dv.example);
    }
    assert_eq!(golden.len(), 49);
    let mut identical = 0;
    for g in &golden {
        let Some(e) = ours.get(&g.id) else {
            println!("{}: no example of ours", g.id);
            continue;
        };
        assert_eq!(e.label, g.label, "{}: label", g.id);
        if e.image == g.image {
            identical += 1;
            continue;
        }
        if let Ok(d) = std::env::var("GOLDEN_DUMP") {
            std::fs::write(format!("{d}/{}.ours", g.id), &e.image).unwrap();
            std::fs::write(format!("{d}/{}.golden", g.id), &g.image).unwrap();
        }
        let (rows, per_channel) = differences(&e.image, &g.image, 221, 6);
        println!(
            "{}: {} rows differ {rows:?}; differing pixels per channel {per_channel:?}",
            g.id,
            rows.len()
        );
    }
    assert_eq!(ours.len(), golden.len(), "examples of ours");
    println!("{identical} of {} identical", golden.len());
    assert!(
        identical >= IDENTICAL_AT_LEAST,
        "{identical} identical images, fewer than {IDENTICAL_AT_LEAST}"
    );
}

/// Calling mode with DeepVariant 1.5's options gives DeepVariant's calling examples of the window: its
/// candidate sites, each with its alts (its calls file, PASS and RefCall alike, with the three sites of
/// [`CALLING_SITES_DIFFERING`] as its examples have them), one example per alt subset, 84 in all;
/// prints every site that differs from the calls file. Every site, inside and outside the confident
/// regions, gets one unlabelled example per alt subset (each alt alone, then pairs) recording the
/// site's alleles, DP and AD; at the sites the calls file shares, DP and AD are its; the calling
/// examples of DeepVariant's 49 training candidates are its training images.
#[test]
fn calling_candidates_match_deepvariants_calls() {
    let Some((inputs, mut params, golden_path)) = golden_run(Labeler::default()) else {
        return;
    };
    let calls = variants::read_query(
        &golden_path.with_file_name("golden.postprocess_single_site_output.vcf"),
        None,
    )
    .unwrap();
    assert_eq!(calls.sample, "NA12878");
    let site = |start: i64, ref_allele: &[u8], alts: &[Vec<u8>]| {
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let alts: Vec<String> = alts.iter().map(|a| text(a)).collect();
        format!("{} {}>{}", start + 1, text(ref_allele), alts.join(","))
    };
    let golden: Vec<String> = calls
        .of("chr20")
        .iter()
        .map(|c| site(c.start, &c.ref_bases, &c.alts))
        .collect();
    let dv_examples: usize = calls
        .of("chr20")
        .iter()
        .map(|c| alt_combinations(c.alts.len()).len())
        .sum();
    assert_eq!((golden.len(), dv_examples), (78, 84));
    params.mode = Some(Mode::Calling);
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("calling.parquet");
    let summary = tensorize(&inputs, &params, 2, &path, &ProgressSink::discard()).unwrap();
    let examples = ExamplesFile::open(&path).unwrap().read_all().unwrap();
    let confident = Regions::read_bed(inputs.confident.as_ref().unwrap()).unwrap();
    let mut sites: Vec<(i64, Vec<&Example>)> = Vec::new();
    for e in &examples {
        assert_eq!(e.label, None, "{}: calling examples are unlabelled", e.id);
        match sites.last_mut() {
            Some((pos, group)) if *pos == e.pos => group.push(e),
            _ => sites.push((e.pos, vec![e])),
        }
    }
    let calls_path = golden_path.with_file_name("golden.postprocess_single_site_output.vcf");
    let dv_depths = depths_of_calls(&calls_path);
    let mut ours = Vec::new();
    let mut depths_differing = Vec::new();
    let mut our_counts: BTreeMap<i64, SiteCounts> = BTreeMap::new();
    let mut outside = 0;
    for (pos, group) in &sites {
        let s = group[0]
            .site
            .as_ref()
            .expect("calling examples record their site");
        let want: Vec<String> = alt_combinations(s.alts.len())
            .iter()
            .map(|subset| {
                subset
                    .iter()
                    .map(|&a| s.alts[a].as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect();
        let got: Vec<&str> = group.iter().map(|e| e.alt.as_str()).collect();
        assert_eq!(got, want, "site {pos}: one example per alt subset");
        assert!(group.iter().all(|e| e.site.as_ref() == Some(s)));
        assert_eq!(s.allele_depths.len(), s.alts.len() + 1);
        assert!(s.allele_depths.iter().sum::<i32>() <= s.depth);
        assert!(s.allele_depths[1..].iter().all(|&d| d >= 2), "{s:?}");
        let ref_allele = group[0].ref_allele.as_bytes();
        outside += usize::from(!confident.overlaps("chr20", *pos, *pos + ref_allele.len() as i64));
        let alts: Vec<Vec<u8>> = s.alts.iter().map(|a| a.as_bytes().to_vec()).collect();
        let this = site(*pos, ref_allele, &alts);
        let depths = (s.depth, s.allele_depths.clone());
        our_counts.insert(
            *pos,
            (ref_allele.to_vec(), alts, s.depth, s.allele_depths.clone()),
        );
        if golden.contains(&this) && dv_depths.get(pos) != Some(&depths) {
            println!(
                "{this}: DP, AD {depths:?}, 1.1.0's {:?}",
                dv_depths.get(pos)
            );
            depths_differing.push((pos + 1, depths));
        }
        ours.push(this);
    }
    assert_eq!(summary.candidates, sites.len());
    // DeepVariant draws a candidate's image the same way in both modes, so the calling examples of its
    // 49 training candidates must be its training images, byte for byte.
    let mut same_images = 0;
    for record in RecordReader::open(&golden_path).unwrap() {
        let dv = tf_example::decode(&record.unwrap()).unwrap().example;
        let ours = examples.iter().find(|e| e.id == dv.id);
        let ours = ours.unwrap_or_else(|| panic!("{}: no calling example", dv.id));
        assert!(ours.image == dv.image, "{}: calling-mode image", dv.id);
        same_images += 1;
    }
    assert_eq!(same_images, 49);
    assert!(
        outside > 0,
        "sites outside the confident regions get examples too"
    );
    let only_ours: Vec<&str> = ours
        .iter()
        .filter(|s| !golden.contains(s))
        .map(String::as_str)
        .collect();
    let only_dv: Vec<&str> = golden
        .iter()
        .filter(|s| !ours.contains(s))
        .map(String::as_str)
        .collect();
    println!(
        "calling mode: {} sites ({outside} outside the confident regions), {} examples; DeepVariant: \
         {} sites, {dv_examples} examples; only ours: {only_ours:?}; only DeepVariant's: {only_dv:?}",
        ours.len(),
        examples.len(),
        golden.len()
    );
    assert_eq!(
        [only_ours.as_slice(), only_dv.as_slice()],
        CALLING_SITES_DIFFERING
    );
    assert_eq!(examples.len(), DEEPVARIANT_CALLING_EXAMPLES);
    let differing: Vec<i64> = depths_differing.iter().map(|(p, _)| *p).collect();
    assert_eq!(
        differing,
        DEPTHS_NOT_1_1.map(|(p, _)| p),
        "sites with DeepVariant's alleles but not 1.1.0's DP and AD"
    );
    for ((pos, ours), (_, dv)) in depths_differing.iter().zip(DEPTHS_NOT_1_1) {
        if let Some((depth, allele_depths)) = dv {
            assert_eq!(
                ours,
                &(depth, allele_depths.to_vec()),
                "{pos}: DeepVariant 1.7.0's"
            );
        }
    }
    for (pos, (depth, allele_depths)) in DEPTHS_OF_SITES_NOT_IN_1_1 {
        let (_, _, ours_depth, ours_allele_depths) = &our_counts[&(pos - 1)];
        assert_eq!(
            (ours_depth, ours_allele_depths.as_slice()),
            (&depth, allele_depths),
            "{pos}: DeepVariant 1.7.0's"
        );
    }
    // Where postprocess dropped an alt, ours hold DeepVariant's call with one more alt, and the same
    // read counts.
    let pruned: Vec<_> = calls
        .of("chr20")
        .iter()
        .filter(|c| c.start + 1 == CALLING_SITE_PRUNED)
        .collect();
    assert_eq!(pruned.len(), 1, "DeepVariant calls {CALLING_SITE_PRUNED}");
    for call in pruned {
        let this = site(call.start, &call.ref_bases, &call.alts);
        let (depth, allele_depths) = dv_depths[&call.start].clone();
        let dv = (
            call.ref_bases.clone(),
            call.alts.clone(),
            depth,
            allele_depths,
        );
        let ours = &our_counts[&call.start];
        assert!(
            is_ours_with_alts_dropped(ours, &dv),
            "{this}: DeepVariant's {dv:?} is not ours {ours:?} with alts dropped"
        );
    }
}

#[test]
fn a_record_with_an_alt_dropped_keeps_the_depth_and_the_other_allele_depths() {
    let ours: SiteCounts = (
        b"C".to_vec(),
        vec![b"A".to_vec(), b"CA".to_vec()],
        31,
        vec![4, 7, 19],
    );
    let dv = |alts: &[&[u8]], depth: i32, allele_depths: Vec<i32>| -> SiteCounts {
        (
            b"C".to_vec(),
            alts.iter().map(|a| a.to_vec()).collect(),
            depth,
            allele_depths,
        )
    };
    // Dropping either alt keeps DP and the other counts; another depth, another count, an alt we lack,
    // or nothing dropped is not ours with alts dropped.
    let cases: [(SiteCounts, bool); 6] = [
        (dv(&[b"CA"], 31, vec![4, 19]), true),
        (dv(&[b"A"], 31, vec![4, 7]), true),
        (dv(&[b"CA"], 30, vec![4, 19]), false),
        (dv(&[b"CA"], 31, vec![5, 19]), false),
        (dv(&[b"CAA"], 31, vec![4, 19]), false),
        (dv(&[b"A", b"CA"], 31, vec![4, 7, 19]), false),
    ];
    for (record, expected) in cases {
        assert_eq!(
            is_ours_with_alts_dropped(&ours, &record),
            expected,
            "{record:?}"
        );
    }
}
