//! `okwallet bench transfers`: an HTTP load generator against the real server — the same
//! router, layers and ledger writer `okwallet serve` runs — on a fresh database. Each of
//! `--clients` concurrent clients logs in as its own user (a bearer token) and sends
//! `POST /api/v1/transfers` to random other users, waiting for each answer before the next, for
//! `--seconds` after a warm-up. Prints transfers per second and p50/p99 latency as JSON, then
//! checks that every answer was 201, that the ledger verifies, and that the money adds up.
//!
//! Numbers are printed, never asserted: a shared 2-core machine makes timing assertions flaky.
//! The load generator shares the machine with the server, as it would on one box.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ledger::{Amount, AssetCode, Transfer, TransferId, TransferKind};
use rand::{Rng, SeedableRng};
use store::accounts::AccountKind;
use store::writer::{Ledger, WriterConfig};
use store::Backend;

use crate::bench::{app_state, percentile_ms, FreshDb};
use crate::config::Config;

#[derive(clap::Args, Debug)]
pub struct TransfersBenchArgs {
    /// Concurrent clients, each its own logged-in user.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Users transfers go to (besides the clients).
    #[arg(long, default_value_t = 1000)]
    users: usize,
    /// Seconds measured, after `--warmup-s`.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    #[arg(long, default_value_t = 2)]
    warmup_s: u64,
    /// Send an `Idempotency-Key` with every transfer.
    #[arg(long)]
    idempotency_keys: bool,
    /// Print only JSON lines.
    #[arg(long)]
    json: bool,
}

const PASSWORD: &str = "bench transfers password 2026";

pub async fn transfers(config: &Config, args: TransfersBenchArgs) -> anyhow::Result<ExitCode> {
    let fresh = FreshDb::create(config).await?;
    let db = fresh.db.clone();
    let backend = match db.backend() {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let clients = args.clients.max(1);
    if !args.json {
        eprintln!(
            "bench transfers: {backend}, {clients} clients, {} recipients, {} s (+{} s warm-up)",
            args.users, args.seconds, args.warmup_s
        );
    }
    let hash = identity::hash_password(PASSWORD).map_err(|e| anyhow::anyhow!("{e}"))?;
    let usdt = AssetCode::parse("USDT").expect("a valid code");
    let mut emails = Vec::new();
    let mut senders = Vec::new();
    for n in 0..clients + args.users {
        let email = format!("t{n}@bench.okwallet.local");
        let user = db
            .create_user(
                &identity::Email::parse(&email).map_err(|e| anyhow::anyhow!("{e}"))?,
                &hash,
                identity::Role::User,
                "en",
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        db.ensure_account(AccountKind::User, &usdt, Some(&user.id))
            .await?;
        if n < clients {
            senders.push(user.id.clone());
        }
        emails.push(email);
    }
    let ledger = Ledger::start(db.clone(), WriterConfig::default(), None).await?;
    let equity = db.ensure_account(AccountKind::Equity, &usdt, None).await?;
    let funding: Vec<Transfer> = senders
        .iter()
        .map(|id| Transfer {
            id: TransferId::parse(&format!("fund:{id}")).expect("a valid id"),
            kind: TransferKind::Single {
                debit: equity.clone(),
                credit: store::accounts::user_account_id(id, &usdt),
                amount: Amount::from_minor(1_000_000_000_000_000).expect("positive"),
            },
            asset: usdt.clone(),
            code: ledger::codes::ADJUSTMENT,
            reference: "bench".into(),
            linked: false,
        })
        .collect();
    ledger
        .submit(funding)
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    let mut settings = payments::Settings::default();
    settings.daily_limits.clear();
    let state = app_state(&db, &ledger, settings).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(web::serve(listener, state, async {
        let _ = stopped.await;
    }));

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()?;
    let mut tokens = Vec::new();
    for email in emails.iter().take(clients) {
        let answer: serde_json::Value = client
            .post(format!("{base}/api/v1/sessions"))
            .json(&serde_json::json!({"email": email, "password": PASSWORD}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        tokens.push(
            answer["token"]
                .as_str()
                .ok_or_else(|| anyhow::anyhow!("a log-in without a token"))?
                .to_owned(),
        );
    }
    let emails = Arc::new(emails);
    let measuring = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(AtomicU64::new(0));
    let url = format!("{base}/api/v1/transfers");
    let mut workers = Vec::new();
    for (n, token) in tokens.into_iter().enumerate() {
        let (client, url, emails, measuring, done, failures) = (
            client.clone(),
            url.clone(),
            emails.clone(),
            measuring.clone(),
            done.clone(),
            failures.clone(),
        );
        let keys = args.idempotency_keys;
        workers.push(tokio::spawn(async move {
            let mut rng = rand::rngs::StdRng::seed_from_u64(n as u64);
            let mut latencies = Vec::new();
            let mut sent_n = 0u64;
            while !done.load(Ordering::Relaxed) {
                let mut to = rng.gen_range(0..emails.len());
                if to == n {
                    to = (to + 1) % emails.len();
                }
                let body = serde_json::json!({
                    "to": emails[to],
                    "asset": "USDT",
                    "amount": "0.01",
                });
                let mut request = client.post(&url).bearer_auth(&token).json(&body);
                if keys {
                    request = request.header("idempotency-key", format!("c{n}-{sent_n}"));
                }
                sent_n += 1;
                let started = Instant::now();
                let ok = request
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == reqwest::StatusCode::CREATED);
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
    tokio::time::sleep(Duration::from_secs(args.warmup_s)).await;
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(args.seconds.max(1))).await;
    measuring.store(false, Ordering::Relaxed);
    let elapsed = started.elapsed();
    done.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.await?);
    }
    latencies.sort_unstable();
    let failed = failures.load(Ordering::Relaxed);
    println!(
        "{}",
        serde_json::json!({
            "mode": "transfers_http",
            "backend": backend,
            "clients": clients,
            "idempotency_keys": args.idempotency_keys,
            "cores": std::thread::available_parallelism().map_or(1, |n| n.get()),
            "transfers": latencies.len(),
            "failed": failed,
            "transfers_per_s": ((latencies.len() as f64 / elapsed.as_secs_f64()) * 10.0).round() / 10.0,
            "latency_p50_ms": percentile_ms(&latencies, 0.5),
            "latency_p99_ms": percentile_ms(&latencies, 0.99),
        })
    );
    let _ = stop.send(());
    let _ = server.await;
    let report = db.verify_ledger().await?;
    let ok = report.discrepancies.is_empty();
    if !ok {
        eprintln!(
            "ledger verify found discrepancies: {:?}",
            report.discrepancies
        );
    }
    fresh.drop().await;
    anyhow::ensure!(failed == 0, "{failed} transfers were not answered 201");
    anyhow::ensure!(ok, "the ledger does not verify after the run");
    Ok(ExitCode::SUCCESS)
}
