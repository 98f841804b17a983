//! Paying merchants (日常消费): payment requests with a link and a QR code
//! (`/api/v1/payment-requests`), paying one, cancelling, refunds in full or in part, and the
//! merchant's webhook endpoint with its delivery log (`/api/v1/merchant/webhook`).
//!
//! Creating requests, refunds and the webhook need the `merchant` role. Anyone signed in may
//! read a request by its id (it is the payment link) but sees only what a payer needs; the
//! merchant sees every attempt with its reason. `GET /api/v1/payment-requests/{id}/qr.svg` is
//! public: it is the link drawn as a QR code and says nothing more than the link.

use std::net::IpAddr;

use axum::extract::{Path, Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use ledger::Asset;
use serde::{Deserialize, Serialize};
use store::payments::{PaymentRequest, WebhookAttempt, WebhookDelivery};
use utoipa::ToSchema;

use crate::api::moves::{answer_movement, movement_view, parse_note, MovementView, Names};
use crate::api::sessions::rfc3339;
use crate::api::wallet::{parse_amount, parse_asset, Page, StatusText};
use crate::auth::{CurrentSession, SteppedUp};
use crate::error::{ApiError, FieldProblem, Reason};
use crate::json::ApiJson;
use crate::lang::Lang;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/payment-requests",
            get(list_requests).post(create_request),
        )
        .route("/api/v1/payment-requests/{id}", get(get_request))
        .route("/api/v1/payment-requests/{id}/qr.svg", get(qr_svg))
        .route("/api/v1/payment-requests/{id}/pay", post(pay))
        .route("/api/v1/payment-requests/{id}/cancel", post(cancel))
        .route("/api/v1/payment-requests/{id}/refunds", post(refund))
        .route(
            "/api/v1/merchant/webhook",
            get(get_webhook).put(set_webhook).delete(delete_webhook),
        )
        .route("/api/v1/merchant/webhook/deliveries", get(deliveries))
        .route("/api/v1/merchant/webhook/deliveries/{id}", get(delivery))
        .route(
            "/api/v1/merchant/webhook/deliveries/{id}/replay",
            post(replay),
        )
}

// --- shapes ------------------------------------------------------------------------------------

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPaymentRequest {
    #[schema(example = "USDT")]
    pub asset: String,
    #[schema(example = "19.90")]
    pub amount: String,
    /// What is being paid for, shown to the payer (at most 140 characters).
    #[serde(default)]
    pub description: Option<String>,
    /// The merchant's own order reference (at most 64 printable characters).
    #[serde(default)]
    pub order_id: Option<String>,
    /// Validity in seconds (60 s to 30 days; 15 minutes when absent).
    #[serde(default)]
    pub expires_in_s: Option<u64>,
}

/// A payment request as its merchant sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentRequestView {
    pub id: String,
    /// The payment link to give the customer.
    pub url: String,
    /// The link as a QR code (SVG).
    pub qr_url: String,
    /// `open`, `paid`, `refunded`, `cancelled` or `expired`.
    pub status: String,
    pub status_text: StatusText,
    pub asset: String,
    pub amount: String,
    pub description: String,
    pub order_id: Option<String>,
    pub created_at: String,
    pub expires_at: String,
    pub paid_at: Option<String>,
    /// The successful payment's id.
    pub payment_id: Option<String>,
    /// The payer's masked email, once paid.
    pub payer: Option<String>,
    pub refunded: String,
    /// Paying needs a fresh second factor (large amounts).
    pub step_up_required: bool,
    /// Every attempt to pay (refused ones with their reason) and every refund; only for the
    /// merchant.
    pub attempts: Vec<MovementView>,
}

