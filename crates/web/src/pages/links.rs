//! The pages mail links open — `/verify-email`, `/reset-password`, `/freeze` — plus
//! `/forgot-password` and, in the demo only, `/dev/mailbox`.
//!
//! Public pages: the link's token is the proof. Opening a link never acts (mail scanners open
//! links before people do); the page shows one button, and the POST calls the API handler.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use super::{CsrfForm, PageCtx};
use crate::api::email_verifications::LinkTokenBody;
use crate::api::{dev, email_verifications, freeze_links, password_resets};
use crate::auth::RequestOrigin;
use crate::error::{ApiError, Reason};
use crate::json::ApiJson;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/verify-email", get(verify_email_page).post(verify_email))
        .route("/forgot-password", get(forgot_page).post(forgot))
        .route("/reset-password", get(reset_page).post(reset))
        .route("/freeze", get(freeze_page).post(freeze))
        .route("/dev/mailbox", get(mailbox))
}

#[derive(Deserialize)]
struct TokenQuery {
    #[serde(default)]
    token: String,
}

#[derive(Deserialize)]
struct TokenForm {
    #[serde(default)]
    token: String,
}

/// A page with one button that posts the link's token.
#[derive(Template)]
#[template(path = "link_confirm.html")]
struct LinkConfirm<'a> {
    ctx: &'a PageCtx,
    action: &'static str,
    token: String,
    title_key: &'static str,
    lead_key: &'static str,
    button_key: &'static str,
    danger: bool,
}

/// The page for a link whose token is refused: what happened and where to go.
fn refused(ctx: &PageCtx, error: &ApiError, again: (&str, &str)) -> Response {
    if !error.status().is_client_error() {
        return ctx.error(error);
    }
    let problem = error.problem(ctx.lang, None);
    ctx.message(error.status(), &problem.title, &problem.detail, again)
}

async fn verify_email_page(ctx: PageCtx, Query(q): Query<TokenQuery>) -> Response {
    ctx.render(
        StatusCode::OK,
        &LinkConfirm {
            ctx: &ctx,
            action: "/verify-email",
            token: q.token,
            title_key: "link.verify.title",
            lead_key: "link.verify.lead",
            button_key: "link.verify.submit",
            danger: false,
        },
    )
}

async fn verify_email(
    State(state): State<AppState>,
    CsrfForm { ctx, form }: CsrfForm<TokenForm>,
) -> Response {
    let origin = RequestOrigin(ctx.origin.clone());
    let body = LinkTokenBody { token: form.token };
    match email_verifications::verify(State(state), origin, ApiJson(body)).await {
        Ok(_) => ctx.message(
            StatusCode::OK,
            ctx.t("link.verify.done.title"),
            ctx.t("link.verify.done.body"),
            ("/", ctx.t("nav.home")),
        ),
        Err(e) => refused(&ctx, &e, ("/security", ctx.t("nav.security"))),
    }
}

#[derive(Template)]
#[template(path = "forgot.html")]
struct ForgotPage<'a> {
    ctx: &'a PageCtx,
    error: Option<String>,
}

async fn forgot_page(ctx: PageCtx) -> Response {
    ctx.render(
        StatusCode::OK,
        &ForgotPage {
            ctx: &ctx,
            error: None,
        },
    )
}

#[derive(Deserialize)]
struct ForgotForm {
    #[serde(default)]
    email: String,
}

async fn forgot(
    State(state): State<AppState>,
    CsrfForm { ctx, form }: CsrfForm<ForgotForm>,
) -> Response {
    let origin = RequestOrigin(ctx.origin.clone());
    let body = password_resets::ResetRequest { email: form.email };
    match password_resets::request(State(state), origin, ApiJson(body)).await {
        Ok(_) => ctx.message(
            StatusCode::OK,
            ctx.t("forgot.sent.title"),
            ctx.t("forgot.sent.body"),
            ("/login", ctx.t("nav.login")),
        ),
        Err(e) if e.status().is_client_error() => {
            let detail = e.problem(ctx.lang, None).detail;
            ctx.render(
                e.status(),
                &ForgotPage {
                    ctx: &ctx,
                    error: Some(detail),
                },
            )
        }
        Err(e) => ctx.error(&e),
    }
}

#[derive(Template)]
#[template(path = "reset.html")]
struct ResetPage<'a> {
    ctx: &'a PageCtx,
    token: String,
    error: Option<String>,
    hints: Vec<String>,
}

async fn reset_page(ctx: PageCtx, Query(q): Query<TokenQuery>) -> Response {
    ctx.render(
        StatusCode::OK,
        &ResetPage {
            ctx: &ctx,
            token: q.token,
            error: None,
            hints: Vec::new(),
        },
    )
}

