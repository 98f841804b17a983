//! The wallet's statements under contention, on both databases: one deposit address per user
//! however many ask at once, a daily limit that concurrent requests cannot squeeze past, leases
//! held by one holder at a time, idempotency keys, and nonces handed out once.

use std::sync::Arc;

use identity::{Email, Role};
use store::wallet::{IdempotencyBegin, NewWithdrawal, NewWithdrawalOutcome, SignedWithdrawalTx};
use testkit::{both_backends, TestDb};

async fn user(t: &TestDb, name: &str) -> String {
    t.db.create_user(
        &Email::parse(&format!("{name}@example.com")).unwrap(),
        "hash",
        Role::User,
        "en",
    )
    .await
    .unwrap()
    .id
}

fn withdrawal(user_id: &str, amount: i64) -> NewWithdrawal {
    let id = store::new_id();
    NewWithdrawal {
        id: id.clone(),
        user_id: user_id.to_owned(),
        asset: "ETH".into(),
        chain: "ethereum".into(),
        address: "0x00000000000000000000000000000000000000aa".into(),
        amount,
        fee: 1,
        amount_raw: amount.to_string(),
        needs_review: false,
        confirmations_required: 3,
        simulated: true,
        hold_id: format!("wd:{id}:hold"),
        fee_hold_id: format!("wd:{id}:fee"),
        daily_limit: 100,
        limit_since_ms: 0,
    }
}

both_backends!(
    concurrent_requests_agree_on_one_deposit_address,
    |backend| async move {
        let t = Arc::new(TestDb::new(backend).await);
        let alice = user(&t, "alice").await;
        let bob = user(&t, "bob").await;
        let mut tasks = Vec::new();
        for n in 0..12 {
            let t = t.clone();
            let who = if n % 2 == 0 {
                alice.clone()
            } else {
                bob.clone()
            };
            tasks.push(tokio::spawn(async move {
                t.db.assign_deposit_address("ethereum", &who, |i| Ok(format!("0x{i:040x}")))
                    .await
                    .unwrap()
            }));
        }
        let mut by_alice = Vec::new();
        let mut by_bob = Vec::new();
        for (n, task) in tasks.into_iter().enumerate() {
            let address = task.await.unwrap();
            if n % 2 == 0 {
                by_alice.push(address);
            } else {
                by_bob.push(address);
            }
        }
        by_alice.dedup();
        by_bob.dedup();
        assert_eq!(by_alice.len(), 1, "{by_alice:?}");
        assert_eq!(by_bob.len(), 1, "{by_bob:?}");
        assert_ne!(by_alice, by_bob);
        let owners =
            t.db.deposit_address_owners("ethereum", &[by_alice[0].clone(), "0xnobody".into()])
                .await
                .unwrap();
        assert_eq!(owners, vec![(by_alice[0].clone(), alice)]);
    }
);

both_backends!(
    concurrent_withdrawals_cannot_squeeze_past_the_daily_limit,
    |backend| async move {
        let t = Arc::new(TestDb::new(backend).await);
        let alice = user(&t, "alice").await;
        let mut tasks = Vec::new();
        // Ten requests of 19 (+1 fee) against a limit of 100: exactly five fit.
        for _ in 0..10 {
            let t = t.clone();
            let request = withdrawal(&alice, 19);
            tasks.push(tokio::spawn(async move {
                t.db.record_withdrawal(&request).await.unwrap()
            }));
        }
        let mut recorded = 0;
        for task in tasks {
            if task.await.unwrap() == NewWithdrawalOutcome::Recorded {
                recorded += 1;
            }
        }
        assert_eq!(recorded, 5);
        assert_eq!(
            t.db.record_withdrawal(&withdrawal(&alice, 1))
                .await
                .unwrap(),
            NewWithdrawalOutcome::OverDailyLimit { used: 100 }
        );
    }
);

both_backends!(
    a_lease_has_one_holder_until_it_runs_out,
    |backend| async move {
        let t = TestDb::new(backend).await;
        assert!(t
            .db
            .take_lease("chain:ethereum", "node-a", 60_000)
            .await
            .unwrap());
        assert!(!t
            .db
            .take_lease("chain:ethereum", "node-b", 60_000)
            .await
            .unwrap());
        assert!(
            t.db.take_lease("chain:ethereum", "node-a", 60_000)
                .await
                .unwrap(),
            "renewed"
        );
        assert!(t
            .db
            .take_lease("chain:other", "node-b", 60_000)
            .await
            .unwrap());
        // An expired lease goes to whoever asks.
        assert!(t.db.take_lease("chain:short", "node-a", -1).await.unwrap());
        assert!(t
            .db
            .take_lease("chain:short", "node-b", 60_000)
            .await
            .unwrap());
    }
);

