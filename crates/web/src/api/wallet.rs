//! Balances, deposits and withdrawals: `/api/v1/balances`, `/api/v1/deposit-addresses`,
//! `/api/v1/deposits`, `/api/v1/withdrawals`, the address book (`/api/v1/withdrawal-addresses`),
//! allowlist mode, the supervisors' review queue (`/api/v1/review/withdrawals`) and, only while
//! the simulated chain runs, `/api/v1/sim/deposits`.
//!
//! Every route needs a session; every query is scoped to its user (someone else's id is "not
//! found"). Money-moving posts take `MayMoveMoney` and an optional `Idempotency-Key`. The rules
//! are the wallet crate's; this module parses, asks and shapes.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::Router;
use chain::Address;
use ledger::{Amount, Asset, AssetCode};
use serde::{Deserialize, Serialize};
use store::sessions::Origin;
use store::wallet::{AddressEntry, Deposit, Withdrawal};
use utoipa::{IntoParams, ToSchema};
use wallet::{AddressAnswer, Wallet, WithdrawalRequest};

use crate::api::sessions::rfc3339;
use crate::auth::{CurrentSession, MayMoveMoney, RequestOrigin, SteppedUp};
use crate::error::{ApiError, Reason};
use crate::json::ApiJson;
use crate::lang::Lang;
use crate::{status, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/balances", get(balances))
        .route("/api/v1/deposit-addresses", post(deposit_address))
        .route("/api/v1/deposits", get(deposits))
        .route("/api/v1/deposits/{id}", get(deposit))
        .route("/api/v1/withdrawals", get(withdrawals).post(withdraw))
        .route("/api/v1/withdrawals/{id}", get(withdrawal))
        .route(
            "/api/v1/withdrawal-addresses",
            get(address_book).post(add_address),
        )
        .route("/api/v1/withdrawal-addresses/{id}", delete(remove_address))
        .route("/api/v1/me/withdrawal-allowlist", put(set_allowlist))
        .route("/api/v1/review/withdrawals", get(review_queue))
        .route("/api/v1/review/withdrawals/{id}", post(review))
        .route("/api/v1/sim/deposits", post(sim_deposit))
}

// --- shapes ------------------------------------------------------------------------------------

