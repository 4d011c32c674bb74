//! Drawing one example as a PNG: a title bar (id and label), then one grayscale panel per channel in
//! image order, each captioned with its channel name.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::data::examples::{Example, ImageShape};

/// Pixels between panels and around the edges.
const GAP: usize = 4;
/// Text is drawn with a 3×5 font magnified this many times.
const TEXT_SCALE: usize = 2;
/// Height of the title bar and of the caption row.
const BAR: usize = 7 * TEXT_SCALE + 2;

const BACKGROUND: [u8; 3] = [32, 32, 40];
const TEXT: [u8; 3] = [235, 235, 235];

/// 3×5 glyphs, one row of 3 bits per entry (bit 2 is the left column).
fn glyph(c: char) -> [u8; 5] {
    match c.to_ascii_uppercase() {
        'A' => [2, 5, 7, 5, 5],
        'B' => [6, 5, 6, 5, 6],
        'C' => [3, 4, 4, 4, 3],
        'D' => [6, 5, 5, 5, 6],
        'E' => [7, 4, 6, 4, 7],
        'F' => [7, 4, 6, 4, 4],
        'G' => [3, 4, 5, 5, 3],
        'H' => [5, 5, 7, 5, 5],
        'I' => [7, 2, 2, 2, 7],
        'J' => [1, 1, 1, 5, 2],
        'K' => [5, 5, 6, 5, 5],
        'L' => [4, 4, 4, 4, 7],
        'M' => [5, 7, 7, 5, 5],
        'N' => [6, 5, 5, 5, 5],
        'O' => [2, 5, 5, 5, 2],
        'P' => [6, 5, 6, 4, 4],
        'Q' => [2, 5, 5, 6, 3],
        'R' => [6, 5, 6, 5, 5],
        'S' => [3, 4, 2, 1, 6],
        'T' => [7, 2, 2, 2, 2],
        'U' => [5, 5, 5, 5, 7],
        'V' => [5, 5, 5, 5, 2],
        'W' => [5, 5, 7, 7, 5],
        'X' => [5, 5, 2, 5, 5],
        'Y' => [5, 5, 2, 2, 2],
        'Z' => [7, 1, 2, 4, 7],
        '0' => [7, 5, 5, 5, 7],
        '1' => [2, 6, 2, 2, 7],
        '2' => [6, 1, 2, 4, 7],
        '3' => [6, 1, 2, 1, 6],
        '4' => [5, 5, 7, 1, 1],
        '5' => [7, 4, 6, 1, 6],
        '6' => [3, 4, 7, 5, 7],
        '7' => [7, 1, 2, 2, 2],
        '8' => [7, 5, 7, 5, 7],
        '9' => [7, 5, 7, 1, 6],
        ':' => [0, 2, 0, 2, 0],
        '>' => [4, 2, 1, 2, 4],
        '<' => [1, 2, 4, 2, 1],
        '_' => [0, 0, 0, 0, 7],
        '-' => [0, 0, 7, 0, 0],
        ',' => [0, 0, 0, 2, 4],
        '.' => [0, 0, 0, 0, 2],
        '=' => [0, 7, 0, 7, 0],
        '/' => [1, 1, 2, 4, 4],
        '*' => [5, 2, 7, 2, 5],
        ' ' => [0; 5],
        _ => [7, 7, 7, 7, 7],
    }
}

/// An RGB canvas.
struct Canvas {
    width: usize,
    height: usize,
    rgb: Vec<u8>,
}

impl Canvas {
    fn new(width: usize, height: usize) -> Self {
        let mut rgb = Vec::with_capacity(width * height * 3);
        for _ in 0..width * height {
            rgb.extend_from_slice(&BACKGROUND);
        }
        Self { width, height, rgb }
    }

    fn put(&mut self, x: usize, y: usize, color: [u8; 3]) {
        if x < self.width && y < self.height {
            let i = (y * self.width + x) * 3;
            self.rgb[i..i + 3].copy_from_slice(&color);
        }
    }

