//! `okwallet bench help-center`: the help center's two hot paths.
//!
//! 1. Knowledge-base search: `--articles` generated articles in both languages indexed in
//!    memory, then `--queries` searches (mostly Chinese), each timed — the `kb` crate's bench.
//! 2. The contact directory and the official check through the real HTTP server on a fresh
//!    database holding the demo's channels: `--requests` sequential `GET
//!    /api/v1/contact-channels` (hours computed for every channel, the best one chosen) and as
//!    many `GET /api/v1/official-check` with a rotating mix of values.
//!
//! Numbers are printed, never asserted (a shared 2-core machine makes timing assertions flaky).

use std::process::ExitCode;
use std::time::Instant;

use store::writer::{Ledger, WriterConfig};

use crate::bench::{app_state, percentile_ms, FreshDb};
use crate::config::Config;

#[derive(clap::Args, Debug)]
pub struct HelpBenchArgs {
    /// Generated articles in the search index.
    #[arg(long, default_value_t = 10_000)]
    articles: usize,
    /// Timed searches.
    #[arg(long, default_value_t = 2_000)]
    queries: usize,
    /// Seed for the generated articles and queries.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Sequential requests to each of the directory and the official check.
    #[arg(long, default_value_t = 2_000)]
    requests: usize,
}

pub async fn help(config: &Config, args: HelpBenchArgs) -> anyhow::Result<ExitCode> {
    eprintln!(
        "bench help-center: search over {} articles, {} queries (seed {})",
        args.articles, args.queries, args.seed
    );
    let (articles, queries, seed) = (args.articles, args.queries, args.seed);
    let report =
        tokio::task::spawn_blocking(move || kb::bench::run(articles, queries, seed)).await?;
    println!("{report}");

    let fresh = FreshDb::create(config).await?;
    let db = fresh.db.clone();
    crate::demo_help::seed(&db, "86").await?;
    let ledger = Ledger::start(db.clone(), WriterConfig::default(), None).await?;
    let state = app_state(&db, &ledger, payments::Settings::default()).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(web::serve(listener, state, async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    let values = [
        "400-990-1234",
        "+86 400 990 1235",
        "https://okwallet.example.login-check.com/verify",
        "okwa11et.example",
        "support@okwallet.example",
        "weibo:@okwallet官方",
    ];
    let mut lines = Vec::new();
    for (name, paths) in [
        (
            "GET /api/v1/contact-channels",
            vec!["/api/v1/contact-channels?tz=Europe/London".to_owned()],
        ),
        (
            "GET /api/v1/official-check",
            values
                .iter()
                .map(|v| {
                    format!(
                        "/api/v1/official-check?value={}",
                        url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()
                    )
                })
                .collect(),
        ),
    ] {
        // A warm-up round so connections and caches are settled.
        for path in &paths {
            client
                .get(format!("{base}{path}"))
                .send()
                .await?
                .error_for_status()?;
        }
        let mut latencies = Vec::with_capacity(args.requests);
        for n in 0..args.requests {
            let path = &paths[n % paths.len()];
            let started = Instant::now();
            client
                .get(format!("{base}{path}"))
                .send()
                .await?
                .error_for_status()?
                .bytes()
                .await?;
            latencies.push(started.elapsed().as_micros() as u64);
        }
        latencies.sort_unstable();
        lines.push(format!(
            "{name:32} {:>6} requests  p50 {:>6.2} ms  p99 {:>6.2} ms  max {:>6.2} ms",
            args.requests,
            percentile_ms(&latencies, 0.50),
            percentile_ms(&latencies, 0.99),
            percentile_ms(&latencies, 1.0),
        ));
    }
    let backend = match db.backend() {
        store::Backend::Sqlite => "sqlite",
        store::Backend::Postgres => "postgres",
    };
    println!("directory and official check over HTTP ({backend}, 13 demo channels, one client):");
    for line in lines {
        println!("  {line}");
    }
    let _ = stop.send(());
    let _ = server.await;
    fresh.drop().await;
    Ok(ExitCode::SUCCESS)
}
