//! Money that moves inside okwallet — transfers, conversions, payments, refunds — recorded by the
//! ledger writer in the same transaction as its postings.
//!
//! A caller builds a [`MovementJob`]: the movement row, the transfers that carry it out, the
//! accounts to open if missing, the guards that must hold (a daily limit, a deadline, a payment
//! request still payable, a refund within what was paid) and the effects of success (a request
//! marked paid, a quote used, a webhook queued). The writer ([`crate::writer::Ledger::
//! submit_movement`]) evaluates the guards after it holds the accounts' locks, applies the
//! transfers, and writes the row with `completed` or `refused` and a reason — all in the batch's
//! one commit. So a completed movement always has its postings, a refused one has none, a limit
//! cannot be squeezed by concurrent requests (on SQLite the writer is alone; on PostgreSQL the
//! initiator's account row is locked before the usage is summed), and a payment request is paid
//! at most once across nodes (its row is locked too).
//!
//! The movement id is the idempotency key: an id already stored answers
//! [`MovementOutcome::Existing`] without touching the ledger again.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use anyhow::Context;
use ledger::{AccountId, AssetCode, EventResult, ResultCode};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::accounts::AccountKind;
use crate::{now_ms, padded, placeholders, Backend, Db};

/// Ledger codes of the movements' transfers.
pub mod codes {
    pub const TRANSFER: u16 = 20;
    pub const CONVERSION: u16 = 21;
    pub const CONVERSION_FEE: u16 = 22;
    pub const PAYMENT: u16 = 23;
    pub const REFUND: u16 = 24;
}

/// Kinds of movement as stored.
pub mod kind {
    pub const TRANSFER: &str = "transfer";
    pub const CONVERSION: &str = "conversion";
    pub const PAYMENT: &str = "payment";
    pub const REFUND: &str = "refund";
    pub const ALL: [&str; 4] = [TRANSFER, CONVERSION, PAYMENT, REFUND];
}

/// Movement statuses as stored.
pub mod status {
    pub const COMPLETED: &str = "completed";
    pub const REFUSED: &str = "refused";
}

/// Reasons the writer itself gives.
pub mod reason {
    pub const INSUFFICIENT_FUNDS: &str = "insufficient_funds";
    pub const LIMIT_EXCEEDED: &str = "limit_exceeded";
    pub const ALREADY_PAID: &str = "already_paid";
    pub const EXPIRED: &str = "expired";
    pub const REQUEST_CANCELLED: &str = "request_cancelled";
    pub const NOT_PAID: &str = "not_paid";
    pub const REFUND_EXCEEDS_PAYMENT: &str = "refund_exceeds_payment";
    pub const RECIPIENT_CANNOT_RECEIVE: &str = "recipient_cannot_receive";
    /// The ledger refused for a reason a caller did not foresee (a bug of ours, logged).
    pub const LEDGER_REFUSED: &str = "ledger_refused";
}

/// Payment request statuses as stored.
pub mod request_status {
    pub const OPEN: &str = "open";
    pub const PAID: &str = "paid";
    pub const REFUNDED: &str = "refunded";
    pub const CANCELLED: &str = "cancelled";
    /// Never stored: an open request past its expiry is shown as expired.
    pub const EXPIRED: &str = "expired";
}

/// A movement to record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewMovement {
    pub id: String,
    pub kind: &'static str,
    pub user_id: String,
    pub counterparty_id: Option<String>,
    pub asset: String,
    pub amount: i64,
    pub fee: i64,
    pub to_asset: Option<String>,
    pub to_amount: Option<i64>,
    pub note: String,
    pub reference: Option<String>,
    pub request_hash: String,
    pub created_at_ms: i64,
}

