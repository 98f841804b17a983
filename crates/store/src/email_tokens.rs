//! Single-use links sent by email: verify an address, reset a password, freeze an account.
//!
//! Only a token's SHA-256 is stored (`identity::token::token_hash`); its value exists only in
//! the mail that carries it, and it is stored together with that mail
//! ([`crate::outbox::NewMail::link_token`]). A token is spent by one UPDATE that sets `used_at_ms` while it is
//! still NULL and the token has not expired, so of two concurrent uses exactly one succeeds. The
//! changes a token authorises are made in the same transaction as spending it: a link is never
//! spent without its effect, nor the other way round.

use anyhow::Context;
use sqlx::{AnyConnection, Row};

use crate::outbox::{insert_mail, NewMail};
use crate::sessions::{insert_security_event, Origin};
use crate::users::{freeze_in, lock_withdrawals_in, revoke_sessions_in};
use crate::{now_ms, Db};

/// What a token may be used for; a token of one purpose is unknown to every other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    VerifyEmail,
    PasswordReset,
    Freeze,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::VerifyEmail => "verify_email",
            Purpose::PasswordReset => "password_reset",
            Purpose::Freeze => "freeze",
        }
    }
}

/// What a token is now, looked at without spending it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenState {
    /// Unused and not expired: it would open `user_id`'s account to its purpose.
    Valid {
        user_id: String,
    },
    Used,
    Expired,
    /// No token of this purpose has this hash.
    Unknown,
}

/// A password reset to make with a reset token, all or nothing.
#[derive(Clone, Debug)]
pub struct PasswordReset<'a> {
    pub token_hash: &'a str,
    /// The account the token was issued for (as [`Db::email_token_state`] said).
    pub user_id: &'a str,
    pub password_hash: &'a str,
    /// Withdrawals stay refused until then.
    pub withdrawals_locked_until_ms: i64,
    /// The login throttle to clear, so that a locked-out owner gets in at once.
    pub throttle_key: &'a str,
    pub origin: &'a Origin,
    /// The owner's notice that the password changed.
    pub mail: &'a NewMail,
}

/// Spends the token on `conn` if it is unused, unexpired, of `purpose` and (when given) issued to
/// `user_id`; answers whose it was.
async fn consume_in(
    conn: &mut AnyConnection,
    token_hash: &str,
    purpose: Purpose,
    user_id: Option<&str>,
    now: i64,
) -> anyhow::Result<Option<String>> {
    let row = sqlx::query(
        "UPDATE email_tokens SET used_at_ms = $1 WHERE token_hash = $2 AND purpose = $3 \
         AND used_at_ms IS NULL AND expires_at_ms > $1 AND ($4 = '' OR user_id = $4) \
         RETURNING user_id",
    )
    .bind(now)
    .bind(token_hash)
    .bind(purpose.as_str())
    .bind(user_id.unwrap_or(""))
    .fetch_optional(conn)
    .await
    .context("while spending an email token")?;
    row.map(|r| r.try_get::<String, _>("user_id"))
        .transpose()
        .map_err(Into::into)
}

impl Db {
    /// What the token is, without spending it.
    pub async fn email_token_state(
        &self,
        token_hash: &str,
        purpose: Purpose,
    ) -> anyhow::Result<TokenState> {
        let row = sqlx::query(
            "SELECT user_id, expires_at_ms, used_at_ms FROM email_tokens \
             WHERE token_hash = $1 AND purpose = $2",
        )
        .bind(token_hash)
        .bind(purpose.as_str())
        .fetch_optional(self.pool())
        .await
        .context("while reading an email token")?;
        let Some(row) = row else {
            return Ok(TokenState::Unknown);
        };
        if row.try_get::<Option<i64>, _>("used_at_ms")?.is_some() {
            return Ok(TokenState::Used);
        }
        if row.try_get::<i64, _>("expires_at_ms")? <= now_ms() {
            return Ok(TokenState::Expired);
        }
        Ok(TokenState::Valid {
            user_id: row.try_get("user_id")?,
        })
    }

