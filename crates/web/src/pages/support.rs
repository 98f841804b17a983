//! `/support`: a customer's tickets (工单) — the list, a new ticket (also about one activity
//! entry, from "get help with this"), one ticket with its conversation, a reply, files, the
//! rating once it is solved and a complaint to a supervisor; the one-click rating page the
//! solve mail links to (`/support/rate/{id}`, no sign-in: the link's signature names the
//! ticket); and the suggestions box.
//!
//! Every answer is the API's own (`tickets::open`, `post_message`, `record_rating`,
//! `raise_complaint`, `store_attachment`, `leave_suggestion`); this module lays them out and
//! never shows an internal note: it asks for the customer's view only.

use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::{percent_encode, CsrfForm, PageCtx, SignedIn};
use crate::api::helpdesk::{leave_suggestion, NewSuggestion};
use crate::api::tickets::{
    self, raise_complaint, record_rating, ticket_by_rating_link, view, CreateTicket, Detail,
    NewMessage, TicketView,
};
use crate::error::ApiError;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/support", get(home))
        .route("/support/tickets", post(create))
        .route("/support/tickets/{id}", get(ticket))
        .route("/support/tickets/{id}/reply", post(reply))
        .route("/support/tickets/{id}/rate", post(rate))
        .route("/support/tickets/{id}/complaint", post(complain))
        .route("/support/tickets/{id}/files", post(upload))
        .route("/support/tickets/{id}/files/{file}", get(download))
        .route("/support/rate/{id}", get(rate_page).post(rate_by_link))
        .route("/support/suggestions", get(suggestions).post(suggest))
}

/// The five problems first, then anything else.
pub const CATEGORIES: [&str; 6] = [
    "login_failed",
    "funds_delayed",
    "cannot_trade",
    "account_security",
    "payment_failed",
    "other",
];

/// A category's name in the page's language.
pub fn category_label(ctx: &PageCtx, category: &str) -> &'static str {
    match category {
        "login_failed" => ctx.t("desk.cat.login_failed"),
        "funds_delayed" => ctx.t("desk.cat.funds_delayed"),
        "cannot_trade" => ctx.t("desk.cat.cannot_trade"),
        "account_security" => ctx.t("desk.cat.account_security"),
        "payment_failed" => ctx.t("desk.cat.payment_failed"),
        _ => ctx.t("desk.cat.other"),
    }
}

/// A status's name in the page's language, and its badge.
pub fn status_label(ctx: &PageCtx, status: &str) -> (&'static str, &'static str) {
    match status {
        "new" => (ctx.t("desk.status.new"), "warn"),
        "open" => (ctx.t("desk.status.open"), "warn"),
        "pending" => (ctx.t("desk.status.pending"), "info"),
        "on_hold" => (ctx.t("desk.status.on_hold"), "info"),
        "solved" => (ctx.t("desk.status.solved"), "ok"),
        _ => (ctx.t("desk.status.closed"), ""),
    }
}

/// What a status means to the customer.
pub fn status_meaning(ctx: &PageCtx, status: &str) -> &'static str {
    match status {
        "new" => ctx.t("support.status.new"),
        "open" => ctx.t("support.status.open"),
        "pending" => ctx.t("support.status.pending"),
        "on_hold" => ctx.t("support.status.on_hold"),
        "solved" => ctx.t("support.status.solved"),
        _ => ctx.t("support.status.closed"),
    }
}

/// A choice in a menu.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

pub fn category_choices(ctx: &PageCtx, chosen: &str) -> Vec<Choice> {
    CATEGORIES
        .iter()
        .map(|c| Choice {
            value: (*c).to_owned(),
            label: category_label(ctx, c).to_owned(),
            selected: *c == chosen,
        })
        .collect()
}

/// One ticket as a line of a list.
pub struct TicketLine {
    pub id: String,
    pub number: i64,
    pub subject: String,
    pub category: &'static str,
    pub status: String,
    pub status_label: &'static str,
    pub badge: &'static str,
    pub updated: String,
}

