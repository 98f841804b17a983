//! The numbers `/metrics` serves: HTTP traffic per route and the ledger writer's batches and
//! queue, in the Prometheus (OpenMetrics) text format.
//!
//! Labels are bounded on purpose: routes are templates (`/api/v1/deposits/{id}`), never raw
//! paths, and unknown methods share one label, so no client can grow the series without limit.
//! This module never reads the database.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};
use store::writer::BatchObserver;

/// The media type of the text `/metrics` serves.
pub const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The `route` label of requests that matched no route.
pub const UNMATCHED_ROUTE: &str = "unmatched";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// The node's metrics. One per process, shared through an `Arc`.
pub struct Metrics {
    registry: Registry,
    http_requests: Family<RequestLabels, Counter>,
    http_request_duration: HistogramFamily<RouteLabels>,
    ledger_batch_transfers: Histogram,
    ledger_batch_duration: Histogram,
    ledger_queue_depth: Gauge,
}

fn request_duration_histogram() -> Histogram {
    // 1 ms to about 16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let http_requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered",
            http_requests.clone(),
        );
        let http_request_duration: HistogramFamily<RouteLabels> =
            Family::new_with_constructor(request_duration_histogram);
        registry.register_with_unit(
            "http_request_duration",
            "Time from receiving a request to having its response headers",
            Unit::Seconds,
            http_request_duration.clone(),
        );
        // 1 to 16384 transfers: the writer's batches hold at most a few thousand.
        let ledger_batch_transfers = Histogram::new(exponential_buckets(1.0, 2.0, 15));
        registry.register(
            "ledger_batch_transfers",
            "Transfers per committed ledger batch",
            ledger_batch_transfers.clone(),
        );
        // 0.25 ms to about 4 s.
        let ledger_batch_duration = Histogram::new(exponential_buckets(0.000_25, 2.0, 15));
        registry.register_with_unit(
            "ledger_batch_duration",
            "Time to load, apply, write and commit one ledger batch",
            Unit::Seconds,
            ledger_batch_duration.clone(),
        );
        let ledger_queue_depth = Gauge::default();
        registry.register(
            "ledger_queue_depth",
            "Ledger requests waiting or being written",
            ledger_queue_depth.clone(),
        );
        Metrics {
            registry,
            http_requests,
            http_request_duration,
            ledger_batch_transfers,
            ledger_batch_duration,
            ledger_queue_depth,
        }
    }

    /// The observer to give `store::writer::Ledger::start`, feeding the batch histograms.
    pub fn batch_observer(self: &Arc<Self>) -> BatchObserver {
        let metrics = Arc::clone(self);
        Arc::new(move |transfers: usize, took: Duration| {
            metrics.ledger_batch_transfers.observe(transfers as f64);
            metrics.ledger_batch_duration.observe(took.as_secs_f64());
        })
    }

    /// Records one answered request.
    pub fn observe_request(&self, method: &Method, route: &str, status: u16, took: Duration) {
        let method = method_label(method);
        self.http_requests
            .get_or_create(&RequestLabels {
                method,
                route: route.to_owned(),
                status,
            })
            .inc();
        self.http_request_duration
            .get_or_create(&RouteLabels {
                method,
                route: route.to_owned(),
            })
            .observe(took.as_secs_f64());
    }

    /// The text for a scrape. The queue depth is passed in because it lives in the ledger
    /// handle and is only worth reading when someone asks.
    pub fn render(&self, ledger_queue_depth: i64) -> String {
        self.ledger_queue_depth.set(ledger_queue_depth);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

/// The standard methods by name; anything else is `other`, since clients choose methods freely.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

/// Middleware counting and timing every request under its route template.
pub(crate) async fn track(
    State(metrics): State<Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED_ROUTE.to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    metrics.observe_request(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}
