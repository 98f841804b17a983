//! Charts drawn on the server as SVG: bar charts (volumes by category or channel) and line
//! charts (backlog, response times over days) for the supervisors' dashboard.
//!
//! No script and no inline style, so the pages' content security policy stays strict: colours
//! are presentation attributes. Every text is XML-escaped. Each chart carries a `<title>` and a
//! `<desc>` naming its values, is an `img` to assistive technology, and scales to its container
//! (a `viewBox`, no fixed width); pages show the same numbers in a table beside it.

use std::fmt::Write as _;

/// Colours for series, in order; they stay readable on white and apart for common colour
/// blindness (blue, orange, teal, purple, grey).
const PALETTE: [&str; 5] = ["#1f6feb", "#d97706", "#0f766e", "#7c3aed", "#6b7280"];

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 48.0;

/// One line of a line chart: its name and one value per x label (`None`: no data that day).
#[derive(Clone, Debug)]
pub struct Series {
    pub name: String,
    pub values: Vec<Option<f64>>,
}

/// Text as it may stand in XML.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// A "nice" upper bound and tick step for values up to `max`: steps of 1, 2 or 5 × 10ⁿ, about
/// four to six ticks.
pub fn axis(max: f64) -> (f64, f64) {
    if !max.is_finite() || max <= 0.0 {
        return (1.0, 0.25);
    }
    let rough = max / 5.0;
    let magnitude = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= rough)
        .unwrap_or(10.0 * magnitude);
    ((max / step).ceil() * step, step)
}

/// A number as an axis or value label: whole numbers without decimals, others with up to two.
pub fn number(value: f64) -> String {
    if (value - value.round()).abs() < 1e-9 {
        format!("{}", value.round() as i64)
    } else {
        let text = format!("{value:.2}");
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

fn open(out: &mut String, id: &str, title: &str, desc: &str) {
    let id = escape(id);
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" \
         role=\"img\" aria-labelledby=\"{id}-t {id}-d\" class=\"chart\">\
         <title id=\"{id}-t\">{}</title><desc id=\"{id}-d\">{}</desc>",
        escape(title),
        escape(desc)
    );
}

/// Horizontal grid lines with their values on the left, from 0 to `top`.
fn grid(out: &mut String, top: f64, step: f64, unit: &str) {
    let plot_h = HEIGHT - TOP - BOTTOM;
    let mut v = 0.0;
    while v <= top + step / 2.0 {
        let y = TOP + plot_h - plot_h * (v / top);
        let _ = write!(
            out,
            "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#e5e7eb\"/>\
             <text x=\"{}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\" fill=\"#4b5563\">{}{}</text>",
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            number(v),
            escape(unit)
        );
        v += step;
    }
}

/// A label under the x axis, shortened to fit.
fn x_label(out: &mut String, x: f64, label: &str, room: f64) {
    // About 7 px per Latin character and 12 per Chinese one at 11 px.
    let mut width = 0.0;
    let mut shown = String::new();
    for c in label.chars() {
        let w = if c.is_ascii() { 6.5 } else { 11.5 };
        if width + w > room.max(24.0) {
            shown.push('…');
            break;
        }
        width += w;
        shown.push(c);
    }
    let _ = write!(
        out,
        "<text x=\"{x:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#374151\">{}</text>",
        HEIGHT - BOTTOM + 16.0,
        escape(&shown)
    );
}

/// A bar chart of labelled values (negative values are drawn as zero). `id` is unique on the
/// page: the chart's title and description are referred to by it.
pub fn bar_chart(id: &str, title: &str, bars: &[(String, f64)], unit: &str) -> String {
    let desc = bars
        .iter()
        .map(|(label, v)| format!("{label}: {}{unit}", number(v.max(0.0))))
        .collect::<Vec<_>>()
        .join("; ");
    let mut out = String::new();
    open(&mut out, id, title, &desc);
    let max = bars.iter().map(|(_, v)| v.max(0.0)).fold(0.0, f64::max);
    let (top, step) = axis(max);
    grid(&mut out, top, step, unit);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let slot = plot_w / bars.len().max(1) as f64;
    let bar_w = (slot * 0.6).min(48.0);
    for (i, (label, value)) in bars.iter().enumerate() {
        let v = value.max(0.0);
        let h = plot_h * (v / top);
        let x = LEFT + slot * i as f64 + (slot - bar_w) / 2.0;
        let y = TOP + plot_h - h;
        let _ = write!(
            out,
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bar_w:.1}\" height=\"{h:.1}\" fill=\"{}\">\
             <title>{}: {}{}</title></rect>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#111827\">{}</text>",
            PALETTE[0],
            escape(label),
            number(v),
            escape(unit),
            x + bar_w / 2.0,
            y - 4.0,
            number(v)
        );
        x_label(&mut out, x + bar_w / 2.0, label, slot - 4.0);
    }
    out.push_str("</svg>");
    out
}

