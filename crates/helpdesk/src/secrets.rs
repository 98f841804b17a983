//! Secrets that a customer or an agent types into a chat message, a ticket reply or a note —
//! recovery phrases, private keys, one-time codes and card numbers — found and masked before
//! the text is stored or shown. Nobody at the help desk ever needs them, and a secret that
//! reached the database is one we can no longer promise to have forgotten.
//!
//! # Rules
//! Text is read as *tokens*: runs of ASCII letters and digits, runs of Han characters, and
//! single other characters. Between tokens lie *separators*: whitespace and punctuation
//! (ASCII, and the full-width `，。、；：？！（）【】「」『』《》“”‘’·・…—–～`). `•` is neither a
//! separator nor part of a token: it is what masks are made of, so it breaks every run.
//!
//! - **Seed phrase** (BIP-39). Words of a run are joined by separators and at most one
//!   *numbering* token (one or two ASCII digits: `1. abandon 2) ability (3) able`).
//!   - English: 12 to 24 consecutive words of a run of words of the English list (in any
//!     case), of which at most one is a *typo* (5 to 9 letters, one deletion, insertion,
//!     substitution or swap of neighbours away from a list word) and at most a quarter are
//!     *function words* ([`FUNCTION_WORDS`]: the list's pronouns, determiners, auxiliaries,
//!     prepositions, conjunctions, common adverbs and the politeness of chat — `you`, `this`,
//!     `can`, `about`, `please`). Every word of a run must be a list word or a typo, so prose
//!     ends a run at its first ordinary word; but many list words are common, and a chat
//!     line like `Please keep this window open; you can also add more detail below, such as`
//!     is 13 list words in a row. Prose cannot do without function words; a phrase, drawn
//!     uniformly from 2048 words, has 4 of those 77 in 12 about once in 1,300 phrases. Shorter
//!     typos are not allowed because the short words of prose are one letter from a list word
//!     (`not`, `your`). The checksum is not checked, because people mistype; a phrase with one
//!     wrong word still gives away all the others. Everything in such a stretch is masked, so
//!     a phrase glued to a few list words of prose takes them along.
//!   - Chinese, spaced: at least 12 single Han characters in a row, each a word of the
//!     Simplified Chinese list (or each of the Traditional Chinese list), one per token
//!     (`的 一 是 在 …`, `1.的 2.一 …`). Prose does not put a space after every character.
//!   - Chinese, unspaced: a Han run bounded by non-Han characters (`助记词：…，`) of exactly 12,
//!     15, 18, 21 or 24 characters, all of one list, that passes the BIP-39 checksum, and at
//!     least half of whose characters are outside the list's 512 most common ones (the list is
//!     ordered by frequency). Most of a Chinese sentence is list characters, so the checksum
//!     alone lets one 12-character clause in 16 through — in our own articles it passed
//!     `不要点击邮件里的任何链接`; a real phrase is drawn uniformly from the list, and 98.5% of
//!     12-word phrases have half their characters past the 512th, while no clause of our
//!     articles that passed the checksum had more than 5 of 12. A phrase glued to other Han
//!     characters (`助记词是的一是…`) is not found: nothing tells where it starts.
//! - **Private key**:
//!   - 64 hex digits as a whole token, with or without `0x`, unless it is a transaction hash:
//!     one of `tx`, `hash`, `transaction`, `block`, `哈希`, `交易id`, `交易号`, `区块`
//!     (Latin case-insensitive; this covers `txid`, `TxHash`, `/tx/` in an explorer link and
//!     `交易哈希`) appears in the 20 characters before it, or it follows such a hash with only
//!     separators between (a list of hashes). Those 20 characters are read as they will be
//!     stored, with the secrets before them masked and `•` not counted: a word inside a secret
//!     (a phrase's typo can read `block`, Base58 keys spell anything) is no context.
//!     Customers paste hashes for support to look at; a key has the same shape, so the words
//!     around it decide. `0x` with 40 hex digits is an address and not a secret.
//!   - WIF: a token of 51 or 52 Base58 characters whose Base58Check checksum holds and whose
//!     payload is version `0x80` (mainnet) or `0xEF` (testnet) and a 32-byte key, followed by
//!     `0x01` when compressed.
//!   - Extended private key: a token of 100 to 120 Base58 characters that decodes with a valid
//!     checksum to the 78 bytes of a BIP-32 key whose key data begins with `0x00`: `xprv`,
//!     `tprv`, `yprv`, `zprv` and every other version. Extended public keys (`xpub`, key data
//!     beginning `02` or `03`) are not secrets.
//! - **Numbers**. A number is digit groups (ASCII or full-width digits) joined by one space or
//!   one dash. Its first group is dropped when glued to an ASCII letter, after `+` (a phone's
//!   country code), a currency sign, or `.` `,` `:` `/` following a digit (the tail of an
//!   amount, time or date), or when it is what a card mask keeps (after `•••• •••• •••• `);
//!   its last group is dropped when glued to an ASCII letter or followed by `.` `,` `:` `/`
//!   and a digit. A number glued to `•`, or with only `.` `,` `:` `/` between, is left alone
//!   whole: it stood next to something masked. So `2024-12-05`, `09:00-18:00`, `¥1,000.50`
//!   and `+86 138 0013 8000` are never a secret.
//!   - **Card number**: consecutive groups of a number, joined by one kind of separator, with
//!     13 to 19 digits in all, that pass the Luhn check and start like a card of a known
//!     network with its lengths: Visa `4` (13, 16, 19), Mastercard `51`–`55` and
//!     `2221`–`2720` (16), American Express `34`, `37` (15), UnionPay `62`, Discover `6011`
//!     and `65`, JCB `3528`–`3589` (16 to 19). The longest such card from the leftmost group
//!     is taken first, so an expiry or a CVV typed after it does not hide it.
//!   - **One-time code**: what is left of a number outside cards, joined by spaces only, with
//!     4 to 8 digits (`493027`, `884 122`), when a code word ends at most 12 characters
//!     before it or begins at most 3 characters after it, with neither digits, `•`, a newline
//!     nor `，。！？；,.!?;` between. Code words: `验证码` `校验码` `动态码` `动态口令`
//!     `短信码` `一次性密码` `谷歌验证` (and their Traditional forms), and, as whole words in any
//!     case, `2FA`, `OTP`, `authenticator` and `code` — but not `code` after `error`,
//!     `status`, `zip`, `postal`, `area`, `country`, `promo`, `referral`, `invite`, `reference`
//!     and the like, whose codes are not secrets and which support needs to read.
//!
//! When found secrets overlap, the one that starts first wins, and the longer of two that
//! start together.
//!
//! # Masks
//! A secret is replaced by [`HIDDEN`] (`••••••`), whatever its kind and length, so the mask
//! tells nothing about it; a card by [`CARD_HIDDEN`] and its last 4 digits
//! (`•••• •••• •••• 1234`), which is all a customer and an agent need to agree on which card
//! is meant. The first 6 digits that PCI DSS would also allow are not kept: they name the
//! issuer, and with the last 4 and the Luhn digit they leave only 100,000 numbers to try —
//! too much for text that many people read and that is kept for years. Masks are made of `•`,
//! so they read the same in Chinese and English; the pages tell the reader what was hidden,
//! in their language, from [`Masked::kinds`]. Masking what is already masked changes nothing.
//!
//! This module never does I/O and never returns any part of a secret except a card's last 4
//! digits. It reads the text a few times over, looking around each candidate by a few words
//! or characters, with the word lists indexed once per process, so it can run on every
//! message.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use bip39::{Language, Mnemonic};
use serde::{Deserialize, Serialize};

