//! Password strength: refuses passwords that are easy to guess, with feedback a person can act on.
//!
//! The judgement is zxcvbn's (dictionaries, keyboard patterns, dates, l33t, the person's own
//! email), not a composition rule such as "one digit and one symbol", which NIST SP 800-63B
//! advises against. This module only judges: it never hashes, stores or logs a password.

use std::fmt;

use zxcvbn::feedback::{Suggestion, Warning};

use crate::{check_password_length, PasswordError, PASSWORD_LEN_MAX, PASSWORD_LEN_MIN};

/// The lowest zxcvbn score accepted: 3 is "safely unguessable" (about 10^10 guesses), which
/// holds against online attacks and slows an offline one against the argon2id hashes.
pub const SCORE_MIN: u8 = 3;

/// Words every okwallet password is checked against besides the person's own: the product's
/// name is the first thing an attacker tries on its users.
const SITE_WORDS: [&str; 2] = ["okwallet", "okw"];

/// Why a password was refused, with zxcvbn's feedback in English.
#[derive(Clone, Debug, PartialEq)]
pub struct WeakPassword {
    /// zxcvbn's score from 0 to 4; 0 when the length alone refused it, before zxcvbn ran.
    pub score: u8,
    /// What is wrong, when something specific is.
    pub warning: Option<String>,
    /// How to choose better; possibly empty.
    pub suggestions: Vec<String>,
    /// The same feedback as values, so that translations match on them and not on English text.
    reason: Option<Reason>,
    suggestion_kinds: Vec<Suggestion>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Reason {
    Length(PasswordError),
    Guessable(Warning),
    /// zxcvbn gives no warning when a password is built from the person's own words, so this
    /// module adds one.
    PersonalWords,
}

impl Reason {
    fn en(self) -> String {
        match self {
            Reason::Length(error) => error.to_string(),
            Reason::Guessable(warning) => warning.to_string(),
            Reason::PersonalWords => {
                "Your email name and the site's name are easy to guess.".to_owned()
            }
        }
    }

    fn zh(self) -> String {
        match self {
            Reason::Length(PasswordError::TooShort) => {
                format!("密码至少需要 {PASSWORD_LEN_MIN} 个字符。")
            }
            Reason::Length(PasswordError::TooLong) => {
                format!("密码最多只能有 {PASSWORD_LEN_MAX} 个字符。")
            }
            Reason::Guessable(warning) => warning_zh(warning).to_owned(),
            Reason::PersonalWords => "包含邮箱用户名或本站名称的密码很容易被猜到。".to_owned(),
        }
    }
}

impl WeakPassword {
    fn new(score: u8, reason: Option<Reason>, suggestion_kinds: Vec<Suggestion>) -> WeakPassword {
        WeakPassword {
            score,
            warning: reason.map(Reason::en),
            suggestions: suggestion_kinds.iter().map(ToString::to_string).collect(),
            reason,
            suggestion_kinds,
        }
    }

    /// The warning and suggestions in Simplified Chinese, warning first; never empty, since a
    /// refusal without any advice would leave the person guessing.
    pub fn feedback_zh(&self) -> Vec<String> {
        let mut lines: Vec<String> = self.reason.map(Reason::zh).into_iter().collect();
        for suggestion in &self.suggestion_kinds {
            let line = suggestion_zh(*suggestion).to_owned();
            if !lines.contains(&line) {
                lines.push(line);
            }
        }
        if lines.is_empty() {
            lines.push("这个密码太容易被猜到。请用几个不常见的词组成一个更长的密码。".to_owned());
        }
        lines
    }
}

impl fmt::Display for WeakPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.warning {
            Some(warning) => f.write_str(warning),
            None => f.write_str("This password is too easy to guess."),
        }
    }
}

impl std::error::Error for WeakPassword {}

/// Accepts a password of the allowed length that zxcvbn scores at least [`SCORE_MIN`].
///
/// `user_inputs` are words the person is likely to reuse: the email address, its local part,
/// a display name. Each is also split at punctuation (`zhang.wei` gives `zhang` and `wei`),
/// because zxcvbn matches user inputs only as whole words.
pub fn check_password_strength(password: &str, user_inputs: &[&str]) -> Result<(), WeakPassword> {
    // The length comes first: it is the cheap, certain refusal, and it bounds zxcvbn's work.
    if let Err(error) = check_password_length(password) {
        return Err(WeakPassword::new(
            0,
            Some(Reason::Length(error)),
            Vec::new(),
        ));
    }
    let words = guessable_words(user_inputs);
    let word_refs: Vec<&str> = words.iter().map(String::as_str).collect();
    let entropy = zxcvbn::zxcvbn(password, &word_refs);
    let score = u8::from(entropy.score());
    if score >= SCORE_MIN {
        return Ok(());
    }
    let feedback = entropy.feedback();
    let mut reason = feedback.and_then(|f| f.warning()).map(Reason::Guessable);
    if reason.is_none() && contains_any(password, &words) {
        reason = Some(Reason::PersonalWords);
    }
    let suggestions = feedback
        .map(|f| f.suggestions().to_vec())
        .unwrap_or_default();
    Err(WeakPassword::new(score, reason, suggestions))
}

