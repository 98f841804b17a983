//! The two languages okwallet answers in, and choosing one from `Accept-Language`.
//!
//! Pure: negotiation reads a header value and nothing else. This module never holds message
//! texts; those live next to the codes they explain (the problem catalogue in `error`).

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::header::ACCEPT_LANGUAGE;
use axum::http::request::Parts;
use axum::http::HeaderMap;

/// A language okwallet can answer in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Lang {
    /// English, the answer to every language we do not speak.
    #[default]
    En,
    /// Simplified Chinese.
    ZhCn,
}

impl Lang {
    /// The BCP 47 tag, as sent in `Content-Language`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::ZhCn => "zh-CN",
        }
    }

    /// The language a single BCP 47 tag names, if we speak it. `zh` without a region or script
    /// is taken as Simplified Chinese because that is what most such clients send; Traditional
    /// tags (`zh-TW`, `zh-Hant`) are not, since their readers should not get a script they did
    /// not ask for.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let tag = tag.trim().to_ascii_lowercase();
        let mut subtags = tag.split(['-', '_']);
        match (subtags.next(), subtags.next()) {
            (Some("en"), _) => Some(Lang::En),
            (Some("zh"), None | Some("cn" | "hans" | "sg")) => Some(Lang::ZhCn),
            _ => None,
        }
    }

    /// Picks the language from an `Accept-Language` value: the supported language with the
    /// highest quality, the earlier one on a tie, English when nothing we speak is acceptable.
    pub fn negotiate(accept_language: Option<&str>) -> Lang {
        let Some(value) = accept_language else {
            return Lang::default();
        };
        let mut best: Option<(u16, Lang)> = None;
        for item in value.split(',') {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or("").trim();
            let Some(quality) = parts
                .map(str::trim)
                .find_map(|p| p.strip_prefix("q="))
                .map_or(Some(1000), parse_quality)
            else {
                continue;
            };
            if quality == 0 {
                continue;
            }
            let lang = if tag == "*" {
                Some(Lang::default())
            } else {
                Lang::from_tag(tag)
            };
            if let Some(lang) = lang {
                if best.is_none_or(|(q, _)| quality > q) {
                    best = Some((quality, lang));
                }
            }
        }
        best.map(|(_, lang)| lang).unwrap_or_default()
    }

    /// The language a request's headers ask for: the one the person chose on a page (the
    /// `okw_lang` cookie), else the best match for `Accept-Language`.
    pub fn from_headers(headers: &HeaderMap) -> Lang {
        if let Some(chosen) = cookie(headers, LANG_COOKIE).and_then(Lang::from_tag) {
            return chosen;
        }
        Lang::negotiate(headers.get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()))
    }

    /// Chooses between the English and the Chinese version of a text.
    pub fn pick<T>(self, en: T, zh_cn: T) -> T {
        match self {
            Lang::En => en,
            Lang::ZhCn => zh_cn,
        }
    }
}

/// The cookie that remembers the language someone picked on a page.
pub const LANG_COOKIE: &str = "okw_lang";

/// The value of the first cookie called `name` in the request's `Cookie` headers.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.trim_matches('"'))
}

/// A quality value in thousandths (`q=0.5` → 500); `None` for one that is not a number in 0..=1,
/// which makes the whole entry ignored as RFC 9110 asks of invalid syntax.
fn parse_quality(text: &str) -> Option<u16> {
    let q: f32 = text.trim().parse().ok()?;
    if !(0.0..=1.0).contains(&q) {
        return None;
    }
    Some((q * 1000.0).round() as u16)
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Lang, Infallible> {
        Ok(Lang::from_headers(&parts.headers))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_tags_we_speak_pick_chinese() {
        for header in [
            "zh",
            "zh-CN",
            "zh-Hans",
            "zh-Hans-CN",
            "zh-cn",
            "ZH-CN,en;q=0.8",
        ] {
            assert_eq!(Lang::negotiate(Some(header)), Lang::ZhCn, "{header}");
        }
    }

    #[test]
    fn a_chosen_language_beats_the_header() {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT_LANGUAGE, "en".parse().unwrap());
        headers.insert(
            axum::http::header::COOKIE,
            "a=1; okw_lang=zh-CN; b=2".parse().unwrap(),
        );
        assert_eq!(Lang::from_headers(&headers), Lang::ZhCn);
        headers.insert(axum::http::header::COOKIE, "okw_lang=xx".parse().unwrap());
        assert_eq!(Lang::from_headers(&headers), Lang::En);
    }

    #[test]
    fn everything_else_is_english() {
        for header in [
            "",
            "en",
            "en-US",
            "fr",
            "zh-TW",
            "zh-Hant",
            "*",
            "de, ja;q=0.9",
            "q=1",
        ] {
            assert_eq!(Lang::negotiate(Some(header)), Lang::En, "{header}");
        }
        assert_eq!(Lang::negotiate(None), Lang::En);
    }

    #[test]
    fn quality_values_decide() {
        assert_eq!(Lang::negotiate(Some("zh;q=0.1, en;q=0.9")), Lang::En);
        assert_eq!(Lang::negotiate(Some("en;q=0.4, zh-CN;q=0.8")), Lang::ZhCn);
        assert_eq!(
            Lang::negotiate(Some("fr, zh-CN;q=0.5")),
            Lang::ZhCn,
            "unsupported tags are skipped"
        );
        assert_eq!(
            Lang::negotiate(Some("zh-CN;q=0, en;q=0.1")),
            Lang::En,
            "q=0 refuses a language"
        );
        assert_eq!(
            Lang::negotiate(Some("zh-CN;q=2, en;q=0.1")),
            Lang::En,
            "an invalid q is ignored"
        );
        assert_eq!(
            Lang::negotiate(Some("en, zh-CN")),
            Lang::En,
            "ties go to the earlier entry"
        );
    }
}
