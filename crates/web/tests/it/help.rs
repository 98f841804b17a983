//! The help center through the API, on both databases: the contact directory under a fixed
//! clock (open, closed, holidays, the viewer's zone, the best channel), editing it, the
//! official check with look-alikes and reports, announcements through their states, and the
//! knowledge base (search, articles, feedback, misses, editing, a second node's index).

use axum::http::StatusCode;
use serde_json::{json, Value};
use testkit::both_backends;

use crate::accounts::{code, STRONG};
use crate::App;

impl App {
    /// A staff member with `role`, logged in: (id, token).
    async fn staff(&self, email: &str, role: identity::Role) -> (String, String) {
        let hash = identity::hash_password(STRONG).unwrap();
        let user = self
            .state
            .db
            .create_user(&identity::Email::parse(email).unwrap(), &hash, role, "en")
            .await
            .unwrap();
        (user.id, self.token(email).await)
    }

    async fn get_json(&self, path: &str, lang: &str) -> Value {
        let r = self.get_in(path, lang).await;
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        r.json().await.unwrap()
    }
}

fn channel(kind: &str, value: &str, schedule: Value, cost: &str) -> Value {
    json!({
        "kind": kind, "name_zh": format!("{kind} 渠道"), "name_en": format!("{kind} channel"),
        "value": value, "schedule": schedule, "cost": cost,
    })
}

fn find<'a>(directory: &'a Value, id: &str) -> &'a Value {
    directory["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("channel {id} in {directory}"))
}

/// Mainland hotline Mon–Fri 09–18 Shanghai with New Year's Day off; a night desk 22–06
/// Shanghai; London Mon–Fri 09:00–17:30 at international rates; tickets always.
async fn directory_fixture(app: &App, admin: &str) {
    let put = |id: &'static str, body: Value| async move {
        let r = app
            .put_json(&format!("/api/v1/admin/contact-channels/{id}"), body, admin)
            .await;
        assert_eq!(
            r.status(),
            StatusCode::OK,
            "{id}: {}",
            r.text().await.unwrap()
        );
    };
    put(
        "cn",
        channel(
            "hotline",
            "400-990-1234",
            json!({"time_zone": "Asia/Shanghai",
                "weekly": [{"days": ["mon","tue","wed","thu","fri"], "start": "09:00", "end": "18:00"}],
                "holidays": [{"date": "2027-01-01", "name_zh": "元旦", "name_en": "New Year's Day"}]}),
            "local_rate",
        ),
    )
    .await;
    put(
        "night",
        channel(
            "hotline",
            "0755 2399 0000",
            json!({"time_zone": "Asia/Shanghai",
                "weekly": [{"days": ["mon","tue","wed","thu","fri","sat","sun"], "start": "22:00", "end": "06:00"}]}),
            "local_rate",
        ),
    )
    .await;
    put(
        "london",
        channel(
            "hotline",
            "+44 20 7946 0123",
            json!({"time_zone": "Europe/London",
                "weekly": [{"days": ["mon","tue","wed","thu","fri"], "start": "09:00", "end": "17:30"}]}),
            "international",
        ),
    )
    .await;
    put(
        "ticket",
        channel(
            "ticket",
            "",
            json!({"time_zone": "UTC", "always_open": true}),
            "free",
        ),
    )
    .await;
    let mut hidden = channel(
        "live_chat",
        "",
        json!({"time_zone": "UTC", "always_open": true}),
        "free",
    );
    hidden["enabled"] = json!(false);
    put("chat-off", hidden).await;
}

