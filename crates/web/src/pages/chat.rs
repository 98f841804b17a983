//! Live chat and in-app calls on the pages: `/support/chat` (start one, or — when nobody can
//! answer — leave it as a ticket, ask for a call back, or see the hotlines), the customer's
//! conversation `/support/chats/{id}`, and the agents' console `/agent/chats` with every chat
//! and call they hold.
//!
//! Every page works without JavaScript: messages go by form (each render carries a fresh
//! `client_id`, so a form posted twice is one message) and the page shows what is stored. With
//! JavaScript (`static/app.js`) a page talks over `/chats/{id}/ws`: the WebSocket of
//! `api::chats` with the browser's cookie session instead of a bearer token. A browser sends
//! cookies on a WebSocket handshake from any site, so that route takes only handshakes whose
//! `Origin` is this site (cross-site WebSocket hijacking) — browsers always send one.
//!
//! Every answer is the API's own (`start_chat`, `send_message`, `end_chat`, `keep_call_notes`,
//! `open_ws`); this module lays them out.

use askama::Template;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Path, Query, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::admin::StaffConsole;
use super::agent::AgentRoles;
use super::support::{category_choices, category_label, Choice};
use super::{CsrfForm, PageCtx, SignedIn};
use crate::api::chats::{self, ChatView, StartChat};
use crate::api::tickets::{self, CreateTicket};
use crate::auth::CurrentSession;
use crate::error::{ApiError, Reason};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/support/chat", get(start_page).post(start))
        .route("/support/chat/ticket", post(as_ticket))
        .route("/support/chats/{id}", get(room))
        .route("/support/chats/{id}/send", post(send))
        .route("/support/chats/{id}/end", post(end))
        .route("/agent/chats", get(console))
        .route("/agent/chats/{id}/send", post(send))
        .route("/agent/chats/{id}/end", post(end))
        .route("/agent/chats/{id}/notes", post(notes))
        .route("/chats/{id}/ws", get(socket))
}

// --- starting ----------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "support_chat.html")]
struct StartPage<'a> {
    ctx: &'a PageCtx,
    categories: Vec<Choice>,
    message: String,
    voice: bool,
    /// Nobody could answer: the other ways, with what was typed.
    unavailable: bool,
    category: String,
    error: Option<String>,
    mine: Vec<MineLine>,
}

struct MineLine {
    id: String,
    voice: bool,
    state: &'static str,
    ticket_number: i64,
    created: String,
}

#[derive(Debug, Default, Deserialize)]
struct StartQuery {
    media: Option<String>,
    category: Option<String>,
}

async fn start_view(
    state: &AppState,
    ctx: &PageCtx,
    current: &CurrentSession,
    form: &StartForm,
    unavailable: bool,
    error: Option<String>,
) -> Result<Response, ApiError> {
    let mut mine = Vec::new();
    for c in state.db.chats_of(&current.user.id, 10).await? {
        let Some(t) = state.db.ticket(&c.ticket_id).await? else {
            continue;
        };
        mine.push(MineLine {
            id: c.id.clone(),
            voice: c.media == "voice",
            state: if c.state == "open" {
                ctx.t("call.state.connected")
            } else {
                ctx.t("call.state.ended")
            },
            ticket_number: t.number,
            created: super::security::page_time(c.created_at_ms),
        });
    }
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(ctx.render(
        status,
        &StartPage {
            ctx,
            categories: category_choices(ctx, &form.category),
            message: form.message.clone(),
            voice: form.media == "voice",
            unavailable,
            category: form.category.clone(),
            error,
            mine,
        },
    ))
}

async fn start_page(
    State(state): State<AppState>,
    Query(q): Query<StartQuery>,
    SignedIn { ctx, current }: SignedIn,
) -> Response {
    let form = StartForm {
        category: q.category.unwrap_or_default(),
        message: String::new(),
        media: q.media.unwrap_or_default(),
    };
    start_view(&state, &ctx, &current, &form, false, None)
        .await
        .unwrap_or_else(|e| ctx.error(&e))
}

#[derive(Debug, Default, Deserialize)]
struct StartForm {
    #[serde(default)]
    category: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    media: String,
}

