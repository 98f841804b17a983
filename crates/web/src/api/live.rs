//! Live support that is not a conversation: mutual verification between a customer and an
//! agent, the PBX's call events (CTI) with the screen pop and the call log, blocked numbers, and
//! the customer's phone number the PBX's caller is looked up by.
//!
//! # Mutual verification
//! Fake "customer service" is how people lose wallets: somebody calls, claims to be support and
//! asks for a code. Here the direction is reversed and both sides are proven. An agent (in the
//! console, with a confirmed second factor) asks to verify a customer; only then does the
//! customer's signed-in app show a six-digit code and the agent's name and badge. The customer
//! reads the code out; the agent types it; five wrong codes fail the request, and an unused one
//! expires after ten minutes. Once verified, for the next thirty minutes the customer's app says
//! "you are talking with verified agent NAME (badge)". Somebody claiming to be us whose name
//! the app does not show is not us (the help center says so). The code proves that the person
//! on the line holds the signed-in account; the app's banner proves the agent is ours.
//!
//! # PBX events
//! `POST /api/v1/cti/events` takes the generic CTI format (see `helpdesk::cti`) as JSON or as a
//! form, signed with the shared secret (`[live] cti_secret`, `OKWALLET_CTI_SECRET`) like our
//! merchant webhooks: `Okwallet-Signature: t=<unix s>,v1=<hex HMAC-SHA-256 of "<t>.<body>">`,
//! `t` within five minutes of our clock. Without a configured secret the route does not exist
//! (404). Each event is stored once per call, event and time (its `timestamp` field, RFC 3339
//! or Unix seconds, else the signature's `t`), so a retry is harmless; the call is then folded
//! again from all its events, in time order. A `newCall` from a blocked number is answered
//! `{"action": "reject", "reason": "busy"}`, which PBX integrations for open-source help desks
//! already understand.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use helpdesk::cti::{self, Direction, EventKind};
use rand::Rng;
use serde::{Deserialize, Serialize};
use store::live::{BlockedNumber, CallFilter, CallRow, CodeOutcome, CtiEventRow, Verification};
use utoipa::{IntoParams, ToSchema};

use crate::api::help::{invalid, missing};
use crate::api::helpdesk::{require_supervisor, unaudited_context, CustomerContext};
use crate::api::sessions::rfc3339;
use crate::api::tickets::{audit_view, require_staff};
use crate::auth::{CurrentSession, RequestOrigin};
use crate::error::{ApiError, Reason, TicketRefusal};
use crate::json::{ApiJson, LimitedBody};
use crate::lang::Lang;
use crate::AppState;

/// How long a customer has to read a code out.
pub const VERIFICATION_EXPIRES_MS: i64 = 10 * 60 * 1000;
/// How long the customer's app says "verified agent" after a verification.
pub const VERIFICATION_VALID_MS: i64 = 30 * 60 * 1000;
/// How far a signed request's time may be from ours.
pub const SIGNATURE_TOLERANCE_S: i64 = 300;
/// The signature header on PBX events (the same scheme as our merchant webhooks).
pub const SIGNATURE_HEADER: &str = "Okwallet-Signature";
const CTI_BODY_BYTES_MAX: usize = 16 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/verifications", post(start_verification))
        .route(
            "/api/v1/verifications/{id}",
            get(one_verification).delete(cancel_verification),
        )
        .route("/api/v1/verifications/{id}/code", post(type_code))
        .route("/api/v1/me/verifications", get(my_verifications))
        .route("/api/v1/me/phone", put(put_phone).get(get_phone))
        .route("/api/v1/cti/events", post(cti_event))
        .route("/api/v1/cti/calls", get(list_calls))
        .route("/api/v1/cti/calls/{id}/called-back", post(called_back))
        .route("/api/v1/cti/screen-pops", get(screen_pops))
        .route("/api/v1/admin/blocked-numbers", get(list_blocked))
        .route(
            "/api/v1/admin/blocked-numbers/{number}",
            put(block).delete(unblock),
        )
}

// --- mutual verification ---------------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartVerification {
    /// The ticket whose requester is to verify (or give `customer_id`).
    pub ticket_id: Option<String>,
    pub customer_id: Option<String>,
    /// The PBX call this happens on, if any.
    pub call_id: Option<String>,
}

/// A verification request as the agent sees it: never the code.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerificationView {
    pub id: String,
    pub customer_id: String,
    /// pending, verified, failed, cancelled, expired.
    pub state: String,
    pub attempts_left: i64,
    pub context: String,
    pub created_at: String,
    pub expires_at: String,
    pub verified_at: Option<String>,
    pub valid_until: Option<String>,
}

/// Who the customer is talking with.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentBadge {
    /// The name the agent answers under.
    pub name: String,
    /// The agent's ID ("A1001").
    pub badge: String,
}

/// A verification request as the customer sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct MyVerification {
    pub id: String,
    /// pending (read `code` out to the agent) or verified.
    pub state: String,
    /// Only while pending.
    pub code: Option<String>,
    pub agent: AgentBadge,
    pub expires_at: String,
    pub verified_at: Option<String>,
    pub valid_until: Option<String>,
    /// For the pages: until when the box means something (the code's expiry, or the end of
    /// the verified half hour).
    #[serde(skip)]
    pub shown_until_ms: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MyVerifications {
    pub items: Vec<MyVerification>,
}

