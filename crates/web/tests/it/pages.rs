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
    pub(crate) lang: &'static str,
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

// --- money pages: send, activity, pay, merchant ------------------------------------------------

/// The value of the form field `name` on the page (the first one).
fn field(body: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body
        .find(&marker)
        .unwrap_or_else(|| panic!("a field {name}: {body}"))
        + marker.len();
    body[start..].split('"').next().unwrap().to_owned()
}

/// Credits `amount` of `asset` to a user from equity, as `okwallet ledger adjust` does.
async fn fund(app: &App, user_id: &str, asset: &str, amount: &str) {
    grant(
        app,
        store::accounts::AccountKind::User,
        Some(user_id),
        asset,
        amount,
    )
    .await;
}

/// Credits `amount` of `asset` to an account of `kind` from equity.
async fn grant(
    app: &App,
    kind: store::accounts::AccountKind,
    user_id: Option<&str>,
    asset: &str,
    amount: &str,
) {
    use ledger::{Amount, Transfer, TransferId, TransferKind};
    use store::accounts::AccountKind;
    let asset = app
        .state
        .db
        .assets()
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.code.as_str() == asset)
        .expect("a listed asset");
    let credit = app
        .state
        .db
        .ensure_account(kind, &asset.code, user_id)
        .await
        .unwrap();
    let debit = app
        .state
        .db
        .ensure_account(AccountKind::Equity, &asset.code, None)
        .await
        .unwrap();
    let transfer = Transfer {
        id: TransferId::parse(&format!("test-fund-{}", store::new_id())).unwrap(),
        kind: TransferKind::Single {
            debit,
            credit,
            amount: Amount::parse_decimal(amount, asset.decimals).unwrap(),
        },
        asset: asset.code.clone(),
        code: ledger::codes::ADJUSTMENT,
        reference: "test:fund".to_owned(),
        linked: false,
    };
    let results = app.state.ledger.submit(vec![transfer]).await.unwrap();
    assert_eq!(results[0].code, ledger::ResultCode::Ok);
}

/// A user's available balance of `asset`, in minor units.
async fn available(app: &App, user_id: &str, asset: &str) -> i64 {
    let code = ledger::AssetCode::parse(asset).unwrap();
    app.state
        .db
        .account(&store::accounts::user_account_id(user_id, &code))
        .await
        .unwrap()
        .map_or(0, |a| a.available())
}

async fn merchant(app: &App, email: &str) -> String {
    app.state
        .db
        .create_user(
            &identity::Email::parse(email).unwrap(),
            &identity::hash_password(STRONG).unwrap(),
            identity::Role::Merchant,
            "en",
        )
        .await
        .unwrap()
        .id
}

