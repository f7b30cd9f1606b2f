//! The report's charts: inline SVG drawn by plotters' SVG backend (no script, no font file,
//! no network: the browser lays the text out). Every chart is one kind, horizontal stacked
//! bars with optional vertical markers, which fits each section: coverage per column,
//! values per key per column, key age against the schedule, rows per rotation job, reveals
//! per week and role. The legend is HTML beside the chart (see `html`), in the colours
//! [`color`] gives.

use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;

use super::model::Report;

/// One chart's data: a bar per category, each stacked from the series' values.
#[derive(Clone, Debug, PartialEq)]
pub struct Bars {
    /// An id for the HTML (`coverage`, `keys`, ...): tests find each chart by it.
    pub id: &'static str,
    pub title: String,
    /// What the x axis counts.
    pub unit: String,
    /// Bar labels, top to bottom.
    pub categories: Vec<String>,
    /// (name, colour index, one value per category).
    pub series: Vec<Series>,
    /// Vertical lines at x (a schedule's period, say), with a label.
    pub markers: Vec<(f64, String)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub name: String,
    pub color: usize,
    pub values: Vec<f64>,
}

/// Series colours: distinguishable, and readable on white.
const PALETTE: [(u8, u8, u8); 10] = [
    (46, 125, 50),   // green: encrypted, done
    (198, 40, 40),   // red: plaintext, failed
    (239, 108, 0),   // orange
    (106, 27, 154),  // purple
    (21, 101, 192),  // blue
    (0, 131, 143),   // teal
    (173, 20, 87),   // magenta
    (93, 64, 55),    // brown
    (117, 117, 117), // grey
    (158, 157, 36),  // olive
];

/// The colour of series colour index `i`, as `#rrggbb` for the HTML legend.
pub fn color_hex(i: usize) -> String {
    let (r, g, b) = PALETTE[i % PALETTE.len()];
    format!("#{r:02x}{g:02x}{b:02x}")
}

fn color(i: usize) -> RGBColor {
    let (r, g, b) = PALETTE[i % PALETTE.len()];
    RGBColor(r, g, b)
}

pub const GREEN: usize = 0;
pub const RED: usize = 1;
pub const ORANGE: usize = 2;
pub const PURPLE: usize = 3;
pub const GREY: usize = 8;
/// The first colour of series that are not fixed meanings (keys, roles).
pub const FREE: usize = 4;

const WIDTH: u32 = 860;

impl Bars {
    /// Whether there is anything to draw.
    pub fn is_empty(&self) -> bool {
        self.categories.is_empty()
    }

    /// The chart as an `<svg>` element, or why it could not be drawn.
    pub fn svg(&self) -> Result<String, String> {
        let n = self.categories.len();
        let totals: Vec<f64> = (0..n)
            .map(|i| self.series.iter().map(|s| value(s, i)).sum())
            .collect();
        let most = totals
            .iter()
            .copied()
            .chain(self.markers.iter().map(|(x, _)| *x))
            .fold(0.0_f64, f64::max);
        let max = if most > 0.0 { most * 1.08 } else { 1.0 };
        let longest = self
            .categories
            .iter()
            .map(|c| c.chars().count())
            .max()
            .unwrap_or(0);
        let label_width = (longest as u32 * 7 + 16).clamp(60, 300);
        let height = 60 + 26 * n as u32;
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
            root.fill(&WHITE).map_err(|e| e.to_string())?;
            let mut chart = ChartBuilder::on(&root)
                .margin(8)
                .margin_right(24)
                .x_label_area_size(34)
                .y_label_area_size(label_width)
                // plotters counts an integer range inclusively: 0..n is n+1 segments, the
                // last one empty (0..n-1 squeezes a single bar to nothing).
                .build_cartesian_2d(0f64..max, (0..n as i32).into_segmented())
                .map_err(|e| e.to_string())?;
            // Category 0 is drawn at the top: segment n-1.
            let row = |i: usize| (n - 1 - i) as i32;
            let names = &self.categories;
            let label = |v: &SegmentValue<i32>| match v {
                SegmentValue::CenterOf(k) if *k >= 0 && (*k as usize) < n => {
                    names[n - 1 - *k as usize].clone()
                }
                _ => String::new(),
            };
            let count = |x: &f64| {
                if max <= 10.0 && x.fract() != 0.0 {
                    String::new()
                } else {
                    format!("{x:.0}")
                }
            };
            chart
                .configure_mesh()
                .disable_y_mesh()
                .y_labels(n.max(1))
                .y_label_formatter(&label)
                .x_label_formatter(&count)
                .x_desc(self.unit.as_str())
                .label_style(("sans-serif", 12))
                .axis_desc_style(("sans-serif", 12))
                .light_line_style(RGBColor(238, 238, 238))
                .draw()
                .map_err(|e| e.to_string())?;
            let mut start = vec![0.0_f64; n];
            for series in &self.series {
                let fill = color(series.color).filled();
                let mut bars = Vec::new();
                for (i, from) in start.iter_mut().enumerate() {
                    let v = value(series, i);
                    if v <= 0.0 {
                        continue;
                    }
                    let mut bar = Rectangle::new(
                        [
                            (*from, SegmentValue::Exact(row(i))),
                            (*from + v, SegmentValue::Exact(row(i) + 1)),
                        ],
                        fill,
                    );
                    bar.set_margin(4, 4, 0, 0);
                    bars.push(bar);
                    *from += v;
                }
                chart.draw_series(bars).map_err(|e| e.to_string())?;
            }
            for (x, text) in &self.markers {
                let line = PathElement::new(
                    vec![
                        (*x, SegmentValue::Exact(0)),
                        (*x, SegmentValue::Exact(n as i32)),
                    ],
                    BLACK.stroke_width(2),
                );
                chart
                    .draw_series(std::iter::once(line))
                    .map_err(|e| e.to_string())?;
                let note = Text::new(
                    text.clone(),
                    (*x, SegmentValue::Exact(n as i32)),
                    ("sans-serif", 11).into_font().color(&BLACK),
                );
                chart
                    .draw_series(std::iter::once(note))
                    .map_err(|e| e.to_string())?;
            }
            root.present().map_err(|e| e.to_string())?;
        }
        Ok(svg)
    }
}

