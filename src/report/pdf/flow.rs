//! Content flowing down pages: paragraphs, tables whose header repeats on
//! every page they continue onto, and blocks kept together (totals, the
//! signature block). The page count is known only at the end, so page
//! numbers (第 n 页 / 共 N 页) are added by `finish`.

use super::draw::Mark;
use super::face::Face;
use super::layout::{self, Align, Column, LEADING, PADDING, Row};
use super::{BOTTOM, LEFT, PAGE_HEIGHT, PAGE_WIDTH, RIGHT, TOP};

/// Where the baseline of a line of `size` sits below the line's top.
fn baseline(size: f32) -> f32 {
    size * (LEADING - 1.0) / 2.0 + size * 0.88
}

/// Pages under construction and the current position on the last one.
pub struct Flow {
    pages: Vec<Vec<Mark>>,
    y: f32,
    /// Drawn at the top of every page after the first.
    running_head: String,
}

impl Flow {
    pub fn new(running_head: String) -> Flow {
        Flow {
            pages: vec![Vec::new()],
            y: TOP,
            running_head,
        }
    }

    pub fn width() -> f32 {
        PAGE_WIDTH - LEFT - RIGHT
    }

    fn room(&self) -> f32 {
        PAGE_HEIGHT - BOTTOM - self.y
    }

    fn marks(&mut self) -> &mut Vec<Mark> {
        self.pages.last_mut().expect("a flow always has a page")
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = TOP;
        let head = self.running_head.clone();
        self.line(&head, 7.0, Align::Left);
        let y = self.y + 1.0;
        self.rule(y, 0.4);
        self.y += 4.0;
    }

    /// Starts a new page unless `height` fits on this one (or this page is
    /// still empty: a block taller than a page goes on one anyway).
    pub fn keep(&mut self, height: f32) {
        if height > self.room() && self.y > TOP + 30.0 {
            self.new_page();
        }
    }

    pub fn space(&mut self, points: f32) {
        self.y += points;
    }

    /// One line of text across the page's width, aligned.
    pub fn line(&mut self, text: &str, size: f32, align: Align) {
        let width = Face::get().width(text, size);
        let x = match align {
            Align::Left => LEFT,
            Align::Right => PAGE_WIDTH - RIGHT - width,
            Align::Center => (PAGE_WIDTH - width) / 2.0,
        };
        let y = self.y;
        self.marks().push(Mark::Text {
            x,
            baseline: y + baseline(size),
            size,
            text: text.to_string(),
        });
        self.y += size * LEADING;
    }

    /// Text wrapped to the page's width.
    pub fn paragraph(&mut self, text: &str, size: f32) {
        for line in layout::wrap(text, Self::width(), size, Face::get()) {
            self.keep(size * LEADING);
            self.line(&line, size, Align::Left);
        }
    }

    /// Label-value pairs set side by side, as many to a line as fit; a pair
    /// breaks only if it alone is wider than the page.
    pub fn facts(&mut self, facts: &[String], size: f32) {
        const GAP: &str = "　　";
        let mut line = String::new();
        for fact in facts {
            let joined = if line.is_empty() {
                fact.clone()
            } else {
                format!("{line}{GAP}{fact}")
            };
            if line.is_empty() || Face::get().width(&joined, size) <= Self::width() {
                line = joined;
            } else {
                self.paragraph(&line, size);
                line = fact.clone();
            }
        }
        if !line.is_empty() {
            self.paragraph(&line, size);
        }
    }

    /// A horizontal rule across the page at `y`.
    fn rule(&mut self, y: f32, width: f32) {
        self.marks().push(Mark::Rule {
            from: (LEFT, y),
            to: (PAGE_WIDTH - RIGHT, y),
            width,
        });
    }

    /// A table: `header` shaded, then `rows`; on every page the table
    /// continues onto, the header is drawn again.
    pub fn table(&mut self, columns: &[Column], header: &Row, rows: impl IntoIterator<Item = Row>) {
        self.keep(header.height * 2.0);
        self.row(columns, header, true);
        for row in rows {
            if row.height > self.room() {
                self.new_page();
                self.row(columns, header, true);
            }
            self.row(columns, &row, false);
        }
    }

    /// Draws one row of cells with their borders at the current position.
    fn row(&mut self, columns: &[Column], row: &Row, shaded: bool) {
        let top = self.y;
        let mut x = LEFT;
        let mut marks = Vec::new();
        for (column, cell) in columns.iter().zip(&row.cells) {
            let rect = (x, top, column.width, row.height);
            if shaded {
                marks.push(Mark::Shade { rect });
            }
            marks.push(Mark::Frame { rect, width: 0.4 });
            let mut y = top + PADDING;
            for line in &cell.lines {
                let width = Face::get().width(&line.text, line.size);
                let inner = column.width - 2.0 * PADDING;
                let left = x + PADDING;
                let at = match column.align {
                    Align::Left => left,
                    Align::Right => left + (inner - width).max(0.0),
                    Align::Center => left + ((inner - width) / 2.0).max(0.0),
                };
                marks.push(Mark::Text {
                    x: at,
                    baseline: y + baseline(line.size),
                    size: line.size,
                    text: line.text.clone(),
                });
                y += line.size * LEADING;
            }
            x += column.width;
        }
        self.marks().extend(marks);
        self.y += row.height;
    }

