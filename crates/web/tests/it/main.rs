//! Black-box tests of the HTTP surface: the real application on a real port over a fresh
//! database, each story on SQLite and on PostgreSQL.

mod accounts;
mod callbacks;
mod chats;
mod desk_matrix;
mod desk_pages;
mod diagnoses;
mod help;
pub(crate) mod help_pages;
pub(crate) mod helpdesk;
mod live;
pub(crate) mod mail;
mod moves;
pub(crate) mod pages;
mod passkeys;
mod supervisor_pages;
pub(crate) mod tickets;
mod wallet;

use std::sync::{Arc, Mutex, OnceLock};

use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use ledger::{Amount, AssetCode, Transfer, TransferId, TransferKind};
use serde_json::{json, Value};
use store::writer::{Ledger, SubmitError};
use testkit::{both_backends, TestDb};
use tokio::sync::oneshot;
use web::{ApiError, ApiJson, AppState, Metrics};

/// The secret the test server shares with its "PBX".
pub const CTI_SECRET: &str = "test-cti-secret-0123456789";

/// A running server and what it runs on. Dropping it stops the server and drops the database.
struct App {
    base: String,
    client: reqwest::Client,
    state: AppState,
    /// The simulated chain the wallet runs on; tests mine it by hand.
    sim: Arc<chain::sim::SimChain>,
    _stop: oneshot::Sender<()>,
    _db: TestDb,
}

impl App {
    /// The real application.
    async fn spawn(backend: testkit::Backend) -> App {
        App::spawn_with(backend, None).await
    }

    /// The real application in demo mode (the dev mailbox is there).
    async fn spawn_demo(backend: testkit::Backend) -> App {
        App::start(backend, None, true).await
    }

    /// The real application, with `probe` routes added behind exactly the same layers.
    async fn spawn_with(backend: testkit::Backend, probe: Option<Router<AppState>>) -> App {
        App::start(backend, probe, false).await
    }

