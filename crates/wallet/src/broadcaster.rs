//! The hot wallet's broadcaster: turns approved withdrawals into signed transactions, sends them,
//! follows them to their receipts, bumps fees when they are stuck, and finishes each withdrawal.
//!
//! Nonces are never reused and never skipped. The counter lives in the database and advances
//! in the same transaction that gives a withdrawal its nonce and stores the signed bytes, and a
//! new nonce is given out only when no earlier transaction is still unacknowledged (`signed`).
//! When the node refuses a transaction outright, the nonce was never used: it is given back and
//! the withdrawal fails with the reason (its hold is voided). When the node gives no clear
//! answer, the nonce stays taken and the same bytes are sent again, so a restart never signs
//! something new for a nonce that may already be in a mempool. Fee bumps sign another
//! transaction at the same nonce with a higher bid; whichever of them is mined counts.

use anyhow::Context;
use chain::{BroadcastError, FeeBid, Hash32, Outgoing, Rejection, SignedTx};
use ledger::{Amount, AssetCode, ResultCode, Transfer, TransferKind};
use store::accounts::{system_account_id, AccountKind};
use store::wallet::{withdrawal_status as status, SignedWithdrawalTx, Withdrawal};

use crate::{codes, transfer_id, ChainRuntime, HoldOutcome, Wallet};

/// One round on one chain.
pub async fn tick(wallet: &Wallet, runtime: &ChainRuntime) -> anyhow::Result<()> {
    let db = wallet.db();
    let id = &runtime.settings.id;
    // Unacknowledged transactions first: nothing new is signed while one is outstanding.
    let mut outstanding = false;
    for w in db.withdrawals_in(Some(id), &[status::SIGNED]).await? {
        let txs = db.withdrawal_txs(&w.id).await?;
        let Some(latest) = txs.last() else { continue };
        outstanding |= !send(wallet, runtime, &w, latest).await?;
    }
    if !outstanding {
        for w in db.withdrawals_in(Some(id), &[status::REQUESTED]).await? {
            // A frozen account's withdrawals wait, unsent and still held: freezing is how a
            // person stops a thief's withdrawal that is already queued.
            let frozen = db
                .user_by_id(&w.user_id)
                .await?
                .is_some_and(|u| u.is_frozen(store::now_ms()));
            if frozen {
                continue;
            }
            if !start(wallet, runtime, &w).await? {
                break;
            }
        }
    }
    for w in db
        .withdrawals_in(Some(id), &[status::BROADCAST, status::CONFIRMING])
        .await?
    {
        follow(wallet, runtime, &w).await?;
    }
    Ok(())
}

/// Holds, numbers, signs and sends one requested withdrawal. False when the round should stop
/// giving out nonces (the node did not acknowledge).
async fn start(wallet: &Wallet, runtime: &ChainRuntime, w: &Withdrawal) -> anyhow::Result<bool> {
    let db = wallet.db();
    let id = &runtime.settings.id;
    // The request placed the hold; after a crash between recording and holding, this places it.
    if let HoldOutcome::Refused(code) = wallet.hold(w).await? {
        db.move_withdrawal(&w.id, &[status::REQUESTED], status::REFUSED, Some(code))
            .await?;
        return Ok(true);
    }
    let hot = wallet.hot_key().address();
    let chain_next = runtime.chain.next_nonce(hot).await?;
    db.catch_up_hot_wallet_nonce(id, &hot.to_lowercase_hex(), to_i64(chain_next)?)
        .await?;
    let nonce = db
        .hot_wallet_nonce(id)
        .await?
        .context("the nonce counter was just made")?;
    let fees = capped(runtime.chain.fee_bid().await?, runtime);
    let signed = sign(wallet, runtime, w, u64::try_from(nonce)?, fees)?;
    let record = signed_record(w, nonce, &signed, fees);
    if !db.assign_nonce(id, &record).await? {
        // Someone moved the counter or the withdrawal meanwhile: try again next round.
        return Ok(false);
    }
    let w = db.withdrawal(&w.id).await?.context("withdrawal vanished")?;
    send(wallet, runtime, &w, &record).await
}

fn sign(
    wallet: &Wallet,
    runtime: &ChainRuntime,
    w: &Withdrawal,
    nonce: u64,
    fees: FeeBid,
) -> anyhow::Result<SignedTx> {
    let asset = runtime
        .settings
        .assets
        .iter()
        .find(|a| a.code.as_str() == w.asset)
        .context("a withdrawal of an asset no longer configured")?;
    let outgoing = Outgoing {
        to: chain::Address::parse(&w.address).context("stored address")?,
        token: asset.token,
        amount: w.amount_raw.parse().context("stored chain amount")?,
        nonce,
        fees,
    };
    Ok(runtime.chain.sign(wallet.hot_key(), &outgoing)?)
}

