//! `/send` and `/convert`: money that moves inside okwallet, as pages; and the pieces every
//! money page shares (how a refusal reads, where to go next, the movement a 201 answered).
//!
//! The rules are the API's own (`make_transfer`, `make_quote`, `make_conversion`), called with
//! the page's session, so a page can do nothing the API would refuse and refuses with the same
//! words (`status::movement_reason`). A movement's id comes from the form's key, so the same
//! confirmation posted twice (a double click, a resend) moves the money once.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::wallet::{asset_tabs, page_time_s, AssetTab};
use super::{percent_encode, CsrfForm, PageCtx, SignedIn};
use crate::api::activity;
use crate::api::moves::{
    limit_rows, make_conversion, make_quote, make_transfer, parse_note, quote_view, recipient,
    LimitView, QuoteRequest, QuoteView, RecipientRequest, TransferRequest,
};
use crate::api::wallet::{balance_rows, parse_amount, parse_asset};
use crate::auth::CurrentSession;
use crate::error::{ApiError, Reason};
use crate::json::ApiJson;
use crate::{status, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/send", get(send_page).post(send))
        .route("/convert", get(convert_page).post(convert))
        .route("/convert/quote", post(quote))
}

// --- shared pieces -----------------------------------------------------------------------------

/// A link onwards from a refusal or an entry of the history.
pub struct Link {
    pub href: String,
    pub text: &'static str,
}

/// A refused movement or form, as a page shows it: what happened, what it means, what to do.
pub struct Refused {
    pub code: String,
    pub title: String,
    pub meaning: String,
    pub next_step: String,
    /// The refused attempt in the activity history, when it was recorded.
    pub movement_id: Option<String>,
    pub links: Vec<Link>,
}

/// How `error` reads on a page: a movement's refusal in `status::movement_reason`'s words,
/// anything else as its problem document says.
pub(super) fn refused(ctx: &PageCtx, error: &ApiError) -> Refused {
    let reason_code = |code: &str, movement_id: Option<String>| {
        let e = status::movement_reason(code, ctx.lang);
        Refused {
            code: code.to_owned(),
            title: e.label.to_owned(),
            meaning: e.meaning.to_owned(),
            next_step: e.next_step.to_owned(),
            movement_id,
            links: next_links(ctx, code, None),
        }
    };
    match error.reason() {
        Reason::MovementRefused { code, movement_id } => reason_code(code, movement_id.clone()),
        Reason::RecipientNotFound => reason_code("recipient_not_found", None),
        Reason::AccountFrozen => reason_code("account_frozen", None),
        Reason::IdempotencyConflict => Refused {
            code: "idempotency_conflict".to_owned(),
            title: ctx.t("moves.form_used.title").to_owned(),
            meaning: ctx.t("moves.form_used.body").to_owned(),
            next_step: String::new(),
            movement_id: None,
            links: Vec::new(),
        },
        _ => {
            let (detail, hints) = ctx.refusal(error);
            let problem = error.problem(ctx.lang, None);
            Refused {
                code: error.reason().code().to_owned(),
                title: problem.title,
                meaning: if hints.is_empty() {
                    detail
                } else {
                    hints.join(" ")
                },
                next_step: String::new(),
                movement_id: None,
                links: Vec::new(),
            }
        }
    }
}

/// Where a person can go about a refusal's reason. A conversion `quote` (from, to, amount) lets
/// the new-quote link carry what was asked.
pub(super) fn next_links(
    ctx: &PageCtx,
    code: &str,
    quote: Option<(&str, &str, &str)>,
) -> Vec<Link> {
    let link = |href: String, text: &'static str| Link { href, text };
    match code {
        "account_frozen" => vec![link("/security#freeze".into(), ctx.t("moves.go.security"))],
        "insufficient_funds" => vec![
            link("/deposit".into(), ctx.t("moves.go.deposit")),
            link("/convert".into(), ctx.t("moves.go.convert")),
        ],
        "quote_expired" | "price_unavailable" | "insufficient_liquidity" => {
            let href = match quote {
                Some((from, to, amount)) => format!(
                    "/convert?from={}&to={}&amount={}",
                    percent_encode(from),
                    percent_encode(to),
                    percent_encode(amount)
                ),
                None => "/convert".into(),
            };
            vec![link(href, ctx.t("moves.go.new_quote"))]
        }
        "limit_exceeded" => vec![link("/send#limits".into(), ctx.t("moves.go.limits"))],
        _ => Vec::new(),
    }
}

