//! Examples from outside pipe: DeepVariant's TFRecords and the original study's per-channel PNGs.
//!
//! Two stage kinds turn them into pipe's examples table ([`crate::data::examples`]): `from_tfrecord` reads
//! `make_examples` output (gzip or plain TFRecords of `tf.Example`), `from_pngs` reads the study's CSV of
//! 8-bit grayscale PNGs, one per channel. [`write_examples_tfrecord`] goes the other way, so examples
//! made by pipe can be given to DeepVariant's tools.

pub mod png_csv;
pub mod tf_example;
pub mod tfrecord;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use serde::Deserialize;

use crate::data::examples::{Example, ExamplesWriter, ImageShape};
use pipe_kind::{InputPort, OutputPort, StageKind, StageParams, TaskContext};
use png_csv::{PngCsvOptions, PngTable};
use tfrecord::{RecordReader, RecordWriter};

/// The channels of DeepVariant's WGS model from v1.4 on, in image order (`example_info.json` ids
/// 1, 2, 3, 4, 5, 6, 19).
pub const WGS_CHANNELS: [&str; 7] = [
    "read_base",
    "base_quality",
    "mapping_quality",
    "strand",
    "read_supports_variant",
    "base_differs_from_ref",
    "insert_size",
];

/// Examples per progress update and per parallel batch of PNG reads.
const BATCH: usize = 256;

/// Gives repeated ids a `#2`, `#3`, ... suffix so every id in a table is unique (DeepVariant training
/// sets can hold the same candidate more than once, e.g. at several downsampling fractions).
#[derive(Default)]
struct UniqueIds {
    seen: HashSet<String>,
    renamed: usize,
}

impl UniqueIds {
    fn unique(&mut self, id: String) -> String {
        if self.seen.insert(id.clone()) {
            return id;
        }
        self.renamed += 1;
        let mut k = 2;
        loop {
            let candidate = format!("{id}#{k}");
            if self.seen.insert(candidate.clone()) {
                return candidate;
            }
            k += 1;
        }
    }
}

fn check_channel_names(names: &[String]) -> Result<()> {
    if names.is_empty() {
        bail!("params.channels: give at least one channel name");
    }
    let mut seen = HashSet::new();
    for (i, name) in names.iter().enumerate() {
        if name.is_empty() || name.contains(',') {
            bail!("params.channels[{i}]: '{name}' must be non-empty and have no comma");
        }
        if !seen.insert(name) {
            bail!("params.channels[{i}]: '{name}' appears twice");
        }
    }
    Ok(())
}

/// Parameters of `from_tfrecord`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TfrecordParams {
    /// Channel names in image order; default: from `example_info.json`, else [`WGS_CHANNELS`].
    #[serde(default)]
    channels: Option<Vec<String>>,
    /// Sample name for examples whose variant names none.
    #[serde(default)]
    sample: String,
}

impl StageParams for TfrecordParams {
    fn validate(&self) -> Result<()> {
        if let Some(c) = &self.channels {
            check_channel_names(c)?;
        }
        Ok(())
    }
}

/// DeepVariant's `example_info.json` sidecar: image shape and channel ids.
#[derive(Debug, Deserialize)]
struct ExampleInfo {
    #[serde(default)]
    shape: Option<Vec<usize>>,
    channels: Vec<i64>,
}

impl ExampleInfo {
    fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| {
            format!(
                "{}: not a DeepVariant example_info.json ({{\"shape\": [..], \"channels\": [ids]}})",
                path.display()
            )
        })
    }

    fn channel_names(&self, path: &Path) -> Result<Vec<String>> {
        self.channels
            .iter()
            .map(|&id| {
                tf_example::channel_name(id)
                    .map(str::to_string)
                    .ok_or_else(|| {
                        anyhow!(
                            "{}: channel id {id} is not a DeepVariant channel pipe knows; set \
                         params.channels to the channel names in image order",
                            path.display()
                        )
                    })
            })
            .collect()
    }
}

/// The TFRecord files bound to `tfrecords`: files as given, directories as their `*.tfrecord*` files
/// in name order.
fn tfrecord_files(inputs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(input)
                .with_context(|| format!("cannot list {}", input.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                    p.is_file() && name.contains(".tfrecord") && !name.ends_with(".json")
                })
                .collect();
            if found.is_empty() {
                bail!("{}: directory holds no *.tfrecord* files", input.display());
            }
            found.sort();
            files.extend(found);
        } else {
            files.push(input.clone());
        }
    }
    if files.is_empty() {
        bail!("input 'tfrecords' is not bound");
    }
    Ok(files)
}

/// `<file>.example_info.json` beside a TFRecord file, as `make_examples` writes it for its first shard.
fn sidecar(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".example_info.json");
    PathBuf::from(name)
}

/// Stage kind `from_tfrecord`: DeepVariant `make_examples` TFRecords to an examples table.
///
/// Channel names come from `params.channels`, else from `example_info.json` (the bound input, else the
/// sidecar beside the first file, which the content key does not cover), else [`WGS_CHANNELS`]; their
/// count must match `image/shape`.
pub struct FromTfrecord;