/// A movement as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Movement {
    pub id: String,
    pub kind: String,
    pub user_id: String,
    pub counterparty_id: Option<String>,
    pub asset: String,
    pub amount: i64,
    pub fee: i64,
    pub to_asset: Option<String>,
    pub to_amount: Option<i64>,
    pub note: String,
    pub reference: Option<String>,
    pub status: String,
    pub reason_code: Option<String>,
    pub request_hash: String,
    pub created_at_ms: i64,
}

/// An account the writer opens (if missing) before it applies the movement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnsureAccount {
    pub id: AccountId,
    pub asset: AssetCode,
    pub kind: AccountKind,
    pub user_id: Option<String>,
}

/// What must hold, checked inside the batch's transaction, before the transfers apply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Guard {
    /// The user's completed movements of `kind` in `asset` since `since_ms`, plus this one's
    /// amount, stay within the user's own limit (`user_limits`, read in the batch) or else
    /// `default_limit` (`None`: no limit) — refused `limit_exceeded`.
    DailyLimit {
        user_id: String,
        kind: &'static str,
        asset: String,
        default_limit: Option<i64>,
        since_ms: i64,
    },
    /// Refused with `reason` once the clock passes `deadline_ms`.
    NotAfter {
        deadline_ms: i64,
        reason: &'static str,
    },
    /// The payment request is open and not expired (`already_paid`, `request_cancelled`,
    /// `expired`).
    Payable { request_id: String },
    /// The payment request was paid and refunds so far plus `amount` stay within what was paid
    /// (`not_paid`, `refund_exceeds_payment`).
    Refundable { request_id: String, amount: i64 },
    /// The receiving user's account is not frozen now (`recipient_cannot_receive`).
    CanReceive { user_id: String },
}

/// What a completed movement changes besides the ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    PaymentPaid {
        request_id: String,
        payer_id: String,
    },
    RefundAdded {
        request_id: String,
        amount: i64,
    },
    QuoteUsed {
        quote_id: String,
    },
    /// Queues an event for the merchant's webhook, if the merchant has one.
    Webhook {
        merchant_id: String,
        delivery_id: String,
        event_type: String,
        payload: String,
    },
}

/// A movement for the writer.
#[derive(Clone, Debug)]
pub struct MovementJob {
    pub movement: NewMovement,
    /// Refused before it reached the writer (recorded, nothing applied).
    pub refused: Option<String>,
    pub ensure_accounts: Vec<EnsureAccount>,
    pub guards: Vec<Guard>,
    pub effects: Vec<Effect>,
    /// Per transfer, the reason when the ledger refuses it for its balance (insufficient funds
    /// or exceeding debits): e.g. the customer's leg → `insufficient_funds`, the liquidity leg
    /// → `insufficient_liquidity`.
    pub balance_reasons: Vec<&'static str>,
}

/// How the writer answered a movement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MovementOutcome {
    Completed,
    Refused(String),
    /// The id was already recorded; `same_request` says whether with the same request hash.
    Existing {
        same_request: bool,
    },
}

// --- inside the writer's transaction -----------------------------------------------------------

/// What the batch's guards read, loaded once per batch.
#[derive(Default)]
pub(crate) struct GuardState {
    existing: HashMap<String, String>,
    usage: HashMap<(String, String, String), i64>,
    own_limits: HashMap<(String, String, String), i64>,
    requests: HashMap<String, RequestRow>,
    frozen: HashSet<String>,
    seen_in_batch: HashSet<String>,
}

#[derive(Clone)]
struct RequestRow {
    status: String,
    amount: i64,
    refunded: i64,
    expires_at_ms: i64,
}

