use chain::sim::Faults;
use chain::{Address, Chain, Token};
use ledger::Amount;
use store::accounts::AccountKind;
use store::wallet::Withdrawal;
use testkit::both_backends;
use wallet::WithdrawalRequest;

use crate::harness::*;

fn outside() -> Address {
    Address([0x77; 20])
}

async fn deposits(w: &World, user: &store::users::User) -> Vec<store::wallet::Deposit> {
    w.t.db.deposits_of(&user.id, 100, None).await.unwrap()
}

/// Deposits `eth` whole ETH and waits until they are credited.
async fn fund(w: &World, user: &store::users::User, eth: u32) {
    let address = w.deposit_address(user, "ETH").await;
    let before = w.available(user, "ETH").await;
    w.sim
        .faucet(address, Token::Native, u128::from(eth) * ETH_WEI);
    w.mine(3).await;
    assert_eq!(
        w.available(user, "ETH").await,
        before + i64::from(eth) * ETH
    );
}

async fn withdraw(
    w: &World,
    user: &store::users::User,
    amount: i64,
    to: Address,
) -> Result<Withdrawal, wallet::WithdrawalRefusal> {
    let user = w.t.db.user_by_id(&user.id).await.unwrap().unwrap();
    w.wallet
        .request_withdrawal(
            &user,
            &WithdrawalRequest {
                asset: asset("ETH"),
                address: to,
                amount: Amount::from_minor(amount).unwrap(),
                stepped_up: false,
            },
            9,
        )
        .await
        .unwrap()
}

async fn book(w: &World, user: &store::users::User, to: Address) {
    w.wallet
        .add_book_address(&user.id, &asset("ETH"), to, "cold storage")
        .await
        .unwrap()
        .unwrap();
}

async fn status(w: &World, id: &str) -> Withdrawal {
    w.t.db.withdrawal(id).await.unwrap().unwrap()
}

both_backends!(
    an_eth_deposit_is_credited_after_its_confirmations_and_once,
    |backend| async move {
        let w = World::new(backend, 1).await;
        let alice = w.user("alice").await;
        let address = w.deposit_address(&alice, "ETH").await;
        assert_eq!(
            w.deposit_address(&alice, "ETH").await,
            address,
            "same again"
        );
        assert_eq!(
            w.deposit_address(&alice, "USDT").await,
            address,
            "one address per chain"
        );
        let bob = w.user("bob").await;
        assert_ne!(w.deposit_address(&bob, "ETH").await, address);

        w.wallet.tick().await.unwrap();
        w.sim.faucet(address, Token::Native, 3 * ETH_WEI / 2);
        w.mine(1).await;
        let seen = deposits(&w, &alice).await;
        assert_eq!(seen.len(), 1);
        assert_eq!(
            (
                seen[0].status.as_str(),
                seen[0].confirmations,
                seen[0].amount
            ),
            ("detected", 1, 3 * ETH / 2)
        );
        assert!(seen[0].simulated);
        assert_eq!(
            w.available(&alice, "ETH").await,
            0,
            "not before 3 confirmations"
        );
        assert_eq!(
            w.t.db.incoming_totals(&alice.id).await.unwrap(),
            vec![("ETH".to_owned(), 3 * ETH / 2)]
        );
        w.mine(1).await;
        assert_eq!(deposits(&w, &alice).await[0].status, "confirming");
        assert_eq!(w.available(&alice, "ETH").await, 0);
        w.mine(1).await;
        let done = deposits(&w, &alice).await;
        assert_eq!(
            (done[0].status.as_str(), done[0].confirmations),
            ("credited", 3)
        );
        assert_eq!(w.available(&alice, "ETH").await, 3 * ETH / 2);
        w.mine(5).await;
        assert_eq!(
            w.available(&alice, "ETH").await,
            3 * ETH / 2,
            "credited once"
        );
        assert_eq!(
            w.system(AccountKind::Custody, "ETH").await.debits_posted,
            3 * ETH / 2
        );
        assert!(w.t.db.incoming_totals(&alice.id).await.unwrap().is_empty());
        w.assert_ledger_verifies().await;
    }
);

