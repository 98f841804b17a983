//! An Ethereum-compatible chain over JSON-RPC (alloy): blocks and the transfers in them, the hot
//! wallet's EIP-1559 transactions (native coin and ERC-20), receipts, nonces, fees and balances.
//!
//! It reports what the node says and decides nothing; it never retries on its own (the caller's
//! loop does), and it never panics on what a node answers. Every failure to get a clear answer is
//! `Unavailable`; a broadcast the node clearly refused is `Rejected`, with the reason read from
//! the node's message. Blocks are read by hash and checked to still be on the current chain
//! afterwards, so one call never mixes the contents of two forks.
//!
//! The node is read through alloy's catch-all `AnyNetwork` types, so a block that holds
//! transaction types Ethereum does not know (rollups' deposit transactions) still reads.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use alloy::consensus::{
    BlockHeader as _, SignableTransaction, Transaction as _, TxEip1559, TxEnvelope,
};
use alloy::eips::eip2718::Encodable2718;
use alloy::eips::{BlockId, BlockNumberOrTag};
use alloy::network::{
    AnyNetwork, AnyRpcBlock, AnyTransactionReceipt, BlockResponse as _, ReceiptResponse as _,
    TransactionResponse as _, TxSignerSync,
};
use alloy::primitives::{Bytes, TxKind, B256, U256};
use alloy::providers::{Provider, RootProvider};
use alloy::rpc::client::RpcClient;
use alloy::rpc::types::{BlockTransactions, Filter, TransactionRequest};
use alloy::serde::WithOtherFields;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{SolCall, SolEvent};
use alloy::transports::http::reqwest;
use alloy::transports::{RpcError, TransportError};
use async_trait::async_trait;

use crate::{
    hd, Address, BlockHeader, BroadcastError, Chain, ChainError, FeeBid, Hash32, Incoming,
    Outgoing, Receipt, Rejection, SignedTx, Token,
};

alloy::sol! {
    /// The part of ERC-20 the wallet uses.
    interface IERC20 {
        event Transfer(address indexed from, address indexed to, uint256 value);
        function transfer(address to, uint256 value) external returns (bool);
        function balanceOf(address owner) external view returns (uint256);
    }
}

/// How long one JSON-RPC request may take before it counts as unanswered.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Gas for a plain value transfer: fixed by the protocol.
const NATIVE_TRANSFER_GAS: u64 = 21_000;
/// Gas limit for an ERC-20 `transfer`: common tokens need 35 000 to 65 000 (more when the
/// recipient's balance slot is new); unused gas is not charged.
const TOKEN_TRANSFER_GAS: u64 = 100_000;
/// The tip offered when the node cannot suggest one (1 gwei).
const FALLBACK_PRIORITY_FEE_WEI: u128 = 1_000_000_000;
/// JSON-RPC's code for a method the node does not offer.
const METHOD_NOT_FOUND: i64 = -32601;

/// An EVM chain reached over JSON-RPC at one URL.
pub struct EvmChain {
    provider: RootProvider<AnyNetwork>,
    /// The node's chain id; 0 until it was read (a lazily made chain reads it on first use).
    chain_id: std::sync::atomic::AtomicU64,
    /// The chain id the operator expects; a node that reports another is refused.
    expected_chain_id: Option<u64>,
    /// The URL as the HTTP client prints it in its errors, and how it is shown instead: a URL
    /// may carry an API key in its path or query, which must not reach a log.
    url_full: String,
    url_shown: String,
}

impl fmt::Debug for EvmChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EvmChain")
            .field("url", &self.url_shown)
            .field("chain_id", &self.chain_id())
            .finish()
    }
}

impl EvmChain {
    /// Connects to the node at `rpc_url` (http or https) and reads its chain id, which every
    /// signature commits to (EIP-155).
    pub async fn connect(rpc_url: &str) -> Result<EvmChain, ChainError> {
        let chain = EvmChain::lazy(rpc_url, None)?;
        chain.ensure_chain_id().await?;
        Ok(chain)
    }

