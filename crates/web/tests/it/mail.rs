//! Mail through the API, read back through the demo's dev mailbox: address verification,
//! password reset (also out of a lockout, with a second factor, raced), sign-in notices with
//! their freeze links, and what the dev mailbox shows to whom. Each story on both databases.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use identity::totp::{TotpSecret, STEP_S};
use serde_json::{json, Value};
use testkit::both_backends;

use crate::accounts::{code, STRONG};
use crate::App;

const NEW_PASSWORD: &str = "a brand new passphrase for 2027";

impl App {
    /// The dev mailbox for `to`, newest first.
    async fn mailbox(&self, to: &str) -> Vec<Value> {
        let r = self
            .client
            .get(self.url("/api/v1/dev/mailbox"))
            .query(&[("to", to)])
            .send()
            .await
            .expect("answers");
        assert_eq!(r.status(), StatusCode::OK);
        let body: Value = r.json().await.unwrap();
        body["items"].as_array().unwrap().clone()
    }

    /// The newest mail of `kind` to `to`, waiting for it (some mail is queued after the answer).
    pub(crate) async fn mail(&self, to: &str, kind: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(mail) = self
                .mailbox(to)
                .await
                .into_iter()
                .find(|m| m["kind"] == kind)
            {
                return mail;
            }
            assert!(Instant::now() < deadline, "no {kind} mail to {to}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn mails_of(&self, to: &str, kind: &str) -> usize {
        self.mailbox(to)
            .await
            .iter()
            .filter(|m| m["kind"] == kind)
            .count()
    }
}

/// The token of the link to `page` in a mail's body.
pub(crate) fn link_token(mail: &Value, page: &str) -> String {
    let body = mail["body"].as_str().unwrap();
    let marker = format!("http://localhost:8080{page}?token=");
    let start = body
        .find(&marker)
        .unwrap_or_else(|| panic!("a {page} link in {body}"))
        + marker.len();
    body[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
        .collect()
}

fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn security_kinds(app: &App, user_id: &str) -> Vec<String> {
    app.state
        .db
        .security_events_for(user_id, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

both_backends!(a_verification_link_works_once, |backend| async move {
    let app = App::spawn_demo(backend).await;
    app.sign_up("vera@example.com").await;
    let token = app.token("vera@example.com").await;
    let me: Value = app
        .get_auth("/api/v1/me", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["email_verified"], json!(false));

    let mail = app.mail("vera@example.com", "verify_email").await;
    assert_eq!(mail["to"], "vera@example.com");
    assert_eq!(mail["subject"], "Confirm your email address");
    assert!(
        mail["body"]
            .as_str()
            .unwrap()
            .starts_with("You have not set an anti-phishing code yet."),
        "{mail}"
    );
    // Asking again within the minute is throttled.
    let r = app
        .post_json("/api/v1/me/email-verification", json!({}), Some(&token))
        .await;
    let retry = r.headers().get("retry-after").cloned();
    let (status, c, _) = code(r).await;
    assert_eq!(
        (status, c.as_str()),
        (StatusCode::TOO_MANY_REQUESTS, "too_many_requests")
    );
    assert!(retry.is_some());

    let link = link_token(&mail, "/verify-email");
    let r = app
        .post_json("/api/v1/email-verifications", json!({"token": link}), None)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"email_verified": true})
    );
    let (status, c, _) = code(
        app.post_json("/api/v1/email-verifications", json!({"token": link}), None)
            .await,
    )
    .await;
    assert_eq!((status, c.as_str()), (StatusCode::GONE, "expired_token"));
    for bad in [
        json!({"token": "okw_nope"}),
        json!({"token": format!("okw_{}", "A".repeat(43))}),
    ] {
        let (status, c, _) = code(
            app.post_json("/api/v1/email-verifications", bad, None)
                .await,
        )
        .await;
        assert_eq!(
            (status, c.as_str()),
            (StatusCode::BAD_REQUEST, "invalid_token")
        );
    }
    let (status, c, _) = code(
        app.post_json("/api/v1/email-verifications", json!({"token": 7}), None)
            .await,
    )
    .await;
    assert_eq!(
        (status, c.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field")
    );

    let me: Value = app
        .get_auth("/api/v1/me", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["email_verified"], json!(true));
    assert_eq!(
        code(
            app.post_json("/api/v1/me/email-verification", json!({}), Some(&token))
                .await
        )
        .await
        .1,
        "email_already_verified"
    );
});

both_backends!(
    a_locked_out_owner_resets_the_password_by_mail_and_gets_in,
    |backend| async move {
        let app = App::spawn_demo(backend).await;
        let id = app.sign_up("lena@example.com").await;
        let old_session = app.token("lena@example.com").await;
        let mut last = String::new();
        for _ in 0..5 {
            last = code(app.log_in("lena@example.com", "wrong guess again").await)
                .await
                .1;
        }
        assert_eq!(last, "account_locked");
        assert_eq!(
            code(app.log_in("lena@example.com", STRONG).await).await.1,
            "account_locked"
        );
        let locked = app.mail("lena@example.com", "account_locked").await;
        assert!(
            locked["body"]
                .as_str()
                .unwrap()
                .contains("locked it for 1 minute"),
            "{locked}"
        );
        link_token(&locked, "/reset-password");

        let r = app
            .post_json(
                "/api/v1/password-resets",
                json!({"email": "Lena@Example.com"}),
                None,
            )
            .await;
        assert_eq!(r.status(), StatusCode::ACCEPTED);
        let mail = app.mail("lena@example.com", "password_reset").await;
        assert_eq!(mail["subject"], "Reset your okwallet password");
        assert!(
            mail["body"]
                .as_str()
                .unwrap()
                .contains("expires in 30 minutes"),
            "{mail}"
        );
        let reset = link_token(&mail, "/reset-password");

        let confirm = |password: &str| {
            app.post_json(
                "/api/v1/password-resets/confirm",
                json!({"token": reset, "password": password}),
                None,
            )
        };
        let (status, c, _) = code(confirm("password1").await).await;
        assert_eq!(
            (status, c.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "weak_password"),
            "a weak password does not spend the link"
        );
        let r = confirm(NEW_PASSWORD).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(
            r.json::<Value>().await.unwrap(),
            json!({"password_reset": true})
        );

        assert_eq!(
            code(app.get_auth("/api/v1/me", &old_session).await).await.1,
            "unauthorized",
            "sessions from before the reset are gone"
        );
        assert_eq!(
            code(app.log_in("lena@example.com", STRONG).await).await.1,
            "invalid_credentials",
            "the old password is gone, and the lock with it"
        );
        let r = app.log_in("lena@example.com", NEW_PASSWORD).await;
        assert_eq!(r.status(), StatusCode::CREATED);
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
        assert!(me["withdrawals_locked_until"].is_string(), "{me}");

        let (status, c, _) = code(confirm("yet another fine passphrase 9").await).await;
        assert_eq!(
            (status, c.as_str()),
            (StatusCode::GONE, "expired_token"),
            "a reset link works once"
        );
        let (status, c, _) = code(
            app.post_json(
                "/api/v1/password-resets/confirm",
                json!({"token": link_token(&locked, "/reset-password"), "password": "yet another fine passphrase 9"}),
                None,
            )
            .await,
        )
        .await;
        assert_eq!(
            (status, c.as_str()),
            (StatusCode::GONE, "expired_token"),
            "the reset spent every other reset link"
        );
        let changed = app.mail("lena@example.com", "password_changed").await;
        assert!(changed["body"].as_str().unwrap().contains("/freeze?token="));
        let kinds = security_kinds(&app, &id).await;
        for kind in ["password_reset_requested", "password_reset", "locked"] {
            assert!(kinds.contains(&kind.to_owned()), "{kind} in {kinds:?}");
        }
        let body = changed["body"].as_str().unwrap();
        assert!(!body.contains(NEW_PASSWORD) && !body.contains(STRONG));
    }
);

both_backends!(
    a_reset_of_a_totp_account_needs_a_second_factor,
    |backend| async move {
        let app = App::spawn_demo(backend).await;
        app.sign_up("tara@example.com").await;
        let token = app.token("tara@example.com").await;
        let enrolment: Value = app
            .post_json("/api/v1/me/totp", json!({}), Some(&token))
            .await
            .json()
            .await
            .unwrap();
        let secret = TotpSecret::from_base32(enrolment["secret"].as_str().unwrap()).unwrap();
        let r = app
            .post_json(
                "/api/v1/me/totp/confirm",
                json!({"otp": secret.code_at(now_s())}),
                Some(&token),
            )
            .await;
        let codes: Vec<String> =
            serde_json::from_value(r.json::<Value>().await.unwrap()["recovery_codes"].clone())
                .unwrap();
        let enabled = app.mail("tara@example.com", "mfa_enabled").await;
        assert_eq!(enabled["subject"], "Two-factor authentication is on");

        app.post_json(
            "/api/v1/password-resets",
            json!({"email": "tara@example.com"}),
            None,
        )
        .await;
        let reset = link_token(
            &app.mail("tara@example.com", "password_reset").await,
            "/reset-password",
        );
        let confirm = |otp: Option<&str>| {
            let mut body = json!({"token": reset, "password": NEW_PASSWORD});
            if let Some(otp) = otp {
                body["otp"] = json!(otp);
            }
            app.post_json("/api/v1/password-resets/confirm", body, None)
        };
        let (status, c, _) = code(confirm(None).await).await;
        assert_eq!(
            (status, c.as_str()),
            (StatusCode::UNAUTHORIZED, "mfa_required")
        );
        let wrong = if secret.code_at(now_s()) == "000000" {
            "111111"
        } else {
            "000000"
        };
        assert_eq!(code(confirm(Some(wrong)).await).await.1, "invalid_otp");
        assert_eq!(confirm(Some(&codes[0])).await.status(), StatusCode::OK);

        let r = app
            .post_json(
                "/api/v1/sessions",
                json!({"email": "tara@example.com", "password": NEW_PASSWORD}),
                None,
            )
            .await;
        assert_eq!(
            code(r).await.1,
            "mfa_required",
            "the second factor survives the reset"
        );
        let r = app
            .post_json(
                "/api/v1/sessions",
                json!({"email": "tara@example.com", "password": NEW_PASSWORD, "otp": secret.code_at(now_s() + STEP_S)}),
                None,
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
    }
);

both_backends!(
    concurrent_uses_of_one_reset_link_give_one_success,
    |backend| async move {
        let app = App::spawn_demo(backend).await;
        app.sign_up("rita@example.com").await;
        app.post_json(
            "/api/v1/password-resets",
            json!({"email": "rita@example.com"}),
            None,
        )
        .await;
        let reset = link_token(
            &app.mail("rita@example.com", "password_reset").await,
            "/reset-password",
        );
        let attempts = (0..4).map(|n| {
            let client = app.client.clone();
            let url = app.url("/api/v1/password-resets/confirm");
            let body = json!({"token": reset, "password": format!("{NEW_PASSWORD} number {n}")});
            tokio::spawn(async move { client.post(url).json(&body).send().await.unwrap() })
        });
        let mut answers = Vec::new();
        for attempt in attempts.collect::<Vec<_>>() {
            answers.push(code(attempt.await.unwrap()).await);
        }
        let ok = answers
            .iter()
            .filter(|(s, _, _)| *s == StatusCode::OK)
            .count();
        assert_eq!(ok, 1, "{answers:?}");
        assert!(
            answers
                .iter()
                .all(|(s, c, _)| *s == StatusCode::OK || c == "expired_token"),
            "{answers:?}"
        );
        let winner = (0..4)
            .map(|n| format!("{NEW_PASSWORD} number {n}"))
            .filter(|p| {
                let hash = stored_password_hash(&app, "rita@example.com");
                identity::verify_password(p, &hash)
            })
            .count();
        assert_eq!(winner, 1, "exactly one new password took effect");
    }
);

/// The stored password hash of `email` (blocking on a helper thread, for use inside `filter`).
fn stored_password_hash(app: &App, email: &str) -> String {
    let db = app.state.db.clone();
    let email = identity::Email::parse(email).unwrap();
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async move {
                db.user_by_email(&email)
                    .await
                    .unwrap()
                    .unwrap()
                    .password_hash
            })
    })
    .join()
    .unwrap()
}

