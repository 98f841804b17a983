//! `okwallet bench ledger`: throughput and latency of the ledger writer, with one commit per
//! transfer and with group commit, measured in the same run on a fresh database.
//! `okwallet bench login`: log-ins per second and their latency through `POST /api/v1/sessions`
//! on a real socket, where argon2id's cost dominates by design.
//!
//! Prints one JSON object per mode. Numbers are printed, never asserted: a shared 2-core machine
//! makes timing assertions flaky.

use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ledger::{Amount, AssetCode, Transfer, TransferId, TransferKind};
use rand::{Rng, SeedableRng};
use store::writer::{Ledger, WriterConfig};
use store::{Backend, Db};

use crate::config::Config;

#[derive(clap::Args, Debug)]
pub struct LedgerBenchArgs {
    /// Transfers submitted with group commit.
    #[arg(long, default_value_t = 200_000)]
    transfers: u64,
    /// Transfers submitted with one commit per transfer (slow by nature, so fewer by default).
    #[arg(long, default_value_t = 5_000)]
    baseline_transfers: u64,
    /// Accounts the transfers are spread over.
    #[arg(long, default_value_t = 10_000)]
    accounts: usize,
    /// Concurrent submitters, each waiting for its answer before sending the next transfer.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Transfers per request: 1 is an API client sending one payment at a time; more is a client
    /// sending batches (as TigerBeetle's clients do). Latency is per request.
    #[arg(long, default_value_t = 1)]
    request_transfers: u64,
    /// Print only JSON lines.
    #[arg(long)]
    json: bool,
}

struct Outcome {
    mode: &'static str,
    per_request: u64,
    transfers: u64,
    elapsed: Duration,
    latencies_us: Vec<u64>,
    batches: u64,
}

pub async fn ledger(config: &Config, args: LedgerBenchArgs) -> anyhow::Result<ExitCode> {
    let fresh = FreshDb::create(config).await?;
    let db = &fresh.db;
    let backend = match db.backend() {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    if !args.json {
        eprintln!(
            "bench ledger: {backend}, {} accounts, {} submitters, durability on ({})",
            args.accounts,
            args.concurrency,
            if db.backend() == Backend::Sqlite {
                "WAL, synchronous=FULL"
            } else {
                "synchronous_commit=on"
            }
        );
    }
    let eth = AssetCode::parse("ETH").expect("valid");
    let accounts = db
        .create_synthetic_accounts("bench:", args.accounts, &eth)
        .await?;
    let funding = Ledger::start(db.clone(), WriterConfig::default(), None).await?;
    let fund: Vec<Transfer> = accounts
        .iter()
        .enumerate()
        .map(|(n, account)| Transfer {
            id: TransferId::parse(&format!("bench-funding-{n}")).expect("valid"),
            kind: TransferKind::Single {
                debit: store::accounts::equity_account_id(&eth),
                credit: account.clone(),
                amount: Amount::from_minor(1_000_000_000_000).expect("positive"),
            },
            asset: eth.clone(),
            code: ledger::codes::LOAD_TEST,
            reference: "bench:funding".into(),
            linked: false,
        })
        .collect();
    for chunk in fund.chunks(4096) {
        funding
            .submit(chunk.to_vec())
            .await
            .map_err(|e| anyhow::anyhow!(e))?;
    }
    let accounts = Arc::new(accounts);
    let mut outcomes = Vec::new();
    for (mode, batch_events_max, transfers) in [
        ("per_transfer_commit", 1, args.baseline_transfers),
        (
            "group_commit",
            WriterConfig::default().batch_events_max,
            args.transfers,
        ),
    ] {
        outcomes.push(
            run_mode(
                db,
                Mode {
                    name: mode,
                    batch_events_max,
                    transfers,
                    // One commit per transfer means one transfer per request.
                    per_request: if batch_events_max == 1 {
                        1
                    } else {
                        args.request_transfers.max(1)
                    },
                },
                args.concurrency,
                accounts.clone(),
                &eth,
            )
            .await?,
        );
    }
    let baseline = outcomes[0].transfers as f64 / outcomes[0].elapsed.as_secs_f64();
    for o in &outcomes {
        let mut lat = o.latencies_us.clone();
        lat.sort_unstable();
        let pct = |p: f64| {
            lat.get(((lat.len() as f64 - 1.0) * p).round() as usize)
                .copied()
                .unwrap_or(0) as f64
                / 1000.0
        };
        let per_s = o.transfers as f64 / o.elapsed.as_secs_f64();
        let line = serde_json::json!({
            "mode": o.mode,
            "backend": backend,
            "transfers": o.transfers,
            "accounts": args.accounts,
            "concurrency": args.concurrency,
            "request_transfers": o.per_request,
            "transfers_per_s": per_s.round(),
            "latency_p50_ms": (pct(0.50) * 100.0).round() / 100.0,
            "latency_p99_ms": (pct(0.99) * 100.0).round() / 100.0,
            "batches": o.batches,
            "mean_batch": if o.batches > 0 { (o.transfers as f64 / o.batches as f64 * 10.0).round() / 10.0 } else { 0.0 },
            "speedup_vs_per_transfer_commit": (per_s / baseline * 10.0).round() / 10.0,
        });
        println!("{line}");
    }
    let report = db.verify_ledger().await?;
    if !args.json {
        eprintln!(
            "ledger verify after the run: {} discrepancies",
            report.discrepancies.len()
        );
    }
    anyhow::ensure!(
        report.discrepancies.is_empty(),
        "the benchmark left the ledger inconsistent: {:?}",
        report.discrepancies
    );
    fresh.drop().await;
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args, Debug)]
pub struct LoginBenchArgs {
    /// Log-ins to measure.
    #[arg(long, default_value_t = 400)]
    logins: u64,
    /// Concurrent clients, each waiting for its answer before logging in again.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Distinct accounts the log-ins are spread over.
    #[arg(long, default_value_t = 100)]
    users: usize,
    /// Print only JSON lines.
    #[arg(long)]
    json: bool,
}

