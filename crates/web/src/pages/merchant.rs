//! Paying merchants as pages: `/pay/{id}` (the payment link a customer opens, public, with a
//! Pay button for someone signed in) and the merchants' own area `/merchant` (new payment
//! requests, recent ones with their link and QR code, each request's attempts and refunds,
//! cancelling, the webhook endpoint and its delivery log with replay).
//!
//! The rules are the API's (`make_payment`, `make_request`, `make_refund`, `make_webhook`,
//! `payer_view`, `cancel`, `replay`, …), called with the page's session. Only accounts with the
//! merchant role open the merchant area ([`MerchantOnly`]); everyone else gets a 403 page.

use askama::Template;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use identity::Role;
use serde::Deserialize;

use super::account::Empty;
use super::activity::line;
use super::activity::ActivityLine;
use super::moves::{
    asset_options, form_key, movement_made, refused, shown_time, AssetOption, Done, Refused,
};
use super::security::ProofForm;
use super::wallet::{proof_kind, stepped_up_if_proved};
use super::{not_found_page, percent_encode, CsrfForm, PageCtx, SignedIn};
use crate::api::activity::{help_url, ActivityItem};
use crate::api::merchant::{
    cancel, deliveries, get_webhook, list_requests, make_payment, make_refund, make_request,
    make_webhook, payer_view, qr_code_svg, replay, DeliveryView, NewPaymentRequest, PayerView,
    PaymentRequestView, RefundRequest, WebhookView,
};
use crate::api::moves::{movement_view, MovementView, Names};
use crate::api::wallet::{balance_rows, parse_asset, Page};
use crate::auth::{CurrentSession, SteppedUp};
use crate::error::{ApiError, Reason};
use crate::json::ApiJson;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/pay/{id}", get(pay_page).post(pay))
        .route("/merchant", get(merchant_page))
        .route("/merchant/requests", post(create_request))
        .route("/merchant/requests/{id}", get(request_page))
        .route("/merchant/requests/{id}/refund", post(refund))
        .route("/merchant/requests/{id}/cancel", post(cancel_request))
        .route("/merchant/webhook", post(set_webhook))
        .route("/merchant/deliveries/{id}/replay", post(replay_delivery))
}

/// A badge's colour for a payment request's status.
fn request_badge(status: &str) -> &'static str {
    match status {
        "paid" => "ok",
        "open" => "warn",
        _ => "danger",
    }
}

// --- paying ------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "pay.html")]
struct PayPage<'a> {
    ctx: &'a PageCtx,
    view: PayerView,
    badge: &'static str,
    expires: String,
    qr_svg: String,
    login_href: String,
    /// The signed-in person is this request's merchant.
    own: bool,
    open: bool,
    /// Paying asks for a fresh second factor first.
    needs_proof: bool,
    totp_enabled: bool,
    has_passkey: bool,
    frozen: bool,
    /// The payer's available balance in the request's asset.
    available: Option<String>,
    /// One key per rendered Pay button: the payment's id comes from it.
    form_key: String,
    done: Option<Done>,
    refused: Option<Refused>,
}

#[derive(Deserialize)]
struct PayQuery {
    paid: Option<String>,
}

/// The payment link: what is asked, by whom, and a Pay button (or the way to log in first).
async fn pay_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<PayQuery>,
    ctx: PageCtx,
) -> Response {
    let done = match (&ctx.current, &query.paid) {
        (Some(current), Some(paid)) => {
            match super::moves::done_notice(&state, &ctx, current, paid, ctx.t("pay.done")).await {
                Ok(done) => done,
                Err(e) => return ctx.error(&e),
            }
        }
        _ => None,
    };
    render_pay(&state, &ctx, &id, done, None, StatusCode::OK).await
}

