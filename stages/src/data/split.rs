//! Stage kind `split`: seeded, stratified k-fold assignment of the examples.
//!
//! Within each class (or over all rows when not stratifying), rows are shuffled with the pipeline seed and
//! dealt to the folds in turn, each class starting where the previous one stopped. So every fold holds
//! either floor or ceil of (class size / k) of every class, and fold sizes differ by at most one.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use arrow::array::{Array, Int32Builder, Int8Array, RecordBatch, StringArray, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;

use crate::data::examples::{column, ExamplesFile};
use pipe_kind::{InputPort, OutputPort, StageKind, StageParams, TaskContext};

/// What to stratify on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stratify {
    /// Balance every class over the folds.
    Label,
    /// Only balance fold sizes.
    None,
}

/// Parameters of `split`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SplitParams {
    /// Number of folds (at least 2).
    pub k: usize,
    /// `label` or `none`.
    pub stratify: Stratify,
    /// Shuffle within each class with the pipeline seed (otherwise rows are dealt in file order).
    pub shuffle: bool,
}

impl Default for SplitParams {
    fn default() -> Self {
        Self {
            k: 5,
            stratify: Stratify::Label,
            shuffle: true,
        }
    }
}

impl StageParams for SplitParams {
    fn validate(&self) -> Result<()> {
        if !(2..=1000).contains(&self.k) {
            bail!("params.k: must be 2 to 1000, got {}", self.k);
        }
        Ok(())
    }
}

/// Reads the `id` and `label` columns of an examples file; errors on unlabeled rows and duplicate ids.
pub fn read_ids_and_labels(path: &Path) -> Result<Vec<(String, i8)>> {
    let file = ExamplesFile::open(path)?;
    let mut rows = Vec::with_capacity(file.rows);
    let mut unlabeled = 0usize;
    for batch in file.batches(8192, &["id", "label"])? {
        let batch = batch.with_context(|| format!("cannot read {}", path.display()))?;
        let ids: &StringArray = column(&batch, "id")?;
        let labels: &Int8Array = column(&batch, "label")?;
        for i in 0..batch.num_rows() {
            if labels.is_valid(i) {
                rows.push((ids.value(i).to_string(), labels.value(i)));
            } else {
                unlabeled += 1;
            }
        }
    }
    if unlabeled > 0 {
        bail!(
            "{}: {unlabeled} of {} examples have no label; split needs labeled examples. Filter them out \
             first (e.g. give tensorize a truth VCF and confident regions so that every candidate is \
             labeled, or drop rows whose label is null)",
            path.display(),
            unlabeled + rows.len()
        );
    }
    let mut seen = HashSet::with_capacity(rows.len());
    for (id, _) in &rows {
        if !seen.insert(id.as_str()) {
            bail!(
                "{}: example id '{id}' occurs more than once; ids must be unique for folds to be joined",
                path.display()
            );
        }
    }
    Ok(rows)
}

/// Fold of every row of `labels` (same order).
pub fn assign_folds(labels: &[i8], params: &SplitParams, seed: u64) -> Vec<i32> {
    let mut groups: BTreeMap<i8, Vec<usize>> = BTreeMap::new();
    for (i, &label) in labels.iter().enumerate() {
        let key = match params.stratify {
            Stratify::Label => label,
            Stratify::None => 0,
        };
        groups.entry(key).or_default().push(i);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut folds = vec![0i32; labels.len()];
    let mut next = 0usize;
    for members in groups.values_mut() {
        if params.shuffle {
            members.shuffle(&mut rng);
        }
        for &row in members.iter() {
            folds[row] = (next % params.k) as i32;
            next += 1;
        }
    }
    folds
}

/// Writes the folds table (`id` utf8, `fold` int32) to `path`.
pub fn write_folds(path: &Path, ids: &[String], folds: &[i32]) -> Result<()> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("fold", DataType::Int32, false),
    ]));
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .build();
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut writer = ArrowWriter::try_new(file, schema.clone(), Some(props))?;
    for (ids, folds) in ids.chunks(65_536).zip(folds.chunks(65_536)) {
        let mut id = StringBuilder::new();
        let mut fold = Int32Builder::new();
        for (i, f) in ids.iter().zip(folds) {
            id.append_value(i);
            fold.append_value(*f);
        }
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(id.finish()), Arc::new(fold.finish())],
        )?;
        writer.write(&batch)?;
    }
    writer.close()?;
    Ok(())
}

/// The `split` stage kind.
pub struct Split;

static INPUTS: &[InputPort] = &[InputPort {
    name: "examples",
    required: true,
    many: false,
    doc: "examples table (id and label are read)",
}];

static OUTPUTS: &[OutputPort] = &[OutputPort {
    name: "folds",
    path: "folds.parquet",
    doc: "fold of every example: id (utf8), fold (int32)",
}];

impl StageKind for Split {
    type Params = SplitParams;