/// One asset's balance.
#[derive(Debug, Serialize, ToSchema)]
pub struct Balance {
    #[schema(example = "ETH")]
    pub asset: String,
    /// What can be spent or withdrawn now.
    #[schema(example = "1.25")]
    pub available: String,
    /// Set aside for withdrawals in progress.
    #[schema(example = "0.101")]
    pub held: String,
    /// Deposits seen on the chain and still confirming.
    #[schema(example = "0.5")]
    pub incoming: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BalanceList {
    pub items: Vec<Balance>,
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressRequest {
    #[schema(example = "ETH")]
    pub asset: String,
}

/// A deposit address.
#[derive(Debug, Serialize, ToSchema)]
pub struct DepositAddress {
    /// EIP-55 checksummed.
    pub address: String,
    #[schema(example = "ethereum")]
    pub chain: String,
    pub asset: String,
    /// True on the demo's simulated chain: nothing sent there is real.
    pub simulated: bool,
    /// Send only this asset on this network to this address.
    pub warning: String,
}

/// A status with its plain explanation in the request's language.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusText {
    pub label: String,
    pub meaning: String,
    pub next_step: String,
}

/// A deposit.
#[derive(Debug, Serialize, ToSchema)]
pub struct DepositView {
    pub id: String,
    pub asset: String,
    pub chain: String,
    pub simulated: bool,
    pub amount: String,
    /// `detected`, `confirming`, `credited`, `orphaned` or `too_small`.
    pub status: String,
    pub status_text: StatusText,
    pub confirmations: i64,
    pub confirmations_required: i64,
    /// Seconds until it is credited, by the chain's usual block time; 0 when done.
    pub eta_s: u64,
    pub address: String,
    pub from_address: String,
    pub tx_hash: String,
    pub block_number: i64,
    pub detected_at: String,
    pub credited_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DepositList {
    pub items: Vec<DepositView>,
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawRequest {
    #[schema(example = "ETH")]
    pub asset: String,
    pub address: String,
    /// A decimal string in the asset's units.
    #[schema(example = "0.25")]
    pub amount: String,
}

/// A withdrawal.
#[derive(Debug, Serialize, ToSchema)]
pub struct WithdrawalView {
    pub id: String,
    pub asset: String,
    pub chain: String,
    pub simulated: bool,
    pub address: String,
    pub amount: String,
    /// Our fee, charged on top of the amount.
    pub fee: String,
    /// `requested`, `under_review`, `rejected`, `signed`, `broadcast`, `confirming`,
    /// `completed`, `failed_refunded` or `refused`.
    pub status: String,
    pub status_text: StatusText,
    /// Why it failed or was refused or rejected.
    pub reason_code: Option<String>,
    pub reason_text: Option<String>,
    /// A supervisor's note when reviewed.
    pub review_note: Option<String>,
    pub confirmations: i64,
    pub confirmations_required: i64,
    pub tx_hash: Option<String>,
    pub created_at: String,
    pub finished_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WithdrawalList {
    pub items: Vec<WithdrawalView>,
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAddress {
    #[schema(example = "ETH")]
    pub asset: String,
    pub address: String,
    /// The owner's name for it, e.g. "cold storage" (at most 64 characters).
    #[serde(default)]
    pub label: String,
}

/// An address-book entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct AddressView {
    pub id: String,
    pub chain: String,
    pub address: String,
    pub label: String,
    pub created_at: String,
    /// From when withdrawals may go there (the time-lock).
    pub usable_from: String,
    pub usable_now: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AddressList {
    pub items: Vec<AddressView>,
    /// Whether withdrawals go only to entries here (allowlist mode).
    pub allowlist: bool,
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AllowlistRequest {
    pub enabled: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    /// `approve` or `reject`.
    pub decision: String,
    /// Required when rejecting: the reason the customer is told.
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SimDepositRequest {
    pub address: String,
    #[schema(example = "ETH")]
    pub asset: String,
    #[schema(example = "0.5")]
    pub amount: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SimDeposit {
    pub tx_hash: String,
    /// Always true: this route exists only on the simulated chain.
    pub simulated: bool,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct Page {
    /// At most 100; 20 when absent.
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

// --- helpers -----------------------------------------------------------------------------------

fn wallet_of(state: &AppState) -> Result<&Wallet, ApiError> {
    state
        .wallet
        .as_deref()
        .ok_or_else(|| ApiError::new(Reason::AssetNotSupported))
}

/// The asset named in a request, with its decimals.
pub async fn parse_asset(state: &AppState, code: &str) -> Result<Asset, ApiError> {
    let code =
        AssetCode::parse(code.trim()).ok_or_else(|| ApiError::new(Reason::AssetNotSupported))?;
    state
        .db
        .assets()
        .await?
        .into_iter()
        .find(|a| a.code == code)
        .ok_or_else(|| ApiError::new(Reason::AssetNotSupported))
}

pub fn parse_amount(text: &str, decimals: u8) -> Result<Amount, ApiError> {
    Amount::parse_decimal(text.trim(), decimals)
        .ok()
        .filter(|a| a.minor() > 0)
        .ok_or_else(|| ApiError::new(Reason::InvalidAmount { decimals }))
}

pub fn parse_address(text: &str) -> Result<Address, ApiError> {
    Address::parse(text).ok_or_else(|| ApiError::new(Reason::InvalidAddress))
}

/// The decimals of `code` among `assets` (0 for a code no longer listed).
pub fn asset_decimals(assets: &[Asset], code: &str) -> u8 {
    assets
        .iter()
        .find(|a| a.code.as_str() == code)
        .map_or(0, |a| a.decimals)
}

fn page_limit(page: &Page) -> i64 {
    page.limit.unwrap_or(20).clamp(1, 100)
}

async fn decimals_of(state: &AppState, code: &str) -> Result<u8, ApiError> {
    Ok(parse_asset(state, code).await?.decimals)
}

/// A status's explanation as the API shapes it (every wallet and payments view uses it).
pub fn explained(e: status::Explained) -> StatusText {
    StatusText {
        label: e.label.to_owned(),
        meaning: e.meaning.to_owned(),
        next_step: e.next_step.to_owned(),
    }
}

/// A deposit as the API and the pages show it.
pub fn deposit_view(d: &Deposit, decimals: u8, block_time_s: u64, lang: Lang) -> DepositView {
    let waiting = matches!(d.status.as_str(), "detected" | "confirming");
    DepositView {
        id: d.id.clone(),
        asset: d.asset.clone(),
        chain: d.chain.clone(),
        simulated: d.simulated,
        amount: Amount::from_minor(d.amount)
            .unwrap_or_default()
            .to_decimal_string(decimals),
        status: d.status.clone(),
        status_text: explained(status::deposit(&d.status, lang)),
        confirmations: d.confirmations,
        confirmations_required: d.confirmations_required,
        eta_s: if waiting {
            wallet::rules::eta_s(d.confirmations, d.confirmations_required, block_time_s)
        } else {
            0
        },
        address: checksummed(&d.address),
        from_address: checksummed(&d.from_address),
        tx_hash: d.tx_hash.clone(),
        block_number: d.block_number,
        detected_at: rfc3339(d.detected_at_ms),
        credited_at: d.credited_at_ms.map(rfc3339),
    }
}

/// A withdrawal as the API and the pages show it.
pub fn withdrawal_view(w: &Withdrawal, decimals: u8, lang: Lang) -> WithdrawalView {
    let amount = |minor: i64| {
        Amount::from_minor(minor)
            .unwrap_or_default()
            .to_decimal_string(decimals)
    };
    WithdrawalView {
        id: w.id.clone(),
        asset: w.asset.clone(),
        chain: w.chain.clone(),
        simulated: w.simulated,
        address: checksummed(&w.address),
        amount: amount(w.amount),
        fee: amount(w.fee),
        status: w.status.clone(),
        status_text: explained(status::withdrawal(&w.status, lang)),
        reason_code: w.reason_code.clone(),
        reason_text: w
            .reason_code
            .as_deref()
            .map(|c| status::withdrawal_reason(c, lang).to_owned()),
        review_note: w.review_note.clone(),
        confirmations: w.confirmations,
        confirmations_required: w.confirmations_required,
        tx_hash: w.tx_hash.clone(),
        created_at: rfc3339(w.created_at_ms),
        finished_at: w.finished_at_ms.map(rfc3339),
    }
}

fn address_view(e: &AddressEntry) -> AddressView {
    AddressView {
        id: e.id.clone(),
        chain: e.chain.clone(),
        address: checksummed(&e.address),
        label: e.label.clone(),
        created_at: rfc3339(e.created_at_ms),
        usable_from: rfc3339(e.usable_from_ms),
        usable_now: e.usable_from_ms <= store::now_ms(),
    }
}

fn checksummed(stored: &str) -> String {
    Address::parse(stored).map_or_else(|| stored.to_owned(), |a| a.to_string())
}

pub fn block_time_of(state: &AppState, chain: &str) -> u64 {
    state
        .wallet
        .as_deref()
        .and_then(|w| w.chain(chain))
        .map_or(12, |c| c.settings.block_time_s)
}

/// The network warning shown with a deposit address.
pub fn network_warning(asset: &str, chain: &str, simulated: bool, lang: Lang) -> String {
    let sim = if simulated {
        lang.pick(
            " This is the demo's SIMULATED network: nothing sent here is real.",
            " 这是演示用的模拟网络：发送到这里的一切都不是真实资产。",
        )
    } else {
        ""
    };
    match lang {
        Lang::En => format!("Send only {asset} on the {chain} network to this address. Anything else sent here may be lost for good.{sim}"),
        Lang::ZhCn => format!("请仅通过 {chain} 网络向此地址发送 {asset}。发送其他资产或使用其他网络可能导致资产永久丢失。{sim}"),
    }
}

// --- balances and deposits ---------------------------------------------------------------------

/// Per asset: available, held and incoming.
#[utoipa::path(get, path = "/api/v1/balances", tag = "wallet", security(("bearer" = [])),
    responses((status = 200, body = BalanceList)))]
pub async fn balances(
    State(state): State<AppState>,
    current: CurrentSession,
) -> Result<ApiJson<BalanceList>, ApiError> {
    Ok(ApiJson(BalanceList {
        items: balance_rows(&state, &current.user.id).await?,
        next_cursor: None,
    }))
}

/// The balances of every asset for `user_id` (the dashboard uses it too).
pub async fn balance_rows(state: &AppState, user_id: &str) -> Result<Vec<Balance>, ApiError> {
    let incoming = state.db.incoming_totals(user_id).await?;
    let mut items = Vec::new();
    for asset in state.db.assets().await? {
        let account = state
            .db
            .account(&store::accounts::user_account_id(user_id, &asset.code))
            .await?;
        let show = |minor: i64| {
            Amount::from_minor(minor)
                .unwrap_or_default()
                .to_decimal_string(asset.decimals)
        };
        let on_the_way = incoming
            .iter()
            .find(|(code, _)| code == asset.code.as_str())
            .map_or(0, |(_, total)| *total);
        items.push(Balance {
            asset: asset.code.as_str().to_owned(),
            available: show(account.as_ref().map_or(0, |a| a.available())),
            held: show(account.as_ref().map_or(0, |a| a.debits_pending)),
            incoming: show(on_the_way),
        });
    }
    Ok(items)
}

/// The caller's deposit address for an asset; the same one on every call.
#[utoipa::path(post, path = "/api/v1/deposit-addresses", tag = "wallet", security(("bearer" = [])),
    request_body = AddressRequest,
    responses((status = 200, body = DepositAddress)))]
pub async fn deposit_address(
    State(state): State<AppState>,
    lang: Lang,
    current: CurrentSession,
    ApiJson(request): ApiJson<AddressRequest>,
) -> Result<ApiJson<DepositAddress>, ApiError> {
    let asset = parse_asset(&state, &request.asset).await?;
    let wallet = wallet_of(&state)?;
    match wallet
        .deposit_address(&current.user.id, &asset.code)
        .await?
    {
        AddressAnswer::Address {
            address,
            chain,
            simulated,
        } => Ok(ApiJson(DepositAddress {
            warning: network_warning(asset.code.as_str(), &chain, simulated, lang),
            address: address.to_string(),
            chain,
            asset: asset.code.as_str().to_owned(),
            simulated,
        })),
        AddressAnswer::NotDepositable => Err(ApiError::new(Reason::AssetNotSupported)),
    }
}

/// The caller's deposits, newest first.
#[utoipa::path(get, path = "/api/v1/deposits", tag = "wallet", security(("bearer" = [])),
    params(Page), responses((status = 200, body = DepositList)))]
pub async fn deposits(
    State(state): State<AppState>,
    lang: Lang,
    current: CurrentSession,
    Query(page): Query<Page>,
) -> Result<ApiJson<DepositList>, ApiError> {
    let limit = page_limit(&page);
    let rows = state
        .db
        .deposits_of(&current.user.id, limit + 1, page.cursor.as_deref())
        .await?;
    let assets = state.db.assets().await?;
    let mut items = Vec::new();
    for d in rows.iter().take(usize::try_from(limit).unwrap_or(20)) {
        let decimals = asset_decimals(&assets, &d.asset);
        items.push(deposit_view(
            d,
            decimals,
            block_time_of(&state, &d.chain),
            lang,
        ));
    }
    let next_cursor = (rows.len() as i64 > limit)
        .then(|| items.last().map(|d| d.id.clone()))
        .flatten();
    Ok(ApiJson(DepositList { items, next_cursor }))
}

/// One of the caller's deposits.
#[utoipa::path(get, path = "/api/v1/deposits/{id}", tag = "wallet", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, body = DepositView)))]
pub async fn deposit(
    State(state): State<AppState>,
    lang: Lang,
    current: CurrentSession,
    Path(id): Path<String>,
) -> Result<ApiJson<DepositView>, ApiError> {
    let d = state
        .db
        .deposit_of(&current.user.id, &id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let decimals = decimals_of(&state, &d.asset).await?;
    Ok(ApiJson(deposit_view(
        &d,
        decimals,
        block_time_of(&state, &d.chain),
        lang,
    )))
}

/// Sends a simulated deposit (present only while the simulated chain runs).
#[utoipa::path(post, path = "/api/v1/sim/deposits", tag = "wallet", security(("bearer" = [])),
    request_body = SimDepositRequest,
    responses((status = 201, body = SimDeposit), (status = 404, description = "No simulated chain runs")))]
pub async fn sim_deposit(
    State(state): State<AppState>,
    _current: CurrentSession,
    ApiJson(request): ApiJson<SimDepositRequest>,
) -> Result<(StatusCode, ApiJson<SimDeposit>), ApiError> {
    let Some(wallet) = state.wallet.as_deref().filter(|w| w.has_sim()) else {
        return Err(ApiError::not_found());
    };
    let asset = parse_asset(&state, &request.asset).await?;
    let amount = parse_amount(&request.amount, asset.decimals)?;
    let address = parse_address(&request.address)?;
    let hash = wallet
        .sim_deposit(address, &asset.code, amount, asset.decimals)
        .ok_or_else(|| ApiError::new(Reason::AssetNotSupported))?;
    Ok((
        StatusCode::CREATED,
        ApiJson(SimDeposit {
            tx_hash: hash.to_string(),
            simulated: true,
        }),
    ))
}

// --- withdrawals -------------------------------------------------------------------------------

/// Asks for a withdrawal. The amount plus fee is held at once; refusals carry a `code`.
#[utoipa::path(post, path = "/api/v1/withdrawals", tag = "wallet", security(("bearer" = [])),
    request_body = WithdrawRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Same key and body: the first answer again")),
    responses((status = 201, body = WithdrawalView)))]
pub async fn withdraw(
    State(state): State<AppState>,
    lang: Lang,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    MayMoveMoney(current): MayMoveMoney,
    ApiJson(request): ApiJson<WithdrawRequest>,
) -> Response {
    let user_id = current.user.id.clone();
    crate::idempotency::idempotent(
        &state,
        &user_id,
        &headers,
        "POST /api/v1/withdrawals",
        &request,
        async {
            match make_withdrawal(&state, lang, &origin, current, &request).await {
                Ok(view) => (StatusCode::CREATED, ApiJson(view)).into_response(),
                Err(e) => e.into_response(),
            }
        },
    )
    .await
}

/// The withdrawal rules behind both the API and the withdraw page.
pub async fn make_withdrawal(
    state: &AppState,
    lang: Lang,
    origin: &Origin,
    current: CurrentSession,
    request: &WithdrawRequest,
) -> Result<WithdrawalView, ApiError> {
    let asset = parse_asset(state, &request.asset).await?;
    let amount = parse_amount(&request.amount, asset.decimals)?;
    let address = parse_address(&request.address)?;
    let wallet = wallet_of(state)?;
    let stepped_up = SteppedUp::check(current.clone()).is_ok();
    let parsed = WithdrawalRequest {
        asset: asset.code.clone(),
        address,
        amount,
        stepped_up,
    };
    match wallet
        .request_withdrawal(&current.user, &parsed, asset.decimals)
        .await?
    {
        Ok(w) => {
            state
                .db
                .audit(
                    &current.user.id,
                    "withdrawal.request",
                    &format!("withdrawal:{}", w.id),
                    &serde_json::json!({"asset": w.asset, "amount": request.amount, "status": w.status})
                        .to_string(),
                )
                .await?;
            let view = withdrawal_view(&w, asset.decimals, lang);
            // The owner hears of every withdrawal, with a link that freezes the account (and so
            // stops a withdrawal that is still queued).
            let mail = crate::mail::withdrawal_requested(
                &state.settings,
                &current.user,
                origin,
                &format!("{} {}", view.amount, view.asset),
                &view.address,
            );
            state.db.enqueue_mail(&mail).await?;
            Ok(view)
        }
        Err(refusal) => Err(ApiError::new(Reason::WithdrawalRefused {
            refusal,
            asset: asset.code.as_str().to_owned(),
            decimals: asset.decimals,
        })),
    }
}

/// The caller's withdrawals, newest first.
#[utoipa::path(get, path = "/api/v1/withdrawals", tag = "wallet", security(("bearer" = [])),
    params(Page), responses((status = 200, body = WithdrawalList)))]