both_backends!(
    token_deposits_are_found_by_contract_and_dust_is_not_credited,
    |backend| async move {
        let w = World::new(backend, 2).await;
        let alice = w.user("alice").await;
        let address = w.deposit_address(&alice, "USDT").await;
        w.wallet.tick().await.unwrap();
        w.sim
            .faucet(address, Token::Erc20(usdt_contract()), 25_500_000);
        // Another contract's token is not ours to count.
        w.sim.faucet(address, Token::Erc20(Address([9; 20])), 1_000);
        // Less than a gwei of ETH: below the ledger's unit, recorded but never credited.
        w.sim.faucet(address, Token::Native, 999);
        w.mine(4).await;
        let mut all = deposits(&w, &alice).await;
        all.sort_by_key(|d| d.asset.clone());
        assert_eq!(all.len(), 2);
        assert_eq!(
            (all[0].asset.as_str(), all[0].status.as_str()),
            ("ETH", "too_small")
        );
        assert_eq!(
            (
                all[1].asset.as_str(),
                all[1].status.as_str(),
                all[1].log_index
            ),
            ("USDT", "credited", 0)
        );
        assert_eq!(w.available(&alice, "USDT").await, 25_500_000);
        assert_eq!(w.available(&alice, "ETH").await, 0);
        w.assert_ledger_verifies().await;
    }
);

both_backends!(
    a_deposit_reorganised_away_before_its_confirmations_is_never_credited,
    |backend| async move {
        let w = World::new(backend, 3).await;
        let alice = w.user("alice").await;
        let address = w.deposit_address(&alice, "ETH").await;
        w.wallet.tick().await.unwrap();
        w.sim.faucet(address, Token::Native, ETH_WEI);
        w.mine(2).await;
        assert_eq!(deposits(&w, &alice).await[0].status, "confirming");
        w.sim.reorg(2, false);
        w.mine(10).await;
        let gone = deposits(&w, &alice).await;
        assert_eq!(gone[0].status, "orphaned");
        assert_eq!(w.available(&alice, "ETH").await, 0);

        // Mined again after a reorganisation: the same transfer, seen again, credited once.
        let again = w.sim.faucet(address, Token::Native, ETH_WEI);
        w.mine(1).await;
        w.sim.reorg(1, true);
        w.mine(6).await;
        let all = deposits(&w, &alice).await;
        let credited: Vec<_> = all.iter().filter(|d| d.status == "credited").collect();
        assert_eq!(credited.len(), 1);
        assert_eq!(credited[0].tx_hash, again.to_string());
        assert_eq!(w.available(&alice, "ETH").await, ETH);
        w.assert_ledger_verifies().await;
    }
);

both_backends!(
    a_restarted_watcher_resumes_without_crediting_twice,
    |backend| async move {
        let mut w = World::new(backend, 4).await;
        let alice = w.user("alice").await;
        let address = w.deposit_address(&alice, "ETH").await;
        w.wallet.tick().await.unwrap();
        w.sim.faucet(address, Token::Native, 2 * ETH_WEI);
        w.mine(2).await;
        w.restart();
        // Blocks mined while the server was down are scanned when it is back.
        w.sim.faucet(address, Token::Native, ETH_WEI);
        w.sim.mine(5);
        w.wallet.tick().await.unwrap();
        w.restart();
        w.mine(3).await;
        assert_eq!(w.available(&alice, "ETH").await, 3 * ETH);
        assert_eq!(deposits(&w, &alice).await.len(), 2);
        w.assert_ledger_verifies().await;
    }
);

both_backends!(
    a_withdrawal_is_held_signed_mined_and_completed,
    |backend| async move {
        let w = World::new(backend, 5).await;
        w.sim.fund(w.hot(), Token::Native, 100 * ETH_WEI);
        let alice = w.user("alice").await;
        fund(&w, &alice, 2).await;
        // Allowlist mode (the default): not in the book → refused.
        assert_eq!(
            withdraw(&w, &alice, ETH, outside())
                .await
                .unwrap_err()
                .code(),
            "address_not_in_book"
        );
        book(&w, &alice, outside()).await;
        let wd = withdraw(&w, &alice, ETH, outside()).await.unwrap();
        assert_eq!(wd.status, "requested");
        assert_eq!(w.held(&alice, "ETH").await, ETH + ETH / 1000);
        assert_eq!(w.available(&alice, "ETH").await, ETH - ETH / 1000);
        w.wallet.tick().await.unwrap();
        let sent = status(&w, &wd.id).await;
        assert_eq!((sent.status.as_str(), sent.nonce), ("broadcast", Some(0)));
        w.mine(1).await;
        assert_eq!(status(&w, &wd.id).await.status, "confirming");
        w.mine(2).await;
        let done = status(&w, &wd.id).await;
        assert_eq!(done.status, "completed");
        assert_eq!(w.held(&alice, "ETH").await, 0);
        assert_eq!(w.available(&alice, "ETH").await, ETH - ETH / 1000);
        assert_eq!(w.chain_balance(outside(), Token::Native).await, ETH_WEI);
        assert_eq!(
            w.system(AccountKind::Fees, "ETH").await.credits_posted,
            ETH / 1000
        );
        let gas: u128 = done.network_fee_raw.unwrap().parse().unwrap();
        assert!(gas > 0);
        assert_eq!(
            w.system(AccountKind::NetworkFees, "ETH")
                .await
                .debits_posted as u128,
            gas / 1_000_000_000
        );
        w.mine(3).await;
        assert_eq!(status(&w, &wd.id).await.status, "completed");
        w.assert_ledger_verifies().await;
    }
);

