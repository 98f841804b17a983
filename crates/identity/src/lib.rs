//! Who a person is to okwallet: an email address, a role, a password.
//!
//! Pure rules and hashing only; never HTTP, HTML or SQL. Around these types: [`lockout`] decides
//! when log-ins are throttled, [`token`] makes and hashes session and API tokens, [`strength`]
//! refuses guessable passwords, [`totp`] and [`passkey`] are the second factors (a passkey also
//! signs in by itself), and [`notice`] writes the mails we send.

pub mod lockout;
pub mod notice;
pub mod passkey;
pub mod sealed;
pub mod strength;
pub mod token;
pub mod totp;

use std::fmt;
use std::str::FromStr;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// An email address, trimmed and lower-cased, with one `@`, a local part and a dotted domain.
///
/// Deliberately not a full RFC 5322 parser: the address is proven by the mail that reaches it,
/// this only refuses what can never be an address.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email(String);

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("an email address looks like name@example.com")]
    Malformed,
    #[error("an email address is at most 254 characters")]
    TooLong,
}

impl Email {
    pub fn parse(text: &str) -> Result<Email, EmailError> {
        let email = text.trim().to_lowercase();
        if email.len() > 254 {
            return Err(EmailError::TooLong);
        }
        let (local, domain) = email.split_once('@').ok_or(EmailError::Malformed)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '.' || c == '-');
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '@');
        if domain_ok && local_ok {
            Ok(Email(email))
        } else {
            Err(EmailError::Malformed)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before the `@`, which people often reuse inside their passwords.
    pub fn local_part(&self) -> &str {
        self.0
            .split_once('@')
            .map_or(self.0.as_str(), |(local, _)| local)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a person may do. Access is denied unless a route names the role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    User,
    Merchant,
    Agent,
    Supervisor,
    Admin,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::User,
        Role::Merchant,
        Role::Agent,
        Role::Supervisor,
        Role::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Merchant => "merchant",
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }

    /// Staff roles see other people's data and must have a second factor (issue 3).
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Agent | Role::Supervisor | Role::Admin)
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Role, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                format!("unknown role {s:?}; one of user, merchant, agent, supervisor, admin")
            })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Passwords shorter than this are refused outright; strength is judged separately.
pub const PASSWORD_LEN_MIN: usize = 10;
/// Longer inputs are refused so that hashing cost cannot be used against the server.
pub const PASSWORD_LEN_MAX: usize = 256;

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("a password needs at least {PASSWORD_LEN_MIN} characters")]
    TooShort,
    #[error("a password has at most {PASSWORD_LEN_MAX} characters")]
    TooLong,
}

/// Argon2id with OWASP's first recommended configuration: 19 MiB of memory, 2 passes, 1 lane.
///
/// OWASP's Password Storage Cheat Sheet lists equivalent (m, t) pairs; 19 MiB / t=2 keeps a
/// log-in near 20–40 ms on one core of a small server, so two cores can absorb a burst of
/// log-ins without the memory a 46 MiB setting would pin per concurrent hash.
pub fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("constant argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Refuses a password whose length in characters is outside
/// [`PASSWORD_LEN_MIN`]..=[`PASSWORD_LEN_MAX`]; the one place those bounds are applied.
pub fn check_password_length(password: &str) -> Result<(), PasswordError> {
    let chars = password.chars().count();
    if chars < PASSWORD_LEN_MIN {
        Err(PasswordError::TooShort)
    } else if chars > PASSWORD_LEN_MAX {
        Err(PasswordError::TooLong)
    } else {
        Ok(())
    }
}

/// Hashes a password into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    check_password_length(password)?;
    let salt = SaltString::generate(&mut OsRng);
    Ok(argon2()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashing with valid parameters cannot fail")
        .to_string())
}

/// Checks a password against a stored PHC string; any malformed hash is a mismatch.
pub fn verify_password(password: &str, phc: &str) -> bool {
    if password.chars().count() > PASSWORD_LEN_MAX {
        return false;
    }
    PasswordHash::new(phc).is_ok_and(|h| argon2().verify_password(password.as_bytes(), &h).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised() {
        assert_eq!(
            Email::parse("  Alice@Example.COM ").unwrap().as_str(),
            "alice@example.com"
        );
        assert_eq!(
            Email::parse("张三@例子.中国").unwrap().as_str(),
            "张三@例子.中国"
        );
        for bad in [
            "",
            "alice",
            "@example.com",
            "alice@",
            "alice@example",
            "a b@example.com",
            "a@b..c",
            "a@.b.c",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Email::parse(&format!("{}@example.com", "a".repeat(250))),
            Err(EmailError::TooLong)
        );
        assert_eq!(
            Email::parse("Zhang.Wei@example.com").unwrap().local_part(),
            "zhang.wei"
        );
    }

    #[test]
    fn roles_parse_by_name_only() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("root".parse::<Role>().is_err());
        assert!(Role::Agent.is_staff() && !Role::Merchant.is_staff());
    }

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let phc = hash_password("correct horse battery").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify_password("correct horse battery", &phc));
        assert!(!verify_password("correct horse battery!", &phc));
        assert!(!verify_password("anything", "not a hash"));
        assert_ne!(
            hash_password("correct horse battery").unwrap(),
            phc,
            "salts differ"
        );
        assert_eq!(hash_password("short"), Err(PasswordError::TooShort));
        assert_eq!(hash_password(&"x".repeat(257)), Err(PasswordError::TooLong));
    }

    #[test]
    fn password_length_counts_characters_not_bytes() {
        // Ten Chinese characters are thirty bytes; the bound is on what a person types.
        assert_eq!(check_password_length("一二三四五六七八九十"), Ok(()));
        assert_eq!(
            check_password_length("一二三四五六七八九"),
            Err(PasswordError::TooShort)
        );
        assert_eq!(check_password_length(&"密".repeat(256)), Ok(()));
        assert_eq!(
            check_password_length(&"密".repeat(257)),
            Err(PasswordError::TooLong)
        );
    }
}
