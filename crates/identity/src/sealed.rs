//! Secrets at rest: values the server must read back (TOTP seeds) are stored sealed with the
//! operator's key — XChaCha20-Poly1305 with a random nonce, bound to what they belong to — so a
//! copy of the database alone opens no second factor.
//!
//! A sealed value reads `v1.<base64url(nonce ‖ ciphertext)>`. The `context` (e.g.
//! `totp:<user id>`) is authenticated but not stored: a sealed value moved to another row does
//! not open. This module never sees where the key comes from; `okwallet` loads it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;

const PREFIX: &str = "v1.";
const NONCE_BYTES: usize = 24;

/// The operator's 32-byte key. Its `Debug` never shows it.
#[derive(Clone)]
pub struct SecretKey([u8; 32]);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(***)")
    }
}

impl SecretKey {
    /// A new random key.
    pub fn generate() -> SecretKey {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        SecretKey(key)
    }

    /// A key from its text form (43 base64url characters, padding optional).
    pub fn parse(text: &str) -> Option<SecretKey> {
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim().trim_end_matches('='))
            .ok()?;
        Some(SecretKey(bytes.try_into().ok()?))
    }

    /// The key's text form, for writing a new key file.
    pub fn to_text(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// A signature of `message` for `context` (HMAC-SHA-256 under a key derived from this one
    /// for signatures only, so a signature can never be confused with a sealed value), in
    /// base64url: for links that must not be forged, such as a ticket's rating link.
    pub fn sign(&self, context: &str, message: &str) -> String {
        use hmac::Mac;
        URL_SAFE_NO_PAD.encode(self.mac(context, message).finalize().into_bytes())
    }

    /// Whether `signature` is [`SecretKey::sign`]'s for this context and message, compared
    /// in constant time.
    pub fn verify_signature(&self, context: &str, message: &str, signature: &str) -> bool {
        use hmac::Mac;
        match URL_SAFE_NO_PAD.decode(signature.trim()) {
            Ok(sent) => self.mac(context, message).verify_slice(&sent).is_ok(),
            Err(_) => false,
        }
    }

    fn mac(&self, context: &str, message: &str) -> hmac::Hmac<sha2::Sha256> {
        use hmac::Mac;
        let mut mac = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.0)
            .expect("HMAC takes keys of any length");
        mac.update(b"okwallet signature v1\0");
        mac.update(context.as_bytes());
        mac.update(b"\0");
        mac.update(message.as_bytes());
        mac
    }

    /// Seals `plaintext` for `context`.
    pub fn seal(&self, plaintext: &[u8], context: &str) -> String {
        let cipher = XChaCha20Poly1305::new((&self.0).into());
        let mut nonce = [0u8; NONCE_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: context.as_bytes(),
                },
            )
            .expect("encryption of a small value cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(out))
    }

    /// Opens a value sealed for `context`; `None` when it is not one, was sealed with another
    /// key or for another context, or was altered.
    pub fn open(&self, sealed: &str, context: &str) -> Option<Vec<u8>> {
        let bytes = URL_SAFE_NO_PAD.decode(sealed.strip_prefix(PREFIX)?).ok()?;
        if bytes.len() <= NONCE_BYTES {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
        XChaCha20Poly1305::new((&self.0).into())
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .ok()
    }
}

/// Whether a stored value is sealed (rather than a value from before sealing existed).
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_only_for_their_key_context_and_message() {
        let key = SecretKey::generate();
        let sig = key.sign("rate", "ticket-1");
        assert!(key.verify_signature("rate", "ticket-1", &sig));
        assert!(!key.verify_signature("rate", "ticket-2", &sig));
        assert!(!key.verify_signature("other", "ticket-1", &sig));
        assert!(!SecretKey::generate().verify_signature("rate", "ticket-1", &sig));
        assert!(!key.verify_signature("rate", "ticket-1", "not base64 !"));
        assert!(!key.verify_signature("rate", "ticket-1", &sig[..sig.len() - 2]));
    }

    #[test]
    fn a_sealed_value_opens_only_with_its_key_and_context() {
        let key = SecretKey::generate();
        let sealed = key.seal(b"JBSWY3DPEHPK3PXP", "totp:u1");
        assert!(is_sealed(&sealed));
        assert!(!sealed.contains("JBSWY3DPEHPK3PXP"));
        assert_eq!(key.open(&sealed, "totp:u1").unwrap(), b"JBSWY3DPEHPK3PXP");
        assert_eq!(key.open(&sealed, "totp:u2"), None, "moved to another row");
        assert_eq!(SecretKey::generate().open(&sealed, "totp:u1"), None);
        let mut tampered = sealed.clone();
        let last = tampered.pop().unwrap();
        tampered.push(if last == 'A' { 'B' } else { 'A' });
        assert_eq!(key.open(&tampered, "totp:u1"), None);
        assert_ne!(
            sealed,
            key.seal(b"JBSWY3DPEHPK3PXP", "totp:u1"),
            "fresh nonces"
        );
        assert_eq!(key.open("JBSWY3DPEHPK3PXP", "totp:u1"), None);
        assert_eq!(key.open("v1.", "totp:u1"), None);
    }

    #[test]
    fn keys_round_trip_through_text_and_hide_in_debug() {
        let key = SecretKey::generate();
        let again = SecretKey::parse(&key.to_text()).unwrap();
        assert_eq!(again.0, key.0);
        assert!(SecretKey::parse("too short").is_none());
        assert_eq!(format!("{key:?}"), "SecretKey(***)");
    }
}
