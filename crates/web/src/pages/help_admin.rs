//! Editing the help center as pages, inside the staff consoles: `/admin/help/channels` (contact
//! channels and their hours, typed as lines), `/admin/help/articles` (the knowledge base, with a
//! server-side preview) and `/admin/help/misses` (searches that found nothing) for
//! administrators; `/admin/help/announcements` (notices and incidents, their updates) and
//! `/admin/help/reports` (reported look-alikes and the security team's verdicts) for
//! supervisors and administrators.
//!
//! Every change goes through the API's own handlers and rules (`save_channel`, `channel_row`,
//! `create_announcement`, `add_announcement_update`, `review`, `store_article`, …) called with
//! the page's session, so a page checks, stores and audits exactly as the API does. A refused
//! form comes back with what was typed and the reason next to the field it concerns.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use helpcenter::announcements as ann;
use helpcenter::directory::{ChannelKind, Cost, ScheduleSpec};
use serde::Deserialize;

use super::admin::{AdminRoles, StaffConsole};
use super::help::notice_badge;
use super::moves::shown_time;
use super::wallet::ReviewRoles;
use super::{not_found_page, percent_encode, CsrfForm, PageCtx};
use crate::api::help::{announcement_view, category_label, AnnouncementView, CATEGORIES, SEEN_IN};
use crate::api::help_admin::{
    add_announcement_update, admin_articles, admin_channel, create_announcement, delete_channel,
    edit_announcement, review, save_channel, search_misses, store_article, suspicious,
    AdminArticle, AnnouncementInput, ArticleInput, ChannelInput, MissView, ReviewInput,
    SuspiciousView, UpdateInput,
};
use crate::auth::CurrentSession;
use crate::error::ApiError;
use crate::json::ApiJson;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/admin/help/channels",
            get(channels).post(save_channel_form),
        )
        .route("/admin/help/channels/new", get(new_channel))
        .route("/admin/help/channels/{id}", get(edit_channel))
        .route(
            "/admin/help/channels/{id}/delete",
            post(delete_channel_form),
        )
        .route(
            "/admin/help/announcements",
            get(announcements).post(create_announcement_form),
        )
        .route(
            "/admin/help/announcements/{id}",
            get(edit_announcement_page).post(edit_announcement_form),
        )
        .route(
            "/admin/help/announcements/{id}/updates",
            post(update_announcement_form),
        )
        .route("/admin/help/reports", get(reports).post(review_form))
        .route(
            "/admin/help/articles",
            get(articles)
                .post(save_article_form)
                // Up to 50,000 characters of Markdown, percent-encoded (a Chinese character
                // is nine bytes in a form).
                .layer(axum::Extension(super::FormLimit(512 * 1024))),
        )
        .route("/admin/help/articles/edit", get(article_editor))
        .route("/admin/help/misses", get(misses))
}

/// A refused form: the field it concerns (as the API names it) and why.
pub struct FormError {
    pub field: String,
    pub message: String,
}

impl FormError {
    fn of(ctx: &PageCtx, error: &ApiError) -> FormError {
        FormError {
            field: error.problem(ctx.lang, None).field.unwrap_or_default(),
            message: ctx.refusal(error).0,
        }
    }

