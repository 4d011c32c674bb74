//! The original study's image layout: a CSV naming one 8-bit grayscale PNG per channel per example.
//!
//! The study (`agurianova/rolling-in-the-deep`, `notebooks/dataset_combine_7_channels_csv.ipynb` and
//! `src/dataset_combine_7_channels.py`) wrote a CSV with the header `img_ch1,...,img_ch7,class`: seven
//! PNG paths (100 rows x 221 columns, read with Pillow as mode `L`) and the class 0/1/2. Its paths are
//! relative to the repository root, e.g. `data/deepvariant/0/image_chr1:104427287_G->AAA_label0_ch1.png`.
//!
//! pipe reads that layout and a general one: columns named `id`, `sample`, `chrom`, `pos` (0-based),
//! `ref` and `alt` fill those fields when present; the label comes from `label` (or the study's
//! `class`); every other column is a channel, in CSV order, named by its header. Relative paths are
//! resolved against a root directory (by default the CSV's own directory; a relative root is taken
//! relative to the CSV's directory, never to the working directory). An empty label cell means
//! unlabeled; a missing `id` column makes the first channel's path cell the id; a missing `pos` is -1.
//!
//! A CSV with the columns `example` and `channel` is read in the long layout instead: one PNG per row
//! (its `path`), the rows of one `example` value making one example (its id unless there is an `id`
//! column), channels in the order of the first example's rows. That is what `fetch` writes as its
//! `chosen.csv` when it downloads a manifest of per-channel PNGs with `group_by: example`.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use rayon::prelude::*;

use crate::data::examples::{Example, ImageShape};

/// Columns that describe the example rather than name a channel PNG.
const FIELD_COLUMNS: [&str; 6] = ["id", "sample", "chrom", "pos", "ref", "alt"];

/// Label column names tried, in order, when none is given.
const LABEL_COLUMNS: [&str; 2] = ["label", "class"];

/// How many bad rows an error lists before summarizing the rest.
const MAX_LISTED_ERRORS: usize = 20;

/// How to read a CSV of per-channel PNGs.
#[derive(Debug, Clone, Default)]
pub struct PngCsvOptions {
    /// Directory relative PNG paths are resolved against (itself relative to the CSV's directory when
    /// relative); `None` means the CSV's directory.
    pub root: Option<PathBuf>,
    /// The label column; `None` means `label`, else the study's `class`.
    pub label_column: Option<String>,
    /// Whether the CSV must have a label column (false reads every example as unlabeled).
    pub unlabeled: bool,
    /// The channel columns to read, in image order; `None` means every column that is not a field or
    /// the label.
    pub channels: Option<Vec<String>>,
}

/// One CSV row, checked but not yet read.
#[derive(Debug, Clone)]
struct Row {
    line: u64,
    example: Example,
    paths: Vec<PathBuf>,
}

/// A checked CSV of per-channel PNGs; images are read on demand with [`PngTable::read`].
#[derive(Debug)]
pub struct PngTable {
    /// Image shape: the first PNG's size and the channel column names.
    pub shape: ImageShape,
    rows: Vec<Row>,
}

/// Looks up the columns of a CSV header.
struct Header {
    names: Vec<String>,
    index: HashMap<String, usize>,
}

impl Header {
    fn new(record: &csv::StringRecord) -> Result<Self> {
        let names: Vec<String> = record.iter().map(|s| s.trim().to_string()).collect();
        let mut index = HashMap::new();
        for (i, name) in names.iter().enumerate() {
            if index.insert(name.clone(), i).is_some() {
                bail!("column '{name}' appears twice in the header");
            }
        }
        Ok(Self { names, index })
    }

