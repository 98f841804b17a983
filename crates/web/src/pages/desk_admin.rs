//! `/admin/helpdesk`, setting up the help desk: the support groups (names, business hours as
//! editors type them, languages, categories), which staff accounts are agents (group,
//! capacity, skills; with their presence and load) and the SLA targets in business hours.
//!
//! Administrators only, with a confirmed second factor. Every save is the API's own
//! (`save_group`, `save_agent`, `save_sla_targets`) called with the page's session, so the
//! page checks, stores and audits exactly as the API does; a refused form comes back with what
//! was typed and the reason next to its section (422). The page lists staff accounts, so
//! opening it is written to the audit trail.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use identity::Role;
use serde::Deserialize;

use super::admin::{AdminRoles, StaffConsole};
use super::supervisor::{presence_label, FormError};
use super::support::{category_label, CATEGORIES};
use super::{not_found_page, CsrfForm, PageCtx};
use crate::api::helpdesk::{
    group_view, list_sla_targets, save_agent, save_group, save_sla_targets, AgentSetup, GroupView,
    SlaTargetList, SlaTargetView,
};
use crate::auth::CurrentSession;
use crate::error::ApiError;
use crate::json::ApiJson;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/helpdesk", get(setup))
        .route("/admin/helpdesk/groups", post(create_group_form))
        .route("/admin/helpdesk/groups/{id}", post(save_group_form))
        .route("/admin/helpdesk/agents/{user_id}", post(save_agent_form))
        .route("/admin/helpdesk/sla", post(save_sla_form))
}

const LANGUAGES: [&str; 2] = ["zh-CN", "en"];
const PRIORITIES: [&str; 4] = ["low", "normal", "high", "urgent"];
/// Empty rows offered for targets per priority and category.
const SPARE_SLA_ROWS: usize = 2;

/// A posted form as its name/value pairs: check boxes repeat a name.
#[derive(Debug, Default, Deserialize)]
#[serde(transparent)]
struct Fields(Vec<(String, String)>);

impl Fields {
    fn one(&self, name: &str) -> String {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_owned())
            .collect()
    }

    fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }
}

/// A check box or a menu choice.
pub struct Check {
    pub value: String,
    pub label: String,
    pub checked: bool,
}

fn language_label(ctx: &PageCtx, tag: &str) -> &'static str {
    if tag == "zh-CN" {
        ctx.t("dadm.lang.zh")
    } else {
        ctx.t("dadm.lang.en")
    }
}

fn priority_label(ctx: &PageCtx, priority: &str) -> &'static str {
    match priority {
        "low" => ctx.t("dadm.priority.low"),
        "high" => ctx.t("dadm.priority.high"),
        "urgent" => ctx.t("dadm.priority.urgent"),
        _ => ctx.t("dadm.priority.normal"),
    }
}

fn language_checks(ctx: &PageCtx, chosen: &[String]) -> Vec<Check> {
    LANGUAGES
        .iter()
        .map(|l| Check {
            value: (*l).to_owned(),
            label: language_label(ctx, l).to_owned(),
            checked: chosen.iter().any(|c| c == l),
        })
        .collect()
}

fn category_checks(ctx: &PageCtx, chosen: &[String]) -> Vec<Check> {
    CATEGORIES
        .iter()
        .map(|c| Check {
            value: (*c).to_owned(),
            label: category_label(ctx, c).to_owned(),
            checked: chosen.iter().any(|x| x == c),
        })
        .collect()
}

// --- support groups ----------------------------------------------------------------------------

/// A group's form, as stored or as typed.
pub struct GroupForm {
    /// Unique on the page, for field ids.
    pub key: String,
    pub id: String,
    pub is_new: bool,
    pub name: String,
    pub name_zh: String,
    pub name_en: String,
    pub time_zone: String,
    pub always_open: bool,
    pub hours: String,
    pub holidays: String,
    pub languages: Vec<Check>,
    pub categories: Vec<Check>,
    pub position: String,
    pub error: Option<FormError>,
}