/// A payment request as a payer sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PayerView {
    pub id: String,
    pub url: String,
    pub status: String,
    pub status_text: StatusText,
    pub asset: String,
    pub amount: String,
    pub description: String,
    pub order_id: Option<String>,
    /// The merchant's masked email.
    pub merchant: String,
    pub expires_at: String,
    pub step_up_required: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentRequestList {
    pub items: Vec<PaymentRequestView>,
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    /// What to return; the whole rest of the payment when absent.
    #[serde(default)]
    pub amount: Option<String>,
    /// Why, shown to the customer (at most 140 characters).
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookRequest {
    /// Where events are POSTed (http or https).
    pub url: String,
    /// Make a new signing secret (the old one stops working at once).
    #[serde(default)]
    pub rotate_secret: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookView {
    pub url: String,
    /// The signing secret: shown only when it is made (first set-up or rotation).
    pub secret: Option<String>,
    pub updated_at: String,
    /// How to check a delivery.
    pub signature_header: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    /// Also the event's `id`: the same on every attempt.
    pub id: String,
    pub event_type: String,
    pub url: String,
    /// `pending`, `delivered` or `failed` (gave up; send it again with replay).
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: Option<String>,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: String,
    pub delivered_at: Option<String>,
    pub payload: serde_json::Value,
    pub log: Vec<AttemptView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    pub at: String,
    pub status_code: Option<i64>,
    pub error: Option<String>,
    pub duration_ms: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryList {
    pub items: Vec<DeliveryView>,
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

// --- helpers -----------------------------------------------------------------------------------

fn require_merchant(current: &CurrentSession) -> Result<(), ApiError> {
    match current.user.role {
        identity::Role::Merchant => Ok(()),
        _ => Err(ApiError::new(Reason::Forbidden)),
    }
}

fn invalid(field: &str, why: &str) -> ApiError {
    ApiError::new(Reason::InvalidField {
        field: field.into(),
        problem: FieldProblem::Invalid(why.into()),
    })
}

pub fn pay_url(state: &AppState, id: &str) -> String {
    format!("{}/pay/{id}", state.settings.public_url)
}

/// What a request's status means: to its merchant, or (`for_payer`) to the person paying it.
pub fn request_status_text(status: &str, lang: Lang, for_payer: bool) -> StatusText {
    let (en, zh): ([&str; 3], [&str; 3]) = match status {
        "open" if for_payer => (
            [
                "Waiting for payment",
                "This request can be paid until it expires.",
                "Check the merchant, the amount and what it is for, then pay.",
            ],
            [
                "待支付",
                "该收款请求在过期前可以支付。",
                "请核对商户、金额和用途，然后支付。",
            ],
        ),
        "paid" if for_payer => (
            [
                "Paid",
                "This request has been paid; the money is with the merchant.",
                "Nothing more to do. For a refund, ask the merchant.",
            ],
            [
                "已支付",
                "该收款请求已支付，款项已到商户账户。",
                "无需其他操作。如需退款，请联系商户。",
            ],
        ),
        "refunded" if for_payer => (
            [
                "Refunded",
                "The merchant returned the whole payment.",
                "Nothing more to do; the money is back in the payer's balance.",
            ],
            [
                "已退款",
                "商户已全额退款。",
                "无需其他操作，款项已退回付款人余额。",
            ],
        ),
        "open" => (
            [
                "Waiting for payment",
                "The request can be paid until it expires.",
                "Share the link or QR code with the payer.",
            ],
            [
                "待支付",
                "收款请求在过期前可以支付。",
                "把链接或二维码发给付款人。",
            ],
        ),
        "paid" => (
            [
                "Paid",
                "The payer has paid; the money is in the merchant's balance.",
                "Nothing more to do; refunds are possible from the merchant area.",
            ],
            [
                "已支付",
                "付款人已完成支付，资金已进入商户余额。",
                "无需其他操作；如需退款，可在商户中心操作。",
            ],
        ),
        "refunded" => (
            [
                "Refunded",
                "The whole payment was returned to the payer.",
                "Nothing more to do.",
            ],
            ["已退款", "全部款项已退还给付款人。", "无需其他操作。"],
        ),
        "cancelled" => (
            [
                "Cancelled",
                "The merchant cancelled the request; it can no longer be paid.",
                "Ask the merchant for a new link if needed.",
            ],
            [
                "已取消",
                "商户已取消该收款请求，无法再支付。",
                "如有需要，请向商户索取新的链接。",
            ],
        ),
        _ => (
            [
                "Expired",
                "The request was not paid in time and can no longer be paid.",
                "Ask the merchant for a new link.",
            ],
            [
                "已过期",
                "该收款请求未在有效期内支付，已无法支付。",
                "请向商户索取新的链接。",
            ],
        ),
    };
    let [label, meaning, next_step] = lang.pick(en, zh);
    StatusText {
        label: label.to_owned(),
        meaning: meaning.to_owned(),
        next_step: next_step.to_owned(),
    }
}

async fn request_view(
    state: &AppState,
    r: &PaymentRequest,
    asset: &Asset,
    assets: &[Asset],
    lang: Lang,
    with_attempts: bool,
) -> Result<PaymentRequestView, ApiError> {
    let now = store::now_ms();
    let status = r.status_at(now).to_owned();
    let mut names = Names::default();
    let mut attempts = Vec::new();
    if with_attempts {
        for m in state.db.movements_by_reference(&r.id).await? {
            attempts
                .push(movement_view(state, &m, &r.merchant_id, assets, &mut names, lang).await?);
        }
    }
    let payer = match &r.payer_id {
        Some(id) => Some(names.of(state, id).await?),
        None => None,
    };
    Ok(PaymentRequestView {
        id: r.id.clone(),
        url: pay_url(state, &r.id),
        qr_url: format!(
            "{}/api/v1/payment-requests/{}/qr.svg",
            state.settings.public_url, r.id
        ),
        status_text: request_status_text(&status, lang, false),
        status,
        asset: r.asset.clone(),
        amount: payments::show(r.amount, asset.decimals),
        description: r.description.clone(),
        order_id: r.order_id.clone(),
        created_at: rfc3339(r.created_at_ms),
        expires_at: rfc3339(r.expires_at_ms),
        paid_at: r.paid_at_ms.map(rfc3339),
        payment_id: r.payment_id.clone(),
        payer,
        refunded: payments::show(r.refunded, asset.decimals),
        step_up_required: state.payments.pay_needs_step_up(r, asset.decimals),
        attempts,
    })
}

/// The payer's view of a request (the pay page uses it too).
pub async fn payer_view(
    state: &AppState,
    r: &PaymentRequest,
    lang: Lang,
) -> Result<PayerView, ApiError> {
    let asset = parse_asset(state, &r.asset).await?;
    let status = r.status_at(store::now_ms()).to_owned();
    Ok(PayerView {
        id: r.id.clone(),
        url: pay_url(state, &r.id),
        status_text: request_status_text(&status, lang, true),
        status,
        asset: r.asset.clone(),
        amount: payments::show(r.amount, asset.decimals),
        description: r.description.clone(),
        order_id: r.order_id.clone(),
        merchant: Names::default().of(state, &r.merchant_id).await?,
        expires_at: rfc3339(r.expires_at_ms),
        step_up_required: state.payments.pay_needs_step_up(r, asset.decimals),
    })
}

async fn own_request(
    state: &AppState,
    current: &CurrentSession,
    id: &str,
) -> Result<PaymentRequest, ApiError> {
    require_merchant(current)?;
    state
        .db
        .payment_request(id)
        .await?
        .filter(|r| r.merchant_id == current.user.id)
        .ok_or_else(ApiError::not_found)
}

// --- requests ----------------------------------------------------------------------------------

/// Creates a payment request (merchants).
#[utoipa::path(post, path = "/api/v1/payment-requests", tag = "merchant",
    security(("bearer" = [])), request_body = NewPaymentRequest,
    responses((status = 201, body = PaymentRequestView)))]
pub async fn create_request(
    State(state): State<AppState>,
    lang: Lang,
    current: CurrentSession,
    ApiJson(request): ApiJson<NewPaymentRequest>,
) -> Result<(StatusCode, ApiJson<PaymentRequestView>), ApiError> {
    let view = make_request(&state, lang, &current, &request).await?;
    Ok((StatusCode::CREATED, ApiJson(view)))
}

/// The rules behind both the API and the merchant page.
pub async fn make_request(
    state: &AppState,
    lang: Lang,
    current: &CurrentSession,
    request: &NewPaymentRequest,
) -> Result<PaymentRequestView, ApiError> {
    require_merchant(current)?;
    if current.user.is_frozen(store::now_ms()) {
        return Err(ApiError::new(Reason::AccountFrozen));
    }
    let asset = parse_asset(state, &request.asset).await?;
    let amount = parse_amount(&request.amount, asset.decimals)?;
    let description = parse_note(request.description.as_deref()).map_err(|_| {
        invalid(
            "description",
            "at most 140 characters, without control characters",
        )
    })?;
    let order_id = match request.order_id.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(o) if o.len() <= 64 && o.bytes().all(|b| b.is_ascii_graphic()) => Some(o),
        Some(_) => {
            return Err(invalid(
                "order_id",
                "at most 64 printable characters without spaces",
            ))
        }
    };
    let expires_in = match request.expires_in_s {
        None => None,
        Some(s) if (60..=30 * 24 * 3600).contains(&s) => Some(std::time::Duration::from_secs(s)),
        Some(_) => return Err(invalid("expires_in_s", "between 60 and 2592000 seconds")),
    };
    let created = state
        .payments
        .create_request(
            &current.user,
            &asset,
            amount,
            &description,
            order_id,
            expires_in,
        )
        .await?;
    let assets = state.db.assets().await?;
    request_view(state, &created, &asset, &assets, lang, false).await
}

/// The merchant's requests, newest first.
#[utoipa::path(get, path = "/api/v1/payment-requests", tag = "merchant",
    security(("bearer" = [])), params(Page),
    responses((status = 200, body = PaymentRequestList)))]
