//! Assets: a code such as `ETH` and the number of decimals the ledger keeps for it.

use std::fmt;

/// An asset's ticker: 2 to 12 characters of `A-Z` and `0-9`, starting with a letter.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AssetCode(String);

impl AssetCode {
    /// Parses a code, upper-casing it first so `eth` and `ETH` are the same asset.
    pub fn parse(text: &str) -> Option<AssetCode> {
        let code = text.trim().to_ascii_uppercase();
        let ok = (2..=12).contains(&code.len())
            && code.starts_with(|c: char| c.is_ascii_uppercase())
            && code
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        ok.then_some(AssetCode(code))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AssetCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An asset as the ledger sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Asset {
    pub code: AssetCode,
    /// Fractional digits the ledger keeps; at most 18 so that 10^decimals fits an i64.
    pub decimals: u8,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_normalised_and_checked() {
        assert_eq!(AssetCode::parse("eth").unwrap().as_str(), "ETH");
        assert_eq!(AssetCode::parse("USDT").unwrap().as_str(), "USDT");
        for bad in ["", "E", "1INCH", "US-D", "ÉTH", "ABCDEFGHIJKLM"] {
            assert!(AssetCode::parse(bad).is_none(), "{bad}");
        }
    }
}