    fn at(field: &str, message: impl Into<String>) -> FormError {
        FormError {
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

/// A choice in a menu: its value and its words.
pub struct Choice {
    pub value: String,
    pub label: String,
}

/// "2026-11-25T10:00" (a datetime-local field, read as UTC) or RFC 3339 → RFC 3339; anything
/// else is passed on for the API to refuse in its own words.
fn form_time(text: &str) -> Option<String> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if text.parse::<jiff::Timestamp>().is_ok() {
        return Some(text.to_owned());
    }
    match text.parse::<jiff::civil::DateTime>() {
        Ok(civil) => civil
            .to_zoned(jiff::tz::TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp().to_string())
            .or_else(|| Some(text.to_owned())),
        Err(_) => Some(text.to_owned()),
    }
}

/// Milliseconds as a datetime-local value in UTC.
fn field_time(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M").to_string())
        .unwrap_or_default()
}

fn notice_of(ctx: &PageCtx, key: &str, what: &str) -> Option<String> {
    let words = ctx.t(key);
    Some(if what.is_empty() {
        words.to_owned()
    } else {
        format!("{words} {what}")
    })
}

// --- contact channels --------------------------------------------------------------------------

/// A channel as the list shows it.
pub struct ChannelLine {
    pub id: String,
    pub kind_label: &'static str,
    pub name: String,
    pub region: String,
    pub display: String,
    pub hours: Vec<String>,
    pub time_zone: String,
    pub cost_label: &'static str,
    pub position: i64,
    pub enabled: bool,
}

#[derive(Template)]
#[template(path = "admin_help_channels.html")]
struct ChannelsPage<'a> {
    ctx: &'a PageCtx,
    channels: Vec<ChannelLine>,
    notice: Option<String>,
}

#[derive(Deserialize)]
struct NoticeQuery {
    saved: Option<String>,
    deleted: Option<String>,
    updated: Option<String>,
}

async fn channels(
    State(state): State<AppState>,
    Query(query): Query<NoticeQuery>,
    StaffConsole { ctx, .. }: StaffConsole<AdminRoles>,
) -> Response {
    let zh = ctx.is_zh();
    let rows = match state.db.contact_channels(true).await {
        Ok(rows) => rows,
        Err(e) => return ctx.error(&e.into()),
    };
    let channels = rows
        .iter()
        .map(|c| {
            let spec = crate::help::schedule_of(c);
            ChannelLine {
                id: c.id.clone(),
                kind_label: ChannelKind::parse(&c.kind).map_or("?", |k| k.label(zh)),
                name: ctx.lang.pick(&c.name_en, &c.name_zh).clone(),
                region: ctx.lang.pick(&c.region_en, &c.region_zh).clone(),
                display: c.display.clone(),
                hours: spec.as_ref().map(|s| s.summary(zh)).unwrap_or_default(),
                time_zone: spec.map(|s| s.time_zone).unwrap_or_default(),
                cost_label: Cost::parse(&c.cost).map_or("?", |k| k.label(zh)),
                position: c.position,
                enabled: c.enabled,
            }
        })
        .collect();
    let notice = match (&query.saved, &query.deleted) {
        (Some(id), _) => notice_of(&ctx, "hca.saved", id),
        (_, Some(id)) => notice_of(&ctx, "hca.deleted", id),
        _ => None,
    };
    ctx.render(
        StatusCode::OK,
        &ChannelsPage {
            ctx: &ctx,
            channels,
            notice,
        },
    )
}

/// The channel form as typed: hours as lines (see `ScheduleSpec::from_text`).
#[derive(Default, Deserialize)]
#[serde(default)]
struct ChannelForm {
    /// The id being edited; empty for a new channel.
    original_id: String,
    id: String,
    kind: String,
    name_zh: String,
    name_en: String,
    region_zh: String,
    region_en: String,
    value: String,
    display: String,
    /// Comma-separated tags.
    languages: String,
    time_zone: String,
    always_open: Option<String>,
    weekly: String,
    holidays: String,
    special: String,
    cost: String,
    cost_note_zh: String,
    cost_note_en: String,
    note_zh: String,
    note_en: String,
    position: String,
    enabled: Option<String>,
}

impl ChannelForm {
    fn of(c: &store::helpcenter::ContactChannel) -> ChannelForm {
        let input = admin_channel(c).channel;
        let spec: Option<ScheduleSpec> = serde_json::from_value(input.schedule).ok();
        ChannelForm {
            original_id: c.id.clone(),
            id: c.id.clone(),
            kind: input.kind,
            name_zh: input.name_zh,
            name_en: input.name_en,
            region_zh: input.region_zh,
            region_en: input.region_en,
            value: input.value,
            display: input.display,
            languages: input.languages.join(", "),
            time_zone: spec
                .as_ref()
                .map(|s| s.time_zone.clone())
                .unwrap_or_default(),
            always_open: spec.as_ref().filter(|s| s.always_open).map(|_| "on".into()),
            weekly: spec
                .as_ref()
                .map(ScheduleSpec::weekly_text)
                .unwrap_or_default(),
            holidays: spec
                .as_ref()
                .map(ScheduleSpec::holidays_text)
                .unwrap_or_default(),
            special: spec
                .as_ref()
                .map(ScheduleSpec::special_text)
                .unwrap_or_default(),
            cost: input.cost,
            cost_note_zh: input.cost_note_zh,
            cost_note_en: input.cost_note_en,
            note_zh: input.note_zh,
            note_en: input.note_en,
            position: input.position.to_string(),
            enabled: input.enabled.then(|| "on".into()),
        }
    }

    fn blank(state: &AppState) -> ChannelForm {
        ChannelForm {
            kind: "hotline".into(),
            cost: "local_rate".into(),
            time_zone: state.help.settings.time_zone.clone(),
            weekly: "mon-fri 09:00-18:00".into(),
            languages: "zh-CN, en".into(),
            position: "100".into(),
            enabled: Some("on".into()),
            ..ChannelForm::default()
        }
    }