async fn render_pay(
    state: &AppState,
    ctx: &PageCtx,
    id: &str,
    done: Option<Done>,
    refused: Option<Refused>,
    status: StatusCode,
) -> Response {
    let built: Result<Option<PayPage>, ApiError> = async {
        let Some(r) = state.db.payment_request(id).await? else {
            return Ok(None);
        };
        let view = payer_view(state, &r, ctx.lang).await?;
        let (mut own, mut needs_proof, mut frozen) = (false, false, false);
        let (mut totp_enabled, mut has_passkey, mut available) = (false, false, None);
        if let Some(current) = &ctx.current {
            own = current.user.id == r.merchant_id;
            frozen = current.user.is_frozen(store::now_ms());
            needs_proof = view.step_up_required && SteppedUp::check(current.clone()).is_err();
            (totp_enabled, has_passkey) = proof_kind(state, &current.user.id).await?;
            available = balance_rows(state, &current.user.id)
                .await?
                .into_iter()
                .find(|b| b.asset == view.asset)
                .map(|b| b.available);
        }
        Ok(Some(PayPage {
            ctx,
            badge: request_badge(&view.status),
            expires: shown_time(&view.expires_at),
            qr_svg: qr_code_svg(&view.url).unwrap_or_default(),
            login_href: format!("/login?next={}", percent_encode(&format!("/pay/{}", r.id))),
            open: view.status == "open",
            view,
            own,
            needs_proof,
            totp_enabled,
            has_passkey,
            frozen,
            available,
            form_key: store::new_id(),
            done,
            refused,
        }))
    }
    .await;
    match built {
        Ok(Some(page)) => ctx.render(status, &page),
        Ok(None) => not_found_page(ctx),
        Err(e) => ctx.error(&e),
    }
}

#[derive(Deserialize)]
struct PayForm {
    #[serde(default)]
    form_key: String,
    /// Large payments need a fresh second factor: the form carries the proof then.
    #[serde(flatten)]
    proof: ProofForm,
}

async fn pay(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm { ctx, form }: CsrfForm<PayForm>,
) -> Response {
    let Some(current) = ctx.current.clone() else {
        return ctx.see_other(&format!(
            "/login?next={}",
            percent_encode(&format!("/pay/{id}"))
        ));
    };
    let result = async {
        let key = form_key(&form.form_key)?;
        let acting = stepped_up_if_proved(&state, &ctx, &current, form.proof).await?;
        movement_made(make_payment(&state, ctx.lang, &acting, &id, Some(key)).await).await
    }
    .await;
    match result {
        Ok(paid) => ctx.see_other(&format!(
            "/pay/{}?paid={}",
            percent_encode(&id),
            percent_encode(&paid)
        )),
        Err(e) if e.status().is_client_error() => {
            let shown = refused(&ctx, &e);
            render_pay(&state, &ctx, &id, None, Some(shown), e.status()).await
        }
        Err(e) => ctx.error(&e),
    }
}

// --- the merchant area -------------------------------------------------------------------------

/// A signed-in merchant; anyone else signed in gets a 403 page.
pub struct MerchantOnly {
    pub ctx: PageCtx,
    pub current: CurrentSession,
}

impl FromRequestParts<AppState> for MerchantOnly {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let SignedIn { ctx, current } = SignedIn::from_request_parts(parts, state).await?;
        if current.user.role != Role::Merchant {
            return Err(ctx.message(
                StatusCode::FORBIDDEN,
                ctx.t("merchant.forbidden.title"),
                ctx.t("merchant.forbidden.body"),
                ("/", ctx.t("nav.home")),
            ));
        }
        Ok(MerchantOnly { ctx, current })
    }
}

/// A payment request as the merchant's list shows it.
pub struct RequestLine {
    pub id: String,
    pub url: String,
    pub pay_href: String,
    pub qr_href: String,
    pub status: String,
    pub status_label: String,
    pub status_meaning: String,
    pub badge: &'static str,
    pub asset: String,
    pub amount: String,
    pub description: String,
    pub order_id: Option<String>,
    pub created: String,
    pub expires: String,
    pub payer: Option<String>,
}

