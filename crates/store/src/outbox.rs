//! The outbox: every mail okwallet sends is first a row here, written in the same transaction as
//! the change it reports wherever that is practical, and sent later by the mailer.
//!
//! Sending is at least once: a sender claims due rows with a lease (a conditional UPDATE that
//! moves `next_attempt_at_ms` forward and counts the attempt) and sends only what it won, so
//! several processes on one PostgreSQL never send a row at the same time; a sender that dies
//! mid-send leaves its rows to be claimed again when the lease runs out. This module never talks
//! SMTP and never decides what a mail says.

use anyhow::Context;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::email_tokens::Purpose;
use crate::{new_id, now_ms, Db};

/// A mail to queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewMail {
    /// The account it is about; `None` for an address that names no account.
    pub user_id: Option<String>,
    pub to_address: String,
    /// What it is (`verify_email`, `new_login`, …), for the dev mailbox and throttles.
    pub kind: String,
    /// `zh-CN` or `en`.
    pub locale: String,
    pub subject: String,
    pub body_text: String,
    /// The single-use link the mail carries, stored (as its hash) together with the mail: there
    /// is never a link without its mail, nor a mail with a link that does not work.
    pub link_token: Option<LinkToken>,
}

/// A single-use link token (see [`crate::email_tokens`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkToken {
    /// `identity::token::token_hash` of the token; the token itself is only in the mail.
    pub token_hash: String,
    pub user_id: String,
    pub purpose: Purpose,
    pub expires_at_ms: i64,
}

/// A queued (or sent) mail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxMessage {
    pub id: String,
    pub user_id: Option<String>,
    pub to_address: String,
    pub kind: String,
    pub locale: String,
    pub subject: String,
    pub body_text: String,
    pub created_at_ms: i64,
    /// Sending attempts so far, counted when a sender claims the row.
    pub attempts: i64,
    pub next_attempt_at_ms: i64,
    pub sent_at_ms: Option<i64>,
    /// Why the last attempt failed, as the mail server or the network said it.
    pub last_error: Option<String>,
}

/// After this many attempts a mail is left unsent (with its last error) for an operator to see.
pub const ATTEMPTS_MAX: i64 = 8;

/// How long a claimed mail belongs to its sender; longer than an SMTP exchange can take, so
/// that only a sender that died loses its claim.
pub const LEASE_MS: i64 = 5 * 60 * 1000;

/// How long to wait after the `attempts`-th failed attempt: 30 s, doubling, at most 2 hours —
/// about 4 hours from the first attempt to the last.
pub fn retry_delay_ms(attempts: i64) -> i64 {
    const FIRST_MS: i64 = 30_000;
    const MAX_MS: i64 = 2 * 3600 * 1000;
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    FIRST_MS.saturating_mul(1_i64 << doublings).min(MAX_MS)
}

const COLUMNS: &str = "id, user_id, to_address, kind, locale, subject, body_text, created_at_ms, \
     attempts, next_attempt_at_ms, sent_at_ms, last_error";

fn message_from_row(row: &AnyRow) -> anyhow::Result<OutboxMessage> {
    Ok(OutboxMessage {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        to_address: row.try_get("to_address")?,
        kind: row.try_get("kind")?,
        locale: row.try_get("locale")?,
        subject: row.try_get("subject")?,
        body_text: row.try_get("body_text")?,
        created_at_ms: row.try_get("created_at_ms")?,
        attempts: row.try_get("attempts")?,
        next_attempt_at_ms: row.try_get("next_attempt_at_ms")?,
        sent_at_ms: row.try_get("sent_at_ms")?,
        last_error: row.try_get("last_error")?,
    })
}

/// Queues `mail`, and stores its link token, on `conn` (inside the caller's transaction); due at
/// once.
pub(crate) async fn insert_mail(
    conn: &mut AnyConnection,
    mail: &NewMail,
    now: i64,
) -> anyhow::Result<String> {
    if let Some(token) = &mail.link_token {
        sqlx::query(
            "INSERT INTO email_tokens (token_hash, user_id, purpose, created_at_ms, expires_at_ms, used_at_ms) \
             VALUES ($1, $2, $3, $4, $5, NULL)",
        )
        .bind(&token.token_hash)
        .bind(&token.user_id)
        .bind(token.purpose.as_str())
        .bind(now)
        .bind(token.expires_at_ms)
        .execute(&mut *conn)
        .await
        .context("while storing an email token")?;
    }
    let id = new_id();
    sqlx::query(
        "INSERT INTO outbox (id, user_id, to_address, kind, locale, subject, body_text, \
         created_at_ms, attempts, next_attempt_at_ms, sent_at_ms, last_error) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $8, NULL, NULL)",
    )
    .bind(&id)
    .bind(mail.user_id.as_deref())
    .bind(&mail.to_address)
    .bind(&mail.kind)
    .bind(&mail.locale)
    .bind(&mail.subject)
    .bind(&mail.body_text)
    .bind(now)
    .execute(conn)
    .await
    .context("while queueing a mail")?;
    Ok(id)
}

impl Db {
    /// Queues a mail (and its link token) on its own, for changes that have no transaction to
    /// share.
    pub async fn enqueue_mail(&self, mail: &NewMail) -> anyhow::Result<String> {
        let mut tx = self.begin_write().await?;
        let id = insert_mail(&mut tx, mail, now_ms()).await?;
        tx.commit().await.context("while queueing a mail")?;
        Ok(id)
    }

