//! The web pages: server-rendered HTML (askama) in zh-CN and English, with cookie sessions and
//! CSRF-checked forms. No build step: templates are compiled into the binary and the few static
//! files are embedded.
//!
//! Deny by default, as in the API: a page handler that does not take [`SignedIn`] (or a
//! stronger guard) is public. Every form is read through [`CsrfForm`], which refuses a post
//! without the right token or from another site; pages never accept bearer tokens, and the API
//! never accepts the session cookie, so neither can be used to forge requests to the other.

pub mod account;
pub mod activity;
pub mod admin;
pub mod agent;
mod assets;
pub mod callbacks;
mod chat;
pub mod desk_admin;
pub mod help;
pub mod help_admin;
pub mod home;
pub mod links;
pub mod merchant;
pub mod moves;
pub mod security;
pub mod supervisor;
pub mod support;
mod texts;
mod texts_callbacks;
mod texts_chat;
mod texts_desk;
mod texts_diagnose;
mod texts_live;
mod texts_supervisor;
mod troubleshoot;
pub mod wallet;

use std::fmt::Write as _;

use askama::Template;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_LANGUAGE, CONTENT_SECURITY_POLICY, CONTENT_TYPE, HOST, LOCATION,
    REFERRER_POLICY, SET_COOKIE, VARY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::Engine as _;
use identity::token::{token_hash, Token};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use store::sessions::Origin;

use crate::auth::CurrentSession;
use crate::error::ApiError;
use crate::lang::{cookie, Lang, LANG_COOKIE};
use crate::AppState;

pub use texts::{lookup, text};

/// The cookie holding a web session's token.
pub const SESSION_COOKIE: &str = "okw_session";
/// The cookie holding the CSRF secret of someone not signed in.
pub const CSRF_COOKIE: &str = "okw_csrf";
/// The largest form a page accepts unless its route sets a [`FormLimit`].
const FORM_BYTES_MAX: usize = 16 * 1024;

/// A route's own form size limit, as a request extension (the article editor's Markdown is
/// larger than any other form).
#[derive(Clone, Copy, Debug)]
pub struct FormLimit(pub usize);

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(assets::router())
        .merge(home::router())
        .merge(account::router())
        .merge(security::router())
        .merge(admin::router())
        .merge(wallet::router())
        .merge(moves::router())
        .merge(activity::router())
        .merge(merchant::router())
        .merge(links::router())
        .merge(help::router())
        .merge(help_admin::router())
        .merge(support::router())
        .merge(supervisor::router())
        .merge(desk_admin::router())
        .merge(agent::router())
        .merge(chat::router())
        .merge(troubleshoot::router())
        .merge(callbacks::router())
        .merge(lang_router())
}

/// Everything a page needs about the request: language, who is signed in, the CSRF token to
/// put in forms, and where the request came from.
pub struct PageCtx {
    pub lang: Lang,
    pub current: Option<CurrentSession>,
    /// The token every form on the page carries.
    pub csrf: String,
    /// A fresh anonymous CSRF secret that the response must set as a cookie.
    new_csrf_cookie: Option<String>,
    pub origin: Origin,
    /// The path of this page, for the language switch to come back to.
    pub path: String,
    pub demo: bool,
    secure_cookies: bool,
    /// Cookies the handler wants set or cleared with the response.
    set_cookies: Vec<String>,
}

impl FromRequestParts<AppState> for PageCtx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<PageCtx, Self::Rejection> {
        let lang = Lang::from_headers(&parts.headers);
        let origin = crate::auth::origin(parts, &state.settings.trusted_proxies);
        let session_token = cookie(&parts.headers, SESSION_COOKIE).and_then(Token::parse);
        let mut current = None;
        if let Some(token) = &session_token {
            // A storage failure here shows the page signed out rather than failing it; the
            // next request tries again.
            match state
                .db
                .session_by_token_hash(&token_hash(token.as_str()))
                .await
            {
                Ok(Some((session, user))) if session.kind == "web" => {
                    current = Some(CurrentSession { session, user })
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = format!("{e:#}"), "session lookup failed"),
            }
        }
        let (csrf, new_csrf_cookie) = match (&current, &session_token) {
            (Some(_), Some(token)) => (session_csrf(token.as_str()), None),
            _ => match cookie(&parts.headers, CSRF_COOKIE).filter(|v| v.len() == 43) {
                Some(secret) => (secret.to_owned(), None),
                None => {
                    let secret = Token::generate().as_str()[4..].to_owned();
                    (secret.clone(), Some(secret))
                }
            },
        };
        Ok(PageCtx {
            lang,
            current,
            csrf,
            new_csrf_cookie,
            origin,
            path: parts
                .uri
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_owned(),
            demo: state.demo,
            secure_cookies: secure_cookies(&state.settings.public_url),
            set_cookies: Vec::new(),
        })
    }
}

