//! The troubleshooters on the pages: `/help/troubleshoot/{problem}` (check my account; for "I
//! can't log in" without a session, an email form whose answer goes to the mailbox), a run's
//! findings with their buttons, "this solved it", and the ways to a person that carry the
//! findings (ticket, chat, call, or a case code for a phone call); and the agents' `/agent/case`
//! where a caller's case code opens the prepared case.
//!
//! Every answer is the API's own (`api::diagnoses`); this module lays them out.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::admin::StaffConsole;
use super::agent::AgentRoles;
use super::{CsrfForm, PageCtx, SignedIn};
use crate::api::diagnoses::{self, CaseView, DiagnosisView, NewCase};
use crate::error::{ApiError, Reason};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/help/troubleshoot/{problem}", get(start).post(run))
        .route("/help/troubleshoot/login_failed/email", post(by_email))
        .route("/help/troubleshoot/runs/{id}", get(found))
        .route("/help/troubleshoot/runs/{id}/resolved", post(resolved))
        .route("/help/troubleshoot/runs/{id}/escalate", post(escalate))
        .route("/help/troubleshoot/runs/{id}/case", post(case))
        .route("/agent/case", get(case_form).post(open_case))
}

fn problem_label(ctx: &PageCtx, problem: &str) -> &'static str {
    ctx.t(&format!("desk.cat.{problem}"))
}

#[derive(Template)]
#[template(path = "troubleshoot.html")]
struct StartPage<'a> {
    ctx: &'a PageCtx,
    problem: String,
    label: &'static str,
    reference: String,
    /// Not signed in: the email form ("I can't log in" only).
    anonymous: bool,
    sent: bool,
}

#[derive(Debug, Default, Deserialize)]
struct StartQuery {
    reference: Option<String>,
    sent: Option<String>,
}

async fn start(Path(problem): Path<String>, Query(q): Query<StartQuery>, ctx: PageCtx) -> Response {
    let Some(p) = helpdesk::diagnose::Problem::parse(&problem) else {
        return super::not_found_page(&ctx);
    };
    let anonymous = ctx.current.is_none();
    if anonymous && p != helpdesk::diagnose::Problem::LoginFailed {
        return ctx.to_login();
    }
    ctx.render(
        StatusCode::OK,
        &StartPage {
            ctx: &ctx,
            label: problem_label(&ctx, p.as_str()),
            problem: p.as_str().to_owned(),
            reference: q.reference.unwrap_or_default(),
            anonymous,
            sent: q.sent.is_some(),
        },
    )
}

#[derive(Debug, Default, Deserialize)]
struct RunForm {
    #[serde(default)]
    reference: String,
}

async fn run(
    State(state): State<AppState>,
    Path(problem): Path<String>,
    CsrfForm { ctx, form }: CsrfForm<RunForm>,
) -> Response {
    let Some(current) = ctx.current.clone() else {
        return ctx.to_login();
    };
    let Some(p) = helpdesk::diagnose::Problem::parse(&problem) else {
        return super::not_found_page(&ctx);
    };
    let reference = Some(form.reference.trim()).filter(|r| !r.is_empty());
    // Someone else's entry is not looked at: the run goes on without it.
    let reference = match reference {
        Some(r) => crate::api::activity::entry(&state, &current.user.id, r, ctx.lang)
            .await
            .ok()
            .flatten()
            .map(|_| r),
        None => None,
    };
    match diagnoses::run(
        &state,
        &current.user,
        Some(&current.session.id),
        p,
        reference,
        ctx.lang,
    )
    .await
    {
        Ok(d) => ctx.see_other(&format!("/help/troubleshoot/runs/{}", d.id)),
        Err(e) => ctx.error(&e),
    }
}

#[derive(Debug, Deserialize)]
struct EmailForm {
    email: String,
}

async fn by_email(
    State(state): State<AppState>,
    CsrfForm { ctx, form }: CsrfForm<EmailForm>,
) -> Response {
    match diagnoses::ask_login_help(&state, &ctx.origin, &form.email).await {
        Ok(()) => ctx.see_other("/help/troubleshoot/login_failed?sent=1"),
        Err(e) if e.status().is_client_error() => {
            let message = e.problem(ctx.lang, None).detail;
            ctx.message(
                e.status(),
                ctx.t("diag.anon.title"),
                &message,
                ("/help/troubleshoot/login_failed", ctx.t("diag.anon.title")),
            )
        }
        Err(e) => ctx.error(&e),
    }
}

#[derive(Template)]
#[template(path = "troubleshoot_found.html")]
struct FoundPage<'a> {
    ctx: &'a PageCtx,
    run: DiagnosisView,
    label: &'static str,
    error: Option<String>,
    case: Option<CaseView>,
    escalated: Option<(String, String)>,
}

#[derive(Debug, Default, Deserialize)]
struct FoundQuery {
    unavailable: Option<String>,
}

