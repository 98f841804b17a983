//! Password reset by email. Both routes are public.
//!
//! `POST /api/v1/password-resets` answers the same 202 whether or not the address has an
//! account, and does the looking up and queueing after answering, so that neither the body nor
//! the time taken tells who has one. Requests are throttled per client address (429) and, for
//! addresses with an account, per address (silently: a 429 there would tell). The link works
//! once, for 30 minutes. `POST /api/v1/password-resets/confirm` spends it: with a confirmed
//! second factor the request also needs `otp`; on success every session is revoked, the
//! account's lockout is cleared, withdrawals pause, and the owner gets a notice.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use identity::lockout::Policy;
use identity::Email;
use serde::{Deserialize, Serialize};
use store::email_tokens::{PasswordReset, Purpose, TokenState};
use store::sessions::Origin;
use tracing::Instrument;
use utoipa::ToSchema;

use crate::api::email_verifications::{LinkTokenBody, MailAccepted};
use crate::api::sessions::second_factor_ok;
use crate::api::users::check_strength;
use crate::auth::RequestOrigin;
use crate::error::{ApiError, Problem, Reason};
use crate::json::ApiJson;
use crate::AppState;

/// Reset requests per client address: ten in 15 minutes, then 15 minutes of 429, growing to an
/// hour. Generous for people behind one address, useless for mailing strangers in bulk.
const REQUESTS_PER_IP: Policy = Policy {
    failures_before_lock: 10,
    window_s: 15 * 60,
    first_lock_s: 15 * 60,
    lock_growth: 2,
    lock_s_max: 3600,
    forgive_after_s: 24 * 3600,
};

/// Per address: a minute between reset mails, at most five an hour.
const PER_ADDRESS_INTERVAL_MS: i64 = 60 * 1000;
const PER_ADDRESS_HOURLY_MAX: i64 = 5;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/password-resets", post(request))
        .route("/api/v1/password-resets/confirm", post(confirm))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    #[schema(example = "alice@example.com")]
    pub email: String,
}

/// Asks for a reset link by mail. The answer is the same whether or not the address has an
/// account.
#[utoipa::path(post, path = "/api/v1/password-resets", tag = "mail", request_body = ResetRequest,
    responses(
        (status = 202, body = MailAccepted),
        (status = 422, description = "`invalid_email`", body = Problem),
        (status = 429, description = "`too_many_requests` from this address, with `Retry-After`", body = Problem),
    ))]
pub async fn request(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    ApiJson(body): ApiJson<ResetRequest>,
) -> Result<(StatusCode, ApiJson<MailAccepted>), ApiError> {
    let ip_key = format!("reset-ip:{}", origin.ip);
    if let Some(wait) = state.db.throttle_locked_for_s(&ip_key).await? {
        return Err(ApiError::too_many_requests(wait));
    }
    // Every request counts, answered or not: this throttle is about volume, not failure.
    state
        .db
        .register_login_failure(&ip_key, &REQUESTS_PER_IP)
        .await?;
    let email = Email::parse(&body.email).map_err(|_| ApiError::new(Reason::InvalidEmail))?;
    let task_state = state.clone();
    tokio::spawn(
        async move {
            if let Err(error) = send_reset_link(&task_state, &email, &origin).await {
                tracing::error!(
                    error = format!("{error:#}"),
                    "queueing a password reset mail failed"
                );
            }
        }
        .instrument(tracing::Span::current()),
    );
    Ok((
        StatusCode::ACCEPTED,
        ApiJson(MailAccepted { accepted: true }),
    ))
}

