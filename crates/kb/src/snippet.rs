//! Highlighting: an article's title, and the passage of its body that best matches the question,
//! as HTML-escaped text with the matched words in `<mark>…</mark>`. The result goes into pages
//! unescaped, so every character of article text passes through [`escape`]; the only tags are
//! the `<mark>` pairs written here.
//!
//! tantivy's `SnippetGenerator` reads one field with one analyzer; a Chinese hit may have
//! matched through words or through character pairs, so the matches of several analyzers are
//! merged here, and the passage is measured in characters rather than bytes (a Chinese character
//! is three bytes).

use std::collections::BTreeMap;
use std::ops::Range;

use tantivy::tokenizer::{TextAnalyzer, TokenStream};

/// How much context to keep before the first match when no sentence starts near it.
const LEAD_CHARS: usize = 8;

/// Finds the question's terms in a text: through an analyzer (English: the text's words are
/// stemmed before they can be compared), or literally (Chinese: a word or character pair is
/// found as it is written, which needs no segmentation of the text and is much faster).
#[derive(Default)]
pub struct Highlighter {
    finders: Vec<(Finder, BTreeMap<String, f32>)>,
}

enum Finder {
    Analyzed(TextAnalyzer),
    Literal,
}

/// One matched term in the text.
struct Mark {
    bytes: Range<usize>,
    /// Index into the highlighter's term list, to count each term once per passage.
    term: usize,
    weight: f32,
}

impl Highlighter {
    /// Looks for `terms` (analyzed terms with their weights) among the terms `analyzer` makes of
    /// a text.
    pub fn add_analyzed(&mut self, analyzer: TextAnalyzer, terms: BTreeMap<String, f32>) {
        if !terms.is_empty() {
            self.finders.push((Finder::Analyzed(analyzer), terms));
        }
    }

    /// Looks for `terms` (lowercase, with their weights) as written in a text, ignoring ASCII
    /// case. A term of one character is not looked for: a lone Latin letter is inside every
    /// word, and a lone Chinese character inside many (钱 in every OK钱包).
    pub fn add_literal(&mut self, mut terms: BTreeMap<String, f32>) {
        terms.retain(|term, _| term.chars().nth(1).is_some());
        if !terms.is_empty() {
            self.finders.push((Finder::Literal, terms));
        }
    }

    fn marks(&self, text: &str) -> Vec<Mark> {
        let mut marks = Vec::new();
        let mut first_term = 0;
        // ASCII lowercasing keeps every byte offset, so offsets in it are offsets in `text`.
        let mut lowercase = None;
        for (finder, terms) in &self.finders {
            match finder {
                Finder::Analyzed(analyzer) => {
                    let mut analyzer = analyzer.clone();
                    let mut stream = analyzer.token_stream(text);
                    while let Some(token) = stream.next() {
                        if let Some((index, (_, weight))) = terms
                            .iter()
                            .enumerate()
                            .find(|(_, (term, _))| **term == token.text)
                        {
                            marks.push(Mark {
                                bytes: token.offset_from..token.offset_to,
                                term: first_term + index,
                                weight: *weight,
                            });
                        }
                    }
                }
                Finder::Literal => {
                    let lowercase: &str =
                        lowercase.get_or_insert_with(|| text.to_ascii_lowercase());
                    for (index, (term, weight)) in terms.iter().enumerate() {
                        for (start, found) in lowercase.match_indices(term.as_str()) {
                            marks.push(Mark {
                                bytes: start..start + found.len(),
                                term: first_term + index,
                                weight: *weight,
                            });
                        }
                    }
                }
            }
            first_term += terms.len();
        }
        marks.sort_by_key(|mark| (mark.bytes.start, mark.bytes.end));
        marks
    }

    /// The whole `text`, escaped, with every match marked.
    pub fn whole(&self, text: &str) -> String {
        let marks = self.marks(text);
        render(text, 0..text.len(), &marks)
    }

    /// About `chars_max` characters of `text` around its best matches, escaped, with the matches
    /// marked and `…` where the text was cut. Without any match, the beginning of the text.
    pub fn passage(&self, text: &str, chars_max: usize) -> String {
        let marks = self.marks(text);
        let starts: Vec<usize> = text.char_indices().map(|(offset, _)| offset).collect();
        let char_at = |byte: usize| starts.partition_point(|&start| start < byte);
        let byte_at = |char: usize| starts.get(char).copied().unwrap_or(text.len());

        // Every match is tried as the first of a passage; the passage that holds the most
        // weight of distinct terms wins, the earliest among equals.
        let mut best: Option<(f32, usize)> = None;
        for (i, first) in marks.iter().enumerate() {
            let start = lead_in(text, &starts, char_at(first.bytes.start), chars_max / 3);
            let end = byte_at(start + chars_max);
            let mut seen: Vec<usize> = Vec::new();
            let mut score = 0.0;
            for mark in marks[i..].iter().take_while(|mark| mark.bytes.end <= end) {
                if !seen.contains(&mark.term) {
                    seen.push(mark.term);
                    score += mark.weight;
                }
            }
            if best.is_none_or(|(best_score, _)| score > best_score) {
                best = Some((score, start));
            }
        }

        let start_char = best.map_or(0, |(_, start)| start);
        let end_char = (start_char + chars_max).min(starts.len());
        let bytes = byte_at(start_char)..byte_at(end_char);
        let mut html = String::new();
        if bytes.start > 0 {
            html.push('…');
        }
        html.push_str(render(text, bytes.clone(), &marks).trim());
        if bytes.end < text.len() {
            html.push('…');
        }
        html
    }
}