fn request_line(v: PaymentRequestView) -> RequestLine {
    RequestLine {
        pay_href: format!("/pay/{}", v.id),
        qr_href: format!("/api/v1/payment-requests/{}/qr.svg", v.id),
        badge: request_badge(&v.status),
        created: shown_time(&v.created_at),
        expires: shown_time(&v.expires_at),
        status_label: v.status_text.label,
        status_meaning: v.status_text.meaning,
        id: v.id,
        url: v.url,
        status: v.status,
        asset: v.asset,
        amount: v.amount,
        description: v.description,
        order_id: v.order_id,
        payer: v.payer,
    }
}

/// A webhook delivery as the log shows it.
pub struct DeliveryLine {
    pub id: String,
    pub event_type: String,
    pub status: String,
    pub status_label: &'static str,
    pub badge: &'static str,
    pub attempts: i64,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    pub created: String,
    pub next_attempt: Option<String>,
}

fn delivery_line(ctx: &PageCtx, d: DeliveryView) -> DeliveryLine {
    let (status_label, badge) = match d.status.as_str() {
        "delivered" => (ctx.t("webhook.delivered"), "ok"),
        "failed" => (ctx.t("webhook.failed"), "danger"),
        _ => (ctx.t("webhook.pending"), "warn"),
    };
    DeliveryLine {
        created: shown_time(&d.created_at),
        next_attempt: d.next_attempt_at.as_deref().map(shown_time),
        id: d.id,
        event_type: d.event_type,
        status: d.status,
        status_label,
        badge,
        attempts: d.attempts,
        last_status_code: d.last_status_code,
        last_error: d.last_error,
    }
}

/// What the new-request form holds.
#[derive(Default, Deserialize)]
struct RequestFields {
    #[serde(default)]
    asset: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    order_id: String,
    #[serde(default)]
    expires_min: String,
}

#[derive(Template)]
#[template(path = "merchant.html")]
struct MerchantPage<'a> {
    ctx: &'a PageCtx,
    assets: Vec<AssetOption>,
    form: RequestFields,
    requests: Vec<RequestLine>,
    more_href: Option<String>,
    webhook: Option<WebhookView>,
    /// The signing secret, just made: shown on this answer only.
    secret: Option<String>,
    webhook_url: String,
    deliveries: Vec<DeliveryLine>,
    notice: Option<String>,
    refused: Option<Refused>,
    /// Which form the refusal is about: `create` or `webhook`.
    refused_at: &'static str,
    frozen: bool,
}

/// What the merchant page shows besides its lists.
#[derive(Default)]
struct MerchantState {
    form: RequestFields,
    cursor: Option<String>,
    secret: Option<String>,
    webhook_url: Option<String>,
    notice: Option<String>,
    refused: Option<Refused>,
    refused_at: &'static str,
}

#[derive(Deserialize)]
struct MerchantQuery {
    notice: Option<String>,
    cursor: Option<String>,
}

async fn merchant_page(
    State(state): State<AppState>,
    Query(query): Query<MerchantQuery>,
    MerchantOnly { ctx, current }: MerchantOnly,
) -> Response {
    let notice = query
        .notice
        .as_deref()
        .and_then(|n| match n {
            "webhook_saved" => Some(ctx.t("webhook.saved")),
            "replayed" => Some(ctx.t("webhook.replayed")),
            _ => None,
        })
        .map(str::to_owned);
    let page = MerchantState {
        cursor: query.cursor,
        notice,
        ..MerchantState::default()
    };
    render_merchant(&state, &ctx, &current, page, StatusCode::OK).await
}