/// The id of the movement a shared function made (its 201 JSON), or its refusal.
pub(super) async fn movement_made(made: Result<Response, ApiError>) -> Result<String, ApiError> {
    let body = axum::body::to_bytes(made?.into_body(), 1024 * 1024)
        .await
        .map_err(|e| ApiError::internal(anyhow::anyhow!("while reading a movement: {e}")))?;
    let view: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::internal(anyhow::anyhow!("while reading a movement: {e}")))?;
    view["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("a movement without an id")))
}

/// A rendered form's key, which names the movement it makes. A post without one did not come
/// from our page.
pub(super) fn form_key(text: &str) -> Result<&str, ApiError> {
    let key = text.trim();
    if (1..=200).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(key)
    } else {
        Err(ApiError::new(Reason::InvalidIdempotencyKey))
    }
}

/// An RFC 3339 time as the wallet pages show times.
pub(super) fn shown_time(rfc3339: &str) -> String {
    rfc3339
        .parse::<jiff::Timestamp>()
        .map_or_else(|_| rfc3339.to_owned(), |t| page_time_s(t.as_millisecond()))
}

/// What a page says after a movement went through: its words and its entry in the history.
pub struct Done {
    pub text: String,
    pub help_url: String,
}

/// The caller's entry `id`, as a "done" notice starting with `lead`.
pub(super) async fn done_notice(
    state: &AppState,
    ctx: &PageCtx,
    current: &CurrentSession,
    id: &str,
    lead: &str,
) -> Result<Option<Done>, ApiError> {
    let Some(item) = activity::entry(state, &current.user.id, id, ctx.lang).await? else {
        return Ok(None);
    };
    // Chinese puts no space after the full-width colon that ends the lead.
    let gap = if ctx.is_zh() { "" } else { " " };
    let mut text = format!("{lead}{gap}{} {}", item.amount, item.asset);
    if let (Some(to_amount), Some(to_asset)) = (&item.to_amount, &item.to_asset) {
        text.push_str(&format!(" → {to_amount} {to_asset}"));
    }
    if let Some(other) = &item.counterparty {
        text.push_str(&format!(" → {other}"));
    }
    text.push_str(&format!(" · {}", item.status_text.label));
    Ok(Some(Done {
        text,
        help_url: item.help_url,
    }))
}

fn available_of(balances: &[crate::api::wallet::Balance], code: &str) -> String {
    balances
        .iter()
        .find(|b| b.asset == code)
        .map_or_else(|| "0".to_owned(), |b| b.available.clone())
}

fn limit_of(limits: Vec<LimitView>, kind: &str, code: &str) -> Option<LimitView> {
    limits
        .into_iter()
        .find(|l| l.kind == kind && l.asset == code)
}

// --- send --------------------------------------------------------------------------------------

/// The confirmation step: who it goes to, masked, and whether they can receive.
pub struct SendConfirm {
    pub masked: String,
    pub can_receive: bool,
    pub amount: String,
    pub note: String,
    /// One key per confirmation shown: the movement's id comes from it.
    pub form_key: String,
}

#[derive(Template)]
#[template(path = "send.html")]
struct SendPage<'a> {
    ctx: &'a PageCtx,
    tabs: Vec<AssetTab>,
    selected: String,
    available: String,
    limit: Option<LimitView>,
    frozen: bool,
    to: String,
    amount: String,
    note: String,
    confirm: Option<SendConfirm>,
    done: Option<Done>,
    refused: Option<Refused>,
}

/// The send page's form values and messages.
#[derive(Default)]
struct SendState {
    asset: Option<String>,
    to: String,
    amount: String,
    note: String,
    confirm: Option<SendConfirm>,
    done: Option<Done>,
    refused: Option<Refused>,
}

#[derive(Deserialize)]
struct SendQuery {
    asset: Option<String>,
    done: Option<String>,
}

