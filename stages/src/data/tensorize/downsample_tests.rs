//! `max_reads_per_partition` on the real NA12878 window (about 52x: some 350 reads per 1,000-bp
//! partition, so DeepVariant's default of 1500 keeps them all).

use std::path::{Path, PathBuf};

use super::*;
use crate::data::examples::ExamplesFile;

/// The 10-kb window's inputs, or `None` (with a message) without `../shared`.
fn window_inputs() -> Option<Inputs> {
    let dir: PathBuf =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/na12878-chr20");
    if !dir.exists() {
        pipe_testkit::skip("../shared/data/na12878-chr20 not found");
        return None;
    }
    Some(Inputs {
        reads: dir.join("NA12878_S1.chr20.10_10p1mb.bam"),
        reference: dir.join("ucsc.hg19.chr20.unittest.fasta.gz"),
        truth: None,
        confident: None,
    })
}

/// The calling-mode examples of the window with at most `max_reads` reads per partition.
fn examples(inputs: &Inputs, max_reads: usize) -> Vec<Example> {
    let params = Params {
        regions: Some(vec!["chr20:10000000-10010000".into()]),
        max_reads_per_partition: max_reads,
        ..Params::default()
    };
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("examples.parquet");
    tensorize(inputs, &params, 2, &path, &ProgressSink::discard()).unwrap();
    ExamplesFile::open(&path).unwrap().read_all().unwrap()
}

fn depths(examples: &[Example]) -> Vec<i32> {
    examples
        .iter()
        .map(|e| {
            e.site
                .as_ref()
                .expect("calling mode records the site")
                .depth
        })
        .collect()
}

#[test]
fn partitions_over_the_limit_keep_that_many_reads_and_others_are_untouched() {
    let Some(inputs) = window_inputs() else {
        return;
    };
    let all = examples(&inputs, 0);
    assert!(!all.is_empty());
    // No partition of the window has 1500 reads: the default changes nothing.
    assert_eq!(examples(&inputs, downsample::MAX_READS_PER_PARTITION), all);
    // 60 reads of 150 bp over 1,000 bp: a site sees at most 60 of them, about 9 on average.
    let few = examples(&inputs, 60);
    let (d_all, d_few) = (depths(&all), depths(&few));
    assert!(d_few.iter().all(|&d| d <= 60), "{d_few:?}");
    let mean = |d: &[i32]| d.iter().map(|&x| f64::from(x)).sum::<f64>() / d.len() as f64;
    assert!(
        mean(&d_few) < mean(&d_all) / 3.0,
        "mean depth {} with 60 reads per partition against {} with all",
        mean(&d_few),
        mean(&d_all)
    );
    // The same seed draws the same reads.
    assert_eq!(examples(&inputs, 60), few);
}
