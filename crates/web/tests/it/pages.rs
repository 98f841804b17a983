//! The web pages over real HTTP, on both databases: cookies, CSRF, the log-in steps, the
//! security centre's actions and the staff-console guard. A small cookie-keeping client stands
//! in for the browser here; the browser suite drives real Chromium.

use std::collections::BTreeMap;

use identity::totp::{TotpSecret, STEP_S};
use serde_json::{json, Value};
use testkit::both_backends;

use crate::accounts::STRONG;
use crate::App;

/// A browser-like client: keeps cookies, never follows redirects, sends forms.
pub(crate) struct Browser {
    client: reqwest::Client,
    base: String,
    cookies: BTreeMap<String, String>,
    lang: &'static str,
}

pub(crate) struct Page {
    pub(crate) status: u16,
    pub(crate) location: Option<String>,
    pub(crate) set_cookies: Vec<String>,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) body: String,
}

impl Page {
    /// The value of the hidden CSRF field on the page.
    pub(crate) fn csrf(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        let start = self.body.find(marker).expect("a form with a CSRF token") + marker.len();
        self.body[start..].split('"').next().unwrap().to_owned()
    }

    pub(crate) fn cookie_line(&self, name: &str) -> Option<&String> {
        self.set_cookies
            .iter()
            .find(|c| c.starts_with(&format!("{name}=")))
    }
}

impl Browser {
    pub(crate) fn new(app: &App) -> Browser {
        Browser {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: app.base.clone(),
            cookies: BTreeMap::new(),
            lang: "en",
        }
    }

    pub(crate) fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub(crate) async fn keep(&mut self, response: reqwest::Response) -> Page {
        let set_cookies: Vec<String> = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        for line in &set_cookies {
            let pair = line.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || line.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        Page {
            status: response.status().as_u16(),
            location: response
                .headers()
                .get("location")
                .map(|v| v.to_str().unwrap().to_owned()),
            headers: response.headers().clone(),
            set_cookies,
            body: response.text().await.unwrap(),
        }
    }

    pub(crate) async fn get(&mut self, path: &str) -> Page {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .header("accept-language", self.lang)
            .send()
            .await
            .unwrap();
        self.keep(response).await
    }

    pub(crate) async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .header("accept-language", self.lang)
            .form(form)
            .send()
            .await
            .unwrap();
        self.keep(response).await
    }

    /// Posts `form` with the CSRF token of the page at `from`, as a person filling it in would.
    pub(crate) async fn submit(&mut self, from: &str, action: &str, form: &[(&str, &str)]) -> Page {
        let page = self.get(from).await;
        assert_eq!(page.status, 200, "{from}: {}", page.body);
        let csrf = page.csrf();
        let mut fields = vec![("csrf", csrf.as_str())];
        fields.extend_from_slice(form);
        self.post(action, &fields).await
    }

    pub(crate) async fn log_in(&mut self, email: &str, password: &str) -> Page {
        self.submit(
            "/login",
            "/login",
            &[("email", email), ("password", password)],
        )
        .await
    }
}

fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

