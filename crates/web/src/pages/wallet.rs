//! `/deposit`, `/withdraw` and the supervisors' `/admin/withdrawals`: the wallet's pages.
//!
//! Every action is the API's own rule, called with the page's session (`make_withdrawal`,
//! `add_book_entry`, `decide`), so a page can do nothing the API would refuse and refuses with
//! the same localized words. Adding an address and deciding a review need a fresh second
//! factor: the form carries the proof fields (`proof.html`) unless the session stepped up in the
//! last few minutes.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use identity::Role;
use ledger::{Amount, AssetCode};
use serde::Deserialize;
use store::wallet::{deposit_status, Deposit, Withdrawal};
use wallet::AddressAnswer;

use super::account::Empty;
use super::admin::{ConsoleRoles, StaffConsole};
use super::security::{page_time, qr_svg, step_up_with, ProofForm};
use super::{percent_encode, CsrfForm, PageCtx, SignedIn};
use crate::api::wallet::{
    add_book_entry, asset_decimals, balance_rows, decide, deposit_view, make_withdrawal,
    network_warning, parse_address, parse_amount, parse_asset, set_allowlist_for, withdrawal_view,
    Balance, NewAddress, WithdrawRequest,
};
use crate::auth::{CurrentSession, SteppedUp};
use crate::error::{ApiError, Reason};
use crate::lang::Lang;
use crate::AppState;
use store::wallet::IdempotencyBegin;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/deposit", get(deposit_page))
        .route("/withdraw", get(withdraw_page).post(withdraw))
        .route("/withdraw/addresses", post(add_address))
        .route("/withdraw/allowlist", post(set_allowlist))
        .route("/withdraw/addresses/{id}/remove", post(remove_address))
        .route("/admin/withdrawals", get(review_page))
        .route("/admin/withdrawals/{id}", post(review))
}

/// Supervisors and administrators review large withdrawals.
pub struct ReviewRoles;

impl ConsoleRoles for ReviewRoles {
    const ROLES: &'static [Role] = &[Role::Supervisor, Role::Admin];
}

// --- shared pieces -----------------------------------------------------------------------------

/// One asset in the asset switch at the top of the deposit and withdraw pages.
pub struct AssetTab {
    pub code: String,
    pub name: String,
    pub href: String,
    pub selected: bool,
}

/// The asset switch, and the code of the asset chosen (the query's, else the first one a
/// chain carries, else the first one).
pub(super) async fn asset_tabs(
    state: &AppState,
    base: &str,
    asked: Option<&str>,
) -> Result<(Vec<AssetTab>, String), ApiError> {
    let listing = state.db.asset_listing().await?;
    let carried = |code: &AssetCode| {
        state
            .wallet
            .as_deref()
            .is_some_and(|w| w.asset(code).is_some())
    };
    let asked = asked.map(|a| a.trim().to_ascii_uppercase());
    let selected = listing
        .iter()
        .find(|a| Some(a.code.as_str()) == asked.as_deref())
        .or_else(|| listing.iter().find(|a| carried(&a.code)))
        .or_else(|| listing.first())
        .map(|a| a.code.as_str().to_owned())
        .unwrap_or_default();
    let tabs = listing
        .iter()
        .map(|a| AssetTab {
            code: a.code.as_str().to_owned(),
            name: a.name.clone(),
            href: format!("{base}?asset={}", percent_encode(a.code.as_str())),
            selected: a.code.as_str() == selected,
        })
        .collect();
    Ok((tabs, selected))
}

/// A badge's colour for a status.
pub(super) fn badge_of(status: &str) -> &'static str {
    match status {
        "credited" | "completed" => "ok",
        "orphaned" | "too_small" | "rejected" | "failed_refunded" | "refused" => "danger",
        _ => "warn",
    }
}

/// "about 9 s", "约 2 分钟": how long until something happens.
fn duration_text(seconds: u64, lang: Lang) -> String {
    match seconds {
        0..=59 => lang.pick(format!("{seconds} s"), format!("{seconds} 秒")),
        60..=3599 => {
            let minutes = seconds.div_ceil(60);
            lang.pick(format!("{minutes} min"), format!("{minutes} 分钟"))
        }
        _ => {
            let hours = seconds.div_ceil(3600);
            lang.pick(format!("{hours} h"), format!("{hours} 小时"))
        }
    }
}

/// Milliseconds since the epoch to the second, for times only seconds away (a short time-lock).
pub(super) fn page_time_s(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}

fn show(minor: i64, decimals: u8) -> String {
    Amount::from_minor(minor)
        .unwrap_or_default()
        .to_decimal_string(decimals)
}