fn signed_record(
    w: &Withdrawal,
    nonce: i64,
    signed: &SignedTx,
    fees: FeeBid,
) -> SignedWithdrawalTx {
    SignedWithdrawalTx {
        tx_hash: signed.hash.to_string(),
        withdrawal_id: w.id.clone(),
        nonce,
        raw_hex: hex::encode(&signed.raw),
        max_fee_per_gas: fees.max_fee_per_gas.to_string(),
        max_priority_fee_per_gas: fees.max_priority_fee_per_gas.to_string(),
        created_at_ms: store::now_ms(),
    }
}

fn capped(bid: FeeBid, runtime: &ChainRuntime) -> FeeBid {
    let cap = runtime.settings.max_fee_per_gas_cap;
    FeeBid {
        max_fee_per_gas: bid.max_fee_per_gas.min(cap),
        max_priority_fee_per_gas: bid.max_priority_fee_per_gas.min(cap),
    }
}

/// Sends a stored transaction. True when the node acknowledged it (or it is settled another
/// way); false when the answer was unclear and the same bytes must be sent again.
async fn send(
    wallet: &Wallet,
    runtime: &ChainRuntime,
    w: &Withdrawal,
    tx: &SignedWithdrawalTx,
) -> anyhow::Result<bool> {
    let db = wallet.db();
    let signed = SignedTx {
        hash: Hash32::parse(&tx.tx_hash).context("stored hash")?,
        raw: hex::decode(&tx.raw_hex).context("stored bytes")?,
    };
    match runtime.chain.broadcast(&signed).await {
        Ok(()) => {
            db.update_withdrawal_progress(&w.id, status::BROADCAST, None, 0)
                .await?;
            Ok(true)
        }
        Err(BroadcastError::Unavailable(message)) => {
            tracing::warn!(withdrawal = %w.id, %message, "broadcast unanswered; will resend");
            Ok(false)
        }
        Err(BroadcastError::Rejected { kind, message }) => {
            if w.status != status::SIGNED {
                // A replacement refused (e.g. underpriced): the earlier transaction stands.
                tracing::warn!(withdrawal = %w.id, %message, "replacement refused");
                return Ok(true);
            }
            tracing::warn!(withdrawal = %w.id, ?kind, %message, "node refused the transaction");
            match kind {
                // Our counter was behind the chain's (the key was used elsewhere), or another
                // transaction holds the nonce: give it back; the next round numbers afresh.
                Rejection::NonceTooLow | Rejection::Underpriced => {
                    db.release_nonce(w, status::REQUESTED, None).await?;
                }
                Rejection::InsufficientFunds => {
                    db.release_nonce(w, status::FAILED_REFUNDED, Some("hot_wallet_underfunded"))
                        .await?;
                }
                Rejection::Other => {
                    db.release_nonce(w, status::FAILED_REFUNDED, Some("broadcast_rejected"))
                        .await?;
                }
            }
            Ok(true)
        }
    }
}

/// Follows a sent withdrawal: its receipt, confirmations, a fee bump when stuck, the end.
async fn follow(wallet: &Wallet, runtime: &ChainRuntime, w: &Withdrawal) -> anyhow::Result<()> {
    let db = wallet.db();
    let txs = db.withdrawal_txs(&w.id).await?;
    let Some(latest) = txs.last() else {
        return Ok(());
    };
    // Whichever of its transactions was mined (a bump may lose to the original).
    let mut mined = None;
    for tx in txs.iter().rev() {
        let hash = Hash32::parse(&tx.tx_hash).context("stored hash")?;
        if let Some(receipt) = runtime.chain.receipt(hash).await? {
            mined = Some((tx, receipt));
            break;
        }
    }
    let Some((tx, receipt)) = mined else {
        if w.status == status::CONFIRMING {
            // Its block was reorganised away: back to waiting for a block.
            db.update_withdrawal_progress(&w.id, status::BROADCAST, None, 0)
                .await?;
        }
        let age_ms = store::now_ms() - latest.created_at_ms;
        let stuck_ms =
            i64::try_from(runtime.settings.stuck_after_s.saturating_mul(1000)).unwrap_or(i64::MAX);
        if age_ms >= stuck_ms {
            bump(wallet, runtime, w, latest).await?;
        } else {
            // Cheap and harmless: a dropped transaction comes back; a known one is "known".
            let _ = send(wallet, runtime, w, latest).await?;
        }
        return Ok(());
    };
    let head = runtime.chain.head().await?;
    let confirmations = head.saturating_sub(receipt.block_number) + 1;
    let required = u64::try_from(w.confirmations_required).unwrap_or(1).max(1);
    if confirmations < required {
        let block_hash = receipt.block_hash.to_string();
        db.update_withdrawal_progress(
            &w.id,
            status::CONFIRMING,
            Some((to_i64(receipt.block_number)?, &block_hash, &tx.tx_hash)),
            to_i64(confirmations)?,
        )
        .await?;
        return Ok(());
    }
    book_gas(wallet, runtime, w, receipt.fee_paid).await?;
    let block_hash = receipt.block_hash.to_string();
    db.update_withdrawal_progress(
        &w.id,
        status::CONFIRMING,
        Some((to_i64(receipt.block_number)?, &block_hash, &tx.tx_hash)),
        to_i64(confirmations)?,
    )
    .await?;
    let (to, reason) = if receipt.success {
        (status::COMPLETED, None)
    } else {
        (status::FAILED_REFUNDED, Some("reverted"))
    };
    if db
        .finish_withdrawal(&w.id, to, reason, &receipt.fee_paid.to_string())
        .await?
    {
        let finished = db.withdrawal(&w.id).await?.context("withdrawal vanished")?;
        wallet.settle(&finished).await?;
    }
    Ok(())
}

