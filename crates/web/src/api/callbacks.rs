//! Callbacks (回电): a customer leaves a number and a time window inside a hotline's open
//! hours; agents work the queue, claim a callback so that nobody else calls the same person,
//! and log every try; unanswered ones are tried again per policy (`[live]`
//! `callback_max_attempts`, `callback_retry_after_min`; the rules are `helpdesk::callbacks`).
//!
//! A callback opens a ticket on the `callback` channel through the same path chats and tickets
//! take, so routing, SLA clocks and the consoles treat it as a ticket; every try is an internal
//! note on it. When every try failed, or the number was wrong, the customer is told on the
//! ticket — a reply, so it is mailed like any reply — and on their support page.
//!
//! Agents see the queue with numbers masked; claiming a callback (ten minutes) shows the full
//! number and is audited as a view of the customer's data. A try is recorded only by the agent
//! holding a live claim, once per try number.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use helpcenter::directory::ScheduleSpec;
use helpdesk::callbacks::{self as rules, Outcome, Pending, WindowRefusal};
use helpdesk::change::{Actor, Message, Request};
use helpdesk::ticket::{Category, Priority, TicketStatus};
use serde::{Deserialize, Serialize};
use store::callbacks::{Callback, CallbackAfter, CallbackAttempt};
use store::helpcenter::ContactChannel;
use utoipa::{IntoParams, ToSchema};

use crate::api::help::invalid;
use crate::api::live::parse_phone;
use crate::api::sessions::rfc3339;
use crate::api::tickets::{audit_view, check_text, record_masked, require_staff, scrub};
use crate::auth::CurrentSession;
use crate::desk;
use crate::error::{ApiError, Reason};
use crate::json::ApiJson;
use crate::lang::Lang;
use crate::AppState;

/// The longest note on a try, and the longest message with a request.
pub const CALLBACK_TEXT_CHARS_MAX: usize = 2_000;
/// Slots the page offers: this long, on this grid, at least this far from now.
pub const SLOT_LENGTH_MS: i64 = 30 * 60_000;
const SLOT_STEP_MS: i64 = 30 * 60_000;
const SLOT_LEAD_MS: i64 = 15 * 60_000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/callbacks", post(create))
        .route("/api/v1/callbacks/slots", get(slots))
        .route("/api/v1/callbacks/{id}", delete(cancel))
        .route("/api/v1/me/callbacks", get(mine))
        .route("/api/v1/agent/callbacks", get(queue))
        .route("/api/v1/agent/callbacks/{id}/claim", post(claim))
        .route("/api/v1/agent/callbacks/{id}/attempts", post(attempt))
}

// --- hotlines ------------------------------------------------------------------------------------

/// A hotline that takes callbacks, with its hours.
#[derive(Clone, Debug)]
pub struct Hotline {
    pub channel: ContactChannel,
    pub schedule: hours::Schedule,
}

impl Hotline {
    pub fn name(&self, lang: Lang) -> &str {
        lang.pick(&self.channel.name_en, &self.channel.name_zh)
    }
}

/// The enabled hotlines whose hours read, in the directory's order.
pub async fn hotlines(state: &AppState) -> Result<Vec<Hotline>, ApiError> {
    Ok(state
        .db
        .contact_channels(false)
        .await?
        .into_iter()
        .filter(|c| c.kind == "hotline")
        .filter_map(|channel| {
            let schedule = ScheduleSpec::from_json(&channel.schedule)
                .ok()?
                .to_schedule()
                .ok()?;
            Some(Hotline { channel, schedule })
        })
        .collect())
}

/// The hours a stored callback's hotline keeps (even if it was disabled since); a hotline that
/// is gone counts as open around the clock in the operator's zone, so that tries go on.
async fn schedule_of(state: &AppState, hotline_id: &str) -> Result<hours::Schedule, ApiError> {
    let spec = state
        .db
        .contact_channel(hotline_id)
        .await?
        .and_then(|c| ScheduleSpec::from_json(&c.schedule).ok())
        .and_then(|s| s.to_schedule().ok());
    match spec {
        Some(s) => Ok(s),
        None => hours::Schedule::around_the_clock(&state.help.settings.time_zone)
            .or_else(|_| hours::Schedule::around_the_clock("UTC"))
            .map_err(|e| ApiError::internal(anyhow::anyhow!(e))),
    }
}

