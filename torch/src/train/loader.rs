//! The training data: examples read once into one contiguous image buffer, split by fold, and batches
//! gathered on a background thread.
//!
//! A [`Dataset`] holds every labeled example's HWC u8 image back to back (no per-example allocation or
//! decoding). [`Batches`] gathers the images of each batch into one buffer on a worker thread and hands
//! them over through a bounded channel (prefetch), after a `prepare` step on that thread: a GPU receives
//! the u8 pixels (4x smaller than floats) and pads and normalizes them itself, a CPU run gets them
//! padded and normalized there, into the model's input tensor (see pipe-torch's `train::host_input`).

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;

use anyhow::{bail, Context, Result};
use arrow::array::{Array, FixedSizeBinaryArray, Int32Array, Int8Array, StringArray};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use pipe_stages::data::examples::{column, ExamplesFile, ImageShape, ROW_GROUP_ROWS};
use pipe_stages::train::params::Sides;

/// Labeled examples in memory.
#[derive(Debug)]
pub struct Dataset {
    /// Image shape (HWC).
    pub shape: ImageShape,
    /// Example ids, in file order.
    pub ids: Vec<String>,
    /// Classes.
    pub labels: Vec<i64>,
    /// Fold of each example.
    pub folds: Vec<i32>,
    /// Every image back to back, `ids.len() * shape.image_len()` bytes.
    pub images: Vec<u8>,
}

/// Reads the folds table (`id` utf8, `fold` int32).
pub fn read_folds(path: &Path) -> Result<HashMap<String, i32>> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .with_context(|| format!("{} is not a Parquet file", path.display()))?
        .build()?;
    let mut folds = HashMap::new();
    for batch in reader {
        let batch = batch.with_context(|| format!("cannot read {}", path.display()))?;
        let ctx = || {
            format!(
                "{}: not a folds table (id utf8, fold int32)",
                path.display()
            )
        };
        let ids: &StringArray = column(&batch, "id").with_context(ctx)?;
        let fold: &Int32Array = column(&batch, "fold").with_context(ctx)?;
        for i in 0..batch.num_rows() {
            folds.insert(ids.value(i).to_string(), fold.value(i));
        }
    }
    Ok(folds)
}

impl Dataset {
    /// Reads the labeled examples of `examples` (columns id, label, image) and their folds.
    ///
    /// Unlabeled examples are skipped; an example without a fold, a label outside `0..num_classes` or an
    /// image of the wrong size is an error naming the example.
    pub fn read(examples: &Path, folds: &Path, num_classes: usize) -> Result<Self> {
        let fold_of = read_folds(folds)?;
        let mut unlabeled = 0usize;
        let data = Self::read_with(examples, |id, label| {
            let Some(label) = label else {
                unlabeled += 1;
                return Ok(None);
            };
            if label < 0 || label as usize >= num_classes {
                bail!(
                    "{}: example {id} has label {label}, outside 0..{num_classes} (params.num_classes)",
                    examples.display()
                );
            }
            let Some(&fold) = fold_of.get(id) else {
                bail!(
                    "{}: example {id} is not in the folds table {}; was it split from these examples?",
                    examples.display(),
                    folds.display()
                );
            };
            Ok(Some((i64::from(label), fold)))
        })?;
        if unlabeled > 0 {
            eprintln!("train: skipped {unlabeled} unlabeled examples");
        }
        Ok(data)
    }

    /// Reads every example of `examples`, labeled or not, in file order, for inference: the label is
    /// -1 where there is none, and every fold 0.
    pub fn read_all(examples: &Path) -> Result<Self> {
        Self::read_with(examples, |_, label| {
            Ok(Some((label.map_or(-1, i64::from), 0)))
        })
    }

