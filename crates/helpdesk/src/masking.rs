//! What an agent sees of a customer's personal data: masked emails, phone numbers, names,
//! chain addresses, identity-document numbers, and free text with those found inside it.
//!
//! # Rules
//! - **Email**: the domain is kept; of the local part (before the last `@`) the first 2 and
//!   last 1 characters are kept when it has at least 6, the first and last when it has 4 or
//!   5, the first when it has 2 or 3, none when it has 1 — never more than half. The hidden
//!   part is always `***`, so the mask does not tell the length. Text without a local part and
//!   a domain is masked whole (`***`).
//! - **Phone**: digits (ASCII or full-width) with spaces, dashes, dots and parentheses. With a
//!   leading `+`, the country code (1 to 3 digits, by the ITU's E.164 zone table) is kept and
//!   set apart with a space. Of the national part: first 3 and last 4 kept when it has 11 or
//!   more digits (`138****5678`), last 4 with 8 to 10, last 2 with 5 to 7, none below. One `*`
//!   per hidden digit. Anything else (letters, no digits) is masked whole (`***`).
//! - **Name**: several words (split on whitespace): the first word kept, the others reduced to
//!   an initial and a dot (`Alice S.`). One word (Chinese names are one word): the first
//!   character kept, one `*` per other character (`张**`).
//! - **Chain address**: first 6 and last 4 characters around `…` when longer than 12; shorter
//!   text is returned as is (it is not an address worth hiding).
//! - **Identity number**: the last 4 characters kept (never more than half), one `*` for each
//!   other character.
//! - **Free text**: emails, `0x` followed by at least 20 hex digits, and phone-like runs (at
//!   least 7 digits, single spaces or dashes between them, an optional leading `+`) are masked
//!   by the rules above. A digit run that is part of a decimal or grouped number (`1,234,567`,
//!   `12345678.90`) is an amount and left alone; other long numbers (order ids) are masked too,
//!   which is the safe mistake for previews.
//!
//! Everything counts characters, never bytes, so no character is ever split. This module
//! never does I/O and never reveals more than the rules say.

/// Masks an email address (see the module's rules).
pub fn email(address: &str) -> String {
    let address = address.trim();
    let Some((local, domain)) = address.rsplit_once('@') else {
        return "***".to_owned();
    };
    if local.is_empty() || domain.is_empty() {
        return "***".to_owned();
    }
    let chars: Vec<char> = local.chars().collect();
    let (head, tail) = match chars.len() {
        0 | 1 => (0, 0),
        2 | 3 => (1, 0),
        4 | 5 => (1, 1),
        _ => (2, 1),
    };
    let mut out: String = chars[..head].iter().collect();
    out.push_str("***");
    out.extend(&chars[chars.len() - tail..]);
    out.push('@');
    out.push_str(domain);
    out
}

/// The ASCII digit for an ASCII or full-width digit.
fn digit(c: char) -> Option<u8> {
    match c {
        '0'..='9' => Some(c as u8 - b'0'),
        '\u{FF10}'..='\u{FF19}' => Some((c as u32 - 0xFF10) as u8),
        _ => None,
    }
}

fn is_plus(c: char) -> bool {
    c == '+' || c == '\u{FF0B}'
}

/// The length of the E.164 country code at the start of `digits` (ITU zone table: 1 and 7
/// are one digit, a fixed list is two, everything else three).
fn country_code_len(digits: &[u8]) -> usize {
    const TWO: [u8; 44] = [
        20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49, 51, 52, 53, 54, 55,
        56, 57, 58, 60, 61, 62, 63, 64, 65, 66, 81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98,
    ];
    match digits {
        [1 | 7, ..] => 1,
        [a, b, ..] if TWO.contains(&(a * 10 + b)) => 2,
        _ => 3,
    }
}

/// Masks a phone number (see the module's rules).
pub fn phone(number: &str) -> String {
    let number = number.trim();
    let mut chars = number.chars().peekable();
    let international = chars.peek().copied().is_some_and(is_plus);
    if international {
        chars.next();
    }
    let mut digits = Vec::new();
    for c in chars {
        if let Some(d) = digit(c) {
            digits.push(d);
        } else if !matches!(c, ' ' | '-' | '.' | '(' | ')' | '\u{3000}') {
            return "***".to_owned();
        }
    }
    if digits.is_empty() {
        return "***".to_owned();
    }
    let mut out = String::new();
    let national = if international {
        let cc = country_code_len(&digits).min(digits.len());
        out.push('+');
        out.extend(digits[..cc].iter().map(|d| char::from(b'0' + d)));
        if cc < digits.len() {
            out.push(' ');
        }
        &digits[cc..]
    } else {
        &digits[..]
    };
    let n = national.len();
    let (head, tail) = match n {
        11.. => (3, 4),
        8..=10 => (0, 4),
        5..=7 => (0, 2),
        _ => (0, 0),
    };
    for (i, d) in national.iter().enumerate() {
        if i < head || i >= n - tail {
            out.push(char::from(b'0' + d));
        } else {
            out.push('*');
        }
    }
    out
}

/// Masks a person's name (see the module's rules).
pub fn name(full: &str) -> String {
    let words: Vec<&str> = full.split_whitespace().collect();
    match words.as_slice() {
        [] => String::new(),
        [one] => {
            let mut chars = one.chars();
            let first = chars.next().map(String::from).unwrap_or_default();
            first + &"*".repeat(chars.count())
        }
        [first, rest @ ..] => {
            let mut out = (*first).to_owned();
            for word in rest {
                if let Some(initial) = word.chars().next() {
                    out.push(' ');
                    out.push(initial);
                    out.push('.');
                }
            }
            out
        }
    }
}

