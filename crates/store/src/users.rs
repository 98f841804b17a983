//! People: creating and finding users.

use anyhow::Context;
use identity::{Email, Role};
use sqlx::Row;

use crate::{new_id, now_ms, Db};

/// A user as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub email: Email,
    pub role: Role,
    pub locale: String,
    pub password_hash: String,
    /// When the owner froze the account; `None` when it is not frozen.
    pub frozen_at_ms: Option<i64>,
}

const USER_COLUMNS: &str = "id, email, role, locale, password_hash, frozen_at_ms";

fn user_from_row(row: &sqlx::any::AnyRow) -> anyhow::Result<User> {
    let email: String = row.try_get("email")?;
    let role: String = row.try_get("role")?;
    Ok(User {
        id: row.try_get("id")?,
        email: Email::parse(&email).context("stored email")?,
        role: role.parse().map_err(anyhow::Error::msg)?,
        locale: row.try_get("locale")?,
        password_hash: row.try_get("password_hash")?,
        frozen_at_ms: row.try_get("frozen_at_ms")?,
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
        })
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
    /// was already frozen (sessions are revoked either way).
    pub async fn freeze_user(&self, user_id: &str, reason: &str) -> anyhow::Result<bool> {
        let now = now_ms();
        let mut tx = self.pool().begin().await?;
        let frozen = sqlx::query(
            "UPDATE users SET frozen_at_ms = $1 WHERE id = $2 AND frozen_at_ms IS NULL",
        )
        .bind(now)
        .bind(user_id)
        .execute(&mut *tx)
        .await
        .context("while freezing a user")?
        .rows_affected()
            == 1;
        sqlx::query(
            "UPDATE sessions SET revoked_at_ms = $1, revoked_reason = $2 WHERE user_id = $3 AND revoked_at_ms IS NULL",
        )
        .bind(now)
        .bind(reason)
        .bind(user_id)
        .execute(&mut *tx)
        .await
        .context("while revoking sessions")?;
        tx.commit().await?;
        Ok(frozen)
    }
}