/// Queues a reset link for the account at `email`, if there is one and it has not had too many.
async fn send_reset_link(state: &AppState, email: &Email, origin: &Origin) -> anyhow::Result<()> {
    let Some(user) = state.db.user_by_email(email).await? else {
        return Ok(());
    };
    let now = store::now_ms();
    let (count, newest) = state
        .db
        .mail_sent_since(email.as_str(), "password_reset", now - 3600 * 1000)
        .await?;
    if count >= PER_ADDRESS_HOURLY_MAX
        || newest.is_some_and(|at| now - at < PER_ADDRESS_INTERVAL_MS)
    {
        tracing::info!("password reset mail skipped: too many for this address");
        return Ok(());
    }
    let mail = crate::mail::password_reset(&state.settings, &user, origin);
    state.db.enqueue_mail(&mail).await?;
    state
        .db
        .record_security_event(&user.id, "password_reset_requested", origin, "{}")
        .await?;
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmReset {
    /// The `token` parameter of the link in the mail.
    pub token: String,
    /// The new password: at least 10 characters and hard to guess.
    pub password: String,
    /// For accounts with a second factor: a TOTP code or a recovery code.
    pub otp: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResetDone {
    pub password_reset: bool,
}

/// Sets a new password with a reset link's token. Every session is signed out.
#[utoipa::path(post, path = "/api/v1/password-resets/confirm", tag = "mail", request_body = ConfirmReset,
    responses(
        (status = 200, body = ResetDone),
        (status = 400, description = "`invalid_token`", body = Problem),
        (status = 401, description = "`mfa_required`", body = Problem),
        (status = 410, description = "`expired_token`: used or expired", body = Problem),
        (status = 422, description = "`weak_password` or `invalid_otp`", body = Problem),
        (status = 429, description = "`too_many_requests`: too many wrong codes", body = Problem),
    ))]
pub async fn confirm(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    ApiJson(body): ApiJson<ConfirmReset>,
) -> Result<ApiJson<ResetDone>, ApiError> {
    let hash = LinkTokenBody {
        token: body.token.clone(),
    }
    .hash()?;
    let user_id = match state
        .db
        .email_token_state(&hash, Purpose::PasswordReset)
        .await?
    {
        TokenState::Valid { user_id } => user_id,
        TokenState::Unknown => return Err(ApiError::new(Reason::InvalidToken)),
        TokenState::Used | TokenState::Expired => return Err(ApiError::new(Reason::ExpiredToken)),
    };
    let user = state
        .db
        .user_by_id(&user_id)
        .await?
        .ok_or_else(|| ApiError::new(Reason::InvalidToken))?;
    // Checked before the second factor, so that a weak password does not spend a code.
    check_strength(&body.password, &user.email)?;
    if let Some(factor) = state
        .db
        .totp_factor(&user.id)
        .await?
        .filter(|f| f.confirmed)
    {
        let Some(otp) = body.otp.as_deref().filter(|o| !o.trim().is_empty()) else {
            return Err(ApiError::new(Reason::MfaRequired));
        };
        // Wrong codes here are throttled apart from log-ins: a reset must work while the
        // account is locked out, yet a stolen mailbox must not become a way to guess codes.
        let reset_key = format!("reset:{}", user.id);
        if let Some(wait) = state.db.throttle_locked_for_s(&reset_key).await? {
            return Err(ApiError::too_many_requests(wait));
        }
        if !second_factor_ok(&state, &user.id, &factor, otp, &origin).await? {
            state
                .db
                .register_login_failure(&reset_key, &Policy::ACCOUNT)
                .await?;
            state
                .db
                .register_login_failure(&format!("ip:{}", origin.ip), &Policy::IP)
                .await?;
            state
                .db
                .record_security_event(&user.id, "password_reset_mfa_failed", &origin, "{}")
                .await?;
            return Err(ApiError::new(Reason::InvalidOtp));
        }
    }
    let password = body.password;
    let password_hash = tokio::task::spawn_blocking(move || identity::hash_password(&password))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError::internal(anyhow::anyhow!("{e}")))?;
    let now = store::now_ms();
    let mail = crate::mail::password_changed(&state.settings, &user, &origin, now);
    let reset = PasswordReset {
        token_hash: &hash,
        user_id: &user.id,
        password_hash: &password_hash,
        withdrawals_locked_until_ms: now.saturating_add(state.settings.withdrawal_lock_ms),
        throttle_key: &format!("account:{}", user.id),
        origin: &origin,
        mail: &mail,
    };
    // Another request may have spent the token since it was looked at: then it is used.
    if !state.db.reset_password_with_token(&reset).await? {
        return Err(ApiError::new(Reason::ExpiredToken));
    }
    let subject = format!("user:{}", user.id);
    state
        .db
        .audit(&subject, "user.password_reset", &subject, "{}")
        .await?;
    Ok(ApiJson(ResetDone {
        password_reset: true,
    }))
}
