//! The one error type of the HTTP surface, [`ApiError`], and the RFC 9457 problem documents it
//! becomes.
//!
//! Every refusal a client can see is a [`Reason`] with a stable snake_case `code`, an HTTP status
//! and a title and detail in both languages (the catalogue in [`Reason::texts`]). Server faults
//! are opaque: the client gets `internal_error` and a request id, the log gets the cause. This
//! module never puts internal error text, SQL or a stack trace into a response.

use axum::http::header::{CONTENT_LANGUAGE, CONTENT_TYPE, RETRY_AFTER, VARY};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use store::writer::SubmitError;
use utoipa::ToSchema;

use crate::lang::Lang;
use crate::request;

/// Where problem types are documented; a problem's `type` is this plus its code.
pub const PROBLEM_TYPE_BASE: &str = "https://okwallet.dev/problems/";

/// The media type of every error response.
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// Why a request was refused or failed, one variant per `code` a client can be given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// No route at this path.
    NotFound,
    /// A route exists at this path but not for this method.
    MethodNotAllowed { method: String },
    /// The body is not JSON at all.
    MalformedJson { line: usize, column: usize },
    /// The body is JSON but a field is missing, unknown or of the wrong type. `field` is the
    /// path from the root, e.g. `items[2].amount`.
    InvalidField {
        field: String,
        problem: FieldProblem,
    },
    /// The body is not declared as JSON.
    UnsupportedMediaType,
    /// The body is longer than the route accepts.
    BodyTooLarge { limit_bytes: usize },
    /// The body could not be read (the client stopped sending, or sent broken framing).
    UnreadableBody,
    /// The client is sending too fast.
    TooManyRequests { retry_after_s: u64 },
    /// We are too busy to take the request now; it is safe to retry.
    ServiceUnavailable { retry_after_s: u64 },
    /// The database does not answer.
    DatabaseUnavailable,
    /// Our fault, not the client's: a bug or an unexpected infrastructure failure.
    Internal,
}

/// What is wrong with a field of a JSON body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldProblem {
    Missing,
    Unknown,
    /// Wrong type or value; the deserializer's own words, e.g. `invalid type: string "x",
    /// expected u32`.
    Invalid(String),
}

/// A problem's title and detail in one language.
struct Text {
    title: &'static str,
    detail: String,
}

/// A problem's texts in every language we speak; a struct, not a map, so that a code without
/// one of them does not compile.
struct Texts {
    en: Text,
    zh_cn: Text,
}

fn text(title: &'static str, detail: impl Into<String>) -> Text {
    Text {
        title,
        detail: detail.into(),
    }
}

