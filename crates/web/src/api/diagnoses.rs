//! Troubleshooters (自助排查) for the five common problems, answered from the account's live
//! state; escalation that carries the findings to a person; prepared calls with a case code;
//! and "I can't log in" for someone who cannot sign in (answered by mail, never on the page).
//!
//! The rules are `helpdesk::diagnose` (pure); this module reads the facts they need, keeps each
//! run (for the agent who takes an escalation, and for the deflection figures), and words the
//! findings in the caller's language.
//!
//! Public route: `POST /api/v1/login-help` (anyone; throttled per address; the same answer for
//! every address). Everything else needs a session; case codes are opened by staff only.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use helpdesk::diagnose::{self, Action, Facts, Finding, Problem, Severity};
use identity::Email;
use serde::{Deserialize, Serialize};
use store::diagnoses::{CaseCode, Diagnosis};
use store::sessions::Origin;
use tracing::Instrument;
use utoipa::ToSchema;

use crate::api::help::invalid;
use crate::api::sessions::rfc3339;
use crate::api::tickets::{audit_view, require_staff, CreateTicket};
use crate::auth::{CurrentSession, RequestOrigin};
use crate::error::{ApiError, Reason};
use crate::json::ApiJson;
use crate::lang::Lang;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/diagnoses", post(create))
        .route("/api/v1/diagnoses/{id}", get(one))
        .route("/api/v1/diagnoses/{id}/resolved", post(resolved))
        .route("/api/v1/diagnoses/{id}/escalations", post(escalate))
        .route("/api/v1/login-help", post(login_help))
        .route("/api/v1/case-codes", post(new_case).get(my_cases))
        .route("/api/v1/agent/case-codes/{code}", get(open_case))
}

/// How long a case code is good for.
pub const CASE_CODE_TTL_MS: i64 = 24 * 3600 * 1000;
/// Case codes use letters and digits nobody mixes up when reading them out (no 0/O, 1/I/L).
const CASE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDiagnosis {
    /// login_failed, funds_delayed, cannot_trade, account_security, payment_failed.
    pub problem: String,
    /// An entry of the caller's activity history it is about (a deposit, withdrawal, payment…).
    #[serde(default)]
    pub reference: Option<String>,
}

/// The button a finding's next step is.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ActionView {
    /// reset_password, freeze, request_unfreeze, end_other_sessions, set_anti_phishing_code,
    /// turn_on_two_step, verify_email, deposit, retry, view, wait, contact.
    pub kind: String,
    pub label: String,
    /// The page that does it (or shows it), when there is one.
    pub href: Option<String>,
    /// The API call that does it, when there is one (`POST /api/v1/me/freeze`).
    pub api: Option<String>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct FindingView {
    /// Stable: what was found (`account_locked`, `deposit_confirming`, `quote_expired`, …).
    pub code: String,
    /// blocking (why it does not work), warning (act on it), info.
    pub severity: String,
    /// The finding in plain words.
    pub message: String,
    /// What to do next.
    pub next_step: String,
    /// The activity entry, session or announcement it is about.
    pub item_id: Option<String>,
    pub action: ActionView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DiagnosisView {
    pub id: String,
    pub problem: String,
    pub reference: Option<String>,
    /// Most important first; never empty (`nothing_found` when nothing is wrong).
    pub findings: Vec<FindingView>,
    /// '' while open, resolved (solved without contacting us), escalated.
    pub outcome: String,
    /// ticket:<id> or chat:<id>, once escalated.
    pub escalated_to: Option<String>,
    pub created_at: String,
}

/// A finding as kept with its run: what the texts need to be written again in any language.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Kept {
    pub code: String,
    pub severity: String,
    pub item_id: Option<String>,
    pub values: BTreeMap<String, String>,
    pub action: String,
    /// For `deposit`: the asset.
    #[serde(default)]
    pub asset: Option<String>,
    /// The kind of item (deposit, withdrawal, conversion, …) for the action's page.
    #[serde(default)]
    pub item_kind: Option<String>,
}

fn kept(f: &Finding, item_kinds: &BTreeMap<String, String>) -> Kept {
    Kept {
        code: f.code.to_owned(),
        severity: f.severity.as_str().to_owned(),
        item_id: f.item_id.clone(),
        values: f
            .values
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
        action: f.action.as_str().to_owned(),
        asset: match &f.action {
            Action::Deposit(a) => Some(a.clone()),
            _ => None,
        },
        item_kind: f.item_id.as_ref().and_then(|i| item_kinds.get(i).cloned()),
    }
}

/// `{key}` in a text replaced by the finding's values (times written for people).
fn fill(text: &str, values: &BTreeMap<String, String>, lang: Lang) -> String {
    let mut out = text.to_owned();
    for (k, v) in values {
        let shown = if k == "at_ms" {
            v.parse::<i64>()
                .map_or_else(|_| v.clone(), crate::pages::security::page_time)
        } else if k == "change" || k == "reason" || k == "kind" || k == "feature" {
            crate::pages::lookup(lang, &format!("diag.word.{v}"))
                .map_or_else(|| v.clone(), str::to_owned)
        } else {
            v.clone()
        };
        out = out.replace(&format!("{{{k}}}"), &shown);
    }
    out
}