pub async fn list_requests(
    State(state): State<AppState>,
    lang: Lang,
    current: CurrentSession,
    Query(page): Query<Page>,
) -> Result<ApiJson<PaymentRequestList>, ApiError> {
    require_merchant(&current)?;
    let limit = page.limit.unwrap_or(20).clamp(1, 100);
    let before = page
        .cursor
        .as_deref()
        .and_then(|c| c.split_once('_'))
        .and_then(|(at, id)| Some((at.parse::<i64>().ok()?, id.to_owned())));
    let rows = state
        .db
        .payment_requests_of(&current.user.id, before, limit + 1)
        .await?;
    let assets = state.db.assets().await?;
    let mut items = Vec::new();
    for r in rows.iter().take(usize::try_from(limit).unwrap_or(20)) {
        let asset = parse_asset(&state, &r.asset).await?;
        items.push(request_view(&state, r, &asset, &assets, lang, false).await?);
    }
    let next_cursor = (rows.len() as i64 > limit)
        .then(|| {
            rows.get(usize::try_from(limit - 1).ok()?)
                .map(|r| format!("{}_{}", r.created_at_ms, r.id))
        })
        .flatten();
    Ok(ApiJson(PaymentRequestList { items, next_cursor }))
}

/// A request: the merchant sees everything (with every attempt); anyone else signed in sees
/// what a payer needs.
#[utoipa::path(get, path = "/api/v1/payment-requests/{id}", tag = "merchant",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, description = "`PaymentRequestView` for its merchant, `PayerView` for anyone else")))]
pub async fn get_request(
    State(state): State<AppState>,
    lang: Lang,
    Path(id): Path<String>,
    current: CurrentSession,
) -> Result<Response, ApiError> {
    let r = state
        .db
        .payment_request(&id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if r.merchant_id == current.user.id {
        let asset = parse_asset(&state, &r.asset).await?;
        let assets = state.db.assets().await?;
        let view = request_view(&state, &r, &asset, &assets, lang, true).await?;
        return Ok(ApiJson(view).into_response());
    }
    Ok(ApiJson(payer_view(&state, &r, lang).await?).into_response())
}

/// The payment link as a QR code.
#[utoipa::path(get, path = "/api/v1/payment-requests/{id}/qr.svg", tag = "merchant",
    params(("id" = String, Path)), responses((status = 200, content_type = "image/svg+xml")))]
