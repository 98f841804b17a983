//! Passkeys: adding and removing them (`/api/v1/me/passkeys…`, session and fresh step-up), the
//! public challenge (`POST /api/v1/passkey-challenges`) and passwordless sign-in
//! (`POST /api/v1/passkey-sessions`). The same challenge also answers the second factor of a
//! password log-in and a step-up ([`check_assertion`], used by `sessions` and `security`).
//!
//! Ceremony state lives in the database, not in this process, because the browser's answer may
//! reach another node; each ceremony works once. Public routes: the challenge and the sign-in,
//! both throttled per address like log-in. Failed answers count against the address, and
//! against the account as soon as the credential names one; a locked account stays locked. This
//! module never logs a credential, a challenge or a token.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, post};
use axum::Router;
use identity::lockout::Policy;
use identity::passkey::{self, PasskeyError, Purpose, RelyingParty, CEREMONY_TTL_MS};
use serde::{Deserialize, Serialize};
use store::passkeys::{Ceremony, StoredPasskey};
use store::sessions::Origin;
use utoipa::ToSchema;

use crate::api::sessions::{failed_attempt, rfc3339, start_session, NewSession, SessionKind};
use crate::auth::{CurrentSession, RequestOrigin, SteppedUp};
use crate::error::{ApiError, Problem, Reason};
use crate::json::ApiJson;
use crate::{AppState, Settings};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/me/passkeys/registrations",
            post(start_registration),
        )
        .route("/api/v1/me/passkeys", post(finish_registration).get(list))
        .route("/api/v1/me/passkeys/{id}", delete(remove))
        .route("/api/v1/passkey-challenges", post(challenge))
        .route("/api/v1/passkey-sessions", post(sign_in))
}

/// The relying party for the configured public address, built once per address and shared by
/// every request (several test servers in one process may have different addresses).
pub fn relying_party(settings: &Settings) -> Result<Arc<RelyingParty>, ApiError> {
    static BUILT: OnceLock<Mutex<HashMap<String, Arc<RelyingParty>>>> = OnceLock::new();
    let mut built = BUILT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(rp) = built.get(&settings.public_url) {
        return Ok(rp.clone());
    }
    match RelyingParty::from_public_url(&settings.public_url) {
        Ok(rp) => {
            let rp = Arc::new(rp);
            built.insert(settings.public_url.clone(), rp.clone());
            Ok(rp)
        }
        Err(error) => {
            tracing::warn!(%error, "passkeys are unavailable");
            Err(ApiError::new(Reason::PasskeysUnavailable))
        }
    }
}

/// A challenge for the browser: pass `options` to `navigator.credentials.create()` or `.get()`
/// (after decoding its base64url fields), then send the result back with `ceremony_id`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CeremonyStarted {
    /// Names this challenge; it can be answered once, within 5 minutes.
    pub ceremony_id: String,
    /// `{"publicKey": {…}}`: PublicKeyCredentialCreationOptions or
    /// PublicKeyCredentialRequestOptions with binary fields as base64url strings.
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
}

/// The answer to a passkey challenge: the result of `navigator.credentials.get()` as JSON.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeyAssertion {
    /// From `POST /api/v1/passkey-challenges`.
    pub ceremony_id: String,
    /// `{id, rawId, type, response: {authenticatorData, clientDataJSON, signature, userHandle},
    /// clientExtensionResults}`, binary fields as base64url strings.
    #[schema(value_type = Object)]
    pub credential: passkey::PublicKeyCredential,
}

/// Starts a ceremony and keeps its state for five minutes.
async fn keep_ceremony(
    state: &AppState,
    user_id: Option<&str>,
    purpose: Purpose,
    started: passkey::Started,
) -> Result<CeremonyStarted, ApiError> {
    let ceremony_id = state
        .db
        .create_ceremony(
            user_id,
            purpose.as_str(),
            &started.state_json,
            store::now_ms() + CEREMONY_TTL_MS,
        )
        .await?;
    Ok(CeremonyStarted {
        ceremony_id,
        options: started.options,
    })
}

