//! The help center's pages over real HTTP, on both databases: every public page in both
//! languages, highlighted search results and the friendly miss, "was this helpful?" and reports
//! of look-alikes through CSRF-checked forms, and the editing pages — closed to users, open to
//! supervisors where theirs, and an administrator's channel hours and articles showing on the
//! public pages at once.

use helpcenter::directory::ScheduleSpec;
use store::helpcenter::{Announcement, ContactChannel};
use testkit::both_backends;

use crate::accounts::STRONG;
use crate::pages::{Browser, Page};
use crate::App;

/// A Wednesday, 10:00 in Shanghai.
const WEDNESDAY_10_SHANGHAI: &str = "2026-11-25T02:00:00Z";
/// A Saturday, 23:00 in Shanghai.
const SATURDAY_NIGHT_SHANGHAI: &str = "2026-11-28T15:00:00Z";

fn channel(
    id: &str,
    kind: &str,
    names: (&str, &str),
    value: &str,
    hours: ScheduleSpec,
) -> ContactChannel {
    ContactChannel {
        id: id.into(),
        kind: kind.into(),
        name_zh: names.0.into(),
        name_en: names.1.into(),
        region_zh: "中国大陆".into(),
        region_en: "Mainland China".into(),
        value: value.into(),
        display: String::new(),
        languages: "zh-CN,en".into(),
        schedule: hours.to_json(),
        cost: if kind == "hotline" {
            "local_rate"
        } else {
            "free"
        }
        .into(),
        cost_note_zh: String::new(),
        cost_note_en: String::new(),
        note_zh: String::new(),
        note_en: String::new(),
        position: 0,
        enabled: true,
        updated_at_ms: store::now_ms(),
    }
}

/// A hotline open on weekdays, chat around the clock, the website, and an ETH deposit incident.
async fn seed(app: &App) {
    let weekdays =
        ScheduleSpec::from_text("Asia/Shanghai", false, "mon-fri 09:00-18:00", "", "").unwrap();
    let always = ScheduleSpec::from_text("Asia/Shanghai", true, "", "", "").unwrap();
    let mut hotline = channel(
        "cn-hotline",
        "hotline",
        ("全国客服热线", "Mainland China hotline"),
        "+864009901234",
        weekdays,
    );
    hotline.display = "400-990-1234".into();
    hotline.position = 10;
    let mut chat = channel(
        "live-chat",
        "live_chat",
        ("在线客服", "Live chat"),
        "",
        always.clone(),
    );
    chat.position = 20;
    let mut site = channel(
        "website",
        "website",
        ("官方网站", "Official website"),
        "okwallet.example",
        always,
    );
    site.position = 30;
    for c in [hotline, chat, site] {
        app.state.db.save_contact_channel(&c).await.unwrap();
    }
    let now = store::now_ms();
    app.state
        .db
        .insert_announcement(&Announcement {
            id: "eth-delay".into(),
            kind: "incident".into(),
            state: "investigating".into(),
            title_zh: "ETH 充值到账延迟".into(),
            title_en: "ETH deposits delayed".into(),
            body_zh: "以太坊网络拥堵，到账会慢一些。".into(),
            body_en: "The Ethereum network is congested; deposits arrive later.".into(),
            affected: "deposit:ETH".into(),
            starts_at_ms: now - 60_000,
            ends_at_ms: None,
            published: true,
            created_by: None,
            created_at_ms: now - 60_000,
            updated_at_ms: now - 60_000,
        })
        .await
        .unwrap();
}

async fn in_chinese(browser: &mut Browser) {
    let page = browser.get("/lang?to=zh-CN&back=/help").await;
    assert_eq!(page.status, 303);
}

fn ok(page: &Page, path: &str, needles: &[&str]) {
    assert_eq!(page.status, 200, "{path}: {}", page.body);
    for needle in needles {
        assert!(
            page.body.contains(needle),
            "{path} lacks {needle:?}:\n{}",
            page.body
        );
    }
}

