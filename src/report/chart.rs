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

/// A grouped bar chart of amounts in 元 with a title, a legend and a
/// labelled y axis.
pub fn bar_chart_svg(title: &str, series: &[&str], groups: &[Group]) -> String {
    let width = 160.0 + groups.len().max(1) as f64 * (series.len() as f64 * 18.0 + 24.0);
    let height = 420.0;
    let (left, top, bottom) = (90.0, 60.0, 80.0);
    let plot_height = height - top - bottom;
    let max_fen = groups
        .iter()
        .flat_map(|g| g.values_fen.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1);
    let step = nice_step(max_fen);
    let top_fen = (max_fen + step - 1) / step * step;
    let y_of = |fen: i64| top + plot_height * (1.0 - fen as f64 / top_fen as f64);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" \
         viewBox=\"0 0 {width:.0} {height:.0}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <title>{}</title>\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{:.0}\" y=\"28\" text-anchor=\"middle\" font-size=\"16\">{}</text>\n",
        escape(title),
        width / 2.0,
        escape(title)
    );
    let mut tick = 0;
    while tick <= top_fen {
        let y = y_of(tick);
        svg.push_str(&format!(
            "<line x1=\"{left}\" y1=\"{y:.1}\" x2=\"{:.0}\" y2=\"{y:.1}\" stroke=\"#ddd\"/>\n\
             <text x=\"{:.0}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\n",
            width - 20.0,
            left - 6.0,
            y + 4.0,
            escape(&Fen::new(tick).to_string())
        ));
        tick += step;
    }
    for (index, group) in groups.iter().enumerate() {
        let x0 = left + 12.0 + index as f64 * (series.len() as f64 * 18.0 + 24.0);
        for (s, value) in group.values_fen.iter().enumerate() {
            let y = y_of(*value);
            svg.push_str(&format!(
                "<rect x=\"{:.1}\" y=\"{y:.1}\" width=\"16\" height=\"{:.1}\" fill=\"{}\">\
                 <title>{} {}: {}</title></rect>\n",
                x0 + s as f64 * 18.0,
                top + plot_height - y,
                COLOURS[s % COLOURS.len()],
                escape(&group.label),
                escape(series.get(s).copied().unwrap_or("")),
                escape(&Fen::new(*value).to_string())
            ));
        }
        let label = if group.label.is_empty() {
            "—"
        } else {
            &group.label
        };
        svg.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.0}\" text-anchor=\"middle\">{}</text>\n",
            x0 + series.len() as f64 * 9.0,
            top + plot_height + 18.0,
            escape(label)
        ));
    }
    for (s, name) in series.iter().enumerate() {
        let x = left + s as f64 * 120.0;
        svg.push_str(&format!(
            "<rect x=\"{x:.0}\" y=\"{:.0}\" width=\"12\" height=\"12\" fill=\"{}\"/>\
             <text x=\"{:.0}\" y=\"{:.0}\">{}</text>\n",
            height - 34.0,
            COLOURS[s % COLOURS.len()],
            x + 16.0,
            height - 24.0,
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

    #[test]
    fn ticks_are_round() {
        assert_eq!(nice_step(150_000), 50_000);
        assert_eq!(nice_step(1), 100);
        assert_eq!(nice_step(1_000_000_000), 200_000_000);
    }
}
