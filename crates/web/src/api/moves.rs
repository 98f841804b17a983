//! Instant transfers (`/api/v1/transfers`), conversions at a locked quote (`/api/v1/quotes`,
//! `/api/v1/conversions`), prices, the caller's limits, and the administrators' limit and price
//! settings.
//!
//! Every route needs a session. A movement's id is its idempotency key: with an
//! `Idempotency-Key` header the same key answers the first result again (201 with
//! `Idempotent-Replayed: true`, or the same refusal), another body under it is 409
//! `idempotency_conflict`. Refusals are recorded in the activity history and answered as a
//! problem whose `code` is the reason and whose `movement_id` names the refused attempt.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use ledger::Asset;
use payments::{QuoteAnswer, Recorded};
use serde::{Deserialize, Serialize};
use store::movements::{kind, Movement};
use store::payments::Quote;
use utoipa::ToSchema;

use crate::api::sessions::rfc3339;
use crate::api::wallet::{asset_decimals, explained, parse_amount, parse_asset, StatusText};
use crate::auth::{CurrentSession, MayMoveMoney};
use crate::error::{ApiError, Reason};
use crate::json::ApiJson;
use crate::lang::Lang;
use crate::{status, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/transfers", post(transfer))
        .route("/api/v1/transfers/recipient", post(recipient))
        .route("/api/v1/quotes", post(quote))
        .route("/api/v1/conversions", post(convert))
        .route("/api/v1/prices", get(prices))
        .route("/api/v1/limits", get(limits))
        .route("/api/v1/admin/users/{id}/limits", put(set_user_limit))
        .route("/api/v1/admin/prices/{asset}", put(set_price))
}

// --- shapes ------------------------------------------------------------------------------------

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    /// The recipient's email address.
    #[schema(example = "friend@example.com")]
    pub to: String,
    #[schema(example = "USDT")]
    pub asset: String,
    #[schema(example = "25.5")]
    pub amount: String,
    /// Shown to both sides (at most 140 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecipientRequest {
    pub to: String,
}

/// Who a transfer would go to, for the confirmation step.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecipientView {
    /// The recipient's masked email, e.g. `fr***@example.com`.
    pub masked: String,
    /// False when the account cannot receive now (then a transfer is refused).
    pub can_receive: bool,
}