impl GroupForm {
    fn of(ctx: &PageCtx, v: &GroupView) -> GroupForm {
        GroupForm {
            key: String::new(),
            id: v.id.clone(),
            is_new: false,
            name: ctx.lang.pick(&v.name_en, &v.name_zh).clone(),
            name_zh: v.name_zh.clone(),
            name_en: v.name_en.clone(),
            time_zone: v.time_zone.clone(),
            always_open: v.always_open,
            hours: v.hours.clone(),
            holidays: v.holidays.clone(),
            languages: language_checks(ctx, &v.languages),
            categories: category_checks(ctx, &v.categories),
            position: v.position.to_string(),
            error: None,
        }
    }

    fn blank(ctx: &PageCtx, time_zone: &str) -> GroupForm {
        GroupForm {
            key: String::new(),
            id: String::new(),
            is_new: true,
            name: String::new(),
            name_zh: String::new(),
            name_en: String::new(),
            time_zone: time_zone.to_owned(),
            always_open: false,
            hours: "mon-fri 09:00-18:00".into(),
            holidays: String::new(),
            languages: language_checks(ctx, &["zh-CN".into(), "en".into()]),
            categories: category_checks(ctx, &[]),
            position: "100".into(),
            error: None,
        }
    }

    fn typed(ctx: &PageCtx, id: &str, is_new: bool, f: &Fields) -> GroupForm {
        GroupForm {
            key: String::new(),
            id: id.to_owned(),
            is_new,
            name: f.one("name_en"),
            name_zh: f.one("name_zh"),
            name_en: f.one("name_en"),
            time_zone: f.one("time_zone"),
            always_open: f.has("always_open"),
            hours: f.one("hours"),
            holidays: f.one("holidays"),
            languages: language_checks(ctx, &f.all("languages")),
            categories: category_checks(ctx, &f.all("categories")),
            position: f.one("position"),
            error: None,
        }
    }

    /// What the API takes, or the field that cannot be read.
    fn input(&self, ctx: &PageCtx) -> Result<GroupView, FormError> {
        let position = match self.position.trim() {
            "" => 0,
            text => text.parse::<i64>().map_err(|_| {
                FormError::at("position", format!("{} {text}", ctx.t("dadm.not_a_number")))
            })?,
        };
        let chosen = |checks: &[Check]| {
            checks
                .iter()
                .filter(|c| c.checked)
                .map(|c| c.value.clone())
                .collect()
        };
        Ok(GroupView {
            id: String::new(),
            name_zh: self.name_zh.clone(),
            name_en: self.name_en.clone(),
            time_zone: self.time_zone.trim().to_owned(),
            always_open: self.always_open,
            hours: self.hours.clone(),
            holidays: self.holidays.clone(),
            languages: chosen(&self.languages),
            categories: chosen(&self.categories),
            position,
        })
    }
}

// --- agents ------------------------------------------------------------------------------------

/// A staff account and its agent set-up (prefilled when it is an agent).
pub struct AgentForm {
    pub key: String,
    pub user_id: String,
    pub email: String,
    pub role: String,
    pub is_agent: bool,
    pub presence: &'static str,
    pub badge: &'static str,
    pub load: i64,
    pub display_name: String,
    pub capacity: String,
    pub groups: Vec<Check>,
    pub languages: Vec<Check>,
    pub categories: Vec<Check>,
    pub error: Option<FormError>,
}

impl AgentForm {
    /// Replaces what the form shows with what was typed.
    fn typed(&mut self, ctx: &PageCtx, groups: &[(String, String)], f: &Fields) {
        self.display_name = f.one("display_name");
        self.capacity = f.one("capacity");
        self.groups = group_choices(groups, &f.one("group_id"));
        self.languages = language_checks(ctx, &f.all("languages"));
        self.categories = category_checks(ctx, &f.all("categories"));
    }
}