/// What was found. The order is the order of [`Masked::kinds`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretKind {
    SeedPhrase,
    PrivateKey,
    OneTimeCode,
    CardNumber,
}

/// A secret in a text: its kind and its byte range (`text[start..end]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    pub kind: SecretKind,
    pub start: usize,
    pub end: usize,
}

/// A text with its secrets replaced, and the kinds that were (each once, in [`SecretKind`]'s
/// order), for the notice the pages show next to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Masked {
    pub text: String,
    pub kinds: Vec<SecretKind>,
}

/// What replaces a seed phrase, a private key or a one-time code.
pub const HIDDEN: &str = "••••••";

/// What replaces a card number, before its last 4 digits.
pub const CARD_HIDDEN: &str = "•••• •••• •••• ";

/// Finds the secrets in `text` (see the module's rules): sorted, never overlapping.
pub fn find(text: &str) -> Vec<Found> {
    let chars: Vec<char> = text.chars().collect();
    let mut offsets: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
    offsets.push(text.len());
    spans(&chars)
        .into_iter()
        .map(|s| Found {
            kind: s.kind,
            start: offsets[s.start],
            end: offsets[s.end],
        })
        .collect()
}

/// Replaces the secrets in `text` (see the module's masks).
pub fn mask(text: &str) -> Masked {
    let chars: Vec<char> = text.chars().collect();
    let spans = spans(&chars);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for span in &spans {
        out.extend(&chars[at..span.start]);
        out.push_str(&span.mask(&chars));
        at = span.end;
    }
    out.extend(&chars[at..]);
    let mut kinds: Vec<SecretKind> = spans.iter().map(|s| s.kind).collect();
    kinds.sort();
    kinds.dedup();
    Masked { text: out, kinds }
}