/// Opens the accounts the batch's movements need, before the ledger state is loaded.
pub(crate) async fn ensure_accounts(
    conn: &mut AnyConnection,
    backend: Backend,
    jobs: &[&MovementJob],
) -> anyhow::Result<()> {
    let mut wanted: BTreeMap<&str, &EnsureAccount> = BTreeMap::new();
    for job in jobs {
        for a in &job.ensure_accounts {
            wanted.insert(a.id.as_str(), a);
        }
    }
    if wanted.is_empty() {
        return Ok(());
    }
    let all: Vec<&EnsureAccount> = wanted.into_values().collect();
    let now = now_ms();
    for chunk in all.chunks(512) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| {
                let p = placeholders(backend, i * 5 + 1, 5);
                format!("({p}, 0, 0, 0, 0, {now})")
            })
            .collect();
        let sql = format!(
            "INSERT INTO ledger_accounts (id, asset, kind, user_id, flags, debits_pending, \
             debits_posted, credits_pending, credits_posted, created_at_ms) VALUES {} \
             ON CONFLICT (id) DO NOTHING",
            rows.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for a in chunk {
            query = query
                .bind(a.id.as_str())
                .bind(a.asset.as_str())
                .bind(a.kind.as_str())
                .bind(a.user_id.clone())
                .bind(i64::from(a.kind.flags().bits()));
        }
        query
            .execute(&mut *conn)
            .await
            .context("while opening accounts for movements")?;
    }
    Ok(())
}

