//! The decisions, as pure functions over plain data: how far a deposit is, when it should be
//! credited, and whether a withdrawal may be made — with one refusal per reason a person can be
//! given, in the order they are checked.

use ledger::Amount;

use crate::settings::AssetSettings;

/// Where a deposit stands after the watcher's latest look.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DepositStage {
    pub confirmations: u64,
    pub status: &'static str,
    /// Seconds until it is credited, by the chain's usual block time (0 once credited).
    pub eta_s: u64,
}

/// The stage of a deposit mined in `block` when the head is `head`.
pub fn deposit_stage(block: u64, head: u64, required: u32, block_time_s: u64) -> DepositStage {
    // The including block is the first confirmation.
    let confirmations = if head >= block { head - block + 1 } else { 0 };
    let required = u64::from(required.max(1));
    let (status, eta_s) = if confirmations >= required {
        (store::wallet::deposit_status::CREDITED, 0)
    } else {
        let status = if confirmations <= 1 {
            store::wallet::deposit_status::DETECTED
        } else {
            store::wallet::deposit_status::CONFIRMING
        };
        (status, (required - confirmations) * block_time_s)
    };
    DepositStage {
        confirmations,
        status,
        eta_s,
    }
}

/// Seconds until a deposit with `confirmations` of `required` is credited.
pub fn eta_s(confirmations: i64, required: i64, block_time_s: u64) -> u64 {
    u64::try_from(required.saturating_sub(confirmations))
        .unwrap_or(0)
        .saturating_mul(block_time_s)
}

/// Why a withdrawal is refused, in the order the checks run. Each becomes the API's `code`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WithdrawalRefusal {
    /// No configured chain carries the asset.
    AssetNotWithdrawable,
    /// The amount has more precision than the chain can carry.
    InvalidAmount,
    AmountBelowMinimum {
        minimum: Amount,
    },
    /// One of our own deposit addresses: that would be an internal transfer.
    OwnDepositAddress,
    /// Withdrawals are paused after a security change.
    WithdrawalsLocked {
        until_ms: i64,
    },
    /// Allowlist mode and the address is not in the book.
    AddressNotInBook,
    /// In the book, but its time-lock has not passed.
    AddressTimeLocked {
        usable_from_ms: i64,
    },
    /// Allowlist mode is off: every withdrawal needs a fresh second factor.
    StepUpRequired,
    InsufficientFunds,
    DailyLimitExceeded {
        limit: Amount,
        used: Amount,
    },
}

impl WithdrawalRefusal {
    pub fn code(&self) -> &'static str {
        match self {
            WithdrawalRefusal::AssetNotWithdrawable => "asset_not_withdrawable",
            WithdrawalRefusal::InvalidAmount => "invalid_amount",
            WithdrawalRefusal::AmountBelowMinimum { .. } => "amount_below_minimum",
            WithdrawalRefusal::OwnDepositAddress => "own_deposit_address",
            WithdrawalRefusal::WithdrawalsLocked { .. } => "withdrawals_locked",
            WithdrawalRefusal::AddressNotInBook => "address_not_in_book",
            WithdrawalRefusal::AddressTimeLocked { .. } => "address_time_locked",
            WithdrawalRefusal::StepUpRequired => "step_up_required",
            WithdrawalRefusal::InsufficientFunds => "insufficient_funds",
            WithdrawalRefusal::DailyLimitExceeded { .. } => "daily_limit_exceeded",
        }
    }
}

/// What the withdrawal check looks at.
#[derive(Clone, Debug)]
pub struct WithdrawalFacts {
    pub now_ms: i64,
    pub amount: Amount,
    pub amount_representable: bool,
    pub is_own_deposit_address: bool,
    pub withdrawals_locked_until_ms: Option<i64>,
    pub allowlist: bool,
    /// When the address's book entry becomes usable; `None` when it is not in the book.
    pub book_entry_usable_from_ms: Option<i64>,
    pub stepped_up: bool,
}

