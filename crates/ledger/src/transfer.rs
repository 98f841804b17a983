//! Accounts, transfers and result codes: the ledger's nouns.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::{Amount, AssetCode};

macro_rules! text_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// Longest id accepted, in bytes.
            pub const LEN_MAX: usize = 128;

            /// Accepts 1 to 128 printable ASCII characters without spaces.
            pub fn parse(text: &str) -> Option<$name> {
                let ok = !text.is_empty()
                    && text.len() <= Self::LEN_MAX
                    && text.bytes().all(|b| b.is_ascii_graphic());
                ok.then(|| $name(text.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_id!(
    /// Identifies a ledger account.
    AccountId
);
text_id!(
    /// Identifies a transfer; chosen by the client and used as the idempotency key.
    TransferId
);

/// Balance constraints of an account.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct AccountFlags(u16);

impl AccountFlags {
    pub const NONE: AccountFlags = AccountFlags(0);
    /// Debits (pending and posted) may never exceed posted credits: a customer's balance.
    pub const DEBITS_MUST_NOT_EXCEED_CREDITS: AccountFlags = AccountFlags(1);
    /// Credits (pending and posted) may never exceed posted debits: e.g. an on-chain hot wallet.
    pub const CREDITS_MUST_NOT_EXCEED_DEBITS: AccountFlags = AccountFlags(2);

    pub fn from_bits(bits: u16) -> Option<AccountFlags> {
        (bits & !3 == 0 && bits != 3).then_some(AccountFlags(bits))
    }

    pub fn bits(self) -> u16 {
        self.0
    }

    pub fn contains(self, other: AccountFlags) -> bool {
        self.0 & other.0 == other.0 && other.0 != 0
    }
}

/// An account and its four running totals, all in the asset's minor units.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub id: AccountId,
    pub asset: AssetCode,
    pub flags: AccountFlags,
    pub debits_pending: i64,
    pub debits_posted: i64,
    pub credits_pending: i64,
    pub credits_posted: i64,
}

impl Account {
    pub fn new(id: AccountId, asset: AssetCode, flags: AccountFlags) -> Account {
        Account {
            id,
            asset,
            flags,
            debits_pending: 0,
            debits_posted: 0,
            credits_pending: 0,
            credits_posted: 0,
        }
    }

    /// What a customer may spend: posted credits less everything debited or held.
    pub fn available(&self) -> i64 {
        self.credits_posted - self.debits_posted - self.debits_pending
    }

    /// False only when the account forbids debits beyond credits and they go beyond.
    pub fn debits_within_credits(&self) -> bool {
        !self
            .flags
            .contains(AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS)
            || i128::from(self.debits_pending) + i128::from(self.debits_posted)
                <= i128::from(self.credits_posted)
    }

    /// False only when the account forbids credits beyond debits and they go beyond.
    pub fn credits_within_debits(&self) -> bool {
        !self
            .flags
            .contains(AccountFlags::CREDITS_MUST_NOT_EXCEED_DEBITS)
            || i128::from(self.credits_pending) + i128::from(self.credits_posted)
                <= i128::from(self.debits_posted)
    }

    /// Whether the account's flags hold for its current totals, and no total is negative.
    pub fn constraints_hold(&self) -> bool {
        let non_negative = self.debits_pending >= 0
            && self.debits_posted >= 0
            && self.credits_pending >= 0
            && self.credits_posted >= 0;
        self.debits_within_credits() && self.credits_within_debits() && non_negative
    }
}

/// What a transfer does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransferKind {
    /// Moves `amount` at once.
    Single {
        debit: AccountId,
        credit: AccountId,
        amount: Amount,
    },
    /// Holds `amount`; released by a post, a void, or expiry after `timeout_s` (0: never).
    Pending {
        debit: AccountId,
        credit: AccountId,
        amount: Amount,
        timeout_s: u32,
    },
    /// Posts a pending transfer in full (`amount: None`) or in part; the rest is released.
    Post {
        pending_id: TransferId,
        amount: Option<Amount>,
    },
    /// Releases a pending transfer.
    Void { pending_id: TransferId },
    /// Releases a pending transfer whose timeout has passed; submitted by the expiry sweep.
    Expire { pending_id: TransferId },
}

/// The stored tag of a [`TransferKind`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransferKindTag {
    Single,
    Pending,
    Post,
    Void,
    Expire,
}