both_backends!(
    pages_speak_both_languages_and_carry_security_headers,
    |backend| async move {
        let app = App::spawn(backend).await;
        let mut browser = Browser::new(&app);
        let page = browser.get("/").await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("<html lang=\"en\">"), "{}", page.body);
        assert!(page.body.contains("Sign up"));
        let csp = page.headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"));
        assert_eq!(page.headers["cache-control"], "no-store");
        let csrf = page
            .cookie_line("okw_csrf")
            .expect("an anonymous CSRF cookie");
        assert!(
            csrf.contains("HttpOnly")
                && csrf.contains("Secure")
                && csrf.contains("SameSite=Strict")
        );

        browser.lang = "zh-CN,zh;q=0.9";
        let page = browser.get("/login").await;
        assert!(page.body.contains("<html lang=\"zh-CN\">"));
        assert!(page.body.contains("登录"));

        // The switch is remembered and beats the header; it never leaves the site.
        let page = browser.get("/lang?to=en&back=/signup").await;
        assert_eq!(page.status, 303);
        assert_eq!(page.location.as_deref(), Some("/signup"));
        let page = browser.get("/signup").await;
        assert!(page.body.contains("Create your account"), "{}", page.body);
        let page = browser.get("/lang?to=zh-CN&back=//evil.example/").await;
        assert_eq!(page.location.as_deref(), Some("/"));

        // Browsers get a page for an unknown address; API clients keep getting problems.
        let response = app
            .client
            .get(app.url("/no/such/page"))
            .header("accept", "text/html,application/xhtml+xml")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404);
        assert!(header_has(&response, "content-type", "text/html"));
        assert!(response.text().await.unwrap().contains("Page not found"));
        let response = app
            .client
            .get(app.url("/api/v1/nope"))
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404);
        assert!(header_has(
            &response,
            "content-type",
            "application/problem+json"
        ));

        let css = app.get("/static/app.css").await;
        assert_eq!(css.status(), 200);
        assert!(header_has(&css, "content-type", "text/css"));
        let js = app.get("/static/app.js").await;
        assert!(header_has(&js, "content-type", "javascript"));
    }
);

fn header_has(response: &reqwest::Response, name: &str, part: &str) -> bool {
    response
        .headers()
        .get(name)
        .is_some_and(|v| v.to_str().unwrap().contains(part))
}