pub fn ticket_line(ctx: &PageCtx, t: &TicketView) -> TicketLine {
    let (status_label, badge) = status_label(ctx, &t.status);
    TicketLine {
        id: t.id.clone(),
        number: t.number,
        subject: t.subject.clone(),
        category: category_label(ctx, &t.category),
        status: t.status.clone(),
        status_label,
        badge,
        updated: super::moves::shown_time(&t.updated_at),
    }
}

/// One message as a conversation shows it.
pub struct MessageLine {
    pub who: String,
    pub from: String,
    pub internal: bool,
    pub body: String,
    pub time: String,
    pub channel: String,
}

pub fn message_lines(ctx: &PageCtx, t: &TicketView) -> Vec<MessageLine> {
    t.messages
        .iter()
        .flatten()
        .map(|m| MessageLine {
            who: match m.from.as_str() {
                "requester" => ctx.t("desk.from.requester").to_owned(),
                "agent" if !m.author_name.is_empty() => m.author_name.clone(),
                "agent" => ctx.t("desk.from.agent").to_owned(),
                _ => ctx.t("desk.from.system").to_owned(),
            },
            from: m.from.clone(),
            internal: m.internal,
            body: m.body.clone(),
            time: super::moves::shown_time(&m.created_at),
            channel: m.channel.clone(),
        })
        .collect()
}

/// A file as a page lists it.
pub struct FileLine {
    pub name: String,
    pub size: String,
    pub href: String,
}

pub fn file_lines(t: &TicketView, base: &str) -> Vec<FileLine> {
    t.attachments
        .iter()
        .flatten()
        .map(|a| FileLine {
            name: a.filename.clone(),
            size: if a.size >= 1024 * 1024 {
                format!("{:.1} MB", a.size as f64 / 1_048_576.0)
            } else {
                format!("{} KB", (a.size + 1023) / 1024)
            },
            href: format!("{base}/{}/files/{}", t.id, a.id),
        })
        .collect()
}

// --- the list and a new ticket -----------------------------------------------------------------

#[derive(Template)]
#[template(path = "support.html")]
struct SupportPage<'a> {
    ctx: &'a PageCtx,
    tickets: Vec<TicketLine>,
    categories: Vec<Choice>,
    subject: String,
    body: String,
    /// The activity entry the new ticket is about.
    reference: Option<super::activity::ActivityLine>,
    error: Option<String>,
    /// Agents verifying the customer now, and those who did in the last half hour.
    verifications: Vec<VerifyBox>,
}

/// One verification on the customer's screen.
struct VerifyBox {
    id: String,
    code: Option<String>,
    agent: crate::api::live::AgentBadge,
    until: String,
}

#[derive(Debug, Default, Deserialize)]
struct NewQuery {
    reference: Option<String>,
    category: Option<String>,
}

/// The category an entry's kind suggests.
fn category_for(kind: &str) -> &'static str {
    match kind {
        "deposit" | "withdrawal" => "funds_delayed",
        "transfer" | "conversion" => "cannot_trade",
        "payment" | "refund" => "payment_failed",
        _ => "other",
    }
}

async fn support_page(
    state: &AppState,
    ctx: &PageCtx,
    current: &crate::auth::CurrentSession,
    reference: Option<&str>,
    category: Option<&str>,
    draft: (&str, &str),
    error: Option<String>,
) -> Result<Response, ApiError> {
    let rows = state
        .db
        .tickets(
            &store::tickets::TicketFilter {
                requester_id: Some(current.user.id.clone()),
                ..Default::default()
            },
            100,
        )
        .await?;
    let tickets: Vec<TicketLine> = tickets::line_views(state, &rows, false)
        .await?
        .iter()
        .map(|v| ticket_line(ctx, v))
        .collect();
    let verifications = crate::api::live::current_for(state, &current.user.id, ctx.lang)
        .await?
        .into_iter()
        .map(|v| VerifyBox {
            until: super::security::page_time(v.shown_until_ms),
            id: v.id,
            code: v.code,
            agent: v.agent,
        })
        .collect();
    let entry = match reference.map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) => crate::api::activity::entry(state, &current.user.id, r, ctx.lang)
            .await?
            .map(|item| super::activity::line(ctx, item)),
        None => None,
    };
    let chosen = category
        .filter(|c| CATEGORIES.contains(c))
        .or_else(|| entry.as_ref().map(|e| category_for(&e.kind)))
        .unwrap_or("");
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(ctx.render(
        status,
        &SupportPage {
            ctx,
            tickets,
            categories: category_choices(ctx, chosen),
            subject: draft.0.to_owned(),
            body: draft.1.to_owned(),
            reference: entry,
            error,
            verifications,
        },
    ))
}