    /// What the API takes, or the field that cannot be read.
    fn input(&self) -> Result<ChannelInput, FormError> {
        let spec = ScheduleSpec::from_text(
            &self.time_zone,
            self.always_open.is_some(),
            &self.weekly,
            &self.holidays,
            &self.special,
        )
        .map_err(|e| FormError::at("schedule", e.0))?;
        let position = match self.position.trim() {
            "" => 0,
            text => text
                .parse::<i64>()
                .map_err(|_| FormError::at("position", text.to_owned()))?,
        };
        Ok(ChannelInput {
            kind: self.kind.clone(),
            name_zh: self.name_zh.clone(),
            name_en: self.name_en.clone(),
            region_zh: self.region_zh.clone(),
            region_en: self.region_en.clone(),
            value: self.value.clone(),
            display: self.display.clone(),
            languages: self
                .languages
                .split([',', '，'])
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect(),
            schedule: serde_json::to_value(&spec).unwrap_or_default(),
            cost: self.cost.clone(),
            cost_note_zh: self.cost_note_zh.clone(),
            cost_note_en: self.cost_note_en.clone(),
            note_zh: self.note_zh.clone(),
            note_en: self.note_en.clone(),
            position,
            enabled: self.enabled.is_some(),
        })
    }
}

#[derive(Template)]
#[template(path = "admin_help_channel.html")]
struct ChannelFormPage<'a> {
    ctx: &'a PageCtx,
    form: ChannelForm,
    is_new: bool,
    error: Option<FormError>,
    kinds: Vec<Choice>,
    costs: Vec<Choice>,
}

fn render_channel_form(
    ctx: &PageCtx,
    form: ChannelForm,
    error: Option<FormError>,
    status: StatusCode,
) -> Response {
    let zh = ctx.is_zh();
    let page = ChannelFormPage {
        ctx,
        is_new: form.original_id.is_empty(),
        form,
        error,
        kinds: ChannelKind::ALL
            .iter()
            .map(|k| Choice {
                value: k.as_str().into(),
                label: k.label(zh).into(),
            })
            .collect(),
        costs: Cost::ALL
            .iter()
            .map(|c| Choice {
                value: c.as_str().into(),
                label: c.label(zh).into(),
            })
            .collect(),
    };
    ctx.render(status, &page)
}

async fn new_channel(
    State(state): State<AppState>,
    StaffConsole { ctx, .. }: StaffConsole<AdminRoles>,
) -> Response {
    render_channel_form(&ctx, ChannelForm::blank(&state), None, StatusCode::OK)
}

async fn edit_channel(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffConsole { ctx, .. }: StaffConsole<AdminRoles>,
) -> Response {
    match state.db.contact_channel(&id).await {
        Ok(Some(c)) => render_channel_form(&ctx, ChannelForm::of(&c), None, StatusCode::OK),
        Ok(None) => not_found_page(&ctx),
        Err(e) => ctx.error(&e.into()),
    }
}

