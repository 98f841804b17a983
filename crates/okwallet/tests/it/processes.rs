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

/// Two `okwallet serve` processes on one PostgreSQL: users send to each other and pay merchant
/// requests through both nodes at once, every transfer submitted to both nodes under one
/// `Idempotency-Key`, with more asked than anyone holds. Afterwards every balance equals a model
/// replayed from the recorded movements, none is negative, each request was paid once, and
/// `ledger verify` holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_serve_processes_on_one_postgres_move_money_exactly_once() {
    use serde_json::{json, Value};
    let t = TestDb::new(testkit::Backend::Postgres).await;
    let url = t.url.clone();
    let key = text(&run(okwallet(&url).arg("secret-key")).stdout)
        .trim()
        .to_owned();
    let env = [("OKWALLET_SECRET_KEY", key.as_str())];
    let a = crate::serve::start_with_env(&url, &[], &env);
    let b = crate::serve::start_with_env(&url, &[], &env);
    const USERS: usize = 8;
    const PASSWORD: &str = "two nodes one ledger 2026";
    let add = |email: &str, role: &str| {
        let out = run(okwallet(&url).env("OKWALLET_SECRET_KEY", &key).args([
            "user",
            "add",
            "--email",
            email,
            "--password",
            PASSWORD,
            "--role",
            role,
        ]));
        assert!(out.status.success(), "{}", text(&out.stderr));
    };
    for n in 0..USERS {
        let email = format!("n{n}@example.com");
        add(&email, "user");
        // Transfers in USDT; payments in ETH, so that paying never depends on the transfers.
        for (asset, amount) in [("USDT", "50"), ("ETH", "1")] {
            let out = run(okwallet(&url).env("OKWALLET_SECRET_KEY", &key).args([
                "ledger",
                "adjust",
                "--email",
                &email,
                "--asset",
                asset,
                "--amount",
                amount,
                "--reason",
                "test funding",
            ]));
            assert!(out.status.success(), "{}", text(&out.stderr));
        }
    }
    add("shop@example.com", "merchant");
    let client = reqwest::Client::new();
    let nodes = [a.base.clone(), b.base.clone()];
    let log_in = |email: String, node: String| {
        let client = client.clone();
        async move {
            let r: Value = client
                .post(format!("{node}/api/v1/sessions"))
                .json(&json!({"email": email, "password": PASSWORD}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            r["token"].as_str().expect("a token").to_owned()
        }
    };
    let mut tokens = Vec::new();
    for n in 0..USERS {
        tokens.push(log_in(format!("n{n}@example.com"), nodes[n % 2].clone()).await);
    }
    let shop = log_in("shop@example.com".into(), nodes[0].clone()).await;
    let mut requests = Vec::new();
    for n in 0..USERS / 2 {
        let r: Value = client
            .post(format!("{}/api/v1/payment-requests", nodes[n % 2]))
            .bearer_auth(&shop)
            .json(&json!({"asset": "ETH", "amount": "0.4", "order_id": format!("o-{n}")}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        requests.push(r["id"].as_str().expect("a request").to_owned());
    }
    let mut tasks = Vec::new();
    for n in 0..USERS {
        for k in 0..9 {
            // Nine of 9 USDT is more than 50 + what arrives: some are refused.
            for node in &nodes {
                let (client, token, node) = (client.clone(), tokens[n].clone(), node.clone());
                let body = json!({"to": format!("n{}@example.com", (n + 1) % USERS), "asset": "USDT", "amount": "9"});
                let idem = format!("s-{n}-{k}");
                tasks.push(tokio::spawn(async move {
                    let r = client
                        .post(format!("{node}/api/v1/transfers"))
                        .bearer_auth(token)
                        .header("idempotency-key", idem)
                        .json(&body)
                        .send()
                        .await
                        .unwrap();
                    (r.status().as_u16(), r.text().await.unwrap())
                }));
            }
        }
        // Two users per request, on different nodes: one pays, the other is told already_paid.
        let (client, token) = (client.clone(), tokens[n].clone());
        let pay = format!(
            "{}/api/v1/payment-requests/{}/pay",
            nodes[n % 2],
            requests[n / 2]
        );
        tasks.push(tokio::spawn(async move {
            let r = client.post(pay).bearer_auth(token).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }));
    }
    let mut codes = std::collections::BTreeMap::<String, usize>::new();
    for task in tasks {
        let (status, body) = task.await.unwrap();
        assert!(
            status == 201 || (400..500).contains(&status),
            "{status} {body}"
        );
        let code = if status == 201 {
            "ok".to_owned()
        } else {
            serde_json::from_str::<Value>(&body).unwrap()["code"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        *codes.entry(code).or_default() += 1;
    }
    assert!(codes.contains_key("insufficient_funds"), "{codes:?}");
    assert_eq!(
        codes.get("already_paid").copied(),
        Some(requests.len()),
        "{codes:?}"
    );
    // The model, replayed from each user's history as the API shows it.
    let mut model = [50_000_000i64; USERS];
    let mut paid = std::collections::HashSet::new();
    let mut merchant = 0i64;
    let minor = |s: &str| -> i64 {
        let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
        whole.parse::<i64>().unwrap() * 1_000_000 + format!("{frac:0<6}").parse::<i64>().unwrap()
    };
    for n in 0..USERS {
        let history: Value = client
            .get(format!(
                "{}/api/v1/activity?limit=100&status=completed",
                nodes[(n + 1) % 2]
            ))
            .bearer_auth(&tokens[n])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for item in history["items"].as_array().unwrap() {
            if item["direction"] != "out" {
                continue;
            }
            match item["kind"].as_str().unwrap() {
                "transfer" => {
                    let amount = minor(item["amount"].as_str().unwrap());
                    model[n] -= amount;
                    model[(n + 1) % USERS] += amount;
                }
                "payment" => {
                    assert_eq!(item["amount"], "0.4");
                    merchant += 1;
                    assert!(paid.insert(item["reference"].as_str().unwrap().to_owned()));
                }
                other => panic!("unexpected {other}"),
            }
        }
    }
    assert_eq!(
        paid.len(),
        requests.len(),
        "each request paid exactly once: {codes:?}"
    );
    for n in 0..USERS {
        let balances: Value = client
            .get(format!("{}/api/v1/balances", nodes[n % 2]))
            .bearer_auth(&tokens[n])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let usdt = balances["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["asset"] == "USDT")
            .unwrap()["available"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(!usdt.starts_with('-'));
        assert_eq!(minor(&usdt), model[n], "user {n}: {codes:?}");
    }
    assert_eq!(merchant, requests.len() as i64);
    let verify = run(okwallet(&url)
        .env("OKWALLET_SECRET_KEY", &key)
        .args(["ledger", "verify"]));
    assert!(verify.status.success(), "{}", text(&verify.stdout));
    drop((a, b));
}