static TFRECORD_INPUTS: &[InputPort] = &[
    InputPort {
        name: "tfrecords",
        required: true,
        many: true,
        doc: "TFRecord files (gzip or plain) or directories of them, read in the order given",
    },
    InputPort {
        name: "example_info",
        required: false,
        many: false,
        doc: "DeepVariant example_info.json naming the channels (default: <first file>.example_info.json)",
    },
];

static EXAMPLES_OUTPUT: &[OutputPort] = &[OutputPort {
    name: "examples",
    path: "examples.parquet",
    doc: "examples table (Parquet)",
}];

impl StageKind for FromTfrecord {
    type Params = TfrecordParams;

    fn name(&self) -> &'static str {
        "from_tfrecord"
    }

    fn version(&self) -> u32 {
        1
    }

    fn about(&self) -> &'static str {
        "Reads DeepVariant make_examples TFRecords (tf.Example, gzip or plain) into an examples table"
    }

    fn inputs(&self) -> &'static [InputPort] {
        TFRECORD_INPUTS
    }

    fn outputs(&self) -> &'static [OutputPort] {
        EXAMPLES_OUTPUT
    }

    fn compute(&self, params: TfrecordParams, ctx: &TaskContext) -> Result<()> {
        let files = tfrecord_files(ctx.inputs_of("tfrecords"))?;
        let info_path = match ctx.optional_input("example_info")? {
            Some(p) => Some(p.to_path_buf()),
            None => Some(sidecar(&files[0])).filter(|p| p.is_file()),
        };
        let info = info_path
            .as_deref()
            .map(|p| ExampleInfo::read(p).map(|i| (p, i)))
            .transpose()?;
        let (channels, channels_from) = match (&params.channels, &info) {
            (Some(c), _) => (c.clone(), "params.channels".to_string()),
            (None, Some((path, info))) => {
                (info.channel_names(path)?, format!("{}", path.display()))
            }
            (None, None) => (
                WGS_CHANNELS.iter().map(|s| s.to_string()).collect(),
                "the default WGS channels".to_string(),
            ),
        };
        eprintln!(
            "from_tfrecord: {} file(s); channels from {channels_from}: {}",
            files.len(),
            channels.join(",")
        );

        let out = ctx.output("examples")?;
        let mut writer: Option<(ExamplesWriter, [usize; 3])> = None;
        let mut ids = UniqueIds::default();
        let mut count = 0u64;
        for (i, file) in files.iter().enumerate() {
            for (index, record) in RecordReader::open(file)?.enumerate() {
                let at = || format!("{}: record {index}", file.display());
                let dv = tf_example::decode(&record?).with_context(at)?;
                let (mut w, shape) = match writer.take() {
                    Some(open) => open,
                    None => {
                        check_shape(dv.shape, &channels, &channels_from, info.as_ref())
                            .with_context(at)?;
                        let shape = ImageShape {
                            height: dv.shape[0],
                            width: dv.shape[1],
                            channels: channels.clone(),
                        };
                        (ExamplesWriter::create(out, shape, "tfrecord")?, dv.shape)
                    }
                };
                if dv.shape != shape {
                    bail!(
                        "{}: image/shape {:?} differs from the first example's {:?}",
                        at(),
                        dv.shape,
                        shape
                    );
                }
                let mut example = dv.example;
                example.id = ids.unique(example.id);
                if example.sample.is_empty() {
                    example.sample.clone_from(&params.sample);
                }
                w.push(example)?;
                writer = Some((w, shape));
                count += 1;
                if count.is_multiple_of(BATCH as u64) {
                    ctx.progress
                        .update(i as u64, files.len() as u64, format!("{count} examples"));
                }
            }
            ctx.progress.update(
                i as u64 + 1,
                files.len() as u64,
                format!("{count} examples"),
            );
        }
        let (w, _) = writer.ok_or_else(|| {
            anyhow!(
                "the TFRecord inputs hold no examples ({} file(s), first {})",
                files.len(),
                files[0].display()
            )
        })?;
        let written = w.finish()?;
        eprintln!(
            "from_tfrecord: wrote {written} examples ({} repeated ids got a #k suffix)",
            ids.renamed
        );
        Ok(())
    }
}

/// Checks the first example's `image/shape` against the channel names and the sidecar's shape.
fn check_shape(
    shape: [usize; 3],
    channels: &[String],
    channels_from: &str,
    info: Option<&(&Path, ExampleInfo)>,
) -> Result<()> {
    if shape[2] != channels.len() {
        bail!(
            "image/shape {shape:?} has {} channels, but {channels_from} names {}: {}; set \
             params.channels to the {} channel names in image order",
            shape[2],
            channels.len(),
            channels.join(","),
            shape[2]
        );
    }
    if let Some((path, ExampleInfo { shape: Some(s), .. })) = info {
        if s.as_slice() != shape.as_slice() {
            bail!(
                "image/shape {shape:?} differs from the shape {s:?} in {}",
                path.display()
            );
        }
    }
    Ok(())
}