    /// Draws `text` with its top-left corner at (`x`, `y`), clipped to `max_width` pixels.
    fn text(&mut self, x: usize, y: usize, max_width: usize, text: &str) {
        let advance = 4 * TEXT_SCALE;
        for (k, c) in text.chars().enumerate() {
            let x0 = x + k * advance;
            if x0 + 3 * TEXT_SCALE > x + max_width {
                break;
            }
            for (row, bits) in glyph(c).iter().enumerate() {
                for col in 0..3 {
                    if bits & (4 >> col) != 0 {
                        for dy in 0..TEXT_SCALE {
                            for dx in 0..TEXT_SCALE {
                                self.put(
                                    x0 + col * TEXT_SCALE + dx,
                                    y + row * TEXT_SCALE + dy,
                                    TEXT,
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Writes `example` (of `shape`) to `out` as an RGB PNG: the title bar shows the id and label, then
/// one grayscale panel per channel (pixel value = gray level), each captioned with its channel name.
pub fn render_example_png(example: &Example, shape: &ImageShape, out: &Path) -> Result<()> {
    let (h, w, c) = (shape.height, shape.width, shape.channels.len());
    if example.image.len() != shape.image_len() || c == 0 {
        bail!(
            "example {}: image has {} bytes, expected {h}x{w}x{c} = {}",
            example.id,
            example.image.len(),
            shape.image_len()
        );
    }
    let width = GAP + c * (w + GAP);
    let height = BAR + h + BAR + GAP;
    let mut canvas = Canvas::new(width, height);
    let label = example
        .label
        .map_or_else(|| "unlabelled".to_string(), |l| format!("label {l}"));
    canvas.text(GAP, 1, width - GAP, &format!("{}   {label}", example.id));
    for ch in 0..c {
        let x0 = GAP + ch * (w + GAP);
        for row in 0..h {
            for col in 0..w {
                let v = example.image[(row * w + col) * c + ch];
                canvas.put(x0 + col, BAR + row, [v, v, v]);
            }
        }
        canvas.text(x0, BAR + h + 2, w, &shape.channels[ch]);
    }
    let file = File::create(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut encoder = png::Encoder::new(BufWriter::new(file), width as u32, height as u32);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder
        .write_header()
        .with_context(|| format!("cannot write {}", out.display()))?;
    writer
        .write_image_data(&canvas.rgb)
        .with_context(|| format!("cannot write {}", out.display()))?;
    writer
        .finish()
        .with_context(|| format!("cannot write {}", out.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(path: &Path) -> (usize, usize, Vec<u8>) {
        let decoder = png::Decoder::new(std::io::BufReader::new(File::open(path).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!(info.color_type, png::ColorType::Rgb);
        buf.truncate(info.buffer_size());
        (info.width as usize, info.height as usize, buf)
    }

    #[test]
    fn panels_show_each_channel_as_gray_levels() {
        let shape = ImageShape {
            height: 4,
            width: 5,
            channels: vec!["a".into(), "b".into()],
        };
        let image: Vec<u8> = (0..40).map(|i| (i * 6) as u8).collect();
        let example = Example {
            id: "chr1:10:A>C".into(),
            sample: "s".into(),
            chrom: "chr1".into(),
            pos: 9,
            ref_allele: "A".into(),
            alt: "C".into(),
            label: Some(1),
            image: image.clone(),
            site: None,
        };
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("x.png");
        render_example_png(&example, &shape, &out).unwrap();
        let (w, h, rgb) = decode(&out);
        assert_eq!((w, h), (GAP + 2 * (5 + GAP), BAR + 4 + BAR + GAP));
        for ch in 0..2 {
            for row in 0..4 {
                for col in 0..5 {
                    let (x, y) = (GAP + ch * (5 + GAP) + col, BAR + row);
                    let v = image[(row * 5 + col) * 2 + ch];
                    assert_eq!(&rgb[(y * w + x) * 3..(y * w + x) * 3 + 3], &[v, v, v]);
                }
            }
        }
        // The title bar has text pixels.
        assert!(rgb[..BAR * w * 3].chunks(3).any(|p| p == TEXT));
        let mut bad = example.clone();
        bad.image.pop();
        let err = render_example_png(&bad, &shape, &out)
            .unwrap_err()
            .to_string();
        assert!(err.contains("39 bytes"), "{err}");
    }
}
