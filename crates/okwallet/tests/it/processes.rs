//! Several okwallet processes writing to one database at once: no lost update, no double spend.

use std::process::Stdio;

use testkit::{both_backends, TestDb};

use crate::{okwallet, run, text};

both_backends!(
    two_writer_processes_hammering_the_same_accounts_stay_exact,
    |backend| async move {
        let t = TestDb::new(backend).await;
        let url = t.url.clone();
        let accounts = 6;
        let setup = run(okwallet(&url).args([
            "debug",
            "load",
            "--setup",
            "--count",
            "0",
            "--accounts",
            "6",
            "--funding",
            "30000",
        ]));
        assert!(setup.status.success(), "{}", text(&setup.stderr));
        // Different seeds: different transfer ids, the same few accounts.
        let spawn = |seed: &str| {
            okwallet(&url)
                .args([
                    "debug",
                    "load",
                    "--accounts",
                    "6",
                    "--count",
                    "1500",
                    "--concurrency",
                    "32",
                    "--seed",
                    seed,
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (a, b) = (spawn("101"), spawn("202"));
        let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
        for out in [&a, &b] {
            assert!(out.status.success(), "{}", text(&out.stderr));
            assert_eq!(
                text(&out.stdout)
                    .lines()
                    .filter(|l| l.starts_with("ack"))
                    .count(),
                1500
            );
        }
        let ok = |out: &std::process::Output| {
            text(&out.stdout)
                .lines()
                .filter(|l| l.contains(" ok"))
                .count()
        };
        assert!(ok(&a) > 100 && ok(&b) > 100, "both processes moved money");
        let insufficient =
            |out: &std::process::Output| text(&out.stdout).matches("insufficient_funds").count();
        assert!(
            insufficient(&a) + insufficient(&b) > 0,
            "the accounts ran dry at times, so the constraint was tested"
        );

        let all = t.db.all_accounts().await.unwrap();
        let ours: Vec<_> = all
            .iter()
            .filter(|x| x.id.as_str().starts_with("load:"))
            .collect();
        assert_eq!(ours.len(), accounts);
        assert!(
            ours.iter().all(|x| x.available() >= 0),
            "no balance below its constraint"
        );
        let equity = all.iter().find(|x| x.id.as_str() == "equity:ETH").unwrap();
        let held: i64 = ours.iter().map(|x| x.available() + x.debits_pending).sum();
        assert_eq!(
            held + equity.credits_posted,
            accounts as i64 * 30_000,
            "totals exact"
        );
        let verify = run(okwallet(&url).args(["ledger", "verify"]));
        assert!(verify.status.success(), "{}", text(&verify.stdout));
    }
);
