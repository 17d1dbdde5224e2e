//! The shape of a Chinese VAT invoice's identifiers, checked at input.
//!
//! A classic invoice (纸质/电子普通发票, 专用发票) has a 发票代码 of 10 or 12
//! digits and a 发票号码 of 8 digits; a fully digital invoice (全面数字化的
//! 电子发票, 数电票) has a 20-digit number and no code. Anything else is a
//! typing error — or a formula aimed at the finance officer's spreadsheet —
//! and is refused before it is recorded. Pure: no I/O.

/// Why an invoice's identifiers were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvoiceIdError {
    /// The number is not 8 or 20 digits.
    Number,
    /// The code is not 10 or 12 digits (or is missing on a classic invoice).
    Code,
}

impl InvoiceIdError {
    pub fn code(self) -> &'static str {
        match self {
            InvoiceIdError::Number => "invoice_number_invalid",
            InvoiceIdError::Code => "invoice_code_invalid",
        }
    }

    /// English and Chinese messages.
    pub fn messages(self) -> (&'static str, &'static str) {
        match self {
            InvoiceIdError::Number => (
                "invoice.number is 8 digits (a classic invoice) or 20 digits (a fully digital invoice, 数电票).",
                "发票号码（invoice.number）须为 8 位数字（普通/专用发票）或 20 位数字（数电票）。",
            ),
            InvoiceIdError::Code => (
                "invoice.code is 10 or 12 digits; only a fully digital invoice (20-digit number) has none.",
                "发票代码（invoice.code）须为 10 位或 12 位数字；只有数电票（20 位号码）没有发票代码。",
            ),
        }
    }
}

fn digits(text: &str, lengths: &[usize]) -> bool {
    lengths.contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit())
}

/// Checks a (code, number) pair, both already trimmed; an empty code means
/// none was given.
pub fn check(code: &str, number: &str) -> Result<(), InvoiceIdError> {
    if !digits(number, &[8, 20]) {
        return Err(InvoiceIdError::Number);
    }
    let fully_digital = number.len() == 20;
    if (code.is_empty() && !fully_digital) || (!code.is_empty() && !digits(code, &[10, 12])) {
        return Err(InvoiceIdError::Code);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classic_and_fully_digital_invoices_pass() {
        assert_eq!(check("033002600111", "00012345"), Ok(()));
        assert_eq!(check("3300261130", "12345678"), Ok(()));
        assert_eq!(check("", "26332000000012345678"), Ok(()));
        assert_eq!(check("033002600111", "26332000000012345678"), Ok(()));
    }

    #[test]
    fn anything_else_is_refused_naming_the_part() {
        for number in [
            "",
            "1234567",
            "123456789",
            "1234567890123456789",
            "E2E00001",
            "=HYPERLINK(\"http://evil.example/\")",
            "１２３４５６７８",
            "1234 5678",
        ] {
            assert_eq!(
                check("033002600111", number),
                Err(InvoiceIdError::Number),
                "{number:?}"
            );
        }
        for code in ["", "12345", "12345678901", "0330026001110", "03300260011x"] {
            assert_eq!(
                check(code, "00012345"),
                Err(InvoiceIdError::Code),
                "{code:?}"
            );
        }
    }
}
