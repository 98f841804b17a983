//! Liveness, readiness and metrics: what load balancers and the operator's monitoring ask.
//!
//! These answer anyone and stay cheap: at most one trivial database query, never a lock the
//! ledger needs. They never reveal why a dependency is down; the log does.

use std::time::Duration;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, Problem};
use crate::json::ApiJson;
use crate::metrics::METRICS_CONTENT_TYPE;
use crate::AppState;

/// How long readiness waits for the database; a probe that hangs is worse than one that fails.
const READY_PING_TIMEOUT: Duration = Duration::from_secs(2);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

/// A liveness or readiness answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    #[schema(example = "ok")]
    pub status: String,
}

fn ok() -> ApiJson<Health> {
    ApiJson(Health {
        status: "ok".to_owned(),
    })
}

/// Liveness: the process answers HTTP.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The process is alive", body = Health)))]
async fn healthz() -> ApiJson<Health> {
    ok()
}

/// Readiness: the process can reach its database and should get traffic.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Ready for traffic", body = Health),
        (status = 503, description = "`database_unavailable`: the database does not answer",
            body = Problem, content_type = "application/problem+json"),
    ))]
async fn readyz(State(state): State<AppState>) -> Result<ApiJson<Health>, ApiError> {
    let reachable = tokio::time::timeout(READY_PING_TIMEOUT, state.db.ping())
        .await
        .unwrap_or(false);
    if reachable {
        Ok(ok())
    } else {
        tracing::warn!("readiness check failed: the database does not answer");
        Err(ApiError::database_unavailable())
    }
}

/// Metrics in the Prometheus (OpenMetrics) text format: HTTP requests and durations per route
/// template, ledger batch sizes and durations, and the ledger queue depth.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "The current metrics", body = String,
        content_type = "application/openmetrics-text")))]
async fn metrics(State(state): State<AppState>) -> Response {
    let text = state.metrics.render(state.ledger.queue_depth());
    ([(CONTENT_TYPE, METRICS_CONTENT_TYPE)], text).into_response()
}