/// Takes a ceremony out of the database: gone or expired ceremonies are the caller's problem.
async fn take_ceremony(
    state: &AppState,
    ceremony_id: &str,
    purpose: Purpose,
    user_id: Option<&str>,
) -> Result<Result<Ceremony, Reason>, ApiError> {
    let Some(ceremony) = state
        .db
        .take_ceremony(ceremony_id, purpose.as_str(), user_id)
        .await?
    else {
        return Ok(Err(Reason::CeremonyNotFound));
    };
    if ceremony.expires_at_ms <= store::now_ms() {
        return Ok(Err(Reason::CeremonyExpired));
    }
    Ok(Ok(ceremony))
}

/// Counts a failed passkey answer — against the account when one is known, else against the
/// address only — and says what to answer.
async fn refuse(
    state: &AppState,
    origin: &Origin,
    user_id: Option<&str>,
    kind: &str,
    answer: Reason,
) -> Result<ApiError, ApiError> {
    match user_id {
        Some(user_id) => failed_attempt(state, user_id, origin, kind, answer).await,
        None => {
            state
                .db
                .register_login_failure(&format!("ip:{}", origin.ip), &Policy::IP)
                .await?;
            Ok(ApiError::new(answer))
        }
    }
}

/// Checks a passkey answer and spends its ceremony; answers the passkey that signed it.
///
/// With `expected_user` (a password log-in's second factor, a step-up) the passkey must be that
/// user's, and failures count against that account. Without it (passwordless sign-in) the
/// passkey names the account; failures count against the address until it does, and a locked
/// account is refused before its passkey is even checked. `failure_kind` is the security-log
/// entry a failure leaves.
pub(crate) async fn check_assertion(
    state: &AppState,
    origin: &Origin,
    assertion: &PasskeyAssertion,
    expected_user: Option<&str>,
    failure_kind: &str,
) -> Result<StoredPasskey, ApiError> {
    let rp = relying_party(&state.settings)?;
    let ceremony =
        match take_ceremony(state, &assertion.ceremony_id, Purpose::Authentication, None).await? {
            Ok(ceremony) => ceremony,
            Err(reason) => {
                return Err(refuse(state, origin, expected_user, failure_kind, reason).await?)
            }
        };
    let credential_id = passkey::credential_id_of(&assertion.credential);
    let stored = state
        .db
        .passkey_by_credential_id(&credential_id)
        .await?
        .filter(|p| expected_user.is_none_or(|user| user == p.user_id));
    let Some(stored) = stored else {
        return Err(refuse(
            state,
            origin,
            expected_user,
            failure_kind,
            Reason::InvalidPasskey,
        )
        .await?);
    };
    if expected_user.is_none() {
        let account_key = format!("account:{}", stored.user_id);
        if let Some(wait) = state.db.throttle_locked_for_s(&account_key).await? {
            return Err(ApiError::new(Reason::AccountLocked {
                retry_after_s: wait,
            }));
        }
    }
    let owner = Some(stored.user_id.as_str());
    let used = match rp.finish_authentication(
        &ceremony.state_json,
        &assertion.credential,
        &stored.user_id,
        &stored.passkey_json,
    ) {
        Ok(used) => used,
        Err(error) if error.is_callers() => {
            tracing::info!(%error, passkey = %stored.id, "passkey answer refused");
            if matches!(error, PasskeyError::PossibleClone) {
                let detail = serde_json::json!({ "passkey": stored.id, "name": stored.name });
                state
                    .db
                    .record_security_event(
                        &stored.user_id,
                        "passkey_possible_clone",
                        origin,
                        &detail.to_string(),
                    )
                    .await?;
            }
            return Err(refuse(state, origin, owner, failure_kind, Reason::InvalidPasskey).await?);
        }
        Err(error) => return Err(ApiError::internal(error)),
    };
    // Another answer signed by the same passkey may have been recorded since it was read; then
    // this one's counter is not known to be fresh, so it does not count.
    if !state
        .db
        .record_passkey_use(&stored.id, &stored.passkey_json, &used.passkey_json)
        .await?
    {
        return Err(refuse(state, origin, owner, failure_kind, Reason::InvalidPasskey).await?);
    }
    Ok(stored)
}

/// Starts adding a passkey to the caller's account. Needs a fresh step-up.
#[utoipa::path(post, path = "/api/v1/me/passkeys/registrations", tag = "security",
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Pass `options` to `navigator.credentials.create()`", body = CeremonyStarted),
        (status = 403, description = "`step_up_required`", body = Problem),
        (status = 503, description = "`passkeys_unavailable`: the public address is not a domain", body = Problem),
    ))]
