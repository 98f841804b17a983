//! The chain boundary: what the wallet needs from a blockchain, and two chains that provide it.
//!
//! - [`hd`]: the operator's seed → deposit addresses and the hot wallet's key.
//! - [`Chain`]: read blocks and the transfers in them, sign and broadcast the hot wallet's
//!   transactions, read receipts, nonces, fees and balances.
//! - [`sim::SimChain`]: an in-process chain, deterministic by seed, with injectable faults; the
//!   demo runs on it and everything on it is labelled simulated.
//! - `evm`: JSON-RPC to any Ethereum-compatible node (alloy), tested against a real `anvil`.
//!
//! Amounts here are raw chain units (wei, or a token's smallest unit) as `u128`; converting them
//! to ledger units is the caller's business. This crate never touches the ledger or SQL, and it
//! decides nothing about users: it reports what the chain says.

use std::fmt;

use async_trait::async_trait;

pub mod evm;
pub mod hd;
pub mod sim;

/// A 20-byte account address. Shown with the EIP-55 checksum.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address(pub [u8; 20]);

impl Address {
    /// Parses `0x` + 40 hex digits. All-lowercase or all-uppercase digits are accepted as they
    /// are; mixed case must carry a correct EIP-55 checksum, so a mistyped letter is caught.
    pub fn parse(text: &str) -> Option<Address> {
        let digits = text.trim().strip_prefix("0x")?;
        if digits.len() != 40 {
            return None;
        }
        let bytes: [u8; 20] = hex::decode(digits).ok()?.try_into().ok()?;
        let address = Address(bytes);
        let has_lower = digits.bytes().any(|b| b.is_ascii_lowercase());
        let has_upper = digits.bytes().any(|b| b.is_ascii_uppercase());
        if has_lower && has_upper && address.to_string() != format!("0x{digits}") {
            return None;
        }
        Some(address)
    }

    /// The address as stored and compared: `0x` + 40 lowercase hex digits.
    pub fn to_lowercase_hex(&self) -> String {
        format!("0x{}", hex::encode(self.0))
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hd::eip55(&self.0))
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({self})")
    }
}

/// A 32-byte hash: of a block or a transaction.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash32(pub [u8; 32]);

impl Hash32 {
    /// Parses `0x` + 64 hex digits.
    pub fn parse(text: &str) -> Option<Hash32> {
        let digits = text.trim().strip_prefix("0x")?;
        if digits.len() != 64 {
            return None;
        }
        Some(Hash32(hex::decode(digits).ok()?.try_into().ok()?))
    }
}

impl fmt::Display for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl fmt::Debug for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash32({self})")
    }
}

/// What is being moved: the chain's native coin or an ERC-20 token at a contract address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Token {
    Native,
    Erc20(Address),
}

/// A block as the watcher follows it: its number, its hash and its parent's hash.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct BlockHeader {
    pub number: u64,
    pub hash: Hash32,
    pub parent_hash: Hash32,
    pub timestamp_s: u64,
}

/// One transfer of value into some address, found in a block: a native transfer (a successful
/// transaction with value; `log_index` is `None`) or an ERC-20 `Transfer` log (`log_index` set).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Incoming {
    pub tx_hash: Hash32,
    pub log_index: Option<u64>,
    pub from: Address,
    pub to: Address,
    pub token: Token,
    pub amount: u128,
}

/// What one gas unit may cost (EIP-1559), in wei.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct FeeBid {
    pub max_fee_per_gas: u128,
    pub max_priority_fee_per_gas: u128,
}

impl FeeBid {
    /// This bid raised by `percent` on both parts (at least by 1 wei), as a replacement for a
    /// stuck transaction must be: nodes ask for at least 10 % more.
    pub fn bumped(self, percent: u32) -> FeeBid {
        let up = |value: u128| {
            let raised = value.saturating_mul(100 + u128::from(percent)) / 100;
            raised.max(value.saturating_add(1))
        };
        FeeBid {
            max_fee_per_gas: up(self.max_fee_per_gas),
            max_priority_fee_per_gas: up(self.max_priority_fee_per_gas),
        }
    }
}

/// A transaction the hot wallet sends: value or tokens to one address, at a chosen nonce.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Outgoing {
    pub to: Address,
    pub token: Token,
    pub amount: u128,
    pub nonce: u64,
    pub fees: FeeBid,
}

/// A signed transaction: its hash and the exact bytes to (re)broadcast. Broadcasting the same
/// bytes twice is harmless; the chain includes it at most once.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SignedTx {
    pub hash: Hash32,
    pub raw: Vec<u8>,
}

/// A mined transaction's outcome.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Receipt {
    pub block_number: u64,
    pub block_hash: Hash32,
    /// False when the transaction was mined but reverted (it still paid its fee).
    pub success: bool,
    /// Gas used times the effective gas price, in wei.
    pub fee_paid: u128,
}

