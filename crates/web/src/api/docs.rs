//! The API's self-description: the OpenAPI document at `/api/openapi.json` and a reader for it at
//! `/api/docs`.
//!
//! The document is generated from the handlers' annotations, so it cannot drift from the code;
//! every route must be listed in [`ApiDoc`]. The reader is one self-contained page with inline
//! script and style: it must work offline and never load anything from another origin.

use std::sync::LazyLock;

use axum::extract::RawQuery;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_LANGUAGE, CONTENT_SECURITY_POLICY, CONTENT_TYPE, VARY,
};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::error::{Problem, PROBLEM_CONTENT_TYPE};
use crate::lang::Lang;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/openapi.json", get(openapi_json))
        .route("/api/docs", get(docs_page))
}

/// The OpenAPI description of every route.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "okwallet API",
        description = "A self-hosted custodial digital-asset wallet with customer service built in. \
            Errors are RFC 9457 problem documents (`application/problem+json`) with a stable `code` \
            and a `detail` in the language `Accept-Language` asks for (`zh-CN` or `en`). Every \
            response carries an `x-request-id` header.",
    ),
    paths(
        super::health::healthz,
        super::health::readyz,
        super::health::metrics,
        super::assets::list,
        super::users::sign_up,
        super::sessions::log_in,
        super::sessions::log_out,
        super::me::me,
        super::me::sessions,
        super::me::end_session,
        super::me::end_other_sessions,
        super::me::freeze,
        super::me::start_totp,
        super::me::confirm_totp,
        super::security::step_up,
        super::security::unfreeze,
        super::security::set_anti_phishing_code,
        super::security::security_events,
        super::email_verifications::verify,
        super::email_verifications::resend,
        super::password_resets::request,
        super::password_resets::confirm,
        super::freeze_links::freeze_by_link,
        super::dev::mailbox,
        super::passkeys::start_registration,
        super::passkeys::finish_registration,
        super::passkeys::list,
        super::passkeys::remove,
        super::passkeys::challenge,
        super::passkeys::sign_in,
        super::wallet::balances,
        super::wallet::deposit_address,
        super::wallet::deposits,
        super::wallet::deposit,
        super::wallet::sim_deposit,
        super::wallet::withdraw,
        super::wallet::withdrawals,
        super::wallet::withdrawal,
        super::wallet::address_book,
        super::wallet::add_address,
        super::wallet::remove_address,
        super::wallet::set_allowlist,
        super::wallet::review_queue,
        super::wallet::review,
        super::moves::transfer,
        super::moves::recipient,
        super::moves::quote,
        super::moves::convert,
        super::moves::prices,
        super::moves::limits,
        super::moves::set_user_limit,
        super::moves::set_price,
        super::merchant::create_request,
        super::merchant::list_requests,
        super::merchant::get_request,
        super::merchant::qr_svg,
        super::merchant::pay,
        super::merchant::cancel,
        super::merchant::refund,
        super::merchant::get_webhook,
        super::merchant::set_webhook,
        super::merchant::delete_webhook,
        super::merchant::deliveries,
        super::merchant::delivery,
        super::merchant::replay,
        super::activity::list,
        super::activity::one,
        super::activity::csv,
        super::help::contact_channels,
        super::help::official_check,
        super::help::report_suspicious,
        super::help::announcements,
        super::help::announcement,
        super::help::articles,
        super::help::article,
        super::help::article_feedback,
        super::help_admin::list_channels,
        super::help_admin::save_channel,
        super::help_admin::delete_channel,
        super::help_admin::create_announcement,
        super::help_admin::edit_announcement,
        super::help_admin::add_announcement_update,
        super::help_admin::suspicious,
        super::help_admin::review,
        super::help_admin::list_articles,
        super::help_admin::save_article,
        super::help_admin::preview,
        super::help_admin::search_misses,
        super::tickets::create,
        super::tickets::list,
        super::tickets::one,
        super::tickets::add_message,
        super::tickets::update,
        super::tickets::bulk,
        super::tickets::escalate,
        super::tickets::rate,
        super::tickets::rate_by_link,
        super::tickets::upload,
        super::tickets::download,
        super::tickets::merge,
        super::tickets::viewing,
        super::tickets::macro_preview,
        super::helpdesk::agent_me,
        super::helpdesk::put_presence,
        super::helpdesk::customer,
        super::helpdesk::list_macros,
        super::helpdesk::put_macro,
        super::helpdesk::delete_macro,
        super::helpdesk::list_complaints,
        super::helpdesk::resolve_complaint,
        super::helpdesk::stats,
        super::helpdesk::stats_csv,
        super::helpdesk::audit_events,
        super::helpdesk::sla_alerts,
        super::helpdesk::suggest,
        super::helpdesk::list_suggestions,
        super::helpdesk::list_groups,
        super::helpdesk::put_group,
        super::helpdesk::list_agents,
        super::helpdesk::put_agent,
        super::helpdesk::list_sla_targets,
        super::helpdesk::put_sla_targets,
        super::chats::start,
        super::chats::mine,
        super::chats::one,
        super::chats::ws,
        super::chats::end,
        super::chats::held,
        super::chats::put_call_notes,
        super::diagnoses::create,
        super::diagnoses::one,
        super::diagnoses::resolved,
        super::diagnoses::escalate,
        super::diagnoses::login_help,
        super::diagnoses::new_case,
        super::diagnoses::my_cases,
        super::diagnoses::open_case,
        super::live::start_verification,
        super::live::one_verification,
        super::live::type_code,
        super::live::cancel_verification,
        super::live::my_verifications,
        super::live::put_phone,
        super::live::get_phone,
        super::live::cti_event,
        super::live::list_calls,
        super::live::called_back,
        super::live::screen_pops,
        super::live::list_blocked,
        super::live::block,
        super::live::unblock,
        super::callbacks::create,
        super::callbacks::mine,
        super::callbacks::cancel,
        super::callbacks::slots,
        super::callbacks::queue,
        super::callbacks::claim,
        super::callbacks::attempt,
        openapi_json,
        docs_page,
    ),
    components(schemas(Problem)),
    modifiers(&ProblemResponses, &BearerAuth),
    tags(
        (name = "operations", description = "Liveness, readiness and metrics"),
        (name = "assets", description = "The assets okwallet holds"),
        (name = "accounts", description = "Sign-up, log-in (password or passkey), sessions and devices, freeze"),
        (name = "security", description = "Passkeys, step-up, unfreeze, anti-phishing code, security log"),
        (name = "mail", description = "Email verification, password reset, one-click freeze links, and the demo's mailbox"),
        (name = "wallet", description = "Balances, deposit addresses and deposits, withdrawals, the withdrawal address book, the review queue, and the demo's simulated deposits"),
        (name = "payments", description = "Instant transfers between users, conversions at a locked quote, prices and daily limits"),
        (name = "merchant", description = "Payment requests with links and QR codes, paying them, refunds, and signed webhooks with their delivery log"),
        (name = "activity", description = "One history of every money movement with statuses, reasons and explanations; CSV export"),
        (name = "admin", description = "Per-user limits and the administrators' price feed"),
        (name = "help", description = "The help center for everyone: contact channels with live hours and costs, the official check and reports of look-alikes, announcements and incidents, knowledge-base search and articles"),
        (name = "help admin", description = "Editing contact channels, announcements, articles; the review list of reported look-alikes; searches that found nothing"),
        (name = "tickets", description = "Tickets (工单): customers open and follow theirs, add files, rate and complain; staff answer, note, change, merge and work in bulk, with internal notes customers never see; staff views are audited"),
        (name = "help desk", description = "Agents' presence and queues, the customer context, macros, complaints, the supervisors' figures and audit trail, SLA alerts, the suggestions box, and the set-up of groups, agents and SLA targets"),
        (name = "live support", description = "Live chat over a WebSocket with queue position and resume, mutual verification between a customer and an agent, the customer's phone number, the PBX's signed call events (CTI) with the screen pop and the call log, blocked numbers, and callbacks within a hotline's hours with the agents' queue, claims and tries"),
        (name = "troubleshooters", description = "Troubleshooters for the five common problems answered from the account's live state, escalation to a ticket, chat or call with the findings, \"I can't log in\" answered by mail, and prepared calls with a case code"),
        (name = "docs", description = "This documentation"),
    ),
)]
pub struct ApiDoc;

