//! Passkeys and the WebAuthn ceremonies in flight.
//!
//! Single use is enforced here, atomically: a ceremony is taken by the `DELETE … RETURNING` that
//! removes it, so two requests answering the same challenge (on one node or two) cannot both get
//! its state. A credential's counter is written back only if the row still holds the credential
//! that was verified, so two concurrent uses of one passkey cannot both pass with the same
//! counter. This module stores; whether an answer verifies is `identity::passkey`'s call.

use anyhow::Context;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{new_id, now_ms, Db};

/// A passkey as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredPasskey {
    pub id: String,
    pub user_id: String,
    /// base64url of the raw credential id.
    pub credential_id: String,
    /// webauthn-rs's serialised credential.
    pub passkey_json: String,
    pub name: String,
    pub created_at_ms: i64,
    pub last_used_at_ms: Option<i64>,
}

/// A ceremony taken out of the table: what it was started with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ceremony {
    pub user_id: Option<String>,
    pub state_json: String,
    pub expires_at_ms: i64,
}

const PASSKEY_COLUMNS: &str =
    "id, user_id, credential_id, passkey_json, name, created_at_ms, last_used_at_ms";

fn passkey_from_row(row: &AnyRow) -> anyhow::Result<StoredPasskey> {
    Ok(StoredPasskey {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        credential_id: row.try_get("credential_id")?,
        passkey_json: row.try_get("passkey_json")?,
        name: row.try_get("name")?,
        created_at_ms: row.try_get("created_at_ms")?,
        last_used_at_ms: row.try_get("last_used_at_ms")?,
    })
}

