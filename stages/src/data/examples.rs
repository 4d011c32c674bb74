//! The examples table: one pileup image per candidate variant, as Parquet (zstd).
//!
//! Columns are part of `pipe`'s interface (see the README): `id`, `sample`, `chrom`, `pos` (0-based),
//! `ref`, `alt` (comma-joined), `label` (0 hom-ref, 1 het, 2 hom-alt, null when unlabeled) and `image`
//! (fixed-size binary, H*W*C bytes, HWC uint8 as DeepVariant lays it out), then what a caller needs of
//! the candidate site, null where the source does not know it: `site_alts` (every alt allele of the
//! site, comma-joined; `alt` is this example's subset of them), `dp` (reads counted at the site) and
//! `ad` (list: reads supporting the reference, then each of `site_alts`). Files written before these
//! columns existed still read (as null). The file's key-value metadata holds `height`, `width`,
//! `channels` (comma-joined names in order) and `source`.

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use arrow::array::{
    Array, FixedSizeBinaryArray, FixedSizeBinaryBuilder, Int32Array, Int32Builder, Int64Array,
    Int64Builder, Int8Array, Int8Builder, ListArray, ListBuilder, RecordBatch, StringArray,
    StringBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::arrow::arrow_writer::ArrowWriterOptions;
use parquet::arrow::{ArrowWriter, ProjectionMask};
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

/// Rows per Parquet row group.
pub const ROW_GROUP_ROWS: usize = 1000;

/// Shape and channel names of every image in one examples file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageShape {
    /// Rows (DeepVariant: 100).
    pub height: usize,
    /// Columns (DeepVariant: 221).
    pub width: usize,
    /// Channel names in image order, e.g. `read_base`, `base_quality`, ...
    pub channels: Vec<String>,
}

impl ImageShape {
    /// Bytes of one image (H*W*C).
    pub fn image_len(&self) -> usize {
        self.height * self.width * self.channels.len()
    }
}

/// One example, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// Unique id, e.g. `chr20:10001019:T>G`.
    pub id: String,
    /// Sample name.
    pub sample: String,
    /// Contig.
    pub chrom: String,
    /// 0-based position of the candidate's first reference base.
    pub pos: i64,
    /// Reference allele.
    pub ref_allele: String,
    /// Alternate alleles, comma-joined.
    pub alt: String,
    /// 0 hom-ref, 1 het, 2 hom-alt; `None` when unlabeled.
    pub label: Option<i8>,
    /// HWC uint8 image.
    pub image: Vec<u8>,
    /// The candidate site as a caller needs it; `None` where the source does not say.
    pub site: Option<Site>,
}

/// What a caller needs of an example's candidate site: its alleles and read counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// Every alt allele of the site, in the site's order (an example's `alt` is a subset of them).
    pub alts: Vec<String>,
    /// Reads counted at the site (VCF `DP`).
    pub depth: i32,
    /// Reads supporting the reference, then each of `alts` (VCF `AD`).
    pub allele_depths: Vec<i32>,
}

/// The columns of [`Site`], in the table's order: readers that need them check for these.
pub const SITE_COLUMNS: [&str; 3] = ["site_alts", "dp", "ad"];

fn schema(shape: &ImageShape, source: &str) -> Result<SchemaRef> {
    let len = i32::try_from(shape.image_len()).context("image too large")?;
    let fields = vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("sample", DataType::Utf8, false),
        Field::new("chrom", DataType::Utf8, false),
        Field::new("pos", DataType::Int64, false),
        Field::new("ref", DataType::Utf8, false),
        Field::new("alt", DataType::Utf8, false),
        Field::new("label", DataType::Int8, true),
        Field::new("image", DataType::FixedSizeBinary(len), false),
        Field::new("site_alts", DataType::Utf8, true),
        Field::new("dp", DataType::Int32, true),
        Field::new("ad", ad_type(), true),
    ];
    Ok(Arc::new(Schema::new_with_metadata(
        fields,
        metadata(shape, source),
    )))
}

/// The `ad` column's type: a list of Int32 (the item field as arrow's list builder names it).
fn ad_type() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Int32, true)))
}

fn metadata(shape: &ImageShape, source: &str) -> HashMap<String, String> {
    HashMap::from([
        ("height".to_string(), shape.height.to_string()),
        ("width".to_string(), shape.width.to_string()),
        ("channels".to_string(), shape.channels.join(",")),
        ("source".to_string(), source.to_string()),
    ])
}

/// Streams examples into a Parquet file, one row group per [`ROW_GROUP_ROWS`] examples.
pub struct ExamplesWriter {
    shape: ImageShape,
    schema: SchemaRef,
    writer: ArrowWriter<File>,
    pending: Vec<Example>,
    written: usize,
}