/// The page and API call behind an action.
fn action_view(k: &Kept, lang: Lang) -> ActionView {
    let item = k.item_id.as_deref().unwrap_or("");
    let (href, api): (Option<String>, Option<&str>) = match k.action.as_str() {
        "reset_password" => (Some("/forgot".into()), Some("POST /api/v1/password-resets")),
        "freeze" => (
            Some("/security#freeze".into()),
            Some("POST /api/v1/me/freeze"),
        ),
        "request_unfreeze" => (
            Some("/security#freeze".into()),
            Some("POST /api/v1/me/unfreeze"),
        ),
        "end_other_sessions" => (
            Some("/security#devices".into()),
            Some("DELETE /api/v1/me/sessions"),
        ),
        "set_anti_phishing_code" => (
            Some("/security#anti-phishing".into()),
            Some("PUT /api/v1/me/anti-phishing-code"),
        ),
        "turn_on_two_step" => (
            Some("/security#two-factor".into()),
            Some("POST /api/v1/me/totp"),
        ),
        "verify_email" => (
            Some("/security#email".into()),
            Some("POST /api/v1/me/email-verification"),
        ),
        "deposit" => (
            Some(format!(
                "/deposit?asset={}",
                k.asset.as_deref().unwrap_or("ETH")
            )),
            Some("GET /api/v1/deposit-address"),
        ),
        "retry" => (
            Some(match k.item_kind.as_deref() {
                Some("conversion") => "/convert".into(),
                Some("transfer") => "/send".into(),
                Some("withdrawal") => "/withdraw".into(),
                _ if !item.is_empty() => format!("/activity/{item}"),
                _ => "/activity".into(),
            }),
            None,
        ),
        "view" => (
            Some(match k.item_kind.as_deref() {
                Some("announcement") => "/help/status".into(),
                Some(_) => format!("/activity/{item}"),
                None if k.code.starts_with("passkey") || k.code.starts_with("two_step") => {
                    "/security".into()
                }
                None if k.code == "no_pending_funds" => "/deposit".into(),
                None => "/activity".into(),
            }),
            None,
        ),
        "contact" => (
            Some("/support".into()),
            Some("POST /api/v1/diagnoses/{id}/escalations"),
        ),
        _ => (None, None),
    };
    ActionView {
        kind: k.action.clone(),
        label: crate::pages::text(lang, &format!("diag.action.{}", k.action)).to_owned(),
        href,
        api: api.map(str::to_owned),
    }
}

pub fn finding_view(k: &Kept, lang: Lang) -> FindingView {
    FindingView {
        code: k.code.clone(),
        severity: k.severity.clone(),
        message: fill(
            crate::pages::text(lang, &format!("diag.{}", k.code)),
            &k.values,
            lang,
        ),
        next_step: fill(
            crate::pages::text(lang, &format!("diag.{}.next", k.code)),
            &k.values,
            lang,
        ),
        item_id: k.item_id.clone(),
        action: action_view(k, lang),
    }
}

pub fn diagnosis_view(d: &Diagnosis, lang: Lang) -> DiagnosisView {
    let kept: Vec<Kept> = serde_json::from_str(&d.findings).unwrap_or_default();
    DiagnosisView {
        id: d.id.clone(),
        problem: d.problem.clone(),
        reference: Some(d.reference.clone()).filter(|r| !r.is_empty()),
        findings: kept.iter().map(|k| finding_view(k, lang)).collect(),
        outcome: d.outcome.clone(),
        escalated_to: Some(d.escalated_to.clone()).filter(|e| !e.is_empty()),
        created_at: rfc3339(d.created_at_ms),
    }
}

// --- reading the facts ---------------------------------------------------------------------------

const DAY_MS: i64 = 24 * 3600 * 1000;

fn decimal(state_assets: &[ledger::Asset], asset: &str, minor: i64) -> String {
    ledger::Amount::from_minor(minor)
        .unwrap_or_default()
        .to_decimal_string(crate::api::wallet::asset_decimals(state_assets, asset))
}

