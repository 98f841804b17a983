use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ledger::verify::Discrepancy;
use ledger::{Amount, ResultCode, Transfer, TransferKind};
use store::accounts::equity_account_id;
use store::writer::{expire_due_holds, Ledger, SubmitError, WriterConfig};
use testkit::{both_backends, TestDb};

use crate::{eth, single, tid};

async fn accounts(t: &TestDb, n: usize) -> Vec<ledger::AccountId> {
    t.db.create_synthetic_accounts("acct:", n, &eth())
        .await
        .unwrap()
}

both_backends!(
    transfers_persist_and_replay_across_restarts,
    |backend| async move {
        let t = TestDb::new(backend).await;
        let a = accounts(&t, 2).await;
        let equity = equity_account_id(&eth());
        let ledger = Ledger::start(t.db.clone(), WriterConfig::default(), None)
            .await
            .unwrap();
        let r = ledger
            .submit(vec![single("fund", &equity, &a[0], 100)])
            .await
            .unwrap();
        assert_eq!((r[0].code, r[0].replayed), (ResultCode::Ok, false));
        let r = ledger
            .submit(vec![single("too-much", &a[0], &a[1], 101)])
            .await
            .unwrap();
        assert_eq!(r[0].code, ResultCode::InsufficientFunds);
        let r = ledger
            .submit(vec![single("pay", &a[0], &a[1], 40)])
            .await
            .unwrap();
        assert_eq!(r[0].code, ResultCode::Ok);
        let first_ts = r[0].timestamp;

        // A new writer (a restarted node) answers retries from the journal.
        let restarted = Ledger::start(t.db.clone(), WriterConfig::default(), None)
            .await
            .unwrap();
        let r = restarted
            .submit(vec![single("pay", &a[0], &a[1], 40)])
            .await
            .unwrap();
        assert_eq!(
            (r[0].code, r[0].replayed, r[0].timestamp),
            (ResultCode::Ok, true, first_ts)
        );
        restarted
            .submit(vec![single("top-up", &equity, &a[0], 1000)])
            .await
            .unwrap();
        let r = restarted
            .submit(vec![single("too-much", &a[0], &a[1], 101)])
            .await
            .unwrap();
        assert_eq!(
            (r[0].code, r[0].replayed),
            (ResultCode::InsufficientFunds, true),
            "a refusal is remembered"
        );
        let r = restarted
            .submit(vec![single("pay", &a[0], &a[1], 41)])
            .await
            .unwrap();
        assert_eq!(r[0].code, ResultCode::ExistsWithDifferentFields);
        let r = restarted
            .submit(vec![single("later", &a[0], &a[1], 1)])
            .await
            .unwrap();
        assert!(
            r[0].timestamp > first_ts,
            "the clock resumes after the journal's newest timestamp"
        );

        let alice = t.db.account(&a[0]).await.unwrap().unwrap();
        assert_eq!((alice.debits_posted, alice.credits_posted), (41, 1100));
        assert_eq!(t.db.count_transfers_with_id("pay").await.unwrap(), 1);
        let report = t.db.verify_ledger().await.unwrap();
        assert_eq!(report.discrepancies, vec![]);
        assert_eq!(report.transfers, 4);
    }
);

both_backends!(
    concurrent_requests_share_commits_and_keep_their_own_results,
    |backend| async move {
        let t = TestDb::new(backend).await;
        let a = accounts(&t, 10).await;
        let equity = equity_account_id(&eth());
        let batches = Arc::new(AtomicUsize::new(0));
        let counter = batches.clone();
        let observer: store::writer::BatchObserver = Arc::new(move |_, _| {
            counter.fetch_add(1, Ordering::Relaxed);
        });
        let ledger = Ledger::start(t.db.clone(), WriterConfig::default(), Some(observer))
            .await
            .unwrap();
        let mut tasks = Vec::new();
        for i in 0..400 {
            let (ledger, from, to) = (ledger.clone(), equity.clone(), a[i % 10].clone());
            // Every tenth request is invalid; its neighbours in the batch must not notice.
            let amount = if i % 10 == 3 { 0 } else { 1 };
            tasks.push(tokio::spawn(async move {
                ledger
                    .submit(vec![single(&format!("t{i}"), &from, &to, amount)])
                    .await
            }));
        }
        let mut ok = 0;
        for (i, task) in tasks.into_iter().enumerate() {
            let r = task.await.unwrap().unwrap();
            let expected = if i % 10 == 3 {
                ResultCode::AmountMustNotBeZero
            } else {
                ResultCode::Ok
            };
            assert_eq!(r[0].code, expected, "request {i}");
            ok += usize::from(r[0].code == ResultCode::Ok);
        }
        assert_eq!(ok, 360);
        let committed = batches.load(Ordering::Relaxed);
        assert!(
            committed < 400,
            "400 concurrent requests took {committed} commits: no grouping happened"
        );
        let total: i64 =
            t.db.all_accounts()
                .await
                .unwrap()
                .iter()
                .filter(|x| a.contains(&x.id))
                .map(|x| x.credits_posted)
                .sum();
        assert_eq!(total, 360);
        assert_eq!(t.db.verify_ledger().await.unwrap().discrepancies, vec![]);
    }
);