pub async fn withdrawals(
    State(state): State<AppState>,
    lang: Lang,
    current: CurrentSession,
    Query(page): Query<Page>,
) -> Result<ApiJson<WithdrawalList>, ApiError> {
    let limit = page_limit(&page);
    let rows = state
        .db
        .withdrawals_of(&current.user.id, limit + 1, page.cursor.as_deref())
        .await?;
    let assets = state.db.assets().await?;
    let items: Vec<WithdrawalView> = rows
        .iter()
        .take(usize::try_from(limit).unwrap_or(20))
        .map(|w| {
            let decimals = asset_decimals(&assets, &w.asset);
            withdrawal_view(w, decimals, lang)
        })
        .collect();
    let next_cursor = (rows.len() as i64 > limit)
        .then(|| items.last().map(|w| w.id.clone()))
        .flatten();
    Ok(ApiJson(WithdrawalList { items, next_cursor }))
}

/// One of the caller's withdrawals.
#[utoipa::path(get, path = "/api/v1/withdrawals/{id}", tag = "wallet", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, body = WithdrawalView)))]
pub async fn withdrawal(
    State(state): State<AppState>,
    lang: Lang,
    current: CurrentSession,
    Path(id): Path<String>,
) -> Result<ApiJson<WithdrawalView>, ApiError> {
    let w = state
        .db
        .withdrawal(&id)
        .await?
        .filter(|w| w.user_id == current.user.id)
        .ok_or_else(ApiError::not_found)?;
    let decimals = decimals_of(&state, &w.asset).await?;
    Ok(ApiJson(withdrawal_view(&w, decimals, lang)))
}

