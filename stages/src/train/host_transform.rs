//! The per-batch transform on the host, for training on the CPU: u8 HWC images to zero-padded,
//! per-channel normalized f32 NCHW in one pass, run on the loader's thread ahead of the model.
//!
//! Normalization goes through a 256-entry table per channel, `(v as f32 - mean) / std` computed once
//! per byte value with the same single-precision operations as `T.Normalize` on a float image, so the
//! result is bit-identical to padding then normalizing a float tensor. (On a GPU the u8 pixels travel
//! and the device does the same arithmetic: see pipe-torch's `train::device`.)

use rayon::prelude::*;

use super::params::Sides;
use crate::examples::ImageShape;

/// Pads and normalizes batches of images of one shape, images in parallel on a pool of its own.
#[derive(Debug)]
pub struct HostTransform {
    height: usize,
    width: usize,
    channels: usize,
    pad: Sides,
    /// Per channel, the output value of each byte value.
    tables: Vec<[f32; 256]>,
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
        let tables = (0..channels)
            .map(|c| {
                let mut table = [0f32; 256];
                for (v, out) in table.iter_mut().enumerate() {
                    let x = v as f32;
                    *out = match stats {
                        Some((mean, std)) => (x - mean[c] as f32) / std[c] as f32,
                        None => x,
                    };
                }
                table
            })
            .collect();
        Self {
            height: shape.height,
            width: shape.width,
            channels,
            pad,
            tables,
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

    /// Values per output image: channels x padded height x padded width.
    pub fn output_len(&self) -> usize {
        let (h, w) = self.output_size();
        self.channels * h * w
    }

    /// `images` (HWC u8, back to back) as one f32 NCHW buffer, images in parallel.
    pub fn apply(&self, images: &[u8]) -> Vec<f32> {
        let in_len = self.height * self.width * self.channels;
        let n = images.len() / in_len.max(1);
        let (in_len, out_len) = (in_len.max(1), self.output_len().max(1));
        let mut out = vec![0f32; n * out_len];
        match &self.pool {
            Some(pool) => pool.install(|| {
                out.par_chunks_mut(out_len)
                    .zip(images.par_chunks(in_len))
                    .for_each(|(out, image)| self.apply_one(image, out))
            }),
            None => out
                .chunks_mut(out_len)
                .zip(images.chunks(in_len))
                .for_each(|(out, image)| self.apply_one(image, out)),
        }
        out
    }

    /// One HWC image into one CHW output.
    fn apply_one(&self, image: &[u8], out: &mut [f32]) {
        let (out_h, out_w) = self.output_size();
        let (w, c, pad) = (self.width, self.channels, self.pad);
        for (ch, plane) in out.chunks_exact_mut(out_h * out_w).enumerate() {
            let table = &self.tables[ch];
            let background = table[0];
            let (top, rest) = plane.split_at_mut(pad.top * out_w);
            top.fill(background);
            let (middle, bottom) = rest.split_at_mut(self.height * out_w);
            bottom.fill(background);
            for (y, row) in middle.chunks_exact_mut(out_w).enumerate() {
                let (left, rest) = row.split_at_mut(pad.left);
                left.fill(background);
                let (inner, right) = rest.split_at_mut(w);
                right.fill(background);
                let pixels = &image[y * w * c..(y + 1) * w * c];
                for (o, pixel) in inner.iter_mut().zip(pixels.chunks_exact(c)) {
                    *o = table[pixel[ch] as usize];
                }
            }
        }
    }
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
