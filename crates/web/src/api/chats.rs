//! Live chat (在线客服): a customer starts a chat, waits in the queue with their position and an
//! estimated wait, and talks with the agent routing gives it to, over a WebSocket.
//!
//! A chat is a ticket (channel `chat`) with a conversation beside it, so routing, SLA clocks,
//! the consoles and the customer context treat it like any ticket; the help desk's routing
//! gives it to the least-loaded online agent with the skill. When nobody who could take it is
//! online, starting one is refused with `chat_unavailable`, and the pages offer a ticket or the
//! hotline instead of a dead wait.
//!
//! # The WebSocket (`GET /api/v1/chats/{id}/ws?after=<seq>`)
//! Only the customer whose chat it is, the agent holding its ticket, and supervisors may
//! connect (404 for everyone else, as for an id that does not exist). The server sends JSON
//! frames:
//! - `{"type":"hello","chat":{…},"you":"customer"|"agent"}` first;
//! - `{"type":"message","seq":n,"id":…,"from":"customer"|"agent"|"system","author_name":…,
//!   "body":…,"client_id":…,"at":…}` for every message after `after`, in `seq` order, then
//!   live — each exactly once per connection;
//! - `{"type":"ack","client_id":…,"seq":n,"duplicate":bool,"masked":[…]}` for each `send`;
//! - `{"type":"queue","position":n,"eta_s":s}` while waiting, when it changes;
//! - `{"type":"agent","name":…,"badge":…}` when an agent takes the chat;
//! - `{"type":"typing","from":…}`, `{"type":"read","from":…,"seq":n}`;
//! - `{"type":"notice","code":"secret_masked","kinds":[…]}` to a sender whose message had a
//!   secret hidden; `{"type":"ended"}`; `{"type":"error","code":…,"detail":…}`.
//!
//! The client sends `{"type":"send","client_id":"<its own id>","body":"…"}`,
//! `{"type":"typing"}`, `{"type":"read","seq":n}` and `{"type":"end"}`. A client that lost its
//! connection reconnects with `after` = the last `seq` it saw and resends what was not
//! acknowledged with the same `client_id`: nothing is lost, and nothing is stored or shown twice.
//!
//! # In-app voice calls
//! A call is a chat started with `"media":"voice"` (ticket channel `in_app_call`): it queues
//! and is routed like a chat, and its text side stays usable. On a call's connections `hello`
//! also carries `ice_servers` (the operator's STUN/TURN servers, as `RTCIceServer`s) and the
//! server sends `{"type":"call","state":"ringing"|"connected"|"ended","outcome":…}` when the
//! call's state changes. The agent picks up with `{"type":"answer"}`; then the caller's browser
//! makes the WebRTC offer. Each side sends `{"type":"signal","data":{…}}` (an SDP description
//! or an ICE candidate, at most 16 KiB, at most 400 per call, only once the call is connected),
//! which reaches the other side as `{"type":"signal","from":…,"data":{…}}`, numbered and stored
//! like messages so it crosses nodes. `{"type":"hangup"}` (or `{"type":"hangup","reason":
//! "failed"}` when the media never connected) ends the call and the chat. The call record —
//! wait, duration, agent, outcome, and the agent's notes (`PUT /api/v1/chats/{id}/call-notes`)
//! — is in `call` of the chat's view and is kept on the ticket when the call ends.

use std::time::Duration;

use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use helpdesk::routing::{Language, Need};
use helpdesk::ticket::{Category, Priority};
use serde::{Deserialize, Serialize};
use store::chats::{Appended, Chat, ChatMessage};
use utoipa::{IntoParams, ToSchema};

use crate::api::help::invalid;
use crate::api::sessions::rfc3339;
use crate::api::tickets::{acts_as_staff, check_text, masked_names, record_masked, scrub};
use crate::auth::CurrentSession;
use crate::chat::Nudge;
use crate::desk;
use crate::error::{ApiError, Reason};
use crate::json::ApiJson;
use crate::lang::Lang;
use crate::AppState;

