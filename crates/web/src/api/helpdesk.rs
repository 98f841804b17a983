//! The help desk around tickets: agents' presence and queues, the customer context an agent
//! sees beside a ticket, macros, complaints for supervisors, the supervisors' figures (JSON
//! and CSV), the audit trail, recent SLA alerts, the suggestions box, and the administrators'
//! support groups, agents and SLA targets.
//!
//! Deny by default: every route takes a session; staff routes need a staff role with a
//! confirmed second factor; supervisors' routes a supervisor or administrator; the setup
//! routes an administrator. Every view of a customer's data is audited.

use axum::extract::{Path, Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use helpdesk::ticket::{Category, Priority};
use serde::{Deserialize, Serialize};
use store::tickets::TicketFilter;
use utoipa::{IntoParams, ToSchema};

use crate::api::activity::ActivityItem;
use crate::api::help::{invalid, missing};
use crate::api::help_admin::{check_slug, require_admin};
use crate::api::sessions::rfc3339;
use crate::api::tickets::{audit_view, check_text, require_staff, view, Detail, TicketView};
use crate::auth::CurrentSession;
use crate::desk;
use crate::error::{ApiError, Reason, TicketRefusal};
use crate::json::ApiJson;
use crate::lang::Lang;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/agent", get(agent_me))
        .route("/api/v1/agent/presence", put(put_presence))
        .route("/api/v1/customers/{id}", get(customer))
        .route("/api/v1/macros", get(list_macros))
        .route("/api/v1/macros/{id}", put(put_macro).delete(delete_macro))
        .route("/api/v1/complaints", get(list_complaints))
        .route(
            "/api/v1/complaints/{id}/resolution",
            post(resolve_complaint),
        )
        .route("/api/v1/supervisor/stats", get(stats))
        .route("/api/v1/supervisor/stats.csv", get(stats_csv))
        .route("/api/v1/audit-events", get(audit_events))
        .route("/api/v1/sla-alerts", get(sla_alerts))
        .route("/api/v1/suggestions", post(suggest).get(list_suggestions))
        .route("/api/v1/admin/support-groups", get(list_groups))
        .route("/api/v1/admin/support-groups/{id}", put(put_group))
        .route("/api/v1/admin/agents", get(list_agents))
        .route("/api/v1/admin/agents/{user_id}", put(put_agent))
        .route(
            "/api/v1/admin/sla-targets",
            get(list_sla_targets).put(put_sla_targets),
        )
}

/// Supervisors and administrators with a confirmed second factor.
pub async fn require_supervisor(
    state: &AppState,
    current: &CurrentSession,
) -> Result<(), ApiError> {
    require_staff(state, current).await?;
    match current.user.role {
        identity::Role::Supervisor | identity::Role::Admin => Ok(()),
        _ => Err(ApiError::new(Reason::Forbidden)),
    }
}

async fn require_desk_admin(state: &AppState, current: &CurrentSession) -> Result<(), ApiError> {
    require_staff(state, current).await?;
    require_admin(current)
}

// --- agents ------------------------------------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
pub struct AgentView {
    pub user_id: String,
    pub display_name: String,
    pub group_id: String,
    /// online, away, offline.
    pub presence: String,
    pub capacity: i64,
    /// Tickets held in new, open and on_hold.
    pub load: i64,
    pub languages: Vec<String>,
    pub categories: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QueueCounts {
    /// Held by the caller and waiting on us (new, open, on_hold).
    pub mine: i64,
    /// Held by the caller and waiting on the customer.
    pub mine_pending: i64,
    /// Not done, and nobody holds them.
    pub unassigned: i64,
    /// Not done, with a target missed.
    pub breached: i64,
    /// Waiting on us with a deadline within the hour.
    pub at_risk: i64,
    /// Every ticket that is not done.
    pub all_active: i64,
    /// Complaints waiting for a supervisor.
    pub complaints_open: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AgentHome {
    /// The caller as an agent; null for staff not set up as agents (they still see queues).
    pub agent: Option<AgentView>,
    pub queues: QueueCounts,
}

fn agent_view(a: &store::helpdesk::AgentRow, load: i64) -> AgentView {
    AgentView {
        user_id: a.user_id.clone(),
        display_name: a.display_name.clone(),
        group_id: a.group_id.clone(),
        presence: a.presence.clone(),
        capacity: a.capacity,
        load,
        languages: desk::split_list(&a.languages),
        categories: desk::split_list(&a.categories),
    }
}

/// The queue counts an agent's console shows.
pub async fn queue_counts(state: &AppState, user_id: &str) -> Result<QueueCounts, ApiError> {
    let active: Vec<String> = store::tickets::ACTIVE_STATUSES
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let load: Vec<String> = store::tickets::LOAD_STATUSES
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let db = &state.db;
    Ok(QueueCounts {
        mine: db
            .count_tickets(&TicketFilter {
                assignee_id: Some(user_id.to_owned()),
                statuses: load.clone(),
                ..Default::default()
            })
            .await?,
        mine_pending: db
            .count_tickets(&TicketFilter {
                assignee_id: Some(user_id.to_owned()),
                statuses: vec!["pending".into()],
                ..Default::default()
            })
            .await?,
        unassigned: db
            .count_tickets(&TicketFilter {
                unassigned: true,
                statuses: active.clone(),
                ..Default::default()
            })
            .await?,
        breached: db
            .count_tickets(&TicketFilter {
                breached: true,
                statuses: active.clone(),
                ..Default::default()
            })
            .await?,
        at_risk: db
            .count_tickets(&TicketFilter {
                due_before_ms: Some(store::now_ms() + 3_600_000),
                statuses: load,
                ..Default::default()
            })
            .await?,
        all_active: db
            .count_tickets(&TicketFilter {
                statuses: active,
                ..Default::default()
            })
            .await?,
        complaints_open: db.count_open_complaints().await?,
    })
}

/// Staff: the caller as an agent (presence, capacity, load) and the queue counts.
#[utoipa::path(get, path = "/api/v1/agent", tag = "help desk", security(("bearer" = [])),
    responses((status = 200, body = AgentHome),
        (status = 403, description = "`forbidden`; `second_factor_required`", body = crate::error::Problem)))]
