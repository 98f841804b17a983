//! How text becomes search terms, per language. The same analyzer reads an article when it is
//! indexed, reads the question when it is asked, and finds the words to highlight in a snippet,
//! so the three always agree.
//!
//! - Chinese ([`ZH`]): jieba word segmentation in search mode (a long word is also emitted as its
//!   shorter dictionary words, so 客服热线 is found by 热线), then tokens without a letter or
//!   digit (punctuation, spaces) are dropped, Latin words lowercased and Chinese function words
//!   (的, 怎么, 吗…) removed. tantivy's `AlphaNumOnlyFilter` and `AsciiFoldingFilter` are ASCII
//!   filters and are not used here: the first would drop every Chinese token.
//! - Chinese character pairs ([`ZH_PAIRS`]): every two adjacent Chinese characters. Segmentation
//!   cuts a phrase differently in different sentences (没到账 → 没到/账 but 到账 alone → 到账),
//!   and colloquial questions rarely use the article's exact words; pairs still meet. They are a
//!   recall net with a low weight, never the main signal.
//! - English ([`EN`]): words split on anything not a letter or digit, lowercased, function
//!   words (the, my, how, can…) removed, then Snowball-stemmed, so "withdrawals" meets
//!   "withdrawal" and "logging in" meets "log in".
//! - English word pairs ([`EN_PAIRS`]): every two adjacent words, stemmed, function words kept.
//!   They reward an article whose title says the question's words in the question's order: "what
//!   is a passkey" over "my passkey doesn't work", "sign out" over "sign in". English's
//!   counterpart of the Chinese character pairs.
//! - English for matching synonyms ([`EN_PHRASE`]): stemmed words without stop-word removal, so
//!   "can't log in" is matched as a phrase and not as the single word "log".
//! - Phrase keys ([`phrase_key`], [`phrase_keys_within`]): a tag or synonym reduced to the form in
//!   which it is looked for inside a question, with every word kept (怎么提现 is a different
//!   question from 提现).

use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer,
    Token, TokenFilter, TokenStream, Tokenizer,
};
use tantivy_jieba::JiebaTokenizer;

use crate::article::Lang;

/// The registered name of the Chinese word analyzer.
pub const ZH: &str = "kb_zh";
/// The registered name of the Chinese character-pair analyzer.
pub const ZH_PAIRS: &str = "kb_zh_pairs";
/// The registered name of the English analyzer.
pub const EN: &str = "kb_en";
/// The registered name of the English word-pair analyzer.
pub const EN_PAIRS: &str = "kb_en_pairs";
/// The English analyzer without stop-word removal, used to match synonym phrases.
pub const EN_PHRASE: &str = "kb_en_phrase";

/// Longer tokens are noise (hashes, addresses, pasted keys), and tantivy refuses terms over
/// 65 530 bytes. 60 bytes is 20 Chinese characters or 60 Latin letters.
const TOKEN_BYTES_MAX: usize = 60;

/// Words that say how a question is asked, not what it is about. They are frequent in both
/// questions and titles ("…怎么办？"), so leaving them in would rank an article by its phrasing.
/// 什么 is not one of them: "X是什么" is answered by the article titled "什么是X".
#[rustfmt::skip]
const ZH_STOP_WORDS: &[&str] = &[
    "的", "了", "吗", "呢", "吧", "啊", "呀", "哦", "嘛", "么", "我", "我的", "我们", "你", "你的", "您",
    "您的", "他", "她", "它", "是", "在", "和", "与", "及", "或", "就", "都", "也", "还", "又", "很",
    "要", "会", "能", "可以", "想", "怎么", "怎么办", "怎样", "如何", "为什么", "为何", "哪", "哪里", "哪儿", "谁", "一个",
    "这个", "那个", "这", "那", "请问", "请", "被", "把", "让", "给", "对", "着", "过", "得", "地", "之",
    "该", "一下", "一直", "现在", "已经",
];

