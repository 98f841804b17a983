//! Applying a batch of requests to the state they touch: the ledger's one decision function.
//!
//! A batch holds many requests (each a list of transfers, perhaps linked) from many clients. The
//! store loads every account, transfer and pending closure the batch names into a [`BatchState`],
//! calls [`apply_batch`], and in the same database transaction writes back the touched accounts
//! and the new journal rows. Each request gets its own results.
//!
//! Rules beyond TigerBeetle's:
//! - A failure that depends on the ledger's state (insufficient funds, an unknown account, an
//!   expired hold, …) is remembered under the transfer's id, so a retry returns the original
//!   result instead of being evaluated again. Failures that depend only on the request
//!   ([`ResultCode::is_validation`]) are not remembered.
//! - A linked chain whose every transfer already exists with the same fields is a replay: each
//!   gets its original result. A chain that reuses some ids but not all, or with other fields, is
//!   refused with `exists_with_different_fields`.

use std::collections::{BTreeSet, HashMap};

use crate::transfer::{Account, AccountId, StoredTransfer, TransferId};
use crate::{ResultCode, Transfer, TransferKind, TransferKindTag};

/// Everything a batch may read or change, loaded by the store before [`apply_batch`].
#[derive(Clone, Debug, Default)]
pub struct BatchState {
    /// Accounts named by the batch, and the accounts of the pending transfers it refers to.
    pub accounts: HashMap<AccountId, Account>,
    /// Stored transfers (any result) whose ids the batch uses, and the pending transfers it
    /// refers to.
    pub transfers: HashMap<TransferId, StoredTransfer>,
    /// For each pending transfer already closed: how (post, void or expire).
    pub closures: HashMap<TransferId, TransferKindTag>,
}

/// One transfer's result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventResult {
    pub code: ResultCode,
    /// When the ledger applied (or first refused) this transfer.
    pub timestamp: i64,
    /// True when this is the remembered result of an earlier request with the same id.
    pub replayed: bool,
}

/// What a batch produced: results per request, and what to write.
#[derive(Clone, Debug, Default)]
pub struct Applied {
    pub results: Vec<Vec<EventResult>>,
    /// New journal rows, in application order: successes and remembered failures.
    pub new_transfers: Vec<StoredTransfer>,
    /// Accounts whose totals changed, in id order; their final values are in the state.
    pub touched_accounts: Vec<AccountId>,
}

/// Applies `requests` in order. `last_timestamp` is the writer's clock: every transfer gets a
/// timestamp greater than it, at least `now_ns`, and the clock advances.
pub fn apply_batch(
    state: &mut BatchState,
    requests: &[Vec<Transfer>],
    now_ns: i64,
    last_timestamp: &mut i64,
) -> Applied {
    let mut applied = Applied::default();
    let mut touched: BTreeSet<AccountId> = BTreeSet::new();
    for request in requests {
        let mut results = Vec::with_capacity(request.len());
        let mut start = 0;
        while start < request.len() {
            let end = request[start..]
                .iter()
                .position(|t| !t.linked)
                .map_or(request.len(), |i| start + i + 1);
            let chain = &request[start..end];
            let mut clock = || {
                *last_timestamp = (*last_timestamp + 1).max(now_ns);
                *last_timestamp
            };
            let timestamps: Vec<i64> = chain.iter().map(|_| clock()).collect();
            apply_chain(
                state,
                chain,
                &timestamps,
                &mut results,
                &mut applied,
                &mut touched,
            );
            start = end;
        }
        applied.results.push(results);
    }
    applied.touched_accounts = touched.into_iter().collect();
    applied
}

/// Undo log for one chain: account values before the chain first changed them, and what the
/// chain added.
#[derive(Default)]
struct Undo {
    accounts: Vec<Account>,
    transfers: Vec<TransferId>,
    closures: Vec<TransferId>,
}

impl Undo {
    fn save(&mut self, account: &Account) {
        if !self.accounts.iter().any(|a| a.id == account.id) {
            self.accounts.push(account.clone());
        }
    }

    fn rollback(self, state: &mut BatchState) {
        for account in self.accounts {
            state.accounts.insert(account.id.clone(), account);
        }
        for id in self.transfers {
            state.transfers.remove(&id);
        }
        for id in self.closures {
            state.closures.remove(&id);
        }
    }
}

