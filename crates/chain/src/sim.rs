//! The simulated chain: an in-process, EVM-shaped chain for the demo and for fault injection.
//!
//! It keeps blocks, a mempool, nonces, balances and receipts in memory and follows the rules the
//! wallet depends on: nonces are consumed in order, a replacement must bid at least 10 % more, a
//! transaction whose fee cap is below the base fee waits in the mempool (stuck), a sender who
//! cannot pay value plus gas is refused at broadcast, a token transfer without the tokens is
//! mined but reverts. Faults are injected by chance (slow blocks, reorganisations, silently
//! dropped transactions, RPC errors) or on request (`reorg`, `set_base_fee`).
//!
//! Deterministic by seed: block hashes are a function of the seed, the height, the parent and the
//! transactions, and every chance is drawn from a ChaCha generator seeded with it, so the same
//! seed and the same calls give the same chain. An empty block's hash depends only on the seed
//! and its height, which lets a restarted demo start at the height the watcher reached and agree
//! with it about every empty block below.
//!
//! Nothing here is real money: `simulated()` is true and the wallet labels it so.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use sha3::{Digest, Keccak256};

use crate::{
    hd, Address, BlockHeader, BroadcastError, Chain, ChainError, FeeBid, Hash32, Incoming,
    Outgoing, Receipt, Rejection, SignedTx, Token,
};

/// Gas a native transfer uses.
pub const NATIVE_GAS: u128 = 21_000;
/// Gas a token transfer uses on this chain.
pub const TOKEN_GAS: u128 = 60_000;
/// The priority fee the simulated chain suggests: 1 gwei.
const PRIORITY_FEE: u128 = 1_000_000_000;
/// Timestamps start here, so a seed gives the same timestamps on every run.
const GENESIS_TIME_S: u64 = 1_700_000_000;

/// Chances of faults, in percent per occasion (per block, per broadcast, per call).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Faults {
    /// A block takes five block times instead of one (automatic mining only).
    pub slow_block_percent: u8,
    /// Before a block is mined, the newest blocks are replaced by a new fork.
    pub reorg_percent: u8,
    /// How deep such a reorganisation goes at most (at least 1).
    pub reorg_depth_max: u64,
    /// A broadcast is accepted but the transaction never reaches a block.
    pub drop_percent: u8,
    /// A read or a broadcast fails as if the node were unreachable.
    pub rpc_error_percent: u8,
}

/// How the simulated chain behaves.
#[derive(Clone, Debug)]
pub struct SimConfig {
    pub seed: u64,
    /// Time between blocks when mining automatically.
    pub block_time: Duration,
    /// The base fee per gas, in wei.
    pub base_fee: u128,
    /// The height of the first block; every block below it is empty.
    pub start_height: u64,
    pub faults: Faults,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 0,
            block_time: Duration::from_secs(2),
            base_fee: 1_000_000_000,
            start_height: 0,
            faults: Faults::default(),
        }
    }
}

/// A transaction as the simulated chain encodes it. The "signature" is the sender's address
/// derived from the key: nothing on this chain is real.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct SimTx {
    chain: String,
    from: String,
    to: String,
    token: Option<String>,
    amount: String,
    nonce: u64,
    max_fee_per_gas: String,
    max_priority_fee_per_gas: String,
}

/// A transaction ready to be mined.
#[derive(Clone, Debug)]
struct Pending {
    hash: Hash32,
    from: Address,
    to: Address,
    token: Token,
    amount: u128,
    /// `None` for a faucet transfer (no nonce, no fee).
    nonce: Option<u64>,
    fees: FeeBid,
}

#[derive(Clone, Debug)]
struct Included {
    tx: Pending,
    success: bool,
    fee_paid: u128,
}

#[derive(Clone, Debug)]
struct Block {
    header: BlockHeader,
    txs: Vec<Included>,
}

struct State {
    /// Blocks from `config.start_height` on; `blocks[0]` is the empty start block.
    blocks: Vec<Block>,
    mempool: Vec<Pending>,
    balances: HashMap<(Address, Token), u128>,
    /// The next nonce of each sender, counting mined transactions only.
    nonces: HashMap<Address, u64>,
    rng: ChaCha8Rng,
    base_fee: u128,
    faults: Faults,
    /// Counts reorganisations, so a new fork's blocks hash differently from the old ones.
    fork: u64,
    faucet_count: u64,
}

/// The simulated chain. Share it as `Arc<SimChain>`; mine by hand (`mine`) or let
/// [`SimChain::spawn_miner`] mine on a timer.
pub struct SimChain {
    config: SimConfig,
    state: Mutex<State>,
}