/// `start–end` in the hotline's zone: `2026-11-26 09:00–09:30 CST`.
pub fn window_label(start_ms: i64, end_ms: i64, tz: &jiff::tz::TimeZone) -> String {
    let (Ok(a), Ok(b)) = (
        jiff::Timestamp::from_millisecond(start_ms),
        jiff::Timestamp::from_millisecond(end_ms),
    ) else {
        return String::new();
    };
    let (a, b) = (a.to_zoned(tz.clone()), b.to_zoned(tz.clone()));
    if a.date() == b.date() {
        format!(
            "{}–{}",
            a.strftime("%Y-%m-%d %H:%M"),
            b.strftime("%H:%M %Z")
        )
    } else {
        format!(
            "{} – {}",
            a.strftime("%Y-%m-%d %H:%M"),
            b.strftime("%Y-%m-%d %H:%M %Z")
        )
    }
}

// --- views ---------------------------------------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
pub struct HotlineRef {
    pub id: String,
    pub name: String,
    /// The IANA zone its hours are kept in.
    pub time_zone: String,
}

/// A callback as its customer sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallbackView {
    pub id: String,
    pub ticket_id: String,
    pub ticket_number: i64,
    /// requested (we will call), done, missed (every try failed), cancelled.
    pub state: String,
    /// Once done or missed: reached, wrong_number (fix the number and ask again), or the last
    /// failed try's outcome.
    pub outcome: Option<String>,
    pub phone: String,
    pub hotline: HotlineRef,
    pub window_start: String,
    pub window_end: String,
    /// The window in the hotline's time zone, for people.
    pub window_label: String,
    /// When the next try is due, while requested.
    pub next_attempt_at: Option<String>,
    pub attempts: i64,
    pub max_attempts: i64,
    pub created_at: String,
    pub closed_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CallbackList {
    pub items: Vec<CallbackView>,
}

/// A callback as agents see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentCallbackView {
    pub id: String,
    pub ticket_id: String,
    pub ticket_number: i64,
    pub customer_id: String,
    pub state: String,
    /// Masked, except for the agent holding the claim.
    pub phone: String,
    pub hotline: HotlineRef,
    pub window_start: String,
    pub window_end: String,
    pub window_label: String,
    pub next_attempt_at: String,
    /// The try is due now.
    pub due: bool,
    /// The customer's window has ended without a try that reached them.
    pub overdue: bool,
    pub attempts: i64,
    pub max_attempts: i64,
    /// The name of the agent calling now, if any.
    pub claimed_by: Option<String>,
    pub claimed_by_me: bool,
    pub claimed_until: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CallbackQueue {
    pub items: Vec<AgentCallbackView>,
}

/// What the views need besides the row.
struct Lookups {
    hotlines: HashMap<String, ContactChannel>,
    agents: HashMap<String, String>,
    zone: jiff::tz::TimeZone,
}

async fn lookups(state: &AppState) -> Result<Lookups, ApiError> {
    Ok(Lookups {
        hotlines: state
            .db
            .contact_channels(true)
            .await?
            .into_iter()
            .map(|c| (c.id.clone(), c))
            .collect(),
        agents: state
            .db
            .agents()
            .await?
            .into_iter()
            .map(|a| (a.user_id, a.display_name))
            .collect(),
        zone: jiff::tz::TimeZone::get(&state.help.settings.time_zone)
            .unwrap_or(jiff::tz::TimeZone::UTC),
    })
}

impl Lookups {
    fn hotline(&self, id: &str, lang: Lang) -> (HotlineRef, jiff::tz::TimeZone) {
        let channel = self.hotlines.get(id);
        let spec = channel.and_then(|c| ScheduleSpec::from_json(&c.schedule).ok());
        let tz = spec
            .as_ref()
            .and_then(|s| jiff::tz::TimeZone::get(&s.time_zone).ok())
            .unwrap_or_else(|| self.zone.clone());
        let r = HotlineRef {
            id: id.to_owned(),
            name: channel
                .map(|c| lang.pick(&c.name_en, &c.name_zh).clone())
                .unwrap_or_default(),
            time_zone: tz.iana_name().unwrap_or("UTC").to_owned(),
        };
        (r, tz)
    }
}

async fn ticket_number(state: &AppState, ticket_id: &str) -> Result<i64, ApiError> {
    Ok(state.db.ticket(ticket_id).await?.map_or(0, |t| t.number))
}