    fn get(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    fn require(&self, name: &str, why: &str) -> Result<usize> {
        self.get(name).ok_or_else(|| {
            anyhow!(
                "column '{name}' ({why}) is missing; the header has: {}",
                self.names.join(", ")
            )
        })
    }
}

impl PngTable {
    /// Reads and checks `csv` (every row, and the size of the first PNG).
    ///
    /// Errors name the CSV and list the bad rows by line number.
    pub fn open(csv: &Path, options: &PngCsvOptions) -> Result<Self> {
        let at = |e: anyhow::Error| e.context(format!("{}", csv.display()));
        let file = File::open(csv).with_context(|| format!("cannot open {}", csv.display()))?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(file);
        let header = Header::new(reader.headers().map_err(|e| at(e.into()))?).map_err(at)?;

        let label = if options.unlabeled {
            None
        } else if let Some(name) = &options.label_column {
            Some(header.require(name, "params.label_column").map_err(at)?)
        } else {
            let found = LABEL_COLUMNS.iter().find_map(|n| header.get(n));
            Some(found.ok_or_else(|| {
                at(anyhow!(
                    "no label column: expected 'label' or 'class'; the header has: {}. Set \
                     params.label_column, or params.unlabeled: true",
                    header.names.join(", ")
                ))
            })?)
        };
        let fields: HashMap<&str, usize> = FIELD_COLUMNS
            .iter()
            .filter_map(|n| header.get(n).map(|i| (*n, i)))
            .collect();
        let csv_dir = csv.parent().map(Path::to_path_buf).unwrap_or_default();
        let root = match &options.root {
            Some(root) => csv_dir.join(root),
            None => csv_dir,
        };
        if let (Some(example_c), Some(channel_c)) = (header.get("example"), header.get("channel")) {
            let long = LongColumns {
                example: example_c,
                channel: channel_c,
                path: header
                    .require("path", "a PNG per row in the long layout")
                    .map_err(at)?,
            };
            let (rows, channels) =
                long_rows(&mut reader, &header, &fields, label, long, &root, options)
                    .map_err(at)?;
            return Self::checked(csv, rows, channels, &root, options);
        }
        let channels: Vec<usize> = match &options.channels {
            Some(names) => names
                .iter()
                .map(|n| header.require(n, "named in params.channels"))
                .collect::<Result<_>>()
                .map_err(at)?,
            None => (0..header.names.len())
                .filter(|&i| {
                    let name = header.names[i].as_str();
                    Some(i) != label
                        && !FIELD_COLUMNS.contains(&name)
                        && !LABEL_COLUMNS.contains(&name)
                })
                .collect(),
        };
        if channels.is_empty() {
            return Err(at(anyhow!(
                "no channel columns: every column is a field ({}) or the label",
                FIELD_COLUMNS.join(", ")
            )));
        }

        let mut rows = Vec::new();
        let mut errors = Vec::new();
        for record in reader.records() {
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    errors.push(csv_error(&e));
                    if matches!(e.kind(), csv::ErrorKind::UnequalLengths { .. }) {
                        continue;
                    }
                    break;
                }
            };
            let line = record.position().map_or(0, |p| p.line());
            match parse_row(&record, &header, &fields, label, &channels, &root) {
                Ok((example, paths)) => rows.push(Row {
                    line,
                    example,
                    paths,
                }),
                Err(e) => errors.push(format!("line {line}: {e}")),
            }
        }
        if !errors.is_empty() {
            let more = errors.len().saturating_sub(MAX_LISTED_ERRORS);
            errors.truncate(MAX_LISTED_ERRORS);
            if more > 0 {
                errors.push(format!("... and {more} more bad rows"));
            }
            bail!(
                "{}: {} bad row(s):\n  {}",
                csv.display(),
                errors.len(),
                errors.join("\n  ")
            );
        }
        let channels = channels.iter().map(|&i| header.names[i].clone()).collect();
        Self::checked(csv, rows, channels, &root, options)
    }

    /// The table of `rows` with `channels`, its shape taken from the first row's first PNG.
    fn checked(
        csv: &Path,
        rows: Vec<Row>,
        channels: Vec<String>,
        root: &Path,
        options: &PngCsvOptions,
    ) -> Result<Self> {
        let first = rows
            .first()
            .ok_or_else(|| anyhow!("{}: the CSV has a header but no rows", csv.display()))?;
        let (width, height, _) = read_gray_png(&first.paths[0]).with_context(|| {
            format!(
                "CSV line {}, column '{}'{}",
                first.line,
                channels[0],
                root_hint(root, options.root.is_none())
            )
        })?;
        let shape = ImageShape {
            height: height as usize,
            width: width as usize,
            channels,
        };
        Ok(Self { shape, rows })
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the CSV has no rows (never true for an opened table).
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Reads the examples of rows `range` (in parallel on the current rayon pool), in CSV order.
    pub fn read(&self, range: Range<usize>) -> Result<Vec<Example>> {
        self.rows[range]
            .par_iter()
            .map(|row| self.read_row(row))
            .collect()
    }

    fn read_row(&self, row: &Row) -> Result<Example> {
        let (h, w, c) = (
            self.shape.height,
            self.shape.width,
            self.shape.channels.len(),
        );
        let mut image = vec![0u8; h * w * c];
        for (ch, path) in row.paths.iter().enumerate() {
            let at = || {
                format!(
                    "CSV line {}, column '{}'",
                    row.line, self.shape.channels[ch]
                )
            };
            let (pw, ph, plane) = read_gray_png(path).with_context(at)?;
            if (pw as usize, ph as usize) != (w, h) {
                bail!(
                    "{}: PNG is {pw}x{ph} pixels (width x height), expected {w}x{h} like the first \
                     row's images ({})",
                    path.display(),
                    at()
                );
            }
            for (pixel, value) in plane.iter().enumerate() {
                image[pixel * c + ch] = *value;
            }
        }
        Ok(Example {
            image,
            ..row.example.clone()
        })
    }
}

