//! `okwallet serve` with a `[[chains]]` configuration against a real anvil node: the binary's
//! wiring of the evm chain, the sealed seed and the workers, seen from outside — a deposit sent
//! on the node is credited through the running server, and `ledger verify` holds afterwards.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::serve::start_with_env;
use crate::{okwallet, run};

// The wallet tests' anvil harness, shared by path; this suite uses part of it.
#[allow(dead_code)]
#[path = "../../../wallet/tests/it/anvil_node.rs"]
mod anvil_node;

async fn poll_deposit(client: &reqwest::Client, base: &str, token: &str, want: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let list: Value = client
            .get(format!("{base}/api/v1/deposits"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if list["items"][0]["status"] == want {
            return list["items"][0].clone();
        }
        assert!(Instant::now() < deadline, "no {want} deposit: {list}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

testkit::both_backends!(
    a_configured_evm_chain_credits_a_real_deposit_through_the_server,
    |backend| async move {
        let Some(anvil) = anvil_node::Anvil::start().await else {
            return;
        };
        let t = testkit::TestDb::new(backend).await;
        let token_contract = anvil.deploy_token(1_000_000_000_000).await;
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("okwallet.toml");
        std::fs::write(
            &config,
            format!(
                r#"
[[chains]]
id = "ethereum"
kind = "evm"
rpc_url = "{}"
chain_id = 31337
block_time_s = 1

[[chains.assets]]
code = "ETH"
chain_decimals = 18
confirmations = 3
min_withdrawal = "0.01"
withdrawal_fee = "0.001"
daily_limit = "10"
review_above = "5"

[[chains.assets]]
code = "USDT"
contract = "{token_contract}"
chain_decimals = 6
confirmations = 3
min_withdrawal = "1"
withdrawal_fee = "1"
daily_limit = "1000"
review_above = "500"
"#,
                anvil.url()
            ),
        )
        .unwrap();
        let key = String::from_utf8(run(okwallet(&t.url).arg("secret-key")).stdout).unwrap();
        let server = start_with_env(
            &t.url,
            &[],
            &[
                ("OKWALLET_CONFIG", config.to_str().unwrap()),
                ("OKWALLET_SECRET_KEY", key.trim()),
            ],
        );
        let base = server.base.clone();
        let client = reqwest::Client::new();
        let r = client
            .post(format!("{base}/api/v1/users"))
            .json(&json!({"email": "alice@example.com", "password": "correct horse battery staple 42"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let session: Value = client
            .post(format!("{base}/api/v1/sessions"))
            .json(&json!({"email": "alice@example.com", "password": "correct horse battery staple 42"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = session["token"].as_str().unwrap().to_owned();
        let address: Value = client
            .post(format!("{base}/api/v1/deposit-addresses"))
            .bearer_auth(&token)
            .json(&json!({"asset": "ETH"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(address["simulated"], false, "{address}");
        // The simulated chain's route does not exist on a real chain.
        let r = client
            .post(format!("{base}/api/v1/sim/deposits"))
            .bearer_auth(&token)
            .json(&json!({"address": address["address"], "asset": "ETH", "amount": "1"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);

        let to = chain::Address::parse(address["address"].as_str().unwrap()).unwrap();
        anvil.send_eth(to, 1_250_000_000_000_000_000).await;
        anvil.mine(1).await;
        let seen = poll_deposit(&client, &base, &token, "detected").await;
        assert_eq!(
            (&seen["amount"], &seen["confirmations_required"]),
            (&json!("1.25"), &json!(3))
        );
        anvil.mine(2).await;
        poll_deposit(&client, &base, &token, "credited").await;
        let balances: Value = client
            .get(format!("{base}/api/v1/balances"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(balances["items"][0]["available"], "1.25", "{balances}");
        drop(server);
        let verify = run(okwallet(&t.url).args(["ledger", "verify"]));
        assert!(
            verify.status.success(),
            "{}",
            String::from_utf8_lossy(&verify.stdout)
        );
    }
);
