//! Bar charts as SVG, for the utilisation report: one group of bars per
//! district, zone, category or month, one bar per measure. Pure text, so
//! a browser, a PDF tool or a test can read it.

use crate::domain::Fen;

/// Bar colours per measure, readable in grey print too.
const COLOURS: [&str; 4] = ["#9ecae1", "#4292c6", "#08519c", "#08306b"];

/// One group on the x axis: its label and one amount per series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub label: String,
    pub values_fen: Vec<i64>,
}

/// Width of `text` at `size` px, measured with the PDF font (CJK is one em
/// in every face; Latin is allowed 15 % more for the reader's own font).
fn text_width(text: &str, size: f64) -> f64 {
    let face = super::pdf::face::Face::get();
    text.chars()
        .map(|c| {
            let em = f64::from(face.width(c.encode_utf8(&mut [0; 4]), 1.0));
            if c.is_ascii() { em * 1.15 } else { em }
        })
        .sum::<f64>()
        * size
}

/// A grouped bar chart of amounts in 元 with a title, a legend and a
/// labelled y axis. Everything is measured before it is placed: the chart
/// is as wide as its groups, its title and its y labels need (at least
/// 640 px), and the legend wraps onto as many rows as it needs, so no text
/// is ever clipped.
pub fn bar_chart_svg(title: &str, series: &[&str], groups: &[Group]) -> String {
    const FONT: f64 = 12.0;
    const TITLE: f64 = 16.0;
    const BAR: f64 = 16.0;
    const ROW: f64 = 20.0;
    let max_fen = groups
        .iter()
        .flat_map(|g| g.values_fen.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1);
    let step = nice_step(max_fen);
    let top_fen = (max_fen + step - 1) / step * step;
    let label_of = |group: &Group| {
        if group.label.is_empty() {
            "（未分类）".to_string()
        } else {
            group.label.clone()
        }
    };
    let widest_tick = text_width(&Fen::new(top_fen).to_string(), FONT);
    let left = widest_tick + 16.0;
    let bars = series.len().max(1) as f64 * (BAR + 2.0);
    let slot = groups
        .iter()
        .map(|g| text_width(&label_of(g), FONT) + 12.0)
        .fold(bars + 24.0, f64::max);
    let width = (left + slot * groups.len().max(1) as f64 + 20.0)
        .max(text_width(title, TITLE) + 40.0)
        .max(640.0)
        .ceil();
    // The groups share the plot's width, centred in their slots.
    let slot = (width - left - 20.0) / groups.len().max(1) as f64;
    // The legend: entries left to right, a new row when one would pass
    // the right edge.
    let mut legend = Vec::new();
    let (mut x, mut row) = (left, 0.0);
    for (index, name) in series.iter().enumerate() {
        let entry = 16.0 + text_width(name, FONT) + 24.0;
        if x + entry > width - 10.0 && x > left {
            (x, row) = (left, row + 1.0);
        }
        legend.push((index, *name, x, row));
        x += entry;
    }
    let legend_rows = legend.last().map_or(0.0, |l| l.3 + 1.0);
    let (top, plot_height) = (60.0, 280.0);
    let height = (top + plot_height + 36.0 + legend_rows * ROW + 12.0).ceil();
    let y_of = |fen: i64| top + plot_height * (1.0 - fen as f64 / top_fen as f64);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" \
         viewBox=\"0 0 {width:.0} {height:.0}\" font-family=\"'Noto Sans CJK SC', 'PingFang SC', 'Microsoft YaHei', sans-serif\" font-size=\"{FONT}\">\n\
         <title>{}</title>\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{:.0}\" y=\"30\" text-anchor=\"middle\" font-size=\"{TITLE}\">{}</text>\n",
        escape(title),
        width / 2.0,
        escape(title)
    );
    let mut tick = 0;
    while tick <= top_fen {
        let y = y_of(tick);
        svg.push_str(&format!(
            "<line x1=\"{left:.0}\" y1=\"{y:.1}\" x2=\"{:.0}\" y2=\"{y:.1}\" stroke=\"#ddd\"/>\n\
             <text x=\"{:.0}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\n",
            width - 20.0,
            left - 6.0,
            y + 4.0,
            escape(&Fen::new(tick).to_string())
        ));
        tick += step;
    }
    for (index, group) in groups.iter().enumerate() {
        let centre = left + slot * (index as f64 + 0.5);
        let x0 = centre - bars / 2.0;
        for (s, value) in group.values_fen.iter().enumerate() {
            let y = y_of(*value);
            svg.push_str(&format!(
                "<rect x=\"{:.1}\" y=\"{y:.1}\" width=\"{BAR}\" height=\"{:.1}\" fill=\"{}\">\
                 <title>{} {}: {}</title></rect>\n",
                x0 + s as f64 * (BAR + 2.0),
                top + plot_height - y,
                COLOURS[s % COLOURS.len()],
                escape(&group.label),
                escape(series.get(s).copied().unwrap_or("")),
                escape(&Fen::new(*value).to_string())
            ));
        }
        svg.push_str(&format!(
            "<text x=\"{centre:.1}\" y=\"{:.0}\" text-anchor=\"middle\">{}</text>\n",
            top + plot_height + 18.0,
            escape(&label_of(group))
        ));
    }
    for (s, name, x, row) in legend {
        let y = top + plot_height + 36.0 + row * ROW;
        svg.push_str(&format!(
            "<rect x=\"{x:.0}\" y=\"{y:.0}\" width=\"12\" height=\"12\" fill=\"{}\"/>\
             <text x=\"{:.0}\" y=\"{:.0}\">{}</text>\n",
            COLOURS[s % COLOURS.len()],
            x + 16.0,
            y + 10.0,
            escape(name)
        ));
    }
    svg.push_str("</svg>\n");
    svg
}