async fn send_page(
    State(state): State<AppState>,
    Query(query): Query<SendQuery>,
    SignedIn { ctx, current }: SignedIn,
) -> Response {
    let done = match &query.done {
        Some(id) => match done_notice(&state, &ctx, &current, id, ctx.t("send.done")).await {
            Ok(done) => done,
            Err(e) => return ctx.error(&e),
        },
        None => None,
    };
    let page = SendState {
        asset: query.asset,
        done,
        ..SendState::default()
    };
    render_send(&state, &ctx, &current, page, StatusCode::OK).await
}

async fn render_send(
    state: &AppState,
    ctx: &PageCtx,
    current: &CurrentSession,
    page: SendState,
    status: StatusCode,
) -> Response {
    let built: Result<SendPage, ApiError> = async {
        let (tabs, selected) = asset_tabs(state, "/send", page.asset.as_deref()).await?;
        let balances = balance_rows(state, &current.user.id).await?;
        let limits = limit_rows(state, &current.user.id).await?;
        Ok(SendPage {
            ctx,
            available: available_of(&balances, &selected),
            limit: limit_of(limits, "transfer", &selected),
            tabs,
            selected,
            frozen: current.user.is_frozen(store::now_ms()),
            to: page.to,
            amount: page.amount,
            note: page.note,
            confirm: page.confirm,
            done: page.done,
            refused: page.refused,
        })
    }
    .await;
    match built {
        Ok(page) => ctx.render(status, &page),
        Err(e) => ctx.error(&e),
    }
}

#[derive(Deserialize)]
struct SendForm {
    #[serde(default)]
    to: String,
    #[serde(default)]
    asset: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    note: String,
    /// `send` sends, `edit` goes back to the form; anything else shows the confirmation step.
    #[serde(default)]
    action: String,
    #[serde(default)]
    form_key: String,
}

async fn send(
    State(state): State<AppState>,
    CsrfForm { ctx, form }: CsrfForm<SendForm>,
) -> Response {
    let Some(current) = ctx.current.clone() else {
        return ctx.to_login();
    };
    let mut page = SendState {
        asset: Some(form.asset.trim().to_owned()),
        to: form.to.trim().to_owned(),
        amount: form.amount.trim().to_owned(),
        note: form.note.trim().to_owned(),
        ..SendState::default()
    };
    if form.action == "edit" {
        return render_send(&state, &ctx, &current, page, StatusCode::OK).await;
    }
    if form.action != "send" {
        match review(&state, &current, &form).await {
            Ok(confirm) => {
                page.confirm = Some(confirm);
                return render_send(&state, &ctx, &current, page, StatusCode::OK).await;
            }
            Err(e) if e.status().is_client_error() => {
                page.refused = Some(refused(&ctx, &e));
                return render_send(&state, &ctx, &current, page, e.status()).await;
            }
            Err(e) => return ctx.error(&e),
        }
    }
    let result = async {
        let key = form_key(&form.form_key)?;
        let request = TransferRequest {
            to: page.to.clone(),
            asset: page.asset.clone().unwrap_or_default(),
            amount: page.amount.clone(),
            note: Some(page.note.clone()).filter(|n| !n.is_empty()),
        };
        movement_made(make_transfer(&state, ctx.lang, &current, &request, Some(key)).await).await
    }
    .await;
    match result {
        Ok(id) => ctx.see_other(&format!(
            "/send?asset={}&done={}",
            percent_encode(page.asset.as_deref().unwrap_or("")),
            percent_encode(&id)
        )),
        Err(e) if e.status().is_client_error() => {
            page.refused = Some(refused(&ctx, &e));
            render_send(&state, &ctx, &current, page, e.status()).await
        }
        Err(e) => ctx.error(&e),
    }
}

/// Checks what was typed and looks up the recipient (the API's own lookup), for the
/// confirmation step.
async fn review(
    state: &AppState,
    current: &CurrentSession,
    form: &SendForm,
) -> Result<SendConfirm, ApiError> {
    let asset = parse_asset(state, &form.asset).await?;
    let amount = parse_amount(&form.amount, asset.decimals)?;
    let note = parse_note(Some(&form.note))?;
    let ApiJson(who) = recipient(
        State(state.clone()),
        current.clone(),
        ApiJson(RecipientRequest {
            to: form.to.trim().to_owned(),
        }),
    )
    .await?;
    if identity::Email::parse(form.to.trim()).is_ok_and(|e| e == current.user.email) {
        return Err(ApiError::new(Reason::MovementRefused {
            code: "cannot_send_to_self".into(),
            movement_id: None,
        }));
    }
    Ok(SendConfirm {
        masked: who.masked,
        can_receive: who.can_receive,
        amount: amount.to_decimal_string(asset.decimals),
        note,
        form_key: store::new_id(),
    })
}

