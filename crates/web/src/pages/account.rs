//! Signing up, logging in (with the second step for a one-time code) and logging out.
//!
//! Public pages: `/signup`, `/login`, `/login/verify`. The rules are the API's own —
//! [`crate::api::sessions::authenticate`] and [`crate::api::users::sign_up`] — so throttling,
//! lockout and the non-revealing sign-up answer are the same whichever door someone uses.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use identity::token::{token_hash, Token};
use serde::Deserialize;

use super::{safe_next, CsrfForm, PageCtx};
use crate::api::sessions::{self, LogIn, SessionKind};
use crate::auth::RequestOrigin;
use crate::error::{ApiError, Reason};
use crate::json::ApiJson;
use crate::AppState;

/// The cookie that carries a half-finished log-in (password right, second factor to come).
const PENDING_COOKIE: &str = "okw_pending";
/// How long someone has to type the code after the password.
const PENDING_TTL_MS: i64 = 5 * 60 * 1000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/signup", get(signup_page).post(signup))
        .route("/login", get(login_page).post(login))
        .route("/login/verify", get(verify_page).post(verify))
        .route("/login/passkey", post(passkey_login))
        .route("/logout", post(logout))
}

#[derive(Template)]
#[template(path = "signup.html")]
struct SignupPage<'a> {
    ctx: &'a PageCtx,
    email: String,
    error: Option<String>,
    hints: Vec<String>,
}

async fn signup_page(ctx: PageCtx) -> Response {
    if ctx.signed_in() {
        return ctx.see_other("/");
    }
    ctx.render(
        StatusCode::OK,
        &SignupPage {
            ctx: &ctx,
            email: String::new(),
            error: None,
            hints: Vec::new(),
        },
    )
}

#[derive(Deserialize)]
struct SignupForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