/// A transfer, conversion, payment or refund.
#[derive(Debug, Serialize, ToSchema)]
pub struct MovementView {
    pub id: String,
    /// `transfer`, `conversion`, `payment` or `refund`.
    pub kind: String,
    /// `out` (the caller paid), `in` (the caller received) or `exchange` (a conversion).
    pub direction: String,
    /// `completed` or `refused`.
    pub status: String,
    pub status_text: StatusText,
    pub reason_code: Option<String>,
    pub reason_text: Option<StatusText>,
    pub asset: String,
    pub amount: String,
    pub fee: String,
    pub to_asset: Option<String>,
    pub to_amount: Option<String>,
    /// The other side's masked email, when there is one.
    pub counterparty: Option<String>,
    pub note: String,
    /// The payment request or quote it belongs to.
    pub reference: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuoteRequest {
    #[schema(example = "ETH")]
    pub from_asset: String,
    #[schema(example = "USDT")]
    pub to_asset: String,
    /// What to sell, in `from_asset`.
    #[schema(example = "0.5")]
    pub amount: String,
}

/// A locked price.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuoteView {
    pub id: String,
    pub from_asset: String,
    pub to_asset: String,
    pub from_amount: String,
    /// Our fee, in `from_asset`, included in `from_amount`.
    pub fee: String,
    /// What arrives, in `to_asset`.
    pub to_amount: String,
    /// `to_asset` per `from_asset`, after the spread.
    pub rate: String,
    pub expires_at: String,
    pub expires_in_s: i64,
    /// `admin`, `http` or `simulated`.
    pub source: String,
    /// True when the price is the demo's simulated feed.
    pub simulated: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConversionRequest {
    pub quote_id: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PriceView {
    pub asset: String,
    /// US dollars per unit.
    pub usd: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PriceList {
    pub source: String,
    pub simulated: bool,
    pub items: Vec<PriceView>,
}

/// A daily limit and what is used of it (rolling 24 hours).
#[derive(Debug, Serialize, ToSchema)]
pub struct LimitView {
    /// `transfer`, `conversion` or `payment`.
    pub kind: String,
    pub asset: String,
    pub daily: String,
    pub used: String,
    pub left: String,
    /// Set for this user by an administrator (else the operator's default).
    pub own: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LimitList {
    pub items: Vec<LimitView>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserLimitRequest {
    pub kind: String,
    pub asset: String,
    /// The daily limit in asset units; `null` returns the user to the default.
    pub daily: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceRequest {
    /// US dollars per unit, a positive decimal string.
    pub usd: String,
}

// --- helpers -----------------------------------------------------------------------------------

/// A note as typed: trimmed, at most 140 characters, no control characters.
pub fn parse_note(note: Option<&str>) -> Result<String, ApiError> {
    let note = note.unwrap_or("").trim();
    if note.chars().count() > 140 || note.chars().any(char::is_control) {
        return Err(ApiError::new(Reason::InvalidField {
            field: "note".into(),
            problem: crate::error::FieldProblem::Invalid(
                "at most 140 characters, without control characters".into(),
            ),
        }));
    }
    Ok(note.to_owned())
}

/// Masked emails of users by id, looked up once per request.
#[derive(Default)]
pub struct Names(HashMap<String, String>);

impl Names {
    /// Names already known, so that no query asks for them again.
    pub fn knowing(user_id: &str, email: &str) -> Names {
        let mut names = Names::default();
        names
            .0
            .insert(user_id.to_owned(), crate::pages::wallet::mask_email(email));
        names
    }

    pub async fn of(&mut self, state: &AppState, user_id: &str) -> Result<String, ApiError> {
        if let Some(name) = self.0.get(user_id) {
            return Ok(name.clone());
        }
        let name = state.db.user_by_id(user_id).await?.map_or_else(
            || "—".to_owned(),
            |u| crate::pages::wallet::mask_email(u.email.as_str()),
        );
        self.0.insert(user_id.to_owned(), name.clone());
        Ok(name)
    }
}

/// A movement as `viewer` sees it.
pub async fn movement_view(
    state: &AppState,
    m: &Movement,
    viewer: &str,
    assets: &[Asset],
    names: &mut Names,
    lang: Lang,
) -> Result<MovementView, ApiError> {
    let show = |minor: i64, code: &str| payments::show(minor, asset_decimals(assets, code));
    let outgoing = m.user_id == viewer;
    let direction = if m.kind == kind::CONVERSION {
        "exchange"
    } else if outgoing {
        "out"
    } else {
        "in"
    };
    let other = if outgoing {
        m.counterparty_id.as_deref()
    } else {
        Some(m.user_id.as_str())
    };
    let counterparty = match other {
        Some(id) => Some(names.of(state, id).await?),
        None => None,
    };
    Ok(MovementView {
        id: m.id.clone(),
        kind: m.kind.clone(),
        direction: direction.to_owned(),
        status: m.status.clone(),
        status_text: explained(status::movement(&m.status, lang)),
        reason_code: m.reason_code.clone(),
        reason_text: m
            .reason_code
            .as_deref()
            .map(|c| explained(status::movement_reason(c, lang))),
        asset: m.asset.clone(),
        amount: show(m.amount, &m.asset),
        fee: show(m.fee, &m.asset),
        to_asset: m.to_asset.clone(),
        to_amount: m
            .to_asset
            .as_deref()
            .zip(m.to_amount)
            .map(|(a, v)| show(v, a)),
        counterparty,
        // A refused attempt's note is the payer's business only.
        note: m.note.clone(),
        reference: m.reference.clone(),
        created_at: rfc3339(m.created_at_ms),
    })
}

/// The answer to a movement: 201 with it, the same refusal again, or 409 for another request
/// under the same key.
pub async fn answer_movement(
    state: &AppState,
    recorded: Result<Recorded, payments::MoveError>,
    viewer: &str,
    lang: Lang,
    mut names: Names,
) -> Result<Response, ApiError> {
    let (movement, replayed) = match recorded {
        Ok(Recorded::New(m)) => (m, false),
        Ok(Recorded::Existing {
            movement,
            same_request: true,
        }) => (movement, true),
        Ok(Recorded::Existing {
            same_request: false,
            ..
        }) => return Err(ApiError::new(Reason::IdempotencyConflict)),
        Err(payments::MoveError::Busy) => return Err(ApiError::service_unavailable(1)),
        Err(payments::MoveError::Fault(e)) => return Err(ApiError::internal(e)),
    };
    if let Some(code) = &movement.reason_code {
        return Err(ApiError::new(Reason::MovementRefused {
            code: code.clone(),
            movement_id: Some(movement.id.clone()),
        }));
    }
    let assets = state.db.assets().await?;
    let view = movement_view(state, &movement, viewer, &assets, &mut names, lang).await?;
    let mut response = (StatusCode::CREATED, ApiJson(view)).into_response();
    if replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

fn require_admin(current: &CurrentSession) -> Result<(), ApiError> {
    match current.user.role {
        identity::Role::Admin => Ok(()),
        _ => Err(ApiError::new(Reason::Forbidden)),
    }
}

// --- transfers ---------------------------------------------------------------------------------

/// Sends money to another okwallet user at once.
#[utoipa::path(post, path = "/api/v1/transfers", tag = "payments", security(("bearer" = [])),
    request_body = TransferRequest,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = MovementView),
        (status = 422, description = "`insufficient_funds`, `limit_exceeded`, `cannot_send_to_self`, `recipient_not_found`, `recipient_cannot_receive`, `invalid_amount`", body = crate::error::Problem),
        (status = 403, description = "`account_frozen`", body = crate::error::Problem)))]
pub async fn transfer(
    State(state): State<AppState>,
    lang: Lang,
    headers: HeaderMap,
    current: CurrentSession,
    ApiJson(request): ApiJson<TransferRequest>,
) -> Result<Response, ApiError> {
    let key = crate::idempotency::key_of(&headers)?;
    make_transfer(&state, lang, &current, &request, key).await
}

/// The transfer rules behind both the API and the send page.
pub async fn make_transfer(
    state: &AppState,
    lang: Lang,
    current: &CurrentSession,
    request: &TransferRequest,
    key: Option<&str>,
) -> Result<Response, ApiError> {
    let asset = parse_asset(state, &request.asset).await?;
    let amount = parse_amount(&request.amount, asset.decimals)?;
    let note = parse_note(request.note.as_deref())?;
    let email =
        identity::Email::parse(&request.to).map_err(|_| ApiError::new(Reason::InvalidEmail))?;
    let recipient = state
        .db
        .user_id_by_email(&email)
        .await?
        .ok_or_else(|| ApiError::new(Reason::RecipientNotFound))?;
    let id = payments::movement_id(&current.user.id, "transfers", key);
    let recorded = state
        .payments
        .send(
            &current.user,
            &recipient,
            &asset,
            amount,
            &note,
            id,
            payments::request_hash(request),
        )
        .await;
    answer_movement(
        state,
        recorded,
        &current.user.id,
        lang,
        Names::knowing(&recipient, email.as_str()),
    )
    .await
}

/// Who an email address would pay, masked, for the confirmation step.
#[utoipa::path(post, path = "/api/v1/transfers/recipient", tag = "payments",
    security(("bearer" = [])), request_body = RecipientRequest,
    responses((status = 200, body = RecipientView),
        (status = 422, description = "`recipient_not_found`, `invalid_email`", body = crate::error::Problem)))]
pub async fn recipient(
    State(state): State<AppState>,
    _current: CurrentSession,
    ApiJson(request): ApiJson<RecipientRequest>,
) -> Result<ApiJson<RecipientView>, ApiError> {
    let email =
        identity::Email::parse(&request.to).map_err(|_| ApiError::new(Reason::InvalidEmail))?;
    let user = state
        .db
        .user_by_email(&email)
        .await?
        .ok_or_else(|| ApiError::new(Reason::RecipientNotFound))?;
    Ok(ApiJson(RecipientView {
        masked: crate::pages::wallet::mask_email(user.email.as_str()),
        can_receive: !user.is_frozen(store::now_ms()),
    }))
}

// --- conversions -------------------------------------------------------------------------------

pub fn quote_view(q: &Quote, assets: &[Asset]) -> QuoteView {
    let show = |minor: i64, code: &str| payments::show(minor, asset_decimals(assets, code));
    QuoteView {
        id: q.id.clone(),
        from_asset: q.from_asset.clone(),
        to_asset: q.to_asset.clone(),
        from_amount: show(q.from_amount, &q.from_asset),
        fee: show(q.fee, &q.from_asset),
        to_amount: show(q.to_amount, &q.to_asset),
        rate: q.rate.clone(),
        expires_at: rfc3339(q.expires_at_ms),
        expires_in_s: ((q.expires_at_ms - store::now_ms()).max(0) + 999) / 1000,
        source: q.source.clone(),
        simulated: q.simulated,
    }
}

/// Prices a conversion and locks the price for a few seconds (about 15).
#[utoipa::path(post, path = "/api/v1/quotes", tag = "payments", security(("bearer" = [])),
    request_body = QuoteRequest,
    responses((status = 201, body = QuoteView),
        (status = 422, description = "`same_asset`, `amount_too_small`, `invalid_amount`", body = crate::error::Problem),
        (status = 503, description = "`price_unavailable`", body = crate::error::Problem)))]