both_backends!(
    forms_without_the_csrf_token_or_from_elsewhere_change_nothing,
    |backend| async move {
        let app = App::spawn(backend).await;
        app.sign_up("ines@example.com").await;
        let mut browser = Browser::new(&app);
        browser.get("/login").await;

        // No token at all.
        let page = browser
            .post(
                "/login",
                &[("email", "ines@example.com"), ("password", STRONG)],
            )
            .await;
        assert_eq!(page.status, 403);
        assert!(page.cookie_line("okw_session").is_none());

        // Someone else's token (from another browser's cookie).
        let mut other = Browser::new(&app);
        let foreign = other.get("/login").await.csrf();
        let page = browser
            .post(
                "/login",
                &[
                    ("csrf", foreign.as_str()),
                    ("email", "ines@example.com"),
                    ("password", STRONG),
                ],
            )
            .await;
        assert_eq!(page.status, 403);
        assert!(page.cookie_line("okw_session").is_none());

        // The right token, posted from another site.
        let csrf = browser.get("/login").await.csrf();
        let response = browser
            .client
            .post(format!("{}/login", browser.base))
            .header("cookie", browser.cookie_header())
            .header("origin", "https://evil.example")
            .form(&[
                ("csrf", csrf.as_str()),
                ("email", "ines@example.com"),
                ("password", STRONG),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403);

        // Signed in, a form from the anonymous page's token no longer works either.
        let page = browser.log_in("ines@example.com", STRONG).await;
        assert_eq!(page.status, 303, "{}", page.body);
        let page = browser
            .post("/security/freeze", &[("csrf", csrf.as_str())])
            .await;
        assert_eq!(page.status, 403);
        let me = app
            .state
            .db
            .user_by_email(&identity::Email::parse("ines@example.com").unwrap())
            .await
            .unwrap()
            .unwrap();
        assert!(
            me.frozen_at_ms.is_none(),
            "a forged freeze froze the account"
        );
        let security = browser.get("/security").await;
        assert_eq!(security.status, 200);
    }
);

both_backends!(
    sign_up_log_in_and_the_session_cookie,
    |backend| async move {
        let app = App::spawn(backend).await;
        let mut browser = Browser::new(&app);

        let page = browser
            .submit(
                "/signup",
                "/signup",
                &[("email", "jun@example.com"), ("password", "password123")],
            )
            .await;
        assert_eq!(page.status, 422);
        assert!(page.body.contains("role=\"alert\""), "{}", page.body);
        // The advice is listed once, under a short title.
        let alert = page.body.split("role=\"alert\"").nth(1).unwrap();
        let alert = alert.split("</div>").next().unwrap();
        let first_hint = alert
            .split("<li>")
            .nth(1)
            .expect("advice is listed")
            .split("</li>")
            .next()
            .unwrap();
        assert_eq!(alert.matches(first_hint).count(), 1, "{alert}");
        let page = browser
            .submit(
                "/signup",
                "/signup",
                &[("email", "jun@example.com"), ("password", STRONG)],
            )
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        // Signing up again with the same address reads exactly the same.
        let mut again = Browser::new(&app);
        let second = again
            .submit(
                "/signup",
                "/signup",
                &[("email", "jun@example.com"), ("password", STRONG)],
            )
            .await;
        assert_eq!(second.status, 200);
        assert_eq!(page.body, second.body);

        let page = browser
            .log_in("jun@example.com", "wrong password here")
            .await;
        assert_eq!(page.status, 401);
        assert!(page.body.contains("role=\"alert\""));

        let page = browser
            .submit(
                "/login?next=/security",
                "/login",
                &[
                    ("email", "jun@example.com"),
                    ("password", STRONG),
                    ("next", "/security"),
                ],
            )
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        assert_eq!(page.location.as_deref(), Some("/security"));
        let cookie = page
            .cookie_line("okw_session")
            .expect("a session cookie")
            .clone();
        for attribute in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
            assert!(cookie.contains(attribute), "{cookie}");
        }
        let dashboard = browser.get("/").await;
        assert!(dashboard.body.contains("Balances"), "{}", dashboard.body);
        let security = browser.get("/security").await;
        assert_eq!(security.status, 200);
        assert!(security.body.contains("This device"));

        // The cookie's token is not an API token, and an API token is not a cookie.
        let web_token = browser.cookies["okw_session"].clone();
        let r = app.get_auth("/api/v1/me", &web_token).await;
        assert_eq!(r.status(), 401);
        let api_token = app.token("jun@example.com").await;
        let mut forged = Browser::new(&app);
        forged.cookies.insert("okw_session".into(), api_token);
        let page = forged.get("/security").await;
        assert_eq!(page.status, 303);
        assert_eq!(page.location.as_deref(), Some("/login?next=/security"));

        // Log out: the cookie is cleared and the session is dead even if replayed.
        let page = browser.submit("/", "/logout", &[]).await;
        assert_eq!(page.status, 303);
        let mut replay = Browser::new(&app);
        replay.cookies.insert("okw_session".into(), web_token);
        assert_eq!(replay.get("/security").await.status, 303);
    }
);