async fn start(
    State(state): State<AppState>,
    CsrfForm { ctx, form }: CsrfForm<StartForm>,
) -> Response {
    let Some(current) = ctx.current.clone() else {
        return ctx.to_login();
    };
    let asked = StartChat {
        category: Some(form.category.clone()),
        message: Some(form.message.clone()),
        reference: None,
        media: Some(form.media.clone()),
    };
    let outcome = match chats::start_chat(&state, ctx.lang, &current, asked).await {
        Ok(view) => return ctx.see_other(&format!("/support/chats/{}", view.id)),
        Err(e) if matches!(e.reason(), Reason::ChatUnavailable) => {
            start_view(&state, &ctx, &current, &form, true, None).await
        }
        Err(e) if e.status().is_client_error() => {
            let message = e.problem(ctx.lang, None).detail;
            start_view(&state, &ctx, &current, &form, false, Some(message)).await
        }
        Err(e) => Err(e),
    };
    outcome.unwrap_or_else(|e| ctx.error(&e))
}

/// Nobody could answer the chat: what was typed becomes a ticket.
async fn as_ticket(
    State(state): State<AppState>,
    CsrfForm { ctx, form }: CsrfForm<StartForm>,
) -> Response {
    let Some(current) = ctx.current.clone() else {
        return ctx.to_login();
    };
    let message = form.message.trim();
    if message.is_empty() {
        // Nothing to keep: the ticket form, with the category chosen.
        return ctx.see_other(&format!(
            "/support?category={}#new",
            super::percent_encode(&form.category)
        ));
    }
    let label = category_label(&ctx, &form.category);
    let category = if form.category.is_empty() {
        "other".to_owned()
    } else {
        form.category.clone()
    };
    let asked = CreateTicket {
        subject: format!("{label}: {}", message.chars().take(80).collect::<String>()),
        body: message.to_owned(),
        category,
        reference: None,
        requester_email: None,
        priority: None,
        channel: None,
    };
    match tickets::open(&state, &current, ctx.lang, asked).await {
        Ok(o) => ctx.see_other(&format!("/support/tickets/{}?done=created", o.ticket.id)),
        Err(e) if e.status().is_client_error() => {
            let message = e.problem(ctx.lang, None).detail;
            start_view(&state, &ctx, &current, &form, true, Some(message))
                .await
                .unwrap_or_else(|e| ctx.error(&e))
        }
        Err(e) => ctx.error(&e),
    }
}

// --- a conversation ----------------------------------------------------------------------------

/// A chat as a page shows it (the customer's page and each panel of the console).
pub struct Room {
    pub id: String,
    pub ws: String,
    /// customer, agent.
    pub side: &'static str,
    /// Where its forms post: /support/chats/{id} or /agent/chats/{id}.
    pub base: String,
    pub last_seq: i64,
    pub open: bool,
    pub voice: bool,
    pub status: String,
    pub ticket_id: String,
    pub ticket_number: i64,
    pub messages: Vec<Line>,
    /// A fresh id for the no-script form: posting it twice is one message.
    pub client_id: String,
    pub call: Option<CallLine>,
    pub notes: String,
    pub unread: i64,
    pub category: &'static str,
    /// A call waiting for the agent to pick up.
    pub ringing: bool,
}

pub struct Line {
    pub seq: i64,
    pub from: String,
    pub who: String,
    pub body: String,
    pub time: String,
    pub client_id: String,
}

pub struct CallLine {
    pub state: String,
    pub state_label: &'static str,
    pub wait_s: i64,
    pub duration_s: i64,
    pub outcome: Option<&'static str>,
    pub agent: Option<String>,
}

fn outcome_label(ctx: &PageCtx, outcome: &str) -> &'static str {
    match outcome {
        "completed" => ctx.t("call.outcome.completed"),
        "abandoned" => ctx.t("call.outcome.abandoned"),
        "declined" => ctx.t("call.outcome.declined"),
        _ => ctx.t("call.outcome.failed"),
    }
}

fn status_text(ctx: &PageCtx, v: &ChatView, agent_side: bool) -> String {
    match v.state.as_str() {
        "ended" => ctx.t("chat.status.ended").to_owned(),
        "waiting" => ctx
            .t("chat.status.waiting")
            .replace("{n}", &v.queue_position.to_string())
            .replace(
                "{m}",
                &((v.eta_s.unwrap_or(0) + 59) / 60).max(1).to_string(),
            ),
        _ if agent_side => ctx.t("chat.status.yours").to_owned(),
        _ => match &v.agent {
            Some(a) => format!("{} {} ({})", ctx.t("chat.status.agent"), a.name, a.badge),
            None => ctx.t("chat.status.active").to_owned(),
        },
    }
}

