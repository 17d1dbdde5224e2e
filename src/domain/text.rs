//! The one rule for free text that crosses the boundary.
//!
//! Every string a caller sends — JSON body fields, query parameters, form
//! fields (which reach the API as JSON) and import cells — is checked here
//! before it is parsed into a request type, so a new field cannot forget
//! it and both backends see the same text (Postgres refuses NUL where
//! SQLite stores it). Refused, with the field's name:
//!
//! - NUL and the other C0 controls (tab and line feed are allowed only in
//!   multi-line fields; a carriage return only before a line feed, as
//!   browsers send textareas, and is then dropped), DEL and the C1
//!   controls (U+007F–U+009F): `text_control_character`;
//! - bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069),
//!   which make a name read differently from what it is, and the byte
//!   order mark / zero-width no-break space U+FEFF: `text_format_character`;
//!
//! A value with nothing visible — only whitespace and zero-width
//! characters (U+200B–U+200D, U+2060) — is accepted as the empty string,
//! so the field's own "required" check refuses it with that field's code
//! (`field_required`, `reason_required`, …) exactly as it refuses an empty
//! value, and an optional field stores nothing invisible.
//!
//! Pure: no I/O. docs/api.md lists the rule and its codes.

/// Whether a field may hold several lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextShape {
    Line,
    MultiLine,
}

/// Field names whose values may span lines (descriptions, reasons, notes).
/// Every other field is one line.
const MULTI_LINE_FIELDS: [&str; 6] = [
    "description",
    "reason",
    "note",
    "memo",
    "address",
    "qr_text",
];

impl TextShape {
    /// The shape of the field called `name` (the last part of its path).
    pub fn of_field(name: &str) -> TextShape {
        if MULTI_LINE_FIELDS.contains(&name) {
            TextShape::MultiLine
        } else {
            TextShape::Line
        }
    }
}

/// Why a text was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextFault {
    /// A control character (its code point).
    Control(char),
    /// A bidi override/isolate or a byte order mark.
    Format(char),
}

impl TextFault {
    /// Stable code for API bodies and import reports.
    pub fn code(self) -> &'static str {
        match self {
            TextFault::Control(_) => "text_control_character",
            TextFault::Format(_) => "text_format_character",
        }
    }

    /// What is wrong with field `field`, in English and Chinese.
    pub fn messages(self, field: &str) -> (String, String) {
        match self {
            TextFault::Control(c) => (
                format!(
                    "{field} contains a control character (U+{:04X}); only printable text is accepted.",
                    u32::from(c)
                ),
                format!(
                    "{field} 含有控制字符（U+{:04X}），只接受可打印的文字。",
                    u32::from(c)
                ),
            ),
            TextFault::Format(c) => (
                format!(
                    "{field} contains an invisible formatting character (U+{:04X}) that can disguise text.",
                    u32::from(c)
                ),
                format!(
                    "{field} 含有可能伪装文字的不可见格式字符（U+{:04X}）。",
                    u32::from(c)
                ),
            ),
        }
    }
}

/// Zero-width characters that count as nothing when deciding whether a
/// value is blank.
fn is_zero_width(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}')
}

/// Whether `value` shows nothing: only whitespace and zero-width
/// characters (the empty string included).
pub fn is_blank(value: &str) -> bool {
    value.chars().all(|c| c.is_whitespace() || is_zero_width(c))
}

fn is_bidi_or_bom(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// Checks `value` against the rule for a field of `shape`.
pub fn check(value: &str, shape: TextShape) -> Result<(), TextFault> {
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        let allowed_control = match c {
            '\n' | '\t' => shape == TextShape::MultiLine,
            '\r' => shape == TextShape::MultiLine && chars.peek() == Some(&'\n'),
            _ => false,
        };
        if c.is_control() && !allowed_control {
            return Err(TextFault::Control(c));
        }
        if is_bidi_or_bom(c) {
            return Err(TextFault::Format(c));
        }
    }
    Ok(())
}

