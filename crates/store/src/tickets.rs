//! Tickets (工单): the ticket rows, their messages (public replies and internal notes) and their
//! event history. What a status change means and how SLA clocks run is decided in the
//! `helpdesk` crate; this module stores and loads, and keeps a ticket's row, its message and its
//! events in one transaction.

use anyhow::Context;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::Db;

/// A ticket as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ticket {
    pub id: String,
    pub number: i64,
    pub requester_id: String,
    pub subject: String,
    pub category: String,
    pub priority: String,
    pub status: String,
    pub channel: String,
    pub language: String,
    pub group_id: Option<String>,
    pub assignee_id: Option<String>,
    /// Comma-separated.
    pub tags: String,
    pub reference: Option<String>,
    pub merged_into: Option<String>,
    pub first_response_due_ms: Option<i64>,
    pub resolution_due_ms: Option<i64>,
    pub first_responded_at_ms: Option<i64>,
    pub solved_at_ms: Option<i64>,
    pub sla_breached: bool,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// A public reply or an internal note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketMessage {
    pub id: String,
    pub ticket_id: String,
    pub author_id: Option<String>,
    pub internal: bool,
    pub body: String,
    pub channel: String,
    pub created_at_ms: i64,
}

/// One thing that happened to a ticket; `detail` is JSON.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketEvent {
    pub id: String,
    pub ticket_id: String,
    pub at_ms: i64,
    pub actor_id: Option<String>,
    pub kind: String,
    pub detail: String,
}

/// Which tickets a list shows.
#[derive(Clone, Debug, Default)]
pub struct TicketFilter {
    pub requester_id: Option<String>,
    pub assignee_id: Option<String>,
    pub statuses: Vec<String>,
    /// Newer than this (updated_at_ms, id) position, for paging newest first.
    pub before: Option<(i64, String)>,
}

const TICKET_COLUMNS: &str = "id, number, requester_id, subject, category, priority, status, \
     channel, language, group_id, assignee_id, tags, reference, merged_into, \
     first_response_due_ms, resolution_due_ms, first_responded_at_ms, solved_at_ms, \
     sla_breached, created_at_ms, updated_at_ms";

fn ticket_from_row(r: &AnyRow) -> anyhow::Result<Ticket> {
    Ok(Ticket {
        id: r.try_get("id")?,
        number: r.try_get("number")?,
        requester_id: r.try_get("requester_id")?,
        subject: r.try_get("subject")?,
        category: r.try_get("category")?,
        priority: r.try_get("priority")?,
        status: r.try_get("status")?,
        channel: r.try_get("channel")?,
        language: r.try_get("language")?,
        group_id: r.try_get("group_id")?,
        assignee_id: r.try_get("assignee_id")?,
        tags: r.try_get("tags")?,
        reference: r.try_get("reference")?,
        merged_into: r.try_get("merged_into")?,
        first_response_due_ms: r.try_get("first_response_due_ms")?,
        resolution_due_ms: r.try_get("resolution_due_ms")?,
        first_responded_at_ms: r.try_get("first_responded_at_ms")?,
        solved_at_ms: r.try_get("solved_at_ms")?,
        sla_breached: r.try_get::<i64, _>("sla_breached")? != 0,
        created_at_ms: r.try_get("created_at_ms")?,
        updated_at_ms: r.try_get("updated_at_ms")?,
    })
}

fn message_from_row(r: &AnyRow) -> anyhow::Result<TicketMessage> {
    Ok(TicketMessage {
        id: r.try_get("id")?,
        ticket_id: r.try_get("ticket_id")?,
        author_id: r.try_get("author_id")?,
        internal: r.try_get::<i64, _>("internal")? != 0,
        body: r.try_get("body")?,
        channel: r.try_get("channel")?,
        created_at_ms: r.try_get("created_at_ms")?,
    })
}

