//! Tickets (工单): customers open them, follow them, add files, rate them and complain about
//! them; agents, supervisors and administrators answer, note, change, merge and work them in
//! bulk.
//!
//! Who sees what, deny by default: a customer sees only tickets they requested, and never an
//! internal note, an event history or a staff field; staff (agent, supervisor, admin, each
//! with a confirmed second factor — `second_factor_required` otherwise) see every ticket, and
//! every time they open one, the view of that customer's data is written to the audit log. A
//! ticket someone may not see answers 404, exactly like one that does not exist, so ids cannot
//! be probed.
//!
//! What a reply or an edit does to a ticket is `helpdesk::change`'s rule, applied by
//! [`crate::desk`] for the API and the pages alike.

use std::collections::BTreeSet;

use axum::extract::{Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use helpdesk::change::{Actor, Message, Request};
use helpdesk::ticket::{Category, Priority, TicketStatus};
use serde::{Deserialize, Deserializer, Serialize};
use store::tickets::{Ticket, TicketFilter, TicketOrder};
use utoipa::{IntoParams, ToSchema};

use crate::api::help::{invalid, missing};
use crate::api::sessions::rfc3339;
use crate::auth::CurrentSession;
use crate::desk::{self, Asked};
use crate::error::{ApiError, Reason, TicketRefusal};
use crate::json::{ApiJson, LimitedBody};
use crate::lang::Lang;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/tickets", post(create).get(list))
        .route("/api/v1/tickets/bulk", post(bulk))
        .route("/api/v1/tickets/{id}", get(one).patch(update))
        .route("/api/v1/tickets/{id}/messages", post(add_message))
        .route("/api/v1/tickets/{id}/escalations", post(escalate))
        .route("/api/v1/tickets/{id}/rating", post(rate))
        .route("/api/v1/ticket-ratings", post(rate_by_link))
        .route("/api/v1/tickets/{id}/attachments", post(upload))
        .route("/api/v1/tickets/{id}/attachments/{file}", get(download))
        .route("/api/v1/tickets/{id}/merge", post(merge))
        .route("/api/v1/tickets/{id}/viewers", post(viewing))
        .route("/api/v1/tickets/{id}/macros/{macro_id}", get(macro_preview))
}

pub const SUBJECT_CHARS_MAX: usize = 200;
pub const BODY_CHARS_MAX: usize = 20_000;
const REASON_CHARS_MAX: usize = 2_000;
/// The attachment limit plus room for nothing else: the body is the file.
const ATTACHMENT_BODY_BYTES_MAX: usize = 10 * 1024 * 1024;
/// How long a viewer counts as looking at a ticket after their last sign of life.
pub const VIEWER_FRESH_MS: i64 = 45_000;

/// Whether the caller acts as staff: staff roles only, and only with a confirmed second
/// factor (`second_factor_required` otherwise), like the consoles.
pub async fn acts_as_staff(state: &AppState, current: &CurrentSession) -> Result<bool, ApiError> {
    if !current.user.role.is_staff() {
        return Ok(false);
    }
    let confirmed = state
        .db
        .totp_factor(&current.user.id)
        .await?
        .is_some_and(|f| f.confirmed);
    if confirmed {
        Ok(true)
    } else {
        Err(ApiError::new(Reason::SecondFactorRequired))
    }
}

/// Staff only (`forbidden` for everyone else).
pub async fn require_staff(state: &AppState, current: &CurrentSession) -> Result<(), ApiError> {
    if acts_as_staff(state, current).await? {
        Ok(())
    } else {
        Err(ApiError::new(Reason::Forbidden))
    }
}

/// Records that a staff member saw a customer's data.
pub async fn audit_view(
    state: &AppState,
    current: &CurrentSession,
    action: &str,
    customer_id: &str,
    detail: serde_json::Value,
) -> Result<(), ApiError> {
    state
        .desk
        .audit(
            &state.db,
            format!("user:{}", current.user.id),
            action,
            format!("user:{customer_id}"),
            detail.to_string(),
        )
        .await
}

pub fn check_text(field: &str, value: &str, max: usize) -> Result<String, ApiError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(missing(field));
    }
    if v.chars().count() > max {
        return Err(invalid(field, format!("longer than {max} characters")));
    }
    Ok(v.to_owned())
}

fn parse_category(s: &str) -> Result<Category, ApiError> {
    Category::parse(s).ok_or_else(|| {
        invalid(
            "category",
            "use login_failed, funds_delayed, cannot_trade, account_security, payment_failed or other",
        )
    })
}

fn parse_priority(s: &str) -> Result<Priority, ApiError> {
    Priority::parse(s).ok_or_else(|| invalid("priority", "use low, normal, high or urgent"))
}

fn parse_status(field: &str, s: &str) -> Result<TicketStatus, ApiError> {
    TicketStatus::parse(s)
        .ok_or_else(|| invalid(field, "use new, open, pending, on_hold, solved or closed"))
}

/// `null` and absent are different: absent leaves a field alone, `null` clears it.
fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