    /// A chain at `rpc_url` that connects on first use, so that a node that is down when the
    /// server starts delays the wallet's work instead of stopping the server. With
    /// `expected_chain_id`, a node on another network is refused on every call.
    pub fn lazy(rpc_url: &str, expected_chain_id: Option<u64>) -> Result<EvmChain, ChainError> {
        let url: reqwest::Url = rpc_url
            .trim()
            .parse()
            .map_err(|_| ChainError::Unavailable("the RPC URL is not a valid URL".into()))?;
        let url_shown = match url.port() {
            Some(port) => format!("{}://{}:{port}", url.scheme(), url.host_str().unwrap_or("")),
            None => format!("{}://{}", url.scheme(), url.host_str().unwrap_or("")),
        };
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|err| ChainError::Unavailable(format!("the HTTP client: {err}")))?;
        Ok(EvmChain {
            provider: RootProvider::new(RpcClient::new_http_with_client(http, url.clone())),
            chain_id: std::sync::atomic::AtomicU64::new(0),
            expected_chain_id,
            url_full: url.as_str().to_owned(),
            url_shown,
        })
    }

    /// The chain id the node reported (0 before the first successful call).
    pub fn chain_id(&self) -> u64 {
        self.chain_id.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Reads the node's chain id once, and checks it against the expected one.
    async fn ensure_chain_id(&self) -> Result<u64, ChainError> {
        let known = self.chain_id();
        if known != 0 {
            return Ok(known);
        }
        let id = self
            .provider
            .get_chain_id()
            .await
            .map_err(|err| self.unavailable(err))?;
        if let Some(expected) = self.expected_chain_id.filter(|e| *e != id) {
            return Err(ChainError::Unavailable(format!(
                "the node at {} is on chain id {id}, not the configured {expected}",
                self.url_shown
            )));
        }
        self.chain_id
            .store(id, std::sync::atomic::Ordering::Relaxed);
        Ok(id)
    }

    fn unavailable(&self, err: impl fmt::Display) -> ChainError {
        ChainError::Unavailable(self.redact(err.to_string()))
    }

    fn redact(&self, message: String) -> String {
        message.replace(&self.url_full, &self.url_shown)
    }

    async fn block_by_hash(&self, hash: Hash32) -> Result<AnyRpcBlock, ChainError> {
        self.provider
            .get_block_by_hash(B256::from(hash.0))
            .full()
            .await
            .map_err(|err| self.unavailable(err))?
            .ok_or(ChainError::BlockGone(hash))
    }

    /// Whether each of `txs` (transaction hashes in the block `block`) succeeded. `BlockGone`
    /// when a receipt says another block (the block was reorganised away meanwhile).
    async fn statuses(
        &self,
        block: Hash32,
        txs: &[B256],
    ) -> Result<HashMap<B256, bool>, ChainError> {
        let block_hash = B256::from(block.0);
        let receipts: Vec<AnyTransactionReceipt> = match self
            .provider
            .get_block_receipts(BlockId::hash(block_hash))
            .await
        {
            Ok(Some(receipts)) => receipts,
            Ok(None) => return Err(ChainError::BlockGone(block)),
            // eth_getBlockReceipts is newer than the rest; older nodes are asked one receipt at
            // a time.
            Err(err)
                if err
                    .as_error_resp()
                    .is_some_and(|e| e.code == METHOD_NOT_FOUND) =>
            {
                let mut receipts = Vec::with_capacity(txs.len());
                for tx in txs {
                    let receipt = self
                        .provider
                        .get_transaction_receipt(*tx)
                        .await
                        .map_err(|err| self.unavailable(err))?
                        .ok_or(ChainError::BlockGone(block))?;
                    receipts.push(receipt);
                }
                receipts
            }
            Err(err) => return Err(self.unavailable(err)),
        };
        let mut statuses = HashMap::with_capacity(receipts.len());
        for receipt in receipts {
            if receipt.block_hash() != Some(block_hash) {
                return Err(ChainError::BlockGone(block));
            }
            statuses.insert(receipt.transaction_hash(), receipt.status());
        }
        Ok(statuses)
    }

    async fn token_transfers(
        &self,
        block: Hash32,
        tokens: &[Address],
    ) -> Result<Vec<Incoming>, ChainError> {
        let filter = Filter::new()
            .at_block_hash(B256::from(block.0))
            .address(
                tokens
                    .iter()
                    .map(|token| alloy::primitives::Address::from(token.0))
                    .collect::<Vec<_>>(),
            )
            .event_signature(IERC20::Transfer::SIGNATURE_HASH);
        let logs = self
            .provider
            .get_logs(&filter)
            .await
            .map_err(|err| self.unavailable(err))?;
        let mut found = Vec::new();
        for log in logs {
            if log.removed {
                return Err(ChainError::BlockGone(block));
            }
            // ERC-721's Transfer has the same signature with the amount indexed; such a log (or
            // any other that is not ERC-20's shape) is not a transfer of value and is skipped.
            let Ok(transfer) = IERC20::Transfer::decode_log_data_validate(log.data()) else {
                continue;
            };
            // No supply fits the wallet's u128 past this; a token that claims more is broken
            // or hostile, and its log is not a deposit the ledger could record.
            let Ok(amount) = u128::try_from(transfer.value) else {
                continue;
            };
            let (Some(tx_hash), Some(log_index)) = (log.transaction_hash, log.log_index) else {
                return Err(ChainError::Unavailable(
                    "the node returned a mined log without its transaction or index".into(),
                ));
            };
            found.push(Incoming {
                tx_hash: Hash32(tx_hash.0),
                log_index: Some(log_index),
                from: Address(transfer.from.into_array()),
                to: Address(transfer.to.into_array()),
                token: Token::Erc20(Address(log.address().into_array())),
                amount,
            });
        }
        found.sort_by_key(|incoming| incoming.log_index);
        Ok(found)
    }
}