/// A refusal as a form shows it: the problem's title, its localized detail and its code.
pub struct Refusal {
    pub title: String,
    pub detail: String,
    pub code: String,
}

fn refusal_of(ctx: &PageCtx, error: &ApiError) -> Refusal {
    let (detail, hints) = ctx.refusal(error);
    let problem = error.problem(ctx.lang, None);
    let detail = if hints.is_empty() {
        detail
    } else {
        hints.join(" ")
    };
    Refusal {
        title: problem.title,
        detail,
        code: error.reason().code().to_owned(),
    }
}

/// Whether the person proves a second factor with a code, a passkey or (with neither) the
/// password, as `proof.html` asks.
pub(super) async fn proof_kind(state: &AppState, user_id: &str) -> Result<(bool, bool), ApiError> {
    let totp = state
        .db
        .totp_factor(user_id)
        .await?
        .is_some_and(|f| f.confirmed);
    let passkey = state.db.passkey_count(user_id).await? > 0;
    Ok((totp, passkey))
}

/// The session stepped up: with the form's proof when it carries one, else as it already is.
async fn stepped_up(
    state: &AppState,
    ctx: &PageCtx,
    current: &CurrentSession,
    proof: ProofForm,
) -> Result<SteppedUp, ApiError> {
    if proof.is_empty() {
        SteppedUp::check(current.clone())
    } else {
        step_up_with(state, ctx, current, proof).await
    }
}

/// The session stepped up with the form's proof when it carries one; as it is otherwise.
pub(super) async fn stepped_up_if_proved(
    state: &AppState,
    ctx: &PageCtx,
    current: &CurrentSession,
    proof: ProofForm,
) -> Result<CurrentSession, ApiError> {
    if proof.is_empty() {
        Ok(current.clone())
    } else {
        Ok(step_up_with(state, ctx, current, proof).await?.0)
    }
}

// --- deposits ----------------------------------------------------------------------------------

/// Where to send a deposit of the chosen asset.
pub struct DepositTarget {
    pub address: String,
    pub chain: String,
    pub simulated: bool,
    pub warning: String,
    pub qr_svg: String,
    pub confirmations: u32,
    pub wait: String,
}

/// A deposit as the page lists it.
pub struct DepositLine {
    pub status: String,
    pub asset: String,
    pub amount: String,
    pub label: String,
    pub meaning: String,
    pub next_step: String,
    pub badge: &'static str,
    pub confirmations: i64,
    pub required: i64,
    pub eta: String,
    pub tx_hash: String,
    pub from_address: String,
    pub detected: String,
    pub credited: Option<String>,
    pub simulated: bool,
}

#[derive(Template)]
#[template(path = "deposit.html")]
struct DepositPage<'a> {
    ctx: &'a PageCtx,
    tabs: Vec<AssetTab>,
    selected: String,
    target: Option<DepositTarget>,
    pending: Vec<DepositLine>,
    history: Vec<DepositLine>,
    refresh_href: String,
    /// Current announcements affecting deposits of the chosen asset.
    notices: Vec<crate::api::help::AnnouncementView>,
}

#[derive(Deserialize)]
struct AssetQuery {
    asset: Option<String>,
    notice: Option<String>,
    done: Option<String>,
}

async fn deposit_page(
    State(state): State<AppState>,
    Query(query): Query<AssetQuery>,
    SignedIn { ctx, current }: SignedIn,
) -> Response {
    let page: Result<DepositPage, ApiError> = async {
        let (tabs, selected) = asset_tabs(&state, "/deposit", query.asset.as_deref()).await?;
        let target = deposit_target(&state, &current, &selected, ctx.lang).await?;
        let (pending, history) = deposit_lines(&state, &current, ctx.lang).await?;
        let notices =
            super::help::banner_notices(&state, ctx.lang, "deposit", Some(&selected)).await;
        Ok(DepositPage {
            ctx: &ctx,
            notices,
            refresh_href: format!("/deposit?asset={}", percent_encode(&selected)),
            tabs,
            selected,
            target,
            pending,
            history,
        })
    }
    .await;
    match page {
        Ok(page) => ctx.render(StatusCode::OK, &page),
        Err(e) => ctx.error(&e),
    }
}