// --- views -------------------------------------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageView {
    pub id: String,
    /// requester, agent or system.
    pub from: String,
    /// Who wrote it as the reader may see it: the agent's display name, or empty.
    pub author_name: String,
    /// True for an agent's note the requester never sees (staff views only).
    pub internal: bool,
    pub body: String,
    pub channel: String,
    pub created_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttachmentView {
    pub id: String,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub created_at: String,
    /// Where to download it (always served as a download).
    pub url: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RatingView {
    pub score: i64,
    pub comment: String,
    pub created_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ComplaintView {
    pub id: String,
    /// open or resolved.
    pub status: String,
    pub reason: String,
    /// Raised by the customer (false: escalated by an agent).
    pub by_customer: bool,
    pub due_at: String,
    pub outcome: Option<String>,
    pub created_at: String,
    pub resolved_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClockView {
    /// running, near_breach, paused, met, breached, cancelled.
    pub state: String,
    pub target_s: Option<i64>,
    pub used_s: i64,
    /// Negative once the target is passed.
    pub remaining_s: Option<i64>,
    pub due_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SlaView {
    pub first_response: ClockView,
    pub resolution: ClockView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    pub at: String,
    pub kind: String,
    pub actor_id: Option<String>,
    /// The event's particulars (JSON object).
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
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
    /// The ticket it was merged into, if it was.
    pub merged_into: Option<String>,
    /// The deadline of the clock that runs next (first response, then resolution).
    pub next_due_at: Option<String>,
    /// Whether a first-response or resolution target was missed.
    pub sla_breached: bool,
    /// The customer's rating, once given.
    pub rating: Option<RatingView>,
    /// The latest complaint about it.
    pub complaint: Option<ComplaintView>,
    /// Staff views only: the customer's id (for the customer context) and masked email.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requester_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requester: Option<String>,
    /// Staff views only: who is working on it, in which group, with which tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignee_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// In the single-ticket answer: the conversation, oldest first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages: Option<Vec<MessageView>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attachments: Option<Vec<AttachmentView>>,
    /// Staff, single ticket: the clocks now, and everything that happened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sla: Option<SlaView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<EventView>>,
    /// In the answer to what was just written: what was hidden from it before it was stored
    /// (seed_phrase, private_key, one_time_code, card_number). Staff never ask for these.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub masked: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TicketList {
    pub items: Vec<TicketView>,
    pub next_cursor: Option<String>,
}

fn clock_view(c: &helpdesk::sla::Clock) -> ClockView {
    ClockView {
        state: c.state.as_str().to_owned(),
        target_s: c.target.map(|t| t.as_secs()),
        used_s: c.used.as_secs(),
        remaining_s: c.remaining.map(|r| r.as_secs()),
        due_at: c.due_at.map(|t| rfc3339(t.as_millisecond())),
    }
}

fn complaint_view(c: &store::helpdesk::Complaint) -> ComplaintView {
    ComplaintView {
        id: c.id.clone(),
        status: c.status.clone(),
        reason: c.reason.clone(),
        by_customer: !c.by_agent,
        due_at: rfc3339(c.due_at_ms),
        outcome: c.outcome.clone(),
        created_at: rfc3339(c.created_at_ms),
        resolved_at: c.resolved_at_ms.map(rfc3339),
    }
}

/// How much of a ticket to show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detail {
    /// A line of a list.
    Line,
    /// The ticket with its conversation.
    Full,
}

/// Display names of agents, by user id.
pub async fn agent_names(
    state: &AppState,
) -> Result<std::collections::HashMap<String, String>, ApiError> {
    Ok(state
        .db
        .agents()
        .await?
        .into_iter()
        .map(|a| (a.user_id, a.display_name))
        .collect())
}

/// Tickets as a list shows them (no conversation), with what they need read in a few queries
/// for the whole list rather than per ticket.
pub async fn line_views(
    state: &AppState,
    tickets: &[Ticket],
    staff: bool,
) -> Result<Vec<TicketView>, ApiError> {
    let ids: Vec<String> = tickets.iter().map(|t| t.id.clone()).collect();
    let requesters = if staff {
        let mut wanted: Vec<String> = tickets.iter().map(|t| t.requester_id.clone()).collect();
        wanted.sort();
        wanted.dedup();
        state.db.users_by_ids(&wanted).await?
    } else {
        Default::default()
    };
    let ratings = state.db.ratings_of(&ids).await?;
    let complaints = state.db.latest_complaints_of(&ids).await?;
    Ok(tickets
        .iter()
        .map(|t| TicketView {
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
            merged_into: t.merged_into.clone(),
            next_due_at: (t.next_due_ms != store::tickets::NO_DUE_MS)
                .then(|| rfc3339(t.next_due_ms)),
            sla_breached: t.first_response_breached || t.resolution_breached,
            rating: ratings.get(&t.id).map(|r| RatingView {
                score: r.score,
                comment: r.comment.clone(),
                created_at: rfc3339(r.created_at_ms),
            }),
            complaint: complaints.get(&t.id).map(complaint_view),
            requester_id: staff.then(|| t.requester_id.clone()),
            requester: requesters
                .get(&t.requester_id)
                .map(|u| helpdesk::masking::email(u.email.as_str())),
            assignee_id: if staff { t.assignee_id.clone() } else { None },
            group_id: if staff { t.group_id.clone() } else { None },
            tags: staff.then(|| t.tag_list()),
            messages: None,
            attachments: None,
            sla: None,
            events: None,
            masked: Vec::new(),
        })
        .collect())
}

/// A ticket as `staff` or its requester may see it.
pub async fn view(
    state: &AppState,
    t: &Ticket,
    staff: bool,
    detail: Detail,
    lang: Lang,
) -> Result<TicketView, ApiError> {
    if detail == Detail::Line {
        return Ok(line_views(state, std::slice::from_ref(t), staff)
            .await?
            .remove(0));
    }
    let requester = if staff {
        state
            .db
            .user_by_id(&t.requester_id)
            .await?
            .map(|u| helpdesk::masking::email(u.email.as_str()))
    } else {
        None
    };
    let full = detail == Detail::Full;
    let (messages, attachments) = if full {
        let names = agent_names(state).await?;
        let rows = state.db.ticket_messages(&t.id, staff).await?;
        let messages = rows
            .into_iter()
            .map(|m| {
                let from = match m.author_id.as_deref() {
                    Some(a) if a == t.requester_id => "requester",
                    Some(_) => "agent",
                    None => "system",
                };
                let author_name = match (from, m.author_id.as_deref()) {
                    ("agent", Some(a)) => names
                        .get(a)
                        .cloned()
                        .unwrap_or_else(|| lang.pick("Support", "客服").to_owned()),
                    _ => String::new(),
                };
                MessageView {
                    from: from.to_owned(),
                    author_name,
                    id: m.id,
                    internal: m.internal,
                    body: m.body,
                    channel: m.channel,
                    created_at: rfc3339(m.created_at_ms),
                }
            })
            .collect();
        let attachments = state
            .db
            .attachments(&t.id)
            .await?
            .into_iter()
            .map(|a| AttachmentView {
                url: format!("/api/v1/tickets/{}/attachments/{}", t.id, a.id),
                id: a.id,
                filename: a.filename,
                content_type: a.content_type,
                size: a.size,
                sha256: a.sha256,
                created_at: rfc3339(a.created_at_ms),
            })
            .collect();
        (Some(messages), Some(attachments))
    } else {
        (None, None)
    };
    let (sla, events) = if full && staff {
        let rows = state.db.ticket_events(&t.id).await?;
        let mut scratch = t.clone();
        let clocks = desk::recompute_sla(state, &mut scratch, &rows, store::now_ms()).await?;
        let events = rows
            .into_iter()
            .map(|e| EventView {
                at: rfc3339(e.at_ms),
                kind: e.kind,
                actor_id: e.actor_id,
                detail: serde_json::from_str(&e.detail).unwrap_or_default(),
            })
            .collect();
        (
            Some(SlaView {
                first_response: clock_view(&clocks.first_response),
                resolution: clock_view(&clocks.resolution),
            }),
            Some(events),
        )
    } else {
        (None, None)
    };
    let rating = state.db.rating(&t.id).await?.map(|r| RatingView {
        score: r.score,
        comment: r.comment,
        created_at: rfc3339(r.created_at_ms),
    });
    let complaint = state
        .db
        .complaints_of(&t.id)
        .await?
        .last()
        .map(complaint_view);
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
        merged_into: t.merged_into.clone(),
        next_due_at: (t.next_due_ms != store::tickets::NO_DUE_MS).then(|| rfc3339(t.next_due_ms)),
        sla_breached: t.first_response_breached || t.resolution_breached,
        rating,
        complaint,
        requester_id: staff.then(|| t.requester_id.clone()),
        requester,
        assignee_id: if staff { t.assignee_id.clone() } else { None },
        group_id: if staff { t.group_id.clone() } else { None },
        tags: staff.then(|| t.tag_list()),
        messages,
        attachments,
        sla,
        events,
        masked: Vec::new(),
    })
}

/// A ticket the caller may see, and whether they see it as staff; 404 otherwise.
pub async fn visible(
    state: &AppState,
    current: &CurrentSession,
    id: &str,
) -> Result<(Ticket, bool), ApiError> {
    let t = state.db.ticket(id).await?.ok_or_else(ApiError::not_found)?;
    if t.requester_id == current.user.id {
        return Ok((t, false));
    }
    if acts_as_staff(state, current).await? {
        Ok((t, true))
    } else {
        Err(ApiError::not_found())
    }
}

// --- create ------------------------------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTicket {
    pub subject: String,
    pub body: String,
    /// login_failed, funds_delayed, cannot_trade, account_security, payment_failed, other.
    pub category: String,
    /// An entry of the requester's activity history the ticket is about.
    #[serde(default)]
    pub reference: Option<String>,
    /// Staff only: open the ticket for this customer (by email), e.g. during a phone call.
    #[serde(default)]
    pub requester_email: Option<String>,
    /// Staff only: low, normal (default), high, urgent.
    #[serde(default)]
    pub priority: Option<String>,
    /// Staff only: where the request came in (phone, email, chat, in_app_call, callback; web
    /// by default).
    #[serde(default)]
    pub channel: Option<String>,
}

const CHANNELS: [&str; 6] = ["web", "chat", "in_app_call", "callback", "phone", "email"];

