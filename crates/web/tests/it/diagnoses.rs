//! Troubleshooters against real account states built through the API and the simulated chain,
//! on both databases: a scenario suite (each state with the findings it must produce), "I
//! can't log in" answered only by mail, escalation that carries the findings to the agent,
//! prepared calls with a case code, and the deflection figures.

use axum::http::StatusCode;
use serde_json::{json, Value};
use testkit::both_backends;

use crate::accounts::{code, STRONG};
use crate::tickets::{json_of, staff};
use crate::wallet::DEST;
use crate::App;

impl App {
    async fn diagnose(&self, token: &str, problem: &str) -> Value {
        self.diagnose_about(token, problem, None).await
    }

    async fn diagnose_about(&self, token: &str, problem: &str, reference: Option<&str>) -> Value {
        let mut body = json!({"problem": problem});
        if let Some(r) = reference {
            body["reference"] = r.into();
        }
        json_of(
            self.post_json("/api/v1/diagnoses", body, Some(token)).await,
            StatusCode::CREATED,
        )
        .await
    }
}

fn codes(run: &Value) -> Vec<String> {
    run["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_owned())
        .collect()
}

fn finding<'a>(run: &'a Value, code: &str) -> &'a Value {
    run["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == code)
        .unwrap_or_else(|| panic!("no {code} in {run}"))
}

/// One scenario: the findings must include `want` (the first of them first when `first`),
/// and none of `never`.
fn expect(name: &str, run: &Value, want: &[&str], never: &[&str], first: bool) {
    let got = codes(run);
    for w in want {
        assert!(got.iter().any(|g| g == w), "{name}: wants {w}, got {got:?}");
    }
    for n in never {
        assert!(
            !got.iter().any(|g| g == n),
            "{name}: must not say {n}, got {got:?}"
        );
    }
    if first {
        assert_eq!(got[0], want[0], "{name}: {got:?}");
    }
    for f in run["findings"].as_array().unwrap() {
        for field in ["message", "next_step"] {
            let text = f[field].as_str().unwrap();
            assert!(
                !text.is_empty() && !text.contains('{') && text != "?",
                "{name}: {field} of {} is not written out: {text:?}",
                f["code"]
            );
        }
    }
}

async fn supervisor(app: &App) -> String {
    staff(app, "lead@example.com", identity::Role::Supervisor)
        .await
        .1
}