pub async fn quote(
    State(state): State<AppState>,
    MayMoveMoney(current): MayMoveMoney,
    ApiJson(request): ApiJson<QuoteRequest>,
) -> Result<(StatusCode, ApiJson<QuoteView>), ApiError> {
    let q = make_quote(&state, &current, &request).await?;
    let assets = state.db.assets().await?;
    Ok((StatusCode::CREATED, ApiJson(quote_view(&q, &assets))))
}

/// The quoting rules behind both the API and the convert page.
pub async fn make_quote(
    state: &AppState,
    current: &CurrentSession,
    request: &QuoteRequest,
) -> Result<Quote, ApiError> {
    let from = parse_asset(state, &request.from_asset).await?;
    let to = parse_asset(state, &request.to_asset).await?;
    let amount = parse_amount(&request.amount, from.decimals)?;
    match state
        .payments
        .quote(&current.user, &from, &to, amount)
        .await?
    {
        QuoteAnswer::Quote(q) => Ok(q),
        QuoteAnswer::Refused(code) => Err(ApiError::new(Reason::MovementRefused {
            code: code.to_owned(),
            movement_id: None,
        })),
    }
}

/// Accepts a quote: all or nothing, refused `quote_expired` after its validity.
#[utoipa::path(post, path = "/api/v1/conversions", tag = "payments", security(("bearer" = [])),
    request_body = ConversionRequest,
    responses((status = 201, body = MovementView),
        (status = 410, description = "`quote_expired`", body = crate::error::Problem),
        (status = 422, description = "`insufficient_funds`, `insufficient_liquidity`, `limit_exceeded`", body = crate::error::Problem)))]
