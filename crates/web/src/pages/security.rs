//! `/security`, the security centre: second factor, devices, anti-phishing code, freeze, the
//! security log and a checklist of what to do next. Every route needs the session cookie; the
//! actions are the API's own handlers, called with the page's session, so the rules (step-up,
//! lockout counting, cooling-off) are the same.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::account::Empty;
use super::{CsrfForm, PageCtx, SignedIn};
use crate::api::{me, security};
use crate::auth::{CurrentSession, RequestOrigin, SteppedUp};
use crate::error::{ApiError, Reason};
use crate::json::ApiJson;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/security", get(centre))
        .route("/security/freeze", post(freeze))
        .route("/security/unfreeze", post(unfreeze))
        .route("/security/sessions/{id}/end", post(end_session))
        .route("/security/sessions/end-others", post(end_other_sessions))
        .route("/security/totp", get(totp_page))
        .route("/security/totp/start", post(totp_start))
        .route("/security/totp/confirm", post(totp_confirm))
        .route("/security/anti-phishing", post(set_anti_phishing))
        .route("/security/email-verification", post(resend_verification))
        .route("/security/passkeys/options", post(passkey_options))
        .route("/security/passkeys", post(passkey_add))
        .route("/security/passkeys/{id}/remove", post(passkey_remove))
}

/// One line of the checklist: whether it is done, and where to go to do it.
pub struct CheckItem {
    pub done: bool,
    pub label_key: &'static str,
    pub action_key: &'static str,
    pub href: &'static str,
}

/// What to do next to keep the account safe, in the order it matters.
pub async fn checklist(
    state: &AppState,
    current: &CurrentSession,
) -> Result<Vec<CheckItem>, ApiError> {
    let user = &current.user;
    let totp = state
        .db
        .totp_factor(&user.id)
        .await?
        .is_some_and(|f| f.confirmed);
    let passkey = !state.db.passkeys_for_user(&user.id).await?.is_empty();
    Ok(checklist_for(user, totp, passkey))
}

/// The checklist from what is already known about the account.
fn checklist_for(user: &store::users::User, totp: bool, passkey: bool) -> Vec<CheckItem> {
    vec![
        CheckItem {
            done: user.email_verified_at_ms.is_some(),
            label_key: "checklist.email",
            action_key: "checklist.email.action",
            href: "/security#email",
        },
        CheckItem {
            done: totp,
            label_key: "checklist.totp",
            action_key: "checklist.totp.action",
            href: "/security#two-factor",
        },
        CheckItem {
            done: passkey,
            label_key: "checklist.passkey",
            action_key: "checklist.passkey.action",
            href: "/security#passkeys",
        },
        CheckItem {
            done: user.anti_phishing_code.is_some(),
            label_key: "checklist.anti_phishing",
            action_key: "checklist.anti_phishing.action",
            href: "/security#anti-phishing",
        },
    ]
}

/// A passkey as the security centre lists it.
pub struct PasskeyLine {
    pub id: String,
    pub name: String,
    pub created: String,
    pub last_used: String,
}

/// A session as the device list shows it.
pub struct DeviceLine {
    pub id: String,
    pub device: String,
    pub ip: String,
    pub first_seen: String,
    pub last_seen: String,
    pub this_device: bool,
    pub api: bool,
}

/// An entry of the security log as the page shows it.
pub struct EventLine {
    pub at: String,
    pub kind_key: String,
    pub kind: String,
    pub ip: String,
    pub device: String,
    pub warning: bool,
}

#[derive(Template)]
#[template(path = "security.html")]
struct Centre<'a> {
    ctx: &'a PageCtx,
    checklist: Vec<CheckItem>,
    totp_enabled: bool,
    recovery_codes_left: i64,
    passkeys: Vec<PasskeyLine>,
    has_passkey: bool,
    devices: Vec<DeviceLine>,
    events: Vec<EventLine>,
    anti_phishing_code: Option<String>,
    email_verified: bool,
    frozen: bool,
    unfreeze_at: Option<String>,
    withdrawals_locked_until: Option<String>,
    notice: Option<String>,
    error: Option<String>,
}