#[derive(Deserialize)]
struct ResetForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    otp: String,
}

async fn reset(
    State(state): State<AppState>,
    CsrfForm { mut ctx, form }: CsrfForm<ResetForm>,
) -> Response {
    let origin = RequestOrigin(ctx.origin.clone());
    let otp = Some(form.otp.trim().to_owned()).filter(|o| !o.is_empty());
    let body = password_resets::ConfirmReset {
        token: form.token.clone(),
        password: form.password,
        otp,
    };
    match password_resets::confirm(State(state), origin, ApiJson(body)).await {
        Ok(_) => {
            // Every session ended, this browser's included.
            ctx.clear_session_cookie();
            ctx.message(
                StatusCode::OK,
                ctx.t("reset.done.title"),
                ctx.t("reset.done.body"),
                ("/login", ctx.t("nav.login")),
            )
        }
        Err(e)
            if matches!(
                e.reason(),
                Reason::WeakPassword { .. } | Reason::MfaRequired | Reason::InvalidOtp
            ) =>
        {
            let (message, hints) = ctx.refusal(&e);
            ctx.render(
                e.status(),
                &ResetPage {
                    ctx: &ctx,
                    token: form.token,
                    error: Some(message),
                    hints,
                },
            )
        }
        Err(e) => refused(&ctx, &e, ("/forgot-password", ctx.t("forgot.again"))),
    }
}

async fn freeze_page(ctx: PageCtx, Query(q): Query<TokenQuery>) -> Response {
    ctx.render(
        StatusCode::OK,
        &LinkConfirm {
            ctx: &ctx,
            action: "/freeze",
            token: q.token,
            title_key: "link.freeze.title",
            lead_key: "link.freeze.lead",
            button_key: "security.freeze.submit",
            danger: true,
        },
    )
}

async fn freeze(
    State(state): State<AppState>,
    CsrfForm { mut ctx, form }: CsrfForm<TokenForm>,
) -> Response {
    let origin = RequestOrigin(ctx.origin.clone());
    let body = LinkTokenBody { token: form.token };
    match freeze_links::freeze_by_link(State(state), origin, ApiJson(body)).await {
        Ok(_) => {
            ctx.clear_session_cookie();
            ctx.message(
                StatusCode::OK,
                ctx.t("frozen.done.title"),
                ctx.t("frozen.done.body"),
                ("/login", ctx.t("nav.login")),
            )
        }
        Err(e) => refused(&ctx, &e, ("/login", ctx.t("nav.login"))),
    }
}

/// One mail in the dev mailbox, with the links it carries made clickable.
struct MailLine {
    to: String,
    /// The mail's language (`en` or `zh-CN`), which need not be the page's: marked on the
    /// subject and body so that a screen reader reads them in it.
    lang: String,
    subject: String,
    body: String,
    created_at: String,
    links: Vec<String>,
}

#[derive(Template)]
#[template(path = "mailbox.html")]
struct MailboxPage<'a> {
    ctx: &'a PageCtx,
    mails: Vec<MailLine>,
    to: String,
}

#[derive(Deserialize)]
struct MailboxQuery {
    to: Option<String>,
}

/// The demo's mailbox: what okwallet would have sent, newest first. Absent outside the demo.
async fn mailbox(
    State(state): State<AppState>,
    ctx: PageCtx,
    Query(q): Query<MailboxQuery>,
) -> Response {
    if !state.demo {
        return super::not_found_page(&ctx);
    }
    let to = q.to.unwrap_or_default().trim().to_owned();
    let query = dev::MailboxQuery {
        to: Some(to.clone()).filter(|t| !t.is_empty()),
        limit: Some("50".to_owned()),
    };
    let public = state.settings.public_url.clone();
    match dev::mailbox(State(state), Query(query)).await {
        Ok(ApiJson(mailbox)) => {
            let mails = mailbox
                .items
                .into_iter()
                .map(|m| MailLine {
                    links: m
                        .body
                        .split_whitespace()
                        .filter(|w| w.starts_with(&format!("{public}/")))
                        .map(str::to_owned)
                        .collect(),
                    to: m.to,
                    lang: m.locale,
                    subject: m.subject,
                    body: m.body,
                    created_at: m.created_at,
                })
                .collect();
            ctx.render(
                StatusCode::OK,
                &MailboxPage {
                    ctx: &ctx,
                    mails,
                    to,
                },
            )
        }
        Err(e) => ctx.error(&e),
    }
}
