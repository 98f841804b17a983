//! Tickets (工单): customers open them and follow them; agents, supervisors and administrators
//! answer them.
//!
//! Who sees what, deny by default: a customer sees only tickets they requested, and never an
//! internal note; staff (agent, supervisor, admin) see every ticket, and every time they open
//! one the view of that customer's data is written to the audit log. A customer cannot write an
//! internal note. A ticket someone may not see answers 404, exactly like one that does not
//! exist, so ids cannot be probed.
//!
//! Status rules (see `helpdesk::sla` for what they do to the clocks): a new ticket is `new`; an
//! agent's public reply makes a `new` ticket `open` unless the agent sets a status; a customer's
//! reply to a `pending` or `solved` ticket makes it `open` again; `closed` is final.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use helpdesk::ticket::{Category, Priority, TicketStatus};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::help::{invalid, missing};
use crate::api::sessions::rfc3339;
use crate::auth::CurrentSession;
use crate::error::{ApiError, Reason};
use crate::json::ApiJson;
use crate::lang::Lang;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/tickets", post(create).get(list))
        .route("/api/v1/tickets/{id}", get(one))
        .route("/api/v1/tickets/{id}/messages", post(add_message))
}

const SUBJECT_CHARS_MAX: usize = 200;
const BODY_CHARS_MAX: usize = 20_000;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTicket {
    pub subject: String,
    pub body: String,
    /// login_failed, funds_delayed, cannot_trade, account_security, payment_failed, other.
    pub category: String,
    /// An entry of the caller's activity history the ticket is about.
    #[serde(default)]
    pub reference: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageView {
    pub id: String,
    /// requester, agent or system.
    pub from: String,
    /// True for an agent's note the requester never sees (staff views only).
    pub internal: bool,
    pub body: String,
    pub created_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TicketView {
    pub id: String,
    /// The number people read out (工单号).
    pub number: i64,
    pub subject: String,
    pub category: String,
    pub priority: String,
    pub status: String,
    pub channel: String,
    pub reference: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// Staff views only: who is working on it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignee_id: Option<String>,
    /// Staff views only: the requester's email, masked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requester: Option<String>,
    /// In the single-ticket answer: the conversation, oldest first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages: Option<Vec<MessageView>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TicketList {
    pub items: Vec<TicketView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TicketQuery {
    /// Comma-separated statuses.
    pub status: Option<String>,
    /// Staff: `me` for the caller's own assignments.
    pub assignee: Option<String>,
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMessage {
    pub body: String,
    /// Staff only: a note the requester never sees.
    #[serde(default)]
    pub internal: bool,
    /// Staff only: the status to leave the ticket in (e.g. pending, solved).
    #[serde(default)]
    pub status: Option<String>,
}

fn is_staff(current: &CurrentSession) -> bool {
    current.user.role.is_staff()
}

async fn view(
    state: &AppState,
    t: &store::tickets::Ticket,
    staff: bool,
    with_messages: bool,
) -> Result<TicketView, ApiError> {
    let requester = if staff {
        state
            .db
            .user_by_id(&t.requester_id)
            .await?
            .map(|u| helpdesk::masking::email(u.email.as_str()))
    } else {
        None
    };
    let messages = if with_messages {
        let rows = state.db.ticket_messages(&t.id, staff).await?;
        Some(
            rows.into_iter()
                .map(|m| MessageView {
                    from: match m.author_id.as_deref() {
                        Some(a) if a == t.requester_id => "requester",
                        Some(_) => "agent",
                        None => "system",
                    }
                    .to_owned(),
                    id: m.id,
                    internal: m.internal,
                    body: m.body,
                    created_at: rfc3339(m.created_at_ms),
                })
                .collect(),
        )
    } else {
        None
    };
    Ok(TicketView {
        id: t.id.clone(),
        number: t.number,
        subject: t.subject.clone(),
        category: t.category.clone(),
        priority: t.priority.clone(),
        status: t.status.clone(),
        channel: t.channel.clone(),
        reference: t.reference.clone(),
        created_at: rfc3339(t.created_at_ms),
        updated_at: rfc3339(t.updated_at_ms),
        assignee_id: if staff { t.assignee_id.clone() } else { None },
        requester,
        messages,
    })
}

fn event(
    ticket_id: &str,
    at_ms: i64,
    actor: Option<&str>,
    kind: &str,
    detail: serde_json::Value,
) -> store::tickets::TicketEvent {
    store::tickets::TicketEvent {
        id: store::new_id(),
        ticket_id: ticket_id.to_owned(),
        at_ms,
        actor_id: actor.map(str::to_owned),
        kind: kind.to_owned(),
        detail: detail.to_string(),
    }
}

fn check_text(field: &str, value: &str, max: usize) -> Result<String, ApiError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(missing(field));
    }
    if v.chars().count() > max {
        return Err(invalid(field, format!("longer than {max} characters")));
    }
    Ok(v.to_owned())
}

/// Opens a ticket for the caller, optionally about one of their activity entries.
#[utoipa::path(post, path = "/api/v1/tickets", tag = "tickets", security(("bearer" = [])),
    request_body = CreateTicket,
    responses((status = 201, body = TicketView),
        (status = 422, description = "`invalid_field`: subject, body, category or reference", body = crate::error::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    lang: Lang,
    current: CurrentSession,
    ApiJson(body): ApiJson<CreateTicket>,
) -> Result<(StatusCode, ApiJson<TicketView>), ApiError> {
    let subject = check_text("subject", &body.subject, SUBJECT_CHARS_MAX)?;
    let text = check_text("body", &body.body, BODY_CHARS_MAX)?;
    let category = Category::parse(&body.category).ok_or_else(|| {
        invalid(
            "category",
            "use login_failed, funds_delayed, cannot_trade, account_security, payment_failed or other",
        )
    })?;
    let reference = match body.reference.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(r) => {
            // Only the caller's own entries: someone else's id is as unknown as a made-up one.
            crate::api::activity::entry(&state, &current.user.id, r, lang)
                .await?
                .ok_or_else(|| invalid("reference", "not an entry of your activity"))?;
            Some(r.to_owned())
        }
    };
    let now = store::now_ms();
    let id = store::new_id();
    let mut ticket = store::tickets::Ticket {
        id: id.clone(),
        number: 0,
        requester_id: current.user.id.clone(),
        subject,
        category: category.as_str().into(),
        priority: Priority::Normal.as_str().into(),
        status: TicketStatus::New.as_str().into(),
        channel: "web".into(),
        language: lang.tag().into(),
        group_id: None,
        assignee_id: None,
        tags: String::new(),
        reference,
        merged_into: None,
        first_response_due_ms: None,
        resolution_due_ms: None,
        first_responded_at_ms: None,
        solved_at_ms: None,
        sla_breached: false,
        created_at_ms: now,
        updated_at_ms: now,
    };
    let first = store::tickets::TicketMessage {
        id: store::new_id(),
        ticket_id: id.clone(),
        author_id: Some(current.user.id.clone()),
        internal: false,
        body: text,
        channel: "web".into(),
        created_at_ms: now,
    };
    let events = [event(
        &id,
        now,
        Some(&current.user.id),
        "created",
        serde_json::json!({"priority": ticket.priority, "category": ticket.category}),
    )];
    ticket.number = state.db.insert_ticket(&ticket, &first, &events).await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(view(&state, &ticket, false, true).await?),
    ))
}

