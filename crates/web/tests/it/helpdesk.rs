//! The help desk through the API, each story on both databases: routing by load and skill
//! with presence, SLA clocks and the watcher's alerts, macros, merges, bulk changes and
//! collision warnings, complaints and ratings with their mail, attachments, the customer
//! context, the supervisors' figures, audit trail and suggestions box, and who may do what.

use axum::http::StatusCode;
use serde_json::{json, Value};
use testkit::both_backends;

use crate::accounts::code;
use crate::tickets::{json_of, staff};
use crate::App;

impl App {
    pub(crate) async fn patch_json(
        &self,
        path: &str,
        body: Value,
        token: &str,
    ) -> reqwest::Response {
        self.client
            .patch(self.url(path))
            .json(&body)
            .bearer_auth(token)
            .send()
            .await
            .expect("answers")
    }

    /// A support group open around the clock in UTC, taking every category in both languages.
    pub(crate) async fn desk_group(&self, admin: &str, id: &str) {
        json_of(
            self.put_json(
                &format!("/api/v1/admin/support-groups/{id}"),
                json!({"name_zh": "综合", "name_en": "General", "time_zone": "UTC",
                       "always_open": true, "languages": ["zh-CN", "en"], "categories": []}),
                admin,
            )
            .await,
            StatusCode::OK,
        )
        .await;
    }

    /// Makes `user_id` an agent of `group` with `capacity`, and sets their presence.
    pub(crate) async fn desk_agent(
        &self,
        admin: &str,
        user_id: &str,
        token: &str,
        group: &str,
        capacity: i64,
        presence: &str,
    ) {
        json_of(
            self.put_json(
                &format!("/api/v1/admin/agents/{user_id}"),
                json!({"display_name": format!("Agent {}", &user_id[user_id.len() - 4..]),
                       "group_id": group, "capacity": capacity, "languages": ["zh-CN", "en"]}),
                admin,
            )
            .await,
            StatusCode::OK,
        )
        .await;
        json_of(
            self.put_json(
                "/api/v1/agent/presence",
                json!({"presence": presence}),
                token,
            )
            .await,
            StatusCode::OK,
        )
        .await;
    }

