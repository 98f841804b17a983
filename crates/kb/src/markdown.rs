//! Markdown in, two things out: sanitised HTML for the article page ([`render_markdown`]) and
//! plain text for the index and its snippets ([`plain_text`]).
//!
//! The HTML goes into pages unescaped, so it is always passed through ammonia after
//! pulldown-cmark: Markdown allows raw HTML, and an article (or an admin's edit of one) must not
//! be able to carry a script, an event handler or a `javascript:` link. The plain text never
//! contains Markdown syntax or link targets, so a search for "help" does not find every article
//! that links to `/help`.

use std::collections::HashSet;
use std::sync::LazyLock;

use pulldown_cmark::{html, Event, Options, Parser, Tag, TagEnd};

fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH
}

/// Ammonia's defaults (no scripts or styles, no event handlers, only safe URL schemes, links
/// get `rel="noopener noreferrer"`) plus the one style a Markdown table writes: column
/// alignment.
static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut builder = ammonia::Builder::default();
    builder
        .add_tag_attributes("th", ["style"])
        .add_tag_attributes("td", ["style"])
        .filter_style_properties(HashSet::from(["text-align"]));
    builder
});

/// Renders Markdown (tables and strikethrough included) to sanitised HTML.
pub fn render_markdown(md: &str) -> String {
    let mut unsafe_html = String::with_capacity(md.len() * 3 / 2);
    html::push_html(&mut unsafe_html, Parser::new_ext(md, options()));
    SANITIZER.clean(&unsafe_html).to_string()
}

/// The words a reader sees, without Markdown syntax, link targets or raw HTML tags. Blocks,
/// table cells and line breaks become single spaces, so words from two cells never run together.
pub fn plain_text(md: &str) -> String {
    let mut text = String::with_capacity(md.len());
    fn separate(text: &mut String) {
        if !text.is_empty() && !text.ends_with(' ') {
            text.push(' ');
        }
    }
    for event in Parser::new_ext(md, options()) {
        match event {
            Event::Text(words) | Event::Code(words) => text.push_str(&words),
            Event::SoftBreak | Event::HardBreak | Event::Rule => separate(&mut text),
            Event::Start(Tag::Item | Tag::TableCell) => separate(&mut text),
            Event::End(
                TagEnd::Paragraph
                | TagEnd::Heading(_)
                | TagEnd::Item
                | TagEnd::TableCell
                | TagEnd::TableRow
                | TagEnd::TableHead
                | TagEnd::CodeBlock
                | TagEnd::BlockQuote(_),
            ) => separate(&mut text),
            _ => {}
        }
    }
    text.truncate(text.trim_end().len());
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_handlers_and_javascript_links_are_removed() {
        let html = render_markdown(
            "Hi <script>alert(1)</script>\n\n<img src=x onerror=\"alert(2)\">\n\n[click](javascript:alert(3)) <a href=\"javascript:alert(4)\" onclick=\"alert(5)\">x</a>",
        );
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("alert(1)"), "{html}");
        assert!(!html.contains("onerror"), "{html}");
        assert!(!html.contains("onclick"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
    }

    #[test]
    fn links_get_noopener_noreferrer() {
        let html = render_markdown("[reset](/help/articles/forgot-password)");
        assert!(
            html.contains(
                r#"<a href="/help/articles/forgot-password" rel="noopener noreferrer">reset</a>"#
            ),
            "{html}"
        );
    }

    #[test]
    fn headings_lists_tables_code_and_emphasis_are_kept() {
        let md = "## 步骤\n\n1. **确认**网址\n2. *再试*\n\n- a\n\n| 状态 | 意思 |\n|:---|---|\n| 已发送 | `tx` |\n\n```\ncode\n```\n";
        let html = render_markdown(md);
        for part in [
            "<h2>步骤</h2>",
            "<ol>",
            "<ul>",
            "<strong>确认</strong>",
            "<em>再试</em>",
            "<table>",
            "<th style=\"text-align:left\">状态</th>",
            "<td style=\"text-align:left\">已发送</td>",
            "<code>tx</code>",
            "<pre><code>code\n</code></pre>",
        ] {
            assert!(html.contains(part), "{part} missing from {html}");
        }
    }

    #[test]
    fn a_style_other_than_alignment_is_dropped() {
        let html = render_markdown(
            "<table><tr><td style=\"background: url(x); text-align: right\">a</td></tr></table>",
        );
        assert!(!html.contains("background"), "{html}");
    }

    #[test]
    fn plain_text_has_no_syntax_or_link_targets() {
        let text = plain_text(
            "## Title\n\nSee [reset your password](/help/articles/forgot-password) **now**.\n\n| a | b |\n|---|---|\n| c | d |\n\n- one\n- two\n",
        );
        assert_eq!(text, "Title See reset your password now. a b c d one two");
    }
}
