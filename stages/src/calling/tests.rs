//! Postprocessing from examples and probabilities to a VCF, without libtorch.

use std::io::Read as _;
use std::sync::Arc;

use super::*;
use crate::data::examples::{Example, ExamplesWriter, ImageShape, Site};
use sites::CallingExample;

fn example(chrom: &str, pos: i64, ref_allele: &str, alt: &str, site: &Site) -> CallingExample {
    CallingExample {
        id: format!("{chrom}:{}:{ref_allele}>{alt}", pos + 1),
        chrom: chrom.into(),
        pos,
        ref_allele: ref_allele.into(),
        alt: alt.into(),
        site: site.clone(),
    }
}

fn probability(e: &CallingExample, p: [f64; 3]) -> ProbabilityRow {
    ProbabilityRow {
        id: e.id.clone(),
        chrom: e.chrom.clone(),
        pos: e.pos,
        alts: e.alt.clone(),
        p,
    }
}

fn bgzipped_text(path: &Path) -> String {
    let mut text = String::new();
    noodles::bgzf::io::Reader::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    text
}

#[test]
fn sites_become_one_sorted_record_each_with_gt_over_both_alts() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("ref.fa.fai"),
        "chrA\t1000\t6\t60\t61\nchrB\t900\t1030\t60\t61\n",
    )
    .unwrap();
    let contigs = vcf::contigs(&dir.path().join("ref.fa")).unwrap();
    let snp = Site {
        alts: vec!["T".into()],
        depth: 40,
        allele_depths: vec![20, 20],
    };
    let multi = Site {
        alts: vec!["G".into(), "GTT".into()],
        depth: 50,
        allele_depths: vec![1, 25, 24],
    };
    let rows = vec![
        // On chrB first in the file: the VCF follows the reference's order.
        example("chrB", 9, "C", "T", &snp),
        example("chrA", 199, "GT", "G", &multi),
        example("chrA", 199, "GT", "GTT", &multi),
        example("chrA", 199, "GT", "G,GTT", &multi),
    ];
    let probs = vec![
        probability(&rows[0], [0.02, 0.96, 0.02]),
        probability(&rows[1], [0.05, 0.9, 0.05]),
        probability(&rows[2], [0.05, 0.9, 0.05]),
        probability(&rows[3], [0.01, 0.04, 0.95]),
    ];
    let examples = CallingExamples {
        sample: "S1".into(),
        rows,
    };
    let vcf_path = dir.path().join("calls.vcf.gz");
    let p: CallParams = pipe_kind::parse_params(&serde_json::json!({})).unwrap();
    let summary = write_calls(&examples, &probs, &contigs, &vcf_path, &p).unwrap();
    assert_eq!(
        summary,
        CallSummary {
            sites: 2,
            pass: 2,
            ref_call: 0,
            low_qual: 0
        }
    );
    let text = bgzipped_text(&vcf_path);
    let body: Vec<Vec<&str>> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split('\t').collect())
        .collect();
    assert_eq!(body.len(), 2);
    assert_eq!(
        body[0][..7],
        ["chrA", "200", ".", "GT", "G,GTT", body[0][5], "PASS"]
    );
    assert!(body[0][9].starts_with("1/2:"), "{:?}", body[0]);
    assert!(
        body[0][9].contains(":50:1,25,24:0.5,0.48:"),
        "{:?}",
        body[0]
    );
    assert_eq!(body[1][..5], ["chrB", "10", ".", "C", "T"]);
    assert!(body[1][9].starts_with("0/1:"), "{:?}", body[1]);
    assert!(text.contains("\tFORMAT\tS1\n"));
}

#[test]
fn a_dropped_alt_takes_its_depth_and_shared_suffix_with_it() {
    // A deletion and a SNP share the reference CA; the SNP alone gives no evidence and is dropped,
    // so the record is the deletion alone, CA > C with AD [ref, deletion].
    let site = Site {
        alts: vec!["C".into(), "TA".into()],
        depth: 30,
        allele_depths: vec![14, 14, 2],
    };
    let rows = vec![
        example("chrA", 9, "CA", "C", &site),
        example("chrA", 9, "CA", "TA", &site),
        example("chrA", 9, "CA", "C,TA", &site),
    ];
    let probs = vec![
        probability(&rows[0], [0.01, 0.98, 0.01]),
        probability(&rows[1], [0.99, 0.005, 0.005]),
        probability(&rows[2], [0.01, 0.98, 0.01]),
    ];
    let dir = tempfile::tempdir().unwrap();
    let contigs = [Contig {
        name: "chrA".into(),
        length: 100,
    }];
    let examples = CallingExamples {
        sample: "S1".into(),
        rows,
    };
    let path = dir.path().join("calls.vcf.gz");
    let p: CallParams = pipe_kind::parse_params(&serde_json::json!({})).unwrap();
    write_calls(&examples, &probs, &contigs, &path, &p).unwrap();
    let text = bgzipped_text(&path);
    let line = text.lines().find(|l| !l.starts_with('#')).unwrap();
    let fields: Vec<&str> = line.split('\t').collect();
    assert_eq!(fields[3..5], ["CA", "C"]);
    assert!(
        fields[9].starts_with("0/1:") && fields[9].contains(":30:14,14:"),
        "{line}"
    );
    assert_eq!(
        simplify("CAA", &["CA", "TAA"]),
        ("CA".to_string(), vec!["C".to_string(), "TA".to_string()])
    );
    assert_eq!(
        simplify("A", &["T"]),
        ("A".to_string(), vec!["T".to_string()])
    );
}