pub async fn qr_svg(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let r = state
        .db
        .payment_request(&id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let svg = qr_code_svg(&pay_url(&state, &r.id))?;
    Ok((
        [
            (CONTENT_TYPE, "image/svg+xml"),
            (CACHE_CONTROL, "private, max-age=300"),
        ],
        svg,
    )
        .into_response())
}

/// `text` as an SVG QR code.
pub fn qr_code_svg(text: &str) -> Result<String, ApiError> {
    let code = qrcode::QrCode::new(text.as_bytes())
        .map_err(|e| ApiError::internal(anyhow::anyhow!("{e}")))?;
    Ok(code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build())
}

/// Pays a request. Above the asset's threshold the session needs a fresh second factor.
#[utoipa::path(post, path = "/api/v1/payment-requests/{id}/pay", tag = "merchant",
    security(("bearer" = [])), params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = MovementView),
        (status = 409, description = "`already_paid`, `request_cancelled`", body = crate::error::Problem),
        (status = 410, description = "`expired`", body = crate::error::Problem),
        (status = 422, description = "`insufficient_funds`, `limit_exceeded`", body = crate::error::Problem),
        (status = 403, description = "`account_frozen`, `step_up_required`", body = crate::error::Problem)))]
pub async fn pay(
    State(state): State<AppState>,
    lang: Lang,
    Path(id): Path<String>,
    headers: HeaderMap,
    current: CurrentSession,
) -> Result<Response, ApiError> {
    let key = crate::idempotency::key_of(&headers)?;
    make_payment(&state, lang, &current, &id, key).await
}

