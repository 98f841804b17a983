//! Deposits and withdrawals: where the chain boundary meets the ledger.
//!
//! - [`settings`]: per chain and per asset — confirmations, minimum, fee, daily limit, review
//!   threshold, the token contract.
//! - [`rules`]: pure decisions — a deposit's progress and ETA, whether a withdrawal may be made
//!   and why not (the refusal codes the API answers).
//! - [`Wallet`]: the operations the web routes call (deposit addresses, withdrawal requests,
//!   reviews, simulated deposits) and the two workers each chain runs: the [`watcher`] (new blocks
//!   → deposits → credits) and the [`broadcaster`] (withdrawals → signed transactions → receipts →
//!   posted or voided holds).
//!
//! Money moves only through the ledger writer, with transfer ids derived from the business
//! object (`dep:…`, `wd:<id>:hold`, …), so every step can be retried after a crash and happens
//! once. This crate holds no SQL (that is `store`) and no HTTP or HTML (that is `web`).

use std::collections::HashMap;
use std::ops::Not;
use std::sync::Arc;

use anyhow::Context;
use chain::hd::{PrivateKey, Seed};
use chain::sim::SimChain;
use chain::{Address, Chain, Token};
use identity::sealed::SecretKey;
use ledger::{Amount, AssetCode, ResultCode, Transfer, TransferId, TransferKind};
use store::accounts::{system_account_id, user_account_id, AccountKind};
use store::users::User;
use store::wallet::{withdrawal_status, NewWithdrawal, NewWithdrawalOutcome, Withdrawal};
use store::writer::Ledger;
use store::Db;

pub mod broadcaster;
pub mod rules;
pub mod settings;
pub mod watcher;

pub use rules::{DepositStage, WithdrawalRefusal};
pub use settings::{AssetSettings, ChainSettings};

/// Transfer codes of chain movements (stored; never renumber).
pub mod codes {
    pub const DEPOSIT: u16 = 10;
    pub const WITHDRAWAL: u16 = 11;
    pub const WITHDRAWAL_FEE: u16 = 12;
    pub const NETWORK_FEE: u16 = 13;
}

/// One configured chain at run time.
pub struct ChainRuntime {
    pub settings: ChainSettings,
    pub chain: Arc<dyn Chain>,
    /// Set when the chain is the simulated one (for simulated deposits).
    pub sim: Option<Arc<SimChain>>,
}

/// The wallet: chains, the seed's keys, the database and the ledger.
pub struct Wallet {
    db: Db,
    ledger: Ledger,
    seed: Seed,
    hot_key: PrivateKey,
    chains: Vec<ChainRuntime>,
    /// How long a new address-book entry waits before it can be used.
    pub address_lock_ms: i64,
}

/// The context the seed is sealed under.
const SEED_CONTEXT: &str = "wallet-seed";

/// The operator's HD seed: read from the database and opened with `key`, or made, sealed and
/// stored on first start (when several nodes start at once, the first stored seed wins).
pub async fn load_or_create_seed(db: &Db, key: &SecretKey) -> anyhow::Result<Seed> {
    let sealed = match db.wallet_seed().await? {
        Some(sealed) => sealed,
        None => {
            let mut bytes = [0u8; 64];
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
            db.store_wallet_seed(&key.seal(&bytes, SEED_CONTEXT))
                .await?
        }
    };
    let bytes = key.open(&sealed, SEED_CONTEXT).context(
        "the wallet seed in the database does not open with this secret key \
         (OKWALLET_SECRET_KEY or secret_key_file): is it the key this database was made with?",
    )?;
    Seed::from_bytes(&bytes).context("the stored wallet seed has the wrong length")
}

/// What a deposit-address request came to.
#[derive(Debug)]
pub enum AddressAnswer {
    Address {
        address: Address,
        chain: String,
        simulated: bool,
    },
    /// No configured chain carries this asset.
    NotDepositable,
}

/// A withdrawal request, parsed.
#[derive(Clone, Debug)]
pub struct WithdrawalRequest {
    pub asset: AssetCode,
    pub address: Address,
    pub amount: Amount,
    /// The session proved a second factor recently.
    pub stepped_up: bool,
}

impl Wallet {
    pub fn new(
        db: Db,
        ledger: Ledger,
        seed: Seed,
        chains: Vec<ChainRuntime>,
        address_lock_ms: i64,
    ) -> anyhow::Result<Wallet> {
        let hot_key = seed
            .hot_wallet_key()
            .context("deriving the hot wallet key")?;
        Ok(Wallet {
            db,
            ledger,
            seed,
            hot_key,
            chains,
            address_lock_ms,
        })
    }

    pub fn chains(&self) -> &[ChainRuntime] {
        &self.chains
    }