/// What the API takes from an agent's form, or the field that cannot be read.
fn agent_input(ctx: &PageCtx, f: &Fields) -> Result<AgentSetup, FormError> {
    let capacity = f.one("capacity");
    let capacity = capacity.trim().parse::<i64>().map_err(|_| {
        FormError::at(
            "capacity",
            format!("{} {}", ctx.t("dadm.not_a_number"), capacity.trim()),
        )
    })?;
    Ok(AgentSetup {
        display_name: f.one("display_name"),
        group_id: f.one("group_id"),
        capacity,
        languages: f.all("languages"),
        categories: f.all("categories"),
    })
}

fn group_choices(groups: &[(String, String)], chosen: &str) -> Vec<Check> {
    groups
        .iter()
        .map(|(id, name)| Check {
            value: id.clone(),
            label: name.clone(),
            checked: id == chosen,
        })
        .collect()
}

// --- SLA targets -------------------------------------------------------------------------------

/// One line of the targets table: a priority's default (fixed) or a priority and category.
pub struct SlaRow {
    pub index: usize,
    pub fixed: bool,
    pub priority: String,
    pub priority_label: &'static str,
    /// The category's value; empty for a priority's default.
    pub category: String,
    pub priorities: Vec<Check>,
    pub categories: Vec<Check>,
    pub first_hours: String,
    pub resolution_hours: String,
}

/// Seconds as hours for the form: up to four decimals, trailing zeros dropped.
fn hours_text(seconds: Option<i64>) -> String {
    match seconds {
        None => String::new(),
        Some(s) => {
            let text = format!("{:.4}", s as f64 / 3600.0);
            text.trim_end_matches('0').trim_end_matches('.').to_owned()
        }
    }
}

/// Hours as typed (decimals with `.` or `,`) → seconds; empty is no target.
fn seconds_of(hours: &str) -> Result<Option<i64>, ()> {
    let hours = hours.trim().replace(',', ".");
    if hours.is_empty() {
        return Ok(None);
    }
    match hours.parse::<f64>() {
        Ok(h) if h.is_finite() && h.abs() < 1e9 => Ok(Some((h * 3600.0).round() as i64)),
        _ => Err(()),
    }
}

fn sla_row(
    ctx: &PageCtx,
    index: usize,
    fixed: bool,
    priority: &str,
    category: &str,
    first_hours: String,
    resolution_hours: String,
) -> SlaRow {
    SlaRow {
        index,
        fixed,
        priority: priority.to_owned(),
        priority_label: priority_label(ctx, priority),
        category: category.to_owned(),
        priorities: PRIORITIES
            .iter()
            .map(|p| Check {
                value: (*p).to_owned(),
                label: priority_label(ctx, p).to_owned(),
                checked: *p == priority,
            })
            .collect(),
        categories: category_checks(ctx, &[category.to_owned()]),
        first_hours,
        resolution_hours,
    }
}

/// The table for stored targets: each priority's default first, then the rows per category,
/// then a few empty ones.
fn sla_rows_of(ctx: &PageCtx, targets: &[SlaTargetView]) -> Vec<SlaRow> {
    let mut rows = Vec::new();
    for p in PRIORITIES {
        let t = targets
            .iter()
            .find(|t| t.priority == p && t.category.is_empty());
        rows.push(sla_row(
            ctx,
            rows.len(),
            true,
            p,
            "",
            hours_text(t.and_then(|t| t.first_response_s)),
            hours_text(t.and_then(|t| t.resolution_s)),
        ));
    }
    for t in targets.iter().filter(|t| !t.category.is_empty()) {
        rows.push(sla_row(
            ctx,
            rows.len(),
            false,
            &t.priority,
            &t.category,
            hours_text(t.first_response_s),
            hours_text(t.resolution_s),
        ));
    }
    for _ in 0..SPARE_SLA_ROWS {
        rows.push(sla_row(
            ctx,
            rows.len(),
            false,
            "normal",
            "",
            String::new(),
            String::new(),
        ));
    }
    rows
}

