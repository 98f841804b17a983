//! The wallet's scenarios against a real `anvil` node (`chain::evm::EvmChain`), on SQLite and
//! PostgreSQL: the same stories as `sim.rs`, with real transactions, a real ERC-20 contract,
//! anvil's own reorganisations and the node's own refusals. Each test starts its own node, which
//! mines only when the test says so; the wallet looks after every block, as the sim harness's
//! `mine` does.

use std::sync::Arc;

use chain::evm::EvmChain;
use chain::{Address, Token};
use ledger::Amount;
use store::accounts::AccountKind;
use store::users::User;
use store::wallet::{Deposit, Withdrawal};
use store::writer::{Ledger, WriterConfig};
use testkit::{both_backends, Backend, TestDb};
use wallet::{ChainRuntime, ChainSettings, Wallet, WithdrawalRequest};

use crate::anvil_node::{dev_address, Anvil};
use crate::harness::{asset, settings, ETH, ETH_WEI};

/// The test token's whole supply (1 000 000 tokens of 6 decimals), minted to the dev account.
const TOKEN_SUPPLY: u128 = 1_000_000_000_000;
/// One token in its (and the ledger's) units.
const USDT: i64 = 1_000_000;

fn outside() -> Address {
    Address([0x77; 20])
}

/// A wallet on a fresh database and a fresh anvil with the test token deployed as USDT.
struct AnvilWorld {
    t: TestDb,
    ledger: Ledger,
    node: Anvil,
    usdt: Address,
    wallet: Wallet,
    seed_bytes: Vec<u8>,
}

impl AnvilWorld {
    /// `None` when anvil is not installed (and slow tests are off): the test is skipped.
    async fn new(backend: Backend, seed: u8) -> Option<AnvilWorld> {
        let node = Anvil::start().await?;
        let usdt = node.deploy_token(TOKEN_SUPPLY).await;
        let t = TestDb::new(backend).await;
        let ledger = Ledger::start(t.db.clone(), WriterConfig::default(), None)
            .await
            .unwrap();
        let seed_bytes = vec![seed ^ 0xa5; 64];
        let wallet = make_wallet(&t, &ledger, node.url(), usdt, &seed_bytes).await;
        Some(AnvilWorld {
            t,
            ledger,
            node,
            usdt,
            wallet,
            seed_bytes,
        })
    }

    /// The same database and node, a new wallet (and a new connection): a restarted server.
    async fn restart(&mut self) {
        self.wallet = make_wallet(
            &self.t,
            &self.ledger,
            self.node.url(),
            self.usdt,
            &self.seed_bytes,
        )
        .await;
    }

    async fn user(&self, name: &str) -> User {
        self.t
            .db
            .create_user(
                &identity::Email::parse(&format!("{name}@example.com")).unwrap(),
                "unused-hash",
                identity::Role::User,
                "en",
            )
            .await
            .unwrap()
    }

    async fn deposit_address(&self, user: &User, code: &str) -> Address {
        match self
            .wallet
            .deposit_address(&user.id, &asset(code))
            .await
            .unwrap()
        {
            wallet::AddressAnswer::Address {
                address, simulated, ..
            } => {
                assert!(!simulated, "anvil is a real chain to the wallet");
                address
            }
            other => panic!("no address: {other:?}"),
        }
    }

    /// Mines `blocks` blocks one at a time and lets the wallet look after each.
    async fn mine(&self, blocks: u64) {
        for _ in 0..blocks {
            self.node.mine(1).await;
            self.wallet.tick().await.unwrap();
        }
    }

    async fn available(&self, user: &User, code: &str) -> i64 {
        self.t
            .db
            .account(&store::accounts::user_account_id(&user.id, &asset(code)))
            .await
            .unwrap()
            .map_or(0, |a| a.available())
    }

    async fn held(&self, user: &User, code: &str) -> i64 {
        self.t
            .db
            .account(&store::accounts::user_account_id(&user.id, &asset(code)))
            .await
            .unwrap()
            .map_or(0, |a| a.debits_pending)
    }

