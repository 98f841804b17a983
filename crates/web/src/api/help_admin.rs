//! Editing the help center: contact channels and their hours (administrators), announcements
//! and incidents (supervisors and administrators), the review list of reported look-alikes
//! (supervisors and administrators), and knowledge-base articles with preview, feedback and the
//! searches that found nothing (administrators).
//!
//! Every change is audited; an article save re-indexes at once on this node (the others pick
//! it up on their next sync).

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::Router;
use helpcenter::announcements as ann;
use helpcenter::directory::{ChannelKind, Cost, ScheduleSpec};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::help::{invalid, missing, CATEGORIES};
use crate::api::sessions::rfc3339;
use crate::auth::CurrentSession;
use crate::error::{ApiError, Reason};
use crate::json::ApiJson;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/admin/contact-channels", get(list_channels))
        .route(
            "/api/v1/admin/contact-channels/{id}",
            put(save_channel).delete(delete_channel),
        )
        .route("/api/v1/admin/announcements", post(create_announcement))
        .route("/api/v1/admin/announcements/{id}", put(edit_announcement))
        .route(
            "/api/v1/admin/announcements/{id}/updates",
            post(add_announcement_update),
        )
        .route("/api/v1/admin/suspicious-reports", get(suspicious))
        .route("/api/v1/admin/suspicious-reviews", post(review))
        .route("/api/v1/admin/articles", get(list_articles))
        // Articles run to 50,000 characters (150 KB of Chinese in UTF-8), more than the API's
        // usual body limit.
        .route(
            "/api/v1/admin/articles/{slug}/{lang}",
            put(save_article).layer(DefaultBodyLimit::max(ARTICLE_BODY_BYTES_MAX)),
        )
        .route(
            "/api/v1/admin/article-previews",
            post(preview).layer(DefaultBodyLimit::max(ARTICLE_BODY_BYTES_MAX)),
        )
        .route("/api/v1/admin/search-misses", get(search_misses))
}

/// The largest article a request may carry.
const ARTICLE_BODY_BYTES_MAX: usize = 256 * 1024;

pub fn require_admin(current: &CurrentSession) -> Result<(), ApiError> {
    match current.user.role {
        identity::Role::Admin => Ok(()),
        _ => Err(ApiError::new(Reason::Forbidden)),
    }
}

pub fn require_supervisor(current: &CurrentSession) -> Result<(), ApiError> {
    match current.user.role {
        identity::Role::Admin | identity::Role::Supervisor => Ok(()),
        _ => Err(ApiError::new(Reason::Forbidden)),
    }
}

fn check_len(field: &str, value: &str, max: usize) -> Result<(), ApiError> {
    if value.chars().count() > max {
        return Err(invalid(field, format!("longer than {max} characters")));
    }
    Ok(())
}

fn check_required(field: &str, value: &str, max: usize) -> Result<(), ApiError> {
    if value.trim().is_empty() {
        return Err(missing(field));
    }
    check_len(field, value, max)
}

/// Ids and slugs: lowercase letters, digits and dashes, 1–60 characters.
pub fn check_slug(field: &str, value: &str) -> Result<(), ApiError> {
    let ok = !value.is_empty()
        && value.len() <= 60
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !value.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(invalid(
            field,
            "use 1–60 lowercase letters, digits and dashes",
        ))
    }
}

// --- contact channels --------------------------------------------------------------------------