/// A readable name for a device from its user agent: browser and system, or the agent itself
/// for programs.
pub fn describe_device(user_agent: &str) -> String {
    let ua = user_agent;
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ]
    .iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| *name);
    let system = [
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| *name);
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} · {s}"),
        (Some(b), None) => b.to_owned(),
        (None, Some(s)) => s.to_owned(),
        (None, None) if ua.is_empty() => "—".to_owned(),
        (None, None) => ua
            .split_whitespace()
            .next()
            .unwrap_or(ua)
            .chars()
            .take(40)
            .collect(),
    }
}

/// Milliseconds since the epoch as a short UTC time for pages.
pub fn page_time(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

/// Kinds of security events that deserve the owner's attention.
fn is_warning(kind: &str) -> bool {
    matches!(
        kind,
        "login_failed"
            | "mfa_failed"
            | "locked"
            | "verification_failed"
            | "frozen"
            | "signup_attempt"
    )
}

async fn centre(State(state): State<AppState>, SignedIn { ctx, current }: SignedIn) -> Response {
    render_centre(&state, &ctx, &current, None, None).await
}

async fn render_centre(
    state: &AppState,
    ctx: &PageCtx,
    current: &CurrentSession,
    notice: Option<String>,
    error: Option<String>,
) -> Response {
    let page: Result<Centre, ApiError> = async {
        let user = &current.user;
        let factor = state.db.totp_factor(&user.id).await?;
        let totp_enabled = factor.as_ref().is_some_and(|f| f.confirmed);
        let recovery_codes_left = if totp_enabled {
            state.db.recovery_codes_left(&user.id).await?
        } else {
            0
        };
        let passkeys: Vec<PasskeyLine> = state
            .db
            .passkeys_for_user(&user.id)
            .await?
            .into_iter()
            .map(|p| PasskeyLine {
                created: page_time(p.created_at_ms),
                last_used: p.last_used_at_ms.map_or_else(|| "—".to_owned(), page_time),
                id: p.id,
                name: p.name,
            })
            .collect();
        let devices = state
            .db
            .sessions_for_user(&user.id)
            .await?
            .into_iter()
            .map(|s| DeviceLine {
                this_device: s.id == current.session.id,
                api: s.kind == "api",
                device: describe_device(&s.user_agent),
                ip: s.ip,
                first_seen: page_time(s.created_at_ms),
                last_seen: page_time(s.last_seen_at_ms),
                id: s.id,
            })
            .collect();
        let events = state
            .db
            .security_events_for(&user.id, 30)
            .await?
            .into_iter()
            .map(|e| EventLine {
                at: page_time(e.at_ms),
                kind_key: format!("event.{}", e.kind),
                warning: is_warning(&e.kind),
                kind: e.kind,
                ip: e.ip,
                device: describe_device(&e.user_agent),
            })
            .collect();
        let now = store::now_ms();
        Ok(Centre {
            ctx,
            checklist: checklist_for(user, totp_enabled, !passkeys.is_empty()),
            totp_enabled,
            recovery_codes_left,
            has_passkey: !passkeys.is_empty(),
            passkeys,
            devices,
            events,
            anti_phishing_code: user.anti_phishing_code.clone(),
            email_verified: user.email_verified_at_ms.is_some(),
            frozen: user.is_frozen(now),
            unfreeze_at: user.unfreeze_at_ms.filter(|at| *at > now).map(page_time),
            withdrawals_locked_until: user
                .withdrawals_locked_until_ms
                .filter(|at| *at > now)
                .map(page_time),
            notice,
            error,
        })
    }
    .await;
    match page {
        Ok(page) => {
            let status = if page.error.is_some() {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::OK
            };
            ctx.render(status, &page)
        }
        Err(e) => ctx.error(&e),
    }
}

/// Answers a security-centre action: the centre again with a notice, or with the refusal's
/// text; server faults get the error page.
async fn after(
    state: &AppState,
    ctx: &PageCtx,
    current: &CurrentSession,
    result: Result<&'static str, ApiError>,
) -> Response {
    match result {
        Ok(notice_key) => {
            // Re-read the user so the page shows the change just made.
            let fresh = match state.db.user_by_id(&current.user.id).await {
                Ok(Some(user)) => CurrentSession {
                    session: current.session.clone(),
                    user,
                },
                Ok(None) => current.clone(),
                Err(e) => return ctx.error(&e.into()),
            };
            render_centre(state, ctx, &fresh, Some(ctx.t(notice_key).to_owned()), None).await
        }
        Err(e) if e.status().is_client_error() => {
            let detail = e.problem(ctx.lang, None).detail;
            render_centre(state, ctx, current, None, Some(detail)).await
        }
        Err(e) => ctx.error(&e),
    }
}

fn signed_in(ctx: &PageCtx) -> Option<CurrentSession> {
    ctx.current.clone()
}

async fn freeze(
    State(state): State<AppState>,
    CsrfForm { mut ctx, .. }: CsrfForm<Empty>,
) -> Response {
    let Some(current) = signed_in(&ctx) else {
        return ctx.to_login();
    };
    let origin = RequestOrigin(ctx.origin.clone());
    match me::freeze(State(state), origin, current).await {
        Ok(_) => {
            // Every session, this one included, has just ended: the page must not offer the
            // signed-in navigation (a log-out button with a dead session's token).
            ctx.clear_session_cookie();
            ctx.current = None;
            ctx.message(
                StatusCode::OK,
                ctx.t("frozen.done.title"),
                ctx.t("frozen.done.body"),
                ("/login", ctx.t("nav.login")),
            )
        }
        Err(e) => ctx.error(&e),
    }
}

#[derive(Deserialize, Default)]
pub(super) struct ProofForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    otp: String,
    /// A passkey's answer, filled in by the page's script.
    #[serde(default)]
    proof_ceremony_id: String,
    #[serde(default)]
    proof_credential: String,
}

