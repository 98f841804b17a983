//! Callbacks on the pages: `/support/callback`, where a customer picks a hotline, one of its
//! next open half hours and the number to call, and follows or cancels their callbacks; and
//! `/agent/callbacks`, the agents' queue — claim, call, log the outcome with notes.
//!
//! Every answer is the API's own (`callbacks::request_callback`, `my_callbacks`,
//! `cancel_callback`, `slots_for`, `queue_for`, `claim_callback`, `log_attempt`), so the rules,
//! the masking and the audit are the same as through the API.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::admin::StaffConsole;
use super::agent::{console_form, AgentRoles};
use super::{CsrfForm, PageCtx, SignedIn};
use crate::api::callbacks::{
    self as api, cancel_callback, claim_callback, log_attempt, my_callbacks, queue_for,
    request_callback, slots_for, AgentCallbackView, CallbackView, LogAttempt, RequestCallback,
};
use crate::error::{ApiError, Reason};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/support/callback", get(customer_page).post(request))
        .route("/support/callback/{id}/cancel", post(cancel))
        .route("/agent/callbacks", get(agent_page))
        .route("/agent/callbacks/{id}/claim", post(claim))
        .route("/agent/callbacks/{id}/attempt", post(attempt))
}

/// A callback's state in the page's language, and its badge.
fn state_label(ctx: &PageCtx, state: &str) -> (&'static str, &'static str) {
    match state {
        "requested" => (ctx.t("cb.state.requested"), "info"),
        "done" => (ctx.t("cb.state.done"), "ok"),
        "missed" => (ctx.t("cb.state.missed"), "danger"),
        _ => (ctx.t("cb.state.cancelled"), ""),
    }
}

fn outcome_text(ctx: &PageCtx, outcome: &str) -> &'static str {
    match outcome {
        "reached" => ctx.t("cb.outcome.reached"),
        "no_answer" => ctx.t("cb.outcome.no_answer"),
        "busy" => ctx.t("cb.outcome.busy"),
        "voicemail" => ctx.t("cb.outcome.voicemail"),
        _ => ctx.t("cb.outcome.wrong_number"),
    }
}

// --- the customer's page -------------------------------------------------------------------------

struct HotlineChoice {
    id: String,
    name: String,
    selected: bool,
}

struct SlotChoice {
    value: String,
    label: String,
}

struct MyLine {
    v: CallbackView,
    state_label: &'static str,
    badge: &'static str,
    /// What the state means to the customer now.
    meaning: String,
    next: Option<String>,
}

#[derive(Template)]
#[template(path = "support_callback.html")]
struct CustomerPage<'a> {
    ctx: &'a PageCtx,
    hotlines: Vec<HotlineChoice>,
    hotline_id: String,
    time_zone: String,
    slots: Vec<SlotChoice>,
    phone: String,
    message: String,
    mine: Vec<MyLine>,
    notice: Option<&'static str>,
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct CustomerQuery {
    hotline: Option<String>,
    done: Option<String>,
}

fn my_line(ctx: &PageCtx, v: CallbackView) -> MyLine {
    let (state_label, badge) = state_label(ctx, &v.state);
    let meaning = match (v.state.as_str(), v.outcome.as_deref()) {
        ("requested", _) if v.attempts == 0 => ctx.t("cb.mine.requested").to_owned(),
        ("requested", _) => format!(
            "{} {}/{}",
            ctx.t("cb.mine.retrying"),
            v.attempts,
            v.max_attempts
        ),
        ("done", Some("wrong_number")) => ctx.t("cb.mine.wrong_number").to_owned(),
        ("done", _) => ctx.t("cb.mine.done").to_owned(),
        ("missed", _) => ctx.t("cb.mine.missed").to_owned(),
        _ => ctx.t("cb.mine.cancelled").to_owned(),
    };
    MyLine {
        next: v.next_attempt_at.as_deref().map(super::moves::shown_time),
        state_label,
        badge,
        meaning,
        v,
    }
}