both_backends!(help_pages_answer_in_both_languages, |backend| async move {
    let app = App::spawn(backend).await;
    seed(&app).await;
    let mut en = Browser::new(&app);
    let contact = format!("/help/contact?at={WEDNESDAY_10_SHANGHAI}&tz=Europe/London");
    let pages: [(&str, &[&str], &[&str]); 7] = [
        (
            "/help",
            &[
                "Help center",
                "Can&#39;t log in",
                "Funds late",
                "Payment failed",
                "Best right now",
                "ETH deposits delayed",
                "/help/check",
            ],
            &[
                "帮助中心",
                "登录失败",
                "资金未到账",
                "付款失败",
                "现在最推荐",
                "ETH 充值到账延迟",
                "/help/check",
            ],
        ),
        (
            "/help/topics/login_failed",
            &["Can&#39;t log in", "/help/articles/login-failed"],
            &["登录失败", "/help/articles/login-failed"],
        ),
        (
            "/help/articles/login-failed",
            &[
                "Was this helpful?",
                "阅读本文的中文版",
                "hreflang=\"zh-CN\"",
                "name=\"csrf\"",
                "Still need help?",
            ],
            &[
                "这篇文章对您有帮助吗？",
                "Read this article in English",
                "hreflang=\"en\"",
                "name=\"csrf\"",
                "还需要帮助？",
            ],
        ),
        (
            &contact,
            &[
                "Contact us",
                "Mainland China hotline",
                "tel:+864009901234",
                "Open now",
                "Mon–Fri 09:00–18:00",
                "Europe/London",
                "(the time zone you chose)",
            ],
            &[
                "联系我们",
                "全国客服热线",
                "tel:+864009901234",
                "服务中",
                "周一至周五 09:00–18:00",
                "Europe/London",
                "（您选择的时区）",
            ],
        ),
        (
            "/help/check",
            &[
                "Is this really us?",
                "Our official channels",
                "400-990-1234",
                "okwallet.example",
            ],
            &[
                "官方渠道验证",
                "我们的官方渠道",
                "400-990-1234",
                "okwallet.example",
            ],
        ),
        (
            "/help/status",
            &[
                "Service status and notices",
                "ETH deposits delayed",
                "Investigating",
                "ETH Deposits",
            ],
            &["服务状态与公告", "ETH 充值到账延迟", "正在调查", "ETH 充值"],
        ),
        (
            "/help/check?value=400-990-1234",
            &[
                "Yes, this is ours",
                "Mainland China hotline",
                "+864009901234",
            ],
            &["是的，这是我们的官方渠道", "全国客服热线", "+864009901234"],
        ),
    ];
    for (path, english, _) in &pages {
        let page = en.get(path).await;
        ok(&page, path, english);
        assert!(page.body.contains("<html lang=\"en\">"), "{path}");
        assert!(page.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'self'"));
        assert!(
            !page.body.contains("<script>") && !page.body.contains(" style=\""),
            "{path}: no inline script or style"
        );
    }
    let mut zh = Browser::new(&app);
    in_chinese(&mut zh).await;
    for (path, _, chinese) in &pages {
        let page = zh.get(path).await;
        ok(&page, path, chinese);
        assert!(page.body.contains("<html lang=\"zh-CN\">"), "{path}");
    }

    let page = en.get("/help/search?q=deposit").await;
    ok(
        &page,
        "search en",
        &["Search the help center", "<mark>deposit</mark>"],
    );
    let page = zh.get("/help/search?q=%E5%85%85%E5%80%BC").await;
    ok(&page, "search zh", &["搜索帮助中心", "<mark>充值</mark>"]);

    // Unknown topics and articles are pages that say so.
    assert_eq!(en.get("/help/topics/teleport").await.status, 404);
    assert_eq!(en.get("/help/articles/no-such-article").await.status, 404);
    // The English version of an article is one link away from the Chinese page.
    let page = zh.get("/help/articles/login-failed?lang=en").await;
    ok(
        &page,
        "?lang=en",
        &[
            "<article class=\"card article\" lang=\"en\"",
            "阅读本文的中文版",
        ],
    );
});

both_backends!(
    the_contact_page_tells_open_from_closed_and_picks_the_best,
    |backend| async move {
        let app = App::spawn(backend).await;
        seed(&app).await;
        let mut en = Browser::new(&app);
        let page = en
            .get(&format!(
                "/help/contact?at={WEDNESDAY_10_SHANGHAI}&tz=Asia/Shanghai"
            ))
            .await;
        ok(
            &page,
            "weekday",
            &["id=\"fixed-time\"", "2026-11-25 10:00 CST"],
        );
        // The hotline is open until 18:00; chat is open too, and chat is preferred.
        let hotline = section(&page.body, "channel-cn-hotline");
        assert!(
            hotline.contains("Open now") && hotline.contains("closes 2026-11-25 18:00 CST"),
            "{hotline}"
        );
        assert!(
            page.body.contains("id=\"best\" data-channel=\"live-chat\""),
            "{}",
            page.body
        );

        let page = en
            .get(&format!(
                "/help/contact?at={SATURDAY_NIGHT_SHANGHAI}&tz=Europe/London"
            ))
            .await;
        let hotline = section(&page.body, "channel-cn-hotline");
        assert!(
            hotline.contains("Closed")
                && hotline.contains("opens 2026-11-30 09:00 CST (2026-11-30 01:00 GMT your time)"),
            "{hotline}"
        );
        assert!(page.body.contains("id=\"best\" data-channel=\"live-chat\""));

        // The form's wall-clock time is read in the viewer's zone: 10:00 in Shanghai.
        let page = en
            .get("/help/contact?when=2026-11-25T10:00&tz=Asia/Shanghai")
            .await;
        ok(&page, "when", &["2026-11-25 10:00 CST"]);
        assert!(section(&page.body, "channel-cn-hotline").contains("Open now"));
        // Nonsense is said to be nonsense, and the page still answers.
        let page = en.get("/help/contact?at=yesterday&tz=Mars/Olympus").await;
        ok(&page, "bad at", &["RFC 3339", "is not one we know"]);
        // Without a zone, the operator's is used and the page says so.
        let page = en.get("/help/contact").await;
        ok(&page, "no zone", &["Asia/Shanghai (our time zone"]);
    }
);

/// The HTML of the element with `id` up to the next channel.
fn section<'a>(body: &'a str, id: &str) -> &'a str {
    let start = body
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {body}"));
    let rest = &body[start..];
    let end = rest[10..]
        .find("class=\"card channel")
        .map_or(rest.len(), |i| i + 10);
    &rest[..end]
}

