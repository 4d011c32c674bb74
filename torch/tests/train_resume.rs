//! The training loop with a tiny in-test model: an interrupted run resumed from its checkpoint ends
//! with the same metrics as an uninterrupted one; bad folds are clear errors.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Result;
use arrow::array::{Int32Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use pipe_kind::{ProgressSink, TaskContext};
use pipe_stages::analysis::tables::{read_epochs, read_predictions, EpochRow};
use pipe_stages::data::examples::{Example, ExamplesWriter, ImageShape};
use pipe_torch::train::trainer::{self, ModelBuilder};
use tch::nn;

/// conv 3x3 -> relu -> dropout -> global average pool -> linear: small, with randomness in training.
fn tiny(path: &nn::Path, _arch: &str, c: i64, k: i64) -> Result<Box<dyn nn::ModuleT + Send>> {
    let conv = nn::conv2d(path / "conv", c, 8, 3, Default::default());
    let bn = nn::batch_norm2d(path / "bn", 8, Default::default());
    let fc = nn::linear(path / "fc", 8, k, Default::default());
    Ok(Box::new(
        nn::seq_t()
            .add(conv)
            .add(bn)
            .add_fn(|x| x.relu())
            .add_fn_t(|x, train| x.dropout(0.2, train))
            .add_fn(|x| x.mean_dim(&[2i64, 3][..], false, tch::Kind::Float))
            .add(fc),
    ))
}

/// 90 examples of 6x10x2 whose class is the brightness of a band; folds i % 3.
fn fixture(dir: &Path, fold_of: impl Fn(usize) -> i32) -> (PathBuf, PathBuf) {
    let shape = ImageShape {
        height: 6,
        width: 10,
        channels: vec!["a".into(), "b".into()],
    };
    let ex = dir.join("examples.parquet");
    let mut w = ExamplesWriter::create(&ex, shape, "test").unwrap();
    for i in 0..90usize {
        let label = (i % 3) as i8;
        let image = (0..120)
            .map(|j| ((j * 7 + i * 13) % 50) as u8 + if j / 20 == 2 { 60 * label as u8 } else { 0 })
            .collect();
        w.push(Example {
            id: format!("e{i}"),
            sample: "s".into(),
            chrom: "chr1".into(),
            pos: i as i64,
            ref_allele: "A".into(),
            alt: "C".into(),
            label: Some(label),
            image,
            site: None,
        })
        .unwrap();
    }
    w.finish().unwrap();
    let folds = dir.join("folds.parquet");
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("fold", DataType::Int32, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from_iter_values(
                (0..90).map(|i| format!("e{i}")),
            )),
            Arc::new(Int32Array::from_iter_values((0..90).map(&fold_of))),
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

fn context(
    inputs: &(PathBuf, PathBuf),
    out: &Path,
    state: &Path,
    params: serde_json::Value,
) -> TaskContext {
    let outputs = [
        "epochs.parquet",
        "predictions.parquet",
        "model",
        "tensorboard",
    ]
    .iter()
    .zip(["epochs", "predictions", "model", "tensorboard"])
    .map(|(p, n)| (n.to_string(), out.join(p)))
    .collect();
    std::fs::create_dir_all(out).unwrap();
    std::fs::create_dir_all(state).unwrap();
    TaskContext {
        task: "train[test]".into(),
        params,
        inputs: BTreeMap::from([
            ("examples".to_string(), vec![inputs.0.clone()]),
            ("folds".to_string(), vec![inputs.1.clone()]),
        ]),
        outputs,
        state_dir: state.to_path_buf(),
        devices: vec![],
        threads: 1,
        seed: 42,
        progress: ProgressSink::discard(),
    }
}

fn params(epochs: usize) -> serde_json::Value {
    serde_json::json!({
        "arch": "tiny", "fold": 1, "epochs": epochs, "batch_size": 16, "lr": 0.01,
        "step_size": 2, "gamma": 0.5, "pad": [1, 2, 3, 0], "deterministic": true
    })
}

fn metrics(rows: &[EpochRow]) -> Vec<[f64; 8]> {
    rows.iter()
        .map(|r| {
            [
                r.loss,
                r.accuracy,
                r.precision,
                r.recall,
                r.f1,
                r.auc_ovr,
                r.auc_ovo,
                r.mcc,
            ]
        })
        .collect()
}

const TINY: &ModelBuilder = &tiny;

/// libtorch's generator and thread count are process-wide: tests that train must not overlap.
static TORCH: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Folds that mix the classes: fold (i / 3) % 3 while the class is i % 3.
fn mixed(i: usize) -> i32 {
    ((i / 3) % 3) as i32
}

#[test]
fn train_resumed_equals_uninterrupted() {
    let _guard = TORCH.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let inputs = fixture(dir.path(), mixed);

    let whole = dir.path().join("whole");
    let ctx = context(&inputs, &whole, &dir.path().join("state-whole"), params(4));
    trainer::run(&ctx, TINY).unwrap();

    let resumed = dir.path().join("resumed");
    let state = dir.path().join("state-resumed");
    let ctx = context(&inputs, &resumed, &state, params(4));
    trainer::train(&ctx, TINY, Some(2)).unwrap();
    assert!(
        !resumed.join("epochs.parquet").exists(),
        "interrupted runs publish nothing"
    );
    assert!(state.join("LATEST").is_file());
    trainer::run(&ctx, TINY).unwrap();

    let a = read_epochs(&whole.join("epochs.parquet")).unwrap();
    let b = read_epochs(&resumed.join("epochs.parquet")).unwrap();
    assert_eq!(a.len(), 8, "two splits x four epochs");
    assert_eq!(metrics(&a), metrics(&b));
    let pa = read_predictions(&whole.join("predictions.parquet")).unwrap();
    let pb = read_predictions(&resumed.join("predictions.parquet")).unwrap();
    assert_eq!(pa, pb);
    assert!(pa.iter().any(|r| r.epoch == 3), "last epoch's predictions");
    assert_eq!(pa.iter().filter(|r| r.epoch == 3).count(), 30);
    let wa = std::fs::read(whole.join("model/model.safetensors")).unwrap();
    let wb = std::fs::read(resumed.join("model/model.safetensors")).unwrap();
    assert!(wa == wb, "final weights are identical");
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(whole.join("model/config.json")).unwrap()).unwrap();
    assert_eq!(config["padding"]["top"], 2);
    assert_eq!(config["normalization"]["mean"].as_array().unwrap().len(), 2);
    assert!(whole.join("tensorboard/events.out.tfevents.pipe").is_file());
    // The loop learned something on this easy task.
    let last_val = a.iter().rev().find(|r| r.split == "validation").unwrap();
    assert!(last_val.loss < a[1].loss, "validation loss fell: {a:?}");
}

#[test]
fn train_bad_folds_are_clear_errors() {
    let _guard = TORCH.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let inputs = fixture(dir.path(), mixed);
    let mut p = params(1);
    p["fold"] = 7.into();
    let ctx = context(&inputs, &dir.path().join("o1"), &dir.path().join("s1"), p);
    let err = format!("{:#}", trainer::run(&ctx, TINY).unwrap_err());
    assert!(
        err.contains("no labeled example is in fold 7") && err.contains("[0, 1, 2]"),
        "{err}"
    );

    // Fold 1 holds every class-1 and class-2 example: training sees only class 0.
    let one_class = tempfile::tempdir().unwrap();
    let inputs = fixture(one_class.path(), |i| i32::from(i % 3 != 0));
    let ctx = context(
        &inputs,
        &dir.path().join("o2"),
        &dir.path().join("s2"),
        params(1),
    );
    let err = format!("{:#}", trainer::run(&ctx, TINY).unwrap_err());
    assert!(err.contains("has only class [0]"), "{err}");

    let nan = tempfile::tempdir().unwrap();
    let inputs = fixture(nan.path(), mixed);
    let mut p = params(1);
    p["lr"] = 1e30.into();
    let ctx = context(&inputs, &dir.path().join("o3"), &dir.path().join("s3"), p);
    let err = format!("{:#}", trainer::run(&ctx, TINY).unwrap_err());
    assert!(
        err.contains("loss is") && err.contains("epoch 1 batch"),
        "{err}"
    );
}

#[test]
fn train_early_stopping_keeps_the_best_epoch() {
    let _guard = TORCH.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let inputs = fixture(dir.path(), mixed);
    let mut p = params(8);
    // A learning rate this small leaves the weights, hence validation F1, unchanged: no improvement.
    p["lr"] = 1e-12.into();
    p["early_stopping"] = serde_json::json!({"metric": "f1", "patience": 2});
    let out = dir.path().join("out");
    let ctx = context(&inputs, &out, &dir.path().join("state"), p);
    trainer::run(&ctx, TINY).unwrap();
    let rows = read_epochs(&out.join("epochs.parquet")).unwrap();
    assert_eq!(rows.len(), 6, "stopped after epoch 3 of 8");
    let predictions = read_predictions(&out.join("predictions.parquet")).unwrap();
    let mut epochs: Vec<i32> = predictions.iter().map(|r| r.epoch).collect();
    epochs.dedup();
    assert_eq!(epochs, vec![2, 0], "last epoch, then the best (first) one");
}

/// conv -> global average pool -> BatchNorm1d -> linear: its BatchNorm sees one value per channel and
/// example, so a training batch of one example would make its running variance NaN.
fn pooled(path: &nn::Path, _arch: &str, c: i64, k: i64) -> Result<Box<dyn nn::ModuleT + Send>> {
    let conv = nn::conv2d(path / "conv", c, 8, 3, Default::default());
    let bn = nn::batch_norm1d(path / "bn", 8, Default::default());
    let fc = nn::linear(path / "fc", 8, k, Default::default());
    Ok(Box::new(
        nn::seq_t()
            .add(conv)
            .add_fn(|x| x.relu().mean_dim(&[2i64, 3][..], false, tch::Kind::Float))
            .add(bn)
            .add(fc),
    ))
}

#[test]
fn train_skips_a_lone_last_example() {
    let _guard = TORCH.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let inputs = fixture(dir.path(), mixed);
    // Fold 1 validates 30 examples; the other 60 train in batches of 59 and 1.
    let mut p = params(2);
    p["batch_size"] = 59.into();
    let out = dir.path().join("out");
    let ctx = context(&inputs, &out, &dir.path().join("state"), p);
    trainer::run(&ctx, &pooled).unwrap();
    let rows = read_epochs(&out.join("epochs.parquet")).unwrap();
    for r in &rows {
        assert!(
            r.loss.is_finite(),
            "{} loss {} at epoch {}",
            r.split,
            r.loss,
            r.epoch
        );
    }
}

/// The shuffled-label control: the same model and recipe learn the true labels and not permuted ones.
#[test]
fn train_shuffled_labels_are_a_negative_control() {
    let _guard = TORCH.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let inputs = fixture(dir.path(), mixed);
    let last_val_f1 = |name: &str, shuffle: bool| {
        let mut p = params(20);
        p["lr"] = 0.03.into();
        p["scheduler"] = "cosine".into();
        p["shuffle_labels"] = shuffle.into();
        let out = dir.path().join(name);
        let ctx = context(&inputs, &out, &dir.path().join(format!("state-{name}")), p);
        trainer::run(&ctx, TINY).unwrap();
        let rows = read_epochs(&out.join("epochs.parquet")).unwrap();
        rows.iter()
            .rev()
            .find(|r| r.split == "validation")
            .unwrap()
            .f1
    };
    let truth = last_val_f1("truth", false);
    let shuffled = last_val_f1("shuffled", true);
    eprintln!("validation F1: true labels {truth:.3}, shuffled {shuffled:.3}");
    assert!(truth >= 0.9, "the true labels are learned: F1 {truth}");
    assert!(shuffled < 0.6, "shuffled labels are not: F1 {shuffled}");
}
