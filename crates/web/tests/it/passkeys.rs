//! Passkeys through the API on both databases, with a real software authenticator
//! (webauthn-authenticator-rs's `SoftPasskey`): real keys, real signatures, real counters.
//!
//! `SoftPasskey` cannot store discoverable credentials: it refuses `requireResidentKey`, needs
//! the credential ids in `allowCredentials`, and returns no user handle. [`Device`] adds exactly
//! that storage around it, the way a discoverable authenticator behaves: it remembers the
//! credentials it made (with the user handle from the options) and, asked for a discoverable
//! credential, signs with one of them and returns its user handle. Neither the allow list nor the
//! user handle is covered by the signature, so the cryptography and everything the server checks
//! stay the real thing.

use axum::http::StatusCode;
use serde_json::{json, Value};
use testkit::both_backends;
use webauthn_authenticator_rs::prelude::{
    CreationChallengeResponse, RequestChallengeResponse, Url, WebauthnAuthenticator,
};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

use crate::accounts::{code, STRONG};
use crate::App;

/// The origin the browser sees: the default public URL.
const ORIGIN: &str = "http://localhost:8080";

/// One authenticator in someone's hands, holding discoverable credentials.
struct Device {
    authenticator: WebauthnAuthenticator<SoftPasskey>,
    /// (credential id, user handle), both base64url, as the authenticator stores them.
    resident: Vec<(String, String)>,
}

impl Device {
    fn new() -> Device {
        // `true` makes the soft key report user verification (a PIN or a fingerprint), which
        // okwallet requires.
        Device {
            authenticator: WebauthnAuthenticator::new(SoftPasskey::new(true)),
            resident: Vec::new(),
        }
    }

    /// `navigator.credentials.create()` on the server's options; returns the credential JSON a
    /// page sends back.
    fn create(&mut self, options: &Value) -> Value {
        let handle = options["publicKey"]["user"]["id"]
            .as_str()
            .expect("a user handle")
            .to_owned();
        assert_eq!(
            options["publicKey"]["authenticatorSelection"]["residentKey"],
            "required"
        );
        let mut options = options.clone();
        // This device keeps the credential itself (`resident`), so the soft key underneath is
        // asked for an ordinary one.
        options["publicKey"]["authenticatorSelection"]["requireResidentKey"] = json!(false);
        options["publicKey"]["authenticatorSelection"]["residentKey"] = json!("discouraged");
        let options: CreationChallengeResponse = serde_json::from_value(options).unwrap();
        let credential = self
            .authenticator
            .do_registration(Url::parse(ORIGIN).unwrap(), options)
            .expect("the soft passkey registers");
        let credential = serde_json::to_value(&credential).unwrap();
        self.resident
            .push((credential["rawId"].as_str().unwrap().to_owned(), handle));
        credential
    }

    /// `navigator.credentials.get()` on the server's options; returns the credential JSON a page
    /// sends back.
    fn get(&mut self, options: &Value) -> Value {
        let mut options = options.clone();
        assert_eq!(options["publicKey"]["userVerification"], "required");
        let allowed = &mut options["publicKey"]["allowCredentials"];
        if allowed.as_array().is_none_or(Vec::is_empty) {
            *allowed = self
                .resident
                .iter()
                .map(|(id, _)| json!({"type": "public-key", "id": id}))
                .collect();
        }
        let options: RequestChallengeResponse = serde_json::from_value(options).unwrap();
        let credential = self
            .authenticator
            .do_authentication(Url::parse(ORIGIN).unwrap(), options)
            .expect("the soft passkey signs");
        let mut credential = serde_json::to_value(&credential).unwrap();
        let raw_id = credential["rawId"].as_str().unwrap().to_owned();
        let handle = self
            .resident
            .iter()
            .find(|(id, _)| *id == raw_id)
            .map(|(_, handle)| handle.clone())
            .expect("a credential of this device");
        credential["response"]["userHandle"] = json!(handle);
        credential
    }
}

