//! People: creating and finding users.

use anyhow::Context;
use identity::{Email, Role};
use sqlx::{AnyConnection, Row};

use crate::outbox::{insert_mail, NewMail};
use crate::{new_id, now_ms, Db};

/// A user as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub email: Email,
    pub role: Role,
    pub locale: String,
    pub password_hash: String,
    /// When the owner froze the account; `None` when it never was (or was unfrozen).
    pub frozen_at_ms: Option<i64>,
    /// When a requested unfreeze takes effect (after the cooling-off period).
    pub unfreeze_at_ms: Option<i64>,
    /// The phrase every message from us shows, so that the user can tell us from phishers.
    pub anti_phishing_code: Option<String>,
    /// Withdrawals stay refused until then, after a password or second-factor change.
    pub withdrawals_locked_until_ms: Option<i64>,
    /// When the owner proved that mail to `email` reaches them (the verification link).
    pub email_verified_at_ms: Option<i64>,
    /// Withdrawals only to address-book entries past their time-lock (on unless turned off).
    pub withdrawal_allowlist: bool,
}

impl User {
    /// Frozen now: frozen, and no unfreeze has come into effect.
    pub fn is_frozen(&self, now_ms: i64) -> bool {
        self.frozen_at_ms.is_some() && self.unfreeze_at_ms.is_none_or(|at| now_ms < at)
    }
}

pub(crate) const USER_COLUMNS: &str =
    "id, email, role, locale, password_hash, frozen_at_ms, unfreeze_at_ms, \
     anti_phishing_code, withdrawals_locked_until_ms, email_verified_at_ms, withdrawal_allowlist";

pub(crate) fn user_from_row(row: &sqlx::any::AnyRow) -> anyhow::Result<User> {
    let email: String = row.try_get("email")?;
    let role: String = row.try_get("role")?;
    Ok(User {
        id: row.try_get("id")?,
        email: Email::parse(&email).context("stored email")?,
        role: role.parse().map_err(anyhow::Error::msg)?,
        locale: row.try_get("locale")?,
        password_hash: row.try_get("password_hash")?,
        frozen_at_ms: row.try_get("frozen_at_ms")?,
        unfreeze_at_ms: row.try_get("unfreeze_at_ms")?,
        anti_phishing_code: row.try_get("anti_phishing_code")?,
        withdrawals_locked_until_ms: row.try_get("withdrawals_locked_until_ms")?,
        email_verified_at_ms: row.try_get("email_verified_at_ms")?,
        withdrawal_allowlist: row.try_get::<i64, _>("withdrawal_allowlist")? != 0,
    })
}

/// Why a user could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    #[error("that email address is already registered")]
    EmailTaken,
    #[error(transparent)]
    Storage(#[from] anyhow::Error),
}

impl Db {
    /// Creates a user. An existing email is reported, never overwritten.
    pub async fn create_user(
        &self,
        email: &Email,
        password_hash: &str,
        role: Role,
        locale: &str,
    ) -> Result<User, CreateUserError> {
        let id = new_id();
        let inserted = sqlx::query(
            "INSERT INTO users (id, email, password_hash, role, locale, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (email) DO NOTHING RETURNING id",
        )
        .bind(&id)
        .bind(email.as_str())
        .bind(password_hash)
        .bind(role.as_str())
        .bind(locale)
        .bind(now_ms())
        .fetch_optional(self.pool())
        .await
        .context("while creating a user")?;
        if inserted.is_none() {
            return Err(CreateUserError::EmailTaken);
        }
        Ok(User {
            id,
            email: email.clone(),
            role,
            locale: locale.to_owned(),
            password_hash: password_hash.to_owned(),
            frozen_at_ms: None,
            unfreeze_at_ms: None,
            anti_phishing_code: None,
            withdrawals_locked_until_ms: None,
            email_verified_at_ms: None,
            withdrawal_allowlist: true,
        })
    }