/// The longest chat message.
pub const CHAT_MESSAGE_CHARS_MAX: usize = 4_000;
/// A rough handling time per chat, for the estimated wait.
const HANDLE_S: i64 = 180;
/// At most one typing mark per connection per this long.
const TYPING_EVERY: Duration = Duration::from_secs(1);
/// How often a waiting customer's connection looks at the queue.
const QUEUE_LOOK: Duration = Duration::from_secs(2);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/chats", post(start).get(mine))
        .route("/api/v1/chats/{id}", get(one))
        .route("/api/v1/chats/{id}/ws", get(ws))
        .route("/api/v1/chats/{id}/end", post(end))
        .route(
            "/api/v1/chats/{id}/call-notes",
            axum::routing::put(put_call_notes),
        )
        .route("/api/v1/agent/chats", get(held))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartChat {
    /// login_failed, funds_delayed, cannot_trade, account_security, payment_failed, other
    /// (default).
    #[serde(default)]
    pub category: Option<String>,
    /// What it is about, the chat's first message.
    #[serde(default)]
    pub message: Option<String>,
    /// An entry of the caller's activity history it is about.
    #[serde(default)]
    pub reference: Option<String>,
    /// text (default) or voice: an in-app call (free, over the internet).
    #[serde(default)]
    pub media: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChatView {
    pub id: String,
    /// The ticket the chat belongs to (its transcript stays there).
    pub ticket_id: String,
    pub ticket_number: i64,
    /// waiting (for an agent), active, ended.
    pub state: String,
    /// People ahead plus one, while waiting; 0 otherwise.
    pub queue_position: i64,
    /// A rough estimate while waiting.
    pub eta_s: Option<i64>,
    pub agent: Option<crate::api::live::AgentBadge>,
    pub last_seq: i64,
    pub created_at: String,
    pub ended_at: Option<String>,
    /// text, voice.
    pub media: String,
    /// A voice call's record.
    pub call: Option<CallView>,
}

/// An in-app call's record.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallView {
    /// waiting (for an agent), ringing (at the agent), connected, ended.
    pub state: String,
    /// From the start until the agent picked up (or until it ended unanswered).
    pub wait_s: i64,
    /// From the pick-up until the end; 0 when never answered.
    pub duration_s: i64,
    /// The agent who picked up.
    pub answered_by: Option<crate::api::live::AgentBadge>,
    /// completed, abandoned (the caller hung up first), declined (the agent ended it unanswered),
    /// failed (the audio never connected); none while the call lasts.
    pub outcome: Option<String>,
    /// The agent's notes: staff only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChatMessageView {
    pub seq: i64,
    pub id: String,
    /// customer, agent, system.
    pub from: String,
    pub author_name: String,
    pub body: String,
    pub client_id: String,
    pub at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChatWithMessages {
    #[serde(flatten)]
    pub chat: ChatView,
    pub messages: Vec<ChatMessageView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChatList {
    pub items: Vec<ChatView>,
}

/// Who is on a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Customer,
    /// The agent holding the ticket, or a supervisor looking in.
    Staff,
}

/// The chat and the caller's side in it; 404 for anyone else.
/// A chat and its ticket (404 when there is none).
async fn chat_and_ticket(
    state: &AppState,
    id: &str,
) -> Result<(Chat, store::tickets::Ticket), ApiError> {
    let chat = state.db.chat(id).await?.ok_or_else(ApiError::not_found)?;
    let ticket = state
        .db
        .ticket(&chat.ticket_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok((chat, ticket))
}

async fn participant(
    state: &AppState,
    current: &CurrentSession,
    id: &str,
) -> Result<(Chat, store::tickets::Ticket, Side), ApiError> {
    let (chat, ticket) = chat_and_ticket(state, id).await?;
    if chat.customer_id == current.user.id {
        return Ok((chat, ticket, Side::Customer));
    }
    if !current.user.role.is_staff() {
        return Err(ApiError::not_found());
    }
    acts_as_staff(state, current).await?;
    let supervisor = matches!(
        current.user.role,
        identity::Role::Supervisor | identity::Role::Admin
    );
    if supervisor || ticket.assignee_id.as_deref() == Some(current.user.id.as_str()) {
        Ok((chat, ticket, Side::Staff))
    } else {
        Err(ApiError::not_found())
    }
}

pub(crate) async fn chat_view(
    state: &AppState,
    chat: &Chat,
    ticket: &store::tickets::Ticket,
    staff: bool,
) -> Result<ChatView, ApiError> {
    let waiting = chat.state == "open" && ticket.assignee_id.is_none();
    let (queue_position, eta_s) = if waiting {
        let ahead = match &ticket.group_id {
            Some(g) => {
                state
                    .db
                    .chats_ahead(g, chat.created_at_ms, &chat.id)
                    .await?
            }
            None => 0,
        };
        let online = match &ticket.group_id {
            Some(g) => online_agents(state, g).await?,
            None => 0,
        }
        .max(1);
        let position = ahead + 1;
        (position, Some((position + online - 1) / online * HANDLE_S))
    } else {
        (0, None)
    };
    let agent = match &ticket.assignee_id {
        Some(a) => Some(badge_of(state, a).await?),
        None => None,
    };
    let call = if chat.media == "voice" {
        Some(call_view(state, chat, waiting, staff).await?)
    } else {
        None
    };
    Ok(ChatView {
        media: chat.media.clone(),
        call,
        id: chat.id.clone(),
        ticket_id: ticket.id.clone(),
        ticket_number: ticket.number,
        state: if chat.state == "ended" {
            "ended".into()
        } else if waiting {
            "waiting".into()
        } else {
            "active".into()
        },
        queue_position,
        eta_s,
        agent,
        last_seq: chat.last_seq,
        created_at: rfc3339(chat.created_at_ms),
        ended_at: chat.ended_at_ms.map(rfc3339),
    })
}

async fn call_view(
    state: &AppState,
    chat: &Chat,
    waiting: bool,
    staff: bool,
) -> Result<CallView, ApiError> {
    let now = store::now_ms();
    let end = chat.ended_at_ms.unwrap_or(now);
    let state_name = call_state(chat, waiting);
    Ok(CallView {
        state: state_name.into(),
        wait_s: (chat.answered_at_ms.unwrap_or(end) - chat.created_at_ms).max(0) / 1000,
        duration_s: chat.answered_at_ms.map_or(0, |at| (end - at).max(0) / 1000),
        answered_by: match &chat.answered_by {
            Some(a) => Some(badge_of(state, a).await?),
            None => None,
        },
        outcome: chat.call_outcome.clone(),
        notes: staff.then(|| chat.call_notes.clone()),
    })
}

/// waiting, ringing, connected or ended.
fn call_state(chat: &Chat, waiting: bool) -> &'static str {
    if chat.state == "ended" {
        "ended"
    } else if chat.answered_at_ms.is_some() {
        "connected"
    } else if waiting {
        "waiting"
    } else {
        "ringing"
    }
}

pub(crate) async fn badge_of(
    state: &AppState,
    user_id: &str,
) -> Result<crate::api::live::AgentBadge, ApiError> {
    Ok(crate::api::live::AgentBadge {
        name: state
            .db
            .agent(user_id)
            .await?
            .map(|a| a.display_name)
            .unwrap_or_default(),
        badge: state.db.agent_badge(user_id).await?.unwrap_or_default(),
    })
}

async fn online_agents(state: &AppState, group_id: &str) -> Result<i64, ApiError> {
    Ok(state
        .db
        .agents()
        .await?
        .iter()
        .filter(|a| a.group_id == group_id && a.presence == "online")
        .count() as i64)
}

fn message_view(
    m: &ChatMessage,
    names: &std::collections::HashMap<String, String>,
) -> ChatMessageView {
    ChatMessageView {
        seq: m.seq,
        id: m.id.clone(),
        from: m.author_kind.clone(),
        author_name: match m.author_kind.as_str() {
            "agent" => m
                .author_id
                .as_ref()
                .and_then(|a| names.get(a))
                .cloned()
                .unwrap_or_default(),
            _ => String::new(),
        },
        body: m.body.clone(),
        client_id: m.client_id.clone(),
        at: rfc3339(m.created_at_ms),
    }
}

async fn agent_names(
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

/// A customer starts a chat. Refused with `chat_unavailable` (409) when nobody who could take
/// it is online: open a ticket or call instead.
#[utoipa::path(post, path = "/api/v1/chats", tag = "live support", security(("bearer" = [])),
    request_body = StartChat,
    responses((status = 201, body = ChatView),
        (status = 403, description = "`forbidden`: staff do not start chats", body = crate::error::Problem),
        (status = 409, description = "`chat_unavailable`", body = crate::error::Problem),
        (status = 422, description = "`invalid_field`", body = crate::error::Problem)))]