impl App {
    async fn step_up_with(&self, token: &str, proof: Value) -> reqwest::Response {
        self.post_json("/api/v1/me/step-up", proof, Some(token))
            .await
    }

    /// Signs up and logs in with the password; answers (user id, token).
    async fn member(&self, email: &str) -> (String, String) {
        let id = self.sign_up(email).await;
        (id, self.token(email).await)
    }

    /// Adds a passkey held by `device` to the account behind `token` (which must have stepped
    /// up); answers the new passkey as listed.
    async fn add_passkey(&self, token: &str, device: &mut Device, name: Option<&str>) -> Value {
        let r = self
            .post_json("/api/v1/me/passkeys/registrations", json!({}), Some(token))
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let started: Value = r.json().await.unwrap();
        let credential = device.create(&started["options"]);
        let mut body = json!({"ceremony_id": started["ceremony_id"], "credential": credential});
        if let Some(name) = name {
            body["name"] = json!(name);
        }
        let r = self
            .post_json("/api/v1/me/passkeys", body, Some(token))
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        r.json().await.unwrap()
    }

    /// A fresh public challenge.
    async fn passkey_challenge(&self) -> Value {
        let r = self
            .post_json("/api/v1/passkey-challenges", json!({}), None)
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        r.json().await.unwrap()
    }

    /// A challenge answered by `device`: the `{ceremony_id, credential}` a page sends.
    async fn assertion(&self, device: &mut Device) -> Value {
        let challenge = self.passkey_challenge().await;
        json!({
            "ceremony_id": challenge["ceremony_id"],
            "credential": device.get(&challenge["options"]),
        })
    }

    async fn passkey_sign_in(&self, assertion: Value) -> reqwest::Response {
        self.post_json("/api/v1/passkey-sessions", assertion, None)
            .await
    }

    async fn event_kinds(&self, user_id: &str) -> Vec<String> {
        self.state
            .db
            .security_events_for(user_id, 200)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect()
    }
}

fn token_of(body: &Value) -> String {
    body["token"].as_str().expect("a token").to_owned()
}