both_backends!(
    refusals_name_their_reason_and_hold_nothing,
    |backend| async move {
        let w = World::new(backend, 6).await;
        let alice = w.user("alice").await;
        fund(&w, &alice, 2).await;
        book(&w, &alice, outside()).await;
        let code = |r: Result<Withdrawal, wallet::WithdrawalRefusal>| r.unwrap_err().code();
        assert_eq!(
            code(withdraw(&w, &alice, ETH / 1000, outside()).await),
            "amount_below_minimum"
        );
        assert_eq!(
            code(withdraw(&w, &alice, 3 * ETH, outside()).await),
            "insufficient_funds"
        );
        let own = w.deposit_address(&alice, "ETH").await;
        assert_eq!(
            code(withdraw(&w, &alice, ETH, own).await),
            "own_deposit_address"
        );
        assert_eq!(w.held(&alice, "ETH").await, 0);
        // The refused request is kept, with its reason, and counts against no limit.
        let listed = w.t.db.withdrawals_of(&alice.id, 10, None).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(
            (listed[0].status.as_str(), listed[0].reason_code.as_deref()),
            ("refused", Some("insufficient_funds"))
        );
        w.assert_ledger_verifies().await;
    }
);

both_backends!(
    the_daily_limit_counts_amounts_and_fees_of_the_last_day,
    |backend| async move {
        let w = World::new(backend, 7).await;
        w.sim.fund(w.hot(), Token::Native, 100 * ETH_WEI);
        let alice = w.user("alice").await;
        fund(&w, &alice, 20).await;
        book(&w, &alice, outside()).await;
        // 4 + 4 (+ fees) fit in 10; a third of 2 does not.
        withdraw(&w, &alice, 4 * ETH, outside()).await.unwrap();
        withdraw(&w, &alice, 4 * ETH, outside()).await.unwrap();
        let refused = withdraw(&w, &alice, 2 * ETH, outside()).await.unwrap_err();
        assert_eq!(refused.code(), "daily_limit_exceeded");
        assert_eq!(
            refused,
            wallet::WithdrawalRefusal::DailyLimitExceeded {
                limit: Amount::from_minor(10 * ETH).unwrap(),
                used: Amount::from_minor(8 * ETH + 2 * (ETH / 1000)).unwrap(),
            }
        );
        w.assert_ledger_verifies().await;
    }
);

both_backends!(
    a_large_withdrawal_waits_for_review_and_a_rejection_releases_it,
    |backend| async move {
        let w = World::new(backend, 8).await;
        w.sim.fund(w.hot(), Token::Native, 100 * ETH_WEI);
        let alice = w.user("alice").await;
        fund(&w, &alice, 9).await;
        book(&w, &alice, outside()).await;
        let big = withdraw(&w, &alice, 6 * ETH, outside()).await.unwrap();
        assert_eq!(big.status, "under_review");
        w.mine(2).await;
        assert_eq!(
            status(&w, &big.id).await.status,
            "under_review",
            "not sent unreviewed"
        );
        assert!(w
            .wallet
            .review(&big.id, false, "supervisor-1", "unusual destination")
            .await
            .unwrap());
        let rejected = status(&w, &big.id).await;
        assert_eq!(
            (
                rejected.status.as_str(),
                rejected.reason_code.as_deref(),
                rejected.review_note.as_deref()
            ),
            (
                "rejected",
                Some("rejected_by_review"),
                Some("unusual destination")
            )
        );
        assert_eq!(w.held(&alice, "ETH").await, 0);
        assert_eq!(w.available(&alice, "ETH").await, 9 * ETH);
        assert!(
            !w.wallet
                .review(&big.id, true, "supervisor-1", "")
                .await
                .unwrap(),
            "decided once"
        );

        let second = withdraw(&w, &alice, 6 * ETH, outside()).await.unwrap();
        assert!(w
            .wallet
            .review(&second.id, true, "supervisor-1", "called the customer")
            .await
            .unwrap());
        w.mine(4).await;
        assert_eq!(status(&w, &second.id).await.status, "completed");
        assert_eq!(w.available(&alice, "ETH").await, 3 * ETH - ETH / 1000);
        w.assert_ledger_verifies().await;
    }
);