    async fn system(&self, kind: AccountKind, code: &str) -> ledger::Account {
        self.t
            .db
            .account(&store::accounts::system_account_id(kind, &asset(code)))
            .await
            .unwrap()
            .unwrap()
    }

    async fn assert_ledger_verifies(&self) {
        let report = self.t.db.verify_ledger().await.unwrap();
        assert!(
            report.discrepancies.is_empty(),
            "ledger verify: {:?}",
            report.discrepancies
        );
    }

    fn hot(&self) -> Address {
        self.wallet.hot_wallet_address()
    }

    async fn deposits(&self, user: &User) -> Vec<Deposit> {
        self.t.db.deposits_of(&user.id, 100, None).await.unwrap()
    }

    async fn withdrawal(&self, id: &str) -> Withdrawal {
        self.t.db.withdrawal(id).await.unwrap().unwrap()
    }

    /// Sends `eth` whole ether to the user's deposit address and mines until it is credited.
    async fn fund(&self, user: &User, eth: u32) {
        let address = self.deposit_address(user, "ETH").await;
        let before = self.available(user, "ETH").await;
        self.node.send_eth(address, u128::from(eth) * ETH_WEI).await;
        self.mine(3).await;
        assert_eq!(
            self.available(user, "ETH").await,
            before + i64::from(eth) * ETH
        );
    }

    async fn book(&self, user: &User, to: Address) {
        self.wallet
            .add_book_address(&user.id, &asset("ETH"), to, "cold storage")
            .await
            .unwrap()
            .unwrap();
    }

    async fn withdraw(
        &self,
        user: &User,
        code: &str,
        amount: i64,
        to: Address,
    ) -> Result<Withdrawal, wallet::WithdrawalRefusal> {
        let user = self.t.db.user_by_id(&user.id).await.unwrap().unwrap();
        let decimals = if code == "ETH" { 9 } else { 6 };
        self.wallet
            .request_withdrawal(
                &user,
                &WithdrawalRequest {
                    asset: asset(code),
                    address: to,
                    amount: Amount::from_minor(amount).unwrap(),
                    stepped_up: false,
                },
                decimals,
            )
            .await
            .unwrap()
    }
}

/// The harness's settings with USDT at the deployed test token.
fn anvil_settings(usdt: Address) -> ChainSettings {
    let mut settings = settings();
    for a in &mut settings.assets {
        if a.code.as_str() == "USDT" {
            a.token = Token::Erc20(usdt);
        }
    }
    settings
}