    async fn start(backend: testkit::Backend, probe: Option<Router<AppState>>, demo: bool) -> App {
        let test_db = TestDb::new(backend).await;
        let metrics = Arc::new(Metrics::new());
        let ledger = Ledger::start(
            test_db.db.clone(),
            Default::default(),
            Some(metrics.batch_observer()),
        )
        .await
        .expect("the ledger writer starts");
        let sim = Arc::new(chain::sim::SimChain::new(chain::sim::SimConfig::default()));
        let mut wallet = ::wallet::Wallet::new(
            test_db.db.clone(),
            ledger.clone(),
            chain::hd::Seed::from_bytes(&[0x42; 64]).unwrap(),
            vec![::wallet::ChainRuntime {
                settings: ::wallet::settings::demo_chain(3),
                chain: sim.clone(),
                sim: Some(sim.clone()),
            }],
            24 * 3600 * 1000,
        )
        .unwrap();
        wallet.address_lock_ms = 24 * 3600 * 1000;
        sim.fund(
            wallet.hot_wallet_address(),
            chain::Token::Native,
            1_000 * 1_000_000_000_000_000_000,
        );
        let payments = Arc::new(payments::Payments::new(
            test_db.db.clone(),
            ledger.clone(),
            Arc::new(payments::feed::AdminFeed::new(test_db.db.clone())),
            payments::Settings {
                delivery: payments::webhook::DeliverySettings {
                    backoff: vec![std::time::Duration::from_millis(200); 3],
                    timeout: std::time::Duration::from_secs(5),
                    poll: std::time::Duration::from_millis(50),
                },
                ..payments::Settings::default()
            },
        ));
        let settings = web::Settings {
            allow_private_webhooks: true,
            cti_secret: Some(CTI_SECRET.to_owned()),
            ice_servers: vec![web::IceServer {
                urls: vec!["stun:stun.example.com:3478".into()],
                ..Default::default()
            }],
            ..Default::default()
        };
        payments::webhook::spawn_deliverer(
            test_db.db.clone(),
            settings.secret_key.clone(),
            payments.settings.delivery.clone(),
        );
        let state = AppState {
            db: test_db.db.clone(),
            ledger,
            metrics,
            demo,
            settings: Arc::new(settings),
            wallet: Some(Arc::new(wallet)),
            payments,
            help: Arc::new(
                web::help::HelpCenter::start(&test_db.db, Default::default())
                    .await
                    .expect("the help center starts"),
            ),
            desk: Arc::new(web::desk::Desk::new()),
            chat: Arc::new(web::chat::Hub::new()),
        };
        web::chat::spawn_listener(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async {
            let _ = stopped.await;
        };
        match probe {
            None => {
                tokio::spawn(web::serve(listener, state.clone(), shutdown));
            }
            Some(routes) => {
                let app = web::with_layers(web::api::router().merge(routes), state.clone());
                tokio::spawn(async move {
                    axum::serve(listener, app)
                        .with_graceful_shutdown(shutdown)
                        .await
                });
            }
        }
        App {
            base,
            client: reqwest::Client::new(),
            state,
            sim,
            _stop: stop,
            _db: test_db,
        }
    }

    /// A second node on the same database (its own help-desk writer and chat listeners), as
    /// another `okwallet serve` would be: its base URL, and what stops it when dropped.
    async fn second_node(&self) -> (String, oneshot::Sender<()>) {
        let state = AppState {
            desk: Arc::new(web::desk::Desk::new()),
            chat: Arc::new(web::chat::Hub::new()),
            ..self.state.clone()
        };
        web::chat::spawn_listener(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(web::serve(listener, state, async {
            let _ = stopped.await;
        }));
        (base, stop)
    }

    /// Mines `blocks` on the simulated chain, letting the wallet look after each.
    async fn mine(&self, blocks: u64) {
        let wallet = self.state.wallet.as_ref().expect("tests run a wallet");
        for _ in 0..blocks {
            self.sim.mine(1);
            wallet.tick().await.expect("a wallet round");
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("the server answers")
    }

    async fn get_in(&self, path: &str, accept_language: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .header("accept-language", accept_language)
            .send()
            .await
            .expect("the server answers")
    }
}

/// Asserts a problem response and returns its status and body.
async fn problem(response: reqwest::Response) -> (StatusCode, Value) {
    let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
    let content_type = header(&response, "content-type");
    assert_eq!(content_type, "application/problem+json", "status {status}");
    let header_id = header(&response, "x-request-id");
    let body: Value = response.json().await.expect("a JSON problem");
    assert_eq!(body["status"], status.as_u16(), "{body}");
    let code = body["code"].as_str().expect("a code");
    assert_eq!(
        body["type"],
        format!("https://okwallet.dev/problems/{code}")
    );
    assert!(
        body["title"].as_str().is_some_and(|t| !t.is_empty()),
        "{body}"
    );
    assert!(
        body["detail"].as_str().is_some_and(|t| !t.is_empty()),
        "{body}"
    );
    assert_eq!(
        body["request_id"],
        header_id.as_str(),
        "the body names the request id the header carries"
    );
    (status, body)
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("a {name} header"))
        .to_str()
        .unwrap()
        .to_owned()
}

/// Every log line the test binary writes, captured by a global subscriber installed on first use.
fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = logs.clone();
        tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || Capture(sink.clone()))
            .init();
        logs
    })
    .clone()
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn has_chinese(text: &str) -> bool {
    text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

both_backends!(liveness_and_readiness, |backend| async move {
    let app = App::spawn(backend).await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"status": "ok"})
    );
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"status": "ok"})
    );
});

both_backends!(
    readiness_fails_once_the_database_is_gone,
    |backend| async move {
        let app = App::spawn(backend).await;
        app.state.db.close().await;
        let (status, body) = problem(app.get("/readyz").await).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["code"], "database_unavailable");
        let response = app.get("/healthz").await;
        assert_eq!(
            response.status(),
            200,
            "liveness does not depend on the database"
        );
    }
);