async fn home(
    State(state): State<AppState>,
    Query(q): Query<NewQuery>,
    SignedIn { ctx, current }: SignedIn,
) -> Response {
    match support_page(
        &state,
        &ctx,
        &current,
        q.reference.as_deref(),
        q.category.as_deref(),
        ("", ""),
        None,
    )
    .await
    {
        Ok(r) => r,
        Err(e) => ctx.error(&e),
    }
}

#[derive(Debug, Deserialize)]
struct NewTicketForm {
    subject: String,
    body: String,
    category: String,
    #[serde(default)]
    reference: String,
}

async fn create(
    State(state): State<AppState>,
    CsrfForm { ctx, form }: CsrfForm<NewTicketForm>,
) -> Response {
    let Some(current) = ctx.current.clone() else {
        return ctx.to_login();
    };
    let reference = Some(form.reference.trim().to_owned()).filter(|r| !r.is_empty());
    let asked = CreateTicket {
        subject: form.subject.clone(),
        body: form.body.clone(),
        category: form.category.clone(),
        reference: reference.clone(),
        requester_email: None,
        priority: None,
        channel: None,
    };
    match tickets::open(&state, &current, ctx.lang, asked).await {
        Ok(o) => ctx.see_other(&format!(
            "/support/tickets/{}?opened=1{}",
            o.ticket.id,
            if o.masked.is_empty() { "" } else { "&masked=1" }
        )),
        Err(e) if e.status().is_client_error() => {
            let message = e.problem(ctx.lang, None).detail;
            support_page(
                &state,
                &ctx,
                &current,
                reference.as_deref(),
                Some(&form.category),
                (&form.subject, &form.body),
                Some(message),
            )
            .await
            .unwrap_or_else(|e| ctx.error(&e))
        }
        Err(e) => ctx.error(&e),
    }
}

// --- one ticket --------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "support_ticket.html")]
struct TicketPage<'a> {
    ctx: &'a PageCtx,
    /// Something that looked like a secret was just hidden from what the customer wrote.
    masked: bool,
    t: TicketLine,
    status_meaning: &'static str,
    messages: Vec<MessageLine>,
    files: Vec<FileLine>,
    reference: Option<String>,
    /// The ticket was merged into another: where the conversation continues.
    merged_into: Option<String>,
    can_reply: bool,
    can_rate: bool,
    rating: Option<(i64, String)>,
    /// The latest complaint: status word, outcome.
    complaint: Option<(String, bool, String)>,
    can_complain: bool,
    notice: Option<&'static str>,
    error: Option<String>,
    draft: String,
    scores: [u8; 5],
}

#[derive(Debug, Default, Deserialize)]
struct TicketQuery {
    opened: Option<String>,
    sent: Option<String>,
    rated: Option<String>,
    complained: Option<String>,
    uploaded: Option<String>,
    masked: Option<String>,
}

/// What a ticket page says besides the ticket.
#[derive(Default)]
struct Said<'a> {
    notice: Option<&'static str>,
    error: Option<String>,
    /// The reply being written, kept after a refusal.
    draft: &'a str,
    /// Something that looked like a secret was just hidden from what the customer wrote.
    masked: bool,
}

