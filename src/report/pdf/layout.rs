//! Table cells laid out into lines: text that may wrap wraps at character
//! boundaries (Chinese has no spaces to wait for), text that must stay whole
//! (an account number, a 券号, a sum) is set smaller until it fits and is
//! never cut. Pure: a `Measure` says how wide text is.

/// How wide `text` is at `size` points.
pub trait Measure {
    fn width(&self, text: &str, size: f32) -> f32;
}

impl Measure for super::face::Face {
    fn width(&self, text: &str, size: f32) -> f32 {
        super::face::Face::width(self, text, size)
    }
}

/// What a piece of text may do when it does not fit its column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    /// Break into as many lines as it needs.
    Wrap,
    /// Stay on one line, set smaller (down to `MIN_SIZE`) to fit.
    Whole,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
    Center,
}

/// A table column: heading, width in points, how its text fits, alignment.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub title: &'static str,
    pub width: f32,
    pub fit: Fit,
    pub align: Align,
}

/// The smallest size whole text is shrunk to; below it, it overflows its
/// column's padding rather than lose a character (never reached by the
/// widths the reports use: a test prints the longest values).
pub const MIN_SIZE: f32 = 4.5;
/// Space between a cell's border and its text, each side.
pub const PADDING: f32 = 2.0;
/// Line height as a multiple of the size.
pub const LEADING: f32 = 1.3;

/// One line of a laid-out cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub text: String,
    pub size: f32,
}

/// A cell's lines, top to bottom.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Cell {
    pub lines: Vec<Line>,
}

impl Cell {
    pub fn height(&self) -> f32 {
        self.lines.iter().map(|l| l.size * LEADING).sum()
    }
}

/// A row: one cell per column, and its height with padding.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub cells: Vec<Cell>,
    pub height: f32,
}

/// A cell's content: pieces that each start a new line, with their own fit
/// (the bank cell wraps the bank's name and keeps the account number whole).
pub type Pieces = Vec<(String, Fit)>;

/// Lays out one row at `size` points.
pub fn row(columns: &[Column], cells: &[Pieces], size: f32, measure: &impl Measure) -> Row {
    assert_eq!(columns.len(), cells.len(), "one cell per column");
    let cells: Vec<Cell> = columns
        .iter()
        .zip(cells)
        .map(|(column, pieces)| cell(pieces, column.width - 2.0 * PADDING, size, measure))
        .collect();
    let tallest = cells
        .iter()
        .map(Cell::height)
        .fold(size * LEADING, f32::max);
    Row {
        cells,
        height: tallest + 2.0 * PADDING,
    }
}

/// Text of one fit per column (the common case).
pub fn plain(columns: &[Column], texts: &[String]) -> Vec<Pieces> {
    columns
        .iter()
        .zip(texts)
        .map(|(column, text)| vec![(text.clone(), column.fit)])
        .collect()
}

fn cell(pieces: &Pieces, width: f32, size: f32, measure: &impl Measure) -> Cell {
    let mut lines = Vec::new();
    for (text, fit) in pieces {
        match fit {
            Fit::Whole => lines.push(Line {
                size: shrink_to_fit(text, width, size, measure),
                text: text.clone(),
            }),
            Fit::Wrap => lines.extend(
                wrap(text, width, size, measure)
                    .into_iter()
                    .map(|text| Line { text, size }),
            ),
        }
    }
    Cell { lines }
}

/// The size `text` must be set at to fit `width`: `size` if it fits, else
/// smaller in steps of a quarter point, never under `MIN_SIZE`.
pub fn shrink_to_fit(text: &str, width: f32, size: f32, measure: &impl Measure) -> f32 {
    let mut at = size;
    while at > MIN_SIZE && measure.width(text, at) > width {
        at -= 0.25;
    }
    at.max(MIN_SIZE)
}

