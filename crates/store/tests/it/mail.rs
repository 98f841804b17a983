//! The outbox and email tokens: leases that several senders share safely, retries, and tokens
//! spent exactly once.

use identity::{Email, Role};
use store::email_tokens::{Purpose, TokenState};
use store::outbox::{LinkToken, NewMail, ATTEMPTS_MAX};
use testkit::{both_backends, TestDb};

fn mail(to: &str, kind: &str) -> NewMail {
    NewMail {
        user_id: None,
        to_address: to.to_owned(),
        kind: kind.to_owned(),
        locale: "en".to_owned(),
        subject: format!("{kind} for {to}"),
        body_text: "Hello.\n".to_owned(),
        link_token: None,
    }
}

fn with_link(
    mut mail: NewMail,
    token_hash: &str,
    user_id: &str,
    purpose: Purpose,
    ttl_ms: i64,
) -> NewMail {
    mail.link_token = Some(LinkToken {
        token_hash: token_hash.to_owned(),
        user_id: user_id.to_owned(),
        purpose,
        expires_at_ms: store::now_ms() + ttl_ms,
    });
    mail
}

both_backends!(
    concurrent_senders_each_claim_a_mail_once,
    |backend| async move {
        let t = TestDb::new(backend).await;
        for n in 0..40 {
            t.db.enqueue_mail(&mail(&format!("r{n}@example.com"), "new_login"))
                .await
                .unwrap();
        }
        // A second pool plays a second server process on the same database.
        let other = store::Db::connect(&t.url).await.unwrap();
        let mut senders = Vec::new();
        for db in [t.db.clone(), other.clone(), t.db.clone(), other.clone()] {
            senders.push(tokio::spawn(async move {
                let mut got = Vec::new();
                loop {
                    let batch = db.claim_due_mail(3, 60_000).await.unwrap();
                    if batch.is_empty() {
                        break got;
                    }
                    got.extend(batch.into_iter().map(|m| m.id));
                }
            }));
        }
        let mut all = Vec::new();
        for sender in senders {
            all.extend(sender.await.unwrap());
        }
        let unique: std::collections::HashSet<_> = all.iter().collect();
        assert_eq!(all.len(), 40, "every mail claimed once, none twice");
        assert_eq!(unique.len(), 40);
        assert!(
            t.db.claim_due_mail(10, 60_000).await.unwrap().is_empty(),
            "leased mail is not due"
        );
        other.close().await;
    }
);

both_backends!(
    failures_back_off_and_stop_after_the_last_attempt,
    |backend| async move {
        let t = TestDb::new(backend).await;
        let id =
            t.db.enqueue_mail(&mail("a@example.com", "verify_email"))
                .await
                .unwrap();
        let claimed = t.db.claim_due_mail(10, 60_000).await.unwrap();
        assert_eq!(claimed.len(), 1);
        assert_eq!(claimed[0].attempts, 1);
        t.db.mark_mail_failed(&claimed[0], "451 try later")
            .await
            .unwrap();
        let listed = t.db.recent_mail(Some("a@example.com"), 10).await.unwrap();
        assert_eq!(listed[0].last_error.as_deref(), Some("451 try later"));
        assert!(listed[0].next_attempt_at_ms > store::now_ms() + 20_000);
        assert!(t.db.claim_due_mail(10, 60_000).await.unwrap().is_empty());

        // Make it due again and again until the attempts run out.
        for _ in 1..ATTEMPTS_MAX {
            sqlx::query("UPDATE outbox SET next_attempt_at_ms = 0 WHERE id = $1")
                .bind(&id)
                .execute(t.db.pool())
                .await
                .unwrap();
            let claimed = t.db.claim_due_mail(10, 60_000).await.unwrap();
            assert_eq!(claimed.len(), 1);
            t.db.mark_mail_failed(&claimed[0], "still down")
                .await
                .unwrap();
        }
        sqlx::query("UPDATE outbox SET next_attempt_at_ms = 0 WHERE id = $1")
            .bind(&id)
            .execute(t.db.pool())
            .await
            .unwrap();
        assert!(
            t.db.claim_due_mail(10, 60_000).await.unwrap().is_empty(),
            "no attempt after the last"
        );
        let listed = t.db.recent_mail(None, 10).await.unwrap();
        assert_eq!(listed[0].attempts, ATTEMPTS_MAX);
        assert_eq!(listed[0].sent_at_ms, None);

        let id2 =
            t.db.enqueue_mail(&mail("b@example.com", "new_login"))
                .await
                .unwrap();
        let claimed = t.db.claim_due_mail(10, 60_000).await.unwrap();
        assert_eq!(claimed[0].id, id2);
        t.db.mark_mail_sent(&id2).await.unwrap();
        let sent = &t.db.recent_mail(Some("b@example.com"), 10).await.unwrap()[0];
        assert!(sent.sent_at_ms.is_some());
        let (count, newest) =
            t.db.mail_sent_since("b@example.com", "new_login", 0)
                .await
                .unwrap();
        assert_eq!((count, newest), (1, Some(sent.created_at_ms)));
    }
);

both_backends!(an_email_token_is_spent_exactly_once, |backend| async move {
    let t = TestDb::new(backend).await;
    let user =
        t.db.create_user(
            &Email::parse("tok@example.com").unwrap(),
            "$argon2id$x",
            Role::User,
            "en",
        )
        .await
        .unwrap();
    let hash = identity::token::token_hash("okw_the-token");
    t.db.enqueue_mail(&with_link(
        mail("tok@example.com", "new_login"),
        &hash,
        &user.id,
        Purpose::Freeze,
        60_000,
    ))
    .await
    .unwrap();
    assert_eq!(
        t.db.email_token_state(&hash, Purpose::Freeze)
            .await
            .unwrap(),
        TokenState::Valid {
            user_id: user.id.clone()
        }
    );
    assert_eq!(
        t.db.email_token_state(&hash, Purpose::PasswordReset)
            .await
            .unwrap(),
        TokenState::Unknown,
        "a token works only for its purpose"
    );

    let other = store::Db::connect(&t.url).await.unwrap();
    let mut racers = Vec::new();
    for n in 0..8 {
        let db = if n % 2 == 0 {
            t.db.clone()
        } else {
            other.clone()
        };
        let hash = hash.clone();
        racers.push(tokio::spawn(async move {
            db.consume_email_token(&hash, Purpose::Freeze)
                .await
                .unwrap()
        }));
    }
    let mut wins = Vec::new();
    for racer in racers {
        wins.extend(racer.await.unwrap());
    }
    assert_eq!(wins, vec![user.id.clone()], "one success among eight");
    assert_eq!(
        t.db.email_token_state(&hash, Purpose::Freeze)
            .await
            .unwrap(),
        TokenState::Used
    );

    let stale = identity::token::token_hash("okw_stale");
    t.db.enqueue_mail(&with_link(
        mail("tok@example.com", "verify_email"),
        &stale,
        &user.id,
        Purpose::VerifyEmail,
        -1,
    ))
    .await
    .unwrap();
    assert_eq!(
        t.db.email_token_state(&stale, Purpose::VerifyEmail)
            .await
            .unwrap(),
        TokenState::Expired
    );
    assert_eq!(
        t.db.consume_email_token(&stale, Purpose::VerifyEmail)
            .await
            .unwrap(),
        None
    );
    let stored: Vec<(String,)> = sqlx::query_as("SELECT token_hash FROM email_tokens")
        .fetch_all(t.db.pool())
        .await
        .unwrap();
    assert!(stored.iter().all(|(h,)| h.len() == 64));
    other.close().await;
});