/// The CSRF token of a signed-in page: derived from the session token, which only the
/// browser holding the cookie knows, so it needs no storage and dies with the session.
fn session_csrf(token: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"okwallet csrf v1\0")
        .chain_update(token.as_bytes())
        .finalize();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
}

/// Cookies are marked `Secure` unless the operator serves plain HTTP on a host that is not
/// this machine; browsers accept `Secure` cookies from `http://localhost`.
fn secure_cookies(public_url: &str) -> bool {
    let host = public_url
        .strip_prefix("http://")
        .map(|rest| rest.split(':').next().unwrap_or(rest));
    match host {
        None => true,
        Some(host) => matches!(host, "localhost" | "127.0.0.1" | "[::1]"),
    }
}

/// Compares two secrets in time independent of where they differ.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl PageCtx {
    /// The text under `key` in the page's language.
    pub fn t(&self, key: &str) -> &'static str {
        text(self.lang, key)
    }

    /// The text under `key`, or `fallback` when there is none (for open-ended kinds such as
    /// security-log entries written by newer versions).
    pub fn t_or(&self, key: impl AsRef<str>, fallback: impl AsRef<str>) -> String {
        texts::lookup(self.lang, key.as_ref())
            .map_or_else(|| fallback.as_ref().to_owned(), str::to_owned)
    }

    pub fn signed_in(&self) -> bool {
        self.current.is_some()
    }

    pub fn is_zh(&self) -> bool {
        self.lang == Lang::ZhCn
    }

    /// Whether the signed-in person holds exactly `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.current
            .as_ref()
            .is_some_and(|c| c.user.role.as_str() == role)
    }

    pub fn email(&self) -> &str {
        self.current.as_ref().map_or("", |c| c.user.email.as_str())
    }

    /// The path to switch the language and come back here.
    pub fn switch_lang_href(&self) -> String {
        let to = self.lang.pick("zh-CN", "en");
        format!("/lang?to={to}&back={}", percent_encode(&self.path))
    }

    fn cookie(&self, name: &str, value: &str, extra: &str) -> String {
        let secure = if self.secure_cookies { "; Secure" } else { "" };
        format!("{name}={value}; Path=/; HttpOnly{secure}{extra}")
    }

    /// Sets the session cookie for a session just started.
    pub fn set_session_cookie(&mut self, token: &str, max_age_s: i64) {
        let cookie = self.cookie(
            SESSION_COOKIE,
            token,
            &format!("; SameSite=Lax; Max-Age={max_age_s}"),
        );
        self.set_cookies.push(cookie);
    }

    /// Clears the session cookie.
    pub fn clear_session_cookie(&mut self) {
        let cookie = self.cookie(SESSION_COOKIE, "", "; SameSite=Lax; Max-Age=0");
        self.set_cookies.push(cookie);
    }

    /// Sets a short-lived cookie only the sign-in pages read.
    pub fn set_short_cookie(&mut self, name: &str, value: &str, max_age_s: i64) {
        let cookie = self.cookie(
            name,
            value,
            &format!("; SameSite=Strict; Max-Age={max_age_s}"),
        );
        self.set_cookies.push(cookie);
    }

    pub fn clear_short_cookie(&mut self, name: &str) {
        let cookie = self.cookie(name, "", "; SameSite=Strict; Max-Age=0");
        self.set_cookies.push(cookie);
    }

    fn set_lang_cookie(&mut self, lang: Lang) {
        let secure = if self.secure_cookies { "; Secure" } else { "" };
        self.set_cookies.push(format!(
            "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax{secure}",
            lang.tag()
        ));
    }

    fn finish(&self, mut response: Response) -> Response {
        let headers = response.headers_mut();
        if let Some(secret) = &self.new_csrf_cookie {
            let cookie = self.cookie(CSRF_COOKIE, secret, "; SameSite=Strict");
            append_cookie(headers, &cookie);
        }
        for cookie in &self.set_cookies {
            append_cookie(headers, cookie);
        }
        headers.insert(CONTENT_LANGUAGE, HeaderValue::from_static(self.lang.tag()));
        headers.insert(VARY, HeaderValue::from_static("accept-language, cookie"));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
                 object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
            ),
        );
        headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
        response
    }

    /// Renders `page` with `status`.
    pub fn render(&self, status: StatusCode, page: &impl Template) -> Response {
        match page.render() {
            Ok(html) => self.finish(
                (status, [(CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response(),
            ),
            Err(e) => {
                tracing::error!(error = %e, "a page failed to render");
                self.finish(StatusCode::INTERNAL_SERVER_ERROR.into_response())
            }
        }
    }

    /// A page that says one thing, with a link onwards.
    pub fn message(
        &self,
        status: StatusCode,
        title: &str,
        body: &str,
        link: (&str, &str),
    ) -> Response {
        self.render(
            status,
            &MessagePage {
                ctx: self,
                title: title.to_owned(),
                body: body.to_owned(),
                link_href: link.0.to_owned(),
                link_text: link.1.to_owned(),
            },
        )
    }

    /// The page for an error a handler could not answer inline.
    pub fn error(&self, error: &ApiError) -> Response {
        error.log();
        let problem = error.problem(
            self.lang,
            crate::request::current_id().map(|i| i.to_string()),
        );
        let status = error.status();
        let body = match &problem.request_id {
            Some(id) if status.is_server_error() => {
                format!("{} ({}: {id})", problem.detail, self.t("error.request_id"))
            }
            _ => problem.detail.clone(),
        };
        self.message(status, &problem.title, &body, ("/", self.t("nav.home")))
    }

    /// What a refused form shows: the message and, for a weak password, the advice to list.
    /// With advice to list, the detail (which repeats it) gives way to the title.
    pub fn refusal(&self, error: &ApiError) -> (String, Vec<String>) {
        let problem = error.problem(self.lang, None);
        match error.reason() {
            crate::error::Reason::WeakPassword {
                feedback_en,
                feedback_zh,
            } => {
                let hints = self.lang.pick(feedback_en, feedback_zh).clone();
                if hints.is_empty() {
                    (problem.detail, hints)
                } else {
                    (problem.title, hints)
                }
            }
            _ => (problem.detail, Vec::new()),
        }
    }

    /// A redirect after a form post (303, so the browser follows with GET).
    pub fn see_other(&self, to: &str) -> Response {
        self.finish((StatusCode::SEE_OTHER, [(LOCATION, to.to_owned())]).into_response())
    }

    /// Sends someone who is not signed in to the log-in page, to come back here afterwards.
    pub fn to_login(&self) -> Response {
        self.see_other(&format!("/login?next={}", percent_encode(&self.path)))
    }
}

fn append_cookie(headers: &mut HeaderMap, cookie: &str) {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        headers.append(SET_COOKIE, value);
    }
}

/// Percent-encodes a path for use in a query value.
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// A local path to go to after signing in: only same-site paths, never `//host` or a scheme,
/// so the parameter cannot send anyone to a phishing site.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') => p.to_owned(),
        _ => "/".to_owned(),
    }
}