    /// Spends the token: the user it was issued to, the first time only; `None` when it is
    /// unknown, used, expired or of another purpose.
    pub async fn consume_email_token(
        &self,
        token_hash: &str,
        purpose: Purpose,
    ) -> anyhow::Result<Option<String>> {
        let mut conn = self.pool().acquire().await?;
        consume_in(&mut conn, token_hash, purpose, None, now_ms()).await
    }

    /// Spends a verification token and marks the address verified, in one transaction; the
    /// user whose address it was, or `None` when the token cannot be spent.
    pub async fn verify_email_with_token(
        &self,
        token_hash: &str,
        origin: &Origin,
    ) -> anyhow::Result<Option<String>> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let Some(user_id) =
            consume_in(&mut tx, token_hash, Purpose::VerifyEmail, None, now).await?
        else {
            return Ok(None);
        };
        let newly = sqlx::query(
            "UPDATE users SET email_verified_at_ms = $1 WHERE id = $2 AND email_verified_at_ms IS NULL",
        )
        .bind(now)
        .bind(&user_id)
        .execute(&mut *tx)
        .await
        .context("while marking an address verified")?
        .rows_affected()
            == 1;
        if newly {
            insert_security_event(&mut tx, &user_id, "email_verified", origin, "{}", now).await?;
        }
        tx.commit().await.context("while verifying an address")?;
        Ok(Some(user_id))
    }

    /// Spends a freeze token issued to `user_id` and freezes the account (every session
    /// revoked), logs it and queues `mail`, in one transaction. `None` when the token cannot be
    /// spent; else whether the account was newly frozen.
    pub async fn freeze_with_token(
        &self,
        token_hash: &str,
        user_id: &str,
        origin: &Origin,
        mail: &NewMail,
    ) -> anyhow::Result<Option<bool>> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        if consume_in(&mut tx, token_hash, Purpose::Freeze, Some(user_id), now)
            .await?
            .is_none()
        {
            return Ok(None);
        }
        let frozen = freeze_in(&mut tx, user_id, "frozen", now).await?;
        insert_security_event(
            &mut tx,
            user_id,
            "frozen",
            origin,
            r#"{"by":"email_link"}"#,
            now,
        )
        .await?;
        insert_mail(&mut tx, mail, now).await?;
        tx.commit()
            .await
            .context("while freezing with an email link")?;
        Ok(Some(frozen))
    }

    /// Spends a reset token and, in the same transaction: sets the new password hash, revokes
    /// every session, clears the login throttle, spends the account's other reset tokens, locks
    /// withdrawals, logs `password_reset` and queues the notice. False when the token cannot be
    /// spent (used meanwhile, expired, or issued to someone else) — then nothing changed.
    pub async fn reset_password_with_token(
        &self,
        reset: &PasswordReset<'_>,
    ) -> anyhow::Result<bool> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        if consume_in(
            &mut tx,
            reset.token_hash,
            Purpose::PasswordReset,
            Some(reset.user_id),
            now,
        )
        .await?
        .is_none()
        {
            return Ok(false);
        }
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(reset.password_hash)
            .bind(reset.user_id)
            .execute(&mut *tx)
            .await
            .context("while setting a new password")?;
        revoke_sessions_in(&mut tx, reset.user_id, "password_reset", now).await?;
        sqlx::query("DELETE FROM login_throttles WHERE key = $1")
            .bind(reset.throttle_key)
            .execute(&mut *tx)
            .await
            .context("while clearing a login throttle")?;
        // Other reset links in the owner's mailbox must not work after the password changed.
        sqlx::query(
            "UPDATE email_tokens SET used_at_ms = $1 WHERE user_id = $2 AND purpose = $3 AND used_at_ms IS NULL",
        )
        .bind(now)
        .bind(reset.user_id)
        .bind(Purpose::PasswordReset.as_str())
        .execute(&mut *tx)
        .await
        .context("while spending other reset links")?;
        lock_withdrawals_in(&mut tx, reset.user_id, reset.withdrawals_locked_until_ms).await?;
        insert_security_event(
            &mut tx,
            reset.user_id,
            "password_reset",
            reset.origin,
            "{}",
            now,
        )
        .await?;
        insert_mail(&mut tx, reset.mail, now).await?;
        tx.commit().await.context("while resetting a password")?;
        Ok(true)
    }
}