impl ProofForm {
    /// Whether the form carried no proof at all (a session already stepped up sends none).
    pub(super) fn is_empty(&self) -> bool {
        [
            &self.password,
            &self.otp,
            &self.proof_ceremony_id,
            &self.proof_credential,
        ]
        .iter()
        .all(|v| v.trim().is_empty())
    }

    fn proof(self) -> Result<security::Proof, ApiError> {
        let some = |s: String| Some(s).filter(|s| !s.trim().is_empty());
        let passkey = if self.proof_credential.trim().is_empty() {
            None
        } else {
            Some(super::account::passkey_assertion(
                &self.proof_ceremony_id,
                &self.proof_credential,
            )?)
        };
        Ok(security::Proof {
            password: some(self.password),
            otp: some(self.otp),
            passkey,
        })
    }
}

async fn unfreeze(
    State(state): State<AppState>,
    CsrfForm { ctx, form }: CsrfForm<ProofForm>,
) -> Response {
    let Some(current) = signed_in(&ctx) else {
        return ctx.to_login();
    };
    let origin = RequestOrigin(ctx.origin.clone());
    let result = async {
        let proof = form.proof()?;
        security::unfreeze(
            State(state.clone()),
            origin,
            current.clone(),
            ApiJson(proof),
        )
        .await
    }
    .await
    .map(|_| "security.unfreeze.done");
    after(&state, &ctx, &current, result).await
}

async fn end_session(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm { ctx, .. }: CsrfForm<Empty>,
) -> Response {
    let Some(current) = signed_in(&ctx) else {
        return ctx.to_login();
    };
    let origin = RequestOrigin(ctx.origin.clone());
    let result = me::end_session(State(state.clone()), origin, current.clone(), Path(id))
        .await
        .map(|_| "security.sessions.ended");
    after(&state, &ctx, &current, result).await
}

async fn end_other_sessions(
    State(state): State<AppState>,
    CsrfForm { ctx, .. }: CsrfForm<Empty>,
) -> Response {
    let Some(current) = signed_in(&ctx) else {
        return ctx.to_login();
    };
    let origin = RequestOrigin(ctx.origin.clone());
    let result = me::end_other_sessions(State(state.clone()), origin, current.clone())
        .await
        .map(|_| "security.sessions.others_ended");
    after(&state, &ctx, &current, result).await
}

#[derive(Template)]
#[template(path = "totp.html")]
struct TotpPage<'a> {
    ctx: &'a PageCtx,
    secret: String,
    secret_grouped: String,
    qr_svg: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "recovery_codes.html")]
struct RecoveryCodesPage<'a> {
    ctx: &'a PageCtx,
    codes: Vec<String>,
}