    /// The id of the user with this email. Emails never change and users are never deleted, so
    /// a found id is remembered for the life of the process (a miss is not: the address may sign
    /// up later).
    pub async fn user_id_by_email(&self, email: &Email) -> anyhow::Result<Option<String>> {
        if let Some(id) = self
            .user_ids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(email.as_str())
        {
            return Ok(Some(id.clone()));
        }
        let row = sqlx::query("SELECT id FROM users WHERE email = $1")
            .bind(email.as_str())
            .fetch_optional(self.pool())
            .await
            .context("while finding a user by email")?;
        let Some(row) = row else {
            return Ok(None);
        };
        let id: String = row.try_get("id")?;
        let mut cache = self.user_ids.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= 100_000 {
            cache.clear();
        }
        cache.insert(email.as_str().to_owned(), id.clone());
        Ok(Some(id))
    }

    pub async fn user_by_email(&self, email: &Email) -> anyhow::Result<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1");
        let row = sqlx::query(&sql)
            .bind(email.as_str())
            .fetch_optional(self.pool())
            .await
            .context("while finding a user")?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// Users by sign-up time, newest first, for the operator's console.
    pub async fn users_newest_first(&self, limit: i64) -> anyhow::Result<Vec<User>> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users ORDER BY created_at_ms DESC, id DESC LIMIT $1"
        );
        let rows = sqlx::query(&sql)
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .context("while listing users")?;
        rows.iter().map(user_from_row).collect()
    }

    /// These users, by id (unknown ids are left out).
    pub async fn users_by_ids(
        &self,
        ids: &[String],
    ) -> anyhow::Result<std::collections::HashMap<String, User>> {
        let mut out = std::collections::HashMap::new();
        for chunk in ids.chunks(256) {
            let list = crate::padded(chunk);
            let sql = format!(
                "SELECT {USER_COLUMNS} FROM users WHERE id IN ({})",
                crate::placeholders(self.backend(), 1, list.len())
            );
            let mut q = sqlx::query(&sql);
            for id in &list {
                q = q.bind(id);
            }
            for row in q
                .fetch_all(self.pool())
                .await
                .context("while reading users")?
            {
                let user = user_from_row(&row)?;
                out.insert(user.id.clone(), user);
            }
        }
        Ok(out)
    }

    /// Everyone holding one of `roles`, oldest account first.
    pub async fn users_with_roles(&self, roles: &[Role]) -> anyhow::Result<Vec<User>> {
        let mut users = Vec::new();
        for role in roles {
            let rows = sqlx::query(&format!(
                "SELECT {USER_COLUMNS} FROM users WHERE role = $1 ORDER BY created_at_ms, id"
            ))
            .bind(role.as_str())
            .fetch_all(self.pool())
            .await
            .context("while listing users by role")?;
            for row in &rows {
                users.push(user_from_row(row)?);
            }
        }
        Ok(users)
    }

    pub async fn user_by_id(&self, id: &str) -> anyhow::Result<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .context("while finding a user")?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// Freezes the account and revokes every session in one transaction. Returns false when it
    /// was already frozen with no unfreeze pending (sessions are revoked either way).
    pub async fn freeze_user(&self, user_id: &str, reason: &str) -> anyhow::Result<bool> {
        self.freeze_user_and_notify(user_id, reason, None).await
    }

    /// [`Db::freeze_user`], and queues `mail` (the owner's notice) in the same transaction, so
    /// that a freeze is never recorded without its notice or the other way round.
    pub async fn freeze_user_and_notify(
        &self,
        user_id: &str,
        reason: &str,
        mail: Option<&NewMail>,
    ) -> anyhow::Result<bool> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let frozen = freeze_in(&mut tx, user_id, reason, now).await?;
        if let Some(mail) = mail {
            insert_mail(&mut tx, mail, now).await?;
        }
        tx.commit().await.context("while freezing a user")?;
        Ok(frozen)
    }

    /// Schedules the end of a freeze at `at_ms`; false when the account is not frozen.
    pub async fn schedule_unfreeze(&self, user_id: &str, at_ms: i64) -> anyhow::Result<bool> {
        self.schedule_unfreeze_and_notify(user_id, at_ms, None)
            .await
    }

    /// [`Db::schedule_unfreeze`], and queues `mail` in the same transaction when it happens.
    pub async fn schedule_unfreeze_and_notify(
        &self,
        user_id: &str,
        at_ms: i64,
        mail: Option<&NewMail>,
    ) -> anyhow::Result<bool> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE users SET unfreeze_at_ms = $1 WHERE id = $2 AND frozen_at_ms IS NOT NULL AND unfreeze_at_ms IS NULL",
        )
        .bind(at_ms)
        .bind(user_id)
        .execute(&mut *tx)
        .await
        .context("while scheduling an unfreeze")?;
        let scheduled = done.rows_affected() == 1;
        if let (true, Some(mail)) = (scheduled, mail) {
            insert_mail(&mut tx, mail, now_ms()).await?;
        }
        tx.commit().await.context("while scheduling an unfreeze")?;
        Ok(scheduled)
    }

    pub async fn set_anti_phishing_code(&self, user_id: &str, code: &str) -> anyhow::Result<()> {
        self.set_anti_phishing_code_and_notify(user_id, code, None)
            .await
    }

    /// [`Db::set_anti_phishing_code`], and queues `mail` in the same transaction.
    pub async fn set_anti_phishing_code_and_notify(
        &self,
        user_id: &str,
        code: &str,
        mail: Option<&NewMail>,
    ) -> anyhow::Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE users SET anti_phishing_code = $1 WHERE id = $2")
            .bind(code)
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .context("while setting the anti-phishing code")?;
        if let Some(mail) = mail {
            insert_mail(&mut tx, mail, now_ms()).await?;
        }
        tx.commit()
            .await
            .context("while setting the anti-phishing code")?;
        Ok(())
    }

    /// Refuses withdrawals until `until_ms` (never shortens an existing lock).
    pub async fn lock_withdrawals_until(&self, user_id: &str, until_ms: i64) -> anyhow::Result<()> {
        let mut conn = self.pool().acquire().await?;
        lock_withdrawals_in(&mut conn, user_id, until_ms).await
    }
}

