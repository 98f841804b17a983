//! The mail a user gets from the handlers: an `identity::notice` rendered in the user's language
//! with their anti-phishing code, the single-use link it carries (made here, from
//! `Settings::public_url`), ready for `store`'s outbox.
//!
//! This module never sends anything (the mailer in the binary does), never touches the database
//! (handlers queue what it composes, in the transaction of the change it reports), and never
//! logs a link: a link's token is a secret until it is spent.

use identity::notice::{self, Locale, Notice, Recipient};
use identity::token::{token_hash, Token};
use store::email_tokens::Purpose;
use store::outbox::{LinkToken, NewMail};
use store::sessions::Origin;
use store::users::User;

use crate::Settings;

/// How long a verification link works.
pub const VERIFY_EMAIL_TTL_MS: i64 = 48 * 3600 * 1000;
/// How long a password-reset link works.
pub const PASSWORD_RESET_TTL_MS: i64 = 30 * 60 * 1000;
/// How long a freeze link works.
pub const FREEZE_TTL_MS: i64 = 7 * 24 * 3600 * 1000;

/// The page a link of `purpose` opens (built by the pages; it POSTs the token to the API,
/// since a GET must never act: mail scanners open links before people do).
fn page(purpose: Purpose) -> &'static str {
    match purpose {
        Purpose::VerifyEmail => "/verify-email",
        Purpose::PasswordReset => "/reset-password",
        Purpose::Freeze => "/freeze",
    }
}

fn ttl_ms(purpose: Purpose) -> i64 {
    match purpose {
        Purpose::VerifyEmail => VERIFY_EMAIL_TTL_MS,
        Purpose::PasswordReset => PASSWORD_RESET_TTL_MS,
        Purpose::Freeze => FREEZE_TTL_MS,
    }
}

/// A fresh link for `user` and the token record that makes it work.
fn link(settings: &Settings, user: &User, purpose: Purpose) -> (String, LinkToken) {
    let token = Token::generate();
    let url = format!(
        "{}{}?token={}",
        settings.public_url,
        page(purpose),
        token.as_str()
    );
    let record = LinkToken {
        token_hash: token_hash(token.as_str()),
        user_id: user.id.clone(),
        purpose,
        expires_at_ms: store::now_ms().saturating_add(ttl_ms(purpose)),
    };
    (url, record)
}

/// `notice` rendered for `user`, addressed to them.
fn compose(user: &User, notice: &Notice<'_>, link_token: Option<LinkToken>) -> NewMail {
    let locale = Locale::from_tag(&user.locale);
    let mail = notice::render(
        notice,
        &Recipient {
            locale,
            anti_phishing_code: user.anti_phishing_code.as_deref(),
        },
    );
    NewMail {
        user_id: Some(user.id.clone()),
        to_address: user.email.to_string(),
        kind: mail.kind.to_owned(),
        locale: locale.tag().to_owned(),
        subject: mail.subject,
        body_text: mail.body_text,
        link_token,
    }
}

/// `notice` for `user`, with no link token of its own (its links are pages, or signed).
pub fn for_user(user: &User, notice: &Notice<'_>) -> NewMail {
    compose(user, notice, None)
}

/// Whole hours, rounded up, for texts that say how long something lasts.
fn hours(ms: i64) -> u64 {
    u64::try_from(ms.max(0)).unwrap_or(0).div_ceil(3_600_000)
}

pub fn verify_email(settings: &Settings, user: &User) -> NewMail {
    let (url, token) = link(settings, user, Purpose::VerifyEmail);
    let notice = Notice::VerifyEmail {
        link: &url,
        valid_for_h: hours(VERIFY_EMAIL_TTL_MS),
    };
    compose(user, &notice, Some(token))
}

pub fn password_reset(settings: &Settings, user: &User, origin: &Origin) -> NewMail {
    let (url, token) = link(settings, user, Purpose::PasswordReset);
    let notice = Notice::PasswordReset {
        link: &url,
        valid_for_min: u64::try_from(PASSWORD_RESET_TTL_MS / 60_000).unwrap_or(30),
        ip: &origin.ip,
        withdrawal_lock_h: hours(settings.withdrawal_lock_ms),
    };
    compose(user, &notice, Some(token))
}

