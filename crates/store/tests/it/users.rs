use identity::{Email, Role};
use store::users::CreateUserError;
use testkit::{both_backends, TestDb};

both_backends!(
    users_are_unique_by_email_and_audited_actions_are_kept,
    |backend| async move {
        let t = TestDb::new(backend).await;
        let email = Email::parse("Alice@Example.com").unwrap();
        let user =
            t.db.create_user(&email, "$argon2id$x", Role::Agent, "en")
                .await
                .unwrap();
        let again =
            t.db.create_user(
                &Email::parse("alice@example.com").unwrap(),
                "$argon2id$y",
                Role::User,
                "en",
            )
            .await;
        assert!(matches!(again, Err(CreateUserError::EmailTaken)));
        let found = t.db.user_by_email(&email).await.unwrap().unwrap();
        assert_eq!(
            (found.id.as_str(), found.role, found.password_hash.as_str()),
            (user.id.as_str(), Role::Agent, "$argon2id$x")
        );
        assert!(t
            .db
            .user_by_email(&Email::parse("bob@example.com").unwrap())
            .await
            .unwrap()
            .is_none());

        let subject = format!("user:{}", user.id);
        t.db.audit("cli:root", "user.create", &subject, "{}")
            .await
            .unwrap();
        t.db.audit("cli:root", "ledger.adjust", &subject, r#"{"amount":"1"}"#)
            .await
            .unwrap();
        let events = t.db.audit_events_for(&subject).await.unwrap();
        assert_eq!(
            events.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
            vec!["user.create", "ledger.adjust"]
        );
    }
);