both_backends!(
    search_highlights_and_a_miss_offers_people_and_problems,
    |backend| async move {
        let app = App::spawn(backend).await;
        seed(&app).await;
        let mut zh = Browser::new(&app);
        in_chinese(&mut zh).await;
        let page = zh
            .get("/help/search?q=%E5%85%85%E5%80%BC%E6%B2%A1%E5%88%B0%E8%B4%A6")
            .await;
        ok(
            &page,
            "充值没到账",
            &["id=\"results\"", "<mark>充值</mark>"],
        );
        let first = page.body.split("data-slug=\"").nth(1).unwrap();
        assert!(first.starts_with("deposit-confirmations\""), "{first}");
        // Highlighting never lets markup from the query through.
        let page = zh
            .get("/help/search?q=%3Cscript%3E%E5%85%85%E5%80%BC")
            .await;
        assert!(!page.body.contains("<script>"), "{}", page.body);

        let mut en = Browser::new(&app);
        let page = en.get("/help/search?q=can%27t+log+in").await;
        ok(&page, "can't log in", &["id=\"results\"", "<mark>"]);
        assert!(page
            .body
            .split("data-slug=\"")
            .nth(1)
            .unwrap()
            .starts_with("login-failed\""));

        let page = en.get("/help/search?q=qwertyzzz").await;
        ok(
            &page,
            "miss",
            &[
                "We could not find an article for that",
                "data-topic=\"login_failed\"",
                "data-topic=\"payment_failed\"",
                "id=\"best\"",
                "Mainland China hotline",
            ],
        );
        let misses = app.state.db.search_misses(10).await.unwrap();
        assert!(
            misses
                .iter()
                .any(|m| m.query == "qwertyzzz" && m.lang == "en"),
            "{misses:?}"
        );
    }
);