async fn signup(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    CsrfForm { ctx, form }: CsrfForm<SignupForm>,
) -> Response {
    let body = crate::api::users::SignUp {
        email: form.email.clone(),
        password: form.password,
        locale: Some(ctx.lang.tag().to_owned()),
    };
    let answer =
        crate::api::users::sign_up(State(state), ctx.lang, RequestOrigin(origin), ApiJson(body))
            .await;
    match answer {
        Ok(_) => ctx.message(
            StatusCode::OK,
            ctx.t("signup.done.title"),
            ctx.t("signup.done.body"),
            ("/login", ctx.t("nav.login")),
        ),
        Err(e) if e.status().is_client_error() => {
            let (message, hints) = ctx.refusal(&e);
            ctx.render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &SignupPage {
                    ctx: &ctx,
                    email: form.email,
                    error: Some(message),
                    hints,
                },
            )
        }
        Err(e) => ctx.error(&e),
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    ctx: &'a PageCtx,
    email: String,
    next: String,
    error: Option<String>,
    locked: bool,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn login_page(ctx: PageCtx, Query(q): Query<NextQuery>) -> Response {
    let next = safe_next(q.next.as_deref());
    if ctx.signed_in() {
        return ctx.see_other(&next);
    }
    ctx.render(
        StatusCode::OK,
        &LoginPage {
            ctx: &ctx,
            email: String::new(),
            next,
            error: None,
            locked: false,
        },
    )
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

async fn login(
    State(state): State<AppState>,
    CsrfForm { mut ctx, form }: CsrfForm<LoginForm>,
) -> Response {
    let next = safe_next(form.next.as_deref());
    let attempt = LogIn {
        email: form.email.clone(),
        password: form.password,
        otp: None,
        passkey: None,
    };
    let origin = ctx.origin.clone();
    match sessions::authenticate(&state, &origin, &attempt).await {
        Ok(user) => finish_login(&state, ctx, &user.id, &next).await,
        Err(e) if matches!(e.reason(), Reason::MfaRequired) => {
            // The password was right; the second step needs to know whose code to check
            // without carrying the password along, so a short-lived pending session does.
            let found = match identity::Email::parse(&form.email) {
                Ok(email) => state.db.user_by_email(&email).await,
                Err(_) => Ok(None),
            };
            let user = match found {
                Ok(Some(user)) => user,
                Ok(None) => return ctx.error(&ApiError::new(Reason::InvalidCredentials)),
                Err(e) => return ctx.error(&e.into()),
            };
            let token = Token::generate();
            if let Err(e) = state
                .db
                .create_session(
                    &user.id,
                    &token_hash(token.as_str()),
                    "mfa_pending",
                    &origin,
                    PENDING_TTL_MS,
                )
                .await
            {
                return ctx.error(&e.into());
            }
            ctx.set_short_cookie(PENDING_COOKIE, token.as_str(), PENDING_TTL_MS / 1000);
            ctx.see_other(&format!(
                "/login/verify?next={}",
                super::percent_encode(&next)
            ))
        }
        Err(e) if e.status().is_client_error() => {
            let locked = matches!(e.reason(), Reason::AccountLocked { .. });
            let problem = e.problem(ctx.lang, None);
            let status = e.status();
            ctx.render(
                status,
                &LoginPage {
                    ctx: &ctx,
                    email: form.email,
                    next,
                    error: Some(problem.detail),
                    locked,
                },
            )
        }
        Err(e) => ctx.error(&e),
    }
}

async fn finish_login(state: &AppState, mut ctx: PageCtx, user_id: &str, next: &str) -> Response {
    let origin = ctx.origin.clone();
    match sessions::start_session(state, user_id, &origin, SessionKind::Web).await {
        Ok(started) => {
            ctx.set_session_cookie(&started.token, sessions::WEB_SESSION_TTL_MS / 1000);
            ctx.clear_short_cookie(PENDING_COOKIE);
            ctx.see_other(next)
        }
        Err(e) => ctx.error(&e),
    }
}

#[derive(Template)]
#[template(path = "login_verify.html")]
struct VerifyPage<'a> {
    ctx: &'a PageCtx,
    next: String,
    error: Option<String>,
    has_totp: bool,
    has_passkey: bool,
}

/// Which second factors the person has, so the code step offers only what works.
async fn factors(state: &AppState, user_id: &str) -> Result<(bool, bool), ApiError> {
    let totp = state
        .db
        .totp_factor(user_id)
        .await?
        .is_some_and(|f| f.confirmed);
    let passkey = !state.db.passkeys_for_user(user_id).await?.is_empty();
    Ok((totp, passkey))
}

/// The half-finished log-in the pending cookie names, if it is still live.
async fn pending_login(
    state: &AppState,
    headers: &axum::http::HeaderMap,
) -> Result<Option<(store::sessions::Session, store::users::User)>, ApiError> {
    let Some(token) = crate::lang::cookie(headers, PENDING_COOKIE).and_then(Token::parse) else {
        return Ok(None);
    };
    Ok(state
        .db
        .session_by_token_hash(&token_hash(token.as_str()))
        .await?
        .filter(|(session, _)| session.kind == "mfa_pending"))
}

async fn verify_page(
    State(state): State<AppState>,
    ctx: PageCtx,
    headers: axum::http::HeaderMap,
    Query(q): Query<NextQuery>,
) -> Response {
    let next = safe_next(q.next.as_deref());
    let user = match pending_login(&state, &headers).await {
        Ok(Some((_, user))) => user,
        Ok(None) => return ctx.see_other("/login"),
        Err(e) => return ctx.error(&e),
    };
    match factors(&state, &user.id).await {
        Ok((has_totp, has_passkey)) => ctx.render(
            StatusCode::OK,
            &VerifyPage {
                ctx: &ctx,
                next,
                error: None,
                has_totp,
                has_passkey,
            },
        ),
        Err(e) => ctx.error(&e),
    }
}

#[derive(Deserialize)]
struct VerifyForm {
    #[serde(default)]
    otp: String,
    #[serde(default)]
    ceremony_id: String,
    #[serde(default)]
    credential: String,
    next: Option<String>,
}

async fn verify(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    CsrfForm { ctx, form }: CsrfForm<VerifyForm>,
) -> Response {
    let next = safe_next(form.next.as_deref());
    let (pending, user) = match pending_login(&state, &headers).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            return ctx.message(
                StatusCode::GONE,
                ctx.t("login.expired.title"),
                ctx.t("login.expired.body"),
                ("/login", ctx.t("nav.login")),
            )
        }
        Err(e) => return ctx.error(&e),
    };
    match check_code(&state, &ctx, &user, &form).await {
        Ok(()) => {
            // The pending session is spent whatever happens next.
            let _ = state
                .db
                .revoke_session(&user.id, &pending.id, "completed")
                .await;
            finish_login(&state, ctx, &user.id, &next).await
        }
        Err(e) if e.status().is_client_error() => {
            let problem = e.problem(ctx.lang, None);
            let (has_totp, has_passkey) = match factors(&state, &user.id).await {
                Ok(found) => found,
                Err(e) => return ctx.error(&e),
            };
            ctx.render(
                e.status(),
                &VerifyPage {
                    ctx: &ctx,
                    next,
                    error: Some(problem.detail),
                    has_totp,
                    has_passkey,
                },
            )
        }
        Err(e) => ctx.error(&e),
    }
}

