//! Deposits and withdrawals through the API on the simulated chain, on both databases: the
//! contract's routes and fields, refusals with codes, idempotency, review, and scoping.

use axum::http::StatusCode;
use serde_json::{json, Value};
use testkit::both_backends;

use crate::accounts::{code, STRONG};
use crate::App;

impl App {
    pub(crate) async fn step_up(&self, token: &str) {
        let r = self
            .post_json(
                "/api/v1/me/step-up",
                json!({"password": STRONG}),
                Some(token),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
    }

    pub(crate) async fn deposit_address(&self, token: &str, asset: &str) -> Value {
        let r = self
            .post_json(
                "/api/v1/deposit-addresses",
                json!({"asset": asset}),
                Some(token),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        r.json().await.unwrap()
    }

    /// Sends `amount` ETH to the caller's deposit address on the simulated chain (not mined).
    pub(crate) async fn sim_deposit(&self, token: &str, amount: &str) {
        let address = self.deposit_address(token, "ETH").await["address"]
            .as_str()
            .unwrap()
            .to_owned();
        let r = self
            .post_json(
                "/api/v1/sim/deposits",
                json!({"address": address, "asset": "ETH", "amount": amount}),
                Some(token),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
    }

    /// Deposits `amount` ETH by the simulated chain and mines until it is credited.
    pub(crate) async fn fund_eth(&self, token: &str, amount: &str) {
        self.sim_deposit(token, amount).await;
        self.mine(6).await;
    }

    async fn balance(&self, token: &str, asset: &str) -> Value {
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
            .cloned()
            .unwrap()
    }

    /// Lets every address-book entry be used now, as if the time-lock had passed.
    pub(crate) async fn unlock_book(&self) {
        sqlx::query("UPDATE withdrawal_addresses SET usable_from_ms = 0")
            .execute(self.state.db.pool())
            .await
            .unwrap();
    }

    pub(crate) async fn withdraw(
        &self,
        token: &str,
        body: Value,
        key: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self
            .client
            .post(self.url("/api/v1/withdrawals"))
            .bearer_auth(token)
            .json(&body);
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        request.send().await.unwrap()
    }
}

pub(crate) const DEST: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";

both_backends!(
    a_deposit_is_seen_confirmed_and_credited_through_the_api,
    |backend| async move {
        let app = App::spawn(backend).await;
        app.sign_up("alice@example.com").await;
        let token = app.token("alice@example.com").await;
        let first = app.deposit_address(&token, "ETH").await;
        assert_eq!(
            app.deposit_address(&token, "ETH").await,
            first,
            "same again"
        );
        assert_eq!(first["chain"], "ethereum");
        assert_eq!(first["simulated"], true);
        assert!(first["warning"].as_str().unwrap().contains("SIMULATED"));
        let (status, c, _) = code(
            app.post_json(
                "/api/v1/deposit-addresses",
                json!({"asset": "BTC"}),
                Some(&token),
            )
            .await,
        )
        .await;
        assert_eq!(
            (status, c.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "asset_not_supported")
        );
        let (_, c, _) = code(
            app.post_json(
                "/api/v1/deposit-addresses",
                json!({"asset": "ETH", "x": 1}),
                Some(&token),
            )
            .await,
        )
        .await;
        assert_eq!(c, "invalid_field");

        app.mine(1).await;
        let r = app
            .post_json(
                "/api/v1/sim/deposits",
                json!({"address": first["address"], "asset": "ETH", "amount": "0.5"}),
                Some(&token),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let (_, c, _) = code(
            app.post_json(
                "/api/v1/sim/deposits",
                json!({"address": first["address"], "asset": "ETH", "amount": "0.0000000001"}),
                Some(&token),
            )
            .await,
        )
        .await;
        assert_eq!(c, "invalid_amount");
        app.mine(1).await;
        let list: Value = app
            .get_auth("/api/v1/deposits", &token)
            .await
            .json()
            .await
            .unwrap();
        let d = &list["items"][0];
        assert_eq!(
            (
                &d["status"],
                &d["confirmations"],
                &d["confirmations_required"],
                &d["eta_s"]
            ),
            (&json!("detected"), &json!(1), &json!(6), &json!(15))
        );
        assert_eq!(d["amount"], "0.5");
        assert!(!d["status_text"]["next_step"].as_str().unwrap().is_empty());
        assert_eq!(app.balance(&token, "ETH").await["incoming"], "0.5");
        assert_eq!(app.balance(&token, "ETH").await["available"], "0");
        app.mine(5).await;
        let id = d["id"].as_str().unwrap();
        let one: Value = app
            .get_auth(&format!("/api/v1/deposits/{id}"), &token)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            (&one["status"], &one["eta_s"]),
            (&json!("credited"), &json!(0))
        );
        let balance = app.balance(&token, "ETH").await;
        assert_eq!(
            (&balance["available"], &balance["incoming"]),
            (&json!("0.5"), &json!("0"))
        );

        // Someone else's deposit is not found.
        app.sign_up("bob@example.com").await;
        let bob = app.token("bob@example.com").await;
        let r = app.get_auth(&format!("/api/v1/deposits/{id}"), &bob).await;
        assert_eq!(code(r).await.1, "not_found");
        let r = app.get_auth("/api/v1/deposits", "okw_not_a_token").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
);

both_backends!(
    a_withdrawal_goes_through_the_book_the_lock_and_idempotency,
    |backend| async move {
        let app = App::spawn(backend).await;
        app.sign_up("alice@example.com").await;
        let token = app.token("alice@example.com").await;
        app.fund_eth(&token, "2").await;
        let body = json!({"asset": "ETH", "address": DEST, "amount": "0.5"});

        let (status, c, _) = code(app.withdraw(&token, body.clone(), None).await).await;
        assert_eq!(
            (status, c.as_str()),
            (StatusCode::CONFLICT, "address_not_in_book")
        );
        let (_, c, _) = code(
            app.withdraw(&token, json!({"asset": "ETH", "address": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", "amount": "0.5"}), None)
                .await,
        )
        .await;
        assert_eq!(c, "invalid_address", "a checksum typo is caught");
        let (_, c, _) = code(
            app.withdraw(
                &token,
                json!({"asset": "ETH", "address": DEST, "amount": 0.5}),
                None,
            )
            .await,
        )
        .await;
        assert_eq!(c, "invalid_field", "amounts are strings");

        let add = json!({"asset": "ETH", "address": DEST, "label": "cold storage"});
        let (status, c, _) = code(
            app.post_json("/api/v1/withdrawal-addresses", add.clone(), Some(&token))
                .await,
        )
        .await;
        assert_eq!(
            (status, c.as_str()),
            (StatusCode::FORBIDDEN, "step_up_required")
        );
        app.step_up(&token).await;
        let r = app
            .post_json("/api/v1/withdrawal-addresses", add.clone(), Some(&token))
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let entry: Value = r.json().await.unwrap();
        assert_eq!(entry["usable_now"], false);
        let r = app
            .post_json("/api/v1/withdrawal-addresses", add, Some(&token))
            .await;
        assert_eq!(r.status(), StatusCode::OK, "already in the book");

        let (status, c, problem) = code(app.withdraw(&token, body.clone(), None).await).await;
        assert_eq!(
            (status, c.as_str()),
            (StatusCode::CONFLICT, "address_time_locked")
        );
        assert!(
            problem["detail"].as_str().unwrap().contains('Z'),
            "{problem}"
        );

        app.unlock_book().await;
        let r = app.withdraw(&token, body.clone(), Some("key-1")).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let first: Value = r.json().await.unwrap();
        assert_eq!(
            (&first["status"], &first["fee"]),
            (&json!("requested"), &json!("0.0005"))
        );
        let again = app.withdraw(&token, body.clone(), Some("key-1")).await;
        assert_eq!(again.status(), StatusCode::CREATED);
        assert_eq!(crate::header(&again, "idempotent-replayed"), "true");
        assert_eq!(again.json::<Value>().await.unwrap()["id"], first["id"]);
        let other = json!({"asset": "ETH", "address": DEST, "amount": "0.6"});
        let (status, c, _) = code(app.withdraw(&token, other, Some("key-1")).await).await;
        assert_eq!(
            (status, c.as_str()),
            (StatusCode::CONFLICT, "idempotency_conflict")
        );
        let balance = app.balance(&token, "ETH").await;
        assert_eq!(
            (&balance["available"], &balance["held"]),
            (&json!("1.4995"), &json!("0.5005"))
        );

        app.mine(7).await;
        let id = first["id"].as_str().unwrap();
        let done: Value = app
            .get_auth(&format!("/api/v1/withdrawals/{id}"), &token)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(done["status"], "completed", "{done}");
        assert!(done["tx_hash"].as_str().unwrap().starts_with("0x"));
        let balance = app.balance(&token, "ETH").await;
        assert_eq!(
            (&balance["available"], &balance["held"]),
            (&json!("1.4995"), &json!("0"))
        );
        let list: Value = app
            .get_auth("/api/v1/withdrawals", &token)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(list["items"].as_array().unwrap().len(), 1);

        // The owner was told of the new address and of the withdrawal (once, though asked
        // twice under one key), each mail with a freeze link.
        let mail = app
            .state
            .db
            .recent_mail(Some("alice@example.com"), 50)
            .await
            .unwrap();
        let kinds: Vec<&str> = mail.iter().map(|m| m.kind.as_str()).collect();
        assert_eq!(
            kinds
                .iter()
                .filter(|k| **k == "withdrawal_address_added")
                .count(),
            1,
            "{kinds:?}"
        );
        let requested: Vec<_> = mail
            .iter()
            .filter(|m| m.kind == "withdrawal_requested")
            .collect();
        assert_eq!(requested.len(), 1, "{kinds:?}");
        assert!(
            requested[0].body_text.contains("0.5 ETH"),
            "{}",
            requested[0].body_text
        );
        assert!(requested[0].body_text.contains(DEST));
        assert!(requested[0].body_text.contains("/freeze?token="));

        app.sign_up("bob@example.com").await;
        let bob = app.token("bob@example.com").await;
        let r = app
            .get_auth(&format!("/api/v1/withdrawals/{id}"), &bob)
            .await;
        assert_eq!(code(r).await.1, "not_found");
        assert!(app
            .state
            .db
            .verify_ledger()
            .await
            .unwrap()
            .discrepancies
            .is_empty());
    }
);

both_backends!(
    supervisors_review_large_withdrawals_and_others_may_not,
    |backend| async move {
        let app = App::spawn(backend).await;
        app.sign_up("alice@example.com").await;
        let token = app.token("alice@example.com").await;
        app.fund_eth(&token, "30").await;
        app.step_up(&token).await;
        app.post_json(
            "/api/v1/withdrawal-addresses",
            json!({"asset": "ETH", "address": DEST}),
            Some(&token),
        )
        .await;
        app.unlock_book().await;
        let r = app
            .withdraw(
                &token,
                json!({"asset": "ETH", "address": DEST, "amount": "12"}),
                None,
            )
            .await;
        let big: Value = r.json().await.unwrap();
        assert_eq!(big["status"], "under_review");
        let (status, c, _) = code(app.get_auth("/api/v1/review/withdrawals", &token).await).await;
        assert_eq!((status, c.as_str()), (StatusCode::FORBIDDEN, "forbidden"));

        let boss = app.sign_up("boss@example.com").await;
        sqlx::query("UPDATE users SET role = 'supervisor' WHERE id = $1")
            .bind(&boss)
            .execute(app.state.db.pool())
            .await
            .unwrap();
        let boss_token = app.token("boss@example.com").await;
        let queue: Value = app
            .get_auth("/api/v1/review/withdrawals", &boss_token)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(queue["items"][0]["id"], big["id"]);
        let path = format!("/api/v1/review/withdrawals/{}", big["id"].as_str().unwrap());
        let (_, c, _) = code(
            app.post_json(
                &path,
                json!({"decision": "reject", "note": "x"}),
                Some(&boss_token),
            )
            .await,
        )
        .await;
        assert_eq!(c, "step_up_required");
        app.step_up(&boss_token).await;
        let (_, c, _) = code(
            app.post_json(&path, json!({"decision": "reject"}), Some(&boss_token))
                .await,
        )
        .await;
        assert_eq!(c, "invalid_field", "a rejection says why");
        let r = app
            .post_json(
                &path,
                json!({"decision": "reject", "note": "please call us first"}),
                Some(&boss_token),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let decided: Value = r.json().await.unwrap();
        assert_eq!(
            (&decided["status"], &decided["review_note"]),
            (&json!("rejected"), &json!("please call us first"))
        );
        let (status, c, _) = code(
            app.post_json(&path, json!({"decision": "approve"}), Some(&boss_token))
                .await,
        )
        .await;
        assert_eq!(
            (status, c.as_str()),
            (StatusCode::CONFLICT, "not_under_review")
        );
        assert_eq!(app.balance(&token, "ETH").await["available"], "30");
        let audit = app
            .state
            .db
            .audit_events_for(&format!("withdrawal:{}", big["id"].as_str().unwrap()))
            .await
            .unwrap();
        assert!(
            audit.iter().any(|e| e.action == "withdrawal.reject"),
            "{audit:?}"
        );
    }
);

both_backends!(
    frozen_accounts_and_weakened_protection_stop_withdrawals,
    |backend| async move {
        let app = App::spawn(backend).await;
        app.sign_up("alice@example.com").await;
        let token = app.token("alice@example.com").await;
        app.fund_eth(&token, "1").await;
        let body = json!({"asset": "ETH", "address": DEST, "amount": "0.1"});
        // Turning the allowlist off needs a step-up and pauses withdrawals.
        let r = app
            .client
            .put(app.url("/api/v1/me/withdrawal-allowlist"))
            .bearer_auth(&token)
            .json(&json!({"enabled": false}))
            .send()
            .await
            .unwrap();
        assert_eq!(code(r).await.1, "step_up_required");
        app.step_up(&token).await;
        let r = app
            .client
            .put(app.url("/api/v1/me/withdrawal-allowlist"))
            .bearer_auth(&token)
            .json(&json!({"enabled": false}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        let (status, c, _) = code(app.withdraw(&token, body.clone(), None).await).await;
        assert_eq!(
            (status, c.as_str()),
            (StatusCode::FORBIDDEN, "withdrawals_locked")
        );

        let r = app
            .post_json("/api/v1/me/freeze", json!({}), Some(&token))
            .await;
        assert!(r.status().is_success());
        let token = app.token("alice@example.com").await;
        let (status, c, _) = code(app.withdraw(&token, body, None).await).await;
        assert_eq!(
            (status, c.as_str()),
            (StatusCode::FORBIDDEN, "account_frozen")
        );
    }
);

both_backends!(
    the_same_withdraw_form_posted_twice_makes_one_withdrawal,
    |backend| async move {
        let app = App::spawn(backend).await;
        app.sign_up("alice@example.com").await;
        let token = app.token("alice@example.com").await;
        app.fund_eth(&token, "2").await;
        app.step_up(&token).await;
        app.post_json(
            "/api/v1/withdrawal-addresses",
            json!({"asset": "ETH", "address": DEST}),
            Some(&token),
        )
        .await;
        app.unlock_book().await;
        let mut browser = crate::pages::Browser::new(&app);
        assert_eq!(
            browser.log_in("alice@example.com", STRONG).await.status,
            303
        );
        let page = browser.get("/withdraw?asset=ETH").await;
        assert_eq!(page.status, 200);
        let csrf = page.csrf();
        let key = page
            .body
            .split("name=\"form_key\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("the form carries its key")
            .to_owned();
        let form = [
            ("csrf", csrf.as_str()),
            ("form_key", key.as_str()),
            ("asset", "ETH"),
            ("address", DEST),
            ("amount", "0.25"),
        ];
        let first = browser.post("/withdraw", &form).await;
        let second = browser.post("/withdraw", &form).await;
        assert_eq!((first.status, second.status), (303, 303), "{}", second.body);
        assert_eq!(
            first.location, second.location,
            "both land on the one withdrawal"
        );
        let list: Value = app
            .get_auth("/api/v1/withdrawals", &token)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
        assert_eq!(app.balance(&token, "ETH").await["held"], "0.2505");
    }
);

both_backends!(
    the_withdraw_page_turns_allowlist_mode_off_only_after_a_step_up,
    |backend| async move {
        let app = App::spawn(backend).await;
        app.sign_up("alice@example.com").await;
        let mut browser = crate::pages::Browser::new(&app);
        assert_eq!(
            browser.log_in("alice@example.com", STRONG).await.status,
            303
        );
        let page = browser.get("/withdraw?asset=ETH").await;
        assert!(page.body.contains("data-allowlist=\"on\""), "on by default");
        let csrf = page.csrf();
        let refused = browser
            .post(
                "/withdraw/allowlist",
                &[
                    ("csrf", csrf.as_str()),
                    ("asset", "ETH"),
                    ("mode", "off"),
                    ("password", "wrong password"),
                ],
            )
            .await;
        assert_eq!(refused.status, 401, "{}", refused.body);
        let user = app
            .state
            .db
            .user_by_email(&identity::Email::parse("alice@example.com").unwrap())
            .await
            .unwrap()
            .unwrap();
        assert!(user.withdrawal_allowlist, "still on");
        let done = browser
            .post(
                "/withdraw/allowlist",
                &[
                    ("csrf", csrf.as_str()),
                    ("asset", "ETH"),
                    ("mode", "off"),
                    ("password", STRONG),
                ],
            )
            .await;
        assert_eq!(done.status, 303, "{}", done.body);
        let user = app.state.db.user_by_id(&user.id).await.unwrap().unwrap();
        assert!(!user.withdrawal_allowlist);
        assert!(
            user.withdrawals_locked_until_ms.unwrap() > store::now_ms(),
            "withdrawals pause"
        );
        let page = browser
            .get("/withdraw?asset=ETH&notice=allowlist_off")
            .await;
        assert!(page.body.contains("data-allowlist=\"off\""));
        assert!(
            page.body.contains("list=\"wd-book\""),
            "any address may be typed"
        );
        let on = browser
            .post(
                "/withdraw/allowlist",
                &[("csrf", csrf.as_str()), ("asset", "ETH"), ("mode", "on")],
            )
            .await;
        assert_eq!(on.status, 303);
        assert!(
            app.state
                .db
                .user_by_id(&user.id)
                .await
                .unwrap()
                .unwrap()
                .withdrawal_allowlist
        );
    }
);