async fn ticket_page(
    state: &AppState,
    ctx: &PageCtx,
    current: &crate::auth::CurrentSession,
    id: &str,
    said: Said<'_>,
) -> Result<Response, ApiError> {
    let Said {
        notice,
        error,
        draft,
        masked,
    } = said;
    let t = state
        .db
        .ticket(id)
        .await?
        .filter(|t| t.requester_id == current.user.id)
        .ok_or_else(ApiError::not_found)?;
    let v = view(state, &t, false, Detail::Full, ctx.lang).await?;
    let closed = v.status == "closed";
    let done = matches!(v.status.as_str(), "solved" | "closed");
    let complaint_open = v.complaint.as_ref().is_some_and(|c| c.status == "open");
    let page = TicketPage {
        ctx,
        masked,
        status_meaning: status_meaning(ctx, &v.status),
        messages: message_lines(ctx, &v),
        files: file_lines(&v, "/support/tickets"),
        reference: v.reference.clone(),
        merged_into: v.merged_into.clone(),
        can_reply: !closed,
        can_rate: done,
        rating: v.rating.as_ref().map(|r| (r.score, r.comment.clone())),
        complaint: v.complaint.as_ref().map(|c| {
            (
                if c.status == "open" {
                    ctx.t("support.complaint.open").to_owned()
                } else {
                    ctx.t("support.complaint.resolved").to_owned()
                },
                c.status == "open",
                c.outcome.clone().unwrap_or_default(),
            )
        }),
        can_complain: !complaint_open,
        notice,
        error: error.clone(),
        draft: draft.to_owned(),
        scores: [1, 2, 3, 4, 5],
        t: ticket_line(ctx, &v),
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(ctx.render(status, &page))
}

async fn ticket(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<TicketQuery>,
    SignedIn { ctx, current }: SignedIn,
) -> Response {
    let notice = if q.opened.is_some() {
        Some("support.notice.opened")
    } else if q.sent.is_some() {
        Some("support.notice.sent")
    } else if q.rated.is_some() {
        Some("support.notice.rated")
    } else if q.complained.is_some() {
        Some("support.notice.complained")
    } else if q.uploaded.is_some() {
        Some("support.notice.uploaded")
    } else {
        None
    };
    let notice = notice.map(|k| ctx.t(k));
    match ticket_page(
        &state,
        &ctx,
        &current,
        &id,
        Said {
            notice,
            masked: q.masked.is_some(),
            ..Said::default()
        },
    )
    .await
    {
        Ok(r) => r,
        Err(e) if e.status() == StatusCode::NOT_FOUND => super::not_found_page(&ctx),
        Err(e) => ctx.error(&e),
    }
}

/// Runs a customer's action on their ticket: back to the ticket with `done` on success, the
/// ticket again with the refusal (and what they typed) otherwise.
async fn act(
    state: &AppState,
    ctx: &PageCtx,
    id: &str,
    done: &str,
    draft: &str,
    action: Result<(), ApiError>,
) -> Response {
    let Some(current) = ctx.current.clone() else {
        return ctx.to_login();
    };
    match action {
        Ok(()) => ctx.see_other(&format!("/support/tickets/{}?{done}=1", percent_encode(id))),
        Err(e) if e.status() == StatusCode::NOT_FOUND => super::not_found_page(ctx),
        Err(e) if e.status().is_client_error() => {
            let message = e.problem(ctx.lang, None).detail;
            ticket_page(
                state,
                ctx,
                &current,
                id,
                Said {
                    error: Some(message),
                    draft,
                    ..Said::default()
                },
            )
            .await
            .unwrap_or_else(|e| ctx.error(&e))
        }
        Err(e) => ctx.error(&e),
    }
}

#[derive(Debug, Deserialize)]
struct ReplyForm {
    body: String,
}

async fn reply(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm { ctx, form }: CsrfForm<ReplyForm>,
) -> Response {
    let Some(current) = ctx.current.clone() else {
        return ctx.to_login();
    };
    let done = tickets::post_message(
        &state,
        &current,
        &id,
        NewMessage {
            body: Some(form.body.clone()),
            ..Default::default()
        },
    )
    .await;
    let masked = done.as_ref().is_ok_and(|c| !c.masked.is_empty());
    let done = done.map(|_| ());
    let what = if masked { "masked=1&sent" } else { "sent" };
    act(&state, &ctx, &id, what, &form.body, done).await
}

#[derive(Debug, Deserialize)]
struct RateForm {
    score: String,
    #[serde(default)]
    comment: String,
}

fn score_of(text: &str) -> Result<i64, ApiError> {
    text.trim()
        .parse::<i64>()
        .map_err(|_| crate::api::help::invalid("score", "a whole number from 1 to 5"))
}

async fn rate(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm { ctx, form }: CsrfForm<RateForm>,
) -> Response {
    let Some(current) = ctx.current.clone() else {
        return ctx.to_login();
    };
    let done = async {
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
            score_of(&form.score)?,
            Some(&form.comment),
        )
        .await
    }
    .await;
    act(&state, &ctx, &id, "rated", "", done).await
}