// --- the address book --------------------------------------------------------------------------

/// The caller's withdrawal address book and whether allowlist mode is on.
#[utoipa::path(get, path = "/api/v1/withdrawal-addresses", tag = "wallet", security(("bearer" = [])),
    responses((status = 200, body = AddressList)))]
pub async fn address_book(
    State(state): State<AppState>,
    current: CurrentSession,
) -> Result<ApiJson<AddressList>, ApiError> {
    let items = state
        .db
        .withdrawal_addresses(&current.user.id)
        .await?
        .iter()
        .map(address_view)
        .collect();
    Ok(ApiJson(AddressList {
        items,
        allowlist: current.user.withdrawal_allowlist,
        next_cursor: None,
    }))
}

/// Adds an address to the book. Needs a fresh second factor; usable after the time-lock.
#[utoipa::path(post, path = "/api/v1/withdrawal-addresses", tag = "wallet", security(("bearer" = [])),
    request_body = NewAddress,
    responses((status = 201, body = AddressView), (status = 200, description = "Already in the book", body = AddressView)))]
pub async fn add_address(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    stepped_up: SteppedUp,
    ApiJson(request): ApiJson<NewAddress>,
) -> Result<(StatusCode, ApiJson<AddressView>), ApiError> {
    let (entry, created) = add_book_entry(&state, &origin, &stepped_up.0, &request).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, ApiJson(address_view(&entry))))
}

