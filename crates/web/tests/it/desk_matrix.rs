//! Who may do what in the help desk, as one table: every route against every kind of caller
//! (nobody, the requester, another customer, staff without two-step verification, an agent, a
//! supervisor, an administrator), through the API and the pages, on both databases. Reads must
//! not change anything, so each row can be tried by everyone; writes that succeed are tried last
//! by the callers allowed to.

use axum::http::StatusCode;
use serde_json::{json, Value};
use testkit::both_backends;

use crate::accounts::STRONG;
use crate::help_pages::staff as staff_browser;
use crate::pages::Browser;
use crate::tickets::{json_of, staff};
use crate::App;

/// The callers, in the order of every row's expectations.
const CALLERS: [&str; 7] = [
    "nobody",
    "requester",
    "other",
    "no_2fa",
    "agent",
    "supervisor",
    "admin",
];

/// A row: method, path, body, and the status each caller gets.
struct Row {
    method: &'static str,
    path: String,
    body: Value,
    want: [u16; 7],
}

both_backends!(
    every_help_desk_route_answers_each_caller_as_its_role_allows,
    |backend| async move {
        let app = App::spawn(backend).await;
        let (_, admin) = staff(&app, "admin@example.com", identity::Role::Admin).await;
        let (_, supervisor) = staff(&app, "sue@example.com", identity::Role::Supervisor).await;
        let (agent_id, agent) = staff(&app, "ann@example.com", identity::Role::Agent).await;
        app.desk_group(&admin, "general").await;
        app.desk_agent(&admin, &agent_id, &agent, "general", 10, "online")
            .await;
        let (amy_id, amy) = app.customer("amy@example.com").await;
        let (_, bob) = app.customer("bob@example.com").await;
        let hash = identity::hash_password(STRONG).unwrap();
        app.state
            .db
            .create_user(
                &identity::Email::parse("plain@example.com").unwrap(),
                &hash,
                identity::Role::Agent,
                "en",
            )
            .await
            .unwrap();
        let plain = app.token("plain@example.com").await;
        let tokens: [Option<&str>; 7] = [
            None,
            Some(&amy),
            Some(&bob),
            Some(&plain),
            Some(&agent),
            Some(&supervisor),
            Some(&admin),
        ];
        let id = app.open_ticket(&amy, "Matrix").await;
        json_of(
            app.post_json(
                &format!("/api/v1/tickets/{id}/messages"),
                json!({"body": "MATRIX-NOTE", "internal": true}),
                Some(&agent),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        json_of(
            app.put_json(
                "/api/v1/macros/m1",
                json!({"name": "m", "body_zh": "好", "body_en": "ok", "actions": ""}),
                &supervisor,
            )
            .await,
            StatusCode::OK,
        )
        .await;
        let file = {
            let r = app
                .client
                .post(app.url(&format!("/api/v1/tickets/{id}/attachments")))
                .query(&[("filename", "a.txt")])
                .bearer_auth(&amy)
                .body("hello")
                .send()
                .await
                .unwrap();
            json_of(r, StatusCode::CREATED).await["id"]
                .as_str()
                .unwrap()
                .to_owned()
        };

        // 401 nobody; 404 someone else's ticket; 403 second_factor_required, forbidden.
        const U: u16 = 401;
        const F: u16 = 403;
        const N: u16 = 404;
        let rows = vec![
            Row {
                method: "GET",
                path: "/api/v1/tickets".into(),
                body: json!(null),
                want: [U, 200, 200, F, 200, 200, 200],
            },
            Row {
                method: "GET",
                path: format!("/api/v1/tickets/{id}"),
                body: json!(null),
                want: [U, 200, N, F, 200, 200, 200],
            },
            Row {
                method: "GET",
                path: format!("/api/v1/tickets/{id}/attachments/{file}"),
                body: json!(null),
                want: [U, 200, N, F, 200, 200, 200],
            },
            Row {
                method: "GET",
                path: format!("/api/v1/tickets/{id}/macros/m1"),
                body: json!(null),
                want: [U, F, N, F, 200, 200, 200],
            },
            Row {
                method: "GET",
                path: format!("/api/v1/customers/{amy_id}"),
                body: json!(null),
                want: [U, F, F, F, 200, 200, 200],
            },
            Row {
                method: "GET",
                path: "/api/v1/agent".into(),
                body: json!(null),
                want: [U, F, F, F, 200, 200, 200],
            },
            Row {
                method: "GET",
                path: "/api/v1/macros".into(),
                body: json!(null),
                want: [U, F, F, F, 200, 200, 200],
            },
            Row {
                method: "GET",
                path: "/api/v1/sla-alerts".into(),
                body: json!(null),
                want: [U, F, F, F, 200, 200, 200],
            },
            Row {
                method: "GET",
                path: "/api/v1/complaints".into(),
                body: json!(null),
                want: [U, F, F, F, F, 200, 200],
            },
            Row {
                method: "GET",
                path: "/api/v1/supervisor/stats".into(),
                body: json!(null),
                want: [U, F, F, F, F, 200, 200],
            },
            Row {
                method: "GET",
                path: "/api/v1/supervisor/stats.csv".into(),
                body: json!(null),
                want: [U, F, F, F, F, 200, 200],
            },
            Row {
                method: "GET",
                path: "/api/v1/audit-events".into(),
                body: json!(null),
                want: [U, F, F, F, F, 200, 200],
            },
            Row {
                method: "GET",
                path: "/api/v1/suggestions".into(),
                body: json!(null),
                want: [U, F, F, F, F, 200, 200],
            },
            Row {
                method: "GET",
                path: "/api/v1/admin/support-groups".into(),
                body: json!(null),
                want: [U, F, F, F, F, 200, 200],
            },
            Row {
                method: "GET",
                path: "/api/v1/admin/agents".into(),
                body: json!(null),
                want: [U, F, F, F, F, 200, 200],
            },
            Row {
                method: "GET",
                path: "/api/v1/admin/sla-targets".into(),
                body: json!(null),
                want: [U, F, F, F, F, 200, 200],
            },
            // Writes every caller is refused (bad values where the role is allowed, so that
            // nothing changes: the refusal order puts authorization first).
            Row {
                method: "PATCH",
                path: format!("/api/v1/tickets/{id}"),
                body: json!({"priority": "nonsense"}),
                want: [U, F, N, F, 422, 422, 422],
            },
            Row {
                method: "POST",
                path: format!("/api/v1/tickets/{id}/messages"),
                body: json!({"body": " "}),
                want: [U, 422, N, F, 422, 422, 422],
            },
            Row {
                method: "POST",
                path: format!("/api/v1/tickets/{id}/messages"),
                body: json!({"body": "x", "internal": true, "status": "nonsense"}),
                want: [U, F, N, F, 422, 422, 422],
            },
            Row {
                method: "POST",
                path: format!("/api/v1/tickets/{id}/merge"),
                body: json!({"into": id}),
                want: [U, F, F, F, 422, 422, 422],
            },
            Row {
                method: "POST",
                path: "/api/v1/tickets/bulk".into(),
                body: json!({"ids": []}),
                want: [U, F, F, F, 422, 422, 422],
            },
            Row {
                method: "POST",
                path: format!("/api/v1/tickets/{id}/viewers"),
                body: json!({}),
                want: [U, F, N, F, 200, 200, 200],
            },
            Row {
                method: "POST",
                path: format!("/api/v1/tickets/{id}/rating"),
                body: json!({"score": 5}),
                want: [U, 409, N, N, N, N, N],
            },
            Row {
                method: "POST",
                path: format!("/api/v1/tickets/{id}/escalations"),
                body: json!({"reason": "x".repeat(3000)}),
                want: [U, 422, N, F, 422, 422, 422],
            },
            Row {
                method: "PUT",
                path: "/api/v1/agent/presence".into(),
                body: json!({"presence": "nonsense"}),
                want: [U, F, F, F, 422, 422, 422],
            },
            Row {
                method: "PUT",
                path: "/api/v1/macros/m2".into(),
                body: json!({"name": "", "body_zh": "", "body_en": ""}),
                want: [U, F, F, F, F, 422, 422],
            },
            Row {
                method: "POST",
                path: "/api/v1/complaints/nope/resolution".into(),
                body: json!({"outcome": "x"}),
                want: [U, F, F, F, F, N, N],
            },
            Row {
                method: "PUT",
                path: "/api/v1/admin/support-groups/g2".into(),
                body: json!({"name_zh": "", "name_en": "", "time_zone": "UTC"}),
                want: [U, F, F, F, F, F, 422],
            },
            Row {
                method: "PUT",
                path: format!("/api/v1/admin/agents/{agent_id}"),
                body: json!({"display_name": "", "group_id": "general", "capacity": 1}),
                want: [U, F, F, F, F, F, 422],
            },
            Row {
                method: "PUT",
                path: "/api/v1/admin/sla-targets".into(),
                body: json!({"items": [{"priority": "nonsense"}]}),
                want: [U, F, F, F, F, F, 422],
            },
        ];
        let mut checked = 0;
        for row in &rows {
            for (caller, (token, want)) in CALLERS.iter().zip(tokens.iter().zip(row.want)) {
                let mut request = app
                    .client
                    .request(row.method.parse().unwrap(), app.url(&row.path));
                if let Some(t) = token {
                    request = request.bearer_auth(t);
                }
                if !row.body.is_null() {
                    request = request.json(&row.body);
                }
                let r = request.send().await.unwrap();
                let status = r.status().as_u16();
                let text = r.text().await.unwrap();
                assert_eq!(
                    status, want,
                    "{} {} as {caller}: {text}",
                    row.method, row.path
                );
                if *caller == "no_2fa" && want == F {
                    assert!(text.contains("second_factor_required"), "{text}");
                }
                // Whatever a customer is shown, the note is never in it.
                if matches!(*caller, "requester" | "other") {
                    assert!(
                        !text.contains("MATRIX-NOTE"),
                        "{} {}: {text}",
                        row.method,
                        row.path
                    );
                }
                checked += 1;
            }
        }
        assert_eq!(checked, rows.len() * CALLERS.len());
        // Nothing above changed the ticket.
        let t = app.state.db.ticket(&id).await.unwrap().unwrap();
        assert_eq!((t.status.as_str(), t.priority.as_str()), ("new", "normal"));

        // Every staff read of the customer's data above left an audit event naming the reader.
        let audit = app
            .state
            .db
            .audit_events_for(&format!("user:{amy_id}"))
            .await
            .unwrap();
        for (who, action) in [
            (&agent_id, "ticket.viewed"),
            (&agent_id, "customer.viewed"),
            (&agent_id, "ticket.attachment_viewed"),
        ] {
            assert!(
                audit
                    .iter()
                    .any(|e| e.actor == format!("user:{who}") && e.action == action),
                "{action} by {who} in {audit:?}"
            );
        }

        // The pages: a customer, another customer, staff without and with two-step
        // verification.
        let mut amy_b = Browser::new(&app);
        amy_b.log_in("amy@example.com", STRONG).await;
        let mut bob_b = Browser::new(&app);
        bob_b.log_in("bob@example.com", STRONG).await;
        let mut plain_b = Browser::new(&app);
        plain_b.log_in("plain@example.com", STRONG).await;
        let mut agent_b = staff_browser(&app, "agent2@example.com", identity::Role::Agent).await;
        let mut sup_b = staff_browser(&app, "sup2@example.com", identity::Role::Supervisor).await;
        let mut nobody = Browser::new(&app);
        let pages: [(&str, [u16; 6]); 7] = [
            // nobody, requester, other, no_2fa, agent, supervisor
            (
                &format!("/support/tickets/{id}"),
                [303, 200, 404, 404, 404, 404],
            ),
            ("/support", [303, 200, 200, 200, 200, 200]),
            ("/agent", [303, 403, 403, 403, 200, 200]),
            (
                &format!("/agent/tickets/{id}"),
                [303, 403, 403, 403, 200, 200],
            ),
            ("/supervisor", [303, 403, 403, 403, 403, 200]),
            ("/supervisor/audit", [303, 403, 403, 403, 403, 200]),
            ("/admin/helpdesk", [303, 403, 403, 403, 403, 403]),
        ];
        for (path, want) in pages {
            let got = [
                nobody.get(path).await,
                amy_b.get(path).await,
                bob_b.get(path).await,
                plain_b.get(path).await,
                agent_b.get(path).await,
                sup_b.get(path).await,
            ];
            for (i, page) in got.iter().enumerate() {
                assert_eq!(page.status, want[i], "{path} as {}", CALLERS[i]);
                if i <= 2 {
                    assert!(!page.body.contains("MATRIX-NOTE"), "{path}");
                }
            }
            assert!(
                got[4].status != 200 || !got[4].body.contains("amy@example.com"),
                "{path}: agents see the address masked"
            );
        }
    }
);
