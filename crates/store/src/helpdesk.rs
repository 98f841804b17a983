//! The help desk around tickets: support groups with their business hours and skills, agents
//! with presence and capacity, the assignment of waiting tickets under a per-group lock, SLA
//! targets, macros, complaints to supervisors, satisfaction ratings, the suggestions box, and
//! what the supervisors' figures are computed from.
//!
//! Who gets a ticket is decided by the caller's function (`helpdesk::routing`), called here
//! while the group is locked, so two nodes never hand the same capacity out twice.

use std::collections::HashMap;

use anyhow::Context;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::tickets::{insert_events, Ticket, TicketEvent};
use crate::{Backend, Db};

/// A support group: a queue with its business hours (for SLA clocks) and skills.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SupportGroup {
    pub id: String,
    pub name_zh: String,
    pub name_en: String,
    /// The business hours as JSON (`helpcenter::directory::ScheduleSpec`).
    pub schedule: String,
    /// Comma-separated language tags.
    pub languages: String,
    /// Comma-separated categories; empty: every category.
    pub categories: String,
    pub position: i64,
    pub created_at_ms: i64,
}

/// An agent as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentRow {
    pub user_id: String,
    /// The name customers see on replies.
    pub display_name: String,
    pub group_id: String,
    /// online, away, offline.
    pub presence: String,
    pub capacity: i64,
    pub languages: String,
    pub categories: String,
    pub last_assigned_at_ms: Option<i64>,
    pub presence_at_ms: i64,
}

/// One row of SLA targets, in business seconds; category `""` is the priority's default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlaTargetRow {
    pub priority: String,
    pub category: String,
    pub first_response_s: Option<i64>,
    pub resolution_s: Option<i64>,
}

/// A canned reply with its actions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MacroRow {
    pub id: String,
    pub name: String,
    pub body_zh: String,
    pub body_en: String,
    /// `name: value` lines (`helpdesk::macros::parse_actions`).
    pub actions: String,
    pub created_by: Option<String>,
    pub updated_at_ms: i64,
}

/// A complaint (投诉) about a ticket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Complaint {
    pub id: String,
    pub ticket_id: String,
    pub raised_by: String,
    pub by_agent: bool,
    pub reason: String,
    /// open, resolved.
    pub status: String,
    pub supervisor_id: Option<String>,
    pub outcome: Option<String>,
    pub due_at_ms: i64,
    pub created_at_ms: i64,
    pub resolved_at_ms: Option<i64>,
}

/// A satisfaction rating.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rating {
    pub ticket_id: String,
    pub score: i64,
    pub comment: String,
    pub rated_by: String,
    pub created_at_ms: i64,
}

/// A note for the suggestions box.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suggestion {
    pub id: String,
    pub user_id: Option<String>,
    pub topic: String,
    pub language: String,
    pub body: String,
    pub status: String,
    pub created_at_ms: i64,
}

/// What the routing function sees while the group is locked.
#[derive(Clone, Debug)]
pub struct RoutingSnapshot {
    pub agents: Vec<AgentRow>,
    /// Tickets each agent holds in [`crate::tickets::LOAD_STATUSES`].
    pub loads: HashMap<String, i64>,
    /// The group's unassigned tickets that wait on us, oldest first.
    pub waiting: Vec<Ticket>,
}

/// Something written together with a ticket's change.
#[derive(Clone, Debug)]
pub enum Also {
    InsertComplaint(Complaint),
    /// Resolves an open complaint; refused (nothing written) when it is no longer open.
    ResolveComplaint {
        id: String,
        supervisor_id: String,
        outcome: String,
        at_ms: i64,
    },
    UpsertRating(Rating),
}

/// The per-ticket facts the supervisors' figures are computed from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketFactsRow {
    pub ticket: Ticket,
    pub rating: Option<i64>,
}

fn group_from_row(r: &AnyRow) -> anyhow::Result<SupportGroup> {
    Ok(SupportGroup {
        id: r.try_get("id")?,
        name_zh: r.try_get("name_zh")?,
        name_en: r.try_get("name_en")?,
        schedule: r.try_get("schedule")?,
        languages: r.try_get("languages")?,
        categories: r.try_get("categories")?,
        position: r.try_get("position")?,
        created_at_ms: r.try_get("created_at_ms")?,
    })
}

