//! Deposits and withdrawals: every SQL statement the chain workers and the wallet routes need.
//!
//! The sealed HD seed, deposit addresses, the watcher's recent blocks, deposits, the address
//! book, withdrawals and the transactions signed for them, the hot wallet's nonce counter,
//! worker leases and idempotency keys. Addresses and hashes arrive as 0x-lowercase text; this
//! module decides nothing about confirmations, limits or fees — it stores what it is told and
//! makes the few steps that must be atomic (a nonce with its transaction, a limit check with its
//! withdrawal) atomic.

use anyhow::Context;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{new_id, now_ms, Db};

/// Deposit statuses as stored (the wallet explains them).
pub mod deposit_status {
    pub const DETECTED: &str = "detected";
    pub const CONFIRMING: &str = "confirming";
    pub const CREDITED: &str = "credited";
    pub const ORPHANED: &str = "orphaned";
    pub const TOO_SMALL: &str = "too_small";
}

/// Withdrawal statuses as stored.
pub mod withdrawal_status {
    pub const REQUESTED: &str = "requested";
    pub const UNDER_REVIEW: &str = "under_review";
    pub const REJECTED: &str = "rejected";
    /// Signed with a nonce, not yet accepted by the node.
    pub const SIGNED: &str = "signed";
    pub const BROADCAST: &str = "broadcast";
    pub const CONFIRMING: &str = "confirming";
    pub const COMPLETED: &str = "completed";
    pub const FAILED_REFUNDED: &str = "failed_refunded";
    /// Refused when asked (e.g. not enough funds): never held anything.
    pub const REFUSED: &str = "refused";
}

/// A deposit as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deposit {
    pub id: String,
    pub chain: String,
    pub tx_hash: String,
    /// -1 for a native transfer.
    pub log_index: i64,
    pub user_id: String,
    pub asset: String,
    pub address: String,
    pub from_address: String,
    pub amount: i64,
    pub amount_raw: String,
    pub block_number: i64,
    pub block_hash: String,
    pub confirmations: i64,
    pub confirmations_required: i64,
    pub status: String,
    pub simulated: bool,
    pub ledger_transfer_id: String,
    pub detected_at_ms: i64,
    pub updated_at_ms: i64,
    pub credited_at_ms: Option<i64>,
}

const DEPOSIT_COLUMNS: &str = "id, chain, tx_hash, log_index, user_id, asset, address, \
     from_address, amount, amount_raw, block_number, block_hash, confirmations, \
     confirmations_required, status, simulated, ledger_transfer_id, detected_at_ms, \
     updated_at_ms, credited_at_ms";

fn deposit_from_row(row: &AnyRow) -> anyhow::Result<Deposit> {
    Ok(Deposit {
        id: row.try_get("id")?,
        chain: row.try_get("chain")?,
        tx_hash: row.try_get("tx_hash")?,
        log_index: row.try_get("log_index")?,
        user_id: row.try_get("user_id")?,
        asset: row.try_get("asset")?,
        address: row.try_get("address")?,
        from_address: row.try_get("from_address")?,
        amount: row.try_get("amount")?,
        amount_raw: row.try_get("amount_raw")?,
        block_number: row.try_get("block_number")?,
        block_hash: row.try_get("block_hash")?,
        confirmations: row.try_get("confirmations")?,
        confirmations_required: row.try_get("confirmations_required")?,
        status: row.try_get("status")?,
        simulated: row.try_get::<i64, _>("simulated")? != 0,
        ledger_transfer_id: row.try_get("ledger_transfer_id")?,
        detected_at_ms: row.try_get("detected_at_ms")?,
        updated_at_ms: row.try_get("updated_at_ms")?,
        credited_at_ms: row.try_get("credited_at_ms")?,
    })
}

/// A deposit seen in a block, to record (or, when the same transaction reappears in another
/// block after a reorganisation, to move to that block).
#[derive(Clone, Debug)]
pub struct SeenDeposit {
    pub chain: String,
    pub tx_hash: String,
    pub log_index: i64,
    pub user_id: String,
    pub asset: String,
    pub address: String,
    pub from_address: String,
    pub amount: i64,
    pub amount_raw: String,
    pub block_number: i64,
    pub block_hash: String,
    pub confirmations_required: i64,
    pub status: String,
    pub simulated: bool,
    pub ledger_transfer_id: String,
}

/// An address-book entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressEntry {
    pub id: String,
    pub user_id: String,
    pub chain: String,
    pub address: String,
    pub label: String,
    pub created_at_ms: i64,
    pub usable_from_ms: i64,
}

fn entry_from_row(row: &AnyRow) -> anyhow::Result<AddressEntry> {
    Ok(AddressEntry {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        chain: row.try_get("chain")?,
        address: row.try_get("address")?,
        label: row.try_get("label")?,
        created_at_ms: row.try_get("created_at_ms")?,
        usable_from_ms: row.try_get("usable_from_ms")?,
    })
}

/// A withdrawal as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Withdrawal {
    pub id: String,
    pub user_id: String,
    pub asset: String,
    pub chain: String,
    pub address: String,
    pub amount: i64,
    pub fee: i64,
    pub amount_raw: String,
    pub status: String,
    pub reason_code: Option<String>,
    pub needs_review: bool,
    pub reviewed_by: Option<String>,
    pub review_note: Option<String>,
    pub reviewed_at_ms: Option<i64>,
    pub hold_id: String,
    pub fee_hold_id: String,
    pub nonce: Option<i64>,
    pub tx_hash: Option<String>,
    pub block_number: Option<i64>,
    pub block_hash: Option<String>,
    pub confirmations: i64,
    pub confirmations_required: i64,
    pub network_fee_raw: Option<String>,
    pub simulated: bool,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub broadcast_at_ms: Option<i64>,
    pub finished_at_ms: Option<i64>,
}

const WITHDRAWAL_COLUMNS: &str = "id, user_id, asset, chain, address, amount, fee, amount_raw, \
     status, reason_code, needs_review, reviewed_by, review_note, reviewed_at_ms, hold_id, \
     fee_hold_id, nonce, tx_hash, block_number, block_hash, confirmations, \
     confirmations_required, network_fee_raw, simulated, created_at_ms, updated_at_ms, \
     broadcast_at_ms, finished_at_ms";