pub async fn start(
    State(state): State<AppState>,
    lang: Lang,
    current: CurrentSession,
    ApiJson(body): ApiJson<StartChat>,
) -> Result<(StatusCode, ApiJson<ChatView>), ApiError> {
    let view = start_chat(&state, lang, &current, body).await?;
    Ok((StatusCode::CREATED, ApiJson(view)))
}

/// Starts a chat or call for a customer (the API's and the pages' way in).
pub(crate) async fn start_chat(
    state: &AppState,
    lang: Lang,
    current: &CurrentSession,
    body: StartChat,
) -> Result<ChatView, ApiError> {
    let state = state.clone();
    if current.user.role.is_staff() {
        return Err(ApiError::new(Reason::Forbidden));
    }
    let category = match body.category.as_deref() {
        None | Some("") => Category::Other,
        Some(c) => Category::parse(c).ok_or_else(|| {
            invalid(
                "category",
                "use login_failed, funds_delayed, cannot_trade, account_security, payment_failed or other",
            )
        })?,
    };
    let voice = match body.media.as_deref() {
        None | Some("") | Some("text") => false,
        Some("voice") => true,
        Some(_) => return Err(invalid("media", "use text or voice")),
    };
    let mut masked = Vec::new();
    let first = match body.message.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(m) => Some(scrub(
            check_text("message", m, CHAT_MESSAGE_CHARS_MAX)?,
            &mut masked,
        )),
    };
    let reference = match body.reference.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(r) => {
            crate::api::activity::entry(&state, &current.user.id, r, lang)
                .await?
                .ok_or_else(|| invalid("reference", "not an entry of your activity"))?;
            Some(r.to_owned())
        }
    };
    // Somebody must be there to answer: no dead waits.
    let setup = state.desk.setup(&state.db).await?;
    let skills: Vec<helpdesk::routing::GroupSkills> =
        setup.groups.iter().map(desk::group_skills).collect();
    let need = Need {
        language: Language::new(lang.tag()),
        category,
    };
    let group = helpdesk::routing::choose_group(&skills, &need).map(str::to_owned);
    let available = match &group {
        Some(g) => online_agents(&state, g).await? > 0,
        None => false,
    };
    if !available {
        return Err(ApiError::new(Reason::ChatUnavailable));
    }
    let subject = match (lang, voice) {
        (Lang::ZhCn, false) => format!("在线客服：{}", category_label(category, lang)),
        (Lang::ZhCn, true) => format!("网络电话：{}", category_label(category, lang)),
        (Lang::En, false) => format!("Chat: {}", category_label(category, lang)),
        (Lang::En, true) => format!("In-app call: {}", category_label(category, lang)),
    };
    let opened = desk::open_ticket(
        &state,
        desk::NewTicket {
            requester_id: current.user.id.clone(),
            subject,
            body: first.clone().unwrap_or_else(|| match (lang, voice) {
                (Lang::ZhCn, false) => "（在线客服会话）".to_owned(),
                (Lang::ZhCn, true) => "（应用内网络电话）".to_owned(),
                (Lang::En, false) => "(live chat)".to_owned(),
                (Lang::En, true) => "(in-app call)".to_owned(),
            }),
            category,
            priority: Priority::Normal,
            channel: if voice { "in_app_call" } else { "chat" }.into(),
            language: lang.tag().to_owned(),
            reference,
            tags: Default::default(),
            opened_by: current.user.id.clone(),
        },
    )
    .await?;
    record_masked(
        &state,
        &current.user.id,
        opened.ticket.number,
        false,
        &masked,
    )
    .await?;
    let now = store::now_ms();
    let chat = Chat {
        id: store::new_id(),
        ticket_id: opened.ticket.id.clone(),
        customer_id: current.user.id.clone(),
        state: "open".into(),
        last_seq: 0,
        customer_read_seq: 0,
        agent_read_seq: 0,
        created_at_ms: now,
        ended_at_ms: None,
        media: if voice { "voice" } else { "text" }.into(),
        signal_seq: 0,
        answered_at_ms: None,
        answered_by: None,
        call_outcome: None,
        call_notes: String::new(),
    };
    state.db.create_chat(&chat).await?;
    if let Some(text) = first {
        state
            .db
            .append_chat_message(
                &chat.id,
                "customer",
                Some(&current.user.id),
                "first",
                &text,
                now,
            )
            .await?;
    }
    let chat = state
        .db
        .chat(&chat.id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let ticket = state
        .db
        .ticket(&chat.ticket_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    chat_view(&state, &chat, &ticket, false).await
}

fn category_label(c: Category, lang: Lang) -> &'static str {
    crate::pages::text(lang, &format!("desk.cat.{}", c.as_str()))
}

