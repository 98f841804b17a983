//! The help desk on this node: opening and changing tickets with the rules of the `helpdesk`
//! crate applied in one place, so the API, the pages and the background watcher share them.
//!
//! Every change goes through [`change_ticket`]: it reads the ticket, asks `helpdesk::change`
//! what the request does, recomputes the SLA clocks from the whole event history
//! (`helpdesk::sla`, in the ticket's group's business hours), and writes the row, the message,
//! the events and the mail that reports it in one transaction — if nobody changed the ticket
//! meanwhile; otherwise it reads again and retries. After a change that frees an agent or
//! leaves a ticket unassigned, the group's waiting tickets are routed ([`route`]).
//!
//! Never: decide a rule here that `helpdesk` should decide, or send mail from a request (the
//! outbox rows are written with the change).

use std::collections::BTreeSet;

use helpdesk::change::{self, Actor, Emitted, Refusal, Request};
use helpdesk::routing::{self, Language, Need};
use helpdesk::sla::{self, ClockState, EventKind, Policy, TicketSla};
use helpdesk::ticket::{Category, Priority, TicketStatus};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;
use store::desk::{DeskOutcome, DeskWrite};
use store::helpdesk::{SlaTargetRow, SupportGroup};
use store::outbox::NewMail;
use store::tickets::{Ticket, TicketEvent, TicketMessage, TicketWrite, NO_DUE_MS};
use store::users::User;

use crate::error::{ApiError, Reason, TicketRefusal};
use crate::AppState;

/// What the operator configures for the help desk.
#[derive(Clone, Debug)]
pub struct DeskSettings {
    /// A solved ticket closes itself after this many days without a reply.
    pub close_solved_after_days: u64,
    /// Supervisors answer a complaint within this much business time (their group's hours).
    pub complaint_due_business_s: i64,
    /// Near a breach once this many thousandths of a target are used.
    pub near_breach_permille: u16,
    /// The zone of the around-the-clock schedule used when a ticket has no group.
    pub time_zone: String,
}

impl Default for DeskSettings {
    fn default() -> DeskSettings {
        DeskSettings {
            close_solved_after_days: 4,
            complaint_due_business_s: 8 * 3600,
            near_breach_permille: 800,
            time_zone: "Asia/Shanghai".into(),
        }
    }
}

/// How many times a change is retried when someone else changed the ticket meanwhile.
const RETRIES_MAX: usize = 8;

/// How long this node trusts what it read of the desk's set-up (groups, SLA targets) before
/// reading again: edits on this node are seen at once, edits on another within this.
const SETUP_TTL: std::time::Duration = std::time::Duration::from_secs(5);

/// Writes applied together in one transaction at most.
const BATCH_MAX: usize = 256;

/// The desk's set-up as this node last read it.
#[derive(Debug)]
pub struct Setup {
    pub groups: Vec<SupportGroup>,
    pub sla_targets: Vec<SlaTargetRow>,
}

struct Job {
    write: DeskWrite,
    answer: tokio::sync::oneshot::Sender<Result<DeskOutcome, String>>,
}

/// The help desk's state on this node: the set-up it read (kept for [`SETUP_TTL`], dropped by
/// this node's own edits), and the writer through which every ticket write, addition and
/// audit row of the help desk goes: what arrives together is applied in one transaction, each
/// write in its own savepoint (group commit, as the ledger does for transfers), so a burst of
/// tickets, replies and audited views costs one durable commit rather than one or two each.
#[derive(Default)]
pub struct Desk {
    setup: std::sync::Mutex<Option<(std::time::Instant, std::sync::Arc<Setup>)>>,
    writer: std::sync::OnceLock<tokio::sync::mpsc::Sender<Job>>,
}

impl std::fmt::Debug for Desk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Desk").finish_non_exhaustive()
    }
}

impl Desk {
    pub fn new() -> Desk {
        Desk::default()
    }

    /// Groups and SLA targets, read at most every [`SETUP_TTL`].
    pub async fn setup(&self, db: &store::Db) -> anyhow::Result<std::sync::Arc<Setup>> {
        if let Some((at, setup)) = &*self.setup.lock().unwrap_or_else(|e| e.into_inner()) {
            if at.elapsed() < SETUP_TTL {
                return Ok(setup.clone());
            }
        }
        let setup = std::sync::Arc::new(Setup {
            groups: db.support_groups().await?,
            sla_targets: db.sla_targets().await?,
        });
        *self.setup.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((std::time::Instant::now(), setup.clone()));
        Ok(setup)
    }

