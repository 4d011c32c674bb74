//! Run records: one row per task per run, appended as one Parquet file per run under
//! `<cache>/.records/`, readable as a dataset by pyarrow, polars and DuckDB
//! (`SELECT * FROM 'cache/.records/*.parquet'`).

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    Array, BooleanArray, BooleanBuilder, Float64Array, Float64Builder, Int32Array, Int32Builder,
    RecordBatch, StringArray, StringBuilder, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::error::{io_error, PipeError};

/// One task in one run.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordRow {
    /// Run id (`<UTC time>-<pid>`).
    pub run_id: String,
    /// Pipeline name.
    pub pipeline: String,
    /// Task id.
    pub task: String,
    /// Stage name.
    pub stage: String,
    /// Content key.
    pub key: String,
    /// `ran`, `cached`, `failed`, `skipped`, `interrupted`, `not-needed`.
    pub status: String,
    /// Whether the outputs came from the cache.
    pub cache_hit: bool,
    /// Start, UNIX seconds (0 when it did not run).
    pub start: f64,
    /// End, UNIX seconds.
    pub end: f64,
    /// Duration in seconds.
    pub seconds: f64,
    /// Worker exit code.
    pub exit_code: Option<i32>,
    /// Physical GPUs held, comma-separated.
    pub devices: String,
    /// Host name.
    pub host: String,
    /// Attempts made.
    pub attempts: i32,
    /// Slurm job id (empty under the local executor; absent from records older than the column).
    pub job_id: String,
}

fn schema() -> SchemaRef {
    let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    Arc::new(Schema::new(vec![
        Field::new("run_id", DataType::Utf8, false),
        Field::new("pipeline", DataType::Utf8, false),
        Field::new("task", DataType::Utf8, false),
        Field::new("stage", DataType::Utf8, false),
        Field::new("key", DataType::Utf8, false),
        Field::new("status", DataType::Utf8, false),
        Field::new("cache_hit", DataType::Boolean, false),
        Field::new("start", ts.clone(), true),
        Field::new("end", ts, true),
        Field::new("seconds", DataType::Float64, false),
        Field::new("exit_code", DataType::Int32, true),
        Field::new("devices", DataType::Utf8, false),
        Field::new("host", DataType::Utf8, false),
        Field::new("attempts", DataType::Int32, false),
        Field::new("job_id", DataType::Utf8, false),
    ]))
}

fn micros(seconds: f64) -> Option<i64> {
    (seconds > 0.0).then(|| (seconds * 1e6).round() as i64)
}

/// Rows gathered into one record batch before it is written.
const BATCH_ROWS: usize = 8192;

/// Column builders for up to [`BATCH_ROWS`] rows of the record.
#[derive(Default)]
struct Columns {
    strings: [StringBuilder; 9],
    cache_hit: BooleanBuilder,
    start: Vec<Option<i64>>,
    end: Vec<Option<i64>>,
    seconds: Float64Builder,
    exit_code: Int32Builder,
    attempts: Int32Builder,
    rows: usize,
}

impl Columns {
    fn push(&mut self, r: &RecordRow) {
        for (b, v) in self.strings.iter_mut().zip([
            &r.run_id,
            &r.pipeline,
            &r.task,
            &r.stage,
            &r.key,
            &r.status,
            &r.devices,
            &r.host,
            &r.job_id,
        ]) {
            b.append_value(v);
        }
        self.cache_hit.append_value(r.cache_hit);
        self.start.push(micros(r.start));
        self.end.push(micros(r.end));
        self.seconds.append_value(r.seconds);
        self.exit_code.append_option(r.exit_code);
        self.attempts.append_value(r.attempts);
        self.rows += 1;
    }

    /// The rows pushed since the last batch, as a batch of the record's schema; the builders start
    /// over empty.
    fn batch(&mut self) -> Result<RecordBatch, arrow::error::ArrowError> {
        let [run_ids, pipelines, tasks, stages, keys, statuses, devices, hosts, job_ids] =
            std::array::from_fn(|k| Arc::new(self.strings[k].finish()) as Arc<dyn Array>);
        let ts = |v: Vec<Option<i64>>| {
            Arc::new(TimestampMicrosecondArray::from(v).with_timezone("UTC")) as Arc<dyn Array>
        };
        self.rows = 0;
        RecordBatch::try_new(
            schema(),
            vec![
                run_ids,
                pipelines,
                tasks,
                stages,
                keys,
                statuses,
                Arc::new(self.cache_hit.finish()),
                ts(std::mem::take(&mut self.start)),
                ts(std::mem::take(&mut self.end)),
                Arc::new(self.seconds.finish()),
                Arc::new(self.exit_code.finish()),
                devices,
                hosts,
                Arc::new(self.attempts.finish()),
                job_ids,
            ],
        )
    }
}

