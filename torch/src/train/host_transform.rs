//! The per-batch transform on the host, for training on the CPU: u8 HWC images to zero-padded,
//! per-channel normalized f32 NCHW in one pass, run on the loader's thread ahead of the model.
//!
//! Each value is `(v as f32 - mean) / std`, the single-precision operations of `T.Normalize` on a float
//! image, so the result is bit-identical to padding then normalizing a float tensor. (On a GPU the u8
//! pixels travel and the device does the same arithmetic: see pipe-torch's `train::device`.)

use rayon::prelude::*;

use pipe_stages::data::examples::ImageShape;
use pipe_stages::train::params::Sides;

/// Pads and normalizes batches of images of one shape, images in parallel on a pool of its own.
#[derive(Debug)]
pub struct HostTransform {
    height: usize,
    width: usize,
    channels: usize,
    pad: Sides,
    /// Per channel, the mean and standard deviation (0 and 1: values unchanged).
    norm: Vec<(f32, f32)>,
    /// Threads for [`HostTransform::apply`] (none: the calling thread alone).
    pool: Option<rayon::ThreadPool>,
}

impl HostTransform {
    /// A transform for images of `shape`, padded by `pad` with zeros, normalized by per-channel
    /// `(mean, std)` when given, on `threads` threads.
    pub fn new(
        shape: &ImageShape,
        pad: Sides,
        stats: Option<(&[f64], &[f64])>,
        threads: usize,
    ) -> Self {
        let channels = shape.channels.len();
        let norm = (0..channels)
            .map(|c| match stats {
                Some((mean, std)) => (mean[c] as f32, std[c] as f32),
                None => (0.0, 1.0),
            })
            .collect();
        Self {
            height: shape.height,
            width: shape.width,
            channels,
            pad,
            norm,
            // Without a pool (one thread, or none to be had) images go one after another.
            pool: (threads > 1)
                .then(|| {
                    rayon::ThreadPoolBuilder::new()
                        .num_threads(threads)
                        .build()
                        .ok()
                })
                .flatten(),
        }
    }

    /// Height and width after padding.
    pub fn output_size(&self) -> (usize, usize) {
        (
            self.height + self.pad.top + self.pad.bottom,
            self.width + self.pad.left + self.pad.right,
        )
    }

    /// Channels per image.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Values per output image: channels x padded height x padded width.
    pub fn output_len(&self) -> usize {
        let (h, w) = self.output_size();
        self.channels * h * w
    }

    /// `images` (HWC u8, back to back) as one new f32 NCHW buffer (the reference of the tests).
    #[cfg(test)]
    pub(crate) fn apply(&self, images: &[u8]) -> Vec<f32> {
        let images: Vec<&[u8]> = images.chunks(self.input_len()).collect();
        let mut out = vec![0f32; images.len() * self.output_len()];
        self.apply_into(
            &images,
            &mut out,
            &mut vec![Written::default(); images.len()],
        );
        out
    }

    /// `images` (HWC u8 each) written into `out` as f32 NCHW, images in parallel; `out` holds
    /// [`HostTransform::output_len`] values per image (any further values are left as they are), and
    /// `written` what each of those already holds (see [`Written`]), updated to what it holds after.
    pub fn apply_into(&self, images: &[&[u8]], out: &mut [f32], written: &mut [Written]) {
        let out_len = self.output_len().max(1);
        match &self.pool {
            Some(pool) => pool.install(|| {
                out.par_chunks_mut(out_len)
                    .zip(images.par_iter())
                    .zip(written.par_iter_mut())
                    .for_each(|((out, image), w)| self.write_one(image, out, w))
            }),
            None => out
                .chunks_mut(out_len)
                .zip(images)
                .zip(written)
                .for_each(|((out, image), w)| self.write_one(image, out, w)),
        }
    }

    /// Bytes per input image (at least 1).
    pub fn input_len(&self) -> usize {
        (self.height * self.width * self.channels).max(1)
    }

    /// One HWC image into one CHW output that holds what `written` says, skipping what is in place:
    /// the padding, and image rows of zeros where the output row already holds the padding value.
    fn write_one(&self, image: &[u8], out: &mut [f32], written: &mut Written) {
        let (out_h, out_w) = self.output_size();
        let (w, c, pad) = (self.width, self.channels, self.pad);
        let known = written.blank_rows.len() == self.height;
        let was_blank = |y: usize| known && written.blank_rows[y];
        let blank: Vec<bool> = image
            .chunks_exact(w * c)
            // OR-folding blocks vectorizes, where a byte-by-byte `all` would not.
            .map(|row| row.chunks(64).all(|b| b.iter().fold(0, |a, &v| a | v) == 0))
            .collect();
        for (ch, plane) in out.chunks_exact_mut(out_h * out_w).enumerate() {
            let (mean, std) = self.norm[ch];
            let background = (0.0 - mean) / std;
            let (top, rest) = plane.split_at_mut(pad.top * out_w);
            let (middle, bottom) = rest.split_at_mut(self.height * out_w);
            if !known {
                top.fill(background);
                bottom.fill(background);
            }
            for (y, row) in middle.chunks_exact_mut(out_w).enumerate() {
                let (left, rest) = row.split_at_mut(pad.left);
                let (inner, right) = rest.split_at_mut(w);
                if !known {
                    left.fill(background);
                    right.fill(background);
                }
                if blank[y] {
                    if !was_blank(y) {
                        inner.fill(background);
                    }
                    continue;
                }
                let pixels = &image[y * w * c..(y + 1) * w * c];
                for (o, pixel) in inner.iter_mut().zip(pixels.chunks_exact(c)) {
                    *o = (f32::from(pixel[ch]) - mean) / std;
                }
            }
        }
        written.blank_rows = blank;
    }
}