/// The QR code of a text (an `otpauth://` URL, a deposit address) as inline SVG.
pub(super) fn qr_svg(text: &str) -> Option<String> {
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color>()
            .min_dimensions(220, 220)
            .quiet_zone(true)
            .dark_color(qrcode::render::svg::Color("#111111"))
            .light_color(qrcode::render::svg::Color("#ffffff"))
            .build(),
    )
}

async fn totp_page(State(state): State<AppState>, SignedIn { ctx, current }: SignedIn) -> Response {
    render_totp(&state, &ctx, &current, None).await
}

async fn render_totp(
    state: &AppState,
    ctx: &PageCtx,
    current: &CurrentSession,
    error: Option<String>,
) -> Response {
    let factor = match state.db.totp_factor(&current.user.id).await {
        Ok(f) => f,
        Err(e) => return ctx.error(&e.into()),
    };
    let Some(factor) = factor.filter(|f| !f.confirmed) else {
        return ctx.see_other("/security#two-factor");
    };
    let secret = match state
        .settings
        .totp_secret(&current.user.id, &factor.secret_base32)
    {
        Ok(secret) => secret,
        Err(e) => return ctx.error(&e),
    };
    let url = secret.otpauth_url(current.user.email.as_str());
    let base32 = secret.to_base32();
    let grouped = base32
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    ctx.render(
        status,
        &TotpPage {
            ctx,
            secret: base32,
            secret_grouped: grouped,
            qr_svg: qr_svg(&url).unwrap_or_default(),
            error,
        },
    )
}

async fn totp_start(
    State(state): State<AppState>,
    CsrfForm { ctx, .. }: CsrfForm<Empty>,
) -> Response {
    let Some(current) = signed_in(&ctx) else {
        return ctx.to_login();
    };
    match me::start_totp(State(state.clone()), current.clone()).await {
        Ok(_) => ctx.see_other("/security/totp"),
        Err(e) if matches!(e.reason(), Reason::MfaAlreadyEnabled) => {
            ctx.see_other("/security#two-factor")
        }
        Err(e) => after(&state, &ctx, &current, Err(e)).await,
    }
}

#[derive(Deserialize)]
struct OtpForm {
    #[serde(default)]
    otp: String,
}

async fn totp_confirm(
    State(state): State<AppState>,
    CsrfForm { ctx, form }: CsrfForm<OtpForm>,
) -> Response {
    let Some(current) = signed_in(&ctx) else {
        return ctx.to_login();
    };
    let origin = RequestOrigin(ctx.origin.clone());
    let body = me::ConfirmTotp {
        otp: form.otp.trim().to_owned(),
    };
    match me::confirm_totp(State(state.clone()), origin, current.clone(), ApiJson(body)).await {
        Ok(ApiJson(codes)) => ctx.render(
            StatusCode::OK,
            &RecoveryCodesPage {
                ctx: &ctx,
                codes: codes.recovery_codes,
            },
        ),
        Err(e) if e.status().is_client_error() => {
            let detail = e.problem(ctx.lang, None).detail;
            render_totp(&state, &ctx, &current, Some(detail)).await
        }
        Err(e) => ctx.error(&e),
    }
}

#[derive(Deserialize)]
struct AntiPhishingForm {
    #[serde(default)]
    code: String,
    #[serde(flatten)]
    proof: ProofForm,
}

/// Sets the anti-phishing code, stepping up first with the proof on the same form.
async fn set_anti_phishing(
    State(state): State<AppState>,
    CsrfForm { ctx, form }: CsrfForm<AntiPhishingForm>,
) -> Response {
    let Some(current) = signed_in(&ctx) else {
        return ctx.to_login();
    };
    let result: Result<&'static str, ApiError> = async {
        let SteppedUp(stepped) = step_up_with(&state, &ctx, &current, form.proof).await?;
        let body = security::AntiPhishingCode {
            code: form.code.trim().to_owned(),
        };
        let origin = RequestOrigin(ctx.origin.clone());
        security::set_anti_phishing_code(
            State(state.clone()),
            origin,
            SteppedUp(stepped),
            ApiJson(body),
        )
        .await?;
        Ok("security.anti_phishing.done")
    }
    .await;
    after(&state, &ctx, &current, result).await
}