/// Checks `value` and returns what is stored instead of it, if anything
/// differs: the empty string for a blank value, line breaks as `\n` alone.
pub fn accept(value: &str, shape: TextShape) -> Result<Option<String>, TextFault> {
    check(value, shape)?;
    if !value.is_empty() && is_blank(value) {
        return Ok(Some(String::new()));
    }
    Ok(value.contains('\r').then(|| value.replace("\r\n", "\n")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_text_in_any_script_passes() {
        for text in [
            "舟山市定海区海洋科技有限公司",
            "O'Brien & Søn GmbH",
            "👩‍💻 family: 👨‍👩‍👧",
            "",
            "a b",
        ] {
            assert_eq!(check(text, TextShape::Line), Ok(()), "{text:?}");
        }
    }

    #[test]
    fn controls_are_refused_and_line_breaks_only_where_multi_line() {
        assert_eq!(
            check("a\u{0}b", TextShape::MultiLine),
            Err(TextFault::Control('\u{0}'))
        );
        assert_eq!(
            check("\u{1b}[31mred", TextShape::Line),
            Err(TextFault::Control('\u{1b}'))
        );
        assert_eq!(
            check("a\u{85}b", TextShape::Line),
            Err(TextFault::Control('\u{85}'))
        );
        assert_eq!(
            check("a\u{7f}", TextShape::Line),
            Err(TextFault::Control('\u{7f}'))
        );
        assert_eq!(
            check("one\ntwo", TextShape::Line),
            Err(TextFault::Control('\n'))
        );
        assert_eq!(
            check("a\tb", TextShape::Line),
            Err(TextFault::Control('\t'))
        );
        assert_eq!(check("one\ntwo\tthree", TextShape::MultiLine), Ok(()));
        assert_eq!(check("one\r\ntwo", TextShape::MultiLine), Ok(()));
        assert_eq!(
            check("one\rtwo", TextShape::MultiLine),
            Err(TextFault::Control('\r'))
        );
    }

    #[test]
    fn bidi_overrides_isolates_and_byte_order_marks_are_refused() {
        for c in [
            '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}',
            '\u{2068}', '\u{2069}', '\u{FEFF}',
        ] {
            let text = format!("abc{c}fdp.exe");
            assert_eq!(
                check(&text, TextShape::MultiLine),
                Err(TextFault::Format(c))
            );
        }
    }

    #[test]
    fn values_with_nothing_visible_are_accepted_as_empty() {
        for text in [
            " ",
            "\u{200B}",
            "\u{200B}\u{200C}\u{200D} \u{2060}",
            "\u{3000}",
        ] {
            assert!(is_blank(text), "{text:?}");
            assert_eq!(accept(text, TextShape::Line), Ok(Some(String::new())));
        }
        assert_eq!(
            accept("\n\n", TextShape::MultiLine),
            Ok(Some(String::new()))
        );
        // A zero-width joiner inside visible text is part of it.
        assert!(!is_blank("a\u{200D}b"));
        assert_eq!(accept("a\u{200D}b", TextShape::Line), Ok(None));
        assert_eq!(accept("", TextShape::Line), Ok(None));
    }

    #[test]
    fn accepted_text_keeps_line_feeds_only() {
        assert_eq!(
            accept("a\r\nb", TextShape::MultiLine),
            Ok(Some("a\nb".into()))
        );
        assert_eq!(accept("a\nb", TextShape::MultiLine), Ok(None));
        assert!(accept("a\r\nb", TextShape::Line).is_err());
    }

    #[test]
    fn every_fault_has_a_code_and_both_messages() {
        for fault in [TextFault::Control('\u{0}'), TextFault::Format('\u{202E}')] {
            assert!(fault.code().starts_with("text_"));
            let (en, zh) = fault.messages("name");
            assert!(en.starts_with("name ") && zh.starts_with("name "));
        }
    }
}