#[test]
fn inconsistent_inputs_are_clear_errors() {
    let site = Site {
        alts: vec!["G".into(), "T".into()],
        depth: 10,
        allele_depths: vec![4, 3, 3],
    };
    let rows = vec![
        example("chrA", 9, "C", "G", &site),
        example("chrA", 9, "C", "T", &site),
    ];
    let probs: Vec<_> = rows
        .iter()
        .map(|e| probability(e, [0.3, 0.4, 0.3]))
        .collect();
    let contigs = [Contig {
        name: "chrA".into(),
        length: 100,
    }];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("calls.vcf.gz");
    let p: CallParams = pipe_kind::parse_params(&serde_json::json!({})).unwrap();
    let examples = CallingExamples {
        sample: "S".into(),
        rows,
    };
    let err = format!(
        "{:#}",
        write_calls(&examples, &probs, &contigs, &path, &p).unwrap_err()
    );
    assert!(
        err.contains("site chrA:10 C") && err.contains("need exactly"),
        "{err}"
    );
    let other = [Contig {
        name: "chrZ".into(),
        length: 100,
    }];
    let single = CallingExamples {
        sample: "S".into(),
        rows: vec![example(
            "chrA",
            9,
            "C",
            "G",
            &Site {
                alts: vec!["G".into()],
                depth: 10,
                allele_depths: vec![5, 5],
            },
        )],
    };
    let probs = vec![probability(&single.rows[0], [0.3, 0.4, 0.3])];
    let err = format!(
        "{:#}",
        write_calls(&single, &probs, &other, &path, &p).unwrap_err()
    );
    assert!(
        err.contains("contig 'chrA' is not in the reference"),
        "{err}"
    );
    let err = format!(
        "{:#}",
        write_calls(&single, &[], &other, &path, &p).unwrap_err()
    );
    assert!(err.contains("has no probabilities"), "{err}");
}

#[test]
fn examples_without_sites_are_refused_with_the_file_named() {
    let dir = tempfile::tempdir().unwrap();
    let shape = ImageShape {
        height: 1,
        width: 1,
        channels: vec!["a".into()],
    };
    // Rows with null site columns, as from_tfrecord writes them.
    let path = dir.path().join("nosite.parquet");
    let mut w = ExamplesWriter::create(&path, shape.clone(), "tfrecord").unwrap();
    w.push(Example {
        id: "chr1:5:A>C".into(),
        sample: "s".into(),
        chrom: "chr1".into(),
        pos: 4,
        ref_allele: "A".into(),
        alt: "C".into(),
        label: None,
        image: vec![0],
        site: None,
    })
    .unwrap();
    w.finish().unwrap();
    let err = sites::read(&path).unwrap_err().to_string();
    assert!(
        err.contains("nosite.parquet: example chr1:5:A>C has no site"),
        "{err}"
    );

    // A table from before the site columns existed.
    use arrow::array::{FixedSizeBinaryArray, Int64Array, Int8Array, RecordBatch, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    let meta = std::collections::HashMap::from(
        [
            ("height", "1"),
            ("width", "1"),
            ("channels", "a"),
            ("source", "bam"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let text = |n: &str| Field::new(n, DataType::Utf8, false);
    let schema = Arc::new(Schema::new_with_metadata(
        vec![
            text("id"),
            text("sample"),
            text("chrom"),
            Field::new("pos", DataType::Int64, false),
            text("ref"),
            text("alt"),
            Field::new("label", DataType::Int8, true),
            Field::new("image", DataType::FixedSizeBinary(1), false),
        ],
        meta,
    ));
    let s = |v: &str| Arc::new(StringArray::from(vec![v.to_string()]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            s("x"),
            s("s"),
            s("chr1"),
            Arc::new(Int64Array::from(vec![4])),
            s("A"),
            s("C"),
            Arc::new(Int8Array::from(vec![Some(1)])),
            Arc::new(FixedSizeBinaryArray::try_from_iter(std::iter::once(vec![0u8])).unwrap()),
        ],
    )
    .unwrap();
    let old = dir.path().join("old.parquet");
    let mut w =
        parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&old).unwrap(), schema, None)
            .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let err = format!("{:#}", sites::read(&old).unwrap_err());
    assert!(
        err.contains(
            "old.parquet: these examples lack the columns a caller needs (site_alts, dp, ad)"
        ),
        "{err}"
    );
}