/// A round tick step (1, 2 or 5 × 10ⁿ 元, in fen) giving at most ~6 ticks.
fn nice_step(max_fen: i64) -> i64 {
    let mut step: i64 = 100;
    loop {
        for factor in [1, 2, 5] {
            let candidate = step.saturating_mul(factor);
            if max_fen / candidate <= 6 {
                return candidate;
            }
        }
        step = step.saturating_mul(10);
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chart_labels_every_group_and_series_and_escapes_text() {
        let svg = bar_chart_svg(
            "按区县 <利用率>",
            &["已兑付", "已结算"],
            &[
                Group {
                    label: "定海区".into(),
                    values_fen: vec![150_000, 100_000],
                },
                Group {
                    label: "普陀区".into(),
                    values_fen: vec![50_000, 0],
                },
            ],
        );
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("定海区") && svg.contains("普陀区"));
        assert!(svg.contains("已兑付") && svg.contains("已结算"));
        assert!(svg.contains("&lt;利用率&gt;"));
        assert_eq!(svg.matches("<rect x=").count(), 4 + 2);
        assert!(svg.contains("¥1,500.00"));
    }

    /// Every text's extent (from its anchor and measured width) inside the
    /// chart's width and height.
    fn assert_no_text_clipped(svg: &str) {
        let number = |tag: &str, name: &str| -> f64 {
            let at = tag.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
            tag[at..].split('"').next().unwrap().parse().unwrap()
        };
        let head = svg.split('>').next().unwrap();
        let (width, height) = (number(head, "width"), number(head, "height"));
        for piece in svg.split("<text").skip(1) {
            let (tag, rest) = piece.split_once('>').unwrap();
            let text = rest.split("</text>").next().unwrap();
            let size = if tag.contains("font-size=") {
                number(tag, "font-size")
            } else {
                12.0
            };
            let w = text_width(text, size);
            let x = number(tag, "x");
            let (from, to) = if tag.contains("middle") {
                (x - w / 2.0, x + w / 2.0)
            } else if tag.contains("end") {
                (x - w, x)
            } else {
                (x, x + w)
            };
            assert!(
                from >= 0.0 && to <= width,
                "{text}: {from}..{to} outside 0..{width}"
            );
            assert!(number(tag, "y") <= height, "{text} below the chart");
        }
    }

    #[test]
    fn no_title_legend_or_label_is_clipped_however_few_the_groups() {
        let series = ["已发放", "已兑付", "已结算", "已支付"];
        let one = [Group {
            label: "定海区".into(),
            values_fen: vec![100_000; 4],
        }];
        let title = "ZS2026-E2E 资金使用情况（按区县）";
        let svg = bar_chart_svg(title, &series, &one);
        assert_no_text_clipped(&svg);
        for name in series {
            assert!(
                svg.contains(&format!(">{name}</text>")),
                "{name} in the legend"
            );
        }
        let long: Vec<Group> = (0..12)
            .map(|i| Group {
                label: format!("舟山群岛新区第{i}功能区"),
                values_fen: vec![i * 1_000_000; 4],
            })
            .collect();
        assert_no_text_clipped(&bar_chart_svg(&title.repeat(3), &series, &long));
    }

    #[test]
    fn ticks_are_round() {
        assert_eq!(nice_step(150_000), 50_000);
        assert_eq!(nice_step(1), 100);
        assert_eq!(nice_step(1_000_000_000), 200_000_000);
    }
}