impl Db {
    /// Keeps a ceremony's state until `expires_at_ms` and returns its new id. Ceremonies that
    /// expired before now are swept out on the way, so that abandoned ones do not pile up.
    pub async fn create_ceremony(
        &self,
        user_id: Option<&str>,
        purpose: &str,
        state_json: &str,
        expires_at_ms: i64,
    ) -> anyhow::Result<String> {
        sqlx::query("DELETE FROM webauthn_ceremonies WHERE expires_at_ms < $1")
            .bind(now_ms())
            .execute(self.pool())
            .await
            .context("while sweeping expired WebAuthn ceremonies")?;
        let id = new_id();
        sqlx::query(
            "INSERT INTO webauthn_ceremonies (id, user_id, purpose, state_json, expires_at_ms) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&id)
        .bind(user_id)
        .bind(purpose)
        .bind(state_json)
        .bind(expires_at_ms)
        .execute(self.pool())
        .await
        .context("while keeping a WebAuthn ceremony")?;
        Ok(id)
    }

    /// Takes the ceremony `id` for `purpose` out of the table, whether or not it has expired
    /// (the caller checks), so that it can never be answered twice. `None` when there is no such
    /// ceremony — never was, already answered, or started for another purpose or (when
    /// `user_id` is given) by another user.
    pub async fn take_ceremony(
        &self,
        id: &str,
        purpose: &str,
        user_id: Option<&str>,
    ) -> anyhow::Result<Option<Ceremony>> {
        let row = match user_id {
            Some(user_id) => sqlx::query(
                "DELETE FROM webauthn_ceremonies WHERE id = $1 AND purpose = $2 AND user_id = $3 \
                     RETURNING user_id, state_json, expires_at_ms",
            )
            .bind(id)
            .bind(purpose)
            .bind(user_id)
            .fetch_optional(self.pool())
            .await,
            None => {
                sqlx::query(
                    "DELETE FROM webauthn_ceremonies WHERE id = $1 AND purpose = $2 \
                     RETURNING user_id, state_json, expires_at_ms",
                )
                .bind(id)
                .bind(purpose)
                .fetch_optional(self.pool())
                .await
            }
        }
        .context("while taking a WebAuthn ceremony")?;
        row.map(|r| {
            Ok(Ceremony {
                user_id: r.try_get("user_id")?,
                state_json: r.try_get("state_json")?,
                expires_at_ms: r.try_get("expires_at_ms")?,
            })
        })
        .transpose()
    }

    /// Stores a new passkey. `None` when the credential is already registered (to anyone): a
    /// credential belongs to one account.
    pub async fn insert_passkey(
        &self,
        user_id: &str,
        credential_id: &str,
        passkey_json: &str,
        name: &str,
    ) -> anyhow::Result<Option<StoredPasskey>> {
        let passkey = StoredPasskey {
            id: new_id(),
            user_id: user_id.to_owned(),
            credential_id: credential_id.to_owned(),
            passkey_json: passkey_json.to_owned(),
            name: name.to_owned(),
            created_at_ms: now_ms(),
            last_used_at_ms: None,
        };
        let inserted = sqlx::query(
            "INSERT INTO passkeys (id, user_id, credential_id, passkey_json, name, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (credential_id) DO NOTHING RETURNING id",
        )
        .bind(&passkey.id)
        .bind(&passkey.user_id)
        .bind(&passkey.credential_id)
        .bind(&passkey.passkey_json)
        .bind(&passkey.name)
        .bind(passkey.created_at_ms)
        .fetch_optional(self.pool())
        .await
        .context("while storing a passkey")?;
        Ok(inserted.map(|_| passkey))
    }

    /// The user's passkeys, oldest first.
    pub async fn passkeys_for_user(&self, user_id: &str) -> anyhow::Result<Vec<StoredPasskey>> {
        let sql = format!(
            "SELECT {PASSKEY_COLUMNS} FROM passkeys WHERE user_id = $1 ORDER BY created_at_ms, id"
        );
        let rows = sqlx::query(&sql)
            .bind(user_id)
            .fetch_all(self.pool())
            .await
            .context("while listing passkeys")?;
        rows.iter().map(passkey_from_row).collect()
    }

    /// How many passkeys the user has.
    pub async fn passkey_count(&self, user_id: &str) -> anyhow::Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) FROM passkeys WHERE user_id = $1")
            .bind(user_id)
            .fetch_one(self.pool())
            .await
            .context("while counting passkeys")?;
        Ok(row.try_get(0)?)
    }

    /// The passkey with this credential id, whoever owns it.
    pub async fn passkey_by_credential_id(
        &self,
        credential_id: &str,
    ) -> anyhow::Result<Option<StoredPasskey>> {
        let sql = format!("SELECT {PASSKEY_COLUMNS} FROM passkeys WHERE credential_id = $1");
        let row = sqlx::query(&sql)
            .bind(credential_id)
            .fetch_optional(self.pool())
            .await
            .context("while finding a passkey")?;
        row.as_ref().map(passkey_from_row).transpose()
    }

    /// Records a successful use: the credential's new state (counter, backup flags) and the time.
    /// False when the row no longer holds `verified_json` — another use got there first, or the
    /// passkey was removed — and the use must not count.
    pub async fn record_passkey_use(
        &self,
        id: &str,
        verified_json: &str,
        new_json: &str,
    ) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE passkeys SET passkey_json = $1, last_used_at_ms = $2 \
             WHERE id = $3 AND passkey_json = $4",
        )
        .bind(new_json)
        .bind(now_ms())
        .bind(id)
        .bind(verified_json)
        .execute(self.pool())
        .await
        .context("while recording a passkey use")?;
        Ok(done.rows_affected() == 1)
    }

    /// Removes one of the user's own passkeys; false when there is no such passkey (or it is
    /// someone else's — callers cannot tell the two apart, on purpose).
    pub async fn delete_passkey(&self, user_id: &str, id: &str) -> anyhow::Result<bool> {
        let done = sqlx::query("DELETE FROM passkeys WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .execute(self.pool())
            .await
            .context("while removing a passkey")?;
        Ok(done.rows_affected() == 1)
    }
}