/// The address-book rules behind both the API and the withdraw page (the caller has stepped up).
pub async fn add_book_entry(
    state: &AppState,
    origin: &Origin,
    current: &CurrentSession,
    request: &NewAddress,
) -> Result<(AddressEntry, bool), ApiError> {
    let asset = parse_asset(state, &request.asset).await?;
    let address = parse_address(&request.address)?;
    let label: String = request.label.trim().chars().take(64).collect();
    let wallet = wallet_of(state)?;
    let (entry, created) = wallet
        .add_book_address(&current.user.id, &asset.code, address, &label)
        .await?
        .ok_or_else(|| ApiError::new(Reason::AssetNotSupported))?;
    if created {
        state
            .db
            .audit(
                &current.user.id,
                "withdrawal_address.add",
                &format!("user:{}", current.user.id),
                &serde_json::json!({"chain": entry.chain, "address": entry.address, "usable_from": rfc3339(entry.usable_from_ms)})
                    .to_string(),
            )
            .await?;
        let mail = crate::mail::withdrawal_address_added(
            &state.settings,
            &current.user,
            origin,
            &checksummed(&entry.address),
            entry.usable_from_ms,
        );
        state.db.enqueue_mail(&mail).await?;
    }
    Ok((entry, created))
}

/// Removes an address from the caller's book.
#[utoipa::path(delete, path = "/api/v1/withdrawal-addresses/{id}", tag = "wallet", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 204, description = "Removed")))]
pub async fn remove_address(
    State(state): State<AppState>,
    current: CurrentSession,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if state
        .db
        .remove_withdrawal_address(&current.user.id, &id)
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found())
    }
}

