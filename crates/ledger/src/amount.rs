//! Amounts in an asset's minor units, and the one place where decimal strings and on-chain
//! integers become ledger amounts.
//!
//! An [`Amount`] is a non-negative `i64` count of the asset's smallest ledger unit. Arithmetic is
//! checked: an overflow is a result the caller must handle, never a wrap and never a clamp.

use std::fmt;

/// A non-negative quantity of an asset in its ledger minor units (`amount_minor`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount(i64);

/// Why a decimal string or chain integer could not become an [`Amount`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("not a decimal number")]
    NotDecimal,
    #[error("negative amounts are not allowed here")]
    Negative,
    #[error("more than {decimals} decimal places")]
    TooManyDecimals { decimals: u8 },
    #[error("amount is too large")]
    Overflow,
}

impl Amount {
    pub const ZERO: Amount = Amount(0);
    pub const MAX: Amount = Amount(i64::MAX);

    /// Builds an amount from minor units; `None` when negative.
    pub fn from_minor(minor: i64) -> Option<Amount> {
        (minor >= 0).then_some(Amount(minor))
    }

    pub fn minor(self) -> i64 {
        self.0
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    pub fn checked_add(self, other: Amount) -> Option<Amount> {
        self.0.checked_add(other.0).map(Amount)
    }

    pub fn checked_sub(self, other: Amount) -> Option<Amount> {
        self.0.checked_sub(other.0).and_then(Amount::from_minor)
    }

    /// Parses a plain decimal string such as `"0.015"` with at most `decimals` fractional digits.
    ///
    /// No exponent, no sign, no thousands separators, no surrounding spaces: amounts arrive as
    /// strings precisely so that nothing is guessed. More fractional digits than the asset allows
    /// is an error, never a rounding.
    pub fn parse_decimal(text: &str, decimals: u8) -> Result<Amount, AmountError> {
        if text.starts_with('-') {
            return Err(AmountError::Negative);
        }
        let (whole, fraction) = match text.split_once('.') {
            Some((w, f)) => (w, Some(f)),
            None => (text, None),
        };
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !all_digits(whole) {
            return Err(AmountError::NotDecimal);
        }
        let fraction = fraction.unwrap_or("");
        if text.contains('.') && fraction.is_empty() || !all_digits(fraction) {
            return Err(AmountError::NotDecimal);
        }
        let significant = fraction.trim_end_matches('0');
        if significant.len() > usize::from(decimals) {
            return Err(AmountError::TooManyDecimals { decimals });
        }
        let scale = pow10(decimals).ok_or(AmountError::Overflow)?;
        let mut whole_value: i64 = 0;
        for b in whole.bytes() {
            whole_value = whole_value
                .checked_mul(10)
                .and_then(|v| v.checked_add(i64::from(b - b'0')))
                .ok_or(AmountError::Overflow)?;
        }
        let mut fraction_value: i64 = 0;
        for i in 0..usize::from(decimals) {
            let digit = significant
                .as_bytes()
                .get(i)
                .map_or(0, |b| i64::from(b - b'0'));
            fraction_value = fraction_value * 10 + digit;
        }
        whole_value
            .checked_mul(scale)
            .and_then(|v| v.checked_add(fraction_value))
            .map(Amount)
            .ok_or(AmountError::Overflow)
    }

    /// Formats as a decimal string without trailing zeros: 15_000_000 at 9 decimals is `"0.015"`.
    pub fn to_decimal_string(self, decimals: u8) -> String {
        let scale = pow10(decimals).expect("asset decimals are validated to fit an i64");
        let whole = self.0 / scale;
        let fraction = self.0 % scale;
        if fraction == 0 {
            return whole.to_string();
        }
        let digits = format!("{:0width$}", fraction, width = usize::from(decimals));
        format!("{whole}.{}", digits.trim_end_matches('0'))
    }

    /// Converts an on-chain integer (e.g. wei, 18 decimals) into ledger units (e.g. 9 decimals).
    ///
    /// Truncating by design: the returned remainder is the dust, in chain units, that the ledger
    /// cannot represent and that the caller must account for explicitly.
    pub fn from_chain_units(
        raw: u128,
        chain_decimals: u8,
        ledger_decimals: u8,
    ) -> Result<(Amount, u128), AmountError> {
        let (ledger_units, dust) = if chain_decimals >= ledger_decimals {
            let divisor = 10u128
                .checked_pow(u32::from(chain_decimals - ledger_decimals))
                .ok_or(AmountError::Overflow)?;
            (raw / divisor, raw % divisor)
        } else {
            let factor = 10u128
                .checked_pow(u32::from(ledger_decimals - chain_decimals))
                .ok_or(AmountError::Overflow)?;
            (raw.checked_mul(factor).ok_or(AmountError::Overflow)?, 0)
        };
        let minor = i64::try_from(ledger_units).map_err(|_| AmountError::Overflow)?;
        Ok((Amount(minor), dust))
    }

    /// Converts ledger units back into on-chain units; exact, since chain units are finer or equal.
    pub fn to_chain_units(self, chain_decimals: u8, ledger_decimals: u8) -> Option<u128> {
        let minor = u128::try_from(self.0).ok()?;
        if chain_decimals >= ledger_decimals {
            minor.checked_mul(10u128.checked_pow(u32::from(chain_decimals - ledger_decimals))?)
        } else {
            let divisor = 10u128.checked_pow(u32::from(ledger_decimals - chain_decimals))?;
            (minor % divisor == 0).then(|| minor / divisor)
        }
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// 10^decimals as an i64, or `None` when it does not fit (more than 18 decimals).
pub fn pow10(decimals: u8) -> Option<i64> {
    10i64.checked_pow(u32::from(decimals))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats_decimal_strings() {
        assert_eq!(Amount::parse_decimal("0.015", 9), Ok(Amount(15_000_000)));
        assert_eq!(Amount::parse_decimal("12", 6), Ok(Amount(12_000_000)));
        assert_eq!(Amount::parse_decimal("1.50", 1), Ok(Amount(15)));
        assert_eq!(Amount::parse_decimal("0", 8), Ok(Amount(0)));
        assert_eq!(Amount(15_000_000).to_decimal_string(9), "0.015");
        assert_eq!(Amount(12_000_000).to_decimal_string(6), "12");
        assert_eq!(Amount(1).to_decimal_string(8), "0.00000001");
        assert_eq!(Amount(5).to_decimal_string(0), "5");
    }

    #[test]
    fn refuses_what_it_cannot_represent_exactly() {
        assert_eq!(
            Amount::parse_decimal("0.0000001", 6),
            Err(AmountError::TooManyDecimals { decimals: 6 })
        );
        for bad in [
            "", ".", "1.", ".5", "1e5", " 1", "1,000", "+1", "0x10", "1.2.3", "١",
        ] {
            assert_eq!(
                Amount::parse_decimal(bad, 6),
                Err(AmountError::NotDecimal),
                "{bad:?}"
            );
        }
        assert_eq!(Amount::parse_decimal("-1", 6), Err(AmountError::Negative));
        assert_eq!(
            Amount::parse_decimal("9223372036854775808", 0),
            Err(AmountError::Overflow)
        );
        assert_eq!(
            Amount::parse_decimal("9300000000", 9),
            Err(AmountError::Overflow)
        );
    }

    #[test]
    fn round_trips_every_representable_shape() {
        for decimals in [0u8, 1, 6, 8, 9, 18] {
            for minor in [0i64, 1, 9, 10, 123_456_789, i64::MAX] {
                let text = Amount(minor).to_decimal_string(decimals);
                assert_eq!(
                    Amount::parse_decimal(&text, decimals),
                    Ok(Amount(minor)),
                    "{text}"
                );
            }
        }
    }

    #[test]
    fn chain_units_truncate_and_report_dust() {
        // 1.234567891234567891 ETH in wei, into 9 ledger decimals.
        let wei = 1_234_567_891_234_567_891u128;
        assert_eq!(
            Amount::from_chain_units(wei, 18, 9),
            Ok((Amount(1_234_567_891), 234_567_891))
        );
        assert_eq!(
            Amount(1_234_567_891).to_chain_units(18, 9),
            Some(1_234_567_891_000_000_000)
        );
        assert_eq!(Amount::from_chain_units(5, 6, 6), Ok((Amount(5), 0)));
        assert_eq!(
            Amount::from_chain_units(u128::MAX, 18, 9),
            Err(AmountError::Overflow)
        );
        assert_eq!(Amount::from_chain_units(7, 2, 4), Ok((Amount(700), 0)));
        assert_eq!(Amount(701).to_chain_units(2, 4), None);
    }

    #[test]
    fn arithmetic_is_checked() {
        assert_eq!(Amount::MAX.checked_add(Amount(1)), None);
        assert_eq!(Amount(1).checked_sub(Amount(2)), None);
        assert_eq!(Amount::from_minor(-1), None);
    }
}