/// Characters that on their own mostly carry grammar. A pair made only of them (怎么, 我的,
/// 可以, 是什) says nothing about the topic, so no pair of two of them is indexed or searched.
const ZH_FUNCTION_CHARS: &str =
    "的了吗呢吧啊呀哦嘛么我你您他她它是在和与及或就都也还又很要会能可以想怎样如何什为哪谁个这那请问被把让给对着过得地之该";

/// Lucene's English stop words plus the pronouns, auxiliaries and question words people type
/// into a help search.
#[rustfmt::skip]
const EN_STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is",
    "it", "no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there", "these", "they",
    "this", "to", "was", "will", "with", "i", "im", "me", "my", "mine", "we", "our", "you", "your",
    "he", "she", "its", "them", "what", "which", "who", "whom", "how", "why", "when", "where", "do", "does",
    "did", "done", "can", "could", "would", "should", "may", "might", "must", "have", "has", "had", "am", "been",
    "being", "t", "s", "ve", "ll", "d", "re", "don", "didn", "doesn", "isn", "wasn", "won", "hasn",
    "haven", "so", "just", "still", "yet", "please", "there", "here", "some", "any", "from", "about",
];

/// The Chinese word analyzer.
pub fn zh() -> TextAnalyzer {
    TextAnalyzer::builder(JiebaTokenizer::new())
        .filter(WordsOnly)
        .filter(RemoveLongFilter::limit(TOKEN_BYTES_MAX))
        .filter(LowerCaser)
        .filter(StopWordFilter::remove(words(ZH_STOP_WORDS)))
        .build()
}

/// The Chinese character-pair analyzer.
pub fn zh_pairs() -> TextAnalyzer {
    TextAnalyzer::from(HanPairs)
}

/// The English analyzer.
pub fn en() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(TOKEN_BYTES_MAX))
        .filter(LowerCaser)
        .filter(StopWordFilter::remove(words(EN_STOP_WORDS)))
        .filter(Stemmer::new(Language::English))
        .build()
}

/// The English analyzer without stop-word removal.
pub fn en_phrase() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(TOKEN_BYTES_MAX))
        .filter(LowerCaser)
        .filter(Stemmer::new(Language::English))
        .build()
}

/// The English word-pair analyzer.
pub fn en_pairs() -> TextAnalyzer {
    TextAnalyzer::from(WordPairs(en_phrase()))
}