/// Opens a ticket for the caller (or, for staff, for a customer), optionally about one of the
/// requester's activity entries. It goes to the group its category and language call for and
/// to the least-loaded agent there who is online and has the skill.
#[utoipa::path(post, path = "/api/v1/tickets", tag = "tickets", security(("bearer" = [])),
    request_body = CreateTicket,
    responses((status = 201, body = TicketView),
        (status = 403, description = "`forbidden`: staff fields from a customer", body = crate::error::Problem),
        (status = 422, description = "`invalid_field`: subject, body, category, reference, requester_email, priority or channel", body = crate::error::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    lang: Lang,
    current: CurrentSession,
    ApiJson(body): ApiJson<CreateTicket>,
) -> Result<(StatusCode, ApiJson<TicketView>), ApiError> {
    let opened = open(&state, &current, lang, body).await?;
    Ok((StatusCode::CREATED, ApiJson(view_of_opened(&opened))))
}

/// A ticket just opened as its requester sees it, from what was written (nothing to read
/// back: it has one message, no files, no rating and no complaint yet).
pub fn view_of_opened(o: &desk::Opened) -> TicketView {
    let t = &o.ticket;
    TicketView {
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
        merged_into: None,
        next_due_at: (t.next_due_ms != store::tickets::NO_DUE_MS).then(|| rfc3339(t.next_due_ms)),
        sla_breached: false,
        rating: None,
        complaint: None,
        requester_id: None,
        requester: None,
        assignee_id: None,
        group_id: None,
        tags: None,
        messages: Some(vec![MessageView {
            id: o.first.id.clone(),
            from: if o.first.author_id.as_deref() == Some(t.requester_id.as_str()) {
                "requester".into()
            } else {
                "agent".into()
            },
            author_name: String::new(),
            internal: false,
            body: o.first.body.clone(),
            channel: o.first.channel.clone(),
            created_at: rfc3339(o.first.created_at_ms),
        }]),
        attachments: Some(Vec::new()),
        sla: None,
        events: None,
        masked: masked_names(&o.masked),
    }
}

/// The kinds of secret hidden, by their API names.
pub fn masked_names(kinds: &[helpdesk::secrets::SecretKind]) -> Vec<String> {
    kinds
        .iter()
        .filter_map(|k| serde_json::to_value(k).ok())
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// Hides recovery phrases, private keys, one-time codes and card numbers from `text` before it
/// is stored (`helpdesk::secrets`), adding what was hidden to `kinds`.
pub fn scrub(text: String, kinds: &mut Vec<helpdesk::secrets::SecretKind>) -> String {
    let masked = helpdesk::secrets::mask(&text);
    if masked.kinds.is_empty() {
        return text;
    }
    kinds.extend(masked.kinds);
    kinds.sort();
    kinds.dedup();
    masked.text
}

/// Records on the customer's security log that a secret was typed into a ticket (by them or
/// by staff) and hidden: if it was real, it is worth changing.
pub async fn record_masked(
    state: &AppState,
    customer_id: &str,
    ticket_number: i64,
    by_staff: bool,
    kinds: &[helpdesk::secrets::SecretKind],
) -> Result<(), ApiError> {
    if kinds.is_empty() {
        return Ok(());
    }
    let detail = serde_json::json!({
        "kinds": masked_names(kinds),
        "ticket": ticket_number,
        "by": if by_staff { "staff" } else { "customer" },
    })
    .to_string();
    let origin = store::sessions::Origin {
        ip: String::new(),
        user_agent: "okwallet help desk".to_owned(),
    };
    state
        .db
        .record_security_event(customer_id, "secret_masked", &origin, &detail)
        .await?;
    Ok(())
}

/// [`create`] for the pages too.
pub async fn open(
    state: &AppState,
    current: &CurrentSession,
    lang: Lang,
    body: CreateTicket,
) -> Result<desk::Opened, ApiError> {
    let staff_fields =
        body.requester_email.is_some() || body.priority.is_some() || body.channel.is_some();
    let staff = staff_fields && acts_as_staff(state, current).await?;
    if staff_fields && !staff {
        return Err(ApiError::new(Reason::Forbidden));
    }
    let mut masked = Vec::new();
    let subject = scrub(
        desk::one_line(&check_text("subject", &body.subject, SUBJECT_CHARS_MAX)?),
        &mut masked,
    );
    if subject.is_empty() {
        return Err(missing("subject"));
    }
    let text = scrub(check_text("body", &body.body, BODY_CHARS_MAX)?, &mut masked);
    let category = parse_category(&body.category)?;
    let requester = match body.requester_email.as_deref() {
        None => current.user.clone(),
        Some(email) => {
            let email = identity::Email::parse(email)
                .map_err(|_| invalid("requester_email", "not an email address"))?;
            state
                .db
                .user_by_email(&email)
                .await?
                .ok_or_else(|| invalid("requester_email", "no customer with this email"))?
        }
    };
    let priority = match body.priority.as_deref() {
        None => Priority::Normal,
        Some(p) => parse_priority(p)?,
    };
    let channel = match body.channel.as_deref() {
        None => "web".to_owned(),
        Some(c) if CHANNELS.contains(&c) => c.to_owned(),
        Some(_) => {
            return Err(invalid(
                "channel",
                "use web, chat, in_app_call, callback, phone or email",
            ))
        }
    };
    let reference = match body.reference.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(r) => {
            // Only the requester's own entries: someone else's id is as unknown as a made-up
            // one.
            crate::api::activity::entry(state, &requester.id, r, lang)
                .await?
                .ok_or_else(|| invalid("reference", "not an entry of the requester's activity"))?;
            Some(r.to_owned())
        }
    };
    let language = if requester.id == current.user.id {
        lang.tag().to_owned()
    } else {
        crate::lang::Lang::from_tag(&requester.locale)
            .unwrap_or_default()
            .tag()
            .to_owned()
    };
    let mut opened = desk::open_ticket(
        state,
        desk::NewTicket {
            requester_id: requester.id.clone(),
            subject,
            body: text,
            category,
            priority,
            channel,
            language,
            reference,
            tags: BTreeSet::new(),
            opened_by: current.user.id.clone(),
        },
    )
    .await?;
    record_masked(state, &requester.id, opened.ticket.number, staff, &masked).await?;
    opened.masked = masked;
    if staff {
        audit_view(
            state,
            current,
            "ticket.opened_for_customer",
            &requester.id,
            serde_json::json!({"ticket": opened.ticket.number}),
        )
        .await?;
    }
    Ok(opened)
}

// --- list --------------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TicketQuery {
    /// Comma-separated statuses.
    pub status: Option<String>,
    /// Staff: `me`, `none` (unassigned) or an agent's user id.
    pub assignee: Option<String>,
    /// Staff: a support group's id.
    pub group: Option<String>,
    pub category: Option<String>,
    pub priority: Option<String>,
    pub channel: Option<String>,
    /// Staff: `breached` (a target missed) or `at_risk` (due within the hour).
    pub sla: Option<String>,
    /// `updated` (newest first, the default) or `due` (most urgent first).
    pub order: Option<String>,
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

/// The filter a query asks for; staff-only parts refused for customers.
pub fn filter_of(
    q: &TicketQuery,
    current: &CurrentSession,
    staff: bool,
) -> Result<TicketFilter, ApiError> {
    let mut filter = TicketFilter::default();
    if !staff {
        filter.requester_id = Some(current.user.id.clone());
        if q.assignee.is_some() || q.group.is_some() || q.sla.is_some() {
            return Err(ApiError::new(Reason::Forbidden));
        }
    }
    if let Some(statuses) = q.status.as_deref() {
        for s in statuses.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            filter
                .statuses
                .push(parse_status("status", s)?.as_str().into());
        }
    }
    match q.assignee.as_deref() {
        None | Some("") => {}
        Some("me") => filter.assignee_id = Some(current.user.id.clone()),
        Some("none") => filter.unassigned = true,
        Some(id) => filter.assignee_id = Some(id.to_owned()),
    }
    if let Some(g) = q.group.as_deref().filter(|g| !g.is_empty()) {
        filter.group_ids.push(g.to_owned());
    }
    if let Some(c) = q.category.as_deref().filter(|c| !c.is_empty()) {
        filter.category = Some(parse_category(c)?.as_str().into());
    }
    if let Some(p) = q.priority.as_deref().filter(|p| !p.is_empty()) {
        filter.priority = Some(parse_priority(p)?.as_str().into());
    }
    if let Some(c) = q.channel.as_deref().filter(|c| !c.is_empty()) {
        if !CHANNELS.contains(&c) {
            return Err(invalid(
                "channel",
                "use web, chat, in_app_call, callback, phone or email",
            ));
        }
        filter.channel = Some(c.to_owned());
    }
    match q.sla.as_deref() {
        None | Some("") => {}
        Some("breached") => filter.breached = true,
        Some("at_risk") => {
            filter.due_before_ms = Some(store::now_ms() + 3_600_000);
            if filter.statuses.is_empty() {
                filter.statuses = vec!["new".into(), "open".into(), "on_hold".into()];
            }
        }
        Some(_) => return Err(invalid("sla", "use breached or at_risk")),
    }
    filter.order = match q.order.as_deref() {
        None | Some("") | Some("updated") => TicketOrder::UpdatedDesc,
        Some("due") => TicketOrder::DueAsc,
        Some(_) => return Err(invalid("order", "use updated or due")),
    };
    filter.after = cursor_of(q.cursor.as_deref())?;
    Ok(filter)
}