async fn deposit_target(
    state: &AppState,
    current: &CurrentSession,
    code: &str,
    lang: Lang,
) -> Result<Option<DepositTarget>, ApiError> {
    let Some(wallet) = state.wallet.as_deref() else {
        return Ok(None);
    };
    let Some(code) = AssetCode::parse(code) else {
        return Ok(None);
    };
    let Some((runtime, settings)) = wallet.asset(&code) else {
        return Ok(None);
    };
    let confirmations = settings.confirmations;
    let block_time_s = runtime.settings.block_time_s;
    match wallet.deposit_address(&current.user.id, &code).await? {
        AddressAnswer::Address {
            address,
            chain,
            simulated,
        } => {
            let address = address.to_string();
            Ok(Some(DepositTarget {
                warning: network_warning(code.as_str(), &chain, simulated, lang),
                qr_svg: qr_svg(&address).unwrap_or_default(),
                address,
                chain,
                simulated,
                confirmations,
                wait: duration_text(u64::from(confirmations) * block_time_s, lang),
            }))
        }
        AddressAnswer::NotDepositable => Ok(None),
    }
}

/// The caller's deposits: those still confirming, and the rest.
async fn deposit_lines(
    state: &AppState,
    current: &CurrentSession,
    lang: Lang,
) -> Result<(Vec<DepositLine>, Vec<DepositLine>), ApiError> {
    let rows = state.db.deposits_of(&current.user.id, 50, None).await?;
    let assets = state.db.assets().await?;
    let (mut pending, mut history) = (Vec::new(), Vec::new());
    for d in &rows {
        let line = deposit_line(state, d, asset_decimals(&assets, &d.asset), lang);
        if matches!(
            d.status.as_str(),
            deposit_status::DETECTED | deposit_status::CONFIRMING
        ) {
            pending.push(line);
        } else {
            history.push(line);
        }
    }
    Ok((pending, history))
}

fn deposit_line(state: &AppState, d: &Deposit, decimals: u8, lang: Lang) -> DepositLine {
    let block_time_s = state
        .wallet
        .as_deref()
        .and_then(|w| w.chain(&d.chain))
        .map_or(12, |c| c.settings.block_time_s);
    let view = deposit_view(d, decimals, block_time_s, lang);
    DepositLine {
        badge: badge_of(&view.status),
        status: view.status.clone(),
        eta: duration_text(view.eta_s, lang),
        asset: view.asset,
        amount: view.amount,
        label: view.status_text.label,
        meaning: view.status_text.meaning,
        next_step: view.status_text.next_step,
        confirmations: view.confirmations.min(view.confirmations_required),
        required: view.confirmations_required,
        tx_hash: view.tx_hash,
        from_address: view.from_address,
        detected: page_time(d.detected_at_ms),
        credited: d.credited_at_ms.map(page_time),
        simulated: view.simulated,
    }
}

// --- withdrawals -------------------------------------------------------------------------------

/// The chosen asset's network and limits.
pub struct WithdrawTarget {
    pub chain: String,
    pub simulated: bool,
    pub min: String,
    pub fee: String,
    pub daily_limit: String,
    pub review_above: String,
    pub confirmations: u32,
    pub available: String,
}

/// An address-book entry as the page lists it.
pub struct BookLine {
    pub id: String,
    pub chain: String,
    pub address: String,
    pub label: String,
    pub usable_from: String,
    pub usable_now: bool,
    /// On the chosen asset's network (offered in the withdrawal form).
    pub here: bool,
}

impl BookLine {
    /// What the address menu shows: the label, the address shortened, and when it is usable.
    pub fn option_text(&self, ctx: &PageCtx) -> String {
        let a = &self.address;
        let short = if a.len() > 14 {
            format!("{}…{}", &a[..8], &a[a.len() - 6..])
        } else {
            a.clone()
        };
        let named = if self.label.is_empty() {
            short
        } else {
            format!("{} — {short}", self.label)
        };
        if self.usable_now {
            named
        } else {
            format!(
                "{named} ({} {})",
                ctx.t("book.usable_from"),
                self.usable_from
            )
        }
    }
}

/// Amount plus fee, before anything is asked.
pub struct Preview {
    pub amount: String,
    pub fee: String,
    pub total: String,
    pub available_after: String,
    pub enough: bool,
    pub reviewed: bool,
}

/// A withdrawal as the page lists it.
pub struct WithdrawalLine {
    pub status: String,
    pub asset: String,
    pub amount: String,
    pub fee: String,
    pub address: String,
    pub label: String,
    pub meaning: String,
    pub next_step: String,
    pub badge: &'static str,
    pub reason: Option<String>,
    pub review_note: Option<String>,
    pub tx_hash: Option<String>,
    pub confirming: bool,
    pub confirmations: i64,
    pub required: i64,
    pub created: String,
    pub finished: Option<String>,
    pub simulated: bool,
}