both_backends!(
    totp_enrolment_and_the_two_step_log_in_through_pages,
    |backend| async move {
        let app = App::spawn(backend).await;
        app.sign_up("kai@example.com").await;
        let mut browser = Browser::new(&app);
        assert_eq!(browser.log_in("kai@example.com", STRONG).await.status, 303);

        let page = browser
            .submit("/security", "/security/totp/start", &[])
            .await;
        assert_eq!(page.status, 303);
        let page = browser.get("/security/totp").await;
        assert!(page.body.contains("<svg"), "a QR code");
        let marker = "data-secret=\"";
        let start = page.body.find(marker).unwrap() + marker.len();
        let secret = page.body[start..].split('"').next().unwrap().to_owned();
        let secret = TotpSecret::from_base32(&secret).expect("the shown secret decodes");

        let page = browser
            .submit(
                "/security/totp",
                "/security/totp/confirm",
                &[("otp", "000000")],
            )
            .await;
        assert_eq!(page.status, 422);
        let code = secret.code_at(now_s());
        let page = browser
            .submit(
                "/security/totp",
                "/security/totp/confirm",
                &[("otp", &code)],
            )
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        let recovery: Vec<String> = page
            .body
            .split("<li><code>")
            .skip(1)
            .map(|s| s.split('<').next().unwrap().to_owned())
            .collect();
        assert_eq!(recovery.len(), 10);

        // Log out, then in: the password alone only reaches the code step.
        browser.submit("/", "/logout", &[]).await;
        let page = browser.log_in("kai@example.com", STRONG).await;
        assert_eq!(page.status, 303);
        assert!(page
            .location
            .as_deref()
            .unwrap()
            .starts_with("/login/verify"));
        assert!(page.cookie_line("okw_session").is_none());
        // The half-finished log-in opens nothing.
        assert_eq!(browser.get("/security").await.status, 303);
        let pending = browser.cookies["okw_pending"].clone();
        assert_eq!(app.get_auth("/api/v1/me", &pending).await.status(), 401);

        let page = browser
            .submit("/login/verify", "/login/verify", &[("otp", "999999")])
            .await;
        assert_eq!(page.status, 422);
        let code = secret.code_at(now_s() + STEP_S);
        let page = browser
            .submit("/login/verify", "/login/verify", &[("otp", &code)])
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        assert!(page.cookie_line("okw_session").is_some());
        assert_eq!(browser.get("/security").await.status, 200);
        // The pending step is spent.
        let page = browser.get("/login/verify").await;
        assert_eq!(page.status, 303);

        // A recovery code works once as the second step.
        browser.submit("/", "/logout", &[]).await;
        browser.log_in("kai@example.com", STRONG).await;
        let page = browser
            .submit("/login/verify", "/login/verify", &[("otp", &recovery[0])])
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        browser.submit("/", "/logout", &[]).await;
        browser.log_in("kai@example.com", STRONG).await;
        let page = browser
            .submit("/login/verify", "/login/verify", &[("otp", &recovery[0])])
            .await;
        assert_eq!(page.status, 422);
    }
);

both_backends!(
    the_security_centre_ends_sessions_sets_the_code_and_freezes,
    |backend| async move {
        let app = App::spawn(backend).await;
        app.sign_up("lin@example.com").await;
        app.sign_up("mo@example.com").await;
        let mut browser = Browser::new(&app);
        browser.log_in("lin@example.com", STRONG).await;
        let api_token = app.token("lin@example.com").await;
        let mo_token = app.token("mo@example.com").await;
        let mo_sessions = app.get_auth("/api/v1/me/sessions", &mo_token).await;
        let mo_session = mo_sessions.json::<Value>().await.unwrap()["items"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned();

        // Someone else's session cannot be ended from this account.
        let page = browser
            .submit(
                "/security",
                &format!("/security/sessions/{mo_session}/end"),
                &[],
            )
            .await;
        assert_eq!(page.status, 422, "{}", page.body);
        assert_eq!(app.get_auth("/api/v1/me", &mo_token).await.status(), 200);

        // Anti-phishing code: needs the password (no second factor yet).
        let page = browser
            .submit(
                "/security",
                "/security/anti-phishing",
                &[("code", "blue heron"), ("password", "not my password")],
            )
            .await;
        assert_eq!(page.status, 422);
        let page = browser
            .submit(
                "/security",
                "/security/anti-phishing",
                &[("code", "blue heron"), ("password", STRONG)],
            )
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("blue heron"));

        // End every other session: the API token dies, this one lives.
        let page = browser
            .submit("/security", "/security/sessions/end-others", &[])
            .await;
        assert_eq!(page.status, 200);
        assert_eq!(app.get_auth("/api/v1/me", &api_token).await.status(), 401);
        assert_eq!(browser.get("/security").await.status, 200);

        // Freeze: signed out at once, the account is frozen, the log says so.
        let page = browser.submit("/security", "/security/freeze", &[]).await;
        assert_eq!(page.status, 200);
        assert!(page
            .cookie_line("okw_session")
            .unwrap()
            .contains("Max-Age=0"));
        assert_eq!(browser.get("/security").await.status, 303);
        let token = app.token("lin@example.com").await;
        let me: Value = app
            .get_auth("/api/v1/me", &token)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(me["frozen"], json!(true));
        assert_eq!(app.get_auth("/api/v1/me", &mo_token).await.status(), 200);

        // Back in, the centre offers the unfreeze, which waits for the cooling-off period.
        browser.log_in("lin@example.com", STRONG).await;
        let page = browser.get("/security").await;
        assert!(page.body.contains("/security/unfreeze"));
        assert!(
            page.body.contains("Account frozen"),
            "the log shows the freeze"
        );
        let page = browser
            .submit("/security", "/security/unfreeze", &[("password", STRONG)])
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        let me: Value = app
            .get_auth("/api/v1/me", &token)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            me["frozen"],
            json!(true),
            "still frozen during the cooling-off"
        );
    }
);