/// The caller's chats, newest first.
#[utoipa::path(get, path = "/api/v1/chats", tag = "live support", security(("bearer" = [])),
    responses((status = 200, body = ChatList)))]
pub async fn mine(
    State(state): State<AppState>,
    current: CurrentSession,
) -> Result<ApiJson<ChatList>, ApiError> {
    let mut items = Vec::new();
    for chat in state.db.chats_of(&current.user.id, 50).await? {
        if let Some(t) = state.db.ticket(&chat.ticket_id).await? {
            items.push(chat_view(&state, &chat, &t, false).await?);
        }
    }
    Ok(ApiJson(ChatList { items }))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct AfterQuery {
    /// Only messages after this number (the last one seen).
    pub after: Option<i64>,
}

/// A chat with its messages (after `after`): the customer's, the agent's holding it, or a
/// supervisor's.
#[utoipa::path(get, path = "/api/v1/chats/{id}", tag = "live support", security(("bearer" = [])),
    params(AfterQuery),
    responses((status = 200, body = ChatWithMessages),
        (status = 404, description = "`not_found` (also someone else's chat)", body = crate::error::Problem)))]
pub async fn one(
    State(state): State<AppState>,
    current: CurrentSession,
    Path(id): Path<String>,
    Query(q): Query<AfterQuery>,
) -> Result<ApiJson<ChatWithMessages>, ApiError> {
    let (chat, ticket, side) = participant(&state, &current, &id).await?;
    let names = agent_names(&state).await?;
    let messages = state
        .db
        .chat_messages(&chat.id, q.after.unwrap_or(0).max(0), 1_000)
        .await?
        .iter()
        .map(|m| message_view(m, &names))
        .collect();
    Ok(ApiJson(ChatWithMessages {
        chat: chat_view(&state, &chat, &ticket, side == Side::Staff).await?,
        messages,
    }))
}

/// A chat for a page: its view, messages, whether the caller is staff on it, and what that
/// side has not read.
pub(crate) struct FullChat {
    pub view: ChatView,
    pub messages: Vec<ChatMessageView>,
    pub staff: bool,
    pub unread: i64,
    pub category: String,
}

pub(crate) async fn chat_with_messages(
    state: &AppState,
    current: &CurrentSession,
    id: &str,
) -> Result<FullChat, ApiError> {
    let (chat, ticket, side) = participant(state, current, id).await?;
    let names = agent_names(state).await?;
    let messages = state
        .db
        .chat_messages(&chat.id, 0, 1_000)
        .await?
        .iter()
        .map(|m| message_view(m, &names))
        .collect();
    let staff = side == Side::Staff;
    let read = if staff {
        chat.agent_read_seq
    } else {
        chat.customer_read_seq
    };
    Ok(FullChat {
        view: chat_view(state, &chat, &ticket, staff).await?,
        messages,
        staff,
        unread: chat.last_seq - read,
        category: ticket.category.clone(),
    })
}

/// The agent's first message in a chat or call is the ticket's first response (the SLA's
/// first clock stops): it is put on the ticket as the agent's public reply, without a mail —
/// the customer read it live.
async fn first_response(
    state: &AppState,
    chat_id: &str,
    current: &CurrentSession,
    body: &str,
) -> Result<(), ApiError> {
    let (chat, ticket) = chat_and_ticket(state, chat_id).await?;
    if ticket.first_responded_at_ms.is_some() {
        return Ok(());
    }
    desk::change_ticket(
        state,
        &ticket.id,
        &helpdesk::change::Actor::Agent(current.user.id.clone()),
        Some(&current.user.id),
        &desk::Asked {
            request: helpdesk::change::Request {
                message: Some(helpdesk::change::Message::Public),
                ..Default::default()
            },
            body: Some(body.to_owned()),
            channel: chat_channel(&chat).into(),
            ..Default::default()
        },
    )
    .await?;
    Ok(())
}

fn chat_channel(chat: &Chat) -> &'static str {
    if chat.media == "voice" {
        "in_app_call"
    } else {
        "chat"
    }
}

/// Whether the caller is on the staff side of a chat (404 when not in it at all).
pub(crate) async fn side_of(
    state: &AppState,
    current: &CurrentSession,
    id: &str,
) -> Result<bool, ApiError> {
    Ok(participant(state, current, id).await?.2 == Side::Staff)
}

/// Staff: the open chats the caller holds (several at once), oldest first.
#[utoipa::path(get, path = "/api/v1/agent/chats", tag = "live support", security(("bearer" = [])),
    responses((status = 200, body = ChatList),
        (status = 403, description = "`forbidden`; `second_factor_required`", body = crate::error::Problem)))]
pub async fn held(
    State(state): State<AppState>,
    current: CurrentSession,
) -> Result<ApiJson<ChatList>, ApiError> {
    crate::api::tickets::require_staff(&state, &current).await?;
    let mut items = Vec::new();
    for chat in state.db.chats_held_by(&current.user.id).await? {
        if let Some(t) = state.db.ticket(&chat.ticket_id).await? {
            items.push(chat_view(&state, &chat, &t, true).await?);
        }
    }
    Ok(ApiJson(ChatList { items }))
}

/// Ends a chat (the customer or the agent); its transcript stays on the ticket.
#[utoipa::path(post, path = "/api/v1/chats/{id}/end", tag = "live support", security(("bearer" = [])),
    responses((status = 200, body = ChatView),
        (status = 404, description = "`not_found`", body = crate::error::Problem)))]
