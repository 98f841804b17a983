//! The help desk's pages over real HTTP, on both databases: a customer opens a ticket from
//! "get help with this", follows it, adds a file, rates and complains; the one-click rating
//! link; the suggestions box; the agent console's guard, queues, customer context, macros,
//! notes that never reach the customer, the warning when another agent answered meanwhile,
//! bulk changes, presence and the collision ping.

use serde_json::{json, Value};
use testkit::both_backends;

use crate::accounts::STRONG;
use crate::help_pages::staff;
use crate::pages::Browser;
use crate::tickets::json_of;
use crate::App;

/// A signed-in customer in a browser, with an API token too.
async fn customer(app: &App, email: &str) -> (String, String, Browser) {
    let (id, token) = app.customer(email).await;
    let mut browser = Browser::new(app);
    let page = browser.log_in(email, STRONG).await;
    assert_eq!(page.status, 303, "{}", page.body);
    (id, token, browser)
}

fn id_from_location(location: &str) -> String {
    location
        .trim_start_matches("/support/tickets/")
        .split('?')
        .next()
        .unwrap()
        .to_owned()
}

both_backends!(
    a_customer_opens_follows_rates_and_complains_from_the_pages,
    |backend| async move {
        let app = App::spawn(backend).await;
        let (amy_id, amy_token, mut amy) = customer(&app, "amy@example.com").await;
        app.give(&amy_id, "USDT", "10").await;
        app.customer("bob@example.com").await;
        let sent = json_of(
            app.post_json(
                "/api/v1/transfers",
                json!({"to": "bob@example.com", "asset": "USDT", "amount": "2"}),
                Some(&amy_token),
            )
            .await,
            axum::http::StatusCode::CREATED,
        )
        .await;
        let entry = sent["id"].as_str().unwrap().to_owned();

        // "Get help with this" leads to a ticket form about the entry, its category guessed.
        let help = amy.get(&format!("/activity/{entry}/help")).await;
        assert!(
            help.body.contains(&format!("/support?reference={entry}")),
            "{}",
            help.body
        );
        let form = amy.get(&format!("/support?reference={entry}")).await;
        assert_eq!(form.status, 200);
        assert!(form
            .body
            .contains(&format!("name=\"reference\" value=\"{entry}\"")));
        assert!(
            form.body.contains("value=\"cannot_trade\" selected"),
            "a transfer is about trading"
        );
        let opened = amy
            .submit(
                &format!("/support?reference={entry}"),
                "/support/tickets",
                &[
                    ("category", "cannot_trade"),
                    ("subject", "Bob says he got nothing"),
                    ("body", "I sent 2 USDT to Bob."),
                    ("reference", &entry),
                ],
            )
            .await;
        assert_eq!(opened.status, 303, "{}", opened.body);
        let location = opened.location.clone().unwrap();
        let id = id_from_location(&location);
        let page = amy.get(&location).await;
        assert!(page.body.contains("Bob says he got nothing") && page.body.contains(&entry));
        assert!(page.body.contains("I sent 2 USDT to Bob."));
        // An empty reply is refused with the reason and the form.
        let refused = amy
            .submit(
                &location,
                &format!("/support/tickets/{id}/reply"),
                &[("body", "   ")],
            )
            .await;
        assert_eq!(refused.status, 422, "{}", refused.body);

        // A screenshot, through a multipart form with the page's CSRF token.
        let csrf = amy.get(&location).await.csrf();
        let png = crate::helpdesk::PNG.to_vec();
        let upload = |csrf: String| {
            let form = reqwest::multipart::Form::new().text("csrf", csrf).part(
                "file",
                reqwest::multipart::Part::bytes(png.clone())
                    .file_name("screen.png")
                    .mime_str("image/png")
                    .unwrap(),
            );
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap()
                .post(app.url(&format!("/support/tickets/{id}/files")))
                .header("cookie", amy.cookie_header())
                .multipart(form)
                .send()
        };
        let r = upload(csrf).await.unwrap();
        assert_eq!(r.status(), 303);
        let r = upload("forged".into()).await.unwrap();
        assert_eq!(r.status(), 403, "no file without the form's token");
        let page = amy.get(&location).await;
        assert!(page.body.contains("screen.png"));
        let file_href = format!("/support/tickets/{id}/files/");
        assert!(page.body.contains(&file_href));

        // Bob cannot open Amy's ticket page.
        let mut bob = Browser::new(&app);
        bob.log_in("bob@example.com", STRONG).await;
        assert_eq!(bob.get(&location).await.status, 404);

        // An agent solves it with a note the customer never sees; the solve mail's rating link
        // works without signing in.
        let (_, agent) =
            crate::tickets::staff(&app, "ann@example.com", identity::Role::Agent).await;
        json_of(
            app.post_json(
                &format!("/api/v1/tickets/{id}/messages"),
                json!({"body": "NOTE: ledger shows it credited", "internal": true}),
                Some(&agent),
            )
            .await,
            axum::http::StatusCode::CREATED,
        )
        .await;
        json_of(
            app.post_json(
                &format!("/api/v1/tickets/{id}/messages"),
                json!({"body": "It reached Bob at 10:02.", "status": "solved"}),
                Some(&agent),
            )
            .await,
            axum::http::StatusCode::CREATED,
        )
        .await;
        let page = amy.get(&location).await;
        assert!(
            page.body.contains("It reached Bob at 10:02.") && !page.body.contains("NOTE: ledger"),
            "{}",
            page.body
        );
        assert!(
            page.body.contains("action=\"/support/tickets/") && page.body.contains("/rate\""),
            "a rating form once solved"
        );
        let rated = amy
            .submit(
                &location,
                &format!("/support/tickets/{id}/rate"),
                &[("score", "4"), ("comment", "quick")],
            )
            .await;
        assert_eq!(rated.status, 303);
        assert!(amy.get(&location).await.body.contains("data-rating=\"4\""));

        let mail = app
            .state
            .db
            .recent_mail(Some("amy@example.com"), 20)
            .await
            .unwrap();
        let solved = mail.iter().find(|m| m.kind == "ticket_solved").unwrap();
        let start = solved.body_text.find("/support/rate/").unwrap();
        let link: String = solved.body_text[start..]
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned();
        let mut stranger = Browser::new(&app);
        let rate_page = stranger.get(&link).await;
        assert_eq!(rate_page.status, 200, "{}", rate_page.body);
        let sig = link.split("sig=").nth(1).unwrap().to_owned();
        let done = stranger
            .submit(
                &link,
                &format!("/support/rate/{id}"),
                &[("sig", &sig), ("score", "5")],
            )
            .await;
        assert_eq!(done.status, 303, "{}", done.body);
        assert_eq!(app.state.db.rating(&id).await.unwrap().unwrap().score, 5);
        assert_eq!(
            stranger
                .get(&format!("/support/rate/{id}?sig=nope"))
                .await
                .status,
            404
        );

        // A complaint from the page reaches the supervisors' queue.
        let complained = amy
            .submit(
                &location,
                &format!("/support/tickets/{id}/complaint"),
                &[("reason", "The first answer took a day.")],
            )
            .await;
        assert_eq!(complained.status, 303);
        let page = amy.get(&location).await;
        assert!(
            page.body.contains("data-complaint=\"open\""),
            "{}",
            page.body
        );
        assert_eq!(app.state.db.count_open_complaints().await.unwrap(), 1);

        // The suggestions box.
        let thanks = amy
            .submit(
                "/support/suggestions",
                "/support/suggestions",
                &[
                    ("topic", "support"),
                    ("body", "Weekend hotline hours, please."),
                ],
            )
            .await;
        assert_eq!(thanks.status, 303);
        assert_eq!(
            app.state.db.suggestions(None, 10).await.unwrap()[0].body,
            "Weekend hotline hours, please."
        );

        // Forms without their token change nothing.
        let forged = amy
            .post(
                &format!("/support/tickets/{id}/reply"),
                &[("body", "x"), ("csrf", "nope")],
            )
            .await;
        assert_eq!(forged.status, 403);
        // Signed out, the pages ask to sign in.
        let mut nobody = Browser::new(&app);
        let p = nobody.get("/support").await;
        assert_eq!(
            (p.status, p.location.as_deref()),
            (303, Some("/login?next=/support"))
        );
    }
);