both_backends!(
    send_confirms_first_and_a_double_submit_sends_once,
    |backend| async move {
        let app = App::spawn(backend).await;
        let alice = app.sign_up("alice@example.com").await;
        let bob = app.sign_up("bob@example.com").await;
        fund(&app, &alice, "USDT", "10").await;
        let mut browser = Browser::new(&app);
        browser.log_in("alice@example.com", STRONG).await;

        let page = browser.get("/send?asset=USDT").await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(
            page.body.contains("data-available>10 USDT"),
            "{}",
            page.body
        );
        assert!(
            page.body.contains("data-left>"),
            "today's limit left is shown"
        );

        // Step one shows who it goes to, masked, and moves nothing.
        let page = browser
            .submit(
                "/send?asset=USDT",
                "/send",
                &[
                    ("asset", "USDT"),
                    ("to", "bob@example.com"),
                    ("amount", "2.5"),
                    ("note", "lunch"),
                    ("action", "review"),
                ],
            )
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("bo***@example.com"), "{}", page.body);
        assert!(page.body.contains("data-can-receive=\"yes\""));
        assert_eq!(available(&app, &bob, "USDT").await, 0);

        // Step two sends; the same confirmation posted again sends nothing more.
        let csrf = page.csrf();
        let form_key = field(&page.body, "form_key");
        let confirm = [
            ("csrf", csrf.as_str()),
            ("form_key", form_key.as_str()),
            ("asset", "USDT"),
            ("to", "bob@example.com"),
            ("amount", "2.5"),
            ("note", "lunch"),
            ("action", "send"),
        ];
        let first = browser.post("/send", &confirm).await;
        assert_eq!(first.status, 303, "{}", first.body);
        let done = first.location.clone().unwrap();
        assert!(done.starts_with("/send?asset=USDT&done=mv_"), "{done}");
        let second = browser.post("/send", &confirm).await;
        assert_eq!(second.status, 303, "{}", second.body);
        assert_eq!(second.location.as_deref(), Some(done.as_str()));
        assert_eq!(available(&app, &alice, "USDT").await, 7_500_000);
        assert_eq!(available(&app, &bob, "USDT").await, 2_500_000);

        let page = browser.get(&done).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("Sent: 2.5 USDT"), "{}", page.body);
        assert!(
            page.body.contains("data-available>7.5 USDT"),
            "{}",
            page.body
        );

        // More than there is: refused with the reason and where to go, nothing moves.
        let page = browser
            .submit(
                "/send?asset=USDT",
                "/send",
                &[
                    ("asset", "USDT"),
                    ("to", "bob@example.com"),
                    ("amount", "50"),
                ],
            )
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        let csrf = page.csrf();
        let form_key = field(&page.body, "form_key");
        let page = browser
            .post(
                "/send",
                &[
                    ("csrf", csrf.as_str()),
                    ("form_key", form_key.as_str()),
                    ("asset", "USDT"),
                    ("to", "bob@example.com"),
                    ("amount", "50"),
                    ("action", "send"),
                ],
            )
            .await;
        assert_eq!(page.status, 422, "{}", page.body);
        assert!(
            page.body.contains("data-code=\"insufficient_funds\""),
            "{}",
            page.body
        );
        assert!(page.body.contains("href=\"/deposit\""));
        assert_eq!(available(&app, &alice, "USDT").await, 7_500_000);

        // Unknown recipients are caught at the first step.
        let page = browser
            .submit(
                "/send?asset=USDT",
                "/send",
                &[
                    ("asset", "USDT"),
                    ("to", "nobody@example.com"),
                    ("amount", "1"),
                ],
            )
            .await;
        assert_eq!(page.status, 422);
        assert!(page.body.contains("data-code=\"recipient_not_found\""));

        // Without the CSRF token nothing is sent.
        let page = browser
            .post(
                "/send",
                &[
                    ("form_key", "01FRESHKEY"),
                    ("asset", "USDT"),
                    ("to", "bob@example.com"),
                    ("amount", "1"),
                    ("action", "send"),
                ],
            )
            .await;
        assert_eq!(page.status, 403);
        assert_eq!(available(&app, &bob, "USDT").await, 2_500_000);
    }
);