fn fail_chain(
    chain: &[Transfer],
    timestamps: &[i64],
    failed_index: usize,
    code: ResultCode,
    results: &mut Vec<EventResult>,
) -> Vec<ResultCode> {
    let codes: Vec<ResultCode> = (0..chain.len())
        .map(|i| {
            if i == failed_index {
                code
            } else {
                ResultCode::LinkedEventFailed
            }
        })
        .collect();
    for (c, ts) in codes.iter().zip(timestamps) {
        results.push(EventResult {
            code: *c,
            timestamp: *ts,
            replayed: false,
        });
    }
    codes
}

fn apply_chain(
    state: &mut BatchState,
    chain: &[Transfer],
    timestamps: &[i64],
    results: &mut Vec<EventResult>,
    applied: &mut Applied,
    touched: &mut BTreeSet<AccountId>,
) {
    let open = chain.last().is_some_and(|t| t.linked);
    // Request-only checks first; nothing is remembered for these.
    for (i, transfer) in chain.iter().enumerate() {
        let duplicate_in_chain = chain[..i].iter().any(|t| t.id == transfer.id);
        let code = if duplicate_in_chain {
            Some(ResultCode::ExistsWithDifferentFields)
        } else {
            validate(transfer)
        };
        if let Some(code) = code {
            fail_chain(chain, timestamps, i, code, results);
            return;
        }
    }
    if open {
        fail_chain(
            chain,
            timestamps,
            chain.len() - 1,
            ResultCode::LinkedEventChainOpen,
            results,
        );
        return;
    }

    // Replays: the whole chain exists with the same fields.
    let fingerprints: Vec<String> = chain.iter().map(Transfer::fingerprint).collect();
    let existing: Vec<Option<&StoredTransfer>> =
        chain.iter().map(|t| state.transfers.get(&t.id)).collect();
    if existing.iter().any(Option::is_some) {
        let all_same = existing
            .iter()
            .zip(&fingerprints)
            .all(|(e, f)| e.is_some_and(|s| &s.fingerprint == f));
        if all_same {
            for stored in existing.into_iter().flatten() {
                results.push(EventResult {
                    code: stored.result,
                    timestamp: stored.timestamp,
                    replayed: true,
                });
            }
        } else {
            let first = existing.iter().position(Option::is_some).unwrap_or(0);
            fail_chain(
                chain,
                timestamps,
                first,
                ResultCode::ExistsWithDifferentFields,
                results,
            );
        }
        return;
    }

    let mut undo = Undo::default();
    let mut rows = Vec::with_capacity(chain.len());
    for (i, transfer) in chain.iter().enumerate() {
        match apply_one(state, transfer, &fingerprints[i], timestamps[i], &mut undo) {
            Ok(row) => rows.push(row),
            Err(code) => {
                undo.rollback(state);
                let codes = fail_chain(chain, timestamps, i, code, results);
                for ((t, c), (f, ts)) in chain
                    .iter()
                    .zip(codes)
                    .zip(fingerprints.iter().zip(timestamps))
                {
                    let row = failure_row(t, c, f.clone(), *ts);
                    state.transfers.insert(row.id.clone(), row.clone());
                    applied.new_transfers.push(row);
                }
                return;
            }
        }
    }
    for account in &undo.accounts {
        touched.insert(account.id.clone());
    }
    for row in rows {
        results.push(EventResult {
            code: ResultCode::Ok,
            timestamp: row.timestamp,
            replayed: false,
        });
        applied.new_transfers.push(row);
    }
}

fn validate(transfer: &Transfer) -> Option<ResultCode> {
    if let Some((debit, credit)) = transfer.named_accounts() {
        if debit == credit {
            return Some(ResultCode::AccountsMustBeDifferent);
        }
    }
    if transfer.pending_id() == Some(&transfer.id) {
        return Some(ResultCode::PendingIdMustBeDifferent);
    }
    if transfer.code == 0 {
        return Some(ResultCode::CodeMustNotBeZero);
    }
    if transfer.reference.len() > Transfer::REFERENCE_LEN_MAX {
        return Some(ResultCode::ReferenceTooLong);
    }
    let zero = match &transfer.kind {
        TransferKind::Single { amount, .. } | TransferKind::Pending { amount, .. } => {
            amount.is_zero()
        }
        TransferKind::Post { amount, .. } => amount.is_some_and(|a| a.is_zero()),
        TransferKind::Void { .. } | TransferKind::Expire { .. } => false,
    };
    zero.then_some(ResultCode::AmountMustNotBeZero)
}