/// The caller's inputs, lower-cased, with their punctuation-separated pieces and the site's
/// words, without duplicates; earlier words rank as more likely.
fn guessable_words(user_inputs: &[&str]) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    let mut add = |word: &str| {
        let word = word.trim().to_lowercase();
        if !word.is_empty() && !words.contains(&word) {
            words.push(word);
        }
    };
    for input in user_inputs {
        add(input);
    }
    for input in user_inputs {
        // Pieces shorter than three characters ("li", "88") would flag too many honest
        // passwords for too little gain.
        input
            .split(|c: char| !c.is_alphanumeric())
            .filter(|piece| piece.chars().count() >= 3)
            .for_each(&mut add);
    }
    SITE_WORDS.into_iter().for_each(&mut add);
    words
}

fn contains_any(password: &str, words: &[String]) -> bool {
    let password = password.to_lowercase();
    words
        .iter()
        .any(|word| word.chars().count() >= 3 && password.contains(word.as_str()))
}

// Every variant is translated, so a zxcvbn release that adds one fails to compile here instead
// of silently showing English to Chinese readers.
fn warning_zh(warning: Warning) -> &'static str {
    match warning {
        Warning::StraightRowsOfKeysAreEasyToGuess => "键盘上连成一排的按键很容易被猜到。",
        Warning::ShortKeyboardPatternsAreEasyToGuess => "简短的键盘图案很容易被猜到。",
        Warning::RepeatsLikeAaaAreEasyToGuess => "像“aaa”这样的重复字符很容易被猜到。",
        Warning::RepeatsLikeAbcAbcAreOnlySlightlyHarderToGuess => {
            "像“abcabcabc”这样的重复只比“abc”难猜一点点。"
        }
        Warning::ThisIsATop10Password => "这是最常用的 10 个密码之一。",
        Warning::ThisIsATop100Password => "这是最常用的 100 个密码之一。",
        Warning::ThisIsACommonPassword => "这是一个非常常见的密码。",
        Warning::ThisIsSimilarToACommonlyUsedPassword => "这与一个常用密码很相似。",
        Warning::SequencesLikeAbcAreEasyToGuess => "像 abc 或 6543 这样的序列很容易被猜到。",
        Warning::RecentYearsAreEasyToGuess => "最近的年份很容易被猜到。",
        Warning::AWordByItselfIsEasyToGuess => "单独一个单词很容易被猜到。",
        Warning::DatesAreOftenEasyToGuess => "日期往往很容易被猜到。",
        Warning::NamesAndSurnamesByThemselvesAreEasyToGuess => "单独的名字或姓氏很容易被猜到。",
        Warning::CommonNamesAndSurnamesAreEasyToGuess => "常见的名字和姓氏很容易被猜到。",
    }
}

