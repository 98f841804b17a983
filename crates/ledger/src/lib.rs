//! The okwallet ledger: amounts, accounts, transfers and the rules that post them.
//!
//! Modelled on TigerBeetle. Every transfer moves one amount from a debit account to a credit
//! account of the same asset, so debits equal credits by construction. Accounts keep four
//! running totals (`debits_pending`, `debits_posted`, `credits_pending`, `credits_posted`) and may
//! forbid one side from exceeding the other. Transfers are immutable; a client-chosen id is the
//! idempotency key; linked transfers commit all or nothing; pending transfers hold funds until
//! posted, voided or expired.
//!
//! This crate decides; it never does I/O. It knows nothing about SQL, HTTP or async runtimes:
//! the store loads the state a batch touches into a [`BatchState`], calls [`apply_batch`], and
//! writes back what it returns.

pub mod amount;
pub mod apply;
pub mod asset;
pub mod transfer;
pub mod verify;

pub use amount::{Amount, AmountError};
pub use apply::{apply_batch, Applied, BatchState, EventResult};
pub use asset::{Asset, AssetCode};
pub use transfer::{
    Account, AccountFlags, AccountId, ResultCode, StoredTransfer, Transfer, TransferId,
    TransferKind, TransferKindTag,
};

/// Transfer codes: the kind of business movement a transfer is. Stored, so never renumber.
pub mod codes {
    /// A manual adjustment by an operator, against the equity account.
    pub const ADJUSTMENT: u16 = 1;
    /// Synthetic load from `okwallet bench` and the crash tests.
    pub const LOAD_TEST: u16 = 9000;
}