async fn make_wallet(
    t: &TestDb,
    ledger: &Ledger,
    url: &str,
    usdt: Address,
    seed_bytes: &[u8],
) -> Wallet {
    let runtime = ChainRuntime {
        settings: anvil_settings(usdt),
        chain: Arc::new(EvmChain::connect(url).await.unwrap()),
        sim: None,
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

both_backends!(
    an_eth_deposit_on_anvil_is_credited_after_its_confirmations_and_once,
    |backend| async move {
        let Some(w) = AnvilWorld::new(backend, 1).await else {
            return;
        };
        let alice = w.user("alice").await;
        let address = w.deposit_address(&alice, "ETH").await;
        w.wallet.tick().await.unwrap();
        let tx = w.node.send_eth(address, 3 * ETH_WEI / 2).await;
        // In the mempool only: nothing to see yet.
        w.wallet.tick().await.unwrap();
        assert!(
            w.deposits(&alice).await.is_empty(),
            "not before it is mined"
        );

        w.mine(1).await;
        let seen = w.deposits(&alice).await;
        assert_eq!(seen.len(), 1);
        assert_eq!(
            (
                seen[0].status.as_str(),
                seen[0].confirmations,
                seen[0].amount,
                seen[0].log_index,
                seen[0].simulated
            ),
            ("detected", 1, 3 * ETH / 2, -1, false)
        );
        assert_eq!(seen[0].tx_hash, tx.to_string());
        assert_eq!(seen[0].from_address, dev_address().to_lowercase_hex());
        assert_eq!(seen[0].amount_raw, (3 * ETH_WEI / 2).to_string());
        assert_eq!(w.available(&alice, "ETH").await, 0);
        w.mine(1).await;
        let waiting = w.deposits(&alice).await;
        assert_eq!(
            (waiting[0].status.as_str(), waiting[0].confirmations),
            ("confirming", 2)
        );
        assert_eq!(
            w.available(&alice, "ETH").await,
            0,
            "not at N-1 = 2 confirmations"
        );
        w.mine(1).await;
        let done = w.deposits(&alice).await;
        assert_eq!(
            (done[0].status.as_str(), done[0].confirmations),
            ("credited", 3)
        );
        assert_eq!(w.available(&alice, "ETH").await, 3 * ETH / 2, "at N = 3");
        w.mine(5).await;
        assert_eq!(
            w.available(&alice, "ETH").await,
            3 * ETH / 2,
            "credited once"
        );
        assert_eq!(w.deposits(&alice).await.len(), 1);
        assert_eq!(
            w.system(AccountKind::Custody, "ETH").await.debits_posted,
            3 * ETH / 2
        );
        assert_eq!(w.node.balance(address).await, 3 * ETH_WEI / 2);
        w.assert_ledger_verifies().await;
    }
);

both_backends!(
    an_erc20_deposit_on_anvil_is_credited_with_its_log_index,
    |backend| async move {
        let Some(w) = AnvilWorld::new(backend, 2).await else {
            return;
        };
        let alice = w.user("alice").await;
        let address = w.deposit_address(&alice, "USDT").await;
        w.wallet.tick().await.unwrap();
        let tx = w.node.send_token(w.usdt, address, 25_500_000).await;
        w.mine(1).await;
        let seen = w.deposits(&alice).await;
        assert_eq!(seen.len(), 1);
        assert_eq!(
            (
                seen[0].asset.as_str(),
                seen[0].status.as_str(),
                seen[0].amount
            ),
            ("USDT", "detected", 25_500_000)
        );
        assert_eq!(w.available(&alice, "USDT").await, 0, "not before 2");
        // The log index the node gives the Transfer event.
        let receipt = w.node.receipt(tx).await;
        let logs = receipt["logs"].as_array().unwrap();
        assert_eq!(logs.len(), 1, "{receipt}");
        let log_index = i64::from_str_radix(
            logs[0]["logIndex"]
                .as_str()
                .unwrap()
                .trim_start_matches("0x"),
            16,
        )
        .unwrap();
        assert_eq!(seen[0].log_index, log_index);
        assert_eq!(seen[0].log_index, 0, "the block's only log");
        assert_eq!(seen[0].tx_hash, tx.to_string());
        assert_eq!(
            seen[0].ledger_transfer_id,
            format!("dep:ethereum:{tx}:{log_index}")
        );

        w.mine(1).await;
        let done = w.deposits(&alice).await;
        assert_eq!(
            (done[0].status.as_str(), done[0].confirmations),
            ("credited", 2)
        );
        assert_eq!(w.available(&alice, "USDT").await, 25_500_000);
        assert_eq!(w.available(&alice, "ETH").await, 0);
        w.mine(3).await;
        assert_eq!(w.available(&alice, "USDT").await, 25_500_000, "once");
        assert_eq!(w.node.token_balance(w.usdt, address).await, 25_500_000);
        w.assert_ledger_verifies().await;
    }
);

both_backends!(
    a_deposit_reorganised_away_on_anvil_is_never_credited,
    |backend| async move {
        let Some(w) = AnvilWorld::new(backend, 3).await else {
            return;
        };
        let alice = w.user("alice").await;
        let address = w.deposit_address(&alice, "ETH").await;
        w.wallet.tick().await.unwrap();
        let tx = w.node.send_eth(address, ETH_WEI).await;
        w.mine(2).await;
        let before = w.deposits(&alice).await;
        assert_eq!(
            (before[0].status.as_str(), before[0].confirmations),
            ("confirming", 2)
        );
        let deposit_block = u64::try_from(before[0].block_number).unwrap();
        let head = w.node.head().await;
        assert_eq!(head, deposit_block + 1);
        // Both blocks since the deposit's parent replaced by empty ones, nothing re-sent.
        w.node.reorg(2).await;
        assert_eq!(w.node.head().await, head, "as many blocks as before");
        assert!(w.node.receipt(tx).await.is_null(), "the deposit is gone");
        // The replacement is as high as the chain was: the watcher, which finds a fork by the
        // parent hash of the next block it scans, has nothing new to scan yet. The deposit's
        // block no longer matches, so it is left alone: not advanced, not credited.
        w.wallet.tick().await.unwrap();
        let stale = w.deposits(&alice).await;
        assert_eq!(
            (stale[0].status.as_str(), stale[0].confirmations),
            ("confirming", 2)
        );
        assert_eq!(w.available(&alice, "ETH").await, 0);
        // The next block's parent is the new fork's: the watcher unwinds and orphans it.
        w.mine(1).await;
        assert_eq!(w.deposits(&alice).await[0].status, "orphaned");
        w.mine(10).await;
        let gone = w.deposits(&alice).await;
        assert_eq!(gone.len(), 1, "{gone:?}");
        assert_eq!(gone[0].status, "orphaned");
        assert!(
            w.node.receipt(tx).await.is_null(),
            "anvil did not mine the reorganised transaction again"
        );
        assert_eq!(w.node.balance(address).await, 0);
        assert_eq!(w.available(&alice, "ETH").await, 0);
        assert_eq!(w.system(AccountKind::Custody, "ETH").await.debits_posted, 0);
        w.assert_ledger_verifies().await;
    }
);

both_backends!(
    a_restarted_watcher_on_anvil_resumes_without_crediting_twice,
    |backend| async move {
        let Some(mut w) = AnvilWorld::new(backend, 4).await else {
            return;
        };
        let alice = w.user("alice").await;
        let address = w.deposit_address(&alice, "ETH").await;
        w.wallet.tick().await.unwrap();
        w.node.send_eth(address, 2 * ETH_WEI).await;
        w.mine(2).await;
        w.restart().await;
        // Blocks mined while the server was down are scanned when it is back.
        w.node.send_eth(address, ETH_WEI).await;
        w.node.mine(5).await;
        w.wallet.tick().await.unwrap();
        let both = w.deposits(&alice).await;
        assert_eq!(both.len(), 2);
        assert!(both.iter().all(|d| d.status == "credited"), "{both:?}");
        w.restart().await;
        w.mine(3).await;
        assert_eq!(w.available(&alice, "ETH").await, 3 * ETH);
        assert_eq!(w.deposits(&alice).await.len(), 2);
        assert_eq!(
            w.system(AccountKind::Custody, "ETH").await.debits_posted,
            3 * ETH
        );
        w.assert_ledger_verifies().await;
    }
);

both_backends!(
    a_withdrawal_on_anvil_is_signed_mined_and_completed,
    |backend| async move {
        let Some(w) = AnvilWorld::new(backend, 5).await else {
            return;
        };
        let hot_start = 100 * ETH_WEI;
        w.node.set_balance(w.hot(), hot_start).await;
        let alice = w.user("alice").await;
        w.fund(&alice, 2).await;
        assert_eq!(
            w.withdraw(&alice, "ETH", ETH, outside())
                .await
                .unwrap_err()
                .code(),
            "address_not_in_book"
        );
        w.book(&alice, outside()).await;
        let wd = w.withdraw(&alice, "ETH", ETH, outside()).await.unwrap();
        assert_eq!(wd.status, "requested");
        assert_eq!(w.held(&alice, "ETH").await, ETH + ETH / 1000);
        w.wallet.tick().await.unwrap();
        let sent = w.withdrawal(&wd.id).await;
        assert_eq!((sent.status.as_str(), sent.nonce), ("broadcast", Some(0)));
        assert_eq!(w.node.pending_count().await, 1, "in anvil's mempool");
        // Resent every round while it waits: anvil knows it already, nothing changes.
        w.wallet.tick().await.unwrap();
        assert_eq!(w.withdrawal(&wd.id).await.status, "broadcast");
        w.mine(1).await;
        assert_eq!(w.withdrawal(&wd.id).await.status, "confirming");
        w.mine(1).await;
        assert_eq!(w.withdrawal(&wd.id).await.status, "confirming");
        w.mine(1).await;
        let done = w.withdrawal(&wd.id).await;
        assert_eq!(done.status, "completed");
        assert_eq!(done.confirmations, 3);
        assert_eq!(w.held(&alice, "ETH").await, 0);
        assert_eq!(
            w.available(&alice, "ETH").await,
            2 * ETH - ETH - ETH / 1000,
            "the amount and our fee"
        );
        assert_eq!(w.node.balance(outside()).await, ETH_WEI);
        let gas: u128 = done.network_fee_raw.as_deref().unwrap().parse().unwrap();
        assert!(gas > 0);
        // Exactly what the receipt says was paid.
        let receipt = w
            .node
            .receipt(chain::Hash32::parse(done.tx_hash.as_deref().unwrap()).unwrap())
            .await;
        let read = |key: &str| {
            u128::from_str_radix(receipt[key].as_str().unwrap().trim_start_matches("0x"), 16)
                .unwrap()
        };
        assert_eq!(gas, read("gasUsed") * read("effectiveGasPrice"));
        assert_eq!(w.node.balance(w.hot()).await, hot_start - ETH_WEI - gas);
        assert_eq!(
            w.system(AccountKind::Fees, "ETH").await.credits_posted,
            ETH / 1000
        );
        assert_eq!(
            w.system(AccountKind::NetworkFees, "ETH")
                .await
                .debits_posted as u128,
            gas / 1_000_000_000
        );
        w.mine(3).await;
        assert_eq!(w.withdrawal(&wd.id).await.status, "completed");
        assert_eq!(w.node.balance(outside()).await, ETH_WEI, "sent once");
        w.assert_ledger_verifies().await;
    }
);

both_backends!(
    an_unfunded_hot_wallet_on_anvil_refunds_with_a_reason,
    |backend| async move {
        let Some(w) = AnvilWorld::new(backend, 6).await else {
            return;
        };
        assert_eq!(w.node.balance(w.hot()).await, 0);
        let alice = w.user("alice").await;
        w.fund(&alice, 3).await;
        w.book(&alice, outside()).await;
        let wd = w.withdraw(&alice, "ETH", ETH, outside()).await.unwrap();
        assert_eq!(w.available(&alice, "ETH").await, 2 * ETH - ETH / 1000);
        w.wallet.tick().await.unwrap();
        let failed = w.withdrawal(&wd.id).await;
        assert_eq!(
            (
                failed.status.as_str(),
                failed.reason_code.as_deref(),
                failed.nonce
            ),
            ("failed_refunded", Some("hot_wallet_underfunded"), None)
        );
        assert_eq!(w.held(&alice, "ETH").await, 0, "the hold voided");
        assert_eq!(w.available(&alice, "ETH").await, 3 * ETH);
        assert_eq!(w.node.pending_count().await, 0);
        w.mine(2).await;
        assert_eq!(w.withdrawal(&wd.id).await.status, "failed_refunded");
        assert_eq!(w.node.balance(outside()).await, 0);

        // Funded now: the next withdrawal gets the nonce the failed one never used.
        w.node.set_balance(w.hot(), 10 * ETH_WEI).await;
        let next = w.withdraw(&alice, "ETH", ETH, outside()).await.unwrap();
        w.wallet.tick().await.unwrap();
        w.mine(3).await;
        let done = w.withdrawal(&next.id).await;
        assert_eq!((done.status.as_str(), done.nonce), ("completed", Some(0)));
        assert_eq!(w.node.balance(outside()).await, ETH_WEI);
        assert_eq!(w.available(&alice, "ETH").await, 2 * ETH - ETH / 1000);
        w.assert_ledger_verifies().await;
    }
);

both_backends!(
    nonces_on_anvil_run_on_without_gaps_across_a_restart,
    |backend| async move {
        let Some(mut w) = AnvilWorld::new(backend, 7).await else {
            return;
        };
        w.node.set_balance(w.hot(), 100 * ETH_WEI).await;
        let alice = w.user("alice").await;
        w.fund(&alice, 5).await;
        w.book(&alice, outside()).await;
        let a = w.withdraw(&alice, "ETH", ETH, outside()).await.unwrap();
        let b = w.withdraw(&alice, "ETH", ETH, outside()).await.unwrap();
        w.wallet.tick().await.unwrap();
        assert_eq!(w.node.pending_count().await, 2);
        w.restart().await;
        let c = w.withdraw(&alice, "ETH", ETH, outside()).await.unwrap();
        w.mine(4).await;
        let mut nonces = Vec::new();
        for id in [&a.id, &b.id, &c.id] {
            let done = w.withdrawal(id).await;
            assert_eq!(done.status, "completed", "{done:?}");
            nonces.push(done.nonce.unwrap());
        }
        assert_eq!(nonces, vec![0, 1, 2]);
        assert_eq!(w.node.mined_nonce(w.hot()).await, 3);
        assert_eq!(w.node.balance(outside()).await, 3 * ETH_WEI);
        assert_eq!(
            w.available(&alice, "ETH").await,
            5 * ETH - 3 * (ETH + ETH / 1000)
        );
        w.assert_ledger_verifies().await;
    }
);

both_backends!(
    an_erc20_withdrawal_on_anvil_is_completed,
    |backend| async move {
        let Some(w) = AnvilWorld::new(backend, 8).await else {
            return;
        };
        let hot_tokens = 100 * USDT as u128;
        w.node.set_balance(w.hot(), 10 * ETH_WEI).await;
        w.node.send_token(w.usdt, w.hot(), hot_tokens).await;
        w.node.mine(1).await;
        assert_eq!(w.node.token_balance(w.usdt, w.hot()).await, hot_tokens);
        let alice = w.user("alice").await;
        let address = w.deposit_address(&alice, "USDT").await;
        w.wallet.tick().await.unwrap();
        w.node.send_token(w.usdt, address, 50_000_000).await;
        w.mine(2).await;
        assert_eq!(w.available(&alice, "USDT").await, 50 * USDT);
        w.book(&alice, outside()).await;

        let wd = w
            .withdraw(&alice, "USDT", 20 * USDT, outside())
            .await
            .unwrap();
        assert_eq!(w.held(&alice, "USDT").await, 20 * USDT + USDT / 2);
        w.wallet.tick().await.unwrap();
        assert_eq!(w.withdrawal(&wd.id).await.status, "broadcast");
        w.mine(1).await;
        assert_eq!(w.withdrawal(&wd.id).await.status, "confirming");
        w.mine(1).await;
        let done = w.withdrawal(&wd.id).await;
        assert_eq!((done.status.as_str(), done.nonce), ("completed", Some(0)));
        assert_eq!(
            w.node.token_balance(w.usdt, outside()).await,
            20 * USDT as u128
        );
        assert_eq!(
            w.node.token_balance(w.usdt, w.hot()).await,
            hot_tokens - 20 * USDT as u128
        );
        assert_eq!(w.node.balance(outside()).await, 0, "no ether sent");
        assert_eq!(w.held(&alice, "USDT").await, 0);
        assert_eq!(
            w.available(&alice, "USDT").await,
            50 * USDT - 20 * USDT - USDT / 2
        );
        let gas: u128 = done.network_fee_raw.as_deref().unwrap().parse().unwrap();
        assert!(gas > 0);
        assert_eq!(w.node.balance(w.hot()).await, 10 * ETH_WEI - gas);
        assert_eq!(
            w.system(AccountKind::NetworkFees, "ETH")
                .await
                .debits_posted as u128,
            gas / 1_000_000_000,
            "gas is paid in ether"
        );
        assert_eq!(
            w.system(AccountKind::Fees, "USDT").await.credits_posted,
            USDT / 2
        );
        w.assert_ledger_verifies().await;
    }
);
