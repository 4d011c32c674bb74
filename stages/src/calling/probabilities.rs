//! The `call` stage's `probabilities` table: the model's class probabilities of every example, as
//! Parquet (zstd) with columns `id`, `chrom`, `pos` (0-based), `alts` (the example's alt subset,
//! comma-joined) and `p0`, `p1`, `p2` (hom-ref, het, hom-alt of that subset).

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use arrow::array::{Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use crate::analysis::tables::{read_batches, write_batch};
use crate::data::examples::column;

/// One example's probabilities.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbabilityRow {
    /// Example id.
    pub id: String,
    /// Contig.
    pub chrom: String,
    /// 0-based position.
    pub pos: i64,
    /// The example's alt alleles, comma-joined.
    pub alts: String,
    /// P(hom-ref), P(het), P(hom-alt).
    pub p: [f64; 3],
}

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("chrom", DataType::Utf8, false),
        Field::new("pos", DataType::Int64, false),
        Field::new("alts", DataType::Utf8, false),
        Field::new("p0", DataType::Float64, false),
        Field::new("p1", DataType::Float64, false),
        Field::new("p2", DataType::Float64, false),
    ]))
}

/// Writes `rows` to `path`.
pub fn write(path: &Path, rows: &[ProbabilityRow]) -> Result<()> {
    let strings = |f: fn(&ProbabilityRow) -> &str| {
        Arc::new(StringArray::from_iter_values(rows.iter().map(f)))
    };
    let p = |k: usize| Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.p[k])));
    let batch = RecordBatch::try_new(
        schema(),
        vec![
            strings(|r| &r.id),
            strings(|r| &r.chrom),
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.pos))),
            strings(|r| &r.alts),
            p(0),
            p(1),
            p(2),
        ],
    )?;
    write_batch(path, batch)
}

/// Reads a probabilities table; the error names the file and the missing column.
pub fn read(path: &Path) -> Result<Vec<ProbabilityRow>> {
    let mut rows = Vec::new();
    for batch in read_batches(path, &schema(), "a probabilities table")? {
        let ctx = || format!("{}: not a probabilities table", path.display());
        let id: &StringArray = column(&batch, "id").with_context(ctx)?;
        let chrom: &StringArray = column(&batch, "chrom").with_context(ctx)?;
        let pos: &Int64Array = column(&batch, "pos").with_context(ctx)?;
        let alts: &StringArray = column(&batch, "alts").with_context(ctx)?;
        let ps = ["p0", "p1", "p2"]
            .iter()
            .map(|n| column::<Float64Array>(&batch, n).with_context(ctx))
            .collect::<Result<Vec<_>>>()?;
        for i in 0..batch.num_rows() {
            rows.push(ProbabilityRow {
                id: id.value(i).to_string(),
                chrom: chrom.value(i).to_string(),
                pos: pos.value(i),
                alts: alts.value(i).to_string(),
                p: [ps[0].value(i), ps[1].value(i), ps[2].value(i)],
            });
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.parquet");
        let rows = vec![ProbabilityRow {
            id: "chr1:5:A>C,G".into(),
            chrom: "chr1".into(),
            pos: 4,
            alts: "C,G".into(),
            p: [0.1, 0.2, 0.7],
        }];
        write(&path, &rows).unwrap();
        assert_eq!(read(&path).unwrap(), rows);
        std::fs::write(&path, b"no").unwrap();
        assert!(read(&path)
            .unwrap_err()
            .to_string()
            .contains("not a Parquet file"));
    }
}