/// The state a request is in at `now` (a pending one past its time is `expired`).
pub fn verification_state(v: &Verification, now_ms: i64) -> &str {
    if v.state == "pending" && v.expires_at_ms <= now_ms {
        "expired"
    } else {
        &v.state
    }
}

pub fn verification_view(v: &Verification, now_ms: i64) -> VerificationView {
    VerificationView {
        id: v.id.clone(),
        customer_id: v.customer_id.clone(),
        state: verification_state(v, now_ms).to_owned(),
        attempts_left: (store::live::VERIFICATION_ATTEMPTS_MAX - v.attempts).max(0),
        context: v.context.clone(),
        created_at: rfc3339(v.created_at_ms),
        expires_at: rfc3339(v.expires_at_ms),
        verified_at: v.verified_at_ms.map(rfc3339),
        valid_until: v.valid_until_ms.map(rfc3339),
    }
}

/// Starts a verification of `customer_id` by the calling agent; the customer's app shows the
/// code at once.
pub async fn start(
    state: &AppState,
    current: &CurrentSession,
    customer_id: &str,
    context: String,
) -> Result<Verification, ApiError> {
    require_staff(state, current).await?;
    // Only an agent has a name and badge to show the customer.
    if state.db.agent_badge(&current.user.id).await?.is_none() {
        return Err(ApiError::new(Reason::TicketRefused(
            TicketRefusal::NotAnAgent,
        )));
    }
    let customer = state
        .db
        .user_by_id(customer_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if customer.id == current.user.id {
        return Err(invalid("customer_id", "an agent cannot verify themselves"));
    }
    let now = store::now_ms();
    let code = format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000u32));
    let v = Verification {
        id: store::new_id(),
        customer_id: customer.id.clone(),
        agent_id: current.user.id.clone(),
        context,
        code,
        state: "pending".into(),
        attempts: 0,
        created_at_ms: now,
        expires_at_ms: now + VERIFICATION_EXPIRES_MS,
        verified_at_ms: None,
        valid_until_ms: None,
    };
    state.db.create_verification(&v).await?;
    audit_view(
        state,
        current,
        "verification.requested",
        &customer.id,
        serde_json::json!({"verification": v.id, "context": v.context}),
    )
    .await?;
    Ok(v)
}

/// The agent typed `code`: verified, or counted.
pub async fn try_code(
    state: &AppState,
    current: &CurrentSession,
    origin: &store::sessions::Origin,
    id: &str,
    code: &str,
) -> Result<Verification, ApiError> {
    require_staff(state, current).await?;
    // Spaces and dashes as the customer read it out; full-width digits from a Chinese IME.
    let code: String = code
        .chars()
        .filter_map(helpcenter::official::ascii_digit)
        .collect();
    if code.len() != 6 {
        return Err(invalid("code", "the code is six digits"));
    }
    let now = store::now_ms();
    match state
        .db
        .try_verification_code(id, &current.user.id, &code, now, VERIFICATION_VALID_MS)
        .await?
    {
        CodeOutcome::Verified(v) => {
            let detail = serde_json::json!({
                "agent": state.db.agent_badge(&current.user.id).await?,
                "verification": v.id,
            })
            .to_string();
            state
                .db
                .record_security_event(&v.customer_id, "verified_by_agent", origin, &detail)
                .await?;
            audit_view(
                state,
                current,
                "verification.verified",
                &v.customer_id,
                serde_json::json!({"verification": v.id}),
            )
            .await?;
            Ok(v)
        }
        CodeOutcome::Wrong { attempts_left } if attempts_left > 0 => {
            Err(ApiError::new(Reason::VerificationCodeWrong {
                attempts_left,
            }))
        }
        CodeOutcome::Wrong { .. } | CodeOutcome::NotPending(_) => {
            Err(ApiError::new(Reason::VerificationNotPending))
        }
        CodeOutcome::NotFound => Err(ApiError::not_found()),
    }
}

/// What the customer's app shows: pending codes and verified agents.
pub async fn current_for(
    state: &AppState,
    customer_id: &str,
    lang: Lang,
) -> Result<Vec<MyVerification>, ApiError> {
    let now = store::now_ms();
    let mut items = Vec::new();
    for v in state.db.current_verifications(customer_id, now).await? {
        let name = state
            .db
            .agent(&v.agent_id)
            .await?
            .map(|a| a.display_name)
            .unwrap_or_else(|| match lang {
                Lang::ZhCn => "客服".to_owned(),
                Lang::En => "Support agent".to_owned(),
            });
        let badge = state.db.agent_badge(&v.agent_id).await?.unwrap_or_default();
        items.push(MyVerification {
            id: v.id.clone(),
            code: (v.state == "pending").then(|| v.code.clone()),
            state: v.state.clone(),
            agent: AgentBadge { name, badge },
            expires_at: rfc3339(v.expires_at_ms),
            verified_at: v.verified_at_ms.map(rfc3339),
            valid_until: v.valid_until_ms.map(rfc3339),
            shown_until_ms: v.valid_until_ms.unwrap_or(v.expires_at_ms),
        });
    }
    Ok(items)
}

