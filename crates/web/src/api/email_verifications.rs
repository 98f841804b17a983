//! Proving an email address: `POST /api/v1/email-verifications` (public: the token from the mail
//! is the proof) and `POST /api/v1/me/email-verification` (a new mail, for the signed-in owner).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use identity::token::{token_hash, Token};
use serde::{Deserialize, Serialize};
use store::email_tokens::{Purpose, TokenState};
use utoipa::ToSchema;

use crate::auth::{CurrentSession, RequestOrigin};
use crate::error::{ApiError, Problem, Reason};
use crate::json::ApiJson;
use crate::AppState;

/// At most one verification mail a minute per address: anyone signed in could otherwise make
/// us send a mail per request.
pub const RESEND_INTERVAL_MS: i64 = 60 * 1000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/email-verifications", post(verify))
        .route("/api/v1/me/email-verification", post(resend))
}

/// A single-use token from a link in one of our mails.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkTokenBody {
    /// The `token` parameter of the link (`okw_…`).
    pub token: String,
}

impl LinkTokenBody {
    /// The token's hash, or `invalid_token` for anything that is not a token's shape.
    pub fn hash(&self) -> Result<String, ApiError> {
        Token::parse(self.token.trim())
            .map(|t| token_hash(t.as_str()))
            .ok_or_else(|| ApiError::new(Reason::InvalidToken))
    }
}

/// Why a token could not be spent, as the client should hear it.
pub async fn token_refusal(
    state: &AppState,
    hash: &str,
    purpose: Purpose,
) -> Result<ApiError, ApiError> {
    Ok(match state.db.email_token_state(hash, purpose).await? {
        TokenState::Unknown => ApiError::new(Reason::InvalidToken),
        TokenState::Used | TokenState::Expired | TokenState::Valid { .. } => {
            ApiError::new(Reason::ExpiredToken)
        }
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EmailVerified {
    pub email_verified: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MailAccepted {
    /// Always true: the mail is queued (or, where saying more would reveal who has an account,
    /// the request was taken).
    pub accepted: bool,
}

/// Verifies the address a verification link was sent to. The link works once.
#[utoipa::path(post, path = "/api/v1/email-verifications", tag = "mail",
    request_body = LinkTokenBody,
    responses(
        (status = 200, body = EmailVerified),
        (status = 400, description = "`invalid_token`", body = Problem),
        (status = 410, description = "`expired_token`: used or expired", body = Problem),
    ))]
pub async fn verify(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    ApiJson(body): ApiJson<LinkTokenBody>,
) -> Result<ApiJson<EmailVerified>, ApiError> {
    let hash = body.hash()?;
    if state
        .db
        .verify_email_with_token(&hash, &origin)
        .await?
        .is_none()
    {
        return Err(token_refusal(&state, &hash, Purpose::VerifyEmail).await?);
    }
    Ok(ApiJson(EmailVerified {
        email_verified: true,
    }))
}

/// Sends a new verification mail to the caller's address; at most one a minute.
#[utoipa::path(post, path = "/api/v1/me/email-verification", tag = "mail", security(("bearer" = [])),
    responses(
        (status = 202, body = MailAccepted),
        (status = 409, description = "`email_already_verified`", body = Problem),
        (status = 429, description = "`too_many_requests`, with `Retry-After`", body = Problem),
    ))]
pub async fn resend(
    State(state): State<AppState>,
    current: CurrentSession,
) -> Result<(StatusCode, ApiJson<MailAccepted>), ApiError> {
    let user = &current.user;
    if user.email_verified_at_ms.is_some() {
        return Err(ApiError::new(Reason::EmailAlreadyVerified));
    }
    let now = store::now_ms();
    let (_, newest) = state
        .db
        .mail_sent_since(
            user.email.as_str(),
            "verify_email",
            now - RESEND_INTERVAL_MS,
        )
        .await?;
    if let Some(at) = newest {
        let wait_ms = (at + RESEND_INTERVAL_MS - now).max(1000);
        let wait_s = u64::try_from(wait_ms).unwrap_or(60).div_ceil(1000);
        return Err(ApiError::too_many_requests(wait_s));
    }
    let mail = crate::mail::verify_email(&state.settings, user);
    state.db.enqueue_mail(&mail).await?;
    Ok((
        StatusCode::ACCEPTED,
        ApiJson(MailAccepted { accepted: true }),
    ))
}
