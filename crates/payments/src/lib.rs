//! Money that moves inside okwallet: instant transfers between customers, conversions at a
//! locked quote, payments to merchants and refunds — with per-user daily limits — and the signed
//! webhooks that tell merchants.
//!
//! Every movement is one [`store::movements::MovementJob`] for the ledger writer: its guards
//! (limit, deadline, request payable, refund within what was paid) are checked inside the same
//! commit that applies its linked transfers and records it, so it is all or nothing and every
//! refusal is kept with its reason. This crate decides what a movement is; `store` makes it
//! atomic; `web` speaks HTTP.

pub mod feed;
pub mod quote;
pub mod webhook;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use ledger::{Amount, Asset, AssetCode, Transfer, TransferId, TransferKind};
use rust_decimal::Decimal;
use serde_json::json;
use sha2::{Digest, Sha256};
use store::accounts::{system_account_id, user_account_id, AccountKind};
use store::movements::{
    codes, kind, reason, Effect, EnsureAccount, Guard, MovementJob, MovementOutcome, NewMovement,
};
use store::payments::{PaymentRequest, Quote};
use store::users::User;
use store::writer::{Ledger, SubmitError};

pub use feed::PriceFeed;
pub use rust_decimal;

/// Refusals this crate gives before the ledger.
pub mod refusal {
    pub const ACCOUNT_FROZEN: &str = "account_frozen";
    pub const CANNOT_SEND_TO_SELF: &str = "cannot_send_to_self";
    pub const RECIPIENT_CANNOT_RECEIVE: &str = "recipient_cannot_receive";
    pub const QUOTE_EXPIRED: &str = "quote_expired";
    pub const INSUFFICIENT_LIQUIDITY: &str = "insufficient_liquidity";
    pub const SAME_ASSET: &str = "same_asset";
    pub const PRICE_UNAVAILABLE: &str = "price_unavailable";
    pub const AMOUNT_TOO_SMALL: &str = "amount_too_small";
    pub const PAY_OWN_REQUEST: &str = "cannot_pay_own_request";
    pub const WRONG_ASSET: &str = "wrong_asset";
}

/// Operator settings.
#[derive(Clone, Debug)]
pub struct Settings {
    /// How long a quote holds.
    pub quote_ttl: Duration,
    /// Our conversion fee, in basis points of the amount converted.
    pub fee_bps: u32,
    /// The spread off the feed's mid price, in basis points.
    pub spread_bps: u32,
    /// Daily limits per (kind, asset), in asset units; a kind and asset not listed has none.
    /// A user's own limit (set by an administrator) replaces the default.
    pub daily_limits: BTreeMap<(String, String), Decimal>,
    /// Paying more than this (per asset, in units) needs a fresh second factor.
    pub pay_step_up_above: BTreeMap<String, Decimal>,
    /// A payment request's validity when the merchant does not say, and the longest allowed.
    pub request_expiry_default: Duration,
    pub request_expiry_max: Duration,
    pub delivery: webhook::DeliverySettings,
}

impl Default for Settings {
    fn default() -> Self {
        let d = |s: &str| s.parse::<Decimal>().expect("a literal amount");
        let mut daily_limits = BTreeMap::new();
        for k in [kind::TRANSFER, kind::CONVERSION, kind::PAYMENT] {
            for (asset, limit) in [("ETH", "50"), ("BTC", "2"), ("USDT", "100000")] {
                daily_limits.insert((k.to_owned(), asset.to_owned()), d(limit));
            }
        }
        let pay_step_up_above = [("ETH", "0.5"), ("BTC", "0.02"), ("USDT", "1000")]
            .into_iter()
            .map(|(a, v)| (a.to_owned(), d(v)))
            .collect();
        Settings {
            quote_ttl: Duration::from_secs(15),
            fee_bps: 10,
            spread_bps: 50,
            daily_limits,
            pay_step_up_above,
            request_expiry_default: Duration::from_secs(15 * 60),
            request_expiry_max: Duration::from_secs(30 * 24 * 3600),
            delivery: webhook::DeliverySettings::default(),
        }
    }
}