impl Reason {
    /// The stable machine-readable code, part of the public contract.
    pub fn code(&self) -> &'static str {
        match self {
            Reason::NotFound => "not_found",
            Reason::MethodNotAllowed { .. } => "method_not_allowed",
            Reason::MalformedJson { .. } => "malformed_json",
            Reason::InvalidField { .. } => "invalid_field",
            Reason::UnsupportedMediaType => "unsupported_media_type",
            Reason::BodyTooLarge { .. } => "body_too_large",
            Reason::UnreadableBody => "unreadable_body",
            Reason::TooManyRequests { .. } => "too_many_requests",
            Reason::ServiceUnavailable { .. } => "service_unavailable",
            Reason::DatabaseUnavailable => "database_unavailable",
            Reason::Internal => "internal_error",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Reason::NotFound => StatusCode::NOT_FOUND,
            Reason::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Reason::MalformedJson { .. } | Reason::UnreadableBody => StatusCode::BAD_REQUEST,
            Reason::InvalidField { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Reason::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Reason::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Reason::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Reason::ServiceUnavailable { .. } | Reason::DatabaseUnavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Reason::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Seconds the client should wait before retrying, for the reasons where waiting helps.
    pub fn retry_after_s(&self) -> Option<u64> {
        match self {
            Reason::TooManyRequests { retry_after_s }
            | Reason::ServiceUnavailable { retry_after_s } => Some(*retry_after_s),
            _ => None,
        }
    }

    /// The message catalogue: title and detail in every language.
    fn texts(&self) -> Texts {
        match self {
            Reason::NotFound => Texts {
                en: text("Not found", "There is nothing at this address."),
                zh_cn: text("未找到", "此地址下没有任何内容。"),
            },
            Reason::MethodNotAllowed { method } => Texts {
                en: text(
                    "Method not allowed",
                    format!("This address does not accept {method} requests; the Allow header lists the methods it does accept."),
                ),
                zh_cn: text(
                    "不支持的请求方法",
                    format!("此地址不接受 {method} 请求；Allow 响应头列出了它接受的方法。"),
                ),
            },
            Reason::MalformedJson { line, column } => Texts {
                en: text(
                    "Malformed JSON",
                    format!("The request body is not valid JSON (line {line}, column {column})."),
                ),
                zh_cn: text("JSON 格式错误", format!("请求体不是有效的 JSON（第 {line} 行，第 {column} 列）。")),
            },
            Reason::InvalidField { field, problem } => match problem {
                FieldProblem::Missing => Texts {
                    en: text("Invalid field", format!("The field `{field}` is required but missing.")),
                    zh_cn: text("字段无效", format!("缺少必填字段 `{field}`。")),
                },
                FieldProblem::Unknown => Texts {
                    en: text("Invalid field", format!("The field `{field}` is not accepted here.")),
                    zh_cn: text("字段无效", format!("此处不接受字段 `{field}`。")),
                },
                FieldProblem::Invalid(why) => Texts {
                    en: text("Invalid field", format!("The field `{field}` has an invalid value: {why}.")),
                    zh_cn: text("字段无效", format!("字段 `{field}` 的值无效：{why}。")),
                },
            },
            Reason::UnsupportedMediaType => Texts {
                en: text(
                    "Unsupported media type",
                    "Send the request body as JSON with the header Content-Type: application/json.",
                ),
                zh_cn: text(
                    "不支持的媒体类型",
                    "请以 JSON 发送请求体，并带上请求头 Content-Type: application/json。",
                ),
            },
            Reason::BodyTooLarge { limit_bytes } => Texts {
                en: text(
                    "Request body too large",
                    format!("The request body is larger than the {limit_bytes} bytes this address accepts."),
                ),
                zh_cn: text("请求体过大", format!("请求体超过了此地址接受的 {limit_bytes} 字节上限。")),
            },
            Reason::UnreadableBody => Texts {
                en: text("Unreadable request body", "The request body could not be read completely."),
                zh_cn: text("无法读取请求体", "未能完整读取请求体。"),
            },
            Reason::TooManyRequests { retry_after_s } => Texts {
                en: text(
                    "Too many requests",
                    format!("Too many requests in a short time; try again in {retry_after_s} seconds."),
                ),
                zh_cn: text("请求过于频繁", format!("短时间内请求过多，请在 {retry_after_s} 秒后重试。")),
            },
            Reason::ServiceUnavailable { retry_after_s } => Texts {
                en: text(
                    "Service busy",
                    format!("The service is busy and did not take this request; try again in {retry_after_s} seconds."),
                ),
                zh_cn: text("服务繁忙", format!("服务繁忙，未受理此请求，请在 {retry_after_s} 秒后重试。")),
            },
            Reason::DatabaseUnavailable => Texts {
                en: text("Database unavailable", "The service cannot reach its database right now."),
                zh_cn: text("数据库不可用", "服务当前无法连接数据库。"),
            },
            Reason::Internal => Texts {
                en: text(
                    "Internal error",
                    "Something went wrong on our side. If it keeps happening, contact support and quote the request id.",
                ),
                zh_cn: text("内部错误", "我们这边出了问题。如果问题持续出现，请联系客服并提供请求编号（request_id）。"),
            },
        }
    }

    fn text_in(&self, lang: Lang) -> Text {
        let Texts { en, zh_cn } = self.texts();
        lang.pick(en, zh_cn)
    }
}

/// The body of every error response (RFC 9457 `application/problem+json`).
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "https://okwallet.dev/problems/not_found",
    "title": "Not found",
    "status": 404,
    "code": "not_found",
    "detail": "There is nothing at this address.",
    "request_id": "01JQ7ZB4XK2M8S3V6N9R0T5WYC"
}))]
pub struct Problem {
    /// A URI naming the kind of problem: `https://okwallet.dev/problems/<code>`.
    #[serde(rename = "type")]
    pub type_uri: String,
    /// A short summary of the kind of problem, in the request's language.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// The stable machine-readable code (snake_case); branch on this, never on texts.
    pub code: String,
    /// What happened to this request, in the request's language (`zh-CN` or `en`).
    pub detail: String,
    /// The id of the request, also sent as the `x-request-id` header; quote it to support.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The path of the offending field in the request body, for `invalid_field`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Seconds to wait before retrying, also sent as the `Retry-After` header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_s: Option<u64>,
}

/// An error a handler returns; becomes a problem response.
#[derive(Debug)]
pub struct ApiError {
    reason: Reason,
    /// The underlying failure of a server fault, for the log only.
    source: Option<anyhow::Error>,
}

impl ApiError {
    pub fn new(reason: Reason) -> ApiError {
        ApiError {
            reason,
            source: None,
        }
    }

    pub fn not_found() -> ApiError {
        ApiError::new(Reason::NotFound)
    }

    pub fn method_not_allowed(method: &Method) -> ApiError {
        ApiError::new(Reason::MethodNotAllowed {
            method: method.as_str().to_owned(),
        })
    }

    /// 429 with `Retry-After`.
    pub fn too_many_requests(retry_after_s: u64) -> ApiError {
        ApiError::new(Reason::TooManyRequests { retry_after_s })
    }

    /// 503 with `Retry-After`: we did not take the request and a retry is safe.
    pub fn service_unavailable(retry_after_s: u64) -> ApiError {
        ApiError::new(Reason::ServiceUnavailable { retry_after_s })
    }