async fn incident(app: &App, lead: &str, affected: &[&str]) -> String {
    let r = app
        .post_json(
            "/api/v1/admin/announcements",
            json!({"kind": "incident", "title_zh": "网络拥堵", "title_en": "Network congested",
                   "body_zh": "处理中。", "body_en": "We are on it.", "affected": affected}),
            Some(lead),
        )
        .await;
    json_of(r, StatusCode::CREATED).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A withdrawal of `amount` ETH from a funded account with an unlocked address book.
async fn withdrawal(app: &App, token: &str, amount: &str) -> Value {
    app.step_up(token).await;
    app.post_json(
        "/api/v1/withdrawal-addresses",
        json!({"asset": "ETH", "address": DEST}),
        Some(token),
    )
    .await;
    app.unlock_book().await;
    let r = app
        .withdraw(
            token,
            json!({"asset": "ETH", "address": DEST, "amount": amount}),
            None,
        )
        .await;
    json_of(r, StatusCode::CREATED).await
}

/// A conversion of `amount` ETH refused because its quote ran out.
async fn expired_conversion(app: &App, token: &str, amount: &str) {
    let q: Value = json_of(
        app.post_json(
            "/api/v1/quotes",
            json!({"from_asset": "ETH", "to_asset": "USDT", "amount": amount}),
            Some(token),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let mut stale = app
        .state
        .db
        .quote(q["id"].as_str().unwrap())
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
            Some(token),
        )
        .await,
    )
    .await;
    assert_eq!((s, c.as_str()), (StatusCode::GONE, "quote_expired"));
}

async fn turn_on_totp(app: &App, token: &str, user_id: &str) {
    let r = app
        .post_json("/api/v1/me/totp", json!({}), Some(token))
        .await;
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let factor = app.state.db.totp_factor(user_id).await.unwrap().unwrap();
    let secret = app
        .state
        .settings
        .totp_secret(user_id, &factor.secret_base32)
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let r = app
        .post_json(
            "/api/v1/me/totp/confirm",
            json!({"otp": secret.code_at(now)}),
            Some(token),
        )
        .await;
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
}

both_backends!(
    twenty_eight_account_states_give_the_findings_they_should,
    |backend| async move {
        let app = App::spawn(backend).await;
        let lead = supervisor(&app).await;
        app.state.db.set_price("ETH", "3000").await.unwrap();
        app.state.db.set_price("USDT", "1").await.unwrap();

        // --- login_failed
        let (_, t) = app.customer("s01@example.com").await;
        let run = app.diagnose(&t, "login_failed").await;
        expect(
            "01 nothing blocks sign-in",
            &run,
            &["nothing_found"],
            &["account_locked"],
            true,
        );

        let (_, t) = app.customer("s02@example.com").await;
        for _ in 0..5 {
            app.log_in("s02@example.com", "wrong password 1").await;
        }
        let run = app.diagnose(&t, "login_failed").await;
        expect(
            "02 locked after wrong passwords",
            &run,
            &["account_locked"],
            &[],
            true,
        );
        assert_eq!(
            finding(&run, "account_locked")["action"]["kind"],
            "reset_password"
        );

        let (_, t) = app.customer("s03@example.com").await;
        for _ in 0..3 {
            app.log_in("s03@example.com", "wrong password 2").await;
        }
        let run = app.diagnose(&t, "login_failed").await;
        expect(
            "03 wrong passwords below the lock",
            &run,
            &["many_failed_attempts"],
            &["account_locked"],
            true,
        );

        let (_, t) = app.customer("s04@example.com").await;
        let r = app
            .post_json(
                "/api/v1/password-resets",
                json!({"email": "s04@example.com"}),
                None,
            )
            .await;
        assert_eq!(r.status(), StatusCode::ACCEPTED);
        let mut seen = false;
        for _ in 0..50 {
            let run = app.diagnose(&t, "login_failed").await;
            if codes(&run).iter().any(|c| c == "reset_in_progress") {
                seen = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(seen, "04 a reset link on its way is found");

        let (id5, t) = app.customer("s05@example.com").await;
        turn_on_totp(&app, &t, &id5).await;
        let run = app.diagnose(&t, "login_failed").await;
        expect(
            "05 two-step on",
            &run,
            &["two_step_needed"],
            &["no_recovery_codes"],
            false,
        );

        let (id6, t) = app.customer("s06@example.com").await;
        turn_on_totp(&app, &t, &id6).await;
        sqlx::query("UPDATE recovery_codes SET used_at_ms = 1 WHERE user_id = $1")
            .bind(&id6)
            .execute(app.state.db.pool())
            .await
            .unwrap();
        let run = app.diagnose(&t, "login_failed").await;
        expect(
            "06 no way in without the phone",
            &run,
            &["no_recovery_codes"],
            &[],
            true,
        );

        // --- funds_delayed
        let (_, t) = app.customer("s07@example.com").await;
        let run = app.diagnose(&t, "funds_delayed").await;
        expect(
            "07 nothing on its way",
            &run,
            &["no_pending_funds"],
            &[],
            false,
        );

        let (_, t) = app.customer("s08@example.com").await;
        app.sim_deposit(&t, "0.5").await;
        app.mine(2).await;
        let run = app.diagnose(&t, "funds_delayed").await;
        expect(
            "08 a deposit confirming",
            &run,
            &["deposit_confirming"],
            &["no_pending_funds"],
            true,
        );
        let f = finding(&run, "deposit_confirming");
        assert!(f["message"].as_str().unwrap().contains("0.5 ETH"), "{f}");
        assert!(f["item_id"].is_string());

        let (_, t) = app.customer("s09@example.com").await;
        app.sim_deposit(&t, "0.25").await;
        app.mine(1).await;
        let eth_incident = incident(&app, &lead, &["deposit:eth"]).await;
        let run = app.diagnose(&t, "funds_delayed").await;
        expect(
            "09 a deposit with an incident on its chain",
            &run,
            &["incident", "deposit_confirming"],
            &[],
            false,
        );
        assert_eq!(finding(&run, "incident")["item_id"], eth_incident.as_str());

        let (_, t) = app.customer("s10@example.com").await;
        app.sim_deposit(&t, "0.1").await;
        app.mine(1).await;
        sqlx::query("UPDATE deposits SET detected_at_ms = detected_at_ms - 172800000 WHERE user_id = (SELECT id FROM users WHERE email = 's10@example.com')")
            .execute(app.state.db.pool())
            .await
            .unwrap();
        let run = app.diagnose(&t, "funds_delayed").await;
        expect(
            "10 a deposit stuck for two days",
            &run,
            &["deposit_stuck"],
            &["deposit_confirming"],
            false,
        );
        assert_eq!(finding(&run, "deposit_stuck")["action"]["kind"], "contact");

        let (_, t) = app.customer("s11@example.com").await;
        app.fund_eth(&t, "30").await;
        withdrawal(&app, &t, "12").await;
        let run = app.diagnose(&t, "funds_delayed").await;
        expect(
            "11 a withdrawal under review",
            &run,
            &["withdrawal_under_review"],
            &[],
            false,
        );

        let (_, t) = app.customer("s12@example.com").await;
        app.fund_eth(&t, "3").await;
        let w = withdrawal(&app, &t, "1").await;
        let moved = app
            .state
            .db
            .move_withdrawal(
                w["id"].as_str().unwrap(),
                &["requested"],
                "failed_refunded",
                Some("broadcast_rejected"),
            )
            .await
            .unwrap();
        assert!(moved);
        app.mine(1).await;
        let run = app.diagnose(&t, "funds_delayed").await;
        expect(
            "12 a failed withdrawal",
            &run,
            &["withdrawal_failed"],
            &[],
            false,
        );
        let f = finding(&run, "withdrawal_failed");
        assert!(
            f["message"].as_str().unwrap().contains("network refused"),
            "{f}"
        );
        assert_eq!(f["action"]["href"], "/withdraw");

        let (_, t) = app.customer("s13@example.com").await;
        app.fund_eth(&t, "30").await;
        let w = withdrawal(&app, &t, "11").await;
        // A reviewer signed in with a password (a step-up by password needs no second factor).
        let (boss_id, _) = app.customer("boss@example.com").await;
        sqlx::query("UPDATE users SET role = 'supervisor' WHERE id = $1")
            .bind(&boss_id)
            .execute(app.state.db.pool())
            .await
            .unwrap();
        let boss = app.token("boss@example.com").await;
        app.step_up(&boss).await;
        let r = app
            .post_json(
                &format!("/api/v1/review/withdrawals/{}", w["id"].as_str().unwrap()),
                json!({"decision": "reject", "note": "documents needed"}),
                Some(&boss),
            )
            .await;
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
        let run = app.diagnose(&t, "funds_delayed").await;
        expect(
            "13 a withdrawal rejected in review",
            &run,
            &["withdrawal_rejected"],
            &[],
            false,
        );

        // --- cannot_trade
        let (_, t) = app.customer("s14@example.com").await;
        let r = app
            .post_json("/api/v1/me/freeze", json!({}), Some(&t))
            .await;
        assert!(r.status().is_success());
        let t = app.token("s14@example.com").await;
        let run = app.diagnose(&t, "cannot_trade").await;
        expect("14 frozen", &run, &["account_frozen"], &[], true);
        assert_eq!(
            finding(&run, "account_frozen")["action"]["kind"],
            "request_unfreeze"
        );

        let (_, t) = app.customer("s15@example.com").await;
        app.post_json("/api/v1/me/freeze", json!({}), Some(&t))
            .await;
        let t = app.token("s15@example.com").await;
        let r = app
            .post_json("/api/v1/me/unfreeze", json!({"password": STRONG}), Some(&t))
            .await;
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
        let run = app.diagnose(&t, "cannot_trade").await;
        expect(
            "15 unfreezing after the wait",
            &run,
            &["unfreeze_pending"],
            &["account_frozen"],
            true,
        );

        let (id16, t) = app.customer("s16@example.com").await;
        turn_on_totp(&app, &t, &id16).await;
        let run = app.diagnose(&t, "cannot_trade").await;
        expect(
            "16 withdrawals paused after a security change",
            &run,
            &["withdrawals_locked"],
            &[],
            true,
        );
        assert!(finding(&run, "withdrawals_locked")["message"]
            .as_str()
            .unwrap()
            .contains("two-step verification turned on"));

        let (id17, t) = app.customer("s17@example.com").await;
        app.give(&id17, "ETH", "1").await;
        expired_conversion(&app, &t, "0.5").await;
        let run = app.diagnose(&t, "cannot_trade").await;
        expect(
            "17 a quote that ran out",
            &run,
            &["quote_expired"],
            &[],
            true,
        );
        assert_eq!(finding(&run, "quote_expired")["action"]["href"], "/convert");

        let (_, t) = app.customer("s18@example.com").await;
        app.customer("s18b@example.com").await;
        let (s, c, _) = code(
            app.post_json(
                "/api/v1/transfers",
                json!({"to": "s18b@example.com", "asset": "USDT", "amount": "5"}),
                Some(&t),
            )
            .await,
        )
        .await;
        assert_eq!(
            (s, c.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "insufficient_funds")
        );
        let run = app.diagnose(&t, "cannot_trade").await;
        expect(
            "18 not enough to send",
            &run,
            &["insufficient_funds"],
            &["nothing_available"],
            true,
        );
        let f = finding(&run, "insufficient_funds");
        assert_eq!(
            (f["action"]["kind"].as_str(), f["action"]["href"].as_str()),
            (Some("deposit"), Some("/deposit?asset=USDT"))
        );

        let (id19, t) = app.customer("s19@example.com").await;
        app.customer("s19b@example.com").await;
        app.give(&id19, "USDT", "100").await;
        let (_, admin) = staff(&app, "root@example.com", identity::Role::Admin).await;
        let r = app
            .put_json(
                &format!("/api/v1/admin/users/{id19}/limits"),
                json!({"kind": "transfer", "asset": "USDT", "daily": "10"}),
                &admin,
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let r = app
            .post_json(
                "/api/v1/transfers",
                json!({"to": "s19b@example.com", "asset": "USDT", "amount": "10"}),
                Some(&t),
            )
            .await;
        assert_eq!(
            r.status(),
            StatusCode::CREATED,
            "{}",
            r.text().await.unwrap()
        );
        let (s, c, _) = code(
            app.post_json(
                "/api/v1/transfers",
                json!({"to": "s19b@example.com", "asset": "USDT", "amount": "1"}),
                Some(&t),
            )
            .await,
        )
        .await;
        assert_eq!(
            (s, c.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "limit_exceeded")
        );
        let run = app.diagnose(&t, "cannot_trade").await;
        expect(
            "19 the daily limit used up",
            &run,
            &["limit_reached", "limit_exceeded"],
            &[],
            true,
        );

        let (_, t) = app.customer("s20@example.com").await;
        incident(&app, &lead, &["convert"]).await;
        let run = app.diagnose(&t, "cannot_trade").await;
        expect(
            "20 an incident on conversions",
            &run,
            &["incident"],
            &["nothing_found"],
            false,
        );

        // --- account_security
        let (_, t) = app.customer("s21@example.com").await;
        let run = app.diagnose(&t, "account_security").await;
        expect(
            "21 a new account's gaps",
            &run,
            &["two_step_off", "anti_phishing_unset"],
            &["other_sessions", "new_device_login"],
            false,
        );

        let (_, t) = app.customer("s22@example.com").await;
        let r = app
            .client
            .post(app.url("/api/v1/sessions"))
            .header(
                "user-agent",
                "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
            )
            .json(&json!({"email": "s22@example.com", "password": STRONG}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let run = app.diagnose(&t, "account_security").await;
        expect(
            "22 a sign-in from a new device",
            &run,
            &["new_device_login", "other_sessions"],
            &[],
            true,
        );
        let f = finding(&run, "new_device_login");
        assert!(f["message"].as_str().unwrap().contains("Firefox"), "{f}");
        assert_eq!(f["action"]["kind"], "freeze");

        let (_, t) = app.customer("s23@example.com").await;
        app.step_up(&t).await;
        let r = app
            .put_json(
                "/api/v1/me/anti-phishing-code",
                json!({"code": "blue heron"}),
                &t,
            )
            .await;
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
        let run = app.diagnose(&t, "account_security").await;
        expect(
            "23 anti-phishing code set",
            &run,
            &["recent_security_change"],
            &["anti_phishing_unset"],
            false,
        );

        let (id24, t) = app.customer("s24@example.com").await;
        turn_on_totp(&app, &t, &id24).await;
        let run = app.diagnose(&t, "account_security").await;
        expect(
            "24 two-step on",
            &run,
            &["recent_security_change"],
            &["two_step_off"],
            false,
        );

        let (_, t) = app.customer("s25@example.com").await;
        for _ in 0..3 {
            app.log_in("s25@example.com", "someone guessing").await;
        }
        let run = app.diagnose(&t, "account_security").await;
        expect(
            "25 someone guessing the password",
            &run,
            &["failed_logins"],
            &[],
            false,
        );

        // --- payment_failed
        let (_, merchant_t) = app.merchant("shop@example.com").await;
        let request: Value = json_of(
            app.post_json(
                "/api/v1/payment-requests",
                json!({"asset": "USDT", "amount": "9.5", "expires_in_s": 600}),
                Some(&merchant_t),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        let pr = request["id"].as_str().unwrap().to_owned();

        let (_, t) = app.customer("s26@example.com").await;
        let (s, c, _) = code(
            app.post_json(
                &format!("/api/v1/payment-requests/{pr}/pay"),
                json!({}),
                Some(&t),
            )
            .await,
        )
        .await;
        assert_eq!(
            (s, c.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "insufficient_funds")
        );
        let run = app.diagnose(&t, "payment_failed").await;
        expect(
            "26 a payment short of funds",
            &run,
            &["payment_insufficient_funds"],
            &[],
            true,
        );

        let (id27, t) = app.customer("s27@example.com").await;
        app.give(&id27, "USDT", "50").await;
        let mut expired = app.state.db.payment_request(&pr).await.unwrap().unwrap();
        expired.id = format!("pr_exp{}", store::new_id());
        expired.expires_at_ms = store::now_ms() - 1;
        app.state.db.insert_payment_request(&expired).await.unwrap();
        let (s, c, _) = code(
            app.post_json(
                &format!("/api/v1/payment-requests/{}/pay", expired.id),
                json!({}),
                Some(&t),
            )
            .await,
        )
        .await;
        assert_eq!((s, c.as_str()), (StatusCode::GONE, "expired"));
        let run = app.diagnose(&t, "payment_failed").await;
        expect(
            "27 an expired payment link",
            &run,
            &["payment_link_expired"],
            &["payment_insufficient_funds"],
            true,
        );

        let (_, t) = app.customer("s28@example.com").await;
        let run = app.diagnose(&t, "payment_failed").await;
        expect(
            "28 no payment refused",
            &run,
            &["no_failed_payment"],
            &[],
            false,
        );

        // The entry asked about comes first among equals.
        let (id29, t) = app.customer("s29@example.com").await;
        app.give(&id29, "ETH", "1").await;
        let mut refused = Vec::new();
        for _ in 0..2 {
            expired_conversion(&app, &t, "0.1").await;
        }
        let (s, c, _) = code(
            app.post_json(
                "/api/v1/transfers",
                json!({"to": "s18b@example.com", "asset": "USDT", "amount": "5"}),
                Some(&t),
            )
            .await,
        )
        .await;
        assert_eq!(
            (s, c.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "insufficient_funds")
        );
        let history = json_of(app.get_auth("/api/v1/activity", &t).await, StatusCode::OK).await;
        for item in history["items"].as_array().unwrap() {
            if item["status"] == "refused" {
                refused.push(item["id"].as_str().unwrap().to_owned());
            }
        }
        let asked = refused.last().unwrap().clone();
        let run = app.diagnose_about(&t, "cannot_trade", Some(&asked)).await;
        assert_eq!(
            run["findings"][0]["item_id"],
            asked.as_str(),
            "29 the entry asked about first: {run}"
        );
    }
);

both_backends!(
    bad_requests_and_other_peoples_runs_are_refused,
    |backend| async move {
        let app = App::spawn(backend).await;
        let (_, t) = app.customer("amy@example.com").await;
        let (_, eve) = app.customer("eve@example.com").await;
        let (s, c, p) = code(
            app.post_json("/api/v1/diagnoses", json!({"problem": "sad"}), Some(&t))
                .await,
        )
        .await;
        assert_eq!(
            (s, c.as_str(), p["field"].as_str()),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                Some("problem")
            )
        );
        let (s, _, p) = code(
            app.post_json("/api/v1/diagnoses", json!({}), Some(&t))
                .await,
        )
        .await;
        assert_eq!(
            (s, p["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("problem"))
        );
        let (s, _, _) = code(
            app.post_json(
                "/api/v1/diagnoses",
                json!({"problem": "login_failed", "extra": 1}),
                Some(&t),
            )
            .await,
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        let (s, c, _) = code(
            app.post_json(
                "/api/v1/diagnoses",
                json!({"problem": "login_failed"}),
                None,
            )
            .await,
        )
        .await;
        assert_eq!((s, c.as_str()), (StatusCode::UNAUTHORIZED, "unauthorized"));
        let (s, _, p) = code(
            app.post_json(
                "/api/v1/diagnoses",
                json!({"problem": "funds_delayed", "reference": "someone-elses"}),
                Some(&t),
            )
            .await,
        )
        .await;
        assert_eq!(
            (s, p["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("reference"))
        );
        let run = app.diagnose(&t, "funds_delayed").await;
        let id = run["id"].as_str().unwrap();
        assert_eq!(
            app.get_auth(&format!("/api/v1/diagnoses/{id}"), &eve)
                .await
                .status(),
            StatusCode::NOT_FOUND
        );
        let r = app
            .post_json(
                &format!("/api/v1/diagnoses/{id}/escalations"),
                json!({"via": "ticket"}),
                Some(&eve),
            )
            .await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let r = app
            .post_json(
                &format!("/api/v1/diagnoses/{id}/escalations"),
                json!({"via": "fax"}),
                Some(&t),
            )
            .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let r = app
            .post_json(
                "/api/v1/case-codes",
                json!({"description": "x", "diagnosis_id": id}),
                Some(&eve),
            )
            .await;
        assert_eq!(code(r).await.2["field"], "diagnosis_id");
        let mine = json_of(
            app.get_auth(&format!("/api/v1/diagnoses/{id}"), &t).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(
            mine["findings"], run["findings"],
            "a run reads back as found"
        );
    }
);

both_backends!(
    i_cannot_log_in_is_answered_in_the_mailbox_only,
    |backend| async move {
        let app = App::spawn(backend).await;
        app.customer("kim@example.com").await;
        for _ in 0..5 {
            app.log_in("kim@example.com", "not the password").await;
        }
        for email in ["kim@example.com", "nobody@example.com"] {
            let r = app
                .post_json("/api/v1/login-help", json!({"email": email}), None)
                .await;
            assert_eq!(r.status(), StatusCode::ACCEPTED);
            assert_eq!(
                r.json::<Value>().await.unwrap(),
                json!({"accepted": true}),
                "the same answer for {email}"
            );
        }
        let (s, c, _) = code(
            app.post_json("/api/v1/login-help", json!({"email": "not an email"}), None)
                .await,
        )
        .await;
        assert_eq!(
            (s, c.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_email")
        );
        let mut mail = None;
        for _ in 0..100 {
            mail = app
                .state
                .db
                .recent_mail(Some("kim@example.com"), 20)
                .await
                .unwrap()
                .into_iter()
                .find(|m| m.kind == "login_help");
            if mail.is_some() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let mail = mail.expect("the findings went to the mailbox");
        assert!(mail.body_text.contains("paused"), "{}", mail.body_text);
        assert!(mail.body_text.contains("/forgot"));
        let none = app
            .state
            .db
            .recent_mail(Some("nobody@example.com"), 20)
            .await
            .unwrap();
        assert!(none.is_empty(), "nothing is sent where no account is");
        // Ten asks from one address in a quarter-hour, then a pause.
        let mut limited = false;
        for n in 0..12 {
            let r = app
                .post_json(
                    "/api/v1/login-help",
                    json!({"email": format!("x{n}@example.com")}),
                    None,
                )
                .await;
            limited |= r.status() == StatusCode::TOO_MANY_REQUESTS;
        }
        assert!(limited);
    }
);

both_backends!(
    escalation_and_case_codes_bring_the_findings_to_the_agent_and_count_as_deflection,
    |backend| async move {
        let app = App::spawn(backend).await;
        let (admin_id, admin) = staff(&app, "admin@example.com", identity::Role::Admin).await;
        let _ = admin_id;
        app.desk_group(&admin, "general").await;
        let (agent_id, agent) = staff(&app, "agent@example.com", identity::Role::Agent).await;
        app.desk_agent(&admin, &agent_id, &agent, "general", 5, "online")
            .await;
        let (_, t) = app.customer("kim@example.com").await;
        app.sim_deposit(&t, "0.5").await;
        app.mine(2).await;

        // Solved by the troubleshooter.
        let solved = app.diagnose(&t, "funds_delayed").await;
        let r = app
            .post_json(
                &format!(
                    "/api/v1/diagnoses/{}/resolved",
                    solved["id"].as_str().unwrap()
                ),
                json!({}),
                Some(&t),
            )
            .await;
        assert_eq!(json_of(r, StatusCode::OK).await["outcome"], "resolved");

        // Escalated to a ticket: the agent sees the findings and the deposit linked.
        let run = app.diagnose(&t, "funds_delayed").await;
        let deposit_id = finding(&run, "deposit_confirming")["item_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let done = json_of(
            app.post_json(
                &format!(
                    "/api/v1/diagnoses/{}/escalations",
                    run["id"].as_str().unwrap()
                ),
                json!({"via": "ticket", "message": "Still not there"}),
                Some(&t),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        let ticket = app
            .staff_view(&agent, done["ticket_id"].as_str().unwrap())
            .await;
        assert_eq!(ticket["reference"], deposit_id.as_str());
        assert_eq!(ticket["category"], "funds_delayed");
        let note = ticket["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["internal"] == true)
            .expect("the findings are a note for the team");
        assert!(
            note["body"]
                .as_str()
                .unwrap()
                .contains("deposit_confirming"),
            "{note}"
        );
        let mine = json_of(
            app.get_auth(
                &format!("/api/v1/tickets/{}", done["ticket_id"].as_str().unwrap()),
                &t,
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert!(
            mine["messages"]
                .as_array()
                .unwrap()
                .iter()
                .all(|m| m["internal"] != true),
            "notes never reach the customer"
        );
        let again = json_of(
            app.get_auth(
                &format!("/api/v1/diagnoses/{}", run["id"].as_str().unwrap()),
                &t,
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(again["outcome"], "escalated");

        // To a chat: the chat's ticket carries the findings too.
        let run = app.diagnose(&t, "cannot_trade").await;
        let done = json_of(
            app.post_json(
                &format!(
                    "/api/v1/diagnoses/{}/escalations",
                    run["id"].as_str().unwrap()
                ),
                json!({"via": "chat"}),
                Some(&t),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        assert!(done["chat_id"].is_string());
        let ticket = app
            .staff_view(&agent, done["ticket_id"].as_str().unwrap())
            .await;
        assert_eq!(ticket["channel"], "chat");
        assert!(ticket["messages"].as_array().unwrap().iter().any(
            |m| m["internal"] == true && m["body"].as_str().unwrap().contains("Troubleshooter")
        ));

        // A prepared call: the code opens the case for an agent, however it is read out.
        let run = app.diagnose(&t, "funds_delayed").await;
        let case = json_of(
            app.post_json(
                "/api/v1/case-codes",
                json!({"description": "My ETH deposit is slow", "diagnosis_id": run["id"]}),
                Some(&t),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        let shown = case["code"].as_str().unwrap().to_owned();
        assert_eq!(shown.len(), 7, "{shown}");
        let listed = json_of(app.get_auth("/api/v1/case-codes", &t).await, StatusCode::OK).await;
        assert_eq!(listed["items"][0]["code"], shown.as_str());
        let typed = shown.to_lowercase().replace('-', " ");
        let r = app
            .get_auth(
                &format!("/api/v1/agent/case-codes/{}", typed.replace(' ', "%20")),
                &t,
            )
            .await;
        assert_eq!(
            r.status(),
            StatusCode::FORBIDDEN,
            "customers do not open cases"
        );
        let opened = json_of(
            app.get_auth(
                &format!("/api/v1/agent/case-codes/{}", typed.replace(' ', "%20")),
                &agent,
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(opened["ticket_id"], case["ticket_id"]);
        assert_eq!(opened["description"], "My ETH deposit is slow");
        assert!(
            opened["customer"].as_str().unwrap().contains('*'),
            "masked: {opened}"
        );
        assert!(opened["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "deposit_confirming"));
        let audit = app
            .state
            .db
            .audit_events_for(&format!("user:{}", opened["customer_id"].as_str().unwrap()))
            .await
            .unwrap();
        assert!(
            audit.iter().any(|a| a.action == "case.opened"),
            "the view is audited"
        );
        let r = app
            .get_auth("/api/v1/agent/case-codes/ZZZ999", &agent)
            .await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        sqlx::query("UPDATE case_codes SET expires_at_ms = 1")
            .execute(app.state.db.pool())
            .await
            .unwrap();
        let r = app
            .get_auth(&format!("/api/v1/agent/case-codes/{}", shown), &agent)
            .await;
        assert_eq!(
            r.status(),
            StatusCode::NOT_FOUND,
            "a day later the code is gone"
        );

        // The supervisors' figures: 4 runs, 1 solved, 3 escalated.
        let (_, lead) = staff(&app, "lead@example.com", identity::Role::Supervisor).await;
        let stats = json_of(
            app.get_auth("/api/v1/supervisor/stats", &lead).await,
            StatusCode::OK,
        )
        .await;
        let d = &stats["troubleshooters"];
        assert_eq!(
            (
                d["runs"].as_i64(),
                d["resolved"].as_i64(),
                d["escalated"].as_i64()
            ),
            (Some(4), Some(1), Some(3)),
            "{d}"
        );
        assert_eq!(d["resolved_permille"], 250);
    }
);

both_backends!(
    the_troubleshooter_pages_run_solve_escalate_and_open_cases_in_both_languages,
    |backend| async move {
        use crate::pages::Browser;

        let app = App::spawn(backend).await;
        let (_, admin) = staff(&app, "admin@example.com", identity::Role::Admin).await;
        app.desk_group(&admin, "general").await;
        let (_, t) = app.customer("kim@example.com").await;
        app.sim_deposit(&t, "0.5").await;
        app.mine(2).await;

        // Not signed in: "I can't log in" asks for an address; the others ask to sign in.
        let mut stranger = Browser::new(&app);
        let page = stranger.get("/help/troubleshoot/login_failed").await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("id=\"login-help\""));
        let r = stranger
            .post(
                "/help/troubleshoot/login_failed/email",
                &[("csrf", &page.csrf()), ("email", "kim@example.com")],
            )
            .await;
        assert_eq!(r.status, 303);
        let sent = stranger.get("/help/troubleshoot/login_failed?sent=1").await;
        assert!(sent.body.contains("data-login-help-sent"));
        assert_eq!(
            stranger.get("/help/troubleshoot/cannot_trade").await.status,
            303
        );
        assert_eq!(
            stranger.get("/help/troubleshoot/nonsense").await.status,
            404
        );

        for lang in ["en", "zh-CN"] {
            let mut kim = Browser::new(&app);
            kim.lang = lang;
            kim.log_in("kim@example.com", STRONG).await;
            let topic = kim.get("/help/topics/funds_delayed").await;
            assert!(topic
                .body
                .contains("href=\"/help/troubleshoot/funds_delayed\""));
            let r = kim
                .submit(
                    "/help/troubleshoot/funds_delayed",
                    "/help/troubleshoot/funds_delayed",
                    &[],
                )
                .await;
            assert_eq!(r.status, 303, "{}", r.body);
            let run_path = r.headers["location"].to_str().unwrap().to_owned();
            let page = kim.get(&run_path).await;
            assert_eq!(page.status, 200);
            assert!(
                page.body.contains("data-finding=\"deposit_confirming\""),
                "{}",
                page.body
            );
            let words = if lang == "en" {
                "is on its way"
            } else {
                "正在确认中"
            };
            assert!(page.body.contains(words), "{lang}");
            if lang == "en" {
                let r = kim
                    .post(&format!("{run_path}/resolved"), &[("csrf", &page.csrf())])
                    .await;
                assert_eq!(r.status, 303);
                assert!(kim
                    .get(&run_path)
                    .await
                    .body
                    .contains("data-outcome=\"resolved\""));
            } else {
                // Nobody online for a chat: back to the findings with the reason.
                let r = kim
                    .post(
                        &format!("{run_path}/escalate"),
                        &[("csrf", &page.csrf()), ("via", "chat"), ("message", "")],
                    )
                    .await;
                assert_eq!(r.status, 303);
                let back = r.headers["location"].to_str().unwrap().to_owned();
                assert!(back.ends_with("?unavailable=1"), "{back}");
                assert_eq!(kim.get(&back).await.status, 409);
                let r = kim
                    .post(
                        &format!("{run_path}/escalate"),
                        &[
                            ("csrf", &page.csrf()),
                            ("via", "ticket"),
                            ("message", "还没到账"),
                        ],
                    )
                    .await;
                assert_eq!(r.status, 303);
                assert!(r.headers["location"]
                    .to_str()
                    .unwrap()
                    .starts_with("/support/tickets/"));
                let page = kim.get(&run_path).await;
                assert!(page.body.contains("data-outcome=\"escalated\""));
            }
        }

        // A prepared call from the page, opened by an agent from the console.
        let mut kim = Browser::new(&app);
        kim.log_in("kim@example.com", STRONG).await;
        let r = kim
            .submit(
                "/help/troubleshoot/funds_delayed",
                "/help/troubleshoot/funds_delayed",
                &[],
            )
            .await;
        let run_path = r.headers["location"].to_str().unwrap().to_owned();
        let page = kim.get(&run_path).await;
        let with_code = kim
            .post(
                &format!("{run_path}/case"),
                &[("csrf", &page.csrf()), ("description", "ETH deposit slow")],
            )
            .await;
        assert_eq!(with_code.status, 200, "{}", with_code.body);
        let marker = "data-case-code=\"";
        let at = with_code.body.find(marker).unwrap() + marker.len();
        let shown = with_code.body[at..].split('"').next().unwrap().to_owned();
        let mut agent =
            crate::help_pages::staff(&app, "agent@example.com", identity::Role::Agent).await;
        let r = agent
            .submit("/agent/case", "/agent/case", &[("code", "nope-00")])
            .await;
        assert_eq!(r.status, 404);
        let r = agent
            .submit(
                "/agent/case",
                "/agent/case",
                &[("code", &shown.to_lowercase())],
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let ticket = agent.get(r.headers["location"].to_str().unwrap()).await;
        assert_eq!(ticket.status, 200);
        assert!(ticket.body.contains("ETH deposit slow"));
        assert!(
            ticket.body.contains("deposit_confirming"),
            "the findings are on the case"
        );
        let mut customer_at_console = Browser::new(&app);
        customer_at_console.log_in("kim@example.com", STRONG).await;
        assert_eq!(customer_at_console.get("/agent/case").await.status, 403);
    }
);