/// A channel as editors see and send it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelInput {
    /// in_app_call, live_chat, hotline, ticket, email, social, website.
    pub kind: String,
    pub name_zh: String,
    pub name_en: String,
    #[serde(default)]
    pub region_zh: String,
    #[serde(default)]
    pub region_en: String,
    /// Hotline: a phone number (stored as E.164); email: an address; social:
    /// `platform:@handle`; website: a domain.
    #[serde(default)]
    pub value: String,
    /// How the number or address is written for people (`400-990-1234`).
    #[serde(default)]
    pub display: String,
    #[serde(default)]
    pub languages: Vec<String>,
    /// `{time_zone, always_open?, weekly: [{days, start, end}], holidays: [{date, name_zh,
    /// name_en}], special: [{date, openings: [[start, end]]}]}`.
    #[schema(value_type = Object)]
    pub schedule: serde_json::Value,
    /// toll_free, local_rate, international, free_in_app, free.
    pub cost: String,
    #[serde(default)]
    pub cost_note_zh: String,
    #[serde(default)]
    pub cost_note_en: String,
    #[serde(default)]
    pub note_zh: String,
    #[serde(default)]
    pub note_en: String,
    #[serde(default)]
    pub position: i64,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminChannel {
    pub id: String,
    #[serde(flatten)]
    pub channel: ChannelInput,
    pub updated_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminChannelList {
    pub items: Vec<AdminChannel>,
}

pub fn admin_channel(c: &store::helpcenter::ContactChannel) -> AdminChannel {
    AdminChannel {
        id: c.id.clone(),
        channel: ChannelInput {
            kind: c.kind.clone(),
            name_zh: c.name_zh.clone(),
            name_en: c.name_en.clone(),
            region_zh: c.region_zh.clone(),
            region_en: c.region_en.clone(),
            value: c.value.clone(),
            display: c.display.clone(),
            languages: c
                .languages
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            schedule: serde_json::from_str(&c.schedule).unwrap_or(serde_json::Value::Null),
            cost: c.cost.clone(),
            cost_note_zh: c.cost_note_zh.clone(),
            cost_note_en: c.cost_note_en.clone(),
            note_zh: c.note_zh.clone(),
            note_en: c.note_en.clone(),
            position: c.position,
            enabled: c.enabled,
        },
        updated_at: rfc3339(c.updated_at_ms),
    }
}

/// Checks a channel and makes the row to store (the value normalised).
pub fn channel_row(
    state: &AppState,
    id: &str,
    input: &ChannelInput,
) -> Result<store::helpcenter::ContactChannel, ApiError> {
    check_slug("id", id)?;
    let kind = ChannelKind::parse(&input.kind).ok_or_else(|| {
        invalid(
            "kind",
            "use in_app_call, live_chat, hotline, ticket, email, social or website",
        )
    })?;
    let cost = Cost::parse(&input.cost).ok_or_else(|| {
        invalid(
            "cost",
            "use toll_free, local_rate, international, free_in_app or free",
        )
    })?;
    check_required("name_zh", &input.name_zh, 80)?;
    check_required("name_en", &input.name_en, 80)?;
    for (field, value, max) in [
        ("region_zh", &input.region_zh, 80),
        ("region_en", &input.region_en, 80),
        ("display", &input.display, 80),
        ("cost_note_zh", &input.cost_note_zh, 300),
        ("cost_note_en", &input.cost_note_en, 300),
        ("note_zh", &input.note_zh, 500),
        ("note_en", &input.note_en, 500),
    ] {
        check_len(field, value, max)?;
    }
    let spec: ScheduleSpec = serde_json::from_value(input.schedule.clone())
        .map_err(|e| invalid("schedule", e.to_string()))?;
    spec.to_schedule()
        .map_err(|e| invalid("schedule", e.to_string()))?;
    let value = input.value.trim();
    let value = match kind {
        ChannelKind::Hotline => {
            helpcenter::official::normalise_phone(value, &state.help.settings.default_country_code)
                .ok_or_else(|| invalid("value", "a hotline needs a phone number"))?
        }
        ChannelKind::Email => {
            if helpcenter::official::classify(value) != helpcenter::official::Kind::Email {
                return Err(invalid("value", "an email channel needs an address"));
            }
            value.to_lowercase()
        }
        ChannelKind::Social => {
            if !value.contains('@') {
                return Err(invalid(
                    "value",
                    "write platform:@handle, e.g. weibo:@okwallet",
                ));
            }
            value.to_owned()
        }
        ChannelKind::Website => {
            if !value.contains('.') || value.contains(' ') {
                return Err(invalid("value", "a website channel needs a domain"));
            }
            value.to_lowercase()
        }
        _ => value.to_owned(),
    };
    check_len("value", &value, 200)?;
    for l in &input.languages {
        check_len("languages", l, 20)?;
    }
    Ok(store::helpcenter::ContactChannel {
        id: id.to_owned(),
        kind: kind.as_str().into(),
        name_zh: input.name_zh.trim().into(),
        name_en: input.name_en.trim().into(),
        region_zh: input.region_zh.trim().into(),
        region_en: input.region_en.trim().into(),
        display: if input.display.trim().is_empty() {
            value.clone()
        } else {
            input.display.trim().into()
        },
        value,
        languages: input.languages.join(","),
        schedule: spec.to_json(),
        cost: cost.as_str().into(),
        cost_note_zh: input.cost_note_zh.trim().into(),
        cost_note_en: input.cost_note_en.trim().into(),
        note_zh: input.note_zh.trim().into(),
        note_en: input.note_en.trim().into(),
        position: input.position,
        enabled: input.enabled,
        updated_at_ms: store::now_ms(),
    })
}

/// Every channel, disabled ones too, as stored.
#[utoipa::path(get, path = "/api/v1/admin/contact-channels", tag = "help admin",
    security(("bearer" = [])), responses((status = 200, body = AdminChannelList),
        (status = 403, description = "`forbidden`", body = crate::error::Problem)))]