both_backends!(
    idempotency_keys_replay_conflict_and_forget,
    |backend| async move {
        let t = TestDb::new(backend).await;
        let db = &t.db;
        assert_eq!(
            db.idempotency_begin("u1", "k", "POST /x", "h1")
                .await
                .unwrap(),
            IdempotencyBegin::Fresh
        );
        assert_eq!(
            db.idempotency_begin("u1", "k", "POST /x", "h1")
                .await
                .unwrap(),
            IdempotencyBegin::InFlight
        );
        db.idempotency_finish("u1", "k", 201, "{\"id\":1}")
            .await
            .unwrap();
        assert_eq!(
            db.idempotency_begin("u1", "k", "POST /x", "h1")
                .await
                .unwrap(),
            IdempotencyBegin::Replay {
                status: 201,
                body: "{\"id\":1}".into()
            }
        );
        assert_eq!(
            db.idempotency_begin("u1", "k", "POST /x", "h2")
                .await
                .unwrap(),
            IdempotencyBegin::Conflict
        );
        assert_eq!(
            db.idempotency_begin("u2", "k", "POST /x", "h2")
                .await
                .unwrap(),
            IdempotencyBegin::Fresh,
            "keys are per user"
        );
        db.idempotency_abandon("u2", "k").await.unwrap();
        assert_eq!(
            db.idempotency_begin("u2", "k", "POST /x", "h3")
                .await
                .unwrap(),
            IdempotencyBegin::Fresh
        );
    }
);

both_backends!(
    a_nonce_is_given_out_once_and_given_back_only_when_unused,
    |backend| async move {
        let t = TestDb::new(backend).await;
        let alice = user(&t, "alice").await;
        let first = withdrawal(&alice, 10);
        let second = withdrawal(&alice, 10);
        for w in [&first, &second] {
            t.db.record_withdrawal(w).await.unwrap();
        }
        t.db.catch_up_hot_wallet_nonce("ethereum", "0xhot", 7)
            .await
            .unwrap();
        t.db.catch_up_hot_wallet_nonce("ethereum", "0xhot", 3)
            .await
            .unwrap();
        assert_eq!(
            t.db.hot_wallet_nonce("ethereum").await.unwrap(),
            Some(7),
            "never backwards"
        );
        let signed = |w: &NewWithdrawal, nonce: i64| SignedWithdrawalTx {
            tx_hash: format!("0x{nonce:064x}{}", &w.id[..2]),
            withdrawal_id: w.id.clone(),
            nonce,
            raw_hex: "00".into(),
            max_fee_per_gas: "1".into(),
            max_priority_fee_per_gas: "1".into(),
            created_at_ms: 0,
        };
        assert!(t
            .db
            .assign_nonce("ethereum", &signed(&first, 7))
            .await
            .unwrap());
        // The same nonce again, for another withdrawal: refused.
        assert!(!t
            .db
            .assign_nonce("ethereum", &signed(&second, 7))
            .await
            .unwrap());
        // The first withdrawal cannot take a second nonce either.
        assert!(!t
            .db
            .assign_nonce("ethereum", &signed(&first, 8))
            .await
            .unwrap());
        assert_eq!(t.db.hot_wallet_nonce("ethereum").await.unwrap(), Some(8));
        // The node refused the first outright: 7 comes back and goes to the second.
        let held = t.db.withdrawal(&first.id).await.unwrap().unwrap();
        t.db.release_nonce(&held, "failed_refunded", Some("broadcast_rejected"))
            .await
            .unwrap();
        assert_eq!(t.db.hot_wallet_nonce("ethereum").await.unwrap(), Some(7));
        assert!(t
            .db
            .assign_nonce("ethereum", &signed(&second, 7))
            .await
            .unwrap());
        let released = t.db.withdrawal(&first.id).await.unwrap().unwrap();
        assert_eq!(
            (
                released.status.as_str(),
                released.nonce,
                released.reason_code.as_deref()
            ),
            ("failed_refunded", None, Some("broadcast_rejected"))
        );
        assert!(t.db.withdrawal_txs(&first.id).await.unwrap().is_empty());
        assert_eq!(t.db.withdrawal_txs(&second.id).await.unwrap().len(), 1);
    }
);