/// Nearest-rank percentile of sorted microseconds, in milliseconds to two places.
pub(crate) fn percentile_ms(sorted_us: &[u64], p: f64) -> f64 {
    let at = ((sorted_us.len() as f64 - 1.0) * p).round() as usize;
    let us = sorted_us.get(at).copied().unwrap_or(0) as f64;
    (us / 10.0).round() / 100.0
}

pub async fn login(config: &Config, args: LoginBenchArgs) -> anyhow::Result<ExitCode> {
    const PASSWORD: &str = "bench login password 2026";
    let fresh = FreshDb::create(config).await?;
    let db = fresh.db.clone();
    let backend = match db.backend() {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let hash = identity::hash_password(PASSWORD).map_err(|e| anyhow::anyhow!("{e}"))?;
    let params = hash.split('$').nth(3).unwrap_or("?").to_owned();
    if !args.json {
        eprintln!(
            "bench login: {backend}, argon2id {params}, {} users, {} clients, {} log-ins",
            args.users, args.concurrency, args.logins
        );
    }

    // The floor: one verification on one core, nothing else.
    let mut verify_us = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        anyhow::ensure!(
            identity::verify_password(PASSWORD, &hash),
            "the password verifies"
        );
        verify_us.push(started.elapsed().as_micros() as u64);
    }
    verify_us.sort_unstable();
    println!(
        "{}",
        serde_json::json!({
            "mode": "argon2id_verify_one_core",
            "argon2id": params,
            "verifications": verify_us.len(),
            "latency_p50_ms": percentile_ms(&verify_us, 0.5),
            "latency_p99_ms": percentile_ms(&verify_us, 0.99),
        })
    );

    // Accounts share one hash: hashing each would only slow the set-up down.
    let users = args.users.max(1);
    for n in 0..users {
        let email = identity::Email::parse(&format!("bench{n}@bench.okwallet.local"))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        db.create_user(&email, &hash, identity::Role::User, "en")
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let ledger = Ledger::start(db.clone(), WriterConfig::default(), None).await?;
    let state = app_state(&db, &ledger, payments::Settings::default()).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/api/v1/sessions", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(web::serve(listener, state, async {
        let _ = stopped.await;
    }));

    let client = reqwest::Client::new();
    let next = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..args.concurrency.max(1) {
        let (client, url, next, failures) =
            (client.clone(), url.clone(), next.clone(), failures.clone());
        let total = args.logins;
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    return latencies;
                }
                let body = serde_json::json!({
                    "email": format!("bench{}@bench.okwallet.local", n as usize % users),
                    "password": PASSWORD,
                });
                let sent = Instant::now();
                let ok = client
                    .post(&url)
                    .json(&body)
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == reqwest::StatusCode::CREATED);
                latencies.push(sent.elapsed().as_micros() as u64);
                if !ok {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.await?);
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let failed = failures.load(Ordering::Relaxed);
    println!(
        "{}",
        serde_json::json!({
            "mode": "login_http",
            "backend": backend,
            "argon2id": params,
            "logins": latencies.len(),
            "failed": failed,
            "concurrency": args.concurrency,
            "cores": std::thread::available_parallelism().map_or(1, |n| n.get()),
            "logins_per_s": ((latencies.len() as f64 / elapsed.as_secs_f64()) * 10.0).round() / 10.0,
            "latency_p50_ms": percentile_ms(&latencies, 0.5),
            "latency_p99_ms": percentile_ms(&latencies, 0.99),
        })
    );
    let _ = stop.send(());
    let _ = server.await;
    fresh.drop().await;
    anyhow::ensure!(failed == 0, "{failed} log-ins did not succeed");
    Ok(ExitCode::SUCCESS)
}

