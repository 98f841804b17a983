//! `POST /api/v1/sessions` (log in; public) and `DELETE /api/v1/sessions/current` (log out).
//!
//! Failed log-ins are throttled twice: per address (429 after a burst, whoever is targeted) and
//! per account (423 `account_locked` with the time left, growing with each lockout). While an
//! account is locked its password is not even checked, so guessing stops; the owner can still
//! reset the password. Unknown addresses cost the same hashing work as known ones. The second
//! factor is a TOTP code (`otp`) or a passkey answer (`passkey`, checked in `api::passkeys`);
//! passwordless passkey sign-in lives there too and shares [`start_session`].

use std::sync::OnceLock;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, post};
use axum::Router;
use identity::lockout::Policy;
use identity::token::{token_hash, Token};
use identity::totp;
use identity::Email;
use serde::{Deserialize, Serialize};
use store::sessions::Origin;
use utoipa::ToSchema;

use crate::api::passkeys::{check_assertion, PasskeyAssertion};
use crate::auth::{CurrentSession, RequestOrigin};
use crate::error::{ApiError, Problem, Reason};
use crate::json::ApiJson;
use crate::AppState;

/// How long an API token lives.
pub const API_SESSION_TTL_MS: i64 = 7 * 24 * 3600 * 1000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/sessions", post(log_in))
        .route("/api/v1/sessions/current", delete(log_out))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogIn {
    pub email: String,
    pub password: String,
    /// A one-time code, for accounts with TOTP.
    pub otp: Option<String>,
    /// Instead of `otp`: an answer to `POST /api/v1/passkey-challenges` signed by one of this
    /// account's passkeys. When present, `otp` is not looked at.
    pub passkey: Option<PasskeyAssertion>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NewSession {
    /// The bearer token: send it as `Authorization: Bearer <token>`. Shown once; only its hash
    /// is stored.
    pub token: String,
    /// RFC 3339 UTC.
    pub expires_at: String,
}

/// A hash to verify against when the email is unknown, so both cases take as long.
fn dummy_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| identity::hash_password("okwallet timing equaliser").expect("long enough"))
}

async fn verify(password: String, hash: String) -> Result<bool, ApiError> {
    tokio::task::spawn_blocking(move || identity::verify_password(&password, &hash))
        .await
        .map_err(ApiError::internal)
}

/// Logs in with email and password; answers a bearer token.
#[utoipa::path(post, path = "/api/v1/sessions", tag = "accounts", request_body = LogIn,
    responses(
        (status = 201, description = "Logged in", body = NewSession),
        (status = 401, description = "`invalid_credentials`, or `mfa_required` (send `otp` or `passkey`)", body = Problem),
        (status = 410, description = "`ceremony_expired` (the passkey's challenge)", body = Problem),
        (status = 422, description = "`invalid_otp`, `invalid_passkey` or `ceremony_not_found`", body = Problem),
        (status = 423, description = "`account_locked`, with `retry_after_s`", body = Problem),
        (status = 429, description = "`too_many_requests` from this address", body = Problem),
    ))]
pub async fn log_in(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    ApiJson(body): ApiJson<LogIn>,
) -> Result<(StatusCode, ApiJson<NewSession>), ApiError> {
    let user = authenticate(&state, &origin, &body).await?;
    let started = start_session(&state, &user.id, &origin, SessionKind::Api).await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(NewSession {
            token: started.token,
            expires_at: rfc3339(started.session.expires_at_ms),
        }),
    ))
}

/// Checks a log-in attempt — throttles, password, second factor — and answers whose account it
/// opens. Every failure is counted and logged here, so the API and the pages share one rule.
pub async fn authenticate(
    state: &AppState,
    origin: &Origin,
    attempt: &LogIn,
) -> Result<store::users::User, ApiError> {
    let ip_key = format!("ip:{}", origin.ip);
    if let Some(wait) = state.db.throttle_locked_for_s(&ip_key).await? {
        return Err(ApiError::too_many_requests(wait));
    }
    let user = match Email::parse(&attempt.email) {
        Ok(email) => state.db.user_by_email(&email).await?,
        Err(_) => None,
    };
    let Some(user) = user else {
        verify(attempt.password.clone(), dummy_hash().to_owned()).await?;
        state
            .db
            .register_login_failure(&ip_key, &Policy::IP)
            .await?;
        return Err(ApiError::new(Reason::InvalidCredentials));
    };
    let account_key = format!("account:{}", user.id);
    if let Some(wait) = state.db.throttle_locked_for_s(&account_key).await? {
        return Err(ApiError::new(Reason::AccountLocked {
            retry_after_s: wait,
        }));
    }
    if !verify(attempt.password.clone(), user.password_hash.clone()).await? {
        let error = failed_attempt(
            state,
            &user.id,
            origin,
            "login_failed",
            Reason::InvalidCredentials,
        )
        .await?;
        return Err(error);
    }
    let totp = state
        .db
        .totp_factor(&user.id)
        .await?
        .filter(|f| f.confirmed);
    if let Some(assertion) = &attempt.passkey {
        // A passkey of another account, or none at all, fails like a wrong code: the password
        // was right, so the failure counts against this account.
        check_assertion(state, origin, assertion, Some(&user.id), "mfa_failed").await?;
    } else if let Some(factor) = totp {
        let Some(otp) = attempt.otp.as_deref().filter(|o| !o.trim().is_empty()) else {
            return Err(ApiError::new(Reason::MfaRequired));
        };
        if !second_factor_ok(state, &user.id, &factor, otp, origin).await? {
            let error =
                failed_attempt(state, &user.id, origin, "mfa_failed", Reason::InvalidOtp).await?;
            return Err(error);
        }
    } else if state.db.passkey_count(&user.id).await? > 0 {
        return Err(ApiError::new(Reason::MfaRequired));
    }
    state.db.register_login_success(&account_key).await?;
    Ok(user)
}

