//! Small column tables of strings, integers and floats for the analysis outputs (summary, tests,
//! Friedman), written as Parquet (zstd) and CSV and read back by the report.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use arrow::array::{
    Array, ArrayRef, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
};
use arrow::datatypes::{DataType, Field, Schema};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

/// One column's values.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// UTF-8 strings.
    Str(Vec<String>),
    /// 64-bit integers.
    Int(Vec<i64>),
    /// 64-bit floats (NaN where a value does not apply).
    Float(Vec<f64>),
}

impl Values {
    fn len(&self) -> usize {
        match self {
            Values::Str(v) => v.len(),
            Values::Int(v) => v.len(),
            Values::Float(v) => v.len(),
        }
    }

    fn cell(&self, row: usize) -> String {
        match self {
            Values::Str(v) => v[row].clone(),
            Values::Int(v) => v[row].to_string(),
            Values::Float(v) if v[row].is_nan() => String::new(),
            // Shortest representation that reads back to the same f64.
            Values::Float(v) => format!("{:?}", v[row]),
        }
    }
}

/// A table: named columns of equal length, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Frame {
    /// (name, values) in column order.
    pub columns: Vec<(String, Values)>,
}

impl Frame {
    /// Appends a column.
    pub fn push(&mut self, name: &str, values: Values) {
        self.columns.push((name.to_string(), values));
    }

    /// Number of rows (0 for a table without columns).
    pub fn rows(&self) -> usize {
        self.columns.first().map_or(0, |(_, v)| v.len())
    }

    /// The string column `name`.
    pub fn strings(&self, name: &str) -> Result<&[String]> {
        match self.column(name)? {
            Values::Str(v) => Ok(v),
            _ => bail!("column '{name}' is not a string column"),
        }
    }

    /// The float column `name`.
    pub fn floats(&self, name: &str) -> Result<&[f64]> {
        match self.column(name)? {
            Values::Float(v) => Ok(v),
            _ => bail!("column '{name}' is not a float column"),
        }
    }

    /// The integer column `name`.
    pub fn ints(&self, name: &str) -> Result<&[i64]> {
        match self.column(name)? {
            Values::Int(v) => Ok(v),
            _ => bail!("column '{name}' is not an integer column"),
        }
    }

    fn column(&self, name: &str) -> Result<&Values> {
        self.columns
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
            .with_context(|| format!("column '{name}' is missing"))
    }

    /// Writes the table as Parquet (zstd).
    pub fn write_parquet(&self, path: &Path) -> Result<()> {
        let fields: Vec<Field> = self
            .columns
            .iter()
            .map(|(name, v)| {
                let ty = match v {
                    Values::Str(_) => DataType::Utf8,
                    Values::Int(_) => DataType::Int64,
                    Values::Float(_) => DataType::Float64,
                };
                Field::new(name, ty, false)
            })
            .collect();
        let arrays: Vec<ArrayRef> = self
            .columns
            .iter()
            .map(|(_, v)| match v {
                Values::Str(v) => Arc::new(StringArray::from_iter_values(v)) as ArrayRef,
                Values::Int(v) => Arc::new(Int64Array::from(v.clone())),
                Values::Float(v) => Arc::new(Float64Array::from(v.clone())),
            })
            .collect();
        let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)?;
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .build();
        let file =
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(props))?;
        writer.write(&batch)?;
        writer.close()?;
        Ok(())
    }

    /// Writes the table as CSV with a header (floats in shortest round-trip form, NaN as empty).
    pub fn write_csv(&self, path: &Path) -> Result<()> {
        let mut w = csv::Writer::from_path(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        w.write_record(self.columns.iter().map(|(n, _)| n.as_str()))?;
        for row in 0..self.rows() {
            w.write_record(self.columns.iter().map(|(_, v)| v.cell(row)))?;
        }
        w.flush()?;
        Ok(())
    }

    /// Reads a Parquet table written by [`Frame::write_parquet`] (utf8, int64 and float64 columns;
    /// int32 columns, such as the epochs table's `fold`, are widened to integers).
    pub fn read_parquet(path: &Path) -> Result<Self> {
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(file)
            .with_context(|| format!("{} is not a Parquet file", path.display()))?;
        // Columns come from the schema, so a table without rows still has them.
        let mut frame = Frame::default();
        for field in builder.schema().fields() {
            let empty = match field.data_type() {
                DataType::Utf8 => Values::Str(Vec::new()),
                DataType::Int64 | DataType::Int32 => Values::Int(Vec::new()),
                DataType::Float64 => Values::Float(Vec::new()),
                other => bail!(
                    "{}: column '{}' has type {other}, expected utf8, int32, int64 or float64",
                    path.display(),
                    field.name()
                ),
            };
            frame.push(field.name(), empty);
        }
        for batch in builder.build()? {
            let batch = batch.with_context(|| format!("cannot read {}", path.display()))?;
            for (i, (_, values)) in frame.columns.iter_mut().enumerate() {
                let array = batch.column(i);
                let any = array.as_any();
                match values {
                    Values::Str(v) => v.extend(
                        any.downcast_ref::<StringArray>()
                            .context("utf8 column")?
                            .iter()
                            .map(|s| s.unwrap_or_default().to_string()),
                    ),
                    Values::Int(v) => match any.downcast_ref::<Int32Array>() {
                        Some(narrow) => {
                            v.extend(narrow.iter().map(|x| i64::from(x.unwrap_or_default())))
                        }
                        None => v.extend(
                            any.downcast_ref::<Int64Array>()
                                .context("int64 column")?
                                .iter()
                                .map(Option::unwrap_or_default),
                        ),
                    },
                    Values::Float(v) => v.extend(
                        any.downcast_ref::<Float64Array>()
                            .context("float64 column")?
                            .iter()
                            .map(|x| x.unwrap_or(f64::NAN)),
                    ),
                }
                if array.null_count() > 0 {
                    bail!("{}: column {i} has nulls", path.display());
                }
            }
        }
        Ok(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parquet_round_trip_and_csv() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = Frame::default();
        f.push("arch", Values::Str(vec!["a".into(), "b".into()]));
        f.push("n", Values::Int(vec![6, 6]));
        f.push("p", Values::Float(vec![0.03125, f64::NAN]));
        f.write_parquet(&dir.path().join("t.parquet")).unwrap();
        let back = Frame::read_parquet(&dir.path().join("t.parquet")).unwrap();
        assert_eq!(back.strings("arch").unwrap(), f.strings("arch").unwrap());
        assert!(back.floats("p").unwrap()[1].is_nan());
        let mut empty = Frame::default();
        empty.push("metric", Values::Str(vec![]));
        empty.write_parquet(&dir.path().join("e.parquet")).unwrap();
        let back = Frame::read_parquet(&dir.path().join("e.parquet")).unwrap();
        assert_eq!(back.rows(), 0);
        assert!(back.strings("metric").unwrap().is_empty());
        let epochs = dir.path().join("epochs.parquet");
        let row = crate::analysis::tables::EpochRow::from_values(
            "a".into(),
            2,
            0,
            "validation".into(),
            [0.5; 10],
        );
        crate::analysis::tables::write_epochs(&epochs, &[row]).unwrap();
        let back = Frame::read_parquet(&epochs).unwrap();
        assert_eq!(back.ints("fold").unwrap(), [2], "int32 folds are widened");
        f.write_csv(&dir.path().join("t.csv")).unwrap();
        let text = std::fs::read_to_string(dir.path().join("t.csv")).unwrap();
        assert_eq!(text, "arch,n,p\na,6,0.03125\nb,6,\n");
    }
}
