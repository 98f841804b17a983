//! `/supervisor`, the supervisors' console: the help desk's figures for a range of days (KPI
//! cards, charts with their numbers in tables, the CSV), the open complaints and deciding one
//! (`/supervisor/complaints/{id}`), the SLA alerts of the last day, the agents' presence and
//! load, the suggestions box, the audit trail and the macros (canned replies) editor.
//!
//! Supervisors and administrators only, with a confirmed second factor ([`SupervisorRoles`]).
//! Every figure, refusal and change is the API's own (`stats_view`, `stats_csv_response`,
//! `complaint_lines`, `resolve`, `audit_page`, `recent_alerts`, `suggestion_page`,
//! `save_macro`, `remove_macro`), called with the page's session; this module lays them out
//! and never decides anything itself. Opening a complaint shows a customer's conversation and
//! is written to the audit trail.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use identity::Role;
use serde::Deserialize;

use super::admin::{ConsoleRoles, StaffConsole};
use super::moves::shown_time;
use super::support::{category_label, MessageLine};
use super::{not_found_page, percent_encode, CsrfForm, PageCtx};
use crate::api::helpdesk::{
    audit_page, complaint_lines, list_macros, recent_alerts, remove_macro, resolve, save_macro,
    stats_csv_response, stats_view, suggestion_page, AuditQuery, MacroBody, PageQuery, StatsQuery,
    StatsView,
};
use crate::api::sessions::rfc3339;
use crate::api::tickets::{audit_view, view, Detail, TicketView};
use crate::auth::CurrentSession;
use crate::charts::{bar_chart, line_chart, Series};
use crate::error::ApiError;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/supervisor", get(dashboard))
        .route("/supervisor/stats.csv", get(stats_csv))
        .route(
            "/supervisor/complaints/{id}",
            get(complaint).post(resolve_form),
        )
        .route("/supervisor/audit", get(audit))
        .route("/supervisor/suggestions", get(suggestions))
        .route("/supervisor/macros", get(macros).post(create_macro_form))
        .route("/supervisor/macros/new", get(new_macro))
        .route(
            "/supervisor/macros/{id}",
            get(edit_macro).post(save_macro_form),
        )
        .route("/supervisor/macros/{id}/delete", post(delete_macro_form))
}

/// The supervisors' console.
pub struct SupervisorRoles;

impl ConsoleRoles for SupervisorRoles {
    const ROLES: &'static [Role] = &[Role::Supervisor, Role::Admin];
}

// --- shared pieces -----------------------------------------------------------------------------

/// A refused form: the field it concerns (as the API names it) and why.
pub struct FormError {
    pub field: String,
    pub message: String,
}

impl FormError {
    pub fn of(ctx: &PageCtx, error: &ApiError) -> FormError {
        FormError {
            field: error.problem(ctx.lang, None).field.unwrap_or_default(),
            message: ctx.refusal(error).0,
        }
    }