/// Signs the same nonce again with a higher bid (at least 12.5 % more, or what the chain asks
/// now, whichever is higher, within the cap) and sends it.
async fn bump(
    wallet: &Wallet,
    runtime: &ChainRuntime,
    w: &Withdrawal,
    latest: &SignedWithdrawalTx,
) -> anyhow::Result<()> {
    let old = FeeBid {
        max_fee_per_gas: latest.max_fee_per_gas.parse().context("stored fee")?,
        max_priority_fee_per_gas: latest
            .max_priority_fee_per_gas
            .parse()
            .context("stored fee")?,
    };
    let now = runtime.chain.fee_bid().await?;
    let raised = old.bumped(13);
    let fees = capped(
        FeeBid {
            max_fee_per_gas: raised.max_fee_per_gas.max(now.max_fee_per_gas),
            max_priority_fee_per_gas: raised
                .max_priority_fee_per_gas
                .max(now.max_priority_fee_per_gas),
        },
        runtime,
    );
    if fees.max_fee_per_gas <= old.max_fee_per_gas {
        // At the cap: wait (and resend what we have) rather than overpay.
        let _ = send(wallet, runtime, w, latest).await?;
        return Ok(());
    }
    let nonce = w.nonce.context("a sent withdrawal without a nonce")?;
    let signed = sign(wallet, runtime, w, u64::try_from(nonce)?, fees)?;
    let record = signed_record(w, nonce, &signed, fees);
    wallet
        .db()
        .record_replacement(&runtime.settings.id, &record)
        .await?;
    tracing::info!(withdrawal = %w.id, nonce, max_fee_per_gas = %fees.max_fee_per_gas, "fee bumped");
    send(wallet, runtime, w, &record).await?;
    Ok(())
}

/// Books the gas a mined transaction paid: network fees ← custody, in the chain's native asset.
async fn book_gas(
    wallet: &Wallet,
    runtime: &ChainRuntime,
    w: &Withdrawal,
    fee_paid: u128,
) -> anyhow::Result<()> {
    let Some(native) = runtime.settings.native() else {
        return Ok(());
    };
    let decimals = wallet
        .db()
        .assets()
        .await?
        .into_iter()
        .find(|a| a.code == native.code)
        .map(|a| a.decimals)
        .context("the native asset is missing from the assets table")?;
    let (amount, _dust) = Amount::from_chain_units(fee_paid, native.chain_decimals, decimals)
        .context("a network fee beyond the ledger's range")?;
    if amount.is_zero() {
        return Ok(());
    }
    let asset: AssetCode = native.code.clone();
    let result = wallet
        .submit(vec![Transfer {
            id: transfer_id(&format!("wd:{}:gas", w.id))?,
            kind: TransferKind::Single {
                debit: system_account_id(AccountKind::NetworkFees, &asset),
                credit: system_account_id(AccountKind::Custody, &asset),
                amount,
            },
            asset,
            code: codes::NETWORK_FEE,
            reference: format!("withdrawal:{}", w.id),
            linked: false,
        }])
        .await?;
    match result.first().map(|r| r.code) {
        Some(ResultCode::Ok) => Ok(()),
        other => anyhow::bail!("booking gas of withdrawal {} failed: {other:?}", w.id),
    }
}

fn to_i64(n: u64) -> anyhow::Result<i64> {
    i64::try_from(n).context("a number beyond i64")
}