/// A secret by character positions.
struct Span {
    kind: SecretKind,
    start: usize,
    end: usize,
}

impl Span {
    fn new(kind: SecretKind, start: usize, end: usize) -> Self {
        Span { kind, start, end }
    }

    /// What replaces it.
    fn mask(&self, chars: &[char]) -> String {
        if self.kind != SecretKind::CardNumber {
            return HIDDEN.to_owned();
        }
        let digits: Vec<u8> = chars[self.start..self.end]
            .iter()
            .filter_map(|&c| digit(c))
            .collect();
        let mut out = CARD_HIDDEN.to_owned();
        out.extend(
            digits[digits.len() - 4..]
                .iter()
                .map(|d| char::from(b'0' + d)),
        );
        out
    }
}

/// The secrets of a text, sorted and never overlapping.
fn spans(chars: &[char]) -> Vec<Span> {
    let mut spans = Vec::new();
    seed_phrases(chars, &mut spans);
    numbers(chars, &mut spans);
    let others = settle(spans);
    // Keys come last: whether 64 hex digits are a hash depends on the words before them as
    // they will be stored, with the other secrets masked.
    let keys = keys(chars, &others);
    settle(others.into_iter().chain(keys).collect())
}

/// Sorts spans and drops those that overlap an earlier one (the one that starts first wins,
/// and the longer of two that start together).
fn settle(mut spans: Vec<Span>) -> Vec<Span> {
    spans.sort_by_key(|s| (s.start, std::cmp::Reverse(s.end)));
    let mut settled: Vec<Span> = Vec::with_capacity(spans.len());
    for span in spans {
        if settled.last().is_none_or(|last| last.end <= span.start) {
            settled.push(span);
        }
    }
    settled
}

/// The ASCII digit for an ASCII or full-width digit.
fn digit(c: char) -> Option<u8> {
    match c {
        '0'..='9' => Some(c as u8 - b'0'),
        '\u{FF10}'..='\u{FF19}' => Some((c as u32 - 0xFF10) as u8),
        _ => None,
    }
}

fn is_separator(c: char) -> bool {
    c.is_whitespace()
        || c.is_ascii_punctuation()
        || "，。、；：？！（）【】「」『』《》“”‘’·・…—–～".contains(c)
}

fn is_han(c: char) -> bool {
    matches!(c,
        '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{2FFFF}')
}

// Seed phrases.

/// Each Han character of the Chinese lists, with its index in the Simplified and in the
/// Traditional list. `Language::find_word` searches those lists linearly.
static HAN_WORDS: LazyLock<HashMap<char, [Option<u16>; 2]>> = LazyLock::new(|| {
    let mut map: HashMap<char, [Option<u16>; 2]> = HashMap::new();
    let lists = [Language::SimplifiedChinese, Language::TraditionalChinese];
    for (l, language) in lists.into_iter().enumerate() {
        for (i, word) in language.word_list().iter().enumerate() {
            let mut chars = word.chars();
            if let (Some(c), None) = (chars.next(), chars.next()) {
                map.entry(c).or_default()[l] = Some(i as u16);
            }
        }
    }
    map
});

/// How a run of ASCII letters reads as a BIP-39 English word.
#[derive(Clone, Copy, PartialEq, Eq)]
enum English {
    Word,
    FunctionWord,
    Typo,
    Other,
}

/// The words of the English list that prose is built with: pronouns, determiners,
/// auxiliaries, prepositions, conjunctions, common adverbs, and the politeness of chat.
/// Sorted, for a binary search.
pub const FUNCTION_WORDS: [&str; 77] = [
    "about", "above", "across", "again", "all", "almost", "already", "also", "always", "among",
    "another", "any", "around", "because", "become", "before", "behind", "below", "between",
    "beyond", "can", "during", "either", "else", "enough", "few", "have", "hello", "inside",
    "into", "just", "keep", "make", "more", "much", "must", "myself", "near", "neither", "never",
    "nothing", "now", "off", "often", "okay", "once", "one", "only", "other", "outside", "over",
    "please", "rather", "same", "since", "someone", "soon", "sorry", "still", "such", "thank",
    "that", "then", "there", "they", "this", "together", "toward", "under", "until", "upon",
    "very", "what", "when", "where", "will", "you",
];