async fn found_page(
    state: &AppState,
    ctx: &PageCtx,
    user_id: &str,
    id: &str,
    error: Option<String>,
    case: Option<CaseView>,
) -> Result<Response, ApiError> {
    let d = diagnoses::own_run(state, user_id, id).await?;
    let run = diagnoses::diagnosis_view(&d, ctx.lang);
    let escalated = run
        .escalated_to
        .as_ref()
        .map(|to| match to.split_once(':') {
            Some(("chat", c)) => (
                format!("/support/chats/{c}"),
                ctx.t("diag.via.chat").to_owned(),
            ),
            Some((_, t)) => (
                format!("/support/tickets/{t}"),
                ctx.t("diag.via.ticket").to_owned(),
            ),
            None => ("/support".to_owned(), ctx.t("diag.via.ticket").to_owned()),
        });
    Ok(ctx.render(
        if error.is_some() {
            StatusCode::CONFLICT
        } else {
            StatusCode::OK
        },
        &FoundPage {
            ctx,
            label: problem_label(ctx, &run.problem),
            run,
            error,
            case,
            escalated,
        },
    ))
}

async fn found(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<FoundQuery>,
    SignedIn { ctx, current }: SignedIn,
) -> Response {
    let error = q.unavailable.map(|_| {
        ApiError::new(Reason::ChatUnavailable)
            .problem(ctx.lang, None)
            .detail
    });
    match found_page(&state, &ctx, &current.user.id, &id, error, None).await {
        Ok(r) => r,
        Err(e) if e.status() == StatusCode::NOT_FOUND => super::not_found_page(&ctx),
        Err(e) => ctx.error(&e),
    }
}

#[derive(Debug, Deserialize)]
struct EmptyForm {}

async fn resolved(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm { ctx, .. }: CsrfForm<EmptyForm>,
) -> Response {
    let Some(current) = ctx.current.clone() else {
        return ctx.to_login();
    };
    if diagnoses::own_run(&state, &current.user.id, &id)
        .await
        .is_err()
    {
        return super::not_found_page(&ctx);
    }
    match state
        .db
        .set_diagnosis_outcome(&id, "resolved", "", store::now_ms())
        .await
    {
        Ok(_) => ctx.see_other(&format!("/help/troubleshoot/runs/{id}")),
        Err(e) => ctx.error(&e.into()),
    }
}

#[derive(Debug, Deserialize)]
struct EscalateForm {
    via: String,
    #[serde(default)]
    message: String,
}

async fn escalate(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm { ctx, form }: CsrfForm<EscalateForm>,
) -> Response {
    let Some(current) = ctx.current.clone() else {
        return ctx.to_login();
    };
    match diagnoses::escalate_run(
        &state,
        &current,
        ctx.lang,
        &id,
        &form.via,
        Some(&form.message),
    )
    .await
    {
        Ok(done) => match done.chat_id {
            Some(chat) => ctx.see_other(&format!("/support/chats/{chat}")),
            None => ctx.see_other(&format!("/support/tickets/{}", done.ticket_id)),
        },
        Err(e) if matches!(e.reason(), Reason::ChatUnavailable) => {
            ctx.see_other(&format!("/help/troubleshoot/runs/{id}?unavailable=1"))
        }
        Err(e) if e.status() == StatusCode::NOT_FOUND => super::not_found_page(&ctx),
        Err(e) => ctx.error(&e),
    }
}

#[derive(Debug, Deserialize)]
struct CaseForm {
    description: String,
}

async fn case(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm { ctx, form }: CsrfForm<CaseForm>,
) -> Response {
    let Some(current) = ctx.current.clone() else {
        return ctx.to_login();
    };
    let asked = NewCase {
        description: form.description.clone(),
        diagnosis_id: Some(id.clone()),
        category: None,
    };
    let outcome = match diagnoses::prepare_case(&state, &current, ctx.lang, asked).await {
        Ok(view) => found_page(&state, &ctx, &current.user.id, &id, None, Some(view)).await,
        Err(e) if e.status().is_client_error() && e.status() != StatusCode::NOT_FOUND => {
            let message = e.problem(ctx.lang, None).detail;
            found_page(&state, &ctx, &current.user.id, &id, Some(message), None).await
        }
        Err(e) => Err(e),
    };
    match outcome {
        Ok(r) => r,
        Err(e) if e.status() == StatusCode::NOT_FOUND => super::not_found_page(&ctx),
        Err(e) => ctx.error(&e),
    }
}

// --- the agents' side ----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "agent_case.html")]
struct CasePage<'a> {
    ctx: &'a PageCtx,
    code: String,
    error: Option<String>,
}

async fn case_form(StaffConsole { ctx, .. }: StaffConsole<AgentRoles>) -> Response {
    ctx.render(
        StatusCode::OK,
        &CasePage {
            ctx: &ctx,
            code: String::new(),
            error: None,
        },
    )
}

#[derive(Debug, Deserialize)]
struct CodeForm {
    code: String,
}

async fn open_case(State(state): State<AppState>, form: CsrfForm<CodeForm>) -> Response {
    let (ctx, current, form) = match super::agent::console_form(&state, form).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match diagnoses::open_case_code(&state, &current, ctx.lang, &form.code).await {
        Ok(case) => ctx.see_other(&format!(
            "/agent/tickets/{}?case={}",
            case.ticket_id, case.code
        )),
        Err(e) if e.status() == StatusCode::NOT_FOUND => ctx.render(
            StatusCode::NOT_FOUND,
            &CasePage {
                ctx: &ctx,
                code: form.code.clone(),
                error: Some(ctx.t("case.agent.unknown").to_owned()),
            },
        ),
        Err(e) => ctx.error(&e),
    }
}
