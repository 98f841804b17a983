//! What the operator configures per chain and per asset. Amounts are in the asset's ledger
//! units; `okwallet` reads them from its configuration file, the demo and tests build them here.

use chain::Token;
use ledger::{Amount, AssetCode};

/// One chain.
#[derive(Clone, Debug)]
pub struct ChainSettings {
    /// The chain's name as assets name it (`ethereum`).
    pub id: String,
    /// The usual time between blocks, for ETAs.
    pub block_time_s: u64,
    /// A transaction not mined this long after it was sent gets a higher fee.
    pub stuck_after_s: u64,
    /// Never bid more than this per gas unit (wei), however stuck a transaction is.
    pub max_fee_per_gas_cap: u128,
    /// How many blocks the watcher scans in one round at most.
    pub scan_blocks_max: u64,
    pub assets: Vec<AssetSettings>,
}

/// One asset on a chain.
#[derive(Clone, Debug)]
pub struct AssetSettings {
    pub code: AssetCode,
    /// The native coin or a token contract.
    pub token: Token,
    /// Decimals on the chain (18 for ETH; a token's own `decimals`).
    pub chain_decimals: u8,
    /// Blocks (the including block counts as one) before a deposit is credited or a withdrawal
    /// counts as final.
    pub confirmations: u32,
    pub min_withdrawal: Amount,
    /// Our fee per withdrawal, charged on top of the amount.
    pub withdrawal_fee: Amount,
    /// Most a user may withdraw (amounts plus fees) in 24 hours.
    pub daily_limit: Amount,
    /// Withdrawals above this wait for a supervisor.
    pub review_above: Amount,
}

impl ChainSettings {
    /// The most confirmations any of the chain's assets needs.
    pub fn confirmations_max(&self) -> u32 {
        self.assets
            .iter()
            .map(|a| a.confirmations)
            .max()
            .unwrap_or(1)
    }

    /// The token contracts the watcher asks the chain about.
    pub fn token_contracts(&self) -> Vec<chain::Address> {
        self.assets
            .iter()
            .filter_map(|a| match a.token {
                Token::Erc20(contract) => Some(contract),
                Token::Native => None,
            })
            .collect()
    }

    /// The native asset of the chain (it pays the gas).
    pub fn native(&self) -> Option<&AssetSettings> {
        self.assets.iter().find(|a| a.token == Token::Native)
    }
}

/// The demo's chain: ETH and a USDT-like token on a simulated `ethereum`, with short blocks and
/// few confirmations so that a deposit is credited within half a minute.
pub fn demo_chain(block_time_s: u64) -> ChainSettings {
    let eth = |text: &str| Amount::parse_decimal(text, 9).expect("a valid ETH amount");
    let usdt = |text: &str| Amount::parse_decimal(text, 6).expect("a valid USDT amount");
    ChainSettings {
        id: "ethereum".into(),
        block_time_s,
        stuck_after_s: 60,
        max_fee_per_gas_cap: 500_000_000_000,
        scan_blocks_max: 500,
        assets: vec![
            AssetSettings {
                code: AssetCode::parse("ETH").expect("a valid code"),
                token: Token::Native,
                chain_decimals: 18,
                confirmations: 6,
                min_withdrawal: eth("0.001"),
                withdrawal_fee: eth("0.0005"),
                daily_limit: eth("50"),
                review_above: eth("10"),
            },
            AssetSettings {
                code: AssetCode::parse("USDT").expect("a valid code"),
                token: Token::Erc20(sim_usdt_contract()),
                chain_decimals: 6,
                confirmations: 3,
                min_withdrawal: usdt("1"),
                withdrawal_fee: usdt("1"),
                daily_limit: usdt("100000"),
                review_above: usdt("20000"),
            },
        ],
    }
}

/// The simulated chain's USDT contract: an address no real chain uses (…5eed).
pub fn sim_usdt_contract() -> chain::Address {
    let mut bytes = [0u8; 20];
    bytes[18] = 0x5e;
    bytes[19] = 0xed;
    chain::Address(bytes)
}