/// A list's cursor, `<sort key>.<id>`, read back.
pub fn cursor_of(cursor: Option<&str>) -> Result<Option<(i64, String)>, ApiError> {
    cursor
        .map(|c| {
            c.split_once('.')
                .and_then(|(k, id)| Some((k.parse::<i64>().ok()?, id.to_owned())))
                .filter(|(_, id)| !id.is_empty())
                .ok_or_else(|| invalid("cursor", "not a cursor from this list"))
        })
        .transpose()
}

/// The list's page size from `limit` (1 to 100, 20 by default).
pub fn page_size(limit: Option<&str>) -> Result<i64, ApiError> {
    match limit {
        None => Ok(20),
        Some(t) => t
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| invalid("limit", "a number from 1 to 100")),
    }
}

/// A page of tickets and the cursor of the next.
pub async fn page(
    state: &AppState,
    filter: &TicketFilter,
    limit: i64,
) -> Result<(Vec<Ticket>, Option<String>), ApiError> {
    let mut rows = state.db.tickets(filter, limit + 1).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(20));
    let next = more.then(|| rows.last()).flatten().map(|t| {
        let key = match filter.order {
            TicketOrder::UpdatedDesc => t.updated_at_ms,
            TicketOrder::DueAsc => t.next_due_ms,
        };
        format!("{key}.{}", t.id)
    });
    Ok((rows, next))
}

/// The caller's tickets (customers), or the queue (staff; filters, `order=due` for most urgent
/// first).
#[utoipa::path(get, path = "/api/v1/tickets", tag = "tickets", security(("bearer" = [])),
    params(TicketQuery), responses((status = 200, body = TicketList),
        (status = 403, description = "`forbidden`: a staff filter from a customer; `second_factor_required`", body = crate::error::Problem),
        (status = 422, description = "`invalid_field`", body = crate::error::Problem)))]
pub async fn list(
    State(state): State<AppState>,
    current: CurrentSession,
    Query(q): Query<TicketQuery>,
) -> Result<ApiJson<TicketList>, ApiError> {
    let staff = acts_as_staff(&state, &current).await?;
    let filter = filter_of(&q, &current, staff)?;
    let limit = page_size(q.limit.as_deref())?;
    let (rows, next_cursor) = page(&state, &filter, limit).await?;
    let items = line_views(&state, &rows, staff).await?;
    if staff && !items.is_empty() {
        state
            .desk
            .audit(
                &state.db,
                format!("user:{}", current.user.id),
                "tickets.listed",
                "tickets".into(),
                serde_json::json!({"shown": items.len()}).to_string(),
            )
            .await?;
    }
    Ok(ApiJson(TicketList { items, next_cursor }))
}

/// One ticket with its conversation and files (staff: internal notes, clocks and history too;
/// every staff view is audited).
#[utoipa::path(get, path = "/api/v1/tickets/{id}", tag = "tickets", security(("bearer" = [])),
    responses((status = 200, body = TicketView),
        (status = 404, description = "`not_found`: no such ticket, or not yours", body = crate::error::Problem)))]
pub async fn one(
    State(state): State<AppState>,
    lang: Lang,
    current: CurrentSession,
    Path(id): Path<String>,
) -> Result<ApiJson<TicketView>, ApiError> {
    let (t, staff) = visible(&state, &current, &id).await?;
    if staff {
        audit_view(
            &state,
            &current,
            "ticket.viewed",
            &t.requester_id,
            serde_json::json!({"ticket": t.number}),
        )
        .await?;
    }
    Ok(ApiJson(view(&state, &t, staff, Detail::Full, lang).await?))
}

// --- messages and changes ----------------------------------------------------------------------

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMessage {
    /// The reply or note; may be left out when a macro gives it.
    #[serde(default)]
    pub body: Option<String>,
    /// Staff only: a note the requester never sees.
    #[serde(default)]
    pub internal: bool,
    /// Staff only: the status to leave the ticket in (open, pending, on_hold, solved).
    #[serde(default)]
    pub status: Option<String>,
    /// Staff only: a macro whose text (when `body` is left out) and actions come with it.
    #[serde(default)]
    pub macro_id: Option<String>,
    /// Staff only: the value of the macro's `{{reference}}`.
    #[serde(default)]
    pub macro_reference: Option<String>,
}

/// A macro rendered for a ticket: its text in the ticket's language and its actions.
pub struct RenderedMacro {
    pub body: String,
    pub actions: Vec<helpdesk::macros::Action>,
}

/// Renders macro `macro_id` for ticket `t` as `current` would send it.
pub async fn render_macro(
    state: &AppState,
    current: &CurrentSession,
    t: &Ticket,
    macro_id: &str,
    reference: Option<&str>,
) -> Result<RenderedMacro, ApiError> {
    let m = state
        .db
        .macro_by_id(macro_id)
        .await?
        .ok_or_else(|| invalid("macro_id", "no such macro"))?;
    let requester = state.db.user_by_id(&t.requester_id).await?;
    let masked = requester
        .as_ref()
        .map(|u| helpdesk::masking::email(u.email.as_str()))
        .unwrap_or_default();
    let agent_name = state
        .db
        .agent(&current.user.id)
        .await?
        .map(|a| a.display_name)
        .unwrap_or_default();
    let values = helpdesk::macros::Values {
        // Customers have no stored name; the greeting uses the masked address's first part.
        requester_name: masked.split('@').next().unwrap_or("").to_owned(),
        requester_email_masked: masked,
        ticket_number: t.number.to_string(),
        ticket_subject: t.subject.clone(),
        agent_name,
        reference: reference.map(str::to_owned).or_else(|| t.reference.clone()),
    };
    let template = if t.language.starts_with("zh") {
        &m.body_zh
    } else {
        &m.body_en
    };
    let body = helpdesk::macros::render(template, &values)
        .map_err(|e| invalid("macro_id", e.to_string()))?;
    let actions = helpdesk::macros::parse_actions(&m.actions)
        .map_err(|e| invalid("macro_id", e.to_string()))?;
    Ok(RenderedMacro { body, actions })
}

/// Adds a macro's actions to a request (what the agent asked for explicitly wins).
pub fn apply_actions(request: &mut Request, actions: &[helpdesk::macros::Action], agent_id: &str) {
    use helpdesk::macros::{Action, Assignee};
    for a in actions {
        match a {
            Action::SetStatus(s) => {
                request.status.get_or_insert(*s);
            }
            Action::SetPriority(p) => {
                request.priority.get_or_insert(*p);
            }
            Action::AddTag(t) => request.add_tags.push(t.clone()),
            Action::RemoveTag(t) => request.remove_tags.push(t.clone()),
            Action::Assign(Assignee::Me) => {
                request
                    .assignee
                    .get_or_insert_with(|| Some(agent_id.to_owned()));
            }
            Action::Assign(Assignee::Nobody) => {
                request.assignee.get_or_insert(None);
            }
        }
    }
}