/// Staff (agents): ask a customer to prove it is them. The customer's app shows a six-digit
/// code and this agent's name and badge; the agent types what the customer reads out.
#[utoipa::path(post, path = "/api/v1/verifications", tag = "live support", security(("bearer" = [])),
    request_body = StartVerification,
    responses((status = 201, body = VerificationView),
        (status = 403, description = "`forbidden`; `second_factor_required`", body = crate::error::Problem),
        (status = 404, description = "`not_found`: no such ticket or customer", body = crate::error::Problem),
        (status = 409, description = "`not_an_agent`", body = crate::error::Problem)))]
pub async fn start_verification(
    State(state): State<AppState>,
    current: CurrentSession,
    ApiJson(body): ApiJson<StartVerification>,
) -> Result<(StatusCode, ApiJson<VerificationView>), ApiError> {
    require_staff(&state, &current).await?;
    let (customer_id, mut context) = match (&body.ticket_id, &body.customer_id) {
        (Some(ticket_id), None) => {
            let t = state
                .db
                .ticket(ticket_id)
                .await?
                .ok_or_else(ApiError::not_found)?;
            (t.requester_id, format!("ticket:{}", t.id))
        }
        (None, Some(customer_id)) => (customer_id.clone(), String::new()),
        (Some(_), Some(_)) => {
            return Err(invalid(
                "customer_id",
                "give ticket_id or customer_id, not both",
            ))
        }
        (None, None) => return Err(missing("ticket_id")),
    };
    if let Some(call_id) = &body.call_id {
        let call = state
            .db
            .call(call_id)
            .await?
            .ok_or_else(ApiError::not_found)?;
        context = format!("call:{}", call.call_id);
    }
    let v = start(&state, &current, &customer_id, context).await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(verification_view(&v, store::now_ms())),
    ))
}

/// Staff: a verification request this agent made.
#[utoipa::path(get, path = "/api/v1/verifications/{id}", tag = "live support", security(("bearer" = [])),
    responses((status = 200, body = VerificationView),
        (status = 404, description = "`not_found` (also another agent's request)", body = crate::error::Problem)))]
pub async fn one_verification(
    State(state): State<AppState>,
    current: CurrentSession,
    Path(id): Path<String>,
) -> Result<ApiJson<VerificationView>, ApiError> {
    require_staff(&state, &current).await?;
    let v = state
        .db
        .verification(&id)
        .await?
        .filter(|v| v.agent_id == current.user.id)
        .ok_or_else(ApiError::not_found)?;
    Ok(ApiJson(verification_view(&v, store::now_ms())))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeBody {
    /// The six digits the customer read out (spaces and full-width digits are fine).
    pub code: String,
}

/// Staff: the code the customer read out. Five wrong codes fail the request.
#[utoipa::path(post, path = "/api/v1/verifications/{id}/code", tag = "live support", security(("bearer" = [])),
    request_body = CodeBody,
    responses((status = 200, body = VerificationView),
        (status = 404, description = "`not_found`", body = crate::error::Problem),
        (status = 409, description = "`verification_not_pending`: verified, failed, cancelled or expired", body = crate::error::Problem),
        (status = 422, description = "`verification_code_wrong` with `attempts_left`; `invalid_field`", body = crate::error::Problem)))]
pub async fn type_code(
    State(state): State<AppState>,
    current: CurrentSession,
    RequestOrigin(origin): RequestOrigin,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CodeBody>,
) -> Result<ApiJson<VerificationView>, ApiError> {
    let v = try_code(&state, &current, &origin, &id, &body.code).await?;
    Ok(ApiJson(verification_view(&v, store::now_ms())))
}

/// Staff: withdraws a pending request (the code disappears from the customer's app).
#[utoipa::path(delete, path = "/api/v1/verifications/{id}", tag = "live support", security(("bearer" = [])),
    responses((status = 204),
        (status = 404, description = "`not_found`", body = crate::error::Problem),
        (status = 409, description = "`verification_not_pending`", body = crate::error::Problem)))]
pub async fn cancel_verification(
    State(state): State<AppState>,
    current: CurrentSession,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    require_staff(&state, &current).await?;
    let v = state
        .db
        .verification(&id)
        .await?
        .filter(|v| v.agent_id == current.user.id)
        .ok_or_else(ApiError::not_found)?;
    if state
        .db
        .cancel_verification(&v.id, &current.user.id)
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::new(Reason::VerificationNotPending))
    }
}

/// The caller's pending codes (to read out to the agent named) and the agents who verified
/// them in the last thirty minutes. Anyone claiming to be support who is not listed here is
/// not us.
#[utoipa::path(get, path = "/api/v1/me/verifications", tag = "live support", security(("bearer" = [])),
    responses((status = 200, body = MyVerifications)))]
pub async fn my_verifications(
    State(state): State<AppState>,
    lang: Lang,
    current: CurrentSession,
) -> Result<ApiJson<MyVerifications>, ApiError> {
    Ok(ApiJson(MyVerifications {
        items: current_for(&state, &current.user.id, lang).await?,
    }))
}

// --- phone number ----------------------------------------------------------------------------

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhoneBody {
    /// E.164 (`+8613800138000`) or a national number of the default country; `null` clears.
    pub phone: Option<String>,
}

/// Normalises a phone number typed by a person, E.164.
pub fn parse_phone(state: &AppState, value: &str) -> Result<String, ApiError> {
    helpcenter::official::normalise_phone(value, &state.help.settings.default_country_code)
        .ok_or_else(|| ApiError::new(Reason::InvalidPhone))
}

