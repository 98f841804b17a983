//! `okwallet bench chat`: live chat through a real `okwallet serve` process on a fresh database,
//! so that its memory can be read apart from the clients'. Printed as JSON lines, never
//! asserted:
//!
//! 1. `--customers` customers start chats (`POST /api/v1/chats`), which routing gives to
//!    `--agents` online agents at once (each has room for its share).
//! 2. Every customer opens the chat's WebSocket and waits, idle: the server's resident memory
//!    before and after, divided by the connections, is the memory per idle connection.
//! 3. Every agent opens a WebSocket for each chat it holds (one per chat, so twice as many
//!    sockets as customers).
//! 4. For `--seconds`, every customer sends `--rate` messages a second (at random moments);
//!    the agent's socket notes when each arrives. Delivery latency is from the moment the
//!    customer's frame was written to the moment the agent's socket read the message, both on
//!    this machine's clock; p50/p99, and how many never arrived.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use rand::Rng;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::bench::{percentile_ms, FreshDb};
use crate::config::Config;

#[derive(clap::Args, Debug)]
pub struct ChatBenchArgs {
    /// Customers, each in a chat of their own.
    #[arg(long, default_value_t = 5_000)]
    customers: usize,
    /// Agents online; each holds its share of the chats.
    #[arg(long, default_value_t = 200)]
    agents: usize,
    /// Seconds of messages.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Messages each customer sends a second.
    #[arg(long, default_value_t = 0.1)]
    rate: f64,
    /// Print only JSON lines.
    #[arg(long)]
    json: bool,
}

const PASSWORD: &str = "bench chat password 2026";

/// The resident memory of a process, in KiB (Linux).
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// An API session made in the database (the bench does not time log-ins).
async fn session(db: &store::Db, user_id: &str) -> anyhow::Result<String> {
    let token = identity::token::Token::generate();
    db.create_session(
        user_id,
        &identity::token::token_hash(token.as_str()),
        "api",
        &store::sessions::Origin {
            ip: "127.0.0.1".into(),
            user_agent: "okwallet bench".into(),
        },
        24 * 3600 * 1000,
    )
    .await?;
    Ok(token.as_str().to_owned())
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(base: &str, chat: &str, token: &str) -> anyhow::Result<Socket> {
    let mut request = format!("{}/api/v1/chats/{chat}/ws", base.replacen("http", "ws", 1))
        .into_client_request()?;
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse()?);
    Ok(tokio_tungstenite::connect_async(request).await?.0)
}

/// Reads frames until the first `message` (the chat's opening line): the connection is set.
async fn settle(ws: &mut Socket) -> anyhow::Result<()> {
    loop {
        match tokio::time::timeout(Duration::from_secs(30), ws.next()).await? {
            Some(Ok(Message::Text(t))) if t.as_str().contains("\"type\":\"message\"") => {
                return Ok(())
            }
            Some(Ok(_)) => {}
            _ => anyhow::bail!("a chat socket closed while settling"),
        }
    }
}

