//! A wallet on a fresh database and a simulated chain, with helpers to read what it did.

use std::sync::Arc;
use std::time::Duration;

use chain::sim::{SimChain, SimConfig};
use chain::{Address, Chain, Token};
use identity::{Email, Role};
use ledger::{Amount, AssetCode};
use store::accounts::{system_account_id, user_account_id, AccountKind};
use store::users::User;
use store::writer::{Ledger, WriterConfig};
use testkit::{Backend, TestDb};
use wallet::{AssetSettings, ChainRuntime, ChainSettings, Wallet};

pub const ETH_WEI: u128 = 1_000_000_000_000_000_000;
/// One ETH in ledger units (9 decimals).
pub const ETH: i64 = 1_000_000_000;

pub fn usdt_contract() -> Address {
    Address([0x05; 20])
}

pub fn asset(code: &str) -> AssetCode {
    AssetCode::parse(code).unwrap()
}

pub fn settings() -> ChainSettings {
    ChainSettings {
        id: "ethereum".into(),
        block_time_s: 12,
        stuck_after_s: 3600,
        max_fee_per_gas_cap: 500_000_000_000,
        scan_blocks_max: 500,
        assets: vec![
            AssetSettings {
                code: asset("ETH"),
                token: Token::Native,
                chain_decimals: 18,
                confirmations: 3,
                min_withdrawal: Amount::from_minor(ETH / 100).unwrap(),
                withdrawal_fee: Amount::from_minor(ETH / 1000).unwrap(),
                daily_limit: Amount::from_minor(10 * ETH).unwrap(),
                review_above: Amount::from_minor(5 * ETH).unwrap(),
            },
            AssetSettings {
                code: asset("USDT"),
                token: Token::Erc20(usdt_contract()),
                chain_decimals: 6,
                confirmations: 2,
                min_withdrawal: Amount::from_minor(1_000_000).unwrap(),
                withdrawal_fee: Amount::from_minor(500_000).unwrap(),
                daily_limit: Amount::from_minor(100_000_000_000).unwrap(),
                review_above: Amount::from_minor(50_000_000_000).unwrap(),
            },
        ],
    }
}

pub struct World {
    pub t: TestDb,
    pub ledger: Ledger,
    pub sim: Arc<SimChain>,
    pub wallet: Wallet,
    pub seed_bytes: Vec<u8>,
}

impl World {
    pub async fn new(backend: Backend, seed: u64) -> World {
        Self::with(backend, seed, settings()).await
    }

    pub async fn with(backend: Backend, seed: u64, settings: ChainSettings) -> World {
        let t = TestDb::new(backend).await;
        let ledger = Ledger::start(t.db.clone(), WriterConfig::default(), None)
            .await
            .unwrap();
        let sim = Arc::new(SimChain::new(SimConfig {
            seed,
            block_time: Duration::from_secs(12),
            ..SimConfig::default()
        }));
        let seed_bytes = vec![seed as u8 ^ 0x5a; 64];
        let wallet = make_wallet(&t, &ledger, &sim, &seed_bytes, settings);
        World {
            t,
            ledger,
            sim,
            wallet,
            seed_bytes,
        }
    }

    /// The same database and chain, a new wallet: what a restarted server has.
    pub fn restart(&mut self) {
        self.wallet = make_wallet(
            &self.t,
            &self.ledger,
            &self.sim,
            &self.seed_bytes,
            settings(),
        );
    }

    pub async fn user(&self, name: &str) -> User {
        self.t
            .db
            .create_user(
                &Email::parse(&format!("{name}@example.com")).unwrap(),
                "unused-hash",
                Role::User,
                "en",
            )
            .await
            .unwrap()
    }

    pub async fn deposit_address(&self, user: &User, code: &str) -> Address {
        match self
            .wallet
            .deposit_address(&user.id, &asset(code))
            .await
            .unwrap()
        {
            wallet::AddressAnswer::Address { address, .. } => address,
            other => panic!("no address: {other:?}"),
        }
    }

    /// Mines `blocks` and lets the wallet look after each.
    pub async fn mine(&self, blocks: u64) {
        for _ in 0..blocks {
            self.sim.mine(1);
            self.wallet.tick().await.unwrap();
        }
    }

    pub async fn available(&self, user: &User, code: &str) -> i64 {
        self.t
            .db
            .account(&user_account_id(&user.id, &asset(code)))
            .await
            .unwrap()
            .map_or(0, |a| a.available())
    }

    pub async fn held(&self, user: &User, code: &str) -> i64 {
        self.t
            .db
            .account(&user_account_id(&user.id, &asset(code)))
            .await
            .unwrap()
            .map_or(0, |a| a.debits_pending)
    }

    pub async fn system(&self, kind: AccountKind, code: &str) -> ledger::Account {
        self.t
            .db
            .account(&system_account_id(kind, &asset(code)))
            .await
            .unwrap()
            .unwrap()
    }

    pub async fn assert_ledger_verifies(&self) {
        let report = self.t.db.verify_ledger().await.unwrap();
        assert!(
            report.discrepancies.is_empty(),
            "ledger verify: {:?}",
            report.discrepancies
        );
    }

    pub fn hot(&self) -> Address {
        self.wallet.hot_wallet_address()
    }

    pub async fn chain_balance(&self, owner: Address, token: Token) -> u128 {
        self.sim.balance(owner, token).await.unwrap()
    }
}

fn make_wallet(
    t: &TestDb,
    ledger: &Ledger,
    sim: &Arc<SimChain>,
    seed_bytes: &[u8],
    settings: ChainSettings,
) -> Wallet {
    let runtime = ChainRuntime {
        settings,
        chain: sim.clone(),
        sim: Some(sim.clone()),
    };
    let mut wallet = Wallet::new(
        t.db.clone(),
        ledger.clone(),
        chain::hd::Seed::from_bytes(seed_bytes).unwrap(),
        vec![runtime],
        0,
    )
    .unwrap();
    wallet.address_lock_ms = 0;
    wallet
}