/// [`add_message`] for the pages too: answers the changed ticket and the message written.
pub async fn post_message(
    state: &AppState,
    current: &CurrentSession,
    id: &str,
    body: NewMessage,
) -> Result<desk::Changed, ApiError> {
    let (t, staff) = visible(state, current, id).await?;
    if !staff
        && (body.internal
            || body.status.is_some()
            || body.macro_id.is_some()
            || body.macro_reference.is_some())
    {
        return Err(ApiError::new(Reason::Forbidden));
    }
    let mut request = Request {
        message: Some(if staff && body.internal {
            Message::Internal
        } else {
            Message::Public
        }),
        ..Default::default()
    };
    if let Some(s) = body.status.as_deref() {
        request.status = Some(parse_status("status", s)?);
    }
    let mut extra_events = Vec::new();
    let mut text = body.body.clone().filter(|b| !b.trim().is_empty());
    if let Some(macro_id) = body.macro_id.as_deref() {
        let rendered = render_macro(
            state,
            current,
            &t,
            macro_id,
            body.macro_reference.as_deref(),
        )
        .await?;
        apply_actions(&mut request, &rendered.actions, &current.user.id);
        if text.is_none() {
            text = Some(rendered.body);
        }
        extra_events.push((
            "macro_used".to_owned(),
            serde_json::json!({"macro": macro_id}),
        ));
    }
    let mut masked = Vec::new();
    let text = scrub(
        check_text("body", text.as_deref().unwrap_or(""), BODY_CHARS_MAX)?,
        &mut masked,
    );
    if let Some(Some(assignee)) = &request.assignee {
        check_assignee(state, assignee).await?;
    }
    let actor = if staff {
        Actor::Agent(current.user.id.clone())
    } else {
        Actor::Requester
    };
    let mut changed = desk::change_ticket(
        state,
        id,
        &actor,
        Some(&current.user.id),
        &Asked {
            request,
            body: Some(text),
            channel: "web".into(),
            extra_events,
            ..Default::default()
        },
    )
    .await?;
    record_masked(state, &t.requester_id, t.number, staff, &masked).await?;
    changed.masked = masked;
    if staff {
        audit_view(
            state,
            current,
            if body.internal {
                "ticket.noted"
            } else {
                "ticket.replied"
            },
            &t.requester_id,
            serde_json::json!({"ticket": t.number}),
        )
        .await?;
    }
    Ok(changed)
}

/// Adds a public reply (requester or staff) or an internal note (staff), optionally with a
/// status and a macro's text and actions.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/messages", tag = "tickets",
    security(("bearer" = [])), request_body = NewMessage,
    responses((status = 201, body = TicketView),
        (status = 403, description = "`forbidden`: a customer's internal note, status or macro", body = crate::error::Problem),
        (status = 404, description = "`not_found`", body = crate::error::Problem),
        (status = 409, description = "`ticket_closed`", body = crate::error::Problem),
        (status = 422, description = "`invalid_field`: an empty body, an unknown status or macro; `status_not_settable`", body = crate::error::Problem)))]
pub async fn add_message(
    State(state): State<AppState>,
    lang: Lang,
    current: CurrentSession,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NewMessage>,
) -> Result<(StatusCode, ApiJson<TicketView>), ApiError> {
    let changed = post_message(&state, &current, &id, body).await?;
    let staff = changed.ticket.requester_id != current.user.id;
    let mut answer = view(&state, &changed.ticket, staff, Detail::Full, lang).await?;
    answer.masked = masked_names(&changed.masked);
    Ok((StatusCode::CREATED, ApiJson(answer)))
}

/// A staff member's edit of a ticket's fields.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketUpdate {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub priority: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
    /// An agent's user id; `null` gives the ticket back to its group's queue.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub assignee_id: Option<Option<String>>,
    #[serde(default)]
    pub group_id: Option<String>,
    #[serde(default)]
    pub add_tags: Vec<String>,
    #[serde(default)]
    pub remove_tags: Vec<String>,
}

/// Refuses an assignee who is not an agent, or who is offline.
pub async fn check_assignee(state: &AppState, user_id: &str) -> Result<(), ApiError> {
    let agents: Vec<helpdesk::routing::Agent> = state
        .db
        .agents()
        .await?
        .iter()
        .map(|a| desk::routing_agent(a, 0))
        .collect();
    match helpdesk::routing::check_reassign(&agents, &helpdesk::routing::AgentId(user_id.into())) {
        Ok(()) => Ok(()),
        Err(helpdesk::routing::ReassignRefusal::UnknownAgent) => Err(ApiError::new(
            Reason::TicketRefused(TicketRefusal::AssigneeNotAgent),
        )),
        Err(helpdesk::routing::ReassignRefusal::Offline) => Err(ApiError::new(
            Reason::TicketRefused(TicketRefusal::AssigneeOffline),
        )),
    }
}

/// The request an update asks for, checked.
pub async fn request_of(state: &AppState, u: &TicketUpdate) -> Result<Request, ApiError> {
    let mut request = Request::default();
    if let Some(s) = u.status.as_deref() {
        request.status = Some(parse_status("status", s)?);
    }
    if let Some(p) = u.priority.as_deref() {
        request.priority = Some(parse_priority(p)?);
    }
    if let Some(c) = u.category.as_deref() {
        request.category = Some(parse_category(c)?);
    }
    if let Some(a) = &u.assignee_id {
        if let Some(id) = a {
            check_assignee(state, id).await?;
        }
        request.assignee = Some(a.clone());
    }
    if let Some(g) = &u.group_id {
        if state.db.support_group(g).await?.is_none() {
            return Err(invalid("group_id", "no such support group"));
        }
        request.group = Some(g.clone());
    }
    request.add_tags = u.add_tags.clone();
    request.remove_tags = u.remove_tags.clone();
    Ok(request)
}

/// Staff: changes a ticket's status, priority, category, assignee, group or tags.
#[utoipa::path(patch, path = "/api/v1/tickets/{id}", tag = "tickets", security(("bearer" = [])),
    request_body = TicketUpdate,
    responses((status = 200, body = TicketView),
        (status = 403, description = "`forbidden`: not staff", body = crate::error::Problem),
        (status = 404, description = "`not_found`", body = crate::error::Problem),
        (status = 409, description = "`ticket_closed`, `assignee_offline`", body = crate::error::Problem),
        (status = 422, description = "`invalid_field`, `status_not_settable`, `invalid_tag`, `nothing_to_change`, `assignee_not_agent`", body = crate::error::Problem)))]
pub async fn update(
    State(state): State<AppState>,
    lang: Lang,
    current: CurrentSession,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<TicketUpdate>,
) -> Result<ApiJson<TicketView>, ApiError> {
    let changed = change_fields(&state, &current, &id, &body).await?;
    Ok(ApiJson(
        view(&state, &changed.ticket, true, Detail::Full, lang).await?,
    ))
}