pub async fn convert(
    State(state): State<AppState>,
    lang: Lang,
    current: CurrentSession,
    ApiJson(request): ApiJson<ConversionRequest>,
) -> Result<Response, ApiError> {
    make_conversion(&state, lang, &current, &request.quote_id).await
}

pub async fn make_conversion(
    state: &AppState,
    lang: Lang,
    current: &CurrentSession,
    quote_id: &str,
) -> Result<Response, ApiError> {
    let quote = state
        .db
        .quote(quote_id.trim())
        .await?
        .filter(|q| q.user_id == current.user.id)
        .ok_or_else(ApiError::not_found)?;
    let hash = payments::request_hash(&quote.id);
    let recorded = state.payments.convert(&current.user, &quote, hash).await;
    answer_movement(state, recorded, &current.user.id, lang, Names::default()).await
}

// --- prices and limits -------------------------------------------------------------------------

/// Current prices from the configured feed.
#[utoipa::path(get, path = "/api/v1/prices", tag = "payments", security(("bearer" = [])),
    responses((status = 200, body = PriceList)))]
pub async fn prices(
    State(state): State<AppState>,
    _current: CurrentSession,
) -> Result<ApiJson<PriceList>, ApiError> {
    let feed = state.payments.feed();
    let items = match feed.prices().await {
        Ok(p) => p
            .into_iter()
            .map(|(asset, usd)| PriceView {
                asset,
                usd: usd.normalize().to_string(),
            })
            .collect(),
        Err(e) => {
            tracing::warn!(error = format!("{e:#}"), "the price feed failed");
            Vec::new()
        }
    };
    Ok(ApiJson(PriceList {
        source: feed.source().to_owned(),
        simulated: feed.simulated(),
        items,
    }))
}

