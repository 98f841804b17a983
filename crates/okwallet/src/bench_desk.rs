//! `okwallet bench helpdesk`: the help desk through the real server — the same router, layers
//! and rules `okwallet serve` runs — on a fresh database. Three measurements, printed as JSON
//! lines, never asserted:
//!
//! 1. **creates**: `--clients` customers, each with a bearer token, open tickets
//!    (`POST /api/v1/tickets`) one after another for `--seconds` (after a warm-up); tickets
//!    are routed to `--agents` online agents as they arrive.
//! 2. **replies**: the agents answer random tickets (`POST /api/v1/tickets/{id}/messages`,
//!    public replies) for `--seconds`.
//! 3. **queue**: the database is filled up to `--queue-tickets` tickets (imported in bulk:
//!    nine in ten solved or closed, the rest open across the agents and the queue, with real
//!    deadlines), then one agent opens the console's queues (`/agent?queue=…`, the HTML page
//!    with its counts) and the API queue (`/api/v1/tickets?order=due`) one request at a time,
//!    `--queue-requests` times each; p50/p99. After the import the planner's statistics are
//!    brought up to date (`ANALYZE` on PostgreSQL, as autovacuum soon would; `PRAGMA
//!    optimize` on SQLite).
//!
//! At the end every answer must have been a success and every ticket's number unique.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use store::helpdesk::{AgentRow, SlaTargetRow, SupportGroup};
use store::tickets::{Ticket, TicketEvent, TicketMessage, NO_DUE_MS};
use store::writer::{Ledger, WriterConfig};
use store::Backend;

use crate::bench::{app_state, percentile_ms, FreshDb};
use crate::config::Config;

#[derive(clap::Args, Debug)]
pub struct DeskBenchArgs {
    /// Concurrent customers opening tickets.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Agents online (and answering in the replies phase).
    #[arg(long, default_value_t = 8)]
    agents: usize,
    /// Seconds measured per throughput phase, after `--warmup-s`.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    #[arg(long, default_value_t = 2)]
    warmup_s: u64,
    /// Tickets in the database when the queue pages are measured.
    #[arg(long, default_value_t = 100_000)]
    queue_tickets: usize,
    /// Requests per queue page.
    #[arg(long, default_value_t = 200)]
    queue_requests: usize,
    /// Print only JSON lines.
    #[arg(long)]
    json: bool,
}

const PASSWORD: &str = "bench helpdesk password 2026";

/// Runs `clients` loops of `request` for the warm-up and `seconds`; answers the measured
/// latencies (µs, sorted), the seconds measured, and how many measured answers failed.
async fn load<F, Fut>(
    clients: usize,
    warmup_s: u64,
    seconds: u64,
    request: F,
) -> (Vec<u64>, f64, u64)
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let request = Arc::new(request);
    let measuring = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for n in 0..clients {
        let (request, measuring, done, failures) = (
            request.clone(),
            measuring.clone(),
            done.clone(),
            failures.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut i = 0u64;
            while !done.load(Ordering::Relaxed) {
                let started = Instant::now();
                let ok = request(n, i).await;
                i += 1;
                if measuring.load(Ordering::Relaxed) {
                    latencies.push(started.elapsed().as_micros() as u64);
                    if !ok {
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            latencies
        }));
    }
    tokio::time::sleep(Duration::from_secs(warmup_s)).await;
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds.max(1))).await;
    measuring.store(false, Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    done.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.await.unwrap_or_default());
    }
    latencies.sort_unstable();
    (latencies, elapsed, failures.load(Ordering::Relaxed))
}

/// The benchmarks' one support group, "general", open around the clock in `zone`.
pub(crate) async fn bench_group(db: &store::Db, zone: &str, now: i64) -> anyhow::Result<()> {
    let spec = helpcenter::directory::ScheduleSpec::from_text(zone, true, "", "", "")
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    db.put_support_group(&SupportGroup {
        id: "general".into(),
        name_zh: "综合".into(),
        name_en: "General".into(),
        schedule: spec.to_json(),
        languages: "zh-CN,en".into(),
        categories: String::new(),
        position: 0,
        created_at_ms: now,
    })
    .await?;
    Ok(())
}