async fn customer_view(
    state: &AppState,
    l: &Lookups,
    c: &Callback,
    lang: Lang,
) -> Result<CallbackView, ApiError> {
    let (hotline, tz) = l.hotline(&c.hotline_id, lang);
    Ok(CallbackView {
        id: c.id.clone(),
        ticket_id: c.ticket_id.clone(),
        ticket_number: ticket_number(state, &c.ticket_id).await?,
        state: c.state.clone(),
        outcome: c.outcome.clone(),
        phone: c.phone_e164.clone(),
        hotline,
        window_start: rfc3339(c.window_start_ms),
        window_end: rfc3339(c.window_end_ms),
        window_label: window_label(c.window_start_ms, c.window_end_ms, &tz),
        next_attempt_at: (c.state == "requested").then(|| rfc3339(c.next_attempt_at_ms)),
        attempts: c.attempts,
        max_attempts: state.settings.callbacks.max_attempts,
        created_at: rfc3339(c.created_at_ms),
        closed_at: c.closed_at_ms.map(rfc3339),
    })
}

async fn agent_view(
    state: &AppState,
    l: &Lookups,
    c: &Callback,
    me: &str,
    lang: Lang,
    now_ms: i64,
) -> Result<AgentCallbackView, ApiError> {
    let (hotline, tz) = l.hotline(&c.hotline_id, lang);
    let claimant = c.claimant_at(now_ms);
    let mine = claimant == Some(me);
    Ok(AgentCallbackView {
        id: c.id.clone(),
        ticket_id: c.ticket_id.clone(),
        ticket_number: ticket_number(state, &c.ticket_id).await?,
        customer_id: c.customer_id.clone(),
        state: c.state.clone(),
        phone: if mine {
            c.phone_e164.clone()
        } else {
            helpdesk::masking::phone(&c.phone_e164)
        },
        hotline,
        window_start: rfc3339(c.window_start_ms),
        window_end: rfc3339(c.window_end_ms),
        window_label: window_label(c.window_start_ms, c.window_end_ms, &tz),
        next_attempt_at: rfc3339(c.next_attempt_at_ms),
        due: c.state == "requested" && c.next_attempt_at_ms <= now_ms,
        overdue: c.state == "requested" && c.window_end_ms <= now_ms,
        attempts: c.attempts,
        max_attempts: state.settings.callbacks.max_attempts,
        claimed_by: claimant.map(|a| l.agents.get(a).cloned().unwrap_or_default()),
        claimed_by_me: mine,
        claimed_until: claimant.and(c.claimed_until_ms).map(rfc3339),
    })
}

// --- the customer's side -------------------------------------------------------------------------

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestCallback {
    /// The number to call (E.164 or national); default: the number saved with
    /// `PUT /api/v1/me/phone`.
    #[serde(default)]
    pub phone: Option<String>,
    /// The hotline whose hours the window lies in; default: the first hotline (in the
    /// directory's order) open for the whole window.
    #[serde(default)]
    pub hotline_id: Option<String>,
    /// RFC 3339.
    pub window_start: String,
    /// RFC 3339; 15 minutes to 4 hours after the start, inside one opening of the hotline.
    pub window_end: String,
    /// What it is about, for the agent (secrets are hidden).
    #[serde(default)]
    pub message: Option<String>,
}

fn parse_time(field: &str, value: &str) -> Result<i64, ApiError> {
    value
        .trim()
        .parse::<jiff::Timestamp>()
        .map(|t| t.as_millisecond())
        .map_err(|_| invalid(field, "an RFC 3339 time, e.g. 2026-11-26T01:00:00Z"))
}

