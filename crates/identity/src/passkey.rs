//! Passkeys (WebAuthn): the relying party, the two ceremonies, and the rules around them.
//!
//! A thin layer over webauthn-rs that speaks in bytes and JSON text, so that the store can keep
//! ceremony state and credentials as plain rows shared by every node, and the web layer never
//! touches the library's types beyond the credential a browser sends. Registration asks for a
//! discoverable credential (resident key) with user verification; authentication is always the
//! discoverable kind, so one challenge serves passwordless sign-in, the second factor after a
//! password, and step-up. A passkey that verified its user is possession plus inherence: two
//! factors by itself.
//!
//! Pure apart from the randomness of challenges: no clock, no storage, no HTTP. Never logs a
//! credential, a challenge or a key.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use webauthn_rs::prelude::{
    DiscoverableAuthentication, DiscoverableKey, Passkey, PasskeyRegistration, Url, Uuid, Webauthn,
    WebauthnBuilder, WebauthnError,
};

pub use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential};

/// How long a ceremony (a challenge handed to a browser) can be answered.
pub const CEREMONY_TTL_MS: i64 = 5 * 60 * 1000;

/// What a stored ceremony is for; the store keeps [`Purpose::as_str`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Adding a passkey to a signed-in account.
    Registration,
    /// Proving possession of a passkey: sign-in, second factor, step-up.
    Authentication,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Registration => "registration",
            Purpose::Authentication => "authentication",
        }
    }
}

/// The longest name a passkey may be given, in characters.
pub const NAME_CHARS_MAX: usize = 64;

/// The name a passkey gets when its owner gives none.
pub const DEFAULT_NAME: &str = "Passkey";

/// Why the public URL cannot be a passkey relying party.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RelyingPartyError {
    #[error("the public URL {0:?} is not an absolute URL")]
    NotAUrl(String),
    /// Browsers refuse an IP address as a relying-party id; `localhost` is the exception that
    /// works over plain HTTP.
    #[error("the public URL {0:?} names no domain (an IP address cannot be a passkey domain; use localhost or a DNS name)")]
    NoDomain(String),
    #[error("webauthn-rs refused the public URL {0:?} as a relying party")]
    Refused(String),
}

/// Why a ceremony's answer was refused.
#[derive(Debug, thiserror::Error)]
pub enum PasskeyError {
    /// The browser's answer does not verify: wrong challenge, origin, signature, flags, or a
    /// credential the ceremony does not know.
    #[error("the passkey answer does not verify: {0}")]
    Rejected(WebauthnError),
    /// The signature counter did not move forward: two copies of the key may exist.
    #[error("the passkey's signature counter went backwards (a cloned authenticator?)")]
    PossibleClone,
    /// The answer names a user other than the credential's owner.
    #[error("the passkey answer names another user")]
    WrongUser,
    /// The authenticator did not verify its user (PIN or biometrics).
    #[error("the authenticator did not verify its user")]
    UserNotVerified,
    /// Stored state or a stored credential does not decode: our bug or a damaged row.
    #[error("stored passkey state does not decode: {0}")]
    Stored(serde_json::Error),
    /// The library failed to start a ceremony.
    #[error("webauthn-rs could not start a ceremony: {0}")]
    Start(WebauthnError),
}

impl PasskeyError {
    /// True when the refusal is the caller's fault (a bad or foreign answer), false when it is
    /// ours.
    pub fn is_callers(&self) -> bool {
        !matches!(self, PasskeyError::Stored(_) | PasskeyError::Start(_))
    }
}

/// A ceremony just started: the options the browser passes to `navigator.credentials`, and the
/// state to keep server-side until the answer comes back.
#[derive(Debug)]
pub struct Started {
    pub options: serde_json::Value,
    pub state_json: String,
}

/// A credential just registered.
#[derive(Debug)]
pub struct Registered {
    pub credential_id: String,
    pub passkey_json: String,
}

/// A credential just used successfully.
#[derive(Debug)]
pub struct Used {
    /// The credential with its new counter and backup state, to store back.
    pub passkey_json: String,
}

/// This server as a WebAuthn relying party.
#[derive(Clone, Debug)]
pub struct RelyingParty {
    webauthn: Webauthn,
}