fn keccak(parts: &[&[u8]]) -> Hash32 {
    let mut hasher = Keccak256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    Hash32(hasher.finalize().into())
}

impl SimChain {
    pub fn new(config: SimConfig) -> SimChain {
        let start = config.start_height;
        let header = BlockHeader {
            number: start,
            hash: empty_block_hash(config.seed, start),
            parent_hash: if start == 0 {
                Hash32::default()
            } else {
                empty_block_hash(config.seed, start - 1)
            },
            timestamp_s: GENESIS_TIME_S + start * config.block_time.as_secs().max(1),
        };
        let state = State {
            blocks: vec![Block {
                header,
                txs: Vec::new(),
            }],
            mempool: Vec::new(),
            balances: HashMap::new(),
            nonces: HashMap::new(),
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            base_fee: config.base_fee,
            faults: config.faults,
            fork: 0,
            faucet_count: 0,
        };
        SimChain {
            config,
            state: Mutex::new(state),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock is a bug in this module; the state it left is still
        // the best there is, so carry on with it.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The address simulated deposits come from.
    pub fn faucet_address() -> Address {
        let hash = keccak(&[b"okwallet-sim-faucet"]);
        Address(hash.0[12..].try_into().expect("20 bytes"))
    }

    /// Gives `owner` a balance out of thin air (a genesis allocation), e.g. the hot wallet.
    pub fn fund(&self, owner: Address, token: Token, amount: u128) {
        let mut state = self.state();
        let balance = state.balances.entry((owner, token)).or_default();
        *balance = balance.saturating_add(amount);
    }

    /// Sends `amount` of `token` from the faucet to `to`; it is mined in the next block.
    pub fn faucet(&self, to: Address, token: Token, amount: u128) -> Hash32 {
        let mut state = self.state();
        state.faucet_count += 1;
        let hash = keccak(&[
            b"faucet",
            &self.config.seed.to_be_bytes(),
            &state.faucet_count.to_be_bytes(),
            &to.0,
            &amount.to_be_bytes(),
        ]);
        state.mempool.push(Pending {
            hash,
            from: Self::faucet_address(),
            to,
            token,
            amount,
            nonce: None,
            fees: FeeBid {
                max_fee_per_gas: 0,
                max_priority_fee_per_gas: 0,
            },
        });
        hash
    }

    /// Mines `count` blocks (a reorganisation fault may come first) and returns the new head.
    pub fn mine(&self, count: u64) -> u64 {
        let mut state = self.state();
        for _ in 0..count {
            let faults = state.faults;
            if faults.reorg_percent > 0 && state.rng.gen_range(0..100u8) < faults.reorg_percent {
                let depth = state.rng.gen_range(1..=faults.reorg_depth_max.max(1));
                let keep = state.rng.gen_bool(0.5);
                self.reorg_locked(&mut state, depth, keep);
            }
            self.mine_locked(&mut state);
        }
        head_of(&state)
    }

    /// Replaces the newest `depth` blocks by a new fork of as many empty blocks (the head's
    /// height stays). Their transactions go back to the mempool when `keep_txs`, as most would
    /// on a real chain, or vanish.
    pub fn reorg(&self, depth: u64, keep_txs: bool) {
        let mut state = self.state();
        self.reorg_locked(&mut state, depth, keep_txs);
    }

    /// Sets the base fee: raise it above a transaction's fee cap and it is stuck until bumped.
    pub fn set_base_fee(&self, wei_per_gas: u128) {
        self.state().base_fee = wei_per_gas;
    }

    pub fn set_faults(&self, faults: Faults) {
        self.state().faults = faults;
    }

    /// Transactions waiting in the mempool.
    pub fn mempool_len(&self) -> usize {
        self.state().mempool.len()
    }

    /// Mines a block every block time (five when a slow-block fault strikes) until the returned
    /// task is aborted or the chain is dropped.
    pub fn spawn_miner(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let chain = Arc::downgrade(self);
        let block_time = self.config.block_time;
        tokio::spawn(async move {
            loop {
                let slow = match chain.upgrade() {
                    Some(chain) => {
                        let mut state = chain.state();
                        let percent = state.faults.slow_block_percent;
                        percent > 0 && state.rng.gen_range(0..100u8) < percent
                    }
                    None => return,
                };
                tokio::time::sleep(if slow { block_time * 5 } else { block_time }).await;
                match chain.upgrade() {
                    Some(chain) => {
                        chain.mine(1);
                    }
                    None => return,
                }
            }
        })
    }

    fn reorg_locked(&self, state: &mut State, depth: u64, keep_txs: bool) {
        // The start block is the floor: below it every block is empty and fixed.
        let depth = usize::try_from(depth)
            .unwrap_or(usize::MAX)
            .min(state.blocks.len() - 1);
        if depth == 0 {
            return;
        }
        state.fork += 1;
        let cut = state.blocks.len() - depth;
        let orphaned: Vec<Block> = state.blocks.drain(cut..).collect();
        for block in orphaned.iter().rev() {
            for included in block.txs.iter().rev() {
                undo(state, included);
            }
        }
        if keep_txs {
            let mut back: Vec<Pending> = orphaned
                .into_iter()
                .flat_map(|b| b.txs.into_iter().map(|i| i.tx))
                .collect();
            back.append(&mut state.mempool);
            state.mempool = back;
        }
        for _ in 0..depth {
            self.seal_block(state, Vec::new());
        }
    }

    fn mine_locked(&self, state: &mut State) {
        let mut chosen = Vec::new();
        // Faucet transfers first, then each sender's transactions in nonce order while the fee
        // cap covers the base fee.
        let mut waiting = std::mem::take(&mut state.mempool);
        let mut index = 0;
        while index < waiting.len() {
            if waiting[index].nonce.is_none() {
                chosen.push(waiting.remove(index));
            } else {
                index += 1;
            }
        }
        let mut next: HashMap<Address, u64> = HashMap::new();
        loop {
            let found = waiting.iter().position(|tx| {
                let expected = *next
                    .entry(tx.from)
                    .or_insert_with(|| state.nonces.get(&tx.from).copied().unwrap_or(0));
                tx.nonce == Some(expected) && tx.fees.max_fee_per_gas >= state.base_fee
            });
            match found {
                Some(position) => {
                    let tx = waiting.remove(position);
                    next.insert(tx.from, tx.nonce.unwrap_or(0) + 1);
                    chosen.push(tx);
                }
                None => break,
            }
        }
        state.mempool = waiting;
        let included = chosen
            .into_iter()
            .map(|tx| execute(state, tx))
            .collect::<Vec<_>>();
        self.seal_block(state, included);
    }

    fn seal_block(&self, state: &mut State, txs: Vec<Included>) {
        let parent = state.blocks.last().expect("never empty").header;
        let number = parent.number + 1;
        let hash = if txs.is_empty() && state.fork == 0 {
            empty_block_hash(self.config.seed, number)
        } else {
            let mut parts: Vec<Vec<u8>> = vec![
                b"block".to_vec(),
                self.config.seed.to_be_bytes().to_vec(),
                number.to_be_bytes().to_vec(),
                parent.hash.0.to_vec(),
                state.fork.to_be_bytes().to_vec(),
            ];
            parts.extend(txs.iter().map(|i| i.tx.hash.0.to_vec()));
            keccak(&parts.iter().map(Vec::as_slice).collect::<Vec<_>>())
        };
        let header = BlockHeader {
            number,
            hash,
            parent_hash: parent.hash,
            timestamp_s: GENESIS_TIME_S + number * self.config.block_time.as_secs().max(1),
        };
        state.blocks.push(Block { header, txs });
    }

    /// Draws the RPC-error fault for one call.
    fn rpc_fault(&self, state: &mut State) -> bool {
        let percent = state.faults.rpc_error_percent;
        percent > 0 && state.rng.gen_range(0..100u8) < percent
    }

    fn read(&self) -> Result<MutexGuard<'_, State>, ChainError> {
        let mut state = self.state();
        if self.rpc_fault(&mut state) {
            return Err(ChainError::Unavailable("simulated RPC error".into()));
        }
        Ok(state)
    }
}

fn empty_block_hash(seed: u64, number: u64) -> Hash32 {
    keccak(&[b"empty", &seed.to_be_bytes(), &number.to_be_bytes()])
}

fn head_of(state: &State) -> u64 {
    state.blocks.last().expect("never empty").header.number
}

fn gas_of(token: Token) -> u128 {
    match token {
        Token::Native => NATIVE_GAS,
        Token::Erc20(_) => TOKEN_GAS,
    }
}

fn effective_price(fees: FeeBid, base_fee: u128) -> u128 {
    fees.max_fee_per_gas
        .min(base_fee.saturating_add(fees.max_priority_fee_per_gas))
}

fn balance_of(state: &State, owner: Address, token: Token) -> u128 {
    state.balances.get(&(owner, token)).copied().unwrap_or(0)
}

fn add_balance(state: &mut State, owner: Address, token: Token, amount: u128, up: bool) {
    let entry = state.balances.entry((owner, token)).or_default();
    *entry = if up {
        entry.saturating_add(amount)
    } else {
        entry.saturating_sub(amount)
    };
}

/// Applies one chosen transaction: fee and nonce always (but for faucet transfers), the value
/// only when the sender has it.
fn execute(state: &mut State, tx: Pending) -> Included {
    let Some(nonce) = tx.nonce else {
        add_balance(state, tx.to, tx.token, tx.amount, true);
        return Included {
            tx,
            success: true,
            fee_paid: 0,
        };
    };
    let fee = gas_of(tx.token) * effective_price(tx.fees, state.base_fee);
    let fee = fee.min(balance_of(state, tx.from, Token::Native));
    add_balance(state, tx.from, Token::Native, fee, false);
    state.nonces.insert(tx.from, nonce + 1);
    let success = balance_of(state, tx.from, tx.token) >= tx.amount;
    if success {
        add_balance(state, tx.from, tx.token, tx.amount, false);
        add_balance(state, tx.to, tx.token, tx.amount, true);
    }
    Included {
        tx,
        success,
        fee_paid: fee,
    }
}

/// Reverses [`execute`], for a reorganisation.
fn undo(state: &mut State, included: &Included) {
    let tx = &included.tx;
    if included.success {
        add_balance(state, tx.to, tx.token, tx.amount, false);
        if tx.nonce.is_some() {
            add_balance(state, tx.from, tx.token, tx.amount, true);
        }
    }
    if let Some(nonce) = tx.nonce {
        add_balance(state, tx.from, Token::Native, included.fee_paid, true);
        state.nonces.insert(tx.from, nonce);
    }
}

fn decode(raw: &[u8]) -> Option<Pending> {
    let tx: SimTx = serde_json::from_slice(raw).ok()?;
    if tx.chain != "okwallet-sim" {
        return None;
    }
    Some(Pending {
        hash: keccak(&[raw]),
        from: Address::parse(&tx.from)?,
        to: Address::parse(&tx.to)?,
        token: match tx.token {
            None => Token::Native,
            Some(contract) => Token::Erc20(Address::parse(&contract)?),
        },
        amount: tx.amount.parse().ok()?,
        nonce: Some(tx.nonce),
        fees: FeeBid {
            max_fee_per_gas: tx.max_fee_per_gas.parse().ok()?,
            max_priority_fee_per_gas: tx.max_priority_fee_per_gas.parse().ok()?,
        },
    })
}

fn rejected(kind: Rejection, message: &str) -> BroadcastError {
    BroadcastError::Rejected {
        kind,
        message: message.to_owned(),
    }
}

#[async_trait]
impl Chain for SimChain {
    fn simulated(&self) -> bool {
        true
    }