/// A customer asks to be called back.
#[utoipa::path(post, path = "/api/v1/callbacks", tag = "live support", security(("bearer" = [])),
    request_body = RequestCallback,
    params(("Idempotency-Key" = Option<String>, Header, description = "Same key and body: the first answer again")),
    responses((status = 201, body = CallbackView),
        (status = 403, description = "`forbidden`: staff do not ask for callbacks", body = crate::error::Problem),
        (status = 409, description = "`too_many_callbacks`; `callback_unavailable` (no hotline)", body = crate::error::Problem),
        (status = 422, description = "`callback_window_in_past`, `callback_window_too_short`, `callback_window_too_long`, `callback_window_too_far`, `callback_window_closed` (with `next_open_at`); `invalid_phone`; `invalid_field`", body = crate::error::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    lang: Lang,
    headers: HeaderMap,
    current: CurrentSession,
    ApiJson(body): ApiJson<RequestCallback>,
) -> Response {
    let user_id = current.user.id.clone();
    crate::idempotency::idempotent(
        &state,
        &user_id,
        &headers,
        "POST /api/v1/callbacks",
        &body,
        async {
            match request_callback(&state, &current, lang, &body).await {
                Ok(view) => (StatusCode::CREATED, ApiJson(view)).into_response(),
                Err(e) => e.into_response(),
            }
        },
    )
    .await
}

/// The rules behind both the API and the callback page.
pub async fn request_callback(
    state: &AppState,
    current: &CurrentSession,
    lang: Lang,
    body: &RequestCallback,
) -> Result<CallbackView, ApiError> {
    if current.user.role.is_staff() {
        return Err(ApiError::new(Reason::Forbidden));
    }
    let start = parse_time("window_start", &body.window_start)?;
    let end = parse_time("window_end", &body.window_end)?;
    let phone = match body.phone.as_deref().map(str::trim) {
        Some(p) if !p.is_empty() => parse_phone(state, p)?,
        _ => state
            .db
            .user_phone(&current.user.id)
            .await?
            .ok_or_else(|| {
                invalid(
                    "phone",
                    "give the number to call, or save one with PUT /api/v1/me/phone",
                )
            })?,
    };
    let policy = &state.settings.callbacks;
    if state.db.pending_callbacks(&current.user.id).await? >= policy.pending_max {
        return Err(ApiError::new(Reason::TooManyCallbacks {
            max: policy.pending_max,
        }));
    }
    let now = store::now_ms();
    let all = hotlines(state).await?;
    let hotline = match body.hotline_id.as_deref().map(str::trim) {
        Some(id) if !id.is_empty() => {
            let h = all
                .iter()
                .find(|h| h.channel.id == id)
                .ok_or_else(|| invalid("hotline_id", "not a hotline that takes callbacks"))?;
            rules::check_window(policy, &h.schedule, now, start, end)
                .map_err(|r| ApiError::new(Reason::CallbackWindow(r)))?;
            h
        }
        _ => {
            let Some(first) = all.first() else {
                return Err(ApiError::new(Reason::CallbackUnavailable));
            };
            match all
                .iter()
                .find(|h| rules::check_window(policy, &h.schedule, now, start, end).is_ok())
            {
                Some(h) => h,
                None => {
                    // Say why for the first hotline; a closed window names the earliest
                    // opening of any of them.
                    let why = rules::check_window(policy, &first.schedule, now, start, end)
                        .err()
                        .unwrap_or(WindowRefusal::InPast);
                    let why = match why {
                        WindowRefusal::Closed { .. } => WindowRefusal::Closed {
                            next_open_ms: all
                                .iter()
                                .filter_map(|h| {
                                    rules::opening_at_or_after(&h.schedule, start.max(now))
                                        .map(|(o, _)| o)
                                })
                                .min(),
                        },
                        other => other,
                    };
                    return Err(ApiError::new(Reason::CallbackWindow(why)));
                }
            }
        }
    };
    let mut masked = Vec::new();
    let message = match body.message.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(m) => Some(scrub(
            check_text("message", m, CALLBACK_TEXT_CHARS_MAX)?,
            &mut masked,
        )),
    };
    let label = window_label(start, end, &hotline.schedule.time_zone);
    let subject = match lang {
        Lang::ZhCn => format!("回电预约：{label}"),
        Lang::En => format!("Callback: {label}"),
    };
    let intro = match lang {
        Lang::ZhCn => format!(
            "客户预约回电：{}，时间 {label}（{}）。",
            helpdesk::masking::phone(&phone),
            hotline.name(lang)
        ),
        Lang::En => format!(
            "The customer asks to be called back at {} between {label} ({}).",
            helpdesk::masking::phone(&phone),
            hotline.name(lang)
        ),
    };
    let opened = desk::open_ticket(
        state,
        desk::NewTicket {
            requester_id: current.user.id.clone(),
            subject,
            body: match &message {
                Some(m) => format!("{intro}\n\n{m}"),
                None => intro,
            },
            category: Category::Other,
            priority: Priority::Normal,
            channel: "callback".into(),
            language: lang.tag().to_owned(),
            reference: None,
            tags: Default::default(),
            opened_by: current.user.id.clone(),
        },
    )
    .await?;
    record_masked(
        state,
        &current.user.id,
        opened.ticket.number,
        false,
        &masked,
    )
    .await?;
    let c = Callback {
        id: store::new_id(),
        ticket_id: opened.ticket.id.clone(),
        customer_id: current.user.id.clone(),
        phone_e164: phone,
        hotline_id: hotline.channel.id.clone(),
        window_start_ms: start,
        window_end_ms: end,
        state: "requested".into(),
        outcome: None,
        attempts: 0,
        next_attempt_at_ms: start,
        claimed_by: None,
        claimed_until_ms: None,
        created_at_ms: now,
        updated_at_ms: now,
        closed_at_ms: None,
    };
    state.db.create_callback(&c).await?;
    customer_view(state, &lookups(state).await?, &c, lang).await
}