// --- convert -----------------------------------------------------------------------------------

/// An asset in the convert page's menus.
pub struct AssetOption {
    pub code: String,
    pub name: String,
}

pub(super) async fn asset_options(state: &AppState) -> Result<Vec<AssetOption>, ApiError> {
    Ok(state
        .db
        .asset_listing()
        .await?
        .into_iter()
        .map(|a| AssetOption {
            code: a.code.as_str().to_owned(),
            name: a.name,
        })
        .collect())
}

/// One asset in the convert page's balance table.
pub struct ConvertBalance {
    pub code: String,
    pub available: String,
    pub left: Option<String>,
}

#[derive(Template)]
#[template(path = "convert.html")]
struct ConvertPage<'a> {
    ctx: &'a PageCtx,
    assets: Vec<AssetOption>,
    from: String,
    to: String,
    amount: String,
    /// Per asset: what is available, and what is left of today's conversion limit.
    balances: Vec<ConvertBalance>,
    frozen: bool,
    quote: Option<QuoteView>,
    /// Back to the form with what was asked filled in.
    change_href: String,
    /// When the quote stops holding, as the page shows times (for those without the script).
    expires_time: String,
    done: Option<Done>,
    refused: Option<Refused>,
}

#[derive(Default)]
struct ConvertState {
    from: Option<String>,
    to: Option<String>,
    amount: String,
    quote: Option<(QuoteView, String)>,
    done: Option<Done>,
    refused: Option<Refused>,
}

#[derive(Deserialize)]
struct ConvertQuery {
    from: Option<String>,
    to: Option<String>,
    amount: Option<String>,
    done: Option<String>,
}

async fn convert_page(
    State(state): State<AppState>,
    Query(query): Query<ConvertQuery>,
    SignedIn { ctx, current }: SignedIn,
) -> Response {
    let done = match &query.done {
        Some(id) => match done_notice(&state, &ctx, &current, id, ctx.t("convert.done")).await {
            Ok(done) => done,
            Err(e) => return ctx.error(&e),
        },
        None => None,
    };
    let page = ConvertState {
        from: query.from,
        to: query.to,
        amount: query.amount.unwrap_or_default(),
        done,
        ..ConvertState::default()
    };
    render_convert(&state, &ctx, &current, page, StatusCode::OK).await
}

async fn render_convert(
    state: &AppState,
    ctx: &PageCtx,
    current: &CurrentSession,
    page: ConvertState,
    status: StatusCode,
) -> Response {
    let built: Result<ConvertPage, ApiError> = async {
        let assets = asset_options(state).await?;
        let pick = |asked: Option<&str>, otherwise: Option<&AssetOption>| {
            let asked = asked.map(|a| a.trim().to_ascii_uppercase());
            assets
                .iter()
                .find(|a| Some(a.code.as_str()) == asked.as_deref())
                .or(otherwise)
                .map(|a| a.code.clone())
                .unwrap_or_default()
        };
        let from = pick(page.from.as_deref(), assets.first());
        let to = pick(page.to.as_deref(), assets.iter().find(|a| a.code != from));
        let balances = balance_rows(state, &current.user.id).await?;
        let limits = limit_rows(state, &current.user.id).await?;
        let (quote, expires_time) = match page.quote {
            Some((q, at)) => (Some(q), at),
            None => (None, String::new()),
        };
        let balances = assets
            .iter()
            .map(|a| ConvertBalance {
                code: a.code.clone(),
                available: available_of(&balances, &a.code),
                left: limits
                    .iter()
                    .find(|l| l.kind == "conversion" && l.asset == a.code)
                    .map(|l| l.left.clone()),
            })
            .collect();
        Ok(ConvertPage {
            ctx,
            balances,
            change_href: format!(
                "/convert?from={}&to={}&amount={}",
                percent_encode(&from),
                percent_encode(&to),
                percent_encode(&page.amount)
            ),
            assets,
            from,
            to,
            amount: page.amount,
            frozen: current.user.is_frozen(store::now_ms()),
            quote,
            expires_time,
            done: page.done,
            refused: page.refused,
        })
    }
    .await;
    match built {
        Ok(page) => ctx.render(status, &page),
        Err(e) => ctx.error(&e),
    }
}