both_backends!(
    article_feedback_goes_through_the_csrf_checked_form,
    |backend| async move {
        let app = App::spawn(backend).await;
        let mut en = Browser::new(&app);
        let path = "/help/articles/login-failed";
        en.get(path).await;
        // Without the token nothing is counted.
        let page = en.post(path, &[("helpful", "yes"), ("lang", "en")]).await;
        assert_eq!(page.status, 403);
        let votes = app.state.db.article_votes().await.unwrap();
        assert!(!votes.contains_key(&("login-failed".into(), "en".into())));

        let page = en
            .submit(
                path,
                path,
                &[
                    ("helpful", "no"),
                    ("lang", "en"),
                    ("comment", "Say what to do when the code never arrives."),
                ],
            )
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        let to = page.location.unwrap();
        assert_eq!(
            to,
            "/help/articles/login-failed?lang=en&feedback=no#feedback"
        );
        let page = en.get(to.split('#').next().unwrap()).await;
        ok(
            &page,
            "thanks",
            &[
                "Thank you for telling us.",
                "Sorry it did not solve your problem",
            ],
        );
        assert!(
            !page.body.contains("name=\"helpful\""),
            "the form gives way to the thanks"
        );
        let votes = app.state.db.article_votes().await.unwrap();
        let v = &votes[&("login-failed".to_owned(), "en".to_owned())];
        assert_eq!((v.helpful, v.not_helpful), (0, 1));

        // A Chinese reader's vote counts for the Chinese version.
        let mut zh = Browser::new(&app);
        in_chinese(&mut zh).await;
        let page = zh
            .submit(path, path, &[("helpful", "yes"), ("lang", "zh-CN")])
            .await;
        assert_eq!(page.status, 303);
        let votes = app.state.db.article_votes().await.unwrap();
        assert_eq!(
            votes[&("login-failed".to_owned(), "zh-CN".to_owned())].helpful,
            1
        );
    }
);

both_backends!(
    look_alikes_are_checked_and_reported_from_the_check_page,
    |backend| async move {
        let app = App::spawn(backend).await;
        seed(&app).await;
        let mut en = Browser::new(&app);
        let page = en.get("/help/check?value=okwa11et.example").await;
        ok(
            &page,
            "look-alike",
            &[
                "This is not ours",
                "data-code=\"look_alike_letters\"",
                "Nobody has reported this yet.",
                "id=\"report\"",
            ],
        );
        for seen in ["sms", "call", "chat_app", "search_ad"] {
            assert!(page.body.contains(&format!("value=\"{seen}\"")), "{seen}");
        }

        let from = "/help/check?value=okwa11et.example";
        let page = en
            .post(
                "/help/check",
                &[("value", "okwa11et.example"), ("seen_in", "sms")],
            )
            .await;
        assert_eq!(page.status, 403, "no token, no report");
        let page = en
            .submit(
                from,
                "/help/check",
                &[
                    ("value", "okwa11et.example"),
                    ("seen_in", "sms"),
                    ("note", "A text said my account was frozen."),
                ],
            )
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        let to = page.location.unwrap();
        let page = en.get(to.split('#').next().unwrap()).await;
        ok(
            &page,
            "reported",
            &[
                "Thank you for reporting it.",
                "Reported once by people who met it.",
                "data-reports=\"1\"",
            ],
        );
        assert!(!page.body.contains("id=\"report\""), "one report per visit");
        // A refused report keeps what was typed.
        let page = en
            .submit(
                from,
                "/help/check",
                &[
                    ("value", "okwa11et.example"),
                    ("seen_in", "carrier-pigeon"),
                    ("note", "kept"),
                ],
            )
            .await;
        assert_eq!(page.status, 422, "{}", page.body);
        ok_status(&page, &["seen_in", ">kept</textarea>"]);

        let mut zh = Browser::new(&app);
        in_chinese(&mut zh).await;
        let page = zh.get("/help/check?value=okwa11et.example").await;
        ok(&page, "zh", &["这不是我们的渠道", "已有 1 人次举报过它。"]);
    }
);