/// A line chart: one line per series over the x labels, with a legend (`id` as for
/// [`bar_chart`]).
pub fn line_chart(
    id: &str,
    title: &str,
    x_labels: &[String],
    series: &[Series],
    unit: &str,
) -> String {
    let desc = series
        .iter()
        .map(|s| {
            let values = x_labels
                .iter()
                .zip(&s.values)
                .map(|(x, v)| match v {
                    Some(v) => format!("{x} {}{unit}", number(*v)),
                    None => format!("{x} –"),
                })
                .collect::<Vec<_>>()
                .join(", ");
            format!("{}: {values}", s.name)
        })
        .collect::<Vec<_>>()
        .join("; ");
    let mut out = String::new();
    open(&mut out, id, title, &desc);
    let max = series
        .iter()
        .flat_map(|s| s.values.iter().flatten())
        .fold(0.0, |m: f64, v| m.max(*v));
    let (top, step) = axis(max);
    grid(&mut out, top, step, unit);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let n = x_labels.len().max(1);
    let x_at = |i: usize| {
        if n == 1 {
            LEFT + plot_w / 2.0
        } else {
            LEFT + plot_w * i as f64 / (n - 1) as f64
        }
    };
    // Label at most about eight x positions so they never overlap.
    let every = n.div_ceil(8).max(1);
    for (i, label) in x_labels.iter().enumerate() {
        if i % every == 0 || i == n - 1 {
            x_label(&mut out, x_at(i), label, plot_w / 8.0);
        }
    }
    for (k, s) in series.iter().enumerate() {
        let colour = PALETTE[k % PALETTE.len()];
        // A gap in the data breaks the line.
        let mut path = String::new();
        let mut pen_down = false;
        for (i, v) in s.values.iter().enumerate().take(n) {
            match v {
                Some(v) => {
                    let y = TOP + plot_h - plot_h * (v.max(0.0) / top);
                    let _ = write!(
                        path,
                        "{}{:.1},{y:.1} ",
                        if pen_down { "L" } else { "M" },
                        x_at(i)
                    );
                    pen_down = true;
                }
                None => pen_down = false,
            }
        }
        if !path.is_empty() {
            let _ = write!(
                out,
                "<path d=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"/>",
                path.trim_end()
            );
        }
        let lx = LEFT + 140.0 * k as f64;
        let _ = write!(
            out,
            "<rect x=\"{lx:.1}\" y=\"{:.1}\" width=\"12\" height=\"4\" fill=\"{colour}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" fill=\"#374151\">{}</text>",
            HEIGHT - 14.0,
            lx + 16.0,
            HEIGHT - 10.0,
            escape(&s.name)
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_are_nice() {
        assert_eq!(axis(0.0), (1.0, 0.25));
        assert_eq!(axis(7.0), (8.0, 2.0));
        assert_eq!(axis(10.0), (10.0, 2.0));
        assert_eq!(axis(96.0), (100.0, 20.0));
        assert_eq!(axis(1234.0), (1500.0, 500.0));
        assert_eq!(axis(f64::NAN), (1.0, 0.25));
    }

    #[test]
    fn numbers_drop_needless_decimals() {
        assert_eq!(number(3.0), "3");
        assert_eq!(number(2.5), "2.5");
        assert_eq!(number(0.126), "0.13");
    }

    #[test]
    fn bars_are_drawn_escaped_and_described() {
        let svg = bar_chart(
            "by-category",
            "Tickets <by> category",
            &[
                ("登录失败".into(), 12.0),
                ("<script>".into(), 3.0),
                ("x".into(), -1.0),
            ],
            "",
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(svg.contains("&lt;script&gt;"));
        assert!(svg.contains("Tickets &lt;by&gt; category"));
        assert!(
            svg.contains("<desc id=\"by-category-d\">登录失败: 12; &lt;script&gt;: 3; x: 0</desc>"),
            "{svg}"
        );
        assert_eq!(svg.matches("<rect").count(), 3);
        assert!(!svg.contains("style="), "no inline style under the CSP");
        // The tallest bar reaches the axis top (15 for 12): its height is 12/15 of the plot.
        let plot_h = HEIGHT - TOP - BOTTOM;
        assert!(
            svg.contains(&format!("height=\"{:.1}\"", plot_h * 12.0 / 15.0)),
            "{svg}"
        );
    }

    #[test]
    fn lines_break_at_gaps_and_have_a_legend() {
        let days: Vec<String> = (1..=10).map(|d| format!("11-{d:02}")).collect();
        let mut values: Vec<Option<f64>> = (1..=10).map(|d| Some(f64::from(d))).collect();
        values[4] = None;
        let svg = line_chart(
            "backlog",
            "Backlog",
            &days,
            &[
                Series {
                    name: "open".into(),
                    values,
                },
                Series {
                    name: "待处理".into(),
                    values: vec![Some(1.0); 10],
                },
            ],
            "",
        );
        let paths: Vec<&str> = svg.split("<path d=\"").skip(1).collect();
        assert_eq!(paths.len(), 2);
        assert_eq!(
            paths[0].matches('M').count(),
            2,
            "the gap starts a new line"
        );
        assert!(svg.contains(">待处理</text>"));
        assert!(svg.contains("11-05 –"), "the gap is in the description");
        assert!(!svg.contains("NaN"));
    }
}