/// Turns allowlist mode on (at once) or off (needs a fresh second factor, and pauses
/// withdrawals for the security lock period, as any weakening of protection does).
#[utoipa::path(put, path = "/api/v1/me/withdrawal-allowlist", tag = "wallet", security(("bearer" = [])),
    request_body = AllowlistRequest, responses((status = 204, description = "Set")))]
pub async fn set_allowlist(
    State(state): State<AppState>,
    current: CurrentSession,
    ApiJson(request): ApiJson<AllowlistRequest>,
) -> Result<StatusCode, ApiError> {
    set_allowlist_for(&state, &current, request.enabled).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The allowlist rule behind both the API and the withdraw page: turning it on is free; turning
/// it off needs a fresh step-up and pauses withdrawals for the security lock period.
pub async fn set_allowlist_for(
    state: &AppState,
    current: &CurrentSession,
    enabled: bool,
) -> Result<(), ApiError> {
    if !enabled && current.user.withdrawal_allowlist {
        SteppedUp::check(current.clone())?;
        state
            .db
            .lock_withdrawals_until(
                &current.user.id,
                store::now_ms() + state.settings.withdrawal_lock_ms,
            )
            .await?;
    }
    state
        .db
        .set_withdrawal_allowlist(&current.user.id, enabled)
        .await?;
    state
        .db
        .audit(
            &current.user.id,
            "withdrawal_allowlist.set",
            &format!("user:{}", current.user.id),
            &serde_json::json!({"enabled": enabled}).to_string(),
        )
        .await?;
    Ok(())
}

// --- review ------------------------------------------------------------------------------------

fn require_reviewer(current: &CurrentSession) -> Result<(), ApiError> {
    match current.user.role {
        identity::Role::Supervisor | identity::Role::Admin => Ok(()),
        _ => Err(ApiError::new(Reason::Forbidden)),
    }
}

/// Withdrawals waiting for a supervisor (supervisors and admins).
#[utoipa::path(get, path = "/api/v1/review/withdrawals", tag = "wallet", security(("bearer" = [])),
    responses((status = 200, body = WithdrawalList)))]