/// Breaks `text` into lines no wider than `width`: a line ends at the last
/// space, slash or hyphen that fits when there is one in its second half
/// (so Latin words and account fields stay together), else at the last
/// character that fits. Every character is kept; a line has at least one.
pub fn wrap(text: &str, width: f32, size: f32, measure: &impl Measure) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut rest: Vec<char> = paragraph.chars().collect();
        loop {
            let whole: String = rest.iter().collect();
            if measure.width(&whole, size) <= width {
                lines.push(whole.trim_end().to_string());
                break;
            }
            let mut fits = 1;
            while fits < rest.len()
                && measure.width(&rest[..=fits].iter().collect::<String>(), size) <= width
            {
                fits += 1;
            }
            let soft = rest[..fits]
                .iter()
                .rposition(|c| matches!(c, ' ' | '/' | '-'))
                .filter(|&at| at + 1 > fits / 2 && at + 1 < fits)
                .map_or(fits, |at| at + 1);
            let line: String = rest.drain(..soft).collect();
            lines.push(line.trim_end().to_string());
            while rest.first() == Some(&' ') {
                rest.remove(0);
            }
            if rest.is_empty() {
                break;
            }
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every character one size wide.
    struct Mono;
    impl Measure for Mono {
        fn width(&self, text: &str, size: f32) -> f32 {
            text.chars().count() as f32 * size
        }
    }

    #[test]
    fn wrapping_keeps_every_character_and_respects_the_width() {
        let text = "舟山市定海区海洋经济管理咨询有限公司";
        let lines = wrap(text, 50.0, 10.0, &Mono);
        assert_eq!(lines, ["舟山市定海", "区海洋经济", "管理咨询有", "限公司"]);
        assert_eq!(lines.concat(), text);
        assert_eq!(wrap("短", 50.0, 10.0, &Mono), ["短"]);
        assert_eq!(wrap("", 50.0, 10.0, &Mono), [""]);
    }

    #[test]
    fn wrapping_prefers_a_space_or_slash_in_the_second_half() {
        assert_eq!(
            wrap("Zhoushan Consulting", 100.0, 10.0, &Mono),
            ["Zhoushan", "Consulting"]
        );
        assert_eq!(
            wrap("工商银行/张三", 50.0, 10.0, &Mono),
            ["工商银行/", "张三"]
        );
        // A slash too early would leave a stub: cut at the width instead.
        assert_eq!(
            wrap("a/bcdefghij", 50.0, 10.0, &Mono),
            ["a/bcd", "efghi", "j"]
        );
        // An explicit newline always breaks.
        assert_eq!(wrap("甲\n乙", 50.0, 10.0, &Mono), ["甲", "乙"]);
    }

    #[test]
    fn a_character_wider_than_the_column_still_gets_a_line() {
        assert_eq!(wrap("甲乙", 5.0, 10.0, &Mono), ["甲", "乙"]);
    }

    #[test]
    fn whole_text_shrinks_until_it_fits_and_never_below_the_minimum() {
        assert_eq!(shrink_to_fit("12345", 50.0, 8.0, &Mono), 8.0);
        assert_eq!(shrink_to_fit("1234567890", 50.0, 8.0, &Mono), 5.0);
        assert_eq!(shrink_to_fit(&"9".repeat(100), 50.0, 8.0, &Mono), MIN_SIZE);
    }

    #[test]
    fn a_row_is_as_tall_as_its_tallest_cell() {
        let columns = [
            Column {
                title: "名称",
                width: 54.0,
                fit: Fit::Wrap,
                align: Align::Left,
            },
            Column {
                title: "账号",
                width: 54.0,
                fit: Fit::Whole,
                align: Align::Right,
            },
        ];
        let cells = plain(
            &columns,
            &[
                "一二三四五六七八九十".to_string(),
                "6222020200112233445".to_string(),
            ],
        );
        let laid = row(&columns, &cells, 10.0, &Mono);
        assert_eq!(laid.cells[0].lines.len(), 2);
        assert_eq!(laid.cells[1].lines.len(), 1);
        assert_eq!(laid.cells[1].lines[0].text, "6222020200112233445");
        assert!(laid.cells[1].lines[0].size < 10.0);
        assert_eq!(laid.height, 2.0 * 10.0 * LEADING + 2.0 * PADDING);
    }
}