/// The page for an address that leads nowhere.
pub fn not_found_page(ctx: &PageCtx) -> Response {
    ctx.message(
        StatusCode::NOT_FOUND,
        ctx.t("not_found.title"),
        ctx.t("not_found.body"),
        ("/", ctx.t("nav.home")),
    )
}

/// A signed-in person, or a redirect to the log-in page.
pub struct SignedIn {
    pub ctx: PageCtx,
    pub current: CurrentSession,
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let ctx = PageCtx::from_request_parts(parts, state)
            .await
            .unwrap_or_else(|never| match never {});
        match ctx.current.clone() {
            Some(current) => Ok(SignedIn { ctx, current }),
            None => Err(ctx.to_login()),
        }
    }
}

/// A form posted from one of our pages: checked for the CSRF token and for coming from this
/// site, then parsed. A post that fails either check changes nothing.
pub struct CsrfForm<T> {
    pub ctx: PageCtx,
    pub form: T,
}

impl<T: DeserializeOwned> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let ctx = PageCtx::from_request_parts(&mut parts, state)
            .await
            .unwrap_or_else(|never| match never {});
        let refuse = csrf_refusal;
        if !same_site(&parts.headers, &state.settings.public_url) {
            return Err(refuse(&ctx));
        }
        let limit = parts
            .extensions
            .get::<FormLimit>()
            .map_or(FORM_BYTES_MAX, |l| l.0);
        let bytes = match axum::body::to_bytes(body, limit).await {
            Ok(bytes) => bytes,
            Err(_) => {
                return Err(ctx.message(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    ctx.t("form.too_large.title"),
                    ctx.t("form.too_large.body"),
                    ("/", ctx.t("nav.home")),
                ))
            }
        };
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
        let sent = pairs
            .iter()
            .find(|(k, _)| k == "csrf")
            .map_or("", |(_, v)| v.as_str());
        if ctx.new_csrf_cookie.is_some() || !same_secret(sent, &ctx.csrf) {
            return Err(refuse(&ctx));
        }
        match serde_urlencoded::from_bytes::<T>(&bytes) {
            Ok(form) => Ok(CsrfForm { ctx, form }),
            Err(_) => Err(ctx.message(
                StatusCode::BAD_REQUEST,
                ctx.t("form.invalid.title"),
                ctx.t("form.invalid.body"),
                ("/", ctx.t("nav.home")),
            )),
        }
    }
}