pub async fn make_payment(
    state: &AppState,
    lang: Lang,
    current: &CurrentSession,
    id: &str,
    key: Option<&str>,
) -> Result<Response, ApiError> {
    let r = state
        .db
        .payment_request(id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let asset = parse_asset(state, &r.asset).await?;
    if state.payments.pay_needs_step_up(&r, asset.decimals) {
        SteppedUp::check(current.clone())?;
    }
    let movement_id = payments::movement_id(&current.user.id, &format!("pay:{}", r.id), key);
    let recorded = state
        .payments
        .pay(
            &current.user,
            &r,
            &asset,
            movement_id,
            payments::request_hash(&r.id),
        )
        .await;
    answer_movement(state, recorded, &current.user.id, lang, Names::default()).await
}

/// Cancels an open request (merchants).
#[utoipa::path(post, path = "/api/v1/payment-requests/{id}/cancel", tag = "merchant",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = PaymentRequestView),
        (status = 409, description = "`already_paid`: it is no longer open", body = crate::error::Problem)))]
pub async fn cancel(
    State(state): State<AppState>,
    lang: Lang,
    Path(id): Path<String>,
    current: CurrentSession,
) -> Result<ApiJson<PaymentRequestView>, ApiError> {
    let r = own_request(&state, &current, &id).await?;
    if !state.db.cancel_payment_request(&r.id).await? {
        return Err(ApiError::new(Reason::MovementRefused {
            code: "already_paid".into(),
            movement_id: None,
        }));
    }
    let r = state
        .db
        .payment_request(&id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let asset = parse_asset(&state, &r.asset).await?;
    let assets = state.db.assets().await?;
    Ok(ApiJson(
        request_view(&state, &r, &asset, &assets, lang, true).await?,
    ))
}

/// Returns money to the payer, all of it or part (merchants).
#[utoipa::path(post, path = "/api/v1/payment-requests/{id}/refunds", tag = "merchant",
    security(("bearer" = [])), request_body = RefundRequest,
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = MovementView),
        (status = 409, description = "`not_paid`", body = crate::error::Problem),
        (status = 422, description = "`refund_exceeds_payment`, `insufficient_funds`", body = crate::error::Problem)))]
pub async fn refund(
    State(state): State<AppState>,
    lang: Lang,
    Path(id): Path<String>,
    headers: HeaderMap,
    current: CurrentSession,
    ApiJson(request): ApiJson<RefundRequest>,
) -> Result<Response, ApiError> {
    let key = crate::idempotency::key_of(&headers)?;
    make_refund(&state, lang, &current, &id, &request, key).await
}

pub async fn make_refund(
    state: &AppState,
    lang: Lang,
    current: &CurrentSession,
    id: &str,
    request: &RefundRequest,
    key: Option<&str>,
) -> Result<Response, ApiError> {
    let r = own_request(state, current, id).await?;
    let asset = parse_asset(state, &r.asset).await?;
    let amount = match &request.amount {
        Some(text) => parse_amount(text, asset.decimals)?,
        None => ledger::Amount::from_minor(r.amount - r.refunded)
            .filter(|a| a.minor() > 0)
            .ok_or_else(|| {
                ApiError::new(Reason::MovementRefused {
                    code: if r.payer_id.is_some() {
                        "refund_exceeds_payment"
                    } else {
                        "not_paid"
                    }
                    .into(),
                    movement_id: None,
                })
            })?,
    };
    let note = parse_note(request.reason.as_deref())?;
    let movement_id = payments::movement_id(&current.user.id, &format!("refund:{}", r.id), key);
    let recorded = state
        .payments
        .refund(
            &current.user,
            &r,
            &asset,
            amount,
            &note,
            movement_id,
            payments::request_hash(request),
        )
        .await;
    answer_movement(state, recorded, &current.user.id, lang, Names::default()).await
}