/// The caller's callbacks, newest first.
pub async fn my_callbacks(
    state: &AppState,
    current: &CurrentSession,
    lang: Lang,
) -> Result<Vec<CallbackView>, ApiError> {
    let l = lookups(state).await?;
    let mut items = Vec::new();
    for c in state.db.callbacks_of(&current.user.id, 50).await? {
        items.push(customer_view(state, &l, &c, lang).await?);
    }
    Ok(items)
}

#[utoipa::path(get, path = "/api/v1/me/callbacks", tag = "live support", security(("bearer" = [])),
    responses((status = 200, body = CallbackList)))]
pub async fn mine(
    State(state): State<AppState>,
    lang: Lang,
    current: CurrentSession,
) -> Result<ApiJson<CallbackList>, ApiError> {
    Ok(ApiJson(CallbackList {
        items: my_callbacks(&state, &current, lang).await?,
    }))
}

/// The customer cancels one of their callbacks that still waits.
pub async fn cancel_callback(
    state: &AppState,
    current: &CurrentSession,
    lang: Lang,
    id: &str,
) -> Result<CallbackView, ApiError> {
    let c = state
        .db
        .callback(id)
        .await?
        .filter(|c| c.customer_id == current.user.id)
        .ok_or_else(ApiError::not_found)?;
    if !state
        .db
        .cancel_callback(id, &current.user.id, store::now_ms())
        .await?
    {
        return Err(ApiError::new(Reason::CallbackNotPending));
    }
    // Nobody needs to work a ticket nobody touched yet; one an agent is working stays theirs.
    let untouched = state
        .db
        .ticket(&c.ticket_id)
        .await?
        .is_some_and(|t| t.status == "new");
    let note = match lang {
        Lang::ZhCn => "客户取消了回电预约。",
        Lang::En => "The customer cancelled the callback.",
    };
    ticket_note(
        state,
        &c.ticket_id,
        &Actor::System,
        None,
        Request {
            message: Some(Message::Internal),
            status: untouched.then_some(TicketStatus::Solved),
            ..Default::default()
        },
        note.to_owned(),
    )
    .await?;
    let c = state
        .db
        .callback(id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    customer_view(state, &lookups(state).await?, &c, lang).await
}

/// Cancels one of the caller's callbacks (404 for anyone else's).
#[utoipa::path(delete, path = "/api/v1/callbacks/{id}", tag = "live support", security(("bearer" = [])),
    responses((status = 200, body = CallbackView),
        (status = 404, description = "`not_found`", body = crate::error::Problem),
        (status = 409, description = "`callback_not_pending`", body = crate::error::Problem)))]