/// The caller's tickets (customers), or the queue (staff), most recently updated first.
#[utoipa::path(get, path = "/api/v1/tickets", tag = "tickets", security(("bearer" = [])),
    params(TicketQuery), responses((status = 200, body = TicketList)))]
pub async fn list(
    State(state): State<AppState>,
    current: CurrentSession,
    Query(q): Query<TicketQuery>,
) -> Result<ApiJson<TicketList>, ApiError> {
    let staff = is_staff(&current);
    let mut filter = store::tickets::TicketFilter::default();
    if !staff {
        filter.requester_id = Some(current.user.id.clone());
    }
    if let Some(statuses) = q.status.as_deref() {
        for s in statuses.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let status = TicketStatus::parse(s).ok_or_else(|| {
                invalid(
                    "status",
                    "use new, open, pending, on_hold, solved or closed",
                )
            })?;
            filter.statuses.push(status.as_str().into());
        }
    }
    match q.assignee.as_deref() {
        None => {}
        Some("me") if staff => filter.assignee_id = Some(current.user.id.clone()),
        Some(_) => return Err(invalid("assignee", "only `me`, and only for staff")),
    }
    let limit = match q.limit.as_deref() {
        None => 20,
        Some(t) => t
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| invalid("limit", "a number from 1 to 100"))?,
    };
    if let Some(cursor) = q.cursor.as_deref() {
        let (ms, id) = cursor
            .split_once('.')
            .and_then(|(ms, id)| Some((ms.parse::<i64>().ok()?, id.to_owned())))
            .ok_or_else(|| invalid("cursor", "not a cursor from this list"))?;
        filter.before = Some((ms, id));
    }
    let rows = state.db.tickets(&filter, limit + 1).await?;
    let more = rows.len() as i64 > limit;
    let mut items = Vec::new();
    for t in rows.iter().take(usize::try_from(limit).unwrap_or(20)) {
        items.push(view(&state, t, staff, false).await?);
    }
    if staff && !items.is_empty() {
        state
            .db
            .audit(
                &current.user.id,
                "tickets.listed",
                "",
                &format!("{} tickets", items.len()),
            )
            .await?;
    }
    let next_cursor = more
        .then(|| rows.get(items.len() - 1))
        .flatten()
        .map(|t| format!("{}.{}", t.updated_at_ms, t.id));
    Ok(ApiJson(TicketList { items, next_cursor }))
}

/// A ticket the caller may see, or 404.
async fn visible(
    state: &AppState,
    current: &CurrentSession,
    id: &str,
) -> Result<store::tickets::Ticket, ApiError> {
    let t = state.db.ticket(id).await?.ok_or_else(ApiError::not_found)?;
    if t.requester_id == current.user.id || is_staff(current) {
        Ok(t)
    } else {
        Err(ApiError::not_found())
    }
}

