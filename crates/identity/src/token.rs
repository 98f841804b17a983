//! Session and API tokens: random bearer secrets, and the hashes stored in their place.
//!
//! A token is shown to its holder once and never stored: the database keeps only
//! [`token_hash`], so a leaked backup or a read-only SQL injection cannot be replayed as a
//! log-in. This module never stores, logs or compares tokens, and [`Token`]'s `Debug` never
//! prints the secret.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Marks okwallet's tokens, so that secret scanners and people can recognise a leaked one.
const PREFIX: &str = "okw_";
/// 256 bits: far beyond any online or offline guessing.
const SECRET_BYTES: usize = 32;
/// 32 bytes in base64 without padding.
const SECRET_CHARS: usize = 43;

/// A bearer token: `okw_` and 32 random bytes in URL-safe base64 without padding.
///
/// There is deliberately no `PartialEq` and no `Display`: tokens are found by their hash, never
/// compared with `==` (whose timing depends on the secret), and never formatted into a log line
/// by accident. [`Token::as_str`] is the one explicit way to the secret.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    /// A fresh token from the operating system's random source.
    pub fn generate() -> Token {
        let mut secret = [0u8; SECRET_BYTES];
        OsRng.fill_bytes(&mut secret);
        Token(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(secret)))
    }

    /// Accepts exactly the shape [`Token::generate`] makes, and nothing else: no surrounding
    /// whitespace, no padding, no standard-alphabet `+` or `/`.
    pub fn parse(text: &str) -> Option<Token> {
        let secret = text.strip_prefix(PREFIX)?;
        // The length is checked first so that refusing a huge input costs nothing.
        if secret.len() != SECRET_CHARS {
            return None;
        }
        // The decoder also refuses non-zero trailing bits, so each secret has exactly one
        // accepted spelling and therefore exactly one hash.
        let bytes = URL_SAFE_NO_PAD.decode(secret).ok()?;
        (bytes.len() == SECRET_BYTES).then(|| Token(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(okw_…)")
    }
}

/// The lower-case hex SHA-256 of a token: what the database stores and looks tokens up by.
///
/// A fast hash is right here, unlike for passwords: a token carries 256 random bits, so there is
/// no dictionary to try and slowing each guess down buys nothing, while every authenticated
/// request pays for the hash. Unsalted is right too, since the hash must be found by equality.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_have_the_documented_shape() {
        let token = Token::generate();
        let text = token.as_str();
        assert!(text.starts_with("okw_"), "{text}");
        assert_eq!(text.len(), 4 + 43);
        assert!(text[4..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_eq!(Token::parse(text).map(|t| t.0), Some(text.to_owned()));
    }

    #[test]
    fn generated_tokens_differ() {
        let tokens: std::collections::HashSet<String> =
            (0..1000).map(|_| Token::generate().0).collect();
        assert_eq!(tokens.len(), 1000);
    }

    #[test]
    fn debug_never_prints_the_secret() {
        let token = Token::generate();
        let debug = format!("{token:?}");
        assert_eq!(debug, "Token(okw_…)");
        assert!(!debug.contains(&token.as_str()[4..]));
        assert_eq!(format!("{:?}", Some(token.clone())), "Some(Token(okw_…))");
        assert_eq!(format!("{token:#?}"), "Token(okw_…)");
    }

    #[test]
    fn parse_accepts_only_the_exact_shape() {
        let good = format!("okw_{}", "A".repeat(43));
        assert!(Token::parse(&good).is_some());
        let good_alphabet = "okw_abcdefghijklmnopqrstuvwxyz-_0123456789ABCDA";
        assert!(Token::parse(good_alphabet).is_some());

        let bad = [
            String::new(),
            "okw_".to_owned(),
            "A".repeat(47),
            format!("OKW_{}", "A".repeat(43)),
            format!("okx_{}", "A".repeat(43)),
            format!("okw{}", "A".repeat(44)),
            format!("okw_{}", "A".repeat(42)),
            format!("okw_{}", "A".repeat(44)),
            format!("okw_{}=", "A".repeat(43)),
            format!("okw_{}A=", "A".repeat(42)),
            format!(" okw_{}", "A".repeat(43)),
            format!("okw_{} ", "A".repeat(43)),
            format!("okw_{}\n", "A".repeat(43)),
            format!("okw_{}+", "A".repeat(42)),
            format!("okw_{}/", "A".repeat(42)),
            format!("okw_{}.", "A".repeat(42)),
            // 43 characters carry 258 bits; the last two must be zero, so `B` cannot end one.
            format!("okw_{}B", "A".repeat(42)),
            // Non-ASCII: 41 ASCII characters and one two-byte character make 43 bytes.
            format!("okw_{}é", "A".repeat(41)),
            format!("okw_{}", "A".repeat(100_000)),
        ];
        for text in &bad {
            assert!(Token::parse(text).is_none(), "{text:?}");
        }
    }

    #[test]
    fn token_hash_is_hex_sha256() {
        // The FIPS 180-2 test vector for "abc".
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let token = Token::generate();
        let hash = token_hash(token.as_str());
        assert_eq!(hash.len(), 64);
        assert!(hash.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')));
        assert_eq!(hash, token_hash(token.as_str()), "deterministic");
        assert_ne!(hash, token_hash(Token::generate().as_str()));
        assert!(!hash.contains(&token.as_str()[4..]));
    }
}