    async fn head(&self) -> Result<u64, ChainError> {
        Ok(head_of(&*self.read()?))
    }

    async fn header(&self, number: u64) -> Result<Option<BlockHeader>, ChainError> {
        let state = self.read()?;
        let start = self.config.start_height;
        if number < start {
            return Ok(Some(BlockHeader {
                number,
                hash: empty_block_hash(self.config.seed, number),
                parent_hash: match number {
                    0 => Hash32::default(),
                    n => empty_block_hash(self.config.seed, n - 1),
                },
                timestamp_s: GENESIS_TIME_S + number * self.config.block_time.as_secs().max(1),
            }));
        }
        let index = usize::try_from(number - start).unwrap_or(usize::MAX);
        Ok(state.blocks.get(index).map(|b| b.header))
    }

    async fn incoming(
        &self,
        block: Hash32,
        tokens: &[Address],
    ) -> Result<Vec<Incoming>, ChainError> {
        let state = self.read()?;
        // Blocks below the start height are empty and never scanned: a watcher starts at the
        // height it stopped, which is where a restarted demo chain starts.
        let Some(found) = state.blocks.iter().find(|b| b.header.hash == block) else {
            return Err(ChainError::BlockGone(block));
        };
        let mut log_index = 0u64;
        let mut out = Vec::new();
        for included in &found.txs {
            let tx = &included.tx;
            let this_log = match tx.token {
                Token::Native => None,
                Token::Erc20(_) if included.success => {
                    log_index += 1;
                    Some(log_index - 1)
                }
                Token::Erc20(_) => None,
            };
            if !included.success || tx.amount == 0 {
                continue;
            }
            let wanted = match tx.token {
                Token::Native => true,
                Token::Erc20(contract) => tokens.contains(&contract),
            };
            if wanted {
                out.push(Incoming {
                    tx_hash: tx.hash,
                    log_index: this_log,
                    from: tx.from,
                    to: tx.to,
                    token: tx.token,
                    amount: tx.amount,
                });
            }
        }
        Ok(out)
    }