fn suggestion_zh(suggestion: Suggestion) -> &'static str {
    match suggestion {
        Suggestion::UseAFewWordsAvoidCommonPhrases => "用几个词组成密码，避免常见短语。",
        Suggestion::NoNeedForSymbolsDigitsOrUppercaseLetters => {
            "不必非要使用符号、数字或大写字母。"
        }
        Suggestion::AddAnotherWordOrTwo => "再加一两个词，不常见的词更好。",
        Suggestion::CapitalizationDoesntHelpVeryMuch => "首字母大写帮助不大。",
        Suggestion::AllUppercaseIsAlmostAsEasyToGuessAsAllLowercase => {
            "全部大写和全部小写几乎一样容易被猜到。"
        }
        Suggestion::ReversedWordsArentMuchHarderToGuess => "把单词倒过来写并不会难猜多少。",
        Suggestion::PredictableSubstitutionsDontHelpVeryMuch => {
            "用“@”代替“a”这类可预测的替换帮助不大。"
        }
        Suggestion::UseALongerKeyboardPatternWithMoreTurns => "使用更长、转折更多的键盘图案。",
        Suggestion::AvoidRepeatedWordsAndCharacters => "避免重复的单词和字符。",
        Suggestion::AvoidSequences => "避免使用连续的序列。",
        Suggestion::AvoidRecentYears => "避免使用最近的年份。",
        Suggestion::AvoidYearsThatAreAssociatedWithYou => "避免使用与您相关的年份。",
        Suggestion::AvoidDatesAndYearsThatAreAssociatedWithYou => "避免使用与您相关的日期和年份。",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Email;

    fn is_chinese(line: &str) -> bool {
        line.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
    }

    /// Asserts a refusal that tells the person something, in both languages.
    fn assert_weak(password: &str, user_inputs: &[&str]) -> WeakPassword {
        let weak = check_password_strength(password, user_inputs)
            .expect_err(&format!("{password:?} should be weak"));
        assert!(weak.score < SCORE_MIN, "{password:?}: {weak:?}");
        assert!(
            weak.warning.is_some() || !weak.suggestions.is_empty(),
            "{password:?} has no English feedback: {weak:?}"
        );
        let zh = weak.feedback_zh();
        assert!(!zh.is_empty(), "{password:?}");
        assert!(
            zh.iter().all(|line| is_chinese(line)),
            "{password:?}: {zh:?}"
        );
        assert!(!weak.to_string().is_empty());
        weak
    }

    #[test]
    fn common_passwords_are_weak() {
        // Too short to reach zxcvbn at all.
        let weak = assert_weak("password", &[]);
        assert_eq!(weak.score, 0);
        assert_eq!(
            weak.warning.as_deref(),
            Some("a password needs at least 10 characters")
        );
        assert_eq!(weak.feedback_zh(), ["密码至少需要 10 个字符。"]);

        // Long enough, and still on every list.
        for password in [
            "password123",
            "passwordpassword",
            "1234567890",
            "qwertyuiop",
        ] {
            let weak = assert_weak(password, &[]);
            assert!(weak.warning.is_some(), "{password}: {weak:?}");
        }
        let weak = assert_weak("qwertyuiop", &[]);
        assert_eq!(weak.feedback_zh()[0], "这是最常用的 100 个密码之一。");
        for (password, first_zh) in [
            ("asdfghjkl;", "键盘上连成一排的按键很容易被猜到。"),
            ("aaaaaaaaaaaa", "像“aaa”这样的重复字符很容易被猜到。"),
            (
                "abcabcabcabc",
                "像“abcabcabc”这样的重复只比“abc”难猜一点点。",
            ),
            ("1990-05-17xx", "日期往往很容易被猜到。"),
        ] {
            let weak = assert_weak(password, &[]);
            assert_eq!(weak.feedback_zh()[0], first_zh, "{password}");
        }
    }

    #[test]
    fn the_site_name_is_weak() {
        assert_weak("okwallet2026", &[]);
        assert_weak("OKWallet2026!", &[]);
        assert_weak("okwalletokwallet", &[]);
    }

    #[test]
    fn the_email_local_part_is_weak() {
        let email = Email::parse("Zhangwei.Beijing@example.com").unwrap();
        let inputs = [email.as_str(), email.local_part()];
        let weak = assert_weak(email.local_part(), &inputs);
        assert!(weak.feedback_zh().len() >= 2, "{:?}", weak.feedback_zh());
        assert_weak("Zhangwei.Beijing1", &inputs);
        // Its pieces count too, in another order.
        let weak = assert_weak("beijingzhangwei", &inputs);
        assert_eq!(
            weak.warning.as_deref(),
            Some("Your email name and the site's name are easy to guess.")
        );
        assert_eq!(
            weak.feedback_zh()[0],
            "包含邮箱用户名或本站名称的密码很容易被猜到。"
        );
    }

    #[test]
    fn long_random_passphrases_are_strong() {
        let email = Email::parse("zhangwei.beijing@example.com").unwrap();
        let inputs = [email.as_str(), email.local_part()];
        for password in [
            "violet tractor mango quietly lanterns",
            "correct horse battery staple umbrella",
            "Xq7#pL2v!Rm9zK",
            "一二三四五六七八九十百千万",
        ] {
            assert_eq!(
                check_password_strength(password, &inputs),
                Ok(()),
                "{password}"
            );
        }
    }

    #[test]
    fn length_bounds_come_from_the_crate() {
        let long = "violet tractor mango ".repeat(13);
        assert!(long.chars().count() > PASSWORD_LEN_MAX);
        let weak = check_password_strength(&long, &[]).unwrap_err();
        assert_eq!(weak.score, 0);
        assert_eq!(
            weak.warning.as_deref(),
            Some("a password has at most 256 characters")
        );
        assert_eq!(weak.feedback_zh(), ["密码最多只能有 256 个字符。"]);
        let at_most = &long[..PASSWORD_LEN_MAX];
        assert_eq!(check_password_strength(at_most, &[]), Ok(()));
    }

    #[test]
    fn every_warning_and_suggestion_has_a_translation_and_a_fallback_exists() {
        let weak = WeakPassword::new(
            1,
            Some(Reason::Guessable(Warning::ThisIsATop10Password)),
            vec![
                Suggestion::AddAnotherWordOrTwo,
                Suggestion::AddAnotherWordOrTwo,
            ],
        );
        assert_eq!(
            weak.feedback_zh(),
            [
                "这是最常用的 10 个密码之一。",
                "再加一两个词，不常见的词更好。"
            ],
            "duplicates are dropped"
        );
        assert_eq!(
            weak.warning.as_deref(),
            Some("This is a top-10 common password.")
        );
        let bare = WeakPassword::new(2, None, Vec::new());
        assert_eq!(bare.feedback_zh().len(), 1);
        assert!(is_chinese(&bare.feedback_zh()[0]));
        assert_eq!(bare.to_string(), "This password is too easy to guess.");
    }

    #[test]
    fn user_inputs_are_split_and_lowered() {
        assert_eq!(
            guessable_words(&["Zhang.Wei+li@Example.com", " Zhang.Wei "]),
            [
                "zhang.wei+li@example.com",
                "zhang.wei",
                "zhang",
                "wei",
                "example",
                "com",
                "okwallet",
                "okw"
            ]
        );
    }
}
