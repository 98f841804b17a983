//! `/agent`: the agents' console — presence, the queues with their counts, tickets with their
//! SLA timers, bulk changes, and one ticket with the customer's context beside it: the
//! conversation with internal notes, replies and notes with macros, the ticket's fields,
//! merging, escalation to a supervisor, and a warning when another agent has the same ticket
//! open or answered it meanwhile.
//!
//! Staff with a confirmed second factor only ([`StaffConsole`]). Every answer is the API's own
//! (`tickets::page`, `post_message`, `change_fields`, `bulk_change`, `merge_tickets`,
//! `raise_complaint`, `note_viewer`, `render_macro`, `helpdesk::customer_context`,
//! `queue_counts`, `change_presence`), so every view of a customer's data is audited there.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use identity::Role;
use serde::Deserialize;
use store::tickets::{TicketFilter, TicketOrder};

use super::admin::{ConsoleRoles, StaffConsole};
use super::support::{category_choices, category_label, message_lines, Choice};
use super::{percent_encode, CsrfForm, PageCtx};
use crate::api::helpdesk::{change_presence, customer_context, queue_counts, QueueCounts};
use crate::api::tickets::{
    self, audit_view, bulk_change, change_fields, merge_tickets, note_viewer, post_message,
    raise_complaint, render_macro, view, BulkUpdate, CreateTicket, Detail, NewMessage,
    TicketUpdate, TicketView,
};
use crate::auth::RequestOrigin;
use crate::error::ApiError;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/agent", get(console))
        .route("/agent/presence", post(presence))
        .route("/agent/bulk", post(bulk))
        .route("/agent/tickets", post(open_for_caller))
        .route("/agent/tickets/{id}", get(ticket))
        .route("/agent/tickets/{id}/reply", post(reply))
        .route("/agent/tickets/{id}/fields", post(fields))
        .route("/agent/tickets/{id}/merge", post(merge))
        .route("/agent/tickets/{id}/escalate", post(escalate))
        .route("/agent/tickets/{id}/verify", post(verify_start))
        .route("/agent/calls", get(call_log))
        .route("/agent/calls/{id}/called-back", post(called_back))
        .route("/agent/calls/{id}/ticket", post(ticket_for_call))
        .route("/agent/tickets/{id}/verify/code", post(verify_code))
        .route("/agent/tickets/{id}/viewing", post(viewing))
        .route("/agent/tickets/{id}/files/{file}", get(download))
}

/// Who may open the agents' console.
pub struct AgentRoles;

impl ConsoleRoles for AgentRoles {
    const ROLES: &'static [Role] = &[Role::Agent, Role::Supervisor, Role::Admin];
}

type Console = StaffConsole<AgentRoles>;

/// The queues, in the order the console shows them.
const QUEUES: [&str; 7] = [
    "mine",
    "unassigned",
    "at_risk",
    "breached",
    "pending",
    "all",
    "done",
];

/// The tickets a queue holds and how it is ordered.
fn queue_filter(queue: &str, user_id: &str, now_ms: i64) -> TicketFilter {
    let load: Vec<String> = store::tickets::LOAD_STATUSES
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let active: Vec<String> = store::tickets::ACTIVE_STATUSES
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    match queue {
        "unassigned" => TicketFilter {
            unassigned: true,
            statuses: active,
            order: TicketOrder::DueAsc,
            ..Default::default()
        },
        "at_risk" => TicketFilter {
            due_before_ms: Some(now_ms + 3_600_000),
            statuses: load,
            order: TicketOrder::DueAsc,
            ..Default::default()
        },
        "breached" => TicketFilter {
            breached: true,
            statuses: active,
            order: TicketOrder::DueAsc,
            ..Default::default()
        },
        "pending" => TicketFilter {
            assignee_id: Some(user_id.to_owned()),
            statuses: vec!["pending".into()],
            ..Default::default()
        },
        "all" => TicketFilter {
            statuses: active,
            ..Default::default()
        },
        "done" => TicketFilter {
            statuses: vec!["solved".into(), "closed".into()],
            ..Default::default()
        },
        _ => TicketFilter {
            assignee_id: Some(user_id.to_owned()),
            statuses: load,
            order: TicketOrder::DueAsc,
            ..Default::default()
        },
    }
}

fn queue_count(q: &QueueCounts, queue: &str) -> Option<i64> {
    match queue {
        "mine" => Some(q.mine),
        "unassigned" => Some(q.unassigned),
        "at_risk" => Some(q.at_risk),
        "breached" => Some(q.breached),
        "pending" => Some(q.mine_pending),
        "all" => Some(q.all_active),
        _ => None,
    }
}

/// A status as agents read it (pending is "waiting on the customer", not "waiting for you").
fn status_label(ctx: &PageCtx, status: &str) -> (&'static str, &'static str) {
    match status {
        "pending" => (ctx.t("agent.status.pending"), "info"),
        other => super::support::status_label(ctx, other),
    }
}

/// "in 2 h 5 min", "15 min overdue": how far a deadline is.
pub fn due_text(ctx: &PageCtx, due_ms: i64, now_ms: i64) -> (String, bool) {
    let overdue = due_ms < now_ms;
    let minutes = ((due_ms - now_ms).abs() + 59_999) / 60_000;
    let span = if minutes >= 60 * 24 {
        format!("{} {}", minutes / (60 * 24), ctx.t("agent.unit.days"))
    } else if minutes >= 60 {
        format!(
            "{} {} {} {}",
            minutes / 60,
            ctx.t("agent.unit.h"),
            minutes % 60,
            ctx.t("agent.unit.min")
        )
    } else {
        format!("{minutes} {}", ctx.t("agent.unit.min"))
    };
    let text = if overdue {
        format!("{}{}", span, ctx.t("agent.due.overdue"))
    } else {
        format!("{}{}", ctx.t("agent.due.in"), span)
    };
    (text, overdue)
}

/// A deadline as a console shows it.
fn due_of(ctx: &PageCtx, at: Option<&str>, now_ms: i64) -> Option<(String, bool)> {
    let ms = at?.parse::<jiff::Timestamp>().ok()?.as_millisecond();
    Some(due_text(ctx, ms, now_ms))
}

fn priority_label(ctx: &PageCtx, priority: &str) -> &'static str {
    match priority {
        "low" => ctx.t("agent.priority.low"),
        "high" => ctx.t("agent.priority.high"),
        "urgent" => ctx.t("agent.priority.urgent"),
        _ => ctx.t("agent.priority.normal"),
    }
}