/// Transfers, conversions, payments and refunds of one node.
pub struct Payments {
    db: store::Db,
    ledger: Ledger,
    feed: Arc<dyn PriceFeed>,
    pub settings: Settings,
}

/// What a movement came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recorded {
    /// Recorded now (completed or refused: see its status).
    New(store::movements::Movement),
    /// The same id was recorded before: the stored one, and whether the request was the same.
    Existing {
        movement: store::movements::Movement,
        same_request: bool,
    },
}

/// Why a movement could not be asked at all.
#[derive(Debug, thiserror::Error)]
pub enum MoveError {
    /// The ledger's queue is full: retry shortly.
    #[error("the ledger is busy")]
    Busy,
    #[error(transparent)]
    Fault(#[from] anyhow::Error),
}

/// A quote, or why there is none.
#[derive(Debug)]
pub enum QuoteAnswer {
    Quote(Quote),
    Refused(&'static str),
}

/// The movement id for a request: derived from the caller's `Idempotency-Key` (so a retry is
/// the same movement), or new.
pub fn movement_id(user_id: &str, route: &str, key: Option<&str>) -> String {
    match key {
        Some(key) => {
            let digest = Sha256::digest(format!("{user_id}\n{route}\n{key}").as_bytes());
            format!("mv_{}", &hex::encode(digest)[..26])
        }
        None => format!("mv_{}", store::new_id()),
    }
}

/// The hash of a request's canonical form, to tell a retry from another request under one key.
pub fn request_hash(request: &impl serde::Serialize) -> String {
    hex::encode(Sha256::digest(
        serde_json::to_vec(request).unwrap_or_default(),
    ))
}

fn transfer_id(movement_id: &str, leg: &str) -> anyhow::Result<TransferId> {
    TransferId::parse(&format!("{movement_id}:{leg}")).context("a movement's transfer id")
}

fn user_account(user_id: &str, asset: &AssetCode) -> EnsureAccount {
    EnsureAccount {
        id: user_account_id(user_id, asset),
        asset: asset.clone(),
        kind: AccountKind::User,
        user_id: Some(user_id.to_owned()),
    }
}

/// One leg of a movement: `minor` units from `debit` to `credit`.
struct Leg<'a> {
    id: TransferId,
    debit: ledger::AccountId,
    credit: ledger::AccountId,
    asset: &'a AssetCode,
    minor: i64,
    code: u16,
}

/// The leg as a transfer; `linked` ties it to the next one (all or nothing).
fn single(leg: Leg<'_>, reference: &str, linked: bool) -> anyhow::Result<Transfer> {
    Ok(Transfer {
        id: leg.id,
        kind: TransferKind::Single {
            debit: leg.debit,
            credit: leg.credit,
            amount: Amount::from_minor(leg.minor).context("a positive amount")?,
        },
        asset: leg.asset.clone(),
        code: leg.code,
        reference: reference.to_owned(),
        linked,
    })
}

/// `minor` units of an asset with `decimals`, as a decimal string.
pub fn show(minor: i64, decimals: u8) -> String {
    Amount::from_minor(minor)
        .unwrap_or_default()
        .to_decimal_string(decimals)
}

fn units_to_minor(units: Decimal, decimals: u8) -> Option<i64> {
    use rust_decimal::prelude::ToPrimitive;
    (units * Decimal::from(10u64.pow(u32::from(decimals))))
        .floor()
        .to_i64()
}

impl Payments {
    pub fn new(
        db: store::Db,
        ledger: Ledger,
        feed: Arc<dyn PriceFeed>,
        settings: Settings,
    ) -> Payments {
        Payments {
            db,
            ledger,
            feed,
            settings,
        }
    }

    pub fn feed(&self) -> &dyn PriceFeed {
        self.feed.as_ref()
    }