/// The caller's phone number: when they call the hotline from it, the agent's screen shows
/// their account (they still verify).
#[utoipa::path(put, path = "/api/v1/me/phone", tag = "live support", security(("bearer" = [])),
    request_body = PhoneBody,
    responses((status = 200, body = PhoneBody),
        (status = 422, description = "`invalid_phone`", body = crate::error::Problem)))]
pub async fn put_phone(
    State(state): State<AppState>,
    current: CurrentSession,
    RequestOrigin(origin): RequestOrigin,
    ApiJson(body): ApiJson<PhoneBody>,
) -> Result<ApiJson<PhoneBody>, ApiError> {
    let phone = match body.phone.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(p) => Some(parse_phone(&state, p)?),
    };
    state
        .db
        .set_user_phone(&current.user.id, phone.as_deref())
        .await?;
    state
        .db
        .record_security_event(&current.user.id, "phone_changed", &origin, "{}")
        .await?;
    Ok(ApiJson(PhoneBody { phone }))
}

#[utoipa::path(get, path = "/api/v1/me/phone", tag = "live support", security(("bearer" = [])),
    responses((status = 200, body = PhoneBody)))]
pub async fn get_phone(
    State(state): State<AppState>,
    current: CurrentSession,
) -> Result<ApiJson<PhoneBody>, ApiError> {
    Ok(ApiJson(PhoneBody {
        phone: state.db.user_phone(&current.user.id).await?,
    }))
}

// --- PBX events ------------------------------------------------------------------------------

/// A call event in the generic CTI format (JSON or `application/x-www-form-urlencoded`;
/// `user` may be a string, a list, or repeated `user[]` form fields).
#[derive(Debug, Deserialize, ToSchema)]
pub struct CtiEventBody {
    /// newCall, ringing, answer, hangup, transfer.
    pub event: String,
    #[serde(rename = "callId")]
    pub call_id: String,
    pub from: Option<String>,
    pub to: Option<String>,
    /// in or out.
    pub direction: Option<String>,
    #[schema(value_type = Vec<String>)]
    pub user: Option<serde_json::Value>,
    pub queue: Option<String>,
    #[serde(rename = "answeringNumber")]
    pub answering_number: Option<String>,
    pub cause: Option<String>,
    /// When it happened: RFC 3339, or Unix seconds; the signature's time if absent.
    #[schema(value_type = Option<String>)]
    pub timestamp: Option<serde_json::Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CtiAnswer {
    pub call_id: String,
    /// ringing, answered, ended, missed, not_answered, rejected.
    pub state: String,
    /// This exact event (call, event, time) was received before; nothing changed.
    pub duplicate: bool,
    /// `reject` for a blocked caller.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

fn signature_time(header: &str) -> Option<i64> {
    header
        .split(',')
        .find_map(|part| match part.trim().split_once('=') {
            Some(("t", t)) => t.parse().ok(),
            _ => None,
        })
}

/// The event's fields from a JSON or form body.
fn parse_cti_body(content_type: &str, body: &[u8]) -> Result<CtiEventBody, ApiError> {
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
            .map_err(|_| ApiError::new(Reason::MalformedJson { line: 0, column: 0 }))?;
        let mut map = serde_json::Map::new();
        let mut users = Vec::new();
        for (k, v) in pairs {
            if k == "user" || k == "user[]" {
                users.push(serde_json::Value::String(v));
            } else {
                map.insert(k, serde_json::Value::String(v));
            }
        }
        if !users.is_empty() {
            map.insert("user".into(), serde_json::Value::Array(users));
        }
        serde_json::from_value(serde_json::Value::Object(map)).map_err(|e| field_error(&e))
    } else if content_type.starts_with("application/json") {
        let mut de = serde_json::Deserializer::from_slice(body);
        serde_path_to_error::deserialize(&mut de).map_err(|e| {
            if e.inner().is_syntax() || e.inner().is_eof() {
                ApiError::new(Reason::MalformedJson {
                    line: e.inner().line(),
                    column: e.inner().column(),
                })
            } else {
                field_error(e.inner())
            }
        })
    } else {
        Err(ApiError::new(Reason::UnsupportedMediaType))
    }
}

fn field_error(e: &serde_json::Error) -> ApiError {
    let text = e.to_string();
    let field = text
        .split('`')
        .nth(1)
        .filter(|_| text.starts_with("missing field"))
        .map(str::to_owned);
    match field {
        Some(f) => missing(&f),
        None => invalid(".", text),
    }
}

fn users_of(value: &Option<serde_json::Value>) -> Result<Vec<String>, ApiError> {
    let list = match value {
        None | Some(serde_json::Value::Null) => Vec::new(),
        Some(serde_json::Value::String(s)) => vec![s.clone()],
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| invalid("user", "a name or a list of names"))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(invalid("user", "a name or a list of names")),
    };
    Ok(list
        .into_iter()
        .map(|u| u.trim().chars().take(200).collect::<String>())
        .filter(|u| !u.is_empty())
        .take(20)
        .collect())
}