/// [`update`] for the pages and bulk actions too.
pub async fn change_fields(
    state: &AppState,
    current: &CurrentSession,
    id: &str,
    body: &TicketUpdate,
) -> Result<desk::Changed, ApiError> {
    let (t, staff) = visible(state, current, id).await?;
    if !staff {
        return Err(ApiError::new(Reason::Forbidden));
    }
    let request = request_of(state, body).await?;
    let changed = desk::change_ticket(
        state,
        id,
        &Actor::Agent(current.user.id.clone()),
        Some(&current.user.id),
        &Asked {
            request,
            ..Default::default()
        },
    )
    .await?;
    audit_view(
        state,
        current,
        "ticket.changed",
        &t.requester_id,
        serde_json::json!({"ticket": t.number}),
    )
    .await?;
    Ok(changed)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkUpdate {
    /// Up to 100 ticket ids.
    pub ids: Vec<String>,
    #[serde(flatten)]
    pub update: TicketUpdate,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BulkResult {
    pub id: String,
    /// ok, or the refusal's code.
    pub result: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BulkResults {
    pub items: Vec<BulkResult>,
}

/// Staff: applies one change to many tickets; each ticket answers for itself (a closed one
/// is refused without stopping the others).
#[utoipa::path(post, path = "/api/v1/tickets/bulk", tag = "tickets", security(("bearer" = [])),
    request_body = BulkUpdate, responses((status = 200, body = BulkResults),
        (status = 403, description = "`forbidden`: not staff", body = crate::error::Problem),
        (status = 422, description = "`invalid_field`: no ids, more than 100, or an invalid change", body = crate::error::Problem)))]
pub async fn bulk(
    State(state): State<AppState>,
    lang: Lang,
    current: CurrentSession,
    ApiJson(body): ApiJson<BulkUpdate>,
) -> Result<ApiJson<BulkResults>, ApiError> {
    Ok(ApiJson(bulk_change(&state, &current, lang, &body).await?))
}

/// [`bulk`] for the pages too.
pub async fn bulk_change(
    state: &AppState,
    current: &CurrentSession,
    lang: Lang,
    body: &BulkUpdate,
) -> Result<BulkResults, ApiError> {
    require_staff(state, current).await?;
    if body.ids.is_empty() {
        return Err(missing("ids"));
    }
    if body.ids.len() > 100 {
        return Err(invalid("ids", "at most 100 tickets at once"));
    }
    // Checked once up front, so an invalid change fails as a whole.
    request_of(state, &body.update).await?;
    let mut items = Vec::with_capacity(body.ids.len());
    let ids: BTreeSet<&String> = body.ids.iter().collect();
    for id in ids {
        let result = match change_fields(state, current, id, &body.update).await {
            Ok(_) => "ok".to_owned(),
            Err(e) if e.status().is_client_error() => e.problem(lang, None).code,
            Err(e) => return Err(e),
        };
        items.push(BulkResult {
            id: id.clone(),
            result,
        });
    }
    Ok(BulkResults { items })
}

// --- complaints --------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Escalation {
    /// What went wrong, in the customer's (or agent's) words; optional (`{}` is a complaint
    /// too: the supervisor reads the ticket), but it helps.
    #[serde(default)]
    pub reason: Option<String>,
}

/// A complaint (投诉) to a supervisor: the requester's about how their ticket is handled, or
/// an agent's escalation. It enters the supervisors' queue with its own deadline in business
/// hours; the customer is told by mail when it arrives and when a supervisor decides. One
/// open complaint per ticket (`complaint_open`).
#[utoipa::path(post, path = "/api/v1/tickets/{id}/escalations", tag = "tickets",
    security(("bearer" = [])), request_body = Escalation,
    responses((status = 201, body = TicketView),
        (status = 404, description = "`not_found`", body = crate::error::Problem),
        (status = 409, description = "`complaint_open`", body = crate::error::Problem),
        (status = 422, description = "`invalid_field`: reason", body = crate::error::Problem)))]
pub async fn escalate(
    State(state): State<AppState>,
    lang: Lang,
    current: CurrentSession,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Escalation>,
) -> Result<(StatusCode, ApiJson<TicketView>), ApiError> {
    let (t, staff) = raise_complaint(&state, &current, &id, body.reason.as_deref()).await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(view(&state, &t, staff, Detail::Full, lang).await?),
    ))
}

/// [`escalate`] for the pages too.
pub async fn raise_complaint(
    state: &AppState,
    current: &CurrentSession,
    id: &str,
    reason: Option<&str>,
) -> Result<(Ticket, bool), ApiError> {
    let (t, staff) = visible(state, current, id).await?;
    let reason = match reason.map(str::trim).filter(|r| !r.is_empty()) {
        None => String::new(),
        Some(r) => check_text("reason", r, REASON_CHARS_MAX)?,
    };
    if state
        .db
        .complaints_of(&t.id)
        .await?
        .iter()
        .any(|c| c.status == "open")
    {
        return Err(ApiError::new(Reason::TicketRefused(
            TicketRefusal::ComplaintOpen,
        )));
    }
    let now = store::now_ms();
    let due_at_ms = complaint_due(state, now).await?;
    let complaint = store::helpdesk::Complaint {
        id: store::new_id(),
        ticket_id: t.id.clone(),
        raised_by: current.user.id.clone(),
        by_agent: staff,
        reason: reason.clone(),
        status: "open".into(),
        supervisor_id: None,
        outcome: None,
        due_at_ms,
        created_at_ms: now,
        resolved_at_ms: None,
    };
    let mut mails = Vec::new();
    if let Some(requester) = state.db.user_by_id(&t.requester_id).await? {
        mails.push(crate::mail::for_user(
            &requester,
            &identity::notice::Notice::ComplaintReceived {
                number: t.number,
                due_at_ms,
                link: &desk::ticket_page(&state.settings, &t.id),
            },
        ));
    }
    let event = desk::new_event(
        &t.id,
        now.max(t.updated_at_ms + 1),
        Some(&current.user.id),
        "escalated",
        serde_json::json!({"complaint": complaint.id, "by_agent": staff, "reason": reason}),
    );
    // A complaint changes no clock and no status: it is appended, whatever the ticket's state.
    let written = state
        .desk
        .append(
            &state.db,
            Vec::new(),
            vec![event],
            Some(store::helpdesk::Also::InsertComplaint(complaint)),
            mails,
        )
        .await?;
    if !written {
        return Err(ApiError::service_unavailable(1));
    }
    if staff {
        audit_view(
            state,
            current,
            "ticket.escalated",
            &t.requester_id,
            serde_json::json!({"ticket": t.number}),
        )
        .await?;
    }
    Ok((t, staff))
}

/// When a complaint raised at `now_ms` is due: the configured business time in the first
/// support group's hours (the supervisors'), around the clock without groups.
pub async fn complaint_due(state: &AppState, now_ms: i64) -> Result<i64, ApiError> {
    let groups = state.db.support_groups().await?;
    let schedule = desk::schedule_of(groups.first(), &state.settings.desk.time_zone);
    let now = jiff::Timestamp::from_millisecond(now_ms).map_err(ApiError::internal)?;
    let due = helpdesk::business::add(
        &schedule,
        now,
        jiff::SignedDuration::from_secs(state.settings.desk.complaint_due_business_s),
    )
    .unwrap_or(now);
    Ok(due.as_millisecond())
}

// --- ratings -----------------------------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRating {
    /// 1 (worst) to 5 (best).
    pub score: i64,
    #[serde(default)]
    pub comment: Option<String>,
}

/// Rates a solved or closed ticket (the latest rating counts); the requester only.
pub async fn record_rating(
    state: &AppState,
    t: &Ticket,
    rater_id: &str,
    score: i64,
    comment: Option<&str>,
) -> Result<(), ApiError> {
    if !(1..=5).contains(&score) {
        return Err(invalid("score", "a whole number from 1 to 5"));
    }
    let comment = comment.map(str::trim).unwrap_or("");
    if comment.chars().count() > REASON_CHARS_MAX {
        return Err(invalid(
            "comment",
            format!("longer than {REASON_CHARS_MAX} characters"),
        ));
    }
    if !matches!(t.status.as_str(), "solved" | "closed") {
        return Err(ApiError::new(Reason::TicketRefused(
            TicketRefusal::NotSolved,
        )));
    }
    let now = store::now_ms();
    let event = desk::new_event(
        &t.id,
        now.max(t.updated_at_ms + 1),
        Some(rater_id),
        "rated",
        serde_json::json!({"score": score}),
    );
    let rating = store::helpdesk::Rating {
        ticket_id: t.id.clone(),
        score,
        comment: comment.to_owned(),
        rated_by: rater_id.to_owned(),
        created_at_ms: now,
    };
    state
        .desk
        .append(
            &state.db,
            Vec::new(),
            vec![event],
            Some(store::helpdesk::Also::UpsertRating(rating)),
            Vec::new(),
        )
        .await?;
    Ok(())
}