/// The caller's daily limits and what is left of them.
#[utoipa::path(get, path = "/api/v1/limits", tag = "payments", security(("bearer" = [])),
    responses((status = 200, body = LimitList)))]
pub async fn limits(
    State(state): State<AppState>,
    current: CurrentSession,
) -> Result<ApiJson<LimitList>, ApiError> {
    Ok(ApiJson(LimitList {
        items: limit_rows(&state, &current.user.id).await?,
    }))
}

pub async fn limit_rows(state: &AppState, user_id: &str) -> Result<Vec<LimitView>, ApiError> {
    let own = state.db.user_limits(user_id).await?;
    let mut items = Vec::new();
    for k in [kind::TRANSFER, kind::CONVERSION, kind::PAYMENT] {
        for asset in state.db.assets().await? {
            if let Some((daily, used)) = state.payments.limit_left(user_id, k, &asset).await? {
                let show = |v: i64| payments::show(v.max(0), asset.decimals);
                items.push(LimitView {
                    kind: k.to_owned(),
                    asset: asset.code.as_str().to_owned(),
                    daily: show(daily),
                    used: show(used),
                    left: show(daily - used),
                    own: own
                        .iter()
                        .any(|(ok, oa, _)| ok == k && oa == asset.code.as_str()),
                });
            }
        }
    }
    Ok(items)
}

/// Sets or clears one user's own daily limit (administrators).
#[utoipa::path(put, path = "/api/v1/admin/users/{id}/limits", tag = "admin",
    security(("bearer" = [])), request_body = UserLimitRequest,
    params(("id" = String, Path)), responses((status = 200, body = LimitList)))]
pub async fn set_user_limit(
    State(state): State<AppState>,
    Path(user_id): Path<String>,
    current: CurrentSession,
    ApiJson(request): ApiJson<UserLimitRequest>,
) -> Result<ApiJson<LimitList>, ApiError> {
    require_admin(&current)?;
    let user = state
        .db
        .user_by_id(&user_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if ![kind::TRANSFER, kind::CONVERSION, kind::PAYMENT].contains(&request.kind.as_str()) {
        return Err(ApiError::new(Reason::InvalidField {
            field: "kind".into(),
            problem: crate::error::FieldProblem::Invalid(
                "one of transfer, conversion, payment".into(),
            ),
        }));
    }
    let asset = parse_asset(&state, &request.asset).await?;
    let daily = match &request.daily {
        Some(text) => Some(parse_amount(text, asset.decimals)?.minor()),
        None => None,
    };
    state
        .db
        .set_user_limit(&user.id, &request.kind, asset.code.as_str(), daily)
        .await?;
    state
        .db
        .audit(
            &current.user.id,
            "user_limit_set",
            &user.id,
            &format!(
                "{} {} {}",
                request.kind,
                asset.code,
                request.daily.as_deref().unwrap_or("default")
            ),
        )
        .await?;
    Ok(ApiJson(LimitList {
        items: limit_rows(&state, &user.id).await?,
    }))
}

/// Sets an asset's price for the administrators' price feed.
#[utoipa::path(put, path = "/api/v1/admin/prices/{asset}", tag = "admin",
    security(("bearer" = [])), request_body = PriceRequest,
    params(("asset" = String, Path)), responses((status = 200, body = PriceView)))]
pub async fn set_price(
    State(state): State<AppState>,
    Path(asset): Path<String>,
    current: CurrentSession,
    ApiJson(request): ApiJson<PriceRequest>,
) -> Result<ApiJson<PriceView>, ApiError> {
    require_admin(&current)?;
    let asset = parse_asset(&state, &asset).await?;
    let usd = request
        .usd
        .trim()
        .parse::<payments::rust_decimal::Decimal>()
        .ok()
        .filter(|d| *d > payments::rust_decimal::Decimal::ZERO)
        .ok_or_else(|| {
            ApiError::new(Reason::InvalidField {
                field: "usd".into(),
                problem: crate::error::FieldProblem::Invalid("a positive decimal".into()),
            })
        })?;
    let text = usd.normalize().to_string();
    state.db.set_price(asset.code.as_str(), &text).await?;
    state
        .db
        .audit(&current.user.id, "price_set", asset.code.as_str(), &text)
        .await?;
    Ok(ApiJson(PriceView {
        asset: asset.code.as_str().to_owned(),
        usd: text,
    }))
}
