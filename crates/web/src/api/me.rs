//! `/api/v1/me…`: the caller's own profile, sessions and freeze. Every route needs a session,
//! and every query is scoped to the session's user: another user's session id is "not found".

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::Router;
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::sessions::rfc3339;
use crate::auth::{CurrentSession, RequestOrigin};
use crate::error::{ApiError, Problem};
use crate::json::ApiJson;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/me", get(me))
        .route(
            "/api/v1/me/sessions",
            get(sessions).delete(end_other_sessions),
        )
        .route("/api/v1/me/sessions/{id}", delete(end_session))
        .route("/api/v1/me/freeze", post(freeze))
        .route("/api/v1/me/totp", post(start_totp))
        .route("/api/v1/me/totp/confirm", post(confirm_totp))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub id: String,
    pub email: String,
    /// `user`, `merchant`, `agent`, `supervisor` or `admin`.
    pub roles: Vec<String>,
    pub locale: String,
    /// True with TOTP or at least one passkey.
    pub mfa_enabled: bool,
    pub frozen: bool,
    /// When a requested unfreeze takes effect (RFC 3339), while it is cooling off.
    pub unfreeze_at: Option<String>,
    /// The phrase our messages show; null until the user sets one.
    pub anti_phishing_code: Option<String>,
    /// Withdrawals are refused until then (RFC 3339) after a security change; null when not locked.
    pub withdrawals_locked_until: Option<String>,
    /// Whether the owner opened the verification link mailed to `email`.
    pub email_verified: bool,
}