impl ExamplesWriter {
    /// Creates `path` for images of `shape`; `source` names where the examples came from.
    pub fn create(path: &Path, shape: ImageShape, source: &str) -> Result<Self> {
        let schema = schema(&shape, source)?;
        // Sorted key-value metadata and no embedded Arrow schema (its metadata is a HashMap): the same
        // examples give the same bytes.
        let mut kv: Vec<_> = metadata(&shape, source)
            .into_iter()
            .map(|(k, v)| parquet::file::metadata::KeyValue::new(k, v))
            .collect();
        kv.sort_by(|a, b| a.key.cmp(&b.key));
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .set_key_value_metadata(Some(kv))
            .build();
        let file =
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        let options = ArrowWriterOptions::new()
            .with_properties(props)
            .with_skip_arrow_metadata(true);
        let writer = ArrowWriter::try_new_with_options(file, schema.clone(), options)?;
        Ok(Self {
            shape,
            schema,
            writer,
            pending: Vec::with_capacity(ROW_GROUP_ROWS),
            written: 0,
        })
    }

    /// Adds one example; its image must have the writer's shape.
    pub fn push(&mut self, example: Example) -> Result<()> {
        if example.image.len() != self.shape.image_len() {
            bail!(
                "example {}: image has {} bytes, expected {} ({}x{}x{})",
                example.id,
                example.image.len(),
                self.shape.image_len(),
                self.shape.height,
                self.shape.width,
                self.shape.channels.len()
            );
        }
        self.pending.push(example);
        if self.pending.len() >= ROW_GROUP_ROWS {
            self.flush_pending()?;
        }
        Ok(())
    }

    fn flush_pending(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let batch = to_batch(&self.schema, &self.shape, &self.pending)?;
        self.writer.write(&batch)?;
        self.written += self.pending.len();
        self.pending.clear();
        Ok(())
    }

    /// Writes what is pending and closes the file; returns the number of examples written.
    pub fn finish(mut self) -> Result<usize> {
        self.flush_pending()?;
        self.writer.close()?;
        Ok(self.written)
    }
}

fn to_batch(schema: &SchemaRef, shape: &ImageShape, rows: &[Example]) -> Result<RecordBatch> {
    let mut id = StringBuilder::new();
    let mut sample = StringBuilder::new();
    let mut chrom = StringBuilder::new();
    let mut pos = Int64Builder::new();
    let mut ref_allele = StringBuilder::new();
    let mut alt = StringBuilder::new();
    let mut label = Int8Builder::new();
    let mut image = FixedSizeBinaryBuilder::with_capacity(rows.len(), shape.image_len() as i32);
    let mut site_alts = StringBuilder::new();
    let mut dp = Int32Builder::new();
    let mut ad = ListBuilder::new(Int32Builder::new());
    for r in rows {
        match &r.site {
            Some(site) => {
                site_alts.append_value(site.alts.join(","));
                dp.append_value(site.depth);
                ad.append_value(site.allele_depths.iter().map(|&d| Some(d)));
            }
            None => {
                site_alts.append_null();
                dp.append_null();
                ad.append_null();
            }
        }
        id.append_value(&r.id);
        sample.append_value(&r.sample);
        chrom.append_value(&r.chrom);
        pos.append_value(r.pos);
        ref_allele.append_value(&r.ref_allele);
        alt.append_value(&r.alt);
        label.append_option(r.label);
        image.append_value(&r.image)?;
    }
    Ok(RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(id.finish()),
            Arc::new(sample.finish()),
            Arc::new(chrom.finish()),
            Arc::new(pos.finish()),
            Arc::new(ref_allele.finish()),
            Arc::new(alt.finish()),
            Arc::new(label.finish()),
            Arc::new(image.finish()),
            Arc::new(site_alts.finish()),
            Arc::new(dp.finish()),
            Arc::new(ad.finish()),
        ],
    )?)
}

/// An examples file opened for reading.
pub struct ExamplesFile {
    /// Image shape from the file's metadata.
    pub shape: ImageShape,
    /// Where the examples came from (`simulate`, `bam`, `tfrecord`, `png`).
    pub source: String,
    /// Number of examples.
    pub rows: usize,
    builder: ParquetRecordBatchReaderBuilder<File>,
}