/// Declares the `bearer` scheme that protected operations name: `Authorization: Bearer <token>`
/// with a token from `POST /api/v1/sessions`.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Gives every operation a `default` response with the problem schema, since any route can
/// answer 404, 405, 413, 415 or 500 and listing them on each would bury the real answers.
struct ProblemResponses;

impl Modify for ProblemResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let problem = ResponseBuilder::new()
            .description("A problem document (RFC 9457) with a stable `code`")
            .content(
                PROBLEM_CONTENT_TYPE,
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build();
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.options,
                &mut item.head,
                &mut item.patch,
                &mut item.trace,
            ];
            for operation in operations.into_iter().flatten() {
                operation
                    .responses
                    .responses
                    .entry("default".to_owned())
                    .or_insert_with(|| problem.clone().into());
            }
        }
    }
}

/// The document is the same for the life of the process: build it once.
static OPENAPI_JSON: LazyLock<String> = LazyLock::new(|| {
    ApiDoc::openapi()
        .to_json()
        .expect("the OpenAPI document serializes")
});

/// The OpenAPI 3.1 document describing every route.
#[utoipa::path(get, path = "/api/openapi.json", tag = "docs", operation_id = "openapi_document",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json")))]
async fn openapi_json() -> Response {
    ([(CONTENT_TYPE, "application/json")], OPENAPI_JSON.as_str()).into_response()
}

/// A readable rendering of the OpenAPI document.
///
/// One self-contained page that works offline, in Chinese or English by `Accept-Language`;
/// `?lang=zh-CN` or `?lang=en` overrides the header.
#[utoipa::path(get, path = "/api/docs", tag = "docs", operation_id = "docs_page",
    params(("lang" = Option<String>, Query, description = "`zh-CN` or `en`; overrides Accept-Language")),
    responses((status = 200, description = "An HTML page", content_type = "text/html")))]