#[async_trait]
impl Chain for EvmChain {
    fn simulated(&self) -> bool {
        false
    }

    async fn head(&self) -> Result<u64, ChainError> {
        // Every worker round starts here: the first one that reaches the node learns its id.
        self.ensure_chain_id().await?;
        self.provider
            .get_block_number()
            .await
            .map_err(|err| self.unavailable(err))
    }

    async fn header(&self, number: u64) -> Result<Option<BlockHeader>, ChainError> {
        let block = self
            .provider
            .get_block_by_number(BlockNumberOrTag::Number(number))
            .await
            .map_err(|err| self.unavailable(err))?;
        Ok(block.map(|block| {
            let header = block.header();
            BlockHeader {
                number: header.number(),
                hash: Hash32(header.hash.0),
                parent_hash: Hash32(header.parent_hash().0),
                timestamp_s: header.timestamp(),
            }
        }))
    }

    async fn incoming(
        &self,
        block: Hash32,
        tokens: &[Address],
    ) -> Result<Vec<Incoming>, ChainError> {
        let full = self.block_by_hash(block).await?.into_inner();
        let number = full.header.number();
        let BlockTransactions::Full(transactions) = full.transactions else {
            return Err(ChainError::Unavailable(
                "the node answered with transaction hashes where full transactions were asked"
                    .into(),
            ));
        };

        // Contract creations carry value to an address no one could have been given, so only
        // calls with value count.
        let with_value: Vec<_> = transactions
            .into_iter()
            .filter(|tx| !tx.value().is_zero() && tx.to().is_some())
            .collect();
        let mut found = Vec::new();
        if !with_value.is_empty() {
            let hashes: Vec<B256> = with_value.iter().map(|tx| tx.tx_hash()).collect();
            let statuses = self.statuses(block, &hashes).await?;
            for tx in with_value {
                let hash = tx.tx_hash();
                let Some(&success) = statuses.get(&hash) else {
                    return Err(ChainError::Unavailable(format!(
                        "the node has no receipt for transaction {hash} of block {block}"
                    )));
                };
                // Ether's whole supply is far below u128::MAX.
                let (true, Some(to), Ok(amount)) = (success, tx.to(), u128::try_from(tx.value()))
                else {
                    continue;
                };
                found.push(Incoming {
                    tx_hash: Hash32(hash.0),
                    log_index: None,
                    from: Address(tx.from().into_array()),
                    to: Address(to.into_array()),
                    token: Token::Native,
                    amount,
                });
            }
        }
        if !tokens.is_empty() {
            found.extend(self.token_transfers(block, tokens).await?);
        }

        // A node also answers by hash for a block that has just left the current chain: ask
        // which block is at that height now.
        match self.header(number).await? {
            Some(now) if now.hash == block => Ok(found),
            _ => Err(ChainError::BlockGone(block)),
        }
    }