async fn render_merchant(
    state: &AppState,
    ctx: &PageCtx,
    current: &CurrentSession,
    page: MerchantState,
    status: StatusCode,
) -> Response {
    let built: Result<MerchantPage, ApiError> = async {
        let ApiJson(list) = list_requests(
            State(state.clone()),
            ctx.lang,
            current.clone(),
            Query(Page {
                limit: Some(20),
                cursor: page.cursor.clone(),
            }),
        )
        .await?;
        let webhook = match get_webhook(State(state.clone()), current.clone()).await {
            Ok(ApiJson(hook)) => Some(hook),
            Err(e) if matches!(e.reason(), Reason::NotFound) => None,
            Err(e) => return Err(e),
        };
        let ApiJson(log) = deliveries(State(state.clone()), current.clone()).await?;
        Ok(MerchantPage {
            ctx,
            assets: asset_options(state).await?,
            form: page.form,
            requests: list.items.into_iter().map(request_line).collect(),
            more_href: list
                .next_cursor
                .map(|c| format!("/merchant?cursor={}#requests", percent_encode(&c))),
            webhook_url: page
                .webhook_url
                .or_else(|| webhook.as_ref().map(|h| h.url.clone()))
                .unwrap_or_default(),
            webhook,
            secret: page.secret,
            deliveries: log
                .items
                .into_iter()
                .map(|d| delivery_line(ctx, d))
                .collect(),
            notice: page.notice,
            refused: page.refused,
            refused_at: page.refused_at,
            frozen: current.user.is_frozen(store::now_ms()),
        })
    }
    .await;
    match built {
        Ok(page) => ctx.render(status, &page),
        Err(e) => ctx.error(&e),
    }
}

/// Creates a payment request and opens it, with its link and QR code.
async fn create_request(
    State(state): State<AppState>,
    MerchantOnly { current, .. }: MerchantOnly,
    CsrfForm { ctx, form }: CsrfForm<RequestFields>,
) -> Response {
    let expires_in_s = match form.expires_min.trim() {
        "" => None,
        // Not a whole number of minutes: the API's own range check answers it.
        m => Some(m.parse::<u64>().map_or(0, |m| m.saturating_mul(60))),
    };
    let request = NewPaymentRequest {
        asset: form.asset.trim().to_owned(),
        amount: form.amount.trim().to_owned(),
        description: Some(form.description.trim().to_owned()).filter(|d| !d.is_empty()),
        order_id: Some(form.order_id.trim().to_owned()).filter(|o| !o.is_empty()),
        expires_in_s,
    };
    match make_request(&state, ctx.lang, &current, &request).await {
        Ok(view) => ctx.see_other(&format!(
            "/merchant/requests/{}?notice=created",
            percent_encode(&view.id)
        )),
        Err(e) if e.status().is_client_error() => {
            let page = MerchantState {
                refused: Some(refused(&ctx, &e)),
                refused_at: "create",
                form,
                ..MerchantState::default()
            };
            render_merchant(&state, &ctx, &current, page, e.status()).await
        }
        Err(e) => ctx.error(&e),
    }
}

#[derive(Deserialize)]
struct WebhookForm {
    #[serde(default)]
    url: String,
    /// A checkbox: present when ticked.
    #[serde(default)]
    rotate: Option<String>,
}

/// Sets the webhook URL; a new signing secret (first set-up or rotation) is shown on this
/// answer only, never in a link or a later page.
async fn set_webhook(
    State(state): State<AppState>,
    MerchantOnly { current, .. }: MerchantOnly,
    CsrfForm { ctx, form }: CsrfForm<WebhookForm>,
) -> Response {
    match make_webhook(&state, &current, &form.url, form.rotate.is_some()).await {
        Ok(WebhookView {
            secret: Some(secret),
            ..
        }) => {
            let page = MerchantState {
                secret: Some(secret),
                notice: Some(ctx.t("webhook.saved").to_owned()),
                ..MerchantState::default()
            };
            render_merchant(&state, &ctx, &current, page, StatusCode::OK).await
        }
        Ok(_) => ctx.see_other("/merchant?notice=webhook_saved#webhook"),
        Err(e) if e.status().is_client_error() => {
            let page = MerchantState {
                refused: Some(refused(&ctx, &e)),
                refused_at: "webhook",
                webhook_url: Some(form.url),
                ..MerchantState::default()
            };
            render_merchant(&state, &ctx, &current, page, e.status()).await
        }
        Err(e) => ctx.error(&e),
    }
}

