//! The deposit watcher: follows a chain's blocks, records transfers to our deposit addresses at
//! first sight, counts their confirmations and credits each exactly once.
//!
//! Reorganisation safety: every scanned block's hash is kept (the last 1,000). A new block whose
//! parent is not the block we scanned at that height means the chain forked: the watcher walks
//! back to the last block both agree on, forgets everything above it and marks the deposits seen
//! there `orphaned`; if their transactions are mined again, they are seen again and start over.
//! Before crediting, the deposit's block is checked once more against the chain. The cursor is
//! the newest kept block, so a restarted watcher goes on where it stopped; credits are ledger
//! transfers whose id is derived from chain, transaction and log index, so a round repeated
//! after a crash credits nothing twice.

use std::collections::{HashMap, HashSet};

use anyhow::Context;
use chain::{BlockHeader, ChainError};
use ledger::{Amount, AssetCode, ResultCode, Transfer, TransferKind};
use store::accounts::{system_account_id, AccountKind};
use store::wallet::{deposit_status, SeenDeposit};

use crate::{asset_of_token, codes, rules, transfer_id, user_account, ChainRuntime, Wallet};

/// Blocks whose hashes are kept for finding a fork.
const BLOCKS_KEPT: i64 = 1_000;

/// One round: scan new blocks (up to the chain's per-round maximum), then advance every waiting
/// deposit and credit those with enough confirmations.
pub async fn tick(wallet: &Wallet, runtime: &ChainRuntime) -> anyhow::Result<()> {
    let head = runtime.chain.head().await?;
    scan(wallet, runtime, head).await?;
    confirm(wallet, runtime, head).await
}

fn hash_text(hash: chain::Hash32) -> String {
    hash.to_string()
}

async fn scan(wallet: &Wallet, runtime: &ChainRuntime, head: u64) -> anyhow::Result<()> {
    let db = wallet.db();
    let id = &runtime.settings.id;
    let mut cursor = match db.chain_cursor(id).await? {
        Some((number, _)) => u64::try_from(number).context("stored block number")?,
        None => {
            // First start: begin far enough back that a deposit still confirming is seen.
            let start = head.saturating_sub(u64::from(runtime.settings.confirmations_max()));
            let header = runtime
                .chain
                .header(start)
                .await?
                .context("the chain has no block at a height below its head")?;
            record(wallet, id, &header).await?;
            start
        }
    };
    let last = head.min(cursor + runtime.settings.scan_blocks_max.max(1));
    while cursor < last {
        let number = cursor + 1;
        let Some(header) = runtime.chain.header(number).await? else {
            break;
        };
        let parent = db
            .scanned_block_hash(id, to_i64(cursor)?)
            .await?
            .unwrap_or_default();
        if hash_text(header.parent_hash) != parent {
            cursor = unwind(wallet, runtime, cursor).await?;
            continue;
        }
        match runtime
            .chain
            .incoming(header.hash, &runtime.settings.token_contracts())
            .await
        {
            Ok(found) => record_deposits(wallet, runtime, &header, found).await?,
            // Forked while we read: the next round sees the new parent and unwinds.
            Err(ChainError::BlockGone(_)) => break,
            Err(e) => return Err(e.into()),
        }
        record(wallet, id, &header).await?;
        cursor = number;
    }
    Ok(())
}

async fn record(wallet: &Wallet, chain_id: &str, header: &BlockHeader) -> anyhow::Result<()> {
    wallet
        .db()
        .record_scanned_block(
            chain_id,
            to_i64(header.number)?,
            &hash_text(header.hash),
            &hash_text(header.parent_hash),
            BLOCKS_KEPT,
        )
        .await
}

/// Walks back from `cursor` to the newest block the chain and we agree on, forgets the blocks
/// above it and orphans their deposits. Returns the new cursor.
async fn unwind(wallet: &Wallet, runtime: &ChainRuntime, cursor: u64) -> anyhow::Result<u64> {
    let db = wallet.db();
    let id = &runtime.settings.id;
    let mut number = cursor;
    loop {
        let ours = db.scanned_block_hash(id, to_i64(number)?).await?;
        let theirs = runtime.chain.header(number).await?;
        match (ours, theirs) {
            (Some(ours), Some(theirs)) if ours == hash_text(theirs.hash) => break,
            // Older than what we keep, or the chain's very first block: start again here.
            (None, Some(theirs)) => {
                record(wallet, id, &theirs).await?;
                break;
            }
            _ if number == 0 => break,
            _ => number -= 1,
        }
    }
    let orphaned = db.unwind_blocks_above(id, to_i64(number)?).await?;
    tracing::warn!(
        chain = %id,
        fork_point = number,
        replaced = cursor - number,
        orphaned,
        "chain reorganisation: blocks replaced"
    );
    Ok(number)
}

