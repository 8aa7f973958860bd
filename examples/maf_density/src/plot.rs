//! `density.png`: learned density, training data and model samples side by side.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::colors::colormaps::ViridisRGB;

/// What to draw.
pub struct Panels<'a> {
    /// `(x_min, x_max, y_min, y_max)`.
    pub bounds: (f64, f64, f64, f64),
    /// Density on a `grid × grid` lattice, row `i` = x index, column `j` = y index.
    pub density: &'a [f64],
    /// Lattice size.
    pub grid: usize,
    /// Training points.
    pub data: &'a [[f64; 2]],
    /// Model samples.
    pub samples: &'a [[f64; 2]],
    /// Title prefix, e.g. "MAF on moons".
    pub title: &'a str,
}

/// Draws the three panels to `path` (PNG).
pub fn draw(path: &Path, panels: &Panels) -> Result<(), Box<dyn std::error::Error>> {
    let with_text = crate::font::load_font();
    let root = BitMapBackend::new(path, (1500, 520)).into_drawing_area();
    root.fill(&WHITE)?;
    let areas = root.split_evenly((1, 3));
    let (x0, x1, y0, y1) = panels.bounds;
    let titles = [
        format!("{}: learned density", panels.title),
        "training data".to_string(),
        "model samples".to_string(),
    ];
    for (k, area) in areas.iter().enumerate() {
        let mut builder = ChartBuilder::on(area);
        builder.margin(10);
        if with_text {
            builder
                .caption(&titles[k], ("sans-serif", 20))
                .x_label_area_size(30)
                .y_label_area_size(40);
        }
        let mut chart = builder.build_cartesian_2d(x0..x1, y0..y1)?;
        if with_text {
            chart.configure_mesh().disable_mesh().draw()?;
        }
        match k {
            0 => {
                let n = panels.grid;
                let (hx, hy) = ((x1 - x0) / n as f64, (y1 - y0) / n as f64);
                let max = panels
                    .density
                    .iter()
                    .copied()
                    .fold(0.0, f64::max)
                    .max(1e-300);
                chart.draw_series((0..n * n).map(|c| {
                    let (i, j) = (c / n, c % n);
                    let colour = ViridisRGB::get_color(panels.density[c] / max);
                    let (cx, cy) = (x0 + hx * i as f64, y0 + hy * j as f64);
                    Rectangle::new([(cx, cy), (cx + hx, cy + hy)], colour.filled())
                }))?;
            }
            _ => {
                let points = if k == 1 { panels.data } else { panels.samples };
                let colour = if k == 1 {
                    RGBColor(31, 119, 180)
                } else {
                    RGBColor(214, 39, 40)
                };
                chart.draw_series(
                    points
                        .iter()
                        .filter(|p| p[0] >= x0 && p[0] <= x1 && p[1] >= y0 && p[1] <= y1)
                        .map(|p| Circle::new((p[0], p[1]), 1, colour.mix(0.35).filled())),
                )?;
            }
        }
    }
    root.present()?;
    Ok(())
}
