//! Who is calling: the bearer-token extractor every protected route takes, and the request's
//! origin (address and user agent) recorded with sessions and security events.
//!
//! Deny by default: a handler that does not take [`CurrentSession`] is public, and every public
//! route is listed as such in its module's docs. This module never sees a token's value after
//! hashing it, and never logs it.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::{AUTHORIZATION, USER_AGENT};
use axum::http::request::Parts;
use identity::token::{token_hash, Token};
use store::sessions::{Origin, Session};
use store::users::User;

use crate::error::{ApiError, Reason};
use crate::AppState;

/// The live session the request's bearer token belongs to, and its user.
#[derive(Clone, Debug)]
pub struct CurrentSession {
    pub session: Session,
    pub user: User,
}

impl FromRequestParts<AppState> for CurrentSession {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .and_then(|v| Token::parse(v.trim()))
            .ok_or_else(|| ApiError::new(Reason::Unauthorized))?;
        let (session, user) = state
            .db
            .session_by_token_hash(&token_hash(token.as_str()))
            .await?
            // A browser's cookie session or a half-finished log-in is not an API token: the
            // API takes no cookies, so it needs no CSRF defence.
            .filter(|(session, _)| session.kind == "api")
            .ok_or_else(|| ApiError::new(Reason::Unauthorized))?;
        Ok(CurrentSession { session, user })
    }
}

/// The peer address (when the server was started with connection info) and the user agent.
pub fn origin(parts: &Parts) -> Origin {
    let ip = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(
            || "unknown".to_owned(),
            |ConnectInfo(addr)| addr.ip().to_string(),
        );
    let user_agent = parts
        .headers
        .get(USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    Origin { ip, user_agent }
}

/// [`origin`] as an extractor.
pub struct RequestOrigin(pub Origin);

impl<S: Send + Sync> FromRequestParts<S> for RequestOrigin {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(RequestOrigin(origin(parts)))
    }
}

/// How long a step-up stays fresh.
pub const STEP_UP_TTL_MS: i64 = 10 * 60 * 1000;

/// The reusable guard for sensitive actions (new withdrawal addresses, security changes, …): a
/// session that proved a fresh second factor within [`STEP_UP_TTL_MS`]; otherwise 403
/// `step_up_required`.
pub struct SteppedUp(pub CurrentSession);

impl FromRequestParts<AppState> for SteppedUp {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let current = CurrentSession::from_request_parts(parts, state).await?;
        let fresh = current
            .session
            .stepped_up_at_ms
            .is_some_and(|at| store::now_ms().saturating_sub(at) < STEP_UP_TTL_MS);
        if fresh {
            Ok(SteppedUp(current))
        } else {
            Err(ApiError::new(Reason::StepUpRequired))
        }
    }
}
