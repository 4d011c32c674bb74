//! The training result tables shared by `train`, `import_results`, `aggregate` and `report`.
//!
//! - epochs: one row per (arch, fold, epoch, split) with the epoch's metrics.
//! - predictions: one row per (example, epoch) of validation class probabilities.
//!
//! Both are Parquet (zstd); column names are part of `pipe`'s interface.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use arrow::array::{Float64Array, Int32Array, Int8Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::data::examples::column;

pub use crate::train::metrics::METRICS;

/// The timing columns of the epochs table, after the [`METRICS`].
pub const TIMINGS: [&str; 2] = ["seconds", "images_per_second"];

/// Every float column of the epochs table, in order: the [`METRICS`], then the [`TIMINGS`]; the
/// order of [`EpochRow::values`].
pub const EPOCH_FLOATS: [&str; 10] = concat(METRICS, TIMINGS);

/// `a` then `b`.
const fn concat<const A: usize, const B: usize, const C: usize>(
    a: [&'static str; A],
    b: [&'static str; B],
) -> [&'static str; C] {
    assert!(A + B == C);
    let mut out = [""; C];
    let mut i = 0;
    while i < A {
        out[i] = a[i];
        i += 1;
    }
    while i < C {
        out[i] = b[i - A];
        i += 1;
    }
    out
}

/// One epoch of one (arch, fold) on one split.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochRow {
    /// Architecture (timm name) or run name.
    pub arch: String,
    /// Cross-validation fold.
    pub fold: i32,
    /// 0-based epoch.
    pub epoch: i32,
    /// `training` or `validation`.
    pub split: String,
    /// Mean loss.
    pub loss: f64,
    /// Accuracy.
    pub accuracy: f64,
    /// Macro precision (zero_division 0).
    pub precision: f64,
    /// Macro recall (zero_division 0).
    pub recall: f64,
    /// Macro F1 (zero_division 0).
    pub f1: f64,
    /// One-vs-rest macro ROC AUC.
    pub auc_ovr: f64,
    /// One-vs-one macro ROC AUC.
    pub auc_ovo: f64,
    /// Matthews correlation coefficient.
    pub mcc: f64,
    /// Wall time of the epoch's pass over this split.
    pub seconds: f64,
    /// Throughput of that pass.
    pub images_per_second: f64,
}

impl EpochRow {
    /// The value of metric `name` (one of [`EPOCH_FLOATS`]).
    pub fn metric(&self, name: &str) -> Option<f64> {
        let i = EPOCH_FLOATS.iter().position(|c| *c == name)?;
        Some(self.values()[i])
    }

    /// The float columns' values, in [`EPOCH_FLOATS`] order.
    pub fn values(&self) -> [f64; 10] {
        [
            self.loss,
            self.accuracy,
            self.precision,
            self.recall,
            self.f1,
            self.auc_ovr,
            self.auc_ovo,
            self.mcc,
            self.seconds,
            self.images_per_second,
        ]
    }

    /// The row of (arch, fold, epoch, split) with float columns `v` in [`EPOCH_FLOATS`] order.
    pub fn from_values(arch: String, fold: i32, epoch: i32, split: String, v: [f64; 10]) -> Self {
        let [loss, accuracy, precision, recall, f1, auc_ovr, auc_ovo, mcc, seconds, images_per_second] =
            v;
        Self {
            arch,
            fold,
            epoch,
            split,
            loss,
            accuracy,
            precision,
            recall,
            f1,
            auc_ovr,
            auc_ovo,
            mcc,
            seconds,
            images_per_second,
        }
    }
}

fn epochs_schema() -> SchemaRef {
    let mut fields = vec![
        Field::new("arch", DataType::Utf8, false),
        Field::new("fold", DataType::Int32, false),
        Field::new("epoch", DataType::Int32, false),
        Field::new("split", DataType::Utf8, false),
    ];
    fields.extend(
        EPOCH_FLOATS
            .iter()
            .map(|n| Field::new(*n, DataType::Float64, false)),
    );
    Arc::new(Schema::new(fields))
}

/// Writes one batch to `path` as Parquet with zstd, as every result table of pipe is written.
pub(crate) fn write_batch(path: &Path, batch: RecordBatch) -> Result<()> {
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .build();
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(props))?;
    writer.write(&batch)?;
    writer.close()?;
    Ok(())
}

/// Reads every batch of `path`, after checking that its schema has the columns of `schema`.
pub(crate) fn read_batches(
    path: &Path,
    schema: &SchemaRef,
    what: &str,
) -> Result<Vec<RecordBatch>> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .with_context(|| format!("{} is not a Parquet file", path.display()))?;
    for field in schema.fields() {
        if builder.schema().field_with_name(field.name()).is_err() {
            anyhow::bail!(
                "{}: not {what}: column '{}' is missing",
                path.display(),
                field.name()
            );
        }
    }
    let reader = builder.build()?;
    reader
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("cannot read {}", path.display()))
}

/// Writes an epochs table.
pub fn write_epochs(path: &Path, rows: &[EpochRow]) -> Result<()> {
    let strings = |f: fn(&EpochRow) -> &str| {
        Arc::new(StringArray::from_iter_values(rows.iter().map(f))) as Arc<dyn arrow::array::Array>
    };
    let ints = |f: fn(&EpochRow) -> i32| {
        Arc::new(Int32Array::from_iter_values(rows.iter().map(f))) as Arc<dyn arrow::array::Array>
    };
    let mut columns = vec![
        strings(|r| &r.arch),
        ints(|r| r.fold),
        ints(|r| r.epoch),
        strings(|r| &r.split),
    ];
    for name in EPOCH_FLOATS {
        columns.push(Arc::new(Float64Array::from_iter_values(
            rows.iter().map(|r| r.metric(name).unwrap_or(f64::NAN)),
        )));
    }
    write_batch(path, RecordBatch::try_new(epochs_schema(), columns)?)
}