#[derive(Debug, Deserialize)]
struct ComplaintForm {
    reason: String,
}

async fn complain(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm { ctx, form }: CsrfForm<ComplaintForm>,
) -> Response {
    let Some(current) = ctx.current.clone() else {
        return ctx.to_login();
    };
    let done = raise_complaint(&state, &current, &id, Some(form.reason.as_str()))
        .await
        .map(|_| ());
    act(&state, &ctx, &id, "complained", "", done).await
}

/// A file from a page form (multipart, with the form's CSRF token checked before the file is
/// read); the rules are the API's.
pub async fn read_upload(
    state: &AppState,
    ctx: &PageCtx,
    headers: &axum::http::HeaderMap,
    mut multipart: Multipart,
) -> Result<(String, String, Vec<u8>), Response> {
    if !super::same_site(headers, &state.settings.public_url) {
        return Err(super::csrf_refusal(ctx));
    }
    let mut csrf_ok = false;
    while let Ok(Some(field)) = multipart.next_field().await {
        match field.name() {
            Some("csrf") => {
                let sent = field.text().await.unwrap_or_default();
                csrf_ok = super::same_secret(&sent, &ctx.csrf);
            }
            Some("file") if csrf_ok => {
                let name = field.file_name().unwrap_or("file").to_owned();
                let declared = field.content_type().unwrap_or("").to_owned();
                return match field.bytes().await {
                    Ok(bytes) => Ok((name, declared, bytes.to_vec())),
                    Err(_) => Err(ctx.message(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        ctx.t("form.too_large.title"),
                        ctx.t("support.files.too_large"),
                        ("/support", ctx.t("nav.support")),
                    )),
                };
            }
            _ => {}
        }
    }
    Err(super::csrf_refusal(ctx))
}

async fn upload(
    State(state): State<AppState>,
    Path(id): Path<String>,
    SignedIn { ctx, current }: SignedIn,
    headers: axum::http::HeaderMap,
    multipart: Multipart,
) -> Response {
    let (name, declared, bytes) = match read_upload(&state, &ctx, &headers, multipart).await {
        Ok(file) => file,
        Err(r) => return r,
    };
    let done = tickets::store_attachment(&state, &current, &id, &name, &declared, &bytes)
        .await
        .map(|_| ());
    act(&state, &ctx, &id, "uploaded", "", done).await
}

async fn download(
    State(state): State<AppState>,
    Path((id, file)): Path<(String, String)>,
    SignedIn { ctx, current }: SignedIn,
) -> Response {
    let found = async {
        let t = state
            .db
            .ticket(&id)
            .await?
            .filter(|t| t.requester_id == current.user.id)
            .ok_or_else(ApiError::not_found)?;
        state
            .db
            .attachment(&t.id, &file)
            .await?
            .ok_or_else(ApiError::not_found)
    }
    .await;
    match found {
        Ok((a, data)) => tickets::attachment_response(&a, data),
        Err(e) if e.status() == StatusCode::NOT_FOUND => super::not_found_page(&ctx),
        Err(e) => ctx.error(&e),
    }
}

// --- the rating link ---------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "support_rate.html")]
struct RatePage<'a> {
    ctx: &'a PageCtx,
    id: String,
    sig: String,
    number: i64,
    subject: String,
    chosen: i64,
    done: bool,
    scores: [u8; 5],
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct RateQuery {
    #[serde(default)]
    sig: String,
    score: Option<i64>,
    done: Option<String>,
}