/// Benchmark agent `n` (`a{n}@bench.okwallet.local`): a confirmed second factor, online in
/// "general" with `capacity`.
pub(crate) async fn bench_agent(
    db: &store::Db,
    hash: &str,
    n: usize,
    locale: &str,
    capacity: i64,
    now: i64,
) -> anyhow::Result<store::users::User> {
    let email = identity::Email::parse(&format!("a{n}@bench.okwallet.local"))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let user = db
        .create_user(&email, hash, identity::Role::Agent, locale)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    db.start_totp(&user.id, "JBSWY3DPEHPK3PXP").await?;
    db.confirm_totp(&user.id, 1, &[]).await?;
    db.put_agent(&AgentRow {
        user_id: user.id.clone(),
        display_name: format!("Agent {n}"),
        group_id: "general".into(),
        presence: "online".into(),
        capacity,
        languages: "zh-CN,en".into(),
        categories: String::new(),
        last_assigned_at_ms: None,
        presence_at_ms: now,
    })
    .await?;
    Ok(user)
}

fn per_s(n: usize, seconds: f64) -> f64 {
    ((n as f64 / seconds) * 10.0).round() / 10.0
}

pub async fn helpdesk(config: &Config, args: DeskBenchArgs) -> anyhow::Result<ExitCode> {
    let fresh = FreshDb::create(config).await?;
    let db = fresh.db.clone();
    let backend = match db.backend() {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let clients = args.clients.max(1);
    let agents_n = args.agents.max(1);
    if !args.json {
        eprintln!(
            "bench helpdesk: {backend}, {clients} customers, {agents_n} agents, {} s per phase (+{} s warm-up), queue pages over {} tickets",
            args.seconds, args.warmup_s, args.queue_tickets
        );
    }
    let now = store::now_ms();
    bench_group(&db, "Asia/Shanghai", now).await?;
    db.replace_sla_targets(&[SlaTargetRow {
        priority: "normal".into(),
        category: String::new(),
        first_response_s: Some(4 * 3600),
        resolution_s: Some(24 * 3600),
    }])
    .await?;
    let hash = identity::hash_password(PASSWORD).map_err(|e| anyhow::anyhow!("{e}"))?;
    let email = |s: String| identity::Email::parse(&s).map_err(|e| anyhow::anyhow!("{e}"));
    let mut customer_emails = Vec::new();
    let mut customer_ids = Vec::new();
    for n in 0..clients {
        let e = format!("c{n}@bench.okwallet.local");
        let user = db
            .create_user(&email(e.clone())?, &hash, identity::Role::User, "zh-CN")
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        customer_ids.push(user.id);
        customer_emails.push(e);
    }
    // Agents with a confirmed second factor, signed in by sessions made here (their log-in
    // would need a code).
    let mut agent_ids = Vec::new();
    let mut agent_tokens = Vec::new();
    let mut agent_cookie = String::new();
    for n in 0..agents_n {
        let user = bench_agent(&db, &hash, n, "zh-CN", 50, now).await?;
        let origin = store::sessions::Origin {
            ip: "127.0.0.1".into(),
            user_agent: "okwallet bench".into(),
        };
        for kind in ["api", "web"] {
            let token = identity::token::Token::generate();
            db.create_session(
                &user.id,
                &identity::token::token_hash(token.as_str()),
                kind,
                &origin,
                24 * 3600 * 1000,
            )
            .await?;
            if kind == "api" {
                agent_tokens.push(token.as_str().to_owned());
            } else if n == 0 {
                agent_cookie = format!("okw_session={}", token.as_str());
            }
        }
        agent_ids.push(user.id);
    }
    let ledger = Ledger::start(db.clone(), WriterConfig::default(), None).await?;
    let state = app_state(&db, &ledger, payments::Settings::default()).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(web::serve(listener, state, async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients.max(agents_n))
        .build()?;
    let mut customer_tokens = Vec::new();
    for e in &customer_emails {
        let answer: serde_json::Value = client
            .post(format!("{base}/api/v1/sessions"))
            .json(&serde_json::json!({"email": e, "password": PASSWORD}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        customer_tokens.push(
            answer["token"]
                .as_str()
                .ok_or_else(|| anyhow::anyhow!("a log-in without a token"))?
                .to_owned(),
        );
    }

    // 1. Creates.
    let created = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let (latencies, seconds, failed_creates) = {
        let (client, base, tokens, created) = (
            client.clone(),
            base.clone(),
            Arc::new(customer_tokens.clone()),
            created.clone(),
        );
        load(clients, args.warmup_s, args.seconds, move |n, i| {
            let (client, base, tokens, created) = (
                client.clone(),
                base.clone(),
                tokens.clone(),
                created.clone(),
            );
            async move {
                let answer = client
                    .post(format!("{base}/api/v1/tickets"))
                    .bearer_auth(&tokens[n])
                    .json(&serde_json::json!({
                        "subject": format!("充值没到账 {n}-{i}"),
                        "body": "昨天充值的 USDT 还没有到账，交易哈希 0xabc…，请帮忙查一下。",
                        "category": "funds_delayed",
                    }))
                    .send()
                    .await;
                match answer {
                    Ok(r) if r.status() == reqwest::StatusCode::CREATED => {
                        if let Ok(v) = r.json::<serde_json::Value>().await {
                            if let Some(id) = v["id"].as_str() {
                                created
                                    .lock()
                                    .unwrap_or_else(|e| e.into_inner())
                                    .push(id.to_owned());
                            }
                        }
                        true
                    }
                    _ => false,
                }
            }
        })
        .await
    };
    println!(
        "{}",
        serde_json::json!({
            "mode": "ticket_creates_http",
            "backend": backend,
            "clients": clients,
            "agents": agents_n,
            "cores": std::thread::available_parallelism().map_or(1, |n| n.get()),
            "creates": latencies.len(),
            "failed": failed_creates,
            "creates_per_s": per_s(latencies.len(), seconds),
            "latency_p50_ms": percentile_ms(&latencies, 0.5),
            "latency_p99_ms": percentile_ms(&latencies, 0.99),
        })
    );

    // 2. Replies by the agents to random tickets.
    let ids = Arc::new(created.lock().unwrap_or_else(|e| e.into_inner()).clone());
    anyhow::ensure!(!ids.is_empty(), "no ticket was created");
    let (latencies, seconds, failed_replies) = {
        let (client, base, tokens, ids) = (
            client.clone(),
            base.clone(),
            Arc::new(agent_tokens.clone()),
            ids.clone(),
        );
        load(agents_n * 4, args.warmup_s, args.seconds, move |n, i| {
            let (client, base, tokens, ids) =
                (client.clone(), base.clone(), tokens.clone(), ids.clone());
            async move {
                let mut rng = rand::rngs::StdRng::seed_from_u64((n as u64) << 32 | i);
                let id = &ids[rng.gen_range(0..ids.len())];
                client
                    .post(format!("{base}/api/v1/tickets/{id}/messages"))
                    .bearer_auth(&tokens[n % tokens.len()])
                    .json(&serde_json::json!({"body": "您好，我们已经在核实，请稍候。"}))
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == reqwest::StatusCode::CREATED)
            }
        })
        .await
    };
    println!(
        "{}",
        serde_json::json!({
            "mode": "ticket_replies_http",
            "backend": backend,
            "clients": agents_n * 4,
            "replies": latencies.len(),
            "failed": failed_replies,
            "replies_per_s": per_s(latencies.len(), seconds),
            "latency_p50_ms": percentile_ms(&latencies, 0.5),
            "latency_p99_ms": percentile_ms(&latencies, 0.99),
        })
    );

    // 3. The queue pages over a full database.
    let existing = db
        .count_tickets(&store::tickets::TicketFilter::default())
        .await? as usize;
    let to_import = args.queue_tickets.saturating_sub(existing);
    let import_started = Instant::now();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut imported = 0usize;
    while imported < to_import {
        let batch = (to_import - imported).min(2_000);
        let mut rows = Vec::with_capacity(batch);
        for _ in 0..batch {
            rows.push(synthetic_ticket(&mut rng, &customer_ids, &agent_ids, now));
        }
        db.import_tickets(&rows).await?;
        imported += batch;
    }
    // What a database that has lived with these tickets would have: current statistics.
    db.refresh_planner_statistics().await?;
    let import_s = import_started.elapsed().as_secs_f64();
    if !args.json {
        eprintln!("imported {imported} tickets in {import_s:.1} s");
    }
    let mut pages = serde_json::Map::new();
    for (name, path, auth) in [
        ("agent_page_mine", "/agent?queue=mine", "cookie"),
        ("agent_page_unassigned", "/agent?queue=unassigned", "cookie"),
        ("agent_page_all", "/agent?queue=all", "cookie"),
        ("agent_page_at_risk", "/agent?queue=at_risk", "cookie"),
        (
            "api_queue_due",
            "/api/v1/tickets?order=due&status=new,open&limit=50",
            "bearer",
        ),
    ] {
        let mut latencies = Vec::with_capacity(args.queue_requests);
        let mut failed = 0u64;
        for i in 0..args.queue_requests + 5 {
            let mut request = client.get(format!("{base}{path}"));
            request = if auth == "cookie" {
                request.header("cookie", &agent_cookie)
            } else {
                request.bearer_auth(&agent_tokens[0])
            };
            let started = Instant::now();
            let ok = match request.send().await {
                Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                _ => false,
            };
            // The first few warm the caches and are not counted.
            if i >= 5 {
                latencies.push(started.elapsed().as_micros() as u64);
                failed += u64::from(!ok);
            }
        }
        latencies.sort_unstable();
        pages.insert(
            name.to_owned(),
            serde_json::json!({
                "p50_ms": percentile_ms(&latencies, 0.5),
                "p99_ms": percentile_ms(&latencies, 0.99),
                "failed": failed,
            }),
        );
    }
    let total = db
        .count_tickets(&store::tickets::TicketFilter::default())
        .await?;
    println!(
        "{}",
        serde_json::json!({
            "mode": "queue_pages_http",
            "backend": backend,
            "tickets": total,
            "import_s": (import_s * 10.0).round() / 10.0,
            "requests_each": args.queue_requests,
            "pages": pages,
        })
    );
    let _ = stop.send(());
    let _ = server.await;
    fresh.drop().await;
    let page_failures: u64 = pages.values().filter_map(|v| v["failed"].as_u64()).sum();
    anyhow::ensure!(
        failed_creates == 0,
        "{failed_creates} creates were not answered 201"
    );
    anyhow::ensure!(
        failed_replies == 0,
        "{failed_replies} replies were not answered 201"
    );
    anyhow::ensure!(page_failures == 0, "{page_failures} queue pages failed");
    Ok(ExitCode::SUCCESS)
}

/// One imported ticket: nine in ten done, the rest open, held or waiting, with deadlines.
fn synthetic_ticket(
    rng: &mut rand::rngs::StdRng,
    customers: &[String],
    agents: &[String],
    now: i64,
) -> (Ticket, Vec<TicketMessage>, Vec<TicketEvent>) {
    const CATEGORIES: [&str; 6] = [
        "login_failed",
        "funds_delayed",
        "cannot_trade",
        "account_security",
        "payment_failed",
        "other",
    ];
    let id = store::new_id();
    let created = now - rng.gen_range(0..90 * 86_400_000i64);
    let roll = rng.gen_range(0..100);
    let status = match roll {
        0..=59 => "closed",
        60..=89 => "solved",
        90..=93 => "open",
        94..=96 => "new",
        97..=98 => "pending",
        _ => "on_hold",
    };
    let done = matches!(status, "solved" | "closed");
    let assignee = if status == "new" && rng.gen_bool(0.5) {
        None
    } else {
        Some(agents[rng.gen_range(0..agents.len())].clone())
    };
    let due = if done || status == "pending" {
        NO_DUE_MS
    } else {
        now + rng.gen_range(-4 * 3_600_000..24 * 3_600_000i64)
    };
    let requester = customers[rng.gen_range(0..customers.len())].clone();
    let category = CATEGORIES[rng.gen_range(0..CATEGORIES.len())];
    let t = Ticket {
        id: id.clone(),
        number: 0,
        requester_id: requester.clone(),
        subject: format!("导入的工单 {}", &id[id.len() - 6..]),
        category: category.into(),
        priority: "normal".into(),
        status: status.into(),
        channel: "web".into(),
        language: "zh-CN".into(),
        group_id: Some("general".into()),
        assignee_id: assignee,
        tags: String::new(),
        reference: None,
        merged_into: None,
        first_response_due_ms: Some(created + 4 * 3_600_000),
        resolution_due_ms: Some(created + 24 * 3_600_000),
        next_due_ms: due,
        first_responded_at_ms: (status != "new").then_some(created + 1_800_000),
        solved_at_ms: done.then_some(created + 6 * 3_600_000),
        first_response_business_s: (status != "new").then_some(1_800),
        resolution_business_s: done.then_some(6 * 3_600),
        first_response_breached: false,
        resolution_breached: due < now,
        reopened_count: 0,
        sla_next_check_ms: None,
        created_at_ms: created,
        updated_at_ms: created + 6 * 3_600_000,
    };
    let message = TicketMessage {
        id: store::new_id(),
        ticket_id: id.clone(),
        author_id: Some(requester.clone()),
        internal: false,
        body: "请帮我看一下这个问题。".into(),
        channel: "web".into(),
        created_at_ms: created,
    };
    let event = TicketEvent {
        id: store::new_id(),
        ticket_id: id,
        at_ms: created,
        actor_id: Some(requester),
        kind: "created".into(),
        detail: serde_json::json!({"priority": "normal", "category": category}).to_string(),
    };
    (t, vec![message], vec![event])
}