/// Every analyzer with its registered name.
pub fn all() -> [(&'static str, TextAnalyzer); 5] {
    [
        (ZH, zh()),
        (ZH_PAIRS, zh_pairs()),
        (EN, en()),
        (EN_PAIRS, en_pairs()),
        (EN_PHRASE, en_phrase()),
    ]
}

fn words(list: &[&str]) -> Vec<String> {
    list.iter().map(|word| (*word).to_owned()).collect()
}

/// The terms `analyzer` makes of `text`, in order, repeats included.
pub fn terms(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut terms = Vec::new();
    analyzer
        .token_stream(text)
        .process(&mut |token| terms.push(token.text.clone()));
    terms
}

/// The longest tag, in Chinese characters or English words, looked for inside a question.
const PHRASE_CHARS_MAX: usize = 12;
const PHRASE_WORDS_MAX: usize = 6;

/// A phrase as it is compared with the phrases inside a question: in Chinese its letters and
/// digits, lowercased, nothing else (spaces and punctuation are how it was typed, not what it
/// says); in English its stemmed words, function words included, separated by spaces.
pub fn phrase_key(lang: Lang, text: &str) -> String {
    match lang {
        Lang::ZhCn => text
            .chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect(),
        Lang::En => terms(&mut en_phrase(), text).join(" "),
    }
}

/// Every phrase key inside `text` that a tag could have: the keys of all its runs of characters
/// (at least two) for Chinese, of words for English.
pub fn phrase_keys_within(lang: Lang, text: &str) -> Vec<String> {
    let mut keys = Vec::new();
    match lang {
        Lang::ZhCn => {
            let chars: Vec<char> = phrase_key(lang, text).chars().collect();
            for start in 0..chars.len() {
                for end in start + 2..=chars.len().min(start + PHRASE_CHARS_MAX) {
                    keys.push(chars[start..end].iter().collect());
                }
            }
        }
        Lang::En => {
            let words = terms(&mut en_phrase(), text);
            for start in 0..words.len() {
                for end in start + 1..=words.len().min(start + PHRASE_WORDS_MAX) {
                    keys.push(words[start..end].join(" "));
                }
            }
        }
    }
    keys.sort();
    keys.dedup();
    keys
}

/// A character of a Han script block: these are the characters pairs are made of.
pub fn is_han(c: char) -> bool {
    matches!(c,
        '\u{4E00}'..='\u{9FFF}'     // CJK Unified Ideographs
        | '\u{3400}'..='\u{4DBF}'   // Extension A
        | '\u{F900}'..='\u{FAFF}'   // Compatibility Ideographs
        | '\u{20000}'..='\u{2EBEF}' // Extensions B–F
    )
}

/// Drops tokens that hold no letter or digit in any script — punctuation and the whitespace
/// tokens jieba emits between Latin words — and keeps Chinese ones, unlike tantivy's
/// ASCII-only `AlphaNumOnlyFilter`.
#[derive(Clone)]
struct WordsOnly;

impl TokenFilter for WordsOnly {
    type Tokenizer<T: Tokenizer> = WordsOnlyTokenizer<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> WordsOnlyTokenizer<T> {
        WordsOnlyTokenizer(tokenizer)
    }
}

#[derive(Clone)]
struct WordsOnlyTokenizer<T>(T);

impl<T: Tokenizer> Tokenizer for WordsOnlyTokenizer<T> {
    type TokenStream<'a> = WordsOnlyStream<T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        WordsOnlyStream(self.0.token_stream(text))
    }
}

struct WordsOnlyStream<S>(S);

impl<S: TokenStream> TokenStream for WordsOnlyStream<S> {
    fn advance(&mut self) -> bool {
        while self.0.advance() {
            if self.0.token().text.chars().any(char::is_alphanumeric) {
                return true;
            }
        }
        false
    }

    fn token(&self) -> &Token {
        self.0.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.0.token_mut()
    }
}

/// Every pair of adjacent Han characters; a Han character standing alone is emitted by itself.
/// Pairs (and lone characters) made only of [`ZH_FUNCTION_CHARS`] are skipped, and so is
/// everything that is not Han: the word analyzer already indexes it.
#[derive(Clone, Default)]
struct HanPairs;

impl Tokenizer for HanPairs {
    type TokenStream<'a> = ListStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> ListStream {
        let mut tokens = Vec::new();
        let mut run: Vec<(usize, char)> = Vec::new();
        let flush = |run: &mut Vec<(usize, char)>, tokens: &mut Vec<Token>| {
            let pairs: Vec<&[(usize, char)]> = if run.len() == 1 {
                vec![&run[..]]
            } else {
                run.windows(2).collect()
            };
            for pair in pairs {
                if pair.iter().all(|&(_, c)| ZH_FUNCTION_CHARS.contains(c)) {
                    continue;
                }
                let (start, _) = pair[0];
                let (last, c) = pair[pair.len() - 1];
                tokens.push(Token {
                    offset_from: start,
                    offset_to: last + c.len_utf8(),
                    position: tokens.len(),
                    text: pair.iter().map(|&(_, c)| c).collect(),
                    position_length: 1,
                });
            }
            run.clear();
        };
        for (offset, c) in text.char_indices() {
            if is_han(c) {
                run.push((offset, c));
            } else if !run.is_empty() {
                flush(&mut run, &mut tokens);
            }
        }
        if !run.is_empty() {
            flush(&mut run, &mut tokens);
        }
        ListStream {
            tokens,
            next: 0,
            token: Token::default(),
        }
    }
}