pub async fn list_channels(
    State(state): State<AppState>,
    current: CurrentSession,
) -> Result<ApiJson<AdminChannelList>, ApiError> {
    require_admin(&current)?;
    let items = state
        .db
        .contact_channels(true)
        .await?
        .iter()
        .map(admin_channel)
        .collect();
    Ok(ApiJson(AdminChannelList { items }))
}

/// Adds or replaces a channel.
#[utoipa::path(put, path = "/api/v1/admin/contact-channels/{id}", tag = "help admin",
    security(("bearer" = [])), request_body = ChannelInput,
    responses((status = 200, body = AdminChannel),
        (status = 422, description = "`invalid_field`", body = crate::error::Problem),
        (status = 403, description = "`forbidden`", body = crate::error::Problem)))]
pub async fn save_channel(
    State(state): State<AppState>,
    current: CurrentSession,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ChannelInput>,
) -> Result<ApiJson<AdminChannel>, ApiError> {
    require_admin(&current)?;
    let row = channel_row(&state, &id, &input)?;
    state.db.save_contact_channel(&row).await?;
    state
        .db
        .audit(&current.user.id, "contact_channel.saved", &id, &row.kind)
        .await?;
    Ok(ApiJson(admin_channel(&row)))
}

/// Removes a channel.
#[utoipa::path(delete, path = "/api/v1/admin/contact-channels/{id}", tag = "help admin",
    security(("bearer" = [])), responses((status = 204),
        (status = 404, description = "`not_found`", body = crate::error::Problem)))]
pub async fn delete_channel(
    State(state): State<AppState>,
    current: CurrentSession,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    require_admin(&current)?;
    if !state.db.delete_contact_channel(&id).await? {
        return Err(ApiError::not_found());
    }
    state
        .db
        .audit(&current.user.id, "contact_channel.deleted", &id, "")
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// --- announcements -----------------------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnnouncementInput {
    /// maintenance, security, incident (only when creating; ignored on edits).
    pub kind: String,
    pub title_zh: String,
    pub title_en: String,
    pub body_zh: String,
    pub body_en: String,
    /// Features, each optionally `feature:ASSET`: deposit, withdraw, send, convert, pay,
    /// login, support.
    #[serde(default)]
    pub affected: Vec<String>,
    /// RFC 3339; default now. For maintenance, when it starts.
    #[serde(default)]
    pub starts_at: Option<String>,
    /// RFC 3339; for maintenance, when it ends.
    #[serde(default)]
    pub ends_at: Option<String>,
    #[serde(default = "yes")]
    pub published: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateInput {
    /// The new state (see the kind's states).
    pub state: String,
    pub body_zh: String,
    pub body_en: String,
}

fn time_field(field: &str, value: Option<&str>) -> Result<Option<i64>, ApiError> {
    value
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<jiff::Timestamp>()
                .map(|t| t.as_millisecond())
                .map_err(|_| invalid(field, "not an RFC 3339 time"))
        })
        .transpose()
}

