//! Tickets (工单): the ticket rows, their messages (public replies and internal notes), their
//! event history, attachments and who is looking at them. What a status change means, how SLA
//! clocks run and who gets a ticket is decided in the `helpdesk` crate; this module stores and
//! loads, and writes a ticket's row with the messages and events that explain the change in
//! one transaction, refusing the write when someone else changed the ticket meanwhile.

use anyhow::Context;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::Db;

/// `next_due_ms` of a ticket with no deadline running: sorts after every real deadline.
pub const NO_DUE_MS: i64 = i64::MAX;

/// The statuses in which a ticket counts towards its agent's load.
pub const LOAD_STATUSES: [&str; 3] = ["new", "open", "on_hold"];

/// The statuses of a ticket that is not done.
pub const ACTIVE_STATUSES: [&str; 4] = ["new", "open", "pending", "on_hold"];

/// The `active` column from the status bound at `$7` (inserts) or `$4` (updates).
const ACTIVE_OF_7: &str = "CASE WHEN $7 IN ('new', 'open', 'pending', 'on_hold') THEN 1 ELSE 0 END";
const ACTIVE_OF_4: &str = "CASE WHEN $4 IN ('new', 'open', 'pending', 'on_hold') THEN 1 ELSE 0 END";

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
    /// Comma-separated, sorted.
    pub tags: String,
    pub reference: Option<String>,
    pub merged_into: Option<String>,
    pub first_response_due_ms: Option<i64>,
    pub resolution_due_ms: Option<i64>,
    /// The deadline of the clock that runs next, or [`NO_DUE_MS`].
    pub next_due_ms: i64,
    pub first_responded_at_ms: Option<i64>,
    pub solved_at_ms: Option<i64>,
    pub first_response_business_s: Option<i64>,
    pub resolution_business_s: Option<i64>,
    pub first_response_breached: bool,
    pub resolution_breached: bool,
    pub reopened_count: i64,
    pub sla_next_check_ms: Option<i64>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

impl Ticket {
    pub fn tag_list(&self) -> Vec<String> {
        self.tags
            .split(',')
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect()
    }
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

/// A file on a ticket, without its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    pub id: String,
    pub ticket_id: String,
    pub message_id: Option<String>,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub uploaded_by: Option<String>,
    pub created_at_ms: i64,
}

/// How a list is ordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TicketOrder {
    /// Most recently updated first (a customer's list, "all tickets").
    #[default]
    UpdatedDesc,
    /// Most urgent first: the nearest deadline, tickets without one last (agents' queues).
    DueAsc,
}

/// Which tickets a list shows; every field narrows it.
#[derive(Clone, Debug, Default)]
pub struct TicketFilter {
    pub requester_id: Option<String>,
    pub assignee_id: Option<String>,
    /// Only tickets nobody holds.
    pub unassigned: bool,
    pub group_ids: Vec<String>,
    pub statuses: Vec<String>,
    pub category: Option<String>,
    pub priority: Option<String>,
    pub channel: Option<String>,
    /// Only tickets with a breached clock.
    pub breached: bool,
    /// Only tickets whose next deadline is at or before this instant.
    pub due_before_ms: Option<i64>,
    pub order: TicketOrder,
    /// The (sort key, id) of the last ticket of the previous page.
    pub after: Option<(i64, String)>,
}

pub(crate) const TICKET_COLUMNS: &str =
    "id, number, requester_id, subject, category, priority, status, \
     channel, language, group_id, assignee_id, tags, reference, merged_into, \
     first_response_due_ms, resolution_due_ms, next_due_ms, first_responded_at_ms, solved_at_ms, \
     first_response_business_s, resolution_business_s, first_response_breached, \
     resolution_breached, reopened_count, sla_next_check_ms, created_at_ms, updated_at_ms";