/// The queue's line of a ticket, or the empty string.
fn row<'a>(body: &'a str, id: &str) -> &'a str {
    match body.find(&format!("data-ticket=\"{id}\"")) {
        Some(start) => &body[start..start + body[start..].find("</tr>").unwrap_or(0)],
        None => "",
    }
}

both_backends!(
    agents_work_tickets_in_the_console_with_context_macros_and_collision_warnings,
    |backend| async move {
        let app = App::spawn(backend).await;
        let (_, admin) =
            crate::tickets::staff(&app, "admin@example.com", identity::Role::Admin).await;
        app.desk_group(&admin, "general").await;
        let mut ann = staff(&app, "ann@example.com", identity::Role::Agent).await;
        let (ben_id, ben_token) =
            crate::tickets::staff(&app, "ben@example.com", identity::Role::Agent).await;
        let ann_id = app
            .state
            .db
            .user_by_email(&identity::Email::parse("ann@example.com").unwrap())
            .await
            .unwrap()
            .unwrap()
            .id;
        json_of(
            app.put_json(
                &format!("/api/v1/admin/agents/{ann_id}"),
                json!({"display_name": "Ann", "group_id": "general", "capacity": 10, "languages": ["en", "zh-CN"]}),
                &admin,
            )
            .await,
            axum::http::StatusCode::OK,
        )
        .await;
        let online = ann
            .submit("/agent", "/agent/presence", &[("presence", "online")])
            .await;
        assert_eq!(online.status, 303, "{}", online.body);
        app.desk_agent(&admin, &ben_id, &ben_token, "general", 10, "offline")
            .await;
        json_of(app.put_json("/api/v1/macros/ask-hash", json!({"name": "Ask for the hash", "body_zh": "请提供交易哈希（工单 {{ticket.number}}）。", "body_en": "Please send the transaction hash (ticket {{ticket.number}}).", "actions": "status: pending"}), &admin).await, axum::http::StatusCode::OK).await;
        let (amy_id, amy_token) = app.customer("amy.long@example.com").await;
        let id = app.open_ticket(&amy_token, "Deposit missing").await;

        // Staff without two-step verification and customers are turned away.
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
        let mut plain = Browser::new(&app);
        plain.log_in("plain@example.com", STRONG).await;
        assert_eq!(plain.get("/agent").await.status, 403);
        let mut amy = Browser::new(&app);
        amy.log_in("amy.long@example.com", STRONG).await;
        assert_eq!(amy.get("/agent").await.status, 403);
        assert_eq!(amy.get(&format!("/agent/tickets/{id}")).await.status, 403);

        // The queue: the ticket was routed to Ann.
        let console = ann.get("/agent").await;
        assert_eq!(console.status, 200, "{}", console.body);
        assert!(
            row(&console.body, &id).contains("Deposit missing"),
            "{}",
            console.body
        );
        assert!(row(&console.body, &id).contains("am***g@example.com"));

        // The ticket with the customer beside it, masked; the view is audited.
        let path = format!("/agent/tickets/{id}");
        let page = ann.get(&path).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("am***g@example.com") && !page.body.contains("amy.long@"));
        let audit = app
            .state
            .db
            .audit_events_for(&format!("user:{amy_id}"))
            .await
            .unwrap();
        assert!(audit.iter().any(|e| e.action == "customer.viewed"));
        assert!(audit.iter().any(|e| e.action == "ticket.viewed"));

        // A macro fills the reply; sending applies its action.
        let with_macro = ann.get(&format!("{path}?macro=ask-hash")).await;
        let number = app.state.db.ticket(&id).await.unwrap().unwrap().number;
        assert!(
            with_macro.body.contains(&format!(
                "Please send the transaction hash (ticket {number})"
            )),
            "{}",
            with_macro.body
        );
        let seen = app
            .state
            .db
            .ticket(&id)
            .await
            .unwrap()
            .unwrap()
            .updated_at_ms
            .to_string();
        let sent = ann
            .submit(
                &path,
                &format!("{path}/reply"),
                &[
                    (
                        "body",
                        &format!("Please send the transaction hash (ticket {number})."),
                    ),
                    ("status", ""),
                    ("macro_id", "ask-hash"),
                    ("seen", &seen),
                ],
            )
            .await;
        assert_eq!(sent.status, 303, "{}", sent.body);
        assert_eq!(
            app.state.db.ticket(&id).await.unwrap().unwrap().status,
            "pending"
        );

        // A note stays inside.
        let seen = app
            .state
            .db
            .ticket(&id)
            .await
            .unwrap()
            .unwrap()
            .updated_at_ms
            .to_string();
        let noted = ann
            .submit(
                &path,
                &format!("{path}/reply"),
                &[
                    ("body", "NOTE: checked node logs"),
                    ("internal", "1"),
                    ("seen", &seen),
                ],
            )
            .await;
        assert_eq!(noted.status, 303, "{}", noted.body);
        assert!(ann
            .get(&path)
            .await
            .body
            .contains("NOTE: checked node logs"));
        let hers = json_of(
            app.get_auth(&format!("/api/v1/tickets/{id}"), &amy_token)
                .await,
            axum::http::StatusCode::OK,
        )
        .await;
        assert!(!hers.to_string().contains("NOTE: checked"));

        // Ben answers meanwhile: Ann's reply from the older page waits for a second look, with
        // her draft kept; then it goes.
        let stale_seen = app
            .state
            .db
            .ticket(&id)
            .await
            .unwrap()
            .unwrap()
            .updated_at_ms
            .to_string();
        json_of(
            app.post_json(
                &format!("/api/v1/tickets/{id}/messages"),
                json!({"body": "Ben here: found it."}),
                Some(&ben_token),
            )
            .await,
            axum::http::StatusCode::CREATED,
        )
        .await;
        let stale = ann
            .submit(
                &path,
                &format!("{path}/reply"),
                &[("body", "Ann's draft answer"), ("seen", &stale_seen)],
            )
            .await;
        assert_eq!(stale.status, 409, "{}", stale.body);
        assert!(
            stale.body.contains("Ann&#39;s draft answer"),
            "{}",
            stale.body
        );
        assert!(stale.body.contains("send_anyway"));
        let went = ann
            .submit(
                &path,
                &format!("{path}/reply"),
                &[
                    ("body", "Ann's draft answer"),
                    ("seen", &stale_seen),
                    ("send_anyway", "1"),
                ],
            )
            .await;
        assert_eq!(went.status, 303, "{}", went.body);

        // Two agents on one ticket see each other.
        json_of(
            app.post_json(
                &format!("/api/v1/tickets/{id}/viewers"),
                json!({"composing": true}),
                Some(&ben_token),
            )
            .await,
            axum::http::StatusCode::OK,
        )
        .await;
        let ping = ann
            .submit(&path, &format!("{path}/viewing"), &[("composing", "0")])
            .await;
        assert_eq!(ping.status, 200, "{}", ping.body);
        let answer: Value = serde_json::from_str(&ping.body).unwrap();
        assert_eq!(answer["others"][0]["composing"], true);

        // Fields and bulk changes.
        let fields = ann
            .submit(
                &path,
                &format!("{path}/fields"),
                &[("priority", "urgent"), ("add_tags", "vip, deposit")],
            )
            .await;
        assert_eq!(fields.status, 303, "{}", fields.body);
        let t = app.state.db.ticket(&id).await.unwrap().unwrap();
        assert_eq!(
            (t.priority.as_str(), t.tags.as_str()),
            ("urgent", "deposit,vip")
        );
        let other = app.open_ticket(&amy_token, "Second question").await;
        let bulk = ann
            .submit(
                "/agent?queue=all",
                "/agent/bulk",
                &[
                    ("queue", "all"),
                    ("id", &id),
                    ("id", &other),
                    ("priority", "low"),
                ],
            )
            .await;
        assert_eq!(bulk.status, 200, "{}", bulk.body);
        assert_eq!(
            app.state.db.ticket(&other).await.unwrap().unwrap().priority,
            "low"
        );

        // Presence.
        let away = ann
            .submit("/agent", "/agent/presence", &[("presence", "away")])
            .await;
        assert_eq!(away.status, 303);
        assert_eq!(
            app.state.db.agent(&ann_id).await.unwrap().unwrap().presence,
            "away"
        );

        // The console in Chinese.
        let mut zh = staff(&app, "zhou@example.com", identity::Role::Supervisor).await;
        let _ = &mut zh;
        let page = zh.get("/lang?to=zh-CN&back=/agent").await;
        assert_eq!(page.status, 303);
        let page = zh.get("/agent").await;
        assert!(page.body.contains("客服工作台"), "{}", page.body);
    }
);