fn time_of(value: &Option<serde_json::Value>, signed_s: i64) -> Result<i64, ApiError> {
    let bad = || {
        invalid(
            "timestamp",
            "RFC 3339 (2026-12-05T10:00:00Z) or Unix seconds",
        )
    };
    match value {
        None | Some(serde_json::Value::Null) => Ok(signed_s * 1000),
        Some(serde_json::Value::Number(n)) => n
            .as_f64()
            .filter(|s| s.is_finite() && *s > 0.0 && *s < 1e11)
            .map(|s| (s * 1000.0) as i64)
            .ok_or_else(bad),
        Some(serde_json::Value::String(s)) => {
            if let Ok(t) = s.trim().parse::<jiff::Timestamp>() {
                Ok(t.as_millisecond())
            } else if let Ok(secs) = s.trim().parse::<f64>() {
                time_of(&Some(serde_json::json!(secs)), signed_s)
            } else {
                Err(bad())
            }
        }
        Some(_) => Err(bad()),
    }
}

fn text_field(name: &str, value: &Option<String>) -> Result<String, ApiError> {
    let v = value.as_deref().unwrap_or("").trim();
    if v.chars().count() > 200 {
        return Err(invalid(name, "longer than 200 characters"));
    }
    Ok(v.to_owned())
}

/// The PBX: a call event, signed. Answers the call's state; `{"action": "reject"}` for a
/// blocked caller.
#[utoipa::path(post, path = "/api/v1/cti/events", tag = "live support",
    request_body(content = CtiEventBody, content_type = "application/json"),
    responses((status = 200, body = CtiAnswer),
        (status = 401, description = "`invalid_signature`; `signature_expired`", body = crate::error::Problem),
        (status = 404, description = "no CTI secret is configured", body = crate::error::Problem),
        (status = 422, description = "`invalid_field`", body = crate::error::Problem)))]
pub async fn cti_event(
    State(state): State<AppState>,
    headers: HeaderMap,
    LimitedBody(body): LimitedBody<CTI_BODY_BYTES_MAX>,
) -> Result<ApiJson<CtiAnswer>, ApiError> {
    let Some(secret) = state.settings.cti_secret.clone() else {
        return Err(ApiError::not_found());
    };
    let now = store::now_ms();
    let signed_s = verify_signature(&headers, &body, secret.as_bytes(), now / 1000)?;
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let parsed = parse_cti_body(&content_type, &body)?;
    answer_event(&state, parsed, signed_s, now)
        .await
        .map(ApiJson)
}

/// Checks the signature; the signed time (Unix seconds).
fn verify_signature(
    headers: &HeaderMap,
    body: &Bytes,
    secret: &[u8],
    now_s: i64,
) -> Result<i64, ApiError> {
    let header = headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::new(Reason::InvalidSignature))?;
    let t = signature_time(header).ok_or_else(|| ApiError::new(Reason::InvalidSignature))?;
    // The signature is checked whatever the time, so a wrong secret is never told "expired".
    if !payments::webhook::verify(secret, header, body, t, 0) {
        return Err(ApiError::new(Reason::InvalidSignature));
    }
    if (now_s - t).abs() > SIGNATURE_TOLERANCE_S {
        return Err(ApiError::new(Reason::SignatureExpired));
    }
    Ok(t)
}

async fn answer_event(
    state: &AppState,
    body: CtiEventBody,
    signed_s: i64,
    now: i64,
) -> Result<CtiAnswer, ApiError> {
    let kind = EventKind::parse(body.event.trim())
        .ok_or_else(|| invalid("event", "use newCall, ringing, answer, hangup or transfer"))?;
    let call_id = body.call_id.trim().to_owned();
    if call_id.is_empty() || call_id.chars().count() > 200 {
        return Err(invalid("callId", "1 to 200 characters"));
    }
    let direction = match body.direction.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(d) => Some(Direction::parse(d).ok_or_else(|| invalid("direction", "in or out"))?),
    };
    let from = text_field("from", &body.from)?;
    let to = text_field("to", &body.to)?;
    if kind == EventKind::NewCall {
        if from.is_empty() {
            return Err(missing("from"));
        }
        if to.is_empty() {
            return Err(missing("to"));
        }
        if direction.is_none() {
            return Err(missing("direction"));
        }
    }
    let users = users_of(&body.user)?;
    let at_ms = time_of(&body.timestamp, signed_s)?;
    if at_ms > now + SIGNATURE_TOLERANCE_S * 1000 {
        return Err(invalid("timestamp", "in the future"));
    }
    let payload = serde_json::json!({
        "direction": direction.map(Direction::as_str),
        "from": from,
        "to": to,
        "user": users,
        "queue": text_field("queue", &body.queue)?,
        "answeringNumber": text_field("answeringNumber", &body.answering_number)?,
        "cause": text_field("cause", &body.cause)?,
    });
    let fresh = state
        .db
        .insert_cti_event(&CtiEventRow {
            call_id: call_id.clone(),
            event: kind.as_str().to_owned(),
            at_ms,
            payload: payload.to_string(),
            received_at_ms: now,
        })
        .await?;
    let call = refold(state, &call_id, now).await?;
    let rejected = call.state == "rejected";
    Ok(CtiAnswer {
        call_id,
        state: call.state,
        duplicate: !fresh,
        action: rejected.then(|| "reject".to_owned()),
        reason: rejected.then(|| "busy".to_owned()),
    })
}