#[allow(clippy::too_many_arguments)]
async fn render_customer(
    state: &AppState,
    ctx: &PageCtx,
    current: &crate::auth::CurrentSession,
    hotline: Option<&str>,
    phone: Option<String>,
    message: String,
    notice: Option<&'static str>,
    error: Option<String>,
) -> Result<Response, ApiError> {
    let hotlines = api::hotlines(state).await?;
    let chosen = hotline
        .filter(|h| hotlines.iter().any(|x| x.channel.id == *h))
        .map(str::to_owned)
        .or_else(|| hotlines.first().map(|h| h.channel.id.clone()))
        .unwrap_or_default();
    let (slots, time_zone) = if chosen.is_empty() {
        (Vec::new(), String::new())
    } else {
        let list = slots_for(state, ctx.lang, Some(&chosen), 24).await?;
        (
            list.items
                .into_iter()
                .map(|s| SlotChoice {
                    value: format!("{}|{}", s.window_start, s.window_end),
                    label: s.label,
                })
                .collect(),
            list.hotline.time_zone,
        )
    };
    let phone = match phone {
        Some(p) => p,
        None => state
            .db
            .user_phone(&current.user.id)
            .await?
            .unwrap_or_default(),
    };
    let mine = my_callbacks(state, current, ctx.lang)
        .await?
        .into_iter()
        .map(|v| my_line(ctx, v))
        .collect();
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(ctx.render(
        status,
        &CustomerPage {
            ctx,
            hotlines: hotlines
                .iter()
                .map(|h| HotlineChoice {
                    id: h.channel.id.clone(),
                    name: h.name(ctx.lang).to_owned(),
                    selected: h.channel.id == chosen,
                })
                .collect(),
            hotline_id: chosen,
            time_zone,
            slots,
            phone,
            message,
            mine,
            notice,
            error,
        },
    ))
}

fn customer_notice(done: Option<&str>) -> Option<&'static str> {
    match done {
        Some("requested") => Some("cb.notice.requested"),
        Some("cancelled") => Some("cb.notice.cancelled"),
        _ => None,
    }
}

async fn customer_page(
    State(state): State<AppState>,
    Query(q): Query<CustomerQuery>,
    SignedIn { ctx, current }: SignedIn,
) -> Response {
    let notice = customer_notice(q.done.as_deref()).map(|k| ctx.t(k));
    render_customer(
        &state,
        &ctx,
        &current,
        q.hotline.as_deref(),
        None,
        String::new(),
        notice,
        None,
    )
    .await
    .unwrap_or_else(|e| ctx.error(&e))
}

#[derive(Debug, Deserialize)]
struct RequestForm {
    #[serde(default)]
    hotline_id: String,
    #[serde(default)]
    slot: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    message: String,
}

async fn request(
    State(state): State<AppState>,
    CsrfForm { ctx, form }: CsrfForm<RequestForm>,
) -> Response {
    let Some(current) = ctx.current.clone() else {
        return ctx.to_login();
    };
    let (start, end) = form.slot.split_once('|').unwrap_or(("", ""));
    let asked = RequestCallback {
        phone: Some(form.phone.clone()),
        hotline_id: Some(form.hotline_id.clone()),
        window_start: start.to_owned(),
        window_end: end.to_owned(),
        message: Some(form.message.clone()),
    };
    let result = if start.is_empty() {
        Err(ApiError::new(Reason::InvalidField {
            field: "slot".into(),
            problem: crate::error::FieldProblem::Missing,
        }))
    } else {
        request_callback(&state, &current, ctx.lang, &asked).await
    };
    match result {
        Ok(_) => ctx.see_other("/support/callback?done=requested#mine"),
        Err(e) if e.status().is_client_error() => {
            let (message, _) = ctx.refusal(&e);
            render_customer(
                &state,
                &ctx,
                &current,
                Some(&form.hotline_id),
                Some(form.phone.clone()),
                form.message.clone(),
                None,
                Some(message),
            )
            .await
            .unwrap_or_else(|e| ctx.error(&e))
        }
        Err(e) => ctx.error(&e),
    }
}

#[derive(Debug, Deserialize)]
struct EmptyForm {}