    /// The hot wallet's address (the same on every EVM chain).
    pub fn hot_wallet_address(&self) -> Address {
        self.hot_key.address()
    }

    /// The chain and asset settings of `asset`.
    pub fn asset(&self, asset: &AssetCode) -> Option<(&ChainRuntime, &AssetSettings)> {
        self.chains.iter().find_map(|runtime| {
            runtime
                .settings
                .assets
                .iter()
                .find(|a| &a.code == asset)
                .map(|a| (runtime, a))
        })
    }

    /// The runtime of chain `id`.
    pub fn chain(&self, id: &str) -> Option<&ChainRuntime> {
        self.chains.iter().find(|c| c.settings.id == id)
    }

    /// Whether anything runs on the simulated chain.
    pub fn has_sim(&self) -> bool {
        self.chains.iter().any(|c| c.sim.is_some())
    }

    /// The user's deposit address for `asset`: the same on every call.
    pub async fn deposit_address(
        &self,
        user_id: &str,
        asset: &AssetCode,
    ) -> anyhow::Result<AddressAnswer> {
        let Some((runtime, _)) = self.asset(asset) else {
            return Ok(AddressAnswer::NotDepositable);
        };
        let chain_id = runtime.settings.id.clone();
        let text = self
            .db
            .assign_deposit_address(&chain_id, user_id, |index| {
                Ok(self.seed.eth_address(index)?.to_lowercase_hex())
            })
            .await?;
        let address = Address::parse(&text).context("stored deposit address")?;
        Ok(AddressAnswer::Address {
            address,
            chain: chain_id,
            simulated: runtime.chain.simulated(),
        })
    }

    /// Adds `address` to the user's book for the chain of `asset`; usable after the time-lock.
    /// An address already in the book keeps its entry (and its time-lock). `None` when no
    /// configured chain carries the asset.
    pub async fn add_book_address(
        &self,
        user_id: &str,
        asset: &AssetCode,
        address: Address,
        label: &str,
    ) -> anyhow::Result<Option<(store::wallet::AddressEntry, bool)>> {
        let Some((runtime, _)) = self.asset(asset) else {
            return Ok(None);
        };
        let usable_from = store::now_ms().saturating_add(self.address_lock_ms);
        Ok(Some(
            self.db
                .add_withdrawal_address(
                    user_id,
                    &runtime.settings.id,
                    &address.to_lowercase_hex(),
                    label,
                    usable_from,
                )
                .await?,
        ))
    }

    /// Sends a simulated deposit of `amount` of `asset` to `address` (the demo and tests).
    /// `None` when the asset is not on the simulated chain.
    pub fn sim_deposit(
        &self,
        address: Address,
        asset: &AssetCode,
        amount: Amount,
        ledger_decimals: u8,
    ) -> Option<chain::Hash32> {
        let (runtime, settings) = self.asset(asset)?;
        let sim = runtime.sim.as_ref()?;
        let raw = amount.to_chain_units(settings.chain_decimals, ledger_decimals)?;
        Some(sim.faucet(address, settings.token, raw))
    }