/// The table as typed.
fn sla_rows_typed(ctx: &PageCtx, f: &Fields) -> Vec<SlaRow> {
    let mut rows = Vec::new();
    while f.has(&format!("priority_{}", rows.len())) {
        let i = rows.len();
        rows.push(sla_row(
            ctx,
            i,
            f.has(&format!("fixed_{i}")),
            &f.one(&format!("priority_{i}")),
            &f.one(&format!("category_{i}")),
            f.one(&format!("first_{i}")),
            f.one(&format!("resolution_{i}")),
        ));
    }
    rows
}

/// What the API takes: rows without any target are left out.
fn sla_input(ctx: &PageCtx, rows: &[SlaRow]) -> Result<SlaTargetList, FormError> {
    let mut items = Vec::new();
    for row in rows {
        let read = |field: &str, text: &str| {
            seconds_of(text).map_err(|()| {
                FormError::at(
                    field,
                    format!("{} {}", ctx.t("dadm.sla.not_hours"), text.trim()),
                )
            })
        };
        let first_response_s = read("first_response_s", &row.first_hours)?;
        let resolution_s = read("resolution_s", &row.resolution_hours)?;
        if first_response_s.is_none() && resolution_s.is_none() {
            continue;
        }
        items.push(SlaTargetView {
            priority: row.priority.clone(),
            category: if row.fixed {
                String::new()
            } else {
                row.category.trim().to_owned()
            },
            first_response_s,
            resolution_s,
        });
    }
    Ok(SlaTargetList { items })
}

// --- the page ----------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "admin_desk.html")]
struct SetupPage<'a> {
    ctx: &'a PageCtx,
    notice: Option<&'static str>,
    /// Every group, then the form for a new one.
    groups: Vec<GroupForm>,
    agents: Vec<AgentForm>,
    sla: Vec<SlaRow>,
    sla_error: Option<FormError>,
}

/// A form that was refused, to show again with what was typed.
enum Refused {
    Group(Box<GroupForm>),
    Agent {
        user_id: String,
        fields: Fields,
        error: FormError,
    },
    Sla {
        rows: Vec<SlaRow>,
        error: FormError,
    },
}