/// Folds the call again from every event it has and saves it. Two events of one call may be
/// handled at once (on two nodes): each saves what it read, then reads the events again, and
/// folds once more when more arrived meanwhile, so the last save has seen every event.
async fn refold(state: &AppState, call_id: &str, now: i64) -> Result<CallRow, ApiError> {
    loop {
        let rows = state.db.cti_events(call_id).await?;
        let events: Vec<cti::Event> = rows.iter().filter_map(event_of).collect();
        let probe = cti::fold(&events, false).ok_or_else(ApiError::not_found)?;
        let default_cc = &state.help.settings.default_country_code;
        let remote_e164 = helpcenter::official::normalise_phone(probe.remote_number(), default_cc);
        let blocked = match &remote_e164 {
            Some(n) => state.db.is_blocked(n).await?,
            None => false,
        };
        let call = if blocked {
            cti::fold(&events, true).ok_or_else(ApiError::not_found)?
        } else {
            probe
        };
        let customer_id = match &remote_e164 {
            Some(n) => {
                let found = state.db.users_with_phone(n, 2).await?;
                (found.len() == 1).then(|| found[0].clone())
            }
            None => None,
        };
        let mut agent_id = None;
        if call.answered_at_ms.is_some() {
            for u in &call.users {
                if let Some(id) = state.db.agent_named(u).await? {
                    agent_id = Some(id);
                    break;
                }
            }
        }
        let previous = state.db.call(call_id).await?;
        let row = CallRow {
            call_id: call_id.to_owned(),
            direction: call.direction.as_str().to_owned(),
            from_number: call.from.clone(),
            to_number: call.to.clone(),
            remote_e164,
            customer_id,
            queue: call.queue.clone(),
            pbx_users: call.users.join(","),
            agent_id,
            answering_number: call.answering_number.clone(),
            state: call.state.as_str().to_owned(),
            cause: call.cause.clone(),
            started_at_ms: call.started_at_ms,
            answered_at_ms: call.answered_at_ms,
            ended_at_ms: call.ended_at_ms,
            updated_at_ms: now,
            called_back_at_ms: previous.as_ref().and_then(|p| p.called_back_at_ms),
            called_back_by: previous.and_then(|p| p.called_back_by),
        };
        state.db.save_call(&row).await?;
        if state.db.cti_events(call_id).await?.len() == rows.len() {
            return Ok(row);
        }
    }
}

fn event_of(row: &CtiEventRow) -> Option<cti::Event> {
    let p: serde_json::Value = serde_json::from_str(&row.payload).ok()?;
    let s = |k: &str| p.get(k).and_then(|v| v.as_str()).unwrap_or("").to_owned();
    Some(cti::Event {
        kind: EventKind::parse(&row.event)?,
        at_ms: row.at_ms,
        direction: p
            .get("direction")
            .and_then(|v| v.as_str())
            .and_then(Direction::parse),
        from: s("from"),
        to: s("to"),
        users: p
            .get("user")
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|u| u.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        queue: s("queue"),
        answering_number: s("answeringNumber"),
        cause: s("cause"),
    })
}

// --- the call log and the screen pop ---------------------------------------------------------

/// A call in the log; the caller's number is shown masked unless the caller is ours to call
/// back (missed calls: the agent needs the number).
#[derive(Debug, Serialize, ToSchema)]
pub struct CallView {
    pub call_id: String,
    /// in, out.
    pub direction: String,
    /// The other party's number (E.164 when it reads as one).
    pub number: String,
    pub queue: String,
    /// ringing, answered, ended, missed, not_answered, rejected.
    pub state: String,
    pub cause: String,
    /// The one account that gave this number, if exactly one did.
    pub customer_id: Option<String>,
    pub agent_id: Option<String>,
    pub started_at: String,
    pub answered_at: Option<String>,
    pub ended_at: Option<String>,
    /// Seconds from the start to the answer (or to the end, unanswered).
    pub wait_s: Option<i64>,
    /// Seconds talked.
    pub duration_s: Option<i64>,
    pub called_back_at: Option<String>,
}

pub fn call_view(c: &CallRow) -> CallView {
    let remote = match c.direction.as_str() {
        "out" => &c.to_number,
        _ => &c.from_number,
    };
    CallView {
        call_id: c.call_id.clone(),
        direction: c.direction.clone(),
        number: c.remote_e164.clone().unwrap_or_else(|| remote.clone()),
        queue: c.queue.clone(),
        state: c.state.clone(),
        cause: c.cause.clone(),
        customer_id: c.customer_id.clone(),
        agent_id: c.agent_id.clone(),
        started_at: rfc3339(c.started_at_ms),
        answered_at: c.answered_at_ms.map(rfc3339),
        ended_at: c.ended_at_ms.map(rfc3339),
        wait_s: c
            .answered_at_ms
            .or(c.ended_at_ms)
            .map(|t| (t - c.started_at_ms).max(0) / 1000),
        duration_s: match (c.answered_at_ms, c.ended_at_ms) {
            (Some(a), Some(e)) => Some((e - a).max(0) / 1000),
            _ => None,
        },
        called_back_at: c.called_back_at_ms.map(rfc3339),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct CallQuery {
    /// `to_call_back` (missed calls nobody called back) or `all` (default).
    pub filter: Option<String>,
    /// At most 200; 50 by default.
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CallList {
    pub items: Vec<CallView>,
}

/// Staff: the call log, newest first; `filter=to_call_back` lists missed calls to return.
#[utoipa::path(get, path = "/api/v1/cti/calls", tag = "live support", security(("bearer" = [])),
    params(CallQuery),
    responses((status = 200, body = CallList),
        (status = 403, description = "`forbidden`; `second_factor_required`", body = crate::error::Problem)))]
pub async fn list_calls(
    State(state): State<AppState>,
    current: CurrentSession,
    Query(q): Query<CallQuery>,
) -> Result<ApiJson<CallList>, ApiError> {
    require_staff(&state, &current).await?;
    let filter = match q.filter.as_deref() {
        None | Some("all") => CallFilter::All,
        Some("to_call_back") => CallFilter::ToCallBack,
        Some(_) => return Err(invalid("filter", "all or to_call_back")),
    };
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(invalid("limit", "from 1 to 200"));
    }
    let items = state
        .db
        .calls(filter, limit)
        .await?
        .iter()
        .map(call_view)
        .collect();
    Ok(ApiJson(CallList { items }))
}