both_backends!(
    activity_lists_entries_explains_them_and_exports_csv,
    |backend| async move {
        let app = App::spawn(backend).await;
        let cai = app.sign_up("cai@example.com").await;
        app.sign_up("dong@example.com").await;
        fund(&app, &cai, "USDT", "5").await;
        let token = app.token("cai@example.com").await;
        let sent = app
            .post_json(
                "/api/v1/transfers",
                json!({"to": "dong@example.com", "asset": "USDT", "amount": "1.25", "note": "=tea"}),
                Some(&token),
            )
            .await;
        assert_eq!(sent.status(), 201);
        let sent = sent.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let refused = app
            .post_json(
                "/api/v1/transfers",
                json!({"to": "dong@example.com", "asset": "BTC", "amount": "1"}),
                Some(&token),
            )
            .await;
        assert_eq!(refused.status(), 422);
        let refused = refused.json::<Value>().await.unwrap()["movement_id"]
            .as_str()
            .unwrap()
            .to_owned();

        let mut anonymous = Browser::new(&app);
        let page = anonymous.get("/activity.csv").await;
        assert_eq!(page.status, 303, "the export needs the session");

        let mut browser = Browser::new(&app);
        browser.log_in("cai@example.com", STRONG).await;
        let page = browser.get("/activity").await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(
            page.body.contains(&format!("data-id=\"{sent}\"")),
            "{}",
            page.body
        );
        assert!(page.body.contains(&format!("data-id=\"{refused}\"")));
        assert!(page.body.contains("−1.25 USDT"));
        assert!(page.body.contains("data-reason=\"insufficient_funds\""));
        assert!(page
            .body
            .contains(&format!("href=\"/activity/{refused}/help\"")));
        assert!(page.body.contains("href=\"/activity.csv\""));

        // Filters narrow the list and travel to the export.
        let page = browser.get("/activity?kind=transfer&status=refused").await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains(&format!("data-id=\"{refused}\"")));
        assert!(!page.body.contains(&format!("data-id=\"{sent}\"")));
        assert!(
            page.body
                .contains("href=\"/activity.csv?kind=transfer&#38;status=refused\""),
            "{}",
            page.body
        );
        let page = browser.get("/activity?kind=bogus").await;
        assert_eq!(page.status, 422);
        // Paging by cursor.
        let page = browser.get("/activity?limit=1").await;
        let older = page.body.split("id=\"older\"").next().unwrap();
        let href = older
            .rsplit("href=\"")
            .next()
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let next = browser.get(&href.replace("&#38;", "&")).await;
        assert_eq!(next.status, 200);
        assert!(
            next.body.contains(&format!("data-id=\"{sent}\"")),
            "{}",
            next.body
        );

        let csv = browser.get("/activity.csv").await;
        assert_eq!(csv.status, 200);
        assert!(csv.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv"));
        let first_line = csv
            .body
            .trim_start_matches('\u{feff}')
            .lines()
            .next()
            .unwrap()
            .to_owned();
        assert!(
            first_line.starts_with("id,time (UTC),kind,direction"),
            "{first_line}"
        );
        assert!(csv.body.contains(&sent) && csv.body.contains(&refused));
        assert!(csv.body.contains("'=tea"), "a note never becomes a formula");
        let csv = browser.get("/activity.csv?status=completed").await;
        assert!(csv.body.contains(&sent) && !csv.body.contains(&refused));

        // Help with one entry: its reference, what happened, what to do.
        let page = browser.get(&format!("/activity/{refused}/help")).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains(&format!("id=\"reference\">{refused}<")));
        assert!(page.body.contains("Insufficient funds"));
        assert!(page.body.contains("href=\"/deposit\""));
        assert!(page.body.contains("Quote this reference"));
        // Someone else's entry does not exist for this user.
        let mut dong = Browser::new(&app);
        dong.log_in("dong@example.com", STRONG).await;
        assert_eq!(
            dong.get(&format!("/activity/{refused}/help")).await.status,
            404
        );
        assert_eq!(
            dong.get(&format!("/activity/{sent}/help")).await.status,
            200
        );
    }
);