async fn save_channel_form(
    State(state): State<AppState>,
    StaffConsole { current, .. }: StaffConsole<AdminRoles>,
    CsrfForm { ctx, form }: CsrfForm<ChannelForm>,
) -> Response {
    let id = form.id.trim().to_owned();
    let result: Result<(), FormError> = async {
        let input = form.input().map_err(|mut e| {
            // The hours' own words name the line; say first what they are about.
            if e.field == "schedule" {
                e.message = format!("{} {}", ctx.t("hca.channel.hours_error"), e.message);
            }
            e
        })?;
        if form.original_id != id {
            // A new id must not quietly replace another channel.
            match state.db.contact_channel(&id).await {
                Ok(Some(_)) => return Err(FormError::at("id", ctx.t("hca.channel.id_taken"))),
                Ok(None) => {}
                Err(e) => return Err(FormError::of(&ctx, &e.into())),
            }
        }
        save_channel(
            State(state.clone()),
            current.clone(),
            Path(id.clone()),
            ApiJson(input),
        )
        .await
        .map_err(|e| FormError::of(&ctx, &e))?;
        // Renaming: the old id goes once the new one is stored.
        if !form.original_id.is_empty() && form.original_id != id {
            delete_channel(
                State(state.clone()),
                current.clone(),
                Path(form.original_id.clone()),
            )
            .await
            .map_err(|e| FormError::of(&ctx, &e))?;
        }
        Ok(())
    }
    .await;
    match result {
        Ok(()) => ctx.see_other(&format!(
            "/admin/help/channels?saved={}",
            percent_encode(&id)
        )),
        Err(error) => {
            render_channel_form(&ctx, form, Some(error), StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}

async fn delete_channel_form(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffConsole { current, .. }: StaffConsole<AdminRoles>,
    CsrfForm { ctx, .. }: CsrfForm<super::account::Empty>,
) -> Response {
    match delete_channel(State(state), current, Path(id.clone())).await {
        Ok(_) => ctx.see_other(&format!(
            "/admin/help/channels?deleted={}",
            percent_encode(&id)
        )),
        Err(e) if e.status() == StatusCode::NOT_FOUND => not_found_page(&ctx),
        Err(e) => ctx.error(&e),
    }
}

// --- announcements -----------------------------------------------------------------------------

/// The announcement form as typed.
#[derive(Default, Deserialize)]
#[serde(default)]
struct AnnouncementForm {
    kind: String,
    title_zh: String,
    title_en: String,
    body_zh: String,
    body_en: String,
    /// `deposit:ETH, withdraw`.
    affected: String,
    /// datetime-local (UTC) or RFC 3339.
    starts_at: String,
    ends_at: String,
    published: Option<String>,
}

impl AnnouncementForm {
    fn input(&self) -> AnnouncementInput {
        AnnouncementInput {
            kind: self.kind.clone(),
            title_zh: self.title_zh.clone(),
            title_en: self.title_en.clone(),
            body_zh: self.body_zh.clone(),
            body_en: self.body_en.clone(),
            affected: self
                .affected
                .split([',', '，'])
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(str::to_owned)
                .collect(),
            starts_at: form_time(&self.starts_at),
            ends_at: form_time(&self.ends_at),
            published: self.published.is_some(),
        }
    }

    fn of(a: &store::helpcenter::Announcement) -> AnnouncementForm {
        AnnouncementForm {
            kind: a.kind.clone(),
            title_zh: a.title_zh.clone(),
            title_en: a.title_en.clone(),
            body_zh: a.body_zh.clone(),
            body_en: a.body_en.clone(),
            affected: a.affected.replace(',', ", "),
            starts_at: field_time(a.starts_at_ms),
            ends_at: a.ends_at_ms.map(field_time).unwrap_or_default(),
            published: a.published.then(|| "on".into()),
        }
    }
}

/// The update form as typed.
#[derive(Default, Deserialize)]
#[serde(default)]
struct UpdateForm {
    state: String,
    body_zh: String,
    body_en: String,
}

/// An announcement as editors see it: its view, and the update form under it.
pub struct AdminNotice {
    pub view: AnnouncementView,
    pub published: bool,
    pub badge: &'static str,
    pub starts: String,
    pub ends: Option<String>,
    pub update_times: Vec<String>,
    pub states: Vec<Choice>,
    /// The state the update form offers first: the one after the current.
    pub next_state: String,
    pub update_body_zh: String,
    pub update_body_en: String,
    pub update_error: Option<FormError>,
}

#[derive(Template)]
#[template(path = "admin_help_announcements.html")]
struct AnnouncementsPage<'a> {
    ctx: &'a PageCtx,
    items: Vec<AdminNotice>,
    form: AnnouncementForm,
    error: Option<FormError>,
    kinds: Vec<Choice>,
    notice: Option<String>,
}

/// The update that was refused, to show again under its announcement.
struct RefusedUpdate {
    id: String,
    form: UpdateForm,
    error: FormError,
}

async fn render_announcements(
    state: &AppState,
    ctx: &PageCtx,
    form: AnnouncementForm,
    error: Option<FormError>,
    refused: Option<RefusedUpdate>,
    notice: Option<String>,
    status: StatusCode,
) -> Response {
    let zh = ctx.is_zh();
    let built: Result<Vec<AdminNotice>, ApiError> = async {
        let now = store::now_ms();
        let mut items = Vec::new();
        for a in state.db.announcements(true, 200).await? {
            let view = announcement_view(state, ctx.lang, &a, now).await?;
            let kind = ann::Kind::parse(&a.kind).unwrap_or(ann::Kind::Incident);
            let states = kind.states();
            let at = states.iter().position(|s| *s == a.state).unwrap_or(0);
            let next_state = states.get(at + 1).unwrap_or(&states[at]).to_string();
            let mut item = AdminNotice {
                published: a.published,
                badge: notice_badge(&a.state),
                starts: shown_time(&view.starts_at),
                ends: view.ends_at.as_deref().map(shown_time),
                update_times: view.updates.iter().map(|u| shown_time(&u.at)).collect(),
                states: states
                    .iter()
                    .map(|s| Choice {
                        value: (*s).to_owned(),
                        label: ann::state_label(s, zh).to_owned(),
                    })
                    .collect(),
                next_state,
                update_body_zh: String::new(),
                update_body_en: String::new(),
                update_error: None,
                view,
            };
            if let Some(r) = &refused {
                if r.id == a.id {
                    item.next_state.clone_from(&r.form.state);
                    item.update_body_zh.clone_from(&r.form.body_zh);
                    item.update_body_en.clone_from(&r.form.body_en);
                    item.update_error = Some(FormError::at(&r.error.field, &r.error.message));
                }
            }
            items.push(item);
        }
        Ok(items)
    }
    .await;
    match built {
        Ok(items) => ctx.render(
            status,
            &AnnouncementsPage {
                ctx,
                items,
                form,
                error,
                kinds: [
                    ann::Kind::Incident,
                    ann::Kind::Maintenance,
                    ann::Kind::Security,
                ]
                .iter()
                .map(|k| Choice {
                    value: k.as_str().into(),
                    label: k.label(zh).into(),
                })
                .collect(),
                notice,
            },
        ),
        Err(e) => ctx.error(&e),
    }
}

async fn announcements(
    State(state): State<AppState>,
    Query(query): Query<NoticeQuery>,
    StaffConsole { ctx, .. }: StaffConsole<ReviewRoles>,
) -> Response {
    let notice = match (&query.saved, &query.updated) {
        (Some(_), _) => notice_of(&ctx, "hca.saved", ""),
        (_, Some(_)) => notice_of(&ctx, "hca.announcement.updated", ""),
        _ => None,
    };
    let form = AnnouncementForm {
        kind: "incident".into(),
        published: Some("on".into()),
        ..AnnouncementForm::default()
    };
    render_announcements(&state, &ctx, form, None, None, notice, StatusCode::OK).await
}

async fn create_announcement_form(
    State(state): State<AppState>,
    StaffConsole { current, .. }: StaffConsole<ReviewRoles>,
    CsrfForm { ctx, form }: CsrfForm<AnnouncementForm>,
) -> Response {
    let made = create_announcement(
        State(state.clone()),
        ctx.lang,
        current,
        ApiJson(form.input()),
    )
    .await;
    match made {
        Ok((_, ApiJson(view))) => ctx.see_other(&format!(
            "/admin/help/announcements?saved={}#a-{}",
            percent_encode(&view.id),
            percent_encode(&view.id)
        )),
        Err(e) if e.status().is_client_error() => {
            let error = Some(FormError::of(&ctx, &e));
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            render_announcements(&state, &ctx, form, error, None, None, status).await
        }
        Err(e) => ctx.error(&e),
    }
}

async fn update_announcement_form(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffConsole { current, .. }: StaffConsole<ReviewRoles>,
    CsrfForm { ctx, form }: CsrfForm<UpdateForm>,
) -> Response {
    let input = UpdateInput {
        state: form.state.clone(),
        body_zh: form.body_zh.clone(),
        body_en: form.body_en.clone(),
    };
    let done = add_announcement_update(
        State(state.clone()),
        ctx.lang,
        current,
        Path(id.clone()),
        ApiJson(input),
    )
    .await;
    match done {
        Ok(_) => ctx.see_other(&format!(
            "/admin/help/announcements?updated={}#a-{}",
            percent_encode(&id),
            percent_encode(&id)
        )),
        Err(e) if e.status() == StatusCode::NOT_FOUND => not_found_page(&ctx),
        Err(e) if e.status().is_client_error() => {
            let refused = RefusedUpdate {
                id,
                form,
                error: FormError::of(&ctx, &e),
            };
            let blank = AnnouncementForm {
                kind: "incident".into(),
                published: Some("on".into()),
                ..AnnouncementForm::default()
            };
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            render_announcements(&state, &ctx, blank, None, Some(refused), None, status).await
        }
        Err(e) => ctx.error(&e),
    }
}

#[derive(Template)]
#[template(path = "admin_help_announcement.html")]
struct AnnouncementEditPage<'a> {
    ctx: &'a PageCtx,
    id: String,
    kind_label: &'static str,
    form: AnnouncementForm,
    error: Option<FormError>,
}

fn render_announcement_edit(
    ctx: &PageCtx,
    id: String,
    form: AnnouncementForm,
    error: Option<FormError>,
    status: StatusCode,
) -> Response {
    let kind_label = ann::Kind::parse(&form.kind).map_or("?", |k| k.label(ctx.is_zh()));
    ctx.render(
        status,
        &AnnouncementEditPage {
            ctx,
            id,
            kind_label,
            form,
            error,
        },
    )
}

async fn edit_announcement_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffConsole { ctx, .. }: StaffConsole<ReviewRoles>,
) -> Response {
    match state.db.announcement(&id).await {
        Ok(Some(a)) => {
            render_announcement_edit(&ctx, id, AnnouncementForm::of(&a), None, StatusCode::OK)
        }
        Ok(None) => not_found_page(&ctx),
        Err(e) => ctx.error(&e.into()),
    }
}