async fn room_of(
    state: &AppState,
    ctx: &PageCtx,
    current: &CurrentSession,
    id: &str,
) -> Result<(Room, bool), ApiError> {
    let full = chats::chat_with_messages(state, current, id).await?;
    let agent_side = full.staff;
    let v = full.view;
    let messages = full
        .messages
        .iter()
        .map(|m| Line {
            seq: m.seq,
            from: m.from.clone(),
            who: match m.from.as_str() {
                "customer" if agent_side => ctx.t("chat.status.customer").to_owned(),
                "customer" => ctx.t("chat.you").to_owned(),
                "agent" if !m.author_name.is_empty() => m.author_name.clone(),
                "agent" => ctx.t("desk.from.agent").to_owned(),
                _ => ctx.t("chat.system").to_owned(),
            },
            body: if m.from == "system" {
                ctx.t("chat.ended_by").to_owned()
            } else {
                m.body.clone()
            },
            time: super::moves::shown_time(&m.at),
            client_id: m.client_id.clone(),
        })
        .collect();
    let call = v.call.as_ref().map(|c| CallLine {
        state: c.state.clone(),
        state_label: ctx.t(&format!("call.state.{}", c.state)),
        wait_s: c.wait_s,
        duration_s: c.duration_s,
        outcome: c.outcome.as_deref().map(|o| outcome_label(ctx, o)),
        agent: c
            .answered_by
            .as_ref()
            .map(|a| format!("{} ({})", a.name, a.badge)),
    });
    let base = if agent_side {
        format!("/agent/chats/{}", v.id)
    } else {
        format!("/support/chats/{}", v.id)
    };
    let room = Room {
        ws: format!("/chats/{}/ws", v.id),
        side: if agent_side { "agent" } else { "customer" },
        base,
        last_seq: v.last_seq,
        open: v.state != "ended",
        voice: v.media == "voice",
        status: status_text(ctx, &v, agent_side),
        ticket_id: v.ticket_id.clone(),
        ticket_number: v.ticket_number,
        messages,
        client_id: store::new_id(),
        notes: v
            .call
            .as_ref()
            .and_then(|c| c.notes.clone())
            .unwrap_or_default(),
        call,
        unread: full.unread,
        category: category_label(ctx, &full.category),
        ringing: v.call.as_ref().is_some_and(|c| c.state == "ringing"),
        id: v.id,
    };
    Ok((room, agent_side))
}

#[derive(Template)]
#[template(path = "support_chat_room.html")]
struct RoomPage<'a> {
    ctx: &'a PageCtx,
    room: Room,
    masked: bool,
}

#[derive(Debug, Default, Deserialize)]
struct RoomQuery {
    masked: Option<String>,
}

async fn room(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<RoomQuery>,
    SignedIn { ctx, current }: SignedIn,
) -> Response {
    match room_of(&state, &ctx, &current, &id).await {
        // Staff look at chats in their console.
        Ok((_, true)) => ctx.see_other(&format!("/agent/chats?open={id}")),
        Ok((room, false)) => ctx.render(
            StatusCode::OK,
            &RoomPage {
                ctx: &ctx,
                room,
                masked: q.masked.is_some(),
            },
        ),
        Err(e) if e.status() == StatusCode::NOT_FOUND => super::not_found_page(&ctx),
        Err(e) => ctx.error(&e),
    }
}

#[derive(Debug, Deserialize)]
struct SendForm {
    client_id: String,
    body: String,
}

/// The no-script way to send (both sides): back to the page the form was on.
async fn send(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm { ctx, form }: CsrfForm<SendForm>,
) -> Response {
    let Some(current) = ctx.current.clone() else {
        return ctx.to_login();
    };
    let agent = match chats::side_of(&state, &current, &id).await {
        Ok(agent) => agent,
        Err(e) if e.status() == StatusCode::NOT_FOUND => return super::not_found_page(&ctx),
        Err(e) => return ctx.error(&e),
    };
    let back = if agent {
        format!("/agent/chats?open={id}")
    } else {
        format!("/support/chats/{id}")
    };
    match chats::send_message(&state, &current, &id, agent, &form.client_id, &form.body).await {
        Ok((_, masked)) if !masked.is_empty() => {
            let join = if agent { "&" } else { "?" };
            ctx.see_other(&format!("{back}{join}masked=1"))
        }
        Ok(_) => ctx.see_other(&back),
        Err(e) if e.status().is_client_error() => ctx.see_other(&back),
        Err(e) => ctx.error(&e),
    }
}

#[derive(Debug, Deserialize)]
struct EmptyForm {}