pub async fn end(
    State(state): State<AppState>,
    current: CurrentSession,
    Path(id): Path<String>,
) -> Result<ApiJson<ChatView>, ApiError> {
    participant(&state, &current, &id).await?;
    end_chat(&state, &id, &current, None).await?;
    let (chat, ticket, side) = participant(&state, &current, &id).await?;
    Ok(ApiJson(
        chat_view(&state, &chat, &ticket, side == Side::Staff).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallNotes {
    /// The agent's notes on the call (secrets are hidden); replaces earlier notes.
    pub notes: String,
}

/// Staff on the call (or a supervisor): keeps notes on an in-app call's record.
#[utoipa::path(put, path = "/api/v1/chats/{id}/call-notes", tag = "live support", security(("bearer" = [])),
    request_body = CallNotes,
    responses((status = 200, body = ChatView),
        (status = 404, description = "`not_found`: not a call of yours, or not a call", body = crate::error::Problem),
        (status = 422, description = "`invalid_field`", body = crate::error::Problem)))]
pub async fn put_call_notes(
    State(state): State<AppState>,
    current: CurrentSession,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CallNotes>,
) -> Result<ApiJson<ChatView>, ApiError> {
    let view = keep_call_notes(&state, &current, &id, &body.notes).await?;
    Ok(ApiJson(view))
}

/// Keeps an agent's notes on a call (the API's and the console's way in).
pub(crate) async fn keep_call_notes(
    state: &AppState,
    current: &CurrentSession,
    id: &str,
    notes: &str,
) -> Result<ChatView, ApiError> {
    let (chat, _, side) = participant(state, current, id).await?;
    if side != Side::Staff || chat.media != "voice" {
        return Err(ApiError::not_found());
    }
    let notes = notes.trim();
    if notes.chars().count() > crate::api::tickets::BODY_CHARS_MAX {
        return Err(invalid("notes", "at most 20,000 characters"));
    }
    let mut masked = Vec::new();
    let notes = scrub(notes.to_owned(), &mut masked);
    let ticket = state
        .db
        .ticket(&chat.ticket_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    record_masked(state, &chat.customer_id, ticket.number, true, &masked).await?;
    state.db.set_call_notes(&chat.id, &notes).await?;
    let chat = state.db.chat(id).await?.ok_or_else(ApiError::not_found)?;
    chat_view(state, &chat, &ticket, true).await
}

/// The chat's WebSocket (see the module documentation for the protocol).
#[utoipa::path(get, path = "/api/v1/chats/{id}/ws", tag = "live support", security(("bearer" = [])),
    params(AfterQuery),
    responses((status = 101, description = "switching to the WebSocket protocol"),
        (status = 404, description = "`not_found` (also someone else's chat)", body = crate::error::Problem)))]
pub async fn ws(
    State(state): State<AppState>,
    current: CurrentSession,
    Path(id): Path<String>,
    Query(q): Query<AfterQuery>,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    open_ws(state, current, &id, q.after, upgrade).await
}

/// Upgrades to a chat's WebSocket for a participant (the API's bearer token or, from the
/// pages, a cookie session whose origin was checked).
pub(crate) async fn open_ws(
    state: AppState,
    current: CurrentSession,
    id: &str,
    after: Option<i64>,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let (chat, _, side) = participant(&state, &current, id).await?;
    let after = after.unwrap_or(0).max(0);
    Ok(upgrade
        .max_message_size(64 * 1024)
        // Chat frames are small: tungstenite's 128 KiB default buffers would make an idle
        // connection cost some 150 KiB (measured: bench chat).
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .on_upgrade(move |mut socket| async move {
            let mut conn = Connection {
                state,
                current,
                voice: chat.media == "voice",
                // Signals from before the connection are stale (an earlier negotiation).
                last_signal: chat.signal_seq,
                call_told: None,
                chat_id: chat.id,
                side,
                last_sent: after,
                waiting: None,
                agent_id: None,
                names: Default::default(),
                typed_at: None,
            };
            if let Err(e) = conn.run(&mut socket).await {
                tracing::debug!(error = %e, "chat connection ended");
            }
        }))
}

/// What a client sends.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientFrame {
    Send {
        client_id: String,
        body: String,
    },
    Typing,
    Read {
        seq: i64,
    },
    End,
    /// The agent picks up a call.
    Answer,
    /// WebRTC signalling for the other side.
    Signal {
        data: serde_json::Value,
    },
    /// Ends a call (and its chat); `reason: "failed"` when the audio never connected.
    Hangup {
        #[serde(default)]
        reason: Option<String>,
    },
}

/// The longest signal (an SDP description is a few KiB).
const SIGNAL_BYTES_MAX: usize = 16 * 1024;
/// Signals per call: a negotiation takes a few dozen.
const SIGNALS_MAX: i64 = 400;

struct Connection {
    state: AppState,
    current: CurrentSession,
    chat_id: String,
    side: Side,
    /// The last message number this connection has sent.
    last_sent: i64,
    /// The queue position last told (while waiting).
    waiting: Option<(i64, Option<i64>)>,
    /// The agent last told.
    agent_id: Option<String>,
    /// Agents' display names, as met in this chat.
    names: std::collections::HashMap<String, String>,
    /// When this connection's last typing mark went out.
    typed_at: Option<std::time::Instant>,
    /// A voice call.
    voice: bool,
    /// The last signal number this connection has passed on.
    last_signal: i64,
    /// The call state last told.
    call_told: Option<&'static str>,
}

impl Connection {
    async fn send(&mut self, ws: &mut WebSocket, frame: serde_json::Value) -> anyhow::Result<()> {
        ws.send(WsMessage::Text(frame.to_string().into())).await?;
        Ok(())
    }

