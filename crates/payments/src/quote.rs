//! Quote arithmetic: what a conversion of `from_amount` gives at a price, after our fee and
//! spread. Exact decimals throughout; every rounding favours neither side by more than one minor
//! unit and is written down: the fee rounds up, the amount received rounds down.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

/// A priced conversion, in minor units.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Priced {
    /// Our fee, in the source asset, taken from `from_amount`.
    pub fee: i64,
    /// What the customer receives in the target asset.
    pub to_amount: i64,
    /// Target units per source unit after the spread (what the customer gets per unit sold).
    pub rate: Decimal,
}

/// Why a conversion cannot be priced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PriceError {
    /// After the fee and rounding nothing would arrive.
    TooSmall,
    /// The numbers do not fit (absurd amount or price).
    Overflow,
}

/// Prices `from_minor` of an asset with `from_decimals`, worth `from_usd` each, into an asset
/// with `to_decimals` worth `to_usd`, keeping `fee_bps` of the amount as our fee and
/// `spread_bps` off the mid rate.
pub fn price(
    from_minor: i64,
    from_decimals: u8,
    from_usd: Decimal,
    to_decimals: u8,
    to_usd: Decimal,
    fee_bps: u32,
    spread_bps: u32,
) -> Result<Priced, PriceError> {
    if from_usd <= Decimal::ZERO || to_usd <= Decimal::ZERO || from_minor <= 0 {
        return Err(PriceError::Overflow);
    }
    let fee_i128 = (i128::from(from_minor) * i128::from(fee_bps) + 9_999) / 10_000;
    let fee = i64::try_from(fee_i128).map_err(|_| PriceError::Overflow)?;
    let net = from_minor - fee;
    if net <= 0 {
        return Err(PriceError::TooSmall);
    }
    // Multiply first, divide last: a quotient that is exact stays exact before the floor.
    let keep = Decimal::from(10_000u32.saturating_sub(spread_bps));
    let net_units = Decimal::new(net, u32::from(from_decimals));
    let scale = Decimal::from(10u64.pow(u32::from(to_decimals)));
    let numerator = net_units
        .checked_mul(from_usd)
        .and_then(|v| v.checked_mul(keep))
        .and_then(|v| v.checked_mul(scale))
        .ok_or(PriceError::Overflow)?;
    let denominator = to_usd
        .checked_mul(Decimal::from(10_000u32))
        .ok_or(PriceError::Overflow)?;
    let to_amount = numerator
        .checked_div(denominator)
        .ok_or(PriceError::Overflow)?
        .floor()
        .to_i64()
        .ok_or(PriceError::Overflow)?;
    let rate = from_usd
        .checked_mul(keep)
        .and_then(|v| v.checked_div(denominator))
        .ok_or(PriceError::Overflow)?;
    if to_amount <= 0 {
        return Err(PriceError::TooSmall);
    }
    Ok(Priced {
        fee,
        to_amount,
        // Ten significant digits are plenty to read; the amounts are computed exactly.
        rate: rate.round_sf(10).unwrap_or(rate).normalize(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn eth_to_usdt_keeps_fee_and_spread() {
        // 1 ETH (9 decimals) at 3000 USD into USDT (6 decimals) at 1 USD; fee 10 bps, spread
        // 50 bps: fee 0.001 ETH, net 0.999 ETH × 3000 × 0.995 = 2982.015 USDT.
        let p = price(1_000_000_000, 9, d("3000"), 6, d("1"), 10, 50).unwrap();
        assert_eq!(p.fee, 1_000_000);
        assert_eq!(p.to_amount, 2_982_015_000);
        assert_eq!(p.rate, d("2985"));
    }

    #[test]
    fn received_amount_rounds_down_and_fee_rounds_up() {
        // 1 minor unit of USDT at fee 10 bps: the fee rounds up to the whole unit.
        assert_eq!(
            price(1, 6, d("1"), 9, d("3000"), 10, 50),
            Err(PriceError::TooSmall)
        );
        // 7 USDT into ETH: 6.993 × (1/3000) × 0.995 = 0.00231934… ETH → 2319345 gwei-units
        // (9 decimals) rounded down.
        let p = price(7_000_000, 6, d("1"), 9, d("3000"), 10, 50).unwrap();
        assert_eq!(p.fee, 7_000);
        assert_eq!(p.to_amount, 2_319_345);
    }

    #[test]
    fn nothing_for_free_and_no_overflow_panics() {
        assert!(price(i64::MAX, 0, d("1000000000000"), 18, d("0.000001"), 0, 0).is_err());
        assert!(price(100, 2, d("0"), 2, d("1"), 0, 0).is_err());
        assert!(price(0, 2, d("1"), 2, d("1"), 0, 0).is_err());
    }

    #[test]
    fn a_round_trip_always_loses_a_little() {
        for amount in [1_000_i64, 123_456_789, 5_000_000_000] {
            let there = price(amount, 6, d("1"), 9, d("2999.37"), 10, 50).unwrap();
            let back = price(there.to_amount, 9, d("2999.37"), 6, d("1"), 10, 50).unwrap();
            assert!(
                back.to_amount < amount,
                "{amount} came back as {}",
                back.to_amount
            );
        }
    }
}