    /// Asks for a withdrawal. Every refusal is decided before anything is held; the funds are
    /// held (two linked pending transfers: the amount and our fee) before this returns.
    pub async fn request_withdrawal(
        &self,
        user: &User,
        request: &WithdrawalRequest,
        ledger_decimals: u8,
    ) -> anyhow::Result<Result<Withdrawal, WithdrawalRefusal>> {
        let now = store::now_ms();
        let Some((runtime, settings)) = self.asset(&request.asset) else {
            return Ok(Err(WithdrawalRefusal::AssetNotWithdrawable));
        };
        let chain_id = &runtime.settings.id;
        let entry = self
            .db
            .withdrawal_address(&user.id, chain_id, &request.address.to_lowercase_hex())
            .await?;
        let amount_raw = request
            .amount
            .to_chain_units(settings.chain_decimals, ledger_decimals);
        let facts = rules::WithdrawalFacts {
            now_ms: now,
            amount: request.amount,
            amount_representable: amount_raw.is_some(),
            is_own_deposit_address: self
                .db
                .deposit_address_owners(chain_id, &[request.address.to_lowercase_hex()])
                .await?
                .is_empty()
                .not(),
            withdrawals_locked_until_ms: user.withdrawals_locked_until_ms,
            allowlist: user.withdrawal_allowlist,
            book_entry_usable_from_ms: entry.as_ref().map(|e| e.usable_from_ms),
            stepped_up: request.stepped_up,
        };
        if let Err(refusal) = rules::check_withdrawal(settings, &facts) {
            return Ok(Err(refusal));
        }
        let fee = settings.withdrawal_fee;
        let id = store::new_id();
        let new = NewWithdrawal {
            id: id.clone(),
            user_id: user.id.clone(),
            asset: request.asset.as_str().to_owned(),
            chain: chain_id.clone(),
            address: request.address.to_lowercase_hex(),
            amount: request.amount.minor(),
            fee: fee.minor(),
            amount_raw: amount_raw.unwrap_or_default().to_string(),
            needs_review: request.amount > settings.review_above,
            confirmations_required: i64::from(settings.confirmations),
            simulated: runtime.chain.simulated(),
            hold_id: format!("wd:{id}:hold"),
            fee_hold_id: format!("wd:{id}:fee"),
            daily_limit: settings.daily_limit.minor(),
            limit_since_ms: now - 24 * 3600 * 1000,
        };
        if let NewWithdrawalOutcome::OverDailyLimit { used } =
            self.db.record_withdrawal(&new).await?
        {
            return Ok(Err(WithdrawalRefusal::DailyLimitExceeded {
                limit: settings.daily_limit,
                used: Amount::from_minor(used).unwrap_or(settings.daily_limit),
            }));
        }
        let withdrawal = self
            .db
            .withdrawal(&id)
            .await?
            .context("a recorded withdrawal vanished")?;
        match self.hold(&withdrawal).await? {
            HoldOutcome::Held => {
                if withdrawal.needs_review {
                    self.db
                        .move_withdrawal(
                            &id,
                            &[withdrawal_status::REQUESTED],
                            withdrawal_status::UNDER_REVIEW,
                            None,
                        )
                        .await?;
                }
            }
            HoldOutcome::Refused(code) => {
                self.db
                    .move_withdrawal(
                        &id,
                        &[withdrawal_status::REQUESTED],
                        withdrawal_status::REFUSED,
                        Some(code),
                    )
                    .await?;
                self.db.mark_withdrawal_settled(&id).await?;
                return Ok(Err(if code == "insufficient_funds" {
                    WithdrawalRefusal::InsufficientFunds
                } else {
                    anyhow::bail!("the ledger refused a withdrawal hold: {code}")
                }));
            }
        }
        Ok(Ok(self
            .db
            .withdrawal(&id)
            .await?
            .context("a recorded withdrawal vanished")?))
    }

    /// Places (or finds, on a retry) the withdrawal's holds.
    pub(crate) async fn hold(&self, w: &Withdrawal) -> anyhow::Result<HoldOutcome> {
        let asset = AssetCode::parse(&w.asset).context("stored asset")?;
        let user_account = self
            .db
            .ensure_account(AccountKind::User, &asset, Some(&w.user_id))
            .await?;
        let mut transfers = vec![Transfer {
            id: transfer_id(&w.hold_id)?,
            kind: TransferKind::Pending {
                debit: user_account.clone(),
                credit: system_account_id(AccountKind::Custody, &asset),
                amount: Amount::from_minor(w.amount).context("stored amount")?,
                timeout_s: 0,
            },
            asset: asset.clone(),
            code: codes::WITHDRAWAL,
            reference: format!("withdrawal:{}", w.id),
            linked: w.fee > 0,
        }];
        if w.fee > 0 {
            transfers.push(Transfer {
                id: transfer_id(&w.fee_hold_id)?,
                kind: TransferKind::Pending {
                    debit: user_account,
                    credit: system_account_id(AccountKind::Fees, &asset),
                    amount: Amount::from_minor(w.fee).context("stored fee")?,
                    timeout_s: 0,
                },
                asset,
                code: codes::WITHDRAWAL_FEE,
                reference: format!("withdrawal:{}", w.id),
                linked: false,
            });
        }
        let results = self.submit(transfers).await?;
        let first_failure = results
            .iter()
            .map(|r| r.code)
            .find(|c| *c != ResultCode::Ok && *c != ResultCode::LinkedEventFailed);
        Ok(match first_failure {
            None => HoldOutcome::Held,
            Some(ResultCode::InsufficientFunds) => HoldOutcome::Refused("insufficient_funds"),
            Some(code) => HoldOutcome::Refused(code.as_str()),
        })
    }