    pub fn at(field: &str, message: impl Into<String>) -> FormError {
        FormError {
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

/// Business seconds as people say them: "2 h 5 min", "2 小时 5 分" (to the nearest minute
/// from a minute on).
pub fn duration_text(ctx: &PageCtx, seconds: i64) -> String {
    let seconds = seconds.max(0);
    if seconds < 60 {
        return format!("{seconds} {}", ctx.t("sup.unit.s"));
    }
    let minutes = (seconds + 30) / 60;
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m} {}", ctx.t("sup.unit.min")),
        (h, 0) => format!("{h} {}", ctx.t("sup.unit.h")),
        (h, m) => format!("{h} {} {m} {}", ctx.t("sup.unit.h"), ctx.t("sup.unit.min")),
    }
}

fn maybe_duration(ctx: &PageCtx, seconds: Option<i64>) -> String {
    seconds.map_or_else(|| "—".to_owned(), |s| duration_text(ctx, s))
}

/// Thousandths as a percentage: 875 → "87.5%".
fn permille_text(permille: Option<u16>) -> String {
    match permille {
        None => "—".to_owned(),
        Some(p) if p % 10 == 0 => format!("{}%", p / 10),
        Some(p) => format!("{}.{}%", p / 10, p % 10),
    }
}

/// An agent's presence in the page's language, and its badge.
pub fn presence_label(ctx: &PageCtx, presence: &str) -> (&'static str, &'static str) {
    match presence {
        "online" => (ctx.t("sup.presence.online"), "ok"),
        "away" => (ctx.t("sup.presence.away"), "warn"),
        _ => (ctx.t("sup.presence.offline"), ""),
    }
}

/// A ticket's status as staff read it (`pending` waits on the customer, not on "you").
fn status_label(ctx: &PageCtx, status: &str) -> (&'static str, &'static str) {
    match status {
        "pending" => (ctx.t("sup.status.pending"), "info"),
        other => super::support::status_label(ctx, other),
    }
}

/// A channel's name in the page's language.
fn channel_label(ctx: &PageCtx, channel: &str) -> String {
    match channel {
        "web" => ctx.t("sup.channel.web").to_owned(),
        "chat" => ctx.t("sup.channel.chat").to_owned(),
        "in_app_call" => ctx.t("sup.channel.in_app_call").to_owned(),
        "callback" => ctx.t("sup.channel.callback").to_owned(),
        "phone" => ctx.t("sup.channel.phone").to_owned(),
        "email" => ctx.t("sup.channel.email").to_owned(),
        other => other.to_owned(),
    }
}

/// A path with its query (without `?` when there is none).
fn with_query(path: &str, pairs: &[(&str, Option<&str>)]) -> String {
    let query: Vec<String> = pairs
        .iter()
        .filter_map(|(name, value)| {
            value
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(|v| format!("{name}={}", percent_encode(v)))
        })
        .collect();
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

/// A query value that was left empty counts as not given.
fn given(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

// --- the dashboard -----------------------------------------------------------------------------

/// A figure in a card.
pub struct Kpi {
    /// Names the figure for tests and the browser suite.
    pub key: &'static str,
    pub label: &'static str,
    pub value: String,
    pub detail: String,
}

/// A bar of a chart, with its number for the table beside it.
pub struct Bar {
    pub label: String,
    pub tickets: usize,
}

pub struct DayRow {
    pub date: String,
    pub created: usize,
    pub solved: usize,
    pub open_at_end: usize,
    pub first_response: String,
}

/// The figures of a range of days, ready to show.
pub struct Figures {
    pub from: String,
    pub to: String,
    pub time_zone: String,
    pub kpis: Vec<Kpi>,
    pub csv_href: String,
    pub category_chart: String,
    pub categories: Vec<Bar>,
    pub channel_chart: String,
    pub channels: Vec<Bar>,
    pub backlog_chart: String,
    pub response_chart: String,
    pub days: Vec<DayRow>,
}

pub struct ComplaintRow {
    pub id: String,
    pub ticket_number: i64,
    pub ticket_subject: String,
    pub by: &'static str,
    pub reason: String,
    pub due: String,
    pub overdue: bool,
}

pub struct AlertRow {
    pub ticket_id: String,
    pub number: i64,
    pub subject: String,
    pub clock: &'static str,
    pub kind: &'static str,
    pub badge: &'static str,
    pub at: String,
}

/// An agent with presence and load.
pub struct AgentLine {
    pub user_id: String,
    pub name: String,
    pub group: String,
    pub presence: &'static str,
    pub badge: &'static str,
    pub load: i64,
    pub capacity: i64,
    /// At or over capacity: routing gives them nothing more.
    pub full: bool,
}

pub struct SuggestionRow {
    pub topic: String,
    pub language: String,
    pub body: String,
    pub time: String,
}

#[derive(Template)]
#[template(path = "supervisor.html")]
struct DashboardPage<'a> {
    ctx: &'a PageCtx,
    from: String,
    to: String,
    tz: String,
    error: Option<String>,
    figures: Option<Figures>,
    complaints: Vec<ComplaintRow>,
    alerts: Vec<AlertRow>,
    agents: Vec<AgentLine>,
    suggestions: Vec<SuggestionRow>,
}

fn figures(ctx: &PageCtx, s: &StatsView) -> Figures {
    let met = |c: &crate::api::helpdesk::ComplianceView| {
        format!(
            "{} {} / {}",
            ctx.t("sup.kpi.met"),
            c.met,
            c.met + c.breached
        )
    };
    let p90 = |d: &crate::api::helpdesk::DurationsView| {
        format!(
            "{} {} · {} {}",
            ctx.t("sup.kpi.p90"),
            maybe_duration(ctx, d.p90_s),
            ctx.t("sup.kpi.tickets"),
            d.count
        )
    };
    let kpis = vec![
        Kpi {
            key: "created",
            label: ctx.t("sup.kpi.created"),
            value: s.created.to_string(),
            detail: String::new(),
        },
        Kpi {
            key: "first_response",
            label: ctx.t("sup.kpi.first_response"),
            value: maybe_duration(ctx, s.first_response.median_s),
            detail: p90(&s.first_response),
        },
        Kpi {
            key: "resolution",
            label: ctx.t("sup.kpi.resolution"),
            value: maybe_duration(ctx, s.resolution.median_s),
            detail: p90(&s.resolution),
        },
        Kpi {
            key: "first_response_sla",
            label: ctx.t("sup.kpi.first_response_sla"),
            value: permille_text(s.first_response_sla.met_permille),
            detail: met(&s.first_response_sla),
        },
        Kpi {
            key: "resolution_sla",
            label: ctx.t("sup.kpi.resolution_sla"),
            value: permille_text(s.resolution_sla.met_permille),
            detail: met(&s.resolution_sla),
        },
        Kpi {
            key: "csat",
            label: ctx.t("sup.kpi.csat"),
            value: permille_text(s.csat_permille),
            detail: format!("{} {}", ctx.t("sup.kpi.ratings"), s.ratings),
        },
        Kpi {
            key: "rating",
            label: ctx.t("sup.kpi.rating"),
            value: s
                .rating_average_tenths
                .map_or_else(|| "—".to_owned(), |t| format!("{}.{} / 5", t / 10, t % 10)),
            detail: s
                .rating_distribution
                .iter()
                .enumerate()
                .map(|(i, n)| format!("{}★ {n}", i + 1))
                .collect::<Vec<_>>()
                .join(" · "),
        },
        Kpi {
            key: "reopened",
            label: ctx.t("sup.kpi.reopened"),
            value: s.reopened.to_string(),
            detail: String::new(),
        },
        Kpi {
            key: "complaints_open",
            label: ctx.t("sup.kpi.complaints_open"),
            value: s.complaints_open.to_string(),
            detail: String::new(),
        },
        Kpi {
            key: "troubleshooter_runs",
            label: ctx.t("sup.deflection.runs"),
            value: s.troubleshooters.runs.to_string(),
            detail: s
                .troubleshooters
                .by_problem
                .iter()
                .map(|p| format!("{} {}", ctx.t(&format!("desk.cat.{}", p.problem)), p.runs))
                .collect::<Vec<_>>()
                .join(" · "),
        },
        Kpi {
            key: "troubleshooter_resolved",
            label: ctx.t("sup.deflection.resolved"),
            value: s.troubleshooters.resolved.to_string(),
            detail: s
                .troubleshooters
                .resolved_permille
                .map_or_else(String::new, |p| format!("{}.{}%", p / 10, p % 10)),
        },
        Kpi {
            key: "troubleshooter_escalated",
            label: ctx.t("sup.deflection.escalated"),
            value: s.troubleshooters.escalated.to_string(),
            detail: String::new(),
        },
    ];
    let categories: Vec<Bar> = s
        .by_category
        .iter()
        .map(|v| Bar {
            label: category_label(ctx, &v.name).to_owned(),
            tickets: v.tickets,
        })
        .collect();
    let channels: Vec<Bar> = s
        .by_channel
        .iter()
        .map(|v| Bar {
            label: channel_label(ctx, &v.name),
            tickets: v.tickets,
        })
        .collect();
    let bars = |b: &[Bar]| -> Vec<(String, f64)> {
        b.iter()
            .map(|b| (b.label.clone(), b.tickets as f64))
            .collect()
    };
    // Days as "05-01" under the axis; the tables keep the whole date.
    let x_labels: Vec<String> = s
        .days
        .iter()
        .map(|d| d.date.get(5..).unwrap_or(&d.date).to_owned())
        .collect();
    let backlog = [
        Series {
            name: ctx.t("sup.day.created").to_owned(),
            values: s.days.iter().map(|d| Some(d.created as f64)).collect(),
        },
        Series {
            name: ctx.t("sup.day.solved").to_owned(),
            values: s.days.iter().map(|d| Some(d.solved as f64)).collect(),
        },
        Series {
            name: ctx.t("sup.day.open_at_end").to_owned(),
            values: s.days.iter().map(|d| Some(d.open_at_end as f64)).collect(),
        },
    ];
    let response = [Series {
        name: ctx.t("sup.day.first_response").to_owned(),
        values: s
            .days
            .iter()
            .map(|d| d.first_response_median_s.map(|v| v as f64 / 3600.0))
            .collect(),
    }];
    Figures {
        csv_href: with_query(
            "/supervisor/stats.csv",
            &[
                ("from", Some(&s.from)),
                ("to", Some(&s.to)),
                ("tz", Some(&s.time_zone)),
            ],
        ),
        from: s.from.clone(),
        to: s.to.clone(),
        time_zone: s.time_zone.clone(),
        kpis,
        category_chart: bar_chart(
            "chart-category",
            ctx.t("sup.chart.by_category"),
            &bars(&categories),
            "",
        ),
        channel_chart: bar_chart(
            "chart-channel",
            ctx.t("sup.chart.by_channel"),
            &bars(&channels),
            "",
        ),
        backlog_chart: line_chart(
            "chart-backlog",
            ctx.t("sup.chart.backlog"),
            &x_labels,
            &backlog,
            "",
        ),
        response_chart: line_chart(
            "chart-response",
            ctx.t("sup.chart.first_response"),
            &x_labels,
            &response,
            ctx.t("sup.unit.h_short"),
        ),
        categories,
        channels,
        days: s
            .days
            .iter()
            .map(|d| DayRow {
                date: d.date.clone(),
                created: d.created,
                solved: d.solved,
                open_at_end: d.open_at_end,
                first_response: maybe_duration(ctx, d.first_response_median_s),
            })
            .collect(),
    }
}

/// The agents with presence and load, as the API's agent list has them.
pub async fn agent_lines(state: &AppState, ctx: &PageCtx) -> Result<Vec<AgentLine>, ApiError> {
    let loads = state.db.agent_loads().await?;
    let groups = state.db.support_groups().await?;
    Ok(state
        .db
        .agents()
        .await?
        .into_iter()
        .map(|a| {
            let load = loads.get(&a.user_id).copied().unwrap_or(0);
            let (presence, badge) = presence_label(ctx, &a.presence);
            AgentLine {
                group: groups.iter().find(|g| g.id == a.group_id).map_or_else(
                    || a.group_id.clone(),
                    |g| ctx.lang.pick(&g.name_en, &g.name_zh).clone(),
                ),
                user_id: a.user_id,
                name: a.display_name,
                presence,
                badge,
                load,
                capacity: a.capacity,
                full: load >= a.capacity,
            }
        })
        .collect())
}

fn suggestion_row(ctx: &PageCtx, s: crate::api::helpdesk::SuggestionView) -> SuggestionRow {
    SuggestionRow {
        topic: ctx.t_or(format!("support.topic.{}", s.topic), &s.topic),
        language: s.language,
        body: s.body,
        time: shown_time(&s.created_at),
    }
}

async fn dashboard(
    State(state): State<AppState>,
    Query(q): Query<StatsQuery>,
    StaffConsole { ctx, current, .. }: StaffConsole<SupervisorRoles>,
) -> Response {
    let q = StatsQuery {
        from: given(q.from),
        to: given(q.to),
        tz: given(q.tz),
    };
    let built: Result<DashboardPage, ApiError> = async {
        let (figures, error) = match stats_view(&state, &q).await {
            Ok(s) => (Some(figures(&ctx, &s)), None),
            Err(e) if e.status().is_client_error() => (None, Some(ctx.refusal(&e).0)),
            Err(e) => return Err(e),
        };
        let complaints: Vec<ComplaintRow> = complaint_lines(&state, "open")
            .await?
            .into_iter()
            .map(|c| ComplaintRow {
                by: if c.by_customer {
                    ctx.t("sup.complaint.by_customer")
                } else {
                    ctx.t("sup.complaint.by_agent")
                },
                due: shown_time(&c.due_at),
                id: c.id,
                ticket_number: c.ticket_number,
                ticket_subject: c.ticket_subject,
                reason: c.reason,
                overdue: c.overdue,
            })
            .collect();
        // The queue shows what customers complained about: audited as the API's list is.
        state
            .db
            .audit(
                &format!("user:{}", current.user.id),
                "complaints.listed",
                "complaints",
                &serde_json::json!({"shown": complaints.len(), "page": "supervisor"}).to_string(),
            )
            .await?;
        let alerts = recent_alerts(&state)
            .await?
            .into_iter()
            .map(|a| {
                let (kind, badge) = if a.kind == "breached" {
                    (ctx.t("sup.alert.breached"), "danger")
                } else {
                    (ctx.t("sup.alert.near_breach"), "warn")
                };
                AlertRow {
                    clock: if a.clock == "first_response" {
                        ctx.t("sup.clock.first_response")
                    } else {
                        ctx.t("sup.clock.resolution")
                    },
                    kind,
                    badge,
                    at: shown_time(&a.at),
                    ticket_id: a.ticket_id,
                    number: a.ticket_number,
                    subject: a.subject,
                }
            })
            .collect();
        let newest = PageQuery {
            limit: Some("10".into()),
            cursor: None,
        };
        let suggestions = suggestion_page(&state, &newest)
            .await?
            .items
            .into_iter()
            .map(|s| suggestion_row(&ctx, s))
            .collect();
        let (from, to, tz) = match &figures {
            Some(f) => (f.from.clone(), f.to.clone(), f.time_zone.clone()),
            None => (
                q.from.clone().unwrap_or_default(),
                q.to.clone().unwrap_or_default(),
                q.tz.clone()
                    .unwrap_or_else(|| state.help.settings.time_zone.clone()),
            ),
        };
        Ok(DashboardPage {
            ctx: &ctx,
            from,
            to,
            tz,
            error,
            figures,
            complaints,
            alerts,
            agents: agent_lines(&state, &ctx).await?,
            suggestions,
        })
    }
    .await;
    match built {
        Ok(page) => {
            let status = if page.error.is_some() {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::OK
            };
            ctx.render(status, &page)
        }
        Err(e) => ctx.error(&e),
    }
}

/// The figures as CSV, with the web session.
async fn stats_csv(
    State(state): State<AppState>,
    Query(q): Query<StatsQuery>,
    StaffConsole { ctx, .. }: StaffConsole<SupervisorRoles>,
) -> Response {
    let q = StatsQuery {
        from: given(q.from),
        to: given(q.to),
        tz: given(q.tz),
    };
    match stats_csv_response(&state, &q).await {
        Ok(response) => ctx.finish(response),
        Err(e) => ctx.error(&e),
    }
}

// --- one complaint -----------------------------------------------------------------------------

pub struct ComplaintFacts {
    pub id: String,
    pub open: bool,
    pub status_label: &'static str,
    pub reason: String,
    pub by: &'static str,
    pub due: String,
    pub overdue: bool,
    pub created: String,
    pub outcome: Option<String>,
    pub resolved: Option<String>,
}

pub struct TicketFacts {
    pub id: String,
    pub number: i64,
    pub subject: String,
    pub category: &'static str,
    pub status: String,
    pub status_label: &'static str,
    pub badge: &'static str,
    pub requester: String,
}

#[derive(Template)]
#[template(path = "supervisor_complaint.html")]
struct ComplaintPage<'a> {
    ctx: &'a PageCtx,
    c: ComplaintFacts,
    t: TicketFacts,
    messages: Vec<MessageLine>,
    draft: String,
    notice: Option<&'static str>,
    error: Option<String>,
}

/// A conversation as staff read it: the customer is "the customer", notes are marked.
fn staff_messages(ctx: &PageCtx, v: &TicketView) -> Vec<MessageLine> {
    v.messages
        .iter()
        .flatten()
        .map(|m| MessageLine {
            who: match m.from.as_str() {
                "requester" => ctx.t("sup.from.customer").to_owned(),
                "agent" if !m.author_name.is_empty() => m.author_name.clone(),
                "agent" => ctx.t("desk.from.agent").to_owned(),
                _ => ctx.t("desk.from.system").to_owned(),
            },
            from: m.from.clone(),
            internal: m.internal,
            body: m.body.clone(),
            time: shown_time(&m.created_at),
            channel: m.channel.clone(),
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
async fn complaint_page(
    state: &AppState,
    ctx: &PageCtx,
    current: &CurrentSession,
    id: &str,
    notice: Option<&'static str>,
    error: Option<String>,
    draft: &str,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let c = state
        .db
        .complaint(id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let t = state
        .db
        .ticket(&c.ticket_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let v = view(state, &t, true, Detail::Full, ctx.lang).await?;
    audit_view(
        state,
        current,
        "complaint.viewed",
        &t.requester_id,
        serde_json::json!({"ticket": t.number, "complaint": c.id}),
    )
    .await?;
    let open = c.status == "open";
    let (status_word, badge) = status_label(ctx, &v.status);
    let page = ComplaintPage {
        ctx,
        c: ComplaintFacts {
            id: c.id.clone(),
            open,
            status_label: if open {
                ctx.t("sup.complaint.open")
            } else {
                ctx.t("sup.complaint.resolved")
            },
            reason: c.reason.clone(),
            by: if c.by_agent {
                ctx.t("sup.complaint.by_agent")
            } else {
                ctx.t("sup.complaint.by_customer")
            },
            due: shown_time(&rfc3339(c.due_at_ms)),
            overdue: open && c.due_at_ms < store::now_ms(),
            created: shown_time(&rfc3339(c.created_at_ms)),
            outcome: c.outcome.clone(),
            resolved: c.resolved_at_ms.map(|ms| shown_time(&rfc3339(ms))),
        },
        messages: staff_messages(ctx, &v),
        t: TicketFacts {
            id: v.id.clone(),
            number: v.number,
            subject: v.subject.clone(),
            category: category_label(ctx, &v.category),
            status: v.status.clone(),
            status_label: status_word,
            badge,
            requester: v.requester.clone().unwrap_or_default(),
        },
        draft: draft.to_owned(),
        notice,
        error,
    };
    Ok(ctx.render(status, &page))
}

#[derive(Debug, Default, Deserialize)]
struct ResolvedQuery {
    resolved: Option<String>,
}

async fn complaint(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<ResolvedQuery>,
    StaffConsole { ctx, current, .. }: StaffConsole<SupervisorRoles>,
) -> Response {
    let notice = q.resolved.is_some().then(|| ctx.t("sup.complaint.done"));
    match complaint_page(
        &state,
        &ctx,
        &current,
        &id,
        notice,
        None,
        "",
        StatusCode::OK,
    )
    .await
    {
        Ok(r) => r,
        Err(e) if e.status() == StatusCode::NOT_FOUND => not_found_page(&ctx),
        Err(e) => ctx.error(&e),
    }
}

#[derive(Debug, Deserialize)]
struct ResolutionForm {
    #[serde(default)]
    outcome: String,
}

async fn resolve_form(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffConsole { current, .. }: StaffConsole<SupervisorRoles>,
    CsrfForm { ctx, form }: CsrfForm<ResolutionForm>,
) -> Response {
    match resolve(&state, &current, &id, &form.outcome).await {
        Ok(_) => ctx.see_other(&format!(
            "/supervisor/complaints/{}?resolved=1",
            percent_encode(&id)
        )),
        Err(e) if e.status() == StatusCode::NOT_FOUND => not_found_page(&ctx),
        Err(e) if e.status().is_client_error() => {
            let message = ctx.refusal(&e).0;
            complaint_page(
                &state,
                &ctx,
                &current,
                &id,
                None,
                Some(message),
                &form.outcome,
                e.status(),
            )
            .await
            .unwrap_or_else(|e| ctx.error(&e))
        }
        Err(e) => ctx.error(&e),
    }
}

// --- the audit trail ---------------------------------------------------------------------------

pub struct AuditRow {
    pub time: String,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "supervisor_audit.html")]
struct AuditPage<'a> {
    ctx: &'a PageCtx,
    actor: String,
    subject: String,
    rows: Vec<AuditRow>,
    next_href: Option<String>,
    first_href: Option<String>,
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct AuditFilter {
    actor: Option<String>,
    subject: Option<String>,
    cursor: Option<String>,
}

async fn audit(
    State(state): State<AppState>,
    Query(f): Query<AuditFilter>,
    StaffConsole { ctx, .. }: StaffConsole<SupervisorRoles>,
) -> Response {
    let q = AuditQuery {
        actor: given(f.actor),
        subject: given(f.subject),
        limit: Some("50".into()),
        cursor: given(f.cursor),
    };
    let filters = |cursor: Option<&str>| {
        with_query(
            "/supervisor/audit",
            &[
                ("actor", q.actor.as_deref()),
                ("subject", q.subject.as_deref()),
                ("cursor", cursor),
            ],
        )
    };
    let mut page = AuditPage {
        ctx: &ctx,
        actor: q.actor.clone().unwrap_or_default(),
        subject: q.subject.clone().unwrap_or_default(),
        rows: Vec::new(),
        next_href: None,
        first_href: q.cursor.is_some().then(|| filters(None)),
        error: None,
    };
    match audit_page(&state, &q).await {
        Ok(list) => {
            page.next_href = list.next_cursor.as_deref().map(|c| filters(Some(c)));
            page.rows = list
                .items
                .into_iter()
                .map(|e| AuditRow {
                    time: shown_time(&e.at),
                    actor: e.actor,
                    action: e.action,
                    subject: e.subject,
                    detail: match e.detail {
                        serde_json::Value::Null => String::new(),
                        serde_json::Value::Object(ref o) if o.is_empty() => String::new(),
                        other => other.to_string(),
                    },
                })
                .collect();
            ctx.render(StatusCode::OK, &page)
        }
        Err(e) if e.status().is_client_error() => {
            page.error = Some(ctx.refusal(&e).0);
            ctx.render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(e) => ctx.error(&e),
    }
}

// --- the suggestions box -----------------------------------------------------------------------

#[derive(Template)]
#[template(path = "supervisor_suggestions.html")]
struct SuggestionsPage<'a> {
    ctx: &'a PageCtx,
    rows: Vec<SuggestionRow>,
    next_href: Option<String>,
    later_page: bool,
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct CursorQuery {
    cursor: Option<String>,
}

async fn suggestions(
    State(state): State<AppState>,
    Query(q): Query<CursorQuery>,
    StaffConsole { ctx, .. }: StaffConsole<SupervisorRoles>,
) -> Response {
    let q = PageQuery {
        limit: Some("50".into()),
        cursor: given(q.cursor),
    };
    let mut page = SuggestionsPage {
        ctx: &ctx,
        rows: Vec::new(),
        next_href: None,
        later_page: q.cursor.is_some(),
        error: None,
    };
    match suggestion_page(&state, &q).await {
        Ok(list) => {
            page.next_href = list
                .next_cursor
                .as_deref()
                .map(|c| with_query("/supervisor/suggestions", &[("cursor", Some(c))]));
            page.rows = list
                .items
                .into_iter()
                .map(|s| suggestion_row(&ctx, s))
                .collect();
            ctx.render(StatusCode::OK, &page)
        }
        Err(e) if e.status().is_client_error() => {
            page.error = Some(ctx.refusal(&e).0);
            ctx.render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(e) => ctx.error(&e),
    }
}

// --- macros ------------------------------------------------------------------------------------

pub struct MacroLine {
    pub id: String,
    pub name: String,
    pub actions: Vec<String>,
    pub updated: String,
}

#[derive(Template)]
#[template(path = "supervisor_macros.html")]
struct MacrosPage<'a> {
    ctx: &'a PageCtx,
    macros: Vec<MacroLine>,
    notice: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct MacroNotice {
    saved: Option<String>,
    deleted: Option<String>,
}

async fn macros(
    State(state): State<AppState>,
    Query(q): Query<MacroNotice>,
    StaffConsole { ctx, current, .. }: StaffConsole<SupervisorRoles>,
) -> Response {
    let list = match list_macros(State(state), current).await {
        Ok(crate::json::ApiJson(list)) => list,
        Err(e) => return ctx.error(&e),
    };
    let notice = match (q.saved, q.deleted) {
        (Some(id), _) => Some(format!("{} {id}", ctx.t("sup.macro.saved"))),
        (_, Some(id)) => Some(format!("{} {id}", ctx.t("sup.macro.deleted"))),
        _ => None,
    };
    let macros = list
        .items
        .into_iter()
        .map(|m| MacroLine {
            actions: m
                .actions
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_owned)
                .collect(),
            updated: shown_time(&m.updated_at),
            id: m.id,
            name: m.name,
        })
        .collect();
    ctx.render(
        StatusCode::OK,
        &MacrosPage {
            ctx: &ctx,
            macros,
            notice,
        },
    )
}

/// The macro form as typed.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MacroForm {
    id: String,
    name: String,
    body_zh: String,
    body_en: String,
    actions: String,
}

#[derive(Template)]
#[template(path = "supervisor_macro.html")]
struct MacroEditor<'a> {
    ctx: &'a PageCtx,
    form: MacroForm,
    is_new: bool,
    error: Option<FormError>,
    /// `{{ticket.number}}` and the others, written here because templates read `{{` as code.
    placeholders: Vec<String>,
}

fn render_editor(
    ctx: &PageCtx,
    form: MacroForm,
    is_new: bool,
    error: Option<FormError>,
    status: StatusCode,
) -> Response {
    let placeholders = helpdesk::macros::Placeholder::ALL
        .iter()
        .map(|p| format!("{{{{{}}}}}", p.as_str()))
        .collect();
    ctx.render(
        status,
        &MacroEditor {
            ctx,
            form,
            is_new,
            error,
            placeholders,
        },
    )
}

async fn new_macro(StaffConsole { ctx, .. }: StaffConsole<SupervisorRoles>) -> Response {
    render_editor(&ctx, MacroForm::default(), true, None, StatusCode::OK)
}

async fn edit_macro(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffConsole { ctx, .. }: StaffConsole<SupervisorRoles>,
) -> Response {
    match state.db.macro_by_id(&id).await {
        Ok(Some(m)) => render_editor(
            &ctx,
            MacroForm {
                id: m.id,
                name: m.name,
                body_zh: m.body_zh,
                body_en: m.body_en,
                actions: m.actions,
            },
            false,
            None,
            StatusCode::OK,
        ),
        Ok(None) => not_found_page(&ctx),
        Err(e) => ctx.error(&e.into()),
    }
}

/// Saves through the API's `save_macro`; the editor again with the field named otherwise.
async fn store_macro(
    state: &AppState,
    ctx: &PageCtx,
    current: &CurrentSession,
    id: String,
    form: MacroForm,
    is_new: bool,
) -> Response {
    let body = MacroBody {
        name: form.name.clone(),
        body_zh: form.body_zh.clone(),
        body_en: form.body_en.clone(),
        actions: form.actions.clone(),
    };
    let saved: Result<(), FormError> = async {
        if is_new {
            // `new` is the blank editor's address, and a new id must not quietly replace
            // another macro.
            if id == "new" {
                return Err(FormError::at("id", ctx.t("sup.macro.id_taken")));
            }
            match state.db.macro_by_id(&id).await {
                Ok(Some(_)) => return Err(FormError::at("id", ctx.t("sup.macro.id_taken"))),
                Ok(None) => {}
                Err(e) => return Err(FormError::of(ctx, &e.into())),
            }
        }
        save_macro(state, current, &id, &body)
            .await
            .map(|_| ())
            .map_err(|e| FormError::of(ctx, &e))
    }
    .await;
    match saved {
        Ok(()) => ctx.see_other(&format!("/supervisor/macros?saved={}", percent_encode(&id))),
        Err(error) => {
            let form = MacroForm { id, ..form };
            render_editor(
                ctx,
                form,
                is_new,
                Some(error),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
    }
}

async fn create_macro_form(
    State(state): State<AppState>,
    StaffConsole { current, .. }: StaffConsole<SupervisorRoles>,
    CsrfForm { ctx, form }: CsrfForm<MacroForm>,
) -> Response {
    let id = form.id.trim().to_owned();
    store_macro(&state, &ctx, &current, id, form, true).await
}

async fn save_macro_form(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffConsole { current, .. }: StaffConsole<SupervisorRoles>,
    CsrfForm { ctx, form }: CsrfForm<MacroForm>,
) -> Response {
    store_macro(&state, &ctx, &current, id, form, false).await
}

async fn delete_macro_form(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffConsole { current, .. }: StaffConsole<SupervisorRoles>,
    CsrfForm { ctx, .. }: CsrfForm<super::account::Empty>,
) -> Response {
    match remove_macro(&state, &current, &id).await {
        Ok(()) => ctx.see_other(&format!(
            "/supervisor/macros?deleted={}",
            percent_encode(&id)
        )),
        Err(e) if e.status() == StatusCode::NOT_FOUND => not_found_page(&ctx),
        Err(e) => ctx.error(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_read_as_percentages() {
        assert_eq!(permille_text(Some(1000)), "100%");
        assert_eq!(permille_text(Some(875)), "87.5%");
        assert_eq!(permille_text(Some(0)), "0%");
        assert_eq!(permille_text(None), "—");
    }

    #[test]
    fn queries_leave_out_empty_values() {
        assert_eq!(
            with_query("/a", &[("x", Some("1 2")), ("y", Some(" ")), ("z", None)]),
            "/a?x=1%202"
        );
        assert_eq!(with_query("/a", &[("y", Some(""))]), "/a");
    }
}