/// Parameters of `from_pngs`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PngParams {
    /// Directory that relative PNG paths are relative to, itself relative to the CSV's directory when
    /// relative (the study's CSVs need their repository root); default: the CSV's directory.
    #[serde(default)]
    root: Option<PathBuf>,
    /// Label column; default `label`, else `class`.
    #[serde(default)]
    label_column: Option<String>,
    /// Read every example as unlabeled (no label column needed).
    #[serde(default)]
    unlabeled: bool,
    /// Channel columns in image order; default: every column that is not a field or the label.
    #[serde(default)]
    channels: Option<Vec<String>>,
    /// Sample name for rows without a `sample` column.
    #[serde(default)]
    sample: String,
}

impl StageParams for PngParams {
    fn validate(&self) -> Result<()> {
        if let Some(c) = &self.channels {
            check_channel_names(c)?;
        }
        if self.unlabeled && self.label_column.is_some() {
            bail!("params.unlabeled: cannot be true when params.label_column is set");
        }
        Ok(())
    }
}

/// Stage kind `from_pngs`: the study's CSV of per-channel PNGs to an examples table.
///
/// Only the CSV is a task input: the engine's content key covers the CSV, not the PNG files it names,
/// so PNGs changed in place under an unchanged CSV are not noticed (write a new CSV, or bump a param).
pub struct FromPngs;

static PNG_INPUTS: &[InputPort] = &[InputPort {
    name: "csv",
    required: true,
    many: false,
    doc:
        "CSV with one PNG path column per channel and a label column (the study's img_ch1..7,class)",
}];

impl StageKind for FromPngs {
    type Params = PngParams;

    fn name(&self) -> &'static str {
        "from_pngs"
    }

    fn version(&self) -> u32 {
        1
    }

    fn about(&self) -> &'static str {
        "Reads a CSV of per-channel 8-bit grayscale PNGs (the original study's layout) into an examples table"
    }

    fn inputs(&self) -> &'static [InputPort] {
        PNG_INPUTS
    }

    fn outputs(&self) -> &'static [OutputPort] {
        EXAMPLES_OUTPUT
    }

    fn compute(&self, params: PngParams, ctx: &TaskContext) -> Result<()> {
        let csv = ctx.input("csv")?;
        let options = PngCsvOptions {
            root: params.root.clone(),
            label_column: params.label_column.clone(),
            unlabeled: params.unlabeled,
            channels: params.channels.clone(),
        };
        let table = PngTable::open(csv, &options)?;
        eprintln!(
            "from_pngs: {} rows, {}x{} images, channels {}",
            table.len(),
            table.shape.height,
            table.shape.width,
            table.shape.channels.join(",")
        );
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(ctx.threads.max(1))
            .build()
            .context("cannot start the PNG reading threads")?;
        let mut writer =
            ExamplesWriter::create(ctx.output("examples")?, table.shape.clone(), "png")?;
        let mut ids = UniqueIds::default();
        let total = table.len();
        for start in (0..total).step_by(BATCH) {
            let end = (start + BATCH).min(total);
            for mut example in pool.install(|| table.read(start..end))? {
                example.id = ids.unique(example.id);
                if example.sample.is_empty() {
                    example.sample.clone_from(&params.sample);
                }
                writer.push(example)?;
            }
            ctx.progress
                .update(end as u64, total as u64, format!("{end}/{total} examples"));
        }
        let written = writer.finish()?;
        eprintln!(
            "from_pngs: wrote {written} examples ({} repeated ids got a #k suffix)",
            ids.renamed
        );
        Ok(())
    }
}

/// Writes `examples` (images of `shape`) as DeepVariant `tf.Example` records to `path`, gzip-compressed
/// when `gzip` (as `make_examples` writes them); returns the number written.
///
/// Each record holds `image/encoded`, `image/shape`, `variant/encoded` (the example's contig, start,
/// end, ref and alt alleles, and its sample as the first call's name), `alt_allele_indices/encoded`,
/// `locus`, `variant_type` and, when known, `label`.
pub fn write_examples_tfrecord<'a>(
    path: &Path,
    shape: &ImageShape,
    examples: impl IntoIterator<Item = &'a Example>,
    gzip: bool,
) -> Result<u64> {
    let mut writer = RecordWriter::create(path, gzip)?;
    for example in examples {
        if example.image.len() != shape.image_len() {
            bail!(
                "example {}: image has {} bytes, expected {} ({}x{}x{})",
                example.id,
                example.image.len(),
                shape.image_len(),
                shape.height,
                shape.width,
                shape.channels.len()
            );
        }
        writer.write(&tf_example::encode(example, shape))?;
    }
    writer.finish()
}

#[cfg(test)]
mod tests;
