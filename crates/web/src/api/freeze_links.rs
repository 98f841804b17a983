//! `POST /api/v1/freeze-links`: the one-click freeze from a mail. Public: the link's token is the
//! proof. It freezes exactly like `POST /api/v1/me/freeze` — every session revoked, money
//! movement blocked, any unfreeze in progress cancelled — and works once.
//!
//! Only a POST acts. The page the link opens asks the person to press a button, because mail
//! scanners and link previews fetch links with GET before anyone reads the mail.

use axum::extract::State;
use axum::routing::post;
use axum::Router;
use store::email_tokens::{Purpose, TokenState};

use crate::api::email_verifications::LinkTokenBody;
use crate::api::me::Frozen;
use crate::auth::RequestOrigin;
use crate::error::{ApiError, Problem, Reason};
use crate::json::ApiJson;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/freeze-links", post(freeze_by_link))
}

/// Freezes the account a freeze link (from a sign-in or security notice) was sent for.
#[utoipa::path(post, path = "/api/v1/freeze-links", tag = "mail", request_body = LinkTokenBody,
    responses(
        (status = 200, body = Frozen),
        (status = 400, description = "`invalid_token`", body = Problem),
        (status = 410, description = "`expired_token`: used or expired", body = Problem),
    ))]
pub async fn freeze_by_link(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    ApiJson(body): ApiJson<LinkTokenBody>,
) -> Result<ApiJson<Frozen>, ApiError> {
    let hash = body.hash()?;
    let user_id = match state.db.email_token_state(&hash, Purpose::Freeze).await? {
        TokenState::Valid { user_id } => user_id,
        TokenState::Unknown => return Err(ApiError::new(Reason::InvalidToken)),
        TokenState::Used | TokenState::Expired => return Err(ApiError::new(Reason::ExpiredToken)),
    };
    let user = state
        .db
        .user_by_id(&user_id)
        .await?
        .ok_or_else(|| ApiError::new(Reason::InvalidToken))?;
    let mail = crate::mail::frozen(&state.settings, &user, &origin, store::now_ms());
    if state
        .db
        .freeze_with_token(&hash, &user.id, &origin, &mail)
        .await?
        .is_none()
    {
        return Err(ApiError::new(Reason::ExpiredToken));
    }
    let subject = format!("user:{}", user.id);
    state
        .db
        .audit(&subject, "user.freeze", &subject, r#"{"by":"email_link"}"#)
        .await?;
    Ok(ApiJson(Frozen { frozen: true }))
}