fn withdrawal_line(w: &Withdrawal, decimals: u8, lang: Lang) -> WithdrawalLine {
    let view = withdrawal_view(w, decimals, lang);
    WithdrawalLine {
        badge: badge_of(&view.status),
        confirming: view.status == "confirming",
        status: view.status.clone(),
        asset: view.asset,
        amount: view.amount,
        fee: view.fee,
        address: view.address,
        label: view.status_text.label,
        meaning: view.status_text.meaning,
        next_step: view.status_text.next_step,
        reason: view.reason_text,
        review_note: view.review_note.filter(|n| !n.is_empty()),
        tx_hash: view.tx_hash,
        confirmations: view.confirmations.min(view.confirmations_required),
        required: view.confirmations_required,
        created: page_time(w.created_at_ms),
        finished: w.finished_at_ms.map(page_time),
        simulated: view.simulated,
    }
}

#[derive(Template)]
#[template(path = "withdraw.html")]
struct WithdrawPage<'a> {
    ctx: &'a PageCtx,
    tabs: Vec<AssetTab>,
    selected: String,
    balances: Vec<Balance>,
    target: Option<WithdrawTarget>,
    book: Vec<BookLine>,
    /// Whether some entry is on the chosen asset's network.
    book_here: bool,
    form_address: String,
    form_amount: String,
    preview: Option<Preview>,
    notice: Option<String>,
    error: Option<Refusal>,
    add_error: Option<Refusal>,
    add_address: String,
    add_label: String,
    stepped_up: bool,
    totp_enabled: bool,
    has_passkey: bool,
    frozen: bool,
    history: Vec<WithdrawalLine>,
    /// Withdrawals go only to book entries (allowlist mode).
    allowlist: bool,
    /// A fresh key per rendered form: the same form posted twice (a double click, a resend)
    /// makes one withdrawal.
    form_key: String,
    /// Current announcements affecting withdrawals of the chosen asset.
    notices: Vec<crate::api::help::AnnouncementView>,
}

/// What the withdraw page shows besides its lists: the form's values and any message.
#[derive(Default)]
struct WithdrawState {
    asset: Option<String>,
    address: String,
    amount: String,
    preview: Option<Preview>,
    notice: Option<String>,
    error: Option<Refusal>,
    add_error: Option<Refusal>,
    add_address: String,
    add_label: String,
}

async fn withdraw_page(
    State(state): State<AppState>,
    Query(query): Query<AssetQuery>,
    SignedIn { ctx, current }: SignedIn,
) -> Response {
    let mut notice = query
        .notice
        .as_deref()
        .and_then(|n| match n {
            "address_added" => Some("book.added"),
            "address_exists" => Some("book.exists"),
            "address_removed" => Some("book.removed"),
            "allowlist_on" => Some("book.allowlist_now_on"),
            "allowlist_off" => Some("book.allowlist_now_off"),
            _ => None,
        })
        .map(|key| ctx.t(key).to_owned());
    if let Some(id) = query.done.as_deref() {
        match state.db.withdrawal(id).await {
            Ok(Some(w)) if w.user_id == current.user.id => {
                let label = crate::status::withdrawal(&w.status, ctx.lang);
                notice = Some(match ctx.lang {
                    Lang::En => format!(
                        "{} {} — {}",
                        ctx.t("withdraw.done"),
                        label.label,
                        label.meaning
                    ),
                    Lang::ZhCn => format!(
                        "{}{}。{}",
                        ctx.t("withdraw.done"),
                        label.label,
                        label.meaning
                    ),
                });
            }
            Ok(_) => {}
            Err(e) => return ctx.error(&e.into()),
        }
    }
    let page = WithdrawState {
        asset: query.asset,
        notice,
        ..WithdrawState::default()
    };
    render_withdraw(&state, &ctx, &current, page, StatusCode::OK).await
}