both_backends!(a_payment_link_page_pays_once, |backend| async move {
    let app = App::spawn(backend).await;
    merchant(&app, "shop@example.com").await;
    let payer = app.sign_up("eve@example.com").await;
    fund(&app, &payer, "USDT", "50").await;

    let mut shop = Browser::new(&app);
    shop.log_in("shop@example.com", STRONG).await;
    let page = shop
        .submit(
            "/merchant",
            "/merchant/requests",
            &[
                ("asset", "USDT"),
                ("amount", "19.9"),
                ("description", "Tea set"),
                ("order_id", "A-1001"),
                ("expires_min", "30"),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let location = page.location.unwrap();
    let id = location
        .strip_prefix("/merchant/requests/")
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let page = shop.get(&location).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("<svg"), "a QR code");
    assert!(page.body.contains(&format!("/pay/{id}")));

    // Someone not signed in sees the request and the way to log in and come back.
    let mut visitor = Browser::new(&app);
    let page = visitor.get(&format!("/pay/{id}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("19.9 USDT") && page.body.contains("Tea set"));
    assert!(page.body.contains("sh***@example.com"));
    assert!(
        page.body
            .contains(&format!("href=\"/login?next=/pay/{id}\"")),
        "{}",
        page.body
    );
    assert!(!page.body.contains("action=\"/pay/"));

    let mut eve = Browser::new(&app);
    let page = eve
        .submit(
            &format!("/login?next=/pay/{id}"),
            "/login",
            &[
                ("email", "eve@example.com"),
                ("password", STRONG),
                ("next", &format!("/pay/{id}")),
            ],
        )
        .await;
    assert_eq!(
        page.location.as_deref(),
        Some(format!("/pay/{id}").as_str())
    );
    let page = eve.get(&format!("/pay/{id}")).await;
    let csrf = page.csrf();
    let form_key = field(&page.body, "form_key");
    let form = [("csrf", csrf.as_str()), ("form_key", form_key.as_str())];
    let paid = eve.post(&format!("/pay/{id}"), &form).await;
    assert_eq!(paid.status, 303, "{}", paid.body);
    let done = paid.location.unwrap();
    assert!(done.starts_with(&format!("/pay/{id}?paid=mv_")), "{done}");
    // The same button twice pays once.
    let again = eve.post(&format!("/pay/{id}"), &form).await;
    assert_eq!(again.location.as_deref(), Some(done.as_str()));
    assert_eq!(available(&app, &payer, "USDT").await, 30_100_000);
    let page = eve.get(&done).await;
    assert!(page.body.contains("Paid: 19.9 USDT"), "{}", page.body);
    assert!(page.body.contains("data-status=\"paid\""));

    // A new attempt is refused as already paid, with the words for it.
    let other = app.sign_up("fay@example.com").await;
    fund(&app, &other, "USDT", "50").await;
    let mut fay = Browser::new(&app);
    fay.log_in("fay@example.com", STRONG).await;
    let page = fay.get(&format!("/pay/{id}")).await;
    assert!(
        !page.body.contains("action=\"/pay/"),
        "a paid request has no Pay button"
    );
    let page = fay
        .post(
            &format!("/pay/{id}"),
            &[("csrf", page.csrf().as_str()), ("form_key", "01OTHERKEY")],
        )
        .await;
    assert_eq!(page.status, 409, "{}", page.body);
    assert!(page.body.contains("data-code=\"already_paid\""));
    assert_eq!(available(&app, &other, "USDT").await, 50_000_000);

    // The merchant sees who paid and every attempt, and can refund part of it.
    let page = shop.get(&format!("/merchant/requests/{id}")).await;
    assert!(page.body.contains("ev***@example.com"), "{}", page.body);
    assert!(
        page.body.contains("data-reason=\"already_paid\""),
        "{}",
        page.body
    );
    let csrf = page.csrf();
    let form_key = field(&page.body, "form_key");
    let page = shop
        .post(
            &format!("/merchant/requests/{id}/refund"),
            &[
                ("csrf", csrf.as_str()),
                ("form_key", form_key.as_str()),
                ("amount", "4.9"),
                ("reason", "one cup broken"),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(available(&app, &payer, "USDT").await, 35_000_000);
});

both_backends!(
    the_merchant_area_is_for_merchants_only,
    |backend| async move {
        let app = App::spawn(backend).await;
        app.sign_up("gus@example.com").await;
        merchant(&app, "stall@example.com").await;

        let mut anonymous = Browser::new(&app);
        assert_eq!(anonymous.get("/merchant").await.status, 303);

        let mut user = Browser::new(&app);
        user.log_in("gus@example.com", STRONG).await;
        let page = user.get("/merchant").await;
        assert_eq!(page.status, 403, "{}", page.body);
        assert!(
            !page.body.contains("href=\"/merchant\""),
            "no link to what is closed"
        );
        let page = user
            .submit(
                "/",
                "/merchant/requests",
                &[("asset", "USDT"), ("amount", "1")],
            )
            .await;
        assert_eq!(page.status, 403);
        let page = user.get("/").await;
        assert!(page.body.contains("href=\"/send\"") && page.body.contains("href=\"/activity\""));

        let mut stall = Browser::new(&app);
        stall.log_in("stall@example.com", STRONG).await;
        let page = stall.get("/merchant").await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("href=\"/merchant\""));

        // The webhook secret is shown once, when it is made.
        let page = stall
            .submit(
                "/merchant",
                "/merchant/webhook",
                &[("url", "http://127.0.0.1:9/hooks/okwallet")],
            )
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("data-secret>whsec_"), "{}", page.body);
        let page = stall.get("/merchant").await;
        assert!(!page.body.contains("whsec_"));
        assert!(page
            .body
            .contains("data-webhook-url>http://127.0.0.1:9/hooks/okwallet<"));
        let page = stall
            .submit("/merchant", "/merchant/webhook", &[("url", "ftp://nope")])
            .await;
        assert_eq!(page.status, 422);
        assert!(
            page.body.contains("data-code=\"invalid_field\""),
            "{}",
            page.body
        );
    }
);

both_backends!(
    convert_shows_a_locked_quote_and_converts_it_once,
    |backend| async move {
        let app = App::spawn(backend).await;
        let hana = app.sign_up("hana@example.com").await;
        fund(&app, &hana, "ETH", "2").await;
        grant(
            &app,
            store::accounts::AccountKind::Liquidity,
            None,
            "USDT",
            "1000000",
        )
        .await;
        app.state.db.set_price("ETH", "3000").await.unwrap();
        app.state.db.set_price("USDT", "1").await.unwrap();
        let mut browser = Browser::new(&app);
        browser.lang = "zh-CN";
        browser.log_in("hana@example.com", STRONG).await;

        // The assets come prefilled from the query.
        let page = browser.get("/convert?from=ETH&to=USDT&amount=1").await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(
            page.body.contains("<option value=\"USDT\" selected>"),
            "{}",
            page.body
        );
        assert!(page.body.contains("value=\"1\""));

        let page = browser
            .submit(
                "/convert",
                "/convert/quote",
                &[("from_asset", "ETH"), ("to_asset", "USDT"), ("amount", "1")],
            )
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("2982.015 USDT"), "{}", page.body);
        assert!(page.body.contains("data-countdown=\""));
        assert!(
            page.body.contains("此价格有效至"),
            "the expiry time shows without the script"
        );
        let quote_id = field(&page.body, "quote_id");
        let csrf = page.csrf();
        let form = [
            ("csrf", csrf.as_str()),
            ("quote_id", quote_id.as_str()),
            ("from_asset", "ETH"),
            ("to_asset", "USDT"),
            ("amount", "1"),
        ];
        let done = browser.post("/convert", &form).await;
        assert_eq!(done.status, 303, "{}", done.body);
        let location = done.location.unwrap();
        assert!(location.contains("&done=cv_"), "{location}");
        let again = browser.post("/convert", &form).await;
        assert_eq!(
            again.location.as_deref(),
            Some(location.as_str()),
            "a quote converts once"
        );
        assert_eq!(available(&app, &hana, "ETH").await, 1_000_000_000);
        assert_eq!(available(&app, &hana, "USDT").await, 2_982_015_000);
        let page = browser.get(&location).await;
        assert!(
            page.body.contains("已兑换：1 ETH → 2982.015 USDT"),
            "{}",
            page.body
        );

        // A quote past its time is refused with the words for it and a new-quote button.
        let mut stale = app.state.db.quote(&quote_id).await.unwrap().unwrap();
        stale.id = format!("qt_stale{}", store::new_id());
        stale.expires_at_ms = store::now_ms() - 1;
        stale.movement_id = None;
        app.state.db.insert_quote(&stale).await.unwrap();
        let page = browser
            .post(
                "/convert",
                &[
                    ("csrf", csrf.as_str()),
                    ("quote_id", stale.id.as_str()),
                    ("from_asset", "ETH"),
                    ("to_asset", "USDT"),
                    ("amount", "1"),
                ],
            )
            .await;
        assert_eq!(page.status, 410, "{}", page.body);
        assert!(page.body.contains("data-code=\"quote_expired\""));
        assert!(page.body.contains("报价已过期"));
        assert!(page.body.contains("id=\"requote\""));
        assert_eq!(available(&app, &hana, "ETH").await, 1_000_000_000);
    }
);