    async fn next_nonce(&self, from: Address) -> Result<u64, ChainError> {
        let state = self.read()?;
        let mut next = state.nonces.get(&from).copied().unwrap_or(0);
        while state
            .mempool
            .iter()
            .any(|tx| tx.from == from && tx.nonce == Some(next))
        {
            next += 1;
        }
        Ok(next)
    }

    async fn fee_bid(&self) -> Result<FeeBid, ChainError> {
        let state = self.read()?;
        Ok(FeeBid {
            max_fee_per_gas: state
                .base_fee
                .saturating_mul(2)
                .saturating_add(PRIORITY_FEE),
            max_priority_fee_per_gas: PRIORITY_FEE,
        })
    }

    fn sign(&self, key: &hd::PrivateKey, tx: &Outgoing) -> Result<SignedTx, ChainError> {
        let body = SimTx {
            chain: "okwallet-sim".into(),
            from: key.address().to_lowercase_hex(),
            to: tx.to.to_lowercase_hex(),
            token: match tx.token {
                Token::Native => None,
                Token::Erc20(contract) => Some(contract.to_lowercase_hex()),
            },
            amount: tx.amount.to_string(),
            nonce: tx.nonce,
            max_fee_per_gas: tx.fees.max_fee_per_gas.to_string(),
            max_priority_fee_per_gas: tx.fees.max_priority_fee_per_gas.to_string(),
        };
        let raw = serde_json::to_vec(&body).expect("plain strings and numbers serialise");
        Ok(SignedTx {
            hash: keccak(&[&raw]),
            raw,
        })
    }