/// A read from the chain failed.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The node did not answer, or answered with an error: try again later.
    #[error("the chain node is unavailable: {0}")]
    Unavailable(String),
    /// The block asked for is no longer on the chain (reorganised away meanwhile).
    #[error("block {0} is no longer on the chain")]
    BlockGone(Hash32),
}

/// Why the node refused a transaction outright. The transaction did not enter the mempool, so
/// its nonce is still free.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Rejection {
    /// The hot wallet cannot pay the value plus the most the gas may cost.
    InsufficientFunds,
    /// The nonce was already used by a mined transaction.
    NonceTooLow,
    /// A replacement at this nonce must bid more.
    Underpriced,
    /// Any other refusal (the message says which).
    Other,
}

/// A broadcast failed.
#[derive(Debug, thiserror::Error)]
pub enum BroadcastError {
    /// The node refused the transaction; it is not in the mempool.
    #[error("the node refused the transaction ({kind:?}): {message}")]
    Rejected { kind: Rejection, message: String },
    /// No clear answer (timeout, connection, server error): the transaction may or may not have
    /// reached the mempool, so its nonce must be treated as taken and the same bytes resent.
    #[error("the chain node is unavailable: {0}")]
    Unavailable(String),
}

/// A blockchain as the wallet uses it. Implementations are cheap to share (`Arc<dyn Chain>`).
#[async_trait]
pub trait Chain: Send + Sync {
    /// True for the simulated chain: whatever it reports is labelled simulated.
    fn simulated(&self) -> bool;

    /// The newest block's number.
    async fn head(&self) -> Result<u64, ChainError>;

    /// The block at `number` on the current chain, or `None` above the head.
    async fn header(&self, number: u64) -> Result<Option<BlockHeader>, ChainError>;

    /// Every transfer of value in the block with this hash: successful native transfers, and
    /// `Transfer` logs of the given token contracts. `BlockGone` when the block is no longer on
    /// the chain, so the caller never mixes the contents of two forks.
    async fn incoming(
        &self,
        block: Hash32,
        tokens: &[Address],
    ) -> Result<Vec<Incoming>, ChainError>;

    /// The next nonce `from` may use, counting transactions in the mempool.
    async fn next_nonce(&self, from: Address) -> Result<u64, ChainError>;

    /// What to bid for a transaction to be included soon.
    async fn fee_bid(&self) -> Result<FeeBid, ChainError>;

    /// Signs `tx` with the hot wallet's key. Pure: nothing is sent.
    fn sign(&self, key: &hd::PrivateKey, tx: &Outgoing) -> Result<SignedTx, ChainError>;

    /// Sends signed bytes to the node. Sending bytes the node already has is a success.
    async fn broadcast(&self, tx: &SignedTx) -> Result<(), BroadcastError>;

    /// The receipt of a mined transaction on the current chain, or `None` while it is not mined.
    async fn receipt(&self, tx: Hash32) -> Result<Option<Receipt>, ChainError>;

    /// What `owner` holds of `token`, in chain units, at the head.
    async fn balance(&self, owner: Address, token: Token) -> Result<u128, ChainError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_in_every_case_but_a_wrong_checksum() {
        let checksummed = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
        let address = Address::parse(checksummed).unwrap();
        assert_eq!(address.to_string(), checksummed);
        assert_eq!(
            Address::parse(&checksummed.to_lowercase()),
            Some(address),
            "all lowercase carries no checksum and is accepted"
        );
        assert_eq!(
            Address::parse(&format!("0x{}", checksummed[2..].to_uppercase())),
            Some(address)
        );
        // One letter's case flipped: the checksum catches it.
        assert_eq!(
            Address::parse("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"),
            None
        );
        for bad in [
            "",
            "0x",
            "5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "0x123",
            "0xzz",
        ] {
            assert_eq!(Address::parse(bad), None, "{bad:?}");
        }
        assert_eq!(
            address.to_lowercase_hex(),
            "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"
        );
    }

    #[test]
    fn hashes_round_trip() {
        let text = format!("0x{}", "ab".repeat(32));
        assert_eq!(Hash32::parse(&text).unwrap().to_string(), text);
        assert_eq!(Hash32::parse("0xabc"), None);
    }

    #[test]
    fn a_bumped_bid_is_at_least_ten_percent_higher() {
        let bid = FeeBid {
            max_fee_per_gas: 100,
            max_priority_fee_per_gas: 3,
        };
        let bumped = bid.bumped(12);
        assert_eq!(bumped.max_fee_per_gas, 112);
        assert_eq!(bumped.max_priority_fee_per_gas, 4);
        let zero = FeeBid {
            max_fee_per_gas: 0,
            max_priority_fee_per_gas: 0,
        };
        assert_eq!(zero.bumped(12).max_fee_per_gas, 1);
    }
}