fn agent_from_row(r: &AnyRow) -> anyhow::Result<AgentRow> {
    Ok(AgentRow {
        user_id: r.try_get("user_id")?,
        display_name: r.try_get("display_name")?,
        group_id: r.try_get("group_id")?,
        presence: r.try_get("presence")?,
        capacity: r.try_get("capacity")?,
        languages: r.try_get("languages")?,
        categories: r.try_get("categories")?,
        last_assigned_at_ms: r.try_get("last_assigned_at_ms")?,
        presence_at_ms: r.try_get("presence_at_ms")?,
    })
}

fn macro_from_row(r: &AnyRow) -> anyhow::Result<MacroRow> {
    Ok(MacroRow {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        body_zh: r.try_get("body_zh")?,
        body_en: r.try_get("body_en")?,
        actions: r.try_get("actions")?,
        created_by: r.try_get("created_by")?,
        updated_at_ms: r.try_get("updated_at_ms")?,
    })
}

fn complaint_from_row(r: &AnyRow) -> anyhow::Result<Complaint> {
    Ok(Complaint {
        id: r.try_get("id")?,
        ticket_id: r.try_get("ticket_id")?,
        raised_by: r.try_get("raised_by")?,
        by_agent: r.try_get::<i64, _>("by_agent")? != 0,
        reason: r.try_get("reason")?,
        status: r.try_get("status")?,
        supervisor_id: r.try_get("supervisor_id")?,
        outcome: r.try_get("outcome")?,
        due_at_ms: r.try_get("due_at_ms")?,
        created_at_ms: r.try_get("created_at_ms")?,
        resolved_at_ms: r.try_get("resolved_at_ms")?,
    })
}

const AGENT_COLUMNS: &str =
    "user_id, display_name, group_id, presence, capacity, languages, categories, \
     last_assigned_at_ms, presence_at_ms";
const GROUP_COLUMNS: &str =
    "id, name_zh, name_en, schedule, languages, categories, position, created_at_ms";
const COMPLAINT_COLUMNS: &str = "id, ticket_id, raised_by, by_agent, reason, status, \
     supervisor_id, outcome, due_at_ms, created_at_ms, resolved_at_ms";

pub(crate) async fn write_also(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    also: &Also,
) -> anyhow::Result<bool> {
    match also {
        Also::InsertComplaint(c) => {
            sqlx::query(&format!(
                "INSERT INTO complaints ({COMPLAINT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, \
                 $7, $8, $9, $10, $11)"
            ))
            .bind(&c.id)
            .bind(&c.ticket_id)
            .bind(&c.raised_by)
            .bind(i64::from(c.by_agent))
            .bind(&c.reason)
            .bind(&c.status)
            .bind(&c.supervisor_id)
            .bind(&c.outcome)
            .bind(c.due_at_ms)
            .bind(c.created_at_ms)
            .bind(c.resolved_at_ms)
            .execute(&mut **tx)
            .await
            .context("while recording a complaint")?;
            Ok(true)
        }
        Also::ResolveComplaint {
            id,
            supervisor_id,
            outcome,
            at_ms,
        } => {
            let done = sqlx::query(
                "UPDATE complaints SET status = 'resolved', supervisor_id = $2, outcome = $3, \
                 resolved_at_ms = $4 WHERE id = $1 AND status = 'open'",
            )
            .bind(id)
            .bind(supervisor_id)
            .bind(outcome)
            .bind(at_ms)
            .execute(&mut **tx)
            .await
            .context("while resolving a complaint")?;
            Ok(done.rows_affected() == 1)
        }
        Also::UpsertRating(r) => {
            sqlx::query(
                "INSERT INTO ticket_ratings (ticket_id, score, comment, rated_by, created_at_ms) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (ticket_id) DO UPDATE SET \
                 score = excluded.score, comment = excluded.comment, \
                 rated_by = excluded.rated_by, created_at_ms = excluded.created_at_ms",
            )
            .bind(&r.ticket_id)
            .bind(r.score)
            .bind(&r.comment)
            .bind(&r.rated_by)
            .bind(r.created_at_ms)
            .execute(&mut **tx)
            .await
            .context("while recording a rating")?;
            Ok(true)
        }
    }
}

