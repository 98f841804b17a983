//! `Idempotency-Key` for money-moving requests: the same key with the same request answers the
//! first response again; with another request, 409 `idempotency_conflict`; while the first is
//! still running, 409 `idempotency_in_flight`. Keys are per user. A server fault (5xx) is not
//! kept, so a retry after one runs again — safe, because the money steps behind it carry their
//! own ids. This module never decides what a request does.

use axum::body::Body;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sha2::{Digest, Sha256};
use store::wallet::IdempotencyBegin;

use crate::error::{ApiError, Reason, PROBLEM_CONTENT_TYPE};
use crate::AppState;

/// The longest response kept for replay.
const BODY_KEPT_MAX_BYTES: usize = 64 * 1024;

/// The request's `Idempotency-Key`, if it has one: 1 to 255 printable characters, otherwise
/// 422 `invalid_idempotency_key`.
pub fn key_of(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    match headers.get("idempotency-key") {
        None => Ok(None),
        Some(v) => match v.to_str() {
            Ok(k) if (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()) => {
                Ok(Some(k))
            }
            _ => Err(ApiError::new(Reason::InvalidIdempotencyKey)),
        },
    }
}

/// Runs `handler` under the request's `Idempotency-Key`, if it has one.
pub async fn idempotent<F>(
    state: &AppState,
    user_id: &str,
    headers: &HeaderMap,
    route: &str,
    request: &impl Serialize,
    handler: F,
) -> Response
where
    F: std::future::Future<Output = Response>,
{
    let key = match key_of(headers) {
        Ok(Some(key)) => key,
        Ok(None) => return handler.await,
        Err(e) => return e.into_response(),
    };
    let request_hash = hex::encode(Sha256::digest(
        serde_json::to_vec(request).unwrap_or_default(),
    ));
    match state
        .db
        .idempotency_begin(user_id, key, route, &request_hash)
        .await
    {
        Err(e) => ApiError::internal(e).into_response(),
        Ok(IdempotencyBegin::Conflict) => {
            ApiError::new(Reason::IdempotencyConflict).into_response()
        }
        Ok(IdempotencyBegin::InFlight) => {
            ApiError::new(Reason::IdempotencyInFlight).into_response()
        }
        Ok(IdempotencyBegin::Replay { status, body }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            let content_type = if status.is_success() {
                "application/json"
            } else {
                PROBLEM_CONTENT_TYPE
            };
            let mut response = Response::new(Body::from(body));
            *response.status_mut() = status;
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
            response
                .headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            response
        }
        Ok(IdempotencyBegin::Fresh) => {
            let response = handler.await;
            let status = response.status();
            if status.is_server_error() {
                if let Err(e) = state.db.idempotency_abandon(user_id, key).await {
                    tracing::warn!(error = %e, "could not forget an idempotency key");
                }
                return response;
            }
            let (parts, body) = response.into_parts();
            let bytes = match axum::body::to_bytes(body, BODY_KEPT_MAX_BYTES).await {
                Ok(bytes) => bytes,
                Err(e) => return ApiError::internal(anyhow::anyhow!("{e}")).into_response(),
            };
            let text = String::from_utf8_lossy(&bytes);
            if let Err(e) = state
                .db
                .idempotency_finish(user_id, key, status.as_u16(), &text)
                .await
            {
                tracing::warn!(error = %e, "could not keep an idempotent response");
            }
            Response::from_parts(parts, Body::from(bytes))
        }
    }
}