pub async fn cancel(
    State(state): State<AppState>,
    lang: Lang,
    current: CurrentSession,
    Path(id): Path<String>,
) -> Result<ApiJson<CallbackView>, ApiError> {
    Ok(ApiJson(cancel_callback(&state, &current, lang, &id).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SlotQuery {
    /// Default: the first hotline that takes callbacks.
    pub hotline_id: Option<String>,
    /// At most 96; 12 by default.
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Slot {
    pub window_start: String,
    pub window_end: String,
    /// In the hotline's time zone.
    pub label: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SlotList {
    pub hotline: HotlineRef,
    pub items: Vec<Slot>,
}

/// The next half-hour windows of a hotline, to pick from.
pub async fn slots_for(
    state: &AppState,
    lang: Lang,
    hotline_id: Option<&str>,
    limit: usize,
) -> Result<SlotList, ApiError> {
    let all = hotlines(state).await?;
    let h = match hotline_id.map(str::trim).filter(|s| !s.is_empty()) {
        Some(id) => all
            .iter()
            .find(|h| h.channel.id == id)
            .ok_or_else(|| invalid("hotline_id", "not a hotline that takes callbacks"))?,
        None => all
            .first()
            .ok_or_else(|| ApiError::new(Reason::CallbackUnavailable))?,
    };
    let tz = &h.schedule.time_zone;
    let items = rules::slots(
        &state.settings.callbacks,
        &h.schedule,
        store::now_ms(),
        SLOT_LEAD_MS,
        SLOT_STEP_MS,
        SLOT_LENGTH_MS,
        limit,
    )
    .into_iter()
    .map(|(a, b)| Slot {
        window_start: rfc3339(a),
        window_end: rfc3339(b),
        label: window_label(a, b, tz),
    })
    .collect();
    Ok(SlotList {
        hotline: HotlineRef {
            id: h.channel.id.clone(),
            name: h.name(lang).to_owned(),
            time_zone: tz.iana_name().unwrap_or("UTC").to_owned(),
        },
        items,
    })
}

#[utoipa::path(get, path = "/api/v1/callbacks/slots", tag = "live support",
    params(SlotQuery),
    responses((status = 200, body = SlotList),
        (status = 409, description = "`callback_unavailable`", body = crate::error::Problem),
        (status = 422, description = "`invalid_field`", body = crate::error::Problem)))]
pub async fn slots(
    State(state): State<AppState>,
    lang: Lang,
    Query(q): Query<SlotQuery>,
) -> Result<ApiJson<SlotList>, ApiError> {
    let limit = q.limit.unwrap_or(12);
    if !(1..=96).contains(&limit) {
        return Err(invalid("limit", "from 1 to 96"));
    }
    Ok(ApiJson(
        slots_for(&state, lang, q.hotline_id.as_deref(), limit).await?,
    ))
}

// --- the agents' side ----------------------------------------------------------------------------

/// The queue as `current` sees it (staff only).
pub async fn queue_for(
    state: &AppState,
    current: &CurrentSession,
    lang: Lang,
) -> Result<Vec<AgentCallbackView>, ApiError> {
    require_staff(state, current).await?;
    let l = lookups(state).await?;
    let now = store::now_ms();
    let mut items = Vec::new();
    for c in state.db.callback_queue(100).await? {
        items.push(agent_view(state, &l, &c, &current.user.id, lang, now).await?);
    }
    Ok(items)
}

/// Staff: callbacks waiting for a try, the one due first first (numbers masked).
#[utoipa::path(get, path = "/api/v1/agent/callbacks", tag = "live support", security(("bearer" = [])),
    responses((status = 200, body = CallbackQueue),
        (status = 403, description = "`forbidden`; `second_factor_required`", body = crate::error::Problem)))]
pub async fn queue(
    State(state): State<AppState>,
    lang: Lang,
    current: CurrentSession,
) -> Result<ApiJson<CallbackQueue>, ApiError> {
    Ok(ApiJson(CallbackQueue {
        items: queue_for(&state, &current, lang).await?,
    }))
}

/// Gives the callback to `current` for the policy's claim time and shows the full number
/// (audited).
pub async fn claim_callback(
    state: &AppState,
    current: &CurrentSession,
    lang: Lang,
    id: &str,
) -> Result<AgentCallbackView, ApiError> {
    require_staff(state, current).await?;
    let policy = &state.settings.callbacks;
    let now = store::now_ms();
    let claimed = state
        .db
        .claim_callback(
            id,
            &current.user.id,
            now,
            now + policy.claim_ms,
            now + policy.claim_early_ms,
        )
        .await?;
    let Some(c) = claimed else {
        let c = state
            .db
            .callback(id)
            .await?
            .ok_or_else(ApiError::not_found)?;
        return Err(ApiError::new(if c.state != "requested" {
            Reason::CallbackNotPending
        } else if c.next_attempt_at_ms > now + policy.claim_early_ms {
            Reason::CallbackNotDue
        } else {
            Reason::CallbackClaimed
        }));
    };
    audit_view(
        state,
        current,
        "customer.viewed",
        &c.customer_id,
        serde_json::json!({"what": "callback_phone", "callback": c.id}),
    )
    .await?;
    agent_view(
        state,
        &lookups(state).await?,
        &c,
        &current.user.id,
        lang,
        now,
    )
    .await
}

/// Staff: claims a callback for ten minutes — nobody else can claim it meanwhile — and
/// answers the full number (an audited view of the customer's data).
#[utoipa::path(post, path = "/api/v1/agent/callbacks/{id}/claim", tag = "live support", security(("bearer" = [])),
    responses((status = 200, body = AgentCallbackView),
        (status = 404, description = "`not_found`", body = crate::error::Problem),
        (status = 409, description = "`callback_claimed` (another agent holds it); `callback_not_due`; `callback_not_pending`", body = crate::error::Problem)))]