/// Everything the rules read about `user`, and what kind each item is.
async fn facts_of(
    state: &AppState,
    user: &store::users::User,
    session_id: Option<&str>,
    reference: Option<&str>,
    lang: Lang,
) -> Result<(Facts, BTreeMap<String, String>), ApiError> {
    let now = store::now_ms();
    let db = &state.db;
    let events = db.security_events_for(&user.id, 200).await?;
    let failed_logins_24h = events
        .iter()
        .filter(|e| {
            now - e.at_ms < DAY_MS && matches!(e.kind.as_str(), "login_failed" | "mfa_failed")
        })
        .count() as u32;
    let totp = db.totp_factor(&user.id).await?;
    let (_, reset_sent) = db
        .mail_sent_since(user.email.as_str(), "password_reset", now - 30 * 60 * 1000)
        .await?;
    let mut facts = Facts {
        now_ms: now,
        account: diagnose::AccountFacts {
            frozen: user.is_frozen(now),
            unfreeze_at_ms: user
                .unfreeze_at_ms
                .filter(|at| *at > now && user.frozen_at_ms.is_some()),
            locked_for_s: db
                .throttle_locked_for_s(&format!("account:{}", user.id))
                .await?,
            failed_logins_24h,
            totp: totp.as_ref().is_some_and(|f| f.confirmed),
            totp_unfinished: totp.as_ref().is_some_and(|f| !f.confirmed),
            passkeys: db.passkey_count(&user.id).await?,
            recovery_codes_left: db.recovery_codes_left(&user.id).await?,
            email_verified: user.email_verified_at_ms.is_some(),
            reset_link_sent_at_ms: reset_sent,
            withdrawals_locked_until_ms: user.withdrawals_locked_until_ms,
            anti_phishing_code_set: user.anti_phishing_code.is_some(),
        },
        reference: reference.map(str::to_owned),
        ..Default::default()
    };
    let mut kinds = BTreeMap::new();
    let assets = db.assets().await?;
    for d in db.deposits_of(&user.id, 20, None).await? {
        let view = crate::api::wallet::deposit_view(
            &d,
            crate::api::wallet::asset_decimals(&assets, &d.asset),
            crate::api::wallet::block_time_of(state, &d.chain),
            lang,
        );
        kinds.insert(d.id.clone(), "deposit".to_owned());
        facts.deposits.push(diagnose::DepositFacts {
            id: d.id,
            asset: d.asset,
            status: d.status,
            confirmations: d.confirmations,
            confirmations_required: d.confirmations_required,
            eta_s: Some(view.eta_s),
            amount: view.amount,
            detected_at_ms: d.detected_at_ms,
        });
    }
    for w in db.withdrawals_of(&user.id, 20, None).await? {
        kinds.insert(w.id.clone(), "withdrawal".to_owned());
        facts.withdrawals.push(diagnose::WithdrawalFacts {
            amount: decimal(&assets, &w.asset, w.amount),
            id: w.id,
            asset: w.asset,
            status: w.status,
            reason_code: w.reason_code,
            confirmations: w.confirmations,
            confirmations_required: w.confirmations_required,
            created_at_ms: w.created_at_ms,
        });
    }
    for a in crate::api::help::announcement_list(state, lang, true, None).await? {
        if a.kind == "security" {
            continue;
        }
        kinds.insert(a.id.clone(), "announcement".to_owned());
        facts.incidents.push(diagnose::IncidentFacts {
            id: a.id,
            title: a.title,
            affects: a
                .affected
                .iter()
                .map(|f| match f.split_once(':') {
                    Some((feature, asset)) => (feature.to_owned(), Some(asset.to_owned())),
                    None => (f.clone(), None),
                })
                .collect(),
        });
    }
    let refused = db
        .movements_of(
            &user.id,
            &store::movements::MovementFilter {
                status: Some("refused".into()),
                since_ms: Some(now - 7 * DAY_MS),
                ..Default::default()
            },
            50,
        )
        .await?;
    for m in refused {
        kinds.insert(m.id.clone(), m.kind.clone());
        facts.refused.push(diagnose::RefusedFacts {
            amount: decimal(&assets, &m.asset, m.amount),
            id: m.id,
            kind: m.kind,
            reason_code: m.reason_code.unwrap_or_default(),
            asset: m.asset,
            at_ms: m.created_at_ms,
        });
    }
    for l in crate::api::moves::limit_rows(state, &user.id).await? {
        let used_up = l.left.trim_start_matches(['0', '.']).is_empty();
        facts.limits.push(diagnose::LimitFacts {
            kind: l.kind,
            asset: l.asset,
            daily: l.daily,
            left: l.left,
            used_up,
        });
    }
    for b in crate::api::wallet::balance_rows(state, &user.id).await? {
        if b.available.trim_start_matches(['0', '.']).is_empty() {
            facts.empty_assets.push(b.asset);
        }
    }
    facts.other_sessions = db
        .sessions_for_user(&user.id)
        .await?
        .iter()
        .filter(|s| Some(s.id.as_str()) != session_id)
        .count();
    // A sign-in from a device not among the earlier ones (the log is newest first). The very
    // first sign-in of an account is no news.
    let locale = identity::notice::Locale::from_tag(lang.tag());
    let logins: Vec<&store::sessions::SecurityEvent> =
        events.iter().filter(|e| e.kind == "login").collect();
    for (i, e) in logins.iter().enumerate() {
        if now - e.at_ms > 7 * DAY_MS {
            break;
        }
        let device = identity::notice::device(&e.user_agent, locale);
        let earlier = &logins[i + 1..];
        if !earlier.is_empty()
            && !earlier
                .iter()
                .any(|o| identity::notice::device(&o.user_agent, locale) == device)
        {
            facts.new_devices.push(diagnose::NewDeviceFacts {
                device,
                ip: e.ip.clone(),
                at_ms: e.at_ms,
            });
        }
    }
    const CHANGES: [&str; 9] = [
        "password_reset",
        "mfa_enabled",
        "passkey_added",
        "passkey_removed",
        "recovery_code_used",
        "anti_phishing_code_set",
        "phone_changed",
        "unfreeze_requested",
        "sessions_revoked",
    ];
    for e in events.iter().filter(|e| now - e.at_ms < 7 * DAY_MS) {
        if CHANGES.contains(&e.kind.as_str()) {
            facts.changes.push(diagnose::ChangeFacts {
                kind: e.kind.clone(),
                at_ms: e.at_ms,
            });
        }
        if e.kind == "passkey_possible_clone" {
            facts.passkey_clone_suspected = true;
        }
    }
    Ok((facts, kinds))
}