both_backends!(
    a_reset_request_answers_alike_for_known_and_unknown_addresses,
    |backend| async move {
        let app = App::spawn_demo(backend).await;
        app.sign_up("kim@example.com").await;
        let ask = |email: &'static str| {
            app.post_json("/api/v1/password-resets", json!({"email": email}), None)
        };
        let known = ask("kim@example.com").await;
        let unknown = ask("nobody-here@example.com").await;
        assert_eq!(known.status(), StatusCode::ACCEPTED);
        assert_eq!(unknown.status(), known.status());
        let known_body = known.bytes().await.unwrap();
        assert_eq!(unknown.bytes().await.unwrap(), known_body);
        assert_eq!(&known_body[..], br#"{"accepted":true}"#);

        app.mail("kim@example.com", "password_reset").await;
        // A second request within the minute answers the same and sends nothing more.
        assert_eq!(ask("kim@example.com").await.status(), StatusCode::ACCEPTED);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(app.mails_of("kim@example.com", "password_reset").await, 1);
        assert!(app.mailbox("nobody-here@example.com").await.is_empty());
        assert_eq!(code(ask("not an address").await).await.1, "invalid_email");
    }
);

both_backends!(
    a_new_login_mail_shows_the_code_and_its_freeze_link_freezes_once,
    |backend| async move {
        let app = App::spawn_demo(backend).await;
        let id = app.sign_up("nora@example.com").await;
        let token = app.token("nora@example.com").await;
        app.post_json(
            "/api/v1/me/step-up",
            json!({"password": STRONG}),
            Some(&token),
        )
        .await;
        let r = app
            .put_json(
                "/api/v1/me/anti-phishing-code",
                json!({"code": "blue fox 42"}),
                &token,
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let changed = app
            .mail("nora@example.com", "anti_phishing_code_changed")
            .await;
        assert!(changed["body"]
            .as_str()
            .unwrap()
            .starts_with("Your anti-phishing code: blue fox 42\n"));

        let r = app
            .client
            .post(app.url("/api/v1/sessions"))
            .header(
                "user-agent",
                "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0",
            )
            .json(&json!({"email": "nora@example.com", "password": STRONG}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let other = r.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned();
        let mail = &app.mailbox("nora@example.com").await[0];
        assert_eq!(mail["kind"], "new_login");
        assert_eq!(mail["subject"], "New sign-in to your okwallet account");
        let body = mail["body"].as_str().unwrap();
        assert!(
            body.starts_with("Your anti-phishing code: blue fox 42\n"),
            "{body}"
        );
        assert!(body.contains("IP address: 127.0.0.1"), "{body}");
        assert!(body.contains("Device: Firefox on Linux"), "{body}");
        assert!(!body.contains(STRONG));
        let freeze = link_token(mail, "/freeze");

        // Fetching the link's address must never act; only the POST does.
        let r = app
            .client
            .get(app.url(&format!("/api/v1/freeze-links?token={freeze}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(
            app.get_auth("/api/v1/me", &other).await.status(),
            StatusCode::OK
        );

        let r = app
            .post_json("/api/v1/freeze-links", json!({"token": freeze}), None)
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.json::<Value>().await.unwrap(), json!({"frozen": true}));
        for session in [&token, &other] {
            assert_eq!(
                code(app.get_auth("/api/v1/me", session).await).await.1,
                "unauthorized"
            );
        }
        let (status, c, _) = code(
            app.post_json("/api/v1/freeze-links", json!({"token": freeze}), None)
                .await,
        )
        .await;
        assert_eq!((status, c.as_str()), (StatusCode::GONE, "expired_token"));
        let frozen = app.mail("nora@example.com", "frozen").await;
        assert_eq!(frozen["subject"], "Your okwallet account is frozen");
        let again = app.token("nora@example.com").await;
        let me: Value = app
            .get_auth("/api/v1/me", &again)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(me["frozen"], json!(true));
        let events = app.state.db.security_events_for(&id, 100).await.unwrap();
        assert!(events
            .iter()
            .any(|e| e.kind == "frozen" && e.detail.contains("email_link")));
    }
);

both_backends!(
    a_sign_up_with_a_taken_address_tells_the_owner_once_an_hour,
    |backend| async move {
        let app = App::spawn_demo(backend).await;
        app.sign_up("omar@example.com").await;
        for _ in 0..2 {
            let r = app
                .client
                .post(app.url("/api/v1/users"))
                .header("accept-language", "zh-CN")
                .json(&json!({"email": "omar@example.com", "password": "another strong passphrase 7"}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::CREATED);
        }
        assert_eq!(
            app.mails_of("omar@example.com", "signup_attempt_on_existing_address")
                .await,
            1
        );
        assert_eq!(app.mails_of("omar@example.com", "verify_email").await, 1);
        let mail = app
            .mail("omar@example.com", "signup_attempt_on_existing_address")
            .await;
        assert_eq!(
            mail["locale"], "en",
            "the owner's language, not the stranger's"
        );
        assert!(mail["body"]
            .as_str()
            .unwrap()
            .contains("http://localhost:8080/reset-password\n"));

        // A new address in Chinese gets its mail in Chinese.
        let r = app
            .client
            .post(app.url("/api/v1/users"))
            .header("accept-language", "zh-CN")
            .json(&json!({"email": "li@example.com", "password": STRONG}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let mail = app.mail("li@example.com", "verify_email").await;
        assert_eq!(mail["subject"], "请验证您的邮箱地址");
        assert!(mail["body"]
            .as_str()
            .unwrap()
            .starts_with("您尚未设置防钓鱼码。"));
    }
);

both_backends!(
    the_dev_mailbox_exists_only_in_demo_mode,
    |backend| async move {
        let app = App::spawn(backend).await;
        app.sign_up("pia@example.com").await;
        let r = app.get("/api/v1/dev/mailbox?to=pia@example.com").await;
        let (status, body) = crate::problem(r).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("not_found"))
        );
        // The mail is queued all the same, for the mailer to send.
        let queued = app
            .state
            .db
            .recent_mail(Some("pia@example.com"), 10)
            .await
            .unwrap();
        assert_eq!(queued.len(), 1);
        assert_eq!(queued[0].kind, "verify_email");
        assert_eq!(queued[0].sent_at_ms, None);

        let demo = App::spawn_demo(backend).await;
        let r = demo.get("/api/v1/dev/mailbox?limit=many").await;
        assert_eq!(r.status(), StatusCode::OK);
    }
);

both_backends!(the_mail_routes_are_documented, |backend| async move {
    let app = App::spawn(backend).await;
    let doc: Value = app.get("/api/openapi.json").await.json().await.unwrap();
    for (path, method) in [
        ("/api/v1/email-verifications", "post"),
        ("/api/v1/me/email-verification", "post"),
        ("/api/v1/password-resets", "post"),
        ("/api/v1/password-resets/confirm", "post"),
        ("/api/v1/freeze-links", "post"),
        ("/api/v1/dev/mailbox", "get"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is documented"
        );
    }
    assert!(doc["components"]["schemas"]["Me"]["properties"]["email_verified"].is_object());
});