    /// Signature and seal boxes side by side: each a label over an empty
    /// frame `height` tall.
    pub fn boxes(&mut self, labels: &[&str], height: f32) {
        let size = 8.0;
        self.keep(size * LEADING + 2.0 + height);
        let gap = 12.0;
        let width = (Self::width() - gap * (labels.len() as f32 - 1.0)) / labels.len() as f32;
        let top = self.y;
        for (index, label) in labels.iter().enumerate() {
            let x = LEFT + index as f32 * (width + gap);
            self.marks().push(Mark::Text {
                x: x + PADDING,
                baseline: top + baseline(size),
                size,
                text: (*label).to_string(),
            });
            self.marks().push(Mark::Frame {
                rect: (x, top + size * LEADING + 2.0, width, height),
                width: 0.5,
            });
        }
        self.y = top + size * LEADING + 2.0 + height;
    }

    /// The pages, each with `第 n 页 / 共 N 页` centred at its foot.
    pub fn finish(mut self) -> Vec<Vec<Mark>> {
        let total = self.pages.len();
        for (index, marks) in self.pages.iter_mut().enumerate() {
            let text = format!("第 {} 页 / 共 {total} 页", index + 1);
            let size = 8.0;
            let width = Face::get().width(&text, size);
            marks.push(Mark::Text {
                x: (PAGE_WIDTH - width) / 2.0,
                baseline: PAGE_HEIGHT - BOTTOM / 2.0,
                size,
                text,
            });
        }
        self.pages
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::pdf::layout::{Fit, plain};

    const COLUMNS: [Column; 2] = [
        Column {
            title: "名称",
            width: 300.0,
            fit: Fit::Wrap,
            align: Align::Left,
        },
        Column {
            title: "金额",
            width: 100.0,
            fit: Fit::Whole,
            align: Align::Right,
        },
    ];

    fn laid(texts: [&str; 2]) -> Row {
        let texts = texts.map(String::from);
        layout::row(&COLUMNS, &plain(&COLUMNS, &texts), 8.0, Face::get())
    }

    fn texts(page: &[Mark]) -> Vec<&str> {
        page.iter()
            .filter_map(|m| match m {
                Mark::Text { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_long_table_repeats_its_header_and_numbers_every_page() {
        let mut flow = Flow::new("兑付表（续）".into());
        flow.line("兑付表", 14.0, Align::Center);
        let header = laid(COLUMNS.map(|c| c.title));
        let rows: Vec<Row> = (0..200)
            .map(|n| laid([&format!("机构{n}"), "¥1.00"]))
            .collect();
        flow.table(&COLUMNS, &header, rows);
        let pages = flow.finish();
        assert!(pages.len() > 2, "{}", pages.len());
        let total = pages.len();
        for (index, page) in pages.iter().enumerate() {
            let texts = texts(page);
            assert_eq!(
                texts.iter().filter(|t| **t == "名称").count(),
                1,
                "page {index}"
            );
            assert!(texts.contains(&format!("第 {} 页 / 共 {total} 页", index + 1).as_str()));
            if index > 0 {
                assert_eq!(texts[0], "兑付表（续）");
            }
            // Nothing is drawn below the bottom margin.
            for mark in page {
                if let Mark::Text { baseline, text, .. } = mark {
                    assert!(*baseline <= PAGE_HEIGHT - BOTTOM / 2.0 + 0.01, "{text}");
                }
            }
        }
        let every: Vec<&str> = pages.iter().flat_map(|p| texts(p)).collect();
        for n in 0..200 {
            assert!(every.contains(&format!("机构{n}").as_str()));
        }
    }

    #[test]
    fn facts_break_between_pairs_not_inside_one() {
        let mut flow = Flow::new("续".into());
        let id = "批次：e1a713cf-76a9-81e9-9f33-8175c2c0cc32".to_string();
        let long = format!("项目：{}", "舟山市中小微企业服务券".repeat(8));
        flow.facts(&[long.clone(), id.clone(), "状态：已批准".into()], 8.0);
        let pages = flow.finish();
        let lines = texts(&pages[0]);
        assert_eq!(lines[0], long);
        assert_eq!(lines[1], format!("{id}　　状态：已批准"));
    }

    #[test]
    fn a_kept_block_moves_whole_to_the_next_page() {
        let mut flow = Flow::new("续".into());
        while flow.room() > 50.0 {
            flow.line("填充", 10.0, Align::Left);
        }
        flow.boxes(&["经办人签字", "单位盖章"], 60.0);
        let pages = flow.finish();
        assert_eq!(pages.len(), 2);
        assert!(texts(&pages[1]).contains(&"单位盖章"));
        assert!(!texts(&pages[0]).contains(&"经办人签字"));
    }
}
