//! Transfers, conversions, payments, refunds, webhooks and the activity history through the API,
//! on both databases: the contract's routes and codes, refusals kept with their reasons,
//! idempotency, concurrency against a model, and signed webhooks with retries.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use ledger::{Amount, AssetCode, Transfer, TransferId, TransferKind};
use serde_json::{json, Value};
use store::accounts::AccountKind;
use testkit::both_backends;

use crate::accounts::{code, STRONG};
use crate::App;

impl App {
    /// Gives a user `amount` (decimal) of an asset from the operator's equity.
    pub(crate) async fn give(&self, user_id: &str, asset: &str, amount: &str) {
        self.grant(AccountKind::User, Some(user_id), asset, amount)
            .await;
    }

    async fn grant(&self, kind: AccountKind, user_id: Option<&str>, asset: &str, amount: &str) {
        let db = &self.state.db;
        let code = AssetCode::parse(asset).unwrap();
        let decimals = db
            .assets()
            .await
            .unwrap()
            .into_iter()
            .find(|a| a.code == code)
            .unwrap()
            .decimals;
        let to = db.ensure_account(kind, &code, user_id).await.unwrap();
        let from = db
            .ensure_account(AccountKind::Equity, &code, None)
            .await
            .unwrap();
        let results = self
            .state
            .ledger
            .submit(vec![Transfer {
                id: TransferId::parse(&format!("grant:{}", store::new_id())).unwrap(),
                kind: TransferKind::Single {
                    debit: from,
                    credit: to,
                    amount: Amount::parse_decimal(amount, decimals).unwrap(),
                },
                asset: code,
                code: 1,
                reference: "test".into(),
                linked: false,
            }])
            .await
            .unwrap();
        assert_eq!(results[0].code, ledger::ResultCode::Ok);
    }

    /// A signed-up, logged-in user: (id, token).
    pub(crate) async fn customer(&self, email: &str) -> (String, String) {
        let id = self.sign_up(email).await;
        (id, self.token(email).await)
    }

    pub(crate) async fn merchant(&self, email: &str) -> (String, String) {
        let hash = identity::hash_password(STRONG).unwrap();
        let user = self
            .state
            .db
            .create_user(
                &identity::Email::parse(email).unwrap(),
                &hash,
                identity::Role::Merchant,
                "en",
            )
            .await
            .unwrap();
        (user.id, self.token(email).await)
    }

    pub(crate) async fn available(&self, token: &str, asset: &str) -> String {
        let body: Value = self
            .get_auth("/api/v1/balances", token)
            .await
            .json()
            .await
            .unwrap();
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["asset"] == asset)
            .unwrap()["available"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn post_keyed(
        &self,
        path: &str,
        body: Value,
        token: &str,
        key: &str,
    ) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .bearer_auth(token)
            .header("idempotency-key", key)
            .json(&body)
            .send()
            .await
            .unwrap()
    }
}

fn send(to: &str, asset: &str, amount: &str) -> Value {
    json!({"to": to, "asset": asset, "amount": amount})
}