/// Freezes the account and revokes its sessions on `conn` (inside the caller's transaction).
pub(crate) async fn freeze_in(
    conn: &mut AnyConnection,
    user_id: &str,
    reason: &str,
    now: i64,
) -> anyhow::Result<bool> {
    // Freezing again cancels any unfreeze still cooling off (or starts a new freeze after
    // one took effect).
    let frozen = sqlx::query(
        "UPDATE users SET frozen_at_ms = $1, unfreeze_at_ms = NULL WHERE id = $2 \
         AND (frozen_at_ms IS NULL OR unfreeze_at_ms IS NOT NULL)",
    )
    .bind(now)
    .bind(user_id)
    .execute(&mut *conn)
    .await
    .context("while freezing a user")?
    .rows_affected()
        == 1;
    revoke_sessions_in(conn, user_id, reason, now).await?;
    Ok(frozen)
}

/// Revokes every live session of the user on `conn`.
pub(crate) async fn revoke_sessions_in(
    conn: &mut AnyConnection,
    user_id: &str,
    reason: &str,
    now: i64,
) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE sessions SET revoked_at_ms = $1, revoked_reason = $2 WHERE user_id = $3 AND revoked_at_ms IS NULL",
    )
    .bind(now)
    .bind(reason)
    .bind(user_id)
    .execute(conn)
    .await
    .context("while revoking sessions")?;
    Ok(())
}

/// [`Db::lock_withdrawals_until`] on `conn`.
pub(crate) async fn lock_withdrawals_in(
    conn: &mut AnyConnection,
    user_id: &str,
    until_ms: i64,
) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE users SET withdrawals_locked_until_ms = $1 WHERE id = $2 \
         AND (withdrawals_locked_until_ms IS NULL OR withdrawals_locked_until_ms < $1)",
    )
    .bind(until_ms)
    .bind(user_id)
    .execute(conn)
    .await
    .context("while locking withdrawals")?;
    Ok(())
}
