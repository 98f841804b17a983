//! Sessions (web cookies and API tokens), login throttles and the security log.
//!
//! Tokens are never stored: only their SHA-256 (`identity::token::token_hash`). Throttle rows
//! are read and written inside one transaction per failed attempt, so concurrent attempts on
//! several nodes cannot undercount.

use anyhow::Context;
use identity::lockout::{Policy, Throttle};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::users::User;
use crate::{new_id, now_ms, Backend, Db};

/// A session as the owner sees it in their device list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub id: String,
    pub user_id: String,
    /// `api` for bearer tokens, `web` for browser cookies.
    pub kind: String,
    pub user_agent: String,
    pub ip: String,
    pub created_at_ms: i64,
    pub last_seen_at_ms: i64,
    pub expires_at_ms: i64,
    /// When this session last proved a fresh second factor (step-up).
    pub stepped_up_at_ms: Option<i64>,
}

/// Where a request came from, as recorded with sessions and security events.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Origin {
    pub ip: String,
    pub user_agent: String,
}

/// One entry of a user's security log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecurityEvent {
    pub id: String,
    pub at_ms: i64,
    /// `login`, `login_failed`, `locked`, `session_revoked`, `frozen`, …
    pub kind: String,
    pub ip: String,
    pub user_agent: String,
    pub detail: String,
}

const SESSION_COLUMNS: &str = "id, user_id, kind, user_agent, ip, created_at_ms, last_seen_at_ms, \
     expires_at_ms, stepped_up_at_ms";

/// A live session by token hash, joined with its user: one query, since every authenticated
/// request runs it.
static SESSION_WITH_USER: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let session_columns: Vec<String> = SESSION_COLUMNS
        .split(',')
        .map(|c| format!("s.{0} AS s_{0}", c.trim()))
        .collect();
    let user_columns: Vec<String> = crate::users::USER_COLUMNS
        .split(',')
        .map(|c| format!("u.{}", c.trim()))
        .collect();
    format!(
        "SELECT {}, {} FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.token_hash = $1 AND s.revoked_at_ms IS NULL AND s.expires_at_ms > $2",
        session_columns.join(", "),
        user_columns.join(", ")
    )
});

/// Last-seen times are refreshed at most this often, so that every request is not a write.
const LAST_SEEN_RESOLUTION_MS: i64 = 60_000;

fn session_from_row(row: &AnyRow) -> anyhow::Result<Session> {
    Ok(Session {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        kind: row.try_get("kind")?,
        user_agent: row.try_get("user_agent")?,
        ip: row.try_get("ip")?,
        created_at_ms: row.try_get("created_at_ms")?,
        last_seen_at_ms: row.try_get("last_seen_at_ms")?,
        expires_at_ms: row.try_get("expires_at_ms")?,
        stepped_up_at_ms: row.try_get("stepped_up_at_ms")?,
    })
}

/// Keeps what clients send us in a header from growing a row without bound.
fn clip(text: &str, chars_max: usize) -> String {
    text.chars().take(chars_max).collect()
}

