//! Issue 16: our images of DeepVariant 1.5's golden training window against its own examples, byte by
//! byte (`shared/data/deepvariant-golden/golden.training_examples.tfrecord.gz`, made with the options in
//! its `run_info.pbtxt`: 6 channels, realigner on, partition_size 1000, min MAPQ 5, min base quality 10).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::*;
use crate::data::examples::ExamplesFile;
use crate::data::sources::{tf_example, tfrecord::RecordReader};

/// Images identical to DeepVariant's; the test fails when fewer are.
const IDENTICAL_AT_LEAST: usize = 49;

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
