//! Charts as inline SVG, drawn in Rust so the pages need no script and fetch nothing: line charts
//! of metric history by step (one `<path>` per series) and scatter plots. Pure: values in, markup
//! out; every label goes through maud's escaping.

use maud::{Markup, html};

const WIDTH: f64 = 560.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 36.0;
/// Series colours, picked to stay readable on light and dark backgrounds.
const PALETTE: [&str; 8] = [
    "#4e79a7", "#f28e2b", "#e15759", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#9c755f",
];

/// One line (or set of points) of a chart.
#[derive(Debug, Clone)]
pub struct Series {
    pub label: String,
    /// `(x, y)` pairs; non-finite ones are skipped (and break a line).
    pub points: Vec<(f64, f64)>,
}

/// The visible range of the finite points of all series, widened when flat.
fn bounds(series: &[Series]) -> Option<((f64, f64), (f64, f64))> {
    let finite = series
        .iter()
        .flat_map(|s| s.points.iter())
        .filter(|(x, y)| x.is_finite() && y.is_finite());
    let mut b: Option<((f64, f64), (f64, f64))> = None;
    for &(x, y) in finite {
        b = Some(match b {
            None => ((x, x), (y, y)),
            Some(((x0, x1), (y0, y1))) => ((x0.min(x), x1.max(x)), (y0.min(y), y1.max(y))),
        });
    }
    b.map(|((x0, x1), (y0, y1))| (widen(x0, x1), widen(y0, y1)))
}

fn widen(lo: f64, hi: f64) -> (f64, f64) {
    if hi > lo {
        (lo, hi)
    } else {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.05 };
        (lo - pad, hi + pad)
    }
}

/// Maps data coordinates to the plot area.
struct Frame {
    x: (f64, f64),
    y: (f64, f64),
}

impl Frame {
    fn px(&self, x: f64) -> f64 {
        LEFT + (x - self.x.0) / (self.x.1 - self.x.0) * (WIDTH - LEFT - RIGHT)
    }
    fn py(&self, y: f64) -> f64 {
        HEIGHT - BOTTOM - (y - self.y.0) / (self.y.1 - self.y.0) * (HEIGHT - TOP - BOTTOM)
    }
}

/// The SVG path data of one series: `M x y L x y …`, a new `M` after each non-finite point.
pub fn path_data(points: &[(f64, f64)], frame_x: (f64, f64), frame_y: (f64, f64)) -> String {
    let frame = Frame {
        x: frame_x,
        y: frame_y,
    };
    let mut d = String::new();
    let mut pen_down = false;
    for &(x, y) in points {
        if !(x.is_finite() && y.is_finite()) {
            pen_down = false;
            continue;
        }
        if !d.is_empty() {
            d.push(' ');
        }
        d.push(if pen_down { 'L' } else { 'M' });
        d.push_str(&format!("{:.1} {:.1}", frame.px(x), frame.py(y)));
        pen_down = true;
    }
    d
}

/// A line chart: one `<path>` per series (a dot per point, so a single point still shows), axis
/// bounds, and a legend when there is more than one series.
pub fn line_chart(title: &str, x_label: &str, series: &[Series]) -> Markup {
    chart(title, x_label, series, true)
}

/// A scatter plot: one dot per point, coloured by series.
pub fn scatter(title: &str, x_label: &str, series: &[Series]) -> Markup {
    chart(title, x_label, series, false)
}