both_backends!(
    an_unfunded_hot_wallet_refunds_with_a_reason_and_frees_the_nonce,
    |backend| async move {
        let w = World::new(backend, 9).await;
        let alice = w.user("alice").await;
        fund(&w, &alice, 3).await;
        book(&w, &alice, outside()).await;
        let wd = withdraw(&w, &alice, ETH, outside()).await.unwrap();
        w.wallet.tick().await.unwrap();
        let failed = status(&w, &wd.id).await;
        assert_eq!(
            (
                failed.status.as_str(),
                failed.reason_code.as_deref(),
                failed.nonce
            ),
            ("failed_refunded", Some("hot_wallet_underfunded"), None)
        );
        assert_eq!(w.held(&alice, "ETH").await, 0);
        assert_eq!(w.available(&alice, "ETH").await, 3 * ETH);
        // Funded now: the next withdrawal gets the nonce the failed one never used.
        w.sim.fund(w.hot(), Token::Native, 10 * ETH_WEI);
        let next = withdraw(&w, &alice, ETH, outside()).await.unwrap();
        // Sent after the first block, mined in the second, final with the fourth.
        w.mine(4).await;
        let done = status(&w, &next.id).await;
        assert_eq!((done.status.as_str(), done.nonce), ("completed", Some(0)));
        w.assert_ledger_verifies().await;
    }
);

both_backends!(
    nonces_run_on_without_gaps_across_a_restart,
    |backend| async move {
        let mut w = World::new(backend, 10).await;
        w.sim.fund(w.hot(), Token::Native, 100 * ETH_WEI);
        let alice = w.user("alice").await;
        fund(&w, &alice, 5).await;
        book(&w, &alice, outside()).await;
        let a = withdraw(&w, &alice, ETH, outside()).await.unwrap();
        let b = withdraw(&w, &alice, ETH, outside()).await.unwrap();
        w.wallet.tick().await.unwrap();
        w.restart();
        let c = withdraw(&w, &alice, ETH, outside()).await.unwrap();
        w.mine(4).await;
        let mut nonces = Vec::new();
        for id in [&a.id, &b.id, &c.id] {
            let done = status(&w, id).await;
            assert_eq!(done.status, "completed");
            nonces.push(done.nonce.unwrap());
        }
        assert_eq!(nonces, vec![0, 1, 2]);
        assert_eq!(w.sim.next_nonce(w.hot()).await.unwrap(), 3);
        w.assert_ledger_verifies().await;
    }
);

both_backends!(
    a_stuck_withdrawal_gets_a_higher_fee_and_completes,
    |backend| async move {
        let mut settings = settings();
        settings.stuck_after_s = 0;
        let w = World::with(backend, 11, settings).await;
        w.sim.fund(w.hot(), Token::Native, 100 * ETH_WEI);
        let alice = w.user("alice").await;
        fund(&w, &alice, 2).await;
        book(&w, &alice, outside()).await;
        let wd = withdraw(&w, &alice, ETH, outside()).await.unwrap();
        w.wallet.tick().await.unwrap();
        // The base fee jumps above the bid: the transaction is stuck.
        w.sim.set_base_fee(8_000_000_000);
        w.mine(4).await;
        let txs = w.t.db.withdrawal_txs(&wd.id).await.unwrap();
        assert!(txs.len() >= 2, "bumped: {txs:?}");
        assert!(txs.iter().all(|t| t.nonce == 0), "one nonce, many bids");
        w.mine(3).await;
        let done = status(&w, &wd.id).await;
        assert_eq!(done.status, "completed");
        assert_eq!(w.chain_balance(outside(), Token::Native).await, ETH_WEI);
        w.assert_ledger_verifies().await;
    }
);