both_backends!(
    metrics_count_requests_by_route_template_and_watch_the_ledger,
    |backend| async move {
        let app = App::spawn(backend).await;
        assert_eq!(app.get("/api/v1/assets").await.status(), 200);
        assert_eq!(app.get("/api/v1/no-such-thing-7f3a").await.status(), 404);

        // One committed batch, to see the writer's observer feed the histograms.
        let eth = AssetCode::parse("ETH").unwrap();
        let accounts = app
            .state
            .db
            .create_synthetic_accounts("web-metrics:", 1, &eth)
            .await
            .unwrap();
        let transfer = Transfer {
            id: TransferId::parse("web-metrics-1").unwrap(),
            kind: TransferKind::Single {
                debit: store::accounts::equity_account_id(&eth),
                credit: accounts[0].clone(),
                amount: Amount::from_minor(5).unwrap(),
            },
            asset: eth,
            code: 1,
            reference: "test:web-metrics".to_owned(),
            linked: false,
        };
        app.state
            .ledger
            .submit(vec![transfer])
            .await
            .expect("the batch commits");

        let response = app.get("/metrics").await;
        assert_eq!(response.status(), 200);
        assert!(header(&response, "content-type").starts_with("application/openmetrics-text"));
        let text = response.text().await.unwrap();
        assert!(
            text.contains(
                r#"http_requests_total{method="GET",route="/api/v1/assets",status="200"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"http_requests_total{method="GET",route="unmatched",status="404"} 1"#),
            "{text}"
        );
        assert!(
            !text.contains("no-such-thing"),
            "raw paths never become labels"
        );
        assert!(
            text.contains(
                r#"http_request_duration_seconds_count{method="GET",route="/api/v1/assets"} 1"#
            ),
            "{text}"
        );
        assert!(text.contains("# TYPE ledger_queue_depth gauge"), "{text}");
        assert!(text.contains("\nledger_queue_depth 0\n"), "{text}");
        assert!(text.contains("ledger_batch_transfers_count 1"), "{text}");
        assert!(text.contains("ledger_batch_transfers_sum 1.0"), "{text}");
        assert!(
            text.contains("ledger_batch_duration_seconds_count 1"),
            "{text}"
        );
    }
);

both_backends!(
    the_openapi_document_describes_every_route,
    |backend| async move {
        let app = App::spawn(backend).await;
        let response = app.get("/api/openapi.json").await;
        assert_eq!(response.status(), 200);
        assert_eq!(header(&response, "content-type"), "application/json");
        let doc: Value = response.json().await.expect("valid JSON");
        assert!(
            doc["openapi"].as_str().unwrap().starts_with("3.1"),
            "{}",
            doc["openapi"]
        );
        for path in [
            "/healthz",
            "/readyz",
            "/metrics",
            "/api/v1/assets",
            "/api/openapi.json",
            "/api/docs",
        ] {
            assert!(
                doc["paths"][path]["get"].is_object(),
                "{path} is documented"
            );
        }
        let problem = &doc["components"]["schemas"]["Problem"];
        for field in ["type", "title", "status", "code", "detail", "request_id"] {
            assert!(problem["properties"][field].is_object(), "Problem.{field}");
        }
        assert_eq!(
            doc["paths"]["/api/v1/assets"]["get"]["responses"]["default"]["content"]
                ["application/problem+json"]["schema"]["$ref"],
            "#/components/schemas/Problem"
        );
        let list = &doc["components"]["schemas"]["AssetList"]["properties"];
        assert!(
            list["items"].is_object() && list["next_cursor"].is_object(),
            "{list}"
        );
    }
);

both_backends!(
    the_docs_page_is_self_contained_and_speaks_both_languages,
    |backend| async move {
        let app = App::spawn(backend).await;
        let response = app.get_in("/api/docs", "en-US,en;q=0.9").await;
        assert_eq!(response.status(), 200);
        assert!(header(&response, "content-type").starts_with("text/html"));
        assert_eq!(header(&response, "content-language"), "en");
        let english = response.text().await.unwrap();
        assert!(english.starts_with("<!doctype html>"));
        assert!(english.contains("<h1>okwallet API reference"));
        assert!(
            english.contains("fetch(\"/api/openapi.json\""),
            "it renders the live document"
        );
        let lowered = english.to_lowercase();
        assert!(
            !lowered.contains("http://") && !lowered.contains("https://"),
            "no external URL"
        );
        assert!(
            !lowered.contains("<script src") && !lowered.contains("<link"),
            "no external resource"
        );

        let chinese = app
            .get_in("/api/docs", "zh-CN,zh;q=0.9,en;q=0.5")
            .await
            .text()
            .await
            .unwrap();
        assert!(chinese.contains("<html lang=\"zh-CN\">"));
        assert!(chinese.contains("<h1>okwallet API 文档"));
        assert!(chinese.contains("<h2>接口</h2>"));
        let switched = app
            .get_in("/api/docs?lang=en", "zh-CN")
            .await
            .text()
            .await
            .unwrap();
        assert!(
            switched.contains("<h2>Routes</h2>"),
            "?lang= overrides Accept-Language"
        );
    }
);

both_backends!(assets_are_listed_in_display_order, |backend| async move {
    let app = App::spawn(backend).await;
    let response = app.get("/api/v1/assets").await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "content-type"), "application/json");
    let body: Value = response.json().await.unwrap();
    let listed: Vec<(&str, u64, &str)> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["code"].as_str().unwrap(),
                a["decimals"].as_u64().unwrap(),
                a["chain"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        vec![
            ("ETH", 9, "ethereum"),
            ("USDT", 6, "ethereum"),
            ("BTC", 8, "bitcoin")
        ]
    );
    assert_eq!(body["items"][0]["name"], "Ether");
    assert_eq!(body["next_cursor"], Value::Null);
});