/// Runs the troubleshooter for `problem` on `user` and keeps the run.
pub async fn run(
    state: &AppState,
    user: &store::users::User,
    session_id: Option<&str>,
    problem: Problem,
    reference: Option<&str>,
    lang: Lang,
) -> Result<Diagnosis, ApiError> {
    let (facts, kinds) = facts_of(state, user, session_id, reference, lang).await?;
    let found: Vec<Kept> = diagnose::diagnose(problem, &facts)
        .iter()
        .map(|f| kept(f, &kinds))
        .collect();
    let d = Diagnosis {
        id: store::new_id(),
        user_id: user.id.clone(),
        problem: problem.as_str().to_owned(),
        reference: reference.unwrap_or_default().to_owned(),
        findings: serde_json::to_string(&found).map_err(ApiError::internal)?,
        outcome: String::new(),
        escalated_to: String::new(),
        created_at_ms: store::now_ms(),
        outcome_at_ms: None,
    };
    state.db.insert_diagnosis(&d).await?;
    Ok(d)
}

fn problem_of(text: &str) -> Result<Problem, ApiError> {
    Problem::parse(text.trim()).ok_or_else(|| {
        invalid(
            "problem",
            "use login_failed, funds_delayed, cannot_trade, account_security or payment_failed",
        )
    })
}

/// Checks a reference names one of the caller's activity entries.
async fn own_reference(
    state: &AppState,
    user_id: &str,
    reference: Option<&str>,
    lang: Lang,
) -> Result<Option<String>, ApiError> {
    match reference.map(str::trim).filter(|r| !r.is_empty()) {
        None => Ok(None),
        Some(r) => {
            crate::api::activity::entry(state, user_id, r, lang)
                .await?
                .ok_or_else(|| invalid("reference", "not an entry of your activity"))?;
            Ok(Some(r.to_owned()))
        }
    }
}

/// Runs a troubleshooter on the caller's account: findings from its live state, each with the
/// next step.
#[utoipa::path(post, path = "/api/v1/diagnoses", tag = "troubleshooters", security(("bearer" = [])),
    request_body = NewDiagnosis,
    responses((status = 201, body = DiagnosisView),
        (status = 422, description = "`invalid_field`: problem or reference", body = crate::error::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    lang: Lang,
    current: CurrentSession,
    ApiJson(body): ApiJson<NewDiagnosis>,
) -> Result<(StatusCode, ApiJson<DiagnosisView>), ApiError> {
    if current.user.role.is_staff() {
        return Err(ApiError::new(Reason::Forbidden));
    }
    let problem = problem_of(&body.problem)?;
    let reference =
        own_reference(&state, &current.user.id, body.reference.as_deref(), lang).await?;
    let d = run(
        &state,
        &current.user,
        Some(&current.session.id),
        problem,
        reference.as_deref(),
        lang,
    )
    .await?;
    Ok((StatusCode::CREATED, ApiJson(diagnosis_view(&d, lang))))
}

/// The caller's run (404 for anyone else's).
pub async fn own_run(state: &AppState, user_id: &str, id: &str) -> Result<Diagnosis, ApiError> {
    state
        .db
        .diagnosis(id)
        .await?
        .filter(|d| d.user_id == user_id && !d.user_id.is_empty())
        .ok_or_else(ApiError::not_found)
}

/// One of the caller's runs, as found then.
#[utoipa::path(get, path = "/api/v1/diagnoses/{id}", tag = "troubleshooters", security(("bearer" = [])),
    responses((status = 200, body = DiagnosisView),
        (status = 404, description = "`not_found` (also someone else's)", body = crate::error::Problem)))]
pub async fn one(
    State(state): State<AppState>,
    lang: Lang,
    current: CurrentSession,
    Path(id): Path<String>,
) -> Result<ApiJson<DiagnosisView>, ApiError> {
    let d = own_run(&state, &current.user.id, &id).await?;
    Ok(ApiJson(diagnosis_view(&d, lang)))
}

/// "This solved it": the run counts as solved without contacting us (unless it was escalated).
#[utoipa::path(post, path = "/api/v1/diagnoses/{id}/resolved", tag = "troubleshooters", security(("bearer" = [])),
    responses((status = 200, body = DiagnosisView),
        (status = 404, description = "`not_found`", body = crate::error::Problem)))]