    async fn run(&mut self, ws: &mut WebSocket) -> anyhow::Result<()> {
        let mut nudges = self.state.chat.subscribe(&self.chat_id);
        let (chat, ticket) = self.load().await?;
        let view = chat_view(&self.state, &chat, &ticket, self.side == Side::Staff)
            .await
            .map_err(api)?;
        self.agent_id = ticket.assignee_id.clone();
        let mut hello = serde_json::json!({
            "type": "hello",
            "chat": view,
            "you": self.kind(),
        });
        if self.voice {
            hello["ice_servers"] = serde_json::to_value(&self.state.settings.ice_servers)?;
        }
        self.send(ws, hello).await?;
        self.deliver(ws).await?;
        self.look_at_queue(ws).await?;
        self.look_at_call(ws).await?;
        let mut look = tokio::time::interval(QUEUE_LOOK);
        look.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                incoming = ws.recv() => {
                    match incoming {
                        None | Some(Err(_)) | Some(Ok(WsMessage::Close(_))) => return Ok(()),
                        Some(Ok(WsMessage::Text(text))) => self.handle(ws, text.as_str()).await?,
                        Some(Ok(WsMessage::Binary(_))) => {
                            self.error(ws, "invalid_frame", "frames are JSON text").await?;
                        }
                        Some(Ok(_)) => {}
                    }
                }
                nudge = nudges.recv() => {
                    match nudge {
                        Ok(Nudge::Messages) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                            self.deliver(ws).await?;
                        }
                        Ok(Nudge::Typing { agent }) => {
                            if agent != (self.side == Side::Staff) {
                                self.send(ws, serde_json::json!({"type": "typing", "from": side_name(agent)})).await?;
                            }
                        }
                        Ok(Nudge::Read { agent, seq }) => {
                            if agent != (self.side == Side::Staff) {
                                self.send(ws, serde_json::json!({"type": "read", "from": side_name(agent), "seq": seq})).await?;
                            }
                        }
                        Ok(Nudge::State) => {
                            self.look_at_queue(ws).await?;
                            self.look_at_call(ws).await?;
                        }
                        Ok(Nudge::Signals) => self.deliver_signals(ws).await?,
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => return Ok(()),
                    }
                }
                // Only a customer still waiting looks at the queue; once an agent has the chat,
                // nudges say what changes.
                _ = look.tick(), if self.side == Side::Customer && self.agent_id.is_none() => {
                    self.look_at_queue(ws).await?;
                }
            }
        }
    }

    fn kind(&self) -> &'static str {
        match self.side {
            Side::Customer => "customer",
            Side::Staff => "agent",
        }
    }

    /// Tells the call's state when it changed.
    async fn look_at_call(&mut self, ws: &mut WebSocket) -> anyhow::Result<()> {
        if !self.voice {
            return Ok(());
        }
        let (chat, ticket) = self.load().await?;
        let now = call_state(&chat, chat.state == "open" && ticket.assignee_id.is_none());
        if self.call_told != Some(now) {
            self.call_told = Some(now);
            self.send(
                ws,
                serde_json::json!({"type": "call", "state": now, "outcome": chat.call_outcome}),
            )
            .await?;
        }
        Ok(())
    }

    /// Passes on the other side's signals after the last one passed on, in order.
    async fn deliver_signals(&mut self, ws: &mut WebSocket) -> anyhow::Result<()> {
        if !self.voice {
            return Ok(());
        }
        let signals = self
            .state
            .db
            .chat_signals(&self.chat_id, self.last_signal, self.kind())
            .await?;
        for signal in signals {
            let data: serde_json::Value = serde_json::from_str(&signal.body)?;
            self.send(
                ws,
                serde_json::json!({"type": "signal", "from": signal.author_kind, "seq": signal.seq, "data": data}),
            )
            .await?;
            self.last_signal = signal.seq;
        }
        Ok(())
    }

    async fn signal(&mut self, ws: &mut WebSocket, data: serde_json::Value) -> anyhow::Result<()> {
        if !self.voice {
            return self.error(ws, "invalid_frame", "not a call").await;
        }
        let body = data.to_string();
        if !data.is_object() || body.len() > SIGNAL_BYTES_MAX {
            return self
                .error(ws, "invalid_frame", "data: a JSON object of at most 16 KiB")
                .await;
        }
        let (chat, _) = self.load().await?;
        if chat.answered_at_ms.is_none() || chat.state != "open" {
            return self
                .error(
                    ws,
                    "call_not_connected",
                    "signals go once the call is answered",
                )
                .await;
        }
        let stored = self
            .state
            .db
            .append_chat_signal(
                &self.chat_id,
                self.kind(),
                &body,
                SIGNALS_MAX,
                store::now_ms(),
            )
            .await?;
        match stored {
            Some(_) => {
                crate::chat::nudge(&self.state, &self.chat_id, Nudge::Signals).await;
                Ok(())
            }
            None => {
                self.error(
                    ws,
                    "call_not_connected",
                    "the call has ended or signalled too much",
                )
                .await
            }
        }
    }

    async fn load(&self) -> anyhow::Result<(Chat, store::tickets::Ticket)> {
        chat_and_ticket(&self.state, &self.chat_id)
            .await
            .map_err(api)
    }

    /// Sends every message after the last one sent, in order.
    async fn deliver(&mut self, ws: &mut WebSocket) -> anyhow::Result<()> {
        loop {
            let batch = self
                .state
                .db
                .chat_messages(&self.chat_id, self.last_sent, 200)
                .await?;
            for m in &batch {
                if let Some(author) = m.author_id.as_ref().filter(|_| m.author_kind == "agent") {
                    if !self.names.contains_key(author) {
                        let name = self.state.db.agent(author).await?.map(|a| a.display_name);
                        self.names.insert(author.clone(), name.unwrap_or_default());
                    }
                }
                let mut frame = serde_json::to_value(message_view(m, &self.names))?;
                frame["type"] = "message".into();
                self.send(ws, frame).await?;
                self.last_sent = m.seq;
                if m.author_kind == "system" && m.client_id == "ended" {
                    self.send(ws, serde_json::json!({"type": "ended"})).await?;
                }
            }
            if batch.len() < 200 {
                return Ok(());
            }
        }
    }

    /// Tells a waiting customer their place, and anyone when an agent takes the chat.
    async fn look_at_queue(&mut self, ws: &mut WebSocket) -> anyhow::Result<()> {
        let (chat, ticket) = self.load().await?;
        if ticket.assignee_id != self.agent_id {
            self.agent_id = ticket.assignee_id.clone();
            if let Some(a) = &ticket.assignee_id {
                let badge = badge_of(&self.state, a).await.map_err(api)?;
                self.send(
                    ws,
                    serde_json::json!({"type": "agent", "name": badge.name, "badge": badge.badge}),
                )
                .await?;
            }
        }
        if self.side != Side::Customer || chat.state != "open" || ticket.assignee_id.is_some() {
            self.waiting = None;
            return Ok(());
        }
        let view = chat_view(&self.state, &chat, &ticket, self.side == Side::Staff)
            .await
            .map_err(api)?;
        let now = (view.queue_position, view.eta_s);
        if self.waiting != Some(now) {
            self.waiting = Some(now);
            self.send(
                ws,
                serde_json::json!({"type": "queue", "position": now.0, "eta_s": now.1}),
            )
            .await?;
        }
        Ok(())
    }

    async fn error(&mut self, ws: &mut WebSocket, code: &str, detail: &str) -> anyhow::Result<()> {
        self.send(
            ws,
            serde_json::json!({"type": "error", "code": code, "detail": detail}),
        )
        .await
    }

    async fn handle(&mut self, ws: &mut WebSocket, text: &str) -> anyhow::Result<()> {
        let frame: ClientFrame = match serde_json::from_str(text) {
            Ok(f) => f,
            Err(e) => return self.error(ws, "invalid_frame", &e.to_string()).await,
        };
        let agent = self.side == Side::Staff;
        match frame {
            ClientFrame::Send { client_id, body } => self.post(ws, client_id, body).await,
            ClientFrame::Typing => {
                // At most one a second goes out, however fast a client sends them: a typing
                // mark is a hint, and on PostgreSQL each one is a NOTIFY to every node.
                let now = std::time::Instant::now();
                if self
                    .typed_at
                    .is_none_or(|at| now.duration_since(at) >= TYPING_EVERY)
                {
                    self.typed_at = Some(now);
                    crate::chat::nudge(&self.state, &self.chat_id, Nudge::Typing { agent }).await;
                }
                Ok(())
            }
            ClientFrame::Read { seq } => {
                // Only what this connection was shown can be marked read.
                if seq < 1 || seq > self.last_sent {
                    return self
                        .error(ws, "invalid_frame", "seq: a message number you were sent")
                        .await;
                }
                self.state
                    .db
                    .mark_chat_read(&self.chat_id, agent, seq)
                    .await?;
                crate::chat::nudge(&self.state, &self.chat_id, Nudge::Read { agent, seq }).await;
                Ok(())
            }
            ClientFrame::End => {
                end_chat(&self.state, &self.chat_id, &self.current, None)
                    .await
                    .map_err(api)?;
                self.deliver(ws).await
            }
            ClientFrame::Hangup { reason } => {
                if !self.voice {
                    return self.error(ws, "invalid_frame", "not a call").await;
                }
                let failed = reason.as_deref() == Some("failed");
                end_chat(
                    &self.state,
                    &self.chat_id,
                    &self.current,
                    failed.then_some("failed"),
                )
                .await
                .map_err(api)?;
                self.deliver(ws).await?;
                self.look_at_call(ws).await
            }
            ClientFrame::Answer => {
                if !self.voice || !agent {
                    return self
                        .error(ws, "invalid_frame", "only the agent picks up a call")
                        .await;
                }
                let picked = self
                    .state
                    .db
                    .answer_call(&self.chat_id, &self.current.user.id, store::now_ms())
                    .await?;
                if !picked {
                    return self
                        .error(
                            ws,
                            "call_not_ringing",
                            "this call was answered or has ended",
                        )
                        .await;
                }
                crate::chat::nudge(&self.state, &self.chat_id, Nudge::State).await;
                // Picking up is the first response to a call.
                first_response(
                    &self.state,
                    &self.chat_id,
                    &self.current,
                    "Call answered · 已接听来电",
                )
                .await
                .map_err(api)?;
                self.look_at_call(ws).await
            }
            ClientFrame::Signal { data } => self.signal(ws, data).await,
        }
    }

    async fn post(
        &mut self,
        ws: &mut WebSocket,
        client_id: String,
        body: String,
    ) -> anyhow::Result<()> {
        let agent = self.side == Side::Staff;
        let sent = send_message(
            &self.state,
            &self.current,
            &self.chat_id,
            agent,
            &client_id,
            &body,
        )
        .await;
        let client_id = client_id.trim();
        match sent {
            Err(e) => match e.reason() {
                Reason::InvalidField { .. } => {
                    let detail = e.problem(crate::lang::Lang::En, None).detail;
                    self.error(ws, "invalid_frame", &detail).await
                }
                _ => Err(api(e)),
            },
            Ok((Appended::Ended, _)) => self.error(ws, "chat_ended", "this chat has ended").await,
            Ok((Appended::Again(m), _)) => {
                self.send(ws, serde_json::json!({"type": "ack", "client_id": client_id, "seq": m.seq, "duplicate": true}))
                    .await?;
                self.deliver(ws).await
            }
            Ok((Appended::New(m), masked)) => {
                self.send(
                    ws,
                    serde_json::json!({"type": "ack", "client_id": client_id, "seq": m.seq,
                    "duplicate": false, "masked": masked_names(&masked)}),
                )
                .await?;
                if !masked.is_empty() {
                    self.send(
                        ws,
                        serde_json::json!({"type": "notice", "code": "secret_masked",
                        "kinds": masked_names(&masked)}),
                    )
                    .await?;
                }
                self.deliver(ws).await
            }
        }
    }
}