fn failure_row(
    t: &Transfer,
    code: ResultCode,
    fingerprint: String,
    timestamp: i64,
) -> StoredTransfer {
    let (debit, credit) = match t.named_accounts() {
        Some((d, c)) => (Some(d.clone()), Some(c.clone())),
        None => (None, None),
    };
    let amount = match &t.kind {
        TransferKind::Single { amount, .. } | TransferKind::Pending { amount, .. } => {
            amount.minor()
        }
        TransferKind::Post { amount, .. } => amount.map_or(0, |a| a.minor()),
        TransferKind::Void { .. } | TransferKind::Expire { .. } => 0,
    };
    StoredTransfer {
        id: t.id.clone(),
        result: code,
        kind: t.kind_tag(),
        debit_account_id: debit,
        credit_account_id: credit,
        asset: t.asset.clone(),
        amount,
        pending_id: t.pending_id().cloned(),
        expires_at: None,
        code: t.code,
        reference: t.reference.clone(),
        linked: t.linked,
        fingerprint,
        timestamp,
    }
}

/// Applies one transfer of a chain, or says why not. On error nothing in `state` was changed by
/// this transfer (earlier transfers of the chain are undone by the caller).
fn apply_one(
    state: &mut BatchState,
    transfer: &Transfer,
    fingerprint: &str,
    timestamp: i64,
    undo: &mut Undo,
) -> Result<StoredTransfer, ResultCode> {
    let (debit_id, credit_id, amount, expires_at) = match &transfer.kind {
        TransferKind::Single {
            debit,
            credit,
            amount,
        } => {
            check_accounts(state, transfer, debit, credit)?;
            move_posted(state, debit, credit, amount.minor(), undo)?;
            (debit.clone(), credit.clone(), amount.minor(), None)
        }
        TransferKind::Pending {
            debit,
            credit,
            amount,
            timeout_s,
        } => {
            check_accounts(state, transfer, debit, credit)?;
            hold(state, debit, credit, amount.minor(), undo)?;
            let expires_at = (*timeout_s > 0)
                .then(|| timestamp.saturating_add(i64::from(*timeout_s) * 1_000_000_000));
            (debit.clone(), credit.clone(), amount.minor(), expires_at)
        }
        TransferKind::Post { pending_id, .. }
        | TransferKind::Void { pending_id }
        | TransferKind::Expire { pending_id } => {
            let pending = open_pending(state, transfer, pending_id, timestamp)?;
            let (debit, credit) = (
                pending
                    .debit_account_id
                    .clone()
                    .ok_or(ResultCode::PendingNotFound)?,
                pending
                    .credit_account_id
                    .clone()
                    .ok_or(ResultCode::PendingNotFound)?,
            );
            check_accounts(state, transfer, &debit, &credit)?;
            let moved = match &transfer.kind {
                TransferKind::Post {
                    amount: Some(a), ..
                } => {
                    if a.minor() > pending.amount {
                        return Err(ResultCode::ExceedsPendingAmount);
                    }
                    a.minor()
                }
                _ => pending.amount,
            };
            release(state, &debit, &credit, pending.amount, undo);
            if matches!(transfer.kind, TransferKind::Post { .. }) {
                if let Err(code) = move_posted(state, &debit, &credit, moved, undo) {
                    // Put the hold back: this transfer must leave no trace on failure.
                    hold(state, &debit, &credit, pending.amount, undo)
                        .expect("re-holding a just-released amount cannot fail");
                    return Err(code);
                }
            }
            state
                .closures
                .insert(pending_id.clone(), transfer.kind_tag());
            undo.closures.push(pending_id.clone());
            (debit, credit, moved, None)
        }
    };
    let row = StoredTransfer {
        id: transfer.id.clone(),
        result: ResultCode::Ok,
        kind: transfer.kind_tag(),
        debit_account_id: Some(debit_id),
        credit_account_id: Some(credit_id),
        asset: transfer.asset.clone(),
        amount,
        pending_id: transfer.pending_id().cloned(),
        expires_at,
        code: transfer.code,
        reference: transfer.reference.clone(),
        linked: transfer.linked,
        fingerprint: fingerprint.to_owned(),
        timestamp,
    };
    state.transfers.insert(row.id.clone(), row.clone());
    undo.transfers.push(row.id.clone());
    Ok(row)
}