    async fn next_nonce(&self, from: Address) -> Result<u64, ChainError> {
        self.provider
            .get_transaction_count(alloy::primitives::Address::from(from.0))
            .pending()
            .await
            .map_err(|err| self.unavailable(err))
    }

    async fn fee_bid(&self) -> Result<FeeBid, ChainError> {
        let latest = self
            .provider
            .get_block_by_number(BlockNumberOrTag::Latest)
            .await
            .map_err(|err| self.unavailable(err))?
            .ok_or_else(|| ChainError::Unavailable("the node has no latest block".into()))?;
        let Some(base_fee) = latest.header().base_fee_per_gas() else {
            return Err(ChainError::Unavailable(
                "the latest block has no base fee: the chain does not price gas by EIP-1559".into(),
            ));
        };
        let priority = match self.provider.get_max_priority_fee_per_gas().await {
            Ok(priority) => priority,
            Err(err) if err.as_error_resp().is_some() => FALLBACK_PRIORITY_FEE_WEI,
            Err(err) => return Err(self.unavailable(err)),
        };
        // The base fee can rise by 12.5 % a block; twice today's stays enough for six full
        // blocks in a row, and only what is used is paid.
        Ok(FeeBid {
            max_fee_per_gas: u128::from(base_fee)
                .saturating_mul(2)
                .saturating_add(priority),
            max_priority_fee_per_gas: priority,
        })
    }

    fn sign(&self, key: &hd::PrivateKey, tx: &Outgoing) -> Result<SignedTx, ChainError> {
        let signer = PrivateKeySigner::from_bytes(&B256::from(*key.secret_bytes()))
            .map_err(|err| ChainError::Unavailable(format!("the signing key: {err}")))?;
        let to = alloy::primitives::Address::from(tx.to.0);
        let (kind, value, input, gas_limit) = match tx.token {
            Token::Native => (
                TxKind::Call(to),
                U256::from(tx.amount),
                Bytes::new(),
                NATIVE_TRANSFER_GAS,
            ),
            Token::Erc20(contract) => {
                let call = IERC20::transferCall {
                    to,
                    value: U256::from(tx.amount),
                };
                (
                    TxKind::Call(alloy::primitives::Address::from(contract.0)),
                    U256::ZERO,
                    Bytes::from(call.abi_encode()),
                    TOKEN_TRANSFER_GAS,
                )
            }
        };
        let mut unsigned = TxEip1559 {
            chain_id: match self.chain_id() {
                0 => {
                    return Err(ChainError::Unavailable(
                        "the node was not reached yet: its chain id is unknown".into(),
                    ))
                }
                id => id,
            },
            nonce: tx.nonce,
            gas_limit,
            max_fee_per_gas: tx.fees.max_fee_per_gas,
            max_priority_fee_per_gas: tx.fees.max_priority_fee_per_gas,
            to: kind,
            value,
            access_list: Default::default(),
            input,
        };
        let signature = signer
            .sign_transaction_sync(&mut unsigned)
            .map_err(|err| ChainError::Unavailable(format!("signing failed: {err}")))?;
        let signed = unsigned.into_signed(signature);
        let hash = Hash32(signed.hash().0);
        let raw = TxEnvelope::from(signed).encoded_2718();
        Ok(SignedTx { hash, raw })
    }