both_backends!(
    the_directory_tells_open_and_closed_in_both_clocks_and_the_best_channel_now,
    |backend| async move {
        let app = App::spawn(backend).await;
        let (_, admin) = app.staff("root@example.com", identity::Role::Admin).await;
        directory_fixture(&app, &admin).await;

        // Wednesday 10:00 in Shanghai (02:00 in London): the mainland line is open until 18:00.
        let d = app
            .get_json(
                "/api/v1/contact-channels?at=2026-11-25T02:00:00Z&tz=Europe/London",
                "en",
            )
            .await;
        assert_eq!(d["viewer_time_zone"], "Europe/London");
        assert!(
            d["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["id"] != "chat-off"),
            "a disabled channel is not listed: {d}"
        );
        let cn = find(&d, "cn");
        assert_eq!(cn["open_now"], true);
        assert_eq!(cn["value"], "+864009901234", "stored as E.164");
        assert_eq!(cn["href"], "tel:+864009901234");
        assert_eq!(cn["next_change_at"], "2026-11-25T10:00:00Z");
        assert_eq!(cn["next_change_local"], "2026-11-25 18:00 CST");
        assert_eq!(cn["next_change_viewer"], "2026-11-25 10:00 GMT");
        assert_eq!(cn["cost"], "local_rate");
        assert_eq!(cn["hours"], json!(["Mon–Fri 09:00–18:00"]));
        assert!(
            cn["status_text"].as_str().unwrap().contains("10:00 GMT"),
            "{cn}"
        );
        let night = find(&d, "night");
        assert_eq!(night["open_now"], false);
        assert_eq!(night["next_change_at"], "2026-11-25T14:00:00Z");
        assert_eq!(find(&d, "london")["open_now"], false);
        assert_eq!(d["best"]["channel_id"], "cn");
        assert_eq!(d["best"]["reason_code"], "hotline_open");

        // 20:00 in Shanghai, 12:00 in London: only London answers, at international rates.
        let d = app
            .get_json("/api/v1/contact-channels?at=2026-11-25T12:00:00Z", "en")
            .await;
        assert_eq!(
            d["viewer_time_zone"], "Asia/Shanghai",
            "the operator's zone"
        );
        assert_eq!(find(&d, "cn")["open_now"], false);
        assert_eq!(find(&d, "cn")["next_change_at"], "2026-11-26T01:00:00Z");
        assert_eq!(find(&d, "london")["open_now"], true);
        assert_eq!(d["best"]["channel_id"], "london");

        // 23:00 in Shanghai: the night desk (local rate) beats London (international).
        let d = app
            .get_json("/api/v1/contact-channels?at=2026-11-25T15:00:00Z", "en")
            .await;
        let night = find(&d, "night");
        assert_eq!(night["open_now"], true);
        assert_eq!(
            night["next_change_at"], "2026-11-25T22:00:00Z",
            "06:00 next day"
        );
        assert_eq!(d["best"]["channel_id"], "night");

        // New Year's Day (a Friday), 11:00 in Shanghai: the mainland line is closed for the
        // holiday and opens on Monday; nothing live answers, so a ticket is best.
        let d = app
            .get_json("/api/v1/contact-channels?at=2027-01-01T03:00:00Z", "zh-CN")
            .await;
        let cn = find(&d, "cn");
        assert_eq!(cn["open_now"], false);
        assert_eq!(cn["holiday_today"], "元旦");
        assert_eq!(cn["next_change_at"], "2027-01-04T01:00:00Z");
        assert!(cn["status_text"].as_str().unwrap().contains("元旦"), "{cn}");
        assert_eq!(cn["holidays"][0]["date"], "2027-01-01");
        assert_eq!(d["best"]["channel_id"], "ticket");
        assert_eq!(d["best"]["reason_code"], "outside_hours");
        assert_eq!(find(&d, "ticket")["cost_label"], "免费");

        // Bad zones and times are the caller's mistake.
        for bad in ["tz=Mars/Olympus", "at=yesterday"] {
            let (status, c, body) =
                code(app.get(&format!("/api/v1/contact-channels?{bad}")).await).await;
            assert_eq!(
                (status, c.as_str()),
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"),
                "{body}"
            );
        }
    }
);

both_backends!(
    only_administrators_edit_channels_and_bad_hours_are_named,
    |backend| async move {
        let app = App::spawn(backend).await;
        let (admin_id, admin) = app.staff("root@example.com", identity::Role::Admin).await;
        let (_, supervisor) = app
            .staff("boss@example.com", identity::Role::Supervisor)
            .await;
        let (_, user) = app.customer("amy@example.com").await;
        let good = channel(
            "hotline",
            "400-990-1234",
            json!({"time_zone": "Asia/Shanghai", "always_open": true}),
            "local_rate",
        );
        let path = "/api/v1/admin/contact-channels/cn";
        let r = app
            .client
            .put(app.url(path))
            .json(&good)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        for token in [&user, &supervisor] {
            let (status, c, _) = code(app.put_json(path, good.clone(), token).await).await;
            assert_eq!((status, c.as_str()), (StatusCode::FORBIDDEN, "forbidden"));
        }
        let (status, c, _) =
            code(app.get_auth("/api/v1/admin/contact-channels", &user).await).await;
        assert_eq!((status, c.as_str()), (StatusCode::FORBIDDEN, "forbidden"));

        let cases: Vec<(Value, &str)> = vec![
            (json!({"kind": "pigeon"}), "kind"),
            (json!({"cost": "cheap"}), "cost"),
            (json!({"value": "call us"}), "value"),
            (json!({"name_zh": " "}), "name_zh"),
            (
                json!({"schedule": {"time_zone": "Mars/Olympus"}}),
                "schedule",
            ),
            (
                json!({"schedule": {"time_zone": "UTC", "weekly": [{"days": ["funday"], "start": "09:00", "end": "10:00"}]}}),
                "schedule",
            ),
            (
                json!({"schedule": {"time_zone": "UTC", "weekly": [{"days": ["mon"], "start": "25:00", "end": "26:00"}]}}),
                "schedule",
            ),
        ];
        for (change, field) in cases {
            let mut body = good.clone();
            for (k, v) in change.as_object().unwrap() {
                body[k] = v.clone();
            }
            let (status, c, problem) = code(app.put_json(path, body, &admin).await).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
            assert_eq!(c, "invalid_field");
            assert_eq!(problem["field"], field, "{problem}");
        }
        let mut unknown = good.clone();
        unknown["colour"] = json!("red");
        let (status, c, _) = code(app.put_json(path, unknown, &admin).await).await;
        assert_eq!(
            (status, c.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field")
        );
        let (status, _, _) = code(
            app.put_json(
                "/api/v1/admin/contact-channels/Not%20An%20Id",
                good.clone(),
                &admin,
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

        let r = app.put_json(path, good.clone(), &admin).await;
        assert_eq!(r.status(), StatusCode::OK);
        let listed: Value = app
            .get_auth("/api/v1/admin/contact-channels", &admin)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(listed["items"][0]["id"], "cn");
        assert_eq!(listed["items"][0]["schedule"]["always_open"], true);
        let audit = app.state.db.audit_events_for("cn").await.unwrap();
        assert!(
            audit
                .iter()
                .any(|e| e.actor == admin_id && e.action == "contact_channel.saved"),
            "{audit:?}"
        );
        let r = app.delete_auth(path, &admin).await;
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        let (status, c, _) = code(app.delete_auth(path, &admin).await).await;
        assert_eq!((status, c.as_str()), (StatusCode::NOT_FOUND, "not_found"));
    }
);

both_backends!(
    the_official_check_knows_our_channels_spots_look_alikes_and_counts_reports,
    |backend| async move {
        let app = App::spawn(backend).await;
        let (_, admin) = app.staff("root@example.com", identity::Role::Admin).await;
        let (_, supervisor) = app
            .staff("boss@example.com", identity::Role::Supervisor)
            .await;
        let (_, user) = app.customer("amy@example.com").await;
        let always = json!({"time_zone": "UTC", "always_open": true});
        for (id, kind, value) in [
            ("cn", "hotline", "400-990-1234"),
            ("mail", "email", "support@okwallet.example"),
            ("weibo", "social", "weibo:@okwallet官方"),
            ("site", "website", "okwallet.example"),
        ] {
            let r = app
                .put_json(
                    &format!("/api/v1/admin/contact-channels/{id}"),
                    channel(kind, value, always.clone(), "free"),
                    &admin,
                )
                .await;
            assert_eq!(r.status(), StatusCode::OK);
        }
        let app = &app;
        let check = |value: &str| {
            let path = format!(
                "/api/v1/official-check?value={}",
                url::form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>()
            );
            async move { app.get_json(&path, "en").await }
        };
        let official = [
            ("400 990 1234", "cn", "phone"),
            ("+86-400-990-1234", "cn", "phone"),
            ("Support@OKWallet.example", "mail", "email"),
            ("weibo:@okwallet官方", "weibo", "handle"),
            ("https://help.okwallet.example/reset", "site", "url"),
        ];
        for (value, channel_id, kind) in official {
            let v = check(value).await;
            assert_eq!(v["official"], true, "{value}: {v}");
            assert_eq!(v["channel"], channel_id, "{value}: {v}");
            assert_eq!(v["kind"], kind, "{value}: {v}");
            assert!(
                v["advice"]
                    .as_str()
                    .unwrap()
                    .contains("ever ask for your password"),
                "{v}"
            );
        }
        let fakes = [
            ("+86 400 990 1235", None),
            ("okwa11et.example", Some("look_alike_letters")),
            ("okwalet.example", Some("typo_of_official")),
            (
                "https://okwallet.example.login-check.com/x",
                Some("official_name_inside"),
            ),
            (
                "https://okwallet.example@evil.test/",
                Some("official_domain_as_user_name"),
            ),
        ];
        for (value, warning) in fakes {
            let v = check(value).await;
            assert_eq!(v["official"], false, "{value}: {v}");
            let codes: Vec<&str> = v["warnings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|w| w["code"].as_str().unwrap())
                .collect();
            if let Some(w) = warning {
                assert!(codes.contains(&w), "{value}: {v}");
                assert!(v["advice"].as_str().unwrap().contains("scam"), "{v}");
            } else {
                assert!(codes.is_empty(), "{value}: {v}");
            }
        }
        for bad in ["", &"9".repeat(501)] {
            let (status, c, _) = code(
                app.get(&format!("/api/v1/official-check?value={bad}"))
                    .await,
            )
            .await;
            assert_eq!(
                (status, c.as_str()),
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field")
            );
        }

        // One fake number written three ways, reported by anyone: counted together.
        for (i, written) in ["+86 400 990 1235", "4009901235", "400-990-1235"]
            .iter()
            .enumerate()
        {
            let r = app
                .post_json(
                    "/api/v1/suspicious-reports",
                    json!({"value": written, "seen_in": "sms", "note": "said my account was frozen"}),
                    (i == 0).then_some(user.as_str()),
                )
                .await;
            assert_eq!(r.status(), StatusCode::CREATED);
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["reports"], i + 1);
            assert_eq!(body["official"], false);
        }
        let (status, c, problem) = code(
            app.post_json(
                "/api/v1/suspicious-reports",
                json!({"value": "x", "seen_in": "pigeon"}),
                None,
            )
            .await,
        )
        .await;
        assert_eq!(
            (status, c.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field")
        );
        assert_eq!(problem["field"], "seen_in");
        let (status, _, _) = code(
            app.post_json(
                "/api/v1/suspicious-reports",
                json!({"value": "x", "extra": 1}),
                None,
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

        // The security team sees it counted and confirms it; then everyone who checks is told.
        let (status, c, _) = code(
            app.get_auth("/api/v1/admin/suspicious-reports", &user)
                .await,
        )
        .await;
        assert_eq!((status, c.as_str()), (StatusCode::FORBIDDEN, "forbidden"));
        let list: Value = app
            .get_auth("/api/v1/admin/suspicious-reports", &supervisor)
            .await
            .json()
            .await
            .unwrap();
        let item = &list["items"][0];
        assert_eq!(item["normalised"], "+864009901235");
        assert_eq!(item["reports"], 3);
        assert_eq!(item["verdict"], Value::Null);
        assert_eq!(item["recent"][0]["seen_in"], "sms");
        let r = app
            .post_json(
                "/api/v1/admin/suspicious-reviews",
                json!({"normalised": "+864009901235", "verdict": "scam", "note": "fake refund calls"}),
                Some(&supervisor),
            )
            .await;
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        let v = check("400 990 1235").await;
        assert_eq!(v["verdict"], "scam");
        assert_eq!(v["reports"], 3);
        assert_eq!(v["warnings"][0]["code"], "reported_scam");
        let (status, _, _) = code(
            app.post_json(
                "/api/v1/admin/suspicious-reviews",
                json!({"normalised": "+860000", "verdict": "scam"}),
                Some(&supervisor),
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "nobody reported it");
    }
);

both_backends!(
    announcements_move_through_their_states_and_show_where_they_matter,
    |backend| async move {
        let app = App::spawn(backend).await;
        let (_, supervisor) = app
            .staff("boss@example.com", identity::Role::Supervisor)
            .await;
        let (_, user) = app.customer("amy@example.com").await;
        let incident = json!({
            "kind": "incident", "title_zh": "ETH 充值延迟", "title_en": "ETH deposits delayed",
            "body_zh": "网络拥堵。", "body_en": "The network is congested.",
            "affected": ["deposit:eth"],
        });
        let (status, c, _) = code(
            app.post_json("/api/v1/admin/announcements", incident.clone(), Some(&user))
                .await,
        )
        .await;
        assert_eq!((status, c.as_str()), (StatusCode::FORBIDDEN, "forbidden"));
        for (change, field) in [
            (json!({"kind": "outage"}), "kind"),
            (json!({"affected": ["teleport"]}), "affected"),
            (json!({"title_en": ""}), "title_en"),
            (json!({"starts_at": "soon"}), "starts_at"),
        ] {
            let mut body = incident.clone();
            for (k, v) in change.as_object().unwrap() {
                body[k] = v.clone();
            }
            let (status, _, problem) = code(
                app.post_json("/api/v1/admin/announcements", body, Some(&supervisor))
                    .await,
            )
            .await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
            assert_eq!(problem["field"], field, "{problem}");
        }
        let r = app
            .post_json("/api/v1/admin/announcements", incident, Some(&supervisor))
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let created: Value = r.json().await.unwrap();
        let id = created["id"].as_str().unwrap().to_owned();
        assert_eq!(created["state"], "investigating");
        assert_eq!(created["affected"], json!(["deposit:ETH"]));
        assert_eq!(created["current"], true);

        let eth = app
            .get_json("/api/v1/announcements?feature=deposit&asset=ETH", "zh-CN")
            .await;
        assert_eq!(eth["items"][0]["title"], "ETH 充值延迟");
        assert_eq!(eth["items"][0]["state_label"], "正在调查");
        assert_eq!(eth["items"][0]["affected_labels"], json!(["ETH 充值"]));
        let usdt = app
            .get_json("/api/v1/announcements?feature=deposit&asset=USDT", "en")
            .await;
        assert_eq!(usdt["items"], json!([]), "the ETH incident is not USDT's");
        let (status, _, _) = code(app.get("/api/v1/announcements?feature=teleport").await).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

        let update = |state: &str| json!({"state": state, "body_zh": format!("状态：{state}"), "body_en": format!("Now {state}")});
        let path = format!("/api/v1/admin/announcements/{id}/updates");
        let (status, _, problem) = code(
            app.post_json(&path, update("completed"), Some(&supervisor))
                .await,
        )
        .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "an incident is never completed"
        );
        assert!(
            problem["detail"].as_str().unwrap().contains("resolved"),
            "{problem}"
        );
        for state in ["identified", "resolved"] {
            let r = app.post_json(&path, update(state), Some(&supervisor)).await;
            assert_eq!(r.status(), StatusCode::CREATED);
        }
        let current = app.get_json("/api/v1/announcements", "en").await;
        assert_eq!(current["items"], json!([]), "a resolved incident is past");
        let all = app.get_json("/api/v1/announcements?state=all", "en").await;
        let one = &all["items"][0];
        assert_eq!(one["state"], "resolved");
        assert_eq!(one["current"], false);
        assert!(one["ends_at"].is_string());
        let states: Vec<&str> = one["updates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["state"].as_str().unwrap())
            .collect();
        assert_eq!(states, ["investigating", "identified", "resolved"]);
        let single = app
            .get_json(&format!("/api/v1/announcements/{id}"), "en")
            .await;
        assert_eq!(single["updates"][2]["body"], "Now resolved");

        // A draft is nobody's business but the staff's.
        let r = app
            .post_json(
                "/api/v1/admin/announcements",
                json!({"kind": "maintenance", "title_zh": "维护", "title_en": "Maintenance",
                    "body_zh": "维护。", "body_en": "Maintenance.", "affected": ["withdraw"],
                    "starts_at": "2030-01-01T00:00:00Z", "ends_at": "2030-01-01T02:00:00Z",
                    "published": false}),
                Some(&supervisor),
            )
            .await;
        let draft: Value = r.json().await.unwrap();
        assert_eq!(draft["state"], "scheduled");
        let (status, _, _) = code(
            app.get(&format!(
                "/api/v1/announcements/{}",
                draft["id"].as_str().unwrap()
            ))
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
);

both_backends!(
    the_knowledge_base_searches_in_both_languages_counts_misses_and_takes_edits_on_every_node,
    |backend| async move {
        let app = App::spawn(backend).await;
        let (_, admin) = app.staff("root@example.com", identity::Role::Admin).await;

        // The shipped articles are there in both languages.
        let zh = app
            .get_json("/api/v1/articles?lang=zh-CN&limit=50", "en")
            .await;
        let en = app
            .get_json("/api/v1/articles?lang=en&limit=50", "en")
            .await;
        assert!(zh["items"].as_array().unwrap().len() >= 30, "{zh}");
        assert_eq!(
            zh["items"].as_array().unwrap().len(),
            en["items"].as_array().unwrap().len()
        );
        let (status, _, _) = code(app.get("/api/v1/articles?lang=fr").await).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let (status, _, _) = code(app.get("/api/v1/articles?limit=500").await).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

        // Colloquial questions in both languages find the article a person would pick, with
        // the matched words marked.
        let hits = app
            .get_json("/api/v1/articles?q=%E5%AE%A2%E6%9C%8D%E7%94%B5%E8%AF%9D%E6%94%B6%E8%B4%B9%E5%90%97&lang=zh-CN", "zh-CN")
            .await;
        assert_eq!(hits["items"][0]["slug"], "call-costs", "{hits}");
        let hits = app
            .get_json("/api/v1/articles?q=can%27t%20log%20in&lang=en", "en")
            .await;
        assert_eq!(hits["items"][0]["slug"], "login-failed", "{hits}");
        assert!(
            hits["items"][0]["snippet_html"]
                .as_str()
                .unwrap()
                .contains("<mark>")
                || hits["items"][0]["title_html"]
                    .as_str()
                    .unwrap()
                    .contains("<mark>"),
            "{hits}"
        );
        // Query syntax is just text.
        let r = app.get("/api/v1/articles?q=%22%3A(*-&lang=en").await;
        assert_eq!(r.status(), StatusCode::OK);

        // A search that finds nothing is counted for the editors.
        for _ in 0..2 {
            let none = app
                .get_json("/api/v1/articles?q=Xyzzy%20%20plugh&lang=en", "en")
                .await;
            assert_eq!(none["items"], json!([]));
        }
        let misses: Value = app
            .get_auth("/api/v1/admin/search-misses", &admin)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(misses["items"][0]["query"], "xyzzy plugh");
        assert_eq!(misses["items"][0]["count"], 2);

        // An article, its other language, and "was this helpful?".
        let a = app
            .get_json("/api/v1/articles/login-failed?lang=zh-CN", "en")
            .await;
        assert_eq!(a["lang"], "zh-CN");
        assert_eq!(a["other_langs"], json!(["en"]));
        assert!(a["body_html"].as_str().unwrap().contains("<h2"), "{a}");
        let (status, _, _) = code(app.get("/api/v1/articles/no-such-article").await).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let r = app
            .post_json(
                "/api/v1/articles/login-failed/feedback",
                json!({"helpful": true, "lang": "zh-CN"}),
                None,
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let r = app
            .post_json(
                "/api/v1/articles/login-failed/feedback",
                json!({"helpful": false, "lang": "zh-CN", "comment": "没说验证码收不到怎么办"}),
                None,
            )
            .await;
        assert_eq!(
            r.json::<Value>().await.unwrap(),
            json!({"helpful": 1, "not_helpful": 1})
        );
        let (status, _, _) = code(
            app.post_json(
                "/api/v1/articles/nope/feedback",
                json!({"helpful": true}),
                None,
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _, _) = code(
            app.post_json(
                "/api/v1/articles/login-failed/feedback",
                json!({"helpful": "yes"}),
                None,
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

        // A second node on the same database, started now.
        let other = web::help::HelpCenter::start(&app.state.db, Default::default())
            .await
            .unwrap();

        // An editor writes an article (with a script someone pasted): searchable at once
        // here, rendered without the script, and found on the other node after its sync.
        let body = json!({"category": "wallet_basics", "title": "Quokka wallets explained",
            "tags": "quokka, marsupial", "body_md": "## Quokkas\n\nA quokka smiles.<script>alert(1)</script>\n\n[x](javascript:alert(1))"});
        let (status, _, _) = code(
            app.put_json(
                "/api/v1/admin/articles/quokka/en",
                body.clone(),
                &app.customer("amy@example.com").await.1,
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let r = app
            .put_json("/api/v1/admin/articles/quokka/en", body.clone(), &admin)
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.json::<Value>().await.unwrap()["revision"], 1);
        let hits = app
            .get_json("/api/v1/articles?q=quokka&lang=en", "en")
            .await;
        assert_eq!(hits["items"][0]["slug"], "quokka");
        let a = app.get_json("/api/v1/articles/quokka?lang=en", "en").await;
        let html = a["body_html"].as_str().unwrap();
        assert!(
            !html.contains("<script") && !html.contains("javascript:"),
            "{html}"
        );
        assert!(html.contains("A quokka smiles."), "{html}");
        assert!(other.index().search("quokka", "en", 5).unwrap().is_empty());
        assert_eq!(other.sync(&app.state.db).await.unwrap(), 1);
        assert_eq!(
            other.index().search("quokka", "en", 5).unwrap()[0].slug,
            "quokka"
        );

        // Unpublished: gone from search everywhere after a sync, and its page is not found.
        let mut hidden = body.clone();
        hidden["published"] = json!(false);
        let r = app
            .put_json("/api/v1/admin/articles/quokka/en", hidden, &admin)
            .await;
        assert_eq!(r.json::<Value>().await.unwrap()["revision"], 2);
        let hits = app
            .get_json("/api/v1/articles?q=quokka&lang=en", "en")
            .await;
        assert_eq!(hits["items"], json!([]));
        other.sync(&app.state.db).await.unwrap();
        assert!(other.index().search("quokka", "en", 5).unwrap().is_empty());
        let (status, _, _) = code(app.get("/api/v1/articles/quokka?lang=en").await).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // Bad editor input is named.
        for (change, field) in [
            (json!({"category": "gossip"}), "category"),
            (json!({"title": ""}), "title"),
        ] {
            let mut b = body.clone();
            for (k, v) in change.as_object().unwrap() {
                b[k] = v.clone();
            }
            let (status, _, problem) = code(
                app.put_json("/api/v1/admin/articles/quokka/en", b, &admin)
                    .await,
            )
            .await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
            assert_eq!(problem["field"], field);
        }
        let (status, _, problem) = code(
            app.put_json("/api/v1/admin/articles/quokka/fr", body.clone(), &admin)
                .await,
        )
        .await;
        assert_eq!(
            (status, problem["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("lang"))
        );
        // A long article (40,000 Chinese characters, 120 KB) is not too large to save.
        let mut long = body.clone();
        long["body_md"] = json!("钱包".repeat(20_000));
        let r = app
            .put_json("/api/v1/admin/articles/long-read/zh-CN", long, &admin)
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let preview: Value = app
            .post_json(
                "/api/v1/admin/article-previews",
                json!({"body_md": "**bold**<img src=x onerror=alert(1)>"}),
                Some(&admin),
            )
            .await
            .json()
            .await
            .unwrap();
        let html = preview["html"].as_str().unwrap();
        assert!(
            html.contains("<strong>bold</strong>") && !html.contains("onerror"),
            "{html}"
        );
    }
);