/// Loads what the guards read. Called after the ledger accounts are locked, so on PostgreSQL
/// the sums include every commit of another node that touched the same accounts.
pub(crate) async fn load_guard_state(
    conn: &mut AnyConnection,
    backend: Backend,
    jobs: &[&MovementJob],
) -> anyhow::Result<GuardState> {
    let mut state = GuardState::default();
    let ids: Vec<&str> = jobs.iter().map(|j| j.movement.id.as_str()).collect();
    for chunk in ids.chunks(1024).map(padded) {
        let chunk = &chunk[..];
        let sql = format!(
            "SELECT id, request_hash FROM movements WHERE id IN ({})",
            placeholders(backend, 1, chunk.len())
        );
        let mut query = sqlx::query(&sql);
        for id in chunk {
            query = query.bind(*id);
        }
        for row in query
            .fetch_all(&mut *conn)
            .await
            .context("while finding movements")?
        {
            state
                .existing
                .insert(row.try_get("id")?, row.try_get("request_hash")?);
        }
    }
    let mut users: BTreeSet<&str> = BTreeSet::new();
    let mut since = i64::MAX;
    let mut request_ids: BTreeSet<&str> = BTreeSet::new();
    let mut receivers: BTreeSet<&str> = BTreeSet::new();
    for job in jobs {
        for guard in &job.guards {
            match guard {
                Guard::DailyLimit {
                    user_id, since_ms, ..
                } => {
                    users.insert(user_id);
                    since = since.min(*since_ms);
                }
                Guard::Payable { request_id } | Guard::Refundable { request_id, .. } => {
                    request_ids.insert(request_id);
                }
                Guard::CanReceive { user_id } => {
                    receivers.insert(user_id);
                }
                Guard::NotAfter { .. } => {}
            }
        }
    }
    let users: Vec<&str> = users.into_iter().collect();
    for chunk in users.chunks(512).map(padded) {
        let chunk = &chunk[..];
        let sql = format!(
            "SELECT user_id, kind, asset, daily FROM user_limits WHERE user_id IN ({})",
            placeholders(backend, 1, chunk.len())
        );
        let mut query = sqlx::query(&sql);
        for id in chunk {
            query = query.bind(*id);
        }
        for row in query
            .fetch_all(&mut *conn)
            .await
            .context("while reading limits")?
        {
            state.own_limits.insert(
                (
                    row.try_get("user_id")?,
                    row.try_get("kind")?,
                    row.try_get("asset")?,
                ),
                row.try_get("daily")?,
            );
        }
    }
    // Usage is summed only for users with a limit to check (a default or their own).
    let limited: Vec<&str> = users
        .iter()
        .copied()
        .filter(|user| {
            jobs.iter().flat_map(|j| &j.guards).any(|g| match g {
                Guard::DailyLimit {
                    user_id,
                    kind,
                    asset,
                    default_limit,
                    ..
                } => {
                    user_id == user
                        && (default_limit.is_some()
                            || state.own_limits.contains_key(&(
                                user_id.clone(),
                                (*kind).to_owned(),
                                asset.clone(),
                            )))
                }
                _ => false,
            })
        })
        .collect();
    for chunk in limited.chunks(512).map(padded) {
        let chunk = &chunk[..];
        let sql = format!(
            "SELECT user_id, kind, asset, CAST(SUM(amount) AS BIGINT) AS used FROM movements \
             WHERE status = 'completed' AND created_at_ms >= {} AND user_id IN ({}) \
             GROUP BY user_id, kind, asset",
            placeholders(backend, 1, 1),
            placeholders(backend, 2, chunk.len())
        );
        let mut query = sqlx::query(&sql).bind(since);
        for id in chunk {
            query = query.bind(*id);
        }
        for row in query
            .fetch_all(&mut *conn)
            .await
            .context("while summing limits")?
        {
            state.usage.insert(
                (
                    row.try_get("user_id")?,
                    row.try_get("kind")?,
                    row.try_get("asset")?,
                ),
                row.try_get("used")?,
            );
        }
    }
    let receivers: Vec<&str> = receivers.into_iter().collect();
    let now = now_ms();
    for chunk in receivers.chunks(512).map(padded) {
        let chunk = &chunk[..];
        let sql = format!(
            "SELECT id, frozen_at_ms, unfreeze_at_ms FROM users WHERE id IN ({})",
            placeholders(backend, 1, chunk.len())
        );
        let mut query = sqlx::query(&sql);
        for id in chunk {
            query = query.bind(*id);
        }
        for row in query
            .fetch_all(&mut *conn)
            .await
            .context("while reading receivers")?
        {
            let frozen_at: Option<i64> = row.try_get("frozen_at_ms")?;
            let unfreeze_at: Option<i64> = row.try_get("unfreeze_at_ms")?;
            if frozen_at.is_some() && unfreeze_at.is_none_or(|at| now < at) {
                state.frozen.insert(row.try_get("id")?);
            }
        }
    }
    let request_ids: Vec<&str> = request_ids.into_iter().collect();
    for chunk in request_ids.chunks(512).map(padded) {
        let chunk = &chunk[..];
        let lock = if backend == Backend::Postgres {
            " ORDER BY id FOR UPDATE"
        } else {
            ""
        };
        let sql = format!(
            "SELECT id, status, amount, refunded, expires_at_ms FROM payment_requests \
             WHERE id IN ({}){lock}",
            placeholders(backend, 1, chunk.len())
        );
        let mut query = sqlx::query(&sql);
        for id in chunk {
            query = query.bind(*id);
        }
        for row in query
            .fetch_all(&mut *conn)
            .await
            .context("while loading payment requests")?
        {
            state.requests.insert(
                row.try_get("id")?,
                RequestRow {
                    status: row.try_get("status")?,
                    amount: row.try_get("amount")?,
                    refunded: row.try_get("refunded")?,
                    expires_at_ms: row.try_get("expires_at_ms")?,
                },
            );
        }
    }
    Ok(state)
}

impl GuardState {
    /// `Some(outcome)` when the job must not run: recorded before, or refused up front.
    pub(crate) fn before(&mut self, job: &MovementJob) -> Option<MovementOutcome> {
        let id = &job.movement.id;
        if let Some(hash) = self.existing.get(id) {
            return Some(MovementOutcome::Existing {
                same_request: *hash == job.movement.request_hash,
            });
        }
        if !self.seen_in_batch.insert(id.clone()) {
            // A duplicate inside this batch: the first one is being recorded now.
            return Some(MovementOutcome::Existing { same_request: true });
        }
        self.existing
            .insert(id.clone(), job.movement.request_hash.clone());
        if let Some(reason) = &job.refused {
            return Some(MovementOutcome::Refused(reason.clone()));
        }
        let now = now_ms();
        for guard in &job.guards {
            if let Some(reason) = self.check(guard, job, now) {
                return Some(MovementOutcome::Refused(reason.to_owned()));
            }
        }
        None
    }