fn announcement_row(
    id: &str,
    kind: ann::Kind,
    state_now: &str,
    input: &AnnouncementInput,
    by: &str,
) -> Result<store::helpcenter::Announcement, ApiError> {
    check_required("title_zh", &input.title_zh, 200)?;
    check_required("title_en", &input.title_en, 200)?;
    check_required("body_zh", &input.body_zh, 5000)?;
    check_required("body_en", &input.body_en, 5000)?;
    let affected = input.affected.join(",");
    ann::parse_affected(&affected).map_err(|e| invalid("affected", e))?;
    let now = store::now_ms();
    let starts = time_field("starts_at", input.starts_at.as_deref())?.unwrap_or(now);
    let ends = time_field("ends_at", input.ends_at.as_deref())?;
    if ends.is_some_and(|e| e <= starts) {
        return Err(invalid("ends_at", "must be after starts_at"));
    }
    Ok(store::helpcenter::Announcement {
        id: id.to_owned(),
        kind: kind.as_str().into(),
        state: state_now.to_owned(),
        title_zh: input.title_zh.trim().into(),
        title_en: input.title_en.trim().into(),
        body_zh: input.body_zh.trim().into(),
        body_en: input.body_en.trim().into(),
        affected,
        starts_at_ms: starts,
        ends_at_ms: ends,
        published: input.published,
        created_by: Some(by.to_owned()),
        created_at_ms: now,
        updated_at_ms: now,
    })
}

/// Publishes an announcement or opens an incident (in the kind's first state).
#[utoipa::path(post, path = "/api/v1/admin/announcements", tag = "help admin",
    security(("bearer" = [])), request_body = AnnouncementInput,
    responses((status = 201, body = crate::api::help::AnnouncementView),
        (status = 422, description = "`invalid_field`", body = crate::error::Problem),
        (status = 403, description = "`forbidden`", body = crate::error::Problem)))]
pub async fn create_announcement(
    State(state): State<AppState>,
    lang: crate::lang::Lang,
    current: CurrentSession,
    ApiJson(input): ApiJson<AnnouncementInput>,
) -> Result<(StatusCode, ApiJson<crate::api::help::AnnouncementView>), ApiError> {
    require_supervisor(&current)?;
    let kind = ann::Kind::parse(&input.kind)
        .ok_or_else(|| invalid("kind", "use maintenance, security or incident"))?;
    let row = announcement_row(
        &store::new_id(),
        kind,
        kind.first_state(),
        &input,
        &current.user.id,
    )?;
    state.db.insert_announcement(&row).await?;
    state
        .db
        .audit(&current.user.id, "announcement.created", &row.id, &row.kind)
        .await?;
    let view = crate::api::help::announcement_view(&state, lang, &row, store::now_ms()).await?;
    Ok((StatusCode::CREATED, ApiJson(view)))
}

/// Corrects what an announcement says, what it affects and when (its state moves by updates).
#[utoipa::path(put, path = "/api/v1/admin/announcements/{id}", tag = "help admin",
    security(("bearer" = [])), request_body = AnnouncementInput,
    responses((status = 200, body = crate::api::help::AnnouncementView),
        (status = 404, description = "`not_found`", body = crate::error::Problem)))]
pub async fn edit_announcement(
    State(state): State<AppState>,
    lang: crate::lang::Lang,
    current: CurrentSession,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<AnnouncementInput>,
) -> Result<ApiJson<crate::api::help::AnnouncementView>, ApiError> {
    require_supervisor(&current)?;
    let old = state
        .db
        .announcement(&id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let kind = ann::Kind::parse(&old.kind).unwrap_or(ann::Kind::Incident);
    let mut row = announcement_row(&id, kind, &old.state, &input, &current.user.id)?;
    row.created_at_ms = old.created_at_ms;
    row.created_by = old.created_by;
    if row.ends_at_ms.is_none() {
        row.ends_at_ms = old.ends_at_ms;
    }
    state.db.edit_announcement(&row).await?;
    state
        .db
        .audit(&current.user.id, "announcement.edited", &id, "")
        .await?;
    Ok(ApiJson(
        crate::api::help::announcement_view(&state, lang, &row, store::now_ms()).await?,
    ))
}

/// Moves an announcement to a state with what is said about it (e.g. an incident from
/// `investigating` to `identified`); the final state ends it.
#[utoipa::path(post, path = "/api/v1/admin/announcements/{id}/updates", tag = "help admin",
    security(("bearer" = [])), request_body = UpdateInput,
    responses((status = 201, body = crate::api::help::AnnouncementView),
        (status = 404, description = "`not_found`", body = crate::error::Problem),
        (status = 422, description = "`invalid_field`: a state this kind does not have", body = crate::error::Problem)))]