impl TransferKindTag {
    pub const ALL: [TransferKindTag; 5] = [
        TransferKindTag::Single,
        TransferKindTag::Pending,
        TransferKindTag::Post,
        TransferKindTag::Void,
        TransferKindTag::Expire,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TransferKindTag::Single => "single",
            TransferKindTag::Pending => "pending",
            TransferKindTag::Post => "post",
            TransferKindTag::Void => "void",
            TransferKindTag::Expire => "expire",
        }
    }

    pub fn parse(text: &str) -> Option<TransferKindTag> {
        Self::ALL.into_iter().find(|t| t.as_str() == text)
    }
}

/// A request to the ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transfer {
    pub id: TransferId,
    pub kind: TransferKind,
    pub asset: AssetCode,
    /// The kind of business movement (deposit, withdrawal, fee, …); never 0.
    pub code: u16,
    /// The business object this transfer belongs to, e.g. `withdrawal:01J…`.
    pub reference: String,
    /// Links this transfer with the next one: the chain commits all or nothing.
    pub linked: bool,
}

impl Transfer {
    pub const REFERENCE_LEN_MAX: usize = 256;

    pub fn kind_tag(&self) -> TransferKindTag {
        match self.kind {
            TransferKind::Single { .. } => TransferKindTag::Single,
            TransferKind::Pending { .. } => TransferKindTag::Pending,
            TransferKind::Post { .. } => TransferKindTag::Post,
            TransferKind::Void { .. } => TransferKindTag::Void,
            TransferKind::Expire { .. } => TransferKindTag::Expire,
        }
    }

    pub fn pending_id(&self) -> Option<&TransferId> {
        match &self.kind {
            TransferKind::Post { pending_id, .. }
            | TransferKind::Void { pending_id }
            | TransferKind::Expire { pending_id } => Some(pending_id),
            TransferKind::Single { .. } | TransferKind::Pending { .. } => None,
        }
    }

    /// The accounts named by the request itself (post, void and expire take theirs from the
    /// pending transfer).
    pub fn named_accounts(&self) -> Option<(&AccountId, &AccountId)> {
        match &self.kind {
            TransferKind::Single { debit, credit, .. }
            | TransferKind::Pending { debit, credit, .. } => Some((debit, credit)),
            _ => None,
        }
    }

    /// A digest of every field the client chose, used to tell a replay from a different request
    /// that reuses an id.
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        let mut field = |bytes: &[u8]| {
            h.update((bytes.len() as u64).to_le_bytes());
            h.update(bytes);
        };
        field(self.id.as_str().as_bytes());
        field(self.kind_tag().as_str().as_bytes());
        match &self.kind {
            TransferKind::Single {
                debit,
                credit,
                amount,
            } => {
                field(debit.as_str().as_bytes());
                field(credit.as_str().as_bytes());
                field(&amount.minor().to_le_bytes());
            }
            TransferKind::Pending {
                debit,
                credit,
                amount,
                timeout_s,
            } => {
                field(debit.as_str().as_bytes());
                field(credit.as_str().as_bytes());
                field(&amount.minor().to_le_bytes());
                field(&timeout_s.to_le_bytes());
            }
            TransferKind::Post { pending_id, amount } => {
                field(pending_id.as_str().as_bytes());
                field(&amount.map_or(-1, Amount::minor).to_le_bytes());
            }
            TransferKind::Void { pending_id } | TransferKind::Expire { pending_id } => {
                field(pending_id.as_str().as_bytes());
            }
        }
        field(self.asset.as_str().as_bytes());
        field(&self.code.to_le_bytes());
        field(self.reference.as_bytes());
        field(&[u8::from(self.linked)]);
        hex::encode(&h.finalize()[..16])
    }
}

/// The outcome of one transfer, ordered by precedence: when several reasons apply, the first
/// listed is reported. `Ok` is the only success.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResultCode {
    Ok,
    /// Another transfer of the same linked chain failed; this one was not applied.
    LinkedEventFailed,
    /// The request ended inside a linked chain (the last transfer had `linked`).
    LinkedEventChainOpen,
    AccountsMustBeDifferent,
    PendingIdMustBeDifferent,
    CodeMustNotBeZero,
    ReferenceTooLong,
    AmountMustNotBeZero,
    /// The id was used before for a request with different fields.
    ExistsWithDifferentFields,
    DebitAccountNotFound,
    CreditAccountNotFound,
    /// The accounts, or the pending transfer, are of another asset.
    AssetMismatch,
    PendingNotFound,
    PendingNotPending,
    PendingAlreadyPosted,
    PendingAlreadyVoided,
    PendingExpired,
    PendingNotExpired,
    ExceedsPendingAmount,
    /// A total would overflow i64.
    Overflow,
    /// The debit account would go below what it holds (debits would exceed credits).
    InsufficientFunds,
    /// The credit account would exceed its debits.
    ExceedsDebits,
}