// --- webhooks ----------------------------------------------------------------------------------

/// Whether a webhook URL may be used: http(s), no credentials, and — unless the operator allows
/// private targets — not a loopback, private or link-local address (no reaching into the
/// operator's own network). Names are checked as written; DNS answers are not pinned.
pub fn check_webhook_url(text: &str, allow_private: bool) -> Result<url::Url, ApiError> {
    let url =
        url::Url::parse(text.trim()).map_err(|_| invalid("url", "an absolute http(s) URL"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(invalid("url", "an absolute http(s) URL"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("url", "no user name or password in the URL"));
    }
    if !allow_private {
        let private = match url.host() {
            Some(url::Host::Ipv4(ip)) => is_private(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => is_private(IpAddr::V6(ip)),
            Some(url::Host::Domain(d)) => {
                d.eq_ignore_ascii_case("localhost")
                    || d.to_ascii_lowercase().ends_with(".localhost")
            }
            None => true,
        };
        if private {
            return Err(invalid(
                "url",
                "a public address (this server does not post to private networks)",
            ));
        }
    }
    Ok(url)
}

fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.octets()[0] == 100 && (64..128).contains(&v4.octets()[1])
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
                || v6
                    .to_ipv4_mapped()
                    .is_some_and(|v4| is_private(IpAddr::V4(v4)))
        }
    }
}

/// The merchant's webhook endpoint (without its secret).
#[utoipa::path(get, path = "/api/v1/merchant/webhook", tag = "merchant",
    security(("bearer" = [])), responses((status = 200, body = WebhookView)))]
pub async fn get_webhook(
    State(state): State<AppState>,
    current: CurrentSession,
) -> Result<ApiJson<WebhookView>, ApiError> {
    require_merchant(&current)?;
    let hook = state
        .db
        .merchant_webhook(&current.user.id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(ApiJson(WebhookView {
        url: hook.url,
        secret: None,
        updated_at: rfc3339(hook.updated_at_ms),
        signature_header: payments::webhook::SIGNATURE_HEADER.to_owned(),
    }))
}

/// Sets the endpoint. The signing secret is made on first set-up (and on `rotate_secret`) and
/// shown only in that answer.
#[utoipa::path(put, path = "/api/v1/merchant/webhook", tag = "merchant",
    security(("bearer" = [])), request_body = WebhookRequest,
    responses((status = 200, body = WebhookView)))]
pub async fn set_webhook(
    State(state): State<AppState>,
    current: CurrentSession,
    ApiJson(request): ApiJson<WebhookRequest>,
) -> Result<ApiJson<WebhookView>, ApiError> {
    Ok(ApiJson(
        make_webhook(&state, &current, &request.url, request.rotate_secret).await?,
    ))
}

pub async fn make_webhook(
    state: &AppState,
    current: &CurrentSession,
    url: &str,
    rotate: bool,
) -> Result<WebhookView, ApiError> {
    require_merchant(current)?;
    let url = check_webhook_url(url, state.settings.allow_private_webhooks)?;
    let existing = state.db.merchant_webhook(&current.user.id).await?;
    let context = payments::webhook::secret_context(&current.user.id);
    let (sealed, shown) = match existing {
        Some(hook) if !rotate => (hook.secret_sealed, None),
        _ => {
            let secret = format!("whsec_{}", identity::token::Token::generate().as_str());
            (
                state.settings.secret_key.seal(secret.as_bytes(), &context),
                Some(secret),
            )
        }
    };
    state
        .db
        .set_merchant_webhook(&current.user.id, url.as_str(), &sealed)
        .await?;
    state
        .db
        .audit(
            &current.user.id,
            "webhook_set",
            &current.user.id,
            url.as_str(),
        )
        .await?;
    Ok(WebhookView {
        url: url.to_string(),
        secret: shown,
        updated_at: rfc3339(store::now_ms()),
        signature_header: payments::webhook::SIGNATURE_HEADER.to_owned(),
    })
}

/// Removes the endpoint; events are no longer queued.
#[utoipa::path(delete, path = "/api/v1/merchant/webhook", tag = "merchant",
    security(("bearer" = [])), responses((status = 204)))]