/// The checks that need no ledger and no lock. Funds and the daily limit are checked when the
/// withdrawal is recorded and held.
pub fn check_withdrawal(
    asset: &AssetSettings,
    facts: &WithdrawalFacts,
) -> Result<(), WithdrawalRefusal> {
    if !facts.amount_representable || facts.amount.minor() <= 0 {
        return Err(WithdrawalRefusal::InvalidAmount);
    }
    if facts.amount < asset.min_withdrawal {
        return Err(WithdrawalRefusal::AmountBelowMinimum {
            minimum: asset.min_withdrawal,
        });
    }
    if facts.is_own_deposit_address {
        return Err(WithdrawalRefusal::OwnDepositAddress);
    }
    if let Some(until_ms) = facts
        .withdrawals_locked_until_ms
        .filter(|u| *u > facts.now_ms)
    {
        return Err(WithdrawalRefusal::WithdrawalsLocked { until_ms });
    }
    match (facts.allowlist, facts.book_entry_usable_from_ms) {
        (true, None) => return Err(WithdrawalRefusal::AddressNotInBook),
        (_, Some(usable_from_ms)) if usable_from_ms > facts.now_ms => {
            return Err(WithdrawalRefusal::AddressTimeLocked { usable_from_ms })
        }
        (false, None) if !facts.stepped_up => return Err(WithdrawalRefusal::StepUpRequired),
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chain::Token;
    use ledger::AssetCode;

    fn eth() -> AssetSettings {
        AssetSettings {
            code: AssetCode::parse("ETH").unwrap(),
            token: Token::Native,
            chain_decimals: 18,
            confirmations: 6,
            min_withdrawal: Amount::from_minor(10_000_000).unwrap(),
            withdrawal_fee: Amount::from_minor(1_000_000).unwrap(),
            daily_limit: Amount::from_minor(10_000_000_000).unwrap(),
            review_above: Amount::from_minor(5_000_000_000).unwrap(),
        }
    }

    fn fine() -> WithdrawalFacts {
        WithdrawalFacts {
            now_ms: 1_000_000,
            amount: Amount::from_minor(50_000_000).unwrap(),
            amount_representable: true,
            is_own_deposit_address: false,
            withdrawals_locked_until_ms: None,
            allowlist: true,
            book_entry_usable_from_ms: Some(999_999),
            stepped_up: false,
        }
    }

    #[test]
    fn a_deposit_is_detected_then_confirming_then_credited() {
        assert_eq!(
            deposit_stage(100, 100, 6, 12),
            DepositStage {
                confirmations: 1,
                status: "detected",
                eta_s: 60
            }
        );
        assert_eq!(deposit_stage(100, 104, 6, 12).status, "confirming");
        assert_eq!(deposit_stage(100, 104, 6, 12).eta_s, 12);
        assert_eq!(deposit_stage(100, 105, 6, 12).status, "credited");
        assert_eq!(deposit_stage(100, 105, 6, 12).eta_s, 0);
        // A head behind the block (a node that lags) counts nothing.
        assert_eq!(deposit_stage(100, 99, 6, 12).confirmations, 0);
        assert_eq!(eta_s(2, 6, 3), 12);
        assert_eq!(eta_s(9, 6, 3), 0);
    }

    #[test]
    fn a_withdrawal_to_a_usable_book_entry_passes() {
        assert_eq!(check_withdrawal(&eth(), &fine()), Ok(()));
    }

    #[test]
    fn each_refusal_has_its_reason_in_order() {
        let asset = eth();
        let check = |change: &dyn Fn(&mut WithdrawalFacts)| {
            let mut facts = fine();
            change(&mut facts);
            check_withdrawal(&asset, &facts).unwrap_err().code()
        };
        assert_eq!(check(&|f| f.amount_representable = false), "invalid_amount");
        assert_eq!(
            check(&|f| f.amount = Amount::from_minor(9_999_999).unwrap()),
            "amount_below_minimum"
        );
        assert_eq!(
            check(&|f| f.is_own_deposit_address = true),
            "own_deposit_address"
        );
        assert_eq!(
            check(&|f| f.withdrawals_locked_until_ms = Some(1_000_001)),
            "withdrawals_locked"
        );
        assert_eq!(
            check(&|f| f.book_entry_usable_from_ms = None),
            "address_not_in_book"
        );
        assert_eq!(
            check(&|f| f.book_entry_usable_from_ms = Some(1_000_001)),
            "address_time_locked"
        );
        // Allowlist off: a fresh second factor instead of the book.
        assert_eq!(
            check(&|f| {
                f.allowlist = false;
                f.book_entry_usable_from_ms = None;
            }),
            "step_up_required"
        );
        let mut off = fine();
        off.allowlist = false;
        off.book_entry_usable_from_ms = None;
        off.stepped_up = true;
        assert_eq!(check_withdrawal(&asset, &off), Ok(()));
        // A book entry still under its time-lock stays locked with the allowlist off too.
        off.book_entry_usable_from_ms = Some(2_000_000);
        assert_eq!(
            check_withdrawal(&asset, &off).unwrap_err().code(),
            "address_time_locked"
        );
        // An earlier reason wins over a later one.
        assert_eq!(
            check(&|f| {
                f.withdrawals_locked_until_ms = Some(2_000_000);
                f.book_entry_usable_from_ms = None;
            }),
            "withdrawals_locked"
        );
        // An expired lock is no lock.
        assert_eq!(
            check_withdrawal(
                &asset,
                &WithdrawalFacts {
                    withdrawals_locked_until_ms: Some(5),
                    ..fine()
                }
            ),
            Ok(())
        );
    }
}