async fn docs_page(negotiated: Lang, RawQuery(query): RawQuery) -> Response {
    let lang = query
        .as_deref()
        .and_then(|q| q.split('&').find_map(|pair| pair.strip_prefix("lang=")))
        .and_then(Lang::from_tag)
        .unwrap_or(negotiated);
    let page = render_page(lang);
    (
        [
            (CONTENT_TYPE, "text/html; charset=utf-8"),
            (CONTENT_LANGUAGE, lang.tag()),
            (VARY, "accept-language"),
            (CACHE_CONTROL, "no-cache"),
            // The page needs its own inline script and style and one fetch to this origin; the
            // policy makes the browser refuse anything else, so the page stays self-contained.
            (
                CONTENT_SECURITY_POLICY,
                "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
                 connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'",
            ),
        ],
        page,
    )
        .into_response()
}

const TEMPLATE: &str = include_str!("docs.html");

/// The texts of the page in one language: `(placeholder, text)` pairs.
fn texts(lang: Lang) -> [(&'static str, &'static str); 23] {
    [
        ("title", lang.pick("okwallet API reference", "okwallet API 文档")),
        (
            "intro",
            lang.pick(
                "Every route of this server, generated from its code. JSON in and out, UTF-8.",
                "本服务的全部接口，由代码自动生成。请求与响应均为 UTF-8 编码的 JSON。",
            ),
        ),
        ("routes", lang.pick("Routes", "接口")),
        ("errors", lang.pick("Errors", "错误格式")),
        (
            "errors_text",
            lang.pick(
                "Every error is a problem document (application/problem+json) with a stable code to branch on and a detail in the language your Accept-Language header asks for (zh-CN or en). Quote the request_id when contacting support.",
                "所有错误均以问题文档（application/problem+json）返回：code 为稳定的机器可读代码，detail 按 Accept-Language 请求头（zh-CN 或 en）给出说明。联系客服时请提供 request_id。",
            ),
        ),
        ("schemas", lang.pick("Schemas", "数据结构")),
        ("filter", lang.pick("Filter routes…", "筛选接口…")),
        ("raw", lang.pick("The raw document", "原始文档")),
        ("loading", lang.pick("Loading the OpenAPI document…", "正在加载 OpenAPI 文档…")),
        ("failed", lang.pick("Could not load the OpenAPI document", "无法加载 OpenAPI 文档")),
        ("parameters", lang.pick("Parameters", "参数")),
        ("request_body", lang.pick("Request body", "请求体")),
        ("responses", lang.pick("Responses", "响应")),
        ("name", lang.pick("Name", "名称")),
        ("in", lang.pick("In", "位置")),
        ("type", lang.pick("Type", "类型")),
        ("description", lang.pick("Description", "说明")),
        ("required", lang.pick("required", "必填")),
        ("optional", lang.pick("optional", "可选")),
        ("none", lang.pick("None", "无")),
        ("example", lang.pick("Example", "示例")),
        ("one_of", lang.pick("one of", "以下之一")),
        ("array_of", lang.pick("array of", "数组，元素为")),
    ]
}

/// Fills the template. The texts go into HTML as escaped text and into the script as a JSON
/// object inside a `<script type="application/json">` block, with `<` escaped so no text can
/// close the block.
fn render_page(lang: Lang) -> String {
    let texts = texts(lang);
    let labels: serde_json::Map<String, serde_json::Value> = texts
        .iter()
        .map(|(k, v)| ((*k).to_owned(), serde_json::Value::from(*v)))
        .collect();
    let labels = serde_json::Value::Object(labels)
        .to_string()
        .replace('<', "\\u003c");
    let mut page = TEMPLATE
        .replace("{{lang}}", lang.tag())
        .replace("{{labels}}", &labels);
    let other = match lang {
        Lang::En => r#"<a href="?lang=zh-CN" lang="zh-CN">中文</a>"#,
        Lang::ZhCn => r#"<a href="?lang=en" lang="en">English</a>"#,
    };
    page = page.replace("{{switch}}", other);
    for (key, text) in texts {
        page = page.replace(&format!("{{{{{key}}}}}"), &escape_html(text));
    }
    page
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_placeholder_is_filled() {
        for lang in [Lang::En, Lang::ZhCn] {
            let page = render_page(lang);
            assert!(
                !page.contains("{{"),
                "{lang:?}: {}",
                &page[page.find("{{").unwrap()..][..40]
            );
        }
    }

    #[test]
    fn the_document_lists_every_route() {
        let doc = ApiDoc::openapi();
        let paths: Vec<&str> = doc.paths.paths.keys().map(String::as_str).collect();
        for route in [
            "/healthz",
            "/readyz",
            "/metrics",
            "/api/v1/assets",
            "/api/openapi.json",
            "/api/docs",
        ] {
            assert!(paths.contains(&route), "{route} missing from {paths:?}");
        }
    }
}