    async fn broadcast(&self, tx: &SignedTx) -> Result<(), BroadcastError> {
        let sent: Result<B256, TransportError> = self
            .provider
            .client()
            .request("eth_sendRawTransaction", (Bytes::copy_from_slice(&tx.raw),))
            .await;
        match sent {
            Ok(_) => Ok(()),
            Err(RpcError::ErrorResp(payload)) => {
                let message = self.redact(payload.message.to_string());
                match read_refusal(payload.code, &message) {
                    Refusal::AlreadyKnown => Ok(()),
                    // The same bytes resent after they were mined use a nonce that is now
                    // spent: the node knows the transaction, which is the success asked for.
                    Refusal::Rejected(Rejection::NonceTooLow) => {
                        match self
                            .provider
                            .get_transaction_by_hash(B256::from(tx.hash.0))
                            .await
                        {
                            Ok(Some(_)) => Ok(()),
                            Ok(None) => Err(BroadcastError::Rejected {
                                kind: Rejection::NonceTooLow,
                                message,
                            }),
                            Err(err) => {
                                Err(BroadcastError::Unavailable(self.redact(err.to_string())))
                            }
                        }
                    }
                    Refusal::Rejected(kind) => Err(BroadcastError::Rejected { kind, message }),
                    Refusal::Unclear => Err(BroadcastError::Unavailable(format!(
                        "error {}: {message}",
                        payload.code
                    ))),
                }
            }
            Err(err) => Err(BroadcastError::Unavailable(self.redact(err.to_string()))),
        }
    }

    async fn receipt(&self, tx: Hash32) -> Result<Option<Receipt>, ChainError> {
        let Some(receipt) = self
            .provider
            .get_transaction_receipt(B256::from(tx.0))
            .await
            .map_err(|err| self.unavailable(err))?
        else {
            return Ok(None);
        };
        // Some nodes answer for a transaction still in their mempool with a receipt that has no
        // block: it is not mined yet.
        let (Some(block_number), Some(block_hash)) = (receipt.block_number(), receipt.block_hash())
        else {
            return Ok(None);
        };
        Ok(Some(Receipt {
            block_number,
            block_hash: Hash32(block_hash.0),
            success: receipt.status(),
            fee_paid: u128::from(receipt.gas_used()).saturating_mul(receipt.effective_gas_price()),
        }))
    }

    async fn balance(&self, owner: Address, token: Token) -> Result<u128, ChainError> {
        let owner = alloy::primitives::Address::from(owner.0);
        let amount = match token {
            Token::Native => self
                .provider
                .get_balance(owner)
                .await
                .map_err(|err| self.unavailable(err))?,
            Token::Erc20(contract) => {
                let request = TransactionRequest::default()
                    .to(alloy::primitives::Address::from(contract.0))
                    .input(IERC20::balanceOfCall { owner }.abi_encode().into());
                let answer = self
                    .provider
                    .call(WithOtherFields::new(request))
                    .await
                    .map_err(|err| self.unavailable(err))?;
                IERC20::balanceOfCall::abi_decode_returns(&answer).map_err(|_| {
                    ChainError::Unavailable(format!(
                        "{contract} did not answer balanceOf like an ERC-20 contract"
                    ))
                })?
            }
        };
        u128::try_from(amount).map_err(|_| {
            ChainError::Unavailable(format!("a balance above u128::MAX was reported: {amount}"))
        })
    }
}

/// What a node's error answer to `eth_sendRawTransaction` means.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Refusal {
    /// The node already has these bytes: the broadcast did what it should.
    AlreadyKnown,
    /// The node refused the transaction; it is not in its mempool.
    Rejected(Rejection),
    /// The node failed rather than refused (overloaded, internal error): the transaction may
    /// or may not have been taken, so the nonce stays taken.
    Unclear,
}