both_backends!(
    a_full_queue_answers_overloaded_and_loses_nothing,
    |backend| async move {
        let t = TestDb::new(backend).await;
        let a = accounts(&t, 1).await;
        let equity = equity_account_id(&eth());
        let config = WriterConfig {
            batch_events_max: 1,
            queue_requests_max: 1,
            enqueue_timeout: Duration::from_millis(1),
        };
        let ledger = Ledger::start(t.db.clone(), config, None).await.unwrap();
        let mut tasks = Vec::new();
        for i in 0..64 {
            let (ledger, from, to) = (ledger.clone(), equity.clone(), a[0].clone());
            tasks.push(tokio::spawn(async move {
                ledger
                    .submit(vec![single(&format!("q{i}"), &from, &to, 1)])
                    .await
            }));
        }
        let (mut accepted, mut overloaded) = (0, 0);
        for task in tasks {
            match task.await.unwrap() {
                Ok(r) => {
                    assert_eq!(r[0].code, ResultCode::Ok);
                    accepted += 1;
                }
                Err(SubmitError::Overloaded) => overloaded += 1,
                Err(e) => panic!("unexpected {e}"),
            }
        }
        assert!(
            overloaded > 0,
            "a queue of one with a 1 ms wait must turn some of 64 submitters away"
        );
        assert_eq!(
            t.db.account(&a[0]).await.unwrap().unwrap().credits_posted,
            accepted
        );
        assert!(matches!(
            ledger
                .submit(vec![
                    single("x", &equity, &a[0], 1),
                    single("y", &equity, &a[0], 1)
                ])
                .await,
            Err(SubmitError::TooLarge(1))
        ));
        assert!(ledger.submit(vec![]).await.unwrap().is_empty());
    }
);

both_backends!(
    holds_post_void_and_expire_through_the_database,
    |backend| async move {
        let t = TestDb::new(backend).await;
        let a = accounts(&t, 2).await;
        let equity = equity_account_id(&eth());
        let ledger = Ledger::start(t.db.clone(), WriterConfig::default(), None)
            .await
            .unwrap();
        ledger
            .submit(vec![single("fund", &equity, &a[0], 100)])
            .await
            .unwrap();
        let hold = |id: &str, amount: i64, timeout_s: u32| Transfer {
            kind: TransferKind::Pending {
                debit: a[0].clone(),
                credit: a[1].clone(),
                amount: Amount::from_minor(amount).unwrap(),
                timeout_s,
            },
            ..single(id, &a[0], &a[1], amount)
        };
        let close = |id: &str, kind: TransferKind| Transfer {
            kind,
            ..single(id, &a[0], &a[1], 1)
        };
        let codes = |r: Vec<ledger::EventResult>| r.iter().map(|x| x.code).collect::<Vec<_>>();

        assert_eq!(
            codes(
                ledger
                    .submit(vec![
                        hold("h1", 30, 0),
                        hold("h2", 30, 0),
                        hold("h3", 30, 1)
                    ])
                    .await
                    .unwrap()
            ),
            vec![ResultCode::Ok; 3]
        );
        assert_eq!(
            codes(ledger.submit(vec![hold("h4", 11, 0)]).await.unwrap()),
            vec![ResultCode::InsufficientFunds]
        );
        // The longest id a client may choose still gets an expiry id of its own.
        let longest = "L".repeat(ledger::TransferId::LEN_MAX);
        assert_eq!(
            codes(ledger.submit(vec![hold(&longest, 4, 1)]).await.unwrap()),
            vec![ResultCode::Ok]
        );
        let acct = t.db.account(&a[0]).await.unwrap().unwrap();
        assert_eq!((acct.debits_pending, acct.available()), (94, 6));

        let post = close(
            "p1",
            TransferKind::Post {
                pending_id: tid("h1"),
                amount: Some(Amount::from_minor(20).unwrap()),
            },
        );
        let void = close(
            "v2",
            TransferKind::Void {
                pending_id: tid("h2"),
            },
        );
        assert_eq!(
            codes(ledger.submit(vec![post, void]).await.unwrap()),
            vec![ResultCode::Ok, ResultCode::Ok]
        );
        let again = close(
            "p1b",
            TransferKind::Post {
                pending_id: tid("h1"),
                amount: None,
            },
        );
        assert_eq!(
            codes(ledger.submit(vec![again]).await.unwrap()),
            vec![ResultCode::PendingAlreadyPosted]
        );

        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert_eq!(expire_due_holds(&t.db, &ledger).await.unwrap(), 2);
        assert_eq!(
            expire_due_holds(&t.db, &ledger).await.unwrap(),
            0,
            "each hold expires once"
        );
        let late = close(
            "p3",
            TransferKind::Post {
                pending_id: tid("h3"),
                amount: None,
            },
        );
        assert_eq!(
            codes(ledger.submit(vec![late]).await.unwrap()),
            vec![ResultCode::PendingExpired]
        );
        let acct = t.db.account(&a[0]).await.unwrap().unwrap();
        assert_eq!(
            (acct.debits_pending, acct.debits_posted, acct.available()),
            (0, 20, 80)
        );
        assert_eq!(t.db.verify_ledger().await.unwrap().discrepancies, vec![]);
    }
);