impl Db {
    pub async fn create_session(
        &self,
        user_id: &str,
        token_hash: &str,
        kind: &str,
        origin: &Origin,
        ttl_ms: i64,
    ) -> anyhow::Result<Session> {
        let now = now_ms();
        let session = Session {
            id: new_id(),
            user_id: user_id.to_owned(),
            kind: kind.to_owned(),
            user_agent: clip(&origin.user_agent, 256),
            ip: clip(&origin.ip, 64),
            created_at_ms: now,
            last_seen_at_ms: now,
            expires_at_ms: now.saturating_add(ttl_ms),
            stepped_up_at_ms: None,
        };
        sqlx::query(
            "INSERT INTO sessions (id, user_id, token_hash, kind, user_agent, ip, created_at_ms, \
             last_seen_at_ms, expires_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&session.id)
        .bind(&session.user_id)
        .bind(token_hash)
        .bind(&session.kind)
        .bind(&session.user_agent)
        .bind(&session.ip)
        .bind(session.created_at_ms)
        .bind(session.last_seen_at_ms)
        .bind(session.expires_at_ms)
        .execute(self.pool())
        .await
        .context("while creating a session")?;
        Ok(session)
    }

    /// The live session a token hash belongs to, with its user; refreshes its last-seen time.
    pub async fn session_by_token_hash(
        &self,
        token_hash: &str,
    ) -> anyhow::Result<Option<(Session, User)>> {
        let now = now_ms();
        let sql = &*SESSION_WITH_USER;
        let Some(row) = sqlx::query(sql)
            .bind(token_hash)
            .bind(now)
            .fetch_optional(self.pool())
            .await
            .context("while finding a session")?
        else {
            return Ok(None);
        };
        let session = Session {
            id: row.try_get("s_id")?,
            user_id: row.try_get("s_user_id")?,
            kind: row.try_get("s_kind")?,
            user_agent: row.try_get("s_user_agent")?,
            ip: row.try_get("s_ip")?,
            created_at_ms: row.try_get("s_created_at_ms")?,
            last_seen_at_ms: row.try_get("s_last_seen_at_ms")?,
            expires_at_ms: row.try_get("s_expires_at_ms")?,
            stepped_up_at_ms: row.try_get("s_stepped_up_at_ms")?,
        };
        let user = crate::users::user_from_row(&row)?;
        if now - session.last_seen_at_ms > LAST_SEEN_RESOLUTION_MS {
            sqlx::query("UPDATE sessions SET last_seen_at_ms = $1 WHERE id = $2")
                .bind(now)
                .bind(&session.id)
                .execute(self.pool())
                .await
                .context("while touching a session")?;
        }
        Ok(Some((session, user)))
    }

    /// The user's live sessions, newest first.
    pub async fn sessions_for_user(&self, user_id: &str) -> anyhow::Result<Vec<Session>> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE user_id = $1 AND revoked_at_ms IS NULL \
             AND expires_at_ms > $2 AND kind IN ('api', 'web') ORDER BY created_at_ms DESC, id DESC"
        );
        let rows = sqlx::query(&sql)
            .bind(user_id)
            .bind(now_ms())
            .fetch_all(self.pool())
            .await
            .context("while listing sessions")?;
        rows.iter().map(session_from_row).collect()
    }

    /// Revokes one of the user's own live sessions; false when there is no such session (or it
    /// is someone else's — callers cannot tell the two apart, on purpose).
    pub async fn revoke_session(
        &self,
        user_id: &str,
        session_id: &str,
        reason: &str,
    ) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at_ms = $1, revoked_reason = $2 \
             WHERE id = $3 AND user_id = $4 AND revoked_at_ms IS NULL",
        )
        .bind(now_ms())
        .bind(reason)
        .bind(session_id)
        .bind(user_id)
        .execute(self.pool())
        .await
        .context("while revoking a session")?;
        Ok(done.rows_affected() == 1)
    }

    /// Revokes every live session of the user but `keep`; answers how many ended.
    pub async fn revoke_other_sessions(
        &self,
        user_id: &str,
        keep: &str,
        reason: &str,
    ) -> anyhow::Result<u64> {
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at_ms = $1, revoked_reason = $2 \
             WHERE user_id = $3 AND id <> $4 AND revoked_at_ms IS NULL",
        )
        .bind(now_ms())
        .bind(reason)
        .bind(user_id)
        .bind(keep)
        .execute(self.pool())
        .await
        .context("while revoking other sessions")?;
        Ok(done.rows_affected())
    }

    /// Records that the session just proved a fresh second factor.
    pub async fn mark_stepped_up(&self, session_id: &str) -> anyhow::Result<i64> {
        let now = now_ms();
        sqlx::query("UPDATE sessions SET stepped_up_at_ms = $1 WHERE id = $2")
            .bind(now)
            .bind(session_id)
            .execute(self.pool())
            .await
            .context("while marking a step-up")?;
        Ok(now)
    }

    /// Applies `change` to the throttle under `key` atomically and returns what it returned.
    pub async fn update_throttle<R>(
        &self,
        key: &str,
        change: impl FnOnce(&mut Throttle) -> R,
    ) -> anyhow::Result<R> {
        let begin = match self.backend() {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        };
        let mut tx = self.pool().begin_with(begin).await?;
        sqlx::query(
            "INSERT INTO login_throttles (key, failures, window_started_ms, locked_until_ms, lockouts, \
             last_failure_ms) VALUES ($1, 0, 0, 0, 0, 0) ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .execute(&mut *tx)
        .await?;
        let lock = if self.backend() == Backend::Postgres {
            " FOR UPDATE"
        } else {
            ""
        };
        let sql = format!(
            "SELECT failures, window_started_ms, locked_until_ms, lockouts, last_failure_ms \
             FROM login_throttles WHERE key = $1{lock}"
        );
        let row = sqlx::query(&sql).bind(key).fetch_one(&mut *tx).await?;
        let mut throttle = Throttle {
            failures: u32::try_from(row.try_get::<i64, _>("failures")?).unwrap_or(u32::MAX),
            window_started_ms: row.try_get("window_started_ms")?,
            locked_until_ms: row.try_get("locked_until_ms")?,
            lockouts: u32::try_from(row.try_get::<i64, _>("lockouts")?).unwrap_or(u32::MAX),
            last_failure_ms: row.try_get("last_failure_ms")?,
        };
        let result = change(&mut throttle);
        sqlx::query(
            "UPDATE login_throttles SET failures = $1, window_started_ms = $2, locked_until_ms = $3, \
             lockouts = $4, last_failure_ms = $5 WHERE key = $6",
        )
        .bind(i64::from(throttle.failures))
        .bind(throttle.window_started_ms)
        .bind(throttle.locked_until_ms)
        .bind(i64::from(throttle.lockouts))
        .bind(throttle.last_failure_ms)
        .bind(key)
        .execute(&mut *tx)
        .await?;
        tx.commit()
            .await
            .context("while updating a login throttle")?;
        Ok(result)
    }

    /// Seconds the key is still locked for, without changing anything.
    pub async fn throttle_locked_for_s(&self, key: &str) -> anyhow::Result<Option<u64>> {
        let row = sqlx::query("SELECT locked_until_ms FROM login_throttles WHERE key = $1")
            .bind(key)
            .fetch_optional(self.pool())
            .await?;
        let Some(row) = row else { return Ok(None) };
        let throttle = Throttle {
            locked_until_ms: row.try_get("locked_until_ms")?,
            ..Throttle::default()
        };
        Ok(throttle.locked_for_s(now_ms()))
    }

    /// Registers a failed attempt under `key`; `Some(seconds)` when it starts a lockout.
    pub async fn register_login_failure(
        &self,
        key: &str,
        policy: &Policy,
    ) -> anyhow::Result<Option<u64>> {
        let now = now_ms();
        self.update_throttle(key, |t| t.register_failure(now, policy))
            .await
    }

    pub async fn register_login_success(&self, key: &str) -> anyhow::Result<()> {
        self.update_throttle(key, Throttle::register_success).await
    }

    pub async fn record_security_event(
        &self,
        user_id: &str,
        kind: &str,
        origin: &Origin,
        detail: &str,
    ) -> anyhow::Result<()> {
        let mut conn = self.pool().acquire().await?;
        insert_security_event(&mut conn, user_id, kind, origin, detail, now_ms()).await
    }

    /// The user's security log, newest first.
    pub async fn security_events_for(
        &self,
        user_id: &str,
        limit: i64,
    ) -> anyhow::Result<Vec<SecurityEvent>> {
        let rows = sqlx::query(
            "SELECT id, at_ms, kind, ip, user_agent, detail FROM security_events WHERE user_id = $1 \
             ORDER BY at_ms DESC, id DESC LIMIT $2",
        )
        .bind(user_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SecurityEvent {
                    id: r.try_get("id")?,
                    at_ms: r.try_get("at_ms")?,
                    kind: r.try_get("kind")?,
                    ip: r.try_get("ip")?,
                    user_agent: r.try_get("user_agent")?,
                    detail: r.try_get("detail")?,
                })
            })
            .collect()
    }
}

/// [`Db::record_security_event`] on `conn` (inside the caller's transaction).
pub(crate) async fn insert_security_event(
    conn: &mut AnyConnection,
    user_id: &str,
    kind: &str,
    origin: &Origin,
    detail: &str,
    now: i64,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO security_events (id, user_id, at_ms, kind, ip, user_agent, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(new_id())
    .bind(user_id)
    .bind(now)
    .bind(kind)
    .bind(clip(&origin.ip, 64))
    .bind(clip(&origin.user_agent, 256))
    .bind(detail)
    .execute(conn)
    .await
    .context("while recording a security event")?;
    Ok(())
}