    /// Posts (`completed`) or voids (anything else) a finished withdrawal's holds, once.
    pub(crate) async fn settle(&self, w: &Withdrawal) -> anyhow::Result<()> {
        let asset = AssetCode::parse(&w.asset).context("stored asset")?;
        let post = w.status == withdrawal_status::COMPLETED;
        let mut holds = vec![(w.hold_id.clone(), "")];
        if w.fee > 0 {
            holds.push((w.fee_hold_id.clone(), "-fee"));
        }
        let transfers = holds
            .iter()
            .map(|(pending, suffix)| {
                let pending_id = transfer_id(pending)?;
                Ok(Transfer {
                    id: transfer_id(&format!(
                        "wd:{}:{}{suffix}",
                        w.id,
                        if post { "post" } else { "void" }
                    ))?,
                    kind: if post {
                        TransferKind::Post {
                            pending_id,
                            amount: None,
                        }
                    } else {
                        TransferKind::Void { pending_id }
                    },
                    asset: asset.clone(),
                    code: codes::WITHDRAWAL,
                    reference: format!("withdrawal:{}", w.id),
                    linked: false,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let results = self.submit(transfers).await?;
        for result in results {
            // A hold that was never placed (refused at request) has nothing to void.
            let fine = matches!(result.code, ResultCode::Ok | ResultCode::PendingNotFound)
                || (!post && result.code == ResultCode::PendingAlreadyVoided);
            if !fine {
                anyhow::bail!(
                    "settling withdrawal {} failed: {}",
                    w.id,
                    result.code.as_str()
                );
            }
        }
        self.db.mark_withdrawal_settled(&w.id).await
    }

    /// Settles every finished withdrawal not yet settled (after a crash, or just now).
    pub async fn settle_finished(&self) -> anyhow::Result<usize> {
        let pending = self.db.unsettled_withdrawals().await?;
        for w in &pending {
            self.settle(w).await?;
        }
        Ok(pending.len())
    }

    /// A supervisor approves (the withdrawal goes on to be sent) or rejects (the hold is
    /// released) a withdrawal under review. False when it was not under review.
    pub async fn review(
        &self,
        id: &str,
        approve: bool,
        reviewer: &str,
        note: &str,
    ) -> anyhow::Result<bool> {
        let done = self
            .db
            .review_withdrawal(id, approve, reviewer, note)
            .await?;
        if done && !approve {
            self.settle_finished().await?;
        }
        Ok(done)
    }

    pub(crate) async fn submit(
        &self,
        transfers: Vec<Transfer>,
    ) -> anyhow::Result<Vec<ledger::EventResult>> {
        self.ledger
            .submit(transfers)
            .await
            .map_err(|e| anyhow::anyhow!("the ledger did not take a chain movement: {e}"))
    }

    /// Runs one round of every chain's watcher and broadcaster (tests call this; `serve` runs
    /// [`spawn_workers`]).
    pub async fn tick(&self) -> anyhow::Result<()> {
        for runtime in &self.chains {
            watcher::tick(self, runtime).await?;
            broadcaster::tick(self, runtime).await?;
        }
        self.settle_finished().await?;
        Ok(())
    }

    pub(crate) fn db(&self) -> &Db {
        &self.db
    }

    pub(crate) fn hot_key(&self) -> &PrivateKey {
        &self.hot_key
    }
}

/// Whether a hold was placed.
pub(crate) enum HoldOutcome {
    Held,
    Refused(&'static str),
}

pub(crate) fn transfer_id(text: &str) -> anyhow::Result<TransferId> {
    TransferId::parse(text).with_context(|| format!("transfer id {text}"))
}

/// The ledger account that a user's deposit of `asset` is credited to.
pub(crate) fn user_account(user_id: &str, asset: &AssetCode) -> ledger::AccountId {
    user_account_id(user_id, asset)
}

/// Runs every chain's watcher and broadcaster every `interval` until the task is dropped, each
/// under a lease so that one node at a time does it. Errors are logged and retried.
pub fn spawn_workers(
    wallet: Arc<Wallet>,
    node: String,
    interval: std::time::Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut failures: HashMap<String, u32> = HashMap::new();
        loop {
            for runtime in wallet.chains() {
                let lease = format!("chain:{}", runtime.settings.id);
                let ttl_ms = i64::try_from(interval.as_millis() * 10).unwrap_or(60_000);
                match wallet.db.take_lease(&lease, &node, ttl_ms).await {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(e) => {
                        tracing::warn!(error = %e, "could not take the chain lease");
                        continue;
                    }
                }
                let round = async {
                    watcher::tick(&wallet, runtime).await?;
                    broadcaster::tick(&wallet, runtime).await
                };
                let count = failures.entry(runtime.settings.id.clone()).or_default();
                match round.await {
                    Ok(()) => *count = 0,
                    Err(e) => {
                        *count += 1;
                        // The node being down is expected now and then; say so once a minute.
                        if *count == 1 || (*count).is_multiple_of(30) {
                            tracing::warn!(chain = %runtime.settings.id, error = %e, "chain worker round failed");
                        }
                    }
                }
            }
            if let Err(e) = wallet.settle_finished().await {
                tracing::warn!(error = %e, "settling withdrawals failed");
            }
            tokio::time::sleep(interval).await;
        }
    })
}

/// The token an asset is on its chain, for the watcher.
pub(crate) fn asset_of_token(settings: &ChainSettings, token: Token) -> Option<&AssetSettings> {
    settings.assets.iter().find(|a| a.token == token)
}