async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm { ctx, .. }: CsrfForm<EmptyForm>,
) -> Response {
    let Some(current) = ctx.current.clone() else {
        return ctx.to_login();
    };
    match cancel_callback(&state, &current, ctx.lang, &id).await {
        Ok(_) => ctx.see_other("/support/callback?done=cancelled#mine"),
        Err(e) if e.status() == StatusCode::NOT_FOUND => super::not_found_page(&ctx),
        Err(e) if e.status().is_client_error() => {
            let (message, _) = ctx.refusal(&e);
            render_customer(
                &state,
                &ctx,
                &current,
                None,
                None,
                String::new(),
                None,
                Some(message),
            )
            .await
            .unwrap_or_else(|e| ctx.error(&e))
        }
        Err(e) => ctx.error(&e),
    }
}

// --- the agents' queue ---------------------------------------------------------------------------

struct QueueLine {
    v: AgentCallbackView,
    state_label: &'static str,
    next: String,
    claimed_until: Option<String>,
}

struct OutcomeChoice {
    value: &'static str,
    label: &'static str,
}

#[derive(Template)]
#[template(path = "agent_callbacks.html")]
struct AgentPage<'a> {
    ctx: &'a PageCtx,
    items: Vec<QueueLine>,
    outcomes: Vec<OutcomeChoice>,
    notice: Option<&'static str>,
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct AgentQuery {
    done: Option<String>,
}

async fn render_agent(
    state: &AppState,
    ctx: &PageCtx,
    current: &crate::auth::CurrentSession,
    notice: Option<&'static str>,
    error: Option<String>,
) -> Result<Response, ApiError> {
    let items = queue_for(state, current, ctx.lang)
        .await?
        .into_iter()
        .map(|v| QueueLine {
            state_label: state_label(ctx, &v.state).0,
            next: super::moves::shown_time(&v.next_attempt_at),
            claimed_until: v.claimed_until.as_deref().map(super::moves::shown_time),
            v,
        })
        .collect();
    let outcomes = helpdesk::callbacks::Outcome::ALL
        .iter()
        .map(|o| OutcomeChoice {
            value: o.as_str(),
            label: outcome_text(ctx, o.as_str()),
        })
        .collect();
    let status = if error.is_some() {
        StatusCode::CONFLICT
    } else {
        StatusCode::OK
    };
    Ok(ctx.render(
        status,
        &AgentPage {
            ctx,
            items,
            outcomes,
            notice,
            error,
        },
    ))
}

async fn agent_page(
    State(state): State<AppState>,
    Query(q): Query<AgentQuery>,
    StaffConsole { ctx, current, .. }: StaffConsole<AgentRoles>,
) -> Response {
    let notice = match q.done.as_deref() {
        Some("claimed") => Some(ctx.t("cb.agent.notice.claimed")),
        Some("logged") => Some(ctx.t("cb.agent.notice.logged")),
        _ => None,
    };
    render_agent(&state, &ctx, &current, notice, None)
        .await
        .unwrap_or_else(|e| ctx.error(&e))
}

/// After a console action: onwards on success, the queue with the refusal otherwise.
async fn answer(
    state: &AppState,
    ctx: &PageCtx,
    current: &crate::auth::CurrentSession,
    result: Result<AgentCallbackView, ApiError>,
    done: &str,
) -> Response {
    match result {
        Ok(v) => ctx.see_other(&format!("/agent/callbacks?done={done}#cb-{}", v.id)),
        Err(e) if e.status() == StatusCode::NOT_FOUND => super::not_found_page(ctx),
        Err(e) if e.status().is_client_error() => {
            let (message, _) = ctx.refusal(&e);
            render_agent(state, ctx, current, None, Some(message))
                .await
                .unwrap_or_else(|e| ctx.error(&e))
        }
        Err(e) => ctx.error(&e),
    }
}

async fn claim(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<EmptyForm>,
) -> Response {
    let (ctx, current, _) = match console_form(&state, form).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let result = claim_callback(&state, &current, ctx.lang, &id).await;
    answer(&state, &ctx, &current, result, "claimed").await
}

#[derive(Debug, Deserialize)]
struct AttemptForm {
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    notes: String,
}

async fn attempt(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<AttemptForm>,
) -> Response {
    let (ctx, current, form) = match console_form(&state, form).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let body = LogAttempt {
        outcome: form.outcome,
        notes: Some(form.notes),
    };
    let result = log_attempt(&state, &current, ctx.lang, &id, &body).await;
    answer(&state, &ctx, &current, result, "logged").await
}