impl Db {
    // --- groups -----------------------------------------------------------------------------

    /// Every support group in display order.
    pub async fn support_groups(&self) -> anyhow::Result<Vec<SupportGroup>> {
        let rows = sqlx::query(&format!(
            "SELECT {GROUP_COLUMNS} FROM support_groups ORDER BY position, id"
        ))
        .fetch_all(self.pool())
        .await
        .context("while listing support groups")?;
        rows.iter().map(group_from_row).collect()
    }

    pub async fn support_group(&self, id: &str) -> anyhow::Result<Option<SupportGroup>> {
        sqlx::query(&format!(
            "SELECT {GROUP_COLUMNS} FROM support_groups WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await
        .context("while reading a support group")?
        .as_ref()
        .map(group_from_row)
        .transpose()
    }

    /// Creates or replaces a support group (its creation time is kept).
    pub async fn put_support_group(&self, g: &SupportGroup) -> anyhow::Result<()> {
        sqlx::query(&format!(
            "INSERT INTO support_groups ({GROUP_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (id) DO UPDATE SET name_zh = excluded.name_zh, \
             name_en = excluded.name_en, schedule = excluded.schedule, \
             languages = excluded.languages, categories = excluded.categories, \
             position = excluded.position"
        ))
        .bind(&g.id)
        .bind(&g.name_zh)
        .bind(&g.name_en)
        .bind(&g.schedule)
        .bind(&g.languages)
        .bind(&g.categories)
        .bind(g.position)
        .bind(g.created_at_ms)
        .execute(self.pool())
        .await
        .context("while saving a support group")?;
        Ok(())
    }

    // --- agents -----------------------------------------------------------------------------

    pub async fn agents(&self) -> anyhow::Result<Vec<AgentRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {AGENT_COLUMNS} FROM agents ORDER BY user_id"
        ))
        .fetch_all(self.pool())
        .await
        .context("while listing agents")?;
        rows.iter().map(agent_from_row).collect()
    }

    pub async fn agent(&self, user_id: &str) -> anyhow::Result<Option<AgentRow>> {
        sqlx::query(&format!(
            "SELECT {AGENT_COLUMNS} FROM agents WHERE user_id = $1"
        ))
        .bind(user_id)
        .fetch_optional(self.pool())
        .await
        .context("while reading an agent")?
        .as_ref()
        .map(agent_from_row)
        .transpose()
    }

    /// Creates or updates an agent's group, capacity and skills; presence and the last
    /// assignment are kept for an existing agent.
    pub async fn put_agent(&self, a: &AgentRow) -> anyhow::Result<()> {
        sqlx::query(&format!(
            "INSERT INTO agents ({AGENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (user_id) DO UPDATE SET display_name = excluded.display_name, \
             group_id = excluded.group_id, \
             capacity = excluded.capacity, languages = excluded.languages, \
             categories = excluded.categories"
        ))
        .bind(&a.user_id)
        .bind(&a.display_name)
        .bind(&a.group_id)
        .bind(&a.presence)
        .bind(a.capacity)
        .bind(&a.languages)
        .bind(&a.categories)
        .bind(a.last_assigned_at_ms)
        .bind(a.presence_at_ms)
        .execute(self.pool())
        .await
        .context("while saving an agent")?;
        Ok(())
    }

    /// Sets an agent's presence; false when they are not an agent.
    pub async fn set_agent_presence(
        &self,
        user_id: &str,
        presence: &str,
        now_ms: i64,
    ) -> anyhow::Result<bool> {
        let done =
            sqlx::query("UPDATE agents SET presence = $2, presence_at_ms = $3 WHERE user_id = $1")
                .bind(user_id)
                .bind(presence)
                .bind(now_ms)
                .execute(self.pool())
                .await
                .context("while setting an agent's presence")?;
        Ok(done.rows_affected() == 1)
    }

    /// How many tickets one agent holds in the load statuses.
    pub async fn agent_load(&self, user_id: &str) -> anyhow::Result<i64> {
        agent_load(self.pool(), user_id).await
    }

    /// How many tickets each agent holds in the load statuses.
    pub async fn agent_loads(&self) -> anyhow::Result<HashMap<String, i64>> {
        load_counts(self.pool()).await
    }

    // --- SLA targets ------------------------------------------------------------------------

    pub async fn sla_targets(&self) -> anyhow::Result<Vec<SlaTargetRow>> {
        let rows = sqlx::query(
            "SELECT priority, category, first_response_s, resolution_s FROM sla_targets \
             ORDER BY priority, category",
        )
        .fetch_all(self.pool())
        .await
        .context("while reading SLA targets")?;
        rows.iter()
            .map(|r| {
                Ok(SlaTargetRow {
                    priority: r.try_get("priority")?,
                    category: r.try_get("category")?,
                    first_response_s: r.try_get("first_response_s")?,
                    resolution_s: r.try_get("resolution_s")?,
                })
            })
            .collect()
    }

    /// Replaces every SLA target row at once.
    pub async fn replace_sla_targets(&self, rows: &[SlaTargetRow]) -> anyhow::Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM sla_targets")
            .execute(&mut *tx)
            .await
            .context("while clearing SLA targets")?;
        for r in rows {
            sqlx::query(
                "INSERT INTO sla_targets (priority, category, first_response_s, resolution_s) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(&r.priority)
            .bind(&r.category)
            .bind(r.first_response_s)
            .bind(r.resolution_s)
            .execute(&mut *tx)
            .await
            .context("while saving an SLA target")?;
        }
        tx.commit().await?;
        Ok(())
    }

    // --- macros -----------------------------------------------------------------------------

    pub async fn macros(&self) -> anyhow::Result<Vec<MacroRow>> {
        let rows = sqlx::query(
            "SELECT id, name, body_zh, body_en, actions, created_by, updated_at_ms FROM macros \
             ORDER BY name, id",
        )
        .fetch_all(self.pool())
        .await
        .context("while listing macros")?;
        rows.iter().map(macro_from_row).collect()
    }

    pub async fn macro_by_id(&self, id: &str) -> anyhow::Result<Option<MacroRow>> {
        sqlx::query(
            "SELECT id, name, body_zh, body_en, actions, created_by, updated_at_ms FROM macros \
             WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await
        .context("while reading a macro")?
        .as_ref()
        .map(macro_from_row)
        .transpose()
    }

    /// Creates or replaces a macro (its author is kept).
    pub async fn put_macro(&self, m: &MacroRow) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO macros (id, name, body_zh, body_en, actions, created_by, updated_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO UPDATE SET \
             name = excluded.name, body_zh = excluded.body_zh, body_en = excluded.body_en, \
             actions = excluded.actions, updated_at_ms = excluded.updated_at_ms",
        )
        .bind(&m.id)
        .bind(&m.name)
        .bind(&m.body_zh)
        .bind(&m.body_en)
        .bind(&m.actions)
        .bind(&m.created_by)
        .bind(m.updated_at_ms)
        .execute(self.pool())
        .await
        .context("while saving a macro")?;
        Ok(())
    }

    pub async fn delete_macro(&self, id: &str) -> anyhow::Result<bool> {
        let done = sqlx::query("DELETE FROM macros WHERE id = $1")
            .bind(id)
            .execute(self.pool())
            .await
            .context("while deleting a macro")?;
        Ok(done.rows_affected() == 1)
    }

    // --- complaints -------------------------------------------------------------------------

    pub async fn complaint(&self, id: &str) -> anyhow::Result<Option<Complaint>> {
        sqlx::query(&format!(
            "SELECT {COMPLAINT_COLUMNS} FROM complaints WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await
        .context("while reading a complaint")?
        .as_ref()
        .map(complaint_from_row)
        .transpose()
    }

    /// A ticket's complaints, oldest first.
    pub async fn complaints_of(&self, ticket_id: &str) -> anyhow::Result<Vec<Complaint>> {
        let rows = sqlx::query(&format!(
            "SELECT {COMPLAINT_COLUMNS} FROM complaints WHERE ticket_id = $1 \
             ORDER BY created_at_ms, id"
        ))
        .bind(ticket_id)
        .fetch_all(self.pool())
        .await
        .context("while reading a ticket's complaints")?;
        rows.iter().map(complaint_from_row).collect()
    }

    pub async fn count_open_complaints(&self) -> anyhow::Result<i64> {
        let row = sqlx::query(
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM complaints WHERE status = 'open'",
        )
        .fetch_one(self.pool())
        .await
        .context("while counting open complaints")?;
        Ok(row.try_get("n")?)
    }

    /// Complaints in a status (`open`: most urgent first; otherwise newest first).
    pub async fn complaints(&self, status: &str, limit: i64) -> anyhow::Result<Vec<Complaint>> {
        let order = if status == "open" {
            "due_at_ms, id"
        } else {
            "created_at_ms DESC, id DESC"
        };
        let rows = sqlx::query(&format!(
            "SELECT {COMPLAINT_COLUMNS} FROM complaints WHERE status = $1 ORDER BY {order} \
             LIMIT $2"
        ))
        .bind(status)
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .context("while listing complaints")?;
        rows.iter().map(complaint_from_row).collect()
    }

    // --- ratings ----------------------------------------------------------------------------

    pub async fn rating(&self, ticket_id: &str) -> anyhow::Result<Option<Rating>> {
        let row = sqlx::query(
            "SELECT ticket_id, score, comment, rated_by, created_at_ms FROM ticket_ratings \
             WHERE ticket_id = $1",
        )
        .bind(ticket_id)
        .fetch_optional(self.pool())
        .await
        .context("while reading a rating")?;
        row.map(|r| {
            Ok(Rating {
                ticket_id: r.try_get("ticket_id")?,
                score: r.try_get("score")?,
                comment: r.try_get("comment")?,
                rated_by: r.try_get("rated_by")?,
                created_at_ms: r.try_get("created_at_ms")?,
            })
        })
        .transpose()
    }

    /// The ratings of these tickets, by ticket id.
    pub async fn ratings_of(
        &self,
        ticket_ids: &[String],
    ) -> anyhow::Result<HashMap<String, Rating>> {
        let mut out = HashMap::new();
        for chunk in ticket_ids.chunks(256) {
            let list = crate::padded(chunk);
            let sql = format!(
                "SELECT ticket_id, score, comment, rated_by, created_at_ms FROM ticket_ratings \
                 WHERE ticket_id IN ({})",
                crate::placeholders(self.backend, 1, list.len())
            );
            let mut q = sqlx::query(&sql);
            for id in &list {
                q = q.bind(id);
            }
            for r in q
                .fetch_all(self.pool())
                .await
                .context("while reading ratings")?
            {
                let rating = Rating {
                    ticket_id: r.try_get("ticket_id")?,
                    score: r.try_get("score")?,
                    comment: r.try_get("comment")?,
                    rated_by: r.try_get("rated_by")?,
                    created_at_ms: r.try_get("created_at_ms")?,
                };
                out.insert(rating.ticket_id.clone(), rating);
            }
        }
        Ok(out)
    }

    /// The latest complaint about each of these tickets, by ticket id.
    pub async fn latest_complaints_of(
        &self,
        ticket_ids: &[String],
    ) -> anyhow::Result<HashMap<String, Complaint>> {
        let mut out: HashMap<String, Complaint> = HashMap::new();
        for chunk in ticket_ids.chunks(256) {
            let list = crate::padded(chunk);
            let sql = format!(
                "SELECT {COMPLAINT_COLUMNS} FROM complaints WHERE ticket_id IN ({}) \
                 ORDER BY created_at_ms, id",
                crate::placeholders(self.backend, 1, list.len())
            );
            let mut q = sqlx::query(&sql);
            for id in &list {
                q = q.bind(id);
            }
            for r in q
                .fetch_all(self.pool())
                .await
                .context("while reading complaints")?
            {
                let c = complaint_from_row(&r)?;
                out.insert(c.ticket_id.clone(), c);
            }
        }
        Ok(out)
    }

    // --- suggestions ------------------------------------------------------------------------

    pub async fn insert_suggestion(&self, s: &Suggestion) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO suggestions (id, user_id, topic, language, body, status, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&s.id)
        .bind(&s.user_id)
        .bind(&s.topic)
        .bind(&s.language)
        .bind(&s.body)
        .bind(&s.status)
        .bind(s.created_at_ms)
        .execute(self.pool())
        .await
        .context("while saving a suggestion")?;
        Ok(())
    }

    /// Suggestions newest first, before the (created, id) position of the previous page.
    pub async fn suggestions(
        &self,
        before: Option<(i64, &str)>,
        limit: i64,
    ) -> anyhow::Result<Vec<Suggestion>> {
        let (before_ms, before_id) = before.unwrap_or((i64::MAX, ""));
        let rows = sqlx::query(
            "SELECT id, user_id, topic, language, body, status, created_at_ms FROM suggestions \
             WHERE created_at_ms < $1 OR (created_at_ms = $1 AND ($2 = '' OR id < $2)) \
             ORDER BY created_at_ms DESC, id DESC LIMIT $3",
        )
        .bind(before_ms)
        .bind(before_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .context("while listing suggestions")?;
        rows.iter()
            .map(|r| {
                Ok(Suggestion {
                    id: r.try_get("id")?,
                    user_id: r.try_get("user_id")?,
                    topic: r.try_get("topic")?,
                    language: r.try_get("language")?,
                    body: r.try_get("body")?,
                    status: r.try_get("status")?,
                    created_at_ms: r.try_get("created_at_ms")?,
                })
            })
            .collect()
    }

    /// How many suggestions arrived since `since_ms` from `user_id` (throttling).
    pub async fn suggestions_since(&self, user_id: &str, since_ms: i64) -> anyhow::Result<i64> {
        let row = sqlx::query(
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM suggestions \
             WHERE user_id = $1 AND created_at_ms >= $2",
        )
        .bind(user_id)
        .bind(since_ms)
        .fetch_one(self.pool())
        .await
        .context("while counting suggestions")?;
        Ok(row.try_get("n")?)
    }

    // --- figures ----------------------------------------------------------------------------

    /// The tickets a report over `[from_ms, to_ms)` needs: created before its end and either
    /// created in it, solved in it, or not solved before it began (the backlog), with ratings.
    pub async fn ticket_facts(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> anyhow::Result<Vec<TicketFactsRow>> {
        let sql = format!(
            "SELECT {}, r.score AS rating FROM tickets t \
             LEFT JOIN ticket_ratings r ON r.ticket_id = t.id \
             WHERE t.created_at_ms < $2 AND t.merged_into IS NULL \
             AND (t.created_at_ms >= $1 OR t.solved_at_ms IS NULL OR t.solved_at_ms >= $1)",
            crate::tickets::TICKET_COLUMNS
                .split(", ")
                .map(|c| format!("t.{}", c.trim()))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let rows = sqlx::query(&sql)
            .bind(from_ms)
            .bind(to_ms)
            .fetch_all(self.pool())
            .await
            .context("while reading tickets for the figures")?;
        rows.iter()
            .map(|r| {
                Ok(TicketFactsRow {
                    ticket: crate::tickets::ticket_from_row(r)?,
                    rating: r.try_get("rating")?,
                })
            })
            .collect()
    }
}

/// The load statuses as an SQL list.
fn load_status_list() -> String {
    crate::tickets::LOAD_STATUSES
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How many tickets one agent holds in the load statuses.
async fn agent_load<'e, E>(executor: E, agent_id: &str) -> anyhow::Result<i64>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let row = sqlx::query(&format!(
        "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM tickets \
         WHERE assignee_id = $1 AND status IN ({})",
        load_status_list()
    ))
    .bind(agent_id)
    .fetch_one(executor)
    .await
    .context("while counting an agent's load")?;
    Ok(row.try_get("n")?)
}

/// Tickets per assignee in the load statuses.
async fn load_counts<'e, E>(executor: E) -> anyhow::Result<HashMap<String, i64>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let statuses = load_status_list();
    let rows = sqlx::query(&format!(
        "SELECT assignee_id, CAST(COUNT(*) AS BIGINT) AS n FROM tickets \
         WHERE assignee_id IS NOT NULL AND status IN ({statuses}) GROUP BY assignee_id"
    ))
    .fetch_all(executor)
    .await
    .context("while counting agents' loads")?;
    rows.iter()
        .map(|r| Ok((r.try_get("assignee_id")?, r.try_get("n")?)))
        .collect()
}