both_backends!(
    verify_finds_a_tampered_balance_and_a_forged_row,
    |backend| async move {
        let t = TestDb::new(backend).await;
        let a = accounts(&t, 2).await;
        let equity = equity_account_id(&eth());
        let ledger = Ledger::start(t.db.clone(), WriterConfig::default(), None)
            .await
            .unwrap();
        ledger
            .submit(vec![single("fund", &equity, &a[0], 100)])
            .await
            .unwrap();
        assert_eq!(t.db.verify_ledger().await.unwrap().discrepancies, vec![]);

        sqlx::query("UPDATE ledger_accounts SET credits_posted = credits_posted + 5 WHERE id = $1")
            .bind(a[1].as_str())
            .execute(t.db.pool())
            .await
            .unwrap();
        let found = t.db.verify_ledger().await.unwrap().discrepancies;
        assert!(
            found.iter().any(
                |d| matches!(d, Discrepancy::TotalsDiffer { account, .. } if account == &a[1])
            ),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|d| matches!(d, Discrepancy::AssetUnbalanced { pending: false, .. })),
            "{found:?}"
        );

        sqlx::query("UPDATE ledger_transfers SET asset = 'BTC' WHERE id = 'fund'")
            .execute(t.db.pool())
            .await
            .unwrap();
        let found = t.db.verify_ledger().await.unwrap().discrepancies;
        assert!(
            found.iter().any(
                |d| matches!(d, Discrepancy::BadTransfer { transfer, .. } if transfer == "fund")
            ),
            "{found:?}"
        );
    }
);

both_backends!(
    two_writers_on_one_database_never_overdraw,
    |backend| async move {
        // Two writers in one process stand for two nodes: each has its own queue and clock, and the
        // database (row locks on PostgreSQL, the write lock on SQLite) must keep them honest.
        let t = TestDb::new(backend).await;
        let a = accounts(&t, 4).await;
        let equity = equity_account_id(&eth());
        let node1 = Ledger::start(t.db.clone(), WriterConfig::default(), None)
            .await
            .unwrap();
        let node2 = Ledger::start(t.db.clone(), WriterConfig::default(), None)
            .await
            .unwrap();
        for (i, acct) in a.iter().enumerate() {
            node1
                .submit(vec![single(&format!("fund{i}"), &equity, acct, 50)])
                .await
                .unwrap();
        }
        let mut tasks = Vec::new();
        for i in 0..600usize {
            let node = if i % 2 == 0 {
                node1.clone()
            } else {
                node2.clone()
            };
            let (from, to) = (a[i % 4].clone(), a[(i / 4 + 1 + i) % 4].clone());
            if from == to {
                continue;
            }
            tasks.push(tokio::spawn(async move {
                node.submit(vec![single(&format!("m{i}"), &from, &to, 7)])
                    .await
            }));
        }
        let mut ok = 0;
        for task in tasks {
            let r = task.await.unwrap().unwrap();
            assert!(
                matches!(r[0].code, ResultCode::Ok | ResultCode::InsufficientFunds),
                "{:?}",
                r[0].code
            );
            ok += i64::from(r[0].code == ResultCode::Ok);
        }
        assert!(ok > 0);
        let all = t.db.all_accounts().await.unwrap();
        let ours: Vec<_> = all.iter().filter(|x| a.contains(&x.id)).collect();
        assert!(ours.iter().all(|x| x.available() >= 0));
        assert_eq!(
            ours.iter().map(|x| x.available()).sum::<i64>(),
            200,
            "money is neither made nor lost"
        );
        assert_eq!(t.db.verify_ledger().await.unwrap().discrepancies, vec![]);
    }
);