pub async fn claim(
    State(state): State<AppState>,
    lang: Lang,
    current: CurrentSession,
    Path(id): Path<String>,
) -> Result<ApiJson<AgentCallbackView>, ApiError> {
    Ok(ApiJson(claim_callback(&state, &current, lang, &id).await?))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogAttempt {
    /// reached, no_answer, busy, voicemail, wrong_number.
    pub outcome: String,
    /// What happened (secrets are hidden, as in ticket notes).
    #[serde(default)]
    pub notes: Option<String>,
}

/// A try's outcome in a language.
pub fn outcome_label(outcome: &str, lang: Lang) -> &'static str {
    match (outcome, lang) {
        ("reached", Lang::En) => "reached",
        ("reached", Lang::ZhCn) => "已接通",
        ("no_answer", Lang::En) => "no answer",
        ("no_answer", Lang::ZhCn) => "无人接听",
        ("busy", Lang::En) => "busy",
        ("busy", Lang::ZhCn) => "占线",
        ("voicemail", Lang::En) => "voicemail",
        ("voicemail", Lang::ZhCn) => "转入语音信箱",
        ("wrong_number", Lang::En) => "wrong number",
        ("wrong_number", Lang::ZhCn) => "号码错误",
        (_, Lang::En) => "other",
        (_, Lang::ZhCn) => "其他",
    }
}

