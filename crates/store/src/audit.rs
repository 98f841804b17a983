//! The audit trail: who did what to whom, append-only.

use anyhow::Context;
use sqlx::Row;

use crate::{new_id, now_ms, Db};

/// One audited action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    pub id: String,
    pub at_ms: i64,
    /// Who acted: `cli:<os user>`, `user:<id>`, `system`, …
    pub actor: String,
    /// What kind of action, e.g. `ledger.adjust`.
    pub action: String,
    /// What it was done to, e.g. `user:<id>`.
    pub subject: String,
    /// JSON with the particulars; never secrets.
    pub detail: String,
}

/// Writes an audit row on the caller's connection (inside its transaction).
pub(crate) async fn insert_audit(
    conn: &mut sqlx::AnyConnection,
    actor: &str,
    action: &str,
    subject: &str,
    detail: &str,
    at_ms: i64,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO audit_events (id, at_ms, actor, action, subject, detail) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(new_id())
    .bind(at_ms)
    .bind(actor)
    .bind(action)
    .bind(subject)
    .bind(detail)
    .execute(conn)
    .await
    .context("while writing an audit event")?;
    Ok(())
}

fn audit_from_row(r: &sqlx::any::AnyRow) -> anyhow::Result<AuditEvent> {
    Ok(AuditEvent {
        id: r.try_get("id")?,
        at_ms: r.try_get("at_ms")?,
        actor: r.try_get("actor")?,
        action: r.try_get("action")?,
        subject: r.try_get("subject")?,
        detail: r.try_get("detail")?,
    })
}

impl Db {
    pub async fn audit(
        &self,
        actor: &str,
        action: &str,
        subject: &str,
        detail: &str,
    ) -> anyhow::Result<String> {
        let id = new_id();
        sqlx::query("INSERT INTO audit_events (id, at_ms, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&id)
            .bind(now_ms())
            .bind(actor)
            .bind(action)
            .bind(subject)
            .bind(detail)
            .execute(self.pool())
            .await
            .context("while writing an audit event")?;
        Ok(id)
    }

    /// Whether this exact event (actor, action, subject, detail) was recorded before.
    pub async fn audit_recorded(
        &self,
        actor: &str,
        action: &str,
        subject: &str,
        detail: &str,
    ) -> anyhow::Result<bool> {
        let row = sqlx::query(
            "SELECT 1 AS one FROM audit_events WHERE subject = $1 AND actor = $2 \
             AND action = $3 AND detail = $4 LIMIT 1",
        )
        .bind(subject)
        .bind(actor)
        .bind(action)
        .bind(detail)
        .fetch_optional(self.pool())
        .await
        .context("while looking for an audit event")?;
        Ok(row.is_some())
    }

    /// Audit events about a subject, oldest first.
    pub async fn audit_events_for(&self, subject: &str) -> anyhow::Result<Vec<AuditEvent>> {
        let rows = sqlx::query(
            "SELECT id, at_ms, actor, action, subject, detail FROM audit_events WHERE subject = $1 ORDER BY at_ms, id",
        )
        .bind(subject)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(audit_from_row).collect()
    }

    /// Audit events newest first, optionally only those by `actor` or about `subject`, before
    /// the (at, id) position of the previous page's last event.
    pub async fn audit_events(
        &self,
        actor: Option<&str>,
        subject: Option<&str>,
        before: Option<(i64, &str)>,
        limit: i64,
    ) -> anyhow::Result<Vec<AuditEvent>> {
        let (before_ms, before_id) = before.unwrap_or((i64::MAX, ""));
        let rows = sqlx::query(
            "SELECT id, at_ms, actor, action, subject, detail FROM audit_events \
             WHERE ($1 = '' OR actor = $1) AND ($2 = '' OR subject = $2) \
             AND (at_ms < $3 OR (at_ms = $3 AND ($4 = '' OR id < $4))) \
             ORDER BY at_ms DESC, id DESC LIMIT $5",
        )
        .bind(actor.unwrap_or(""))
        .bind(subject.unwrap_or(""))
        .bind(before_ms)
        .bind(before_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .context("while reading the audit trail")?;
        rows.iter().map(audit_from_row).collect()
    }

    /// Records a manual adjustment before its transfer is submitted; its id is the transfer's.
    pub async fn record_adjustment(
        &self,
        id: &str,
        account_id: &str,
        asset: &str,
        amount_signed: i64,
        reason: &str,
        actor: &str,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO ledger_adjustments (id, account_id, asset, amount, reason, actor, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(account_id)
        .bind(asset)
        .bind(amount_signed)
        .bind(reason)
        .bind(actor)
        .bind(now_ms())
        .execute(self.pool())
        .await
        .context("while recording an adjustment")?;
        Ok(())
    }
}