fn withdrawal_from_row(row: &AnyRow) -> anyhow::Result<Withdrawal> {
    Ok(Withdrawal {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        asset: row.try_get("asset")?,
        chain: row.try_get("chain")?,
        address: row.try_get("address")?,
        amount: row.try_get("amount")?,
        fee: row.try_get("fee")?,
        amount_raw: row.try_get("amount_raw")?,
        status: row.try_get("status")?,
        reason_code: row.try_get("reason_code")?,
        needs_review: row.try_get::<i64, _>("needs_review")? != 0,
        reviewed_by: row.try_get("reviewed_by")?,
        review_note: row.try_get("review_note")?,
        reviewed_at_ms: row.try_get("reviewed_at_ms")?,
        hold_id: row.try_get("hold_id")?,
        fee_hold_id: row.try_get("fee_hold_id")?,
        nonce: row.try_get("nonce")?,
        tx_hash: row.try_get("tx_hash")?,
        block_number: row.try_get("block_number")?,
        block_hash: row.try_get("block_hash")?,
        confirmations: row.try_get("confirmations")?,
        confirmations_required: row.try_get("confirmations_required")?,
        network_fee_raw: row.try_get("network_fee_raw")?,
        simulated: row.try_get::<i64, _>("simulated")? != 0,
        created_at_ms: row.try_get("created_at_ms")?,
        updated_at_ms: row.try_get("updated_at_ms")?,
        broadcast_at_ms: row.try_get("broadcast_at_ms")?,
        finished_at_ms: row.try_get("finished_at_ms")?,
    })
}

/// A withdrawal to record, with the daily limit it must stay within.
#[derive(Clone, Debug)]
pub struct NewWithdrawal {
    pub id: String,
    pub user_id: String,
    pub asset: String,
    pub chain: String,
    pub address: String,
    pub amount: i64,
    pub fee: i64,
    pub amount_raw: String,
    pub needs_review: bool,
    pub confirmations_required: i64,
    pub simulated: bool,
    pub hold_id: String,
    pub fee_hold_id: String,
    /// Most this user may withdraw of this asset (amount + fee) since `limit_since_ms`.
    pub daily_limit: i64,
    pub limit_since_ms: i64,
}

/// What recording a withdrawal came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NewWithdrawalOutcome {
    Recorded,
    /// The daily limit would be exceeded; `used` is what counts against it already.
    OverDailyLimit {
        used: i64,
    },
}

/// A transaction signed for a withdrawal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedWithdrawalTx {
    pub tx_hash: String,
    pub withdrawal_id: String,
    pub nonce: i64,
    pub raw_hex: String,
    pub max_fee_per_gas: String,
    pub max_priority_fee_per_gas: String,
    pub created_at_ms: i64,
}

/// What an `Idempotency-Key` found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdempotencyBegin {
    /// First use: go ahead, then call `idempotency_finish` (or `idempotency_abandon`).
    Fresh,
    /// Used before with the same request: here is the first response.
    Replay { status: u16, body: String },
    /// Used before with another request.
    Conflict,
    /// The first request with this key is still being answered.
    InFlight,
}

