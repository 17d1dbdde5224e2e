//! Keyset pagination for the list endpoints keyed by text (users by
//! username, balances by account, enterprises and providers by USCC,
//! programmes by code): `?after=<last key of the previous page>&limit=N`.
//! Keyset rather than offset, so a page never skips or repeats rows while
//! others are inserted.

use serde::Deserialize;
use utoipa::ToSchema;

/// Rows per page when `limit` is not given.
pub const PAGE_DEFAULT: u32 = 50;
/// Most rows per page.
pub const PAGE_MAX: u32 = 200;

/// The query of a text-keyed list.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyPage {
    /// Cursor: the last key of the previous page (absent: from the start).
    pub after: Option<String>,
    /// Rows per page, 1–200 (default 50; out-of-range values are clamped).
    pub limit: Option<u32>,
}

impl KeyPage {
    pub fn after(&self) -> &str {
        self.after.as_deref().unwrap_or("")
    }

    pub fn limit(&self) -> u32 {
        self.limit.unwrap_or(PAGE_DEFAULT).clamp(1, PAGE_MAX)
    }

    /// The cursor of the page after `found`: its last key when the page was
    /// full, else none (this was the last page).
    pub fn next_cursor<T>(&self, found: &[T], key: impl Fn(&T) -> &str) -> Option<String> {
        (found.len() == self.limit() as usize)
            .then(|| found.last().map(|row| key(row).to_string()))
            .flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(after: Option<&str>, limit: Option<u32>) -> KeyPage {
        KeyPage {
            after: after.map(str::to_string),
            limit,
        }
    }

    #[test]
    fn limits_are_defaulted_and_clamped() {
        assert_eq!(page(None, None).limit(), 50);
        assert_eq!(page(None, Some(0)).limit(), 1);
        assert_eq!(page(None, Some(10_000)).limit(), 200);
        assert_eq!(page(None, None).after(), "");
        assert_eq!(page(Some("b"), None).after(), "b");
    }

    #[test]
    fn only_a_full_page_has_a_next_cursor() {
        let full = page(None, Some(2));
        assert_eq!(full.next_cursor(&["a", "b"], |s| s), Some("b".into()));
        assert_eq!(full.next_cursor(&["a"], |s| s), None);
    }
}
