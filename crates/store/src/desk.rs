//! The help desk's writes as one group commit: new tickets (numbered and routed), changes to
//! tickets (each written only if the ticket is as its writer read it), additions (a complaint,
//! its answer, a rating, with their messages, events and mail) and audit rows arrive together
//! and are applied in one transaction with one durable commit — on SQLite, where writers are
//! serialised, the difference between a few hundred and a few thousand writes a second.
//!
//! Each write is applied inside its own savepoint: one that is refused (a ticket changed
//! meanwhile, a complaint already answered) or fails leaves the others untouched. Who gets a
//! routed ticket is the caller's function, called while the group is locked.

use anyhow::Context;
use sqlx::Row;

use crate::helpdesk::{route_group_in, write_also, Also, RoutingSnapshot};
use crate::outbox::NewMail;
use crate::tickets::{
    insert_events, insert_messages, insert_sla_alert, insert_ticket_row, touch_viewer, write_sla,
    write_ticket, Ticket, TicketEvent, TicketMessage, TicketWrite,
};
use crate::Db;

/// One write of a batch.
#[derive(Clone, Debug)]
pub enum DeskWrite {
    /// A new ticket with its first message(s) and events; numbered and routed in the batch.
    Open {
        ticket: Box<Ticket>,
        messages: Vec<TicketMessage>,
        events: Vec<TicketEvent>,
    },
    /// Changes to tickets, each only if the ticket still has its `expected_updated_at_ms`,
    /// with a companion, and optionally every file of one ticket moved to another (a merge).
    Change {
        writes: Vec<TicketWrite>,
        also: Option<Also>,
        move_attachments: Option<(String, String)>,
    },
    /// Messages, events and mail added without changing a ticket's row, with a companion.
    Append {
        messages: Vec<TicketMessage>,
        events: Vec<TicketEvent>,
        also: Option<Also>,
        mails: Vec<NewMail>,
    },
    /// `agent_id` has the ticket open (and is writing when `composing`).
    Viewer {
        ticket_id: String,
        agent_id: String,
        composing: bool,
    },
    /// The SLA watcher's columns of a ticket, only if it is as it was read.
    Sla(Box<Ticket>),
    /// A near-breach or breach, recorded once (refused when it already was).
    Alert {
        ticket_id: String,
        clock: String,
        kind: String,
        at_ms: i64,
    },
    /// Route this group's waiting tickets at the end of the batch (an agent came online or
    /// has room again, a ticket went back to the queue).
    Route { group_id: String },
    /// An audit row (`actor`, `action`, `subject`, `detail` JSON).
    Audit {
        actor: String,
        action: String,
        subject: String,
        detail: String,
    },
}

/// What became of a write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeskOutcome {
    Opened {
        number: i64,
        assignee: Option<String>,
    },
    /// Written (false: refused because a ticket changed meanwhile or a companion no longer
    /// applies; nothing of it was written).
    Written(bool),
    /// This write failed; the others are not affected.
    Failed(String),
}

/// Applies one write inside the caller's savepoint; false when it is refused.
async fn apply(
    sp: &mut sqlx::Transaction<'_, sqlx::Any>,
    write: &DeskWrite,
    number: Option<i64>,
    now_ms: i64,
) -> anyhow::Result<bool> {
    match write {
        DeskWrite::Open {
            ticket,
            messages,
            events,
        } => {
            let number = number.context("a new ticket without a number")?;
            insert_ticket_row(sp, ticket, number).await?;
            insert_messages(sp, messages).await?;
            insert_events(sp, events).await?;
            Ok(true)
        }
        DeskWrite::Change {
            writes,
            also,
            move_attachments,
        } => {
            for w in writes {
                if !write_ticket(sp, w).await? {
                    return Ok(false);
                }
            }
            if let Some(also) = also {
                if !write_also(sp, also).await? {
                    return Ok(false);
                }
            }
            if let Some((from, to)) = move_attachments {
                sqlx::query("UPDATE ticket_attachments SET ticket_id = $2 WHERE ticket_id = $1")
                    .bind(from)
                    .bind(to)
                    .execute(&mut **sp)
                    .await
                    .context("while moving attachments")?;
            }
            Ok(true)
        }
        DeskWrite::Append {
            messages,
            events,
            also,
            mails,
        } => {
            if let Some(also) = also {
                if !write_also(sp, also).await? {
                    return Ok(false);
                }
            }
            insert_messages(sp, messages).await?;
            insert_events(sp, events).await?;
            for mail in mails {
                crate::outbox::insert_mail(sp, mail, now_ms).await?;
            }
            Ok(true)
        }
        DeskWrite::Audit {
            actor,
            action,
            subject,
            detail,
        } => {
            crate::audit::insert_audit(sp, actor, action, subject, detail, now_ms).await?;
            Ok(true)
        }
        DeskWrite::Route { .. } => Ok(true),
        DeskWrite::Viewer {
            ticket_id,
            agent_id,
            composing,
        } => {
            touch_viewer(&mut **sp, ticket_id, agent_id, *composing, now_ms).await?;
            Ok(true)
        }
        DeskWrite::Sla(t) => write_sla(&mut **sp, t).await,
        DeskWrite::Alert {
            ticket_id,
            clock,
            kind,
            at_ms,
        } => insert_sla_alert(&mut **sp, ticket_id, clock, kind, *at_ms, now_ms).await,
    }
}