impl ExamplesFile {
    /// Opens `path` and reads its metadata; the error names the file and what is wrong with it.
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(file)
            .with_context(|| format!("{} is not a Parquet file", path.display()))?;
        let meta = builder.schema().metadata().clone();
        let get = |k: &str| {
            meta.get(k).cloned().ok_or_else(|| {
                anyhow!(
                    "{}: metadata key '{k}' is missing; is this an examples table written by pipe?",
                    path.display()
                )
            })
        };
        let parse = |k: &str| -> Result<usize> {
            get(k)?
                .parse()
                .with_context(|| format!("{}: metadata '{k}' is not a number", path.display()))
        };
        let shape = ImageShape {
            height: parse("height")?,
            width: parse("width")?,
            channels: get("channels")?.split(',').map(str::to_string).collect(),
        };
        let source = get("source")?;
        for column in ["id", "label", "image"] {
            if builder.schema().field_with_name(column).is_err() {
                bail!("{}: column '{column}' is missing", path.display());
            }
        }
        let rows = usize::try_from(builder.metadata().file_metadata().num_rows()).unwrap_or(0);
        Ok(Self {
            shape,
            source,
            rows,
            builder,
        })
    }

    /// Streams record batches of `batch_rows`, restricted to `columns` (all when empty).
    pub fn batches(self, batch_rows: usize, columns: &[&str]) -> Result<ParquetRecordBatchReader> {
        let mut builder = self.builder.with_batch_size(batch_rows.max(1));
        if !columns.is_empty() {
            let arrow_schema = builder.schema().clone();
            let indices = columns
                .iter()
                .map(|c| {
                    arrow_schema
                        .index_of(c)
                        .map_err(|_| anyhow!("column '{c}' is missing"))
                })
                .collect::<Result<Vec<_>>>()?;
            let mask = ProjectionMask::roots(builder.parquet_schema(), indices);
            builder = builder.with_projection(mask);
        }
        Ok(builder.build()?)
    }

    /// Reads every example into memory (small files, tests).
    pub fn read_all(self) -> Result<Vec<Example>> {
        let mut out = Vec::with_capacity(self.rows);
        for batch in self.batches(ROW_GROUP_ROWS, &[])? {
            append_examples(&batch?, &mut out)?;
        }
        Ok(out)
    }

    /// Reads the one example at 0-based `row`, decoding only the pages that hold it.
    pub fn read_row(self, row: usize) -> Result<Example> {
        let reader = self
            .builder
            .with_offset(row)
            .with_limit(1)
            .with_batch_size(1)
            .build()?;
        let mut out = Vec::with_capacity(1);
        for batch in reader {
            append_examples(&batch?, &mut out)?;
        }
        out.pop()
            .ok_or_else(|| anyhow!("row {row} is past the end of the table"))
    }
}

/// Appends the rows of an examples batch as owned [`Example`]s.
fn append_examples(batch: &RecordBatch, out: &mut Vec<Example>) -> Result<()> {
    let s = |name: &str| -> Result<&StringArray> { column(batch, name) };
    let (id, sample, chrom, ref_allele, alt) =
        (s("id")?, s("sample")?, s("chrom")?, s("ref")?, s("alt")?);
    let pos: &Int64Array = column(batch, "pos")?;
    let label: &Int8Array = column(batch, "label")?;
    let image: &FixedSizeBinaryArray = column(batch, "image")?;
    let sites = SiteColumns::of(batch)?;
    for i in 0..batch.num_rows() {
        out.push(Example {
            id: id.value(i).to_string(),
            sample: sample.value(i).to_string(),
            chrom: chrom.value(i).to_string(),
            pos: pos.value(i),
            ref_allele: ref_allele.value(i).to_string(),
            alt: alt.value(i).to_string(),
            label: label.is_valid(i).then(|| label.value(i)),
            image: image.value(i).to_vec(),
            site: sites.as_ref().and_then(|s| s.site(i)),
        });
    }
    Ok(())
}

/// The site columns of a batch (see [`SITE_COLUMNS`]).
pub struct SiteColumns<'a> {
    alts: &'a StringArray,
    dp: &'a Int32Array,
    ad: &'a ListArray,
}

impl<'a> SiteColumns<'a> {
    /// The site columns of `batch`; `None` when it has none of them (a file from before they existed
    /// or a projection without them); an error when it has only some, or of the wrong type.
    pub fn of(batch: &'a RecordBatch) -> Result<Option<Self>> {
        let present = SITE_COLUMNS
            .iter()
            .filter(|c| batch.column_by_name(c).is_some())
            .count();
        if present == 0 {
            return Ok(None);
        }
        Ok(Some(Self {
            alts: column(batch, "site_alts")?,
            dp: column(batch, "dp")?,
            ad: column(batch, "ad")?,
        }))
    }

    /// The site of row `i`; `None` when its site columns are null.
    pub fn site(&self, i: usize) -> Option<Site> {
        if !(self.alts.is_valid(i) && self.dp.is_valid(i) && self.ad.is_valid(i)) {
            return None;
        }
        let depths = self.ad.value(i);
        let depths = depths.as_any().downcast_ref::<Int32Array>()?;
        let alts = self.alts.value(i);
        Some(Site {
            alts: if alts.is_empty() {
                Vec::new()
            } else {
                alts.split(',').map(str::to_string).collect()
            },
            depth: self.dp.value(i),
            allele_depths: depths.iter().map(|d| d.unwrap_or(0)).collect(),
        })
    }
}