/// Applies `request` with `body` to a ticket; a ticket that refuses (closed) keeps the
/// callback's record anyway.
async fn ticket_note(
    state: &AppState,
    ticket_id: &str,
    actor: &Actor,
    actor_id: Option<&str>,
    request: Request,
    body: String,
) -> Result<(), ApiError> {
    let asked = desk::Asked {
        request,
        body: Some(body),
        channel: "callback".into(),
        ..Default::default()
    };
    match desk::change_ticket(state, ticket_id, actor, actor_id, &asked).await {
        Ok(_) => Ok(()),
        Err(e) if matches!(e.reason(), Reason::TicketRefused(_)) => {
            tracing::info!(ticket_id, "a callback's ticket took no note");
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// Records a try by the agent holding the callback, and what it leads to.
pub async fn log_attempt(
    state: &AppState,
    current: &CurrentSession,
    lang: Lang,
    id: &str,
    body: &LogAttempt,
) -> Result<AgentCallbackView, ApiError> {
    require_staff(state, current).await?;
    let outcome = Outcome::parse(body.outcome.trim()).ok_or_else(|| {
        invalid(
            "outcome",
            "use reached, no_answer, busy, voicemail or wrong_number",
        )
    })?;
    let mut masked = Vec::new();
    let notes = match body.notes.as_deref().map(str::trim) {
        None | Some("") => String::new(),
        Some(n) => scrub(
            check_text("notes", n, CALLBACK_TEXT_CHARS_MAX)?,
            &mut masked,
        ),
    };
    let c = state
        .db
        .callback(id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let now = store::now_ms();
    if c.state != "requested" {
        return Err(ApiError::new(Reason::CallbackNotPending));
    }
    if c.claimant_at(now) != Some(current.user.id.as_str()) {
        return Err(ApiError::new(Reason::CallbackNotClaimed));
    }
    let policy = &state.settings.callbacks;
    let schedule = schedule_of(state, &c.hotline_id).await?;
    let after = rules::after_attempt(
        policy,
        &schedule,
        &Pending {
            attempts: c.attempts,
            window_start_ms: c.window_start_ms,
            window_end_ms: c.window_end_ms,
        },
        outcome,
        now,
    );
    let attempt = CallbackAttempt {
        callback_id: c.id.clone(),
        n: after.attempts,
        agent_id: current.user.id.clone(),
        outcome: outcome.as_str().to_owned(),
        notes: notes.clone(),
        at_ms: now,
    };
    let written = state
        .db
        .record_callback_attempt(
            &attempt,
            &CallbackAfter {
                state: after.state.as_str().to_owned(),
                outcome: (after.state != rules::State::Requested)
                    .then(|| outcome.as_str().to_owned()),
                next_attempt_at_ms: after.next_attempt_at_ms,
                window_start_ms: after.window_start_ms,
                window_end_ms: after.window_end_ms,
            },
        )
        .await?;
    if !written {
        // Someone else recorded this try, the claim lapsed, or the customer cancelled.
        let again = state
            .db
            .callback(id)
            .await?
            .ok_or_else(ApiError::not_found)?;
        return Err(ApiError::new(if again.state != "requested" {
            Reason::CallbackNotPending
        } else {
            Reason::CallbackNotClaimed
        }));
    }
    let ticket = state.db.ticket(&c.ticket_id).await?;
    let ticket_number = ticket.as_ref().map_or(0, |t| t.number);
    record_masked(state, &c.customer_id, ticket_number, true, &masked).await?;
    // The ticket speaks its own language, whoever reads it.
    let tl = ticket
        .as_ref()
        .and_then(|t| Lang::from_tag(&t.language))
        .unwrap_or(lang);
    let tz = &schedule.time_zone;
    let next = match after.state {
        rules::State::Requested => match tl {
            Lang::ZhCn => format!(
                " 下次回电：{}。",
                window_label(after.next_attempt_at_ms, after.window_end_ms, tz)
            ),
            Lang::En => format!(
                " Next try: {}.",
                window_label(after.next_attempt_at_ms, after.window_end_ms, tz)
            ),
        },
        rules::State::Missed => tl
            .pick(
                " Every try failed: the callback is missed.",
                " 多次尝试均未接通，回电已结束。",
            )
            .to_owned(),
        _ => String::new(),
    };
    let note = match tl {
        Lang::ZhCn => format!(
            "回电第 {}/{} 次：{}。{next}{}",
            after.attempts,
            policy.max_attempts,
            outcome_label(outcome.as_str(), tl),
            if notes.is_empty() {
                String::new()
            } else {
                format!("\n\n{notes}")
            }
        ),
        Lang::En => format!(
            "Callback try {}/{}: {}.{next}{}",
            after.attempts,
            policy.max_attempts,
            outcome_label(outcome.as_str(), tl),
            if notes.is_empty() {
                String::new()
            } else {
                format!("\n\n{notes}")
            }
        ),
    };
    ticket_note(
        state,
        &c.ticket_id,
        &Actor::Agent(current.user.id.clone()),
        Some(&current.user.id),
        Request {
            message: Some(Message::Internal),
            ..Default::default()
        },
        note,
    )
    .await?;
    // The customer hears when we give up, and when the number was wrong: a reply on the
    // ticket, mailed like every reply, and the state on their support page.
    let masked_phone = helpdesk::masking::phone(&c.phone_e164);
    let tell = match (after.state, outcome) {
        (rules::State::Missed, _) => Some(match tl {
            Lang::ZhCn => format!(
                "我们按您的预约拨打了 {masked_phone}，共尝试 {} 次，均未能接通。如仍需帮助，请直接回复此工单，或在「支持」页面重新预约回电。",
                after.attempts
            ),
            Lang::En => format!(
                "We called {masked_phone} as you asked, {} times, and could not reach you. If you still need help, reply to this ticket or book a new callback on the support page.",
                after.attempts
            ),
        }),
        (_, Outcome::WrongNumber) => Some(match tl {
            Lang::ZhCn => format!(
                "我们按您的预约拨打了 {masked_phone}，但该号码似乎不是您的号码。请核对号码后在「支持」页面重新预约回电，或直接回复此工单。"
            ),
            Lang::En => format!(
                "We called {masked_phone} as you asked, but it does not seem to be your number. Check the number and book a new callback on the support page, or reply to this ticket."
            ),
        }),
        _ => None,
    };
    if let Some(text) = tell {
        ticket_note(
            state,
            &c.ticket_id,
            &Actor::System,
            None,
            Request {
                message: Some(Message::Public),
                status: Some(TicketStatus::Pending),
                ..Default::default()
            },
            text,
        )
        .await?;
    }
    let c = state
        .db
        .callback(id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    agent_view(
        state,
        &lookups(state).await?,
        &c,
        &current.user.id,
        lang,
        now,
    )
    .await
}

/// Staff: records a try by the agent holding the claim (`callback_not_claimed` otherwise);
/// `no_answer`, `busy` and `voicemail` schedule the next try or, after the last, make the
/// callback missed and tell the customer; `reached` and `wrong_number` make it done.
#[utoipa::path(post, path = "/api/v1/agent/callbacks/{id}/attempts", tag = "live support", security(("bearer" = [])),
    request_body = LogAttempt,
    params(("Idempotency-Key" = Option<String>, Header, description = "Same key and body: the first answer again")),
    responses((status = 200, body = AgentCallbackView),
        (status = 404, description = "`not_found`", body = crate::error::Problem),
        (status = 409, description = "`callback_not_claimed`; `callback_not_pending`", body = crate::error::Problem),
        (status = 422, description = "`invalid_field`", body = crate::error::Problem)))]
pub async fn attempt(
    State(state): State<AppState>,
    lang: Lang,
    headers: HeaderMap,
    current: CurrentSession,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<LogAttempt>,
) -> Response {
    let user_id = current.user.id.clone();
    let route = format!("POST /api/v1/agent/callbacks/{id}/attempts");
    crate::idempotency::idempotent(&state, &user_id, &headers, &route, &body, async {
        match log_attempt(&state, &current, lang, &id, &body).await {
            Ok(view) => ApiJson(view).into_response(),
            Err(e) => e.into_response(),
        }
    })
    .await
}