/// Sends a delivery again now (the API's replay: only the merchant's own).
async fn replay_delivery(
    State(state): State<AppState>,
    Path(id): Path<String>,
    MerchantOnly { current, .. }: MerchantOnly,
    CsrfForm { ctx, .. }: CsrfForm<Empty>,
) -> Response {
    match replay(State(state.clone()), Path(id), current.clone()).await {
        Ok(_) => ctx.see_other("/merchant?notice=replayed#deliveries"),
        Err(e) if matches!(e.reason(), Reason::NotFound) => not_found_page(&ctx),
        Err(e) if e.status().is_client_error() => {
            let page = MerchantState {
                refused: Some(refused(&ctx, &e)),
                refused_at: "webhook",
                ..MerchantState::default()
            };
            render_merchant(&state, &ctx, &current, page, e.status()).await
        }
        Err(e) => ctx.error(&e),
    }
}

// --- one request -------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "merchant_request.html")]
struct RequestPage<'a> {
    ctx: &'a PageCtx,
    r: RequestLine,
    qr_svg: String,
    paid_at: Option<String>,
    refunded: String,
    /// What can still be refunded.
    refundable: String,
    attempts: Vec<ActivityLine>,
    can_refund: bool,
    can_cancel: bool,
    refund_amount: String,
    refund_reason: String,
    /// One key per rendered refund form: the refund's id comes from it.
    form_key: String,
    notice: Option<String>,
    refused: Option<Refused>,
}

#[derive(Default)]
struct RequestState {
    refund_amount: String,
    refund_reason: String,
    notice: Option<String>,
    refused: Option<Refused>,
}

/// An attempt or refund as the history lists it (the merchant's side of it).
fn attempt_item(v: MovementView) -> ActivityItem {
    ActivityItem {
        help_url: help_url(&v.id),
        id: v.id,
        kind: v.kind,
        direction: v.direction,
        asset: v.asset,
        amount: v.amount,
        fee: v.fee,
        to_asset: v.to_asset,
        to_amount: v.to_amount,
        status: v.status,
        status_text: v.status_text,
        reason_code: v.reason_code,
        reason_text: v.reason_text,
        counterparty: v.counterparty,
        note: v.note,
        reference: v.reference,
        created_at: v.created_at,
    }
}

#[derive(Deserialize)]
struct NoticeQuery {
    notice: Option<String>,
}

async fn request_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<NoticeQuery>,
    MerchantOnly { ctx, current }: MerchantOnly,
) -> Response {
    let notice = query
        .notice
        .as_deref()
        .and_then(|n| match n {
            "created" => Some(ctx.t("merchant.created")),
            "refunded" => Some(ctx.t("merchant.refunded")),
            "cancelled" => Some(ctx.t("merchant.cancelled")),
            _ => None,
        })
        .map(str::to_owned);
    let page = RequestState {
        notice,
        ..RequestState::default()
    };
    render_request(&state, &ctx, &current, &id, page, StatusCode::OK).await
}

