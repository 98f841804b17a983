//! The article format: a small front matter (`slug`, `category`, `title`, `tags`) between two
//! `---` lines, then a Markdown body. One file per language, `content/articles/<lang>/<slug>.md`,
//! the same slug in both languages.
//!
//! Parsing is strict on purpose — an unknown field, a missing title or a category outside the
//! fixed list is an error that names the problem — because articles are written by hand and a
//! typo should fail a test, not quietly drop an article from search. This module never touches
//! the index or renders HTML.

use std::fmt;

/// The categories an article may belong to; they mirror the help center's topics.
pub const CATEGORIES: [&str; 11] = [
    "login_failed",
    "funds_delayed",
    "cannot_trade",
    "account_security",
    "payment_failed",
    "contact_hours",
    "call_costs",
    "before_calling",
    "complaints",
    "phishing",
    "wallet_basics",
];

/// The languages the knowledge base is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Lang {
    /// Simplified Chinese, `zh-CN`.
    ZhCn,
    /// English, `en`.
    En,
}

impl Lang {
    /// Every language, in the order the help center lists them.
    pub const ALL: [Lang; 2] = [Lang::ZhCn, Lang::En];

    /// Reads a language tag as written in paths and APIs: exactly `zh-CN` or `en`.
    pub fn parse(tag: &str) -> Option<Lang> {
        match tag {
            "zh-CN" => Some(Lang::ZhCn),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The tag as written in paths and APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::ZhCn => "zh-CN",
            Lang::En => "en",
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One article in one language.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Article {
    pub slug: String,
    /// `zh-CN` or `en`.
    pub lang: String,
    /// One of [`CATEGORIES`].
    pub category: String,
    pub title: String,
    pub tags: Vec<String>,
    pub body_md: String,
}

/// Why a file is not a valid article, in the order the parser checks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArticleError {
    #[error("unknown language {0:?}: expected \"zh-CN\" or \"en\"")]
    UnknownLanguage(String),
    #[error("the file does not start with a front matter line \"---\"")]
    MissingFrontMatter,
    #[error("the front matter is not closed by a line \"---\"")]
    UnclosedFrontMatter,
    #[error("front matter line {line} is not \"key: value\": {text:?}")]
    MalformedLine { line: usize, text: String },
    #[error("unknown front matter field {0:?}: expected slug, category, title or tags")]
    UnknownField(String),
    #[error("front matter field {0:?} appears twice")]
    DuplicateField(String),
    #[error("front matter field {0:?} is missing or empty")]
    MissingField(&'static str),
    #[error("slug {0:?} must be lowercase ASCII letters, digits and '-'")]
    InvalidSlug(String),
    #[error("unknown category {0:?}: expected one of {CATEGORIES:?}")]
    UnknownCategory(String),
}

/// Parses one article file written in `lang`.
pub fn parse_article(lang: &str, text: &str) -> Result<Article, ArticleError> {
    let lang = Lang::parse(lang).ok_or_else(|| ArticleError::UnknownLanguage(lang.to_owned()))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);

    let mut lines = text.split_inclusive('\n');
    let mut consumed = match lines.next() {
        Some(first) if first.trim_end() == "---" => first.len(),
        _ => return Err(ArticleError::MissingFrontMatter),
    };

    let mut slug = None;
    let mut category = None;
    let mut title = None;
    let mut tags = None;
    let mut closed = false;
    for (number, line) in lines.enumerate() {
        consumed += line.len();
        let trimmed = line.trim();
        if trimmed == "---" {
            closed = true;
            break;
        }
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let Some((key, value)) = trimmed.split_once(':') else {
            return Err(ArticleError::MalformedLine {
                line: number + 2,
                text: trimmed.to_owned(),
            });
        };
        let slot = match key.trim() {
            "slug" => &mut slug,
            "category" => &mut category,
            "title" => &mut title,
            "tags" => &mut tags,
            other => return Err(ArticleError::UnknownField(other.to_owned())),
        };
        if slot.is_some() {
            return Err(ArticleError::DuplicateField(key.trim().to_owned()));
        }
        *slot = Some(value.trim().to_owned());
    }
    if !closed {
        return Err(ArticleError::UnclosedFrontMatter);
    }

    let slug = required(slug, "slug")?;
    if !slug
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(ArticleError::InvalidSlug(slug));
    }
    let category = required(category, "category")?;
    if !CATEGORIES.contains(&category.as_str()) {
        return Err(ArticleError::UnknownCategory(category));
    }
    let title = required(title, "title")?;
    // Chinese authors type the full-width comma or the enumeration comma as often as ',', and
    // none of them can be part of a tag.
    let tags = tags
        .unwrap_or_default()
        .split([',', '，', '、'])
        .map(str::trim)
        .filter(|tag| !tag.is_empty())
        .map(str::to_owned)
        .collect();

    Ok(Article {
        slug,
        lang: lang.as_str().to_owned(),
        category,
        title,
        tags,
        body_md: text[consumed..].trim_start_matches(['\r', '\n']).to_owned(),
    })
}

fn required(value: Option<String>, field: &'static str) -> Result<String, ArticleError> {
    value
        .filter(|value| !value.is_empty())
        .ok_or(ArticleError::MissingField(field))
}

/// An article file compiled into the binary: its language folder, file name and text.
#[derive(Clone, Copy, Debug)]
pub struct BuiltinFile {
    pub lang: &'static str,
    pub file_name: &'static str,
    pub text: &'static str,
}

/// Every file under `content/articles/{zh-CN,en}`, as it was when the crate was compiled.
pub fn builtin_files() -> impl Iterator<Item = BuiltinFile> {
    const FILES: &[(&str, &str, &str)] = include!(concat!(env!("OUT_DIR"), "/articles.rs"));
    FILES.iter().map(|&(lang, file_name, text)| BuiltinFile {
        lang,
        file_name,
        text,
    })
}

/// Every built-in article, parsed.
///
/// # Panics
///
/// When a built-in file is not a valid article, or is not named after its slug: the files are
/// ours and compiled in, so that is a bug, and the crate's tests fail on it before it ships.
pub fn builtin_articles() -> Vec<Article> {
    builtin_files()
        .map(|file| {
            let article = parse_article(file.lang, file.text).unwrap_or_else(|error| {
                panic!("content/articles/{}/{}: {error}", file.lang, file.file_name)
            });
            assert_eq!(
                format!("{}.md", article.slug),
                file.file_name,
                "content/articles/{}: the file is not named after its slug",
                file.lang
            );
            article
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "---\nslug: login-failed\ncategory: login_failed\ntitle: 登录不了怎么办？\ntags: 登录, 密码，验证码、锁定\n---\n\n正文 **加粗**。\n";

    #[test]
    fn a_good_file_parses() {
        let article = parse_article("zh-CN", GOOD).unwrap();
        assert_eq!(article.slug, "login-failed");
        assert_eq!(article.lang, "zh-CN");
        assert_eq!(article.category, "login_failed");
        assert_eq!(article.title, "登录不了怎么办？");
        assert_eq!(article.tags, ["登录", "密码", "验证码", "锁定"]);
        assert_eq!(article.body_md, "正文 **加粗**。\n");
    }

    #[test]
    fn windows_line_endings_and_a_bom_are_accepted() {
        let text = format!("\u{feff}{}", GOOD.replace('\n', "\r\n"));
        let article = parse_article("zh-CN", &text).unwrap();
        assert_eq!(article.title, "登录不了怎么办？");
        assert_eq!(article.body_md, "正文 **加粗**。\r\n");
    }

    #[test]
    fn a_colon_in_the_title_is_kept() {
        let text = GOOD.replace("登录不了怎么办？", "Fees: what a call costs");
        assert_eq!(
            parse_article("en", &text).unwrap().title,
            "Fees: what a call costs"
        );
    }

    #[test]
    fn missing_fields_are_named() {
        let no_slug = GOOD.replace("slug: login-failed\n", "");
        assert_eq!(
            parse_article("zh-CN", &no_slug),
            Err(ArticleError::MissingField("slug"))
        );
        let empty_title = GOOD.replace("title: 登录不了怎么办？", "title:");
        assert_eq!(
            parse_article("zh-CN", &empty_title),
            Err(ArticleError::MissingField("title"))
        );
        let no_category = GOOD.replace("category: login_failed\n", "");
        assert_eq!(
            parse_article("zh-CN", &no_category),
            Err(ArticleError::MissingField("category"))
        );
        let no_tags = GOOD.replace("tags: 登录, 密码，验证码、锁定\n", "");
        assert!(parse_article("zh-CN", &no_tags).unwrap().tags.is_empty());
    }

    #[test]
    fn unknown_category_language_and_field_are_refused() {
        let text = GOOD.replace("category: login_failed", "category: lottery");
        assert_eq!(
            parse_article("zh-CN", &text),
            Err(ArticleError::UnknownCategory("lottery".into()))
        );
        assert_eq!(
            parse_article("fr", GOOD),
            Err(ArticleError::UnknownLanguage("fr".into()))
        );
        let text = GOOD.replace("tags:", "author: me\ntags:");
        assert_eq!(
            parse_article("zh-CN", &text),
            Err(ArticleError::UnknownField("author".into()))
        );
        let text = GOOD.replace("tags:", "slug: again\ntags:");
        assert_eq!(
            parse_article("zh-CN", &text),
            Err(ArticleError::DuplicateField("slug".into()))
        );
    }

    #[test]
    fn broken_front_matter_is_refused() {
        assert_eq!(
            parse_article("en", "# Just markdown\n"),
            Err(ArticleError::MissingFrontMatter)
        );
        assert_eq!(
            parse_article("en", "---\nslug: a\ncategory: phishing\ntitle: T\n"),
            Err(ArticleError::UnclosedFrontMatter)
        );
        assert_eq!(
            parse_article("en", "---\nslug a\n---\n"),
            Err(ArticleError::MalformedLine {
                line: 2,
                text: "slug a".into()
            })
        );
        let text = GOOD.replace("slug: login-failed", "slug: Login Failed");
        assert_eq!(
            parse_article("zh-CN", &text),
            Err(ArticleError::InvalidSlug("Login Failed".into()))
        );
    }
}
