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
        })
    }

    pub async fn user_by_email(&self, email: &Email) -> anyhow::Result<Option<User>> {
        let row = sqlx::query(
            "SELECT id, email, role, locale, password_hash FROM users WHERE email = $1",
        )
        .bind(email.as_str())
        .fetch_optional(self.pool())
        .await
        .context("while finding a user")?;
        row.map(|row| {
            let email: String = row.try_get("email")?;
            let role: String = row.try_get("role")?;
            Ok(User {
                id: row.try_get("id")?,
                email: Email::parse(&email).context("stored email")?,
                role: role.parse().map_err(anyhow::Error::msg)?,
                locale: row.try_get("locale")?,
                password_hash: row.try_get("password_hash")?,
            })
        })
        .transpose()
    }
}