/// How many words a seed phrase has, at least and at most.
const PHRASE_WORDS_MIN: usize = 12;
const PHRASE_WORDS_MAX: usize = 24;

fn is_english_word(lower: &[u8]) -> bool {
    lower.len() <= 8
        && std::str::from_utf8(lower).is_ok_and(|w| Language::English.find_word(w).is_some())
}

/// The shortest and longest typo of a list word that a phrase may hold. Shorter ones are
/// everywhere in prose: `not` is one letter from `note`, `your` from `you`.
const TYPO_LETTERS: std::ops::RangeInclusive<usize> = 5..=9;

/// Every list word with one letter left out, and with one letter replaced by `?`: a token is
/// a typo of a list word when it is one of the first (a letter left out), one letter left
/// out of it is a list word (one let in), or it matches one of the second (one replaced).
static TYPO_KEYS: LazyLock<HashSet<Vec<u8>>> = LazyLock::new(|| {
    let mut keys = HashSet::new();
    for word in Language::English.word_list() {
        let word = word.as_bytes();
        for i in 0..word.len() {
            let mut shorter = word.to_vec();
            shorter.remove(i);
            keys.insert(shorter);
            let mut wildcard = word.to_vec();
            wildcard[i] = b'?';
            keys.insert(wildcard);
        }
    }
    keys
});

/// Whether one deletion, insertion, substitution or swap of neighbours turns `lower` (not a
/// list word) into a list word.
fn is_english_typo(lower: &[u8]) -> bool {
    let n = lower.len();
    if !TYPO_LETTERS.contains(&n) {
        return false;
    }
    if TYPO_KEYS.contains(lower) {
        return true;
    }
    let mut buf = lower.to_vec();
    for i in 0..n {
        buf[i] = b'?';
        if TYPO_KEYS.contains(&buf) {
            return true;
        }
        buf[i] = lower[i];
        if i + 1 < n {
            buf.swap(i, i + 1);
            if is_english_word(&buf) {
                return true;
            }
            buf.swap(i, i + 1);
        }
        let mut shorter = lower.to_vec();
        shorter.remove(i);
        if is_english_word(&shorter) {
            return true;
        }
    }
    false
}

/// A token of the text, by character positions.
#[derive(Clone, Copy)]
enum Token {
    /// A run of ASCII letters.
    Letters(usize, usize),
    /// One or two ASCII digits alone: a phrase's numbering.
    Numbering,
    /// A run of Han characters.
    Han(usize, usize),
    /// Anything else that is not a separator.
    Break,
}

fn tokens(chars: &[char]) -> Vec<Token> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c.is_ascii_alphanumeric() {
            while i < chars.len() && chars[i].is_ascii_alphanumeric() {
                i += 1;
            }
            let run = &chars[start..i];
            out.push(if run.iter().all(char::is_ascii_alphabetic) {
                Token::Letters(start, i)
            } else if run.len() <= 2 && run.iter().all(char::is_ascii_digit) {
                Token::Numbering
            } else {
                Token::Break
            });
        } else if is_han(c) {
            while i < chars.len() && is_han(chars[i]) {
                i += 1;
            }
            out.push(Token::Han(start, i));
        } else {
            i += 1;
            if !is_separator(c) {
                out.push(Token::Break);
            }
        }
    }
    out
}

fn seed_phrases(chars: &[char], spans: &mut Vec<Span>) {
    let tokens = tokens(chars);
    let lower = |s: usize, e: usize| -> Vec<u8> {
        chars[s..e]
            .iter()
            .map(|c| c.to_ascii_lowercase() as u8)
            .collect()
    };
    // Letters that are list words; a typo is only worth checking next to one (numbering
    // aside), since a run needs 11 words around it.
    let words: Vec<bool> = tokens
        .iter()
        .map(|t| match *t {
            Token::Letters(s, e) => is_english_word(&lower(s, e)),
            _ => false,
        })
        .collect();
    let mut beside_word = vec![false; tokens.len()];
    let mut previous = None;
    for (k, token) in tokens.iter().enumerate() {
        if matches!(token, Token::Numbering) {
            continue;
        }
        if let Some(p) = previous {
            beside_word[k] |= words[p];
            beside_word[p] |= words[k];
        }
        previous = Some(k);
    }
    let mut english: Vec<(usize, usize, English)> = Vec::new();
    let mut han: Vec<(usize, char)> = Vec::new();
    let mut numbered = false;
    for (k, token) in tokens.iter().enumerate() {
        match *token {
            Token::Numbering if !numbered => {
                numbered = true;
                continue;
            }
            Token::Letters(s, e) => {
                flush_han(&mut han, spans);
                let class = if words[k] {
                    let word = lower(s, e);
                    let function = std::str::from_utf8(&word)
                        .is_ok_and(|w| FUNCTION_WORDS.binary_search(&w).is_ok());
                    if function {
                        English::FunctionWord
                    } else {
                        English::Word
                    }
                } else if beside_word[k] && is_english_typo(&lower(s, e)) {
                    English::Typo
                } else {
                    English::Other
                };
                if class == English::Other {
                    flush_english(&mut english, spans);
                } else {
                    english.push((s, e, class));
                }
            }
            Token::Han(s, e) => {
                flush_english(&mut english, spans);
                if e - s == 1 && HAN_WORDS.contains_key(&chars[s]) {
                    han.push((s, chars[s]));
                } else {
                    flush_han(&mut han, spans);
                    if is_unspaced_phrase(&chars[s..e]) {
                        spans.push(Span::new(SecretKind::SeedPhrase, s, e));
                    }
                }
            }
            Token::Numbering | Token::Break => {
                flush_english(&mut english, spans);
                flush_han(&mut han, spans);
            }
        }
        numbered = false;
    }
    flush_english(&mut english, spans);
    flush_han(&mut han, spans);
}