both_backends!(
    a_seeded_run_with_every_fault_ends_with_the_ledger_right,
    |backend| async move {
        let w = World::new(backend, 12).await;
        w.sim.fund(w.hot(), Token::Native, 1_000 * ETH_WEI);
        let users = [w.user("u0").await, w.user("u1").await, w.user("u2").await];
        let mut addresses = Vec::new();
        for user in &users {
            addresses.push(w.deposit_address(user, "ETH").await);
            book(&w, user, outside()).await;
        }
        w.wallet.tick().await.unwrap();
        w.sim.set_faults(Faults {
            reorg_percent: 15,
            reorg_depth_max: 2,
            drop_percent: 20,
            rpc_error_percent: 10,
            slow_block_percent: 0,
        });
        let mut sent = Vec::new();
        for round in 0..40u32 {
            let who = (round % 3) as usize;
            if round % 2 == 0 {
                sent.push(w.sim.faucet(addresses[who], Token::Native, ETH_WEI));
            }
            if round % 5 == 4 {
                // May be refused (funds not yet credited); either way nothing is lost.
                let _ = withdraw(&w, &users[who], ETH / 2, outside()).await;
            }
            w.sim.mine(1);
            // RPC faults fail some rounds; the next round picks up.
            let _ = w.wallet.tick().await;
        }
        w.sim.set_faults(Faults::default());
        for _ in 0..12 {
            w.sim.mine(1);
            w.wallet.tick().await.unwrap();
        }
        // Every deposit still on the chain is credited once; every orphan is not.
        let mut credited = 0;
        for user in &users {
            for d in deposits(&w, user).await {
                let on_chain = w
                    .sim
                    .receipt(chain::Hash32::parse(&d.tx_hash).unwrap())
                    .await
                    .unwrap()
                    .is_some();
                assert_eq!(d.status == "credited", on_chain, "{d:?}");
                credited += i64::from(d.status == "credited");
            }
        }
        let mut withdrawn = 0;
        for user in &users {
            for wd in w.t.db.withdrawals_of(&user.id, 100, None).await.unwrap() {
                assert!(
                    ["completed", "refused"].contains(&wd.status.as_str()),
                    "{wd:?}"
                );
                if wd.status == "completed" {
                    withdrawn += wd.amount;
                    assert!(w
                        .sim
                        .receipt(chain::Hash32::parse(wd.tx_hash.as_deref().unwrap()).unwrap())
                        .await
                        .unwrap()
                        .is_some());
                }
            }
        }
        assert!(
            credited > 0 && withdrawn > 0,
            "credited {credited}, withdrawn {withdrawn}"
        );
        assert_eq!(
            w.chain_balance(outside(), Token::Native).await,
            withdrawn as u128 * 1_000_000_000
        );
        let custody = w.system(AccountKind::Custody, "ETH").await;
        assert_eq!(custody.debits_posted, credited * ETH);
        w.assert_ledger_verifies().await;
        println!(
            "seed 12: {} deposits sent, {credited} credited, {withdrawn} withdrawn",
            sent.len()
        );
    }
);

both_backends!(
    a_frozen_accounts_queued_withdrawal_waits_unsent,
    |backend| async move {
        let w = World::new(backend, 13).await;
        w.sim.fund(w.hot(), Token::Native, 10 * ETH_WEI);
        let alice = w.user("alice").await;
        fund(&w, &alice, 2).await;
        book(&w, &alice, outside()).await;
        let wd = withdraw(&w, &alice, ETH, outside()).await.unwrap();
        assert!(w.t.db.freeze_user(&alice.id, "test").await.unwrap());
        w.mine(3).await;
        assert_eq!(
            status(&w, &wd.id).await.status,
            "requested",
            "not sent while frozen"
        );
        assert_eq!(w.chain_balance(outside(), Token::Native).await, 0);
        assert_eq!(w.held(&alice, "ETH").await, ETH + ETH / 1000, "still held");
        // The freeze is lifted (its cooling-off over): it goes out.
        sqlx::query("UPDATE users SET frozen_at_ms = NULL WHERE id = $1")
            .bind(&alice.id)
            .execute(w.t.db.pool())
            .await
            .unwrap();
        w.mine(4).await;
        assert_eq!(status(&w, &wd.id).await.status, "completed");
        w.assert_ledger_verifies().await;
    }
);