both_backends!(
    staff_consoles_need_the_role_and_a_second_factor,
    |backend| async move {
        let app = App::spawn(backend).await;
        app.sign_up("nia@example.com").await;
        let hash = identity::hash_password(STRONG).unwrap();
        let admin = app
            .state
            .db
            .create_user(
                &identity::Email::parse("root@example.com").unwrap(),
                &hash,
                identity::Role::Admin,
                "en",
            )
            .await
            .unwrap();

        let mut user = Browser::new(&app);
        assert_eq!(user.get("/admin").await.status, 303, "anonymous → log in");
        user.log_in("nia@example.com", STRONG).await;
        let page = user.get("/admin").await;
        assert_eq!(page.status, 403);
        assert!(!page.body.contains("nia@example.com</th>"));
        assert!(
            !page.body.contains("href=\"/admin\""),
            "no link to what is closed"
        );

        let mut root = Browser::new(&app);
        root.log_in("root@example.com", STRONG).await;
        let page = root.get("/admin").await;
        assert_eq!(page.status, 403);
        assert!(page.body.contains("/security#two-factor"), "{}", page.body);

        root.submit("/security", "/security/totp/start", &[]).await;
        let factor = app.state.db.totp_factor(&admin.id).await.unwrap().unwrap();
        // Stored sealed: the database alone does not give the secret away.
        assert!(identity::sealed::is_sealed(&factor.secret_base32));
        let secret = app
            .state
            .settings
            .totp_secret(&admin.id, &factor.secret_base32)
            .unwrap();
        let code = secret.code_at(now_s());
        let page = root
            .submit(
                "/security/totp",
                "/security/totp/confirm",
                &[("otp", &code)],
            )
            .await;
        assert_eq!(page.status, 200);
        let page = root.get("/admin").await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("nia@example.com"));
        let audit = app.state.db.audit_events_for("users").await.unwrap();
        assert_eq!(audit.len(), 1);
        assert_eq!(audit[0].actor, format!("user:{}", admin.id));
        assert_eq!(audit[0].action, "admin.users.view");
    }
);

both_backends!(
    lockout_is_explained_on_the_log_in_page,
    |backend| async move {
        let app = App::spawn(backend).await;
        app.sign_up("omar@example.com").await;
        let mut browser = Browser::new(&app);
        browser.lang = "zh-CN";
        let mut last = None;
        for _ in 0..5 {
            last = Some(
                browser
                    .log_in("omar@example.com", "not the password at all")
                    .await,
            );
        }
        let page = last.unwrap();
        assert_eq!(page.status, 423, "{}", page.body);
        assert!(page.body.contains("后解锁"), "{}", page.body);
        // Even the right password waits.
        let page = browser.log_in("omar@example.com", STRONG).await;
        assert_eq!(page.status, 423);
    }
);