pub async fn agent_me(
    State(state): State<AppState>,
    current: CurrentSession,
) -> Result<ApiJson<AgentHome>, ApiError> {
    require_staff(&state, &current).await?;
    let loads = state.db.agent_loads().await?;
    let agent = state.db.agent(&current.user.id).await?.map(|a| {
        let load = loads.get(&a.user_id).copied().unwrap_or(0);
        agent_view(&a, load)
    });
    Ok(ApiJson(AgentHome {
        agent,
        queues: queue_counts(&state, &current.user.id).await?,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PresenceChange {
    /// online, away or offline.
    pub presence: String,
}

/// Sets the caller's presence. Going offline hands the tickets on which customers wait back to
/// the queue; coming online takes waiting tickets, up to the agent's capacity.
#[utoipa::path(put, path = "/api/v1/agent/presence", tag = "help desk", security(("bearer" = [])),
    request_body = PresenceChange,
    responses((status = 200, body = AgentHome),
        (status = 409, description = "`not_an_agent`", body = crate::error::Problem),
        (status = 422, description = "`invalid_field`: presence", body = crate::error::Problem)))]
pub async fn put_presence(
    State(state): State<AppState>,
    current: CurrentSession,
    ApiJson(body): ApiJson<PresenceChange>,
) -> Result<ApiJson<AgentHome>, ApiError> {
    change_presence(&state, &current, &body.presence).await?;
    agent_me(State(state), current).await
}

/// [`put_presence`] for the pages too.
pub async fn change_presence(
    state: &AppState,
    current: &CurrentSession,
    presence: &str,
) -> Result<(), ApiError> {
    require_staff(state, current).await?;
    let presence = match presence {
        "online" => helpdesk::routing::Presence::Online,
        "away" => helpdesk::routing::Presence::Away,
        "offline" => helpdesk::routing::Presence::Offline,
        _ => return Err(invalid("presence", "use online, away or offline")),
    };
    let agent = state
        .db
        .agent(&current.user.id)
        .await?
        .ok_or_else(|| ApiError::new(Reason::TicketRefused(TicketRefusal::NotAnAgent)))?;
    desk::set_presence(state, &agent, presence).await
}

// --- customer context --------------------------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
pub struct SecurityState {
    /// An authenticator app is the account's second factor.
    pub totp: bool,
    pub passkeys: i64,
    pub frozen: bool,
    pub frozen_since: Option<String>,
    /// Signing in is locked after failed attempts, for this many more seconds.
    pub locked_for_s: Option<u64>,
    /// Withdrawals pause until then after a security change.
    pub withdrawals_locked_until: Option<String>,
    pub anti_phishing_code_set: bool,
    pub email_verified: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SecurityEventView {
    pub at: String,
    pub kind: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerContext {
    pub id: String,
    /// Masked: agents never see a customer's whole address.
    pub email: String,
    pub language: String,
    pub security: SecurityState,
    /// The latest security log entries (kinds and times; no addresses or devices).
    pub recent_security_events: Vec<SecurityEventView>,
    /// The latest money movements with their statuses.
    pub recent_activity: Vec<ActivityItem>,
    /// Tickets that are not done, most recently updated first.
    pub open_tickets: Vec<TicketView>,
}

/// What an agent sees of a customer beside their ticket (audited).
pub async fn customer_context(
    state: &AppState,
    current: &CurrentSession,
    customer_id: &str,
    lang: Lang,
) -> Result<CustomerContext, ApiError> {
    let context = unaudited_context(state, current, customer_id, lang).await?;
    audit_view(
        state,
        current,
        "customer.viewed",
        &context.id,
        serde_json::json!({"what": "context"}),
    )
    .await?;
    Ok(context)
}

/// The customer context; the caller writes the audit row (see `live::pops_for`, which
/// records one per call rather than one per refresh).
pub async fn unaudited_context(
    state: &AppState,
    current: &CurrentSession,
    customer_id: &str,
    lang: Lang,
) -> Result<CustomerContext, ApiError> {
    require_staff(state, current).await?;
    let user = state
        .db
        .user_by_id(customer_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let now = store::now_ms();
    let totp = state
        .db
        .totp_factor(&user.id)
        .await?
        .is_some_and(|f| f.confirmed);
    let passkeys = state.db.passkey_count(&user.id).await?;
    let locked_for_s = state
        .db
        .throttle_locked_for_s(&format!("account:{}", user.id))
        .await?;
    let recent_security_events = state
        .db
        .security_events_for(&user.id, 8)
        .await?
        .into_iter()
        .map(|e| SecurityEventView {
            at: rfc3339(e.at_ms),
            kind: e.kind,
        })
        .collect();
    let (recent_activity, _) = crate::api::activity::entries(
        state,
        &user.id,
        &store::movements::MovementFilter::default(),
        10,
        lang,
    )
    .await?;
    let tickets = state
        .db
        .tickets(
            &TicketFilter {
                requester_id: Some(user.id.clone()),
                statuses: store::tickets::ACTIVE_STATUSES
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect(),
                ..Default::default()
            },
            20,
        )
        .await?;
    let open_tickets = crate::api::tickets::line_views(state, &tickets, true).await?;
    Ok(CustomerContext {
        id: user.id.clone(),
        email: helpdesk::masking::email(user.email.as_str()),
        language: user.locale.clone(),
        security: SecurityState {
            totp,
            passkeys,
            frozen: user.is_frozen(now),
            frozen_since: user
                .frozen_at_ms
                .filter(|_| user.is_frozen(now))
                .map(rfc3339),
            locked_for_s,
            withdrawals_locked_until: user
                .withdrawals_locked_until_ms
                .filter(|until| *until > now)
                .map(rfc3339),
            anti_phishing_code_set: user.anti_phishing_code.is_some(),
            email_verified: user.email_verified_at_ms.is_some(),
        },
        recent_security_events,
        recent_activity,
        open_tickets,
    })
}

/// Staff: a customer's context — masked profile, security state, recent activity with
/// statuses, open tickets. Every view is written to the audit trail.
#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "help desk", security(("bearer" = [])),
    responses((status = 200, body = CustomerContext),
        (status = 403, description = "`forbidden`; `second_factor_required`", body = crate::error::Problem),
        (status = 404, description = "`not_found`", body = crate::error::Problem)))]
pub async fn customer(
    State(state): State<AppState>,
    lang: Lang,
    current: CurrentSession,
    Path(id): Path<String>,
) -> Result<ApiJson<CustomerContext>, ApiError> {
    Ok(ApiJson(
        customer_context(&state, &current, &id, lang).await?,
    ))
}

// --- macros ------------------------------------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
pub struct MacroView {
    pub id: String,
    pub name: String,
    pub body_zh: String,
    pub body_en: String,
    pub actions: String,
    pub updated_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MacroList {
    pub items: Vec<MacroView>,
}

fn macro_view(m: store::helpdesk::MacroRow) -> MacroView {
    MacroView {
        id: m.id,
        name: m.name,
        body_zh: m.body_zh,
        body_en: m.body_en,
        actions: m.actions,
        updated_at: rfc3339(m.updated_at_ms),
    }
}

/// Staff: every macro.
#[utoipa::path(get, path = "/api/v1/macros", tag = "help desk", security(("bearer" = [])),
    responses((status = 200, body = MacroList)))]
pub async fn list_macros(
    State(state): State<AppState>,
    current: CurrentSession,
) -> Result<ApiJson<MacroList>, ApiError> {
    require_staff(&state, &current).await?;
    Ok(ApiJson(MacroList {
        items: state
            .db
            .macros()
            .await?
            .into_iter()
            .map(macro_view)
            .collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MacroBody {
    pub name: String,
    /// The reply in Chinese, with `{{placeholders}}`.
    pub body_zh: String,
    /// The reply in English.
    pub body_en: String,
    /// `name: value` lines: status, priority, add_tag, remove_tag, assign (me or none).
    #[serde(default)]
    pub actions: String,
}

/// Checks a macro's texts and actions, naming the first problem.
pub fn check_macro(body: &MacroBody) -> Result<(), ApiError> {
    check_text("name", &body.name, 80)?;
    for (field, template) in [("body_zh", &body.body_zh), ("body_en", &body.body_en)] {
        check_text(field, template, crate::api::tickets::BODY_CHARS_MAX)?;
        helpdesk::macros::check(template).map_err(|e| invalid(field, e.to_string()))?;
    }
    helpdesk::macros::parse_actions(&body.actions)
        .map_err(|e| invalid("actions", e.to_string()))?;
    Ok(())
}

/// Supervisors and administrators: creates or replaces a macro (id: lowercase letters, digits
/// and dashes).
#[utoipa::path(put, path = "/api/v1/macros/{id}", tag = "help desk", security(("bearer" = [])),
    request_body = MacroBody,
    responses((status = 200, body = MacroView),
        (status = 403, description = "`forbidden`", body = crate::error::Problem),
        (status = 422, description = "`invalid_field`: an unknown placeholder, a bad action line, …", body = crate::error::Problem)))]
pub async fn put_macro(
    State(state): State<AppState>,
    current: CurrentSession,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<MacroBody>,
) -> Result<ApiJson<MacroView>, ApiError> {
    Ok(ApiJson(save_macro(&state, &current, &id, &body).await?))
}

/// [`put_macro`] for the pages too.
pub async fn save_macro(
    state: &AppState,
    current: &CurrentSession,
    id: &str,
    body: &MacroBody,
) -> Result<MacroView, ApiError> {
    require_supervisor(state, current).await?;
    check_slug("id", id)?;
    check_macro(body)?;
    let existing = state.db.macro_by_id(id).await?;
    let row = store::helpdesk::MacroRow {
        id: id.to_owned(),
        name: body.name.trim().to_owned(),
        body_zh: body.body_zh.trim().to_owned(),
        body_en: body.body_en.trim().to_owned(),
        actions: body.actions.trim().to_owned(),
        created_by: existing
            .and_then(|m| m.created_by)
            .or_else(|| Some(current.user.id.clone())),
        updated_at_ms: store::now_ms(),
    };
    state.db.put_macro(&row).await?;
    state
        .db
        .audit(
            &format!("user:{}", current.user.id),
            "macro.saved",
            &format!("macro:{id}"),
            "{}",
        )
        .await?;
    Ok(macro_view(row))
}

/// Supervisors and administrators: deletes a macro.
#[utoipa::path(delete, path = "/api/v1/macros/{id}", tag = "help desk", security(("bearer" = [])),
    responses((status = 204, description = "Deleted."),
        (status = 404, description = "`not_found`", body = crate::error::Problem)))]
pub async fn delete_macro(
    State(state): State<AppState>,
    current: CurrentSession,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    remove_macro(&state, &current, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// [`delete_macro`] for the pages too.
pub async fn remove_macro(
    state: &AppState,
    current: &CurrentSession,
    id: &str,
) -> Result<(), ApiError> {
    require_supervisor(state, current).await?;
    if !state.db.delete_macro(id).await? {
        return Err(ApiError::not_found());
    }
    state
        .db
        .audit(
            &format!("user:{}", current.user.id),
            "macro.deleted",
            &format!("macro:{id}"),
            "{}",
        )
        .await?;
    Ok(())
}

// --- complaints --------------------------------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
pub struct ComplaintLine {
    pub id: String,
    pub ticket_id: String,
    pub ticket_number: i64,
    pub ticket_subject: String,
    pub status: String,
    pub by_customer: bool,
    pub reason: String,
    pub due_at: String,
    /// Past its deadline without an answer.
    pub overdue: bool,
    pub outcome: Option<String>,
    pub created_at: String,
    pub resolved_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ComplaintList {
    pub items: Vec<ComplaintLine>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ComplaintQuery {
    /// open (most urgent first; the default) or resolved (newest first).
    pub status: Option<String>,
}

/// The supervisors' complaint queue, with the tickets they are about.
pub async fn complaint_lines(
    state: &AppState,
    status: &str,
) -> Result<Vec<ComplaintLine>, ApiError> {
    let now = store::now_ms();
    let mut items = Vec::new();
    for c in state.db.complaints(status, 200).await? {
        let Some(t) = state.db.ticket(&c.ticket_id).await? else {
            continue;
        };
        items.push(ComplaintLine {
            overdue: c.status == "open" && c.due_at_ms < now,
            id: c.id,
            ticket_id: t.id,
            ticket_number: t.number,
            ticket_subject: t.subject,
            status: c.status,
            by_customer: !c.by_agent,
            reason: c.reason,
            due_at: rfc3339(c.due_at_ms),
            outcome: c.outcome,
            created_at: rfc3339(c.created_at_ms),
            resolved_at: c.resolved_at_ms.map(rfc3339),
        });
    }
    Ok(items)
}

/// Supervisors: complaints and escalations.
#[utoipa::path(get, path = "/api/v1/complaints", tag = "help desk", security(("bearer" = [])),
    params(ComplaintQuery), responses((status = 200, body = ComplaintList),
        (status = 403, description = "`forbidden`", body = crate::error::Problem)))]
pub async fn list_complaints(
    State(state): State<AppState>,
    current: CurrentSession,
    Query(q): Query<ComplaintQuery>,
) -> Result<ApiJson<ComplaintList>, ApiError> {
    require_supervisor(&state, &current).await?;
    let status = match q.status.as_deref() {
        None | Some("open") => "open",
        Some("resolved") => "resolved",
        Some(_) => return Err(invalid("status", "use open or resolved")),
    };
    let items = complaint_lines(&state, status).await?;
    state
        .db
        .audit(
            &format!("user:{}", current.user.id),
            "complaints.listed",
            "complaints",
            &serde_json::json!({"shown": items.len()}).to_string(),
        )
        .await?;
    Ok(ApiJson(ComplaintList { items }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Resolution {
    /// What was decided, for the customer to read.
    pub outcome: String,
}

/// [`resolve_complaint`] for the pages too: answers the ticket.
pub async fn resolve(
    state: &AppState,
    current: &CurrentSession,
    complaint_id: &str,
    outcome: &str,
) -> Result<store::tickets::Ticket, ApiError> {
    require_supervisor(state, current).await?;
    let outcome = check_text("outcome", outcome, 4_000)?;
    let c = state
        .db
        .complaint(complaint_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if c.status != "open" {
        return Err(ApiError::new(Reason::TicketRefused(
            TicketRefusal::ComplaintAlreadyResolved,
        )));
    }
    let t = state
        .db
        .ticket(&c.ticket_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let now = store::now_ms().max(t.updated_at_ms + 1);
    let message = store::tickets::TicketMessage {
        id: store::new_id(),
        ticket_id: t.id.clone(),
        author_id: Some(current.user.id.clone()),
        internal: false,
        body: outcome.clone(),
        channel: "complaint".into(),
        created_at_ms: now,
    };
    let event = desk::new_event(
        &t.id,
        now,
        Some(&current.user.id),
        "complaint_resolved",
        serde_json::json!({"complaint": c.id}),
    );
    let mut mails = Vec::new();
    if let Some(requester) = state.db.user_by_id(&t.requester_id).await? {
        mails.push(crate::mail::for_user(
            &requester,
            &identity::notice::Notice::ComplaintResolved {
                number: t.number,
                outcome: &outcome,
                link: &desk::ticket_page(&state.settings, &t.id),
            },
        ));
    }
    // The outcome is a message on the ticket whatever its state (also closed): the customer
    // reads it where they complained. It changes no clock.
    let written = state
        .desk
        .append(
            &state.db,
            vec![message],
            vec![event],
            Some(store::helpdesk::Also::ResolveComplaint {
                id: c.id.clone(),
                supervisor_id: current.user.id.clone(),
                outcome: outcome.clone(),
                at_ms: now,
            }),
            mails,
        )
        .await?;
    if !written {
        return Err(ApiError::new(Reason::TicketRefused(
            TicketRefusal::ComplaintAlreadyResolved,
        )));
    }
    audit_view(
        state,
        current,
        "complaint.resolved",
        &t.requester_id,
        serde_json::json!({"ticket": t.number, "complaint": c.id}),
    )
    .await?;
    Ok(t)
}

/// Supervisors: decides a complaint. The outcome is added to the ticket for the customer to
/// read and mailed to them; the complaint leaves the queue.
#[utoipa::path(post, path = "/api/v1/complaints/{id}/resolution", tag = "help desk",
    security(("bearer" = [])), request_body = Resolution,
    responses((status = 200, body = TicketView),
        (status = 403, description = "`forbidden`", body = crate::error::Problem),
        (status = 404, description = "`not_found`", body = crate::error::Problem),
        (status = 409, description = "`complaint_already_resolved`", body = crate::error::Problem)))]
pub async fn resolve_complaint(
    State(state): State<AppState>,
    lang: Lang,
    current: CurrentSession,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Resolution>,
) -> Result<ApiJson<TicketView>, ApiError> {
    let t = resolve(&state, &current, &id, &body.outcome).await?;
    let t = state.db.ticket(&t.id).await?.unwrap_or(t);
    Ok(ApiJson(view(&state, &t, true, Detail::Full, lang).await?))
}

// --- figures -----------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// First day, YYYY-MM-DD (default: 13 days before `to`).
    pub from: Option<String>,
    /// Last day, YYYY-MM-DD, included (default: today).
    pub to: Option<String>,
    /// The IANA zone whose days are counted (default: the help center's).
    pub tz: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VolumeView {
    pub name: String,
    pub tickets: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DurationsView {
    pub count: usize,
    pub median_s: Option<i64>,
    pub p90_s: Option<i64>,
    pub mean_s: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ComplianceView {
    pub tickets: usize,
    pub met: usize,
    pub breached: usize,
    /// Met share in thousandths.
    pub met_permille: Option<u16>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DayView {
    pub date: String,
    pub created: usize,
    pub solved: usize,
    pub open_at_end: usize,
    /// Median business seconds to the first response of tickets answered that day.
    pub first_response_median_s: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatsView {
    pub from: String,
    pub to: String,
    pub time_zone: String,
    pub created: usize,
    pub by_category: Vec<VolumeView>,
    pub by_channel: Vec<VolumeView>,
    pub first_response: DurationsView,
    pub resolution: DurationsView,
    pub first_response_sla: ComplianceView,
    pub resolution_sla: ComplianceView,
    pub ratings: usize,
    /// Average rating in tenths (42 = 4.2).
    pub rating_average_tenths: Option<u16>,
    /// Ratings of 1…5.
    pub rating_distribution: Vec<usize>,
    /// Share of 4 and 5 in thousandths.
    pub csat_permille: Option<u16>,
    pub reopened: usize,
    pub days: Vec<DayView>,
    /// Complaints waiting for a supervisor now.
    pub complaints_open: i64,
    /// Troubleshooter runs started in the window and how they ended (deflection).
    pub troubleshooters: DeflectionView,
}

/// Troubleshooter runs and how they ended: solved without contacting us, or escalated to a
/// person (the rest: not told).
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct DeflectionView {
    pub runs: i64,
    pub resolved: i64,
    pub escalated: i64,
    /// Solved without contact, in thousandths of the runs.
    pub resolved_permille: Option<i64>,
    pub by_problem: Vec<DeflectionLine>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeflectionLine {
    pub problem: String,
    pub runs: i64,
    pub resolved: i64,
    pub escalated: i64,
}

async fn deflection(
    state: &AppState,
    window: &helpdesk::stats::Window,
) -> Result<DeflectionView, ApiError> {
    let rows = state
        .db
        .deflection(window.from.as_millisecond(), window.to.as_millisecond())
        .await?;
    let mut view = DeflectionView::default();
    for r in rows {
        view.runs += r.runs;
        view.resolved += r.resolved;
        view.escalated += r.escalated;
        view.by_problem.push(DeflectionLine {
            problem: r.problem,
            runs: r.runs,
            resolved: r.resolved,
            escalated: r.escalated,
        });
    }
    view.resolved_permille = (view.runs > 0).then(|| view.resolved * 1000 / view.runs);
    Ok(view)
}

/// A window of whole local days, from the query (at most 366 days).
pub fn window_of(
    q: &StatsQuery,
    default_tz: &str,
    now_ms: i64,
) -> Result<helpdesk::stats::Window, ApiError> {
    let tz_name = q.tz.as_deref().unwrap_or(default_tz);
    let tz =
        jiff::tz::TimeZone::get(tz_name).map_err(|_| invalid("tz", "not an IANA time zone"))?;
    let date = |field: &str, v: &str| {
        v.parse::<jiff::civil::Date>()
            .map_err(|_| invalid(field, "a date, YYYY-MM-DD"))
    };
    let today = jiff::Timestamp::from_millisecond(now_ms)
        .map_err(ApiError::internal)?
        .to_zoned(tz.clone())
        .date();
    let to = match q.to.as_deref() {
        Some(v) => date("to", v)?,
        None => today,
    };
    let from = match q.from.as_deref() {
        Some(v) => date("from", v)?,
        None => to.saturating_sub(jiff::Span::new().days(13)),
    };
    if from > to {
        return Err(invalid("from", "after `to`"));
    }
    if (to - from).get_days() > 366 {
        return Err(invalid("from", "at most 366 days at once"));
    }
    let end = to
        .checked_add(jiff::Span::new().days(1))
        .map_err(|_| invalid("to", "out of range"))?;
    helpdesk::stats::Window::days(from, end, tz).map_err(|_| invalid("from", "out of range"))
}

/// The figures' input: each ticket's facts.
pub fn facts_of(rows: &[store::helpdesk::TicketFactsRow]) -> Vec<helpdesk::stats::TicketFacts> {
    let at = |ms: i64| jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    rows.iter()
        .map(|r| {
            let t = &r.ticket;
            helpdesk::stats::TicketFacts {
                created_at: at(t.created_at_ms),
                category: Category::parse(&t.category).unwrap_or(Category::Other),
                channel: t.channel.clone(),
                priority: Priority::parse(&t.priority).unwrap_or(Priority::Normal),
                first_response_at: t.first_responded_at_ms.map(at),
                solved_at: t.solved_at_ms.map(at),
                first_response_business_s: t.first_response_business_s,
                resolution_business_s: t.resolution_business_s,
                first_response_breached: t.first_response_breached,
                resolution_breached: t.resolution_breached,
                rating: r.rating.and_then(|s| u8::try_from(s).ok()),
                reopened: t.reopened_count > 0,
            }
        })
        .collect()
}

/// The report for a window, and per day the median first response.
pub async fn report(
    state: &AppState,
    window: &helpdesk::stats::Window,
) -> Result<(helpdesk::stats::Report, Vec<Option<i64>>), ApiError> {
    let rows = state
        .db
        .ticket_facts(window.from.as_millisecond(), window.to.as_millisecond())
        .await?;
    let facts = facts_of(&rows);
    let report = helpdesk::stats::report(&facts, window);
    let mut medians = Vec::with_capacity(report.days.len());
    for day in &report.days {
        let day_window = helpdesk::stats::Window::days(
            day.date,
            day.date.tomorrow().unwrap_or(day.date),
            window.time_zone.clone(),
        )
        .map_err(ApiError::internal)?;
        medians.push(
            helpdesk::stats::report(&facts, &day_window)
                .first_response
                .median_s,
        );
    }
    Ok((report, medians))
}

fn durations(d: &helpdesk::stats::Durations) -> DurationsView {
    DurationsView {
        count: d.count,
        median_s: d.median_s,
        p90_s: d.p90_s,
        mean_s: d.mean_s,
    }
}

fn compliance(c: &helpdesk::stats::Compliance) -> ComplianceView {
    ComplianceView {
        tickets: c.tickets,
        met: c.met,
        breached: c.breached,
        met_permille: c.met_permille,
    }
}

/// The figures as the API shows them.
pub async fn stats_view(state: &AppState, q: &StatsQuery) -> Result<StatsView, ApiError> {
    let window = window_of(q, &state.help.settings.time_zone, store::now_ms())?;
    let (r, medians) = report(state, &window).await?;
    let volumes = |v: &[helpdesk::stats::Volume]| {
        v.iter()
            .map(|v| VolumeView {
                name: v.name.clone(),
                tickets: v.tickets,
            })
            .collect()
    };
    Ok(StatsView {
        from: r
            .days
            .first()
            .map(|d| d.date.to_string())
            .unwrap_or_default(),
        to: r
            .days
            .last()
            .map(|d| d.date.to_string())
            .unwrap_or_default(),
        time_zone: window.time_zone.iana_name().unwrap_or("UTC").to_owned(),
        created: r.created,
        by_category: volumes(&r.by_category),
        by_channel: volumes(&r.by_channel),
        first_response: durations(&r.first_response),
        resolution: durations(&r.resolution),
        first_response_sla: compliance(&r.first_response_sla),
        resolution_sla: compliance(&r.resolution_sla),
        ratings: r.satisfaction.ratings,
        rating_average_tenths: r.satisfaction.average_tenths,
        rating_distribution: r.satisfaction.distribution.to_vec(),
        csat_permille: r.satisfaction.csat_permille,
        reopened: r.reopens.reopened,
        days: r
            .days
            .iter()
            .zip(medians)
            .map(|(d, median)| DayView {
                date: d.date.to_string(),
                created: d.created,
                solved: d.solved,
                open_at_end: d.open_at_end,
                first_response_median_s: median,
            })
            .collect(),
        complaints_open: state.db.count_open_complaints().await?,
        troubleshooters: deflection(state, &window).await?,
    })
}

/// Supervisors: volumes by category and channel, first-response and resolution times in
/// business hours, SLA compliance, satisfaction, and the backlog day by day.
#[utoipa::path(get, path = "/api/v1/supervisor/stats", tag = "help desk", security(("bearer" = [])),
    params(StatsQuery), responses((status = 200, body = StatsView),
        (status = 403, description = "`forbidden`", body = crate::error::Problem),
        (status = 422, description = "`invalid_field`: from, to or tz", body = crate::error::Problem)))]
pub async fn stats(
    State(state): State<AppState>,
    current: CurrentSession,
    Query(q): Query<StatsQuery>,
) -> Result<ApiJson<StatsView>, ApiError> {
    require_supervisor(&state, &current).await?;
    Ok(ApiJson(stats_view(&state, &q).await?))
}

/// The figures as a CSV download.
pub async fn stats_csv_response(state: &AppState, q: &StatsQuery) -> Result<Response, ApiError> {
    let window = window_of(q, &state.help.settings.time_zone, store::now_ms())?;
    let (r, _) = report(state, &window).await?;
    let name = format!(
        "helpdesk-{}-{}.csv",
        r.days
            .first()
            .map(|d| d.date.to_string())
            .unwrap_or_default(),
        r.days
            .last()
            .map(|d| d.date.to_string())
            .unwrap_or_default()
    );
    Ok((
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        format!("\u{feff}{}", r.to_csv()),
    )
        .into_response())
}

/// Supervisors: the same figures as CSV (UTF-8 with a byte-order mark, for spreadsheets).
#[utoipa::path(get, path = "/api/v1/supervisor/stats.csv", tag = "help desk",
    security(("bearer" = [])), params(StatsQuery),
    responses((status = 200, description = "CSV", content_type = "text/csv"),
        (status = 403, description = "`forbidden`", body = crate::error::Problem)))]
pub async fn stats_csv(
    State(state): State<AppState>,
    current: CurrentSession,
    Query(q): Query<StatsQuery>,
) -> Result<Response, ApiError> {
    require_supervisor(&state, &current).await?;
    stats_csv_response(&state, &q).await
}

// --- audit trail and alerts --------------------------------------------------------------------

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only actions by this actor (`user:<id>`).
    pub actor: Option<String>,
    /// Only actions about this subject (`user:<id>`).
    pub subject: Option<String>,
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventView {
    pub id: String,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub subject: String,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditList {
    pub items: Vec<AuditEventView>,
    pub next_cursor: Option<String>,
}

/// A page of the audit trail, newest first.
pub async fn audit_page(state: &AppState, q: &AuditQuery) -> Result<AuditList, ApiError> {
    let limit = crate::api::tickets::page_size(q.limit.as_deref())?;
    let before = crate::api::tickets::cursor_of(q.cursor.as_deref())?;
    let rows = state
        .db
        .audit_events(
            q.actor.as_deref().filter(|a| !a.is_empty()),
            q.subject.as_deref().filter(|s| !s.is_empty()),
            before.as_ref().map(|(ms, id)| (*ms, id.as_str())),
            limit + 1,
        )
        .await?;
    let more = rows.len() as i64 > limit;
    let rows: Vec<_> = rows
        .into_iter()
        .take(usize::try_from(limit).unwrap_or(20))
        .collect();
    let next_cursor = more
        .then(|| rows.last())
        .flatten()
        .map(|e| format!("{}.{}", e.at_ms, e.id));
    let items = rows
        .into_iter()
        .map(|e| AuditEventView {
            id: e.id,
            at: rfc3339(e.at_ms),
            actor: e.actor,
            action: e.action,
            subject: e.subject,
            detail: serde_json::from_str(&e.detail).unwrap_or(serde_json::Value::Null),
        })
        .collect();
    Ok(AuditList { items, next_cursor })
}

/// Supervisors: the audit trail — who viewed or changed which customer's data, when.
#[utoipa::path(get, path = "/api/v1/audit-events", tag = "help desk", security(("bearer" = [])),
    params(AuditQuery), responses((status = 200, body = AuditList),
        (status = 403, description = "`forbidden`", body = crate::error::Problem)))]
pub async fn audit_events(
    State(state): State<AppState>,
    current: CurrentSession,
    Query(q): Query<AuditQuery>,
) -> Result<ApiJson<AuditList>, ApiError> {
    require_supervisor(&state, &current).await?;
    Ok(ApiJson(audit_page(&state, &q).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SlaAlertView {
    pub ticket_id: String,
    pub ticket_number: i64,
    pub subject: String,
    /// first_response or resolution.
    pub clock: String,
    /// near_breach or breached.
    pub kind: String,
    pub at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SlaAlertList {
    pub items: Vec<SlaAlertView>,
}

/// The SLA alerts of the last day, newest first.
pub async fn recent_alerts(state: &AppState) -> Result<Vec<SlaAlertView>, ApiError> {
    let since = store::now_ms() - 24 * 3_600_000;
    let mut items = Vec::new();
    for (ticket_id, clock, kind, at_ms) in state.db.recent_sla_alerts(since, 50).await? {
        if let Some(t) = state.db.ticket(&ticket_id).await? {
            items.push(SlaAlertView {
                ticket_id,
                ticket_number: t.number,
                subject: t.subject,
                clock,
                kind,
                at: rfc3339(at_ms),
            });
        }
    }
    Ok(items)
}

/// Staff: near-breaches and breaches of the last 24 hours.
#[utoipa::path(get, path = "/api/v1/sla-alerts", tag = "help desk", security(("bearer" = [])),
    responses((status = 200, body = SlaAlertList)))]
pub async fn sla_alerts(
    State(state): State<AppState>,
    current: CurrentSession,
) -> Result<ApiJson<SlaAlertList>, ApiError> {
    require_staff(&state, &current).await?;
    Ok(ApiJson(SlaAlertList {
        items: recent_alerts(&state).await?,
    }))
}

// --- suggestions -------------------------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSuggestion {
    /// What it is about: app, wallet, support, security, other.
    #[serde(default)]
    pub topic: Option<String>,
    pub body: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SuggestionView {
    pub id: String,
    pub topic: String,
    pub language: String,
    pub body: String,
    pub created_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SuggestionList {
    pub items: Vec<SuggestionView>,
    pub next_cursor: Option<String>,
}

const TOPICS: [&str; 5] = ["app", "wallet", "support", "security", "other"];
/// Suggestions one person may leave in a day.
const SUGGESTIONS_PER_DAY: i64 = 20;

/// [`suggest`] for the pages too.
pub async fn leave_suggestion(
    state: &AppState,
    current: &CurrentSession,
    lang: Lang,
    body: &NewSuggestion,
) -> Result<SuggestionView, ApiError> {
    let topic = match body.topic.as_deref() {
        None | Some("") => "other",
        Some(t) if TOPICS.contains(&t) => t,
        Some(_) => {
            return Err(invalid(
                "topic",
                "use app, wallet, support, security or other",
            ))
        }
    };
    let text = check_text("body", &body.body, 4_000)?;
    let now = store::now_ms();
    if state
        .db
        .suggestions_since(&current.user.id, now - 86_400_000)
        .await?
        >= SUGGESTIONS_PER_DAY
    {
        return Err(ApiError::too_many_requests(3600));
    }
    let s = store::helpdesk::Suggestion {
        id: store::new_id(),
        user_id: Some(current.user.id.clone()),
        topic: topic.to_owned(),
        language: lang.tag().to_owned(),
        body: text,
        status: "new".into(),
        created_at_ms: now,
    };
    state.db.insert_suggestion(&s).await?;
    Ok(SuggestionView {
        id: s.id,
        topic: s.topic,
        language: s.language,
        body: s.body,
        created_at: rfc3339(s.created_at_ms),
    })
}

/// The feedback and suggestions box, apart from tickets: anything signed-in people want to
/// tell us. Supervisors read them.
#[utoipa::path(post, path = "/api/v1/suggestions", tag = "help desk", security(("bearer" = [])),
    request_body = NewSuggestion,
    responses((status = 201, body = SuggestionView),
        (status = 422, description = "`invalid_field`: topic or body", body = crate::error::Problem),
        (status = 429, description = "`too_many_requests`", body = crate::error::Problem)))]
pub async fn suggest(
    State(state): State<AppState>,
    lang: Lang,
    current: CurrentSession,
    ApiJson(body): ApiJson<NewSuggestion>,
) -> Result<(StatusCode, ApiJson<SuggestionView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        ApiJson(leave_suggestion(&state, &current, lang, &body).await?),
    ))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

/// Supervisors: the suggestions box, newest first (no names: suggestions are read for what
/// they say).
#[utoipa::path(get, path = "/api/v1/suggestions", tag = "help desk", security(("bearer" = [])),
    params(PageQuery), responses((status = 200, body = SuggestionList),
        (status = 403, description = "`forbidden`", body = crate::error::Problem)))]
pub async fn list_suggestions(
    State(state): State<AppState>,
    current: CurrentSession,
    Query(q): Query<PageQuery>,
) -> Result<ApiJson<SuggestionList>, ApiError> {
    require_supervisor(&state, &current).await?;
    Ok(ApiJson(suggestion_page(&state, &q).await?))
}

/// A page of suggestions.
pub async fn suggestion_page(state: &AppState, q: &PageQuery) -> Result<SuggestionList, ApiError> {
    let limit = crate::api::tickets::page_size(q.limit.as_deref())?;
    let before = crate::api::tickets::cursor_of(q.cursor.as_deref())?;
    let rows = state
        .db
        .suggestions(
            before.as_ref().map(|(ms, id)| (*ms, id.as_str())),
            limit + 1,
        )
        .await?;
    let more = rows.len() as i64 > limit;
    let rows: Vec<_> = rows
        .into_iter()
        .take(usize::try_from(limit).unwrap_or(20))
        .collect();
    let next_cursor = more
        .then(|| rows.last())
        .flatten()
        .map(|s| format!("{}.{}", s.created_at_ms, s.id));
    Ok(SuggestionList {
        items: rows
            .into_iter()
            .map(|s| SuggestionView {
                id: s.id,
                topic: s.topic,
                language: s.language,
                body: s.body,
                created_at: rfc3339(s.created_at_ms),
            })
            .collect(),
        next_cursor,
    })
}

// --- setup: groups, agents, SLA targets --------------------------------------------------------

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupView {
    /// Ignored in a request: the path names the group.
    #[serde(default)]
    pub id: String,
    pub name_zh: String,
    pub name_en: String,
    /// Business hours for SLA clocks, as editors type them.
    pub time_zone: String,
    #[serde(default)]
    pub always_open: bool,
    /// Lines like `mon-fri 09:00-18:00`.
    #[serde(default)]
    pub hours: String,
    /// Lines like `2027-01-01 元旦 / New Year's Day`.
    #[serde(default)]
    pub holidays: String,
    #[serde(default)]
    pub languages: Vec<String>,
    /// Empty: every category.
    #[serde(default)]
    pub categories: Vec<String>,
    #[serde(default)]
    pub position: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GroupList {
    pub items: Vec<GroupView>,
}

/// A stored group as editors see it.
pub fn group_view(g: &store::helpdesk::SupportGroup) -> GroupView {
    let spec = helpcenter::directory::ScheduleSpec::from_json(&g.schedule).ok();
    GroupView {
        id: g.id.clone(),
        name_zh: g.name_zh.clone(),
        name_en: g.name_en.clone(),
        time_zone: spec
            .as_ref()
            .map(|s| s.time_zone.clone())
            .unwrap_or_default(),
        always_open: spec.as_ref().is_some_and(|s| s.always_open),
        hours: spec.as_ref().map(|s| s.weekly_text()).unwrap_or_default(),
        holidays: spec.as_ref().map(|s| s.holidays_text()).unwrap_or_default(),
        languages: desk::split_list(&g.languages),
        categories: desk::split_list(&g.categories),
        position: g.position,
    }
}

/// Administrators: the support groups.
#[utoipa::path(get, path = "/api/v1/admin/support-groups", tag = "help desk",
    security(("bearer" = [])), responses((status = 200, body = GroupList)))]
pub async fn list_groups(
    State(state): State<AppState>,
    current: CurrentSession,
) -> Result<ApiJson<GroupList>, ApiError> {
    require_supervisor(&state, &current).await?;
    Ok(ApiJson(GroupList {
        items: state
            .db
            .support_groups()
            .await?
            .iter()
            .map(group_view)
            .collect(),
    }))
}

/// [`put_group`] for the pages too.
pub async fn save_group(
    state: &AppState,
    current: &CurrentSession,
    id: &str,
    body: &GroupView,
) -> Result<GroupView, ApiError> {
    require_desk_admin(state, current).await?;
    check_slug("id", id)?;
    check_text("name_zh", &body.name_zh, 80)?;
    check_text("name_en", &body.name_en, 80)?;
    let spec = helpcenter::directory::ScheduleSpec::from_text(
        &body.time_zone,
        body.always_open,
        &body.hours,
        &body.holidays,
        "",
    )
    .map_err(|e| invalid("hours", e.to_string()))?;
    for c in &body.categories {
        Category::parse(c)
            .ok_or_else(|| invalid("categories", format!("unknown category {c:?}")))?;
    }
    for l in &body.languages {
        if crate::lang::Lang::from_tag(l).is_none() {
            return Err(invalid("languages", "use zh-CN and en"));
        }
    }
    let created_at_ms = state
        .db
        .support_group(id)
        .await?
        .map_or_else(store::now_ms, |g| g.created_at_ms);
    let row = store::helpdesk::SupportGroup {
        id: id.to_owned(),
        name_zh: body.name_zh.trim().to_owned(),
        name_en: body.name_en.trim().to_owned(),
        schedule: spec.to_json(),
        languages: body.languages.join(","),
        categories: body.categories.join(","),
        position: body.position,
        created_at_ms,
    };
    state.db.put_support_group(&row).await?;
    state.desk.forget_setup();
    state
        .db
        .audit(
            &format!("user:{}", current.user.id),
            "support_group.saved",
            &format!("support_group:{id}"),
            "{}",
        )
        .await?;
    Ok(group_view(&row))
}

/// Administrators: creates or replaces a support group (its hours drive its tickets' SLA
/// clocks).
#[utoipa::path(put, path = "/api/v1/admin/support-groups/{id}", tag = "help desk",
    security(("bearer" = [])), request_body = GroupView,
    responses((status = 200, body = GroupView),
        (status = 403, description = "`forbidden`", body = crate::error::Problem),
        (status = 422, description = "`invalid_field`", body = crate::error::Problem)))]
pub async fn put_group(
    State(state): State<AppState>,
    current: CurrentSession,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<GroupView>,
) -> Result<ApiJson<GroupView>, ApiError> {
    Ok(ApiJson(save_group(&state, &current, &id, &body).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AgentList {
    pub items: Vec<AgentView>,
}

/// Supervisors and administrators: every agent with presence and load.
#[utoipa::path(get, path = "/api/v1/admin/agents", tag = "help desk", security(("bearer" = [])),
    responses((status = 200, body = AgentList)))]
pub async fn list_agents(
    State(state): State<AppState>,
    current: CurrentSession,
) -> Result<ApiJson<AgentList>, ApiError> {
    require_supervisor(&state, &current).await?;
    let loads = state.db.agent_loads().await?;
    Ok(ApiJson(AgentList {
        items: state
            .db
            .agents()
            .await?
            .iter()
            .map(|a| agent_view(a, loads.get(&a.user_id).copied().unwrap_or(0)))
            .collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentSetup {
    pub display_name: String,
    pub group_id: String,
    /// Tickets held at most (new, open, on_hold).
    pub capacity: i64,
    #[serde(default)]
    pub languages: Vec<String>,
    /// Empty: every category.
    #[serde(default)]
    pub categories: Vec<String>,
}

/// [`put_agent`] for the pages too.
pub async fn save_agent(
    state: &AppState,
    current: &CurrentSession,
    user_id: &str,
    body: &AgentSetup,
) -> Result<AgentView, ApiError> {
    require_desk_admin(state, current).await?;
    let user = state
        .db
        .user_by_id(user_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if !user.role.is_staff() {
        return Err(invalid("user_id", "only staff accounts can be agents"));
    }
    let display_name = check_text("display_name", &body.display_name, 40)?;
    if state.db.support_group(&body.group_id).await?.is_none() {
        return Err(invalid("group_id", "no such support group"));
    }
    if !(1..=500).contains(&body.capacity) {
        return Err(invalid("capacity", "from 1 to 500"));
    }
    for c in &body.categories {
        Category::parse(c)
            .ok_or_else(|| invalid("categories", format!("unknown category {c:?}")))?;
    }
    if body.languages.is_empty() {
        return Err(missing("languages"));
    }
    for l in &body.languages {
        if crate::lang::Lang::from_tag(l).is_none() {
            return Err(invalid("languages", "use zh-CN and en"));
        }
    }
    let existing = state.db.agent(user_id).await?;
    let row = store::helpdesk::AgentRow {
        user_id: user_id.to_owned(),
        display_name,
        group_id: body.group_id.clone(),
        presence: existing
            .as_ref()
            .map_or_else(|| "offline".to_owned(), |a| a.presence.clone()),
        capacity: body.capacity,
        languages: body.languages.join(","),
        categories: body.categories.join(","),
        last_assigned_at_ms: existing.as_ref().and_then(|a| a.last_assigned_at_ms),
        presence_at_ms: existing
            .as_ref()
            .map_or_else(store::now_ms, |a| a.presence_at_ms),
    };
    state.db.put_agent(&row).await?;
    state
        .db
        .audit(
            &format!("user:{}", current.user.id),
            "agent.saved",
            &format!("user:{user_id}"),
            "{}",
        )
        .await?;
    let load = state
        .db
        .agent_loads()
        .await?
        .get(user_id)
        .copied()
        .unwrap_or(0);
    desk::route(state, &row.group_id).await?;
    Ok(agent_view(&row, load))
}

/// Administrators: makes a staff account an agent, or changes their group, capacity and
/// skills (presence is the agent's own).
#[utoipa::path(put, path = "/api/v1/admin/agents/{user_id}", tag = "help desk",
    security(("bearer" = [])), request_body = AgentSetup,
    responses((status = 200, body = AgentView),
        (status = 403, description = "`forbidden`", body = crate::error::Problem),
        (status = 404, description = "`not_found`: no such user", body = crate::error::Problem),
        (status = 422, description = "`invalid_field`", body = crate::error::Problem)))]
pub async fn put_agent(
    State(state): State<AppState>,
    current: CurrentSession,
    Path(user_id): Path<String>,
    ApiJson(body): ApiJson<AgentSetup>,
) -> Result<ApiJson<AgentView>, ApiError> {
    Ok(ApiJson(
        save_agent(&state, &current, &user_id, &body).await?,
    ))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaTargetView {
    /// low, normal, high, urgent.
    pub priority: String,
    /// A category, or empty for the priority's default.
    #[serde(default)]
    pub category: String,
    /// Business seconds to the first public reply; null: no target.
    #[serde(default)]
    pub first_response_s: Option<i64>,
    /// Business seconds to the solve; null: no target.
    #[serde(default)]
    pub resolution_s: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaTargetList {
    pub items: Vec<SlaTargetView>,
}

/// Supervisors: the SLA targets.
#[utoipa::path(get, path = "/api/v1/admin/sla-targets", tag = "help desk",
    security(("bearer" = [])), responses((status = 200, body = SlaTargetList)))]
pub async fn list_sla_targets(
    State(state): State<AppState>,
    current: CurrentSession,
) -> Result<ApiJson<SlaTargetList>, ApiError> {
    require_supervisor(&state, &current).await?;
    Ok(ApiJson(SlaTargetList {
        items: state
            .db
            .sla_targets()
            .await?
            .into_iter()
            .map(|r| SlaTargetView {
                priority: r.priority,
                category: r.category,
                first_response_s: r.first_response_s,
                resolution_s: r.resolution_s,
            })
            .collect(),
    }))
}

/// Administrators: replaces every SLA target (business seconds; per priority, optionally per
/// priority and category). New deadlines apply to each ticket at its next change or check.
#[utoipa::path(put, path = "/api/v1/admin/sla-targets", tag = "help desk",
    security(("bearer" = [])), request_body = SlaTargetList,
    responses((status = 200, body = SlaTargetList),
        (status = 403, description = "`forbidden`", body = crate::error::Problem),
        (status = 422, description = "`invalid_field`", body = crate::error::Problem)))]
pub async fn put_sla_targets(
    State(state): State<AppState>,
    current: CurrentSession,
    ApiJson(body): ApiJson<SlaTargetList>,
) -> Result<ApiJson<SlaTargetList>, ApiError> {
    Ok(ApiJson(save_sla_targets(&state, &current, &body).await?))
}

/// [`put_sla_targets`] for the pages too: answers the targets as stored.
pub async fn save_sla_targets(
    state: &AppState,
    current: &CurrentSession,
    body: &SlaTargetList,
) -> Result<SlaTargetList, ApiError> {
    require_desk_admin(state, current).await?;
    let mut seen = std::collections::BTreeSet::new();
    let mut rows = Vec::with_capacity(body.items.len());
    for t in &body.items {
        Priority::parse(&t.priority)
            .ok_or_else(|| invalid("priority", "use low, normal, high or urgent"))?;
        if !t.category.is_empty() {
            Category::parse(&t.category).ok_or_else(|| invalid("category", "unknown category"))?;
        }
        for (field, v) in [
            ("first_response_s", t.first_response_s),
            ("resolution_s", t.resolution_s),
        ] {
            if v.is_some_and(|s| !(60..=365 * 86_400).contains(&s)) {
                return Err(invalid(field, "from 60 seconds to a year"));
            }
        }
        if !seen.insert((t.priority.clone(), t.category.clone())) {
            return Err(invalid("items", "each priority and category once"));
        }
        rows.push(store::helpdesk::SlaTargetRow {
            priority: t.priority.clone(),
            category: t.category.clone(),
            first_response_s: t.first_response_s,
            resolution_s: t.resolution_s,
        });
    }
    state.db.replace_sla_targets(&rows).await?;
    state.desk.forget_setup();
    state
        .db
        .audit(
            &format!("user:{}", current.user.id),
            "sla_targets.saved",
            "sla_targets",
            &serde_json::json!({"rows": rows.len()}).to_string(),
        )
        .await?;
    let ApiJson(stored) = list_sla_targets(State(state.clone()), current.clone()).await?;
    Ok(stored)
}