/// Shortens a chain address to its first 6 and last 4 characters (see the module's rules).
pub fn address(address: &str) -> String {
    let address = address.trim();
    let chars: Vec<char> = address.chars().collect();
    if chars.len() <= 12 {
        return address.to_owned();
    }
    let mut out: String = chars[..6].iter().collect();
    out.push('…');
    out.extend(&chars[chars.len() - 4..]);
    out
}

/// Masks an identity-document number, keeping the last 4 characters (see the module's rules).
pub fn id_number(number: &str) -> String {
    let chars: Vec<char> = number.trim().chars().collect();
    let keep = (chars.len() / 2).min(4);
    let hidden = chars.len() - keep;
    let mut out = "*".repeat(hidden);
    out.extend(&chars[hidden..]);
    out
}

fn is_email_local(c: char) -> bool {
    c.is_ascii_alphanumeric() || "._%+-".contains(c)
}

fn is_email_domain(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '.' || c == '-'
}

/// Letters that glue to a number or an address. ASCII only: Chinese text runs straight into
/// numbers without spaces (`电话13812345678`), and that number must still be found.
fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// A span of `chars` to replace: start, end (exclusive), replacement.
type Span = (usize, usize, String);

fn email_spans(chars: &[char]) -> Vec<Span> {
    let mut spans: Vec<Span> = Vec::new();
    for (at, _) in chars.iter().enumerate().filter(|(_, c)| **c == '@') {
        if spans.last().is_some_and(|s| s.1 > at) {
            continue;
        }
        let mut start = at;
        while start > 0 && is_email_local(chars[start - 1]) {
            start -= 1;
        }
        let mut end = at + 1;
        while end < chars.len() && is_email_domain(chars[end]) {
            end += 1;
        }
        // A sentence may end right after the address.
        while end > at + 1 && matches!(chars[end - 1], '.' | '-') {
            end -= 1;
        }
        let domain: String = chars[at + 1..end].iter().collect();
        let dotted = domain.split('.').all(|label| !label.is_empty()) && domain.contains('.');
        if start < at && dotted {
            let text: String = chars[start..end].iter().collect();
            spans.push((start, end, email(&text)));
        }
    }
    spans
}

fn address_spans(chars: &[char], taken: &[Span]) -> Vec<Span> {
    let mut spans = Vec::new();
    let mut i = 0;
    while i + 1 < chars.len() {
        let starts = chars[i] == '0'
            && matches!(chars[i + 1], 'x' | 'X')
            && (i == 0 || !is_word(chars[i - 1]));
        if starts && !overlaps(taken, i) {
            let mut end = i + 2;
            while end < chars.len() && chars[end].is_ascii_hexdigit() {
                end += 1;
            }
            if end - i - 2 >= 20 && (end == chars.len() || !is_word(chars[end])) {
                let text: String = chars[i..end].iter().collect();
                spans.push((i, end, address(&text)));
                i = end;
                continue;
            }
        }
        i += 1;
    }
    spans
}

fn overlaps(spans: &[Span], i: usize) -> bool {
    spans.iter().any(|s| s.0 <= i && i < s.1)
}

fn phone_spans(chars: &[char], taken: &[Span]) -> Vec<Span> {
    let mut spans = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let plus = is_plus(chars[i]) && chars.get(i + 1).copied().and_then(digit).is_some();
        let begins = (plus || digit(chars[i]).is_some())
            && (i == 0 || !(is_word(chars[i - 1]) || matches!(chars[i - 1], '.' | ',')));
        if !begins || overlaps(taken, i) {
            i += 1;
            continue;
        }
        let mut end = if plus { i + 1 } else { i };
        let mut count = 0;
        loop {
            while end < chars.len() && digit(chars[end]).is_some() && !overlaps(taken, end) {
                end += 1;
                count += 1;
            }
            let separated = end + 1 < chars.len()
                && matches!(chars[end], ' ' | '-')
                && digit(chars[end + 1]).is_some()
                && !overlaps(taken, end + 1);
            if separated {
                end += 1;
            } else {
                break;
            }
        }
        let next = chars.get(end).copied();
        let after = chars.get(end + 1).copied();
        // Part of an amount (decimal point or thousands separator) or glued to a word.
        let amount = matches!(next, Some('.' | ',')) && after.and_then(digit).is_some();
        let glued = next.is_some_and(is_word);
        if count >= 7 && !amount && !glued {
            let text: String = chars[i..end].iter().collect();
            spans.push((i, end, phone(&text)));
        }
        i = end.max(i + 1);
    }
    spans
}

/// Masks the emails, chain addresses and phone numbers found in a message body (see the
/// module's rules), for lists and previews.
pub fn free_text(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut spans = email_spans(&chars);
    let addresses = address_spans(&chars, &spans);
    spans.extend(addresses);
    let phones = phone_spans(&chars, &spans);
    spans.extend(phones);
    spans.sort_by_key(|s| s.0);
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    for (start, end, replacement) in spans {
        out.extend(&chars[i..start]);
        out.push_str(&replacement);
        i = end;
    }
    out.extend(&chars[i..]);
    out
}