fn value(series: &Series, i: usize) -> f64 {
    series.values.get(i).copied().unwrap_or(0.0).max(0.0)
}

/// Every chart of a report, in the order the report shows them.
pub fn charts(report: &Report) -> Vec<Bars> {
    vec![
        coverage(report),
        keys(report),
        key_ages(report),
        rotations(report),
        reveals(report),
    ]
}

/// Values per column: under a configured key, in plaintext, under an unknown key, malformed.
pub fn coverage(report: &Report) -> Bars {
    let cols = &report.coverage;
    let pick = |f: fn(&super::model::Coverage) -> u64| -> Vec<f64> {
        cols.iter().map(|c| f(c) as f64).collect()
    };
    Bars {
        id: "coverage",
        title: "Encryption coverage per model and column".into(),
        unit: "values".into(),
        categories: cols
            .iter()
            .map(|c| format!("{}.{}", c.model, c.column))
            .collect(),
        series: vec![
            Series {
                name: "encrypted".into(),
                color: GREEN,
                values: pick(|c| c.encrypted),
            },
            Series {
                name: "plaintext".into(),
                color: RED,
                values: pick(|c| c.plaintext),
            },
            Series {
                name: "unknown key".into(),
                color: ORANGE,
                values: pick(|c| c.unknown_key),
            },
            Series {
                name: "malformed".into(),
                color: PURPLE,
                values: pick(|c| c.malformed),
            },
        ],
        markers: Vec::new(),
    }
}

/// Values per key (by fingerprint), stacked per column.
pub fn keys(report: &Report) -> Bars {
    let cols = &report.coverage;
    let mut labels: Vec<String> = Vec::new();
    for c in cols {
        for k in &c.by_key {
            if !labels.contains(&k.key) {
                labels.push(k.key.clone());
            }
        }
    }
    let series = labels
        .iter()
        .enumerate()
        .map(|(n, key)| Series {
            name: key.clone(),
            color: FREE + n,
            values: cols
                .iter()
                .map(|c| {
                    c.by_key
                        .iter()
                        .filter(|k| &k.key == key)
                        .map(|k| k.values as f64)
                        .sum()
                })
                .collect(),
        })
        .collect();
    Bars {
        id: "keys",
        title: "Values per key".into(),
        unit: "values".into(),
        categories: cols
            .iter()
            .map(|c| format!("{}.{}", c.model, c.column))
            .collect(),
        series,
        markers: Vec::new(),
    }
}