fn ok_status(page: &Page, needles: &[&str]) {
    for needle in needles {
        assert!(
            page.body.contains(needle),
            "lacks {needle:?}:\n{}",
            page.body
        );
    }
}

fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A signed-in staff member of `role` with two-step verification on, as the consoles need.
pub(crate) async fn staff(app: &App, email: &str, role: identity::Role) -> Browser {
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
    browser
}

const ADMIN_PAGES: [&str; 5] = [
    "/admin/help/channels",
    "/admin/help/articles",
    "/admin/help/misses",
    "/admin/help/announcements",
    "/admin/help/reports",
];

both_backends!(
    help_editing_pages_are_for_staff_only,
    |backend| async move {
        let app = App::spawn(backend).await;
        app.sign_up("uma@example.com").await;
        let mut anonymous = Browser::new(&app);
        let mut user = Browser::new(&app);
        user.log_in("uma@example.com", STRONG).await;
        for path in ADMIN_PAGES {
            let page = anonymous.get(path).await;
            assert_eq!(page.status, 303, "{path}");
            assert!(page.location.unwrap().starts_with("/login?next="));
            let page = user.get(path).await;
            assert_eq!(page.status, 403, "{path}");
            assert!(page.body.contains("Not available to you"), "{path}");
        }
        // Nor can a user post to them, even with a good token.
        let page = user
            .submit(
                "/help",
                "/admin/help/channels",
                &[("id", "evil"), ("kind", "hotline")],
            )
            .await;
        assert_eq!(page.status, 403);
        assert!(app
            .state
            .db
            .contact_channel("evil")
            .await
            .unwrap()
            .is_none());

        // Agents answer customers; editing the help center is not theirs.
        let mut agent = staff(&app, "aga@example.com", identity::Role::Agent).await;
        for path in ADMIN_PAGES {
            assert_eq!(agent.get(path).await.status, 403, "{path}");
        }

        let mut supervisor = staff(&app, "sam@example.com", identity::Role::Supervisor).await;
        for path in ADMIN_PAGES {
            let page = supervisor.get(path).await;
            let theirs = path.ends_with("announcements") || path.ends_with("reports");
            assert_eq!(
                page.status,
                if theirs { 200 } else { 403 },
                "{path}: {}",
                page.body
            );
        }
        let page = supervisor.get("/help").await;
        assert!(
            page.body.contains("/admin/help/announcements")
                && !page.body.contains("/admin/help/channels")
        );
        // Opening the review list is audited, as the API's is.
        let audit = app.state.db.audit_events_for("").await.unwrap();
        assert!(
            audit
                .iter()
                .any(|e| e.action == "suspicious_reports.viewed"),
            "{audit:?}"
        );
    }
);