/// Stores a participant's message (secrets hidden first, a security event when one was) and
/// nudges the chat: the WebSocket's and the pages' way in. A resend with the same `client_id`
/// is the same message.
pub(crate) async fn send_message(
    state: &AppState,
    current: &CurrentSession,
    chat_id: &str,
    agent: bool,
    client_id: &str,
    body: &str,
) -> Result<(Appended, Vec<helpdesk::secrets::SecretKind>), ApiError> {
    let client_id = client_id.trim();
    if client_id.is_empty() || client_id.len() > 64 || client_id == "first" || client_id == "ended"
    {
        return Err(invalid("client_id", "1 to 64 characters of your own"));
    }
    let text = check_text("body", body, CHAT_MESSAGE_CHARS_MAX)?;
    let mut masked = Vec::new();
    let text = scrub(text, &mut masked);
    let kind = if agent { "agent" } else { "customer" };
    let appended = state
        .db
        .append_chat_message(
            chat_id,
            kind,
            Some(current.user.id.as_str()),
            client_id,
            &text,
            store::now_ms(),
        )
        .await?;
    if let Appended::New(m) = &appended {
        crate::chat::nudge(state, chat_id, Nudge::Messages).await;
        if agent {
            first_response(state, chat_id, current, &m.body).await?;
        }
        if !masked.is_empty() {
            let (chat, ticket) = chat_and_ticket(state, chat_id).await?;
            record_masked(state, &chat.customer_id, ticket.number, agent, &masked).await?;
        }
    }
    Ok((appended, masked))
}