    /// Claims up to `limit` due mails for `lease_ms` and returns the ones this caller won. Each
    /// claim is a conditional UPDATE on the due time it read, so of several processes claiming
    /// the same row exactly one succeeds; the claim also counts the attempt, so a mail that
    /// crashes its sender every time still stops after [`ATTEMPTS_MAX`].
    pub async fn claim_due_mail(
        &self,
        limit: i64,
        lease_ms: i64,
    ) -> anyhow::Result<Vec<OutboxMessage>> {
        let now = now_ms();
        let candidates = sqlx::query(
            "SELECT id, next_attempt_at_ms FROM outbox WHERE sent_at_ms IS NULL AND attempts < $1 \
             AND next_attempt_at_ms <= $2 ORDER BY next_attempt_at_ms, id LIMIT $3",
        )
        .bind(ATTEMPTS_MAX)
        .bind(now)
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .context("while looking for due mail")?;
        let mut won = Vec::with_capacity(candidates.len());
        for candidate in candidates {
            let id: String = candidate.try_get("id")?;
            let due: i64 = candidate.try_get("next_attempt_at_ms")?;
            let sql = format!(
                "UPDATE outbox SET next_attempt_at_ms = $1, attempts = attempts + 1 \
                 WHERE id = $2 AND next_attempt_at_ms = $3 AND sent_at_ms IS NULL AND attempts < $4 \
                 RETURNING {COLUMNS}"
            );
            let claimed = sqlx::query(&sql)
                .bind(now.saturating_add(lease_ms))
                .bind(&id)
                .bind(due)
                .bind(ATTEMPTS_MAX)
                .fetch_optional(self.pool())
                .await
                .context("while claiming a mail")?;
            if let Some(row) = claimed {
                won.push(message_from_row(&row)?);
            }
        }
        Ok(won)
    }

    /// Records that the mail went out.
    pub async fn mark_mail_sent(&self, id: &str) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE outbox SET sent_at_ms = $1, last_error = NULL WHERE id = $2 AND sent_at_ms IS NULL",
        )
        .bind(now_ms())
        .bind(id)
        .execute(self.pool())
        .await
        .context("while marking a mail sent")?;
        Ok(())
    }

    /// Records a failed attempt on a claimed mail and when to try again ([`retry_delay_ms`]).
    pub async fn mark_mail_failed(
        &self,
        claimed: &OutboxMessage,
        error: &str,
    ) -> anyhow::Result<()> {
        let error: String = error.chars().take(1000).collect();
        sqlx::query(
            "UPDATE outbox SET last_error = $1, next_attempt_at_ms = $2 WHERE id = $3 AND sent_at_ms IS NULL",
        )
        .bind(error)
        .bind(now_ms().saturating_add(retry_delay_ms(claimed.attempts)))
        .bind(&claimed.id)
        .execute(self.pool())
        .await
        .context("while recording a failed mail")?;
        Ok(())
    }

    /// The newest mails (to `to_address` when given), newest first.
    pub async fn recent_mail(
        &self,
        to_address: Option<&str>,
        limit: i64,
    ) -> anyhow::Result<Vec<OutboxMessage>> {
        let rows = match to_address {
            Some(to) => {
                let sql = format!(
                    "SELECT {COLUMNS} FROM outbox WHERE to_address = $1 \
                     ORDER BY created_at_ms DESC, id DESC LIMIT $2"
                );
                sqlx::query(&sql)
                    .bind(to)
                    .bind(limit)
                    .fetch_all(self.pool())
                    .await
            }
            None => {
                let sql = format!(
                    "SELECT {COLUMNS} FROM outbox ORDER BY created_at_ms DESC, id DESC LIMIT $1"
                );
                sqlx::query(&sql).bind(limit).fetch_all(self.pool()).await
            }
        }
        .context("while listing mail")?;
        rows.iter().map(message_from_row).collect()
    }

    /// How many mails of `kind` were queued for `to_address` since `since_ms`, and when the
    /// newest of them was; for throttling what anyone can make us send.
    pub async fn mail_sent_since(
        &self,
        to_address: &str,
        kind: &str,
        since_ms: i64,
    ) -> anyhow::Result<(i64, Option<i64>)> {
        let row = sqlx::query(
            "SELECT COUNT(*), CAST(MAX(created_at_ms) AS BIGINT) FROM outbox \
             WHERE to_address = $1 AND kind = $2 AND created_at_ms >= $3",
        )
        .bind(to_address)
        .bind(kind)
        .bind(since_ms)
        .fetch_one(self.pool())
        .await
        .context("while counting recent mail")?;
        Ok((row.try_get(0)?, row.try_get(1)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_a_cap() {
        assert_eq!(retry_delay_ms(1), 30_000);
        assert_eq!(retry_delay_ms(2), 60_000);
        assert_eq!(retry_delay_ms(3), 120_000);
        assert_eq!(retry_delay_ms(9), 2 * 3600 * 1000);
        assert_eq!(retry_delay_ms(i64::MAX), 2 * 3600 * 1000);
        assert_eq!(retry_delay_ms(0), 30_000);
        assert_eq!(retry_delay_ms(-5), 30_000);
    }
}