/// Emits the parts of a run of English words and typos that lie in a stretch of 12 to 24
/// words with at most one typo and at most a quarter function words.
fn flush_english(run: &mut Vec<(usize, usize, English)>, spans: &mut Vec<Span>) {
    let n = run.len();
    if n >= PHRASE_WORDS_MIN {
        // How many typos and function words come before each word.
        let mut typos = vec![0; n + 1];
        let mut function = vec![0; n + 1];
        for (i, word) in run.iter().enumerate() {
            typos[i + 1] = typos[i] + usize::from(word.2 == English::Typo);
            function[i + 1] = function[i] + usize::from(word.2 == English::FunctionWord);
        }
        let mut covered = vec![false; n];
        for lo in 0..n {
            for hi in lo + PHRASE_WORDS_MIN..=(lo + PHRASE_WORDS_MAX).min(n) {
                let len = hi - lo;
                if typos[hi] - typos[lo] <= 1 && 4 * (function[hi] - function[lo]) <= len {
                    covered[lo..hi].fill(true);
                }
            }
        }
        emit_covered(&covered, |i| (run[i].0, run[i].1), spans);
    }
    run.clear();
}

/// Emits the parts of a run of single list characters that are at least 12 characters of
/// one list.
fn flush_han(run: &mut Vec<(usize, char)>, spans: &mut Vec<Span>) {
    if run.len() >= PHRASE_WORDS_MIN {
        let mut covered = vec![false; run.len()];
        for list in 0..2 {
            let mut start = 0;
            for i in 0..=run.len() {
                let in_list = i < run.len() && HAN_WORDS[&run[i].1][list].is_some();
                if !in_list {
                    if i - start >= PHRASE_WORDS_MIN {
                        covered[start..i].fill(true);
                    }
                    start = i + 1;
                }
            }
        }
        emit_covered(&covered, |i| (run[i].0, run[i].0 + 1), spans);
    }
    run.clear();
}

/// Emits one seed phrase for each stretch of covered words.
fn emit_covered(covered: &[bool], at: impl Fn(usize) -> (usize, usize), spans: &mut Vec<Span>) {
    let mut i = 0;
    while i < covered.len() {
        if covered[i] {
            let first = i;
            while i < covered.len() && covered[i] {
                i += 1;
            }
            spans.push(Span::new(SecretKind::SeedPhrase, at(first).0, at(i - 1).1));
        } else {
            i += 1;
        }
    }
}

fn is_unspaced_phrase(run: &[char]) -> bool {
    if ![12, 15, 18, 21, 24].contains(&run.len()) {
        return false;
    }
    let lists = [Language::SimplifiedChinese, Language::TraditionalChinese];
    lists.into_iter().enumerate().any(|(l, language)| {
        let indices: Option<Vec<u16>> = run
            .iter()
            .map(|c| HAN_WORDS.get(c).and_then(|w| w[l]))
            .collect();
        let Some(indices) = indices else {
            return false;
        };
        let rare = indices.iter().filter(|&&i| i >= 512).count();
        let words: Vec<String> = run.iter().map(char::to_string).collect();
        rare * 2 >= run.len() && Mnemonic::parse_in_normalized(language, &words.join(" ")).is_ok()
    })
}

// Keys.

/// Words before a 64-hex value that make it a transaction hash, lowercase.
const HASH_CONTEXT: [&str; 8] = [
    "tx",
    "hash",
    "transaction",
    "block",
    "哈希",
    "交易id",
    "交易号",
    "区块",
];