pub fn new_login(settings: &Settings, user: &User, origin: &Origin, at_ms: i64) -> NewMail {
    let (url, token) = link(settings, user, Purpose::Freeze);
    let notice = Notice::NewLogin {
        at_ms,
        ip: &origin.ip,
        user_agent: &origin.user_agent,
        freeze_link: &url,
    };
    compose(user, &notice, Some(token))
}

/// Carries a ready reset link: the lockout's owner can end it at once.
pub fn account_locked(settings: &Settings, user: &User, locked_for_s: u64) -> NewMail {
    let (url, token) = link(settings, user, Purpose::PasswordReset);
    let notice = Notice::AccountLocked {
        locked_for_s,
        reset_link: &url,
        reset_valid_for_min: u64::try_from(PASSWORD_RESET_TTL_MS / 60_000).unwrap_or(30),
    };
    compose(user, &notice, Some(token))
}

pub fn password_changed(settings: &Settings, user: &User, origin: &Origin, at_ms: i64) -> NewMail {
    let (url, token) = link(settings, user, Purpose::Freeze);
    let notice = Notice::PasswordChanged {
        at_ms,
        ip: &origin.ip,
        withdrawal_lock_h: hours(settings.withdrawal_lock_ms),
        freeze_link: &url,
    };
    compose(user, &notice, Some(token))
}

pub fn withdrawal_requested(
    settings: &Settings,
    user: &User,
    origin: &Origin,
    amount: &str,
    address: &str,
) -> NewMail {
    let (url, token) = link(settings, user, Purpose::Freeze);
    let notice = Notice::WithdrawalRequested {
        at_ms: store::now_ms(),
        ip: &origin.ip,
        amount,
        address,
        freeze_link: &url,
    };
    compose(user, &notice, Some(token))
}

pub fn withdrawal_address_added(
    settings: &Settings,
    user: &User,
    origin: &Origin,
    address: &str,
    usable_from_ms: i64,
) -> NewMail {
    let (url, token) = link(settings, user, Purpose::Freeze);
    let notice = Notice::WithdrawalAddressAdded {
        at_ms: store::now_ms(),
        ip: &origin.ip,
        address,
        usable_from_ms,
        freeze_link: &url,
    };
    compose(user, &notice, Some(token))
}

pub fn mfa_enabled(settings: &Settings, user: &User, origin: &Origin, at_ms: i64) -> NewMail {
    let (url, token) = link(settings, user, Purpose::Freeze);
    let notice = Notice::MfaEnabled {
        at_ms,
        ip: &origin.ip,
        withdrawal_lock_h: hours(settings.withdrawal_lock_ms),
        freeze_link: &url,
    };
    compose(user, &notice, Some(token))
}

pub fn frozen(settings: &Settings, user: &User, origin: &Origin, at_ms: i64) -> NewMail {
    let notice = Notice::Frozen {
        at_ms,
        ip: &origin.ip,
        cooling_off_h: hours(settings.unfreeze_cooling_off_ms),
    };
    compose(user, &notice, None)
}

/// Carries a freeze link, which cancels the unfreeze: someone who stole the password and the
/// second factor cannot undo the owner's freeze behind their back.
pub fn unfreeze_scheduled(settings: &Settings, user: &User, unfreeze_at_ms: i64) -> NewMail {
    let (url, token) = link(settings, user, Purpose::Freeze);
    let notice = Notice::UnfreezeScheduled {
        unfreeze_at_ms,
        freeze_link: &url,
    };
    compose(user, &notice, Some(token))
}

/// For `user` as they are after the change, so that the mail already shows the new code.
pub fn anti_phishing_code_changed(
    settings: &Settings,
    user: &User,
    origin: &Origin,
    at_ms: i64,
) -> NewMail {
    let (url, token) = link(settings, user, Purpose::Freeze);
    let notice = Notice::AntiPhishingCodeChanged {
        at_ms,
        ip: &origin.ip,
        freeze_link: &url,
    };
    compose(user, &notice, Some(token))
}

pub fn sign_up_attempt(settings: &Settings, user: &User, origin: &Origin, at_ms: i64) -> NewMail {
    let reset_page = format!("{}{}", settings.public_url, page(Purpose::PasswordReset));
    let notice = Notice::SignUpAttempt {
        at_ms,
        ip: &origin.ip,
        reset_page: &reset_page,
    };
    compose(user, &notice, None)
}