/// Assigns `group_id`'s waiting tickets inside the caller's transaction, with the group
/// locked: `decide` sees the group's agents, their loads and the waiting tickets, and answers
/// (ticket id, agent id) pairs; each is written with an `assigned` event unless the ticket was
/// taken meanwhile.
pub(crate) async fn route_group_in<F>(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: Backend,
    group_id: &str,
    now_ms: i64,
    waiting_max: i64,
    decide: F,
) -> anyhow::Result<Vec<(String, String)>>
where
    F: FnOnce(&RoutingSnapshot) -> Vec<(String, String)>,
{
    if backend == Backend::Postgres {
        // One assigner per group at a time, on every node; SQLite's BEGIN IMMEDIATE already
        // serialises writers.
        sqlx::query("SELECT id FROM support_groups WHERE id = $1 FOR UPDATE")
            .bind(group_id)
            .fetch_optional(&mut **tx)
            .await
            .context("while locking a support group")?;
    }
    let agents = sqlx::query(&format!(
        "SELECT {AGENT_COLUMNS} FROM agents WHERE group_id = $1 ORDER BY user_id"
    ))
    .bind(group_id)
    .fetch_all(&mut **tx)
    .await
    .context("while reading a group's agents")?
    .iter()
    .map(agent_from_row)
    .collect::<anyhow::Result<Vec<_>>>()?;
    let online: Vec<&AgentRow> = agents.iter().filter(|a| a.presence == "online").collect();
    if online.is_empty() {
        return Ok(Vec::new());
    }
    let mut loads = HashMap::new();
    for a in &online {
        loads.insert(a.user_id.clone(), agent_load(&mut **tx, &a.user_id).await?);
    }
    // Room, at most: no more waiting tickets are read than could be handed out (the decision
    // is routing's, which may also leave room unused for want of a skill).
    let room: i64 = online
        .iter()
        .map(|a| (a.capacity - loads.get(&a.user_id).copied().unwrap_or(0)).max(0))
        .sum();
    if room == 0 {
        return Ok(Vec::new());
    }
    // Oldest first, over the waiting tickets' own index; others (pending, on hold) are
    // skipped as they come.
    let waiting_sql = format!(
        "SELECT {} FROM tickets WHERE group_id = $1 AND assignee_id IS NULL \
         AND status IN ('new', 'open') ORDER BY created_at_ms, id LIMIT $2",
        crate::tickets::TICKET_COLUMNS
    );
    let waiting = sqlx::query(&waiting_sql)
        .bind(group_id)
        .bind(room.min(waiting_max))
        .fetch_all(&mut **tx)
        .await
        .context("while reading a group's waiting tickets")?
        .iter()
        .map(crate::tickets::ticket_from_row)
        .collect::<anyhow::Result<Vec<_>>>()?;
    if waiting.is_empty() {
        return Ok(Vec::new());
    }
    let snapshot = RoutingSnapshot {
        agents,
        loads,
        waiting,
    };
    let mut written = Vec::new();
    for (ticket_id, agent_id) in decide(&snapshot) {
        // The change is the ticket's latest: never dated before an earlier one.
        let done = sqlx::query(
            "UPDATE tickets SET assignee_id = $2, updated_at_ms = CASE WHEN updated_at_ms >= $3 \
             THEN updated_at_ms + 1 ELSE $3 END WHERE id = $1 AND assignee_id IS NULL",
        )
        .bind(&ticket_id)
        .bind(&agent_id)
        .bind(now_ms)
        .execute(&mut **tx)
        .await
        .context("while assigning a ticket")?;
        if done.rows_affected() == 0 {
            continue;
        }
        sqlx::query("UPDATE agents SET last_assigned_at_ms = $2 WHERE user_id = $1")
            .bind(&agent_id)
            .bind(now_ms)
            .execute(&mut **tx)
            .await
            .context("while noting an assignment")?;
        insert_events(
            tx,
            &[TicketEvent {
                id: crate::new_id(),
                ticket_id: ticket_id.clone(),
                at_ms: now_ms,
                actor_id: None,
                kind: "assigned".to_owned(),
                detail: serde_json::json!({"to": agent_id, "by": "routing"}).to_string(),
            }],
        )
        .await?;
        written.push((ticket_id, agent_id));
    }
    Ok(written)
}