async fn end(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm { ctx, .. }: CsrfForm<EmptyForm>,
) -> Response {
    let Some(current) = ctx.current.clone() else {
        return ctx.to_login();
    };
    let agent = match chats::side_of(&state, &current, &id).await {
        Ok(agent) => agent,
        Err(e) if e.status() == StatusCode::NOT_FOUND => return super::not_found_page(&ctx),
        Err(e) => return ctx.error(&e),
    };
    match chats::end_chat(&state, &id, &current, None).await {
        Ok(()) if agent => ctx.see_other(&format!("/agent/chats?open={id}")),
        Ok(()) => ctx.see_other(&format!("/support/chats/{id}")),
        Err(e) => ctx.error(&e),
    }
}

// --- the console -------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "agent_chats.html")]
struct ConsolePage<'a> {
    ctx: &'a PageCtx,
    rooms: Vec<Room>,
    /// The one shown in full.
    open: Option<Room>,
    notice: Option<&'static str>,
}

#[derive(Debug, Default, Deserialize)]
struct ConsoleQuery {
    open: Option<String>,
    masked: Option<String>,
    notes: Option<String>,
}

async fn console(
    State(state): State<AppState>,
    Query(q): Query<ConsoleQuery>,
    StaffConsole { ctx, current, .. }: StaffConsole<AgentRoles>,
) -> Response {
    let page = async {
        let mut rooms = Vec::new();
        for chat in state.db.chats_held_by(&current.user.id).await? {
            rooms.push(room_of(&state, &ctx, &current, &chat.id).await?.0);
        }
        let wanted = q
            .open
            .clone()
            .or_else(|| rooms.first().map(|r| r.id.clone()));
        let open = match wanted {
            // A chat that has ended (or a supervisor looking in) is shown too.
            Some(id) => match rooms.iter().position(|r| r.id == id) {
                Some(i) => Some(rooms.remove(i)),
                None => match room_of(&state, &ctx, &current, &id).await {
                    Ok((room, true)) => Some(room),
                    Ok(_) => None,
                    Err(e) if e.status() == StatusCode::NOT_FOUND => None,
                    Err(e) => return Err(e),
                },
            },
            None => None,
        };
        let notice = if q.masked.is_some() {
            Some(ctx.t("agent.notice.masked"))
        } else if q.notes.is_some() {
            Some(ctx.t("call.notes_saved"))
        } else {
            None
        };
        Ok::<_, ApiError>(ctx.render(
            StatusCode::OK,
            &ConsolePage {
                ctx: &ctx,
                rooms,
                open,
                notice,
            },
        ))
    };
    page.await.unwrap_or_else(|e| ctx.error(&e))
}

#[derive(Debug, Deserialize)]
struct NotesForm {
    notes: String,
}

async fn notes(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm { ctx, form }: CsrfForm<NotesForm>,
) -> Response {
    let Some(current) = ctx.current.clone() else {
        return ctx.to_login();
    };
    match chats::keep_call_notes(&state, &current, &id, &form.notes).await {
        Ok(_) => ctx.see_other(&format!("/agent/chats?open={id}&notes=1")),
        Err(e) if e.status() == StatusCode::NOT_FOUND => super::not_found_page(&ctx),
        Err(e) => ctx.error(&e),
    }
}

// --- the WebSocket with a cookie session -------------------------------------------------------

#[derive(Debug, Deserialize)]
struct AfterQuery {
    after: Option<i64>,
}

/// Whether a WebSocket handshake comes from one of our pages: browsers always send `Origin`
/// with one, and it must be this site.
fn from_our_pages(parts: &Parts, public_url: &str) -> bool {
    parts.headers.contains_key(axum::http::header::ORIGIN)
        && super::same_site(&parts.headers, public_url)
}

struct OurOrigin(bool);

impl axum::extract::FromRequestParts<AppState> for OurOrigin {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(OurOrigin(from_our_pages(parts, &state.settings.public_url)))
    }
}

async fn socket(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<AfterQuery>,
    OurOrigin(ours): OurOrigin,
    ctx: PageCtx,
    upgrade: WebSocketUpgrade,
) -> Response {
    if !ours {
        return ApiError::new(Reason::Forbidden).into_response();
    }
    let Some(current) = ctx.current.clone() else {
        return ApiError::new(Reason::Unauthorized).into_response();
    };
    chats::open_ws(state, current, &id, q.after, upgrade)
        .await
        .unwrap_or_else(|e| e.into_response())
}