impl RelyingParty {
    /// The relying party for the address people use: its host is the relying-party id and the
    /// whole scheme-host-port is the only accepted origin.
    pub fn from_public_url(public_url: &str) -> Result<RelyingParty, RelyingPartyError> {
        let origin =
            Url::parse(public_url).map_err(|_| RelyingPartyError::NotAUrl(public_url.into()))?;
        let rp_id = origin
            .domain()
            .ok_or_else(|| RelyingPartyError::NoDomain(public_url.into()))?
            .to_owned();
        let webauthn = WebauthnBuilder::new(&rp_id, &origin)
            .and_then(|b| {
                b.rp_name("okwallet")
                    .timeout(Duration::from_millis(CEREMONY_TTL_MS.unsigned_abs()))
                    .build()
            })
            .map_err(|_| RelyingPartyError::Refused(public_url.into()))?;
        Ok(RelyingParty { webauthn })
    }

    /// Starts adding a passkey for `user_id`, shown to the person as `user_name`.
    /// `existing_json` are the user's passkeys, which the browser is told not to register again.
    pub fn start_registration(
        &self,
        user_id: &str,
        user_name: &str,
        existing_json: &[String],
    ) -> Result<Started, PasskeyError> {
        let exclude = existing_json
            .iter()
            .map(|json| passkey_from_json(json).map(|p| p.cred_id().clone()))
            .collect::<Result<Vec<_>, _>>()?;
        let (challenge, state) = self
            .webauthn
            .start_passkey_registration(user_handle(user_id), user_name, user_name, Some(exclude))
            .map_err(PasskeyError::Start)?;
        let mut options = serde_json::to_value(&challenge).map_err(PasskeyError::Stored)?;
        // webauthn-rs asks for a non-resident key (security keys have little room), but
        // sign-in without an email needs the authenticator to find the credential by itself.
        // Registration does not check this flag, so asking for more here is safe.
        let selection = &mut options["publicKey"]["authenticatorSelection"];
        selection["residentKey"] = "required".into();
        selection["requireResidentKey"] = true.into();
        Ok(Started {
            options,
            state_json: serde_json::to_string(&state).map_err(PasskeyError::Stored)?,
        })
    }

    /// Checks the browser's answer to a registration ceremony.
    pub fn finish_registration(
        &self,
        state_json: &str,
        credential: &RegisterPublicKeyCredential,
    ) -> Result<Registered, PasskeyError> {
        let state: PasskeyRegistration =
            serde_json::from_str(state_json).map_err(PasskeyError::Stored)?;
        let passkey = self
            .webauthn
            .finish_passkey_registration(credential, &state)
            .map_err(PasskeyError::Rejected)?;
        Ok(Registered {
            credential_id: credential_id_text(passkey.cred_id().as_ref()),
            passkey_json: serde_json::to_string(&passkey).map_err(PasskeyError::Stored)?,
        })
    }

    /// Starts a discoverable authentication: any passkey of this site may answer, with user
    /// verification.
    pub fn start_authentication(&self) -> Result<Started, PasskeyError> {
        let (challenge, state) = self
            .webauthn
            .start_discoverable_authentication()
            .map_err(PasskeyError::Start)?;
        let mut options = serde_json::to_value(&challenge).map_err(PasskeyError::Stored)?;
        // webauthn-rs marks this challenge for conditional mediation (autofill) only. A page
        // may as well start it from a button, so the choice is left to the page.
        if let Some(object) = options.as_object_mut() {
            object.remove("mediation");
        }
        Ok(Started {
            options,
            state_json: serde_json::to_string(&state).map_err(PasskeyError::Stored)?,
        })
    }

    /// Checks the browser's answer to an authentication ceremony against the stored credential
    /// it names (found by [`credential_id_of`]), owned by `owner_user_id`.
    pub fn finish_authentication(
        &self,
        state_json: &str,
        credential: &PublicKeyCredential,
        owner_user_id: &str,
        passkey_json: &str,
    ) -> Result<Used, PasskeyError> {
        let state: DiscoverableAuthentication =
            serde_json::from_str(state_json).map_err(PasskeyError::Stored)?;
        let mut passkey = passkey_from_json(passkey_json)?;
        // The credential id was looked up by the caller; the user handle the authenticator
        // returns must name the same account, as the specification asks for discoverable
        // credentials.
        let (handle, _) = self
            .webauthn
            .identify_discoverable_authentication(credential)
            .map_err(PasskeyError::Rejected)?;
        if handle != user_handle(owner_user_id) {
            return Err(PasskeyError::WrongUser);
        }
        let result = self
            .webauthn
            .finish_discoverable_authentication(
                credential,
                state,
                &[DiscoverableKey::from(&passkey)],
            )
            .map_err(|e| match e {
                WebauthnError::CredentialPossibleCompromise => PasskeyError::PossibleClone,
                other => PasskeyError::Rejected(other),
            })?;
        // The ceremony already required verification; this guards against a library default
        // changing under us, since a passkey counts as two factors only with it.
        if !result.user_verified() {
            return Err(PasskeyError::UserNotVerified);
        }
        passkey.update_credential(&result);
        Ok(Used {
            passkey_json: serde_json::to_string(&passkey).map_err(PasskeyError::Stored)?,
        })
    }
}