async fn edit_announcement_form(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffConsole { current, .. }: StaffConsole<ReviewRoles>,
    CsrfForm { ctx, mut form }: CsrfForm<AnnouncementForm>,
) -> Response {
    // The kind is fixed once created; the form shows it but does not send it.
    let kind = match state.db.announcement(&id).await {
        Ok(Some(a)) => a.kind,
        Ok(None) => return not_found_page(&ctx),
        Err(e) => return ctx.error(&e.into()),
    };
    form.kind = kind;
    let done = edit_announcement(
        State(state.clone()),
        ctx.lang,
        current,
        Path(id.clone()),
        ApiJson(form.input()),
    )
    .await;
    match done {
        Ok(_) => ctx.see_other(&format!(
            "/admin/help/announcements?saved={}#a-{}",
            percent_encode(&id),
            percent_encode(&id)
        )),
        Err(e) if e.status().is_client_error() => {
            let error = Some(FormError::of(&ctx, &e));
            render_announcement_edit(&ctx, id, form, error, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => ctx.error(&e),
    }
}

// --- reported look-alikes ----------------------------------------------------------------------

/// A reported value as the review list shows it.
pub struct SuspiciousLine {
    pub v: SuspiciousView,
    /// phone, url, domain, email, handle in words.
    pub kind_label: String,
    pub first: String,
    pub last: String,
    /// (when, where seen in words, value as typed, note)
    pub recent: Vec<(String, String, String, String)>,
}

#[derive(Template)]
#[template(path = "admin_help_reports.html")]
struct ReportsPage<'a> {
    ctx: &'a PageCtx,
    items: Vec<SuspiciousLine>,
    verdicts: Vec<Choice>,
    notice: Option<String>,
    error: Option<String>,
}

async fn render_reports(
    state: &AppState,
    ctx: &PageCtx,
    current: CurrentSession,
    notice: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    // Through the API's handler, so that every opening of the list is audited as there.
    let list = match suspicious(State(state.clone()), current).await {
        Ok(ApiJson(list)) => list,
        Err(e) => return ctx.error(&e),
    };
    let seen = |code: &str| {
        if SEEN_IN.contains(&code) {
            ctx.t_or(format!("hc.seen.{code}"), code)
        } else {
            code.to_owned()
        }
    };
    let items = list
        .items
        .into_iter()
        .map(|v| SuspiciousLine {
            kind_label: ctx.t_or(format!("hca.kind.{}", v.kind), &v.kind),
            first: shown_time(&v.first_at),
            last: shown_time(&v.last_at),
            recent: v
                .recent
                .iter()
                .map(|r| {
                    (
                        shown_time(&r.at),
                        seen(&r.seen_in),
                        r.value.clone(),
                        r.note.clone(),
                    )
                })
                .collect(),
            v,
        })
        .collect();
    let verdicts = ["scam", "not_scam", "ours"]
        .iter()
        .map(|v| Choice {
            value: (*v).to_owned(),
            label: ctx.t_or(format!("hca.verdict.{v}"), v),
        })
        .collect();
    ctx.render(
        status,
        &ReportsPage {
            ctx,
            items,
            verdicts,
            notice,
            error,
        },
    )
}

async fn reports(
    State(state): State<AppState>,
    Query(query): Query<NoticeQuery>,
    StaffConsole { ctx, current, .. }: StaffConsole<ReviewRoles>,
) -> Response {
    let notice = query
        .saved
        .as_deref()
        .and_then(|v| notice_of(&ctx, "hca.reports.saved", v));
    render_reports(&state, &ctx, current, notice, None, StatusCode::OK).await
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct VerdictForm {
    normalised: String,
    verdict: String,
    note: String,
}

async fn review_form(
    State(state): State<AppState>,
    StaffConsole { current, .. }: StaffConsole<ReviewRoles>,
    CsrfForm { ctx, form }: CsrfForm<VerdictForm>,
) -> Response {
    let input = ReviewInput {
        normalised: form.normalised.clone(),
        verdict: form.verdict,
        note: form.note,
    };
    match review(State(state.clone()), current.clone(), ApiJson(input)).await {
        Ok(_) => ctx.see_other(&format!(
            "/admin/help/reports?saved={}",
            percent_encode(&form.normalised)
        )),
        Err(e) if e.status().is_client_error() => {
            let error = Some(ctx.refusal(&e).0);
            render_reports(&state, &ctx, current, None, error, e.status()).await
        }
        Err(e) => ctx.error(&e),
    }
}

// --- articles ----------------------------------------------------------------------------------

/// An article as the list shows it.
pub struct ArticleLine {
    pub a: AdminArticle,
    pub category_label: String,
    pub updated: String,
    pub edit_href: String,
}

#[derive(Template)]
#[template(path = "admin_help_articles.html")]
struct ArticlesPage<'a> {
    ctx: &'a PageCtx,
    items: Vec<ArticleLine>,
    notice: Option<String>,
}

async fn articles(
    State(state): State<AppState>,
    Query(query): Query<NoticeQuery>,
    StaffConsole { ctx, .. }: StaffConsole<AdminRoles>,
) -> Response {
    let list = match admin_articles(&state).await {
        Ok(list) => list,
        Err(e) => return ctx.error(&e),
    };
    let items = list
        .into_iter()
        .map(|a| ArticleLine {
            category_label: category_label(&a.category, ctx.lang),
            updated: shown_time(&a.updated_at),
            edit_href: format!(
                "/admin/help/articles/edit?slug={}&lang={}",
                percent_encode(&a.slug),
                percent_encode(&a.lang)
            ),
            a,
        })
        .collect();
    let notice = query
        .saved
        .as_deref()
        .and_then(|v| notice_of(&ctx, "hca.saved", v));
    ctx.render(
        StatusCode::OK,
        &ArticlesPage {
            ctx: &ctx,
            items,
            notice,
        },
    )
}

/// The article editor as typed.
#[derive(Default, Deserialize)]
#[serde(default)]
struct ArticleForm {
    /// `slug/lang` of the article being edited; empty for a new one.
    original: String,
    slug: String,
    lang: String,
    category: String,
    title: String,
    tags: String,
    body_md: String,
    published: Option<String>,
    /// preview or save.
    action: String,
}

#[derive(Template)]
#[template(path = "admin_help_article.html")]
struct ArticleEditorPage<'a> {
    ctx: &'a PageCtx,
    form: ArticleForm,
    is_new: bool,
    error: Option<FormError>,
    categories: Vec<Choice>,
    /// The body rendered as the article page will show it.
    preview_html: Option<String>,
    /// Where the saved article is read.
    view_href: String,
}