fn placeholders(from: usize, count: usize) -> String {
    (from..from + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Db {
    // --- the seed --------------------------------------------------------------------------

    /// The sealed HD seed, if one was stored.
    pub async fn wallet_seed(&self) -> anyhow::Result<Option<String>> {
        let row = sqlx::query("SELECT sealed FROM wallet_seeds WHERE id = 'main'")
            .fetch_optional(self.pool())
            .await
            .context("while reading the wallet seed")?;
        row.map(|r| r.try_get("sealed").map_err(Into::into))
            .transpose()
    }

    /// Stores `sealed` as the seed unless one exists; returns the one that is stored now (the
    /// first node to start wins, the others read its seed).
    pub async fn store_wallet_seed(&self, sealed: &str) -> anyhow::Result<String> {
        sqlx::query(
            "INSERT INTO wallet_seeds (id, sealed, created_at_ms) VALUES ('main', $1, $2) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(sealed)
        .bind(now_ms())
        .execute(self.pool())
        .await
        .context("while storing the wallet seed")?;
        self.wallet_seed()
            .await?
            .context("the wallet seed vanished after it was stored")
    }

    // --- deposit addresses -----------------------------------------------------------------

    /// The user's deposit address on `chain`, if one was given out.
    pub async fn deposit_address(
        &self,
        chain: &str,
        user_id: &str,
    ) -> anyhow::Result<Option<String>> {
        let row =
            sqlx::query("SELECT address FROM deposit_addresses WHERE chain = $1 AND user_id = $2")
                .bind(chain)
                .bind(user_id)
                .fetch_optional(self.pool())
                .await
                .context("while reading a deposit address")?;
        row.map(|r| r.try_get("address").map_err(Into::into))
            .transpose()
    }

    /// The user's deposit address on `chain`, given out now at the next HD index if there is
    /// none yet. `derive` turns an index into an address. Concurrent calls agree on one address.
    pub async fn assign_deposit_address(
        &self,
        chain: &str,
        user_id: &str,
        derive: impl Fn(u32) -> anyhow::Result<String>,
    ) -> anyhow::Result<String> {
        for _ in 0..16 {
            if let Some(address) = self.deposit_address(chain, user_id).await? {
                return Ok(address);
            }
            let next: i64 = sqlx::query(
                "SELECT CAST(COALESCE(MAX(hd_index) + 1, 0) AS BIGINT) AS next \
                 FROM deposit_addresses WHERE chain = $1",
            )
            .bind(chain)
            .fetch_one(self.pool())
            .await
            .context("while choosing a deposit index")?
            .try_get("next")?;
            let index = u32::try_from(next)
                .ok()
                .filter(|i| *i < 0x8000_0000)
                .context("the deposit address space of this chain is used up")?;
            let address = derive(index)?;
            // Another request may take the same index (or give this user an address) first;
            // then nothing is inserted and the loop reads again.
            sqlx::query(
                "INSERT INTO deposit_addresses (chain, address, user_id, hd_index, created_at_ms) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            )
            .bind(chain)
            .bind(&address)
            .bind(user_id)
            .bind(next)
            .bind(now_ms())
            .execute(self.pool())
            .await
            .context("while storing a deposit address")?;
        }
        anyhow::bail!("could not assign a deposit address after repeated contention")
    }

    /// Which of `addresses` are deposit addresses on `chain`, and whose: (address, user id).
    pub async fn deposit_address_owners(
        &self,
        chain: &str,
        addresses: &[String],
    ) -> anyhow::Result<Vec<(String, String)>> {
        let mut owners = Vec::new();
        for chunk in addresses.chunks(500) {
            let sql = format!(
                "SELECT address, user_id FROM deposit_addresses WHERE chain = $1 \
                 AND address IN ({})",
                placeholders(2, chunk.len())
            );
            let mut query = sqlx::query(&sql).bind(chain);
            for address in chunk {
                query = query.bind(address);
            }
            for row in query
                .fetch_all(self.pool())
                .await
                .context("while looking up deposit addresses")?
            {
                owners.push((row.try_get("address")?, row.try_get("user_id")?));
            }
        }
        Ok(owners)
    }

    // --- the watcher's blocks ---------------------------------------------------------------

    /// The newest scanned block of `chain`: (number, hash).
    pub async fn chain_cursor(&self, chain: &str) -> anyhow::Result<Option<(i64, String)>> {
        let row = sqlx::query(
            "SELECT number, hash FROM chain_blocks WHERE chain = $1 ORDER BY number DESC LIMIT 1",
        )
        .bind(chain)
        .fetch_optional(self.pool())
        .await
        .context("while reading the chain cursor")?;
        row.map(|r| Ok((r.try_get("number")?, r.try_get("hash")?)))
            .transpose()
    }

    /// The hash recorded for block `number`, if it was scanned and kept.
    pub async fn scanned_block_hash(
        &self,
        chain: &str,
        number: i64,
    ) -> anyhow::Result<Option<String>> {
        let row = sqlx::query("SELECT hash FROM chain_blocks WHERE chain = $1 AND number = $2")
            .bind(chain)
            .bind(number)
            .fetch_optional(self.pool())
            .await
            .context("while reading a scanned block")?;
        row.map(|r| r.try_get("hash").map_err(Into::into))
            .transpose()
    }

    /// Records block `number` as scanned, forgetting blocks more than `keep` below it.
    pub async fn record_scanned_block(
        &self,
        chain: &str,
        number: i64,
        hash: &str,
        parent_hash: &str,
        keep: i64,
    ) -> anyhow::Result<()> {
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO chain_blocks (chain, number, hash, parent_hash, scanned_at_ms) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (chain, number) DO UPDATE \
             SET hash = excluded.hash, parent_hash = excluded.parent_hash, \
             scanned_at_ms = excluded.scanned_at_ms",
        )
        .bind(chain)
        .bind(number)
        .bind(hash)
        .bind(parent_hash)
        .bind(now_ms())
        .execute(&mut *tx)
        .await
        .context("while recording a scanned block")?;
        sqlx::query("DELETE FROM chain_blocks WHERE chain = $1 AND number < $2")
            .bind(chain)
            .bind(number - keep)
            .execute(&mut *tx)
            .await
            .context("while forgetting old blocks")?;
        tx.commit().await?;
        Ok(())
    }

    /// A reorganisation replaced every block above `number`: forget them, and mark the deposits
    /// seen in them (and not credited) as orphaned. Returns how many deposits were orphaned.
    pub async fn unwind_blocks_above(&self, chain: &str, number: i64) -> anyhow::Result<u64> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("DELETE FROM chain_blocks WHERE chain = $1 AND number > $2")
            .bind(chain)
            .bind(number)
            .execute(&mut *tx)
            .await
            .context("while unwinding blocks")?;
        let orphaned = sqlx::query(
            "UPDATE deposits SET status = $1, updated_at_ms = $2 \
             WHERE chain = $3 AND block_number > $4 AND status IN ($5, $6)",
        )
        .bind(deposit_status::ORPHANED)
        .bind(now_ms())
        .bind(chain)
        .bind(number)
        .bind(deposit_status::DETECTED)
        .bind(deposit_status::CONFIRMING)
        .execute(&mut *tx)
        .await
        .context("while orphaning deposits")?
        .rows_affected();
        tx.commit().await?;
        Ok(orphaned)
    }

    // --- deposits --------------------------------------------------------------------------

    /// Records the deposits seen in one block, in one transaction. A deposit is recorded at first
    /// sight; the same transfer seen again in another block (it was reorganised and mined again)
    /// moves to that block and starts confirming afresh, unless it was already credited.
    pub async fn record_deposits(&self, seen: &[SeenDeposit]) -> anyhow::Result<()> {
        let now = now_ms();
        let mut tx = self.pool().begin().await?;
        for seen in seen {
            sqlx::query(
                "INSERT INTO deposits (id, chain, tx_hash, log_index, user_id, asset, address, \
                 from_address, amount, amount_raw, block_number, block_hash, confirmations, \
                 confirmations_required, status, simulated, ledger_transfer_id, detected_at_ms, \
                 updated_at_ms, credited_at_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1, $13, $14, $15, \
                 $16, $17, $17, NULL) \
                 ON CONFLICT (chain, tx_hash, log_index) DO UPDATE SET \
                 block_number = excluded.block_number, block_hash = excluded.block_hash, \
                 confirmations = 1, status = excluded.status, \
                 updated_at_ms = excluded.updated_at_ms \
                 WHERE deposits.status NOT IN ('credited', 'too_small') \
                 AND deposits.block_hash <> excluded.block_hash",
            )
            .bind(new_id())
            .bind(&seen.chain)
            .bind(&seen.tx_hash)
            .bind(seen.log_index)
            .bind(&seen.user_id)
            .bind(&seen.asset)
            .bind(&seen.address)
            .bind(&seen.from_address)
            .bind(seen.amount)
            .bind(&seen.amount_raw)
            .bind(seen.block_number)
            .bind(&seen.block_hash)
            .bind(seen.confirmations_required)
            .bind(&seen.status)
            .bind(i64::from(seen.simulated))
            .bind(&seen.ledger_transfer_id)
            .bind(now)
            .execute(&mut *tx)
            .await
            .context("while recording a deposit")?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Deposits on `chain` still waiting for confirmations.
    pub async fn confirming_deposits(&self, chain: &str) -> anyhow::Result<Vec<Deposit>> {
        let sql = format!(
            "SELECT {DEPOSIT_COLUMNS} FROM deposits WHERE chain = $1 AND status IN ($2, $3) \
             ORDER BY block_number, id"
        );
        let rows = sqlx::query(&sql)
            .bind(chain)
            .bind(deposit_status::DETECTED)
            .bind(deposit_status::CONFIRMING)
            .fetch_all(self.pool())
            .await
            .context("while listing confirming deposits")?;
        rows.iter().map(deposit_from_row).collect()
    }

    /// Sets waiting deposits' confirmation counts and statuses — (id, confirmations, status) —
    /// in one transaction, never touching a credited one.
    pub async fn update_deposits_progress(
        &self,
        progress: &[(String, i64, &str)],
    ) -> anyhow::Result<()> {
        if progress.is_empty() {
            return Ok(());
        }
        let now = now_ms();
        let mut tx = self.pool().begin().await?;
        for (id, confirmations, status) in progress {
            sqlx::query(
                "UPDATE deposits SET confirmations = $1, status = $2, updated_at_ms = $3, \
                 credited_at_ms = CASE WHEN $2 = 'credited' THEN $3 ELSE credited_at_ms END \
                 WHERE id = $4 AND status IN ('detected', 'confirming')",
            )
            .bind(*confirmations)
            .bind(*status)
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await
            .context("while updating a deposit")?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The user's deposits, newest first, after `before_id` when paging.
    pub async fn deposits_of(
        &self,
        user_id: &str,
        limit: i64,
        before_id: Option<&str>,
    ) -> anyhow::Result<Vec<Deposit>> {
        let sql = format!(
            "SELECT {DEPOSIT_COLUMNS} FROM deposits WHERE user_id = $1 AND id < $2 \
             ORDER BY id DESC LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(user_id)
            .bind(before_id.unwrap_or("~"))
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .context("while listing deposits")?;
        rows.iter().map(deposit_from_row).collect()
    }

    /// A user's deposits for the activity history: newest first, before `(at, id)`, within
    /// `[since, until)`, optionally of one asset and status.
    pub async fn deposits_window(
        &self,
        user_id: &str,
        window: &crate::movements::MovementFilter,
        limit: i64,
    ) -> anyhow::Result<Vec<Deposit>> {
        let (at, id) = window.before.clone().unwrap_or((i64::MAX, "~".to_owned()));
        let sql = format!(
            "SELECT {DEPOSIT_COLUMNS} FROM deposits WHERE user_id = $1 \
             AND (detected_at_ms < $2 OR (detected_at_ms = $2 AND id < $3)) \
             AND detected_at_ms >= $4 AND detected_at_ms < $5 \
             AND ($6 = '' OR asset = $6) AND ($7 = '' OR status = $7) \
             ORDER BY detected_at_ms DESC, id DESC LIMIT $8"
        );
        let rows = sqlx::query(&sql)
            .bind(user_id)
            .bind(at)
            .bind(id)
            .bind(window.since_ms.unwrap_or(0))
            .bind(window.until_ms.unwrap_or(i64::MAX))
            .bind(window.asset.clone().unwrap_or_default())
            .bind(window.status.clone().unwrap_or_default())
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .context("while listing deposits for activity")?;
        rows.iter().map(deposit_from_row).collect()
    }

    /// A user's withdrawals for the activity history (see [`Db::deposits_window`]).
    pub async fn withdrawals_window(
        &self,
        user_id: &str,
        window: &crate::movements::MovementFilter,
        limit: i64,
    ) -> anyhow::Result<Vec<Withdrawal>> {
        let (at, id) = window.before.clone().unwrap_or((i64::MAX, "~".to_owned()));
        let sql = format!(
            "SELECT {WITHDRAWAL_COLUMNS} FROM withdrawals WHERE user_id = $1 \
             AND (created_at_ms < $2 OR (created_at_ms = $2 AND id < $3)) \
             AND created_at_ms >= $4 AND created_at_ms < $5 \
             AND ($6 = '' OR asset = $6) AND ($7 = '' OR status = $7) \
             ORDER BY created_at_ms DESC, id DESC LIMIT $8"
        );
        let rows = sqlx::query(&sql)
            .bind(user_id)
            .bind(at)
            .bind(id)
            .bind(window.since_ms.unwrap_or(0))
            .bind(window.until_ms.unwrap_or(i64::MAX))
            .bind(window.asset.clone().unwrap_or_default())
            .bind(window.status.clone().unwrap_or_default())
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .context("while listing withdrawals for activity")?;
        rows.iter().map(withdrawal_from_row).collect()
    }

    /// One of the user's deposits (someone else's is `None`).
    pub async fn deposit_of(&self, user_id: &str, id: &str) -> anyhow::Result<Option<Deposit>> {
        let sql = format!("SELECT {DEPOSIT_COLUMNS} FROM deposits WHERE user_id = $1 AND id = $2");
        let row = sqlx::query(&sql)
            .bind(user_id)
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .context("while reading a deposit")?;
        row.as_ref().map(deposit_from_row).transpose()
    }

    /// Per asset, what the user has on the way: deposits seen but not yet credited.
    pub async fn incoming_totals(&self, user_id: &str) -> anyhow::Result<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT asset, CAST(SUM(amount) AS BIGINT) AS total FROM deposits \
             WHERE user_id = $1 AND status IN ('detected', 'confirming') GROUP BY asset",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await
        .context("while summing incoming deposits")?;
        rows.iter()
            .map(|r| Ok((r.try_get("asset")?, r.try_get("total")?)))
            .collect()
    }

    // --- the address book ------------------------------------------------------------------

    /// Adds an address to the user's book, usable from `usable_from_ms`; an address already in
    /// the book is returned as it is (its time-lock does not restart).
    pub async fn add_withdrawal_address(
        &self,
        user_id: &str,
        chain: &str,
        address: &str,
        label: &str,
        usable_from_ms: i64,
    ) -> anyhow::Result<(AddressEntry, bool)> {
        let inserted = sqlx::query(
            "INSERT INTO withdrawal_addresses (id, user_id, chain, address, label, created_at_ms, \
             usable_from_ms, removed_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL) \
             ON CONFLICT DO NOTHING",
        )
        .bind(new_id())
        .bind(user_id)
        .bind(chain)
        .bind(address)
        .bind(label)
        .bind(now_ms())
        .bind(usable_from_ms)
        .execute(self.pool())
        .await
        .context("while adding an address")?
        .rows_affected()
            == 1;
        let entry = self
            .withdrawal_address(user_id, chain, address)
            .await?
            .context("the address vanished after it was added")?;
        Ok((entry, inserted))
    }

    /// The user's live book entry for `address` on `chain`.
    pub async fn withdrawal_address(
        &self,
        user_id: &str,
        chain: &str,
        address: &str,
    ) -> anyhow::Result<Option<AddressEntry>> {
        let row = sqlx::query(
            "SELECT id, user_id, chain, address, label, created_at_ms, usable_from_ms \
             FROM withdrawal_addresses WHERE user_id = $1 AND chain = $2 AND address = $3 \
             AND removed_at_ms IS NULL",
        )
        .bind(user_id)
        .bind(chain)
        .bind(address)
        .fetch_optional(self.pool())
        .await
        .context("while reading an address")?;
        row.as_ref().map(entry_from_row).transpose()
    }

    /// The user's live address book, oldest first.
    pub async fn withdrawal_addresses(&self, user_id: &str) -> anyhow::Result<Vec<AddressEntry>> {
        let rows = sqlx::query(
            "SELECT id, user_id, chain, address, label, created_at_ms, usable_from_ms \
             FROM withdrawal_addresses WHERE user_id = $1 AND removed_at_ms IS NULL \
             ORDER BY created_at_ms, id",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await
        .context("while listing addresses")?;
        rows.iter().map(entry_from_row).collect()
    }

    /// Removes one of the user's entries; false when there is no such live entry of theirs.
    pub async fn remove_withdrawal_address(&self, user_id: &str, id: &str) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE withdrawal_addresses SET removed_at_ms = $1 WHERE id = $2 AND user_id = $3 \
             AND removed_at_ms IS NULL",
        )
        .bind(now_ms())
        .bind(id)
        .bind(user_id)
        .execute(self.pool())
        .await
        .context("while removing an address")?;
        Ok(done.rows_affected() == 1)
    }

    /// Turns allowlist mode on or off.
    pub async fn set_withdrawal_allowlist(&self, user_id: &str, on: bool) -> anyhow::Result<()> {
        sqlx::query("UPDATE users SET withdrawal_allowlist = $1 WHERE id = $2")
            .bind(i64::from(on))
            .bind(user_id)
            .execute(self.pool())
            .await
            .context("while setting allowlist mode")?;
        Ok(())
    }

    // --- withdrawals -----------------------------------------------------------------------

    /// Records a withdrawal if it keeps the user within the daily limit. The check and the
    /// insert are one transaction that first locks the user's row, so two requests at once
    /// cannot both squeeze under the limit.
    pub async fn record_withdrawal(
        &self,
        new: &NewWithdrawal,
    ) -> anyhow::Result<NewWithdrawalOutcome> {
        let mut tx = self.pool().begin().await?;
        // A no-op write: on PostgreSQL it locks the row, on SQLite it takes the write lock.
        sqlx::query("UPDATE users SET locale = locale WHERE id = $1")
            .bind(&new.user_id)
            .execute(&mut *tx)
            .await
            .context("while locking the user")?;
        let used: i64 = sqlx::query(
            "SELECT CAST(COALESCE(SUM(amount + fee), 0) AS BIGINT) AS used FROM withdrawals \
             WHERE user_id = $1 AND asset = $2 AND created_at_ms >= $3 \
             AND status NOT IN ('rejected', 'failed_refunded', 'refused')",
        )
        .bind(&new.user_id)
        .bind(&new.asset)
        .bind(new.limit_since_ms)
        .fetch_one(&mut *tx)
        .await
        .context("while summing today's withdrawals")?
        .try_get("used")?;
        let total = used
            .checked_add(new.amount)
            .and_then(|t| t.checked_add(new.fee));
        if total.is_none_or(|t| t > new.daily_limit) {
            return Ok(NewWithdrawalOutcome::OverDailyLimit { used });
        }
        let now = now_ms();
        sqlx::query(
            "INSERT INTO withdrawals (id, user_id, asset, chain, address, amount, fee, amount_raw, \
             status, reason_code, needs_review, reviewed_by, review_note, reviewed_at_ms, \
             hold_id, fee_hold_id, nonce, tx_hash, block_number, block_hash, confirmations, \
             confirmations_required, network_fee_raw, simulated, created_at_ms, updated_at_ms, \
             broadcast_at_ms, finished_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, \
             $10, NULL, NULL, NULL, $11, $12, NULL, NULL, NULL, NULL, 0, $13, NULL, $14, $15, \
             $15, NULL, NULL)",
        )
        .bind(&new.id)
        .bind(&new.user_id)
        .bind(&new.asset)
        .bind(&new.chain)
        .bind(&new.address)
        .bind(new.amount)
        .bind(new.fee)
        .bind(&new.amount_raw)
        .bind(withdrawal_status::REQUESTED)
        .bind(i64::from(new.needs_review))
        .bind(&new.hold_id)
        .bind(&new.fee_hold_id)
        .bind(new.confirmations_required)
        .bind(i64::from(new.simulated))
        .bind(now)
        .execute(&mut *tx)
        .await
        .context("while recording a withdrawal")?;
        tx.commit().await?;
        Ok(NewWithdrawalOutcome::Recorded)
    }

    /// A withdrawal by id.
    pub async fn withdrawal(&self, id: &str) -> anyhow::Result<Option<Withdrawal>> {
        let sql = format!("SELECT {WITHDRAWAL_COLUMNS} FROM withdrawals WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .context("while reading a withdrawal")?;
        row.as_ref().map(withdrawal_from_row).transpose()
    }

    /// The user's withdrawals, newest first, after `before_id` when paging.
    pub async fn withdrawals_of(
        &self,
        user_id: &str,
        limit: i64,
        before_id: Option<&str>,
    ) -> anyhow::Result<Vec<Withdrawal>> {
        let sql = format!(
            "SELECT {WITHDRAWAL_COLUMNS} FROM withdrawals WHERE user_id = $1 AND id < $2 \
             ORDER BY id DESC LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(user_id)
            .bind(before_id.unwrap_or("~"))
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .context("while listing withdrawals")?;
        rows.iter().map(withdrawal_from_row).collect()
    }

    /// Withdrawals in one of `statuses` (on `chain`, when given), oldest first.
    pub async fn withdrawals_in(
        &self,
        chain: Option<&str>,
        statuses: &[&str],
    ) -> anyhow::Result<Vec<Withdrawal>> {
        let sql = format!(
            "SELECT {WITHDRAWAL_COLUMNS} FROM withdrawals WHERE ($1 = '' OR chain = $1) \
             AND status IN ({}) ORDER BY id",
            placeholders(2, statuses.len())
        );
        let mut query = sqlx::query(&sql).bind(chain.unwrap_or(""));
        for status in statuses {
            query = query.bind(*status);
        }
        let rows = query
            .fetch_all(self.pool())
            .await
            .context("while listing withdrawals by status")?;
        rows.iter().map(withdrawal_from_row).collect()
    }

    /// Moves a withdrawal from one of `from` to `to`, with a reason when it failed; false when
    /// it was not in one of `from` (someone else moved it first).
    pub async fn move_withdrawal(
        &self,
        id: &str,
        from: &[&str],
        to: &str,
        reason_code: Option<&str>,
    ) -> anyhow::Result<bool> {
        let terminal = [
            withdrawal_status::COMPLETED,
            withdrawal_status::FAILED_REFUNDED,
            withdrawal_status::REJECTED,
            withdrawal_status::REFUSED,
        ]
        .contains(&to);
        let now = now_ms();
        let sql = format!(
            "UPDATE withdrawals SET status = $1, reason_code = COALESCE($2, reason_code), \
             updated_at_ms = $3, finished_at_ms = CASE WHEN $4 = 1 THEN $3 ELSE finished_at_ms END \
             WHERE id = $5 AND status IN ({})",
            placeholders(6, from.len())
        );
        let mut query = sqlx::query(&sql)
            .bind(to)
            .bind(reason_code)
            .bind(now)
            .bind(i64::from(terminal))
            .bind(id);
        for status in from {
            query = query.bind(*status);
        }
        let done = query
            .execute(self.pool())
            .await
            .context("while moving a withdrawal")?;
        Ok(done.rows_affected() == 1)
    }

    /// Records a supervisor's decision on a withdrawal under review; false when it was not
    /// under review any more.
    pub async fn review_withdrawal(
        &self,
        id: &str,
        approve: bool,
        reviewer: &str,
        note: &str,
    ) -> anyhow::Result<bool> {
        let now = now_ms();
        let (to, reason) = if approve {
            (withdrawal_status::REQUESTED, None)
        } else {
            (withdrawal_status::REJECTED, Some("rejected_by_review"))
        };
        let done = sqlx::query(
            "UPDATE withdrawals SET status = $1, reason_code = $2, reviewed_by = $3, \
             review_note = $4, reviewed_at_ms = $5, updated_at_ms = $5, \
             finished_at_ms = CASE WHEN $1 = 'rejected' THEN $5 ELSE NULL END \
             WHERE id = $6 AND status = 'under_review'",
        )
        .bind(to)
        .bind(reason)
        .bind(reviewer)
        .bind(note)
        .bind(now)
        .bind(id)
        .execute(self.pool())
        .await
        .context("while reviewing a withdrawal")?;
        Ok(done.rows_affected() == 1)
    }

    /// The hot wallet's next nonce on `chain` as we count it (`None` before its first use).
    pub async fn hot_wallet_nonce(&self, chain: &str) -> anyhow::Result<Option<i64>> {
        let row = sqlx::query("SELECT next_nonce FROM hot_wallet_nonces WHERE chain = $1")
            .bind(chain)
            .fetch_optional(self.pool())
            .await
            .context("while reading the hot wallet's nonce")?;
        row.map(|r| r.try_get("next_nonce").map_err(Into::into))
            .transpose()
    }

    /// Sets the counter to `next` — only to catch up with the chain, which has seen nonces we
    /// did not send (someone else used the key) — never backwards.
    pub async fn catch_up_hot_wallet_nonce(
        &self,
        chain: &str,
        address: &str,
        next: i64,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO hot_wallet_nonces (chain, address, next_nonce) VALUES ($1, $2, $3) \
             ON CONFLICT (chain) DO UPDATE SET next_nonce = excluded.next_nonce \
             WHERE hot_wallet_nonces.next_nonce < excluded.next_nonce",
        )
        .bind(chain)
        .bind(address)
        .bind(next)
        .execute(self.pool())
        .await
        .context("while catching up the hot wallet's nonce")?;
        Ok(())
    }

    /// Gives a withdrawal the nonce `tx.nonce` with its first signed transaction, in one
    /// transaction that also advances the counter — only if the counter still stands at that
    /// nonce and the withdrawal is still `requested`. False when either moved.
    pub async fn assign_nonce(&self, chain: &str, tx: &SignedWithdrawalTx) -> anyhow::Result<bool> {
        let mut db_tx = self.pool().begin().await?;
        let advanced = sqlx::query(
            "UPDATE hot_wallet_nonces SET next_nonce = next_nonce + 1 \
             WHERE chain = $1 AND next_nonce = $2",
        )
        .bind(chain)
        .bind(tx.nonce)
        .execute(&mut *db_tx)
        .await
        .context("while advancing the nonce")?
        .rows_affected()
            == 1;
        if !advanced {
            return Ok(false);
        }
        let moved = sqlx::query(
            "UPDATE withdrawals SET nonce = $1, tx_hash = $2, status = 'signed', \
             updated_at_ms = $3 WHERE id = $4 AND status = 'requested' AND nonce IS NULL",
        )
        .bind(tx.nonce)
        .bind(&tx.tx_hash)
        .bind(now_ms())
        .bind(&tx.withdrawal_id)
        .execute(&mut *db_tx)
        .await
        .context("while assigning a nonce")?
        .rows_affected()
            == 1;
        if !moved {
            return Ok(false);
        }
        insert_signed_tx(&mut db_tx, chain, tx).await?;
        db_tx.commit().await?;
        Ok(true)
    }

    /// Records another transaction for a withdrawal at its nonce (a fee bump) and makes it the
    /// current one.
    pub async fn record_replacement(
        &self,
        chain: &str,
        tx: &SignedWithdrawalTx,
    ) -> anyhow::Result<()> {
        let mut db_tx = self.pool().begin().await?;
        insert_signed_tx(&mut db_tx, chain, tx).await?;
        sqlx::query("UPDATE withdrawals SET tx_hash = $1, updated_at_ms = $2 WHERE id = $3")
            .bind(&tx.tx_hash)
            .bind(now_ms())
            .bind(&tx.withdrawal_id)
            .execute(&mut *db_tx)
            .await
            .context("while recording a replacement")?;
        db_tx.commit().await?;
        Ok(())
    }

    /// The node refused a withdrawal's only transaction outright, so its nonce was never used:
    /// give the nonce back (the counter steps back only if nothing was assigned after it) and
    /// move the withdrawal to `to` with `reason_code`.
    pub async fn release_nonce(
        &self,
        withdrawal: &Withdrawal,
        to: &str,
        reason_code: Option<&str>,
    ) -> anyhow::Result<()> {
        let nonce = withdrawal.nonce.context("the withdrawal holds no nonce")?;
        let mut db_tx = self.pool().begin().await?;
        sqlx::query(
            "UPDATE hot_wallet_nonces SET next_nonce = $1 WHERE chain = $2 AND next_nonce = $3",
        )
        .bind(nonce)
        .bind(&withdrawal.chain)
        .bind(nonce + 1)
        .execute(&mut *db_tx)
        .await
        .context("while giving a nonce back")?;
        sqlx::query("DELETE FROM withdrawal_txs WHERE withdrawal_id = $1")
            .bind(&withdrawal.id)
            .execute(&mut *db_tx)
            .await
            .context("while forgetting refused transactions")?;
        let now = now_ms();
        let terminal = to != withdrawal_status::REQUESTED;
        sqlx::query(
            "UPDATE withdrawals SET nonce = NULL, tx_hash = NULL, status = $1, \
             reason_code = COALESCE($2, reason_code), updated_at_ms = $3, \
             finished_at_ms = CASE WHEN $4 = 1 THEN $3 ELSE NULL END WHERE id = $5",
        )
        .bind(to)
        .bind(reason_code)
        .bind(now)
        .bind(i64::from(terminal))
        .bind(&withdrawal.id)
        .execute(&mut *db_tx)
        .await
        .context("while releasing a withdrawal's nonce")?;
        db_tx.commit().await?;
        Ok(())
    }

    /// Finished withdrawals whose holds are not yet posted or voided.
    pub async fn unsettled_withdrawals(&self) -> anyhow::Result<Vec<Withdrawal>> {
        let sql = format!(
            "SELECT {WITHDRAWAL_COLUMNS} FROM withdrawals WHERE ledger_settled = 0 \
             AND status IN ('completed', 'failed_refunded', 'rejected', 'refused') ORDER BY id"
        );
        let rows = sqlx::query(&sql)
            .fetch_all(self.pool())
            .await
            .context("while listing unsettled withdrawals")?;
        rows.iter().map(withdrawal_from_row).collect()
    }

    /// Notes that a finished withdrawal's holds were posted or voided.
    pub async fn mark_withdrawal_settled(&self, id: &str) -> anyhow::Result<()> {
        sqlx::query("UPDATE withdrawals SET ledger_settled = 1 WHERE id = $1")
            .bind(id)
            .execute(self.pool())
            .await
            .context("while marking a withdrawal settled")?;
        Ok(())
    }

    /// Every transaction signed for a withdrawal, oldest first.
    pub async fn withdrawal_txs(
        &self,
        withdrawal_id: &str,
    ) -> anyhow::Result<Vec<SignedWithdrawalTx>> {
        let rows = sqlx::query(
            "SELECT tx_hash, withdrawal_id, nonce, raw_hex, max_fee_per_gas, \
             max_priority_fee_per_gas, created_at_ms FROM withdrawal_txs \
             WHERE withdrawal_id = $1 ORDER BY created_at_ms, tx_hash",
        )
        .bind(withdrawal_id)
        .fetch_all(self.pool())
        .await
        .context("while listing a withdrawal's transactions")?;
        rows.iter()
            .map(|r| {
                Ok(SignedWithdrawalTx {
                    tx_hash: r.try_get("tx_hash")?,
                    withdrawal_id: r.try_get("withdrawal_id")?,
                    nonce: r.try_get("nonce")?,
                    raw_hex: r.try_get("raw_hex")?,
                    max_fee_per_gas: r.try_get("max_fee_per_gas")?,
                    max_priority_fee_per_gas: r.try_get("max_priority_fee_per_gas")?,
                    created_at_ms: r.try_get("created_at_ms")?,
                })
            })
            .collect()
    }

    /// Records what the chain says of a sent withdrawal: accepted by the node (`broadcast`),
    /// mined in a block (`confirming`, with its confirmations), or back in the mempool after a
    /// reorganisation (`broadcast` without a block).
    pub async fn update_withdrawal_progress(
        &self,
        id: &str,
        status: &str,
        mined: Option<(i64, &str, &str)>,
        confirmations: i64,
    ) -> anyhow::Result<()> {
        let now = now_ms();
        let (number, hash, tx_hash) = match mined {
            Some((number, hash, tx_hash)) => (Some(number), Some(hash), Some(tx_hash)),
            None => (None, None, None),
        };
        sqlx::query(
            "UPDATE withdrawals SET status = $1, block_number = $2, block_hash = $3, \
             tx_hash = COALESCE($4, tx_hash), confirmations = $5, updated_at_ms = $6, \
             broadcast_at_ms = COALESCE(broadcast_at_ms, $6) \
             WHERE id = $7 AND status IN ('signed', 'broadcast', 'confirming')",
        )
        .bind(status)
        .bind(number)
        .bind(hash)
        .bind(tx_hash)
        .bind(confirmations)
        .bind(now)
        .bind(id)
        .execute(self.pool())
        .await
        .context("while updating a withdrawal")?;
        Ok(())
    }

    /// Finishes a sent withdrawal: `completed` or `failed_refunded`, with the gas it cost.
    pub async fn finish_withdrawal(
        &self,
        id: &str,
        status: &str,
        reason_code: Option<&str>,
        network_fee_raw: &str,
    ) -> anyhow::Result<bool> {
        let now = now_ms();
        let done = sqlx::query(
            "UPDATE withdrawals SET status = $1, reason_code = $2, network_fee_raw = $3, \
             updated_at_ms = $4, finished_at_ms = $4 \
             WHERE id = $5 AND status IN ('signed', 'broadcast', 'confirming')",
        )
        .bind(status)
        .bind(reason_code)
        .bind(network_fee_raw)
        .bind(now)
        .bind(id)
        .execute(self.pool())
        .await
        .context("while finishing a withdrawal")?;
        Ok(done.rows_affected() == 1)
    }

    // --- leases ----------------------------------------------------------------------------

    /// Takes or renews the lease `name` for `holder` for `ttl_ms`; false while another holder's
    /// lease is live.
    pub async fn take_lease(&self, name: &str, holder: &str, ttl_ms: i64) -> anyhow::Result<bool> {
        let now = now_ms();
        let done = sqlx::query(
            "INSERT INTO worker_leases (name, holder, expires_at_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, \
             expires_at_ms = excluded.expires_at_ms \
             WHERE worker_leases.holder = excluded.holder OR worker_leases.expires_at_ms < $4",
        )
        .bind(name)
        .bind(holder)
        .bind(now + ttl_ms)
        .bind(now)
        .execute(self.pool())
        .await
        .context("while taking a lease")?;
        Ok(done.rows_affected() == 1)
    }

    // --- idempotency keys ------------------------------------------------------------------

    /// Starts a request under an `Idempotency-Key`.
    pub async fn idempotency_begin(
        &self,
        user_id: &str,
        key: &str,
        route: &str,
        request_hash: &str,
    ) -> anyhow::Result<IdempotencyBegin> {
        let inserted = sqlx::query(
            "INSERT INTO idempotency_keys (user_id, idem_key, route, request_hash, status, \
             response_body, created_at_ms) VALUES ($1, $2, $3, $4, NULL, NULL, $5) \
             ON CONFLICT DO NOTHING",
        )
        .bind(user_id)
        .bind(key)
        .bind(route)
        .bind(request_hash)
        .bind(now_ms())
        .execute(self.pool())
        .await
        .context("while recording an idempotency key")?
        .rows_affected()
            == 1;
        if inserted {
            return Ok(IdempotencyBegin::Fresh);
        }
        let row = sqlx::query(
            "SELECT route, request_hash, status, response_body FROM idempotency_keys \
             WHERE user_id = $1 AND idem_key = $2",
        )
        .bind(user_id)
        .bind(key)
        .fetch_one(self.pool())
        .await
        .context("while reading an idempotency key")?;
        let same = row.try_get::<String, _>("route")? == route
            && row.try_get::<String, _>("request_hash")? == request_hash;
        if !same {
            return Ok(IdempotencyBegin::Conflict);
        }
        let status: Option<i64> = row.try_get("status")?;
        let body: Option<String> = row.try_get("response_body")?;
        Ok(match (status, body) {
            (Some(status), Some(body)) => IdempotencyBegin::Replay {
                status: u16::try_from(status).context("stored status")?,
                body,
            },
            _ => IdempotencyBegin::InFlight,
        })
    }

    /// Keeps the response of a request made under an `Idempotency-Key`.
    pub async fn idempotency_finish(
        &self,
        user_id: &str,
        key: &str,
        status: u16,
        body: &str,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE idempotency_keys SET status = $1, response_body = $2 \
             WHERE user_id = $3 AND idem_key = $4",
        )
        .bind(i64::from(status))
        .bind(body)
        .bind(user_id)
        .bind(key)
        .execute(self.pool())
        .await
        .context("while keeping a response")?;
        Ok(())
    }

    /// Forgets a key whose request failed on our side, so that a retry runs again.
    pub async fn idempotency_abandon(&self, user_id: &str, key: &str) -> anyhow::Result<()> {
        sqlx::query(
            "DELETE FROM idempotency_keys WHERE user_id = $1 AND idem_key = $2 AND status IS NULL",
        )
        .bind(user_id)
        .bind(key)
        .execute(self.pool())
        .await
        .context("while forgetting an idempotency key")?;
        Ok(())
    }
}

async fn insert_signed_tx(
    db_tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    chain: &str,
    tx: &SignedWithdrawalTx,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO withdrawal_txs (tx_hash, withdrawal_id, chain, nonce, raw_hex, \
         max_fee_per_gas, max_priority_fee_per_gas, created_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (tx_hash) DO NOTHING",
    )
    .bind(&tx.tx_hash)
    .bind(&tx.withdrawal_id)
    .bind(chain)
    .bind(tx.nonce)
    .bind(&tx.raw_hex)
    .bind(&tx.max_fee_per_gas)
    .bind(&tx.max_priority_fee_per_gas)
    .bind(tx.created_at_ms)
    .execute(&mut **db_tx)
    .await
    .context("while recording a signed transaction")?;
    Ok(())
}