    fn check(&self, guard: &Guard, job: &MovementJob, now: i64) -> Option<&'static str> {
        match guard {
            Guard::DailyLimit {
                user_id,
                kind,
                asset,
                default_limit,
                ..
            } => {
                let key = (user_id.clone(), (*kind).to_owned(), asset.clone());
                let limit = self.own_limits.get(&key).copied().or(*default_limit)?;
                let used = self.usage.get(&key).copied().unwrap_or(0);
                let within = used
                    .checked_add(job.movement.amount)
                    .is_some_and(|total| total <= limit);
                (!within).then_some(reason::LIMIT_EXCEEDED)
            }
            Guard::NotAfter {
                deadline_ms,
                reason,
            } => (now > *deadline_ms).then_some(*reason),
            Guard::Payable { request_id } => match self.requests.get(request_id) {
                None => Some(reason::REQUEST_CANCELLED),
                Some(r) if r.status == request_status::CANCELLED => Some(reason::REQUEST_CANCELLED),
                Some(r) if r.status != request_status::OPEN => Some(reason::ALREADY_PAID),
                Some(r) if now > r.expires_at_ms => Some(reason::EXPIRED),
                Some(_) => None,
            },
            Guard::Refundable { request_id, amount } => match self.requests.get(request_id) {
                Some(r) if r.status == request_status::PAID => {
                    let within = r
                        .refunded
                        .checked_add(*amount)
                        .is_some_and(|t| t <= r.amount);
                    (!within).then_some(reason::REFUND_EXCEEDS_PAYMENT)
                }
                _ => Some(reason::NOT_PAID),
            },
            Guard::CanReceive { user_id } => self
                .frozen
                .contains(user_id)
                .then_some(reason::RECIPIENT_CANNOT_RECEIVE),
        }
    }

    /// Counts a completed job in the batch's running totals.
    pub(crate) fn completed(&mut self, job: &MovementJob) {
        for guard in &job.guards {
            if let Guard::DailyLimit {
                user_id,
                kind,
                asset,
                ..
            } = guard
            {
                *self
                    .usage
                    .entry((user_id.clone(), (*kind).to_owned(), asset.clone()))
                    .or_default() += job.movement.amount;
            }
        }
        for effect in &job.effects {
            match effect {
                Effect::PaymentPaid { request_id, .. } => {
                    if let Some(r) = self.requests.get_mut(request_id) {
                        r.status = request_status::PAID.to_owned();
                    }
                }
                Effect::RefundAdded { request_id, amount } => {
                    if let Some(r) = self.requests.get_mut(request_id) {
                        r.refunded += amount;
                    }
                }
                Effect::QuoteUsed { .. } | Effect::Webhook { .. } => {}
            }
        }
    }
}

/// The outcome of a job whose transfers the ledger answered.
pub(crate) fn outcome_of(job: &MovementJob, results: &[EventResult]) -> MovementOutcome {
    let failed = results
        .iter()
        .enumerate()
        .find(|(_, r)| !matches!(r.code, ResultCode::Ok | ResultCode::LinkedEventFailed));
    match failed {
        None if results.iter().all(|r| r.code == ResultCode::Ok) => MovementOutcome::Completed,
        None => MovementOutcome::Refused(reason::LEDGER_REFUSED.to_owned()),
        Some((i, r)) => match r.code {
            ResultCode::InsufficientFunds | ResultCode::ExceedsDebits => MovementOutcome::Refused(
                job.balance_reasons
                    .get(i)
                    .copied()
                    .unwrap_or(reason::INSUFFICIENT_FUNDS)
                    .to_owned(),
            ),
            other => {
                tracing::error!(
                    movement = %job.movement.id,
                    code = other.as_str(),
                    "the ledger refused a movement's transfer for a reason not foreseen"
                );
                MovementOutcome::Refused(reason::LEDGER_REFUSED.to_owned())
            }
        },
    }
}