/// Every two adjacent words of what the inner analyzer makes of a text, joined by a space.
#[derive(Clone)]
struct WordPairs(TextAnalyzer);

impl Tokenizer for WordPairs {
    type TokenStream<'a> = ListStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> ListStream {
        let mut words: Vec<Token> = Vec::new();
        self.0
            .token_stream(text)
            .process(&mut |token| words.push(token.clone()));
        let tokens = words
            .windows(2)
            .enumerate()
            .map(|(position, pair)| Token {
                offset_from: pair[0].offset_from,
                offset_to: pair[1].offset_to,
                position,
                text: format!("{} {}", pair[0].text, pair[1].text),
                position_length: 1,
            })
            .collect();
        ListStream {
            tokens,
            next: 0,
            token: Token::default(),
        }
    }
}

/// A token stream over tokens computed up front.
struct ListStream {
    tokens: Vec<Token>,
    next: usize,
    token: Token,
}

impl TokenStream for ListStream {
    fn advance(&mut self) -> bool {
        match self.tokens.get_mut(self.next) {
            Some(token) => {
                self.token = std::mem::take(token);
                self.next += 1;
                true
            }
            None => false,
        }
    }

    fn token(&self) -> &Token {
        &self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.token
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_tokens_survive_the_chain() {
        let terms = terms(&mut zh(), "我的客服热线怎么打不通？USDT 充值");
        assert!(terms.contains(&"客服热线".to_owned()), "{terms:?}");
        assert!(terms.contains(&"热线".to_owned()), "{terms:?}");
        assert!(terms.contains(&"充值".to_owned()), "{terms:?}");
        assert!(terms.contains(&"usdt".to_owned()), "{terms:?}");
        for dropped in ["我的", "怎么", "？", " "] {
            assert!(
                !terms.contains(&dropped.to_owned()),
                "{dropped} in {terms:?}"
            );
        }
    }

    #[test]
    fn chinese_pairs_cover_every_adjacent_pair() {
        assert_eq!(
            terms(&mut zh_pairs(), "没到账! a 钱，我的钱怎么 我"),
            ["没到", "到账", "钱", "的钱", "钱怎"]
        );
    }

    #[test]
    fn phrase_keys_keep_every_word() {
        assert_eq!(phrase_key(Lang::ZhCn, "怎么 提现？"), "怎么提现");
        assert_eq!(phrase_key(Lang::En, "How to withdraw"), "how to withdraw");
        let within = phrase_keys_within(Lang::ZhCn, "我想怎么提现");
        assert!(within.contains(&"怎么提现".to_owned()));
        assert!(!within.iter().any(|key| key.chars().count() < 2));
        let within = phrase_keys_within(Lang::En, "So how to withdraw?");
        assert!(within.contains(&"how to withdraw".to_owned()));
        assert!(within.contains(&"withdraw".to_owned()));
    }

    #[test]
    fn english_pairs_keep_function_words_and_order() {
        assert_eq!(
            terms(&mut en_pairs(), "What is a passkey? Sign-out"),
            ["what is", "is a", "a passkey", "passkey sign", "sign out"]
        );
        assert!(terms(&mut en_pairs(), "alone").is_empty());
    }

    #[test]
    fn english_is_stemmed_and_function_words_dropped() {
        assert_eq!(terms(&mut en(), "Withdrawals"), ["withdraw"]);
        assert_eq!(terms(&mut en(), "withdrawal"), ["withdraw"]);
        assert_eq!(terms(&mut en(), "logging in"), terms(&mut en(), "log in"));
        assert_eq!(
            terms(&mut en(), "How can I reset my password?"),
            ["reset", "password"]
        );
        assert_eq!(
            terms(&mut en_phrase(), "Can't log in"),
            ["can", "t", "log", "in"]
        );
    }
}