pub async fn chat(config: &Config, args: ChatBenchArgs) -> anyhow::Result<ExitCode> {
    let fresh = FreshDb::create(config).await?;
    let db = fresh.db.clone();
    let customers_n = args.customers.max(1);
    let agents_n = args.agents.clamp(1, customers_n);
    let say = |s: String| {
        if !args.json {
            eprintln!("{s}");
        }
    };
    say(format!(
        "bench chat: {customers_n} customers, {agents_n} agents, {} s at {} messages/s each",
        args.seconds, args.rate
    ));
    let now = store::now_ms();
    crate::bench_desk::bench_group(&db, "UTC", now).await?;
    let hash = identity::hash_password(PASSWORD).map_err(|e| anyhow::anyhow!("{e}"))?;
    let email = |s: String| identity::Email::parse(&s).map_err(|e| anyhow::anyhow!("{e}"));
    let capacity = customers_n.div_ceil(agents_n) as i64;
    let mut agent_tokens = std::collections::HashMap::new();
    for n in 0..agents_n {
        let user = crate::bench_desk::bench_agent(&db, &hash, n, "en", capacity, now).await?;
        agent_tokens.insert(user.id.clone(), session(&db, &user.id).await?);
    }
    let mut customer_tokens = Vec::new();
    for n in 0..customers_n {
        let user = db
            .create_user(
                &email(format!("c{n}@bench.okwallet.local"))?,
                &hash,
                identity::Role::User,
                "en",
            )
            .await?;
        customer_tokens.push(session(&db, &user.id).await?);
    }

    // The server, a process of its own.
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let key = identity::sealed::SecretKey::generate().to_text();
    let mut server = tokio::process::Command::new(std::env::current_exe()?)
        .args(["serve", "--database-url", &fresh.url, "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .env("OKWALLET_LOG", "error")
        .env("OKWALLET_SECRET_KEY", &key)
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let pid = server.id().unwrap_or(0);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    let started = Instant::now();
    loop {
        if let Ok(r) = client.get(format!("{base}/readyz")).send().await {
            if r.status().is_success() {
                break;
            }
        }
        if started.elapsed() > Duration::from_secs(60) {
            anyhow::bail!("the server did not become ready");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let result = run(
        &args,
        &base,
        pid,
        &client,
        &db,
        customer_tokens,
        agent_tokens,
    )
    .await;
    let _ = server.kill().await;
    fresh.drop().await;
    result
}

#[allow(clippy::too_many_arguments)]
async fn run(
    args: &ChatBenchArgs,
    base: &str,
    pid: u32,
    client: &reqwest::Client,
    db: &store::Db,
    customer_tokens: Vec<String>,
    agent_tokens: std::collections::HashMap<String, String>,
) -> anyhow::Result<ExitCode> {
    // 1. Chats, 64 at a time.
    let started = Instant::now();
    let mut chats: Vec<(String, String)> = Vec::new();
    for batch in customer_tokens.chunks(64) {
        let mut set = tokio::task::JoinSet::new();
        for token in batch {
            let (client, base, token) = (client.clone(), base.to_owned(), token.clone());
            set.spawn(async move {
                let answer: serde_json::Value = client
                    .post(format!("{base}/api/v1/chats"))
                    .bearer_auth(&token)
                    .json(&serde_json::json!({"message": "hello"}))
                    .send()
                    .await?
                    .error_for_status()?
                    .json()
                    .await?;
                let id = answer["id"].as_str().unwrap_or_default().to_owned();
                anyhow::Ok((id, token))
            });
        }
        while let Some(done) = set.join_next().await {
            chats.push(done??);
        }
    }
    let created_s = started.elapsed().as_secs_f64();
    // Who holds each chat.
    let mut holder = std::collections::HashMap::new();
    for (chat_id, _) in &chats {
        let chat = db
            .chat(chat_id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no chat"))?;
        let ticket = db
            .ticket(&chat.ticket_id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no ticket"))?;
        let agent = ticket
            .assignee_id
            .ok_or_else(|| anyhow::anyhow!("a chat nobody took: raise the agents' room"))?;
        holder.insert(chat_id.clone(), agent);
    }

    // 2. Idle customers.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before_kib = rss_kib(pid).unwrap_or(0);
    let mut customer_sockets = Vec::new();
    for batch in chats.chunks(200) {
        let mut set = tokio::task::JoinSet::new();
        for (chat, token) in batch {
            let (base, chat, token) = (base.to_owned(), chat.clone(), token.clone());
            set.spawn(async move {
                let mut ws = connect(&base, &chat, &token).await?;
                settle(&mut ws).await?;
                anyhow::Ok((chat, ws))
            });
        }
        while let Some(done) = set.join_next().await {
            customer_sockets.push(done??);
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after_kib = rss_kib(pid).unwrap_or(0);
    let per_idle_kib = after_kib.saturating_sub(before_kib) as f64 / chats.len() as f64;
    let idle = serde_json::json!({
        "bench": "chat", "phase": "idle", "chats_created": chats.len(),
        "chats_per_s": (chats.len() as f64 / created_s).round(),
        "server_rss_before_kib": before_kib, "server_rss_after_kib": after_kib,
        "idle_connections": customer_sockets.len(),
        "kib_per_idle_connection": (per_idle_kib * 10.0).round() / 10.0,
    });
    println!("{idle}");

    // 3. Agents' sockets, one per chat, reading what arrives.
    let sent_at: Arc<std::sync::Mutex<std::collections::HashMap<String, Instant>>> = Arc::default();
    let latencies: Arc<std::sync::Mutex<Vec<u64>>> = Arc::default();
    let mut agent_tasks = tokio::task::JoinSet::new();
    for batch in customer_sockets.chunks(200) {
        let mut set = tokio::task::JoinSet::new();
        for (chat, _) in batch {
            let token = agent_tokens
                .get(holder.get(chat).map(String::as_str).unwrap_or_default())
                .cloned()
                .unwrap_or_default();
            let (base, chat) = (base.to_owned(), chat.clone());
            set.spawn(async move {
                let mut ws = connect(&base, &chat, &token).await?;
                settle(&mut ws).await?;
                anyhow::Ok(ws)
            });
        }
        while let Some(done) = set.join_next().await {
            let mut ws = done??;
            let (sent_at, latencies) = (sent_at.clone(), latencies.clone());
            agent_tasks.spawn(async move {
                while let Some(Ok(frame)) = ws.next().await {
                    let Message::Text(t) = frame else { continue };
                    let Ok(v) = serde_json::from_str::<serde_json::Value>(t.as_str()) else {
                        continue;
                    };
                    if v["type"] == "message" && v["from"] == "customer" {
                        let at = Instant::now();
                        let key = v["client_id"].as_str().unwrap_or_default().to_owned();
                        if let Some(sent) = sent_at
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .remove(&key)
                        {
                            let us = at.duration_since(sent).as_micros() as u64;
                            latencies.lock().unwrap_or_else(|e| e.into_inner()).push(us);
                        }
                    }
                }
            });
        }
    }

    // 4. Customers talk.
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let mut talkers = tokio::task::JoinSet::new();
    let mut sent_total = 0u64;
    for (n, (_, ws)) in customer_sockets.into_iter().enumerate() {
        let (mut sink, mut stream) = ws.split();
        let sent_at = sent_at.clone();
        let rate = args.rate.max(0.001);
        talkers.spawn(async move {
            // Acks and echoes are read and dropped, so the server never waits on us.
            let reader = tokio::spawn(async move { while stream.next().await.is_some() {} });
            let mut sent = 0u64;
            let mut i = 0u64;
            loop {
                // Waits averaging 1/rate, so each customer sends `rate` a second on average.
                let wait = rand::thread_rng().gen_range(0.0..2.0 / rate);
                tokio::time::sleep(Duration::from_secs_f64(wait)).await;
                if Instant::now() >= deadline {
                    break;
                }
                let key = format!("c{n}-{i}");
                i += 1;
                sent_at
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(key.clone(), Instant::now());
                let frame = serde_json::json!({"type": "send", "client_id": key, "body": "where is my deposit?"});
                if sink.send(Message::Text(frame.to_string().into())).await.is_err() {
                    break;
                }
                sent += 1;
            }
            tokio::time::sleep(Duration::from_secs(3)).await;
            reader.abort();
            sent
        });
    }
    while let Some(done) = talkers.join_next().await {
        sent_total += done.unwrap_or(0);
    }
    agent_tasks.abort_all();
    let mut lat = latencies.lock().unwrap_or_else(|e| e.into_inner()).clone();
    lat.sort_unstable();
    let delivered = lat.len() as u64;
    let line = serde_json::json!({
        "bench": "chat", "phase": "messages",
        "customer_sockets": chats.len(), "agent_sockets": chats.len(),
        "seconds": args.seconds, "messages_sent": sent_total,
        "messages_delivered": delivered, "lost": sent_total.saturating_sub(delivered),
        "delivered_per_s": (delivered as f64 / args.seconds as f64).round(),
        "p50_ms": percentile_ms(&lat, 0.50), "p99_ms": percentile_ms(&lat, 0.99),
        "max_ms": percentile_ms(&lat, 1.0),
        "server_rss_kib": rss_kib(pid).unwrap_or(0),
    });
    println!("{line}");
    Ok(if delivered == sent_total {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
