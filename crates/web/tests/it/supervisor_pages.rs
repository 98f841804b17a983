//! The supervisors' console and the help desk's set-up as pages, on both databases: who may
//! open them, the figures with their charts and CSV, deciding a complaint through the form
//! (and the customer reading the decision), the macro editor, and setting up groups, agents
//! and SLA targets — with refusals shown on the page and forms without their token refused.

use axum::http::StatusCode;
use serde_json::{json, Value};
use testkit::both_backends;

use crate::accounts::STRONG;
use crate::pages::{Browser, Page};
use crate::tickets::{json_of, staff};
use crate::App;

fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A staff member of `role` signed in to the pages with two-step verification on, as the
/// consoles need: the browser, the user id, and an API token taken before the second factor.
async fn staff_browser(app: &App, email: &str, role: identity::Role) -> (Browser, String, String) {
    let user = app
        .state
        .db
        .create_user(
            &identity::Email::parse(email).unwrap(),
            &identity::hash_password(STRONG).unwrap(),
            role,
            "en",
        )
        .await
        .unwrap();
    let token = app.token(email).await;
    let mut browser = Browser::new(app);
    browser.log_in(email, STRONG).await;
    browser
        .submit("/security", "/security/totp/start", &[])
        .await;
    let factor = app.state.db.totp_factor(&user.id).await.unwrap().unwrap();
    let secret = app
        .state
        .settings
        .totp_secret(&user.id, &factor.secret_base32)
        .unwrap();
    let code = secret.code_at(now_s());
    let page = browser
        .submit(
            "/security/totp",
            "/security/totp/confirm",
            &[("otp", &code)],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    (browser, user.id, token)
}

fn ok(page: &Page, needles: &[&str]) {
    assert_eq!(page.status, 200, "{}", page.body);
    for needle in needles {
        assert!(
            page.body.contains(needle),
            "the page lacks {needle:?}:\n{}",
            page.body
        );
    }
}

/// A refused form's page: what it must show again.
fn shows(page: &Page, needles: &[&str]) {
    for needle in needles {
        assert!(
            page.body.contains(needle),
            "the page lacks {needle:?}:\n{}",
            page.body
        );
    }
}

/// The value a KPI card shows.
fn kpi<'a>(body: &'a str, key: &str) -> &'a str {
    let card = body
        .split(&format!("data-kpi=\"{key}\""))
        .nth(1)
        .unwrap_or_else(|| panic!("no KPI {key}:\n{body}"));
    let value = card.split("<dd class=\"num\"><strong>").nth(1).unwrap();
    value.split("</strong>").next().unwrap()
}

/// A group open around the clock, an online agent, and a customer with a ticket: (admin
/// token, agent id, agent token, customer id, customer token, ticket id).
async fn desk_with_a_ticket(app: &App) -> (String, String, String, String, String, String) {
    let (_, admin) = staff(app, "admin@example.com", identity::Role::Admin).await;
    app.desk_group(&admin, "general").await;
    let (ann_id, ann) = staff(app, "ann@example.com", identity::Role::Agent).await;
    app.desk_agent(&admin, &ann_id, &ann, "general", 50, "online")
        .await;
    let (amy_id, amy) = app.customer("amy@example.com").await;
    let ticket = app.open_ticket(&amy, "Deposit not arrived").await;
    (admin, ann_id, ann, amy_id, amy, ticket)
}