fn chart(title: &str, x_label: &str, series: &[Series], lines: bool) -> Markup {
    let Some((bx, by)) = bounds(series) else {
        return html! { p.muted { (title) ": no finite values to draw" } };
    };
    let frame = Frame { x: bx, y: by };
    let fmt = crate::cli::tracking::number;
    html! {
        figure.chart {
            svg xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {WIDTH} {HEIGHT}"))
                role="img" aria-label=(title) {
                title { (title) }
                rect.plot x=(LEFT) y=(TOP) width=(WIDTH - LEFT - RIGHT)
                    height=(HEIGHT - TOP - BOTTOM) {}
                text.axis x=(LEFT - 6.0) y=(TOP + 4.0) text-anchor="end" { (fmt(by.1)) }
                text.axis x=(LEFT - 6.0) y=(HEIGHT - BOTTOM) text-anchor="end" { (fmt(by.0)) }
                text.axis x=(LEFT) y=(HEIGHT - BOTTOM + 16.0) text-anchor="start" { (fmt(bx.0)) }
                text.axis x=(WIDTH - RIGHT) y=(HEIGHT - BOTTOM + 16.0) text-anchor="end" {
                    (fmt(bx.1))
                }
                text.axis x=((LEFT + WIDTH - RIGHT) / 2.0) y=(HEIGHT - 6.0) text-anchor="middle" {
                    (x_label)
                }
                @for (i, s) in series.iter().enumerate() {
                    @let colour = PALETTE[i % PALETTE.len()];
                    g.series data-label=(s.label) {
                        title { (s.label) }
                        @if lines {
                            path d=(path_data(&s.points, bx, by)) fill="none" stroke=(colour)
                                stroke-width="2" {}
                        }
                        @for &(x, y) in s.points.iter().filter(|(x, y)| x.is_finite() && y.is_finite()) {
                            circle cx=(format!("{:.1}", frame.px(x))) cy=(format!("{:.1}", frame.py(y)))
                                r=(if lines { "2.5" } else { "3.5" }) fill=(colour) {
                                title { (s.label) ": " (fmt(x)) ", " (fmt(y)) }
                            }
                        }
                    }
                }
            }
            @if series.len() > 1 {
                figcaption {
                    ul.legend {
                        @for (i, s) in series.iter().enumerate() {
                            li {
                                span.swatch style=(format!("background:{}", PALETTE[i % PALETTE.len()])) {}
                                (s.label)
                            }
                        }
                    }
                }
            } @else {
                figcaption.muted { (title) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(label: &str, points: &[(f64, f64)]) -> Series {
        Series {
            label: label.into(),
            points: points.to_vec(),
        }
    }

    #[test]
    fn path_scales_into_the_plot_area_and_breaks_at_nan() {
        let d = path_data(
            &[(0.0, 0.0), (1.0, 1.0), (2.0, f64::NAN), (3.0, 0.5)],
            (0.0, 3.0),
            (0.0, 1.0),
        );
        assert_eq!(d, "M64.0 204.0 L224.0 16.0 M544.0 110.0");
    }

    #[test]
    fn one_path_per_series_and_labels_escaped() {
        let html = line_chart(
            "rmse",
            "step",
            &[
                s("<b>a</b>", &[(0.0, 1.0), (1.0, 0.5)]),
                s("b", &[(0.0, 2.0)]),
            ],
        )
        .into_string();
        assert_eq!(html.matches("<path ").count(), 2, "{html}");
        assert!(
            html.contains("&lt;b&gt;a&lt;/b&gt;") && !html.contains("<b>a"),
            "{html}"
        );
        assert_eq!(html.matches("<circle ").count(), 3);
    }

    #[test]
    fn flat_and_empty_series_still_render() {
        let flat = line_chart("r2", "fold", &[s("a", &[(0.0, 0.3), (1.0, 0.3)])]).into_string();
        assert!(flat.contains("<svg") && !flat.contains("NaN"), "{flat}");
        let empty = line_chart("r2", "fold", &[s("a", &[(0.0, f64::NAN)])]).into_string();
        assert!(empty.contains("no finite values"), "{empty}");
        let dots = scatter("p", "x", &[s("a", &[(1.0, 2.0), (3.0, 4.0)])]).into_string();
        assert!(!dots.contains("<path") && dots.matches("<circle").count() == 2);
    }
}