/// Staff: a missed call was returned.
#[utoipa::path(post, path = "/api/v1/cti/calls/{id}/called-back", tag = "live support", security(("bearer" = [])),
    responses((status = 200, body = CallView),
        (status = 404, description = "`not_found`", body = crate::error::Problem),
        (status = 422, description = "`nothing_to_change`: not a missed call, or already called back", body = crate::error::Problem)))]
pub async fn called_back(
    State(state): State<AppState>,
    current: CurrentSession,
    Path(id): Path<String>,
) -> Result<ApiJson<CallView>, ApiError> {
    require_staff(&state, &current).await?;
    state.db.call(&id).await?.ok_or_else(ApiError::not_found)?;
    if !state
        .db
        .mark_called_back(&id, &current.user.id, store::now_ms())
        .await?
    {
        return Err(ApiError::new(Reason::TicketRefused(
            TicketRefusal::NothingToChange,
        )));
    }
    let call = state.db.call(&id).await?.ok_or_else(ApiError::not_found)?;
    Ok(ApiJson(call_view(&call)))
}

/// A call on the agent's line now, with who is calling.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScreenPop {
    pub call: CallView,
    /// The caller's account (masked, audited) when exactly one account gave the number. A
    /// number is not proof: verify the caller before talking about the account.
    pub customer: Option<CustomerContext>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScreenPops {
    pub items: Vec<ScreenPop>,
}

/// The calls the caller answered and still has, each with the caller's account. The view of
/// the account is audited once per call and agent, however often the console refreshes.
pub async fn pops_for(
    state: &AppState,
    current: &CurrentSession,
    lang: Lang,
) -> Result<Vec<ScreenPop>, ApiError> {
    require_staff(state, current).await?;
    let mut items = Vec::new();
    for call in state.db.live_calls_of(&current.user.id).await? {
        let customer = match &call.customer_id {
            Some(id) => {
                let context = unaudited_context(state, current, id, lang).await?;
                let actor = format!("user:{}", current.user.id);
                let subject = format!("user:{id}");
                let detail =
                    serde_json::json!({"what": "screen_pop", "call": call.call_id}).to_string();
                if !state
                    .db
                    .audit_recorded(&actor, "customer.viewed", &subject, &detail)
                    .await?
                {
                    state
                        .desk
                        .audit(&state.db, actor, "customer.viewed", subject, detail)
                        .await?;
                }
                Some(context)
            }
            None => None,
        };
        items.push(ScreenPop {
            call: call_view(&call),
            customer,
        });
    }
    Ok(items)
}

/// Staff: the screen pop — calls the PBX says the caller answered and has now, with the
/// caller's account and open tickets (each view audited).
#[utoipa::path(get, path = "/api/v1/cti/screen-pops", tag = "live support", security(("bearer" = [])),
    responses((status = 200, body = ScreenPops),
        (status = 403, description = "`forbidden`; `second_factor_required`", body = crate::error::Problem)))]
pub async fn screen_pops(
    State(state): State<AppState>,
    lang: Lang,
    current: CurrentSession,
) -> Result<ApiJson<ScreenPops>, ApiError> {
    Ok(ApiJson(ScreenPops {
        items: pops_for(&state, &current, lang).await?,
    }))
}

// --- blocked numbers -------------------------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
pub struct BlockedView {
    pub number: String,
    pub reason: String,
    pub created_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BlockedList {
    pub items: Vec<BlockedView>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockBody {
    /// Why (harassment, fraud attempts, …), for the team.
    pub reason: String,
}

fn blocked_view(b: BlockedNumber) -> BlockedView {
    BlockedView {
        number: b.e164,
        reason: b.reason,
        created_at: rfc3339(b.created_at_ms),
    }
}

/// Supervisors: numbers whose calls the PBX is told to reject.
#[utoipa::path(get, path = "/api/v1/admin/blocked-numbers", tag = "live support", security(("bearer" = [])),
    responses((status = 200, body = BlockedList)))]
pub async fn list_blocked(
    State(state): State<AppState>,
    current: CurrentSession,
) -> Result<ApiJson<BlockedList>, ApiError> {
    require_supervisor(&state, &current).await?;
    Ok(ApiJson(BlockedList {
        items: state
            .db
            .blocked_numbers()
            .await?
            .into_iter()
            .map(blocked_view)
            .collect(),
    }))
}

