//! Acceptance: on small generated examples whose class is visible in the image, each family's smallest
//! model reaches validation macro F1 >= 0.9, and with shuffled labels it does not learn.
//!
//! Minutes on a CPU, so ignored by default: `cargo test -p pipe-torch --test
//! train_learns -- --ignored`. `PIPE_TRAIN_ARCHS` (comma-separated) picks the architectures.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{Int32Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use pipe_stages::examples::{Example, ExamplesWriter, ImageShape};
use pipe_stages::tables::read_epochs;
use pipe_stages::{ProgressSink, TaskContext};
use pipe_torch::train::trainer;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

const N: usize = 300;
const SMALLEST: &str = "regnety_002,efficientnet_b0,convnext_atto,resnext50_32x4d,inception_v3";

/// Writes 300 examples of 7x100x221: noise plus a central block whose brightness is the class; labels
/// optionally shuffled; folds (i / 3) % 5.
fn fixture(dir: &Path, shuffle_labels: bool) -> (PathBuf, PathBuf) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let (h, w, c) = (100usize, 221usize, 7usize);
    let shape = ImageShape {
        height: h,
        width: w,
        channels: (0..c).map(|i| format!("c{i}")).collect(),
    };
    let classes: Vec<i8> = (0..N).map(|i| (i % 3) as i8).collect();
    let mut labels = classes.clone();
    if shuffle_labels {
        labels.shuffle(&mut rng);
    }
    let ex = dir.join("examples.parquet");
    let mut wr = ExamplesWriter::create(&ex, shape, "test").unwrap();
    for i in 0..N {
        let mut image = vec![0u8; h * w * c];
        for (j, px) in image.iter_mut().enumerate() {
            let (row, col) = (j / (w * c), (j / c) % w);
            let signal = if (30..70).contains(&row) && (90..130).contains(&col) {
                70 * classes[i] as u8
            } else {
                0
            };
            *px = rng.random_range(0..60u8) + signal;
        }
        wr.push(Example {
            id: format!("e{i}"),
            sample: "s".into(),
            chrom: "chr1".into(),
            pos: i as i64,
            ref_allele: "A".into(),
            alt: "C".into(),
            label: Some(labels[i]),
            image,
        })
        .unwrap();
    }
    wr.finish().unwrap();
    let folds = dir.join("folds.parquet");
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("fold", DataType::Int32, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from_iter_values(
                (0..N).map(|i| format!("e{i}")),
            )),
            Arc::new(Int32Array::from_iter_values(
                (0..N).map(|i| ((i / 3) % 5) as i32),
            )),
        ],
    )
    .unwrap();
    let mut fw =
        parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&folds).unwrap(), schema, None)
            .unwrap();
    fw.write(&batch).unwrap();
    fw.close().unwrap();
    (ex, folds)
}

/// Trains `arch` on fold 0 and returns the last epoch's validation F1.
fn last_val_f1(dir: &Path, inputs: &(PathBuf, PathBuf), arch: &str, epochs: usize) -> f64 {
    let out = dir.join(format!("out-{arch}"));
    let state = dir.join(format!("state-{arch}"));
    std::fs::create_dir_all(&out).unwrap();
    std::fs::create_dir_all(&state).unwrap();
    let ctx = TaskContext {
        task: format!("train[arch={arch}]"),
        params: serde_json::json!({"arch": arch, "fold": 0, "epochs": epochs, "batch_size": 32}),
        inputs: BTreeMap::from([
            ("examples".to_string(), vec![inputs.0.clone()]),
            ("folds".to_string(), vec![inputs.1.clone()]),
        ]),
        outputs: [
            ("epochs", "epochs.parquet"),
            ("predictions", "predictions.parquet"),
            ("model", "model"),
            ("tensorboard", "tensorboard"),
        ]
        .iter()
        .map(|(n, p)| (n.to_string(), out.join(p)))
        .collect(),
        state_dir: state,
        devices: vec![0],
        threads: std::thread::available_parallelism().map_or(1, usize::from),
        seed: 42,
        progress: ProgressSink::discard(),
    };
    let start = Instant::now();
    trainer::run(&ctx, &pipe_torch::models::build).unwrap();
    let rows = read_epochs(&out.join("epochs.parquet")).unwrap();
    let last = rows.iter().rev().find(|r| r.split == "validation").unwrap();
    eprintln!(
        "{arch}: {epochs} epochs in {:.1} s, last validation f1 {:.3}",
        start.elapsed().as_secs_f64(),
        last.f1
    );
    last.f1
}

fn archs() -> Vec<String> {
    std::env::var("PIPE_TRAIN_ARCHS")
        .unwrap_or_else(|_| SMALLEST.to_string())
        .split(',')
        .map(str::to_string)
        .collect()
}

#[test]
#[ignore = "minutes on a CPU; run with --ignored"]
fn train_smallest_variants_learn() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = fixture(dir.path(), false);
    for arch in archs() {
        let f1 = last_val_f1(dir.path(), &inputs, &arch, 12);
        assert!(f1 >= 0.9, "{arch}: validation macro F1 {f1} < 0.9");
    }
}

#[test]
#[ignore = "minutes on a CPU; run with --ignored"]
fn train_shuffled_labels_do_not_learn() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = fixture(dir.path(), true);
    let arch = archs().remove(0);
    let f1 = last_val_f1(dir.path(), &inputs, &arch, 5);
    assert!(
        f1 < 0.6,
        "{arch} learned shuffled labels: validation F1 {f1}"
    );
}
