//! Time-based one-time passwords (RFC 6238) and recovery codes: the second factor.
//!
//! Codes are checked one step either side of now (clock drift), and a code's time step can be
//! used once: the caller stores the last step used and passes it back, so a code seen over
//! someone's shoulder cannot be replayed within its 90-second life. Recovery codes are random,
//! shown once, stored as hashes, and each works once. Pure: no clock, no storage.

use rand::RngCore;
use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, TOTP};

/// The issuer authenticator apps show next to the account.
pub const ISSUER: &str = "okwallet";
/// Seconds per code.
pub const STEP_S: u64 = 30;
/// How many recovery codes an enrolment gives.
pub const RECOVERY_CODES: usize = 10;

/// A shared secret: 20 random bytes (160 bits, RFC 4226's recommendation).
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Vec<u8>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(…)")
    }
}

impl TotpSecret {
    pub fn generate() -> TotpSecret {
        let mut bytes = vec![0u8; 20];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        TotpSecret(bytes)
    }

    /// Base32 without padding, as authenticator apps take it.
    pub fn to_base32(&self) -> String {
        base32_encode(&self.0)
    }

    pub fn from_base32(text: &str) -> Option<TotpSecret> {
        let bytes = totp_rs::Secret::Encoded(text.to_owned()).to_bytes().ok()?;
        (bytes.len() >= 16).then_some(TotpSecret(bytes))
    }

    /// The secret as stored: sealed with the operator's key for this user only.
    pub fn seal(&self, key: &crate::sealed::SecretKey, user_id: &str) -> String {
        key.seal(self.to_base32().as_bytes(), &format!("totp:{user_id}"))
    }

    /// The secret from its stored form. Secrets stored before sealing existed (plain base32)
    /// are still read, so an upgrade locks nobody out; new enrolments are always sealed.
    pub fn unseal(
        key: &crate::sealed::SecretKey,
        user_id: &str,
        stored: &str,
    ) -> Option<TotpSecret> {
        if !crate::sealed::is_sealed(stored) {
            return TotpSecret::from_base32(stored);
        }
        let plain = key.open(stored, &format!("totp:{user_id}"))?;
        TotpSecret::from_base32(std::str::from_utf8(&plain).ok()?)
    }

    fn totp(&self, account: &str) -> TOTP {
        // The label may not contain ':'; an email never does after `Email::parse`, but be safe.
        let account = account.replace(':', "_");
        TOTP::new(
            Algorithm::SHA1,
            6,
            1,
            STEP_S,
            self.0.clone(),
            Some(ISSUER.to_owned()),
            account,
        )
        .expect("a 160-bit secret and 6 digits are valid")
    }

    /// The `otpauth://` URL to show as a QR code.
    pub fn otpauth_url(&self, account: &str) -> String {
        self.totp(account).get_url()
    }

    /// The code for the step containing `time_s` (for tests and tools).
    pub fn code_at(&self, time_s: u64) -> String {
        self.totp("").generate(time_s)
    }

    /// The time step `code` belongs to, if it is valid within one step of `now_s` and newer than
    /// `last_used_step`.
    pub fn verify(&self, code: &str, now_s: u64, last_used_step: u64) -> Option<u64> {
        let code = code.trim();
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let totp = self.totp("");
        let now_step = now_s / STEP_S;
        let mut found = None;
        // Every candidate is computed and compared in constant time, so timing says nothing
        // about which step matched.
        for step in [now_step.saturating_sub(1), now_step, now_step + 1] {
            if constant_time_eq(totp.generate(step * STEP_S).as_bytes(), code.as_bytes())
                && step > last_used_step
            {
                found = Some(step);
            }
        }
        found
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn base32_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Ten new recovery codes like `k7qm-2xvd-9pwa`: 12 characters of an alphabet without look-alikes
/// (about 60 bits each).
pub fn generate_recovery_codes() -> Vec<String> {
    const ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut bytes = [0u8; 12];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            let chars: String = bytes
                .iter()
                .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
                .collect();
            format!("{}-{}-{}", &chars[0..4], &chars[4..8], &chars[8..12])
        })
        .collect()
}