/// One ticket as a queue lists it.
pub struct QueueLine {
    pub id: String,
    pub number: i64,
    pub subject: String,
    pub requester: String,
    pub category: &'static str,
    pub status: String,
    pub status_label: &'static str,
    pub badge: &'static str,
    pub priority: String,
    pub priority_label: &'static str,
    pub due: Option<(String, bool)>,
    pub breached: bool,
    pub assignee: String,
    pub channel: String,
}

fn queue_line(
    ctx: &PageCtx,
    t: &TicketView,
    names: &std::collections::HashMap<String, String>,
    now_ms: i64,
) -> QueueLine {
    let (status_label, badge) = status_label(ctx, &t.status);
    QueueLine {
        id: t.id.clone(),
        number: t.number,
        subject: t.subject.clone(),
        requester: t.requester.clone().unwrap_or_default(),
        category: category_label(ctx, &t.category),
        status: t.status.clone(),
        status_label,
        badge,
        priority: t.priority.clone(),
        priority_label: priority_label(ctx, &t.priority),
        due: due_of(ctx, t.next_due_at.as_deref(), now_ms),
        breached: t.sla_breached,
        assignee: t
            .assignee_id
            .as_ref()
            .map(|a| names.get(a).cloned().unwrap_or_else(|| a.clone()))
            .unwrap_or_default(),
        channel: t.channel.clone(),
    }
}

// --- the console -------------------------------------------------------------------------------

pub struct QueueTab {
    pub name: &'static str,
    pub label: &'static str,
    pub count: Option<i64>,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "agent.html")]
struct ConsolePage<'a> {
    ctx: &'a PageCtx,
    /// Set up as an agent: (display name, presence, load, capacity).
    agent: Option<(String, String, i64, i64)>,
    presences: Vec<Choice>,
    tabs: Vec<QueueTab>,
    queue: &'static str,
    lines: Vec<QueueLine>,
    next_href: Option<String>,
    complaints_open: i64,
    /// Calls on this agent's line now (the screen pop).
    pops: Vec<PopLine>,
    /// Missed calls nobody returned yet.
    to_call_back: usize,
    /// Chats and calls the agent holds, and calls ringing among them.
    live_chats: usize,
    ringing: usize,
    statuses: Vec<Choice>,
    priorities: Vec<Choice>,
    agents: Vec<Choice>,
    categories: Vec<Choice>,
    notice: Option<String>,
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct ConsoleQuery {
    queue: Option<String>,
    cursor: Option<String>,
    done: Option<String>,
}

/// Statuses an agent may set, with "keep as it is" first when `keep`.
fn status_choices(ctx: &PageCtx, keep: bool, chosen: &str) -> Vec<Choice> {
    let mut out = Vec::new();
    if keep {
        out.push(Choice {
            value: String::new(),
            label: ctx.t("agent.keep").to_owned(),
            selected: chosen.is_empty(),
        });
    }
    for s in ["open", "pending", "on_hold", "solved"] {
        out.push(Choice {
            value: s.to_owned(),
            label: status_label(ctx, s).0.to_owned(),
            selected: s == chosen,
        });
    }
    out
}

fn priority_choices(ctx: &PageCtx, keep: bool, chosen: &str) -> Vec<Choice> {
    let mut out = Vec::new();
    if keep {
        out.push(Choice {
            value: String::new(),
            label: ctx.t("agent.keep").to_owned(),
            selected: chosen.is_empty(),
        });
    }
    for p in ["low", "normal", "high", "urgent"] {
        out.push(Choice {
            value: p.to_owned(),
            label: priority_label(ctx, p).to_owned(),
            selected: p == chosen,
        });
    }
    out
}

/// Agents to assign to: "keep", "back to the queue", then every agent.
async fn agent_choices(
    state: &AppState,
    ctx: &PageCtx,
    chosen: Option<&str>,
) -> Result<Vec<Choice>, ApiError> {
    let mut out = vec![
        Choice {
            value: String::new(),
            label: ctx.t("agent.keep").to_owned(),
            selected: false,
        },
        Choice {
            value: "none".into(),
            label: ctx.t("agent.to_queue").to_owned(),
            selected: chosen.is_none(),
        },
    ];
    for a in state.db.agents().await? {
        let presence = presence_label(ctx, &a.presence);
        out.push(Choice {
            selected: chosen == Some(a.user_id.as_str()),
            label: format!("{} ({presence})", a.display_name),
            value: a.user_id,
        });
    }
    Ok(out)
}

fn presence_label(ctx: &PageCtx, presence: &str) -> &'static str {
    match presence {
        "online" => ctx.t("agent.presence.online"),
        "away" => ctx.t("agent.presence.away"),
        _ => ctx.t("agent.presence.offline"),
    }
}