#[derive(Deserialize)]
struct QuoteForm {
    #[serde(default)]
    from_asset: String,
    #[serde(default)]
    to_asset: String,
    #[serde(default)]
    amount: String,
}

/// "Get quote": locks a price for a few seconds and shows it with a confirm button.
async fn quote(
    State(state): State<AppState>,
    CsrfForm { ctx, form }: CsrfForm<QuoteForm>,
) -> Response {
    let Some(current) = ctx.current.clone() else {
        return ctx.to_login();
    };
    let mut page = ConvertState {
        from: Some(form.from_asset.clone()),
        to: Some(form.to_asset.clone()),
        amount: form.amount.trim().to_owned(),
        ..ConvertState::default()
    };
    let result = async {
        // The money guard the API's route takes (`MayMoveMoney`).
        if current.user.is_frozen(store::now_ms()) {
            return Err(ApiError::new(Reason::AccountFrozen));
        }
        let request = QuoteRequest {
            from_asset: form.from_asset.trim().to_owned(),
            to_asset: form.to_asset.trim().to_owned(),
            amount: form.amount.trim().to_owned(),
        };
        let q = make_quote(&state, &current, &request).await?;
        let assets = state.db.assets().await?;
        Ok((quote_view(&q, &assets), page_time_s(q.expires_at_ms)))
    }
    .await;
    match result {
        Ok(shown) => {
            page.quote = Some(shown);
            render_convert(&state, &ctx, &current, page, StatusCode::OK).await
        }
        Err(e) if e.status().is_client_error() || e.status() == StatusCode::SERVICE_UNAVAILABLE => {
            let mut r = refused(&ctx, &e);
            r.links.retain(|l| !l.href.starts_with("/convert"));
            page.refused = Some(r);
            render_convert(&state, &ctx, &current, page, e.status()).await
        }
        Err(e) => ctx.error(&e),
    }
}

#[derive(Deserialize)]
struct ConvertForm {
    #[serde(default)]
    quote_id: String,
    /// What the quote was for, to ask for a new one if it ran out.
    #[serde(default)]
    from_asset: String,
    #[serde(default)]
    to_asset: String,
    #[serde(default)]
    amount: String,
}

/// "Confirm": accepts the quote, once (a quote makes at most one conversion).
async fn convert(
    State(state): State<AppState>,
    CsrfForm { ctx, form }: CsrfForm<ConvertForm>,
) -> Response {
    let Some(current) = ctx.current.clone() else {
        return ctx.to_login();
    };
    let made = make_conversion(&state, ctx.lang, &current, &form.quote_id).await;
    match movement_made(made).await {
        Ok(id) => ctx.see_other(&format!(
            "/convert?from={}&to={}&done={}",
            percent_encode(form.from_asset.trim()),
            percent_encode(form.to_asset.trim()),
            percent_encode(&id)
        )),
        Err(e) if e.status().is_client_error() => {
            let mut r = refused(&ctx, &e);
            // The new-quote button is on the page itself, with what was asked filled in.
            r.links.retain(|l| !l.href.starts_with("/convert"));
            let page = ConvertState {
                from: Some(form.from_asset),
                to: Some(form.to_asset),
                amount: form.amount.trim().to_owned(),
                refused: Some(r),
                ..ConvertState::default()
            };
            render_convert(&state, &ctx, &current, page, e.status()).await
        }
        Err(e) => ctx.error(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_keys_are_short_and_plain() {
        assert!(form_key("01JABCDEF0123456789").is_ok());
        assert!(form_key("").is_err());
        assert!(form_key("a b").is_err());
        assert!(form_key(&"x".repeat(201)).is_err());
    }

    #[test]
    fn times_read_like_the_other_wallet_pages() {
        assert_eq!(
            shown_time("2026-11-01T08:00:05Z"),
            "2026-11-01 08:00:05 UTC"
        );
        assert_eq!(shown_time("nonsense"), "nonsense");
    }
}
