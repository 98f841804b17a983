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
        .route("/api/v1/me/sessions", get(sessions))
        .route("/api/v1/me/sessions/{id}", delete(end_session))
        .route("/api/v1/me/freeze", post(freeze))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub id: String,
    pub email: String,
    /// `user`, `merchant`, `agent`, `supervisor` or `admin`.
    pub roles: Vec<String>,
    pub locale: String,
    pub mfa_enabled: bool,
    pub frozen: bool,
}

/// The caller's profile.
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = Me), (status = 401, description = "`unauthorized`", body = Problem)))]
pub async fn me(current: CurrentSession) -> ApiJson<Me> {
    let user = current.user;
    ApiJson(Me {
        id: user.id,
        email: user.email.to_string(),
        roles: vec![user.role.as_str().to_owned()],
        locale: user.locale,
        mfa_enabled: false,
        frozen: user.frozen_at_ms.is_some(),
    })
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
    state.db.freeze_user(&current.user.id, "frozen").await?;
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
