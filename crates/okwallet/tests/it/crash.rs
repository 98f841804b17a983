//! Crash safety: the binary runs under concurrent load and is killed with SIGKILL at random
//! moments, then restarted over the same deterministic request stream. Every acknowledged
//! request must be in the journal exactly once with the acknowledged result, a retry of any
//! request (acknowledged or not) must never apply twice, and `ledger verify` must hold.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use testkit::{both_backends, TestDb};

use crate::{okwallet, run, slow, text};

const ACCOUNTS: usize = 12;
const REQUESTS: u64 = 20_000;

fn load(url: &str, seed: u64, count: u64, setup: bool) -> std::process::Command {
    let mut cmd = okwallet(url);
    cmd.args([
        "debug",
        "load",
        "--accounts",
        &ACCOUNTS.to_string(),
        "--funding",
        "20000",
    ])
    .args([
        "--count",
        &count.to_string(),
        "--concurrency",
        "24",
        "--seed",
        &seed.to_string(),
    ]);
    if setup {
        cmd.arg("--setup");
    }
    cmd
}

/// Parses `ack <index> <codes> <replayed>` lines.
fn parse_acks(output: &str, acks: &mut HashMap<u64, String>) {
    for line in output.lines() {
        let mut parts = line.split_whitespace();
        if parts.next() != Some("ack") {
            continue;
        }
        let index: u64 = parts.next().unwrap().parse().unwrap();
        let codes = parts.next().unwrap().to_owned();
        if let Some(previous) = acks.get(&index) {
            assert_eq!(
                previous, &codes,
                "request {index} was acknowledged twice with different results"
            );
        }
        acks.insert(index, codes);
    }
}

both_backends!(
    sigkill_under_load_loses_nothing_acknowledged,
    |backend| async move {
        let t = TestDb::new(backend).await;
        let url = t.url.clone();
        let kills = if slow() { 20 } else { 4 };
        let seed = 7;
        let setup = run(&mut load(&url, seed, 0, true));
        assert!(setup.status.success(), "{}", text(&setup.stderr));

        let mut rng = rand::rngs::StdRng::seed_from_u64(42);
        let mut acks: HashMap<u64, String> = HashMap::new();
        let mut killed = 0;
        let mut attempts = 0;
        while killed < kills {
            attempts += 1;
            assert!(
                attempts <= kills * 3,
                "the load kept finishing before it could be killed"
            );
            let mut child = load(&url, seed, REQUESTS, false)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let stdout = child.stdout.take().unwrap();
            let reader = std::thread::spawn(move || {
                let mut all = String::new();
                for line in BufReader::new(stdout).lines() {
                    all.push_str(&line.unwrap());
                    all.push('\n');
                }
                all
            });
            // Let it start and make progress, then kill it mid-flight.
            tokio::time::sleep(Duration::from_millis(rng.gen_range(100..1200))).await;
            let finished = child.try_wait().unwrap().is_some();
            child.kill().unwrap(); // SIGKILL on Unix
            child.wait().unwrap();
            let output = reader.join().unwrap();
            let before = acks.len();
            parse_acks(&output, &mut acks);
            if !finished {
                killed += 1;
            }
            assert!(acks.len() >= before);
        }
        assert!(
            !acks.is_empty(),
            "the load made no progress before the kills"
        );

        // The full run again: every request is retried with the same ids.
        let out = run(&mut load(&url, seed, REQUESTS, false));
        assert!(out.status.success(), "{}", text(&out.stderr));
        let mut final_acks: HashMap<u64, String> = HashMap::new();
        parse_acks(&text(&out.stdout), &mut final_acks);
        assert_eq!(final_acks.len() as u64, REQUESTS);
        for (index, codes) in &acks {
            assert_eq!(
                &final_acks[index], codes,
                "request {index}: the retry answered differently than the acknowledgement"
            );
        }
        // Exactly once: each acknowledged success is one journal row, and the retry applied nothing new.
        for (index, codes) in acks.iter().take(300) {
            if codes == "ok" {
                assert_eq!(
                    t.db.count_transfers_with_id(&format!("load-{seed}-{index}"))
                        .await
                        .unwrap(),
                    1
                );
            }
        }
        let retried = run(&mut load(&url, seed, REQUESTS, false));
        assert!(
            text(&retried.stdout)
                .lines()
                .filter(|l| l.starts_with("ack"))
                .all(|l| l.ends_with(" true")),
            "a third run only replays"
        );
        let verify = run(okwallet(&url).args(["ledger", "verify"]));
        assert!(verify.status.success(), "{}", text(&verify.stdout));
        let total: i64 =
            t.db.all_accounts()
                .await
                .unwrap()
                .iter()
                .filter(|a| a.id.as_str().starts_with("load:"))
                .map(|a| a.available() + a.debits_pending)
                .sum();
        let equity =
            t.db.account(&store::accounts::equity_account_id(
                &ledger::AssetCode::parse("ETH").unwrap(),
            ))
            .await
            .unwrap()
            .unwrap();
        // Funding came from equity; fees went back to it; holds are posted in the same chain.
        assert_eq!(
            total + equity.credits_posted,
            ACCOUNTS as i64 * 20_000,
            "money is neither made nor lost"
        );
    }
);
