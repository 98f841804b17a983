//! Synonym groups: people ask "钱没到" where the article says "到账延迟", and "can't sign in"
//! where it says "log in". `content/synonyms.txt` (compiled in) holds one group per line, terms
//! separated by ` | `, `#` starting a comment. When a question contains a term of a group, the
//! search also looks for the group's other terms, with a lower weight than the words the person
//! actually typed (how much lower, and that a group counts once, is [`crate::index`]'s business).
//!
//! A term is found in a question as a phrase, never as loose words: a Chinese term as a run of
//! the question's characters, punctuation and spaces ignored (钱没到 is found in 钱，没到？ but
//! not in 钱怎么没到), an English term as a run of stemmed words ("can't log in" is found in
//! "I can't logging in" but not in "log in, can't"). This module only matches text; it never
//! touches the index.

use std::sync::LazyLock;

use tantivy::tokenizer::TextAnalyzer;

use crate::analysis::{self, is_han};

const BUILTIN: &str = include_str!("../../../content/synonyms.txt");

/// A line of the synonyms file that is not a group.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("synonyms line {line}: a group needs at least two terms separated by \" | \": {text:?}")]
pub struct SynonymsError {
    pub line: usize,
    pub text: String,
}

/// Parsed synonym groups, ready to match questions.
#[derive(Clone)]
pub struct Synonyms {
    groups: Vec<Vec<Term>>,
    phrase_analyzer: TextAnalyzer,
}

#[derive(Clone, Debug)]
struct Term {
    text: String,
    matcher: Matcher,
}

#[derive(Clone, Debug)]
enum Matcher {
    /// Compared character by character after dropping everything but letters and digits.
    Han(String),
    /// Compared as a run of stemmed English words.
    Words(Vec<String>),
}

impl Synonyms {
    /// The groups in `content/synonyms.txt` as compiled in.
    ///
    /// # Panics
    ///
    /// When the compiled-in file has a malformed line: the file is ours, and the crate's tests
    /// parse it before it ships.
    pub fn builtin() -> &'static Synonyms {
        static BUILTIN_SYNONYMS: LazyLock<Synonyms> = LazyLock::new(|| {
            Synonyms::parse(BUILTIN).unwrap_or_else(|error| panic!("content/synonyms.txt: {error}"))
        });
        &BUILTIN_SYNONYMS
    }

    /// Parses a synonyms file.
    pub fn parse(text: &str) -> Result<Synonyms, SynonymsError> {
        let mut phrase_analyzer = analysis::en_phrase();
        let mut groups = Vec::new();
        for (number, line) in text.lines().enumerate() {
            let line = line
                .split_once('#')
                .map_or(line, |(before, _)| before)
                .trim();
            if line.is_empty() {
                continue;
            }
            let group: Vec<Term> = line
                .split('|')
                .map(str::trim)
                .filter(|term| !term.is_empty())
                .filter_map(|term| Term::new(term, &mut phrase_analyzer))
                .collect();
            if group.len() < 2 {
                return Err(SynonymsError {
                    line: number + 1,
                    text: line.to_owned(),
                });
            }
            groups.push(group);
        }
        Ok(Synonyms {
            groups,
            phrase_analyzer,
        })
    }

    /// How many groups there are.
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    /// Whether there is no group.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// For every group one of whose terms `query` contains, the group's other terms — each
    /// term once over all groups, and none that the query contains.
    pub fn expand(&self, query: &str) -> Vec<Vec<&str>> {
        let han_query = letters_and_digits(query);
        let word_query = analysis::terms(&mut self.phrase_analyzer.clone(), query);
        let found = |term: &Term| match &term.matcher {
            Matcher::Han(han) => han_query.contains(han.as_str()),
            Matcher::Words(words) => word_query
                .windows(words.len())
                .any(|window| window == words.as_slice()),
        };
        let mut added: Vec<&str> = Vec::new();
        let mut groups = Vec::new();
        for group in &self.groups {
            if !group.iter().any(found) {
                continue;
            }
            let mut others = Vec::new();
            for term in group {
                if !found(term) && !added.contains(&term.text.as_str()) {
                    added.push(&term.text);
                    others.push(term.text.as_str());
                }
            }
            if !others.is_empty() {
                groups.push(others);
            }
        }
        groups
    }
}

impl Term {
    /// `None` for a term with no letter or digit, which could never be found.
    fn new(text: &str, phrase_analyzer: &mut TextAnalyzer) -> Option<Term> {
        let matcher = if text.chars().any(is_han) {
            Matcher::Han(letters_and_digits(text))
        } else {
            let words = analysis::terms(phrase_analyzer, text);
            if words.is_empty() {
                return None;
            }
            Matcher::Words(words)
        };
        Some(Term {
            text: text.to_owned(),
            matcher,
        })
    }
}

fn letters_and_digits(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "# comment\n钱没到 | 到账延迟 | 没到账  # trailing\n\ncan't log in | cannot log in | login failed | unable to sign in\n";

    #[test]
    fn groups_are_parsed_and_comments_skipped() {
        let synonyms = Synonyms::parse(SAMPLE).unwrap();
        assert_eq!(synonyms.len(), 2);
        assert_eq!(
            Synonyms::parse("a | b\nlonely\n").err(),
            Some(SynonymsError {
                line: 2,
                text: "lonely".into()
            })
        );
    }

    #[test]
    fn a_chinese_term_expands_to_its_group() {
        let synonyms = Synonyms::parse(SAMPLE).unwrap();
        assert_eq!(
            synonyms.expand("我的钱没到，怎么办"),
            [["到账延迟", "没到账"]]
        );
        assert_eq!(synonyms.expand("充值没到账"), [["钱没到", "到账延迟"]]);
        assert!(synonyms.expand("钱到了").is_empty());
    }

    #[test]
    fn an_english_term_matches_as_a_stemmed_phrase() {
        let synonyms = Synonyms::parse(SAMPLE).unwrap();
        assert_eq!(
            synonyms.expand("I CAN'T logging in!"),
            [["cannot log in", "login failed", "unable to sign in"]]
        );
        assert!(synonyms.expand("log out").is_empty());
        assert!(synonyms.expand("in log can't").is_empty());
    }

    #[test]
    fn the_builtin_file_parses_and_has_the_required_groups() {
        let builtin = Synonyms::builtin();
        let synonyms = SynonymsFlat(builtin);
        assert!(synonyms.expand("钱没到").contains(&"未到账"));
        assert!(synonyms.expand("登不上").contains(&"无法登录"));
        assert!(synonyms
            .expand("can't log in")
            .contains(&"unable to sign in"));
        assert!(synonyms.expand("提不了币").contains(&"提现失败"));
        assert!(synonyms.expand("被骗了").contains(&"假客服"));
        assert!(synonyms.expand("打电话").contains(&"客服电话"));
        assert!(synonyms.expand("收费吗").contains(&"话费"));
    }

    struct SynonymsFlat<'a>(&'a Synonyms);

    impl SynonymsFlat<'_> {
        fn expand(&self, query: &str) -> Vec<&str> {
            self.0.expand(query).into_iter().flatten().collect()
        }
    }
}