pub async fn review_queue(
    State(state): State<AppState>,
    lang: Lang,
    current: CurrentSession,
) -> Result<ApiJson<WithdrawalList>, ApiError> {
    require_reviewer(&current)?;
    let rows = state
        .db
        .withdrawals_in(None, &[store::wallet::withdrawal_status::UNDER_REVIEW])
        .await?;
    let assets = state.db.assets().await?;
    state
        .db
        .audit(
            &current.user.id,
            "review.withdrawals.view",
            "review:withdrawals",
            "{}",
        )
        .await?;
    Ok(ApiJson(WithdrawalList {
        items: rows
            .iter()
            .map(|w| {
                let decimals = asset_decimals(&assets, &w.asset);
                withdrawal_view(w, decimals, lang)
            })
            .collect(),
        next_cursor: None,
    }))
}

/// Approves or rejects a withdrawal under review (a fresh second factor required).
#[utoipa::path(post, path = "/api/v1/review/withdrawals/{id}", tag = "wallet", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = ReviewRequest,
    responses((status = 200, body = WithdrawalView)))]
pub async fn review(
    State(state): State<AppState>,
    lang: Lang,
    current: CurrentSession,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<ReviewRequest>,
) -> Result<ApiJson<WithdrawalView>, ApiError> {
    require_reviewer(&current)?;
    let current = SteppedUp::check(current)?.0;
    decide(
        &state,
        &current,
        &id,
        &request.decision,
        &request.note,
        lang,
    )
    .await
    .map(ApiJson)
}

/// The review decision behind both the API and the review page.
pub async fn decide(
    state: &AppState,
    reviewer: &CurrentSession,
    id: &str,
    decision: &str,
    note: &str,
    lang: Lang,
) -> Result<WithdrawalView, ApiError> {
    let approve = match decision {
        "approve" => true,
        "reject" => false,
        _ => {
            return Err(ApiError::new(Reason::InvalidField {
                field: "decision".into(),
                problem: crate::error::FieldProblem::Invalid("approve or reject".into()),
            }))
        }
    };
    let note = note.trim();
    if !approve && note.is_empty() {
        return Err(ApiError::new(Reason::InvalidField {
            field: "note".into(),
            problem: crate::error::FieldProblem::Missing,
        }));
    }
    let wallet = wallet_of(state)?;
    if state.db.withdrawal(id).await?.is_none() {
        return Err(ApiError::not_found());
    }
    if !wallet.review(id, approve, &reviewer.user.id, note).await? {
        return Err(ApiError::new(Reason::NotUnderReview));
    }
    let w = state
        .db
        .withdrawal(id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    state
        .db
        .audit(
            &reviewer.user.id,
            if approve {
                "withdrawal.approve"
            } else {
                "withdrawal.reject"
            },
            &format!("withdrawal:{id}"),
            &serde_json::json!({"note": note, "user": w.user_id}).to_string(),
        )
        .await?;
    let decimals = decimals_of(state, &w.asset).await?;
    Ok(withdrawal_view(&w, decimals, lang))
}