/// The caller's profile.
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = Me), (status = 401, description = "`unauthorized`", body = Problem)))]
pub async fn me(
    State(state): State<AppState>,
    current: CurrentSession,
) -> Result<ApiJson<Me>, ApiError> {
    // Either factor counts: a verified passkey is a second factor as much as TOTP.
    let mfa_enabled = state
        .db
        .totp_factor(&current.user.id)
        .await?
        .is_some_and(|f| f.confirmed)
        || state.db.passkey_count(&current.user.id).await? > 0;
    let user = current.user;
    let now = store::now_ms();
    Ok(ApiJson(Me {
        frozen: user.is_frozen(now),
        email_verified: user.email_verified_at_ms.is_some(),
        unfreeze_at: user.unfreeze_at_ms.filter(|at| *at > now).map(rfc3339),
        anti_phishing_code: user.anti_phishing_code.clone(),
        withdrawals_locked_until: user
            .withdrawals_locked_until_ms
            .filter(|at| *at > now)
            .map(rfc3339),
        id: user.id,
        email: user.email.to_string(),
        roles: vec![user.role.as_str().to_owned()],
        locale: user.locale,
        mfa_enabled,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    pub id: String,
    /// `api` or `web`.
    pub kind: String,
    pub user_agent: String,
    pub ip: String,
    pub created_at: String,
    pub last_seen_at: String,
    pub expires_at: String,
    /// True for the session making this request.
    pub current: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionList {
    pub items: Vec<SessionView>,
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

/// The caller's live sessions and devices, newest first.
#[utoipa::path(get, path = "/api/v1/me/sessions", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = SessionList), (status = 401, description = "`unauthorized`", body = Problem)))]
pub async fn sessions(
    State(state): State<AppState>,
    current: CurrentSession,
) -> Result<ApiJson<SessionList>, ApiError> {
    let items = state
        .db
        .sessions_for_user(&current.user.id)
        .await?
        .into_iter()
        .map(|s| SessionView {
            current: s.id == current.session.id,
            id: s.id,
            kind: s.kind,
            user_agent: s.user_agent,
            ip: s.ip,
            created_at: rfc3339(s.created_at_ms),
            last_seen_at: rfc3339(s.last_seen_at_ms),
            expires_at: rfc3339(s.expires_at_ms),
        })
        .collect();
    Ok(ApiJson(SessionList {
        items,
        next_cursor: None,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionsEnded {
    /// How many sessions (other than this one) were ended.
    pub ended: u64,
}

/// Ends every session of the caller's except the one making this request.
#[utoipa::path(delete, path = "/api/v1/me/sessions", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = SessionsEnded), (status = 401, description = "`unauthorized`", body = Problem)))]
pub async fn end_other_sessions(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    current: CurrentSession,
) -> Result<ApiJson<SessionsEnded>, ApiError> {
    let ended = state
        .db
        .revoke_other_sessions(&current.user.id, &current.session.id, "ended_by_owner")
        .await?;
    let detail = format!(r#"{{"sessions_ended":{ended},"by":"owner"}}"#);
    state
        .db
        .record_security_event(&current.user.id, "sessions_revoked", &origin, &detail)
        .await?;
    Ok(ApiJson(SessionsEnded { ended }))
}

/// Ends one of the caller's sessions (any device).
#[utoipa::path(delete, path = "/api/v1/me/sessions/{id}", tag = "accounts", security(("bearer" = [])),
    params(("id" = String, Path, description = "A session id from the list")),
    responses((status = 204, description = "Ended"), (status = 404, description = "`not_found`: no such session of yours", body = Problem)))]
pub async fn end_session(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    current: CurrentSession,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if !state
        .db
        .revoke_session(&current.user.id, &id, "ended_by_owner")
        .await?
    {
        return Err(ApiError::not_found());
    }
    let detail = format!(
        r#"{{"session":{},"by":"owner"}}"#,
        serde_json::Value::String(id)
    );
    state
        .db
        .record_security_event(&current.user.id, "session_revoked", &origin, &detail)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Frozen {
    pub frozen: bool,
}

/// Freezes the account at once: every session and token is revoked, including this one.
#[utoipa::path(post, path = "/api/v1/me/freeze", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = Frozen), (status = 401, description = "`unauthorized`", body = Problem)))]
pub async fn freeze(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    current: CurrentSession,
) -> Result<ApiJson<Frozen>, ApiError> {
    let mail = crate::mail::frozen(&state.settings, &current.user, &origin, store::now_ms());
    state
        .db
        .freeze_user_and_notify(&current.user.id, "frozen", Some(&mail))
        .await?;
    state
        .db
        .record_security_event(&current.user.id, "frozen", &origin, "{}")
        .await?;
    let subject = format!("user:{}", current.user.id);
    state
        .db
        .audit(&subject, "user.freeze", &subject, "{}")
        .await?;
    Ok(ApiJson(Frozen { frozen: true }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TotpEnrolment {
    /// Base32 secret for manual entry; shown only now.
    pub secret: String,
    /// `otpauth://` URL for a QR code.
    pub otpauth_url: String,
}

/// Starts TOTP enrolment (again, if never confirmed): returns a new secret to scan.
#[utoipa::path(post, path = "/api/v1/me/totp", tag = "accounts", security(("bearer" = [])),
    responses((status = 201, body = TotpEnrolment), (status = 409, description = "`mfa_already_enabled`", body = Problem)))]
pub async fn start_totp(
    State(state): State<AppState>,
    current: CurrentSession,
) -> Result<(StatusCode, ApiJson<TotpEnrolment>), ApiError> {
    let secret = identity::totp::TotpSecret::generate();
    if !state
        .db
        .start_totp(
            &current.user.id,
            &secret.seal(&state.settings.secret_key, &current.user.id),
        )
        .await?
    {
        return Err(ApiError::new(crate::error::Reason::MfaAlreadyEnabled));
    }
    Ok((
        StatusCode::CREATED,
        ApiJson(TotpEnrolment {
            secret: secret.to_base32(),
            otpauth_url: secret.otpauth_url(current.user.email.as_str()),
        }),
    ))
}

#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmTotp {
    /// The current 6-digit code from the authenticator app.
    pub otp: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCodes {
    /// Ten single-use codes for when the device is lost; shown only now.
    pub recovery_codes: Vec<String>,
}

/// Confirms TOTP with a first code; from now on log-ins need `otp`.
#[utoipa::path(post, path = "/api/v1/me/totp/confirm", tag = "accounts", security(("bearer" = [])),
    request_body = ConfirmTotp,
    responses(
        (status = 200, body = RecoveryCodes),
        (status = 409, description = "`mfa_not_started` or `mfa_already_enabled`", body = Problem),
        (status = 422, description = "`invalid_otp`", body = Problem),
    ))]
pub async fn confirm_totp(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    current: CurrentSession,
    ApiJson(body): ApiJson<ConfirmTotp>,
) -> Result<ApiJson<RecoveryCodes>, ApiError> {
    use crate::error::Reason;
    let user_id = current.user.id.as_str();
    let factor = state
        .db
        .totp_factor(user_id)
        .await?
        .ok_or_else(|| ApiError::new(Reason::MfaNotStarted))?;
    if factor.confirmed {
        return Err(ApiError::new(Reason::MfaAlreadyEnabled));
    }
    let secret = state.settings.totp_secret(user_id, &factor.secret_base32)?;
    let last = u64::try_from(factor.last_used_step).unwrap_or(0);
    let step = secret
        .verify(&body.otp, crate::api::sessions::now_s(), last)
        .ok_or_else(|| ApiError::new(Reason::InvalidOtp))?;
    let codes = identity::totp::generate_recovery_codes();
    let hashes: Vec<String> = codes
        .iter()
        .map(|c| identity::totp::recovery_code_hash(user_id, c))
        .collect();
    if !state
        .db
        .confirm_totp(user_id, i64::try_from(step).unwrap_or(i64::MAX), &hashes)
        .await?
    {
        return Err(ApiError::new(Reason::InvalidOtp));
    }
    state
        .db
        .record_security_event(user_id, "mfa_enabled", &origin, r#"{"factor":"totp"}"#)
        .await?;
    let mail = crate::mail::mfa_enabled(&state.settings, &current.user, &origin, store::now_ms());
    state.db.enqueue_mail(&mail).await?;
    // A second-factor change is a security change: withdrawals wait a day, so that whoever
    // took over an account cannot enrol their own device and empty it at once.
    let until = store::now_ms() + state.settings.withdrawal_lock_ms;
    state.db.lock_withdrawals_until(user_id, until).await?;
    Ok(ApiJson(RecoveryCodes {
        recovery_codes: codes,
    }))
}