/// Counts a failed log-in step against the address and the account, logs it, and says what to
/// answer: `account_locked` when this failure starts a lockout, else `answer`.
pub(crate) async fn failed_attempt(
    state: &AppState,
    user_id: &str,
    origin: &Origin,
    kind: &str,
    answer: Reason,
) -> Result<ApiError, ApiError> {
    let ip_key = format!("ip:{}", origin.ip);
    state
        .db
        .register_login_failure(&ip_key, &Policy::IP)
        .await?;
    let account_key = format!("account:{user_id}");
    let locked = state
        .db
        .register_login_failure(&account_key, &Policy::ACCOUNT)
        .await?;
    state
        .db
        .record_security_event(user_id, kind, origin, "{}")
        .await?;
    let Some(lock_s) = locked else {
        return Ok(ApiError::new(answer));
    };
    let detail = format!(r#"{{"locked_for_s":{lock_s}}}"#);
    state
        .db
        .record_security_event(user_id, "locked", origin, &detail)
        .await?;
    // The owner hears of it by mail, with a reset link that ends the lock at once. One mail per
    // lockout, and lockouts grow longer, so an attacker cannot flood the owner's inbox.
    if let Some(user) = state.db.user_by_id(user_id).await? {
        let mail = crate::mail::account_locked(&state.settings, &user, lock_s);
        state.db.enqueue_mail(&mail).await?;
    }
    Ok(ApiError::new(Reason::AccountLocked {
        retry_after_s: lock_s,
    }))
}

/// Checks a TOTP code or a recovery code and spends it, so neither works twice.
pub async fn second_factor_ok(
    state: &AppState,
    user_id: &str,
    factor: &store::factors::TotpFactor,
    otp: &str,
    origin: &Origin,
) -> Result<bool, ApiError> {
    if totp::looks_like_recovery_code(otp) {
        let used = state
            .db
            .use_recovery_code(user_id, &totp::recovery_code_hash(user_id, otp))
            .await?;
        if used {
            let left = state.db.recovery_codes_left(user_id).await?;
            let detail = format!(r#"{{"recovery_codes_left":{left}}}"#);
            state
                .db
                .record_security_event(user_id, "recovery_code_used", origin, &detail)
                .await?;
        }
        return Ok(used);
    }
    let secret = state.settings.totp_secret(user_id, &factor.secret_base32)?;
    let last = u64::try_from(factor.last_used_step).unwrap_or(0);
    match secret.verify(otp, now_s(), last) {
        Some(step) => Ok(state
            .db
            .use_totp_step(user_id, i64::try_from(step).unwrap_or(i64::MAX))
            .await?),
        None => Ok(false),
    }
}

/// Seconds since the Unix epoch.
pub fn now_s() -> u64 {
    u64::try_from(store::now_ms() / 1000).unwrap_or(0)
}

/// Where a session is used: API sessions carry a bearer token, web sessions a cookie.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionKind {
    Api,
    Web,
}

impl SessionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::Api => "api",
            SessionKind::Web => "web",
        }
    }

    fn ttl_ms(self) -> i64 {
        match self {
            SessionKind::Api => API_SESSION_TTL_MS,
            SessionKind::Web => WEB_SESSION_TTL_MS,
        }
    }
}

/// How long a web session lives.
pub const WEB_SESSION_TTL_MS: i64 = 12 * 3600 * 1000;

/// A session just started: its raw token (shown or set once, stored only hashed) and its row.
pub struct StartedSession {
    pub token: String,
    pub session: store::sessions::Session,
}

/// Starts a session for someone who has just proved who they are, logs it, and tells the owner
/// by mail (with a one-click freeze link, in case it was not them).
pub async fn start_session(
    state: &AppState,
    user_id: &str,
    origin: &Origin,
    kind: SessionKind,
) -> Result<StartedSession, ApiError> {
    let token = Token::generate();
    let session = state
        .db
        .create_session(
            user_id,
            &token_hash(token.as_str()),
            kind.as_str(),
            origin,
            kind.ttl_ms(),
        )
        .await?;
    let detail = format!(r#"{{"session":"{}"}}"#, session.id);
    state
        .db
        .record_security_event(user_id, "login", origin, &detail)
        .await?;
    if let Some(user) = state.db.user_by_id(user_id).await? {
        let mail = crate::mail::new_login(&state.settings, &user, origin, session.created_at_ms);
        state.db.enqueue_mail(&mail).await?;
    }
    Ok(StartedSession {
        token: token.as_str().to_owned(),
        session,
    })
}

/// Milliseconds since the epoch as RFC 3339 UTC with second precision.
pub fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// Ends the session whose token made this request.
#[utoipa::path(delete, path = "/api/v1/sessions/current", tag = "accounts",
    security(("bearer" = [])),
    responses((status = 204, description = "Logged out"), (status = 401, description = "`unauthorized`", body = Problem)))]
pub async fn log_out(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    current: CurrentSession,
) -> Result<StatusCode, ApiError> {
    state
        .db
        .revoke_session(&current.user.id, &current.session.id, "logout")
        .await?;
    let detail = format!(r#"{{"session":"{}","by":"logout"}}"#, current.session.id);
    state
        .db
        .record_security_event(&current.user.id, "session_revoked", &origin, &detail)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