both_backends!(
    mail_links_open_pages_that_act_only_when_asked,
    |backend| async move {
        use crate::mail::link_token;
        let app = App::spawn_demo(backend).await;
        let mut browser = Browser::new(&app);
        browser
            .submit(
                "/signup",
                "/signup",
                &[("email", "pia@example.com"), ("password", STRONG)],
            )
            .await;
        browser.log_in("pia@example.com", STRONG).await;

        // The mailbox page shows the mail with its links.
        let page = browser.get("/dev/mailbox").await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("/verify-email?token="), "{}", page.body);
        let page = browser
            .get("/dev/mailbox?to=someone.else@example.com")
            .await;
        assert!(
            !page.body.contains("/verify-email?token="),
            "the filter shows only that address"
        );
        let page = browser.get("/dev/mailbox?to=pia@example.com").await;
        assert!(page.body.contains("/verify-email?token="));

        // Verify: opening the link changes nothing; the button does, once.
        let mail = app.mail("pia@example.com", "verify_email").await;
        let token = link_token(&mail, "/verify-email");
        let page = browser.get(&format!("/verify-email?token={token}")).await;
        assert_eq!(page.status, 200);
        let security = browser.get("/security").await;
        assert!(security.body.contains("Not verified"));
        let page = browser
            .submit(
                &format!("/verify-email?token={token}"),
                "/verify-email",
                &[("token", &token)],
            )
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        let security = browser.get("/security").await;
        assert!(security.body.contains(">Verified<"), "{}", security.body);
        let page = browser
            .submit(
                &format!("/verify-email?token={token}"),
                "/verify-email",
                &[("token", &token)],
            )
            .await;
        assert_eq!(page.status, 410);

        // Freeze from the new-login mail: the GET is harmless, the button freezes.
        let mail = app.mail("pia@example.com", "new_login").await;
        let token = link_token(&mail, "/freeze");
        let mut stranger = Browser::new(&app);
        let page = stranger.get(&format!("/freeze?token={token}")).await;
        assert_eq!(page.status, 200);
        assert_eq!(
            browser.get("/security").await.status,
            200,
            "not frozen by a GET"
        );
        let page = stranger
            .submit(
                &format!("/freeze?token={token}"),
                "/freeze",
                &[("token", &token)],
            )
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert_eq!(
            browser.get("/security").await.status,
            303,
            "signed out everywhere"
        );

        // Forgotten password: the same answer for anyone, a working link for the owner.
        let page = stranger
            .submit(
                "/forgot-password",
                "/forgot-password",
                &[("email", "nobody@example.com")],
            )
            .await;
        assert_eq!(page.status, 200);
        let unknown_answer = page.body.clone();
        let page = stranger
            .submit(
                "/forgot-password",
                "/forgot-password",
                &[("email", "pia@example.com")],
            )
            .await;
        assert_eq!(page.status, 200);
        assert_eq!(page.body, unknown_answer);
        let mail = app.mail("pia@example.com", "password_reset").await;
        let token = link_token(&mail, "/reset-password");
        let reset_page = format!("/reset-password?token={token}");
        let page = stranger
            .submit(
                &reset_page,
                "/reset-password",
                &[("token", &token), ("password", "short")],
            )
            .await;
        assert_eq!(page.status, 422);
        let new_password = "a completely new passphrase 2027";
        let page = stranger
            .submit(
                &reset_page,
                "/reset-password",
                &[("token", &token), ("password", new_password)],
            )
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert_eq!(browser.log_in("pia@example.com", STRONG).await.status, 401);
        assert_eq!(
            browser.log_in("pia@example.com", new_password).await.status,
            303
        );
    }
);

both_backends!(
    the_dev_mailbox_page_exists_only_in_the_demo,
    |backend| async move {
        let app = App::spawn(backend).await;
        let mut browser = Browser::new(&app);
        let page = browser.get("/dev/mailbox").await;
        assert_eq!(page.status, 404);
        assert!(!browser.get("/").await.body.contains("/dev/mailbox"));
    }
);