async fn record_deposits(
    wallet: &Wallet,
    runtime: &ChainRuntime,
    header: &BlockHeader,
    found: Vec<chain::Incoming>,
) -> anyhow::Result<()> {
    if found.is_empty() {
        return Ok(());
    }
    let db = wallet.db();
    let id = &runtime.settings.id;
    let addresses: Vec<String> = found.iter().map(|i| i.to.to_lowercase_hex()).collect();
    let owners = db.deposit_address_owners(id, &addresses).await?;
    let ledger_decimals = ledger_decimals(wallet).await?;
    let mut seen_here = Vec::new();
    for incoming in found {
        let to = incoming.to.to_lowercase_hex();
        let Some((_, user_id)) = owners.iter().find(|(address, _)| *address == to) else {
            continue;
        };
        let Some(asset) = asset_of_token(&runtime.settings, incoming.token) else {
            continue;
        };
        let decimals = *ledger_decimals
            .iter()
            .find(|(code, _)| *code == asset.code)
            .map(|(_, d)| d)
            .context("a configured asset is missing from the assets table")?;
        // Truncating: dust below the ledger's smallest unit stays on chain, not credited.
        let amount = Amount::from_chain_units(incoming.amount, asset.chain_decimals, decimals)
            .map(|(amount, _dust)| amount.minor())
            .unwrap_or(0);
        let log_index = incoming.log_index.map(to_i64).transpose()?.unwrap_or(-1);
        let tx_hash = hash_text(incoming.tx_hash);
        let stage = rules::deposit_stage(
            header.number,
            header.number,
            asset.confirmations,
            runtime.settings.block_time_s,
        );
        let seen = SeenDeposit {
            chain: id.clone(),
            ledger_transfer_id: format!("dep:{id}:{tx_hash}:{log_index}"),
            tx_hash,
            log_index,
            user_id: user_id.clone(),
            asset: asset.code.as_str().to_owned(),
            address: to,
            from_address: incoming.from.to_lowercase_hex(),
            amount,
            amount_raw: incoming.amount.to_string(),
            block_number: to_i64(header.number)?,
            block_hash: hash_text(header.hash),
            confirmations_required: i64::from(asset.confirmations),
            status: if amount == 0 {
                deposit_status::TOO_SMALL.to_owned()
            } else if stage.status == deposit_status::CREDITED {
                // Credited by `confirm`, never here: first record it as seen.
                deposit_status::CONFIRMING.to_owned()
            } else {
                stage.status.to_owned()
            },
            simulated: runtime.chain.simulated(),
        };
        seen_here.push(seen);
    }
    // One transaction per block, however many deposits it holds.
    db.record_deposits(&seen_here).await?;
    if !seen_here.is_empty() {
        tracing::info!(chain = %id, block = header.number, deposits = seen_here.len(), "deposits seen");
    }
    Ok(())
}

/// Credits handed to the ledger in one request at most.
const CREDITS_PER_REQUEST: usize = 1_000;

async fn confirm(wallet: &Wallet, runtime: &ChainRuntime, head: u64) -> anyhow::Result<()> {
    let db = wallet.db();
    let id = &runtime.settings.id;
    let mut hashes: HashMap<u64, Option<String>> = HashMap::new();
    let mut progress = Vec::new();
    let mut ready = Vec::new();
    for deposit in db.confirming_deposits(id).await? {
        let block = u64::try_from(deposit.block_number).context("stored block number")?;
        // Still on the chain? If not, leave it: the scan's unwind orphans it.
        let current = match hashes.get(&block) {
            Some(hash) => hash.clone(),
            None => {
                let hash = runtime
                    .chain
                    .header(block)
                    .await?
                    .map(|h| hash_text(h.hash));
                hashes.insert(block, hash.clone());
                hash
            }
        };
        if current.as_deref() != Some(deposit.block_hash.as_str()) {
            continue;
        }
        let required = u32::try_from(deposit.confirmations_required).unwrap_or(u32::MAX);
        let stage = rules::deposit_stage(block, head, required, runtime.settings.block_time_s);
        let confirmations = to_i64(stage.confirmations)?;
        if stage.status != deposit.status || confirmations != deposit.confirmations {
            progress.push((deposit.id.clone(), confirmations, stage.status));
        }
        if stage.status == deposit_status::CREDITED {
            ready.push(deposit);
        }
    }
    // Credits first, then the statuses that say so: a crash between them credits nothing twice
    // (the transfer ids), it only repeats the credit's request and finds it done.
    for chunk in ready.chunks(CREDITS_PER_REQUEST) {
        credit(wallet, chunk).await?;
    }
    db.update_deposits_progress(&progress).await
}

/// Credits confirmed deposits (custody → each user, under each deposit's own transfer id) in
/// one ledger request: one commit for all of them.
async fn credit(wallet: &Wallet, deposits: &[store::wallet::Deposit]) -> anyhow::Result<()> {
    let mut ensured = HashSet::new();
    let mut transfers = Vec::with_capacity(deposits.len());
    for deposit in deposits {
        let asset = AssetCode::parse(&deposit.asset).context("stored asset")?;
        if ensured.insert((deposit.user_id.clone(), asset.clone())) {
            wallet
                .db()
                .ensure_account(AccountKind::User, &asset, Some(&deposit.user_id))
                .await?;
        }
        transfers.push(Transfer {
            id: transfer_id(&deposit.ledger_transfer_id)?,
            kind: TransferKind::Single {
                debit: system_account_id(AccountKind::Custody, &asset),
                credit: user_account(&deposit.user_id, &asset),
                amount: Amount::from_minor(deposit.amount).context("stored amount")?,
            },
            asset,
            code: codes::DEPOSIT,
            reference: format!("deposit:{}", deposit.id),
            linked: false,
        });
    }
    let results = wallet.submit(transfers).await?;
    for (deposit, result) in deposits.iter().zip(results) {
        if result.code != ResultCode::Ok {
            anyhow::bail!(
                "crediting deposit {} failed: {}",
                deposit.id,
                result.code.as_str()
            );
        }
    }
    Ok(())
}

async fn ledger_decimals(wallet: &Wallet) -> anyhow::Result<Vec<(AssetCode, u8)>> {
    Ok(wallet
        .db()
        .assets()
        .await?
        .into_iter()
        .map(|a| (a.code, a.decimals))
        .collect())
}

fn to_i64(n: u64) -> anyhow::Result<i64> {
    i64::try_from(n).context("a number beyond i64")
}