    /// The user's daily limit for a kind of movement in an asset, in minor units (`None`: no
    /// limit).
    pub async fn daily_limit(
        &self,
        user_id: &str,
        kind: &str,
        asset: &Asset,
    ) -> anyhow::Result<Option<i64>> {
        let own = self
            .db
            .user_limits(user_id)
            .await?
            .into_iter()
            .find(|(k, a, _)| k == kind && a == asset.code.as_str())
            .map(|(_, _, daily)| daily);
        Ok(own.or_else(|| self.default_limit(kind, asset)))
    }

    /// What is left of today's limit (`None`: no limit).
    pub async fn limit_left(
        &self,
        user_id: &str,
        kind: &str,
        asset: &Asset,
    ) -> anyhow::Result<Option<(i64, i64)>> {
        let Some(limit) = self.daily_limit(user_id, kind, asset).await? else {
            return Ok(None);
        };
        let used = self
            .db
            .movement_usage(user_id, kind, asset.code.as_str(), since_24h())
            .await?;
        Ok(Some((limit, used)))
    }

    /// The daily-limit guard: the operator's default here, the user's own limit read by the
    /// writer in the same transaction (no query per request).
    fn limit_guard(&self, user_id: &str, kind: &'static str, asset: &Asset) -> Guard {
        Guard::DailyLimit {
            user_id: user_id.to_owned(),
            kind,
            asset: asset.code.as_str().to_owned(),
            default_limit: self.default_limit(kind, asset),
            since_ms: since_24h(),
        }
    }

    fn default_limit(&self, kind: &str, asset: &Asset) -> Option<i64> {
        self.settings
            .daily_limits
            .get(&(kind.to_owned(), asset.code.as_str().to_owned()))
            .and_then(|units| units_to_minor(*units, asset.decimals))
    }

    /// Submits a job and answers with the movement as recorded.
    async fn run(&self, transfers: Vec<Transfer>, job: MovementJob) -> Result<Recorded, MoveError> {
        let new = job.movement.clone();
        let (_, outcome) =
            self.ledger
                .submit_movement(transfers, job)
                .await
                .map_err(|e| match e {
                    SubmitError::Overloaded => MoveError::Busy,
                    other => MoveError::Fault(anyhow::anyhow!(other)),
                })?;
        let (status, reason_code) = match outcome {
            MovementOutcome::Completed => (store::movements::status::COMPLETED, None),
            MovementOutcome::Refused(r) => (store::movements::status::REFUSED, Some(r)),
            MovementOutcome::Existing { same_request } => {
                let movement = self
                    .db
                    .movement(&new.id)
                    .await?
                    .context("a movement recorded before is gone")?;
                return Ok(Recorded::Existing {
                    movement,
                    same_request,
                });
            }
        };
        Ok(Recorded::New(store::movements::Movement {
            id: new.id,
            kind: new.kind.to_owned(),
            user_id: new.user_id,
            counterparty_id: new.counterparty_id,
            asset: new.asset,
            amount: new.amount,
            fee: new.fee,
            to_asset: new.to_asset,
            to_amount: new.to_amount,
            note: new.note,
            reference: new.reference,
            status: status.to_owned(),
            reason_code,
            request_hash: new.request_hash,
            created_at_ms: new.created_at_ms,
        }))
    }

    // --- send ----------------------------------------------------------------------------------