    /// Reads the examples of `examples` that `keep` gives a (label, fold) for, from their id and
    /// label; an image of the wrong size is an error.
    fn read_with(
        examples: &Path,
        mut keep: impl FnMut(&str, Option<i8>) -> Result<Option<(i64, i32)>>,
    ) -> Result<Self> {
        let file = ExamplesFile::open(examples)?;
        let shape = file.shape.clone();
        let len = shape.image_len();
        let mut data = Dataset {
            ids: Vec::with_capacity(file.rows),
            labels: Vec::with_capacity(file.rows),
            folds: Vec::with_capacity(file.rows),
            images: Vec::with_capacity(file.rows * len),
            shape,
        };
        for batch in file.batches(ROW_GROUP_ROWS, &["id", "label", "image"])? {
            let batch = batch.with_context(|| format!("cannot read {}", examples.display()))?;
            let ids: &StringArray = column(&batch, "id")?;
            let labels: &Int8Array = column(&batch, "label")?;
            let images: &FixedSizeBinaryArray = column(&batch, "image")?;
            if images.value_length() as usize != len {
                let s = &data.shape;
                bail!(
                    "{}: images have {} bytes but the metadata says {}x{}x{} = {len}; the file is inconsistent",
                    examples.display(),
                    images.value_length(),
                    s.height,
                    s.width,
                    s.channels.len()
                );
            }
            let mut kept = Vec::with_capacity(batch.num_rows());
            for i in 0..batch.num_rows() {
                let id = ids.value(i);
                let label = labels.is_valid(i).then(|| labels.value(i));
                if let Some((label, fold)) = keep(id, label)? {
                    data.ids.push(id.to_string());
                    data.labels.push(label);
                    data.folds.push(fold);
                    kept.push(i);
                }
            }
            // Append the kept images in one pass over the batch's contiguous value buffer.
            for i in kept {
                data.images.extend_from_slice(images.value(i));
            }
        }
        Ok(data)
    }

    /// Rows for training (fold != `fold`) and validation (fold == `fold`), in file order.
    pub fn split(&self, fold: i32) -> (Vec<usize>, Vec<usize>) {
        (0..self.ids.len()).partition(|&i| self.folds[i] != fold)
    }

    /// Permutes the labels of `rows` among themselves, seeded: the shuffled-label control.
    pub fn permute_labels(&mut self, rows: &[usize], seed: u64) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut labels: Vec<i64> = rows.iter().map(|&r| self.labels[r]).collect();
        labels.shuffle(&mut rng);
        for (&r, label) in rows.iter().zip(labels) {
            self.labels[r] = label;
        }
    }

    /// The image of row `i`.
    pub fn image(&self, i: usize) -> &[u8] {
        let len = self.shape.image_len();
        &self.images[i * len..(i + 1) * len]
    }
}

/// Per-channel mean and (population) standard deviation of `rows`' images after zero padding, computed
/// exactly (integer sums). Padding pixels count, as in the study's `dataset_mean_std`. A channel with zero
/// spread gets standard deviation 1 so that normalization stays finite.
pub fn channel_stats(data: &Dataset, rows: &[usize], pad: Sides) -> (Vec<f64>, Vec<f64>) {
    let c = data.shape.channels.len();
    // Per-channel sums of values and squares in u64 (exact up to ~2.8e14 pixels per channel), one
    // accumulator per rayon task, over whole pixels so that no per-byte modulo is needed.
    let zeros = || (vec![0u64; c], vec![0u64; c]);
    let (sum, sq) = rows
        .par_iter()
        .fold(zeros, |(mut sum, mut sq), &r| {
            for pixel in data.image(r).chunks_exact(c) {
                for ((s, q), &v) in sum.iter_mut().zip(sq.iter_mut()).zip(pixel) {
                    let v = u64::from(v);
                    *s += v;
                    *q += v * v;
                }
            }
            (sum, sq)
        })
        .reduce(zeros, |(mut sum, mut sq), (s2, q2)| {
            sum.iter_mut().zip(&s2).for_each(|(a, b)| *a += b);
            sq.iter_mut().zip(&q2).for_each(|(a, b)| *a += b);
            (sum, sq)
        });
    let (h, w) = (data.shape.height, data.shape.width);
    let pixels = (rows.len() * (h + pad.top + pad.bottom) * (w + pad.left + pad.right)) as f64;
    let mean: Vec<f64> = sum.iter().map(|&s| s as f64 / pixels).collect();
    let std = sq
        .iter()
        .zip(&mean)
        .map(|(&q, m)| {
            let var = q as f64 / pixels - m * m;
            if var > 0.0 {
                var.sqrt()
            } else {
                1.0
            }
        })
        .collect();
    (mean, std)
}