both_backends!(
    unknown_routes_and_wrong_methods_are_problems,
    |backend| async move {
        let app = App::spawn(backend).await;
        let (status, body) = problem(app.get("/api/v1/nothing-here").await).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("not_found"))
        );

        let response = app.client.post(app.url("/healthz")).send().await.unwrap();
        let allow = header(&response, "allow");
        let (status, body) = problem(response).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed"))
        );
        assert!(allow.contains("GET"), "Allow: {allow}");
        assert!(body["detail"].as_str().unwrap().contains("POST"), "{body}");

        let response = app
            .client
            .delete(app.url("/api/v1/assets"))
            .send()
            .await
            .unwrap();
        assert_eq!(problem(response).await.1["code"], "method_not_allowed");
    }
);

both_backends!(problems_speak_the_request_language, |backend| async move {
    let app = App::spawn(backend).await;
    let (_, zh) = problem(app.get_in("/api/v1/missing", "zh-CN").await).await;
    let (_, en) = problem(app.get_in("/api/v1/missing", "en").await).await;
    assert_eq!(
        zh["code"], en["code"],
        "the code never depends on the language"
    );
    let (zh_detail, en_detail) = (
        zh["detail"].as_str().unwrap(),
        en["detail"].as_str().unwrap(),
    );
    assert!(has_chinese(zh_detail), "{zh_detail}");
    assert!(
        !has_chinese(en_detail) && en_detail.contains("nothing"),
        "{en_detail}"
    );

    let response = app.get_in("/api/v1/missing", "zh;q=0.2, en;q=0.8").await;
    assert_eq!(
        header(&response, "content-language"),
        "en",
        "quality values decide"
    );
    let response = app.get_in("/api/v1/missing", "fr-FR, zh-Hans;q=0.5").await;
    assert_eq!(header(&response, "content-language"), "zh-CN");
    assert!(has_chinese(
        problem(response).await.1["detail"].as_str().unwrap()
    ));
    let response = app.get("/api/v1/missing").await;
    assert_eq!(
        header(&response, "content-language"),
        "en",
        "English without Accept-Language"
    );
});