/// One measured mode: how the writer commits and how clients submit.
struct Mode {
    name: &'static str,
    batch_events_max: usize,
    transfers: u64,
    per_request: u64,
}

async fn run_mode(
    db: &Db,
    Mode {
        name: mode,
        batch_events_max,
        transfers,
        per_request,
    }: Mode,
    concurrency: usize,
    accounts: Arc<Vec<ledger::AccountId>>,
    eth: &AssetCode,
) -> anyhow::Result<Outcome> {
    let batches = Arc::new(AtomicU64::new(0));
    let counter = batches.clone();
    let observer: store::writer::BatchObserver = Arc::new(move |_, _| {
        counter.fetch_add(1, Ordering::Relaxed);
    });
    let config = WriterConfig {
        batch_events_max,
        ..WriterConfig::default()
    };
    let ledger = Ledger::start(db.clone(), config, Some(observer)).await?;
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..concurrency.max(1) {
        let (ledger, next, accounts, eth) =
            (ledger.clone(), next.clone(), accounts.clone(), eth.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = rand::rngs::StdRng::seed_from_u64(worker as u64);
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i * per_request >= transfers {
                    return Ok::<_, anyhow::Error>(latencies);
                }
                let request: Vec<Transfer> = (i * per_request
                    ..((i + 1) * per_request).min(transfers))
                    .map(|n| {
                        let from = rng.gen_range(0..accounts.len());
                        let to = (from + rng.gen_range(1..accounts.len())) % accounts.len();
                        Transfer {
                            id: TransferId::parse(&format!("bench-{mode}-{n}")).expect("valid"),
                            kind: TransferKind::Single {
                                debit: accounts[from].clone(),
                                credit: accounts[to].clone(),
                                amount: Amount::from_minor(rng.gen_range(1..1000))
                                    .expect("positive"),
                            },
                            asset: eth.clone(),
                            code: ledger::codes::LOAD_TEST,
                            reference: String::new(),
                            linked: false,
                        }
                    })
                    .collect();
                let sent = Instant::now();
                let result = ledger
                    .submit(request)
                    .await
                    .map_err(|e| anyhow::anyhow!(e))?;
                latencies.push(sent.elapsed().as_micros() as u64);
                if let Some(refused) = result.iter().find(|r| r.code != ledger::ResultCode::Ok) {
                    anyhow::bail!("bench transfer refused: {}", refused.code);
                }
            }
        }));
    }
    let mut latencies_us = Vec::with_capacity(transfers as usize);
    for task in tasks {
        latencies_us.extend(task.await??);
    }
    Ok(Outcome {
        mode,
        per_request,
        transfers,
        elapsed: started.elapsed(),
        latencies_us,
        batches: batches.load(Ordering::Relaxed),
    })
}