    /// An instant transfer from `sender` to the user `recipient_id`; whether the recipient can
    /// receive (not frozen) is checked by the writer in the transfer's commit.
    #[allow(clippy::too_many_arguments)]
    pub async fn send(
        &self,
        sender: &User,
        recipient_id: &str,
        asset: &Asset,
        amount: Amount,
        note: &str,
        movement_id: String,
        request_hash: String,
    ) -> Result<Recorded, MoveError> {
        let now = store::now_ms();
        let refused = if sender.is_frozen(now) {
            Some(refusal::ACCOUNT_FROZEN)
        } else if sender.id == recipient_id {
            Some(refusal::CANNOT_SEND_TO_SELF)
        } else {
            None
        };
        let code = &asset.code;
        let transfers = vec![single(
            Leg {
                id: transfer_id(&movement_id, "send")?,
                debit: user_account_id(&sender.id, code),
                credit: user_account_id(recipient_id, code),
                asset: code,
                minor: amount.minor(),
                code: codes::TRANSFER,
            },
            &movement_id,
            false,
        )?];
        let guards = vec![
            Guard::CanReceive {
                user_id: recipient_id.to_owned(),
            },
            self.limit_guard(&sender.id, kind::TRANSFER, asset),
        ];
        let job = MovementJob {
            movement: NewMovement {
                id: movement_id,
                kind: kind::TRANSFER,
                user_id: sender.id.clone(),
                counterparty_id: Some(recipient_id.to_owned()),
                asset: code.as_str().to_owned(),
                amount: amount.minor(),
                fee: 0,
                to_asset: None,
                to_amount: None,
                note: note.to_owned(),
                reference: None,
                request_hash,
                created_at_ms: now,
            },
            refused: refused.map(str::to_owned),
            ensure_accounts: vec![
                user_account(&sender.id, code),
                user_account(recipient_id, code),
            ],
            guards,
            effects: Vec::new(),
            balance_reasons: vec![reason::INSUFFICIENT_FUNDS],
        };
        let transfers = if job.refused.is_some() {
            Vec::new()
        } else {
            transfers
        };
        self.run(transfers, job).await
    }

    // --- convert -------------------------------------------------------------------------------

