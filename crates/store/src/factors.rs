//! Second factors: TOTP secrets and recovery codes.
//!
//! Replay protection is enforced here, atomically: a TOTP step is accepted only by an UPDATE
//! that moves `last_used_step` forward, and a recovery code only by the UPDATE that marks it
//! used, so two concurrent log-ins with the same code cannot both pass.

use anyhow::Context;
use sqlx::Row;

use crate::{now_ms, Db};

/// A user's TOTP factor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TotpFactor {
    /// The secret as stored: sealed with the operator's key (`v1.…`, see `identity::sealed`),
    /// or plain base32 for an enrolment from before sealing. The column keeps its old name.
    pub secret_base32: String,
    pub confirmed: bool,
    pub last_used_step: i64,
}

impl Db {
    /// Starts (or restarts) an enrolment with a new secret; refuses when a confirmed factor
    /// exists (returns false).
    pub async fn start_totp(&self, user_id: &str, secret_base32: &str) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "INSERT INTO totp_factors (user_id, secret_base32, confirmed_at_ms, last_used_step, created_at_ms) \
             VALUES ($1, $2, NULL, 0, $3) ON CONFLICT (user_id) DO UPDATE SET secret_base32 = excluded.secret_base32, \
             created_at_ms = excluded.created_at_ms WHERE totp_factors.confirmed_at_ms IS NULL",
        )
        .bind(user_id)
        .bind(secret_base32)
        .bind(now_ms())
        .execute(self.pool())
        .await
        .context("while starting a TOTP enrolment")?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn totp_factor(&self, user_id: &str) -> anyhow::Result<Option<TotpFactor>> {
        let row = sqlx::query(
            "SELECT secret_base32, confirmed_at_ms, last_used_step FROM totp_factors WHERE user_id = $1",
        )
        .bind(user_id)
        .fetch_optional(self.pool())
        .await
        .context("while reading a TOTP factor")?;
        row.map(|r| {
            Ok(TotpFactor {
                secret_base32: r.try_get("secret_base32")?,
                confirmed: r.try_get::<Option<i64>, _>("confirmed_at_ms")?.is_some(),
                last_used_step: r.try_get("last_used_step")?,
            })
        })
        .transpose()
    }

    /// Confirms the enrolment with the step of a valid code and replaces the recovery codes, in
    /// one transaction. False when there was nothing to confirm or the step was already used.
    pub async fn confirm_totp(
        &self,
        user_id: &str,
        step: i64,
        code_hashes: &[String],
    ) -> anyhow::Result<bool> {
        let mut tx = self.pool().begin().await?;
        let done = sqlx::query(
            "UPDATE totp_factors SET confirmed_at_ms = $1, last_used_step = $2 \
             WHERE user_id = $3 AND confirmed_at_ms IS NULL AND last_used_step < $2",
        )
        .bind(now_ms())
        .bind(step)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        for hash in code_hashes {
            sqlx::query(
                "INSERT INTO recovery_codes (user_id, code_hash, used_at_ms) VALUES ($1, $2, NULL)",
            )
            .bind(user_id)
            .bind(hash)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit()
            .await
            .context("while confirming a TOTP factor")?;
        Ok(true)
    }

    /// Spends a TOTP step: true only if it is newer than every step used before.
    pub async fn use_totp_step(&self, user_id: &str, step: i64) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE totp_factors SET last_used_step = $1 WHERE user_id = $2 \
             AND confirmed_at_ms IS NOT NULL AND last_used_step < $1",
        )
        .bind(step)
        .bind(user_id)
        .execute(self.pool())
        .await
        .context("while spending a TOTP step")?;
        Ok(done.rows_affected() == 1)
    }

    /// Spends a recovery code: true only the first time.
    pub async fn use_recovery_code(&self, user_id: &str, code_hash: &str) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE recovery_codes SET used_at_ms = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at_ms IS NULL",
        )
        .bind(now_ms())
        .bind(user_id)
        .bind(code_hash)
        .execute(self.pool())
        .await
        .context("while spending a recovery code")?;
        Ok(done.rows_affected() == 1)
    }

    /// Recovery codes not used yet.
    pub async fn recovery_codes_left(&self, user_id: &str) -> anyhow::Result<i64> {
        let row = sqlx::query(
            "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at_ms IS NULL",
        )
        .bind(user_id)
        .fetch_one(self.pool())
        .await?;
        Ok(row.try_get(0)?)
    }
}
