//! The security centre's API: step-up, unfreeze with a cooling-off period, the anti-phishing
//! code, and the security log. Every route needs a session; changing the anti-phishing code
//! needs a fresh step-up too.

use axum::extract::{Query, State};
use axum::routing::{get, post, put};
use axum::Router;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::passkeys::{check_assertion, PasskeyAssertion};
use crate::api::sessions::{failed_attempt, rfc3339, second_factor_ok};
use crate::auth::{CurrentSession, RequestOrigin, SteppedUp, STEP_UP_TTL_MS};
use crate::error::{ApiError, Problem, Reason};
use crate::json::ApiJson;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/me/step-up", post(step_up))
        .route("/api/v1/me/unfreeze", post(unfreeze))
        .route("/api/v1/me/anti-phishing-code", put(set_anti_phishing_code))
        .route("/api/v1/me/security-events", get(security_events))
}

/// Proof of identity: the second factor when the account has one (TOTP or a passkey), else the
/// password.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Proof {
    pub password: Option<String>,
    /// A TOTP code or a recovery code.
    pub otp: Option<String>,
    /// Instead of `otp`: an answer to `POST /api/v1/passkey-challenges` signed by one of the
    /// caller's passkeys. When present, `otp` is not looked at.
    pub passkey: Option<PasskeyAssertion>,
}

/// Checks `proof`; wrong answers count towards the account's lockout like failed log-ins.
async fn check_proof(
    state: &AppState,
    current: &CurrentSession,
    proof: Proof,
    password_always: bool,
    origin: &store::sessions::Origin,
) -> Result<(), ApiError> {
    let user = &current.user;
    let account_key = format!("account:{}", user.id);
    if let Some(wait) = state.db.throttle_locked_for_s(&account_key).await? {
        return Err(ApiError::new(Reason::AccountLocked {
            retry_after_s: wait,
        }));
    }
    let factor = state
        .db
        .totp_factor(&user.id)
        .await?
        .filter(|f| f.confirmed);
    let has_passkeys = state.db.passkey_count(&user.id).await? > 0;
    let mut ok = true;
    let mut missing = None;
    if password_always || (factor.is_none() && !has_passkeys) {
        match proof.password {
            Some(password) => {
                let hash = user.password_hash.clone();
                ok &= tokio::task::spawn_blocking(move || {
                    identity::verify_password(&password, &hash)
                })
                .await
                .map_err(ApiError::internal)?;
            }
            None => missing = Some(Reason::InvalidCredentials),
        }
    }
    // The second factor is checked only after a right password, so that a wrong password does
    // not spend a code or a passkey challenge.
    if let Some(assertion) = &proof.passkey {
        if missing.is_none() && ok {
            // Counts and logs its own failures, like a wrong code below.
            check_assertion(
                state,
                origin,
                assertion,
                Some(&user.id),
                "verification_failed",
            )
            .await?;
        }
    } else if let Some(factor) = &factor {
        match proof.otp.as_deref().filter(|o| !o.trim().is_empty()) {
            Some(otp) if ok => ok &= second_factor_ok(state, &user.id, factor, otp, origin).await?,
            Some(_) => {}
            None => missing = missing.or(Some(Reason::MfaRequired)),
        }
    } else if has_passkeys {
        missing = missing.or(Some(Reason::MfaRequired));
    }
    if let Some(reason) = missing {
        return Err(ApiError::new(reason));
    }
    if !ok {
        let answer = if proof.passkey.is_some() {
            Reason::InvalidPasskey
        } else if factor.is_some() {
            Reason::InvalidOtp
        } else {
            Reason::InvalidCredentials
        };
        return Err(failed_attempt(state, &user.id, origin, "verification_failed", answer).await?);
    }
    Ok(())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SteppedUpUntil {
    /// Sensitive actions are allowed on this session until then (RFC 3339).
    pub stepped_up_until: String,
}

/// Proves a fresh second factor (or the password, for accounts without one) on this session.
#[utoipa::path(post, path = "/api/v1/me/step-up", tag = "security", security(("bearer" = [])),
    request_body = Proof,
    responses(
        (status = 200, body = SteppedUpUntil),
        (status = 401, description = "`mfa_required` or `invalid_credentials`", body = Problem),
        (status = 422, description = "`invalid_otp`", body = Problem),
        (status = 423, description = "`account_locked`", body = Problem),
    ))]