fn render_editor(
    ctx: &PageCtx,
    form: ArticleForm,
    error: Option<FormError>,
    preview_html: Option<String>,
    status: StatusCode,
) -> Response {
    let page = ArticleEditorPage {
        ctx,
        is_new: form.original.is_empty(),
        view_href: format!(
            "/help/articles/{}?lang={}",
            percent_encode(&form.slug),
            percent_encode(&form.lang)
        ),
        form,
        error,
        categories: CATEGORIES
            .iter()
            .map(|(id, _, _)| Choice {
                value: (*id).to_owned(),
                label: category_label(id, ctx.lang),
            })
            .collect(),
        preview_html,
    };
    ctx.render(status, &page)
}

#[derive(Deserialize)]
struct EditorQuery {
    slug: Option<String>,
    lang: Option<String>,
}

async fn article_editor(
    State(state): State<AppState>,
    Query(query): Query<EditorQuery>,
    StaffConsole { ctx, .. }: StaffConsole<AdminRoles>,
) -> Response {
    let lang = query.lang.unwrap_or_else(|| ctx.lang.tag().to_owned());
    let Some(slug) = query.slug.filter(|s| !s.is_empty()) else {
        let form = ArticleForm {
            lang,
            category: PROBLEM_DEFAULT.into(),
            published: Some("on".into()),
            ..ArticleForm::default()
        };
        return render_editor(&ctx, form, None, None, StatusCode::OK);
    };
    match state.db.article(&slug, &lang).await {
        Ok(Some(row)) => {
            let form = ArticleForm {
                original: format!("{}/{}", row.slug, row.lang),
                slug: row.slug,
                lang: row.lang,
                category: row.category,
                title: row.title,
                tags: row.tags,
                body_md: row.body_md,
                published: row.published.then(|| "on".into()),
                action: String::new(),
            };
            render_editor(&ctx, form, None, None, StatusCode::OK)
        }
        // A slug without this language yet: a new translation, prefilled with the slug.
        Ok(None) => {
            let form = ArticleForm {
                slug,
                lang,
                category: PROBLEM_DEFAULT.into(),
                published: Some("on".into()),
                ..ArticleForm::default()
            };
            render_editor(&ctx, form, None, None, StatusCode::OK)
        }
        Err(e) => ctx.error(&e.into()),
    }
}

