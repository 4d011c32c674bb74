//! Rendering one figure to SVG and PNG with plotters, with the committed DejaVu Sans font, so the files
//! are byte-identical on every machine and need no system fonts.

use std::path::Path;
use std::sync::OnceLock;

use anyhow::{anyhow, Context, Result};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

/// DejaVu Sans (Bitstream Vera license, see `stages/assets/DejaVuSans.LICENSE`).
static FONT: &[u8] = include_bytes!("../../../assets/DejaVuSans.ttf");

/// The font family name figures use.
pub const FAMILY: &str = "sans-serif";

/// Registers the committed font with plotters once per process.
fn register_font() -> Result<()> {
    static DONE: OnceLock<bool> = OnceLock::new();
    let ok = *DONE
        .get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    if ok {
        Ok(())
    } else {
        Err(anyhow!(
            "the committed font DejaVuSans.ttf could not be loaded"
        ))
    }
}

/// Colors of architectures in their sorted order (green and purple first, as the study's figure).
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(116, 196, 118),
    RGBColor(158, 154, 200),
    RGBColor(140, 86, 75),
    RGBColor(253, 141, 60),
    RGBColor(66, 146, 198),
    RGBColor(239, 59, 44),
    RGBColor(115, 115, 115),
    RGBColor(231, 41, 138),
];

/// The color of the i-th architecture.
pub fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Turns a plotters drawing error into an error naming the figure.
pub fn err<E: std::fmt::Debug>(figure: &str) -> impl Fn(E) -> anyhow::Error + '_ {
    move |e| anyhow!("drawing {figure}: {e:?}")
}

/// Draws the chart's legend at `position` in the report's style (a light box, labels at `font_size`).
pub fn draw_legend<'a, DB, CT>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
    font_size: u32,
    figure: &str,
) -> Result<()>
where
    DB: DrawingBackend + 'a,
    CT: CoordTranslate,
{
    chart
        .configure_series_labels()
        .position(position)
        .label_font((FAMILY, font_size))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(200, 200, 200))
        .draw()
        .map_err(err(figure))
}

/// Draws the axes, their descriptions and a light grid in the report's style on a chart of two
/// continuous axes.
pub fn draw_grid<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    x_desc: &str,
    y_desc: &str,
    figure: &str,
) -> Result<()> {
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .label_style((FAMILY, 12))
        .axis_desc_style((FAMILY, 13))
        .light_line_style(WHITE)
        .bold_line_style(RGBColor(225, 225, 225))
        .draw()
        .map_err(err(figure))
}

/// A legend entry's mark for a line series of colour `c`: a short line as thick as the series'.
pub fn legend_line(c: RGBColor) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new([(x, y), (x + 18, y)], c.stroke_width(2))
}

/// A figure that can draw itself on any plotters backend.
pub trait Figure {
    /// Size in pixels.
    fn size(&self) -> (u32, u32);
    /// Draws on a white area of `size()`.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>;
}

/// Renders `figure` to `<dir>/<name>.svg` and `<dir>/<name>.png`; returns the SVG text.
pub fn render(figure: &impl Figure, dir: &Path, name: &str) -> Result<String> {
    register_font()?;
    let (w, h) = figure.size();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(err(name))?;
        figure.draw(&root)?;
        root.present().map_err(err(name))?;
    }
    let mut rgb = vec![0u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(err(name))?;
        figure.draw(&root)?;
        root.present().map_err(err(name))?;
    }
    std::fs::write(dir.join(format!("{name}.svg")), &svg)
        .with_context(|| format!("cannot write {name}.svg"))?;
    write_png(&dir.join(format!("{name}.png")), w, h, &rgb)?;
    Ok(svg)
}

/// Encodes an RGB buffer as PNG (no timestamps or other varying chunks).
fn write_png(path: &Path, w: u32, h: u32, rgb: &[u8]) -> Result<()> {
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(rgb)?;
    writer.finish()?;
    Ok(())
}

/// Linear-interpolation quantile (numpy default) of sorted, non-empty values.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    crate::analysis::significance::bootstrap::quantile(sorted, q)
}
