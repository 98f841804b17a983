//! Sign-up, log-in, lockout, sessions and freeze through the API, on both databases.

use axum::http::StatusCode;
use serde_json::{json, Value};
use testkit::both_backends;

use crate::App;

pub(crate) const STRONG: &str = "correct horse battery staple 42";

impl App {
    pub(crate) async fn post_json(
        &self,
        path: &str,
        body: Value,
        token: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self.client.post(self.url(path)).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("the server answers")
    }

    pub(crate) async fn get_auth(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("answers")
    }

    pub(crate) async fn delete_auth(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .delete(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("answers")
    }

    pub(crate) async fn sign_up(&self, email: &str) -> String {
        let r = self
            .post_json(
                "/api/v1/users",
                json!({"email": email, "password": STRONG}),
                None,
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        r.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub(crate) async fn log_in(&self, email: &str, password: &str) -> reqwest::Response {
        self.post_json(
            "/api/v1/sessions",
            json!({"email": email, "password": password}),
            None,
        )
        .await
    }

    pub(crate) async fn token(&self, email: &str) -> String {
        let r = self.log_in(email, STRONG).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        r.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

pub(crate) async fn code(r: reqwest::Response) -> (StatusCode, String, Value) {
    let status = r.status();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    (
        status,
        body["code"].as_str().unwrap_or_default().to_owned(),
        body,
    )
}

both_backends!(
    sign_up_checks_input_and_never_reveals_a_taken_address,
    |backend| async move {
        let app = App::spawn(backend).await;
        let id = app.sign_up("Alice@Example.com").await;
        assert!(!id.is_empty());

        let r = app
            .post_json(
                "/api/v1/users",
                json!({"email": "bob@example.com", "password": "password123"}),
                None,
            )
            .await;
        let (status, c, body) = code(r).await;
        assert_eq!(
            (status, c.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "weak_password")
        );
        assert!(
            body["detail"].as_str().unwrap().len() > "Choose a stronger password.".len(),
            "{body}"
        );
        let r = app
            .client
            .post(app.url("/api/v1/users"))
            .header("accept-language", "zh-CN")
            .json(&json!({"email": "bob@example.com", "password": "bob@example.com!"}))
            .send()
            .await
            .unwrap();
        let (status, c, body) = code(r).await;
        assert_eq!(
            (status, c.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "weak_password")
        );
        assert!(body["detail"].as_str().unwrap().contains("密码"), "{body}");
        let r = app
            .post_json(
                "/api/v1/users",
                json!({"email": "not-an-email", "password": STRONG}),
                None,
            )
            .await;
        assert_eq!(code(r).await.1, "invalid_email");
        let r = app
            .post_json(
                "/api/v1/users",
                json!({"email": "c@example.com", "password": STRONG, "admin": true}),
                None,
            )
            .await;
        assert_eq!(code(r).await.1, "invalid_field");

        // A taken address: same status and shape, an id that names nobody, no second account.
        let r = app
            .post_json(
                "/api/v1/users",
                json!({"email": "alice@example.com", "password": "another strong passphrase 7"}),
                None,
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let decoy: Value = r.json().await.unwrap();
        assert_ne!(decoy["id"], json!(id));
        assert_eq!(decoy["email"], json!("alice@example.com"));
        assert_eq!(
            code(
                app.log_in("alice@example.com", "another strong passphrase 7")
                    .await
            )
            .await
            .1,
            "invalid_credentials"
        );
        let events = app.state.db.security_events_for(&id, 10).await.unwrap();
        assert!(
            events.iter().any(|e| e.kind == "sign_up_attempt"),
            "the owner's log shows the attempt"
        );
    }
);

both_backends!(log_in_me_and_log_out, |backend| async move {
    let app = App::spawn(backend).await;
    let id = app.sign_up("carol@example.com").await;
    let r = app.log_in("carol@example.com", STRONG).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let session: Value = r.json().await.unwrap();
    let token = session["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("okw_"));
    assert!(session["expires_at"].as_str().unwrap().ends_with('Z'));

    let me: Value = app
        .get_auth("/api/v1/me", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["id"], json!(id));
    assert_eq!(me["roles"], json!(["user"]));
    assert_eq!(
        (me["mfa_enabled"].clone(), me["frozen"].clone()),
        (json!(false), json!(false))
    );

    for bad in [
        "",
        "Bearer",
        "Bearer okw_nope",
        "Basic abc",
        &format!("Bearer {token}x"),
    ] {
        let r = app
            .client
            .get(app.url("/api/v1/me"))
            .header("authorization", bad)
            .send()
            .await
            .unwrap();
        assert_eq!(code(r).await.1, "unauthorized", "{bad}");
    }
    assert_eq!(
        code(app.log_in("carol@example.com", "wrong password here").await)
            .await
            .1,
        "invalid_credentials"
    );
    assert_eq!(
        code(app.log_in("nobody@example.com", STRONG).await).await.1,
        "invalid_credentials"
    );

    let r = app.delete_auth("/api/v1/sessions/current", &token).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        code(app.get_auth("/api/v1/me", &token).await).await.1,
        "unauthorized",
        "a revoked token is refused"
    );
    let stored = app.state.db.pool().clone();
    let hashes: Vec<(String,)> = sqlx::query_as("SELECT token_hash FROM sessions")
        .fetch_all(&stored)
        .await
        .unwrap();
    assert!(
        hashes
            .iter()
            .all(|(h,)| h.len() == 64 && !h.contains(&token)),
        "only hashes are stored"
    );
});

both_backends!(
    brute_force_locks_the_account_and_the_owner_recovers,
    |backend| async move {
        let app = App::spawn(backend).await;
        let id = app.sign_up("dave@example.com").await;
        for attempt in 1..=4 {
            assert_eq!(
                code(app.log_in("dave@example.com", "guess number one").await)
                    .await
                    .1,
                "invalid_credentials",
                "{attempt}"
            );
        }
        let r = app.log_in("dave@example.com", "guess number five").await;
        let retry_header = r
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        let (status, c, body) = code(r).await;
        assert_eq!((status, c.as_str()), (StatusCode::LOCKED, "account_locked"));
        let retry = body["retry_after_s"].as_u64().unwrap();
        assert!((1..=60).contains(&retry), "{body}");
        assert_eq!(retry_header, Some(retry.to_string()));
        // While locked even the right password is not checked.
        assert_eq!(
            code(app.log_in("dave@example.com", STRONG).await).await.1,
            "account_locked"
        );
        let kinds: Vec<String> = app
            .state
            .db
            .security_events_for(&id, 20)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect();
        assert_eq!(kinds.iter().filter(|k| *k == "login_failed").count(), 5);
        assert!(kinds.contains(&"locked".to_owned()));

        // When the lock runs out (simulated: the row says so), the owner gets in and the count resets.
        sqlx::query("UPDATE login_throttles SET locked_until_ms = 0 WHERE key = $1")
            .bind(format!("account:{id}"))
            .execute(app.state.db.pool())
            .await
            .unwrap();
        assert_eq!(
            app.log_in("dave@example.com", STRONG).await.status(),
            StatusCode::CREATED
        );
        assert_eq!(
            code(app.log_in("dave@example.com", "one more guess").await)
                .await
                .1,
            "invalid_credentials"
        );
    }
);

both_backends!(
    one_address_guessing_many_accounts_is_slowed,
    |backend| async move {
        let app = App::spawn(backend).await;
        let mut last = String::new();
        for n in 0..31 {
            let r = app
                .log_in(&format!("victim{n}@example.com"), "password guess")
                .await;
            last = code(r).await.1;
            if last == "too_many_requests" {
                break;
            }
        }
        assert_eq!(last, "too_many_requests");
    }
);

both_backends!(
    sessions_are_listed_ended_and_private,
    |backend| async move {
        let app = App::spawn(backend).await;
        app.sign_up("erin@example.com").await;
        app.sign_up("frank@example.com").await;
        let phone = app.token("erin@example.com").await;
        let laptop = app.token("erin@example.com").await;
        let frank = app.token("frank@example.com").await;

        let list: Value = app
            .get_auth("/api/v1/me/sessions", &laptop)
            .await
            .json()
            .await
            .unwrap();
        let items = list["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(
            items.iter().filter(|s| s["current"] == json!(true)).count(),
            1
        );
        let phone_id = items.iter().find(|s| s["current"] == json!(false)).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();

        // Frank can neither see nor end Erin's sessions.
        let franks: Value = app
            .get_auth("/api/v1/me/sessions", &frank)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(franks["items"].as_array().unwrap().len(), 1);
        assert_eq!(
            code(
                app.delete_auth(&format!("/api/v1/me/sessions/{phone_id}"), &frank)
                    .await
            )
            .await
            .1,
            "not_found"
        );
        assert_eq!(
            app.get_auth("/api/v1/me", &phone).await.status(),
            StatusCode::OK
        );

        assert_eq!(
            app.delete_auth(&format!("/api/v1/me/sessions/{phone_id}"), &laptop)
                .await
                .status(),
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            code(app.get_auth("/api/v1/me", &phone).await).await.1,
            "unauthorized"
        );
        assert_eq!(
            code(app.get_auth("/api/v1/me/sessions", &phone).await)
                .await
                .1,
            "unauthorized"
        );
        assert_eq!(
            code(
                app.delete_auth(&format!("/api/v1/me/sessions/{phone_id}"), &laptop)
                    .await
            )
            .await
            .1,
            "not_found"
        );
    }
);

both_backends!(freeze_revokes_every_session_at_once, |backend| async move {
    let app = App::spawn(backend).await;
    let id = app.sign_up("gina@example.com").await;
    let a = app.token("gina@example.com").await;
    let b = app.token("gina@example.com").await;
    let r = app
        .post_json("/api/v1/me/freeze", json!({}), Some(&a))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["frozen"], json!(true));
    for token in [&a, &b] {
        assert_eq!(
            code(app.get_auth("/api/v1/me", token).await).await.1,
            "unauthorized"
        );
    }
    let c = app.token("gina@example.com").await;
    let me: Value = app.get_auth("/api/v1/me", &c).await.json().await.unwrap();
    assert_eq!(me["frozen"], json!(true));
    let kinds: Vec<String> = app
        .state
        .db
        .security_events_for(&id, 20)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert!(kinds.contains(&"frozen".to_owned()));
    assert_eq!(
        code(app.post_json("/api/v1/me/freeze", json!({}), None).await)
            .await
            .1,
        "unauthorized"
    );
});

both_backends!(
    totp_enrolment_then_log_in_with_codes_and_recovery_codes,
    |backend| async move {
        use identity::totp::{TotpSecret, STEP_S};
        let app = App::spawn(backend).await;
        let id = app.sign_up("hana@example.com").await;
        let token = app.token("hana@example.com").await;
        let now = || {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs()
        };

        assert_eq!(
            code(
                app.post_json(
                    "/api/v1/me/totp/confirm",
                    json!({"otp": "123456"}),
                    Some(&token)
                )
                .await
            )
            .await
            .1,
            "mfa_not_started"
        );
        let r = app
            .post_json("/api/v1/me/totp", json!({}), Some(&token))
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let enrolment: Value = r.json().await.unwrap();
        let secret = TotpSecret::from_base32(enrolment["secret"].as_str().unwrap())
            .expect("a base32 secret");
        assert!(enrolment["otpauth_url"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/okwallet:hana%40example.com"));

        let wrong = if secret.code_at(now()) == "000000" {
            "111111"
        } else {
            "000000"
        };
        assert_eq!(
            code(
                app.post_json(
                    "/api/v1/me/totp/confirm",
                    json!({"otp": wrong}),
                    Some(&token)
                )
                .await
            )
            .await
            .1,
            "invalid_otp"
        );
        let first = secret.code_at(now());
        let r = app
            .post_json(
                "/api/v1/me/totp/confirm",
                json!({"otp": first}),
                Some(&token),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let codes: Vec<String> =
            serde_json::from_value(r.json::<Value>().await.unwrap()["recovery_codes"].clone())
                .unwrap();
        assert_eq!(codes.len(), 10);
        let me: Value = app
            .get_auth("/api/v1/me", &token)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(me["mfa_enabled"], json!(true));
        assert_eq!(
            code(
                app.post_json("/api/v1/me/totp", json!({}), Some(&token))
                    .await
            )
            .await
            .1,
            "mfa_already_enabled"
        );

        let log_in = |otp: Option<String>| {
            let mut body =
                json!({"email": "hana@example.com", "password": crate::accounts::STRONG});
            if let Some(otp) = otp {
                body["otp"] = json!(otp);
            }
            app.post_json("/api/v1/sessions", body, None)
        };
        let (status, c, _) = code(log_in(None).await).await;
        assert_eq!(
            (status, c.as_str()),
            (StatusCode::UNAUTHORIZED, "mfa_required")
        );
        assert_eq!(
            code(log_in(Some(wrong.into())).await).await.1,
            "invalid_otp"
        );
        assert_eq!(
            code(log_in(Some(first.clone())).await).await.1,
            "invalid_otp",
            "the confirming code cannot be replayed"
        );
        let next = secret.code_at(now() + STEP_S);
        assert_eq!(
            log_in(Some(next.clone())).await.status(),
            StatusCode::CREATED
        );
        assert_eq!(
            code(log_in(Some(next)).await).await.1,
            "invalid_otp",
            "a code works once"
        );

        assert_eq!(
            log_in(Some(codes[0].to_uppercase())).await.status(),
            StatusCode::CREATED,
            "recovery codes ignore case"
        );
        assert_eq!(
            code(log_in(Some(codes[0].clone())).await).await.1,
            "invalid_otp",
            "a recovery code works once"
        );
        let kinds: Vec<String> = app
            .state
            .db
            .security_events_for(&id, 50)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect();
        for kind in ["mfa_enabled", "mfa_failed", "recovery_code_used"] {
            assert!(kinds.contains(&kind.to_owned()), "{kind} in {kinds:?}");
        }
    }
);

impl App {
    pub(crate) async fn put_json(&self, path: &str, body: Value, token: &str) -> reqwest::Response {
        self.client
            .put(self.url(path))
            .json(&body)
            .bearer_auth(token)
            .send()
            .await
            .expect("answers")
    }
}

both_backends!(
    step_up_guards_the_anti_phishing_code_and_the_log_shows_it,
    |backend| async move {
        let app = App::spawn(backend).await;
        app.sign_up("ivan@example.com").await;
        let token = app.token("ivan@example.com").await;
        let set = |code: &'static str| {
            app.put_json(
                "/api/v1/me/anti-phishing-code",
                json!({"code": code}),
                &token,
            )
        };

        let (status, c, _) = code(set("blue fox 42").await).await;
        assert_eq!(
            (status, c.as_str()),
            (StatusCode::FORBIDDEN, "step_up_required")
        );
        assert_eq!(
            code(
                app.post_json("/api/v1/me/step-up", json!({}), Some(&token))
                    .await
            )
            .await
            .1,
            "invalid_credentials"
        );
        assert_eq!(
            code(
                app.post_json(
                    "/api/v1/me/step-up",
                    json!({"password": "not my password"}),
                    Some(&token)
                )
                .await
            )
            .await
            .1,
            "invalid_credentials"
        );
        let r = app
            .post_json(
                "/api/v1/me/step-up",
                json!({"password": STRONG}),
                Some(&token),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.json::<Value>().await.unwrap()["stepped_up_until"]
            .as_str()
            .unwrap()
            .ends_with('Z'));

        assert_eq!(
            code(set("https://evil.example").await).await.1,
            "invalid_anti_phishing_code"
        );
        assert_eq!(set("blue fox 42").await.status(), StatusCode::OK);
        let me: Value = app
            .get_auth("/api/v1/me", &token)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(me["anti_phishing_code"], json!("blue fox 42"));

        // Another session of the same user has not stepped up.
        let other = app.token("ivan@example.com").await;
        let r = app
            .put_json(
                "/api/v1/me/anti-phishing-code",
                json!({"code": "green owl"}),
                &other,
            )
            .await;
        assert_eq!(code(r).await.1, "step_up_required");

        let log: Value = app
            .get_auth("/api/v1/me/security-events?limit=100", &token)
            .await
            .json()
            .await
            .unwrap();
        let kinds: Vec<&str> = log["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds.first(), Some(&"login"), "newest first: {kinds:?}");
        for kind in ["anti_phishing_code_set", "step_up", "verification_failed"] {
            assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
        }
    }
);

both_backends!(
    unfreezing_needs_proof_and_waits_a_day,
    |backend| async move {
        use identity::totp::TotpSecret;
        let app = App::spawn(backend).await;
        app.sign_up("jun@example.com").await;
        let token = app.token("jun@example.com").await;
        assert_eq!(
            code(
                app.post_json(
                    "/api/v1/me/unfreeze",
                    json!({"password": STRONG}),
                    Some(&token)
                )
                .await
            )
            .await
            .1,
            "not_frozen"
        );

        // Enable TOTP: withdrawals lock for a day as a security change.
        let enrolment: Value = app
            .post_json("/api/v1/me/totp", json!({}), Some(&token))
            .await
            .json()
            .await
            .unwrap();
        let secret = TotpSecret::from_base32(enrolment["secret"].as_str().unwrap()).unwrap();
        let now = || {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs()
        };
        let r = app
            .post_json(
                "/api/v1/me/totp/confirm",
                json!({"otp": secret.code_at(now())}),
                Some(&token),
            )
            .await;
        let codes: Vec<String> =
            serde_json::from_value(r.json::<Value>().await.unwrap()["recovery_codes"].clone())
                .unwrap();
        let me: Value = app
            .get_auth("/api/v1/me", &token)
            .await
            .json()
            .await
            .unwrap();
        assert!(me["withdrawals_locked_until"].is_string(), "{me}");

        app.post_json("/api/v1/me/freeze", json!({}), Some(&token))
            .await;
        let otp_login = json!({"email": "jun@example.com", "password": STRONG, "otp": codes[0]});
        let r = app.post_json("/api/v1/sessions", otp_login, None).await;
        let token = r.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned();
        // The password alone is not enough once a second factor exists.
        assert_eq!(
            code(
                app.post_json(
                    "/api/v1/me/unfreeze",
                    json!({"password": STRONG}),
                    Some(&token)
                )
                .await
            )
            .await
            .1,
            "mfa_required"
        );
        let r = app
            .post_json(
                "/api/v1/me/unfreeze",
                json!({"password": STRONG, "otp": codes[1]}),
                Some(&token),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let at = r.json::<Value>().await.unwrap()["unfreeze_at"]
            .as_str()
            .unwrap()
            .to_owned();
        let me: Value = app
            .get_auth("/api/v1/me", &token)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            (me["frozen"].clone(), me["unfreeze_at"].clone()),
            (json!(true), json!(at)),
            "still frozen while cooling off"
        );
        assert_eq!(
            code(
                app.post_json(
                    "/api/v1/me/unfreeze",
                    json!({"password": STRONG, "otp": codes[2]}),
                    Some(&token)
                )
                .await
            )
            .await
            .1,
            "not_frozen"
        );

        // Freezing again cancels the pending unfreeze.
        app.post_json("/api/v1/me/freeze", json!({}), Some(&token))
            .await;
        let r = app
            .post_json(
                "/api/v1/sessions",
                json!({"email": "jun@example.com", "password": STRONG, "otp": codes[3]}),
                None,
            )
            .await;
        let token = r.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned();
        let me: Value = app
            .get_auth("/api/v1/me", &token)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            (me["frozen"].clone(), me["unfreeze_at"].clone()),
            (json!(true), Value::Null)
        );
    }
);

both_backends!(
    ending_every_other_session_keeps_only_this_one,
    |backend| async move {
        let app = App::spawn(backend).await;
        app.sign_up("sol@example.com").await;
        let (a, b, c) = (
            app.token("sol@example.com").await,
            app.token("sol@example.com").await,
            app.token("sol@example.com").await,
        );
        app.sign_up("tao@example.com").await;
        let stranger = app.token("tao@example.com").await;
        let r = app
            .client
            .delete(app.url("/api/v1/me/sessions"))
            .bearer_auth(&a)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.json::<Value>().await.unwrap()["ended"], 2);
        assert_eq!(
            app.get_auth("/api/v1/me", &a).await.status(),
            StatusCode::OK
        );
        for gone in [&b, &c] {
            assert_eq!(
                app.get_auth("/api/v1/me", gone).await.status(),
                StatusCode::UNAUTHORIZED
            );
        }
        assert_eq!(
            app.get_auth("/api/v1/me", &stranger).await.status(),
            StatusCode::OK,
            "another account's sessions are untouched"
        );
    }
);