/// What one output image of a [`HostTransform`] already holds, so that a reused buffer is written only
/// where it changes: its padding values, which are the same for every image, and the image rows that
/// hold only the value of a zero pixel, which pileups have many of (rows without reads). The default
/// says nothing is known (a new buffer): everything is written.
#[derive(Debug, Clone, Default)]
pub struct Written {
    /// Per image row, whether it holds only the zero-pixel value; empty when nothing is known.
    blank_rows: Vec<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_the_named_sides_with_zero_then_normalizes() {
        let shape = ImageShape {
            height: 2,
            width: 3,
            channels: vec!["a".into(), "b".into()],
        };
        // Two HWC images: channel a = 10 (then 20), channel b = pixel index (then 0).
        let mut images: Vec<u8> = (0..6).flat_map(|i| [10u8, i as u8]).collect();
        images.extend((0..6).flat_map(|_| [20u8, 0]));
        let pad = Sides {
            left: 1,
            right: 2,
            top: 3,
            bottom: 1,
        };
        let t = HostTransform::new(&shape, pad, Some((&[5.0, 10.0], &[5.0, 2.0])), 2);
        assert_eq!(t.output_size(), (6, 6));
        let out = t.apply(&images);
        assert_eq!(out.len(), 2 * 2 * 6 * 6);
        let at = |n: usize, c: usize, r: usize, col: usize| out[((n * 2 + c) * 6 + r) * 6 + col];
        // Padding is 0 before normalization: (0 - mean) / std.
        assert_eq!(at(0, 0, 0, 0), -1.0);
        assert_eq!(at(0, 1, 5, 5), -5.0);
        assert_eq!(at(0, 0, 3, 0), -1.0);
        assert_eq!(at(0, 0, 3, 4), -1.0);
        // The image sits below 3 rows, after 1 column: pixel (y, x) at (3 + y, 1 + x).
        assert_eq!(at(0, 0, 3, 1), 1.0);
        assert_eq!(at(0, 1, 4, 3), (5.0 - 10.0) / 2.0);
        assert_eq!(at(1, 0, 4, 2), 3.0);
        assert_eq!(at(1, 1, 4, 2), -5.0);
    }

    #[test]
    fn a_reused_buffer_is_rewritten_only_where_it_changes() {
        let shape = ImageShape {
            height: 3,
            width: 2,
            channels: vec!["a".into()],
        };
        let pad = Sides {
            left: 1,
            right: 0,
            top: 1,
            bottom: 0,
        };
        let t = HostTransform::new(&shape, pad, Some((&[1.0], &[2.0])), 1);
        // Rows: (3, 5), zeros, (0, 1).
        let first: [u8; 6] = [3, 5, 0, 0, 0, 1];
        let mut out = vec![f32::NAN; 12];
        let mut written = [Written::default()];
        t.apply_into(&[&first], &mut out, &mut written);
        assert_eq!(out, t.apply(&first));
        assert_eq!(written[0].blank_rows, [false, true, false]);
        // Row 0 becomes zeros, row 1 (zeros, already the padding value) is left alone, row 2 changes.
        let second: [u8; 6] = [0, 0, 0, 0, 7, 9];
        out[7] = 99.0; // a marker in row 1 (output row 2, column 1): left alone
        t.apply_into(&[&second], &mut out, &mut written);
        let mut expected = t.apply(&second);
        expected[7] = 99.0;
        assert_eq!(out, expected);
        assert_eq!(written[0].blank_rows, [true, true, false]);
        // Padding is left alone too once known: marker in the top row stays.
        out[0] = 42.0;
        t.apply_into(&[&first], &mut out, &mut written);
        assert_eq!(out[0], 42.0);
        assert_eq!(out[1..7], t.apply(&first)[1..7]);
        assert_eq!(out[8..], t.apply(&first)[8..]);
    }

    #[test]
    fn without_stats_values_are_the_bytes() {
        let shape = ImageShape {
            height: 1,
            width: 2,
            channels: vec!["a".into()],
        };
        let t = HostTransform::new(&shape, Sides::default(), None, 1);
        assert_eq!(t.apply(&[0, 255, 7, 9]), vec![0.0, 255.0, 7.0, 9.0]);
    }
}