pub async fn start_registration(
    State(state): State<AppState>,
    SteppedUp(current): SteppedUp,
) -> Result<(StatusCode, ApiJson<CeremonyStarted>), ApiError> {
    let rp = relying_party(&state.settings)?;
    let user = &current.user;
    let existing: Vec<String> = state
        .db
        .passkeys_for_user(&user.id)
        .await?
        .into_iter()
        .map(|p| p.passkey_json)
        .collect();
    let started = rp
        .start_registration(&user.id, user.email.as_str(), &existing)
        .map_err(ApiError::internal)?;
    let started = keep_ceremony(&state, Some(&user.id), Purpose::Registration, started).await?;
    Ok((StatusCode::CREATED, ApiJson(started)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPasskey {
    /// From `POST /api/v1/me/passkeys/registrations`.
    pub ceremony_id: String,
    /// The result of `navigator.credentials.create()` as JSON: `{id, rawId, type, response:
    /// {attestationObject, clientDataJSON, transports?}, clientExtensionResults}`, binary fields
    /// as base64url strings.
    #[schema(value_type = Object)]
    pub credential: passkey::RegisterPublicKeyCredential,
    /// 1 to 64 characters; "Passkey" when absent.
    pub name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyView {
    pub id: String,
    pub name: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339; null until first used.
    pub last_used_at: Option<String>,
}

impl From<StoredPasskey> for PasskeyView {
    fn from(p: StoredPasskey) -> PasskeyView {
        PasskeyView {
            id: p.id,
            name: p.name,
            created_at: rfc3339(p.created_at_ms),
            last_used_at: p.last_used_at_ms.map(rfc3339),
        }
    }
}

/// Finishes adding a passkey. A second-factor change: it is logged and locks withdrawals for a
/// while.
#[utoipa::path(post, path = "/api/v1/me/passkeys", tag = "security", security(("bearer" = [])),
    request_body = NewPasskey,
    responses(
        (status = 201, description = "Registered", body = PasskeyView),
        (status = 403, description = "`step_up_required`", body = Problem),
        (status = 409, description = "`passkey_already_registered`", body = Problem),
        (status = 410, description = "`ceremony_expired`", body = Problem),
        (status = 422, description = "`invalid_passkey`, `ceremony_not_found`, `invalid_passkey_name`", body = Problem),
    ))]
pub async fn finish_registration(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    SteppedUp(current): SteppedUp,
    ApiJson(body): ApiJson<NewPasskey>,
) -> Result<(StatusCode, ApiJson<PasskeyView>), ApiError> {
    let rp = relying_party(&state.settings)?;
    let user_id = current.user.id.as_str();
    // Checked before the ceremony is spent, so that a typo does not cost a new challenge.
    let name = passkey::parse_name(body.name.as_deref())
        .map_err(|_| ApiError::new(Reason::InvalidPasskeyName))?;
    let ceremony = take_ceremony(
        &state,
        &body.ceremony_id,
        Purpose::Registration,
        Some(user_id),
    )
    .await?
    .map_err(ApiError::new)?;
    let registered = match rp.finish_registration(&ceremony.state_json, &body.credential) {
        Ok(registered) => registered,
        Err(error) if error.is_callers() => {
            tracing::info!(%error, "passkey registration refused");
            return Err(ApiError::new(Reason::InvalidPasskey));
        }
        Err(error) => return Err(ApiError::internal(error)),
    };
    let stored = state
        .db
        .insert_passkey(
            user_id,
            &registered.credential_id,
            &registered.passkey_json,
            &name,
        )
        .await?
        .ok_or_else(|| ApiError::new(Reason::PasskeyAlreadyRegistered))?;
    let detail = serde_json::json!({ "passkey": stored.id, "name": stored.name });
    state
        .db
        .record_security_event(user_id, "passkey_added", &origin, &detail.to_string())
        .await?;
    // Like enrolling TOTP: whoever took over a session cannot add their own key and empty the
    // account at once.
    let until = store::now_ms() + state.settings.withdrawal_lock_ms;
    state.db.lock_withdrawals_until(user_id, until).await?;
    Ok((StatusCode::CREATED, ApiJson(stored.into())))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyList {
    pub items: Vec<PasskeyView>,
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

/// The caller's passkeys, oldest first.
#[utoipa::path(get, path = "/api/v1/me/passkeys", tag = "security", security(("bearer" = [])),
    responses((status = 200, body = PasskeyList), (status = 401, description = "`unauthorized`", body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    current: CurrentSession,
) -> Result<ApiJson<PasskeyList>, ApiError> {
    let items = state
        .db
        .passkeys_for_user(&current.user.id)
        .await?
        .into_iter()
        .map(PasskeyView::from)
        .collect();
    Ok(ApiJson(PasskeyList {
        items,
        next_cursor: None,
    }))
}

/// Removes one of the caller's passkeys. Needs a fresh step-up; a second-factor change.
#[utoipa::path(delete, path = "/api/v1/me/passkeys/{id}", tag = "security", security(("bearer" = [])),
    params(("id" = String, Path, description = "A passkey id from the list")),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "`step_up_required`", body = Problem),
        (status = 404, description = "`not_found`: no such passkey of yours", body = Problem),
    ))]
pub async fn remove(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    SteppedUp(current): SteppedUp,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let user_id = current.user.id.as_str();
    if !state.db.delete_passkey(user_id, &id).await? {
        return Err(ApiError::not_found());
    }
    let detail = serde_json::json!({ "passkey": id });
    state
        .db
        .record_security_event(user_id, "passkey_removed", &origin, &detail.to_string())
        .await?;
    let until = store::now_ms() + state.settings.withdrawal_lock_ms;
    state.db.lock_withdrawals_until(user_id, until).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A challenge any of this site's passkeys can answer (discoverable credentials, user
/// verification required): for passwordless sign-in, the second factor of a password log-in,
/// and step-up.
#[utoipa::path(post, path = "/api/v1/passkey-challenges", tag = "accounts",
    responses(
        (status = 201, description = "Pass `options` to `navigator.credentials.get()`", body = CeremonyStarted),
        (status = 429, description = "`too_many_requests` from this address", body = Problem),
        (status = 503, description = "`passkeys_unavailable`", body = Problem),
    ))]