pub async fn delete_webhook(
    State(state): State<AppState>,
    current: CurrentSession,
) -> Result<StatusCode, ApiError> {
    require_merchant(&current)?;
    state.db.delete_merchant_webhook(&current.user.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub fn delivery_view(d: &WebhookDelivery, log: &[WebhookAttempt]) -> DeliveryView {
    DeliveryView {
        id: d.id.clone(),
        event_type: d.event_type.clone(),
        url: d.url.clone(),
        status: d.status.clone(),
        attempts: d.attempts,
        next_attempt_at: (d.status == "pending").then(|| rfc3339(d.next_attempt_at_ms)),
        last_status_code: d.last_status_code,
        last_error: d.last_error.clone(),
        created_at: rfc3339(d.created_at_ms),
        delivered_at: d.delivered_at_ms.map(rfc3339),
        payload: serde_json::from_str(&d.payload).unwrap_or(serde_json::Value::Null),
        log: log
            .iter()
            .map(|a| AttemptView {
                at: rfc3339(a.at_ms),
                status_code: a.status_code,
                error: a.error.clone(),
                duration_ms: a.duration_ms,
            })
            .collect(),
    }
}

/// The merchant's deliveries, newest first (the last 100).
#[utoipa::path(get, path = "/api/v1/merchant/webhook/deliveries", tag = "merchant",
    security(("bearer" = [])), responses((status = 200, body = DeliveryList)))]
pub async fn deliveries(
    State(state): State<AppState>,
    current: CurrentSession,
) -> Result<ApiJson<DeliveryList>, ApiError> {
    require_merchant(&current)?;
    let items = state
        .db
        .webhook_deliveries_of(&current.user.id, 100)
        .await?
        .iter()
        .map(|d| delivery_view(d, &[]))
        .collect();
    Ok(ApiJson(DeliveryList {
        items,
        next_cursor: None,
    }))
}

async fn own_delivery(
    state: &AppState,
    current: &CurrentSession,
    id: &str,
) -> Result<WebhookDelivery, ApiError> {
    require_merchant(current)?;
    state
        .db
        .webhook_delivery(id)
        .await?
        .filter(|d| d.merchant_id == current.user.id)
        .ok_or_else(ApiError::not_found)
}

/// One delivery with every attempt.
#[utoipa::path(get, path = "/api/v1/merchant/webhook/deliveries/{id}", tag = "merchant",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = DeliveryView)))]
pub async fn delivery(
    State(state): State<AppState>,
    Path(id): Path<String>,
    current: CurrentSession,
) -> Result<ApiJson<DeliveryView>, ApiError> {
    let d = own_delivery(&state, &current, &id).await?;
    let log = state.db.webhook_attempts(&d.id).await?;
    Ok(ApiJson(delivery_view(&d, &log)))
}

/// Sends a delivery again now, to the endpoint's current URL, with the same event id.
#[utoipa::path(post, path = "/api/v1/merchant/webhook/deliveries/{id}/replay", tag = "merchant",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 202, body = DeliveryView)))]
pub async fn replay(
    State(state): State<AppState>,
    Path(id): Path<String>,
    current: CurrentSession,
) -> Result<(StatusCode, ApiJson<DeliveryView>), ApiError> {
    let d = own_delivery(&state, &current, &id).await?;
    state.db.replay_delivery(&current.user.id, &d.id).await?;
    let d = own_delivery(&state, &current, &id).await?;
    let log = state.db.webhook_attempts(&d.id).await?;
    Ok((StatusCode::ACCEPTED, ApiJson(delivery_view(&d, &log))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_urls_must_be_public_http_without_credentials() {
        for ok in [
            "https://shop.example/hooks/okwallet",
            "http://203.0.113.9:8080/h",
        ] {
            assert!(check_webhook_url(ok, false).is_ok(), "{ok}");
        }
        for bad in [
            "ftp://shop.example/",
            "https://user:pw@shop.example/",
            "http://127.0.0.1:5432/",
            "http://localhost/",
            "http://api.localhost/",
            "http://10.1.2.3/",
            "http://192.168.0.1/",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://100.64.0.1/",
            "not a url",
        ] {
            assert!(check_webhook_url(bad, false).is_err(), "{bad}");
        }
        assert!(check_webhook_url("http://127.0.0.1:9000/hook", true).is_ok());
    }
}