impl Db {
    /// Applies `writes` in one transaction (see the module's notes), then routes every group
    /// a new ticket went to or a `Route` names, with `decide` choosing the agents while the
    /// group is locked.
    /// Answers one outcome per write, in order; an error here (the transaction itself could
    /// not be made or committed) means none was written.
    pub async fn apply_desk_batch<F>(
        &self,
        writes: &[DeskWrite],
        now_ms: i64,
        mut decide: F,
    ) -> anyhow::Result<Vec<DeskOutcome>>
    where
        F: FnMut(&RoutingSnapshot) -> Vec<(String, String)>,
    {
        let mut tx = self.begin_write().await?;
        let opens = writes
            .iter()
            .filter(|w| matches!(w, DeskWrite::Open { .. }))
            .count() as i64;
        let mut next_number = if opens > 0 {
            let last: i64 = sqlx::query(
                "UPDATE counters SET value = value + $1 WHERE name = 'ticket_number' \
                 RETURNING value",
            )
            .bind(opens)
            .fetch_one(&mut *tx)
            .await
            .context("while numbering tickets")?
            .try_get("value")?;
            last - opens + 1
        } else {
            0
        };
        let mut outcomes = Vec::with_capacity(writes.len());
        let mut groups = std::collections::BTreeSet::new();
        for write in writes {
            let number = matches!(write, DeskWrite::Open { .. }).then(|| {
                next_number += 1;
                next_number - 1
            });
            let mut sp = sqlx::Acquire::begin(&mut tx)
                .await
                .context("while opening a savepoint")?;
            match apply(&mut sp, write, number, now_ms).await {
                Ok(true) => {
                    sp.commit().await.context("while releasing a savepoint")?;
                    outcomes.push(match (write, number) {
                        (DeskWrite::Route { group_id }, _) => {
                            groups.insert(group_id.clone());
                            DeskOutcome::Written(true)
                        }
                        (DeskWrite::Open { ticket, .. }, Some(number)) => {
                            if let Some(g) = &ticket.group_id {
                                groups.insert(g.clone());
                            }
                            DeskOutcome::Opened {
                                number,
                                assignee: None,
                            }
                        }
                        _ => DeskOutcome::Written(true),
                    });
                }
                Ok(false) => {
                    sp.rollback()
                        .await
                        .context("while rolling back a savepoint")?;
                    outcomes.push(DeskOutcome::Written(false));
                }
                Err(e) => {
                    sp.rollback()
                        .await
                        .context("while rolling back a savepoint")?;
                    outcomes.push(DeskOutcome::Failed(format!("{e:#}")));
                }
            }
        }
        let mut assigned = std::collections::HashMap::new();
        let waiting = opens.saturating_add(100);
        for group in &groups {
            for (ticket, agent) in
                route_group_in(&mut tx, self.backend, group, now_ms, waiting, &mut decide).await?
            {
                assigned.insert(ticket, agent);
            }
        }
        tx.commit()
            .await
            .context("while committing the desk's batch")?;
        for (write, outcome) in writes.iter().zip(outcomes.iter_mut()) {
            if let (DeskWrite::Open { ticket, .. }, DeskOutcome::Opened { assignee, .. }) =
                (write, outcome)
            {
                *assignee = assigned.get(&ticket.id).cloned();
            }
        }
        Ok(outcomes)
    }
}