/// Writes the batch's new movement rows and the effects of the completed ones.
pub(crate) async fn write_movements(
    conn: &mut AnyConnection,
    backend: Backend,
    written: &[(&MovementJob, &MovementOutcome)],
) -> anyhow::Result<()> {
    let now = now_ms();
    let rows: Vec<(&MovementJob, &MovementOutcome)> = written
        .iter()
        .filter(|(_, o)| !matches!(o, MovementOutcome::Existing { .. }))
        .copied()
        .collect();
    const COLUMNS: usize = 15;
    for chunk in rows.chunks(256) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| format!("({})", placeholders(backend, i * COLUMNS + 1, COLUMNS)))
            .collect();
        let sql = format!(
            "INSERT INTO movements (id, kind, user_id, counterparty_id, asset, amount, fee, \
             to_asset, to_amount, note, reference, status, reason_code, request_hash, \
             created_at_ms) VALUES {} ON CONFLICT (id) DO NOTHING",
            values.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for (job, outcome) in chunk {
            let m = &job.movement;
            let (status, reason) = match outcome {
                MovementOutcome::Completed => (status::COMPLETED, None),
                MovementOutcome::Refused(r) => (status::REFUSED, Some(r.clone())),
                MovementOutcome::Existing { .. } => unreachable!("filtered out"),
            };
            query = query
                .bind(m.id.clone())
                .bind(m.kind)
                .bind(m.user_id.clone())
                .bind(m.counterparty_id.clone())
                .bind(m.asset.clone())
                .bind(m.amount)
                .bind(m.fee)
                .bind(m.to_asset.clone())
                .bind(m.to_amount)
                .bind(m.note.clone())
                .bind(m.reference.clone())
                .bind(status)
                .bind(reason)
                .bind(m.request_hash.clone())
                .bind(m.created_at_ms);
        }
        query
            .execute(&mut *conn)
            .await
            .context("while recording movements")?;
    }
    for (job, outcome) in &rows {
        if **outcome != MovementOutcome::Completed {
            continue;
        }
        for effect in &job.effects {
            apply_effect(conn, effect, &job.movement.id, now).await?;
        }
    }
    Ok(())
}

async fn apply_effect(
    conn: &mut AnyConnection,
    effect: &Effect,
    movement_id: &str,
    now: i64,
) -> anyhow::Result<()> {
    match effect {
        Effect::PaymentPaid {
            request_id,
            payer_id,
        } => {
            sqlx::query(
                "UPDATE payment_requests SET status = 'paid', payer_id = $1, payment_id = $2, \
                 paid_at_ms = $3 WHERE id = $4",
            )
            .bind(payer_id)
            .bind(movement_id)
            .bind(now)
            .bind(request_id)
            .execute(&mut *conn)
            .await
            .context("while marking a request paid")?;
        }
        Effect::RefundAdded { request_id, amount } => {
            sqlx::query(
                "UPDATE payment_requests SET refunded = refunded + $1, status = CASE \
                 WHEN refunded + $1 >= amount THEN 'refunded' ELSE status END WHERE id = $2",
            )
            .bind(amount)
            .bind(request_id)
            .execute(&mut *conn)
            .await
            .context("while counting a refund")?;
        }
        Effect::QuoteUsed { quote_id } => {
            sqlx::query("UPDATE quotes SET movement_id = $1 WHERE id = $2")
                .bind(movement_id)
                .bind(quote_id)
                .execute(&mut *conn)
                .await
                .context("while marking a quote used")?;
        }
        Effect::Webhook {
            merchant_id,
            delivery_id,
            event_type,
            payload,
        } => {
            sqlx::query(
                "INSERT INTO webhook_deliveries (id, merchant_id, event_type, payload, url, \
                 status, attempts, next_attempt_at_ms, last_status_code, last_error, \
                 created_at_ms, delivered_at_ms) SELECT $1, merchant_id, $2, $3, url, 'pending', \
                 0, $4, NULL, NULL, $4, NULL FROM merchant_webhooks WHERE merchant_id = $5",
            )
            .bind(delivery_id)
            .bind(event_type)
            .bind(payload)
            .bind(now)
            .bind(merchant_id)
            .execute(&mut *conn)
            .await
            .context("while queuing a webhook")?;
        }
    }
    Ok(())
}