async fn rate_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<RateQuery>,
    ctx: PageCtx,
) -> Response {
    match ticket_by_rating_link(&state, &id, &q.sig).await {
        Ok(t) => ctx.render(
            StatusCode::OK,
            &RatePage {
                ctx: &ctx,
                id: t.id.clone(),
                sig: q.sig.clone(),
                number: t.number,
                subject: t.subject.clone(),
                chosen: q.score.filter(|s| (1..=5).contains(s)).unwrap_or(0),
                done: q.done.is_some(),
                scores: [1, 2, 3, 4, 5],
                error: None,
            },
        ),
        Err(_) => super::not_found_page(&ctx),
    }
}

#[derive(Debug, Deserialize)]
struct LinkRateForm {
    sig: String,
    score: String,
    #[serde(default)]
    comment: String,
}

async fn rate_by_link(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm { ctx, form }: CsrfForm<LinkRateForm>,
) -> Response {
    let t = match ticket_by_rating_link(&state, &id, &form.sig).await {
        Ok(t) => t,
        Err(_) => return super::not_found_page(&ctx),
    };
    let requester = t.requester_id.clone();
    let done = match score_of(&form.score) {
        Ok(score) => record_rating(&state, &t, &requester, score, Some(&form.comment)).await,
        Err(e) => Err(e),
    };
    match done {
        Ok(()) => ctx.see_other(&format!(
            "/support/rate/{}?sig={}&done=1",
            percent_encode(&t.id),
            percent_encode(&form.sig)
        )),
        Err(e) if e.status().is_client_error() => ctx.render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &RatePage {
                ctx: &ctx,
                id: t.id.clone(),
                sig: form.sig.clone(),
                number: t.number,
                subject: t.subject.clone(),
                chosen: 0,
                done: false,
                scores: [1, 2, 3, 4, 5],
                error: Some(e.problem(ctx.lang, None).detail),
            },
        ),
        Err(e) => ctx.error(&e),
    }
}

// --- suggestions -------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "support_suggestions.html")]
struct SuggestionsPage<'a> {
    ctx: &'a PageCtx,
    topics: Vec<Choice>,
    body: String,
    thanks: bool,
    error: Option<String>,
}

const TOPICS: [&str; 5] = ["app", "wallet", "support", "security", "other"];

fn topic_choices(ctx: &PageCtx, chosen: &str) -> Vec<Choice> {
    TOPICS
        .iter()
        .map(|t| Choice {
            value: (*t).to_owned(),
            label: ctx.t(&format!("support.topic.{t}")).to_owned(),
            selected: *t == chosen,
        })
        .collect()
}

#[derive(Debug, Default, Deserialize)]
struct ThanksQuery {
    thanks: Option<String>,
}

async fn suggestions(Query(q): Query<ThanksQuery>, SignedIn { ctx, .. }: SignedIn) -> Response {
    ctx.render(
        StatusCode::OK,
        &SuggestionsPage {
            ctx: &ctx,
            topics: topic_choices(&ctx, "other"),
            body: String::new(),
            thanks: q.thanks.is_some(),
            error: None,
        },
    )
}

#[derive(Debug, Deserialize)]
struct SuggestionForm {
    topic: String,
    body: String,
}

async fn suggest(
    State(state): State<AppState>,
    CsrfForm { ctx, form }: CsrfForm<SuggestionForm>,
) -> Response {
    let Some(current) = ctx.current.clone() else {
        return ctx.to_login();
    };
    let asked = NewSuggestion {
        topic: Some(form.topic.clone()),
        body: form.body.clone(),
    };
    match leave_suggestion(&state, &current, ctx.lang, &asked).await {
        Ok(_) => ctx.see_other("/support/suggestions?thanks=1"),
        Err(e) if e.status().is_client_error() => ctx.render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &SuggestionsPage {
                ctx: &ctx,
                topics: topic_choices(&ctx, &form.topic),
                body: form.body.clone(),
                thanks: false,
                error: Some(e.problem(ctx.lang, None).detail),
            },
        ),
        Err(e) => ctx.error(&e),
    }
}