fn check_accounts(
    state: &BatchState,
    transfer: &Transfer,
    debit: &AccountId,
    credit: &AccountId,
) -> Result<(), ResultCode> {
    let debit = state
        .accounts
        .get(debit)
        .ok_or(ResultCode::DebitAccountNotFound)?;
    let credit = state
        .accounts
        .get(credit)
        .ok_or(ResultCode::CreditAccountNotFound)?;
    if debit.asset != transfer.asset || credit.asset != transfer.asset {
        return Err(ResultCode::AssetMismatch);
    }
    Ok(())
}

/// The pending transfer `pending_id`, if `transfer` may close it at `now`.
fn open_pending(
    state: &BatchState,
    transfer: &Transfer,
    pending_id: &TransferId,
    now: i64,
) -> Result<StoredTransfer, ResultCode> {
    let pending = state
        .transfers
        .get(pending_id)
        .filter(|p| p.result == ResultCode::Ok)
        .ok_or(ResultCode::PendingNotFound)?;
    if pending.kind != TransferKindTag::Pending {
        return Err(ResultCode::PendingNotPending);
    }
    if pending.asset != transfer.asset {
        return Err(ResultCode::AssetMismatch);
    }
    match state.closures.get(pending_id) {
        Some(TransferKindTag::Post) => return Err(ResultCode::PendingAlreadyPosted),
        Some(TransferKindTag::Void) => return Err(ResultCode::PendingAlreadyVoided),
        Some(_) => return Err(ResultCode::PendingExpired),
        None => {}
    }
    let expired = pending.expires_at.is_some_and(|at| now >= at);
    match (&transfer.kind, expired) {
        (TransferKind::Expire { .. }, false) => Err(ResultCode::PendingNotExpired),
        (TransferKind::Post { .. } | TransferKind::Void { .. }, true) => {
            Err(ResultCode::PendingExpired)
        }
        _ => Ok(pending.clone()),
    }
}

/// Which pair of totals a movement changes.
#[derive(Clone, Copy)]
enum Phase {
    Posted,
    Pending,
}

fn move_posted(
    state: &mut BatchState,
    debit_id: &AccountId,
    credit_id: &AccountId,
    amount: i64,
    undo: &mut Undo,
) -> Result<(), ResultCode> {
    add(state, debit_id, credit_id, amount, Phase::Posted, undo)
}

fn hold(
    state: &mut BatchState,
    debit_id: &AccountId,
    credit_id: &AccountId,
    amount: i64,
    undo: &mut Undo,
) -> Result<(), ResultCode> {
    add(state, debit_id, credit_id, amount, Phase::Pending, undo)
}

/// Adds `amount` to the debit side of one account and the credit side of the other, if neither
/// overflows and both accounts' flags still hold; otherwise changes nothing.
fn add(
    state: &mut BatchState,
    debit_id: &AccountId,
    credit_id: &AccountId,
    amount: i64,
    phase: Phase,
    undo: &mut Undo,
) -> Result<(), ResultCode> {
    let mut debit = state.accounts[debit_id].clone();
    let mut credit = state.accounts[credit_id].clone();
    let (debit_total, credit_total) = match phase {
        Phase::Posted => (&mut debit.debits_posted, &mut credit.credits_posted),
        Phase::Pending => (&mut debit.debits_pending, &mut credit.credits_pending),
    };
    *debit_total = debit_total
        .checked_add(amount)
        .ok_or(ResultCode::Overflow)?;
    *credit_total = credit_total
        .checked_add(amount)
        .ok_or(ResultCode::Overflow)?;
    if !debit.debits_within_credits() {
        return Err(ResultCode::InsufficientFunds);
    }
    if !credit.credits_within_debits() {
        return Err(ResultCode::ExceedsDebits);
    }
    undo.save(&state.accounts[debit_id]);
    undo.save(&state.accounts[credit_id]);
    state.accounts.insert(debit_id.clone(), debit);
    state.accounts.insert(credit_id.clone(), credit);
    Ok(())
}

fn release(
    state: &mut BatchState,
    debit_id: &AccountId,
    credit_id: &AccountId,
    amount: i64,
    undo: &mut Undo,
) {
    undo.save(&state.accounts[debit_id]);
    undo.save(&state.accounts[credit_id]);
    let debit = state.accounts.get_mut(debit_id).expect("checked");
    debit.debits_pending -= amount;
    assert!(
        debit.debits_pending >= 0,
        "a hold released more than it held"
    );
    let credit = state.accounts.get_mut(credit_id).expect("checked");
    credit.credits_pending -= amount;
    assert!(
        credit.credits_pending >= 0,
        "a hold released more than it held"
    );
}

#[cfg(test)]
mod tests;