async fn render_withdraw(
    state: &AppState,
    ctx: &PageCtx,
    current: &CurrentSession,
    page: WithdrawState,
    status: StatusCode,
) -> Response {
    let built: Result<WithdrawPage, ApiError> = async {
        let (tabs, selected) = asset_tabs(state, "/withdraw", page.asset.as_deref()).await?;
        let balances = balance_rows(state, &current.user.id).await?;
        let available_of = |code: &str| {
            balances
                .iter()
                .find(|b| b.asset == code)
                .map_or_else(String::new, |b| b.available.clone())
        };
        let assets = state.db.assets().await?;
        let decimals = asset_decimals(&assets, &selected);
        let settings = state.wallet.as_deref().and_then(|w| {
            AssetCode::parse(&selected).and_then(|code| {
                w.asset(&code).map(|(runtime, s)| {
                    (
                        runtime.settings.id.clone(),
                        runtime.chain.simulated(),
                        s.clone(),
                    )
                })
            })
        });
        let target = settings
            .as_ref()
            .map(|(chain, simulated, s)| WithdrawTarget {
                chain: chain.clone(),
                simulated: *simulated,
                min: s.min_withdrawal.to_decimal_string(decimals),
                fee: s.withdrawal_fee.to_decimal_string(decimals),
                daily_limit: s.daily_limit.to_decimal_string(decimals),
                review_above: s.review_above.to_decimal_string(decimals),
                confirmations: s.confirmations,
                available: available_of(&selected),
            });
        let now = store::now_ms();
        let book: Vec<BookLine> = state
            .db
            .withdrawal_addresses(&current.user.id)
            .await?
            .into_iter()
            .map(|e| BookLine {
                here: target.as_ref().is_some_and(|t| t.chain == e.chain),
                address: parse_address(&e.address)
                    .map_or_else(|_| e.address.clone(), |a| a.to_string()),
                usable_from: page_time_s(e.usable_from_ms),
                usable_now: e.usable_from_ms <= now,
                id: e.id,
                chain: e.chain,
                label: e.label,
            })
            .collect();
        let history = state
            .db
            .withdrawals_of(&current.user.id, 50, None)
            .await?
            .iter()
            .map(|w| withdrawal_line(w, asset_decimals(&assets, &w.asset), ctx.lang))
            .collect();
        let (totp_enabled, has_passkey) = proof_kind(state, &current.user.id).await?;
        let notices =
            super::help::banner_notices(state, ctx.lang, "withdraw", Some(&selected)).await;
        Ok(WithdrawPage {
            ctx,
            notices,
            book_here: book.iter().any(|b| b.here),
            tabs,
            selected,
            balances,
            target,
            book,
            form_address: page.address,
            form_amount: page.amount,
            preview: page.preview,
            notice: page.notice,
            error: page.error,
            add_error: page.add_error,
            add_address: page.add_address,
            add_label: page.add_label,
            stepped_up: SteppedUp::check(current.clone()).is_ok(),
            totp_enabled,
            has_passkey,
            frozen: current.user.is_frozen(now),
            history,
            form_key: store::new_id(),
            allowlist: current.user.withdrawal_allowlist,
        })
    }
    .await;
    match built {
        Ok(page) => ctx.render(status, &page),
        Err(e) => ctx.error(&e),
    }
}

#[derive(Deserialize)]
struct WithdrawForm {
    #[serde(default)]
    asset: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    amount: String,
    /// `preview` shows amount + fee; anything else asks for the withdrawal.
    #[serde(default)]
    action: String,
    /// The rendered form's key (see `WithdrawPage::form_key`).
    #[serde(default)]
    form_key: String,
    /// With allowlist mode off, a withdrawal outside the book needs a fresh step-up.
    #[serde(flatten)]
    proof: ProofForm,
}

/// The fee preview: what would be debited, and what would be left.
async fn preview(
    state: &AppState,
    current: &CurrentSession,
    form: &WithdrawForm,
) -> Result<Preview, ApiError> {
    let asset = parse_asset(state, &form.asset).await?;
    let amount = parse_amount(&form.amount, asset.decimals)?;
    let (fee, review_above) = state
        .wallet
        .as_deref()
        .and_then(|w| w.asset(&asset.code))
        .map(|(_, s)| (s.withdrawal_fee, s.review_above))
        .ok_or_else(|| ApiError::new(Reason::AssetNotSupported))?;
    let total = amount.checked_add(fee).ok_or_else(|| {
        ApiError::new(Reason::InvalidAmount {
            decimals: asset.decimals,
        })
    })?;
    let available = state
        .db
        .account(&store::accounts::user_account_id(
            &current.user.id,
            &asset.code,
        ))
        .await?
        .map_or(0, |a| a.available());
    let after = available.saturating_sub(total.minor());
    Ok(Preview {
        amount: amount.to_decimal_string(asset.decimals),
        fee: fee.to_decimal_string(asset.decimals),
        total: total.to_decimal_string(asset.decimals),
        available_after: show(after.max(0), asset.decimals),
        enough: after >= 0,
        reviewed: amount > review_above,
    })
}