    fn name(&self) -> &'static str {
        "split"
    }
    fn version(&self) -> u32 {
        1
    }
    fn about(&self) -> &'static str {
        "assign examples to k cross-validation folds, stratified by label, seeded"
    }
    fn inputs(&self) -> &'static [InputPort] {
        INPUTS
    }
    fn outputs(&self) -> &'static [OutputPort] {
        OUTPUTS
    }
    fn compute(&self, params: SplitParams, ctx: &TaskContext) -> Result<()> {
        let input = ctx.input("examples")?;
        let rows = read_ids_and_labels(input)?;
        let labels: Vec<i8> = rows.iter().map(|r| r.1).collect();
        let folds = assign_folds(&labels, &params, ctx.seed);
        let mut counts: BTreeMap<i8, usize> = BTreeMap::new();
        for l in &labels {
            *counts.entry(*l).or_default() += 1;
        }
        for (label, n) in &counts {
            if *n < params.k && params.stratify == Stratify::Label {
                eprintln!(
                    "split: warning: class {label} has {n} examples, fewer than k={}; some folds lack it",
                    params.k
                );
            }
        }
        let ids: Vec<String> = rows.into_iter().map(|r| r.0).collect();
        write_folds(ctx.output("folds")?, &ids, &folds)?;
        eprintln!(
            "split: {} examples into {} folds; class counts {counts:?}",
            ids.len(),
            params.k
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::examples::{Example, ExamplesWriter, ImageShape};
    use arrow::array::Int32Array;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use pipe_kind::Kind as _;
    use pipe_kind::ProgressSink;

    fn write_examples(path: &Path, labels: &[Option<i8>]) {
        let shape = ImageShape {
            height: 1,
            width: 1,
            channels: vec!["a".into()],
        };
        let mut w = ExamplesWriter::create(path, shape, "test").unwrap();
        for (i, l) in labels.iter().enumerate() {
            w.push(Example {
                id: format!("chr1:{i}"),
                sample: "s".into(),
                chrom: "chr1".into(),
                pos: i as i64,
                ref_allele: "A".into(),
                alt: "C".into(),
                label: *l,
                image: vec![0],
                site: None,
            })
            .unwrap();
        }
        w.finish().unwrap();
    }

    fn run(dir: &Path, params: serde_json::Value, seed: u64) -> Result<Vec<(String, i32)>> {
        let out = dir.join(format!("folds-{seed}.parquet"));
        let ctx = TaskContext {
            task: "folds".into(),
            params,
            inputs: BTreeMap::from([("examples".into(), vec![dir.join("ex.parquet")])]),
            outputs: BTreeMap::from([("folds".into(), out.clone())]),
            state_dir: dir.join("state"),
            devices: vec![],
            threads: 1,
            seed,
            progress: ProgressSink::discard(),
        };
        Split.run(&ctx)?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(out)?)?.build()?;
        let mut rows = Vec::new();
        for batch in reader {
            let batch = batch?;
            let ids: &StringArray = column(&batch, "id")?;
            let folds: &Int32Array = column(&batch, "fold")?;
            for i in 0..batch.num_rows() {
                rows.push((ids.value(i).to_string(), folds.value(i)));
            }
        }
        Ok(rows)
    }

    fn labels() -> Vec<Option<i8>> {
        (0..1003)
            .map(|i| {
                Some(if i % 7 == 0 {
                    2
                } else if i % 3 == 0 {
                    0
                } else {
                    1
                })
            })
            .collect()
    }

    #[test]
    fn class_counts_per_fold_are_within_one_of_ideal() {
        let dir = tempfile::tempdir().unwrap();
        let labels = labels();
        write_examples(&dir.path().join("ex.parquet"), &labels);
        for k in [2usize, 5, 6] {
            let rows = run(dir.path(), serde_json::json!({"k": k}), 42).unwrap();
            assert_eq!(rows.len(), labels.len());
            for class in 0..3i8 {
                let n = labels.iter().filter(|l| **l == Some(class)).count();
                let ideal = n as f64 / k as f64;
                for fold in 0..k as i32 {
                    let c = rows
                        .iter()
                        .zip(&labels)
                        .filter(|((_, f), l)| *f == fold && **l == Some(class))
                        .count();
                    assert!(
                        (c as f64 - ideal).abs() < 1.0,
                        "k={k} class {class} fold {fold}: {c} vs {ideal}"
                    );
                }
            }
            for fold in 0..k as i32 {
                let size = rows.iter().filter(|(_, f)| *f == fold).count() as f64;
                assert!((size - labels.len() as f64 / k as f64).abs() < 1.0);
            }
        }
    }

    #[test]
    fn seeded_and_deterministic() {
        let dir = tempfile::tempdir().unwrap();
        write_examples(&dir.path().join("ex.parquet"), &labels());
        let a = run(dir.path(), serde_json::json!({}), 1).unwrap();
        let b = run(dir.path(), serde_json::json!({}), 1).unwrap();
        let c = run(dir.path(), serde_json::json!({}), 2).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        let ids: Vec<&str> = a.iter().map(|r| r.0.as_str()).collect();
        assert_eq!(ids[..2], ["chr1:0", "chr1:1"], "rows keep the input order");
    }

    #[test]
    fn without_shuffle_rows_are_dealt_in_order() {
        let folds = assign_folds(
            &[0, 0, 0, 1, 1, 1],
            &SplitParams {
                k: 3,
                stratify: Stratify::Label,
                shuffle: false,
            },
            0,
        );
        assert_eq!(folds, [0, 1, 2, 0, 1, 2]);
        let folds = assign_folds(
            &[0, 1, 0, 1],
            &SplitParams {
                k: 2,
                stratify: Stratify::None,
                shuffle: false,
            },
            0,
        );
        assert_eq!(folds, [0, 1, 0, 1]);
    }

    #[test]
    fn unlabeled_rows_are_an_error_with_a_count() {
        let dir = tempfile::tempdir().unwrap();
        let mut labels = labels();
        labels[3] = None;
        labels[10] = None;
        write_examples(&dir.path().join("ex.parquet"), &labels);
        let err = run(dir.path(), serde_json::json!({}), 1)
            .unwrap_err()
            .to_string();
        assert!(err.contains("2 of 1003 examples have no label"), "{err}");
        assert!(!dir.path().join("folds-1.parquet").exists());
    }

    #[test]
    fn bad_params_are_named() {
        let err = Split
            .check(&serde_json::json!({"k": 1}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("params.k"), "{err}");
        let err = Split
            .check(&serde_json::json!({"stratify": "chrom"}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("params.stratify"), "{err}");
    }
}