both_backends!(
    a_transfer_moves_money_at_once_and_every_refusal_has_a_reason,
    |backend| async move {
        let app = App::spawn(backend).await;
        let (alice, alice_t) = app.customer("alice@example.com").await;
        let (_bob, bob_t) = app.customer("bob@example.com").await;
        app.give(&alice, "USDT", "100").await;

        // The confirmation step shows whom it goes to, masked.
        let r = app
            .post_json(
                "/api/v1/transfers/recipient",
                json!({"to": "BOB@example.com"}),
                Some(&alice_t),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let who: Value = r.json().await.unwrap();
        assert_eq!(who["masked"], "bo***@example.com");
        assert_eq!(who["can_receive"], true);

        let mut body = send("bob@example.com", "USDT", "12.5");
        body["note"] = json!("午饭 AA");
        let r = app
            .post_json("/api/v1/transfers", body, Some(&alice_t))
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let t: Value = r.json().await.unwrap();
        assert_eq!(t["status"], "completed");
        assert_eq!(t["kind"], "transfer");
        assert_eq!(t["direction"], "out");
        assert_eq!(t["amount"], "12.5");
        assert_eq!(t["counterparty"], "bo***@example.com");
        assert_eq!(app.available(&alice_t, "USDT").await, "87.5");
        assert_eq!(app.available(&bob_t, "USDT").await, "12.5");

        // Refusals: each with its code; the recorded ones name the attempt.
        let cases = [
            (
                send("alice@example.com", "USDT", "1"),
                StatusCode::UNPROCESSABLE_ENTITY,
                "cannot_send_to_self",
            ),
            (
                send("bob@example.com", "USDT", "1000"),
                StatusCode::UNPROCESSABLE_ENTITY,
                "insufficient_funds",
            ),
            (
                send("nobody@example.com", "USDT", "1"),
                StatusCode::UNPROCESSABLE_ENTITY,
                "recipient_not_found",
            ),
            (
                send("bob@example.com", "USDT", "0.0000001"),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_amount",
            ),
            (
                send("bob@example.com", "XYZ", "1"),
                StatusCode::UNPROCESSABLE_ENTITY,
                "asset_not_supported",
            ),
            (
                send("not an email", "USDT", "1"),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_email",
            ),
            (
                json!({"to": "bob@example.com", "asset": "USDT", "amount": 5}),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
            ),
            (
                json!({"to": "bob@example.com", "asset": "USDT", "amount": "1", "memo": "x"}),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
            ),
        ];
        for (body, status, expected) in cases {
            let (s, c, problem) = code(
                app.post_json("/api/v1/transfers", body.clone(), Some(&alice_t))
                    .await,
            )
            .await;
            assert_eq!((s, c.as_str()), (status, expected), "{body} → {problem}");
        }
        let (_, _, problem) = code(
            app.post_json(
                "/api/v1/transfers",
                send("bob@example.com", "USDT", "1000"),
                Some(&alice_t),
            )
            .await,
        )
        .await;
        let refused_id = problem["movement_id"]
            .as_str()
            .expect("the refused attempt is named")
            .to_owned();
        assert!(
            problem["detail"].as_str().unwrap().contains("balance"),
            "{problem}"
        );

        // The limit: a user's own limit of 20 USDT a day; 12.5 is used.
        let admin_hash = identity::hash_password(STRONG).unwrap();
        app.state
            .db
            .create_user(
                &identity::Email::parse("root@example.com").unwrap(),
                &admin_hash,
                identity::Role::Admin,
                "en",
            )
            .await
            .unwrap();
        let admin_t = app.token("root@example.com").await;
        let r = app
            .client
            .put(app.url(&format!("/api/v1/admin/users/{alice}/limits")))
            .bearer_auth(&admin_t)
            .json(&json!({"kind": "transfer", "asset": "USDT", "daily": "20"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let r = app
            .client
            .put(app.url(&format!("/api/v1/admin/users/{alice}/limits")))
            .bearer_auth(&alice_t)
            .json(&json!({"kind": "transfer", "asset": "USDT", "daily": "20000"}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::FORBIDDEN,
            "only administrators set limits"
        );
        let (s, c, _) = code(
            app.post_json(
                "/api/v1/transfers",
                send("bob@example.com", "USDT", "7.6"),
                Some(&alice_t),
            )
            .await,
        )
        .await;
        assert_eq!(
            (s, c.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "limit_exceeded")
        );
        let r = app
            .post_json(
                "/api/v1/transfers",
                send("bob@example.com", "USDT", "7.5"),
                Some(&alice_t),
            )
            .await;
        assert_eq!(
            r.status(),
            StatusCode::CREATED,
            "exactly up to the limit is allowed"
        );
        let limits: Value = app
            .get_auth("/api/v1/limits", &alice_t)
            .await
            .json()
            .await
            .unwrap();
        let usdt = limits["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["kind"] == "transfer" && l["asset"] == "USDT")
            .unwrap()
            .clone();
        assert_eq!(
            (
                usdt["daily"].as_str(),
                usdt["used"].as_str(),
                usdt["left"].as_str(),
                usdt["own"].as_bool()
            ),
            (Some("20"), Some("20"), Some("0"), Some(true))
        );

        // Frozen: refused and recorded.
        let r = app
            .post_json("/api/v1/me/freeze", json!({}), Some(&bob_t))
            .await;
        assert!(r.status().is_success());
        let (s, c, _) = code(
            app.post_json(
                "/api/v1/transfers",
                send("alice@example.com", "USDT", "1"),
                Some(&bob_t),
            )
            .await,
        )
        .await;
        assert_eq!(
            (s, c.as_str()),
            (StatusCode::UNAUTHORIZED, "unauthorized"),
            "freezing revokes the sessions"
        );
        let who: Value = app
            .post_json(
                "/api/v1/transfers/recipient",
                json!({"to": "bob@example.com"}),
                Some(&alice_t),
            )
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(who["can_receive"], false);
        app.state
            .db
            .set_user_limit(&alice, "transfer", "USDT", None)
            .await
            .unwrap();
        let (s, c, _) = code(
            app.post_json(
                "/api/v1/transfers",
                send("bob@example.com", "USDT", "1"),
                Some(&alice_t),
            )
            .await,
        )
        .await;
        assert_eq!(
            (s, c.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "recipient_cannot_receive")
        );

        // The refused attempt is in the history with its explanation.
        let item: Value = app
            .get_auth(&format!("/api/v1/activity/{refused_id}"), &alice_t)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(item["status"], "refused");
        assert_eq!(item["reason_code"], "insufficient_funds");
        assert!(!item["reason_text"]["next_step"]
            .as_str()
            .unwrap()
            .is_empty());
        // Bob never sees Alice's refused attempts.
        let r = app
            .get_auth(
                &format!("/api/v1/activity/{refused_id}"),
                &app.token("bob@example.com").await,
            )
            .await;
        assert!(r.status() == StatusCode::NOT_FOUND || r.status() == StatusCode::UNAUTHORIZED);

        let report = app.state.db.verify_ledger().await.unwrap();
        assert!(
            report.discrepancies.is_empty(),
            "{:?}",
            report.discrepancies
        );
    }
);

both_backends!(
    an_idempotency_key_answers_the_first_transfer_again_and_refuses_another_body,
    |backend| async move {
        let app = App::spawn(backend).await;
        let (alice, alice_t) = app.customer("alice@example.com").await;
        let (_bob, bob_t) = app.customer("bob@example.com").await;
        app.give(&alice, "ETH", "1").await;
        let body = send("bob@example.com", "ETH", "0.25");
        let first = app
            .post_keyed("/api/v1/transfers", body.clone(), &alice_t, "k-1")
            .await;
        assert_eq!(first.status(), StatusCode::CREATED);
        let first: Value = first.json().await.unwrap();
        let again = app
            .post_keyed("/api/v1/transfers", body.clone(), &alice_t, "k-1")
            .await;
        assert_eq!(again.status(), StatusCode::CREATED);
        assert_eq!(again.headers()["idempotent-replayed"], "true");
        let again: Value = again.json().await.unwrap();
        assert_eq!(first["id"], again["id"]);
        let (s, c, _) = code(
            app.post_keyed(
                "/api/v1/transfers",
                send("bob@example.com", "ETH", "0.3"),
                &alice_t,
                "k-1",
            )
            .await,
        )
        .await;
        assert_eq!(
            (s, c.as_str()),
            (StatusCode::CONFLICT, "idempotency_conflict")
        );
        let (s, c, _) = code(
            app.post_keyed(
                "/api/v1/transfers",
                body.clone(),
                &alice_t,
                "bad key with spaces",
            )
            .await,
        )
        .await;
        assert_eq!(
            (s, c.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_idempotency_key")
        );
        // Twenty concurrent duplicates: one transfer.
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let client = app.client.clone();
            let url = app.url("/api/v1/transfers");
            let token = alice_t.clone();
            let body = send("bob@example.com", "ETH", "0.1");
            tasks.push(tokio::spawn(async move {
                client
                    .post(url)
                    .bearer_auth(token)
                    .header("idempotency-key", "k-2")
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
                    .status()
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), StatusCode::CREATED);
        }
        assert_eq!(app.available(&bob_t, "ETH").await, "0.35");
        assert_eq!(app.available(&alice_t, "ETH").await, "0.65");
    }
);

both_backends!(
    many_users_sending_and_paying_at_once_match_a_model,
    |backend| async move {
        let app = App::spawn(backend).await;
        const USERS: usize = 12;
        let mut users = Vec::new();
        for n in 0..USERS {
            let email = format!("u{n}@example.com");
            let (id, token) = app.customer(&email).await;
            app.give(&id, "USDT", "50").await;
            // Payments are in ETH, so whether a payer can pay never depends on the transfers.
            app.give(&id, "ETH", "1").await;
            users.push((id, token, email));
        }
        let (_m, merchant_t) = app.merchant("shop@example.com").await;
        // Each user tries 10 transfers of 7 USDT (only 7 fit in 50) to the next user, each sent
        // twice under one key, and pays one request; requests are paid at most once.
        let mut requests = Vec::new();
        for _ in 0..USERS / 2 {
            let r = app
                .post_json(
                    "/api/v1/payment-requests",
                    json!({"asset": "ETH", "amount": "0.3"}),
                    Some(&merchant_t),
                )
                .await;
            assert_eq!(r.status(), StatusCode::CREATED);
            requests.push(
                r.json::<Value>().await.unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        let mut tasks = Vec::new();
        for (n, (_, token, _)) in users.iter().enumerate() {
            let to = users[(n + 1) % USERS].2.clone();
            for k in 0..10 {
                for _dup in 0..2 {
                    let client = app.client.clone();
                    let url = app.url("/api/v1/transfers");
                    let token = token.clone();
                    let body = send(&to, "USDT", "7");
                    let key = format!("t-{n}-{k}");
                    tasks.push(tokio::spawn(async move {
                        let r = client
                            .post(url)
                            .bearer_auth(token)
                            .header("idempotency-key", key)
                            .json(&body)
                            .send()
                            .await
                            .unwrap();
                        (r.status(), r.json::<Value>().await.unwrap())
                    }));
                }
            }
            let client = app.client.clone();
            let url = app.url(&format!(
                "/api/v1/payment-requests/{}/pay",
                requests[n % requests.len()]
            ));
            let token = token.clone();
            tasks.push(tokio::spawn(async move {
                let r = client.post(url).bearer_auth(token).send().await.unwrap();
                (r.status(), r.json::<Value>().await.unwrap())
            }));
        }
        let mut by_status: BTreeMap<String, usize> = BTreeMap::new();
        for t in tasks {
            let (status, body) = t.await.unwrap();
            assert!(
                status.is_success() || status.is_client_error(),
                "{status} {body}"
            );
            let key = if status.is_success() {
                "ok".to_owned()
            } else {
                body["code"].as_str().unwrap().to_owned()
            };
            *by_status.entry(key).or_default() += 1;
        }
        // The model: replay the recorded completed movements over the starting balances.
        let mut model: BTreeMap<String, i64> = BTreeMap::new();
        let mut eth_paid: BTreeMap<String, i64> = BTreeMap::new();
        for (id, _, _) in &users {
            model.insert(id.clone(), 50_000_000);
        }
        let mut paid = HashSet::new();
        let mut transfers = 0;
        for (id, _, _) in &users {
            let filter = store::movements::MovementFilter::default();
            for m in app
                .state
                .db
                .movements_of(id, &filter, 10_000)
                .await
                .unwrap()
            {
                if m.user_id != *id || m.status != "completed" {
                    continue;
                }
                if m.kind == "payment" {
                    assert!(
                        paid.insert(m.reference.clone().unwrap()),
                        "a request paid twice"
                    );
                    *eth_paid.entry(m.user_id.clone()).or_default() += m.amount;
                    continue;
                }
                transfers += 1;
                *model.get_mut(&m.user_id).unwrap() -= m.amount;
                if let Some(to) = m.counterparty_id.as_ref().and_then(|c| model.get_mut(c)) {
                    *to += m.amount;
                }
            }
        }
        // Two payers per request, both able to pay: exactly one pays, the other is told.
        assert_eq!(paid.len(), requests.len(), "{by_status:?}");
        assert_eq!(
            by_status.get("already_paid").copied(),
            Some(requests.len()),
            "{by_status:?}"
        );
        // Everyone starts with 50 and can always afford seven transfers of 7 of their own.
        assert!(transfers >= USERS * 7, "{transfers} {by_status:?}");
        // 12 × 70 asked of 600 in all: some must be refused, and each refusal says why.
        assert!(
            by_status.get("insufficient_funds").copied().unwrap_or(0) > 0,
            "{by_status:?}"
        );
        for (id, token, _) in &users {
            let available = app.available(token, "USDT").await;
            let expected = payments::show(model[id], 6);
            assert_eq!(available, expected, "{id}");
            assert!(!available.starts_with('-'));
            let eth = app.available(token, "ETH").await;
            let expected_eth =
                payments::show(1_000_000_000 - eth_paid.get(id).copied().unwrap_or(0), 9);
            assert_eq!(eth, expected_eth, "{id}");
        }
        let report = app.state.db.verify_ledger().await.unwrap();
        assert!(
            report.discrepancies.is_empty(),
            "{:?}",
            report.discrepancies
        );
    }
);

both_backends!(
    a_conversion_is_all_or_nothing_at_a_quote_that_expires,
    |backend| async move {
        let app = App::spawn(backend).await;
        let (alice, alice_t) = app.customer("alice@example.com").await;
        app.give(&alice, "ETH", "2").await;
        let (_, _, _) = code(
            app.post_json(
                "/api/v1/quotes",
                json!({"from_asset": "ETH", "to_asset": "USDT", "amount": "1"}),
                Some(&alice_t),
            )
            .await,
        )
        .await;
        // No prices yet: the admin feed knows none.
        let (s, c, _) = code(
            app.post_json(
                "/api/v1/quotes",
                json!({"from_asset": "ETH", "to_asset": "USDT", "amount": "1"}),
                Some(&alice_t),
            )
            .await,
        )
        .await;
        assert_eq!(
            (s, c.as_str()),
            (StatusCode::SERVICE_UNAVAILABLE, "price_unavailable")
        );
        app.state.db.set_price("ETH", "3000").await.unwrap();
        app.state.db.set_price("USDT", "1").await.unwrap();
        let (s, c, _) = code(
            app.post_json(
                "/api/v1/quotes",
                json!({"from_asset": "ETH", "to_asset": "ETH", "amount": "1"}),
                Some(&alice_t),
            )
            .await,
        )
        .await;
        assert_eq!(
            (s, c.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "same_asset")
        );

        let r = app
            .post_json(
                "/api/v1/quotes",
                json!({"from_asset": "ETH", "to_asset": "USDT", "amount": "1"}),
                Some(&alice_t),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let q: Value = r.json().await.unwrap();
        assert_eq!(
            (
                q["fee"].as_str(),
                q["to_amount"].as_str(),
                q["rate"].as_str()
            ),
            (Some("0.001"), Some("2982.015"), Some("2985"))
        );
        assert!(q["expires_in_s"].as_i64().unwrap() <= 15);
        // No liquidity: refused, and nothing at all moved (not even the fee).
        let (s, c, problem) = code(
            app.post_json(
                "/api/v1/conversions",
                json!({"quote_id": q["id"]}),
                Some(&alice_t),
            )
            .await,
        )
        .await;
        assert_eq!(
            (s, c.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "insufficient_liquidity"),
            "{problem}"
        );
        assert_eq!(app.available(&alice_t, "ETH").await, "2");
        assert_eq!(app.available(&alice_t, "USDT").await, "0");
        // Accepting the same quote again answers the same refusal (a quote converts once).
        let (_, c, _) = code(
            app.post_json(
                "/api/v1/conversions",
                json!({"quote_id": q["id"]}),
                Some(&alice_t),
            )
            .await,
        )
        .await;
        assert_eq!(c, "insufficient_liquidity");

        app.grant(AccountKind::Liquidity, None, "USDT", "1000000")
            .await;
        let q: Value = app
            .post_json(
                "/api/v1/quotes",
                json!({"from_asset": "ETH", "to_asset": "USDT", "amount": "1"}),
                Some(&alice_t),
            )
            .await
            .json()
            .await
            .unwrap();
        let r = app
            .post_json(
                "/api/v1/conversions",
                json!({"quote_id": q["id"]}),
                Some(&alice_t),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let m: Value = r.json().await.unwrap();
        assert_eq!(
            (
                m["kind"].as_str(),
                m["direction"].as_str(),
                m["to_amount"].as_str()
            ),
            (Some("conversion"), Some("exchange"), Some("2982.015"))
        );
        assert_eq!(app.available(&alice_t, "ETH").await, "1");
        assert_eq!(app.available(&alice_t, "USDT").await, "2982.015");
        let r = app
            .post_json(
                "/api/v1/conversions",
                json!({"quote_id": q["id"]}),
                Some(&alice_t),
            )
            .await;
        assert_eq!(
            r.status(),
            StatusCode::CREATED,
            "accepting again answers the first conversion"
        );
        assert_eq!(r.headers()["idempotent-replayed"], "true");
        assert_eq!(app.available(&alice_t, "USDT").await, "2982.015");

        // Someone else's quote is not found; an expired one is refused and nothing moves.
        let (_bob, bob_t) = app.customer("bob@example.com").await;
        let q2: Value = app
            .post_json(
                "/api/v1/quotes",
                json!({"from_asset": "ETH", "to_asset": "USDT", "amount": "0.5"}),
                Some(&alice_t),
            )
            .await
            .json()
            .await
            .unwrap();
        let (s, _, _) = code(
            app.post_json(
                "/api/v1/conversions",
                json!({"quote_id": q2["id"]}),
                Some(&bob_t),
            )
            .await,
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let mut stale = app
            .state
            .db
            .quote(q2["id"].as_str().unwrap())
            .await
            .unwrap()
            .unwrap();
        stale.id = format!("qt_stale{}", store::new_id());
        stale.expires_at_ms = store::now_ms() - 1;
        app.state.db.insert_quote(&stale).await.unwrap();
        let (s, c, _) = code(
            app.post_json(
                "/api/v1/conversions",
                json!({"quote_id": stale.id}),
                Some(&alice_t),
            )
            .await,
        )
        .await;
        assert_eq!((s, c.as_str()), (StatusCode::GONE, "quote_expired"));
        assert_eq!(app.available(&alice_t, "ETH").await, "1");
        // Short of funds in the source asset: refused with the liquidity untouched.
        let q3: Value = app
            .post_json(
                "/api/v1/quotes",
                json!({"from_asset": "ETH", "to_asset": "USDT", "amount": "1.5"}),
                Some(&alice_t),
            )
            .await
            .json()
            .await
            .unwrap();
        let (_, c, _) = code(
            app.post_json(
                "/api/v1/conversions",
                json!({"quote_id": q3["id"]}),
                Some(&alice_t),
            )
            .await,
        )
        .await;
        assert_eq!(c, "insufficient_funds");
        let liquidity = app
            .state
            .db
            .account(&store::accounts::system_account_id(
                AccountKind::Liquidity,
                &AssetCode::parse("USDT").unwrap(),
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(liquidity.available(), 1_000_000_000_000 - 2_982_015_000);
        let report = app.state.db.verify_ledger().await.unwrap();
        assert!(
            report.discrepancies.is_empty(),
            "{:?}",
            report.discrepancies
        );
    }
);

/// A webhook receiver that checks signatures, answers 500 to the first `fail_first` deliveries,
/// and applies each event id once.
#[derive(Clone, Default)]
struct Receiver {
    secret: Arc<Mutex<String>>,
    fail_first: Arc<Mutex<usize>>,
    seen: Arc<Mutex<Vec<String>>>,
    effects: Arc<Mutex<Vec<String>>>,
    bad_signatures: Arc<Mutex<usize>>,
}

async fn receive(
    axum::extract::State(r): axum::extract::State<Receiver>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    let signature = headers
        .get("okwallet-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let secret = r.secret.lock().unwrap().clone();
    if !payments::webhook::verify(
        secret.as_bytes(),
        signature,
        &body,
        store::now_ms() / 1000,
        300,
    ) {
        *r.bad_signatures.lock().unwrap() += 1;
        return StatusCode::BAD_REQUEST;
    }
    let event: Value = serde_json::from_slice(&body).unwrap();
    let id = event["id"].as_str().unwrap().to_owned();
    r.seen.lock().unwrap().push(id.clone());
    {
        let mut fail = r.fail_first.lock().unwrap();
        if *fail > 0 {
            *fail -= 1;
            return StatusCode::INTERNAL_SERVER_ERROR;
        }
    }
    let mut effects = r.effects.lock().unwrap();
    if !effects.contains(&id) {
        effects.push(id);
    }
    StatusCode::OK
}

both_backends!(
    merchants_are_paid_refunded_and_told_by_signed_retried_webhooks,
    |backend| async move {
        let app = App::spawn(backend).await;
        let receiver = Receiver::default();
        *receiver.fail_first.lock().unwrap() = 2;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let hook_url = format!("http://{}/hooks", listener.local_addr().unwrap());
        let router = axum::Router::new()
            .route("/hooks", axum::routing::post(receive))
            .with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });

        let (_merchant, merchant_t) = app.merchant("shop@example.com").await;
        let (payer, payer_t) = app.customer("payer@example.com").await;
        let (_poor, poor_t) = app.customer("poor@example.com").await;
        app.give(&payer, "USDT", "100").await;

        // Only merchants create requests and webhooks.
        let (s, _, _) = code(
            app.post_json(
                "/api/v1/payment-requests",
                json!({"asset": "USDT", "amount": "1"}),
                Some(&payer_t),
            )
            .await,
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let r = app
            .client
            .put(app.url("/api/v1/merchant/webhook"))
            .bearer_auth(&merchant_t)
            .json(&json!({"url": hook_url}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let hook: Value = r.json().await.unwrap();
        *receiver.secret.lock().unwrap() = hook["secret"]
            .as_str()
            .expect("the secret is shown once")
            .to_owned();
        let again: Value = app
            .get_auth("/api/v1/merchant/webhook", &merchant_t)
            .await
            .json()
            .await
            .unwrap();
        assert!(again["secret"].is_null(), "never shown again");

        let r = app.post_json("/api/v1/payment-requests", json!({"asset": "USDT", "amount": "30", "description": "咖啡 x2", "order_id": "A-1001", "expires_in_s": 600}), Some(&merchant_t)).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let req: Value = r.json().await.unwrap();
        let id = req["id"].as_str().unwrap().to_owned();
        assert_eq!(req["status"], "open");
        assert!(req["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/pay/{id}")));
        let qr = app
            .client
            .get(app.url(&format!("/api/v1/payment-requests/{id}/qr.svg")))
            .send()
            .await
            .unwrap();
        assert_eq!(qr.headers()["content-type"], "image/svg+xml");
        assert!(qr.text().await.unwrap().contains("<svg"));
        let seen_by_payer: Value = app
            .get_auth(&format!("/api/v1/payment-requests/{id}"), &payer_t)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(seen_by_payer["merchant"], "sh***@example.com");
        assert!(
            seen_by_payer.get("attempts").is_none(),
            "payers do not see other attempts"
        );

        // A failed attempt, then the payment, then someone else too late.
        let (s, c, _) = code(
            app.post_json(
                &format!("/api/v1/payment-requests/{id}/pay"),
                json!({}),
                Some(&poor_t),
            )
            .await,
        )
        .await;
        assert_eq!(
            (s, c.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "insufficient_funds")
        );
        let r = app
            .post_json(
                &format!("/api/v1/payment-requests/{id}/pay"),
                json!({}),
                Some(&payer_t),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let payment: Value = r.json().await.unwrap();
        assert_eq!(payment["kind"], "payment");
        let (s, c, _) = code(
            app.post_json(
                &format!("/api/v1/payment-requests/{id}/pay"),
                json!({}),
                Some(&payer_t),
            )
            .await,
        )
        .await;
        assert_eq!((s, c.as_str()), (StatusCode::CONFLICT, "already_paid"));
        assert_eq!(app.available(&payer_t, "USDT").await, "70");
        assert_eq!(app.available(&merchant_t, "USDT").await, "30");

        // Partial refund, then a refund beyond what is left, then the rest.
        let r = app
            .post_json(
                &format!("/api/v1/payment-requests/{id}/refunds"),
                json!({"amount": "10", "reason": "one cup was cold"}),
                Some(&merchant_t),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let (s, c, _) = code(
            app.post_json(
                &format!("/api/v1/payment-requests/{id}/refunds"),
                json!({"amount": "25"}),
                Some(&merchant_t),
            )
            .await,
        )
        .await;
        assert_eq!(
            (s, c.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "refund_exceeds_payment")
        );
        let (s, _, _) = code(
            app.post_json(
                &format!("/api/v1/payment-requests/{id}/refunds"),
                json!({}),
                Some(&payer_t),
            )
            .await,
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let r = app
            .post_json(
                &format!("/api/v1/payment-requests/{id}/refunds"),
                json!({}),
                Some(&merchant_t),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED, "the rest");
        assert_eq!(app.available(&payer_t, "USDT").await, "100");
        let full: Value = app
            .get_auth(&format!("/api/v1/payment-requests/{id}"), &merchant_t)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            (
                full["status"].as_str(),
                full["refunded"].as_str(),
                full["payer"].as_str()
            ),
            (Some("refunded"), Some("30"), Some("pa***@example.com"))
        );
        let reasons: Vec<(String, Option<String>)> = full["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["kind"].as_str().unwrap().to_owned(),
                    a["reason_code"].as_str().map(str::to_owned),
                )
            })
            .collect();
        assert!(
            reasons.contains(&("payment".into(), Some("insufficient_funds".into()))),
            "{reasons:?}"
        );
        assert!(
            reasons.contains(&("payment".into(), Some("already_paid".into()))),
            "{reasons:?}"
        );
        assert!(
            reasons.contains(&("refund".into(), Some("refund_exceeds_payment".into()))),
            "{reasons:?}"
        );

        // Expired and cancelled requests.
        let short: Value = app
            .post_json(
                "/api/v1/payment-requests",
                json!({"asset": "USDT", "amount": "1", "expires_in_s": 60}),
                Some(&merchant_t),
            )
            .await
            .json()
            .await
            .unwrap();
        let mut expired = app
            .state
            .db
            .payment_request(short["id"].as_str().unwrap())
            .await
            .unwrap()
            .unwrap();
        expired.id = format!("pr_exp{}", store::new_id());
        expired.expires_at_ms = store::now_ms() - 1;
        app.state.db.insert_payment_request(&expired).await.unwrap();
        let (s, c, _) = code(
            app.post_json(
                &format!("/api/v1/payment-requests/{}/pay", expired.id),
                json!({}),
                Some(&payer_t),
            )
            .await,
        )
        .await;
        assert_eq!((s, c.as_str()), (StatusCode::GONE, "expired"));
        let r = app
            .post_json(
                &format!(
                    "/api/v1/payment-requests/{}/cancel",
                    short["id"].as_str().unwrap()
                ),
                json!({}),
                Some(&merchant_t),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let (s, c, _) = code(
            app.post_json(
                &format!(
                    "/api/v1/payment-requests/{}/pay",
                    short["id"].as_str().unwrap()
                ),
                json!({}),
                Some(&payer_t),
            )
            .await,
        )
        .await;
        assert_eq!((s, c.as_str()), (StatusCode::CONFLICT, "request_cancelled"));
        // The payer's history explains each failure too.
        let failed: Value = app
            .get_auth("/api/v1/activity?kind=payment&status=refused", &payer_t)
            .await
            .json()
            .await
            .unwrap();
        let codes: HashSet<&str> = failed["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["reason_code"].as_str().unwrap())
            .collect();
        assert_eq!(
            codes,
            HashSet::from(["already_paid", "expired", "request_cancelled"])
        );

        // Webhooks: payment.succeeded and two refund.succeeded, delivered after two 500s, signed.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            if receiver.effects.lock().unwrap().len() == 3 {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "webhooks not delivered: {:?}",
                receiver.seen.lock().unwrap()
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(*receiver.bad_signatures.lock().unwrap(), 0);
        // The receiver answers before the sender records the answer: wait for the log too.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let log: Value = loop {
            let log: Value = app
                .get_auth("/api/v1/merchant/webhook/deliveries", &merchant_t)
                .await
                .json()
                .await
                .unwrap();
            let items = log["items"].as_array().unwrap();
            if items.len() == 3 && items.iter().all(|d| d["status"] == "delivered") {
                break log;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the delivery log never showed all three delivered: {log}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        };
        let items = log["items"].as_array().unwrap();
        let retried: Vec<&Value> = items
            .iter()
            .filter(|d| d["attempts"].as_i64().unwrap() > 1)
            .collect();
        assert!(!retried.is_empty(), "the 500s caused retries: {log}");
        let detail: Value = app
            .get_auth(
                &format!(
                    "/api/v1/merchant/webhook/deliveries/{}",
                    retried[0]["id"].as_str().unwrap()
                ),
                &merchant_t,
            )
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(detail["log"][0]["status_code"], 500);
        // Replaying one delivers it again with the same id, and the receiver does nothing twice.
        let event_id = items[0]["id"].as_str().unwrap().to_owned();
        let r = app
            .post_json(
                &format!("/api/v1/merchant/webhook/deliveries/{event_id}/replay"),
                json!({}),
                Some(&merchant_t),
            )
            .await;
        assert_eq!(r.status(), StatusCode::ACCEPTED);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while receiver
            .seen
            .lock()
            .unwrap()
            .iter()
            .filter(|i| **i == event_id)
            .count()
            < 2
        {
            assert!(
                std::time::Instant::now() < deadline,
                "the replay did not arrive"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(
            receiver.effects.lock().unwrap().len(),
            3,
            "no second effect"
        );
        // Another merchant's delivery is not found.
        let (_, other_t) = app.merchant("other@example.com").await;
        let r = app
            .get_auth(
                &format!("/api/v1/merchant/webhook/deliveries/{event_id}"),
                &other_t,
            )
            .await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let report = app.state.db.verify_ledger().await.unwrap();
        assert!(
            report.discrepancies.is_empty(),
            "{:?}",
            report.discrepancies
        );
    }
);

both_backends!(
    the_activity_history_lists_filters_pages_and_exports_every_movement,
    |backend| async move {
        let app = App::spawn(backend).await;
        let (alice, alice_t) = app.customer("alice@example.com").await;
        let (_bob, bob_t) = app.customer("bob@example.com").await;
        app.give(&alice, "USDT", "10").await;
        for n in 1..=5 {
            let mut body = send("bob@example.com", "USDT", &format!("0.{n}"));
            body["note"] = json!(format!("=cmd|{n}, \"quoted\""));
            let r = app
                .post_json("/api/v1/transfers", body, Some(&alice_t))
                .await;
            assert_eq!(r.status(), StatusCode::CREATED);
        }
        let _ = app
            .post_json(
                "/api/v1/transfers",
                send("bob@example.com", "USDT", "100"),
                Some(&alice_t),
            )
            .await;
        let all: Value = app
            .get_auth("/api/v1/activity?limit=4", &alice_t)
            .await
            .json()
            .await
            .unwrap();
        let page1 = all["items"].as_array().unwrap();
        assert_eq!(page1.len(), 4);
        assert_eq!(page1[0]["status"], "refused", "newest first");
        assert!(page1[0]["help_url"].as_str().unwrap().ends_with("/help"));
        let cursor = all["next_cursor"].as_str().unwrap();
        let next: Value = app
            .get_auth(
                &format!("/api/v1/activity?limit=4&cursor={cursor}"),
                &alice_t,
            )
            .await
            .json()
            .await
            .unwrap();
        let page2 = next["items"].as_array().unwrap();
        assert_eq!(page2.len(), 2);
        assert!(next["next_cursor"].is_null());
        let ids: HashSet<&str> = page1
            .iter()
            .chain(page2)
            .map(|i| i["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids.len(), 6, "no entry twice across pages");
        // Bob sees only what reached him.
        let bobs: Value = app
            .get_auth("/api/v1/activity", &bob_t)
            .await
            .json()
            .await
            .unwrap();
        let bobs = bobs["items"].as_array().unwrap();
        assert_eq!(bobs.len(), 5);
        assert!(bobs
            .iter()
            .all(|i| i["direction"] == "in" && i["counterparty"] == "al***@example.com"));
        // Filters.
        let refused: Value = app
            .get_auth("/api/v1/activity?status=refused", &alice_t)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(refused["items"].as_array().unwrap().len(), 1);
        let none: Value = app
            .get_auth("/api/v1/activity?kind=deposit", &alice_t)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(none["items"].as_array().unwrap().len(), 0);
        let future: Value = app
            .get_auth("/api/v1/activity?since=2999-01-01", &alice_t)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(future["items"].as_array().unwrap().len(), 0);
        let (s, c, _) = code(
            app.get_auth("/api/v1/activity?kind=nonsense", &alice_t)
                .await,
        )
        .await;
        assert_eq!(
            (s, c.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field")
        );
        // CSV: a header and one line per entry, formulas defused, quotes doubled.
        let r = app
            .client
            .get(app.url("/api/v1/activity.csv"))
            .bearer_auth(&alice_t)
            .header("accept-language", "zh-CN")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv"));
        let text = r.text().await.unwrap();
        let lines: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
        assert!(lines[0].starts_with("编号,"), "{}", lines[0]);
        assert_eq!(lines.len(), 7, "{text}");
        assert!(text.contains("\"'=cmd|5, \"\"quoted\"\"\""), "{text}");
        assert!(text.contains("insufficient_funds"));
        let r = app
            .client
            .get(app.url("/api/v1/activity.csv"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
);