pub(crate) fn ticket_from_row(r: &AnyRow) -> anyhow::Result<Ticket> {
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
        next_due_ms: r.try_get("next_due_ms")?,
        first_responded_at_ms: r.try_get("first_responded_at_ms")?,
        solved_at_ms: r.try_get("solved_at_ms")?,
        first_response_business_s: r.try_get("first_response_business_s")?,
        resolution_business_s: r.try_get("resolution_business_s")?,
        first_response_breached: r.try_get::<i64, _>("first_response_breached")? != 0,
        resolution_breached: r.try_get::<i64, _>("resolution_breached")? != 0,
        reopened_count: r.try_get("reopened_count")?,
        sla_next_check_ms: r.try_get("sla_next_check_ms")?,
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

fn attachment_from_row(r: &AnyRow) -> anyhow::Result<Attachment> {
    Ok(Attachment {
        id: r.try_get("id")?,
        ticket_id: r.try_get("ticket_id")?,
        message_id: r.try_get("message_id")?,
        filename: r.try_get("filename")?,
        content_type: r.try_get("content_type")?,
        size: r.try_get("size")?,
        sha256: r.try_get("sha256")?,
        uploaded_by: r.try_get("uploaded_by")?,
        created_at_ms: r.try_get("created_at_ms")?,
    })
}

pub(crate) async fn insert_messages(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    messages: &[TicketMessage],
) -> anyhow::Result<()> {
    for m in messages {
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
    }
    Ok(())
}

pub(crate) async fn insert_events(
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

/// One ticket's change: its new row (written only if the stored row still has
/// `expected_updated_at_ms`), and the messages and events that explain it.
#[derive(Clone, Debug)]
pub struct TicketWrite {
    pub ticket: Ticket,
    pub expected_updated_at_ms: i64,
    pub messages: Vec<TicketMessage>,
    pub events: Vec<TicketEvent>,
    /// Mail that reports the change, queued in its transaction.
    pub mails: Vec<crate::outbox::NewMail>,
}

/// Writes a ticket's mutable columns if the row is unchanged since it was read; false when
/// someone changed it meanwhile (nothing is written then).
pub(crate) async fn write_ticket(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    w: &TicketWrite,
) -> anyhow::Result<bool> {
    let t = &w.ticket;
    let done = sqlx::query(&format!(
        "UPDATE tickets SET category = $2, priority = $3, status = $4, group_id = $5, \
         assignee_id = $6, tags = $7, merged_into = $8, first_response_due_ms = $9, \
         resolution_due_ms = $10, next_due_ms = $11, first_responded_at_ms = $12, \
         solved_at_ms = $13, first_response_business_s = $14, resolution_business_s = $15, \
         first_response_breached = $16, resolution_breached = $17, reopened_count = $18, \
         sla_next_check_ms = $19, updated_at_ms = $20, active = {ACTIVE_OF_4}, \
         sla_breached = CASE WHEN $16 = 1 OR $17 = 1 THEN 1 ELSE 0 END \
         WHERE id = $1 AND updated_at_ms = $21",
    ))
    .bind(&t.id)
    .bind(&t.category)
    .bind(&t.priority)
    .bind(&t.status)
    .bind(&t.group_id)
    .bind(&t.assignee_id)
    .bind(&t.tags)
    .bind(&t.merged_into)
    .bind(t.first_response_due_ms)
    .bind(t.resolution_due_ms)
    .bind(t.next_due_ms)
    .bind(t.first_responded_at_ms)
    .bind(t.solved_at_ms)
    .bind(t.first_response_business_s)
    .bind(t.resolution_business_s)
    .bind(i64::from(t.first_response_breached))
    .bind(i64::from(t.resolution_breached))
    .bind(t.reopened_count)
    .bind(t.sla_next_check_ms)
    .bind(t.updated_at_ms)
    .bind(w.expected_updated_at_ms)
    .execute(&mut **tx)
    .await
    .context("while updating a ticket")?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    insert_messages(tx, &w.messages).await?;
    insert_events(tx, &w.events).await?;
    for mail in &w.mails {
        crate::outbox::insert_mail(tx, mail, t.updated_at_ms).await?;
    }
    Ok(true)
}

pub(crate) async fn insert_ticket_row(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    t: &Ticket,
    number: i64,
) -> anyhow::Result<()> {
    let sql = format!(
        "INSERT INTO tickets ({TICKET_COLUMNS}, active, sla_breached) VALUES ($1, $2, $3, $4, \
         $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, \
         $23, $24, $25, $26, $27, {ACTIVE_OF_7}, CASE WHEN $22 = 1 OR $23 = 1 THEN 1 ELSE 0 END)"
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
        .bind(t.next_due_ms)
        .bind(t.first_responded_at_ms)
        .bind(t.solved_at_ms)
        .bind(t.first_response_business_s)
        .bind(t.resolution_business_s)
        .bind(i64::from(t.first_response_breached))
        .bind(i64::from(t.resolution_breached))
        .bind(t.reopened_count)
        .bind(t.sla_next_check_ms)
        .bind(t.created_at_ms)
        .bind(t.updated_at_ms)
        .execute(&mut **tx)
        .await
        .context("while recording a ticket")?;
    Ok(())
}

/// Inserts tickets numbered in order with their messages and events, in the caller's
/// transaction; answers the numbers.
pub(crate) async fn insert_all(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    tickets: &[(Ticket, Vec<TicketMessage>, Vec<TicketEvent>)],
) -> anyhow::Result<Vec<i64>> {
    let last: i64 = sqlx::query(
        "UPDATE counters SET value = value + $1 WHERE name = 'ticket_number' RETURNING value",
    )
    .bind(tickets.len() as i64)
    .fetch_one(&mut **tx)
    .await
    .context("while numbering tickets")?
    .try_get("value")?;
    let first = last - tickets.len() as i64 + 1;
    let mut numbers = Vec::with_capacity(tickets.len());
    for (i, (t, messages, events)) in tickets.iter().enumerate() {
        let number = first + i as i64;
        insert_ticket_row(tx, t, number).await?;
        insert_messages(tx, messages).await?;
        insert_events(tx, events).await?;
        numbers.push(number);
    }
    Ok(numbers)
}

/// Notes that `agent_id` has the ticket open (and whether they are writing a reply).
pub(crate) async fn touch_viewer<'e, E>(
    executor: E,
    ticket_id: &str,
    agent_id: &str,
    composing: bool,
    now_ms: i64,
) -> anyhow::Result<()>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(
        "INSERT INTO ticket_viewers (ticket_id, agent_id, composing, seen_at_ms) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (ticket_id, agent_id) \
         DO UPDATE SET composing = excluded.composing, seen_at_ms = excluded.seen_at_ms",
    )
    .bind(ticket_id)
    .bind(agent_id)
    .bind(i64::from(composing))
    .bind(now_ms)
    .execute(executor)
    .await
    .context("while noting a ticket viewer")?;
    Ok(())
}

/// Writes what the SLA watcher computed (breaches, deadlines, next check) without counting
/// as a change of the ticket; false when the ticket changed since it was read.
pub(crate) async fn write_sla<'e, E>(executor: E, t: &Ticket) -> anyhow::Result<bool>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let done = sqlx::query(
        "UPDATE tickets SET first_response_due_ms = $2, resolution_due_ms = $3, \
         next_due_ms = $4, first_response_breached = $5, resolution_breached = $6, \
         sla_breached = CASE WHEN $5 = 1 OR $6 = 1 THEN 1 ELSE 0 END, \
         sla_next_check_ms = $7 WHERE id = $1 AND updated_at_ms = $8",
    )
    .bind(&t.id)
    .bind(t.first_response_due_ms)
    .bind(t.resolution_due_ms)
    .bind(t.next_due_ms)
    .bind(i64::from(t.first_response_breached))
    .bind(i64::from(t.resolution_breached))
    .bind(t.sla_next_check_ms)
    .bind(t.updated_at_ms)
    .execute(executor)
    .await
    .context("while writing a ticket's SLA state")?;
    Ok(done.rows_affected() == 1)
}