async fn console_page(
    state: &AppState,
    ctx: &PageCtx,
    current: &crate::auth::CurrentSession,
    q: &ConsoleQuery,
    notice: Option<String>,
    error: Option<String>,
) -> Result<Response, ApiError> {
    let now = store::now_ms();
    let queue = QUEUES
        .iter()
        .copied()
        .find(|n| Some(*n) == q.queue.as_deref())
        .unwrap_or("mine");
    let counts = queue_counts(state, &current.user.id).await?;
    let tabs = QUEUES
        .iter()
        .map(|name| QueueTab {
            name,
            label: ctx.t(&format!("agent.queue.{name}")),
            count: queue_count(&counts, name),
            current: *name == queue,
        })
        .collect();
    let mut filter = queue_filter(queue, &current.user.id, now);
    filter.after = tickets::cursor_of(q.cursor.as_deref())?;
    let (rows, next) = tickets::page(state, &filter, 50).await?;
    let names = tickets::agent_names(state).await?;
    let lines: Vec<QueueLine> = tickets::line_views(state, &rows, true)
        .await?
        .iter()
        .map(|v| queue_line(ctx, v, &names, now))
        .collect();
    if !lines.is_empty() {
        state
            .desk
            .audit(
                &state.db,
                format!("user:{}", current.user.id),
                "tickets.listed",
                "tickets".into(),
                serde_json::json!({"queue": queue, "shown": lines.len()}).to_string(),
            )
            .await?;
    }
    let agent = state.db.agent(&current.user.id).await?;
    let load = match &agent {
        Some(a) => state.db.agent_load(&a.user_id).await?,
        None => 0,
    };
    let presences = ["online", "away", "offline"]
        .iter()
        .map(|p| Choice {
            value: (*p).to_owned(),
            label: presence_label(ctx, p).to_owned(),
            selected: agent.as_ref().is_some_and(|a| a.presence == *p),
        })
        .collect();
    let held = state.db.chats_held_by(&current.user.id).await?;
    let ringing = held
        .iter()
        .filter(|c| c.media == "voice" && c.answered_at_ms.is_none())
        .count();
    let page = ConsolePage {
        live_chats: held.len(),
        ringing,
        ctx,
        agent: agent.map(|a| (a.display_name, a.presence, load, a.capacity)),
        presences,
        tabs,
        queue,
        lines,
        next_href: next.map(|c| format!("/agent?queue={queue}&cursor={}", percent_encode(&c))),
        complaints_open: counts.complaints_open,
        pops: pop_lines(state, ctx, current).await?,
        to_call_back: state
            .db
            .calls(store::live::CallFilter::ToCallBack, 200)
            .await?
            .len(),
        statuses: status_choices(ctx, true, ""),
        priorities: priority_choices(ctx, true, ""),
        agents: agent_choices(state, ctx, Some("")).await?,
        categories: category_choices(ctx, "other"),
        notice,
        error: error.clone(),
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(ctx.render(status, &page))
}

async fn console(
    State(state): State<AppState>,
    Query(q): Query<ConsoleQuery>,
    StaffConsole { ctx, current, .. }: Console,
) -> Response {
    let notice = q.done.as_deref().map(|d| match d {
        "presence" => ctx.t("agent.notice.presence").to_owned(),
        "bulk" => ctx.t("agent.notice.bulk").to_owned(),
        _ => ctx.t("agent.notice.done").to_owned(),
    });
    match console_page(&state, &ctx, &current, &q, notice, None).await {
        Ok(r) => r,
        Err(e) if e.status().is_client_error() => {
            let message = e.problem(ctx.lang, None).detail;
            console_page(
                &state,
                &ctx,
                &current,
                &ConsoleQuery::default(),
                None,
                Some(message),
            )
            .await
            .unwrap_or_else(|e| ctx.error(&e))
        }
        Err(e) => ctx.error(&e),
    }
}

/// A console form from staff with a second factor; anyone else is refused as the console
/// guard would refuse them.
pub(super) async fn console_form<T>(
    state: &AppState,
    form: CsrfForm<T>,
) -> Result<(PageCtx, crate::auth::CurrentSession, T), Response> {
    let CsrfForm { ctx, form } = form;
    let Some(current) = ctx.current.clone() else {
        return Err(ctx.to_login());
    };
    if !AgentRoles::ROLES.contains(&current.user.role) {
        return Err(ctx.message(
            StatusCode::FORBIDDEN,
            ctx.t("console.forbidden.title"),
            ctx.t("console.forbidden.body"),
            ("/", ctx.t("nav.home")),
        ));
    }
    if let Err(e) = tickets::require_staff(state, &current).await {
        return Err(if e.status() == StatusCode::FORBIDDEN {
            ctx.message(
                StatusCode::FORBIDDEN,
                ctx.t("console.mfa.title"),
                ctx.t("console.mfa.body"),
                ("/security#two-factor", ctx.t("checklist.totp.action")),
            )
        } else {
            ctx.error(&e)
        });
    }
    Ok((ctx, current, form))
}

#[derive(Debug, Deserialize)]
struct PresenceForm {
    presence: String,
}

async fn presence(State(state): State<AppState>, form: CsrfForm<PresenceForm>) -> Response {
    let (ctx, current, form) = match console_form(&state, form).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match change_presence(&state, &current, &form.presence).await {
        Ok(()) => ctx.see_other("/agent?done=presence"),
        Err(e) if e.status().is_client_error() => {
            let message = e.problem(ctx.lang, None).detail;
            console_page(
                &state,
                &ctx,
                &current,
                &ConsoleQuery::default(),
                None,
                Some(message),
            )
            .await
            .unwrap_or_else(|e| ctx.error(&e))
        }
        Err(e) => ctx.error(&e),
    }
}

/// Reads the bulk form: repeated `id` fields and one change.
fn bulk_of(pairs: &[(String, String)]) -> BulkUpdate {
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    BulkUpdate {
        ids: pairs
            .iter()
            .filter(|(k, _)| k == "id")
            .map(|(_, v)| v.clone())
            .collect(),
        update: TicketUpdate {
            status: get("status"),
            priority: get("priority"),
            assignee_id: get("assignee").map(|a| (a != "none").then_some(a)),
            add_tags: get("add_tag").into_iter().collect(),
            ..Default::default()
        },
    }
}

async fn bulk(State(state): State<AppState>, form: CsrfForm<Vec<(String, String)>>) -> Response {
    let (ctx, current, pairs) = match console_form(&state, form).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let asked = bulk_of(&pairs);
    let queue = pairs
        .iter()
        .find(|(k, _)| k == "queue")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    match bulk_change(&state, &current, ctx.lang, &asked).await {
        Ok(results) => {
            let refused = results.items.iter().filter(|r| r.result != "ok").count();
            let q = ConsoleQuery {
                queue: Some(queue),
                ..Default::default()
            };
            let notice = if refused == 0 {
                format!("{} {}", results.items.len(), ctx.t("agent.bulk.done"))
            } else {
                format!(
                    "{} {} · {refused} {}",
                    results.items.len() - refused,
                    ctx.t("agent.bulk.done"),
                    ctx.t("agent.bulk.refused")
                )
            };
            console_page(&state, &ctx, &current, &q, Some(notice), None)
                .await
                .unwrap_or_else(|e| ctx.error(&e))
        }
        Err(e) if e.status().is_client_error() => {
            let message = e.problem(ctx.lang, None).detail;
            let q = ConsoleQuery {
                queue: Some(queue),
                ..Default::default()
            };
            console_page(&state, &ctx, &current, &q, None, Some(message))
                .await
                .unwrap_or_else(|e| ctx.error(&e))
        }
        Err(e) => ctx.error(&e),
    }
}

#[derive(Debug, Deserialize)]
struct CallerForm {
    requester_email: String,
    subject: String,
    body: String,
    category: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    priority: String,
}

/// An agent on the phone opens a ticket for the caller.
async fn open_for_caller(State(state): State<AppState>, form: CsrfForm<CallerForm>) -> Response {
    let (ctx, current, form) = match console_form(&state, form).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let asked = CreateTicket {
        subject: form.subject,
        body: form.body,
        category: form.category,
        reference: None,
        requester_email: Some(form.requester_email),
        priority: Some(form.priority).filter(|p| !p.is_empty()),
        channel: Some(if form.channel.is_empty() {
            "phone".to_owned()
        } else {
            form.channel
        }),
    };
    match tickets::open(&state, &current, ctx.lang, asked).await {
        Ok(o) => ctx.see_other(&format!("/agent/tickets/{}", o.ticket.id)),
        Err(e) if e.status().is_client_error() => {
            let message = e.problem(ctx.lang, None).detail;
            console_page(
                &state,
                &ctx,
                &current,
                &ConsoleQuery::default(),
                None,
                Some(message),
            )
            .await
            .unwrap_or_else(|e| ctx.error(&e))
        }
        Err(e) => ctx.error(&e),
    }
}

// --- one ticket --------------------------------------------------------------------------------

pub struct ClockLine {
    pub name: &'static str,
    pub state: String,
    pub state_label: &'static str,
    pub badge: &'static str,
    pub due: Option<(String, bool)>,
    pub due_at: String,
}

pub struct EventLine {
    pub time: String,
    pub what: String,
}

pub struct ViewerLine {
    pub name: String,
    pub composing: bool,
}

/// The customer beside the ticket.
pub struct Customer {
    pub id: String,
    pub email: String,
    pub language: String,
    pub badges: Vec<(&'static str, &'static str)>,
    pub activity: Vec<super::activity::ActivityLine>,
    pub tickets: Vec<(String, i64, String, &'static str)>,
    pub events: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "agent_ticket.html")]
struct TicketPage<'a> {
    ctx: &'a PageCtx,
    id: String,
    number: i64,
    subject: String,
    status: String,
    status_label: &'static str,
    badge: &'static str,
    priority_label: &'static str,
    category: &'static str,
    channel: String,
    group: String,
    assignee: String,
    tags: String,
    reference: Option<String>,
    /// The activity entry the ticket is about, as the customer's history shows it.
    linked: Option<super::activity::ActivityLine>,
    merged_into: Option<String>,
    updated_ms: i64,
    clocks: Vec<ClockLine>,
    messages: Vec<super::support::MessageLine>,
    files: Vec<super::support::FileLine>,
    events: Vec<EventLine>,
    viewers: Vec<ViewerLine>,
    customer: Customer,
    macros: Vec<Choice>,
    macro_id: String,
    macro_actions: Vec<String>,
    draft: String,
    internal: bool,
    statuses: Vec<Choice>,
    field_statuses: Vec<Choice>,
    priorities: Vec<Choice>,
    categories: Vec<Choice>,
    agents: Vec<Choice>,
    groups: Vec<Choice>,
    complaint: Option<(String, String)>,
    /// This agent's latest verification of the customer, while it still means something.
    verification: Option<VerifyLine>,
    /// Only agents (who have a name and badge to show) can ask a customer to verify.
    can_verify: bool,
    /// Someone changed the ticket after this page was loaded: the draft waits for a second
    /// look.
    stale: bool,
    notice: Option<String>,
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct TicketQuery {
    #[serde(rename = "macro")]
    macro_id: Option<String>,
    done: Option<String>,
}

/// The customer's security state as the console's badges: (label, kind).
pub fn security_badges(
    ctx: &PageCtx,
    sec: &crate::api::helpdesk::SecurityState,
) -> Vec<(&'static str, &'static str)> {
    let mut badges: Vec<(&'static str, &'static str)> = Vec::new();
    if sec.frozen {
        badges.push((ctx.t("agent.cust.frozen"), "danger"));
    }
    if sec.locked_for_s.is_some() {
        badges.push((ctx.t("agent.cust.locked"), "danger"));
    }
    if sec.withdrawals_locked_until.is_some() {
        badges.push((ctx.t("agent.cust.withdrawals_locked"), "warn"));
    }
    badges.push(if sec.totp || sec.passkeys > 0 {
        (ctx.t("agent.cust.second_factor"), "ok")
    } else {
        (ctx.t("agent.cust.no_second_factor"), "warn")
    });
    badges.push(if sec.anti_phishing_code_set {
        (ctx.t("agent.cust.apc"), "ok")
    } else {
        (ctx.t("agent.cust.no_apc"), "warn")
    });
    if !sec.email_verified {
        badges.push((ctx.t("agent.cust.unverified"), "warn"));
    }
    badges
}

/// A call on the agent's line, as the console pops it.
struct PopLine {
    call_id: String,
    /// The caller's number, masked.
    number: String,
    since: String,
    customer: Option<PopCustomer>,
}

struct PopCustomer {
    email: String,
    badges: Vec<(&'static str, &'static str)>,
    /// (id, number, subject)
    tickets: Vec<(String, i64, String)>,
}

/// The screen pop: the calls the agent has now, with who is calling.
async fn pop_lines(
    state: &AppState,
    ctx: &PageCtx,
    current: &crate::auth::CurrentSession,
) -> Result<Vec<PopLine>, ApiError> {
    Ok(crate::api::live::pops_for(state, current, ctx.lang)
        .await?
        .into_iter()
        .map(|p| PopLine {
            number: helpdesk::masking::phone(&p.call.number),
            since: p
                .call
                .answered_at
                .as_deref()
                .and_then(|t| t.parse::<jiff::Timestamp>().ok())
                .map(|t| super::security::page_time(t.as_millisecond()))
                .unwrap_or_default(),
            call_id: p.call.call_id,
            customer: p.customer.map(|c| PopCustomer {
                email: c.email.clone(),
                badges: security_badges(ctx, &c.security),
                tickets: c
                    .open_tickets
                    .iter()
                    .map(|t| (t.id.clone(), t.number, t.subject.clone()))
                    .collect(),
            }),
        })
        .collect())
}

/// A verification request beside the ticket: pending (waiting for the code, since `when`) or
/// verified (at `when`).
struct VerifyLine {
    id: String,
    state: String,
    attempts_left: i64,
    when: String,
}

/// What the page holds besides the ticket: a draft, a refusal, a warning.
#[derive(Default)]
struct Extras {
    macro_id: Option<String>,
    draft: Option<String>,
    internal: bool,
    status: String,
    stale: bool,
    notice: Option<String>,
    error: Option<String>,
}

fn event_text(
    ctx: &PageCtx,
    kind: &str,
    detail: &serde_json::Value,
    names: &std::collections::HashMap<String, String>,
) -> String {
    let s = |k: &str| {
        detail
            .get(k)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_owned()
    };
    let name = |id: &str| names.get(id).cloned().unwrap_or_else(|| id.to_owned());
    match kind {
        "created" => format!("{} ({})", ctx.t("agent.ev.created"), s("channel")),
        "public_reply" => ctx.t("agent.ev.public_reply").to_owned(),
        "internal_note" => ctx.t("agent.ev.internal_note").to_owned(),
        "status_changed" => format!(
            "{} {} → {}",
            ctx.t("agent.ev.status"),
            status_label(ctx, &s("from")).0,
            status_label(ctx, &s("to")).0
        ),
        "priority_changed" => format!(
            "{} {} → {}",
            ctx.t("agent.ev.priority"),
            priority_label(ctx, &s("from")),
            priority_label(ctx, &s("to"))
        ),
        "category_changed" => format!(
            "{} {} → {}",
            ctx.t("agent.ev.category"),
            category_label(ctx, &s("from")),
            category_label(ctx, &s("to"))
        ),
        "assigned" => {
            let to = s("to");
            if to.is_empty() {
                ctx.t("agent.ev.unassigned").to_owned()
            } else if s("by") == "routing" {
                format!("{} {}", ctx.t("agent.ev.routed"), name(&to))
            } else {
                format!("{} {}", ctx.t("agent.ev.assigned"), name(&to))
            }
        }
        "requeued" => ctx.t("agent.ev.requeued").to_owned(),
        "group_changed" => format!("{} {}", ctx.t("agent.ev.group"), s("to")),
        "tagged" => format!("{} {}", ctx.t("agent.ev.tagged"), detail),
        "reopened" => ctx.t("agent.ev.reopened").to_owned(),
        "escalated" => ctx.t("agent.ev.escalated").to_owned(),
        "complaint_resolved" => ctx.t("agent.ev.complaint_resolved").to_owned(),
        "rated" => format!(
            "{} {}",
            ctx.t("agent.ev.rated"),
            detail
                .get("score")
                .map(|v| v.to_string())
                .unwrap_or_default()
        ),
        "macro_used" => format!("{} {}", ctx.t("agent.ev.macro"), s("macro")),
        "diagnosis" => format!(
            "{}: {}",
            ctx.t("agent.ev.diagnosis"),
            ctx.t(&format!("desk.cat.{}", s("problem")))
        ),
        "merged_into" => format!(
            "{} #{}",
            ctx.t("agent.ev.merged_into"),
            detail
                .get("number")
                .map(|v| v.to_string())
                .unwrap_or_default()
        ),
        "merged_from" => format!(
            "{} #{}",
            ctx.t("agent.ev.merged_from"),
            detail
                .get("number")
                .map(|v| v.to_string())
                .unwrap_or_default()
        ),
        "opened_for_customer" => ctx.t("agent.ev.opened_for_customer").to_owned(),
        other => other.to_owned(),
    }
}

fn clock_line(ctx: &PageCtx, name: &'static str, c: &tickets::ClockView, now_ms: i64) -> ClockLine {
    let (state_label, badge) = match c.state.as_str() {
        "running" => (ctx.t("agent.clock.running"), "info"),
        "near_breach" => (ctx.t("agent.clock.near_breach"), "warn"),
        "paused" => (ctx.t("agent.clock.paused"), ""),
        "met" => (ctx.t("agent.clock.met"), "ok"),
        "breached" => (ctx.t("agent.clock.breached"), "danger"),
        _ => (ctx.t("agent.clock.cancelled"), ""),
    };
    let running = matches!(c.state.as_str(), "running" | "near_breach");
    ClockLine {
        name,
        state: c.state.clone(),
        state_label,
        badge,
        due: if running {
            due_of(ctx, c.due_at.as_deref(), now_ms)
        } else {
            None
        },
        due_at: c
            .due_at
            .as_deref()
            .map(super::moves::shown_time)
            .unwrap_or_default(),
    }
}

async fn ticket_page(
    state: &AppState,
    ctx: &PageCtx,
    current: &crate::auth::CurrentSession,
    id: &str,
    extras: Extras,
) -> Result<Response, ApiError> {
    let now = store::now_ms();
    let (t, staff) = tickets::visible(state, current, id).await?;
    if !staff {
        return Err(ApiError::not_found());
    }
    audit_view(
        state,
        current,
        "ticket.viewed",
        &t.requester_id,
        serde_json::json!({"ticket": t.number}),
    )
    .await?;
    let v = view(state, &t, true, Detail::Full, ctx.lang).await?;
    let names = tickets::agent_names(state).await?;
    let ctx_data = customer_context(state, current, &t.requester_id, ctx.lang).await?;
    let viewers = note_viewer(state, current, &t, false).await?;
    let can_verify = state.db.agent(&current.user.id).await?.is_some();
    let verification = state
        .db
        .verifications_by(&current.user.id, &t.requester_id, 1)
        .await?
        .into_iter()
        .find(|v| {
            (v.state == "pending" && v.expires_at_ms > now)
                || (v.state == "verified" && v.valid_until_ms.is_some_and(|u| u > now))
        })
        .map(|v| VerifyLine {
            when: super::security::page_time(v.verified_at_ms.unwrap_or(v.created_at_ms)),
            attempts_left: (store::live::VERIFICATION_ATTEMPTS_MAX - v.attempts).max(0),
            id: v.id,
            state: v.state,
        });
    let macros_rows = state.db.macros().await?;
    let chosen_macro = extras.macro_id.clone().unwrap_or_default();
    let (draft, macro_actions) = match (&extras.draft, extras.macro_id.as_deref()) {
        (Some(d), _) => (d.clone(), Vec::new()),
        (None, Some(m)) if !m.is_empty() => {
            let rendered = render_macro(state, current, &t, m, None).await?;
            (
                rendered.body,
                rendered.actions.iter().map(|a| a.line()).collect(),
            )
        }
        _ => (String::new(), Vec::new()),
    };
    let badges = security_badges(ctx, &ctx_data.security);
    let groups = state.db.support_groups().await?;
    let linked = match v.reference.as_deref() {
        Some(r) => crate::api::activity::entry(state, &t.requester_id, r, ctx.lang)
            .await?
            .map(|item| super::activity::line(ctx, item)),
        None => None,
    };
    let (status_word, badge) = status_label(ctx, &v.status);
    let sla = v.sla.as_ref();
    let page = TicketPage {
        ctx,
        id: v.id.clone(),
        number: v.number,
        subject: v.subject.clone(),
        status: v.status.clone(),
        status_label: status_word,
        badge,
        priority_label: priority_label(ctx, &v.priority),
        category: category_label(ctx, &v.category),
        channel: v.channel.clone(),
        group: v
            .group_id
            .as_ref()
            .and_then(|g| groups.iter().find(|x| &x.id == g))
            .map(|g| ctx.lang.pick(g.name_en.clone(), g.name_zh.clone()))
            .unwrap_or_default(),
        assignee: v
            .assignee_id
            .as_ref()
            .map(|a| names.get(a).cloned().unwrap_or_else(|| a.clone()))
            .unwrap_or_else(|| ctx.t("agent.nobody").to_owned()),
        tags: v.tags.clone().unwrap_or_default().join(", "),
        reference: v.reference.clone(),
        linked,
        merged_into: v.merged_into.clone(),
        updated_ms: t.updated_at_ms,
        clocks: sla
            .map(|s| {
                vec![
                    clock_line(
                        ctx,
                        ctx.t("agent.clock.first_response"),
                        &s.first_response,
                        now,
                    ),
                    clock_line(ctx, ctx.t("agent.clock.resolution"), &s.resolution, now),
                ]
            })
            .unwrap_or_default(),
        messages: message_lines(ctx, &v),
        files: super::support::file_lines(&v, "/agent/tickets"),
        events: v
            .events
            .iter()
            .flatten()
            .map(|e| EventLine {
                time: super::moves::shown_time(&e.at),
                what: event_text(ctx, &e.kind, &e.detail, &names),
            })
            .collect(),
        viewers: viewers
            .others
            .iter()
            .map(|o| ViewerLine {
                name: o.name.clone(),
                composing: o.composing,
            })
            .collect(),
        customer: Customer {
            id: ctx_data.id.clone(),
            email: ctx_data.email.clone(),
            language: ctx_data.language.clone(),
            badges,
            activity: ctx_data
                .recent_activity
                .into_iter()
                .take(5)
                .map(|i| super::activity::line(ctx, i))
                .collect(),
            tickets: ctx_data
                .open_tickets
                .iter()
                .filter(|o| o.id != v.id)
                .map(|o| {
                    (
                        o.id.clone(),
                        o.number,
                        o.subject.clone(),
                        status_label(ctx, &o.status).0,
                    )
                })
                .collect(),
            events: ctx_data
                .recent_security_events
                .iter()
                .take(5)
                .map(|e| {
                    (
                        super::moves::shown_time(&e.at),
                        ctx.t_or(format!("event.{}", e.kind), &e.kind),
                    )
                })
                .collect(),
        },
        macros: std::iter::once(Choice {
            value: String::new(),
            label: ctx.t("agent.macro.none").to_owned(),
            selected: chosen_macro.is_empty(),
        })
        .chain(macros_rows.iter().map(|m| Choice {
            value: m.id.clone(),
            label: m.name.clone(),
            selected: m.id == chosen_macro,
        }))
        .collect(),
        macro_id: chosen_macro,
        macro_actions,
        draft,
        internal: extras.internal,
        statuses: status_choices(ctx, true, &extras.status),
        field_statuses: status_choices(ctx, true, ""),
        priorities: priority_choices(ctx, false, &v.priority),
        categories: category_choices(ctx, &v.category),
        agents: agent_choices(state, ctx, v.assignee_id.as_deref()).await?,
        groups: groups
            .iter()
            .map(|g| Choice {
                value: g.id.clone(),
                label: ctx.lang.pick(g.name_en.clone(), g.name_zh.clone()),
                selected: v.group_id.as_deref() == Some(g.id.as_str()),
            })
            .collect(),
        complaint: v.complaint.as_ref().map(|c| {
            (
                if c.status == "open" {
                    ctx.t("agent.complaint.open").to_owned()
                } else {
                    ctx.t("agent.complaint.resolved").to_owned()
                },
                c.reason.clone(),
            )
        }),
        verification,
        can_verify,
        stale: extras.stale,
        notice: extras.notice,
        error: extras.error.clone(),
    };
    let status = if extras.error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else if extras.stale {
        StatusCode::CONFLICT
    } else {
        StatusCode::OK
    };
    Ok(ctx.render(status, &page))
}

async fn ticket(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<TicketQuery>,
    StaffConsole { ctx, current, .. }: Console,
) -> Response {
    let notice = q.done.as_deref().map(|d| match d {
        "reply" => ctx.t("agent.notice.reply").to_owned(),
        "note" => ctx.t("agent.notice.note").to_owned(),
        "merged" => ctx.t("agent.notice.merged").to_owned(),
        "escalated" => ctx.t("agent.notice.escalated").to_owned(),
        "verify_started" => ctx.t("agent.notice.verify_started").to_owned(),
        "masked" => ctx.t("agent.notice.masked").to_owned(),
        "verified" => ctx.t("agent.notice.verified").to_owned(),
        _ => ctx.t("agent.notice.done").to_owned(),
    });
    let extras = Extras {
        macro_id: q.macro_id.clone().filter(|m| !m.is_empty()),
        notice,
        ..Default::default()
    };
    match ticket_page(&state, &ctx, &current, &id, extras).await {
        Ok(r) => r,
        Err(e) if e.status() == StatusCode::NOT_FOUND => super::not_found_page(&ctx),
        Err(e) if e.status().is_client_error() => {
            // A macro that no longer renders: the page without it, saying why.
            let extras = Extras {
                error: Some(e.problem(ctx.lang, None).detail),
                ..Default::default()
            };
            ticket_page(&state, &ctx, &current, &id, extras)
                .await
                .unwrap_or_else(|e| ctx.error(&e))
        }
        Err(e) => ctx.error(&e),
    }
}

/// After an action on a ticket: back to it, or the ticket again with the refusal.
async fn after(
    state: &AppState,
    ctx: &PageCtx,
    current: &crate::auth::CurrentSession,
    id: &str,
    done: &str,
    outcome: Result<(), ApiError>,
    extras: Extras,
) -> Response {
    match outcome {
        Ok(()) => ctx.see_other(&format!(
            "/agent/tickets/{}?done={done}",
            percent_encode(id)
        )),
        Err(e) if e.status() == StatusCode::NOT_FOUND => super::not_found_page(ctx),
        Err(e) if e.status().is_client_error() => {
            let extras = Extras {
                error: Some(e.problem(ctx.lang, None).detail),
                ..extras
            };
            ticket_page(state, ctx, current, id, extras)
                .await
                .unwrap_or_else(|e| ctx.error(&e))
        }
        Err(e) => ctx.error(&e),
    }
}

#[derive(Debug, Deserialize)]
struct ReplyForm {
    body: String,
    #[serde(default)]
    internal: Option<String>,
    #[serde(default)]
    status: String,
    #[serde(default)]
    macro_id: String,
    /// The ticket's `updated_at_ms` when the page was loaded.
    #[serde(default)]
    seen: String,
    /// Send although the ticket changed meanwhile.
    #[serde(default)]
    send_anyway: Option<String>,
}

async fn reply(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<ReplyForm>,
) -> Response {
    let (ctx, current, form) = match console_form(&state, form).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let internal = form.internal.is_some();
    let extras = || Extras {
        draft: Some(form.body.clone()),
        internal,
        status: form.status.clone(),
        macro_id: Some(form.macro_id.clone()).filter(|m| !m.is_empty()),
        ..Default::default()
    };
    // Someone answered or changed the ticket since this agent loaded it: show what changed
    // and keep the draft, unless they already looked and said send.
    if form.send_anyway.is_none() {
        if let Ok(Some(t)) = state.db.ticket(&id).await {
            if form
                .seen
                .parse::<i64>()
                .is_ok_and(|seen| seen != t.updated_at_ms)
            {
                let stale = Extras {
                    stale: true,
                    ..extras()
                };
                return ticket_page(&state, &ctx, &current, &id, stale)
                    .await
                    .unwrap_or_else(|e| ctx.error(&e));
            }
        }
    }
    let asked = NewMessage {
        body: Some(form.body.clone()),
        internal,
        status: Some(form.status.clone()).filter(|s| !s.is_empty()),
        macro_id: Some(form.macro_id.clone()).filter(|m| !m.is_empty()),
        macro_reference: None,
    };
    let outcome = post_message(&state, &current, &id, asked).await;
    let masked = outcome.as_ref().is_ok_and(|c| !c.masked.is_empty());
    let outcome = outcome.map(|_| ());
    let done = match (masked, internal) {
        (true, _) => "masked",
        (false, true) => "note",
        (false, false) => "reply",
    };
    after(&state, &ctx, &current, &id, done, outcome, extras()).await
}

#[derive(Debug, Deserialize)]
struct FieldsForm {
    #[serde(default)]
    status: String,
    #[serde(default)]
    priority: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    assignee: String,
    #[serde(default)]
    group: String,
    #[serde(default)]
    add_tags: String,
    #[serde(default)]
    remove_tags: String,
}

fn tag_list(text: &str) -> Vec<String> {
    text.split([',', '，', ' '])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

async fn fields(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<FieldsForm>,
) -> Response {
    let (ctx, current, form) = match console_form(&state, form).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let outcome = async {
        let t = state
            .db
            .ticket(&id)
            .await?
            .ok_or_else(ApiError::not_found)?;
        let changed =
            |asked: &str, now: &str| Some(asked.to_owned()).filter(|a| !a.is_empty() && a != now);
        let assignee = match form.assignee.as_str() {
            "" => None,
            "none" if t.assignee_id.is_some() => Some(None),
            "none" => None,
            a if t.assignee_id.as_deref() != Some(a) => Some(Some(a.to_owned())),
            _ => None,
        };
        let update = TicketUpdate {
            status: changed(&form.status, &t.status),
            priority: changed(&form.priority, &t.priority),
            category: changed(&form.category, &t.category),
            assignee_id: assignee,
            group_id: changed(&form.group, t.group_id.as_deref().unwrap_or("")),
            add_tags: tag_list(&form.add_tags),
            remove_tags: tag_list(&form.remove_tags),
        };
        change_fields(&state, &current, &id, &update)
            .await
            .map(|_| ())
    }
    .await;
    after(
        &state,
        &ctx,
        &current,
        &id,
        "fields",
        outcome,
        Extras::default(),
    )
    .await
}

#[derive(Debug, Deserialize)]
struct MergeForm {
    into: String,
}

async fn merge(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<MergeForm>,
) -> Response {
    let (ctx, current, form) = match console_form(&state, form).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match merge_tickets(
        &state,
        &current,
        &id,
        form.into.trim().trim_start_matches('#'),
    )
    .await
    {
        Ok(target) => ctx.see_other(&format!("/agent/tickets/{}?done=merged", target.id)),
        Err(e) => after(&state, &ctx, &current, &id, "", Err(e), Extras::default()).await,
    }
}

#[derive(Debug, Deserialize)]
struct EscalateForm {
    reason: String,
}

async fn escalate(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<EscalateForm>,
) -> Response {
    let (ctx, current, form) = match console_form(&state, form).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let outcome = raise_complaint(&state, &current, &id, Some(form.reason.as_str()))
        .await
        .map(|_| ());
    after(
        &state,
        &ctx,
        &current,
        &id,
        "escalated",
        outcome,
        Extras::default(),
    )
    .await
}

#[derive(Debug, Deserialize)]
struct VerifyStartForm {}

/// "Ask the customer to verify": their app shows a code (and this agent's name and badge).
async fn verify_start(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<VerifyStartForm>,
) -> Response {
    let (ctx, current, _) = match console_form(&state, form).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let outcome = async {
        let (t, staff) = tickets::visible(&state, &current, &id).await?;
        if !staff {
            return Err(ApiError::not_found());
        }
        crate::api::live::start(
            &state,
            &current,
            &t.requester_id,
            format!("ticket:{}", t.id),
        )
        .await
        .map(|_| ())
    }
    .await;
    after(
        &state,
        &ctx,
        &current,
        &id,
        "verify_started",
        outcome,
        Extras::default(),
    )
    .await
}

#[derive(Debug, Deserialize)]
struct VerifyCodeForm {
    verification: String,
    code: String,
}

/// The code the customer read out.
async fn verify_code(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RequestOrigin(origin): RequestOrigin,
    form: CsrfForm<VerifyCodeForm>,
) -> Response {
    let (ctx, current, form) = match console_form(&state, form).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let outcome = async {
        let (t, staff) = tickets::visible(&state, &current, &id).await?;
        let v = state.db.verification(&form.verification).await?;
        if !staff || v.is_none_or(|v| v.customer_id != t.requester_id) {
            return Err(ApiError::not_found());
        }
        crate::api::live::try_code(&state, &current, &origin, &form.verification, &form.code)
            .await
            .map(|_| ())
    }
    .await;
    after(
        &state,
        &ctx,
        &current,
        &id,
        "verified",
        outcome,
        Extras::default(),
    )
    .await
}

#[derive(Debug, Deserialize)]
struct ViewingForm {
    #[serde(default)]
    composing: String,
}

/// The console's "I am looking at this (and writing)" ping, answered with who else is and
/// when the ticket last changed (JSON for app.js).
async fn viewing(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<ViewingForm>,
) -> Response {
    let (ctx, current, form) = match console_form(&state, form).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let answer = async {
        let (t, staff) = tickets::visible(&state, &current, &id).await?;
        if !staff {
            return Err(ApiError::not_found());
        }
        let viewers = note_viewer(&state, &current, &t, form.composing == "1").await?;
        Ok::<_, ApiError>(serde_json::json!({
            "others": viewers.others.iter().map(|o| serde_json::json!({
                "name": o.name, "composing": o.composing,
            })).collect::<Vec<_>>(),
            "updated_ms": t.updated_at_ms,
        }))
    }
    .await;
    match answer {
        Ok(json) => ctx.finish(axum::Json(json).into_response()),
        Err(e) => ctx.finish(e.into_response()),
    }
}

async fn download(
    State(state): State<AppState>,
    Path((id, file)): Path<(String, String)>,
    StaffConsole { ctx, current, .. }: Console,
) -> Response {
    let found = async {
        let (t, _) = tickets::visible(&state, &current, &id).await?;
        let (a, data) = state
            .db
            .attachment(&t.id, &file)
            .await?
            .ok_or_else(ApiError::not_found)?;
        audit_view(
            &state,
            &current,
            "ticket.attachment_viewed",
            &t.requester_id,
            serde_json::json!({"ticket": t.number, "file": a.id}),
        )
        .await?;
        Ok::<_, ApiError>(tickets::attachment_response(&a, data))
    }
    .await;
    match found {
        Ok(r) => r,
        Err(e) if e.status() == StatusCode::NOT_FOUND => super::not_found_page(&ctx),
        Err(e) => ctx.error(&e),
    }
}

// --- the call log ------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "agent_calls.html")]
struct CallsPage<'a> {
    ctx: &'a PageCtx,
    to_call_back: Vec<CallLine>,
    recent: Vec<CallLine>,
    notice: Option<String>,
}

struct CallLine {
    call_id: String,
    direction: &'static str,
    /// Missed calls show the number in full: it is the one to call back.
    number: String,
    state: String,
    state_label: &'static str,
    state_badge: &'static str,
    started: String,
    wait_s: Option<i64>,
    duration_s: Option<i64>,
    customer: Option<String>,
    called_back: Option<String>,
}

fn call_line(ctx: &PageCtx, c: &store::live::CallRow, full_number: bool) -> CallLine {
    let v = crate::api::live::call_view(c);
    let (state_label, state_badge) = match c.state.as_str() {
        "ringing" => (ctx.t("calls.state.ringing"), "info"),
        "answered" => (ctx.t("calls.state.answered"), "ok"),
        "ended" => (ctx.t("calls.state.ended"), ""),
        "missed" => (ctx.t("calls.state.missed"), "danger"),
        "not_answered" => (ctx.t("calls.state.not_answered"), "warn"),
        _ => (ctx.t("calls.state.rejected"), "warn"),
    };
    CallLine {
        call_id: c.call_id.clone(),
        direction: if c.direction == "out" {
            ctx.t("calls.out")
        } else {
            ctx.t("calls.in")
        },
        number: if full_number {
            v.number.clone()
        } else {
            helpdesk::masking::phone(&v.number)
        },
        state: c.state.clone(),
        state_label,
        state_badge,
        started: super::security::page_time(c.started_at_ms),
        wait_s: v.wait_s,
        duration_s: v.duration_s,
        customer: c.customer_id.clone(),
        called_back: c.called_back_at_ms.map(super::security::page_time),
    }
}

#[derive(Debug, Default, Deserialize)]
struct CallsQuery {
    done: Option<String>,
}

/// The call log: missed calls to return first, then the latest calls.
async fn call_log(
    State(state): State<AppState>,
    Query(q): Query<CallsQuery>,
    StaffConsole { ctx, .. }: Console,
) -> Response {
    let page = async {
        let missed = state
            .db
            .calls(store::live::CallFilter::ToCallBack, 200)
            .await?;
        let recent = state.db.calls(store::live::CallFilter::All, 100).await?;
        Ok::<_, ApiError>(CallsPage {
            ctx: &ctx,
            to_call_back: missed.iter().map(|c| call_line(&ctx, c, true)).collect(),
            recent: recent.iter().map(|c| call_line(&ctx, c, false)).collect(),
            notice: q.done.map(|_| ctx.t("calls.notice.called_back").to_owned()),
        })
    }
    .await;
    match page {
        Ok(p) => ctx.render(StatusCode::OK, &p),
        Err(e) => ctx.error(&e),
    }
}

#[derive(Debug, Deserialize)]
struct EmptyForm {}

/// A missed call was returned.
async fn called_back(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<EmptyForm>,
) -> Response {
    let (ctx, current, _) = match console_form(&state, form).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match state
        .db
        .mark_called_back(&id, &current.user.id, store::now_ms())
        .await
    {
        Ok(_) => ctx.see_other("/agent/calls?done=called_back"),
        Err(e) => ctx.error(&ApiError::from(e)),
    }
}

/// A ticket for the caller on the agent's line (channel phone), opened without the agent ever
/// seeing the caller's email address.
async fn ticket_for_call(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<EmptyForm>,
) -> Response {
    let (ctx, current, _) = match console_form(&state, form).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let opened = async {
        let call = state
            .db
            .call(&id)
            .await?
            .filter(|c| c.agent_id.as_deref() == Some(current.user.id.as_str()))
            .ok_or_else(ApiError::not_found)?;
        let customer_id = call.customer_id.clone().ok_or_else(ApiError::not_found)?;
        let customer = state
            .db
            .user_by_id(&customer_id)
            .await?
            .ok_or_else(ApiError::not_found)?;
        let asked = CreateTicket {
            subject: ctx.t("calls.ticket_subject").to_owned(),
            body: format!(
                "{} {}",
                ctx.t("calls.ticket_body"),
                super::security::page_time(call.answered_at_ms.unwrap_or(call.started_at_ms))
            ),
            category: "other".to_owned(),
            reference: None,
            requester_email: Some(customer.email.as_str().to_owned()),
            priority: None,
            channel: Some("phone".to_owned()),
        };
        tickets::open(&state, &current, ctx.lang, asked).await
    }
    .await;
    match opened {
        Ok(o) => ctx.see_other(&format!("/agent/tickets/{}", o.ticket.id)),
        Err(e) if e.status() == StatusCode::NOT_FOUND => super::not_found_page(&ctx),
        Err(e) => ctx.error(&e),
    }
}