/// Reads an epochs table; the error names the file and the missing column.
pub fn read_epochs(path: &Path) -> Result<Vec<EpochRow>> {
    let mut rows = Vec::new();
    for batch in read_batches(path, &epochs_schema(), "an epochs table")? {
        let ctx = || format!("{}: not an epochs table", path.display());
        let arch: &StringArray = column(&batch, "arch").with_context(ctx)?;
        let split: &StringArray = column(&batch, "split").with_context(ctx)?;
        let fold: &Int32Array = column(&batch, "fold").with_context(ctx)?;
        let epoch: &Int32Array = column(&batch, "epoch").with_context(ctx)?;
        let floats = EPOCH_FLOATS
            .iter()
            .map(|n| column::<Float64Array>(&batch, n).with_context(ctx))
            .collect::<Result<Vec<_>>>()?;
        for i in 0..batch.num_rows() {
            rows.push(EpochRow::from_values(
                arch.value(i).to_string(),
                fold.value(i),
                epoch.value(i),
                split.value(i).to_string(),
                std::array::from_fn(|k| floats[k].value(i)),
            ));
        }
    }
    Ok(rows)
}

/// One validation prediction.
#[derive(Debug, Clone, PartialEq)]
pub struct PredictionRow {
    /// Architecture (timm name) or run name.
    pub arch: String,
    /// Example id.
    pub id: String,
    /// Cross-validation fold.
    pub fold: i32,
    /// 0-based epoch the model was taken from.
    pub epoch: i32,
    /// True class.
    pub label: i8,
    /// Class probabilities (softmax), classes 0, 1, 2.
    pub p: [f64; 3],
}

fn predictions_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("arch", DataType::Utf8, false),
        Field::new("id", DataType::Utf8, false),
        Field::new("fold", DataType::Int32, false),
        Field::new("epoch", DataType::Int32, false),
        Field::new("label", DataType::Int8, false),
        Field::new("p0", DataType::Float64, false),
        Field::new("p1", DataType::Float64, false),
        Field::new("p2", DataType::Float64, false),
    ]))
}

/// Writes a predictions table.
pub fn write_predictions(path: &Path, rows: &[PredictionRow]) -> Result<()> {
    let p = |k: usize| Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.p[k])));
    let batch = RecordBatch::try_new(
        predictions_schema(),
        vec![
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.arch.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.id.as_str()),
            )),
            Arc::new(Int32Array::from_iter_values(rows.iter().map(|r| r.fold))),
            Arc::new(Int32Array::from_iter_values(rows.iter().map(|r| r.epoch))),
            Arc::new(Int8Array::from_iter_values(rows.iter().map(|r| r.label))),
            p(0),
            p(1),
            p(2),
        ],
    )?;
    write_batch(path, batch)
}

/// Reads a predictions table.
pub fn read_predictions(path: &Path) -> Result<Vec<PredictionRow>> {
    let mut rows = Vec::new();
    for batch in read_batches(path, &predictions_schema(), "a predictions table")? {
        let ctx = || format!("{}: not a predictions table", path.display());
        let arch: &StringArray = column(&batch, "arch").with_context(ctx)?;
        let id: &StringArray = column(&batch, "id").with_context(ctx)?;
        let fold: &Int32Array = column(&batch, "fold").with_context(ctx)?;
        let epoch: &Int32Array = column(&batch, "epoch").with_context(ctx)?;
        let label: &Int8Array = column(&batch, "label").with_context(ctx)?;
        let ps = ["p0", "p1", "p2"]
            .iter()
            .map(|n| column::<Float64Array>(&batch, n).with_context(ctx))
            .collect::<Result<Vec<_>>>()?;
        for i in 0..batch.num_rows() {
            rows.push(PredictionRow {
                arch: arch.value(i).to_string(),
                id: id.value(i).to_string(),
                fold: fold.value(i),
                epoch: epoch.value(i),
                label: label.value(i),
                p: [ps[0].value(i), ps[1].value(i), ps[2].value(i)],
            });
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn epoch_row(fold: i32, epoch: i32) -> EpochRow {
        EpochRow {
            arch: "inception_v3".into(),
            fold,
            epoch,
            split: "validation".into(),
            loss: 0.5,
            accuracy: 0.9,
            precision: 0.8,
            recall: 0.7,
            f1: 0.75,
            auc_ovr: 0.99,
            auc_ovo: 0.98,
            mcc: 0.6,
            seconds: 12.5,
            images_per_second: 300.0,
        }
    }

    #[test]
    fn epochs_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("epochs.parquet");
        let rows = vec![epoch_row(0, 0), epoch_row(0, 1), epoch_row(1, 0)];
        write_epochs(&path, &rows).unwrap();
        assert_eq!(read_epochs(&path).unwrap(), rows);
    }

    #[test]
    fn predictions_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("predictions.parquet");
        let rows = vec![PredictionRow {
            arch: "regnety_002".into(),
            id: "chr20:1:A>C".into(),
            fold: 2,
            epoch: 19,
            label: 1,
            p: [0.1, 0.7, 0.2],
        }];
        write_predictions(&path, &rows).unwrap();
        assert_eq!(read_predictions(&path).unwrap(), rows);
    }

    #[test]
    fn reading_the_wrong_table_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("predictions.parquet");
        write_predictions(&path, &[]).unwrap();
        let err = format!("{:#}", read_epochs(&path).unwrap_err());
        assert!(err.contains("not an epochs table"), "{err}");
    }
}