async fn withdraw(
    State(state): State<AppState>,
    CsrfForm { ctx, form }: CsrfForm<WithdrawForm>,
) -> Response {
    let Some(current) = ctx.current.clone() else {
        return ctx.to_login();
    };
    let mut page = WithdrawState {
        asset: Some(form.asset.clone()),
        address: form.address.clone(),
        amount: form.amount.clone(),
        ..WithdrawState::default()
    };
    let result = if form.action == "preview" {
        match preview(&state, &current, &form).await {
            Ok(p) => {
                page.preview = Some(p);
                return render_withdraw(&state, &ctx, &current, page, StatusCode::OK).await;
            }
            Err(e) => Err(e),
        }
    } else if current.user.is_frozen(store::now_ms()) {
        // The money guard the API's route takes (`MayMoveMoney`).
        Err(ApiError::new(Reason::AccountFrozen))
    } else {
        let request = WithdrawRequest {
            asset: form.asset.trim().to_owned(),
            address: form.address.trim().to_owned(),
            amount: form.amount.trim().to_owned(),
        };
        match stepped_up_if_proved(&state, &ctx, &current, form.proof).await {
            Ok(acting) => once_per_form(&state, &ctx, &acting, &form.form_key, &request).await,
            Err(e) => Err(e),
        }
    };
    match result {
        Ok(view) => ctx.see_other(&format!(
            "/withdraw?asset={}&done={}#history",
            percent_encode(&view.asset),
            percent_encode(&view.id)
        )),
        Err(e) if e.status().is_client_error() => {
            page.error = Some(refusal_of(&ctx, &e));
            render_withdraw(&state, &ctx, &current, page, e.status()).await
        }
        Err(e) => ctx.error(&e),
    }
}

/// Makes the withdrawal a form asks for, once per form key: a second post of the same form
/// answers with the withdrawal the first one made (or "still in progress").
async fn once_per_form(
    state: &AppState,
    ctx: &PageCtx,
    current: &crate::auth::CurrentSession,
    form_key: &str,
    request: &WithdrawRequest,
) -> Result<crate::api::wallet::WithdrawalView, ApiError> {
    let key = format!("page:{}", form_key.trim());
    if form_key.trim().is_empty() || key.len() > 255 {
        return make_withdrawal(state, ctx.lang, &ctx.origin, current.clone(), request).await;
    }
    let hash = serde_json::to_string(request).unwrap_or_default();
    let user = &current.user.id;
    match state
        .db
        .idempotency_begin(user, &key, "page /withdraw", &hash)
        .await?
    {
        IdempotencyBegin::Fresh => {
            let made =
                make_withdrawal(state, ctx.lang, &ctx.origin, current.clone(), request).await;
            match &made {
                Ok(view) => {
                    state
                        .db
                        .idempotency_finish(user, &key, 201, &view.id)
                        .await?
                }
                Err(_) => state.db.idempotency_abandon(user, &key).await?,
            }
            made
        }
        IdempotencyBegin::Replay { body, .. } => {
            let w = state
                .db
                .withdrawal(&body)
                .await?
                .filter(|w| &w.user_id == user)
                .ok_or_else(ApiError::not_found)?;
            let decimals = parse_asset(state, &w.asset).await?.decimals;
            Ok(crate::api::wallet::withdrawal_view(&w, decimals, ctx.lang))
        }
        IdempotencyBegin::Conflict => Err(ApiError::new(Reason::IdempotencyConflict)),
        IdempotencyBegin::InFlight => Err(ApiError::new(Reason::IdempotencyInFlight)),
    }
}

#[derive(Deserialize)]
struct AddAddressForm {
    #[serde(default)]
    asset: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    label: String,
    #[serde(flatten)]
    proof: ProofForm,
}

/// Adds an address to the book: steps up with the form's proof (or the session's fresh one).
async fn add_address(
    State(state): State<AppState>,
    CsrfForm { ctx, form }: CsrfForm<AddAddressForm>,
) -> Response {
    let Some(current) = ctx.current.clone() else {
        return ctx.to_login();
    };
    let request = NewAddress {
        asset: form.asset.clone(),
        address: form.address.clone(),
        label: form.label.clone(),
    };
    // The session as it is after the proof: a refusal after a good proof asks for none again.
    let mut proved = current.clone();
    let result = async {
        // Checked before the proof, so that a mistyped address does not spend a code.
        parse_asset(&state, &request.asset).await?;
        parse_address(&request.address)?;
        let SteppedUp(stepped) = stepped_up(&state, &ctx, &current, form.proof).await?;
        proved = stepped.clone();
        add_book_entry(&state, &ctx.origin, &stepped, &request).await
    }
    .await;
    match result {
        Ok((_, created)) => ctx.see_other(&format!(
            "/withdraw?asset={}&notice={}#address-book",
            percent_encode(request.asset.trim()),
            if created {
                "address_added"
            } else {
                "address_exists"
            }
        )),
        Err(e) if e.status().is_client_error() => {
            let page = WithdrawState {
                asset: Some(form.asset),
                add_error: Some(refusal_of(&ctx, &e)),
                add_address: form.address,
                add_label: form.label,
                ..WithdrawState::default()
            };
            render_withdraw(&state, &ctx, &proved, page, e.status()).await
        }
        Err(e) => ctx.error(&e),
    }
}