    /// Prices a conversion and locks the price for [`Settings::quote_ttl`].
    pub async fn quote(
        &self,
        user: &User,
        from: &Asset,
        to: &Asset,
        amount: Amount,
    ) -> anyhow::Result<QuoteAnswer> {
        if from.code == to.code {
            return Ok(QuoteAnswer::Refused(refusal::SAME_ASSET));
        }
        let prices = match self.feed.prices().await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = format!("{e:#}"), "the price feed failed");
                return Ok(QuoteAnswer::Refused(refusal::PRICE_UNAVAILABLE));
            }
        };
        let (Some(from_usd), Some(to_usd)) =
            (prices.get(from.code.as_str()), prices.get(to.code.as_str()))
        else {
            return Ok(QuoteAnswer::Refused(refusal::PRICE_UNAVAILABLE));
        };
        let priced = match quote::price(
            amount.minor(),
            from.decimals,
            *from_usd,
            to.decimals,
            *to_usd,
            self.settings.fee_bps,
            self.settings.spread_bps,
        ) {
            Ok(p) => p,
            Err(quote::PriceError::TooSmall) => {
                return Ok(QuoteAnswer::Refused(refusal::AMOUNT_TOO_SMALL))
            }
            Err(quote::PriceError::Overflow) => {
                return Ok(QuoteAnswer::Refused(refusal::PRICE_UNAVAILABLE))
            }
        };
        let now = store::now_ms();
        let quote = Quote {
            id: format!("qt_{}", store::new_id()),
            user_id: user.id.clone(),
            from_asset: from.code.as_str().to_owned(),
            to_asset: to.code.as_str().to_owned(),
            from_amount: amount.minor(),
            fee: priced.fee,
            to_amount: priced.to_amount,
            rate: priced.rate.to_string(),
            source: self.feed.source().to_owned(),
            simulated: self.feed.simulated(),
            created_at_ms: now,
            expires_at_ms: now
                + i64::try_from(self.settings.quote_ttl.as_millis()).unwrap_or(15_000),
            movement_id: None,
        };
        self.db.insert_quote(&quote).await?;
        Ok(QuoteAnswer::Quote(quote))
    }

    /// Accepts a quote: one linked set (fee, user → liquidity, liquidity → user), all or
    /// nothing; refused after the quote's expiry. A quote is accepted at most once: accepting it
    /// again answers the first conversion.
    pub async fn convert(
        &self,
        user: &User,
        quote: &Quote,
        request_hash: String,
    ) -> Result<Recorded, MoveError> {
        let now = store::now_ms();
        let movement_id = format!("cv_{}", quote.id.trim_start_matches("qt_"));
        let from = AssetCode::parse(&quote.from_asset).context("a quote's asset")?;
        let to = AssetCode::parse(&quote.to_asset).context("a quote's asset")?;
        let net = quote.from_amount - quote.fee;
        let mut transfers = Vec::new();
        let mut reasons = Vec::new();
        if quote.fee > 0 {
            transfers.push(single(
                Leg {
                    id: transfer_id(&movement_id, "fee")?,
                    debit: user_account_id(&user.id, &from),
                    credit: system_account_id(AccountKind::Fees, &from),
                    asset: &from,
                    minor: quote.fee,
                    code: codes::CONVERSION_FEE,
                },
                &movement_id,
                true,
            )?);
            reasons.push(reason::INSUFFICIENT_FUNDS);
        }
        transfers.push(single(
            Leg {
                id: transfer_id(&movement_id, "sell")?,
                debit: user_account_id(&user.id, &from),
                credit: system_account_id(AccountKind::Liquidity, &from),
                asset: &from,
                minor: net,
                code: codes::CONVERSION,
            },
            &movement_id,
            true,
        )?);
        reasons.push(reason::INSUFFICIENT_FUNDS);
        transfers.push(single(
            Leg {
                id: transfer_id(&movement_id, "buy")?,
                debit: system_account_id(AccountKind::Liquidity, &to),
                credit: user_account_id(&user.id, &to),
                asset: &to,
                minor: quote.to_amount,
                code: codes::CONVERSION,
            },
            &movement_id,
            false,
        )?);
        reasons.push(refusal::INSUFFICIENT_LIQUIDITY);
        let from_asset = Asset {
            code: from.clone(),
            decimals: self.decimals_of(&from).await?,
        };
        let mut guards = vec![self.limit_guard(&user.id, kind::CONVERSION, &from_asset)];
        guards.push(Guard::NotAfter {
            deadline_ms: quote.expires_at_ms,
            reason: refusal::QUOTE_EXPIRED,
        });
        let refused = user
            .is_frozen(now)
            .then(|| refusal::ACCOUNT_FROZEN.to_owned());
        let job = MovementJob {
            movement: NewMovement {
                id: movement_id,
                kind: kind::CONVERSION,
                user_id: user.id.clone(),
                counterparty_id: None,
                asset: quote.from_asset.clone(),
                amount: quote.from_amount,
                fee: quote.fee,
                to_asset: Some(quote.to_asset.clone()),
                to_amount: Some(quote.to_amount),
                note: String::new(),
                reference: Some(quote.id.clone()),
                request_hash,
                created_at_ms: now,
            },
            refused,
            ensure_accounts: vec![
                user_account(&user.id, &from),
                user_account(&user.id, &to),
                system(AccountKind::Liquidity, &from),
                system(AccountKind::Liquidity, &to),
                system(AccountKind::Fees, &from),
            ],
            guards,
            effects: vec![Effect::QuoteUsed {
                quote_id: quote.id.clone(),
            }],
            balance_reasons: reasons,
        };
        let transfers = if job.refused.is_some() {
            Vec::new()
        } else {
            transfers
        };
        self.run(transfers, job).await
    }

    async fn decimals_of(&self, code: &AssetCode) -> anyhow::Result<u8> {
        self.db
            .assets()
            .await?
            .into_iter()
            .find(|a| a.code == *code)
            .map(|a| a.decimals)
            .context("an asset that is no longer listed")
    }

    // --- pay and refund ------------------------------------------------------------------------

    /// Whether paying `request` needs a fresh second factor.
    pub fn pay_needs_step_up(&self, request: &PaymentRequest, decimals: u8) -> bool {
        self.settings
            .pay_step_up_above
            .get(&request.asset)
            .and_then(|units| units_to_minor(*units, decimals))
            .is_some_and(|threshold| request.amount > threshold)
    }

    /// Pays a merchant's request. Every attempt is recorded, refused ones with their reason,
    /// and the merchant sees them all.
    pub async fn pay(
        &self,
        payer: &User,
        request: &PaymentRequest,
        asset: &Asset,
        movement_id: String,
        request_hash: String,
    ) -> Result<Recorded, MoveError> {
        let now = store::now_ms();
        let code = &asset.code;
        let refused = if payer.is_frozen(now) {
            Some(refusal::ACCOUNT_FROZEN)
        } else if payer.id == request.merchant_id {
            Some(refusal::PAY_OWN_REQUEST)
        } else {
            None
        };
        let transfers = vec![single(
            Leg {
                id: transfer_id(&movement_id, "pay")?,
                debit: user_account_id(&payer.id, code),
                credit: user_account_id(&request.merchant_id, code),
                asset: code,
                minor: request.amount,
                code: codes::PAYMENT,
            },
            &request.id,
            false,
        )?];
        let mut guards = vec![Guard::Payable {
            request_id: request.id.clone(),
        }];
        guards.push(self.limit_guard(&payer.id, kind::PAYMENT, asset));
        let payload = event_payload(
            "payment.succeeded",
            request,
            asset.decimals,
            &movement_id,
            json!({ "payment_id": movement_id, "paid_amount": show(request.amount, asset.decimals) }),
        );
        let job = MovementJob {
            movement: NewMovement {
                id: movement_id,
                kind: kind::PAYMENT,
                user_id: payer.id.clone(),
                counterparty_id: Some(request.merchant_id.clone()),
                asset: request.asset.clone(),
                amount: request.amount,
                fee: 0,
                to_asset: None,
                to_amount: None,
                note: request.description.clone(),
                reference: Some(request.id.clone()),
                request_hash,
                created_at_ms: now,
            },
            refused: refused.map(str::to_owned),
            ensure_accounts: vec![
                user_account(&payer.id, code),
                user_account(&request.merchant_id, code),
            ],
            guards,
            effects: vec![
                Effect::PaymentPaid {
                    request_id: request.id.clone(),
                    payer_id: payer.id.clone(),
                },
                payload.into_effect(&request.merchant_id),
            ],
            balance_reasons: vec![reason::INSUFFICIENT_FUNDS],
        };
        let transfers = if job.refused.is_some() {
            Vec::new()
        } else {
            transfers
        };
        self.run(transfers, job).await
    }

    /// Returns `amount` of a paid request to its payer, in full or in part; refunds together
    /// never exceed what was paid.
    #[allow(clippy::too_many_arguments)]
    pub async fn refund(
        &self,
        merchant: &User,
        request: &PaymentRequest,
        asset: &Asset,
        amount: Amount,
        reason_note: &str,
        movement_id: String,
        request_hash: String,
    ) -> Result<Recorded, MoveError> {
        let now = store::now_ms();
        let code = &asset.code;
        let payer = request.payer_id.clone().unwrap_or_default();
        let refused = if merchant.is_frozen(now) {
            Some(refusal::ACCOUNT_FROZEN.to_owned())
        } else if request.payer_id.is_none() {
            Some(reason::NOT_PAID.to_owned())
        } else {
            None
        };
        let transfers = if refused.is_some() {
            Vec::new()
        } else {
            vec![single(
                Leg {
                    id: transfer_id(&movement_id, "refund")?,
                    debit: user_account_id(&merchant.id, code),
                    credit: user_account_id(&payer, code),
                    asset: code,
                    minor: amount.minor(),
                    code: codes::REFUND,
                },
                &request.id,
                false,
            )?]
        };
        let payload = event_payload(
            "refund.succeeded",
            request,
            asset.decimals,
            &movement_id,
            json!({
                "refund_id": movement_id,
                "refund_amount": show(amount.minor(), asset.decimals),
                "refunded_total": show(request.refunded + amount.minor(), asset.decimals),
            }),
        );
        let mut ensure = vec![user_account(&merchant.id, code)];
        if !payer.is_empty() {
            ensure.push(user_account(&payer, code));
        }
        let job = MovementJob {
            movement: NewMovement {
                id: movement_id,
                kind: kind::REFUND,
                user_id: merchant.id.clone(),
                counterparty_id: request.payer_id.clone(),
                asset: request.asset.clone(),
                amount: amount.minor(),
                fee: 0,
                to_asset: None,
                to_amount: None,
                note: reason_note.to_owned(),
                reference: Some(request.id.clone()),
                request_hash,
                created_at_ms: now,
            },
            refused,
            ensure_accounts: ensure,
            guards: vec![Guard::Refundable {
                request_id: request.id.clone(),
                amount: amount.minor(),
            }],
            effects: vec![
                Effect::RefundAdded {
                    request_id: request.id.clone(),
                    amount: amount.minor(),
                },
                payload.into_effect(&request.merchant_id),
            ],
            balance_reasons: vec![reason::INSUFFICIENT_FUNDS],
        };
        self.run(transfers, job).await
    }

    /// Creates a payment request.
    pub async fn create_request(
        &self,
        merchant: &User,
        asset: &Asset,
        amount: Amount,
        description: &str,
        order_id: Option<&str>,
        expires_in: Option<Duration>,
    ) -> anyhow::Result<PaymentRequest> {
        let now = store::now_ms();
        let ttl = expires_in
            .unwrap_or(self.settings.request_expiry_default)
            .min(self.settings.request_expiry_max);
        let request = PaymentRequest {
            id: format!("pr_{}", store::new_id()),
            merchant_id: merchant.id.clone(),
            asset: asset.code.as_str().to_owned(),
            amount: amount.minor(),
            description: description.to_owned(),
            order_id: order_id.map(str::to_owned),
            status: store::movements::request_status::OPEN.to_owned(),
            created_at_ms: now,
            expires_at_ms: now + i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 4),
            payer_id: None,
            payment_id: None,
            paid_at_ms: None,
            refunded: 0,
        };
        self.db.insert_payment_request(&request).await?;
        Ok(request)
    }
}

