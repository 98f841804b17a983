//! Passkey rows and WebAuthn ceremonies: single use under concurrency, and counter writes that
//! only the first of two concurrent uses wins.

use identity::{Email, Role};
use testkit::{both_backends, TestDb};

async fn user(t: &TestDb, email: &str) -> String {
    t.db.create_user(
        &Email::parse(email).unwrap(),
        "$argon2id$x",
        Role::User,
        "en",
    )
    .await
    .unwrap()
    .id
}

both_backends!(
    a_ceremony_is_taken_once_even_by_concurrent_requests,
    |backend| async move {
        let t = TestDb::new(backend).await;
        let later = store::now_ms() + 60_000;
        let id =
            t.db.create_ceremony(None, "authentication", "{}", later)
                .await
                .unwrap();
        let takers = (0..8).map(|_| {
            let db = t.db.clone();
            let id = id.clone();
            tokio::spawn(async move { db.take_ceremony(&id, "authentication", None).await })
        });
        let mut taken = 0;
        for taker in takers {
            if taker.await.unwrap().unwrap().is_some() {
                taken += 1;
            }
        }
        assert_eq!(taken, 1);

        // Bound to its purpose and, for registrations, to its user.
        let alice = user(&t, "alice@example.com").await;
        let bob = user(&t, "bob@example.com").await;
        let id =
            t.db.create_ceremony(Some(&alice), "registration", r#"{"s":1}"#, later)
                .await
                .unwrap();
        assert!(t
            .db
            .take_ceremony(&id, "authentication", None)
            .await
            .unwrap()
            .is_none());
        assert!(t
            .db
            .take_ceremony(&id, "registration", Some(&bob))
            .await
            .unwrap()
            .is_none());
        let ceremony =
            t.db.take_ceremony(&id, "registration", Some(&alice))
                .await
                .unwrap()
                .unwrap();
        assert_eq!(
            (ceremony.user_id.as_deref(), ceremony.state_json.as_str()),
            (Some(alice.as_str()), r#"{"s":1}"#)
        );

        // Expired ceremonies are swept when new ones are made.
        t.db.create_ceremony(None, "authentication", "{}", store::now_ms() - 1)
            .await
            .unwrap();
        t.db.create_ceremony(None, "authentication", "{}", later)
            .await
            .unwrap();
        let (left,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM webauthn_ceremonies")
            .fetch_one(t.db.pool())
            .await
            .unwrap();
        assert_eq!(left, 1);
    }
);

both_backends!(
    a_credential_belongs_to_one_account_and_one_use_wins,
    |backend| async move {
        let t = TestDb::new(backend).await;
        let alice = user(&t, "alice@example.com").await;
        let bob = user(&t, "bob@example.com").await;
        let key =
            t.db.insert_passkey(&alice, "cred-1", r#"{"counter":0}"#, "Laptop")
                .await
                .unwrap()
                .unwrap();
        assert!(t
            .db
            .insert_passkey(&bob, "cred-1", "{}", "Stolen")
            .await
            .unwrap()
            .is_none());
        assert_eq!(t.db.passkey_count(&alice).await.unwrap(), 1);
        assert_eq!(t.db.passkey_count(&bob).await.unwrap(), 0);
        let found = t.db.passkey_by_credential_id("cred-1").await.unwrap();
        assert_eq!(
            found.as_ref().map(|p| p.user_id.as_str()),
            Some(alice.as_str())
        );

        // Two uses verified against the same stored state: only the first is recorded.
        assert!(t
            .db
            .record_passkey_use(&key.id, r#"{"counter":0}"#, r#"{"counter":5}"#)
            .await
            .unwrap());
        assert!(!t
            .db
            .record_passkey_use(&key.id, r#"{"counter":0}"#, r#"{"counter":4}"#)
            .await
            .unwrap());
        let listed = t.db.passkeys_for_user(&alice).await.unwrap();
        assert_eq!(listed[0].passkey_json, r#"{"counter":5}"#);
        assert!(listed[0].last_used_at_ms.is_some());

        assert!(!t.db.delete_passkey(&bob, &key.id).await.unwrap());
        assert!(t.db.delete_passkey(&alice, &key.id).await.unwrap());
        assert!(!t.db.delete_passkey(&alice, &key.id).await.unwrap());
    }
);