both_backends!(
    supervisors_see_the_figures_and_download_them,
    |backend| async move {
        let app = App::spawn(backend).await;
        let (_, ann_id, ann, _, _, ticket) = desk_with_a_ticket(&app).await;
        json_of(
            app.post_json(
                &format!("/api/v1/tickets/{ticket}/messages"),
                json!({"body": "It arrived: see your history.", "status": "solved"}),
                Some(&ann),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;

        // Not for customers, nor for agents.
        let mut amy = Browser::new(&app);
        amy.log_in("amy@example.com", STRONG).await;
        let page = amy.get("/supervisor").await;
        assert_eq!(page.status, 403, "{}", page.body);
        let (mut agent, _, _) =
            staff_browser(&app, "andy@example.com", identity::Role::Agent).await;
        for path in ["/supervisor", "/supervisor/stats.csv", "/supervisor/audit"] {
            let page = agent.get(path).await;
            assert_eq!(page.status, 403, "{path}");
            assert!(page.body.contains("Not available to you"), "{path}");
        }
        assert!(!agent.get("/").await.body.contains("href=\"/supervisor\""));

        let (mut sue, _, _) =
            staff_browser(&app, "sue@example.com", identity::Role::Supervisor).await;
        let page = sue.get("/supervisor?tz=UTC").await;
        ok(
            &page,
            &[
                "<svg",
                "Tickets by problem",
                "Funds arriving late",
                "Backlog day by day",
                "href=\"/supervisor/stats.csv?from=",
                "href=\"/supervisor/audit\"",
                "href=\"/supervisor/macros\"",
                &format!("data-agent=\"{ann_id}\""),
                "0 / 50",
            ],
        );
        assert!(
            page.body.contains("href=\"/supervisor\""),
            "the nav links the console"
        );
        assert_eq!(kpi(&page.body, "created"), "1");
        assert_eq!(kpi(&page.body, "reopened"), "0");
        assert_eq!(kpi(&page.body, "complaints_open"), "0");
        let first_response = kpi(&page.body, "first_response");
        assert!(first_response.ends_with(" s"), "{first_response}");
        assert_ne!(kpi(&page.body, "resolution"), "—");
        assert!(
            page.body.contains(
                "<td class=\"num\">1</td><td class=\"num\">1</td><td class=\"num\">0</td>"
            ),
            "today: one created, one solved, none open:\n{}",
            page.body
        );

        // The same figures as CSV, with the web session.
        let csv = sue.get("/supervisor/stats.csv?tz=UTC").await;
        assert_eq!(csv.status, 200, "{}", csv.body);
        assert!(csv.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv"));
        assert!(csv.headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains(".csv"));
        assert!(
            csv.body.starts_with('\u{feff}') && csv.body.lines().count() > 14,
            "{}",
            csv.body
        );

        // A range the API refuses is shown above the form, not as an error page.
        for bad in [
            "from=2026-02-02&to=2026-02-01",
            "from=2026-13-01",
            "tz=Mars/Olympus",
            "from=2020-01-01&to=2026-01-01",
        ] {
            let page = sue.get(&format!("/supervisor?{bad}")).await;
            assert_eq!(page.status, 422, "{bad}");
            assert!(
                page.body.contains("id=\"range-error\""),
                "{bad}: {}",
                page.body
            );
            assert!(page
                .body
                .contains("<form method=\"get\" action=\"/supervisor\""));
            assert!(!page.body.contains("<svg"), "{bad}");
        }
        let page = sue.get("/supervisor?from=&to=&tz=").await;
        assert_eq!(page.status, 200, "empty fields are the defaults");
    }
);

both_backends!(
    a_complaint_is_decided_through_the_page_and_the_customer_reads_it,
    |backend| async move {
        let app = App::spawn(backend).await;
        let (_, _, ann, amy_id, amy, ticket) = desk_with_a_ticket(&app).await;
        json_of(
            app.post_json(
                &format!("/api/v1/tickets/{ticket}/messages"),
                json!({"body": "SECRET-NOTE checked the chain", "internal": true}),
                Some(&ann),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        let raised = json_of(
            app.post_json(
                &format!("/api/v1/tickets/{ticket}/escalations"),
                json!({"reason": "Nobody explains why my deposit is late."}),
                Some(&amy),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        let complaint = raised["complaint"]["id"].as_str().unwrap().to_owned();
        let path = format!("/supervisor/complaints/{complaint}");

        let (mut sue, sue_id, _) =
            staff_browser(&app, "sue@example.com", identity::Role::Supervisor).await;
        let page = sue.get("/supervisor").await;
        ok(
            &page,
            &[
                &format!("href=\"{path}\""),
                "Nobody explains why my deposit is late.",
                &format!("data-complaint=\"{complaint}\""),
            ],
        );
        assert_eq!(kpi(&page.body, "complaints_open"), "1");

        let page = sue.get(&path).await;
        ok(
            &page,
            &[
                "Nobody explains why my deposit is late.",
                "Deposit not arrived",
                &format!("href=\"/agent/tickets/{ticket}\""),
                "SECRET-NOTE checked the chain",
                "data-internal",
                "data-complaint=\"open\"",
                "name=\"outcome\"",
            ],
        );
        let audit = app
            .state
            .db
            .audit_events_for(&format!("user:{amy_id}"))
            .await
            .unwrap();
        assert!(
            audit
                .iter()
                .any(|e| e.action == "complaint.viewed" && e.actor == format!("user:{sue_id}")),
            "opening a complaint is a view of the customer's data"
        );

        // No token, no change; an agent may not decide.
        let page = sue.post(&path, &[("outcome", "forged")]).await;
        assert_eq!(page.status, 403);
        let (mut andy, _, _) = staff_browser(&app, "andy@example.com", identity::Role::Agent).await;
        let csrf = andy.get("/").await.csrf();
        let page = andy
            .post(&path, &[("csrf", &csrf), ("outcome", "agents cannot")])
            .await;
        assert_eq!(page.status, 403);
        let stored = app.state.db.complaint(&complaint).await.unwrap().unwrap();
        assert_eq!(stored.status, "open");

        // An empty decision is refused on the page.
        let page = sue.submit(&path, &path, &[("outcome", "  ")]).await;
        assert_eq!(page.status, 422, "{}", page.body);
        assert!(page.body.contains("id=\"refused\"") && page.body.contains("outcome"));

        let outcome = "You are right: the deposit waited for confirmations. We now show them.";
        let page = sue.submit(&path, &path, &[("outcome", outcome)]).await;
        assert_eq!(page.status, 303, "{}", page.body);
        assert_eq!(
            page.location.as_deref(),
            Some(&*format!("{path}?resolved=1"))
        );
        let page = sue.get(&format!("{path}?resolved=1")).await;
        ok(
            &page,
            &[
                "The decision was sent to the customer.",
                "data-complaint=\"resolved\"",
                "We now show them.",
            ],
        );
        assert!(
            !page.body.contains("name=\"outcome\""),
            "no second decision"
        );
        let hers: Value = json_of(
            app.get_auth(&format!("/api/v1/tickets/{ticket}"), &amy)
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(hers["complaint"]["status"], "resolved");
        assert_eq!(hers["complaint"]["outcome"], outcome);
        assert!(!hers.to_string().contains("SECRET-NOTE"));

        // Deciding twice is refused with the API's reason.
        let csrf = sue.get("/supervisor").await.csrf();
        let page = sue
            .post(&path, &[("csrf", &csrf), ("outcome", "again")])
            .await;
        assert_eq!(page.status, 409, "{}", page.body);
        assert!(page.body.contains("id=\"refused\""), "{}", page.body);
        let page = sue.get("/supervisor").await;
        assert_eq!(kpi(&page.body, "complaints_open"), "0");
    }
);

both_backends!(
    macros_are_edited_with_their_placeholders_checked,
    |backend| async move {
        let app = App::spawn(backend).await;
        let (mut sue, sue_id, _) =
            staff_browser(&app, "sue@example.com", identity::Role::Supervisor).await;
        let page = sue.get("/supervisor/macros/new").await;
        ok(
            &page,
            &[
                "{{ticket.number}}",
                "{{requester.name}}",
                "assign: me",
                "status: pending",
            ],
        );

        let fields = [
            ("id", "deposit-late"),
            ("name", "Deposit is confirming"),
            (
                "body_zh",
                "您好，工单 {{ticket.number}} 已收到，充值正在确认中。",
            ),
            (
                "body_en",
                "Hello, ticket {{ticket.number}}: your deposit is confirming.",
            ),
            ("actions", "status: pending\nadd_tag: deposit"),
        ];
        let page = sue
            .submit("/supervisor/macros/new", "/supervisor/macros", &fields)
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        assert_eq!(
            page.location.as_deref(),
            Some("/supervisor/macros?saved=deposit-late")
        );
        let stored = app
            .state
            .db
            .macro_by_id("deposit-late")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.actions, "status: pending\nadd_tag: deposit");
        ok(
            &sue.get("/supervisor/macros?saved=deposit-late").await,
            &[
                "Deposit is confirming",
                "href=\"/supervisor/macros/deposit-late\"",
                "add_tag: deposit",
            ],
        );

        // The same id again from the blank editor does not replace it.
        let page = sue
            .submit("/supervisor/macros/new", "/supervisor/macros", &fields)
            .await;
        assert_eq!(page.status, 422);
        assert!(page.body.contains("id=\"id-error\""), "{}", page.body);

        // An unknown placeholder is named next to its field, with the text kept.
        let page = sue
            .submit(
                "/supervisor/macros/deposit-late",
                "/supervisor/macros/deposit-late",
                &[
                    ("name", "Deposit is confirming"),
                    ("body_zh", "您好"),
                    ("body_en", "Hi {{customer.nickname}}"),
                    ("actions", ""),
                ],
            )
            .await;
        assert_eq!(page.status, 422, "{}", page.body);
        shows(
            &page,
            &[
                "id=\"body_en-error\"",
                "customer.nickname",
                "Hi {{customer.nickname}}",
                "readonly",
            ],
        );
        let page = sue
            .submit(
                "/supervisor/macros/deposit-late",
                "/supervisor/macros/deposit-late",
                &[
                    ("name", "Deposit is confirming"),
                    ("body_zh", "您好"),
                    ("body_en", "Hi"),
                    ("actions", "status: closed"),
                ],
            )
            .await;
        assert_eq!(page.status, 422);
        assert!(page.body.contains("id=\"actions-error\""), "{}", page.body);

        let page = sue
            .submit(
                "/supervisor/macros/deposit-late",
                "/supervisor/macros/deposit-late/delete",
                &[],
            )
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        assert!(app
            .state
            .db
            .macro_by_id("deposit-late")
            .await
            .unwrap()
            .is_none());
        let trail = sue
            .get(&format!("/supervisor/audit?actor=user:{sue_id}"))
            .await;
        ok(
            &trail,
            &["macro.deleted", "macro.saved", "macro:deposit-late"],
        );
        let page = sue.get("/supervisor/audit?cursor=nonsense").await;
        assert_eq!(page.status, 422);
        ok(
            &sue.get("/supervisor/suggestions").await,
            &["Suggestions box"],
        );
    }
);

both_backends!(
    the_help_desk_is_set_up_through_the_admin_page,
    |backend| async move {
        let app = App::spawn(backend).await;
        let (mut sue, sue_id, _) =
            staff_browser(&app, "sue@example.com", identity::Role::Supervisor).await;
        let page = sue.get("/admin/helpdesk").await;
        assert_eq!(page.status, 403, "supervisors do not set the desk up");
        let csrf = sue.get("/supervisor").await.csrf();
        let page = sue
            .post(
                "/admin/helpdesk/sla",
                &[("csrf", &csrf), ("priority_0", "low"), ("first_0", "1")],
            )
            .await;
        assert_eq!(page.status, 403);

        let (mut root, _, _) = staff_browser(&app, "root@example.com", identity::Role::Admin).await;
        let page = root.get("/admin/helpdesk").await;
        ok(
            &page,
            &["sue@example.com", "New support group", "SLA targets"],
        );
        assert!(root
            .get("/admin")
            .await
            .body
            .contains("href=\"/admin/helpdesk\""));

        // A group.
        let group = [
            ("id", "general"),
            ("name_zh", "综合"),
            ("name_en", "General"),
            ("time_zone", "Asia/Shanghai"),
            ("hours", "mon-fri 09:00-18:00"),
            ("holidays", ""),
            ("languages", "zh-CN"),
            ("languages", "en"),
            ("categories", "funds_delayed"),
            ("categories", "login_failed"),
            ("position", "1"),
        ];
        let page = root
            .submit("/admin/helpdesk", "/admin/helpdesk/groups", &group)
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        let stored = app
            .state
            .db
            .support_group("general")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.languages, "zh-CN,en");
        assert_eq!(
            stored.categories, "login_failed,funds_delayed",
            "in the usual order"
        );
        let page = root.get("/admin/helpdesk?saved=group").await;
        ok(
            &page,
            &[
                "The support group was saved.",
                "action=\"/admin/helpdesk/groups/general\"",
                "Asia/Shanghai",
            ],
        );
        let page = root
            .submit(
                "/admin/helpdesk",
                "/admin/helpdesk/groups/general",
                &[
                    ("name_zh", "综合"),
                    ("name_en", "General"),
                    ("time_zone", "Asia/Shanghai"),
                    ("hours", "someday 9-5"),
                    ("languages", "en"),
                ],
            )
            .await;
        assert_eq!(page.status, 422, "{}", page.body);
        shows(&page, &["The hours could not be read", "someday 9-5"]);
        let page = root
            .submit("/admin/helpdesk", "/admin/helpdesk/groups", &group)
            .await;
        assert_eq!(page.status, 422, "a new group does not replace another");

        // An agent.
        let page = root
            .submit(
                "/admin/helpdesk",
                &format!("/admin/helpdesk/agents/{sue_id}"),
                &[
                    ("display_name", "Sue"),
                    ("group_id", "general"),
                    ("capacity", "lots"),
                    ("languages", "zh-CN"),
                ],
            )
            .await;
        assert_eq!(page.status, 422);
        shows(&page, &["Not a whole number: lots", "value=\"lots\""]);
        let page = root
            .submit(
                "/admin/helpdesk",
                &format!("/admin/helpdesk/agents/{sue_id}"),
                &[
                    ("display_name", "Sue"),
                    ("group_id", "general"),
                    ("capacity", "5"),
                    ("languages", "zh-CN"),
                    ("categories", "funds_delayed"),
                ],
            )
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        let agent = app.state.db.agent(&sue_id).await.unwrap().unwrap();
        assert_eq!((agent.capacity, agent.languages.as_str()), (5, "zh-CN"));
        assert_eq!(agent.group_id, "general");
        ok(
            &root.get("/admin/helpdesk").await,
            &[&format!("data-agent=\"{sue_id}\""), "0 / 5"],
        );

        // SLA targets, in hours.
        let sla = [
            ("fixed_0", "1"),
            ("priority_0", "low"),
            ("category_0", ""),
            ("first_0", ""),
            ("resolution_0", ""),
            ("fixed_1", "1"),
            ("priority_1", "normal"),
            ("category_1", ""),
            ("first_1", "1.5"),
            ("resolution_1", "24"),
            ("fixed_2", "1"),
            ("priority_2", "high"),
            ("category_2", ""),
            ("first_2", ""),
            ("resolution_2", ""),
            ("fixed_3", "1"),
            ("priority_3", "urgent"),
            ("category_3", ""),
            ("first_3", "0,25"),
            ("resolution_3", "4"),
            ("priority_4", "high"),
            ("category_4", "account_security"),
            ("first_4", "0.5"),
            ("resolution_4", ""),
            ("priority_5", "normal"),
            ("category_5", ""),
            ("first_5", ""),
            ("resolution_5", ""),
        ];
        let page = root
            .submit("/admin/helpdesk", "/admin/helpdesk/sla", &sla)
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        let mut targets: Vec<(String, String, Option<i64>, Option<i64>)> = app
            .state
            .db
            .sla_targets()
            .await
            .unwrap()
            .into_iter()
            .map(|t| (t.priority, t.category, t.first_response_s, t.resolution_s))
            .collect();
        targets.sort();
        assert_eq!(
            targets,
            vec![
                ("high".into(), "account_security".into(), Some(1800), None),
                ("normal".into(), String::new(), Some(5400), Some(86_400)),
                ("urgent".into(), String::new(), Some(900), Some(14_400)),
            ]
        );
        let page = root.get("/admin/helpdesk?saved=sla").await;
        ok(
            &page,
            &[
                "The SLA targets were saved.",
                "name=\"first_1\" value=\"1.5\"",
                "name=\"first_3\" value=\"0.25\"",
            ],
        );
        let mut bad = sla.to_vec();
        bad[8] = ("first_1", "abc");
        let page = root
            .submit("/admin/helpdesk", "/admin/helpdesk/sla", &bad)
            .await;
        assert_eq!(page.status, 422);
        shows(
            &page,
            &[
                "id=\"sla-error\"",
                "Not a number of hours: abc",
                "value=\"abc\"",
            ],
        );
        bad[8] = ("first_1", "0");
        let page = root
            .submit("/admin/helpdesk", "/admin/helpdesk/sla", &bad)
            .await;
        assert_eq!(page.status, 422, "the API's own limits: {}", page.body);
        assert!(page.body.contains("id=\"sla-error\""));
        assert_eq!(
            app.state.db.sla_targets().await.unwrap().len(),
            3,
            "nothing changed"
        );

        // No token, no change.
        let page = root
            .post(
                "/admin/helpdesk/sla",
                &[("priority_0", "low"), ("first_0", "1")],
            )
            .await;
        assert_eq!(page.status, 403);
        assert_eq!(app.state.db.sla_targets().await.unwrap().len(), 3);
    }
);