pub async fn add_announcement_update(
    State(state): State<AppState>,
    lang: crate::lang::Lang,
    current: CurrentSession,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<UpdateInput>,
) -> Result<(StatusCode, ApiJson<crate::api::help::AnnouncementView>), ApiError> {
    require_supervisor(&current)?;
    let old = state
        .db
        .announcement(&id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let kind = ann::Kind::parse(&old.kind).unwrap_or(ann::Kind::Incident);
    if !kind.states().contains(&input.state.as_str()) {
        return Err(invalid(
            "state",
            format!("a {} is one of {}", kind.as_str(), kind.states().join(", ")),
        ));
    }
    check_required("body_zh", &input.body_zh, 5000)?;
    check_required("body_en", &input.body_en, 5000)?;
    let now = store::now_ms();
    let ends = kind.is_final(&input.state).then_some(now);
    let update = store::helpcenter::AnnouncementUpdate {
        id: store::new_id(),
        announcement_id: id.clone(),
        state: input.state.clone(),
        body_zh: input.body_zh.trim().into(),
        body_en: input.body_en.trim().into(),
        created_by: Some(current.user.id.clone()),
        created_at_ms: now,
    };
    // A maintenance window's planned end stays; an incident's end is when it was resolved.
    let ends = if kind == ann::Kind::Maintenance && old.ends_at_ms.is_some() {
        None
    } else {
        ends
    };
    state.db.add_announcement_update(&update, ends).await?;
    state
        .db
        .audit(&current.user.id, "announcement.updated", &id, &input.state)
        .await?;
    let row = state
        .db
        .announcement(&id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok((
        StatusCode::CREATED,
        ApiJson(crate::api::help::announcement_view(&state, lang, &row, now).await?),
    ))
}

// --- suspicious values -------------------------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
pub struct SuspiciousView {
    pub normalised: String,
    pub kind: String,
    pub example: String,
    pub reports: i64,
    pub first_at: String,
    pub last_at: String,
    /// scam, not_scam, ours, or null while unreviewed.
    pub verdict: Option<String>,
    pub verdict_note: Option<String>,
    /// The latest reports' places and notes.
    pub recent: Vec<ReportView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportView {
    pub value: String,
    pub seen_in: String,
    pub note: String,
    pub at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SuspiciousList {
    pub items: Vec<SuspiciousView>,
}

pub async fn suspicious_list(state: &AppState) -> Result<Vec<SuspiciousView>, ApiError> {
    let mut items = Vec::new();
    for v in state.db.suspicious_values(200).await? {
        let recent = state
            .db
            .suspicious_reports_of(&v.normalised, 5)
            .await?
            .into_iter()
            .map(|r| ReportView {
                value: r.value,
                seen_in: r.seen_in,
                note: r.note,
                at: rfc3339(r.created_at_ms),
            })
            .collect();
        items.push(SuspiciousView {
            first_at: rfc3339(v.first_at_ms),
            last_at: rfc3339(v.last_at_ms),
            normalised: v.normalised,
            kind: v.kind,
            example: v.example,
            reports: v.reports,
            verdict: v.verdict,
            verdict_note: v.verdict_note,
            recent,
        });
    }
    Ok(items)
}

/// The security review list: reported values, most reported first, with counts and verdicts.
#[utoipa::path(get, path = "/api/v1/admin/suspicious-reports", tag = "help admin",
    security(("bearer" = [])), responses((status = 200, body = SuspiciousList),
        (status = 403, description = "`forbidden`", body = crate::error::Problem)))]
pub async fn suspicious(
    State(state): State<AppState>,
    current: CurrentSession,
) -> Result<ApiJson<SuspiciousList>, ApiError> {
    require_supervisor(&current)?;
    state
        .db
        .audit(&current.user.id, "suspicious_reports.viewed", "", "")
        .await?;
    Ok(ApiJson(SuspiciousList {
        items: suspicious_list(&state).await?,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewInput {
    /// The value as the review list shows it (`normalised`).
    pub normalised: String,
    /// scam (the official check then warns everyone who asks), not_scam, ours.
    pub verdict: String,
    #[serde(default)]
    pub note: String,
}

/// Records the security team's verdict on a reported value.
#[utoipa::path(post, path = "/api/v1/admin/suspicious-reviews", tag = "help admin",
    security(("bearer" = [])), request_body = ReviewInput,
    responses((status = 204),
        (status = 404, description = "`not_found`: nobody reported it", body = crate::error::Problem),
        (status = 422, description = "`invalid_field`", body = crate::error::Problem)))]
pub async fn review(
    State(state): State<AppState>,
    current: CurrentSession,
    ApiJson(input): ApiJson<ReviewInput>,
) -> Result<StatusCode, ApiError> {
    require_supervisor(&current)?;
    if !["scam", "not_scam", "ours"].contains(&input.verdict.as_str()) {
        return Err(invalid("verdict", "use scam, not_scam or ours"));
    }
    check_len("note", &input.note, 1000)?;
    let (reports, _) = state.db.suspicious_standing(&input.normalised).await?;
    if reports == 0 {
        return Err(ApiError::not_found());
    }
    state
        .db
        .review_suspicious(
            &input.normalised,
            &input.verdict,
            input.note.trim(),
            &current.user.id,
        )
        .await?;
    state
        .db
        .audit(
            &current.user.id,
            "suspicious.reviewed",
            &input.normalised,
            &input.verdict,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// --- articles ----------------------------------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminArticle {
    pub slug: String,
    pub lang: String,
    pub category: String,
    pub title: String,
    pub tags: String,
    pub published: bool,
    pub revision: i64,
    /// builtin or editor.
    pub source: String,
    pub updated_at: String,
    pub helpful: i64,
    pub not_helpful: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminArticleList {
    pub items: Vec<AdminArticle>,
}

pub async fn admin_articles(state: &AppState) -> Result<Vec<AdminArticle>, ApiError> {
    let mut votes = state.db.article_votes().await?;
    Ok(state
        .db
        .articles()
        .await?
        .into_iter()
        .map(|a| {
            let v = votes
                .remove(&(a.slug.clone(), a.lang.clone()))
                .unwrap_or_default();
            AdminArticle {
                updated_at: rfc3339(a.updated_at_ms),
                slug: a.slug,
                lang: a.lang,
                category: a.category,
                title: a.title,
                tags: a.tags,
                published: a.published,
                revision: a.revision,
                source: a.source,
                helpful: v.helpful,
                not_helpful: v.not_helpful,
            }
        })
        .collect())
}

/// Every article in every language, with its votes.
#[utoipa::path(get, path = "/api/v1/admin/articles", tag = "help admin",
    security(("bearer" = [])), responses((status = 200, body = AdminArticleList)))]
pub async fn list_articles(
    State(state): State<AppState>,
    current: CurrentSession,
) -> Result<ApiJson<AdminArticleList>, ApiError> {
    require_admin(&current)?;
    Ok(ApiJson(AdminArticleList {
        items: admin_articles(&state).await?,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArticleInput {
    pub category: String,
    pub title: String,
    /// Comma-separated words people might search for.
    #[serde(default)]
    pub tags: String,
    /// Markdown; rendered sanitised (no scripts, no event handlers).
    pub body_md: String,
    #[serde(default = "yes")]
    pub published: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SavedArticle {
    pub slug: String,
    pub lang: String,
    pub revision: i64,
    pub url: String,
}

/// Checks and saves an article, then re-indexes this node.
pub async fn store_article(
    state: &AppState,
    by: &str,
    slug: &str,
    lang: &str,
    input: &ArticleInput,
) -> Result<SavedArticle, ApiError> {
    check_slug("slug", slug)?;
    if lang != "zh-CN" && lang != "en" {
        return Err(invalid("lang", "use zh-CN or en"));
    }
    if !CATEGORIES.iter().any(|(c, _, _)| *c == input.category) {
        return Err(invalid("category", "unknown category"));
    }
    check_required("title", &input.title, 200)?;
    check_len("tags", &input.tags, 500)?;
    check_required("body_md", &input.body_md, 50_000)?;
    let row = store::helpcenter::ArticleRow {
        slug: slug.to_owned(),
        lang: lang.to_owned(),
        category: input.category.clone(),
        title: input.title.trim().into(),
        tags: crate::help::split_tags(&input.tags).join(", "),
        body_md: input.body_md.clone(),
        published: input.published,
        revision: 0,
        source: "editor".into(),
        updated_by: Some(by.to_owned()),
        updated_at_ms: store::now_ms(),
    };
    let revision = state.db.save_article(&row).await?;
    state
        .db
        .audit(by, "article.saved", &format!("{slug}/{lang}"), "")
        .await?;
    state
        .help
        .sync(&state.db)
        .await
        .map_err(ApiError::internal)?;
    Ok(SavedArticle {
        slug: slug.to_owned(),
        lang: lang.to_owned(),
        revision,
        url: format!("/help/articles/{slug}"),
    })
}

/// Adds or replaces an article in one language; searchable at once on this node and within a
/// few seconds on the others.
#[utoipa::path(put, path = "/api/v1/admin/articles/{slug}/{lang}", tag = "help admin",
    security(("bearer" = [])), request_body = ArticleInput,
    responses((status = 200, body = SavedArticle),
        (status = 422, description = "`invalid_field`", body = crate::error::Problem)))]
pub async fn save_article(
    State(state): State<AppState>,
    current: CurrentSession,
    Path((slug, lang)): Path<(String, String)>,
    ApiJson(input): ApiJson<ArticleInput>,
) -> Result<ApiJson<SavedArticle>, ApiError> {
    require_admin(&current)?;
    Ok(ApiJson(
        store_article(&state, &current.user.id, &slug, &lang, &input).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewInput {
    pub body_md: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewAnswer {
    pub html: String,
}

/// Renders Markdown the way the article page will (sanitised).
#[utoipa::path(post, path = "/api/v1/admin/article-previews", tag = "help admin",
    security(("bearer" = [])), request_body = PreviewInput,
    responses((status = 200, body = PreviewAnswer)))]
pub async fn preview(
    current: CurrentSession,
    ApiJson(input): ApiJson<PreviewInput>,
) -> Result<ApiJson<PreviewAnswer>, ApiError> {
    require_admin(&current)?;
    check_len("body_md", &input.body_md, 50_000)?;
    Ok(ApiJson(PreviewAnswer {
        html: kb::render_markdown(&input.body_md),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MissView {
    pub query: String,
    pub lang: String,
    pub count: i64,
    pub first_at: String,
    pub last_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MissList {
    pub items: Vec<MissView>,
}

/// Searches that found nothing, most frequent first: what to write next.
#[utoipa::path(get, path = "/api/v1/admin/search-misses", tag = "help admin",
    security(("bearer" = [])), responses((status = 200, body = MissList)))]
pub async fn search_misses(
    State(state): State<AppState>,
    current: CurrentSession,
) -> Result<ApiJson<MissList>, ApiError> {
    require_admin(&current)?;
    let items = state
        .db
        .search_misses(200)
        .await?
        .into_iter()
        .map(|m| MissView {
            first_at: rfc3339(m.first_at_ms),
            last_at: rfc3339(m.last_at_ms),
            query: m.query,
            lang: m.lang,
            count: m.count,
        })
        .collect();
    Ok(ApiJson(MissList { items }))
}