/// Whether `text` has the shape of a recovery code (so a log-in can tell it from a TOTP code).
pub fn looks_like_recovery_code(text: &str) -> bool {
    normalise_recovery_code(text).len() == 12
}

fn normalise_recovery_code(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The stored form of a recovery code: SHA-256 of the normalised code, salted with the user id
/// so equal codes of two users never share a hash. A fast hash suffices: 60 random bits, and
/// log-in attempts are throttled.
pub fn recovery_code_hash(user_id: &str, code: &str) -> String {
    let mut h = Sha256::new();
    h.update(user_id.as_bytes());
    h.update([0]);
    h.update(normalise_recovery_code(code).as_bytes());
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_secrets_are_sealed_per_user() {
        let key = crate::sealed::SecretKey::generate();
        let secret = TotpSecret::generate();
        let stored = secret.seal(&key, "u1");
        assert!(!stored.contains(&secret.to_base32()));
        let back = TotpSecret::unseal(&key, "u1", &stored).unwrap();
        assert_eq!(back.to_base32(), secret.to_base32());
        assert!(TotpSecret::unseal(&key, "u2", &stored).is_none());
        let legacy = TotpSecret::unseal(&key, "u1", &secret.to_base32()).unwrap();
        assert_eq!(legacy.to_base32(), secret.to_base32());
    }

    #[test]
    fn matches_the_rfc_6238_reference_vector() {
        // RFC 6238 appendix B, SHA-1, secret "12345678901234567890", T = 59 s → 94287082 (8
        // digits); the 6-digit code is its last six digits.
        let secret = TotpSecret(b"12345678901234567890".to_vec());
        assert_eq!(secret.code_at(59), "287082");
        assert_eq!(secret.code_at(1_111_111_109), "081804");
    }

    #[test]
    fn codes_work_one_step_either_side_and_only_once() {
        let secret = TotpSecret::generate();
        let now = 1_800_000_000;
        let code = secret.code_at(now);
        let step = secret.verify(&code, now, 0).expect("valid now");
        assert_eq!(step, now / STEP_S);
        assert_eq!(
            secret.verify(&code, now + STEP_S, 0),
            Some(step),
            "accepted a step later"
        );
        assert_eq!(secret.verify(&code, now + 2 * STEP_S, 0), None, "too old");
        assert_eq!(
            secret.verify(&code, now, step),
            None,
            "a used step cannot be replayed"
        );
        for bad in ["", "12345", "1234567", "abcdef", " 12 345"] {
            assert_eq!(secret.verify(bad, now, 0), None, "{bad:?}");
        }
    }

    #[test]
    fn secrets_round_trip_through_base32_and_urls() {
        let secret = TotpSecret::generate();
        let text = secret.to_base32();
        assert_eq!(text.len(), 32);
        assert_eq!(TotpSecret::from_base32(&text), Some(secret.clone()));
        let url = secret.otpauth_url("alice@example.com");
        assert!(
            url.starts_with("otpauth://totp/okwallet:alice%40example.com?"),
            "{url}"
        );
        assert!(
            url.contains(&format!("secret={text}")) && url.contains("issuer=okwallet"),
            "{url}"
        );
        assert_eq!(format!("{secret:?}"), "TotpSecret(…)");
        assert!(TotpSecret::from_base32("not base32!").is_none());
    }

    #[test]
    fn recovery_codes_are_distinct_and_hash_per_user() {
        let codes = generate_recovery_codes();
        assert_eq!(codes.len(), 10);
        let unique: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), 10);
        for code in &codes {
            assert!(looks_like_recovery_code(code), "{code}");
            assert_eq!(
                recovery_code_hash("u1", code),
                recovery_code_hash("u1", &code.to_uppercase().replace('-', " "))
            );
            assert_ne!(
                recovery_code_hash("u1", code),
                recovery_code_hash("u2", code)
            );
        }
        assert!(!looks_like_recovery_code("123456"));
    }
}