#[derive(Deserialize)]
struct AllowlistForm {
    #[serde(default)]
    asset: String,
    /// `on` or `off`.
    #[serde(default)]
    mode: String,
    #[serde(flatten)]
    proof: ProofForm,
}

/// Turns allowlist mode on, or off after a step-up (which also pauses withdrawals).
async fn set_allowlist(
    State(state): State<AppState>,
    CsrfForm { ctx, form }: CsrfForm<AllowlistForm>,
) -> Response {
    let Some(current) = ctx.current.clone() else {
        return ctx.to_login();
    };
    let enabled = form.mode != "off";
    let mut proved = current.clone();
    let result = async {
        let acting = if enabled {
            current.clone()
        } else {
            let SteppedUp(stepped) = stepped_up(&state, &ctx, &current, form.proof).await?;
            proved = stepped.clone();
            stepped
        };
        set_allowlist_for(&state, &acting, enabled).await
    }
    .await;
    match result {
        Ok(()) => ctx.see_other(&format!(
            "/withdraw?asset={}&notice={}#address-book",
            percent_encode(form.asset.trim()),
            if enabled {
                "allowlist_on"
            } else {
                "allowlist_off"
            }
        )),
        Err(e) if e.status().is_client_error() => {
            let page = WithdrawState {
                asset: Some(form.asset),
                add_error: Some(refusal_of(&ctx, &e)),
                ..WithdrawState::default()
            };
            render_withdraw(&state, &ctx, &proved, page, e.status()).await
        }
        Err(e) => ctx.error(&e),
    }
}

#[derive(Deserialize)]
struct RemoveQuery {
    asset: Option<String>,
}

async fn remove_address(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<RemoveQuery>,
    CsrfForm { ctx, .. }: CsrfForm<Empty>,
) -> Response {
    let Some(current) = ctx.current.clone() else {
        return ctx.to_login();
    };
    match state
        .db
        .remove_withdrawal_address(&current.user.id, &id)
        .await
    {
        Ok(true) => ctx.see_other(&format!(
            "/withdraw?asset={}&notice=address_removed#address-book",
            percent_encode(query.asset.as_deref().unwrap_or(""))
        )),
        Ok(false) => super::not_found_page(&ctx),
        Err(e) => ctx.error(&e.into()),
    }
}

// --- review ------------------------------------------------------------------------------------

/// A withdrawal waiting for review, as the queue lists it.
pub struct ReviewLine {
    pub id: String,
    pub customer: String,
    pub asset: String,
    pub amount: String,
    pub fee: String,
    pub address: String,
    pub created: String,
    pub simulated: bool,
}

#[derive(Template)]
#[template(path = "review.html")]
struct ReviewPage<'a> {
    ctx: &'a PageCtx,
    items: Vec<ReviewLine>,
    generated_at: String,
    notice: Option<String>,
    error: Option<Refusal>,
    /// The withdrawal the error is about.
    error_id: String,
    stepped_up: bool,
    totp_enabled: bool,
    has_passkey: bool,
}

/// `ab***@example.com`: enough to tell customers apart, not enough to contact one.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let keep: String = local
                .chars()
                .take(if local.chars().count() > 2 { 2 } else { 1 })
                .collect();
            format!("{keep}***@{domain}")
        }
        None => "***".to_owned(),
    }
}

#[derive(Deserialize)]
struct ReviewQuery {
    notice: Option<String>,
}

async fn review_page(
    State(state): State<AppState>,
    Query(query): Query<ReviewQuery>,
    StaffConsole { ctx, current, .. }: StaffConsole<ReviewRoles>,
) -> Response {
    let notice = query
        .notice
        .as_deref()
        .and_then(|n| match n {
            "approved" => Some("review.approved"),
            "rejected" => Some("review.rejected"),
            _ => None,
        })
        .map(|key| ctx.t(key).to_owned());
    render_review(
        &state,
        &ctx,
        &current,
        notice,
        None,
        String::new(),
        StatusCode::OK,
    )
    .await
}