/// The row order of one epoch: a seeded shuffle of `rows` that depends only on (seed, fold, epoch), so
/// a resumed run sees the same order.
pub fn epoch_order(rows: &[usize], seed: u64, fold: i32, epoch: usize) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream((u64::from(fold as u32) << 32) | epoch as u64);
    let mut order = rows.to_vec();
    order.shuffle(&mut rng);
    order
}

/// One gathered batch: its rows, their images as the batch's `prepare` made them, and their labels.
#[derive(Debug)]
pub struct HostBatch<P> {
    /// Dataset rows in this batch.
    pub rows: Vec<usize>,
    /// The images: by default HWC u8 back to back, as stored.
    pub pixels: P,
    /// Classes.
    pub labels: Vec<i64>,
}

/// Gathers batches of a fixed row order on a worker thread, at most `prefetch` ahead of the consumer.
pub struct Batches<P> {
    rx: Option<Receiver<HostBatch<P>>>,
    worker: Option<JoinHandle<()>>,
}

impl<P: Send + 'static> Batches<P> {
    /// Starts gathering `order` in batches of `batch_size`: on the worker thread, `prepare` turns each
    /// batch's images (HWC u8, `image_len` bytes each, borrowed from the dataset) into what the
    /// consumer receives: the bytes back to back for a GPU, which pads and normalizes them itself; the
    /// model's input, padded and normalized, on a CPU.
    pub fn start(
        data: Arc<Dataset>,
        order: Vec<usize>,
        batch_size: usize,
        prefetch: usize,
        mut prepare: impl FnMut(&[&[u8]]) -> P + Send + 'static,
    ) -> Self {
        let (tx, rx) = sync_channel(prefetch.max(1));
        let worker = std::thread::spawn(move || {
            for rows in order.chunks(batch_size.max(1)) {
                let images: Vec<&[u8]> = rows.iter().map(|&r| data.image(r)).collect();
                let batch = HostBatch {
                    rows: rows.to_vec(),
                    pixels: prepare(&images),
                    labels: rows.iter().map(|&r| data.labels[r]).collect(),
                };
                if tx.send(batch).is_err() {
                    return; // the consumer stopped early
                }
            }
        });
        Self {
            rx: Some(rx),
            worker: Some(worker),
        }
    }
}

impl<P> Iterator for Batches<P> {
    type Item = HostBatch<P>;

    fn next(&mut self) -> Option<HostBatch<P>> {
        self.rx.as_ref()?.recv().ok()
    }
}