fn system(kind: AccountKind, asset: &AssetCode) -> EnsureAccount {
    EnsureAccount {
        id: system_account_id(kind, asset),
        asset: asset.clone(),
        kind,
        user_id: None,
    }
}

fn since_24h() -> i64 {
    store::now_ms() - 24 * 3600 * 1000
}

/// A webhook event, ready to queue.
struct EventPayload {
    id: String,
    event_type: &'static str,
    body: String,
}

impl EventPayload {
    fn into_effect(self, merchant_id: &str) -> Effect {
        Effect::Webhook {
            merchant_id: merchant_id.to_owned(),
            delivery_id: self.id,
            event_type: self.event_type.to_owned(),
            payload: self.body,
        }
    }
}

fn event_payload(
    event_type: &'static str,
    request: &PaymentRequest,
    decimals: u8,
    movement_id: &str,
    extra: serde_json::Value,
) -> EventPayload {
    let id = format!(
        "evt_{}",
        &hex::encode(Sha256::digest(format!("{event_type}:{movement_id}")))[..26]
    );
    let mut data = json!({
        "payment_request_id": request.id,
        "order_id": request.order_id,
        "asset": request.asset,
        "amount": show(request.amount, decimals),
        "description": request.description,
    });
    if let (Some(map), serde_json::Value::Object(extra)) = (data.as_object_mut(), extra) {
        map.extend(extra);
    }
    let body = json!({
        "id": id,
        "type": event_type,
        "created_at": rfc3339(store::now_ms()),
        "data": data,
    });
    EventPayload {
        id,
        event_type,
        body: body.to_string(),
    }
}

fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}