/// The application as `serve` builds it, without chains, for the HTTP benchmarks.
pub(crate) async fn app_state(
    db: &Db,
    ledger: &store::writer::Ledger,
    payment_settings: payments::Settings,
) -> anyhow::Result<web::AppState> {
    Ok(web::AppState {
        db: db.clone(),
        ledger: ledger.clone(),
        metrics: Arc::new(web::Metrics::new()),
        demo: false,
        settings: Default::default(),
        wallet: None,
        payments: Arc::new(payments::Payments::new(
            db.clone(),
            ledger.clone(),
            Arc::new(payments::feed::AdminFeed::new(db.clone())),
            payment_settings,
        )),
        help: Arc::new(web::help::HelpCenter::start(db, Default::default()).await?),
        desk: Arc::new(web::desk::Desk::new()),
        chat: Arc::new(web::chat::Hub::new()),
    })
}

/// A new empty database for the run: a SQLite file in a temporary folder, or a new database on
/// the configured PostgreSQL server, dropped afterwards.
pub(crate) struct FreshDb {
    pub(crate) db: Db,
    /// Where it is, for a server process of its own.
    pub(crate) url: String,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

impl FreshDb {
    pub(crate) async fn create(config: &Config) -> anyhow::Result<FreshDb> {
        match config.database_url.as_deref() {
            Some(url) if url.starts_with("postgres") => {
                let name = format!("okw_bench_{}", store::new_id());
                let admin = Db::connect(url).await?;
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(admin.pool())
                    .await?;
                admin.close().await;
                let url_new = replace_database(url, &name);
                let db = Db::connect(&url_new).await?;
                db.migrate().await?;
                db.ensure_system_accounts().await?;
                Ok(FreshDb {
                    db,
                    url: url_new,
                    _dir: None,
                    pg: Some((url.to_owned(), name)),
                })
            }
            _ => {
                let dir = tempfile::Builder::new()
                    .prefix("okwallet-bench")
                    .tempdir_in(std::env::temp_dir())?;
                let url = store::sqlite_url_for_dir(dir.path());
                let db = Db::connect(&url).await?;
                db.migrate().await?;
                db.ensure_system_accounts().await?;
                Ok(FreshDb {
                    db,
                    url,
                    _dir: Some(dir),
                    pg: None,
                })
            }
        }
    }

    pub(crate) async fn drop(self) {
        self.db.close().await;
        if let Some((admin_url, name)) = self.pg {
            if let Ok(admin) = Db::connect(&admin_url).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(admin.pool())
                    .await;
                admin.close().await;
            }
        }
    }
}

fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let base = match base.rfind('/') {
        Some(i) if base[..i].ends_with(':') || base[..i].ends_with('/') => base,
        Some(i) => &base[..i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

#[derive(clap::Args, Debug)]
pub struct DepositsBenchArgs {
    /// Users, each with their own deposit address.
    #[arg(long, default_value_t = 1_000)]
    users: usize,
    /// Deposits sent, spread evenly over the users and the blocks.
    #[arg(long, default_value_t = 5_000)]
    deposits: usize,
    /// Blocks the deposits are mined in.
    #[arg(long, default_value_t = 100)]
    blocks: u64,
    /// Print only JSON lines.
    #[arg(long)]
    json: bool,
}

/// `okwallet bench deposits`: the watcher's cost per deposit on the simulated chain (no network
/// in the way): deposit addresses handed out, then blocks full of deposits scanned, recorded,
/// confirmed and credited, on a fresh database.
pub async fn deposits(config: &Config, args: DepositsBenchArgs) -> anyhow::Result<ExitCode> {
    use chain::sim::{SimChain, SimConfig};
    let fresh = FreshDb::create(config).await?;
    let db = &fresh.db;
    let backend = match db.backend() {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let ledger = Ledger::start(db.clone(), WriterConfig::default(), None).await?;
    let sim = Arc::new(SimChain::new(SimConfig::default()));
    let settings = wallet::settings::demo_chain(12);
    let confirmations = u64::from(settings.confirmations_max());
    let wallet = wallet::Wallet::new(
        db.clone(),
        ledger,
        chain::hd::Seed::from_bytes(&[0x42; 64])?,
        vec![wallet::ChainRuntime {
            settings,
            chain: sim.clone(),
            sim: Some(sim.clone()),
        }],
        0,
    )?;
    wallet.tick().await?;

    let started = Instant::now();
    let mut addresses = Vec::with_capacity(args.users);
    for n in 0..args.users {
        let email = identity::Email::parse(&format!("bench{n}@example.com"))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let user = db
            .create_user(&email, "unused", identity::Role::User, "en")
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let code = AssetCode::parse("ETH").expect("a valid code");
        match wallet.deposit_address(&user.id, &code).await? {
            wallet::AddressAnswer::Address { address, .. } => addresses.push(address),
            wallet::AddressAnswer::NotDepositable => anyhow::bail!("ETH is not depositable"),
        }
    }
    let addresses_elapsed = started.elapsed();

    let per_block = args.deposits.div_ceil(args.blocks.max(1) as usize).max(1);
    let mut sent = 0;
    for _ in 0..args.blocks {
        for _ in 0..per_block.min(args.deposits - sent) {
            sim.faucet(
                addresses[sent % addresses.len()],
                chain::Token::Native,
                1_000_000_000_000_000,
            );
            sent += 1;
        }
        sim.mine(1);
    }
    sim.mine(confirmations);
    let started = Instant::now();
    let mut rounds = 0;
    loop {
        wallet.tick().await?;
        rounds += 1;
        let head = sim_head(&sim).await?;
        let cursor = db.chain_cursor("ethereum").await?.map_or(0, |(n, _)| n);
        if cursor >= i64::try_from(head)? {
            break;
        }
    }
    let watch_elapsed = started.elapsed();
    let report = db.verify_ledger().await?;
    let line = serde_json::json!({
        "bench": "deposits",
        "backend": backend,
        "users": args.users,
        "deposits": sent,
        "blocks": args.blocks,
        "addresses_per_s": (args.users as f64 / addresses_elapsed.as_secs_f64()).round(),
        "watch_s": (watch_elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
        "watcher_rounds": rounds,
        "deposits_credited_per_s": (sent as f64 / watch_elapsed.as_secs_f64()).round(),
        "ledger_verify_ok": report.discrepancies.is_empty(),
    });
    if !args.json {
        println!(
            "{backend}: {} addresses at {}/s; {sent} deposits in {} blocks scanned, recorded and \
             credited in {:.2} s ({}/s); ledger verify {}",
            args.users,
            line["addresses_per_s"],
            args.blocks,
            watch_elapsed.as_secs_f64(),
            line["deposits_credited_per_s"],
            if report.discrepancies.is_empty() {
                "ok"
            } else {
                "FAILED"
            },
        );
    }
    println!("{line}");
    fresh.drop().await;
    Ok(if report.discrepancies.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn sim_head(sim: &chain::sim::SimChain) -> anyhow::Result<u64> {
    use chain::Chain;
    Ok(sim.head().await?)
}