/// How many characters before a 64-hex value are searched for [`HASH_CONTEXT`].
const HASH_CONTEXT_CHARS: usize = 20;

/// The private keys among the tokens that lie outside `others` (sorted secrets of other
/// kinds).
fn keys(chars: &[char], others: &[Span]) -> Vec<Span> {
    let mut keys: Vec<Span> = Vec::new();
    // The end of the last transaction hash, for lists of hashes.
    let mut last_hash: Option<usize> = None;
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_alphanumeric() {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && chars[i].is_ascii_alphanumeric() {
            i += 1;
        }
        let inside = covering(others, start).is_some() || covering(others, i - 1).is_some();
        if inside || !matches!(i - start, 51 | 52 | 64 | 66 | 100..=120) {
            continue;
        }
        let token: String = chars[start..i].iter().collect();
        let hex = token
            .strip_prefix("0x")
            .or_else(|| token.strip_prefix("0X"))
            .unwrap_or(&token);
        if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            let listed =
                last_hash.is_some_and(|end| chars[end..start].iter().all(|&c| is_separator(c)));
            if listed || hash_context(chars, start, [others, &keys]) {
                last_hash = Some(i);
            } else {
                keys.push(Span::new(SecretKind::PrivateKey, start, i));
            }
        } else if is_wif(&token) || is_extended_private_key(&token) {
            keys.push(Span::new(SecretKind::PrivateKey, start, i));
        }
    }
    keys
}

/// The span of sorted `spans` that holds the character at `at`.
fn covering(spans: &[Span], at: usize) -> Option<&Span> {
    let after = spans.partition_point(|s| s.start <= at);
    after
        .checked_sub(1)
        .map(|i| &spans[i])
        .filter(|s| at < s.end)
}

/// Whether a context word is in the [`HASH_CONTEXT_CHARS`] characters before `start`, read
/// as they will be stored: secrets found already (in either sorted list) masked, and `•`
/// not counted.
fn hash_context(chars: &[char], start: usize, found: [&[Span]; 2]) -> bool {
    let mut before: Vec<char> = Vec::with_capacity(HASH_CONTEXT_CHARS);
    let mut at = start;
    while at > 0 && before.len() < HASH_CONTEXT_CHARS {
        let masked = found.iter().find_map(|spans| covering(spans, at - 1));
        let (text, next): (Vec<char>, usize) = match masked {
            Some(span) => (span.mask(chars).chars().collect(), span.start),
            None => (vec![chars[at - 1]], at - 1),
        };
        for &c in text.iter().rev() {
            if c != '•' && before.len() < HASH_CONTEXT_CHARS {
                before.push(c.to_ascii_lowercase());
            }
        }
        at = next;
    }
    before.reverse();
    let before: String = before.into_iter().collect();
    HASH_CONTEXT.iter().any(|word| before.contains(word))
}

fn base58check(token: &str) -> Option<Vec<u8>> {
    bs58::decode(token).with_check(None).into_vec().ok()
}

fn is_wif(token: &str) -> bool {
    if !matches!(token.len(), 51 | 52) {
        return false;
    }
    base58check(token).is_some_and(|p| {
        matches!(p.first(), Some(0x80 | 0xEF))
            && (p.len() == 33 || (p.len() == 34 && p[33] == 0x01))
    })
}

fn is_extended_private_key(token: &str) -> bool {
    (100..=120).contains(&token.len())
        && base58check(token).is_some_and(|p| p.len() == 78 && p[45] == 0x00)
}

// Numbers.

/// A number's digit groups: character ranges, and the separator before each group after the
/// first.
struct Number {
    groups: Vec<(usize, usize)>,
    separators: Vec<char>,
}

impl Number {
    fn digits(&self, chars: &[char], from: usize, to: usize) -> Vec<u8> {
        self.groups[from..to]
            .iter()
            .flat_map(|&(s, e)| chars[s..e].iter().filter_map(|&c| digit(c)))
            .collect()
    }
}

fn is_digit(c: char) -> bool {
    digit(c).is_some()
}