/// Writes the rows of one run to `<dir>/<run_id>.parquet`, a batch of rows at a time (a run of
/// 100,000 tasks never holds them all).
pub fn write_run(
    dir: &Path,
    run_id: &str,
    rows: impl IntoIterator<Item = RecordRow>,
) -> Result<(), PipeError> {
    let path = dir.join(format!("{run_id}.parquet"));
    let tmp = dir.join(format!(".{run_id}.parquet.tmp"));
    let file = File::create(&tmp).map_err(|e| io_error("cannot write", &tmp, e))?;
    // Task ids and keys are unique within a run: a dictionary would only cost time.
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_column_dictionary_enabled("task".into(), false)
        .set_column_dictionary_enabled("key".into(), false)
        .build();
    let write = || -> Result<(), parquet::errors::ParquetError> {
        let mut w = ArrowWriter::try_new(file, schema(), Some(props))?;
        let mut columns = Columns::default();
        for row in rows {
            columns.push(&row);
            if columns.rows == BATCH_ROWS {
                w.write(&columns.batch()?)?;
            }
        }
        if columns.rows > 0 {
            w.write(&columns.batch()?)?;
        }
        w.close()?;
        Ok(())
    };
    write().map_err(|e| PipeError::env(format!("{}: {e}", tmp.display())))?;
    std::fs::rename(&tmp, &path).map_err(|e| io_error("cannot write", &path, e))
}

/// Reads every run record under `dir`, oldest run first.
pub fn read_all(dir: &Path) -> Result<Vec<RecordRow>, PipeError> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| io_error("cannot list", dir, e))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect();
    files.sort();
    let mut rows = Vec::new();
    for path in files {
        rows.extend(read_file(&path)?);
    }
    Ok(rows)
}

fn read_file(path: &Path) -> Result<Vec<RecordRow>, PipeError> {
    let bad = |e: String| PipeError::env(format!("{}: {e}", path.display()));
    let file = File::open(path).map_err(|e| io_error("cannot read", path, e))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .map_err(|e| bad(e.to_string()))?;
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| bad(e.to_string()))?;
        let col = |name: &str| {
            batch
                .column_by_name(name)
                .cloned()
                .ok_or_else(|| bad(format!("column '{name}' is missing")))
        };
        macro_rules! typed {
            ($name:expr, $t:ty) => {{
                let c = col($name)?;
                c.as_any()
                    .downcast_ref::<$t>()
                    .cloned()
                    .ok_or_else(|| bad(format!("column '{}' has the wrong type", $name)))?
            }};
        }
        let strings: Vec<StringArray> = [
            "run_id", "pipeline", "task", "stage", "key", "status", "devices", "host",
        ]
        .iter()
        .map(|n| Ok(typed!(*n, StringArray)))
        .collect::<Result<_, PipeError>>()?;
        let hit = typed!("cache_hit", BooleanArray);
        let start = typed!("start", TimestampMicrosecondArray);
        let end = typed!("end", TimestampMicrosecondArray);
        let seconds = typed!("seconds", Float64Array);
        let exit = typed!("exit_code", Int32Array);
        let attempts = typed!("attempts", Int32Array);
        let job_ids = batch
            .column_by_name("job_id")
            .and_then(|c| c.as_any().downcast_ref::<StringArray>().cloned());
        let secs = |a: &TimestampMicrosecondArray, i: usize| {
            if a.is_valid(i) {
                a.value(i) as f64 / 1e6
            } else {
                0.0
            }
        };
        for i in 0..batch.num_rows() {
            let s = |k: usize| strings[k].value(i).to_string();
            rows.push(RecordRow {
                run_id: s(0),
                pipeline: s(1),
                task: s(2),
                stage: s(3),
                key: s(4),
                status: s(5),
                cache_hit: hit.value(i),
                start: secs(&start, i),
                end: secs(&end, i),
                seconds: seconds.value(i),
                exit_code: exit.is_valid(i).then(|| exit.value(i)),
                devices: s(6),
                host: s(7),
                attempts: attempts.value(i),
                job_id: job_ids
                    .as_ref()
                    .map(|c| c.value(i).to_string())
                    .unwrap_or_default(),
            });
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let row = RecordRow {
            run_id: "r1".into(),
            pipeline: "p".into(),
            task: "train[arch=a,fold=0]".into(),
            stage: "train".into(),
            key: "ab".into(),
            status: "ran".into(),
            cache_hit: false,
            start: 1_700_000_000.5,
            end: 1_700_000_010.25,
            seconds: 9.75,
            exit_code: Some(0),
            devices: "0".into(),
            host: "h".into(),
            attempts: 1,
            job_id: "42".into(),
        };
        let cached = RecordRow {
            status: "cached".into(),
            cache_hit: true,
            start: 0.0,
            end: 0.0,
            seconds: 0.0,
            exit_code: None,
            ..row.clone()
        };
        write_run(dir.path(), "r1", [row.clone(), cached.clone()]).unwrap();
        assert_eq!(read_all(dir.path()).unwrap(), vec![row, cached]);
    }
}