    async fn broadcast(&self, signed: &SignedTx) -> Result<(), BroadcastError> {
        let mut state = self.state();
        if self.rpc_fault(&mut state) {
            return Err(BroadcastError::Unavailable("simulated RPC error".into()));
        }
        let Some(tx) = decode(&signed.raw).filter(|tx| tx.hash == signed.hash) else {
            return Err(rejected(
                Rejection::Other,
                "not a simulated-chain transaction",
            ));
        };
        let known = state.mempool.iter().any(|p| p.hash == tx.hash)
            || state
                .blocks
                .iter()
                .any(|b| b.txs.iter().any(|i| i.tx.hash == tx.hash));
        if known {
            return Ok(());
        }
        let nonce = tx.nonce.unwrap_or(0);
        if nonce < state.nonces.get(&tx.from).copied().unwrap_or(0) {
            return Err(rejected(Rejection::NonceTooLow, "nonce too low"));
        }
        let value = if tx.token == Token::Native {
            tx.amount
        } else {
            0
        };
        let most = gas_of(tx.token)
            .saturating_mul(tx.fees.max_fee_per_gas)
            .saturating_add(value);
        if balance_of(&state, tx.from, Token::Native) < most {
            return Err(rejected(
                Rejection::InsufficientFunds,
                "insufficient funds for gas * price + value",
            ));
        }
        if let Some(position) = state
            .mempool
            .iter()
            .position(|p| p.from == tx.from && p.nonce == tx.nonce)
        {
            let old = state.mempool[position].fees;
            let enough = old.bumped(10);
            if tx.fees.max_fee_per_gas < enough.max_fee_per_gas
                || tx.fees.max_priority_fee_per_gas < enough.max_priority_fee_per_gas
            {
                return Err(rejected(
                    Rejection::Underpriced,
                    "replacement transaction underpriced",
                ));
            }
            state.mempool.remove(position);
        }
        let percent = state.faults.drop_percent;
        if percent > 0 && state.rng.gen_range(0..100u8) < percent {
            // Accepted, then lost: the sender hears nothing more of it.
            return Ok(());
        }
        state.mempool.push(tx);
        Ok(())
    }

    async fn receipt(&self, hash: Hash32) -> Result<Option<Receipt>, ChainError> {
        let state = self.read()?;
        for block in &state.blocks {
            if let Some(included) = block.txs.iter().find(|i| i.tx.hash == hash) {
                return Ok(Some(Receipt {
                    block_number: block.header.number,
                    block_hash: block.header.hash,
                    success: included.success,
                    fee_paid: included.fee_paid,
                }));
            }
        }
        Ok(None)
    }

    async fn balance(&self, owner: Address, token: Token) -> Result<u128, ChainError> {
        Ok(balance_of(&*self.read()?, owner, token))
    }
}

#[cfg(test)]
mod tests;