    /// Forgets the set-up after an edit on this node.
    pub fn forget_setup(&self) {
        *self.setup.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Applies one write through the writer and answers what became of it.
    pub async fn submit(&self, db: &store::Db, write: DeskWrite) -> Result<DeskOutcome, ApiError> {
        let sender = self.writer.get_or_init(|| {
            let (tx, rx) = tokio::sync::mpsc::channel(4 * BATCH_MAX);
            tokio::spawn(write_batches(db.clone(), rx));
            tx
        });
        let (answer, answered) = tokio::sync::oneshot::channel();
        sender
            .send(Job { write, answer })
            .await
            .map_err(|_| ApiError::service_unavailable(1))?;
        match answered.await {
            Ok(Ok(DeskOutcome::Failed(e))) | Ok(Err(e)) => {
                Err(ApiError::internal(anyhow::anyhow!(e)))
            }
            Ok(Ok(outcome)) => Ok(outcome),
            Err(_) => Err(ApiError::service_unavailable(1)),
        }
    }

    /// Opens a ticket (numbered, and routed in the same transaction); answers its number and
    /// assignee.
    async fn open(
        &self,
        db: &store::Db,
        ticket: Ticket,
        first: TicketMessage,
        events: Vec<TicketEvent>,
    ) -> Result<(i64, Option<String>), ApiError> {
        let write = DeskWrite::Open {
            ticket: Box::new(ticket),
            messages: vec![first],
            events,
        };
        match self.submit(db, write).await? {
            DeskOutcome::Opened { number, assignee } => Ok((number, assignee)),
            other => Err(ApiError::internal(anyhow::anyhow!(
                "a new ticket answered {other:?}"
            ))),
        }
    }

    /// Writes ticket changes (each only if the ticket is as it was read) with a companion;
    /// false when refused.
    pub async fn change(
        &self,
        db: &store::Db,
        writes: Vec<TicketWrite>,
        also: Option<store::helpdesk::Also>,
        move_attachments: Option<(String, String)>,
    ) -> Result<bool, ApiError> {
        let write = DeskWrite::Change {
            writes,
            also,
            move_attachments,
        };
        Ok(self.submit(db, write).await? == DeskOutcome::Written(true))
    }

    /// Adds messages, events and mail to a ticket without changing its row, with a companion;
    /// false when the companion no longer applies.
    pub async fn append(
        &self,
        db: &store::Db,
        messages: Vec<TicketMessage>,
        events: Vec<TicketEvent>,
        also: Option<store::helpdesk::Also>,
        mails: Vec<NewMail>,
    ) -> Result<bool, ApiError> {
        let write = DeskWrite::Append {
            messages,
            events,
            also,
            mails,
        };
        Ok(self.submit(db, write).await? == DeskOutcome::Written(true))
    }

    /// Writes an audit row (durably, before the caller shows what it is about).
    pub async fn audit(
        &self,
        db: &store::Db,
        actor: String,
        action: &str,
        subject: String,
        detail: String,
    ) -> Result<(), ApiError> {
        let write = DeskWrite::Audit {
            actor,
            action: action.to_owned(),
            subject,
            detail,
        };
        self.submit(db, write).await.map(|_| ())
    }
}

/// The writer: takes what has queued up (up to [`BATCH_MAX`]) and applies it in one
/// transaction. If the transaction itself fails (not one write: each has its savepoint), every
/// write is tried again alone, so one cannot fail the others.
async fn write_batches(db: store::Db, mut jobs: tokio::sync::mpsc::Receiver<Job>) {
    while let Some(first) = jobs.recv().await {
        let mut batch = vec![first];
        while batch.len() < BATCH_MAX {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let writes: Vec<DeskWrite> = batch.iter().map(|j| j.write.clone()).collect();
        match apply_batch(&db, &writes).await {
            Ok(outcomes) => {
                for (job, outcome) in batch.into_iter().zip(outcomes) {
                    let _ = job.answer.send(Ok(outcome));
                }
            }
            Err(e) if batch.len() == 1 => {
                let job = batch.pop().expect("one job");
                let _ = job.answer.send(Err(format!("{e:#}")));
            }
            Err(_) => {
                for (job, write) in batch.into_iter().zip(writes) {
                    let answer = apply_batch(&db, std::slice::from_ref(&write))
                        .await
                        .map(|mut o| o.remove(0))
                        .map_err(|e| format!("{e:#}"));
                    let _ = job.answer.send(answer);
                }
            }
        }
    }
}

async fn apply_batch(db: &store::Db, writes: &[DeskWrite]) -> anyhow::Result<Vec<DeskOutcome>> {
    let now_ms = store::now_ms();
    let now = Timestamp::from_millisecond(now_ms)?;
    db.apply_desk_batch(writes, now_ms, |snapshot| decide_routing(snapshot, now))
        .await
}

/// Who gets which waiting ticket of a locked group (`helpdesk::routing`, ticket by ticket,
/// oldest first, each assignment counting towards the next).
fn decide_routing(
    snapshot: &store::helpdesk::RoutingSnapshot,
    now: Timestamp,
) -> Vec<(String, String)> {
    let mut agents: Vec<routing::Agent> = snapshot
        .agents
        .iter()
        .map(|a| routing_agent(a, snapshot.loads.get(&a.user_id).copied().unwrap_or(0)))
        .collect();
    let mut out = Vec::new();
    for t in &snapshot.waiting {
        let need = Need {
            language: Language::new(&t.language),
            category: Category::parse(&t.category).unwrap_or(Category::Other),
        };
        if let Some(agent) = routing::assign(&mut agents, &need, now) {
            out.push((t.id.clone(), agent.0));
        }
    }
    out
}

/// Where a customer follows a ticket.
pub fn ticket_page(settings: &crate::Settings, ticket_id: &str) -> String {
    format!("{}/support/tickets/{ticket_id}", settings.public_url)
}

/// Where an agent works a ticket.
pub fn agent_page(settings: &crate::Settings, ticket_id: &str) -> String {
    format!("{}/agent/tickets/{ticket_id}", settings.public_url)
}

/// The signature that lets a rating link rate exactly one ticket, without signing in.
pub fn rating_signature(settings: &crate::Settings, ticket_id: &str) -> String {
    settings.secret_key.sign("ticket-rating", ticket_id)
}

/// The one-click rating link of a ticket.
pub fn rating_link(settings: &crate::Settings, ticket_id: &str) -> String {
    format!(
        "{}/support/rate/{ticket_id}?sig={}",
        settings.public_url,
        rating_signature(settings, ticket_id)
    )
}

pub fn new_event(
    ticket_id: &str,
    at_ms: i64,
    actor: Option<&str>,
    kind: &str,
    detail: serde_json::Value,
) -> TicketEvent {
    TicketEvent {
        id: store::new_id(),
        ticket_id: ticket_id.to_owned(),
        at_ms,
        actor_id: actor.map(str::to_owned),
        kind: kind.to_owned(),
        detail: detail.to_string(),
    }
}

/// The stored events of what a change did.
pub fn emitted_events(
    ticket_id: &str,
    at_ms: i64,
    actor: Option<&str>,
    emitted: &[Emitted],
) -> Vec<TicketEvent> {
    emitted
        .iter()
        .map(|e| {
            let (kind, detail) = match e {
                Emitted::PublicReply { by_agent } => {
                    ("public_reply", json!({"by_agent": by_agent}))
                }
                Emitted::InternalNote => ("internal_note", json!({})),
                Emitted::Reopened => ("reopened", json!({})),
                Emitted::StatusChanged { from, to } => (
                    "status_changed",
                    json!({"from": from.as_str(), "to": to.as_str()}),
                ),
                Emitted::PriorityChanged { from, to } => (
                    "priority_changed",
                    json!({"from": from.as_str(), "to": to.as_str()}),
                ),
                Emitted::CategoryChanged { from, to } => (
                    "category_changed",
                    json!({"from": from.as_str(), "to": to.as_str()}),
                ),
                Emitted::Assigned { from, to } => ("assigned", json!({"from": from, "to": to})),
                Emitted::GroupChanged { from, to } => {
                    ("group_changed", json!({"from": from, "to": to}))
                }
                Emitted::Tagged { added, removed } => {
                    ("tagged", json!({"added": added, "removed": removed}))
                }
            };
            new_event(ticket_id, at_ms, actor, kind, detail)
        })
        .collect()
}

fn detail_str(detail: &serde_json::Value, key: &str) -> Option<String> {
    detail.get(key).and_then(|v| v.as_str()).map(str::to_owned)
}

/// A stored event as the SLA clocks read it; `None` for events that change no clock.
pub fn sla_event(e: &TicketEvent) -> Option<sla::Event> {
    let detail: serde_json::Value = serde_json::from_str(&e.detail).unwrap_or_default();
    let to = || detail_str(&detail, "to");
    let kind = match e.kind.as_str() {
        "created" => EventKind::Created {
            priority: detail_str(&detail, "priority")
                .and_then(|p| Priority::parse(&p))
                .unwrap_or(Priority::Normal),
            category: detail_str(&detail, "category")
                .and_then(|c| Category::parse(&c))
                .unwrap_or(Category::Other),
        },
        "public_reply" => EventKind::PublicReply {
            by_agent: detail
                .get("by_agent")
                .and_then(|v| v.as_bool())
                .unwrap_or(false),
        },
        "auto_reply" => EventKind::AutoReply,
        "internal_note" => EventKind::InternalNote,
        "status_changed" => EventKind::StatusChanged {
            to: TicketStatus::parse(&to()?)?,
        },
        "priority_changed" => EventKind::PriorityChanged {
            to: Priority::parse(&to()?)?,
        },
        "category_changed" => EventKind::CategoryChanged {
            to: Category::parse(&to()?)?,
        },
        "reopened" => EventKind::Reopened,
        "merged_into" => EventKind::Merged,
        _ => return None,
    };
    Some(sla::Event {
        at: Timestamp::from_millisecond(e.at_ms).ok()?,
        kind,
    })
}

/// The SLA policy from its stored rows.
pub fn policy_of(rows: &[SlaTargetRow], near_breach_permille: u16) -> Policy {
    let secs = |s: Option<i64>| s.map(SignedDuration::from_secs);
    let mut policy = Policy {
        by_priority: Vec::new(),
        by_category: Vec::new(),
        near_breach_permille,
        on_hold_pauses: false,
    };
    for r in rows {
        let Some(priority) = Priority::parse(&r.priority) else {
            continue;
        };
        let targets = sla::Targets {
            first_response: secs(r.first_response_s),
            resolution: secs(r.resolution_s),
        };
        if r.category.is_empty() {
            policy.by_priority.push((priority, targets));
        } else if let Some(category) = Category::parse(&r.category) {
            policy.by_category.push((priority, category, targets));
        }
    }
    policy
}

/// A group's business hours; around the clock in the operator's zone without a group (or
/// with hours that no longer read, which is logged).
pub fn schedule_of(group: Option<&SupportGroup>, time_zone: &str) -> hours::Schedule {
    let fallback = || {
        hours::Schedule::around_the_clock(time_zone)
            .or_else(|_| hours::Schedule::around_the_clock("UTC"))
            .expect("UTC is a time zone")
    };
    let Some(group) = group else {
        return fallback();
    };
    match helpcenter::directory::ScheduleSpec::from_json(&group.schedule)
        .and_then(|spec| spec.to_schedule())
    {
        Ok(schedule) => schedule,
        Err(e) => {
            tracing::warn!(group = %group.id, error = %e, "a support group's hours do not read");
            fallback()
        }
    }
}

/// The policy and the hours a ticket's clocks run in.
pub async fn sla_context(
    state: &AppState,
    group_id: Option<&str>,
) -> anyhow::Result<(Policy, hours::Schedule)> {
    let setup = state.desk.setup(&state.db).await?;
    let desk = &state.settings.desk;
    let policy = policy_of(&setup.sla_targets, desk.near_breach_permille);
    let group = group_id.and_then(|id| setup.groups.iter().find(|g| g.id == id));
    Ok((policy, schedule_of(group, &desk.time_zone)))
}

fn ms(t: Option<Timestamp>) -> Option<i64> {
    t.map(|t| t.as_millisecond())
}

fn running(state: ClockState) -> bool {
    matches!(state, ClockState::Running | ClockState::NearBreach)
}

/// Writes what the clocks say into the ticket's SLA columns.
pub fn apply_sla(t: &mut Ticket, s: &TicketSla) {
    let (fr, res) = (&s.first_response, &s.resolution);
    t.first_response_due_ms = ms(fr.due_at);
    t.resolution_due_ms = ms(res.due_at);
    t.first_response_breached = fr.state == ClockState::Breached;
    t.resolution_breached = res.state == ClockState::Breached;
    let fr_going = fr.stopped_at.is_none();
    let res_going = res.stopped_at.is_none() && res.state != ClockState::Paused;
    let is_paused = |c: &sla::Clock| c.state == ClockState::Paused;
    t.next_due_ms = if fr_going && fr.due_at.is_some() {
        ms(fr.due_at).unwrap_or(NO_DUE_MS)
    } else if res_going && !is_paused(res) && res.due_at.is_some() {
        ms(res.due_at).unwrap_or(NO_DUE_MS)
    } else {
        NO_DUE_MS
    };
    t.first_response_business_s = match fr.stopped_at {
        Some(_) if fr.state != ClockState::Cancelled => Some(fr.used.as_secs()),
        _ => None,
    };
    t.resolution_business_s = match s.status {
        TicketStatus::Solved | TicketStatus::Closed if res.state != ClockState::Cancelled => {
            Some(res.used.as_secs())
        }
        _ => None,
    };
    // The watcher looks again at the next threshold a running clock will reach.
    let mut next: Option<i64> = None;
    for clock in [fr, res] {
        if !running(clock.state) {
            continue;
        }
        for at in [
            clock
                .near_breach_at
                .filter(|_| clock.state == ClockState::Running),
            clock.due_at,
        ]
        .into_iter()
        .flatten()
        {
            let at = at.as_millisecond();
            next = Some(next.map_or(at, |n| n.min(at)));
        }
    }
    t.sla_next_check_ms = next;
}

/// The clocks of `t` at `now_ms` from its events (stored and new), written into its columns.
pub async fn recompute_sla(
    state: &AppState,
    t: &mut Ticket,
    events: &[TicketEvent],
    now_ms: i64,
) -> Result<TicketSla, ApiError> {
    let (policy, schedule) = sla_context(state, t.group_id.as_deref()).await?;
    let sla_events: Vec<sla::Event> = events.iter().filter_map(sla_event).collect();
    let now = Timestamp::from_millisecond(now_ms).map_err(ApiError::internal)?;
    let clocks = sla::evaluate(&policy, &schedule, &sla_events, now).map_err(ApiError::internal)?;
    apply_sla(t, &clocks);
    Ok(clocks)
}

/// The state `helpdesk::change` works on.
pub fn change_state(t: &Ticket) -> change::State {
    change::State {
        status: TicketStatus::parse(&t.status).unwrap_or(TicketStatus::Open),
        priority: Priority::parse(&t.priority).unwrap_or(Priority::Normal),
        category: Category::parse(&t.category).unwrap_or(Category::Other),
        assignee: t.assignee_id.clone(),
        group: t.group_id.clone(),
        tags: t.tag_list().into_iter().collect(),
    }
}

/// What someone asks of a ticket, with the words that come with it.
#[derive(Clone, Debug, Default)]
pub struct Asked {
    pub request: Request,
    /// The reply or note (required when `request.message` is set).
    pub body: Option<String>,
    /// How the message arrived (`web`, `email`, `chat`, …).
    pub channel: String,
    /// Further events to record with the change (a macro's use, an escalation).
    pub extra_events: Vec<(String, serde_json::Value)>,
    /// Written with the change, all or nothing.
    pub also: Option<store::helpdesk::Also>,
    /// More mail to queue with the change.
    pub mails: Vec<NewMail>,
}

/// A change written.
#[derive(Clone, Debug)]
pub struct Changed {
    pub before: Ticket,
    pub ticket: Ticket,
    pub message: Option<TicketMessage>,
    pub emitted: Vec<Emitted>,
    /// What was hidden from the message before it was stored (`helpdesk::secrets`).
    pub masked: Vec<helpdesk::secrets::SecretKind>,
}

fn refusal(r: Refusal) -> ApiError {
    let why = match r {
        Refusal::RequesterMayOnlyReply => return ApiError::new(Reason::Forbidden),
        Refusal::Closed => TicketRefusal::Closed,
        Refusal::StatusNotSettable(_) => TicketRefusal::StatusNotSettable,
        Refusal::InvalidTag(_) => TicketRefusal::InvalidTag,
        Refusal::Nothing => TicketRefusal::NothingToChange,
    };
    ApiError::new(Reason::TicketRefused(why))
}

/// The requester's notices for what a change did: a public agent reply, a solve.
fn notices(
    state: &AppState,
    requester: &User,
    t: &Ticket,
    message: Option<&TicketMessage>,
    emitted: &[Emitted],
) -> Vec<NewMail> {
    let mut mails = Vec::new();
    let link = ticket_page(&state.settings, &t.id);
    // A reply in a live chat or call was seen live: no mail for it.
    let live = |m: &&TicketMessage| m.channel == "chat" || m.channel == "in_app_call";
    if let Some(m) = message.filter(|m| !m.internal && !live(m)) {
        if emitted.contains(&Emitted::PublicReply { by_agent: true }) {
            mails.push(crate::mail::for_user(
                requester,
                &identity::notice::Notice::TicketReply {
                    number: t.number,
                    subject: &t.subject,
                    reply: &m.body,
                    link: &link,
                },
            ));
        }
    }
    let solved = emitted.iter().any(|e| {
        matches!(
            e,
            Emitted::StatusChanged {
                to: TicketStatus::Solved,
                ..
            }
        )
    });
    if solved {
        let rating = rating_link(&state.settings, &t.id);
        mails.push(crate::mail::for_user(
            requester,
            &identity::notice::Notice::TicketSolved {
                number: t.number,
                subject: &t.subject,
                link: &link,
                rating_link: &rating,
                reopen_days: state.settings.desk.close_solved_after_days,
            },
        ));
    }
    mails
}

/// Applies `asked` to ticket `id` on behalf of `actor` (`actor_id` is who is recorded: the
/// requester's or the agent's user id; `None` for the system).
pub async fn change_ticket(
    state: &AppState,
    id: &str,
    actor: &Actor,
    actor_id: Option<&str>,
    asked: &Asked,
) -> Result<Changed, ApiError> {
    for _ in 0..RETRIES_MAX {
        let before = state.db.ticket(id).await?.ok_or_else(ApiError::not_found)?;
        let (next, emitted) =
            change::plan(&change_state(&before), actor, &asked.request).map_err(refusal)?;
        let now = store::now_ms().max(before.updated_at_ms + 1);
        let mut t = before.clone();
        t.status = next.status.as_str().into();
        t.priority = next.priority.as_str().into();
        t.category = next.category.as_str().into();
        t.assignee_id = next.assignee.clone();
        t.group_id = next.group.clone();
        t.tags = next.tags.iter().cloned().collect::<Vec<_>>().join(",");
        t.updated_at_ms = now;
        if emitted.contains(&Emitted::PublicReply { by_agent: true })
            && t.first_responded_at_ms.is_none()
        {
            t.first_responded_at_ms = Some(now);
        }
        if emitted.contains(&Emitted::Reopened) {
            t.reopened_count += 1;
        }
        t.solved_at_ms = match next.status {
            TicketStatus::Solved if before.status != "solved" => Some(now),
            TicketStatus::Solved | TicketStatus::Closed => before.solved_at_ms.or(Some(now)),
            _ => None,
        };
        let mut events = emitted_events(id, now, actor_id, &emitted);
        for (kind, detail) in &asked.extra_events {
            events.push(new_event(id, now, actor_id, kind, detail.clone()));
        }
        let message = match (asked.request.message, &asked.body) {
            (Some(kind), Some(body)) => Some(TicketMessage {
                id: store::new_id(),
                ticket_id: id.to_owned(),
                author_id: actor_id.map(str::to_owned),
                internal: kind == change::Message::Internal,
                body: body.clone(),
                channel: if asked.channel.is_empty() {
                    "web".into()
                } else {
                    asked.channel.clone()
                },
                created_at_ms: now,
            }),
            _ => None,
        };
        let mut history = state.db.ticket_events(id).await?;
        history.extend(events.iter().cloned());
        recompute_sla(state, &mut t, &history, now).await?;
        let mut mails = asked.mails.clone();
        if *actor != Actor::Requester {
            if let Some(requester) = state.db.user_by_id(&t.requester_id).await? {
                mails.extend(notices(state, &requester, &t, message.as_ref(), &emitted));
            }
        }
        let write = TicketWrite {
            ticket: t.clone(),
            expected_updated_at_ms: before.updated_at_ms,
            messages: message.iter().cloned().collect(),
            events,
            mails,
        };
        let written = state
            .desk
            .change(&state.db, vec![write], asked.also.clone(), None)
            .await?;
        if !written {
            // Someone changed the ticket meanwhile (or the complaint was answered): read
            // again and decide again.
            if let Some(store::helpdesk::Also::ResolveComplaint { id, .. }) = &asked.also {
                if state
                    .db
                    .complaint(id)
                    .await?
                    .is_some_and(|c| c.status != "open")
                {
                    return Err(ApiError::new(Reason::TicketRefused(
                        TicketRefusal::ComplaintAlreadyResolved,
                    )));
                }
            }
            continue;
        }
        let frees_capacity = before.assignee_id.is_some()
            && (before.assignee_id != t.assignee_id
                || (is_load(&before.status) && !is_load(&t.status)));
        let waits = t.assignee_id.is_none() && is_load(&t.status);
        if frees_capacity || waits {
            if let Some(group) = t.group_id.as_deref() {
                route(state, group).await?;
            }
        }
        return Ok(Changed {
            before,
            ticket: state.db.ticket(id).await?.unwrap_or(t),
            message,
            emitted,
            masked: Vec::new(),
        });
    }
    Err(ApiError::service_unavailable(1))
}

fn is_load(status: &str) -> bool {
    store::tickets::LOAD_STATUSES.contains(&status)
}

/// A new ticket as asked for.
#[derive(Clone, Debug)]
pub struct NewTicket {
    pub requester_id: String,
    pub subject: String,
    pub body: String,
    pub category: Category,
    pub priority: Priority,
    pub channel: String,
    pub language: String,
    pub reference: Option<String>,
    pub tags: BTreeSet<String>,
    /// Who opened it: the requester, or an agent on the phone on their behalf.
    pub opened_by: String,
}

/// Makes a subject one line of plain text.
pub fn one_line(text: &str) -> String {
    text.split(|c: char| c.is_control())
        .filter(|p| !p.trim().is_empty())
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Opens a ticket: into the group its category and language call for, with its clocks
/// started, then routed.
pub async fn open_ticket(state: &AppState, n: NewTicket) -> Result<Opened, ApiError> {
    let setup = state.desk.setup(&state.db).await?;
    let groups = &setup.groups;
    let need = Need {
        language: Language::new(&n.language),
        category: n.category,
    };
    let skills: Vec<routing::GroupSkills> = groups.iter().map(group_skills).collect();
    let group_id = routing::choose_group(&skills, &need).map(str::to_owned);
    let now = store::now_ms();
    let id = store::new_id();
    let mut t = Ticket {
        id: id.clone(),
        number: 0,
        requester_id: n.requester_id.clone(),
        subject: one_line(&n.subject),
        category: n.category.as_str().into(),
        priority: n.priority.as_str().into(),
        status: TicketStatus::New.as_str().into(),
        channel: n.channel.clone(),
        language: n.language.clone(),
        group_id: group_id.clone(),
        assignee_id: None,
        tags: n.tags.iter().cloned().collect::<Vec<_>>().join(","),
        reference: n.reference.clone(),
        merged_into: None,
        first_response_due_ms: None,
        resolution_due_ms: None,
        next_due_ms: NO_DUE_MS,
        first_responded_at_ms: None,
        solved_at_ms: None,
        first_response_business_s: None,
        resolution_business_s: None,
        first_response_breached: false,
        resolution_breached: false,
        reopened_count: 0,
        sla_next_check_ms: None,
        created_at_ms: now,
        updated_at_ms: now,
    };
    let first = TicketMessage {
        id: store::new_id(),
        ticket_id: id.clone(),
        author_id: Some(n.opened_by.clone()),
        internal: false,
        body: n.body.clone(),
        channel: n.channel.clone(),
        created_at_ms: now,
    };
    let mut events = vec![new_event(
        &id,
        now,
        Some(&n.opened_by),
        "created",
        json!({"priority": t.priority, "category": t.category, "channel": t.channel,
               "group": group_id, "reference": t.reference}),
    )];
    if n.opened_by != n.requester_id {
        // Opened by an agent for the customer: their words are the customer's, taken down.
        events.push(new_event(
            &id,
            now,
            Some(&n.opened_by),
            "opened_for_customer",
            json!({}),
        ));
    }
    recompute_sla(state, &mut t, &events, now).await?;
    let (number, assignee) = state
        .desk
        .open(&state.db, t.clone(), first.clone(), events)
        .await?;
    t.number = number;
    if let Some(agent) = assignee {
        t.assignee_id = Some(agent);
    }
    Ok(Opened {
        ticket: t,
        first,
        masked: Vec::new(),
    })
}

/// A ticket just opened, as written (its number and assignee filled in).
#[derive(Clone, Debug)]
pub struct Opened {
    pub ticket: Ticket,
    pub first: TicketMessage,
    /// What was hidden from the subject and message before they were stored.
    pub masked: Vec<helpdesk::secrets::SecretKind>,
}

/// A support group's skills as routing reads them.
pub fn group_skills(g: &SupportGroup) -> routing::GroupSkills {
    routing::GroupSkills {
        id: g.id.clone(),
        languages: split_list(&g.languages)
            .iter()
            .map(|l| Language::new(l))
            .collect(),
        categories: split_list(&g.categories)
            .iter()
            .filter_map(|c| Category::parse(c))
            .collect(),
    }
}

/// A comma-separated list, trimmed, empty parts dropped.
pub fn split_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// An agent as routing sees them, with their current load.
pub fn routing_agent(a: &store::helpdesk::AgentRow, load: i64) -> routing::Agent {
    routing::Agent {
        id: routing::AgentId(a.user_id.clone()),
        presence: match a.presence.as_str() {
            "online" => routing::Presence::Online,
            "away" => routing::Presence::Away,
            _ => routing::Presence::Offline,
        },
        capacity: u32::try_from(a.capacity).unwrap_or(0),
        open_load: u32::try_from(load).unwrap_or(u32::MAX),
        languages: split_list(&a.languages)
            .iter()
            .map(|l| Language::new(l))
            .collect(),
        categories: split_list(&a.categories)
            .iter()
            .filter_map(|c| Category::parse(c))
            .collect(),
        last_assigned_at: a
            .last_assigned_at_ms
            .and_then(|ms| Timestamp::from_millisecond(ms).ok()),
    }
}

/// Hands the group's waiting tickets, oldest first, to its qualified agents (least loaded,
/// round-robin on ties) while they have room, through the writer (so routing never contends
/// with the desk's other writes for the database's write lock).
pub async fn route(state: &AppState, group_id: &str) -> Result<(), ApiError> {
    state
        .desk
        .submit(
            &state.db,
            DeskWrite::Route {
                group_id: group_id.to_owned(),
            },
        )
        .await
        .map(|_| ())
}

/// Sets an agent's presence. Going offline hands the tickets on which the customer waits for
/// us back to the queue (and routes them to others); coming online routes the group's waiting
/// tickets, some of which may now come to them.
pub async fn set_presence(
    state: &AppState,
    agent: &store::helpdesk::AgentRow,
    presence: routing::Presence,
) -> Result<(), ApiError> {
    let word = match presence {
        routing::Presence::Online => "online",
        routing::Presence::Away => "away",
        routing::Presence::Offline => "offline",
    };
    state
        .db
        .set_agent_presence(&agent.user_id, word, store::now_ms())
        .await?;
    if presence == routing::Presence::Offline {
        let held = state
            .db
            .tickets(
                &store::tickets::TicketFilter {
                    assignee_id: Some(agent.user_id.clone()),
                    statuses: vec!["new".into(), "open".into()],
                    ..Default::default()
                },
                1000,
            )
            .await?;
        for t in held {
            let status = TicketStatus::parse(&t.status).unwrap_or(TicketStatus::Open);
            if !routing::must_requeue(status, presence) {
                continue;
            }
            let asked = Asked {
                request: Request {
                    assignee: Some(None),
                    ..Default::default()
                },
                extra_events: vec![("requeued".into(), json!({"why": "agent_offline"}))],
                ..Default::default()
            };
            match change_ticket(state, &t.id, &Actor::System, None, &asked).await {
                Ok(_) => {}
                // Someone took or closed it meanwhile: nothing to hand back.
                Err(e) if e.status().is_client_error() => {}
                Err(e) => return Err(e),
            }
        }
    }
    route(state, &agent.group_id).await?;
    Ok(())
}

/// What the SLA watcher did in one round.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WatchRound {
    pub checked: usize,
    pub alerts: usize,
    pub closed: usize,
}

/// One round of the SLA watcher at `now_ms`: records each near-breach and breach once (and
/// mails the assignee, or the supervisors when nobody holds the ticket), refreshes the
/// clocks of the tickets it looked at, and closes tickets solved long enough ago. Safe to run
/// on every node at once: an alert is recorded by exactly one of them.
pub async fn watch_round(state: &AppState, now_ms: i64) -> Result<WatchRound, ApiError> {
    let mut round = WatchRound::default();
    let now = Timestamp::from_millisecond(now_ms).map_err(ApiError::internal)?;
    for mut t in state.db.tickets_due_for_sla_check(now_ms, 200).await? {
        round.checked += 1;
        let events = state.db.ticket_events(&t.id).await?;
        let clocks = recompute_sla(state, &mut t, &events, now_ms).await?;
        for (name, clock) in [
            ("first_response", &clocks.first_response),
            ("resolution", &clocks.resolution),
        ] {
            for (kind, at) in [
                ("near_breach", clock.near_breach_at),
                ("breached", clock.breached_at),
            ] {
                let Some(at) = at.filter(|at| *at <= now) else {
                    continue;
                };
                let recorded = state
                    .desk
                    .submit(
                        &state.db,
                        DeskWrite::Alert {
                            ticket_id: t.id.clone(),
                            clock: name.to_owned(),
                            kind: kind.to_owned(),
                            at_ms: at.as_millisecond(),
                        },
                    )
                    .await?;
                if recorded == DeskOutcome::Written(true) {
                    round.alerts += 1;
                    notify_sla(state, &t, name, kind == "breached", clock).await?;
                }
            }
        }
        // A change meanwhile recomputed the clocks itself; nothing is lost by skipping.
        state
            .desk
            .submit(&state.db, DeskWrite::Sla(Box::new(t.clone())))
            .await?;
    }
    let cutoff = now_ms.saturating_sub(
        i64::try_from(state.settings.desk.close_solved_after_days)
            .unwrap_or(4)
            .saturating_mul(86_400_000),
    );
    for t in state.db.tickets_solved_before(cutoff, 200).await? {
        let asked = Asked {
            request: Request {
                status: Some(TicketStatus::Closed),
                ..Default::default()
            },
            ..Default::default()
        };
        match change_ticket(state, &t.id, &Actor::System, None, &asked).await {
            Ok(_) => round.closed += 1,
            Err(e) if e.status().is_client_error() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(round)
}

async fn notify_sla(
    state: &AppState,
    t: &Ticket,
    clock: &str,
    breached: bool,
    c: &sla::Clock,
) -> Result<(), ApiError> {
    let recipients: Vec<User> = match &t.assignee_id {
        Some(a) => state.db.user_by_id(a).await?.into_iter().collect(),
        None => {
            state
                .db
                .users_with_roles(&[identity::Role::Supervisor])
                .await?
        }
    };
    let link = agent_page(&state.settings, &t.id);
    let mails = recipients
        .iter()
        .map(|user| {
            crate::mail::for_user(
                user,
                &identity::notice::Notice::SlaAlert {
                    number: t.number,
                    subject: &t.subject,
                    clock,
                    breached,
                    due_at_ms: ms(c.due_at).unwrap_or(0),
                    link: &link,
                },
            )
        })
        .collect();
    state
        .desk
        .append(&state.db, Vec::new(), Vec::new(), None, mails)
        .await?;
    Ok(())
}