/// Reads a node's refusal of a raw transaction. Nodes word these freely; the phrases are those
/// of geth, which most nodes copy, and anvil's (checked against anvil 1.7 in the tests):
///
/// - `insufficient funds for gas * price + value: have 0 want 21000000000000`
///   (anvil: "Insufficient funds for gas * price + value")
/// - `nonce too low: next nonce 1, tx nonce 0` (anvil: "nonce too low")
/// - `replacement transaction underpriced`, `transaction underpriced` (anvil: "replacement
///   transaction underpriced")
/// - `already known` (geth), `known transaction: …` (older geth, Besu) (anvil: "transaction
///   already imported" while the transaction waits; "nonce too low" once it is mined, which
///   [`EvmChain::broadcast`] tells apart by asking for the transaction)
/// - anything else is a refusal of its own kind, e.g. anvil's "Failed to decode transaction"
///   (code -32602) for bytes that are no transaction
fn read_refusal(code: i64, message: &str) -> Refusal {
    let lower = message.to_ascii_lowercase();
    if lower.contains("already known")
        || lower.contains("known transaction")
        || lower.contains("already imported")
    {
        return Refusal::AlreadyKnown;
    }
    if lower.contains("insufficient funds") {
        return Refusal::Rejected(Rejection::InsufficientFunds);
    }
    if lower.contains("nonce too low") {
        return Refusal::Rejected(Rejection::NonceTooLow);
    }
    if lower.contains("underpriced") || lower.contains("replacement") {
        return Refusal::Rejected(Rejection::Underpriced);
    }
    // JSON-RPC's internal error, and the codes providers use for rate limits: the node did not
    // judge the transaction.
    if code == -32603 || code == -32005 || code == 429 || lower.contains("rate limit") {
        return Refusal::Unclear;
    }
    Refusal::Rejected(Rejection::Other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_read_from_the_nodes_words() {
        let cases = [
            (
                "insufficient funds for gas * price + value: have 0 want 21000000000000",
                Refusal::Rejected(Rejection::InsufficientFunds),
            ),
            (
                "Insufficient funds for gas * price + value",
                Refusal::Rejected(Rejection::InsufficientFunds),
            ),
            (
                "nonce too low: next nonce 1, tx nonce 0",
                Refusal::Rejected(Rejection::NonceTooLow),
            ),
            (
                "replacement transaction underpriced",
                Refusal::Rejected(Rejection::Underpriced),
            ),
            (
                "transaction underpriced: tip needed 1, tip permitted 0",
                Refusal::Rejected(Rejection::Underpriced),
            ),
            ("already known", Refusal::AlreadyKnown),
            ("known transaction: 0xabc", Refusal::AlreadyKnown),
            ("transaction already imported", Refusal::AlreadyKnown),
            ("intrinsic gas too low", Refusal::Rejected(Rejection::Other)),
        ];
        for (message, expected) in cases {
            assert_eq!(read_refusal(-32000, message), expected, "{message}");
        }
        assert_eq!(read_refusal(-32603, "internal error"), Refusal::Unclear);
        assert_eq!(read_refusal(-32005, "limit exceeded"), Refusal::Unclear);
    }

    #[tokio::test]
    async fn an_unreachable_node_is_unavailable_and_the_url_stays_private() {
        // Port 9 (discard) on loopback: nothing listens there on a test machine.
        let err = EvmChain::connect("http://127.0.0.1:9/v3/secret-api-key")
            .await
            .unwrap_err();
        let ChainError::Unavailable(message) = err else {
            panic!("expected Unavailable, got {err:?}");
        };
        assert!(!message.contains("secret-api-key"), "{message}");
        assert!(matches!(
            EvmChain::connect("not a url").await,
            Err(ChainError::Unavailable(_))
        ));
    }

    #[tokio::test]
    async fn a_lazy_chain_waits_for_its_node_and_signs_nothing_before() {
        let chain = EvmChain::lazy("http://127.0.0.1:9/", Some(1)).unwrap();
        assert_eq!(chain.chain_id(), 0);
        assert!(matches!(
            chain.head().await,
            Err(ChainError::Unavailable(_))
        ));
        let key = hd::PrivateKey::from_bytes([7; 32]).unwrap();
        let tx = Outgoing {
            to: crate::Address([1; 20]),
            token: Token::Native,
            amount: 1,
            nonce: 0,
            fees: FeeBid {
                max_fee_per_gas: 1,
                max_priority_fee_per_gas: 1,
            },
        };
        assert!(matches!(
            chain.sign(&key, &tx),
            Err(ChainError::Unavailable(_))
        ));
    }
}
