//! Image geometry: where the reference band, the reads and the candidate sit in the H×W×C tensor.

use anyhow::{bail, Result};

/// Rows 0..5 hold the reference band.
pub const REFERENCE_BAND_ROWS: usize = 5;
/// Reads overlapping `[start - 5, end + 5)` of a candidate are drawn (`read_overlap_buffer_bp`).
pub const READ_OVERLAP_BUFFER_BP: i64 = 5;

/// Height and width of a pileup image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    /// Rows: the reference band plus at most `height - 5` reads (DeepVariant: 100).
    pub height: usize,
    /// Columns, odd and at least 3 (DeepVariant: 221).
    pub width: usize,
}

impl Geometry {
    /// Checks DeepVariant's constraints: odd width ≥ 3, room for at least one read row.
    pub fn new(height: usize, width: usize) -> Result<Self> {
        if width < 3 || width.is_multiple_of(2) {
            bail!("params.width: must be odd and at least 3, got {width}");
        }
        if height <= REFERENCE_BAND_ROWS {
            bail!(
                "params.height: must exceed the {REFERENCE_BAND_ROWS} reference rows, got {height}"
            );
        }
        Ok(Self { height, width })
    }

    /// Columns on each side of the candidate: `(W - 1) / 2` (110 for W = 221).
    pub fn half(&self) -> i64 {
        ((self.width - 1) / 2) as i64
    }

    /// Most reads one image holds (`H - 5`).
    pub fn max_reads(&self) -> usize {
        self.height - REFERENCE_BAND_ROWS
    }

    /// Reference position of column 0 for a candidate starting at `variant_start`.
    pub fn window_start(&self, variant_start: i64) -> i64 {
        variant_start - self.half()
    }

    /// Column of reference position `pos` in the image of a candidate at `variant_start`, if inside.
    pub fn column(&self, variant_start: i64, pos: i64) -> Option<usize> {
        let col = pos - self.window_start(variant_start);
        (0..self.width as i64)
            .contains(&col)
            .then_some(col as usize)
    }
}

/// An H×W×C `uint8` image in row-major HWC order, zero where nothing is drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// Geometry.
    pub geometry: Geometry,
    /// Channels per pixel.
    pub channels: usize,
    /// `H * W * C` bytes; index `(row * W + col) * C + ch`.
    pub data: Vec<u8>,
}

impl Image {
    /// An all-zero image.
    pub fn zeros(geometry: Geometry, channels: usize) -> Self {
        Self {
            geometry,
            channels,
            data: vec![0; geometry.height * geometry.width * channels],
        }
    }

    /// The `C` channel values of pixel (`row`, `col`).
    pub fn pixel_mut(&mut self, row: usize, col: usize) -> &mut [u8] {
        let i = (row * self.geometry.width + col) * self.channels;
        &mut self.data[i..i + self.channels]
    }

    /// The `C` channel values of pixel (`row`, `col`).
    pub fn pixel(&self, row: usize, col: usize) -> &[u8] {
        let i = (row * self.geometry.width + col) * self.channels;
        &self.data[i..i + self.channels]
    }
}