both_backends!(every_response_carries_a_request_id, |backend| async move {
    let app = App::spawn(backend).await;
    let generated = header(&app.get("/healthz").await, "x-request-id");
    assert_eq!(generated.len(), 26, "a ULID: {generated}");
    assert_ne!(
        generated,
        header(&app.get("/healthz").await, "x-request-id"),
        "each request its own"
    );

    let send = |id: String| {
        app.client
            .get(app.url("/api/v1/missing"))
            .header("x-request-id", id)
            .send()
    };
    let echoed = send("client-req-42".to_owned()).await.unwrap();
    assert_eq!(header(&echoed, "x-request-id"), "client-req-42");
    assert_eq!(problem(echoed).await.1["request_id"], "client-req-42");

    for hostile in ["x".repeat(200), "two words".to_owned(), String::new()] {
        let response = send(hostile.clone()).await.unwrap();
        let id = header(&response, "x-request-id");
        assert_ne!(id, hostile);
        assert_eq!(id.len(), 26, "replaced by a ULID: {id}");
    }
});

#[derive(Debug, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
struct Probe {
    name: String,
    inner: ProbeInner,
}

#[derive(Debug, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
struct ProbeInner {
    count: u32,
}

async fn panicking() -> &'static str {
    panic!("secret internals: password=hunter2")
}

/// Routes that exist only in these tests, behind the application's real layers.
fn probe_routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/probe",
            post(|ApiJson(probe): ApiJson<Probe>| async move { ApiJson(probe) }),
        )
        .route("/api/v1/probe/panic", get(panicking))
        .route(
            "/api/v1/probe/slow-down",
            get(|| async { ApiError::too_many_requests(7) }),
        )
        .route(
            "/api/v1/probe/overloaded",
            get(|| async { ApiError::from(SubmitError::Overloaded) }),
        )
        .route(
            "/api/v1/probe/move-money",
            post(|web::auth::MayMoveMoney(_): web::auth::MayMoveMoney| async { "moved" }),
        )
}

both_backends!(
    a_frozen_account_gets_past_no_money_guard,
    |backend| async move {
        let app = App::spawn_with(backend, Some(probe_routes())).await;
        app.sign_up("rui@example.com").await;
        let token = app.token("rui@example.com").await;
        let r = app
            .post_json("/api/v1/probe/move-money", json!({}), Some(&token))
            .await;
        assert_eq!(r.status(), 200);
        let r = app
            .post_json("/api/v1/me/freeze", json!({}), Some(&token))
            .await;
        assert_eq!(r.status(), 200);
        // The owner logs in again (to read the log or ask to unfreeze): still no money moves.
        let token = app.token("rui@example.com").await;
        let (status, body) = problem(
            app.post_json("/api/v1/probe/move-money", json!({}), Some(&token))
                .await,
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body["code"], "account_frozen");
        let r = app
            .post_json("/api/v1/probe/move-money", json!({}), None)
            .await;
        assert_eq!(r.status(), 401);
    }
);