    pub fn database_unavailable() -> ApiError {
        ApiError::new(Reason::DatabaseUnavailable)
    }

    /// An opaque 500; `error` goes to the log with the request id, never to the client.
    pub fn internal(error: impl Into<anyhow::Error>) -> ApiError {
        ApiError {
            reason: Reason::Internal,
            source: Some(error.into()),
        }
    }

    pub fn reason(&self) -> &Reason {
        &self.reason
    }

    pub fn status(&self) -> StatusCode {
        self.reason.status()
    }

    /// The problem document in `lang`.
    pub fn problem(&self, lang: Lang, request_id: Option<String>) -> Problem {
        let Text { title, detail } = self.reason.text_in(lang);
        let code = self.reason.code();
        Problem {
            type_uri: format!("{PROBLEM_TYPE_BASE}{code}"),
            title: title.to_owned(),
            status: self.status().as_u16(),
            code: code.to_owned(),
            detail,
            request_id,
            field: match &self.reason {
                Reason::InvalidField { field, .. } => Some(field.clone()),
                _ => None,
            },
            retry_after_s: self.reason.retry_after_s(),
        }
    }
}

/// Infrastructure failures (`anyhow` with context) are server faults.
impl From<anyhow::Error> for ApiError {
    fn from(error: anyhow::Error) -> ApiError {
        ApiError::internal(error)
    }
}

impl From<SubmitError> for ApiError {
    fn from(error: SubmitError) -> ApiError {
        match error {
            // Nothing was queued, so the client may simply come back.
            SubmitError::Overloaded => ApiError::service_unavailable(1),
            // The outcome is unknown (or a handler built too big a request, which is our bug);
            // both are ours to investigate, and retries with the same ids stay safe.
            SubmitError::Unavailable(_) | SubmitError::TooLarge(_) => ApiError::internal(error),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let lang = request::current_lang();
        let request_id = request::current_id();
        let status = self.status();
        let code = self.reason.code();
        let id = request_id.as_ref().map(|id| id.as_str()).unwrap_or("-");
        if status.is_server_error() {
            match &self.source {
                Some(error) => {
                    tracing::error!(
                        request_id = id,
                        code,
                        error = format!("{error:#}"),
                        "request failed"
                    )
                }
                None => tracing::warn!(
                    request_id = id,
                    code,
                    "request refused by a server condition"
                ),
            }
        } else {
            tracing::debug!(request_id = id, code, "request refused");
        }
        let problem = self.problem(lang, request_id.map(|id| id.to_string()));
        let body = serde_json::to_vec(&problem).expect("a problem serializes");
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(PROBLEM_CONTENT_TYPE));
        headers.insert(CONTENT_LANGUAGE, HeaderValue::from_static(lang.tag()));
        headers.insert(VARY, HeaderValue::from_static("accept-language"));
        if let Some(seconds) = self.reason.retry_after_s() {
            headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_reason() -> Vec<Reason> {
        vec![
            Reason::NotFound,
            Reason::MethodNotAllowed {
                method: "DELETE".into(),
            },
            Reason::MalformedJson { line: 1, column: 2 },
            Reason::InvalidField {
                field: "a".into(),
                problem: FieldProblem::Missing,
            },
            Reason::InvalidField {
                field: "a".into(),
                problem: FieldProblem::Unknown,
            },
            Reason::InvalidField {
                field: "a".into(),
                problem: FieldProblem::Invalid("bad".into()),
            },
            Reason::UnsupportedMediaType,
            Reason::BodyTooLarge { limit_bytes: 10 },
            Reason::UnreadableBody,
            Reason::TooManyRequests { retry_after_s: 3 },
            Reason::ServiceUnavailable { retry_after_s: 3 },
            Reason::DatabaseUnavailable,
            Reason::Internal,
        ]
    }

    #[test]
    fn every_code_reads_in_both_languages() {
        for reason in every_reason() {
            let en = reason.text_in(Lang::En);
            let zh = reason.text_in(Lang::ZhCn);
            assert!(en.detail.is_ascii(), "{reason:?}: {}", en.detail);
            assert!(
                zh.detail
                    .chars()
                    .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "{reason:?}"
            );
            assert_ne!(en.title, zh.title);
            let code = reason.code();
            assert!(
                code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{code}"
            );
        }
    }

    #[test]
    fn only_our_faults_are_5xx() {
        for reason in every_reason() {
            let ours = matches!(
                reason,
                Reason::Internal | Reason::DatabaseUnavailable | Reason::ServiceUnavailable { .. }
            );
            assert_eq!(reason.status().is_server_error(), ours, "{reason:?}");
        }
    }

    #[test]
    fn internal_errors_stay_opaque() {
        let error = ApiError::internal(anyhow::anyhow!(
            "password authentication failed for user okw"
        ));
        let problem = error.problem(Lang::En, None);
        assert_eq!(problem.code, "internal_error");
        assert!(!problem.detail.contains("password"));
        assert_eq!(
            problem.type_uri,
            "https://okwallet.dev/problems/internal_error"
        );
    }
}
