//! Tickets through the API, on both databases: customers open and follow their own, never see
//! anyone else's or an internal note; staff answer, note and change status, and every staff
//! view of a customer's ticket is audited.

use axum::http::StatusCode;
use serde_json::{json, Value};
use testkit::both_backends;

use crate::accounts::{code, STRONG};
use crate::App;

/// A staff member of `role` with two-step verification on, as staff routes need: (id, token).
pub(crate) async fn staff(app: &App, email: &str, role: identity::Role) -> (String, String) {
    use identity::totp::TotpSecret;
    let hash = identity::hash_password(STRONG).unwrap();
    let user = app
        .state
        .db
        .create_user(&identity::Email::parse(email).unwrap(), &hash, role, "en")
        .await
        .unwrap();
    let token = app.token(email).await;
    let enrolment = json_of(
        app.post_json("/api/v1/me/totp", json!({}), Some(&token))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let secret = TotpSecret::from_base32(enrolment["secret"].as_str().unwrap()).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    json_of(
        app.post_json(
            "/api/v1/me/totp/confirm",
            json!({"otp": secret.code_at(now)}),
            Some(&token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    (user.id, token)
}

async fn agent(app: &App, email: &str) -> (String, String) {
    staff(app, email, identity::Role::Agent).await
}

pub(crate) async fn json_of(r: reqwest::Response, expected: StatusCode) -> Value {
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, expected, "{body}");
    body
}

both_backends!(
    customers_see_only_their_tickets_and_never_internal_notes,
    |backend| async move {
        let app = App::spawn(backend).await;
        let (amy_id, amy) = app.customer("amy@example.com").await;
        let (_bob_id, bob) = app.customer("bob@example.com").await;
        let (agent_id, staff) = agent(&app, "agent@example.com").await;

        let r = app
            .post_json(
                "/api/v1/tickets",
                json!({"subject": "x", "body": "y", "category": "other"}),
                None,
            )
            .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        for (change, field) in [
            (json!({"subject": " "}), "subject"),
            (json!({"body": ""}), "body"),
            (json!({"category": "gossip"}), "category"),
            (json!({"reference": "01NOTMINE"}), "reference"),
            (json!({"subject": "s".repeat(201)}), "subject"),
        ] {
            let mut body = json!({"subject": "充值没到账", "body": "昨天充的 ETH 还没到。", "category": "funds_delayed"});
            for (k, v) in change.as_object().unwrap() {
                body[k] = v.clone();
            }
            let (status, c, problem) =
                code(app.post_json("/api/v1/tickets", body, Some(&amy)).await).await;
            assert_eq!(
                (status, c.as_str()),
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field")
            );
            assert_eq!(problem["field"], field, "{problem}");
        }
        let (status, _, _) = code(
            app.post_json(
                "/api/v1/tickets",
                json!({"subject": "a", "body": "b", "category": "other", "mood": "urgent"}),
                Some(&amy),
            )
            .await,
        )
        .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "no unknown fields"
        );

        // About one of her own transfers: the reference is accepted; Bob's is not hers.
        app.give(&amy_id, "USDT", "10").await;
        let sent = json_of(
            app.post_json(
                "/api/v1/transfers",
                json!({"to": "bob@example.com", "asset": "USDT", "amount": "1"}),
                Some(&amy),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        let transfer = sent["id"].as_str().unwrap().to_owned();
        let ticket = json_of(
            app.post_json(
                "/api/v1/tickets",
                json!({"subject": "转账没收到", "body": "转给 Bob 的 1 USDT 他说没收到。", "category": "payment_failed", "reference": transfer}),
                Some(&amy),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        let id = ticket["id"].as_str().unwrap().to_owned();
        assert!(ticket["number"].as_i64().unwrap() > 100_000);
        assert_eq!(ticket["status"], "new");
        assert_eq!(ticket["reference"], transfer.as_str());
        assert_eq!(ticket["messages"][0]["from"], "requester");
        assert!(
            ticket.get("requester").is_none(),
            "customers get no staff fields"
        );
        // Bob received that transfer, so it is in his activity too — but it is Amy's ticket.
        let (status, _, _) = code(app.get_auth(&format!("/api/v1/tickets/{id}"), &bob).await).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _, _) = code(
            app.post_json(
                &format!("/api/v1/tickets/{id}/messages"),
                json!({"body": "hi"}),
                Some(&bob),
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let bobs = json_of(app.get_auth("/api/v1/tickets", &bob).await, StatusCode::OK).await;
        assert_eq!(bobs["items"], json!([]));

        // The agent sees it in the queue with the requester masked; opening it is audited.
        let queue = json_of(
            app.get_auth("/api/v1/tickets?status=new", &staff).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(queue["items"][0]["id"], id.as_str());
        assert_eq!(queue["items"][0]["requester"], "a***@example.com");
        json_of(
            app.get_auth(&format!("/api/v1/tickets/{id}"), &staff).await,
            StatusCode::OK,
        )
        .await;
        let audit = app
            .state
            .db
            .audit_events_for(&format!("user:{amy_id}"))
            .await
            .unwrap();
        assert!(
            audit
                .iter()
                .any(|e| e.actor == format!("user:{agent_id}") && e.action == "ticket.viewed"),
            "{audit:?}"
        );

        // An internal note: the agent sees it, Amy never does.
        let note = json_of(
            app.post_json(
                &format!("/api/v1/tickets/{id}/messages"),
                json!({"body": "Checked the ledger: credited to Bob at 10:02.", "internal": true}),
                Some(&staff),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(note["status"], "new", "a note is not a response");
        assert_eq!(note["messages"][1]["internal"], true);
        let hers = json_of(
            app.get_auth(&format!("/api/v1/tickets/{id}"), &amy).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(hers["messages"].as_array().unwrap().len(), 1);
        assert!(!hers.to_string().contains("ledger"), "{hers}");

        // Customers cannot write notes or set statuses.
        for body in [
            json!({"body": "x", "internal": true}),
            json!({"body": "x", "status": "solved"}),
        ] {
            let (status, c, _) = code(
                app.post_json(&format!("/api/v1/tickets/{id}/messages"), body, Some(&amy))
                    .await,
            )
            .await;
            assert_eq!((status, c.as_str()), (StatusCode::FORBIDDEN, "forbidden"));
        }

        // The agent's reply opens it; asking Amy something makes it pending; her answer
        // opens it again; solved; her reply reopens it.
        let step = |who: &'static str, body: Value| {
            let (path, token) = (
                format!("/api/v1/tickets/{id}/messages"),
                if who == "agent" {
                    staff.clone()
                } else {
                    amy.clone()
                },
            );
            let app = &app;
            async move {
                json_of(
                    app.post_json(&path, body, Some(&token)).await,
                    StatusCode::CREATED,
                )
                .await
            }
        };
        assert_eq!(
            step("agent", json!({"body": "We are looking."})).await["status"],
            "open"
        );
        assert_eq!(
            step(
                "agent",
                json!({"body": "Which address?", "status": "pending"})
            )
            .await["status"],
            "pending"
        );
        assert_eq!(
            step("amy", json!({"body": "Bob's."})).await["status"],
            "open"
        );
        assert_eq!(
            step("agent", json!({"body": "Found it.", "status": "solved"})).await["status"],
            "solved"
        );
        assert_eq!(
            step("amy", json!({"body": "Still not there!"})).await["status"],
            "open"
        );
        let events = app.state.db.ticket_events(&id).await.unwrap();
        let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
        assert!(kinds.contains(&"reopened"), "{kinds:?}");
        assert_eq!(kinds.iter().filter(|k| **k == "internal_note").count(), 1);
        let t = app.state.db.ticket(&id).await.unwrap().unwrap();
        assert!(t.first_responded_at_ms.is_some());

        // Nobody closes by hand: new and closed are the system's.
        for status in ["closed", "new"] {
            let (code_status, c, _) = code(
                app.post_json(
                    &format!("/api/v1/tickets/{id}/messages"),
                    json!({"body": "x", "status": status}),
                    Some(&staff),
                )
                .await,
            )
            .await;
            assert_eq!(
                (code_status, c.as_str()),
                (StatusCode::UNPROCESSABLE_ENTITY, "status_not_settable")
            );
        }
        // Solved and left alone for longer than the reopen window, the watcher closes it;
        // closed is final.
        step("agent", json!({"body": "Sent again.", "status": "solved"})).await;
        let later = store::now_ms() + 5 * 86_400_000;
        let round = web::desk::watch_round(&app.state, later).await.unwrap();
        assert_eq!(round.closed, 1, "{round:?}");
        let (status, c, _) = code(
            app.post_json(
                &format!("/api/v1/tickets/{id}/messages"),
                json!({"body": "?"}),
                Some(&amy),
            )
            .await,
        )
        .await;
        assert_eq!(
            (status, c.as_str()),
            (StatusCode::CONFLICT, "ticket_closed")
        );
    }
);

both_backends!(ticket_lists_page_newest_first, |backend| async move {
    let app = App::spawn(backend).await;
    let (_, amy) = app.customer("amy@example.com").await;
    let mut ids = Vec::new();
    for n in 0..3 {
        let t = json_of(
            app.post_json(
                "/api/v1/tickets",
                json!({"subject": format!("question {n}"), "body": "text", "category": "other"}),
                Some(&amy),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        ids.push(t["id"].as_str().unwrap().to_owned());
    }
    let first = json_of(
        app.get_auth("/api/v1/tickets?limit=2", &amy).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = json_of(
        app.get_auth(&format!("/api/v1/tickets?limit=2&cursor={cursor}"), &amy)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert_eq!(second["next_cursor"], Value::Null);
    let mut seen: Vec<String> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["items"].as_array().unwrap())
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect();
    seen.sort();
    ids.sort();
    assert_eq!(seen, ids, "every ticket once");
    for bad in ["limit=0", "cursor=nonsense", "status=lost", "order=random"] {
        let (status, _, _) =
            code(app.get_auth(&format!("/api/v1/tickets?{bad}"), &amy).await).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    for staff_only in ["assignee=me", "group=general", "sla=breached"] {
        let (status, c, _) = code(
            app.get_auth(&format!("/api/v1/tickets?{staff_only}"), &amy)
                .await,
        )
        .await;
        assert_eq!(
            (status, c.as_str()),
            (StatusCode::FORBIDDEN, "forbidden"),
            "{staff_only}"
        );
    }
});