both_backends!(
    json_bodies_are_refused_with_client_codes,
    |backend| async move {
        let app = App::spawn_with(backend, Some(probe_routes())).await;
        let send = |body: String, content_type: &'static str| {
            app.client
                .post(app.url("/api/v1/probe"))
                .header("content-type", content_type)
                .header("accept-language", "en")
                .body(body)
                .send()
        };
        const JSON: &str = "application/json";

        let response = send(r#"{"name":"a","inner":{"count":3}}"#.into(), JSON)
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            json!({"name": "a", "inner": {"count": 3}})
        );

        let (status, body) = problem(
            send(r#"{"name": "a", "inner": "#.into(), JSON)
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("malformed_json"))
        );
        let (status, body) = problem(send("not json".into(), JSON).await.unwrap()).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("malformed_json"))
        );

        let (status, body) = problem(
            send(r#"{"name":"a","inner":{"count":"three"}}"#.into(), JSON)
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_field"))
        );
        assert_eq!(body["field"], "inner.count");
        assert!(
            body["detail"].as_str().unwrap().contains("inner.count"),
            "{body}"
        );

        let (status, body) =
            problem(send(r#"{"inner":{"count":1}}"#.into(), JSON).await.unwrap()).await;
        assert_eq!(
            (status, body["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("name"))
        );
        assert!(
            body["detail"].as_str().unwrap().contains("missing"),
            "{body}"
        );

        let (status, body) = problem(
            send(
                r#"{"name":"a","inner":{"count":1,"extra":true}}"#.into(),
                JSON,
            )
            .await
            .unwrap(),
        )
        .await;
        assert_eq!(
            (status, body["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("inner.extra"))
        );
        assert_eq!(body["code"], "invalid_field");

        let padding = "x".repeat(web::API_BODY_LIMIT_BYTES);
        let big = format!(r#"{{"name":"{padding}","inner":{{"count":1}}}}"#);
        let (status, body) = problem(send(big, JSON).await.unwrap()).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::PAYLOAD_TOO_LARGE, Some("body_too_large"))
        );

        let (status, body) = problem(
            send(r#"{"name":"a","inner":{"count":1}}"#.into(), "text/plain")
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Some("unsupported_media_type")
            )
        );
    }
);

both_backends!(panics_are_opaque_server_errors, |backend| async move {
    let app = App::spawn_with(backend, Some(probe_routes())).await;
    let response = app.get_in("/api/v1/probe/panic", "zh-CN").await;
    let (status, body) = problem(response).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::INTERNAL_SERVER_ERROR, Some("internal_error"))
    );
    assert!(
        has_chinese(body["detail"].as_str().unwrap()),
        "even a panic answers in the request's language"
    );
    assert!(!body.to_string().contains("hunter2"), "{body}");
    assert_eq!(
        app.get("/healthz").await.status(),
        200,
        "the server survives"
    );
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains(
            r#"http_requests_total{method="GET",route="/api/v1/probe/panic",status="500"} 1"#
        ),
        "{metrics}"
    );
});

both_backends!(busy_answers_say_when_to_retry, |backend| async move {
    let app = App::spawn_with(backend, Some(probe_routes())).await;
    let response = app.get("/api/v1/probe/slow-down").await;
    assert_eq!(header(&response, "retry-after"), "7");
    let (status, body) = problem(response).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("too_many_requests"))
    );
    assert_eq!(body["retry_after_s"], 7);

    let response = app.get("/api/v1/probe/overloaded").await;
    assert!(header(&response, "retry-after").parse::<u64>().unwrap() >= 1);
    let (status, body) = problem(response).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("service_unavailable"))
    );
});

both_backends!(log_lines_name_the_request, |backend| async move {
    let logs = captured_logs();
    let app = App::spawn_with(backend, Some(probe_routes())).await;
    let id = format!("log-probe-{}", ulid::Ulid::new());
    let response = app
        .client
        .get(app.url("/api/v1/probe/panic"))
        .header("x-request-id", &id)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    let text = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    let span = format!(r#"request{{request_id="{id}" method=GET route="/api/v1/probe/panic"}}"#);
    let lines: Vec<&str> = text.lines().filter(|line| line.contains(&span)).collect();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("ERROR") && l.contains("handler panicked: secret internals")),
        "the cause is logged inside the request's span: {lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("finished processing request") && l.contains("status=500")),
        "{lines:#?}"
    );
});