/// Rates the caller's solved ticket from 1 to 5 with an optional comment; rating again
/// replaces the rating.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/rating", tag = "tickets",
    security(("bearer" = [])), request_body = NewRating,
    responses((status = 201, body = TicketView),
        (status = 404, description = "`not_found`: no such ticket, or not yours", body = crate::error::Problem),
        (status = 409, description = "`ticket_not_solved`", body = crate::error::Problem),
        (status = 422, description = "`invalid_field`: score or comment", body = crate::error::Problem)))]
pub async fn rate(
    State(state): State<AppState>,
    lang: Lang,
    current: CurrentSession,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NewRating>,
) -> Result<(StatusCode, ApiJson<TicketView>), ApiError> {
    let t = state
        .db
        .ticket(&id)
        .await?
        .filter(|t| t.requester_id == current.user.id)
        .ok_or_else(ApiError::not_found)?;
    record_rating(
        &state,
        &t,
        &current.user.id,
        body.score,
        body.comment.as_deref(),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(view(&state, &t, false, Detail::Full, lang).await?),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkRating {
    pub ticket_id: String,
    /// The `sig` of the rating link in the solve mail.
    pub sig: String,
    pub score: i64,
    #[serde(default)]
    pub comment: Option<String>,
}

/// A ticket a rating link names, if its signature is right (404 otherwise, like a ticket that
/// does not exist).
pub async fn ticket_by_rating_link(
    state: &AppState,
    ticket_id: &str,
    sig: &str,
) -> Result<Ticket, ApiError> {
    if !state
        .settings
        .secret_key
        .verify_signature("ticket-rating", ticket_id, sig)
    {
        return Err(ApiError::not_found());
    }
    state
        .db
        .ticket(ticket_id)
        .await?
        .ok_or_else(ApiError::not_found)
}

/// Rates a ticket from the one-click link in its solve mail, without signing in: the link's
/// signature names exactly one ticket.
#[utoipa::path(post, path = "/api/v1/ticket-ratings", tag = "tickets", request_body = LinkRating,
    responses((status = 204, description = "Rated."),
        (status = 404, description = "`not_found`: a link that is not ours", body = crate::error::Problem),
        (status = 409, description = "`ticket_not_solved`", body = crate::error::Problem),
        (status = 422, description = "`invalid_field`: score or comment", body = crate::error::Problem)))]
pub async fn rate_by_link(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<LinkRating>,
) -> Result<StatusCode, ApiError> {
    let t = ticket_by_rating_link(&state, &body.ticket_id, &body.sig).await?;
    let requester = t.requester_id.clone();
    record_rating(&state, &t, &requester, body.score, body.comment.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

// --- attachments -------------------------------------------------------------------------------

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// The file's name as the person has it.
    pub filename: String,
}

/// Stores a file on a ticket the caller may see, after `helpdesk::attachments` accepted it.
pub async fn store_attachment(
    state: &AppState,
    current: &CurrentSession,
    id: &str,
    filename: &str,
    declared: &str,
    data: &[u8],
) -> Result<AttachmentView, ApiError> {
    let (t, staff) = visible(state, current, id).await?;
    if t.status == "closed" {
        return Err(ApiError::new(Reason::TicketRefused(TicketRefusal::Closed)));
    }
    let prefix = &data[..data.len().min(helpdesk::attachments::SNIFF_BYTES)];
    let accepted = helpdesk::attachments::check(filename, declared, prefix, data.len() as u64)
        .map_err(|e| invalid("file", format!("{} ({})", e, e.code())))?;
    let now = store::now_ms();
    let a = store::tickets::Attachment {
        id: store::new_id(),
        ticket_id: t.id.clone(),
        message_id: None,
        filename: accepted.safe_filename,
        content_type: accepted.content_type.to_owned(),
        size: data.len() as i64,
        sha256: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(data)),
        uploaded_by: Some(current.user.id.clone()),
        created_at_ms: now,
    };
    state.db.insert_attachment(&a, data).await?;
    if staff {
        audit_view(
            state,
            current,
            "ticket.attachment_added",
            &t.requester_id,
            serde_json::json!({"ticket": t.number}),
        )
        .await?;
    }
    Ok(AttachmentView {
        url: format!("/api/v1/tickets/{}/attachments/{}", t.id, a.id),
        id: a.id,
        filename: a.filename,
        content_type: a.content_type,
        size: a.size,
        sha256: a.sha256,
        created_at: rfc3339(a.created_at_ms),
    })
}

/// Adds a file (the request body, up to 10 MiB): images (PNG, JPEG, GIF, WebP), PDF and plain
/// text or CSV, recognised by their bytes; HTML, SVG, scripts, executables and archives are
/// refused whatever they are called.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/attachments", tag = "tickets",
    security(("bearer" = [])), params(UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = AttachmentView),
        (status = 404, description = "`not_found`", body = crate::error::Problem),
        (status = 409, description = "`ticket_closed`", body = crate::error::Problem),
        (status = 413, description = "`body_too_large`", body = crate::error::Problem),
        (status = 422, description = "`invalid_field` (file): empty, not_allowed, extension_mismatch, …", body = crate::error::Problem)))]
pub async fn upload(
    State(state): State<AppState>,
    current: CurrentSession,
    Path(id): Path<String>,
    Query(q): Query<UploadQuery>,
    headers: HeaderMap,
    LimitedBody(body): LimitedBody<ATTACHMENT_BODY_BYTES_MAX>,
) -> Result<(StatusCode, ApiJson<AttachmentView>), ApiError> {
    let declared = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let view = store_attachment(&state, &current, &id, &q.filename, declared, &body).await?;
    Ok((StatusCode::CREATED, ApiJson(view)))
}

/// The response that hands a stored file out: always a download, never a page.
pub fn attachment_response(a: &store::tickets::Attachment, data: Vec<u8>) -> Response {
    let kind = helpdesk::attachments::Kind::parse(match a.content_type.as_str() {
        "image/png" => "png",
        "image/jpeg" => "jpeg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "application/pdf" => "pdf",
        "text/csv; charset=utf-8" => "csv",
        _ => "text",
    })
    .unwrap_or(helpdesk::attachments::Kind::Text);
    let mut response = data.into_response();
    for (name, value) in helpdesk::attachments::response_headers(kind, &a.filename) {
        if let Ok(v) = axum::http::HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, v);
        }
    }
    response
}

/// Downloads a file of a ticket the caller may see.
#[utoipa::path(get, path = "/api/v1/tickets/{id}/attachments/{file}", tag = "tickets",
    security(("bearer" = [])),
    responses((status = 200, description = "The file, as a download.", content_type = "application/octet-stream"),
        (status = 404, description = "`not_found`", body = crate::error::Problem)))]
pub async fn download(
    State(state): State<AppState>,
    current: CurrentSession,
    Path((id, file)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (t, staff) = visible(&state, &current, &id).await?;
    let (a, data) = state
        .db
        .attachment(&t.id, &file)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if staff {
        audit_view(
            &state,
            &current,
            "ticket.attachment_viewed",
            &t.requester_id,
            serde_json::json!({"ticket": t.number, "file": a.id}),
        )
        .await?;
    }
    Ok(attachment_response(&a, data))
}

// --- merge -------------------------------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// The ticket that remains (its id, or its number as text).
    pub into: String,
}

/// Staff: merges this ticket into another of the same customer. The conversation (notes
/// included) and files move over, the merged ticket closes pointing at the other, and both
/// histories say so.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/merge", tag = "tickets",
    security(("bearer" = [])), request_body = MergeRequest,
    responses((status = 200, body = TicketView),
        (status = 403, description = "`forbidden`: not staff", body = crate::error::Problem),
        (status = 404, description = "`not_found`", body = crate::error::Problem),
        (status = 409, description = "`merge_closed`", body = crate::error::Problem),
        (status = 422, description = "`merge_into_itself`, `merge_different_requesters`, `invalid_field`", body = crate::error::Problem)))]
