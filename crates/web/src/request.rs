//! What the server knows about the request it is answering, from anywhere below the first
//! middleware: its id and its language.
//!
//! The id and language are fixed once, on the way in, and kept in a task-local so that code with
//! no access to the request (an `IntoResponse` impl, the panic handler) can still name them. This
//! module never decides what to answer; it only labels the request.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use crate::lang::Lang;

/// The header a request id travels in, both ways.
pub static REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Longest request id accepted from a client; longer ones are replaced rather than truncated so
/// that a log search for the client's id never finds a near miss.
pub const REQUEST_ID_LEN_MAX: usize = 64;

/// The id of one request, shown to the client and stamped on every log line about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestId(String);

impl RequestId {
    /// The client's id when it is 1 to 64 visible ASCII characters, else a new ULID. Anything
    /// else could forge log lines or smuggle markup into the tools that display logs.
    pub fn accept_or_generate(incoming: Option<&HeaderValue>) -> RequestId {
        incoming
            .and_then(|value| value.to_str().ok())
            .filter(|id| {
                !id.is_empty()
                    && id.len() <= REQUEST_ID_LEN_MAX
                    && id.bytes().all(|b| b.is_ascii_graphic())
            })
            .map(|id| RequestId(id.to_owned()))
            .unwrap_or_else(RequestId::generate)
    }

    pub fn generate() -> RequestId {
        RequestId(ulid::Ulid::new().to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Clone, Debug)]
struct Context {
    id: RequestId,
    lang: Lang,
}

tokio::task_local! {
    static CURRENT: Context;
}

/// The language of the request being answered; English outside a request.
pub fn current_lang() -> Lang {
    CURRENT.try_with(|c| c.lang).unwrap_or_default()
}

/// The id of the request being answered; `None` outside a request.
pub fn current_id() -> Option<RequestId> {
    CURRENT.try_with(|c| c.id.clone()).ok()
}

/// The outermost middleware: fixes the request's id and language, makes them available to
/// everything inside, and returns the id in the response.
pub(crate) async fn label(mut request: Request, next: Next) -> Response {
    let id = RequestId::accept_or_generate(request.headers().get(&REQUEST_ID_HEADER));
    let lang = Lang::from_headers(request.headers());
    request.extensions_mut().insert(id.clone());
    request.extensions_mut().insert(lang);
    let header = HeaderValue::from_str(id.as_str()).expect("request ids are visible ASCII");
    let mut response = CURRENT.scope(Context { id, lang }, next.run(request)).await;
    response
        .headers_mut()
        .insert(REQUEST_ID_HEADER.clone(), header);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(raw: &str) -> RequestId {
        RequestId::accept_or_generate(Some(&HeaderValue::from_str(raw).unwrap()))
    }

    #[test]
    fn reasonable_ids_are_kept() {
        assert_eq!(accept("abc-123_XYZ.~:/").as_str(), "abc-123_XYZ.~:/");
        assert_eq!(accept(&"a".repeat(64)).as_str(), "a".repeat(64));
    }

    #[test]
    fn unreasonable_ids_are_replaced_by_a_ulid() {
        for raw in ["", "has space", &"a".repeat(65), "tab\there"] {
            let id = accept(raw);
            assert_ne!(id.as_str(), raw);
            assert!(ulid::Ulid::from_string(id.as_str()).is_ok(), "{id}");
        }
        assert!(ulid::Ulid::from_string(RequestId::accept_or_generate(None).as_str()).is_ok());
    }
}