async fn setup_page(
    state: &AppState,
    ctx: &PageCtx,
    current: &CurrentSession,
    refused: Option<Refused>,
    notice: Option<&'static str>,
) -> Result<Response, ApiError> {
    let stored_groups = state.db.support_groups().await?;
    let mut groups: Vec<GroupForm> = stored_groups
        .iter()
        .map(|g| GroupForm::of(ctx, &group_view(g)))
        .collect();
    let group_names: Vec<(String, String)> = groups
        .iter()
        .map(|g| (g.id.clone(), g.name.clone()))
        .collect();
    let mut new_group = GroupForm::blank(ctx, &state.help.settings.time_zone);

    let staff = state
        .db
        .users_with_roles(&[Role::Agent, Role::Supervisor, Role::Admin])
        .await?;
    let agents = state.db.agents().await?;
    let loads = state.db.agent_loads().await?;
    let mut agent_forms: Vec<AgentForm> = staff
        .iter()
        .map(|u| {
            let agent = agents.iter().find(|a| a.user_id == u.id);
            let (presence, badge) = presence_label(ctx, agent.map_or("offline", |a| &a.presence));
            let languages = agent.map_or_else(
                || LANGUAGES.iter().map(|l| (*l).to_owned()).collect(),
                |a| crate::desk::split_list(&a.languages),
            );
            let categories =
                agent.map_or_else(Vec::new, |a| crate::desk::split_list(&a.categories));
            AgentForm {
                key: String::new(),
                user_id: u.id.clone(),
                email: u.email.as_str().to_owned(),
                role: ctx.t_or(format!("role.{}", u.role.as_str()), u.role.as_str()),
                is_agent: agent.is_some(),
                presence,
                badge,
                load: loads.get(&u.id).copied().unwrap_or(0),
                display_name: agent.map(|a| a.display_name.clone()).unwrap_or_default(),
                capacity: agent.map_or_else(|| "10".to_owned(), |a| a.capacity.to_string()),
                groups: group_choices(
                    &group_names,
                    agent.map_or_else(
                        || group_names.first().map_or("", |g| g.0.as_str()),
                        |a| a.group_id.as_str(),
                    ),
                ),
                languages: language_checks(ctx, &languages),
                categories: category_checks(ctx, &categories),
                error: None,
            }
        })
        .collect();

    let ApiJson(targets) = list_sla_targets(State(state.clone()), current.clone()).await?;
    let mut sla = sla_rows_of(ctx, &targets.items);
    let mut sla_error = None;

    match refused {
        None => {}
        Some(Refused::Group(form)) => {
            let form = *form;
            match groups.iter_mut().find(|g| !form.is_new && g.id == form.id) {
                Some(g) => *g = form,
                None => new_group = form,
            }
        }
        Some(Refused::Agent {
            user_id,
            fields,
            error,
        }) => {
            if let Some(a) = agent_forms.iter_mut().find(|a| a.user_id == user_id) {
                a.typed(ctx, &group_names, &fields);
                a.error = Some(error);
            }
        }
        Some(Refused::Sla { rows, error }) => {
            sla = rows;
            sla_error = Some(error);
        }
    }
    groups.push(new_group);
    for (n, g) in groups.iter_mut().enumerate() {
        g.key = format!("g{n}");
    }
    for (n, a) in agent_forms.iter_mut().enumerate() {
        a.key = format!("a{n}");
    }
    // The page lists staff accounts (emails): opening it is audited like the users console.
    state
        .db
        .audit(
            &format!("user:{}", current.user.id),
            "admin.helpdesk.view",
            "helpdesk",
            &serde_json::json!({"staff_shown": agent_forms.len()}).to_string(),
        )
        .await?;
    let failed = groups.iter().any(|g| g.error.is_some())
        || agent_forms.iter().any(|a| a.error.is_some())
        || sla_error.is_some();
    let status = if failed {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(ctx.render(
        status,
        &SetupPage {
            ctx,
            notice,
            groups,
            agents: agent_forms,
            sla,
            sla_error,
        },
    ))
}

#[derive(Debug, Default, Deserialize)]
struct SavedQuery {
    saved: Option<String>,
}

async fn setup(
    State(state): State<AppState>,
    Query(q): Query<SavedQuery>,
    StaffConsole { ctx, current, .. }: StaffConsole<AdminRoles>,
) -> Response {
    let notice = match q.saved.as_deref() {
        Some("group") => Some(ctx.t("dadm.saved.group")),
        Some("agent") => Some(ctx.t("dadm.saved.agent")),
        Some("sla") => Some(ctx.t("dadm.saved.sla")),
        _ => None,
    };
    setup_page(&state, &ctx, &current, None, notice)
        .await
        .unwrap_or_else(|e| ctx.error(&e))
}

/// After a refusal: the page again with it; server faults as an error page.
async fn refused_page(
    state: &AppState,
    ctx: &PageCtx,
    current: &CurrentSession,
    refused: Refused,
) -> Response {
    setup_page(state, ctx, current, Some(refused), None)
        .await
        .unwrap_or_else(|e| ctx.error(&e))
}

async fn store_group(
    state: &AppState,
    ctx: &PageCtx,
    current: &CurrentSession,
    id: String,
    is_new: bool,
    fields: &Fields,
) -> Response {
    let mut form = GroupForm::typed(ctx, &id, is_new, fields);
    let saved: Result<(), FormError> = async {
        let input = form.input(ctx)?;
        if is_new {
            // A new id must not quietly replace another group.
            match state.db.support_group(&id).await {
                Ok(Some(_)) => return Err(FormError::at("id", ctx.t("dadm.group.id_taken"))),
                Ok(None) => {}
                Err(e) => return Err(FormError::of(ctx, &e.into())),
            }
        }
        save_group(state, current, &id, &input)
            .await
            .map(|_| ())
            .map_err(|e| {
                let mut error = FormError::of(ctx, &e);
                // The hours' own words name the line; say first what they are about.
                if error.field == "hours" {
                    error.message =
                        format!("{} {}", ctx.t("dadm.group.hours_error"), error.message);
                }
                error
            })
    }
    .await;
    match saved {
        Ok(()) => ctx.see_other("/admin/helpdesk?saved=group#groups"),
        Err(error) => {
            form.error = Some(error);
            refused_page(state, ctx, current, Refused::Group(Box::new(form))).await
        }
    }
}

async fn create_group_form(
    State(state): State<AppState>,
    StaffConsole { current, .. }: StaffConsole<AdminRoles>,
    CsrfForm { ctx, form }: CsrfForm<Fields>,
) -> Response {
    let id = form.one("id").trim().to_owned();
    store_group(&state, &ctx, &current, id, true, &form).await
}

async fn save_group_form(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffConsole { current, .. }: StaffConsole<AdminRoles>,
    CsrfForm { ctx, form }: CsrfForm<Fields>,
) -> Response {
    store_group(&state, &ctx, &current, id, false, &form).await
}

async fn save_agent_form(
    State(state): State<AppState>,
    Path(user_id): Path<String>,
    StaffConsole { current, .. }: StaffConsole<AdminRoles>,
    CsrfForm { ctx, form }: CsrfForm<Fields>,
) -> Response {
    let saved = match agent_input(&ctx, &form) {
        Ok(setup) => save_agent(&state, &current, &user_id, &setup)
            .await
            .map(|_| ())
            .map_err(|e| (e.status(), FormError::of(&ctx, &e), Some(e))),
        Err(error) => Err((StatusCode::UNPROCESSABLE_ENTITY, error, None)),
    };
    match saved {
        Ok(()) => ctx.see_other("/admin/helpdesk?saved=agent#agents"),
        Err((StatusCode::NOT_FOUND, _, _)) => not_found_page(&ctx),
        Err((status, _, Some(e))) if status.is_server_error() => ctx.error(&e),
        Err((_, error, _)) => {
            let refused = Refused::Agent {
                user_id,
                fields: form,
                error,
            };
            refused_page(&state, &ctx, &current, refused).await
        }
    }
}

async fn save_sla_form(
    State(state): State<AppState>,
    StaffConsole { current, .. }: StaffConsole<AdminRoles>,
    CsrfForm { ctx, form }: CsrfForm<Fields>,
) -> Response {
    let rows = sla_rows_typed(&ctx, &form);
    let saved = match sla_input(&ctx, &rows) {
        Ok(list) => save_sla_targets(&state, &current, &list)
            .await
            .map(|_| ())
            .map_err(|e| (FormError::of(&ctx, &e), Some(e))),
        Err(error) => Err((error, None)),
    };
    match saved {
        Ok(()) => ctx.see_other("/admin/helpdesk?saved=sla#sla"),
        Err((_, Some(e))) if e.status().is_server_error() => ctx.error(&e),
        Err((error, _)) => refused_page(&state, &ctx, &current, Refused::Sla { rows, error }).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_round_trip_through_seconds() {
        assert_eq!(seconds_of("1.5"), Ok(Some(5400)));
        assert_eq!(seconds_of("0,25"), Ok(Some(900)));
        assert_eq!(seconds_of(" "), Ok(None));
        assert_eq!(seconds_of("two"), Err(()));
        assert_eq!(hours_text(Some(5400)), "1.5");
        assert_eq!(hours_text(Some(7200)), "2");
        assert_eq!(hours_text(None), "");
        for s in [60, 90, 3599, 86_400, 31_536_000] {
            assert_eq!(seconds_of(&hours_text(Some(s))), Ok(Some(s)), "{s}");
        }
    }

    #[test]
    fn repeated_check_boxes_are_all_read() {
        let fields: Fields =
            serde_urlencoded::from_str("languages=zh-CN&languages=en&name=a&categories=").unwrap();
        assert_eq!(fields.all("languages"), vec!["zh-CN", "en"]);
        assert!(fields.all("categories").is_empty());
        assert_eq!(fields.one("name"), "a");
        assert_eq!(fields.one("missing"), "");
    }
}