pub async fn resolved(
    State(state): State<AppState>,
    lang: Lang,
    current: CurrentSession,
    Path(id): Path<String>,
) -> Result<ApiJson<DiagnosisView>, ApiError> {
    own_run(&state, &current.user.id, &id).await?;
    state
        .db
        .set_diagnosis_outcome(&id, "resolved", "", store::now_ms())
        .await?;
    let d = own_run(&state, &current.user.id, &id).await?;
    Ok(ApiJson(diagnosis_view(&d, lang)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Escalation {
    /// ticket, chat or call (an in-app call).
    pub via: String,
    /// What the person adds in their own words.
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Escalated {
    pub via: String,
    pub ticket_id: String,
    pub ticket_number: i64,
    /// For a chat or call: where to talk.
    pub chat_id: Option<String>,
}

/// The findings as the team reads them on the ticket (both languages: agents read either).
pub fn findings_note(d: &Diagnosis) -> String {
    let kept: Vec<Kept> = serde_json::from_str(&d.findings).unwrap_or_default();
    let mut lines = vec![format!(
        "Troubleshooter / 自助排查: {} ({})",
        d.problem,
        rfc3339(d.created_at_ms)
    )];
    for k in &kept {
        let en = finding_view(k, Lang::En);
        let zh = finding_view(k, Lang::ZhCn);
        let item = k
            .item_id
            .as_ref()
            .map(|i| format!(" [{}: {i}]", k.item_kind.as_deref().unwrap_or("item")))
            .unwrap_or_default();
        lines.push(format!(
            "- {} ({}){item}: {} / {}",
            k.code, k.severity, en.message, zh.message
        ));
    }
    lines.join("\n")
}

/// The first activity entry the findings name (or the one asked about): the ticket links it.
fn linked_entry(d: &Diagnosis) -> Option<String> {
    if !d.reference.is_empty() {
        return Some(d.reference.clone());
    }
    let kept: Vec<Kept> = serde_json::from_str(&d.findings).unwrap_or_default();
    kept.into_iter()
        .filter(|k| k.severity != Severity::Info.as_str() || k.item_kind.is_some())
        .find(|k| {
            matches!(
                k.item_kind.as_deref(),
                Some("deposit" | "withdrawal" | "transfer" | "conversion" | "payment" | "refund")
            )
        })
        .and_then(|k| k.item_id)
}

/// Puts the findings on a ticket as a note for the team.
async fn note_findings(state: &AppState, ticket_id: &str, d: &Diagnosis) -> Result<(), ApiError> {
    crate::desk::change_ticket(
        state,
        ticket_id,
        &helpdesk::change::Actor::System,
        None,
        &crate::desk::Asked {
            request: helpdesk::change::Request {
                message: Some(helpdesk::change::Message::Internal),
                ..Default::default()
            },
            body: Some(findings_note(d)),
            channel: "web".into(),
            extra_events: vec![(
                "diagnosis".into(),
                serde_json::json!({"diagnosis_id": d.id, "problem": d.problem}),
            )],
            ..Default::default()
        },
    )
    .await?;
    Ok(())
}

/// From a troubleshooter to a person (the API's and the pages' way in).
pub async fn escalate_run(
    state: &AppState,
    current: &CurrentSession,
    lang: Lang,
    id: &str,
    via: &str,
    message: Option<&str>,
) -> Result<Escalated, ApiError> {
    let d = own_run(state, &current.user.id, id).await?;
    let message = message.map(str::trim).filter(|m| !m.is_empty());
    let label = crate::pages::text(lang, &format!("desk.cat.{}", d.problem));
    let default_body = crate::pages::text(lang, "diag.escalated_body").to_owned();
    let (ticket_id, chat_id) = match via {
        "ticket" => {
            let opened = crate::api::tickets::open(
                state,
                current,
                lang,
                CreateTicket {
                    subject: format!("{label} · {}", crate::pages::text(lang, "diag.title")),
                    body: message.map_or(default_body, str::to_owned),
                    category: d.problem.clone(),
                    reference: linked_entry(&d),
                    requester_email: None,
                    priority: None,
                    channel: None,
                },
            )
            .await?;
            (opened.ticket.id, None)
        }
        "chat" | "call" => {
            let view = crate::api::chats::start_chat(
                state,
                lang,
                current,
                crate::api::chats::StartChat {
                    category: Some(d.problem.clone()),
                    message: Some(message.map_or(default_body, str::to_owned)),
                    reference: linked_entry(&d),
                    media: Some(if via == "call" { "voice" } else { "text" }.into()),
                },
            )
            .await?;
            (view.ticket_id, Some(view.id))
        }
        _ => return Err(invalid("via", "use ticket, chat or call")),
    };
    note_findings(state, &ticket_id, &d).await?;
    let to = match &chat_id {
        Some(c) => format!("chat:{c}"),
        None => format!("ticket:{ticket_id}"),
    };
    state
        .db
        .set_diagnosis_outcome(&d.id, "escalated", &to, store::now_ms())
        .await?;
    let ticket = state
        .db
        .ticket(&ticket_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(Escalated {
        via: via.to_owned(),
        ticket_id,
        ticket_number: ticket.number,
        chat_id,
    })
}

/// Takes a run to a person: a ticket, a chat or an in-app call, with the findings on the
/// ticket for the agent and the item they name linked. A chat or call with nobody to answer is
/// refused with `chat_unavailable` (try a ticket).
#[utoipa::path(post, path = "/api/v1/diagnoses/{id}/escalations", tag = "troubleshooters", security(("bearer" = [])),
    request_body = Escalation,
    responses((status = 201, body = Escalated),
        (status = 404, description = "`not_found`", body = crate::error::Problem),
        (status = 409, description = "`chat_unavailable`", body = crate::error::Problem),
        (status = 422, description = "`invalid_field`", body = crate::error::Problem)))]
pub async fn escalate(
    State(state): State<AppState>,
    lang: Lang,
    current: CurrentSession,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Escalation>,
) -> Result<(StatusCode, ApiJson<Escalated>), ApiError> {
    let done = escalate_run(
        &state,
        &current,
        lang,
        &id,
        body.via.trim(),
        body.message.as_deref(),
    )
    .await?;
    Ok((StatusCode::CREATED, ApiJson(done)))
}

// --- I can't log in ------------------------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginHelp {
    pub email: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginHelpAccepted {
    /// Always true: whether an account uses the address is told only to its mailbox.
    pub accepted: bool,
}

/// Requests per client address, as for password resets.
const LOGIN_HELP_PER_IP: identity::lockout::Policy = identity::lockout::Policy {
    failures_before_lock: 10,
    window_s: 15 * 60,
    first_lock_s: 15 * 60,
    lock_growth: 2,
    lock_s_max: 3600,
    forgive_after_s: 24 * 3600,
};

/// "I can't log in", from someone who cannot sign in: the log-in troubleshooter runs on the
/// account that uses `email`, if one does, and its findings go to that mailbox with a reset
/// link. The answer is the same for every address.
#[utoipa::path(post, path = "/api/v1/login-help", tag = "troubleshooters", request_body = LoginHelp,
    responses((status = 202, body = LoginHelpAccepted),
        (status = 422, description = "`invalid_email`", body = crate::error::Problem),
        (status = 429, description = "`too_many_requests`", body = crate::error::Problem)))]
pub async fn login_help(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    ApiJson(body): ApiJson<LoginHelp>,
) -> Result<(StatusCode, ApiJson<LoginHelpAccepted>), ApiError> {
    ask_login_help(&state, &origin, &body.email).await?;
    Ok((
        StatusCode::ACCEPTED,
        ApiJson(LoginHelpAccepted { accepted: true }),
    ))
}

/// Throttles, then mails the findings in the background (the API's and the pages' way in).
pub async fn ask_login_help(
    state: &AppState,
    origin: &Origin,
    email: &str,
) -> Result<(), ApiError> {
    let ip_key = format!("login-help-ip:{}", origin.ip);
    if let Some(wait) = state.db.throttle_locked_for_s(&ip_key).await? {
        return Err(ApiError::too_many_requests(wait));
    }
    state
        .db
        .register_login_failure(&ip_key, &LOGIN_HELP_PER_IP)
        .await?;
    let email = Email::parse(email).map_err(|_| ApiError::new(Reason::InvalidEmail))?;
    let task_state = state.clone();
    tokio::spawn(
        async move {
            if let Err(error) = mail_login_help(&task_state, &email).await {
                tracing::error!(error = format!("{error:?}"), "login help mail failed");
            }
        }
        .instrument(tracing::Span::current()),
    );
    Ok(())
}

async fn mail_login_help(state: &AppState, email: &Email) -> Result<(), ApiError> {
    let Some(user) = state.db.user_by_email(email).await? else {
        return Ok(());
    };
    let now = store::now_ms();
    let (count, newest) = state
        .db
        .mail_sent_since(email.as_str(), "login_help", now - 3600 * 1000)
        .await?;
    if count >= 5 || newest.is_some_and(|at| now - at < 60 * 1000) {
        return Ok(());
    }
    let lang = Lang::from_tag(&user.locale).unwrap_or(Lang::ZhCn);
    let d = run(state, &user, None, Problem::LoginFailed, None, lang).await?;
    let view = diagnosis_view(&d, lang);
    let lines: Vec<String> = view
        .findings
        .iter()
        .map(|f| format!("{} {}", f.message, f.next_step))
        .collect();
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let reset_link = format!("{}/forgot", state.settings.public_url);
    let help_link = format!("{}/help/topics/login_failed", state.settings.public_url);
    let mail = crate::mail::for_user(
        &user,
        &identity::notice::Notice::LoginHelp {
            findings: &lines,
            reset_link: &reset_link,
            help_link: &help_link,
        },
    );
    state.db.enqueue_mail(&mail).await?;
    Ok(())
}

// --- prepared calls ------------------------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCase {
    /// The problem in the person's words.
    pub description: String,
    /// A troubleshooter run of theirs to attach (its findings come along).
    #[serde(default)]
    pub diagnosis_id: Option<String>,
    /// The category, when there is no run (default: the run's problem, else other).
    #[serde(default)]
    pub category: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CaseView {
    /// Read it out on the phone: six letters and digits, shown as `K7M-4Q2`.
    pub code: String,
    pub expires_at: String,
    pub ticket_id: String,
    pub ticket_number: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CaseList {
    pub items: Vec<CaseView>,
}

fn shown_code(code: &str) -> String {
    format!("{}-{}", &code[..3], &code[3..])
}

/// A code as typed or read out: case, spaces, dashes and full-width characters do not matter.
pub fn normalise_code(typed: &str) -> String {
    typed
        .chars()
        .filter_map(|c| {
            let c = match c {
                'Ａ'..='Ｚ' | 'ａ'..='ｚ' | '０'..='９' => {
                    char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c)
                }
                _ => c,
            };
            c.is_ascii_alphanumeric().then(|| c.to_ascii_uppercase())
        })
        .collect()
}

/// Prepares a call (the API's and the pages' way in).
pub async fn prepare_case(
    state: &AppState,
    current: &CurrentSession,
    lang: Lang,
    body: NewCase,
) -> Result<CaseView, ApiError> {
    if current.user.role.is_staff() {
        return Err(ApiError::new(Reason::Forbidden));
    }
    let description = crate::api::tickets::check_text("description", &body.description, 4_000)?;
    let run = match body.diagnosis_id.as_deref().filter(|i| !i.is_empty()) {
        Some(id) => Some(
            own_run(state, &current.user.id, id)
                .await
                .map_err(|_| invalid("diagnosis_id", "not a troubleshooter run of yours"))?,
        ),
        None => None,
    };
    let category = match (&run, body.category.as_deref().filter(|c| !c.is_empty())) {
        (_, Some(c)) => c.to_owned(),
        (Some(r), None) => r.problem.clone(),
        (None, None) => "other".to_owned(),
    };
    let label = crate::pages::text(lang, &format!("desk.cat.{category}"));
    let opened = crate::api::tickets::open(
        state,
        current,
        lang,
        CreateTicket {
            subject: format!("{} · {label}", crate::pages::text(lang, "case.subject")),
            body: description,
            category,
            reference: run.as_ref().and_then(linked_entry),
            requester_email: None,
            priority: None,
            channel: None,
        },
    )
    .await?;
    if let Some(r) = &run {
        note_findings(state, &opened.ticket.id, r).await?;
        state
            .db
            .set_diagnosis_outcome(
                &r.id,
                "escalated",
                &format!("ticket:{}", opened.ticket.id),
                store::now_ms(),
            )
            .await?;
    }
    let now = store::now_ms();
    for _ in 0..20 {
        let code: String = (0..6)
            .map(|_| {
                let i = rand::random::<u32>() as usize % CASE_ALPHABET.len();
                char::from(CASE_ALPHABET[i])
            })
            .collect();
        let case = CaseCode {
            code: code.clone(),
            user_id: current.user.id.clone(),
            ticket_id: opened.ticket.id.clone(),
            diagnosis_id: run.as_ref().map(|r| r.id.clone()).unwrap_or_default(),
            created_at_ms: now,
            expires_at_ms: now + CASE_CODE_TTL_MS,
            opened_at_ms: None,
            opened_by: None,
        };
        if state.db.insert_case_code(&case).await? {
            return Ok(CaseView {
                code: shown_code(&code),
                expires_at: rfc3339(case.expires_at_ms),
                ticket_id: opened.ticket.id,
                ticket_number: opened.ticket.number,
            });
        }
    }
    Err(ApiError::internal(anyhow::anyhow!(
        "no free case code in 20 draws"
    )))
}

/// Prepares a call: the description (and a troubleshooter run) become a ticket, and a short
/// code valid for a day opens it for the agent who answers the phone.
#[utoipa::path(post, path = "/api/v1/case-codes", tag = "troubleshooters", security(("bearer" = [])),
    request_body = NewCase,
    responses((status = 201, body = CaseView),
        (status = 422, description = "`invalid_field`", body = crate::error::Problem)))]