async fn render_review(
    state: &AppState,
    ctx: &PageCtx,
    current: &CurrentSession,
    notice: Option<String>,
    error: Option<Refusal>,
    error_id: String,
    status: StatusCode,
) -> Response {
    let built: Result<ReviewPage, ApiError> = async {
        let rows = state
            .db
            .withdrawals_in(None, &[store::wallet::withdrawal_status::UNDER_REVIEW])
            .await?;
        let assets = state.db.assets().await?;
        let mut items = Vec::with_capacity(rows.len());
        for w in &rows {
            let customer = state
                .db
                .user_by_id(&w.user_id)
                .await?
                .map_or_else(|| "—".to_owned(), |u| mask_email(u.email.as_str()));
            let decimals = asset_decimals(&assets, &w.asset);
            items.push(ReviewLine {
                id: w.id.clone(),
                customer,
                asset: w.asset.clone(),
                amount: show(w.amount, decimals),
                fee: show(w.fee, decimals),
                address: parse_address(&w.address)
                    .map_or_else(|_| w.address.clone(), |a| a.to_string()),
                created: page_time(w.created_at_ms),
                simulated: w.simulated,
            });
        }
        state
            .db
            .audit(
                &current.user.id,
                "review.withdrawals.view",
                "review:withdrawals",
                &format!(r#"{{"shown":{}}}"#, items.len()),
            )
            .await?;
        let (totp_enabled, has_passkey) = proof_kind(state, &current.user.id).await?;
        Ok(ReviewPage {
            ctx,
            items,
            generated_at: page_time(store::now_ms()),
            notice,
            error,
            error_id,
            stepped_up: SteppedUp::check(current.clone()).is_ok(),
            totp_enabled,
            has_passkey,
        })
    }
    .await;
    match built {
        Ok(page) => ctx.render(status, &page),
        Err(e) => ctx.error(&e),
    }
}

#[derive(Deserialize)]
struct ReviewForm {
    #[serde(default)]
    decision: String,
    #[serde(default)]
    note: String,
    #[serde(flatten)]
    proof: ProofForm,
}

async fn review(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffConsole { current, .. }: StaffConsole<ReviewRoles>,
    CsrfForm { ctx, form }: CsrfForm<ReviewForm>,
) -> Response {
    // Said in the page's own words, and before the proof, so that a forgotten note does not
    // spend a code (`decide` refuses it too).
    if form.decision == "reject" && form.note.trim().is_empty() {
        let refusal = Refusal {
            title: ctx.t("review.note_missing.title").to_owned(),
            detail: ctx.t("review.note_missing.body").to_owned(),
            code: "note_required".to_owned(),
        };
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return render_review(&state, &ctx, &current, None, Some(refusal), id, status).await;
    }
    let mut proved = current.clone();
    let result = async {
        let SteppedUp(stepped) = stepped_up(&state, &ctx, &current, form.proof).await?;
        proved = stepped.clone();
        decide(&state, &stepped, &id, &form.decision, &form.note, ctx.lang).await
    }
    .await;
    match result {
        Ok(_) => ctx.see_other(&format!(
            "/admin/withdrawals?notice={}",
            if form.decision == "approve" {
                "approved"
            } else {
                "rejected"
            }
        )),
        Err(e) if e.status().is_client_error() => {
            let refusal = refusal_of(&ctx, &e);
            render_review(&state, &ctx, &proved, None, Some(refusal), id, e.status()).await
        }
        Err(e) => ctx.error(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_masked_for_reviewers() {
        assert_eq!(
            mask_email("user@demo.okwallet.local"),
            "us***@demo.okwallet.local"
        );
        assert_eq!(mask_email("a@b.example"), "a***@b.example");
        assert_eq!(mask_email("ab@b.example"), "a***@b.example");
        assert_eq!(mask_email("nonsense"), "***");
    }

    #[test]
    fn waits_read_naturally() {
        assert_eq!(duration_text(9, Lang::En), "9 s");
        assert_eq!(duration_text(9, Lang::ZhCn), "9 秒");
        assert_eq!(duration_text(61, Lang::En), "2 min");
        assert_eq!(duration_text(7200, Lang::ZhCn), "2 小时");
    }

    #[test]
    fn statuses_get_colours() {
        assert_eq!(badge_of("credited"), "ok");
        assert_eq!(badge_of("confirming"), "warn");
        assert_eq!(badge_of("failed_refunded"), "danger");
    }
}