pub async fn challenge(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
) -> Result<(StatusCode, ApiJson<CeremonyStarted>), ApiError> {
    if let Some(wait) = state
        .db
        .throttle_locked_for_s(&format!("ip:{}", origin.ip))
        .await?
    {
        return Err(ApiError::too_many_requests(wait));
    }
    // Every challenge is a row kept for five minutes, so handing them out is throttled too:
    // each one counts as an "attempt" under its own key and policy.
    let key = format!("passkey-challenge-ip:{}", origin.ip);
    if let Some(wait) = state.db.throttle_locked_for_s(&key).await? {
        return Err(ApiError::too_many_requests(wait));
    }
    state
        .db
        .register_login_failure(&key, &Policy::PASSKEY_CHALLENGES)
        .await?;
    let started = relying_party(&state.settings)?
        .start_authentication()
        .map_err(ApiError::internal)?;
    let started = keep_ceremony(&state, None, Purpose::Authentication, started).await?;
    Ok((StatusCode::CREATED, ApiJson(started)))
}

/// Signs in with a passkey alone: user verification on the authenticator makes it two factors.
#[utoipa::path(post, path = "/api/v1/passkey-sessions", tag = "accounts",
    request_body = PasskeyAssertion,
    responses(
        (status = 201, description = "Signed in", body = NewSession),
        (status = 410, description = "`ceremony_expired`", body = Problem),
        (status = 422, description = "`invalid_passkey` or `ceremony_not_found`", body = Problem),
        (status = 423, description = "`account_locked`, with `retry_after_s`", body = Problem),
        (status = 429, description = "`too_many_requests` from this address", body = Problem),
    ))]
pub async fn sign_in(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    ApiJson(body): ApiJson<PasskeyAssertion>,
) -> Result<(StatusCode, ApiJson<NewSession>), ApiError> {
    if let Some(wait) = state
        .db
        .throttle_locked_for_s(&format!("ip:{}", origin.ip))
        .await?
    {
        return Err(ApiError::too_many_requests(wait));
    }
    let passkey = check_assertion(&state, &origin, &body, None, "login_failed").await?;
    state
        .db
        .register_login_success(&format!("account:{}", passkey.user_id))
        .await?;
    let started = start_session(&state, &passkey.user_id, &origin, SessionKind::Api).await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(NewSession {
            token: started.token,
            expires_at: rfc3339(started.session.expires_at_ms),
        }),
    ))
}