    pub(crate) async fn open_ticket(&self, token: &str, subject: &str) -> String {
        let t = json_of(
            self.post_json(
                "/api/v1/tickets",
                json!({"subject": subject, "body": "Please help.", "category": "funds_delayed"}),
                Some(token),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        t["id"].as_str().unwrap().to_owned()
    }

    pub(crate) async fn staff_view(&self, token: &str, id: &str) -> Value {
        json_of(
            self.get_auth(&format!("/api/v1/tickets/{id}"), token).await,
            StatusCode::OK,
        )
        .await
    }

    async fn outbox(&self, to: &str) -> Vec<store::outbox::OutboxMessage> {
        self.state.db.recent_mail(Some(to), 100).await.unwrap()
    }
}

both_backends!(
    tickets_go_to_the_least_loaded_online_agent_and_come_back_when_they_leave,
    |backend| async move {
        let app = App::spawn(backend).await;
        let (_, admin) = staff(&app, "admin@example.com", identity::Role::Admin).await;
        app.desk_group(&admin, "general").await;
        let (a1, a1_token) = staff(&app, "ann@example.com", identity::Role::Agent).await;
        let (a2, a2_token) = staff(&app, "ben@example.com", identity::Role::Agent).await;
        assert!(a1 < a2, "ids are made in order");
        app.desk_agent(&admin, &a1, &a1_token, "general", 2, "online")
            .await;
        app.desk_agent(&admin, &a2, &a2_token, "general", 2, "online")
            .await;
        let (_, amy) = app.customer("amy@example.com").await;

        let mut tickets = Vec::new();
        for n in 1..=5 {
            tickets.push(app.open_ticket(&amy, &format!("deposit {n}")).await);
        }
        let assignee = |id: &str| {
            let (app, admin, id) = (&app, admin.clone(), id.to_owned());
            async move {
                app.staff_view(&admin, &id).await["assignee_id"]
                    .as_str()
                    .map(str::to_owned)
            }
        };
        // Least loaded first; equal loads take turns; full agents get nothing.
        assert_eq!(assignee(&tickets[0]).await.as_deref(), Some(a1.as_str()));
        assert_eq!(assignee(&tickets[1]).await.as_deref(), Some(a2.as_str()));
        assert_eq!(assignee(&tickets[2]).await.as_deref(), Some(a1.as_str()));
        assert_eq!(assignee(&tickets[3]).await.as_deref(), Some(a2.as_str()));
        assert_eq!(assignee(&tickets[4]).await, None, "both agents are full");
        let home = json_of(
            app.get_auth("/api/v1/agent", &a1_token).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(home["agent"]["load"], 2);
        assert_eq!(home["queues"]["mine"], 2);
        assert_eq!(home["queues"]["unassigned"], 1);

        // A solve frees room: the waiting ticket goes to Ann at once.
        json_of(
            app.post_json(
                &format!("/api/v1/tickets/{}/messages", tickets[0]),
                json!({"body": "Credited now.", "status": "solved"}),
                Some(&a1_token),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(assignee(&tickets[4]).await.as_deref(), Some(a1.as_str()));

        // Ben goes offline: the tickets on which the customer waits go back to the queue;
        // Ann is full, so they wait there.
        json_of(
            app.put_json(
                "/api/v1/agent/presence",
                json!({"presence": "offline"}),
                &a2_token,
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(assignee(&tickets[1]).await, None);
        assert_eq!(assignee(&tickets[3]).await, None);
        let events = app.state.db.ticket_events(&tickets[1]).await.unwrap();
        assert!(events.iter().any(|e| e.kind == "requeued"), "{events:?}");

        // Nobody gives work to an offline agent or to a customer.
        let (status, c, _) = code(
            app.patch_json(
                &format!("/api/v1/tickets/{}", tickets[1]),
                json!({"assignee_id": a2}),
                &admin,
            )
            .await,
        )
        .await;
        assert_eq!(
            (status, c.as_str()),
            (StatusCode::CONFLICT, "assignee_offline")
        );
        let (amy_id, _) = (
            app.state
                .db
                .user_by_email(&identity::Email::parse("amy@example.com").unwrap())
                .await
                .unwrap()
                .unwrap()
                .id,
            (),
        );
        let (status, c, _) = code(
            app.patch_json(
                &format!("/api/v1/tickets/{}", tickets[1]),
                json!({"assignee_id": amy_id}),
                &admin,
            )
            .await,
        )
        .await;
        assert_eq!(
            (status, c.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "assignee_not_agent")
        );

        // Away keeps what one has and takes nothing new; back online, Ben takes the waiting
        // tickets again.
        json_of(
            app.put_json(
                "/api/v1/agent/presence",
                json!({"presence": "away"}),
                &a1_token,
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(assignee(&tickets[2]).await.as_deref(), Some(a1.as_str()));
        json_of(
            app.put_json(
                "/api/v1/agent/presence",
                json!({"presence": "online"}),
                &a2_token,
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(assignee(&tickets[1]).await.as_deref(), Some(a2.as_str()));
        assert_eq!(assignee(&tickets[3]).await.as_deref(), Some(a2.as_str()));

        // A manual reassignment to someone online (or away) works and is recorded.
        let moved = json_of(
            app.patch_json(
                &format!("/api/v1/tickets/{}", tickets[3]),
                json!({"assignee_id": a1}),
                &admin,
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(moved["assignee_id"], a1.as_str());
        // Giving it back to the queue with null.
        let back = json_of(
            app.patch_json(
                &format!("/api/v1/tickets/{}", tickets[3]),
                json!({"assignee_id": null}),
                &admin,
            )
            .await,
            StatusCode::OK,
        )
        .await;
        // Ben has room again, so the queue hands it straight back to him.
        assert_eq!(back["assignee_id"], a2.as_str());

        // Presence is for agents; values are checked.
        let (_, sup) = staff(&app, "sue@example.com", identity::Role::Supervisor).await;
        let (status, c, _) = code(
            app.put_json(
                "/api/v1/agent/presence",
                json!({"presence": "online"}),
                &sup,
            )
            .await,
        )
        .await;
        assert_eq!((status, c.as_str()), (StatusCode::CONFLICT, "not_an_agent"));
        let (status, c, _) = code(
            app.put_json(
                "/api/v1/agent/presence",
                json!({"presence": "asleep"}),
                &a1_token,
            )
            .await,
        )
        .await;
        assert_eq!(
            (status, c.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field")
        );
    }
);

both_backends!(
    sla_clocks_pause_for_the_customer_and_the_watcher_alerts_once,
    |backend| async move {
        let app = App::spawn(backend).await;
        let (_, admin) = staff(&app, "admin@example.com", identity::Role::Admin).await;
        app.desk_group(&admin, "general").await;
        json_of(
            app.put_json(
                "/api/v1/admin/sla-targets",
                json!({"items": [
                    {"priority": "normal", "first_response_s": 3600, "resolution_s": 28800},
                    {"priority": "urgent", "first_response_s": 900, "resolution_s": 14400},
                    {"priority": "normal", "category": "account_security", "first_response_s": 1800}
                ]}),
                &admin,
            )
            .await,
            StatusCode::OK,
        )
        .await;
        let (status, _, _) = code(
            app.put_json(
                "/api/v1/admin/sla-targets",
                json!({"items": [{"priority": "normal", "first_response_s": 5}]}),
                &admin,
            )
            .await,
        )
        .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "a target under a minute"
        );
        let (agent_id, agent) = staff(&app, "ann@example.com", identity::Role::Agent).await;
        app.desk_agent(&admin, &agent_id, &agent, "general", 10, "online")
            .await;
        let (_, sup) = staff(&app, "sue@example.com", identity::Role::Supervisor).await;
        let (_, amy) = app.customer("amy@example.com").await;

        let id = app.open_ticket(&amy, "ETH deposit missing").await;
        let t = app.state.db.ticket(&id).await.unwrap().unwrap();
        assert_eq!(t.first_response_due_ms, Some(t.created_at_ms + 3_600_000));
        assert_eq!(t.next_due_ms, t.created_at_ms + 3_600_000);
        assert_eq!(t.resolution_due_ms, Some(t.created_at_ms + 28_800_000));

        // The first public reply meets the first-response target; the resolution clock runs.
        let seen = json_of(
            app.post_json(
                &format!("/api/v1/tickets/{id}/messages"),
                json!({"body": "Which transaction hash?", "status": "pending"}),
                Some(&agent),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(seen["sla"]["first_response"]["state"], "met");
        assert_eq!(
            seen["sla"]["resolution"]["state"], "paused",
            "{}",
            seen["sla"]
        );
        assert_eq!(
            seen["next_due_at"],
            Value::Null,
            "nothing is due while we wait on Amy"
        );
        json_of(
            app.post_json(
                &format!("/api/v1/tickets/{id}/messages"),
                json!({"body": "0xabc…"}),
                Some(&amy),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        let t = app.state.db.ticket(&id).await.unwrap().unwrap();
        assert_eq!(t.status, "open");
        assert!(t.next_due_ms < store::tickets::NO_DUE_MS);
        assert_eq!(Some(t.next_due_ms), t.resolution_due_ms);
        assert!(t.first_response_business_s.is_some());

        // A second ticket nobody answers: urgent, and Ann away (she keeps hers, takes nothing
        // new).
        json_of(
            app.put_json(
                "/api/v1/agent/presence",
                json!({"presence": "away"}),
                &agent,
            )
            .await,
            StatusCode::OK,
        )
        .await;
        let quiet = app.open_ticket(&amy, "Cannot log in").await;
        json_of(
            app.patch_json(
                &format!("/api/v1/tickets/{quiet}"),
                json!({"priority": "urgent"}),
                &sup,
            )
            .await,
            StatusCode::OK,
        )
        .await;
        let q = app.state.db.ticket(&quiet).await.unwrap().unwrap();
        assert_eq!(
            q.first_response_due_ms,
            Some(q.created_at_ms + 900_000),
            "re-targeted"
        );

        // Nine hours later: near-breach and breach of Ann's resolution, and of the unanswered
        // ticket's first response — each recorded once, however often the watcher looks.
        let later = store::now_ms() + 9 * 3_600_000;
        let round = web::desk::watch_round(&app.state, later).await.unwrap();
        assert!(round.alerts >= 4, "{round:?}");
        let again = web::desk::watch_round(&app.state, later).await.unwrap();
        assert_eq!(again.alerts, 0, "{again:?}");
        let t = app.state.db.ticket(&id).await.unwrap().unwrap();
        assert!(t.resolution_breached && !t.first_response_breached);
        let q = app.state.db.ticket(&quiet).await.unwrap().unwrap();
        assert!(q.first_response_breached);
        assert_eq!(
            q.sla_next_check_ms, None,
            "a breached clock needs no more checks"
        );
        let breached = json_of(
            app.get_auth("/api/v1/tickets?sla=breached", &sup).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(breached["items"].as_array().unwrap().len(), 2);
        let alerts = json_of(
            app.get_auth("/api/v1/sla-alerts", &agent).await,
            StatusCode::OK,
        )
        .await;
        let kinds: Vec<(String, String)> = alerts["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["clock"].as_str().unwrap().to_owned(),
                    a["kind"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        for want in [
            ("resolution", "near_breach"),
            ("resolution", "breached"),
            ("first_response", "breached"),
        ] {
            assert!(
                kinds.contains(&(want.0.to_owned(), want.1.to_owned())),
                "{want:?} in {kinds:?}"
            );
        }
        // Ann hears about hers; the supervisors about the one nobody holds.
        let to_ann = app.outbox("ann@example.com").await;
        assert!(to_ann
            .iter()
            .any(|m| m.kind == "sla_alert" && m.body_text.contains(&t.number.to_string())));
        let to_sue = app.outbox("sue@example.com").await;
        assert!(to_sue
            .iter()
            .any(|m| m.kind == "sla_alert" && m.body_text.contains(&q.number.to_string())));
        // The customer's view never shows the clocks.
        let hers = json_of(
            app.get_auth(&format!("/api/v1/tickets/{id}"), &amy).await,
            StatusCode::OK,
        )
        .await;
        assert!(
            hers.get("sla").is_none() && hers.get("events").is_none(),
            "{hers}"
        );
    }
);

both_backends!(
    macros_merges_bulk_changes_and_collision_warnings,
    |backend| async move {
        let app = App::spawn(backend).await;
        let (_, admin) = staff(&app, "admin@example.com", identity::Role::Admin).await;
        app.desk_group(&admin, "general").await;
        let (ann_id, ann) = staff(&app, "ann@example.com", identity::Role::Agent).await;
        let (ben_id, ben) = staff(&app, "ben@example.com", identity::Role::Agent).await;
        app.desk_agent(&admin, &ann_id, &ann, "general", 50, "online")
            .await;
        app.desk_agent(&admin, &ben_id, &ben, "general", 50, "online")
            .await;
        let (_, sup) = staff(&app, "sue@example.com", identity::Role::Supervisor).await;
        let (_, amy) = app.customer("amy@example.com").await;
        let (_, bob) = app.customer("bob@example.com").await;

        // Supervisors write macros; agents cannot; unknown placeholders and actions are named.
        let good = json!({"name": "Ask for the hash", "body_zh": "您好，请提供工单 {{ticket.number}} 的交易哈希。",
            "body_en": "Hello, please send the transaction hash for ticket {{ticket.number}}. — {{agent.name}}",
            "actions": "status: pending\nadd_tag: waiting-docs"});
        json_of(
            app.put_json("/api/v1/macros/ask-hash", good.clone(), &sup)
                .await,
            StatusCode::OK,
        )
        .await;
        let (status, _, _) = code(app.put_json("/api/v1/macros/ask-hash", good, &ann).await).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        for (field, body) in [
            (
                "body_en",
                json!({"name": "x", "body_zh": "好", "body_en": "{{password}}", "actions": ""}),
            ),
            (
                "actions",
                json!({"name": "x", "body_zh": "好", "body_en": "ok", "actions": "status: closed"}),
            ),
        ] {
            let (status, c, problem) =
                code(app.put_json("/api/v1/macros/bad", body, &sup).await).await;
            assert_eq!(
                (status, c.as_str()),
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field")
            );
            assert_eq!(problem["field"], field);
        }

        // An agent previews it on a ticket, then answers with it.
        let id = app.open_ticket(&amy, "Where is my USDT").await;
        let number = app.staff_view(&ann, &id).await["number"].as_i64().unwrap();
        let preview = json_of(
            app.get_auth(&format!("/api/v1/tickets/{id}/macros/ask-hash"), &ann)
                .await,
            StatusCode::OK,
        )
        .await;
        assert!(
            preview["body"]
                .as_str()
                .unwrap()
                .contains(&number.to_string()),
            "{preview}"
        );
        assert!(
            preview["body"].as_str().unwrap().contains("Agent "),
            "{preview}"
        );
        assert_eq!(
            preview["actions"],
            json!(["status: pending", "add_tag: waiting-docs"])
        );
        let (status, _, _) = code(
            app.get_auth(&format!("/api/v1/tickets/{id}/macros/ask-hash"), &amy)
                .await,
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let used = json_of(
            app.post_json(
                &format!("/api/v1/tickets/{id}/messages"),
                json!({"macro_id": "ask-hash"}),
                Some(&ann),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(used["status"], "pending");
        assert_eq!(used["tags"], json!(["waiting-docs"]));
        assert!(used["messages"][1]["body"]
            .as_str()
            .unwrap()
            .contains(&number.to_string()));
        assert!(used["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "macro_used"));
        let (status, _, _) = code(
            app.post_json(
                &format!("/api/v1/tickets/{id}/messages"),
                json!({"body": "x", "macro_id": "ask-hash"}),
                Some(&amy),
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "customers use no macros");

        // Two agents on one ticket see each other.
        for token in [&ann, &ben] {
            json_of(
                app.post_json(
                    &format!("/api/v1/tickets/{id}/viewers"),
                    json!({}),
                    Some(token),
                )
                .await,
                StatusCode::OK,
            )
            .await;
        }
        let seen = json_of(
            app.post_json(
                &format!("/api/v1/tickets/{id}/viewers"),
                json!({"composing": true}),
                Some(&ann),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(seen["others"][0]["agent_id"], ben_id.as_str());
        let seen = json_of(
            app.post_json(
                &format!("/api/v1/tickets/{id}/viewers"),
                json!({}),
                Some(&ben),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(seen["others"][0]["agent_id"], ann_id.as_str());
        assert_eq!(seen["others"][0]["composing"], true);
        let (status, _, _) = code(
            app.post_json(
                &format!("/api/v1/tickets/{id}/viewers"),
                json!({}),
                Some(&amy),
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        // Merging: Amy's second ticket about the same thing joins the first, with its words.
        let dup = app.open_ticket(&amy, "USDT still missing").await;
        json_of(
            app.post_json(
                &format!("/api/v1/tickets/{dup}/messages"),
                json!({"body": "Internal: same as the other", "internal": true}),
                Some(&ben),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        let merged = json_of(
            app.post_json(
                &format!("/api/v1/tickets/{dup}/merge"),
                json!({"into": number.to_string()}),
                Some(&ann),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(merged["id"], id.as_str());
        let bodies: Vec<&str> = merged["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["body"].as_str().unwrap())
            .collect();
        assert!(
            bodies.contains(&"Please help.") && bodies.contains(&"Internal: same as the other"),
            "{bodies:?}"
        );
        let src = app.staff_view(&ann, &dup).await;
        assert_eq!(
            (src["status"].as_str(), src["merged_into"].as_str()),
            (Some("closed"), Some(id.as_str()))
        );
        assert_eq!(src["sla"]["first_response"]["state"], "cancelled");
        // The customer sees the merged conversation, still without the note.
        let hers = json_of(
            app.get_auth(&format!("/api/v1/tickets/{id}"), &amy).await,
            StatusCode::OK,
        )
        .await;
        assert!(!hers.to_string().contains("Internal: same"), "{hers}");
        let bobs = app.open_ticket(&bob, "Bob's question").await;
        for (from, into, want) in [
            (
                bobs.as_str(),
                id.as_str(),
                (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "merge_different_requesters",
                ),
            ),
            (
                id.as_str(),
                id.as_str(),
                (StatusCode::UNPROCESSABLE_ENTITY, "merge_into_itself"),
            ),
            (
                dup.as_str(),
                id.as_str(),
                (StatusCode::CONFLICT, "merge_closed"),
            ),
        ] {
            let (status, c, _) = code(
                app.post_json(
                    &format!("/api/v1/tickets/{from}/merge"),
                    json!({"into": into}),
                    Some(&ann),
                )
                .await,
            )
            .await;
            assert_eq!((status, c.as_str()), want, "{from} into {into}");
        }

        // Bulk: one change to many tickets, each answering for itself.
        let third = app.open_ticket(&bob, "Another").await;
        let results = json_of(
            app.post_json(
                "/api/v1/tickets/bulk",
                json!({"ids": [id, dup, third], "priority": "high", "add_tags": ["vip"]}),
                Some(&ann),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        let by_id: std::collections::HashMap<String, String> = results["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["id"].as_str().unwrap().to_owned(),
                    r["result"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(by_id[&id], "ok");
        assert_eq!(by_id[&third], "ok");
        assert_eq!(by_id[&dup], "ticket_closed");
        assert_eq!(app.staff_view(&ann, &third).await["priority"], "high");
        for (body, field) in [
            (json!({"ids": [], "priority": "high"}), "ids"),
            (
                json!({"ids": (0..101).map(|n| n.to_string()).collect::<Vec<_>>(), "priority": "high"}),
                "ids",
            ),
            (json!({"ids": [id], "priority": "whenever"}), "priority"),
        ] {
            let (status, _, problem) = code(
                app.post_json("/api/v1/tickets/bulk", body, Some(&ann))
                    .await,
            )
            .await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
            assert_eq!(problem["field"], field);
        }
        let (status, _, _) = code(
            app.post_json(
                "/api/v1/tickets/bulk",
                json!({"ids": [id], "priority": "low"}),
                Some(&amy),
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        // Invalid tags and empty changes are refused with their codes.
        for (body, want) in [
            (json!({"add_tags": ["Not A Tag"]}), "invalid_tag"),
            (json!({"priority": "high"}), "nothing_to_change"),
        ] {
            let (status, c, _) = code(
                app.patch_json(&format!("/api/v1/tickets/{id}"), body, &ann)
                    .await,
            )
            .await;
            assert_eq!(
                (status, c.as_str()),
                (StatusCode::UNPROCESSABLE_ENTITY, want)
            );
        }
    }
);

/// A link's value from a mail body: the text after `marker` up to the next space or line.
fn link_after<'a>(body: &'a str, marker: &str) -> &'a str {
    let start = body
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} in {body}"));
    body[start..].split_whitespace().next().unwrap()
}

both_backends!(
    ratings_and_complaints_reach_the_right_people_with_their_mail,
    |backend| async move {
        let app = App::spawn(backend).await;
        let (_, admin) = staff(&app, "admin@example.com", identity::Role::Admin).await;
        app.desk_group(&admin, "general").await;
        let (ann_id, ann) = staff(&app, "ann@example.com", identity::Role::Agent).await;
        app.desk_agent(&admin, &ann_id, &ann, "general", 50, "online")
            .await;
        let (_, sup) = staff(&app, "sue@example.com", identity::Role::Supervisor).await;
        let (_, amy) = app.customer("amy@example.com").await;
        let (_, bob) = app.customer("bob@example.com").await;
        let id = app.open_ticket(&amy, "Payment failed at the shop").await;

        let (status, c, _) = code(
            app.post_json(
                &format!("/api/v1/tickets/{id}/rating"),
                json!({"score": 5}),
                Some(&amy),
            )
            .await,
        )
        .await;
        assert_eq!(
            (status, c.as_str()),
            (StatusCode::CONFLICT, "ticket_not_solved")
        );
        json_of(
            app.post_json(
                &format!("/api/v1/tickets/{id}/messages"),
                json!({"body": "SECRET-NOTE checked ledger", "internal": true}),
                Some(&ann),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        json_of(
            app.post_json(&format!("/api/v1/tickets/{id}/messages"), json!({"body": "The shop's request had expired; pay the new one.", "status": "solved"}), Some(&ann)).await,
            StatusCode::CREATED,
        )
        .await;
        let mail = app.outbox("amy@example.com").await;
        let reply = mail
            .iter()
            .find(|m| m.kind == "ticket_reply")
            .expect("a reply mail");
        assert!(
            reply.body_text.contains("> The shop's request had expired"),
            "{}",
            reply.body_text
        );
        assert!(
            mail.iter().all(|m| !m.body_text.contains("SECRET-NOTE")),
            "notes never leave by mail"
        );
        let solved = mail
            .iter()
            .find(|m| m.kind == "ticket_solved")
            .expect("a solve mail");
        let link = link_after(&solved.body_text, "http://localhost:8080/support/rate/");
        let sig = link.split("sig=").nth(1).unwrap();
        assert!(link.contains(&id));

        // The rating link works without signing in, for this ticket only.
        let (status, _, _) = code(
            app.post_json(
                "/api/v1/ticket-ratings",
                json!({"ticket_id": id, "sig": "forged", "score": 1}),
                None,
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let bobs = app.open_ticket(&bob, "Bob's").await;
        let (status, _, _) = code(
            app.post_json(
                "/api/v1/ticket-ratings",
                json!({"ticket_id": bobs, "sig": sig, "score": 1}),
                None,
            )
            .await,
        )
        .await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "a signature names one ticket"
        );
        let r = app
            .post_json(
                "/api/v1/ticket-ratings",
                json!({"ticket_id": id, "sig": sig, "score": 2, "comment": "slow"}),
                None,
            )
            .await;
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        let (status, _, problem) = code(
            app.post_json(
                &format!("/api/v1/tickets/{id}/rating"),
                json!({"score": 6}),
                Some(&amy),
            )
            .await,
        )
        .await;
        assert_eq!(
            (status, problem["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("score"))
        );
        let rated = json_of(
            app.post_json(
                &format!("/api/v1/tickets/{id}/rating"),
                json!({"score": 4, "comment": "fixed"}),
                Some(&amy),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(rated["rating"]["score"], 4, "the latest rating counts");
        let (status, _, _) = code(
            app.post_json(
                &format!("/api/v1/tickets/{id}/rating"),
                json!({"score": 1}),
                Some(&bob),
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "only the requester rates");

        // A complaint goes to the supervisors, once at a time, and Amy hears back.
        let (status, _, problem) = code(
            app.post_json(
                &format!("/api/v1/tickets/{id}/escalations"),
                json!({"reason": "x".repeat(2001)}),
                Some(&amy),
            )
            .await,
        )
        .await;
        assert_eq!(
            (status, problem["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("reason"))
        );
        let raised = json_of(
            app.post_json(
                &format!("/api/v1/tickets/{id}/escalations"),
                json!({"reason": "Nobody told me the request expired."}),
                Some(&amy),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(raised["complaint"]["status"], "open");
        assert_eq!(raised["complaint"]["by_customer"], true);
        let (status, c, _) = code(
            app.post_json(
                &format!("/api/v1/tickets/{id}/escalations"),
                json!({"reason": "again"}),
                Some(&amy),
            )
            .await,
        )
        .await;
        assert_eq!(
            (status, c.as_str()),
            (StatusCode::CONFLICT, "complaint_open")
        );
        let (status, _, _) = code(
            app.post_json(
                &format!("/api/v1/tickets/{bobs}/escalations"),
                json!({"reason": "x"}),
                Some(&amy),
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(app
            .outbox("amy@example.com")
            .await
            .iter()
            .any(|m| m.kind == "complaint_received"));
        let (status, _, _) = code(app.get_auth("/api/v1/complaints", &ann).await).await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "the queue is the supervisors'"
        );
        let queue = json_of(
            app.get_auth("/api/v1/complaints", &sup).await,
            StatusCode::OK,
        )
        .await;
        let complaint = &queue["items"][0];
        assert_eq!(complaint["ticket_id"], id.as_str());
        assert_eq!(complaint["overdue"], false);
        let complaint_id = complaint["id"].as_str().unwrap().to_owned();
        let (status, _, _) = code(
            app.post_json(
                &format!("/api/v1/complaints/{complaint_id}/resolution"),
                json!({"outcome": "x"}),
                Some(&ann),
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        json_of(
            app.post_json(
                &format!("/api/v1/complaints/{complaint_id}/resolution"),
                json!({"outcome": "You are right: we now show the expiry on the pay page. Sorry."}),
                Some(&sup),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        let (status, c, _) = code(
            app.post_json(
                &format!("/api/v1/complaints/{complaint_id}/resolution"),
                json!({"outcome": "again"}),
                Some(&sup),
            )
            .await,
        )
        .await;
        assert_eq!(
            (status, c.as_str()),
            (StatusCode::CONFLICT, "complaint_already_resolved")
        );
        let hers = json_of(
            app.get_auth(&format!("/api/v1/tickets/{id}"), &amy).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(hers["complaint"]["status"], "resolved");
        assert!(
            hers.to_string().contains("we now show the expiry"),
            "{hers}"
        );
        let resolved = app.outbox("amy@example.com").await;
        assert!(resolved
            .iter()
            .any(|m| m.kind == "complaint_resolved" && m.body_text.contains("> You are right")));
        let done = json_of(
            app.get_auth("/api/v1/complaints?status=resolved", &sup)
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(done["items"][0]["id"], complaint_id.as_str());

        // An agent can escalate too.
        let esc = json_of(
            app.post_json(
                &format!("/api/v1/tickets/{bobs}/escalations"),
                json!({"reason": "Bob threatens to go public; needs a supervisor."}),
                Some(&ann),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(esc["complaint"]["by_customer"], false);

        // API.md's bare form: a complaint with no reason is still a complaint.
        let other = app.open_ticket(&amy, "Another one").await;
        let bare = json_of(
            app.post_json(
                &format!("/api/v1/tickets/{other}/escalations"),
                json!({}),
                Some(&amy),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(bare["complaint"]["status"], "open");
        assert_eq!(bare["complaint"]["reason"], "");
    }
);

/// The smallest PNG: a 1×1 transparent pixel.
pub(crate) const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE,
    0x42, 0x60, 0x82,
];

both_backends!(
    attachments_are_checked_by_their_bytes_and_served_as_downloads,
    |backend| async move {
        let app = App::spawn(backend).await;
        let (_, ann) = staff(&app, "ann@example.com", identity::Role::Agent).await;
        let (amy_id, amy) = app.customer("amy@example.com").await;
        let (_, bob) = app.customer("bob@example.com").await;
        let id = app.open_ticket(&amy, "Screenshot of the error").await;
        let upload = |name: &str, declared: &str, bytes: Vec<u8>, token: &str| {
            app.client
                .post(app.url(&format!("/api/v1/tickets/{id}/attachments")))
                .query(&[("filename", name)])
                .header("content-type", declared)
                .bearer_auth(token)
                .body(bytes)
                .send()
        };
        let stored = json_of(
            upload("错误截图.png", "image/png", PNG.to_vec(), &amy)
                .await
                .unwrap(),
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(stored["filename"], "错误截图.png");
        assert_eq!(stored["content_type"], "image/png");
        for (name, declared, bytes, why) in [
            (
                "page.png",
                "image/png",
                b"<html><script>alert(1)</script>".to_vec(),
                "not_allowed",
            ),
            ("shot.exe", "image/png", PNG.to_vec(), "extension_mismatch"),
            (
                "notes.txt",
                "text/html",
                b"hello".to_vec(),
                "declared_not_allowed",
            ),
            ("empty.txt", "text/plain", Vec::new(), "empty"),
        ] {
            let (status, c, problem) =
                code(upload(name, declared, bytes, &amy).await.unwrap()).await;
            assert_eq!(
                (status, c.as_str()),
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"),
                "{name}"
            );
            assert!(
                problem["detail"].as_str().unwrap().contains(why),
                "{name}: {problem}"
            );
        }
        let (status, c, _) = code(
            upload(
                "big.txt",
                "text/plain",
                vec![b'a'; 10 * 1024 * 1024 + 1],
                &amy,
            )
            .await
            .unwrap(),
        )
        .await;
        assert_eq!(
            (status, c.as_str()),
            (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large")
        );
        let (status, _, _) = code(
            upload("x.png", "image/png", PNG.to_vec(), &bob)
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        let url = stored["url"].as_str().unwrap();
        let r = app.get_auth(url, &amy).await;
        assert_eq!(r.status(), StatusCode::OK);
        let h = |name: &str| {
            r.headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default()
        };
        assert!(
            h("content-disposition").starts_with("attachment;"),
            "{}",
            h("content-disposition")
        );
        assert!(h("content-disposition").contains("filename*=UTF-8''%E9%94%99"));
        assert_eq!(h("x-content-type-options"), "nosniff");
        assert!(h("content-security-policy").contains("sandbox"));
        assert_eq!(r.bytes().await.unwrap().as_ref(), PNG);
        assert_eq!(
            app.get_auth(url, &bob).await.status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(app.get_auth(url, &ann).await.status(), StatusCode::OK);
        let audit = app
            .state
            .db
            .audit_events_for(&format!("user:{amy_id}"))
            .await
            .unwrap();
        assert!(
            audit.iter().any(|e| e.action == "ticket.attachment_viewed"),
            "{audit:?}"
        );
        let listed = app.staff_view(&ann, &id).await;
        assert_eq!(
            listed["attachments"][0]["sha256"].as_str().unwrap().len(),
            64
        );
    }
);

both_backends!(
    the_customer_context_figures_audit_trail_and_suggestions_are_for_staff,
    |backend| async move {
        let app = App::spawn(backend).await;
        let (_, admin) = staff(&app, "admin@example.com", identity::Role::Admin).await;
        app.desk_group(&admin, "general").await;
        let (ann_id, ann) = staff(&app, "ann@example.com", identity::Role::Agent).await;
        app.desk_agent(&admin, &ann_id, &ann, "general", 50, "online")
            .await;
        let (_, sup) = staff(&app, "sue@example.com", identity::Role::Supervisor).await;
        let (amy_id, amy) = app.customer("amy.long@example.com").await;
        app.give(&amy_id, "USDT", "10").await;
        app.customer("bob@example.com").await;
        json_of(
            app.post_json(
                "/api/v1/transfers",
                json!({"to": "bob@example.com", "asset": "USDT", "amount": "1"}),
                Some(&amy),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        let id = app.open_ticket(&amy, "Transfer question").await;

        let ctx = json_of(
            app.get_auth(&format!("/api/v1/customers/{amy_id}"), &ann)
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(ctx["email"], "am***g@example.com");
        assert!(
            !ctx.to_string().contains("amy.long@"),
            "never the whole address"
        );
        assert_eq!(ctx["security"]["totp"], false);
        assert_eq!(ctx["security"]["frozen"], false);
        assert_eq!(ctx["recent_activity"][0]["kind"], "transfer");
        assert_eq!(ctx["open_tickets"][0]["id"], id.as_str());
        let audit = app
            .state
            .db
            .audit_events_for(&format!("user:{amy_id}"))
            .await
            .unwrap();
        assert!(audit
            .iter()
            .any(|e| e.action == "customer.viewed" && e.actor == format!("user:{ann_id}")));
        let (status, _, _) = code(
            app.get_auth(&format!("/api/v1/customers/{amy_id}"), &amy)
                .await,
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _, _) = code(app.get_auth("/api/v1/customers/nobody", &ann).await).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // Frozen shows.
        json_of(
            app.post_json("/api/v1/me/freeze", json!({}), Some(&amy))
                .await,
            StatusCode::OK,
        )
        .await;
        let ctx = json_of(
            app.get_auth(&format!("/api/v1/customers/{amy_id}"), &ann)
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(ctx["security"]["frozen"], true);

        // The figures, for supervisors.
        json_of(
            app.post_json(
                &format!("/api/v1/tickets/{id}/messages"),
                json!({"body": "Done.", "status": "solved"}),
                Some(&ann),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        let (status, _, _) = code(app.get_auth("/api/v1/supervisor/stats", &ann).await).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let stats = json_of(
            app.get_auth("/api/v1/supervisor/stats?tz=UTC", &sup).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(stats["created"], 1);
        assert_eq!(stats["by_category"][0]["name"], "funds_delayed");
        assert_eq!(stats["by_channel"][0]["name"], "web");
        assert_eq!(stats["first_response"]["count"], 1);
        assert_eq!(stats["days"].as_array().unwrap().len(), 14);
        assert_eq!(stats["days"][13]["solved"], 1);
        for bad in [
            "from=2026-13-01",
            "tz=Mars/Olympus",
            "from=2020-01-01&to=2026-01-01",
            "from=2026-02-02&to=2026-02-01",
        ] {
            let (status, _, _) = code(
                app.get_auth(&format!("/api/v1/supervisor/stats?{bad}"), &sup)
                    .await,
            )
            .await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        }
        let csv = app
            .get_auth("/api/v1/supervisor/stats.csv?tz=UTC", &sup)
            .await;
        assert_eq!(csv.status(), StatusCode::OK);
        assert!(csv.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains(".csv"));
        let text = csv.text().await.unwrap();
        assert!(
            text.starts_with('\u{feff}') && text.lines().count() > 14,
            "{text}"
        );

        // The audit trail, for supervisors.
        let trail = json_of(
            app.get_auth(
                &format!("/api/v1/audit-events?subject=user:{amy_id}&limit=2"),
                &sup,
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(trail["items"].as_array().unwrap().len(), 2);
        let next = trail["next_cursor"].as_str().unwrap();
        let more = json_of(
            app.get_auth(
                &format!("/api/v1/audit-events?subject=user:{amy_id}&cursor={next}"),
                &sup,
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert!(!more["items"].as_array().unwrap().is_empty());
        assert_ne!(more["items"][0]["id"], trail["items"][0]["id"]);
        let (status, _, _) = code(app.get_auth("/api/v1/audit-events", &ann).await).await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        // The suggestions box.
        let (_, bob) = ("", app.token("bob@example.com").await);
        json_of(
            app.post_json(
                "/api/v1/suggestions",
                json!({"topic": "support", "body": "希望客服热线周末也开放。"}),
                Some(&bob),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        let (status, _, problem) = code(
            app.post_json(
                "/api/v1/suggestions",
                json!({"topic": "gossip", "body": "x"}),
                Some(&bob),
            )
            .await,
        )
        .await;
        assert_eq!(
            (status, problem["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("topic"))
        );
        let box_ = json_of(
            app.get_auth("/api/v1/suggestions", &sup).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(box_["items"][0]["body"], "希望客服热线周末也开放。");
        let (status, _, _) = code(app.get_auth("/api/v1/suggestions", &ann).await).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
);

both_backends!(
    bad_input_gets_codes_and_staff_need_a_second_factor,
    |backend| async move {
        let app = App::spawn(backend).await;
        let (_, amy) = app.customer("amy@example.com").await;
        let id = app.open_ticket(&amy, "Question").await;
        // Staff without two-step verification are refused, not shown other people's data.
        let hash = identity::hash_password(crate::accounts::STRONG).unwrap();
        app.state
            .db
            .create_user(
                &identity::Email::parse("newagent@example.com").unwrap(),
                &hash,
                identity::Role::Agent,
                "en",
            )
            .await
            .unwrap();
        let plain = app.token("newagent@example.com").await;
        for path in [
            "/api/v1/tickets".to_owned(),
            format!("/api/v1/tickets/{id}"),
            "/api/v1/agent".to_owned(),
        ] {
            let (status, c, _) = code(app.get_auth(&path, &plain).await).await;
            assert_eq!(
                (status, c.as_str()),
                (StatusCode::FORBIDDEN, "second_factor_required"),
                "{path}"
            );
        }
        let raw = |method: reqwest::Method, path: String, body: &'static str| {
            app.client
                .request(method, app.url(&path))
                .bearer_auth(&amy)
                .header("content-type", "application/json")
                .body(body)
                .send()
        };
        let (status, c, _) = code(
            raw(
                reqwest::Method::POST,
                "/api/v1/tickets".into(),
                "{\"subject\": ",
            )
            .await
            .unwrap(),
        )
        .await;
        assert_eq!(
            (status, c.as_str()),
            (StatusCode::BAD_REQUEST, "malformed_json")
        );
        let (status, c, problem) = code(
            raw(
                reqwest::Method::POST,
                "/api/v1/tickets".into(),
                r#"{"subject": 5, "body": "b", "category": "other"}"#,
            )
            .await
            .unwrap(),
        )
        .await;
        assert_eq!(
            (status, c.as_str(), problem["field"].as_str()),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                Some("subject")
            )
        );
        let (status, c, _) = code(
            raw(
                reqwest::Method::POST,
                format!("/api/v1/tickets/{id}/messages"),
                r#"{"body": "x", "mood": "angry"}"#,
            )
            .await
            .unwrap(),
        )
        .await;
        assert_eq!(
            (status, c.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field")
        );
        let (status, _, _) = code(
            raw(
                reqwest::Method::PATCH,
                format!("/api/v1/tickets/{id}"),
                r#"{"priority": "high"}"#,
            )
            .await
            .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "customers change no fields");
        let (status, _, _) = code(app.get_auth("/api/v1/tickets/01NOSUCHTICKET", &amy).await).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, c, _) = code(
            raw(
                reqwest::Method::POST,
                "/api/v1/tickets".into(),
                Box::leak(
                    format!(
                        r#"{{"subject": "s", "body": "{}", "category": "other"}}"#,
                        "x".repeat(70_000)
                    )
                    .into_boxed_str(),
                ),
            )
            .await
            .unwrap(),
        )
        .await;
        assert_eq!(
            (status, c.as_str()),
            (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large")
        );
        // A subject cannot smuggle a line break into mail headers.
        let t = json_of(
            app.post_json(
                "/api/v1/tickets",
                json!({"subject": "Hi\r\nBcc: x@evil.example", "body": "b", "category": "other"}),
                Some(&amy),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(t["subject"], "Hi Bcc: x@evil.example");
        // Customers set no staff fields when opening a ticket.
        let (status, _, _) = code(
            app.post_json(
                "/api/v1/tickets",
                json!({"subject": "s", "body": "b", "category": "other", "priority": "urgent"}),
                Some(&amy),
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
);

both_backends!(an_agent_opens_a_ticket_for_a_caller, |backend| async move {
    let app = App::spawn(backend).await;
    let (ann_id, ann) = staff(&app, "ann@example.com", identity::Role::Agent).await;
    let (amy_id, amy) = app.customer("amy@example.com").await;
    let t = json_of(
        app.post_json(
            "/api/v1/tickets",
            json!({"subject": "Called about a late deposit", "body": "Caller says 0.5 ETH sent 2 hours ago.",
                   "category": "funds_delayed", "requester_email": "amy@example.com", "priority": "high", "channel": "phone"}),
            Some(&ann),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let id = t["id"].as_str().unwrap();
    let seen = app.staff_view(&ann, id).await;
    assert_eq!(
        (seen["channel"].as_str(), seen["priority"].as_str()),
        (Some("phone"), Some("high"))
    );
    assert_eq!(seen["requester_id"], amy_id.as_str());
    assert!(seen["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["kind"] == "opened_for_customer" && e["actor_id"] == ann_id.as_str()));
    // Amy sees it as hers.
    let hers = json_of(app.get_auth("/api/v1/tickets", &amy).await, StatusCode::OK).await;
    assert_eq!(hers["items"][0]["id"], id);
    let (status, _, problem) = code(app.post_json("/api/v1/tickets", json!({"subject": "s", "body": "b", "category": "other", "requester_email": "nobody@example.com"}), Some(&ann)).await).await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("requester_email"))
    );
});