/// Column `name` of `batch` as the array type `A`.
pub fn column<'a, A: Array + 'static>(batch: &'a RecordBatch, name: &str) -> Result<&'a A> {
    batch
        .column_by_name(name)
        .ok_or_else(|| anyhow!("column '{name}' is missing"))?
        .as_any()
        .downcast_ref::<A>()
        .ok_or_else(|| anyhow!("column '{name}' has an unexpected type"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape() -> ImageShape {
        ImageShape {
            height: 2,
            width: 3,
            channels: vec!["a".into(), "b".into()],
        }
    }

    fn example(i: usize, label: Option<i8>) -> Example {
        Example {
            id: format!("chr1:{i}"),
            sample: "s".into(),
            chrom: "chr1".into(),
            pos: i as i64,
            ref_allele: "A".into(),
            alt: "C,T".into(),
            label,
            image: (0..12).map(|b| (b + i) as u8).collect(),
            site: i.is_multiple_of(2).then(|| Site {
                alts: vec!["C".into(), "T".into()],
                depth: 30 + i as i32,
                allele_depths: vec![10, 12, i as i32],
            }),
        }
    }

    #[test]
    fn round_trip_keeps_rows_shape_and_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ex.parquet");
        let mut w = ExamplesWriter::create(&path, shape(), "test").unwrap();
        let rows: Vec<_> = (0..2500)
            .map(|i| example(i, (i % 4 != 3).then_some((i % 3) as i8)))
            .collect();
        for r in &rows {
            w.push(r.clone()).unwrap();
        }
        assert_eq!(w.finish().unwrap(), 2500);
        let f = ExamplesFile::open(&path).unwrap();
        assert_eq!(f.shape, shape());
        assert_eq!(f.source, "test");
        assert_eq!(f.rows, 2500);
        assert_eq!(f.read_all().unwrap(), rows);
    }

    #[test]
    fn read_row_reads_one_example() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ex.parquet");
        let mut w = ExamplesWriter::create(&path, shape(), "t").unwrap();
        for i in 0..1500 {
            w.push(example(i, Some(1))).unwrap();
        }
        w.finish().unwrap();
        let e = ExamplesFile::open(&path).unwrap().read_row(1203).unwrap();
        assert_eq!(e, example(1203, Some(1)));
        assert!(ExamplesFile::open(&path).unwrap().read_row(1500).is_err());
    }

    #[test]
    fn wrong_image_size_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = ExamplesWriter::create(&dir.path().join("x.parquet"), shape(), "t").unwrap();
        let mut e = example(0, None);
        e.image.pop();
        let err = w.push(e).unwrap_err().to_string();
        assert!(err.contains("11 bytes, expected 12"), "{err}");
    }

    #[test]
    fn projection_reads_only_named_columns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ex.parquet");
        let mut w = ExamplesWriter::create(&path, shape(), "t").unwrap();
        w.push(example(1, Some(2))).unwrap();
        w.finish().unwrap();
        let batch = ExamplesFile::open(&path)
            .unwrap()
            .batches(10, &["label", "image"])
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        assert_eq!(batch.num_columns(), 2);
        let labels: &Int8Array = column(&batch, "label").unwrap();
        assert_eq!(labels.value(0), 2);
    }

    #[test]
    fn a_file_without_site_columns_still_reads() {
        // The table as written before the site columns existed.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.parquet");
        let full = schema(&shape(), "old").unwrap();
        let old = Arc::new(Schema::new_with_metadata(
            full.fields()[..8].to_vec(),
            full.metadata().clone(),
        ));
        let rows = vec![example(0, Some(1)), example(1, None)];
        let batch = to_batch(&full, &shape(), &rows).unwrap();
        let batch = RecordBatch::try_new(old.clone(), batch.columns()[..8].to_vec()).unwrap();
        let mut w = ArrowWriter::try_new(File::create(&path).unwrap(), old, None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let back = ExamplesFile::open(&path).unwrap().read_all().unwrap();
        assert_eq!(back.len(), 2);
        assert!(back.iter().all(|e| e.site.is_none()));
        assert_eq!(back[0].label, Some(1));
        assert_eq!(back[1].image, rows[1].image);
    }

    #[test]
    fn a_non_parquet_file_is_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.parquet");
        std::fs::write(&path, b"not parquet").unwrap();
        let err = ExamplesFile::open(&path).err().unwrap().to_string();
        assert!(err.contains("bad.parquet is not a Parquet file"), "{err}");
    }
}