async fn insert_message(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    m: &TicketMessage,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO ticket_messages (id, ticket_id, author_id, internal, body, channel, \
         created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&m.id)
    .bind(&m.ticket_id)
    .bind(&m.author_id)
    .bind(i64::from(m.internal))
    .bind(&m.body)
    .bind(&m.channel)
    .bind(m.created_at_ms)
    .execute(&mut **tx)
    .await
    .context("while recording a ticket message")?;
    Ok(())
}

async fn insert_events(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    events: &[TicketEvent],
) -> anyhow::Result<()> {
    for e in events {
        sqlx::query(
            "INSERT INTO ticket_events (id, ticket_id, at_ms, actor_id, kind, detail) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&e.id)
        .bind(&e.ticket_id)
        .bind(e.at_ms)
        .bind(&e.actor_id)
        .bind(&e.kind)
        .bind(&e.detail)
        .execute(&mut **tx)
        .await
        .context("while recording a ticket event")?;
    }
    Ok(())
}

impl Db {
    /// Opens a ticket with its first message and events; the ticket's `number` is handed out
    /// here (whatever the caller put there) and answered.
    pub async fn insert_ticket(
        &self,
        t: &Ticket,
        first: &TicketMessage,
        events: &[TicketEvent],
    ) -> anyhow::Result<i64> {
        let mut tx = self.pool().begin().await?;
        let number: i64 = sqlx::query(
            "UPDATE counters SET value = value + 1 WHERE name = 'ticket_number' RETURNING value",
        )
        .fetch_one(&mut *tx)
        .await
        .context("while numbering a ticket")?
        .try_get("value")?;
        let sql = format!(
            "INSERT INTO tickets ({TICKET_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
             $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)"
        );
        sqlx::query(&sql)
            .bind(&t.id)
            .bind(number)
            .bind(&t.requester_id)
            .bind(&t.subject)
            .bind(&t.category)
            .bind(&t.priority)
            .bind(&t.status)
            .bind(&t.channel)
            .bind(&t.language)
            .bind(&t.group_id)
            .bind(&t.assignee_id)
            .bind(&t.tags)
            .bind(&t.reference)
            .bind(&t.merged_into)
            .bind(t.first_response_due_ms)
            .bind(t.resolution_due_ms)
            .bind(t.first_responded_at_ms)
            .bind(t.solved_at_ms)
            .bind(i64::from(t.sla_breached))
            .bind(t.created_at_ms)
            .bind(t.updated_at_ms)
            .execute(&mut *tx)
            .await
            .context("while recording a ticket")?;
        insert_message(&mut tx, first).await?;
        insert_events(&mut tx, events).await?;
        tx.commit().await?;
        Ok(number)
    }

    pub async fn ticket(&self, id: &str) -> anyhow::Result<Option<Ticket>> {
        let sql = format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE id = $1");
        sqlx::query(&sql)
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .context("while reading a ticket")?
            .as_ref()
            .map(ticket_from_row)
            .transpose()
    }

    /// Tickets newest-updated first, filtered.
    pub async fn tickets(&self, f: &TicketFilter, limit: i64) -> anyhow::Result<Vec<Ticket>> {
        enum Arg {
            Text(String),
            Int(i64),
        }
        let mut args: Vec<Arg> = Vec::new();
        let mut place = |a: Arg| {
            args.push(a);
            format!("${}", args.len())
        };
        let mut clauses: Vec<String> = Vec::new();
        if let Some(r) = &f.requester_id {
            clauses.push(format!("requester_id = {}", place(Arg::Text(r.clone()))));
        }
        if let Some(a) = &f.assignee_id {
            clauses.push(format!("assignee_id = {}", place(Arg::Text(a.clone()))));
        }
        if !f.statuses.is_empty() {
            let ps: Vec<String> = f
                .statuses
                .iter()
                .map(|s| place(Arg::Text(s.clone())))
                .collect();
            clauses.push(format!("status IN ({})", ps.join(", ")));
        }
        if let Some((ms, id)) = &f.before {
            let ms = place(Arg::Int(*ms));
            let id = place(Arg::Text(id.clone()));
            clauses.push(format!(
                "(updated_at_ms < {ms} OR (updated_at_ms = {ms} AND id < {id}))"
            ));
        }
        let limit_at = place(Arg::Int(limit));
        let filter = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        let sql = format!(
            "SELECT {TICKET_COLUMNS} FROM tickets {filter} \
             ORDER BY updated_at_ms DESC, id DESC LIMIT {limit_at}"
        );
        let mut q = sqlx::query(&sql);
        for a in args {
            q = match a {
                Arg::Text(t) => q.bind(t),
                Arg::Int(i) => q.bind(i),
            };
        }
        let rows = q
            .fetch_all(self.pool())
            .await
            .context("while listing tickets")?;
        rows.iter().map(ticket_from_row).collect()
    }

    /// A ticket's messages, oldest first; internal notes only when asked for.
    pub async fn ticket_messages(
        &self,
        ticket_id: &str,
        include_internal: bool,
    ) -> anyhow::Result<Vec<TicketMessage>> {
        let filter = if include_internal {
            ""
        } else {
            "AND internal = 0"
        };
        let sql = format!(
            "SELECT id, ticket_id, author_id, internal, body, channel, created_at_ms \
             FROM ticket_messages WHERE ticket_id = $1 {filter} ORDER BY created_at_ms, id"
        );
        let rows = sqlx::query(&sql)
            .bind(ticket_id)
            .fetch_all(self.pool())
            .await
            .context("while reading ticket messages")?;
        rows.iter().map(message_from_row).collect()
    }

    pub async fn ticket_events(&self, ticket_id: &str) -> anyhow::Result<Vec<TicketEvent>> {
        let rows = sqlx::query(
            "SELECT id, ticket_id, at_ms, actor_id, kind, detail FROM ticket_events \
             WHERE ticket_id = $1 ORDER BY at_ms, id",
        )
        .bind(ticket_id)
        .fetch_all(self.pool())
        .await
        .context("while reading ticket events")?;
        rows.iter()
            .map(|r| {
                Ok(TicketEvent {
                    id: r.try_get("id")?,
                    ticket_id: r.try_get("ticket_id")?,
                    at_ms: r.try_get("at_ms")?,
                    actor_id: r.try_get("actor_id")?,
                    kind: r.try_get("kind")?,
                    detail: r.try_get("detail")?,
                })
            })
            .collect()
    }

    /// Adds a message with its events and writes the ticket's new state, in one transaction.
    /// The ticket row is replaced only if it still has `expected_updated_at_ms` (false
    /// otherwise: someone changed it meanwhile, and nothing was written).
    pub async fn add_ticket_message(
        &self,
        t: &Ticket,
        expected_updated_at_ms: i64,
        m: &TicketMessage,
        events: &[TicketEvent],
    ) -> anyhow::Result<bool> {
        let mut tx = self.pool().begin().await?;
        let done = sqlx::query(
            "UPDATE tickets SET status = $2, priority = $3, assignee_id = $4, \
             first_responded_at_ms = $5, solved_at_ms = $6, updated_at_ms = $7 \
             WHERE id = $1 AND updated_at_ms = $8",
        )
        .bind(&t.id)
        .bind(&t.status)
        .bind(&t.priority)
        .bind(&t.assignee_id)
        .bind(t.first_responded_at_ms)
        .bind(t.solved_at_ms)
        .bind(t.updated_at_ms)
        .bind(expected_updated_at_ms)
        .execute(&mut *tx)
        .await
        .context("while updating a ticket")?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        insert_message(&mut tx, m).await?;
        insert_events(&mut tx, events).await?;
        tx.commit().await?;
        Ok(true)
    }
}