pub async fn new_case(
    State(state): State<AppState>,
    lang: Lang,
    current: CurrentSession,
    ApiJson(body): ApiJson<NewCase>,
) -> Result<(StatusCode, ApiJson<CaseView>), ApiError> {
    let view = prepare_case(&state, &current, lang, body).await?;
    Ok((StatusCode::CREATED, ApiJson(view)))
}

/// The caller's case codes still valid.
#[utoipa::path(get, path = "/api/v1/case-codes", tag = "troubleshooters", security(("bearer" = [])),
    responses((status = 200, body = CaseList)))]
pub async fn my_cases(
    State(state): State<AppState>,
    current: CurrentSession,
) -> Result<ApiJson<CaseList>, ApiError> {
    let mut items = Vec::new();
    for c in state
        .db
        .case_codes_of(&current.user.id, store::now_ms())
        .await?
    {
        let number = state.db.ticket(&c.ticket_id).await?.map_or(0, |t| t.number);
        items.push(CaseView {
            code: shown_code(&c.code),
            expires_at: rfc3339(c.expires_at_ms),
            ticket_id: c.ticket_id,
            ticket_number: number,
        });
    }
    Ok(ApiJson(CaseList { items }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OpenedCase {
    pub code: String,
    pub ticket_id: String,
    pub ticket_number: i64,
    pub customer_id: String,
    /// Masked: the agent still verifies the caller with the mutual verification code.
    pub customer: String,
    pub problem: String,
    pub description: String,
    /// The troubleshooter's findings, as the customer saw them (in the agent's language).
    pub findings: Vec<FindingView>,
    pub expires_at: String,
}

/// Staff: the prepared case a caller reads out (audited as a view of the customer's data).
pub async fn open_case_code(
    state: &AppState,
    current: &CurrentSession,
    lang: Lang,
    typed: &str,
) -> Result<OpenedCase, ApiError> {
    require_staff(state, current).await?;
    let code = normalise_code(typed);
    let now = store::now_ms();
    let case = state
        .db
        .case_code(&code)
        .await?
        .filter(|c| c.expires_at_ms > now)
        .ok_or_else(ApiError::not_found)?;
    let ticket = state
        .db
        .ticket(&case.ticket_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let customer = state
        .db
        .user_by_id(&case.user_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let description = state
        .db
        .ticket_messages(&ticket.id, false)
        .await?
        .into_iter()
        .find(|m| !m.internal)
        .map(|m| m.body)
        .unwrap_or_default();
    let findings = match state.db.diagnosis(&case.diagnosis_id).await? {
        Some(d) => diagnosis_view(&d, lang).findings,
        None => Vec::new(),
    };
    state
        .db
        .open_case_code(&code, &current.user.id, now)
        .await?;
    audit_view(
        state,
        current,
        "case.opened",
        &customer.id,
        serde_json::json!({"code": code, "ticket": ticket.number}),
    )
    .await?;
    Ok(OpenedCase {
        code: shown_code(&code),
        ticket_id: ticket.id,
        ticket_number: ticket.number,
        customer_id: customer.id,
        customer: helpdesk::masking::email(customer.email.as_str()),
        problem: ticket.category,
        description,
        findings,
        expires_at: rfc3339(case.expires_at_ms),
    })
}

/// Staff: opens the prepared case a caller reads out; 404 for an unknown or expired code.
#[utoipa::path(get, path = "/api/v1/agent/case-codes/{code}", tag = "troubleshooters", security(("bearer" = [])),
    responses((status = 200, body = OpenedCase),
        (status = 403, description = "`forbidden`; `second_factor_required`", body = crate::error::Problem),
        (status = 404, description = "`not_found`: unknown or expired", body = crate::error::Problem)))]
pub async fn open_case(
    State(state): State<AppState>,
    lang: Lang,
    current: CurrentSession,
    Path(code): Path<String>,
) -> Result<ApiJson<OpenedCase>, ApiError> {
    Ok(ApiJson(
        open_case_code(&state, &current, lang, &code).await?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_out_any_way_are_the_same_code() {
        for typed in ["k7m-4q2", "K7M 4Q2", "Ｋ７Ｍ－４Ｑ２", " k7m4q2 "] {
            assert_eq!(normalise_code(typed), "K7M4Q2", "{typed}");
        }
        assert_eq!(shown_code("K7M4Q2"), "K7M-4Q2");
        assert!(!CASE_ALPHABET.iter().any(|c| b"01OIL".contains(c)));
    }

    #[test]
    fn every_finding_and_action_is_worded_in_both_languages() {
        let codes = [
            "nothing_found",
            "account_locked",
            "many_failed_attempts",
            "unfreeze_pending",
            "account_frozen",
            "reset_in_progress",
            "no_recovery_codes",
            "two_step_needed",
            "passkey_available",
            "email_unverified",
            "incident",
            "deposit_confirming",
            "deposit_stuck",
            "deposit_too_small",
            "deposit_orphaned",
            "withdrawal_under_review",
            "withdrawal_confirming",
            "withdrawal_failed",
            "withdrawal_rejected",
            "withdrawal_refused",
            "no_pending_funds",
            "withdrawals_locked",
            "limit_reached",
            "quote_expired",
            "insufficient_funds",
            "insufficient_liquidity",
            "limit_exceeded",
            "trade_refused",
            "nothing_available",
            "passkey_clone_suspected",
            "new_device_login",
            "failed_logins",
            "recent_security_change",
            "other_sessions",
            "two_step_off",
            "recovery_codes_low",
            "two_step_unfinished",
            "anti_phishing_unset",
            "frozen_safe",
            "payment_insufficient_funds",
            "payment_limit_exceeded",
            "payment_link_expired",
            "payment_link_cancelled",
            "payment_already_paid",
            "payment_wrong_asset",
            "payment_refused",
            "no_failed_payment",
        ];
        for lang in [Lang::En, Lang::ZhCn] {
            for code in codes {
                for key in [format!("diag.{code}"), format!("diag.{code}.next")] {
                    let t = crate::pages::text(lang, &key);
                    assert!(!t.is_empty() && t != key, "{key} in {lang:?}");
                }
            }
            for a in [
                "reset_password",
                "freeze",
                "request_unfreeze",
                "end_other_sessions",
                "set_anti_phishing_code",
                "turn_on_two_step",
                "verify_email",
                "deposit",
                "retry",
                "view",
                "wait",
                "contact",
            ] {
                let key = format!("diag.action.{a}");
                assert_ne!(crate::pages::text(lang, &key), key);
            }
        }
    }
}
