//! okwallet's HTTP surface: the routers, the layers every request passes through, and the
//! server loop.
//!
//! Every response, including 404s, 405s and panics, carries an `x-request-id`; every error is a
//! problem document in the request's language ([`error`]); every request is counted under its
//! route template ([`metrics`]) and logged inside a span naming its id, method and route. This
//! crate never holds SQL (that is `store`) or business rules (the domain crates); handlers
//! translate between HTTP and those.

pub mod api;
pub mod auth;
pub mod charts;
pub mod chat;
pub mod desk;
pub mod error;
pub mod help;
pub mod idempotency;
pub mod json;
pub mod lang;
pub mod mail;
pub mod metrics;
pub mod pages;
pub mod request;
pub mod status;

use std::any::Any;
use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::{middleware, Router};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::{DefaultOnRequest, DefaultOnResponse, TraceLayer};
use tracing::Level;

pub use error::{ApiError, Problem, Reason};
pub use json::ApiJson;
pub use lang::Lang;
pub use metrics::Metrics;
pub use request::RequestId;

/// The largest request body any route reads unless it sets its own `DefaultBodyLimit`. The API
/// takes small JSON documents; anything bigger is a mistake or an attack.
pub const API_BODY_LIMIT_BYTES: usize = 64 * 1024;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: store::Db,
    pub ledger: store::writer::Ledger,
    pub metrics: Arc<Metrics>,
    /// Demo mode: the simulated chain runs and its routes are present.
    pub demo: bool,
    pub settings: Arc<Settings>,
    /// Deposits and withdrawals; `None` when no chain is configured (the wallet routes answer
    /// `asset_not_supported` then).
    pub wallet: Option<Arc<wallet::Wallet>>,
    /// Transfers, conversions, payments and refunds.
    pub payments: Arc<payments::Payments>,
    /// The help center: its settings, search index and official list.
    pub help: Arc<help::HelpCenter>,
    /// The help desk on this node: its set-up cache and ticket writer.
    pub desk: Arc<desk::Desk>,
    /// Live chats' listeners on this node.
    pub chat: Arc<chat::Hub>,
}

/// Operator settings the handlers read.
#[derive(Clone, Debug)]
pub struct Settings {
    /// How people reach this server (scheme, host, optional port; no trailing slash). Links in
    /// mail and the passkey origin and relying-party id come from it.
    pub public_url: String,
    /// How long after a confirmed unfreeze request the account stays frozen.
    pub unfreeze_cooling_off_ms: i64,
    /// How long withdrawals stay locked after a password reset or a second-factor change.
    pub withdrawal_lock_ms: i64,
    /// Reverse proxies whose `X-Forwarded-For` is believed; empty: the peer is the client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// The operator's key for secrets at rest (TOTP seeds, webhook secrets).
    pub secret_key: identity::sealed::SecretKey,
    /// Merchants may point webhooks at loopback and private addresses (tests, closed networks).
    pub allow_private_webhooks: bool,
    /// The help desk's settings.
    pub desk: desk::DeskSettings,
    /// The secret the PBX signs call events with; `None`: `POST /api/v1/cti/events` is off.
    pub cti_secret: Option<String>,
    /// The STUN/TURN servers browsers use for in-app calls (empty: direct connections only,
    /// which work on one network).
    pub ice_servers: Vec<IceServer>,
    /// Callbacks: tries, the wait between them, windows and claims (`[live]`).
    pub callbacks: helpdesk::callbacks::Policy,
}

/// A STUN or TURN server for WebRTC, as a browser's `RTCIceServer` takes it.
#[derive(
    Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct IceServer {
    /// `stun:host:port`, `turn:host:port?transport=udp`, `turns:…`.
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

impl Settings {
    /// A stored TOTP secret, opened; a server fault when it does not open (wrong key).
    pub fn totp_secret(
        &self,
        user_id: &str,
        stored: &str,
    ) -> Result<identity::totp::TotpSecret, ApiError> {
        identity::totp::TotpSecret::unseal(&self.secret_key, user_id, stored).ok_or_else(|| {
            ApiError::internal(anyhow::anyhow!(
                "a stored TOTP secret does not open: is this the key it was sealed with?"
            ))
        })
    }
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            public_url: "http://localhost:8080".to_owned(),
            unfreeze_cooling_off_ms: 24 * 3600 * 1000,
            withdrawal_lock_ms: 24 * 3600 * 1000,
            trusted_proxies: Vec::new(),
            // Tests and tools get a key of their own; `serve` always sets the operator's.
            secret_key: identity::sealed::SecretKey::generate(),
            allow_private_webhooks: false,
            desk: desk::DeskSettings::default(),
            cti_secret: None,
            ice_servers: Vec::new(),
            callbacks: helpdesk::callbacks::Policy::default(),
        }
    }
}

/// The whole application, ready to serve.
pub fn router(state: AppState) -> Router {
    with_layers(api::router().merge(pages::router()), state)
}

/// Wraps `routes` in everything the application puts around its routes: problem answers for
/// unknown routes, wrong methods and panics, the body limit, metrics, tracing, request ids and
/// language. [`router`] uses it for the real routes; tests use it to put probe routes behind
/// exactly the same layers.
pub fn with_layers(routes: Router<AppState>, state: AppState) -> Router {
    let metrics = state.metrics.clone();
    // Layers added later wrap the earlier ones: the request-labelling middleware is outermost so
    // that the id and language exist for everything inside, including the trace span and the
    // panic answer; the panic catcher is innermost so that a panic is still counted and logged.
    routes
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(CatchPanicLayer::custom(answer_panic))
        .layer(DefaultBodyLimit::max(API_BODY_LIMIT_BYTES))
        .layer(middleware::from_fn_with_state(metrics, metrics::track))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_request(DefaultOnRequest::new().level(Level::DEBUG))
                .on_response(DefaultOnResponse::new().level(Level::INFO))
                // Server errors are logged with their cause where they happen (`ApiError`);
                // logging them again here would only say "500".
                .on_failure(()),
        )
        .layer(middleware::from_fn(request::label))
        .with_state(state)
}

/// Serves the application on `listener` until `shutdown` completes, then lets requests in flight
/// finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    // Connection info gives handlers the peer address for throttling and the session list.
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .context("while serving HTTP")
}

/// Unknown paths: a page for browsers, a problem document for everyone else (and always under
/// `/api/`, whatever the client accepts).
async fn not_found(
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
    ctx: pages::PageCtx,
) -> Response {
    let wants_html = !uri.path().starts_with("/api/")
        && headers
            .get(axum::http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"));
    if wants_html {
        pages::not_found_page(&ctx)
    } else {
        ApiError::not_found().into_response()
    }
}

async fn method_not_allowed(method: Method) -> ApiError {
    ApiError::method_not_allowed(&method)
}

/// The span every log line of a request is recorded in.
fn request_span(request: &Request) -> tracing::Span {
    let id = request
        .extensions()
        .get::<RequestId>()
        .map_or("-", RequestId::as_str);
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(metrics::UNMATCHED_ROUTE, MatchedPath::as_str);
    tracing::info_span!("request", request_id = id, method = %request.method(), route)
}

/// A panicking handler is our bug: answer an opaque 500 and log what the panic said.
fn answer_panic(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned());
    ApiError::internal(anyhow::anyhow!("handler panicked: {message}")).into_response()
}