pub async fn merge(
    State(state): State<AppState>,
    lang: Lang,
    current: CurrentSession,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<MergeRequest>,
) -> Result<ApiJson<TicketView>, ApiError> {
    let target = merge_tickets(&state, &current, &id, &body.into).await?;
    Ok(ApiJson(
        view(&state, &target, true, Detail::Full, lang).await?,
    ))
}

/// [`merge`] for the pages too: answers the ticket that remains.
pub async fn merge_tickets(
    state: &AppState,
    current: &CurrentSession,
    id: &str,
    into: &str,
) -> Result<Ticket, ApiError> {
    require_staff(state, current).await?;
    for _ in 0..8 {
        let source = state.db.ticket(id).await?.ok_or_else(ApiError::not_found)?;
        let target = match into.trim().parse::<i64>() {
            Ok(number) => state.db.ticket_by_number(number).await?,
            Err(_) => state.db.ticket(into.trim()).await?,
        }
        .ok_or_else(|| invalid("into", "no such ticket"))?;
        if source.id == target.id {
            return Err(ApiError::new(Reason::TicketRefused(
                TicketRefusal::MergeIntoItself,
            )));
        }
        if source.requester_id != target.requester_id {
            return Err(ApiError::new(Reason::TicketRefused(
                TicketRefusal::MergeDifferentRequesters,
            )));
        }
        if source.status == "closed" || target.status == "closed" {
            return Err(ApiError::new(Reason::TicketRefused(
                TicketRefusal::MergeClosed,
            )));
        }
        let now = store::now_ms()
            .max(source.updated_at_ms + 1)
            .max(target.updated_at_ms + 1);
        let actor = Some(current.user.id.as_str());
        // The source closes, its clocks cancelled (the target carries the obligation).
        let mut src = source.clone();
        src.status = "closed".into();
        src.merged_into = Some(target.id.clone());
        src.solved_at_ms = src.solved_at_ms.or(Some(now));
        src.updated_at_ms = now;
        let src_events = vec![
            desk::new_event(
                &src.id,
                now,
                actor,
                "merged_into",
                serde_json::json!({"into": target.id, "number": target.number}),
            ),
            desk::new_event(
                &src.id,
                now,
                actor,
                "status_changed",
                serde_json::json!({"from": source.status, "to": "closed"}),
            ),
        ];
        let mut history = state.db.ticket_events(&src.id).await?;
        history.extend(src_events.iter().cloned());
        desk::recompute_sla(state, &mut src, &history, now).await?;
        // The target gets the conversation, in its original order.
        let mut tgt = target.clone();
        tgt.updated_at_ms = now;
        let copied: Vec<store::tickets::TicketMessage> = state
            .db
            .ticket_messages(&source.id, true)
            .await?
            .into_iter()
            .map(|m| store::tickets::TicketMessage {
                id: store::new_id(),
                ticket_id: target.id.clone(),
                channel: format!("merged:{}", source.number),
                ..m
            })
            .collect();
        let tgt_events = vec![desk::new_event(
            &tgt.id,
            now,
            actor,
            "merged_from",
            serde_json::json!({"from": source.id, "number": source.number, "messages": copied.len()}),
        )];
        let writes = [
            store::tickets::TicketWrite {
                ticket: src,
                expected_updated_at_ms: source.updated_at_ms,
                messages: Vec::new(),
                events: src_events,
                mails: Vec::new(),
            },
            store::tickets::TicketWrite {
                ticket: tgt,
                expected_updated_at_ms: target.updated_at_ms,
                messages: copied,
                events: tgt_events,
                mails: Vec::new(),
            },
        ];
        if state
            .desk
            .change(
                &state.db,
                Vec::from(writes),
                None,
                Some((source.id.clone(), target.id.clone())),
            )
            .await?
        {
            audit_view(
                state,
                current,
                "ticket.merged",
                &source.requester_id,
                serde_json::json!({"from": source.number, "into": target.number}),
            )
            .await?;
            if let Some(g) = source.group_id.as_deref() {
                desk::route(state, g).await?;
            }
            return Ok(state.db.ticket(&target.id).await?.unwrap_or(target));
        }
    }
    Err(ApiError::service_unavailable(1))
}

// --- collisions --------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Viewing {
    /// Whether the caller is writing a reply right now.
    #[serde(default)]
    pub composing: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Viewer {
    pub agent_id: String,
    pub name: String,
    pub composing: bool,
    pub seen_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Viewers {
    /// Other staff with this ticket open in the last 45 seconds.
    pub others: Vec<Viewer>,
    /// The ticket's last change: a page older than this should reload before sending.
    pub updated_at: String,
}

/// The other staff looking at a ticket, after noting the caller as one.
pub async fn note_viewer(
    state: &AppState,
    current: &CurrentSession,
    t: &Ticket,
    composing: bool,
) -> Result<Viewers, ApiError> {
    let now = store::now_ms();
    state
        .desk
        .submit(
            &state.db,
            store::desk::DeskWrite::Viewer {
                ticket_id: t.id.clone(),
                agent_id: current.user.id.clone(),
                composing,
            },
        )
        .await?;
    let names = agent_names(state).await?;
    let others = state
        .db
        .ticket_viewers(&t.id, now - VIEWER_FRESH_MS)
        .await?
        .into_iter()
        .filter(|(id, _, _)| *id != current.user.id)
        .map(|(id, composing, seen)| Viewer {
            name: names.get(&id).cloned().unwrap_or_else(|| id.clone()),
            agent_id: id,
            composing,
            seen_at: rfc3339(seen),
        })
        .collect();
    Ok(Viewers {
        others,
        updated_at: rfc3339(t.updated_at_ms),
    })
}

/// Staff: "I have this ticket open (and am writing)": answers who else has, so two agents do
/// not answer the same customer at once. Consoles call it every few seconds.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/viewers", tag = "tickets",
    security(("bearer" = [])), request_body = Viewing,
    responses((status = 200, body = Viewers),
        (status = 403, description = "`forbidden`: not staff", body = crate::error::Problem),
        (status = 404, description = "`not_found`", body = crate::error::Problem)))]
pub async fn viewing(
    State(state): State<AppState>,
    current: CurrentSession,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Viewing>,
) -> Result<ApiJson<Viewers>, ApiError> {
    let (t, staff) = visible(&state, &current, &id).await?;
    if !staff {
        return Err(ApiError::new(Reason::Forbidden));
    }
    Ok(ApiJson(
        note_viewer(&state, &current, &t, body.composing).await?,
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MacroPreview {
    pub body: String,
    /// The actions, one `name: value` per line as written.
    pub actions: Vec<String>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PreviewQuery {
    /// The value of `{{reference}}`.
    pub reference: Option<String>,
}

/// Staff: a macro's text as it would be sent on this ticket, and its actions.
#[utoipa::path(get, path = "/api/v1/tickets/{id}/macros/{macro_id}", tag = "tickets",
    security(("bearer" = [])), params(PreviewQuery),
    responses((status = 200, body = MacroPreview),
        (status = 403, description = "`forbidden`: not staff", body = crate::error::Problem),
        (status = 404, description = "`not_found`", body = crate::error::Problem),
        (status = 422, description = "`invalid_field`: macro_id", body = crate::error::Problem)))]
pub async fn macro_preview(
    State(state): State<AppState>,
    current: CurrentSession,
    Path((id, macro_id)): Path<(String, String)>,
    Query(q): Query<PreviewQuery>,
) -> Result<ApiJson<MacroPreview>, ApiError> {
    let (t, staff) = visible(&state, &current, &id).await?;
    if !staff {
        return Err(ApiError::new(Reason::Forbidden));
    }
    let m = render_macro(&state, &current, &t, &macro_id, q.reference.as_deref()).await?;
    Ok(ApiJson(MacroPreview {
        body: m.body,
        actions: m.actions.iter().map(|a| a.line()).collect(),
    }))
}