fn side_name(agent: bool) -> &'static str {
    if agent {
        "agent"
    } else {
        "customer"
    }
}

fn api(e: ApiError) -> anyhow::Error {
    anyhow::anyhow!("{:?}", e.reason())
}

/// Ends a chat (either side): a last system message, the chat closed, its transcript kept on
/// the ticket as a note for the team.
pub async fn end_chat(
    state: &AppState,
    chat_id: &str,
    current: &CurrentSession,
    call_outcome: Option<&str>,
) -> Result<(), ApiError> {
    let Some(chat) = state.db.chat(chat_id).await? else {
        return Err(ApiError::not_found());
    };
    if chat.state != "open" {
        return Ok(());
    }
    let now = store::now_ms();
    let who = if chat.customer_id == current.user.id {
        "customer"
    } else {
        "agent"
    };
    if chat.media == "voice" {
        let outcome = match (call_outcome, chat.answered_at_ms, who) {
            (Some(o), _, _) => o,
            (None, Some(_), _) => "completed",
            (None, None, "customer") => "abandoned",
            (None, None, _) => "declined",
        };
        state.db.set_call_outcome(chat_id, outcome).await?;
    }
    state
        .db
        .append_chat_message(chat_id, "system", None, "ended", who, now)
        .await?;
    if !state.db.end_chat(chat_id, now).await? {
        return Ok(());
    }
    let names = agent_names(state).await?;
    let mut transcript: Vec<String> = state
        .db
        .chat_messages(chat_id, 0, 10_000)
        .await?
        .iter()
        .filter(|m| m.author_kind != "system")
        .map(|m| {
            let who = match m.author_kind.as_str() {
                "agent" => m
                    .author_id
                    .as_ref()
                    .and_then(|a| names.get(a))
                    .cloned()
                    .unwrap_or_else(|| "agent".into()),
                _ => "customer".into(),
            };
            format!("[{}] {who}: {}", rfc3339(m.created_at_ms), m.body)
        })
        .collect();
    if chat.media == "voice" {
        let ended = state
            .db
            .chat(chat_id)
            .await?
            .ok_or_else(ApiError::not_found)?;
        let call = call_view(state, &ended, false, true).await?;
        let agent = call
            .answered_by
            .map(|a| format!("{} ({})", a.name, a.badge))
            .unwrap_or_else(|| "-".into());
        transcript.insert(
            0,
            format!(
                "In-app call / 网络电话: {}; waited {} s; talked {} s; agent {agent}\n",
                call.outcome.unwrap_or_default(),
                call.wait_s,
                call.duration_s
            ),
        );
    }
    if !transcript.is_empty() {
        let body = format!(
            "Chat transcript / 在线客服记录\n\n{}",
            transcript.join("\n")
        );
        let body: String = body
            .chars()
            .take(crate::api::tickets::BODY_CHARS_MAX)
            .collect();
        desk::change_ticket(
            state,
            &chat.ticket_id,
            &helpdesk::change::Actor::System,
            None,
            &desk::Asked {
                request: helpdesk::change::Request {
                    message: Some(helpdesk::change::Message::Internal),
                    ..Default::default()
                },
                body: Some(body),
                channel: "chat".into(),
                ..Default::default()
            },
        )
        .await?;
    }
    crate::chat::nudge(state, chat_id, Nudge::Messages).await;
    crate::chat::nudge(state, chat_id, Nudge::State).await;
    Ok(())
}