impl ResultCode {
    pub const ALL: [ResultCode; 22] = [
        ResultCode::Ok,
        ResultCode::LinkedEventFailed,
        ResultCode::LinkedEventChainOpen,
        ResultCode::AccountsMustBeDifferent,
        ResultCode::PendingIdMustBeDifferent,
        ResultCode::CodeMustNotBeZero,
        ResultCode::ReferenceTooLong,
        ResultCode::AmountMustNotBeZero,
        ResultCode::ExistsWithDifferentFields,
        ResultCode::DebitAccountNotFound,
        ResultCode::CreditAccountNotFound,
        ResultCode::AssetMismatch,
        ResultCode::PendingNotFound,
        ResultCode::PendingNotPending,
        ResultCode::PendingAlreadyPosted,
        ResultCode::PendingAlreadyVoided,
        ResultCode::PendingExpired,
        ResultCode::PendingNotExpired,
        ResultCode::ExceedsPendingAmount,
        ResultCode::Overflow,
        ResultCode::InsufficientFunds,
        ResultCode::ExceedsDebits,
    ];

    /// The stable snake_case code used in storage and in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            ResultCode::Ok => "ok",
            ResultCode::LinkedEventFailed => "linked_event_failed",
            ResultCode::LinkedEventChainOpen => "linked_event_chain_open",
            ResultCode::AccountsMustBeDifferent => "accounts_must_be_different",
            ResultCode::PendingIdMustBeDifferent => "pending_id_must_be_different",
            ResultCode::CodeMustNotBeZero => "code_must_not_be_zero",
            ResultCode::ReferenceTooLong => "reference_too_long",
            ResultCode::AmountMustNotBeZero => "amount_must_not_be_zero",
            ResultCode::ExistsWithDifferentFields => "exists_with_different_fields",
            ResultCode::DebitAccountNotFound => "debit_account_not_found",
            ResultCode::CreditAccountNotFound => "credit_account_not_found",
            ResultCode::AssetMismatch => "asset_mismatch",
            ResultCode::PendingNotFound => "pending_not_found",
            ResultCode::PendingNotPending => "pending_not_pending",
            ResultCode::PendingAlreadyPosted => "pending_already_posted",
            ResultCode::PendingAlreadyVoided => "pending_already_voided",
            ResultCode::PendingExpired => "pending_expired",
            ResultCode::PendingNotExpired => "pending_not_expired",
            ResultCode::ExceedsPendingAmount => "exceeds_pending_amount",
            ResultCode::Overflow => "overflow",
            ResultCode::InsufficientFunds => "insufficient_funds",
            ResultCode::ExceedsDebits => "exceeds_debits",
        }
    }

    pub fn parse(text: &str) -> Option<ResultCode> {
        Self::ALL.into_iter().find(|c| c.as_str() == text)
    }

    /// Failures that depend only on the request, never on the ledger's state. They are not
    /// remembered: a corrected request may reuse the id.
    pub fn is_validation(self) -> bool {
        matches!(
            self,
            ResultCode::LinkedEventChainOpen
                | ResultCode::AccountsMustBeDifferent
                | ResultCode::PendingIdMustBeDifferent
                | ResultCode::CodeMustNotBeZero
                | ResultCode::ReferenceTooLong
                | ResultCode::AmountMustNotBeZero
        )
    }
}

impl fmt::Display for ResultCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A transfer as the journal keeps it, successful or not.
///
/// For a post, void or expire, the accounts and asset are copied from the pending transfer and
/// `amount` is what actually moved (posted) or was released (void, expire).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredTransfer {
    pub id: TransferId,
    pub result: ResultCode,
    pub kind: TransferKindTag,
    pub debit_account_id: Option<AccountId>,
    pub credit_account_id: Option<AccountId>,
    pub asset: AssetCode,
    pub amount: i64,
    pub pending_id: Option<TransferId>,
    /// For a pending transfer with a timeout: when it expires (ns since the Unix epoch).
    pub expires_at: Option<i64>,
    pub code: u16,
    pub reference: String,
    pub linked: bool,
    pub fingerprint: String,
    /// When the ledger applied it: ns since the Unix epoch, strictly increasing per writer.
    pub timestamp: i64,
}