/// Each key's age in days, with a line at each classification's rotation period.
pub fn key_ages(report: &Report) -> Bars {
    let aged: Vec<_> = report
        .key_ages
        .keys
        .iter()
        .filter_map(|k| k.age_days.map(|d| (k, d.max(0))))
        .collect();
    let limit = report.key_ages.strictest_days;
    let (ok, over): (Vec<f64>, Vec<f64>) = aged
        .iter()
        .map(|(_, d)| {
            let d = *d as f64;
            match limit {
                Some(l) if d > l as f64 => (l as f64, d - l as f64),
                _ => (d, 0.0),
            }
        })
        .unzip();
    Bars {
        id: "key-ages",
        title: "Key age against the rotation schedule".into(),
        unit: "days since the key was put in place".into(),
        categories: aged
            .iter()
            .map(|(k, _)| format!("{} {}", k.id, k.fingerprint))
            .collect(),
        series: vec![
            Series {
                name: "within the strictest period".into(),
                color: GREEN,
                values: ok,
            },
            Series {
                name: "past it".into(),
                color: RED,
                values: over,
            },
        ],
        markers: report
            .key_ages
            .schedule
            .iter()
            .map(|s| {
                (
                    s.every_days as f64,
                    format!("{} {}d", s.classification, s.every_days),
                )
            })
            .collect(),
    }
}

/// Rows per rotation job: rotated, skipped, failed.
pub fn rotations(report: &Report) -> Bars {
    let jobs = &report.rotations.jobs;
    let pick = |f: fn(&super::model::JobView) -> i64| -> Vec<f64> {
        jobs.iter().map(|j| f(j) as f64).collect()
    };
    Bars {
        id: "rotations",
        title: "Rotation jobs: rows per job".into(),
        unit: "rows".into(),
        categories: jobs
            .iter()
            .map(|j| format!("job {} {} ({})", j.id, j.table, j.status))
            .collect(),
        series: vec![
            Series {
                name: "rotated".into(),
                color: GREEN,
                values: pick(|j| j.rows_done),
            },
            Series {
                name: "skipped".into(),
                color: GREY,
                values: pick(|j| j.rows_skipped),
            },
            Series {
                name: "failed".into(),
                color: RED,
                values: pick(|j| j.rows_failed),
            },
        ],
        markers: Vec::new(),
    }
}

/// Reveals per ISO week, stacked by role.
pub fn reveals(report: &Report) -> Bars {
    let weeks = &report.reveals.by_week;
    let roles: Vec<String> = report
        .reveals
        .by_role
        .iter()
        .map(|t| t.name.clone())
        .collect();
    let series = roles
        .iter()
        .enumerate()
        .map(|(n, role)| Series {
            name: role.clone(),
            color: FREE + n,
            values: weeks
                .iter()
                .map(|w| {
                    w.by_role
                        .iter()
                        .filter(|t| &t.name == role)
                        .map(|t| t.count as f64)
                        .sum()
                })
                .collect(),
        })
        .collect();
    Bars {
        id: "reveals",
        title: "Reveals per week and role".into(),
        unit: "reveals".into(),
        categories: weeks.iter().map(|w| w.week.clone()).collect(),
        series,
        markers: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stacked_chart_draws_one_rect_per_nonzero_value_and_escapes_labels() {
        let bars = Bars {
            id: "t",
            title: "t".into(),
            unit: "values".into(),
            categories: vec!["A.<b>".into(), "C.d".into()],
            series: vec![
                Series {
                    name: "x".into(),
                    color: GREEN,
                    values: vec![3.0, 0.0],
                },
                Series {
                    name: "y".into(),
                    color: RED,
                    values: vec![1.0, 2.0],
                },
            ],
            markers: vec![(2.5, "limit".into())],
        };
        let svg = bars.svg().unwrap();
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(
            svg.contains("A.&lt;b&gt;") && !svg.contains("A.<b>"),
            "{svg}"
        );
        let filled = svg
            .matches(&format!("fill=\"{}\"", color_hex(RED).to_uppercase()))
            .count()
            + svg.matches(&format!("fill=\"{}\"", color_hex(RED))).count();
        assert!(filled >= 2, "two red bars: {svg}");
    }

    #[test]
    fn a_single_bar_has_a_positive_size() {
        let bars = Bars {
            id: "one",
            title: "one".into(),
            unit: "rows".into(),
            categories: vec!["job 1".into()],
            series: vec![Series {
                name: "rotated".into(),
                color: GREEN,
                values: vec![29.0],
            }],
            markers: Vec::new(),
        };
        let svg = bars.svg().unwrap();
        assert!(
            !svg.contains("height=\"-") && !svg.contains("width=\"-"),
            "a negative size: {svg}"
        );
        assert!(svg.matches("<rect").count() >= 2, "{svg}");
    }
}