/// Where a passage whose first match is at `match_char` starts: at the beginning of that
/// match's sentence if it is at most `lead_max` characters back, otherwise a few characters
/// before the match, after a space if there is one (English words are not cut).
fn lead_in(text: &str, starts: &[usize], match_char: usize, lead_max: usize) -> usize {
    let chars: Vec<char> = text[starts[match_char.saturating_sub(lead_max)]..]
        .chars()
        .take(match_char.min(lead_max))
        .collect();
    let earliest = match_char - chars.len();
    if let Some(end) = chars.iter().rposition(|&c| is_sentence_end(c)) {
        return earliest + end + 1;
    }
    if earliest == 0 {
        return 0;
    }
    let lead = chars.len().min(LEAD_CHARS);
    let tail = &chars[chars.len() - lead..];
    match tail.iter().position(|c| c.is_whitespace()) {
        Some(space) => match_char - lead + space + 1,
        None => match_char - lead,
    }
}

fn is_sentence_end(c: char) -> bool {
    matches!(c, '。' | '！' | '？' | '；' | '.' | '!' | '?' | ';' | '\n')
}

/// `text[bytes]`, escaped, with the marks inside it wrapped in `<mark>`. Overlapping and
/// touching marks become one (segmentation in search mode emits 客服热线 and 热线 both).
fn render(text: &str, bytes: Range<usize>, marks: &[Mark]) -> String {
    let mut merged: Vec<Range<usize>> = Vec::new();
    for mark in marks {
        let start = mark.bytes.start.max(bytes.start);
        let end = mark.bytes.end.min(bytes.end);
        if start >= end {
            continue;
        }
        match merged.last_mut() {
            Some(last) if start <= last.end => last.end = last.end.max(end),
            _ => merged.push(start..end),
        }
    }
    let mut html = String::with_capacity(bytes.len() + merged.len() * 13);
    let mut at = bytes.start;
    for range in merged {
        escape(&text[at..range.start], &mut html);
        html.push_str("<mark>");
        escape(&text[range.clone()], &mut html);
        html.push_str("</mark>");
        at = range.end;
    }
    escape(&text[at..bytes.end], &mut html);
    html
}

/// Escapes the five characters that could end a text node or an attribute value.
pub fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis;

    fn weights(terms: &[&str]) -> BTreeMap<String, f32> {
        terms.iter().map(|term| ((*term).to_owned(), 1.0)).collect()
    }

    fn highlighter(analyzer: TextAnalyzer, terms: &[&str]) -> Highlighter {
        let mut highlighter = Highlighter::default();
        highlighter.add_analyzed(analyzer, weights(terms));
        highlighter
    }

    fn literal(terms: &[&str]) -> Highlighter {
        let mut highlighter = Highlighter::default();
        highlighter.add_literal(weights(terms));
        highlighter
    }

    #[test]
    fn adjacent_and_overlapping_matches_become_one_mark() {
        let h = literal(&["客服", "热线", "客服热线"]);
        assert_eq!(h.whole("拨打客服热线吧"), "拨打<mark>客服热线</mark>吧");
        let h = highlighter(analysis::zh(), &["客服", "热线", "客服热线"]);
        assert_eq!(h.whole("拨打客服热线吧"), "拨打<mark>客服热线</mark>吧");
    }

    #[test]
    fn the_passage_holds_the_most_distinct_terms_and_starts_at_a_sentence() {
        let text = "First sentence about nothing. Second one mentions fees in passing, among many other words that matter less. Third sentence talks about withdrawal fees and limits together. The last sentence goes on with unrelated words to fill the space.";
        let h = highlighter(analysis::en(), &["withdraw", "fee", "limit"]);
        let passage = h.passage(text, 90);
        assert!(passage.starts_with("…Third sentence talks"), "{passage}");
        assert!(
            passage.contains("<mark>withdrawal</mark> <mark>fees</mark>"),
            "{passage}"
        );
        assert!(passage.ends_with('…'), "{passage}");
    }

    #[test]
    fn literal_terms_ignore_ascii_case_and_skip_lone_characters() {
        let h = literal(&["usdt", "t", "充值"]);
        assert_eq!(
            h.whole("USDT 充值 at"),
            "<mark>USDT</mark> <mark>充值</mark> at"
        );
    }

    #[test]
    fn without_a_match_the_passage_is_the_beginning() {
        let h = highlighter(analysis::en(), &["nothing-matches"]);
        assert_eq!(h.passage("a < b & c", 5), "a &lt; b…");
        assert_eq!(h.passage("short", 50), "short");
    }

    #[test]
    fn chinese_passages_are_measured_in_characters() {
        let text = "第一句话没有关系。第二句讲的是充值需要多少确认数，然后就能看到余额。第三句。";
        let h = literal(&["确认"]);
        let passage = h.passage(text, 40);
        assert_eq!(
            passage,
            "…第二句讲的是充值需要多少<mark>确认</mark>数，然后就能看到余额。第三句。"
        );
        let passage = h.passage(text, 16);
        assert_eq!(passage, "…值需要多少<mark>确认</mark>数，然后就能看到余…");
    }
}