// --- reading -----------------------------------------------------------------------------------

const MOVEMENT_COLUMNS: &str = "id, kind, user_id, counterparty_id, asset, amount, fee, to_asset, \
     to_amount, note, reference, status, reason_code, request_hash, created_at_ms";

fn movement_from_row(row: &AnyRow) -> anyhow::Result<Movement> {
    Ok(Movement {
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        user_id: row.try_get("user_id")?,
        counterparty_id: row.try_get("counterparty_id")?,
        asset: row.try_get("asset")?,
        amount: row.try_get("amount")?,
        fee: row.try_get("fee")?,
        to_asset: row.try_get("to_asset")?,
        to_amount: row.try_get("to_amount")?,
        note: row.try_get("note")?,
        reference: row.try_get("reference")?,
        status: row.try_get("status")?,
        reason_code: row.try_get("reason_code")?,
        request_hash: row.try_get("request_hash")?,
        created_at_ms: row.try_get("created_at_ms")?,
    })
}

/// Which of a user's movements to list.
#[derive(Clone, Debug, Default)]
pub struct MovementFilter {
    pub kind: Option<String>,
    pub status: Option<String>,
    pub asset: Option<String>,
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    /// Only movements before this (created_at_ms, id), newest first.
    pub before: Option<(i64, String)>,
}

impl Db {
    pub async fn movement(&self, id: &str) -> anyhow::Result<Option<Movement>> {
        let sql = format!("SELECT {MOVEMENT_COLUMNS} FROM movements WHERE id = $1");
        sqlx::query(&sql)
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .context("while reading a movement")?
            .as_ref()
            .map(movement_from_row)
            .transpose()
    }

    /// A user's movements, newest first: those they started, and those that reached them
    /// (completed only: a refused transfer to someone never reached them).
    pub async fn movements_of(
        &self,
        user_id: &str,
        filter: &MovementFilter,
        limit: i64,
    ) -> anyhow::Result<Vec<Movement>> {
        let mut sql = format!(
            "SELECT {MOVEMENT_COLUMNS} FROM movements WHERE (user_id = $1 OR \
             (counterparty_id = $1 AND status = 'completed'))"
        );
        let mut n = 1;
        let mut binds: Vec<BindValue> = vec![BindValue::Text(user_id.to_owned())];
        let mut add = |sql: &mut String, clause: &str, value: BindValue| {
            n += 1;
            sql.push_str(&clause.replace("$?", &format!("${n}")));
            binds.push(value);
        };
        if let Some(k) = &filter.kind {
            add(&mut sql, " AND kind = $?", BindValue::Text(k.clone()));
        }
        if let Some(s) = &filter.status {
            add(&mut sql, " AND status = $?", BindValue::Text(s.clone()));
        }
        if let Some(a) = &filter.asset {
            add(
                &mut sql,
                " AND (asset = $? OR to_asset = $?)",
                BindValue::Text(a.clone()),
            );
        }
        if let Some(s) = filter.since_ms {
            add(&mut sql, " AND created_at_ms >= $?", BindValue::Int(s));
        }
        if let Some(u) = filter.until_ms {
            add(&mut sql, " AND created_at_ms < $?", BindValue::Int(u));
        }
        if let Some((at, id)) = &filter.before {
            n += 1;
            let (a, b, c) = (n, n + 1, n + 2);
            n += 2;
            sql.push_str(&format!(
                " AND (created_at_ms < ${a} OR (created_at_ms = ${b} AND id < ${c}))"
            ));
            binds.push(BindValue::Int(*at));
            binds.push(BindValue::Int(*at));
            binds.push(BindValue::Text(id.clone()));
        }
        let _ = n;
        sql.push_str(&format!(
            " ORDER BY created_at_ms DESC, id DESC LIMIT {}",
            limit.clamp(1, 10_000)
        ));
        let mut query = sqlx::query(&sql);
        for b in binds {
            query = match b {
                BindValue::Text(t) => query.bind(t),
                BindValue::Int(i) => query.bind(i),
            };
        }
        query
            .fetch_all(self.pool())
            .await
            .context("while listing movements")?
            .iter()
            .map(movement_from_row)
            .collect()
    }