/// Supervisors: block a number (any spelling; stored E.164).
#[utoipa::path(put, path = "/api/v1/admin/blocked-numbers/{number}", tag = "live support", security(("bearer" = [])),
    request_body = BlockBody,
    responses((status = 200, body = BlockedView),
        (status = 422, description = "`invalid_phone`; `invalid_field`", body = crate::error::Problem)))]
pub async fn block(
    State(state): State<AppState>,
    current: CurrentSession,
    Path(number): Path<String>,
    ApiJson(body): ApiJson<BlockBody>,
) -> Result<ApiJson<BlockedView>, ApiError> {
    require_supervisor(&state, &current).await?;
    let e164 = parse_phone(&state, &number)?;
    let reason = crate::api::tickets::check_text("reason", &body.reason, 500)?;
    let b = BlockedNumber {
        e164,
        reason,
        created_by: Some(current.user.id.clone()),
        created_at_ms: store::now_ms(),
    };
    state.db.block_number(&b).await?;
    state
        .desk
        .audit(
            &state.db,
            format!("user:{}", current.user.id),
            "number.blocked",
            format!("phone:{}", b.e164),
            serde_json::json!({"reason": b.reason}).to_string(),
        )
        .await?;
    Ok(ApiJson(blocked_view(b)))
}

/// Supervisors: unblock a number.
#[utoipa::path(delete, path = "/api/v1/admin/blocked-numbers/{number}", tag = "live support", security(("bearer" = [])),
    responses((status = 204), (status = 404, description = "`not_found`", body = crate::error::Problem)))]
pub async fn unblock(
    State(state): State<AppState>,
    current: CurrentSession,
    Path(number): Path<String>,
) -> Result<Response, ApiError> {
    require_supervisor(&state, &current).await?;
    let e164 = parse_phone(&state, &number)?;
    if !state.db.unblock_number(&e164).await? {
        return Err(ApiError::not_found());
    }
    state
        .desk
        .audit(
            &state.db,
            format!("user:{}", current.user.id),
            "number.unblocked",
            format!("phone:{e164}"),
            "{}".to_owned(),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_times_come_from_the_payload_or_the_signature() {
        assert_eq!(time_of(&None, 1_700_000_000).unwrap(), 1_700_000_000_000);
        assert_eq!(
            time_of(&Some(serde_json::json!(1_700_000_001)), 0).unwrap(),
            1_700_000_001_000
        );
        assert_eq!(
            time_of(&Some(serde_json::json!("1700000001.5")), 0).unwrap(),
            1_700_000_001_500
        );
        assert_eq!(
            time_of(&Some(serde_json::json!("2026-12-05T10:00:00Z")), 0).unwrap(),
            1_796_464_800_000
        );
        assert!(time_of(&Some(serde_json::json!("yesterday")), 0).is_err());
        assert!(time_of(&Some(serde_json::json!(-5)), 0).is_err());
        assert!(time_of(&Some(serde_json::json!({"a": 1})), 0).is_err());
    }

    #[test]
    fn form_bodies_read_like_json_ones() {
        let form = parse_cti_body(
            "application/x-www-form-urlencoded",
            b"event=newCall&callId=c1&from=%2B8613800138000&to=4001234567&direction=in&user%5B%5D=A1001&user%5B%5D=A1002",
        )
        .unwrap();
        assert_eq!(form.event, "newCall");
        assert_eq!(form.call_id, "c1");
        assert_eq!(form.from.as_deref(), Some("+8613800138000"));
        assert_eq!(users_of(&form.user).unwrap(), vec!["A1001", "A1002"]);
        let json = parse_cti_body(
            "application/json",
            br#"{"event":"answer","callId":"c1","user":"A1002"}"#,
        )
        .unwrap();
        assert_eq!(users_of(&json.user).unwrap(), vec!["A1002"]);
        let missing = parse_cti_body("application/json", br#"{"event":"answer"}"#).unwrap_err();
        assert_eq!(missing.reason().code(), "invalid_field");
        let broken = parse_cti_body("application/json", b"{").unwrap_err();
        assert_eq!(broken.reason().code(), "malformed_json");
        let other = parse_cti_body("text/plain", b"x").unwrap_err();
        assert_eq!(other.reason().code(), "unsupported_media_type");
    }

    #[test]
    fn a_signature_is_checked_before_its_age() {
        let body = Bytes::from_static(b"{}");
        let secret = b"s3cret";
        let mut headers = HeaderMap::new();
        let now = 1_800_000_000;
        headers.insert(
            SIGNATURE_HEADER,
            payments::webhook::sign(secret, now - 10, &body)
                .parse()
                .unwrap(),
        );
        assert_eq!(
            verify_signature(&headers, &body, secret, now).unwrap(),
            now - 10
        );
        let old = payments::webhook::sign(secret, now - 301, &body);
        headers.insert(SIGNATURE_HEADER, old.parse().unwrap());
        let e = verify_signature(&headers, &body, secret, now).unwrap_err();
        assert_eq!(e.reason().code(), "signature_expired");
        let wrong = payments::webhook::sign(b"other", now - 301, &body);
        headers.insert(SIGNATURE_HEADER, wrong.parse().unwrap());
        let e = verify_signature(&headers, &body, secret, now).unwrap_err();
        assert_eq!(e.reason().code(), "invalid_signature");
        headers.remove(SIGNATURE_HEADER);
        let e = verify_signature(&headers, &body, secret, now).unwrap_err();
        assert_eq!(e.reason().code(), "invalid_signature");
    }
}