fn root_hint(root: &Path, default_root: bool) -> String {
    if default_root {
        format!(
            "; relative paths are resolved against the CSV's directory {}: set params.root to the \
             directory they are relative to (the study's CSVs are relative to its repository root)",
            root.display()
        )
    } else {
        format!(
            "; relative paths are resolved against params.root {}",
            root.display()
        )
    }
}

fn csv_error(e: &csv::Error) -> String {
    let line = e.position().map_or(0, |p| p.line());
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("line {line}: {len} fields, the header has {expected_len}"),
        _ => format!("line {line}: {e}"),
    }
}

/// The columns of the long layout: one PNG per row, `example` naming the example it belongs to,
/// `channel` its channel and `path` the file (as `fetch` writes its `chosen.csv` with `group_by`).
#[derive(Debug, Clone, Copy)]
struct LongColumns {
    example: usize,
    channel: usize,
    path: usize,
}

/// The examples of a long-layout CSV, in the order of their first rows, and the channel names: the
/// first example's channels in its row order (or `options.channels`). Every example must have each
/// channel once, and its rows one label and one set of fields.
fn long_rows(
    reader: &mut csv::Reader<File>,
    header: &Header,
    fields: &HashMap<&str, usize>,
    label: Option<usize>,
    long: LongColumns,
    root: &Path,
    options: &PngCsvOptions,
) -> Result<(Vec<Row>, Vec<String>)> {
    // Per example: its first line, its example fields, and (channel, path) per row.
    type Group = (u64, Example, Vec<(String, PathBuf)>);
    let mut groups: Vec<Group> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for record in reader.records() {
        let record = record.map_err(|e| anyhow!(csv_error(&e)))?;
        let line = record.position().map_or(0, |p| p.line());
        let cell = |i: usize| record.get(i).unwrap_or("").trim().to_string();
        let (name, channel) = (cell(long.example), cell(long.channel));
        if name.is_empty() || channel.is_empty() {
            bail!("line {line}: the long layout needs an 'example' and a 'channel' in every row");
        }
        let (mut example, paths) = parse_row(&record, header, fields, label, &[long.path], root)
            .map_err(|e| anyhow!("line {line}: {e}"))?;
        if !fields.contains_key("id") {
            example.id.clone_from(&name);
        }
        let path = paths.into_iter().next().expect("one channel column");
        match index.get(&name) {
            Some(&g) => {
                let (first, kept, files) = &mut groups[g];
                if *kept != example {
                    bail!(
                        "line {line}: example '{name}' has another label or field than on line                          {first}"
                    );
                }
                if files.iter().any(|(c, _)| *c == channel) {
                    bail!("line {line}: example '{name}' has channel '{channel}' twice");
                }
                files.push((channel, path));
            }
            None => {
                index.insert(name, groups.len());
                groups.push((line, example, vec![(channel, path)]));
            }
        }
    }
    let channels: Vec<String> = match (&options.channels, groups.first()) {
        (Some(names), _) => names.clone(),
        (None, Some((_, _, files))) => files.iter().map(|(c, _)| c.clone()).collect(),
        (None, None) => Vec::new(),
    };
    let rows = groups
        .into_iter()
        .map(|(line, example, files)| {
            let paths = channels
                .iter()
                .map(|c| {
                    files
                        .iter()
                        .find(|(have, _)| have == c)
                        .map(|(_, p)| p.clone())
                        .ok_or_else(|| {
                            anyhow!(
                                "example '{}' (from line {line}) has no channel '{c}'",
                                example.id
                            )
                        })
                })
                .collect::<Result<Vec<_>>>()?;
            if options.channels.is_none() && files.len() != channels.len() {
                bail!(
                    "example '{}' (from line {line}) has {} channels, the first example {}",
                    example.id,
                    files.len(),
                    channels.len()
                );
            }
            Ok(Row {
                line,
                example,
                paths,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((rows, channels))
}

/// Parses one row into its example (without the image) and its PNG paths.
fn parse_row(
    record: &csv::StringRecord,
    header: &Header,
    fields: &HashMap<&str, usize>,
    label: Option<usize>,
    channels: &[usize],
    root: &Path,
) -> Result<(Example, Vec<PathBuf>)> {
    let cell = |i: usize| record.get(i).unwrap_or("").trim();
    let field = |name: &str| fields.get(name).map(|&i| cell(i).to_string());
    let label = match label.map(cell) {
        None | Some("") => None,
        Some(text) => Some(match text.parse::<f64>() {
            Ok(v) if v == 0.0 || v == 1.0 || v == 2.0 => v as i8,
            _ => bail!(
                "label '{text}' (column '{}') is not 0, 1 or 2 (leave it empty for unlabeled)",
                header.names[label.unwrap_or_default()]
            ),
        }),
    };
    let pos = match field("pos") {
        None => -1,
        Some(text) => text
            .parse::<i64>()
            .map_err(|_| anyhow!("pos '{text}' is not an integer"))?,
    };
    let mut paths = Vec::with_capacity(channels.len());
    for &i in channels {
        let text = cell(i);
        if text.is_empty() {
            bail!(
                "column '{}' is empty; every channel needs a PNG path",
                header.names[i]
            );
        }
        paths.push(root.join(text));
    }
    let example = Example {
        id: field("id").unwrap_or_else(|| cell(channels[0]).to_string()),
        sample: field("sample").unwrap_or_default(),
        chrom: field("chrom").unwrap_or_default(),
        pos,
        ref_allele: field("ref").unwrap_or_default(),
        alt: field("alt").unwrap_or_default(),
        label,
        image: Vec::new(),
        site: None,
    };
    Ok((example, paths))
}

fn describe(color: png::ColorType) -> &'static str {
    match color {
        png::ColorType::Grayscale => "grayscale",
        png::ColorType::Rgb => "RGB",
        png::ColorType::Indexed => "palette",
        png::ColorType::GrayscaleAlpha => "grayscale+alpha",
        png::ColorType::Rgba => "RGBA",
    }
}

/// Reads an 8-bit grayscale PNG: width, height and the row-major pixels.
pub fn read_gray_png(path: &Path) -> Result<(u32, u32, Vec<u8>)> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut decoder = png::Decoder::new(BufReader::new(file));
    decoder.set_transformations(png::Transformations::IDENTITY);
    let mut reader = decoder
        .read_info()
        .with_context(|| format!("{}: not a readable PNG", path.display()))?;
    let info = reader.info();
    let (width, height, color, depth) = (info.width, info.height, info.color_type, info.bit_depth);
    if color != png::ColorType::Grayscale || depth != png::BitDepth::Eight {
        bail!(
            "{}: {}-bit {} PNG; expected 8-bit grayscale, one file per channel (Pillow mode 'L')",
            path.display(),
            depth as u8,
            describe(color)
        );
    }
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| anyhow!("{}: image too large", path.display()))?;
    let mut pixels = vec![0u8; size];
    let frame = reader
        .next_frame(&mut pixels)
        .with_context(|| format!("{}: corrupt PNG data", path.display()))?;
    pixels.truncate(frame.buffer_size());
    Ok((width, height, pixels))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_png(path: &Path, w: u32, h: u32, color: png::ColorType, depth: png::BitDepth) {
        let file = File::create(path).unwrap();
        let mut enc = png::Encoder::new(std::io::BufWriter::new(file), w, h);
        enc.set_color(color);
        enc.set_depth(depth);
        let bytes = (w * h) as usize
            * color.samples()
            * if depth == png::BitDepth::Sixteen {
                2
            } else {
                1
            };
        let data: Vec<u8> = (0..bytes).map(|i| (i * 7 % 256) as u8).collect();
        enc.write_header().unwrap().write_image_data(&data).unwrap();
    }

    fn gray(path: &Path, w: u32, h: u32) {
        write_png(path, w, h, png::ColorType::Grayscale, png::BitDepth::Eight);
    }

    /// A CSV with `id,label,a,b` and two rows of 3x2 images; returns its path.
    fn table(dir: &Path) -> PathBuf {
        for name in ["r0a", "r0b", "r1a", "r1b"] {
            gray(&dir.join(format!("{name}.png")), 3, 2);
        }
        let csv = dir.join("t.csv");
        std::fs::write(
            &csv,
            "id,label,a,b\nx0,1,r0a.png,r0b.png\nx1,,r1a.png,r1b.png\n",
        )
        .unwrap();
        csv
    }

    fn open_err(csv: &Path, options: &PngCsvOptions) -> String {
        format!("{:#}", PngTable::open(csv, options).unwrap_err())
    }

    #[test]
    fn the_long_layout_reads_the_same_examples_as_the_wide_one() {
        let dir = tempfile::tempdir().unwrap();
        let wide = table(dir.path());
        std::fs::create_dir(dir.path().join("files")).unwrap();
        for name in ["r0a", "r0b", "r1a", "r1b"] {
            std::fs::copy(
                dir.path().join(format!("{name}.png")),
                dir.path().join(format!("files/{name}.png")),
            )
            .unwrap();
        }
        // As fetch's chosen.csv with group_by: example (rows in any order within the file).
        let long = dir.path().join("chosen.csv");
        std::fs::write(
            &long,
            "url,digest,size,example,channel,label,path\n\
             file:///r0a.png,,1,x0,a,1,files/r0a.png\n\
             file:///r1a.png,,1,x1,a,,files/r1a.png\n\
             file:///r0b.png,,1,x0,b,1,files/r0b.png\n\
             file:///r1b.png,,1,x1,b,,files/r1b.png\n",
        )
        .unwrap();
        let options = PngCsvOptions::default();
        let (w, l) = (
            PngTable::open(&wide, &options).unwrap(),
            PngTable::open(&long, &options).unwrap(),
        );
        assert_eq!(l.shape, w.shape);
        assert_eq!(l.read(0..2).unwrap(), w.read(0..2).unwrap());

        // An example without one of the channels, or with one twice, or with two labels, is named.
        let header = "example,channel,label,path\n";
        for (rows, expected) in [
            (
                "x0,a,1,files/r0a.png\nx0,b,1,files/r0b.png\nx1,a,0,files/r1a.png\n",
                ["example 'x1'", "no channel 'b'"],
            ),
            (
                "x0,a,1,files/r0a.png\nx0,a,1,files/r0b.png\n",
                ["line 3", "channel 'a' twice"],
            ),
            (
                "x0,a,1,files/r0a.png\nx0,b,2,files/r0b.png\n",
                ["line 3", "another label"],
            ),
        ] {
            std::fs::write(&long, format!("{header}{rows}")).unwrap();
            let err = open_err(&long, &options);
            assert!(expected.iter().all(|e| err.contains(e)), "{err}");
        }
    }

    #[test]
    fn reads_the_general_layout_interleaved() {
        let dir = tempfile::tempdir().unwrap();
        let t = PngTable::open(&table(dir.path()), &PngCsvOptions::default()).unwrap();
        assert_eq!(t.shape.channels, ["a", "b"]);
        assert_eq!((t.shape.height, t.shape.width, t.len()), (2, 3, 2));
        let ex = t.read(0..2).unwrap();
        assert_eq!(
            (ex[0].id.as_str(), ex[0].label, ex[0].pos),
            ("x0", Some(1), -1)
        );
        assert_eq!(ex[1].label, None);
        let plane: Vec<u8> = (0..6).map(|i| (i * 7 % 256) as u8).collect();
        let expected: Vec<u8> = plane.iter().flat_map(|&v| [v, v]).collect();
        assert_eq!(ex[0].image, expected);
    }

    #[test]
    fn field_columns_fill_the_example_and_are_not_channels() {
        let dir = tempfile::tempdir().unwrap();
        let csv = table(dir.path());
        std::fs::write(
            &csv,
            "chrom,pos,ref,alt,sample,a,label,b,class\nchr2,41,A,\"C,T\",s1,r0a.png,2,r0b.png,1\n",
        )
        .unwrap();
        let t = PngTable::open(&csv, &PngCsvOptions::default()).unwrap();
        assert_eq!(t.shape.channels, ["a", "b"]);
        let e = &t.read(0..1).unwrap()[0];
        assert_eq!(
            (
                e.chrom.as_str(),
                e.pos,
                e.ref_allele.as_str(),
                e.alt.as_str(),
                e.sample.as_str()
            ),
            ("chr2", 41, "A", "C,T", "s1")
        );
        assert_eq!((e.id.as_str(), e.label), ("r0a.png", Some(2)));
        let by_class = PngCsvOptions {
            label_column: Some("class".into()),
            ..Default::default()
        };
        let t = PngTable::open(&csv, &by_class).unwrap();
        assert_eq!(t.read(0..1).unwrap()[0].label, Some(1));
    }

    #[test]
    fn missing_columns_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let csv = table(dir.path());
        let err = open_err(
            &csv,
            &PngCsvOptions {
                channels: Some(vec!["a".into(), "c".into()]),
                ..Default::default()
            },
        );
        assert!(
            err.contains("column 'c' (named in params.channels) is missing"),
            "{err}"
        );
        assert!(err.contains("the header has: id, label, a, b"), "{err}");

        std::fs::write(&csv, "id,a,b\nx0,r0a.png,r0b.png\n").unwrap();
        let err = open_err(&csv, &PngCsvOptions::default());
        assert!(
            err.contains("no label column: expected 'label' or 'class'"),
            "{err}"
        );
        let options = PngCsvOptions {
            unlabeled: true,
            ..Default::default()
        };
        assert_eq!(
            PngTable::open(&csv, &options).unwrap().shape.channels,
            ["a", "b"]
        );
    }

    #[test]
    fn bad_rows_are_listed_by_line() {
        let dir = tempfile::tempdir().unwrap();
        let csv = table(dir.path());
        std::fs::write(
            &csv,
            "id,label,a,b\nx0,1,r0a.png,r0b.png\nx1,7,r1a.png,r1b.png\nx2,0,r1a.png\nx3,0,,r1b.png\n",
        )
        .unwrap();
        let err = open_err(&csv, &PngCsvOptions::default());
        assert!(err.contains("t.csv: 3 bad row(s)"), "{err}");
        assert!(
            err.contains("line 3: label '7' (column 'label') is not 0, 1 or 2"),
            "{err}"
        );
        assert!(err.contains("line 4: 3 fields, the header has 4"), "{err}");
        assert!(err.contains("line 5: column 'a' is empty"), "{err}");
    }

    #[test]
    fn wrong_size_names_file_and_sizes() {
        let dir = tempfile::tempdir().unwrap();
        let csv = table(dir.path());
        gray(&dir.path().join("r1b.png"), 4, 2);
        let t = PngTable::open(&csv, &PngCsvOptions::default()).unwrap();
        let err = format!("{:#}", t.read(0..2).unwrap_err());
        assert!(
            err.contains("r1b.png: PNG is 4x2 pixels (width x height), expected 3x2"),
            "{err}"
        );
        assert!(err.contains("CSV line 3, column 'b'"), "{err}");
    }

    #[test]
    fn non_gray_or_16_bit_says_what_is_expected() {
        let dir = tempfile::tempdir().unwrap();
        let csv = table(dir.path());
        let cases = [
            (png::ColorType::Rgb, png::BitDepth::Eight, "8-bit RGB PNG"),
            (
                png::ColorType::Grayscale,
                png::BitDepth::Sixteen,
                "16-bit grayscale PNG",
            ),
        ];
        for (color, depth, what) in cases {
            write_png(&dir.path().join("r1a.png"), 3, 2, color, depth);
            let t = PngTable::open(&csv, &PngCsvOptions::default()).unwrap();
            let err = format!("{:#}", t.read(0..2).unwrap_err());
            assert!(
                err.contains(&format!("r1a.png: {what}; expected 8-bit grayscale")),
                "{err}"
            );
        }
    }

    #[test]
    fn a_missing_png_suggests_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let csv = table(dir.path());
        std::fs::remove_file(dir.path().join("r0a.png")).unwrap();
        let err = open_err(&csv, &PngCsvOptions::default());
        assert!(err.contains("r0a.png"), "{err}");
        assert!(err.contains("set params.root"), "{err}");
    }
}