    /// Every movement about one reference (a payment request's attempts and refunds), oldest
    /// first.
    pub async fn movements_by_reference(&self, reference: &str) -> anyhow::Result<Vec<Movement>> {
        let sql = format!(
            "SELECT {MOVEMENT_COLUMNS} FROM movements WHERE reference = $1 \
             ORDER BY created_at_ms, id"
        );
        sqlx::query(&sql)
            .bind(reference)
            .fetch_all(self.pool())
            .await
            .context("while listing a reference's movements")?
            .iter()
            .map(movement_from_row)
            .collect()
    }

    /// A user's completed movements of `kind` in `asset` since `since_ms` (for showing what is
    /// left of a limit; the writer enforces it itself).
    pub async fn movement_usage(
        &self,
        user_id: &str,
        kind: &str,
        asset: &str,
        since_ms: i64,
    ) -> anyhow::Result<i64> {
        let row = sqlx::query(
            "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS used FROM movements \
             WHERE user_id = $1 AND kind = $2 AND asset = $3 AND status = 'completed' \
             AND created_at_ms >= $4",
        )
        .bind(user_id)
        .bind(kind)
        .bind(asset)
        .bind(since_ms)
        .fetch_one(self.pool())
        .await
        .context("while summing a limit's usage")?;
        Ok(row.try_get("used")?)
    }

    /// A user's own daily limits (kind, asset, minor units), where set.
    pub async fn user_limits(&self, user_id: &str) -> anyhow::Result<Vec<(String, String, i64)>> {
        let rows = sqlx::query(
            "SELECT kind, asset, daily FROM user_limits WHERE user_id = $1 ORDER BY kind, asset",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await
        .context("while reading a user's limits")?;
        rows.iter()
            .map(|r| Ok((r.try_get("kind")?, r.try_get("asset")?, r.try_get("daily")?)))
            .collect()
    }

    /// Sets (`Some`) or clears (`None`) a user's own daily limit for a kind and asset.
    pub async fn set_user_limit(
        &self,
        user_id: &str,
        kind: &str,
        asset: &str,
        daily: Option<i64>,
    ) -> anyhow::Result<()> {
        match daily {
            Some(daily) => sqlx::query(
                "INSERT INTO user_limits (user_id, kind, asset, daily, updated_at_ms) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id, kind, asset) \
                 DO UPDATE SET daily = excluded.daily, updated_at_ms = excluded.updated_at_ms",
            )
            .bind(user_id)
            .bind(kind)
            .bind(asset)
            .bind(daily)
            .bind(now_ms()),
            None => sqlx::query(
                "DELETE FROM user_limits WHERE user_id = $1 AND kind = $2 AND asset = $3",
            )
            .bind(user_id)
            .bind(kind)
            .bind(asset),
        }
        .execute(self.pool())
        .await
        .context("while setting a user's limit")?;
        Ok(())
    }
}

enum BindValue {
    Text(String),
    Int(i64),
}