impl<P> Drop for Batches<P> {
    fn drop(&mut self) {
        // Closing the channel first lets a blocked worker finish.
        self.rx.take();
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::train::host_transform::HostTransform;
    use pipe_stages::data::examples::{Example, ExamplesWriter};

    /// Writes `n` examples of `h x w x c` whose pixel bytes encode (example, position), and folds
    /// `i % k`; returns the paths.
    pub(crate) fn write_fixture(
        dir: &Path,
        n: usize,
        (h, w, c): (usize, usize, usize),
        k: i32,
        image: impl Fn(usize, i8) -> Vec<u8>,
    ) -> (std::path::PathBuf, std::path::PathBuf) {
        let shape = ImageShape {
            height: h,
            width: w,
            channels: (0..c).map(|i| format!("c{i}")).collect(),
        };
        let ex = dir.join("examples.parquet");
        let mut wr = ExamplesWriter::create(&ex, shape, "test").unwrap();
        for i in 0..n {
            let label = (i % 3) as i8;
            wr.push(Example {
                id: format!("e{i}"),
                sample: "s".into(),
                chrom: "chr1".into(),
                pos: i as i64,
                ref_allele: "A".into(),
                alt: "C".into(),
                label: Some(label),
                image: image(i, label),
                site: None,
            })
            .unwrap();
        }
        wr.finish().unwrap();
        let folds = dir.join("folds.parquet");
        let schema = Arc::new(arrow::datatypes::Schema::new(vec![
            arrow::datatypes::Field::new("id", arrow::datatypes::DataType::Utf8, false),
            arrow::datatypes::Field::new("fold", arrow::datatypes::DataType::Int32, false),
        ]));
        let batch = arrow::array::RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from_iter_values(
                    (0..n).map(|i| format!("e{i}")),
                )),
                Arc::new(Int32Array::from_iter_values((0..n).map(|i| i as i32 % k))),
            ],
        )
        .unwrap();
        let mut fw =
            parquet::arrow::ArrowWriter::try_new(File::create(&folds).unwrap(), schema, None)
                .unwrap();
        fw.write(&batch).unwrap();
        fw.close().unwrap();
        (ex, folds)
    }

    #[test]
    fn reads_splits_and_gathers_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let (ex, folds) = write_fixture(dir.path(), 10, (2, 3, 2), 5, |i, _| vec![i as u8; 12]);
        let data = Arc::new(Dataset::read(&ex, &folds, 3).unwrap());
        assert_eq!(data.images.len(), 120);
        let (train, val) = data.split(1);
        assert_eq!(val, vec![1, 6]);
        assert_eq!(train.len(), 8);
        let order = epoch_order(&train, 42, 1, 0);
        assert_eq!(order, epoch_order(&train, 42, 1, 0), "seeded");
        assert_ne!(order, epoch_order(&train, 42, 1, 1), "differs per epoch");
        let batches: Vec<_> =
            Batches::start(data.clone(), order.clone(), 3, 2, |images| images.concat()).collect();
        assert_eq!(batches.len(), 3);
        assert_eq!(batches[0].rows, order[..3]);
        assert_eq!(batches[0].pixels[12], order[1] as u8);
        assert_eq!(batches[2].labels.len(), 2);
        let t = HostTransform::new(&data.shape, Sides::default(), None, 2);
        let ready: Vec<_> = Batches::start(data.clone(), order.clone(), 3, 2, move |images| {
            t.apply(&images.concat())
        })
        .collect();
        // CHW: image 1's first channel plane starts at 12; its pixels are all order[1].
        assert_eq!(ready[0].pixels[12], order[1] as f32);
    }

    #[test]
    fn stats_count_padding_pixels() {
        let dir = tempfile::tempdir().unwrap();
        // One channel, 1x2 images with pixels (2, 4): padded by one column to 1x3 -> (0, 2, 4).
        let (ex, folds) = write_fixture(dir.path(), 2, (1, 2, 1), 2, |_, _| vec![2, 4]);
        let data = Dataset::read(&ex, &folds, 3).unwrap();
        let pad = Sides {
            left: 1,
            ..Sides::default()
        };
        let (mean, std) = channel_stats(&data, &[0, 1], pad);
        assert!((mean[0] - 2.0).abs() < 1e-15);
        assert!((std[0] - (8.0f64 / 3.0).sqrt()).abs() < 1e-15);
    }

    #[test]
    fn missing_fold_and_bad_label_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let (ex, _) = write_fixture(dir.path(), 4, (1, 1, 1), 2, |_, _| vec![0]);
        let other = tempfile::tempdir().unwrap();
        let (_, folds) = write_fixture(other.path(), 2, (1, 1, 1), 2, |_, _| vec![0]);
        let err = Dataset::read(&ex, &folds, 3).unwrap_err().to_string();
        assert!(
            err.contains("example e2 is not in the folds table"),
            "{err}"
        );
        let (ex, folds) = write_fixture(dir.path(), 4, (1, 1, 1), 2, |_, _| vec![0]);
        let err = Dataset::read(&ex, &folds, 2).unwrap_err().to_string();
        assert!(err.contains("example e2 has label 2"), "{err}");
    }
}