async fn render_request(
    state: &AppState,
    ctx: &PageCtx,
    current: &CurrentSession,
    id: &str,
    page: RequestState,
    status: StatusCode,
) -> Response {
    let built: Result<Option<RequestPage>, ApiError> = async {
        let Some(r) = state
            .db
            .payment_request(id)
            .await?
            .filter(|r| r.merchant_id == current.user.id)
        else {
            return Ok(None);
        };
        let view = payer_view(state, &r, ctx.lang).await?;
        let asset = parse_asset(state, &r.asset).await?;
        let assets = state.db.assets().await?;
        let mut names = Names::default();
        let mut attempts = Vec::new();
        for m in state.db.movements_by_reference(&r.id).await? {
            let v = movement_view(state, &m, &r.merchant_id, &assets, &mut names, ctx.lang).await?;
            attempts.push(line(ctx, attempt_item(v)));
        }
        let payer = match &r.payer_id {
            Some(payer) => Some(names.of(state, payer).await?),
            None => None,
        };
        let show = |minor: i64| payments::show(minor.max(0), asset.decimals);
        let line = RequestLine {
            pay_href: format!("/pay/{}", r.id),
            qr_href: format!("/api/v1/payment-requests/{}/qr.svg", r.id),
            badge: request_badge(&view.status),
            created: super::wallet::page_time_s(r.created_at_ms),
            expires: shown_time(&view.expires_at),
            status_label: view.status_text.label,
            status_meaning: view.status_text.meaning,
            id: view.id,
            status: view.status,
            asset: view.asset,
            amount: view.amount,
            description: view.description,
            order_id: view.order_id,
            payer,
            url: view.url,
        };
        Ok(Some(RequestPage {
            ctx,
            qr_svg: qr_code_svg(&line.url).unwrap_or_default(),
            paid_at: r.paid_at_ms.map(super::wallet::page_time_s),
            refunded: show(r.refunded),
            refundable: show(r.amount - r.refunded),
            can_refund: r.payer_id.is_some() && r.refunded < r.amount,
            can_cancel: line.status == "open",
            r: line,
            attempts,
            refund_amount: page.refund_amount,
            refund_reason: page.refund_reason,
            form_key: store::new_id(),
            notice: page.notice,
            refused: page.refused,
        }))
    }
    .await;
    match built {
        Ok(Some(page)) => ctx.render(status, &page),
        Ok(None) => not_found_page(ctx),
        Err(e) => ctx.error(&e),
    }
}

#[derive(Deserialize)]
struct RefundForm {
    /// Empty: everything that is left of the payment.
    #[serde(default)]
    amount: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    form_key: String,
}

/// Returns money to the payer, all that is left or part of it, once per rendered form.
async fn refund(
    State(state): State<AppState>,
    Path(id): Path<String>,
    MerchantOnly { current, .. }: MerchantOnly,
    CsrfForm { ctx, form }: CsrfForm<RefundForm>,
) -> Response {
    let result = async {
        let key = form_key(&form.form_key)?;
        let request = RefundRequest {
            amount: Some(form.amount.trim().to_owned()).filter(|a| !a.is_empty()),
            reason: Some(form.reason.trim().to_owned()).filter(|r| !r.is_empty()),
        };
        movement_made(make_refund(&state, ctx.lang, &current, &id, &request, Some(key)).await).await
    }
    .await;
    match result {
        Ok(_) => ctx.see_other(&format!(
            "/merchant/requests/{}?notice=refunded",
            percent_encode(&id)
        )),
        Err(e) if matches!(e.reason(), Reason::NotFound) => not_found_page(&ctx),
        Err(e) if e.status().is_client_error() => {
            let page = RequestState {
                refund_amount: form.amount,
                refund_reason: form.reason,
                refused: Some(refused(&ctx, &e)),
                ..RequestState::default()
            };
            render_request(&state, &ctx, &current, &id, page, e.status()).await
        }
        Err(e) => ctx.error(&e),
    }
}

/// Cancels an open request (the API's cancel).
async fn cancel_request(
    State(state): State<AppState>,
    Path(id): Path<String>,
    MerchantOnly { current, .. }: MerchantOnly,
    CsrfForm { ctx, .. }: CsrfForm<Empty>,
) -> Response {
    match cancel(
        State(state.clone()),
        ctx.lang,
        Path(id.clone()),
        current.clone(),
    )
    .await
    {
        Ok(_) => ctx.see_other(&format!(
            "/merchant/requests/{}?notice=cancelled",
            percent_encode(&id)
        )),
        Err(e) if matches!(e.reason(), Reason::NotFound) => not_found_page(&ctx),
        Err(e) if e.status().is_client_error() => {
            let page = RequestState {
                refused: Some(refused(&ctx, &e)),
                ..RequestState::default()
            };
            render_request(&state, &ctx, &current, &id, page, e.status()).await
        }
        Err(e) => ctx.error(&e),
    }
}
