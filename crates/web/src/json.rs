//! JSON in and out of handlers: [`ApiJson`], axum's `Json` with okwallet's refusals.
//!
//! Whatever a client sends, a body that cannot become the handler's type is the client's mistake
//! and gets a 4xx problem with a code, never a 500. This module never validates business rules;
//! it only turns bytes into types.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{ApiError, FieldProblem, Reason};
use crate::API_BODY_LIMIT_BYTES;

/// A JSON request body or response. As an extractor it refuses with `malformed_json` (400),
/// `invalid_field` (422), `unsupported_media_type` (415) or `body_too_large` (413).
#[derive(Clone, Copy, Debug, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<ApiJson<T>, ApiError> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(ApiError::from(rejection)),
        }
    }
}

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        Json(self.0).into_response()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> ApiError {
        let reason = match &rejection {
            JsonRejection::JsonSyntaxError(_) => match path_error(&rejection) {
                Some(e) => Reason::MalformedJson {
                    line: e.inner().line(),
                    column: e.inner().column(),
                },
                None => Reason::MalformedJson { line: 0, column: 0 },
            },
            JsonRejection::JsonDataError(_) => match path_error(&rejection) {
                Some(e) => invalid_field(e),
                None => Reason::InvalidField {
                    field: ".".to_owned(),
                    problem: FieldProblem::Invalid(rejection.body_text()),
                },
            },
            JsonRejection::MissingJsonContentType(_) => Reason::UnsupportedMediaType,
            // Only the body limit makes buffering fail with 413; the limit in the message is the
            // one every route has unless it sets its own.
            _ if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => Reason::BodyTooLarge {
                limit_bytes: API_BODY_LIMIT_BYTES,
            },
            _ => Reason::UnreadableBody,
        };
        ApiError::new(reason)
    }
}

/// A raw request body of at most `LIMIT` bytes (a file upload); a bigger one is refused with
/// `body_too_large` naming this limit, whatever the router's default.
pub struct LimitedBody<const LIMIT: usize>(pub axum::body::Bytes);

impl<S, const LIMIT: usize> FromRequest<S> for LimitedBody<LIMIT>
where
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, ApiError> {
        match axum::body::to_bytes(request.into_body(), LIMIT).await {
            Ok(bytes) => Ok(LimitedBody(bytes)),
            Err(e) => {
                let too_large =
                    std::iter::successors(Some(&e as &(dyn std::error::Error + 'static)), |e| {
                        e.source()
                    })
                    .any(|e| e.is::<http_body_util::LengthLimitError>());
                Err(ApiError::new(if too_large {
                    Reason::BodyTooLarge { limit_bytes: LIMIT }
                } else {
                    Reason::UnreadableBody
                }))
            }
        }
    }
}

type PathError = serde_path_to_error::Error<serde_json::Error>;

/// The deserializer's error with its path, which axum keeps a few sources down.
fn path_error(rejection: &JsonRejection) -> Option<&PathError> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(rejection);
    while let Some(error) = cause {
        if let Some(found) = error.downcast_ref::<PathError>() {
            return Some(found);
        }
        cause = error.source();
    }
    None
}

/// Names the offending field and what is wrong with it. serde reports an unknown field at the
/// field itself, but a missing or duplicate one at the object holding it, naming the field only in
/// its message ("missing field `x`", "duplicate field `x`", fixed by serde's derive); that name
/// is appended to the path so that clients see where the field belongs.
fn invalid_field(error: &PathError) -> Reason {
    let path = error.path().to_string();
    let message = error.inner().to_string();
    // serde_json appends " at line L column C"; the path says where far better.
    let message = match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message,
    };
    let named = |prefix: &str| {
        let name = message.strip_prefix(prefix)?.split('`').next()?;
        Some(if path == "." {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        })
    };
    let (field, problem) = if let Some(field) = named("missing field `") {
        (field, FieldProblem::Missing)
    } else if message.starts_with("unknown field `") {
        (path, FieldProblem::Unknown)
    } else if let Some(field) = named("duplicate field `") {
        (field, FieldProblem::Invalid(message))
    } else {
        (path, FieldProblem::Invalid(message))
    };
    Reason::InvalidField { field, problem }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Outer {
        #[allow(dead_code)]
        a: Inner,
        #[allow(dead_code)]
        list: Option<Vec<Inner>>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        #[allow(dead_code)]
        a: Option<u32>,
        #[allow(dead_code)]
        b: u32,
    }

    fn reason(json: &str) -> Reason {
        let mut deserializer = serde_json::Deserializer::from_str(json);
        let error = serde_path_to_error::deserialize::<_, Outer>(&mut deserializer).unwrap_err();
        invalid_field(&error)
    }

    fn field(json: &str) -> (String, FieldProblem) {
        match reason(json) {
            Reason::InvalidField { field, problem } => (field, problem),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn fields_are_named_by_their_full_path() {
        assert_eq!(field(r#"{}"#), ("a".into(), FieldProblem::Missing));
        assert_eq!(
            field(r#"{"a":{"a":1}}"#),
            ("a.b".into(), FieldProblem::Missing)
        );
        assert_eq!(
            field(r#"{"a":{"b":1,"zz":2}}"#),
            ("a.zz".into(), FieldProblem::Unknown)
        );
        assert_eq!(field(r#"{"zz":1}"#), ("zz".into(), FieldProblem::Unknown));
        let (path, problem) = field(r#"{"a":{"b":1,"a":1,"a":2}}"#);
        assert_eq!(path, "a.a");
        assert_eq!(problem, FieldProblem::Invalid("duplicate field `a`".into()));
        let (path, problem) = field(r#"{"a":{"b":1},"list":[{"b":1},{"b":"x"}]}"#);
        assert_eq!(path, "list[1].b");
        assert!(
            matches!(problem, FieldProblem::Invalid(ref m) if m.starts_with("invalid type: string")),
            "{problem:?}"
        );
    }
}