/// What a form without its CSRF token, or from another site, gets.
fn csrf_refusal(ctx: &PageCtx) -> Response {
    ctx.message(
        StatusCode::FORBIDDEN,
        ctx.t("csrf.title"),
        ctx.t("csrf.body"),
        ("/", ctx.t("nav.home")),
    )
}

/// Refuses posts that a browser says come from another site (`Sec-Fetch-Site`) or whose
/// `Origin` is neither the public address nor the address the request was sent to.
pub(super) fn same_site(headers: &HeaderMap, public_url: &str) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if !matches!(site, "same-origin" | "none") {
            return false;
        }
    }
    let Some(origin) = headers.get("origin").and_then(|v| v.to_str().ok()) else {
        return true;
    };
    if origin == public_url {
        return true;
    }
    let host = headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin_host = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    !host.is_empty() && origin_host == Some(host)
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    ctx: &'a PageCtx,
    title: String,
    body: String,
    link_href: String,
    link_text: String,
}

/// `/lang?to=zh-CN&back=/path`: remembers the chosen language and goes back.
async fn switch_lang(
    mut ctx: PageCtx,
    axum::extract::Query(q): axum::extract::Query<LangQuery>,
) -> Response {
    let lang = q.to.as_deref().and_then(Lang::from_tag).unwrap_or(ctx.lang);
    ctx.set_lang_cookie(lang);
    ctx.see_other(&safe_next(q.back.as_deref()))
}

#[derive(serde::Deserialize)]
struct LangQuery {
    to: Option<String>,
    back: Option<String>,
}

fn lang_router() -> Router<AppState> {
    Router::new().route("/lang", axum::routing::get(switch_lang))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_paths_stay_on_this_site() {
        assert_eq!(safe_next(Some("/security")), "/security");
        assert_eq!(safe_next(Some("//evil.example/")), "/");
        assert_eq!(safe_next(Some("https://evil.example/")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn cookies_are_secure_except_plain_http_elsewhere() {
        assert!(secure_cookies("https://wallet.example.com"));
        assert!(secure_cookies("http://localhost:8080"));
        assert!(secure_cookies("http://127.0.0.1:8080"));
        assert!(!secure_cookies("http://192.168.1.5:8080"));
    }

    #[test]
    fn cross_site_posts_are_refused() {
        let mut h = HeaderMap::new();
        h.insert(HOST, "localhost:8080".parse().unwrap());
        assert!(same_site(&h, "http://localhost:8080"));
        h.insert("origin", "http://localhost:8080".parse().unwrap());
        assert!(same_site(&h, "https://wallet.example.com"));
        h.insert("origin", "https://evil.example".parse().unwrap());
        assert!(!same_site(&h, "http://localhost:8080"));
        h.remove("origin");
        h.insert("sec-fetch-site", "cross-site".parse().unwrap());
        assert!(!same_site(&h, "http://localhost:8080"));
    }

    #[test]
    fn session_csrf_tokens_differ_per_session() {
        let a = session_csrf("okw_a");
        assert_eq!(a, session_csrf("okw_a"));
        assert_ne!(a, session_csrf("okw_b"));
        assert!(same_secret(&a, &session_csrf("okw_a")));
        assert!(!same_secret(&a, "short"));
    }
}
