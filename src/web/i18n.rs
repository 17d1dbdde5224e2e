//! The portals' two languages: Chinese (zh-CN) by default, English on
//! request. The choice lives in a cookie so it survives logins; every text
//! a page shows is written next to its translation (`lang.t("登录",
//! "Log in")`), so neither language can be forgotten for one string.

use axum::http::HeaderMap;

/// Name of the cookie holding the chosen language.
pub const LANG_COOKIE: &str = "vl_lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    /// The language chosen by cookie; Chinese when none was chosen.
    pub fn of(headers: &HeaderMap) -> Lang {
        match crate::http::auth::cookie(headers, LANG_COOKIE) {
            Some("en") => Lang::En,
            _ => Lang::Zh,
        }
    }

    pub fn parse(text: &str) -> Option<Lang> {
        match text {
            "zh" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The `lang` attribute of the page.
    pub fn html_lang(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The other language, for the switch.
    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }

    /// Picks the text in this language.
    pub fn t<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    /// A count with its noun: `3 笔` in Chinese (a measure word has no
    /// plural), `1 line` / `3 lines` in English.
    pub fn count(self, n: i64, measure_zh: &str, one: &str, many: &str) -> String {
        match self {
            Lang::Zh => format!("{n} {measure_zh}"),
            Lang::En if n == 1 => format!("1 {one}"),
            Lang::En => format!("{n} {many}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_take_the_english_plural_and_the_chinese_measure_word() {
        assert_eq!(Lang::En.count(1, "笔", "line", "lines"), "1 line");
        assert_eq!(Lang::En.count(0, "笔", "line", "lines"), "0 lines");
        assert_eq!(Lang::En.count(2, "笔", "line", "lines"), "2 lines");
        assert_eq!(Lang::Zh.count(1, "笔", "line", "lines"), "1 笔");
    }
    use axum::http::header;

    #[test]
    fn chinese_is_the_default_and_the_cookie_switches_to_english() {
        let mut headers = HeaderMap::new();
        assert_eq!(Lang::of(&headers), Lang::Zh);
        headers.insert(header::COOKIE, "vl_lang=en".parse().unwrap());
        assert_eq!(Lang::of(&headers), Lang::En);
        assert_eq!(Lang::En.t("登录", "Log in"), "Log in");
        assert_eq!(Lang::Zh.t("登录", "Log in"), "登录");
        headers.insert(header::COOKIE, "vl_lang=fr".parse().unwrap());
        assert_eq!(Lang::of(&headers), Lang::Zh, "an unknown choice falls back");
        assert_eq!(Lang::parse("en"), Some(Lang::En));
        assert_eq!(Lang::parse("de"), None);
    }
}