/// The category a new article starts in.
const PROBLEM_DEFAULT: &str = "wallet_basics";

async fn save_article_form(
    State(state): State<AppState>,
    StaffConsole { current, .. }: StaffConsole<AdminRoles>,
    CsrfForm { ctx, mut form }: CsrfForm<ArticleForm>,
) -> Response {
    form.slug = form.slug.trim().to_owned();
    if form.action == "preview" {
        let html = kb::render_markdown(&form.body_md);
        return render_editor(&ctx, form, None, Some(html), StatusCode::OK);
    }
    let result: Result<(), FormError> = async {
        let this = format!("{}/{}", form.slug, form.lang);
        if form.original != this {
            // Saving under a slug and language that already exist would overwrite that article.
            match state.db.article(&form.slug, &form.lang).await {
                Ok(Some(_)) => return Err(FormError::at("slug", ctx.t("hca.article.exists"))),
                Ok(None) => {}
                Err(e) => return Err(FormError::of(&ctx, &e.into())),
            }
        }
        let input = ArticleInput {
            category: form.category.clone(),
            title: form.title.clone(),
            tags: form.tags.clone(),
            body_md: form.body_md.clone(),
            published: form.published.is_some(),
        };
        store_article(&state, &current.user.id, &form.slug, &form.lang, &input)
            .await
            .map_err(|e| FormError::of(&ctx, &e))?;
        Ok(())
    }
    .await;
    match result {
        Ok(()) => ctx.see_other(&format!(
            "/admin/help/articles?saved={}",
            percent_encode(&format!("{}/{}", form.slug, form.lang))
        )),
        Err(error) => render_editor(
            &ctx,
            form,
            Some(error),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    }
}

// --- searches that found nothing ---------------------------------------------------------------

/// A search that found nothing, as the list shows it.
pub struct MissLine {
    pub m: MissView,
    pub first: String,
    pub last: String,
    pub search_href: String,
}

#[derive(Template)]
#[template(path = "admin_help_misses.html")]
struct MissesPage<'a> {
    ctx: &'a PageCtx,
    items: Vec<MissLine>,
}