fn passkey_from_json(json: &str) -> Result<Passkey, PasskeyError> {
    serde_json::from_str(json).map_err(PasskeyError::Stored)
}

/// The credential id an authentication answer names, as stored (base64url without padding).
pub fn credential_id_of(credential: &PublicKeyCredential) -> String {
    credential_id_text(credential.get_credential_id())
}

fn credential_id_text(raw: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(raw)
}

/// The opaque user handle an authenticator keeps with a user's passkeys. Derived from the user
/// id by hashing, so that it reveals nothing (not even when the account was made, which a ULID
/// would) and needs no column of its own.
pub fn user_handle(user_id: &str) -> Uuid {
    let digest = Sha256::new()
        .chain_update(b"okwallet passkey user handle\0")
        .chain_update(user_id.as_bytes())
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Uuid::from_bytes(bytes)
}

/// Why a passkey name was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a passkey name is 1 to 64 characters without control characters")]
pub struct InvalidName;

/// A passkey's display name: trimmed, 1 to [`NAME_CHARS_MAX`] characters, no control
/// characters; [`DEFAULT_NAME`] when none is given.
pub fn parse_name(name: Option<&str>) -> Result<String, InvalidName> {
    let Some(name) = name else {
        return Ok(DEFAULT_NAME.to_owned());
    };
    let name = name.trim();
    let chars = name.chars().count();
    if (1..=NAME_CHARS_MAX).contains(&chars) && !name.chars().any(char::is_control) {
        Ok(name.to_owned())
    } else {
        Err(InvalidName)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn localhost_and_domains_are_relying_parties_but_addresses_are_not() {
        assert!(RelyingParty::from_public_url("http://localhost:8080").is_ok());
        assert!(RelyingParty::from_public_url("https://wallet.example.com").is_ok());
        assert_eq!(
            RelyingParty::from_public_url("http://127.0.0.1:8080").unwrap_err(),
            RelyingPartyError::NoDomain("http://127.0.0.1:8080".into())
        );
        assert!(matches!(
            RelyingParty::from_public_url("[::1]:8080"),
            Err(RelyingPartyError::NotAUrl(_))
        ));
    }

    #[test]
    fn registration_asks_for_a_verified_discoverable_credential() {
        let rp = RelyingParty::from_public_url("http://localhost:8080").unwrap();
        let started = rp
            .start_registration("01jq7zb4xk2m8s3v6n9r0t5wyc", "a@example.com", &[])
            .unwrap();
        let public_key = &started.options["publicKey"];
        assert_eq!(public_key["rp"]["id"], "localhost");
        let selection = &public_key["authenticatorSelection"];
        assert_eq!(selection["residentKey"], "required");
        assert_eq!(selection["requireResidentKey"], true);
        assert_eq!(selection["userVerification"], "required");
        assert!(!started.state_json.is_empty());

        let started = rp.start_authentication().unwrap();
        assert_eq!(started.options["publicKey"]["userVerification"], "required");
        assert_eq!(started.options["publicKey"]["rpId"], "localhost");
        assert!(started.options.get("mediation").is_none());
    }

    #[test]
    fn user_handles_are_stable_and_distinct() {
        assert_eq!(user_handle("a"), user_handle("a"));
        assert_ne!(user_handle("a"), user_handle("b"));
    }

    #[test]
    fn names_are_short_plain_text() {
        assert_eq!(parse_name(None).unwrap(), "Passkey");
        assert_eq!(parse_name(Some("  MacBook 指纹 ")).unwrap(), "MacBook 指纹");
        assert_eq!(parse_name(Some("   ")), Err(InvalidName));
        assert_eq!(parse_name(Some("a\nb")), Err(InvalidName));
        assert!(parse_name(Some(&"x".repeat(64))).is_ok());
        assert_eq!(parse_name(Some(&"x".repeat(65))), Err(InvalidName));
    }
}