fn numbers(chars: &[char], spans: &mut Vec<Span>) {
    let code_words = code_words(chars);
    let card_hidden: Vec<char> = CARD_HIDDEN.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if !is_digit(chars[i]) {
            i += 1;
            continue;
        }
        let mut number = Number {
            groups: Vec::new(),
            separators: Vec::new(),
        };
        loop {
            let start = i;
            while i < chars.len() && is_digit(chars[i]) {
                i += 1;
            }
            number.groups.push((start, i));
            let joined =
                i + 1 < chars.len() && matches!(chars[i], ' ' | '-') && is_digit(chars[i + 1]);
            if !joined {
                break;
            }
            number.separators.push(chars[i]);
            i += 1;
        }
        let (first, last) = (number.groups[0].0, i);
        if touches_mask(chars, first, last) {
            continue;
        }
        let mut from = 0;
        let mut to = number.groups.len();
        if starts_elsewhere(chars, first, &card_hidden) {
            from += 1;
        }
        let after = chars.get(last).copied();
        let decimal = matches!(after, Some('.' | ',' | ':' | '/'))
            && chars.get(last + 1).copied().is_some_and(is_digit);
        if after.is_some_and(|c| c.is_ascii_alphabetic()) || decimal {
            to -= 1;
        }
        if from < to {
            cards_and_codes(chars, &number, from, to, &code_words, spans);
        }
    }
}

/// Whether the number from `first` to `last` touches a mask: glued to `•`, or with only
/// `.` `,` `:` `/` between. Such a number is left alone whole, because what was masked
/// next to it may have been what made it a number or not: masking what is already masked
/// must never find more.
fn touches_mask(chars: &[char], first: usize, last: usize) -> bool {
    let joins = |c: char| matches!(c, '.' | ',' | ':' | '/');
    let before = first.checked_sub(1).map(|i| chars[i]);
    let before_2 = first.checked_sub(2).map(|i| chars[i]);
    let (after, after_2) = (chars.get(last).copied(), chars.get(last + 1).copied());
    before == Some('•')
        || (before.is_some_and(joins) && before_2 == Some('•'))
        || after == Some('•')
        || (after.is_some_and(joins) && after_2 == Some('•'))
}

/// Whether the digit at `first` continues something that is not a secret.
fn starts_elsewhere(chars: &[char], first: usize, card_hidden: &[char]) -> bool {
    let before = |n: usize| first.checked_sub(n).map(|i| chars[i]);
    match before(1) {
        None => false,
        Some(c) if c.is_ascii_alphabetic() => true,
        Some('+' | '＋' | '$' | '¥' | '￥' | '€' | '£') => true,
        Some('.' | ',' | ':' | '/') => before(2).is_some_and(is_digit),
        Some(_) => chars[..first].ends_with(card_hidden),
    }
}

fn cards_and_codes(
    chars: &[char],
    number: &Number,
    from: usize,
    to: usize,
    code_words: &[CodeWord],
    spans: &mut Vec<Span>,
) {
    let mut rest = from;
    let mut g = from;
    while g < to {
        // The groups from `g` that hold at most 19 digits, the longest first.
        let mut count = 0;
        let reach = (g..to)
            .take_while(|&h| {
                count += number.groups[h].1 - number.groups[h].0;
                count <= 19
            })
            .last();
        let card = reach.and_then(|reach| {
            (g..=reach).rev().find(|&h| {
                let same = number.separators[g..h].windows(2).all(|w| w[0] == w[1]);
                same && is_card(&number.digits(chars, g, h + 1))
            })
        });
        match card {
            Some(h) => {
                one_time_code(chars, number, rest, g, code_words, spans);
                spans.push(Span::new(
                    SecretKind::CardNumber,
                    number.groups[g].0,
                    number.groups[h].1,
                ));
                g = h + 1;
                rest = g;
            }
            None => g += 1,
        }
    }
    one_time_code(chars, number, rest, to, code_words, spans);
}

fn is_card(digits: &[u8]) -> bool {
    let n = digits.len();
    if !(13..=19).contains(&n) {
        return false;
    }
    let prefix = |k: usize| digits[..k].iter().fold(0u32, |a, &d| a * 10 + u32::from(d));
    let network = match digits[0] {
        4 => matches!(n, 13 | 16 | 19),
        5 => (51..=55).contains(&prefix(2)) && n == 16,
        2 => (2221..=2720).contains(&prefix(4)) && n == 16,
        3 => {
            (matches!(prefix(2), 34 | 37) && n == 15)
                || ((3528..=3589).contains(&prefix(4)) && n >= 16)
        }
        6 => (matches!(prefix(2), 62 | 65) || prefix(4) == 6011) && n >= 16,
        _ => false,
    };
    network && luhn(digits)
}

fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                if d * 2 > 9 {
                    d * 2 - 9
                } else {
                    d * 2
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Code words, lowercase (Latin ones are matched as whole words).
const CODE_WORDS: [&str; 17] = [
    "验证码",
    "校验码",
    "动态码",
    "动态口令",
    "短信码",
    "一次性密码",
    "谷歌验证",
    "驗證碼",
    "校驗碼",
    "動態碼",
    "動態口令",
    "一次性密碼",
    "谷歌驗證",
    "2fa",
    "otp",
    "authenticator",
    "code",
];

/// The length of the longest code word (characters).
const CODE_WORD_CHARS_MAX: usize = 13;

/// Words before `code` whose codes are not secrets.
const NOT_SECRET_CODES: [&str; 24] = [
    "error",
    "status",
    "zip",
    "postal",
    "post",
    "area",
    "country",
    "promo",
    "promotion",
    "referral",
    "invite",
    "invitation",
    "reference",
    "ref",
    "reason",
    "response",
    "swift",
    "sort",
    "branch",
    "bank",
    "product",
    "tracking",
    "coupon",
    "phishing",
];

/// How far before a number a code word may end, and after it one may begin (characters).
const CODE_WORD_BEFORE_CHARS: usize = 12;
const CODE_WORD_AFTER_CHARS: usize = 3;

#[derive(Clone, Copy)]
struct CodeWord {
    start: usize,
    end: usize,
}

fn code_words(chars: &[char]) -> Vec<CodeWord> {
    let lower: Vec<char> = chars.iter().map(char::to_ascii_lowercase).collect();
    let patterns: Vec<Vec<char>> = CODE_WORDS.iter().map(|w| w.chars().collect()).collect();
    let mut out = Vec::new();
    for i in 0..lower.len() {
        for pattern in &patterns {
            if !lower[i..].starts_with(pattern) {
                continue;
            }
            let end = i + pattern.len();
            if pattern[0].is_ascii_alphanumeric() {
                let glued = |j: Option<usize>| {
                    j.and_then(|j| lower.get(j))
                        .is_some_and(char::is_ascii_alphanumeric)
                };
                if glued(i.checked_sub(1)) || glued(Some(end)) {
                    continue;
                }
                if pattern.iter().collect::<String>() == "code" && not_secret_code(&lower, i) {
                    continue;
                }
            }
            out.push(CodeWord { start: i, end });
        }
    }
    out
}

/// Whether the word before a `code` at `at` says it is an error, postal or other code.
fn not_secret_code(lower: &[char], at: usize) -> bool {
    let mut end = at;
    if end > 0 && matches!(lower[end - 1], ' ' | '-' | '_') {
        end -= 1;
    }
    let mut start = end;
    while start > 0 && lower[start - 1].is_ascii_alphabetic() {
        start -= 1;
    }
    let word: String = lower[start..end].iter().collect();
    NOT_SECRET_CODES.contains(&word.as_str())
}

/// Whether the characters between a code word and a number keep them together.
fn close(between: &[char]) -> bool {
    !between
        .iter()
        .any(|&c| is_digit(c) || c == '•' || c == '\n' || "，。！？；,.!?;".contains(c))
}

fn one_time_code(
    chars: &[char],
    number: &Number,
    from: usize,
    to: usize,
    code_words: &[CodeWord],
    spans: &mut Vec<Span>,
) {
    if from >= to || number.separators[from..to - 1].iter().any(|&s| s != ' ') {
        return;
    }
    if !(4..=8).contains(&number.digits(chars, from, to).len()) {
        return;
    }
    let (start, end) = (number.groups[from].0, number.groups[to - 1].1);
    // Code words are in order of their starts.
    let lo = code_words
        .partition_point(|w| w.start + CODE_WORD_CHARS_MAX + CODE_WORD_BEFORE_CHARS < start);
    let near = code_words[lo..]
        .iter()
        .take_while(|w| w.start <= end + CODE_WORD_AFTER_CHARS)
        .any(|w| {
            let before = w.end <= start
                && start - w.end <= CODE_WORD_BEFORE_CHARS
                && close(&chars[w.end..start]);
            let after = w.start >= end
                && w.start - end <= CODE_WORD_AFTER_CHARS
                && close(&chars[end..w.start]);
            before || after
        });
    if near {
        spans.push(Span::new(SecretKind::OneTimeCode, start, end));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_words_are_sorted_list_words() {
        assert!(FUNCTION_WORDS.windows(2).all(|w| w[0] < w[1]));
        for word in FUNCTION_WORDS {
            assert!(Language::English.find_word(word).is_some(), "{word}");
        }
    }

    #[test]
    fn the_longest_code_word_is_known() {
        let longest = CODE_WORDS.iter().map(|w| w.chars().count()).max();
        assert_eq!(longest, Some(CODE_WORD_CHARS_MAX));
    }
}