both_backends!(
    a_passkey_is_registered_listed_and_signs_in_alone,
    |backend| async move {
        let app = App::spawn(backend).await;
        let (id, token) = app.member("pia@example.com").await;

        // Adding a passkey is a security change: it needs a fresh step-up, here with the
        // password since the account has no second factor yet.
        let r = app
            .post_json("/api/v1/me/passkeys/registrations", json!({}), Some(&token))
            .await;
        assert_eq!(code(r).await.1, "step_up_required");
        assert_eq!(
            app.step_up_with(&token, json!({"password": STRONG}))
                .await
                .status(),
            StatusCode::OK
        );

        let mut laptop = Device::new();
        let r = app
            .post_json("/api/v1/me/passkeys/registrations", json!({}), Some(&token))
            .await;
        let started: Value = r.json().await.unwrap();
        let public_key = &started["options"]["publicKey"];
        assert_eq!(public_key["rp"]["id"], "localhost");
        assert_eq!(public_key["user"]["name"], "pia@example.com");
        assert_eq!(
            public_key["authenticatorSelection"]["userVerification"],
            "required"
        );
        // A name that breaks the rules is refused before the ceremony is spent.
        let credential = laptop.create(&started["options"]);
        let r = app
            .post_json(
                "/api/v1/me/passkeys",
                json!({"ceremony_id": started["ceremony_id"], "credential": credential, "name": "a\nb"}),
                Some(&token),
            )
            .await;
        assert_eq!(code(r).await.1, "invalid_passkey_name");
        let r = app
            .post_json(
                "/api/v1/me/passkeys",
                json!({"ceremony_id": started["ceremony_id"], "credential": credential, "name": " Laptop "}),
                Some(&token),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let added: Value = r.json().await.unwrap();
        assert_eq!(added["name"], "Laptop");
        assert!(added["created_at"].as_str().unwrap().ends_with('Z'));
        // The same answer again: its ceremony is spent.
        let r = app
            .post_json(
                "/api/v1/me/passkeys",
                json!({"ceremony_id": started["ceremony_id"], "credential": credential}),
                Some(&token),
            )
            .await;
        let (status, c, _) = code(r).await;
        assert_eq!(
            (status, c.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "ceremony_not_found")
        );

        // A second device: the first credential is excluded, so one authenticator cannot
        // register twice.
        let r = app
            .post_json("/api/v1/me/passkeys/registrations", json!({}), Some(&token))
            .await;
        let started: Value = r.json().await.unwrap();
        let excluded = started["options"]["publicKey"]["excludeCredentials"]
            .as_array()
            .unwrap()
            .clone();
        assert_eq!(excluded.len(), 1);
        assert_eq!(excluded[0]["id"], json!(laptop.resident[0].0));
        let mut phone = Device::new();
        let credential = phone.create(&started["options"]);
        let r = app
            .post_json(
                "/api/v1/me/passkeys",
                json!({"ceremony_id": started["ceremony_id"], "credential": credential}),
                Some(&token),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        assert_eq!(r.json::<Value>().await.unwrap()["name"], "Passkey");

        let list: Value = app
            .get_auth("/api/v1/me/passkeys", &token)
            .await
            .json()
            .await
            .unwrap();
        let items = list["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0]["id"], added["id"]);
        assert_eq!(items[0]["last_used_at"], Value::Null);
        assert_eq!(list["next_cursor"], Value::Null);
        let me: Value = app
            .get_auth("/api/v1/me", &token)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(me["mfa_enabled"], json!(true));
        assert!(me["withdrawals_locked_until"].is_string(), "{me}");

        // Passwordless: no email, no password.
        let r = app.passkey_sign_in(app.assertion(&mut laptop).await).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let session: Value = r.json().await.unwrap();
        let passkey_token = token_of(&session);
        assert!(passkey_token.starts_with("okw_"));
        assert!(session["expires_at"].as_str().unwrap().ends_with('Z'));
        let me: Value = app
            .get_auth("/api/v1/me", &passkey_token)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(me["id"], json!(id));
        let r = app.passkey_sign_in(app.assertion(&mut phone).await).await;
        assert_eq!(r.status(), StatusCode::CREATED);

        let list: Value = app
            .get_auth("/api/v1/me/passkeys", &passkey_token)
            .await
            .json()
            .await
            .unwrap();
        assert!(list["items"][0]["last_used_at"].is_string(), "{list}");
        let kinds = app.event_kinds(&id).await;
        assert_eq!(kinds.iter().filter(|k| *k == "passkey_added").count(), 2);
        assert_eq!(kinds.iter().filter(|k| *k == "login").count(), 3);

        // Only hashes of tokens and only public keys are stored; the ceremonies are gone.
        let (rows,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM webauthn_ceremonies")
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
        assert_eq!(rows, 0);
    }
);

both_backends!(
    a_passkey_is_the_second_factor_after_the_password,
    |backend| async move {
        let app = App::spawn(backend).await;
        let (id, token) = app.member("quinn@example.com").await;
        app.step_up_with(&token, json!({"password": STRONG})).await;
        let mut key = Device::new();
        app.add_passkey(&token, &mut key, Some("YubiKey")).await;

        // With a passkey and no TOTP, the password alone is no longer enough.
        let (status, c, _) = code(app.log_in("quinn@example.com", STRONG).await).await;
        assert_eq!(
            (status, c.as_str()),
            (StatusCode::UNAUTHORIZED, "mfa_required")
        );
        let log_in = |passkey: Value| {
            app.post_json(
                "/api/v1/sessions",
                json!({"email": "quinn@example.com", "password": STRONG, "passkey": passkey}),
                None,
            )
        };
        let r = log_in(app.assertion(&mut key).await).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let second = token_of(&r.json().await.unwrap());
        assert_eq!(
            app.get_auth("/api/v1/me", &second).await.status(),
            StatusCode::OK
        );

        // A wrong password never spends the passkey's challenge, and is the password's failure.
        let assertion = app.assertion(&mut key).await;
        let r = app
            .post_json(
                "/api/v1/sessions",
                json!({"email": "quinn@example.com", "password": "not the password", "passkey": assertion}),
                None,
            )
            .await;
        assert_eq!(code(r).await.1, "invalid_credentials");
        assert_eq!(log_in(assertion).await.status(), StatusCode::CREATED);

        let kinds = app.event_kinds(&id).await;
        assert_eq!(kinds.iter().filter(|k| *k == "login").count(), 3);
    }
);

both_backends!(
    a_ceremony_works_once_and_only_for_five_minutes,
    |backend| async move {
        let app = App::spawn(backend).await;
        let (_, token) = app.member("rae@example.com").await;
        app.step_up_with(&token, json!({"password": STRONG})).await;
        let mut key = Device::new();
        app.add_passkey(&token, &mut key, None).await;

        // Replay: the same signed answer twice.
        let assertion = app.assertion(&mut key).await;
        assert_eq!(
            app.passkey_sign_in(assertion.clone()).await.status(),
            StatusCode::CREATED
        );
        let (status, c, _) = code(app.passkey_sign_in(assertion).await).await;
        assert_eq!(
            (status, c.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "ceremony_not_found")
        );

        // An answer that comes too late (the clock is moved by editing the row).
        let assertion = app.assertion(&mut key).await;
        sqlx::query("UPDATE webauthn_ceremonies SET expires_at_ms = $1 WHERE id = $2")
            .bind(store::now_ms() - 1)
            .bind(assertion["ceremony_id"].as_str().unwrap())
            .execute(app.state.db.pool())
            .await
            .unwrap();
        let r = app.passkey_sign_in(assertion.clone()).await;
        let (status, c, _) = code(r).await;
        assert_eq!((status, c.as_str()), (StatusCode::GONE, "ceremony_expired"));
        assert_eq!(
            code(app.passkey_sign_in(assertion).await).await.1,
            "ceremony_not_found",
            "an expired ceremony is spent too"
        );

        // A registration ceremony cannot be answered by a sign-in, nor the other way round.
        let r = app
            .post_json("/api/v1/me/passkeys/registrations", json!({}), Some(&token))
            .await;
        let registration: Value = r.json().await.unwrap();
        let mut body = app.assertion(&mut key).await;
        body["ceremony_id"] = registration["ceremony_id"].clone();
        assert_eq!(
            code(app.passkey_sign_in(body).await).await.1,
            "ceremony_not_found"
        );
        let challenge = app.passkey_challenge().await;
        let credential = Device::new().create(&registration["options"]);
        let r = app
            .post_json(
                "/api/v1/me/passkeys",
                json!({"ceremony_id": challenge["ceremony_id"], "credential": credential}),
                Some(&token),
            )
            .await;
        assert_eq!(code(r).await.1, "ceremony_not_found");
    }
);

both_backends!(
    another_accounts_passkey_opens_nothing,
    |backend| async move {
        let app = App::spawn(backend).await;
        let (_, alice) = app.member("alice@example.com").await;
        let (bob_id, bob) = app.member("bob@example.com").await;
        app.step_up_with(&alice, json!({"password": STRONG})).await;
        let mut alices_key = Device::new();
        let alices_passkey = app.add_passkey(&alice, &mut alices_key, None).await;

        // Bob's password with Alice's passkey as the second factor.
        let r = app
            .post_json(
                "/api/v1/sessions",
                json!({
                    "email": "bob@example.com",
                    "password": STRONG,
                    "passkey": app.assertion(&mut alices_key).await,
                }),
                None,
            )
            .await;
        let (status, c, _) = code(r).await;
        assert_eq!(
            (status, c.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_passkey")
        );
        assert!(app
            .event_kinds(&bob_id)
            .await
            .contains(&"mfa_failed".into()));

        // Bob stepping up with Alice's passkey.
        let r = app
            .step_up_with(
                &bob,
                json!({"passkey": app.assertion(&mut alices_key).await}),
            )
            .await;
        assert_eq!(
            code(r).await.1,
            "invalid_credentials",
            "Bob has no second factor: his password is asked for"
        );
        let r = app
            .step_up_with(
                &bob,
                json!({"password": STRONG, "passkey": app.assertion(&mut alices_key).await}),
            )
            .await;
        assert_eq!(code(r).await.1, "invalid_passkey");

        // Bob cannot see or remove Alice's passkey, even stepped up.
        app.step_up_with(&bob, json!({"password": STRONG})).await;
        let bobs: Value = app
            .get_auth("/api/v1/me/passkeys", &bob)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(bobs["items"], json!([]));
        let path = format!(
            "/api/v1/me/passkeys/{}",
            alices_passkey["id"].as_str().unwrap()
        );
        let (status, c, _) = code(app.delete_auth(&path, &bob).await).await;
        assert_eq!((status, c.as_str()), (StatusCode::NOT_FOUND, "not_found"));
        let alices: Value = app
            .get_auth("/api/v1/me/passkeys", &alice)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(alices["items"].as_array().unwrap().len(), 1);

        // A passkey nobody registered.
        let mut stranger = Device::new();
        let r = app
            .post_json("/api/v1/me/passkeys/registrations", json!({}), Some(&bob))
            .await;
        let started: Value = r.json().await.unwrap();
        stranger.create(&started["options"]);
        let r = app
            .passkey_sign_in(app.assertion(&mut stranger).await)
            .await;
        assert_eq!(code(r).await.1, "invalid_passkey");
    }
);

both_backends!(
    step_up_unfreeze_and_removal_with_a_passkey,
    |backend| async move {
        let app = App::spawn(backend).await;
        let (id, token) = app.member("sol@example.com").await;
        app.step_up_with(&token, json!({"password": STRONG})).await;
        let mut key = Device::new();
        let passkey = app.add_passkey(&token, &mut key, Some("Phone")).await;

        // A fresh session: step-up now needs the passkey, the password is not enough.
        let r = app
            .post_json(
                "/api/v1/sessions",
                json!({"email": "sol@example.com", "password": STRONG, "passkey": app.assertion(&mut key).await}),
                None,
            )
            .await;
        let token = token_of(&r.json().await.unwrap());
        let r = app.step_up_with(&token, json!({"password": STRONG})).await;
        assert_eq!(code(r).await.1, "mfa_required");
        let path = format!("/api/v1/me/passkeys/{}", passkey["id"].as_str().unwrap());
        assert_eq!(
            code(app.delete_auth(&path, &token).await).await.1,
            "step_up_required"
        );
        let r = app
            .step_up_with(&token, json!({"passkey": app.assertion(&mut key).await}))
            .await;
        assert_eq!(r.status(), StatusCode::OK);

        // Unfreezing takes the password and the passkey.
        app.post_json("/api/v1/me/freeze", json!({}), Some(&token))
            .await;
        let r = app.passkey_sign_in(app.assertion(&mut key).await).await;
        let token = token_of(&r.json().await.unwrap());
        let r = app
            .post_json(
                "/api/v1/me/unfreeze",
                json!({"passkey": app.assertion(&mut key).await}),
                Some(&token),
            )
            .await;
        assert_eq!(code(r).await.1, "invalid_credentials");
        let r = app
            .post_json(
                "/api/v1/me/unfreeze",
                json!({"password": STRONG, "passkey": app.assertion(&mut key).await}),
                Some(&token),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);

        // Removal.
        app.step_up_with(&token, json!({"passkey": app.assertion(&mut key).await}))
            .await;
        let locked_before: Value = app
            .get_auth("/api/v1/me", &token)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            app.delete_auth(&path, &token).await.status(),
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            code(app.delete_auth(&path, &token).await).await.1,
            "not_found"
        );
        let me: Value = app
            .get_auth("/api/v1/me", &token)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(me["mfa_enabled"], json!(false));
        assert!(
            me["withdrawals_locked_until"].as_str()
                >= locked_before["withdrawals_locked_until"].as_str()
        );
        let r = app.passkey_sign_in(app.assertion(&mut key).await).await;
        assert_eq!(
            code(r).await.1,
            "invalid_passkey",
            "a removed passkey opens nothing"
        );
        assert_eq!(
            app.log_in("sol@example.com", STRONG).await.status(),
            StatusCode::CREATED,
            "without a second factor the password is enough again"
        );
        let kinds = app.event_kinds(&id).await;
        for kind in [
            "passkey_added",
            "passkey_removed",
            "step_up",
            "unfreeze_requested",
        ] {
            assert!(kinds.contains(&kind.to_owned()), "{kind} in {kinds:?}");
        }
    }
);

both_backends!(
    a_counter_that_goes_backwards_is_refused_as_a_clone,
    |backend| async move {
        let app = App::spawn(backend).await;
        let (id, token) = app.member("tao@example.com").await;
        app.step_up_with(&token, json!({"password": STRONG})).await;
        let mut key = Device::new();
        app.add_passkey(&token, &mut key, None).await;

        // Two answers signed in order (counters n and n+1); the later one arrives first, as it
        // would if a copy of the key were used elsewhere in between.
        let earlier = app.assertion(&mut key).await;
        let later = app.assertion(&mut key).await;
        assert_eq!(
            app.passkey_sign_in(later).await.status(),
            StatusCode::CREATED
        );
        let (status, c, _) = code(app.passkey_sign_in(earlier).await).await;
        assert_eq!(
            (status, c.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_passkey")
        );
        let kinds = app.event_kinds(&id).await;
        assert!(
            kinds.contains(&"passkey_possible_clone".into()),
            "{kinds:?}"
        );
        assert!(kinds.contains(&"login_failed".into()), "{kinds:?}");
        // The real key, moving forward, still works.
        assert_eq!(
            app.passkey_sign_in(app.assertion(&mut key).await)
                .await
                .status(),
            StatusCode::CREATED
        );
    }
);

both_backends!(
    locked_and_frozen_accounts_with_a_passkey,
    |backend| async move {
        let app = App::spawn(backend).await;
        let (id, token) = app.member("uma@example.com").await;
        app.step_up_with(&token, json!({"password": STRONG})).await;
        let mut key = Device::new();
        app.add_passkey(&token, &mut key, None).await;

        // Frozen: a passkey sign-in does what a password log-in does today — it opens a session
        // on the frozen account (which is how its owner reaches unfreeze), and /me says frozen.
        app.post_json("/api/v1/me/freeze", json!({}), Some(&token))
            .await;
        let by_password = app
            .post_json(
                "/api/v1/sessions",
                json!({"email": "uma@example.com", "password": STRONG, "passkey": app.assertion(&mut key).await}),
                None,
            )
            .await
            .status();
        let r = app.passkey_sign_in(app.assertion(&mut key).await).await;
        assert_eq!(r.status(), by_password);
        assert_eq!(r.status(), StatusCode::CREATED);
        let frozen_token = token_of(&r.json().await.unwrap());
        let me: Value = app
            .get_auth("/api/v1/me", &frozen_token)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(me["frozen"], json!(true));

        // Locked by wrong passwords: the passkey does not get around the lock.
        for _ in 0..5 {
            app.log_in("uma@example.com", "wrong guess here").await;
        }
        let assertion = app.assertion(&mut key).await;
        let (status, c, body) = code(app.passkey_sign_in(assertion).await).await;
        assert_eq!((status, c.as_str()), (StatusCode::LOCKED, "account_locked"));
        assert!(body["retry_after_s"].as_u64().unwrap() >= 1);

        // Wrong passkey answers lock the account the same way.
        sqlx::query("UPDATE login_throttles SET locked_until_ms = 0 WHERE key = $1")
            .bind(format!("account:{id}"))
            .execute(app.state.db.pool())
            .await
            .unwrap();
        let mut last = String::new();
        for _ in 0..5 {
            let mut assertion = app.assertion(&mut key).await;
            assertion["credential"]["response"]["signature"] = json!("AAAA");
            last = code(app.passkey_sign_in(assertion).await).await.1;
        }
        assert_eq!(last, "account_locked");
    }
);

both_backends!(
    malformed_passkey_answers_are_refused_with_a_code,
    |backend| async move {
        let app = App::spawn(backend).await;
        let (_, token) = app.member("vic@example.com").await;
        app.step_up_with(&token, json!({"password": STRONG})).await;
        let mut key = Device::new();
        app.add_passkey(&token, &mut key, None).await;
        let good = app.assertion(&mut key).await;

        let mut cases: Vec<(Value, &str)> = vec![
            (json!({}), "invalid_field"),
            (
                json!({"ceremony_id": "x", "credential": 5}),
                "invalid_field",
            ),
            (
                json!({"ceremony_id": "x", "credential": {"id": 5}}),
                "invalid_field",
            ),
            (
                json!({"ceremony_id": good["ceremony_id"], "credential": good["credential"], "extra": 1}),
                "invalid_field",
            ),
            (
                json!({"ceremony_id": "no-such-ceremony", "credential": good["credential"]}),
                "ceremony_not_found",
            ),
        ];
        let mut broken = good["credential"].clone();
        broken["response"]["signature"] = json!("not base64 !!");
        cases.push((
            json!({"ceremony_id": "x", "credential": broken}),
            "invalid_field",
        ));
        for field in ["authenticatorData", "clientDataJSON", "userHandle"] {
            let mut assertion = app.assertion(&mut key).await;
            assertion["credential"]["response"][field] = json!("AAAA");
            cases.push((assertion, "invalid_passkey"));
        }
        let mut assertion = app.assertion(&mut key).await;
        assertion["credential"]["response"]
            .as_object_mut()
            .unwrap()
            .remove("userHandle");
        cases.push((assertion, "invalid_passkey"));
        for (body, expected) in cases {
            let r = app.passkey_sign_in(body.clone()).await;
            let (status, c, _) = code(r).await;
            assert!(status.is_client_error(), "{status} for {body}");
            assert_eq!(c, expected, "{body}");
        }

        // A garbage registration answer.
        let r = app
            .post_json("/api/v1/me/passkeys/registrations", json!({}), Some(&token))
            .await;
        let started: Value = r.json().await.unwrap();
        let mut credential = Device::new().create(&started["options"]);
        credential["response"]["attestationObject"] = json!("AAAA");
        let r = app
            .post_json(
                "/api/v1/me/passkeys",
                json!({"ceremony_id": started["ceremony_id"], "credential": credential}),
                Some(&token),
            )
            .await;
        assert_eq!(code(r).await.1, "invalid_passkey");

        // The genuine answer still works: none of the above spent its ceremony.
        assert_eq!(
            app.passkey_sign_in(good).await.status(),
            StatusCode::CREATED
        );
    }
);

both_backends!(challenges_are_throttled_per_address, |backend| async move {
    let app = App::spawn(backend).await;
    let mut last = StatusCode::CREATED;
    for _ in 0..61 {
        let r = app
            .post_json("/api/v1/passkey-challenges", json!({}), None)
            .await;
        last = r.status();
        if last != StatusCode::CREATED {
            assert!(r.headers().get("retry-after").is_some());
            break;
        }
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
});

both_backends!(
    passkeys_through_the_pages_add_sign_in_and_guard_the_code_step,
    |backend| async move {
        use crate::pages::Browser;
        let app = App::spawn(backend).await;
        app.sign_up("quinn@example.com").await;
        let mut browser = Browser::new(&app);
        assert_eq!(
            browser.log_in("quinn@example.com", STRONG).await.status,
            303
        );
        let mut device = Device::new();

        // Adding: the wrong password buys no options; the right one does.
        let csrf = browser.get("/security").await.csrf();
        let page = browser
            .post(
                "/security/passkeys/options",
                &[("csrf", csrf.as_str()), ("password", "not the password")],
            )
            .await;
        assert_eq!(page.status, 401, "{}", page.body);
        let page = browser
            .post(
                "/security/passkeys/options",
                &[("csrf", csrf.as_str()), ("password", STRONG)],
            )
            .await;
        assert_eq!(page.status, 201, "{}", page.body);
        let started: Value = serde_json::from_str(&page.body).unwrap();
        let credential = device.create(&started["options"]);
        let credential = credential.to_string();
        let ceremony = started["ceremony_id"].as_str().unwrap().to_owned();
        let page = browser
            .post(
                "/security/passkeys",
                &[
                    ("csrf", csrf.as_str()),
                    ("ceremony_id", ceremony.as_str()),
                    ("credential", credential.as_str()),
                    ("name", "Quinn's laptop"),
                ],
            )
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(
            page.body.contains("Quinn&#39;s laptop") || page.body.contains("Quinn&#x27;s laptop"),
            "{}",
            page.body
        );
        browser.submit("/", "/logout", &[]).await;

        // The password alone no longer opens the account: the code step wants the passkey.
        let page = browser.log_in("quinn@example.com", STRONG).await;
        assert!(page
            .location
            .as_deref()
            .unwrap()
            .starts_with("/login/verify"));
        let page = browser.get("/login/verify").await;
        assert!(page.body.contains("data-passkey-get"), "{}", page.body);
        assert!(
            !page.body.contains("name=\"otp\""),
            "no TOTP field without TOTP"
        );
        let page = browser.submit("/login/verify", "/login/verify", &[]).await;
        assert_eq!(page.status, 401, "{}", page.body);
        assert!(page.cookie_line("okw_session").is_none());
        let answer = app.assertion(&mut device).await;
        let (ceremony, credential) = (
            answer["ceremony_id"].as_str().unwrap().to_owned(),
            answer["credential"].to_string(),
        );
        let page = browser
            .submit(
                "/login/verify",
                "/login/verify",
                &[("ceremony_id", &ceremony), ("credential", &credential)],
            )
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        assert!(page.cookie_line("okw_session").is_some());
        browser.submit("/", "/logout", &[]).await;

        // Passwordless: the answer posted from the log-in page signs in; a replay does not.
        let answer = app.assertion(&mut device).await;
        let (ceremony, credential) = (
            answer["ceremony_id"].as_str().unwrap().to_owned(),
            answer["credential"].to_string(),
        );
        let fields = [
            ("ceremony_id", ceremony.as_str()),
            ("credential", credential.as_str()),
            ("next", "/security"),
        ];
        let page = browser.submit("/login", "/login/passkey", &fields).await;
        assert_eq!(page.status, 303, "{}", page.body);
        assert_eq!(page.location.as_deref(), Some("/security"));
        let mut other = Browser::new(&app);
        let page = other.submit("/login", "/login/passkey", &fields).await;
        assert_eq!(page.status, 422, "{}", page.body);
        let page = other
            .submit(
                "/login",
                "/login/passkey",
                &[("ceremony_id", "x"), ("credential", "{not json")],
            )
            .await;
        assert_eq!(page.status, 422);

        // Removing needs a fresh proof: for this account, the passkey itself.
        let passkeys = app
            .state
            .db
            .passkeys_for_user(
                &app.state
                    .db
                    .user_by_email(&identity::Email::parse("quinn@example.com").unwrap())
                    .await
                    .unwrap()
                    .unwrap()
                    .id,
            )
            .await
            .unwrap();
        let remove = format!("/security/passkeys/{}/remove", passkeys[0].id);
        let page = browser
            .submit("/security", &remove, &[("password", STRONG)])
            .await;
        assert_eq!(
            page.status, 422,
            "the password alone is not a second factor"
        );
        assert!(page.body.contains("Quinn"));
        let answer = app.assertion(&mut device).await;
        let (ceremony, credential) = (
            answer["ceremony_id"].as_str().unwrap().to_owned(),
            answer["credential"].to_string(),
        );
        let page = browser
            .submit(
                "/security",
                &remove,
                &[
                    ("proof_ceremony_id", ceremony.as_str()),
                    ("proof_credential", credential.as_str()),
                ],
            )
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(!page.body.contains("Quinn"));
    }
);