/// The second step: the same lockout and counting as the API's log-in with `otp` or `passkey`.
async fn check_code(
    state: &AppState,
    ctx: &PageCtx,
    user: &store::users::User,
    form: &VerifyForm,
) -> Result<(), ApiError> {
    let account_key = format!("account:{}", user.id);
    if let Some(wait) = state.db.throttle_locked_for_s(&account_key).await? {
        return Err(ApiError::new(Reason::AccountLocked {
            retry_after_s: wait,
        }));
    }
    if !form.credential.trim().is_empty() {
        let assertion = passkey_assertion(&form.ceremony_id, &form.credential)?;
        crate::api::passkeys::check_assertion(
            state,
            &ctx.origin,
            &assertion,
            Some(&user.id),
            "mfa_failed",
        )
        .await?;
        state.db.register_login_success(&account_key).await?;
        return Ok(());
    }
    let totp = state
        .db
        .totp_factor(&user.id)
        .await?
        .filter(|f| f.confirmed);
    let Some(factor) = totp else {
        // No TOTP: a passkey is the only second factor left, and it was not given. (Were every
        // factor removed in between, the password alone has been checked already.)
        if state.db.passkeys_for_user(&user.id).await?.is_empty() {
            return Ok(());
        }
        return Err(ApiError::new(Reason::MfaRequired));
    };
    let otp = form.otp.trim();
    if otp.is_empty() {
        return Err(ApiError::new(Reason::MfaRequired));
    }
    if sessions::second_factor_ok(state, &user.id, &factor, otp, &ctx.origin).await? {
        state.db.register_login_success(&account_key).await?;
        return Ok(());
    }
    Err(sessions::failed_attempt(
        state,
        &user.id,
        &ctx.origin,
        "mfa_failed",
        Reason::InvalidOtp,
    )
    .await?)
}

/// A passkey answer posted through a form: the ceremony id and the credential as JSON text.
pub fn passkey_assertion(
    ceremony_id: &str,
    credential: &str,
) -> Result<crate::api::passkeys::PasskeyAssertion, ApiError> {
    let credential =
        serde_json::from_str(credential).map_err(|_| ApiError::new(Reason::InvalidPasskey))?;
    Ok(crate::api::passkeys::PasskeyAssertion {
        ceremony_id: ceremony_id.to_owned(),
        credential,
    })
}

#[derive(Deserialize)]
struct PasskeyLoginForm {
    #[serde(default)]
    ceremony_id: String,
    #[serde(default)]
    credential: String,
    next: Option<String>,
}

/// Passwordless sign-in: the page's script answered a challenge from
/// `POST /api/v1/passkey-challenges` and posts the answer here, as a form, so that the cookie
/// and the redirect work as for a password log-in.
async fn passkey_login(
    State(state): State<AppState>,
    CsrfForm { ctx, form }: CsrfForm<PasskeyLoginForm>,
) -> Response {
    let next = safe_next(form.next.as_deref());
    let result: Result<String, ApiError> = async {
        if let Some(wait) = state
            .db
            .throttle_locked_for_s(&format!("ip:{}", ctx.origin.ip))
            .await?
        {
            return Err(ApiError::too_many_requests(wait));
        }
        let assertion = passkey_assertion(&form.ceremony_id, &form.credential)?;
        let passkey = crate::api::passkeys::check_assertion(
            &state,
            &ctx.origin,
            &assertion,
            None,
            "login_failed",
        )
        .await?;
        state
            .db
            .register_login_success(&format!("account:{}", passkey.user_id))
            .await?;
        Ok(passkey.user_id)
    }
    .await;
    match result {
        Ok(user_id) => finish_login(&state, ctx, &user_id, &next).await,
        Err(e) if e.status().is_client_error() => {
            let locked = matches!(e.reason(), Reason::AccountLocked { .. });
            let problem = e.problem(ctx.lang, None);
            ctx.render(
                e.status(),
                &LoginPage {
                    ctx: &ctx,
                    email: String::new(),
                    next,
                    error: Some(problem.detail),
                    locked,
                },
            )
        }
        Err(e) => ctx.error(&e),
    }
}

async fn logout(
    State(state): State<AppState>,
    CsrfForm { mut ctx, .. }: CsrfForm<Empty>,
) -> Response {
    if let Some(current) = &ctx.current {
        if let Err(e) = state
            .db
            .revoke_session(&current.user.id, &current.session.id, "logout")
            .await
        {
            return ctx.error(&e.into());
        }
    }
    ctx.clear_session_cookie();
    ctx.see_other("/login")
}

/// A form with nothing but its CSRF token.
#[derive(Deserialize)]
pub struct Empty {}