/// Records a near-breach or breach once; true when this call recorded it (so the caller, on
/// whichever node, is the one to notify).
pub(crate) async fn insert_sla_alert<'e, E>(
    executor: E,
    ticket_id: &str,
    clock: &str,
    kind: &str,
    at_ms: i64,
    now_ms: i64,
) -> anyhow::Result<bool>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let done = sqlx::query(
        "INSERT INTO sla_alerts (ticket_id, clock, kind, at_ms, recorded_at_ms) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (ticket_id, clock, kind) DO NOTHING",
    )
    .bind(ticket_id)
    .bind(clock)
    .bind(kind)
    .bind(at_ms)
    .bind(now_ms)
    .execute(executor)
    .await
    .context("while recording an SLA alert")?;
    Ok(done.rows_affected() == 1)
}

enum Arg {
    Text(String),
    Int(i64),
}

/// A WHERE clause and its arguments for a filter (without its paging position).
fn filter_sql(f: &TicketFilter, args: &mut Vec<Arg>) -> Vec<String> {
    let place = |args: &mut Vec<Arg>, a: Arg| {
        args.push(a);
        format!("${}", args.len())
    };
    let mut clauses: Vec<String> = Vec::new();
    if let Some(r) = &f.requester_id {
        clauses.push(format!(
            "requester_id = {}",
            place(args, Arg::Text(r.clone()))
        ));
    }
    if let Some(a) = &f.assignee_id {
        clauses.push(format!(
            "assignee_id = {}",
            place(args, Arg::Text(a.clone()))
        ));
    }
    if f.unassigned {
        clauses.push("assignee_id IS NULL".to_owned());
    }
    // Lists of tickets that are not done say so in one equality, which the queues' indexes
    // start with.
    let all_active = ACTIVE_STATUSES
        .iter()
        .all(|a| f.statuses.iter().any(|s| s == a));
    let statuses: &[String] = if all_active
        && f.statuses
            .iter()
            .all(|s| ACTIVE_STATUSES.contains(&s.as_str()))
    {
        // Exactly the statuses of tickets not done: the one column says it, and the status
        // need not be read.
        clauses.push("active = 1".to_owned());
        &[]
    } else {
        if !f.statuses.is_empty()
            && f.statuses
                .iter()
                .all(|s| ACTIVE_STATUSES.contains(&s.as_str()))
        {
            clauses.push("active = 1".to_owned());
        }
        &f.statuses
    };
    for (column, values) in [("group_id", &f.group_ids), ("status", &statuses.to_vec())] {
        if !values.is_empty() {
            let ps: Vec<String> = values
                .iter()
                .map(|s| place(args, Arg::Text(s.clone())))
                .collect();
            clauses.push(format!("{column} IN ({})", ps.join(", ")));
        }
    }
    for (column, value) in [
        ("category", &f.category),
        ("priority", &f.priority),
        ("channel", &f.channel),
    ] {
        if let Some(v) = value {
            clauses.push(format!("{column} = {}", place(args, Arg::Text(v.clone()))));
        }
    }
    if f.breached {
        clauses.push("sla_breached = 1".to_owned());
    }
    if let Some(ms) = f.due_before_ms {
        clauses.push(format!("next_due_ms <= {}", place(args, Arg::Int(ms))));
    }
    clauses
}

fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    args: Vec<Arg>,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for a in args {
        q = match a {
            Arg::Text(t) => q.bind(t),
            Arg::Int(i) => q.bind(i),
        };
    }
    q
}

impl Db {
    /// Imports many tickets at once (a move from another help desk, a load test): each with
    /// its messages and events, numbered in order, all in one transaction. Answers the numbers.
    pub async fn import_tickets(
        &self,
        tickets: &[(Ticket, Vec<TicketMessage>, Vec<TicketEvent>)],
    ) -> anyhow::Result<Vec<i64>> {
        let mut tx = self.begin_write().await?;
        let numbers = insert_all(&mut tx, tickets).await?;
        tx.commit().await?;
        Ok(numbers)
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

    pub async fn ticket_by_number(&self, number: i64) -> anyhow::Result<Option<Ticket>> {
        let sql = format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE number = $1");
        sqlx::query(&sql)
            .bind(number)
            .fetch_optional(self.pool())
            .await
            .context("while reading a ticket by number")?
            .as_ref()
            .map(ticket_from_row)
            .transpose()
    }

    /// Tickets in the filter's order, at most `limit`.
    pub async fn tickets(&self, f: &TicketFilter, limit: i64) -> anyhow::Result<Vec<Ticket>> {
        let mut args: Vec<Arg> = Vec::new();
        let mut clauses = filter_sql(f, &mut args);
        let (key, dir, cmp) = match f.order {
            TicketOrder::UpdatedDesc => ("updated_at_ms", "DESC", "<"),
            TicketOrder::DueAsc => ("next_due_ms", "ASC", ">"),
        };
        if let Some((at, id)) = &f.after {
            args.push(Arg::Int(*at));
            let at = format!("${}", args.len());
            args.push(Arg::Text(id.clone()));
            let id = format!("${}", args.len());
            clauses.push(format!(
                "({key} {cmp} {at} OR ({key} = {at} AND id {cmp} {id}))"
            ));
        }
        args.push(Arg::Int(limit));
        let limit_at = format!("${}", args.len());
        let filter = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        let sql = format!(
            "SELECT {TICKET_COLUMNS} FROM tickets {filter} \
             ORDER BY {key} {dir}, id {dir} LIMIT {limit_at}"
        );
        let rows = bind_all(sqlx::query(&sql), args)
            .fetch_all(self.pool())
            .await
            .context("while listing tickets")?;
        rows.iter().map(ticket_from_row).collect()
    }

    /// How many tickets the filter matches (its order and position ignored).
    pub async fn count_tickets(&self, f: &TicketFilter) -> anyhow::Result<i64> {
        let mut args: Vec<Arg> = Vec::new();
        let clauses = filter_sql(f, &mut args);
        let filter = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        let sql = format!("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM tickets {filter}");
        let row = bind_all(sqlx::query(&sql), args)
            .fetch_one(self.pool())
            .await
            .context("while counting tickets")?;
        Ok(row.try_get("n")?)
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

    /// Stores a file on a ticket.
    pub async fn insert_attachment(&self, a: &Attachment, data: &[u8]) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO ticket_attachments (id, ticket_id, message_id, filename, content_type, \
             size, sha256, data, uploaded_by, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&a.id)
        .bind(&a.ticket_id)
        .bind(&a.message_id)
        .bind(&a.filename)
        .bind(&a.content_type)
        .bind(a.size)
        .bind(&a.sha256)
        .bind(data.to_vec())
        .bind(&a.uploaded_by)
        .bind(a.created_at_ms)
        .execute(self.pool())
        .await
        .context("while storing an attachment")?;
        Ok(())
    }

    /// A ticket's files, oldest first (no bytes).
    pub async fn attachments(&self, ticket_id: &str) -> anyhow::Result<Vec<Attachment>> {
        let rows = sqlx::query(
            "SELECT id, ticket_id, message_id, filename, content_type, size, sha256, \
             uploaded_by, created_at_ms FROM ticket_attachments WHERE ticket_id = $1 \
             ORDER BY created_at_ms, id",
        )
        .bind(ticket_id)
        .fetch_all(self.pool())
        .await
        .context("while listing attachments")?;
        rows.iter().map(attachment_from_row).collect()
    }

    /// One file of a ticket with its bytes.
    pub async fn attachment(
        &self,
        ticket_id: &str,
        id: &str,
    ) -> anyhow::Result<Option<(Attachment, Vec<u8>)>> {
        let row = sqlx::query(
            "SELECT id, ticket_id, message_id, filename, content_type, size, sha256, \
             uploaded_by, created_at_ms, data FROM ticket_attachments \
             WHERE ticket_id = $1 AND id = $2",
        )
        .bind(ticket_id)
        .bind(id)
        .fetch_optional(self.pool())
        .await
        .context("while reading an attachment")?;
        match row {
            None => Ok(None),
            Some(r) => Ok(Some((attachment_from_row(&r)?, r.try_get("data")?))),
        }
    }

    /// Who had the ticket open since `since_ms`: (agent id, composing, last seen), latest first.
    pub async fn ticket_viewers(
        &self,
        ticket_id: &str,
        since_ms: i64,
    ) -> anyhow::Result<Vec<(String, bool, i64)>> {
        let rows = sqlx::query(
            "SELECT agent_id, composing, seen_at_ms FROM ticket_viewers \
             WHERE ticket_id = $1 AND seen_at_ms >= $2 ORDER BY seen_at_ms DESC, agent_id",
        )
        .bind(ticket_id)
        .bind(since_ms)
        .fetch_all(self.pool())
        .await
        .context("while reading ticket viewers")?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("agent_id")?,
                    r.try_get::<i64, _>("composing")? != 0,
                    r.try_get("seen_at_ms")?,
                ))
            })
            .collect()
    }

    /// Tickets solved before `cutoff_ms` and not closed yet, oldest solve first.
    pub async fn tickets_solved_before(
        &self,
        cutoff_ms: i64,
        limit: i64,
    ) -> anyhow::Result<Vec<Ticket>> {
        let sql = format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE status = 'solved' \
             AND solved_at_ms < $1 ORDER BY solved_at_ms, id LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(cutoff_ms)
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .context("while finding solved tickets to close")?;
        rows.iter().map(ticket_from_row).collect()
    }

    /// Tickets whose SLA watcher check is due by `now_ms`, earliest first.
    pub async fn tickets_due_for_sla_check(
        &self,
        now_ms: i64,
        limit: i64,
    ) -> anyhow::Result<Vec<Ticket>> {
        let sql = format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE sla_next_check_ms IS NOT NULL \
             AND sla_next_check_ms <= $1 ORDER BY sla_next_check_ms, id LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(now_ms)
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .context("while finding tickets for the SLA watcher")?;
        rows.iter().map(ticket_from_row).collect()
    }

    /// SLA alerts recorded since `since_ms`, newest first: (ticket id, clock, kind, at).
    pub async fn recent_sla_alerts(
        &self,
        since_ms: i64,
        limit: i64,
    ) -> anyhow::Result<Vec<(String, String, String, i64)>> {
        let rows = sqlx::query(
            "SELECT ticket_id, clock, kind, at_ms FROM sla_alerts WHERE recorded_at_ms >= $1 \
             ORDER BY recorded_at_ms DESC, ticket_id LIMIT $2",
        )
        .bind(since_ms)
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .context("while reading SLA alerts")?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("ticket_id")?,
                    r.try_get("clock")?,
                    r.try_get("kind")?,
                    r.try_get("at_ms")?,
                ))
            })
            .collect()
    }
}