/// One ticket with its conversation (internal notes only for staff; staff views are audited).
#[utoipa::path(get, path = "/api/v1/tickets/{id}", tag = "tickets", security(("bearer" = [])),
    responses((status = 200, body = TicketView),
        (status = 404, description = "`not_found`: no such ticket, or not yours", body = crate::error::Problem)))]
pub async fn one(
    State(state): State<AppState>,
    current: CurrentSession,
    Path(id): Path<String>,
) -> Result<ApiJson<TicketView>, ApiError> {
    let t = visible(&state, &current, &id).await?;
    let staff = is_staff(&current) && t.requester_id != current.user.id;
    if staff {
        state
            .db
            .audit(
                &current.user.id,
                "ticket.viewed",
                &t.requester_id,
                &format!("ticket {}", t.number),
            )
            .await?;
    }
    Ok(ApiJson(view(&state, &t, staff, true).await?))
}

/// Adds a public reply (requester or staff) or an internal note (staff).
#[utoipa::path(post, path = "/api/v1/tickets/{id}/messages", tag = "tickets",
    security(("bearer" = [])), request_body = NewMessage,
    responses((status = 201, body = TicketView),
        (status = 403, description = "`forbidden`: a customer's internal note or status", body = crate::error::Problem),
        (status = 404, description = "`not_found`", body = crate::error::Problem),
        (status = 422, description = "`invalid_field`: an empty body, an unknown status, or a closed ticket", body = crate::error::Problem),
        (status = 503, description = "`service_unavailable`: the ticket changed meanwhile; retry", body = crate::error::Problem)))]
pub async fn add_message(
    State(state): State<AppState>,
    current: CurrentSession,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NewMessage>,
) -> Result<(StatusCode, ApiJson<TicketView>), ApiError> {
    let old = visible(&state, &current, &id).await?;
    let staff = is_staff(&current) && old.requester_id != current.user.id;
    if !staff && (body.internal || body.status.is_some()) {
        return Err(ApiError::new(Reason::Forbidden));
    }
    let text = check_text("body", &body.body, BODY_CHARS_MAX)?;
    let current_status = TicketStatus::parse(&old.status).unwrap_or(TicketStatus::Open);
    if current_status == TicketStatus::Closed {
        return Err(invalid("id", "this ticket is closed; open a new one"));
    }
    let asked = match body.status.as_deref() {
        None => None,
        Some(s) => Some(TicketStatus::parse(s).ok_or_else(|| {
            invalid(
                "status",
                "use new, open, pending, on_hold, solved or closed",
            )
        })?),
    };
    let now = store::now_ms().max(old.updated_at_ms + 1);
    let actor = Some(current.user.id.as_str());
    let mut t = old.clone();
    let mut events = Vec::new();
    let kind = match (staff, body.internal) {
        (true, true) => "internal_note",
        _ => "public_reply",
    };
    events.push(event(
        &id,
        now,
        actor,
        kind,
        serde_json::json!({"by_agent": staff}),
    ));
    let next = if staff {
        match (asked, body.internal, current_status) {
            (Some(s), _, _) => s,
            (None, false, TicketStatus::New) => TicketStatus::Open,
            (None, _, s) => s,
        }
    } else {
        match current_status {
            TicketStatus::Pending | TicketStatus::Solved => TicketStatus::Open,
            s => s,
        }
    };
    if staff && !body.internal && t.first_responded_at_ms.is_none() {
        t.first_responded_at_ms = Some(now);
    }
    if next != current_status {
        if current_status == TicketStatus::Solved && !staff {
            events.push(event(&id, now, actor, "reopened", serde_json::json!({})));
        }
        events.push(event(
            &id,
            now,
            actor,
            "status_changed",
            serde_json::json!({"from": current_status.as_str(), "to": next.as_str()}),
        ));
        t.status = next.as_str().into();
        t.solved_at_ms = match next {
            TicketStatus::Solved | TicketStatus::Closed => Some(now),
            _ => None,
        };
    }
    t.updated_at_ms = now;
    let message = store::tickets::TicketMessage {
        id: store::new_id(),
        ticket_id: id.clone(),
        author_id: Some(current.user.id.clone()),
        internal: staff && body.internal,
        body: text,
        channel: "web".into(),
        created_at_ms: now,
    };
    if !state
        .db
        .add_ticket_message(&t, old.updated_at_ms, &message, &events)
        .await?
    {
        return Err(ApiError::service_unavailable(1));
    }
    if staff {
        state
            .db
            .audit(
                &current.user.id,
                if body.internal {
                    "ticket.noted"
                } else {
                    "ticket.replied"
                },
                &t.requester_id,
                &format!("ticket {}", t.number),
            )
            .await?;
    }
    Ok((
        StatusCode::CREATED,
        ApiJson(view(&state, &t, staff, true).await?),
    ))
}