pub async fn step_up(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    current: CurrentSession,
    ApiJson(proof): ApiJson<Proof>,
) -> Result<ApiJson<SteppedUpUntil>, ApiError> {
    check_proof(&state, &current, proof, false, &origin).await?;
    let at = state.db.mark_stepped_up(&current.session.id).await?;
    state
        .db
        .record_security_event(&current.user.id, "step_up", &origin, "{}")
        .await?;
    Ok(ApiJson(SteppedUpUntil {
        stepped_up_until: rfc3339(at + STEP_UP_TTL_MS),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnfreezeScheduled {
    /// When the account is usable again (RFC 3339); freezing again before then cancels it.
    pub unfreeze_at: String,
}

/// Asks to unfreeze: needs the password and the second factor, and takes effect after 24 hours.
#[utoipa::path(post, path = "/api/v1/me/unfreeze", tag = "security", security(("bearer" = [])),
    request_body = Proof,
    responses(
        (status = 200, body = UnfreezeScheduled),
        (status = 409, description = "`not_frozen`", body = Problem),
    ))]
pub async fn unfreeze(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    current: CurrentSession,
    ApiJson(proof): ApiJson<Proof>,
) -> Result<ApiJson<UnfreezeScheduled>, ApiError> {
    if !current.user.is_frozen(store::now_ms()) || current.user.unfreeze_at_ms.is_some() {
        return Err(ApiError::new(Reason::NotFrozen));
    }
    check_proof(&state, &current, proof, true, &origin).await?;
    // The unfreeze waits (24 h by default), so that someone who stole the password and the
    // second factor cannot undo the owner's freeze at once.
    let at = store::now_ms() + state.settings.unfreeze_cooling_off_ms;
    let mail = crate::mail::unfreeze_scheduled(&state.settings, &current.user, at);
    if !state
        .db
        .schedule_unfreeze_and_notify(&current.user.id, at, Some(&mail))
        .await?
    {
        return Err(ApiError::new(Reason::NotFrozen));
    }
    let detail = format!(r#"{{"unfreeze_at_ms":{at}}}"#);
    state
        .db
        .record_security_event(&current.user.id, "unfreeze_requested", &origin, &detail)
        .await?;
    Ok(ApiJson(UnfreezeScheduled {
        unfreeze_at: rfc3339(at),
    }))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AntiPhishingCode {
    /// 4 to 20 letters (any script), digits, spaces, hyphens or underscores.
    pub code: String,
}

/// Whether `code` is acceptable: short, plain, and unable to carry a link.
pub fn anti_phishing_code_ok(code: &str) -> bool {
    let n = code.chars().count();
    let lower = code.to_lowercase();
    (4..=20).contains(&n)
        && code.trim() == code
        && code
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        && !lower.contains("http")
        && !lower.contains("www")
}

/// Sets the phrase every email and support message from us will show. Needs a fresh step-up.
#[utoipa::path(put, path = "/api/v1/me/anti-phishing-code", tag = "security", security(("bearer" = [])),
    request_body = AntiPhishingCode,
    responses(
        (status = 200, body = AntiPhishingCode),
        (status = 403, description = "`step_up_required`", body = Problem),
        (status = 422, description = "`invalid_anti_phishing_code`", body = Problem),
    ))]
pub async fn set_anti_phishing_code(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    SteppedUp(current): SteppedUp,
    ApiJson(body): ApiJson<AntiPhishingCode>,
) -> Result<ApiJson<AntiPhishingCode>, ApiError> {
    if !anti_phishing_code_ok(&body.code) {
        return Err(ApiError::new(Reason::InvalidAntiPhishingCode));
    }
    // The notice is written for the user as they are after the change, so it already opens
    // with the new code.
    let changed = store::users::User {
        anti_phishing_code: Some(body.code.clone()),
        ..current.user.clone()
    };
    let mail = crate::mail::anti_phishing_code_changed(
        &state.settings,
        &changed,
        &origin,
        store::now_ms(),
    );
    state
        .db
        .set_anti_phishing_code_and_notify(&current.user.id, &body.code, Some(&mail))
        .await?;
    state
        .db
        .record_security_event(&current.user.id, "anti_phishing_code_set", &origin, "{}")
        .await?;
    Ok(ApiJson(body))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct EventsQuery {
    /// At most this many, newest first (1–200, default 50).
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SecurityEventView {
    pub id: String,
    pub at: String,
    /// `login`, `login_failed`, `locked`, `mfa_enabled`, `mfa_failed`, `recovery_code_used`,
    /// `step_up`, `session_revoked`, `frozen`, `unfreeze_requested`, `anti_phishing_code_set`,
    /// `passkey_added`, `passkey_removed`, `passkey_possible_clone`, …
    pub kind: String,
    pub ip: String,
    pub user_agent: String,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SecurityEventList {
    pub items: Vec<SecurityEventView>,
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

/// The caller's security log, newest first.
#[utoipa::path(get, path = "/api/v1/me/security-events", tag = "security", security(("bearer" = [])),
    params(EventsQuery), responses((status = 200, body = SecurityEventList)))]
pub async fn security_events(
    State(state): State<AppState>,
    current: CurrentSession,
    Query(query): Query<EventsQuery>,
) -> Result<ApiJson<SecurityEventList>, ApiError> {
    let limit = query.limit.unwrap_or(50).clamp(1, 200);
    let items = state
        .db
        .security_events_for(&current.user.id, limit)
        .await?
        .into_iter()
        .map(|e| SecurityEventView {
            id: e.id,
            at: rfc3339(e.at_ms),
            kind: e.kind,
            ip: e.ip,
            user_agent: e.user_agent,
            detail: serde_json::from_str(&e.detail).unwrap_or(serde_json::Value::Null),
        })
        .collect();
    Ok(ApiJson(SecurityEventList {
        items,
        next_cursor: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::anti_phishing_code_ok;

    #[test]
    fn anti_phishing_codes_are_plain_words() {
        for ok in ["blue-fox 42", "小狐狸蓝色", "okw_2026"] {
            assert!(anti_phishing_code_ok(ok), "{ok}");
        }
        for bad in [
            "abc",
            "https://x.io",
            "www example",
            "a@b.com",
            " padded ",
            "x".repeat(21).as_str(),
            "<b>bold</b>",
        ] {
            assert!(!anti_phishing_code_ok(bad), "{bad}");
        }
    }
}