async fn misses(
    State(state): State<AppState>,
    StaffConsole { ctx, current, .. }: StaffConsole<AdminRoles>,
) -> Response {
    let list = match search_misses(State(state), current).await {
        Ok(ApiJson(list)) => list,
        Err(e) => return ctx.error(&e),
    };
    let items = list
        .items
        .into_iter()
        .map(|m| MissLine {
            first: shown_time(&m.first_at),
            last: shown_time(&m.last_at),
            search_href: format!("/help/search?q={}", percent_encode(&m.query)),
            m,
        })
        .collect();
    ctx.render(StatusCode::OK, &MissesPage { ctx: &ctx, items })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_times_are_utc_unless_they_say_otherwise() {
        assert_eq!(
            form_time("2026-11-25T10:00").as_deref(),
            Some("2026-11-25T10:00:00Z")
        );
        assert_eq!(
            form_time("2026-11-25T10:00:00+08:00").as_deref(),
            Some("2026-11-25T10:00:00+08:00")
        );
        assert_eq!(form_time(" ").as_deref(), None);
        assert_eq!(form_time("soon").as_deref(), Some("soon"));
        assert_eq!(field_time(0), "1970-01-01T00:00");
    }

    #[test]
    fn bad_hours_name_the_schedule() {
        let form = ChannelForm {
            time_zone: "Asia/Shanghai".into(),
            weekly: "mon-fri 9-18".into(),
            ..ChannelForm::default()
        };
        let error = form.input().expect_err("refused");
        assert_eq!(error.field, "schedule");
        assert!(error.message.contains("HH:MM"), "{}", error.message);
    }
}