async fn resend_verification(
    State(state): State<AppState>,
    CsrfForm { ctx, .. }: CsrfForm<Empty>,
) -> Response {
    let Some(current) = signed_in(&ctx) else {
        return ctx.to_login();
    };
    let result = crate::api::email_verifications::resend(State(state.clone()), current.clone())
        .await
        .map(|_| "security.email.sent");
    after(&state, &ctx, &current, result).await
}

/// Proves who is there with the form's password or code, then answers the session stepped up.
pub(super) async fn step_up_with(
    state: &AppState,
    ctx: &PageCtx,
    current: &CurrentSession,
    proof: ProofForm,
) -> Result<SteppedUp, ApiError> {
    let origin = RequestOrigin(ctx.origin.clone());
    security::step_up(
        State(state.clone()),
        origin,
        current.clone(),
        ApiJson(proof.proof()?),
    )
    .await?;
    let mut stepped = current.clone();
    stepped.session.stepped_up_at_ms = Some(store::now_ms());
    Ok(SteppedUp(stepped))
}

#[derive(Deserialize)]
struct PasskeyOptionsForm {
    #[serde(flatten)]
    proof: ProofForm,
}

/// Step one of adding a passkey, called by the page's script: proves who is there and answers
/// the options for `navigator.credentials.create()` as JSON.
async fn passkey_options(
    State(state): State<AppState>,
    CsrfForm { ctx, form }: CsrfForm<PasskeyOptionsForm>,
) -> Response {
    use axum::response::IntoResponse;
    let Some(current) = signed_in(&ctx) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let result = async {
        let stepped = step_up_with(&state, &ctx, &current, form.proof).await?;
        crate::api::passkeys::start_registration(State(state.clone()), stepped).await
    }
    .await;
    match result {
        Ok((status, ApiJson(started))) => (status, axum::Json(started)).into_response(),
        Err(e) => {
            e.log();
            let problem = e.problem(ctx.lang, None);
            (e.status(), axum::Json(problem)).into_response()
        }
    }
}

#[derive(Deserialize)]
struct PasskeyAddForm {
    #[serde(default)]
    ceremony_id: String,
    #[serde(default)]
    credential: String,
    #[serde(default)]
    name: String,
}

/// Step two: the browser's new credential, posted as a form, kept under the chosen name.
async fn passkey_add(
    State(state): State<AppState>,
    CsrfForm { ctx, form }: CsrfForm<PasskeyAddForm>,
) -> Response {
    let Some(current) = signed_in(&ctx) else {
        return ctx.to_login();
    };
    let result: Result<&'static str, ApiError> = async {
        let stepped = SteppedUp::check(current.clone())?;
        let credential = serde_json::from_str(&form.credential)
            .map_err(|_| ApiError::new(Reason::InvalidPasskey))?;
        let body = crate::api::passkeys::NewPasskey {
            ceremony_id: form.ceremony_id,
            credential,
            name: Some(form.name.trim().to_owned()).filter(|n| !n.is_empty()),
        };
        let origin = RequestOrigin(ctx.origin.clone());
        crate::api::passkeys::finish_registration(
            State(state.clone()),
            origin,
            stepped,
            ApiJson(body),
        )
        .await?;
        Ok("security.passkeys.added")
    }
    .await;
    after(&state, &ctx, &current, result).await
}

async fn passkey_remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm { ctx, form }: CsrfForm<ProofForm>,
) -> Response {
    let Some(current) = signed_in(&ctx) else {
        return ctx.to_login();
    };
    let result: Result<&'static str, ApiError> = async {
        let stepped = step_up_with(&state, &ctx, &current, form).await?;
        let origin = RequestOrigin(ctx.origin.clone());
        crate::api::passkeys::remove(State(state.clone()), origin, stepped, Path(id)).await?;
        Ok("security.passkeys.removed")
    }
    .await;
    after(&state, &ctx, &current, result).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_get_readable_names() {
        let chrome_linux = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36";
        assert_eq!(describe_device(chrome_linux), "Chrome · Linux");
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
        assert_eq!(describe_device(iphone), "Safari · iPhone");
        assert_eq!(describe_device("curl/8.5.0"), "curl/8.5.0");
        assert_eq!(describe_device(""), "—");
    }
}