both_backends!(
    an_admin_edits_hours_articles_and_notices_that_show_at_once,
    |backend| async move {
        let app = App::spawn(backend).await;
        seed(&app).await;
        let mut admin = staff(&app, "ada@example.com", identity::Role::Admin).await;
        let page = admin.get("/admin").await;
        ok(
            &page,
            "/admin",
            &[
                "/admin/help/channels",
                "/admin/help/articles",
                "/admin/help/misses",
            ],
        );

        // Hours that do not read come back with the reason, next to the hours, and what was typed.
        let mut fields = vec![
            ("original_id", ""),
            ("id", "gz-hotline"),
            ("kind", "hotline"),
            ("name_zh", "广州热线"),
            ("name_en", "Guangzhou hotline"),
            ("region_zh", "广州"),
            ("region_en", "Guangzhou"),
            ("value", "020 3899 0000"),
            ("display", "020-3899-0000"),
            ("languages", "zh-CN, yue"),
            ("time_zone", "Asia/Shanghai"),
            ("weekly", "mon-fri 9-18"),
            ("holidays", "2027-01-01 元旦 / New Year's Day"),
            ("special", ""),
            ("cost", "local_rate"),
            ("position", "15"),
            ("enabled", "on"),
        ];
        let page = admin
            .submit("/admin/help/channels/new", "/admin/help/channels", &fields)
            .await;
        assert_eq!(page.status, 422, "{}", page.body);
        ok_status(
            &page,
            &[
                "Not saved.",
                "id=\"schedule-error\"",
                "HH:MM",
                ">mon-fri 9-18</textarea>",
                "value=\"Guangzhou hotline\"",
            ],
        );
        assert!(app
            .state
            .db
            .contact_channel("gz-hotline")
            .await
            .unwrap()
            .is_none());

        fields.iter_mut().find(|(k, _)| *k == "weekly").unwrap().1 =
            "mon-fri 09:00-18:00\nsat 10:00-14:00";
        let page = admin
            .submit("/admin/help/channels/new", "/admin/help/channels", &fields)
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        assert_eq!(
            page.location.as_deref(),
            Some("/admin/help/channels?saved=gz-hotline")
        );
        let saved = app
            .state
            .db
            .contact_channel("gz-hotline")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(saved.value, "+862038990000");
        let audit = app.state.db.audit_events_for("gz-hotline").await.unwrap();
        assert_eq!(audit[0].action, "contact_channel.saved");
        // A second "new" channel with the same id does not replace it.
        let page = admin
            .submit("/admin/help/channels/new", "/admin/help/channels", &fields)
            .await;
        assert_eq!(page.status, 422);
        ok_status(&page, &["id=\"id-error\""]);

        let page = Browser::new(&app)
            .get(&format!(
                "/help/contact?at={WEDNESDAY_10_SHANGHAI}&tz=Asia/Shanghai"
            ))
            .await;
        let card = section(&page.body, "channel-gz-hotline");
        for needle in [
            "Guangzhou hotline",
            "tel:+862038990000",
            "020-3899-0000",
            "Mon–Fri 09:00–18:00",
            "Sat 10:00–14:00",
            "Open now",
            "Cantonese",
            "2027-01-01 New Year&#39;s Day",
        ] {
            assert!(card.contains(needle), "{needle}: {card}");
        }
        let page = admin.get("/admin/help/channels/gz-hotline").await;
        ok(
            &page,
            "edit",
            &[
                ">mon,tue,wed,thu,fri 09:00-18:00\nsat 10:00-14:00</textarea>",
                "readonly",
            ],
        );

        // An article saved in the editor is found by the search at once; a preview saves nothing.
        let article = [
            ("original", ""),
            ("slug", "red-envelope-delay"),
            ("lang", "zh-CN"),
            ("category", "funds_delayed"),
            ("title", "红包晚到了怎么办"),
            ("tags", "红包, 晚到"),
            (
                "body_md",
                "## 先别着急\n\n红包在节假日可能晚到几分钟。<script>alert(1)</script>",
            ),
            ("published", "on"),
        ];
        let mut preview = article.to_vec();
        preview.push(("action", "preview"));
        let page = admin
            .submit(
                "/admin/help/articles/edit",
                "/admin/help/articles",
                &preview,
            )
            .await;
        ok(&page, "preview", &["id=\"preview\"", "<h2>先别着急</h2>"]);
        assert!(
            !page.body.contains("<script>alert(1)"),
            "the preview is sanitised"
        );
        assert!(app
            .state
            .db
            .article("red-envelope-delay", "zh-CN")
            .await
            .unwrap()
            .is_none());
        let mut save = article.to_vec();
        save.push(("action", "save"));
        let page = admin
            .submit("/admin/help/articles/edit", "/admin/help/articles", &save)
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        let mut zh = Browser::new(&app);
        in_chinese(&mut zh).await;
        let page = zh.get("/help/search?q=%E7%BA%A2%E5%8C%85").await;
        ok(
            &page,
            "search",
            &["data-slug=\"red-envelope-delay\"", "<mark>红包</mark>"],
        );
        let page = zh.get("/help/articles/red-envelope-delay").await;
        ok(&page, "article", &["红包晚到了怎么办"]);
        assert!(!page.body.contains("alert(1)</script>"));
        let page = admin.get("/admin/help/articles").await;
        ok(&page, "list", &["data-slug=\"red-envelope-delay\""]);
        let page = admin.get("/admin/help/misses").await;
        assert_eq!(page.status, 200);

        // A supervisor's incident: it shows on the status page and moves with its updates.
        let mut supervisor = staff(&app, "sid@example.com", identity::Role::Supervisor).await;
        let page = supervisor
            .submit(
                "/admin/help/announcements",
                "/admin/help/announcements",
                &[
                    ("kind", "incident"),
                    ("title_zh", "转账变慢"),
                    ("title_en", "Transfers are slow"),
                    ("body_zh", "正在排查。"),
                    ("body_en", "We are looking into it."),
                    ("affected", "send, teleport"),
                    ("published", "on"),
                ],
            )
            .await;
        assert_eq!(page.status, 422, "an unknown feature is refused");
        ok_status(&page, &["teleport", "value=\"Transfers are slow\""]);
        let page = supervisor
            .submit(
                "/admin/help/announcements",
                "/admin/help/announcements",
                &[
                    ("kind", "incident"),
                    ("title_zh", "转账变慢"),
                    ("title_en", "Transfers are slow"),
                    ("body_zh", "正在排查。"),
                    ("body_en", "We are looking into it."),
                    ("affected", "send"),
                    ("published", "on"),
                ],
            )
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        let id = page
            .location
            .unwrap()
            .split("saved=")
            .nth(1)
            .unwrap()
            .split('#')
            .next()
            .unwrap()
            .to_owned();
        let page = Browser::new(&app).get("/help/status").await;
        ok(&page, "status", &["Transfers are slow", "Investigating"]);
        let page = supervisor
            .submit(
                "/admin/help/announcements",
                &format!("/admin/help/announcements/{id}/updates"),
                &[
                    ("state", "resolved"),
                    ("body_zh", "已恢复。"),
                    ("body_en", "Back to normal."),
                ],
            )
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        let page = Browser::new(&app).get("/help/status").await;
        let past = page.body.split("id=\"past\"").nth(1).unwrap();
        assert!(
            past.contains("Transfers are slow")
                && past.contains("Back to normal.")
                && past.contains("Resolved"),
            "{past}"
        );

        // A reported look-alike judged a scam: everyone who checks it is warned.
        let mut visitor = Browser::new(&app);
        visitor
            .submit(
                "/help/check?value=okwa11et.example",
                "/help/check",
                &[("value", "okwa11et.example"), ("seen_in", "sms")],
            )
            .await;
        let page = supervisor.get("/admin/help/reports").await;
        ok(
            &page,
            "reports",
            &["data-normalised=\"okwa11et.example\"", "Not reviewed"],
        );
        let page = supervisor
            .submit(
                "/admin/help/reports",
                "/admin/help/reports",
                &[
                    ("normalised", "okwa11et.example"),
                    ("verdict", "scam"),
                    ("note", "SMS campaign"),
                ],
            )
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        let page = visitor.get("/help/check?value=okwa11et.example").await;
        ok(
            &page,
            "scam",
            &["Confirmed scam", "data-code=\"reported_scam\""],
        );
    }
);

both_backends!(
    the_deposit_page_shows_the_incident_affecting_its_asset,
    |backend| async move {
        let app = App::spawn(backend).await;
        seed(&app).await;
        app.sign_up("dee@example.com").await;
        let mut browser = Browser::new(&app);
        browser.log_in("dee@example.com", STRONG).await;
        let page = browser.get("/deposit?asset=ETH").await;
        ok(
            &page,
            "ETH",
            &[
                "id=\"service-notices\"",
                "ETH deposits delayed",
                "/help/status#a-eth-delay",
            ],
        );
        let page = browser.get("/deposit?asset=USDT").await;
        assert_eq!(page.status, 200);
        assert!(
            !page.body.contains("ETH deposits delayed"),
            "only ETH deposits are affected"
        );
        let page = browser.get("/withdraw?asset=ETH").await;
        assert_eq!(page.status, 200);
        assert!(
            !page.body.contains("ETH deposits delayed"),
            "withdrawals are not affected"
        );
    }
);
