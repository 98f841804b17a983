//! `GET /api/v1/dev/mailbox`: the outbox as a mailbox, for the demo and for tests that read mail
//! without a mail server. Present only in demo mode (`AppState::demo`); otherwise it is
//! `not_found` like any other unknown address.
//!
//! It shows every user's mail, links included, to anyone who asks: that is why it exists only in
//! demo mode, which must never hold real users.

use axum::extract::{Query, State};
use axum::routing::get;
use axum::Router;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::sessions::rfc3339;
use crate::error::{ApiError, Problem};
use crate::json::ApiJson;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/dev/mailbox", get(mailbox))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct MailboxQuery {
    /// Only mail to this address.
    pub to: Option<String>,
    /// At most this many, newest first (1–200, default 50). Text, so that no query can be
    /// refused outside the problem format.
    pub limit: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MailView {
    pub id: String,
    pub to: String,
    /// `verify_email`, `password_reset`, `new_login`, `account_locked`, `password_changed`,
    /// `mfa_enabled`, `frozen`, `unfreeze_scheduled`, `anti_phishing_code_changed`,
    /// `signup_attempt_on_existing_address`.
    pub kind: String,
    pub locale: String,
    pub subject: String,
    /// Plain text.
    pub body: String,
    pub created_at: String,
    /// When it went out through SMTP; null while it waits (or when no SMTP server is set).
    pub sent_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Mailbox {
    pub items: Vec<MailView>,
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

/// Recent mail, newest first. Demo mode only.
#[utoipa::path(get, path = "/api/v1/dev/mailbox", tag = "mail", params(MailboxQuery),
    responses(
        (status = 200, body = Mailbox),
        (status = 404, description = "`not_found`: not in demo mode", body = Problem),
    ))]
pub async fn mailbox(
    State(state): State<AppState>,
    Query(query): Query<MailboxQuery>,
) -> Result<ApiJson<Mailbox>, ApiError> {
    if !state.demo {
        return Err(ApiError::not_found());
    }
    let to = query
        .to
        .map(|to| identity::Email::parse(&to).map_or(to, |email| email.as_str().to_owned()));
    let limit = query
        .limit
        .and_then(|l| l.trim().parse::<i64>().ok())
        .unwrap_or(50)
        .clamp(1, 200);
    let items = state
        .db
        .recent_mail(to.as_deref(), limit)
        .await?
        .into_iter()
        .map(|m| MailView {
            id: m.id,
            to: m.to_address,
            kind: m.kind,
            locale: m.locale,
            subject: m.subject,
            body: m.body_text,
            created_at: rfc3339(m.created_at_ms),
            sent_at: m.sent_at_ms.map(rfc3339),
        })
        .collect();
    Ok(ApiJson(Mailbox {
        items,
        next_cursor: None,
    }))
}
